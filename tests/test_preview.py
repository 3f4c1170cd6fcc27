"""The live preview (tools/preview.py): it serves a book and rebuilds the page you save.

The serving test runs the preview on a tiny two-page book (the preview does not depend on
what the pages hold); its configuration test uses the project's own _config.yml. How long the
real book takes from a save to the served page is measured by benchmarks/book_build.py.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, copy_project

HOST = "127.0.0.1"


def load_preview_module(root: Path):
    spec = importlib.util.spec_from_file_location("preview", root / "tools" / "preview.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` and a server could bind it again (as servers do, with
    SO_REUSEADDR: the closed connections' TIME_WAIT entries do not hold the port)."""
    with socket.socket() as s:
        if s.connect_ex((HOST, port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            s.listen()
        except OSError:
            return False
        return True


def tiny_book(root: Path) -> Path:
    """A two-page book with this project's tools/preview.py: the preview serves its parent."""
    (root / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "preview.py", root / "tools" / "preview.py")
    (root / "_config.yml").write_text(
        "title: 小书\nonly_build_toc_files: true\nexclude_patterns: [_build, tools]\n"
        "execute:\n  execute_notebooks: 'off'\n",
        encoding="utf-8",
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n  - file: chapter\n", encoding="utf-8"
    )
    (root / "index.md").write_text("# 封面\n\n一本小书。\n", encoding="utf-8")
    (root / "chapter.md").write_text("# 一章\n\n这一章的正文。\n", encoding="utf-8")
    return root


def fetch(url: str) -> str | None:
    """The page served at ``url``, or None while there is none: the server not up yet, or a
    read cut short because the rebuild is rewriting the file (``IncompleteRead``)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
        return None


def wait_until(condition, *, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    """Poll ``condition`` until it returns a truthy value; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(
                f"the preview exited ({proc.returncode}) while waiting for {what}:\n"
                + log.read_text(encoding="utf-8")[-5000:]
            )
        time.sleep(0.2)
    pytest.fail(
        f"timed out after {timeout:.0f} s waiting for {what}:\n"
        + log.read_text(encoding="utf-8")[-5000:]
    )


def test_conf_is_what_jupyter_book_generates_and_stays_out_of_the_project(tmp_path):
    root = copy_project(tmp_path / "project")
    preview = load_preview_module(root)
    conf = preview.write_conf(root, root / "_build" / "preview" / "conf")
    assert conf == root / "_build" / "preview" / "conf" / "conf.py"
    assert not (root / "conf.py").exists()

    # The reference: the command itself, which writes conf.py next to _config.yml.
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [str(jb), "config", "sphinx", str(root)], check=True, capture_output=True, timeout=120
    )
    reference = (root / "conf.py").read_text(encoding="utf-8")
    text = conf.read_text(encoding="utf-8")
    assert text.startswith(reference)

    # Read from _build/preview/conf, the book's paths still resolve against the project root
    # and its local extensions are importable, as in `jupyter-book build`.
    namespace: dict = {}
    saved_path = list(sys.path)
    try:
        exec(compile(text, str(conf), "exec"), namespace)
        assert str(root / "book" / "_ext") in sys.path
    finally:
        sys.path[:] = saved_path
    assert namespace["bibtex_bibfiles"] == [str(root / "book" / "references.bib")]
    assert all(Path(p).is_file() for p in namespace["bibtex_bibfiles"])
    # Executed outputs are stored where `jupyter-book build .` keeps them (_build/).
    assert namespace["nb_execution_cache_path"] == str(root / "_build" / ".jupyter_cache")
    expected: dict = {}
    exec(compile(reference, "conf.py", "exec"), expected)
    for name, value in expected.items():
        if (
            not name.startswith("__")
            and name not in preview.CONFDIR_RELATIVE
            and name != "nb_execution_cache_path"
        ):
            assert namespace[name] == value, name


@pytest.mark.scenario
def test_preview_serves_the_book_and_rebuilds_an_edited_page(tmp_path):
    root = tiny_book(tmp_path / "project")
    page = root / "chapter.md"
    marker = f"预览测试插入的一句话{os.getpid()}"
    port = free_port()
    url = f"http://{HOST}:{port}/chapter.html"
    log = tmp_path / "preview.log"
    env = dict(
        os.environ,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(root / "tools" / "preview.py"),
                "--host",
                HOST,
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    family: list[psutil.Process] = []
    try:
        first = wait_until(
            lambda: fetch(url), timeout=300, what=f"{url} to be served", proc=proc, log=log
        )
        assert "这一章的正文" in first and marker not in first
        wait_until(
            lambda: "Waiting to detect changes" in log.read_text(encoding="utf-8"),
            timeout=60,
            what="the watcher to start",
            proc=proc,
            log=log,
        )
        served_once = log.read_text(encoding="utf-8").count("Serving on")

        # A prose edit: a new paragraph under the chapter's title.
        text = page.read_text(encoding="utf-8")
        title = re.search(r"^# .+$", text, re.M)
        assert title, f"{page} has no title line"
        page.write_text(
            text[: title.end()] + f"\n\n{marker}\n" + text[title.end() :], encoding="utf-8"
        )

        second = wait_until(
            lambda: (html := fetch(url)) and marker in html and html,
            timeout=300,
            what="the served page to show the edit",
            proc=proc,
            log=log,
        )
        assert f"<p>{marker}</p>" in second
        wait_until(
            lambda: log.read_text(encoding="utf-8").count("Serving on") > served_once,
            timeout=300,
            what="the rebuild to finish",
            proc=proc,
            log=log,
        )
        output = log.read_text(encoding="utf-8")
        rebuild = output[output.index("Detected changes") :]
        assert rebuild.startswith("Detected changes (chapter.md)"), rebuild
        # Only the saved page is read again.
        assert "updating environment: 0 added, 1 changed, 0 removed" in rebuild, rebuild
        assert "build succeeded" in rebuild, rebuild

        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        os.killpg(proc.pid, signal.SIGTERM)
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    # uvicorn shuts down on SIGTERM, then re-raises the signal: the default end of a process.
    assert returncode in (0, -signal.SIGTERM), log.read_text(encoding="utf-8")[-3000:]
    _, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, f"left running after the preview stopped: {alive}"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
    assert port_is_free(port)


def test_readme_documents_the_command_the_test_runs():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    i = lines.index("<!-- preview-command -->")
    assert lines[i + 1] == "```bash" and lines[i + 2] == "python tools/preview.py"
