"""Argument checks shared by the chapter's functions.

Each public function calls one ``_check_...`` line before its teaching body, so the body the
page shows stays short. Messages name the function, the argument and the value:
``TypeError`` for a wrong type, ``ValueError`` for a value out of range, as
``torch.optim.RMSprop`` does. The checks are plain Python comparisons, cheap enough for the
functions that run thousands of times (``rmsprop``, ``rmsprop_2d``, ``train_2d``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import torch
from torch import Tensor

__all__: list[str] = []  # private: used by the chapter's modules only


def typed_repr(value: Any) -> str:
    """How a refused value is shown in a message: its type and a short repr (``float nan``)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_int(
    where: str, name: str, value: Any, *, minimum: int, maximum: int | None = None
) -> None:
    """``value`` is an int (not a bool) in ``[minimum, maximum]``."""
    if type(value) is int and value >= minimum and (maximum is None or value <= maximum):
        return  # the fast path
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{where}: {name} must be an integer, got {typed_repr(value)}")
    number = int(value)  # exact for any Integral (numpy's too), and comparable both ways
    if maximum is not None:
        if not minimum <= number <= maximum:
            raise ValueError(f"{where}: {name} must be in [{minimum}, {maximum}], got {value!r}")
    elif number < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{where}: {name} must be {kind}, got {value!r}")


def check_real(
    where: str,
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` is a real number (not a bool), finite, and in ``[low, high]`` (a bound is
    excluded with ``low_open`` / ``high_open``)."""
    if type(value) is float or type(value) is int:  # the fast path
        above = low < value if low_open else low <= value
        below = value < high if high_open else value <= high
        if above and below and value - value == 0:  # inf - inf and nan - nan are nan
            return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{where}: {name} must be a real number, got {typed_repr(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float is still finite
        finite = True
    if not finite:
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    # numbers.Real promises only ``<`` and ``<=``, so ``value`` stays on their left; it is
    # finite here, so ``not value < high`` is ``value >= high``.
    too_low = value <= low if low_open else value < low
    too_high = not value < high if high_open else not value <= high
    if too_low or too_high:
        interval = _interval(low, high, low_open, high_open)
        raise ValueError(f"{where}: {name} must be {interval}, got {value!r}")


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if high == math.inf:
        return f"> {low:g}" if low_open else f">= {low:g}"
    if low == -math.inf:
        return f"< {high:g}" if high_open else f"<= {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_callable(where: str, name: str, value: Any) -> None:
    if not callable(value):
        raise TypeError(f"{where}: {name} must be callable, got {typed_repr(value)}")


def check_mapping(where: str, name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where}: {name} must be a dict, got {typed_repr(value)}")


def check_tensor(
    where: str, name: str, value: Any, *, ndim: int | None = None, floating: bool = True
) -> None:
    """``value`` is a tensor (of a floating dtype, with ``ndim`` dimensions if given)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {typed_repr(value)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{where}: {name} must have a floating-point dtype, got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(
            f"{where}: {name} must have {ndim} dimension(s), got shape {tuple(value.shape)}"
        )


def check_point(where: str, name: str, value: Any) -> None:
    """``value`` is a pair of finite real numbers."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{where}: {name} must be a pair (x1, x2), got {typed_repr(value)}")
    for i, coord in enumerate(value):
        check_real(where, f"{name}[{i}]", coord)


def check_data(where: str, features: Any, labels: Any) -> None:
    """Features ``(n, d)`` and labels ``(n,)`` of one floating dtype, n, d >= 1, all finite."""
    check_tensor(where, "features", features, ndim=2)
    check_tensor(where, "labels", labels, ndim=1)
    if labels.dtype != features.dtype:
        raise TypeError(
            f"{where}: labels must have the dtype of features ({features.dtype}), "
            f"got {labels.dtype}"
        )
    n, d = features.shape
    if labels.shape[0] != n:
        raise ValueError(
            f"{where}: features and labels must have the same number of examples, got "
            f"features of shape {tuple(features.shape)} and labels of shape {tuple(labels.shape)}"
        )
    if n == 0 or d == 0:
        raise ValueError(f"{where}: features must not be empty, got shape {tuple(features.shape)}")
    for name, tensor in (("features", features), ("labels", labels)):
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            index = tuple(int(i) for i in (~finite).nonzero()[0])
            at = index[0] if len(index) == 1 else index
            raise ValueError(
                f"{where}: {name} must be finite, got {tensor[index].item()} at index {at}"
            )


def check_params_and_states(where: str, params: Any, states: Any) -> list[Tensor]:
    """Two sequences of tensors of equal length; each state has its parameter's shape and
    dtype; each parameter has a gradient of its shape. Returns the gradients."""
    for name, value in (("params", params), ("states", states)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: {name} must be a list of tensors, got {typed_repr(value)}")
    if len(params) != len(states):
        raise ValueError(
            f"{where}: need one state per parameter, got {len(params)} params and "
            f"{len(states)} states"
        )
    grads = []
    for i, (p, s) in enumerate(zip(params, states)):
        if not isinstance(p, Tensor) or not isinstance(s, Tensor):
            bad, name = (p, "params") if not isinstance(p, Tensor) else (s, "states")
            raise TypeError(f"{where}: {name}[{i}] must be a torch.Tensor, got {typed_repr(bad)}")
        if s.shape != p.shape or s.dtype != p.dtype:
            raise ValueError(
                f"{where}: states[{i}] must match params[{i}] ({p.dtype}, shape "
                f"{tuple(p.shape)}), got {s.dtype}, shape {tuple(s.shape)}"
            )
        if p.ndim == 0:
            raise ValueError(
                f"{where}: params[{i}] must have at least one dimension, got a 0-dim tensor"
            )
        if p.grad is None:
            raise ValueError(f"{where}: params[{i}] has no gradient (call backward() first)")
        grads.append(p.grad)
    return grads


def check_hyperparams(
    where: str,
    hyperparams: Any,
    ranges: Mapping[str, tuple[float, float]],
) -> None:
    """``hyperparams`` is a dict with exactly the keys of ``ranges``, each value a finite real
    number within its ``(low, high)``."""
    check_mapping(where, "hyperparams", hyperparams)
    if hyperparams.keys() != ranges.keys():
        missing = sorted(ranges.keys() - hyperparams.keys())
        unknown = sorted(hyperparams.keys() - ranges.keys(), key=repr)
        problems = ([f"missing {missing}"] if missing else []) + (
            [f"unknown {unknown}"] if unknown else []
        )
        raise ValueError(
            f"{where}: hyperparams must have the keys {sorted(ranges)}, {' and '.join(problems)}"
        )
    for key, (low, high) in ranges.items():
        check_real(where, f'hyperparams["{key}"]', hyperparams[key], low=low, high=high)
