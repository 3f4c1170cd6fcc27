"""The PDF edition: what a reader of the downloaded PDF finds in it.

Everything expected is read from the built HTML of the same build (titles, headings,
equation numbers, printed outputs, captions), so the test checks that the PDF carries the
site's content, not a copy of strings written here.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

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
def text(pdf) -> str:
    return _squash("".join(page.extract_text() for page in pdf.pages))


def _soup(built_book, doc: str) -> BeautifulSoup:
    return BeautifulSoup(
        (built_book.html / f"{doc}.html").read_text(encoding="utf-8"), "html.parser"
    )


def _article(built_book, doc: str):
    return _soup(built_book, doc).select_one("article.bd-article")


def test_pdf_is_linked_from_the_book_index(built_book, pdf):
    links = [a["href"] for a in _soup(built_book, "book/index").select("article a[href]")]
    assert f"../{PDF_NAME}" in links


def test_pdf_has_one_bookmark_per_page_in_reading_order(built_book, pdf):
    titles = [_squash(_article(built_book, doc).find("h1").get_text()).rstrip("#") for doc in PAGES]
    assert [_squash(item.title) for item in pdf.outline] == titles


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


def test_pdf_holds_every_figure_with_its_caption(built_book, pdf):
    captions = []
    for doc in PAGES:
        captions += [c.get_text() for c in _article(built_book, doc).select("figure figcaption")]
    assert len(captions) >= 8
    texts = [_squash(page.extract_text()) for page in pdf.pages]
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
        edition._decide(_FakeApp())


def test_missing_chromium_in_auto_mode_leaves_the_pdf_and_its_link_out(monkeypatch):
    edition = _extension()
    monkeypatch.setenv("CHROMIUM", "")
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("RMSPROP_BOOK_PDF", raising=False)
    app = _FakeApp()
    edition._decide(app)
    assert app.pdf_edition_enabled is False and "pdf_edition" not in app.tags


def test_unknown_mode_is_an_error(monkeypatch):
    from sphinx.errors import ExtensionError

    monkeypatch.setenv("RMSPROP_BOOK_PDF", "yes")
    with pytest.raises(
        ExtensionError, match="pdf_edition must be 'auto', 'on' or 'off', got 'yes'"
    ):
        _extension()._decide(_FakeApp())


def _extension():
    sys.path.insert(0, str(EXT))
    try:
        import pdf_edition
    finally:
        sys.path.remove(str(EXT))
    return pdf_edition


class _FakeApp:
    """What ``_decide`` reads and writes of a Sphinx application at builder-inited."""

    def __init__(self):
        self.tags: set[str] = set()  # Sphinx's Tags has the same ``add`` and ``in``
        self.pdf_edition_enabled: bool | None = None  # unset until ``_decide`` sets it
        self.config = type("Config", (), {"pdf_edition": "auto"})()
        self.builder = type("Builder", (), {"format": "html"})()
