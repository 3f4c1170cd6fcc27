"""book/_ext/cjk_breaks.py: no line break left between two CJK characters or next to full-width
punctuation, in a tiny book and in every page of the real one."""

from __future__ import annotations

import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from cjk_breaks import join_lines, joins

pytest_plugins = "sphinx.testing.fixtures"


ROOT = Path(__file__).resolve().parent / "roots" / "test-cjk-breaks"


@pytest.mark.parametrize(
    "before, after, joined",
    [
        ("来", "再", True),
        ("，", "再", True),
        ("改", "（", True),
        ("”", "越", True),  # a quote next to an ideograph
        ("”", "“", False),  # two quotes: could be English
        ("d", "做", False),
        ("是", "r", False),
        # full-width punctuation carries its own space: none beside it, whatever the other side
        ("9", "，", True),
        ("。", "g", True),  # "。\n`get_data_ch7`"
        ("e", "（", True),  # "{cite:p}`brooks1989airfoil`\n（收录于"
        ("：", "$", True),
        ("-", "“", False),  # a curly quote is not full-width punctuation
    ],
)
def test_which_breaks_are_joined(before, after, joined):
    assert joins(before, after) is joined


def test_join_lines_looks_across_nodes_and_keeps_code():
    texts = ["累加起来，", "\n", "再用 ", "x\n", "\n  平方根"]
    kept = [False, False, False, True, False]
    # the break inside the kept (code) string stays; the one after it too ("x" is Latin)
    assert join_lines(texts, kept) == ["累加起来，", "", "再用 ", "x\n", "\n  平方根"]
    assert join_lines(["中文 \n  继续"], [False]) == ["中文继续"]


def test_the_built_pages_have_no_cjk_line_break(make_app, tmp_path):
    srcdir = shutil.copytree(ROOT, tmp_path / "src")
    app = make_app("html", srcdir=srcdir)
    app.build()
    assert app.statuscode == 0
    index = (app.outdir / "index.html").read_text(encoding="utf-8")
    # breaks between Chinese characters and punctuation are gone, with the spaces around them
    assert "累加起来，再用它的平方根去除学习率。" in index
    assert "做了一处改动：不再求和，而是做<strong>指数加权移动平均</strong>。" in index
    assert "“记忆”越长。" in index
    # next to Latin words, math and inline code the break stays (a space on screen)
    assert "学习率。RMSProp\n做了" in index
    assert "RMS 是\nroot mean square" in index
    # ... but not next to full-width punctuation, which carries its own space
    assert re.search(r"\\\(\\gamma\\\)</span>\n取 0\.9，<span", index)
    assert re.search(r"用 <code[^>]*><span class=\"pre\">train_2d</span></code>\n画出", index)
    # a reference resolved only when the page is written ("第二节") is joined too
    assert re.search(r"参见<a [^>]*><span[^>]*>第二节</span></a>一节。", index)
    # a full-width mark after an inline formula stays on the formula's line
    assert re.search(
        r'梯度是 <span class="nowrap"><span class="math[^"]*">\\\(g\\\)</span>，</span>'
        r'学习率是 <span class="nowrap"><span class="math[^"]*">\\\(\\eta\\\)</span>。</span>',
        index,
    )
    # code keeps its lines
    assert re.search(r"第一行\n第二行", index)
    assert "这一页只有一句话。" in (app.outdir / "second.html").read_text(encoding="utf-8")
    api = (app.outdir / "api.html").read_text(encoding="utf-8")
    # autodoc's docstrings (reStructuredText) too
    assert "模块的说明写成短短的几行，English words\nstay apart." in api
    assert "走一步：返回 <code" in api
    assert re.search(r"<span class=\"pre\">a</span></code>\n后面的空格保留。", api)


# --- every page of the real book ----------------------------------------------------------------

INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "dfn", "em", "i", "img", "mark", "q", "s",
    "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
}  # fmt: skip
SHOWN_AS_WRITTEN = {"pre", "code", "kbd", "samp", "script", "style", "textarea", "svg", "title"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Text(HTMLParser):
    """A page's text as a browser lays it out in lines: block elements separate it (``\\0``);
    code, math and scripts count as one Latin character ("x")."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag not in INLINE and not self.hidden:
            self.parts.append("\0")
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        verbatim = tag in SHOWN_AS_WRITTEN or "math" in classes
        if verbatim and not self.hidden:
            self.parts.append("x")
        self.open.append((tag, verbatim))
        self.hidden += verbatim

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.open:
            name, verbatim = self.open.pop()
            self.hidden -= verbatim
            if name == tag:
                break
        if tag not in INLINE and not self.hidden:
            self.parts.append("\0")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def _gaps(html: str, gap: str, meant: re.Pattern[str] | None = None) -> list[str]:
    """Each ``gap`` (a regular expression) that the laid-out text shows between two
    characters a line break between would be removed from (``cjk_breaks.joins``); ``meant``:
    the gaps the book means, matched from the character before the gap."""
    parser = _Text()
    parser.feed(html)
    text = "".join(parser.parts)
    return [
        text[max(m.start() - 10, 0) : m.end() + 10]
        for m in re.finditer(rf"(.){gap}(.)", text)
        # "\0" marks a block's edge, where a browser shows no space
        if "\0" not in m.group(1, 2)
        and joins(m.group(1), m.group(2))
        and not (meant and meant.match(text, m.start()))
    ]


def cjk_line_breaks(html: str) -> list[str]:
    """Each place where the laid-out text breaks a line between two CJK characters."""
    return _gaps(html, r"[ \t]*\n\s*")


def cjk_spaces(html: str, meant: re.Pattern[str] | None = None) -> list[str]:
    """Each space the laid-out text shows where a line break would be removed: between two
    Chinese characters, or beside full-width punctuation (which carries its own space)."""
    return _gaps(html, r"[ \t\u00a0]+", meant)


def test_the_check_sees_a_space_where_there_is_one():
    html = (
        '<p>使用 <a href="a.html">附录</a> 中的内核，<em>x</em> 与 $y$</p>'
        '<p>作者： 本书</p><p>式 <span class="math">\\(a\\)</span> 成立。</p>'
    )
    found = cjk_spaces(html)
    assert len(found) == 3
    assert "使用 附" in found[0] and "录 中" in found[1] and "： 本" in found[2]
    # a space the book means is left out, and only that one
    meant = re.compile(r"答 练习 \d")
    assert cjk_spaces("<p>解答 练习 1，解答 练习</p>", meant) == ["\0解答 练习 1，解答 练习\0"]
    assert cjk_spaces("<p>解答 练习 1</p>", meant) == []


def test_the_check_sees_a_break_where_there_is_one():
    html = (
        "<p>累加起来，\n<strong>再用</strong>\n它<code>中\n文</code>\n中文 $x$\n"
        '<span class="math">\\(a\\)</span>\n它</p><p>句号。</p>\n<p>下一段</p>'
    )
    found = cjk_line_breaks(html)
    assert len(found) == 2
    assert "，\n再" in found[0] and "用\n它" in found[1]
    # beside full-width punctuation, but not at the edge of a block
    found = cjk_line_breaks("<p>句号。\n<em>x</em></p><li><a>（甲）</a>\n</li>")
    assert len(found) == 1 and "。\nx" in found[0]


@pytest.mark.book
def test_no_page_of_the_book_breaks_a_line_between_cjk_characters(built_book):
    pages = sorted(built_book.html.rglob("*.html"))
    assert len(pages) >= 7
    found = {
        page.relative_to(built_book.html).as_posix(): breaks
        for page in pages
        if (breaks := cjk_line_breaks(page.read_text(encoding="utf-8")))
    }
    assert found == {}


# A solution's title is "解答", a space, then the exercise it answers ("练习 n"): the one
# space between Chinese characters the book means (book/_ext/solution_titles.py).
SOLUTION_TITLE = re.compile(r"答 练习 \d")


@pytest.mark.book
def test_no_page_of_the_book_shows_a_space_between_cjk_characters(built_book):
    found = {
        page.relative_to(built_book.html).as_posix(): spaces
        for page in sorted(built_book.html.rglob("*.html"))
        if (spaces := cjk_spaces(page.read_text(encoding="utf-8"), SOLUTION_TITLE))
    }
    assert found == {}
