"""Side-by-side benchmark of sketchkit against its peers on the reference workloads.

Peers: scikit-learn's ``SparseRandomProjection`` and ``GaussianRandomProjection``,
SciPy's ``clarkson_woodruff_transform``. Every row times the peer and sketchkit on the
same input in one run: one warm-up each, then ``--reps`` alternating rounds (peer,
sketchkit, ..., each round starting one contender later, so that no contender always
runs right after the same one), and the median of each. Runs follow each other back
to back, except in rows with an OpenBLAS contender (the Gaussian rows), where each
run waits ``SETTLE`` seconds for the previous contender's spinning threads. sketchkit
is timed with 1 thread and with all cores; peers run as they ship (scikit-learn's
sparse products are single-threaded; NumPy's matmul uses OpenBLAS threads), and the
Gaussian rows with fewer sketchkit threads than cores are repeated with the peer's
OpenBLAS limited to the same thread count (``threadpoolctl``), like for like.

Every sketchkit timing builds its operator from scratch (a new estimator or a new
seed), exactly as the peer does, so no cached state is reused between repetitions; the
result cache is off (``sk.set_output_cache(0)``), so every call's result comes from
fresh memory, as the peers' do.
On a CPU with AVX-512 sketchkit is also timed on its AVX2 path (the kernels an
AVX2-only machine runs; ``force_simd_level("avx2")``), alternating with the others,
and the table gives both. Rows with dense input also time NumPy's streaming read of
the same array (``X.sum()``, one thread) in the same alternation, and give sketchkit's
time divided by it: how far a memory-bound kernel is from one read of its input.

    python benches/bench_projection.py              # full PERFORMANCE.md workloads
    python benches/bench_projection.py --quick      # small sizes (CI smoke run)
    python benches/bench_projection.py --out benches/results.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy.linalg import clarkson_woodruff_transform
from sklearn.random_projection import GaussianRandomProjection as SkGaussian
from sklearn.random_projection import SparseRandomProjection as SkSparse
from threadpoolctl import threadpool_limits

import sketchkit as sk
from sketchkit import _native


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# Pause before each timed run of a row with an OpenBLAS contender, so that its worker
# threads (which spin for a while after a call) are idle again. Rows without one run
# back to back: rayon's workers go to sleep soon after a call, and on a VM whose
# idle vCPUs the host parks after ~10 ms, a pause would slow whichever contender uses
# more than one thread (and let freed memory go back to the host), which no user
# calling in a loop sees.
SETTLE = 0.1


def timed(fn: Callable[[int], object], rep: int, settle: float) -> float:
    if settle:
        time.sleep(settle)
    t0 = time.perf_counter()
    fn(rep)
    return time.perf_counter() - t0


def compare(
    peer: Callable[[int], object],
    ours: Callable[[int], object],
    reps: int,
    stream: Callable[[int], object] | None = None,
    settle: float = 0.0,
) -> tuple[float, float, float | None, float | None]:
    """Median seconds of peer, ours, ours on the AVX2 path (None unless this CPU has
    AVX-512, where the AVX2 path is the one an AVX2-only machine would run) and
    ``stream`` (NumPy's streaming read of the same input, ``X.sum()``; None when not
    given): one warm-up each, then alternating runs, each round starting with the
    next contender, each run after a pause of ``settle`` seconds."""
    contenders = [peer, ours]
    avx2 = sk.simd_level() == "avx512"
    if avx2:

        def ours_avx2(r: int) -> object:
            _native.force_simd_level("avx2")
            try:
                return ours(r)
            finally:
                _native.force_simd_level(None)

        contenders.append(ours_avx2)
    if stream is not None:
        contenders.append(stream)
    for fn in contenders:
        fn(0)
    times: list[list[float]] = [[] for _ in contenders]
    for r in range(1, reps + 1):
        # Each round starts with the next contender, so that none always runs right
        # after the peer (whose freed memory the next fresh allocation pays for).
        for i in range(len(contenders)):
            c = (i + r) % len(contenders)
            times[c].append(timed(contenders[c], r, settle))
    med = [statistics.median(ts) for ts in times]
    return (
        med[0],
        med[1],
        med[2] if avx2 else None,
        med[-1] if stream is not None else None,
    )


def fmt_t(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


class Table:
    def __init__(self) -> None:
        self.rows: list[str] = []

    def add(
        self,
        workload: str,
        peer_name: str,
        tp: float,
        threads: int,
        to: float,
        nbytes: int | None,
        to_avx2: float | None = None,
        t_stream: float | None = None,
    ) -> None:
        gbs = f"{nbytes / to / 1e9:.1f}" if nbytes else "–"
        avx2 = f"{fmt_t(to_avx2)} | **{tp / to_avx2:.1f}×**" if to_avx2 else "– | –"
        if t_stream:
            rel = f"{to / t_stream:.2f} | " + (f"{to_avx2 / t_stream:.2f}" if to_avx2 else "–")
        else:
            rel = "– | –"
        self.rows.append(
            f"| {workload} | {peer_name} | {fmt_t(tp)} | {threads} | {fmt_t(to)} | {gbs} "
            f"| **{tp / to:.1f}×** | {avx2} | {rel} |"
        )
        print(self.rows[-1], flush=True)

    def markdown(self, header: str) -> str:
        head = (
            "| workload | peer | peer time | sketchkit threads | sketchkit time "
            "| sketchkit GB/s of input | speed-up | AVX2 path: time | AVX2 path: speed-up "
            "| sketchkit time ÷ `X.sum()` time | AVX2 path ÷ `X.sum()` |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|"
        )
        return header + "\n\n" + head + "\n" + "\n".join(self.rows) + "\n"


def make_csr(n: int, d: int, per_row: int, rng: np.random.Generator) -> sp.csr_matrix:
    indices = np.sort(rng.integers(0, d, size=(n, per_row), dtype=np.int32), axis=1).ravel()
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int32)
    data = rng.standard_normal(n * per_row, dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(n, d))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (median)")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    args = ap.parse_args(argv)

    q = args.quick
    reps = max(args.reps, 1)
    sk.set_output_cache(0)  # fresh result memory on every call, like the peers
    all_threads = os.cpu_count() or 1
    thread_counts = sorted({1, all_threads})
    rng = np.random.default_rng(0)
    table = Table()
    header = (
        f"Machine: {cpu_name()}, {all_threads} cores, sketchkit SIMD level "
        f"`{sk.simd_level()}`; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"SciPy {scipy.__version__}, scikit-learn {sklearn.__version__}; median of {reps} "
        f"alternating runs after a warm-up{' (quick mode: small sizes)' if q else ''}."
    )
    print(header, flush=True)

    # 1-2. Dense f32 n×d -> k, fit + transform.
    n, d, k = (2000, 1024, 64) if q else (20000, 4096, 256)
    X = rng.standard_normal((n, d), dtype=np.float32)
    dense_name = f"dense f32 {n}×{d} → {k}"
    for ours_cls, peer_cls, label in [
        (sk.SparseRandomProjection, SkSparse, "sparse RP (density 1/√d), fit+transform"),
        (sk.SparseSignProjection, SkSparse, "sparse sign (nnz=8), fit+transform"),
        (sk.GaussianRandomProjection, SkGaussian, "Gaussian RP, fit+transform"),
    ]:
        for threads in thread_counts:
            sk.set_num_threads(threads)
            tp, to, to2, ts = compare(
                lambda r, c=peer_cls, X=X: c(k, random_state=r).fit_transform(X),
                lambda r, c=ours_cls, X=X: c(k, random_state=r).fit_transform(X),
                reps,
                stream=lambda r, X=X: X.sum(),
                # scikit-learn's Gaussian RP multiplies with OpenBLAS
                settle=SETTLE if peer_cls is SkGaussian else 0.0,
            )
            table.add(
                f"{dense_name}, {label}",
                f"sklearn {peer_cls.__name__}",
                tp,
                threads,
                to,
                X.nbytes,
                to2,
                ts,
            )
            if peer_cls is SkGaussian and threads < all_threads:
                # Like for like: the peer's OpenBLAS limited to sketchkit's threads.
                def limited(r: int, X: np.ndarray = X, t: int = threads) -> object:
                    with threadpool_limits(limits=t):
                        return SkGaussian(k, random_state=r).fit_transform(X)

                tp, to, to2, ts = compare(
                    limited,
                    lambda r, X=X: sk.GaussianRandomProjection(k, random_state=r).fit_transform(X),
                    reps,
                    stream=lambda r, X=X: X.sum(),
                    settle=SETTLE,
                )
                table.add(
                    f"{dense_name}, {label}",
                    f"sklearn {peer_cls.__name__}, OpenBLAS limited to {threads} thread(s)",
                    tp,
                    threads,
                    to,
                    X.nbytes,
                    to2,
                    ts,
                )

    # 3. CSR n×d with 100 nnz per row, f32 -> k (sparse output, as scikit-learn's default).
    n, d, per = (10000, 10000, 20) if q else (100000, 100000, 100)
    Xs = make_csr(n, d, per, rng)
    nbytes = Xs.data.nbytes + Xs.indices.nbytes + Xs.indptr.nbytes
    for threads in thread_counts:
        sk.set_num_threads(threads)
        tp, to, to2, _ = compare(
            lambda r, Xs=Xs: SkSparse(k, random_state=r).fit_transform(Xs),
            lambda r, Xs=Xs: sk.SparseRandomProjection(k, random_state=r).fit_transform(Xs),
            reps,
        )
        table.add(
            f"CSR f32 {n}×{d}, {per} nnz/row → {k}, sparse RP",
            "sklearn SparseRandomProjection",
            tp,
            threads,
            to,
            nbytes,
            to2,
        )

    # 4. CountSketch of rows: dense n×m -> k rows.
    n, m, k = (20000, 100, 500) if q else (200000, 100, 2000)
    for dtype in (np.float64, np.float32):
        A = rng.standard_normal((n, m)).astype(dtype)
        peer_dtype = clarkson_woodruff_transform(A[:10], 5, seed=0).dtype
        for threads in thread_counts:
            sk.set_num_threads(threads)
            tp, to, to2, ts = compare(
                lambda r, A=A: clarkson_woodruff_transform(A, k, seed=r),
                lambda r, A=A: sk.countsketch(k, n, seed=r) @ A,
                reps,
                stream=lambda r, A=A: A.sum(),
            )
            table.add(
                f"CountSketch rows, dense {np.dtype(dtype).name} {n}×{m} → {k} rows "
                f"(scipy returns {peer_dtype}, sketchkit {np.dtype(dtype).name})",
                "scipy clarkson_woodruff_transform",
                tp,
                threads,
                to,
                A.nbytes,
                to2,
                ts,
            )
    sk.set_num_threads(all_threads)

    md = table.markdown(header)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
