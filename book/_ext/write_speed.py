"""Writing a page costs rendering it once: no template compiled, nor document loaded, twice.

* **Compiled templates are kept.** Jinja compiles every template the theme uses (a few
  dozen) the first time a build renders a page: four tenths of a second, paid again by every
  rebuild that writes even one page. Jinja's own bytecode cache keeps the compiled templates
  under the doctree directory (``jinja/``); an entry is used only while its template's
  source is unchanged.
* **The theme's navigation and header are rendered once.** pydata-sphinx-theme (under
  sphinx-book-theme) renders each template of a page's sections once only to see whether it
  comes out empty, and then again into the page. Its own navigation is exempt from that check
  (``templates_skip_empty_check``: slow to render, never empty); the book theme's navigation
  (``sbt-sidebar-nav.html``) and header buttons (``article-header-buttons.html``) are not. In
  this book neither can be empty (the navigation lists the pages; the header always has the
  download and full-screen buttons), so both join the exemption.
* **A document is loaded once for looking things up.** Sphinx numbers the figures by loading
  every document's doctree (pickled on disk), and then resolves each ``{numref}`` by loading
  the doctree of the document it points to, again, for every reference: the chapter's
  eleven references cost a third of a second of unpickling. Both only read the doctrees, so
  while they run, ``env.get_doctree`` hands out one copy per document per build. (Writing a
  page still loads its own fresh copy, which it changes.)

The HTML is the same either way; only the repeated work goes.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path

from jinja2 import FileSystemBytecodeCache
from sphinx.domains.std import StandardDomain
from sphinx.environment.collectors.toctree import TocTreeCollector

NEVER_EMPTY = ("sbt-sidebar-nav.html", "article-header-buttons.html")

# Doctrees loaded for reading, this build: docname -> doctree (see _shared_doctrees).
_READ_ONLY: dict[str, object] = {}


def _exempt(original):
    @functools.wraps(original)
    def wrapper(app, context, templates, section, templates_skip_empty_check=None):
        skip = [*(templates_skip_empty_check or ()), *NEVER_EMPTY]
        return original(app, context, templates, section, templates_skip_empty_check=skip)

    wrapper.never_empty = NEVER_EMPTY  # type: ignore[attr-defined]
    return wrapper


@contextmanager
def _shared_doctrees(env):
    """While inside, ``env.get_doctree(name)`` returns this build's one read-only copy."""
    load = env.get_doctree

    def shared(docname):
        doctree = _READ_ONLY.get(docname)
        if doctree is None:
            doctree = _READ_ONLY[docname] = load(docname)
        return doctree

    env.get_doctree = shared  # an instance attribute, over the method, while inside
    try:
        yield
    finally:
        del env.get_doctree


def _reading_doctrees(original, env_position):
    """``original`` (a method taking the environment as argument ``env_position``), run with
    doctrees shared."""

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        with _shared_doctrees(args[env_position]):
            return original(*args, **kwargs)

    wrapper.shares_doctrees = True  # type: ignore[attr-defined]
    return wrapper


def _start_build(app):
    _READ_ONLY.clear()  # the doctrees on disk are rewritten by this build's reading
    environment = getattr(app.builder.templates, "environment", None)
    if environment is not None:
        directory = Path(app.doctreedir, "jinja")
        directory.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(directory))


def _forget_doctrees(app, env, docnames):
    _READ_ONLY.clear()  # reading starts: what was loaded before may be read again


def setup(app):
    from pydata_sphinx_theme import utils

    if not hasattr(utils._update_and_remove_templates, "never_empty"):
        utils._update_and_remove_templates = _exempt(utils._update_and_remove_templates)
    if not hasattr(TocTreeCollector.get_updated_docs, "shares_doctrees"):
        TocTreeCollector.get_updated_docs = _reading_doctrees(  # type: ignore[method-assign]
            TocTreeCollector.get_updated_docs, 2
        )
    if not hasattr(StandardDomain._resolve_numref_xref, "shares_doctrees"):
        StandardDomain._resolve_numref_xref = _reading_doctrees(  # type: ignore[method-assign]
            StandardDomain._resolve_numref_xref, 1
        )
    if app is not None:
        app.connect("builder-inited", _start_build)
        app.connect("env-before-read-docs", _forget_doctrees)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
