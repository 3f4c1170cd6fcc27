import hashlib
import re
import statistics

import pytest
import torch

from rmsprop_lib import AIRFOIL_PATH, DataFormatError, get_data_ch7, load_airfoil

GOOD_LINE = "800\t0\t0.3048\t71.3\t0.00266337\t126.201\n"


def test_shipped_file_is_the_documented_copy():
    digest = hashlib.sha256(AIRFOIL_PATH.read_bytes()).hexdigest()
    assert digest == "10ee06e6cfb27dae6b44213d421d217012fb1f9b697592e73a4e4016b52d425f"


def test_load_airfoil_reads_1503_rows_of_6_float64():
    data = load_airfoil()
    assert data.shape == (1503, 6) and data.dtype == torch.float64
    torch.testing.assert_close(data[0], torch.tensor([800, 0, 0.3048, 71.3, 0.00266337, 126.201],
                                                     dtype=torch.float64))


def test_get_data_ch7_standardizes_with_all_rows_then_keeps_1500(chapter_data):
    features, labels = chapter_data
    assert features.shape == (1500, 5) and labels.shape == (1500,)
    assert features.dtype == labels.dtype == torch.float32
    # Reference computed independently, with the statistics module and plain floats.
    rows = [[float(v) for v in line.split("\t")] for line in AIRFOIL_PATH.read_text().splitlines()]
    columns = list(zip(*rows))
    means = [statistics.fmean(c) for c in columns]
    stds = [statistics.pstdev(c) for c in columns]
    expected = torch.tensor([[(v - m) / s for v, m, s in zip(row, means, stds)] for row in rows[:1500]],
                            dtype=torch.float32)
    torch.testing.assert_close(features, expected[:, :5])
    torch.testing.assert_close(labels, expected[:, 5])


def test_column_statistics_match_the_data_provenance():
    data = load_airfoil()
    torch.testing.assert_close(
        data.mean(0), torch.tensor([2886.38, 6.7823, 0.136548, 50.8607, 0.0111399, 124.836],
                                   dtype=torch.float64), rtol=1e-5, atol=0)
    torch.testing.assert_close(
        data.std(0, correction=0),
        torch.tensor([3151.52, 5.91616, 0.0935096, 15.5676, 0.0131459, 6.89636], dtype=torch.float64),
        rtol=1e-5, atol=0)


def _write(tmp_path, text):
    path = tmp_path / "airfoil.dat"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("800\t0\t0.3048\t71.3\t0.00266337\n", r"expected 6 tab-separated numbers, found 5 field"),
        ("800\t0\t0.3048\t71.3\t0.00266337\tloud\n", r"not a number in '800"),
        ("800\t0\t0.3048\tnan\t0.00266337\t126.2\n", r"non-finite value"),
        ("800 0 0.3048 71.3 0.00266337 126.201\n", r"expected 6 tab-separated numbers, found 1 field"),
    ],
)
def test_load_airfoil_names_file_and_line_of_a_bad_row(tmp_path, bad_line, message):
    path = _write(tmp_path, GOOD_LINE * 41 + bad_line + GOOD_LINE * 1461)
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(path))}:42: {message}"):
        load_airfoil(path)


@pytest.mark.parametrize("rows", [1502, 1504, 0])
def test_load_airfoil_rejects_a_wrong_row_count(tmp_path, rows):
    path = _write(tmp_path, GOOD_LINE * rows)
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(path))}: expected 1503 rows, found {rows}$"):
        load_airfoil(path)


def test_get_data_ch7_propagates_the_clear_error(tmp_path):
    path = _write(tmp_path, GOOD_LINE * 3)
    with pytest.raises(DataFormatError, match="expected 1503 rows, found 3"):
        get_data_ch7(path)


def test_load_airfoil_accepts_crlf_endings_of_other_editions(tmp_path):
    path = tmp_path / "crlf.dat"
    path.write_bytes(AIRFOIL_PATH.read_bytes().replace(b"\n", b"\r\n"))
    torch.testing.assert_close(load_airfoil(path), load_airfoil())


def test_load_airfoil_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_airfoil(tmp_path / "nope.dat")
