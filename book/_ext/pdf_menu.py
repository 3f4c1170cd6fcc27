"""The download menu's ".pdf" item opens the book's PDF edition instead of a print dialog.

sphinx-book-theme's download menu ends with ".pdf", a button that calls ``window.print()``:
the browser's print dialog for the one page, not the PDF edition that ``pdf_edition.py``
builds from every page. After the theme has made its header buttons (``html-page-context``
at priority 501), the item becomes a link to the PDF (``pdf_edition_file`` at the site's
root) when this build makes it (Sphinx's ``pdf_edition`` tag); without the PDF the item is
left out, so the menu never offers a file that is not there.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

LABEL = "download-pdf-button"


def _pdf_item(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    for group in context.get("header_buttons", []):
        buttons = group.get("buttons", [])
        for index, button in enumerate(buttons):
            if button.get("label") != LABEL:
                continue
            if not app.tags.has("pdf_edition"):
                del buttons[index]
                break
            buttons[index] = {
                "type": "link",
                "url": context["pathto"](app.config.pdf_edition_file, 1),
                "text": ".pdf",
                "icon": button.get("icon", "fas fa-file-pdf"),
                "tooltip": "下载全书的 PDF 版",
                "label": LABEL,
            }
            break


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _pdf_item, priority=502)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
