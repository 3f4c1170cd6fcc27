"""The suite's own setup (conftest.py): a missing system tool skips the tests that need it,
naming the tool, except under ``CI=true``, where it fails them; npm packages come with the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

MARKED = (
    "import pytest\n\n"
    '@pytest.mark.requires("no-such-program-here")\n'
    "def test_needs_a_program():\n"
    "    pass\n\n"
    "def test_needs_node_packages(node_packages):\n"
    "    pass\n"
)


def run_marked_tests(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run two tests needing missing tools under this project's conftest.py, PATH empty."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_marked.py").write_text(MARKED, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rsfE", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**base, "PATH": str(tmp_path / "empty"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_program_skips_the_tests_that_need_it_naming_it(tmp_path):
    proc = run_marked_tests(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 skipped" in proc.stdout
    assert "no-such-program-here was not found" in proc.stdout
    assert "node was not found: install node 20 or later" in proc.stdout


def test_under_ci_a_missing_program_fails_the_tests_that_need_it(tmp_path):
    proc = run_marked_tests(tmp_path, CI="true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 errors" in proc.stdout  # failed in setup, reported as errors
    assert "CI=true but no-such-program-here was not found" in proc.stdout
    assert "CI=true but node was not found" in proc.stdout
