"""Chinese for the one English label MyST-NB hard-codes into the HTML it writes.

A cell tagged ``hide-input`` becomes ``<details><summary aria-label="Toggle hidden content">``;
the visible prompts are configurable (``nb_code_prompt_show`` / ``nb_code_prompt_hide`` in
``_config.yml``) but this ``aria-label`` is not. The HTML visitor is wrapped to write it in
Chinese. (The theme's labels are translated by ``book/_locale`` and ``book/_templates``;
sphinx-togglebutton's script-made label by ``book/_static/zh-ui.js``.)
"""

from __future__ import annotations

from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput

ENGLISH = 'aria-label="Toggle hidden content"'
CHINESE = 'aria-label="显示或隐藏代码"'


def visit_hide_cell_input(self, node):
    start = len(self.body)
    visit_HideCellInput(self, node)
    self.body[start:] = [part.replace(ENGLISH, CHINESE) for part in self.body[start:]]


def setup(app):
    app.add_node(
        HideCodeCellNode, override=True, html=(visit_hide_cell_input, depart_HideCellInput)
    )
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
