"""Shared fixtures: the chapter's data, and a book built once per session in a temporary copy."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

# Extensions are tested on tiny projects built in this process (``make_app``); this file
# itself on small test files run in this process (``pytester``, test_build_setup.py).
pytest_plugins = ["sphinx.testing.fixtures", "pytester"]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark scripts' modules, by name
from book_build import IGNORE as COPY_IGNORE  # noqa: E402  (what a copy leaves out)


@pytest.fixture(scope="session")
def chapter_data():
    from rmsprop_lib import get_data_ch7

    return get_data_ch7()


@pytest.fixture
def generator():
    import torch  # here, not at the top: pytest-xdist's controller loads this file too

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


def build_book(root: Path, **environ: str) -> Build:
    """Run ``jupyter-book build`` on a project copy, importing the copy's rmsprop_lib
    (``environ``: more environment variables, e.g. ``RMSPROP_BOOK_PDF="off"``)."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1", **environ)
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


def load_extension():
    """book/_ext/page_execution.py, imported as Sphinx imports it (its folder on sys.path)."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import page_execution
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    return page_execution


def shared_directory(tmp_path_factory) -> Path:
    """A directory of this test run shared by its pytest-xdist workers (each worker has its
    own base temporary directory inside it); without workers, the base directory itself."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Build:
    """The book, built once per test run: the first worker to need it builds it while any
    other waits (a file lock), then every worker reads the same site."""
    shared = shared_directory(tmp_path_factory)
    record = shared / "built_book.json"
    with FileLock(shared / "built_book.lock"):
        if record.is_file():
            saved = json.loads(record.read_text(encoding="utf-8"))
            build = Build(Path(saved["root"]), saved["returncode"], saved["output"])
        else:
            build = build_book(copy_project(shared / "book" / "project"))
            saved = {
                "root": str(build.root),
                "returncode": build.returncode,
                "output": build.output,
            }
            record.write_text(json.dumps(saved), encoding="utf-8")
    assert build.returncode == 0, build.output[-5000:]
    return build


def c_compiler_name() -> str:
    """The C compiler program that builds the fused kernel at install time (``$CC``, else
    Python's configured compiler, as setuptools chooses it)."""
    argv = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    return argv[0] if argv else ""


# --- system tools: skipped without them, except under CI=true ------------------------------

INSTALL = {
    "node": "node 20 or later (Debian: apt-get install nodejs npm)",
    "npm": "npm (Debian: apt-get install npm)",
    "chromium": "Chromium (Debian: apt-get install chromium)",
}


def missing_tool(message: str, ci_message: str | None = None) -> None:
    """Skip the test for a missing system tool, or fail it under ``CI=true``.

    A contributor without the tool still runs the rest of the suite; CI must run everything.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(ci_message or f"CI=true but {message}")
    pytest.skip(message)


def require_program(program: str) -> str:
    """The path of ``program`` on PATH; skips (fails under CI) naming it when missing."""
    path = shutil.which(program)
    if path is None:
        missing_tool(f"{program} was not found: install {INSTALL.get(program, program)}")
    assert path is not None
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires(program, ...): needs these programs on PATH; skipped without them, "
        "except under CI=true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the scenarios (and the long tests) first, then the other slow tests, and the
    tests reading the session's book last.

    pytest-xdist's ``worksteal`` gives each worker a part of this list, in order, and lets an
    idle worker take tests from a busy one, but not the test a worker is running: the
    longest tests start at once, so that each worker's part ends with quick tests an idle
    worker can take, and no worker waits for the session's book (``built_book``, built by
    the first scenario that compares with it) while it has other tests to run.
    """

    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("scenario") or item.get_closest_marker("long"):
            return 0
        if "built_book" in getattr(item, "fixturenames", ()):
            return 3
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=order)  # stable: within each group, the order of the files


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.requires_cc`` (a C compiler) and ``@pytest.mark.requires("node")``: skip
    without the tool, but fail under ``CI=true``."""
    for marker in item.iter_markers("requires"):
        for program in marker.args:
            require_program(program)
    if item.get_closest_marker("requires_cc") is None:
        return
    cc = c_compiler_name()
    if shutil.which(cc) is None:
        missing_tool(
            f"no C compiler ({cc!r}) found: the fused kernel cannot be built here",
            f"CI=true but no C compiler ({cc!r}) was found: install gcc or set CC",
        )


NODE_DIR = ROOT / "tests" / "node"


@pytest.fixture(scope="session")
def node_packages(tmp_path_factory) -> Path:
    """tests/node's npm packages (the workflow linter), installed by the test run itself:
    ``npm ci`` runs when they are missing or older than ``package-lock.json``."""
    node = require_program("node")
    major = subprocess.run(
        [node, "-p", "process.versions.node.split('.')[0]"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if int(major) < 20:
        missing_tool(f"node {major} is too old: the workflow linter needs {INSTALL['node']}")
    npm = require_program("npm")
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    with FileLock(shared_directory(tmp_path_factory) / "node_packages.lock"):
        if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
            proc = subprocess.run(
                [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert proc.returncode == 0, (
                f"npm ci --prefix tests/node failed:\n{proc.stdout}{proc.stderr}"
            )
    return NODE_DIR / "node_modules"
