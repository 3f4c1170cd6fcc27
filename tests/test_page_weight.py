"""benchmarks/page_weight.py's table: the page weights as the performance appendix prints them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from page_weight import page_weight_table


def _page(requests: int, total: int) -> dict[str, int]:
    return {
        "requests": requests,
        "bytes": total,
        "gzip_bytes": total // 4,
        "html": 20_000,
        "scripts": 1_385_684,
        "styles": 553_301,
        "fonts": 156_400,
        "images": 0,
    }


RESULTS = {
    "chapter_target_bytes": 3_000_000,
    "pages": {
        "book/index.html": _page(32, 2_113_760),
        "book/rmsprop.html": {**_page(48, 2_808_499), "images": 264_000},
        "book/api.html": _page(38, 2_300_000),
        "book/performance.html": _page(35, 2_320_000),
    },
}


def test_the_table_has_a_row_per_page_and_the_chapter_against_its_target():
    table = page_weight_table(RESULTS)
    lines = table.splitlines()
    assert (
        lines[0]
        == "| 页面 | 请求数 | 合计（MB） | gzip 后（MB） | HTML | 脚本 | 样式 | 字体 | 图片 |"
    )
    assert lines[3] == "| 正文：RMSProp算法 | 48 | 2.81 | 0.70 | 0.02 | 1.39 | 0.55 | 0.16 | 0.26 |"
    assert len(lines) == 2 + 4 + 2
    assert lines[-1] == "正文页合计 2.81 MB（目标 ≤ 3.00 MB）"


def test_a_missing_figure_is_named():
    pages = dict(RESULTS["pages"])  # type: ignore[call-overload]
    pages["book/api.html"] = {k: v for k, v in pages["book/api.html"].items() if k != "fonts"}
    del pages["book/index.html"]
    with pytest.raises(KeyError, match=r"'book/index.html', 'book/api.html: fonts'"):
        page_weight_table({**RESULTS, "pages": pages})


def test_the_published_results_cover_every_page():
    results_file = Path(__file__).resolve().parents[1] / "benchmarks/results/page_weight.json"
    import json

    table = page_weight_table(json.loads(results_file.read_text(encoding="utf-8")))
    assert "正文页合计" in table
