"""Side-by-side benchmark of ``sketchkit.linalg`` against NumPy, SciPy and scikit-learn.

The workloads of issue 12's table. Every row times the peer and sketchkit on the same
input in one run: one warm-up each, then ``--reps`` alternating repetitions (peer,
sketchkit, peer, ...), and the median of each. Inputs are built (with fixed seeds)
outside the timed region; every contender runs with its defaults and as it ships
(OpenBLAS threads for NumPy/SciPy/scikit-learn, all cores for sketchkit).

1. Least squares, dense f64 ``n×d`` with condition number 1e8:
   ``A = U diag(logspace(0, -8, d)) Vᵀ``, ``U`` and ``V`` from QRs of Gaussian
   matrices; one Gaussian right-hand side ``b``. Peer ``numpy.linalg.lstsq(A, b,
   rcond=None)``; sketchkit ``sketchkit.linalg.lstsq(A, b)`` (defaults). Accuracy:
   ``‖Ax_sk − b‖ / ‖Ax_peer − b‖ − 1`` (negative: sketchkit's residual is smaller).
   For a random ``b`` most of the residual lies outside the range of ``A``, so this
   ratio is quadratic in the solution error; the note gives the solution difference.
2. The same problem against ``scipy.linalg.lstsq(A, b, lapack_driver="gelsy")``.
3. Least squares, CSR f64 ``n×d`` with 10 distinct random positions per row
   (Gaussian values), column ``j`` multiplied by ``logspace(0, -6, d)[j]`` (condition
   number about 1e6). Peer ``scipy.sparse.linalg.lsqr`` run *to the same residual*:
   a calibration pass (a transcription of SciPy's LSQR recurrence that evaluates the
   true residual ``‖b − Ax_k‖`` after every iteration, outside the timing) finds the
   first iteration ``k`` whose residual is within ``1 + 1e-10`` of sketchkit's; the
   timed call is ``lsqr(A, b, atol=0, btol=0, conlim=0, iter_lim=k)``, so LSQR gets an
   oracle stopping rule. The search is capped at ``--lsqr-iters`` iterations and at
   what one LSQR run does in ``--lsqr-budget`` seconds; when the cap binds, the row
   says so and the speed-up is a lower bound.
4. ``randomized_svd`` of a dense ``n×d`` matrix in f32 and f64: Gaussian times
   ``diag((1 + j)^-1)`` (power-law spectrum), rank 100, ``n_oversamples=10``,
   ``n_iter="auto"`` and ``random_state=0`` for both; peer
   ``sklearn.utils.extmath.randomized_svd``. Accuracy: the spectral-norm error
   ``‖M − U diag(s) Vᵀ‖₂`` of sketchkit divided by scikit-learn's (residual formed in
   f64 outside the timing, its norm by ``scipy.sparse.linalg.svds(k=1)``).
5. ``randomized_svd`` of a CSR f64 ``10⁶×10⁵`` matrix with ``10⁷`` non-zeros (10
   distinct random positions per row, Gaussian values, column ``j`` scaled by
   ``(1 + j)^-1/2`` so the spectrum decays), rank 50, same call on both sides.
   Accuracy: the largest relative difference between the two sets of 50 singular
   values.
6. ``RandomizedPCA(20)`` on a CSR f64 ``10⁵×10⁴`` matrix at 1 % density
   (non-negative exponential values, column ``j`` scaled by ``(1 + j)^-1/2``, so the
   column means are non-zero and centring matters), against scikit-learn's
   ``TruncatedSVD(20, algorithm="randomized")`` on the CSR (uncentred: a different
   result, time only; it runs 5 power iterations where the others run 7) and
   ``PCA(20, svd_solver="randomized")`` on the densified matrix (densifying is outside
   the timing; scikit-learn's PCA takes sparse input only with the ARPACK and
   covariance solvers). Accuracy: the largest
   absolute difference of ``explained_variance_ratio_``. Each contender runs in a
   fresh subprocess per repetition (alternating, warm-up fit then timed fit in the
   child), which also reports its peak resident set: ``VmHWM`` during the fits (the
   peak is reset through ``/proc/self/clear_refs`` once the input is built) minus the
   resident set before the input was built, divided by the CSR input's bytes
   (``data + indices + indptr``). That footprint includes the input itself, so 1.0 is
   "nothing beyond the input"; the issue's target for sketchkit is below 2. The
   densified contender's footprint includes its dense matrix (the CSR is dropped
   first). The dense-PCA child needs about 17 GB at full size.
7. ``leverage_scores(A, method="approx")`` of a dense f64 ``10⁶×50`` matrix whose rows
   follow a multivariate t distribution with 3 degrees of freedom (heavy-tailed,
   non-uniform leverage), against exact scores from ``numpy.linalg.qr(A)`` (squared
   row norms of ``Q``, included in the peer's time). Accuracy: the largest relative
   error.

The full run takes about 45 to 60 minutes on 2 cores and peaks near 17 GB (workload 6's
dense PCA). ``--quick`` shrinks every size for a CI smoke run (well under a minute).

    python benches/bench_linalg.py                      # issue 12's workloads
    python benches/bench_linalg.py --quick              # small sizes (CI smoke run)
    python benches/bench_linalg.py --out benches/results_linalg.md
    python benches/bench_linalg.py --workloads 3,7      # a subset
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import sklearn
from sklearn.utils.extmath import randomized_svd as sk_randomized_svd

import sketchkit as sk
import sketchkit.linalg as skla

SEED = 0
# "The same residual": within this relative margin (issue 12's dense-row target).
RES_RTOL = 1e-10
GIB = 1024.0**3


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# Pause before each timed run so that the previous contender's worker threads
# (OpenBLAS spins for a while after a call; rayon briefly too) are idle again.
SETTLE = 0.1


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    time.sleep(SETTLE)
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def compare(
    peer: Callable[[], Any], ours: Callable[[], Any], reps: int
) -> tuple[float, float, Any, Any]:
    """Median seconds of peer and ours (one warm-up each, then alternating runs) and
    the last result of each."""
    res_p = peer()
    res_o = ours()
    tp, to = [], []
    for _ in range(reps):
        del res_p
        t, res_p = timed(peer)
        tp.append(t)
        del res_o
        t, res_o = timed(ours)
        to.append(t)
    return statistics.median(tp), statistics.median(to), res_p, res_o


def fmt_t(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


class Table:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.notes: list[str] = []
        self.failed: list[str] = []

    def add(
        self,
        workload: str,
        peer_name: str,
        tp: float,
        to: float,
        accuracy: str,
        memory: str = "–",
        lower_bound: bool = False,
    ) -> None:
        ge = "≥ " if lower_bound else ""
        self.rows.append(
            f"| {workload} | {peer_name} | {fmt_t(tp)} | {fmt_t(to)} "
            f"| **{ge}{tp / to:.1f}×** | {accuracy} | {memory} |"
        )
        print(self.rows[-1], flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def fail(self, workload: str, exc: BaseException) -> None:
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300].replace("|", "\\|")
        self.failed.append(workload)
        self.rows.append(f"| {workload} | – | – | – | – | failed: {msg} | – |")
        print(self.rows[-1], flush=True)
        if exc.__traceback__ is not None:
            traceback.print_exception(exc)

    def markdown(self, header: str) -> str:
        head = (
            "| workload | peer | peer time | sketchkit time | speed-up | accuracy "
            "| peak memory ÷ CSR input |\n|---|---|---|---|---|---|---|"
        )
        notes = "".join(f"\n* {n}" for n in self.notes)
        return (
            header
            + "\n\n"
            + head
            + "\n"
            + "\n".join(self.rows)
            + "\n"
            + (f"\nNotes:\n{notes}\n" if notes else "")
        )


# --------------------------------------------------------------------------- inputs


def ill_conditioned(n: int, d: int, decades: float, rng: np.random.Generator) -> np.ndarray:
    """Dense f64 ``U diag(logspace(0, -decades, d)) Vᵀ`` with Haar-like ``U`` and ``V``."""
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    U *= np.logspace(0, -decades, d)
    A = U @ V.T
    del U
    return A


def make_csr(
    n: int, d: int, per_row: int, rng: np.random.Generator, values: str = "normal"
) -> sp.csr_matrix:
    """CSR f64 with ``per_row`` distinct, sorted random column positions in each row.

    Positions: a sorted draw with replacement from ``d - per_row + 1`` values, shifted
    by ``0, 1, ..., per_row - 1`` (distinct by construction, canonical CSR).
    """
    pos = rng.integers(0, d - per_row + 1, size=(n, per_row), dtype=np.int32)
    pos.sort(axis=1)
    pos += np.arange(per_row, dtype=np.int32)
    indices = pos.ravel()
    indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int64)
    if indptr[-1] < 2**31:
        indptr = indptr.astype(np.int32)
    if values == "normal":
        data = rng.standard_normal(n * per_row)
    else:
        data = rng.exponential(size=n * per_row)
    A = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    A.has_canonical_format = True
    return A


def csr_bytes(A: sp.csr_matrix) -> int:
    return int(A.data.nbytes + A.indices.nbytes + A.indptr.nbytes)


def residual(A: Any, x: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(A @ x - b))


# --------------------------------------------------------------------------- LSQR


def _sym_ortho(a: float, b: float) -> tuple[float, float, float]:
    """SciPy's stable Givens rotation (``scipy.sparse.linalg._isolve.lsqr._sym_ortho``)."""
    if b == 0:
        return np.sign(a), 0.0, abs(a)
    if a == 0:
        return 0.0, np.sign(b), abs(b)
    if abs(b) > abs(a):
        tau = a / b
        s = np.sign(b) / math.sqrt(1 + tau * tau)
        return s * tau, s, b / s
    tau = b / a
    c = np.sign(a) / math.sqrt(1 + tau * tau)
    return c, c * tau, a / c


def lsqr_trace(
    A: sp.csr_matrix, b: np.ndarray, target: float, iter_lim: int
) -> tuple[int, float, bool]:
    """First LSQR iteration whose true residual ``‖b − A x_k‖`` is at most ``target``.

    The recurrence of ``scipy.sparse.linalg.lsqr`` for ``damp = 0`` and ``x0 = None``,
    operation for operation (Paige and Saunders' bidiagonalization, SciPy's plane
    rotations), so its iterates are SciPy's; only ``x`` is needed, so the norm and
    condition estimates are left out. Returns the iteration (or ``iter_lim``), its
    residual and whether the target was met.
    """
    op = spla.aslinearoperator(A)
    x = np.zeros(A.shape[1])
    beta = np.linalg.norm(b)
    if beta == 0:
        return 0, 0.0, True
    u = (1 / beta) * b
    v = op.rmatvec(u)
    alfa = np.linalg.norm(v)
    if alfa == 0:
        return 0, float(beta), bool(beta <= target)
    v = (1 / alfa) * v
    w = v.copy()
    rhobar, phibar = alfa, beta
    r = float(beta)
    for itn in range(1, iter_lim + 1):
        u = op.matvec(v) - alfa * u
        beta = np.linalg.norm(u)
        if beta > 0:
            u = (1 / beta) * u
            v = op.rmatvec(u) - beta * v
            alfa = np.linalg.norm(v)
            if alfa > 0:
                v = (1 / alfa) * v
        cs, sn, rho = _sym_ortho(rhobar, beta)
        theta = sn * alfa
        rhobar = -cs * alfa
        phi = cs * phibar
        phibar = sn * phibar
        x = x + (phi / rho) * w
        w = v + (-theta / rho) * w
        r = residual(A, x, b)
        if r <= target:
            return itn, r, True
    return iter_lim, r, False


# --------------------------------------------------------------------------- workloads


def w_dense_lstsq(table: Table, q: bool, reps: int, which: set[int]) -> None:
    n, d = (2000, 50) if q else (100000, 500)
    rng = np.random.default_rng(SEED)
    A = ill_conditioned(n, d, 8.0, rng)
    b = rng.standard_normal(n)
    name = f"lstsq, dense f64 {n}×{d}, cond 1e8, 1 rhs"
    peers: list[tuple[int, str, Callable[[], np.ndarray]]] = [
        (
            1,
            "numpy.linalg.lstsq (gelsd)",
            lambda: np.linalg.lstsq(A, b, rcond=None)[0],
        ),
        (
            2,
            'scipy.linalg.lstsq(lapack_driver="gelsy")',
            lambda: scipy.linalg.lstsq(A, b, lapack_driver="gelsy")[0],
        ),
    ]
    for num, peer_name, peer in peers:
        if num not in which:
            continue
        try:
            tp, to, xp, res = compare(peer, lambda: skla.lstsq(A, b), reps)
            rp, ro = residual(A, xp, b), residual(A, res.x, b)
            dx = float(np.linalg.norm(res.x - xp) / np.linalg.norm(xp))
            table.add(name, peer_name, tp, to, f"residual ratio − 1 = {ro / rp - 1:+.2e}")
            table.note(
                f"{peer_name}: sketchkit method `{res.method}`, sketch size {res.sketch_size}, "
                f"{res.iterations} iterations, converged {res.converged}; "
                f"‖x_sk − x_peer‖/‖x_peer‖ = {dx:.1e}; residuals {ro:.10e} (sketchkit) "
                f"and {rp:.10e} (peer)."
            )
        except Exception as exc:
            table.fail(f"{name} vs {peer_name}", exc)


def w_sparse_lstsq(table: Table, q: bool, reps: int, iter_cap: int, budget: float) -> None:
    n, d, per = (5000, 50, 10) if q else (1_000_000, 1000, 10)
    rng = np.random.default_rng(SEED + 1)
    A = make_csr(n, d, per, rng)
    A.data *= np.logspace(0, -6, d)[A.indices]
    b = rng.standard_normal(n)
    name = f"lstsq, CSR f64 {n}×{d}, {per} nnz/row, columns scaled to cond ~1e6"
    peer_name = "scipy.sparse.linalg.lsqr to the same residual"
    try:
        res = skla.lstsq(A, b)
        target = residual(A, res.x, b) * (1 + RES_RTOL)
        # Iteration cost of SciPy's LSQR, for the time budget.
        t0 = time.perf_counter()
        spla.lsqr(A, b, atol=0.0, btol=0.0, conlim=0.0, iter_lim=20)
        per_iter = (time.perf_counter() - t0) / 20
        cap = max(20, min(iter_cap, int(budget / per_iter)))
        k, rk, reached = lsqr_trace(A, b, target, cap)
        tp, to, xp, res = compare(
            lambda: spla.lsqr(A, b, atol=0.0, btol=0.0, conlim=0.0, iter_lim=k),
            lambda: skla.lstsq(A, b),
            reps,
        )
        rp, ro = residual(A, xp[0], b), residual(A, res.x, b)
        table.add(
            name,
            peer_name + ("" if reached else f" (capped at {k} iterations)"),
            tp,
            to,
            f"residual ratio − 1 = {ro / rp - 1:+.2e}",
            lower_bound=not reached,
        )
        how = (
            f"reached sketchkit's residual (within 1 + {RES_RTOL:g}) at iteration {k}"
            if reached
            else (
                f"did not reach sketchkit's residual within the cap of {k} iterations "
                f"(min of --lsqr-iters {iter_cap} and {budget:g} s at "
                f"{per_iter * 1e3:.1f} ms/iteration); its residual there is "
                f"{rk / target * (1 + RES_RTOL) - 1:+.2e} relative to sketchkit's, so the "
                "speed-up is a lower bound"
            )
        )
        table.note(
            f"CSR lstsq: LSQR {how}; timed as `lsqr(A, b, atol=0, btol=0, conlim=0, "
            f"iter_lim={k})` (SciPy stopped at {xp[2]}, istop {xp[1]}). sketchkit: method "
            f"`{res.method}`, sketch size {res.sketch_size}, {res.iterations} iterations, "
            f"converged {res.converged}."
        )
    except Exception as exc:
        table.fail(name, exc)


def spectral_norm(R: np.ndarray) -> float:
    s = spla.svds(R, k=1, return_singular_vectors=False, tol=1e-8, random_state=SEED)
    return float(s[0])


def w_dense_svd(table: Table, q: bool, reps: int) -> None:
    n, d, k = (1000, 256, 10) if q else (20000, 4096, 100)
    rng = np.random.default_rng(SEED + 2)
    M64 = rng.standard_normal((n, d))
    M64 *= 1.0 / np.arange(1, d + 1)
    for dtype in (np.float32, np.float64):
        dname = np.dtype(dtype).name
        name = f"randomized_svd, dense {dname} {n}×{d}, rank {k}"
        try:
            M = M64.astype(dtype) if dtype != np.float64 else M64
            kw: dict[str, Any] = {"n_oversamples": 10, "n_iter": "auto", "random_state": 0}
            tp, to, rp, ro = compare(
                lambda M=M, kw=kw: sk_randomized_svd(M, k, **kw),
                lambda M=M, kw=kw: skla.randomized_svd(M, k, **kw),
                reps,
            )
            errs = []
            for U, s, Vt in (ro, rp):
                R = M64 - (U.astype(np.float64) * s.astype(np.float64)) @ Vt.astype(np.float64)
                errs.append(spectral_norm(R))
                del R
            table.add(
                name,
                "sklearn.utils.extmath.randomized_svd",
                tp,
                to,
                f"spectral error ratio {errs[0] / errs[1]:.4f}",
            )
            table.note(
                f"{name}: ‖M − USVᵀ‖₂ = {errs[0]:.6e} (sketchkit), {errs[1]:.6e} "
                f"(scikit-learn); output dtypes {ro[0].dtype} and {rp[0].dtype}."
            )
            del M, rp, ro
        except Exception as exc:
            table.fail(name, exc)
        gc.collect()


def w_sparse_svd(table: Table, q: bool, reps: int) -> None:
    n, d, per, k = (10000, 2000, 5, 10) if q else (1_000_000, 100_000, 10, 50)
    rng = np.random.default_rng(SEED + 3)
    A = make_csr(n, d, per, rng)
    A.data *= (1.0 + A.indices) ** -0.5
    name = f"randomized_svd, CSR f64 {n}×{d}, {A.nnz} nnz, rank {k}"
    try:
        kw: dict[str, Any] = {"n_oversamples": 10, "n_iter": "auto", "random_state": 0}
        tp, to, rp, ro = compare(
            lambda: sk_randomized_svd(A, k, **kw), lambda: skla.randomized_svd(A, k, **kw), reps
        )
        rel = float(np.max(np.abs(ro[1] - rp[1]) / rp[1]))
        table.add(
            name,
            "sklearn.utils.extmath.randomized_svd",
            tp,
            to,
            f"max rel. diff. of the {k} singular values {rel:.1e}",
        )
    except Exception as exc:
        table.fail(name, exc)


# --------------------------------------------------------------------------- PCA (children)

PCA_CONTENDERS = {
    "sketchkit": "sketchkit RandomizedPCA on the CSR",
    "truncated": 'sklearn TruncatedSVD(algorithm="randomized") on the CSR (uncentred)',
    "pca-dense": 'sklearn PCA(svd_solver="randomized") on the densified matrix',
}


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


def pca_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One contender of workload 6 in this (fresh) process: warm-up fit, timed fit."""
    from sklearn.decomposition import PCA, TruncatedSVD

    who, k = spec["contender"], spec["k"]
    rss0 = _status_kib("VmRSS") or 0
    rng = np.random.default_rng(spec["seed"])
    X = make_csr(spec["n"], spec["d"], spec["per"], rng, values="exponential")
    X.data *= (1.0 + X.indices) ** -0.5
    out: dict[str, Any] = {"contender": who, "input_bytes": csr_bytes(X)}
    Xin: Any = X
    if who == "pca-dense":
        Xin = X.toarray()
        del X
    factories: dict[str, Callable[[], Any]] = {
        "sketchkit": lambda: sk.RandomizedPCA(k, random_state=0),
        "truncated": lambda: TruncatedSVD(k, algorithm="randomized", random_state=0),
        "pca-dense": lambda: PCA(k, svd_solver="randomized", random_state=0),
    }
    gc.collect()
    out["hwm_reset"] = _reset_hwm()
    est = factories[who]()
    t0 = time.perf_counter()
    est.fit(Xin)
    out["warmup_s"] = time.perf_counter() - t0
    del est
    est = factories[who]()
    time.sleep(SETTLE)
    t0 = time.perf_counter()
    est.fit(Xin)
    out["time_s"] = time.perf_counter() - t0
    out["footprint_bytes"] = max(0, _peak_kib() - rss0) * 1024
    out["evr"] = np.asarray(est.explained_variance_ratio_, dtype=np.float64).tolist()
    return out


def run_pca_child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--pca-worker", json.dumps(spec)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or [f"killed by signal {-p.returncode}"])[-1]
        return {"error": f"exit {p.returncode}: {tail}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def w_pca(table: Table, q: bool, reps: int, timeout: float) -> None:
    n, d, per, k = (2000, 500, 5, 10) if q else (100_000, 10_000, 100, 20)
    name = f"RandomizedPCA({k}), CSR f64 {n}×{d}, {per / d:.0%} density"
    spec = {"n": n, "d": d, "per": per, "k": k, "seed": SEED + 4}
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in PCA_CONTENDERS}
    errors: dict[str, str] = {}
    for _ in range(reps):
        for c in PCA_CONTENDERS:
            if c in errors:
                continue
            r = run_pca_child({**spec, "contender": c}, timeout)
            if "error" in r:
                errors[c] = r["error"]
                print(f"  {c}: {r['error']}", file=sys.stderr, flush=True)
            else:
                runs[c].append(r)
    if "sketchkit" in errors or not runs["sketchkit"]:
        table.fail(name, RuntimeError(errors.get("sketchkit", "no run")))
        return

    def mem(rs: list[dict[str, Any]]) -> float:
        return max(r["footprint_bytes"] for r in rs) / rs[0]["input_bytes"]

    ours = runs["sketchkit"]
    to = statistics.median(r["time_s"] for r in ours)
    evr_o = np.asarray(ours[-1]["evr"])
    for c, label in PCA_CONTENDERS.items():
        if c == "sketchkit":
            continue
        if c in errors:
            table.fail(f"{name} vs {label}", RuntimeError(errors[c]))
            continue
        tp = statistics.median(r["time_s"] for r in runs[c])
        if c == "truncated":
            acc = "– (uncentred: a different result)"
        else:
            acc = (
                "max abs. diff. of explained_variance_ratio_ "
                f"{float(np.max(np.abs(evr_o - np.asarray(runs[c][-1]['evr'])))):.1e}"
            )
        table.add(name, label, tp, to, acc, f"{mem(runs[c]):.2f} (sketchkit {mem(ours):.2f})")
    mib = ours[0]["input_bytes"] / 2**20
    reset = all(r.get("hwm_reset") for rs in runs.values() for r in rs)
    table.note(
        f"RandomizedPCA: CSR input {mib:.1f} MiB; each contender in a fresh process per "
        f"repetition ({reps} each), time of the second fit; sketchkit's explained variance "
        f"ratios sum to {evr_o.sum():.4f}."
        + ("" if reset else " Peak RSS could not be reset: it includes data generation.")
        + (
            " Quick mode: at this input size the memory ratios are dominated by fixed "
            "per-process allocations and say nothing about the full-size target."
            if q
            else ""
        )
    )


def w_leverage(table: Table, q: bool, reps: int) -> None:
    n, d = (10000, 20) if q else (1_000_000, 50)
    rng = np.random.default_rng(SEED + 5)
    A = rng.standard_normal((n, d))
    A /= np.sqrt(rng.chisquare(3, size=n) / 3)[:, None]
    name = f"leverage_scores approx, dense f64 {n}×{d} (t₃ rows)"

    def exact() -> np.ndarray:
        Q = np.linalg.qr(A)[0]
        return np.einsum("ij,ij->i", Q, Q)

    try:
        tp, to, lp, lo = compare(exact, lambda: skla.leverage_scores(A, method="approx"), reps)
        rel = float(np.max(np.abs(lo - lp) / lp))
        table.add(name, "numpy.linalg.qr, row norms² of Q", tp, to, f"max rel. error {rel:.3f}")
        table.note(
            f"leverage scores: exact ones range over [{lp.min():.2e}, {lp.max():.2e}], sum "
            f"{lp.sum():.4f}; sketchkit's sum {lo.sum():.4f}."
        )
    except Exception as exc:
        table.fail(name, exc)


# --------------------------------------------------------------------------- driver


def _git_rev() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=here,
        ).stdout.strip()
    except OSError:
        return ""
    return f"git {rev}{', modified tree' if dirty else ''}" if rev else ""


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown"
    seen = []
    for p in threadpool_info():
        if p.get("user_api") == "blas":
            s = f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
            if s not in seen:
                seen.append(s)
    return "BLAS " + ", ".join(seen) if seen else "BLAS unknown"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--pca-worker":
        print(json.dumps(pca_worker(json.loads(argv[1]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument(
        "--reps", type=int, default=None, help="timed repetitions (median); 5 by default, 3 quick"
    )
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    ap.add_argument("--workloads", default="1,2,3,4,5,6,7", help="comma-separated subset")
    ap.add_argument("--lsqr-iters", type=int, default=20000, help="iteration cap of the LSQR peer")
    ap.add_argument(
        "--lsqr-budget",
        type=float,
        default=None,
        help="seconds one LSQR peer run may take (caps its iterations; 120 s, quick 5 s)",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per PCA subprocess")
    args = ap.parse_args(argv)

    q = args.quick
    reps = args.reps if args.reps is not None else (3 if q else 5)
    if reps < 1 or (not q and reps < 5):
        ap.error("--reps must be at least 5 for the full run (at least 1 with --quick)")
    budget = args.lsqr_budget if args.lsqr_budget is not None else (5.0 if q else 120.0)
    try:
        which = {int(w) for w in args.workloads.split(",") if w.strip()}
    except ValueError:
        ap.error("--workloads takes comma-separated numbers 1-7")
    if not which or not which <= set(range(1, 8)):
        ap.error("--workloads takes comma-separated numbers 1-7")

    cores = os.cpu_count() or 1
    try:
        ram = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GIB:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram = ""
    script = os.path.relpath(
        os.path.abspath(__file__), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )
    command = " ".join(["python", script, *map(shlex.quote, argv)])
    rev = _git_rev()
    load0 = os.getloadavg()[0]
    t_start = time.perf_counter()
    table = Table()
    print(f"Running: {command}", flush=True)

    # Each workload builds its inputs and frees them on return.
    workloads: list[tuple[set[int], Callable[[], None]]] = [
        ({1, 2}, lambda: w_dense_lstsq(table, q, reps, which)),
        ({3}, lambda: w_sparse_lstsq(table, q, reps, args.lsqr_iters, budget)),
        ({4}, lambda: w_dense_svd(table, q, reps)),
        ({5}, lambda: w_sparse_svd(table, q, reps)),
        # Fresh processes per repetition: quick mode keeps their number small.
        ({6}, lambda: w_pca(table, q, min(reps, 2) if q else reps, args.timeout)),
        ({7}, lambda: w_leverage(table, q, reps)),
    ]
    for nums, run in workloads:
        if nums & which:
            t0 = time.perf_counter()
            run()
            gc.collect()
            label = ",".join(map(str, sorted(nums & which)))
            print(f"  workload {label}: {time.perf_counter() - t0:.1f} s", flush=True)

    total = time.perf_counter() - t_start
    header = (
        "# Randomized linear algebra: sketchkit against its peers\n\n"
        f"Reproduce: `{command}`\n\n"
        f"Machine: {platform.system()} {platform.machine()}, {cores} cores{ram}; CPU: "
        f"{cpu_name()}; sketchkit SIMD level `{sk.simd_level()}`, "
        f"{sk.get_num_threads()} sketchkit threads, {_blas()}. sketchkit "
        f"{getattr(sk, '__version__', '?')}{f' ({rev})' if rev else ''}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}. Median of {reps} alternating runs after a "
        f"warm-up{' (quick mode: small sizes)' if q else ''}; total {total:.0f} s; load "
        f"average at start {load0:.1f}, at end {os.getloadavg()[0]:.1f}."
    )
    md = table.markdown(header)
    print()
    print(md)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)
        print(f"wrote {args.out}")
    if table.failed:
        print(f"{len(table.failed)} row(s) failed: {'; '.join(table.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
