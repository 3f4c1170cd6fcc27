"""Chinese set like a book: no space where the source breaks a line between two CJK characters,
nor next to full-width punctuation; and no line starting with the "，" after a formula.

Authors keep writing short source lines. Markdown (and reStructuredText) keep a soft line
break as a newline in the text, and Chromium renders a newline between two Chinese
characters as a space ("累加起来， 再用"); Firefox drops it, most readers' browser does not.

A Sphinx post-transform removes such a break, with the spaces around it, from the text of
every document Sphinx writes: the MyST pages, the notebooks' Markdown outputs and the
reStructuredText of the docstrings autodoc pulls in. It runs after cross-references are
resolved (a ``{numref}`` becomes "图 1" only then) and before the search index and the
figures' text alternatives (``a11y.py``, at ``doctree-resolved``) read the text. It leaves
alone:

- a break between CJK and anything else: Latin words, digits, inline code and math keep
  their spaces (``AdaGrad\\n做了`` stays ``AdaGrad 做了``), except next to full-width
  punctuation, which carries its own space (``。\\n`get_data_ch7``` loses the break);
- the text of code, math and raw markup (``literal``, ``literal_block``, ``math``, ...).

Why not the markdown-it plugin ``mdit-py-cjk-friendly``: MyST-Parser offers no public
setting to add a markdown-it plugin, the plugin would not reach autodoc's docstrings, and it
also changes how emphasis is parsed, which this book does not need.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

# Characters between which Chinese puts no space: ideographs, kana, CJK and full-width
# punctuation. Quotes, dashes and ellipses are also used in Latin text, so they count only
# when the other side of the break is one of the former.
_STRONG = (
    "\u2e80-\u2fdf"  # radicals
    "\u3000-\u303f"  # CJK symbols and punctuation (、。「」〈〉…)
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # ideographs
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # full-width forms (，：；！？（）)
    "\U00020000-\U0003134f"  # ideographs, extensions B-G
)
_WEAK = "\u2014\u2018\u2019\u201c\u201d\u2026\u00b7"  # — ‘ ’ “ ” … ·
STRONG = re.compile(f"[{_STRONG}]")
# Full-width punctuation (、。「」（），：；！？ ...): no space beside it, whatever the other side.
PUNCTUATION = re.compile("[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")
CJK = re.compile(f"[{_STRONG}{_WEAK}]")
BREAK = re.compile(r"[ \t]*\n\s*")

# Nodes whose text is shown as written.
KEEP = (
    nodes.FixedTextElement,  # literal_block, math_block, doctest_block, ...
    nodes.literal,
    nodes.math,
    nodes.raw,
    nodes.comment,
    addnodes.desc_signature,
)


def joins(before: str, after: str) -> bool:
    """Whether a line break between the characters ``before`` and ``after`` is removed."""
    if PUNCTUATION.fullmatch(before) or PUNCTUATION.fullmatch(after):
        return True
    if not (CJK.fullmatch(before) and CJK.fullmatch(after)):
        return False
    return bool(STRONG.fullmatch(before) or STRONG.fullmatch(after))


def _kept(text: nodes.Text) -> bool:
    parent = text.parent
    while parent is not None:
        if isinstance(parent, KEEP):
            return True
        parent = parent.parent
    return False


def _block(text: nodes.Text) -> nodes.Element | None:
    """The paragraph-like element the text belongs to (its breaks join only its own text)."""
    parent = text.parent
    while isinstance(parent, nodes.Inline) and isinstance(parent, nodes.Element):
        parent = parent.parent
    return parent if isinstance(parent, nodes.Element) else None


def join_lines(texts: list[str], kept: list[bool]) -> list[str]:
    """The strings of one block's text nodes, in order, with CJK line breaks removed.

    A break may sit at the edge of a node (MyST writes each soft break as its own ``"\\n"``
    node), so the characters on either side are looked up across the neighbouring strings.
    Strings marked ``kept`` are never changed, but their characters count as neighbours.
    """
    joined = "".join(texts)
    starts = []
    position = 0
    for text in texts:
        starts.append(position)
        position += len(text)
    out = []
    for text, start, keep in zip(texts, starts, kept):
        if keep or "\n" not in text:
            out.append(text)
            continue

        def replace(match: re.Match[str], start: int = start) -> str:
            first, last = start + match.start(), start + match.end()
            before = joined[first - 1] if first > 0 else ""
            after = joined[last] if last < len(joined) else ""
            return "" if before and after and joins(before, after) else match.group()

        out.append(BREAK.sub(replace, text))
    return out


class JoinCJKLines(SphinxPostTransform):
    """Remove line breaks (and the spaces around them) between two CJK characters, and next
    to full-width punctuation."""

    default_priority = 900  # after the references are resolved (10) and MyST-NB's glue

    def run(self, **kwargs) -> None:
        blocks: dict[int, list[nodes.Text]] = {}
        for text in self.document.findall(nodes.Text):
            blocks.setdefault(id(_block(text)), []).append(text)
        for texts in blocks.values():
            if not any("\n" in t for t in texts):
                continue
            kept = [_kept(t) for t in texts]
            new = join_lines([str(t) for t in texts], kept)
            for text, value in zip(texts, new):
                if value != str(text):
                    # by identity: Element.replace() would find the first equal string
                    siblings = text.parent.children
                    index = next(i for i, child in enumerate(siblings) if child is text)
                    text.parent[index] = nodes.Text(value)


# Full-width punctuation no Chinese line starts with (commas, stops, closing brackets).
CLOSING = re.compile("[、。，．：；！？）」』】〉》〕］｝”’…]")


class KeepPunctuationWithMath(SphinxPostTransform):
    """Keep the full-width punctuation right after an inline formula on the formula's line.

    Chromium may break a line between MathJax's inline box and the "，" after it, so that
    a line starts with the comma, which Chinese typesetting never does. The formula and the
    mark go into ``<span class="nowrap">`` (the book's CSS keeps it on one line)."""

    default_priority = 901  # after JoinCJKLines, which may bring the mark next to the math

    def run(self, **kwargs) -> None:
        for math in list(self.document.findall(nodes.math)):
            parent = math.parent
            index = next(i for i, child in enumerate(parent.children) if child is math)
            after = parent.children[index + 1] if index + 1 < len(parent.children) else None
            if not isinstance(after, nodes.Text) or not CLOSING.match(after):
                continue
            wrapper = nodes.inline("", "", classes=["nowrap"])
            parent[index] = wrapper
            wrapper += math
            wrapper += nodes.Text(after[0])
            if len(after) > 1:
                parent[index + 1] = nodes.Text(after[1:])
            else:
                del parent[index + 1]


def setup(app):
    app.add_post_transform(JoinCJKLines)
    app.add_post_transform(KeepPunctuationWithMath)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
