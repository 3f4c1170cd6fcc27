"""Publish an edited style sheet or script even when a rebuild writes no page.

Sphinx 7 copies the files of ``html_static_path`` (the book's ``book/_static``, the print
style sheet in ``pdf_static``) into the site only after writing pages. A rebuild after an
edit to, say, ``book/_static/explorer.css`` alone wrote no page and left the old file in the
site: the live preview went on showing it, and the PDF edition, which notices the edit, was
printed again with the old print style. Sphinx 8.2 copies static files on every build
(https://github.com/sphinx-doc/sphinx/pull/13236, closing sphinx-doc/sphinx#1810); Jupyter
Book 1.x pins Sphinx 7. Until then, at the end of every HTML build this extension copies
them again with Sphinx's public ``copy_asset``, which writes only files whose bytes differ,
before the PDF edition prints the pages (``build-finished`` at priority 400; 500 is the
default).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util.fileutil import copy_asset


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for entry in app.config.html_static_path:
        copy_asset(
            Path(app.confdir, entry),
            Path(app.outdir, "_static"),
            # (dot files, as Sphinx leaves them out; a template "*_t" Sphinx renders itself)
            excluded=lambda path: Path(path).name.startswith(".") or str(path).endswith("_t"),
        )


def setup(app):
    app.connect("build-finished", _copy, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
