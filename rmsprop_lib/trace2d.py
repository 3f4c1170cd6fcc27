"""Two-dimensional traces: how RMSProp (and AdaGrad, for contrast) walk over a quadratic.

Everything here works on plain Python floats, as the chapter does, so each step can be
followed by hand. The functions return data; plotting lives in :mod:`rmsprop_lib.plotting`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

__all__ = [
    "f_2d",
    "grad_f_2d",
    "f_2d_rotated",
    "grad_f_2d_rotated",
    "rmsprop_2d",
    "adagrad_2d",
    "train_2d",
    "Trace2D",
    "effective_lr",
]

Point = tuple[float, float]
Gradient = Callable[[float, float], Point]
Trainer = Callable[[float, float, float, float], tuple[float, float, float, float]]


def f_2d(x1, x2):
    """The chapter's objective :math:`f(x) = 0.1 x_1^2 + 2 x_2^2` (works on arrays too)."""
    return 0.1 * x1**2 + 2 * x2**2


def grad_f_2d(x1: float, x2: float) -> Point:
    """Gradient of :func:`f_2d`: :math:`(0.2 x_1, 4 x_2)`."""
    return 0.2 * x1, 4 * x2


def f_2d_rotated(x1, x2):
    """The exercise's rotated objective :math:`0.1 (x_1 + x_2)^2 + 2 (x_1 - x_2)^2`."""
    return 0.1 * (x1 + x2) ** 2 + 2 * (x1 - x2) ** 2


def grad_f_2d_rotated(x1: float, x2: float) -> Point:
    """Gradient of :func:`f_2d_rotated`."""
    a, b = 0.2 * (x1 + x2), 4 * (x1 - x2)
    return a + b, a - b


def rmsprop_2d(x1, x2, s1, s2, *, eta=0.4, gamma=0.9, eps=1e-6, grad=grad_f_2d):
    """One RMSProp step on two scalars; ``s1, s2`` are the moving averages of squared gradients."""
    g1, g2 = grad(x1, x2)
    s1 = gamma * s1 + (1 - gamma) * g1**2
    s2 = gamma * s2 + (1 - gamma) * g2**2
    x1 -= eta / math.sqrt(s1 + eps) * g1
    x2 -= eta / math.sqrt(s2 + eps) * g2
    return x1, x2, s1, s2


def adagrad_2d(x1, x2, s1, s2, *, eta=0.4, eps=1e-6, grad=grad_f_2d):
    """One AdaGrad step: the same as :func:`rmsprop_2d` but ``s`` is a running *sum*."""
    g1, g2 = grad(x1, x2)
    s1 += g1**2
    s2 += g2**2
    x1 -= eta / math.sqrt(s1 + eps) * g1
    x2 -= eta / math.sqrt(s2 + eps) * g2
    return x1, x2, s1, s2


@dataclass
class Trace2D:
    """The points visited (start included) and the state after each step."""

    points: list[Point] = field(default_factory=list)
    states: list[Point] = field(default_factory=list)


def train_2d(trainer: Trainer, *, steps: int = 20, start: Point = (-5.0, -2.0)) -> Trace2D:
    """Run ``trainer`` for ``steps`` steps from ``start`` with zero state; return the trace."""
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    x1, x2 = start
    s1 = s2 = 0.0
    trace = Trace2D(points=[(x1, x2)])
    for _ in range(steps):
        x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        trace.points.append((x1, x2))
        trace.states.append((s1, s2))
    return trace


def effective_lr(trace: Trace2D, *, eta: float, eps: float = 1e-6) -> tuple[list[float], list[float]]:
    """Per-coordinate effective learning rate :math:`\\eta / \\sqrt{s_t + \\epsilon}` after each step."""
    return tuple([eta / math.sqrt(s + eps) for s in coord] for coord in zip(*trace.states))
