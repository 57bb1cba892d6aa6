"""The SRHT operator: products against the materialized matrix, the exact structure
S = sqrt(d'/k) P H D, unbiasedness, Johnson–Lindenstrauss distortion, determinism,
dtypes, sparse input, padding and parameter errors."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, assert_close, available_levels, data, pairwise_distortion
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import hadamard

import sketchkit as sk
from sketchkit import _native


# --------------------------------------------------------------------------- products
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "k, d", [(24, 256), (24, 300), (1, 1), (2, 2), (5, 7), (64, 64), (7, 1025)]
)
def test_products_match_materialized_operator(k, d, dtype):
    n, m = 9, 7
    S = sk.srht(k, d, seed=11)
    dense = S.to_dense(np.float64)
    assert dense.shape == (k, d)
    A = data((d, m), dtype, seed=1)
    X = data((n, d), dtype, seed=2)
    Y = data((k, m), dtype, seed=3)
    Z = data((n, k), dtype, seed=4)
    cases = [
        (S @ A, dense @ A.astype(np.float64)),
        (X @ S.T, X.astype(np.float64) @ dense.T),
        (S.T @ Y, dense.T @ Y.astype(np.float64)),
        (Z @ S, Z.astype(np.float64) @ dense),
        (S.project(np.asfortranarray(X)), X.astype(np.float64) @ dense.T),
        (S.project(X[:, ::-1][:, ::-1]), X.astype(np.float64) @ dense.T),
        (S @ A[:, 0], dense @ A[:, 0].astype(np.float64)),
        (X[0] @ S.T, dense @ X[0].astype(np.float64)),
        (S.T @ Y[:, 0], dense.T @ Y[:, 0].astype(np.float64)),
        (Z[0] @ S, Z[0].astype(np.float64) @ dense),
    ]
    for got, want in cases:
        assert isinstance(got, np.ndarray)
        assert got.dtype == dtype
        assert_close(got, want, dtype)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 40),
    d=st.integers(1, 600),
    n=st.integers(1, 12),
    seed=st.integers(0, 2**64 - 1),
    dtype=st.sampled_from(DTYPES),
)
def test_random_shapes_match_the_materialized_operator(k, d, n, seed, dtype):
    k = min(k, 1 << (d - 1).bit_length())
    S = sk.srht(k, d, seed=seed)
    dense = S.to_dense()
    X = data((n, d), dtype, seed=seed % 1000)
    assert_close(X @ S.T, X.astype(np.float64) @ dense.T, dtype)
    assert_close(S @ X.T, dense @ X.T.astype(np.float64), dtype)
    Z = data((n, k), dtype, seed=1)
    assert_close(Z @ S, Z.astype(np.float64) @ dense, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_equals_dense_input(fmt, dtype):
    k, d, n = 20, 300, 40
    S = sk.srht(k, d, seed=5)
    X = data((n, d), dtype, seed=6, zeros=0.9)
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    out = S.project(Xs)
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    assert_close(out, S.project(X), dtype)
    assert_close(X @ S.T, Xs @ S.T, dtype)
    A = X.T
    As = sp.csr_matrix(A) if fmt == "csr" else sp.csc_matrix(A)
    assert_close(S @ As, S @ A, dtype)
    sparse_out = S.project(Xs, dense_output=False)
    assert sp.issparse(sparse_out)
    assert_close(sparse_out.toarray(), S.project(X), dtype)


# --------------------------------------------------------------------------- structure
@pytest.mark.parametrize("k, d", [(16, 64), (37, 256), (128, 128), (3, 100), (33, 1000), (1, 1)])
def test_entries_and_hadamard_structure(k, d):
    """S = sqrt(d'/k) P H D: entries ±1/sqrt(k); the rows are distinct Walsh rows times
    the same signs, so that k * S[i] * S[0] = H[p_i] * H[p_0] = H[p_i XOR p_0] (Walsh
    functions multiply by XOR of their indices) must be k distinct rows of H."""
    S = sk.srht(k, d, seed=2)
    dense = S.to_dense()
    assert_array_equal(np.abs(dense), np.full((k, d), 1 / math.sqrt(k)))
    assert S.scale == pytest.approx(1 / math.sqrt(k))
    assert_array_equal(S.to_dense(np.float32), dense.astype(np.float32))
    padded = 1 << (d - 1).bit_length()
    assert S.padded_dim == padded
    H = hadamard(padded)[:, :d]
    products = np.rint(k * dense * dense[0]).astype(np.int64)
    rows_of_h = {row.tobytes(): i for i, row in enumerate(H)}
    found = [rows_of_h.get(row.tobytes()) for row in products]
    assert None not in found
    assert len(set(found)) == k  # sampled without replacement
    assert found[0] == 0


@pytest.mark.parametrize("k, d", [(16, 64), (100, 1024), (1, 8), (8, 8)])
def test_rows_are_orthogonal_for_power_of_two_d(k, d):
    """For d = d', P H D has orthonormal rows, so S S^T = (d/k) I exactly (up to
    rounding); with k = d, S is orthogonal."""
    S = sk.srht(k, d, seed=7)
    dense = S.to_dense()
    assert_allclose(dense @ dense.T, (d / k) * np.eye(k), atol=1e-12)
    if k == d:
        assert_allclose(dense.T @ dense, np.eye(d), atol=1e-12)
    # Products agree: S (S^T y) = (d/k) y.
    y = data(k, seed=1)
    assert_allclose(S @ (S.T @ y), (d / k) * y, rtol=1e-12, atol=1e-12)


def test_padding_is_zero_padding():
    """The operator on d < d' columns is the d'-column operator restricted to its first
    d columns (signs and sampled rows do not depend on d beyond d'), so ``X @ S.T``
    equals the product with X zero-padded to d'."""
    for d, padded in [(100, 128), (1000, 1024), (3, 4), (513, 1024)]:
        S = sk.srht(9 if padded >= 9 else 2, d, seed=4)
        P = sk.srht(S.shape[0], padded, seed=4)
        assert_array_equal(S.to_dense(), P.to_dense()[:, :d])
        X = data((6, d), seed=d)
        Xpad = np.zeros((6, padded))
        Xpad[:, :d] = X
        assert_allclose(X @ S.T, Xpad @ P.T, rtol=1e-12, atol=1e-12)


def test_seed_changes_rows_and_signs():
    a, b = sk.srht(16, 256, seed=1).to_dense(), sk.srht(16, 256, seed=2).to_dense()
    assert not np.array_equal(a, b)
    assert_array_equal(sk.srht(16, 256, seed=1).to_dense(), a)


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("d", [64, 50])
def test_unbiased_squared_norm(d):
    """E ||S x||^2 = ||x||^2: the mean over 400 seeds is within 5 standard errors."""
    k, n_seeds = 16, 400
    rng = np.random.default_rng(123)
    x = rng.standard_normal(d) * rng.exponential(size=d)
    norm2 = float(x @ x)
    ratios = np.array(
        [float(np.sum((sk.srht(k, d, seed=s) @ x) ** 2)) / norm2 for s in range(n_seeds)]
    )
    stderr = ratios.std(ddof=1) / math.sqrt(n_seeds)
    assert abs(ratios.mean() - 1.0) < 5 * stderr
    assert ratios.std() > 0


def test_full_sketch_preserves_norms_exactly():
    """k = d' keeps every row of the orthogonal matrix H D: ||S x|| = ||x||."""
    X = data((20, 256), seed=3)
    for seed in range(3):
        Y = X @ sk.srht(256, 256, seed=seed).T
        assert_allclose(np.linalg.norm(Y, axis=1), np.linalg.norm(X, axis=1), rtol=1e-12)


def test_johnson_lindenstrauss_distortion():
    """The bounds of the dense families' JL test (tests/test_operators.py) hold for the
    SRHT at the same sizes: at k = jl_min_dim(n, eps) at least 99% of the pairs are
    within eps; at k = jl_min_dim(n^2, eps) all of them are."""
    n, d, eps = 50, 2000, 0.5
    k_lemma = int(sk.johnson_lindenstrauss_min_dim(n, eps=eps))
    k_whp = int(sk.johnson_lindenstrauss_min_dim(n**2, eps=eps))
    X = data((n, d), seed=10)
    X[:, :20] *= 30  # a few heavy coordinates: the random signs and H spread them out
    for seed in (0, 1, 2):
        err = pairwise_distortion(X, sk.srht(k_lemma, d, seed=seed).project(X))
        assert np.mean(err < eps) >= 0.99, seed
        assert np.median(err) < 0.1
        err = pairwise_distortion(X, sk.srht(k_whp, d, seed=seed).project(X))
        assert err.max() < eps, (seed, err.max())
        assert np.median(err) < 0.07


# --------------------------------------------------------------------------- determinism
def test_bit_identical_across_threads_chunks_layouts_and_levels(restore_threads):
    k, d, n = 40, 700, 300
    S = sk.srht(k, d, seed=9)
    X = data((n, d), np.float32, seed=3)
    Xd = X.astype(np.float64)
    A = data((d, 50), np.float64, seed=4)
    Y = data((k, 30), np.float64, seed=5)

    def run():
        return (S.project(X), S.project(Xd), S @ A, S.T @ Y, Y.T @ S, S.to_dense(np.float32))

    sk.set_num_threads(1)
    reference = run()
    for threads in (2, 4):
        sk.set_num_threads(threads)
        for a, b in zip(reference, run(), strict=True):
            assert_array_equal(a, b, err_msg=f"{threads} threads")
    try:
        for level in available_levels():
            _native.force_simd_level(level)
            for a, b in zip(reference, run(), strict=True):
                assert_array_equal(a, b, err_msg=level)
    finally:
        _native.force_simd_level(None)
    whole = reference[0]
    for chunk in (1, 7, 64, 299):
        parts = [S.project(X[i : i + chunk]) for i in range(0, n, chunk)]
        assert_array_equal(np.vstack(parts), whole)
    assert_array_equal(S.project(np.asfortranarray(X)), whole)
    assert_array_equal(S.project(X[::-1])[::-1], whole)
    wide = np.zeros((n, 2 * d), np.float32)
    wide[:, ::2] = X
    assert_array_equal(S.project(wide[:, ::2]), whole)  # strided columns


# --------------------------------------------------------------------------- dtypes
def test_float32_kept_and_integers_become_float64():
    S = sk.srht(8, 50, seed=1)
    X32 = data((4, 50), np.float32)
    assert (X32 @ S.T).dtype == np.float32
    assert (S @ X32.T).dtype == np.float32
    assert (S.T @ (S @ X32.T)).dtype == np.float32
    Xi = (np.arange(200).reshape(4, 50) % 7).astype(np.int16)
    out = Xi @ S.T
    assert out.dtype == np.float64
    assert_array_equal(out, Xi.astype(np.float64) @ S.T)
    assert_allclose(X32 @ S.T, X32.astype(np.float64) @ S.T, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- API
def test_attributes_repr_pickle_and_equality():
    S = sk.srht(16, 100, seed=2**63 + 1)
    assert S.family == "srht"
    assert S.shape == (16, 100)
    assert S.T.shape == (100, 16)
    assert S.padded_dim == 128
    assert S.nnz is None and S.density is None
    assert not S.is_sparse
    assert repr(S) == f"SketchOperator('srht', k=16, d=100, seed={2**63 + 1})"
    assert S == sk.SketchOperator("srht", 16, 100, seed=2**63 + 1)
    assert S != sk.srht(16, 100, seed=0) and S != sk.rademacher(16, 100, seed=2**63 + 1)
    assert hash(S) == hash(sk.srht(16, 100, seed=2**63 + 1))
    blob = pickle.dumps(S)
    assert len(blob) < 400
    S2 = pickle.loads(blob)
    assert S2 == S
    assert_array_equal(S2.to_dense(), S.to_dense())
    X = data((5, 100), seed=1)
    assert_array_equal(S2.project(X), S.project(X))
    M = S.to_scipy()
    assert isinstance(M, sp.csc_matrix) and M.nnz == 16 * 100
    assert_array_equal(M.toarray(), S.to_dense())
    assert sk.gaussian(4, 100).padded_dim == 100


def test_parameter_errors():
    # k may exceed d and d's padding: d' is the next power of two >= max(d, k).
    for k, d in [(129, 100), (2, 1), (65, 64), (3, 1), (128, 100)]:
        S = sk.srht(k, d)
        assert S.shape == (k, d)
        assert S.padded_dim == 1 << (max(d, k) - 1).bit_length()
        M = S.to_dense()
        assert_allclose(np.abs(M), 1 / np.sqrt(k))
        # Rows are distinct Walsh rows (restricted to d columns) times signs: for d = 1
        # the k entries of the single column are all +-1/sqrt(k), and the projection
        # is the matrix.
        x = np.arange(1, d + 1, dtype=np.float64)
        assert_allclose(S.project(x[np.newaxis])[0], M @ x, rtol=1e-12)
    with pytest.raises(OverflowError, match=r"^k: .*2\^30, got 1073741825"):
        sk.srht(2**30 + 1, 4)
    with pytest.raises(ValueError, match="^k: must be at least 1"):
        sk.srht(0, 10)
    with pytest.raises(ValueError, match="^d: must be at least 1"):
        sk.srht(1, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        sk.srht(2.0, 10)
    with pytest.raises(OverflowError, match=r"^d: .*2\^30, got 1073741825"):
        sk.srht(2, 2**30 + 1)
    assert sk.srht(2, 2**30).padded_dim == 2**30
    with pytest.raises(ValueError, match="seed must be an integer"):
        sk.srht(2, 4, seed=-1)
    with pytest.raises(ValueError, match="^nnz: applies to the 'sparse_sign' family only"):
        sk.SketchOperator("srht", 2, 4, nnz=2)
    with pytest.raises(ValueError, match="^density: applies to the 'very_sparse' family only"):
        sk.SketchOperator("srht", 2, 4, density=0.5)
    with pytest.raises(MemoryError, match="to_dense"):
        sk.srht(2**20, 2**30).to_dense()
    with pytest.raises(MemoryError, match="projecting sparse input"):
        sk.srht(2**20, 2**30).project(sp.csr_matrix((1, 2**30)))


def test_input_errors():
    S = sk.srht(8, 100, seed=0)
    X = np.ones((3, 100))
    X[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        S.project(X)
    with pytest.raises(ValueError, match="NaN or infinity"):
        S @ X.T  # noqa: B018
    with pytest.raises(ValueError, match=r"shape mismatch in X @ S.T"):
        S.project(np.ones((3, 128)))  # the padded width is not accepted: d is 100
    with pytest.raises(ValueError, match="shape mismatch"):
        S @ np.ones(99)  # noqa: B018
    with pytest.raises(TypeError, match="unsupported dtype"):
        S.project(np.ones((2, 100), complex))
    with pytest.raises(ValueError, match="empty"):
        S.project(np.ones((0, 100)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        S.project(np.ones((2, 2, 100)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        S.project(sp.csr_matrix(X))
