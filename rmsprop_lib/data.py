"""The airfoil self-noise data set, shipped with the package, and the chapter's recipe.

The file holds 1503 rows of 6 tab-separated numbers (NASA airfoil tests, Brooks, Pope &
Marcolini 1989, NASA RP-1218; UCI Machine Learning Repository, "Airfoil Self-Noise").
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

__all__ = ["AIRFOIL_PATH", "DataFormatError", "load_airfoil", "get_data_ch7"]

AIRFOIL_PATH = Path(__file__).with_name("data") / "airfoil_self_noise.dat"
AIRFOIL_ROWS = 1503
AIRFOIL_COLUMNS = 6


class DataFormatError(ValueError):
    """A data file does not hold what the chapter expects; the message names file and line."""


def load_airfoil(path: str | Path = AIRFOIL_PATH) -> torch.Tensor:
    """Read the airfoil file as a float64 tensor of shape (1503, 6), checking every line.

    Raises:
        DataFormatError: a line is not 6 finite tab-separated numbers, or the file does not
            have exactly 1503 rows. The message starts with ``path:line:``.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as lines:
        for lineno, line in enumerate(lines, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != AIRFOIL_COLUMNS:
                raise DataFormatError(
                    f"{path}:{lineno}: expected {AIRFOIL_COLUMNS} tab-separated numbers, "
                    f"found {len(fields)} field(s): {line.rstrip()!r}"
                )
            try:
                row = [float(field) for field in fields]
            except ValueError:
                raise DataFormatError(
                    f"{path}:{lineno}: not a number in {line.rstrip()!r}"
                ) from None
            if not all(math.isfinite(value) for value in row):
                raise DataFormatError(
                    f"{path}:{lineno}: non-finite value in {line.rstrip()!r}"
                )
            rows.append(row)
    if len(rows) != AIRFOIL_ROWS:
        raise DataFormatError(
            f"{path}: expected {AIRFOIL_ROWS} rows, found {len(rows)}"
        )
    return torch.tensor(rows, dtype=torch.float64)


def get_data_ch7(path: str | Path = AIRFOIL_PATH) -> tuple[torch.Tensor, torch.Tensor]:
    """The chapter's training data: ``(features, labels)``, float32, shapes (1500, 5), (1500,).

    Every column is standardized with its mean and population standard deviation over
    **all 1503 rows**; then the first 1500 rows are kept. Columns 0-4 are the features,
    column 5 (the scaled sound pressure level) is the label.
    """
    data = load_airfoil(path)
    data = (data - data.mean(dim=0)) / data.std(dim=0, correction=0)
    data = data[:1500].to(torch.float32)
    return data[:, :-1].contiguous(), data[:, -1].contiguous()
