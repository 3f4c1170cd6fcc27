"""Helpers shared by the tests: parameters, gradients and side-by-side stepping for the
optimizer tests; comparing two built sites, PDF editions included, for the build tests;
reading a built page."""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from bs4 import BeautifulSoup

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


# A number in PDF syntax, but not the digits of a name (/F8), of a hex string (<0052>) or of
# a word: what a print may place a fraction of a device pixel apart.
PDF_NUMBER = re.compile(rb"(?<![\w/#<.+-])[+-]?(?:\d+\.?\d*|\.\d+)(?![\w.])")


def _tokens_differ(first: bytes, second: bytes, tolerance: float) -> bool:
    """Whether two pieces of PDF syntax differ in more than where they place things: all
    but the numbers equal, whole numbers equal, other numbers within ``tolerance``."""
    if PDF_NUMBER.split(first) != PDF_NUMBER.split(second):
        return True
    for a, b in zip(PDF_NUMBER.findall(first), PDF_NUMBER.findall(second), strict=True):
        exact = b"." not in a and b"." not in b
        if (a != b) if exact else abs(float(a) - float(b)) > tolerance:
            return True
    return False


def pdf_differences(first: bytes, second: bytes, tolerance: float = 1.0) -> list[str]:
    """Where two PDFs differ, object by object, beyond a shift of ``tolerance`` in a
    position: in the pages' drawing (Chromium's is in 300 dpi device pixels, so 1.0 is a
    quarter of a point) and in the other objects' numbers (link boxes, bookmark targets, in
    points). Fonts, images and every other stream must be the same bytes.

    Chromium has printed the same page differently, once in some twenty prints under the
    suite's load: one run of inline code 0.6 device pixels higher (0.14 pt), the rest of the
    file byte for byte the same (README, "The PDF edition").
    """
    if first == second:
        return []
    from pypdf import PdfReader
    from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

    readers = PdfReader(io.BytesIO(first)), PdfReader(io.BytesIO(second))
    numbers = [set(r.xref.get(0, {})) | set(r.xref_objStm) for r in readers]
    if numbers[0] != numbers[1]:
        return [f"objects only in one: {sorted(numbers[0] ^ numbers[1])[:10]}"]
    drawings = {
        page.raw_get("/Contents").idnum
        for page in readers[0].pages
        if isinstance(page.raw_get("/Contents"), IndirectObject)
    }

    def syntax(obj) -> bytes:
        if isinstance(obj, StreamObject):  # its dictionary; a drawing's length may differ
            obj = DictionaryObject({k: v for k, v in obj.items() if k != "/Length"})
        out = io.BytesIO()
        obj.write_to_stream(out)
        return out.getvalue()

    differences = []
    for number in sorted(numbers[0]):
        a, b = (reader.get_object(IndirectObject(number, 0, reader)) for reader in readers)
        differ = type(a) is not type(b) or _tokens_differ(syntax(a), syntax(b), tolerance)
        if not differ and isinstance(a, StreamObject) and isinstance(b, StreamObject):
            ours, theirs = a.get_data(), b.get_data()
            differ = (
                _tokens_differ(ours, theirs, tolerance) if number in drawings else ours != theirs
            )
        if differ:
            differences.append(f"object {number}" + (" (a page's drawing)" * (number in drawings)))
    return differences


# --- reading the built site ---------------------------------------------------------------


def built_page(path: Path) -> BeautifulSoup:
    """The HTML page at ``path``, parsed once per test process (again if the file changed).

    Shared by every test that reads the page, so it must not be changed: ``copy.copy`` it
    first (a deep copy). Parsing the chapter takes a tenth of a second, and the tests that
    read the site parse its pages over a hundred times."""
    stat = path.stat()
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, mtime_ns: int, size: int) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
