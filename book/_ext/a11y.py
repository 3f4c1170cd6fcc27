"""Accessibility fixes of the HTML that MyST-NB and docutils write (checked by axe-core).

- **Figure images get a text alternative.** MyST-NB's images carry no ``alt``, so Sphinx
  writes the file name into it (``alt="../_images/<hash>.svg"``), which a screen reader reads
  out. After MyST-NB has picked each output's format (``doctree-resolved`` runs after the
  post-transforms), every image inside a captioned figure that has no ``alt`` of its own
  gets the caption's text, with formulas turned into readable characters
  (``$\\eta=0.4$`` -> ``η=0.4``).
- **The reference list is a valid ARIA list.** docutils gives each citation the role
  ``doc-biblioentry`` inside ``<div role="list">``; ARIA 1.2 deprecated that role, so axe
  reports the list as having no list items (``aria-required-children``, critical). The
  citations are written as ``role="listitem"`` instead.
- **Ids are unique on a page.** sphinx-exercise gives the body of every exercise and every
  solution the same id (``exercise-content``, ``solution-content``; a TODO in its
  ``directive.py`` and ``transforms.py``), four times each on the chapter page. Each body
  gets its own exercise's or solution's id instead, e.g. ``ex-gamma-one-content``.
"""

from __future__ import annotations

import re

from docutils import nodes

_SYMBOLS = {
    r"\eta": "η",
    r"\gamma": "γ",
    r"\epsilon": "ε",
    r"\alpha": "α",
    r"\lambda": "λ",
    r"\mu": "μ",
    r"\theta": "θ",
    r"\odot": "⊙",
    r"\leftarrow": "←",
    r"\cdot": "·",
    r"\times": "×",
    r"\le": "≤",
    r"\ge": "≥",
}
_SUB = dict(zip("0123456789t+-", "₀₁₂₃₄₅₆₇₈₉ₜ₊₋"))
_SUP = dict(zip("0123456789t+-", "⁰¹²³⁴⁵⁶⁷⁸⁹ᵗ⁺⁻"))


def _script(table: dict[str, str], mark: str):
    """``x_{t-1}`` -> ``xₜ₋₁`` where every character has a sub/superscript, else ``x_(t-1)``."""

    def replace(match: re.Match) -> str:
        body = match.group(1) if match.group(1) is not None else match.group(2)
        if all(c in table for c in body):
            return "".join(table[c] for c in body)
        return f"{mark}({body})" if len(body) > 1 else f"{mark}{body}"

    return replace


def latex_to_text(tex: str) -> str:
    """A readable plain-text version of a short formula, for ``alt`` text.

    >>> latex_to_text(r"\\eta/\\sqrt{s_t+\\epsilon}")
    'η/√(sₜ+ε)'
    """
    text = re.sub(r"\\(?:boldsymbol|mathbf|mathrm|text)\{([^{}]*)\}", r"\1", tex)
    while re.search(r"\\sqrt\{[^{}]*\}", text):
        text = re.sub(r"\\sqrt\{([^{}]*)\}", r"√(\1)", text)
    for command in sorted(_SYMBOLS, key=len, reverse=True):
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", _SYMBOLS[command], text)
    text = re.sub(r"_(?:\{([^{}]*)\}|(\w))", _script(_SUB, "_"), text)
    text = re.sub(r"\^(?:\{([^{}]*)\}|(\w))", _script(_SUP, "^"), text)
    text = re.sub(r"\\[,;:! ]|\\(?:left|right)\b", "", text)
    return text.replace("{", "").replace("}", "").strip()


def caption_text(caption: nodes.caption) -> str:
    """The caption as plain text, formulas included."""
    parts = []
    for node in caption.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(node, nodes.math):
            parts.append(latex_to_text(node.astext()))
        elif not isinstance(node.parent, nodes.math):
            parts.append(node.astext())
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _add_alt(app, doctree, docname):
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = caption_text(captions[0])
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = text


SHARED_IDS = ("exercise-content", "solution-content")


def _unique_ids(app, doctree, docname):
    for section in doctree.findall(nodes.section):
        if section["ids"] not in ([shared] for shared in SHARED_IDS):
            continue
        owner = section.parent
        while owner is not None and not owner.get("ids"):
            owner = owner.parent
        if owner is None:  # no enclosing id to borrow: drop the shared one
            section["ids"] = []
        else:
            section["ids"] = [f"{owner['ids'][0]}-content"]


def visit_citation(self, node):
    start = len(self.body)
    type(self).visit_citation(self, node)
    self.body[start:] = [
        part.replace('role="doc-biblioentry"', 'role="listitem"') for part in self.body[start:]
    ]


def depart_citation(self, node):
    type(self).depart_citation(self, node)


def setup(app):
    app.connect("doctree-resolved", _add_alt)
    app.connect("doctree-resolved", _unique_ids)
    app.add_node(nodes.citation, override=True, html=(visit_citation, depart_citation))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
