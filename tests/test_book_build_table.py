"""benchmarks/book_build.py's table: the book-build figures as the performance appendix prints them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from book_build import book_build_table, median_run

RESULTS = {
    "baseline_cold_s": 6.04,
    "chapter_execution_s": 14.96,
    "floor_s": 21.0,
    "cold_s": 23.14,
    "cold_executed": 2,
    "rebuild_s": 2.5,
    "rebuild_executed": 0,
    "prose_edit_s": 3.26,
    "prose_edit_executed": 0,
    "prose_edit_pdf_s": 14.71,
    "prose_edit_pdf_executed": 0,
    "cold_vs_floor": 1.1019,
    "cold_target": 1.2,
    "prose_vs_rebuild": 1.304,
    "prose_target": 2.0,
    "preview_s": 4.37,
    "preview_target": 6.0,
}


def test_one_row_per_build_with_seconds_and_executed_notebooks():
    table = book_build_table(RESULTS)
    assert table.splitlines()[:2] == [
        "| 构建 | 用时（秒） | 执行的笔记本 |",
        "| --- | ---: | ---: |",
    ]
    assert "| 只含 `import torch` 一个单元的基准书，冷构建 | 6.04 | — |" in table
    assert "| 下限：以上两项之和 | 21.00 | — |" in table
    assert "| 本书冷构建 | 23.14 | 2 |" in table
    assert "| 无改动时重新构建 | 2.50 | 0 |" in table
    assert "| 改动一句正文后重新构建 | 3.26 | 0 |" in table
    assert "| 再改一句正文后重新构建，连同 PDF 版 | 14.71 | 0 |" in table
    assert "| 实时预览：保存一句正文改动到页面更新 | 4.37 | — |" in table
    assert table.count("\n| ") == 9
    assert table.rstrip().endswith(
        "冷构建 ÷ 下限 = 1.10×（目标 ≤ 1.2×）；改动正文后重新构建 ÷ 无改动重新构建 = 1.30×"
        "（目标 ≤ 2×）；实时预览 4.4 秒（目标 ≤ 6 秒）"
    )


def test_a_missed_target_is_said_to_be_missed():
    missed = {**RESULTS, "prose_edit_s": 5.1, "prose_vs_rebuild": 2.04, "preview_s": 6.2}
    assert (
        book_build_table(missed)
        .rstrip()
        .endswith(
            "冷构建 ÷ 下限 = 1.10×（目标 ≤ 1.2×）；改动正文后重新构建 ÷ 无改动重新构建 = 2.04×"
            "（目标 ≤ 2×，未达到）；实时预览 6.2 秒（目标 ≤ 6 秒，未达到）"
        )
    )


def test_results_measured_before_the_preview_row_render_without_it():
    older = {k: v for k, v in RESULTS.items() if k not in ("preview_s", "preview_target")}
    table = book_build_table(older)
    assert "实时预览" not in table and table.count("\n| ") == 8


def test_missing_figures_are_named():
    partial = {k: v for k, v in RESULTS.items() if k not in ("floor_s", "prose_target")}
    with pytest.raises(KeyError, match="lack 'floor_s', 'prose_target'"):
        book_build_table(partial)


def test_the_committed_results_file_renders():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "book_build.json"
    table = book_build_table(json.loads(path.read_text(encoding="utf-8")))
    assert "| 本书冷构建 |" in table


def test_a_repeated_rebuild_reports_its_median_and_the_most_it_executed():
    assert median_run([(4.0, 0), (3.0, 0), (9.0, 1)]) == (4.0, 1)
    assert median_run([(3.0, 0), (5.0, 0)]) == (4.0, 0)
