"""A page's MyST Markdown made plain Jupyter Markdown that reads as the built page does.

JupyterLab, VS Code and nbconvert know CommonMark, ``$...$`` math and HTML, not MyST. What the
book resolves at build time is written out as text from :class:`References`, which
``notebook_download.py`` fills from Sphinx's resolved state:

==================================  ============================================================
MyST in the page                    plain Markdown in the notebook
==================================  ============================================================
``(label)=`` target, ``%`` comment  dropped
``$$ ... $$ (label)``               ``$$ ... \\tag{n} $$``
``{eq}`label```                     ``(n)``, as the page prints it
``{numref}`label```                 ``图 n`` (Sphinx's ``numfig_format``)
``{cite:p}`key```                   ``[TH12]``; ``{bibliography}`` becomes the list of entries
``{glue:text}`name:fmt```           the value, formatted as MyST-NB formats it
``{doc}`` / ``{ref}``               the title of the page or section
``{exercise}``                      a heading "练习 n" and the question
``{solution-start}`` ... ``-end``   ``<details><summary>解答 练习 n</summary>`` ... ``</details>``
                                    (one per Markdown cell; the solution's code cells are
                                    folded by :func:`fold_code_cell`)
``{dropdown}``                      ``<details>``
``{container} interactive-only``    dropped (the web page's interactive text)
``{container} static-only``         kept (what the PDF and the notebook say instead)
==================================  ============================================================

Anything else in MyST syntax is an error naming it, so a page that grows new syntax fails the
build instead of shipping raw MyST.

A paragraph's soft line break between Chinese characters is removed, as ``cjk_breaks.py``
removes it from the web page: Jupyter renders it as a space ("起来， 再用").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cjk_breaks import joins

ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}`(?P<text>[^`]*)`")
DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$"
)
CODE_FENCE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
OPTION = re.compile(r"^[ \t]*:(?P<name>[\w-]+):(?:[ \t]+(?P<value>.*?))?[ \t]*$")
TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
DISPLAY_MATH = re.compile(
    r"\$\$(?P<body>.*?)\$\$[ \t]*(?:\((?P<label>[^()\s]+)\))?[ \t]*$", re.S | re.M
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
PY_ROLES = {"class", "func", "meth", "mod", "attr", "obj", "exc", "data", "const"}
CITE_ROLES = {"cite", "cite:p", "cite:ps"}
SOLUTION_START, SOLUTION_END = "\0solution-start:", "\0solution-end"  # markers between passes


class MarkdownError(Exception):
    """The Markdown holds MyST the notebook cannot show as the page does."""


@dataclass
class References:
    """What a page's references resolved to in this build (all text as the page prints it)."""

    equations: dict[str, str] = field(default_factory=dict)  # label -> "1"
    eqref_format: str = "({number})"  # how an equation reference prints its number
    numbered: dict[str, str] = field(default_factory=dict)  # figure/exercise label -> "图 1"
    sections: dict[str, str] = field(default_factory=dict)  # section label -> title
    documents: dict[str, str] = field(default_factory=dict)  # page name -> title
    citations: dict[str, str] = field(default_factory=dict)  # key -> "TH12"
    bibliography: list[tuple[str, str]] = field(default_factory=list)  # (label, entry)
    glue: dict[str, str] = field(default_factory=dict)  # name -> text/plain
    format_glue: Callable[[str, str], str] = lambda text, spec: text
    solution: str = "解答"  # the title of a solution, before the exercise it answers


@dataclass
class _State:
    in_solution: str | None = None  # the summary of the open solution
    heading: int = 1  # level of the last heading seen


class MarkdownConverter:
    """Converts a notebook's Markdown cells one after another (a solution spans cells)."""

    def __init__(self, refs: References, doc: Callable[[str], str] | None = None) -> None:
        self.refs = refs
        self.state = _State()
        # The page name a {doc} target names (relative to the page); identity by default.
        self.doc = doc or (lambda target: target)

    # --- cells --------------------------------------------------------------------------

    def cell(self, source: str) -> str:
        """Plain Markdown for one cell's ``source``."""
        summary = self.state.in_solution  # a solution left open by the cells before
        lines = self._block(source.splitlines())
        out = [self._open_details(f"{summary}（续）"), ""] if summary else []
        for line in lines:
            if line.startswith(SOLUTION_START):
                out += [self._open_details(line[len(SOLUTION_START) :]), ""]
            elif line == SOLUTION_END:
                out += ["", "</details>"]
            else:
                out.append(line)
        if self.state.in_solution is not None:
            out += ["", "</details>"]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
        text = re.sub(r"<details><summary>[^\n]*</summary>\s*</details>", "", text)
        return text.strip()

    @property
    def in_solution(self) -> bool:
        """Whether the cell converted last left a solution open (its code is the answer)."""
        return self.state.in_solution is not None

    # --- blocks -------------------------------------------------------------------------

    def _block(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        prose = False  # whether the line written last is a line of a paragraph
        i = 0
        while i < len(lines):
            line = lines[i]
            directive, code = DIRECTIVE.match(line), CODE_FENCE.match(line)
            if directive:
                end = _closing(lines, i + 1, directive["fence"])
                options, body = _options(lines[i + 1 : end])
                out += self._directive(directive["name"], directive["arg"].strip(), options, body)
                i = end + 1
            elif code:
                end = _closing(lines, i + 1, code["fence"])
                out += lines[i : end + 1]
                i = end + 1
            elif line.lstrip().startswith("$$"):
                i = self._math(lines, i, out)
            elif TARGET.match(line) or line.startswith("%") or line.strip() == "+++":
                i += 1
            else:
                heading = re.match(r"^(#{1,6})\s", line)
                if heading:
                    self.state.heading = len(heading[1])
                text = self._inline(line)
                if prose and not heading and _cjk_break(out[-1], text):
                    out[-1] = out[-1].rstrip() + text.lstrip()  # as the web page sets it
                else:
                    out.append(text)
                prose = not heading and bool(text.strip())
                i += 1
                continue
            prose = False  # any other block ends the paragraph
        return out

    def _math(self, lines: list[str], i: int, out: list[str]) -> int:
        """Copy the display math starting at line ``i``; a label becomes ``\\tag{n}``."""
        math = DISPLAY_MATH.match("\n".join(lines[i:]).lstrip())
        if math is None:
            raise MarkdownError(f"unclosed $$ math: {lines[i]!r}")
        body = [line for line in math["body"].strip().splitlines() if line.strip()]
        if math["label"] is not None:
            body.append(f"\\tag{{{self._equation(math['label'])}}}")
        out += ["$$", *body, "$$"]
        return i + math.group().count("\n") + 1

    def _directive(self, name: str, arg: str, options: dict[str, str], body: list[str]):
        classes = set(options.get("class", "").split()) | (
            set(arg.split()) if name in {"container", "div"} else set()
        )
        if name == "exercise":
            number = self._numbered(options.get("label", ""))
            title = f"{number}（{self._inline(arg)}）" if arg else number
            level = "#" * min(self.state.heading + 1, 6)
            return [f"{level} {title}", "", *self._block(body)]
        if name == "solution-start":
            self.state.in_solution = f"{self.refs.solution} {self._numbered(arg)}"
            return [SOLUTION_START + self.state.in_solution]
        if name == "solution-end":
            if self.state.in_solution is None:
                raise MarkdownError("{solution-end} without {solution-start}")
            self.state.in_solution = None
            return [SOLUTION_END]
        if name == "solution":
            summary = f"{self.refs.solution} {self._numbered(arg)}"
            return [self._open_details(summary), "", *self._block(body), "", "</details>"]
        if name == "dropdown":
            return [self._open_details(self._inline(arg)), "", *self._block(body), "", "</details>"]
        if name in {"container", "div"} and "interactive-only" in classes:
            return []
        if name in {"container", "div"}:
            return self._block(body)
        if name == "bibliography":
            return [f"- [{label}] {entry}" for label, entry in self.refs.bibliography]
        if name in {"code-block", "code", "sourcecode"}:
            return [f"```{arg}", *body, "```"]
        if name == "math":
            label = options.get("label")
            tag = [f"\\tag{{{self._equation(label)}}}"] if label else []
            return ["$$", *[b for b in body if b.strip()], *tag, "$$"]
        raise MarkdownError(f"the directive {{{name}}} has no plain-Markdown form in the notebook")

    def _open_details(self, summary: str) -> str:
        return f"<details><summary>{summary}</summary>"

    # --- roles --------------------------------------------------------------------------

    def _inline(self, line: str) -> str:
        parts = re.split(r"(`+[^`]*`+)", line)  # leave inline code alone ...
        out, k = [], 0
        while k < len(parts):
            part = parts[k]
            # ... except a role's argument, which the split put into the next part
            if k + 1 < len(parts) and re.search(r"\{[A-Za-z][\w:+.-]*\}$", part):
                role = re.search(r"\{([A-Za-z][\w:+.-]*)\}$", part)
                assert role is not None
                text = parts[k + 1].strip("`")
                out.append(part[: role.start()] + self._role(role[1], text))
                k += 2
                continue
            out.append(part)
            k += 1
        return "".join(out)

    def _role(self, name: str, text: str) -> str:
        explicit = EXPLICIT.match(text)
        shown, target = (explicit["text"], explicit["target"]) if explicit else (None, text)
        if name == "eq":
            return self.refs.eqref_format.format(number=self._equation(target))
        if name == "numref":
            number = self._numbered(target)
            if shown:
                digits = number.split()[-1]
                return shown.replace("%s", digits).replace("{number}", digits)
            return number
        if name in CITE_ROLES:
            keys = [key.strip() for key in text.split(",")]
            labels = [self._lookup(self.refs.citations, key, "citation") for key in keys]
            return "[" + ", ".join(labels) + "]"
        if name in {"glue:text", "glue", "glue:any"}:
            key, _, spec = text.rpartition(":") if ":" in text else (text, "", "")
            value = self._lookup(self.refs.glue, key, "glued value")
            return self.refs.format_glue(value, spec)
        if name == "doc":
            return shown or self._lookup(self.refs.documents, self.doc(target), "page")
        if name == "ref":
            return shown or self._lookup(self.refs.sections, target, "section label")
        if name == "notebook-zip":
            return f"`{text}`"
        if name == "math":
            return f"${text}$"
        domain, _, role = name.rpartition(":")
        if role in PY_ROLES and domain in {"", "py"}:
            if shown:
                return f"`{shown}`"
            return f"`{target[1:].rsplit('.', 1)[-1]}`" if target.startswith("~") else f"`{target}`"
        raise MarkdownError(f"the role {{{name}}} has no plain-Markdown form in the notebook")

    def _equation(self, label: str) -> str:
        return self._lookup(self.refs.equations, label, "equation label")

    def _numbered(self, label: str) -> str:
        return self._lookup(self.refs.numbered, label, "figure or exercise label")

    @staticmethod
    def _lookup(table: dict[str, str], key: str, what: str) -> str:
        if key not in table:
            raise MarkdownError(f"unknown {what} {key!r}")
        return table[key]


# A line that starts a block of its own: a list item, a quote or a table row.
BLOCK_START = re.compile(r"\s*(?:[-*+]\s|\d+[.)]\s|>|\|)")


def _cjk_break(line: str, following: str) -> bool:
    """Whether the soft break between two lines of a paragraph goes, as ``cjk_breaks.py``
    removes it on the web page: Jupyter renders it as a space, even between Chinese
    characters. Emphasis marks are looked through; links, code and math are not. A line
    that starts a list item, quote or table row is not part of the paragraph."""
    if BLOCK_START.match(following):
        return False
    before, after = line.rstrip().rstrip("*_"), following.lstrip().lstrip("*_")
    return bool(before and after) and joins(before[-1], after[0])


def _closing(lines: list[str], start: int, fence: str) -> int:
    """The index of the line closing a fence opened with ``fence``."""
    for j in range(start, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return j
    raise MarkdownError(f"unclosed fence {fence}")


def _options(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's ``:name: value`` options and its body (YAML front matter not used here)."""
    options: dict[str, str] = {}
    k = 0
    while k < len(lines):
        option = OPTION.match(lines[k])
        if not option:
            break
        options[option["name"]] = (option["value"] or "").strip().strip("\"'")
        k += 1
    return options, lines[k:]
