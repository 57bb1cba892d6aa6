"""Sliced distances: exact 1-D Wasserstein via sorting and SciPy for weighted
measures, unbiasedness, control variates, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import energy_distance, wasserstein_distance

import sketchkit as sk
from sketchkit import _native
from sketchkit.distances import (
    distribution_shift,
    sliced_energy_distance,
    sliced_projections,
    sliced_wasserstein,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def w1d_sorted(u, v, p):
    """W_p^p between equal-size uniform samples: match sorted values."""
    return np.mean(np.abs(np.sort(u) - np.sort(v)) ** p)


def per_direction_reference(X, Y, theta, p):
    return np.array([w1d_sorted(X @ t, Y @ t, p) for t in theta])


# --------------------------------------------------------------------------- exact 1-D
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_per_projection_costs_equal_sorting_reference(p):
    X, Y = rng(0).normal(size=(200, 5)), rng(1).normal(size=(200, 5)) * 1.5 + 0.3
    r = sliced_wasserstein(X, Y, n_projections=17, p=p, seed=4, control_variates=False)
    theta = sliced_projections(5, 17, seed=4)
    assert_allclose(np.linalg.norm(theta, axis=1), 1.0, rtol=1e-14)
    ref = per_direction_reference(X, Y, theta, p)
    assert_allclose(r.per_projection, ref, rtol=1e-10)
    assert r.power == pytest.approx(ref.mean(), rel=1e-12)
    assert r.mc_power == r.power
    assert r.distance == pytest.approx(ref.mean() ** (1 / p), rel=1e-12)


def test_one_dimension_is_exact_for_uneven_sizes():
    u, v = rng(2).normal(size=137), rng(3).exponential(size=61)
    r = sliced_wasserstein(u, v, n_projections=4, p=1, control_variates=False, seed=0)
    # Every direction in 1-D is +-1: W_1 itself, which SciPy computes.
    assert_allclose(r.per_projection, wasserstein_distance(u, v), rtol=1e-12)


@given(
    n=st.integers(1, 30),
    m=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_weighted_one_dimension_matches_scipy(n, m, seed):
    g = rng(seed)
    u, v = g.normal(size=n), g.normal(size=m) + 0.5
    a, b = g.uniform(0.0, 1.0, size=n) + 1e-3, g.uniform(0.0, 1.0, size=m) + 1e-3
    r = sliced_wasserstein(u, v, n_projections=4, p=1, weights=(a, b), seed=0)
    assert_allclose(r.per_projection, wasserstein_distance(u, v, a, b), rtol=1e-9, atol=1e-12)
    e = sliced_energy_distance(u, v, n_projections=4, weights=(a, b), seed=0)
    assert_allclose(e.per_projection, energy_distance(u, v, a, b) ** 2, rtol=1e-9, atol=1e-12)


def test_uniform_weights_equal_no_weights():
    X, Y = rng(0).normal(size=(50, 3)), rng(1).normal(size=(70, 3))
    r0 = sliced_wasserstein(X, Y, n_projections=20, seed=1, control_variates=False)
    r1 = sliced_wasserstein(
        X,
        Y,
        n_projections=20,
        seed=1,
        control_variates=False,
        weights=(np.full(50, 3.0), None),
    )
    assert_allclose(r0.per_projection, r1.per_projection, rtol=1e-12)


def test_energy_distance_uneven_sizes_matches_scipy():
    u, v = rng(5).normal(size=40), rng(6).normal(size=90) * 2
    e = sliced_energy_distance(u, v, n_projections=4, seed=0, control_variates=False)
    assert_allclose(e.per_projection, energy_distance(u, v) ** 2, rtol=1e-10)


# --------------------------------------------------------------------------- estimator
def exact_sw2_2d(X, Y, grid=4096):
    """SW_2^2 in 2-D by quadrature over the half circle (the cost is even in theta)."""
    ang = (np.arange(grid) + 0.5) * np.pi / grid
    theta = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return per_direction_reference(X, Y, theta, 2).mean()


def test_plain_monte_carlo_is_unbiased():
    X, Y = rng(0).normal(size=(60, 2)) * [1, 3], rng(1).normal(size=(60, 2)) + [2, 0]
    exact = exact_sw2_2d(X, Y)
    ests = [
        sliced_wasserstein(X, Y, n_projections=8, seed=s, control_variates=False)
        for s in range(400)
    ]
    vals = np.array([r.power for r in ests])
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean() - exact) < 4 * se
    # and the reported standard error matches the spread over seeds
    assert np.mean([r.power_std_error for r in ests]) == pytest.approx(vals.std(), rel=0.3)


def test_control_variates_reduce_variance_and_stay_centered():
    g = rng(0)
    X = g.normal(size=(300, 10)) * np.linspace(0.5, 2, 10)
    Y = g.normal(size=(250, 10)) + 0.4
    exact = sliced_wasserstein(X, Y, n_projections=20000, seed=99, control_variates=False).power
    mc = np.array(
        [
            sliced_wasserstein(X, Y, n_projections=50, seed=s, control_variates=False).power
            for s in range(200)
        ]
    )
    cv = np.array([sliced_wasserstein(X, Y, n_projections=50, seed=s).power for s in range(200)])
    assert cv.var() < mc.var() / 2
    assert abs(cv.mean() - exact) < 4 * cv.std() / np.sqrt(200) + 4 * mc.std() / np.sqrt(20000 / 50)


def test_control_variate_means_are_exact():
    """C_low and C_up have the closed-form means used by the estimator: with Z replaced
    by the upper variate itself the corrected estimate is exactly its mean."""
    X, Y = rng(0).normal(size=(40, 4)), rng(1).normal(size=(30, 4)) * 2 + 1
    # Gaussian data and W_2: the estimate lies between the two variates' means.
    mx, my = X.mean(0), Y.mean(0)
    low = ((mx - my) ** 2).sum() / 4
    up = low + (X.var(0).sum() + Y.var(0).sum()) / 4
    r = sliced_wasserstein(X, Y, n_projections=400, seed=0)
    assert low <= r.power <= up


def test_identical_samples_give_zero():
    X = rng(0).normal(size=(30, 3))
    r = sliced_wasserstein(X, X.copy(), n_projections=10, seed=0)
    assert r.power == pytest.approx(0.0, abs=1e-14)
    assert r.distance == pytest.approx(0.0, abs=1e-7)


# --------------------------------------------------------------------------- determinism
def test_same_bits_for_one_and_many_threads():
    X = rng(0).normal(size=(3000, 16)).astype(np.float32)
    Y = rng(1).normal(size=(2000, 16)).astype(np.float32)
    before = sk.get_num_threads()
    try:
        sk.set_num_threads(1)
        one = sliced_wasserstein(X, Y, n_projections=150, seed=3)
        sk.set_num_threads(4)
        many = sliced_wasserstein(X, Y, n_projections=150, seed=3)
    finally:
        sk.set_num_threads(before)
    assert_array_equal(one.per_projection, many.per_projection)
    assert one.power == many.power and one.power_std_error == many.power_std_error


def test_float32_close_to_float64():
    X, Y = rng(0).normal(size=(500, 8)), rng(1).normal(size=(400, 8)) + 0.2
    r64 = sliced_wasserstein(X, Y, n_projections=30, seed=1)
    r32 = sliced_wasserstein(X.astype(np.float32), Y.astype(np.float32), n_projections=30, seed=1)
    assert_allclose(r32.per_projection, r64.per_projection, rtol=1e-4)


# --------------------------------------------------------------------------- shift score
def test_distribution_shift_ranks_subsets():
    g = rng(0)
    X = np.vstack([g.normal(size=(1000, 5)), g.normal(size=(1000, 5)) + 3])
    random_subset = g.choice(2000, 200, replace=False)
    one_cluster = np.arange(200)
    a = distribution_shift(X, random_subset)
    b = distribution_shift(X, one_cluster)
    assert a.distance < 0.3 < b.distance


# --------------------------------------------------------------------------- bad input
X0, Y0 = rng(0).normal(size=(10, 3)), rng(1).normal(size=(8, 3))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"p": 0.5}, ValueError, "p"),
        ({"p": float("inf")}, ValueError, "p"),
        ({"p": "two"}, TypeError, "p"),
        ({"n_projections": 0}, ValueError, "n_projections"),
        ({"n_projections": -1}, ValueError, "n_projections"),
        ({"n_projections": 2}, ValueError, "n_projections"),
        ({"n_projections": 1.5}, TypeError, "n_projections"),
        ({"control_variates": "middle"}, ValueError, "control_variates"),
        ({"control_variates": 3}, TypeError, "control_variates"),
        ({"weights": (np.ones(9), None)}, ValueError, "weights"),
        ({"weights": (-np.ones(10), None)}, ValueError, "weights"),
        ({"weights": (np.zeros(10), None)}, ValueError, "weights"),
        ({"weights": (None, np.full(8, np.nan))}, ValueError, "weights"),
        ({"weights": np.ones(10)}, TypeError, "weights"),
        ({"seed": "s"}, TypeError, "seed"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sliced_wasserstein(X0, Y0, **{"n_projections": 10, **kwargs})


def test_bad_data():
    with pytest.raises(ValueError, match="features"):
        sliced_wasserstein(X0, Y0[:, :2])
    bad = X0.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains NaN"):
        sliced_wasserstein(bad, Y0)
    with pytest.raises(ValueError, match="Input Y contains NaN"):
        sliced_wasserstein(X0, bad)
    with pytest.raises(ValueError, match="X is empty"):
        sliced_wasserstein(np.zeros((0, 3)), Y0)
    with pytest.raises(ValueError, match="Y is empty"):
        sliced_wasserstein(X0, np.zeros((0, 3)))
    with pytest.raises(ValueError, match="indices"):
        distribution_shift(X0, [0, 10])
    with pytest.raises(ValueError, match="n_projections"):
        _native.sliced_projections(3, 0, 0)
