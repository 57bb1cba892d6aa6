"""Classic instance-selection baselines: exact agreement of ENN, DROP3, k-center
greedy and kernel herding with NumPy reference implementations, CNN consistency,
exact quotas, LSH-IS properties, medoids on separated blobs, CSR = dense,
float32/float64, determinism across thread counts and argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sketchkit import _native
from sketchkit.selection._base import class_quotas
from sketchkit.selection._baselines import (
    DROP3,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    KCenterGreedySelector,
    KernelHerdingSelector,
    KMeansMedoidsSelector,
    LSHInstanceSelector,
    StratifiedRandomSelector,
)

# ---------------------------------------------------------------------------
# Data and NumPy reference implementations (the documented rules, brute force).


def blobs(n: int, n_classes: int, seed: int, d: int = 3, sep: float = 1.5, flip: float = 0.1):
    """Overlapping Gaussian blobs with some flipped labels; every class non-empty."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    centres = rng.normal(scale=sep, size=(n_classes, d))
    X = centres[y] + rng.normal(size=(n, d))
    noisy = rng.rand(n) < flip
    y = np.where(noisy, (y + 1) % n_classes, y)
    for c in range(n_classes):  # keep every class present
        if not np.any(y == c):
            y[c] = c
    return X, y.astype(np.int64)


def distances(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))


def knn(D: np.ndarray, a: int, pool: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` nearest rows of ``pool`` to ``a`` (excluding ``a``), ties by index."""
    cand = pool[pool != a]
    order = np.lexsort((cand, D[a, cand]))
    return cand[order[:m]]


def correct(y: np.ndarray, ya: int, nb: np.ndarray, n_classes: int) -> bool:
    """The shared vote rule: non-empty and ``ya`` has the top count (ties count)."""
    if len(nb) == 0:
        return False
    cnt = np.bincount(y[nb], minlength=n_classes)
    return bool(cnt[ya] == cnt.max())


def ref_enn(D: np.ndarray, y: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    n = len(y)
    allrows = np.arange(n)
    remove = np.array([not correct(y, y[i], knn(D, i, allrows, k), n_classes) for i in range(n)])
    for c in range(n_classes):
        if np.all(remove[y == c]):
            remove[y == c] = False
    return np.flatnonzero(~remove)


def ref_drop3(D: np.ndarray, y: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    n = len(y)
    kept = ref_enn(D, y, k, n_classes)
    enemy = {}
    for i in kept:
        other = y != y[i]
        enemy[i] = D[i, other].min() if other.any() else np.inf
    order = sorted(kept, key=lambda i: (-enemy[i], i))
    in_s = np.zeros(n, dtype=bool)
    in_s[kept] = True
    for p in order:
        if np.count_nonzero(in_s & (y == y[p])) <= 1:
            continue
        pool = np.flatnonzero(in_s)
        with_, without = 0, 0
        for a in kept:
            nb = knn(D, a, pool, k + 1)
            if p not in nb:
                continue
            with_ += correct(y, y[a], nb[:k], n_classes)
            without += correct(y, y[a], nb[nb != p][:k], n_classes)
        if without >= with_:
            in_s[p] = False
    return np.flatnonzero(in_s)


def conflicting(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows with an exact duplicate carrying another label."""
    n = len(y)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        same = np.all(X == X[i], axis=1)
        out[i] = np.any(y[same] != y[i])
    return out


# ---------------------------------------------------------------------------
# Agreement with the references.


CASES = [(60, 2, 0), (90, 3, 1), (120, 2, 2), (150, 3, 3), (100, 3, 4), (75, 2, 5)]


@pytest.mark.parametrize("n,n_classes,seed", CASES)
@pytest.mark.parametrize("k", [1, 3, 4])
def test_enn_matches_reference(n, n_classes, seed, k):
    X, y = blobs(n, n_classes, seed)
    sel = EditedNearestNeighbours(n_neighbors=k).fit(X, y)
    want = ref_enn(distances(X), y, k, n_classes)
    np.testing.assert_array_equal(sel.sample_indices_, want)
    assert set(y[sel.sample_indices_]) == set(range(n_classes))


@pytest.mark.parametrize("n,n_classes,seed", CASES)
@pytest.mark.parametrize("k", [1, 3])
def test_drop3_matches_reference(n, n_classes, seed, k):
    X, y = blobs(n, n_classes, seed)
    sel = DROP3(n_neighbors=k).fit(X, y)
    want = ref_drop3(distances(X), y, k, n_classes)
    np.testing.assert_array_equal(sel.sample_indices_, want)
    assert set(y[sel.sample_indices_]) == set(range(n_classes))
    assert len(want) < n


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(10, 70),
    n_classes=st.integers(2, 3),
    k=st.integers(1, 5),
)
def test_enn_drop3_reference_hypothesis(seed, n, n_classes, k):
    X, y = blobs(n, n_classes, seed, d=2, sep=1.0, flip=0.15)
    D = distances(X)
    enn = EditedNearestNeighbours(n_neighbors=k).fit(X, y).sample_indices_
    np.testing.assert_array_equal(enn, ref_enn(D, y, k, n_classes))
    drop = DROP3(n_neighbors=k).fit(X, y).sample_indices_
    np.testing.assert_array_equal(drop, ref_drop3(D, y, k, n_classes))


def test_enn_removes_planted_noise():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10])
    y = np.repeat([0, 1], 50)
    y[7] = 1
    idx = EditedNearestNeighbours().fit(X, y).sample_indices_
    assert 7 not in idx
    assert len(idx) == 99
    # a one-row class inside another blob is never emptied
    y3 = y.copy()
    y3[7] = 2
    idx3 = EditedNearestNeighbours().fit(X, y3).sample_indices_
    assert 7 in idx3


# ---------------------------------------------------------------------------
# CNN.


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_cnn_consistency(seed, metric):
    X, y = blobs(300, 3, seed)
    if metric == "cosine":
        X = X + 5.0  # keep rows away from the origin
    # plant conflicting duplicates: rows 0..20 are copies of row 0..4
    X[:20] = X[np.arange(20) % 4]
    y[:20] = np.arange(20) % 3
    sel = CondensedNearestNeighbour(metric=metric, random_state=seed).fit(X, y)
    kept = sel.sample_indices_
    assert np.all(np.diff(kept) > 0)
    assert set(y[kept]) == {0, 1, 2}
    assert len(kept) < len(y)
    if metric == "euclidean":
        D = distances(X)
    else:
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        D = np.maximum(1.0 - Xn @ Xn.T, 0.0)
    bad = conflicting(X, y)
    removed = np.setdiff1d(np.arange(len(y)), kept)
    nn = kept[np.argmin(D[np.ix_(removed, kept)], axis=1)]
    ok = (y[nn] == y[removed]) | bad[removed]
    assert ok.all(), removed[~ok]
    # at most one kept row per duplicate group and label
    groups = {}
    for i in kept[kept < 20]:
        groups.setdefault((i % 4, y[i]), []).append(i)
    assert all(len(v) == 1 for v in groups.values())


def test_cnn_differs_from_one_sided_variant_in_spirit():
    # Hart's CNN condenses every class, the minority included.
    X, y = blobs(400, 2, 11, sep=2.0)
    kept = CondensedNearestNeighbour(random_state=0).fit(X, y).sample_indices_
    for c in (0, 1):
        assert np.count_nonzero(y[kept] == c) < np.count_nonzero(y == c)


# ---------------------------------------------------------------------------
# Stratified random subset.


@pytest.mark.parametrize("reduction", [0.1, 0.5, 0.9, 0.99])
def test_stratified_quotas_exact(reduction):
    rng = np.random.RandomState(1)
    y = rng.choice(["a", "b", "c"], p=[0.7, 0.25, 0.05], size=1000)
    X = rng.normal(size=(1000, 2))
    sel = StratifiedRandomSelector(reduction=reduction, random_state=3)
    X_res, y_res = sel.fit_resample(X, y)
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    want = class_quotas(codes, 3, reduction)
    got = [int(np.count_nonzero(y_res == c)) for c in sel.classes_]
    assert got == want
    np.testing.assert_array_equal(X_res, X[sel.sample_indices_])


# ---------------------------------------------------------------------------
# LSH-IS.


def test_lsh_is_f_subset_of_s_and_classes_kept():
    X, y = blobs(1000, 3, 2, d=5)
    for seed in range(3):
        s = LSHInstanceSelector("S", random_state=seed).fit(X, y).sample_indices_
        f = LSHInstanceSelector("F", random_state=seed).fit(X, y).sample_indices_
        assert set(f) <= set(s)
        assert set(y[f]) == set(y[s]) == {0, 1, 2}
        assert 0 < len(f) <= len(s) < len(y)


def test_lsh_is_width_extremes():
    X, y = blobs(200, 3, 4)
    huge = LSHInstanceSelector(n_tables=1, n_funcs=2, width=1e9, random_state=0).fit(X, y)
    assert len(huge.sample_indices_) == 3
    tiny = LSHInstanceSelector(n_tables=1, n_funcs=8, width=1e-9, random_state=0).fit(X, y)
    assert len(tiny.sample_indices_) == 200


# ---------------------------------------------------------------------------
# Input forms, determinism.


def selectors():
    return [
        StratifiedRandomSelector(reduction=0.7, random_state=5),
        CondensedNearestNeighbour(random_state=5),
        CondensedNearestNeighbour(metric="cosine", random_state=5),
        EditedNearestNeighbours(n_neighbors=3),
        DROP3(n_neighbors=3),
        LSHInstanceSelector("S", n_funcs=4, width=8.0, random_state=5),
        LSHInstanceSelector("F", n_funcs=4, width=8.0, random_state=5),
        KMeansMedoidsSelector(reduction=0.8, random_state=5),
        KCenterGreedySelector(reduction=0.8),
        KernelHerdingSelector(reduction=0.8, random_state=5),
    ]


@pytest.mark.parametrize("sel", selectors(), ids=lambda s: type(s).__name__)
def test_csr_equals_dense(sel):
    X, y = blobs(250, 3, 6, d=6)
    X[np.abs(X) < 0.6] = 0.0
    dense = sel.fit(X, y).sample_indices_.copy()
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        Xs = fmt(X)
        X_res, y_res = sel.fit_resample(Xs, y)
        if isinstance(sel, tuple(PROTOTYPES)):
            # sparse distances round differently (‖x‖² − 2x·c + ‖c‖²): the same
            # counts per class and nearly the same rows
            np.testing.assert_array_equal(np.bincount(y_res), np.bincount(y[dense]))
            assert np.isin(sel.sample_indices_, dense).mean() >= 0.9
            dense = sel.sample_indices_.copy()
        else:
            np.testing.assert_array_equal(sel.sample_indices_, dense)
        assert sp.issparse(X_res)
        np.testing.assert_array_equal(X_res.toarray(), X[dense])
        np.testing.assert_array_equal(y_res, y[dense])


@pytest.mark.parametrize("sel", selectors(), ids=lambda s: type(s).__name__)
def test_float32_and_float64(sel):
    X, y = blobs(250, 3, 7, d=4)
    X32 = X.astype(np.float32)
    a = sel.fit(X32, y).sample_indices_.copy()
    X_res, _ = sel.fit_resample(X32, y)
    assert X_res.dtype == np.float32
    b = sel.fit(X32.astype(np.float64), y).sample_indices_
    if not isinstance(sel, tuple(PROTOTYPES)):
        # the same data in two precisions selects the same rows (the prototype
        # selectors compute means and kernels in the input's precision: they may not)
        np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and np.all(np.diff(a) > 0)


@pytest.mark.parametrize("sel", selectors(), ids=lambda s: type(s).__name__)
def test_deterministic(sel, restore_threads):
    X, y = blobs(300, 2, 8)
    a = sel.fit(X, y).sample_indices_.copy()
    _native.set_num_threads(1)
    b = sel.fit(X, y).sample_indices_.copy()
    np.testing.assert_array_equal(a, b)
    # (kernel herding draws only for classes above 2000 rows)
    seeded = not isinstance(sel, (EditedNearestNeighbours, KernelHerdingSelector))
    if "random_state" in sel.get_params() and seeded:
        c = sel.set_params(random_state=6).fit(X, y).sample_indices_
        assert not np.array_equal(a, c)


# ---------------------------------------------------------------------------
# Errors.


def test_nan_and_length_mismatch():
    X, y = blobs(60, 2, 9)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    for sel in selectors():
        with pytest.raises(ValueError, match="NaN|nan|finite"):
            sel.fit_resample(Xn, y)
        with pytest.raises(ValueError, match="y"):
            sel.fit_resample(X, y[:-1])


@pytest.mark.parametrize(
    "sel,name",
    [
        (EditedNearestNeighbours(n_neighbors=0), "n_neighbors"),
        (EditedNearestNeighbours(n_neighbors=-2), "n_neighbors"),
        (DROP3(n_neighbors=0), "n_neighbors"),
        (DROP3(metric="manhattan"), "metric"),
        (CondensedNearestNeighbour(metric="l1"), "metric"),
        (LSHInstanceSelector(variant="G"), "variant"),
        (LSHInstanceSelector(n_tables=0), "n_tables"),
        (LSHInstanceSelector(n_funcs=0), "n_funcs"),
        (LSHInstanceSelector(width=0.0), "width"),
        (LSHInstanceSelector(width=float("inf")), "width"),
        (StratifiedRandomSelector(reduction=1.5), "reduction"),
        (StratifiedRandomSelector(reduction=0.0), "reduction"),
        (KMeansMedoidsSelector(reduction=1.0), "reduction"),
        (KMeansMedoidsSelector(max_iter=0), "max_iter"),
        (KMeansMedoidsSelector(max_iter=-3), "max_iter"),
        (KCenterGreedySelector(reduction=-0.1), "reduction"),
        (KernelHerdingSelector(reduction=2.0), "reduction"),
    ],
)
def test_bad_parameters(sel, name):
    X, y = blobs(40, 2, 10)
    with pytest.raises(ValueError, match=name):
        sel.fit_resample(X, y)


@pytest.mark.parametrize(
    "sel,name",
    [
        (EditedNearestNeighbours(n_neighbors=2.5), "n_neighbors"),
        (DROP3(n_neighbors=True), "n_neighbors"),
        (LSHInstanceSelector(n_tables=2.0), "n_tables"),
        (LSHInstanceSelector(width="wide"), "width"),
        (StratifiedRandomSelector(reduction="half"), "reduction"),
    ],
)
def test_parameters_of_the_wrong_type(sel, name):
    """A count that is not an integer (or a number that is not real) is a TypeError
    naming the parameter, as everywhere in sketchkit."""
    X, y = blobs(40, 2, 10)
    with pytest.raises(TypeError, match=name):
        sel.fit_resample(X, y)


def test_native_errors_name_arguments():
    X, y = blobs(40, 2, 10)
    codes = y.astype(np.uint32)
    with pytest.raises(ValueError, match="y"):
        _native.enn_select(X, codes[:-1], 2, 3, "euclidean")
    with pytest.raises(ValueError, match="y"):
        _native.cnn_select(X, codes, 1, "euclidean", 0)  # code 1 >= n_classes
    with pytest.raises(ValueError, match="n_neighbors"):
        _native.drop3_select(X, codes, 2, 0, "euclidean")
    with pytest.raises(ValueError, match="variant"):
        _native.lsh_is_select(X, codes, 2, "Q", 4, 4, 1.0, 0)
    with pytest.raises(ValueError, match="quota"):
        _native.stratified_random_select(codes, 2, [1000, 1], 0)
    with pytest.raises(ValueError, match="quota"):
        _native.stratified_random_select(codes, 2, [1], 0)
    Xn = X.copy()
    Xn[0, 0] = np.inf
    with pytest.raises(ValueError, match="X"):
        _native.enn_select(Xn, codes, 2, 3, "euclidean")


# ---------------------------------------------------------------------------
# Prototype baselines: k-means medoids, k-center greedy, kernel herding.

PROTOTYPES = [KMeansMedoidsSelector, KCenterGreedySelector, KernelHerdingSelector]


def _prototype(cls, reduction, seed=0):
    if cls is KCenterGreedySelector:
        return cls(reduction=reduction)
    return cls(reduction=reduction, random_state=seed)


@pytest.mark.parametrize("cls", PROTOTYPES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("reduction", [0.5, 0.9, 0.96])
def test_prototype_quotas_exact(cls, reduction):
    X, y = blobs(503, 4, 11, d=5)
    sel = _prototype(cls, reduction)
    _, y_res = sel.fit_resample(X, y)
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    want = class_quotas(codes, 4, reduction)
    np.testing.assert_array_equal(np.bincount(y_res, minlength=4), want)
    assert np.all(np.diff(sel.sample_indices_) > 0)


def test_k_center_on_a_line_takes_the_mean_row_then_the_extremes():
    # 21 points on a line per class; the quota of 3 (reduction 6/7 of 21 -> 3 rows)
    X = np.concatenate([np.arange(21.0), 100 + np.arange(21.0)])[:, None]
    y = np.repeat([0, 1], 21)
    sel = KCenterGreedySelector(reduction=1 - 3 / 21).fit(X, y)
    np.testing.assert_array_equal(sel.sample_indices_, [0, 10, 20, 21, 31, 41])


def test_k_center_matches_a_numpy_farthest_first_reference():
    X, y = blobs(300, 3, 12, d=4)
    sel = KCenterGreedySelector(reduction=0.9).fit(X, y)
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    want = []
    for c, q in enumerate(class_quotas(codes, 3, 0.9)):
        m = np.flatnonzero(y == c)
        dm = ((X[m] - X[m].mean(0)) ** 2).sum(1)
        picks = [m[np.lexsort((m, dm))[0]]]
        dmin = np.full(m.size, np.inf)
        while len(picks) < q:
            dmin = np.minimum(dmin, ((X[m] - X[picks[-1]]) ** 2).sum(1))
            dmin[np.isin(m, picks)] = -1
            picks.append(m[np.lexsort((m, -dmin))[0]])
        want += picks
    np.testing.assert_array_equal(sel.sample_indices_, np.sort(want))


def test_medoids_keep_one_row_near_the_centre_of_each_blob():
    rng = np.random.default_rng(13)
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0], [50.0, 50.0]])
    X = np.vstack([c + rng.normal(0, 1, (25, 2)) for c in centres] * 2)
    y = np.repeat([0, 1], 100)  # each class: the four blobs
    for seed in range(4):
        sel = KMeansMedoidsSelector(reduction=0.96, random_state=seed).fit(X, y)
        idx = sel.sample_indices_
        assert len(idx) == 8
        for c in (0, 1):
            kept = idx[y[idx] == c]
            blob = (kept % 100) // 25
            assert sorted(blob) == [0, 1, 2, 3], (seed, kept)
            # the medoid is near its blob's centre (within 1.5 sigma)
            assert np.all(np.linalg.norm(X[kept] - centres[blob], axis=1) < 1.5)


def test_herding_matches_a_numpy_reference_on_a_small_class():
    X, y = blobs(120, 2, 14, d=3)
    sel = KernelHerdingSelector(reduction=0.9, random_state=0).fit(X, y)
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    want = []
    for c, q in enumerate(class_quotas(codes, 2, 0.9)):
        m = np.flatnonzero(y == c)
        gaps = ((X[m[1:]] - X[m[:-1]]) ** 2).sum(1)
        gaps = np.sort(gaps[gaps > 0])
        h = gaps[len(gaps) // 2]
        K = np.exp(-((X[m][:, None] - X[m][None]) ** 2).sum(-1) / h)
        mu, acc, kept = K.mean(1), np.zeros(m.size), np.zeros(m.size, bool)
        for t in range(q):
            v = np.where(kept, -np.inf, mu - acc / (t + 1))
            p = int(np.argmax(v))
            kept[p] = True
            acc += K[:, p]
            want.append(m[p])
    np.testing.assert_array_equal(sel.sample_indices_, np.sort(want))


def test_medoids_large_class_goes_coarse_to_fine_and_keeps_the_quota():
    # 40000 rows x 500 centres = 2e7 pairs > 2^24: the coarse-to-fine path.
    rng = np.random.default_rng(15)
    X = rng.random((40000, 3))
    y = (X[:, 0] > 0.97).astype(int)
    sel = KMeansMedoidsSelector(reduction=1 - 500 / 38800, max_iter=3, random_state=0)
    _, y_res = sel.fit_resample(X, y)
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    np.testing.assert_array_equal(np.bincount(y_res), class_quotas(codes, 2, sel.reduction))
    # the medoids spread over the class: every cell of a 4 x 4 grid holds some
    kept = X[sel.sample_indices_][y_res == 0]
    cells = np.unique((kept[:, 1] * 4).astype(int) * 4 + (kept[:, 2] * 4).astype(int))
    assert cells.size == 16


def test_prototype_native_errors_name_arguments():
    X, y = blobs(40, 2, 10)
    codes = y.astype(np.uint32)
    with pytest.raises(ValueError, match="quota"):
        _native.kmeans_medoids_select(X, codes, 2, [1000, 1], 10, 0)
    with pytest.raises(ValueError, match="quota"):
        _native.k_center_select(X, codes, 2, [1])
    with pytest.raises(ValueError, match="y"):
        _native.kernel_herding_select(X, codes[:-1], 2, [2, 2], 0)
    with pytest.raises(ValueError, match="max_iter"):
        _native.kmeans_medoids_select(X, codes, 2, [2, 2], 0, 0)
