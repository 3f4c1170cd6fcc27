"""Time the book's builds against the floor a cold build cannot beat, measured in the same run.

In a temporary copy of the project, measures:

- the cold build of a one-page book whose only cell is ``import torch`` (Sphinx, one kernel,
  torch: the fixed cost of any build);
- the chapter's own execution (``book/rmsprop.md`` run top to bottom with nbclient, outside
  Sphinx);
- the book's cold build, a rebuild without changes, and a rebuild after a one-sentence prose
  edit of the chapter, with how many notebooks each executed; these HTML builds run with the
  PDF edition off (``RMSPROP_BOOK_PDF=off``, as the live preview does). A rebuild takes a few
  seconds, which this machine's noise moves by tenths: the two rebuilds are measured
  ``--repeats`` times each (default 9; the edit made and undone in turns) and their medians
  reported (with 5, the ratio of the two medians moved by about 0.04 from run to run);
- a rebuild after a second prose edit with the PDF edition on: what publishing costs on top;
- the live preview (``tools/preview.py``, sphinx-autobuild): from saving a prose edit of the
  chapter to the served page showing it, ``--repeats`` times (median).

The floor is the baseline build plus the chapter's execution. Targets: cold build within 1.2x
of the floor; prose-edit rebuild within 2x of the no-change rebuild; the live preview within
6 s of the save. Writes the figures to ``benchmarks/results/book_build.json``, which
``book/performance.md`` renders. Other work on the machine slows every figure: say under what
load they were measured.

    python benchmarks/book_build.py [--repeats N] [--out FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
# What a copy of the project leaves out: builds, caches, installs (the tests' copies and
# tools/suite_time.py use it too).
IGNORE = shutil.ignore_patterns(
    "_build",
    ".git",
    "__pycache__",
    ".pytest_cache",
    "*.egg-info",
    "artifacts",
    ".venv",
    "node_modules",
)
FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
BASELINE_PAGE = FRONT_MATTER + "# Baseline\n\n```{code-cell} ipython3\nimport torch\n```\n"
PROSE_EDIT = ("本节先给出算法", "本节首先给出算法")
COLD_TARGET, PROSE_TARGET, PREVIEW_TARGET = 1.2, 2.0, 6.0


def build(root: Path, pdf: str = "off") -> tuple[float, int]:
    """Seconds and executed notebooks of one ``jupyter-book build``; exits if it fails."""
    jb = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, PYTHONPATH=str(root), RMSPROP_BOOK_PDF=pdf)
    start = time.perf_counter()
    proc = subprocess.run(
        [str(jb), "build", str(root)], cwd=root, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"build of {root.name} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return seconds, (proc.stdout + proc.stderr).count("Executing notebook")


def execute_page(page: Path, pythonpath: Path) -> float:
    """Seconds to run a MyST notebook page top to bottom with nbclient, outside Sphinx."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    nb = read_myst_markdown_notebook(page.read_text(encoding="utf-8"))
    env = dict(os.environ, PYTHONPATH=str(pythonpath), SOURCE_DATE_EPOCH="0")
    client = NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(page.parent)}})
    start = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - start


def _served(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return ""  # not served yet, or being written while read


def _wait_for(condition, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise SystemExit(f"the preview exited ({proc.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def preview_latencies(root: Path, chapter: Path, text: str, repeats: int) -> list[float]:
    """Seconds from saving a prose edit of ``chapter`` to the live preview serving it.

    Starts ``tools/preview.py`` on a free port, waits until it serves the chapter, then makes
    the prose edit and undoes it in turns, ``repeats`` times each way, timing each save until
    the served page shows the saved sentence.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/book/rmsprop.html"
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    command = [sys.executable, str(root / "tools" / "preview.py"), "--port", str(port)]
    log = root / "_build" / "preview.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    seconds = []
    try:
        _wait_for(lambda: PROSE_EDIT[0] in _served(url), 900, "the preview to serve", proc)
        _wait_for(
            lambda: "Waiting to detect changes" in log.read_text(encoding="utf-8"),
            120,
            "the preview to watch the sources",
            proc,
        )
        for i in range(2 * repeats):
            old, new = PROSE_EDIT if i % 2 == 0 else PROSE_EDIT[::-1]
            source = text.replace(*PROSE_EDIT) if i % 2 == 0 else text
            builds = log.read_text(encoding="utf-8").count("Serving on")
            start = time.perf_counter()
            chapter.write_text(source, encoding="utf-8")
            _wait_for(
                lambda new=new, old=old: new in (page := _served(url)) and old not in page,
                300,
                "the served page to change",
                proc,
            )
            seconds.append(time.perf_counter() - start)
            _wait_for(  # the rest of the rebuild (search index, ...) before the next save
                lambda builds=builds: log.read_text(encoding="utf-8").count("Serving on") > builds,
                300,
                "the rebuild to finish",
                proc,
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        chapter.write_text(text, encoding="utf-8")
    return seconds


def median_run(runs: list[tuple[float, int]]) -> tuple[float, int]:
    """The median seconds of several runs of one build, and the most notebooks any executed."""
    return statistics.median(seconds for seconds, _ in runs), max(n for _, n in runs)


def summarise(
    baseline_s: float,
    chapter_s: float,
    cold: tuple[float, int],
    unchanged: tuple[float, int],
    prose: tuple[float, int],
    prose_pdf: tuple[float, int],
    preview_s: float,
) -> dict:
    """The results file's figures from the measured seconds and executed-notebook counts."""
    floor = baseline_s + chapter_s
    return {
        "baseline_cold_s": baseline_s,
        "chapter_execution_s": chapter_s,
        "floor_s": floor,
        "cold_s": cold[0],
        "cold_executed": cold[1],
        "rebuild_s": unchanged[0],
        "rebuild_executed": unchanged[1],
        "prose_edit_s": prose[0],
        "prose_edit_executed": prose[1],
        "prose_edit_pdf_s": prose_pdf[0],
        "prose_edit_pdf_executed": prose_pdf[1],
        "cold_vs_floor": cold[0] / floor,
        "cold_target": COLD_TARGET,
        "prose_vs_rebuild": prose[0] / unchanged[0],
        "prose_target": PROSE_TARGET,
        "preview_s": preview_s,
        "preview_target": PREVIEW_TARGET,
    }


# The results file as the performance appendix shows it (book/performance.md).

_ROWS = [
    ("只含 `import torch` 一个单元的基准书，冷构建", "baseline_cold_s", None),
    ("本章在 Sphinx 之外从头执行一遍", "chapter_execution_s", None),
    ("下限：以上两项之和", "floor_s", None),
    ("本书冷构建", "cold_s", "cold_executed"),
    ("无改动时重新构建", "rebuild_s", "rebuild_executed"),
    ("改动一句正文后重新构建", "prose_edit_s", "prose_edit_executed"),
    ("再改一句正文后重新构建，连同 PDF 版", "prose_edit_pdf_s", "prose_edit_pdf_executed"),
    ("实时预览：保存一句正文改动到页面更新", "preview_s", None),
]
# Rows that results measured before they existed may lack.
_OPTIONAL = ("prose_edit_pdf_s", "preview_s")
_KEYS = ["cold_vs_floor", "cold_target", "prose_vs_rebuild", "prose_target"]


def book_build_table(results: Mapping[str, Any]) -> str:
    """Render the results of ``benchmarks/book_build.py`` as a Markdown table and a summary line.

    Args:
        results: the parsed results file: seconds (``*_s``), executed-notebook counts
            (``*_executed``) and the two ratios with their targets.

    Returns:
        Markdown: a table with one row per measured build (seconds with two decimals, so that
        the ratios can be recomputed from it; executed notebooks or "—"), then a line giving
        the two ratios and the live preview against their targets, naming a missed one.

    Raises:
        KeyError: if ``results`` lacks a figure; the message names it. Only the rows of the
            PDF edition and the live preview are optional (results measured before they
            existed).

    Example:
        >>> print(book_build_table(results).splitlines()[0])
        | 构建 | 用时（秒） | 执行的笔记本 |
    """
    rows = [row for row in _ROWS if row[1] not in _OPTIONAL or row[1] in results]
    missing = [k for _, s, n in rows for k in (s, n) if k] + _KEYS
    missing = [k for k in missing if k not in results]
    if missing:
        raise KeyError(f"book-build results lack {', '.join(map(repr, missing))}")
    lines = ["| 构建 | 用时（秒） | 执行的笔记本 |", "| --- | ---: | ---: |"]
    for label, seconds, executed in rows:
        count = "—" if executed is None else str(int(results[executed]))
        lines.append(f"| {label} | {float(results[seconds]):.2f} | {count} |")
    summary = [
        "冷构建 ÷ 下限 = " + _against(results["cold_vs_floor"], results["cold_target"], "×", ".2f"),
        "改动正文后重新构建 ÷ 无改动重新构建 = "
        + _against(results["prose_vs_rebuild"], results["prose_target"], "×", ".2f"),
    ]
    if "preview_s" in results:
        summary.append(
            "实时预览 " + _against(results["preview_s"], results["preview_target"], " 秒", ".1f")
        )
    return "\n".join(lines) + "\n\n" + "；".join(summary) + "\n"


def _against(value: float, target: float, unit: str, spec: str) -> str:
    """``"value unit（目标 ≤ target unit）"``, with "未达到" when the value misses its target."""
    missed = "，未达到" if float(value) > float(target) else ""
    return f"{float(value):{spec}}{unit}（目标 ≤ {float(target):g}{unit}{missed}）"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results") / "book_build.json"
    )
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book"
        shutil.copytree(ROOT, book, ignore=IGNORE)
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        (baseline / "_config.yml").write_text(
            "title: baseline\nexecute:\n  execute_notebooks: force\n"
        )
        (baseline / "_toc.yml").write_text("format: jb-book\nroot: index\n")
        (baseline / "index.md").write_text(BASELINE_PAGE)

        base_s, _ = build(baseline)
        chapter_s = execute_page(book / "book" / "rmsprop.md", book)
        cold = build(book)
        chapter = book / "book" / "rmsprop.md"
        text = chapter.read_text(encoding="utf-8")
        if text.count(PROSE_EDIT[0]) != 1:
            raise SystemExit(
                f"the prose edit needs the sentence {PROSE_EDIT[0]!r} once in the chapter"
            )
        unchanged_runs, prose_runs = [], []
        for _ in range(args.repeats):
            unchanged_runs.append(build(book))
            chapter.write_text(text.replace(*PROSE_EDIT), encoding="utf-8")
            prose_runs.append(build(book))
            chapter.write_text(text, encoding="utf-8")  # the sentence back: another prose edit
            prose_runs.append(build(book))
        unchanged, prose = median_run(unchanged_runs), median_run(prose_runs)
        for label, runs in (("unchanged", unchanged_runs), ("prose edit", prose_runs)):
            print(f"{label} rebuilds (s): " + " ".join(f"{s:.2f}" for s, _ in runs))
        chapter.write_text(text.replace(*PROSE_EDIT), encoding="utf-8")
        prose_pdf = build(book, pdf="on")
        chapter.write_text(text, encoding="utf-8")
        previews = preview_latencies(book, chapter, text, args.repeats)
        print("live preview, save to served page (s): " + " ".join(f"{s:.2f}" for s in previews))
    result = {
        "machine": machine(),
        "repeats": args.repeats,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **summarise(
            base_s, chapter_s, cold, unchanged, prose, prose_pdf, statistics.median(previews)
        ),
    }
    r = result
    print(f"baseline book (one cell: import torch), cold: {r['baseline_cold_s']:6.1f} s")
    print(f"chapter executed outside Sphinx:           {r['chapter_execution_s']:6.1f} s")
    print(f"floor (the two above):                     {r['floor_s']:6.1f} s")
    print(
        f"book, cold build:                          {r['cold_s']:6.1f} s, "
        f"{r['cold_executed']} notebook(s) executed"
    )
    print(
        f"book, rebuild without changes:             {r['rebuild_s']:6.1f} s, "
        f"{r['rebuild_executed']} notebook(s) executed"
    )
    print(
        f"book, rebuild after a prose edit:          {r['prose_edit_s']:6.1f} s, "
        f"{r['prose_edit_executed']} notebook(s) executed"
    )
    print(
        f"book, prose edit with the PDF edition:     {r['prose_edit_pdf_s']:6.1f} s, "
        f"{r['prose_edit_pdf_executed']} notebook(s) executed"
    )
    print(f"cold / floor:        {r['cold_vs_floor']:5.2f}x  (target <= {COLD_TARGET}x)")
    print(f"prose / no-change:   {r['prose_vs_rebuild']:5.2f}x  (target <= {PROSE_TARGET}x)")
    print(f"live preview:        {r['preview_s']:5.2f} s  (target <= {PREVIEW_TARGET} s)")
    load = os.getloadavg()
    print(f"load average while measuring (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out.name}")


if __name__ == "__main__":
    main()
