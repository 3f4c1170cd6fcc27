"""Execute a page's code exactly when what its outputs depend on has changed, pages in parallel.

MyST-NB's ``cache`` mode (``execute_notebooks: cache``) stores each page's executed outputs
in jupyter-cache, keyed by a hash of the page's code cells. Code is not all the outputs
depend on, and a figure's caption is not code. This extension keeps MyST-NB's machinery and
jupyter-cache's hash, and decides before Sphinx reads the pages which stored outputs are
still good, through public APIs only (Sphinx events, jupyter-cache's ``get_cache`` API):

* **Inputs.** ``execution_inputs`` (in ``_config.yml``) lists, for pages whose code matches a
  regular expression, the files their outputs depend on: the ``rmsprop_lib`` package as the
  kernel imports it (data included), the results files a page renders, ``requirements.lock``.
  Every cache entry records, in its ``data``, the digest of those files it was executed with.
  An entry whose digest is not the current one is stale: it is removed from the cache, and the
  page executed again. Sphinx is told (``env-get-outdated``) to re-read exactly the pages whose
  digest changed since it last read them.
* **Presentation.** A figure's caption and name (cell metadata ``mystnb: figure``) are part
  of jupyter-cache's hash, but not of the code: when a page misses the cache but an entry holds
  outputs of the same code (``code_key``) and inputs, those outputs are stored again for the
  page as it now reads. A caption edit re-reads the page and reuses its outputs.
* **Parallel.** Before Sphinx reads the pages, every page that needs executing is executed,
  all at once (up to ``execution_jobs`` kernels; 0 means one per core), and stored in the same
  cache; MyST-NB then finds every page in the cache. (Sphinx reads in parallel only with more
  than five pages, so ``-j`` would not help this book.)
* **Failures.** A page that fails (a cell raises, times out, or its kernel dies) is reported as
  a warning naming the page, with the traceback, also written to ``reports/<page>.err.log``
  in the output directory as MyST-NB does; it is never cached, MyST-NB does not execute it a
  second time, and what the build published for it (its HTML, and the notebook and zip
  ``notebook_download`` writes from the executed notebook, which here has no outputs) is
  removed at the end of the build, so a failed page is never left in the site. The reports
  directory is emptied at the start of every build.
* **Reproducible outputs.** What a cell prints is stored as one stream, however the kernel
  happened to split it into messages (MyST-NB's own merging would keep a blank line where a
  message boundary fell). Kernels get ``SOURCE_DATE_EPOCH`` (0 unless already set), so
  matplotlib writes the same date into every figure and the figure files hash the same.

MyST-NB's parsed configuration (``env.mystnb_config``) is the one internal this extension
touches; see the comment in ``_execute_outdated``.

Nothing is added to the notebooks themselves: the executed and downloadable notebooks hold
the page's cells and outputs only.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import importlib.util
import json
import os
import re
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from myst_nb.core.read import create_nb_reader
from nbclient import NotebookClient
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Keys of a cache entry's data: the inputs digest and the code key it was executed with.
INPUTS_KEY = "execution_inputs_digest"
CODE_KEY = "execution_code_key"
PRESENTATION_KEYS = ("figure", "image")  # keys of a cell's ``mystnb`` metadata
_INPUTS: dict[str, Any] = {"root": None, "rules": ()}


@dataclass(frozen=True)
class Rule:
    """Pages whose code matches ``code`` depend on ``files`` (globs) and ``package`` (import)."""

    code: re.Pattern
    files: tuple[str, ...] = ()
    package: str | None = None


def _rules(config) -> tuple[Rule, ...]:
    rules = []
    for i, entry in enumerate(config.execution_inputs or ()):
        where = f"execution_inputs[{i}]"
        if (
            not isinstance(entry, dict)
            or "code" not in entry
            or set(entry) - {"code", "files", "package"}
        ):
            raise ConfigError(
                f"{where} must be a mapping with 'code' and 'files' and/or 'package', not {entry!r}"
            )
        try:
            pattern = re.compile(entry["code"], re.MULTILINE)
        except re.error as err:
            raise ConfigError(f"{where}.code is not a regular expression: {err}") from None
        rules.append(Rule(pattern, tuple(entry.get("files", ())), entry.get("package")))
    return tuple(rules)


def _package_files(name: str) -> list[tuple[str, Path]]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"execution_inputs names the package {name!r}, which is not "
            f"importable: install the project with `pip install -e .`"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    return [
        (f"{name}/{p.relative_to(root).as_posix()}", p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]


def inputs_digest(code: str) -> str | None:
    """SHA-256 over the names and bytes of every file that page code ``code`` depends on.

    ``None`` when no rule of ``execution_inputs`` matches the code.
    """
    root, files = _INPUTS["root"], {}
    matched = False
    for rule in _INPUTS["rules"]:
        if not rule.code.search(code):
            continue
        matched = True
        for pattern in rule.files:
            for path in sorted(root.glob(pattern)):
                if path.is_file():
                    files[path.relative_to(root).as_posix()] = path
        if rule.package:
            files.update(_package_files(rule.package))
    if not matched:
        return None
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].read_bytes() + b"\0")
    return digest.hexdigest()


def _code(nb) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


def code_key(nb) -> str:
    """SHA-256 over what execution reads of a notebook: its kernel, and each code cell's
    source and metadata, except a figure's caption and name (presentation, not code)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        metadata = dict(cell.get("metadata", {}))
        options = metadata.get("mystnb")
        if isinstance(options, dict):
            options = {k: v for k, v in options.items() if k not in PRESENTATION_KEYS}
            metadata = {k: v for k, v in metadata.items() if k != "mystnb"}
            if options:
                metadata["mystnb"] = options
        cells.append({"source": cell.source, "metadata": metadata})
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    text = json.dumps({"kernel": kernel, "cells": cells}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- what jupyter-cache holds for a page ------------------------------------------------
#
# jupyter-cache keys an entry by a hash of the notebook's code cells (sources and metadata);
# the entry's ``data`` (public: ``CacheBundleIn(..., data=...)``, ``NbCacheRecord.data``)
# records here the digest of the inputs it was executed with and its code key. An entry
# whose inputs digest is not the current one is stale and removed (``remove_cache``).


def _match(cache, nb):
    try:
        return cache.match_cache_notebook(nb)
    except KeyError:
        return None


def _current(record, digest: str | None) -> bool:
    return INPUTS_KEY in record.data and record.data[INPUTS_KEY] == digest


def _with_outputs_of(nb, executed):
    """``nb`` (as read now) with the outputs of ``executed``, a notebook with the same code."""
    nb = copy.deepcopy(nb)
    for key in ("language_info", "widgets"):
        if key in executed.metadata:
            nb.metadata[key] = executed.metadata[key]
    ours = [cell for cell in nb.cells if cell.cell_type == "code"]
    theirs = [cell for cell in executed.cells if cell.cell_type == "code"]
    for cell, done in zip(ours, theirs, strict=True):
        cell.outputs = done.get("outputs", [])
        cell.execution_count = done.get("execution_count")
    return nb


def _reuse_outputs(cache, nb, uri: str, key: str, digest: str | None) -> bool:
    """Store ``nb`` with the outputs of an entry that has its code and inputs (the page's
    caption changed, say), so that MyST-NB finds it; False when there is none."""
    for record in cache.list_cache_records():
        if record.data.get(CODE_KEY) == key and _current(record, digest):
            executed = cache.get_cache_bundle(record.pk).nb
            cache.cache_notebook_bundle(
                CacheBundleIn(_with_outputs_of(nb, executed), uri, data=dict(record.data)),
                check_validity=False,
                overwrite=True,
            )
            return True
    return False


def needs_execution(cache, nb, uri: str) -> bool:
    """Whether ``nb`` must be executed: no entry of the cache holds outputs of its code run
    with its current inputs. A stale entry is removed; outputs of the same code and inputs
    under another caption are stored for this one."""
    digest = inputs_digest(_code(nb))
    record = _match(cache, nb)
    if record is not None:
        if _current(record, digest):
            return False
        cache.remove_cache(record.pk)
    return not _reuse_outputs(cache, nb, uri, code_key(nb), digest)


# --- which pages Sphinx must read again -------------------------------------------------


def _records(env) -> dict[str, tuple[str, str | None]]:
    if not hasattr(env, "execution_inputs"):
        env.execution_inputs = {}  # docname -> (code, digest)
    return env.execution_inputs


def _outdated(app, env, added, changed, removed):
    return sorted(
        doc
        for doc, (code, digest) in _records(env).items()
        if doc not in removed and doc not in changed and inputs_digest(code) != digest
    )


# The last parse of each page in this process, with the text it was parsed from: the page is
# parsed before reading (to find what must execute) and again when read (to record it).
_PARSED: dict[str, tuple[str, Any]] = {}


def _read_notebook(env, docname):
    """The page as MyST-NB reads it, or None if it is not a notebook with code."""
    path = Path(env.doc2path(docname))
    text = path.read_text(encoding="utf-8")
    parsed = _PARSED.get(docname)
    if parsed is not None and parsed[0] == text:
        return parsed[1]
    page = _parse_notebook(env, path, text)
    _PARSED[docname] = (text, page)
    return page


def _parse_notebook(env, path: Path, text: str):
    reader = create_nb_reader(str(path), env.myst_config, env.mystnb_config, text)
    if reader is None:
        return None
    nb = reader.read(text)
    return (path, nb) if any(c.cell_type == "code" for c in nb.cells) else None


def _record(app, doctree):
    env = app.env
    page = _read_notebook(env, env.docname)
    if page is None:
        _records(env).pop(env.docname, None)
        return
    code = _code(page[1])
    _records(env)[env.docname] = (code, inputs_digest(code))
    _write_executed_notebook(env, env.docname, *page)


def _purge(app, env, docname):
    _records(env).pop(docname, None)


def _merge(app, env, docnames, other):
    theirs = getattr(other, "execution_inputs", {})
    _records(env).update({d: theirs[d] for d in docnames if d in theirs})


def _write_executed_notebook(env, docname, path, nb):
    """MyST-NB writes the notebook it read, without outputs, when it used the cache; write
    the executed one (its outputs from the cache) to ``jupyter_execute`` instead."""
    config = env.mystnb_config
    if config.execution_mode != "cache":
        return
    try:
        _, executed = get_cache(config.execution_cache_path).merge_match_into_notebook(nb)
    except KeyError:
        return  # the page failed and was not executed by MyST-NB either
    target = Path(config.output_folder, *f"{docname}.ipynb".split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(executed), encoding="utf-8")


# --- executing the pages that miss the cache, in parallel --------------------------------


def _page_config(config, nb):
    overrides = dict(nb.metadata.get(config.metadata_key, {}))
    overrides.pop("output_folder", None)
    return config.copy(**overrides) if overrides else config


def _excluded(config, path: Path) -> bool:
    posix = PurePosixPath(path.as_posix())
    return any(posix.match(pattern) for pattern in config.execution_excludepatterns)


async def _execute(nb, cwd: str, config, kernel_env, limit: asyncio.Semaphore):
    async with limit:
        start = time.perf_counter()
        client = NotebookClient(
            nb,
            timeout=config.execution_timeout,
            allow_errors=config.execution_allow_errors,
            record_timing=False,
            coalesce_streams=True,
            resources={"metadata": {"path": cwd}},
            # Every output is in hand when the last cell has run: stop the kernel then. A
            # graceful shutdown waits, now and then, seconds for a kernel that has already
            # answered (jupyter-client's "Kernel is taking too long to finish, terminating").
            shutdown_kernel="immediate",
        )
        try:
            await client.async_execute(env=kernel_env)
        except Exception as err:  # a cell raised or timed out, the kernel died or never started
            return time.perf_counter() - start, err, traceback.format_exc()
        return time.perf_counter() - start, None, None


async def _execute_all(pages, jobs, kernel_env):
    limit = asyncio.Semaphore(jobs)
    with tempfile.TemporaryDirectory() as scratch:
        runs = []
        for _docname, path, nb, config in pages:
            cwd = scratch if config.execution_in_temp else str(path.parent)
            runs.append(_execute(nb, cwd, config, kernel_env, limit))
        return await asyncio.gather(*runs)


def _execute_outdated(app, env, docnames):
    config = env.mystnb_config
    env.execution_failed = set()
    if config.execution_mode != "cache":
        return
    cache = get_cache(config.execution_cache_path)
    pages = []
    for docname in docnames:
        page = _read_notebook(env, docname)
        if page is None or _excluded(config, page[0]):
            continue
        path, nb = page
        if needs_execution(cache, nb, str(path)):
            pages.append((docname, path, nb, _page_config(config, nb)))
    if not pages:
        return
    jobs = app.config.execution_jobs or os.cpu_count() or 1
    kernel_env = dict(os.environ)
    kernel_env.setdefault("SOURCE_DATE_EPOCH", "0")
    for docname, *_ in pages:
        logger.info(f"Executing notebook: {docname}")
    results = asyncio.run(_execute_all(pages, min(jobs, len(pages)), kernel_env))

    failed = []
    for (docname, path, nb, page_config), (seconds, err, tb) in zip(pages, results):
        if err is None:
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nb,
                    str(path),
                    data={
                        "execution_seconds": seconds,
                        INPUTS_KEY: inputs_digest(_code(nb)),
                        CODE_KEY: code_key(nb),
                    },
                ),
                check_validity=False,
                overwrite=True,
            )
            logger.info(f"Executed notebook {docname} in {seconds:.2f} seconds")
            continue
        failed.append(str(path))
        env.execution_failed.add(docname)
        message = f"Executing notebook failed: {type(err).__name__}"
        if page_config.execution_show_tb:
            message += f"\n{tb}"
        logger.warning(message, location=docname, type="mystnb", subtype="exec")
        report = Path(app.outdir, "reports", *f"{docname}.err.log".split("/"))
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(tb, encoding="utf-8")
    if failed:
        # MyST-NB must not execute a failed page a second time (a dead kernel would even
        # abort the build): it renders it without outputs; the build has already failed.
        # Touch point of MyST-NB's internals (one of two in book/_ext): its parsed
        # configuration on the environment, ``env.mystnb_config`` (also read above to parse
        # pages as it does), is swapped for this build. MyST-NB decides on execution inside
        # its parser and offers an extension no way to skip a page; see
        # https://github.com/executablebooks/MyST-NB/issues/350 (what invalidates the cache,
        # and why an extension cannot work around it).
        env.execution_saved_config = config
        env.mystnb_config = config.copy(
            execution_excludepatterns=(*config.execution_excludepatterns, *failed)
        )


def _restore_config(app, env):
    saved = getattr(env, "execution_saved_config", None)
    if saved is not None:
        env.mystnb_config = saved
        del env.execution_saved_config
    return []


# --- nothing of a failed execution reaches the site --------------------------------------


def _clear_reports(app):
    reports = Path(app.outdir, "reports")
    if reports.is_dir():
        for path in sorted(reports.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()


def _remove_failed_pages(app, exception):
    if app.builder.format != "html":
        return
    for docname in sorted(getattr(app.env, "execution_failed", ())):
        for path in (
            Path(app.outdir, f"{docname}.html"),
            Path(app.outdir, "_sources", f"{docname}.ipynb"),
            Path(app.outdir, f"{docname}.zip"),
        ):
            path.unlink(missing_ok=True)
        logger.info(f"page_execution: removed {docname}.html, whose notebook failed")


def _configure(app, config):
    _INPUTS["root"] = Path(app.srcdir)
    _INPUTS["rules"] = _rules(config)
    if not isinstance(config.execution_jobs, int) or config.execution_jobs < 0:
        raise ConfigError(
            f"execution_jobs must be a non-negative integer (0: one per core), "
            f"not {config.execution_jobs!r}"
        )


def setup(app):
    app.setup_extension("myst_nb")
    app.add_config_value("execution_inputs", [], "env")
    app.add_config_value("execution_jobs", 0, "")
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _clear_reports)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _execute_outdated)
    app.connect("env-updated", _restore_config)
    app.connect("doctree-read", _record)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _remove_failed_pages, priority=900)
    return {
        "version": "1",
        "env_version": 2,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
