"""``sketchkit select`` on .csv and .npy files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from sketchkit.cli import main


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(400, n_features=5, centers=6, random_state=0)
    return X, y % 3


def _write_csv(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "label", "c", "d", "e"])
        for row, lab in zip(X, y, strict=True):
            w.writerow([*row[:2], f"class-{lab}", *row[2:]])


def test_csv_keeps_original_lines(tmp_path: Path, data, capsys) -> None:
    X, y = data
    src, out, idx = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "idx.npy"
    _write_csv(src, X, y)
    argv = [str(src), "-o", str(out), "--label", "label", "--reduction", "0.9"]
    assert main(["select", *argv, "--indices-out", str(idx), "--no-progress"]) == 0
    kept = np.load(idx)
    lines = src.read_text().splitlines()
    assert out.read_text().splitlines() == [lines[0]] + [lines[i + 1] for i in kept]
    assert abs(len(kept) - 40) <= 3
    report = capsys.readouterr().out
    assert "kept" in report
    # The report's distribution-shift line is the score of the kept rows.
    from sketchkit.distances import distribution_shift

    want = distribution_shift(X, kept, n_projections=50, seed=0)
    assert f"in standard deviations): {want.distance:.4f} ± {want.std_error:.4f}" in report


def test_npy_label_column(tmp_path: Path, data) -> None:
    X, y = data
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, np.column_stack([X, y]))
    assert main(["select", str(src), "-o", str(out), "--label", "5", "--no-progress"]) == 0
    res = np.load(out)
    assert res.shape[1] == 6 and set(np.unique(res[:, 5])) == {0.0, 1.0, 2.0}
    # every output row is an input row
    full = {tuple(r) for r in np.column_stack([X, y])}
    assert all(tuple(r) in full for r in res)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "nope"], "not in the header"),
        (["--label", "label", "--reduction", "1.5"], "reduction"),
        (["--label", "label", "--method", "random"], "reduction"),
        (["--label", "label", "--method", "cnn", "--reduction", "0.9"], "chooses its own"),
    ],
)
def test_errors_exit_2(tmp_path: Path, data, capsys, extra: list[str], message: str) -> None:
    X, y = data
    src = tmp_path / "in.csv"
    _write_csv(src, X, y)
    assert main(["select", str(src), "-o", str(tmp_path / "o.csv"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_non_numeric_feature(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("x,label\n1.0,a\nfoo,b\n")
    assert main(["select", str(src), "-o", str(tmp_path / "o.csv"), "--label", "label"]) == 2


# --------------------------------------------------------------------------- CSV reading
def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [row for row in csv.reader(f) if row]


def test_csv_quoted_fields_with_newlines_and_commas(tmp_path: Path, data) -> None:
    X, y = data
    src, out, idx = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "idx.npy"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "label", "c", "d", "e"])
        for row, lab in zip(X, y, strict=True):
            w.writerow([*row[:2], f"class {lab},\nline two", *row[2:]])
    argv = [str(src), "-o", str(out), "--label", "label", "--reduction", "0.9"]
    assert main(["select", *argv, "--indices-out", str(idx), "--no-progress"]) == 0
    kept = np.load(idx)
    assert kept.max() < len(X)  # one record per row of data, not per text line
    rows = _rows(src)
    assert _rows(out) == [rows[0]] + [rows[i + 1] for i in kept]
    assert {r[2] for r in _rows(out)[1:]} == {f"class {c},\nline two" for c in range(3)}


def test_csv_error_names_the_physical_line(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    # the bad value is on line 10 of the file: after blank lines and a two-line record
    src.write_text('x,label\n\n1.0,a\n\n\n2.0,"b\nb"\n3.0,a\n\nfoo,b\n')
    assert main(["select", str(src), "-o", str(tmp_path / "o.csv"), "--label", "label"]) == 2
    err = capsys.readouterr().err
    assert "line 10, column 'x': 'foo' is not a number" in err
    src.write_text('x,label\n\n1.0,a\n\n2.0,"b\nb",extra\n')
    assert main(["select", str(src), "-o", str(tmp_path / "o.csv"), "--label", "label"]) == 2
    assert "line 5 has 3 fields, the header 2" in capsys.readouterr().err
    src.write_text('x,label\n1.0,a\n2.0,"b\n')
    assert main(["select", str(src), "-o", str(tmp_path / "o.csv"), "--label", "label"]) == 2
    assert "line 3: malformed CSV" in capsys.readouterr().err


def test_csv_blank_lines_are_skipped_and_output_keeps_records(tmp_path: Path, data) -> None:
    X, y = data
    src, out, idx = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "idx.npy"
    _write_csv(src, X, y)
    text = src.read_text().splitlines()
    src.write_text("\n" + "\n\n".join(text) + "\n\n")  # blank lines everywhere
    argv = [str(src), "-o", str(out), "--label", "label", "--reduction", "0.9"]
    assert main(["select", *argv, "--indices-out", str(idx), "--no-progress"]) == 0
    kept = np.load(idx)
    assert out.read_text().splitlines() == [text[0]] + [text[i + 1] for i in kept]


def test_csv_byte_order_mark_does_not_hide_the_label(tmp_path: Path, data) -> None:
    X, y = data
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    with open(src, "w", newline="", encoding="utf-8-sig") as f:  # BOM before "label"
        w = csv.writer(f)
        w.writerow(["label", "a", "b", "c", "d", "e"])
        for row, lab in zip(X, y, strict=True):
            w.writerow([f"class-{lab}", *row])
    assert src.read_bytes().startswith(b"\xef\xbb\xbflabel,")
    argv = ["select", str(src), "-o", str(out), "--label", "label", "--reduction", "0.5"]
    assert main([*argv, "--no-progress"]) == 0
    assert out.read_text().splitlines()[0] == "label,a,b,c,d,e"


def test_plot_writes_a_png_of_the_selection(tmp_path: Path, data) -> None:
    pytest.importorskip("matplotlib")
    X, y = data
    src, out, png = tmp_path / "in.npy", tmp_path / "out.npy", tmp_path / "sel.png"
    np.save(src, np.column_stack([X, y]))
    argv = ["select", str(src), "-o", str(out), "--label", "5", "--reduction", "0.9"]
    assert main([*argv, "--plot", str(png), "--no-progress"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A plot that cannot be written leaves no output either (all or nothing).
    out.unlink()
    bad = tmp_path / "sel.unknown-format"
    assert main([*argv, "--plot", str(bad), "--no-progress"]) == 2
    assert not out.exists() and not bad.exists()
