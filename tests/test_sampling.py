"""Row samplers with guarantees (sketchkit.selection: Leverage/Sensitivity/DPP/Volume/RS2).

Statistical checks use fixed seeds and bounds of several standard deviations (or
chi-square quantiles), against probabilities computed here by brute-force enumeration.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import sketchkit as sk
from sketchkit import _native
from sketchkit.selection import (
    DPPSampler,
    LeverageSampler,
    RS2Sampler,
    SensitivitySampler,
    VolumeSampler,
    coreset_loss_ratio,
    dpp_marginals,
    lewis_weights,
    sensitivity_scores,
)

DEFAULTS = _native.sampling_defaults()


def _leverage(X):
    q, _ = np.linalg.qr(X)
    return (q**2).sum(axis=1)


def _dpp_subsets(X, k):
    """Every k-subset with its probability under P(S) ∝ det(X_S X_Sᵀ)."""
    subs = list(itertools.combinations(range(X.shape[0]), k))
    w = np.array([np.linalg.det(X[list(s)] @ X[list(s)].T) for s in subs])
    return subs, w / w.sum()


def _marginals(subs, probs, n):
    pi = np.zeros(n)
    for s, p in zip(subs, probs, strict=True):
        pi[list(s)] += p
    return pi


def _binomial_ok(freq, p, trials, z=4.5):
    sd = np.sqrt(np.maximum(p * (1 - p), 1e-12) / trials)
    return np.all(np.abs(freq - p) <= z * sd + 1e-12), (freq, p)


# ----------------------------------------------------------------- exact probabilities


@pytest.mark.parametrize("k", [None, 2])
def test_dpp_inclusion_matches_enumeration(k):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 3))
    subs, probs = _dpp_subsets(X, 3 if k is None else k)
    pi = _marginals(subs, probs, 7)
    np.testing.assert_allclose(dpp_marginals(X, k), pi, atol=1e-10)
    trials = 3000
    counts = np.zeros(len(subs))
    freq = np.zeros(7)
    for seed in range(trials):
        s = DPPSampler(k, random_state=seed).fit(X)
        counts[subs.index(tuple(s.sample_indices_))] += 1
        freq[s.sample_indices_] += 1
        np.testing.assert_allclose(s.sample_weight_, 1 / pi[s.sample_indices_], rtol=1e-9)
    ok, info = _binomial_ok(freq / trials, pi, trials)
    assert ok, info
    # chi-square over subsets with expected count >= 5, the rest pooled
    exp = probs * trials
    big = exp >= 5
    obs = np.append(counts[big], counts[~big].sum())
    ex = np.append(exp[big], exp[~big].sum())
    ex, obs = ex[ex > 0], obs[ex > 0]
    chi2 = float(((obs - ex) ** 2 / ex).sum())
    dof = len(ex) - 1
    assert chi2 < dof + 6 * math.sqrt(2 * dof), (chi2, dof)


def test_volume_sampling_matches_enumeration():
    rng = np.random.default_rng(1)
    n, d, m = 5, 2, 3
    X = rng.standard_normal((n, d))
    q = _leverage(X) / d
    expect = np.zeros(n)
    z = 0.0
    for seq in itertools.product(range(n), repeat=m):
        g = sum(np.outer(X[i], X[i]) / q[i] for i in seq)
        p = np.linalg.det(g) * np.prod(q[list(seq)])
        z += p
        for i in seq:
            expect[i] += p
    expect /= z
    np.testing.assert_allclose(expect, m * q, atol=1e-10)  # the weights' closed form
    trials = 3000
    copies = np.zeros(n)
    for seed in range(trials):
        s = VolumeSampler(m, random_state=seed).fit(X)
        c = np.rint(s.sample_weight_ * m * q[s.sample_indices_])
        assert c.sum() == m
        copies[s.sample_indices_] += c
    # copies per draw lie in [0, m]: sd of the mean <= m / 2 / sqrt(trials)
    assert np.all(np.abs(copies / trials - expect) < 5 * (m / 2) / math.sqrt(trials))


def test_lewis_weights_fixed_point_and_sum():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4)) * rng.exponential(size=(60, 1))
    np.testing.assert_allclose(lewis_weights(X, 2.0), _leverage(X), rtol=1e-9)
    for p in (0.5, 1.0, 3.0):
        w = lewis_weights(X, p)
        assert abs(w.sum() - 4) < 1e-6
        M = X.T @ (X * (w ** (1 - 2 / p))[:, None])
        fixed = np.einsum("ij,jk,ik->i", X, np.linalg.inv(M), X) ** (p / 2)
        np.testing.assert_allclose(w, fixed, rtol=1e-6)


def test_sensitivity_bounds_dominate_sampled_ratios():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 3)) * rng.pareto(2.0, size=(80, 1))
    for p in (1.0, 3.0):
        for method in DEFAULTS["sensitivities"]:
            s, probs, total, rank = sensitivity_scores(X, p, sensitivity=method)
            assert rank == 3 and abs(probs.sum() - 1) < 1e-9 and abs(s.sum() - total) < 1e-9
            # sup_x |x_i x|^p / ||X x||_p^p over random directions never exceeds s_i
            xs = rng.standard_normal((3, 2000))
            ratio = np.abs(X @ xs) ** p / (np.abs(X @ xs) ** p).sum(axis=0)
            assert np.all(ratio.max(axis=1) <= s * (1 + 1e-9)), (p, method)


# ----------------------------------------------------------------- unbiasedness


@pytest.mark.parametrize(
    "make",
    [
        lambda s: LeverageSampler(12, random_state=s),
        lambda s: LeverageSampler(12, ridge=1.0, method="approx", random_state=s),
        lambda s: SensitivitySampler(1.0, 12, random_state=s),
        lambda s: SensitivitySampler(3.0, 12, sensitivity="hybrid", random_state=s),
        lambda s: DPPSampler(random_state=s),
        lambda s: DPPSampler(2, random_state=s),
        lambda s: VolumeSampler(8, random_state=s),
        lambda s: VolumeSampler(8, scheme="repeated", random_state=s),
    ],
)
def test_weighted_sums_are_unbiased(make):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 3)) * rng.exponential(size=(40, 1))
    f = rng.random(40) + 0.5
    est = np.empty(1500)
    for seed in range(est.size):
        s = make(seed).fit(X)
        est[seed] = s.sample_weight_ @ f[s.sample_indices_]
    sd = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - f.sum()) < 5 * sd, (est.mean(), f.sum(), sd)


def test_volume_sampling_least_squares_is_unbiased():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 2))
    y = X @ np.array([1.0, -2.0]) + rng.standard_normal(30) * rng.exponential(size=30)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    betas = np.empty((2000, 2))
    for seed in range(betas.shape[0]):
        s = VolumeSampler(3, random_state=seed).fit(X)
        sw = np.sqrt(s.sample_weight_)
        i = s.sample_indices_
        betas[seed] = np.linalg.lstsq(X[i] * sw[:, None], y[i] * sw, rcond=None)[0]
    sd = betas.std(axis=0) / math.sqrt(betas.shape[0])
    assert np.all(np.abs(betas.mean(axis=0) - beta) < 5 * sd), (betas.mean(axis=0), beta)


# ----------------------------------------------------------------- sample-size rules


def test_sample_size_rules():
    eps, delta = DEFAULTS["eps"], DEFAULTS["delta"]
    log = math.log(2 * 5 / delta) / eps**2
    assert _native.sampling_sample_size(1.0, 5.0, 5.0, eps, delta, False) == math.ceil(25 * log)
    assert _native.sampling_sample_size(2.0, 5.0, 5.0, eps, delta, False) == math.ceil(5 * log)
    m3 = _native.sampling_sample_size(3.0, 30.0, 5.0, eps, delta, False)
    assert m3 == math.ceil(30 ** (4 / 3) * log)
    h3 = _native.sampling_sample_size(3.0, 30.0, 5.0, eps, delta, True)
    assert h3 == math.ceil(min(30 ** (4 / 3), 5 ** (2 / 3) * 30 ** (2 / 3)) * log)


def _draws(s, n):
    """Number of draws of an i.i.d. sampler run with floor=1 (uniform: w = c n / m)."""
    return int(round(n / s.sample_weight_.min()))


def test_default_sizes_follow_the_rules():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((2000, 3))
    eps, delta = DEFAULTS["eps"], DEFAULTS["delta"]
    rule = math.ceil(3 * math.log(2 * 3 / delta) / eps**2)
    s = LeverageSampler(floor=1.0, random_state=0).fit(X)
    assert _draws(s, 2000) == rule
    s = SensitivitySampler(1.0, floor=1.0, random_state=0).fit(X)
    _, _, total, rank = sensitivity_scores(X, 1.0)
    want = _native.sampling_sample_size(1.0, total, rank, eps, delta, False)
    assert _draws(s, 2000) == min(want, 2000)
    assert DPPSampler(random_state=0).fit(X).sample_indices_.size == 3
    v = VolumeSampler(random_state=0).fit(X)
    q = _leverage(X) / 3
    assert np.rint(v.sample_weight_ * rule * q[v.sample_indices_]).sum() == rule
    # fractions and counts
    s = LeverageSampler(0.05, floor=1.0, random_state=0).fit(X)
    assert _draws(s, 2000) == 100


# ----------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    "make",
    [
        lambda: LeverageSampler(300, method="approx", random_state=7),
        lambda: SensitivitySampler(1.0, 300, sensitivity="hybrid", random_state=7),
        lambda: DPPSampler(random_state=7),
        lambda: DPPSampler(method="approx", random_state=7),
        lambda: VolumeSampler(50, random_state=7),
        lambda: RS2Sampler(0.1, epoch=3, random_state=7),
    ],
)
def test_determinism_any_thread_count(make, restore_threads):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((10000, 6))
    y = (rng.random(10000) < 0.3).astype(int)
    out = []
    for threads in (1, 4, 1):
        sk.set_num_threads(threads)
        a = make().fit(X)
        b = make().fit(X, y)
        out.append((a.sample_indices_, a.sample_weight_, b.sample_indices_, b.sample_weight_))
    for other in out[1:]:
        for u, v in zip(out[0], other, strict=True):
            np.testing.assert_array_equal(u, v)
    assert not np.array_equal(make().set_params(random_state=8).fit(X).sample_indices_, out[0][0])


# ----------------------------------------------------------------- stratification


def test_stratification():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((600, 3))
    y = np.array(["a"] * 500 + ["b"] * 100)
    f = rng.random(600)
    s = DPPSampler(random_state=0).fit(X, y)
    labels = y[s.sample_indices_]
    assert (labels == "a").sum() == 3 and (labels == "b").sum() == 3
    np.testing.assert_array_equal(s.classes_, ["a", "b"])
    # counts are split in proportion; weights are unbiased per class
    s = LeverageSampler(60, floor=1.0, random_state=0).fit(X, y)
    w, i = s.sample_weight_, s.sample_indices_
    assert round(500 / w[y[i] == "a"].min()) == 50 and round(100 / w[y[i] == "b"].min()) == 10
    est = []
    for seed in range(300):
        s = LeverageSampler(0.1, random_state=seed).fit(X, y)
        b = y[s.sample_indices_] == "b"
        est.append(s.sample_weight_[b] @ f[s.sample_indices_][b])
    assert abs(np.mean(est) - f[500:].sum()) < 5 * np.std(est) / math.sqrt(300)
    Xr, yr = RS2Sampler(0.1, random_state=0).fit_resample(X, y)
    assert (yr == "a").sum() == 50 and (yr == "b").sum() == 10


# ----------------------------------------------------------------- RS2


def test_rs2_epochs_partition_and_reproduce():
    n = 1003
    r = RS2Sampler(0.3, random_state=5)
    e = r.epochs_per_round(n)
    assert e == 4
    first = list(r.epochs(n, 2 * e))
    assert sorted(np.concatenate(first[:e]).tolist()) == list(range(n))
    assert sorted(np.concatenate(first[e:]).tolist()) == list(range(n))
    assert not np.array_equal(first[0], first[e])
    np.testing.assert_array_equal(r.epoch_indices(n, 6), first[6])
    assert RS2Sampler(100, random_state=5).epochs_per_round(n) == 11
    # epochs differ in order from a sorted range (a real permutation)
    assert not np.array_equal(first[0], np.sort(first[0]))


def test_rs2_torch_sampler():
    torch = pytest.importorskip("torch")
    s = RS2Sampler(0.25, random_state=1).torch_sampler(100)
    loader = torch.utils.data.DataLoader(torch.arange(100), sampler=s, batch_size=10)
    seen = [torch.cat(list(loader)) for _ in range(4)]
    assert sorted(torch.cat(seen).tolist()) == list(range(100))


# ----------------------------------------------------------------- pipelines, coresets


def test_imblearn_pipeline():
    imblearn = pytest.importorskip("imblearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(10)
    X = rng.standard_normal((400, 4))
    y = (X[:, 0] + 0.3 * rng.standard_normal(400) > 0).astype(int)
    for sampler in (
        SensitivitySampler(1.0, 0.3, random_state=0),
        LeverageSampler(0.3, random_state=0),
        DPPSampler(random_state=0),
        VolumeSampler(40, random_state=0),
        RS2Sampler(0.3, random_state=0),
    ):
        pipe = imblearn.pipeline.Pipeline([("s", sampler), ("clf", LogisticRegression())])
        assert pipe.fit(X, y).score(X, y) > 0.7


def test_coreset_loss_ratio():
    rng = np.random.default_rng(11)
    X = np.column_stack([rng.standard_normal((300, 2)), np.ones(300)])
    y = X @ np.array([1.0, 2.0, 0.5]) + rng.standard_normal(300)
    yc = (y > 0.5).astype(int)
    for loss, target in (("l2", y), ("l1", y), ("logistic", yc)):
        full = coreset_loss_ratio(X, target, np.arange(300), loss=loss)
        assert abs(full - 1) < 1e-6, (loss, full)
        s = SensitivitySampler(2.0 if loss == "l2" else 1.0, 60, random_state=0)
        s.fit(np.column_stack([X, y]) if loss != "logistic" else X)
        r = coreset_loss_ratio(X, target, s.sample_indices_, s.sample_weight_, loss=loss)
        assert 1 - 1e-6 <= r < 2, (loss, r)


# ----------------------------------------------------------------- bad input


def test_bad_inputs():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((50, 3))
    y = np.array([0] * 25 + [1] * 25)
    bad = [
        (SensitivitySampler(0.0), ValueError, "p"),
        (SensitivitySampler(-1.0), ValueError, "p"),
        (SensitivitySampler(4.0), ValueError, "p"),
        (SensitivitySampler(1.0, sensitivity="nope"), ValueError, "sensitivity"),
        (DPPSampler(4), ValueError, "rank"),
        (DPPSampler(2, method="approx"), ValueError, "n_samples"),
        (VolumeSampler(2), ValueError, "rank"),
        (VolumeSampler(5, scheme="x"), ValueError, "scheme"),
        (LeverageSampler(0), ValueError, "n_samples"),
        (LeverageSampler(-3), ValueError, "n_samples"),
        (LeverageSampler(1.5), ValueError, "n_samples"),
        (LeverageSampler("10"), TypeError, "n_samples"),
        (LeverageSampler(True), TypeError, "n_samples"),
        (LeverageSampler(10, floor=2.0), ValueError, "floor"),
        (LeverageSampler(10, ridge=-1.0), ValueError, "ridge"),
        (LeverageSampler(10, method="fast"), ValueError, "method"),
        (LeverageSampler(eps=1.5), ValueError, "eps"),
        (LeverageSampler(delta=0.0), ValueError, "delta"),
        (RS2Sampler(epoch=-1), ValueError, "epoch"),
        (RS2Sampler(100), ValueError, "n_samples"),
    ]
    for sampler, exc, word in bad:
        with pytest.raises(exc, match=word):
            sampler.fit(X)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    for sampler in (LeverageSampler(10), DPPSampler(), RS2Sampler()):
        with pytest.raises(ValueError, match="NaN"):
            sampler.fit(Xn)
    with pytest.raises(ValueError, match="single class"):
        DPPSampler().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="n_samples"):
        LeverageSampler(1).fit(X, y)  # fewer draws than classes
    with pytest.raises(ValueError, match="y"):
        LeverageSampler(10).fit(X, y[:10])
    # an empty class (codes that skip one) is refused by the core
    codes = np.array([0] * 25 + [2] * 25, dtype=np.uint32)
    with pytest.raises(ValueError, match="class 1 has no rows"):
        _native.dpp_sample(X, codes, 3, None, "exact", 0)
    with pytest.raises(ValueError, match="class 1 has no rows"):
        _native.rs2_epoch(50, 0.1, 0, 0, codes, 3)
    with pytest.raises(ValueError, match="rank 0"):
        DPPSampler().fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="X"):
        LeverageSampler().fit(np.ones(5))
    with pytest.raises(ValueError, match="loss"):
        coreset_loss_ratio(X, y, [0, 1], loss="hinge")
    with pytest.raises(ValueError, match="indices"):
        coreset_loss_ratio(X, y, [0, 99])
    with pytest.raises(ValueError, match="p"):
        lewis_weights(X, 5.0)
