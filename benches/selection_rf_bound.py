"""How close can *any* 10% selection bring a random forest to all data?

``bench_selection.py`` finds every selector's random forest 4–7 points below the forest
trained on all data at 90% reduction. This script asks whether a better selector could
close that gap, by searching for the subset that is best **for the forest itself**: a
wrapper selection that no model-agnostic selector can beat on average except by luck.

Per data set and fold (the same stratified 5-fold CV, min–max scaling and forest as
``bench_selection.py``), with ``T`` the scaled training fold:

1. candidates: the 90% selections of GAS, the class-wise k-means medoids, kernel
   herding, k-center greedy and the RS2 random baseline, plus ``--random`` stratified
   random subsets with GAS's per-class counts;
2. each candidate ``S`` is scored by the forest trained on ``S`` and evaluated on the
   training rows it left out, ``T \\ S`` (never on the test fold); the best is kept;
3. local search (``--steps`` rounds): swap a tenth of the kept rows for other rows of
   the same classes, keep the swap when the score on ``T \\ S`` improves.

The test fold is only used to report the chosen subsets' accuracy, so the "search"
columns are honest estimates of what this (expensive, forest-specific) selector
achieves. Its score on ``T \\ S`` is the quantity the target concerns, measured on 9 of
10 training rows, so the search optimizes the target directly.

Run::

    python benches/selection_rf_bound.py --jobs 2 \
        --out benches/results_selection_rf_bound.md     # the README's table
    python benches/selection_rf_bound.py --quick           # 2 small sets, 2 folds (CI)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from bench_selection import METHODS, SEED, forest, same_size_random, scaled_folds
from selection_datasets import DATASETS, HALVES

import sketchkit

CANDIDATES = ["gas-0.90", "medoids-0.90", "herding-0.90", "kcenter-0.90", "rs2-0.90"]
COLUMNS = ["all data", "GAS 0.90", "best candidate", "search"]


def inner_score(X: np.ndarray, y: np.ndarray, idx: np.ndarray) -> float:
    """Accuracy on the training rows outside ``idx`` of the forest trained on ``idx``."""
    out = np.ones(X.shape[0], dtype=bool)
    out[idx] = False
    return float(forest(X[idx], y[idx], 1).score(X[out], y[out]))


def evaluate(job: tuple[str, int, int, int]) -> tuple[str, dict[str, list[float]], float]:
    dname, folds, n_random, steps = job
    warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
    t0 = time.perf_counter()
    X, y = DATASETS[dname]()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    acc: dict[str, list[float]] = {c: [] for c in COLUMNS}
    for fold, (X_tr, y_tr, X_te, y_te) in enumerate(scaled_folds(X, y, folds)):
        acc["all data"].append(forest(X_tr, y_tr, 1).score(X_te, y_te))
        rng = np.random.default_rng([SEED, fold, 7])
        cands: list[np.ndarray] = []
        for k in CANDIDATES:
            selector = METHODS[k].factory({})  # type: ignore[misc]
            selector.fit_resample(X_tr, y_tr)
            cands.append(np.sort(np.asarray(selector.sample_indices_)))
        gas = cands[0]
        acc["GAS 0.90"].append(forest(X_tr[gas], y_tr[gas], 1).score(X_te, y_te))
        cands += [same_size_random(y_tr, y_tr[gas], rng) for _ in range(n_random)]
        inner = [inner_score(X_tr, y_tr, c) for c in cands]
        best = cands[int(np.argmax(inner))]
        acc["best candidate"].append(forest(X_tr[best], y_tr[best], 1).score(X_te, y_te))
        cur, cur_score = best.copy(), max(inner)
        for _ in range(steps):
            trial = cur.copy()
            m = max(1, trial.size // 10)
            for pos in rng.choice(trial.size, size=m, replace=False):
                pool = np.setdiff1d(np.flatnonzero(y_tr == y_tr[trial[pos]]), trial)
                if pool.size:
                    trial[pos] = rng.choice(pool)
            s = inner_score(X_tr, y_tr, trial)
            if s > cur_score:
                cur, cur_score = trial, s
        acc["search"].append(forest(X_tr[cur], y_tr[cur], 1).score(X_te, y_te))
    return dname, acc, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 small sets, 2 folds, 2 + 2 (CI)")
    ap.add_argument("--half", choices=["tuning", "validation"], default="validation")
    ap.add_argument("--datasets", help="comma-separated data sets (overrides --half)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--random", type=int, default=15, help="random candidates per fold")
    ap.add_argument("--steps", type=int, default=40, help="local-search rounds per fold")
    ap.add_argument("--jobs", type=int, default=1, help="data sets evaluated in parallel")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.datasets = args.datasets or "iris,wine"
        args.folds, args.random, args.steps = 2, 2, 2
    dsets = args.datasets.split(",") if args.datasets else HALVES[args.half]
    t_start = time.perf_counter()
    jobs = [(d, args.folds, args.random, args.steps) for d in dsets]
    res: dict[str, dict[str, list[float]]] = {}
    with ProcessPoolExecutor(max(1, args.jobs)) as pool:
        for d, acc, secs in pool.map(evaluate, jobs):
            res[d] = acc
            line = ", ".join(f"{c} {np.mean(v):.3f}" for c, v in acc.items())
            print(f"{d} ({secs:.0f} s): {line}", flush=True)
    means = {c: float(np.mean([np.mean(res[d][c]) for d in dsets])) for c in COLUMNS}
    cmd = " ".join(sys.argv[1:] if argv is None else argv)
    lines = [
        "# Random forest at 90% reduction: a forest-specific search",
        "",
        f"`python benches/selection_rf_bound.py {cmd}`",
        "",
        f"sketchkit {sketchkit.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.folds}-fold stratified CV (seed {SEED}); "
        f"{args.random} random candidates and {args.steps} local-search rounds per fold; "
        f"total {time.perf_counter() - t_start:.0f} s.",
        "",
        f"Data sets: {', '.join(dsets)}. RF test accuracy, mean over folds.",
        "",
        "| Data set | " + " | ".join(COLUMNS) + " | search − all |",
        "|---|" + "---:|" * (len(COLUMNS) + 1),
    ]
    for d in dsets:
        m = {c: float(np.mean(res[d][c])) for c in COLUMNS}
        lines.append(
            f"| {d} | "
            + " | ".join(f"{m[c]:.3f}" for c in COLUMNS)
            + f" | {m['search'] - m['all data']:+.3f} |"
        )
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{means[c]:.3f}**" for c in COLUMNS)
        + f" | **{means['search'] - means['all data']:+.3f}** |"
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
