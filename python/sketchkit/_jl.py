"""The Johnson-Lindenstrauss bound, in plain NumPy (no scikit-learn needed)."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["johnson_lindenstrauss_min_dim"]


@overload
def johnson_lindenstrauss_min_dim(n_samples: int | float, *, eps: float = ...) -> np.int64: ...
@overload
def johnson_lindenstrauss_min_dim(
    n_samples: ArrayLike, *, eps: ArrayLike = ...
) -> np.int64 | NDArray[np.int64]: ...


def johnson_lindenstrauss_min_dim(n_samples: Any, *, eps: Any = 0.1) -> Any:
    """Smallest sketch dimension that guarantees an ``eps``-embedding with good probability.

    A random projection ``p`` is an ``eps``-embedding of ``n_samples`` points when, for
    every pair ``u, v`` of them,

    .. math::

        (1 - \\varepsilon) \\lVert u - v \\rVert^2 < \\lVert p(u) - p(v) \\rVert^2
        < (1 + \\varepsilon) \\lVert u - v \\rVert^2 .

    The Johnson-Lindenstrauss lemma (in the form of Dasgupta & Gupta, 1999) gives such
    an embedding with good probability for

    .. math::

        k \\geq \\frac{4 \\log(n_\\text{samples})}{\\varepsilon^2 / 2 - \\varepsilon^3 / 3} .

    This is the same formula, validation and rounding (truncation to an integer) as
    :func:`sklearn.random_projection.johnson_lindenstrauss_min_dim`.

    Parameters
    ----------
    n_samples : int or array_like of int
        Number of samples, greater than 0. Arrays are broadcast against ``eps``.
    eps : float or array_like of float, default=0.1
        Maximum distortion, in the open interval ``(0, 1)``.

    Returns
    -------
    numpy.int64 or ndarray of numpy.int64
        The minimal number of components.

    Raises
    ------
    ValueError
        If ``eps`` is outside ``(0, 1)`` or ``n_samples <= 0``.

    Examples
    --------
    >>> from sketchkit import johnson_lindenstrauss_min_dim
    >>> int(johnson_lindenstrauss_min_dim(1e6, eps=0.5))
    663
    >>> johnson_lindenstrauss_min_dim([1e4, 1e5, 1e6], eps=0.1).tolist()
    [7894, 9868, 11841]
    """
    eps_arr = np.asarray(eps)
    n_arr = np.asarray(n_samples)
    for name, arr in (("eps", eps_arr), ("n_samples", n_arr)):
        if arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
            raise TypeError(f"{name} must be a real number or an array of real numbers")
    if np.any(np.isnan(eps_arr)) or np.any(eps_arr <= 0.0) or np.any(eps_arr >= 1):
        raise ValueError(f"The JL bound is defined for eps in ]0, 1[, got {eps_arr!r}")
    if np.any(np.isnan(n_arr)) or np.any(n_arr <= 0):
        raise ValueError(f"The JL bound is defined for n_samples greater than zero, got {n_arr!r}")
    denominator = (eps_arr**2 / 2) - (eps_arr**3 / 3)
    result = (4 * np.log(n_arr) / denominator).astype(np.int64)
    if result.ndim == 0:
        return result[()]
    return result
