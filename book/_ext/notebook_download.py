"""Publish each executed page as a notebook, and chosen pages as a zip that runs anywhere.

MyST-NB writes the executed notebook of every page to ``<build>/jupyter_execute``
(``myst_nb.sphinx_ext.OUTPUT_FOLDER``). At the end of an HTML build this extension

* publishes it as ``_sources/<page>.ipynb``, which sphinx-book-theme offers as ".ipynb" in
  the page's download menu (the page context's ``ipynb_source``);
* for a page that uses the role ``{notebook-zip}`link text```, also writes ``<page>.zip``
  beside the page's HTML: the notebook with its outputs, the source of ``rmsprop_lib`` as
  the notebook imported it (data file included) and a README saying what to install
  (Python, torch, matplotlib, Jupyter) and what ``fused=True`` does there. Jupyter (and
  Colab) run a notebook in its own folder, so ``import rmsprop_lib`` finds the library beside
  it with nothing of it installed. The role links the zip from the page's text, and the zip
  is added to the download menu.

The published notebook is the executed one, made standalone, readable and reproducible:

* ``from myst_nb import glue`` becomes a visible four-line ``glue`` that only displays its
  value (in the book, glue puts the value into the page's prose; nothing installs MyST-NB
  on a reader's machine). Any other import of ``myst_nb`` is reported as a warning. The
  outputs that only recorded a glued value for the book are dropped.
* the Markdown cells become plain Jupyter Markdown that reads as the page does
  (``notebook_markdown.py``): after the build resolved the references, equation, figure and
  exercise numbers, citation labels, glued values and titles are written out as text, a
  numbered figure gets its caption below its cell, exercises become headings and their
  solutions ``<details>``. A ``literalinclude`` becomes the code block it shows in the
  book, since its relative path means nothing in the download. MyST without a plain form
  fails the build with the cell named.
* cells the book hides (``remove-cell``, ``hide-input``, ... and the code of a folded
  solution) are kept, so the notebook runs top to bottom, and folded the way JupyterLab and
  VS Code fold cells (``metadata.jupyter.source_hidden`` / ``outputs_hidden``).
* cell ids are derived from the cells' content instead of being random, and zip entries
  have a fixed order, timestamp and mode, so two builds publish identical bytes (apart
  from what the cells print differently, such as wall-clock times).

A zip that would carry an absolute path of the building machine is not published; a
warning names the page and the file (and the strict build fails on it). Notebooks published
without a zip are left to the site-wide path scan of the test suite, like the page's HTML
that shows the same outputs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import posixpath
import re
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat
import yaml
from docutils import nodes
from myst_nb.core.variables import format_plain_text
from myst_nb.sphinx_ext import OUTPUT_FOLDER
from sphinx.application import Sphinx
from sphinx.directives.code import LiteralIncludeReader
from sphinx.util import docname_join, logging
from sphinx.util.docutils import SphinxRole

from notebook_markdown import MarkdownConverter, MarkdownError, References

logger = logging.getLogger(__name__)

PACKAGE = "rmsprop_lib"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".so", ".pyd", ".dylib", ".o"}

GLUE_IMPORT = re.compile(r"^from[ \t]+myst_nb[ \t]+import[ \t]+glue[ \t]*(?:#.*)?$", re.MULTILINE)
MYST_NB_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+myst_nb\b", re.MULTILINE)
GLUE_STANDIN = '''\
import IPython.display


def glue(name, value, display=True):
    """代替 myst_nb.glue：书中它把 value 以 name 为名嵌进正文，在笔记本里只需按要求显示 value。"""
    if display:
        IPython.display.display(value)'''

LITERALINCLUDE = re.compile(
    r"^(?P<fence>`{3,})\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n"
    r"(?P<options>(?:[ \t]*:[\w-]+:.*\n)*)"
    r"(?P=fence)[ \t]*$",
    re.MULTILINE,
)
LANGUAGES = {".py": "python", ".c": "c"}

README = """\
# {title}：可以运行的笔记本

- `{notebook}`：本节的 Jupyter 笔记本，保留了构建本书时运行得到的全部输出。
- `{package}/`：笔记本调用的库的源代码，包括数据文件 `{package}/data/`。

## 需要什么

Python 3.11 或更新版本，PyTorch 2.11 或更新的 2.x 版本，matplotlib 3.8 或更新版本，
以及 Jupyter（JupyterLab、Jupyter Notebook 或 VS Code 的 Jupyter 扩展都可以），例如：

    pip install "torch>=2.11,<3" "matplotlib>=3.8" jupyterlab

Colab 已经全部自带。`{package}` 不用安装：笔记本在它所在的文件夹里运行，
`import {package}` 会找到旁边的这个文件夹。

- **Jupyter**：把压缩包解压到一个新文件夹，在其中运行 `jupyter lab`，打开 `{notebook}`。
- **Colab**：用“文件 → 上传笔记本”打开 `{notebook}`，再把 `{archive}` 上传到左侧的“文件”
  面板，新建一个单元运行 `!unzip -o {archive}`。

## 笔记本与书中这一节的对应

公式编号、图号、文献引用（如 [TH12]，文献列表在笔记本末尾）和书中嵌进正文的数值都已写成文字；
练习的解答折叠在“解答”里，解答用到的代码单元也是折叠的，点开即可查看和运行。
书中用 `myst_nb.glue` 把算出的数值嵌进正文；笔记本开头几个代码单元中定义的 `glue` 是它的替身，
只负责显示（`display=False` 时什么也不显示），所以笔记本不需要 MyST-NB。

## `fused=True`

本节的代码用不到它。`{package}.RMSprop` 默认（`fused=None`）使用 PyTorch 自己的实现，
不编译任何东西。`fused=True` 要用融合的 C 内核，这个内核在用 pip 安装本库时
由 C 编译器编译好。这份压缩包里的 `{package}` 只是源代码，没有编译好的内核，
所以在这里 `fused=True` 会抛出 `FusedUnavailableError`，错误信息会说明怎样得到内核：
在装有 C 编译器的机器上用 pip 从本书的源代码安装 `{package}`。

## 数据

`airfoil_self_noise.dat` 来自 NASA 的翼型自噪声实验（T. F. Brooks, D. S. Pope,
M. A. Marcolini, *Airfoil self-noise and prediction*, NASA RP-1218, 1989），
由 UCI 机器学习库发布（“Airfoil Self-Noise”，数据集 291）。
"""


class DownloadError(Exception):
    """A page's notebook cannot be published as a standalone download."""


Resolver = Callable[[str, dict[str, object]], str]
"""Returns the text a ``literalinclude`` shows, given its argument and options."""


# --- the notebook ---------------------------------------------------------------------------


def replace_glue_import(source: str) -> str:
    """``source`` with ``from myst_nb import glue`` replaced by a stand-in that only displays."""
    return GLUE_IMPORT.sub(lambda _: GLUE_STANDIN, source)


def expand_literalincludes(source: str, resolve: Resolver) -> str:
    """``source`` with each ``literalinclude`` directive replaced by the code it includes.

    ``resolve(path, options)`` returns the included text for the directive's argument and
    its ``:name: value`` options, as Sphinx's ``literalinclude`` would.
    """

    def expand(match: re.Match) -> str:
        options: dict[str, object] = {}
        for line in match["options"].splitlines():
            _, name, raw = line.strip().split(":", 2)
            value = yaml.safe_load(raw) if raw.strip() else None  # as MyST reads option values
            options[name] = value if name == "dedent" or value is None else str(value)
        text = resolve(match["path"], options)
        suffix = posixpath.splitext(match["path"])[1]
        language = options.get("language") or LANGUAGES.get(suffix, "")
        return f"```{language}\n{text.rstrip()}\n```"

    return LITERALINCLUDE.sub(expand, source)


def assign_content_ids(notebook: nbformat.NotebookNode) -> None:
    """Give every cell an id derived from its type and source (unique within the notebook)."""
    seen: set[str] = set()
    for cell in notebook.cells:
        digest = hashlib.sha256(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()
        cell_id, n = digest[:16], 0
        while cell_id in seen:
            n += 1
            cell_id = hashlib.sha256(f"{digest}\0{n}".encode()).hexdigest()[:16]
        seen.add(cell_id)
        cell.id = cell_id


# Cell tags that fold a cell in the book, and what they fold in the notebook: JupyterLab and
# VS Code show a folded part as a bar that opens on a click. Nothing is removed, so every cell
# the notebook needs to run again is there.
FOLDS = {
    "remove-cell": ("source_hidden", "outputs_hidden"),
    "hide-cell": ("source_hidden", "outputs_hidden"),
    "remove-input": ("source_hidden",),
    "hide-input": ("source_hidden",),
    "remove-output": ("outputs_hidden",),
    "hide-output": ("outputs_hidden",),
    "solution": ("source_hidden", "outputs_hidden"),  # code inside a folded solution
}


def is_glue_record(output: nbformat.NotebookNode) -> bool:
    """An output ``glue(..., display=False)`` left for the book only (shown nowhere)."""
    scrapbook = output.get("metadata", {}).get("scrapbook", {})
    return bool(scrapbook.get("mime_prefix"))


def glued_values(notebook: nbformat.NotebookNode, glue_file: Path | None = None) -> dict[str, str]:
    """``name -> text/plain`` of every value the executed ``notebook`` glued.

    MyST-NB writes the values beside the executed notebook (``<page>.glue.json``) and drops
    from it the outputs that only recorded one (``display=False``); ``glue_file`` is read
    when it exists, the notebook's own glue outputs otherwise.
    """
    records: dict[str, dict] = {}
    if glue_file is not None and glue_file.is_file():
        records = json.loads(glue_file.read_text(encoding="utf-8"))
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook and "name" in scrapbook and scrapbook["name"] not in records:
                prefix = scrapbook.get("mime_prefix", "")
                data = {k[len(prefix) :]: v for k, v in output.get("data", {}).items()}
                records[scrapbook["name"]] = {"data": data}
    return {
        name: record["data"]["text/plain"]
        for name, record in records.items()
        if "text/plain" in record.get("data", {})
    }


def standalone_notebook(
    notebook: nbformat.NotebookNode,
    resolve_include: Resolver,
    refs: References | None = None,
    captions: Mapping[int, str] | None = None,
    doc: Callable[[str], str] | None = None,
) -> nbformat.NotebookNode:
    """The executed ``notebook`` as published: glue stand-in, plain Markdown, content ids.

    ``refs`` are the page's resolved references (see ``notebook_markdown``), ``captions``
    the Markdown caption to put below the code cell of that index (a numbered figure), and
    ``doc`` names the page a ``{doc}`` target means.

    Raises:
        DownloadError: a code cell still imports ``myst_nb`` after the glue import was
            replaced, or a Markdown cell holds MyST without a plain form (the message names
            the cell, counting all cells of the executed notebook from 0).
    """
    notebook = nbformat.from_dict(notebook)  # a deep copy
    converter = MarkdownConverter(refs or References(), doc)
    cells = []
    # A caption below a figure inside a folded solution joins the solution's next Markdown
    # cell, so the answer reads as one "solution (continued)", not one per caption.
    pending: str | None = None
    for index, cell in enumerate(notebook.cells):
        if pending is not None and cell.cell_type != "markdown":
            cells.append(nbformat.v4.new_markdown_cell(converter.cell(pending)))
            pending = None
        if cell.cell_type == "code":
            cell.source = replace_glue_import(cell.source)
            found = MYST_NB_IMPORT.search(cell.source)
            if found:
                line = cell.source[found.start() :].splitlines()[0].strip()
                raise DownloadError(
                    f"cell {index} of the notebook has `{line}`, but a reader's machine has "
                    "no myst_nb; the download replaces only the line `from myst_nb import glue`"
                )
            cell.outputs = [o for o in cell.outputs if not is_glue_record(o)]
            tags = list(cell.metadata.get("tags", []))
            if converter.in_solution and "solution" not in tags:
                tags.append("solution")
            for tag in tags:
                for part in FOLDS.get(tag, ()):
                    cell.metadata.setdefault("jupyter", {})[part] = True
        elif cell.cell_type == "markdown":
            if pending is not None:
                cell.source, pending = f"{pending}\n\n{cell.source}", None
            try:
                cell.source = converter.cell(expand_literalincludes(cell.source, resolve_include))
            except MarkdownError as err:
                raise DownloadError(f"cell {index} of the notebook: {err}") from None
            if not cell.source.strip():
                continue
        cells.append(cell)
        if captions and index in captions:
            if converter.in_solution:
                pending = captions[index]
            else:
                cells.append(nbformat.v4.new_markdown_cell(converter.cell(captions[index])))
    if pending is not None:
        cells.append(nbformat.v4.new_markdown_cell(converter.cell(pending)))
    notebook.cells = cells
    assign_content_ids(notebook)
    nbformat.validate(notebook)
    return notebook


def page_references(app: Sphinx, docname: str, executed: nbformat.NotebookNode):
    """What the page's references resolved to, and its figures' captions by cell index.

    Read from Sphinx's state after the build resolved the references: the figure and
    equation numbers the page prints (``env.toc_fignumbers``, as Sphinx's ``numref`` and
    ``eq`` roles read them), sphinxcontrib-bibtex's labels, the values the executed notebook
    glued, and the cells' captions from the page's doctree.
    """
    env = app.env
    fignumbers = env.toc_fignumbers.get(docname, {})
    std, math = env.get_domain("std"), env.get_domain("math")
    numbered: dict[str, str] = {}
    for label, (doc, node_id) in std.anonlabels.items():  # type: ignore[attr-defined]
        for figtype, numbers in fignumbers.items():
            if doc == docname and node_id in numbers and figtype in app.config.numfig_format:
                number = ".".join(map(str, numbers[node_id]))
                numbered[label] = app.config.numfig_format[figtype] % number
    equations: dict[str, str] = {}
    for label, (doc, number) in math.equations.items():  # type: ignore[attr-defined]
        if doc != docname:
            continue
        if app.config.math_numfig and app.config.numfig:  # as the math domain's eq role does
            node_id = nodes.make_id(f"equation-{label}")
            number = ".".join(map(str, fignumbers.get("displaymath", {}).get(node_id, ())))
        equations[label] = str(number)
    citations: dict[str, str] = {}
    bibliography: list[tuple[str, str]] = []
    if "cite" in env.domains:
        for citation in env.get_domain("cite").citations:  # type: ignore[attr-defined]
            label = citation.formatted_entry.label
            citations.setdefault(citation.key, label)
            if citation.bibliography_key.docname == docname:
                bibliography.append((label, citation.formatted_entry.text.render_as("text")))
    refs = References(
        equations=equations,
        eqref_format=app.config.math_eqref_format or "({number})",
        numbered=numbered,
        sections={label: title for label, (_, _, title) in std.labels.items()},  # type: ignore[attr-defined]
        documents={doc: title.astext() for doc, title in env.titles.items()},
        citations=citations,
        bibliography=bibliography,
        glue=glued_values(executed, _executed(app, docname).with_suffix(".glue.json")),
        format_glue=format_plain_text,
    )
    captions: dict[int, str] = {}
    for cell in env.get_doctree(docname).findall(nodes.container):
        metadata: dict = cell.get("cell_metadata") or {}
        figure = metadata.get("mystnb", {}).get("figure", {})
        if cell.get("nb_element") == "cell_code" and figure.get("caption"):
            label = numbered.get(figure.get("name", ""))
            prefix = f"**{label}** " if label else ""
            captions[cell["cell_index"]] = prefix + figure["caption"]
    return refs, captions


# --- the archive ----------------------------------------------------------------------------


def library_root() -> Path:
    """The folder of ``rmsprop_lib`` as the book's kernels import it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DownloadError(f"{PACKAGE} is not importable, so it cannot be put into the download")
    return Path(next(iter(spec.submodule_search_locations)))


def library_files(root: Path) -> dict[str, bytes]:
    """The package's source and data files, keyed by their path in the archive."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        hidden = any(part == "__pycache__" or part.startswith(".") for part in relative.parts)
        if path.is_file() and path.suffix not in SKIPPED_SUFFIXES and not hidden:
            files[f"{PACKAGE}/{relative.as_posix()}"] = path.read_bytes()
    return files


def write_zip(path: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (archive name -> bytes) to ``path``: same input, same bytes.

    Entries are sorted by name and carry a fixed timestamp and mode. The archive is written
    beside ``path`` and moved into place, so a failure leaves no partial file behind.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.create_system = 3  # Unix, on any building OS
                info.external_attr = 0o644 << 16  # rw-r--r--
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name], compresslevel=9)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so no partial file is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def machine_paths(app: Sphinx) -> list[str]:
    """Absolute paths of this build that must not appear in anything published."""
    paths = {
        str(Path.home()),
        str(app.srcdir),
        str(app.outdir),
        sys.prefix,
        str(Path(app.srcdir).resolve()),
    }
    return sorted(p for p in paths if p.strip("/"))


def leaked_paths(files: Mapping[str, bytes], paths: list[str]) -> list[str]:
    """``archive name: path`` for each machine path found in a file's bytes."""
    return [
        f"{name}: {p}"
        for name, data in sorted(files.items())
        for p in paths
        if re.search(re.escape(p.encode()) + rb"(?![\w.-])", data)
    ]


# --- Sphinx ---------------------------------------------------------------------------------


def _zip_docs(env) -> set[str]:
    if not hasattr(env, "notebook_zip_docs"):
        env.notebook_zip_docs = set()
    return env.notebook_zip_docs


def zip_name(docname: str) -> str:
    """The archive of page ``docname``, relative to the output folder."""
    return f"{docname}.zip"


class NotebookZipRole(SphinxRole):
    """``{notebook-zip}`text```: a link to this page's runnable zip (and ask for the zip)."""

    def run(self):
        _zip_docs(self.env).add(self.env.docname)
        uri = posixpath.basename(zip_name(self.env.docname))
        return [nodes.reference(self.rawtext, self.text, refuri=uri, classes=["notebook-zip"])], []


def _executed(app: Sphinx, docname: str) -> Path:
    return Path(app.outdir).parent / OUTPUT_FOLDER / f"{docname}.ipynb"


def _link_notebook(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    if _executed(app, pagename).is_file():
        context["ipynb_source"] = f"{pagename}.ipynb"


def _link_zip(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    """Put the zip first in the theme's download menu (built at priority 501)."""
    if pagename not in _zip_docs(app.env):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                0,
                {
                    "type": "link",
                    "url": context["pathto"](zip_name(pagename), 1),
                    "text": ".zip",
                    "icon": "fas fa-file-zipper",
                    "tooltip": "下载可运行的笔记本（含 rmsprop_lib 与数据）",
                    "label": "download-zip-button",
                },
            )


def _publish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    paths = machine_paths(app)
    outdir = Path(app.outdir)
    for docname in sorted(app.env.found_docs):
        executed = _executed(app, docname)
        wants_zip = docname in _zip_docs(app.env)
        if not executed.is_file():
            if wants_zip:
                logger.warning(
                    "{notebook-zip} is used on a page without executed code", location=docname
                )
            continue

        def resolve(path, options, docname=docname):
            _, filename = app.env.relfn2path(path, docname)
            return LiteralIncludeReader(filename, options, app.config).read()[0]

        def doc(target, docname=docname):
            return target[1:] if target.startswith("/") else docname_join(docname, target)

        name = posixpath.basename(docname)
        try:
            notebook = nbformat.read(executed, as_version=4)
            refs, captions = page_references(app, docname, notebook)
            notebook = standalone_notebook(notebook, resolve, refs, captions, doc)
            text = nbformat.writes(notebook) + "\n"
            files = {f"{name}.ipynb": text.encode()}
            if wants_zip:
                files["README.md"] = README.format(
                    title=app.env.titles[docname].astext(),
                    notebook=f"{name}.ipynb",
                    archive=f"{name}.zip",
                    package=PACKAGE,
                ).encode()
                files.update(library_files(library_root()))
            leaks = leaked_paths(files, paths) if wants_zip else []
            if leaks:
                raise DownloadError(
                    "the download would reveal paths of this machine: " + "; ".join(leaks)
                )
        except (DownloadError, ValueError, OSError) as err:
            logger.warning("cannot publish the page's notebook: %s", err, location=docname)
            (outdir / "_sources" / f"{docname}.ipynb").unlink(missing_ok=True)
            (outdir / zip_name(docname)).unlink(missing_ok=True)
            continue
        write_text(outdir / "_sources" / f"{docname}.ipynb", text)
        if wants_zip:
            write_zip(outdir / zip_name(docname), files)
        else:  # the page stopped asking for one
            (outdir / zip_name(docname)).unlink(missing_ok=True)


def _purge(app, env, docname):
    _zip_docs(env).discard(docname)


def _merge(app, env, docnames, other):
    _zip_docs(env).update(set(docnames) & getattr(other, "notebook_zip_docs", set()))


def setup(app: Sphinx) -> dict:
    app.add_role("notebook-zip", NotebookZipRole())
    app.connect("html-page-context", _link_notebook)
    app.connect("html-page-context", _link_zip, priority=502)
    # Before strict.py's handler (priority 500), which reacts to the build's warnings.
    app.connect("build-finished", _publish, priority=400)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {
        "version": "2",
        "env_version": 1,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
