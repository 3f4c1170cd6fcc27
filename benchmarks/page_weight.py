"""Weigh what a reader's browser loads for each page of the built book.

Serves the built site (``_build/html``) on 127.0.0.1, opens each page in headless Chromium
(1280 px wide, a fresh browser context per page, so nothing comes from a cache), waits until
the network is idle (MathJax's fonts and the figures included) and sums the bodies of all
responses, by kind (HTML, scripts, style sheets, fonts, images, other). The gzip size (level
6, what a web server typically sends) is given beside it. Target: the chapter page at most
3.0 MB. Writes ``benchmarks/results/page_weight.json``, which ``book/performance.md`` renders.

    jupyter-book build . && python benchmarks/page_weight.py [--site DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "book/index.html": "首页",
    "book/rmsprop.html": "正文：RMSProp算法",
    "book/api.html": "接口文档",
    "book/performance.html": "附录",
}
KINDS = {  # Chromium's resource type -> column
    "document": "html",
    "script": "scripts",
    "stylesheet": "styles",
    "font": "fonts",
    "image": "images",
}
CHAPTER_TARGET_BYTES = 3_000_000


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site served on 127.0.0.1 (a free port) while inside; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def weigh(browser: Any, url: str) -> dict[str, int]:
    """Bytes (and gzip bytes) of everything the page at ``url`` loads, by kind."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    weights = {"requests": 0, "bytes": 0, "gzip_bytes": 0, **dict.fromkeys(KINDS.values(), 0)}
    weights["other"] = 0
    for response in responses:
        body = response.body()
        weights["requests"] += 1
        weights["bytes"] += len(body)
        weights["gzip_bytes"] += len(gzip.compress(body, compresslevel=6, mtime=0))
        weights[KINDS.get(response.request.resource_type, "other")] += len(body)
    context.close()
    return weights


def measure(site: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("page_weight.py needs Chromium (Debian: apt-get install chromium)")
    if not (site / "book" / "rmsprop.html").is_file():
        raise SystemExit(f"no built book in {site}: run `jupyter-book build .` first")
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            pages = {path: weigh(browser, f"{base}/{path}") for path in PAGES}
            version = browser.version
        finally:
            browser.close()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "chromium": version,
        "chapter_target_bytes": CHAPTER_TARGET_BYTES,
        "pages": pages,
    }


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def page_weight_table(results: Mapping[str, Any]) -> str:
    """Render the results of ``benchmarks/page_weight.py`` as a Markdown table and a summary.

    Args:
        results: the parsed results file: per page (``pages``) the requests, total and gzip
            bytes and the bytes by kind; the chapter's target (``chapter_target_bytes``).

    Returns:
        Markdown: one row per page (megabytes with two decimals), then a line comparing the
        chapter page with its target.

    Raises:
        KeyError: if a page or a figure is missing; the message names it.

    Example:
        >>> print(page_weight_table(results).splitlines()[0])
        | 页面 | 请求数 | 合计（MB） | gzip 后（MB） | HTML | 脚本 | 样式 | 字体 | 图片 |
    """
    columns = ["requests", "bytes", "gzip_bytes", "html", "scripts", "styles", "fonts", "images"]
    pages = results.get("pages", {})
    missing = [p for p in PAGES if p not in pages]
    missing += [f"{p}: {c}" for p in PAGES if p in pages for c in columns if c not in pages[p]]
    missing += [k for k in ("chapter_target_bytes",) if k not in results]
    if missing:
        raise KeyError(f"page-weight results lack {', '.join(map(repr, missing))}")
    lines = [
        "| 页面 | 请求数 | 合计（MB） | gzip 后（MB） | HTML | 脚本 | 样式 | 字体 | 图片 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for path, label in PAGES.items():
        w = pages[path]
        figures = [str(int(w["requests"]))] + [_mb(w[c]) for c in columns[1:]]
        lines.append(f"| {label} | " + " | ".join(figures) + " |")
    chapter, target = pages["book/rmsprop.html"]["bytes"], results["chapter_target_bytes"]
    return "\n".join(lines) + (f"\n\n正文页合计 {_mb(chapter)} MB（目标 ≤ {_mb(target)} MB）\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results") / "page_weight.json"
    )
    args = parser.parse_args()
    results = measure(args.site)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(page_weight_table(results))


if __name__ == "__main__":
    main()
