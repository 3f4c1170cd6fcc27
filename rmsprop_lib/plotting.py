"""Figures for the chapter. Each function takes data, draws it, and returns the figure.

matplotlib is imported inside the functions, so ``import rmsprop_lib`` stays light. Axis
words are Chinese, as the chapter's prose; every text a function draws is given
:data:`FONT_FAMILY`, so nothing depends on (or changes) matplotlib's rcParams. The default
size (4.5 by 3.2 inches, text at 10 pt) keeps the text legible when a phone scales the
figure to about 350 pixels wide: 10 pt × 350 / (72 × 4.5) ≈ 10.8 px.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

from . import _checks
from .trace2d import Point, Trace2D
from .training import TrainResult

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "plot_effective_lr",
    "plot_ema_weights",
    "plot_final_loss_grid",
    "plot_loss_gap",
    "plot_losses",
    "show_trace_2d",
]

TRACE_COLOR = "#ff7f0e"
CONTOUR_COLOR = "#1f77b4"
# matplotlib falls back along this list glyph by glyph: Latin letters, digits, Greek and
# math in DejaVu Sans (its default), Chinese in Noto Sans CJK SC (Debian: fonts-noto-cjk).
FONT_FAMILY = ["DejaVu Sans", "Noto Sans CJK SC"]


def _label(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontfamily=FONT_FAMILY)
    ax.set_ylabel(ylabel, fontfamily=FONT_FAMILY)


def _legend(ax: Axes) -> None:
    ax.legend(prop={"family": FONT_FAMILY})


def _axes(
    ax: Any, where: str, figsize: tuple[float, float] = (4.5, 3.2)
) -> tuple[Figure | SubFigure, Axes]:
    """``ax`` and its figure, or a new figure's only axes when ``ax`` is None."""
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(
                f"{where}: ax must be a matplotlib Axes or None, got {_checks.typed_repr(ax)}"
            )
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, new = plt.subplots(figsize=figsize, layout="constrained")
    return fig, new


def show_trace_2d(
    f: Callable[[NDArray[np.float64], NDArray[np.float64]], ArrayLike],
    trace: Trace2D,
    ax: Axes | None = None,
    *,
    label: str | None = None,
    color: str = TRACE_COLOR,
    xlim: Point = (-5.5, 1.0),
    ylim: Point = (-3.0, 1.0),
    step: float = 0.1,
    levels: int | Sequence[float] | None = None,
) -> Figure | SubFigure:
    """The trajectory (``'-o'``) over contour lines of ``f`` on the chapter's grid.

    ``levels`` goes to ``contour`` (a count or the values); by default matplotlib chooses.
    """
    import numpy as np

    _check_show_trace_2d(f, trace, xlim, ylim, step)
    fig, ax = _axes(ax, "show_trace_2d")
    ax.plot(*zip(*trace.points), "-o", color=color, markersize=4, label=label)
    x1, x2 = np.meshgrid(np.arange(*xlim, step), np.arange(*ylim, step))
    ax.contour(x1, x2, f(x1, x2), levels=levels, colors=CONTOUR_COLOR, linewidths=0.8)
    _label(ax, "$x_1$", "$x_2$")
    if label is not None:
        _legend(ax)
    return fig


def plot_losses(
    result: TrainResult, ax: Axes | None = None, *, label: str | None = None
) -> Figure | SubFigure:
    """Loss against epoch, one point per record."""
    _check_result("plot_losses", result)
    fig, ax = _axes(ax, "plot_losses")
    ax.plot(result.epochs, result.losses, label=label)
    _label(ax, "迭代周期", "损失")
    if label is not None:
        _legend(ax)
    return fig


def plot_loss_gap(
    first: TrainResult, second: TrainResult, ax: Axes | None = None
) -> Figure | SubFigure:
    """The absolute difference of two runs' recorded losses against epoch."""
    _check_result("plot_loss_gap", first)
    _check_result("plot_loss_gap", second)
    if first.epochs != second.epochs:
        raise ValueError(
            "plot_loss_gap: the two results must be recorded at the same epochs, got "
            f"{len(first.epochs)} and {len(second.epochs)} records"
        )
    fig, ax = _axes(ax, "plot_loss_gap")
    gaps = [abs(a - b) for a, b in zip(first.losses, second.losses)]
    ax.plot(first.epochs, gaps, "-o", markersize=3)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0), useMathText=True)
    _label(ax, "迭代周期", "两次记录的损失之差")
    return fig


def _number(value: float) -> str:
    """``= 10`` for a whole number (up to rounding), else ``≈ 3.3``."""
    whole = round(value)
    return f"= {whole}" if abs(value - whole) < 1e-9 else f"≈ {value:.1f}"


def plot_ema_weights(
    gammas: Sequence[float] = (0.95, 0.9, 0.8, 0.7), steps: int = 40, ax: Axes | None = None
) -> Figure | SubFigure:
    """The weight :math:`(1-\\gamma)\\gamma^k` that a moving average gives a k-step-old gradient.

    A dot on each curve marks :math:`k = 1/(1-\\gamma)`, where the weight has fallen to about
    :math:`1/e` of the newest one.
    """
    _check_numbers("plot_ema_weights", "gammas", gammas, low=0.0, high=1.0, high_open=True)
    _checks.check_int("plot_ema_weights", "steps", steps, minimum=1)
    fig, ax = _axes(ax, "plot_ema_weights")
    ks = list(range(steps))
    for gamma in gammas:
        window = 1 / (1 - gamma)
        (line,) = ax.plot(
            ks,
            [(1 - gamma) * gamma**k for k in ks],
            label=f"γ = {gamma:g}, 1/(1−γ) {_number(window)}",
        )
        if window < steps:
            ax.plot(window, (1 - gamma) * gamma**window, "o", color=line.get_color())
    _label(ax, "k（往前数的时间步数）", "权重 (1−γ)γᵏ")
    _legend(ax)
    return fig


def plot_effective_lr(
    series: Mapping[str, Sequence[float]], ax: Axes | None = None, *, ylabel: str = "η / √(s + ε)"
) -> Figure | SubFigure:
    """Curves of a per-step quantity (e.g. the effective learning rate), one per label.

    The y axis is logarithmic, so every value must be positive and finite.
    """
    _check_series(series)
    fig, ax = _axes(ax, "plot_effective_lr", figsize=(4.5, 3.8))
    for label, values in series.items():
        ax.plot(range(1, len(values) + 1), values, label=label)
    _label(ax, "时间步 t", ylabel)
    ax.set_yscale("log")
    # Below the axes, in two columns: inside, four labels would cover the curves.
    ax.legend(
        prop={"family": FONT_FAMILY}, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2
    )
    return fig


def plot_final_loss_grid(
    lrs: Sequence[float],
    gammas: Sequence[float],
    losses: Sequence[Sequence[float]],
    ax: Axes | None = None,
) -> Figure | SubFigure:
    """Heat map of final losses, rows = γ, columns = learning rate, each cell labelled with
    its loss to 4 decimals.

    The labels carry the numbers, so there is no colour bar: its width is left to the cells,
    whose labels would otherwise run into each other on a phone. Colours are on a log scale
    (a diverging corner can be orders of magnitude above the rest). A run that diverged (an
    infinite or NaN loss) is left blank and labelled “发散”.
    """
    import numpy as np
    from matplotlib.colors import LogNorm

    _check_grid(lrs, gammas, losses)
    fig, ax = _axes(ax, "plot_final_loss_grid", figsize=(4.0, 3.2))
    values = np.ma.masked_invalid(np.asarray(losses, dtype=float))
    ax.imshow(values, cmap="viridis_r", norm=LogNorm(), aspect="auto")
    ax.set_xticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas])
    _label(ax, "学习率 η", "γ")
    middle = np.sqrt(values.min() * values.max()) if values.count() else 1.0
    for (i, j), value in np.ndenumerate(values.filled(np.nan)):
        ax.text(
            j,
            i,
            f"{value:.4f}" if np.isfinite(value) else "发散",
            ha="center",
            va="center",
            color="white" if np.isfinite(value) and value > middle else "black",
            fontfamily=FONT_FAMILY,
        )
    return fig


def _check_numbers(
    where: str,
    name: str,
    values: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """A non-empty sequence of finite real numbers in ``[low, high]``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{where}: {name} must be a sequence of numbers, got {_checks.typed_repr(values)}"
        )
    if not values:
        raise ValueError(f"{where}: {name} must not be empty")
    for i, value in enumerate(values):
        _checks.check_real(
            where, f"{name}[{i}]", value, low=low, high=high, low_open=low_open, high_open=high_open
        )


def _check_show_trace_2d(f: Any, trace: Any, xlim: Any, ylim: Any, step: Any) -> None:
    where = "show_trace_2d"
    _checks.check_callable(where, "f", f)
    if not isinstance(trace, Trace2D):
        raise TypeError(f"{where}: trace must be a Trace2D, got {_checks.typed_repr(trace)}")
    if not trace.points:
        raise ValueError(f"{where}: trace has no points")
    _checks.check_real(where, "step", step, low=0.0, low_open=True)
    for name, limits in (("xlim", xlim), ("ylim", ylim)):
        _checks.check_point(where, name, limits)
        if not limits[0] < limits[1]:
            raise ValueError(f"{where}: {name} must be (low, high) with low < high, got {limits!r}")
        if (limits[1] - limits[0]) / step > 10_000:
            raise ValueError(
                f"{where}: {name} / step gives more than 10000 grid points per "
                f"axis, got {name}={limits!r}, step={step!r}"
            )


def _check_result(where: str, result: Any) -> None:
    if not isinstance(result, TrainResult):
        raise TypeError(f"{where}: result must be a TrainResult, got {_checks.typed_repr(result)}")
    if not result.losses or len(result.losses) != len(result.epochs):
        raise ValueError(
            f"{where}: result must have as many losses as epochs (at least one), "
            f"got {len(result.losses)} losses and {len(result.epochs)} epochs"
        )


def _check_series(series: Any) -> None:
    where = "plot_effective_lr"
    if not isinstance(series, Mapping):
        raise TypeError(
            f"{where}: series must be a dict of label -> values, got {_checks.typed_repr(series)}"
        )
    if not series:
        raise ValueError(f"{where}: series must not be empty")
    for label, values in series.items():
        _check_numbers(where, f"series[{label!r}]", values, low=0.0, low_open=True)


def _check_grid(lrs: Any, gammas: Any, losses: Any) -> None:
    where = "plot_final_loss_grid"
    _check_numbers(where, "lrs", lrs, low=0.0)
    _check_numbers(where, "gammas", gammas, low=0.0, high=1.0)
    shape = (len(gammas), len(lrs))
    if (
        not isinstance(losses, Sequence)
        or len(losses) != shape[0]
        or any(not isinstance(row, Sequence) or len(row) != shape[1] for row in losses)
    ):
        raise ValueError(
            f"{where}: losses must be {shape[0]} rows (one per gamma) of "
            f"{shape[1]} values (one per lr)"
        )
    for i, row in enumerate(losses):
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, Real):
                raise TypeError(
                    f"{where}: losses[{i}][{j}] must be a real number, got "
                    f"{_checks.typed_repr(value)}"
                )
            if value <= 0:
                raise ValueError(
                    f"{where}: losses[{i}][{j}] must be > 0 for the log colour "
                    f"scale (or inf/NaN for a diverged run), got {value!r}"
                )
