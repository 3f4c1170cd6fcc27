"""MathJax loaded as the parts the book uses, not the all-in-one ``tex-chtml.js``.

``tex-chtml.js`` (1.16 MB) bundles MathJax's right-click menu (0.43 MB of it) with the TeX
input and the HTML output. The site loads ``startup.js`` instead, which fetches the
components named in ``mathjax3_config.loader.load`` (``_config.yml``): the TeX input
(with the AMS macros), the CommonHTML output and the hidden MathML that screen readers read
(``a11y/assistive-mml``); TeX packages such as ``boldsymbol`` are still loaded on demand.
Every formula is typeset exactly as before (the browser tests check that each is typeset
without error); only the menu is gone. The chapter page loads 0.4 MB less.

sphinx-mathjax-offline, which serves MathJax from the site, sets ``mathjax_path`` to
``tex-chtml.js`` in its ``setup()``, over any value in the configuration; this sets it back
once the configuration is read (``config-inited``).
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.config import Config

STARTUP = "mathjax/startup.js"


def _use_startup(app: Sphinx, config: Config) -> None:
    config.mathjax_path = STARTUP


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _use_startup)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
