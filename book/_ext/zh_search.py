"""Chinese full-text search that cannot silently degrade, knows the chapter's terms, and
indexes no numbers.

With ``language: zh_CN`` Sphinx segments Chinese text with jieba; without jieba it silently
leaves every Chinese word out of the index. This extension:

* makes a missing jieba a build error, and keeps jieba's start-up chatter out of the log;
* gives jieba the chapter's terms (``search_dict.txt`` beside this file) with jieba's public
  ``load_userdict``, so that e.g. 学习率 and 指数加权移动平均 are indexed as words. Sphinx's
  own route, ``html_search_options: {dict: <path>}``, would put the dictionary's absolute path
  into the configuration hash in ``.buildinfo``, and two checkouts would publish different
  bytes;
* leaves numbers out of the index: the pages print measured times (seconds per epoch) that
  differ from build to build, and a search index holding them would differ too.

Both changes are a subclass of Sphinx's Chinese splitter registered with the public
``add_search_language``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.search.zh import SearchChinese

USER_DICT = Path(__file__).with_name("search_dict.txt")
NUMBER = re.compile(r"[-+]?[\d.,_]*\d[\d.,_]*(e[-+]?\d+)?", re.IGNORECASE)

# Tokenizers (jieba's global one, in practice) that were given the user dictionary: loading
# it twice would count its words' frequencies twice.
_WITH_USER_DICT: set[int] = set()


def load_user_dictionary(tokenizer) -> None:
    """Add the chapter's terms to a jieba tokenizer, once."""
    if id(tokenizer) not in _WITH_USER_DICT:
        tokenizer.load_userdict(str(USER_DICT))
        _WITH_USER_DICT.add(id(tokenizer))


class SearchChineseWithoutNumbers(SearchChinese):
    """Sphinx's Chinese search with the chapter's terms and no numbers (``0.012345``) as words."""

    def split(self, input: str) -> list[str]:
        import jieba

        # Loaded when the first text is indexed (loading jieba's dictionary takes a second
        # or more), so that a build that indexes nothing never pays for it.
        load_user_dictionary(jieba.dt)
        return super().split(input)

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
    return {"version": "2", "parallel_read_safe": True, "parallel_write_safe": True}
