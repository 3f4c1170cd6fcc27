"""The book's one incremental-edit scenario: execution follows the code and the library, not
the prose; and what the book's configuration names as each page's inputs.

One copy of the project, in another directory than the session's build, starts from that
build's ``_build`` (its stored outputs; Sphinx reads every page again, since the source
directory moved). A prose and a caption edit execute nothing and are published with the
stored outputs; an edit of the library executes every page importing it, and the second
execution, in another directory and another process, publishes the session build's bytes
(timings aside): the book is reproducible, and an incrementally built site ends where a
clean one does.

Every rule of page_execution.py (code, caption, module, package data, data files, failures,
undo) is tested on a tiny book in test_build_execution_tiny.py; here, on the book itself,
the rules ``_config.yml`` sets are checked file by file without building.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, build_book, copy_project
from helpers import TIMING, as_published_cleanly, comparable_site, differing_files

IMPORTS_LIB = re.compile(r"^\s*(?:import|from)\s+rmsprop_lib\b", re.MULTILINE)


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


# The rebuilds before the last print no PDF edition: Chromium printing the book again after
# each edit would cost more than the rebuild; the last one prints it, as the session's build.
NO_PDF = {"RMSPROP_BOOK_PDF": "off"}


def assert_ok(build, executed: set[str]):
    assert build.returncode == 0, build.output[-4000:]
    assert build.executed_pages() == executed, build.output[-4000:]
    assert build.executed() == len(executed)


@pytest.mark.scenario
@pytest.mark.book
def test_prose_reuses_outputs_and_a_library_edit_executes_again_reproducibly(tmp_path, built_book):
    # Another directory, with another path length, than the session's build.
    root = copy_project(tmp_path / "a" / "second-project")
    shutil.copytree(built_book.root / "_build", root / "_build")
    importing = {page for page, code in pages_with_code(root).items() if IMPORTS_LIB.search(code)}
    assert "book/rmsprop" in importing

    # Prose and a figure caption (cell metadata, but not code): the pages are read again
    # (all of them: the project moved), their stored outputs reused.
    chapter = root / "book" / "rmsprop.md"
    original = chapter.read_bytes()
    edit(chapter, "本节先给出算法", "本节首先给出算法")
    found = re.search(r"caption: (指数加权移动平均给[^\n]*)", chapter.read_text(encoding="utf-8"))
    assert found is not None, "the chapter's EMA figure caption moved"
    edit(chapter, found.group(1), "新的图注：" + found.group(1))
    prose = build_book(root, **NO_PDF)
    assert_ok(prose, set())
    assert "本节首先给出算法" in text(prose, "book/rmsprop")
    assert "新的图注：指数加权移动平均给" in text(prose, "book/rmsprop")
    assert "epoch 20, x1 -0.010599, x2 0.000000" in outputs(prose, "book/rmsprop")

    assert_ok(build_book(root, **NO_PDF), set())  # nothing changed

    # The prose undone, and an edit of a library module that changes no output (a comment):
    # every page importing the library executes again, and the site, PDF edition included,
    # is the session's clean build's byte for byte (timings, and the traces an incremental
    # build keeps, aside: see as_published_cleanly), but for the module in the download.
    chapter.write_bytes(original)
    module = root / "rmsprop_lib" / "reporting.py"
    module.write_text(module.read_text(encoding="utf-8") + "# 一处不改变输出的修改\n")
    library = build_book(root)
    assert_ok(library, importing)
    site = as_published_cleanly(comparable_site(library.html))
    # The download ships the library as it now is (its example timings masked too).
    shipped = site.pop("book/rmsprop.zip!rmsprop_lib/reporting.py")
    assert shipped == TIMING.sub(b"T", module.read_bytes())
    clean = as_published_cleanly(comparable_site(built_book.html))
    del clean["book/rmsprop.zip!rmsprop_lib/reporting.py"]
    assert differing_files(site, clean) == []


# --- the inputs _config.yml names, page by page ------------------------------------------


def _page_execution():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import page_execution
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    return page_execution


def test_the_books_inputs_are_the_library_the_benchmark_scripts_results_and_lock(tmp_path):
    """Which pages each kind of edit makes execute again, under the book's own rules."""
    root = copy_project(tmp_path / "project")
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    ext = _page_execution()
    ext._configure(SimpleNamespace(srcdir=str(root)), SimpleNamespace(**config["sphinx"]["config"]))
    code = pages_with_code(root)
    assert set(code) == {"book/rmsprop", "book/performance"}

    def affected(path: Path, addition: str) -> set[str]:
        before = {page: ext.inputs_digest(source) for page, source in code.items()}
        path.write_text(path.read_text(encoding="utf-8") + addition, encoding="utf-8")
        return {page for page, source in code.items() if ext.inputs_digest(source) != before[page]}

    benchmarks = root / "benchmarks"
    assert affected(benchmarks / "results" / "optimizer_step.json", "\n") == {"book/performance"}
    assert affected(benchmarks / "results" / "book_build.json", "\n") == {"book/performance"}
    # The scripts whose functions turn the results into the page's tables.
    assert affected(benchmarks / "optimizer_step.py", "# edit\n") == {"book/performance"}
    assert affected(root / "requirements.lock", "# edit\n") == set(code)
    assert affected(root / "README.md", "edit\n") == set()
    assert affected(root / "book" / "rmsprop.md", "\n新的一段。\n") == set()
    # The library as the kernel imports it, its data included (the installed package, which
    # the test process imports too, so it is listed, not edited; its edits: the scenario above).
    package = {name for name, _ in ext._package_files("rmsprop_lib")}
    assert {"rmsprop_lib/lesson.py", "rmsprop_lib/data/airfoil_self_noise.dat"} <= package
