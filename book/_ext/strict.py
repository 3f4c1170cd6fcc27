"""Make every warning fail the build, as if ``-W --keep-going`` were always given.

The plain ``jupyter-book build .`` then reports all warnings (a failing cell is one, with its
page and traceback) and exits non-zero. A build that warned also deletes its saved
environment: otherwise the next build would skip the pages that warned, print nothing, and
publish their broken output as if it were good.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _forget_failed_build(app, exception):
    # Touch point of Sphinx's internals (one of two in book/_ext): Sphinx 7 has no public
    # count of the warnings so far; ``_warncount`` is the counter Sphinx itself reads, after
    # this event, to turn warnings into a failed exit status under --keep-going. Upstream:
    # https://github.com/sphinx-doc/sphinx/issues/10110 (warnings and -W at build-finished).
    if exception is None and app._warncount:
        (Path(app.doctreedir) / "environment.pickle").unlink(missing_ok=True)
        logger.info(
            "strict: the build warned; its environment was discarded so that the "
            "next build reads every page again"
        )


def setup(app):
    app.warningiserror = False
    app.keep_going = True
    app.connect("build-finished", _forget_failed_build)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
