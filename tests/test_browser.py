"""What a reader sees: the built book served on 127.0.0.1 and read in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import shutil
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

from rmsprop_lib import adagrad_2d, f_2d, rmsprop_2d, train_2d

if TYPE_CHECKING:  # at run time the browser fixture imports playwright, after its checks
    from playwright.sync_api import ConsoleMessage, ProxySettings, Response

pytestmark = [pytest.mark.book, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason}; in CI a missing browser is a failure, not a skip")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def site(built_book):
    """Serve the built HTML on 127.0.0.1 for the module; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, proxy=NO_NETWORK_BUT_THE_SITE
        )
        yield browser
        browser.close()


# Nothing a page asks for leaves the machine: every request but the site's goes to a proxy
# where nothing listens (port 9, discard), so it fails, and the Reader records it. (Routing
# each request through Playwright instead cost a fifth of every page load.)
NO_NETWORK_BUT_THE_SITE: ProxySettings = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1"}


class Reader:
    """A page plus everything it asked for, logged to the console, or failed to load."""

    def __init__(self, browser, site, color_scheme="light", viewport=(1280, 900), **options):
        self.site = site
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,
            accept_downloads=True,
            **options,
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.failures: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failures.append(r.url))
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failures.append(f"{response.status} {response.url}")

    def open(self, path):
        """Load the page as a reader sees it: its images (the load event), its equations
        typeset and its fonts in place. (Tests of what a page asks for in all also wait
        until the network is idle.)"""
        self.page.goto(f"{self.site}/{path}", wait_until="load")
        if self.page.evaluate("!!document.querySelector('script[src*=\"mathjax\"]')"):
            self.page.wait_for_function(
                "window.MathJax && MathJax.startup && MathJax.startup.promise"
            )
            self.page.evaluate("MathJax.startup.promise")
        self.page.evaluate("document.fonts.ready.then(() => true)")
        return self.page

    def outside(self):
        return [
            u
            for u in self.requests
            if urlparse(u).hostname != "127.0.0.1" and not u.startswith(("data:", "blob:"))
        ]

    def close(self):
        self.context.close()


@pytest.fixture
def reader(browser, site):
    reader = Reader(browser, site)
    yield reader
    reader.close()


PAGES = ["book/index.html", "book/rmsprop.html", "book/api.html", "book/performance.html"]


@pytest.fixture(scope="module")
def chapter(browser, site):
    """The chapter as a reader first sees it at 1280 px, loaded once for the tests that only
    read it (they neither click nor change what the page shows)."""
    reader = Reader(browser, site)
    reader.open("book/rmsprop.html")
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def dark_chapter(browser, site):
    """The chapter for a reader whose system asks for dark mode, loaded once for the tests
    that only read it."""
    reader = Reader(browser, site, color_scheme="dark")
    reader.open("book/rmsprop.html")
    yield reader
    reader.close()


def test_a_request_to_another_host_is_recorded_and_never_answered(reader):
    page = reader.open("book/index.html")
    answered = page.evaluate("""async () => Promise.all(
        ['http://example.com/a.png', 'http://203.0.113.7/b.js', 'https://example.org/c']
            .map(url => fetch(url, {mode: 'no-cors'}).then(() => url, () => null)))""")
    assert answered == [None, None, None]
    assert reader.outside() == [
        "http://example.com/a.png",
        "http://203.0.113.7/b.js",
        "https://example.org/c",
    ]
    assert len(reader.failures) == 3


def test_site_root_redirects_to_the_book(reader):
    reader.page.goto(f"{reader.site}/")
    reader.page.wait_for_url("**/book/index.html")
    assert reader.outside() == [] and reader.failures == []


EVERY_PAGE = [*PAGES, "genindex.html", "py-modindex.html", "search.html"]
# Pages with equations, and how many each has at least.
EQUATIONS = {"book/rmsprop.html": 30, "book/api.html": 3, "book/performance.html": 3}


@pytest.mark.parametrize("path", EVERY_PAGE)
def test_every_page_loads_offline_without_errors(reader, path):
    """Each page, loaded once: nothing asked of another host, nothing failed, no script
    error, at most 3 MB, unique ids, its icon; every equation typeset; axe finds nothing
    serious."""
    responses: list[Response] = []
    reader.page.on("response", lambda response: responses.append(response))
    page = reader.open(path)
    page.wait_for_load_state("networkidle")
    assert reader.outside() == []
    assert reader.failures == []
    assert reader.console_errors == []
    # Everything the page loads (HTML, scripts, styles, fonts, figures), by body size.
    sizes = {r.url: len(r.body()) for r in responses if r.status == 200}
    assert len(sizes) == len(responses)  # every request answered, each counted once
    assert sum(sizes.values()) <= 3_000_000, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    # the icons are drawn by the theme's icon font, not by the 1.5 MB icon script
    assert not [url for url in sizes if "fontawesome.js" in url]
    glyph = page.evaluate(
        "getComputedStyle(document.querySelector('.primary-toggle .fa-bars'), '::before').content"
    )
    assert glyph not in ("none", "normal", "")
    # ids are unique (after the scripts ran), and the page names its icon, which loads
    # (without one the browser asks for a missing /favicon.ico)
    duplicates = page.evaluate("""() => { const seen = {};
        for (const e of document.querySelectorAll('[id]')) seen[e.id] = (seen[e.id] || 0) + 1;
        return Object.entries(seen).filter(([, n]) => n > 1); }""")
    assert duplicates == []
    icon = page.eval_on_selector("link[rel=icon]", "l => l.href")
    assert page.request.get(icon).ok
    if path in EQUATIONS:
        _assert_every_equation_is_typeset(page, reader.site, EQUATIONS[path])
    if path in PAGES:
        assert _headings_ending_in_a_scrap(page) == []
        # At 1280 px only a table of ten columns or more may scroll (the appendix's step
        # times); the others fit the text's width.
        assert [t for t in page.evaluate(TABLE_OVERFLOW) if t[0] < 10 and t[1] > 1] == []
        _assert_axe_finds_no_serious_or_critical_violation(page)
        assert reader.outside() == []


# Each heading of the article that wraps: its text, and the width its words take on each line.
HEADING_LINES = """() => [...document.querySelectorAll('.bd-article h1, .bd-article h2, .bd-article h3')]
    .filter(h => h.getClientRects().length)
    .map(h => {
        const boxes = [];
        const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (n.parentElement.closest('a.headerlink, mjx-container')) continue;
            const range = document.createRange(); range.selectNodeContents(n);
            boxes.push(...[...range.getClientRects()].filter(b => b.width > 0));
        }
        for (const m of h.querySelectorAll('mjx-container')) boxes.push(...m.getClientRects());
        boxes.sort((a, b) => a.top - b.top);
        const lines = [];  // boxes whose middle lies within a line's height share the line
        for (const b of boxes) {
            const middle = (b.top + b.bottom) / 2, last = lines[lines.length - 1];
            if (last && middle >= last.top && middle <= last.bottom) {
                last.width += b.width;
                last.top = Math.min(last.top, b.top); last.bottom = Math.max(last.bottom, b.bottom);
            } else lines.push({top: b.top, bottom: b.bottom, width: b.width});
        }
        return [h.textContent.trim().slice(0, 30), lines.map(l => Math.round(l.width))];
    })
    .filter(([, widths]) => widths.length > 1)"""


# The names in the API page's signatures that are broken across two lines ("effective_lr(tr"
# then "ace"), and the lines of a signature that begin with a comma.
SIGNATURE_BREAKS = """() => { const found = [];
    for (const sig of document.querySelectorAll('dt.sig')) {
        const walker = document.createTreeWalker(sig, NodeFilter.SHOW_TEXT);
        let bottom = null;
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (!n.textContent.trim() || n.parentElement.closest('.headerlink')) continue;
            const range = document.createRange(); range.selectNodeContents(n);
            const boxes = [...range.getClientRects()].filter(b => b.width > 0);
            if (boxes.length > 1) found.push(['split', n.textContent.trim()]);
            if (boxes.length && bottom !== null && boxes[0].top >= bottom - 1
                && n.textContent.trim().startsWith(',')) found.push(['comma first', sig.id]);
            if (boxes.length) bottom = boxes[boxes.length - 1].bottom;
        }
    }
    return found; }"""


# Each table of the article: its columns, and how much wider it is than the box it scrolls in.
TABLE_OVERFLOW = """[...document.querySelectorAll('.bd-article table')].map(t => {
    const box = t.closest('.pst-scrollable-table-container') || t.parentElement;
    return [t.rows[0].cells.length, Math.round(t.scrollWidth - box.clientWidth)]; })"""


def _headings_ending_in_a_scrap(page) -> list:
    """Wrapped headings whose last line is under a third of their longest, e.g. one "书"."""
    return [(t, w) for t, w in page.evaluate(HEADING_LINES) if w[-1] < max(w) / 3]


FORMULAS_PAST_THEIR_BOX = """[...document.querySelectorAll('mjx-container[display="true"]')]
    .filter(c => { const m = c.querySelector('mjx-math'), box = c.getBoundingClientRect();
                   return m && m.getBoundingClientRect().right > box.right + 1; })
    .map(c => c.textContent.slice(0, 40))"""


def _assert_every_equation_is_typeset(page, site: str, at_least: int) -> None:
    """By the book's own MathJax 3, with the MathML a screen reader reads."""
    counts = page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        errors: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
        // the hidden MathML screen readers read (MathJax's a11y/assistive-mml)
        spoken: document.querySelectorAll('.math mjx-container mjx-assistive-mml math').length,
        raw: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
               .map(e => e.textContent.slice(0, 60)),
    })""")
    assert counts["math"] >= at_least
    assert counts["raw"] == [] and counts["typeset"] == counts["math"]
    # every display formula is drawn whole inside its box (it would scroll, unseen)
    assert page.evaluate(FORMULAS_PAST_THEIR_BOX) == []
    assert counts["errors"] == 0
    assert counts["spoken"] == counts["math"]
    assert page.evaluate("MathJax.version").startswith("3.")
    src = page.evaluate("document.querySelector('script[src*=\"mathjax\"]').src")
    assert src.startswith(site)


def _assert_axe_finds_no_serious_or_critical_violation(page) -> None:
    # the package ships no type information (no py.typed, no stub package)
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []
    assert page.evaluate("document.documentElement.lang") == "zh-CN"


def test_every_image_loads(chapter):
    page = chapter.page
    page.evaluate("""async () => { for (const img of document.images) {
        img.scrollIntoView(); if (!img.complete) await new Promise(r => img.onload = img.onerror = r); } }""")
    images = page.evaluate("[...document.images].map(i => [i.currentSrc, i.naturalWidth])")
    assert len(images) >= 8
    assert [src for src, width in images if width == 0] == []


@pytest.mark.parametrize("query", ["RMSProp", "指数加权移动平均", "学习率"])
def test_search_lists_the_chapter_first_with_a_prose_snippet(chapter, reader, query):
    # the chapter's text as a reader sees it, whitespace and heading anchors left out
    article = chapter.page.evaluate("""() => { const a = document.querySelector('article').cloneNode(true);
        a.querySelectorAll('.headerlink, script, style').forEach(e => e.remove());
        return a.textContent.replace(/\\s+/g, ''); }""")
    page = reader.open(f"search.html?q={query}")
    page.wait_for_selector("#search-results ul.search li p.context", timeout=20000)
    first = page.locator("#search-results ul.search li").first
    href = first.locator("a").first.get_attribute("href")
    assert href is not None and href.split("#")[0] == "book/rmsprop.html", href
    snippet = first.locator("p.context").inner_text()
    # the snippet is a stretch of the chapter's own text (no menu, no list of contents)
    words = re.sub(r"\s+", "", snippet.strip(".")).strip(".")
    assert len(words) >= 60 and words in article, snippet
    assert query.lower() in snippet.lower()
    # the query as typed is drawn clear of the field's magnifier, which sits over the field
    field = page.locator(".bd-search-container form.bd-search")
    icon = field.locator("i.fa-magnifying-glass").bounding_box()
    text_starts = field.locator("input").evaluate(
        "i => i.getBoundingClientRect().left + parseFloat(getComputedStyle(i).paddingLeft)"
    )
    assert icon is not None and icon["x"] + icon["width"] <= text_starts, (icon, text_starts)
    assert reader.outside() == [] and reader.console_errors == []


def test_a_printed_page_shows_its_title_once(chapter):
    page = chapter.page
    page.emulate_media(media="print")
    try:
        titles = page.locator("h1:visible")
        assert titles.count() == 1 and titles.first.inner_text().strip() == "RMSProp算法"
    finally:
        page.emulate_media(media="screen")


def test_notebook_link_downloads_a_notebook_with_outputs(chapter):
    page = chapter.page
    href = page.eval_on_selector('a[href$="rmsprop.ipynb"]', "a => a.href")
    response = page.request.get(href)
    assert response.ok
    notebook = json.loads(response.text())
    assert notebook["nbformat"] == 4
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code and all("outputs" in c for c in code)
    texts = ["".join(o.get("text", "")) for c in code for o in c["outputs"]]
    assert any("epoch 20, x1 -0.010599, x2 0.000000" in t for t in texts)
    assert any(o.get("data", {}).get("image/svg+xml") for c in code for o in c["outputs"])


def test_figures_stay_legible_in_dark_mode(dark_chapter):
    page = dark_chapter.page
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"  # as the system asks
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
    backgrounds = page.evaluate(
        "[...document.querySelectorAll('figure img')].map(i => getComputedStyle(i).backgroundColor)"
    )
    # The figures' dark strokes stay on a light plate (the theme's dark-mode rule).
    assert backgrounds
    for color in backgrounds:
        r, g, b = (int(v) for v in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b > 180, color
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rmsprop-dark.png"), full_page=True)
    assert dark_chapter.console_errors == []


def test_desktop_page_fits_its_width_and_is_kept_as_an_artifact(chapter):
    page = chapter.page
    # Nothing (a figure, a table, a long formula) pushes the desktop page sideways, and no
    # table, code or formula of the chapter needs scrolling inside its box on a desktop.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
    assert page.locator(".bd-article [data-hidden]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "rmsprop.png"
    page.screenshot(path=str(path), full_page=True)
    from PIL import Image

    with Image.open(path) as image:  # the whole page, with its figures drawn (not blank)
        assert image.height >= page.evaluate("document.scrollingElement.scrollHeight") - 1
        extrema = image.convert("L").getextrema()  # one band: (darkest, lightest)
        assert isinstance(extrema[0], int) and isinstance(extrema[1], int)
        assert extrema[1] - extrema[0] > 200


def test_footer_and_author_line_are_chinese(chapter):
    page = chapter.page
    footer = page.locator(".bd-footer-content").inner_text()
    assert "本书贡献者" in footer and "版权所有 © 2026" in footer
    assert re.findall(r"[A-Za-z]+", footer) == []


CAPTIONS = """() => {
    const rgb = c => c.match(/[\\d.]+/g).map(Number);
    const background = e => { for (; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor); if (c.length < 4 || c[3] > 0) return c; }
        return [255, 255, 255]; };
    const luminance = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
        return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const body = getComputedStyle(document.querySelector('.bd-article p')).fontWeight;
    // the caption's text (the "#" anchor beside it shows only on hover)
    return [...document.querySelectorAll('figcaption, figcaption *:not(.headerlink)')].map(e => {
        const a = luminance(rgb(getComputedStyle(e).color)), b = luminance(background(e));
        return [e.textContent.slice(0, 30), getComputedStyle(e).fontWeight, body,
                (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_captions_are_set_at_the_body_weight_with_aa_contrast(chapter, dark_chapter, scheme):
    # Both pages are the module's (each loaded once); named here, not looked up, so that the
    # test is scheduled with the other readers of the built book (conftest.py).
    reader = chapter if scheme == "light" else dark_chapter
    page = reader.page
    assert page.evaluate("document.documentElement.dataset.theme") == scheme
    captions = page.evaluate(CAPTIONS)
    assert len(captions) >= 8
    assert [c for c in captions if c[1] != c[2]] == []  # the paragraphs' weight
    assert [c for c in captions if c[3] < 4.5] == []  # WCAG AA for body-size text


# --- the η/γ explorer: what it shows is train_2d, computed here ------------------------------

READOUT = re.compile(
    r"^(RMSProp|AdaGrad)（η = (\d\.\d\d)(?:，γ = (\d\.\d\d))?）走 20 步后到达 "
    r"\(x1, x2\) = \((-?\d+\.\d{6}), (-?\d+\.\d{6})\)，此处 f\(x\) = (\S+)。$"
)
DRAWN_WINDOW = ((-6.0, 6.0), (-3.0, 3.0))  # the part of the plane the explorer draws


def _open_explorer(reader):
    page = reader.open("book/rmsprop.html")
    root = page.locator("#rmsprop-explorer")
    root.scroll_into_view_if_needed()
    return page, root


def _assert_explorer_shows_train_2d(root):
    """Read the setting and the result off the page; recompute the path; compare."""
    text = root.locator(".rmsprop-explorer-readout").inner_text().strip()
    match = READOUT.match(text)
    assert match, text
    method, eta_text, gamma_text, x1_text, x2_text, f_text = match.groups()
    assert eta_text == root.locator("#rmsprop-explorer-eta-value").inner_text()
    eta = float(eta_text)
    if method == "RMSProp":
        assert gamma_text == root.locator("#rmsprop-explorer-gamma-value").inner_text()
        gamma = float(gamma_text)
        points = train_2d(partial(rmsprop_2d, eta=eta, gamma=gamma), steps=20).points
    else:
        gamma = None
        assert root.locator("#rmsprop-explorer-gamma").is_disabled()
        points = train_2d(partial(adagrad_2d, eta=eta), steps=20).points
    x1, x2 = points[-1]
    assert abs(float(x1_text) - x1) <= 5e-7 and abs(float(x2_text) - x2) <= 5e-7, (text, x1, x2)
    assert float(f_text) == pytest.approx(f_2d(x1, x2), rel=5e-3)
    drawn = [
        tuple(map(float, pair.split(",")))
        for pair in root.locator("svg polyline.path").get_attribute("points").split()
    ]
    assert len(drawn) == 21
    assert max(max(abs(a - c), abs(b - d)) for (a, b), (c, d) in zip(drawn, points)) <= 0.005 + 1e-9
    end = root.locator("svg circle.end")
    assert (float(end.get_attribute("cx")), float(end.get_attribute("cy"))) == drawn[-1]
    assert root.locator("svg title").text_content() == text
    (a, b), (c, d) = DRAWN_WINDOW
    leaves = any(not (a <= p <= b and c <= q <= d) for p, q in points)
    assert root.locator(".rmsprop-explorer-out").is_visible() == leaves
    return method, eta, gamma, text


def test_explorer_sliders_and_keys_show_train_2d(reader):
    page, root = _open_explorer(reader)
    assert root.locator("form.rmsprop-explorer-controls").is_visible()
    served = page.request.get(page.url).text()
    readout = re.search(r'<p class="rmsprop-explorer-readout"[^>]*>(.*?)</p>', served)
    assert readout is not None, "the served page has no explorer readout"
    static = readout.group(1)
    method, eta, gamma, text = _assert_explorer_shows_train_2d(root)
    # the script's first drawing is the build's static figure: same setting, same sentence
    assert (method, eta, gamma) == ("RMSProp", 0.4, 0.9) and text == static

    page.locator("#rmsprop-explorer-gamma").focus()
    for key, expected in [("Home", 0.0), ("End", 0.99), ("ArrowLeft", 0.96)]:
        page.keyboard.press(key)
        assert _assert_explorer_shows_train_2d(root)[2] == expected, key
    page.locator("#rmsprop-explorer-eta").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert _assert_explorer_shows_train_2d(root)[1] == 0.55
    page.locator("#rmsprop-explorer-eta").fill("19")  # drag to the right end
    assert _assert_explorer_shows_train_2d(root)[1:3] == (1.0, 0.96)
    page.keyboard.press("Home")
    assert _assert_explorer_shows_train_2d(root)[1] == 0.05

    root.locator('input[value="adagrad"]').check()
    assert root.locator(".rmsprop-explorer-note").is_visible()
    assert _assert_explorer_shows_train_2d(root)[:2] == ("AdaGrad", 0.05)
    page.locator("#rmsprop-explorer-eta").focus()
    page.keyboard.press("End")
    assert _assert_explorer_shows_train_2d(root)[:2] == ("AdaGrad", 1.0)
    root.locator('input[value="adagrad"]').focus()
    page.keyboard.press("ArrowLeft")  # radio group: back to RMSProp by keyboard
    assert _assert_explorer_shows_train_2d(root)[:3] == ("RMSProp", 1.0, 0.96)
    assert reader.console_errors == [] and reader.outside() == [] and reader.failures == []


def test_explorer_without_javascript_is_the_static_figure(browser, site):
    reader = Reader(browser, site, java_script_enabled=False)
    try:
        page = reader.page
        page.goto(f"{site}/book/rmsprop.html", wait_until="load")
        root = page.locator("#rmsprop-explorer")
        assert not root.locator("form.rmsprop-explorer-controls").is_visible()
        assert root.locator("svg").is_visible()
        assert root.locator("svg").get_attribute("role") == "img"
        points = root.locator("svg polyline.path").get_attribute("points").split()
        chapter = train_2d(partial(rmsprop_2d, eta=0.4, gamma=0.9), steps=20).points
        assert [tuple(map(float, p.split(","))) for p in points] == [
            (round(a, 2) + 0.0, round(b, 2) + 0.0) for a, b in chapter
        ]
        assert (
            "(x1, x2) = (-0.010599, 0.000000)"
            in root.locator(".rmsprop-explorer-readout").inner_text()
        )
        assert reader.outside() == []
    finally:
        reader.close()


def _luminance(color: str) -> float:
    r, g, b = (int(float(v)) for v in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_explorer_is_legible_in_dark_mode(dark_chapter):
    page = dark_chapter.page
    root = page.locator("#rmsprop-explorer")
    root.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert _luminance(page.evaluate("getComputedStyle(document.body).backgroundColor")) < 80
    style = root.evaluate("""e => ({plate: getComputedStyle(e).backgroundColor,
        text: getComputedStyle(e.querySelector('.rmsprop-explorer-readout')).color,
        label: getComputedStyle(e.querySelector('label')).color,
        ticks: getComputedStyle(e.querySelector('svg .ticks text')).fill,
        path: getComputedStyle(e.querySelector('svg .path')).stroke})""")
    assert _luminance(style["plate"]) > 230
    for part in ("text", "label", "ticks"):
        assert _luminance(style[part]) < 100, (part, style)
    assert _luminance(style["path"]) < 200, style
    root.screenshot(path=str(_artifacts() / "explorer-dark.png"))
    assert dark_chapter.console_errors == []


def _artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- a phone: 390 px wide ---------------------------------------------------------------------

PHONE = (390, 844)


# Every equation, figure, table and code block, after opening the folded answers and cells.
CUT_OFF = """() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    const width = document.documentElement.clientWidth, found = [];
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '');
    const where = e => (e.closest('[id]') || {}).id;
    for (const element of document.querySelectorAll('mjx-container, .bd-article figure, ' +
            '.bd-article img, .bd-article table, .bd-article pre, .bd-article svg[role=img]')) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        let left = box.left, right = box.right;
        for (let a = element.parentElement; a && a !== document.body; a = a.parentElement) {
            const overflow = getComputedStyle(a).overflowX;
            if (overflow === 'visible') continue;
            const outer = a.getBoundingClientRect();
            if (overflow === 'auto' || overflow === 'scroll') {
                // it scrolls inside this box; now this box must fit
                left = Math.max(left, outer.left); right = Math.min(right, outer.right);
            } else if (left < outer.left - 0.5 || right > outer.right + 0.5) {
                found.push([name(element), where(element), 'cut off by ' + name(a)]); break;
            }
        }
        if (left < -0.5 || right > width + 0.5)
            found.push([name(element), where(element), 'off screen', Math.round(left), Math.round(right)]);
    }
    return found;
}"""

HIDDEN_IN_FORMULA_OR_SPLIT = """() => ({
    // the formula as drawn (mjx-math) reaching past its box, which would hide the rest
    formulas: [...document.querySelectorAll('.bd-article span.math')].filter(e => {
        const drawn = e.querySelector('mjx-container > mjx-math');
        if (!drawn) return false;
        const box = e.getBoundingClientRect(), math = drawn.getBoundingClientRect();
        return math.right > box.right + 1 || math.left < box.left - 1;
    }).map(e => e.textContent.slice(0, 50)),
    numbers: [...document.querySelectorAll('.bd-article .pasted-text')]
        .filter(e => [...e.getClientRects()].filter(r => r.width > 0).length > 1)
        .map(e => e.textContent),
    // an inline formula and the full-width mark after it (cjk_breaks.py) on two lines
    marks: [...document.querySelectorAll('.bd-article .nowrap')].filter(e => {
        const range = document.createRange(); range.selectNodeContents(e);
        const rs = [...range.getClientRects()].filter(r => r.width > 0);
        return rs.some(r => r.top >= rs[0].bottom - 1 || r.bottom <= rs[0].top + 1);
    }).map(e => e.textContent.slice(0, 30)),
    // a dropdown's title drawn past its box, which clips it
    titles: [...document.querySelectorAll('.bd-article .sd-summary-text')].filter(e => {
        const range = document.createRange(); range.selectNodeContents(e);
        const box = e.closest('summary').getBoundingClientRect();
        return [...range.getClientRects()].some(r => r.right > box.right + 1);
    }).map(e => e.textContent.trim()),
})"""

# Font size of each text of the explorer's inline SVG on screen, in CSS pixels.
INLINE_SVG_TEXT = """() => [...document.querySelectorAll('.bd-article svg[role=img] text')]
    .filter(t => t.getBoundingClientRect().width > 0)
    .map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a])"""


def _svg_text_sizes(svg: str, shown_width: float) -> list[float]:
    """Rendered font sizes (CSS px) of a Matplotlib SVG's texts shown ``shown_width`` px wide.

    Matplotlib draws each text as glyph outlines under ``scale(s -s)``, where ``100 s`` is the
    font size in the figure's own units (the ``viewBox``); a ``<text>`` element names it."""
    view_box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', svg)
    assert view_box is not None
    scale = shown_width / float(view_box.group(1))
    sizes = [100 * float(s) for s in re.findall(r"scale\(([\d.]+) -[\d.]+\)", svg)]
    sizes += [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    return [size * scale for size in sizes]


@pytest.mark.parametrize("path", PAGES)
def test_on_a_phone_pages_fit_nothing_is_cut_off_and_figure_text_is_legible(browser, site, path):
    reader = _phone(browser, site)
    try:
        page = reader.open(path)
        width = page.evaluate("document.scrollingElement.clientWidth")
        assert width == PHONE[0]
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        # figures (images and the explorer's SVG) fit inside the screen
        boxes = page.evaluate("""[...document.querySelectorAll('.bd-article img, .bd-article svg[role=img]')]
            .filter(e => e.getBoundingClientRect().width > 0)
            .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().left, e.getBoundingClientRect().right])""")
        assert [b for b in boxes if b[1] < -0.5 or b[2] > width + 0.5] == []
        # every table keeps its first two columns readable: each cell on one line, >= 2 characters
        cells = page.evaluate("""[...document.querySelectorAll('.bd-article table tr')].flatMap(tr =>
            [...tr.children].slice(0, 2).map(cell => {
                // a text node that wraps has one client rect per line it occupies
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                let lines = 1;
                while (walker.nextNode()) if (walker.currentNode.textContent.trim()) {
                    const range = document.createRange(); range.selectNodeContents(walker.currentNode);
                    lines = Math.max(lines, [...range.getClientRects()].filter(r => r.width > 0).length);
                }
                return [cell.textContent.trim().slice(0, 20), lines,
                        cell.getBoundingClientRect().width / parseFloat(getComputedStyle(cell).fontSize)];
            }))""")
        assert [c for c in cells if c[1] > 1 or c[2] < 2] == []
        # the page's title is as tall as its words: its hidden "#" anchor does not wrap onto
        # a line of its own (a blank line under the front page's two-line title)
        title, words = page.evaluate("""() => { const h = document.querySelector('.bd-article h1');
            const words = document.createRange(); words.selectNodeContents(h);
            const anchor = h.querySelector('a.headerlink');
            if (anchor) words.setEndBefore(anchor);
            return [h.clientHeight, words.getBoundingClientRect().height]; }""")
        assert words > 0 and title <= words + 2, (title, words)
        assert _headings_ending_in_a_scrap(page) == []
        if path == "book/api.html":
            assert page.locator("dt.sig").count() >= 20
            assert page.evaluate(SIGNATURE_BREAKS) == []
        if path == "book/rmsprop.html":
            assert len(cells) >= 10  # the symbol table is there
            shot = _artifacts() / "rmsprop-mobile.png"
            page.screenshot(path=str(shot), full_page=True)
            from PIL import Image

            with Image.open(shot) as image:
                assert image.width == PHONE[0] * page.evaluate("devicePixelRatio")
        # Then with every answer and hidden cell opened: each equation, figure, table and code
        # block fits or scrolls in its own box, and figure text is large enough to read.
        assert page.evaluate(CUT_OFF) == []
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        # No inline formula hides a part of itself in its scrolling box (nothing shows that
        # it scrolls), and no computed number is split across lines ("7.7e-" / "07").
        assert page.evaluate(HIDDEN_IN_FORMULA_OR_SPLIT) == {
            "formulas": [],
            "numbers": [],
            "marks": [],
            "titles": [],
        }
        # the chapter has formulas followed by a full-width mark, each kept with its mark
        if path == "book/rmsprop.html":
            assert page.locator(".bd-article .nowrap .math").count() >= 10
        small = []
        for src, shown in page.evaluate(
            "[...document.querySelectorAll('.bd-article img[src$=\".svg\"]')]"
            ".filter(i => i.clientWidth > 0).map(i => [i.currentSrc, i.clientWidth])"
        ):
            sizes = _svg_text_sizes(page.request.get(src).text(), shown)
            if sizes and min(sizes) < 8.5:
                small.append((src.rsplit("/", 1)[-1][:12], round(min(sizes), 1)))
        small += [(t, round(px, 1)) for t, px in page.evaluate(INLINE_SVG_TEXT) if px < 8.5]
        assert small == [], small
        assert reader.console_errors == []
    finally:
        reader.close()


def test_the_svg_text_size_check_reads_matplotlibs_scale():
    svg = '<svg viewBox="0 0 400 200"><g transform="translate(1 2) scale(0.1 -0.1)"></g></svg>'
    assert _svg_text_sizes(svg, 200) == [5.0]  # 10 units, shown at half size


# --- navigation: the buttons a reader can see, and what they do -----------------------------------


def _the_visible(page, selector):
    """The one element matching ``selector`` that a reader sees: displayed, with a size, on
    screen (the theme also renders hidden copies of its buttons)."""
    matches = page.locator(selector)
    shown = []
    for i in range(matches.count()):
        box = matches.nth(i).bounding_box() if matches.nth(i).is_visible() else None
        if box and box["width"] > 0 and box["height"] > 0 and box["x"] >= 0 and box["y"] >= 0:
            shown.append(matches.nth(i))
    assert len(shown) == 1, (selector, matches.count(), len(shown))
    return shown[0]


def _phone(browser, site):
    return Reader(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)


def test_phone_buttons_open_the_pages_contents_and_the_books_navigation(browser, site):
    reader = _phone(browser, site)
    try:
        page = reader.open("book/rmsprop.html")
        # The contents button lists the page's sections; a tap scrolls to one.
        contents = page.locator("dialog#pst-secondary-sidebar-modal")
        assert not contents.is_visible()
        _the_visible(page, "button.secondary-toggle").click()
        contents.wait_for(state="visible", timeout=5000)
        contents.get_by_role("link", name="练习").click()
        page.wait_for_url("**/book/rmsprop.html#*")
        contents.wait_for(state="hidden", timeout=5000)  # the drawer closes over the text
        heading = page.locator("h2", has_text="练习")
        heading.wait_for(state="visible")
        assert 0 <= heading.bounding_box()["y"] < PHONE[1]  # scrolled to it
        # and nothing covers it: the heading is what a tap on it reaches
        assert heading.evaluate("""h => { const r = h.getBoundingClientRect();
            return h.contains(document.elementFromPoint(r.left + 5, r.top + r.height / 2)); }""")
        # The menu button lists every page of the book; a tap takes the reader to it.
        navigation = page.locator("dialog#pst-primary-sidebar-modal")
        assert not navigation.is_visible()
        _the_visible(page, "button.primary-toggle").click()
        navigation.wait_for(state="visible", timeout=5000)
        assert navigation.evaluate("d => d.open")
        navigation.get_by_role("link", name="附录：优化器的一步为什么受内存带宽限制").click()
        page.wait_for_url("**/book/performance.html")
        assert reader.console_errors == []
    finally:
        reader.close()


def _darkest_at_the_edges(page, box, width: int = 1) -> tuple[int, int]:
    """The darkest channel value (0-255) in the leftmost and in the rightmost ``width`` pixel
    columns of ``box`` as the screen shows it: 255 is the white page alone; a table's striped
    rows and a code block's background (#f3f4f5), and text, are darker."""
    from PIL import Image

    box.evaluate("b => b.scrollIntoView({block: 'center'})")
    shot = Image.open(io.BytesIO(page.screenshot(clip=box.bounding_box()))).convert("L")

    def darkest(left: int) -> int:
        band = shot.crop((left, 0, left + width, shot.height))
        low, _ = band.getextrema()  # one band ("L"): (min, max)
        return int(low)  # type: ignore[arg-type]

    return darkest(0), darkest(shot.width - width)


def test_on_a_phone_a_wide_table_or_line_of_code_fades_on_the_side_it_hides(browser, site):
    reader = _phone(browser, site)
    try:
        page = reader.open("book/performance.html")
        boxes = page.locator(".bd-article .pst-scrollable-table-container")
        marks = boxes.evaluate_all(
            "bs => bs.map(b => [b.scrollWidth > b.clientWidth + 1, b.dataset.hidden || ''])"
        )
        assert any(wide for wide, _ in marks)
        assert [hidden for _, hidden in marks] == ["right" if wide else "" for wide, _ in marks]
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == (
            "rgb(255, 255, 255)"
        )
        box = boxes.nth([wide for wide, _ in marks].index(True))
        # At the start the right edge shows the page alone (faded out) and the left edge the
        # table; scrolled to the end, the other way round; in between, both edges fade.
        left, right = _darkest_at_the_edges(page, box)
        assert right >= 250 and left <= 244, (left, right)
        box.evaluate("b => b.scrollLeft = b.scrollWidth")
        page.wait_for_function("b => b.dataset.hidden === 'left'", arg=box.element_handle())
        left, right = _darkest_at_the_edges(page, box)
        assert left >= 250 and right <= 244, (left, right)
        box.evaluate("b => b.scrollLeft = 40")
        page.wait_for_function("b => b.dataset.hidden === 'both'", arg=box.element_handle())
        assert min(_darkest_at_the_edges(page, box)) >= 250
        # A code block's line that goes on past the screen (the README's install command,
        # cut at "&&" before) fades the same way, over the block's grey background.
        page = reader.open("book/index.html")
        code = page.locator(".bd-article div.highlight > pre", has_text="jupyter-book build")
        assert code.evaluate("b => [b.scrollWidth > b.clientWidth + 1, b.dataset.hidden]") == [
            True,
            "right",
        ]
        left, right = _darkest_at_the_edges(page, code)
        assert right >= 250 and left <= 244, (left, right)
        code.evaluate("b => b.scrollLeft = b.scrollWidth")
        page.wait_for_function("b => b.dataset.hidden === 'left'", arg=code.element_handle())
        # blocks that fit are left alone
        fits = page.locator(".bd-article div.highlight > pre").evaluate_all(
            "bs => bs.filter(b => b.scrollWidth <= b.clientWidth + 1 && b.dataset.hidden)"
        )
        assert fits == []
        # A displayed formula wider than the screen (exercise 3's f(x), typeset by MathJax
        # after the page loaded) fades too: its last glyphs are drawn lighter until the
        # reader scrolls to them; the chapter's other formulas fit and are left alone.
        page = reader.open("book/rmsprop.html")
        formulas = page.locator('.bd-article mjx-container[display="true"]')
        page.wait_for_function(
            "() => [...document.querySelectorAll('.bd-article mjx-container[display=\"true\"]')]"
            ".some(b => b.dataset.hidden)"
        )
        marks = formulas.evaluate_all(
            "bs => bs.map(b => [b.scrollWidth > b.clientWidth + 1, b.dataset.hidden || ''])"
        )
        assert [hidden for _, hidden in marks] == ["right" if wide else "" for wide, _ in marks]
        wide = page.locator('.exercise mjx-container[display="true"]', has_text="0.1")
        assert wide.evaluate("b => b.dataset.hidden") == "right"
        _, faded = _darkest_at_the_edges(page, wide, 40)
        wide.evaluate("b => b.scrollLeft = b.scrollWidth")
        page.wait_for_function("b => b.dataset.hidden === 'left'", arg=wide.element_handle())
        _, unfaded = _darkest_at_the_edges(page, wide, 40)
        assert faded >= 90 and unfaded <= 60, (faded, unfaded)
        assert reader.console_errors == []
    finally:
        reader.close()


def test_desktop_header_buttons_fold_the_sidebar_and_open_the_pdf_edition(reader):
    page = reader.open("book/rmsprop.html")
    # The download menu's PDF item opens the book's PDF edition.
    _the_visible(page, ".dropdown-download-buttons button.dropdown-toggle").click()
    item = _the_visible(page, ".dropdown-download-buttons .dropdown-item:has-text('.pdf')")
    assert item.get_attribute("onclick") is None  # not the theme's window.print()
    with page.expect_popup() as popup:
        item.click()
    assert popup.value.url == f"{reader.site}/rmsprop-book.pdf"
    response = page.request.get(popup.value.url)
    assert response.ok and response.body().startswith(b"%PDF-")
    popup.value.close()
    # The menu button folds the book's navigation away and brings it back.
    sidebar = page.locator("#pst-primary-sidebar")
    article = page.locator("main#main-content")
    assert sidebar.is_visible()
    width = article.bounding_box()["width"]
    button = _the_visible(page, "button.primary-toggle")
    button.click()
    sidebar.wait_for(state="hidden", timeout=5000)
    assert article.bounding_box()["width"] > width + 100  # the text takes the freed room
    _the_visible(page, "button.primary-toggle").click()
    sidebar.wait_for(state="visible", timeout=5000)
    page.wait_for_function(
        f"document.querySelector('main#main-content').getBoundingClientRect().width <= {width} + 1"
    )
    assert reader.console_errors == []


# --- accessibility: axe-core, figure text alternatives, Chinese labels ---------------------------


def test_every_figure_image_has_its_caption_as_text_alternative(chapter):
    page = chapter.page
    images = page.evaluate("""[...document.querySelectorAll('img')].map(i => [i.alt,
        i.closest('figure') ? i.closest('figure').id : null])""")
    assert len(images) >= 8
    for alt, figure in images:
        assert alt and "_images" not in alt and not alt.endswith(".svg"), (alt, figure)
        assert re.search(r"[\u4e00-\u9fff]", alt), alt
        assert "$" not in alt and "\\" not in alt, alt
    alts = dict((figure, alt) for alt, figure in images)
    assert alts["fig-rmsprop-trace"].startswith("RMSProp（η=0.4，γ=0.9）在 f(x) = 0.1x₁² + 2x₂² 上")


ENGLISH_UI = [
    "Show code cell",
    "Hide code cell",
    "Toggle hidden content",
    "Click to show",
    "Click to hide",
    "Contents",
    "Skip to main content",
    "Copy",
    "Copied!",
    "Copy to clipboard",
    "Failed to copy",
    "Toggle navigation",
    "Toggle primary sidebar",
    "Toggle secondary sidebar",
    "Search this book",
    "Search",
    "Color mode",
    "System Settings",
    "Light",
    "Dark",
    "Link to this heading",
    "Link to this equation",
    "Link to this image",
    "Link to this table",
    "Link to this code",
    "Main",
    "Breadcrumb",
    "Home",
    "Download this page",
    "Fullscreen mode",
    "On this page",
    "previous page",
    "next page",
    "Previous",
    "Next",
    "Print to PDF",
    "Back to top",
    "Section Navigation",
    "Site navigation",
    "Expand Sidebar",
    "Collapse Sidebar",
    "Edit this page",
    "Last updated",
    "By",
    "Launch",
    "Initializing",
    "Page",
]
# (Key names such as the search shortcut "Ctrl" + "K" are not labels and stay as they are.)


def _english_ui(page) -> list:
    found = page.evaluate(
        """words => {
        const hits = [], attrs = ['aria-label', 'title', 'placeholder', 'alt', 'data-tooltip',
            'data-bs-title', 'data-bs-original-title', 'data-toggle-hint', 'aria-description'];
        const has = s => words.filter(w => new RegExp('(^|[^A-Za-z])' +
            w.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&') + '($|[^A-Za-z])').test(s));
        const prose = e => e.closest('.bd-article p, .bd-article li, .bd-article table, ' +
            '.bd-article pre, .bd-article figcaption, .cell_output, .bibliography, .math, ' +
            'mjx-container, h1, h2, h3');
        for (const e of document.querySelectorAll('*')) {
            for (const a of attrs) { const v = e.getAttribute(a); if (v && !prose(e))
                for (const w of has(v)) hits.push([a, w, v.slice(0, 60)]); }
        }
        for (const e of document.querySelectorAll('button, summary, label, legend, kbd, ' +
                '[role=button], .admonition-title, .dropdown-item, .bd-header, .bd-sidebar-primary, ' +
                '.bd-sidebar-secondary, .bd-footer, .prev-next-area, .header-article, .skip-link')) {
            const t = e.innerText || ''; if (!prose(e)) for (const w of has(t)) hits.push(['text', w, t.slice(0, 60)]);
        }
        return hits; }""",
        ENGLISH_UI,
    )
    return sorted({tuple(hit) for hit in found})


# The centre of the first place a word is drawn inside an element, in viewport coordinates.
CENTRE_OF_WORD = """(element, word) => {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const box = range.getBoundingClientRect();
        return [box.x + box.width / 2, box.y + box.height / 2];
    }
    throw new Error(`no "${word}" in ${element.outerHTML.slice(0, 80)}`);
}"""


def test_answers_open_on_click_and_no_ui_string_is_english(browser, site):
    reader = Reader(browser, site)
    try:
        reader.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = reader.open("book/rmsprop.html")
        assert _english_ui(page) == []
        # labels that appear only after an action: a copy, an opened answer, an opened code cell
        button = page.locator("button.copybtn").first
        button.scroll_into_view_if_needed()
        button.click()
        page.wait_for_function(
            "b => b.getAttribute('data-tooltip') !== '复制'",  # it changes ...
            arg=button.element_handle(),
            timeout=5000,
        )
        assert _english_ui(page) == []  # ... to Chinese
        # the exercises' answers are folded; a tap on the title's words ("练习 n") opens
        # each, where the reader is (no jump to the exercise)
        solutions = page.locator("div.solution")
        assert solutions.count() == 5
        for i in range(5):
            solution = solutions.nth(i)
            body = solution.locator("section, div.cell").first
            assert not body.is_visible()
            title = solution.locator("p.admonition-title")
            title.scroll_into_view_if_needed()
            x, y = title.evaluate(CENTRE_OF_WORD, "练习")
            page.mouse.click(x, y)
            body.wait_for(state="visible", timeout=5000)
            assert page.url.endswith("book/rmsprop.html"), page.url
        hidden = page.locator("details.hide summary").first
        assert hidden.inner_text().strip() == "显示代码"
        hidden.click()
        assert hidden.inner_text().strip() == "隐藏代码"
        assert _english_ui(page) == []
        # the same check sees English where it is (so it can fail)
        page.evaluate("document.querySelector('button.copybtn').setAttribute('aria-label', 'Copy')")
        assert ("aria-label", "Copy", "Copy") in _english_ui(page)
    finally:
        reader.close()
