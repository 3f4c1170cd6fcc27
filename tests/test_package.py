import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import rmsprop_lib
from helpers import needs_compiler


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_loads_no_plotting_and_touches_no_rng_or_rcparams():
    out = _run(
        "import sys, torch; torch.manual_seed(0); a = torch.rand(1).item(); "
        "torch.manual_seed(0); import rmsprop_lib; b = torch.rand(1).item(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] "
        "in {'matplotlib', 'IPython', 'myst_nb', 'pandas', 'torchvision'})); "
        "import matplotlib; print(a == b, matplotlib.rcParams == matplotlib.rcParamsDefault)"
    )
    assert out.splitlines() == ["[]", "True True"]


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


# --- installing: the fused kernel is built with the package, and only then ---------------------

ROOT = Path(__file__).resolve().parents[1]
# What pip needs to build the package (a copy: building in place writes build/ and egg-info).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "rmsprop_lib")
# A fused step against torch's, then what was installed: run with no compiler on PATH.
FUSED_STEP = """
import json, torch, rmsprop_lib
from rmsprop_lib import RMSprop, fused
g = torch.Generator().manual_seed(0)
start = [torch.randn(300, 200, generator=g), torch.randn(17, generator=g)]
ours = [p.clone().requires_grad_() for p in start]
theirs = [p.clone().requires_grad_() for p in start]
options = dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)
a, b = RMSprop(ours, fused=True, **options), torch.optim.RMSprop(theirs, **options)
for step in range(3):
    for p, q in zip(ours, theirs):
        p.grad = torch.randn(p.shape, generator=g)
        q.grad = p.grad.clone()
    a.step()
    b.step()
for p, q in zip(ours, theirs):
    torch.testing.assert_close(p, q, rtol=1.3e-6, atol=1e-5)
print(json.dumps({"package": rmsprop_lib.__file__, "openmp": fused.build_info()["openmp"]}))
"""


def _copy_sources(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.so"),
            )
        else:
            shutil.copy(ROOT / name, source / name)
    return source


def _pip(python: Path | str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """pip, offline: the build uses this environment's setuptools (no build isolation)."""
    return subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**_clean_env(), **env},
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CC", "CFLAGS")}


@needs_compiler
def test_an_installed_package_runs_fused_without_a_compiler_and_writes_nothing(tmp_path):
    # A new environment that sees this one's packages (torch, pip, setuptools) behind its own:
    # through a .pth file, since --system-site-packages would reach the base interpreter's
    # packages, not those of the virtual environment the tests may run in.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (own,) = (venv / "lib").glob("python3*/site-packages")
    (own / "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    proc = _pip(python, str(_copy_sources(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (package,) = (venv / "lib").glob("python3*/site-packages/rmsprop_lib")
    assert list(package.glob("_fused_kernel*.so")), sorted(p.name for p in package.iterdir())
    assert not (package / "_fused_kernel.c").exists()
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    run = subprocess.run(
        [str(python), "-c", FUSED_STEP],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        # PATH holds no compiler (nor anything else); HOME is empty.
        env={**_clean_env(), "PATH": str(venv / "bin"), "HOME": str(home)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(result["package"]).parent == package
    assert result["openmp"] is True
    assert list(home.iterdir()) == [] and list(work.iterdir()) == []


def test_an_install_without_a_compiler_succeeds_and_fused_true_says_how_to_get_the_kernel(
    tmp_path,
):
    target = tmp_path / "installed"
    proc = _pip(
        sys.executable,
        "--target",
        str(target),
        str(_copy_sources(tmp_path)),
        CC=str(tmp_path / "no-such-cc"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not list((target / "rmsprop_lib").glob("_fused_kernel*"))
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_KERNEL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**_clean_env(), "PYTHONPATH": str(target)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    message, stepped = run.stdout.strip().splitlines()
    assert message == (
        "fused=True needs the fused RMSprop kernel, which is compiled when rmsprop_lib is "
        "installed, and this installation has none (it was installed without a working C "
        "compiler). Install a C compiler (e.g. gcc) and reinstall: `pip install .`, or "
        "`pip install -e .` in the checkout (or `python setup.py build_ext --inplace`); or "
        "leave fused unset (or fused=False) to run the unfused update"
    )
    # Without fused, the same installation steps, and loads no kernel to do it.
    values, info = json.loads(stepped)
    assert values == pytest.approx([0.9] * 3, rel=1e-6) and info == {}


# fused=True raises the public FusedUnavailableError; then a step of the default path, from
# 1 with gradient 1 (v = 0.01, so the step is 0.01 * 1 / 0.1 = 0.1).
WITHOUT_KERNEL = """
import json, torch
from rmsprop_lib import RMSprop, fused
try:
    RMSprop([torch.zeros(3, requires_grad=True)], fused=True)
except fused.FusedUnavailableError as error:
    print(error)
p = torch.ones(3, requires_grad=True)
p.grad = torch.ones(3)
RMSprop([p]).step()
print(json.dumps([p.tolist(), fused.build_info()]))
"""


# --- the library's insides -------------------------------------------------------------------


def test_no_module_of_the_library_exceeds_500_lines():
    lengths = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "rmsprop_lib").glob("*.py")
    }
    assert {name: n for name, n in lengths.items() if n > 500} == {}


def test_the_hyperparameters_are_one_record_and_the_public_functions_take_exactly_them():
    import dataclasses
    import inspect

    from rmsprop_lib import RMSprop, fused, rmsprop_update
    from rmsprop_lib.functional import Hyperparams

    fields = [field.name for field in dataclasses.fields(Hyperparams)]
    with_tensors = ["params", "grads", "square_avgs", "grad_avgs", "momentum_buffers"]
    assert list(inspect.signature(rmsprop_update).parameters) == [
        *with_tensors,
        *fields,
        "foreach",
        "differentiable",
    ]
    assert list(inspect.signature(fused.fused_update).parameters) == [*with_tensors, *fields]
    options = inspect.signature(RMSprop).parameters
    assert set(fields) <= set(options)  # torch's keywords plus eps_in_sqrt
    hyper = Hyperparams.of_group(RMSprop([torch.zeros(1, requires_grad=True)]).param_groups[0])
    assert hyper == Hyperparams(lr=1e-2, alpha=0.99, eps=1e-8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hyper.lr = 0.1  # type: ignore[misc]
