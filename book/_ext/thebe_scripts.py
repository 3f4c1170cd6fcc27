"""Drop sphinx-thebe's scripts from every page: this book has no live code cells.

Jupyter Book 1.x always loads sphinx-thebe, whose ``init_thebe_core`` adds, unconditionally,
an inline script naming a CDN copy of thebe and ``sphinx-thebe.js``; with this setup it adds
them twice, so every page logged "Identifier 'THEBE_JS_URL' has already been declared" and
named an off-site URL. The page context's ``script_files`` is the public place to change what
a page loads, so the two scripts are filtered out there, page by page.
"""

from __future__ import annotations


def _is_thebe(script) -> bool:
    return str(script.filename or "").endswith(
        "sphinx-thebe.js"
    ) or "THEBE_JS_URL" in script.attributes.get("body", "")


def _drop_thebe_scripts(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app):
    app.connect("html-page-context", _drop_thebe_scripts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
