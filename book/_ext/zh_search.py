"""Chinese full-text search that cannot silently degrade.

With ``language: zh_CN`` Sphinx segments Chinese text with jieba; without jieba it silently
leaves every Chinese word out of the index. This extension makes a missing jieba an error,
loads the chapter's terms (``search_dict.txt`` beside this file) as jieba's user dictionary
so that e.g. 学习率 and 指数加权移动平均 are indexed as words, and keeps jieba's start-up
chatter out of the build log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sphinx.errors import ExtensionError

USER_DICT = Path(__file__).with_name("search_dict.txt")


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
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(USER_DICT)}


def setup(app):
    app.connect("config-inited", _configure)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
