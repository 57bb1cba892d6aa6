//! Sliced distances between two weighted point clouds `μ = Σ a_i δ_{x_i}`,
//! `ν = Σ b_j δ_{y_j}` in `ℝ^d` (sample sizes may differ):
//!
//! * sliced Wasserstein `SW_p^p(μ, ν) = E_θ W_p^p(θ♯μ, θ♯ν)`, `θ` uniform on the sphere,
//!   with the 1-D distance from the quantile functions,
//!   `W_p^p = ∫₀¹ |F⁻¹(t) − G⁻¹(t)|^p dt` (an exact merge of the two sorted samples);
//! * sliced energy distance `E_θ 2 ∫ (F_θ(t) − G_θ(t))² dt` (twice the 1-D Cramér
//!   distance, equal to `2E|X−Y| − E|X−X'| − E|Y−Y'|` on each line).
//!
//! Monte Carlo over `L` directions `θ_l` (stream `(seed, SLICED, l)`: a normalized
//! Gaussian vector), with the control variates of Nguyen & Ho, "Sliced Wasserstein
//! estimation with control variates" (2023): on each line the Gaussian approximations
//! of the projected measures give
//!
//! * `C_low(θ) = (θᵀ(m_μ − m_ν))²` (a lower bound of `W_2²` of the Gaussians), and
//! * `C_up(θ) = C_low(θ) + θᵀΣ_μθ + θᵀΣ_νθ` (an upper bound),
//!
//! whose means over the sphere are known exactly: `‖m_μ − m_ν‖²/d` and that plus
//! `(tr Σ_μ + tr Σ_ν)/d` (weighted means and population covariances). The estimate is
//! `Z̄ − β̂ᵀ(C̄ − E C)` with `β̂` the least-squares coefficients of `Z_l` on `C_l`
//! (both variates, or one), and its standard error the residuals' standard deviation
//! over `√L`. With plain Monte Carlo it is `Z̄` and `sd(Z)/√L`.
//!
//! Kernel: the directions are processed in fixed chunks; each chunk is one GEMM
//! (`Θ Xᵀ`, `Θ Yᵀ`) followed, per direction and in parallel, by a sort of both
//! projections (a radix sort without weights) and the merge. Per-direction values
//! depend on the direction alone, and the sums run in direction order: results are
//! bit-identical for any thread count.

use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::rng::{gaussians4, tag, Stream};
use crate::view::{MatMut, MatRef};
use crate::Real;
use rayon::prelude::*;

/// Directions per projection chunk (bounds the scratch to `CHUNK · (n + m)` values).
const CHUNK: usize = 64;

/// The cost averaged over directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlicedCost {
    /// `W_p^p` on each line (`p ≥ 1`).
    Wasserstein {
        /// The order `p`.
        p: f64,
    },
    /// The 1-D energy distance on each line.
    Energy,
}

/// Which control variates to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlVariates {
    /// Plain Monte Carlo.
    None,
    /// `C_low` only.
    Lower,
    /// `C_up` only.
    Upper,
    /// Both (a two-variable regression).
    Both,
}

impl ControlVariates {
    /// From a name: `none`, `lower`, `upper`, `both`.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "none" => ControlVariates::None,
            "lower" => ControlVariates::Lower,
            "upper" => ControlVariates::Upper,
            "both" => ControlVariates::Both,
            _ => {
                return Err(SketchError::arg(
                    "control_variates",
                    format!(
                        "unknown control variates {name:?}; expected True, False, 'lower', \
                         'upper' or 'both'"
                    ),
                ))
            }
        })
    }
}

/// A sliced distance estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct SlicedEstimate {
    /// The estimate of `E_θ cost(θ)` (`SW_p^p`, or the sliced energy distance).
    pub value: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The plain Monte Carlo mean over the same directions.
    pub mc_value: f64,
    /// The plain Monte Carlo standard error.
    pub mc_std_error: f64,
    /// The per-direction costs `Z_l`, in direction order.
    pub per_projection: Vec<f64>,
}

/// `L × d` row-major unit directions: row `l` is a standard Gaussian vector from the
/// stream `(seed, SLICED, l)`, normalized.
pub fn projections(d: usize, n_projections: usize, seed: u64) -> Result<Vec<f64>> {
    if d == 0 {
        return Err(SketchError::arg(
            "d",
            "the number of features must be at least 1",
        ));
    }
    if n_projections == 0 {
        return Err(SketchError::arg("n_projections", "must be at least 1"));
    }
    let len = checked_mul(n_projections, d, "n_projections", "n_projections * d")?;
    let mut out = try_vec(len, 0.0f64, "projection directions")?;
    // On the crate's pool (a row depends on its index alone).
    crate::parallel::install(|| {
        out.par_chunks_mut(d).enumerate().for_each(|(l, row)| {
            // A zero vector has probability zero; redraw from the next blocks if it occurs.
            let mut block = 0u32;
            loop {
                let mut s2 = 0.0;
                for chunk in row.chunks_mut(4) {
                    let g = gaussians4(Stream::block_words(seed, tag::SLICED, l as u64, block));
                    block = block.wrapping_add(1);
                    for (dst, v) in chunk.iter_mut().zip(g) {
                        *dst = v;
                        s2 += v * v;
                    }
                }
                if s2 > 0.0 {
                    let inv = 1.0 / s2.sqrt();
                    row.iter_mut().for_each(|v| *v *= inv);
                    break;
                }
            }
        });
    })?;
    Ok(out)
}

/// Normalized weights of `n` points (`None`: uniform), or an error naming `weights`.
fn weights(w: Option<&[f64]>, n: usize, which: &str) -> Result<Option<Vec<f64>>> {
    let Some(w) = w else { return Ok(None) };
    if w.len() != n {
        return Err(SketchError::arg(
            "weights",
            format!(
                "{which} has {} entries, expected one per point ({n})",
                w.len()
            ),
        ));
    }
    if let Some(v) = w.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(SketchError::arg(
            "weights",
            format!("{which} must hold finite non-negative numbers, found {v}"),
        ));
    }
    let s: f64 = w.iter().sum();
    if !(s > 0.0 && s.is_finite()) {
        return Err(SketchError::arg(
            "weights",
            format!("{which} must have a positive finite sum, got {s}"),
        ));
    }
    Ok(Some(w.iter().map(|v| v / s).collect()))
}

/// Weighted mean (length `d`) and total variance `tr Σ` of the rows of `x`.
fn moments<T: Real>(x: MatRef<'_, T>, w: Option<&[f64]>) -> (Vec<f64>, f64) {
    let (n, d) = (x.rows(), x.cols());
    let wt = |i: usize| w.map_or(1.0 / n as f64, |w| w[i]);
    let mut m = vec![0.0; d];
    for i in 0..n {
        let a = wt(i);
        for (j, mj) in m.iter_mut().enumerate() {
            *mj += a * x.get(i, j).to_f64();
        }
    }
    let mut tr = 0.0;
    for i in 0..n {
        let a = wt(i);
        for (j, mj) in m.iter().enumerate() {
            let t = x.get(i, j).to_f64() - mj;
            tr += a * t * t;
        }
    }
    (m, tr)
}

/// Estimates `E_θ cost(θ♯μ, θ♯ν)` over `n_projections` directions (see the module
/// documentation). `x` is `n × d`, `y` is `m × d`, `a`/`b` optional weights.
#[allow(clippy::too_many_arguments)]
pub fn sliced<T: Real>(
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
    a: Option<&[f64]>,
    b: Option<&[f64]>,
    n_projections: usize,
    cost: SlicedCost,
    cv: ControlVariates,
    seed: u64,
) -> Result<SlicedEstimate> {
    let (n, m, d) = (x.rows(), y.rows(), x.cols());
    if n == 0 || d == 0 {
        return Err(SketchError::arg(
            "X",
            "needs at least one point and one feature",
        ));
    }
    if m == 0 {
        return Err(SketchError::arg("Y", "needs at least one point"));
    }
    if y.cols() != d {
        return Err(SketchError::ShapeMismatch(format!(
            "X has {d} features but Y has {}",
            y.cols()
        )));
    }
    if let SlicedCost::Wasserstein { p } = cost {
        if !(p.is_finite() && p >= 1.0) {
            return Err(SketchError::arg(
                "p",
                format!("must be a finite number >= 1, got {p}"),
            ));
        }
    }
    if n_projections == 0 {
        return Err(SketchError::arg("n_projections", "must be at least 1"));
    }
    if cv != ControlVariates::None && n_projections < 4 {
        return Err(SketchError::arg(
            "n_projections",
            format!(
                "control variates need at least 4 projections to fit their coefficients, \
                 got {n_projections}"
            ),
        ));
    }
    if !crate::finite::all_finite(x) {
        return Err(SketchError::NonFinite { arg: "X" });
    }
    if !crate::finite::all_finite(y) {
        return Err(SketchError::NonFinite { arg: "Y" });
    }
    let a = weights(a, n, "a (the weights of X)")?;
    let b = weights(b, m, "b (the weights of Y)")?;
    let theta = projections(d, n_projections, seed)?;
    let mut z = try_vec(n_projections, 0.0f64, "per-projection costs")?;
    let mut c_low = try_vec(n_projections, 0.0f64, "control variates")?;
    let mut c_up = try_vec(n_projections, 0.0f64, "control variates")?;
    let chunk = CHUNK.min(n_projections);
    let mut px = try_vec(
        checked_mul(chunk, n, "X", "projections * n")?,
        T::ZERO,
        "projections of X",
    )?;
    let mut py = try_vec(
        checked_mul(chunk, m, "Y", "projections * m")?,
        T::ZERO,
        "projections of Y",
    )?;
    let mut th = try_vec(chunk * d, T::ZERO, "directions")?;
    let (a, b) = (a.as_deref(), b.as_deref());
    crate::parallel::install(|| -> Result<()> {
        for l0 in (0..n_projections).step_by(chunk) {
            let l1 = (l0 + chunk).min(n_projections);
            let k = l1 - l0;
            for (dst, &v) in th.iter_mut().zip(&theta[l0 * d..l1 * d]) {
                *dst = T::from_f64(v);
            }
            let tv = MatRef::from_row_major(&th[..k * d], k, d)?;
            crate::sketch::dense::gemm(
                tv,
                x.t(),
                MatMut::from_row_major(&mut px[..k * n], k, n)?,
                false,
            )?;
            crate::sketch::dense::gemm(
                tv,
                y.t(),
                MatMut::from_row_major(&mut py[..k * m], k, m)?,
                false,
            )?;
            let zs = &mut z[l0..l1];
            let cl = &mut c_low[l0..l1];
            let cu = &mut c_up[l0..l1];
            px[..k * n]
                .par_chunks_mut(n)
                .zip(py[..k * m].par_chunks_mut(m))
                .zip(
                    zs.par_iter_mut()
                        .zip(cl.par_iter_mut().zip(cu.par_iter_mut())),
                )
                .try_for_each_init(
                    RadixScratch::default,
                    |scratch, ((u, v), (zl, (lo, up)))| {
                        let (mu, vu) = mean_var(u, a);
                        let (mv, vv) = mean_var(v, b);
                        *lo = (mu - mv) * (mu - mv);
                        *up = *lo + vu + vv;
                        *zl = line_cost(u, v, a, b, cost, scratch)?;
                        Ok::<(), SketchError>(())
                    },
                )?;
        }
        Ok(())
    })??;
    let (mx, tx) = moments(x, a);
    let (my, ty) = moments(y, b);
    let dm2: f64 = mx.iter().zip(&my).map(|(p, q)| (p - q) * (p - q)).sum();
    let e_low = dm2 / d as f64;
    let e_up = e_low + (tx + ty) / d as f64;
    let l = n_projections as f64;
    let mc_value = z.iter().sum::<f64>() / l;
    let mc_std_error = sd(&z, mc_value) / l.sqrt();
    let cols: Vec<(&[f64], f64)> = match cv {
        ControlVariates::None => vec![],
        ControlVariates::Lower => vec![(&c_low, e_low)],
        ControlVariates::Upper => vec![(&c_up, e_up)],
        ControlVariates::Both => vec![(&c_low, e_low), (&c_up, e_up)],
    };
    let (value, std_error) = if cols.is_empty() {
        (mc_value, mc_std_error)
    } else {
        control(&z, &cols)
    };
    Ok(SlicedEstimate {
        value,
        std_error,
        mc_value,
        mc_std_error,
        per_projection: z,
    })
}

/// Sample standard deviation of `v` around `mean` (0 for one value).
fn sd(v: &[f64], mean: f64) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    (v.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// The control-variate estimate `Z̄ − β̂ᵀ(C̄ − E C)` and its standard error. Variates
/// with (numerically) zero variance or collinear with the first are dropped.
fn control(z: &[f64], cols: &[(&[f64], f64)]) -> (f64, f64) {
    let l = z.len() as f64;
    let zm = z.iter().sum::<f64>() / l;
    // Centered variates, keeping those with a variance well above rounding.
    let mut cs: Vec<(Vec<f64>, f64)> = Vec::new();
    for (c, e) in cols {
        let cm = c.iter().sum::<f64>() / l;
        let cc: Vec<f64> = c.iter().map(|v| v - cm).collect();
        let var: f64 = cc.iter().map(|v| v * v).sum();
        let scale: f64 = c.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
        if var > 1e-20 * scale {
            cs.push((cc, cm - e));
        }
    }
    let zc: Vec<f64> = z.iter().map(|v| v - zm).collect();
    let dot = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(s, t)| s * t).sum::<f64>();
    let beta: Vec<f64> = match cs.len() {
        0 => vec![],
        1 => vec![dot(&zc, &cs[0].0) / dot(&cs[0].0, &cs[0].0)],
        _ => {
            let (s11, s12, s22) = (
                dot(&cs[0].0, &cs[0].0),
                dot(&cs[0].0, &cs[1].0),
                dot(&cs[1].0, &cs[1].0),
            );
            let (r1, r2) = (dot(&zc, &cs[0].0), dot(&zc, &cs[1].0));
            let det = s11 * s22 - s12 * s12;
            if det > 1e-12 * s11 * s22 {
                vec![(s22 * r1 - s12 * r2) / det, (s11 * r2 - s12 * r1) / det]
            } else {
                cs.truncate(1);
                vec![r1 / s11]
            }
        }
    };
    let value = zm
        - beta
            .iter()
            .zip(&cs)
            .map(|(bt, (_, off))| bt * off)
            .sum::<f64>();
    let resid: Vec<f64> = (0..z.len())
        .map(|i| {
            zc[i]
                - beta
                    .iter()
                    .zip(&cs)
                    .map(|(bt, (c, _))| bt * c[i])
                    .sum::<f64>()
        })
        .collect();
    let dof = (z.len() as f64 - 1.0 - beta.len() as f64).max(1.0);
    let se = (resid.iter().map(|r| r * r).sum::<f64>() / dof).sqrt() / l.sqrt();
    (value, se)
}

/// Weighted mean and population variance of projected values.
fn mean_var<T: Real>(u: &[T], w: Option<&[f64]>) -> (f64, f64) {
    let n = u.len() as f64;
    let mean = match w {
        None => u.iter().map(|v| v.to_f64()).sum::<f64>() / n,
        Some(w) => u.iter().zip(w).map(|(v, a)| a * v.to_f64()).sum::<f64>(),
    };
    let var = match w {
        None => u.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>() / n,
        Some(w) => u
            .iter()
            .zip(w)
            .map(|(v, a)| a * (v.to_f64() - mean).powi(2))
            .sum::<f64>(),
    };
    (mean, var)
}

/// `|t|^p` with the common orders exact.
#[inline(always)]
fn pow_abs(t: f64, p: f64) -> f64 {
    if p == 2.0 {
        t * t
    } else if p == 1.0 {
        t.abs()
    } else {
        t.abs().powf(p)
    }
}

/// Digit width of [`radix_sort`] (2048 buckets: the counts of one pass stay in L1).
const RADIX_BITS: u32 = 11;
/// Shortest input [`radix_sort`] sorts by digits (shorter ones by comparisons).
const RADIX_MIN: usize = 2048;

/// Buffers of [`radix_sort`], kept across the directions a worker sorts.
struct RadixScratch<T> {
    tmp: Vec<T>,
    counts: Vec<usize>,
}

impl<T> Default for RadixScratch<T> {
    fn default() -> Self {
        RadixScratch {
            tmp: Vec::new(),
            counts: Vec::new(),
        }
    }
}

/// Sorts finite values ascending: a least-significant-digit radix sort on the keys of
/// [`Real::order_key`] (3 passes of 11 bits for `f32`, 6 for `f64`, a pass skipped
/// when every value has the same digit), `O(n)` against a comparison sort's
/// `O(n log n)`. The values come out in the same order as any sort by value, with
/// `-0` before `+0`.
fn radix_sort<T: Real>(u: &mut [T], scratch: &mut RadixScratch<T>) -> Result<()> {
    let n = u.len();
    if n < RADIX_MIN {
        u.sort_unstable_by_key(|v| v.order_key());
        return Ok(());
    }
    let passes = T::BITS.div_ceil(RADIX_BITS) as usize;
    let buckets = 1usize << RADIX_BITS;
    let mask = (buckets - 1) as u64;
    let digit = |v: T, p: usize| ((v.order_key() >> (p as u32 * RADIX_BITS)) & mask) as usize;
    let RadixScratch { tmp, counts } = scratch;
    if counts.len() == passes * buckets {
        counts.fill(0);
    } else {
        *counts = try_vec(passes * buckets, 0usize, "radix sort counts")?;
    }
    if tmp.len() < n {
        *tmp = try_vec(n, T::ZERO, "a sort buffer")?;
    }
    let tmp = &mut tmp[..n];
    for &v in u.iter() {
        for p in 0..passes {
            counts[p * buckets + digit(v, p)] += 1;
        }
    }
    let mut in_tmp = false;
    for (p, c) in counts.chunks_exact_mut(buckets).enumerate() {
        if c.contains(&n) {
            continue;
        }
        let mut sum = 0;
        for k in c.iter_mut() {
            let t = *k;
            *k = sum;
            sum += t;
        }
        let (src, dst): (&[T], &mut [T]) = if in_tmp {
            (&*tmp, &mut *u)
        } else {
            (&*u, &mut *tmp)
        };
        for &v in src {
            let d = digit(v, p);
            dst[c[d]] = v;
            c[d] += 1;
        }
        in_tmp = !in_tmp;
    }
    if in_tmp {
        u.copy_from_slice(tmp);
    }
    Ok(())
}

/// Sorted values with their masses (uniform: `None`).
fn sorted<T: Real>(
    u: &mut [T],
    w: Option<&[f64]>,
    scratch: &mut RadixScratch<T>,
) -> Result<Option<Vec<(f64, f64)>>> {
    match w {
        None => {
            radix_sort(u, scratch)?;
            Ok(None)
        }
        Some(w) => {
            let mut pairs = try_vec(u.len(), (0.0, 0.0), "weighted projections")?;
            for (dst, (v, a)) in pairs.iter_mut().zip(u.iter().zip(w)) {
                *dst = (v.to_f64(), *a);
            }
            pairs.sort_unstable_by(|p, q| p.0.total_cmp(&q.0));
            Ok(Some(pairs))
        }
    }
}

/// The cost between the two projected samples `u`, `v` (sorted in place).
fn line_cost<T: Real>(
    u: &mut [T],
    v: &mut [T],
    a: Option<&[f64]>,
    b: Option<&[f64]>,
    cost: SlicedCost,
    scratch: &mut RadixScratch<T>,
) -> Result<f64> {
    let su = sorted(u, a, scratch)?;
    let sv = sorted(v, b, scratch)?;
    let (n, m) = (u.len(), v.len());
    // With both samples uniform, masses are exact integers (units of 1/(n m)): `m` per
    // atom of u, `n` per atom of v; otherwise probabilities.
    let exact = su.is_none() && sv.is_none();
    let unit = if exact {
        1.0 / (n as f64 * m as f64)
    } else {
        1.0
    };
    let ua = |i: usize| -> (f64, f64) {
        match &su {
            None if exact => (u[i].to_f64(), m as f64),
            None => (u[i].to_f64(), 1.0 / n as f64),
            Some(p) => p[i],
        }
    };
    let va = |j: usize| -> (f64, f64) {
        match &sv {
            None if exact => (v[j].to_f64(), n as f64),
            None => (v[j].to_f64(), 1.0 / m as f64),
            Some(p) => p[j],
        }
    };
    match cost {
        SlicedCost::Wasserstein { p } => {
            // Quantile coupling: walk both sorted samples, matching mass.
            let eps = if exact { 0.5 } else { 1e-14 };
            let (mut i, mut j) = (0, 0);
            let (mut ru, mut rv) = (ua(0).1, va(0).1);
            let mut total = 0.0;
            while i < n && j < m {
                let step = ru.min(rv);
                total += step * pow_abs(ua(i).0 - va(j).0, p);
                ru -= step;
                rv -= step;
                // Advance whichever is used up (both on a tie; a rounding remnant of a
                // weighted mass counts as used up).
                if ru <= eps {
                    i += 1;
                    if i < n {
                        ru = ua(i).1;
                    }
                }
                if rv <= eps {
                    j += 1;
                    if j < m {
                        rv = va(j).1;
                    }
                }
            }
            Ok(total * unit)
        }
        SlicedCost::Energy => {
            // 2 ∫ (F − G)² dt over the merged breakpoints.
            let (mut i, mut j) = (0, 0);
            let (mut f, mut g) = (0.0f64, 0.0f64);
            let mut total = 0.0;
            let mut prev = f64::NAN;
            while i < n || j < m {
                let take_u = j >= m || (i < n && ua(i).0 <= va(j).0);
                let t = if take_u { ua(i).0 } else { va(j).0 };
                if i + j > 0 {
                    total += (t - prev) * (f - g) * (f - g);
                }
                prev = t;
                if take_u {
                    f += ua(i).1 * unit;
                    i += 1;
                } else {
                    g += va(j).1 * unit;
                    j += 1;
                }
            }
            Ok(2.0 * total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_sort<T: Real>(v: Vec<T>, total_cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
        let key = |x: &[T]| x.iter().map(|v| v.order_key()).collect::<Vec<_>>();
        // The whole input, then its first half through the same (longer) buffers.
        let mut scratch = RadixScratch::default();
        for len in [v.len(), v.len() / 2] {
            let mut got = v[..len].to_vec();
            let mut want = got.clone();
            want.sort_by(&total_cmp);
            radix_sort(&mut got, &mut scratch).unwrap();
            assert_eq!(key(&got), key(&want));
        }
    }

    /// Values with repeats, both zeros, subnormals, and wide exponents.
    fn value(w: u64) -> f64 {
        match w % 8 {
            0 => 0.0,
            1 => -0.0,
            2 => f64::from_bits(w >> 20) * if w & 1 == 0 { 1.0 } else { -1.0 },
            3 => (w % 13) as f64 - 6.0,
            _ => ((w >> 3) as f64 / 1e15 - 5000.0) * 10f64.powi((w % 40) as i32 - 20),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn radix_sort_matches_a_sort_by_value(
            words in proptest::collection::vec(any::<u64>(), 0..6000)
        ) {
            let v64: Vec<f64> = words.iter().map(|&w| value(w)).collect();
            let v32: Vec<f32> = v64.iter().map(|&v| v as f32).collect();
            check_sort(v64, |a: &f64, b: &f64| a.total_cmp(b));
            check_sort(v32, |a: &f32, b: &f32| a.total_cmp(b));
        }
    }

    #[test]
    fn order_key_is_the_total_order() {
        let vals = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -1e-320,
            -0.0,
            0.0,
            1e-320,
            1.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for w in vals.windows(2) {
            assert!(w[0].order_key() < w[1].order_key(), "{} {}", w[0], w[1]);
            assert!((w[0] as f32).order_key() <= (w[1] as f32).order_key());
        }
    }
}
