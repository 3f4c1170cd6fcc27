"""Link check of the built site: every internal link and anchor resolves; external links are
listed (in ``artifacts/external-links.txt`` and on stdout), never fetched."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT
from helpers import built_page

# Attributes that point at another page, a file or an anchor.
LINK_ATTRIBUTES = ("href", "src", "poster", "data")
NOT_CHECKED = ("mailto", "javascript", "data", "tel")


@dataclass
class LinkReport:
    broken: list[str] = field(default_factory=list)
    external: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    checked: int = 0  # internal links followed
    anchors: int = 0  # ... of which name an element in another page


@functools.cache
def _anchors(path: Path) -> set[str]:
    soup = built_page(path)
    return {str(tag["id"]) for tag in soup.find_all(id=True)} | {
        str(tag["name"]) for tag in soup.find_all("a", attrs={"name": True})
    }


def check_site(html: Path) -> LinkReport:
    """Check every ``href``/``src`` of every HTML page under ``html``.

    The pages are the HTML files outside ``_static/``: Sphinx copies theme assets there
    verbatim, including Jinja macro files (``webpack-macros.html``) that are not pages.

    A link is external when it has a network location (``https://...``, ``//host/...``);
    anything else must name a file inside ``html`` (a directory means its ``index.html``)
    and, when it has a fragment and the target is a page, an element with that ``id``.
    """
    html = html.resolve()
    report = LinkReport()
    for page in sorted(html.rglob("*.html")):
        rel_page = page.relative_to(html).as_posix()
        if rel_page.startswith("_static/"):
            continue
        for tag in built_page(page).find_all(True):
            for attribute in LINK_ATTRIBUTES:
                value = tag.get(attribute)
                if not isinstance(value, str) or (attribute == "data" and tag.name != "object"):
                    continue
                url = value.strip()
                parts = urlsplit(url)
                if parts.scheme in NOT_CHECKED:
                    continue
                where = f"{rel_page}: <{tag.name} {attribute}={value!r}>"
                if parts.scheme or parts.netloc:
                    if parts.scheme in ("http", "https", ""):
                        report.external[url].add(rel_page)
                    else:
                        report.broken.append(f"{where}: unsupported scheme {parts.scheme!r}")
                    continue
                report.checked += 1
                report.anchors += bool(parts.path and parts.fragment)
                problem = _resolve(html, page, parts.path, parts.fragment)
                if problem:
                    report.broken.append(f"{where}: {problem}")
    return report


def _resolve(html: Path, page: Path, path: str, fragment: str) -> str | None:
    if path:
        path = unquote(path)
        if path.startswith("/"):
            return "absolute path: it breaks when the site is not served from the domain root"
        target = (page.parent / PurePosixPath(path)).resolve()
        if not target.is_relative_to(html):
            return f"leads outside the site to {target}"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return f"no such file {target.relative_to(html).as_posix()}"
    else:
        target = page
    fragment = unquote(fragment)
    if fragment and target.suffix == ".html" and fragment not in _anchors(target):
        return f"no element with id {fragment!r} in {target.relative_to(html).as_posix()}"
    return None


def write_external_report(report: LinkReport, dest: Path) -> str:
    lines = [f"{url}\t{', '.join(sorted(pages))}" for url, pages in sorted(report.external.items())]
    text = "# External links of the built site (listed, not fetched): URL<TAB>pages\n" + "".join(
        line + "\n" for line in lines
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    return text


@pytest.mark.book
def test_every_internal_link_and_anchor_of_the_built_site_resolves(built_book):
    report = check_site(built_book.html)
    text = write_external_report(report, ROOT / "artifacts" / "external-links.txt")
    print(text)
    assert not report.broken, "broken links:\n" + "\n".join(report.broken)
    # The check saw the site: the chapter's links to the other pages and its own anchors.
    assert report.checked > 100 and report.anchors > 10, (report.checked, report.anchors)
    # Only links to pages outside the site are listed, each with a page that has it.
    assert all(
        url.startswith(("http://", "https://", "//")) and pages
        for url, pages in report.external.items()
    )


def reachable_pages(html: Path, start: str) -> set[str]:
    """Pages a reader reaches from ``start`` by following what a page shows: its links
    (``<a href>``) and forms (the search box's ``action``), not ``<link rel>`` in its head."""
    html = html.resolve()
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        page = html / name
        for tag in built_page(page).find_all(["a", "form"]):
            value = tag.get("href" if tag.name == "a" else "action")
            parts = urlsplit(value.strip()) if isinstance(value, str) else None
            if parts is None or parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page.parent / PurePosixPath(unquote(parts.path))).resolve()
            if target.is_dir():
                target = target / "index.html"
            if target.suffix == ".html" and target.is_file() and target.is_relative_to(html):
                todo.append(target.relative_to(html).as_posix())
    return seen


@pytest.mark.book
def test_every_page_of_the_site_is_reached_from_the_front_page(built_book):
    pages = {
        p.relative_to(built_book.html).as_posix()
        for p in built_book.html.rglob("*.html")
        if not p.relative_to(built_book.html).as_posix().startswith("_static/")
    }
    reached = reachable_pages(built_book.html, "book/index.html")
    # index.html at the site's root only sends the browser on to book/index.html
    assert pages - reached == {"index.html"}
    assert {"genindex.html", "py-modindex.html", "search.html"} <= reached


def test_a_page_only_named_in_the_head_is_not_reached(tmp_path):
    site = tmp_path / "html"
    _write(site / "book" / "index.html", '<a href="../other.html">other</a>')
    _write(site / "other.html", '<form action="search.html"></form>')
    _write(site / "search.html", "")
    (site / "genindex.html").write_text(
        '<html><head><link rel="index" href="genindex.html"></head></html>', encoding="utf-8"
    )
    (site / "book" / "index.html").write_text(
        (site / "book" / "index.html")
        .read_text(encoding="utf-8")
        .replace("<html>", '<html><head><link rel="index" href="../genindex.html"></head>'),
        encoding="utf-8",
    )
    assert reachable_pages(site, "book/index.html") == {
        "book/index.html",
        "other.html",
        "search.html",
    }


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", encoding="utf-8")


def test_the_link_check_reports_every_kind_of_broken_link(tmp_path):
    site = tmp_path / "html"
    _write(
        site / "index.html",
        '<a href="book/page.html">ok</a>'
        '<a href="book/page.html#intro">ok anchor</a>'
        '<a href="book/">ok directory</a>'
        '<a href="#top" id="top">ok own anchor</a>'
        '<a href="book/missing.html">missing page</a>'
        '<a href="book/page.html#nowhere">missing anchor</a>'
        '<a href="#gone">missing own anchor</a>'
        '<img src="_images/fig.png">'
        '<script src="_static/app.js"></script>'
        '<a href="../outside.html">outside</a>'
        '<a href="https://example.org/paper.pdf">external</a>'
        '<a href="mailto:someone@example.org">mail</a>',
    )
    _write(
        site / "book" / "page.html",
        '<h1 id="intro">x</h1><h2 id="小节">y</h2><a href="../index.html#top">up</a>',
    )
    _write(
        site / "book" / "index.html",
        '<a href="page.html#%E5%B0%8F%E8%8A%82">ok encoded anchor</a>'
        '<a href="page.html#%E4%B8%AD">missing encoded anchor</a><span id="中">中</span>',
    )
    (site / "_static").mkdir()
    (site / "_static" / "app.js").write_text("", encoding="utf-8")

    report = check_site(site)
    assert sorted(report.broken) == sorted(
        [
            "index.html: <a href='book/missing.html'>: no such file book/missing.html",
            "index.html: <a href='book/page.html#nowhere'>: no element with id 'nowhere' in "
            "book/page.html",
            "index.html: <a href='#gone'>: no element with id 'gone' in index.html",
            "index.html: <img src='_images/fig.png'>: no such file _images/fig.png",
            f"index.html: <a href='../outside.html'>: leads outside the site to "
            f"{(tmp_path / 'outside.html').resolve()}",
            "book/index.html: <a href='page.html#%E4%B8%AD'>: no element with id '中' in "
            "book/page.html",
        ]
    )
    assert dict(report.external) == {"https://example.org/paper.pdf": {"index.html"}}
    text = write_external_report(report, tmp_path / "report.txt")
    assert "https://example.org/paper.pdf\tindex.html\n" in text
