"""The ``sketchkit`` command line: chunked projection of files, demo, error handling."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import sketchkit as sk
from sketchkit import _native
from sketchkit.cli import main

METHODS = list(_native.FAMILIES)


def make(method, k, d, seed=0, **kwargs):
    return getattr(sk, method)(k, d, seed=seed, **kwargs)


@pytest.fixture
def dense_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((203, 64)).astype(np.float32)
    path = tmp_path / "X.npy"
    np.save(path, X)
    return path, X


@pytest.fixture
def sparse_file(tmp_path):
    X = sp.random(157, 90, density=0.1, format="csr", random_state=1, dtype=np.float64)
    path = tmp_path / "X.npz"
    sp.save_npz(path, X)
    return path, X


# --------------------------------------------------------------------------- dense
@pytest.mark.parametrize("method", METHODS)
def test_project_npy_chunked_is_bit_identical(dense_file, tmp_path, method):
    path, X = dense_file
    out = tmp_path / "Y.npy"
    argv = [
        "project", str(path), str(out), "--method", method, "-k", "16",
        "--seed", "5", "--chunk-rows", "37", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    Y = np.load(out)
    assert Y.dtype == np.float32  # the input dtype is kept
    assert Y.shape == (203, 16)
    assert_array_equal(Y, make(method, 16, 64, seed=5).project(X))


def test_project_npy_options(dense_file, tmp_path):
    path, X = dense_file
    out = tmp_path / "Y.npy"
    argv = ["project", str(path), str(out), "-k", "12", "--nnz", "3", "--dtype", "float64"]
    assert main([*argv, "--no-progress"]) == 0
    Y = np.load(out)
    assert Y.dtype == np.float64
    assert_array_equal(Y, sk.sparse_sign(12, 64, nnz=3, seed=0).project(X.astype(np.float64)))

    argv = ["project", str(path), str(out), "--method", "very_sparse", "-k", "10"]
    assert main([*argv, "--density", "0.25", "--no-progress"]) == 0
    expected = sk.very_sparse(10, 64, density=0.25).project(X)
    assert_array_equal(np.load(out), expected)


def test_project_default_chunking_and_integer_input(tmp_path):
    X = np.arange(30 * 8, dtype=np.int16).reshape(30, 8)
    path, out = tmp_path / "X.npy", tmp_path / "Y.npy"
    np.save(path, X)
    assert main(["project", str(path), str(out), "-k", "8", "--no-progress"]) == 0
    Y = np.load(out)
    assert Y.dtype == np.float64
    assert_array_equal(Y, sk.sparse_sign(8, 8).project(X.astype(np.float64)))


def test_project_big_endian_and_fortran_input(tmp_path):
    X = np.asfortranarray(np.random.default_rng(3).standard_normal((50, 20))).astype(">f8")
    path, out = tmp_path / "X.npy", tmp_path / "Y.npy"
    np.save(path, X)
    argv = ["project", str(path), str(out), "-k", "9", "--chunk-rows", "8", "--no-progress"]
    assert main(argv) == 0
    Y = np.load(out)
    assert Y.dtype == np.float64
    expected = sk.sparse_sign(9, 20).project(np.ascontiguousarray(X, dtype=np.float64))
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- sparse
@pytest.mark.parametrize("method", ["sparse_sign", "gaussian", "countsketch"])
def test_project_npz_to_dense(sparse_file, tmp_path, method):
    path, X = sparse_file
    out = tmp_path / "Y.npy"
    argv = ["project", str(path), str(out), "--method", method, "-k", "12"]
    assert main([*argv, "--chunk-rows", "40", "--no-progress"]) == 0
    Y = np.load(out)
    S = make(method, 12, 90)
    assert_array_equal(Y, S.project(X))
    if method != "gaussian":  # sparse families: CSR input gives the dense-input bits
        assert_array_equal(Y, S.project(X.toarray()))


@pytest.mark.parametrize("chunk", ["40", "1000"])
def test_project_npz_to_npz(sparse_file, tmp_path, chunk):
    path, X = sparse_file
    out = tmp_path / "Y.npz"
    argv = ["project", str(path), str(out), "-k", "12", "--chunk-rows", chunk, "--no-progress"]
    assert main(argv) == 0
    Y = sp.load_npz(out)
    assert Y.format == "csr" and Y.shape == (157, 12)
    expected = sk.sparse_sign(12, 90).project(X, dense_output=False)
    assert_array_equal(Y.toarray(), expected.toarray())
    assert Y.nnz == expected.nnz


def test_project_npz_csc_float32(tmp_path):
    X = sp.random(40, 30, density=0.2, format="csc", random_state=2, dtype=np.float32)
    path, out = tmp_path / "X.npz", tmp_path / "Y.npy"
    sp.save_npz(path, X)
    assert main(["project", str(path), str(out), "-k", "10", "--no-progress"]) == 0
    Y = np.load(out)
    assert Y.dtype == np.float32
    assert_array_equal(Y, sk.sparse_sign(10, 30).project(X.tocsr()))


# --------------------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _hide_tqdm(monkeypatch):
    """Make ``import tqdm`` fail, as when the ``cli`` extra is not installed."""
    for name in ("tqdm", "tqdm.auto", "tqdm.autonotebook", "tqdm.std"):
        monkeypatch.setitem(sys.modules, name, None)


def test_progress_bar_is_tqdm_on_a_terminal(dense_file, tmp_path, monkeypatch):
    pytest.importorskip("tqdm")
    path, _ = dense_file
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["project", str(path), str(tmp_path / "Y.npy"), "-k", "4", "--chunk-rows", "50"]
    assert main(argv) == 0
    text = terminal.getvalue()
    assert "100%" in text and "203/203" in text and "rows/s" in text
    assert text.endswith("\n")  # the bar's line is finished


def test_no_progress_flag_silences_the_terminal(dense_file, tmp_path, monkeypatch):
    path, _ = dense_file
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["project", str(path), str(tmp_path / "Y.npy"), "-k", "4", "--no-progress"]
    assert main(argv) == 0
    assert terminal.getvalue() == ""


def test_without_tqdm_no_bar_and_no_error(dense_file, tmp_path, monkeypatch):
    path, X = dense_file
    _hide_tqdm(monkeypatch)
    from sketchkit._progress import tqdm_available

    assert not tqdm_available()
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "Y.npy"
    assert main(["project", str(path), str(out), "-k", "4"]) == 0
    assert terminal.getvalue() == ""
    assert_array_equal(np.load(out), sk.sparse_sign(4, 64, nnz=4).project(X))


def test_piped_stderr_gets_no_bar_and_no_carriage_return(dense_file, tmp_path):
    # A real process whose stderr is a pipe: tqdm must stay silent (disable=None).
    path, _ = dense_file
    cmd = [sys.executable, "-m", "sketchkit", "project", str(path), str(tmp_path / "Y.npy")]
    proc = subprocess.run([*cmd, "-k", "4", "--chunk-rows", "10"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b"" and b"\r" not in proc.stdout


def test_no_progress_output_when_not_a_tty(dense_file, tmp_path, capsys):
    path, _ = dense_file
    assert main(["project", str(path), str(tmp_path / "Y.npy"), "-k", "4"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# --------------------------------------------------------------------------- demo
def test_demo_quick(capsys):
    assert main(["demo", "--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("sparse_sign", "very_sparse", "gaussian"):
        assert name in out
    assert "max |dist-1|" in out
    assert "scikit-learn SparseRandomProjection" in out
    assert "faster" in out or "slower" in out


def test_demo_device_choices(capsys):
    assert main(["demo", "--quick", "--device", "cpu"]) == 0
    assert "GPU" not in capsys.readouterr().out
    assert main(["demo", "--quick", "--device", "auto"]) == 0
    out = capsys.readouterr().out
    if not sk.gpu_available():
        assert "GPU: no adapter found" in out
        assert main(["demo", "--quick", "--device", "gpu"]) == 2
        assert "--device gpu: no GPU adapter found" in capsys.readouterr().err
        return
    line = next(x for x in out.splitlines() if x.startswith("GPU "))
    if sk.gpu_info()["device_type"] == "cpu":
        # a software adapter is checked for identity, not timed, unless asked
        assert "not timed" in line and "bit-identical" in line
        assert main(["demo", "--quick", "--device", "gpu"]) == 0
        out = capsys.readouterr().out
        assert "s with transfers" in out and "not a GPU timing" in out
    else:
        assert "s with transfers" in line and "bit-identical" in line


def test_demo_writes_nothing_to_stderr():
    """The README's first command prints no error lines: no progress noise, and no
    display probing by Vulkan layers (XDG_RUNTIME_DIR unset, as on a server)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "NODEVICE_SELECT")}
    proc = subprocess.run(
        [sys.executable, "-m", "sketchkit", "demo", "--quick"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "sparse_sign" in proc.stdout


def test_demo_small_custom_sizes(capsys):
    assert main(["demo", "--n", "300", "--d", "128", "--k", "32"]) == 0
    out = capsys.readouterr().out
    assert "n=300 rows, d=128 features, k=32 components" in out


# --------------------------------------------------------------------------- errors
def run_error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


def test_missing_input_file(tmp_path, capsys):
    argv = ["project", str(tmp_path / "nope.npy"), str(tmp_path / "Y.npy"), "-k", "3"]
    code, err = run_error(argv, capsys)
    assert code == 2
    assert "does not exist" in err and "nope.npy" in err
    assert not (tmp_path / "Y.npy").exists()


def test_bad_extensions(dense_file, tmp_path, capsys):
    path, _ = dense_file
    code, err = run_error(["project", str(path), str(tmp_path / "Y.csv"), "-k", "3"], capsys)
    assert code == 2 and "output file must end in .npy or .npz" in err
    txt = tmp_path / "X.txt"
    txt.write_text("1 2 3")
    code, err = run_error(["project", str(txt), str(tmp_path / "Y.npy"), "-k", "3"], capsys)
    assert code == 2 and "input file must end in .npy or .npz" in err
    code, err = run_error(["project", str(path), str(tmp_path / "Y.npz"), "-k", "3"], capsys)
    assert code == 2 and "sparse .npz output requires sparse .npz input" in err
    code, err = run_error(["project", str(path), str(path), "-k", "3"], capsys)
    assert code == 2 and "must differ" in err


@pytest.mark.parametrize("k", ["0", "-3", "two"])
def test_bad_k_is_a_usage_error(dense_file, tmp_path, k, capsys):
    path, _ = dense_file
    with pytest.raises(SystemExit) as info:
        main(["project", str(path), str(tmp_path / "Y.npy"), "-k", k])
    assert info.value.code == 2
    assert "-k" in capsys.readouterr().err


def test_invalid_parameters_exit_2(dense_file, tmp_path, capsys):
    path, _ = dense_file
    out = tmp_path / "Y.npy"
    code, err = run_error(["project", str(path), str(out), "-k", "4", "--nnz", "8"], capsys)
    assert code == 2 and "nnz: must be in [1, k=4], got 8" in err
    assert not out.exists()
    argv = ["project", str(path), str(out), "-k", "4", "--method", "very_sparse"]
    code, err = run_error([*argv, "--density", "1.5"], capsys)
    assert code == 2 and "density: must be in (0, 1]" in err
    with pytest.raises(SystemExit) as info:
        main([*argv, "--density", "lots"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["project", str(path), str(out), "-k", "4", "--seed", "-1"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["project", str(path), str(out), "-k", "4", "--method", "fft"])
    assert info.value.code == 2


def test_bad_input_contents_exit_2(tmp_path, capsys):
    out = tmp_path / "Y.npy"
    cases = {
        "nan.npy": np.array([[1.0, np.nan], [0.0, 1.0]]),
        "one_d.npy": np.ones(5),
        "complex.npy": np.ones((3, 3), dtype=complex),
        "empty.npy": np.ones((0, 4)),
    }
    messages = {
        "nan.npy": "NaN or infinity",
        "one_d.npy": "must be 2-D",
        "complex.npy": "unsupported dtype",
        "empty.npy": "empty",
    }
    for name, array in cases.items():
        np.save(tmp_path / name, array)
        code, err = run_error(["project", str(tmp_path / name), str(out), "-k", "2"], capsys)
        assert code == 2, name
        assert messages[name] in err, (name, err)
        assert not out.exists(), name  # a partial output file is removed
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not an array")
    code, err = run_error(["project", str(garbage), str(out), "-k", "2"], capsys)
    assert code == 2 and "cannot read" in err
    garbage_npz = tmp_path / "garbage.npz"
    garbage_npz.write_bytes(b"not a zip")
    code, err = run_error(["project", str(garbage_npz), str(out), "-k", "2"], capsys)
    assert code == 2 and "cannot read" in err


def test_console_entry_point_exit_codes(dense_file, tmp_path):
    path, X = dense_file
    out = tmp_path / "Y.npy"
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "sketchkit", "project", str(path), str(out), "-k", "5"]
    ok = subprocess.run([*cmd, "--no-progress"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert_array_equal(np.load(out), sk.sparse_sign(5, 64, nnz=5).project(X))
    missing = str(tmp_path / "missing.npy")
    bad = subprocess.run(
        [sys.executable, "-m", "sketchkit", "project", missing, str(out), "-k", "5"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "sketchkit project: error:" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "sketchkit"], capture_output=True, text=True)
    assert usage.returncode == 2
