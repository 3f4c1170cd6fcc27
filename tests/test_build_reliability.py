"""What a build publishes: no path of the machine, no build date, no timing in the search index
(on the session's build); and the book's one failing-build scenario: nothing of a failed build
(the book's configuration with pages that fail).

That a second execution, in another directory, publishes the same bytes is checked by the
incremental-edit scenario (test_build_execution.py)."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, build_book, copy_project

pytestmark = pytest.mark.book

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


# --- the book's one failing-build scenario ---------------------------------------------------

FRONT = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n"
)
# The pages of the failing book: each fails the build in its own way.
FAILING_PAGES = {
    # A cell that raises, and a kernel that dies (on a page that asks for its zip).
    "raises": FRONT + "---\n\n# 出错\n\n```{code-cell} ipython3\n1 / 0\n```\n",
    "dies": FRONT + "---\n\n# 内核退出\n\n下载 {notebook-zip}`dies.zip`。\n\n"
    "```{code-cell} ipython3\nimport os\n\nos._exit(1)\n```\n",
    # A cell that outlives its timeout (here 1 s, set for this page in its front matter).
    "slow": FRONT + "mystnb:\n  execution_timeout: 1\n---\n\n# 慢\n\n"
    "```{code-cell} ipython3\nimport time\n\ntime.sleep(60)\n```\n",
    # Chinese text in a figure must never render as boxes: the missing-glyph warning fails it.
    "glyphs": FRONT + "---\n\n# 字形\n\n```{code-cell} ipython3\n"
    "import matplotlib.pyplot as plt\n\n"
    'fig, ax = plt.subplots()\nax.set_title("学习率")\nfig.canvas.draw()\n```\n',
    # A page whose notebook the download cannot serve (it needs MyST-NB to run).
    "nodownload": FRONT + "---\n\n# 下载\n\n下载 {notebook-zip}`nodownload.zip`。\n\n"
    "```{code-cell} ipython3\nimport myst_nb\n\nprint(1)\n```\n",
    # A plain Sphinx warning in the prose.
    "warns": "# 警告\n\n这里引用了 {ref}`a-label-nobody-defined`。\n",
}


def failing_book(root: Path) -> None:
    """The book's configuration and extensions, with the pages of FAILING_PAGES for its
    chapters and a front page that asks for a download although it has no code."""
    for name, text in FAILING_PAGES.items():
        (root / "book" / f"{name}.md").write_text(text, encoding="utf-8")
    (root / "book" / "index.md").write_text(
        "# 出错的书\n\n下载 {notebook-zip}`index.zip`。\n", encoding="utf-8"
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n"
        + "".join(f"  - file: book/{name}\n" for name in FAILING_PAGES),
        encoding="utf-8",
    )


EXECUTION_FAILURES = {
    "raises": "CellExecutionError",
    "dies": "DeadKernelError",
    "slow": "CellTimeoutError",
}


@pytest.mark.scenario
def test_a_failed_build_names_each_page_and_publishes_none_of_them(tmp_path):
    """The book's own configuration and extensions with every kind of failure at once,
    built once: each is named, none is published. Its pages stand in for the chapter's:
    what is tested is that the book's configuration fails the build, whatever the page.
    That a failure is never cached, and that the next good build leaves no trace of it, is
    tested on a tiny book (test_build_execution_tiny.py)."""
    root = copy_project(tmp_path / "project")
    failing_book(root)
    html = root / "_build" / "html"

    failed = build_book(root, RMSPROP_BOOK_PDF="off")  # the PDF is tested elsewhere
    out, tail = failed.output, failed.output[-4000:]
    assert failed.returncode != 0
    assert "build finished with problems" in out
    with_code = {f"book/{name}" for name, text in FAILING_PAGES.items() if "code-cell" in text}
    assert failed.executed_pages() == with_code, tail
    for page, error in EXECUTION_FAILURES.items():
        assert re.search(rf"book/{page}\.md: WARNING: Executing notebook failed: {error}", out), (
            page,
            tail,
        )
        assert not (html / "book" / f"{page}.html").exists()
        assert not (html / "_sources" / "book" / f"{page}.ipynb").exists()
        assert not (html / "book" / f"{page}.zip").exists()
        report = (html / "reports" / "book" / f"{page}.err.log").read_text(encoding="utf-8")
        assert error in report or (page == "raises" and "ZeroDivisionError" in report)
    assert "ZeroDivisionError" in out
    assert (html / "book" / "index.html").is_file()  # the pages that did not fail are there

    # A figure with glyphs its font lacks.
    assert re.search(r"book/glyphs\.md:\d+: WARNING: stderr was found in the cell outputs", out)
    glyphs = root / "_build" / "jupyter_execute" / "book" / "glyphs.ipynb"
    assert "missing from font" in glyphs.read_text(encoding="utf-8")
    # Pages the download cannot serve: no zip, no notebook.
    assert re.search(
        r"book/nodownload\.md: WARNING: cannot publish the page's notebook: "
        r"cell 1 of the notebook has `import myst_nb`",
        out,
    ), tail
    assert re.search(
        r"book/index\.md: WARNING: \{notebook-zip\} is used on a page without executed code", out
    ), tail
    assert not (html / "book" / "nodownload.zip").exists()
    assert not (html / "_sources" / "book" / "nodownload.ipynb").exists()
    assert not (html / "book" / "index.zip").exists()
    # A plain Sphinx warning is an error too.
    assert re.search(r"book/warns\.md:\d+: WARNING: undefined label", out), tail


def test_the_execution_timeout_is_set_for_what_the_pages_need():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    found = re.search(r"^  timeout: (\d+)", config, re.MULTILINE)
    assert found is not None, "_config.yml sets no execution timeout"
    timeout = int(found.group(1))
    assert 10 <= timeout <= 120
    assert "timeout" in (ROOT / "README.md").read_text(encoding="utf-8")
