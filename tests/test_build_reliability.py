"""What a build publishes: nothing of a failed build, no path of the machine, the same bytes twice."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, build_book, copy_project
from helpers import comparable_site, differing_files

pytestmark = pytest.mark.book

# The only wall-clock figures the pages print ("loss: 0.243..., 0.012345 sec per epoch").
TIMING = re.compile(rb"\d+\.\d+(?= sec per epoch)")
MATHJAX = "_static/mathjax/"  # vendored MathJax 3, not ours to scan


def site_files(html: Path) -> dict[str, bytes]:
    return {
        p.relative_to(html).as_posix(): p.read_bytes()
        for p in sorted(html.rglob("*"))
        if p.is_file()
    }


def machine_paths(build) -> list[str]:
    home = os.path.expanduser("~")
    paths = {
        str(build.root),
        str(build.root.resolve()),
        home,
        sys.prefix,
        sys.base_prefix,
        tempfile.gettempdir(),
        "/tmp",
        "/root",
        "/home",
    }
    return sorted(p for p in paths if p not in ("", "/"))


def test_the_site_names_no_path_of_the_building_machine(built_book):
    needles = [p.encode() for p in machine_paths(built_book)]
    found = []
    for name, data in site_files(built_book.html).items():
        if name.startswith(MATHJAX):
            continue
        found += [(name, needle.decode()) for needle in needles if needle in data]
    assert found == []


def test_committed_results_files_name_no_path_of_a_machine():
    needles = ("/tmp", "/root", "/home", "/Users/", ":\\", os.path.expanduser("~"), sys.prefix)
    for path in sorted((ROOT / "benchmarks" / "results").glob("*")):
        text = path.read_text(encoding="utf-8")
        assert [n for n in needles if n in text] == [], path.name


def test_two_clean_builds_publish_the_same_bytes(built_book, built_book_elsewhere):
    # Only the printed seconds per epoch may differ (inside the zip and the PDF too).
    first = comparable_site(built_book.html)
    second = comparable_site(built_book_elsewhere.html)
    assert differing_files(first, second) == []


def test_timings_are_not_search_terms(built_book):
    text = (built_book.html / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(text[text.index("(") + 1 : text.rindex(")")])["terms"]
    seconds = re.findall(
        r"(\d+\.\d+) sec per epoch",
        (built_book.html / "book" / "rmsprop.html").read_text(encoding="utf-8"),
    )
    assert len(seconds) == 2
    for value in seconds:
        assert {value, *value.split(".")} & set(terms) == set(), value
    assert "学习率" in terms and "epoch" in terms  # the page's words are indexed


def test_figures_carry_no_build_date(built_book):
    svgs = sorted((built_book.html / "_images").glob("*.svg"))
    assert svgs
    for svg in svgs:
        dates = re.findall(rb"<dc:date>([^<]*)</dc:date>", svg.read_bytes())
        assert dates in ([], [b"1970-01-01T00:00:00+00:00"]), (svg.name, dates)


def break_pages(root: Path) -> None:
    """A cell that raises in the appendix, and a kernel that dies in the chapter."""
    for page, cell in [("performance", "1 / 0"), ("rmsprop", "import os\nos._exit(1)")]:
        path = root / "book" / f"{page}.md"
        text = path.read_text(encoding="utf-8")
        first = text.index("```{code-cell} ipython3\n")
        path.write_text(
            f"{text[:first]}```{{code-cell}} ipython3\n{cell}\n```\n\n{text[first:]}",
            encoding="utf-8",
        )


def test_a_failed_build_names_each_page_and_leaves_nothing_behind(tmp_path):
    root = copy_project(tmp_path / "project")
    originals = {p: p.read_bytes() for p in (root / "book").glob("*.md")}
    break_pages(root)

    failed = build_book(root)
    assert failed.returncode != 0
    assert re.search(
        r"book/performance\.md: WARNING: Executing notebook failed: CellExecutionError",
        failed.output,
    ), failed.output[-4000:]
    assert "ZeroDivisionError" in failed.output
    assert re.search(
        r"book/rmsprop\.md: WARNING: Executing notebook failed: DeadKernelError", failed.output
    ), failed.output[-4000:]
    assert "build finished with problems" in failed.output
    html = root / "_build" / "html"
    for page, error in (("performance", "ZeroDivisionError"), ("rmsprop", "DeadKernelError")):
        assert not (html / "book" / f"{page}.html").exists()
        assert not (html / "_sources" / "book" / f"{page}.ipynb").exists()
        assert error in (html / "reports" / "book" / f"{page}.err.log").read_text(encoding="utf-8")
    assert (html / "book" / "index.html").is_file()  # the pages that did not fail are there

    # A failed execution is not remembered as good: the next build fails the same way.
    again = build_book(root)
    assert again.returncode != 0
    assert again.executed_pages() == {"book/performance", "book/rmsprop"}
    assert "ZeroDivisionError" in again.output and "DeadKernelError" in again.output

    for path, content in originals.items():
        path.write_bytes(content)
    fixed = build_book(root)
    assert fixed.returncode == 0, fixed.output[-4000:]
    assert not (html / "reports").exists() or not any((html / "reports").rglob("*.*"))
    for name, data in site_files(html).items():
        if not name.startswith(MATHJAX):
            for trace in (b"ZeroDivisionError", b"os._exit", b"Traceback", b"DeadKernelError"):
                assert trace not in data, (name, trace)
    assert (html / "book" / "rmsprop.html").is_file() and (
        html / "book" / "performance.html"
    ).is_file()


def test_the_execution_timeout_is_set_for_what_the_pages_need():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    found = re.search(r"^  timeout: (\d+)", config, re.MULTILINE)
    assert found is not None, "_config.yml sets no execution timeout"
    timeout = int(found.group(1))
    assert 10 <= timeout <= 120
    assert "timeout" in (ROOT / "README.md").read_text(encoding="utf-8")
