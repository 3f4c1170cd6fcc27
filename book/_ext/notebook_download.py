"""Publish each executed page as a notebook with its outputs, linked from the page header.

MyST-NB writes the executed notebook of every page to ``<build>/jupyter_execute``;
sphinx-book-theme shows a ".ipynb" download entry when the page context has
``ipynb_source``. This extension copies the notebooks next to the page sources and sets it.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _executed(app, docname: str) -> Path:
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"


def _add_link(app, pagename, templatename, context, doctree):
    if _executed(app, pagename).is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def _copy_notebooks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for docname in sorted(app.env.found_docs):
        source = _executed(app, docname)
        if source.is_file():
            target = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def setup(app):
    app.connect("html-page-context", _add_link)
    app.connect("build-finished", _copy_notebooks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
