"""What a reader sees: the built book served on 127.0.0.1 and read in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.book, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Reader:
    """A page plus everything it asked for, logged to the console, or failed to load."""

    def __init__(self, browser, site, color_scheme="light"):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           color_scheme=color_scheme, accept_downloads=True)
        self.page = self.context.new_page()
        self.requests, self.console_errors, self.failures = [], [], []
        self.context.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failures.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failures.append(f"{r.status} {r.url}"))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        if urlparse(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()  # never let a request leave the machine; the test reports it

    def open(self, path):
        self.page.goto(f"{self.site}/{path}", wait_until="load")
        if self.page.evaluate("!!document.querySelector('script[src*=\"mathjax\"]')"):
            self.page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("MathJax.startup.promise")
        return self.page

    def outside(self):
        return [u for u in self.requests
                if urlparse(u).hostname != "127.0.0.1" and not u.startswith(("data:", "blob:"))]

    def close(self):
        self.context.close()


@pytest.fixture
def reader(browser, site):
    reader = Reader(browser, site)
    yield reader
    reader.close()


PAGES = ["book/index.html", "book/rmsprop.html", "book/api.html",
         "book/performance.html"]


def test_site_root_redirects_to_the_book(reader):
    reader.page.goto(f"{reader.site}/")
    reader.page.wait_for_url("**/book/index.html")
    assert reader.outside() == [] and reader.failures == []


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_offline_without_errors(reader, path):
    reader.open(path)
    reader.page.wait_for_load_state("networkidle")
    assert reader.outside() == []
    assert reader.failures == []
    assert reader.console_errors == []


@pytest.mark.parametrize("path, at_least", [("book/rmsprop.html", 30), ("book/api.html", 3),
                                             ("book/performance.html", 3)])
def test_every_equation_is_typeset_by_mathjax(reader, path, at_least):
    page = reader.open(path)
    counts = page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        errors: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
        raw: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
               .map(e => e.textContent.slice(0, 60)),
    })""")
    assert counts["math"] >= at_least
    assert counts["raw"] == [] and counts["typeset"] == counts["math"]
    assert counts["errors"] == 0
    assert page.evaluate("MathJax.version").startswith("3.")
    src = page.evaluate("document.querySelector('script[src*=\"mathjax\"]').src")
    assert src.startswith(reader.site)


def test_every_image_loads(reader):
    page = reader.open("book/rmsprop.html")
    page.evaluate("""async () => { for (const img of document.images) {
        img.scrollIntoView(); if (!img.complete) await new Promise(r => img.onload = img.onerror = r); } }""")
    images = page.evaluate("[...document.images].map(i => [i.currentSrc, i.naturalWidth])")
    assert len(images) >= 8
    assert [src for src, width in images if width == 0] == []


def test_search_for_xuexilv_lists_the_chapter(reader):
    page = reader.open("search.html?q=学习率")
    page.wait_for_selector("#search-results ul.search li a", timeout=20000)
    links = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(link.endswith("book/rmsprop.html") or "book/rmsprop.html#" in link for link in links), links
    assert reader.outside() == []


def test_notebook_link_downloads_a_notebook_with_outputs(reader):
    page = reader.open("book/rmsprop.html")
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


def test_exercise_answers_are_folded_and_open_on_click(reader):
    page = reader.open("book/rmsprop.html")
    solutions = page.locator("div.solution")
    assert solutions.count() == 3
    for i in range(3):
        solution = solutions.nth(i)
        body = solution.locator("section, div.cell").first
        assert not body.is_visible()
        solution.locator("button.toggle-button, .toggle-button, p.admonition-title").first.click()
        body.wait_for(state="visible", timeout=5000)
        assert body.is_visible()


def test_figures_stay_legible_in_dark_mode(browser, site):
    reader = Reader(browser, site, color_scheme="dark")
    try:
        page = reader.open("book/rmsprop.html")
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
        backgrounds = page.evaluate(
            "[...document.querySelectorAll('figure img')].map(i => getComputedStyle(i).backgroundColor)")
        # The figures' dark strokes stay on a light plate (the theme's dark-mode rule).
        assert backgrounds
        for color in backgrounds:
            r, g, b = (int(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3])
            assert 0.2126 * r + 0.7152 * g + 0.0722 * b > 180, color
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "rmsprop-dark.png"), full_page=True)
        assert reader.console_errors == []
    finally:
        reader.close()


def test_full_page_screenshot_artifact(reader):
    page = reader.open("book/rmsprop.html")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "rmsprop.png"
    page.screenshot(path=str(path), full_page=True)
    from PIL import Image

    with Image.open(path) as image:
        assert image.width == 1280 and image.height > 5000
