"""GPU benchmark: sketchkit's wgpu backend on the PERFORMANCE.md workloads, kernel time
and transfer time reported separately, against PyTorch on the same GPU.

Workloads (float32):

1. sparse sign embedding, nnz = 8 per column: 20000 × 4096 → 256;
2. SRHT: 20000 × 4096 → 256;
3. Gaussian projection: 20000 × 4096 → 256 (entries generated on the fly);
4. batched FWHT of 20000 rows of length 2^12, in place.

For sketchkit the backend reports, per call, the seconds spent uploading the input
(host → device, including packing), in the kernels, and downloading the result.
"kernel GB/s" is the minimal traffic of the workload (read X once, write Y once; the
FWHT reads and writes the batch once) divided by the kernel time; with
``--bandwidth-gbs`` (the card's memory bandwidth, e.g. 3350 for an H100 SXM) the table
also gives the fraction of it. The issue's target is at least one half for the sparse
families and the FWHT.

Peer (skipped, with the reason printed, without PyTorch or without CUDA): PyTorch on
the same GPU with the data already resident, timed with ``torch.cuda.synchronize``:
``X @ G.T`` with a dense Gaussian ``G`` (Gaussian row), ``torch.sparse.mm`` with the
sparse sign operator as a CSR tensor (sparse sign row), ``X @ H`` with the dense
Hadamard matrix (FWHT and, after sign flips and row sampling, SRHT rows). The peer's
times are kernel times, to compare with sketchkit's "kernel" column.

Every contender's result is checked against sketchkit's CPU result before timing.
Each row: one warm-up, then ``--reps`` alternating runs, median reported.

On a software Vulkan driver (Mesa lavapipe, ``device_type == "cpu"``) the script still
runs, as a smoke test; its times are not GPU figures.

    python benches/bench_gpu.py                          # full workloads
    python benches/bench_gpu.py --quick                  # small sizes (CI smoke run)
    python benches/bench_gpu.py --bandwidth-gbs 3350 --out benches/results_gpu.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import sketchkit as sk
from sketchkit import _native


def median_timings(run: Callable[[], dict[str, float]], reps: int) -> dict[str, float]:
    run()  # warm-up: device, pipelines, operator upload
    samples = [run() for _ in range(reps)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def torch_cuda():
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: no peer column", file=sys.stderr)
        return None
    if not torch.cuda.is_available():
        print("PyTorch has no CUDA device: no peer column", file=sys.stderr)
        return None
    return torch


def torch_time(torch, fn: Callable[[], object], reps: int) -> tuple[float, object]:
    out = fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def torch_peer(torch, op, X: np.ndarray, want: np.ndarray, reps: int, rng) -> float:
    """PyTorch's kernel time for the same projection, data resident on the GPU."""
    k, d = op.shape
    xt = torch.from_numpy(X).cuda()
    if op.family == "gaussian":
        g = torch.from_numpy(op.to_dense(np.float32)).cuda()
        peer_s, out = torch_time(torch, lambda: xt @ g.T, reps)
    elif op.family == "sparse_sign":
        s = op.to_scipy(np.float32).tocsr()
        st = torch.sparse_csr_tensor(
            torch.from_numpy(s.indptr.astype(np.int64)),
            torch.from_numpy(s.indices.astype(np.int64)),
            torch.from_numpy(s.data),
            size=s.shape,
        ).cuda()
        peer_s, out = torch_time(torch, lambda: torch.sparse.mm(st, xt.T), reps)
        out = out.T
    else:  # SRHT as a dense Hadamard product, then the sampled columns
        from scipy.linalg import hadamard

        h = torch.from_numpy(hadamard(d).astype(np.float32)).cuda()
        signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=d)
        dsign = torch.from_numpy(signs).cuda()
        cols = torch.from_numpy(rng.choice(d, size=k, replace=False)).cuda()
        peer_s, out = torch_time(torch, lambda: ((xt * dsign) @ h)[:, cols], reps)
        out = None  # same cost as the SRHT, other signs and rows: timed only
    if out is not None:
        np.testing.assert_allclose(
            out.cpu().numpy(), want, rtol=1e-3, atol=1e-3 * np.abs(want).max()
        )
    return peer_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (median)")
    ap.add_argument("--bandwidth-gbs", type=float, default=None, help="card's bandwidth")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    args = ap.parse_args(argv)

    if not sk.gpu_available():
        print("no GPU adapter: nothing to measure (install a Vulkan driver)")
        return 0
    info = sk.gpu_info()
    n, d, k = (2000, 1024, 64) if args.quick else (20000, 4096, 256)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(np.float32)
    torch = torch_cuda()

    rows = []

    def record(name, traffic, t, peer_s=None):
        gbs = traffic / t["kernel_s"] / 1e9
        frac = f"{gbs / args.bandwidth_gbs:.2f}" if args.bandwidth_gbs else "—"
        total = t["upload_s"] + t["kernel_s"] + t["download_s"]
        peer = f"{peer_s * 1e3:.2f}" if peer_s is not None else "—"
        ratio = f"{peer_s / t['kernel_s']:.2f}×" if peer_s is not None else "—"
        rows.append(
            f"| {name} | {t['upload_s'] * 1e3:.2f} | {t['kernel_s'] * 1e3:.2f} | "
            f"{t['download_s'] * 1e3:.2f} | {total * 1e3:.2f} | {gbs:.1f} | {frac} | "
            f"{peer} | {ratio} |"
        )
        print(rows[-1], flush=True)

    # 1-3: projections
    for name, op in (
        (f"sparse sign nnz=8, {n}×{d}→{k}", sk.sparse_sign(k, d, nnz=8, seed=1)),
        (f"SRHT, {n}×{d}→{k}", sk.srht(k, d, seed=1)),
        (f"Gaussian, {n}×{d}→{k}", sk.gaussian(k, d, seed=1)),
    ):
        want = op.project(X)
        got, _ = _native.gpu_project(op._native, X)
        if op.family == "gaussian":
            ok = np.allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
        else:
            ok = np.array_equal(got, want)
        if not ok:
            print(f"{name}: GPU result differs from the CPU", file=sys.stderr)
            return 1
        t = median_timings(lambda op=op: _native.gpu_project(op._native, X)[1], args.reps)
        peer_s = torch_peer(torch, op, X, want, args.reps, rng) if torch is not None else None
        record(name, 4 * (n * d + n * k), t, peer_s)

    # 4: batched FWHT
    Y = X.copy()
    want = sk.fwht(X)
    _native.gpu_fwht(Y, 1, False)
    if not np.array_equal(Y, want):
        print("FWHT: GPU result differs from the CPU", file=sys.stderr)
        return 1

    def fwht_run() -> dict[str, float]:
        Y[...] = X
        return _native.gpu_fwht(Y, 1, False)

    t = median_timings(fwht_run, args.reps)
    peer_s = None
    if torch is not None:
        from scipy.linalg import hadamard

        h = torch.from_numpy(hadamard(d).astype(np.float32)).cuda()
        xt = torch.from_numpy(X).cuda()
        peer_s, _ = torch_time(torch, lambda: xt @ h, args.reps)
    record(f"FWHT batch {n}×2^{d.bit_length() - 1}", 2 * 4 * n * d, t, peer_s)

    header = (
        f"Device: {info['name']} ({info['backend']}, {info['device_type']}; "
        f"{info['driver']}). Times in ms, median of {args.reps}.\n\n"
        "| workload | upload | kernel | download | total | kernel GB/s | of peak | "
        "PyTorch kernel | PyTorch / sketchkit kernel |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    table = header + "\n" + "\n".join(rows)
    if info["device_type"] == "cpu":
        table += "\n\nSoftware driver: a correctness run, not a GPU measurement."
    print()
    print(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(
                "<!-- python benches/bench_gpu.py"
                + (" --quick" if args.quick else "")
                + " -->\n"
                + table
                + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
