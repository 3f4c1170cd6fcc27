"""The book's one incremental-edit scenario, and what the book's configuration names as each
page's inputs.

One copy of the project, in another directory than the session's build, starts from that
build's ``_build`` (its stored outputs; Sphinx reads every page again, since the source
directory moved): prose and a caption edit execute nothing and are published with the stored
outputs; undone, the site is the session's clean build's byte for byte, and its PDF edition
is too, within a device pixel of where each glyph lands: an incrementally built site ends
where a clean one does.

Which files each rule of ``_config.yml`` makes a page depend on (the library, the benchmark
scripts and results, the lock) is checked on the book itself without building; that a page
whose inputs changed executes again, with every other rule of page_execution.py, on a tiny
book (test_build_execution_tiny.py). That a second execution of the chapter, in another
directory, process and environment, prints the same numbers and draws the same figures:
test_download.py, which runs the downloaded notebook.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import build_book, copy_project, load_extension
from helpers import as_published_cleanly, differing_files, pdf_differences


def pages_with_code(root: Path) -> dict[str, str]:
    """docname -> the code of its code cells, read from the sources by the test itself."""
    pages = {}
    for path in sorted((root / "book").glob("*.md")):
        cells = re.findall(
            r"^```\{code-cell\}[^\n]*\n(.*?)^```",
            path.read_text(encoding="utf-8"),
            re.MULTILINE | re.DOTALL,
        )
        if cells:
            pages[f"book/{path.stem}"] = "\n".join(cells)
    return pages


def text(build, name):
    html = (build.html / f"{name}.html").read_text(encoding="utf-8")
    main = BeautifulSoup(html, "html.parser").select_one("main")
    assert main is not None, f"no <main> in {name}.html"
    return main.get_text()


def outputs(build, name):
    soup = BeautifulSoup((build.html / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    return [o.get_text().strip() for o in soup.select("div.cell_output pre")]


def edit(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, (path, old)
    path.write_text(source.replace(old, new), encoding="utf-8")


# The rebuilds before the last print no PDF edition: Chromium printing the book again after
# each edit would cost more than the rebuild; the last one prints it, as the session's build.
NO_PDF = {"RMSPROP_BOOK_PDF": "off"}


def assert_ok(build, executed: set[str]):
    assert build.returncode == 0, build.output[-4000:]
    assert build.executed_pages() == executed, build.output[-4000:]
    assert build.executed() == len(executed)


def site_files(html: Path) -> dict[str, bytes]:
    return {p.relative_to(html).as_posix(): p.read_bytes() for p in html.rglob("*") if p.is_file()}


@pytest.mark.book
@pytest.mark.scenario
def test_prose_reuses_the_stored_outputs_and_the_site_ends_as_a_clean_build(tmp_path, built_book):
    # Another directory, with another path length, than the session's build.
    root = copy_project(tmp_path / "a" / "second-project")
    shutil.copytree(built_book.root / "_build", root / "_build")

    # Prose and a figure caption (cell metadata, but not code): the pages are read again
    # (all of them: the project moved), their stored outputs reused.
    chapter = root / "book" / "rmsprop.md"
    original = chapter.read_bytes()
    edit(chapter, "本节先给出算法", "本节首先给出算法")
    found = re.search(r"caption: (指数加权移动平均给[^\n]*)", chapter.read_text(encoding="utf-8"))
    assert found is not None, "the chapter's EMA figure caption moved"
    edit(chapter, found.group(1), "新的图注：" + found.group(1))
    prose = build_book(root, **NO_PDF)
    assert_ok(prose, set())
    assert "本节首先给出算法" in text(prose, "book/rmsprop")
    assert "新的图注：指数加权移动平均给" in text(prose, "book/rmsprop")
    assert "epoch 20, x1 -0.010599, x2 0.000000" in outputs(prose, "book/rmsprop")
    assert not (prose.html / "rmsprop-book.pdf").exists()  # not printed: not published

    # Undone, and printed again: every published file is the clean build's, byte for byte
    # (but for the traces an incremental build keeps, see as_published_cleanly), and the PDF
    # edition is too, but for where a glyph may land within a device pixel (pdf_differences).
    chapter.write_bytes(original)
    undone = build_book(root)
    assert_ok(undone, set())
    ours = as_published_cleanly(site_files(undone.html))
    clean = as_published_cleanly(site_files(built_book.html))
    assert pdf_differences(ours.pop("rmsprop-book.pdf"), clean.pop("rmsprop-book.pdf")) == []
    assert differing_files(ours, clean) == []


def one_page_pdf(drawing: str) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import ContentStream, DecodedStreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(drawing.encode())
    page.replace_contents(ContentStream(stream, writer))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# The run of text Chromium once printed 0.6 device pixels higher ("openmp", inline code).
DRAWN = "BT /F8 14 Tf 1 0 0 -1 226.10938 6250.5938 Tm <005200530048005100500053> Tj ET"


@pytest.mark.parametrize(
    ("other", "differs"),
    [
        (DRAWN, False),
        (DRAWN.replace("6250.5938", "6250"), False),  # as Chromium once printed it
        (DRAWN.replace("6250.5938", "6251.7"), True),  # more than a device pixel away
        (DRAWN.replace("<0052", "<0053"), True),  # another glyph
        (DRAWN.replace("/F8", "/F9"), True),  # another font
        (DRAWN.replace("14 Tf", "15 Tf"), True),  # another size
        (DRAWN + " BT ET", True),
    ],
)
def test_two_pdfs_differ_in_anything_but_where_a_glyph_lands_within_a_pixel(other, differs):
    assert (pdf_differences(one_page_pdf(DRAWN), one_page_pdf(other)) != []) is differs


# --- the inputs _config.yml names, page by page ------------------------------------------


def test_the_books_inputs_are_the_library_the_benchmark_scripts_results_and_lock(
    tmp_path, monkeypatch
):
    """Which pages each kind of edit makes execute again, under the book's own rules."""
    root = copy_project(tmp_path / "project")
    # The copy's rmsprop_lib is the one found (not the one this process imported).
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "rmsprop_lib", raising=False)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    ext = load_extension()
    ext._configure(SimpleNamespace(srcdir=str(root)), SimpleNamespace(**config["sphinx"]["config"]))
    code = pages_with_code(root)
    assert set(code) == {"book/rmsprop", "book/performance"}

    def affected(path: Path, addition: str) -> set[str]:
        before = {page: ext.inputs_digest(source) for page, source in code.items()}
        path.write_text(path.read_text(encoding="utf-8") + addition, encoding="utf-8")
        return {page for page, source in code.items() if ext.inputs_digest(source) != before[page]}

    benchmarks = root / "benchmarks"
    assert affected(benchmarks / "results" / "optimizer_step.json", "\n") == {"book/performance"}
    assert affected(benchmarks / "results" / "book_build.json", "\n") == {"book/performance"}
    # The scripts whose functions turn the results into the page's tables.
    assert affected(benchmarks / "optimizer_step.py", "# edit\n") == {"book/performance"}
    assert affected(root / "requirements.lock", "# edit\n") == set(code)
    assert affected(root / "README.md", "edit\n") == set()
    assert affected(root / "book" / "rmsprop.md", "\n新的一段。\n") == set()
    # The library as the kernel imports it (here the copy's, as the build's PYTHONPATH makes
    # it): a module, and a data file inside the package.
    library = root / "rmsprop_lib"
    assert affected(library / "reporting.py", "# edit\n") == {"book/rmsprop"}
    assert affected(library / "data" / "airfoil_self_noise.dat", "\n") == {"book/rmsprop"}
