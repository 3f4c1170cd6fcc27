"""The suite's own setup (conftest.py): a missing system tool skips the tests that need it,
naming the tool, except under ``CI=true``, where it fails them; npm packages come with the run;
the slow tests are handed out first.

Each case runs a small test file under a copy of conftest.py with pytest's ``pytester``, in
this process (``--import-mode=importlib`` keeps the copy apart from the suite's conftest).
"""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT

MARKED = (
    "import pytest\n\n"
    '@pytest.mark.requires("no-such-program-here")\n'
    "def test_needs_a_program():\n"
    "    pass\n\n"
    "def test_needs_node_packages(node_packages):\n"
    "    pass\n"
)
NEEDS_CC = "import pytest\n\n@pytest.mark.requires_cc\ndef test_needs_cc():\n    pass\n"


def run(pytester: pytest.Pytester, monkeypatch, tests: str, *args: str, **env: str):
    """Run ``tests`` under this project's conftest.py with the pytest arguments ``args`` and
    the environment ``env`` (and neither CI, CC nor PYTEST_ADDOPTS unless given)."""
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nmarkers =\n    requires_cc: C compiler\n")
    pytester.makepyfile(test_marked=tests)
    for name in ("CI", "CC", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return pytester.runpytest_inprocess(
        "-rsfE", "-p", "no:cacheprovider", "--import-mode=importlib", *args
    )


def run_without_tools(pytester: pytest.Pytester, monkeypatch, **env: str):
    """The tests that need a program, node's packages and a C compiler, where none is found."""
    tests = MARKED + NEEDS_CC.removeprefix("import pytest\n")
    empty = str(pytester.path / "empty")
    return run(pytester, monkeypatch, tests, PATH=empty, CC="/nonexistent/cc", **env)


def test_a_missing_tool_skips_the_tests_that_need_it_naming_it(pytester, monkeypatch):
    result = run_without_tools(pytester, monkeypatch)
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(
        [
            "*no-such-program-here was not found*",
            "*node was not found: install node 20 or later*",
            "*no C compiler ('/nonexistent/cc') found*",
        ],
        consecutive=False,
    )


def test_under_ci_a_missing_tool_fails_the_tests_that_need_it(pytester, monkeypatch):
    result = run_without_tools(pytester, monkeypatch, CI="true")
    result.assert_outcomes(errors=3)  # failed in setup, reported as errors
    assert "CI=true but no-such-program-here was not found" in result.stdout.str()
    assert "CI=true but node was not found" in result.stdout.str()
    assert "CI=true but no C compiler ('/nonexistent/cc') was found" in result.stdout.str()


def test_requires_cc_runs_the_test_where_a_compiler_is_found(pytester, monkeypatch):
    # Any executable stands in for the compiler: the marker only looks it up.
    result = run(pytester, monkeypatch, NEEDS_CC, CC=sys.executable)
    result.assert_outcomes(passed=1)


ORDERED = (
    "import pytest\n\n"
    "def test_quick():\n    pass\n\n"
    "def test_reads_the_book(built_book):\n    pass\n\n"
    "@pytest.mark.slow\ndef test_slow():\n    pass\n\n"
    "@pytest.mark.scenario\ndef test_scenario(built_book):\n    pass\n\n"
    "def test_quick_again():\n    pass\n\n"
    "@pytest.mark.long\ndef test_long():\n    pass\n"
)


def test_the_scenarios_run_first_then_the_slow_tests_and_the_books_readers_last(
    pytester, monkeypatch
):
    # pytest-xdist hands each worker its part of this order (conftest.py says why).
    result = run(pytester, monkeypatch, ORDERED, "--collect-only", "-q")
    assert [line.split("::")[-1] for line in result.stdout.lines if "::" in line] == [
        "test_scenario",
        "test_long",
        "test_slow",
        "test_quick",
        "test_quick_again",
        "test_reads_the_book",
    ]
