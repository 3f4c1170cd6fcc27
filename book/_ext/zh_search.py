"""Chinese full-text search that cannot silently degrade.

With ``language: zh_CN`` Sphinx segments Chinese text with jieba; without jieba it silently
leaves every Chinese word out of the index. This extension makes a missing jieba an error,
loads the chapter's terms (``search_dict.txt`` beside this file) as jieba's user dictionary
so that e.g. 学习率 and 指数加权移动平均 are indexed as words, and keeps jieba's start-up
chatter out of the build log. The splitter below loads the dictionary itself: passed through
``html_search_options`` its absolute path would enter the configuration hash in
``.buildinfo`` and make two checkouts publish different bytes.

Numbers are not indexed as words: the pages print measured times (seconds per epoch) that
differ from build to build, and a search index holding them would differ too. Sphinx's
public ``add_search_language`` replaces its Chinese splitter with one that leaves numbers out.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.search.zh import SearchChinese

USER_DICT = Path(__file__).with_name("search_dict.txt")
NUMBER = re.compile(r"[-+]?[\d.,_]*\d[\d.,_]*(e[-+]?\d+)?", re.IGNORECASE)


class SearchChineseWithoutNumbers(SearchChinese):
    """Sphinx's Chinese search, except that numbers (``0.012345``, ``-0.010599``) are no words."""

    def init(self, options: dict[str, str]) -> None:
        super().init(options)
        import jieba

        jieba.load_userdict(str(USER_DICT))

    def word_filter(self, stemmed_word: str) -> bool:
        return not NUMBER.fullmatch(stemmed_word) and super().word_filter(stemmed_word)


def _configure(app, config):
    if not str(config.language or "").startswith("zh"):
        return
    try:
        import jieba
    except ImportError:
        raise ExtensionError(
            "language is zh_CN but jieba is not installed, so Chinese words would be "
            "missing from the search index: pip install jieba"
        ) from None
    jieba.setLogLevel(logging.WARNING)


def setup(app):
    app.add_search_language(SearchChineseWithoutNumbers)
    app.connect("config-inited", _configure)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
