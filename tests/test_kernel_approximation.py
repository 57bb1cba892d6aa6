"""Random feature maps: exact kernels within statistical bounds, the feature map against
a NumPy reference built from the materialized weights, orthogonality, determinism
across threads, scikit-learn conformance and every bad-input path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.kernel_approximation import RBFSampler
from sklearn.utils.estimator_checks import parametrize_with_checks

import sketchkit as sk
from sketchkit.kernel_approximation import (
    OrthogonalRandomFeatures,
    RandomFourierFeatures,
    RandomReLUFeatures,
    StructuredOrthogonalFeatures,
)

FOURIER = [RandomFourierFeatures, OrthogonalRandomFeatures, StructuredOrthogonalFeatures]
ALL = [*FOURIER, RandomReLUFeatures]


def kernel(name, gamma, X, Y):
    D = X[:, None, :] - Y[None, :, :]
    if name == "rbf":
        return np.exp(-gamma * (D**2).sum(-1))
    if name == "laplacian":
        return np.exp(-gamma * np.abs(D).sum(-1))
    return np.prod(1.0 / (1.0 + gamma * D**2), axis=-1)


def arccos1(X, Y):
    nx, ny = np.linalg.norm(X, axis=1), np.linalg.norm(Y, axis=1)
    c = np.clip(X @ Y.T / np.outer(nx, ny), -1, 1)
    t = np.arccos(c)
    return np.outer(nx, ny) * (np.sin(t) + (np.pi - t) * c) / np.pi


def points(n=40, d=6, seed=0, scale=0.4):
    return np.random.default_rng(seed).normal(size=(n, d)) * scale


# --------------------------------------------------------------------------- estimator checks
@parametrize_with_checks(
    [
        RandomFourierFeatures(n_components=8),
        RandomFourierFeatures(n_components=8, kernel="laplacian"),
        OrthogonalRandomFeatures(n_components=8),
        StructuredOrthogonalFeatures(n_components=8),
        RandomReLUFeatures(n_components=8),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- exact kernels
@pytest.mark.parametrize("kname", ["rbf", "laplacian", "cauchy"])
def test_rff_gram_converges_to_exact_kernel(kname):
    X = points()
    gamma, D = 0.7, 20000
    Z = RandomFourierFeatures(gamma=gamma, n_components=D, kernel=kname, random_state=3)
    Z = Z.fit_transform(X)
    K = kernel(kname, gamma, X, X)
    # Each entry is a mean of D terms 2cos()cos() bounded by 2 (sd <= 1): 6 sd / sqrt(D).
    err = np.abs(Z @ Z.T - K)
    assert err.max() < 6 / np.sqrt(D), err.max()
    # and not trivially: the kernel has spread
    assert K.min() < 0.6


def test_orthogonal_features_approximate_rbf():
    X = points(d=16)
    Z = OrthogonalRandomFeatures(gamma=0.5, n_components=16384, random_state=1).fit_transform(X)
    err = np.abs(Z @ Z.T - kernel("rbf", 0.5, X, X))
    assert err.max() < 6 / np.sqrt(16384), err.max()


def test_sorf_approximates_its_fixed_norm_kernel_and_rbf_as_d_grows():
    """SORF rows all have norm R = sqrt(2 gamma d'): its target is the kernel of
    directions uniform on the sphere of radius R, Gamma(nu+1) (2/t)^nu J_nu(t) with
    t = R ||x - y|| and nu = d'/2 - 1, which tends to the RBF kernel as d' grows."""
    from scipy.special import gamma as gamma_fn
    from scipy.special import jv

    gaps = []
    for d in (16, 64):
        X = points(d=d, scale=0.4 * np.sqrt(16 / d))
        Z = StructuredOrthogonalFeatures(gamma=0.5, n_components=16384, random_state=1)
        G = (lambda z: z @ z.T)(Z.fit_transform(X))
        t = np.sqrt(2 * 0.5 * d) * np.linalg.norm(X[:, None] - X[None], axis=-1)
        nu = d / 2 - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            Kb = np.where(t > 0, gamma_fn(nu + 1) * (2 / t) ** nu * jv(nu, t), 1.0)
        assert np.abs(G - Kb).max() < 6 / np.sqrt(16384)
        gaps.append(np.abs(G - kernel("rbf", 0.5, X, X)).max())
    assert gaps[1] < gaps[0]


def test_relu_features_approximate_arccos_kernel():
    X = points(d=5)
    Z = RandomReLUFeatures(n_components=40000, random_state=2).fit_transform(X)
    K = arccos1(X, X)
    assert np.abs(Z @ Z.T - K).max() < 6 * np.abs(K).max() / np.sqrt(40000) * 3


def test_rff_is_unbiased_over_seeds():
    """The mean over independent seeds of a small-D estimate tends to the kernel."""
    X = points(n=6, d=3)
    K = kernel("rbf", 1.0, X, X)
    grams = []
    for s in range(3000):
        Z = RandomFourierFeatures(n_components=16, random_state=s).fit_transform(X)
        grams.append(Z @ Z.T)
    est = np.mean(grams, axis=0)
    # 3000 seeds x 16 features: sd of the mean <= 1/sqrt(48000)
    assert np.abs(est - K).max() < 5 / np.sqrt(48000)


def test_weights_scale_and_mean_change_the_kernel():
    X = points(n=20, d=4)
    s, mu = 0.5, 0.3
    Z = RandomFourierFeatures(
        gamma=1.0, n_components=30000, weights={"scale": s, "mean": mu}, random_state=0
    ).fit_transform(X)
    Dsum = X.sum(1)[:, None] - X.sum(1)[None, :]
    K = np.cos(mu * Dsum) * kernel("rbf", s * s, X, X)
    assert np.abs(Z @ Z.T - K).max() < 6 / np.sqrt(30000)
    W = (
        RandomFourierFeatures(n_components=4000, weights={"mean": 2.0}, random_state=0)
        .fit(X)
        .random_weights_
    )
    assert abs(W.mean() - 2.0) < 0.1


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("Est", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_feature_map_matches_numpy_reference(Est, dtype):
    X = points(n=50, d=13).astype(dtype)
    est = Est(n_components=70, random_state=5).fit(X)
    Z = est.transform(X)
    assert Z.dtype == dtype and Z.shape == (50, 70)
    W = est.random_weights_
    assert W.shape == (13, 70)
    P = X.astype(np.float64) @ W
    if Est is RandomReLUFeatures:
        ref = np.sqrt(2 / 70) * np.maximum(P, 0)
    else:
        b = est.random_offset_
        assert b.shape == (70,) and b.min() >= 0 and b.max() < 2 * np.pi
        ref = np.sqrt(2 / 70) * np.cos(P + b)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(Z, ref, atol=tol)


@given(
    x=st.lists(
        st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False), min_size=1, max_size=64
    )
)
@settings(max_examples=60, deadline=None)
def test_fused_cosine_matches_numpy(x):
    """The core's vectorized cosine against NumPy's for arbitrary arguments (a 1-feature
    map with unit weight and the offsets subtracted gives cos of the input)."""
    X = np.asarray(x, dtype=np.float64)[:, None]
    est = RandomFourierFeatures(n_components=3, random_state=0).fit(X)
    W = est.random_weights_
    ref = np.sqrt(2 / 3) * np.cos(X @ W + est.random_offset_)
    assert_allclose(est.transform(X), ref, atol=1e-12 * max(1.0, np.abs(X @ W).max()))


# --------------------------------------------------------------------------- orthogonality
def test_orf_rows_are_orthogonal_within_blocks_and_chi_scaled():
    d = 12
    X = points(d=d)
    est = OrthogonalRandomFeatures(gamma=0.5, n_components=30, random_state=0).fit(X)
    W = est.random_weights_.T  # (30, d)
    for b0 in (0, 12, 24):
        blk = W[b0 : b0 + d]
        G = blk @ blk.T
        off = G - np.diag(np.diag(G))
        assert np.abs(off).max() < 1e-10 * np.abs(G).max()
    # Rows are N(0, 2 gamma I) in law: mean squared norm 2 gamma d.
    many = OrthogonalRandomFeatures(gamma=0.5, n_components=12 * 400, random_state=1).fit(X)
    norms2 = (many.random_weights_**2).sum(0)
    assert abs(norms2.mean() / d - 1.0) < 0.05


def test_sorf_rows_are_orthogonal_with_equal_norms():
    d = 13  # padded to 16
    X = points(d=d)
    est = StructuredOrthogonalFeatures(gamma=2.0, n_components=32, random_state=0).fit(X)
    fm = est._feature_map()
    assert fm.n_components == 32
    # The full (padded) rows: apply the map's structure to the basis of R^16 via a
    # 16-feature fit with the same seed.
    full = StructuredOrthogonalFeatures(gamma=2.0, n_components=32, random_state=0)
    W16 = full.fit(points(d=16)).random_weights_.T  # (32, 16)
    for b0 in (0, 16):
        blk = W16[b0 : b0 + 16]
        G = blk @ blk.T
        assert_allclose(G, np.diag(np.diag(G)), atol=1e-9)
        assert_allclose(np.diag(G), 2 * 2.0 * 16, rtol=1e-12)  # ||w||^2 = 2 gamma d'
    # d = 13 uses the first 13 columns of the same rows.
    assert_allclose(est.random_weights_.T, W16[:, :13], atol=1e-12)


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("Est", ALL)
def test_same_bits_for_one_and_many_threads(Est):
    X = points(n=300, d=33).astype(np.float32)
    est = Est(n_components=130, random_state=9).fit(X)
    before = sk.get_num_threads()
    try:
        sk.set_num_threads(1)
        one = est.transform(X)
        sk.set_num_threads(4)
        many = est.transform(X)
    finally:
        sk.set_num_threads(before)
    assert_array_equal(one, many)


def test_rows_do_not_depend_on_the_batch():
    X = points(n=100, d=20)
    est = StructuredOrthogonalFeatures(n_components=50, random_state=0).fit(X)
    assert_array_equal(est.transform(X)[37:38], est.transform(X[37:38]))
    est = RandomFourierFeatures(n_components=50, random_state=0).fit(X)
    assert_array_equal(est.transform(X)[37:38], est.transform(X[37:38]))


def test_pickle_roundtrip_and_seed_reproducibility():
    X = points()
    est = StructuredOrthogonalFeatures(n_components=20, random_state=4).fit(X)
    est2 = pickle.loads(pickle.dumps(est))
    assert_array_equal(est.transform(X), est2.transform(X))
    again = StructuredOrthogonalFeatures(n_components=20, random_state=4).fit(X)
    assert_array_equal(est.transform(X), again.transform(X))


def test_drop_in_for_rbfsampler():
    X = points(n=30, d=5)
    ours = RandomFourierFeatures(gamma="scale", n_components=20, random_state=0).fit(X)
    theirs = RBFSampler(gamma="scale", n_components=20, random_state=0).fit(X)
    assert ours.random_weights_.shape == theirs.random_weights_.shape
    assert ours.random_offset_.shape == theirs.random_offset_.shape
    assert ours.gamma_ == pytest.approx(theirs._gamma)
    assert list(ours.get_feature_names_out()) == [f"randomfourierfeatures{i}" for i in range(20)]
    assert set(RBFSampler().get_params()) <= set(ours.get_params())


# --------------------------------------------------------------------------- bad input
X0 = points(n=5, d=3)


@pytest.mark.parametrize(
    "est, exc, match",
    [
        (RandomFourierFeatures(gamma=0.0), ValueError, "gamma"),
        (RandomFourierFeatures(gamma=-1.0), ValueError, "gamma"),
        (RandomFourierFeatures(gamma=float("nan")), ValueError, "gamma"),
        (RandomFourierFeatures(gamma="auto"), ValueError, "gamma"),
        (RandomFourierFeatures(gamma=[1.0]), TypeError, "gamma"),
        (RandomFourierFeatures(n_components=0), ValueError, "n_components"),
        (RandomFourierFeatures(n_components=-3), ValueError, "n_components"),
        (RandomFourierFeatures(n_components=2.5), TypeError, "n_components"),
        (RandomFourierFeatures(kernel="poly"), ValueError, "kernel"),
        (RandomFourierFeatures(weights={"scale": 0.0}), ValueError, "weights"),
        (RandomFourierFeatures(weights={"scale": float("inf")}), ValueError, "weights"),
        (RandomFourierFeatures(weights={"mean": float("nan")}), ValueError, "weights"),
        (RandomFourierFeatures(weights={"sd": 1.0}), ValueError, "weights"),
        (RandomFourierFeatures(weights=(1.0, 0.0)), TypeError, "weights"),
        (RandomFourierFeatures(random_state="x"), TypeError, "random_state"),
        (RandomReLUFeatures(n_components=0), ValueError, "n_components"),
    ],
)
def test_bad_parameters_name_the_argument(est, exc, match):
    with pytest.raises(exc, match=match):
        est.fit(X0)


@pytest.mark.parametrize("Est", ALL)
def test_bad_data(Est):
    est = Est(n_components=4, random_state=0).fit(X0)
    with pytest.raises(ValueError, match="X has 2 features"):
        est.transform(X0[:, :2])
    bad = X0.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.transform(bad)
    with pytest.raises(ValueError, match="Input X contains NaN|Input X contains infinity"):
        Est(n_components=4).fit(np.where(bad == bad, bad, np.inf))


def test_structured_kernel_rule_is_the_cores():
    from sketchkit import _native

    with pytest.raises(ValueError, match="kernel"):
        _native.RandomFeatureMap("structured", "laplacian", 4, 4, 1.0, 1.0, 0.0, 0)
    with pytest.raises(ValueError, match="map"):
        _native.RandomFeatureMap("nope", "rbf", 4, 4, 1.0, 1.0, 0.0, 0)
    with pytest.raises(OverflowError, match="n_components"):
        _native.RandomFeatureMap("fourier", "rbf", 2**40, 2**40, 1.0, 1.0, 0.0, 0)
