"""Dask benchmark: sketchkit.dask against scikit-learn in ``map_blocks`` on a two-worker
LocalCluster, and against sketchkit in one process, on a float32 ``.npy`` on disk.

    python benches/bench_dask.py                       # 4,000,000 x 256 float32 (4 GiB)
    python benches/bench_dask.py --quick               # 200,000 x 256: seconds
    python benches/bench_dask.py --data DIR --out benches/results_dask.md

The data file is written once (``DIR/bench_dask_<n>x256.npy``, default ``/tmp``) and
reused. Contenders, all projecting to 64 components with the same very sparse matrix
distribution (density ``1/sqrt(256) = 1/16``), float32 in and out, dense output:

* ``sketchkit.dask``: :class:`sketchkit.SparseRandomProjection` applied to the Dask
  array (its tasks carry the seed);
* scikit-learn in ``map_blocks``: ``X.map_blocks(est.transform)`` with
  :class:`sklearn.random_projection.SparseRandomProjection` (``dense_output=True``), the
  usual way to run it on Dask;
* sketchkit in one process: ``S.project`` on row blocks of the memory-mapped file, no
  Dask (every core on the kernels).

On the cluster (2 worker processes, 1 thread each; sketchkit's kernels on one thread
per worker, like scipy's sparse product) the row chunks are read by the workers from
the file, nothing is shipped from the client, in two ways that both contenders share:
a task returns its rows as a view of the memory-mapped file (``np.load(path,
mmap_mode="r")[start:stop]``, the usual way to put a ``.npy`` on disk under Dask; the
transform then reads the file's pages itself), or copies them into a new array with
``readinto``. Each run computes the column sums of the projection, so that the timing
is the projection and not a transfer of its result to the client. The peak resident memory
of each worker process (``VmHWM`` of ``/proc/<pid>/status``, reset through
``/proc/self/clear_refs`` before each run) is reported in MiB and in input chunks.
One warm-up run each, then the median of ``--reps`` runs, contenders alternating.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

import numpy as np

D, K = 256, 64
DENSITY = 1 / 16  # 1 / sqrt(D): both libraries' 'auto'
OURS, PEER, ONE = "sketchkit.dask", "scikit-learn in map_blocks", "sketchkit, one process"
#: How the workers get a chunk's rows: a view of the memory-mapped file, or a copy.
READS = ("memmap view", "copied (readinto)")


# ---------------------------------------------------------------------- data
def write_data(path: str, n: int, block: int = 1 << 18) -> None:
    """``n x 256`` float32 rows: a rank-16 signal plus noise, written block by block."""
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((16, D)).astype(np.float32)
    tmp = path + ".part"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, D))
    for start in range(0, n, block):
        rows = min(block, n - start)
        signal = rng.standard_normal((rows, 16), dtype=np.float32) @ basis
        out[start : start + rows] = signal + rng.standard_normal((rows, D), dtype=np.float32)
    out.flush()
    del out
    os.replace(tmp, path)


def data_offset(path: str) -> tuple[int, tuple[int, int]]:
    """The byte offset of the rows in a C-ordered float32 ``.npy`` and its shape."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read(f)
        assert not fortran and dtype == np.float32
        return f.tell(), shape


def view_rows(path: str, block_info=None) -> np.ndarray:
    """One chunk's rows as a view of the memory-mapped file (no copy; the consumer
    reads the pages)."""
    (start, stop), _ = block_info[None]["array-location"]
    return np.load(path, mmap_mode="r")[start:stop]


def read_rows(path: str, offset: int, block_info=None) -> np.ndarray:
    """One chunk's rows, read from the file into a new array (the task a worker runs)."""
    (start, stop), _ = block_info[None]["array-location"]
    out = np.empty((stop - start, D), np.float32)
    with open(path, "rb", buffering=0) as f:
        f.seek(offset + start * D * 4)
        f.readinto(memoryview(out).cast("B"))
    return out


# ---------------------------------------------------------------------- workers' memory
def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def force_simd(level: str | None) -> str:
    """Caps sketchkit's SIMD level in this process (a worker: through ``client.run``);
    returns the level in use."""
    import sketchkit as sk
    from sketchkit import _native

    _native.force_simd_level(level)
    return sk.simd_level()


def reset_peak() -> int:
    """Reset this process's ``VmHWM`` to its current RSS, which is returned."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak_rss() -> int:
    return _status("VmHWM")


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows (seconds)")
    ap.add_argument("--data", default="/tmp", help="directory of the data file (default /tmp)")
    ap.add_argument("--reps", type=int, default=5, help="timed runs per contender (default 5)")
    ap.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk")
    ap.add_argument("--out", help="write the Markdown results here")
    ap.add_argument(
        "--simd",
        choices=("avx2", "avx512"),
        default=None,
        help="cap sketchkit's SIMD level in every process (default: the CPU's best)",
    )
    args = ap.parse_args()
    n = 200_000 if args.quick else 4_000_000
    chunk = args.chunk_rows or (16_384 if args.quick else 131_072)
    chunk_bytes = chunk * D * 4

    path = os.path.join(args.data, f"bench_dask_{n}x{D}.npy")
    if not os.path.exists(path):
        t = time.perf_counter()
        write_data(path, n)
        print(f"wrote {path} in {time.perf_counter() - t:.1f} s")
    offset, shape = data_offset(path)
    assert shape == (n, D)

    # One kernel thread per worker (like scipy's sparse product); set before the
    # workers start so that they inherit it.
    os.environ["SKETCHKIT_NUM_THREADS"] = "1"
    import dask
    import dask.array as da
    import distributed
    import sklearn
    from sklearn.random_projection import SparseRandomProjection as SkSRP

    import sketchkit as sk

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    sk.set_num_threads(os.cpu_count() or 1)  # this process: every core (one-process row)
    try:
        levels = {force_simd(args.simd), *client.run(force_simd, args.simd).values()}
        if len(levels) != 1:
            raise RuntimeError(f"SIMD levels differ between processes: {levels}")
        (level,) = levels
        chunks = ((chunk,) * (n // chunk) + ((n % chunk,) if n % chunk else ()), (D,))
        sources = {
            READS[0]: da.map_blocks(
                view_rows, path, chunks=chunks, dtype=np.float32, meta=np.empty((0, 0), np.float32)
            ),
            READS[1]: da.map_blocks(
                read_rows,
                path,
                offset,
                chunks=chunks,
                dtype=np.float32,
                meta=np.empty((0, 0), np.float32),
            ),
        }
        ours = sk.SparseRandomProjection(K, density=DENSITY, dense_output=True, random_state=0)
        ours.fit(sources[READS[0]])
        theirs = SkSRP(K, density=DENSITY, dense_output=True, random_state=0)
        theirs.fit(np.zeros((2, D), np.float32))  # float32 components, like ours
        graphs = {}
        for read, X in sources.items():
            graphs[(OURS, read)] = ours.transform(X).sum(axis=0)
            graphs[(PEER, read)] = X.map_blocks(
                theirs.transform, chunks=(X.chunks[0], (K,)), dtype=np.float32
            ).sum(axis=0)
        mm = np.load(path, mmap_mode="r")
        op = ours.operator_

        def single() -> np.ndarray:
            total = np.zeros(K, np.float64)
            for s in range(0, n, chunk):
                total += op.project(mm[s : s + chunk]).sum(axis=0, dtype=np.float64)
            return total

        times: dict[tuple[str, str], list[float]] = {k: [] for k in [*graphs, (ONE, READS[0])]}
        peaks: dict[tuple[str, str], list[int]] = {k: [] for k in graphs}
        growth: dict[tuple[str, str], list[int]] = {k: [] for k in graphs}
        for rep in range(args.reps + 1):  # rep 0: warm-up
            for name, graph in graphs.items():
                idle = client.run(reset_peak)
                t = time.perf_counter()
                dask.compute(graph, scheduler=client)
                elapsed = time.perf_counter() - t
                peak = client.run(peak_rss)
                if rep:
                    times[name].append(elapsed)
                    peaks[name].append(max(peak.values()))
                    growth[name].append(max(peak[w] - idle[w] for w in peak))
            t = time.perf_counter()
            single()
            if rep:
                times[(ONE, READS[0])].append(time.perf_counter() - t)
            print(f"run {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items() if v))
        threads = sk.get_num_threads()
        # The per-chunk work alone, in this process on one thread, alternating: a copy
        # of one chunk read from the file, and each library's transform of a memmap
        # view of a chunk and of a chunk already copied into memory.
        sk.set_num_threads(1)

        def loc(i: int) -> dict:
            return {None: {"array-location": [(i * chunk, (i + 1) * chunk), (0, D)]}}

        block = read_rows(path, offset, loc(0))
        kernel: dict[str, list[float]] = {}
        for rep in range(args.reps + 1):
            where = loc(rep % (n // chunk))  # a different chunk each repetition
            for label, fn in (
                ("read", lambda w=where: read_rows(path, offset, w)),
                ("sketchkit view", lambda w=where: ours.transform(view_rows(path, w))),
                ("scikit-learn view", lambda w=where: theirs.transform(view_rows(path, w))),
                ("sketchkit copied", lambda: ours.transform(block)),
                ("scikit-learn copied", lambda: theirs.transform(block)),
            ):
                t = time.perf_counter()
                fn()
                if rep:
                    kernel.setdefault(label, []).append(time.perf_counter() - t)
        load = os.getloadavg()[0]
    finally:
        client.close()
        cluster.close()

    med = {key: statistics.median(v) for key, v in times.items()}
    gib = n * D * 4 / 2**30
    lines = [
        "# Dask: sketchkit.dask against scikit-learn in map_blocks",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, sketchkit SIMD level "
        f"`{level}`; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, Dask {dask.__version__}. {n:,} x {D} float32 rows "
        f"({gib:.2f} GiB) in a `.npy` on disk, read by the workers in chunks of "
        f"{chunk:,} rows ({chunk_bytes / 2**20:.0f} MiB), either as views of the "
        "memory-mapped file or copied into memory with `readinto`; "
        f"{K} components, density 1/16, "
        f"dense float32 output; a distributed LocalCluster of 2 worker processes with 1 "
        f"thread each (sketchkit on 1 kernel thread per worker); each run computes the "
        f"column sums of the projection. Median of {args.reps} alternating runs after a "
        f"warm-up. Peak RSS: the larger worker's `VmHWM` (reset before each run; mapped "
        "file pages count while mapped); above "
        "idle: its growth over the worker's resident size before the run, the memory "
        "the computation held, also counted in input chunks.",
        "",
        "| contender | chunks | time (s) | rows/s | vs sketchkit.dask, same chunks "
        "| peak RSS per worker | above idle | in chunks |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (name, read), seconds in med.items():
        ratio = seconds / med[(OURS, read)]
        rate = f"{n / seconds / 1e6:.1f} M"
        if (name, read) in peaks:
            rss = statistics.median(peaks[(name, read)])
            grown = statistics.median(growth[(name, read)])
            mem = f"{rss / 2**20:,.0f} MiB"
            above = f"{grown / 2**20:,.0f} MiB"
            rel = f"{grown / chunk_bytes:.1f}"
        else:
            mem, above, rel = "—", "—", "—"
        label = name if name != ONE else f"{name} ({threads} threads)"
        lines.append(
            f"| {label} | {read} | {seconds:.3f} | {rate} | {ratio:.2f}× | {mem} | {above} "
            f"| {rel} |"
        )
    pc = {label: statistics.median(v) * 1e3 for label, v in kernel.items()}
    lines += [
        "",
        f"Per chunk on one thread in one process (median of {args.reps}): copying it "
        f"into memory {pc['read']:.0f} ms; on a memmap view, sketchkit's transform "
        f"{pc['sketchkit view']:.0f} ms and scikit-learn's {pc['scikit-learn view']:.0f} "
        f"ms ({pc['scikit-learn view'] / pc['sketchkit view']:.1f}×); on a copied chunk, "
        f"{pc['sketchkit copied']:.0f} ms and {pc['scikit-learn copied']:.0f} ms "
        f"({pc['scikit-learn copied'] / pc['sketchkit copied']:.1f}× on the transform "
        f"alone). One-minute load average at the end of the run: {load:.1f} on "
        f"{os.cpu_count()} cores.",
    ]
    view, copied = (med[(PEER, r)] / med[(OURS, r)] for r in READS)
    over = med[(OURS, READS[0])] / med[(ONE, READS[0])]
    lines += [
        "",
        f"sketchkit.dask is {view:.1f}× faster than scikit-learn's transform in "
        f"`map_blocks` on the same cluster with memmap views ({copied:.1f}× when every "
        "chunk is first copied into memory, a cost both pay); with views the cluster run "
        f"takes {over:.2f}× the time of sketchkit in one process on the memory-mapped "
        "file"
        + (
            " (the cost of Dask: task scheduling, one kernel thread per worker)."
            if over > 1
            else " (one process splits each chunk over its threads; the workers each take "
            "whole chunks)."
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
