"""The chapter's download: a zip that runs where only Python, torch and matplotlib exist."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import re
import site
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from helpers import built_page

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
AIRFOIL_SHA256 = "10ee06e6cfb27dae6b44213d421d217012fb1f9b697592e73a4e4016b52d425f"
TIMING = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)? ?(?:sec|秒)")
HIDDEN_OUTPUT = {"remove-cell", "remove-output", "remove-stdout"}
MYST_NB_IMPORT = re.compile(r"^\s*(?:from|import)\s+myst_nb\b", re.MULTILINE)
# MyST that Jupyter shows as literal text (outside code blocks and inline code).
MYST = {
    "role": re.compile(r"\{[A-Za-z][\w:+.-]*\}`"),
    "directive fence": re.compile(r"^[ \t]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{", re.MULTILINE),
    "(label)= target": re.compile(r"^[ \t]*\([^()\s]+\)=[ \t]*$", re.MULTILINE),
    "labelled math": re.compile(r"\$\$[ \t]*\([^()\s]+\)"),
    "comment": re.compile(r"^%", re.MULTILINE),
    "block break": re.compile(r"^\+\+\+", re.MULTILINE),
}
# Code blocks (a fence whose info string is not a {directive}) and inline code (not a
# role's argument).
CODE = re.compile(
    r"^(`{3,}|~{3,})(?![ \t]*\{)[^`\n]*\n.*?^\1[ \t]*$|(?<!\})`[^`\n]+`",
    re.MULTILINE | re.DOTALL,
)


def myst_left(notebook) -> list[str]:
    """``cell n: kind: text`` for each piece of MyST syntax left in a Markdown cell."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            prose = CODE.sub("", cell.source)
            for kind, pattern in MYST.items():
                found += [f"cell {index}: {kind}: {m.group()!r}" for m in pattern.finditer(prose)]
    return found


def no_includes(path, options):
    raise AssertionError(f"unexpected literalinclude of {path}")


def load_extension():
    if str(ROOT / "book" / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "book" / "_ext"))  # as Sphinx imports the extensions
    spec = importlib.util.spec_from_file_location(
        "notebook_download", ROOT / "book" / "_ext" / "notebook_download.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stdout_by_cell(notebook) -> list[str]:
    """What each code cell printed to stdout (silent cells left out), timings aside."""
    printed = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or HIDDEN_OUTPUT & set(cell["metadata"].get("tags", [])):
            continue
        text = "".join(
            "".join(o["text"])
            for o in cell["outputs"]
            if o["output_type"] == "stream" and o["name"] == "stdout"
        )
        if text:
            printed.append(TIMING.sub("<time>", text))
    return printed


def figures_by_cell(notebook) -> list[str]:
    """The SVG figures the code cells drew, in order."""
    return [
        "".join(output["data"]["image/svg+xml"])
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if "image/svg+xml" in output.get("data", {})
    ]


def stdout_in_html(path: Path) -> list[str]:
    """What each code cell of a built page shows as printed text, timings aside."""
    soup = built_page(path)
    printed = []
    for cell in soup.select("div.cell"):
        text = "".join(pre.get_text() for pre in cell.select("div.output.stream pre"))
        if text:
            printed.append(TIMING.sub("<time>", text))
    return printed


@pytest.fixture(scope="module")
def archive(built_book) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(built_book.html / "book" / "rmsprop.zip") as archive:
        yield archive


@pytest.fixture(scope="module")
def shipped_notebook(archive):
    return nbformat.reads(archive.read("rmsprop.ipynb").decode("utf-8"), as_version=4)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A Python with this environment's packages but not rmsprop_lib (nor myst_nb).

    A path listed in a ``.pth`` file joins ``sys.path``, but the ``.pth`` files inside it,
    such as the finder of an editable install of rmsprop_lib, are not processed.
    """
    env_dir = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shared = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "shared.pth").write_text("\n".join(shared) + "\n", encoding="utf-8")
    # A reader's machine has no MyST-NB; this environment does, so hide it from the kernel.
    (Path(purelib) / "no_myst_nb.pth").write_text(
        "import sys; sys.modules['myst_nb'] = None\n", encoding="utf-8"
    )
    return python


def run_bare(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, capture_output=True, text=True, env=kernel_env(cwd)
    )


def kernel_env(tmp: Path) -> dict[str, str]:
    """This process's environment without PYTHONPATH."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


BARE_CHECK = """
import importlib, importlib.util
for name in ("rmsprop_lib", "myst_nb"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        print(name, "missing")
    else:
        print(name, "importable")
for name in ("torch", "matplotlib", "ipykernel", "IPython"):
    print(name, "installed" if importlib.util.find_spec(name) else "missing")
"""


def test_bare_python_lacks_rmsprop_lib_and_myst_nb_but_has_torch(bare_python, tmp_path):
    # (That torch and the rest also import and run there, the notebook's run shows.)
    proc = run_bare(bare_python, BARE_CHECK, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:-1] == [
        "rmsprop_lib missing",
        "myst_nb missing",
        "torch installed",
        "matplotlib installed",
        "ipykernel installed",
        "IPython installed",
    ]


def test_downloaded_notebook_runs_without_installing_anything(
    built_book, archive, shipped_notebook, bare_python, tmp_path
):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    folder = tmp_path / "unpacked"
    folder.mkdir()
    archive.extractall(folder)
    kernels = tmp_path / "kernels"
    (kernels / "bare").mkdir(parents=True)
    (kernels / "bare" / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(bare_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python without rmsprop_lib",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    manager = KernelManager(
        kernel_name="bare", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    notebook = nbformat.read(folder / "rmsprop.ipynb", as_version=4)
    NotebookClient(
        notebook,
        km=manager,
        timeout=600,
        allow_errors=False,
        resources={"metadata": {"path": str(folder)}},
        shutdown_kernel="immediate",  # as the book's builds do (book/_ext/page_execution.py)
        # As the book's builds do, so that matplotlib dates the figures 1970 (reproducible).
    ).execute(env={**kernel_env(tmp_path), "SOURCE_DATE_EPOCH": "0"})

    book = stdout_in_html(built_book.html / "book" / "rmsprop.html")
    assert any("epoch 20, x1 -0.010599, x2 0.000000" in text for text in book)
    assert stdout_by_cell(notebook) == book
    assert stdout_by_cell(shipped_notebook) == book  # the download shows the book's outputs
    # Run again in another directory, process and environment, the chapter draws the book's
    # figures byte for byte: its numbers and figures are reproducible.
    figures = figures_by_cell(notebook)
    assert len(figures) >= 8
    assert figures == figures_by_cell(shipped_notebook)


def test_zip_holds_the_notebook_the_library_its_data_and_a_readme(archive):
    names = archive.namelist()
    library = sorted(
        f"rmsprop_lib/{p.relative_to(ROOT / 'rmsprop_lib').as_posix()}"
        for p in (ROOT / "rmsprop_lib").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        # the zip ships the library as source: no kernel built on this machine
        and p.suffix not in {".pyc", ".pyo", ".so", ".pyd", ".dylib", ".o"}
    )
    assert names == sorted(["README.md", "rmsprop.ipynb", *library])
    for name in library:
        assert archive.read(name) == (ROOT / name).read_bytes(), name
    data = archive.read("rmsprop_lib/data/airfoil_self_noise.dat")
    assert hashlib.sha256(data).hexdigest() == AIRFOIL_SHA256
    readme = archive.read("README.md").decode("utf-8")
    assert "jupyter lab" in readme and "!unzip -o rmsprop.zip" in readme


def test_readme_and_page_say_what_to_install_and_what_fused_does_in_the_download(
    built_book, archive
):
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = project["requires-python"].removeprefix(">=")  # e.g. "3.11"
    torch = next(d for d in project["dependencies"] if d.startswith("torch"))
    matplotlib = next(d for d in project["optional-dependencies"]["plot"] if "matplotlib" in d)
    readme = archive.read("README.md").decode("utf-8")
    assert f"Python {python} 或更新版本" in readme
    assert f'"{torch}"' in readme and f'"{matplotlib.split(",")[0]}"' in readme
    assert "jupyterlab" in readme and "Jupyter" in readme
    # fused=True: the zip's library is source only, so it raises and says how to get the kernel.
    assert "FusedUnavailableError" in readme and "C 编译器" in readme and "pip" in readme
    assert "自动退回" not in readme and "第一次使用时" not in readme  # the old, untrue promise
    page = _page(built_book).select_one("a.notebook-zip").find_parent("p").get_text()
    for needed in (f"Python {python}", "PyTorch", "matplotlib", "Jupyter", "README.md"):
        assert needed in page, needed


def test_zip_entries_have_a_fixed_order_time_and_mode(archive):
    infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.create_system, i.external_attr >> 16) for i in infos} == {(3, 0o644)}


def test_zip_written_again_from_its_entries_is_the_same_bytes(built_book, archive):
    published = (built_book.html / "book" / "rmsprop.zip").read_bytes()
    files = {name: archive.read(name) for name in reversed(archive.namelist())}
    ext = load_extension()
    again = built_book.root / "again.zip"
    ext.write_zip(again, files)
    assert again.read_bytes() == published


def test_cell_ids_come_from_content_not_from_the_executed_notebook(built_book, shipped_notebook):
    executed = nbformat.read(
        built_book.root / "_build" / "jupyter_execute" / "book" / "rmsprop.ipynb", as_version=4
    )
    shipped = [cell.id for cell in shipped_notebook.cells]
    assert len(set(shipped)) == len(shipped)
    assert [cell.id for cell in executed.cells] != shipped  # MyST-NB's ids are random
    ext = load_extension()
    scrambled = nbformat.from_dict(shipped_notebook)
    for n, cell in enumerate(scrambled.cells):
        cell.id = f"random-{n}"
    assert [cell.id for cell in ext.standalone_notebook(scrambled, no_includes).cells] == shipped


def test_identical_cells_get_distinct_ids():
    ext = load_extension()
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x = 1")]
    )
    first, second = (cell.id for cell in ext.standalone_notebook(notebook, no_includes).cells)
    assert first != second


def test_notebook_needs_no_myst_nb_and_shows_included_code(shipped_notebook):
    from rmsprop_lib import lesson  # the chapter shows the lesson's plain functions

    code = "\n".join(c.source for c in shipped_notebook.cells if c.cell_type == "code")
    markdown = "\n".join(c.source for c in shipped_notebook.cells if c.cell_type == "markdown")
    assert not MYST_NB_IMPORT.search(code)
    assert "def glue(name, value, display=True):" in code
    assert "{literalinclude}" not in markdown
    assert f"```python\n{inspect.getsource(lesson.rmsprop_2d).rstrip()}\n```" in markdown


def test_shipped_markdown_has_no_myst_syntax_left(shipped_notebook):
    assert myst_left(shipped_notebook) == []


def test_shipped_markdown_breaks_no_line_between_chinese_characters(shipped_notebook):
    """Jupyter shows a soft line break as a space, between Chinese characters too ("起来，
    再用"): none is left where the web page (cjk_breaks.py) sets none."""
    if str(ROOT / "book" / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from cjk_breaks import joins

    found = []
    for index, cell in enumerate(shipped_notebook.cells):
        if cell.cell_type == "markdown":
            prose = CODE.sub("\0", cell.source)  # code keeps its lines
            found += [
                f"cell {index}: {prose[m.start() - 8 : m.end() + 8]!r}"
                # (a line that starts a list item, quote or table row is a block of its own)
                for m in re.finditer(
                    r"(\S)[ \t]*\n(?![ \t]*(?:[-*+] |\d+[.)] |>|\|))[ \t]*(\S)", prose
                )
                if joins(m[1], m[2])
            ]
    assert found == []


def test_the_myst_check_finds_each_kind_of_myst_and_ignores_code():
    samples = {
        "role": "式 {eq}`eq-x` 中",
        "directive fence": "```{exercise}\nQ\n```",
        "(label)= target": "(sec-x)=\n# T",
        "labelled math": "$$\na\n$$ (eq-a)",
        "comment": "% a note",
        "block break": "+++",
    }
    for kind, source in samples.items():
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
        assert [f for f in myst_left(notebook) if f.startswith(f"cell 0: {kind}:")], kind
    code = 'Inline `{x}` code.\n\n```python\nf"{a}`"\n```'
    assert myst_left(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(code)])) == []


def _page(built_book):
    return built_page(built_book.html / "book" / "rmsprop.html").select_one("article.bd-article")


def _markdown(notebook) -> str:
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_shipped_markdown_says_what_the_page_says(built_book, shipped_notebook):
    page, text = _page(built_book), _markdown(shipped_notebook)
    equations = [e.get_text().strip("#") for e in page.select("span.eqno")]
    assert len(equations) >= 3
    assert [n for n in equations if f"\\tag{{{n.strip('()')}}}" not in text] == []
    equation_refs = {a.get_text() for a in page.select('a.reference[href^="#equation-"]')}
    assert equation_refs and [r for r in equation_refs if f"式 {r}" not in text] == []
    figure_refs = {s.get_text() for s in page.select("span.std-numref")}
    assert figure_refs and [r for r in figure_refs if r not in text] == []
    captions = [c.get_text().strip() for c in page.select("figcaption .caption-number")]
    assert len(captions) >= 9 and [c for c in captions if f"**{c}**" not in text] == []
    glued = [s.get_text() for s in page.select("span.pasted-text")]
    assert len(glued) >= 8 and [g for g in glued if g not in text] == []
    # Citations as the page prints them, and the page's reference list at the end.
    labels = [a.get_text() for a in page.select(".citation .label a")]
    assert "TH12" in labels and [lab for lab in labels if f"[{lab}]" not in text] == []
    # (the page ties initials to names with no-break spaces, the notebook with spaces)
    entries = [c.select_one("p").get_text().replace("\xa0", " ") for c in page.select(".citation")]
    last = shipped_notebook.cells[-1].source.splitlines()
    assert last[-len(labels) :] == [f"- [{lab}] {e}" for lab, e in zip(labels, entries)]
    # Each item of the page's lists starts a line of its own (else Jupyter runs them into
    # one paragraph); the notebook's reference list ("- [TH12] ...") is checked above.
    items = re.findall(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+(?!\[)", text, re.MULTILINE)
    assert len(page.select("li")) >= 8 and len(items) == len(page.select("li"))
    # Exercises as headings, their solutions folded.
    exercises = [c.get_text().strip() for c in page.select(".exercise .caption-number")]
    assert len(exercises) == 5
    for exercise in exercises:
        assert re.search(rf"^#+ {re.escape(exercise)}$", text, re.MULTILINE), exercise
        assert f"<details><summary>解答 {exercise}</summary>" in text


def test_notebook_renders_in_nbconvert_with_math_images_and_folded_answers(
    built_book, shipped_notebook
):
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter(template_name="lab").from_notebook_node(shipped_notebook)
    rendered = BeautifulSoup(html, "html.parser")
    prose = rendered.select(".jp-MarkdownOutput")
    text = "\n".join(m.get_text() for m in prose)
    page = _page(built_book)
    # Math: the TeX reaches MathJax (which the exported page loads) with its numbers.
    assert "MathJax" in html
    for number in (e.get_text().strip("#()") for e in page.select("span.eqno")):
        assert f"\\tag{{{number}}}" in text
    # Images: every figure of the page is drawn (the explorer's static picture in its HTML).
    outputs = rendered.select(".jp-OutputArea-output")
    images = [i for o in outputs for i in o.select('img[src^="data:image/svg+xml"]')]
    drawings = [s for o in outputs for s in o.select("svg")]
    assert len(images) + len(drawings) == len(page.select("figure")) >= 9
    # Folded answers: <details> elements whose Markdown, math included, was rendered.
    details = [d for m in prose for d in m.select("details")]
    assert len(details) >= len(page.select(".solution")) >= 4
    summaries = [d.find("summary") for d in details]
    assert all(s is not None and s.get_text().startswith("解答 练习 ") for s in summaries)
    assert any(d.select("p") and "$" in d.get_text() for d in details)
    assert "{numref}" not in text and "```{" not in text and "{glue" not in text


def test_any_other_myst_nb_import_is_refused_with_the_cell_named():
    ext = load_extension()
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from myst_nb import glue"),
            nbformat.v4.new_code_cell("import myst_nb\nmyst_nb.glue('x', 1)"),
        ]
    )
    with pytest.raises(ext.DownloadError, match=r"^cell 1 of the notebook has `import myst_nb`"):
        ext.standalone_notebook(notebook, no_includes)


def test_download_reveals_no_path_of_the_building_machine(built_book, archive):
    paths = {str(built_book.root), str(ROOT), str(Path.home()) + "/", sys.prefix}
    for name in archive.namelist():
        text = archive.read(name).decode("utf-8", errors="replace")
        assert [p for p in paths if p in text] == [], name


def test_page_links_the_zip_in_its_text_and_download_menu(built_book):
    soup = built_page(built_book.html / "book" / "rmsprop.html")
    text_link = soup.select_one("article a.notebook-zip")
    assert text_link is not None and text_link["href"] == "rmsprop.zip"
    paragraph = text_link.find_parent("p")
    assert paragraph is not None and "Colab" in paragraph.get_text()
    menu = soup.select_one(".dropdown-download-buttons a.btn-download-zip-button")
    assert menu is not None and menu["href"] == "rmsprop.zip"
    assert (built_book.html / "book" / text_link["href"]).is_file()


def test_literalinclude_becomes_the_code_it_shows_with_its_options_read_as_myst_does():
    ext = load_extension()
    calls = []

    def resolve(path, options):
        calls.append((path, options))
        return "#define BODY 1\n\n"

    source = (
        "Text.\n\n```{literalinclude} ../rmsprop_lib/_fused_kernel.c\n:language: c\n"
        ':start-at: "#define BODY"\n:dedent: 4\n```\n\nMore.'
    )
    expected = "Text.\n\n```c\n#define BODY 1\n```\n\nMore."
    assert ext.expand_literalincludes(source, resolve) == expected
    assert calls == [
        (
            "../rmsprop_lib/_fused_kernel.c",
            {"language": "c", "start-at": "#define BODY", "dedent": 4},
        )
    ]


def test_machine_paths_are_found_only_as_whole_path_components():
    ext = load_extension()
    files = {"a.ipynb": b'"see /home/ann/book/x.py"', "b.md": b"/home/anna/x"}
    assert ext.leaked_paths(files, ["/home/ann"]) == ["a.ipynb: /home/ann"]
