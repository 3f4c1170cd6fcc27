"""The book's PDF edition: the built HTML pages printed by headless Chromium into one PDF.

Why Chromium and not LaTeX: the pages already are what the reader should get (executed
outputs, SVG figures, MathJax equations, Chinese text), and Chromium prints them with every
font embedded; the LaTeX route (``--builder pdflatex`` with xelatex and xeCJK) needs ~190 MB
of TeX, a package missing from it (``bbm.sty``) and stops at the figures inside the folded
exercise solutions. Chromium is needed anyway by the browser tests.

At the end of an HTML build, when Chromium and Playwright are available, every page of the
table of contents is printed (print style sheet ``pdf_static/print.css``, folded solutions
unfolded, MathJax finished) and the pages are joined into ``<outdir>/<pdf_edition_file>``,
numbered at the foot through the whole book, with a bookmark for every heading. The file is
written to a temporary name and renamed, so a failed print never leaves half a PDF behind;
it is rebuilt only when a printed page or the print style changed (a digest of them is kept
beside it, outside the site), and an HTML build that prints no PDF removes one an earlier
build left. Its metadata carry no date and no ``/ID``: two builds of the same commit publish
the same bytes, but for Chromium, which has (rarely) set a run of text a fraction of a pixel
apart (see ``CHROMIUM_ARGS``).

``pdf_edition`` (config) or ``RMSPROP_BOOK_PDF`` (environment): ``auto`` (default) builds
the PDF when Chromium is found and otherwise says so and leaves it out; ``on`` makes a
missing Chromium an error; ``off`` skips it. While the PDF is built, Sphinx's ``pdf_edition``
tag is set, so pages can link to it inside ``{only} pdf_edition``; without it, no page links
to a file that is not there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("pdf_static")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    # Without it, one print in about six (two prints at once on 2 cores) set a run of inline
    # code on the API page 0.4 px lower than the other prints did: the same pages, other
    # bytes. With it, 14 prints of 14 were byte for byte the same. Rarer, and still there:
    # once in about twenty prints under the test suite's load, one run of inline code on the
    # API page was set 0.6 device pixels (0.14 pt) higher; 38 prints under load outside the
    # suite did not show it. The tests compare the PDF within a device pixel (tests/helpers.py).
    "--disable-font-subpixel-positioning",
]
# Before printing: unfold every folded answer, wait for MathJax, the images and the fonts;
# returns the images that did not load.
PREPARE = """async () => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    await Promise.all([...document.images].map(i => {
        i.loading = 'eager'; return i.decode().catch(() => {}); }));
    // MathJax asks for its fonts only once it has typeset: wait for them, then for layout.
    for (let i = 0; i < 2; i++) {
        await document.fonts.ready;
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
    return [...document.images].filter(i => i.naturalWidth === 0).map(i => i.getAttribute('src'));
}"""


# The headings Chromium puts into its document outline (every rendered heading, in order),
# with the level and text a bookmark should show: MathJax's equations as their plain text.
HEADINGS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.getClientRects().length > 0)
    .map(h => {
        const copy = h.cloneNode(true);
        copy.querySelectorAll('.headerlink').forEach(e => e.remove());
        copy.querySelectorAll('mjx-container').forEach(m => {
            const mml = m.querySelector('mjx-assistive-mml');
            m.replaceWith(mml ? mml.textContent : m.textContent);
        });
        return [Number(h.tagName[1]), copy.textContent.replace(/\\s+/g, ' ').trim()];
    })"""


def chromium() -> str | None:
    """The Chromium executable to print with: ``$CHROMIUM``, else ``chromium`` on PATH."""
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def _mode(app) -> str:
    mode = os.environ.get("RMSPROP_BOOK_PDF") or app.config.pdf_edition
    if mode not in {"auto", "on", "off"}:
        raise ExtensionError(f"pdf_edition must be 'auto', 'on' or 'off', got {mode!r}")
    return mode


def _decide(app, config) -> None:
    """At config-inited: will this build print the PDF? Sets the ``pdf_edition`` tag if so.

    Decided before the builder exists because Sphinx's HTML builder hashes the tags into its
    build information when it is created: a build that prints the PDF after one that did not
    (or the reverse) then writes every page again, with or without the link to the PDF.
    """
    mode = _mode(app)
    if mode == "off":
        return
    missing = None
    if chromium() is None:
        missing = "Chromium was not found (install it, or set CHROMIUM to its path)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
            import pypdf  # noqa: F401
        except ImportError as error:
            missing = f"{error.name} is not installed (pip install -r requirements.lock)"
    if missing:
        if mode == "on":
            raise ExtensionError(f"pdf_edition is 'on' but {missing}")
        logger.info(f"pdf_edition: not building the PDF edition: {missing}")
        return
    app.tags.add("pdf_edition")


def _enable(app) -> None:
    """At builder-inited: only an HTML build prints the PDF (and links to it)."""
    app.pdf_edition_enabled = app.tags.has("pdf_edition") and app.builder.format == "html"
    if not app.pdf_edition_enabled and app.tags.has("pdf_edition"):
        app.tags.remove("pdf_edition")


def _pages(app) -> list[str]:
    """Documents in the PDF's order: the table of contents depth first, as the site's
    navigation lists them. The root page opens the book as its title page and preface (what
    the book is, how to read it, how it is built, its sources; what only the website offers
    is said in words for print)."""
    order: list[str] = []

    def visit(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in app.env.toctree_includes.get(doc, []):
            visit(child)

    visit(app.config.root_doc)
    return order


def _digest(outdir: Path, pages: list[str]) -> str:
    digest = hashlib.sha256()
    files = [outdir / f"{page}.html" for page in pages]
    files += sorted(STATIC.iterdir())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _print(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    target = outdir / app.config.pdf_edition_file
    if not app.pdf_edition_enabled:
        # A PDF an earlier build printed would no longer follow the pages: not published.
        target.unlink(missing_ok=True)
        return
    pages = _pages(app)
    digest = _digest(outdir, pages)
    stamp = Path(app.doctreedir) / "pdf_edition.sha256"
    if target.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return
    logger.info(f"pdf_edition: printing {len(pages)} pages to {target.name}")
    partial = target.with_name(target.name + ".partial")
    try:
        _write_pdf(app, outdir, pages, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(digest)


def _write_pdf(app, outdir: Path, pages: list[str], path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfWriter

    writer = PdfWriter()
    starts: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            # Lay out for print from the start, with no animation caught halfway.
            page.emulate_media(media="print", reduced_motion="reduce")
            for doc in pages:
                page.goto((outdir / f"{doc}.html").resolve().as_uri(), wait_until="networkidle")
                # Each page of the book is printed on its own: its page numbers continue
                # from the pages printed before it (print.css puts them at the foot).
                page.add_style_tag(content=f"html {{ counter-reset: page {len(writer.pages)}; }}")
                broken = page.evaluate(PREPARE)
                if broken:
                    raise ExtensionError(f"pdf_edition: {doc}: images that did not load: {broken}")
                # Page size and margins come from print.css (@page); the outline is Chromium's
                # document outline, one bookmark per heading, nested as the headings are.
                pdf = page.pdf(
                    print_background=False,
                    prefer_css_page_size=True,
                    outline=True,
                    tagged=True,
                )
                starts[doc] = len(writer.pages)
                _append(writer, _reader(pdf), page.evaluate(HEADINGS), doc)
        finally:
            browser.close()
    _relink(writer, outdir.resolve().as_uri() + "/", starts)
    # Document information without dates (Chromium's are dropped by ``append``) and no
    # random /ID: the same pages give the same bytes.
    writer.add_metadata(
        {"/Title": app.config.html_title or app.config.project, "/Author": app.config.author}
    )
    # PDF viewers show the title, not the file name, in their title bar.
    writer.create_viewer_preferences()
    writer.viewer_preferences.display_doctitle = True  # type: ignore[union-attr]
    writer.compress_identical_objects()
    with open(path, "wb") as out:
        writer.write(out)


def _append(writer, reader, headings: list[list], doc: str) -> None:
    """Append the printed page ``reader`` to ``writer`` with a bookmark for each heading.

    Chromium's outline knows where each heading landed but names some badly (an equation
    in a heading is left out, some titles come out twice); ``headings`` are the page's
    rendered headings in the same order, ``[level, text]``, which name and nest them.
    """
    marks: list[int] = []

    def flatten(items) -> None:
        for item in items:
            if isinstance(item, list):
                flatten(item)
            else:
                marks.append(reader.get_destination_page_number(item))

    flatten(reader.outline)
    if len(marks) != len(headings):
        raise ExtensionError(
            f"pdf_edition: {doc}: Chromium's outline has {len(marks)} headings, "
            f"the page {len(headings)}: {headings}"
        )
    start = len(writer.pages)
    writer.append(reader, import_outline=False)
    parents: list[tuple[int, object]] = []  # (level, bookmark) of the open headings
    for (level, title), index in zip(headings, marks):
        while parents and parents[-1][0] >= level:
            parents.pop()
        parent = parents[-1][1] if parents else None
        item = writer.add_outline_item(title=title, page_number=start + index, parent=parent)
        parents.append((level, item))


def _relink(writer, site: str, starts: dict[str, int]) -> None:
    """Turn links between the printed pages (``file://`` URIs of the build directory) into
    jumps inside the PDF; drop other links into the build directory (e.g. to the PDF itself).

    Otherwise the PDF would hold the building machine's paths, and its links would point at
    files the reader does not have.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    for page in writer.pages:
        annotations = page.get("/Annots")
        if not annotations:
            continue
        kept = ArrayObject()
        for ref in annotations:
            annotation = ref.get_object()
            action = annotation.get("/A")
            uri = str(action.get("/URI", "")) if action is not None else ""
            if not uri.startswith(site):
                kept.append(ref)
                continue
            doc = uri[len(site) :].split("#")[0].removesuffix(".html")
            if doc in starts:
                target = writer.pages[starts[doc]].indirect_reference
                annotation[NameObject("/A")] = DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/GoTo"),
                        NameObject("/D"): ArrayObject([target, NameObject("/Fit")]),
                    }
                )
                kept.append(ref)
        page[NameObject("/Annots")] = kept


def _reader(data: bytes):
    import io

    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data))


def _static_path(app, config) -> None:
    # Relative to the configuration directory, as Sphinx expects: an absolute path would make
    # the configuration (and .buildinfo) depend on where the project was checked out.
    config.html_static_path.append(os.path.relpath(STATIC, app.confdir))


def setup(app):
    # The pages are printed with the site's copy of print.css: current after any edit.
    app.setup_extension("static_files")
    app.add_config_value("pdf_edition", "auto", "env")
    app.add_config_value("pdf_edition_file", "rmsprop-book.pdf", "env")
    app.connect("config-inited", _static_path)
    app.connect("config-inited", _decide)
    app.connect("builder-inited", _enable)
    app.connect("build-finished", _print)
    app.add_css_file("print.css", media="print")
    app.add_css_file("editions.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
