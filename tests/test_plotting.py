"""The figures, drawn outside a book build (Agg): their data, labels and axes."""

# matplotlib's getters (get_xydata, get_legend, get_offsets, collections) are typed as broad
# unions; these tests read back what the plot functions drew and assert on it.
# mypy: disable-error-code="arg-type, union-attr, attr-defined, index"

import math
from functools import partial

import matplotlib
import numpy as np
import pytest

import rmsprop_lib as rl

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_show_trace_2d_draws_the_trace_over_the_chapters_contours():
    trace = rl.train_2d(partial(rl.rmsprop_2d, eta=0.4, gamma=0.9), steps=20)
    fig = rl.show_trace_2d(rl.f_2d, trace)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    (line,) = ax.get_lines()
    assert (line.get_color(), line.get_marker(), line.get_linestyle()) == ("#ff7f0e", "o", "-")
    assert list(zip(line.get_xdata(), line.get_ydata())) == trace.points
    (contours,) = [c for c in ax.collections]
    # Contour lines of f on the grid x1 in [-5.5, 1.0), x2 in [-3.0, 1.0), step 0.1.
    assert matplotlib.colors.to_hex(contours.get_edgecolor()[0]) == "#1f77b4"
    vertices = np.concatenate([path.vertices for path in contours.get_paths() if len(path)])
    assert vertices[:, 0].min() >= -5.5 and vertices[:, 0].max() <= 0.95 + 1e-9
    assert vertices[:, 1].min() >= -3.0 and vertices[:, 1].max() <= 0.95 + 1e-9
    # The levels cover f's range on that grid: from 0 up to f(-5.5, -3.0) = 21.025.
    assert contours.levels[0] <= 0 and contours.levels[-1] >= 21.025
    assert ax.get_legend() is None


def test_show_trace_2d_draws_into_a_given_axes_with_a_legend():
    fig, (left, right) = plt.subplots(1, 2)
    trace = rl.train_2d(partial(rl.adagrad_2d, eta=0.4), steps=5)
    assert rl.show_trace_2d(rl.f_2d, trace, ax=right, label="AdaGrad") is fig
    assert not left.get_lines() and len(right.get_lines()) == 1
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["AdaGrad"]


def test_plot_losses_draws_loss_against_epoch():
    result = rl.TrainResult(losses=[0.5, 0.3, 0.25], epochs=[0.0, 1.0, 2.0], epoch_times=[0.1])
    ax = rl.plot_losses(result, label="从零实现").axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.0, 1.0, 2.0] and list(line.get_ydata()) == [0.5, 0.3, 0.25]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["从零实现"]


def test_plot_ema_weights_draws_one_geometric_series_per_gamma():
    ax = rl.plot_ema_weights(gammas=(0.9, 0.5), steps=4).axes[0]
    lines = ax.get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[0, 1, 2, 3]] * 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.1, 0.09, 0.081, 0.0729], rtol=1e-12)
    np.testing.assert_allclose(lines[1].get_ydata(), [0.5, 0.25, 0.125, 0.0625], rtol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "γ = 0.90, 1/(1-γ) = 10",
        "γ = 0.50, 1/(1-γ) = 2",
    ]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("t (steps ago)", "weight")


def test_plot_effective_lr_draws_each_series_from_step_one_on_a_log_scale():
    ax = rl.plot_effective_lr({"a": [1.0, 0.5], "b": [0.1, 0.2, 0.4]}).axes[0]
    a, b = ax.get_lines()
    assert list(a.get_xdata()) == [1, 2] and list(a.get_ydata()) == [1.0, 0.5]
    assert list(b.get_xdata()) == [1, 2, 3] and list(b.get_ydata()) == [0.1, 0.2, 0.4]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_plot_final_loss_grid_shows_rows_of_gamma_and_columns_of_lr():
    lrs, gammas = [0.01, 0.1, 1.0], [0.9, 0.99]
    losses = [[0.3, 0.25, 0.4], [0.35, 0.24, math.inf]]
    fig = rl.plot_final_loss_grid(lrs, gammas, losses)
    ax = fig.axes[0]
    (image,) = ax.get_images()
    data = image.get_array()
    assert data.shape == (2, 3)
    assert data.mask.tolist() == [[False] * 3, [False, False, True]]  # the diverged run
    assert data[0].tolist() == [0.3, 0.25, 0.4]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.9", "0.99"]
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((1, 0), "0.25") in texts and ((2, 1), "发散") in texts
    assert fig.axes[1].get_ylabel() == "final loss"  # the colour bar


def test_plotting_functions_return_a_figure_and_change_no_rcparams():
    before = dict(matplotlib.rcParams)
    figures = [
        rl.show_trace_2d(rl.f_2d, rl.train_2d(rl.rmsprop_2d, steps=2)),
        rl.plot_ema_weights(),
        rl.plot_effective_lr({"a": [1.0]}),
        rl.plot_losses(rl.TrainResult([0.5], [0.0], [])),
        rl.plot_final_loss_grid([0.1], [0.9], [[0.3]]),
    ]
    assert all(isinstance(fig, matplotlib.figure.Figure) for fig in figures)
    assert dict(matplotlib.rcParams) == before
