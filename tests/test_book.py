"""Check what the session's build of the book publishes."""

from __future__ import annotations

import inspect
import io
import json
import re
import tokenize
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from helpers import built_page
from rmsprop_lib import lesson

pytestmark = pytest.mark.book

TRAIN_LINE = re.compile(r"^loss: 0\.2[34]\d{4}, \d+\.\d{6} sec per epoch$")


def page(build, name="book/rmsprop"):
    return built_page(build.html / f"{name}.html")


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
    assert "默认设置与 torch.optim.RMSprop 逐位相同： True" in text
    # The chapter's formula differs from the library's fused multiply-add by rounding only.
    found = re.search(r"eps_in_sqrt=True 与从零实现最大相差 (\S+)\n", text + "\n")
    gap = re.search(r"\d+ 个记录中最大相差 (\S+)，", text)
    assert found and gap, text
    assert 0 < float(found[1]) < 1e-6 and float(gap[1]) > 10 * float(found[1])


def test_prose_numbers_come_from_the_executed_cells(built_book):
    soup = page(built_book)
    prose = re.sub(r"\s+", " ", soup.select_one("main").get_text())
    # The chapter's published value (x1 = -0.01059867...), glued into the prose from the cell.
    assert "20 步之后 \\(x_1\\) 约为 -0.010599，" in prose
    final = next(o for o in outputs(soup) if o.startswith("loss:")).split(",")[0].split()[1]
    assert f"最终约为 {final}" in prose


SHOWN: list[Callable[..., Any]] = [
    lesson.rmsprop_2d,
    lesson.train_2d,
    lesson.adagrad_2d,
    lesson.get_data_ch7,
    lesson.linreg,
    lesson.squared_loss,
    lesson.init_rmsprop_states,
    lesson.rmsprop,
    lesson.data_iter,
    lesson.train_ch7,
    lesson.train_pytorch_ch7,
]


def found(pattern, text):
    """The match of ``pattern`` in ``text``; failing the test when there is none."""
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, (pattern, text[:2000])
    return match


def literal_blocks(node):
    """The code blocks a literalinclude shows (not the code cells)."""
    return [
        pre.get_text()
        for pre in node.select("div.highlight-python pre, div.highlight-default pre")
        if pre.find_parent("div", class_="cell") is None
    ]


def section(soup, title):
    heading = next(h for h in soup.select("h2, h3") if title in h.get_text())
    return heading.find_parent("section")


def width(line):
    """Columns a line takes in a monospace font: two for a Chinese character, and for a
    Greek letter or math sign, which the browser draws from a wider fallback font."""
    return sum(1 if c.isascii() else 2 for c in line)


def test_shown_code_is_the_lesson_source(built_book):
    blocks = [block.strip() for block in literal_blocks(page(built_book))]
    for fn in SHOWN:
        assert inspect.getsource(fn).strip() in blocks, fn.__name__


def test_implementation_sections_show_only_the_lesson(built_book):
    soup = page(built_book)
    for title in ("从零开始实现", "简洁实现"):
        part = section(soup, title)
        shown = literal_blocks(part)
        cells = [pre.get_text() for pre in part.select("div.cell_input pre")]
        assert shown and cells, title
        for code in shown + cells:
            for line in code.splitlines():
                assert len(line) <= 88, line
            assert "_check" not in code and '"""' not in code and "glue(" not in code, code
            assert "hashsalt" not in code and "myst_nb" not in code, code
        for code in shown:
            assert re.search(r"#.*[\u4e00-\u9fff]", code), code  # short Chinese comments
    scratch = literal_blocks(section(soup, "从零开始实现"))
    rmsprop = next(code for code in scratch if code.startswith("def rmsprop("))
    assert len(rmsprop.strip().splitlines()) <= 12
    names = [found(r"^def (\w+)", code)[1] for code in scratch]
    # linreg and squared_loss are shown before the training that uses them.
    assert names.index("linreg") < names.index("train_ch7")
    assert names.index("squared_loss") < names.index("train_ch7")


def _code_comments(source: str) -> list[str]:
    """The ``#`` comments of every code cell of a MyST page's source."""
    comments = []
    for cell in re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", source, re.M | re.S):
        cell = re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S)  # the cell's options
        code = "\n".join(line for line in cell.splitlines() if not line.startswith(":"))
        tokens = tokenize.generate_tokens(io.StringIO(code).readline)
        comments += [t.string for t in tokens if t.type == tokenize.COMMENT]
    return comments


def test_every_comment_in_the_books_code_cells_is_chinese():
    pages = sorted((Path(__file__).parents[1] / "book").glob("*.md"))
    comments = [c for p in pages for c in _code_comments(p.read_text(encoding="utf-8"))]
    assert len(comments) >= 10
    assert [c for c in comments if not re.search(r"[\u4e00-\u9fff]", c)] == []
    # (it reads the comments the way a page holds them)
    cell = "```{code-cell} ipython3\n---\ntags: [x]\n---\nx = 1  # the x\ns = '# no'\n```\n"
    assert _code_comments(cell) == ["# the x"]


def test_visible_code_fits_its_box_at_1280_px(built_book):
    # At 1280 px a shown function's box holds 77 columns, a code cell's 75, a cell inside a
    # folded answer 69 (measured in Chromium); a longer line gets a sideways scroll bar.
    blocks = page(built_book).select(
        "div.cell_input pre, div.highlight-python pre, div.highlight-default pre"
    )
    assert len(blocks) >= 30
    for pre in blocks:
        limit = 77 if pre.find_parent("div", class_="cell") is None else 75
        if pre.find_parent("div", class_="solution"):
            limit = 69
        for line in pre.get_text().splitlines():
            assert width(line) <= limit, line


def test_concise_section_shows_the_pytorch_loop_that_produces_its_output(built_book):
    part = section(page(built_book), "简洁实现")
    loop = inspect.getsource(lesson.train_pytorch_ch7).strip()
    assert loop in [block.strip() for block in literal_blocks(part)]
    for call in ("optimizer.zero_grad()", "loss.backward()", "optimizer.step()"):
        assert call in loop
    # The cell that prints the section's loss runs it (tests/test_lesson.py proves that
    # rl.train_pytorch_ch7 calls exactly this function).
    cell = next(c for c in part.select("div.cell") if "train_pytorch_ch7" in c.get_text())
    assert "torch.optim.RMSprop" in cell.select_one("div.cell_input").get_text()
    assert TRAIN_LINE.match(cell.select_one("div.cell_output pre").get_text().strip())


def test_no_visible_cell_calls_glue_or_sets_a_salt(built_book):
    inputs = [pre.get_text() for pre in page(built_book).select("div.cell_input pre")]
    assert len(inputs) >= 15
    for code in inputs:
        assert "glue(" not in code and "hashsalt" not in code and "myst_nb" not in code, code


CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def source_cells(text):
    """(tags, code) of each code cell of a MyST page."""
    cells = []
    for body in CELL.findall(text):
        options, code = "", body
        if body.startswith("---\n"):
            options, code = body[4:].split("\n---\n", 1)
        else:
            lines = body.splitlines(keepends=True)
            while lines and lines[0].startswith(":"):
                options += lines.pop(0)
            code = "".join(lines)
        tags = re.search(r"tags: \[([^\]]*)\]", options)
        cells.append(({t.strip() for t in tags[1].split(",")} if tags else set(), code))
    return cells


def visible_cells_with_plumbing(text):
    return [
        code
        for tags, code in source_cells(text)
        if not tags & {"remove-cell", "remove-input"}
        and re.search(r"\bglue\(|hashsalt|myst_nb", code)
    ]


def test_build_plumbing_sits_only_in_hidden_cells_of_the_page_source():
    text = (Path(__file__).parents[1] / "book" / "rmsprop.md").read_text(encoding="utf-8")
    assert len(source_cells(text)) >= 25
    assert visible_cells_with_plumbing(text) == []
    hidden = [code for tags, code in source_cells(text) if "remove-cell" in tags]
    assert any("hashsalt" in code for code in hidden) and any("glue(" in code for code in hidden)


def test_the_plumbing_check_catches_a_visible_glue_or_salt():
    page_text = (
        "```{code-cell} ipython3\nx = 1\nglue('x', x)\n```\n\n"
        "```{code-cell} ipython3\n:tags: [hide-input]\n\nplt.rcParams['svg.hashsalt'] = 's'\n```\n\n"
        "```{code-cell} ipython3\n:tags: [remove-cell]\n\nglue('y', 2)\n```\n\n"
        "```{code-cell} ipython3\n---\ntags: [remove-input]\n---\nglue('z', 3)\n```\n"
    )
    assert len(visible_cells_with_plumbing(page_text)) == 2


def prose_nodes(node):
    return [p for p in node.find_all(["p", "li"]) if p.find_parent("div", class_="cell") is None]


def squash(text):
    """Text without whitespace: the build may or may not keep Chinese soft line breaks."""
    return re.sub(r"\s+", "", text)


def prose(node):
    return squash(" ".join(p.get_text() for p in prose_nodes(node)))


def test_eps_part_says_only_what_the_page_prints(built_book):
    soup = page(built_book)
    out = "\n".join(outputs(soup))
    final = {line.split(",")[0] for line in outputs(soup) if line.startswith("loss:")}
    assert len(final) == 1, final  # both runs print the same final loss
    (final,) = final
    assert "最终损失逐位相同： True" in out
    gap = re.search(r"(\d+) 个记录中最大相差 (\S+)，出现在第 (\d+) 个样本之后", out)
    state = re.search(r"训练结束时状态 s 的最小元素：(\S+)", out)
    rounding = re.search(r"eps_in_sqrt=True 与从零实现最大相差 (\S+)", out)
    assert gap and state and rounding, out
    text = prose(section(soup, "的位置有多大影响"))
    assert f"所以两次都打印出{final.split()[1]}。" in text
    assert f"在记录下来的{gap[1]}个损失中，两者最多相差{gap[2]}，出现在前{gap[3]}个样本之后" in text
    assert f"最小的元素也有{state[1]}，" in text
    assert f"比较的是全部{gap[1]}个记录下来的损失" in text
    assert f"第二行的差别{rounding[1]}不来自算法" in text
    ratio = int(found(r"带来的差别约是它的(\d+)倍。", text)[1])
    assert abs(ratio - float(gap[2]) / float(rounding[1])) < 1
    # The sentence under the table of names agrees (it once blamed ε for different losses).
    table = prose(section(soup, "与 PyTorch 的参数名对照"))
    assert f"两者打印的最终损失相同，记录下来的损失最多相差{gap[2]}。" in table
    assert "略有不同" not in squash(soup.get_text())


def typed_numbers(node):
    """Digits in prose outside glued values, math, links and code."""
    found = []
    for p in prose_nodes(node):
        p = BeautifulSoup(str(p), "html.parser")
        for tag in p.select("span.pasted-text, span.math, a, code"):
            tag.decompose()
        found += re.findall(r"\d+(?:\.\d+)?", p.get_text())
    return found


def test_eps_part_cites_no_hand_typed_number(built_book):
    soup = page(built_book)
    assert typed_numbers(section(soup, "的位置有多大影响")) == []
    table = next(p for p in prose_nodes(soup) if "本节最后会比较" in p.get_text())
    assert typed_numbers(table) == []


def test_typed_number_finder_sees_a_number_outside_glue_and_math():
    node = BeautifulSoup(
        '<p>相差 <span class="pasted-text">7.7e-07</span>，约 <span class="math">\\(10^{-6}\\)'
        '</span> 与 0.24，见 <a href="#f">图 3</a></p>',
        "html.parser",
    )
    assert typed_numbers(node) == ["0.24"]


def test_window_explanation_cites_the_printed_powers(built_book):
    soup = page(built_book)
    out = "\n".join(outputs(soup))
    powers = [float(v) for v in re.findall(r"γ\^n = (\S+)", out)]
    inv_e = found(r"1/e = (\S+)", out)[1]
    assert len(powers) == 4
    text = prose(section(soup, "步的平均"))
    assert f"都在{min(powers):.3f}到{max(powers):.3f}之间，接近" in text
    assert text.count(inv_e) == 1


def solution(soup, n):
    return soup.select("div.solution")[n - 1]


def test_exercise_answers_cite_what_their_cells_print(built_book):
    soup = page(built_book)
    # 1: γ = 1 diverges.
    answer = solution(soup, 1)
    first = found(r"前 4 个记录的损失： (\[.*\])", "\n".join(outputs(answer)))
    start, after_100 = json.loads(first[1].replace("'", '"'))[:2]
    assert f"损失就从开始时的{float(start):.2f}涨到了{after_100}；" in prose(answer)
    # 2: the grid's corners, cited in the direction the answer claims.
    text = prose(solution(soup, 2))
    small = re.search(r"最终损失还有(\d\.\d{4})；.*?时已降到(\d\.\d{4})。", text)
    large = re.search(r"的(\d\.\d{4})到\\\(\\gamma=0\.999\\\)的(\d\.\d{4})。", text)
    middle = re.search(r"都在(\d\.\d{4})到(\d\.\d{4})之间", text)
    assert small and large and middle, text
    assert float(small[1]) > float(small[2]) and float(large[1]) < float(large[2])
    assert float(middle[1]) <= float(middle[2]) < float(large[1])
    assert "振荡" not in text  # a heat map of final losses cannot show oscillation
    # 3: the rotated objective.
    answer = solution(soup, 3)
    values = found(r"f 的值：原函数 (\S+)，旋转后 (\S+)", "\n".join(outputs(answer)))
    assert f"20步后的函数值是{values[2]}，而原函数上是{values[1]}。" in prose(answer)
    # 4: from which γ on the explorer's end values stay below 1e-4.
    answer = solution(soup, 4)
    ends = [
        (float(g), float(f)) for g, f in re.findall(r"γ=(\S+) f=(\S+)", "\n".join(outputs(answer)))
    ]
    assert len(ends) == 34
    start = next(i for i in range(len(ends)) if all(f < 1e-4 for _, f in ends[i:]))
    text = prose(answer)
    assert f"{ends[start][0]:.2f}开始，20步后的函数值都在" in text
    assert f"都还不低于{min(f for _, f in ends[:start]):.1e}。" in text
    # 5: changing γ while training.
    answer = solution(soup, 5)
    runs = dict(
        (name, (float(early), float(last)))
        for name, early, last in re.findall(
            r"^(.+?)：前 300 个样本后 (\S+)，最终 (\S+)$", "\n".join(outputs(answer)), re.M
        )
    )
    assert set(runs) == {"γ = 0.9", "γ = 0.99", "γ = min(0.99, 1 - 1/t)"}, runs
    text = prose(answer)
    spread = float(found(r"最终损失相差不到(\S+?)：", text)[1])
    finals = [last for _, last in runs.values()]
    assert abs(spread - (max(finals) - min(finals))) <= 1e-4  # printed to 4 decimals
    assert f"的损失已降到{runs['γ = 0.99'][0]:.4f}，" in text
    assert f"变化的只降到{runs['γ = min(0.99, 1 - 1/t)'][0]:.4f}。" in text


def test_each_solution_follows_its_exercise_and_names_it_in_words(built_book):
    """The title is the control that opens the answer: nothing in it is a link (a tap on
    "练习 n" would jump to the exercise and leave the answer closed)."""
    soup = page(built_book)
    solutions = soup.select("div.solution")
    assert len(solutions) == 5
    for n, solution in enumerate(solutions, start=1):
        title = solution.select_one(".admonition-title")
        assert title.get_text() == f"解答 练习 {n}", title
        assert title.find("a") is None, title
        exercise = solution.find_previous_sibling("div")
        assert "exercise" in exercise["class"], exercise
        assert exercise.select_one(".admonition-title").get_text().startswith(f"练习 {n}")


def test_slips_are_gone(built_book):
    soup = page(built_book)
    text = squash(soup.get_text())
    assert "附录附录" not in text and "第一个100个样本" not in text
    caption = soup.find(id="fig-ema-weights").find("figcaption").get_text()
    assert "\\(k\\)" in caption and "\\(t\\)" not in caption  # steps back are k; t is time
    solution_five = solution(soup, 5)
    assert solution_five.find_parent(class_="dropdown") or "dropdown" in solution_five["class"]


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
    assert "eps_in_sqrt" in text and r"\sqrt{v_t + \epsilon}" in text


def test_api_page_shows_no_private_name_in_a_signature_or_type(built_book):
    # (f_2d's arguments and result were typed with the module's private TypeVar "_X")
    soup = page(built_book, "book/api")
    functions = soup.select("dl.py.function, dl.py.class, dl.py.method")
    assert len(functions) >= 20
    shown = " ".join(
        e.get_text(" ") for e in soup.select("dt.sig, dl.field-list dd, dl.field-list dt")
    )
    assert re.findall(r"(?<![\w.])_[A-Za-z]\w*", shown) == []
    # a dataclass field's default made by a factory shows as its value, not "<factory>"
    assert "<factory>" not in shown
    trace = soup.find(id="rmsprop_lib.trace2d.Trace2D").get_text("")
    assert "Trace2D(points=[], states=[])" in re.sub(r"\s+", "", trace).replace(",", ", ")


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


def test_the_front_page_names_the_pages_that_download_as_notebooks(built_book):
    with_notebook = set()
    for path in sorted((built_book.html / "book").glob("*.html")):
        soup = built_page(path)
        if soup.select_one(f'a[href$="_sources/book/{path.stem}.ipynb"]') is not None:
            with_notebook.add(path.stem)
    assert with_notebook == {"rmsprop", "performance"}  # the pages with code
    front = page(built_book, "book/index").get_text()
    assert "正文和附录这两页有代码" in front and "每页右上角" not in front


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
    # where and when: a paragraph, which wraps on a phone (as printed text it was cut off)
    machine = [p.get_text() for p in soup.select("div.cell_output p") if "机器：" in p.get_text()]
    assert len(machine) == 1
    m = results["machine"]
    assert machine[0].startswith(f"机器：{m['cpu']}，{m['cores']} 核；PyTorch {m['torch']}")
    assert machine[0].endswith(f"每项重复 {results['reps']} 次")
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


def test_performance_pages_sentences_on_the_compiled_peer_cite_the_results_file(built_book):
    results = json.loads(
        (built_book.root / "benchmarks" / "results" / "optimizer_step.json").read_text()
    )
    plain = {(r["case"], r["implementation"]): r for r in results["rows"] if r["config"] == "plain"}
    first_s = [plain[c, "torch compile"]["first_step_ms"] / 1e3 for c in ("1000x16", "resnet50")]
    small = (
        plain["1000x16", "ours fused"]["ms_per_step"]
        / plain["1000x16", "torch compile"]["ms_per_step"]
    )
    text = " ".join(page(built_book, "book/performance").get_text().split())
    for sentence in (
        f"编译后的一步是内存下限的 {plain['resnet50', 'torch compile']['ratio_to_floor']:.2f} 倍，"
        f"融合内核是 {plain['resnet50', 'ours fused']['ratio_to_floor']:.2f} 倍。",
        f"耗时只有前者的 {small:.2f} 倍。",
        f"本机上编译用了 {min(first_s):.0f} 到 {max(first_s):.0f} 秒，",
    ):
        assert sentence in text, sentence


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
    assert rows["本书冷构建"] == [f"{results['cold_s']:.2f}", str(results["cold_executed"])]
    assert rows["改动一句正文后重新构建"] == [
        f"{results['prose_edit_s']:.2f}",
        str(results["prose_edit_executed"]),
    ]
    assert f"冷构建 ÷ 下限 = {results['cold_vs_floor']:.2f}×" in soup.get_text()
    assert f"所以各测 {results['repeats']} 次" in " ".join(soup.get_text().split())
