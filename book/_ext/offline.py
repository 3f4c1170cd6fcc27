"""Keep pages free of scripts that point off-site.

Jupyter Book 1.x always loads sphinx-thebe, whose ``init_thebe_core`` adds an inline script
naming a CDN copy of thebe and, in this setup, adds it twice, so every page logs
"Identifier 'THEBE_JS_URL' has already been declared". This book has no launch buttons, so
thebe's page scripts are dropped by disconnecting that one listener.
"""

from __future__ import annotations


def _drop_thebe_scripts(app):
    for listener in list(app.events.listeners.get("env-before-read-docs", [])):
        if getattr(listener.handler, "__module__", "") == "sphinx_thebe" and \
                listener.handler.__name__ == "init_thebe_core":
            app.disconnect(listener.id)


def setup(app):
    app.connect("builder-inited", _drop_thebe_scripts)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
