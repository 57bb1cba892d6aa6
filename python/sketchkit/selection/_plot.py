"""Pictures of a selection: the data in 2-D with the kept rows highlighted per class."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_array, as_int
from ._base import BaseSelector, encode_labels, native_rows

__all__ = ["plot_selection"]


def _kept_indices(selector: Any, X: Any, y: Any) -> np.ndarray:
    """The selector's kept rows: a fitted selector's, or it is fitted on ``(X, y)``."""
    if isinstance(selector, BaseSelector) or hasattr(selector, "fit_resample"):
        if not hasattr(selector, "sample_indices_"):
            selector.fit_resample(X, y)
        idx = np.asarray(selector.sample_indices_)
    else:
        idx = as_array(selector, "selector")
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError("selector must be a selector (fitted or not) or a 1-D array of row indices")
    return idx.astype(np.int64, copy=False)


def plot_selection(
    X: Any,
    y: Any,
    selector: Any,
    *,
    ax: Any = None,
    max_points: int = 20000,
    random_state: int = 0,
    title: str | None = None,
) -> Any:
    r"""Draw the data in 2-D with the rows a selector keeps highlighted per class.

    Data with more than two columns is drawn on its first two principal components,
    computed by :class:`sketchkit.RandomizedPCA` (sparse input is centred
    implicitly): a row :math:`x` is drawn at :math:`((x - \mu) v_1, (x - \mu) v_2)`.
    Every row is a small, faint dot in its class's colour; kept rows are drawn on top,
    larger and outlined, so that what a selection keeps of each class (its interior,
    its boundary, its modes) is visible.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data the selection ran on.
    y : array-like of shape (n_samples,)
        Labels.
    selector : selector or array-like of int
        A selector with ``fit_resample`` and ``sample_indices_`` (fitted on ``X, y``
        first if it is not fitted yet), or the kept row indices.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's Axes by default.
    max_points : int, default=20000
        At most this many unselected rows are drawn (a seeded uniform subsample);
        every kept row is drawn.
    random_state : int, default=0
        Seed of the projection and of the subsample.
    title : str, optional
        Axes title; by default the method's class name and the reduction.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ImportError
        When matplotlib is missing (``pip install 'sketchkit[plot]'``).
    ValueError
        On a length mismatch of ``X`` and ``y``, or kept indices out of range.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "plot_selection requires matplotlib: pip install 'sketchkit[plot]'"
        ) from exc
    from .._pca import RandomizedPCA

    Xc, _ = native_rows(X.to_numpy() if hasattr(X, "iloc") else X)
    n = Xc.shape[0]
    classes, codes = encode_labels(y, n)
    max_points = as_int(max_points, "max_points")
    if max_points < 0:
        raise ValueError(f"max_points must be non-negative, got {max_points}")
    idx = _kept_indices(selector, X, y)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(
            f"selector: kept indices must lie in [0, {n}), got {idx.min()}..{idx.max()}"
        )
    if Xc.shape[1] > 2:
        pca = RandomizedPCA(n_components=2, random_state=random_state)
        Z = np.asarray(pca.fit_transform(Xc), dtype=np.float64)
        labels = ("component 1", "component 2")
    else:
        Z = np.asarray(Xc.toarray() if hasattr(Xc, "toarray") else Xc, dtype=np.float64)
        if Z.shape[1] == 1:
            Z = np.column_stack([Z[:, 0], np.zeros(n)])
        labels = ("x0", "x1")
    kept = np.zeros(n, dtype=bool)
    kept[idx] = True
    rest = np.flatnonzero(~kept)
    if rest.size > max_points:
        rng = np.random.default_rng(random_state)
        rest = np.sort(rng.choice(rest, size=max_points, replace=False))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for c, label in enumerate(classes):
        colour = cmap(c % cmap.N)
        r = rest[codes[rest] == c]
        ax.scatter(Z[r, 0], Z[r, 1], s=4, color=colour, alpha=0.15, linewidths=0)
        k = idx[codes[idx] == c]
        ax.scatter(
            Z[k, 0],
            Z[k, 1],
            s=28,
            color=colour,
            edgecolors="black",
            linewidths=0.6,
            label=f"{label} ({k.size} of {int(np.sum(codes == c))})",
        )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if title is None:
        name = type(selector).__name__ if hasattr(selector, "fit_resample") else "selection"
        title = f"{name}: {idx.size} of {n} rows kept (reduction {1 - idx.size / n:.3f})"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, markerscale=1, loc="best", title="class (kept of all)")
    return ax
