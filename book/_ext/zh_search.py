"""Chinese full-text search that cannot silently degrade, and does not slow down a rebuild.

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

**Speed.** jieba holds its whole dictionary in memory (half a million words and word
prefixes), and loading it takes a second and a half: longer than everything else a one-page
rebuild does. Segmenting a page needs only a few thousand of those entries. So the first
build writes jieba's dictionary to an SQLite table under the doctree directory
(``zh_search/jieba-<digest of jieba's dictionary>.sqlite``; in a background thread while the
pages execute), and later builds look up just the entries they need. The segmentation is
jieba's own (its ``Tokenizer`` with the table as its frequency map, the same total, the same
user dictionary): the index is the same either way.
What jieba made of each text is kept too, so a rebuild segments only the texts that changed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import os
import re
import sqlite3
import tempfile
import threading
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError
from sphinx.search.zh import SearchChinese

USER_DICT = Path(__file__).with_name("search_dict.txt")
NUMBER = re.compile(r"[-+]?[\d.,_]*\d[\d.,_]*(e[-+]?\d+)?", re.IGNORECASE)
TABLE_VERSION = "1"  # bump when the table's layout changes


class FrequencyTable:
    """jieba's ``FREQ`` map (word or word prefix → frequency, 0 for a bare prefix) read from
    an SQLite table as entries are asked for; entries jieba adds (the user dictionary) and
    every answer are kept in memory."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self._known: dict[str, int | None] = {}

    def total(self) -> int:
        (total,) = self._db.execute("SELECT value FROM meta WHERE key = 'total'").fetchone()
        return int(total)

    def get(self, word: str, default: int | None = None) -> int | None:
        try:
            freq = self._known[word]
        except KeyError:
            row = self._db.execute("SELECT f FROM freq WHERE w = ?", (word,)).fetchone()
            freq = self._known[word] = None if row is None else row[0]
        return default if freq is None else freq

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        freq = self.get(word)
        if freq is None:
            raise KeyError(word)
        return freq

    def __setitem__(self, word: str, freq: int) -> None:
        self._known[word] = freq


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_table(path: Path, freq: dict[str, int], total: int) -> None:
    """Write jieba's loaded dictionary to ``path`` (whole or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("CREATE TABLE freq (w TEXT PRIMARY KEY, f INTEGER NOT NULL) WITHOUT ROWID")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
            db.execute("INSERT INTO meta VALUES ('total', ?)", (str(total),))
            db.commit()
        finally:
            db.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def _dictionary_digest() -> str:
    """jieba's dictionary (5 MB) and version, hashed once per process."""
    import jieba

    digest = hashlib.sha256(TABLE_VERSION.encode() + jieba.__version__.encode())
    with jieba.dt.get_dict_file() as dictionary:
        digest.update(dictionary.read())
    return digest.hexdigest()[:16]


def _table_path(directory: Path) -> Path:
    """Where jieba's dictionary is kept as a table, named by its content and jieba's version."""
    return directory / f"jieba-{_dictionary_digest()}.sqlite"


def make_tokenizer(directory: Path | None):
    """A jieba tokenizer with jieba's dictionary and ours, its frequencies read from the table
    in ``directory`` (written there first if missing or unreadable); in memory without one."""
    import jieba

    tokenizer = jieba.Tokenizer()
    path = _table_path(directory) if directory is not None else None
    if path is not None and path.is_file():
        try:
            table = FrequencyTable(path)
            tokenizer.total = table.total()
            tokenizer.FREQ = table
            tokenizer.initialized = True
        except (sqlite3.Error, TypeError, ValueError):
            tokenizer = jieba.Tokenizer()  # unreadable: loaded in full, and written again
    if not tokenizer.initialized:
        tokenizer.initialize()
        if path is not None:
            _write_table(path, tokenizer.FREQ, tokenizer.total)
    tokenizer.load_userdict(str(USER_DICT))
    return tokenizer


# Tokenizers being made in the background, by table directory (see prepare).
_prepared: dict[Path, Future] = {}


def prepare(directory: Path) -> None:
    """Start making the tokenizer in a background thread when its table is missing.

    That is a cold build: jieba's dictionary must be loaded in full and written as a table,
    two seconds of work that would otherwise hold up writing the first page. Started when the
    builder is, it overlaps reading the sources and executing the pages (the kernels run in
    other processes, and Python releases the GIL while SQLite writes).
    """
    if directory in _prepared or _table_path(directory).is_file():
        return
    future: Future = Future()

    def run():
        try:
            future.set_result(make_tokenizer(directory))
        except BaseException as error:  # handed to whoever asks for the tokenizer
            future.set_exception(error)

    threading.Thread(target=run, name="jieba dictionary", daemon=True).start()
    _prepared[directory] = future


def tokenizer_for(directory: Path | None):
    """The tokenizer :func:`prepare` made for ``directory``, or one made now."""
    future = _prepared.pop(directory, None) if directory is not None else None
    if future is not None:
        try:
            return future.result()
        except Exception:
            pass  # made again below, where the error (if it recurs) reaches the build
    return make_tokenizer(directory)


class Segmentations:
    """What jieba made of each text a build indexed, kept between builds (``segmentations-
    <table>.marshal`` beside the table): a page written again after a prose edit has one new
    paragraph, not a new page, to segment. Each entry remembers the last build that used it;
    entries unused for ``KEEP_BUILDS`` builds are dropped when the file is written."""

    KEEP_BUILDS = 50

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.build = 0
        self.entries: dict[str, tuple[int, list[str]]] = {}
        self.changed = False
        if path is not None and path.is_file():
            try:
                self.build, self.entries = marshal.loads(path.read_bytes())
            except (EOFError, ValueError, TypeError):
                self.build, self.entries = 0, {}
        self.build += 1

    def get(self, text: str) -> list[str] | None:
        entry = self.entries.get(text)
        if entry is None:
            return None
        if entry[0] != self.build:
            self.entries[text] = (self.build, entry[1])
            self.changed = True
        return entry[1]

    def put(self, text: str, words: list[str]) -> None:
        self.entries[text] = (self.build, words)
        self.changed = True

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        oldest = self.build - self.KEEP_BUILDS
        kept = {text: entry for text, entry in self.entries.items() if entry[0] > oldest}
        _write_atomically(self.path, marshal.dumps((self.build, kept)))
        self.changed = False


class SearchChineseWithoutNumbers(SearchChinese):
    """Sphinx's Chinese search with our dictionary and no numbers (``0.012345``) as words."""

    # Set when the builder starts: where the dictionary table lives for this build.
    table_directory: Path | None = None
    # This build's segmentations, written at the end of the build.
    segmentations: Segmentations | None = None

    def init(self, options: dict[str, str]) -> None:
        super().init(options)
        self._tokenizer: Any = None  # a jieba.Tokenizer, made when first needed

    def split(self, input: str) -> list[str]:
        # SearchChinese.split, with our tokenizer (made only when a text has not been
        # segmented before, so that a build that indexes nothing new never touches the
        # dictionary) in place of jieba's global one.
        cls = type(self)
        if cls.segmentations is None:
            directory = self.table_directory
            cls.segmentations = Segmentations(
                directory / f"segmentations-{_table_path(directory).stem}.marshal"
                if directory is not None
                else None
            )
        chinese = cls.segmentations.get(input)
        if chinese is None:
            if self._tokenizer is None:
                self._tokenizer = tokenizer_for(self.table_directory)
            chinese = list(self._tokenizer.cut_for_search(input))
            cls.segmentations.put(input, chinese)
        latin1 = [term.strip() for term in self.latin1_letters.findall(input)]
        self.latin_terms.extend(latin1)
        return chinese + latin1

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


def _table_directory(app):
    directory = Path(app.doctreedir, "zh_search")
    SearchChineseWithoutNumbers.table_directory = directory
    SearchChineseWithoutNumbers.segmentations = None
    if app.builder.format == "html" and str(app.config.language or "").startswith("zh"):
        prepare(directory)


def _finish(app, exception):
    segmentations = SearchChineseWithoutNumbers.segmentations
    if exception is None and segmentations is not None:
        segmentations.save()
    for future in _prepared.values():  # never leave a half-written table behind at exit
        with suppress(Exception):
            future.result()


def setup(app):
    app.add_search_language(SearchChineseWithoutNumbers)
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _table_directory)
    app.connect("build-finished", _finish)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
