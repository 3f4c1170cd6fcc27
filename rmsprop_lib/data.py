"""The airfoil self-noise data set, shipped with the package, and the chapter's recipe.

The file holds 1503 rows of 6 tab-separated numbers (NASA airfoil tests, Brooks, Pope &
Marcolini 1989, NASA RP-1218; UCI Machine Learning Repository, "Airfoil Self-Noise").

The loader accepts exactly that format: ASCII text, lines ending in LF or CRLF (the last line
may lack its ending, and blank lines may follow it), six plain decimal numbers per line
(digits, an optional leading ``-`` and an optional fractional part, e.g. ``-0.3048``)
separated by single tabs. Anything else is
a :class:`DataFormatError` whose message starts with ``path:line:`` and quotes at most a short
excerpt of the offending text. Lines are read with a length bound, so neither a huge line nor
an endless file such as ``/dev/zero`` is ever read whole.
"""

from __future__ import annotations

import os
import re
from itertools import count
from pathlib import Path

import torch

from ._checks import typed_repr

__all__ = ["AIRFOIL_PATH", "DataFormatError", "get_data_ch7", "load_airfoil"]

AIRFOIL_PATH = Path(__file__).with_name("data") / "airfoil_self_noise.dat"
AIRFOIL_ROWS = 1503
AIRFOIL_COLUMNS = 6
AIRFOIL_COLUMN_NAMES = (
    "frequency (Hz)",
    "angle of attack (deg)",
    "chord length (m)",
    "free-stream velocity (m/s)",
    "suction-side displacement thickness (m)",
    "scaled sound pressure level (dB)",
)
MAX_FIELD_CHARS = 24  # the published file's longest number has 11 characters
MAX_LINE_BYTES = AIRFOIL_COLUMNS * (MAX_FIELD_CHARS + 1) + 1  # fields, tabs, CR LF
MAX_FILE_BYTES = AIRFOIL_ROWS * MAX_LINE_BYTES  # never read more than this

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_EXCERPT_CHARS = 40


class DataFormatError(ValueError):
    """A data file does not hold what the chapter expects; the message names file and line."""


def _excerpt(text: str | bytes) -> str:
    """``repr`` of at most the first 40 characters, so a message stays short."""
    if len(text) <= _EXCERPT_CHARS:
        return repr(text)
    return repr(text[:_EXCERPT_CHARS]) + f"... ({len(text)} characters)"


def _field_problem(field: str) -> str:
    if not field:
        return "is empty"
    if len(field) > MAX_FIELD_CHARS:
        return f"is longer than {MAX_FIELD_CHARS} characters"
    if field != field.strip(" "):
        return "has surrounding spaces (fields are separated by single tabs, without padding)"
    return "is not a plain decimal number (digits, an optional leading '-' and decimal point)"


def _parse_line(raw: bytes, where: str) -> list[float]:
    """One line's six numbers; ``raw`` has its line ending removed."""
    try:
        line = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{where}: byte 0x{raw[error.start]:02x} at column {error.start + 1} is not ASCII "
            f"(the file must be plain ASCII text, not UTF-8, Latin-1 or UTF-16): "
            f"{_excerpt(raw)}"
        ) from None
    fields = line.split("\t")
    if len(fields) != AIRFOIL_COLUMNS:
        raise DataFormatError(
            f"{where}: expected {AIRFOIL_COLUMNS} tab-separated numbers, found "
            f"{len(fields)} field(s): {_excerpt(line)}"
        )
    for column, field in enumerate(fields, start=1):
        if len(field) > MAX_FIELD_CHARS or not _NUMBER.fullmatch(field):
            raise DataFormatError(
                f"{where}: field {column} {_field_problem(field)}: {_excerpt(field)}"
            )
    return [float(field) for field in fields]


def load_airfoil(path: str | os.PathLike[str] | None = None) -> torch.Tensor:
    """Read the airfoil file as a float64 tensor of shape (1503, 6), checking every line.

    Args:
        path: the file to read; by default the copy shipped with the package
            (:data:`AIRFOIL_PATH`).

    Raises:
        DataFormatError: the file is not exactly 1503 lines of 6 plain decimal numbers
            separated by tabs (blank lines may follow them, not come between them; see
            the module's description of the format). The message
            starts with ``path:line:``.
        OSError: the file cannot be opened (e.g. ``FileNotFoundError``).
        TypeError: ``path`` is not a string or path.
    """
    path = _check_path("load_airfoil", path)
    rows: list[list[float]] = []
    blank = 0  # the first of the blank lines read since the last row, or 0
    size = 0
    with open(path, "rb") as file:
        for lineno in count(1):
            where = f"{os.fspath(path)}:{lineno}"
            raw = file.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            size += len(raw)
            if len(raw) > MAX_LINE_BYTES:
                raise DataFormatError(
                    f"{where}: line longer than {MAX_LINE_BYTES} bytes: {_excerpt(raw)}"
                )
            if size > MAX_FILE_BYTES:
                raise DataFormatError(f"{where}: the file is longer than {MAX_FILE_BYTES} bytes")
            line = _strip_line_ending(raw, where)
            if not line:  # blank: fine at the end of the file (an editor's habit), not before a row
                blank = blank or lineno
                continue
            if blank:
                raise DataFormatError(
                    f"{os.fspath(path)}:{blank}: empty line; expected {AIRFOIL_COLUMNS} "
                    "tab-separated numbers"
                )
            if len(rows) == AIRFOIL_ROWS:
                raise DataFormatError(f"{where}: more than {AIRFOIL_ROWS} lines: {_excerpt(raw)}")
            rows.append(_parse_line(line, where))
    if len(rows) != AIRFOIL_ROWS:
        where = f"{os.fspath(path)}:{len(rows) + 1}"
        raise DataFormatError(
            f"{where}: the file ends after {len(rows)} lines; expected {AIRFOIL_ROWS}"
        )
    return torch.tensor(rows, dtype=torch.float64)


def _strip_line_ending(raw: bytes, where: str) -> bytes:
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    column = raw.find(b"\r") + 1
    if column:
        raise DataFormatError(
            f"{where}: carriage return without a line feed at column {column} "
            f"(lines end in LF or CRLF): {_excerpt(raw)}"
        )
    return raw


def get_data_ch7(path: str | os.PathLike[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The chapter's training data: ``(features, labels)``, float32, shapes (1500, 5), (1500,).

    Every column is standardized with its mean and population standard deviation over
    **all 1503 rows**; then the first 1500 rows are kept. Columns 0-4 are the features,
    column 5 (the scaled sound pressure level) is the label.

    ``path`` defaults to the shipped file. Raises :class:`DataFormatError` for a malformed
    file (see :func:`load_airfoil`) or a column that cannot be standardised, naming it.
    """
    path = _check_path("get_data_ch7", path)
    data = load_airfoil(path)
    _check_standardizable(data, path)
    data = (data - data.mean(dim=0)) / data.std(dim=0, correction=0)
    data = data[:1500].to(torch.float32)
    return data[:, :-1].contiguous(), data[:, -1].contiguous()


def _check_path(where: str, path: object) -> str | os.PathLike[str]:
    """``path``, or the shipped file for ``None``; a TypeError for anything but a path."""
    if path is None:
        return AIRFOIL_PATH
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{where}: path must be a str or os.PathLike, got {typed_repr(path)}")
    return path


def _check_standardizable(data: torch.Tensor, path: str | os.PathLike[str]) -> None:
    """Every column has a finite, non-zero spread, or the division would give NaN or inf."""
    std = data.std(dim=0, correction=0)
    for column, spread in enumerate(std.tolist()):
        if not 0 < spread < float("inf"):
            name = AIRFOIL_COLUMN_NAMES[column]
            raise DataFormatError(
                f"{os.fspath(path)}: column "
                f"{column + 1} ({name}) cannot be standardised: its standard deviation "
                f"over all {AIRFOIL_ROWS} rows is {spread:g}"
            )
