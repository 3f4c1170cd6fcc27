"""The fused RMSprop kernel: the C library built with the package, found and loaded.

``setup.py`` compiles ``_fused_kernel.c`` when the package is installed (``pip install .``,
``pip install -e .``, a wheel) into ``_fused_kernel<suffix>`` beside this file, with the
suffix of a compiled extension (:data:`importlib.machinery.EXTENSION_SUFFIXES`). It is a
plain C library, loaded with ``ctypes``; nothing is compiled and nothing is written at run
time. The library carries the SHA-256 of the source it was built from: where the source sits
beside it (a checkout, an editable install) and has changed since, the stale kernel is
refused with a :class:`FusedUnavailableError` that says to rebuild it.
"""

from __future__ import annotations

import ctypes
import hashlib
import threading
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

__all__ = ["FusedUnavailableError", "build_info", "load_kernel"]

PACKAGE = Path(__file__).parent
SOURCE = PACKAGE / "_fused_kernel.c"
NAME = "_fused_kernel"
SYMBOL = "rmsprop_group"
REBUILD = "`pip install -e .` in the checkout (or `python setup.py build_ext --inplace`)"


class FusedUnavailableError(RuntimeError):
    """``fused=True`` was asked for but the fused kernel cannot run here; says why."""


_lock = threading.Lock()
_kernel: ctypes.CDLL | None = None
_info: dict = {}


def kernel_path() -> Path | None:
    """The built kernel beside the package's Python files, or None when there is none."""
    for suffix in EXTENSION_SUFFIXES:
        path = PACKAGE / f"{NAME}{suffix}"
        if path.is_file():
            return path
    return None


def _open(path: Path) -> ctypes.CDLL:
    """Load the library and declare its functions' arguments."""
    try:
        library = ctypes.CDLL(str(path))
        function = getattr(library, SYMBOL)
        digest, openmp = library.rmsprop_source_sha256, library.rmsprop_openmp
    except (OSError, AttributeError) as error:
        raise FusedUnavailableError(
            f"fused=True: the fused RMSprop kernel {path.name} cannot be loaded ({error}); "
            f"rebuild it: reinstall rmsprop_lib with a C compiler (`pip install .`, or {REBUILD})"
        ) from error
    function.argtypes = (
        [ctypes.c_int64]
        + [ctypes.c_void_p] * 8
        + [ctypes.c_int]
        + [ctypes.c_double] * 5
        + [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    )
    function.restype = ctypes.c_int
    digest.argtypes, digest.restype = [], ctypes.c_char_p
    openmp.argtypes, openmp.restype = [], ctypes.c_int
    return library


def load_kernel() -> ctypes.CDLL:
    """The kernel library, loaded on first use.

    Raises:
        FusedUnavailableError: saying how to get the kernel, when the package was installed
            without one (no C compiler at install time), or when the source beside it has
            changed since it was built.
    """
    global _kernel
    with _lock:
        if _kernel is not None:
            return _kernel
        path = kernel_path()
        if path is None:
            raise FusedUnavailableError(
                "fused=True needs the fused RMSprop kernel, which is compiled when rmsprop_lib "
                "is installed, and this installation has none (it was installed without a "
                "working C compiler). Install a C compiler (e.g. gcc) and reinstall: "
                f"`pip install .`, or {REBUILD}; or leave fused unset (or fused=False) to run "
                "the unfused update"
            )
        library = _open(path)
        built_from = library.rmsprop_source_sha256().decode("ascii")
        if SOURCE.is_file():
            current = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
            if current != built_from:
                raise FusedUnavailableError(
                    f"fused=True: the fused RMSprop kernel {path.name} was built from another "
                    f"version of {SOURCE.name} than the one beside it (built from "
                    f"{built_from[:12]}, now {current[:12]}); rebuild it: {REBUILD}"
                )
        _info.clear()
        _info.update(
            path=str(path), openmp=bool(library.rmsprop_openmp()), source_sha256=built_from
        )
        _kernel = library
        return library


def build_info() -> dict:
    """The loaded kernel: ``path`` (the compiled library's file on this machine), ``openmp``
    (whether it splits large groups across threads) and ``source_sha256`` (the digest of the
    source it was built from). Empty before :func:`load_kernel` succeeded."""
    return dict(_info)


def _reset_for_tests() -> None:
    global _kernel
    with _lock:
        _kernel = None
        _info.clear()
