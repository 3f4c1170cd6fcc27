"""Data for the chapter's interactive η/γ explorer, computed once, drawn by the browser.

The explorer on the chapter page lets the reader move a slider for the learning rate
:math:`\\eta` and one for :math:`\\gamma`, switch between RMSProp and AdaGrad, and see the
20-step path on the contours of :func:`~rmsprop_lib.trace2d.f_2d`. Every path it can show is
computed here, at build time, by :func:`~rmsprop_lib.trace2d.train_2d` over a grid of
:math:`(\\eta, \\gamma)`; the page embeds the result as JSON, and the script
``book/_static/explorer.js`` only looks a path up and draws it. Nothing in the browser
re-implements the update.

The same object renders as a static SVG (the default setting) wherever no script runs: in a
notebook, in a PDF, or in a browser with JavaScript turned off.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from .trace2d import Trace2D, adagrad_2d, f_2d, rmsprop_2d, train_2d

__all__ = [
    "ETAS",
    "GAMMAS",
    "WINDOW",
    "Explorer",
    "ExplorerGrid",
    "describe",
    "explorer",
    "explorer_data",
    "explorer_grid",
    "explorer_svg",
    "format_final",
]

Method = Literal["rmsprop", "adagrad"]

#: Learning rates on the η slider: 0.05, 0.10, ..., 1.00 (20 values).
ETAS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 21))
#: Values on the γ slider: 0.00, 0.03, ..., 0.99 (34 values; 0.9 and 0.99 included).
GAMMAS: tuple[float, ...] = tuple(round(0.03 * k, 2) for k in range(34))
#: The drawn part of the plane, ``((x1_min, x1_max), (x2_min, x2_max))``, equal scales.
WINDOW: tuple[tuple[float, float], tuple[float, float]] = ((-6.0, 6.0), (-3.0, 3.0))

#: Contour levels of f drawn behind the paths: (k/2)² for k = 1, ..., 8.
CONTOUR_LEVELS: tuple[float, ...] = tuple((k / 2) ** 2 for k in range(1, 9))

_DEFAULT = {"eta": 0.4, "gamma": 0.9, "method": "rmsprop"}
_METHOD_NAMES = {"rmsprop": "RMSProp", "adagrad": "AdaGrad"}


@dataclass(frozen=True)
class ExplorerGrid:
    """Traces of :func:`train_2d` for every grid setting.

    Attributes:
        etas: the learning rates, ascending.
        gammas: the values of γ, ascending.
        steps: the number of steps of every trace.
        rmsprop: ``rmsprop[i][j]`` is the RMSProp trace for ``etas[i]`` and ``gammas[j]``.
        adagrad: ``adagrad[i]`` is the AdaGrad trace for ``etas[i]`` (AdaGrad has no γ).
    """

    etas: tuple[float, ...]
    gammas: tuple[float, ...]
    steps: int
    rmsprop: tuple[tuple[Trace2D, ...], ...]
    adagrad: tuple[Trace2D, ...]

    def trace(self, method: Method, eta: float, gamma: float | None = None) -> Trace2D:
        """The trace for one setting; ``eta`` (and ``gamma`` for RMSProp) must be grid values."""
        i = _index("eta", eta, self.etas)
        if method == "adagrad":
            return self.adagrad[i]
        if method != "rmsprop":
            raise ValueError(f"method must be 'rmsprop' or 'adagrad', got {method!r}")
        if gamma is None:
            raise ValueError("gamma is required for method 'rmsprop'")
        return self.rmsprop[i][_index("gamma", gamma, self.gammas)]


def _index(name: str, value: float, grid: Sequence[float]) -> int:
    try:
        return grid.index(value)
    except ValueError:
        shown = ", ".join(f"{v:g}" for v in grid)
        raise ValueError(f"{name}={value!r} is not on the explorer's grid ({shown})") from None


def _check_grid(
    name: str, values: Sequence[float], low: float, high: float, high_open: bool
) -> tuple[float, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must hold finite numbers, got {v!r}")
        if not (low <= v and (v < high if high_open else v <= high)):
            bound = f"[{low:g}, {high:g})" if high_open else f"[{low:g}, {high:g}]"
            raise ValueError(f"{name} must lie in {bound}, got {v!r}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{name} must be strictly increasing, got {values}")
    return values


def explorer_grid(
    etas: Sequence[float] = ETAS, gammas: Sequence[float] = GAMMAS, *, steps: int = 20
) -> ExplorerGrid:
    """Run :func:`train_2d` for RMSProp at every ``(eta, gamma)`` and AdaGrad at every ``eta``.

    Args:
        etas: learning rates, strictly increasing, each in (0, 10].
        gammas: values of γ, strictly increasing, each in [0, 1).
        steps: steps per trace (the chapter uses 20).

    Returns:
        The traces, unrounded, as :class:`ExplorerGrid`.
    """
    etas = _check_grid("etas", etas, 0.0, 10.0, high_open=False)
    if etas[0] == 0:
        raise ValueError("etas must be positive, got 0")
    gammas = _check_grid("gammas", gammas, 0.0, 1.0, high_open=True)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    rms = tuple(
        tuple(train_2d(partial(rmsprop_2d, eta=eta, gamma=gamma), steps=steps) for gamma in gammas)
        for eta in etas
    )
    ada = tuple(train_2d(partial(adagrad_2d, eta=eta), steps=steps) for eta in etas)
    return ExplorerGrid(etas, gammas, steps, rms, ada)


def format_final(trace: Trace2D) -> dict[str, str]:
    """The final point and f there, as the explorer prints them.

    ``x1`` and ``x2`` with six decimals (as the chapter's ``epoch 20, x1 ...`` line), ``f``
    with three significant digits.
    """
    x1, x2 = trace.points[-1]
    return {"x1": f"{x1:.6f}", "x2": f"{x2:.6f}", "f": f"{f_2d(x1, x2):.3g}"}


def _leaves_window(trace: Trace2D) -> bool:
    (a, b), (c, d) = WINDOW
    return any(not (a <= x1 <= b and c <= x2 <= d) for x1, x2 in trace.points)


def _path(trace: Trace2D, decimals: int) -> dict:
    flat = [round(v, decimals) + 0.0 for point in trace.points for v in point]
    return {"p": flat, **format_final(trace), "out": _leaves_window(trace)}


def explorer_data(grid: ExplorerGrid, *, decimals: int = 2) -> dict:
    """The JSON-ready data the page embeds.

    Path coordinates are rounded to ``decimals`` places (2 by default: a hundredth of a
    unit is less than a pixel at the explorer's scale of about 50 pixels per unit); the
    final point and f are given as strings made by :func:`format_final` from the unrounded
    trace.

    Returns:
        A dict with ``eta`` and ``gamma`` (the grid values and their labels), ``steps``,
        ``window``, ``default``, and the paths: ``rmsprop[i][j]`` for ``eta[i]``,
        ``gamma[j]`` and ``adagrad[i]``; each path has ``p`` (x1, x2, x1, x2, ... from the
        start), ``x1``, ``x2``, ``f`` and ``out`` (true if part of it lies outside the
        drawn window).
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 8:
        raise ValueError(f"decimals must be an integer in [0, 8], got {decimals!r}")
    return {
        "eta": list(grid.etas),
        "etaLabels": [f"{v:.2f}" for v in grid.etas],
        "gamma": list(grid.gammas),
        "gammaLabels": [f"{v:.2f}" for v in grid.gammas],
        "steps": grid.steps,
        "window": [list(w) for w in WINDOW],
        "default": _default(grid),
        "rmsprop": [[_path(t, decimals) for t in row] for row in grid.rmsprop],
        "adagrad": [_path(t, decimals) for t in grid.adagrad],
    }


def _default(grid: ExplorerGrid) -> dict:
    """The setting shown first: the chapter's η=0.4, γ=0.9 if on the grid, else the middle."""
    eta = _DEFAULT["eta"] if _DEFAULT["eta"] in grid.etas else grid.etas[len(grid.etas) // 2]
    gamma = (
        _DEFAULT["gamma"]
        if _DEFAULT["gamma"] in grid.gammas
        else grid.gammas[len(grid.gammas) // 2]
    )
    return {"eta": eta, "gamma": gamma, "method": _DEFAULT["method"]}


# --- the drawing (a static SVG, also the frame the script draws into) ---------------------

_W, _H = 640, 346  # SVG user units (pixels at full size)
_LEFT, _TOP, _RIGHT, _BOTTOM = 48, 12, 14, 44
_SCALE = (_W - _LEFT - _RIGHT) / (WINDOW[0][1] - WINDOW[0][0])  # pixels per unit


def _px(x1: float, x2: float) -> tuple[float, float]:
    return (_LEFT + (x1 - WINDOW[0][0]) * _SCALE, _TOP + (WINDOW[1][1] - x2) * _SCALE)


def _points_attr(flat: Sequence[float]) -> str:
    return " ".join(f"{flat[k]:g},{flat[k + 1]:g}" for k in range(0, len(flat), 2))


def describe(
    method: Method, eta_label: str, gamma_label: str | None, final: dict, steps: int
) -> str:
    """The sentence under the figure (also its text alternative)."""
    setting = f"η = {eta_label}" + (f"，γ = {gamma_label}" if method == "rmsprop" else "")
    return (
        f"{_METHOD_NAMES[method]}（{setting}）走 {steps} 步后到达 "
        f"(x1, x2) = ({final['x1']}, {final['x2']})，此处 f(x) = {final['f']}。"
    )


def explorer_svg(
    data: dict,
    *,
    method: Method | None = None,
    eta: float | None = None,
    gamma: float | None = None,
    id_prefix: str = "rmsprop-explorer",
) -> str:
    """An SVG of one setting of :func:`explorer_data`'s paths over the contours of f.

    The SVG carries presentation attributes, so it reads on its own (notebook, PDF); the
    page's stylesheet restyles it for dark mode. The path sits in a group whose transform
    maps the plane's units to pixels, so the script can draw the embedded coordinates
    as they are.
    """
    default = data["default"]
    method = default["method"] if method is None else method
    eta = default["eta"] if eta is None else eta
    gamma = default["gamma"] if gamma is None else gamma
    i = _index("eta", eta, data["eta"])
    if method == "adagrad":
        path = data["adagrad"][i]
    elif method == "rmsprop":
        path = data["rmsprop"][i][_index("gamma", gamma, data["gamma"])]
    else:
        raise ValueError(f"method must be 'rmsprop' or 'adagrad', got {method!r}")
    gamma_label = data["gammaLabels"][data["gamma"].index(gamma)] if method == "rmsprop" else None
    text = describe(method, data["etaLabels"][i], gamma_label, path, data["steps"])

    (a, b), (c, d) = WINDOW
    ox, oy = _px(0.0, 0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rmsprop-explorer-svg" '
        f'viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-labelledby="{id_prefix}-title" font-family="sans-serif" font-size="16">',
        f'<title id="{id_prefix}-title">{html.escape(text)}</title>',
        f'<defs><clipPath id="{id_prefix}-clip"><rect x="{_LEFT}" y="{_TOP}" '
        f'width="{(b - a) * _SCALE:g}" height="{(d - c) * _SCALE:g}"/></clipPath>'
        f'<marker id="{id_prefix}-dot" viewBox="-1 -1 2 2" markerWidth="0.16" '
        f'markerHeight="0.16" markerUnits="userSpaceOnUse">'
        f'<circle r="1" class="step" fill="#d95f02"/></marker></defs>',
        f'<rect class="plate" x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<g class="frame" stroke="#555555" fill="none">'
        f'<rect x="{_LEFT}" y="{_TOP}" width="{(b - a) * _SCALE:g}" '
        f'height="{(d - c) * _SCALE:g}"/></g>',
    ]
    # ticks and their labels
    ticks = ['<g class="ticks" fill="#333333" text-anchor="middle">']
    for x in range(int(a), int(b) + 1, 2):
        px, py = _px(x, c)
        ticks.append(
            f'<line x1="{px:g}" y1="{py:g}" x2="{px:g}" y2="{py + 5:g}" '
            f'stroke="#555555"/><text x="{px:g}" y="{py + 19:g}">{x}</text>'
        )
    for y in range(int(c), int(d) + 1):
        px, py = _px(a, y)
        ticks.append(
            f'<line x1="{px - 5:g}" y1="{py:g}" x2="{px:g}" y2="{py:g}" '
            f'stroke="#555555"/><text x="{px - 8:g}" y="{py + 4:g}" '
            f'text-anchor="end">{y}</text>'
        )
    ticks.append(f'<text x="{_LEFT + (b - a) * _SCALE / 2:g}" y="{_H - 6}">x₁</text>')
    ticks.append(f'<text x="12" y="{_TOP + (d - c) * _SCALE / 2:g}">x₂</text></g>')
    parts += ticks
    # the plane: contours, optimum, path, end point, in the plane's own units
    parts.append(
        f'<g clip-path="url(#{id_prefix}-clip)"><g class="plane" '
        f'transform="translate({ox:g} {oy:g}) scale({_SCALE:g} {-_SCALE:g})">'
    )
    parts.append('<g class="contours" fill="none" stroke="#8fa8c8">')
    for level in CONTOUR_LEVELS:
        parts.append(
            f'<ellipse rx="{math.sqrt(level / 0.1):.4g}" ry="{math.sqrt(level / 2):.4g}" '
            f'vector-effect="non-scaling-stroke"/>'
        )
    parts.append(
        '</g><path class="optimum" d="M -0.12 0 H 0.12 M 0 -0.12 V 0.12" '
        'stroke="#333333" vector-effect="non-scaling-stroke"/>'
    )
    parts.append(
        f'<polyline class="path" fill="none" stroke="#d95f02" stroke-width="2" '
        f'vector-effect="non-scaling-stroke" marker-start="url(#{id_prefix}-dot)" '
        f'marker-mid="url(#{id_prefix}-dot)" points="{_points_attr(path["p"])}"/>'
    )
    ex, ey = path["p"][-2], path["p"][-1]
    parts.append(
        f'<circle class="end" cx="{ex:g}" cy="{ey:g}" r="0.14" fill="#1b7837" '
        f'stroke="#ffffff" stroke-width="1.5" vector-effect="non-scaling-stroke"/>'
    )
    parts.append("</g></g></svg>")
    return "".join(parts)


class Explorer:
    """The explorer as a notebook output: HTML (data, controls, figure) and a static SVG.

    ``_repr_html_`` embeds :func:`explorer_data` as JSON beside the sliders and the static
    figure; the sliders stay hidden until ``explorer.js`` (served by the book) wakes them
    up. ``_repr_svg_`` is the static figure alone, for outputs that cannot show HTML.
    """

    def __init__(
        self, grid: ExplorerGrid, *, decimals: int = 2, id_prefix: str = "rmsprop-explorer"
    ) -> None:
        self.grid = grid
        self.data = explorer_data(grid, decimals=decimals)
        self.id_prefix = id_prefix

    def to_json(self) -> str:
        """The embedded data, compact; safe inside ``<script type="application/json">``."""
        text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return text.replace("</", "<\\/")

    def _repr_svg_(self) -> str:
        return explorer_svg(self.data, id_prefix=self.id_prefix)

    def _repr_html_(self) -> str:
        d, p = self.data, self.id_prefix
        i, j = d["eta"].index(d["default"]["eta"]), d["gamma"].index(d["default"]["gamma"])
        path = d["rmsprop"][i][j]
        readout = describe("rmsprop", d["etaLabels"][i], d["gammaLabels"][j], path, d["steps"])

        def slider(name: str, label: str, k: int) -> str:
            values = d[f"{name}Labels"]
            return (
                f'<div class="rmsprop-explorer-slider"><label for="{p}-{name}">{label}</label>'
                f'<input type="range" id="{p}-{name}" name="{name}" min="0" '
                f'max="{len(values) - 1}" step="1" value="{k}" '
                f'aria-valuetext="{values[k]}">'
                f'<output id="{p}-{name}-value" for="{p}-{name}">{values[k]}</output></div>'
            )

        return (
            f'<div class="rmsprop-explorer" id="{p}">'
            f'<script type="application/json" class="rmsprop-explorer-data">'
            f"{self.to_json()}</script>"
            f'<form class="rmsprop-explorer-controls" hidden>'
            f'<fieldset class="rmsprop-explorer-method"><legend>算法</legend>'
            f'<label><input type="radio" name="method" value="rmsprop" checked> RMSProp</label>'
            f'<label><input type="radio" name="method" value="adagrad"> AdaGrad</label></fieldset>'
            + slider("eta", "学习率 η", i)
            + slider("gamma", "衰减率 γ", j)
            + f'<p class="rmsprop-explorer-note" hidden>AdaGrad 没有 γ：它把梯度平方全部累加。</p>'
            f"</form>"
            f'<div class="rmsprop-explorer-figure">{self._repr_svg_()}</div>'
            f'<p class="rmsprop-explorer-readout" aria-live="polite">{html.escape(readout)}</p>'
            f'<p class="rmsprop-explorer-out" hidden>路径有一部分超出了画面。</p>'
            f"</div>"
        )

    def __repr__(self) -> str:
        return (
            f"Explorer({len(self.grid.etas)} values of eta × {len(self.grid.gammas)} "
            f"values of gamma, {self.grid.steps} steps)"
        )


def explorer(
    etas: Sequence[float] = ETAS,
    gammas: Sequence[float] = GAMMAS,
    *,
    steps: int = 20,
    decimals: int = 2,
) -> Explorer:
    """The chapter's explorer: :func:`explorer_grid` wrapped for display in the page.

    Example:
        >>> from rmsprop_lib.explorer import explorer
        >>> explorer()          # in a notebook cell: the sliders and the path
    """
    return Explorer(explorer_grid(etas, gammas, steps=steps), decimals=decimals)
