"""Side-by-side benchmark of sketchkit's fast Walsh–Hadamard transform and SRHT.

Peers (each is skipped, with the reason printed, when it cannot be imported):

* ``ffht-unofficial`` (import ``ffht``; ``ffht.fht_(x)`` transforms a 1-D array in
  place, single-threaded);
* ``fht-cpu`` (import ``fht_cpu``; ``fht_cpu.fht(x, inplace=True)`` for 1-D arrays and
  ``fht_cpu.fht(X, axis=1, num_threads=t)`` for a batch of rows, with OpenMP);
* NumPy's ``X @ G`` with a pre-generated Gaussian matrix (matrix product only) and
  scikit-learn's ``GaussianRandomProjection`` for the SRHT projection.

Install the transform peers with::

    pip install numpy pybind11 setuptools wheel
    pip install --no-build-isolation ffht-unofficial
    pip install fht-cpu

Rows:

1. in-place transforms of float32 vectors of length n = 2^10, 2^12, 2^16, 2^20, single
   thread (``sketchkit.set_num_threads(1)``), per-transform time: a ``(rows, n)``
   buffer with ``rows · n = 2^22`` (at least 4 rows: 16 MiB, more than L2 holds) is
   re-copied from the input outside the timed region before every timed run, and each
   contender transforms every row of its fresh copy in place, one call per row, from
   a plain Python loop (``for row in buf: f(row)``). sketchkit runs twice: with its
   default finite check and with ``check_finite=False`` (the peers check nothing); on
   a CPU with AVX-512, twice more on its AVX2 path (the kernels of an AVX2-only
   machine). These runs follow each other without the pause the other rows take
   (``SETTLE``): no thread pool is involved;
2. a batch of 20000 × 2^12 float32 rows in place: the peers looped over rows from
   Python (and fht-cpu's own batch call), against ``sketchkit.fwht(X, axis=1,
   inplace=True)`` with 1 thread and all threads. The batch is re-copied from the
   input before every run, outside the timed region;
3. an SRHT projection 20000 × 4096 → 256 float32, ``X @ sketchkit.srht(256, 4096,
   seed=r).T`` with the operator built in every run, against NumPy's ``X @ G`` and
   scikit-learn's ``GaussianRandomProjection(256).fit_transform(X)``.

Every row times the contenders on the same input in one run: one warm-up each, then
``--reps`` alternating repetitions, and the median of each. All contenders of a row
transform the same buffer (re-copied before each run), and all buffers are 64-byte
aligned. Every transform's result is checked against sketchkit's before timing.

    python benches/bench_fwht.py                 # full workloads
    python benches/bench_fwht.py --quick         # small sizes (CI smoke run)
    python benches/bench_fwht.py --out benches/results_fwht.md
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType

import numpy as np

import sketchkit as sk
from sketchkit import _native

# Pause before each timed run so that the previous contender's worker threads
# (OpenBLAS spins for a while after a call; rayon and OpenMP briefly too) are idle
# again. The single-thread rows (1.) run back to back instead: no pool is involved,
# and on the VMs this project is measured on a pause lets the re-copied buffer's
# lines leave L3, which is a different workload (data from DRAM) than the one the
# rows describe.
SETTLE = 0.1


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def try_import(name: str, package: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken build raising anything else
        print(f"skipping {package}: cannot import {name!r} ({type(exc).__name__}: {exc})")
        return None


def aligned_empty(shape: tuple[int, ...], dtype: type, align: int = 64) -> np.ndarray:
    """An uninitialized C-order array whose data starts on an ``align``-byte boundary."""
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + nbytes].view(dt).reshape(shape)


def aligned_copy(a: np.ndarray) -> np.ndarray:
    out = aligned_empty(a.shape, a.dtype)
    np.copyto(out, a)
    return out


# A contender is a function of the repetition index that returns the seconds it spent
# in the timed region (so that untimed set-up, like refreshing an in-place buffer, can
# happen inside it).
Contender = Callable[[int], float]


def contest(
    contenders: dict[str, Contender], reps: int, settle: float = SETTLE
) -> dict[str, float]:
    """Median seconds of each contender: one warm-up each, then alternating runs,
    each after a pause of ``settle`` seconds."""
    for fn in contenders.values():
        fn(0)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(1, reps + 1):
        for name, fn in contenders.items():
            if settle:
                time.sleep(settle)
            samples[name].append(fn(r))
    return {name: statistics.median(ts) for name, ts in samples.items()}


def timed_call(fn: Callable[[int], object]) -> Contender:
    def run(r: int) -> float:
        t0 = time.perf_counter()
        fn(r)
        return time.perf_counter() - t0

    return run


def fmt_t(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


class Table:
    def __init__(self) -> None:
        self.rows: list[str] = []

    def add(
        self, workload: str, peer: str, tp: float, threads: int, to: float, nbytes: int | None
    ) -> None:
        gbs = f"{nbytes / to / 1e9:.1f}" if nbytes else "–"
        self.rows.append(
            f"| {workload} | {peer} | {fmt_t(tp)} | {threads} | {fmt_t(to)} | {gbs} "
            f"| **{tp / to:.2f}×** |"
        )
        print(self.rows[-1], flush=True)

    def add_alone(self, workload: str, threads: int, to: float, nbytes: int) -> None:
        """A sketchkit timing without a peer (none installed)."""
        self.rows.append(
            f"| {workload} | (no peer installed) | – | {threads} | {fmt_t(to)} "
            f"| {nbytes / to / 1e9:.1f} | – |"
        )
        print(self.rows[-1], flush=True)

    def markdown(self, header: str) -> str:
        head = (
            "| workload | peer | peer time | sketchkit threads | sketchkit time "
            "| sketchkit GB/s of input | speed-up |\n|---|---|---|---|---|---|---|"
        )
        return header + "\n\n" + head + "\n" + "\n".join(self.rows) + "\n"


def refreshed(
    transform: Callable[[np.ndarray], object], src: np.ndarray, buf: np.ndarray
) -> Contender:
    """One in-place transform of ``buf``, re-copied from ``src`` before each run.

    Every contender of a row gets the same ``buf``: separate buffers of 16 MiB and
    more land on different physical pages (huge pages or not, different cache sets),
    which moved single contenders' times by up to 2x between buffers in one process.
    """

    def run(_r: int) -> float:
        np.copyto(buf, src)
        t0 = time.perf_counter()
        transform(buf)
        return time.perf_counter() - t0

    return run


def on_avx2(fn: Callable[[np.ndarray], None]) -> Callable[[np.ndarray], None]:
    """``fn`` run with sketchkit's kernels capped at the AVX2 level."""

    def run(buf: np.ndarray) -> None:
        _native.force_simd_level("avx2")
        try:
            fn(buf)
        finally:
            _native.force_simd_level(None)

    return run


def check_same(name: str, transform: Callable[[np.ndarray], object], src: np.ndarray) -> bool:
    """Whether ``transform`` (in place) agrees with sketchkit's unnormalized FWHT."""
    want = sk.fwht(src, axis=-1)
    got = aligned_copy(src)
    transform(got)
    ok = bool(np.allclose(got, want, rtol=1e-4, atol=1e-3 * np.sqrt(src.shape[-1])))
    if not ok:
        print(f"skipping {name}: its result differs from sketchkit.fwht on the same input")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions (median)")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    args = ap.parse_args(argv)

    q = args.quick
    reps = max(args.reps, 1)
    all_threads = os.cpu_count() or 1
    before_threads = sk.get_num_threads()
    rng = np.random.default_rng(0)
    table = Table()

    ffht = try_import("ffht", "ffht-unofficial")
    fht_cpu = try_import("fht_cpu", "fht-cpu")
    try:
        import sklearn
        from sklearn.random_projection import GaussianRandomProjection as SkGaussian
    except ImportError as exc:
        print(f"skipping scikit-learn: {exc}")
        sklearn, SkGaussian = None, None

    versions = [f"NumPy {np.__version__}"]
    if sklearn is not None:
        versions.append(f"scikit-learn {sklearn.__version__}")
    if ffht is not None:
        versions.append("ffht-unofficial")
    if fht_cpu is not None:
        versions.append(f"fht-cpu {getattr(fht_cpu, '__version__', '?')}")
    header = (
        f"Machine: {cpu_name()}, {all_threads} cores, sketchkit SIMD level "
        f"`{sk.simd_level()}`; Python {platform.python_version()}, {', '.join(versions)}; "
        f"median of {reps} alternating runs after a warm-up"
        f"{' (quick mode: small sizes)' if q else ''}. Transforms are in place and "
        "unnormalized on every side; inputs are re-copied outside the timed region."
    )
    print(header, flush=True)

    # Peers' in-place 1-D transforms, through their public functions.
    peers_1d: dict[str, Callable[[np.ndarray], object]] = {}
    if ffht is not None:
        peers_1d["ffht-unofficial `fht_`"] = ffht.fht_
    if fht_cpu is not None:
        peers_1d["fht-cpu `fht`"] = lambda x, f=fht_cpu.fht: f(x, inplace=True)

    # Each contender's loop over the rows of a buffer, written as a user would write it
    # (no wrapper around the call).
    def ours_rows(buf: np.ndarray) -> None:
        fwht = sk.fwht
        for row in buf:
            fwht(row, inplace=True)

    def ours_rows_unchecked(buf: np.ndarray) -> None:
        fwht = sk.fwht
        for row in buf:
            fwht(row, inplace=True, check_finite=False)

    peer_rows: dict[str, Callable[[np.ndarray], None]] = {}
    if ffht is not None:

        def ffht_rows(buf: np.ndarray, f: Callable[[np.ndarray], object] = ffht.fht_) -> None:
            for row in buf:
                f(row)

        peer_rows["ffht-unofficial `fht_`"] = ffht_rows
    if fht_cpu is not None:

        def fht_cpu_rows(buf: np.ndarray, f: Callable[..., object] = fht_cpu.fht) -> None:
            for row in buf:
                f(row, inplace=True)

        peer_rows["fht-cpu `fht`"] = fht_cpu_rows

    # 1. Vectors, single thread, one call per row of a buffer larger than L2.
    sk.set_num_threads(1)
    sizes = (10, 12, 16) if q else (10, 12, 16, 20)
    for p in sizes:
        n = 2**p
        rows = max(4, 2 ** (20 if q else 22) // n)
        X = aligned_copy(rng.standard_normal((rows, n), dtype=np.float32))
        workload = (
            f"in-place FWHT of f32 vectors, n = 2^{p}, one call per row of a {rows} × n buffer"
        )
        work = aligned_copy(X)  # the one buffer every contender transforms
        ours = {
            "ours": refreshed(ours_rows, X, work),
            "unchecked": refreshed(ours_rows_unchecked, X, work),
        }
        labels = [("ours", ""), ("unchecked", ", `check_finite=False`")]
        if sk.simd_level() == "avx512":  # also the kernels an AVX2-only machine runs
            ours["avx2"] = refreshed(on_avx2(ours_rows), X, work)
            ours["avx2_unchecked"] = refreshed(on_avx2(ours_rows_unchecked), X, work)
            labels += [("avx2", ", AVX2 path"), ("avx2_unchecked", ", AVX2 path, unchecked")]
        for peer_name, peer in peer_rows.items():
            if not check_same(peer_name, peer, X):
                continue
            # No pause: every contender here runs on the calling thread only, so
            # there are no worker threads to settle (the protocol has none).
            t = contest({"peer": refreshed(peer, X, work), **ours}, reps, settle=0.0)
            for key, label in labels:
                table.add(
                    workload + label, peer_name, t["peer"] / rows, 1, t[key] / rows, X[0].nbytes
                )
        if not peer_rows:
            t = contest(ours, reps, settle=0.0)
            table.add_alone(workload, 1, t["ours"] / rows, X[0].nbytes)

    # 2. A batch of rows in place.
    rows, p = (2000, 12) if q else (20000, 12)
    n = 2**p
    X0 = aligned_copy(rng.standard_normal((rows, n), dtype=np.float32))
    work = aligned_copy(X0)
    batch = f"in-place FWHT of {rows} × 2^{p} f32 rows"
    batch_peers: dict[str, tuple[Callable[[np.ndarray], object], int | None]] = {}
    for peer_name, peer in peers_1d.items():

        def loop(X: np.ndarray, f: Callable[[np.ndarray], object] = peer) -> None:
            for i in range(X.shape[0]):
                f(X[i])

        batch_peers[f"{peer_name} looped over rows"] = (loop, None)
    if fht_cpu is not None:
        for t in sorted({1, all_threads}):
            batch_peers[f"fht-cpu 2-D call, {t} thread{'s' if t > 1 else ''}"] = (
                lambda X, f=fht_cpu.fht, t=t: f(X, axis=1, inplace=True, num_threads=t),
                t,
            )
    if not batch_peers:
        for threads in sorted({1, all_threads}):
            sk.set_num_threads(threads)
            t = contest(
                {"ours": refreshed(lambda X: sk.fwht(X, axis=1, inplace=True), X0, work)}, reps
            )
            table.add_alone(batch, threads, t["ours"], X0.nbytes)
    for peer_name, (peer, peer_threads) in batch_peers.items():
        if not check_same(peer_name, peer, X0[:64]):
            continue
        for threads in sorted({1, all_threads}):
            if peer_threads is not None and peer_threads != threads:
                continue  # compare a threaded peer call at its own thread count
            sk.set_num_threads(threads)
            # Both of sketchkit's call semantics: the default finite check (one more
            # read of the batch before any row is overwritten) and none, as the peers.
            t = contest(
                {
                    "peer": refreshed(peer, X0, work),
                    "ours": refreshed(lambda X: sk.fwht(X, axis=1, inplace=True), X0, work),
                    "unchecked": refreshed(
                        lambda X: sk.fwht(X, axis=1, inplace=True, check_finite=False), X0, work
                    ),
                },
                reps,
            )
            table.add(batch, peer_name, t["peer"], threads, t["ours"], X0.nbytes)
            table.add(
                batch + ", `check_finite=False`",
                peer_name,
                t["peer"],
                threads,
                t["unchecked"],
                X0.nbytes,
            )
    del X0, work

    # 3. SRHT projection against dense Gaussian projections.
    n_rows, d, k = (2000, 1024, 64) if q else (20000, 4096, 256)
    X = rng.standard_normal((n_rows, d), dtype=np.float32)
    G = (rng.standard_normal((d, k), dtype=np.float32) / np.float32(np.sqrt(k))).astype(np.float32)
    srht_name = f"projection of dense f32 {n_rows}×{d} → {k}"
    peers_proj: dict[str, Callable[[int], object]] = {
        "NumPy `X @ G` (pre-generated f32 Gaussian G, matmul only)": lambda r: X @ G,
    }
    if SkGaussian is not None:
        peers_proj["sklearn GaussianRandomProjection fit_transform"] = lambda r: SkGaussian(
            k, random_state=r
        ).fit_transform(X)
    for peer_name, peer in peers_proj.items():
        for threads in sorted({1, all_threads}):
            sk.set_num_threads(threads)
            t = contest(
                {
                    "peer": timed_call(peer),
                    "ours": timed_call(lambda r: X @ sk.srht(k, d, seed=r).T),
                },
                reps,
            )
            table.add(
                f"{srht_name}, SRHT (operator built per run)",
                peer_name,
                t["peer"],
                threads,
                t["ours"],
                X.nbytes,
            )

    sk.set_num_threads(before_threads)
    md = table.markdown(header)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
