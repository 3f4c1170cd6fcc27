"""The project's hygiene: ruff (lint and format) and mypy are clean, and the pre-commit hooks
run the same checks (the tests' own setup: test_build_setup.py).

The tools are the ones pinned in requirements.lock, run from this environment with the settings
in pyproject.toml; a failure lists the offending files first, then the tool's own output.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# What the checks cover (the same folders as .pre-commit-config.yaml).
PATHS = ["rmsprop_lib", "book/_ext", "benchmarks", "tests", "tools"]
INSTALL_HINT = "pip install -r requirements.lock -e .  (it pins ruff, mypy and the type stubs)"


def run_tool(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` in the project root; fail (never skip) if it is missing."""
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed in this environment: {INSTALL_HINT}")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def report(tool: str, proc: subprocess.CompletedProcess[str], file_pattern: str) -> str:
    """The offending files (found in the output by ``file_pattern``), then the full output."""
    output = proc.stdout + proc.stderr
    files = sorted(set(re.findall(file_pattern, output, flags=re.MULTILINE)))
    listing = "\n".join(f"  {f}" for f in files) or "  (none named; see the output)"
    return f"{tool} failed (exit {proc.returncode}) on {len(files)} file(s):\n{listing}\n\n{output}"


def test_ruff_check_is_clean():
    proc = run_tool("ruff", "check", "--output-format", "concise", "--no-fix", *PATHS)
    assert proc.returncode == 0, report("ruff check", proc, r"^([^\s:]+\.py):\d+:\d+:")


def test_ruff_format_leaves_every_file_as_it_is():
    proc = run_tool("ruff", "format", "--check", *PATHS)
    assert proc.returncode == 0, report(
        "ruff format --check (fix with: ruff format)", proc, r"-->\s+([^\s:]+\.py):\d+:\d+"
    )


# A first run, without mypy's cache in _build, type-checks torch too: about 17 s of CPU.
@pytest.mark.long
def test_mypy_is_clean():
    # The files and settings come from [tool.mypy] in pyproject.toml.
    proc = run_tool("mypy")
    assert proc.returncode == 0, report("mypy", proc, r"^([^\s:]+\.py):\d+: error:")


def test_lint_report_names_the_offending_files():
    output = "tests/a.py:1:1: F401 x\ntests/a.py:2:1: E501 y\nb/c.py:3:4: W291\n"
    proc = subprocess.CompletedProcess(["ruff"], 1, stdout=output, stderr="")
    message = report("ruff check", proc, r"^([^\s:]+\.py):\d+:\d+:")
    assert message.startswith("ruff check failed (exit 1) on 2 file(s):\n  b/c.py\n  tests/a.py\n")


def test_pre_commit_hooks_are_local_and_run_tools_of_this_environment(tmp_path):
    """Offline-friendly hooks: no hook repository to fetch, every command installed here."""
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    bindir = Path(sys.executable).parent
    for hook in hooks.values():
        assert hook["language"] == "system", hook["id"]
        command = hook["entry"].split()[0]
        assert shutil.which(command, path=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"), (
            f"hook {hook['id']!r} runs {command!r}, which is not installed: {INSTALL_HINT}"
        )
    assert {"ruff-check", "ruff-format", "mypy"} <= hooks.keys()
    for hook_id in ("ruff-check", "ruff-format"):
        covered = re.compile(hooks[hook_id]["files"])
        assert all(covered.match(f"{path}/module.py") for path in PATHS), hook_id
    # pre-commit keeps a store in ~/.cache/pre-commit unless told otherwise.
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit"))
    proc = run_tool("pre_commit", "validate-config", ".pre-commit-config.yaml", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
