import subprocess
import sys

import rmsprop_lib


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_loads_no_plotting_or_notebook_machinery():
    loaded = _run("import sys, rmsprop_lib; print(sorted(m for m in sys.modules if m.split('.')[0] "
                  "in {'matplotlib', 'IPython', 'myst_nb', 'pandas', 'torchvision'}))")
    assert loaded == "[]"


def test_import_has_no_side_effects_on_rng_or_rcparams():
    out = _run("import torch; torch.manual_seed(0); a = torch.rand(1).item(); "
               "torch.manual_seed(0); import rmsprop_lib; b = torch.rand(1).item(); "
               "import matplotlib; print(a == b, matplotlib.rcParams == matplotlib.rcParamsDefault)")
    assert out == "True True"


def test_public_names_follow_the_chapter():
    chapter = {"f_2d", "rmsprop_2d", "train_2d", "show_trace_2d", "get_data_ch7",
               "init_rmsprop_states", "rmsprop", "linreg", "squared_loss", "train_ch7",
               "train_pytorch_ch7", "RMSprop"}
    assert chapter <= set(rmsprop_lib.__all__)
    assert all(hasattr(rmsprop_lib, name) for name in rmsprop_lib.__all__)


def test_plot_functions_return_figures_with_the_chapter_labels():
    from functools import partial

    import matplotlib

    matplotlib.use("Agg")
    fig = rmsprop_lib.show_trace_2d(rmsprop_lib.f_2d, rmsprop_lib.train_2d(
        partial(rmsprop_lib.rmsprop_2d, eta=0.4, gamma=0.9)))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    line = ax.get_lines()[0]
    assert line.get_color() == "#ff7f0e" and line.get_marker() == "o" and len(line.get_xdata()) == 21
    result = rmsprop_lib.TrainResult(losses=[0.5, 0.3, 0.25], epochs=[0, 1, 2], epoch_times=[0.1, 0.1])
    ax = rmsprop_lib.plot_losses(result).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    assert list(ax.get_lines()[0].get_ydata()) == [0.5, 0.3, 0.25]
