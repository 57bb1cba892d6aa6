"""Embedding compression benchmark: sketchkit.compress.EmbeddingCompressor against
faiss-cpu's scalar quantizers and binary index, recall@10 at equal bytes per vector and
encode/search throughput on one thread.

    python benches/bench_compress.py                # 100 000 × 384, 1000 queries
    python benches/bench_compress.py --quick        # 10 000 × 384, 100 queries
    python benches/bench_compress.py --out benches/results_compress.md

No installed package ships sentence-level embeddings, so the data are clustered
synthetic embeddings with a power-law spectrum (eigenvalues ∝ i^-1, like sentence
encoders'), unit-normalized; queries are drawn from the same clusters. Exact search is
inner-product (cosine) top-10 in float64.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import sketchkit as sk
from sketchkit.compress import EmbeddingCompressor

K = 10


def synthetic(n: int, m: int, d: int = 384, clusters: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = np.arange(1, d + 1, dtype=np.float64) ** -0.5  # variances ∝ i^-1
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    centers = rng.standard_normal((clusters, d)) * scale

    def draw(count):
        c = centers[rng.integers(0, clusters, count)]
        X = (c + 0.6 * rng.standard_normal((count, d)) * scale) @ basis.T
        return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)

    return draw(n), draw(m)


def exact(X, Q):
    out = np.empty((len(Q), K), np.int64)
    for s in range(0, len(Q), 200):
        S = Q[s : s + 200].astype(np.float64) @ X.T.astype(np.float64)
        out[s : s + 200] = np.argsort(-S, axis=1, kind="stable")[:, :K]
    return out


def recall(found, truth):
    return float(
        np.mean(
            [len(set(a) & set(b)) / K for a, b in zip(found.tolist(), truth.tolist(), strict=True)]
        )
    )


def best_of(fn, reps=3):
    best, out = np.inf, None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--out", help="write the Markdown results here")
    args = ap.parse_args()
    n, m = (10000, 100) if args.quick else (100000, 1000)
    d = 384
    X, Q = synthetic(n, m, d)
    truth = exact(X, Q)
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        faiss = None
    sk.set_num_threads(1)

    rows = []

    def ours(reduce, comp, quant):
        c = EmbeddingCompressor(reduce=reduce, n_components=comp, quantize=quant, random_state=0)
        c.fit(X)
        t_enc, codes = best_of(lambda: c.encode(X), 1)
        t_s, (idx, _) = best_of(lambda: c.search(codes, Q, K), 1)
        name = (
            f"sketchkit {reduce or 'none'}{'-' + str(comp) if comp else ''} + {quant or 'float32'}"
        )
        name += "" if quant in (None,) else " (rotated)"
        return name, c.bytes_per_vector_, recall(idx, truth), n / t_enc, m / t_s

    def faiss_sq(qtype, label, pca=None):
        Xs, Qs, dd = X, Q, d
        if pca is not None:
            mat = faiss.PCAMatrix(d, pca)
            mat.train(X)
            Xs, Qs, dd = mat.apply(X), mat.apply(Q), pca
        index = faiss.IndexScalarQuantizer(dd, qtype, faiss.METRIC_INNER_PRODUCT)
        index.train(Xs)
        t_enc, _ = best_of(lambda: index.sa_encode(Xs), 1)
        index.add(Xs)
        t_s, (_, idx) = best_of(lambda: index.search(Qs, K), 1)
        return f"faiss {label}", index.sa_code_size(), recall(idx, truth), n / t_enc, m / t_s

    def faiss_binary():
        mu = X.mean(axis=0)
        enc = lambda A: np.packbits((A - mu) > 0, axis=1)  # noqa: E731
        t_enc, xb = best_of(lambda: enc(X), 1)
        index = faiss.IndexBinaryFlat(d)
        index.add(xb)
        t_s, (_, idx) = best_of(lambda: index.search(enc(Q), K), 1)
        return (
            "faiss IndexBinaryFlat (sign bits of centred data)",
            d // 8,
            recall(idx, truth),
            n / t_enc,
            m / t_s,
        )

    def faiss_flat():
        index = faiss.IndexFlatIP(d)
        index.add(X)
        t_s, (_, idx) = best_of(lambda: index.search(Q, K), 1)
        return (
            "faiss IndexFlatIP (float32, exact)",
            4 * d,
            recall(idx, truth),
            float("nan"),
            m / t_s,
        )

    plan = [
        (lambda: ours(None, None, None), lambda: faiss_flat() if faiss else None),
        (
            lambda: ours(None, None, "float16"),
            lambda: faiss_sq(faiss.ScalarQuantizer.QT_fp16, "SQfp16") if faiss else None,
        ),
        (
            lambda: ours(None, None, "int8"),
            lambda: faiss_sq(faiss.ScalarQuantizer.QT_8bit, "SQ8") if faiss else None,
        ),
        (lambda: ours(None, None, "float8_e4m3"), lambda: None),
        (
            lambda: ours("pca", d // 2, "int8"),
            lambda: faiss_sq(faiss.ScalarQuantizer.QT_4bit, "SQ4") if faiss else None,
        ),
        (
            lambda: ours("pca", d // 2, "int8"),
            lambda: (
                faiss_sq(faiss.ScalarQuantizer.QT_8bit, f"PCA-{d // 2} + SQ8", pca=d // 2)
                if faiss
                else None
            ),
        ),
        (
            lambda: ours("pca", d // 4, "int8"),
            lambda: (
                faiss_sq(faiss.ScalarQuantizer.QT_8bit, f"PCA-{d // 4} + SQ8", pca=d // 4)
                if faiss
                else None
            ),
        ),
        (lambda: ours(None, None, "binary"), lambda: faiss_binary() if faiss else None),
    ]
    seen = {}
    for mine, theirs in plan:
        a = mine()
        key = a[0]
        if key not in seen:
            seen[key] = a
        b = theirs()
        rows.append((seen[key], b))
        print(rows[-1], flush=True)

    def fmt(r):
        if r is None:
            return "— | — | — | —"
        enc = "—" if np.isnan(r[3]) else f"{r[3] / 1e6:.2f} M/s"
        return f"{r[0]} | {r[1]:g} | {r[2]:.3f} | {enc} | {r[4]:,.0f} q/s"

    lines = ["# Embedding compression: recall and throughput", ""]
    lines.append(
        f"Machine: {platform.processor() or platform.machine()}, SIMD level "
        f"`{sk.simd_level()}`, one thread on both sides; Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
        + (f", faiss-cpu {faiss.__version__}" if faiss else ", faiss-cpu not installed")
        + f". Clustered synthetic embeddings (no package ships sentence embeddings): {n:,} × "
        f"{d}, unit norm, power-law spectrum, {m} queries; recall@{K} against exact "
        "inner-product search. Encode throughput in vectors per second (sketchkit's includes "
        "reduction and rotation; faiss's `sa_encode`), search in queries per second over all "
        f"{n:,} codes." + (" Quick mode: small sizes." if args.quick else "")
    )
    lines += [
        "",
        "| sketchkit setting | bytes | recall@10 | encode | search | faiss peer | bytes | "
        "recall@10 | encode | search |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for a, b in rows:
        lines.append(f"| {fmt(a)} | {fmt(b)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
