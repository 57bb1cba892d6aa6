"""sketchkit.linalg and RandomizedPCA against LAPACK (NumPy/SciPy) and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator
from sklearn.decomposition import PCA
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.extmath import randomized_svd as sk_randomized_svd

import sketchkit as sk
from sketchkit import linalg as L


def spectrum_matrix(n, d, cond, seed=0, dtype=np.float64):
    """``U diag(s) V^T`` with ``s`` log-spaced from 1 to ``1/cond``."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, d)))
    v, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return ((u * np.logspace(0, -np.log10(cond), d)) @ v.T).astype(dtype)


def low_rank_plus_noise(n, d, r, noise=1e-3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, r)) @ rng.standard_normal((r, d)) + noise * rng.standard_normal(
        (n, d)
    )


# --------------------------------------------------------------------- lstsq


@pytest.fixture(scope="module")
def ill():
    A = spectrum_matrix(3000, 40, 1e8)
    b = np.random.default_rng(1).standard_normal(3000)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    return A, b, x, np.linalg.norm(A @ x - b)


@pytest.mark.parametrize("layout", ["C", "F"])
def test_precondition_reaches_direct_solver_residual(ill, layout):
    A, b, x_ref, r_ref = ill
    res = L.lstsq(np.asarray(A, order=layout), b, method="precondition")
    assert res.converged and res.method == "precondition"
    assert res.residual_norm <= r_ref * (1 + 1e-10)
    # The reported residual is that of the returned x, up to the rounding of forming
    # A x - b (bounded by d * eps * || |A| |x| + |b| ||: NumPy's BLAS sums in another
    # order, and the order differs between NumPy versions).
    rounding = (
        A.shape[1] * np.finfo(float).eps * np.linalg.norm(np.abs(A) @ np.abs(res.x) + np.abs(b))
    )
    assert abs(np.linalg.norm(A @ res.x - b) - res.residual_norm) <= rounding
    # forward error comparable to LAPACK's own (cond 1e8: about 1e-8 relative)
    assert np.linalg.norm(res.x - x_ref) <= 1e-5 * np.linalg.norm(x_ref)


def test_precondition_iterations_do_not_depend_on_condition_number():
    b = np.random.default_rng(2).standard_normal(2000)
    its = [L.lstsq(spectrum_matrix(2000, 30, c), b).iterations for c in (1e1, 1e4, 1e8)]
    assert max(its) - min(its) <= 6, its


def test_precondition_sparse_and_operator_inputs_agree_with_lapack():
    rng = np.random.default_rng(3)
    A = sp.random(4000, 60, density=0.05, format="csr", random_state=4)
    A = A @ sp.diags(np.logspace(0, -5, 60))
    b = rng.standard_normal(4000)
    x_ref = np.linalg.lstsq(A.toarray(), b, rcond=None)[0]
    r_ref = np.linalg.norm(A @ x_ref - b)
    for M in (A.tocsr(), A.tocsc(), aslinearoperator(A)):
        res = L.lstsq(M, b)
        assert res.residual_norm <= r_ref * (1 + 1e-10)
        np.testing.assert_allclose(res.x, x_ref, rtol=1e-6, atol=1e-8)


def test_several_right_hand_sides(ill):
    A, b, _, _ = ill
    B = np.column_stack([b, 2 * b + 1, np.zeros_like(b)])
    res = L.lstsq(A, B)
    X = np.linalg.lstsq(A, B, rcond=None)[0]
    assert res.x.shape == (40, 3)
    np.testing.assert_allclose(res.residual_norm, np.linalg.norm(A @ X - B, axis=0), rtol=1e-9)
    assert np.all(res.x[:, 2] == 0)


def test_float32_keeps_dtype():
    A = spectrum_matrix(2000, 20, 1e3, dtype=np.float32)
    b = np.random.default_rng(5).standard_normal(2000).astype(np.float32)
    res = L.lstsq(A, b)
    assert res.x.dtype == np.float32
    x64 = np.linalg.lstsq(A.astype(np.float64), b.astype(np.float64), rcond=None)[0]
    r64 = np.linalg.norm(A.astype(np.float64) @ x64 - b)
    assert res.residual_norm <= r64 * (1 + 1e-5)


def test_ridge_matches_normal_equations():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((500, 10))
    b = rng.standard_normal(500)
    lam = 3.0
    x_ref = np.linalg.solve(A.T @ A + lam * np.eye(10), A.T @ b)
    for method in ("precondition", "iterative"):
        np.testing.assert_allclose(L.lstsq(A, b, reg=lam, method=method).x, x_ref, rtol=1e-8)
    # sketch-and-solve's ridge solves the sketched ridge problem exactly
    assert L.lstsq(A, b, reg=lam, method="sketch_solve", sketch_size=200).x.shape == (10,)


def test_iterative_on_linear_operator_with_history(ill):
    A, b, _, r_ref = ill
    res = L.lstsq(aslinearoperator(A), b, method="iterative")
    assert res.converged and res.method == "iterative"
    assert res.residual_norm <= r_ref * (1 + 1e-8)
    assert len(res.history) == res.iterations + 1
    assert res.history[-1] <= res.history[0]


def test_sketch_solve_l2_guarantee_over_seeds():
    rng = np.random.default_rng(7)
    n, d, eps = 20000, 4, 0.5
    A = rng.standard_normal((n, d))
    b = A @ rng.standard_normal(d) + rng.standard_normal(n)
    r_opt = np.linalg.norm(A @ np.linalg.lstsq(A, b, rcond=None)[0] - b)
    m = L.sketch_size(n, d, eps, 0.01, "l2", "sparse_sign")
    ratios = [
        L.lstsq(A, b, method="sketch_solve", eps=eps, seed=s).residual_norm / r_opt
        for s in range(20)
    ]
    assert all(r <= 1 + eps for r in ratios), ratios
    assert L.lstsq(A, b, method="sketch_solve", eps=eps).sketch_size == m


def test_linf_guarantee_and_sparse_refusal():
    rng = np.random.default_rng(8)
    n, d, eps = 100_000, 2, 0.9
    A = rng.standard_normal((n, d))
    b = A @ np.array([1.0, -2.0]) + rng.standard_normal(n)
    x_opt, *_ = np.linalg.lstsq(A, b, rcond=None)
    r_opt = np.linalg.norm(A @ x_opt - b)
    bound = eps / np.sqrt(d) * r_opt / np.linalg.svd(A, compute_uv=False)[-1]
    for seed in range(3):
        res = L.lstsq(A, b, guarantee="linf", sketch="srht", eps=eps, delta=0.1, seed=seed)
        assert res.method == "sketch_solve"
        assert np.max(np.abs(res.x - x_opt)) <= bound
    with pytest.raises(ValueError, match="dense sketch"):
        L.lstsq(A, b, guarantee="linf", sketch="sparse_sign", eps=eps, delta=0.1)
    with pytest.raises(ValueError, match="dense sketch"):
        L.sketch_size(n, d, 0.5, 0.01, "linf", "countsketch")


def test_sketch_size_shapes():
    m = [L.sketch_size(10**6, 50, e, 0.01, "l2", "gaussian") for e in (0.5, 0.25)]
    assert m[1] > 3.9 * m[0] / 1.05 and m[0] >= 50
    cs = [L.sketch_size(10**6, d, 0.5, 0.01, "l2", "countsketch") for d in (10, 20)]
    assert cs[1] / cs[0] == pytest.approx((21 / 11) ** 2, rel=1e-3)
    with pytest.raises(ValueError, match="eps"):
        L.sketch_size(100, 5, 1.5, 0.01)
    with pytest.raises(ValueError, match="delta"):
        L.sketch_size(100, 5, 0.5, 0.0)


def test_rank_deficiency_is_reported_not_solved():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((300, 5))
    A = np.column_stack([A, A[:, 0] + A[:, 1]])
    b = rng.standard_normal(300)
    for method in ("precondition", "iterative", "sketch_solve"):
        kw = {"sketch_size": 200} if method == "sketch_solve" else {}
        with pytest.raises(ValueError, match="rank deficient"):
            L.lstsq(A, b, method=method, **kw)
    assert L.lstsq(A, b, reg=1e-3).converged


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": np.full((10, 2), np.nan)}, "NaN"),
        ({"b": np.r_[np.nan, np.zeros(9)]}, "NaN"),
        ({"b": np.zeros(11)}, "rows"),
        ({"sketch_size": 11}, "sketch_size"),
        ({"sketch_size": 1}, "sketch_size"),
        ({"method": "qr"}, "method"),
        ({"rtol": 2.0}, "rtol"),
        ({"reg": -1.0}, "reg"),
        ({"maxiter": 0}, "maxiter"),
        ({"guarantee": "l3"}, "guarantee"),
        ({"sketch": "fourier"}, "family"),
    ],
)
def test_lstsq_errors_name_the_argument(kwargs, match):
    args = {"A": np.random.default_rng(0).standard_normal((10, 2)), "b": np.ones(10)}
    args.update(kwargs)
    A, b = args.pop("A"), args.pop("b")
    with pytest.raises(ValueError, match=match):
        L.lstsq(A, b, **args)


def test_sketch_solve_default_size_larger_than_problem_is_an_error():
    A = np.random.default_rng(0).standard_normal((100, 5))
    with pytest.raises(ValueError, match="would not reduce"):
        L.lstsq(A, np.ones(100), method="sketch_solve")


def test_operator_exception_propagates():
    from scipy.sparse.linalg import LinearOperator

    def boom(x):
        raise KeyError("from matvec")

    op = LinearOperator((50, 3), matvec=boom, rmatvec=boom, dtype=np.float64)
    with pytest.raises(KeyError, match="from matvec"):
        L.lstsq(op, np.ones(50), method="iterative")


def test_thread_count_does_not_change_bits(ill):
    A, b, _, _ = ill
    S = sp.random(5000, 30, density=0.1, format="csr", random_state=1)
    old = sk.get_num_threads()
    try:
        out = []
        for t in (1, 2, 3):
            sk.set_num_threads(t)
            out.append(
                (
                    L.lstsq(A, b).x,
                    L.lstsq(S, np.ones(5000)).x,
                    L.randomized_svd(A, 5, random_state=0)[0],
                    L.leverage_scores(A),
                )
            )
    finally:
        sk.set_num_threads(old)
    for o in out[1:]:
        for a, b2 in zip(out[0], o, strict=True):
            assert np.array_equal(a, b2)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(12, 80),
    d=st.integers(1, 6),
    dtype=st.sampled_from([np.float32, np.float64]),
    order=st.sampled_from(["C", "F"]),
    seed=st.integers(0, 2**32),
)
def test_lstsq_property_against_lapack(n, d, dtype, order, seed):
    rng = np.random.default_rng(seed)
    A = np.asarray(rng.standard_normal((n, d)), dtype=dtype, order=order)
    b = rng.standard_normal(n).astype(dtype)
    res = L.lstsq(A, b, seed=seed)
    x = np.linalg.lstsq(A.astype(np.float64), b.astype(np.float64), rcond=None)[0]
    r = np.linalg.norm(A.astype(np.float64) @ x - b)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert res.x.dtype == dtype
    assert res.residual_norm <= r * (1 + tol) + tol


# ------------------------------------------------------------ randomized SVD


def test_randomized_svd_matches_exact_and_sklearn():
    M = low_rank_plus_noise(1500, 400, 15, seed=1)
    s_exact = np.linalg.svd(M, compute_uv=False)
    u, s, vt = L.randomized_svd(M, 10, random_state=0)
    u2, s2, vt2 = sk_randomized_svd(M, 10, random_state=0)
    np.testing.assert_allclose(s, s_exact[:10], rtol=1e-6)
    np.testing.assert_allclose(u.T @ u, np.eye(10), atol=1e-10)
    np.testing.assert_allclose(vt @ vt.T, np.eye(10), atol=1e-10)
    err = np.linalg.norm(M - (u * s) @ vt, 2)
    err2 = np.linalg.norm(M - (u2 * s2) @ vt2, 2)
    assert err <= 1.05 * err2
    # scikit-learn's sign rule: the largest-magnitude entry of each column of U is positive
    idx = np.abs(u).argmax(axis=0)
    assert np.all(u[idx, range(10)] > 0)
    np.testing.assert_allclose(u, u2, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_randomized_svd_of_tall_ill_conditioned_input_keeps_its_accuracy(dtype):
    # 6000 rows: tall enough that the power iterations normalize by CholeskyQR. The
    # spectrum falls over 12 decades, so products left unnormalized would lose the
    # smaller of the kept singular values.
    M = spectrum_matrix(6000, 60, 1e12, seed=7, dtype=dtype)
    s_exact = np.logspace(0, -12, 60)[:10]
    tol = 1e-11 if dtype == np.float64 else 2e-5
    for n_iter in (2, 7):
        u, s, vt = L.randomized_svd(M, 10, n_iter=n_iter, random_state=0)
        assert s.dtype == dtype
        np.testing.assert_allclose(s, s_exact, rtol=tol)
        # the returned factors are orthonormal to working precision
        eye_tol = 50 * np.finfo(dtype).eps
        np.testing.assert_allclose(u.T @ u, np.eye(10), atol=eye_tol)
        np.testing.assert_allclose(vt @ vt.T, np.eye(10), atol=eye_tol)


def test_randomized_svd_of_tall_rank_deficient_input_is_exact():
    # rank 5 < the 18 test vectors: the Gram matrices of the power iterations are
    # singular up to rounding, so CholeskyQR either refuses them (Householder QR
    # runs) or divides by tiny pivots; either way the result must stay exact.
    M = low_rank_plus_noise(6000, 80, 5, noise=0.0, seed=8)
    s_exact = np.linalg.svd(M, compute_uv=False)
    u, s, vt = L.randomized_svd(M, 8, random_state=0)
    np.testing.assert_allclose(s[:5], s_exact[:5], rtol=1e-12)
    assert np.all(s[5:] <= 1e-12 * s_exact[0])
    np.testing.assert_allclose((u[:, :5] * s[:5]) @ vt[:5], M, atol=1e-10 * s_exact[0])


@pytest.mark.parametrize("family", ["gaussian", "rademacher", "sparse_sign", "countsketch", "srht"])
def test_every_family_is_a_test_matrix(family):
    M = low_rank_plus_noise(800, 300, 8, noise=1e-6, seed=2)
    _, s, _ = L.randomized_svd(M, 8, sketch=family, random_state=3)
    np.testing.assert_allclose(s, np.linalg.svd(M, compute_uv=False)[:8], rtol=1e-8)


def test_randomized_svd_inputs_agree():
    M = sp.random(600, 900, density=0.05, format="csr", random_state=5)
    dense = L.randomized_svd(M.toarray(), 6, random_state=1)
    for x in (M, M.tocsc(), aslinearoperator(M)):
        got = L.randomized_svd(x, 6, random_state=1)
        for a, b in zip(dense, got, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert dense[0].shape == (600, 6) and dense[2].shape == (6, 900)  # transposed path


def test_adaptive_rank_meets_tolerance():
    M = low_rank_plus_noise(1000, 300, 12, noise=1e-2, seed=4)
    u, s, vt = L.randomized_svd(M, 100, tol=0.05, random_state=0)
    assert len(s) < 40
    assert np.linalg.norm(M - (u * s) @ vt) <= 0.05 * np.linalg.norm(M) * 1.01
    with pytest.raises(ValueError, match="tol"):
        L.randomized_svd(aslinearoperator(M), 10, tol=0.1)


def test_randomized_svd_errors():
    M = np.ones((20, 10))
    with pytest.raises(ValueError, match="n_components"):
        L.randomized_svd(M, 11)
    with pytest.raises(ValueError, match="NaN"):
        L.randomized_svd(np.full((5, 5), np.inf), 2)


# ---------------------------------------------------------------- PCA


def test_randomized_pca_matches_pca_and_centres_sparse_input():
    # sparse noise plus eight sparse rank-one terms of decreasing weight (a clear gap)
    rng = np.random.default_rng(6)
    X = sp.random(2000, 300, density=0.05, format="csr", random_state=6, dtype=np.float64)
    for i, w in enumerate(np.linspace(40, 12, 8)):
        u = sp.random(2000, 1, density=0.3, random_state=10 + i)
        v = sp.random(1, 300, density=0.3, random_state=20 + i)
        X = X + w * (u @ v) * rng.uniform(0.5, 1.0)
    X = X.tocsr()
    ref = PCA(8, svd_solver="full").fit(X.toarray())
    for data in (X, X.toarray()):
        pca = sk.RandomizedPCA(8, n_iter=10, random_state=0).fit(data)
        np.testing.assert_allclose(pca.mean_, ref.mean_, atol=1e-12)
        np.testing.assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-3)
        np.testing.assert_allclose(
            pca.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-3
        )
        np.testing.assert_allclose(
            np.abs(pca.components_ @ ref.components_.T), np.eye(8), atol=0.05
        )
        Z = pca.transform(data)
        np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
        np.testing.assert_allclose(Z.var(axis=0, ddof=1), pca.explained_variance_, rtol=1e-8)


def test_randomized_pca_whiten_and_inverse():
    X = low_rank_plus_noise(500, 20, 5, noise=0.0, seed=8) + 3.0
    pca = sk.RandomizedPCA(5, whiten=True, random_state=0).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(Z.std(axis=0, ddof=1), 1, rtol=1e-8)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-8)
    assert pca.transform(X.astype(np.float32)).dtype == np.float64


# --------------------------------------------------------- leverage scores


def test_exact_leverage_sums_to_rank_and_matches_qr():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((500, 8))
    A = np.column_stack([A, A[:, :2] @ [1.0, 2.0]])  # rank 8 of 9 columns
    lev = L.leverage_scores(A, "exact")
    assert lev.sum() == pytest.approx(8, rel=1e-10)
    q = np.linalg.svd(A, full_matrices=False)[0][:, :8]
    np.testing.assert_allclose(lev, (q**2).sum(axis=1), atol=1e-12)
    assert L.leverage_scores(A, "approx").sum() == pytest.approx(8, rel=0.1)


def test_approx_leverage_relative_error_on_ill_conditioned_input():
    A = spectrum_matrix(20000, 30, 1e6, seed=10)
    A[:10] *= 50  # a few high-leverage rows
    exact = L.leverage_scores(A, "exact")
    for eps in (0.5, 0.3):
        approx = L.leverage_scores(A, "approx", eps=eps, seed=1)
        assert np.max(np.abs(approx / exact - 1)) <= eps
    S = sp.random(5000, 20, density=0.2, format="csr", random_state=3)
    np.testing.assert_allclose(
        L.leverage_scores(S, "approx"), L.leverage_scores(S.toarray(), "approx"), rtol=1e-10
    )


# ------------------------------------------------------ PSD approximations


def test_nystrom_recovers_low_rank_psd():
    rng = np.random.default_rng(11)
    G = rng.standard_normal((400, 10))
    K = G @ G.T
    u, lam = L.nystrom(K, 10, random_state=0)
    np.testing.assert_allclose((u * lam) @ u.T, K, atol=1e-8 * np.abs(K).max())
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(K)[::-1][:10], rtol=1e-8)
    assert np.all(np.diff(lam) <= 0) and np.all(lam >= 0)
    with pytest.raises(ValueError, match="square"):
        L.nystrom(G, 3)


def test_hutchpp_exact_on_low_rank_and_accurate_on_decay():
    rng = np.random.default_rng(12)
    G = rng.standard_normal((300, 5))
    K = G @ G.T
    assert L.hutchpp(K, 30, random_state=0) == pytest.approx(np.trace(K), rel=1e-10)
    Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    A = (Q * (1.0 / np.arange(1, 301) ** 2)) @ Q.T
    errs = [abs(L.hutchpp(A, 60, random_state=s) / np.trace(A) - 1) for s in range(10)]
    assert np.median(errs) < 0.01
    assert L.hutchpp(aslinearoperator(A), 60, random_state=0) == L.hutchpp(A, 60, random_state=0)
    with pytest.raises(ValueError, match="n_queries"):
        L.hutchpp(A, 2)


def test_rp_cholesky_reconstructs_low_rank_kernel():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((300, 4))
    F, piv = L.rp_cholesky(X, 10, kernel="linear", random_state=0)
    assert F.shape[1] == 4 and len(set(piv.tolist())) == len(piv)
    np.testing.assert_allclose(F @ F.T, X @ X.T, atol=1e-8)
    F, piv = L.rp_cholesky(X, 60, kernel="rbf", gamma=0.5, block_size=5, random_state=1)
    from sklearn.metrics.pairwise import rbf_kernel

    K = rbf_kernel(X, gamma=0.5)
    ev = np.linalg.eigvalsh(K)[::-1]
    # near-optimal: within the best rank-30 error; the residual stays PSD
    assert np.trace(K - F @ F.T) <= ev[30:].sum()
    assert np.linalg.eigvalsh(K - F @ F.T).min() > -1e-10
    with pytest.raises(ValueError, match="rank"):
        L.rp_cholesky(X, 0)


@parametrize_with_checks([sk.RandomizedPCA(n_components=2, random_state=0)])
def test_randomized_pca_passes_estimator_checks(estimator, check):
    check(estimator)
