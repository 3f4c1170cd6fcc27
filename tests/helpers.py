"""Helpers shared by the optimizer tests: parameters, gradients, side-by-side stepping."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch

# The configurations PyTorch's own optimizer suite uses for RMSprop (optim_inputs_func_rmsprop).
CONFIGS: list[dict[str, Any]] = [
    {},
    {"lr": 1e-3},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"centered": True, "weight_decay": 0.1},
    {"maximize": True, "weight_decay": 0.1},
    {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
    {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True},
]
IDS = [
    "default",
    "lr",
    "wd",
    "maximize",
    "centered-wd",
    "maximize-wd",
    "wd-centered-momentum",
    "all",
]
# For results equal "to rounding" (the fused kernel against the loop).
TOL: dict[torch.dtype, dict[str, Any]] = {
    torch.float64: dict(rtol=1e-12, atol=1e-12),
    torch.float32: dict(rtol=1.3e-6, atol=1e-5),
}


# Tests of fused=True need a C compiler: skipped without one, failed under CI=true (conftest.py).
needs_compiler = pytest.mark.requires_cc


def make_params(dtype: torch.dtype, seed: int = 0) -> list[torch.Tensor]:
    """A matrix, a vector, a 0-dim tensor and a non-contiguous (transposed) matrix."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(4, 3, dtype=dtype, generator=g)
    return [
        torch.randn(3, 5, dtype=dtype, generator=g),
        torch.randn(7, dtype=dtype, generator=g),
        torch.randn((), dtype=dtype, generator=g),
        base.t().contiguous().t(),  # a non-contiguous (column-major) layout
    ]


def clone_params(params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [p.detach().clone().requires_grad_() for p in params]


def set_grads(params: list[torch.Tensor], step: int, seed: int = 1) -> None:
    """Deterministic gradients shaped like their parameters; parameter 1 has none at steps 2, 5."""
    g = torch.Generator().manual_seed(seed * 1000 + step)
    for i, p in enumerate(params):
        if i == 1 and step in (2, 5):
            p.grad = None
        else:
            grad = torch.randn(p.shape, dtype=p.dtype, generator=g)
            p.grad = torch.empty_like(p).copy_(grad)


def step_side_by_side(first, first_params, second, second_params, steps, after_each=None):
    """Give both parameter sets the same gradients and step both optimizers ``steps`` times."""
    for step in range(steps):
        set_grads(first_params, step)
        set_grads(second_params, step)
        first.step()
        second.step()
        if after_each is not None:
            after_each()


def assert_identical(ours_opt, ours, theirs_opt, theirs) -> None:
    """Parameters and every state tensor equal bit for bit (NaN where NaN), same keys and dtypes."""
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0, equal_nan=True)
        s, t = ours_opt.state.get(p, {}), theirs_opt.state.get(q, {})
        assert s.keys() == t.keys()
        for key in s:
            assert s[key].dtype == t[key].dtype, key
            torch.testing.assert_close(s[key], t[key], rtol=0, atol=0, equal_nan=True)


def assert_close_states(ours_opt, ours, theirs_opt, theirs, dtype) -> None:
    """Parameters and every state tensor equal to rounding (``TOL``), same keys."""
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, **TOL[dtype])
        s, t = ours_opt.state.get(p, {}), theirs_opt.state.get(q, {})
        assert s.keys() == t.keys()
        for key in s:
            torch.testing.assert_close(s[key], t[key], **TOL[dtype])


# --- comparing two built sites ------------------------------------------------------------


def differing_files(first: dict[str, bytes], second: dict[str, bytes]) -> list[str]:
    """The paths whose content differs or that only one of the two sites has."""
    return sorted(n for n in first.keys() | second.keys() if first.get(n) != second.get(n))


# An incremental build links assets whose files existed when it wrote a page with a checksum
# query (``_static/x.css?v=1a2b3c4d``), keeps search terms whose pages lost them (with no page)
# and images no page shows any more. None of that changes what a reader gets; the site is
# published from clean builds.
ASSET_CHECKSUM = re.compile(rb"\?v=[0-9a-f]{8}\b")


def as_published_cleanly(files: dict[str, bytes]) -> dict[str, bytes]:
    """A site's files (path -> bytes) without the three traces of incremental builds."""
    shown = set(re.findall(rb"_images/([^\"'?#\s)]+)", b"".join(files.values())))
    cleaned = {}
    for name, data in files.items():
        if name.startswith("_images/") and name.removeprefix("_images/").encode() not in shown:
            continue
        data = ASSET_CHECKSUM.sub(b"", data)
        if name == "searchindex.js":
            from sphinx.search import js_index

            index = js_index.loads(data.decode("utf-8"))
            for key in ("terms", "titleterms"):
                index[key] = {t: pages for t, pages in index[key].items() if pages != []}
            data = js_index.dumps(index).encode("utf-8")
        cleaned[name] = data
    return cleaned
