import hashlib
import os
import re
import statistics
import time

import pytest
import torch

from rmsprop_lib import AIRFOIL_PATH, DataFormatError, get_data_ch7, load_airfoil

GOOD = b"800\t0\t0.3048\t71.3\t0.00266337\t126.201"
LF = GOOD + b"\n"
BAD_AT = 42  # the malformed line's number in the files built below
# A message stays short whatever the input: the path, a sentence and an excerpt.
MAX_MESSAGE = 400


def test_shipped_file_is_the_documented_copy():
    digest = hashlib.sha256(AIRFOIL_PATH.read_bytes()).hexdigest()
    assert digest == "10ee06e6cfb27dae6b44213d421d217012fb1f9b697592e73a4e4016b52d425f"


def test_load_airfoil_reads_1503_rows_of_6_float64():
    data = load_airfoil()
    assert data.shape == (1503, 6) and data.dtype == torch.float64
    torch.testing.assert_close(
        data[0],
        torch.tensor([800, 0, 0.3048, 71.3, 0.00266337, 126.201], dtype=torch.float64),
        rtol=0,
        atol=0,
    )


def test_get_data_ch7_standardizes_with_all_rows_then_keeps_1500(chapter_data):
    features, labels = chapter_data
    assert features.shape == (1500, 5) and labels.shape == (1500,)
    assert features.dtype == labels.dtype == torch.float32
    # Reference computed independently, with the statistics module and plain floats.
    rows = [[float(v) for v in line.split("\t")] for line in AIRFOIL_PATH.read_text().splitlines()]
    columns = list(zip(*rows))
    means = [statistics.fmean(c) for c in columns]
    stds = [statistics.pstdev(c) for c in columns]
    expected = torch.tensor(
        [[(v - m) / s for v, m, s in zip(row, means, stds)] for row in rows[:1500]],
        dtype=torch.float32,
    )
    torch.testing.assert_close(features, expected[:, :5])
    torch.testing.assert_close(labels, expected[:, 5])


def test_column_statistics_match_the_data_provenance():
    data = load_airfoil()
    torch.testing.assert_close(
        data.mean(0),
        torch.tensor([2886.38, 6.7823, 0.136548, 50.8607, 0.0111399, 124.836], dtype=torch.float64),
        rtol=1e-5,
        atol=0,
    )
    torch.testing.assert_close(
        data.std(0, correction=0),
        torch.tensor(
            [3151.52, 5.91616, 0.0935096, 15.5676, 0.0131459, 6.89636], dtype=torch.float64
        ),
        rtol=1e-5,
        atol=0,
    )


def _with_bad_line(bad: bytes) -> bytes:
    """1503 lines, the 42nd replaced by ``bad`` (which carries its own line ending)."""
    return LF * (BAD_AT - 1) + bad + LF * (1503 - BAD_AT)


# (id, bytes of line 42 including its ending, start of the message after "path:42: ")
BAD_LINES = [
    # the field count and the separator
    (
        "five-fields",
        b"800\t0\t0.3048\t71.3\t0.00266337\n",
        "expected 6 tab-separated numbers, found 5 field(s): '800\\t0",
    ),
    ("seven-fields", LF[:-1] + b"\t1\n", "expected 6 tab-separated numbers, found 7"),
    ("trailing-tab", LF[:-1] + b"\t\n", "expected 6 tab-separated numbers, found 7"),
    ("leading-tab", b"\t" + LF, "expected 6 tab-separated numbers, found 7"),
    (
        "double-tab",
        GOOD.replace(b"\t", b"\t\t", 1) + b"\n",
        "expected 6 tab-separated numbers, found 7",
    ),
    (
        "spaces-as-separator",
        GOOD.replace(b"\t", b" ") + b"\n",
        "expected 6 tab-separated numbers, found 1",
    ),
    ("commas", GOOD.replace(b"\t", b",") + b"\n", "expected 6 tab-separated numbers, found 1"),
    ("semicolons", GOOD.replace(b"\t", b";") + b"\n", "expected 6 tab-separated numbers, found 1"),
    ("tab-and-space", GOOD.replace(b"\t", b"\t ", 1) + b"\n", "field 2 has surrounding spaces"),
    ("empty-line", b"\n", "empty line; expected 6 tab-separated numbers"),
    ("crlf-empty-line", b"\r\n", "empty line"),
    ("spaces-only", b"   \n", "expected 6 tab-separated numbers, found 1"),
    (
        "header",
        b"frequency\tangle\tchord\tvelocity\tthickness\tspl\n",
        "field 1 is not a plain decimal number",
    ),
    ("comment", b"# airfoil data\n", "expected 6 tab-separated numbers, found 1"),
    # numbers Python's float() accepts but the format does not
    ("padded-left", b" 800" + LF[3:], "field 1 has surrounding spaces"),
    ("padded-right", b"800 " + LF[3:], "field 1 has surrounding spaces"),
    ("underscore", b"8_00" + LF[3:], "field 1 is not a plain decimal number"),
    ("plus-sign", b"+800" + LF[3:], "field 1 is not a plain decimal number"),
    ("exponent", b"8e2" + LF[3:], "field 1 is not a plain decimal number"),
    ("exponent-capital", b"8E2" + LF[3:], "field 1 is not a plain decimal number"),
    ("overflow-1e300", b"1e300" + LF[3:], "field 1 is not a plain decimal number"),
    ("overflow-minus-1e300", b"-1e300" + LF[3:], "field 1 is not a plain decimal number"),
    ("overflow-1e400", b"1e400" + LF[3:], "field 1 is not a plain decimal number"),
    ("inf", LF.replace(b"71.3", b"inf"), "field 4 is not a plain decimal number"),
    ("minus-inf", LF.replace(b"71.3", b"-inf"), "field 4 is not a plain decimal number"),
    ("infinity", LF.replace(b"71.3", b"Infinity"), "field 4 is not a plain decimal number"),
    ("nan", LF.replace(b"71.3", b"nan"), "field 4 is not a plain decimal number"),
    ("NaN", LF.replace(b"71.3", b"NaN"), "field 4 is not a plain decimal number"),
    ("hex", b"0x320" + LF[3:], "field 1 is not a plain decimal number"),
    ("leading-dot", LF.replace(b"0.3048", b".3048"), "field 3 is not a plain decimal number"),
    ("trailing-dot", b"800." + LF[3:], "field 1 is not a plain decimal number"),
    ("two-dots", LF.replace(b"0.3048", b"0.30.48"), "field 3 is not a plain decimal number"),
    ("double-minus", b"--800" + LF[3:], "field 1 is not a plain decimal number"),
    ("lone-minus", b"-" + LF[3:], "field 1 is not a plain decimal number"),
    ("lone-dot", b"." + LF[3:], "field 1 is not a plain decimal number"),
    ("inner-minus", b"8-00" + LF[3:], "field 1 is not a plain decimal number"),
    ("decimal-comma", LF.replace(b"0.3048", b"0,3048"), "field 3 is not a plain decimal number"),
    ("thousands-space", b"8 000" + LF[3:], "field 1 is not a plain decimal number"),
    ("empty-field", LF.replace(b"\t0\t", b"\t\t"), "field 2 is empty"),
    (
        "word",
        LF.replace(b"126.201", b"loud"),
        "field 6 is not a plain decimal number (digits, "
        "an optional leading '-' and decimal point): 'loud'",
    ),
    ("field-too-long", b"1" + b"0" * 24 + LF[3:], "field 1 is longer than 24 characters"),
    ("nul-byte", b"8\x0000" + LF[3:], "field 1 is not a plain decimal number"),
    ("form-feed", b"800\x0c" + LF[3:], "field 1 is not a plain decimal number"),
    ("vertical-tab", b"800\x0b" + LF[3:], "field 1 is not a plain decimal number"),
    ("escape", b"\x1b[0m800" + LF[3:], "field 1 is not a plain decimal number"),
    # line endings
    (
        "lone-cr-inside",
        GOOD.replace(b"\t", b"\r", 1) + b"\n",
        "carriage return without a line feed",
    ),
    ("cr-cr-lf", GOOD + b"\r\r\n", "carriage return without a line feed at column 37"),
    ("lf-cr", GOOD + b"\n\r", None),  # the CR starts line 43: checked below
    # text that is not ASCII
    ("fullwidth-digits", "８００".encode() + LF[3:], "byte 0xef at column 1 is not ASCII"),
    ("arabic-indic-digits", "٨٠٠".encode() + LF[3:], "byte 0xd9 at column 1 is not ASCII"),
    ("devanagari-digits", "८००".encode() + LF[3:], "byte 0xe0 at column 1 is not ASCII"),
    ("superscript", LF.replace(b"800", "8²".encode()), "byte 0xc2 at column 2 is not ASCII"),
    ("unicode-minus", "−800".encode() + LF[3:], "byte 0xe2 at column 1 is not ASCII"),
    ("nbsp-padding", "\u00a0800".encode() + LF[3:], "byte 0xc2 at column 1 is not ASCII"),
    (
        "latin-1-degree",
        LF.replace(b"\t0\t", "\t0°\t".encode("latin-1")),
        "byte 0xb0 at column 6 is not ASCII",
    ),
    ("utf-8-degree", LF.replace(b"\t0\t", "\t0°\t".encode()), "byte 0xc2 at column 6 is not ASCII"),
    ("utf-16-line", GOOD.decode().encode("utf-16-le") + b"\n", "field 1 is not a plain decimal"),
    ("random-bytes", bytes(range(128, 256)) + b"\n", "byte 0x80 at column 1 is not ASCII"),
    # size
    ("long-line", b"1" * 200 + b"\n", "line longer than 151 bytes"),
    ("50-MB-line", b"8" * 50_000_000 + b"\n", "line longer than 151 bytes"),
]


@pytest.mark.parametrize(
    "bad, message",
    [case[1:] for case in BAD_LINES if case[2]],
    ids=[case[0] for case in BAD_LINES if case[2]],
)
def test_load_airfoil_rejects_a_malformed_line_naming_file_and_line(tmp_path, bad, message):
    path = tmp_path / "airfoil.dat"
    path.write_bytes(_with_bad_line(bad))
    with pytest.raises(DataFormatError) as error:
        load_airfoil(path)
    text = str(error.value)
    assert text.startswith(f"{path}:{BAD_AT}: {message}"), text[:500]
    assert len(text) < len(str(path)) + MAX_MESSAGE


def test_load_airfoil_rejects_a_lf_cr_ending_on_the_next_line(tmp_path):
    path = tmp_path / "airfoil.dat"
    path.write_bytes(_with_bad_line(GOOD + b"\n\r"))
    with pytest.raises(
        DataFormatError,
        match=rf"^{re.escape(str(path))}:{BAD_AT + 1}: carriage "
        r"return without a line feed at column 1",
    ):
        load_airfoil(path)


# (id, whole file, line named, start of the message)
BAD_FILES = [
    ("empty", b"", 1, "the file ends after 0 lines; expected 1503"),
    ("one-newline", b"\n", 1, "the file ends after 0 lines; expected 1503"),
    ("blank-line-first", b"\n" + LF * 1503, 1, "empty line; expected 6 tab-separated numbers"),
    ("blank-line-inside", LF * 700 + b"\n" + LF * 803, 701, "empty line; expected 6"),
    ("blank-lines-inside", LF * 700 + b"\n\r\n\n" + LF * 803, 701, "empty line; expected 6"),
    ("blank-line-before-text", LF * 1503 + b"\nend", 1504, "empty line; expected 6"),
    ("1502-lines-and-a-blank", LF * 1502 + b"\n", 1503, "the file ends after 1502 lines"),
    # Blank lines without end: the file's bound (1503 lines of 151 bytes) stops the reading.
    (
        "endless-blank-lines",
        LF * 1503 + b"\n" * 300_000,
        1503 + (1503 * 151 - 1503 * len(LF)) + 1,
        "the file is longer than 226953 bytes",
    ),
    ("1502-lines", LF * 1502, 1503, "the file ends after 1502 lines; expected 1503"),
    ("1504-lines", LF * 1504, 1504, "more than 1503 lines"),
    ("trailing-text", LF * 1503 + b"end", 1504, "more than 1503 lines: b'end'"),
    ("old-mac-cr-endings", (GOOD + b"\r") * 1503, 1, "line longer than 151 bytes"),
    ("utf-8-bom", b"\xef\xbb\xbf" + LF * 1503, 1, "byte 0xef at column 1 is not ASCII"),
    ("utf-16", (LF * 1503).decode().encode("utf-16"), 1, "byte 0xff at column 1 is not ASCII"),
    ("utf-16-be", (LF * 1503).decode().encode("utf-16-be"), 1, "field 1 is not a plain decimal"),
    ("utf-32", (LF * 1503).decode().encode("utf-32"), 1, "byte 0xff at column 1 is not ASCII"),
    (
        "random-bytes",
        bytes(
            torch.randint(
                0, 256, (100_000,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
            ).tolist()
        ),
        1,
        "line longer than 151 bytes",
    ),
    ("gzip", b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, 1, "byte 0x8b at column 2 is not ASCII"),
    ("all-nul", b"\x00" * 10_000, 1, "line longer than 151 bytes"),
]


@pytest.mark.parametrize(
    "content, line, message", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_load_airfoil_rejects_a_malformed_file(tmp_path, content, line, message):
    path = tmp_path / "airfoil.dat"
    path.write_bytes(content)
    with pytest.raises(DataFormatError) as error:
        load_airfoil(path)
    text = str(error.value)
    assert text.startswith(f"{path}:{line}: {message}"), text[:500]
    assert len(text) < len(str(path)) + MAX_MESSAGE


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero (a POSIX system)")
def test_load_airfoil_stops_early_on_an_endless_file():
    start = time.process_time()
    with pytest.raises(
        DataFormatError,
        match=r"^/dev/zero:1: line longer than 151 bytes: "
        r"b'\\x00.*\.\.\. \(152 characters\)$",
    ):
        load_airfoil("/dev/zero")
    # Not a timing assertion on the machine's speed: reading /dev/zero whole would never end.
    assert time.process_time() - start < 60


GOOD_VARIANTS = [
    ("crlf", LF.replace(b"\n", b"\r\n") * 1503),
    ("mixed-lf-and-crlf", (LF + LF.replace(b"\n", b"\r\n")) * 751 + LF),
    ("no-final-newline", LF * 1502 + GOOD),
    ("a-blank-line-at-end", LF * 1503 + b"\n"),
    ("blank-lines-at-end", LF * 1503 + b"\n\r\n\n"),
    ("negative-numbers", LF.replace(b"\t0\t", b"\t-0\t") * 1503),
    ("leading-zeros", LF.replace(b"800", b"0800") * 1503),
    ("longest-field", LF.replace(b"0.00266337", b"0.0026633700000000000000") * 1503),
]


@pytest.mark.parametrize(
    "content", [case[1] for case in GOOD_VARIANTS], ids=[case[0] for case in GOOD_VARIANTS]
)
def test_load_airfoil_accepts_the_published_format_variants(tmp_path, content):
    path = tmp_path / "airfoil.dat"
    path.write_bytes(content)
    data = load_airfoil(path)
    expected = [float(v) for v in content.splitlines()[0].decode().split("\t")]
    assert data.shape == (1503, 6)
    assert data[0].tolist() == expected and data[-1].tolist() == expected


def test_load_airfoil_accepts_crlf_endings_of_other_editions(tmp_path):
    path = tmp_path / "crlf.dat"
    path.write_bytes(AIRFOIL_PATH.read_bytes().replace(b"\n", b"\r\n"))
    assert torch.equal(load_airfoil(path), load_airfoil())


@pytest.mark.parametrize("column", range(6))
def test_get_data_ch7_refuses_a_constant_column_naming_it(tmp_path, column):
    names = [
        "frequency",
        "angle of attack",
        "chord length",
        "free-stream velocity",
        "suction-side displacement thickness",
        "scaled sound pressure level",
    ]
    rows = [line.split(b"\t") for line in AIRFOIL_PATH.read_bytes().splitlines()]
    for row in rows:
        row[column] = b"7"
    path = tmp_path / "constant.dat"
    path.write_bytes(b"".join(b"\t".join(row) + b"\n" for row in rows))
    load_airfoil(path)  # the format is fine; the recipe is not
    with pytest.raises(
        DataFormatError,
        match=rf"^{re.escape(str(path))}: column {column + 1} "
        rf"\({names[column]} .*\) cannot be standardised: "
        r"its standard deviation over all 1503 rows is 0$",
    ):
        get_data_ch7(path)


def test_get_data_ch7_passes_the_loaders_error_on(tmp_path):
    path = tmp_path / "short.dat"
    path.write_bytes(LF * 3)
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(path))}:4: the file ends after 3"):
        get_data_ch7(path)


@pytest.mark.parametrize("function", [load_airfoil, get_data_ch7])
@pytest.mark.parametrize("path, shown", [(3, "int 3"), (b"airfoil.dat", "bytes b'airfoil.dat'")])
def test_data_functions_reject_a_path_that_is_not_a_path(function, path, shown):
    with pytest.raises(
        TypeError,
        match=rf"^{function.__name__}: path must be a str or "
        rf"os.PathLike, got {re.escape(shown)}$",
    ):
        function(path)


def test_the_default_path_is_the_shipped_file_without_showing_it_in_the_signature():
    # The API page renders signatures; an absolute default path would leak the build machine's.
    import inspect

    for function in (load_airfoil, get_data_ch7):
        assert inspect.signature(function).parameters["path"].default is None
    assert torch.equal(load_airfoil(None), load_airfoil(AIRFOIL_PATH))


def test_a_column_whose_spread_overflows_is_refused_naming_it():
    # The format's 24-character bound keeps values below 1e24, so the loader cannot produce
    # this; the check guards the recipe itself against an infinite standard deviation.
    from rmsprop_lib.data import _check_standardizable

    data = load_airfoil().clone()
    data[:, 4] = data[:, 4] * 1e300
    with pytest.raises(
        DataFormatError,
        match=r"^somewhere\.dat: column 5 \(suction-side "
        r"displacement thickness \(m\)\) cannot be "
        r"standardised: .* is inf$",
    ):
        _check_standardizable(data, "somewhere.dat")
