"""FastRP benchmark: sketchkit.graph.FastRP against PyPI ``fastrp`` and a SciPy CSR
reference, on stochastic block model graphs; embedding quality by 5-fold logistic
regression on packaged graphs and planted-partition graphs.

    python benches/bench_graph.py                   # full run (10^5 and 10^6 nodes)
    python benches/bench_graph.py --quick           # small sizes (smoke run)
    python benches/bench_graph.py --out benches/results_graph.md

Every method uses GDS defaults: iteration weights (0, 1, 1), normalization strength 0,
node self-influence 0, initial vectors of density 1/3, dim 256 (the speed runs).
"""

from __future__ import annotations

import argparse
import gc
import platform
import time

import numpy as np
import scipy.sparse as sp

import sketchkit as sk
from sketchkit.graph import GDS_DENSITY, FastRP

DIM = 256
WEIGHTS = (0.0, 1.0, 1.0)


def sbm(n: int, edges: int, blocks: int, frac_in: float, seed: int):
    """Undirected SBM-like graph: ``edges`` endpoint pairs, a fraction ``frac_in``
    inside a block; symmetric CSR (float32, canonical) and block labels."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, blocks, n)
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], np.arange(blocks + 1))
    u = rng.integers(0, n, edges)
    lo, hi = starts[lab[u]], starts[lab[u] + 1]
    v_in = order[lo + (rng.random(edges) * (hi - lo)).astype(np.int64)]
    v = np.where(rng.random(edges) < frac_in, v_in, rng.integers(0, n, edges))
    keep = u != v
    u, v = u[keep], v[keep]
    A = sp.csr_matrix((np.ones(2 * len(u), np.float32), (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    A.data[:] = 1.0  # merge duplicates to weight 1
    A.sum_duplicates()
    return A, lab


def scipy_fastrp(A, dim=DIM, weights=WEIGHTS, seed=0):
    """Reference FastRP in NumPy/SciPy: very sparse ±sqrt(3/dim) initial vectors,
    ``E_i = normalize(A E_{i-1})``, ``Y = Σ w_i E_i`` (SciPy's CSR × dense product)."""
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    u = rng.random((n, dim), dtype=np.float32)
    E = np.where(u < 1 / 6, -1.0, np.where(u > 5 / 6, 1.0, 0.0)).astype(np.float32)
    E *= np.float32(np.sqrt(3.0 / dim))
    del u
    out = np.zeros((n, dim), np.float32)
    for w in weights:
        E = A @ E
        nr = np.linalg.norm(E, axis=1, keepdims=True)
        nr[nr == 0] = 1
        E /= nr
        if w:
            out += np.float32(w) * E
    return out


def peer_fastrp(A, dim=DIM, weights=WEIGHTS, seed=0):
    import fastrp

    return fastrp.fit_csr(
        A.indptr, A.indices, A.data, A.shape[0], dim, list(weights), seed=seed, undirected=False
    )


def ours(A, dim=DIM, weights=WEIGHTS, seed=0):
    return FastRP(dim, iteration_weights=weights, random_state=seed).fit_transform(A)


def one_run(fn, A, threads=None):
    """Wall time of one call (``threads``: sketchkit's pool size for the call)."""
    before = sk.get_num_threads()
    if threads is not None:
        sk.set_num_threads(threads)
    try:
        gc.collect()
        t = time.perf_counter()
        E = fn(A)
        elapsed = time.perf_counter() - t
    finally:
        sk.set_num_threads(before)
    del E
    return elapsed


def alternating(contenders, A, reps, warm):
    """Median wall time of each contender (a name -> (fn, threads) mapping), the
    contenders run in turn ``reps`` times after one untimed warm-up of those named in
    ``warm``."""
    for name in warm:
        fn, threads = contenders[name]
        one_run(fn, A, threads)
    times = {name: [] for name in contenders}
    for _ in range(reps):
        for name, (fn, threads) in contenders.items():
            times[name].append(one_run(fn, A, threads))
    return {name: float(np.median(t)) for name, t in times.items()}


def check_against_reference(A):
    """sketchkit's embedding equals the float64 formula on the same random vectors
    (before any timing)."""
    n = A.shape[0]
    est = FastRP(DIM, iteration_weights=WEIGHTS, random_state=0)
    got = est.fit_transform(A)
    E = sk.very_sparse(DIM, n, density=GDS_DENSITY, seed=0).to_dense().T
    want = np.zeros((n, DIM))
    Ad = A.astype(np.float64)
    for w in WEIGHTS:
        E = Ad @ E
        nr = np.linalg.norm(E, axis=1, keepdims=True)
        nr[nr == 0] = 1
        E /= nr
        want += w * E
    err = float(np.abs(got - want).max())
    if err > 1e-4:
        raise SystemExit(f"sketchkit's FastRP differs from the reference by {err:.2e}")


def accuracy(E, y, seed=0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = LogisticRegression(max_iter=2000)
    return float(cross_val_score(clf, E, y, cv=cv).mean())


def drosophila(data_dir: str | None):
    """graspologic's left drosophila connectome (adjacency, cell-type labels): from
    graspologic when it imports, else from its data files in ``data_dir``
    (``graspologic/datasets/drosophila``; graspologic pins NumPy < 2, so it cannot share
    an environment with NumPy 2)."""
    try:
        from graspologic.datasets import load_drosophila_left

        M, labels = load_drosophila_left(return_labels=True)
        return np.asarray(M), np.asarray(labels), "graspologic"
    except ImportError:
        if not data_dir:
            return None
        import os

        M = np.loadtxt(os.path.join(data_dir, "left_adjacency.csv"), dtype=int)
        labels = np.loadtxt(os.path.join(data_dir, "left_cell_labels.csv"), dtype=str)
        return M, labels, "graspologic's data files"


def _networkx_graphs(nx):
    """Karate club (a graph networkx ships) and planted-partition graphs."""
    G = nx.karate_club_graph()
    A = sp.csr_matrix(nx.to_scipy_sparse_array(G, weight=None, dtype=np.float32))
    y = np.array([G.nodes[i]["club"] == "Officer" for i in G.nodes], dtype=int)
    yield "networkx karate club (34 nodes, 78 edges, 2 clubs)", A, y
    for n, blocks, p_in, p_out in [(400, 4, 0.1, 0.02), (1000, 10, 0.05, 0.01)]:
        G = nx.planted_partition_graph(blocks, n // blocks, p_in, p_out, seed=1)
        A = sp.csr_matrix(nx.to_scipy_sparse_array(G, weight=None, dtype=np.float32))
        y = np.repeat(np.arange(blocks), n // blocks)
        yield f"planted partition {blocks}×{n // blocks}, p_in {p_in}, p_out {p_out}", A, y


def quality_graphs(quick: bool, data_dir: str | None = None):
    try:
        import networkx as nx
    except ImportError:
        print("networkx is not installed: no karate club or planted-partition graphs")
        nx = None
    if nx is not None:
        yield from _networkx_graphs(nx)
    found = drosophila(data_dir)
    if found is not None:
        M, labels, source = found
        A = sp.csr_matrix((M > 0).astype(np.float32))
        A = A.maximum(A.T).tocsr()
        A.sum_duplicates()
        _, y = np.unique(labels, return_inverse=True)
        yield (
            f"drosophila left connectome ({source}; {A.shape[0]} nodes, "
            f"{A.nnz // 2} edges symmetrized, {y.max() + 1} cell types)",
            A,
            y,
        )
    n = 3000 if quick else 10000
    A, y = sbm(n, 5 * n, 20, 0.5, seed=3)
    yield f"SBM {n} nodes, 20 blocks, avg degree ≈ 10, half the edges inside", A, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--out", help="write the Markdown results here")
    ap.add_argument(
        "--drosophila",
        help="graspologic's datasets/drosophila folder, used when graspologic is not importable",
    )
    args = ap.parse_args()
    q = args.quick
    seeds = 3 if q else 10
    try:
        import fastrp  # noqa: F401

        have_peer = True
    except ImportError:
        have_peer = False
    lines = ["# FastRP: speed and quality", ""]
    lines.append(
        f"Machine: {platform.processor() or platform.machine()}, {sk.get_num_threads()} "
        f"threads, SIMD level `{sk.simd_level()}`; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {__import__('scipy').__version__}"
        + (
            f", fastrp {__import__('importlib.metadata').metadata.version('fastrp')}"
            if have_peer
            else ""
        )
        + f". GDS defaults, dim {DIM}, 3 iterations, undirected SBM graphs with average degree "
        "20 (each edge stored in both directions). Median wall time of 5 alternating runs "
        "after a warm-up (3 runs at 10^6 nodes, the SciPy reference not warmed up there); "
        "sketchkit's output is checked against the float64 formula before timing"
        + (" (quick mode: small sizes)." if q else ".")
    )
    lines += [
        "",
        "| graph | SciPy reference | PyPI fastrp | sketchkit 1 thread | sketchkit all threads | "
        "speed-up vs faster peer |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    sizes = [(2000, 20000), (20000, 200000)] if q else [(10**5, 10**6), (10**6, 10**7)]
    threads = sk.get_num_threads()
    for n, m in sizes:
        A, _ = sbm(n, m, 50, 0.8, seed=0)
        if n == sizes[0][0]:
            check_against_reference(A)
        contenders = {"ref": (scipy_fastrp, None)}
        if have_peer:
            contenders["peer"] = (peer_fastrp, None)
        contenders["one"] = (ours, 1)
        contenders["all"] = (ours, threads)
        small = n <= 10**5
        t = alternating(
            contenders,
            A,
            reps=5 if small else 3,
            warm=[name for name in contenders if small or name != "ref"],
        )
        t_ref, t_one, t_all = t["ref"], t["one"], t["all"]
        t_peer = t.get("peer", float("nan"))
        best_peer = np.nanmin([t_ref, t_peer])
        lines.append(
            f"| {n:,} nodes, {A.nnz // 2:,} edges | {t_ref:.2f} s | "
            + (f"{t_peer:.2f} s" if have_peer else "not installed")
            + f" | {t_one:.2f} s | {t_all:.2f} s | **{best_peer / t_all:.2f}×** |"
        )
        print(lines[-1], flush=True)
        del A
        gc.collect()
    lines += [
        "",
        "Quality: mean 5-fold logistic-regression accuracy on the embeddings (GDS defaults, "
        "dim 64; the same random-vector distribution in every method, different draws).",
        "",
        "| graph | SciPy reference | PyPI fastrp | sketchkit |",
        "|---|---:|---:|---:|",
    ]
    for name, A, y in quality_graphs(q, args.drosophila):
        accs = []
        for fn in (scipy_fastrp, peer_fastrp if have_peer else None, ours):
            if fn is None:
                accs.append("—")
                continue
            vals = [accuracy(fn(A, dim=64, seed=s), y) for s in range(seeds)]
            accs.append(f"{np.mean(vals):.3f}")
        lines.append(f"| {name} | " + " | ".join(accs) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        f"Accuracies are means over {seeds} seeds of the random vectors. PyPI fastrp is "
        "an independent multi-threaded Rust implementation (its own normalization); "
        "the SciPy reference follows the same formula as sketchkit with its own draws. "
        "graspologic pins NumPy < 2, so it cannot share this environment: its drosophila "
        "files are read directly (`--drosophila DIR`) when it is not importable.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
