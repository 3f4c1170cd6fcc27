"""Shared fixtures: the chapter's data, and a book built once per session in a temporary copy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

# Extensions are tested on tiny projects built in this process (``make_app``).
pytest_plugins = ["sphinx.testing.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = shutil.ignore_patterns(
    "_build",
    ".git",
    "__pycache__",
    ".pytest_cache",
    "*.egg-info",
    "artifacts",
    ".venv",
    "node_modules",
)


@pytest.fixture(scope="session", autouse=True)
def kernel_cache(tmp_path_factory):
    """One private fused-kernel cache for the whole session (and the processes it starts):
    no test writes into the user's ~/.cache."""
    path = tmp_path_factory.mktemp("kernel-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RMSPROP_LIB_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def chapter_data():
    from rmsprop_lib import get_data_ch7

    return get_data_ch7()


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


@dataclass
class Build:
    root: Path
    returncode: int
    output: str

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"

    def executed(self) -> int:
        """How many notebooks this build executed (one "Executing notebook" line each)."""
        return self.output.count("Executing notebook")

    def executed_pages(self) -> set[str]:
        """The pages this build executed (book/_ext/page_execution.py names each)."""
        return set(re.findall(r"Executing notebook: (\S+)", self.output))


def copy_project(dest: Path) -> Path:
    """A copy of the project (sources only) in ``dest``; its rmsprop_lib is the one imported."""
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    return dest


def build_book(root: Path) -> Build:
    """Run ``jupyter-book build`` on a project copy, importing the copy's rmsprop_lib."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Build(root, proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Build:
    build = build_book(copy_project(tmp_path_factory.mktemp("book") / "project"))
    assert build.returncode == 0, build.output[-5000:]
    return build


@pytest.fixture(scope="session")
def built_book_elsewhere(tmp_path_factory) -> Build:
    """A second clean build of the same sources, in another directory (another path length)."""
    build = build_book(copy_project(tmp_path_factory.mktemp("elsewhere") / "a" / "second-project"))
    assert build.returncode == 0, build.output[-5000:]
    return build


def c_compiler_name() -> str:
    """The C compiler program the fused kernel would run (``$CC`` parsed as fused.py does)."""
    from rmsprop_lib.fused import FusedUnavailableError, _compiler

    try:
        return _compiler()[0]
    except FusedUnavailableError:
        return ""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.requires_cc``: skip without a C compiler, but fail under ``CI=true``.

    The library treats the compiler as optional (``fused=True`` raises without one), so a
    contributor without one still runs the rest; CI must run everything.
    """
    cc = c_compiler_name()
    if item.get_closest_marker("requires_cc") is None or shutil.which(cc) is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but no C compiler ({cc!r}) was found: install gcc or set CC")
    pytest.skip(f"no C compiler ({cc!r}) found: the fused kernel cannot be built here")
