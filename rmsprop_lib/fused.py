"""The fused RMSprop step: one pass over memory, one C call per parameter group.

Why a hand-written C kernel loaded with ``ctypes`` rather than ``torch.compile``: the update
is one element-wise loop, so a C compiler produces the memory-bound loop directly; the
kernel covers every option (weight decay, centered, momentum, maximize, ε placement) for
float32 and float64 in one build, made when the package is installed (``setup.py``;
loading it: ``rmsprop_lib/_kernel.py``). Inductor would generate an equivalent loop, but it
compiles at run time, once per configuration, dtype and often shape, for tens of seconds
each on a 2-core machine.

**One call per group.** :func:`fused_update` hands the kernel arrays of pointers, element
counts and widths for the whole group, so a group is one call whatever its size and its mix
of float32, float64, complex64 and complex128 tensors (each in its own precision), and the
kernel counts the steps too. Before any update, every tensor is checked in Python
(``rmsprop_lib/_group.py``: the one check, and the record that lets the optimizer's next
step check in full only the parameters and gradients); the kernel then checks that no two
arrays of the group overlap and writes nothing if two do. A bad input is a ``ValueError``
naming the parameter and the tensor (``grad``, ``square_avg``, ...), never a crash. A
complex tensor is updated as its real view (twice as many real numbers), as torch does.

``ctypes`` releases the GIL during the call. With OpenMP, a large group is split into
``torch.get_num_threads()`` contiguous chunks of its elements taken end to end; the library
is linked against ``libgomp.so.1``, which in a torch process is torch's own OpenMP runtime,
so the chunks run on torch's worker threads rather than on a second pool. A compiler without
OpenMP builds a serial kernel (:func:`build_info` says which).

Results agree with the per-tensor loop to rounding, not bit for bit: the kernel rounds
after every operation, as the loop's formula reads, while torch's CPU kernels fuse some
multiply-adds, and their square roots are not always correctly rounded.
"""

from __future__ import annotations

import ctypes
from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter, is_

import torch
from torch import Tensor
from torch.autograd.graph import increment_version

from ._group import (
    _PLAIN_SET,
    SLOTS,
    SUPPORTED_DTYPES,
    GroupRecord,
    Unfusable,
    check_group,
    check_kinds,
    lists_of,
    slots_of,
)
from ._kernel import SYMBOL, FusedUnavailableError, build_info, load_kernel
from .functional import Hyperparams, Tensors, count_steps

__all__ = [
    "SUPPORTED_DTYPES",
    "FusedUnavailableError",
    "build_info",
    "check_fusable",
    "fused_update",
    "load_kernel",
    "unfusable_reason",
]

# Below this many elements in a call, the group is updated by the calling thread alone.
PARALLEL_THRESHOLD = 1 << 16
# How the kernel numbers what it reports as overlapping: the slots, then the step counter.
_NAMES = (*SLOTS, "step")
CENTERED, MOMENTUM, MAXIMIZE, EPS_IN_SQRT, WEIGHT_DECAY = 1, 2, 4, 8, 16
_dtype, _is_cpu = attrgetter("dtype"), attrgetter("is_cpu")
_COUNTER_WIDTH = {torch.float32: 0, torch.float64: 1}


def check_fusable(params: Sequence[Tensor], where: str = "") -> None:
    """Raise :class:`FusedUnavailableError` if a parameter can never be fused.

    A parameter can be fused when it is a plain ``torch.Tensor`` or ``nn.Parameter`` (not a
    subclass such as a DTensor, whose memory is not one local array), strided, on CPU, and
    float32, float64, complex64 or complex128.

    Args:
        params: the parameters of one group.
        where: appended after the parameter's index in the message, e.g. ``" of group 1"``.
    """
    try:
        check_kinds(params, where)
    except Unfusable as error:
        raise FusedUnavailableError(f"fused=True: {error}") from None


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
    hyper = Hyperparams(lr=0.0, alpha=0.0, eps=0.0, momentum=momentum, centered=centered)
    tensors = (params, grads, square_avgs, grad_avgs, momentum_buffers)
    try:
        check_group(lists_of(tensors, hyper), slots_of(hyper))
    except Unfusable as error:
        return str(error)
    return None


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
        FusedUnavailableError: when the package was installed without the kernel.
    """
    hyper = Hyperparams(
        lr=lr,
        alpha=alpha,
        eps=eps,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
        maximize=maximize,
        eps_in_sqrt=eps_in_sqrt,
    )
    try:
        step_group((params, grads, square_avgs, grad_avgs, momentum_buffers), hyper)
    except Unfusable as error:
        raise ValueError(f"fused RMSprop step: {error}") from None


def _scalar(name: str, value: float | Tensor) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(value.item())
    return float(value)


def _threads(n: int) -> int:
    """How many threads the kernel may split ``n`` elements across."""
    return 1 if n < PARALLEL_THRESHOLD else max(1, torch.get_num_threads())


def step_group(
    tensors: Tensors,
    hyper: Hyperparams,
    steps: Sequence[Tensor] | None = None,
    record: GroupRecord | None = None,
) -> None:
    """Check the group (:func:`~rmsprop_lib._group.check_group`) and run the kernel on it.

    With ``steps`` (one counter per parameter), also count the steps: in the kernel when the
    counters are plain one-element CPU tensors of one float dtype, else as torch does
    (:func:`~rmsprop_lib.functional.count_steps`). ``record`` carries what one step's
    checks found to the next.

    Raises:
        Unfusable: when the group cannot go to the kernel as it is; nothing was written.
        ValueError: when two of its arrays overlap in memory; nothing was written.
    """
    lists = lists_of(tensors, hyper)
    launch = check_group(lists, slots_of(hyper), record)
    lr = _scalar("lr", hyper.lr)
    count = len(launch.indices)
    counters = None
    if steps is not None and count == len(steps):
        counters = _step_counters(steps, record)
    if count == 0:
        if steps:
            count_steps(list(steps))
        return
    kernel = load_kernel()
    flags = (
        (CENTERED if hyper.centered else 0)
        | (MOMENTUM if hyper.momentum > 0 else 0)
        | (MAXIMIZE if hyper.maximize else 0)
        | (EPS_IN_SQRT if hyper.eps_in_sqrt else 0)
        | (WEIGHT_DECAY if hyper.weight_decay != 0 else 0)
    )
    arrays = [column.buffer_info()[0] for column in launch.columns]  # kept alive by launch
    slots = launch.slots
    where = (ctypes.c_int64 * 4)()
    status = getattr(kernel, SYMBOL)(
        count,
        arrays[0],
        arrays[1],
        arrays[2],
        arrays[slots.index("grad_avg")] if hyper.centered else None,
        arrays[slots.index("momentum_buffer")] if hyper.momentum > 0 else None,
        launch.sizes.buffer_info()[0],
        launch.wide.buffer_info()[0],
        None if counters is None else counters[0].buffer_info()[0],
        0 if counters is None else counters[1],
        lr,
        float(hyper.alpha),
        float(hyper.eps),
        float(hyper.weight_decay),
        float(hyper.momentum),
        flags,
        _threads(sum(launch.sizes)),
        where,
    )
    if status == 1:
        first, second = (
            f"parameter {launch.indices[where[k]]}'s {_NAMES[where[k + 1]]}" for k in (0, 2)
        )
        raise ValueError(
            f"fused RMSprop step: {first} and {second} overlap in memory; nothing was updated"
        )
    if status != 0:
        raise MemoryError(
            "fused RMSprop step: no memory for the overlap check; nothing was updated"
        )
    # Writes through raw pointers are invisible to autograd: bump the version counters, as an
    # in-place torch operator would, so a graph that saved one of these tensors notices.
    written = [lists[0], *lists[2:]]
    if counters is not None and steps is not None:  # the kernel counted them: theirs too
        written.append(steps)
    increment_version(chain.from_iterable(written))
    if record is not None:
        record.stepped()
    if steps and counters is None:
        count_steps(list(steps))


def _step_counters(
    steps: Sequence[Tensor], record: GroupRecord | None
) -> tuple[array[int], int] | None:
    """The step counters' addresses and width (1: double, 0: float) when the kernel can
    count them: plain CPU tensors of one element, all float32 or all float64; else None.
    With ``record``, not checked again while they are the very counters recorded, at the
    recorded addresses (whose storages the record keeps)."""
    if record is not None:
        kept = record.counters
        if (
            kept is not None
            and len(steps) == len(kept[0])
            and all(map(is_, steps, kept[0]))
            and array("Q", map(Tensor.data_ptr, steps)) == kept[2][0]
        ):
            return kept[2]
    found = _countable(steps)
    if record is not None:
        record.counters = (
            (list(steps), [t.untyped_storage() for t in steps], found)
            if found is not None
            else None
        )
    return found


def _countable(steps: Sequence[Tensor]) -> tuple[array[int], int] | None:
    if not set(map(type, steps)) <= _PLAIN_SET:
        return None
    dtypes = set(map(_dtype, steps))
    if len(dtypes) != 1 or not dtypes <= _COUNTER_WIDTH.keys():
        return None
    if not all(map(_is_cpu, steps)) or set(map(Tensor.numel, steps)) != {1}:
        return None
    if any(map(Tensor.is_neg, steps)):
        return None
    return array("Q", map(Tensor.data_ptr, steps)), _COUNTER_WIDTH[dtypes.pop()]
