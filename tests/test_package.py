import subprocess
import sys

import rmsprop_lib


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_loads_no_plotting_or_notebook_machinery():
    loaded = _run(
        "import sys, rmsprop_lib; print(sorted(m for m in sys.modules if m.split('.')[0] "
        "in {'matplotlib', 'IPython', 'myst_nb', 'pandas', 'torchvision'}))"
    )
    assert loaded == "[]"


def test_import_has_no_side_effects_on_rng_or_rcparams():
    out = _run(
        "import torch; torch.manual_seed(0); a = torch.rand(1).item(); "
        "torch.manual_seed(0); import rmsprop_lib; b = torch.rand(1).item(); "
        "import matplotlib; print(a == b, matplotlib.rcParams == matplotlib.rcParamsDefault)"
    )
    assert out == "True True"


def test_public_names_follow_the_chapter():
    chapter = {
        "f_2d",
        "rmsprop_2d",
        "train_2d",
        "show_trace_2d",
        "get_data_ch7",
        "init_rmsprop_states",
        "rmsprop",
        "linreg",
        "squared_loss",
        "train_ch7",
        "train_pytorch_ch7",
        "RMSprop",
    }
    assert chapter <= set(rmsprop_lib.__all__)
    assert all(hasattr(rmsprop_lib, name) for name in rmsprop_lib.__all__)


def test_each_module_has_one_job():
    # Formatting apart from computation; the chapter's update apart from the training loop.
    from rmsprop_lib import reporting, scratch, trace2d, training

    assert set(reporting.__all__) >= {"format_trace", "format_result"}
    assert set(scratch.__all__) == {"init_rmsprop_states", "rmsprop"}
    assert not {"format_trace", "format_result"} & (set(trace2d.__all__) | set(training.__all__))
    assert "rmsprop" not in training.__all__
    assert rmsprop_lib.rmsprop is scratch.rmsprop
