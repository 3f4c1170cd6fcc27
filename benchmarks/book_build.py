"""Time the book's builds against a one-page baseline book, built in the same run.

Prints the cold build time, the no-change rebuild time and how many notebooks each
executed, next to the cold build of a book whose only page has one cell, ``import torch``
(the floor for any book whose pages use torch).

    python benchmarks/book_build.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns("_build", ".git", "__pycache__", ".pytest_cache", "*.egg-info",
                                "artifacts", ".venv")
BASELINE_PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# Baseline

```{code-cell} ipython3
import torch
```
"""


def build(root: Path) -> tuple[float, int]:
    """Seconds and executed notebooks of one ``jupyter-book build``; raises if it fails."""
    jb = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, PYTHONPATH=str(root))
    start = time.perf_counter()
    proc = subprocess.run([str(jb), "build", str(root)], cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"build of {root} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return seconds, (proc.stdout + proc.stderr).count("Executing notebook")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results") / "book_build.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book"
        shutil.copytree(ROOT, book, ignore=IGNORE)
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        (baseline / "_config.yml").write_text("title: baseline\nexecute:\n  execute_notebooks: force\n")
        (baseline / "_toc.yml").write_text("format: jb-book\nroot: index\n")
        (baseline / "index.md").write_text(BASELINE_PAGE)

        base_s, base_n = build(baseline)
        cold_s, cold_n = build(book)
        warm_s, warm_n = build(book)
    result = {
        "machine": machine(),
        "baseline_cold_s": base_s, "baseline_executed": base_n,
        "cold_s": cold_s, "cold_executed": cold_n,
        "rebuild_s": warm_s, "rebuild_executed": warm_n,
        "cold_vs_baseline": cold_s / base_s,
    }
    print(f"baseline (one cell: import torch): {base_s:6.1f} s, {base_n} notebook(s) executed")
    print(f"book, cold build:                  {cold_s:6.1f} s, {cold_n} notebook(s) executed")
    print(f"book, rebuild without changes:     {warm_s:6.1f} s, {warm_n} notebook(s) executed")
    print(f"cold build / baseline:             {cold_s / base_s:6.2f}x  (target <= 1.5x)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
