"""Live preview of the book: serve it on localhost and rebuild the page you save.

Usage (from anywhere; the project is the directory above this file)::

    python tools/preview.py [--host 127.0.0.1] [--port 8000]

It writes the Sphinx configuration that ``jupyter-book config sphinx`` generates from
``_config.yml`` and ``_toc.yml`` into ``_build/preview/conf/`` (not the project root), then runs
``sphinx-autobuild`` over the project with it. Output goes to ``_build/preview/html``, apart from
the published ``_build/html``. Edits to ``_config.yml`` or ``_toc.yml`` take effect on restart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Sphinx resolves these settings against the directory of conf.py; ``jupyter-book build``
# gives Sphinx no conf.py, so for the book they are relative to the project root.
CONFDIR_RELATIVE = (
    "html_static_path",
    "html_extra_path",
    "templates_path",
    "locale_dirs",
    "html_logo",
    "html_favicon",
    "latex_logo",
    "latex_additional_files",
    "bibtex_bibfiles",
)


def write_conf(root: Path, confdir: Path) -> Path:
    """Write ``conf.py`` for ``root`` into ``confdir`` with ``jupyter-book config sphinx``."""
    config, toc = root / "_config.yml", root / "_toc.yml"
    for path in (config, toc):
        if not path.is_file():
            raise SystemExit(f"preview: {path} not found (the book is the directory above tools/)")
    confdir.mkdir(parents=True, exist_ok=True)
    # The command writes conf.py next to the configuration file it reads.
    shutil.copyfile(config, confdir / "_config.yml")
    beside_python = Path(sys.executable).with_name("jupyter-book")
    jupyter_book = str(beside_python) if beside_python.is_file() else shutil.which("jupyter-book")
    if jupyter_book is None:
        raise SystemExit(
            "preview: jupyter-book is not installed (pip install -r requirements.lock -e .)"
        )
    proc = subprocess.run(
        [
            jupyter_book,
            "config",
            "sphinx",
            str(root),
            "--config",
            str(confdir / "_config.yml"),
            "--toc",
            str(toc),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"preview: `jupyter-book config sphinx` failed:\n{proc.stdout}{proc.stderr}"
        )
    generated = (confdir / "conf.py").read_text(encoding="utf-8")

    user = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    local = (user.get("sphinx") or {}).get("local_extensions") or {}
    ext_dirs = list(dict.fromkeys(str((root / p).resolve()) for p in local.values()))
    footer = f"""
# --- added by tools/preview.py --------------------------------------------------------
# `jupyter-book build` puts the local extensions' directories on sys.path itself and runs
# Sphinx without a conf.py, so paths Sphinx reads relative to conf.py's directory are
# relative to the project root: do the same here.
import os as _os
import sys as _sys

_root = {str(root)!r}
_sys.path[:0] = [p for p in {ext_dirs!r} if p not in _sys.path]


def _from_root(value):
    if isinstance(value, str) and value and "://" not in value:
        return _os.path.join(_root, value)
    if isinstance(value, (list, tuple)):
        return type(value)(_from_root(v) for v in value)
    return value


for _name in {CONFDIR_RELATIVE!r}:
    if _name in globals():
        globals()[_name] = _from_root(globals()[_name])

# MyST-NB keeps executed outputs next to the output directory unless told where; point the
# preview at the store `jupyter-book build` uses, so either reuses what the other executed.
if not globals().get("nb_execution_cache_path"):
    nb_execution_cache_path = _os.path.join(_root, "_build", ".jupyter_cache")
"""
    conf = confdir / "conf.py"
    conf.write_text(generated + footer, encoding="utf-8")
    return conf


def autobuild_command(root: Path, host: str, port: int) -> list[str]:
    """The ``sphinx-autobuild`` command line that serves ``root`` (conf from ``write_conf``)."""
    preview = root / "_build" / "preview"
    return [
        sys.executable,
        "-m",
        "sphinx_autobuild",
        str(root),
        str(preview / "html"),
        "-c",
        str(preview / "conf"),
        "-d",
        str(preview / "doctrees"),
        "--host",
        host,
        "--port",
        str(port),
        # Build outputs, caches and tests are not part of the book: saving them (or a
        # notebook run writing them) must not trigger a rebuild.
        "--ignore",
        str(root / "_build"),
        "--ignore",
        str(root / "tests"),
        "--ignore",
        str(root / "artifacts"),
        "--ignore",
        str(root / ".ci"),
        "--re-ignore",
        r"(__pycache__|\.ipynb_checkpoints|\.pyc$|~$|\.swp$|\.#)",
    ]


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    args = parser.parse_args(argv)

    write_conf(ROOT, ROOT / "_build" / "preview" / "conf")
    env = dict(os.environ)
    # The pages' code cells import this project's rmsprop_lib, as the book build does.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # No PDF edition while writing: printing the book takes longer than the page's rebuild.
    env.setdefault("RMSPROP_BOOK_PDF", "off")
    os.chdir(ROOT)
    os.execve(sys.executable, autobuild_command(ROOT, args.host, args.port), env)


if __name__ == "__main__":
    main()
