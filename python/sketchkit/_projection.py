"""scikit-learn compatible random projection transformers backed by sketchkit operators.

:class:`SparseRandomProjection` and :class:`GaussianRandomProjection` are drop-in
replacements for the classes of the same name in :mod:`sklearn.random_projection`:
same parameters, fitted attributes, dtype handling (``float32`` stays ``float32``),
sparse-input semantics and errors. They are *statistically* equivalent to
scikit-learn's estimators (the random matrices have the same distribution), but not
bit-equal: sketchkit draws its matrices from its own counter-based random stream, so a
given ``random_state`` yields a different (equally valid) matrix than scikit-learn.

:class:`SparseSignProjection` (sparse sign embedding / SJLT),
:class:`CountSketchProjection` and :class:`SRHTProjection` (subsampled randomized
Hadamard transform) follow the same interface with other operator families.

The projection matrix is never materialized to transform data; ``components_`` is
built from the seed on first access only.

This module requires scikit-learn and SciPy.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import DataDimensionalityWarning, NotFittedError
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from . import _native
from ._dask_blocks import is_dask_array
from ._docs import fill_doc
from ._jl import johnson_lindenstrauss_min_dim
from ._operator import (
    SketchOperator,
    countsketch,
    gaussian,
    sparse_sign,
    srht,
    very_sparse,
)
from ._validation import as_array, has_dlpack, resolve_seed

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sklearn_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _sklearn_validate_data = None

# ``force_all_finite`` was renamed ``ensure_all_finite`` in scikit-learn 1.6.
_FINITE_KW = (
    "ensure_all_finite"
    if "ensure_all_finite" in inspect.signature(check_array).parameters
    else "force_all_finite"
)

__all__ = [
    "CountSketchProjection",
    "GaussianRandomProjection",
    "SRHTProjection",
    "SparseRandomProjection",
    "SparseSignProjection",
    "johnson_lindenstrauss_min_dim",
]


def _validate(estimator: BaseEstimator, X: Any, *, reset: bool, scan_finite: bool = True) -> Any:
    """scikit-learn's input validation (without its finiteness scan, done natively).

    With ``scan_finite=False`` the NaN/inf check is left to the projection kernels,
    which report it as they read ``X`` (no separate pass).
    """
    kwargs: dict[str, Any] = {
        "accept_sparse": ["csr", "csc"],
        "dtype": [np.float64, np.float32],
        "order": None,
        "reset": reset,
        _FINITE_KW: False,
    }
    if has_dlpack(X):  # PyTorch, JAX, array-api-strict, ...: a zero-copy NumPy view
        X = as_array(X, "X")
    if _sklearn_validate_data is not None:
        X = _sklearn_validate_data(estimator, X, **kwargs)
    else:  # pragma: no cover - scikit-learn < 1.6
        X = estimator._validate_data(X, **kwargs)
    values = X.data if sp.issparse(X) else X
    if scan_finite and not _native.all_finite(values):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _align_sparse_interface(X: Any) -> Any:
    """Follow scikit-learn's ``sparse_interface`` setting (scikit-learn >= 1.9).

    With older versions sparse results keep the container class of the input.
    """
    if not sp.issparse(X):
        return X
    interface = get_config().get("sparse_interface")
    if interface == "spmatrix" and not sp.isspmatrix(X):
        return getattr(sp, X.format + "_matrix")(X)
    if interface == "sparray" and sp.isspmatrix(X):
        return getattr(sp, X.format + "_array")(X)
    return X


class _BaseSketchProjection(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared implementation; use the concrete classes."""

    #: The operator's constructor (``sketchkit.gaussian``, ...).
    _constructor: ClassVar[Callable[..., SketchOperator]]
    _sparse_components: ClassVar[bool]

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "compute_inverse_components": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
        "device": [StrOptions({"cpu", "gpu"})],
    }

    # Set by subclasses' __init__ (scikit-learn requires explicit signatures).
    n_components: int | str
    eps: float
    compute_inverse_components: bool
    random_state: Any
    device: str

    def _operator_params(self, n_components: int, n_features: int) -> dict[str, Any]:
        """Family parameters for the operator's constructor."""
        return {}

    def _set_fitted_params(self) -> None:
        """Family-specific fitted attributes, read from ``operator_`` (none by default)."""

    def _dense_output(self) -> bool:
        return bool(getattr(self, "dense_output", True))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> Any:
        """Draw the random projection operator.

        Only the shape of ``X`` is used (and its dtype, which ``components_`` keeps).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        A :class:`dask.array.Array` ``X`` is not read: its shape and dtype are
        enough (see :func:`sketchkit.dask.fit`).
        """
        if is_dask_array(X):
            from ._dask_blocks import _fit_shape

            _fit_shape(self, X, _validate)
            return self
        self._fit(_validate(self, X, reset=True))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to ``X`` and project it, validating ``X`` once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to fit and project.
        y : Ignored
            Not used, present for API consistency.
        **fit_params : dict
            Ignored.

        Returns
        -------
        X_new : {ndarray, sparse matrix} of shape ``(n_samples, n_components_)``
            Same as ``fit(X).transform(X)``; lazy for a Dask ``X``.
        """
        if is_dask_array(X):
            from ._dask_blocks import _fit_shape, transform

            _fit_shape(self, X, _validate)
            return transform(self, X)
        X = _validate(self, X, reset=True, scan_finite=False)
        self._fit(X)
        return self._transform_validated(X)

    def _fit(self, X: Any) -> None:
        n_samples, n_features = X.shape

        if self.n_components == "auto":
            n_components = int(johnson_lindenstrauss_min_dim(n_samples=n_samples, eps=self.eps))
            if n_components <= 0:
                raise ValueError(
                    f"eps={self.eps:f} and n_samples={n_samples} lead to a target dimension "
                    f"of {n_components} which is invalid"
                )
            if n_components > n_features:
                raise ValueError(
                    f"eps={self.eps:f} and n_samples={n_samples} lead to a target dimension "
                    f"of {n_components} which is larger than the original space with "
                    f"n_features={n_features}"
                )
        else:
            n_components = int(self.n_components)

        self.seed_ = resolve_seed(self.random_state)
        try:
            operator = self._constructor(
                n_components,
                n_features,
                seed=self.seed_,
                **self._operator_params(n_components, n_features),
            )
        except (ValueError, OverflowError) as exc:
            # The core names k and d, the operator's shape: say it in the estimator's terms.
            msg = str(exc)
            if msg.startswith(("k: ", "d: ")):
                raise type(exc)(
                    f"n_components={n_components} and n_features={n_features} do not make "
                    f"a valid operator: {msg}"
                ) from exc
            raise
        if self.n_components != "auto" and n_components > n_features:
            warnings.warn(
                "The number of components is higher than the number of features: "
                f"n_features < n_components ({n_features} < {n_components}). "
                "The dimensionality of the problem will not be reduced.",
                DataDimensionalityWarning,
                stacklevel=2,
            )
        self.n_components_ = n_components
        self.operator_ = operator
        self._set_fitted_params()
        self._components_dtype = X.dtype
        self._components_cache = None
        self.__dict__.pop("inverse_components_", None)  # stale from an earlier fit
        if self.compute_inverse_components:
            self.inverse_components_ = self._compute_inverse_components()
        # Used by ClassNamePrefixFeaturesOutMixin.get_feature_names_out.
        self._n_features_out = n_components

    def transform(self, X: Any) -> Any:
        """Project the data: ``X @ components_.T``, computed without materializing it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to project. ``float32`` and ``float64`` arrays are used without a copy;
            other dtypes are converted to ``float64``.

        Returns
        -------
        X_new : {ndarray, sparse matrix} of shape ``(n_samples, n_components_)``
            Projected data, of the input's float dtype. Sparse (CSR) only when ``X`` is
            sparse and ``dense_output=False`` (not available for the Gaussian family).
            For a :class:`dask.array.Array` ``X``, a lazy Dask array, one task per row
            chunk, bit-identical once computed (see :func:`sketchkit.dask.transform`).
        """
        if is_dask_array(X):
            from ._dask_blocks import transform

            return transform(self, X)
        check_is_fitted(self)
        return self._transform_validated(_validate(self, X, reset=False, scan_finite=False))

    def _transform_validated(self, X: Any) -> Any:
        if self.device == "gpu":
            return self.operator_.project(X, device="gpu")
        out = self.operator_.project(X, dense_output=self._dense_output())
        return _align_sparse_interface(out)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map projected data back to the input space with the pseudo-inverse.

        Returns ``X @ pinv(components_).T``, whose projection is ``X`` again when
        ``n_components_ <= n_features_in_`` (and ``components_`` has full row rank).
        The result is dense even for sparse ``X``. Without
        ``compute_inverse_components=True`` the pseudo-inverse is recomputed at every
        call, which is costly for large matrices.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape ``(n_samples, n_components_)``
            Projected data.

        Returns
        -------
        X_original : ndarray of shape ``(n_samples, n_features_in_)``
        """
        check_is_fitted(self)
        if has_dlpack(X):
            X = as_array(X, "X")
        X = check_array(X, dtype=[np.float64, np.float32], accept_sparse=("csr", "csc"))
        if self.compute_inverse_components:
            inverse_components = self.inverse_components_
        else:
            inverse_components = self._compute_inverse_components()
        return _align_sparse_interface(X @ inverse_components.T)

    def _compute_inverse_components(self) -> np.ndarray:
        components = self.components_
        if sp.issparse(components):
            components = components.toarray()
        return linalg.pinv(components, check_finite=False)

    @property
    def components_(self) -> Any:
        """The projection matrix of shape ``(n_components_, n_features_in_)``.

        Materialized from the seed on first access and cached (not pickled). A SciPy CSR
        matrix for the sparse families, an ndarray for the Gaussian family, with the
        float dtype of the data seen in ``fit``.
        """
        state = self.__dict__
        operator = state.get("operator_")
        if operator is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        cached = state.get("_components_cache")
        if cached is None:
            dtype = state.get("_components_dtype", np.float64)
            if self._sparse_components:
                cached = operator.to_scipy(dtype).tocsr()
            else:
                cached = operator.to_dense(dtype)
            self._components_cache = cached
        return _align_sparse_interface(cached)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_components_cache", None)  # rebuilt from the seed on demand
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}


@fill_doc
class GaussianRandomProjection(_BaseSketchProjection):
    """Reduce dimensionality through a Gaussian random projection.

    Drop-in replacement for :class:`sklearn.random_projection.GaussianRandomProjection`:
    the components are independent draws from ``N(0, 1 / n_components)``, so
    ``E ||S x||^2 = ||x||^2``. Statistically equivalent to scikit-learn's class, not
    bit-equal (sketchkit uses its own random stream). The output is always dense.

    Parameters
    ----------
    %(n_components)s

    %(eps)s

    %(compute_inverse_components)s

    %(random_state)s

    %(transformer_device)s

    Attributes
    ----------
    %(n_components_and_seed_)s

    %(operator_)s

    %(dense_components_)s

    %(inverse_components_)s

    %(features_in_)s

    See Also
    --------
    sketchkit.gaussian : The underlying operator.
    SparseRandomProjection : Much cheaper sparse projection of similar quality.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit import GaussianRandomProjection
    >>> X = np.random.RandomState(42).rand(25, 3000)
    >>> GaussianRandomProjection(random_state=0).fit_transform(X).shape
    (25, 2759)
    """

    _constructor = staticmethod(gaussian)
    _sparse_components = False

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        eps: float = 0.1,
        compute_inverse_components: bool = False,
        random_state: Any = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.eps = eps
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.device = device


@fill_doc
class SparseRandomProjection(_BaseSketchProjection):
    """Reduce dimensionality through a very sparse random projection.

    Drop-in replacement for :class:`sklearn.random_projection.SparseRandomProjection`.
    With ``s = 1 / density_`` the components are independent with

    .. code-block:: text

        -sqrt(s / n_components)   with probability 1 / (2 s)
         0                        with probability 1 - 1 / s
        +sqrt(s / n_components)   with probability 1 / (2 s)

    (Achlioptas 2001; Li, Hastie & Church 2006), so ``E ||S x||^2 = ||x||^2``.
    Statistically equivalent to scikit-learn's class, not bit-equal (sketchkit uses its
    own random stream). Unlike scikit-learn, ``components_`` is a CSR matrix for every
    density, including ``density=1``.

    Parameters
    ----------
    %(n_components)s

    density : float or 'auto', default='auto'
        Ratio in ``(0, 1]`` of nonzero components. ``'auto'`` uses ``1 / sqrt(n_features)``
        (Li et al.); ``1 / 3`` gives Achlioptas' matrix.

    %(eps)s

    %(dense_output)s

    %(compute_inverse_components)s

    %(random_state)s

    %(transformer_device)s

    Attributes
    ----------
    %(n_components_and_seed_)s

    %(operator_)s

    %(sparse_components_)s

    %(inverse_components_)s

    density_ : float
        Concrete density (``'auto'`` resolved).

    %(features_in_)s

    See Also
    --------
    sketchkit.very_sparse : The underlying operator.
    SparseSignProjection : Fixed number of nonzeros per column.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit import SparseRandomProjection
    >>> X = np.random.RandomState(42).rand(25, 3000)
    >>> SparseRandomProjection(random_state=0).fit_transform(X).shape
    (25, 2759)
    """

    _constructor = staticmethod(very_sparse)
    _sparse_components = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_BaseSketchProjection._parameter_constraints,
        "density": [Real, StrOptions({"auto"})],  # the range (0, 1] is the core's rule
        "dense_output": ["boolean"],
    }

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        density: float | str = "auto",
        eps: float = 0.1,
        dense_output: bool = False,
        compute_inverse_components: bool = False,
        random_state: Any = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.density = density
        self.eps = eps
        self.dense_output = dense_output
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.device = device

    def _operator_params(self, n_components: int, n_features: int) -> dict[str, Any]:
        return {"density": self.density}

    def _set_fitted_params(self) -> None:
        self.density_ = self.operator_.density


@fill_doc
class SparseSignProjection(_BaseSketchProjection):
    """Reduce dimensionality with a sparse sign embedding (SJLT / OSNAP).

    Each column of the projection matrix has exactly ``nnz_`` nonzeros, at distinct
    uniformly random rows, equal to ``±1 / sqrt(nnz_)`` with random signs; every
    column has unit norm and ``E ||S x||^2 = ||x||^2``. Transforming costs ``nnz_``
    operations per nonzero input value, independent of ``n_components``, and gives
    embeddings of the same quality as Gaussian projections for ``nnz`` of about 8.

    Same interface as :class:`SparseRandomProjection`.

    Parameters
    ----------
    %(n_components)s

    nnz : int, default=8
        Nonzeros per column. Capped at ``n_components_`` (``nnz_`` holds the value
        used).

    %(eps)s

    %(dense_output)s

    %(compute_inverse_components)s

    %(random_state)s

    %(transformer_device)s

    Attributes
    ----------
    %(n_components_and_seed_)s

    %(operator_)s

    %(sparse_components_)s

    %(inverse_components_)s

    nnz_ : int
        Nonzeros per column actually used (``min(nnz, n_components_)``).

    %(features_in_)s

    See Also
    --------
    sketchkit.sparse_sign : The underlying operator.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit import SparseSignProjection
    >>> X = np.random.RandomState(42).rand(25, 3000)
    >>> SparseSignProjection(n_components=100, random_state=0).fit_transform(X).shape
    (25, 100)
    """

    _constructor = staticmethod(sparse_sign)
    _sparse_components = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_BaseSketchProjection._parameter_constraints,
        "nnz": [Integral],  # the range 1 <= nnz is the core's rule
        "dense_output": ["boolean"],
    }

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        nnz: int = _native.DEFAULT_NNZ,
        eps: float = 0.1,
        dense_output: bool = False,
        compute_inverse_components: bool = False,
        random_state: Any = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.nnz = nnz
        self.eps = eps
        self.dense_output = dense_output
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.device = device

    def _operator_params(self, n_components: int, n_features: int) -> dict[str, Any]:
        return {"nnz": min(int(self.nnz), n_components)}

    def _set_fitted_params(self) -> None:
        self.nnz_ = self.operator_.nnz


@fill_doc
class CountSketchProjection(_BaseSketchProjection):
    """Reduce dimensionality with CountSketch (feature hashing with random signs).

    Each input feature is added, with a random sign, to one uniformly random output
    component: the projection matrix has a single ``±1`` per column, and
    ``E ||S x||^2 = ||x||^2``. The cheapest projection (one addition per nonzero input
    value), with a higher variance than :class:`SparseSignProjection`.

    Same interface as :class:`SparseRandomProjection`.

    Parameters
    ----------
    %(n_components)s

    %(eps)s

    %(dense_output)s

    %(compute_inverse_components)s

    %(random_state)s

    %(transformer_device)s

    Attributes
    ----------
    %(n_components_and_seed_)s

    %(operator_)s

    %(sparse_components_)s

    %(inverse_components_)s

    %(features_in_)s

    See Also
    --------
    sketchkit.countsketch : The underlying operator.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit import CountSketchProjection
    >>> X = np.random.RandomState(42).rand(25, 3000)
    >>> CountSketchProjection(n_components=100, random_state=0).fit_transform(X).shape
    (25, 100)
    """

    _constructor = staticmethod(countsketch)
    _sparse_components = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_BaseSketchProjection._parameter_constraints,
        "dense_output": ["boolean"],
    }

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        eps: float = 0.1,
        dense_output: bool = False,
        compute_inverse_components: bool = False,
        random_state: Any = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.eps = eps
        self.dense_output = dense_output
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.device = device


@fill_doc
class SRHTProjection(_BaseSketchProjection):
    """Reduce dimensionality with a subsampled randomized Hadamard transform (SRHT).

    The projection matrix is ``S = sqrt(d' / n_components) P H D`` (Ailon & Chazelle;
    Tropp), with ``d'`` the smallest power of two ``>= max(n_features, n_components)``
    (samples are zero-padded to ``d'``), ``D`` random signs, ``H`` the orthonormal Walsh–Hadamard
    matrix of order ``d'`` and ``P`` a uniform choice of ``n_components`` distinct rows.
    Every component is ``±1 / sqrt(n_components)`` and ``E ||S x||^2 = ||x||^2``.
    Dense input is transformed with one fast Walsh–Hadamard transform per sample,
    ``O(d' log d')`` operations instead of the ``O(n_components · n_features)`` of
    :class:`GaussianRandomProjection`, with embeddings of the same quality.

    Same interface as :class:`GaussianRandomProjection`; the output is always dense.

    Parameters
    ----------
    n_components : int or 'auto', default='auto'
        Dimensionality of the target projection space. Values above ``n_features``
        warn (``DataDimensionalityWarning``), as in scikit-learn; ``d'`` then grows to
        hold ``n_components`` distinct Hadamard rows. With ``'auto'``
        it is ``johnson_lindenstrauss_min_dim(n_samples, eps=eps)``, which can be very
        conservative; fitting raises ``ValueError`` if that exceeds ``n_features``.

    %(eps)s

    %(compute_inverse_components)s

    %(random_state)s

    %(transformer_device)s

    Attributes
    ----------
    %(n_components_and_seed_)s

    operator_ : SketchOperator
        The fitted operator ``S`` (family ``"srht"``); ``transform(X)`` is
        ``X @ operator_.T``.

    %(dense_components_)s

    %(inverse_components_)s

    %(features_in_)s

    See Also
    --------
    sketchkit.srht : The underlying operator.
    sketchkit.fwht : The fast Walsh–Hadamard transform.
    GaussianRandomProjection : The dense projection the SRHT replaces.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit import SRHTProjection
    >>> X = np.random.RandomState(42).rand(25, 3000)
    >>> SRHTProjection(n_components=100, random_state=0).fit_transform(X).shape
    (25, 100)
    """

    _constructor = staticmethod(srht)
    _sparse_components = False

    def __init__(
        self,
        n_components: int | str = "auto",
        *,
        eps: float = 0.1,
        compute_inverse_components: bool = False,
        random_state: Any = None,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.eps = eps
        self.compute_inverse_components = compute_inverse_components
        self.random_state = random_state
        self.device = device
