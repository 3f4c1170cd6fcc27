"""The book's one incremental-edit scenario: execution follows the code, not the prose.

One copy of the project, in another directory than the session's build, is built cold (it
must publish the session build's bytes: reproducible across directories) and then edited step
by step; each rebuild must execute exactly the pages whose code, library, data, results files
or lock changed, and publish what their current code produces. At the end every edit is
undone, and the site must be what a clean build of the same sources publishes.

page_execution.py's rules are also tested on a tiny book (test_build_execution_tiny.py),
which also shows that a data file inside the library counts as the library.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import build_book, copy_project
from helpers import as_published_cleanly, comparable_site, differing_files

pytestmark = pytest.mark.book

IMPORTS_LIB = re.compile(r"^\s*(?:import|from)\s+rmsprop_lib\b", re.MULTILINE)


# The only wall-clock figures a page prints.
def pages_with_code(root: Path) -> dict[str, str]:
    """docname -> the code of its code cells, read from the sources by the test itself."""
    pages = {}
    for path in sorted((root / "book").glob("*.md")):
        cells = re.findall(
            r"^```\{code-cell\}[^\n]*\n(.*?)^```",
            path.read_text(encoding="utf-8"),
            re.MULTILINE | re.DOTALL,
        )
        if cells:
            pages[f"book/{path.stem}"] = "\n".join(cells)
    return pages


def text(build, name):
    html = (build.html / f"{name}.html").read_text(encoding="utf-8")
    main = BeautifulSoup(html, "html.parser").select_one("main")
    assert main is not None, f"no <main> in {name}.html"
    return main.get_text()


def outputs(build, name):
    soup = BeautifulSoup((build.html / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    return [o.get_text().strip() for o in soup.select("div.cell_output pre")]


def edit(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, (path, old)
    path.write_text(source.replace(old, new), encoding="utf-8")


# The rebuilds between the first and the last print no PDF edition: Chromium printing the
# book again after each edit would cost more than the rebuild; the PDF is tested elsewhere.
NO_PDF = {"RMSPROP_BOOK_PDF": "off"}


def assert_ok(build, executed: set[str]):
    assert build.returncode == 0, build.output[-4000:]
    assert build.executed_pages() == executed, build.output[-4000:]
    assert build.executed() == len(executed)


def test_each_edit_executes_exactly_the_pages_it_affects(tmp_path, built_book):
    # Another directory, with another path length, than the session's build.
    root = copy_project(tmp_path / "a" / "second-project")
    code = pages_with_code(root)
    executing = set(code)
    importing = {page for page, source in code.items() if IMPORTS_LIB.search(source)}
    renders = {page for page, source in code.items() if "benchmarks/results/" in source}
    assert {"book/rmsprop", "book/performance"} <= executing
    assert "book/rmsprop" in importing and "book/performance" in renders
    originals = {
        p: p.read_bytes()
        for p in [
            root / "book" / "rmsprop.md",
            root / "book" / "performance.md",
            root / "rmsprop_lib" / "reporting.py",
            root / "benchmarks" / "results" / "optimizer_step.json",
            root / "requirements.lock",
        ]
    }

    cold = build_book(root)  # with the PDF edition, as the session's build
    assert_ok(cold, executing)
    # Two clean builds, in two directories, publish the same bytes: only the printed seconds
    # per epoch may differ (inside the zip and the PDF too).
    assert differing_files(comparable_site(cold.html), comparable_site(built_book.html)) == []

    assert_ok(build_book(root), set())

    # Prose only: the page is read again, its stored outputs are reused.
    chapter = root / "book" / "rmsprop.md"
    edit(chapter, "本节先给出算法", "本节首先给出算法")
    prose = build_book(root, **NO_PDF)
    assert_ok(prose, set())
    assert "本节首先给出算法" in text(prose, "book/rmsprop")
    assert "epoch 20, x1 -0.010599, x2 0.000000" in outputs(prose, "book/rmsprop")

    # A figure caption lives in the cell's metadata, but is not code.
    found = re.search(r"caption: (指数加权移动平均给[^\n]*)", chapter.read_text(encoding="utf-8"))
    assert found is not None, "the chapter's EMA figure caption moved"
    caption = found.group(1)
    edit(chapter, caption, "新的图注：" + caption)
    captioned = build_book(root, **NO_PDF)
    assert_ok(captioned, set())
    assert "新的图注：指数加权移动平均给" in text(captioned, "book/rmsprop")

    # A code cell: that page only, and its new output is published.
    appendix = root / "book" / "performance.md"
    first_cell = re.search(r"```\{code-cell\} ipython3\n", appendix.read_text(encoding="utf-8"))
    assert first_cell is not None, "performance.md has no code cell"
    source = appendix.read_text(encoding="utf-8")
    appendix.write_text(
        source[: first_cell.end()] + 'print("一个新的输出")\n' + source[first_cell.end() :],
        encoding="utf-8",
    )
    recoded = build_book(root, **NO_PDF)
    assert_ok(recoded, {"book/performance"})
    assert any(o.startswith("一个新的输出\n") for o in outputs(recoded, "book/performance"))

    # A module of the library: every page importing it.
    edit(root / "rmsprop_lib" / "reporting.py", 'f"epoch {', 'f"step {')
    library = build_book(root, **NO_PDF)
    assert_ok(library, importing)
    assert "step 20, x1 -0.010599, x2 0.000000" in outputs(library, "book/rmsprop")

    # A results file: the pages whose code reads the results files.
    results = root / "benchmarks" / "results" / "optimizer_step.json"
    edit(results, '"cores": 2,', '"cores": 64,')
    rendered = build_book(root, **NO_PDF)
    assert_ok(rendered, renders)
    assert any("64 核" in o for o in outputs(rendered, "book/performance"))

    # The locked environment: every page that executes code.
    lock = root / "requirements.lock"
    lock.write_text(lock.read_text() + "# an edit of the lock file\n")
    assert_ok(build_book(root, **NO_PDF), executing)

    # Undo everything: the entries the first build stored hold outputs of exactly this code
    # with exactly these inputs (the edits stored others, under other code), so they serve
    # again and nothing executes; the site shows what a clean build of these sources
    # publishes (timings aside; an incremental build's traces, see as_published_cleanly,
    # aside: the site is published from clean builds).
    for path, content in originals.items():
        path.write_bytes(content)
    undone = build_book(root)  # with the PDF edition again
    assert_ok(undone, set())
    clean = as_published_cleanly(comparable_site(built_book.html))
    assert differing_files(as_published_cleanly(comparable_site(undone.html)), clean) == []
