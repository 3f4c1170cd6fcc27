"""book/_ext/a11y.py: the plain-text alternative it makes from a figure caption."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from a11y import caption_text, latex_to_text


@pytest.mark.parametrize(
    "tex, text",
    [
        (r"\eta=0.4", "η=0.4"),
        (r"\eta/\sqrt{s_t+\epsilon}", "η/√(sₜ+ε)"),
        (r"f(\boldsymbol{x}) = 0.1x_1^2 + 2x_2^2", "f(x) = 0.1x₁² + 2x₂²"),
        (r"(1-\gamma)\gamma^t", "(1-γ)γᵗ"),
        (r"\sqrt{\sqrt{x}}", "√(√(x))"),
        (r"\boldsymbol{s}_t \leftarrow \gamma \boldsymbol{s}_{t-1}", "sₜ ← γ sₜ₋₁"),
        (r"x_{ij}^{n}", "x_(ij)^n"),
    ],
)
def test_latex_to_text(tex, text):
    assert latex_to_text(tex) == text


def test_caption_text_keeps_prose_and_reads_formulas():
    caption = nodes.caption(
        "",
        nodes.Text("RMSProp（"),
        nodes.math("", r"\eta=0.4"),
        nodes.Text("）的轨迹，"),
        nodes.literal("", "train_2d"),
        nodes.Text(" 画出"),
    )
    assert caption_text(caption) == "RMSProp（η=0.4）的轨迹，train_2d 画出"
