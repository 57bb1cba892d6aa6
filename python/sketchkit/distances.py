r"""Sliced distances between point clouds, with control variates.

For two weighted empirical measures :math:`\mu = \sum_i a_i \delta_{x_i}` and
:math:`\nu = \sum_j b_j \delta_{y_j}` in :math:`\mathbb{R}^d` (sample sizes may
differ), the sliced Wasserstein distance averages the one-dimensional distance of the
projections over directions :math:`\theta` uniform on the sphere,

.. math::

    SW_p^p(\mu, \nu) = \mathbb{E}_\theta\, W_p^p(\theta_\sharp\mu, \theta_\sharp\nu),
    \qquad W_p^p = \int_0^1 \lvert F^{-1}(t) - G^{-1}(t) \rvert^p \, dt,

computed exactly on each line from the sorted projections (the quantile coupling).
The sliced energy distance averages :math:`2 \int (F_\theta - G_\theta)^2`, the 1-D
energy distance :math:`2E|X-Y| - E|X-X'| - E|Y-Y'|`.

Monte Carlo over :math:`L` directions has standard error :math:`O(1/\sqrt{L})`. The
control variates of Nguyen & Ho (2023) use Gaussian approximations of the projected
measures: with weighted means :math:`m` and covariances :math:`\Sigma`,

.. math::

    C_{low}(\theta) = (\theta^\top (m_\mu - m_\nu))^2, \qquad
    C_{up}(\theta) = C_{low}(\theta)
        + \theta^\top \Sigma_\mu \theta + \theta^\top \Sigma_\nu \theta,

whose means over the sphere are known exactly
(:math:`\lVert m_\mu - m_\nu \rVert^2 / d` and that plus
:math:`(\operatorname{tr}\Sigma_\mu + \operatorname{tr}\Sigma_\nu)/d`). The estimate is
:math:`\bar Z - \hat\beta^\top (\bar C - \mathbb{E} C)` with :math:`\hat\beta` the
least-squares coefficients of the per-direction costs :math:`Z_l` on :math:`C_l`, and
its standard error the residual standard deviation over :math:`\sqrt{L}`. The
variates target :math:`W_2^2`; for other costs they remain valid (their means are
exact), with smaller gains.

Directions, projections (one GEMM per chunk of directions), sorting and the 1-D
distances all run in the compiled core, in parallel over directions; results are
bit-identical for every thread count.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _native
from ._validation import as_dense, as_float, check_int, check_seed, resolve_seed

__all__ = [
    "SlicedResult",
    "distribution_shift",
    "sliced_energy_distance",
    "sliced_projections",
    "sliced_wasserstein",
]


class SlicedResult(NamedTuple):
    """A sliced distance estimate.

    Attributes
    ----------
    distance : float
        The distance: :math:`SW_p = (\\widehat{SW_p^p})^{1/p}` (the estimate clipped at
        0 first), or the sliced energy distance.
    std_error : float
        Standard error of ``distance`` (for :math:`SW_p`, by the delta method from
        ``power_std_error``).
    power : float
        The estimate of :math:`SW_p^p` (unbiased for plain Monte Carlo; the control
        variate estimate has an :math:`O(1/L)` bias from the fitted coefficients), or
        of the sliced energy distance.
    power_std_error : float
        Standard error of ``power``.
    mc_power : float
        The plain Monte Carlo estimate of ``power`` over the same directions.
    mc_std_error : float
        Its standard error.
    per_projection : numpy.ndarray
        The per-direction costs :math:`Z_l` (``float64``).
    """

    distance: float
    std_error: float
    power: float
    power_std_error: float
    mc_power: float
    mc_std_error: float
    per_projection: np.ndarray


def _cv_name(control_variates: Any) -> str:
    if control_variates is True:
        return "both"
    if control_variates is False or control_variates is None:
        return "none"
    if isinstance(control_variates, str):
        return control_variates
    raise TypeError(
        "control_variates must be a bool or one of 'lower', 'upper', 'both', 'none', got "
        f"{type(control_variates).__name__} {control_variates!r}"
    )


def _pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    Xa = as_dense(X, "X", check_finite=False)
    Ya = as_dense(Y, "Y", check_finite=False)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Ya.ndim == 1:
        Ya = Ya[:, None]
    dtype = np.result_type(Xa.dtype, Ya.dtype)
    return Xa.astype(dtype, copy=False), Ya.astype(dtype, copy=False)


def _weights(weights: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    if weights is None:
        return None, None
    try:
        a, b = weights
    except (TypeError, ValueError):
        raise TypeError(
            "weights must be None or a pair (a, b) of sample weights (either may be None)"
        ) from None

    def one(w: Any, name: str) -> np.ndarray | None:
        if w is None:
            return None
        arr = np.ascontiguousarray(np.asarray(w, dtype=np.float64))
        if arr.ndim != 1:
            raise ValueError(f"weights: {name} must be 1-D, got shape {arr.shape}")
        return arr

    return one(a, "a"), one(b, "b")


def _run(
    X: Any,
    Y: Any,
    n_projections: Any,
    cost: str,
    p: Any,
    control_variates: Any,
    weights: Any,
    seed: Any,
) -> SlicedResult:
    Xa, Ya = _pair(X, Y)
    a, b = _weights(weights)
    s = resolve_seed(seed, "seed")
    pf = as_float(p, "p")
    value, se, mc, mc_se, per = _native.sliced_distance(
        Xa,
        Ya,
        a,
        b,
        check_int(n_projections, "n_projections", minimum=None),
        cost,
        pf,
        _cv_name(control_variates),
        s,
    )
    if cost == "energy":
        return SlicedResult(value, se, value, se, mc, mc_se, per)
    dist = max(value, 0.0) ** (1.0 / pf)
    # Delta method: d(v^(1/p)) = v^(1/p - 1) / p dv.
    dse = se * dist ** (1.0 - pf) / pf if dist > 0 else float("inf") if se > 0 else 0.0
    return SlicedResult(dist, dse, value, se, mc, mc_se, per)


def sliced_wasserstein(
    X: ArrayLike,
    Y: ArrayLike,
    n_projections: int = 100,
    p: float = 2,
    control_variates: bool | str = True,
    weights: tuple[ArrayLike | None, ArrayLike | None] | None = None,
    seed: Any = None,
) -> SlicedResult:
    r"""Sliced Wasserstein distance :math:`SW_p` between two point clouds.

    Parameters
    ----------
    X : array_like of shape (n, d)
        First sample (1-D input is one feature).
    Y : array_like of shape (m, d)
        Second sample; ``m`` may differ from ``n``.
    n_projections : int, default=100
        Number of random directions :math:`L`.
    p : float, default=2
        Order :math:`p \ge 1`.
    control_variates : bool or {'lower', 'upper', 'both', 'none'}, default=True
        Gaussian-approximation control variates: ``True`` (``'both'``) regresses on
        :math:`C_{low}` and :math:`C_{up}`, ``'lower'``/``'upper'`` on one,
        ``False`` is plain Monte Carlo. Needs ``n_projections >= 4``.
    weights : pair of array_like or None, default=None
        Sample weights ``(a, b)`` of ``X`` and ``Y`` (non-negative, normalized to sum
        1; either may be ``None`` for uniform).
    seed : int, RandomState, Generator or None, default=None
        Seed of the directions (see :func:`sliced_projections`).

    Returns
    -------
    SlicedResult
        ``(distance, std_error, power, power_std_error, mc_power, mc_std_error,
        per_projection)``; ``distance`` is :math:`SW_p`.

    Examples
    --------
    >>> import numpy as np
    >>> from sketchkit.distances import sliced_wasserstein
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> r = sliced_wasserstein(X, X + 1.0, n_projections=200, seed=0)
    >>> round(r.power, 1)  # shift by (1, 1, 1): ||shift||^2 / d = 1
    1.0
    """
    return _run(X, Y, n_projections, "wasserstein", p, control_variates, weights, seed)


def sliced_energy_distance(
    X: ArrayLike,
    Y: ArrayLike,
    n_projections: int = 100,
    control_variates: bool | str = True,
    weights: tuple[ArrayLike | None, ArrayLike | None] | None = None,
    seed: Any = None,
) -> SlicedResult:
    r"""Sliced energy distance :math:`\mathbb{E}_\theta\, 2 \int (F_\theta - G_\theta)^2`.

    Parameters
    ----------
    X : array_like of shape (n, d)
        First sample.
    Y : array_like of shape (m, d)
        Second sample.
    n_projections : int, default=100
        Number of random directions.
    control_variates : bool or {'lower', 'upper', 'both', 'none'}, default=True
        As for :func:`sliced_wasserstein`.
    weights : pair of array_like or None, default=None
        Sample weights ``(a, b)``.
    seed : int, RandomState, Generator or None, default=None
        Seed of the directions.

    Returns
    -------
    SlicedResult
        ``distance`` and ``power`` are both the sliced energy distance.
    """
    return _run(X, Y, n_projections, "energy", 1.0, control_variates, weights, seed)


def sliced_projections(d: int, n_projections: int, seed: int = 0) -> np.ndarray:
    """The unit directions the sliced distances use for ``seed``.

    Parameters
    ----------
    d : int
        Dimension.
    n_projections : int
        Number of directions.
    seed : int, default=0
        The seed (an int: the one :func:`sliced_wasserstein` receives).

    Returns
    -------
    numpy.ndarray of shape (n_projections, d)
        Normalized Gaussian directions (``float64``); ``.T`` is POT's ``projections``.
    """
    return _native.sliced_projections(  # type: ignore[no-any-return]
        check_int(d, "d", minimum=None),
        check_int(n_projections, "n_projections", minimum=None),
        check_seed(seed),
    )


def distribution_shift(
    X: ArrayLike,
    indices: ArrayLike,
    n_projections: int = 100,
    seed: Any = 0,
) -> SlicedResult:
    """How far a selected subset's distribution is from the full data set's.

    The sliced Wasserstein-2 distance between the rows ``X[indices]`` and all rows of
    ``X``, with control variates, on features standardized by the full data's standard
    deviation (so that the score is in units of standard deviations and comparable
    across data sets). 0 means the subset looks like the data; a uniform random subset
    of ``k`` rows scores about ``1/sqrt(k)``.

    Parameters
    ----------
    X : array_like of shape (n, d)
        The full data (dense).
    indices : array_like of int
        Row indices of the subset (e.g. a selector's ``sample_indices_``).
    n_projections : int, default=100
        Number of directions.
    seed : int, RandomState, Generator or None, default=0
        Seed of the directions.

    Returns
    -------
    SlicedResult
        See :func:`sliced_wasserstein`.
    """
    Xa = as_dense(X, "X")
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    idx = np.asarray(indices)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("indices must be a 1-D array of integer row indices")
    if idx.size and (idx.min() < -Xa.shape[0] or idx.max() >= Xa.shape[0]):
        raise ValueError(f"indices must be row indices of X (0 <= i < {Xa.shape[0]})")
    sd = Xa.std(axis=0)
    Z = Xa / np.where(sd > 0, sd, 1.0).astype(Xa.dtype)
    return sliced_wasserstein(Z[idx], Z, n_projections=n_projections, p=2, seed=seed)
