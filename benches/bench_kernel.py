"""Random features: transform time against scikit-learn's RBFSampler and kernel
approximation error against the number of features (not a timed test).

    python benches/bench_kernel.py [--quick] [--out benches/results_kernel.md]

Timing: ``transform`` of n x d float32 rows into D features (float32 on both sides:
RBFSampler keeps float32 since scikit-learn 1.3), each fitted once; one warm-up, then
the median of ``--repeats`` runs taken in alternation (peer, then every sketchkit map)
so that machine load hits all alike; speed-up = peer median / sketchkit median.

Error: the relative Frobenius error ||Z Z^T - K||_F / ||K||_F of the Gram matrix of
held-out rows (features fitted on the other rows; K the exact RBF kernel with
gamma = 1 / (d Var X)), averaged over seeds, for D in a range, on scikit-learn's digits
(64 features, real data) and on a 784-feature clustered synthetic set.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.kernel_approximation import RBFSampler

import sketchkit as sk
from sketchkit.kernel_approximation import (
    OrthogonalRandomFeatures,
    RandomFourierFeatures,
    StructuredOrthogonalFeatures,
)

MAPS = {
    "RandomFourierFeatures": RandomFourierFeatures,
    "OrthogonalRandomFeatures": OrthogonalRandomFeatures,
    "StructuredOrthogonalFeatures": StructuredOrthogonalFeatures,
}


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def timing(n, d, D, repeats):
    rng = np.random.default_rng(0)
    X = rng.random((n, d), dtype=np.float32)
    gamma = 1.0 / (d * float(X.var()))
    peer = RBFSampler(gamma=gamma, n_components=D, random_state=0).fit(X)
    ours = {k: M(gamma=gamma, n_components=D, random_state=0).fit(X) for k, M in MAPS.items()}
    assert peer.transform(X[:10]).dtype == np.float32
    # warm-up
    peer.transform(X[:2000])
    for est in ours.values():
        est.transform(X[:2000])
    times = {"RBFSampler": [], **{k: [] for k in ours}}
    for _ in range(repeats):
        times["RBFSampler"].append(timed(lambda: peer.transform(X)))
        for k, est in ours.items():
            times[k].append(timed(lambda est=est: est.transform(X)))
    return {k: statistics.median(v) for k, v in times.items()}


def gram_error(Z, K):
    G = Z.astype(np.float64) @ Z.T.astype(np.float64)
    return float(np.linalg.norm(G - K) / np.linalg.norm(K))


def error_table(X, Ds, seeds, held_out):
    rng = np.random.default_rng(0)
    perm = rng.permutation(X.shape[0])
    test, train = X[perm[:held_out]], X[perm[held_out:]]
    gamma = 1.0 / (X.shape[1] * float(train.var()))
    sq = (test**2).sum(1)
    K = np.exp(-gamma * np.maximum(sq[:, None] + sq[None, :] - 2 * test @ test.T, 0))
    rows = {}
    for D in Ds:
        errs = {"RBFSampler": []}
        for s in seeds:
            peer = RBFSampler(gamma=gamma, n_components=D, random_state=s).fit(train)
            errs["RBFSampler"].append(gram_error(peer.transform(test), K))
            for k, M in MAPS.items():
                est = M(gamma=gamma, n_components=D, random_state=s).fit(train)
                errs.setdefault(k, []).append(gram_error(est.transform(test), K))
        rows[D] = {k: float(np.mean(v)) for k, v in errs.items()}
    return rows


def clustered(n, d, seed=0):
    """Clustered synthetic rows with a decaying spectrum (784 features)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, d)) * 2.0
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    spectrum = 1.0 / np.sqrt(1.0 + np.arange(d))
    return centers[rng.integers(0, 20, n)] + (rng.normal(size=(n, d)) * spectrum) @ basis.T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="write the markdown results here")
    args = ap.parse_args()
    n, d, D = (4000, 784, 1024) if args.quick else (60000, 784, 4096)
    repeats = 3 if args.quick else args.repeats
    t = timing(n, d, D, repeats)
    lines = [
        "# Random features",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"sketchkit SIMD level `{sk.simd_level()}`, {sk.get_num_threads()} threads; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}. `python benches/bench_kernel.py"
        f"{' --quick' if args.quick else ''}`.",
        "",
        f"Transform time, {n} × {d} float32 rows → D = {D} features (median of {repeats} "
        "alternating runs after a warm-up):",
        "",
        "| transformer | time | speed-up vs `RBFSampler` |",
        "|---|---|---|",
    ]
    for k, v in t.items():
        lines.append(f"| `{k}` | {v:.3f} s | **{t['RBFSampler'] / v:.2f}×** |")
    Ds = [128, 256, 512] if args.quick else [256, 512, 1024, 2048, 4096]
    seeds = range(2) if args.quick else range(5)
    sets = [("digits (1797 × 64)", load_digits().data.astype(np.float64), 300)]
    if not args.quick:
        sets.append(("clustered synthetic (3000 × 784)", clustered(3000, 784), 500))
    for name, X, held in sets:
        rows = error_table(X, Ds, seeds, held)
        lines += [
            "",
            f"Relative Frobenius error of the held-out Gram matrix, {name}, {held} held-out "
            f"rows, RBF kernel with γ = 1/(d Var X), mean over {len(seeds)} seeds:",
            "",
            "| D | `RBFSampler` | RFF | ORF | SORF |",
            "|---|---|---|---|---|",
        ]
        for D_, r in rows.items():
            lines.append(
                f"| {D_} | {r['RBFSampler']:.4f} | {r['RandomFourierFeatures']:.4f} | "
                f"{r['OrthogonalRandomFeatures']:.4f} | {r['StructuredOrthogonalFeatures']:.4f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
