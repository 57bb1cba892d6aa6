"""Partitioned graph-attention selection: quality against in-memory selection, and scale.

**Quality.** On the selection benchmark's data sets (the loaders of
``bench_selection.py``), stratified k-fold cross-validation (``--folds``, default 5;
min–max scaling fitted on the training fold): ``GraphAttentionSelector(reduction=0.9)``
on the whole training fold against ``PartitionedSelector`` with the same selector and
``partition_rows`` = a quarter of the fold (rounded up; at least 4 partitions), both
``random_state=0``. The score is the 1-NN accuracy on the held-out fold of a model
trained on the kept rows; the table gives the mean over folds and the difference
(partitioned minus in-memory, in points). Per-class kept counts are equal by
construction (the quota split is exact).

**Scale.** ``N`` rows x 32 ``float32`` features, 10 classes (a Gaussian mixture with 5
clusters per class, fixed seed) in Parquet shards of ``--shard-rows`` rows, written once
to ``--data-dir`` (default ``/tmp``). Partitioned selection (reduction 0.95) runs on a
``distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` from a
Dask DataFrame (``dask.dataframe.read_parquet``) and, for comparison, in this process
from the shards. Reported: wall time, and the peak resident memory of each worker
(``VmHWM`` read through ``client.run``, reset beforehand by writing ``5`` to
``/proc/self/clear_refs``) or of this process. Quality on a subset of ``--subset`` rows:
in-memory against partitioned selection, 1-NN accuracy on 20000 held-out rows of the
same mixture.

Run::

    python benches/bench_selection_partitioned.py --quick     # seconds (CI smoke run)
    python benches/bench_selection_partitioned.py --rows 10000000 \\
        --out benches/results_selection_partitioned.md
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import pathlib
import sys
import time
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_selection import DATASETS  # noqa: E402

from sketchkit.selection import GraphAttentionSelector, PartitionedSelector  # noqa: E402

SEED = 0
QUALITY_SETS = ["digits", "classification", "moons", "blobs", "highdim"]
QUICK_SETS = ["moons"]
D = 32
N_CLASSES = 10


# ---------------------------------------------------------------------- quality
def one_nn(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> float:
    return 100.0 * KNeighborsClassifier(1).fit(Xtr, ytr).score(Xte, yte)


def quality(names: list[str], folds: int) -> list[tuple[str, int, int, float, float, float]]:
    rows = []
    for name in names:
        X, y = DATASETS[name]()
        X = np.asarray(X, dtype=np.float64)
        accs: list[tuple[float, float]] = []
        n_parts = 0
        skf = StratifiedKFold(folds, shuffle=True, random_state=SEED)
        for tr, te in skf.split(X, y):
            sc = MinMaxScaler().fit(X[tr])
            Xtr, Xte = sc.transform(X[tr]), sc.transform(X[te])
            gas = GraphAttentionSelector(reduction=0.9, random_state=SEED)
            full = gas.fit(Xtr, y[tr]).sample_indices_
            part = PartitionedSelector(gas, partition_rows=max(2, math.ceil(len(tr) / 4)))
            pidx = part.fit(Xtr, y[tr]).sample_indices_
            n_parts = part.n_partitions_
            accs.append(
                (
                    one_nn(Xtr[full], y[tr][full], Xte, y[te]),
                    one_nn(Xtr[pidx], y[tr][pidx], Xte, y[te]),
                )
            )
        a = np.mean(accs, axis=0)
        rows.append((name, X.shape[0], n_parts, a[0], a[1], a[1] - a[0]))
        print(f"{name}: in-memory {a[0]:.2f}, partitioned {a[1]:.2f} ({n_parts} partitions)")
    return rows


# ------------------------------------------------------------------------ scale
def mixture(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of the benchmark mixture (centres fixed by SEED, rows by ``seed``)."""
    centres = np.random.default_rng(SEED).standard_normal((N_CLASSES * 5, D)) * 0.8
    rng = np.random.default_rng(seed)
    comp = rng.integers(0, N_CLASSES * 5, size=n)
    X = centres[comp] + rng.standard_normal((n, D))
    return X.astype(np.float32), (comp % N_CLASSES).astype(np.int32)


def write_shards(n: int, shard_rows: int, root: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = pathlib.Path(root) / f"sketchkit_partitioned_{n}_{shard_rows}"
    files = [str(d / f"part{i:05d}.parquet") for i in range(math.ceil(n / shard_rows))]
    if all(os.path.exists(f) for f in files):
        return files
    d.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(files):
        m = min(shard_rows, n - i * shard_rows)
        X, y = mixture(m, seed=1000 + i)
        cols = {f"f{j}": X[:, j] for j in range(D)}
        cols["label"] = y
        pq.write_table(pa.table(cols), f + ".tmp", row_group_size=65536)
        os.replace(f + ".tmp", f)
    return files


def _clear_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _hwm_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def scale(n: int, shard_rows: int, partition_rows: int, root: str) -> dict[str, Any]:
    import dask
    import dask.dataframe as dd
    import distributed

    t0 = time.perf_counter()
    files = write_shards(n, shard_rows, root)
    print(f"shards ready ({len(files)} files) in {time.perf_counter() - t0:.1f} s")
    gas = GraphAttentionSelector(reduction=0.95, random_state=SEED)
    out: dict[str, Any] = {"n": n, "shards": len(files), "partition_rows": partition_rows}
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        client.run(_clear_hwm)
        ddf = dd.read_parquet(files)
        sel = PartitionedSelector(gas, partition_rows=partition_rows)
        t0 = time.perf_counter()
        with dask.config.set(scheduler=client):
            sel.fit(ddf, label="label")
        out["dask_s"] = time.perf_counter() - t0
        out["worker_hwm"] = sorted(client.run(_hwm_mib).values())
        out["kept"] = len(sel.sample_indices_)
        out["n_parts"] = sel.n_partitions_
        dask_idx = sel.sample_indices_
    finally:
        client.close()
        cluster.close()
    _clear_hwm()
    base = _hwm_mib()
    t0 = time.perf_counter()
    local = PartitionedSelector(gas, partition_rows=partition_rows).fit(files, label="label")
    out["local_s"] = time.perf_counter() - t0
    out["local_hwm"] = _hwm_mib()
    out["local_base"] = base
    out["same"] = bool(np.array_equal(local.sample_indices_, dask_idx))
    print(
        f"scale {n}: dask {out['dask_s']:.1f} s (worker peaks {out['worker_hwm']} MiB), "
        f"local {out['local_s']:.1f} s (peak {out['local_hwm']:.0f} MiB), same={out['same']}"
    )
    return out


def subset_quality(m: int, partition_rows: int) -> dict[str, Any]:
    X, y = mixture(m, seed=7)
    Xte, yte = mixture(20000, seed=8)
    gas = GraphAttentionSelector(reduction=0.95, random_state=SEED)
    t0 = time.perf_counter()
    full = gas.fit(X, y).sample_indices_
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    part = PartitionedSelector(gas, partition_rows=partition_rows).fit(X, y)
    t_part = time.perf_counter() - t0
    res = {
        "m": m,
        "in_memory": one_nn(X[full], y[full], Xte, yte),
        "partitioned": one_nn(X[part.sample_indices_], y[part.sample_indices_], Xte, yte),
        "t_full": t_full,
        "t_part": t_part,
        "n_parts": part.n_partitions_,
    }
    print(f"subset {m}: {res}")
    return res


# ------------------------------------------------------------------------ report
def report(q: list[Any], s: dict[str, Any] | None, sq: dict[str, Any] | None, args: Any) -> str:
    lines = [
        "# Partitioned selection",
        "",
        "Generated by `benches/bench_selection_partitioned.py"
        + (" --quick" if args.quick else f" --rows {args.rows}")
        + f"` ({args.folds}-fold CV; 1-NN accuracy in %, GAS reduction 0.9, random_state=0).",
        "",
        "| data set | rows | partitions | in-memory | partitioned | delta (points) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, n, p, a, b, dlt in q:
        lines.append(f"| {name} | {n} | {p} | {a:.2f} | {b:.2f} | {dlt:+.2f} |")
    if q:
        lines.append(
            f"| **mean** | | | {np.mean([r[3] for r in q]):.2f} | "
            f"{np.mean([r[4] for r in q]):.2f} | {np.mean([r[5] for r in q]):+.2f} |"
        )
    if s is not None:
        w = ", ".join(f"{v:.0f}" for v in s["worker_hwm"])
        lines += [
            "",
            f"Scale: {s['n']:,} x {D} float32 rows in {s['shards']} Parquet shards, "
            f"{N_CLASSES} classes, reduction 0.95, partition_rows {s['partition_rows']:,} "
            f"({s['n_parts']} partitions, {s['kept']:,} rows kept).",
            "",
            "| run | time (s) | peak RSS (MiB) |",
            "|---|---:|---:|",
            f"| Dask, LocalCluster 2 workers x 1 thread | {s['dask_s']:.1f} | {w} (per worker) |",
            f"| one process, from the shards | {s['local_s']:.1f} | {s['local_hwm']:.0f} |",
            "",
            f"Dask and one-process selections identical: {'yes' if s['same'] else 'NO'}.",
        ]
    if sq is not None:
        lines += [
            "",
            f"Quality on a {sq['m']:,}-row subset ({sq['n_parts']} partitions; 1-NN accuracy "
            "on 20,000 held-out rows):",
            "",
            "| selection | 1-NN accuracy (%) | time (s) |",
            "|---|---:|---:|",
            f"| in-memory | {sq['in_memory']:.2f} | {sq['t_full']:.1f} |",
            f"| partitioned | {sq['partitioned']:.2f} | {sq['t_part']:.1f} |",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds: 1 set, 2 folds, 1e5 rows")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=10_000_000, help="scale run rows")
    ap.add_argument("--shard-rows", type=int, default=1_000_000)
    ap.add_argument("--partition-rows", type=int, default=200_000)
    ap.add_argument("--subset", type=int, default=1_000_000, help="quality subset rows")
    ap.add_argument("--data-dir", default="/tmp")
    ap.add_argument("--no-scale", action="store_true", help="quality table only")
    ap.add_argument("--out", default=None, help="write the Markdown report here")
    args = ap.parse_args()
    if args.quick:
        args.folds, args.rows, args.shard_rows = 2, 100_000, 25_000
        args.partition_rows, args.subset = 25_000, 20_000
    q = quality(QUICK_SETS if args.quick else QUALITY_SETS, args.folds)
    s = sq = None
    if not args.no_scale:
        try:
            import dask.dataframe  # noqa: F401
            import distributed  # noqa: F401
            import pyarrow  # noqa: F401
        except ImportError as exc:
            print(f"scale run skipped: {exc}")
        else:
            s = scale(args.rows, args.shard_rows, args.partition_rows, args.data_dir)
        m = min(args.subset, args.rows)
        sq = subset_quality(m, min(args.partition_rows, math.ceil(m / 4)))
    text = report(q, s, sq, args)
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
