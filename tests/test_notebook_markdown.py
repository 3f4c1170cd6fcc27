"""The downloaded notebook's Markdown: MyST turned into what the built page shows.

A tiny book (``tests/roots/test-notebook-markdown``) is built with ``sphinx.testing`` and its
published notebook read back: every number, label and value is the one Sphinx resolved for
that book, which numbers its figures, equations and citations unlike the chapter.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"
ROOT = Path(__file__).parent / "roots" / "test-notebook-markdown"


def converter_module():
    spec = importlib.util.spec_from_file_location("notebook_markdown", EXT / "notebook_markdown.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["notebook_markdown"] = module
    sys.path.insert(0, str(EXT))  # it imports cjk_breaks, beside it, as Sphinx finds them
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXT))
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny book built once with Sphinx's test application: (published notebook, HTML
    of its page, the build's warnings)."""
    from sphinx.testing.util import SphinxTestApp

    src = tmp_path_factory.mktemp("tiny") / "src"
    shutil.copytree(ROOT, src)
    sys.path.insert(0, str(EXT))  # the book's local extensions, as Sphinx finds them
    try:
        app = SphinxTestApp("html", srcdir=src)
        try:
            app.build()
        finally:
            app.cleanup()
    finally:
        sys.path.remove(str(EXT))
    published = app.outdir / "_sources" / "index.ipynb"
    assert published.is_file(), app.warning.getvalue()
    notebook = nbformat.read(published, as_version=4)
    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    return notebook, html, app.warning.getvalue()


def markdown(notebook) -> str:
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_tiny_book_builds_without_warnings(tiny):
    _, _, warnings = tiny
    assert warnings == ""


def test_references_become_the_numbers_and_labels_of_this_book(tiny):
    notebook, html, _ = tiny
    text = markdown(notebook)
    # Equations: the third is referenced first; each labelled equation carries its number.
    assert "由式 (3) 和式 (1) 可知" in text
    assert "$$\nc = 3\n\\tag{3}\n$$" in text and "$$\na = 1\n\\tag{1}\n$$" in text
    # Figures, sections, glued values and citations as the page prints them.
    assert "看 图 2，比值约为 0.667（见 更多）。" in text
    assert "先引用后者 [Bab64]，再引用前者 [Lov43]。" in text
    for label in ("Bab64", "Lov43", "图 2", "(3)", "0.667"):
        assert label in html  # the page itself prints the same
    # The reference list at the end, in the page's order, with the entries' text.
    assert notebook.cells[-1].source.splitlines()[-2:] == [
        "- [Bab64] Charles Babbage. Passages from the life of a philosopher. 1864.",
        "- [Lov43] Ada Lovelace. Notes on the analytical engine. 1843.",
    ]
    assert "`{eq}`不是角色``" in text  # inline code is left as written


def test_figures_get_their_numbered_caption_below_their_cell(tiny):
    notebook, _, _ = tiny
    cells = notebook.cells
    captions = [i for i, c in enumerate(cells) if c.source.startswith("**图 ")]
    assert [cells[i].source for i in captions] == [
        "**图 1** 第一幅图，含 $x$。",
        "**图 2** 第二幅图。",
    ]
    assert all(cells[i - 1].cell_type == "code" for i in captions)


def test_exercises_become_headings_and_solutions_folded_details(tiny):
    notebook, _, _ = tiny
    text = markdown(notebook)
    assert "### 练习 1\n\n第一题。" in text
    assert "### 练习 2\n\n第二题，用式 (2)。" in text
    assert "<details><summary>解答 练习 2</summary>\n\n答案的前半。\n\n</details>" in text
    assert "<details><summary>解答 练习 2（续）</summary>\n\n答案的后半。\n\n</details>" in text
    answer = next(c for c in notebook.cells if "answer" in c.source and c.cell_type == "code")
    assert answer.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert "<details><summary>展开细节</summary>\n\n细节里有 $y$。\n\n</details>" in text


def test_text_for_one_edition_and_hidden_plumbing(tiny):
    notebook, _, _ = tiny
    text = markdown(notebook)
    assert "印出的图是默认设置。" in text and "拖动网页上的滑块" not in text
    glue = next(c for c in notebook.cells if "glue(" in c.source)
    # Kept so the notebook runs top to bottom, folded as the page hides it; its record for
    # the book (an output nothing renders) is gone.
    assert glue.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert glue.outputs == []
    assert "def glue(name, value, display=True):" in glue.source


def test_no_myst_is_left_in_the_tiny_books_notebook(tiny):
    from test_download import myst_left

    notebook, _, _ = tiny
    assert myst_left(notebook) == []


# --- the converter on its own ---------------------------------------------------------------


def test_unknown_syntax_is_an_error_naming_it():
    module = converter_module()
    convert = module.MarkdownConverter(module.References())
    with pytest.raises(module.MarkdownError, match=r"the role \{kbd\} has no plain-Markdown"):
        convert.cell("Press {kbd}`Ctrl`.")
    with pytest.raises(module.MarkdownError, match=r"the directive \{note\} has no plain"):
        convert.cell("```{note}\nA note.\n```")
    with pytest.raises(module.MarkdownError, match=r"unknown figure or exercise label 'fig-x'"):
        convert.cell("See {numref}`fig-x`.")


def test_plain_markdown_passes_unchanged():
    module = converter_module()
    plain = (
        "# Title\n\nText with `code` and $x$.\n\n$$\na\n\\tag{1}\n$$\n\n"
        "<details><summary>解答 练习 1</summary>\n\nA.\n\n</details>\n\n```python\n{x}`y`\n```"
    )
    assert module.MarkdownConverter(module.References()).cell(plain) == plain


def test_a_line_break_between_chinese_characters_goes_as_on_the_web_page():
    """Jupyter renders a paragraph's soft line break as a space, between Chinese characters
    too ("起来， 再用"): the notebook joins those lines as cjk_breaks.py sets the page."""
    module = converter_module()
    convert = module.MarkdownConverter(module.References(numbered={"fig-a": "图 1"}))
    source = (
        "# 标题\n正文从这里开始，\n再用它的平方根\n**去除**学习率。\n{numref}`fig-a` 画出了\n"
        "AdaGrad\n做了改动，`code`\n之后 $x$\n是数学。\n\n下一段\n接着写。\n\n- 列表项，\n  续行\n"
        "- 新的一项，\n  以句号结束。\n- **$x$** 又一项。\n\n1. 第一，\n   完。\n2. 第二\n\n"
        "```python\n# 代码\n中文\n```"
    )
    assert convert.cell(source) == (
        "# 标题\n正文从这里开始，再用它的平方根**去除**学习率。图 1 画出了\n"
        "AdaGrad\n做了改动，`code`\n之后 $x$\n是数学。\n\n下一段接着写。\n\n- 列表项，续行\n"
        "- 新的一项，以句号结束。\n- **$x$** 又一项。\n\n1. 第一，完。\n2. 第二\n\n"
        "```python\n# 代码\n中文\n```"
    )
