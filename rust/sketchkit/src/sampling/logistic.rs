//! Coresets for logistic regression: two-step importance sampling after the
//! "optimal subsampling" scheme for large-sample logistic regression (Wang, Zhu and
//! Ma, 2018, mVc probabilities).
//!
//! 1. **Pilot.** `m₀ = ⌈π m⌉` i.i.d. uniform draws (`π` = [`DEFAULT_PILOT`]); a ridge
//!    logistic regression with intercept is fitted on them by Newton's method, with
//!    weights `n / m₀` (so its ridge is relative to the full data, like a fit on all
//!    rows with the same `λ`).
//! 2. **Scores.** With the pilot's probabilities `p̃_i`,
//!    `s_i = |y_i − p̃_i| · ‖(x_i, 1)‖₂`: the norm of row `i`'s gradient of the
//!    log-likelihood at the pilot. Rows the pilot already classifies confidently and
//!    correctly get small scores; misclassified and far-out rows large ones.
//! 3. **Main draw.** `m − m₀` i.i.d. draws from `s / Σ s` mixed with the uniform floor
//!    ([`super::iid_sample`]).
//!
//! The sample is the mixture of both draws: pilot rows weigh `(m₀/m) · n/m₀`, main
//! rows `(1 − m₀/m) · w_i` with `w_i` the main draw's Horvitz–Thompson weights, so
//! `E[Σ w f] = Σ f` for every per-row quantity `f` (each part is unbiased and their
//! shares sum to one).

use super::{derive, iid_sample, Sample, SampleSize};
use crate::error::{try_vec, Result, SketchError};
use crate::linalg::faer::{Mat, MatRef};

/// Default share `π` of the sample spent on the pilot (chosen on a tuning set of data
/// sets distinct from the reported ones; see the benchmark's notes).
pub const DEFAULT_PILOT: f64 = 0.4;
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

/// Ridge logistic regression with intercept on rows `rows` of `a` (each with weight
/// `w`) by damped Newton: minimizes `½ λ ‖β‖² + w Σ_i [log(1 + e^{t_i}) − y_i t_i]`.
/// Returns `(β, β₀)` as one vector of length `d + 1`.
pub fn fit_logistic(
    a: MatRef<'_, f64>,
    y: &[u32],
    rows: &[usize],
    w: f64,
    ridge: f64,
) -> Result<Vec<f64>> {
    let d = a.ncols();
    let p = d + 1;
    let objective = |beta: &[f64]| -> f64 {
        let reg: f64 = beta[..d].iter().map(|b| b * b).sum::<f64>() * 0.5 * ridge;
        reg + rows
            .iter()
            .map(|&i| {
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
        for &i in rows {
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
/// (one pilot, one main). `pilot ∈ (0, 1)`, `ridge > 0`, `floor ∈ [0, 1]`.
#[allow(clippy::too_many_arguments)]
pub fn logistic_sample(
    a: crate::view::MatRef<'_, f64>,
    y: &[u32],
    size: SampleSize,
    pilot: f64,
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
    if !(ridge > 0.0 && ridge.is_finite()) {
        return Err(SketchError::arg(
            "ridge",
            format!("must be positive and finite, got {ridge}"),
        ));
    }
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
    // The pilot: uniform i.i.d. draws (floor 1), its own stream.
    let uniform = try_vec(n, 0.0, "the pilot's probabilities")?;
    let pilot_sample = iid_sample(&uniform, 1.0, m0, derive(seed, 40), 0)?;
    let pilot_rows: Vec<usize> = pilot_sample.indices.clone();
    // Repeated pilot rows count once per draw in the fit: weight n/m0 per draw.
    let mut fit_rows = Vec::new();
    fit_rows
        .try_reserve_exact(m0)
        .map_err(|_| SketchError::Alloc(format!("{m0} pilot rows")))?;
    for (&i, &wi) in pilot_sample.indices.iter().zip(&pilot_sample.weights) {
        let copies = (wi * m0 as f64 / n as f64).round().max(1.0) as usize;
        fit_rows.extend(std::iter::repeat_n(i, copies));
    }
    let beta = fit_logistic(a, y, &fit_rows, n as f64 / m0 as f64, ridge)?;
    let mut scores = try_vec(n, 0.0, "the scores")?;
    for (i, s) in scores.iter_mut().enumerate() {
        let pi = sigmoid(margin(a, i, &beta));
        let norm2: f64 = 1.0 + (0..d).map(|j| a[(i, j)] * a[(i, j)]).sum::<f64>();
        *s = (f64::from(y[i]) - pi).abs() * norm2.sqrt();
    }
    let total: f64 = scores.iter().sum();
    let probs: Vec<f64> = if total > 0.0 && total.is_finite() {
        scores.iter().map(|s| s / total).collect()
    } else {
        vec![1.0 / n as f64; n]
    };
    let main = iid_sample(&probs, floor, m - m0, derive(seed, 41), 0)?;
    let share = m0 as f64 / m as f64;
    let mut draws: Vec<(usize, f64)> = pilot_rows
        .iter()
        .zip(&pilot_sample.weights)
        .map(|(&i, &w)| (i, share * w))
        .collect();
    draws.extend(
        main.indices
            .iter()
            .zip(&main.weights)
            .map(|(&i, &w)| (i, (1.0 - share) * w)),
    );
    Ok(Sample::from_draws(draws))
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
        let rows: Vec<usize> = (0..8).collect();
        let beta = fit_logistic(a.as_ref(), &ys, &rows, 1.0, 1.0).unwrap();
        let (mut g0, mut g1) = (beta[0], 0.0);
        for i in 0..8 {
            let r = sigmoid(beta[0] * xs[i] + beta[1]) - f64::from(ys[i]);
            g0 += r * xs[i];
            g1 += r;
        }
        assert!(g0.abs() < 1e-8 && g1.abs() < 1e-8, "gradient {g0} {g1}");
    }
}
