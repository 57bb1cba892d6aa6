"""Scale benchmark of sketchkit's instance selection: time, memory and graph recall vs n.

Data: a ``make_classification``-style Gaussian mixture generated directly in NumPy
``float32`` (scikit-learn's ``make_classification`` is slow at 10^6 x 64): 10 classes,
2 clusters per class, 64 features of which the first 16 are informative. Cluster
centres are drawn once from ``N(0, 1.5^2)`` in the informative subspace (seed 0); each
row is its cluster's centre plus ``N(0, 1)`` noise in all 64 features; 1% of the labels
are then replaced by uniformly random ones (``flip_y``-style noise). Classes are
balanced in expectation. Everything is drawn from ``numpy.random.default_rng(seed)``,
so a given ``n`` always gives the same data (sizes are not nested prefixes of one set).

For each ``n`` (10^4, 10^5, 10^6 by default) and each method:

* ``GAS hash``: ``GraphAttentionSelector(reduction=0.95, graph="hash", random_state=0)``;
* ``GAS minibatch``: the same with ``graph="minibatch"``;
* ``LSH-IS``: ``LSHInstanceSelector`` with its defaults (``random_state=0`` when it
  takes one), skipped with a note while ``sketchkit.selection`` has no such class;
* ``GAS defaults, make_classification``: ``GraphAttentionSelector(reduction=0.95,
  random_state=0)`` (default graph) on the performance issue's workload instead of the
  mixture: scikit-learn's ``make_classification(n, 64, n_informative=32,
  n_classes=10, n_clusters_per_class=3, random_state=0)`` cast to ``float32``.

Each (n, method) runs in a fresh subprocess (``--worker``), which generates the data,
records its resident set, resets the peak (``/proc/self/clear_refs``; when that is
impossible the peak since start-up is used, which includes data generation) and then
times ``fit_resample(X, y)`` with all of sketchkit's threads (the machine's cores).
Up to 10^5 rows the selection is repeated 3 times and the median reported (the memory
figure comes from the first run); ``--quick`` runs each once.

Columns:

* ``Time``: wall seconds of ``fit_resample``; ``µs/row``: time per input row;
* ``Growth``: time ratio to the previous size, and the exponent
  ``log(t2/t1) / log(n2/n1)`` (1.0 = linear);
* ``Input``: ``X.nbytes + y.nbytes``; ``Peak Δ``: peak resident set during the
  selection minus the resident set before it (``VmHWM``/``VmRSS``); ``Peak/input``:
  their ratio (the extra memory the selection needs per byte of input);
* ``Recall``: ``graph_recall(X, sel.graph_, sample=200)``, the selector's kNN graph
  against exact kNN on 200 random rows (computed after timing; "—" without a graph);
* ``Reduction``: achieved ``1 - |S| / n``; ``Kept``: ``|S|``.

The mixture's noise is isotropic in all 64 features, so its intrinsic dimension is
high and exact neighbours are hard for any hashing scheme to find: expect modest
recall that falls with ``n``. The mini-batch graph's recall against the global exact
kNN is about ``batch_size / n`` by construction (neighbours are exact within a random
stratified batch of 1000 rows), so it is not a defect of that run.

Run::

    python benches/bench_selection_scale.py                 # 10^4, 10^5, 10^6
    python benches/bench_selection_scale.py --quick         # 10^4 and 3*10^4 (CI)
    python benches/bench_selection_scale.py --max-n 100000 --out benches/results_scale.md
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

N_CLASSES = 10
N_FEATURES = 64
N_INFORMATIVE = 16
CLUSTERS_PER_CLASS = 2
CLASS_SEP = 1.5
FLIP_Y = 0.01
SEED = 0
MIB = 1024.0 * 1024.0

METHODS = {
    "gas-hash": "GAS hash 0.95",
    "gas-minibatch": "GAS minibatch 0.95",
    "lsh-is": "LSH-IS (defaults)",
    "gas-default-mc": "GAS defaults 0.95, make_classification",
}


def make_data(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-mixture classification data, ``float32`` features and ``int64`` labels."""
    rng = np.random.default_rng(seed)
    centres = (
        rng.standard_normal((N_CLASSES * CLUSTERS_PER_CLASS, N_INFORMATIVE)) * CLASS_SEP
    ).astype(np.float32)
    y = rng.integers(0, N_CLASSES, size=n)
    cluster = y * CLUSTERS_PER_CLASS + rng.integers(0, CLUSTERS_PER_CLASS, size=n)
    X = rng.standard_normal((n, N_FEATURES), dtype=np.float32)
    X[:, :N_INFORMATIVE] += centres[cluster]
    flip = rng.random(n) < FLIP_Y
    y[flip] = rng.integers(0, N_CLASSES, size=int(flip.sum()))
    return X, y


# --------------------------------------------------------------------------- worker


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_kib() -> int:
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm
    import resource  # ru_maxrss is in KiB on Linux

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _make_selector(method: str) -> Any:
    import sketchkit.selection as sel

    if method == "gas-hash":
        return sel.GraphAttentionSelector(reduction=0.95, graph="hash", random_state=0)
    if method == "gas-default-mc":
        return sel.GraphAttentionSelector(reduction=0.95, random_state=0)
    if method == "gas-minibatch":
        return sel.GraphAttentionSelector(reduction=0.95, graph="minibatch", random_state=0)
    cls = getattr(sel, "LSHInstanceSelector", None)
    if cls is None:
        raise LookupError("sketchkit.selection.LSHInstanceSelector is not available yet")
    kw = {"random_state": 0} if "random_state" in inspect.signature(cls).parameters else {}
    return cls(**kw)


def make_data_mc(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``make_classification`` with the performance issue's parameters
    (64 features, 32 informative, 10 classes, 3 clusters per class), as ``float32``."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n,
        n_features=N_FEATURES,
        n_informative=32,
        n_classes=N_CLASSES,
        n_clusters_per_class=3,
        random_state=seed,
    )
    return X.astype(np.float32), y


def worker(n: int, method: str, reps: int) -> dict[str, Any]:
    import sketchkit as sk
    import sketchkit.selection as sel

    out: dict[str, Any] = {"n": n, "method": method, "threads": sk.get_num_threads()}
    t0 = time.perf_counter()
    X, y = make_data_mc(n) if method.endswith("-mc") else make_data(n)
    out["gen_s"] = time.perf_counter() - t0
    out["input_bytes"] = int(X.nbytes + y.nbytes)
    try:
        selector = _make_selector(method)
    except LookupError as exc:
        out["skip"] = str(exc)
        return out
    out["selector"] = repr(selector)
    reset = _reset_hwm()
    out["hwm_reset"] = reset
    rss0 = _status_kib("VmRSS") or 0
    t0 = time.perf_counter()
    selector.fit_resample(X, y)
    times = [time.perf_counter() - t0]
    out["peak_delta_bytes"] = max(0, _peak_kib() - rss0) * 1024
    out["reduction"] = float(selector.reduction_)
    out["kept"] = int(len(selector.sample_indices_))
    for _ in range(reps - 1):
        again = _make_selector(method)
        t0 = time.perf_counter()
        again.fit_resample(X, y)
        times.append(time.perf_counter() - t0)
    out["times"] = times
    out["time_s"] = statistics.median(times)
    graph = getattr(selector, "graph_", None)
    if graph is not None:
        t0 = time.perf_counter()
        out["recall"] = sel.graph_recall(X, graph, sample=200)
        out["recall_s"] = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------------- driver


def run_one(n: int, method: str, timeout: float, reps: int) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n), method, str(reps)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, "method": method, "error": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"n": n, "method": method, "error": f"exit {p.returncode}: {tail}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def _fmt_n(n: int) -> str:
    e = math.log10(n)
    if abs(e - round(e)) < 1e-9:
        return f"10^{round(e)}"
    for k in range(1, 10):
        e = math.log10(n / k)
        if abs(e - round(e)) < 1e-9:
            return f"{k}·10^{round(e)}"
    return str(n)


def table(rows: list[dict[str, Any]], methods: list[str]) -> str:
    lines = [
        "| n | Method | Time (s) | µs/row | Growth | Input (MiB) | Peak Δ (MiB) | Peak/input "
        "| Recall@200 | Reduction | Kept |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    prev: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = METHODS[r["method"]]
        n = r["n"]
        if "error" in r or "skip" in r:
            why = r.get("error") or r.get("skip")
            lines.append(f"| {_fmt_n(n)} | {name} | — | — | — | — | — | — | — | — | — |")
            notes.append(f"* {name} at n = {n}: {why}")
            continue
        t = r["time_s"]
        growth = "—"
        p = prev.get(r["method"])
        if p is not None and p["time_s"] > 0:
            ratio = t / p["time_s"]
            expo = math.log(ratio) / math.log(n / p["n"])
            growth = f"×{ratio:.1f} (n^{expo:.2f})"
        prev[r["method"]] = r
        inp = r["input_bytes"] / MIB
        peak = r["peak_delta_bytes"] / MIB
        recall = f"{r['recall']:.3f}" if "recall" in r else "—"
        lines.append(
            f"| {_fmt_n(n)} | {name} | {t:.3g} | {1e6 * t / n:.2f} | {growth} | {inp:.1f} "
            f"| {peak:.1f} | {peak / inp:.2f} | {recall} | {r['reduction']:.4f} | {r['kept']} |"
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        print(json.dumps(worker(int(argv[1]), argv[2], int(argv[3]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^4 and 3*10^4 rows only (CI)")
    ap.add_argument("--max-n", type=int, default=1_000_000, help="largest n (default 10^6)")
    ap.add_argument("--methods", help=f"comma-separated subset of {','.join(METHODS)}")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run (default 600)")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    sizes = [10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000]
    sizes = [n for n in sizes if n <= args.max_n] or [min(sizes)]
    methods = args.methods.split(",") if args.methods else list(METHODS)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s) {', '.join(bad)} (choose from {', '.join(METHODS)})")

    import sketchkit.selection as sel

    load0 = os.getloadavg()[0]  # other work on the machine skews the timings
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    failed: set[str] = set()
    if "lsh-is" in methods and not hasattr(sel, "LSHInstanceSelector"):
        methods.remove("lsh-is")
        for n in sizes:
            rows.append({"n": n, "method": "lsh-is", "skip": "LSHInstanceSelector not available"})
        print("skipping LSH-IS: LSHInstanceSelector not available", file=sys.stderr)
    for n in sizes:
        for m in methods:
            if m in failed:
                rows.append({"n": n, "method": m, "skip": "skipped after a failure or timeout"})
                continue
            reps = 1 if args.quick or n > 100_000 else 3
            r = run_one(n, m, args.timeout, reps)
            rows.append(r)
            if "error" in r:
                failed.add(m)
            msg = (
                r.get("error")
                or r.get("skip")
                or (
                    f"{r['time_s']:.3f} s, peak Δ {r['peak_delta_bytes'] / MIB:.1f} MiB, "
                    f"recall {r.get('recall', float('nan')):.3f}"
                )
            )
            print(f"n={n:>8} {METHODS[m]:<20} {msg}", file=sys.stderr, flush=True)
    rows.sort(key=lambda r: (list(METHODS).index(r["method"]), r["n"]))
    tab = table(rows, methods)
    total = time.perf_counter() - t_start
    threads = next((r["threads"] for r in rows if "threads" in r), "?")
    reset = all(r.get("hwm_reset", True) for r in rows)
    import sketchkit

    meta = (
        f"sketchkit {getattr(sketchkit, '__version__', '?')}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{threads} sketchkit threads; data: {N_CLASSES}-class Gaussian mixture "
        "(the last method: make_classification), "
        f"{N_FEATURES} float32 features; total {total:.0f} s; "
        f"load average at start {load0:.1f}, at end {os.getloadavg()[0]:.1f}"
        + ("" if reset else "; peak RSS could not be reset (includes data generation)")
    )
    print(tab)
    print(f"\n{meta}")
    if args.out:
        with open(args.out, "w") as f:
            f.write(
                "# Instance selection: scale benchmark\n\n"
                f"`{' '.join(['python benches/bench_selection_scale.py', *argv])}`\n\n"
                f"{meta}.\n\n{tab}\n"
            )
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
