"""``RandomizedPCA``: PCA by randomized SVD, centring sparse input implicitly."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _native
from ._projection import _validate
from ._validation import as_array, resolve_seed
from .linalg import _DEFAULTS, _matrix

__all__ = ["RandomizedPCA"]


class RandomizedPCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Principal component analysis by randomized SVD, sparse input centred implicitly.

    The centred matrix :math:`X_c = X - \mathbf 1\mu^T` is never formed: the
    randomized SVD of :func:`sketchkit.linalg.randomized_svd` runs on the operator
    :math:`v \mapsto Xv - \mathbf 1(\mu^Tv)`, so a CSR/CSC input stays sparse (memory
    of the input plus ``O((n + d) k)``) where scikit-learn's ``PCA`` needs the dense
    matrix and ``TruncatedSVD`` does not centre.

    Attributes follow :class:`sklearn.decomposition.PCA`: with
    :math:`X_c \approx U\,\mathrm{diag}(s)\,V^T`,
    ``components_ = V^T``, ``singular_values_ = s``,
    ``explained_variance_ = s^2/(n-1)`` and ``explained_variance_ratio_`` its share
    of the exact total variance :math:`\|X_c\|_F^2/(n-1)`. Signs follow ``PCA``'s
    rule (the largest-magnitude entry of each component is positive).

    Parameters
    ----------
    n_components : int
        Number of components.
    n_oversamples : int, default=10
        Extra test vectors of the randomized SVD.
    n_iter : int or "auto", default="auto"
        Power iterations (``"auto"``: 7 when ``n_components < 0.1 min(n, d)``, else 4).
    sketch : str, default="gaussian"
        Family of the test matrix.
    whiten : bool, default=False
        Scale the projections to unit variance.
    random_state : int, RandomState, Generator or None, default=None

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
    explained_variance_ : ndarray of shape (n_components,)
    explained_variance_ratio_ : ndarray of shape (n_components,)
    singular_values_ : ndarray of shape (n_components,)
    mean_ : ndarray of shape (n_features,)
    n_components_ : int
    n_samples_ : int
    noise_variance_ : float
        Mean of the variance left out, :math:`(\mathrm{total} - \sum_i
        \mathrm{explained\_variance}_i)/(\min(n, d) - k)`.
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_oversamples": [Interval(Integral, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "sketch": [StrOptions(set(_native.FAMILIES))],
        "whiten": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components: int = 2,
        *,
        n_oversamples: int = _DEFAULTS["n_oversamples"],
        n_iter: int | str = "auto",
        sketch: str = _DEFAULTS["svd_sketch"],
        whiten: bool = False,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.sketch = sketch
        self.whiten = whiten
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> RandomizedPCA:
        """Fit the model on ``X`` (dense, CSR or CSC; never densified).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self
        """
        X = _validate(self, X, reset=True, scan_finite=False)
        n, d = X.shape
        a, _dtype, _shape = _matrix(X, "X")
        u, s, vt, mean, ss = _native.randomized_svd(
            a,
            self.n_components,
            self.n_oversamples,
            None if self.n_iter == "auto" else self.n_iter,
            self.sketch,
            None,
            "v",
            None,
            _DEFAULTS["block_size"],
            resolve_seed(self.random_state),
            True,
        )
        dt = X.dtype
        # total variance ‖X − 1μᵀ‖_F² / (n − 1), from the core (no copy of X here)
        total = ss / max(n - 1, 1)
        ev = s.astype(np.float64) ** 2 / max(n - 1, 1)
        self.mean_ = mean
        self.components_ = vt
        self.singular_values_ = s
        self.explained_variance_ = ev.astype(dt)
        self.explained_variance_ratio_ = (ev / total if total > 0 else np.zeros_like(ev)).astype(dt)
        rest = min(n, d) - len(s)
        self.noise_variance_ = float(max(total - ev.sum(), 0.0) / rest) if rest > 0 else 0.0
        self.n_components_ = len(s)
        self.n_samples_ = n
        self._n_features_out = self.n_components_
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Project ``X`` on the components: :math:`(X - \\mu)V` (whitened if asked).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        Z = np.asarray(X @ self.components_.T) - (self.mean_ @ self.components_.T)
        if self.whiten:
            Z = Z / np.sqrt(self.explained_variance_)
        return Z.astype(self.components_.dtype, copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map projections back: :math:`Z V^T + \\mu` (undoing the whitening).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        Z: np.ndarray = np.asarray(as_array(X, "X"), dtype=self.components_.dtype)
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_)
        return Z @ self.components_ + self.mean_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
