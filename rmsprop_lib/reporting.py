"""Turning results into the text a page prints: the chapter's lines, and tables.

Computation lives elsewhere (:mod:`rmsprop_lib.trace2d`, :mod:`rmsprop_lib.training`); the
functions here only format what those return, so they are cheap and easy to test.
"""

from __future__ import annotations

from ._checks import typed_repr
from .trace2d import Trace2D
from .training import TrainResult

__all__ = ["format_result", "format_trace"]


def format_trace(trace: Trace2D) -> str:
    """The chapter's line after the last step, e.g. ``epoch 20, x1 -0.010599, x2 0.000000``."""
    if not isinstance(trace, Trace2D):
        raise TypeError(f"format_trace: trace must be a Trace2D, got {typed_repr(trace)}")
    if not trace.points:
        raise ValueError("format_trace: trace has no points")
    x1, x2 = trace.points[-1]
    return f"epoch {len(trace.points) - 1}, x1 {x1:f}, x2 {x2:f}"


def format_result(result: TrainResult) -> str:
    """The chapter's line: final loss and the last epoch's wall time.

    For example ``loss: 0.243452, 0.049984 sec per epoch``.
    """
    if not isinstance(result, TrainResult):
        raise TypeError(f"format_result: result must be a TrainResult, got {typed_repr(result)}")
    if not result.losses or not result.epoch_times:
        raise ValueError(
            f"format_result: result needs at least one loss and one epoch, got "
            f"{len(result.losses)} losses and {len(result.epoch_times)} epoch times"
        )
    return f"loss: {result.losses[-1]:f}, {result.epoch_times[-1]:f} sec per epoch"
