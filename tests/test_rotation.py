"""Randomized Hadamard rotations: orthogonality, inverse round trips, norm
preservation, the structure of one round, padding, determinism, pickling and errors."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from conftest import DTYPES, available_levels, data, tol
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import hadamard

import sketchkit as sk
from sketchkit import _native
from sketchkit._validation import _physical_memory


# --------------------------------------------------------------------------- orthogonality
@pytest.mark.parametrize("rounds", [1, 2, 3, 5])
@pytest.mark.parametrize("d", [1, 2, 64, 100, 512])
def test_dense_matrix_is_orthogonal(d, rounds):
    Q = sk.hadamard_rotation(d, rounds, seed=3)
    M = Q.to_dense()
    dim = Q.dim
    assert M.shape == Q.shape == (dim, dim)
    assert_allclose(M.T @ M, np.eye(dim), atol=1e-12)
    assert_allclose(M @ M.T, np.eye(dim), atol=1e-12)
    assert_allclose(Q.T.to_dense(), M.T)
    M32 = Q.to_dense(np.float32)
    assert M32.dtype == np.float32
    assert_allclose(M32, M, rtol=1e-6, atol=1e-7)


def test_products_apply_the_dense_matrix():
    d = 100
    Q = sk.hadamard_rotation(d, seed=5)
    M = Q.to_dense()
    dim = Q.dim
    for dtype in DTYPES:
        t = tol(dtype)
        v = data(d, dtype, 1)
        vp = data(dim, dtype, 2)
        A = data((d, 6), dtype, 3)
        Ap = data((dim, 6), dtype, 4)
        X = data((7, d), dtype, 5)
        Y = data((7, dim), dtype, 6)
        f64 = np.float64
        cases = [
            (Q @ v, M[:, :d] @ v.astype(f64)),  # zero-padded
            (Q @ vp, M @ vp.astype(f64)),
            (Q @ A, M[:, :d] @ A.astype(f64)),
            (Q @ Ap, M @ Ap.astype(f64)),
            (X @ Q.T, X.astype(f64) @ M[:, :d].T),
            (Y @ Q.T, Y.astype(f64) @ M.T),
            (v @ Q.T, M[:, :d] @ v.astype(f64)),
            (Q.apply(X), X.astype(f64) @ M[:, :d].T),
            (Q.T @ vp, M.T @ vp.astype(f64)),
            (Q.T @ Ap, M.T @ Ap.astype(f64)),
            (Y @ Q, Y.astype(f64) @ M),
            (vp @ Q, vp.astype(f64) @ M),
            (Q.inverse() @ Ap, M.T @ Ap.astype(f64)),
        ]
        for got, want in cases:
            assert isinstance(got, np.ndarray) and got.dtype == dtype
            assert got.shape == want.shape
            assert_allclose(got, want, rtol=t, atol=t * 10)
    # The identity's columns are the columns of Q.
    assert_allclose(Q @ np.eye(dim), M, atol=1e-15)
    assert_allclose(np.eye(dim) @ Q.T, M.T, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 3000),
    rounds=st.integers(1, 6),
    seed=st.integers(0, 2**64 - 1),
    n=st.integers(1, 5),
    dtype=st.sampled_from(DTYPES),
)
def test_round_trip_and_norms(d, rounds, seed, n, dtype):
    Q = sk.hadamard_rotation(d, rounds, seed=seed)
    t = tol(dtype)
    X = data((n, d), dtype, seed % 997)
    Y = X @ Q.T
    assert Y.shape == (n, Q.dim) and Y.dtype == dtype
    norms = np.linalg.norm(X.astype(np.float64), axis=1)
    assert_allclose(np.linalg.norm(Y.astype(np.float64), axis=1), norms, rtol=t * 10)
    back = Y @ Q
    assert_allclose(back[:, :d], X, rtol=t * 10, atol=t * 10 * norms.max())
    assert np.abs(back[:, d:]).max(initial=0.0) <= t * 10 * norms.max()
    # Columns: Q.T @ (Q @ x) = x.
    col = Q.T @ (Q @ X[0])
    assert_allclose(col[:d], X[0], rtol=t * 10, atol=t * 10 * norms.max())
    # Inner products are preserved.
    if n >= 2:
        assert_allclose(
            float(Y[0].astype(np.float64) @ Y[1]),
            float(X[0].astype(np.float64) @ X[1]),
            rtol=1e-3,
            atol=t * 100 * norms.max() ** 2,
        )


def test_one_round_is_hadamard_times_signs():
    """Q = H D_1: every entry is ±1/sqrt(d'), column j is column j of H times a sign."""
    for d in (1, 8, 100, 256):
        Q = sk.hadamard_rotation(d, 1, seed=9)
        M = Q.to_dense()
        dim = Q.dim
        assert len(np.unique(np.abs(M))) == 1
        assert_allclose(np.abs(M), np.full((dim, dim), 1 / math.sqrt(dim)), rtol=1e-15)
        Hn = hadamard(dim) / math.sqrt(dim)
        signs = np.sign(M[0] / Hn[0])
        assert_allclose(M, Hn * signs, atol=1e-15)
        if dim >= 8:
            assert len(set(signs)) == 2  # both signs occur


def test_more_rounds_mix_more():
    """Rounds compose: the entries of Q are ±1/sqrt(d') after one round only; after
    several the matrix differs and its largest entry is smaller than 1."""
    d = 256
    mats = {r: sk.hadamard_rotation(d, r, seed=1).to_dense() for r in (1, 2, 3)}
    assert not np.allclose(mats[1], mats[2])
    assert not np.allclose(mats[2], mats[3])
    assert len(np.unique(np.abs(mats[1]))) == 1
    assert len(np.unique(np.round(np.abs(mats[3]), 12))) > 1
    # A spike is spread evenly by one round.
    e = np.zeros(d)
    e[17] = 1.0
    y = sk.hadamard_rotation(d, 1, seed=1) @ e
    assert_allclose(np.abs(y), np.full(d, 1 / math.sqrt(d)))


# --------------------------------------------------------------------------- determinism
def test_determinism_threads_levels_and_seeds(restore_threads):
    Q = sk.hadamard_rotation(3000, 3, seed=2)
    X = data((300, 3000), np.float32, 1)
    Xd = X.astype(np.float64)

    def run():
        Y = X @ Q.T
        return Y, Y @ Q, Xd @ Q.T, Q @ Xd[:5].T

    sk.set_num_threads(1)
    reference = run()
    for threads in (2, 4):
        sk.set_num_threads(threads)
        for a, b in zip(reference, run(), strict=True):
            assert_array_equal(a, b)
    try:
        for level in available_levels():
            _native.force_simd_level(level)
            for a, b in zip(reference, run(), strict=True):
                assert_array_equal(a, b, err_msg=level)
    finally:
        _native.force_simd_level(None)
    parts = [X[i : i + 37] @ Q.T for i in range(0, 300, 37)]
    assert_array_equal(np.vstack(parts), reference[0])
    assert_array_equal(np.asfortranarray(X) @ Q.T, reference[0])
    assert_array_equal(X[0] @ Q.T, reference[0][0])
    assert_array_equal(Q @ Xd[0], reference[2][0])
    same = sk.hadamard_rotation(3000, 3, seed=2)
    assert same == Q and hash(same) == hash(Q)
    assert_array_equal(X @ same.T, reference[0])
    other = sk.hadamard_rotation(3000, 3, seed=3)
    assert other != Q
    assert not np.allclose(X[:3] @ other.T, reference[0][:3])


# --------------------------------------------------------------------------- API
def test_attributes_repr_pickle():
    Q = sk.hadamard_rotation(1000, rounds=4, seed=2**64 - 1)
    assert isinstance(Q, sk.HadamardRotation)
    assert (Q.d, Q.dim, Q.rounds, Q.seed) == (1000, 1024, 4, 2**64 - 1)
    assert Q.shape == (1024, 1024)
    assert repr(Q) == f"HadamardRotation(d=1000, rounds=4, seed={2**64 - 1})"
    assert repr(Q.T) == repr(Q) + ".T"
    assert Q.T.T is Q and Q.inverse().inverse() is Q
    assert Q.T == Q.inverse() and hash(Q.T) == hash(Q.inverse())
    assert isinstance(Q.T, sk.InverseHadamardRotation) and Q.T.shape == Q.shape
    assert Q != sk.hadamard_rotation(1000, rounds=3, seed=2**64 - 1)
    assert Q != sk.hadamard_rotation(1001, rounds=4, seed=2**64 - 1)
    assert Q != "Q"
    blob = pickle.dumps(Q)
    assert len(blob) < 300
    Q2 = pickle.loads(blob)
    assert Q2 == Q and (Q2.d, Q2.rounds, Q2.seed) == (1000, 4, 2**64 - 1)
    X = data((3, 1000), seed=4)
    assert_array_equal(X @ Q2.T, X @ Q.T)
    assert_array_equal(pickle.loads(pickle.dumps(Q.T)) @ (X @ Q.T).T, Q.T @ (X @ Q.T).T)
    assert sk.hadamard_rotation(5) == sk.HadamardRotation(5, 3, seed=0)
    assert sk.hadamard_rotation(np.int64(16), np.uint8(2)).rounds == 2


def test_integer_input_and_layouts():
    Q = sk.hadamard_rotation(16, seed=1)
    Xi = (np.arange(48).reshape(3, 16) % 5).astype(np.int32)
    out = Xi @ Q.T
    assert out.dtype == np.float64
    assert_array_equal(out, Xi.astype(np.float64) @ Q.T)
    X = data((6, 32), seed=2)[:, ::2]  # strided
    assert_array_equal(X @ Q.T, np.ascontiguousarray(X) @ Q.T)
    assert (data((2, 16), np.float16) @ Q.T).dtype == np.float32


def test_bad_parameters():
    for d in (0, -1):
        with pytest.raises(ValueError, match="^d: must be"):
            sk.hadamard_rotation(d)
    with pytest.raises(OverflowError, match=r"d: d=1073741825 exceeds 2\^30"):
        sk.hadamard_rotation(2**30 + 1)
    for rounds in (0, -2):
        with pytest.raises(ValueError, match="^rounds: must be"):
            sk.hadamard_rotation(8, rounds)
    for bad in (2.0, "3", None, True):
        with pytest.raises(TypeError, match="rounds must be an integer"):
            sk.hadamard_rotation(8, bad)
        with pytest.raises(TypeError, match="d must be an integer"):
            sk.hadamard_rotation(bad)
    with pytest.raises(ValueError, match="seed must be an integer"):
        sk.hadamard_rotation(8, seed=2**64)
    with pytest.raises(TypeError, match="seed must be an integer"):
        sk.hadamard_rotation(8, seed=1.5)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        sk.hadamard_rotation(8).to_dense(np.int32)
    memory = _physical_memory()
    if memory is not None:
        # The smallest order whose dense matrix (d'^2 float64 values) exceeds memory.
        d = 2 ** (math.ceil(math.log2(math.sqrt(memory / 8))) + 1)
        if d <= 2**30:
            with pytest.raises(MemoryError, match="to_dense"):
                sk.hadamard_rotation(d).to_dense()


def test_bad_operands():
    Q = sk.hadamard_rotation(100, seed=0)
    with pytest.raises(ValueError, match=r"shape mismatch in Q @ A.*100 or 128"):
        Q @ np.ones(101)  # noqa: B018
    with pytest.raises(ValueError, match=r"shape mismatch in X @ Q.T.*100 or 128"):
        np.ones((3, 99)) @ Q.T  # noqa: B018
    with pytest.raises(ValueError, match=r"shape mismatch in Y @ Q.*expected 128"):
        np.ones((3, 100)) @ Q  # noqa: B018 - the inverse needs rotated (padded) rows
    with pytest.raises(ValueError, match=r"shape mismatch in Q.T @ Y.*expected 128"):
        Q.T @ np.ones(100)  # noqa: B018
    cols = np.ones((128, 2))
    cols[3, 1] = np.nan
    for name, expr in (
        ("A", lambda: Q @ cols),
        ("X", lambda: cols.T @ Q.T),
        ("Y", lambda: cols.T @ Q),
        ("Y", lambda: Q.T @ cols),
    ):
        with pytest.raises(ValueError, match=f"Input {name} contains NaN or infinity"):
            expr()
    with pytest.raises(ValueError, match="Input A contains NaN"):
        Q @ np.full(100, np.inf)  # noqa: B018
    with pytest.raises(TypeError, match="unsupported dtype"):
        Q @ np.ones(128, complex)  # noqa: B018
    with pytest.raises(TypeError, match="unsupported dtype"):
        np.ones((2, 128), object) @ Q  # noqa: B018
    with pytest.raises(ValueError, match="empty"):
        np.ones((0, 128)) @ Q.T  # noqa: B018
    with pytest.raises(ValueError, match="1-D or 2-D"):
        Q @ np.ones((128, 2, 2))  # noqa: B018
    with pytest.raises(TypeError):
        Q @ Q  # noqa: B018
    with pytest.raises(TypeError):
        Q.T @ Q  # noqa: B018
