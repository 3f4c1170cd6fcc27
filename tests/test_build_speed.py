"""What keeps a one-page rebuild fast gives the same results as the slow way.

* The search index segments Chinese text with jieba's dictionary read from an SQLite table
  (book/_ext/zh_search.py) instead of loading all of it: the words must be jieba's own.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import jieba
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

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
