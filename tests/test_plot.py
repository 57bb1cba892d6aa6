"""plot_selection: what is drawn is the data and exactly the kept rows."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from sketchkit.selection import (  # noqa: E402
    GraphAttentionSelector,
    StratifiedRandomSelector,
    plot_selection,
)


def _data(n=600, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, d)) + 3.0 * y[:, None]
    return X, y


def _kept_offsets(ax):
    """The kept rows' drawn positions, per class (the outlined collections)."""
    out = []
    for coll in ax.collections:
        if np.asarray(coll.get_linewidths()).max() > 0:
            out.append(np.asarray(coll.get_offsets()))
    return out


def test_kept_rows_are_drawn_per_class_at_their_pca_coordinates():
    X, y = _data()
    sel = GraphAttentionSelector(reduction=0.9, random_state=0)
    ax = plot_selection(X, y, sel)
    idx = sel.sample_indices_
    kept = _kept_offsets(ax)
    assert [len(k) for k in kept] == [int(np.sum(y[idx] == c)) for c in range(3)]
    # The coordinates are the two leading principal components (up to sign).
    Xc = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    ref = Xc[idx[y[idx] == 0]] @ vt[:2].T
    got = kept[0]
    for j in range(2):
        s = np.sign(ref[0, j] * got[0, j]) or 1.0
        np.testing.assert_allclose(got[:, j], s * ref[:, j], rtol=1e-6, atol=1e-6)
    plt.close("all")


def test_two_columns_are_drawn_as_they_are_and_indices_are_accepted():
    X, y = _data(d=2)
    idx = np.array([0, 5, 17, 30])
    fig, ax = plt.subplots()
    assert plot_selection(X, y, idx, ax=ax) is ax
    drawn = np.concatenate(_kept_offsets(ax))
    np.testing.assert_array_equal(np.sort(drawn[:, 0]), np.sort(X[idx, 0]))
    plt.close("all")


def test_subsample_bounds_the_unselected_points_and_sparse_input_works():
    X, y = _data(n=2000)
    sel = StratifiedRandomSelector(reduction=0.95, random_state=1)
    ax = plot_selection(sp.csr_matrix(X), y, sel, max_points=300)
    faint = sum(
        len(c.get_offsets()) for c in ax.collections if np.asarray(c.get_linewidths()).max() == 0
    )
    assert faint == 300
    plt.close("all")


@pytest.mark.parametrize(
    ("selector", "kwargs", "exc", "match"),
    [
        (np.array([0, 10_000]), {}, ValueError, "selector"),
        (np.array([0.5, 1.0]), {}, TypeError, "selector"),
        (np.array([0, 1]), {"max_points": -1}, ValueError, "max_points"),
    ],
)
def test_bad_arguments_are_named(selector, kwargs, exc, match):
    X, y = _data()
    with pytest.raises(exc, match=match):
        plot_selection(X, y, selector, **kwargs)
    plt.close("all")
