"""The PDF edition: what a reader of the downloaded PDF finds in it.

Everything expected is read from the built HTML of the same build (titles, headings,
equation numbers, printed outputs, captions), so the test checks that the PDF carries the
site's content, not a copy of strings written here.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from helpers import built_page

pytestmark = pytest.mark.book

PDF_NAME = "rmsprop-book.pdf"
PAGES = ["book/index", "book/rmsprop", "book/api", "book/performance"]
EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"


def _squash(text: str) -> str:
    """Text without whitespace, NFKC-normalised: line breaks in the PDF do not matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _words(text: str) -> list[str]:
    """The plain-text pieces of a heading or caption, without its TeX (typeset apart)."""
    return [w for w in re.split(r"\\\(.*?\\\)|\$.*?\$", _squash(text).rstrip("#")) if w]


@pytest.fixture(scope="module")
def pdf(built_book):
    if shutil.which("chromium") is None and "CHROMIUM" not in os.environ:
        reason = "Chromium is not installed, so the build makes no PDF edition"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}; in CI that is a failure, not a skip")
        pytest.skip(reason)
    from pypdf import PdfReader

    path = built_book.html / PDF_NAME
    assert path.is_file(), built_book.output[-3000:]
    return PdfReader(path)


@pytest.fixture(scope="module")
def page_texts(extracted) -> list[str]:
    return extracted[0]


@pytest.fixture(scope="module")
def text(page_texts) -> str:
    return _squash("".join(page_texts))


def _soup(built_book, doc: str) -> BeautifulSoup:
    return built_page(built_book.html / f"{doc}.html")


def _article(built_book, doc: str):
    return _soup(built_book, doc).select_one("article.bd-article")


def test_pdf_is_linked_from_the_book_index(built_book, pdf):
    links = [a["href"] for a in _soup(built_book, "book/index").select("article a[href]")]
    assert f"../{PDF_NAME}" in links


def _outline(pdf, items=None) -> list[tuple[str, int, list]]:
    """The PDF's bookmarks as ``(title, page index, children)``."""
    result: list[tuple[str, int, list]] = []
    for item in pdf.outline if items is None else items:
        if isinstance(item, list):
            title, page, _ = result[-1]
            result[-1] = (title, page, _outline(pdf, item))
        else:
            result.append((_squash(item.title), pdf.get_destination_page_number(item), []))
    return result


def _sections(section, level: int = 2) -> list[tuple[list[str], list]]:
    """The headings of the sections inside ``section`` as ``(words, subsections)``."""
    found = []
    for child in section.find_all("section"):
        heading = child.find(f"h{level}")
        if child.find_parent("section") is not section or heading is None:
            continue
        found.append((_words(heading.get_text()), _sections(child, level + 1)))
    return found


def _chapters(built_book) -> list[tuple[str, list]]:
    """Each printed page's title and its heading tree, in the order the PDF should print them."""
    pages = []
    for doc in PRINTED:
        top = _article(built_book, doc).find("section")
        title = _squash(top.find("h1").get_text()).rstrip("#")
        pages.append((title, _sections(top)))
    return pages


PRINTED = ["book/index", "book/rmsprop", "book/api", "book/performance"]


def test_pdf_opens_with_the_books_title_page_then_prints_the_pages_in_the_sites_order(
    built_book, pdf, page_texts
):
    # The site's front page is the book's title page and preface; then the chapter, the API
    # page and the appendix, in the order of the site's navigation.
    assert _chapters(built_book)[0][0] == "RMSProp算法:一本可以执行的小书"  # (NFKC "：")
    assert _outline(pdf)[0][:2] == (_chapters(built_book)[0][0], 0)
    assert [title for title, _, _ in _outline(pdf)] == [t for t, _ in _chapters(built_book)]
    first = _squash(page_texts[0])
    assert first.startswith(_chapters(built_book)[0][0])


def _check_bookmarks(page_texts, marks, sections, pages: range) -> None:
    """Bookmarks ``marks`` name and nest ``sections`` and point at pages that print them."""
    assert len(marks) == len(sections), ([m[0] for m in marks], sections)
    for (mark, page, children), (words, subsections) in zip(marks, sections):
        assert words and all(w in mark for w in words), (mark, words)
        assert page in pages, mark
        printed = _squash(page_texts[page])
        assert all(w in printed for w in words), (mark, page)
        _check_bookmarks(page_texts, children, subsections, pages)


def test_pdf_bookmarks_every_section_and_subsection_where_it_is_printed(
    built_book, pdf, page_texts
):
    outline = _outline(pdf)
    starts = [page for _, page, _ in outline] + [len(pdf.pages)]
    for (title, start, marks), (expected, sections), end in zip(
        outline, _chapters(built_book), starts[1:], strict=True
    ):
        assert title == expected
        _check_bookmarks(page_texts, marks, sections, range(start, end))
    # Every section and subsection of the chapter is there, e.g. its exercises and the
    # subsection whose title holds an equation.
    chapter = outline[PRINTED.index("book/rmsprop")][2]
    assert len(chapter) >= 6 and sum(len(children) for _, _, children in chapter) >= 4


def test_pdf_title_is_the_books_title_and_viewers_show_it(pdf):
    import yaml

    config = yaml.safe_load((EXT.parents[1] / "_config.yml").read_text(encoding="utf-8"))
    assert pdf.metadata.title == config["title"]
    assert bool(pdf.trailer["/Root"]["/ViewerPreferences"]["/DisplayDocTitle"]) is True


# --- where the text lands on the paper ----------------------------------------------------

MARGIN = 16 * 72 / 25.4  # the narrower page margin of print.css (@page), in points
MONO_ADVANCE = 0.602  # DejaVu Sans Mono's advance width, in ems


@dataclass
class Run:
    """A piece of text as the PDF draws it: position of its start, size, font."""

    page: int
    x: float
    y: float
    size: float
    font: str
    text: str

    @property
    def right(self) -> float:
        """Where the run ends (exact for the monospaced code font, the start otherwise)."""
        if "Mono" not in self.font:
            return self.x
        return self.x + len(self.text.rstrip()) * MONO_ADVANCE * self.size


FOOT = 18 * 72 / 25.4  # the bottom page margin of print.css (@page), in points


@pytest.fixture(scope="module")
def extracted(pdf) -> tuple[list[str], list[Run], list[Run]]:
    """Each page's text and the runs of text drawn on it, without the page numbers at the
    foot, and those page numbers' runs: in one pass of pypdf over the book for the module
    (a pass takes seconds)."""
    texts: list[str] = []
    found: list[Run] = []
    folios: list[Run] = []
    for index, page in enumerate(pdf.pages):

        def visit(text, cm, tm, font, size, index=index):
            if text.strip():
                # Text space -> user space: the text matrix, then the current transformation.
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                scale = abs(tm[0] * cm[0] + tm[1] * cm[2])
                name = str(font.get("/BaseFont", "")) if font else ""
                run = Run(index, x, y, size * scale, name, text)
                (folios if y < FOOT else found).append(run)

        lines = page.extract_text(visitor_text=visit).split("\n")
        # The page number is a line of its own, the first pypdf reads (text nearer the top
        # of the page may still be the same digits: only that one line goes).
        if str(index + 1) in lines:
            lines.remove(str(index + 1))
        texts.append("\n".join(lines))
    return texts, found, folios


@pytest.fixture(scope="module")
def runs(extracted) -> list[Run]:
    return extracted[1]


def test_every_page_is_numbered_at_its_foot_the_book_through(pdf, extracted):
    """1 to the last page, across the printed pages of the book, each number centred in the
    bottom margin and nothing else drawn there."""
    folios = extracted[2]
    width = float(pdf.pages[0].mediabox.width)
    assert [(r.page, r.text.strip()) for r in folios] == [
        (page, str(page + 1)) for page in range(len(pdf.pages))
    ]
    for folio in folios:
        centre = folio.x + len(folio.text.strip()) * 0.55 * folio.size / 2  # digits ~0.55 em
        assert centre == pytest.approx(width / 2, abs=3), folio
        assert folio.size == pytest.approx(8, abs=0.1)


def _printed(built_book, doc: str):
    """The page's article as printed: without what is written for the web page only."""
    article = copy.copy(_article(built_book, doc))  # a copy: the parsed page is shared
    for web_only in article.select(".interactive-only"):
        web_only.decompose()
    return article


def test_no_text_is_drawn_outside_the_paper_or_into_its_margins(pdf, runs):
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    outside = [
        (r.page, round(r.x), round(r.right), round(r.y), r.text[:40])
        for r in runs
        if r.x < MARGIN - 2 or r.right > width - MARGIN + 2 or not 0 < r.y < height
    ]
    assert outside == []
    # The measure is real: the code's longest lines reach close to the right margin.
    assert max(r.right for r in runs if "Mono" in r.font) > width - MARGIN - 60


def test_text_and_code_are_set_at_a_printed_books_sizes(runs):
    """The text at 10.5 pt (not the screen's 16 px, which prints at 12 pt), and code no
    smaller than 70% of it: sizes of the most-drawn Chinese and monospaced runs."""

    def most_drawn(kind) -> float:
        sizes = Counter(round(r.size, 1) for r in runs if kind(r))
        return sizes.most_common(1)[0][0]

    text = most_drawn(lambda r: "Mono" not in r.font and re.search(r"[\u4e00-\u9fff]", r.text))
    code = most_drawn(lambda r: "Mono" in r.font)
    assert text == pytest.approx(10.5, abs=0.1)
    assert code / text >= 0.7, (code, text)


def _lines(page_texts) -> list[str]:
    lines = []
    for page in page_texts:
        lines += [_squash(line) for line in page.splitlines()]
    return [line for line in lines if line]


def _printed_whole_or_split_at_spaces(line: str, lines: list[str]) -> bool:
    """Whether ``line`` is one line of the PDF, or consecutive lines that split it only
    where it has whitespace (whitespace itself does not count: the PDF's text drops it)."""
    squashed = _squash(line)
    spaces, k = set(), 0
    for char in line:
        if char.isspace():
            spaces.add(k)
        else:
            k += 1
    for i, first in enumerate(lines):
        if not squashed.startswith(first):
            continue
        at, j = len(first), i + 1
        while at < len(squashed) and at in spaces and j < len(lines):
            if not squashed.startswith(lines[j], at):
                break
            at, j = at + len(lines[j]), j + 1
        if at == len(squashed):
            return True
    return False


def test_code_lines_wrap_only_between_tokens(built_book, page_texts):
    lines = _lines(page_texts)
    code = [
        line
        for doc in PRINTED
        for pre in _printed(built_book, doc).select("pre")
        for line in pre.get_text().splitlines()
        if line.strip()
    ]
    assert len(code) > 200
    assert [line for line in code if not _printed_whole_or_split_at_spaces(line, lines)] == []
    # The check that finds a line broken inside a token (the first edition broke "sharey=True"):
    assert not _printed_whole_or_split_at_spaces("f(a, sharey=True)", ["f(a,sharey=Tru", "e)"])


def test_a_short_block_of_code_or_output_and_an_answers_title_are_not_split_from_a_page(
    built_book, page_texts, runs
):
    """A code or output block of at most 30 lines is printed whole on one page, and an
    answer's title ("解答 练习 n") is never the last thing printed on its page."""
    pages = [_squash(page) for page in page_texts]
    split = []
    for doc in PRINTED:
        for pre in _printed(built_book, doc).select("pre"):
            block, lines = _squash(pre.get_text()), pre.get_text().strip().splitlines()
            short = 0 < len(lines) <= 30 and len(block) >= 20
            if short and not any(block in page for page in pages):
                split.append((doc, block[:40]))
    assert split == [], split
    titles = [r for r in runs if _squash(r.text).startswith("解答")]
    assert len(titles) == 5
    alone = [t.page for t in titles if not any(r.page == t.page and r.y < t.y - 1 for r in runs)]
    assert alone == [], alone


def test_every_table_is_printed_whole_on_one_page_with_every_column(built_book, page_texts):
    pages = [_squash(page) for page in page_texts]
    tables = [t for doc in PRINTED for t in _printed(built_book, doc).select("table")]
    widest = max(len(t.select("tr")[0].select("th, td")) for t in tables)
    assert widest >= 12  # the appendix's benchmark table
    for table in tables:
        rows = [
            [" ".join(_words(cell.get_text())) for cell in row.select("th, td")]
            for row in table.select("tr")
        ]
        cells = [_squash(cell) for row in rows for cell in row if cell.strip()]
        holders = [i for i, text in enumerate(pages) if all(c in text for c in cells)]
        assert holders, rows[0]


def test_the_raw_results_file_is_summarised_not_printed(built_book, text):
    results = EXT.parents[1] / "benchmarks" / "results" / "optimizer_step.json"
    listed = [
        _squash(line)
        for line in results.read_text(encoding="utf-8").splitlines()
        if len(_squash(line)) >= 12
    ]
    assert len(listed) > 20
    assert [line for line in listed if line in text] == []
    # What the print says instead, as the page writes it for print:
    article = _article(built_book, "book/performance")
    summaries = [_squash(e.get_text()) for e in article.select(".static-only")]
    assert summaries and all(s in text for s in summaries)
    assert "optimizer_step.json" in summaries[0]
    # ... and the web page still offers the file itself.
    assert article.select(".interactive-only details")


def test_no_sentence_written_for_the_web_page_only_is_printed(built_book, text):
    leaked = []
    for doc in PRINTED:
        article = _article(built_book, doc)
        # (a sentence the print's own version also says is printed, as it should be)
        printed = "".join(_squash(e.get_text()) for e in article.select(".static-only"))
        for block in article.select(".interactive-only"):
            for sentence in re.split(r"[。：]", _squash(block.get_text())):
                if len(sentence) >= 8 and sentence in text and sentence not in printed:
                    leaked.append((doc, sentence[:40]))
    assert leaked == []
    # e.g. the API page's pointer to the index, a page the PDF does not print
    api = _squash(_article(built_book, "book/api").select_one(".interactive-only").get_text())
    assert api.startswith("全部函数和类按字母排列在索引中")


def test_the_printed_front_page_offers_nothing_only_the_website_has(built_book, text):
    article = _article(built_book, "book/index")
    web = [_squash(e.get_text()) for e in article.select(".interactive-only")]
    printed = [_squash(e.get_text()) for e in article.select(".static-only")]
    assert web and printed
    # The web page's download button, search box and PDF link are not in the PDF ...
    assert "下载按钮" in web[0] and "搜索框" in web[0] and "下载PDF版" in web[0]
    assert [sentence for sentence in web[0].split("。") if sentence and sentence in text] == []
    # ... which says where they are instead.
    assert all(p in text for p in printed) and "网站上" in printed[0]


def test_the_printed_chapter_says_where_its_download_is_instead_of_a_dead_link(built_book, text):
    # (NFKC turns the full-width "？" into "?")
    article = _article(built_book, "book/rmsprop")
    web = [_squash(e.get_text()) for e in article.select(".interactive-only:has(a.notebook-zip)")]
    printed = [_squash(e.get_text()) for e in article.select(".static-only") if ".zip" in e.text]
    assert len(web) == 1 and len(printed) == 1
    assert web[0].startswith("想在自己的电脑上运行本节?下载rmsprop.zip") and web[0] not in text
    assert printed[0] in text and "网页版的这一页可以下载压缩包rmsprop.zip" in printed[0]


def test_english_apostrophes_are_printed_as_typed_not_as_wide_chinese_quotes(text):
    # Curled (smartquotes), "’" took the Chinese font's full-width glyph: "the book’ s".
    assert "thebook'schapter'sformula" in text
    assert "’" not in text


def test_the_explorer_paragraph_says_what_the_printed_figure_shows(built_book, text):
    section = _article(built_book, "book/rmsprop").find(id="sec-explorer")
    web = [_words(e.get_text()) for e in section.select(".interactive-only")]
    printed = [_words(e.get_text()) for e in section.select(".static-only")]
    assert web and printed
    # The print says what its figure shows and where the interactive one is ...
    assert all(w in text for words in printed for w in words)
    assert any("网页版" in w for w in printed[0])
    assert any("图5是它打开时的画面" in w for w in printed[0])
    # ... and none of what speaks to the web page's sliders.
    assert [words[0] for words in web if words[0] in text] == []
    assert "拖动滑块改变学习率" in web[0][0]


def test_no_page_is_left_mostly_empty_except_where_a_part_ends(pdf, runs):
    height = float(pdf.pages[0].mediabox.height)
    top, bottom = height - 18 * 72 / 25.4, 18 * 72 / 25.4  # print.css's @page margins
    ends = {page - 1 for _, page, _ in _outline(pdf)[1:]} | {len(pdf.pages) - 1}
    lowest: dict[int, float] = {}
    for r in runs:
        lowest[r.page] = min(lowest.get(r.page, height), r.y)
    half = (top + bottom) / 2
    empty = [p for p in range(len(pdf.pages)) if p not in ends and lowest.get(p, height) > half]
    assert empty == []


def test_pdf_holds_every_heading_of_every_page(built_book, text):
    for doc in PAGES:
        headings = [_words(h.get_text()) for h in _article(built_book, doc).select("h1, h2, h3")]
        assert headings, doc
        missing = [h for h in headings if not all(w in text for w in h)]
        assert missing == [], doc


def test_pdf_holds_the_chapter_title_and_numbered_equations(built_book, text):
    assert "RMSProp算法" in text
    numbers = [
        _squash(n.get_text()) for n in _article(built_book, "book/rmsprop").select("span.eqno")
    ]
    assert len(numbers) >= 3
    for number in numbers:  # e.g. "(1)", typeset by MathJax in the PDF
        assert number.rstrip("#") in text


def test_pdf_holds_both_printed_training_outputs(built_book, text):
    outputs = [
        _squash(o.get_text())
        for o in _article(built_book, "book/rmsprop").select("div.cell_output pre")
        if "secperepoch" in _squash(o.get_text())
    ]
    assert len(outputs) >= 2
    for output in outputs:
        loss = re.search(r"loss:\d+\.\d+", output)
        assert loss is not None, f"no loss in the printed output {output!r}"
        assert loss.group() in text


def test_pdf_holds_every_figure_with_its_caption(built_book, pdf, page_texts):
    captions = []
    for doc in PAGES:
        captions += [c.get_text() for c in _article(built_book, doc).select("figure figcaption")]
    assert len(captions) >= 8
    texts = [_squash(page) for page in page_texts]
    for caption in captions:
        words = _words(caption)
        holders = [i for i, text in enumerate(texts) if all(w in text for w in words)]
        assert holders, caption
        # The figure sits above its caption: on the caption's page or at the foot of the one before.
        assert any(_draws_a_figure(pdf, page) for i in holders for page in {max(i - 1, 0), i}), (
            caption
        )


# matplotlib's first colour, "#1f77b4": every matplotlib line figure of the book strokes or
# fills with it; the explorer's static figure draws its path in "#d95f02". Nothing else on a
# page uses these colours. A figure painted as a raster is an image XObject.
FIGURE_RGBS = [
    (0x1F / 255, 0x77 / 255, 0xB4 / 255),
    (0xD9 / 255, 0x5F / 255, 0x02 / 255),
]


@functools.cache  # captions on the same page ask about it again
def _draws_a_figure(pdf, index: int) -> bool:
    from pypdf.generic import ContentStream

    page = pdf.pages[index]
    streams = [ContentStream(page.get_contents(), pdf)]
    for ref in (page["/Resources"].get("/XObject") or {}).values():
        xobject = ref.get_object()
        if xobject["/Subtype"] == "/Image":
            return True
        streams.append(ContentStream(xobject, pdf))
    for stream in streams:
        for operands, operator in stream.operations:
            if operator in (b"RG", b"rg", b"SC", b"sc", b"SCN", b"scn") and len(operands) == 3:
                colour = [float(v) for v in operands]
                if any(all(abs(v - c) < 0.004 for v, c in zip(colour, rgb)) for rgb in FIGURE_RGBS):
                    return True
    return False


def _fonts(pdf):
    seen = {}
    for page in pdf.pages:
        stack = [page["/Resources"]]
        while stack:
            resources = stack.pop()
            for ref in (resources.get("/Font") or {}).values():
                seen[ref.idnum if hasattr(ref, "idnum") else id(ref)] = ref.get_object()
            for ref in (resources.get("/XObject") or {}).values():
                xobject = ref.get_object()
                if "/Resources" in xobject:
                    stack.append(xobject["/Resources"])
    return list(seen.values())


def _mapped_codes(cmap: str) -> set[int]:
    """Character codes a ToUnicode CMap maps (its bfchar entries and bfrange starts/ends)."""
    codes: set[int] = set()
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        codes |= {
            int(src, 16) for src, _ in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block)
        }
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*[<\[]", block):
            codes |= set(range(int(lo, 16), int(hi, 16) + 1))
    return codes


def test_pdf_embeds_every_font_and_draws_no_missing_glyph(pdf):
    fonts = _fonts(pdf)
    assert fonts
    chinese = [f for f in fonts if "WenQuanYi" in str(f.get("/BaseFont", ""))]
    assert chinese, "the Chinese text is not set in the print font"
    for font in fonts:
        name = str(font.get("/BaseFont", "Type3"))
        if font["/Subtype"] == "/Type3":  # glyphs are drawing procedures inside the PDF
            assert font["/CharProcs"], name
        else:
            descriptor = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if font["/Subtype"] == "/Type0"
                else font["/FontDescriptor"]
            )
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), name
        # Glyph 0 is .notdef, the box drawn for a character the font lacks.
        assert "/ToUnicode" in font, name
        if font["/Subtype"] == "/Type0":
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            assert 0 not in _mapped_codes(cmap), f"{name} draws a missing glyph"


def test_pdf_text_searches_as_chinese(text):
    # Copying or searching the PDF gives the real characters, not look-alike radicals.
    for word in ("小结", "目录" if "目录" in text else "算法", "学习率", "从零开始实现"):
        assert word in text
    assert not re.search("[\u2f00-\u2fdf]", text)


def test_pdf_holds_no_path_of_the_building_machine(built_book, pdf):
    uris = [
        str(a.get_object()["/A"].get("/URI", ""))
        for page in pdf.pages
        for a in page.get("/Annots") or []
        if "/A" in a.get_object()
    ]
    assert not [u for u in uris if u.startswith("file:")]
    raw = (built_book.html / PDF_NAME).read_bytes()
    for path in {str(built_book.root), str(Path.home()), sys.prefix}:
        assert path.encode() not in raw


def test_pdf_carries_no_date(pdf):
    info = pdf.metadata or {}
    assert "/CreationDate" not in info and "/ModDate" not in info


def test_missing_chromium_in_on_mode_is_an_error(monkeypatch):
    from sphinx.errors import ExtensionError

    edition = _extension()
    monkeypatch.setenv("CHROMIUM", "")
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv("RMSPROP_BOOK_PDF", "on")
    with pytest.raises(ExtensionError, match="pdf_edition is 'on' but Chromium was not found"):
        edition._decide(_FakeApp(), None)


def test_missing_chromium_in_auto_mode_leaves_the_pdf_and_its_link_out(monkeypatch):
    edition = _extension()
    monkeypatch.setenv("CHROMIUM", "")
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("RMSPROP_BOOK_PDF", raising=False)
    app = _FakeApp()
    edition._decide(app, None)
    assert "pdf_edition" not in app.tags


def test_unknown_mode_is_an_error(monkeypatch):
    from sphinx.errors import ExtensionError

    monkeypatch.setenv("RMSPROP_BOOK_PDF", "yes")
    with pytest.raises(
        ExtensionError, match="pdf_edition must be 'auto', 'on' or 'off', got 'yes'"
    ):
        _extension()._decide(_FakeApp(), None)


def _extension():
    sys.path.insert(0, str(EXT))
    try:
        import pdf_edition
    finally:
        sys.path.remove(str(EXT))
    return pdf_edition


class _FakeApp:
    """What ``_decide`` reads and writes of a Sphinx application at config-inited."""

    def __init__(self):
        self.tags: set[str] = set()  # Sphinx's Tags has the same ``add`` and ``in``
        self.config = type("Config", (), {"pdf_edition": "auto"})()
