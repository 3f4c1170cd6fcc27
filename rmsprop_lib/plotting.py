"""Figures for the chapter. Each function takes data, draws it, and returns the figure.

matplotlib is imported inside the functions, so ``import rmsprop_lib`` stays light.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from .trace2d import Trace2D
from .training import TrainResult

__all__ = ["show_trace_2d", "plot_losses", "plot_ema_weights", "plot_effective_lr",
           "plot_final_loss_grid"]

TRACE_COLOR = "#ff7f0e"
CONTOUR_COLOR = "#1f77b4"


def _axes(ax, figsize=(4.5, 3.2)):
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def show_trace_2d(f: Callable, trace: Trace2D, ax=None, *, label: str | None = None,
                  color: str = TRACE_COLOR,
                  xlim=(-5.5, 1.0), ylim=(-3.0, 1.0), step: float = 0.1):
    """The trajectory (``'-o'``) over contour lines of ``f`` on the chapter's grid."""
    import numpy as np

    fig, ax = _axes(ax)
    ax.plot(*zip(*trace.points), "-o", color=color, markersize=4, label=label)
    x1, x2 = np.meshgrid(np.arange(*xlim, step), np.arange(*ylim, step))
    ax.contour(x1, x2, f(x1, x2), colors=CONTOUR_COLOR, linewidths=0.8)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if label is not None:
        ax.legend()
    return fig


def plot_losses(result: TrainResult, ax=None, *, label: str | None = None):
    """Loss against epoch, one point per record."""
    fig, ax = _axes(ax)
    ax.plot(result.epochs, result.losses, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if label is not None:
        ax.legend()
    return fig


def plot_ema_weights(gammas: Sequence[float] = (0.95, 0.9, 0.8, 0.7), steps: int = 40,
                     ax=None):
    """The weight :math:`(1-\\gamma)\\gamma^t` a moving average gives the gradient from t steps ago."""
    fig, ax = _axes(ax)
    t = list(range(steps))
    for gamma in gammas:
        ax.plot(t, [(1 - gamma) * gamma**k for k in t],
                label=f"γ = {gamma:.2f}, 1/(1-γ) = {1 / (1 - gamma):.0f}")
    ax.set_xlabel("t (steps ago)")
    ax.set_ylabel("weight")
    ax.legend()
    return fig


def plot_effective_lr(series: Mapping[str, Sequence[float]], ax=None, *, ylabel="η / √(s + ε)"):
    """Curves of a per-step quantity (e.g. the effective learning rate), one per label."""
    fig, ax = _axes(ax)
    for label, values in series.items():
        ax.plot(range(1, len(values) + 1), values, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    ax.legend()
    return fig


def plot_final_loss_grid(lrs: Sequence[float], gammas: Sequence[float],
                         losses: Sequence[Sequence[float]], ax=None):
    """Heat map of final losses, rows = γ, columns = learning rate, each cell annotated."""
    import numpy as np
    from matplotlib.colors import LogNorm

    fig, ax = _axes(ax, figsize=(5, 3.4))
    values = np.asarray(losses, dtype=float)
    image = ax.imshow(values, cmap="viridis_r", norm=LogNorm(), aspect="auto")
    ax.set_xticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas])
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("γ")
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.3g}", ha="center", va="center",
                color="white" if value > np.sqrt(values.min() * values.max()) else "black",
                fontsize=8)
    fig.colorbar(image, ax=ax, label="final loss")
    return fig
