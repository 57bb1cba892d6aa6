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
//!    `(m₀/M) · n/m₀` and a row of stage `t` weighs `(m_t/M) / π_i` (Horvitz–Thompson
//!    weights `h_i`). Each part is unbiased for sums over the rows given the parts
//!    before it, and the shares sum to one, so `E[Σ h f] = Σ f` for every per-row
//!    quantity `f` (in particular the weighted logistic loss is unbiased for every
//!    `β`).
//! 4. **Calibration** (`calibration`, on by default in the bindings). The fit is
//!    redone on the whole sample, `β̃`, and the weights are raked (Deville and
//!    Särndal's exponential calibration) toward the full-data totals
//!    `T = Σ_{i=1}^n a_i` of `a_i = (1, (σ(z_iᵀβ̃) − y_i) z_i)`, the count and the
//!    log-likelihood gradient at `β̃`, which one more pass over the rows gives
//!    exactly. The weights `w_i = h_i exp(λᵀa_i)` minimize
//!    `Σ_S (w_i ln(w_i/h_i) − w_i + h_i) + Σ_j (Σ_S w_i a_ij − T_j)² / (2κV_j)`, `V_j`
//!    the Horvitz–Thompson estimate of the variance of total `j` and `κ` the ridge
//!    (default [`CALIBRATION_RIDGE`]): a total is met up to a miss of the order of its
//!    own sampling noise times `κ`, so a small sample in many dimensions is not
//!    pushed to extreme weights. A fit on the sample then starts from (nearly) the
//!    full data's gradient instead of an estimate of it; the error left is mostly the
//!    sampled Hessian's, second order near the optimum. The weights stay positive;
//!    the estimator is design-consistent (bias `O(1/m)`) rather than exactly
//!    unbiased. When Newton's method on the dual fails the Horvitz–Thompson weights
//!    are kept; `calibration = None` keeps them always.
//!
//! The stages matter on heavy-tailed data: a uniform pilot of a few dozen rows can be
//! far off there, and its gradient norms then point at the wrong rows; each stage's
//! fit is better than the last. Sampling without replacement at capped
//! probabilities keeps the rows that dominate the loss from being drawn again and
//! again. [`DEFAULT_PILOT`], [`DEFAULT_STAGES`], [`DEFAULT_FLOOR`] and
//! [`CALIBRATION_RIDGE`] were chosen on tuning sets (`benches/tune_sampling.py`:
//! Student-t coordinates with 1.2 and 1.5 degrees of freedom, log-normal and Pareto
//! row scales, Gaussian features with a few Cauchy ones, digits, wine and
//! `make_classification`) distinct from the benchmark's reported data: first the
//! calibration and its ridge on the earlier draw (pilot 0.25, 8 stages, floor 0.1),
//! then the draw under the calibration, confirmed on fresh seeds.

use super::{derive, iid_sample, Sample, SampleSize};
use crate::error::{try_vec, Result, SketchError};
use crate::linalg::faer::{Mat, MatRef};
use crate::rng::{open01, tag, Stream};

/// Default share `π` of the sample spent on the pilot (chosen on a tuning set of data
/// sets distinct from the reported ones; see the module notes).
pub const DEFAULT_PILOT: f64 = 0.15;
/// Default number of stages of the adaptive draw after the pilot (fewer when fewer
/// rows remain).
pub const DEFAULT_STAGES: usize = 12;
/// Default uniform floor `α` of the stages' probabilities (lower than the other
/// samplers' [`super::DEFAULT_FLOOR`]: the calibration corrects what the floor
/// guarded against).
pub const DEFAULT_FLOOR: f64 = 0.05;
/// Default ridge `λ` of the pilot fit: `½ λ ‖β‖² + Σ w_i ℓ_i` (scikit-learn's
/// `LogisticRegression` default `C = 1/λ = 1`; the intercept is not penalized).
pub const DEFAULT_RIDGE: f64 = 1.0;
/// Most Newton iterations of the pilot fit.
const NEWTON_MAX_ITER: usize = 100;
/// Newton's stopping rule: the decrement `gᵀ H⁻¹ g / 2` below this.
const NEWTON_TOL: f64 = 1e-12;
/// Ridge `κ` of the calibration: a calibrated total may miss the full-data total by
/// `κ V λ`, `V` the Horvitz–Thompson variance estimate of that total (see [`rake`]).
/// Chosen on tuning sets distinct from the reported data (`benches/tune_sampling.py`:
/// 0.05 among 0, 0.01, 0.03, 0.05, 0.1, 0.2 and 1).
pub const CALIBRATION_RIDGE: f64 = 0.05;
/// Most Newton iterations of the calibration.
const CALIBRATE_MAX_ITER: usize = 100;
/// Newton's method on the calibration's dual stops when every entry of its gradient
/// (a calibrated total's miss beyond its ridge term) is within this share of the size
/// of that total's sum, `Σ_S w_i |a_ij|`.
const CALIBRATE_TOL: f64 = 1e-9;

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

/// Newton's direction for a convex objective: `H⁻¹g` and `gᵀH⁻¹g`, from the gradient
/// `g` (a column) and the lower triangle of the Hessian `h` (the Cholesky factorization
/// reads only that triangle, so the upper one need not be filled). `None` when `h` is
/// not positive definite.
fn newton_direction(h: &Mat<f64>, g: &Mat<f64>) -> Option<(Mat<f64>, f64)> {
    let llt = h.as_ref().llt(faer::Side::Lower).ok()?;
    let step = faer::linalg::solvers::Solve::solve(&llt, g.as_ref());
    let gd = (0..g.nrows())
        .map(|j| g[(j, 0)] * step[(j, 0)])
        .sum::<f64>();
    Some((step, gd))
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
        let (step, gd) = newton_direction(&h, &g).ok_or_else(|| {
            SketchError::arg("X", "the pilot fit's Hessian is not positive definite")
        })?;
        let decrement = gd * 0.5;
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
/// `ridge > 0`, `floor ∈ [0, 1]`; `calibration = Some(κ)` (`κ ≥ 0`, e.g.
/// [`CALIBRATION_RIDGE`]) rakes the weights with ridge `κ` (step 4), `None` keeps the
/// Horvitz–Thompson weights.
#[allow(clippy::too_many_arguments)]
pub fn logistic_sample(
    a: crate::view::MatRef<'_, f64>,
    y: &[u32],
    size: SampleSize,
    pilot: f64,
    stages: usize,
    ridge: f64,
    floor: f64,
    calibration: Option<f64>,
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
    if let Some(kappa) = calibration {
        if !(kappa >= 0.0 && kappa.is_finite()) {
            return Err(SketchError::arg(
                "calibration_ridge",
                format!("must be non-negative and finite, got {kappa}"),
            ));
        }
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
        if t + 1 < stages || calibration.is_some() {
            beta = fit_logistic(a, y, &weighted(&drawn, total), ridge)?;
        }
    }
    let mut sample = Sample::from_draws(weighted(&drawn, total));
    if let Some(kappa) = calibration {
        // a_i = (1, (σ(z_iᵀβ̃) − y_i) z_i): the rows' and the sample's values, and
        // the full-data totals (one pass, in row order).
        let k = d + 2;
        let calib = |i: usize, out: &mut [f64]| {
            let r = sigmoid(margin(a, i, &beta)) - f64::from(y[i]);
            out[0] = 1.0;
            for j in 0..d {
                out[1 + j] = r * a[(i, j)];
            }
            out[k - 1] = r;
        };
        let mut row = vec![0.0; k];
        let mut totals = vec![0.0; k];
        for i in 0..n {
            calib(i, &mut row);
            for (t, v) in totals.iter_mut().zip(&row) {
                *t += v;
            }
        }
        let mut rows = try_vec(sample.indices.len() * k, 0.0, "the calibration rows")?;
        for (r, &i) in rows.chunks_exact_mut(k).zip(&sample.indices) {
            calib(i, r);
        }
        if let Some(w) = rake(&rows, k, &sample.weights, &totals, kappa) {
            sample.weights = w;
        }
    }
    Ok(sample)
}

/// Ridge raking (penalized exponential calibration): weights `w_i = h_i exp(λᵀa_i)`
/// (`a` holds the rows `a_i`, `k` values each; `h > 0`), `λ` the minimizer of the
/// convex dual
/// `F(λ) = Σ_i h_i exp(λᵀa_i) − λᵀt + ½ κ Σ_j V_j λ_j²`,
/// with `V_j = max(0, Σ_i h_i (h_i − 1) a_ij²)` the Horvitz–Thompson estimate of the
/// variance of column `j`'s total. At the optimum `Σ_i w_i a_ij = t_j − κ V_j λ_j`:
/// each total is met up to a penalty in units of its own sampling variance, which
/// keeps the weights from chasing totals that a small sample can only meet with
/// extreme weights (`κ = 0` is exact raking). Columns that are zero on every sampled
/// row cannot be moved and are left out. Newton's method with a backtracking line
/// search, columns scaled to unit weighted root mean square first. `None` when
/// Newton's method does not converge (with `κ = 0`: when `t` is out of reach of
/// positive weights and the dual is unbounded below).
fn rake(a: &[f64], k: usize, h: &[f64], t: &[f64], kappa: f64) -> Option<Vec<f64>> {
    let mass: f64 = h.iter().sum();
    // The columns kept and their scales `(Σ h_i a_ij² / Σ h_i)^½`.
    let mut second = vec![0.0f64; k];
    for (r, &hi) in a.chunks_exact(k).zip(h) {
        for (c, v) in second.iter_mut().zip(r) {
            *c += hi * v * v;
        }
    }
    let cols: Vec<usize> = (0..k).filter(|&j| second[j] > 0.0).collect();
    let kk = cols.len();
    let scale: Vec<f64> = cols.iter().map(|&j| (second[j] / mass).sqrt()).collect();
    let a: Vec<f64> = a
        .chunks_exact(k)
        .flat_map(|r| cols.iter().zip(&scale).map(|(&j, c)| r[j] / c))
        .collect();
    let t: Vec<f64> = cols.iter().zip(&scale).map(|(&j, c)| t[j] / c).collect();
    let mut ridge = vec![0.0; kk];
    for (r, &hi) in a.chunks_exact(kk).zip(h) {
        for (c, v) in ridge.iter_mut().zip(r) {
            *c += hi * (hi - 1.0) * v * v;
        }
    }
    for c in ridge.iter_mut() {
        *c = kappa * c.max(0.0);
    }
    let weights = |lambda: &[f64]| -> Vec<f64> {
        a.chunks_exact(kk)
            .zip(h)
            .map(|(r, &hi)| hi * r.iter().zip(lambda).map(|(x, l)| x * l).sum::<f64>().exp())
            .collect()
    };
    let dual = |w: &[f64], lambda: &[f64]| -> f64 {
        let mut f = w.iter().sum::<f64>();
        for j in 0..kk {
            f += lambda[j] * (0.5 * ridge[j] * lambda[j] - t[j]);
        }
        f
    };
    let mut lambda = vec![0.0; kk];
    let mut w = weights(&lambda);
    let mut f = dual(&w, &lambda);
    for _ in 0..CALIBRATE_MAX_ITER {
        // Gradient Σ w_i a_i − t + κVλ, its size Σ w_i |a_i|, and the lower triangle
        // of the Hessian Σ w_i a_i a_iᵀ + κ diag(V).
        let mut g = Mat::<f64>::zeros(kk, 1);
        let mut size = vec![0.0; kk];
        let mut hess = Mat::<f64>::zeros(kk, kk);
        for (r, &wi) in a.chunks_exact(kk).zip(&w) {
            for j in 0..kk {
                g[(j, 0)] += wi * r[j];
                size[j] += wi * r[j].abs();
                for l in 0..=j {
                    hess[(j, l)] += wi * r[j] * r[l];
                }
            }
        }
        let mut met = true;
        for j in 0..kk {
            g[(j, 0)] += ridge[j] * lambda[j] - t[j];
            met &= g[(j, 0)].abs() <= CALIBRATE_TOL * size[j].max(t[j].abs());
        }
        if met {
            return Some(w);
        }
        // A tiny ridge keeps the Hessian definite when columns repeat (an intercept
        // column in `X` repeats the intercept's gradient).
        let top = (0..kk).map(|j| hess[(j, j)]).fold(0.0, f64::max);
        for j in 0..kk {
            hess[(j, j)] += ridge[j] + 1e-13 * top;
        }
        let (step, decrement) = newton_direction(&hess, &g)?;
        if !(decrement.is_finite() && decrement > 0.0) {
            return None;
        }
        // Near the optimum the decrease is below F's rounding: the full Newton step is
        // taken there (the quadratic model is exact to that order).
        let tiny = decrement <= 1e-10 * f.abs();
        let mut s_len = 1.0;
        loop {
            let trial: Vec<f64> = (0..kk).map(|j| lambda[j] - s_len * step[(j, 0)]).collect();
            let wt = weights(&trial);
            let ft = dual(&wt, &trial);
            if ft.is_finite() && (tiny || ft <= f - 0.25 * s_len * decrement) {
                lambda = trial;
                w = wt;
                f = ft;
                break;
            }
            s_len *= 0.5;
            if s_len < 1e-12 {
                return None;
            }
        }
    }
    None
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

    /// 6 rows, k = 3 (a count column and two others), and their weights.
    const RAKE_A: [f64; 18] = [
        1.0, 0.5, -1.0, //
        1.0, -2.0, 0.3, //
        1.0, 1.5, 2.0, //
        1.0, 0.0, -0.7, //
        1.0, -0.4, 1.1, //
        1.0, 3.0, 0.2,
    ];
    const RAKE_H: [f64; 6] = [2.0, 1.0, 3.0, 0.5, 1.5, 1.0];

    /// The `λ` of raked weights: `ln(w_i/h_i) = λᵀa_i`, solved from the first three
    /// rows and checked on the other three (so the weights have the raking form).
    fn raking_lambda(w: &[f64]) -> Vec<f64> {
        let (a, h) = (&RAKE_A, &RAKE_H);
        assert!(w.iter().all(|&v| v > 0.0));
        let r: Vec<f64> = (0..6).map(|i| (w[i] / h[i]).ln()).collect();
        let m = Mat::from_fn(3, 3, |i, j| a[i * 3 + j]);
        let rhs = Mat::from_fn(3, 1, |i, _| r[i]);
        let lambda = faer::linalg::solvers::Solve::solve(&m.as_ref().full_piv_lu(), rhs.as_ref());
        for i in 3..6 {
            let pred: f64 = (0..3).map(|j| a[i * 3 + j] * lambda[(j, 0)]).sum();
            assert!((pred - r[i]).abs() < 1e-8, "row {i}: {pred} vs {}", r[i]);
        }
        (0..3).map(|j| lambda[(j, 0)]).collect()
    }

    #[test]
    fn raking_meets_the_totals_with_positive_weights() {
        let (a, h) = (&RAKE_A, &RAKE_H);
        let t = [10.0, 4.0, 3.5];
        let w = rake(a, 3, h, &t, 0.0).expect("feasible totals");
        for j in 0..3 {
            let got: f64 = (0..6).map(|i| w[i] * a[i * 3 + j]).sum();
            assert!((got - t[j]).abs() < 1e-8, "column {j}: {got} vs {}", t[j]);
        }
        raking_lambda(&w);
        // Totals already met: λ = 0, the weights unchanged (with or without a ridge).
        let t0: Vec<f64> = (0..3)
            .map(|j| (0..6).map(|i| h[i] * a[i * 3 + j]).sum())
            .collect();
        assert_eq!(rake(a, 3, h, &t0, 0.0).unwrap(), h.to_vec());
        assert_eq!(rake(a, 3, h, &t0, 0.5).unwrap(), h.to_vec());
    }

    #[test]
    fn ridge_raking_misses_each_total_by_its_penalty() {
        // Stationarity of the penalized dual: Σ w a_j − t_j = −κ V_j λ_j with
        // V_j = Σ h (h − 1) a_j² (clamped at zero); the misses shrink with κ.
        let (a, h) = (&RAKE_A, &RAKE_H);
        let t = [10.0, 4.0, 3.5];
        let mut last_miss = f64::INFINITY;
        for kappa in [2.0, 0.5, 0.05] {
            let w = rake(a, 3, h, &t, kappa).expect("a ridge always has a solution");
            let lambda = raking_lambda(&w);
            let mut miss = 0.0f64;
            for j in 0..3 {
                let got: f64 = (0..6).map(|i| w[i] * a[i * 3 + j]).sum();
                let v: f64 = (0..6)
                    .map(|i| h[i] * (h[i] - 1.0) * a[i * 3 + j].powi(2))
                    .sum();
                let want = t[j] - kappa * v.max(0.0) * lambda[j];
                assert!(
                    (got - want).abs() < 1e-7,
                    "κ {kappa}, column {j}: {got} vs {want}"
                );
                miss = miss.max((got - t[j]).abs());
            }
            assert!(
                miss > 0.0 && miss < last_miss,
                "κ {kappa}: {miss} after {last_miss}"
            );
            last_miss = miss;
        }
    }

    #[test]
    fn raking_refuses_totals_out_of_reach() {
        // Every sampled value of the second column is positive, its total negative: no
        // positive weights meet it exactly; a ridge moves the total toward it.
        let a = [1.0, 0.5, 1.0, 2.0, 1.0, 0.1];
        let h = [2.0, 2.0, 2.0];
        assert!(rake(&a, 2, &h, &[3.0, -1.0], 0.0).is_none());
        let w = rake(&a, 2, &h, &[3.0, -1.0], 0.1).expect("a ridge always has a solution");
        let moved: f64 = (0..3).map(|i| w[i] * a[2 * i + 1]).sum();
        assert!(moved > 0.0 && moved < 2.0 * 2.6, "{moved}");
        // A column that is zero on the sample cannot move: it is left out, and the
        // others are still met.
        let a = [1.0, 0.0, 1.0, 0.0];
        let w = rake(&a, 2, &[1.0, 1.0], &[3.0, 0.5], 0.0).unwrap();
        assert!((w[0] + w[1] - 3.0).abs() < 1e-9, "{w:?}");
    }

    #[test]
    fn calibrated_weights_move_to_the_full_gradient_at_the_sample_fit() {
        // Heavy-tailed rows: the calibrated sample's count and weighted gradient at β̃
        // (the fit on the Horvitz–Thompson weights) move to the full data's; the rows
        // drawn are the same with or without calibration.
        let (n, d) = (3000, 3);
        let mut st = Stream::new(7, tag::SAMPLING, 0);
        let data: Vec<f64> = (0..n * d)
            .map(|_| {
                let u = open01(st.next_u64());
                let v = open01(st.next_u64());
                (u - 0.5) / v.powf(0.7)
            })
            .collect();
        let view = crate::view::MatRef::from_row_major(&data, n, d).unwrap();
        let x = super::super::checked(view).unwrap();
        let y: Vec<u32> = (0..n)
            .map(|i| {
                let t = x[(i, 0)] - 0.5 * x[(i, 1)] + 0.2;
                u32::from(open01(st.next_u64()) < sigmoid(t))
            })
            .collect();
        let run = |calibration| {
            logistic_sample(
                view,
                &y,
                SampleSize::Count(120),
                0.25,
                4,
                1.0,
                0.1,
                calibration,
                0.1,
                0.1,
                5,
            )
            .unwrap()
        };
        let (raw, cal) = (run(None), run(Some(CALIBRATION_RIDGE)));
        assert_eq!(raw.indices, cal.indices);
        assert_ne!(raw.weights, cal.weights);
        assert!(cal.weights.iter().all(|&w| w > 0.0));
        let rows: Vec<(usize, f64)> = raw
            .indices
            .iter()
            .copied()
            .zip(raw.weights.iter().copied())
            .collect();
        let beta = fit_logistic(x, &y, &rows, 1.0).unwrap();
        // a_i = (1, (σ(z_iᵀβ̃) − y_i) z_i).
        let calib = |i: usize| -> Vec<f64> {
            let r = sigmoid(margin(x, i, &beta)) - f64::from(y[i]);
            let mut v = vec![1.0];
            v.extend((0..d).map(|j| r * x[(i, j)]));
            v.push(r);
            v
        };
        let k = d + 2;
        let full: Vec<f64> = (0..k).map(|j| (0..n).map(|i| calib(i)[j]).sum()).collect();
        let total = |s: &Sample, j: usize| -> f64 {
            s.indices
                .iter()
                .zip(&s.weights)
                .map(|(&i, &w)| w * calib(i)[j])
                .sum()
        };
        // The primal of the ridge raking minimizes KL(w‖h) + Σ_j miss_j² / (2κV_j), so
        // at its optimum that sum is at most its value at w = h (KL zero there): the
        // variance-weighted miss falls by at least 2κ·KL; here to well under half.
        let (mut before, mut after) = (0.0, 0.0);
        for (j, &tj) in full.iter().enumerate() {
            let v: f64 = raw
                .indices
                .iter()
                .zip(&raw.weights)
                .map(|(&i, &h)| h * (h - 1.0) * calib(i)[j].powi(2))
                .sum();
            before += (total(&raw, j) - tj).powi(2) / v;
            after += (total(&cal, j) - tj).powi(2) / v;
        }
        let kl: f64 = raw
            .weights
            .iter()
            .zip(&cal.weights)
            .map(|(&h, &w)| w * (w / h).ln() - w + h)
            .sum();
        let kappa = CALIBRATION_RIDGE;
        assert!(kl > 0.0);
        assert!(
            after + 2.0 * kappa * kl <= before * (1.0 + 1e-6),
            "{after} + 2κ·{kl} vs {before}"
        );
        assert!(after < 0.5 * before, "{after} vs {before}");
        // The count moves toward n.
        assert!((total(&cal, 0) - n as f64).abs() < (total(&raw, 0) - n as f64).abs());
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
