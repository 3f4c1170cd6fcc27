"""Compile the theme's page templates once, not again in every build that writes a page.

Sphinx renders each page through Jinja templates (the book theme's, pydata-sphinx-theme's,
``book/_templates``), and Jinja compiles a template to Python the first time a process uses
it. Every ``jupyter-book build`` is a new process, so a rebuild after a one-sentence edit
compiled some forty templates again: about 0.2 s of its 2.9 s on the maintainers' 2-core
machine (``benchmarks/book_build.py``).

Jinja's own bytecode cache (``jinja2.FileSystemBytecodeCache``) keeps the compiled templates
in the build's doctree directory. Jinja uses an entry only while the template's source is
unchanged: it checks a checksum of the source, and Jinja's and Python's versions, so an edited
template or an upgraded theme is compiled again. What is rendered does not change.

Sphinx's public route to its template engine is the ``template_bridge`` setting
(``_config.yml``: ``template_bridge: template_cache.CachedTemplateLoader``); the class below is
Sphinx's own loader with the cache set on the Jinja environment that loader creates.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from sphinx.jinja2glue import BuiltinTemplateLoader

CACHE_DIR = "jinja"  # in the doctree directory, next to the pickled environment


class CachedTemplateLoader(BuiltinTemplateLoader):
    """Sphinx's template loader, with compiled templates kept between builds."""

    def init(self, builder, theme=None, dirs=None) -> None:
        super().init(builder, theme, dirs)
        directory = Path(builder.doctreedir, CACHE_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        self.environment.bytecode_cache = jinja2.FileSystemBytecodeCache(str(directory))


def setup(app):
    # Loaded as an extension so that ``template_bridge`` can import the class above.
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
