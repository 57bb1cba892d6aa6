"""Randomized linear algebra on sketchkit's operators.

Every algorithm runs in the Rust core (``sketchkit::linalg``); this module coerces
array-likes and hands them over. A matrix argument ``A`` may be

* a dense array (``float32`` or ``float64`` are used as they are, any layout, no copy;
  integers become ``float64``),
* a SciPy sparse matrix or array (CSR and CSC are read in place; other formats are
  converted to CSR), or
* a :class:`scipy.sparse.linalg.LinearOperator` (matrix-free: only its ``matmat`` and
  ``rmatmat`` are called), where the algorithm allows it.

Results have the dtype of ``A``. They are bit-identical for any thread count; the small
dense factorizations (QR, SVD, Cholesky of sketch-sized matrices) are faer's.

Functions
---------
lstsq
    Sketched least squares (sketch-and-precondition, sketch-and-solve, iterative
    Hessian sketch).
sketch_size
    The sketch-size calculator behind the defaults.
randomized_svd
    Randomized SVD with scikit-learn's signature, any sketch family as test matrix,
    and an adaptive (tolerance-driven) mode.
nystrom
    Stabilised Nyström approximation of a PSD matrix.
rp_cholesky
    Randomly pivoted Cholesky for kernel matrices.
hutchpp
    Hutch++ trace estimation.
leverage_scores
    Exact or approximate statistical leverage scores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from . import _native
from ._validation import (
    as_dense,
    as_float,
    as_int,
    as_sparse,
    check_choice,
    is_sparse,
    resolve_seed,
)

__all__ = [
    "LstsqResult",
    "hutchpp",
    "leverage_scores",
    "lstsq",
    "nystrom",
    "randomized_svd",
    "rp_cholesky",
    "sketch_size",
]

_DEFAULTS: dict[str, Any] = _native.linalg_defaults()


@dataclasses.dataclass(frozen=True)
class LstsqResult:
    """The solution of :func:`lstsq` and how it was reached.

    Attributes
    ----------
    x : numpy.ndarray
        Solution, shape ``(d,)`` for a 1-D ``b`` and ``(d, p)`` for a 2-D one.
    residual_norm : float or numpy.ndarray
        ``||b - A x||`` (computed, not estimated), per column for a 2-D ``b``.
    iterations : int
        Iterations run (0 for sketch-and-solve).
    converged : bool
        Whether every column met ``rtol`` (always true for sketch-and-solve).
    method : str
        The method that ran (``"auto"`` resolved).
    sketch_size : int
        Rows of the sketch.
    history : numpy.ndarray
        Residual norm after each iteration (LSQR's estimate for ``precondition``, the
        computed value for ``iterative``).
    """

    x: np.ndarray
    residual_norm: Any
    iterations: int
    converged: bool
    method: str
    sketch_size: int
    history: np.ndarray


def _is_operator(a: Any) -> bool:
    import sys

    spla = sys.modules.get("scipy.sparse.linalg")
    return spla is not None and isinstance(a, spla.LinearOperator)


def _operator_dtype(a: Any) -> str:
    dt = np.dtype(a.dtype) if a.dtype is not None else np.dtype(np.float64)
    return "float32" if dt == np.float32 else "float64"


def _matrix(a: Any, name: str = "A", *, operator: bool = True) -> tuple[Any, str, tuple]:
    """``A`` in the binding's form, with its dtype name and shape."""
    if _is_operator(a):
        if not operator:
            raise TypeError(f"{name} must be a dense array or a SciPy sparse matrix here")
        n, d = (as_int(v, f"{name}.shape") for v in a.shape)
        dtype = _operator_dtype(a)

        def matmat(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a.matmat(x), dtype=dtype).reshape(n, x.shape[1])

        def rmatmat(y: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a.rmatmat(y), dtype=dtype).reshape(d, y.shape[1])

        return ("op", matmat, rmatmat, None, n, d, dtype), dtype, (n, d)
    if is_sparse(a):
        s = as_sparse(a, name, check_finite=False)
        n, d = s.shape
        return (s.format, s.data, s.indices, s.indptr, n, d), s.data.dtype.name, (n, d)
    arr = as_dense(a, name, check_finite=False)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    return arr, arr.dtype.name, arr.shape


def sketch_size(
    n: int,
    d: int,
    eps: float = _DEFAULTS["eps"],
    delta: float = _DEFAULTS["delta"],
    guarantee: Literal["l2", "linf"] = "l2",
    sketch: str = "sparse_sign",
) -> int:
    r"""Rows of a sketch that gives sketch-and-solve its guarantee.

    For ``A`` of shape ``(n, d)``, with probability at least ``1 - delta``:

    * ``guarantee="l2"``: :math:`\|A\tilde x - b\| \le (1+\varepsilon)\min_x\|Ax-b\|`,
      from an :math:`\varepsilon/3` subspace embedding of the :math:`d' = d + 1`
      columns of ``[A, b]``. Sizes by family (natural logarithms, constants 1):
      Gaussian and Rademacher :math:`(d' + \ln(1/\delta))/(\varepsilon/3)^2`;
      sparse sign and very sparse (OSNAP)
      :math:`d'\ln(d'/\delta)/(\varepsilon/3)^2`; CountSketch
      :math:`d'^2/(\delta(\varepsilon/3)^2)`; SRHT
      :math:`(\sqrt{d'}+\sqrt{8\ln(n/\delta)})^2\ln(d'/\delta)/(\varepsilon/3)^2`.
    * ``guarantee="linf"``: the per-coordinate bound of ℓ∞ sketched regression,
      :math:`\|\tilde x - x^*\|_\infty \le \frac{\varepsilon}{\sqrt d}\|Ax^*-b\|\,\|A^+\|_2`,
      with :math:`m = \varepsilon^{-2} d \ln^3(n/\delta)`. It needs a dense sketch
      (``gaussian`` or ``srht``): sparse sketches provably fail it, and asking for one
      raises ``ValueError``.

    Parameters
    ----------
    n, d : int
        Shape of ``A``.
    eps : float
        Accuracy in (0, 1).
    delta : float
        Failure probability in (0, 1).
    guarantee : {"l2", "linf"}
    sketch : str
        Sketch family.

    Returns
    -------
    int
        The number of sketch rows ``m`` (at least ``d``).
    """
    return int(
        _native.sketch_size(
            as_int(n, "n"),
            as_int(d, "d"),
            as_float(eps, "eps"),
            as_float(delta, "delta"),
            guarantee,
            sketch,
        )
    )


def lstsq(
    A: Any,
    b: Any,
    *,
    method: Literal["auto", "precondition", "sketch_solve", "iterative"] = "auto",
    sketch: str = "sparse_sign",
    sketch_size: int | None = None,
    rtol: float | None = None,
    maxiter: int | None = None,
    reg: float = 0.0,
    guarantee: Literal["l2", "linf"] = "l2",
    eps: float = _DEFAULTS["eps"],
    delta: float = _DEFAULTS["delta"],
    seed: Any = 0,
) -> LstsqResult:
    r"""Solve :math:`\min_x \|Ax - b\|_2^2 + \lambda\|x\|_2^2` with a sketch.

    Methods:

    * ``"precondition"`` (sketch-and-precondition, Blendenpik/LSRN): ``R`` from a QR
      of :math:`S[A;\sqrt\lambda I]`, then LSQR on :math:`[A;\sqrt\lambda I]R^{-1}`,
      whose condition number is about :math:`(1+\sqrt{d/m})/(1-\sqrt{d/m})` whatever
      that of ``A``: the iterations needed do not depend on ``cond(A)``. Default
      ``m = 4d``. Each iteration reads dense or CSR ``A`` once: :math:`A v` and
      :math:`A^T u` are taken from the same cache-sized block of rows.
    * ``"sketch_solve"``: :math:`\tilde x = \arg\min\|S(Ax-b)\|^2 + \lambda\|x\|^2`,
      one shot, with the guarantee of :func:`sketch_size` (its default size).
    * ``"iterative"``: iterative Hessian sketch with one sketch and heavy-ball
      momentum, :math:`x_{t+1} = x_t + \mu H^{-1}A^T(b - Ax_t) + \beta(x_t - x_{t-1})`
      with :math:`H = R^TR`, :math:`\mu = (1-d/m)^2`, :math:`\beta = d/m` (default
      ``m = 8d``). Needs only products with ``A`` and ``A^T``, so ``A`` may be a
      ``LinearOperator``.
    * ``"auto"``: ``"sketch_solve"`` for ``guarantee="linf"``, else
      ``"precondition"``.

    Parameters
    ----------
    A : array_like, sparse matrix or LinearOperator, shape (n, d)
    b : array_like, shape (n,) or (n, p)
        Right-hand side(s); converted to ``A``'s dtype.
    method : {"auto", "precondition", "sketch_solve", "iterative"}
    sketch : str, default="sparse_sign"
        Sketch family.
    sketch_size : int, optional
        Sketch rows ``m`` (``d <= m <= n``).
    rtol : float, optional
        Relative tolerance of the iterative methods: stop when
        :math:`\|\bar A^T r\| \le \mathrm{rtol}\,\|\bar A\|\,\|r\|` or
        :math:`\|r\| \le \mathrm{rtol}\,\|b\|`. Default :math:`\epsilon^{3/4}` of the
        dtype.
    maxiter : int, optional
        Iteration limit (default: three times what the sketch's contraction rate
        needs for ``rtol``, at least 50).
    reg : float, default=0
        Ridge parameter :math:`\lambda \ge 0`.
    guarantee : {"l2", "linf"}
        What sketch-and-solve is sized for (see :func:`sketch_size`).
    eps, delta : float
        Accuracy and failure probability of the sketch-and-solve size.
    seed : int, RandomState, Generator or None, default=0
        Seed of the sketch.

    Returns
    -------
    LstsqResult

    Raises
    ------
    ValueError
        NaN or infinity in ``A`` or ``b``; a ``b`` whose rows differ from ``A``'s; a
        rank-deficient ``A`` with ``reg=0`` (the solution is not unique); a
        ``sketch_size`` below ``d`` or above ``n``; ``guarantee="linf"`` with a sparse
        sketch; invalid parameters. Each message names the argument.
    """
    a, dtype, (n, _d) = _matrix(A)
    bb = as_dense(b, "b", check_finite=False)
    vector = bb.ndim == 1
    bb = np.asarray(bb.reshape(-1, 1) if vector else bb, dtype=dtype)
    res = _native.lstsq(
        a,
        bb,
        check_choice(method, "method", tuple(_DEFAULTS["methods"])),
        sketch,
        None if sketch_size is None else as_int(sketch_size, "sketch_size"),
        None if rtol is None else as_float(rtol, "rtol"),
        None if maxiter is None else as_int(maxiter, "maxiter"),
        as_float(reg, "reg"),
        guarantee,
        as_float(eps, "eps"),
        as_float(delta, "delta"),
        resolve_seed(seed, "seed"),
    )
    x = res["x"][:, 0] if vector else res["x"]
    rn = np.asarray(res["residual_norm"])
    return LstsqResult(
        x=x,
        residual_norm=float(rn[0]) if vector else rn,
        iterations=int(res["iterations"]),
        converged=bool(res["converged"]),
        method=str(res["method"]),
        sketch_size=int(res["sketch_size"]),
        history=np.asarray(res["history"], dtype=np.float64),
    )


def randomized_svd(
    M: Any,
    n_components: int,
    *,
    n_oversamples: int = _DEFAULTS["n_oversamples"],
    n_iter: int | Literal["auto"] = "auto",
    sketch: str = _DEFAULTS["svd_sketch"],
    transpose: bool | Literal["auto"] = "auto",
    flip_sign: bool = True,
    random_state: Any = None,
    tol: float | None = None,
    block_size: int = _DEFAULTS["block_size"],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Truncated SVD :math:`M \approx U\,\mathrm{diag}(s)\,V^T` by random projection.

    scikit-learn's :func:`sklearn.utils.extmath.randomized_svd` signature and
    conventions (Halko, Martinsson and Tropp 2011): a test matrix :math:`\Omega` of
    ``n_components + n_oversamples`` rows from any sketch family (sparse sign and SRHT
    make the first pass cheaper), :math:`Y = M\Omega^T`, ``n_iter`` power iterations
    :math:`Y \leftarrow M(M^TY)`, :math:`B = Q^TM`, and the SVD of ``B``. Between
    products the basis is normalized by one CholeskyQR pass, :math:`Y \leftarrow
    YR^{-1}` with :math:`Y^TY = R^TR` (the part of scikit-learn's LU normalizer: it
    keeps the column space to about :math:`\varepsilon\,\kappa(Y)`); the final
    :math:`Q` is orthonormal to working precision (CholeskyQR2; Householder QR for
    short matrices or when a Gram matrix is not positive definite).

    With ``tol``, the adaptive blocked range finder (randQB_EI, Martinsson and
    Voronin 2016) adds ``block_size`` columns at a time until
    :math:`\|M - QB\|_F \le \mathrm{tol}\,\|M\|_F` (computed exactly from
    :math:`\|M\|_F^2 - \|B\|_F^2`) and returns the smallest rank whose discarded
    energy is within ``tol``; ``n_components`` is then the maximum rank.

    Parameters
    ----------
    M : array_like, sparse matrix or LinearOperator, shape (n, d)
    n_components : int
        Rank (maximum rank with ``tol``).
    n_oversamples : int, default=10
    n_iter : int or "auto"
        Power iterations; ``"auto"`` is 7 when ``n_components < 0.1 min(n, d)``, else
        4 (scikit-learn's rule).
    sketch : str, default="gaussian"
        Family of the test matrix.
    transpose : bool or "auto"
        Factor ``M.T`` instead (``"auto"``: when ``n < d``).
    flip_sign : bool, default=True
        Make the largest-magnitude entry of each left singular vector positive
        (scikit-learn's ``svd_flip`` with ``u_based_decision=True``).
    random_state : int, RandomState, Generator or None
    tol : float, optional
        Relative Frobenius tolerance of the adaptive mode (needs ``M`` dense or
        sparse: the Frobenius norm of a ``LinearOperator`` is unknown).
    block_size : int, default=10
        Columns added per step of the adaptive mode.

    Returns
    -------
    U : numpy.ndarray, shape (n, k)
    s : numpy.ndarray, shape (k,)
    Vt : numpy.ndarray, shape (k, d)
    """
    a, _dtype, _shape = _matrix(M, "M")
    u, s, vt, _mean, _ss = _native.randomized_svd(
        a,
        as_int(n_components, "n_components"),
        as_int(n_oversamples, "n_oversamples"),
        None if n_iter == "auto" else as_int(n_iter, "n_iter"),
        sketch,
        None if transpose == "auto" else bool(transpose),
        "u" if flip_sign else "none",
        None if tol is None else as_float(tol, "tol"),
        as_int(block_size, "block_size"),
        resolve_seed(random_state),
        False,
    )
    return u, s, vt


def nystrom(
    A: Any, rank: int, *, n_oversamples: int = 10, random_state: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Stabilised randomized Nyström approximation of a PSD matrix.

    :math:`A \approx U\,\mathrm{diag}(\lambda)\,U^T` (Tropp, Yurtsever, Udell and
    Cevher 2017): :math:`Y = A\Omega` for a Gaussian :math:`\Omega` with
    ``rank + n_oversamples`` columns, a shift
    :math:`\nu = \sqrt n\,\epsilon\,\|Y\|_F` for stability,
    :math:`C = \mathrm{chol}(\Omega^T(Y + \nu\Omega))`,
    :math:`(Y+\nu\Omega)C^{-T} = U\Sigma W^T` and
    :math:`\lambda = \max(0, \sigma^2 - \nu)`.

    Parameters
    ----------
    A : array_like, sparse matrix or LinearOperator, shape (n, n)
        Symmetric positive semi-definite.
    rank : int
    n_oversamples : int, default=10
    random_state : int, RandomState, Generator or None

    Returns
    -------
    U : numpy.ndarray, shape (n, rank)
        Orthonormal columns.
    lambdas : numpy.ndarray, shape (rank,)
        Non-negative, non-increasing.
    """
    a, _dtype, _shape = _matrix(A)
    u, lam = _native.nystrom(
        a, as_int(rank, "rank"), as_int(n_oversamples, "n_oversamples"), resolve_seed(random_state)
    )
    return u, lam


def _kernel_columns(
    X: np.ndarray, kernel: str | Callable[..., Any], kwds: dict[str, Any]
) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """Column and diagonal evaluators of the kernel matrix of the rows of ``X``."""
    if callable(kernel):

        def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.asarray(kernel(a, b, **kwds), dtype=np.float64)
    else:
        from sklearn.metrics.pairwise import pairwise_kernels

        def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.asarray(pairwise_kernels(a, b, metric=kernel, **kwds), dtype=np.float64)

    n = X.shape[0]
    diag = np.empty(n)
    for i in range(0, n, 256):  # diagonals of 256 x 256 blocks: O(256 n) evaluations
        blk = X[i : i + 256]
        diag[i : i + 256] = np.diagonal(k(blk, blk))

    def columns(piv: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(k(X, X[piv[:, 0].astype(np.int64)]))

    return columns, diag


def rp_cholesky(
    X: Any,
    rank: int,
    *,
    kernel: str | Callable[..., Any] = "rbf",
    block_size: int = 1,
    tol: float = 0.0,
    random_state: Any = None,
    **kernel_params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Randomly pivoted Cholesky of the kernel matrix :math:`K_{ij} = k(x_i, x_j)`.

    :math:`K \approx FF^T` (Chen, Epperly, Tropp and Webber 2023): each step draws
    ``block_size`` pivots with probability proportional to the diagonal of the
    residual :math:`K - FF^T`, evaluates those columns of ``K`` only, and eliminates
    them. ``K`` is never formed: ``rank`` columns are evaluated in all. Its expected
    trace-norm error is within :math:`(1+\varepsilon)` of the best rank-``r``
    approximation once ``rank`` exceeds ``r/ε + r log(1/(εη))`` (the paper's bound).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points.
    rank : int
        Columns of ``F`` (at most).
    kernel : str or callable, default="rbf"
        A :func:`sklearn.metrics.pairwise.pairwise_kernels` metric name, or
        ``kernel(A, B, **kernel_params)`` returning the ``len(A) × len(B)`` matrix.
    block_size : int, default=1
        Pivots drawn per step.
    tol : float, default=0
        Stop early when the residual trace falls below ``tol · trace(K)``.
    random_state : int, RandomState, Generator or None
    **kernel_params
        Passed to the kernel (e.g. ``gamma``).

    Returns
    -------
    F : numpy.ndarray, shape (n, r)
    pivots : numpy.ndarray of int64, shape (r,)
    """
    x = as_dense(X, "X")
    if x.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {x.shape}")
    columns, diag = _kernel_columns(x, kernel, kernel_params)
    f, piv = _native.rp_cholesky(
        diag,
        as_int(rank, "rank"),
        as_int(block_size, "block_size"),
        as_float(tol, "tol"),
        resolve_seed(random_state),
        columns,
    )
    return f, piv


def hutchpp(A: Any, n_queries: int = 30, *, random_state: Any = None) -> float:
    r"""Hutch++ estimate of :math:`\mathrm{tr}(A)` from ``n_queries`` products.

    (Meyer, Musco, Musco and Woodruff 2021.) A third of the queries find the top of
    the spectrum, :math:`Q = \mathrm{orth}(AS)`, whose trace is exact; Hutchinson's
    estimator with Rademacher vectors takes the rest on
    :math:`(I-QQ^T)A(I-QQ^T)`. For PSD ``A`` the relative error is
    :math:`O(1/\text{n\_queries})`, against :math:`O(1/\sqrt{\text{n\_queries}})`
    for Hutchinson's alone.

    Parameters
    ----------
    A : array_like, sparse matrix, LinearOperator or callable
        Square; a callable is ``matmat(X) -> A @ X`` and then ``A`` must also carry
        ``shape`` (use a ``LinearOperator``).
    n_queries : int, default=30
        Products with ``A`` (at least 3).
    random_state : int, RandomState, Generator or None

    Returns
    -------
    float
    """
    if _is_operator(A):
        n = as_int(A.shape[0], "A.shape")

        def mm(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(A.matmat(x), dtype=np.float64)
    else:
        a = as_sparse(A, "A") if is_sparse(A) else as_dense(A, "A")
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"A must be square, got shape {a.shape}")
        n = a.shape[0]

        def mm(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a @ x, dtype=np.float64)

    return float(_native.hutchpp(mm, n, as_int(n_queries, "n_queries"), resolve_seed(random_state)))


def leverage_scores(
    A: Any,
    method: Literal["approx", "exact"] = "approx",
    eps: float = 0.5,
    seed: Any = 0,
) -> np.ndarray:
    r"""Statistical leverage scores :math:`\ell_i = \|e_i^T U\|^2` of the rows of ``A``.

    ``U`` is an orthonormal basis of the range of ``A``; the scores lie in [0, 1] and
    sum to ``rank(A)``.

    * ``"exact"``: a column-pivoted thin QR of ``A``.
    * ``"approx"`` (Drineas, Magdon-Ismail, Mahoney and Woodruff 2012): ``R`` from a
      QR of a sparse sign sketch ``SA`` (an ε/3 subspace embedding, size from
      :func:`sketch_size`), then the squared row norms of :math:`AR^{-1}G` with a
      Gaussian ``G`` of :math:`\lceil 8\ln(n/\delta)/\varepsilon^2\rceil` columns
      (or of :math:`AR^{-1}` when that is not fewer than the rank). Each score is
      within a factor :math:`1\pm\varepsilon` of the exact one with high
      probability, in :math:`O(\mathrm{nnz}(A) + n\,r\,d)` work.

    Parameters
    ----------
    A : array_like, sparse matrix or LinearOperator, shape (n, d)
    method : {"approx", "exact"}
    eps : float, default=0.5
    seed : int, RandomState, Generator or None, default=0

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    a, _dtype, _shape = _matrix(A)
    return _native.leverage_scores(a, method, as_float(eps, "eps"), resolve_seed(seed, "seed"))
