"""The fused RMSprop step: one pass over memory per parameter, by a small C kernel.

Why a hand-written C kernel loaded with ``ctypes`` rather than ``torch.compile``: the update
is one element-wise loop, so a C compiler produces the memory-bound loop directly; the
kernel covers every option (weight decay, centered, momentum, maximize, ε placement) for
float32 and float64 in one build of about a second, cached on disk and keyed by the
source, the compiler and the flags. Inductor would generate an equivalent loop, but it
compiles once per configuration, dtype and often shape, for tens of seconds each on a
2-core machine, which the book build and the test suite would pay again and again.

``ctypes`` releases the GIL during the call. A large tensor is split into
``torch.get_num_threads()`` contiguous chunks by an OpenMP parallel region; the library is
linked against ``libgomp.so.1``, which in a torch process is torch's own OpenMP runtime, so
the chunks run on torch's worker threads rather than on a second pool competing with
them for the cores (torch's workers keep spinning for a while after each operator).

The kernel is built on first use and that cost is reported by :func:`build_info`, not
hidden: the optimizer builds it in its constructor when ``fused=True``, and at its first
step when ``fused=None`` (where a kernel that cannot be built means falling back to the
multi-tensor update; :func:`build_info` then says why under ``error``).

Results agree with the per-tensor loop to rounding, not bit for bit: the kernel rounds
after every operation, as the loop's formula reads, while torch's CPU kernels fuse some
multiply-adds, and their square roots are not always correctly rounded (on the machine
this was written on, about one float32 result in five is one unit in the last place
away from the correctly rounded value the kernel computes).
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
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["FusedUnavailableError", "load_kernel", "available", "build_info", "fused_update",
           "check_fusable", "fusable"]

SOURCE = Path(__file__).with_name("_fused_kernel.c")
CFLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-std=c11",
          "-fPIC", "-shared"]
# libgomp.so.1: inside a torch process the dynamic loader hands the kernel torch's own copy.
OPENMP = ["-fopenmp"]
SUPPORTED_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)
# Below this many elements a tensor is updated by the calling thread alone.
PARALLEL_THRESHOLD = 1 << 16

CENTERED, MOMENTUM, MAXIMIZE, EPS_IN_SQRT, WEIGHT_DECAY = 1, 2, 4, 8, 16


class FusedUnavailableError(RuntimeError):
    """``fused=True`` was asked for but the fused kernel cannot run here; says why."""


_lock = threading.Lock()
_kernel = None
_failure: FusedUnavailableError | None = None  # why the kernel could not be obtained, once known
_info: dict = {}


def _compiler() -> str:
    return os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]


def _cache_dir() -> Path:
    if os.environ.get("RMSPROP_LIB_CACHE"):
        return Path(os.environ["RMSPROP_LIB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rmsprop_lib"


def _cpu_signature() -> str:
    """What ``-march=native`` depends on: the CPU model and its instruction-set flags.

    Part of the cache key, so a cache directory shared between different machines (a
    network home, a copied container) never loads a kernel built for another CPU.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            fields = {}
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
        return f"{fields.get('model name', '')}|{fields.get('flags', '')}"
    except OSError:  # not Linux: the best the platform module offers
        return f"{platform.processor()}|{torch.backends.cpu.get_cpu_capability()}"


def _build(compiler: str) -> tuple[Path, bool, bool]:
    """The kernel library for this machine: ``(path, reused from the cache, parallel)``.

    Built with OpenMP when the compiler can (so large tensors are split across torch's
    own worker threads), serial otherwise.
    """
    resolved = shutil.which(compiler)
    if resolved is None:
        raise FusedUnavailableError(
            f"fused=True needs a C compiler to build the fused RMSprop kernel, and "
            f"{compiler!r} was not found (install gcc or set CC); use fused=False "
            "(or leave fused=None) to run the unfused update instead"
        )
    version = subprocess.run([resolved, "--version"], capture_output=True, text=True).stdout
    try:
        return (*_compile(resolved, version, CFLAGS + OPENMP), True)
    except FusedUnavailableError:  # e.g. a clang without libomp: the serial kernel still builds
        return (*_compile(resolved, version, CFLAGS), False)


def _compile(compiler: str, version: str, flags: list[str]) -> tuple[Path, bool]:
    """Compile with ``flags`` unless a build for this source/compiler/flags/CPU is cached."""
    key = hashlib.sha256("\0".join([SOURCE.read_text(), compiler, version, " ".join(flags),
                                    platform.machine(), _cpu_signature()]).encode())
    target = _cache_dir() / f"rmsprop_fused_{key.hexdigest()[:16]}.so"
    if target.is_file():
        return target, True
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        partial = Path(tmp) / target.name
        proc = subprocess.run([compiler, *flags, "-o", str(partial), str(SOURCE), "-lm"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise FusedUnavailableError(
                f"fused=True: compiling {SOURCE.name} with {compiler} failed "
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
            try:
                path, cached, parallel = _build(_compiler())
                library = ctypes.CDLL(str(path))
            except OSError as error:  # an unwritable cache, a compiler that cannot run, ...
                raise FusedUnavailableError(
                    f"fused=True: the fused RMSprop kernel could not be built or loaded: {error} "
                    "(the kernel cache is set by RMSPROP_LIB_CACHE, the compiler by CC)"
                ) from error
            for name in ("rmsprop_step_f32", "rmsprop_step_f64"):
                function = getattr(library, name)
                function.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int64] + \
                    [ctypes.c_double] * 5 + [ctypes.c_int, ctypes.c_int]
                function.restype = None
            _info.update(path=str(path), cached=cached, openmp=parallel,
                         seconds=time.perf_counter() - start)
            _kernel = library
        return _kernel


def available() -> bool:
    """Whether the kernel can run here, building it on the first call; never raises.

    The answer is remembered for the life of the process, so a machine without a compiler
    pays for finding out once. Why it is unavailable is reported by :func:`build_info`
    under ``error``.
    """
    global _failure
    if _kernel is not None:
        return True
    if _failure is not None:
        return False
    try:
        load_kernel()
    except FusedUnavailableError as error:
        with _lock:
            _failure = error
            _info["error"] = str(error)
        return False
    return True


def build_info() -> dict:
    """How the kernel was obtained: ``path``, ``cached`` (reused from disk), ``openmp``
    (whether it splits large tensors across threads) and ``seconds``.

    After :func:`available` found it cannot be built, only ``error``, saying why.
    """
    return dict(_info)


def _reset_for_tests() -> None:
    global _kernel, _failure
    with _lock:
        _kernel = None
        _failure = None
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
    if all(t.is_contiguous() for t in tensors):  # the common case, decided in C
        return True
    first = tensors[0]
    return _dense(first) and all(t.stride() == first.stride() for t in tensors[1:])


def _unfusable(params, where: str = "") -> str | None:
    """Why the parameters' devices or dtypes cannot be fused, or None when they can."""
    for i, p in enumerate(params):
        if p.device.type != "cpu":
            return f"fused=True: parameter {i}{where} is on {p.device}; the fused kernel runs on CPU only"
        if p.dtype not in SUPPORTED_DTYPES:
            return (f"fused=True: parameter {i}{where} is {p.dtype}; the fused kernel supports "
                    "float32 and float64 (complex64/complex128 as their real views)")
    return None


def check_fusable(params, where: str = "") -> None:
    """Raise FusedUnavailableError unless every parameter's device and dtype can be fused."""
    reason = _unfusable(params, where)
    if reason is not None:
        raise FusedUnavailableError(reason)


def fusable(params) -> bool:
    """Whether every parameter's device and dtype can be fused (:func:`check_fusable`, quietly)."""
    return _unfusable(params) is None


def _threads(n: int) -> int:
    """How many threads the kernel may split ``n`` elements across."""
    return 1 if n < PARALLEL_THRESHOLD else max(1, torch.get_num_threads())


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
        if param.is_complex():
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
        n = tensors[0].numel()
        function(*pointers, n, *scalars, flags, _threads(n))
    return skipped


# --- Temporary shim (optimizer branch) -------------------------------------------------------
# The optimizer codes against ``unfusable_reason`` from the fused branch's new interface; this
# minimal version lets the optimizer branch run until that branch is merged, and is to be
# replaced by the fused branch's fused.py at merge.
def unfusable_reason(params, grads, square_avgs, grad_avgs, momentum_buffers,
                     *, centered: bool, momentum: float) -> str | None:
    """Why this group cannot go to the kernel now (shapes, dtypes, devices, layouts), or None."""
    reason = _unfusable(params)
    if reason is not None:
        return reason
    for i, param in enumerate(params):
        tensors = [param, grads[i], square_avgs[i]]
        if centered:
            tensors.append(grad_avgs[i])
        if momentum > 0:
            tensors.append(momentum_buffers[i])
        if any(type(t) not in (torch.Tensor, torch.nn.Parameter) for t in tensors):
            return f"parameter {i}: a tensor subclass"
        if any(t.shape != param.shape or t.dtype != param.dtype or t.device != param.device
               or t.layout != torch.strided for t in tensors):
            return f"parameter {i}: its gradient or state differs in shape, dtype or device"
        if param.is_complex():
            tensors = [torch.view_as_real(t) for t in tensors]
        if not _one_layout(tensors):
            return f"parameter {i}: its gradient or state has another memory layout"
    return None
