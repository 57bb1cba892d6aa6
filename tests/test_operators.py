"""Properties of the sketch operators: products, materialization, distributions,
unbiasedness, Johnson-Lindenstrauss distortion, determinism and pickling."""

from __future__ import annotations

import math
import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import DTYPES, assert_close, data, pairwise_distortion
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import sketchkit as sk
from sketchkit import _native

FAMILIES = ["gaussian", "rademacher", "very_sparse", "sparse_sign", "countsketch"]
SPARSE_FAMILIES = ["very_sparse", "sparse_sign", "countsketch"]


def make(family: str, k: int, d: int, seed: int = 0, **kwargs) -> sk.SketchOperator:
    return getattr(sk, family)(k, d, seed=seed, **kwargs)


# --------------------------------------------------------------------------- products
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_products_match_materialized_operator(family, dtype):
    k, d, n, m = 24, 300, 9, 7
    S = make(family, k, d, seed=11)
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
        (S.sketch(A), dense @ A.astype(np.float64)),
        (S.project(X), X.astype(np.float64) @ dense.T),
    ]
    for got, want in cases:
        assert isinstance(got, np.ndarray)
        assert got.dtype == dtype
        assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_one_dimensional_inputs_give_one_dimensional_outputs(family, dtype):
    k, d = 16, 120
    S = make(family, k, d, seed=5)
    dense = S.to_dense(np.float64)
    x = data(d, dtype, seed=1)
    y = data(k, dtype, seed=2)

    sx = S @ x
    assert sx.shape == (k,) and sx.dtype == dtype
    assert_close(sx, dense @ x.astype(np.float64), dtype)
    # S @ x and x @ S.T are the same computation.
    assert_array_equal(x @ S.T, sx)
    assert_array_equal(S.project(x), sx)

    sty = S.T @ y
    assert sty.shape == (d,) and sty.dtype == dtype
    assert_close(sty, dense.T @ y.astype(np.float64), dtype)
    assert_array_equal(y @ S, sty)

    # A single row as a 2-D array gives the same numbers.
    assert_array_equal(S.project(x[np.newaxis, :])[0], sx)


@pytest.mark.parametrize("family", FAMILIES)
def test_to_scipy_equals_to_dense(family):
    S = make(family, 12, 50, seed=3)
    for dtype in DTYPES:
        M = S.to_scipy(dtype)
        assert isinstance(M, sp.csc_matrix)
        assert M.shape == (12, 50)
        assert M.dtype == dtype
        assert_array_equal(M.toarray(), S.to_dense(dtype))
        assert S.to_dense(dtype).dtype == dtype
    # float32 entries are the float64 entries rounded.
    assert_allclose(S.to_dense(np.float32), S.to_dense(np.float64), rtol=1e-6)
    if family in SPARSE_FAMILIES:
        dense = S.to_dense()
        assert S.to_scipy().nnz == np.count_nonzero(dense)


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_packed_lists_match_dense(dtype, restore_threads):
    """The CSR kernel's packed path (columns with at most two entries: empty slots go
    to rotating dummy accumulators, slots prefetched across rows) gives the dense
    kernel's bits, dense and sparse output, for any thread count."""
    k, d, n = 256, 20000, 600
    S = sk.very_sparse(k, d, seed=11)
    assert S.to_scipy().nnz <= 2 * d  # the packed regime
    X = sp.random(n, d, density=0.01, format="csr", dtype=dtype, random_state=12)
    X.data -= dtype(0.5)
    ref = S.project(X.toarray())
    for threads in (1, 2, 3):
        sk.set_num_threads(threads)
        assert_array_equal(S.project(X), ref)
        Y = S.project(X, dense_output=False)
        assert_array_equal(Y.toarray(), ref)
        assert Y.nnz == np.count_nonzero(ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_dense_csr_csc_paths_agree(family, dtype):
    k, d, n = 20, 150, 40
    S = make(family, k, d, seed=7)
    X = data((n, d), dtype, seed=8, zeros=0.7)
    A = np.ascontiguousarray(X.T)  # (d, n)

    proj = {
        "dense": S.project(X),
        "csr": S.project(sp.csr_matrix(X)),
        "csc": S.project(sp.csc_matrix(X)),
        "csr_array": sp.csr_array(X) @ S.T,
        "csc_array": sp.csc_array(X) @ S.T,
    }
    sk_ = {
        "dense": S.sketch(A),
        "csr": S @ sp.csr_matrix(A),
        "csc": S @ sp.csc_matrix(A),
    }
    for results in (proj, sk_):
        ref = results["dense"]
        assert ref.dtype == dtype
        for name, got in results.items():
            assert isinstance(got, np.ndarray), name
            assert got.dtype == dtype, name
            assert_close(got, ref, dtype)
            if family in SPARSE_FAMILIES:
                # Sorted sparse input runs the same per-element sums as dense input.
                assert_array_equal(got, ref, err_msg=name)
    assert_close(proj["dense"], sk_["dense"].T, dtype)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("family", ["sparse_sign", "gaussian"])
def test_sparse_index_dtypes(family, index_dtype):
    S = make(family, 10, 60, seed=2)
    X = sp.csr_matrix(data((15, 60), zeros=0.8, seed=4))
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    assert_close(S.project(X), S.project(X.toarray()), np.float64)
    A = X.T.tocsr()
    A.indices = A.indices.astype(index_dtype)
    A.indptr = A.indptr.astype(index_dtype)
    assert_close(S @ A, S.sketch(A.toarray()), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_sparse_output_equals_dense_output(family, dtype):
    S = make(family, 16, 80, seed=4)
    X = data((30, 80), dtype, seed=9, zeros=0.9)
    X[3] = 0.0  # an all-zero row gives an empty output row
    dense = S.project(X)
    for cls, expected_cls in [
        (sp.csr_matrix, sp.csr_matrix),
        (sp.csc_matrix, sp.csr_matrix),
        (sp.csr_array, sp.csr_array),
        (sp.csc_array, sp.csr_array),
    ]:
        out = S.project(cls(X), dense_output=False)
        assert isinstance(out, expected_cls), cls
        assert out.format == "csr"
        assert out.shape == (30, 16)
        assert out.dtype == dtype
        assert_array_equal(out.toarray(), S.project(cls(X)))
        assert_close(out.toarray(), dense, dtype)
        assert not np.any(out.data == 0), "explicit zeros are dropped"
        assert out.indptr[4] == out.indptr[3]  # row 3 is empty
    # dense_output=False on dense input still gives a dense array
    assert isinstance(S.project(X, dense_output=False), np.ndarray)


@pytest.mark.parametrize("family", FAMILIES)
def test_float32_close_to_float64(family):
    S = make(family, 32, 400, seed=1)
    X = data((20, 400), np.float64, seed=5)
    y64 = S.project(X)
    y32 = S.project(X.astype(np.float32))
    assert y32.dtype == np.float32
    assert_allclose(y32, y64, rtol=1e-4, atol=1e-4 * np.abs(y64).max())


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "layout",
    ["fortran", "row_slice", "col_slice", "negative_stride", "big_endian", "memmap_like"],
)
def test_memory_layouts(family, layout, tmp_path):
    S = make(family, 12, 90, seed=3)
    base = data((50, 180), np.float64, seed=6)
    if layout == "fortran":
        X = np.asfortranarray(base[:, :90])
    elif layout == "row_slice":
        X = base[::3, :90]
    elif layout == "col_slice":
        X = base[:, ::2]
    elif layout == "negative_stride":
        X = base[::-2, 90:]
    elif layout == "big_endian":
        X = base[:, :90].astype(">f8")
    else:
        path = tmp_path / "x.npy"
        np.save(path, base[:, :90])
        X = np.load(path, mmap_mode="r")  # read-only memory map
    expected = np.ascontiguousarray(X, dtype=np.float64) @ S.to_dense().T
    assert_close(S.project(X), expected, np.float64)
    assert_close(S @ X.T, expected.T, np.float64)


def test_no_copy_of_float_input():
    """Validation must not copy float32/float64 input (checked with tracemalloc, which
    sees NumPy allocations): the peak is the small output, not the large input."""
    S = sk.sparse_sign(16, 2000, seed=0)
    for dtype in DTYPES:
        X = data((1000, 2000), dtype, seed=1)
        wide = data((500, 4000), dtype, seed=2)
        views = [X, np.asfortranarray(X), wide[:, ::2], X[::-1]]
        for x in views:
            tracemalloc.start()
            S.project(x)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < x.nbytes // 4, (dtype, peak)


def test_integer_and_bool_input_becomes_float64():
    S = sk.sparse_sign(10, 40, seed=1)
    Xi = np.arange(80, dtype=np.int32).reshape(2, 40) - 40
    out = S.project(Xi)
    assert out.dtype == np.float64
    assert_array_equal(out, S.project(Xi.astype(np.float64)))
    assert (S @ np.ones(40, dtype=bool)).dtype == np.float64
    assert (S @ ([1, 2] * 20)).dtype == np.float64  # Python lists are array-likes
    out16 = S.project(Xi.astype(np.float16))
    assert out16.dtype == np.float32


# --------------------------------------------------------------------------- linearity
@settings(max_examples=40, deadline=None)
@given(
    family=st.sampled_from(FAMILIES),
    d=st.integers(1, 70),
    k=st.integers(8, 20),
    seed=st.integers(0, 2**64 - 1),
    alpha=st.floats(-10, 10),
    beta=st.floats(-10, 10),
    data_seed=st.integers(0, 1000),
)
def test_linearity(family, d, k, seed, alpha, beta, data_seed):
    S = make(family, k, d, seed=seed)
    rng = np.random.default_rng(data_seed)
    x, y = rng.standard_normal((2, d))
    lhs = S @ (alpha * x + beta * y)
    rhs = alpha * (S @ x) + beta * (S @ y)
    bound = 1e-12 * (abs(alpha) + abs(beta) + 1) * (np.abs(x).sum() + np.abs(y).sum())
    assert_allclose(lhs, rhs, rtol=0, atol=max(bound, 1e-300) * 10)
    # The adjoint is the transpose: <S x, z> = <x, S.T z>.
    z = rng.standard_normal(k)
    assert math.isclose(
        float((S @ x) @ z), float(x @ (S.T @ z)), rel_tol=1e-9, abs_tol=1e-9 * k * d
    )


# --------------------------------------------------------------------------- distributions
def test_very_sparse_nonzero_counts():
    k, d, density = 200, 2000, 0.05
    S = sk.very_sparse(k, d, density=density, seed=0)
    assert S.density == density
    M = S.to_scipy()
    counts = np.diff(M.indptr)  # nonzeros per column (CSC)
    mean_expected = density * k  # 10
    var_expected = k * density * (1 - density)  # binomial: 9.5
    # Mean over d columns: standard error sqrt(9.5 / 2000) ~ 0.069; allow 6 sigma.
    assert abs(counts.mean() - mean_expected) < 6 * math.sqrt(var_expected / d)
    # Counts vary like a binomial (positions are independent per entry, not fixed).
    assert 0.8 * var_expected < counts.var() < 1.2 * var_expected
    # Values are exactly +-sqrt(1 / (density k)), signs balanced.
    value = math.sqrt(1.0 / (density * k))
    assert_allclose(np.abs(M.data), value, rtol=1e-12)
    assert S.scale == pytest.approx(value)
    n_pos = int((M.data > 0).sum())
    assert abs(n_pos - M.nnz / 2) < 5 * math.sqrt(M.nnz / 4)
    # Rows are hit uniformly: row counts ~ Binomial(d, density), mean 100.
    row_counts = np.bincount(M.indices, minlength=k)
    assert abs(row_counts.mean() - d * density) < 6 * math.sqrt(d * density / k)


def test_very_sparse_auto_density():
    S = sk.very_sparse(30, 400)
    assert S.density == pytest.approx(1 / 20)
    assert S.to_dense().shape == (30, 400)
    assert sk.very_sparse(30, 400, density=1.0).to_scipy().nnz == 30 * 400


@pytest.mark.parametrize("nnz", [1, 3, 8, 16])
def test_sparse_sign_structure(nnz):
    k, d = 16, 500
    S = sk.sparse_sign(k, d, nnz=nnz, seed=2)
    assert S.nnz == nnz
    dense = S.to_dense()
    assert_array_equal((dense != 0).sum(axis=0), np.full(d, nnz))
    assert_allclose(np.abs(dense[dense != 0]), 1 / math.sqrt(nnz), rtol=1e-15)
    assert_allclose(np.linalg.norm(dense, axis=0), 1.0, rtol=1e-12)
    signs = np.sign(dense[dense != 0])
    assert abs(signs.sum()) < 5 * math.sqrt(signs.size)
    # Row usage is uniform: each row has nnz * d / k nonzeros on average.
    rows = (dense != 0).sum(axis=1)
    expected = nnz * d / k
    if nnz < k:
        assert np.all(np.abs(rows - expected) < 6 * math.sqrt(expected) + 1)
    else:
        assert_array_equal(rows, d)


def test_countsketch_structure():
    k, d = 32, 3200
    S = sk.countsketch(k, d, seed=4)
    assert S.nnz == 1
    dense = S.to_dense()
    assert_array_equal((dense != 0).sum(axis=0), np.ones(d))
    assert set(np.unique(dense[dense != 0])) == {-1.0, 1.0}
    # Bucket loads ~ Binomial(d, 1/k): chi-square with k - 1 = 31 dof, mean 31, sd ~7.9.
    loads = (dense != 0).sum(axis=1)
    expected = d / k
    chi2 = float(((loads - expected) ** 2 / expected).sum())
    assert chi2 < 31 + 6 * 7.9


def test_gaussian_and_rademacher_entries():
    k, d = 100, 1000
    G = sk.gaussian(k, d, seed=1).to_dense() * math.sqrt(k)  # standard normal entries
    n = G.size
    assert abs(G.mean()) < 5 / math.sqrt(n)
    assert abs(G.var() - 1) < 5 * math.sqrt(2 / n)
    kurtosis = float((G**4).mean() / G.var() ** 2)
    assert abs(kurtosis - 3) < 0.2
    assert abs(float((np.abs(G) < 1).mean()) - 0.6827) < 0.01
    R = sk.rademacher(k, d, seed=1).to_dense() * math.sqrt(k)
    assert set(np.unique(R)) == {-1.0, 1.0}
    assert abs(R.mean()) < 5 / math.sqrt(n)


@pytest.mark.parametrize("family", ["gaussian", "rademacher", "sparse_sign"])
def test_columns_and_rows_differ(family):
    """Columns and rows are not copies of each other: the stream advances per entry."""
    S = make(family, 16, 64, seed=0).to_dense()
    assert len({S[:, j].tobytes() for j in range(64)}) > 60
    assert len({S[i].tobytes() for i in range(16)}) == 16


# --------------------------------------------------------------------------- unbiasedness and JL
@pytest.mark.parametrize("family", FAMILIES)
def test_unbiased_squared_norm(family):
    """E ||S x||^2 = ||x||^2: the mean over 400 seeds is within 5 standard errors."""
    k, d, n_seeds = 16, 64, 400
    rng = np.random.default_rng(123)
    x = rng.standard_normal(d) * rng.exponential(size=d)  # uneven magnitudes
    norm2 = float(x @ x)
    ratios = np.array(
        [float(np.sum((make(family, k, d, seed=s) @ x) ** 2)) / norm2 for s in range(n_seeds)]
    )
    stderr = ratios.std(ddof=1) / math.sqrt(n_seeds)
    assert abs(ratios.mean() - 1.0) < 5 * stderr
    assert ratios.std() > 0  # the seeds give different operators


@pytest.mark.parametrize("family", FAMILIES)
def test_johnson_lindenstrauss_distortion(family):
    """Pairwise squared distances of n points are preserved within a factor 1 +- eps.

    Dasgupta & Gupta bound the failure probability of one pair by
    2 exp(-k (eps^2/2 - eps^3/3) / 2). At k = johnson_lindenstrauss_min_dim(n, eps)
    this is 2/n^2 per pair, which only guarantees success with probability >= 1/n for
    all pairs at once, so there we assert that at least 99% of the pairs are within
    eps (the expected failing fraction is below 0.1%). At
    k = johnson_lindenstrauss_min_dim(n**2, eps) the per-pair bound is 2/n^4 and all
    pairs are within eps with probability >= 1 - 1/n^2: there we assert the maximum.
    The lemma's proof covers Gaussian and Rademacher/Achlioptas matrices; for the
    sparse sign and CountSketch families with dense (non-adversarial) data the
    squared-norm variance is the same 2/k to first order, and the same holds.
    """
    n, d, eps = 50, 2000, 0.5
    k_lemma = int(sk.johnson_lindenstrauss_min_dim(n, eps=eps))
    k_whp = int(sk.johnson_lindenstrauss_min_dim(n**2, eps=eps))
    assert (k_lemma, k_whp) == (187, 375)
    X = data((n, d), seed=10)
    for seed in (0, 1, 2):
        err = pairwise_distortion(X, make(family, k_lemma, d, seed=seed).project(X))
        assert np.mean(err < eps) >= 0.99, seed
        assert np.median(err) < 0.1
        err = pairwise_distortion(X, make(family, k_whp, d, seed=seed).project(X))
        assert err.max() < eps, (seed, err.max())
        assert np.median(err) < 0.07


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("family", FAMILIES)
def test_bit_identical_across_threads_and_chunks(family, restore_threads):
    k, d, n = 40, 300, 700
    S = make(family, k, d, seed=9)
    X = data((n, d), np.float32, seed=3, zeros=0.5)
    Xcsr = sp.csr_matrix(X)
    A = data((d, 70), np.float64, seed=4)
    Y = data((k, 60), np.float64, seed=5)
    results = []
    for threads in (1, 2, 4):
        sk.set_num_threads(threads)
        assert sk.get_num_threads() == threads
        results.append(
            (S.project(X), S.project(Xcsr), S @ A, S.T @ Y, Y.T @ S, S.to_dense(np.float32))
        )
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert_array_equal(a, b)
    whole = results[0][0]
    for chunk in (1, 7, 256, 300):
        parts = [S.project(X[i : i + chunk]) for i in range(0, n, chunk)]
        assert_array_equal(np.vstack(parts), whole)
        parts = [S.project(Xcsr[i : i + chunk]) for i in range(0, n, chunk)]
        assert_array_equal(np.vstack(parts), results[0][1])
    # Columns of S @ A are independent of each other too.
    assert_array_equal(np.hstack([S @ A[:, :33], S @ A[:, 33:]]), results[0][2])


@pytest.mark.parametrize("family", FAMILIES)
def test_bit_identical_across_simd_levels(family):
    S = make(family, 24, 257, seed=1)
    X = data((33, 257), np.float32, seed=2)
    Xd = X.astype(np.float64)

    def run():
        return S.project(X), S @ X.T, S.T @ S.project(X).T, S.project(Xd), S.project(Xd) @ S

    reference = run()
    for level in ("scalar", "avx2"):
        try:
            _native.force_simd_level(level)
            assert sk.simd_level() in ("scalar", level)
            capped = run()
        finally:
            _native.force_simd_level(None)
        for a, b in zip(reference, capped, strict=True):
            assert_array_equal(a, b, err_msg=level)


@pytest.mark.parametrize("family", FAMILIES)
def test_seed_determines_operator(family):
    a = make(family, 10, 50, seed=42)
    b = make(family, 10, 50, seed=42)
    c = make(family, 10, 50, seed=43)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert_array_equal(a.to_dense(), b.to_dense())
    assert not np.array_equal(a.to_dense(), c.to_dense())
    big = make(family, 10, 50, seed=2**64 - 1)
    assert big.seed == 2**64 - 1
    assert not np.array_equal(big.to_dense(), a.to_dense())


def test_equality_uses_all_parameters():
    assert sk.sparse_sign(10, 20, nnz=4) != sk.sparse_sign(10, 20, nnz=5)
    assert sk.sparse_sign(10, 20) != sk.sparse_sign(10, 21)
    assert sk.sparse_sign(10, 20) != sk.sparse_sign(11, 20)
    assert sk.very_sparse(10, 20, density=0.5) != sk.very_sparse(10, 20, density=0.25)
    assert sk.gaussian(10, 20) != sk.rademacher(10, 20)
    assert sk.gaussian(10, 20) != "gaussian"
    assert len({sk.gaussian(10, 20), sk.gaussian(10, 20), sk.gaussian(10, 20, seed=1)}) == 2


@pytest.mark.parametrize("family", FAMILIES)
def test_pickle_round_trip(family):
    S = make(family, 12, 345, seed=2**63 + 5)
    blob = pickle.dumps(S)
    assert len(blob) < 400  # parameters only, not the matrix
    S2 = pickle.loads(blob)
    assert S2 == S
    assert S2.shape == S.shape and S2.family == family and S2.seed == S.seed
    assert S2.nnz == S.nnz and S2.density == S.density
    assert_array_equal(S2.to_dense(), S.to_dense())
    X = data((5, 345), seed=1)
    assert_array_equal(S2.project(X), S.project(X))


# --------------------------------------------------------------------------- attributes
def test_attributes_and_repr():
    S = sk.sparse_sign(16, 100, nnz=4, seed=3)
    assert S.shape == (16, 100)
    assert S.family == "sparse_sign"
    assert S.seed == 3
    assert S.nnz == 4
    assert S.density is None
    assert S.is_sparse
    assert S.scale == pytest.approx(0.5)
    assert repr(S) == "SketchOperator('sparse_sign', k=16, d=100, seed=3, nnz=4)"
    assert S.T.shape == (100, 16)
    assert S.T.T is S
    assert S.T == S.T and hash(S.T) == hash(sk.sparse_sign(16, 100, nnz=4, seed=3).T)
    assert repr(S.T).endswith(".T")
    assert_array_equal(S.T.to_dense(), S.to_dense().T)
    G = sk.gaussian(9, 10)
    assert G.nnz is None and G.density is None and not G.is_sparse
    assert G.scale == pytest.approx(1 / 3)
    assert sk.countsketch(4, 5).nnz == 1
    V = sk.very_sparse(4, 100, density=0.25)
    assert V.density == 0.25 and V.nnz is None
    assert "density=0.25" in repr(V)
    assert sk.SketchOperator("rademacher", 3, 4, seed=1) == sk.rademacher(3, 4, seed=1)


def test_operator_operands_are_rejected():
    S = sk.gaussian(4, 4)
    with pytest.raises(TypeError):
        S @ S  # noqa: B018
    with pytest.raises(TypeError):
        S.T @ S.T  # noqa: B018


def test_thread_pool_api(restore_threads):
    sk.set_num_threads(3)
    assert sk.get_num_threads() == 3
    sk.set_num_threads(np.int64(1))
    assert sk.get_num_threads() == 1
    assert sk.simd_level() in _native.SIMD_LEVELS


# --------------------------------------------------------------------------- stream stability
# Pinned values of each family for seed=0 at shape (8, 16). This is the one place where
# literal random numbers belong in the tests: they were computed once from the built
# extension and fail if the core's random streams change, which would silently change
# every user's results for a given seed. Gaussian entries go through the platform's
# ln/sin/cos and are compared to 4 ulps; everything else exactly.
GOLDEN_DENSE = {
    "gaussian": {
        (0, 0): 0.5837795388554091,
        (0, 1): 0.45702057484556297,
        (3, 5): 0.36588611926434117,
        (5, 2): 0.024803024197378738,
        (7, 15): 0.6579273543618811,
        (2, 9): 0.4023496215977175,
    },
    "rademacher": {
        (0, 0): 0.35355339059327373,
        (0, 1): 0.35355339059327373,
        (3, 5): 0.35355339059327373,
        (5, 2): -0.35355339059327373,
        (7, 15): -0.35355339059327373,
        (2, 9): -0.35355339059327373,
    },
}
# (constructor arguments, CSC indptr / indices / data of the first four columns)
H = 0.5773502691896258  # 1/sqrt(3)
R = 0.7071067811865476  # sqrt(1/(0.25 * 8))
GOLDEN_SPARSE = {
    "very_sparse": (
        {"density": 0.25},
        [0, 3, 3, 3, 6],
        [0, 1, 7, 0, 5, 6],
        [R, -R, R, R, R, R],
    ),
    "sparse_sign": (
        {"nnz": 3},
        [0, 3, 6, 9, 12],
        [0, 3, 6, 0, 1, 7, 1, 2, 6, 0, 4, 7],
        [H, H, -H, -H, H, H, H, H, -H, -H, -H, -H],
    ),
    "countsketch": ({}, [0, 1, 2, 3, 4], [1, 6, 6, 1], [1.0, 1.0, -1.0, -1.0]),
}


@pytest.mark.parametrize("family", sorted(GOLDEN_DENSE))
def test_golden_values_dense_families(family):
    S = make(family, 8, 16, seed=0).to_dense()
    for (i, j), value in GOLDEN_DENSE[family].items():
        if family == "gaussian":
            assert abs(S[i, j] - value) <= 4 * np.finfo(np.float64).eps * abs(value), (i, j)
        else:
            assert S[i, j] == value, (i, j)


@pytest.mark.parametrize("family", sorted(GOLDEN_SPARSE))
def test_golden_values_sparse_families(family):
    kwargs, indptr, indices, values = GOLDEN_SPARSE[family]
    M = make(family, 8, 16, seed=0, **kwargs).to_scipy()[:, :4].tocsc()
    assert M.indptr.tolist() == indptr
    assert M.indices.tolist() == indices
    assert M.data.tolist() == values


@pytest.mark.parametrize("family", _native.FAMILIES)
def test_family_parameters_come_from_the_core(family):
    takes = _native.family_parameters(family)
    op = sk.SketchOperator(family, 16, 32, seed=1)
    assert sorted(op._native.params) == sorted(takes)
    for param, value in (("nnz", 2), ("density", 0.5)):
        if param in takes:
            assert getattr(sk.SketchOperator(family, 16, 32, **{param: value}), param) == value
        else:
            with pytest.raises(ValueError, match=f"^{param}: applies to"):
                sk.SketchOperator(family, 16, 32, **{param: value})
    # pickles and equality see exactly these parameters
    assert pickle.loads(pickle.dumps(op)) == op
