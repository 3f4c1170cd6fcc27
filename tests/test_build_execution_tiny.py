"""book/_ext/page_execution.py on a tiny Jupyter Book: two cheap pages, a one-line library
and a data file, built for real (``jupyter-book build``, MyST-NB, jupyter-cache) in seconds.

Each edit executes exactly the pages it affects; a failure is reported, published nowhere and
never stored in the cache; pages execute in parallel; the executed notebooks carry nothing of
the cache's.
One scenario on one copy, so the book is executed cold once.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from jupyter_cache import get_cache
from sphinx.errors import ConfigError

from conftest import ROOT, build_book, load_extension

FRONT = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
PAGES = {
    "index.md": "# 小书\n\n只有文字。\n",
    "a.md": FRONT
    + "# 页面甲\n\n甲的正文。\n\n```{code-cell} ipython3\nimport tinylib\n\nprint(tinylib.VALUE)\n```\n\n"
    + "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: 原来的图注\n    name: fig-a\n---\n"
    + f"from IPython.display import SVG\n\nSVG({SVG!r})\n```\n",
    "b.md": FRONT
    + '# 页面乙\n\n```{code-cell} ipython3\nprint("data:", open("data/n.txt").read().strip())\n```\n',
}
CONFIG = f"""title: tiny
only_build_toc_files: true
exclude_patterns: [_build]
execute:
  execute_notebooks: cache
  timeout: 60
  stderr_output: warn
sphinx:
  local_extensions:
    page_execution: {ROOT / "book" / "_ext"}
    strict: {ROOT / "book" / "_ext"}
  config:
    execution_inputs:
      - code: '^\\s*(import|from)\\s+tinylib\\b'
        package: tinylib
      - code: 'data/'
        files: ["data/*.txt"]
    execution_jobs: 2
    nb_execution_show_tb: true
"""


def tiny_book(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n  - file: a\n  - file: b\n", encoding="utf-8"
    )
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "tinylib").mkdir()
    (root / "tinylib" / "__init__.py").write_text(
        "from pathlib import Path\n\n"
        'VALUE = int(Path(__file__).with_name("value.txt").read_text()) + 0\n',
        encoding="utf-8",
    )
    (root / "tinylib" / "value.txt").write_text("41\n", encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "n.txt").write_text("7\n", encoding="utf-8")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path.name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def main_text(build, name: str) -> str:
    html = (build.html / f"{name}.html").read_text(encoding="utf-8")
    main = BeautifulSoup(html, "html.parser").select_one("main")
    assert main is not None
    return main.get_text()


def built(root: Path, executed: set[str]):
    build = build_book(root)
    assert build.returncode == 0, build.output[-4000:]
    assert build.executed_pages() == executed, build.output[-4000:]
    assert build.executed() == len(executed)
    return build


def cache_entries(root: Path) -> set[tuple[int, str, str]]:
    """The executed notebooks jupyter-cache holds (its public API): id, code hash, page."""
    cache = get_cache(root / "_build" / ".jupyter_cache")
    return {(r.pk, r.hashkey, Path(r.uri).name) for r in cache.list_cache_records()}


SLOW_PAGE = (
    FRONT.replace("---\n\n", "mystnb:\n  execution_timeout: 1\n---\n\n")
    + "# 慢\n\n```{code-cell} ipython3\nimport time\n\ntime.sleep(30)\n```\n"
)
FAILURES = {"a": "CellExecutionError", "b": "DeadKernelError", "c": "CellTimeoutError"}
TRACES = ("ZeroDivisionError", "os._exit", "Traceback", "DeadKernelError", "CellTimeoutError")


@pytest.mark.scenario
def test_each_edit_executes_exactly_the_pages_it_affects_and_no_failure_is_kept(tmp_path):
    """One tiny book, edited step by step; each build must execute exactly the pages named.

    Edits on different pages share a build where each page's execution (or not) shows its
    own rule; which files each rule makes a page depend on is also checked, build-free, on
    the book's own configuration (test_build_execution.py)."""
    root = tiny_book(tmp_path / "tiny")
    cold = built(root, {"a", "b"})
    # Both pages were started before either finished (execution_jobs: 2).
    lines = cold.output.splitlines()
    started = [i for i, line in enumerate(lines) if "Executing notebook:" in line]
    finished = [i for i, line in enumerate(lines) if re.search(r"Executed notebook \w+ in", line)]
    assert len(started) == 2 and len(finished) == 2 and max(started) < min(finished)
    assert "41" in main_text(cold, "a") and "data: 7" in main_text(cold, "b")
    # The executed notebook holds the page and its outputs, nothing of the cache's records.
    executed = (root / "_build" / "jupyter_execute" / "a.ipynb").read_text(encoding="utf-8")
    assert "execution_inputs" not in executed and "execution_code" not in executed
    assert set(nbformat.reads(executed, as_version=4).metadata) <= {
        "jupytext",
        "kernelspec",
        "language_info",
        "source_map",
    }

    # Page a: prose, and a figure's caption (in the cell's metadata, but not code): a is read
    # again and executes nothing (it would, were its inputs digest or code key unstable from
    # one build to the next). Page b: its code changed, so b alone executes, its new output
    # published.
    edit(root / "a.md", "甲的正文。", "甲的新正文。")
    edit(root / "a.md", "原来的图注", "新的图注")
    edit(root / "b.md", 'print("data:"', 'print("数据:"')
    prose = built(root, {"b"})
    assert "甲的新正文" in main_text(prose, "a") and "41" in main_text(prose, "a")
    assert "新的图注" in main_text(prose, "a") and "原来的图注" not in main_text(prose, "a")
    assert "数据: 7" in main_text(prose, "b")

    # The library page a imports (a module, and a data file inside the package), and a data
    # file page b reads: each page executes again although its source is unchanged. Which
    # file alone makes which page execute, under the book's own rules, is checked without a
    # build (test_build_execution.py).
    edit(root / "tinylib" / "__init__.py", "+ 0", "+ 1")
    (root / "tinylib" / "value.txt").write_text("50\n", encoding="utf-8")
    (root / "data" / "n.txt").write_text("8\n", encoding="utf-8")
    inputs = built(root, {"a", "b"})
    assert "51" in main_text(inputs, "a") and "新的图注" in main_text(inputs, "a")
    assert "数据: 8" in main_text(inputs, "b")

    # A cell that raises, a kernel that dies, a cell that outlives its page's timeout.
    originals = {p: p.read_bytes() for p in (root / "a.md", root / "b.md", root / "_toc.yml")}
    edit(root / "a.md", "print(tinylib.VALUE)", "print(tinylib.VALUE)\n1 / 0")
    edit(root / "b.md", 'print("数据:"', 'import os\nos._exit(1)\nprint("数据:"')
    (root / "c.md").write_text(SLOW_PAGE, encoding="utf-8")
    (root / "_toc.yml").write_text(
        (root / "_toc.yml").read_text(encoding="utf-8") + "  - file: c\n", encoding="utf-8"
    )
    stored = cache_entries(root)
    assert {page for *_, page in stored} == {"a.md", "b.md"}  # the current outputs
    failed = build_book(root)
    assert failed.returncode != 0
    assert failed.executed_pages() == set(FAILURES)
    for page, error in FAILURES.items():
        assert re.search(
            rf"{page}\.md: WARNING: Executing notebook failed: {error}", failed.output
        ), failed.output[-4000:]
        assert not (failed.html / f"{page}.html").exists()
        assert not (failed.html / "_sources" / f"{page}.ipynb").exists()
        report = (failed.html / "reports" / f"{page}.err.log").read_text(encoding="utf-8")
        assert error in report or (page == "a" and "ZeroDivisionError" in report)
    assert "ZeroDivisionError" in failed.output
    assert (failed.html / "index.html").is_file()
    # No failed execution was stored (the next build executes those pages again).
    assert cache_entries(root) == stored

    # Undone: the outputs stored before the failures serve again; nothing of them is left.
    (root / "c.md").unlink()
    for path, content in originals.items():
        path.write_bytes(content)
    fixed = built(root, set())
    assert "51" in main_text(fixed, "a") and "数据: 8" in main_text(fixed, "b")
    assert not any((fixed.html / "reports").rglob("*.*"))
    leftovers = [
        (path.relative_to(fixed.html).as_posix(), trace)
        for path in fixed.html.rglob("*")
        if path.is_file() and "_static" not in path.parts
        for trace in TRACES
        if trace.encode() in path.read_bytes()
    ]
    assert leftovers == []


# --- configuration errors name the entry --------------------------------------------------


class Config:
    def __init__(self, execution_inputs):
        self.execution_inputs = execution_inputs


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"files": ["x"]}, r"execution_inputs\[0\] must be a mapping with 'code'"),
        ({"code": "x", "globs": ["x"]}, r"execution_inputs\[0\] must be a mapping"),
        ({"code": "(", "files": ["x"]}, r"execution_inputs\[0\]\.code is not a regular"),
    ],
)
def test_a_malformed_execution_inputs_entry_is_named(entry, message):
    with pytest.raises(ConfigError, match=message):
        load_extension()._rules(Config([entry]))


def test_a_package_that_cannot_be_imported_is_named():
    with pytest.raises(ConfigError, match="'no_such_package_here', which is not importable"):
        load_extension()._package_files("no_such_package_here")


def test_code_key_ignores_captions_and_names_but_not_code_or_other_options():
    ext = load_extension()

    def notebook(source, mystnb):
        return nbformat.from_dict(
            {
                "metadata": {"kernelspec": {"name": "python3"}},
                "cells": [
                    {"cell_type": "markdown", "source": "prose", "metadata": {}},
                    {"cell_type": "code", "source": source, "metadata": {"mystnb": mystnb}},
                ],
            }
        )

    key = ext.code_key(notebook("x = 1", {"figure": {"caption": "a"}}))
    assert ext.code_key(notebook("x = 1", {"figure": {"caption": "b", "name": "f"}})) == key
    assert ext.code_key(notebook("x = 2", {"figure": {"caption": "a"}})) != key
    assert ext.code_key(notebook("x = 1", {"remove_code_source": True})) != key
