//! Row sampling with guarantees: samplers that return rows of a feature matrix `A`
//! (`n × d`) **with importance weights**, so that weighted sums over the sample are
//! unbiased estimates of sums over all rows, and a downstream fit on the sample is
//! provably close to the fit on all rows.
//!
//! * i.i.d. importance sampling ([`iid_sample`]) from
//!   - ℓ2 leverage scores `τ_i = a_iᵀ (AᵀA)⁺ a_i` or ridge leverage scores
//!     `τ_i(λ) = a_iᵀ (AᵀA + λI)⁻¹ a_i` ([`ridge_leverage`]),
//!   - ℓp sensitivity upper bounds ([`sensitivities`]): ℓp Lewis weights
//!     ([`lewis_weights`], fixed-point iteration, `p < 4`), root-leverage bounds
//!     `τ_i^{p/2}`, or the hybrid mixture of Lewis weights and sensitivities,
//!
//!   always mixed with a uniform floor `q_i = (1 − α) p_i + α / n`, drawn with
//!   replacement, duplicates merged: weight `w_i = c_i / (m q_i)` for `c_i` copies among
//!   `m` draws (`E[Σ w_i f_i] = Σ_i f_i`);
//! * determinantal samplers ([`dpp`]): exact projection DPPs, k-DPPs, volume-rescaled
//!   sampling and repeated DPPs, from a thin `n × r` basis (never an `n × n` kernel),
//!   plus an approximate sampler for large `n`;
//! * [`rs2`]: repeated sampling without replacement across epochs over a Feistel
//!   permutation (`O(1)` memory, any epoch reproducible);
//! * the sample-size rules ([`sample_size`], [`leverage_sample_size`]) and the
//!   stratification of any sampler by class ([`stratify`]).
//!
//! Every draw comes from Philox streams under [`tag::SAMPLING`] (or [`tag::RS2`]),
//! keyed by the caller's seed, indexed by the class code; parallel work is split into
//! row blocks fixed by the shape alone, so results are bit-identical for any thread
//! count.

pub mod dpp;
pub mod logistic;
pub mod rs2;

use crate::error::{try_vec, Result, SketchError};
use crate::linalg::faer::{Mat, MatRef};
use crate::linalg::{leverage_scores, DenseOp, LeverageMethod};
use crate::rng::{open01, tag, Stream};
use crate::sketch::parse_name;

/// Default accuracy `ε` of the sample-size rules.
pub const DEFAULT_EPS: f64 = 0.5;
/// Default failure probability `δ` of the sample-size rules.
pub const DEFAULT_DELTA: f64 = 0.1;
/// Default uniform-mixing floor `α` of the i.i.d. samplers.
pub const DEFAULT_FLOOR: f64 = 0.1;
/// Most fixed-point iterations of [`lewis_weights`].
pub const LEWIS_MAX_ITER: usize = 100;
/// Stopping tolerance of [`lewis_weights`]: the relative ℓ1 change of the weights
/// (`Σ|w_new − w| / Σ w`; per-row relative changes of the tiniest weights stall at
/// the rounding level of their leverage scores).
pub const LEWIS_TOL: f64 = 1e-10;
/// Accuracy of the approximate leverage scores the samplers use with
/// `LeverageMethod::Approx`.
pub const APPROX_LEVERAGE_EPS: f64 = 0.5;

/// How many rows a sampler returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SampleSize {
    /// The method's documented sample-size rule.
    Rule,
    /// That many draws (rows for the determinantal samplers).
    Count(usize),
    /// A fraction in `(0, 1]` of the rows: `max(1, round(f · n))`.
    Fraction(f64),
}

impl SampleSize {
    /// Checks the value (`Count ≥ 1`, `Fraction ∈ (0, 1]`).
    pub fn validate(self) -> Result<Self> {
        match self {
            SampleSize::Count(0) => Err(SketchError::arg("n_samples", "must be at least 1")),
            SampleSize::Fraction(f) if !(f > 0.0 && f <= 1.0) => Err(SketchError::arg(
                "n_samples",
                format!("a fraction must lie in (0, 1], got {f}"),
            )),
            s => Ok(s),
        }
    }

    /// The count for `n` rows, `rule()` giving the method's rule.
    pub fn resolve(self, n: usize, rule: impl FnOnce() -> Result<usize>) -> Result<usize> {
        match self.validate()? {
            SampleSize::Rule => rule(),
            SampleSize::Count(m) => Ok(m),
            SampleSize::Fraction(f) => Ok(((f * n as f64).round() as usize).max(1)),
        }
    }
}

/// A weighted sample: distinct row indices (ascending) and their weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// The sampled rows, ascending, distinct.
    pub indices: Vec<usize>,
    /// The unbiased (Horvitz–Thompson) weight of each sampled row.
    pub weights: Vec<f64>,
}

impl Sample {
    /// A sample from a list of draws (repeats allowed) and each draw's weight: repeats
    /// are merged, their weights added.
    pub fn from_draws(mut draws: Vec<(usize, f64)>) -> Self {
        draws.sort_by_key(|d| d.0);
        let mut s = Sample::default();
        for (i, w) in draws {
            if s.indices.last() == Some(&i) {
                *s.weights.last_mut().expect("non-empty") += w;
            } else {
                s.indices.push(i);
                s.weights.push(w);
            }
        }
        s
    }
}

/// Where the sensitivities come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensitivityMethod {
    /// ℓp Lewis weights `w`: `s_i ≤ w_i` for `p ≤ 2`, `s_i ≤ r^{p/2−1} w_i` for `p > 2`.
    Lewis,
    /// Root-leverage bounds from the ℓ2 leverage scores `τ`: `s_i ≤ τ_i^{p/2}` for
    /// `p ≤ 2`, `s_i ≤ n^{p/2−1} τ_i^{p/2}` for `p > 2` (any `p > 0`).
    RootLeverage,
    /// Both bounds (their minimum is the sensitivity bound), sampling from the even
    /// mixture of the sensitivity bounds and the Lewis weights.
    Hybrid,
}

impl SensitivityMethod {
    /// Every method.
    pub const ALL: [SensitivityMethod; 3] = [
        SensitivityMethod::Lewis,
        SensitivityMethod::RootLeverage,
        SensitivityMethod::Hybrid,
    ];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            SensitivityMethod::Lewis => "lewis",
            SensitivityMethod::RootLeverage => "root-leverage",
            SensitivityMethod::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for SensitivityMethod {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "sensitivity")
    }
}

/// Importance scores of the rows and the quantities of the sample-size rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Upper bounds on the rows' sensitivities (or the leverage scores).
    pub scores: Vec<f64>,
    /// The sampling distribution before the uniform floor (sums to 1).
    pub probs: Vec<f64>,
    /// The total `𝔖 = Σ scores`.
    pub total: f64,
    /// The dimension in the rules: the numerical rank (or the ridge effective dimension
    /// `Σ τ_i(λ)`).
    pub dim: f64,
}

/// Checks `a` (at least one row and column, finite) and returns faer's view of it.
pub(crate) fn checked<'a>(a: crate::view::MatRef<'a, f64>) -> Result<MatRef<'a, f64>> {
    if a.rows() == 0 || a.cols() == 0 {
        return Err(SketchError::arg(
            "X",
            format!(
                "must have at least one row and column, got ({}, {})",
                a.rows(),
                a.cols()
            ),
        ));
    }
    Ok(DenseOp::new(a, "X")?.view())
}

/// Leverage scores of a faer matrix.
fn leverage_of(a: MatRef<'_, f64>, method: LeverageMethod, seed: u64) -> Result<Vec<f64>> {
    let view = crate::linalg::from_faer(a);
    let op = DenseOp::new(view, "X")?;
    leverage_scores(&op, method, APPROX_LEVERAGE_EPS, seed)
}

/// Ridge leverage scores `τ_i(λ) = a_iᵀ (AᵀA + λI)⁻¹ a_i` (`λ = 0`: the ℓ2 leverage
/// scores, summing to `rank(A)`): the leverage scores of the first `n` rows of
/// `[A; √λ I]`, exact or approximate.
pub fn ridge_leverage(
    a: crate::view::MatRef<'_, f64>,
    lambda: f64,
    method: LeverageMethod,
    seed: u64,
) -> Result<Vec<f64>> {
    let a = checked(a)?;
    ridge_leverage_f(a, lambda, method, seed)
}

fn ridge_leverage_f(
    a: MatRef<'_, f64>,
    lambda: f64,
    method: LeverageMethod,
    seed: u64,
) -> Result<Vec<f64>> {
    if !(lambda >= 0.0 && lambda.is_finite()) {
        return Err(SketchError::arg(
            "ridge",
            format!("must be finite and non-negative, got {lambda}"),
        ));
    }
    if lambda == 0.0 {
        return leverage_of(a, method, seed);
    }
    let (n, d) = (a.nrows(), a.ncols());
    let rows = n
        .checked_add(d)
        .ok_or_else(|| SketchError::overflow("X", "n + d overflows"))?;
    let mut aug = crate::linalg::zeros::<f64>(rows, d, "[X; sqrt(ridge) I]")?;
    aug.as_mut().subrows_mut(0, n).copy_from(a);
    let s = lambda.sqrt();
    for j in 0..d {
        aug[(n + j, j)] = s;
    }
    let mut t = leverage_of(aug.as_ref(), method, seed)?;
    t.truncate(n);
    Ok(t)
}

fn check_p(p: f64) -> Result<()> {
    if !(p > 0.0 && p.is_finite()) {
        return Err(SketchError::arg(
            "p",
            format!("must be finite and positive, got {p}"),
        ));
    }
    Ok(())
}

/// ℓp Lewis weights of the rows of `A` (`0 < p < 4`): the fixed point
/// `w_i = (a_iᵀ (Aᵀ W^{1−2/p} A)⁺ a_i)^{p/2}` of Cohen and Peng (2015), iterated as
/// `w_i ← (w_i^{2/p−1} τ_i(W^{1/2−1/p} A))^{p/2}` from `w = τ(A)` (a contraction of
/// rate `|1 − p/2|` for `p < 4`) until the weights change by at most [`LEWIS_TOL`]
/// (relative ℓ1 change), at most [`LEWIS_MAX_ITER`] times. They sum to `rank(A)`; `p = 2` gives
/// the leverage scores.
pub fn lewis_weights(
    a: crate::view::MatRef<'_, f64>,
    p: f64,
    method: LeverageMethod,
    seed: u64,
) -> Result<Vec<f64>> {
    let a = checked(a)?;
    lewis_f(a, p, method, seed)
}

fn lewis_f(a: MatRef<'_, f64>, p: f64, method: LeverageMethod, seed: u64) -> Result<Vec<f64>> {
    check_p(p)?;
    if p >= 4.0 {
        return Err(SketchError::arg(
            "p",
            format!("Lewis weights by the fixed-point iteration need p < 4, got {p}"),
        ));
    }
    let mut w = leverage_of(a, method, seed)?;
    if p == 2.0 {
        return Ok(w);
    }
    let (n, d) = (a.nrows(), a.ncols());
    let mut b = crate::linalg::zeros::<f64>(n, d, "W^(1/2-1/p) X")?;
    for it in 0..LEWIS_MAX_ITER {
        let e = 0.5 - 1.0 / p;
        let scale: Vec<f64> = w
            .iter()
            .map(|&wi| if wi > 0.0 { wi.powf(e) } else { 0.0 })
            .collect();
        for j in 0..d {
            for ((o, &x), &sc) in b
                .col_as_slice_mut(j)
                .iter_mut()
                .zip(a.col(j).iter())
                .zip(&scale)
            {
                *o = x * sc;
            }
        }
        let tau = leverage_of(b.as_ref(), method, derive(seed, 100 + it as u64))?;
        let (mut change, mut mass) = (0.0f64, 0.0f64);
        for i in 0..n {
            let old = w[i];
            let new = if old > 0.0 {
                (old.powf(2.0 / p - 1.0) * tau[i]).max(0.0).powf(p / 2.0)
            } else {
                0.0
            };
            change += (new - old).abs();
            mass += old;
            w[i] = new;
        }
        if change <= LEWIS_TOL * mass {
            break;
        }
    }
    Ok(w)
}

/// Numerical rank from leverage scores (their sum, rounded; at least 1).
fn rank_of(tau: &[f64]) -> f64 {
    tau.iter().sum::<f64>().round().max(1.0)
}

/// ℓp sensitivity upper bounds `s_i ≥ sup_x |a_i x|^p / ‖Ax‖_p^p` and the sampling
/// distribution of `method` (see [`SensitivityMethod`]); `rank` is the rank of `A`.
pub fn sensitivities(
    a: crate::view::MatRef<'_, f64>,
    p: f64,
    method: SensitivityMethod,
    leverage: LeverageMethod,
    seed: u64,
) -> Result<Scores> {
    let a = checked(a)?;
    sensitivities_f(a, p, method, leverage, seed)
}

fn sensitivities_f(
    a: MatRef<'_, f64>,
    p: f64,
    method: SensitivityMethod,
    leverage: LeverageMethod,
    seed: u64,
) -> Result<Scores> {
    check_p(p)?;
    let n = a.nrows() as f64;
    let tau = leverage_of(a, leverage, seed)?;
    let r = rank_of(&tau);
    let root = || -> Vec<f64> {
        let c = if p > 2.0 { n.powf(p / 2.0 - 1.0) } else { 1.0 };
        tau.iter()
            .map(|&t| (c * t.max(0.0).powf(p / 2.0)).min(1.0))
            .collect()
    };
    let lewis_bound = |w: &[f64]| -> Vec<f64> {
        let c = if p > 2.0 { r.powf(p / 2.0 - 1.0) } else { 1.0 };
        w.iter().map(|&wi| (c * wi).min(1.0)).collect()
    };
    let (scores, probs) = match method {
        SensitivityMethod::RootLeverage => {
            let s = root();
            let p = normalized(&s)?;
            (s, p)
        }
        SensitivityMethod::Lewis => {
            let w = lewis_f(a, p, leverage, derive(seed, 1))?;
            let s = lewis_bound(&w);
            (s, normalized(&w)?)
        }
        SensitivityMethod::Hybrid => {
            let w = lewis_f(a, p, leverage, derive(seed, 1))?;
            let s: Vec<f64> = lewis_bound(&w)
                .iter()
                .zip(root())
                .map(|(x, y)| x.min(y))
                .collect();
            let (ps, pw) = (normalized(&s)?, normalized(&w)?);
            let mix = ps.iter().zip(&pw).map(|(x, y)| 0.5 * (x + y)).collect();
            (s, mix)
        }
    };
    let total = scores.iter().sum();
    Ok(Scores {
        scores,
        probs,
        total,
        dim: r,
    })
}

/// `v / Σ v`, or an error when every score is zero.
fn normalized(v: &[f64]) -> Result<Vec<f64>> {
    let s: f64 = v.iter().sum();
    if !(s > 0.0 && s.is_finite()) {
        return Err(SketchError::arg(
            "X",
            "has no non-zero row to sample (every importance score is zero)",
        ));
    }
    Ok(v.iter().map(|x| x / s).collect())
}

fn check_eps_delta(eps: f64, delta: f64) -> Result<()> {
    if !(eps > 0.0 && eps < 1.0) {
        return Err(SketchError::arg(
            "eps",
            format!("must lie in (0, 1), got {eps}"),
        ));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(SketchError::arg(
            "delta",
            format!("must lie in (0, 1), got {delta}"),
        ));
    }
    Ok(())
}

/// The ℓp sensitivity-sampling sample size of Woodruff and Yasuda, "Sharper bounds for
/// ℓp sensitivity sampling" (ICML 2023), with the logarithmic factor written as
/// `ln(2r/δ)`: `m = ⌈G · ln(2r/δ) / ε²⌉` where, for total sensitivity `𝔖` and rank `r`,
///
/// * `G = 𝔖^{2/p}` for `p < 2`,
/// * `G = 𝔖` for `p = 2` (`𝔖 = r` for leverage scores: the matrix-Chernoff rule),
/// * `G = 𝔖^{2−2/p}` for `p > 2`, or `min(𝔖^{2−2/p}, r^{2/p} 𝔖^{2−4/p})` with the
///   hybrid scheme (`hybrid = true`).
///
/// The three forms agree at `p = 2`.
pub fn sample_size(
    p: f64,
    total: f64,
    rank: f64,
    eps: f64,
    delta: f64,
    hybrid: bool,
) -> Result<usize> {
    check_p(p)?;
    check_eps_delta(eps, delta)?;
    if !(total > 0.0 && total.is_finite() && rank >= 1.0 && rank.is_finite()) {
        return Err(SketchError::arg(
            "total",
            format!("total sensitivity and rank must be positive, got {total} and {rank}"),
        ));
    }
    let g = if p < 2.0 {
        total.powf(2.0 / p)
    } else if p == 2.0 {
        total
    } else {
        let base = total.powf(2.0 - 2.0 / p);
        if hybrid {
            base.min(rank.powf(2.0 / p) * total.powf(2.0 - 4.0 / p))
        } else {
            base
        }
    };
    let m = (g * (2.0 * rank / delta).ln() / (eps * eps)).ceil();
    if !(m.is_finite() && m < 1e18) {
        return Err(SketchError::overflow(
            "n_samples",
            format!("rule gives {m}"),
        ));
    }
    Ok((m as usize).max(1))
}

/// The leverage-sampling rule (matrix Chernoff): `m = ⌈d_λ · ln(2 d_λ/δ) / ε²⌉` with
/// `d_λ = Σ τ_i(λ)` (the rank for `λ = 0`), i.e. [`sample_size`] at `p = 2`.
pub fn leverage_sample_size(dim: f64, eps: f64, delta: f64) -> Result<usize> {
    sample_size(2.0, dim.max(1.0), dim.max(1.0), eps, delta, false)
}

/// A seed for purpose `purpose` derived from `seed` (samplers' own streams).
pub(crate) fn derive(seed: u64, purpose: u64) -> u64 {
    Stream::new(seed, tag::SAMPLING, purpose).next_u64()
}

/// The uniform floor's rule: `floor ∈ [0, 1]`.
pub(crate) fn check_floor(floor: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&floor) {
        return Err(SketchError::arg(
            "floor",
            format!("must lie in [0, 1], got {floor}"),
        ));
    }
    Ok(())
}

/// `m` i.i.d. draws with probabilities `q_i = (1 − α) p_i + α/n` (`p` summing to 1,
/// `α = floor ∈ [0, 1]`), from stream `stream` of `seed`; repeats merged, weight
/// `c_i / (m q_i)` (unbiased for sums over the rows).
pub fn iid_sample(probs: &[f64], floor: f64, m: usize, seed: u64, stream: u64) -> Result<Sample> {
    let n = probs.len();
    if n == 0 {
        return Err(SketchError::arg("X", "must have at least one row"));
    }
    check_floor(floor)?;
    if m == 0 {
        return Err(SketchError::arg("n_samples", "must be at least 1"));
    }
    if probs.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
        return Err(SketchError::arg("probs", "must be finite and non-negative"));
    }
    let q: Vec<f64> = probs
        .iter()
        .map(|&p| (1.0 - floor) * p + floor / n as f64)
        .collect();
    let total: f64 = q.iter().sum();
    let mut s = Stream::new(seed, tag::SAMPLING, stream);
    let draws = draw_iid(&q, m, &mut s)?;
    Ok(Sample::from_draws(
        draws
            .into_iter()
            .map(|i| (i, total / (m as f64 * q[i])))
            .collect(),
    ))
}

/// `m` i.i.d. row indices with probabilities `q_i / Σ q` (inverse CDF, one 64-bit word
/// per draw), in the order drawn.
pub(crate) fn draw_iid(q: &[f64], m: usize, s: &mut Stream) -> Result<Vec<usize>> {
    let n = q.len();
    let mut cum = Vec::with_capacity(n);
    let mut acc = 0.0;
    for &v in q {
        acc += v;
        cum.push(acc);
    }
    if !(acc > 0.0 && acc.is_finite()) {
        return Err(SketchError::arg(
            "X",
            "has no row with positive probability",
        ));
    }
    let mut draws = Vec::new();
    draws
        .try_reserve_exact(m)
        .map_err(|_| SketchError::Alloc(format!("{m} draws")))?;
    for _ in 0..m {
        let u = open01(s.next_u64()) * acc;
        let mut i = cum.partition_point(|&c| c < u).min(n - 1);
        while q[i] <= 0.0 && i + 1 < n {
            i += 1;
        }
        draws.push(i);
    }
    Ok(draws)
}

/// Class codes of the rows for [`stratify`].
#[derive(Clone, Copy, Debug)]
pub struct Classes<'a> {
    /// The code of each row, in `[0, n_classes)`.
    pub codes: &'a [u32],
    /// The number of classes.
    pub n_classes: usize,
}

/// Runs `sample(rows_of_class, class, size)` per class (`classes = None`: once, on all
/// rows, as class 0) and joins the per-class samples (indices mapped back to `A`'s
/// rows). A `Count(m)` is split over the classes in proportion to their sizes (largest
/// remainders, at least one each; `m` must be at least the number of classes); a
/// `Fraction` and the `Rule` apply to each class. Errors on an empty class or codes out
/// of range.
pub fn stratify(
    a: crate::view::MatRef<'_, f64>,
    classes: Option<Classes<'_>>,
    size: SampleSize,
    mut sample: impl FnMut(MatRef<'_, f64>, u64, SampleSize) -> Result<Sample>,
) -> Result<Sample> {
    let a = checked(a)?;
    let size = size.validate()?;
    let Some(cl) = classes else {
        return sample(a, 0, size);
    };
    let n = a.nrows();
    if cl.codes.len() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "y has {} labels but X has {n} rows",
            cl.codes.len()
        )));
    }
    if cl.n_classes < 2 {
        return Err(SketchError::arg(
            "y",
            format!(
                "stratified sampling needs at least two classes, got {}",
                cl.n_classes
            ),
        ));
    }
    let mut members: Vec<Vec<usize>> = try_vec(cl.n_classes, Vec::new(), "class members")?;
    for (i, &c) in cl.codes.iter().enumerate() {
        let Some(m) = members.get_mut(c as usize) else {
            return Err(SketchError::arg(
                "y",
                format!("class code {c} out of range [0, {})", cl.n_classes),
            ));
        };
        m.push(i);
    }
    if let Some(c) = members.iter().position(|m| m.is_empty()) {
        return Err(SketchError::arg("y", format!("class {c} has no rows")));
    }
    let sizes: Vec<SampleSize> = match size {
        SampleSize::Count(m) => {
            if m < cl.n_classes {
                return Err(SketchError::arg(
                    "n_samples",
                    format!(
                        "{m} is fewer than the {} classes (each class needs a row)",
                        cl.n_classes
                    ),
                ));
            }
            proportional(m, &members.iter().map(Vec::len).collect::<Vec<_>>())
                .into_iter()
                .map(SampleSize::Count)
                .collect()
        }
        s => vec![s; cl.n_classes],
    };
    let mut draws = Vec::new();
    for (c, rows) in members.iter().enumerate() {
        let sub = Mat::from_fn(rows.len(), a.ncols(), |i, j| a[(rows[i], j)]);
        let s = sample(sub.as_ref(), c as u64, sizes[c])?;
        draws.extend(s.indices.iter().map(|&i| rows[i]).zip(s.weights));
    }
    Ok(Sample::from_draws(draws))
}

/// `m` split over groups of sizes `counts` in proportion (largest remainders), each at
/// least 1 (`m ≥ counts.len()`).
fn proportional(m: usize, counts: &[usize]) -> Vec<usize> {
    let n: usize = counts.iter().sum();
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| m as f64 * c as f64 / n as f64)
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|e| (e.floor() as usize).max(1)).collect();
    let mut sum: usize = out.iter().sum();
    while sum > m {
        // classes raised to one row take them from the largest ones
        let big = (0..out.len())
            .max_by(|&x, &y| out[x].cmp(&out[y]).then(y.cmp(&x)))
            .expect("non-empty");
        out[big] -= 1;
        sum -= 1;
    }
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&x, &y| {
        let (fx, fy) = (exact[x].fract(), exact[y].fract());
        fy.total_cmp(&fx).then(x.cmp(&y))
    });
    for &c in order.iter().cycle() {
        if sum >= m {
            break;
        }
        out[c] += 1;
        sum += 1;
    }
    out
}

/// Leverage-score sampling: `m` i.i.d. draws with probabilities `τ_i(λ)/Σ τ(λ)` mixed
/// with the uniform floor; `size = Rule` is [`leverage_sample_size`] (at most `n`).
#[allow(clippy::too_many_arguments)]
pub fn leverage_sample(
    a: MatRef<'_, f64>,
    size: SampleSize,
    ridge: f64,
    method: LeverageMethod,
    floor: f64,
    eps: f64,
    delta: f64,
    seed: u64,
    stream: u64,
) -> Result<Sample> {
    check_eps_delta(eps, delta)?;
    let tau = ridge_leverage_f(a, ridge, method, derive(seed, 2 + 1000 * stream))?;
    let dim: f64 = tau.iter().sum();
    let probs = normalized(&tau)?;
    let n = a.nrows();
    let m = size.resolve(n, || Ok(leverage_sample_size(dim, eps, delta)?.min(n)))?;
    iid_sample(&probs, floor, m, seed, stream)
}

/// ℓp sensitivity sampling: `m` i.i.d. draws from the distribution of
/// [`sensitivities`] mixed with the uniform floor; `size = Rule` is [`sample_size`]
/// (at most `n`).
#[allow(clippy::too_many_arguments)]
pub fn sensitivity_sample(
    a: MatRef<'_, f64>,
    size: SampleSize,
    p: f64,
    method: SensitivityMethod,
    leverage: LeverageMethod,
    floor: f64,
    eps: f64,
    delta: f64,
    seed: u64,
    stream: u64,
) -> Result<Sample> {
    check_eps_delta(eps, delta)?;
    let sc = sensitivities_f(a, p, method, leverage, derive(seed, 3 + 1000 * stream))?;
    let n = a.nrows();
    let m = size.resolve(n, || {
        Ok(sample_size(
            p,
            sc.total,
            sc.dim,
            eps,
            delta,
            method == SensitivityMethod::Hybrid,
        )?
        .min(n))
    })?;
    iid_sample(&sc.probs, floor, m, seed, stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_split() {
        assert_eq!(proportional(10, &[50, 50]), vec![5, 5]);
        assert_eq!(proportional(60, &[500, 100]), vec![50, 10]);
        assert_eq!(proportional(3, &[1000, 1, 1]), vec![1, 1, 1]);
        let s = proportional(7, &[90, 5, 5]);
        assert_eq!(s.iter().sum::<usize>(), 7);
        assert!(s.iter().all(|&c| c >= 1));
    }

    #[test]
    fn merge_draws() {
        let s = Sample::from_draws(vec![(3, 1.0), (1, 2.0), (3, 0.5)]);
        assert_eq!(s.indices, vec![1, 3]);
        assert_eq!(s.weights, vec![2.0, 1.5]);
    }

    #[test]
    fn sample_size_forms_agree_at_two() {
        let a = sample_size(2.0, 10.0, 10.0, 0.5, 0.1, false).unwrap();
        let b = sample_size(2.0 - 1e-12, 10.0, 10.0, 0.5, 0.1, false).unwrap();
        let c = sample_size(2.0 + 1e-12, 10.0, 10.0, 0.5, 0.1, true).unwrap();
        assert!(a.abs_diff(b) <= 1 && a.abs_diff(c) <= 1, "{a} {b} {c}");
    }
}
