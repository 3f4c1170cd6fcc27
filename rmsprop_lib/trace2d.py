"""Two-dimensional traces: how RMSProp (and AdaGrad, for contrast) walk over a quadratic.

Everything here works on plain Python floats, as the chapter does, so each step can be
followed by hand. The functions return data; plotting lives in :mod:`rmsprop_lib.plotting`.
``rmsprop_2d``, ``adagrad_2d`` and ``train_2d`` check their arguments and then call the plain
functions of the same names in ``rmsprop_lib.lesson``, which the chapter shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Any, TypeVar

from . import _checks, lesson
from .lesson import Trace2D

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "Trace2D",
    "adagrad_2d",
    "effective_lr",
    "f_2d",
    "f_2d_rotated",
    "grad_f_2d",
    "grad_f_2d_rotated",
    "rmsprop_2d",
    "train_2d",
]

Point = tuple[float, float]
Gradient = Callable[[float, float], Point]
Trainer = Callable[[float, float, float, float], tuple[float, float, float, float]]
# The objectives take two floats, or two arrays (a grid, to draw contour lines).
FloatOrArray = TypeVar("FloatOrArray", float, "NDArray[np.floating[Any]]")


def f_2d(x1: FloatOrArray, x2: FloatOrArray) -> FloatOrArray:
    """The chapter's objective :math:`f(x) = 0.1 x_1^2 + 2 x_2^2` (works on arrays too)."""
    return 0.1 * x1**2 + 2 * x2**2


def grad_f_2d(x1: float, x2: float) -> Point:
    """Gradient of :func:`f_2d`: :math:`(0.2 x_1, 4 x_2)`."""
    return 0.2 * x1, 4 * x2


def f_2d_rotated(x1: FloatOrArray, x2: FloatOrArray) -> FloatOrArray:
    """The exercise's rotated objective :math:`0.1 (x_1 + x_2)^2 + 2 (x_1 - x_2)^2`."""
    return 0.1 * (x1 + x2) ** 2 + 2 * (x1 - x2) ** 2


def grad_f_2d_rotated(x1: float, x2: float) -> Point:
    """Gradient of :func:`f_2d_rotated`."""
    a, b = 0.2 * (x1 + x2), 4 * (x1 - x2)
    return a + b, a - b


def rmsprop_2d(
    x1: float,
    x2: float,
    s1: float,
    s2: float,
    *,
    eta: float = 0.4,
    gamma: float = 0.9,
    eps: float = 1e-6,
    grad: Gradient = grad_f_2d,
) -> tuple[float, float, float, float]:
    """One RMSProp step on two scalars; ``s1, s2`` are the moving averages of squared gradients."""
    _check_step("rmsprop_2d", x1, x2, s1, s2, eta, gamma, eps, grad)
    return lesson.rmsprop_2d(x1, x2, s1, s2, eta, gamma, grad, eps)


def adagrad_2d(
    x1: float,
    x2: float,
    s1: float,
    s2: float,
    *,
    eta: float = 0.4,
    eps: float = 1e-6,
    grad: Gradient = grad_f_2d,
) -> tuple[float, float, float, float]:
    """One AdaGrad step: the same as :func:`rmsprop_2d` but ``s`` is a running *sum*."""
    _check_step("adagrad_2d", x1, x2, s1, s2, eta, 0.0, eps, grad)
    return lesson.adagrad_2d(x1, x2, s1, s2, eta, grad, eps)


def train_2d(trainer: Trainer, *, steps: int = 20, start: Point = (-5.0, -2.0)) -> Trace2D:
    """Run ``trainer`` for ``steps`` steps from ``start`` with zero state; return the trace."""
    _check_train_2d(trainer, steps, start)
    return lesson.train_2d(trainer, steps, start)


def effective_lr(
    trace: Trace2D, *, eta: float, eps: float = 1e-6
) -> tuple[list[float], list[float]]:
    """Effective learning rate per coordinate, :math:`\\eta / \\sqrt{s_t + \\epsilon}`, by step."""
    _check_effective_lr(trace, eta, eps)
    lr1 = [eta / math.sqrt(s1 + eps) for s1, _ in trace.states]
    lr2 = [eta / math.sqrt(s2 + eps) for _, s2 in trace.states]
    return lr1, lr2


def _check_step(
    where: str, x1: Any, x2: Any, s1: Any, s2: Any, eta: Any, gamma: Any, eps: Any, grad: Any
) -> None:
    """Hyperparameters in range; the point and state real numbers, the state not negative.

    The point and state may be infinite or NaN: they are what the previous step returned,
    and a legitimately diverging run (a large ``eta``, or ``gamma=1``) must be able to
    continue. ``eps`` must be positive: with plain floats a zero root raises
    ZeroDivisionError instead of giving inf.
    """
    if (
        type(eta) is float
        and type(gamma) is float
        and type(eps) is float
        and callable(grad)
        and 0.0 <= eta < math.inf
        and 0.0 <= gamma <= 1.0
        and 0.0 < eps < math.inf
        and type(x1) is float
        and type(x2) is float
        and type(s1) is float
        and type(s2) is float
        and s1 >= 0.0
        and s2 >= 0.0
    ):
        return  # the common case, checked in one expression (the explorer calls this a lot)
    _checks.check_real(where, "eta", eta, low=0.0)
    _checks.check_real(where, "gamma", gamma, low=0.0, high=1.0)
    _checks.check_real(where, "eps", eps, low=0.0, low_open=True)
    _checks.check_callable(where, "grad", grad)
    for name, value in (("x1", x1), ("x2", x2), ("s1", s1), ("s2", s2)):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(
                f"{where}: {name} must be a real number, got {_checks.typed_repr(value)}"
            )
    for name, value in (("s1", s1), ("s2", s2)):
        if value < 0:
            raise ValueError(
                f"{where}: {name} must be >= 0 (a sum or average of squares), got {value!r}"
            )


def _check_train_2d(trainer: Any, steps: Any, start: Any) -> None:
    _checks.check_callable("train_2d", "trainer", trainer)
    _checks.check_int("train_2d", "steps", steps, minimum=0)
    _checks.check_point("train_2d", "start", start)


def _check_effective_lr(trace: Any, eta: Any, eps: Any) -> None:
    if not isinstance(trace, Trace2D):
        raise TypeError(f"effective_lr: trace must be a Trace2D, got {_checks.typed_repr(trace)}")
    _checks.check_real("effective_lr", "eta", eta, low=0.0)
    _checks.check_real("effective_lr", "eps", eps, low=0.0, low_open=True)
