"""Check what the session's build of the book publishes."""

from __future__ import annotations

import inspect
import json
import re
import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup

import rmsprop_lib

pytestmark = pytest.mark.book

TRAIN_LINE = re.compile(r"^loss: 0\.2[34]\d{4}, \d+\.\d{6} sec per epoch$")


def page(build, name="book/rmsprop"):
    return BeautifulSoup((build.html / f"{name}.html").read_text(encoding="utf-8"), "html.parser")


def outputs(soup):
    return [o.get_text().strip() for o in soup.select("div.cell_output pre")]


def test_build_prints_no_warning_and_executes_the_chapter(built_book):
    assert not re.search(r"WARNING|Warning:|warnings?\.", built_book.output), built_book.output[
        -3000:
    ]
    assert built_book.executed() == 2  # the chapter and the performance appendix
    assert "build succeeded" in built_book.output


def test_equations_are_labelled_and_numbered(built_book):
    soup = page(built_book)
    for label, number, tex in [
        ("eq-rmsprop-state", "(1)", r"\boldsymbol{s}_t \leftarrow \gamma"),
        ("eq-rmsprop-update", "(2)", r"\sqrt{\boldsymbol{s}_t + \epsilon}"),
    ]:
        block = soup.find(id=f"equation-{label}")
        assert block is not None, label
        assert number in block.get_text() and tex in block.get_text()
    refs = [a.get_text() for a in soup.select('a[href="#equation-eq-rmsprop-update"]')]
    assert "(2)" in refs


def test_trace_output_and_figure(built_book):
    soup = page(built_book)
    assert "epoch 20, x1 -0.010599, x2 0.000000" in outputs(soup)
    figure = soup.find(id="fig-rmsprop-trace")
    assert figure is not None and "迭代轨迹" in figure.find("figcaption").get_text()
    assert_image_decodes(built_book, figure.find("img")["src"])


def test_both_training_runs_print_the_chapter_line_and_show_loss_curves(built_book):
    soup = page(built_book)
    lines = [o for o in outputs(soup) if o.startswith("loss:")]
    assert len(lines) == 2 and all(TRAIN_LINE.match(line) for line in lines), lines
    for name in ("fig-scratch-loss", "fig-concise-loss"):
        figure = soup.find(id=name)
        assert figure is not None, name
        assert_image_decodes(built_book, figure.find("img")["src"])


def test_eps_placement_comparison_is_exact_for_torch_and_rounding_for_the_scratch_code(built_book):
    text = "\n".join(outputs(page(built_book)))
    assert "ε 在根号外时与 torch.optim.RMSprop 逐位相同： True" in text
    # The chapter's formula differs from the library's fused multiply-add by rounding only.
    found = re.search(
        r"eps_in_sqrt=True 与从零实现最大相差 (\S+)，只有 ε 位置造成的差别（(\S+)）的 1/(\d+)", text
    )
    assert found, text
    rounding, gap, ratio = float(found[1]), float(found[2]), int(found[3])
    assert 0 < rounding < 1e-6 and ratio >= 10 and gap > 10 * rounding


def test_prose_numbers_come_from_the_executed_cells(built_book):
    soup = page(built_book)
    prose = re.sub(r"\s+", " ", soup.select_one("main").get_text())
    # The chapter's published value (x1 = -0.01059867...), glued into the prose from the cell.
    assert "20 步之后 \\(x_1\\) 约为 -0.010599，" in prose
    final = next(o for o in outputs(soup) if o.startswith("loss:")).split(",")[0].split()[1]
    assert f"最终约为 {final}" in prose


def test_shown_code_is_the_library_source(built_book):
    blocks = [
        pre.get_text()
        for pre in page(built_book).select("div.highlight-python pre, div.highlight-default pre")
    ]
    for fn in (
        rmsprop_lib.rmsprop_2d,
        rmsprop_lib.train_2d,
        rmsprop_lib.rmsprop,
        rmsprop_lib.train_ch7,
        rmsprop_lib.init_rmsprop_states,
        rmsprop_lib.get_data_ch7,
    ):
        source = inspect.getsource(fn).strip()
        assert any(block.strip() == source for block in blocks), fn.__name__


def test_every_figure_is_numbered_captioned_and_decodes(built_book):
    soup = page(built_book)
    figures = soup.select("figure")
    assert len(figures) >= 8
    for figure in figures:
        caption = figure.find("figcaption").get_text()
        assert re.search(r"图 \d+", caption) and re.search(r"[\u4e00-\u9fff]", caption), caption
        if figure.find("img") is None:  # the explorer: an inline SVG with a text alternative
            assert figure.select_one("svg[role=img] title").get_text(), figure.get("id")
            continue
        assert_image_decodes(built_book, figure.find("img")["src"])


def test_every_figure_is_referenced_from_the_prose(built_book):
    soup = page(built_book)
    for figure in soup.select("figure[id]"):
        assert soup.select_one(f'a[href="#{figure["id"]}"]') is not None, figure["id"]


def test_references_cite_tieleman_hinton_and_the_data(built_book):
    text = page(built_book).select_one('div[role="list"], div.citation').parent.get_text().lower()
    assert "tieleman" in text and "airfoil self-noise" in text and "1218" in text


def test_index_page_explains_rebuild_and_tests(built_book):
    text = page(built_book, "book/index").get_text()
    assert "jupyter-book build ." in text and "python -m pytest" in text


def test_api_page_documents_the_optimizer_with_math(built_book):
    soup = page(built_book, "book/api")
    assert soup.find(id="rmsprop_lib.RMSprop") is not None
    text = soup.get_text()
    assert "eps_in_sqrt" in text and r"\sqrt{\tilde v_t + \epsilon}" in text


def test_executed_notebook_is_published_and_linked(built_book):
    path = built_book.html / "_sources" / "book" / "rmsprop.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    texts = [
        "".join(o.get("text", ""))
        for c in notebook["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    ]
    assert any("epoch 20, x1 -0.010599" in t for t in texts)
    assert page(built_book).select_one('a[href$="_sources/book/rmsprop.ipynb"]') is not None


def test_chinese_search_index_has_the_chapter_terms(built_book):
    text = (built_book.html / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    chapter = index["docnames"].index("book/rmsprop")
    for term in ("学习率", "指数加权移动平均", "均方根"):
        docs = index["terms"][term]
        assert chapter in (docs if isinstance(docs, list) else [docs]), term


def assert_image_decodes(build, src):
    path = (build.html / "book" / src).resolve()
    assert path.is_file(), src
    if path.suffix == ".svg":
        root = ET.parse(path).getroot()
        assert (
            root.tag.endswith("svg")
            and len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 10
        )
    else:
        from PIL import Image

        with Image.open(path) as image:
            image.verify()


def test_pages_load_no_script_or_style_from_outside_the_site(built_book):
    for name in ("book/index", "book/rmsprop", "book/api"):
        soup = page(built_book, name)
        external = [
            tag.get("src") or tag.get("href")
            for tag in soup.select("script[src], link[rel=stylesheet]")
            if (tag.get("src") or tag.get("href") or "").startswith(("http:", "https:", "//"))
        ]
        inline = [
            s.get_text() for s in soup.select("script:not([src])") if "https://" in s.get_text()
        ]
        assert external == [] and inline == [], (name, external, inline)


def test_performance_page_renders_the_benchmark_table_from_the_results_file(built_book):
    results = json.loads(
        (built_book.root / "benchmarks" / "results" / "optimizer_step.json").read_text()
    )
    soup = page(built_book, "book/performance")
    text = "\n".join(outputs(soup))
    assert f"机器：{results['machine']['cpu']}" in text
    tables = [
        t for t in soup.select("div.cell_output table") if "fused÷torch foreach" in t.get_text()
    ]
    assert len(tables) == 1
    rows = tables[0].select("tbody tr")
    expected = {(r["case"], r["config"]) for r in results["rows"]}
    assert len(rows) == len(expected)
    fused = {
        (r["tensors"], r["size"], r["config"]): r
        for r in results["rows"]
        if r["implementation"] == "ours fused"
    }
    for row in rows:
        cells = [td.get_text().strip() for td in row.find_all("td")]
        size = {"1000×16": 16_000, "ResNet-50": 25_557_032}.get(cells[0]) or int(
            float(cells[0].rstrip("M")) * 1e6
        )
        key = (int(cells[1]), size, cells[2])
        assert cells[7] == f"{fused[key]['ms_per_step']:.2f}"
        assert cells[8] == f"{fused[key]['ratio_to_torch_foreach']:.2f}×"
    assert "DEFINE_BODY" in soup.get_text()  # the kernel's real source is shown


def test_performance_page_shows_the_book_build_figures_from_their_results_file(built_book):
    results = json.loads(
        (built_book.root / "benchmarks" / "results" / "book_build.json").read_text()
    )
    soup = page(built_book, "book/performance")
    tables = [t for t in soup.select("div.cell_output table") if "本书冷构建" in t.get_text()]
    assert len(tables) == 1
    rows = {
        tr.find_all("td")[0].get_text().strip(): [
            td.get_text().strip() for td in tr.find_all("td")[1:]
        ]
        for tr in tables[0].select("tbody tr")
    }
    assert rows["本书冷构建"] == [f"{results['cold_s']:.1f}", str(results["cold_executed"])]
    assert rows["改动一句正文后重新构建"] == [
        f"{results['prose_edit_s']:.1f}",
        str(results["prose_edit_executed"]),
    ]
    assert f"冷构建 ÷ 下限 = {results['cold_vs_floor']:.2f}×" in soup.get_text()
