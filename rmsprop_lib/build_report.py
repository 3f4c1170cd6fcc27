"""The book-build figures of ``benchmarks/results/book_build.json`` as a Markdown table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["book_build_table"]

_ROWS = [
    ("只含 `import torch` 一个单元的基准书，冷构建", "baseline_cold_s", None),
    ("本章在 Sphinx 之外从头执行一遍", "chapter_execution_s", None),
    ("下限：以上两项之和", "floor_s", None),
    ("本书冷构建", "cold_s", "cold_executed"),
    ("无改动时重新构建", "rebuild_s", "rebuild_executed"),
    ("改动一句正文后重新构建", "prose_edit_s", "prose_edit_executed"),
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
        KeyError: if ``results`` lacks a figure; the message names it.

    Example:
        >>> print(book_build_table(results).splitlines()[0])
        | 构建 | 用时（秒） | 执行的笔记本 |
    """
    missing = [k for _, s, n in _ROWS for k in (s, n) if k] + _KEYS
    missing = [k for k in missing if k not in results]
    if missing:
        raise KeyError(f"book-build results lack {', '.join(map(repr, missing))}")
    lines = ["| 构建 | 用时（秒） | 执行的笔记本 |", "| --- | ---: | ---: |"]
    for label, seconds, executed in _ROWS:
        count = "—" if executed is None else str(int(results[executed]))
        lines.append(f"| {label} | {float(results[seconds]):.1f} | {count} |")
    return "\n".join(lines) + (
        f"\n\n冷构建 ÷ 下限 = {float(results['cold_vs_floor']):.2f}×"
        f"（目标 ≤ {float(results['cold_target']):g}×）；"
        f"改动正文后重新构建 ÷ 无改动重新构建 = {float(results['prose_vs_rebuild']):.2f}×"
        f"（目标 ≤ {float(results['prose_target']):g}×）\n")
