"""The fast Walsh–Hadamard transform and randomized Hadamard rotations.

The Walsh–Hadamard matrix of order ``n = 2^p`` in natural (Sylvester, or Hadamard)
order is defined by

.. math::

    H_1 = [1], \\qquad
    H_{2n} = \\begin{bmatrix} H_n & H_n \\\\ H_n & -H_n \\end{bmatrix},

so that ``H_n`` is symmetric, its entries are ``±1`` and ``H_n H_n = n I``. The fast
transform computes ``H_n x`` with ``n log2 n`` additions and subtractions instead of
``n^2`` multiply-adds. Everything here runs in the compiled core, in place, on the
crate's own thread pool, and gives identical bits for every thread count and SIMD
level.

* :func:`fwht` transforms 1-D or 2-D arrays along an axis.
* :func:`hadamard_rotation` builds a random orthogonal matrix
  ``Q = H D_r ... H D_2 H D_1`` (normalized ``H``, random sign diagonals ``D_i``),
  applied in ``O(d log d)`` per vector.

The subsampled randomized Hadamard transform (SRHT), a sketch operator built on the
same kernels, is :func:`sketchkit.srht`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _native
from ._docs import fill_doc
from ._gpu import check_device, gpu_input
from ._linop import LinearOperator, Transposed
from ._validation import (
    _float_dtype_for,
    as_array,
    as_dense,
    as_int,
    check_memory,
    check_seed,
    float_dtype_name,
    has_dlpack,
    is_sparse,
)

#: NumPy's (major, minor): ``numpy.from_dlpack`` gives writable views from 2.1 on.
_NUMPY_VERSION = tuple(int(p) for p in np.__version__.split(".")[:2])

__all__ = ["HadamardRotation", "InverseHadamardRotation", "fwht", "hadamard_rotation"]

FloatArray = NDArray[np.floating[Any]]

_BOOLS = (bool, np.bool_)


def _check_axis(axis: Any, ndim: int) -> int:
    """Normalize ``axis`` for a 1-D or 2-D array (negative values count from the end)."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without ABC checks
        return axis % ndim
    axis = as_int(axis, "axis")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def _check_inplace_target(x: Any, axis: Any) -> tuple[np.ndarray, int]:
    """The checks of ``fwht(..., inplace=True)``: transform ``x`` itself or fail.

    A NumPy array is transformed as it is; a DLPack producer or a buffer-protocol
    object through a zero-copy NumPy view of its memory (so the producer sees the
    result); anything else would need a copy and is refused.
    """
    if not isinstance(x, np.ndarray) and not is_sparse(x):
        if has_dlpack(x):
            x = as_array(x, "x")  # a view of the producer's memory, never a copy
            if not x.flags.writeable and _NUMPY_VERSION < (2, 1):
                raise ValueError(
                    "fwht(..., inplace=True) on a DLPack array needs NumPy >= 2.1 (older "
                    f"NumPy {np.__version__} imports DLPack arrays read-only); upgrade "
                    "NumPy or use inplace=False to transform a copy"
                )
        else:
            try:
                x = np.asarray(memoryview(x))  # the buffer protocol: a view as well
            except TypeError:
                pass
    if not isinstance(x, np.ndarray):  # SciPy sparse matrices are not ndarrays either
        raise TypeError(
            f"fwht(..., inplace=True) needs a NumPy array, a DLPack array or a writable "
            f"buffer, got {type(x).__name__}; use inplace=False to transform a copy"
        )
    if x.dtype.char not in "fd" or not x.dtype.isnative:
        raise TypeError(
            f"fwht(..., inplace=True) needs a float32 or float64 array (native byte "
            f"order), got x of dtype {x.dtype}; use inplace=False to transform a "
            "converted copy"
        )
    if x.ndim not in (1, 2):
        raise ValueError(f"x must be a 1-D or 2-D array, got an array with ndim={x.ndim}")
    ax = _check_axis(axis, x.ndim)
    if x.size == 0:
        raise ValueError(f"x is empty (shape {x.shape}); nothing to transform")
    flags = x.flags
    if not flags.writeable:
        raise ValueError(
            "fwht(..., inplace=True) needs a writable array, but x is read-only; "
            "use inplace=False to transform a copy"
        )
    if not flags.aligned:
        raise ValueError(
            "fwht(..., inplace=True) needs an aligned array, but x is unaligned; "
            "use inplace=False to transform a copy"
        )
    if x.shape[ax] > 1 and x.strides[ax] != x.itemsize:
        raise ValueError(
            f"fwht(..., inplace=True) needs x to be contiguous along axis {axis} (a "
            f"stride of {x.itemsize} bytes), but its stride there is {x.strides[ax]} "
            "bytes; transform along the other axis, pass a contiguous array, or use "
            "inplace=False"
        )
    return x, ax


def _fwht_general(
    x: ArrayLike,
    axis: int = -1,
    *,
    normalized: bool = False,
    inplace: bool = False,
    check_finite: bool = True,
    device: str = "cpu",
) -> FloatArray:
    """The general path of :func:`fwht`: every call its native fast path does not take.

    :func:`fwht` is the compiled function ``sketchkit._native.fwht`` (its docstring,
    with the math, is there): it transforms a contiguous, writable 1-D float array in
    place without entering Python, and hands any other call, with exactly the
    arguments it was given, to this function, which owns the conversions, the checks
    and their error messages.
    """
    on_gpu = check_device(device) == "gpu"
    if not isinstance(normalized, _BOOLS):
        raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")
    if not isinstance(inplace, _BOOLS):
        raise TypeError(f"inplace must be a bool, got {type(inplace).__name__}")
    if not isinstance(check_finite, _BOOLS):
        raise TypeError(f"check_finite must be a bool, got {type(check_finite).__name__}")
    if inplace:
        y, ax = _check_inplace_target(x, axis)
    else:
        if is_sparse(x):
            raise TypeError(f"x must be a dense array, got a sparse {type(x).__name__}")
        arr = as_array(x, "x")
        if on_gpu:
            arr = gpu_input(arr, "x")
        target = _float_dtype_for(arr.dtype, "x")
        if arr.ndim not in (1, 2):
            raise ValueError(f"x must be a 1-D or 2-D array, got an array with ndim={arr.ndim}")
        ax = _check_axis(axis, arr.ndim)
        if arr.size == 0:
            raise ValueError(f"x is empty (shape {arr.shape}); nothing to transform")
        y = None  # copied below, after the cheap checks
    # The transform's length rule (a power of two up to 2**30) and its finite-input
    # rule (NaN/inf refused before anything is written) are the core's.
    if y is None:
        if arr.dtype == target:
            y = np.array(arr, order="K", copy=True)
        else:  # other type, or non-native byte order
            y = arr.astype(target, order="K")
    view = y.reshape(1, -1) if y.ndim == 1 else y  # a view (1-D arrays reshape freely)
    native_axis = 1 if y.ndim == 1 else ax
    device = "gpu" if on_gpu else "cpu"
    _native.fwht_inplace(
        view, native_axis, bool(normalized), device=device, check_finite=bool(check_finite)
    )
    return y


#: The public transform: the compiled 1-D in-place fast path, which calls
#: :func:`_fwht_general` for everything else (see its docstring).
fwht = _native.fwht


# ---------------------------------------------------------------------- rotations
#: Largest order of a rotation. The core checks it too (as a ValueError); this
#: OverflowError is kept for compatibility until the core reports it as one.


def _rebuild_rotation(d: int, rounds: int, seed: int) -> HadamardRotation:
    """Unpickling helper of releases before the shared operator protocol (their pickles
    call ``_hadamard._rebuild_rotation``); new pickles go through :mod:`sketchkit._linop`."""
    return HadamardRotation(d, rounds, seed=seed)


@fill_doc
class HadamardRotation(LinearOperator):
    """A random orthogonal matrix ``Q = H D_r ... H D_2 H D_1`` of order ``d'``.

    ``d'`` is the smallest power of two ``>= d``, ``H`` the orthonormal Walsh–Hadamard
    matrix of order ``d'`` (``H H = I``, see :func:`fwht`) and ``D_1, ..., D_r``
    independent diagonal matrices of random signs ``±1`` drawn from the Philox stream of
    ``seed``. ``Q`` is orthogonal (``Q.T @ Q = I``): it preserves norms, distances and
    inner products exactly (up to rounding), while spreading the mass of any fixed
    vector over all coordinates. Applying ``Q`` or ``Q.T`` costs ``r`` fast transforms,
    ``O(r d' log d')`` per vector; the matrix is never stored. Use
    :func:`hadamard_rotation` to build one.

    Parameters
    ----------
    d : int
        Input dimension, ``1 <= d <= 2**30``. Inputs of length ``d < d'`` are
        zero-padded to ``d'``.
    rounds : int, default=3
        Number ``1 <= r <= 64`` of sign-flip + transform rounds (more raise
        ``ValueError``). One round gives
        ``Q = H D_1``, whose entries are all ``±1/sqrt(d')``; more rounds mix more
        thoroughly.
    %(seed)s

    Notes
    -----
    Products (new arrays of the input's float dtype; 1-D input gives 1-D output).
    Vectors of length ``d`` (or ``d'``) are columns on the right of ``Q`` and rows on
    the left of ``Q.T``:

    ==============  ================================  ===================
    expression      input shape                       output shape
    ==============  ================================  ===================
    ``Q @ v``       ``(d,)``, ``(d',)``, ``(d, m)``,  ``(d',)``/``(d', m)``
                    ``(d', m)``
    ``X @ Q.T``     ``(n, d)``, ``(n, d')``, 1-D      ``(n, d')``/``(d',)``
    ``Q.T @ y``     ``(d',)`` or ``(d', m)``          ``(d',)``/``(d', m)``
    ``Y @ Q``       ``(n, d')`` or ``(d',)``          ``(n, d')``/``(d',)``
    ==============  ================================  ===================

    The inverse ``Q.T`` (also :meth:`inverse`) maps rotated vectors of length ``d'``
    back; the first ``d`` coordinates of ``Q.T @ (Q @ v)`` are ``v`` and the padding
    coordinates are (numerically) zero. Integer and boolean input is converted to
    ``float64``; NaN or infinity raises ``ValueError``. Rotations compare equal, hash
    and pickle by ``(d, rounds, seed)``.

    Examples
    --------
    >>> import numpy as np
    >>> import sketchkit as sk
    >>> Q = sk.hadamard_rotation(1000, seed=1)
    >>> Q.shape
    (1024, 1024)
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> y = Q @ x
    >>> bool(np.isclose(np.linalg.norm(y), np.linalg.norm(x)))
    True
    >>> bool(np.allclose((Q.T @ y)[:1000], x))
    True
    """

    __slots__ = ("_native", "_d", "_dim", "_rounds", "_seed")

    def __init__(self, d: int, rounds: int = 3, *, seed: int = 0) -> None:
        d = as_int(d, "d")
        rounds = as_int(rounds, "rounds")
        seed = check_seed(seed)
        self._d = d
        self._rounds = rounds
        self._seed = seed
        self._native = _native.HadamardRotation(d, rounds, seed)
        self._dim = int(self._native.dim)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, int]:
        """``(d', d')``."""
        return (self._dim, self._dim)

    @property
    def d(self) -> int:
        """Input dimension ``d``; shorter inputs than ``d'`` are zero-padded."""
        return self._d

    @property
    def dim(self) -> int:
        """``d'``, the order of ``Q`` (the smallest power of two ``>= d``)."""
        return self._dim

    @property
    def rounds(self) -> int:
        """Number of sign-flip + transform rounds."""
        return self._rounds

    @property
    def seed(self) -> int:
        """Seed of the random signs, in ``[0, 2**64)``."""
        return self._seed

    if TYPE_CHECKING:

        @property
        def T(self) -> InverseHadamardRotation:  # noqa: N802 - NumPy naming convention
            """``Q.T``, the inverse of ``Q`` (a lightweight view)."""

    def inverse(self) -> InverseHadamardRotation:
        """``Q^{-1} = Q.T``, as a lightweight view of ``Q``."""
        return self.T

    # ------------------------------------------------------------------ products
    # The compiled apply/inverse reject NaN and infinity as they read their input (as
    # "X" and "Y"); only ``Q @ A``, which passes ``A.T`` as "X", scans here.
    def _rows(self, X: Any, name: str, *, widths: tuple[int, ...], expr: str) -> np.ndarray:
        X = as_dense(X, name, check_finite=False)
        if X.shape[-1] not in widths:
            allowed = " or ".join(str(w) for w in widths)
            raise ValueError(
                f"shape mismatch in {expr}: {name} has shape {X.shape}, expected "
                f"{allowed} along its last axis (Q has shape {self.shape}, d={self._d})"
            )
        return X

    def _cols(
        self, A: Any, name: str, *, widths: tuple[int, ...], expr: str, check_finite: bool
    ) -> np.ndarray:
        A = as_dense(A, name, check_finite=check_finite)
        if A.shape[0] not in widths:
            allowed = " or ".join(str(w) for w in widths)
            raise ValueError(
                f"shape mismatch in {expr}: {name} has shape {A.shape}, expected "
                f"{allowed} along its first axis (Q has shape {self.shape}, d={self._d})"
            )
        return A

    def _widths(self) -> tuple[int, ...]:
        return (self._d,) if self._d == self._dim else (self._d, self._dim)

    def apply(self, X: ArrayLike) -> FloatArray:
        """Rotate the rows of ``X``: ``X @ Q.T``.

        Parameters
        ----------
        X : array_like of shape (n, d), (n, d'), (d,) or (d',)
            Rows of length ``d`` are zero-padded to ``d'``.

        Returns
        -------
        ndarray of shape (n, d') or (d',)
        """
        X = self._rows(X, "X", widths=self._widths(), expr="X @ Q.T")
        if X.ndim == 1:
            return self._native.apply(X[np.newaxis, :])[0]
        return self._native.apply(X)

    def _rotate_columns(self, A: Any) -> FloatArray:
        """``Q @ A`` for ``A`` of shape (d, m), (d', m), (d,) or (d',)."""
        A = self._cols(A, "A", widths=self._widths(), expr="Q @ A", check_finite=True)
        if A.ndim == 1:
            return self._native.apply(A[np.newaxis, :])[0]
        return self._native.apply(A.T).T

    def _unrotate_rows(self, Y: Any) -> FloatArray:
        """``Y @ Q`` for ``Y`` of shape (n, d') or (d',)."""
        Y = self._rows(Y, "Y", widths=(self._dim,), expr="Y @ Q")
        if Y.ndim == 1:
            return self._native.inverse(Y[np.newaxis, :])[0]
        return self._native.inverse(Y)

    def _unrotate_columns(self, Y: Any) -> FloatArray:
        """``Q.T @ Y`` for ``Y`` of shape (d', m) or (d',)."""
        Y = self._cols(Y, "Y", widths=(self._dim,), expr="Q.T @ Y", check_finite=False)
        if Y.ndim == 1:
            return self._native.inverse(Y[np.newaxis, :])[0]
        return self._native.inverse(Y.T).T

    # The four products of the operator protocol (``Q @ A``, ``Y @ Q``, ``Q.T @ Y``,
    # ``X @ Q.T``); see sketchkit._linop.
    def _apply(self, other: Any) -> Any:
        return self._rotate_columns(other)

    def _rapply(self, other: Any) -> Any:
        return self._unrotate_rows(other)

    def _apply_transpose(self, other: Any) -> Any:
        return self._unrotate_columns(other)

    def _rapply_transpose(self, other: Any) -> Any:
        return self.apply(other)

    # ------------------------------------------------------------------ materialization
    def to_dense(self, dtype: DTypeLike = np.float64) -> FloatArray:
        """Materialize ``Q`` as a dense ``(d', d')`` array of ``dtype`` (float32/float64).

        Intended for inspection and testing: it allocates ``d'^2`` values.
        """
        name = float_dtype_name(dtype)
        check_memory(float(self._dim) * self._dim * np.dtype(name).itemsize, "to_dense()")
        return self._native.to_dense(name)

    # ------------------------------------------------------------------ protocol
    def _params(self) -> dict[str, Any]:
        return {"d": self._d, "rounds": self._rounds, "seed": self._seed}


class InverseHadamardRotation(Transposed):
    """``Q.T = Q^{-1}`` for a :class:`HadamardRotation` ``Q``, of shape ``(d', d')``.

    Supports ``Q.T @ y`` (``y`` of shape ``(d', m)`` or ``(d',)``: rotate back) and
    ``X @ Q.T`` (rows of length ``d`` or ``d'``: rotate). ``Q.T.T`` is ``Q``.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(self, op: HadamardRotation) -> None: ...

        @property
        def T(self) -> HadamardRotation:  # noqa: N802
            """The rotation ``Q`` itself."""

    def inverse(self) -> HadamardRotation:
        """``(Q.T)^{-1} = Q``."""
        return self.T


HadamardRotation._transpose_class = InverseHadamardRotation


@fill_doc
def hadamard_rotation(d: int, rounds: int = 3, *, seed: int = 0) -> HadamardRotation:
    """Randomized Hadamard rotation ``Q = H D_r ... H D_2 H D_1`` of order ``d'``.

    ``d'`` is the smallest power of two ``>= d``, ``H`` the orthonormal Walsh–Hadamard
    matrix of order ``d'`` and ``D_i`` independent diagonal matrices of random signs.
    ``Q`` is orthogonal, applied in ``O(rounds · d' log d')`` per vector and never
    stored. Typical uses: spreading the energy of vectors before quantization or
    coordinate sampling, and random orthogonal mixing in randomized linear algebra.

    Parameters
    ----------
    d : int
        Input dimension, ``1 <= d <= 2**30``; inputs of length ``d`` are zero-padded to
        ``d'``.
    rounds : int, default=3
        Number of rounds, ``1 <= r <= 64``.
    %(seed)s

    Returns
    -------
    HadamardRotation
        ``Q`` of shape ``(d', d')``; ``Q @ v`` rotates columns, ``X @ Q.T`` rows, and
        ``Q.T`` is the inverse.
    """
    return HadamardRotation(d, rounds, seed=seed)
