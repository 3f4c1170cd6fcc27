"""Time the test suite against one cold build of the book, both measured in one run.

Usage (from anywhere; the project is the directory above this file)::

    python tools/suite_time.py [pytest arguments...]

A cold ``jupyter-book build`` of a temporary copy of the project (sources only, no
``_build``), then ``python -m pytest`` in the project with the given arguments (none: the
whole suite, as the README's test command runs it), then the cold build again: on a shared
machine one build's time moves by a fifth from run to run, so the ratio is taken against
the mean of the two. Prints the times, the ratio (target: the suite within six cold
builds) and the load average, so that a figure measured on a busy machine says so. Exits
with pytest's status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmark scripts' modules, by name
from book_build import IGNORE, build  # noqa: E402

TARGET = 6.0


def cold_build_seconds() -> float:
    """One cold build of a copy of the project, its PDF edition included, as a user builds."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(ROOT, root, ignore=IGNORE)
        seconds, _ = build(root, pdf="auto")
    return seconds


def main(argv: list[str]) -> int:
    before = cold_build_seconds()
    print(f"cold build of the book, before the suite: {before:.1f} s", flush=True)
    start = time.perf_counter()
    status = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=ROOT).returncode
    suite = time.perf_counter() - start
    after = cold_build_seconds()
    cold = (before + after) / 2
    load = os.getloadavg()
    print(f"cold build of the book: {before:.1f} s before the suite, {after:.1f} s after")
    print(f"python -m pytest {' '.join(argv)}".rstrip() + f": {suite:.1f} s (exit {status})")
    print(f"suite / mean cold build: {suite / cold:.1f}x (target <= {TARGET:g}x)")
    print(f"load average at the end (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
