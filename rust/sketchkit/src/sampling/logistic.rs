//! Coresets for logistic regression: adaptive importance sampling after the
//! "optimal subsampling" scheme for large-sample logistic regression (Wang, Zhu and
//! Ma, 2018, mVc probabilities), refined in stages.
//!
//! 1. **Pilot.** `m₀ = ⌈π m⌉` i.i.d. uniform draws (`π` = [`DEFAULT_PILOT`]); a ridge
//!    logistic regression with intercept is fitted on them by Newton's method, with
//!    weights `n / m₀` (so its ridge is relative to the full data, like a fit on all
//!    rows with the same `λ`).
//! 2. **Stages.** The other `m − m₀` rows are drawn in `stages` stages of sizes
//!    `m_t` (as even as possible). Each stage scores every row at the current fit `β`,
//!    `s_i = |y_i − σ(z_iᵀβ)| · ‖z_i‖₂` with `z_i = (x_i, 1)` (the norm of row `i`'s
//!    log-likelihood gradient: rows the fit already classifies confidently and
//!    correctly get small scores; misclassified and far-out rows large ones), mixes
//!    them with the uniform floor, `q_i = (1 − α) s_i / Σ s + α / n`, and includes row
//!    `i` with probability `π_i = min(1, c q_i)`, `c` chosen so that `Σ π_i = m_t`
//!    (rows whose share would pass one are taken for certain), by systematic sampling
//!    in row order (exactly `m_t` rows, one uniform number). The fit is then redone on
//!    every row drawn so far.
//! 3. **Weights.** With `M = m₀ + Σ m_t` drawn in all, a pilot draw weighs
//!    `(m₀/M) · n/m₀` and a row of stage `t` weighs `(m_t/M) / π_i`. Each part is
//!    unbiased for sums over the rows given the parts before it, and the shares sum to
//!    one, so `E[Σ w f] = Σ f` for every per-row quantity `f` (in particular the
//!    weighted logistic loss is unbiased for every `β`).
//!
//! The stages matter on heavy-tailed data: a uniform pilot of a few dozen rows can be
//! far off there, and its gradient norms then point at the wrong rows; each stage's
//! fit is better than the last. Sampling without replacement at capped
//! probabilities keeps the rows that dominate the loss from being drawn again and
//! again. [`DEFAULT_PILOT`] and [`DEFAULT_STAGES`] were chosen on synthetic tuning sets
//! (Student-t coordinates with 1.2 and 1.5 degrees of freedom, log-normal row scales,
//! Gaussian features with a few Cauchy ones) distinct from the benchmark's reported
//! data.

use super::{derive, iid_sample, Sample, SampleSize};
use crate::error::{try_vec, Result, SketchError};
use crate::linalg::faer::{Mat, MatRef};
use crate::rng::{open01, tag, Stream};

/// Default share `π` of the sample spent on the pilot (chosen on a tuning set of data
/// sets distinct from the reported ones; see the module notes).
pub const DEFAULT_PILOT: f64 = 0.25;
/// Default number of stages of the adaptive draw after the pilot (fewer when fewer
/// rows remain).
pub const DEFAULT_STAGES: usize = 8;
/// Default ridge `λ` of the pilot fit: `½ λ ‖β‖² + Σ w_i ℓ_i` (scikit-learn's
/// `LogisticRegression` default `C = 1/λ = 1`; the intercept is not penalized).
pub const DEFAULT_RIDGE: f64 = 1.0;
/// Most Newton iterations of the pilot fit.
const NEWTON_MAX_ITER: usize = 100;
/// Newton's stopping rule: the decrement `gᵀ H⁻¹ g / 2` below this.
const NEWTON_TOL: f64 = 1e-12;

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^t)` without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

/// `x_iᵀ β + β₀` (the last coefficient is the intercept).
fn margin(a: MatRef<'_, f64>, i: usize, beta: &[f64]) -> f64 {
    let d = a.ncols();
    let mut t = beta[d];
    for j in 0..d {
        t += a[(i, j)] * beta[j];
    }
    t
}

/// Ridge logistic regression with intercept on the weighted rows `rows` (row index,
/// weight) of `a` by damped Newton: minimizes
/// `½ λ ‖β‖² + Σ_i w_i [log(1 + e^{t_i}) − y_i t_i]`. Returns `(β, β₀)` as one vector
/// of length `d + 1`.
pub fn fit_logistic(
    a: MatRef<'_, f64>,
    y: &[u32],
    rows: &[(usize, f64)],
    ridge: f64,
) -> Result<Vec<f64>> {
    let d = a.ncols();
    let p = d + 1;
    let objective = |beta: &[f64]| -> f64 {
        let reg: f64 = beta[..d].iter().map(|b| b * b).sum::<f64>() * 0.5 * ridge;
        reg + rows
            .iter()
            .map(|&(i, w)| {
                let t = margin(a, i, beta);
                w * (softplus(t) - f64::from(y[i]) * t)
            })
            .sum::<f64>()
    };
    let mut beta = try_vec(p, 0.0, "the pilot's coefficients")?;
    let mut f = objective(&beta);
    for _ in 0..NEWTON_MAX_ITER {
        let mut g = Mat::<f64>::zeros(p, 1);
        let mut h = Mat::<f64>::zeros(p, p);
        for j in 0..d {
            g[(j, 0)] = ridge * beta[j];
            h[(j, j)] = ridge;
        }
        // The intercept is not penalized; a tiny diagonal keeps H positive definite
        // when every pilot probability saturates.
        h[(d, d)] = 1e-12;
        for &(i, w) in rows {
            let t = margin(a, i, &beta);
            let pi = sigmoid(t);
            let r = w * (pi - f64::from(y[i]));
            let c = w * pi * (1.0 - pi);
            for j in 0..p {
                let zj = if j < d { a[(i, j)] } else { 1.0 };
                g[(j, 0)] += r * zj;
                for l in 0..=j {
                    let zl = if l < d { a[(i, l)] } else { 1.0 };
                    h[(j, l)] += c * zj * zl;
                }
            }
        }
        for j in 0..p {
            for l in 0..j {
                h[(l, j)] = h[(j, l)];
            }
        }
        let llt = h.as_ref().llt(faer::Side::Lower).map_err(|_| {
            SketchError::arg("X", "the pilot fit's Hessian is not positive definite")
        })?;
        let step = faer::linalg::solvers::Solve::solve(&llt, g.as_ref());
        let decrement: f64 = (0..p).map(|j| g[(j, 0)] * step[(j, 0)]).sum::<f64>() * 0.5;
        if !decrement.is_finite() {
            return Err(SketchError::arg("X", "the pilot fit diverged"));
        }
        if decrement <= NEWTON_TOL * (1.0 + f.abs()) {
            break;
        }
        // Backtracking line search (Armijo) on the convex objective.
        let mut s = 1.0;
        loop {
            let trial: Vec<f64> = (0..p).map(|j| beta[j] - s * step[(j, 0)]).collect();
            let ft = objective(&trial);
            if ft <= f - 0.25 * s * 2.0 * decrement || s < 1e-10 {
                beta = trial;
                f = ft;
                break;
            }
            s *= 0.5;
        }
    }
    Ok(beta)
}

/// Logistic-regression coreset of rows of `a` with two-class labels `y` (codes 0 and
/// 1): see the module notes. `size = Rule` is the ℓ2 leverage rule on `d + 1`
/// dimensions ([`super::leverage_sample_size`]); the sample needs at least two draws
/// (one pilot, one main). `pilot ∈ (0, 1)`, `stages ≥ 1` (at most `m − m₀` are run),
/// `ridge > 0`, `floor ∈ [0, 1]`.
#[allow(clippy::too_many_arguments)]
pub fn logistic_sample(
    a: crate::view::MatRef<'_, f64>,
    y: &[u32],
    size: SampleSize,
    pilot: f64,
    stages: usize,
    ridge: f64,
    floor: f64,
    eps: f64,
    delta: f64,
    seed: u64,
) -> Result<Sample> {
    let a = super::checked(a)?;
    let (n, d) = (a.nrows(), a.ncols());
    if y.len() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "y has {} labels but X has {n} rows",
            y.len()
        )));
    }
    if let Some(&c) = y.iter().find(|&&c| c > 1) {
        return Err(SketchError::arg(
            "y",
            format!("logistic regression needs two classes (codes 0 and 1), got code {c}"),
        ));
    }
    let ones = y.iter().filter(|&&c| c == 1).count();
    if ones == 0 || ones == n {
        return Err(SketchError::arg(
            "y",
            "logistic regression needs rows of both classes",
        ));
    }
    if !(pilot > 0.0 && pilot < 1.0) {
        return Err(SketchError::arg(
            "pilot",
            format!("must lie in (0, 1), got {pilot}"),
        ));
    }
    if stages == 0 {
        return Err(SketchError::arg("stages", "must be at least 1, got 0"));
    }
    if !(ridge > 0.0 && ridge.is_finite()) {
        return Err(SketchError::arg(
            "ridge",
            format!("must be positive and finite, got {ridge}"),
        ));
    }
    super::check_floor(floor)?;
    super::check_eps_delta(eps, delta)?;
    let m = size.resolve(n, || {
        Ok(super::leverage_sample_size((d + 1) as f64, eps, delta)?.min(n))
    })?;
    if m < 2 {
        return Err(SketchError::arg(
            "n_samples",
            format!("needs at least 2 draws (a pilot and a main draw), got {m}"),
        ));
    }
    let m0 = ((pilot * m as f64).ceil() as usize).clamp(1, m - 1);
    // The pilot: uniform i.i.d. draws (floor 1), its own stream; a row's weight within
    // the pilot is n/m0 per draw (repeats merged).
    let uniform = try_vec(n, 0.0, "the pilot's probabilities")?;
    let pilot_sample = iid_sample(&uniform, 1.0, m0, derive(seed, 40), 0)?;
    // Every row drawn so far: (row, its part's size, its Horvitz–Thompson weight
    // within the part).
    let mut drawn: Vec<(usize, usize, f64)> = Vec::new();
    drawn
        .try_reserve_exact(pilot_sample.indices.len() + m - m0)
        .map_err(|_| SketchError::Alloc(format!("{m} sampled rows")))?;
    drawn.extend(
        pilot_sample
            .indices
            .iter()
            .zip(&pilot_sample.weights)
            .map(|(&i, &w)| (i, m0, w)),
    );
    let weighted = |drawn: &[(usize, usize, f64)], total: usize| -> Vec<(usize, f64)> {
        drawn
            .iter()
            .map(|&(i, part, hw)| (i, part as f64 / total as f64 * hw))
            .collect()
    };
    let mut beta = fit_logistic(a, y, &weighted(&drawn, m0), ridge)?;
    let norms: Vec<f64> = (0..n)
        .map(|i| (1.0 + (0..d).map(|j| a[(i, j)] * a[(i, j)]).sum::<f64>()).sqrt())
        .collect();
    let rest = m - m0;
    let stages = stages.min(rest);
    let mut total = m0;
    let mut stream = Stream::new(derive(seed, 41), tag::SAMPLING, 0);
    let mut q = try_vec(n, 0.0, "the scores")?;
    for t in 0..stages {
        let mt = rest / stages + usize::from(t < rest % stages);
        for (i, qi) in q.iter_mut().enumerate() {
            let pi = sigmoid(margin(a, i, &beta));
            *qi = (f64::from(y[i]) - pi).abs() * norms[i];
        }
        // Mixed with the floor; uniform when no row has a usable score.
        let sum: f64 = q.iter().sum();
        let scored = sum > 0.0 && sum.is_finite();
        for qi in q.iter_mut() {
            *qi = if scored {
                (1.0 - floor) * (*qi / sum) + floor / n as f64
            } else {
                1.0 / n as f64
            };
        }
        let incl = capped_inclusion(&q, mt);
        let u = open01(stream.next_u64());
        drawn.extend(systematic(&incl, u).map(|i| (i, mt, 1.0 / incl[i])));
        total += mt;
        if t + 1 < stages {
            beta = fit_logistic(a, y, &weighted(&drawn, total), ridge)?;
        }
    }
    Ok(Sample::from_draws(weighted(&drawn, total)))
}

/// Inclusion probabilities `π_i = min(1, c q_i)` with `Σ π_i = m` (`q ≥ 0`, at least
/// `m` positive entries, else every positive row gets one): the rows whose share
/// `m q_i / Σ q` would pass one are taken for certain and the rest share what is
/// left in proportion to `q`.
fn capped_inclusion(q: &[f64], m: usize) -> Vec<f64> {
    let mut order: Vec<usize> = (0..q.len()).filter(|&i| q[i] > 0.0).collect();
    if order.len() <= m {
        let mut out = vec![0.0; q.len()];
        for i in order {
            out[i] = 1.0;
        }
        return out;
    }
    order.sort_by(|&i, &j| q[j].total_cmp(&q[i]).then(i.cmp(&j)));
    // suffix[r] = Σ of q over order[r..].
    let mut suffix = vec![0.0; order.len() + 1];
    for r in (0..order.len()).rev() {
        suffix[r] = suffix[r + 1] + q[order[r]];
    }
    // The smallest r (rows taken for certain) with c = (m − r) / suffix[r] leaving
    // the next row below one. It stops before m: at r = m − 1 one draw is shared by
    // more than one row, each below one.
    let mut r = 0;
    while r < m && (m - r) as f64 * q[order[r]] >= suffix[r] {
        r += 1;
    }
    let c = (m - r) as f64 / suffix[r];
    let mut out: Vec<f64> = q.iter().map(|&v| (c * v).min(1.0)).collect();
    for &i in &order[..r] {
        out[i] = 1.0;
    }
    out
}

/// Systematic sampling in row order: the rows whose cumulative inclusion interval
/// holds one of the points `u, u + 1, u + 2, …` (`u ∈ (0, 1)`). Row `i` is taken with
/// probability exactly `π_i` (`π_i ≤ 1`), and `Σ π` rows in all when that is a whole
/// number.
fn systematic(pi: &[f64], u: f64) -> impl Iterator<Item = usize> + '_ {
    let mut next = u;
    let mut cum = 0.0;
    pi.iter().enumerate().filter_map(move |(i, &p)| {
        cum += p;
        if p > 0.0 && cum > next {
            next += 1.0;
            Some(i)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newton_matches_the_stationarity_condition() {
        // 1-D data with overlap: the ridge fit's gradient vanishes at the optimum.
        let xs = [-2.0, -1.0, -0.5, 0.0, 0.3, 0.8, 1.5, 2.5];
        let ys = [0u32, 0, 1, 0, 1, 0, 1, 1];
        let a = Mat::from_fn(8, 1, |i, _| xs[i]);
        let rows: Vec<(usize, f64)> = (0..8).map(|i| (i, 1.0)).collect();
        let beta = fit_logistic(a.as_ref(), &ys, &rows, 1.0).unwrap();
        let (mut g0, mut g1) = (beta[0], 0.0);
        for i in 0..8 {
            let r = sigmoid(beta[0] * xs[i] + beta[1]) - f64::from(ys[i]);
            g0 += r * xs[i];
            g1 += r;
        }
        assert!(g0.abs() < 1e-8 && g1.abs() < 1e-8, "gradient {g0} {g1}");
    }

    #[test]
    fn capped_inclusion_sums_to_m_and_caps_the_largest() {
        let q = [50.0, 1.0, 2.0, 0.0, 3.0, 1.0, 20.0, 1.0];
        let pi = capped_inclusion(&q, 4);
        assert!((pi.iter().sum::<f64>() - 4.0).abs() < 1e-12, "{pi:?}");
        assert_eq!((pi[0], pi[6], pi[3]), (1.0, 1.0, 0.0));
        // The rest share the two remaining draws in proportion to q.
        let c = 2.0 / 8.0;
        for i in [1, 2, 4, 5, 7] {
            assert!((pi[i] - c * q[i]).abs() < 1e-12, "{i}: {}", pi[i]);
        }
        // Fewer positive rows than draws: every positive row for certain.
        assert_eq!(capped_inclusion(&[1.0, 0.0, 2.0], 3), vec![1.0, 0.0, 1.0]);
    }

    #[test]
    fn systematic_sampling_takes_each_row_with_its_probability() {
        let pi = [0.3, 1.0, 0.05, 0.65, 0.5, 0.5, 0.0, 1.0];
        let grid = 2000;
        let mut hits = [0usize; 8];
        for k in 0..grid {
            let u = (k as f64 + 0.5) / grid as f64;
            let rows: Vec<usize> = systematic(&pi, u).collect();
            assert_eq!(rows.len(), 4, "u = {u}: {rows:?}");
            for i in rows {
                hits[i] += 1;
            }
        }
        // Over a uniform grid of u the frequency is π_i to within one grid step.
        for (i, &h) in hits.iter().enumerate() {
            assert!(
                (h as f64 / grid as f64 - pi[i]).abs() <= 1.0 / grid as f64,
                "{i}: {h}"
            );
        }
    }
}
