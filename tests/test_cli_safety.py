"""The command line never loses data and reports every error as one line.

* An output that is an input file (a symbolic link, a hard link, another spelling of
  the path) is refused, by ``project`` and by ``select``.
* Outputs are all or nothing: an error in a later chunk or an interrupt leaves a
  pre-existing output byte-for-byte untouched and no new or temporary file behind.
* Output path problems, bad ``demo`` sizes and seeds: exit status 2 and exactly one
  ``error:`` line on standard error, never a traceback.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import sketchkit as sk
from sketchkit import cli
from sketchkit.cli import main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def one_error_line(err: str, command: str) -> str:
    """The single line of ``err``, checked to be ``sketchkit COMMAND: error: ...``."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sketchkit {command}: error: "), err
    return lines[0]


@pytest.fixture
def dense_input(tmp_path: Path) -> tuple[Path, np.ndarray]:
    X = np.random.default_rng(0).standard_normal((250, 16))
    path = tmp_path / "X.npy"
    np.save(path, X)
    return path, X


def link(kind: str, target: Path, name: Path) -> Path:
    if kind == "symlink":
        name.symlink_to(target)
    elif kind == "hardlink":
        os.link(target, name)
    else:  # the same file through another spelling of the path
        name = target.parent / "." / ".." / target.parent.name / target.name
    return name


LINKS = ["symlink", "hardlink", "respelled"]


# --------------------------------------------------------------------------- same file
@pytest.mark.parametrize("kind", LINKS)
def test_project_refuses_an_output_that_is_the_input(dense_input, tmp_path, kind, capsys):
    path, _ = dense_input
    before = digest(path)
    out = link(kind, path, tmp_path / "Y.npy")
    assert main(["project", str(path), str(out), "-k", "4", "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err, "project")
    assert "same file as the input" in line
    assert digest(path) == before
    assert listing(tmp_path) == (["X.npy"] if kind == "respelled" else ["X.npy", "Y.npy"])


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_project_refuses_an_npz_output_that_is_the_input(tmp_path, kind, capsys):
    path = tmp_path / "X.npz"
    sp.save_npz(path, sp.random(30, 20, density=0.2, format="csr", random_state=0))
    before = digest(path)
    out = link(kind, path, tmp_path / "Y.npz")
    assert main(["project", str(path), str(out), "-k", "4", "--no-progress"]) == 2
    assert "same file as the input" in one_error_line(capsys.readouterr().err, "project")
    assert digest(path) == before


def test_output_through_a_link_replaces_the_linked_file(dense_input, tmp_path):
    # A symbolic link to another file stays a link; the file it points to is replaced.
    path, X = dense_input
    real = tmp_path / "real.npy"
    np.save(real, np.zeros(3))
    out = tmp_path / "Y.npy"
    out.symlink_to(real)
    assert main(["project", str(path), str(out), "-k", "4", "--no-progress"]) == 0
    assert out.is_symlink()
    assert_array_equal(np.load(real), sk.sparse_sign(4, 16, nnz=4).project(X))


def _csv(path: Path, n: int = 60) -> None:
    rng = np.random.default_rng(1)
    lines = ["a,b,label"] + [
        f"{a:.6f},{b:.6f},c{i % 2}" for i, (a, b) in enumerate(rng.random((n, 2)))
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("fmt", ["csv", "npy"])
def test_select_refuses_an_output_that_is_the_input(tmp_path, kind, fmt, capsys):
    src = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        _csv(src)
        label = "label"
    else:
        rng = np.random.default_rng(2)
        np.save(src, np.column_stack([rng.random((60, 3)), np.arange(60) % 2]))
        label = "3"
    before = digest(src)
    out = link(kind, src, tmp_path / f"out.{fmt}")
    argv = ["select", str(src), "-o", str(out), "--label", label, "--no-progress"]
    assert main([*argv, "--method", "random", "--reduction", "0.5"]) == 2
    assert "same file as the input" in one_error_line(capsys.readouterr().err, "select")
    assert digest(src) == before


def test_select_refuses_indices_out_or_labels_as_output(tmp_path, capsys):
    rng = np.random.default_rng(3)
    src, labels = tmp_path / "X.npy", tmp_path / "y.npy"
    np.save(src, rng.random((40, 3)))
    np.save(labels, np.arange(40) % 2)
    digests = {p: digest(p) for p in (src, labels)}
    base = ["select", str(src), "--labels", str(labels), "--method", "random"]
    base += ["--reduction", "0.5", "--no-progress"]
    cases = [
        ["-o", str(tmp_path / "out.npy"), "--indices-out", str(src)],
        ["-o", str(tmp_path / "out.npy"), "--indices-out", str(tmp_path / "out.npy")],
        ["-o", str(labels)],
    ]
    for extra in cases:
        assert main([*base, *extra]) == 2, extra
        assert "same file as the input" in one_error_line(capsys.readouterr().err, "select")
    assert {p: digest(p) for p in digests} == digests
    assert listing(tmp_path) == ["X.npy", "y.npy"]


# --------------------------------------------------------------------------- all or nothing
@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize(
    ("fmt", "out_name"), [("npy", "Y.npy"), ("npz", "Y.npy"), ("npz", "Y.npz")]
)
def test_error_in_a_later_chunk_leaves_no_partial_output(tmp_path, fmt, out_name, existing, capsys):
    X = np.random.default_rng(4).standard_normal((250, 12))
    X[-1, 5] = np.nan  # only the third chunk of 100 rows fails
    path = tmp_path / f"X.{fmt}"
    if fmt == "npy":
        np.save(path, X)
    else:
        sp.save_npz(path, sp.csr_matrix(X))
    out = tmp_path / out_name
    if existing:
        out.write_bytes(b"an earlier result")
    before = listing(tmp_path)
    argv = ["project", str(path), str(out), "-k", "5", "--chunk-rows", "100", "--no-progress"]
    assert main(argv) == 2
    assert "NaN" in one_error_line(capsys.readouterr().err, "project")
    assert listing(tmp_path) == before  # no temporary file left, no new output
    if existing:
        assert out.read_bytes() == b"an earlier result"


class _Interrupting:
    """An operator whose second ``project`` call is interrupted (Ctrl-C)."""

    def __init__(self, op: sk.SketchOperator) -> None:
        self.op, self.calls = op, 0

    def project(self, X, *args, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.op.project(X, *args, **kwargs)


@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_interrupt_leaves_no_partial_output(tmp_path, monkeypatch, fmt, existing, capsys):
    make = cli._make_operator
    monkeypatch.setattr(cli, "_make_operator", lambda *a: _Interrupting(make(*a)))
    X = np.random.default_rng(5).standard_normal((250, 12))
    path = tmp_path / f"X.{fmt}"
    if fmt == "npy":
        np.save(path, X)
    else:
        sp.save_npz(path, sp.csr_matrix(X))
    out = tmp_path / "Y.npy"
    if existing:
        out.write_bytes(b"an earlier result")
    before = listing(tmp_path)
    argv = ["project", str(path), str(out), "-k", "5", "--chunk-rows", "100", "--no-progress"]
    assert main(argv) == 130
    assert capsys.readouterr().err == "sketchkit project: interrupted\n"
    assert listing(tmp_path) == before
    if existing:
        assert out.read_bytes() == b"an earlier result"


def test_select_interrupted_while_writing_leaves_the_old_output(tmp_path, monkeypatch, capsys):
    from sketchkit import _cli_select

    src, out, idx = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "idx.npy"
    _csv(src)
    out.write_text("an earlier result\n")
    calls = []

    def interrupted(text: str) -> str:
        calls.append(text)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return text

    monkeypatch.setattr(_cli_select, "_with_newline", interrupted)
    argv = ["select", str(src), "-o", str(out), "--label", "label", "--method", "random"]
    assert main([*argv, "--reduction", "0.5", "--indices-out", str(idx), "--no-progress"]) == 130
    assert out.read_text() == "an earlier result\n"
    assert listing(tmp_path) == ["in.csv", "out.csv"]


def test_new_and_replaced_outputs_keep_the_usual_modes(dense_input, tmp_path):
    path, _ = dense_input
    out = tmp_path / "Y.npy"
    umask = os.umask(0o022)
    try:
        assert main(["project", str(path), str(out), "-k", "3", "--no-progress"]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644  # a new file: 0o666 less the umask
        out.chmod(0o640)
        assert main(["project", str(path), str(out), "-k", "3", "--no-progress"]) == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o640  # a replaced file keeps its mode
    finally:
        os.umask(umask)


# --------------------------------------------------------------------------- errors
def unwritable_directory(tmp_path: Path) -> Path:
    """A directory in which no file can be created (a read-only one; /sys as root)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    for candidate in (ro, Path("/sys")):
        probe = candidate / ".probe"
        try:
            probe.touch()
        except OSError:
            return candidate
        probe.unlink()
    pytest.skip("no unwritable directory (running as root without /sys)")


@pytest.mark.parametrize("problem", ["missing directory", "a directory", "unwritable"])
@pytest.mark.parametrize("command", ["project", "select"])
def test_output_path_problems_are_one_error_line(dense_input, tmp_path, problem, command, capsys):
    path, _ = dense_input
    suffix = ".npy" if command == "project" else ".csv"
    if problem == "missing directory":
        out, message = tmp_path / "no" / "such" / f"Y{suffix}", "does not exist"
    elif problem == "a directory":
        out, message = tmp_path / f"dir{suffix}", "is a directory"
        out.mkdir()
    else:
        out, message = unwritable_directory(tmp_path) / f"Y{suffix}", "cannot write"
    if command == "project":
        argv = ["project", str(path), str(out), "-k", "3", "--no-progress"]
    else:
        src = tmp_path / "in.csv"
        _csv(src)
        argv = ["select", str(src), "-o", str(out), "--label", "label", "--method", "random"]
        argv += ["--reduction", "0.5", "--no-progress"]
    assert main(argv) == 2
    assert message in one_error_line(capsys.readouterr().err, command)
    assert not os.path.isfile(out)


def test_demo_with_k_below_the_default_nnz_runs(capsys):
    assert main(["demo", "--n", "200", "--d", "32", "--k", "4"]) == 0
    out = capsys.readouterr().out
    assert "sparse_sign (nnz=4)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "1", "--d", "32", "--k", "4"], "n >= 2"),
        (["--n", "50", "--d", "8", "--k", "16"], "must not exceed d=8"),
    ],
)
def test_demo_bad_sizes_are_one_error_line(argv, message, capsys):
    assert main(["demo", *argv]) == 2
    assert message in one_error_line(capsys.readouterr().err, "demo")


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--seed", "-1"],
        ["demo", "--seed", str(2**64)],
        ["demo", "--k", "0"],
        ["project", "X.npy", "Y.npy", "-k", "two"],
        ["select", "X.csv"],
        ["frobnicate"],
    ],
)
def test_usage_errors_are_one_error_line(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert ": error: " in err


def test_native_seed_rule_names_the_range(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--seed", "-1"])
    assert "[0, 2**64)" in capsys.readouterr().err


def test_errors_in_a_subprocess_print_no_traceback(tmp_path):
    cases = [
        ["demo", "--seed", "-1"],
        ["demo", "--n", "1", "--d", "16", "--k", "4"],
        ["project", __file__, str(tmp_path / "Y.npy"), "-k", "2"],
        ["project", str(tmp_path / "X.npy"), str(tmp_path / "nodir" / "Y.npy"), "-k", "2"],
    ]
    np.save(tmp_path / "X.npy", np.ones((3, 4)))
    for argv in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "sketchkit", *argv], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.splitlines()) == 1, (argv, proc.stderr)
        assert " error: " in proc.stderr


# --------------------------------------------------------------------------- progress
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_stderr_only_on_a_terminal(dense_input, tmp_path, monkeypatch, capsys):
    pytest.importorskip("tqdm")
    path, _ = dense_input
    src = tmp_path / "in.csv"
    _csv(src, n=200)
    runs = {
        "project": ["project", str(path), str(tmp_path / "Y.npy"), "-k", "3"],
        "select": ["select", str(src), "-o", str(tmp_path / "o.csv"), "--label", "label"],
    }
    for command, argv in runs.items():
        assert main(argv) == 0
        assert capsys.readouterr().err == "", command  # not a terminal: silent
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(argv) == 0
        monkeypatch.undo()
        assert "100%" in terminal.getvalue(), command  # tqdm's bar, finished
        capsys.readouterr()
