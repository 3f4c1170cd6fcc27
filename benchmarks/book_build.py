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
  ``--repeats`` times each (default 5; the edit made and undone in turns) and their medians
  reported;
- a rebuild after a second prose edit with the PDF edition on: what publishing costs on top.

The floor is the baseline build plus the chapter's execution. Targets: cold build within 1.2x
of the floor; prose-edit rebuild within 1.5x of the no-change rebuild. Writes the figures to
``benchmarks/results/book_build.json``, which ``book/performance.md`` renders.

    python benchmarks/book_build.py [--repeats N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(
    "_build", ".git", "__pycache__", ".pytest_cache", "*.egg-info", "artifacts", ".venv"
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
COLD_TARGET, PROSE_TARGET = 1.2, 1.5


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
]
_KEYS = ["cold_vs_floor", "cold_target", "prose_vs_rebuild", "prose_target"]


def book_build_table(results: Mapping[str, Any]) -> str:
    """Render the results of ``benchmarks/book_build.py`` as a Markdown table and a summary line.

    Args:
        results: the parsed results file: seconds (``*_s``), executed-notebook counts
            (``*_executed``) and the two ratios with their targets.

    Returns:
        Markdown: a table with one row per measured build (seconds with one decimal, executed
        notebooks or "—"), then a line comparing the two ratios with their targets.

    Raises:
        KeyError: if ``results`` lacks a figure; the message names it. Only the row of the
            PDF edition is optional (results measured before it existed).

    Example:
        >>> print(book_build_table(results).splitlines()[0])
        | 构建 | 用时（秒） | 执行的笔记本 |
    """
    rows = [row for row in _ROWS if row[1] != "prose_edit_pdf_s" or row[1] in results]
    missing = [k for _, s, n in rows for k in (s, n) if k] + _KEYS
    missing = [k for k in missing if k not in results]
    if missing:
        raise KeyError(f"book-build results lack {', '.join(map(repr, missing))}")
    lines = ["| 构建 | 用时（秒） | 执行的笔记本 |", "| --- | ---: | ---: |"]
    for label, seconds, executed in rows:
        count = "—" if executed is None else str(int(results[executed]))
        lines.append(f"| {label} | {float(results[seconds]):.1f} | {count} |")
    return "\n".join(lines) + (
        f"\n\n冷构建 ÷ 下限 = {float(results['cold_vs_floor']):.2f}×"
        f"（目标 ≤ {float(results['cold_target']):g}×）；"
        f"改动正文后重新构建 ÷ 无改动重新构建 = {float(results['prose_vs_rebuild']):.2f}×"
        f"（目标 ≤ {float(results['prose_target']):g}×）\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results") / "book_build.json"
    )
    parser.add_argument("--repeats", type=int, default=5)
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
    result = {
        "machine": machine(),
        "repeats": args.repeats,
        **summarise(base_s, chapter_s, cold, unchanged, prose, prose_pdf),
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out.name}")


if __name__ == "__main__":
    main()
