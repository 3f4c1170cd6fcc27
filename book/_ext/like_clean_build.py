"""An incremental build publishes the same bytes as a clean build of the same sources.

Sphinx rebuilds only what changed, and three things it leaves behind would differ from a
clean build:

* **Asset links.** A page links ``_static/x.css?v=<checksum>`` when the file already exists
  while the page is written. MyST-NB, sphinx-exercise and sphinx-mathjax-offline copy their
  files at the end of the build, so a clean build links them without ``?v=`` and a rebuild
  with it. ``_static`` is therefore emptied when writing starts (``write-started``), just
  before Sphinx copies its own files there; a build that writes nothing leaves it alone.
  One exception: MathJax's 24 MB stay, all but the one file pages link (``mathjax_path``),
  since copying them again would cost a one-page rebuild a tenth of a second for nothing.
* **Search terms without pages.** When a re-read page loses a word, Sphinx keeps the word in
  ``searchindex.js`` with an empty page list; such terms are dropped after the index is written.
* **Images no page shows.** An incremental build only ever adds files to ``_images``; the
  ones no page refers to any more are removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.search import js_index


def _empty_static(app, builder):
    if builder.format != "html":
        return
    static = Path(app.outdir, "_static")
    linked = static / app.config.mathjax_path  # e.g. mathjax/tex-chtml.js
    keep = linked.parent if linked.parent != static and static in linked.parents else None
    if not static.is_dir():
        return
    for path in static.iterdir():
        if path == keep:
            linked.unlink(missing_ok=True)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _drop_terms_without_pages(app):
    index = Path(app.outdir, app.builder.searchindex_filename)
    if not index.is_file():
        return
    data = js_index.loads(index.read_text(encoding="utf-8"))
    changed = False
    for key in ("terms", "titleterms"):
        empty = [term for term, pages in data.get(key, {}).items() if pages == []]
        for term in empty:
            del data[key][term]
        changed = changed or bool(empty)
    if changed:
        index.write_text(js_index.dumps(data), encoding="utf-8")


def _prune_images(app):
    images = Path(app.outdir, app.builder.imagedir)
    if images.is_dir():
        shown = {unique for _docs, unique in app.env.images.values()}
        for path in sorted(images.iterdir()):
            if path.is_file() and path.name not in shown:
                path.unlink()


def _finish(app, exception):
    if exception is None and app.builder.format == "html":
        _drop_terms_without_pages(app)
        _prune_images(app)


def setup(app):
    app.connect("write-started", _empty_static)
    app.connect("build-finished", _finish, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
