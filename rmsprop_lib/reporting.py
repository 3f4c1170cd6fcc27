"""Turning results into the text a page prints: the chapter's lines, and tables.

Computation lives elsewhere (:mod:`rmsprop_lib.trace2d`, :mod:`rmsprop_lib.training`); the
functions here only format what those return, so they are cheap and easy to test.
"""

from __future__ import annotations

from .trace2d import Trace2D
from .training import TrainResult

__all__ = ["format_trace", "format_result"]


def format_trace(trace: Trace2D) -> str:
    """The chapter's line after the last step, e.g. ``epoch 20, x1 -0.010599, x2 0.000000``."""
    x1, x2 = trace.points[-1]
    return f"epoch {len(trace.points) - 1}, x1 {x1:f}, x2 {x2:f}"


def format_result(result: TrainResult) -> str:
    """The chapter's line: final loss and the last epoch's wall time.

    For example ``loss: 0.243452, 0.049984 sec per epoch``.
    """
    return f"loss: {result.losses[-1]:f}, {result.epoch_times[-1]:f} sec per epoch"
