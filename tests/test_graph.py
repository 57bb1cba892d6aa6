"""FastRP and projected propagation (sketchkit.graph) against dense NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import available_levels
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import sketchkit as sk
from sketchkit import _native
from sketchkit.graph import GDS_DENSITY, FastRP, ProjectedPropagation, propagate

sp = pytest.importorskip("scipy.sparse")

FEATURE_SEED_XOR = 0x9E3779B97F4A7C15


def random_graph(n, p=0.1, seed=0, weighted=True, directed=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    M = (rng.random((n, n)) < p) * (rng.random((n, n)) * 3 + 0.5 if weighted else 1.0)
    np.fill_diagonal(M, 0)
    if not directed:
        M = np.triu(M, 1)
        M = M + M.T
    return sp.csr_matrix(M.astype(dtype))


def normalize(E):
    nr = np.linalg.norm(E, axis=1, keepdims=True)
    return np.divide(E, nr, out=np.zeros_like(E), where=nr > 0)


def fastrp_reference(A, dim, weights, beta, s, seed, weighted=True, F=None, p=0):
    """Dense float64 FastRP, from the formula in the class docstring."""
    n = A.shape[0]
    D = A.toarray().astype(np.float64)
    if not weighted:
        D = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape).toarray()
    kr = dim - p
    R = np.zeros((n, dim))
    R[:, :kr] = sk.very_sparse(kr, n, density=GDS_DENSITY, seed=seed).to_dense().T
    if F is not None:
        Sp = sk.very_sparse(p, F.shape[1], density=GDS_DENSITY, seed=seed ^ FEATURE_SEED_XOR)
        R[:, kr:] = F.astype(np.float64) @ Sp.to_dense().T
    deg = np.diff(A.indptr)
    E = R * np.where(deg > 0, deg.astype(float) ** beta, 1.0)[:, None]
    out = s * normalize(R)
    for w in weights:
        E = normalize(D @ E)
        out = out + w * E
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "weights,beta,s",
    [
        ((0.0, 1.0, 1.0), 0.0, 0.0),
        ((1.0, 0.5), -0.5, 0.7),
        ((2.0,), 0.8, 1.0),
        # zero weights first, in the middle and last (the running sum is kept lazily)
        ((0.5, 0.0, 1.0, 0.0), 0.0, 0.3),
        ((0.0, 0.0, 2.0, 1.0), 0.5, 0.0),
        ((0.0, 0.0), 0.0, 0.0),
    ],
)
def test_matches_dense_reference(dtype, weights, beta, s):
    A = random_graph(60, seed=1, dtype=dtype)
    got = FastRP(
        48,
        iteration_weights=weights,
        normalization_strength=beta,
        node_self_influence=s,
        random_state=5,
    ).fit_transform(A)
    assert got.dtype == np.float32 and got.shape == (60, 48)
    ref = fastrp_reference(A, 48, weights, beta, s, seed=5)
    assert_allclose(got, ref, rtol=0, atol=2e-5 * max(1.0, sum(abs(w) for w in weights) + s))


def test_unweighted_directed_and_int64_indices():
    A = random_graph(50, seed=2, directed=True)
    A.indices = A.indices.astype(np.int64)
    A.indptr = A.indptr.astype(np.int64)
    got = FastRP(32, directed=True, weighted=False, random_state=3).fit_transform(A)
    ref = fastrp_reference(A, 32, (0.0, 1.0, 1.0), 0.0, 0.0, seed=3, weighted=False)
    assert_allclose(got, ref, atol=5e-5)


def test_features_projected_into_last_columns():
    A = random_graph(40, seed=4)
    F = np.random.default_rng(0).standard_normal((40, 7)).astype(np.float32)
    est = FastRP(32, property_ratio=0.25, node_self_influence=1.0, random_state=9)
    got = est.fit_transform(A, features=F)
    ref = fastrp_reference(A, 32, (0.0, 1.0, 1.0), 0.0, 1.0, seed=9, F=F, p=8)
    assert_allclose(got, ref, atol=5e-5)


def test_isolated_nodes_stay_zero_without_self_influence():
    A = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    E = FastRP(16, random_state=0).fit_transform(A)
    assert np.all(E[2] == 0)
    # nodes 0 and 1 read each other's vector: Y_0 = n(r_1) + n(r_0) = Y_1 (n: normalize)
    R = sk.very_sparse(16, 3, density=GDS_DENSITY, seed=0).to_dense().T
    want = normalize(R[:1]) + normalize(R[1:2])
    assert_allclose(E[0], want[0], atol=1e-6)
    assert_allclose(E[1], want[0], atol=1e-6)


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_same_bits_for_any_thread_count(threads):
    A = random_graph(300, p=0.05, seed=6)
    before = sk.get_num_threads()
    try:
        sk.set_num_threads(1)
        one = FastRP(64, node_self_influence=0.3, random_state=1).fit_transform(A)
        sk.set_num_threads(threads)
        many = FastRP(64, node_self_influence=0.3, random_state=1).fit_transform(A)
    finally:
        sk.set_num_threads(before)
    assert one.tobytes() == many.tobytes()


@pytest.mark.parametrize("features", [False, True])
def test_same_bits_for_every_simd_level(features, restore_simd):
    """The first step reads sign bits (no features) or float rows (features): both
    kernels give the same bits at every SIMD level, for any width (70: a partial
    column group)."""
    A = random_graph(300, p=0.05, seed=8)
    F = np.random.default_rng(2).standard_normal((300, 5)).astype(np.float32)
    est = FastRP(
        70,
        iteration_weights=(0.3, 1.0, 2.0),
        normalization_strength=-0.5,
        node_self_influence=0.4,
        property_ratio=0.2 if features else 0.0,
        random_state=3,
    )
    runs = []
    for level in available_levels():
        _native.force_simd_level(level)
        runs.append(est.fit_transform(A, features=F if features else None))
    assert all(r.tobytes() == runs[0].tobytes() for r in runs[1:])


def test_seed_changes_and_fixes_the_embedding():
    A = random_graph(30, seed=7)
    a = FastRP(16, random_state=1).fit_transform(A)
    b = FastRP(16, random_state=1).fit_transform(A)
    c = FastRP(16, random_state=2).fit_transform(A)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_adjacency_is_borrowed_not_modified():
    A = random_graph(30, seed=8)
    data, ind, ptr = A.data.copy(), A.indices.copy(), A.indptr.copy()
    FastRP(16, random_state=0).fit(A)
    assert np.array_equal(A.data, data) and np.array_equal(A.indices, ind)
    assert np.array_equal(A.indptr, ptr)


def test_non_canonical_undirected_input_is_accepted():
    A = random_graph(20, seed=9)
    coo = A.tocoo()
    # duplicates split in two halves, unsorted rows
    rows = np.concatenate([coo.row, coo.row])
    cols = np.concatenate([coo.col, coo.col])
    vals = np.concatenate([coo.data / 2, coo.data / 2])
    perm = np.random.default_rng(0).permutation(len(rows))
    B = sp.csr_matrix((vals[perm], (rows[perm], cols[perm])), shape=A.shape)
    B.has_canonical_format = False
    got = FastRP(16, random_state=0).fit_transform(B)
    assert_allclose(got, FastRP(16, random_state=0).fit_transform(A), atol=1e-6)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (1, 0)])
def test_rejects_non_square(shape):
    with pytest.raises(
        ValueError, match=rf"adjacency: must be square, got shape \({shape[0]}, {shape[1]}\)"
    ):
        FastRP(8).fit(sp.csr_matrix(np.ones(shape)))


def test_rejects_dense_and_wrong_dtype():
    with pytest.raises(TypeError, match="adjacency must be a SciPy sparse"):
        FastRP(8).fit(np.ones((3, 3)))
    with pytest.raises(TypeError, match="adjacency must hold"):
        FastRP(8).fit(sp.csr_matrix(np.ones((3, 3), dtype=np.complex64)))


def test_rejects_negative_and_nonfinite_weights():
    A = sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]]))
    with pytest.raises(ValueError, match="adjacency.*negative"):
        FastRP(8).fit(A)
    B = sp.csr_matrix(np.array([[0, np.nan], [np.nan, 0]]))
    with pytest.raises(ValueError, match="adjacency contains NaN"):
        FastRP(8).fit(B)


def test_rejects_asymmetric_when_undirected():
    A = sp.csr_matrix(np.array([[0, 1.0], [0, 0]]))
    with pytest.raises(ValueError, match="adjacency.*not symmetric.*directed=True"):
        FastRP(8).fit(A)
    W = sp.csr_matrix(np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(ValueError, match="not symmetric"):
        FastRP(8).fit(W)
    FastRP(8, directed=True).fit(A)  # accepted as a directed graph


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"embedding_dim": 2.5}, "embedding_dim"),
        ({"iteration_weights": []}, "iteration_weights"),
        ({"iteration_weights": [1.0, np.inf]}, "iteration_weights"),
        ({"normalization_strength": np.nan}, "normalization_strength"),
        ({"node_self_influence": np.inf}, "node_self_influence"),
        ({"density": 0.0}, "density"),
        ({"density": 1.5}, "density"),
        ({"property_ratio": 1.5}, "property_ratio"),
        ({"property_ratio": 0.5}, "property_ratio"),  # positive without features
    ],
)
def test_bad_parameters_name_the_argument(kwargs, arg):
    A = random_graph(10, seed=0)
    params = {"embedding_dim": 8, **kwargs}
    dim = params.pop("embedding_dim")
    with pytest.raises(ValueError, match=arg):
        FastRP(dim, **params).fit(A)


def test_bad_features():
    A = random_graph(10, seed=0)
    with pytest.raises(ValueError, match="property_ratio"):
        FastRP(8).fit(A, features=np.ones((10, 3)))
    with pytest.raises(ValueError, match="features"):
        FastRP(8, property_ratio=0.5).fit(A, features=np.ones((9, 3)))
    with pytest.raises(ValueError, match="property_ratio"):
        FastRP(8, property_ratio=1.0).fit(A, features=np.ones((10, 3)))


def test_sklearn_conventions():
    base = pytest.importorskip("sklearn.base")
    est = FastRP(16, iteration_weights=(1.0,), random_state=0)
    params = est.get_params()
    assert params["embedding_dim"] == 16 and params["iteration_weights"] == (1.0,)
    clone = base.clone(est)
    A = random_graph(20, seed=3)
    assert clone.fit_transform(A).tobytes() == est.fit_transform(A).tobytes()
    assert est.n_features_in_ == 20 and est.embedding_.shape == (20, 16)


# -- propagation ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 25),
    m=st.integers(1, 25),
    k=st.integers(1, 70),
    scale=st.sampled_from(["sum", "mean", "l2"]),
    seed=st.integers(0, 2**16),
)
def test_propagate_matches_dense(n, m, k, scale, seed):
    rng = np.random.default_rng(seed)
    M = (rng.random((n, m)) < 0.3) * rng.random((n, m))
    A = sp.csr_matrix(M)
    X = rng.standard_normal((m, k)).astype(np.float32)
    got = propagate(A, X, scale=scale)
    ref = A.toarray() @ X.astype(np.float64)
    if scale == "mean":
        s = np.asarray(A.sum(axis=1)).ravel()
        ref = np.divide(ref, s[:, None], out=np.zeros_like(ref), where=s[:, None] > 0)
    elif scale == "l2":
        ref = normalize(ref)
    assert_allclose(got, ref, atol=1e-5 * (1 + np.abs(ref).max()))


def test_propagate_bad_input():
    A = random_graph(5)
    with pytest.raises(ValueError, match="scale"):
        propagate(A, np.ones((5, 2)), scale="max")
    with pytest.raises(ValueError, match="X has 4 rows"):
        propagate(A, np.ones((4, 2)))
    with pytest.raises(TypeError, match="adjacency"):
        propagate(np.eye(5), np.ones((5, 2)))


def test_projected_propagation_shapes_and_reference():
    rng = np.random.default_rng(0)
    paper_author = sp.csr_matrix((rng.random((12, 8)) < 0.3).astype(np.float32))
    rels = {("author", "writes", "paper"): paper_author, ("paper", "by", "author"): paper_author.T}
    feats = {"paper": rng.standard_normal((12, 5)), "author": rng.standard_normal((8, 3))}
    out = ProjectedPropagation(n_components=6, n_hops=2, random_state=1).fit_transform(rels, feats)
    assert out["paper"].shape == (12, 18) and out["author"].shape == (8, 18)
    again = ProjectedPropagation(n_components=6, n_hops=2, random_state=1).fit_transform(
        rels, feats
    )
    assert all(out[t].tobytes() == again[t].tobytes() for t in out)
    # hop 1 of "paper": squash([H0_paper | mean-aggregated H0_author])
    h0a, h0p = out["author"][:, :6], out["paper"][:, :6]
    msg = propagate(paper_author, h0a, scale="mean")
    assert_allclose(
        msg,
        paper_author.toarray()
        @ h0a
        / np.maximum(paper_author.toarray().sum(1, keepdims=True), 1e-30)
        * (paper_author.toarray().sum(1, keepdims=True) > 0),
        atol=1e-5,
    )
    assert np.isfinite(out["paper"]).all() and not np.allclose(out["paper"][:, 6:12], h0p)


def test_projected_propagation_bad_input():
    A = sp.csr_matrix(np.ones((3, 2)))
    pp = ProjectedPropagation(n_components=4)
    with pytest.raises(ValueError, match="features"):
        pp.fit_transform({("a", "r", "b"): A}, {"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="relations"):
        pp.fit_transform({("a", "r", "b"): A}, {"a": np.ones((3, 2)), "b": np.ones((3, 2))})
    with pytest.raises(ValueError, match="n_components"):
        ProjectedPropagation(n_components=0).fit_transform(
            {("a", "r", "b"): A}, {"a": np.ones((2, 2)), "b": np.ones((3, 2))}
        )
