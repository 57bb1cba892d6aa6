"""LogisticSampler: unbiased weights, the pilot fit, the scores, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

import sketchkit as sk  # noqa: E402
from sketchkit import _native  # noqa: E402
from sketchkit.selection import LogisticSampler, coreset_loss_ratio  # noqa: E402

DEFAULTS = _native.sampling_defaults()


def _data(n=400, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.exponential(size=(n, 1))
    y = (X @ np.arange(1.0, d + 1) + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_weighted_sums_are_unbiased():
    X, y = _data(n=60)
    f = np.random.default_rng(1).random(60) + 0.5
    est = np.empty(1500)
    for seed in range(est.size):
        s = LogisticSampler(12, calibrate=False, random_state=seed).fit(X, y)
        est[seed] = s.sample_weight_ @ f[s.sample_indices_]
    sd = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - f.sum()) < 5 * sd, (est.mean(), f.sum(), sd)


@pytest.mark.parametrize("stages", [1, 3])
def test_weighted_sums_are_unbiased_for_any_number_of_stages(stages):
    X, y = _data(n=60, seed=4)
    f = np.random.default_rng(2).random(60) + 0.5
    est = np.empty(1200)
    for seed in range(est.size):
        s = LogisticSampler(12, stages=stages, calibrate=False, random_state=seed).fit(X, y)
        est[seed] = s.sample_weight_ @ f[s.sample_indices_]
    sd = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - f.sum()) < 5 * sd, (est.mean(), f.sum(), sd)


def test_stages_draw_distinct_rows_with_capped_probabilities():
    # floor = 0 and one row far out on the wrong side: its share of the scores passes
    # one, so every stage takes it for certain (weight (m_t / m) / 1 per stage).
    rng = np.random.default_rng(6)
    n = 3000
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] > 0).astype(int)
    X[0] = [-1e4, 0.0]
    y[0] = 1
    stages = DEFAULTS["stages"]
    m = 80  # the pilot's share, then at least 3 rows per stage (so m_t q_0 > 1)
    assert m - math.ceil(DEFAULTS["pilot"] * m) >= 3 * stages
    s = LogisticSampler(m, floor=0.0, calibrate=False, random_state=1).fit(X, y)
    assert 0 in s.sample_indices_
    w0 = s.sample_weight_[s.sample_indices_ == 0][0]
    m0 = math.ceil(DEFAULTS["pilot"] * m)
    # Row 0 is certain in every stage, so its weight is exactly the stages' total share
    # (m - m0) / m plus n / m per pilot draw that hit it (i.i.d. draws would not give
    # this exact lattice).
    pilot_copies = (w0 - (m - m0) / m) / (n / m)
    assert pilot_copies > -1e-9
    assert abs(pilot_copies - round(pilot_copies)) < 1e-9, pilot_copies


def test_pilot_share_and_floor_one_give_the_documented_weights():
    # floor = 1: both draws are uniform, so every draw weighs n / m whatever the
    # pilot's fit: the total weight is n and each row's weight is (copies) * n / m.
    X, y = _data()
    n, m = X.shape[0], 50
    s = LogisticSampler(m, floor=1.0, calibrate=False, random_state=3).fit(X, y)
    copies = s.sample_weight_ * m / n
    np.testing.assert_allclose(copies, np.rint(copies), atol=1e-9)
    assert int(np.rint(copies).sum()) == m


def test_scores_follow_the_pilot_gradient_norms():
    # Rows far out on the wrong side of a clean separator are drawn far more often than
    # uniform; rows the pilot classifies confidently and correctly almost never.
    rng = np.random.default_rng(2)
    n = 4000
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] > 0).astype(int)
    bad = np.arange(20)
    X[bad, 0] = 6.0 * np.where(y[bad] == 1, -1, 1)  # mislabelled, far out
    hits = np.zeros(n)
    for seed in range(20):
        s = LogisticSampler(200, floor=0.0, random_state=seed).fit(X, y)
        hits[s.sample_indices_] += 1
    assert hits[bad].mean() > 10 * hits[20:].mean()


def test_coreset_beats_uniform_at_the_same_size():
    rng = np.random.default_rng(5)
    n = 6000
    X = rng.standard_normal((n, 4))
    y = (X @ np.array([2.0, -1.0, 0.5, 0.0]) + 0.3 * rng.logistic(size=n) > 0).astype(int)
    ours, unif = [], []
    for seed in range(7):
        s = LogisticSampler(150, random_state=seed).fit(X, y)
        ours.append(coreset_loss_ratio(X, y, s.sample_indices_, s.sample_weight_, loss="logistic"))
        u = np.random.default_rng(seed).choice(n, 150, replace=False)
        unif.append(coreset_loss_ratio(X, y, u, np.full(150, n / 150), loss="logistic"))
    assert np.median(ours) < np.median(unif)


def test_determinism_any_thread_count(restore_threads):
    X, y = _data(n=5000, d=5, seed=8)
    out = []
    for threads in (1, 4):
        sk.set_num_threads(threads)
        s = LogisticSampler(300, random_state=7).fit(X, y)
        out.append((s.sample_indices_, s.sample_weight_))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    other = LogisticSampler(300, random_state=8).fit(X, y).sample_indices_
    assert not np.array_equal(other, out[0][0])


def test_default_size_is_the_leverage_rule_on_d_plus_one():
    X, y = _data(n=3000, d=3)
    eps, delta = DEFAULTS["eps"], DEFAULTS["delta"]
    rule = math.ceil(4 * math.log(2 * 4 / delta) / eps**2)
    s = LogisticSampler(floor=1.0, calibrate=False, random_state=0).fit(X, y)
    assert int(round(3000 / s.sample_weight_.min())) == rule


@pytest.mark.parametrize(
    ("kwargs", "y_kind", "match"),
    [
        ({"pilot": 0.0}, "two", "pilot"),
        ({"pilot": 1.0}, "two", "pilot"),
        ({"stages": 0}, "two", "stages"),
        ({"stages": -2}, "two", "stages"),
        ({"ridge": 0.0}, "two", "ridge"),
        ({"floor": 1.5}, "two", "floor"),
        ({"calibration_ridge": -0.1}, "two", "calibration_ridge"),
        ({"calibration_ridge": float("inf")}, "two", "calibration_ridge"),
        ({"n_samples": 1}, "two", "n_samples"),
        ({}, "three", "y"),
        ({}, "one", "y"),
        ({}, "none", "y"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, y_kind, match):
    X, y = _data(n=50)
    y = {
        "two": y,
        "three": np.arange(50) % 3,
        "one": np.zeros(50, dtype=int),
        "none": None,
    }[y_kind]
    with pytest.raises(ValueError, match=match):
        LogisticSampler(**{"n_samples": 10, **kwargs}).fit_resample(X, y)


def _heavy(n=20000, d=12, seed=11):
    rng = np.random.default_rng(seed)
    X = rng.standard_t(1.3, (n, d))
    y = (X @ rng.standard_normal(d) + rng.logistic(size=n) > 0).astype(int)
    return X, y


def _calibration_rows(X, y, beta, b0):
    """Per row: the count and the log-likelihood gradient at (beta, b0),
    ``(1, (σ(z·β) − y) z)`` with ``z = (x, 1)``."""
    from scipy.special import expit

    r = expit(X @ beta + b0) - y
    return np.column_stack([np.ones(X.shape[0]), r[:, None] * X, r])


def _sample_fit(X, y, idx, h):
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X[idx], y[idx], h)
    return fit.coef_[0], fit.intercept_[0]


def test_calibration_moves_the_weighted_gradient_to_the_full_one():
    # Same rows either way; the calibrated weights are positive, and their count and
    # gradient at the sample's own fit are closer to the full data's: the misses, each
    # in units of its Horvitz–Thompson standard error, shrink to under half.
    X, y = _heavy()
    raw = LogisticSampler(400, calibrate=False, random_state=3).fit(X, y)
    cal = LogisticSampler(400, random_state=3).fit(X, y)
    np.testing.assert_array_equal(raw.sample_indices_, cal.sample_indices_)
    assert np.all(cal.sample_weight_ > 0)
    idx, h = raw.sample_indices_, raw.sample_weight_
    A = _calibration_rows(X, y, *_sample_fit(X, y, idx, h))
    full = A.sum(axis=0)
    var = (h * (h - 1)) @ A[idx] ** 2
    miss_raw = h @ A[idx] - full
    miss_cal = cal.sample_weight_ @ A[idx] - full
    assert np.sum(miss_cal**2 / var) < 0.5 * np.sum(miss_raw**2 / var)


def test_exact_raking_meets_the_totals():
    # calibration_ridge = 0: the weighted count is n and the gradient at the sample's
    # fit is the full one (to the solvers' tolerance).
    X, y = _heavy(n=8000, d=4, seed=5)
    raw = LogisticSampler(600, calibrate=False, random_state=1).fit(X, y)
    cal = LogisticSampler(600, calibration_ridge=0.0, random_state=1).fit(X, y)
    idx, h = raw.sample_indices_, raw.sample_weight_
    A = _calibration_rows(X, y, *_sample_fit(X, y, idx, h))
    size = np.abs(A).sum(axis=0)
    np.testing.assert_allclose(
        cal.sample_weight_ @ A[idx], A.sum(axis=0), rtol=0, atol=1e-6 * size.max()
    )
    assert not np.allclose(h @ A[idx], A.sum(axis=0), rtol=0, atol=1e-3 * size.max())


def test_calibrated_sums_are_nearly_unbiased_with_a_smaller_error():
    # Design-consistent, not exactly unbiased: over many seeds the calibrated weighted
    # sum of a quantity unrelated to the calibration totals has a bias well inside its
    # spread, and a smaller mean squared error than the Horvitz–Thompson weights'.
    X, y = _data(n=2000, seed=3)
    f = np.random.default_rng(4).random(2000) + 0.5
    err = {}
    for calibrate in (False, True):
        est = np.empty(400)
        for seed in range(est.size):
            s = LogisticSampler(100, calibrate=calibrate, random_state=seed).fit(X, y)
            est[seed] = s.sample_weight_ @ f[s.sample_indices_]
        err[calibrate] = (est.mean() - f.sum(), np.mean((est - f.sum()) ** 2), est.std())
    bias, mse, sd = err[True]
    assert abs(bias) < 0.25 * sd, err
    assert mse < err[False][1], err


def test_calibration_improves_the_coreset_on_heavy_tails():
    X, y = _heavy(n=12000, d=10, seed=2)
    raw, cal = [], []
    for seed in range(7):
        for out, kw in ((raw, {"calibrate": False}), (cal, {})):
            s = LogisticSampler(300, random_state=seed, **kw).fit(X, y)
            out.append(
                coreset_loss_ratio(X, y, s.sample_indices_, s.sample_weight_, loss="logistic")
            )
    assert np.median(cal) < np.median(raw)


def test_calibrate_must_be_a_bool():
    X, y = _data(n=50)
    with pytest.raises(TypeError, match="calibrate"):
        LogisticSampler(10, calibrate="yes").fit(X, y)


def test_stages_must_be_an_integer():
    X, y = _data(n=50)
    with pytest.raises(TypeError, match="stages"):
        LogisticSampler(10, stages=1.5).fit(X, y)


def test_nan_is_refused():
    X, y = _data(n=50)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        LogisticSampler(10).fit(X, y)
