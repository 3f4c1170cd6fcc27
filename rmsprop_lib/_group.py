"""Whether a parameter group may go to the fused kernel: the one check, and what it records.

The kernel writes through raw pointers, so every tensor it is handed is checked first, by
:func:`check_group` and nothing else: plain ``torch.Tensor``/``nn.Parameter`` (not a subclass
such as a DTensor), strided, on CPU, of a supported dtype, dense; each gradient and state
tensor of its parameter's dtype and shape and in its layout, and no lazily conjugated or
negated view. (The kernel itself then checks that no two arrays of the group overlap, and
writes nothing if two do.) The checks run a whole list at a time; only when one fails is the
list searched for the first tensor that fails it, to name it.

**What a step may skip.** A :class:`GroupRecord` keeps what :func:`check_group` found for a
group. A step's gradients are new tensors more often than not (``zero_grad`` sets them to
None) and the parameters are within easy reach of ``p.data = ...``: both are checked at every
step (of parameters that are the very objects last checked, all but their class and layout,
which no assignment to ``.data`` can change). The state tensors are the same objects step
after step: while each is still the very object recorded, at the recorded address, with the
version counter the kernel's own update left, and the parameters still have the recorded
dtypes, shapes and layouts, what was checked of them still holds, and the step skips them.
The record holds their storages, so the memory the kernel writes stays allocated whatever
was done to the tensors since. (Not checked, as torch's own operators do not check it
either: a storage shrunk under its tensors with ``untyped_storage().resize_()``, as FSDP does
to DTensors' local shards.)
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, is_
from typing import Any

import torch
from torch import Tensor

from .functional import Hyperparams, Tensors

__all__ = [
    "SLOTS",
    "SUPPORTED_DTYPES",
    "GroupRecord",
    "Launch",
    "Unfusable",
    "check_group",
    "check_kinds",
]

# The names of the tensors of one parameter, in the kernel's argument order.
SLOTS = ("param", "grad", "square_avg", "grad_avg", "momentum_buffer")
# For each supported dtype: (1 when the kernel's real type is double, else 0; reals per element).
_REAL = {
    torch.float32: (0, 1),
    torch.complex64: (0, 2),
    torch.float64: (1, 1),
    torch.complex128: (1, 2),
}
SUPPORTED_DTYPES = tuple(_REAL)
_REAL_ONLY = frozenset((torch.float32, torch.float64))  # a conjugate view is of a complex dtype
PLAIN = (Tensor, torch.nn.Parameter)
_PLAIN_SET = frozenset(PLAIN)

_dtype, _layout = attrgetter("dtype"), attrgetter("layout")
_shape = Tensor.size  # torch.Size, as .shape gives, at half the cost of reading .shape
_is_cpu, _version = attrgetter("is_cpu"), attrgetter("_version")


class Unfusable(ValueError):
    """The group cannot go to the kernel as it is; the message says which tensor and why."""


@dataclass(frozen=True, slots=True)
class Launch:
    """What the kernel is called with, for the parameters it updates (empty ones left out):
    their indices in the group, one column of data pointers per slot, their sizes in reals
    and widths (1: double, 0: float), and the slots' names."""

    indices: Sequence[int]
    columns: list[array[int]]
    sizes: array[int]
    wide: array[int]
    slots: tuple[str, ...]


def slots_of(hyper: Hyperparams) -> tuple[str, ...]:
    """The slots the kernel reads for these options."""
    return SLOTS[:3] + (SLOTS[3],) * hyper.centered + (SLOTS[4],) * (hyper.momentum > 0)


def lists_of(tensors: Tensors, hyper: Hyperparams) -> list[Sequence[Tensor]]:
    """The tensor lists the kernel reads for these options, in its argument order."""
    params, grads, square_avgs, grad_avgs, momentum_buffers = tensors
    lists = [params, grads, square_avgs]
    if hyper.centered:
        lists.append(grad_avgs if grad_avgs is not None else ())
    if hyper.momentum > 0:
        lists.append(momentum_buffers if momentum_buffers is not None else ())
    return lists


@dataclass(frozen=True, slots=True)
class _Layout:
    """The parameters' dtypes, shapes and strides (None for a contiguous one): what every
    other tensor of the group must match."""

    dtypes: list[torch.dtype]
    shapes: list[torch.Size]
    strides: list[tuple[int, ...] | None]
    contiguous: bool  # every parameter is
    complex: bool  # some parameter is


def _first(
    tensors: Sequence[Any], passes: Callable[[Any, int], bool], message: Callable[[Any, int], str]
) -> Unfusable:
    """The error for the first tensor that fails ``passes`` (the list as a whole failed it)."""
    for i, t in enumerate(tensors):
        if not passes(t, i):
            return Unfusable(message(t, i))
    raise AssertionError("a list failed a check that each of its tensors passes")


def _dense(t: Tensor) -> bool:
    """Non-overlapping and dense: the elements fill ``numel`` consecutive slots."""
    expected = 1
    for stride, size in sorted((s, n) for s, n in zip(t.stride(), t.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def check_kinds(params: Sequence[Tensor], where: str = "") -> list[torch.dtype]:
    """Check what a parameter is, which decides whether it can ever go to the kernel; its
    dtypes. ``where`` follows the parameter's index in a message (``" of group 1"``)."""
    if not set(map(type, params)) <= _PLAIN_SET:
        raise _first(
            params,
            lambda p, _: type(p) in PLAIN,
            lambda p, i: (
                f"parameter {i}{where} is a {type(p).__name__}; the fused kernel takes "
                "plain tensors (torch.Tensor, nn.Parameter) only"
            ),
        )
    if set(map(_layout, params)) - {torch.strided}:
        raise _first(
            params,
            lambda p, _: p.layout == torch.strided,
            lambda p, i: (
                f"parameter {i}{where} is {p.layout}; the fused kernel takes strided tensors only"
            ),
        )
    if not all(map(_is_cpu, params)):
        raise _first(
            params,
            lambda p, _: p.is_cpu,
            lambda p, i: (
                f"parameter {i}{where} is on {p.device}; the fused kernel runs on CPU only"
            ),
        )
    dtypes = list(map(_dtype, params))
    if not set(dtypes) <= _REAL.keys():
        raise _first(
            params,
            lambda p, _: p.dtype in _REAL,
            lambda p, i: (
                f"parameter {i}{where} is {p.dtype}; the fused kernel supports float32, "
                "float64, complex64 and complex128"
            ),
        )
    return dtypes


def _check_params(params: Sequence[Tensor], known: bool) -> _Layout:
    """Check the parameters themselves; their layout, which the rest must match.

    ``known``: they are the very objects of the last check, whose class and layout (strided
    or sparse) no assignment to ``.data`` can change; their dtype, device, shape, strides,
    memory and views can change, and are checked again."""
    if known:
        dtypes = list(map(_dtype, params))
        if not (set(dtypes) <= _REAL.keys() and all(map(_is_cpu, params))):
            check_kinds(params)  # raises, naming the parameter
    else:
        dtypes = check_kinds(params)
    complex = not set(dtypes) <= _REAL_ONLY
    if (complex and any(map(Tensor.is_conj, params))) or any(map(Tensor.is_neg, params)):
        raise _first(params, lambda p, _: not (p.is_conj() or p.is_neg()), _lazy("param"))
    contiguous = list(map(Tensor.is_contiguous, params))
    strides: list[tuple[int, ...] | None] = [None] * len(params)
    if not all(contiguous):
        for i in compress(range(len(params)), (not c for c in contiguous)):
            p = params[i]
            if not _dense(p):
                raise Unfusable(
                    f"parameter {i} is not dense (strides {p.stride()} for shape "
                    f"{list(p.shape)}); the fused kernel needs dense, non-overlapping tensors"
                )
            strides[i] = p.stride()
    return _Layout(dtypes, list(map(_shape, params)), strides, all(contiguous), complex)


def _lazy(key: str) -> Callable[[Tensor, int], str]:
    return lambda _, i: (
        f"parameter {i}: {key} is a lazily conjugated or negated view; "
        "resolve it first (resolve_conj(), resolve_neg())"
    )


def _check_like(
    tensors: Sequence[Tensor], key: str, params: Sequence[Tensor], layout: _Layout
) -> None:
    """Check one slot's tensors (``key``: ``"grad"``, ``"square_avg"``...) against the
    parameters and their layout."""
    if not set(map(type, tensors)) <= _PLAIN_SET:
        raise _first(
            tensors,
            lambda t, _: type(t) in PLAIN,
            lambda t, i: (
                f"parameter {i}: {key} is None"
                if t is None
                else f"parameter {i}: {key} is a {type(t).__name__}; the fused kernel takes "
                "plain tensors (torch.Tensor, nn.Parameter) only"
            ),
        )
    if set(map(_layout, tensors)) - {torch.strided}:
        raise _first(
            tensors,
            lambda t, _: t.layout == torch.strided,
            lambda t, i: (
                f"parameter {i}: {key} is {t.layout}; the fused kernel takes strided tensors only"
            ),
        )
    if not all(map(_is_cpu, tensors)):
        raise _first(
            tensors,
            lambda t, _: t.is_cpu,
            lambda t, i: (
                f"parameter {i}: {key} is on {t.device}; the fused kernel runs on CPU only"
            ),
        )
    if list(map(_dtype, tensors)) != layout.dtypes:
        raise _first(
            tensors,
            lambda t, i: t.dtype == layout.dtypes[i],
            lambda t, i: (
                f"parameter {i}: {key} is {t.dtype}, but the parameter is {layout.dtypes[i]}"
            ),
        )
    if list(map(_shape, tensors)) != layout.shapes:
        raise _first(
            tensors,
            lambda t, i: t.shape == layout.shapes[i],
            lambda t, i: (
                f"parameter {i}: {key} has shape {list(t.shape)}, but the parameter "
                f"has shape {list(layout.shapes[i])}"
            ),
        )
    if not (
        all(map(Tensor.is_contiguous, tensors))
        if layout.contiguous
        else all(map(_in_layout, tensors, layout.strides))
    ):
        raise _first(
            tensors,
            lambda t, i: _in_layout(t, layout.strides[i]),
            lambda t, i: (
                f"parameter {i}: {key} has strides {t.stride()}, but the parameter has "
                f"strides {params[i].stride()}; the fused kernel needs one layout for both"
            ),
        )
    if (layout.complex and any(map(Tensor.is_conj, tensors))) or any(map(Tensor.is_neg, tensors)):
        raise _first(tensors, lambda t, _: not (t.is_conj() or t.is_neg()), _lazy(key))


def _in_layout(t: Tensor, strides: tuple[int, ...] | None) -> bool:
    """Laid out as its parameter: contiguous like it, or with its (dense) strides."""
    return t.is_contiguous() if strides is None else t.stride() == strides


def _pointers(tensors: Sequence[Tensor], key: str) -> array[int]:
    try:
        return array("Q", map(Tensor.data_ptr, tensors))
    except RuntimeError as error:  # e.g. a tensor without storage
        raise Unfusable(f"a {key} tensor has no memory the kernel can address: {error}") from None


class GroupRecord:
    """What :func:`check_group` found for a group at its last full check (see the module's
    docstring); kept by the optimizer per group, outside ``state_dict`` and pickles."""

    __slots__ = (
        "_columns",
        "_launch",
        "_layout",
        "_params",
        "_states",
        "_storages",
        "_versions",
        "counters",
    )

    def __init__(self) -> None:
        self._launch: Launch | None = None
        # The step counters the kernel counted last: the tensors, their storages (held),
        # and their addresses and width (see fused._step_counters).
        self.counters: tuple[list[Tensor], list[Any], tuple[array[int], int]] | None = None

    def _has(self, params: Sequence[Tensor]) -> bool:
        """Whether these are the very parameter objects of the last full check."""
        return (
            self._launch is not None
            and len(params) == len(self._params)
            and all(map(is_, params, self._params))
        )

    def _holds(
        self, lists: list[Sequence[Tensor]], slots: tuple[str, ...], layout: _Layout
    ) -> bool:
        """Whether the state tensors are still what was checked, against this very layout."""
        launch = self._launch
        if launch is None or launch.slots != slots or layout != self._layout:
            return False
        for k, (tensors, before) in enumerate(zip(lists[2:], self._states), start=2):
            if len(tensors) != len(before) or not all(map(is_, tensors, before)):
                return False
            if array("Q", map(Tensor.data_ptr, tensors)) != self._columns[k]:
                return False
            if array("q", map(_version, tensors)) != self._versions[k - 2]:
                return False  # an in-place operation since (resize_, set_, as_strided_...)
        return True

    def _keep(self, lists: list[Sequence[Tensor]], layout: _Layout, launch: Launch) -> None:
        self._launch, self._layout = None, layout
        self._params = list(lists[0])
        self._states = [list(tensors) for tensors in lists[2:]]
        self._storages = [t.untyped_storage() for tensors in lists[2:] for t in tensors]
        self._columns = [array("Q", map(Tensor.data_ptr, tensors)) for tensors in lists]
        self._versions = [array("q", map(_version, tensors)) for tensors in lists[2:]]
        self._launch = launch

    def stepped(self) -> None:
        """The kernel ran: each state tensor's version went up by one."""
        if self._launch is not None:
            self._versions = [array("q", [v + 1 for v in column]) for column in self._versions]


def check_group(
    lists: list[Sequence[Tensor]], slots: tuple[str, ...], record: GroupRecord | None = None
) -> Launch:
    """Check every tensor the kernel would touch; the kernel's arguments for the group.

    With ``record``, the state tensors are not checked again while it says they are the ones
    it recorded (see :class:`GroupRecord`); a full check records anew.

    Raises:
        Unfusable: naming the parameter and the tensor, when the group cannot go to the
            kernel as it is.
    """
    params = lists[0]
    count = len(params)
    for key, tensors in zip(slots[1:], lists[1:]):
        if len(tensors) != count:
            raise Unfusable(f"{len(tensors)} {key} tensors for {count} parameters")
    layout = _check_params(params, record is not None and record._has(params))
    known = record is not None and record._holds(lists, slots, layout)
    for k in (1,) if known else range(1, len(lists)):
        _check_like(lists[k], slots[k], params, layout)
    params_at, grads_at = _pointers(params, "param"), _pointers(lists[1], "grad")
    if known:
        assert record is not None and record._launch is not None
        recorded = record._launch
        if len(recorded.indices) == count:
            columns = [params_at, grads_at, *recorded.columns[2:]]
        else:
            keep = recorded.indices
            columns = [
                array("Q", [params_at[i] for i in keep]),
                array("Q", [grads_at[i] for i in keep]),
                *recorded.columns[2:],
            ]
        return Launch(recorded.indices, columns, recorded.sizes, recorded.wide, slots)
    columns = [params_at, grads_at] + [_pointers(t, k) for t, k in zip(lists[2:], slots[2:])]
    real = [_REAL[d] for d in layout.dtypes]
    sizes = array("q", [n * r for n, (_, r) in zip(map(Tensor.numel, params), real)])
    wide = array("B", [w for w, _ in real])
    indices: Sequence[int] = range(count)
    if 0 in sizes:  # empty parameters: nothing to do, and no memory to point at
        indices = [i for i, n in enumerate(sizes) if n]
        columns = [array("Q", [column[i] for i in indices]) for column in columns]
        sizes = array("q", [sizes[i] for i in indices])
        wide = array("B", [wide[i] for i in indices])
    launch = Launch(indices, columns, sizes, wide, slots)
    if record is not None:
        record._keep(lists, layout, launch)
    return launch
