"""Give every figure's image a text alternative: its caption, in plain text.

MyST-NB's images carry no ``alt``, so Sphinx writes the file name into it
(``alt="../_images/<hash>.svg"``), which a screen reader reads out. After MyST-NB has picked
each output's format (``doctree-resolved`` runs after the post-transforms), every image
inside a captioned figure that has no ``alt`` of its own gets the caption's text, with the
caption's formulas turned into readable characters (``$\\eta=0.4$`` -> ``η=0.4``).
"""

from __future__ import annotations

import re

from docutils import nodes

_SYMBOLS = {r"\eta": "η", r"\gamma": "γ", r"\epsilon": "ε", r"\alpha": "α",
            r"\lambda": "λ", r"\mu": "μ", r"\theta": "θ", r"\odot": "⊙",
            r"\leftarrow": "←", r"\cdot": "·", r"\times": "×", r"\le": "≤", r"\ge": "≥"}
_SUB = str.maketrans("0123456789t", "₀₁₂₃₄₅₆₇₈₉ₜ")
_SUP = str.maketrans("0123456789t", "⁰¹²³⁴⁵⁶⁷⁸⁹ᵗ")


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
    text = re.sub(r"_\{?([0-9t])\}?", lambda m: m.group(1).translate(_SUB), text)
    text = re.sub(r"\^\{?([0-9t])\}?", lambda m: m.group(1).translate(_SUP), text)
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


def setup(app):
    app.connect("doctree-resolved", _add_alt)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
