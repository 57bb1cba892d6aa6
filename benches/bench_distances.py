"""Sliced Wasserstein: time against POT's ``ot.sliced_wasserstein_distance`` with the
same projections, and the variance over seeds of the control-variate estimator
against plain Monte Carlo (not a timed test).

    python benches/bench_distances.py [--quick] [--out benches/results_distances.md]

Timing: n x d float64 point clouds X and Y, L directions; POT receives sketchkit's
directions (``projections=theta.T``) so both compute the same quantity, which is
checked; one warm-up, then the median of ``--repeats`` alternating runs.

Variance: for each data set and L, the estimate of SW_2^2 is computed with seeds
0..S-1 by plain Monte Carlo and with control variates over the same directions; the
table gives both variances over the seeds and their ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import ot
from sklearn.datasets import load_digits

import sketchkit as sk
from sketchkit.distances import sliced_projections, sliced_wasserstein


def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def timing(n, d, L, repeats, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)).astype(dtype)
    Y = (rng.normal(size=(n, d)) * 1.5 + 0.2).astype(dtype)
    theta = sliced_projections(d, L, seed=7)
    proj = theta.T.astype(dtype)
    ours = lambda: sliced_wasserstein(X, Y, n_projections=L, seed=7, control_variates=False)  # noqa: E731
    peer = lambda: ot.sliced_wasserstein_distance(X, Y, projections=proj)  # noqa: E731
    r_ours, r_peer = ours(), peer()  # warm-up and agreement
    rel = abs(r_ours.distance - float(r_peer)) / float(r_peer)
    tp, to = [], []
    for _ in range(repeats):
        tp.append(timed(peer)[0])
        to.append(timed(ours)[0])
    return statistics.median(tp), statistics.median(to), rel


def variance_rows(name, X, Y, Ls, seeds):
    rows = []
    for L in Ls:
        res = [sliced_wasserstein(X, Y, n_projections=L, seed=s) for s in seeds]
        low = [
            sliced_wasserstein(X, Y, n_projections=L, seed=s, control_variates="lower")
            for s in seeds
        ]
        up = [
            sliced_wasserstein(X, Y, n_projections=L, seed=s, control_variates="upper")
            for s in seeds
        ]
        mc = np.var([r.mc_power for r in res], ddof=1)
        vb = np.var([r.power for r in res], ddof=1)
        vl = np.var([r.power for r in low], ddof=1)
        vu = np.var([r.power for r in up], ddof=1)
        mean = np.mean([r.mc_power for r in res])
        rows.append(
            f"| {name} | {L} | {mean:.4g} | {mc:.3g} | {vl:.3g} ({mc / vl:.1f}×) | "
            f"{vu:.3g} ({mc / vu:.1f}×) | {vb:.3g} (**{mc / vb:.1f}×**) |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="write the markdown results here")
    args = ap.parse_args()
    n, d, L = (10_000, 128, 200) if args.quick else (100_000, 128, 200)
    repeats = 3 if args.quick else args.repeats
    lines = [
        "# Sliced distances",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"sketchkit SIMD level `{sk.simd_level()}`, {sk.get_num_threads()} threads; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, POT {ot.__version__}. "
        f"`python benches/bench_distances.py{' --quick' if args.quick else ''}`.",
        "",
        f"Sliced Wasserstein-2 of two {n} × {d} point clouds, {L} directions (POT given "
        f"sketchkit's directions), median of {repeats} alternating runs after a warm-up:",
        "",
        "| dtype | POT `sliced_wasserstein_distance` | sketchkit `sliced_wasserstein` | "
        "speed-up | relative difference of the results |",
        "|---|---|---|---|---|",
    ]
    for dtype in (np.float64, np.float32):
        tp, to, rel = timing(n, d, L, repeats, dtype)
        lines.append(
            f"| {np.dtype(dtype).name} | {tp:.3f} s | {to:.3f} s | **{tp / to:.1f}×** | {rel:.1e} |"
        )
    seeds = range(50) if args.quick else range(200)
    Ls = [10, 50] if args.quick else [10, 50, 200]
    rng = np.random.default_rng(1)
    scale = np.linspace(0.5, 2.0, 32)
    gx = rng.normal(size=(2000, 32)) * scale
    gy = rng.normal(size=(2000, 32)) * scale[::-1] + 0.3
    digits = load_digits()
    dx, dy = digits.data[digits.target < 5], digits.data[digits.target >= 5]
    cx = rng.normal(size=(3000, 64))
    cy = np.vstack([rng.normal(size=(1500, 64)) - 1, rng.normal(size=(1500, 64)) + 1])
    lines += [
        "",
        f"Variance of the SW₂² estimate over {len(seeds)} seeds, plain Monte Carlo against "
        "control variates on the same directions (in brackets: variance reduction):",
        "",
        "| data | L | SW₂² | Monte Carlo | lower CV | upper CV | both CVs (default) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += variance_rows("Gaussians, 2000 × 32, different scales and means", gx, gy, Ls, seeds)
    lines += variance_rows("digits 0–4 vs 5–9 (64 features)", dx, dy, Ls, seeds)
    lines += variance_rows("N(0, I) vs two-cluster mixture (64 features)", cx, cy, Ls, seeds)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
