r"""Row sampling with guarantees: samplers that return rows **with importance weights**.

* :class:`LeverageSampler` -- i.i.d. sampling by (ridge) leverage scores;
* :class:`SensitivitySampler` -- i.i.d. sampling by :math:`\ell_p` sensitivity bounds
  (Lewis weights, root-leverage bounds, or the hybrid scheme);
* :class:`DPPSampler` -- exact projection DPPs and k-DPPs (plus an approximate
  sampler for large ``n``);
* :class:`VolumeSampler` -- volume-rescaled sampling and repeated DPPs (``m ≥ rank``);
* :class:`RS2Sampler` -- repeated random subsets without replacement across epochs;
* :func:`coreset_loss_ratio` -- the quality of a weighted sample for least squares,
  least absolute deviations or logistic regression.

Every sampler follows imbalanced-learn's sampler API (``fit_resample(X, y=None)``,
``sample_indices_``) and adds ``sample_weight_``: the Horvitz--Thompson weights, so
that :math:`\mathbb E[\sum_{i \in S} w_i f_i] = \sum_{i=1}^n f_i` for any per-row
quantity :math:`f`. With ``y`` the draw is stratified: each class is sampled on its
own rows (weights unbiased within each class). All computation, defaults and
sample-size rules are the Rust core's (``sketchkit::sampling``); results are
bit-identical for a ``random_state`` whatever the number of threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .. import _native
from .._docs import choices, fill_doc
from .._validation import as_dense, as_float, as_int, check_choice, resolve_seed
from ._base import encode_labels

__all__ = [
    "DPPSampler",
    "LeverageSampler",
    "RS2Sampler",
    "SensitivitySampler",
    "VolumeSampler",
    "coreset_loss_ratio",
    "dpp_marginals",
    "optimal_loss",
    "lewis_weights",
    "sensitivity_scores",
]

#: The core's sampling names and defaults (``sketchkit::sampling``).
SAMPLING_DEFAULTS: dict[str, Any] = dict(_native.sampling_defaults())
_SENSITIVITIES: tuple[str, ...] = tuple(SAMPLING_DEFAULTS["sensitivities"])
_DPP_METHODS: tuple[str, ...] = tuple(SAMPLING_DEFAULTS["dpp_methods"])
_SCHEMES: tuple[str, ...] = tuple(SAMPLING_DEFAULTS["volume_schemes"])
_LEVERAGE: tuple[str, ...] = tuple(SAMPLING_DEFAULTS["leverage_methods"])


def _features(X: Any) -> np.ndarray:
    """``X`` as a C-contiguous float64 matrix (pandas and sparse inputs densified)."""
    if hasattr(X, "iloc"):
        X = X.to_numpy()
    if sp.issparse(X):
        X = X.toarray()
    Xd = as_dense(X, "X")
    if Xd.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got shape {Xd.shape}")
    return np.ascontiguousarray(Xd, dtype=np.float64)


def _n_samples(value: Any) -> Any:
    """``n_samples`` as the binding takes it: ``None``, ``int`` or ``float`` (the core
    checks the value; the binding rejects other types)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


class _RowSampler(BaseEstimator):
    """Base class: validation, stratification and the resampled output.

    Subclasses implement ``_sample(X, codes, n_classes, seed) -> (indices, weights)``.
    """

    _sampling_type = "under-sampling"

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit_resample(self, X: Any, y: Any = None, **params: Any) -> tuple[Any, Any]:
        """Draw the sample and return its rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The feature matrix whose rows are sampled (converted to ``float64``;
            sparse input is densified).
        y : array-like of shape (n_samples,), optional
            Labels: when given, each class is sampled on its own rows.

        Returns
        -------
        X_resampled : same container as ``X``
            The sampled rows (distinct, in their original order).
        y_resampled : same container as ``y``, or None
            Their labels (``None`` when ``y`` is ``None``).
        """
        is_pandas = hasattr(X, "iloc")
        Xf = _features(X)
        n = Xf.shape[0]
        codes: np.ndarray | None = None
        n_classes = 0
        if y is not None:
            self.classes_, codes = encode_labels(y, n)
            n_classes = len(self.classes_)
        self.n_features_in_ = int(Xf.shape[1])
        if is_pandas:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        idx, w = self._sample(Xf, codes, n_classes, resolve_seed(self.random_state))
        self.sample_indices_ = np.asarray(idx, dtype=np.int64)
        self.sample_weight_ = np.asarray(w, dtype=np.float64)
        idx = self.sample_indices_
        if is_pandas:
            X_res = X.iloc[idx]
        elif sp.issparse(X):
            X_res = sp.csr_matrix(X)[idx]
        else:
            X_res = np.asarray(X)[idx]
        if y is None:
            return X_res, None
        y_res = y.iloc[idx] if hasattr(y, "iloc") else np.asarray(y)[idx]
        return X_res, y_res

    def fit(self, X: Any, y: Any = None) -> _RowSampler:
        """Draw the sample (same as ``fit_resample``, returning ``self``)."""
        self.fit_resample(X, y)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_ATTRS = """\
sample_indices_ : ndarray of int64
    The sampled rows, distinct, ascending.
sample_weight_ : ndarray of float64
    Their Horvitz--Thompson weights: ``E[sum(w * f[idx])] = sum(f)`` for any
    per-row quantity ``f`` (per class when ``y`` was given). Repeated draws of a
    row are merged into one entry whose weight is the sum.
classes_ : ndarray
    The labels (only when ``y`` was given).
n_features_in_ : int"""


@fill_doc(leverage_methods=choices(_LEVERAGE), common_attrs=_COMMON_ATTRS)
class LeverageSampler(_RowSampler):
    r"""I.i.d. sampling by ℓ2 (ridge) leverage scores, with a uniform floor.

    The leverage score of row :math:`i` of :math:`A` is
    :math:`\tau_i(\lambda) = a_i^\top (A^\top A + \lambda I)^{-1} a_i` (``ridge``
    :math:`= \lambda`; :math:`\lambda = 0` gives the ordinary scores, summing to
    :math:`\operatorname{rank} A`). ``m`` rows are drawn with replacement with
    probabilities :math:`q_i = (1-\alpha)\,\tau_i/\sum_j \tau_j + \alpha/n`
    (:math:`\alpha` = ``floor``), and each draw gets weight :math:`1/(m q_i)`.

    Guarantee: with :math:`m \ge d_\lambda \ln(2 d_\lambda/\delta)/\varepsilon^2`
    (:math:`d_\lambda = \sum_i \tau_i(\lambda)`; the core's rule, used when
    ``n_samples=None``, capped at ``n``), :math:`SA` is a
    :math:`(1\pm\varepsilon)` subspace embedding with probability
    :math:`\ge 1-\delta` up to constants (matrix Chernoff), so weighted least squares
    on the sample is within :math:`1+O(\varepsilon)` of the optimum.

    Parameters
    ----------
    n_samples : int, float or None, default=None
        Number of draws (``int``), a fraction of the rows (``float`` in (0, 1]), or
        ``None`` for the rule above. With ``y``, an ``int`` is split over the classes
        in proportion to their sizes.
    ridge : float, default=0.0
        :math:`\lambda \ge 0`.
    method : %(leverage_methods)s, default="exact"
        Exact scores (QR) or the sketched approximation of
        :func:`sketchkit.linalg.leverage_scores`.
    floor : float or None, default=None
        Uniform mixing :math:`\alpha \in [0, 1]` (``None``: the core's default).
    eps, delta : float or None, default=None
        Accuracy and failure probability of the sample-size rule (``None``: the
        core's defaults).
    random_state : int, RandomState instance, Generator or None, default=None

    Attributes
    ----------
    %(common_attrs)s
    """

    def __init__(
        self,
        n_samples: Any = None,
        *,
        ridge: float = 0.0,
        method: str = "exact",
        floor: float | None = None,
        eps: float | None = None,
        delta: float | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_samples = n_samples
        self.ridge = ridge
        self.method = method
        self.floor = floor
        self.eps = eps
        self.delta = delta
        self.random_state = random_state

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return _native.leverage_sample(
            X,
            codes,
            n_classes,
            _n_samples(self.n_samples),
            as_float(self.ridge, "ridge"),
            check_choice(self.method, "method", _LEVERAGE),
            _default(self.floor, "floor"),
            _default(self.eps, "eps"),
            _default(self.delta, "delta"),
            seed,
        )


def _default(value: Any, name: str) -> float:
    """``value`` as a float, or the core's default for ``name`` when ``None``."""
    return float(SAMPLING_DEFAULTS[name]) if value is None else as_float(value, name)


@fill_doc(
    sensitivities=choices(_SENSITIVITIES),
    leverage_methods=choices(_LEVERAGE),
    common_attrs=_COMMON_ATTRS,
)
class SensitivitySampler(_RowSampler):
    r"""I.i.d. ℓp sensitivity sampling (Woodruff and Yasuda, "Sharper bounds for ℓp
    sensitivity sampling", ICML 2023).

    The ℓp sensitivity of row :math:`i` is
    :math:`s_i = \sup_x |a_i^\top x|^p / \|Ax\|_p^p`; their total is
    :math:`\mathfrak S = \sum_i s_i`. The core computes upper bounds:

    * ``"lewis"``: ℓp Lewis weights :math:`w` (the fixed point
      :math:`w_i = (a_i^\top (A^\top W^{1-2/p} A)^{-1} a_i)^{p/2}`, iterated on
      leverage scores; needs :math:`p < 4`), :math:`s_i \le w_i` for
      :math:`p \le 2` and :math:`s_i \le r^{p/2-1} w_i` for :math:`p > 2`; rows are
      drawn by :math:`w`;
    * ``"root-leverage"``: :math:`s_i \le \tau_i^{p/2}` (:math:`p \le 2`) or
      :math:`n^{p/2-1}\tau_i^{p/2}` (:math:`p > 2`), any :math:`p > 0`;
    * ``"hybrid"``: the minimum of both bounds, drawing from the even mixture of the
      sensitivity bounds and the Lewis weights.

    Draws are mixed with the uniform floor and weighted :math:`1/(m q_i)` as in
    :class:`LeverageSampler`. The rule for ``n_samples=None`` is
    :math:`m = \lceil G \ln(2r/\delta)/\varepsilon^2 \rceil` (capped at ``n``) with
    :math:`G = \mathfrak S^{2/p}` (:math:`p < 2`), :math:`\mathfrak S^{2-2/p}`
    (:math:`p > 2`), or :math:`\min(\mathfrak S^{2-2/p}, r^{2/p}\mathfrak S^{2-4/p})`
    for the hybrid scheme; it guarantees :math:`\|SAx\|_p^p = (1\pm\varepsilon)
    \|Ax\|_p^p` for all :math:`x` with probability :math:`1-\delta` (up to the
    paper's constants and logarithmic factors). For ℓp regression sample the rows of
    ``[A, b]``; for logistic regression use ``p=1`` with the labels (stratified).

    Parameters
    ----------
    p : float, default=1.0
        :math:`p > 0`.
    n_samples : int, float or None, default=None
        As in :class:`LeverageSampler`.
    sensitivity : %(sensitivities)s, default="lewis"
    method : %(leverage_methods)s, default="exact"
        How the leverage scores inside are computed.
    floor, eps, delta : float or None, default=None
        As in :class:`LeverageSampler`.
    random_state : int, RandomState instance, Generator or None, default=None

    Attributes
    ----------
    %(common_attrs)s
    """

    def __init__(
        self,
        p: float = 1.0,
        n_samples: Any = None,
        *,
        sensitivity: str = "lewis",
        method: str = "exact",
        floor: float | None = None,
        eps: float | None = None,
        delta: float | None = None,
        random_state: Any = None,
    ) -> None:
        self.p = p
        self.n_samples = n_samples
        self.sensitivity = sensitivity
        self.method = method
        self.floor = floor
        self.eps = eps
        self.delta = delta
        self.random_state = random_state

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return _native.sensitivity_sample(
            X,
            codes,
            n_classes,
            _n_samples(self.n_samples),
            as_float(self.p, "p"),
            check_choice(self.sensitivity, "sensitivity", _SENSITIVITIES),
            check_choice(self.method, "method", _LEVERAGE),
            _default(self.floor, "floor"),
            _default(self.eps, "eps"),
            _default(self.delta, "delta"),
            seed,
        )


@fill_doc(common_attrs=_COMMON_ATTRS)
class LogisticSampler(_RowSampler):
    r"""Coreset for logistic regression: a pilot fit, then adaptive sampling by the
    norm of each row's log-likelihood gradient (the "mVc" optimal-subsampling
    probabilities of Wang, Zhu and Ma, 2018), mixed with a uniform floor and refined
    in stages.

    With ``y`` the two-class labels (coded 0/1 in sorted order) and
    :math:`z_i = (x_i, 1)`:

    1. **Pilot**: :math:`m_0 = \lceil \pi m \rceil` uniform i.i.d. draws
       (:math:`\pi` = ``pilot``); a ridge logistic regression
       :math:`\tilde\beta = \arg\min \tfrac{\lambda}{2}\|\beta\|^2 +
       \tfrac{n}{m_0}\sum_{i \in S_0} \ell_i(\beta)` (Newton's method in the core,
       intercept not penalized; :math:`\lambda` = ``ridge``);
    2. **Stages**: the other :math:`m - m_0` rows are drawn in a few stages (the
       ``stages``; fewer when fewer rows remain) of sizes :math:`m_t`.
       Each stage scores every row at the current fit,
       :math:`s_i = |y_i - \sigma(z_i^\top\tilde\beta)|\,\|z_i\|_2`, mixes the
       scores with the floor (:math:`\alpha` = ``floor``),
       :math:`q_i = (1-\alpha)\,s_i/\sum_j s_j + \alpha/n`, and takes row
       :math:`i` with probability :math:`\pi_i = \min(1, c\,q_i)`,
       :math:`\sum_i \pi_i = m_t` (systematic sampling in row order: exactly
       :math:`m_t` distinct rows); the fit is then redone on every row drawn so far.
    3. **Weights**: with :math:`M = m_0 + \sum_t m_t`, a pilot draw weighs
       :math:`(m_0/M)\cdot n/m_0` and a stage-:math:`t` row :math:`(m_t/M)/\pi_i`
       (Horvitz–Thompson weights :math:`h_i`). Each part is unbiased given the parts
       before it and the shares sum to one, so :math:`E[\sum_S h_i f_i] =
       \sum_i f_i` for any per-row :math:`f` (in particular the weighted logistic
       loss is unbiased for every :math:`\beta`).
    4. **Calibration** (``calibrate=True``): the fit is redone on the whole sample,
       :math:`\tilde\beta`, and the weights are raked (exponential calibration,
       Deville and Särndal) toward the full-data totals :math:`T = \sum_{i=1}^n a_i`
       of the count and the log-likelihood gradient at :math:`\tilde\beta`,
       :math:`a_i = (1, (\sigma(z_i^\top\tilde\beta) - y_i)\,z_i)` (one more pass
       over the rows):

       .. math:: w = \arg\min_{w > 0} \sum_S \Big(w_i \ln\frac{w_i}{h_i} - w_i
          + h_i\Big) + \sum_j \frac{(\sum_S w_i a_{ij} - T_j)^2}{2\kappa V_j},

       :math:`w_i = h_i \exp(\lambda^\top a_i)`, with :math:`V_j` the
       Horvitz–Thompson variance estimate of total :math:`j` and :math:`\kappa` =
       ``calibration_ridge``: each total is met up to a miss of the
       order of its own sampling noise times :math:`\kappa`, so a small sample in
       many dimensions is not pushed to extreme weights. A fit on the sample then
       starts from (nearly) the full data's gradient instead of an estimate of it;
       the error left is mostly the sampled Hessian's, second order near the
       optimum. The weights stay positive; they are design-consistent (bias
       :math:`O(1/m)`) rather than exactly unbiased. ``calibrate=False`` keeps the
       :math:`h_i`.

    The stages matter on heavy-tailed data, where a small uniform pilot is far off
    and its gradient norms point at the wrong rows. Fit a weighted model on the
    sample (``LogisticRegression().fit(X_res, y_res,
    sample_weight=sampler.sample_weight_)``). ``y`` is the response here, not a
    stratification.

    Parameters
    ----------
    n_samples : int, float or None, default=None
        Total draws (pilot included, at least 2), a fraction of the rows, or ``None``
        for the ℓ2 leverage rule on :math:`d + 1` dimensions (as
        :class:`LeverageSampler`; a heuristic for logistic regression).
    pilot : float or None, default=None
        Share :math:`\pi \in (0, 1)` of the draws spent on the pilot (``None``: the
        core's default).
    stages : int or None, default=None
        Stages of the adaptive draw after the pilot, at least 1 (``None``: the core's
        default). One stage is the classic two-step scheme (pilot, then one draw).
    ridge : float or None, default=None
        :math:`\lambda > 0` of the pilot fit (``None``: the core's default, 1, as
        scikit-learn's ``C = 1``).
    floor : float or None, default=None
        Uniform floor :math:`\alpha \in [0, 1]` of the stages' probabilities
        (``None``: the core's default for this sampler, ``logistic_floor``, lower
        than the other samplers' since the calibration corrects what it guards
        against).
    eps, delta : float or None, default=None
        As in :class:`LeverageSampler` (the default size rule).
    calibrate : bool, default=True
        Rake the weights toward the full-data count and gradient (step 4); ``False``
        keeps the exactly unbiased Horvitz–Thompson weights.
    calibration_ridge : float or None, default=None
        :math:`\kappa \ge 0` of step 4 (``None``: the core's default, chosen on
        tuning sets; 0 asks for the totals exactly, which a small sample in many
        dimensions can only meet with extreme weights, or not at all).
    random_state : int, RandomState instance, Generator or None, default=None

    Attributes
    ----------
    %(common_attrs)s
    """

    def __init__(
        self,
        n_samples: Any = None,
        *,
        pilot: float | None = None,
        stages: int | None = None,
        ridge: float | None = None,
        floor: float | None = None,
        calibrate: bool = True,
        calibration_ridge: float | None = None,
        eps: float | None = None,
        delta: float | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_samples = n_samples
        self.pilot = pilot
        self.stages = stages
        self.ridge = ridge
        self.floor = floor
        self.calibrate = calibrate
        self.calibration_ridge = calibration_ridge
        self.eps = eps
        self.delta = delta
        self.random_state = random_state

    def fit_resample(self, X: Any, y: Any = None, **params: Any) -> tuple[Any, Any]:
        """Draw the coreset (``y`` is required: the two-class labels).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features (without an intercept column: the fit adds one).
        y : array-like of shape (n_samples,)
            Two-class labels.

        Returns
        -------
        X_resampled, y_resampled
            The sampled rows and their labels (weights in ``sample_weight_``).
        """
        if y is None:
            raise ValueError("y: LogisticSampler needs the two-class labels")
        return super().fit_resample(X, y, **params)

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        if n_classes != 2:
            raise ValueError(f"y: logistic regression needs two classes, got {n_classes}")
        return _native.logistic_sample(
            X,
            codes,
            _n_samples(self.n_samples),
            _default(self.pilot, "pilot"),
            int(SAMPLING_DEFAULTS["stages"])
            if self.stages is None
            else as_int(self.stages, "stages"),
            _default(self.ridge, "ridge"),
            _default(self.floor, "logistic_floor"),
            self._calibration(),
            _default(self.eps, "eps"),
            _default(self.delta, "delta"),
            seed,
        )

    def _calibration(self) -> float | None:
        if not isinstance(self.calibrate, (bool, np.bool_)):
            raise TypeError(f"calibrate must be a bool, got {type(self.calibrate).__name__}")
        if not self.calibrate:
            return None
        return _default(self.calibration_ridge, "calibration_ridge")


@fill_doc(dpp_methods=choices(_DPP_METHODS), common_attrs=_COMMON_ATTRS)
class DPPSampler(_RowSampler):
    r"""Determinantal point process sampling of rows (Nouy and Michel, "Weighted
    least-squares approximation with determinantal point processes and generalized
    volume sampling").

    With :math:`r = \operatorname{rank} A` and :math:`Q` an orthonormal basis of
    :math:`\operatorname{range} A` (``n × r``, from the ``d × d`` Gram matrix; no
    ``n × n`` kernel is ever formed):

    * ``n_samples=None`` (or ``r``): the projection DPP with marginal kernel
      :math:`K = QQ^\top`, :math:`P(S) = \det(A_S)^2/\det(A^\top A)` for
      :math:`|S| = r`, inclusion probabilities :math:`\pi_i = \tau_i` (the leverage
      scores). Exact sequential (chain-rule) algorithm, each step by rejection from the
      leverage distribution: :math:`O(nd^2)` for the basis, :math:`O(n r + r^3\log r)`
      for the draw.
    * ``n_samples=k < r``: the k-DPP :math:`P(S) \propto \det(A_S A_S^\top)`, by the
      spectral algorithm (eigenvectors chosen by elementary symmetric polynomials).
    * ``method="approx"``: an **approximate** projection DPP for large ``n``: the exact
      sampler run on an intermediate i.i.d. sample of :math:`O(r\log r)` rows drawn by
      approximate leverage scores (rescaled); its distribution only approaches the DPP.
      Its approximate leverage scores cost about as much as the exact basis when ``d``
      is below a few hundred, so it is not faster there.

    ``sample_weight_`` is :math:`1/\pi_i`. ``k > r`` raises ``ValueError``.

    Parameters
    ----------
    n_samples : int, float or None, default=None
        ``k`` (``int``), a fraction of the rows (``float``), or ``None`` for the
        projection DPP (``k = rank``). With ``y``, per class.
    method : %(dpp_methods)s, default="exact"
    random_state : int, RandomState instance, Generator or None, default=None

    Attributes
    ----------
    %(common_attrs)s
    """

    def __init__(
        self, n_samples: Any = None, *, method: str = "exact", random_state: Any = None
    ) -> None:
        self.n_samples = n_samples
        self.method = method
        self.random_state = random_state

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return _native.dpp_sample(
            X,
            codes,
            n_classes,
            _n_samples(self.n_samples),
            check_choice(self.method, "method", _DPP_METHODS),
            seed,
        )


@fill_doc(schemes=choices(_SCHEMES), common_attrs=_COMMON_ATTRS)
class VolumeSampler(_RowSampler):
    r"""Generalized volume-rescaled sampling and repeated DPPs of ``m ≥ rank`` rows.

    * ``scheme="volume"``: with :math:`q_i = \tau_i / r`, the ordered sample
      :math:`(i_1, \dots, i_m)` has probability proportional to
      :math:`\det(\sum_j a_{i_j} a_{i_j}^\top / q_{i_j}) \prod_j q_{i_j}`; drawn as a
      projection DPP (``r`` rows) plus ``m - r`` i.i.d. draws from :math:`q`
      (Dereziński, Warmuth and Hsu). Each copy of row :math:`i` has weight
      :math:`1/(m q_i)`; weighted least squares on the sample is then an **unbiased**
      estimator of the full least-squares solution.
    * ``scheme="repeated"``: :math:`l = \lceil m/r \rceil` independent projection DPPs,
      each copy weighted :math:`1/(l\,\tau_i)`.

    ``n_samples=None`` uses the leverage rule :math:`r\ln(2r/\delta)/\varepsilon^2`
    with the core's defaults (at least ``r``). Fewer than ``rank`` rows raise
    ``ValueError`` (use :class:`DPPSampler`).

    Parameters
    ----------
    n_samples : int, float or None, default=None
    scheme : %(schemes)s, default="volume"
    random_state : int, RandomState instance, Generator or None, default=None

    Attributes
    ----------
    %(common_attrs)s
    """

    def __init__(
        self, n_samples: Any = None, *, scheme: str = "volume", random_state: Any = None
    ) -> None:
        self.n_samples = n_samples
        self.scheme = scheme
        self.random_state = random_state

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        return _native.volume_sample(
            X,
            codes,
            n_classes,
            _n_samples(self.n_samples),
            check_choice(self.scheme, "scheme", _SCHEMES),
            seed,
        )


class RS2Sampler(_RowSampler):
    r"""RS2: a fresh random subset each epoch, without replacement across epochs
    (Okanovic et al., "Repeated random sampling for minimizing the time-to-accuracy of
    learning").

    The rows are permuted once per round of :math:`E` epochs and epoch :math:`j` of a
    round takes positions :math:`[\lfloor jn/E\rfloor, \lfloor (j+1)n/E\rfloor)`, so
    every round of :math:`E` consecutive epochs partitions the rows
    (:math:`E = \lceil 1/f\rceil` for a fraction ``n_samples=f``,
    :math:`\lceil n/m\rceil` for a count ``m``, the core's default fraction for
    ``None``). The permutation is a Feistel network keyed by the Philox stream of
    ``(random_state, round)``: nothing of size ``n`` is stored and epoch ``e`` is
    reproducible alone, on any machine, for any thread count.

    Parameters
    ----------
    n_samples : int, float or None, default=None
        Rows per epoch (``int``) or the fraction (``float`` in (0, 1]).
    epoch : int, default=0
        The epoch ``fit_resample`` returns.
    random_state : int, RandomState instance, Generator or None, default=None
        An int makes every epoch reproducible; ``None`` draws a seed once per call.

    Attributes
    ----------
    sample_indices_ : ndarray of int64
        The rows of epoch ``epoch``, ascending (stratified by class when ``y`` is
        given: each class permuted and split on its own).
    sample_weight_ : ndarray of float64
        ``n / len(sample_indices_)`` for every row (uniform subsampling).
    """

    def __init__(self, n_samples: Any = None, *, epoch: int = 0, random_state: Any = None) -> None:
        self.n_samples = n_samples
        self.epoch = epoch
        self.random_state = random_state

    def _sample(
        self, X: np.ndarray, codes: np.ndarray | None, n_classes: int, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        e = as_int(self.epoch, "epoch")
        if codes is None:
            idx = _native.rs2_epoch(n, _n_samples(self.n_samples), seed, e)
        else:
            idx = _native.rs2_epoch(n, _n_samples(self.n_samples), seed, e, codes, n_classes)
        idx = np.sort(idx)
        return idx, np.full(idx.shape[0], n / max(idx.shape[0], 1))

    def _fixed_seed(self) -> int:
        return resolve_seed(self.random_state)

    def epochs_per_round(self, n_rows: int) -> int:
        """:math:`E`: the number of epochs whose subsets partition the rows."""
        return int(
            _native.rs2_epochs_per_round(as_int(n_rows, "n_rows"), _n_samples(self.n_samples))
        )

    def epoch_indices(self, n_rows: int, epoch: int, *, seed: int | None = None) -> np.ndarray:
        """The rows of epoch ``epoch`` (training order)."""
        s = self._fixed_seed() if seed is None else seed
        return _native.rs2_epoch(
            as_int(n_rows, "n_rows"), _n_samples(self.n_samples), s, as_int(epoch, "epoch")
        )

    def epochs(self, n_rows: int, n_epochs: int | None = None) -> Iterator[np.ndarray]:
        """Yield each epoch's row indices (training order), from epoch 0.

        Parameters
        ----------
        n_rows : int
        n_epochs : int or None, default=None
            How many epochs; ``None`` yields forever.
        """
        seed = self._fixed_seed()
        e = 0
        while n_epochs is None or e < n_epochs:
            yield self.epoch_indices(n_rows, e, seed=seed)
            e += 1

    def torch_sampler(self, n_rows: int) -> Any:
        """A ``torch.utils.data.Sampler`` over ``n_rows`` rows yielding one RS2 epoch per
        iteration (``set_epoch(e)`` jumps to epoch ``e``). Requires PyTorch (not a
        dependency of sketchkit)."""
        try:
            from torch.utils.data import Sampler
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("RS2Sampler.torch_sampler needs PyTorch (pip install torch)") from exc
        parent, seed, n = self, self._fixed_seed(), as_int(n_rows, "n_rows")

        class _RS2TorchSampler(Sampler):  # type: ignore[misc, type-arg]
            def __init__(self) -> None:
                self.epoch = 0

            def set_epoch(self, epoch: int) -> None:
                self.epoch = int(epoch)

            def __len__(self) -> int:
                return len(parent.epoch_indices(n, self.epoch, seed=seed))

            def __iter__(self) -> Iterator[int]:
                idx = parent.epoch_indices(n, self.epoch, seed=seed)
                self.epoch += 1
                return iter(idx.tolist())

        return _RS2TorchSampler()


def lewis_weights(X: Any, p: float, *, method: str = "exact", random_state: Any = 0) -> np.ndarray:
    r"""ℓp Lewis weights of the rows of ``X`` (:math:`0 < p < 4`; they sum to the rank).

    The fixed point :math:`w_i = (x_i^\top (X^\top W^{1-2/p} X)^{-1} x_i)^{p/2}`.
    """
    return _native.lewis_weights(
        _features(X),
        as_float(p, "p"),
        check_choice(method, "method", _LEVERAGE),
        resolve_seed(random_state),
    )


def sensitivity_scores(
    X: Any, p: float, *, sensitivity: str = "lewis", method: str = "exact", random_state: Any = 0
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """ℓp sensitivity upper bounds of :class:`SensitivitySampler`.

    Returns
    -------
    scores : ndarray
        The bounds :math:`s_i`.
    probs : ndarray
        The sampling distribution (before the uniform floor).
    total : float
        :math:`\\mathfrak S = \\sum_i s_i`.
    rank : float
        The numerical rank.
    """
    return _native.sensitivity_scores(
        _features(X),
        as_float(p, "p"),
        check_choice(sensitivity, "sensitivity", _SENSITIVITIES),
        check_choice(method, "method", _LEVERAGE),
        resolve_seed(random_state),
    )


def dpp_marginals(X: Any, n_samples: Any = None) -> np.ndarray:
    """Inclusion probabilities :math:`P(i \\in S)` of the DPP :class:`DPPSampler` draws
    (``n_samples=None``: the leverage scores)."""
    return _native.dpp_marginals(_features(X), _n_samples(n_samples))


_LOSSES = ("l2", "l1", "logistic")


def _lad(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least absolute deviations by linear programming (HiGHS)."""
    from scipy.optimize import linprog

    n, d = X.shape
    c = np.concatenate([np.zeros(2 * d), w, w])
    eye = sp.identity(n, format="csr")
    A = sp.hstack([sp.csr_matrix(X), sp.csr_matrix(-X), eye, -eye], format="csr")
    res = linprog(c, A_eq=A, b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"least absolute deviations failed: {res.message}")
    return res.x[:d] - res.x[d : 2 * d]


def _logistic_fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000).fit(X, y, sample_weight=w)


def coreset_loss_ratio(
    X: Any,
    y: Any,
    indices: Any,
    weights: Any = None,
    *,
    loss: str = "l2",
    C: float = 1.0,
    optimal_loss: float | None = None,
) -> float:
    r"""How good a weighted sample is for a downstream fit: the full-data loss of the
    model fitted on the sample, divided by the optimal full-data loss.

    .. math:: \rho = \frac{L(\hat\beta_S)}{\min_\beta L(\beta)}, \qquad
       \hat\beta_S = \arg\min_\beta \sum_{i \in S} w_i\,\ell(x_i, y_i; \beta)

    with :math:`L(\beta) = \sum_{i=1}^n \ell(x_i, y_i; \beta)` and :math:`\ell` the
    squared residual (``"l2"``), the absolute residual (``"l1"``, solved exactly as a
    linear program) or the logistic loss (``"logistic"``, scikit-learn's
    ``LogisticRegression`` with intercept and its ridge ``1/C``, scikit-learn's
    default ``C = 1``, in both fits).
    :math:`\rho \ge 1`; a :math:`(1+\varepsilon)` coreset gives
    :math:`\rho \le (1+\varepsilon)/(1-\varepsilon)`.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Regression design (add a column of ones for an intercept) or classifier
        features.
    y : array-like of shape (n,)
        Targets (``"l2"``, ``"l1"``) or two-class labels (``"logistic"``).
    indices : array-like of int
        The sampled rows (e.g. ``sampler.sample_indices_``).
    weights : array-like of float or None, default=None
        Their weights (``sample_weight_``); ``None``: uniform.
    loss : {"l2", "l1", "logistic"}, default="l2"
    C : float, default=1.0
        Inverse ridge strength of the logistic fits.
    optimal_loss : float or None, default=None
        :math:`\min_\beta L(\beta)` when already known (e.g. from
        :func:`optimal_loss`), to skip the full-data fit.

    Returns
    -------
    float
    """
    loss = check_choice(loss, "loss", _LOSSES)
    Xf = _features(X)
    y_arr = np.asarray(y)
    idx = np.asarray(indices, dtype=np.int64)
    if y_arr.ndim != 1 or y_arr.shape[0] != Xf.shape[0]:
        raise ValueError(f"y must be 1-D with {Xf.shape[0]} entries, got shape {y_arr.shape}")
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError("indices must be a non-empty 1-D array")
    if idx.min() < 0 or idx.max() >= Xf.shape[0]:
        raise ValueError(f"indices must lie in [0, {Xf.shape[0]})")
    w = np.ones(idx.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != idx.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite, non-negative and match indices")
    Xs, ys = Xf[idx], y_arr[idx]
    opt = _optimal_loss(Xf, y_arr, loss, C) if optimal_loss is None else float(optimal_loss)
    return _full_loss(Xf, y_arr, Xs, ys, w, loss, C) / opt


def _full_loss(
    Xf: np.ndarray,
    y: np.ndarray,
    Xs: np.ndarray,
    ys: np.ndarray,
    w: np.ndarray,
    loss: str,
    C: float,
) -> float:
    """Full-data loss of the model fitted on the weighted sample ``(Xs, ys, w)``."""
    if loss == "logistic":
        from sklearn.metrics import log_loss

        labels = np.unique(y)
        if labels.shape[0] != 2:
            raise ValueError("y: the logistic loss needs exactly two classes")
        if np.unique(ys).shape[0] != 2:
            return float("inf")
        part = _logistic_fit(Xs, ys, w, as_float(C, "C"))
        return float(log_loss(y, part.predict_proba(Xf), labels=labels, normalize=False))
    yf = y.astype(np.float64)
    if loss == "l2":
        sw = np.sqrt(w)
        beta = np.linalg.lstsq(Xs * sw[:, None], ys.astype(np.float64) * sw, rcond=None)[0]
        return float(np.sum((Xf @ beta - yf) ** 2))
    beta = _lad(Xs, ys.astype(np.float64), w)
    return float(np.sum(np.abs(Xf @ beta - yf)))


def _optimal_loss(Xf: np.ndarray, y: np.ndarray, loss: str, C: float) -> float:
    return _full_loss(Xf, y, Xf, y, np.ones(Xf.shape[0]), loss, C)


def optimal_loss(X: Any, y: Any, *, loss: str = "l2", C: float = 1.0) -> float:
    """The optimal full-data loss :math:`\\min_\beta L(\beta)` of
    :func:`coreset_loss_ratio` (the denominator of its ratio)."""
    loss = check_choice(loss, "loss", _LOSSES)
    Xf = _features(X)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or y_arr.shape[0] != Xf.shape[0]:
        raise ValueError(f"y must be 1-D with {Xf.shape[0]} entries, got shape {y_arr.shape}")
    return _optimal_loss(Xf, y_arr, loss, as_float(C, "C"))
