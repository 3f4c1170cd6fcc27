"""The figures, drawn outside a book build (Agg): their data, labels and axes."""

# matplotlib's getters (get_xydata, get_legend, get_offsets, collections) are typed as broad
# unions; these tests read back what the plot functions drew and assert on it.
# mypy: disable-error-code="arg-type, union-attr, attr-defined, index"

import itertools
import math
import re
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
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$", "$x_2$")
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
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("迭代周期", "损失")
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.0, 1.0, 2.0] and list(line.get_ydata()) == [0.5, 0.3, 0.25]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["从零实现"]


def test_plot_ema_weights_draws_one_geometric_series_per_gamma_and_marks_its_window():
    ax = rl.plot_ema_weights(gammas=(0.9, 0.7), steps=12).axes[0]
    curve_09, dot_09, curve_07, dot_07 = ax.get_lines()
    assert list(curve_09.get_xdata()) == list(range(12))
    np.testing.assert_allclose(curve_09.get_ydata()[:4], [0.1, 0.09, 0.081, 0.0729], rtol=1e-12)
    np.testing.assert_allclose(curve_07.get_ydata()[:3], [0.3, 0.21, 0.147], rtol=1e-12)
    # The dot sits at k = 1/(1-γ), where the weight (1-γ)γ^k is about 1/e of the first.
    assert dot_09.get_xdata()[0] == pytest.approx(10)
    assert dot_09.get_ydata()[0] == pytest.approx(0.1 * 0.9**10)
    assert dot_07.get_xdata()[0] == pytest.approx(1 / 0.3)
    assert float(np.asarray(dot_07.get_ydata())[0]) / 0.3 == pytest.approx(math.exp(-1), abs=0.07)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "γ = 0.9, 1/(1−γ) = 10",
        "γ = 0.7, 1/(1−γ) ≈ 3.3",
    ]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (
        "k（往前数的时间步数）",
        "权重 (1−γ)γᵏ",
    )


def test_plot_ema_weights_leaves_out_a_dot_beyond_the_drawn_steps():
    ax = rl.plot_ema_weights(gammas=(0.99,), steps=40).axes[0]
    assert len(ax.get_lines()) == 1  # 1/(1-0.99) = 100 lies beyond k = 39


def test_plot_effective_lr_draws_each_series_from_step_one_on_a_log_scale():
    ax = rl.plot_effective_lr({"a": [1.0, 0.5], "b": [0.1, 0.2, 0.4]}).axes[0]
    a, b = ax.get_lines()
    assert list(a.get_xdata()) == [1, 2] and list(a.get_ydata()) == [1.0, 0.5]
    assert list(b.get_xdata()) == [1, 2, 3] and list(b.get_ydata()) == [0.1, 0.2, 0.4]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "时间步 t"
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
    assert ((1, 0), "0.2500") in texts and ((2, 1), "发散") in texts
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("学习率 η", "γ")
    assert len(fig.axes) == 1  # the labels carry the numbers: no colour bar


def test_the_grids_values_do_not_run_into_each_other_on_the_chapters_grid():
    # The chapter's grid: 5 learning rates by 4 values of γ, each cell labelled to 4 decimals.
    lrs, gammas = [0.001, 0.003, 0.01, 0.03, 0.1], [0.5, 0.9, 0.99, 0.999]
    fig = rl.plot_final_loss_grid(lrs, gammas, [[0.3434] * 5] * 4)
    fig.set_dpi(72)  # as the notebook's inline backend draws it
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    rows: dict[float, list] = {}
    for t in ax.texts:
        column, row = t.get_position()
        rows.setdefault(row, []).append((column, t.get_window_extent(renderer)))
    assert sorted(len(labels) for labels in rows.values()) == [5] * 4
    cell = ax.get_window_extent(renderer).width / len(lrs)
    for row, labels in rows.items():
        boxes = [box for _, box in sorted(labels, key=lambda label: label[0])]
        assert all(box.width < cell for box in boxes), row  # each inside its own cell
        gaps = [right.x0 - left.x1 for left, right in itertools.pairwise(boxes)]
        # A clear gap between neighbours: at least a quarter of a label. (The published SVG
        # sets the digits wider than Agg measures them here: with a colour bar beside the
        # cells the book's labels touched, where Agg measured a gap of a fifth of a label.)
        assert min(gaps) >= boxes[0].width / 4, (row, gaps, boxes[0].width)


def test_plotting_functions_return_a_figure_and_change_no_rcparams():
    before = dict(matplotlib.rcParams)
    figures = [
        rl.show_trace_2d(rl.f_2d, rl.train_2d(rl.rmsprop_2d, steps=2)),
        rl.plot_ema_weights(),
        rl.plot_effective_lr({"a": [1.0]}),
        rl.plot_losses(rl.TrainResult([0.5], [0.0], [])),
        rl.plot_loss_gap(rl.TrainResult([0.5], [0.0], []), rl.TrainResult([0.4], [0.0], [])),
        rl.plot_final_loss_grid([0.1], [0.9], [[0.3]]),
    ]
    assert all(isinstance(fig, matplotlib.figure.Figure) for fig in figures)
    assert dict(matplotlib.rcParams) == before


def test_plot_loss_gap_draws_the_absolute_difference_by_epoch():
    first = rl.TrainResult(losses=[0.5, 0.3, 0.25], epochs=[0.0, 1.0, 2.0], epoch_times=[0.1])
    second = rl.TrainResult(losses=[0.5, 0.3000002, 0.2499999], epochs=[0.0, 1.0, 2.0])
    ax = rl.plot_loss_gap(first, second).axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(line.get_ydata(), [0.0, 2e-7, 1e-7], rtol=1e-6, atol=1e-15)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("迭代周期", "两次记录的损失之差")


def test_plot_loss_gap_rejects_runs_recorded_at_different_epochs():
    first = rl.TrainResult(losses=[0.5, 0.3], epochs=[0.0, 1.0])
    second = rl.TrainResult(losses=[0.5, 0.3, 0.2], epochs=[0.0, 0.5, 1.0])
    with pytest.raises(
        ValueError,
        match=r"^plot_loss_gap: the two results must be recorded at the same epochs, "
        r"got 2 and 3 records$",
    ):
        rl.plot_loss_gap(first, second)


def _figures():
    return [
        rl.show_trace_2d(rl.f_2d, rl.train_2d(rl.rmsprop_2d, steps=2), label="轨迹"),
        rl.plot_ema_weights(),
        rl.plot_effective_lr({"一": [1.0]}),
        rl.plot_losses(rl.TrainResult([0.5], [0.0], []), label="从零实现"),
        rl.plot_loss_gap(rl.TrainResult([0.5], [0.0], []), rl.TrainResult([0.4], [0.0], [])),
        rl.plot_final_loss_grid([0.1, 0.2], [0.9], [[0.3, math.inf]]),
    ]


def test_every_chinese_figure_text_is_drawn_in_a_font_with_chinese_glyphs():
    # A Chinese word in a font without its glyphs renders as boxes (and fails the book build).
    chinese = 0
    for fig in _figures():
        for text in fig.findobj(matplotlib.text.Text):
            if re.search(r"[\u4e00-\u9fff]", text.get_text()):
                chinese += 1
                assert "Noto Sans CJK SC" in text.get_fontfamily(), text.get_text()
    assert chinese >= 10


def test_default_figure_text_is_legible_on_a_phone():
    # A phone shows a figure about 350 px wide: s pt in a W-inch figure is s·350/(72·W) px.
    for fig in _figures():
        fig.canvas.draw()
        width = fig.get_figwidth()
        for text in fig.findobj(matplotlib.text.Text):
            if text.get_text() and text.get_visible():
                assert text.get_fontsize() * 350 / (72 * width) >= 9, (text.get_text(), width)


def test_every_figure_renders_to_svg_with_every_glyph_found(caplog):
    # A missing glyph is logged by matplotlib (on stderr, i.e. an error, in the book build).
    import io

    with caplog.at_level("WARNING"):
        for fig in _figures():
            fig.savefig(io.BytesIO(), format="svg")
    assert [r.getMessage() for r in caplog.records] == []
