"""Rerun every benchmark at HEAD and regenerate the README's tables from that run.

    python benches/run_all.py --update-readme                  # every benchmark (hours)
    python benches/run_all.py --only fwht,projection --update-readme
    python benches/run_all.py --quick --out-dir /tmp/smoke     # small sizes (CI)
    python benches/run_all.py --list

Each benchmark runs in a fresh interpreter (a subprocess of this one: no state, no
warm caches and no memory left over from the previous one; the scripts that report
memory read the resident-set peak of their own processes) and writes its Markdown
table to ``<out-dir>/<its results file>``. Every script checks sketchkit's output
against a reference before it times anything, and fails if they disagree.

``--update-readme`` then rewrites the README's generated blocks
(``scripts/readme_tables.py``) from the results files, so the README quotes this run.
It needs the results in ``benches/`` (the default ``--out-dir``) and refuses
``--quick``: small sizes never reach the README. Every README block must have a
benchmark here (checked before anything runs), so no table can be left stale.

The FWHT peers need ``pip install pybind11 setuptools wheel && pip install
--no-build-isolation ffht-unofficial fht-cpu``; the other peers come with the
``bench`` extra (``pip install '.[bench]'``). A missing peer is reported by its script.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHES = ROOT / "benches"


@dataclasses.dataclass(frozen=True)
class Bench:
    """One benchmark script and the results file it writes with ``--out``."""

    name: str
    script: str
    results: str
    #: Arguments of every run.
    args: tuple[str, ...] = ()
    #: Extra arguments of a full run.
    full_args: tuple[str, ...] = ()
    #: Extra arguments with ``--quick``.
    quick_args: tuple[str, ...] = ()
    #: Part of a full run (the GPU benchmark needs a GPU and is run by name).
    full: bool = True
    #: Minutes a full run takes on a 2-core machine, roughly (for the plan printed).
    minutes: int = 1


# ``{tmp}`` in the arguments is replaced by a scratch directory for data files.
SUITE = (
    Bench("projection", "bench_projection.py", "results.md", quick_args=("--reps", "3"), minutes=4),
    Bench("fwht", "bench_fwht.py", "results_fwht.md", quick_args=("--reps", "3"), minutes=3),
    Bench("kernel", "bench_kernel.py", "results_kernel.md", minutes=6),
    Bench("distances", "bench_distances.py", "results_distances.md", minutes=3),
    Bench("graph", "bench_graph.py", "results_graph.md", minutes=15),
    Bench("compress", "bench_compress.py", "results_compress.md", minutes=5),
    Bench(
        "linalg",
        "bench_linalg.py",
        "results_linalg.md",
        args=("--workloads", "1,2,3,4,5,7"),
        minutes=25,
    ),
    # RandomizedPCA on CSR (fresh processes per run; its own README block).
    Bench(
        "linalg_pca",
        "bench_linalg.py",
        "results_linalg_pca.md",
        args=("--workloads", "6"),
        minutes=6,
    ),
    Bench("sampling", "bench_sampling.py", "results_sampling.md", minutes=15),
    Bench(
        "dask",
        "bench_dask.py",
        "results_dask.md",
        args=("--data", "{tmp}"),
        quick_args=("--reps", "2"),
        minutes=15,
    ),
    Bench("selection_scale", "bench_selection_scale.py", "results_selection_scale.md", minutes=20),
    Bench(
        "partitioned",
        "bench_selection_partitioned.py",
        "results_selection_partitioned.md",
        args=("--data-dir", "{tmp}"),
        minutes=40,
    ),
    Bench(
        "selection",
        "bench_selection.py",
        "results_selection.md",
        full_args=("--jobs", "2", "--curves", "--figures", "docs/images"),
        quick_args=("--strict", "--curves", "--figures", "{tmp}"),
        minutes=40,
    ),
    # A forest-specific search: how close any 90% selection gets to all data (RF).
    Bench(
        "selection_rf_bound",
        "selection_rf_bound.py",
        "results_selection_rf_bound.md",
        full_args=("--jobs", "2"),
        minutes=11,
    ),
    Bench(
        "gpu",
        "bench_gpu.py",
        "results_gpu.md",
        quick_args=("--reps", "3"),
        full=False,
        minutes=2,
    ),
)


def readme_blocks() -> dict[str, str]:
    """The README blocks and their results files, from ``scripts/readme_tables.py``."""
    spec = importlib.util.spec_from_file_location(
        "readme_tables", ROOT / "scripts/readme_tables.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.BLOCKS)


def check_coverage() -> None:
    """Every README block's results file is written by a benchmark of the full suite."""
    written = {f"benches/{b.results}" for b in SUITE if b.full}
    missing = {name: path for name, path in readme_blocks().items() if path not in written}
    if missing:
        raise SystemExit(f"README blocks without a benchmark in run_all.py: {missing}")


def command(bench: Bench, quick: bool, out_dir: pathlib.Path, tmp: str) -> list[str]:
    args = [*bench.args, *(["--quick", *bench.quick_args] if quick else bench.full_args)]
    args = [a.replace("{tmp}", tmp) for a in args]
    return [
        sys.executable,
        str(BENCHES / bench.script),
        *args,
        "--out",
        str(out_dir / bench.results),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", help="comma-separated benchmarks (default: the full suite)")
    ap.add_argument("--skip", help="comma-separated benchmarks to leave out")
    ap.add_argument(
        "--out-dir", default=str(BENCHES), help="where the results files go (default benches/)"
    )
    ap.add_argument("--update-readme", action="store_true", help="then rewrite README tables")
    ap.add_argument("--list", action="store_true", help="print the suite and exit")
    ap.add_argument(
        "--keep-going", action="store_true", help="run the rest after a failure (exit 1 at end)"
    )
    args = ap.parse_args(argv)

    check_coverage()
    by_name = {b.name: b for b in SUITE}
    if args.list:
        for b in SUITE:
            extra = "" if b.full else "  (not in a full run; run it by name)"
            print(f"{b.name:16} benches/{b.script:34} -> {b.results}  ~{b.minutes} min{extra}")
        return 0
    names = [n for n in (args.only or "").split(",") if n]
    unknown = [n for n in names + (args.skip or "").split(",") if n and n not in by_name]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {sorted(by_name)}")
    if names:
        chosen = [by_name[n] for n in names]
    else:  # the full suite; a smoke run also covers the benchmarks run by name
        chosen = [b for b in SUITE if b.full or args.quick]
    skip = set((args.skip or "").split(","))
    chosen = [b for b in chosen if b.name not in skip]
    out_dir = pathlib.Path(args.out_dir).resolve()
    if args.update_readme:
        if args.quick:
            raise SystemExit("--update-readme with --quick: small sizes never go into the README")
        if out_dir != BENCHES:
            raise SystemExit("--update-readme reads benches/: leave --out-dir at its default")
    out_dir.mkdir(parents=True, exist_ok=True)

    head = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    total = sum(b.minutes for b in chosen)
    print(
        f"{len(chosen)} benchmark(s) at {head or 'an unknown commit'}"
        f"{'' if args.quick else f', about {total} min on 2 cores'}: "
        + ", ".join(b.name for b in chosen),
        flush=True,
    )
    failed: list[str] = []
    timings: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="sketchkit-bench-") as tmp:
        for b in chosen:
            cmd = command(b, args.quick, out_dir, tmp)
            print(f"\n== {b.name}: {' '.join(cmd[1:])}", flush=True)
            t0 = time.perf_counter()
            rc = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy(), check=False).returncode
            timings.append((b.name, time.perf_counter() - t0))
            if rc != 0:
                failed.append(b.name)
                print(f"== {b.name} failed (exit {rc})", flush=True)
                if not args.keep_going:
                    break
    print("\n" + "\n".join(f"{n:16} {s:8.1f} s" for n, s in timings))
    if failed:
        print(f"failed: {', '.join(failed)}; the README was not touched")
        return 1
    if args.update_readme:
        rc = subprocess.run(
            [sys.executable, str(ROOT / "scripts/readme_tables.py")], cwd=ROOT, check=False
        ).returncode
        if rc != 0:
            return rc
        print("README.md tables rewritten from this run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
