"""Re-execute the pages that import ``rmsprop_lib`` whenever the library or its data change.

Sphinx re-reads (and MyST-NB, in ``force`` mode, re-executes) a page only when its source
changed. The pages' outputs, however, are computed by ``rmsprop_lib``. This extension records,
for every page whose code imports ``rmsprop_lib``, a digest of the library as the kernel
imports it (every file of the package, data included) when the page was read; at the next
build, pages whose recorded digest differs from the current one are read again. An unchanged
rebuild therefore executes nothing, and an edited library never leaves stale output behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

from sphinx.errors import ExtensionError

PACKAGE = "rmsprop_lib"
IMPORTS = re.compile(rf"^\s*(?:import|from)\s+{PACKAGE}\b", re.MULTILINE)


def library_digest() -> str:
    """SHA-256 over the relative paths and bytes of every file in the importable package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(f"{PACKAGE} is not importable: install it with `pip install -e .`")
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _records(env) -> dict[str, str]:
    if not hasattr(env, "libdeps_digests"):
        env.libdeps_digests = {}
    return env.libdeps_digests


def _outdated(app, env, added, changed, removed):
    env.libdeps_current = library_digest()
    return [doc for doc, digest in _records(env).items()
            if digest != env.libdeps_current and doc not in removed]


def _record(app, doctree):
    env = app.env
    source = Path(env.doc2path(env.docname)).read_text(encoding="utf-8")
    if IMPORTS.search(source):
        _records(env)[env.docname] = env.libdeps_current


def _purge(app, env, docname):
    _records(env).pop(docname, None)


def _merge(app, env, docnames, other):
    _records(env).update({d: other.libdeps_digests[d] for d in docnames
                          if d in getattr(other, "libdeps_digests", {})})


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-read", _record)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "env_version": 1,
            "parallel_read_safe": True, "parallel_write_safe": True}
