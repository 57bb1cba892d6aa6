"""The scikit-learn compatible estimators: API conformance, attributes, dtype handling,
sparse semantics, pickling, and statistical equivalence with sklearn.random_projection."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from conftest import data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import random_projection as skrp
from sklearn.base import clone
from sklearn.exceptions import DataDimensionalityWarning, NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import sketchkit as sk

ESTIMATORS = [
    sk.SparseRandomProjection,
    sk.GaussianRandomProjection,
    sk.SparseSignProjection,
    sk.CountSketchProjection,
    sk.SRHTProjection,
]
DENSE_COMPONENTS = [sk.GaussianRandomProjection, sk.SRHTProjection]
SPARSE_OUTPUT = [e for e in ESTIMATORS if e not in DENSE_COMPONENTS]


def pairwise_sq_dists(X):
    X = np.asarray(X, dtype=np.float64)
    i, j = np.triu_indices(X.shape[0], 1)
    return ((X[i] - X[j]) ** 2).sum(axis=1)


# --------------------------------------------------------------------------- estimator checks
@parametrize_with_checks(
    [
        sk.SparseRandomProjection(n_components=2),
        sk.GaussianRandomProjection(n_components=2),
        sk.SRHTProjection(n_components=2),
        sk.SRHTProjection(n_components=2, compute_inverse_components=True),
        # n_components above the padded dimension of 1-feature data: accepted with a
        # DataDimensionalityWarning, as scikit-learn's projections do.
        sk.SRHTProjection(n_components=3),
        sk.SparseSignProjection(n_components=2),
        sk.CountSketchProjection(n_components=2),
        sk.SparseSignProjection(n_components=3, nnz=2, dense_output=True),
        sk.SparseRandomProjection(n_components=3, density=0.5, compute_inverse_components=True),
    ]
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.DataDimensionalityWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_lazy_import_and_identity():
    assert sk.SparseRandomProjection is sk._projection.SparseRandomProjection
    assert "SparseSignProjection" in dir(sk)
    assert "SparseSignProjection" not in sk.__all__
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        sk.Nope  # noqa: B018


# --------------------------------------------------------------------------- fitted attributes
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_keeps_float_dtype(Est, dtype):
    X = data((20, 60), dtype, zeros=0.5)
    est = Est(n_components=10, random_state=0).fit(X)
    out = est.transform(X)
    assert out.dtype == dtype
    assert est.components_.dtype == dtype
    out_sparse = est.transform(sp.csr_matrix(X))
    assert out_sparse.dtype == dtype
    assert_allclose(
        np.asarray(out_sparse.todense() if sp.issparse(out_sparse) else out_sparse),
        out,
        rtol=1e-5 if dtype == np.float32 else 1e-12,
        atol=1e-5 if dtype == np.float32 else 1e-12,
    )


def test_integer_input_becomes_float64():
    X = np.arange(200).reshape(10, 20) % 7
    est = sk.SparseSignProjection(n_components=5, random_state=0).fit(X)
    assert est.transform(X).dtype == np.float64
    assert_array_equal(est.transform(X), est.transform(X.astype(np.float64)))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_fitted_attributes(Est):
    X = data((30, 80), seed=1)
    est = Est(n_components=12, random_state=7).fit(X)
    assert est.n_components_ == 12
    assert est.n_features_in_ == 80
    assert est.seed_ == 7
    assert est.operator_.shape == (12, 80)
    assert est.operator_.seed == 7
    comps = est.components_
    assert comps.shape == (12, 80)
    if Est in DENSE_COMPONENTS:
        assert isinstance(comps, np.ndarray)
    else:
        assert sp.issparse(comps) and comps.format == "csr"
    dense = comps.toarray() if sp.issparse(comps) else comps
    assert_array_equal(dense, est.operator_.to_dense())
    # transform is X @ components_.T, computed without the matrix
    assert_allclose(est.transform(X), X @ dense.T, rtol=1e-12, atol=1e-12)
    assert est.components_ is comps  # cached
    assert not hasattr(est, "inverse_components_")


def test_family_specific_attributes():
    X = data((10, 400))
    srp = sk.SparseRandomProjection(n_components=20, random_state=0).fit(X)
    assert srp.density_ == pytest.approx(1 / 20)
    assert srp.operator_.family == "very_sparse"
    srp = sk.SparseRandomProjection(n_components=20, density=0.3, random_state=0).fit(X)
    assert srp.density_ == 0.3
    nnz_per_col = np.diff(srp.components_.tocsc().indptr)
    assert abs(nnz_per_col.mean() - 0.3 * 20) < 0.5

    sss = sk.SparseSignProjection(n_components=20, random_state=0).fit(X)
    assert sss.nnz_ == 8
    assert_array_equal(np.diff(sss.components_.tocsc().indptr), np.full(400, 8))
    capped = sk.SparseSignProjection(n_components=3, nnz=8, random_state=0).fit(X)
    assert capped.nnz_ == 3
    assert capped.nnz == 8  # the parameter is not modified

    cs = sk.CountSketchProjection(n_components=20, random_state=0).fit(X)
    assert_array_equal(np.diff(cs.components_.tocsc().indptr), np.ones(400))
    assert sk.GaussianRandomProjection(n_components=5).fit(X).operator_.family == "gaussian"

    srht = sk.SRHTProjection(n_components=20, random_state=0).fit(X)
    assert srht.operator_.family == "srht"
    assert srht.operator_ == sk.srht(20, 400, seed=0)
    assert_array_equal(np.abs(srht.components_), np.full((20, 400), 1 / np.sqrt(20)))


def test_srht_n_components_beyond_the_padded_dimension():
    X = data((6, 100))
    with pytest.warns(DataDimensionalityWarning, match=r"\(100 < 128\)"):
        est = sk.SRHTProjection(n_components=128, random_state=0).fit(X)
    assert est.transform(X).shape == (6, 128)
    assert est.operator_.padded_dim == 128
    # Beyond d' = 128 as scikit-learn's projections do: a warning, and d' grows to the
    # next power of two >= n_components (here 256), so the k rows of H are distinct.
    with pytest.warns(DataDimensionalityWarning, match=r"\(100 < 129\)"):
        est = sk.SRHTProjection(n_components=129, random_state=0).fit(X)
    assert est.operator_.padded_dim == 256
    Y = est.transform(X)
    assert Y.shape == (6, 129)
    assert_allclose(Y, X @ est.components_.T, rtol=1e-12, atol=1e-12)
    assert_array_equal(np.abs(est.components_), np.full((129, 100), 1 / np.sqrt(129)))
    # Distinct rows of H: the k x d' matrix P H has orthogonal rows, so with d = 1 the
    # components are a column of +-1/sqrt(k) values.
    with pytest.warns(DataDimensionalityWarning):
        one = sk.SRHTProjection(n_components=3, random_state=0).fit(data((4, 1)))
    assert one.operator_.padded_dim == 4
    assert_allclose(one.transform(np.ones((1, 1))), one.components_.T, rtol=0, atol=0)
    # With k = d' = d the projection is orthogonal: norms are preserved exactly.
    X = data((6, 64), seed=1)
    Y = sk.SRHTProjection(n_components=64, random_state=3).fit_transform(X)
    assert_allclose(np.linalg.norm(Y, axis=1), np.linalg.norm(X, axis=1), rtol=1e-12)


def test_not_fitted():
    est = sk.SparseSignProjection(n_components=3)
    assert not hasattr(est, "components_")
    with pytest.raises(NotFittedError):
        est.components_  # noqa: B018
    with pytest.raises(NotFittedError):
        est.transform(np.ones((2, 4)))


# --------------------------------------------------------------------------- random_state
def test_random_state_handling():
    X = data((10, 50))
    a = sk.SparseSignProjection(n_components=8, random_state=3).fit(X)
    b = sk.SparseSignProjection(n_components=8, random_state=3).fit(X)
    assert a.seed_ == b.seed_ == 3
    assert_array_equal(a.transform(X), b.transform(X))
    c = sk.SparseSignProjection(n_components=8, random_state=4).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))

    seeds = {sk.SparseSignProjection(n_components=8).fit(X).seed_ for _ in range(5)}
    assert len(seeds) == 5  # None draws a fresh seed each fit

    rs1, rs2 = np.random.RandomState(0), np.random.RandomState(0)
    e1 = sk.GaussianRandomProjection(n_components=4, random_state=rs1).fit(X)
    e2 = sk.GaussianRandomProjection(n_components=4, random_state=rs2).fit(X)
    assert e1.seed_ == e2.seed_
    assert_array_equal(e1.transform(X), e2.transform(X))
    e3 = sk.GaussianRandomProjection(n_components=4, random_state=rs1).fit(X)
    assert e3.seed_ != e1.seed_  # the RandomState advanced


# --------------------------------------------------------------------------- sparse semantics
@pytest.mark.parametrize("Est", SPARSE_OUTPUT)
def test_dense_output_semantics(Est):
    X = data((25, 70), zeros=0.9, seed=3)
    Xs = sp.csr_matrix(X)
    est = Est(n_components=9, random_state=1).fit(Xs)
    out = est.transform(Xs)
    assert sp.issparse(out) and out.format == "csr"
    assert_allclose(out.toarray(), est.transform(X), rtol=1e-12, atol=1e-12)
    assert isinstance(est.transform(X), np.ndarray)
    assert sp.issparse(est.transform(sp.csc_matrix(X)))
    est_dense = Est(n_components=9, random_state=1, dense_output=True).fit(Xs)
    assert isinstance(est_dense.transform(Xs), np.ndarray)
    assert_array_equal(est_dense.transform(Xs), out.toarray())


@pytest.mark.parametrize("Est", DENSE_COMPONENTS)
def test_dense_families_output_always_dense(Est):
    X = sp.random(20, 50, density=0.2, random_state=0, format="csr")
    est = Est(n_components=5, random_state=0).fit(X)
    assert isinstance(est.transform(X), np.ndarray)
    assert_allclose(est.transform(X), est.transform(X.toarray()), rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(
    "sparse_interface" not in sklearn.get_config(), reason="scikit-learn without sparse_interface"
)
def test_sparse_interface_config():
    X = sp.csr_array(data((15, 40), zeros=0.8))
    est = sk.SparseSignProjection(n_components=6, random_state=0).fit(X)
    ref = skrp.SparseRandomProjection(n_components=6, random_state=0).fit(X)
    # Same container class as scikit-learn's own estimator under each setting.
    assert type(est.transform(X)) is type(ref.transform(X))
    assert type(est.components_) is type(ref.components_)
    with sklearn.config_context(sparse_interface="sparray"):
        assert isinstance(est.transform(sp.csr_matrix(X)), sp.csr_array)
        assert isinstance(est.components_, sp.csr_array)
    with sklearn.config_context(sparse_interface="spmatrix"):
        assert isinstance(est.transform(X), sp.csr_matrix)


# --------------------------------------------------------------------------- feature names, output
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_get_feature_names_out(Est):
    X = data((20, 3000), seed=2)
    est = Est(n_components=4, random_state=0).fit(X)
    prefix = Est.__name__.lower()
    assert_array_equal(est.get_feature_names_out(), [f"{prefix}{i}" for i in range(4)])
    auto = Est(random_state=0, eps=0.5).fit(X)
    assert auto.n_components_ == skrp.johnson_lindenstrauss_min_dim(20, eps=0.5)
    names = auto.get_feature_names_out()
    assert len(names) == auto.n_components_
    assert names[-1] == f"{prefix}{auto.n_components_ - 1}"


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_set_output_pandas(Est):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(data((12, 30), seed=4), columns=[f"f{i}" for i in range(30)])
    X.index = [f"row{i}" for i in range(12)]
    est = Est(n_components=5, random_state=0).set_output(transform="pandas")
    out = est.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    assert list(out.index) == list(X.index)
    assert_array_equal(est.feature_names_in_, X.columns)
    assert_allclose(out.to_numpy(), est.operator_.project(X.to_numpy()), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- pickling
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_pickle_round_trip(Est):
    X = data((40, 500), np.float32, seed=5)
    est = Est(n_components=64, random_state=11).fit(X)
    expected = est.transform(X)
    est.components_  # noqa: B018  (materialize the cache; it must not be pickled)
    blob = pickle.dumps(est)
    assert len(blob) < 4000
    est2 = pickle.loads(blob)
    assert_array_equal(est2.transform(X), expected)
    assert est2.n_components_ == 64 and est2.seed_ == 11
    c1, c2 = (c.toarray() if sp.issparse(c) else c for c in (est.components_, est2.components_))
    assert_array_equal(c1, c2)
    assert clone(est).get_params() == est.get_params()


# --------------------------------------------------------------------------- inverse
@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inverse_components_and_inverse_transform(Est, dtype):
    n, d, k = 15, 60, 10
    X = data((n, d), dtype, seed=6)
    est = Est(n_components=k, random_state=0, compute_inverse_components=True).fit(X)
    inv = est.inverse_components_
    assert inv.shape == (d, k)
    assert inv.dtype == dtype
    comps = est.components_
    dense = comps.toarray() if sp.issparse(comps) else comps
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    assert_allclose(inv, np.linalg.pinv(dense.astype(np.float64)), rtol=rtol, atol=rtol)
    Y = est.transform(X)
    X_back = est.inverse_transform(Y)
    assert X_back.shape == (n, d)
    # S is onto for k <= d, so the projection of the reconstruction is Y again.
    assert_allclose(est.transform(X_back.astype(dtype)), Y, rtol=rtol * 10, atol=rtol * 10)
    # X_back is the minimum-norm preimage: orthogonal projection of X onto row(S).
    P = np.linalg.pinv(dense.astype(np.float64)) @ dense.astype(np.float64)
    assert_allclose(X_back, X.astype(np.float64) @ P.T, rtol=rtol * 10, atol=rtol * 10)
    # Without precomputation the same result.
    lazy = Est(n_components=k, random_state=0).fit(X)
    assert_allclose(lazy.inverse_transform(Y), X_back, rtol=rtol, atol=rtol)
    # Sparse Y gives a dense reconstruction too.
    assert_allclose(
        np.asarray(est.inverse_transform(sp.csr_matrix(Y))), X_back, rtol=rtol, atol=rtol
    )


# --------------------------------------------------------------------------- same rules as sklearn
PAIRS = [
    (sk.SparseRandomProjection, skrp.SparseRandomProjection),
    (sk.GaussianRandomProjection, skrp.GaussianRandomProjection),
    (sk.SRHTProjection, skrp.GaussianRandomProjection),
    (sk.SparseSignProjection, skrp.SparseRandomProjection),
    (sk.CountSketchProjection, skrp.SparseRandomProjection),
]


@pytest.mark.parametrize("Ours, Theirs", PAIRS)
def test_auto_n_components_matches_sklearn(Ours, Theirs):
    for n, d, eps in [(30, 3000, 0.5), (100, 5000, 0.3), (7, 200, 0.9)]:
        X = np.zeros((n, d))
        ours = Ours(eps=eps, random_state=0).fit(X)
        theirs = Theirs(eps=eps, random_state=0).fit(X)
        assert ours.n_components_ == theirs.n_components_
        assert ours.transform(X).shape == theirs.transform(X).shape


@pytest.mark.parametrize("Ours, Theirs", PAIRS)
def test_errors_match_sklearn(Ours, Theirs):
    def error_of(est, X):
        with pytest.raises(Exception) as info:  # noqa: B017
            est.fit(X)
        return info.type, str(info.value)

    X = np.ones((100, 50))
    cases = [
        ({"eps": 0.1}, X),  # auto n_components larger than n_features
        ({"eps": 1.5}, X),  # eps outside ]0, 1[ for the JL bound
        ({"eps": 0}, X),  # rejected by parameter validation
        ({"eps": -1}, X),
        ({"n_components": 0}, X),
        ({"n_components": 2.5}, X),
        ({"n_components": "many"}, X),
        ({"random_state": "seed"}, X),
        ({"n_components": 3}, np.ones((0, 5))),
        ({"n_components": 3}, np.ones(5)),
        ({"n_components": 3}, np.full((3, 5), np.nan)),
        ({"n_components": 3}, np.ones((3, 5), dtype=complex)),
        ({"eps": 0.5}, np.ones((1, 5))),  # auto with a single sample: 0 components
    ]
    for params, data_ in cases:
        ours_type, ours_msg = error_of(Ours(**params), data_)
        theirs_type, theirs_msg = error_of(Theirs(**params), data_)
        assert ours_type is theirs_type, (params, ours_msg, theirs_msg)
        if ours_type is ValueError and "NaN" not in ours_msg:
            # Same wording, modulo the class name.
            normalize = re.compile(r"\b\w*Projection\b")
            assert normalize.sub("E", ours_msg) == normalize.sub("E", theirs_msg), params


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warns_when_not_reducing(Est):
    X = data((5, 10))
    with pytest.warns(DataDimensionalityWarning, match=r"n_features < n_components \(10 < 12\)"):
        est = Est(n_components=12, random_state=0).fit(X)
    assert est.transform(X).shape == (5, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Est(n_components=10, random_state=0).fit(X)


def test_feature_count_checked_at_transform():
    est = sk.SparseSignProjection(n_components=3, random_state=0).fit(np.ones((4, 10)))
    with pytest.raises(ValueError, match="10 features"):
        est.transform(np.ones((4, 11)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.transform(np.full((4, 10), np.inf))


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("Ours, Theirs", PAIRS)
def test_statistically_equivalent_to_sklearn(Ours, Theirs):
    """Pairwise squared-distance ratios have mean ~1 and spread ~sqrt(2/k) for both,
    pooled over a few seeds: the same embedding quality, not the same numbers."""
    n, d, k = 60, 2000, 200
    X = data((n, d), seed=8)
    dx = pairwise_sq_dists(X)
    ours, theirs = [], []
    for seed in range(4):
        for Est, ratios in ((Ours, ours), (Theirs, theirs)):
            Y = Est(n_components=k, random_state=seed).fit_transform(X)
            ratios.append(pairwise_sq_dists(Y) / dx)
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    expected_sd = np.sqrt(2 / k)  # 0.1
    for ratios in (ours, theirs):
        assert abs(ratios.mean() - 1) < 0.03
        assert 0.75 * expected_sd < ratios.std() < 1.3 * expected_sd
    assert 0.75 < ours.std() / theirs.std() < 1.33
    assert np.abs(ours - 1).max() < 0.6 and np.abs(theirs - 1).max() < 0.6
    # Not bit-equal: different random streams.
    assert not np.allclose(ours, theirs)


def test_transform_matches_operator_bit_for_bit():
    X = data((50, 300), np.float32, zeros=0.6, seed=9)
    est = sk.SparseSignProjection(n_components=32, random_state=5).fit(X)
    S = sk.sparse_sign(32, 300, seed=5)
    assert est.operator_ == S
    assert_array_equal(est.transform(X), X @ S.T)
    assert_array_equal(est.transform(sp.csr_matrix(X)).toarray(), S.project(sp.csr_matrix(X)))


def test_one_seed_resolver_for_estimators_and_selectors():
    """int, None, RandomState and Generator give a seed the same way everywhere."""
    from sketchkit.selection import StratifiedRandomSelector

    X = data((40, 50))
    y = np.arange(40) % 2

    def estimator_seed(random_state):
        return sk.SparseSignProjection(8, random_state=random_state).fit(X).seed_

    def selector_seed(random_state):
        sel = StratifiedRandomSelector(0.5, random_state=random_state).fit(X, y)
        assert sel.sample_indices_.shape == (20,)
        return sel._seed() if isinstance(random_state, int) else None

    for seed_of in (estimator_seed, selector_seed):
        seed_of(None)
        seed_of(np.random.RandomState(3))
        seed_of(np.random.default_rng(3))
    assert estimator_seed(7) == selector_seed(7) == 7
    expected = int(np.random.RandomState(3).randint(0, 2**63 - 1, dtype=np.int64))
    assert estimator_seed(np.random.RandomState(3)) == expected
    expected = int(np.random.default_rng(3).integers(0, 2**63 - 1))
    assert estimator_seed(np.random.default_rng(3)) == expected
    # the same generator state selects the same rows
    a = StratifiedRandomSelector(0.5, random_state=np.random.default_rng(5)).fit(X, y)
    b = StratifiedRandomSelector(0.5, random_state=np.random.default_rng(5)).fit(X, y)
    assert_array_equal(a.sample_indices_, b.sample_indices_)
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        StratifiedRandomSelector(0.5, random_state="seed").fit(X, y)
    with pytest.raises(ValueError, match=r"random_state must be an integer in \[0, 2\*\*64\)"):
        StratifiedRandomSelector(0.5, random_state=-1).fit(X, y)
