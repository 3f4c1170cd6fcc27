"""The η/γ explorer's data: what the page embeds is what train_2d computes, and the prose is true."""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from functools import partial

import pytest

from rmsprop_lib import adagrad_2d, f_2d, rmsprop_2d, train_2d
from rmsprop_lib.explorer import (
    ETAS,
    GAMMAS,
    WINDOW,
    Explorer,
    describe,
    explorer,
    explorer_data,
    explorer_grid,
    explorer_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def rms(eta, gamma, steps=20):
    return train_2d(partial(rmsprop_2d, eta=eta, gamma=gamma), steps=steps).points


def ada(eta, steps=20):
    return train_2d(partial(adagrad_2d, eta=eta), steps=steps).points


@pytest.fixture(scope="module")
def shown():
    return explorer()


def test_grid_is_the_one_the_page_states():
    assert ETAS == pytest.approx([0.05 * k for k in range(1, 21)]) and len(ETAS) == 20
    assert GAMMAS == pytest.approx([0.03 * k for k in range(34)]) and len(GAMMAS) == 34
    # the chapter's setting and both ends the prose sends the reader to are on the grid
    assert 0.4 in ETAS and 1.0 in ETAS and 0.0 in GAMMAS and 0.9 in GAMMAS and 0.99 in GAMMAS


def test_every_embedded_path_is_train_2d_rounded_to_hundredths(shown):
    data = shown.data
    assert data["eta"] == list(ETAS) and data["gamma"] == list(GAMMAS) and data["steps"] == 20
    cases = [
        (data["rmsprop"][i][j], rms(eta, gamma))
        for i, eta in enumerate(ETAS)
        for j, gamma in enumerate(GAMMAS)
    ]
    cases += [(data["adagrad"][i], ada(eta)) for i, eta in enumerate(ETAS)]
    assert len(cases) == 20 * 34 + 20
    for path, points in cases:
        flat = [v for point in points for v in point]
        assert len(path["p"]) == 42
        assert max(abs(a - b) for a, b in zip(path["p"], flat)) <= 0.005 + 1e-12
        x1, x2 = points[-1]
        assert abs(float(path["x1"]) - x1) <= 5e-7 and abs(float(path["x2"]) - x2) <= 5e-7
        assert re.fullmatch(r"-?\d+\.\d{6}", path["x1"]) and re.fullmatch(
            r"-?\d+\.\d{6}", path["x2"]
        )
        assert float(path["f"]) == pytest.approx(f_2d(x1, x2), rel=5e-3)
        (a, b), (c, d) = WINDOW
        assert path["out"] == any(not (a <= p <= b and c <= q <= d) for p, q in points)


def test_chapter_setting_prints_the_chapter_numbers(shown):
    i, j = ETAS.index(0.4), GAMMAS.index(0.9)
    path = shown.data["rmsprop"][i][j]
    assert (path["x1"], path["x2"]) == ("-0.010599", "0.000000")  # as "epoch 20, x1 -0.010599"
    assert shown.data["default"] == {"eta": 0.4, "gamma": 0.9, "method": "rmsprop"}


def test_embedded_data_stays_under_300_kb_and_round_trips(shown):
    text = shown.to_json()
    assert len(text.encode("utf-8")) < 300_000
    html = shown._repr_html_()
    found = re.search(
        r'<script type="application/json" class="rmsprop-explorer-data">(.*?)</script>', html, re.S
    )
    assert found and json.loads(found.group(1)) == shown.data


def test_html_has_labelled_keyboard_sliders_and_a_method_switch(shown):
    html = shown._repr_html_()
    for name, label, n, value in [
        ("eta", "学习率 η", 20, ETAS.index(0.4)),
        ("gamma", "衰减率 γ", 34, GAMMAS.index(0.9)),
    ]:
        assert f'<label for="rmsprop-explorer-{name}">{label}</label>' in html
        slider = re.search(rf'<input type="range" id="rmsprop-explorer-{name}"[^>]*>', html)
        assert slider is not None, f"no slider for {name}"
        assert f'max="{n - 1}"' in slider.group(0) and f'value="{value}"' in slider.group(0)
    assert re.findall(r'<input type="radio" name="method" value="(\w+)"', html) == [
        "rmsprop",
        "adagrad",
    ]
    assert "<legend>算法</legend>" in html
    # the controls wait for the script; without it the reader sees the static figure
    assert '<form class="rmsprop-explorer-controls" hidden>' in html
    assert "<svg" in html and html.count("<script") == 1  # data only: no inline code
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_static_svg_draws_the_default_path_with_a_text_alternative(shown):
    svg = ET.fromstring(shown._repr_svg_())
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title")
    assert title is not None
    assert svg.get("aria-labelledby") == title.get("id")
    assert title.text == (
        "RMSProp（η = 0.40，γ = 0.90）走 20 步后到达 (x1, x2) = "
        "(-0.010599, 0.000000)，此处 f(x) = 1.12e-05。"
    )
    line = svg.find(f".//{SVG}polyline")
    assert line is not None
    drawn = [tuple(map(float, pair.split(","))) for pair in line.attrib["points"].split()]
    assert drawn == [(round(x1, 2) + 0.0, round(x2, 2) + 0.0) for x1, x2 in rms(0.4, 0.9)]
    assert len(svg.findall(f".//{SVG}ellipse")) == 8


def test_static_svg_of_another_setting(shown):
    svg = ET.fromstring(explorer_svg(shown.data, method="adagrad", eta=1.0))
    end = svg.find(f".//{SVG}circle[@class='end']")
    assert end is not None
    x1, x2 = ada(1.0)[-1]
    assert (float(end.attrib["cx"]), float(end.attrib["cy"])) == (
        round(x1, 2) + 0.0,
        round(x2, 2) + 0.0,
    )
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert "AdaGrad（η = 1.00）" in title.text


def test_describe_names_the_setting():
    final = {"x1": "1.000000", "x2": "2.000000", "f": "8.1"}
    assert (
        describe("adagrad", "0.40", None, final, 20)
        == "AdaGrad（η = 0.40）走 20 步后到达 (x1, x2) = (1.000000, 2.000000)，此处 f(x) = 8.1。"
    )


def test_small_grid_and_decimals():
    grid = explorer_grid([0.1, 0.4], [0.5], steps=3)
    data = explorer_data(grid, decimals=4)
    assert len(data["rmsprop"]) == 2 and len(data["rmsprop"][0]) == 1
    assert data["default"] == {"eta": 0.4, "gamma": 0.5, "method": "rmsprop"}
    assert data["adagrad"][0]["p"] == [round(v, 4) + 0.0 for p in ada(0.1, steps=3) for v in p]
    assert grid.trace("adagrad", 0.1).points == ada(0.1, steps=3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"etas": []}, "etas must not be empty"),
        ({"etas": [0.0, 0.1]}, "etas must be positive, got 0"),
        ({"etas": [0.2, 0.1]}, r"etas must be strictly increasing, got \(0.2, 0.1\)"),
        ({"etas": [0.1, float("nan")]}, "etas must hold finite numbers, got nan"),
        ({"etas": [11.0]}, r"etas must lie in \[0, 10\], got 11.0"),
        ({"gammas": [0.5, 1.0]}, r"gammas must lie in \[0, 1\), got 1.0"),
        ({"gammas": [-0.1]}, r"gammas must lie in \[0, 1\), got -0.1"),
        ({"gammas": ["0.9"]}, "gammas must hold finite numbers, got '0.9'"),
        ({"steps": 0}, "steps must be a positive integer, got 0"),
        ({"steps": 2.0}, "steps must be a positive integer, got 2.0"),
    ],
)
def test_explorer_grid_rejects_bad_grids(kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        explorer_grid(**kwargs)


def test_lookups_off_the_grid_say_what_and_where():
    grid = explorer_grid([0.1, 0.4], [0.5, 0.9], steps=2)
    with pytest.raises(ValueError, match=r"^eta=0.41 is not on the explorer's grid \(0.1, 0.4\)$"):
        grid.trace("rmsprop", 0.41, 0.9)
    with pytest.raises(ValueError, match=r"^gamma=0.8 is not on the explorer's grid \(0.5, 0.9\)$"):
        grid.trace("rmsprop", 0.4, 0.8)
    with pytest.raises(ValueError, match="^method must be 'rmsprop' or 'adagrad', got 'adam'$"):
        grid.trace("adam", 0.4, 0.9)  # type: ignore[arg-type]  # deliberately wrong type
    with pytest.raises(ValueError, match="^gamma is required for method 'rmsprop'$"):
        grid.trace("rmsprop", 0.4)
    with pytest.raises(ValueError, match=r"^decimals must be an integer in \[0, 8\], got -1$"):
        explorer_data(grid, decimals=-1)
    with pytest.raises(ValueError, match="^method must be 'rmsprop' or 'adagrad', got 'sgd'$"):
        explorer_svg(explorer_data(grid), method="sgd")  # type: ignore[arg-type]  # deliberately wrong type


def test_repr_says_what_it_holds():
    assert (
        repr(Explorer(explorer_grid([0.1], [0.5], steps=2)))
        == "Explorer(1 values of eta × 1 values of gamma, 2 steps)"
    )


# --- the page's prose about the explorer (book/rmsprop.md, "动手试一试") ---------------------


def test_prose_gamma_zero_steps_by_eta_and_hops():
    points = rms(0.4, 0.0)
    for (a1, a2), (b1, b2) in itertools.pairwise(points):
        assert abs(b1 - a1) == pytest.approx(0.4, rel=1e-3)
        # x2 too, unless its gradient 4 x2 is as small as sqrt(eps) (x2 lands near 0 at step 5)
        assert abs(b2 - a2) == pytest.approx(0.4, rel=1e-3) or abs(4 * a2) < 1e-2
    assert f_2d(*points[-1]) == pytest.approx(0.06, abs=0.005)  # "仍约为 0.06"
    assert 0.5e-5 < f_2d(*rms(0.4, 0.9)[-1]) < 2e-5  # "约为 10^-5"


def test_prose_gamma_099_first_step_is_ten_eta():
    points = rms(0.4, 0.99)
    assert points[1] == pytest.approx((-1.0, 2.0), abs=1e-3)  # "(-5,-2) 跳到 (-1, 2)"
    steps = [math.dist(a, b) for a, b in itertools.pairwise(points)]
    assert steps[0] == max(steps) and steps[-1] < steps[0] / 100
    # "η 再大一些，第一步就会跳出画面"
    (a, b), (c, d) = WINDOW
    for eta in [e for e in ETAS if e >= 0.55]:
        x1, x2 = rms(eta, 0.99)[1]
        assert not (a <= x1 <= b and c <= x2 <= d), eta


def test_prose_large_eta_bounces_grow_again():
    for eta in [e for e in ETAS if e >= 0.8]:
        x2s = [abs(x2) for _, x2 in rms(eta, 0.9)]
        assert abs(rms(eta, 0.9)[-1][0]) < 1e-3  # x1 is in place
        assert max(x2s[-3:]) > 5 * min(x2s[5:13]), eta  # the bounces grow
    assert rms(1.0, 0.9)[-1][1] == pytest.approx(-0.74, abs=0.005)  # "x2 约为 -0.74"


def test_prose_adagrad_stops_short():
    assert ada(0.4)[-1] == pytest.approx((-2.38, -0.16), abs=0.005)
    assert ada(1.0)[-1] == pytest.approx((-0.40, 0.00), abs=0.005)


def test_exercise_threshold_is_gamma_072():
    f = {gamma: f_2d(*rms(0.4, gamma)[-1]) for gamma in GAMMAS}
    assert all(v < 1e-4 for g, v in f.items() if g >= 0.72)
    low = [v for g, v in f.items() if g < 0.72]
    assert all(v > 1e-3 for v in low)
    assert sum(0.05 <= v <= 0.11 for v in low) >= 2 * len(low) / 3  # "多数在 0.05 到 0.1 左右"
