"""Matrix-free sketch operators backed by the compiled Rust core.

A sketch operator is a random matrix ``S`` of shape ``(k, d)`` with ``k`` usually much
smaller than ``d``, scaled so that it preserves squared norms in expectation:

.. math::

    \\mathbb{E}\\, \\lVert S x \\rVert_2^2 = \\lVert x \\rVert_2^2
    \\qquad \\text{for every } x \\in \\mathbb{R}^d .

``S`` is never stored: every entry is a pure function of ``(seed, family, parameters,
row, column)`` drawn from a counter-based Philox4x32-10 stream, so that an operator is
fully described by a handful of numbers, results do not depend on the number of threads
or on how the input rows are split into chunks, and the same seed gives the same
operator on every machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _native
from ._dask_blocks import is_dask_array
from ._docs import fill_doc
from ._gpu import check_device, gpu_input
from ._linop import LinearOperator, Transposed
from ._validation import (
    as_dense,
    as_int,
    as_sparse,
    check_memory,
    check_seed,
    float_dtype_name,
    is_sparse,
    resolve_density,
)

if TYPE_CHECKING:
    import scipy.sparse

__all__ = [
    "AdjointOperator",
    "SketchOperator",
    "countsketch",
    "gaussian",
    "get_num_threads",
    "rademacher",
    "set_num_threads",
    "simd_level",
    "sparse_sign",
    "srht",
    "very_sparse",
]

FloatArray = NDArray[np.floating[Any]]


def _rebuild(
    family: str, k: int, d: int, seed: int, nnz: int | None, density: float | None
) -> SketchOperator:
    """Unpickling helper of releases before the shared operator protocol (their pickles
    call ``_operator._rebuild``); new pickles go through :mod:`sketchkit._linop`."""
    return SketchOperator(family, k, d, seed=seed, nnz=nnz, density=density)


def _as_int64(value: Any, name: str) -> int:
    """:func:`as_int`, and representable as the native call's signed 64-bit argument."""
    value = as_int(value, name)
    if not -(2**63) <= value < 2**63:
        raise OverflowError(f"{name}: {name}={value} does not fit in a signed 64-bit integer")
    return value


def _shape_error(left: str, left_shape: tuple[int, ...], right: str, right_shape: tuple[int, ...]):
    return ValueError(
        f"shape mismatch in {left} @ {right}: {left} has shape {left_shape} "
        f"but {right} has shape {right_shape}"
    )


def _sparse_csr_like(x: Any, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape):
    """A CSR matrix (``csr_matrix``) or CSR array (``csr_array``) matching ``x``'s class."""
    import scipy.sparse as sp

    cls = sp.csr_array if isinstance(x, sp.sparray) else sp.csr_matrix
    return cls((data, indices, indptr), shape=shape, copy=False)


@fill_doc
class SketchOperator(LinearOperator):
    """A random sketch operator ``S`` of shape ``(k, d)``, applied without materializing it.

    Prefer the constructor functions :func:`gaussian`, :func:`rademacher`,
    :func:`very_sparse`, :func:`sparse_sign`, :func:`countsketch` and :func:`srht`; they
    document the distribution of the entries of each family. All families satisfy
    ``E ||S x||^2 = ||x||^2`` for every fixed ``x``.

    Parameters
    ----------
    family : str
        Distribution of the entries: one of ``sketchkit._native.FAMILIES``
        (``"gaussian"``, ``"rademacher"``, ``"very_sparse"``, ``"sparse_sign"``,
        ``"countsketch"``, ``"srht"``).
    k : int
        Sketch dimension (number of rows of ``S``), ``k >= 1``.
    d : int
        Input dimension (number of columns of ``S``), ``d >= 1``. ``k * d`` must fit in
        a signed 64-bit integer. For ``"srht"``, ``d <= 2**30`` and ``k <= d'``, the
        smallest power of two ``>= d``.
    %(seed)s
        The operator is a deterministic function of the seed and the parameters,
        identical on every platform and for every thread count.
    nnz : int, optional
        ``"sparse_sign"`` only: nonzeros per column, ``1 <= nnz <= k`` (default 8).
    density : float or "auto", optional
        ``"very_sparse"`` only: probability that an entry is nonzero, in ``(0, 1]``;
        ``"auto"`` (the default) means ``1 / sqrt(d)``.

    Notes
    -----
    Applying the operator (all products return new arrays of the input's float dtype;
    1-D input gives 1-D output):

    ===========  ========================  =========================
    expression   input shape               output shape
    ===========  ========================  =========================
    ``S @ A``    ``(d, m)`` or ``(d,)``    ``(k, m)`` or ``(k,)``
    ``X @ S.T``  ``(n, d)`` or ``(d,)``    ``(n, k)`` or ``(k,)``
    ``S.T @ Y``  ``(k, m)`` or ``(k,)``    ``(d, m)`` or ``(d,)``
    ``Z @ S``    ``(n, k)`` or ``(k,)``    ``(n, d)`` or ``(d,)``
    ===========  ========================  =========================

    ``A`` and ``X`` may be SciPy CSR or CSC matrices (other sparse formats are converted
    to CSR); the products with ``@`` then return dense arrays (use
    :meth:`project` with ``dense_output=False`` for a sparse result). The adjoint
    products ``S.T @ Y`` and ``Z @ S`` work on dense data: a sparse ``Y`` or ``Z`` is
    densified first (it has only ``k`` rows or columns, which is small by design).

    A 1-D vector ``x`` gives the same bits for ``S @ x`` and ``x @ S.T``, and for
    ``S.T @ y`` and ``y @ S``.

    NumPy arrays, array-likes and SciPy sparse matrices defer ``@`` to the operator;
    pandas objects do not (``DataFrame @ S.T`` fails inside pandas), so pass them to
    :meth:`project` or :meth:`sketch` instead.

    Operators compare equal, hash and pickle by their parameters (family, shape, seed,
    ``nnz``, ``density``): a pickle is a few bytes regardless of ``k`` and ``d``.

    Examples
    --------
    >>> import numpy as np
    >>> import sketchkit as sk
    >>> S = sk.sparse_sign(64, 1000, seed=42)
    >>> X = np.random.default_rng(0).standard_normal((10, 1000))
    >>> Y = X @ S.T
    >>> Y.shape
    (10, 64)
    """

    __slots__ = ("_native",)

    _repr_positional = 1  # SketchOperator('gaussian', k=..., d=..., seed=...)

    def __init__(
        self,
        family: str,
        k: int,
        d: int,
        *,
        seed: int = 0,
        nnz: int | None = None,
        density: float | Literal["auto"] | None = None,
    ) -> None:
        if not isinstance(family, str):
            raise TypeError(f"family must be a string, got {type(family).__name__} {family!r}")
        k = _as_int64(k, "k")
        d = _as_int64(d, "d")
        seed = check_seed(seed)
        if nnz is not None:
            nnz = _as_int64(nnz, "nnz")
        # The core parses the family, applies the defaults (nnz, density 1/sqrt(d)) and
        # checks every value, naming the argument; nnz and density come back as None
        # for the families without them.
        self._native = _native.SketchOperator(
            family, k, d, seed, nnz=nnz, density=resolve_density(density)
        )
        if self._native.is_sparse:
            check_memory(self._native.working_bytes(8), f"this {family} operator")

    def _check_dense_copy(self, itemsize: int, what: str) -> None:
        """Dense families (and the SRHT) materialize ``S`` for sparse input and for
        ``to_dense``."""
        check_memory(self._native.working_bytes(itemsize), what)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, int]:
        """``(k, d)``: sketch dimension and input dimension."""
        return tuple(self._native.shape)  # type: ignore[return-value]

    @property
    def family(self) -> str:
        """Name of the entry distribution."""
        return str(self._native.family)

    @property
    def seed(self) -> int:
        """Seed of the counter-based random stream, in ``[0, 2**64)``."""
        return int(self._native.seed)

    @property
    def nnz(self) -> int | None:
        """Nonzeros per column (``sparse_sign``: ``nnz``, ``countsketch``: 1), else ``None``."""
        return self._native.nnz

    @property
    def density(self) -> float | None:
        """Probability that an entry is nonzero (``very_sparse`` only), else ``None``."""
        return self._native.density

    @property
    def scale(self) -> float:
        """Magnitude of the nonzero entries (sparse families) or ``1/sqrt(k)`` (dense ones)."""
        return float(self._native.scale)

    @property
    def padded_dim(self) -> int:
        """``d'``: the smallest power of two ``>= d`` for ``"srht"`` (inputs are
        zero-padded to it), ``d`` for every other family."""
        return int(self._native.padded_dim)

    @property
    def is_sparse(self) -> bool:
        """Whether most entries of ``S`` are exactly zero (sparse families)."""
        return bool(self._native.is_sparse)

    if TYPE_CHECKING:

        @property
        def T(self) -> AdjointOperator:  # noqa: N802 - NumPy naming convention
            """The transpose ``S.T`` of shape ``(d, k)`` (a lightweight view of ``S``)."""

    # ------------------------------------------------------------------ products
    def project(self, X: ArrayLike | Any, dense_output: bool = True, *, device: str = "cpu") -> Any:
        """Project the rows of ``X``: ``X @ S.T``.

        Parameters
        ----------
        X : array_like or sparse matrix of shape (n, d) or (d,)
            Dense arrays of dtype ``float32``/``float64`` are used without a copy
            (any memory layout), NumPy arrays and any CPU array with ``__dlpack__``
            (PyTorch, JAX, ...) or the buffer protocol alike; integer and boolean input
            is converted to ``float64``, ``float16`` to ``float32``. SciPy CSR and CSC
            input is supported directly. The result is a NumPy array.
        dense_output : bool, default=True
            Only for sparse ``X``: if False, return a SciPy CSR matrix (``csr_matrix``
            for ``spmatrix`` input, ``csr_array`` for ``sparray`` input) with explicit
            zeros dropped. For CSC input the dense result is computed first and then
            converted.
        device : {"cpu", "gpu"}, default="cpu"
            Where to compute. ``"gpu"`` takes dense ``float32`` input only (anything
            else raises ``TypeError``; nothing is converted) and gives the CPU's bits
            for the sparse families and the SRHT, the CPU's result within float32
            rounding for the dense ones (see :func:`sketchkit.gpu_available`).

        Returns
        -------
        ndarray of shape (n, k) or (k,), or sparse CSR of shape (n, k)
            ``float32`` for ``float32`` input, ``float64`` otherwise.

        Raises
        ------
        RuntimeError
            With ``device="gpu"`` when no GPU adapter exists.

        Notes
        -----
        A :class:`dask.array.Array` ``X`` gives a lazy Dask array, one task per row
        chunk, bit-identical once computed: see :func:`sketchkit.dask.project`.
        """
        if is_dask_array(X):
            if check_device(device) == "gpu":
                raise TypeError("device='gpu' takes in-memory arrays, not a Dask array")
            from ._dask_blocks import project

            return project(self, X, dense_output=dense_output)
        if check_device(device) == "gpu":
            return self._gpu_apply(X, "X", adjoint=False)
        if is_sparse(X):
            X = as_sparse(X, "X", check_finite=False)  # checked by the kernel
            self._check_dim(X.shape[1], "X", X.shape, right=True)
            if not self.is_sparse:
                self._check_dense_copy(X.data.itemsize, "projecting sparse input")
            n = X.shape[0]
            if X.format == "csr":
                project_csr = self._native.project_csr
                parts = (X.data, X.indices, X.indptr, n)
                if dense_output:
                    return project_csr(*parts, False, "X")
                data, indices, indptr = project_csr(*parts, True, "X")
                return _sparse_csr_like(X, data, indices, indptr, (n, self.shape[0]))
            # A CSC matrix of shape (n, d) is the CSR matrix of its transpose (d, n).
            out = self._native.sketch_csr(X.data, X.indices, X.indptr, n, "X").T
            if dense_output:
                return out
            import scipy.sparse as sp

            cls = sp.csr_array if isinstance(X, sp.sparray) else sp.csr_matrix
            return cls(out)
        X = as_dense(X, "X", check_finite=False)  # checked by the kernel as it reads X
        self._check_dim(X.shape[-1], "X", X.shape, right=True)
        if X.ndim == 1:
            return self._native.project(X[np.newaxis, :])[0]
        return self._native.project(X)

    def sketch(self, A: ArrayLike | Any, *, device: str = "cpu") -> FloatArray:
        """Sketch the columns of ``A``: ``S @ A``.

        Parameters
        ----------
        A : array_like or sparse matrix of shape (d, m) or (d,)
            Same dtype rules as :meth:`project`; SciPy CSR and CSC input is supported.
        device : {"cpu", "gpu"}, default="cpu"
            As in :meth:`project`. On the GPU, ``S @ A`` is computed as
            ``(A.T @ S.T).T``; the result is then a Fortran-ordered array.

        Returns
        -------
        ndarray of shape (k, m) or (k,)
        """
        if check_device(device) == "gpu":
            a = gpu_input(A, "A")
            if a.ndim not in (1, 2):
                raise ValueError(f"A must be 1-D or 2-D, got ndim={a.ndim}")
            self._check_dim(a.shape[0], "A", a.shape, right=False)
            if a.ndim == 1:
                return self._gpu_apply(a, "A", adjoint=False)
            return self._gpu_apply(a.T, "A", adjoint=False).T
        if is_sparse(A):
            A = as_sparse(A, "A", check_finite=False)
            self._check_dim(A.shape[0], "A", A.shape, right=False)
            if not self.is_sparse:
                self._check_dense_copy(A.data.itemsize, "sketching sparse input")
            m = A.shape[1]
            if A.format == "csr":
                return self._native.sketch_csr(A.data, A.indices, A.indptr, m, "A")
            # A CSC matrix of shape (d, m) is the CSR matrix of its transpose (m, d).
            return self._native.project_csr(A.data, A.indices, A.indptr, m, False, "A").T
        A = as_dense(A, "A", check_finite=False)
        self._check_dim(A.shape[0], "A", A.shape, right=False)
        if A.ndim == 1:
            # A (d, 1) column: the same kernel and bits as ``A @ S.T`` for a row.
            return self._native.sketch(A[:, np.newaxis])[:, 0]
        return self._native.sketch(A)

    def project_adjoint(self, Z: ArrayLike | Any, *, device: str = "cpu") -> FloatArray:
        """Apply the adjoint to rows: ``Z @ S``, i.e. ``(S.T @ Z.T).T``.

        .. math::

            (Z S)_{rj} = \\sum_{i=1}^{k} Z_{ri} S_{ij}

        Parameters
        ----------
        Z : array_like of shape (n, k) or (k,)
            Same dtype rules as :meth:`project`; sparse input is densified.
        device : {"cpu", "gpu"}, default="cpu"
            As in :meth:`project`.

        Returns
        -------
        ndarray of shape (n, d) or (d,)
        """
        if check_device(device) == "gpu":
            return self._gpu_apply(Z, "Z", adjoint=True)
        return self._adjoint_project(Z)

    def _gpu_apply(self, X: Any, name: str, *, adjoint: bool) -> FloatArray:
        """``X @ S.T`` (or ``X @ S`` when ``adjoint``) on the GPU, for 1-D or 2-D X."""
        x = gpu_input(X, name)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D or 2-D, got ndim={x.ndim}")
        k, d = self.shape
        want = k if adjoint else d
        if x.shape[-1] != want:
            if adjoint:
                raise _shape_error(name, x.shape, "S", self.shape)
            raise _shape_error(name, x.shape, "S.T", (d, k))
        x2 = x[np.newaxis, :] if x.ndim == 1 else x
        run = self._native.project_adjoint if adjoint else self._native.project
        out = run(x2, device="gpu")
        return out[0] if x.ndim == 1 else out

    def _adjoint_sketch(self, Y: Any) -> FloatArray:
        """``S.T @ Y`` for ``Y`` of shape (k, m) or (k,)."""
        if is_sparse(Y):
            Y = as_sparse(Y, "Y", check_finite=False).toarray()
        Y = as_dense(Y, "Y", check_finite=False)
        k, d = self.shape
        if Y.shape[0] != k:
            raise _shape_error("S.T", (d, k), "Y", Y.shape)
        if Y.ndim == 1:
            return self._native.sketch_adjoint(Y[:, np.newaxis])[:, 0]
        return self._native.sketch_adjoint(Y)

    def _adjoint_project(self, Z: Any) -> FloatArray:
        """``Z @ S`` for ``Z`` of shape (n, k) or (k,)."""
        if is_sparse(Z):
            Z = as_sparse(Z, "Z", check_finite=False).toarray()
        Z = as_dense(Z, "Z", check_finite=False)
        if Z.shape[-1] != self.shape[0]:
            raise _shape_error("Z", Z.shape, "S", self.shape)
        if Z.ndim == 1:
            return self._native.project_adjoint(Z[np.newaxis, :])[0]
        return self._native.project_adjoint(Z)

    def _check_dim(self, got: int, name: str, shape: tuple[int, ...], *, right: bool) -> None:
        k, d = self.shape
        if got != d:
            if right:
                raise _shape_error(name, shape, "S.T", (d, k))
            raise _shape_error("S", self.shape, name, shape)

    # The four products of the operator protocol (``S @ A``, ``Z @ S``, ``S.T @ Y``,
    # ``X @ S.T``); see sketchkit._linop.
    def _apply(self, other: Any) -> Any:
        return self.sketch(other)

    def _rapply(self, other: Any) -> Any:
        return self._adjoint_project(other)

    def _apply_transpose(self, other: Any) -> Any:
        return self._adjoint_sketch(other)

    def _rapply_transpose(self, other: Any) -> Any:
        return self.project(other)

    # ------------------------------------------------------------------ materialization
    def to_dense(self, dtype: DTypeLike = np.float64) -> FloatArray:
        """Materialize ``S`` as a dense ``(k, d)`` array of ``dtype`` (float32 or float64).

        Intended for inspection and testing: it allocates ``k * d`` values.
        """
        name = float_dtype_name(dtype)
        self._check_dense_copy(np.dtype(name).itemsize, "to_dense()")
        return self._native.to_dense(name)

    def to_scipy(self, dtype: DTypeLike = np.float64) -> scipy.sparse.csc_matrix:
        """Materialize ``S`` as a :class:`scipy.sparse.csc_matrix` of shape ``(k, d)``.

        CSC is the natural layout (each column's nonzeros are generated together) and a
        ``csc_matrix`` (rather than ``csc_array``) keeps ``*`` and ``@`` semantics the
        same as scikit-learn's random projection matrices. Dense families store all
        ``k * d`` entries. Requires SciPy.
        """
        import scipy.sparse as sp

        name = float_dtype_name(dtype)
        itemsize = np.dtype(name).itemsize
        if self.is_sparse:  # the CSC arrays: one value and one index per nonzero
            check_memory(self._native.working_bytes(itemsize), "to_scipy()")
        else:  # k * d values and as many indices
            check_memory(self._native.working_bytes(itemsize + 8), "to_scipy()")
        data, indices, indptr = self._native.to_csc(name)
        return sp.csc_matrix((data, indices, indptr), shape=self.shape, copy=False)

    # ------------------------------------------------------------------ protocol
    def _params(self) -> dict[str, Any]:
        # Only the parameters the family takes (the core's list) define the operator:
        # countsketch's fixed nnz of 1 is implied by the family.
        native = self._native
        k, d = native.shape
        params: dict[str, Any] = {"nnz": None, "density": None, **native.params}
        return {"family": native.family, "k": k, "d": d, "seed": native.seed, **params}


class AdjointOperator(Transposed):
    """The transpose ``S.T`` of a :class:`SketchOperator`, of shape ``(d, k)``.

    Supports ``S.T @ Y`` (``Y`` of shape ``(k, m)`` or ``(k,)``) and ``X @ S.T``
    (``X`` of shape ``(n, d)`` or ``(d,)``, dense or SciPy sparse). ``S.T.T`` is ``S``.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(self, op: SketchOperator) -> None: ...

        @property
        def T(self) -> SketchOperator:  # noqa: N802
            """The original operator ``S``."""


SketchOperator._transpose_class = AdjointOperator


# ---------------------------------------------------------------------- constructors
@fill_doc
def gaussian(k: int, d: int, *, seed: int = 0) -> SketchOperator:
    """Dense Gaussian sketch: entries ``S[i, j] ~ N(0, 1) / sqrt(k)``, all independent.

    Parameters
    ----------
    k : int
        Sketch dimension (rows of ``S``).
    d : int
        Input dimension (columns of ``S``).
    %(seed)s

    Returns
    -------
    SketchOperator
        ``S`` of shape ``(k, d)`` with ``E ||S x||^2 = ||x||^2``. Applying it costs
        ``O(k d)`` per input vector.
    """
    return SketchOperator("gaussian", k, d, seed=seed)


@fill_doc
def rademacher(k: int, d: int, *, seed: int = 0) -> SketchOperator:
    """Dense Rademacher sketch: entries ``S[i, j] = ±1 / sqrt(k)`` with equal probability.

    Parameters
    ----------
    %(shape_kd)s
    %(seed)s

    Returns
    -------
    SketchOperator
        ``S`` with ``E ||S x||^2 = ||x||^2``.
    """
    return SketchOperator("rademacher", k, d, seed=seed)


@fill_doc
def very_sparse(
    k: int, d: int, *, density: float | Literal["auto"] = "auto", seed: int = 0
) -> SketchOperator:
    """Very sparse random projection (Achlioptas 2001; Li, Hastie & Church 2006).

    With ``s = 1 / density``, the entries are independent with

    .. math::

        S_{ij} = \\begin{cases}
            +\\sqrt{s / k} & \\text{with probability } 1 / (2s), \\\\
            0 & \\text{with probability } 1 - 1 / s, \\\\
            -\\sqrt{s / k} & \\text{with probability } 1 / (2s),
        \\end{cases}

    so ``E S_ij^2 = 1/k`` and ``E ||S x||^2 = ||x||^2``. This is the matrix of
    :class:`sklearn.random_projection.SparseRandomProjection`. The nonzero positions of
    each column are drawn directly with geometric skips (cost proportional to the
    number of nonzeros, not to ``k``): the gap before the next nonzero is
    ``floor(ln U / ln(1 - density))`` for a uniform ``U`` from the Philox stream of
    ``(seed, column)``, with the library's own logarithm (IEEE operations only), so a
    seed gives the same matrix on every platform.

    Parameters
    ----------
    %(shape_kd)s
    density : float in (0, 1] or "auto", default="auto"
        Probability that an entry is nonzero. ``"auto"`` uses ``1 / sqrt(d)`` (Li et
        al.); ``1/3`` gives Achlioptas' original matrix.
    %(seed)s

    Returns
    -------
    SketchOperator
    """
    return SketchOperator("very_sparse", k, d, seed=seed, density=density)


@fill_doc
def sparse_sign(k: int, d: int, *, nnz: int = _native.DEFAULT_NNZ, seed: int = 0) -> SketchOperator:
    """Sparse sign embedding (SJLT / OSNAP): exactly ``nnz`` nonzeros per column.

    Each column ``j`` of ``S`` has nonzeros at ``nnz`` distinct rows chosen uniformly
    at random, with independent random signs:

    .. math::

        S_{ij} \\in \\{ -1/\\sqrt{\\mathrm{nnz}},\\ 0,\\ +1/\\sqrt{\\mathrm{nnz}} \\},
        \\qquad \\#\\{ i : S_{ij} \\neq 0 \\} = \\mathrm{nnz},

    so every column has unit norm and ``E ||S x||^2 = ||x||^2``. Applying ``S`` costs
    ``O(nnz)`` per input nonzero, independent of ``k``.

    Parameters
    ----------
    %(shape_kd)s
    nnz : int, default=8
        Nonzeros per column, ``1 <= nnz <= k``.
    %(seed)s

    Returns
    -------
    SketchOperator
    """
    return SketchOperator("sparse_sign", k, d, seed=seed, nnz=nnz)


@fill_doc
def countsketch(k: int, d: int, *, seed: int = 0) -> SketchOperator:
    """CountSketch (Charikar, Chen & Farach-Colton; Clarkson & Woodruff).

    Each column ``j`` has a single nonzero ``S[h(j), j] = ±1`` at a uniformly random row
    ``h(j)`` with a random sign, so ``E ||S x||^2 = ||x||^2``. Applying ``S`` costs one
    addition per input nonzero. This is :func:`sparse_sign` with ``nnz=1``.

    Parameters
    ----------
    %(shape_kd)s
    %(seed)s

    Returns
    -------
    SketchOperator
    """
    return SketchOperator("countsketch", k, d, seed=seed)


@fill_doc
def srht(k: int, d: int, *, seed: int = 0) -> SketchOperator:
    """Subsampled randomized Hadamard transform (SRHT; Ailon & Chazelle, Tropp).

    With ``d'`` the smallest power of two ``>= max(d, k)`` (inputs are zero-padded to
    ``d'``; ``k > d`` needs ``k`` distinct rows of ``H``),

    .. math::

        S = \\sqrt{d' / k}\\; P\\, H\\, D ,

    where ``D`` is a diagonal of independent random signs, ``H`` the orthonormal
    Walsh–Hadamard matrix of order ``d'`` (natural order, see :func:`fwht`) and ``P``
    keeps ``k`` distinct rows sampled uniformly without replacement. Every entry of
    ``S`` is ``±1 / sqrt(k)``; for ``d`` a power of two the rows are orthogonal,
    ``S S^T = (d / k) I``, and sampling uniform rows gives ``E ||S x||^2 = ||x||^2``.

    Projecting the rows of a dense ``X`` (``X @ S.T``) runs one fast transform per row,
    ``O(d' log d')`` operations instead of the ``O(k d)`` of a dense Gaussian or
    Rademacher matrix: the SRHT is a structured, fast replacement for them with the
    same Johnson–Lindenstrauss behaviour. The other products (``S @ A``, ``S.T @ Y``,
    ``Z @ S``) and sparse input use the same matrix.

    Parameters
    ----------
    k : int
        Sketch dimension, ``1 <= k <= d'``.
    d : int
        Input dimension, ``1 <= d <= 2**30``.
    %(seed)s

    Returns
    -------
    SketchOperator
        Family ``"srht"``, shape ``(k, d)``.
    """
    return SketchOperator("srht", k, d, seed=seed)


# ---------------------------------------------------------------------- thread pool
def set_num_threads(n: int) -> None:
    """Set the number of threads sketchkit's kernels run on.

    The pool is separate from NumPy's BLAS threads. Without a call to this function
    the count is read from the ``SKETCHKIT_NUM_THREADS`` environment variable, and
    defaults to the number of available CPUs. Results are bit-identical for every
    thread count. With one thread, each call gets a one-worker pool of its own, so
    calls from several Python threads (the GIL is released) run side by side; with
    more, calls share one pool. A call already running keeps the pool it started on.

    Parameters
    ----------
    n : int
        From 1 to four times the CPU count.

    Raises
    ------
    ValueError
        If ``n`` is outside that range (the message names ``n`` and the bound).
    """
    _native.set_num_threads(as_int(n, "n"))  # the core owns the range


def get_num_threads() -> int:
    """Number of threads sketchkit's kernels run on.

    Raises
    ------
    ValueError
        If ``SKETCHKIT_NUM_THREADS`` is set to anything but an integer from 1 to four
        times the CPU count (and :func:`set_num_threads` was not called).
    """
    return int(_native.get_num_threads())


def set_output_cache(max_bytes: int) -> int:
    """Set how many bytes of freed large results sketchkit keeps for reuse.

    A result array of 8 MiB or more (a projection, a sketch, a transform) is taken
    from a small cache of blocks that earlier results of the same size freed, instead
    of fresh pages that the OS must map and zero on first write: a pipeline that
    transforms chunk after chunk (Dask, :func:`sketchkit.stream.project_blocks`)
    then reuses the same memory. The cache holds at most 4 blocks and at most
    ``max_bytes`` in total (default 256 MiB), the oldest released first; a block
    larger than the cap is never kept. The arrays are ordinary NumPy arrays, and the
    cache never changes a result's values.

    Parameters
    ----------
    max_bytes : int
        The cap in bytes, ``>= 0``; 0 turns the cache off and releases what it holds.

    Returns
    -------
    int
        The previous cap.

    Raises
    ------
    ValueError
        If ``max_bytes`` is negative (the message names it).
    """
    return int(_native.set_output_cache(as_int(max_bytes, "max_bytes")))


def simd_level() -> str:
    """SIMD instruction set the kernels use on this CPU.

    One of ``"avx512"``, ``"avx2"`` or ``"scalar"``; results are bit-identical across
    levels.
    """
    return str(_native.simd_level())
