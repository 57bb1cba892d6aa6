r"""Random feature maps: scikit-learn transformers whose output inner products
approximate a kernel, :math:`z(x)^\top z(y) \approx k(x, y)`.

* :class:`RandomFourierFeatures` -- a drop-in for :class:`sklearn.kernel_approximation.RBFSampler`
  (same parameters and fitted attributes), with the RBF, Laplacian and Cauchy kernels
  and a choice of weight distribution;
* :class:`OrthogonalRandomFeatures` (ORF) and :class:`StructuredOrthogonalFeatures`
  (SORF, ``H D3 H D2 H D1`` blocks on the fast Walsh--Hadamard transform, no stored
  matrix) for the RBF kernel;
* :class:`RandomReLUFeatures` for the arc-cosine kernel of degree one.

Random Fourier features (Rahimi & Recht, 2007) use Bochner's theorem: a shift-invariant
kernel is the Fourier transform of a probability density :math:`p(\omega)`, so

.. math::

    k(x - y) = \mathbb{E}_{\omega \sim p,\, b \sim U[0, 2\pi)}
        \left[ 2 \cos(\omega^\top x + b) \cos(\omega^\top y + b) \right],
    \qquad z(x) = \sqrt{2 / D}\, \cos(W x + b).

* ``kernel="rbf"``: :math:`k = \exp(-\gamma \lVert x - y \rVert_2^2)`,
  :math:`\omega \sim N(0, 2\gamma I)`;
* ``kernel="laplacian"``: :math:`k = \exp(-\gamma \lVert x - y \rVert_1)`,
  coordinates :math:`\omega_i \sim \mathrm{Cauchy}(0, \gamma)`;
* ``kernel="cauchy"``: :math:`k = \prod_i 1 / (1 + \gamma (x_i - y_i)^2)`,
  coordinates :math:`\omega_i \sim \mathrm{Laplace}(0, \sqrt{\gamma})`.

Orthogonal random features (Yu et al., 2016) replace each block of ``d`` i.i.d.
Gaussian rows by :math:`\sqrt{2\gamma}\, S Q` with :math:`Q` Haar-orthogonal and
:math:`S` diagonal with :math:`\chi_d` entries: every row keeps its
:math:`N(0, 2\gamma I)` marginal, rows in a block are orthogonal, and the kernel
estimate has lower variance. SORF replaces :math:`Q` by
:math:`\sqrt{d'}\, H D_3 H D_2 H D_1` (normalized Hadamard :math:`H`, random signs
:math:`D_i`, :math:`d' = 2^{\lceil \log_2 d \rceil}`), applied in
:math:`O(d' \log d')` per block with no stored matrix.

The projection and the cosine (or ReLU) run fused in the compiled core on its thread
pool; results are bit-identical for every thread count. All transformers keep
``float32`` input ``float32``.

This module requires scikit-learn and SciPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _native
from ._projection import _validate
from ._validation import as_float, check_choice, check_int, resolve_seed

__all__ = [
    "OrthogonalRandomFeatures",
    "RandomFourierFeatures",
    "RandomReLUFeatures",
    "StructuredOrthogonalFeatures",
]

FloatArray = np.ndarray


def _weights(weights: Any) -> tuple[float, float]:
    """``weights`` as ``(scale, mean)``: ``None`` or a mapping with optional keys
    ``"scale"`` and ``"mean"`` (the values are checked by the core)."""
    if weights is None:
        return 1.0, 0.0
    if not isinstance(weights, Mapping):
        raise TypeError(
            "weights must be None or a mapping such as {'scale': 1.0, 'mean': 0.0}, got "
            f"{type(weights).__name__} {weights!r}"
        )
    unknown = set(weights) - {"scale", "mean"}
    if unknown:
        raise ValueError(
            f"weights: unknown keys {sorted(map(str, unknown))}; use 'scale' and 'mean'"
        )
    return (
        as_float(weights.get("scale", 1.0), "weights['scale']"),
        as_float(weights.get("mean", 0.0), "weights['mean']"),
    )


class _BaseRandomFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared implementation; use the concrete classes."""

    _map: str = "fourier"

    def _kernel(self) -> str:
        return "rbf"

    def _gamma(self, X: Any) -> float:
        gamma = getattr(self, "gamma", 1.0)
        if isinstance(gamma, str):
            check_choice(gamma, "gamma", ("scale",))
            # scikit-learn's RBFSampler rule: 1 / (n_features * X.var()).
            if sp.issparse(X):
                var = X.multiply(X).mean() - X.mean() ** 2
            else:
                var = X.var()
            return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
        if not isinstance(gamma, Real) or isinstance(gamma, bool):
            raise TypeError(f"gamma must be a float or 'scale', got {type(gamma).__name__}")
        return float(gamma)

    def fit(self, X: Any, y: Any = None) -> Any:
        """Draw the random weights for inputs shaped like ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; only its number of features (and its variance for
            ``gamma="scale"``) is used.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = _validate(self, X, reset=True)
        n_components = check_int(self.n_components, "n_components", minimum=None)
        scale, mean = _weights(getattr(self, "weights", None))
        self.gamma_ = self._gamma(X)
        self.seed_ = resolve_seed(self.random_state)
        self._native_map = _native.RandomFeatureMap(
            self._map,
            self._kernel(),
            X.shape[1],
            n_components,
            self.gamma_,
            scale,
            mean,
            self.seed_,
        )
        self._n_features_out = n_components
        return self

    def _feature_map(self) -> Any:
        check_is_fitted(self, "seed_")
        fm = self.__dict__.get("_native_map")
        if fm is None:  # unpickled: rebuild from the seed
            scale, mean = _weights(getattr(self, "weights", None))
            fm = _native.RandomFeatureMap(
                self._map,
                self._kernel(),
                self.n_features_in_,
                self._n_features_out,
                self.gamma_,
                scale,
                mean,
                self.seed_,
            )
            self._native_map = fm
        return fm

    def transform(self, X: Any) -> FloatArray:
        """Apply the feature map.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to transform (sparse input is densified).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The features, ``float32`` for ``float32`` input, else ``float64``.
        """
        fm = self._feature_map()
        X = _validate(self, X, reset=False, scan_finite=False)
        if sp.issparse(X):
            X = X.toarray()
        return fm.transform(X)  # type: ignore[no-any-return]

    @property
    def random_weights_(self) -> FloatArray:
        """The weights as scikit-learn's ``RBFSampler`` stores them: shape
        ``(n_features, n_components)``, so that ``z(X) = f(X @ random_weights_ + b)``
        (materialized on access for SORF)."""
        return np.ascontiguousarray(self._feature_map().weights().T)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_native_map", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}


class _FourierOffsets:
    @property
    def random_offset_(self) -> FloatArray:
        """The phases ``b`` of shape ``(n_components,)``, uniform in ``[0, 2π)``."""
        return self._feature_map().offsets()  # type: ignore[attr-defined, no-any-return]


class RandomFourierFeatures(_FourierOffsets, _BaseRandomFeatures):
    r"""Random Fourier features for the RBF, Laplacian or Cauchy kernel.

    A drop-in for :class:`sklearn.kernel_approximation.RBFSampler` (same parameters,
    ``random_weights_`` and ``random_offset_``), computing
    :math:`z(x) = \sqrt{2/D}\, \cos(W x + b)` fused and multi-threaded in the compiled
    core. Statistically equivalent to ``RBFSampler`` (same distributions), not
    bit-equal: the weights come from sketchkit's counter-based random streams.

    Parameters
    ----------
    gamma : float or 'scale', default=1.0
        Kernel parameter :math:`\gamma > 0` (see the module table); ``'scale'`` uses
        ``1 / (n_features * X.var())`` as ``RBFSampler`` does.
    n_components : int, default=100
        Number of output features :math:`D`.
    kernel : {'rbf', 'laplacian', 'cauchy'}, default='rbf'
        The kernel approximated.
    weights : mapping or None, default=None
        The weight distribution :math:`\omega = \mu \mathbf{1} + s\, \omega_0` with
        :math:`\omega_0` the kernel's spectral draw: ``{'scale': s, 'mean': mu}``
        (defaults 1 and 0). With :math:`s \neq 1` or :math:`\mu \neq 0` the features
        approximate :math:`\cos(\mu \mathbf{1}^\top (x - y))\, k(s (x - y))`.
    random_state : int, RandomState instance or None, default=None
        Seed of the random weights.

    Attributes
    ----------
    random_weights_ : ndarray of shape (n_features, n_components)
        :math:`W^\top`, float64.
    random_offset_ : ndarray of shape (n_components,)
        The phases :math:`b`.
    gamma_ : float
        The :math:`\gamma` used.
    seed_ : int
        The 64-bit seed drawn from ``random_state``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during :meth:`fit` (string column names only).

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit.kernel_approximation import RandomFourierFeatures
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> Z = RandomFourierFeatures(gamma=0.5, n_components=4096, random_state=0).fit_transform(X)
    >>> K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    >>> bool(np.abs(Z @ Z.T - K).max() < 0.1)
    True
    """

    _map = "fourier"

    def __init__(
        self,
        *,
        gamma: float | str = 1.0,
        n_components: int = 100,
        kernel: str = "rbf",
        weights: Mapping[str, float] | None = None,
        random_state: Any = None,
    ) -> None:
        self.gamma = gamma
        self.n_components = n_components
        self.kernel = kernel
        self.weights = weights
        self.random_state = random_state

    def _kernel(self) -> str:
        return str(self.kernel) if isinstance(self.kernel, str) else repr(self.kernel)


class OrthogonalRandomFeatures(_FourierOffsets, _BaseRandomFeatures):
    r"""Orthogonal random features (ORF) for the RBF kernel
    :math:`\exp(-\gamma \lVert x - y \rVert^2)`.

    Blocks of ``n_features`` rows :math:`\sqrt{2\gamma}\, S Q` (:math:`Q` Haar-random
    orthogonal from a QR factorization, :math:`S` diagonal :math:`\chi_d`): unbiased
    like random Fourier features, with lower kernel-approximation error.

    Parameters
    ----------
    gamma : float or 'scale', default=1.0
        Kernel parameter :math:`\gamma > 0`.
    n_components : int, default=100
        Number of output features.
    weights : mapping or None, default=None
        ``{'scale': s, 'mean': mu}`` as for :class:`RandomFourierFeatures` (rows stay
        orthogonal only with ``mean=0``).
    random_state : int, RandomState instance or None, default=None
        Seed of the random weights.

    Attributes
    ----------
    random_weights_ : ndarray of shape (n_features, n_components)
        :math:`W^\top`, float64.
    random_offset_ : ndarray of shape (n_components,)
        The phases :math:`b`.
    gamma_ : float
        The :math:`\gamma` used.
    seed_ : int
        The 64-bit seed drawn from ``random_state``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during :meth:`fit` (string column names only).
    """

    _map = "orthogonal"

    def __init__(
        self,
        *,
        gamma: float | str = 1.0,
        n_components: int = 100,
        weights: Mapping[str, float] | None = None,
        random_state: Any = None,
    ) -> None:
        self.gamma = gamma
        self.n_components = n_components
        self.weights = weights
        self.random_state = random_state


class StructuredOrthogonalFeatures(_FourierOffsets, _BaseRandomFeatures):
    r"""Structured orthogonal random features (SORF) for the RBF kernel.

    Blocks of :math:`d' = 2^{\lceil \log_2 d \rceil}` rows
    :math:`\sqrt{2\gamma d'}\, H D_3 H D_2 H D_1` (normalized Walsh--Hadamard
    :math:`H`, random sign diagonals :math:`D_i`) applied to the zero-padded input with
    three fast transforms per block: :math:`O(D \log d')` per row instead of
    :math:`O(D d)`, and no stored matrix.

    Parameters
    ----------
    gamma : float or 'scale', default=1.0
        Kernel parameter :math:`\gamma > 0`.
    n_components : int, default=100
        Number of output features.
    weights : mapping or None, default=None
        ``{'scale': s, 'mean': mu}`` as for :class:`RandomFourierFeatures`.
    random_state : int, RandomState instance or None, default=None
        Seed of the random signs.

    Attributes
    ----------
    random_weights_ : ndarray of shape (n_features, n_components)
        :math:`W^\top` (materialized on access), float64.
    random_offset_ : ndarray of shape (n_components,)
        The phases :math:`b`.
    gamma_ : float
        The :math:`\gamma` used.
    seed_ : int
        The 64-bit seed drawn from ``random_state``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during :meth:`fit` (string column names only).
    """

    _map = "structured"

    def __init__(
        self,
        *,
        gamma: float | str = 1.0,
        n_components: int = 100,
        weights: Mapping[str, float] | None = None,
        random_state: Any = None,
    ) -> None:
        self.gamma = gamma
        self.n_components = n_components
        self.weights = weights
        self.random_state = random_state


class RandomReLUFeatures(_BaseRandomFeatures):
    r"""Random ReLU features :math:`z(x) = \sqrt{2/D}\, \max(0, W x)`,
    :math:`W_{ji} \sim N(0, 1)`.

    Their inner products approximate the arc-cosine kernel of degree one
    (Cho & Saul, 2009),

    .. math::

        k(x, y) = \frac{1}{\pi} \lVert x \rVert \lVert y \rVert
            \left( \sin\theta + (\pi - \theta) \cos\theta \right),

    with :math:`\theta` the angle between :math:`x` and :math:`y`: the kernel of an
    infinitely wide one-hidden-layer ReLU network.

    Parameters
    ----------
    n_components : int, default=100
        Number of output features.
    weights : mapping or None, default=None
        ``{'scale': s, 'mean': mu}``: :math:`W = \mu + s\, W_0`.
    random_state : int, RandomState instance or None, default=None
        Seed of the random weights.

    Attributes
    ----------
    random_weights_ : ndarray of shape (n_features, n_components)
        :math:`W^\top`, float64.
    seed_ : int
        The 64-bit seed drawn from ``random_state``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during :meth:`fit` (string column names only).
    """

    _map = "relu"

    def __init__(
        self,
        *,
        n_components: int = 100,
        weights: Mapping[str, float] | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.weights = weights
        self.random_state = random_state
