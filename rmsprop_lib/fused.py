"""The fused RMSprop step: one pass over memory, one C call per parameter group.

Why a hand-written C kernel loaded with ``ctypes`` rather than ``torch.compile``: the update
is one element-wise loop, so a C compiler produces the memory-bound loop directly; the
kernel covers every option (weight decay, centered, momentum, maximize, ε placement) for
float32 and float64 in one build of about a second, cached on disk. Inductor would generate
an equivalent loop, but it compiles once per configuration, dtype and often shape, for tens
of seconds each on a 2-core machine.

**One call per group.** :func:`fused_update` hands the kernel arrays of pointers, element
counts and widths for the whole group, so a group is one call whatever its size and its mix
of float32, float64, complex64 and complex128 tensors (each in its own precision), and the
kernel counts the steps too. Before any update, every tensor is checked in Python (plain
``torch.Tensor``/``nn.Parameter``, strided, on CPU, the parameter's dtype and shape and one
dense layout shared by the parameter, its gradient and its state); the kernel then checks
that no two arrays of the group overlap and writes nothing if two do. The optimizer keeps
what one step's checks found, so that the next step checks in full only the gradients and
confirms the rest (same objects, addresses and versions, with their storages held: see
``_GroupChecks``); with a thousand small parameters the checks are most of a step's cost.
A bad input is a ``ValueError`` naming the parameter and the tensor (``grad``,
``square_avg``, ...), never a crash. (Not checked, as
torch's own operators do not check it either: a storage shrunk under its tensors with
``untyped_storage().resize_()``, as FSDP does to DTensors' local shards.) A complex tensor is
updated as its real view (twice as many real numbers), as torch does.

``ctypes`` releases the GIL during the call. With OpenMP, a large group is split into
``torch.get_num_threads()`` contiguous chunks of its elements taken end to end; the library
is linked against ``libgomp.so.1``, which in a torch process is torch's own OpenMP runtime,
so the chunks run on torch's worker threads rather than on a second pool.

**The kernel cache.** The kernel is compiled with ``$CC`` (parsed like make does: a program
and its arguments, e.g. ``CC='ccache gcc'``; default: Python's configured compiler, else
``cc``) and kept in ``$RMSPROP_LIB_CACHE`` (default ``~/.cache/rmsprop_lib``), named by a
digest of the source, the compiler and its version, the flags and the CPU. A cached kernel is
loaded only from a directory owned by the current user that neither group nor others can
write (nor can they replace any directory above it), and only when its SHA-256 equals the
digest recorded beside it when it was built; otherwise the kernel is rebuilt (a corrupt or
truncated file), or built privately in a fresh temporary directory (an untrusted cache:
:func:`build_info` says why under ``cache``). Builds are serialised across processes by a
lock file and published atomically, compiler runs time out after
``$RMSPROP_LIB_CC_TIMEOUT`` seconds (default 120), a compiler without OpenMP is remembered
on disk so later processes build the serial kernel directly, and kernels built from another
version of the source, or unused for 30 days, are pruned when a new one is published.

Results agree with the per-tensor loop to rounding, not bit for bit: the kernel rounds
after every operation, as the loop's formula reads, while torch's CPU kernels fuse some
multiply-adds, and their square roots are not always correctly rounded.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import signal
import stat
import subprocess
import sysconfig
import tempfile
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import chain
from operator import attrgetter, is_
from pathlib import Path
from typing import TypeAlias

import torch
from torch import Tensor
from torch.autograd.graph import increment_version

from .functional import count_steps

__all__ = [
    "FusedUnavailableError",
    "build_info",
    "check_fusable",
    "fused_update",
    "load_kernel",
    "unfusable_reason",
]

SOURCE = Path(__file__).with_name("_fused_kernel.c")
CFLAGS = [
    "-O3",
    "-march=native",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-std=c11",
    "-fPIC",
    "-shared",
]
# libgomp.so.1: inside a torch process the dynamic loader hands the kernel torch's own copy.
OPENMP = ["-fopenmp"]
SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
# For each supported dtype: (whether the kernel's real type is double, reals per element).
_REAL = {
    torch.float32: (0, 1),
    torch.complex64: (0, 2),
    torch.float64: (1, 1),
    torch.complex128: (1, 2),
}
# Below this many elements in a call, the group is updated by the calling thread alone.
PARALLEL_THRESHOLD = 1 << 16
# The names of the tensors of one parameter, in the kernel's argument order.
SLOTS = ("param", "grad", "square_avg", "grad_avg", "momentum_buffer")
# How the kernel numbers what it reports as overlapping: the slots, then the step counter.
_NAMES = (*SLOTS, "step")
SYMBOL = "rmsprop_group"
DEFAULT_TIMEOUT = 120.0  # seconds per compiler run; $RMSPROP_LIB_CC_TIMEOUT overrides
STALE_AFTER = 30 * 24 * 3600  # a kernel not loaded for this long is pruned
_PLAIN = (Tensor, torch.nn.Parameter)
_PLAIN_SET = set(_PLAIN)

CENTERED, MOMENTUM, MAXIMIZE, EPS_IN_SQRT, WEIGHT_DECAY = 1, 2, 4, 8, 16

# What the kernel is called with, for the tensors it updates (empty parameters left out):
# their indices in the group, one column of data pointers per slot, their sizes in reals,
# their widths (1: double, 0: float), and the slots' names.
_Plan: TypeAlias = "tuple[Sequence[int], list[array[int]], array[int], array[int], tuple[str, ...]]"
# ``(None, plan)`` when the kernel can take the group, else ``(why not, None)``.
_Verdict: TypeAlias = "tuple[None, _Plan] | tuple[str, None]"


class FusedUnavailableError(RuntimeError):
    """``fused=True`` was asked for but the fused kernel cannot run here; says why."""


class _CompileError(FusedUnavailableError):
    """The compiler ran and refused (as opposed to not running or not finishing)."""


_lock = threading.Lock()
_kernel: ctypes.CDLL | None = None
_info: dict = {}


# --- building and loading the kernel -------------------------------------------------------


def _compiler() -> list[str]:
    """``$CC`` (or Python's configured compiler, else ``cc``) as a program and its arguments."""
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    argv = shlex.split(command)
    if not argv:
        raise FusedUnavailableError("fused=True: CC is set but empty; set CC to a C compiler")
    return argv


def _timeout() -> float:
    value = os.environ.get("RMSPROP_LIB_CC_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise FusedUnavailableError(
            "fused=True: RMSPROP_LIB_CC_TIMEOUT must be a positive number of seconds, "
            f"not {value!r}"
        )
    return seconds


def _run(argv: list[str], what: str) -> subprocess.CompletedProcess:
    """Run ``argv`` in its own session; kill the whole session if it outlives the timeout.

    (``subprocess.run(timeout=...)`` kills only the direct child: a wrapper such as ccache, or
    a shell script, leaves a grandchild that keeps the pipes open and the caller waiting.)
    """
    timeout = _timeout()
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise FusedUnavailableError(f"fused=True: {what}: cannot run {argv[0]}: {error}") from error
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise FusedUnavailableError(
            f"fused=True: {what} did not finish within {timeout:g} s and was stopped "
            "(set RMSPROP_LIB_CC_TIMEOUT to allow longer)"
        ) from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _cache_dir() -> Path:
    if os.environ.get("RMSPROP_LIB_CACHE"):
        return Path(os.environ["RMSPROP_LIB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rmsprop_lib"


def _untrusted(directory: Path) -> str | None:
    """Why a file in ``directory`` could be written by someone else, or None.

    The directory must be ours and writable by nobody else; every directory above it must
    be ours or root's, and writable by others only with the sticky bit (as ``/tmp``), so
    nobody else can rename it away and put another in its place.
    """
    if not hasattr(os, "getuid"):  # no POSIX ownership to check
        return None
    uid, real = os.getuid(), directory.resolve()
    info = os.stat(real)
    if not stat.S_ISDIR(info.st_mode):
        return f"{real} is not a directory"
    if info.st_uid != uid:
        return f"{real} is owned by uid {info.st_uid}, not by the current user (uid {uid})"
    if info.st_mode & 0o022:
        return f"{real} is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    for parent in real.parents:
        info = os.stat(parent)
        if info.st_uid not in (uid, 0):
            return f"{parent}, above the cache, is owned by another user (uid {info.st_uid})"
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            return (
                f"{parent}, above the cache, is writable by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):o})"
            )
    return None


def _trusted_cache() -> tuple[Path | None, str | None]:
    """The kernel cache directory, created private if missing, or None and why not."""
    directory = _cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        reason = _untrusted(directory)
    except OSError as error:
        return None, f"cannot use {directory}: {error}"
    return (None, reason) if reason else (directory, None)


def _cpu_signature() -> str:
    """What ``-march=native`` depends on: the CPU model and its instruction-set flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            fields: dict[str, str] = {}
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
        return f"{fields.get('model name', '')}|{fields.get('flags', '')}"
    except OSError:  # not Linux: the best the platform module offers
        return f"{platform.processor()}|{torch.backends.cpu.get_cpu_capability()}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(target: Path) -> bool:
    """Whether ``target`` exists and its content has the digest recorded when it was built."""
    try:
        recorded = target.with_name(target.name + ".sha256").read_text(encoding="ascii").strip()
        return _sha256(target) == recorded
    except (OSError, UnicodeDecodeError):
        return False


@contextmanager
def _exclusive(directory: Path, patience: float) -> Iterator[None]:
    """Hold the cache's lock file: one process at a time builds, publishes or prunes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic publication alone keeps builds from clashing
        yield
        return
    with open(directory / ".lock", "a") as handle:
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise FusedUnavailableError(
                        f"fused=True: another process has been building the kernel in {directory} "
                        f"for over {patience:g} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(argv: list[str], flags: list[str], target: Path) -> None:
    """Compile the kernel into ``target`` (in a private scratch directory beside it), then
    record its digest and publish it atomically: no half-written kernel is ever visible."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as tmp:
        partial = Path(tmp) / target.name
        proc = _run(
            [*argv, *flags, "-o", str(partial), str(SOURCE), "-lm"],
            f"compiling {SOURCE.name} with {shlex.join(argv)}",
        )
        if proc.returncode != 0 or not partial.is_file():
            raise _CompileError(
                f"fused=True: compiling {SOURCE.name} with {shlex.join(argv)} failed "
                f"(exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        digest = Path(tmp) / (target.name + ".sha256")
        digest.write_text(_sha256(partial) + "\n", encoding="ascii")
        os.replace(digest, target.with_name(digest.name))
        os.replace(partial, target)


def _prune(directory: Path, source_tag: str, keep: Path) -> None:
    """Remove kernels of another source version or unused for ``STALE_AFTER``, and the
    scratch directories of builds that died; called under the lock."""
    now = time.time()
    for path in directory.glob("rmsprop_fused_*"):
        kernel = path.name.split(".so")[0].split(".failed")[0]
        if kernel == keep.name.split(".so")[0]:
            continue
        try:
            if not kernel.startswith(source_tag) or now - path.stat().st_mtime > STALE_AFTER:
                path.unlink()
        except OSError:
            pass
    for scratch in directory.glob("build-*"):
        try:
            if now - scratch.stat().st_mtime > 3600:
                shutil.rmtree(scratch, ignore_errors=True)
        except OSError:
            pass


def _obtain() -> tuple[Path, bool, bool, str | None, Path | None]:
    """The kernel library: ``(path, reused from the cache, parallel, why the cache was not
    used, a private directory to delete once loaded)``."""
    _timeout()  # a bad setting is reported before anything runs
    argv = _compiler()
    resolved = shutil.which(argv[0])
    if resolved is None:
        raise FusedUnavailableError(
            f"fused=True needs a C compiler to build the fused RMSprop kernel, and "
            f"{argv[0]!r} was not found (install gcc or set CC); leave fused unset (or "
            "fused=False) to run the unfused update instead"
        )
    argv = [resolved, *argv[1:]]
    version = _run([*argv, "--version"], f"running {shlex.join(argv)} --version").stdout
    source = SOURCE.read_bytes()
    source_tag = f"rmsprop_fused_{hashlib.sha256(source).hexdigest()[:12]}_"

    def name(flags: list[str]) -> str:
        key = hashlib.sha256(
            b"\0".join(
                s.encode()
                for s in [
                    shlex.join(argv),
                    version,
                    shlex.join(flags),
                    platform.machine(),
                    _cpu_signature(),
                ]
            )
        )
        return f"{source_tag}{key.hexdigest()[:16]}"

    cache, refusal = _trusted_cache()
    if cache is None:  # build privately, load, and let the directory go
        private = Path(tempfile.mkdtemp(prefix="rmsprop_lib-"))
        try:
            for flags, parallel in ((CFLAGS + OPENMP, True), (CFLAGS, False)):
                try:
                    _compile(argv, flags, private / f"{name(flags)}.so")
                    return private / f"{name(flags)}.so", False, parallel, refusal, private
                except _CompileError:
                    if not parallel:
                        raise
            raise AssertionError("unreachable")
        except BaseException:
            shutil.rmtree(private, ignore_errors=True)
            raise
    for flags, parallel in ((CFLAGS + OPENMP, True), (CFLAGS, False)):
        target = cache / f"{name(flags)}.so"
        failed = cache / f"{name(flags)}.failed"
        if parallel and failed.exists():  # this compiler cannot do OpenMP: known from before
            continue
        if _verified(target):
            with suppress(OSError):
                os.utime(target)  # last use, for pruning
            return target, True, parallel, None, None
        with _exclusive(cache, patience=3 * _timeout() + 30):
            if _verified(target):  # another process published it while we waited
                return target, True, parallel, None, None
            try:
                _compile(argv, flags, target)
            except _CompileError as error:
                if not parallel:
                    raise
                failed.write_text(str(error) + "\n", encoding="utf-8")
                continue
            _prune(cache, source_tag, target)
            return target, False, parallel, None, None
    raise AssertionError("unreachable")


def _load(path: Path) -> ctypes.CDLL:
    """Load the kernel library at ``path`` and declare its entry point's arguments."""
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        raise FusedUnavailableError(
            f"fused=True: the fused RMSprop kernel could not be loaded: {error}"
        ) from error
    try:
        function = getattr(library, SYMBOL)
    except AttributeError:
        raise FusedUnavailableError(
            f"fused=True: the kernel library {path.name} lacks the symbol {SYMBOL}"
        ) from None
    function.argtypes = (
        [ctypes.c_int64]
        + [ctypes.c_void_p] * 8
        + [ctypes.c_int]
        + [ctypes.c_double] * 5
        + [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    )
    function.restype = ctypes.c_int
    return library


def _discard(path: Path) -> None:
    """Remove a cached kernel (and its digest) so that the next attempt builds it afresh."""
    with _exclusive(path.parent, patience=3 * _timeout() + 30):
        for stale in (path, path.with_name(path.name + ".sha256")):
            stale.unlink(missing_ok=True)


def load_kernel() -> ctypes.CDLL:
    """The loaded kernel library, building it on first use.

    Raises:
        FusedUnavailableError: saying why, when no C compiler is found, it fails or does not
            finish in time, or the library cannot be loaded or lacks the kernel's symbols.
    """
    global _kernel
    with _lock:
        if _kernel is not None:
            return _kernel
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                path, cached, parallel, refusal, private = _obtain()
            except OSError as error:  # e.g. a cache file that cannot be written
                raise FusedUnavailableError(
                    f"fused=True: the fused RMSprop kernel could not be built: {error} (the kernel "
                    "cache is set by RMSPROP_LIB_CACHE, the compiler by CC)"
                ) from error
            if attempt == 2 and private is None:
                # The dynamic loader would hand back the library it already loaded under this
                # name; load the rebuilt one through a private copy instead.
                private = Path(tempfile.mkdtemp(prefix="rmsprop_lib-"))
                path = Path(shutil.copy(path, private / path.name))
            try:
                library = _load(path)
                break
            except FusedUnavailableError:
                if not cached or attempt == 2:
                    raise
                _discard(path)  # a cached kernel that its digest vouches for, yet unusable
            finally:
                if private is not None:  # the loaded library stays mapped after its file goes
                    shutil.rmtree(private, ignore_errors=True)
        _info.clear()
        _info.update(
            path=str(path), cached=cached, openmp=parallel, seconds=time.perf_counter() - start
        )
        if refusal:
            _info["cache"] = f"not used, built privately instead: {refusal}"
        _kernel = library
        return library


def build_info() -> dict:
    """How the kernel was obtained: ``path``, ``cached`` (reused from disk), ``openmp``
    (whether it splits large groups across threads), ``seconds``, and ``cache`` when the
    cache directory was not trusted and the kernel was built privately. Empty before
    :func:`load_kernel` succeeded. (``path`` names a file of this machine: leave it out of
    anything published.)"""
    return dict(_info)


def _reset_for_tests() -> None:
    global _kernel
    with _lock:
        _kernel = None
        _info.clear()


# --- what can be fused ------------------------------------------------------------------


def _param_reason(i: int, p: Tensor, where: str) -> str | None:
    if type(p) not in _PLAIN:
        return (
            f"fused=True: parameter {i}{where} is a {type(p).__name__}, a tensor subclass; "
            "the fused kernel takes plain tensors (torch.Tensor, nn.Parameter) only"
        )
    if p.layout != torch.strided:
        return (
            f"fused=True: parameter {i}{where} is {p.layout}; "
            "the fused kernel takes strided tensors only"
        )
    if p.device.type != "cpu":
        return (
            f"fused=True: parameter {i}{where} is on {p.device}; the fused kernel runs on CPU only"
        )
    if p.dtype not in SUPPORTED_DTYPES:
        return (
            f"fused=True: parameter {i}{where} is {p.dtype}; the fused kernel supports "
            "float32 and float64 (complex64/complex128 as their real views)"
        )
    return None


def check_fusable(params: Sequence[Tensor], where: str = "") -> None:
    """Raise :class:`FusedUnavailableError` if a parameter can never be fused.

    A parameter can be fused when it is a plain ``torch.Tensor`` or ``nn.Parameter`` (not a
    subclass such as a DTensor, whose memory is not one local array), strided, on CPU, and
    float32, float64, complex64 or complex128.

    Args:
        params: the parameters of one group.
        where: appended after the parameter's index in the message, e.g. ``" of group 1"``.
    """
    for i, p in enumerate(params):
        reason = _param_reason(i, p, where)
        if reason is not None:
            raise FusedUnavailableError(reason)


def _dense(t: Tensor) -> bool:
    """Non-overlapping and dense: the elements fill ``numel`` consecutive slots."""
    expected = 1
    for stride, size in sorted((s, n) for s, n in zip(t.stride(), t.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _checked_plan(lists: list[Sequence[Tensor]], slots: tuple[str, ...]) -> _Verdict:
    """Check every tensor the kernel would touch; return ``(None, plan)`` with the kernel's
    arguments (indices, pointer columns, sizes, widths, slot names), or ``(why not, None)``.
    Empty parameters are left out: the kernel has nothing to do for them."""
    params = lists[0]
    count = len(params)
    indices: list[int] = []
    columns: list[list[int]] = [[] for _ in lists]
    sizes: list[int] = []
    wide: list[int] = []
    strided, plain = torch.strided, _PLAIN
    for i in range(count):
        p = params[i]
        dtype, shape = p.dtype, p.shape
        real = _REAL.get(dtype)
        if real is None:
            return (
                f"parameter {i} is {dtype}; the fused kernel supports float32, float64, "
                "complex64 and complex128",
                None,
            )
        contiguous = p.is_contiguous()
        if not contiguous and not _dense(p):
            return (
                f"parameter {i} is not dense (strides {p.stride()} for shape "
                f"{list(shape)}); the fused kernel needs dense, non-overlapping tensors",
                None,
            )
        row: list[int] = []
        for slot, tensors in enumerate(lists):
            t = tensors[i]
            key = slots[slot]
            if t is None:
                return f"parameter {i}: {key} is None", None
            if type(t) not in plain:
                return (
                    f"parameter {i}: {key} is a {type(t).__name__}; the fused kernel takes "
                    "plain tensors (torch.Tensor, nn.Parameter) only",
                    None,
                )
            if t.layout != strided:
                return (
                    f"parameter {i}: {key} is {t.layout}; the fused kernel takes strided "
                    "tensors only",
                    None,
                )
            if not t.is_cpu:
                return (
                    f"parameter {i}: {key} is on {t.device}; the fused kernel runs on CPU only",
                    None,
                )
            if t.dtype != dtype:
                return f"parameter {i}: {key} is {t.dtype}, but the parameter is {dtype}", None
            if t.shape != shape:
                return (
                    f"parameter {i}: {key} has shape {list(t.shape)}, but the parameter has "
                    f"shape {list(shape)}",
                    None,
                )
            if not (t.is_contiguous() if contiguous else t.stride() == p.stride()):
                return (
                    f"parameter {i}: {key} has strides {t.stride()}, but the parameter has "
                    f"strides {p.stride()}; the fused kernel needs one layout for both",
                    None,
                )
            if t.is_conj() or t.is_neg():
                return (
                    f"parameter {i}: {key} is a lazily conjugated or negated view; "
                    "resolve it first (resolve_conj(), resolve_neg())",
                    None,
                )
            row.append(t.data_ptr())
        numel = p.numel()
        if numel == 0:
            continue
        indices.append(i)
        for column, pointer in zip(columns, row):
            column.append(pointer)
        sizes.append(numel * real[1])
        wide.append(real[0])
    return None, (
        indices,
        [array("Q", column) for column in columns],
        array("q", sizes),
        array("B", wide),
        slots,
    )


def _plan(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    square_avgs: Sequence[Tensor],
    grad_avgs: Sequence[Tensor] | None,
    momentum_buffers: Sequence[Tensor] | None,
    centered: bool,
    momentum: float,
    checked: _GroupChecks | None = None,
) -> _Verdict:
    """``(None, plan)`` when the kernel can take the group, else ``(why not, None)``.

    The common case (plain contiguous CPU tensors of real dtypes, matching shapes) is
    checked a whole list at a time, which costs a fraction of the per-tensor loop of
    :func:`_checked_plan`; anything else goes through that loop, which also finds the
    first problem to report. With ``checked``, the parameters and their state are not
    checked again while they are the tensors it recorded, at the same addresses (see
    :class:`_GroupChecks`).
    """
    count = len(params)
    lists = _lists(params, grads, square_avgs, grad_avgs, momentum_buffers, centered, momentum)
    slots = SLOTS[:3] + ((SLOTS[3],) if centered else ()) + ((SLOTS[4],) if momentum > 0 else ())
    for key, tensors in zip(slots[1:], lists[1:]):
        if len(tensors) != count:
            return f"{len(tensors)} {key} tensors for {count} parameters", None
    plan: _Plan | None = None
    try:
        if checked is not None:
            plan = checked.plan(lists, slots)
        if plan is None:
            plan = _fast_plan(lists, slots)
            if plan is not None and checked is not None:
                checked.remember(lists, plan)
    except RuntimeError:  # e.g. the data pointer of a tensor without storage
        plan = None
    return (None, plan) if plan is not None else _checked_plan(lists, slots)


class _GroupChecks:
    """What the last full check of a group found, so that a step checks again only what can
    change from one step to the next.

    A step's gradients are new tensors more often than not (``zero_grad`` sets them to None):
    they are checked in full at every step. The parameters and their state tensors are the
    same objects step after step: for them it is enough that each is still the very object
    recorded, at the recorded data address, and for a parameter (within easy reach of
    ``p.data = ...``) that it still has the recorded dtype, shape and contiguous layout, for
    a state tensor that no in-place operation (``resize_``, ``set_``...) has changed its
    version counter since the kernel's own update. The record keeps a reference to the
    storage each was checked in, so that this memory stays allocated: whatever was done to
    such a tensor since, the kernel writes only into memory that was checked and is alive.
    Anything else (another object, another address, a gradient that does not fit) sends the
    group through the full check, which records again.
    """

    __slots__ = (
        "_columns",
        "_counters",
        "_dtypes",
        "_lists",
        "_plan",
        "_shapes",
        "_step_storages",
        "_steps",
        "_storages",
        "_versions",
    )

    def __init__(self) -> None:
        self._lists: list[list[Tensor]] = []
        self._plan: _Plan | None = None
        self._steps: list[Tensor] = []
        self._counters: tuple[array[int], int] | None = None

    def counters(self, steps: Sequence[Tensor]) -> tuple[array[int], int] | None:
        """:func:`_counters` for ``steps``, checked again only when they are not the very
        counters recorded, at the recorded addresses (whose storages the record keeps)."""
        recorded = self._counters
        if (
            recorded is not None
            and len(steps) == len(self._steps)
            and all(map(is_, steps, self._steps))
            and array("Q", map(Tensor.data_ptr, steps)) == recorded[0]
        ):
            return recorded
        found = self._counters = _counters(steps)
        self._steps = list(steps) if found is not None else []
        self._step_storages = [t.untyped_storage() for t in self._steps]
        return found

    def remember(self, lists: list[Sequence[Tensor]], plan: _Plan) -> None:
        """Record a plan :func:`_fast_plan` made for ``lists`` (when it covers every tensor)."""
        self._plan = None
        if len(plan[0]) != len(lists[0]):  # empty parameters left out: not worth recording
            return
        # The parameters (for their identity) and the state, not the gradients: holding
        # those would keep last step's alive after zero_grad.
        self._lists = [list(tensors) if k != 1 else [] for k, tensors in enumerate(lists)]
        self._storages = [t.untyped_storage() for t in chain(lists[0], *lists[2:])]
        self._versions = [array("q", map(_version, tensors)) for tensors in lists[2:]]
        self._dtypes = list(map(_dtype, lists[0]))
        self._shapes = list(map(_shape, lists[0]))
        self._columns = plan[1]
        self._plan = plan

    def stepped(self) -> None:
        """The kernel ran the recorded plan: each state tensor's version went up by one."""
        if self._plan is not None:
            self._versions = [array("q", [v + 1 for v in column]) for column in self._versions]

    def plan(self, lists: list[Sequence[Tensor]], slots: tuple[str, ...]) -> _Plan | None:
        """The recorded plan with this step's gradients, if they fit it and nothing else
        changed; else None."""
        recorded = self._plan
        if recorded is None or recorded[4] != slots:
            return None
        for k, (tensors, before) in enumerate(zip(lists, self._lists)):
            if k == 1:
                continue
            if len(tensors) != len(before) or not all(map(is_, tensors, before)):
                return None
            if array("Q", map(Tensor.data_ptr, tensors)) != self._columns[k]:
                return None
            if k > 1 and array("q", map(_version, tensors)) != self._versions[k - 2]:
                return None  # an in-place operation since (resize_, set_, as_strided_...)
        params, grads = lists[0], lists[1]
        # What ``p.data = view`` can change at the same address: still the recorded layout?
        if (
            list(map(_dtype, params)) != self._dtypes
            or list(map(_shape, params)) != self._shapes
            or not all(map(Tensor.is_contiguous, params))
        ):
            return None
        if (
            not set(map(type, grads)) <= _PLAIN_SET
            or list(map(_dtype, grads)) != self._dtypes
            or list(map(_shape, grads)) != self._shapes
            or not all(map(_is_cpu, grads))
            or not all(map(Tensor.is_contiguous, grads))
            or any(map(Tensor.is_neg, grads))
        ):
            return None
        columns = list(self._columns)
        columns[1] = array("Q", map(Tensor.data_ptr, grads))
        return recorded[0], columns, recorded[2], recorded[3], slots


_dtype, _shape, _is_cpu = attrgetter("dtype"), attrgetter("shape"), attrgetter("is_cpu")
_version = attrgetter("_version")
_FAST_DTYPES = {torch.float32: 0, torch.float64: 1}


def _fast_plan(lists: list[Sequence[Tensor]], slots: tuple[str, ...]) -> _Plan | None:
    """The plan for plain, contiguous, real CPU tensors of equal shapes, else None."""
    everything = list(chain.from_iterable(lists))
    if not set(map(type, everything)) <= _PLAIN_SET:
        return None
    params = lists[0]
    dtypes = list(map(_dtype, params))
    shapes = list(map(_shape, params))
    if not set(dtypes) <= _FAST_DTYPES.keys():
        return None
    for tensors in lists[1:]:
        if list(map(_dtype, tensors)) != dtypes or list(map(_shape, tensors)) != shapes:
            return None
    if not (all(map(_is_cpu, everything)) and all(map(Tensor.is_contiguous, everything))) or any(
        map(Tensor.is_neg, everything)
    ):
        return None
    # Arrays of machine integers: what the kernel reads, built without a Python list between.
    sizes = array("q", map(Tensor.numel, params))
    columns = [array("Q", map(Tensor.data_ptr, tensors)) for tensors in lists]
    wide = array("B", map(_FAST_DTYPES.__getitem__, dtypes))
    if 0 in sizes:  # empty parameters: nothing to do, and no memory to point at
        keep = [i for i, n in enumerate(sizes) if n]
        columns = [array("Q", [column[i] for i in keep]) for column in columns]
        return (
            keep,
            columns,
            array("q", [sizes[i] for i in keep]),
            array("B", [wide[i] for i in keep]),
            slots,
        )
    return range(len(params)), columns, sizes, wide, slots


def unfusable_reason(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    square_avgs: Sequence[Tensor],
    grad_avgs: Sequence[Tensor] | None,
    momentum_buffers: Sequence[Tensor] | None,
    *,
    centered: bool,
    momentum: float,
) -> str | None:
    """Why this group cannot go to the kernel as it is, or None when it can.

    It can when every parameter, its gradient and each state tensor the options use are
    plain tensors on CPU of one supported dtype and shape, sharing one dense, non-overlapping
    layout. (Overlap between different tensors of the group is checked
    by :func:`fused_update` itself, inside the kernel call, before it writes anything.)
    """
    reason, _ = _plan(params, grads, square_avgs, grad_avgs, momentum_buffers, centered, momentum)
    return reason


def _lists(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    square_avgs: Sequence[Tensor],
    grad_avgs: Sequence[Tensor] | None,
    momentum_buffers: Sequence[Tensor] | None,
    centered: bool,
    momentum: float,
) -> list[Sequence[Tensor]]:
    """The tensor lists the kernel reads for these options, in its argument order."""
    lists = [params, grads, square_avgs]
    if centered:
        lists.append(grad_avgs if grad_avgs is not None else ())
    if momentum > 0:
        lists.append(momentum_buffers if momentum_buffers is not None else ())
    return lists


def _threads(n: int) -> int:
    """How many threads the kernel may split ``n`` elements across."""
    return 1 if n < PARALLEL_THRESHOLD else max(1, torch.get_num_threads())


def _scalar(name: str, value: float | Tensor) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(value.item())
    return float(value)


def fused_update(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    square_avgs: Sequence[Tensor],
    grad_avgs: Sequence[Tensor] | None,
    momentum_buffers: Sequence[Tensor] | None,
    *,
    lr: float | Tensor,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
    eps_in_sqrt: bool,
) -> None:
    """Apply one RMSprop step to a whole group with the fused kernel, in place.

    One kernel call for the whole group, whatever its dtypes. Steps (``state["step"]``) are
    the caller's to count. Every tensor is checked (as :func:`unfusable_reason` does) at
    every call, before the kernel runs.

    Args:
        params, grads, square_avgs: one tensor per parameter each.
        grad_avgs: one per parameter when ``centered``, else ignored (may be empty or None).
        momentum_buffers: one per parameter when ``momentum > 0``, else ignored.
        lr: a float or a 1-element tensor (shape ``[]``, ``[1]``, ``[1, 1]``...).
        alpha, eps, weight_decay, momentum, centered, maximize: as in ``torch.optim.RMSprop``.
        eps_in_sqrt: add ε inside the square root (the chapter's form) instead of after it.

    Raises:
        ValueError: naming the parameter and the tensor (``"grad"``, ``"square_avg"``, ...)
            when a tensor does not match its parameter (see :func:`unfusable_reason`), two
            tensors overlap in memory, or ``lr`` is a tensor of more than one element.
            Nothing is updated then.
        FusedUnavailableError: when the kernel cannot be built or loaded.
    """
    reason = _try_update(
        params,
        grads,
        square_avgs,
        grad_avgs,
        momentum_buffers,
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
        maximize=maximize,
        eps_in_sqrt=eps_in_sqrt,
    )
    if reason is not None:
        raise ValueError(f"fused RMSprop step: {reason}")


def _try_update(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    square_avgs: Sequence[Tensor],
    grad_avgs: Sequence[Tensor] | None,
    momentum_buffers: Sequence[Tensor] | None,
    *,
    lr: float | Tensor,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
    eps_in_sqrt: bool,
    steps: Sequence[Tensor] | None = None,
    checked: _GroupChecks | None = None,
) -> str | None:
    """:func:`fused_update` when the kernel can take the group (returns None); otherwise
    returns :func:`unfusable_reason`'s answer and updates nothing. Checking and updating in
    one call is what lets the optimizer pay for the checks once per step; ``checked``
    carries what one step's checks found to the next (see :class:`_GroupChecks`).

    With ``steps`` (one counter per parameter), an update also counts the steps: in the
    kernel when the counters are plain one-element CPU tensors of one float dtype, else as
    torch does (:func:`~rmsprop_lib.functional.count_steps`)."""
    arguments = (params, grads, square_avgs, grad_avgs, momentum_buffers, centered, momentum)
    reason, plan = _plan(*arguments, checked)
    if plan is None:
        return reason
    scalars = (_scalar("lr", lr), float(alpha), float(eps), float(weight_decay), float(momentum))
    indices, columns, sizes, wide, slots = plan
    count = len(indices)
    counters = None
    if steps is not None and count == len(steps):
        counters = checked.counters(steps) if checked is not None else _counters(steps)
    if count == 0:
        if steps:
            count_steps(list(steps))
        return None
    kernel = load_kernel()
    flags = (
        (CENTERED if centered else 0)
        | (MOMENTUM if momentum > 0 else 0)
        | (MAXIMIZE if maximize else 0)
        | (EPS_IN_SQRT if eps_in_sqrt else 0)
        | (WEIGHT_DECAY if weight_decay != 0 else 0)
    )
    arrays = [column.buffer_info()[0] for column in columns]  # kept alive by ``plan``
    m = arrays[slots.index("grad_avg")] if centered else None
    b = arrays[slots.index("momentum_buffer")] if momentum > 0 else None
    where = (ctypes.c_int64 * 4)()
    status = getattr(kernel, SYMBOL)(
        count,
        arrays[0],
        arrays[1],
        arrays[2],
        m,
        b,
        sizes.buffer_info()[0],
        wide.buffer_info()[0],
        None if counters is None else counters[0].buffer_info()[0],
        0 if counters is None else counters[1],
        *scalars,
        flags,
        _threads(sum(sizes)),
        where,
    )
    if status == 1:
        first, second = (f"parameter {indices[where[k]]}'s {_NAMES[where[k + 1]]}" for k in (0, 2))
        raise ValueError(
            f"fused RMSprop step: {first} and {second} overlap in memory; nothing was updated"
        )
    if status != 0:
        raise MemoryError(
            "fused RMSprop step: no memory for the overlap check; nothing was updated"
        )
    # Writes through raw pointers are invisible to autograd: bump the version counters, as an
    # in-place torch operator would, so a graph that saved one of these tensors notices.
    lists = _lists(*arguments)
    if counters is not None:  # the kernel counted them: bump theirs too
        lists.append(steps)  # type: ignore[arg-type]  # not None when counters is not
    increment_version(chain(lists[0], *lists[2:]))
    if checked is not None:
        checked.stepped()
    if steps and counters is None:
        count_steps(list(steps))
    return None


def _counters(steps: Sequence[Tensor]) -> tuple[array[int], int] | None:
    """The step counters' addresses and width (1: double, 0: float) when the kernel can
    count them: plain CPU tensors of one element, all float32 or all float64; else None."""
    if not set(map(type, steps)) <= _PLAIN_SET:
        return None
    dtypes = set(map(_dtype, steps))
    if len(dtypes) != 1 or not dtypes <= _FAST_DTYPES.keys():
        return None
    if not all(map(_is_cpu, steps)) or set(map(Tensor.numel, steps)) != {1}:
        return None
    if any(map(Tensor.is_neg, steps)):
        return None
    return array("Q", map(Tensor.data_ptr, steps)), _FAST_DTYPES[dtypes.pop()]
