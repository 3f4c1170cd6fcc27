"""The fused RMSprop step: one pass over memory per parameter, by a small C kernel.

Why a hand-written C kernel loaded with ``ctypes`` rather than ``torch.compile``: the update
is one element-wise loop, so a C compiler produces the memory-bound loop directly; the
kernel covers every option (weight decay, centered, momentum, maximize, ε placement) for
float32 and float64 in one build of about a second, cached on disk and keyed by the
source, the compiler and the flags. Inductor would generate an equivalent loop, but it
compiles once per configuration, dtype and often shape, for tens of seconds each on a
2-core machine, which the book build and the test suite would pay again and again.

``ctypes`` releases the GIL during the call, so large tensors are split into contiguous
chunks processed by a small thread pool (``torch.get_num_threads()`` workers).

The kernel is built on first use and that cost is reported by :func:`build_info`, not
hidden: the optimizer builds it in its constructor when ``fused=True``.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["FusedUnavailableError", "load_kernel", "build_info", "fused_update", "check_fusable"]

SOURCE = Path(__file__).with_name("_fused_kernel.c")
CFLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-std=c11",
          "-fPIC", "-shared"]
SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
# Below this many elements a tensor is updated by the calling thread alone.
PARALLEL_THRESHOLD = 1 << 16

CENTERED, MOMENTUM, MAXIMIZE, EPS_IN_SQRT, WEIGHT_DECAY = 1, 2, 4, 8, 16


class FusedUnavailableError(RuntimeError):
    """``fused=True`` was asked for but the fused kernel cannot run here; says why."""


_lock = threading.Lock()
_kernel = None
_info: dict = {}
_pool: ThreadPoolExecutor | None = None
_pool_workers = 0


def _compiler() -> str:
    return os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]


def _cache_dir() -> Path:
    if os.environ.get("RMSPROP_LIB_CACHE"):
        return Path(os.environ["RMSPROP_LIB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rmsprop_lib"


def _build(compiler: str) -> tuple[Path, bool]:
    """Compile the kernel unless a build for this source/compiler/flags/CPU is cached."""
    resolved = shutil.which(compiler)
    if resolved is None:
        raise FusedUnavailableError(
            f"fused=True needs a C compiler to build the fused RMSprop kernel, and "
            f"{compiler!r} was not found (install gcc or set CC); use fused=False "
            "(or leave fused=None) to run the unfused update instead"
        )
    version = subprocess.run([resolved, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256("\0".join([SOURCE.read_text(), resolved, version, " ".join(CFLAGS),
                                    platform.machine(), platform.processor()]).encode())
    target = _cache_dir() / f"rmsprop_fused_{key.hexdigest()[:16]}.so"
    if target.is_file():
        return target, True
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        partial = Path(tmp) / target.name
        proc = subprocess.run([resolved, *CFLAGS, "-o", str(partial), str(SOURCE), "-lm"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise FusedUnavailableError(
                f"fused=True: compiling {SOURCE.name} with {resolved} failed "
                f"(exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        os.replace(partial, target)  # atomic: no half-written library is ever loaded
    return target, False


def load_kernel():
    """The loaded kernel library, building it on first use. Raises FusedUnavailableError."""
    global _kernel
    with _lock:
        if _kernel is None:
            start = time.perf_counter()
            path, cached = _build(_compiler())
            library = ctypes.CDLL(str(path))
            for name in ("rmsprop_step_f32", "rmsprop_step_f64"):
                function = getattr(library, name)
                function.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int64] + \
                    [ctypes.c_double] * 5 + [ctypes.c_int]
                function.restype = None
            _info.update(path=str(path), cached=cached, seconds=time.perf_counter() - start)
            _kernel = library
        return _kernel


def build_info() -> dict:
    """How the kernel was obtained: ``path``, ``cached`` (reused from disk) and ``seconds``."""
    return dict(_info)


def _reset_for_tests() -> None:
    global _kernel
    with _lock:
        _kernel = None
        _info.clear()


def _dense(t: Tensor) -> bool:
    """Non-overlapping and dense: the elements fill ``numel`` consecutive slots."""
    dims = sorted((s, n) for s, n in zip(t.stride(), t.shape) if n != 1)
    expected = 1
    for stride, size in dims:
        if stride != expected:
            return False
        expected *= size
    return True


def _one_layout(tensors: list[Tensor]) -> bool:
    first = tensors[0]
    return _dense(first) and all(t.stride() == first.stride() for t in tensors[1:])


def check_fusable(params, where: str = "") -> None:
    """Raise FusedUnavailableError unless every parameter's device and dtype can be fused."""
    for i, p in enumerate(params):
        if p.device.type != "cpu":
            raise FusedUnavailableError(
                f"fused=True: parameter {i}{where} is on {p.device}; the fused kernel runs on CPU only")
        if p.dtype not in SUPPORTED_DTYPES:
            raise FusedUnavailableError(
                f"fused=True: parameter {i}{where} is {p.dtype}; the fused kernel supports "
                "float32 and float64 (complex64/complex128 as their real views)")


def _run(function, pointers, n, itemsize, scalars, flags):
    """Call the kernel on ``n`` elements, split across threads for large tensors."""
    workers = max(1, torch.get_num_threads())
    if n < PARALLEL_THRESHOLD or workers == 1:
        function(*pointers, n, *scalars, flags)
        return
    global _pool, _pool_workers
    if _pool is None or _pool_workers != workers:  # torch.set_num_threads may have changed
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rmsprop-fused")
        _pool_workers = workers
    chunk = -(-n // workers)
    chunk += -chunk % 64  # whole cache lines per chunk
    jobs = []
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        offset = start * itemsize
        shifted = [ptr + offset if ptr else None for ptr in pointers]
        jobs.append(_pool.submit(function, *shifted, count, *scalars, flags))
    for job in jobs:
        job.result()


def fused_update(
    params, grads, square_avgs, grad_avgs, momentum_buffers,
    *, lr, alpha, eps, weight_decay, momentum, centered, maximize, eps_in_sqrt,
) -> list[int]:
    """Apply the step with the fused kernel; return the indices it could not fuse.

    A parameter can be fused when it, its gradient and its state share one dense memory
    layout; the others (e.g. a transposed parameter whose gradient is contiguous) are
    left untouched for the caller to update another way.
    """
    kernel = load_kernel()
    flags = ((CENTERED if centered else 0) | (MOMENTUM if momentum > 0 else 0)
             | (MAXIMIZE if maximize else 0) | (EPS_IN_SQRT if eps_in_sqrt else 0)
             | (WEIGHT_DECAY if weight_decay != 0 else 0))
    scalars = (float(lr), float(alpha), float(eps), float(weight_decay), float(momentum))
    skipped = []
    for i, param in enumerate(params):
        tensors = [param, grads[i], square_avgs[i]]
        if centered:
            tensors.append(grad_avgs[i])
        if momentum > 0:
            tensors.append(momentum_buffers[i])
        tensors = [torch.view_as_real(t) if t.is_complex() else t for t in tensors]
        if not _one_layout(tensors) or len({t.dtype for t in tensors}) != 1:
            skipped.append(i)
            continue
        if param.numel() == 0:
            continue
        m = tensors[3] if centered else None
        b = tensors[-1] if momentum > 0 else None
        pointers = [tensors[0].data_ptr(), tensors[1].data_ptr(), tensors[2].data_ptr(),
                    m.data_ptr() if m is not None else None,
                    b.data_ptr() if b is not None else None]
        dtype = tensors[0].dtype
        function = kernel.rmsprop_step_f32 if dtype == torch.float32 else kernel.rmsprop_step_f64
        _run(function, pointers, tensors[0].numel(), tensors[0].element_size(), scalars, flags)
    return skipped
