"""The one command that reruns every benchmark (``benches/run_all.py``): it covers every
generated README block, builds each script's command, and refuses to put a smoke run
into the README."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benches" / "run_all.py"

pytestmark = pytest.mark.skipif(
    not RUNNER.exists(), reason="benches/ is not beside the tests (installed wheel only)"
)


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", RUNNER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("run_all", None)


def test_every_readme_block_has_a_benchmark(run_all):
    blocks = run_all.readme_blocks()
    assert blocks, "scripts/readme_tables.py lists no blocks"
    run_all.check_coverage()  # raises SystemExit naming any block without a benchmark
    full = {f"benches/{b.results}" for b in run_all.SUITE if b.full}
    assert set(blocks.values()) <= full
    for b in run_all.SUITE:
        assert (ROOT / "benches" / b.script).exists(), b.script
    # Names are unique, and so are the results files (no run overwrites another's).
    assert len({b.name for b in run_all.SUITE}) == len(run_all.SUITE)
    assert len({b.results for b in run_all.SUITE}) == len(run_all.SUITE)


def test_commands(run_all, tmp_path):
    dask = next(b for b in run_all.SUITE if b.name == "dask")
    cmd = run_all.command(dask, quick=True, out_dir=tmp_path, tmp="/scratch")
    assert cmd[0] == sys.executable
    assert cmd[1].endswith("bench_dask.py")
    assert cmd[2:] == [
        "--data",
        "/scratch",
        "--quick",
        *dask.quick_args,
        "--out",
        str(tmp_path / "results_dask.md"),
    ]
    selection = next(b for b in run_all.SUITE if b.name == "selection")
    full = run_all.command(selection, quick=False, out_dir=tmp_path, tmp="/scratch")
    assert "--quick" not in full and list(selection.full_args) == full[2:-2]
    # The scratch directory replaces its placeholder in every kind of argument (a quick
    # run's figures once went to a directory named "{tmp}").
    for b in run_all.SUITE:
        for quick in (True, False):
            cmd = run_all.command(b, quick=quick, out_dir=tmp_path, tmp="/scratch")
            assert not any("{tmp}" in a for a in cmd), (b.name, quick, cmd)
    quick_sel = run_all.command(selection, quick=True, out_dir=tmp_path, tmp="/scratch")
    assert quick_sel[quick_sel.index("--figures") + 1] == "/scratch"


def test_refusals(run_all, tmp_path, capsys):
    with pytest.raises(SystemExit, match="small sizes never go into the README"):
        run_all.main(["--quick", "--update-readme", "--only", "fwht"])
    with pytest.raises(SystemExit, match="leave --out-dir at its default"):
        run_all.main(["--update-readme", "--out-dir", str(tmp_path), "--only", "fwht"])
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run_all.main(["--only", "nope"])
    assert run_all.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(b.name in listed for b in run_all.SUITE)
