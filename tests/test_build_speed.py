"""What keeps a one-page rebuild fast gives the same results as the slow way.

* The search index segments Chinese text with jieba's dictionary read from an SQLite table
  (book/_ext/zh_search.py) instead of loading all of it: the words must be jieba's own.
* Pages are written without repeating work (book/_ext/write_speed.py): the theme renders its
  navigation and header buttons once per page, and documents looked up (figure numbers,
  ``{numref}``) are loaded once per build.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import jieba
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import write_speed  # noqa: E402
import zh_search  # noqa: E402

jieba.setLogLevel(logging.WARNING)

CHAPTER = (ROOT / "book" / "rmsprop.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def in_memory():
    """jieba as it segments by default: the whole dictionary in memory, plus ours."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(zh_search.USER_DICT))
    return tokenizer


def test_the_table_segments_the_chapter_exactly_as_jieba_in_memory(tmp_path, in_memory):
    expected = list(in_memory.cut_for_search(CHAPTER))
    assert "指数加权移动平均" in expected and "学习率" in expected  # our dictionary is in use

    first = zh_search.make_tokenizer(tmp_path)  # no table yet: jieba loads, the table is written
    (table,) = tmp_path.glob("jieba-*.sqlite")
    assert list(first.cut_for_search(CHAPTER)) == expected

    second = zh_search.make_tokenizer(tmp_path)  # reads the table
    assert isinstance(second.FREQ, zh_search.FrequencyTable)
    assert second.total == in_memory.total
    assert list(second.cut_for_search(CHAPTER)) == expected
    assert list(tmp_path.iterdir()) == [table]  # nothing else left behind


def test_an_unreadable_table_is_written_again(tmp_path, in_memory):
    zh_search.make_tokenizer(tmp_path)
    (table,) = tmp_path.glob("jieba-*.sqlite")
    table.write_bytes(b"not a database")
    tokenizer = zh_search.make_tokenizer(tmp_path)
    sentence = "RMSProp算法用指数加权移动平均调整每个元素的学习率。"
    assert list(tokenizer.cut_for_search(sentence)) == list(in_memory.cut_for_search(sentence))
    assert table.read_bytes().startswith(b"SQLite format 3")
    assert isinstance(zh_search.make_tokenizer(tmp_path).FREQ, zh_search.FrequencyTable)


def test_a_table_is_named_by_the_dictionary_it_holds(tmp_path):
    name = zh_search._table_path(tmp_path).name
    assert name.startswith("jieba-") and name.endswith(".sqlite")
    assert zh_search._table_path(tmp_path) == zh_search._table_path(tmp_path)


class _Templates:
    def __init__(self):
        self.rendered = []

    def render(self, template, context):
        self.rendered.append(template)
        return "" if template == "empty.html" else "<nav>...</nav>"


class _App:
    def __init__(self):
        self.builder = type("Builder", (), {"templates": _Templates()})()


def test_the_theme_renders_its_navigation_and_header_once_not_twice():
    from pydata_sphinx_theme import utils

    write_speed.setup(None)  # as Sphinx loads the extension (again: once is enough)
    write_speed.setup(None)
    app = _App()
    templates = ["sbt-sidebar-nav.html", "empty.html", "article-header-buttons", "other.html"]
    kept = utils._update_and_remove_templates(
        app=app, context={}, templates=templates, section="sidebars"
    )
    # The two never-empty templates are kept without a trial render; the others are checked
    # as before (the empty one is dropped).
    assert kept == ["sbt-sidebar-nav.html", "article-header-buttons.html", "other.html"]
    assert app.builder.templates.rendered == ["empty.html", "other.html"]


def test_a_cold_build_prepares_the_table_in_the_background(tmp_path, in_memory):
    zh_search.prepare(tmp_path)  # no table: a thread loads jieba and writes it
    tokenizer = zh_search.tokenizer_for(tmp_path)
    assert len(list(tmp_path.glob("jieba-*.sqlite"))) == 1
    assert list(tokenizer.cut_for_search(CHAPTER)) == list(in_memory.cut_for_search(CHAPTER))
    zh_search.prepare(tmp_path)  # the table exists: nothing to prepare
    assert tmp_path not in zh_search._prepared
    assert isinstance(zh_search.tokenizer_for(tmp_path).FREQ, zh_search.FrequencyTable)


def test_segmentations_are_kept_between_builds_and_forgotten_when_unused(tmp_path):
    path = tmp_path / "segmentations.marshal"
    first = zh_search.Segmentations(path)
    first.put("学习率", ["学习", "学习率"])
    first.put("旧的一句", ["旧", "的", "一句"])
    first.save()
    second = zh_search.Segmentations(path)
    assert second.get("学习率") == ["学习", "学习率"] and second.get("没见过") is None
    second.save()
    for _ in range(zh_search.Segmentations.KEEP_BUILDS):  # builds that use only 学习率
        later = zh_search.Segmentations(path)
        assert later.get("学习率") is not None
        later.save()
    last = zh_search.Segmentations(path)
    assert last.get("学习率") is not None and last.get("旧的一句") is None


class _Env:
    def __init__(self):
        self.loads = []

    def get_doctree(self, docname):
        self.loads.append(docname)
        return {"doc": docname, "copy": len(self.loads)}


def test_documents_looked_up_are_loaded_once_per_build_and_only_while_looking():
    write_speed.setup(None)
    write_speed._READ_ONLY.clear()
    env = _Env()

    def number_figures(self, app, env):  # stands in for TocTreeCollector.get_updated_docs
        return [env.get_doctree("book/rmsprop"), env.get_doctree("book/api")]

    def resolve_numref(self, env, fromdocname):  # ... and StandardDomain._resolve_numref_xref
        return env.get_doctree("book/rmsprop")

    numbered = write_speed._reading_doctrees(number_figures, 2)(None, None, env)
    resolved = [write_speed._reading_doctrees(resolve_numref, 1)(None, env, "x") for _ in range(11)]
    assert env.loads == ["book/rmsprop", "book/api"]  # eleven references, no new load
    assert all(doctree is numbered[0] for doctree in resolved)
    assert env.get_doctree("book/rmsprop")["copy"] == 3  # outside: a fresh copy, as before
    write_speed._READ_ONLY.clear()  # a new build reads the documents again
    assert write_speed._reading_doctrees(resolve_numref, 1)(None, env, "x")["copy"] == 4


def test_sphinx_methods_are_wrapped_once():
    from sphinx.domains.std import StandardDomain
    from sphinx.environment.collectors.toctree import TocTreeCollector

    write_speed.setup(None)
    write_speed.setup(None)
    numbering: Any = TocTreeCollector.get_updated_docs
    numref: Any = StandardDomain._resolve_numref_xref
    assert numbering.shares_doctrees and numref.shares_doctrees
    assert numbering.__wrapped__.__name__ == "get_updated_docs"
    assert not hasattr(numbering.__wrapped__, "shares_doctrees")  # not wrapped twice
