"""Hierarchical hashing, neighbour graphs and graph-attention selection."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris, make_blobs
from sklearn.neighbors import NearestNeighbors

import sketchkit as sk
from sketchkit import _native
from sketchkit.selection import (
    GraphAttentionSelector,
    HierarchicalHasher,
    exact_kneighbors_graph,
    graph_recall,
    hash_kneighbors_graph,
    minibatch_kneighbors_graph,
)
from sketchkit.selection._base import class_quotas


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(2000, n_features=10, centers=20, cluster_std=1.0, random_state=0)
    return X, y % 4


# ------------------------------------------------------------------ hash codes
@pytest.mark.parametrize("center", [True, False])
def test_simhash_codes_equal_numpy_reference(center: bool) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)) + 0.5
    h = HierarchicalHasher(n_bits=16, n_views=2, center=center, random_state=3).fit(X)
    for v in range(2):
        G = sk.gaussian(16, 12, seed=h.view_seed(v)).to_dense()
        P = (X - X.mean(axis=0) if center else X) @ G.T
        clear = np.abs(P) > 1e-9  # signs of exact zeros are not comparable
        np.testing.assert_array_equal(h.codes(X, v)[clear], (P > 0).astype(np.uint16)[clear])


def test_level_ids_are_nested_prefixes() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 8))
    h = HierarchicalHasher(n_bits=12, n_levels=3, n_views=1, random_state=0).fit(X)
    codes = h.codes(X, 0)
    for level, prefix in ((1, 4), (2, 8), (3, 12)):
        ids = h.level_ids(level)[:, 0]
        keys = [tuple(c[:prefix]) for c in codes]
        # same id <=> same prefix
        by_key: dict[tuple, set] = {}
        for key, i in zip(keys, ids, strict=True):
            by_key.setdefault(key, set()).add(int(i))
        assert all(len(s) == 1 for s in by_key.values())
        assert len({next(iter(s)) for s in by_key.values()}) == len(by_key)
    assert np.all(h.level_ids(0) == 0)


@pytest.mark.parametrize("family", ["simhash", "flyhash"])
def test_codes_invariant_to_positive_scaling(family: str) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 9))
    a = HierarchicalHasher(family, n_bits=8, n_views=1, random_state=5).fit(X)
    b = HierarchicalHasher(family, n_bits=8, n_views=1, random_state=5).fit(3.0 * X)
    np.testing.assert_array_equal(a.codes(X, 0), b.codes(3.0 * X, 0))


def test_e2lsh_width_is_relative_to_data_scale() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 6))
    a = HierarchicalHasher("e2lsh", n_bits=6, n_views=1, random_state=1).fit(X)
    b = HierarchicalHasher("e2lsh", n_bits=6, n_views=1, random_state=1).fit(1000.0 * X)
    assert b.scale_ == pytest.approx(1000.0 * a.scale_, rel=1e-9)
    np.testing.assert_array_equal(a.bucket_sizes_, b.bucket_sizes_)


@pytest.mark.parametrize("family", ["simhash", "e2lsh", "flyhash"])
@pytest.mark.parametrize(("min_bucket", "max_bucket"), [(5, 10), (16, 64), (40, 80)])
def test_bucket_size_bounds(blobs, family: str, min_bucket: int, max_bucket: int) -> None:
    X, _ = blobs
    h = HierarchicalHasher(family, 24, 3, 3, min_bucket, max_bucket, random_state=0).fit(X)
    assert h.bucket_sizes_.min() >= min_bucket
    assert h.window_sizes_.max() <= max_bucket
    assert np.all(h.window_sizes_ == np.minimum(h.bucket_sizes_, max_bucket))
    assert h.levels_.max() <= 3


# ------------------------------------------------------------------ graphs
def test_exact_graph_equals_sklearn() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 7))
    g = exact_kneighbors_graph(X, 5)
    dist, ind = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)
    np.testing.assert_array_equal(g.indices.reshape(300, 5), ind[:, 1:])
    np.testing.assert_allclose(g.data.reshape(300, 5), dist[:, 1:], rtol=1e-10, atol=1e-12)


def test_exact_cosine_graph_equals_sklearn() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 7))
    g = exact_kneighbors_graph(X, 4, metric="cosine")
    dist, ind = NearestNeighbors(n_neighbors=5, metric="cosine").fit(X).kneighbors(X)
    np.testing.assert_array_equal(g.indices.reshape(200, 4), ind[:, 1:])
    np.testing.assert_allclose(g.data.reshape(200, 4), dist[:, 1:], atol=1e-12)


@pytest.mark.parametrize("family", ["simhash", "e2lsh", "flyhash"])
def test_hash_graph_recall_on_clustered_data(blobs, family: str) -> None:
    X, _ = blobs
    g = hash_kneighbors_graph(X, 10, family=family, random_state=0)
    assert g.shape == (2000, 2000)
    assert np.all(np.diff(g.indptr) == 10)
    assert not np.any(g.indices.reshape(2000, 10) == np.arange(2000)[:, None])  # no self loops
    assert graph_recall(X, g, sample=300) >= 0.85


def test_hash_graph_distances_are_exact(blobs) -> None:
    X, _ = blobs
    g = hash_kneighbors_graph(X, 5, random_state=1)
    rows = np.repeat(np.arange(2000), 5)
    np.testing.assert_allclose(g.data, np.linalg.norm(X[rows] - X[g.indices], axis=1), rtol=1e-12)
    d = g.data.reshape(2000, 5)
    assert np.all(np.diff(d, axis=1) >= 0)


def test_more_views_raise_recall(blobs) -> None:
    X, _ = blobs
    r1 = graph_recall(X, hash_kneighbors_graph(X, 10, n_views=1, random_state=0), sample=300)
    r4 = graph_recall(X, hash_kneighbors_graph(X, 10, n_views=4, random_state=0), sample=300)
    assert r4 > r1


def test_refinement_raises_recall_and_keeps_exact_distances() -> None:
    X, _ = make_blobs(3000, n_features=30, centers=20, random_state=0)
    raw = hash_kneighbors_graph(X, 10, refine=0, random_state=0)
    ref = hash_kneighbors_graph(X, 10, refine=1, random_state=0)
    r0, r1 = graph_recall(X, raw, sample=300), graph_recall(X, ref, sample=300)
    assert r1 >= r0 and r1 >= 0.9
    # refinement only ever replaces a neighbour with a closer one
    assert np.all(ref.data.reshape(3000, 10) <= raw.data.reshape(3000, 10) + 1e-12)
    with pytest.raises(ValueError, match="refine"):
        hash_kneighbors_graph(X, 10, refine=-1)


def test_minibatch_graph_stays_inside_stratified_batches(blobs) -> None:
    X, y = blobs
    g = minibatch_kneighbors_graph(X, y, 5, batch_size=250, random_state=0)
    batch = sk._native.minibatch_graph(X, y.astype(np.uint32), 4, 250, 5, "euclidean", 0)[3]
    assert np.all(batch[np.repeat(np.arange(2000), 5)] == batch[g.indices])
    counts = np.bincount(batch)
    assert counts.max() - counts.min() <= 1
    for c in range(4):  # each class spread evenly over the batches
        per = np.bincount(batch[y == c], minlength=len(counts))
        assert per.max() - per.min() <= 1


def test_graph_determinism_across_threads(blobs, restore_threads) -> None:
    X, y = blobs
    out = []
    for t in (1, 2, 4):
        sk.set_num_threads(t)
        out.append(
            (
                hash_kneighbors_graph(X, 8, family="e2lsh", random_state=2),
                minibatch_kneighbors_graph(X, y, 8, batch_size=300, random_state=2),
            )
        )
    for a, b in out[1:]:
        assert (a != out[0][0]).nnz == 0 and (b != out[0][1]).nnz == 0


def test_float32_and_csr_inputs(blobs) -> None:
    X, _ = blobs
    g64 = exact_kneighbors_graph(X, 5)
    g32 = exact_kneighbors_graph(X.astype(np.float32), 5)
    assert (g64.indices != g32.indices).mean() < 0.01
    Xs = sp.csr_matrix(np.where(np.abs(X) > 3, X, 0.0))
    gs = exact_kneighbors_graph(Xs, 5)
    gd = exact_kneighbors_graph(Xs.toarray(), 5)
    np.testing.assert_allclose(gs.data, gd.data, rtol=1e-7, atol=1e-9)
    h = hash_kneighbors_graph(Xs, 5, random_state=0)
    assert graph_recall(Xs, h, sample=100) > 0.5


# ------------------------------------------------------------------ selector
@pytest.mark.parametrize("graph", ["hash", "minibatch"])
@pytest.mark.parametrize("reduction", [0.5, 0.9, 0.96])
def test_reduction_is_honoured_per_class(blobs, graph: str, reduction: float) -> None:
    X, y = blobs
    sel = GraphAttentionSelector(reduction=reduction, graph=graph, random_state=0)
    Xr, yr = sel.fit_resample(X, y)
    want = class_quotas(y.astype(np.uint32), 4, reduction)
    for c in range(4):
        assert abs(int((yr == c).sum()) - want[c]) <= 1
    np.testing.assert_array_equal(Xr, X[sel.sample_indices_])
    assert np.all(np.diff(sel.sample_indices_) > 0)
    assert sel.reduction_ == pytest.approx(1 - len(yr) / len(y))


def test_automatic_size_and_attributes(blobs) -> None:
    X, y = blobs
    sel = GraphAttentionSelector(random_state=0).fit(X, y)
    idx = sel.sample_indices_
    assert 0.5 < sel.reduction_ < 0.99
    assert set(np.unique(y[idx])) == set(range(4))
    assert sel.scores_.shape == (2000,) and sel.noisy_.dtype == bool
    assert sp.issparse(sel.graph_) and sel.graph_.shape == (2000, 2000)
    for c in range(4):  # weights stand for the whole class
        assert sel.sample_weight_[y[idx] == c].sum() == pytest.approx((y == c).sum())


def test_noisy_rows_are_flagged_and_dropped() -> None:
    X, y = make_blobs(600, n_features=2, centers=[[0, 0], [20, 20]], random_state=0)
    y = y.copy()
    planted = np.flatnonzero(y == 0)[:5]
    y[planted] = 1  # mislabelled rows deep inside class 0
    sel = GraphAttentionSelector(random_state=0).fit(X, y)
    assert sel.noisy_[planted].all()
    assert not np.isin(planted, sel.sample_indices_).any()


def test_selection_beats_random_on_iris_1nn() -> None:
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_iris(return_X_y=True)
    ours, rand = [], []
    rng = np.random.default_rng(0)
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        sel = GraphAttentionSelector(reduction=0.9, random_state=0)
        Xs, ys = sel.fit_resample(X[tr], y[tr])
        ours.append(KNeighborsClassifier(1).fit(Xs, ys).score(X[te], y[te]))
        pick = np.concatenate(
            [
                rng.choice(np.flatnonzero(y[tr] == c), (ys == c).sum(), replace=False)
                for c in range(3)
            ]
        )
        rand.append(KNeighborsClassifier(1).fit(X[tr][pick], y[tr][pick]).score(X[te], y[te]))
    assert np.mean(ours) >= np.mean(rand)


def test_selector_determinism_across_threads(blobs, restore_threads) -> None:
    X, y = blobs
    res = []
    for t in (1, 2):
        sk.set_num_threads(t)
        res.append(GraphAttentionSelector(reduction=0.9, random_state=7).fit(X, y).sample_indices_)
    np.testing.assert_array_equal(res[0], res[1])


def test_float32_kept_and_labels_of_any_type(blobs) -> None:
    X, y = blobs
    names = np.array(["ant", "bee", "cat", "dog"], dtype=object)[y]
    Xr, yr = GraphAttentionSelector(reduction=0.9, random_state=0).fit_resample(
        X.astype(np.float32), names
    )
    assert Xr.dtype == np.float32 and set(yr) == {"ant", "bee", "cat", "dog"}


def test_sparse_and_pandas_inputs(blobs) -> None:
    pd = pytest.importorskip("pandas")
    X, y = blobs
    Xr, _ = GraphAttentionSelector(reduction=0.9, random_state=0).fit_resample(sp.csr_matrix(X), y)
    assert sp.issparse(Xr) and Xr.shape[0] == pytest.approx(200, abs=4)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    Xd, yd = GraphAttentionSelector(reduction=0.9, random_state=0).fit_resample(df, pd.Series(y))
    assert isinstance(Xd, pd.DataFrame) and list(Xd.columns) == list(df.columns)
    assert isinstance(yd, pd.Series) and len(yd) == len(Xd)


def test_half_quotas_round_up_like_the_core() -> None:
    X, _ = make_blobs(20, n_features=2, centers=2, random_state=0)
    y = np.array([0] * 5 + [1] * 15)
    _, yr = GraphAttentionSelector(reduction=0.5, random_state=0).fit_resample(X, y)
    assert (yr == 0).sum() == 3  # 2.5 -> 3, as sketchkit.select::quota rounds


def test_huge_finite_values_are_not_nan(blobs) -> None:
    X, y = blobs
    X32 = X.astype(np.float32)
    X32[0, 0] = 1e20  # its squared norm overflows float32; the values are finite
    sel = GraphAttentionSelector(reduction=0.9, random_state=0).fit(X32, y)
    assert len(sel.sample_indices_) > 0


def test_singleton_class_is_kept() -> None:
    X, y = make_blobs(200, n_features=3, centers=2, random_state=0)
    X = np.vstack([X, [[50.0, 50.0, 50.0]]])
    y = np.append(y, 2)
    sel = GraphAttentionSelector(reduction=0.9, random_state=0).fit(X, y)
    assert 200 in sel.sample_indices_


def test_imblearn_pipeline(blobs) -> None:
    pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.neighbors import KNeighborsClassifier

    X, y = blobs
    pipe = pipeline.Pipeline(
        [
            ("select", GraphAttentionSelector(reduction=0.9, random_state=0)),
            ("knn", KNeighborsClassifier(1)),
        ]
    )
    assert pipe.fit(X, y).score(X, y) > 0.8


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(20, 120),
    k=st.integers(1, 8),
    reduction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32),
)
def test_property_quota_and_classes(n: int, k: int, reduction: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = rng.integers(0, 3, n)
    y[:3] = [0, 1, 2]
    sel = GraphAttentionSelector(reduction=reduction, n_neighbors=k, random_state=seed)
    _, yr = sel.fit_resample(X, y)
    want = _native.class_quotas(np.bincount(y, minlength=3), reduction)
    for c in range(3):
        n_c = int((y == c).sum())
        assert int((yr == c).sum()) == want[c] == min(n_c, max(1, int(n_c * (1 - reduction) + 0.5)))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reduction": 1.0}, "reduction"),
        ({"reduction": 0.0}, "reduction"),
        ({"graph": "full"}, "graph"),
        ({"hash_family": "md5"}, "hash_family"),
        ({"metric": "manhattan"}, "metric"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"noise_threshold": 1.5}, "noise_threshold"),
        ({"max_bucket": 10, "min_bucket": 8}, "max_bucket"),
        ({"n_bits": 65}, "n_bits"),
    ],
)
def test_bad_parameters(blobs, kwargs: dict, match: str) -> None:
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        GraphAttentionSelector(**kwargs).fit_resample(X, y)


def test_bad_data(blobs) -> None:
    X, y = blobs
    sel = GraphAttentionSelector(reduction=0.9)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sel.fit_resample(Xn, y)
    with pytest.raises(ValueError, match="y has 1999 labels"):
        sel.fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match="single class"):
        sel.fit_resample(X, np.zeros(2000))
    with pytest.raises(TypeError):
        sel.fit_resample(X.astype(complex), y)
    with pytest.raises(ValueError, match="empty"):
        sel.fit_resample(np.empty((0, 3)), [])


@pytest.mark.parametrize("bad", [0, -1])
@pytest.mark.parametrize(
    "param", ["n_bits", "n_levels", "n_views", "min_bucket", "max_bucket", "n_neighbors"]
)
def test_ranges_are_the_cores_and_name_the_argument(param, bad):
    X = np.random.default_rng(0).standard_normal((120, 6))
    y = np.arange(120) % 3
    with pytest.raises(ValueError, match=f"^{param}: "):
        GraphAttentionSelector(reduction=0.9, **{param: bad}).fit_resample(X, y)


# ------------------------------------------------------------------ progress (verbose)
class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_verbose_draws_a_tqdm_bar_on_a_terminal(blobs, monkeypatch) -> None:
    pytest.importorskip("tqdm")
    X, y = blobs
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    GraphAttentionSelector(reduction=0.5, verbose=True, random_state=0).fit_resample(X, y)
    text = terminal.getvalue()
    assert "attention selection" in text and "3/3" in text and "selection" in text
    assert text.endswith("\n")


def test_verbose_is_silent_when_stderr_is_not_a_terminal(blobs, capsys) -> None:
    X, y = blobs
    quiet = GraphAttentionSelector(reduction=0.5, random_state=0).fit_resample(X, y)
    assert capsys.readouterr().err == ""
    loud = GraphAttentionSelector(reduction=0.5, verbose=True, random_state=0).fit_resample(X, y)
    assert capsys.readouterr().err == ""  # tqdm's disable=None: no bar, no carriage return
    np.testing.assert_array_equal(quiet[0], loud[0])


def test_verbose_without_tqdm_is_silent(blobs, monkeypatch) -> None:
    for name in ("tqdm", "tqdm.auto", "tqdm.autonotebook", "tqdm.std"):
        monkeypatch.setitem(sys.modules, name, None)
    X, y = blobs
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    sel = GraphAttentionSelector(reduction=0.5, verbose=True, random_state=0)
    sel.fit_resample(X, y)
    assert terminal.getvalue() == ""
    assert sel.sample_indices_.shape[0] > 0


def test_verbose_on_a_terminal_off_draws_nothing(blobs, monkeypatch) -> None:
    X, y = blobs
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    GraphAttentionSelector(reduction=0.5, random_state=0).fit_resample(X, y)
    assert terminal.getvalue() == ""


# ------------------------------------------------------------------ strategies
@pytest.mark.parametrize("reduction", [0.9, 0.96])
def test_prototype_strategy_quotas_weights_and_noise(blobs, reduction: float) -> None:
    X, y = blobs
    sel = GraphAttentionSelector(reduction=reduction, random_state=0).fit(X, y)
    idx = sel.sample_indices_
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    want = class_quotas(codes, 4, reduction)
    np.testing.assert_array_equal(np.bincount(y[idx], minlength=4), want)
    for c in range(4):  # weights stand for the whole class
        assert sel.sample_weight_[y[idx] == c].sum() == pytest.approx((y == c).sum())
    assert np.all(sel.sample_weight_ > 0)
    # noise is edited out while clean rows are left
    assert not sel.noisy_[idx].any()


def test_prototype_strategy_without_boundary_share_keeps_medoids_of_clean_rows() -> None:
    # Two far-apart classes, each of four tight blobs: no boundary, no noise, so
    # the prototypes are one medoid per blob.
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [30.0, 30.0]])
    X = np.vstack([c + rng.normal(0, 1, (50, 2)) for c in centres])
    X = np.vstack([X, X + 200.0])
    y = np.repeat([0, 1], 200)
    for share in (0.0, 0.25):
        sel = GraphAttentionSelector(reduction=0.98, boundary_share=share, random_state=0)
        idx = sel.fit(X, y).sample_indices_
        assert len(idx) == 8
        for c in (0, 1):
            kept = idx[y[idx] == c]
            assert sorted((kept % 200) // 50) == [0, 1, 2, 3]


def test_cover_strategy_is_the_score_ordered_cover(blobs) -> None:
    X, y = blobs
    sel = GraphAttentionSelector(reduction=0.9, strategy="cover", random_state=1).fit(X, y)
    g = sel.graph_
    codes = np.unique(y, return_inverse=True)[1].astype(np.uint32)
    idx, w, hops = _native.attention_select(
        g.indptr.astype(np.int64),
        g.indices.astype(np.int64),
        g.data.astype(np.float64),
        codes,
        4,
        sel.scores_,
        sel.noisy_,
        class_quotas(codes, 4, 0.9),
    )
    np.testing.assert_array_equal(sel.sample_indices_, idx)
    np.testing.assert_array_equal(sel.sample_weight_, w)
    np.testing.assert_array_equal(sel.hops_, hops)


def test_prototype_strategy_determinism_across_threads(blobs, restore_threads) -> None:
    X, y = blobs
    res = []
    for t in (1, 2):
        sk.set_num_threads(t)
        s = GraphAttentionSelector(reduction=0.96, random_state=3).fit(X, y)
        res.append((s.sample_indices_, s.sample_weight_))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


def test_auto_parameters_keep_the_best_held_out_candidate(blobs) -> None:
    X, y = blobs
    y = y.copy()
    y[::17] = (y[::17] + 1) % 3  # flipped labels: editing matters
    sel = GraphAttentionSelector(reduction=0.9, random_state=5).fit(X, y)
    res = sel.tuning_results_
    defaults = _native.attention_defaults()
    assert [(r["boundary_share"], r["noise_threshold"]) for r in res] == [
        (b, t) for b in defaults["boundary_share_grid"] for t in defaults["noise_threshold_grid"]
    ]
    acc = [r["holdout_accuracy"] for r in res]
    best = acc.index(max(acc))  # the first of the best
    assert (sel.boundary_share_, sel.noise_threshold_) == (
        res[best]["boundary_share"],
        res[best]["noise_threshold"],
    )
    # every held-out row is a training row the candidate did not keep
    n_kept = len(sel.sample_indices_)
    assert res[best]["holdout_rows"] == min(len(y), defaults["tune_eval_rows"]) - n_kept
    # the chosen values, given, select the same rows with the same weights
    fixed = GraphAttentionSelector(
        reduction=0.9,
        random_state=5,
        boundary_share=sel.boundary_share_,
        noise_threshold=sel.noise_threshold_,
    ).fit(X, y)
    assert fixed.tuning_results_ == []
    np.testing.assert_array_equal(fixed.sample_indices_, sel.sample_indices_)
    np.testing.assert_array_equal(fixed.sample_weight_, sel.sample_weight_)
    np.testing.assert_array_equal(fixed.noisy_, sel.noisy_)
    # one value given: only the other is chosen
    half = GraphAttentionSelector(reduction=0.9, random_state=5, boundary_share=0.5).fit(X, y)
    assert [r["boundary_share"] for r in half.tuning_results_] == [0.5] * len(
        defaults["noise_threshold_grid"]
    )
    # the cover strategy chooses nothing and uses the core's threshold
    cover = GraphAttentionSelector(reduction=0.9, strategy="cover", random_state=5).fit(X, y)
    assert cover.tuning_results_ == [] and cover.boundary_share_ is None
    assert cover.noise_threshold_ == defaults["noise_threshold"]


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"strategy": "medoid"}, ValueError, "strategy"),
        ({"boundary_share": 1.5}, ValueError, "boundary_share"),
        ({"boundary_share": -0.1}, ValueError, "boundary_share"),
        ({"boundary_share": "best"}, ValueError, "boundary_share must be one of 'auto'"),
        ({"noise_threshold": "best"}, ValueError, "noise_threshold must be one of 'auto'"),
        ({"boundary_share": None}, TypeError, "boundary_share"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
    ],
)
def test_strategy_parameters_are_checked(blobs, kwargs: dict, exc: type, match: str) -> None:
    X, y = blobs
    with pytest.raises(exc, match=match):
        GraphAttentionSelector(reduction=0.9, **kwargs).fit_resample(X, y)
