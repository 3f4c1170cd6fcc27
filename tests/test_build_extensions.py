"""The book's Sphinx extensions, each on a tiny project built in this process with
``sphinx.testing`` (``make_app``): what each does, independent of the chapter.
"""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

from conftest import ROOT

EXT = ROOT / "book" / "_ext"


def project(directory: Path, extensions: list[str], pages: dict[str, str], **conf) -> Path:
    """A Sphinx project in ``directory``: conf.py loading ``extensions`` from book/_ext."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = "".join(f"{name} = {value!r}\n" for name, value in conf.items())
    (directory / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = {extensions!r}\n{settings}",
        encoding="utf-8",
    )
    for name, text in pages.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


# --- strict.py: every warning fails the build, and a failed build is forgotten --------------

WARNING_PAGE = "A page\n======\n\nThis page refers to :ref:`a-label-nobody-defined`.\n"
CLEAN_PAGE = "A page\n======\n\nNothing wrong here.\n"


def test_a_warning_fails_the_build_and_its_environment_is_discarded(make_app, tmp_path):
    src = project(tmp_path / "src", ["strict"], {"index.rst": WARNING_PAGE})
    app = make_app("html", srcdir=src)
    app.build()
    assert "undefined label: 'a-label-nobody-defined'" in app.warning.getvalue()
    assert app.statuscode == 1  # the build fails ...
    assert (Path(app.outdir) / "index.html").is_file()  # ... after reporting every page
    assert "build finished with problems, 1 warning" in app.status.getvalue()
    assert not (Path(app.doctreedir) / "environment.pickle").exists()
    assert "its environment was discarded" in app.status.getvalue()

    # The next build reads the page again, and fails again.
    again = make_app("html", srcdir=src)
    again.build()
    assert "undefined label" in again.warning.getvalue() and again.statuscode == 1


def test_a_clean_build_keeps_its_environment_and_succeeds(make_app, tmp_path):
    src = project(tmp_path / "src", ["strict"], {"index.rst": CLEAN_PAGE})
    app = make_app("html", srcdir=src)
    app.build()
    assert app.warning.getvalue() == "" and app.statuscode == 0
    assert (Path(app.doctreedir) / "environment.pickle").is_file()
    again = make_app("html", srcdir=src)
    again.build()
    assert "0 added, 0 changed, 0 removed" in again.status.getvalue()


# --- static_files.py: an edited style sheet is published by a rebuild that writes no page --


def test_a_rebuild_that_writes_no_page_publishes_an_edited_style_sheet(make_app, tmp_path):
    # Without the extension, Sphinx 7 leaves the old file in the site (sphinx-doc/sphinx#1810).
    for extensions, published in (([], "old"), (["static_files"], "new")):
        src = project(
            tmp_path / f"with-{len(extensions)}",
            extensions,
            {"index.rst": CLEAN_PAGE},
            html_static_path=["_static"],
        )
        sheet = src / "_static" / "site.css"
        sheet.parent.mkdir()
        sheet.write_text("p { color: old; }", encoding="utf-8")
        make_app("html", srcdir=src).build()
        sheet.write_text("p { color: new; }", encoding="utf-8")
        again = make_app("html", srcdir=src)
        again.build()
        assert "no targets are out of date" in again.status.getvalue()
        copy = Path(again.outdir, "_static", "site.css")
        assert copy.read_text(encoding="utf-8") == f"p {{ color: {published}; }}", extensions


# --- api_signatures.py: a default made by a factory is shown as its value -------------------


def test_a_dataclass_default_from_a_factory_shows_its_value(make_app, tmp_path):
    src = project(
        tmp_path / "src",
        ["api_signatures"],
        {"index.rst": "API\n===\n\n.. autoclass:: shapes.Path\n"},
    )
    (src / "conf.py").write_text(
        f"sys_path = {str(src)!r}\n"
        + (src / "conf.py").read_text(encoding="utf-8")
        + "sys.path.insert(0, sys_path)\n",
        encoding="utf-8",
    )
    (src / "shapes.py").write_text(
        "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Path:\n"
        '    """A path."""\n\n'
        "    points: list = field(default_factory=list)\n    name: str = 'p'\n"
        "    tags: dict = field(default_factory=dict)\n",
        encoding="utf-8",
    )
    app = make_app("html", srcdir=src)
    app.build()
    assert app.statuscode == 0, app.warning.getvalue()
    from bs4 import BeautifulSoup

    html = Path(app.outdir, "index.html").read_text(encoding="utf-8")
    signature = BeautifulSoup(html, "html.parser").select("dt.sig")[0].get_text("")
    assert "(points: list = [], name: str = 'p', tags: dict = {})" in signature, signature


# --- zh_search.py: Chinese words with the chapter's terms, no numbers ----------------------

ZH_PAGE = (
    "一个页面\n========\n\n"
    "RMSProp算法用指数加权移动平均调整每个元素的学习率。\n\n"
    "一轮用时 0.012345 秒，共 20 轮，损失 0.2431。\n"
)


def search_terms(app) -> dict:
    text = Path(app.outdir, "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])["terms"]


def test_chinese_search_indexes_the_chapters_terms_and_no_numbers(make_app, tmp_path):
    src = project(tmp_path / "src", ["zh_search"], {"index.rst": ZH_PAGE}, language="zh_CN")
    app = make_app("html", srcdir=src)
    app.build()
    terms = search_terms(app)
    # 指数加权移动平均 is a word only with the chapter's dictionary (jieba alone splits it).
    for word in ("学习率", "指数加权移动平均", "算法", "rmsprop"):
        assert word in terms, word
    numbers = [t for t in terms if any(c.isdigit() for c in t)]
    assert numbers == []


def test_without_the_extension_numbers_would_be_words_and_jieba_splits_the_term():
    # The controls for the test above, on Sphinx's own Chinese splitter and jieba's own
    # tokenizer (a fresh one: the build above gave jieba's global one the chapter's terms,
    # and add_search_language replaced Sphinx's splitter for the whole process).
    import jieba
    from sphinx.search.zh import SearchChinese

    assert SearchChinese({}).word_filter("012345")
    assert "指数加权移动平均" not in jieba.Tokenizer().cut_for_search("用指数加权移动平均调整")


def test_the_user_dictionary_is_loaded_once_per_tokenizer():
    sys.path.insert(0, str(EXT))
    try:
        import zh_search
    finally:
        sys.path.remove(str(EXT))

    class Tokenizer:
        def __init__(self):
            self.loaded: list[str] = []

        def load_userdict(self, path):
            self.loaded.append(path)

    tokenizer = Tokenizer()
    zh_search.load_user_dictionary(tokenizer)
    zh_search.load_user_dictionary(tokenizer)
    assert tokenizer.loaded == [str(EXT / "search_dict.txt")]


def test_a_missing_jieba_is_a_build_error(make_app, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_jieba(name, *args, **kwargs):
        if name == "jieba":
            raise ImportError("No module named 'jieba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jieba)
    src = project(tmp_path / "src", ["zh_search"], {"index.rst": ZH_PAGE}, language="zh_CN")
    with pytest.raises(ExtensionError, match="jieba is not installed.*pip install jieba"):
        make_app("html", srcdir=src)


# --- thebe_scripts.py: no thebe script (nor its CDN address) on any page --------------------


@pytest.mark.parametrize("drop", [True, False], ids=["with-extension", "sphinx-thebe-alone"])
def test_pages_load_no_thebe_script(make_app, tmp_path, drop):
    extensions = ["sphinx_thebe", *(["thebe_scripts"] if drop else [])]
    src = project(tmp_path / "src", extensions, {"index.rst": CLEAN_PAGE})
    app = make_app("html", srcdir=src)
    app.build()
    html = Path(app.outdir, "index.html").read_text(encoding="utf-8")
    found = ("THEBE_JS_URL" in html, "sphinx-thebe.js" in html, "unpkg.com" in html)
    assert found == ((False, False, False) if drop else (True, True, True))
    assert "<title>A page" in html  # the page itself is written


# --- template_cache.py: page templates compiled once, again only when edited ----------------

LAYOUT = (
    '{%% extends "!layout.html" %%}\n{%% block footer %%}<p class="mark">%s</p>{%% endblock %%}\n'
)


def _counting_compiles(monkeypatch) -> list[str]:
    """Names of the templates Jinja compiles from source from now on, in this process."""
    import jinja2

    compiled: list[str] = []
    compile_source = jinja2.Environment.compile

    def compile(self, source, name=None, filename=None, *args, **kwargs):
        if filename is not None:  # a template file (not a string rendered in passing)
            compiled.append(name)
        return compile_source(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile)
    return compiled


@pytest.mark.parametrize("cached", [True, False], ids=["with-extension", "sphinx-alone"])
def test_a_new_build_compiles_only_the_templates_edited_since_the_last(
    make_app, tmp_path, monkeypatch, cached
):
    conf: dict[str, object] = {"templates_path": ["_templates"]}
    if cached:
        conf["template_bridge"] = "template_cache.CachedTemplateLoader"
    src = project(tmp_path / "src", ["template_cache"], {"index.rst": CLEAN_PAGE}, **conf)
    (src / "_templates").mkdir()
    (src / "_templates" / "layout.html").write_text(LAYOUT % "first", encoding="utf-8")
    compiled = _counting_compiles(monkeypatch)

    def build() -> tuple[list[str], str]:
        compiled.clear()
        app = make_app("html", srcdir=src)
        app.build(force_all=True)  # every page is written by every build
        assert app.statuscode == 0, app.warning.getvalue()
        return list(compiled), Path(app.outdir, "index.html").read_text(encoding="utf-8")

    first, first_html = build()
    assert "layout.html" in first and len(first) > 5
    assert '<p class="mark">first</p>' in first_html

    again, again_html = build()
    assert again_html == first_html
    assert again == ([] if cached else first)

    (src / "_templates" / "layout.html").write_text(LAYOUT % "second", encoding="utf-8")
    edited, edited_html = build()
    assert '<p class="mark">second</p>' in edited_html
    assert edited == (["layout.html"] if cached else first)


# --- pdf_edition.py: the PDF and the links to it follow the last build ---------------------

PDF_PAGE = "A page\n======\n\nText.\n\n.. only:: pdf_edition\n\n   The PDF edition.\n"
OTHER_PAGE = "Another page\n============\n\nMore text.\n"
PDF_TOC = "\n\n.. toctree::\n\n   other\n"


@pytest.mark.slow
@pytest.mark.requires("chromium")
def test_turning_the_pdf_off_removes_it_and_rewrites_every_page_without_it(
    make_app, tmp_path, monkeypatch
):
    src = project(
        tmp_path / "src",
        ["pdf_edition"],
        {"index.rst": PDF_PAGE + PDF_TOC, "other.rst": OTHER_PAGE + PDF_PAGE.split("Text.")[1]},
    )
    monkeypatch.setenv("RMSPROP_BOOK_PDF", "on")
    printed = make_app("html", srcdir=src)
    printed.build()
    assert printed.statuscode == 0, printed.warning.getvalue()
    pdf = Path(printed.outdir) / "rmsprop-book.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    for page in ("index", "other"):
        assert "The PDF edition." in Path(printed.outdir, f"{page}.html").read_text("utf-8")

    # No source changed, only the mode: every page is written again, and the PDF goes.
    monkeypatch.setenv("RMSPROP_BOOK_PDF", "off")
    plain = make_app("html", srcdir=src)
    plain.build()
    assert plain.statuscode == 0, plain.warning.getvalue()
    assert not pdf.exists()
    for page in ("index", "other"):
        assert "The PDF edition." not in Path(plain.outdir, f"{page}.html").read_text("utf-8")
