//! Determinantal samplers on a feature matrix `A` (`n × d`, rank `r`), after Nouy and
//! Michel, "Weighted least-squares approximation with determinantal point processes and
//! generalized volume sampling", and Dereziński, Warmuth and Hsu (volume-rescaled
//! sampling).
//!
//! Everything runs on a thin orthonormal basis `Q` (`n × r`) of `range(A)` from the
//! eigendecomposition of the `d × d` Gram matrix (`Q = A V Λ^{−1/2}`, then one
//! CholeskyQR pass): never an `n × n` kernel.
//!
//! * **Projection DPP** (`K = Q Qᵀ`, `P(S) = det(A_S)² / det(AᵀA)` for `|S| = r`,
//!   `P(i ∈ S) = τ_i`, the leverage score): the sequential (chain-rule) algorithm, step
//!   `t` drawing `i` with probability `‖P_t q_i‖² / (r − t)` (`P_t` projects out the
//!   rows already drawn). Each step is done by rejection: propose `i` with probability
//!   `τ_i / r` from one table, accept with probability `‖P_t q_i‖² / τ_i`, which is
//!   exact and costs `O(r t)` per proposal, `O(r/(r − t))` proposals expected: the
//!   whole sample costs `O(n r + r³ log r)` after the basis (`O(n d²)`).
//! * **k-DPP** (`P(S) ∝ det(A_S A_Sᵀ)`, `|S| = k < r`): the spectral algorithm
//!   (Hough et al.; Kulesza–Taskar Alg. 8): choose `k` eigenvectors of `AAᵀ` by the
//!   elementary symmetric polynomials of the eigenvalues, then the projection DPP of
//!   those columns of `Q`. Inclusion probabilities
//!   `π_i = Σ_j Q_ij² λ_j e_{k−1}(λ_{−j}) / e_k(λ)`.
//! * **Volume-rescaled sampling** of size `m ≥ r` with the leverage distribution
//!   `q_i = τ_i / r` (`P(i_1..i_m) ∝ det(Σ_j a_{i_j} a_{i_j}ᵀ / q_{i_j}) Π_j q_{i_j}`):
//!   a projection-DPP sample (`r` rows) plus `m − r` i.i.d. draws from `q`. Weighted
//!   least squares on it with weights `1/(m q_i)` is an unbiased estimator of the
//!   full least-squares solution.
//! * **Repeated DPP**: `l = ⌈m / r⌉` independent projection-DPP samples.
//! * **Approximate** (`DppMethod::Approx`, for large `n`): an intermediate i.i.d.
//!   sample of `t = ⌈4 r ln(2r/δ)/ε²⌉` rows from approximate leverage scores, each row
//!   rescaled by `1/√(t q_i)`, then the exact projection DPP of that `t × d` matrix.
//!   This is an **approximation** of the projection DPP (its error vanishes as `t`
//!   grows; there is no rejection step correcting it), and the weights use the
//!   approximate leverage scores.
//!
//! Weights are Horvitz–Thompson: `1/π_i` per draw (for volume and repeated sampling,
//! `1/(expected copies)` per copy), so `E[Σ_{i∈S} w_i f_i] = Σ_i f_i`.

use super::{derive, leverage_of, rank_of, Sample, SampleSize, DEFAULT_DELTA, DEFAULT_EPS};
use crate::error::{try_vec, Result, SketchError};
use crate::linalg::faer::{Mat, MatRef, Side};
use crate::linalg::{
    check_finite, chol_qr_in_place, gemm_rows, gemm_t_rows, zeros, LeverageMethod,
};
use crate::rng::{open01, tag, Stream};
use crate::sketch::parse_name;

/// Relative eigenvalue of `AᵀA` below which a direction is outside the numerical range
/// (singular values below `10⁻⁵·σ_max`; the Gram route keeps half the digits).
pub const RANK_TOL: f64 = 1e-10;

/// Exact or approximate DPP sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DppMethod {
    /// The exact samplers.
    Exact,
    /// The approximate intermediate-sampling projection DPP (see the module docs).
    Approx,
}

impl DppMethod {
    /// Both methods.
    pub const ALL: [DppMethod; 2] = [DppMethod::Exact, DppMethod::Approx];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            DppMethod::Exact => "exact",
            DppMethod::Approx => "approx",
        }
    }
}

impl std::str::FromStr for DppMethod {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "method")
    }
}

/// Sampling schemes with `m ≥ r` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeScheme {
    /// Volume-rescaled sampling (DPP plus i.i.d. leverage draws).
    Volume,
    /// Repeated independent projection DPPs.
    Repeated,
}

impl VolumeScheme {
    /// Both schemes.
    pub const ALL: [VolumeScheme; 2] = [VolumeScheme::Volume, VolumeScheme::Repeated];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            VolumeScheme::Volume => "volume",
            VolumeScheme::Repeated => "repeated",
        }
    }
}

impl std::str::FromStr for VolumeScheme {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "scheme")
    }
}

/// An orthonormal basis of `range(A)` whose columns are the eigenvectors of `AAᵀ`
/// with non-zero eigenvalue, in decreasing order of `eigenvalues`.
#[derive(Clone, Debug)]
pub struct Spectral {
    /// `n × r`, orthonormal columns.
    pub q: Mat<f64>,
    /// The `r` eigenvalues of `AᵀA` (squared singular values), decreasing.
    pub eigenvalues: Vec<f64>,
}

/// The thin spectral factor of `A` (see [`Spectral`]).
pub fn spectral(a: MatRef<'_, f64>) -> Result<Spectral> {
    let (n, d) = (a.nrows(), a.ncols());
    let g = gemm_t_rows(a, a)?;
    let eig = g
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| SketchError::arg("X", "the eigendecomposition of XᵀX did not converge"))?;
    let s = eig.S().column_vector();
    let lmax = (0..d).map(|j| s[j]).fold(0.0f64, f64::max);
    if lmax.is_nan() || lmax <= 0.0 {
        return Err(SketchError::arg("X", "has rank 0 (every row is zero)"));
    }
    let mut keep: Vec<usize> = (0..d).filter(|&j| s[j] > lmax * RANK_TOL).collect();
    keep.sort_by(|&x, &y| s[y].total_cmp(&s[x]).then(x.cmp(&y)));
    let r = keep.len();
    let u = eig.U();
    let m = Mat::from_fn(d, r, |i, c| u[(i, keep[c])] / s[keep[c]].sqrt());
    let mut b = zeros::<f64>(n, r, "basis")?;
    gemm_rows(a, m.as_ref(), b.as_mut())?;
    // One CholeskyQR pass in b's own storage (b is left as it is when the Gram matrix
    // is not numerically positive definite): no second n × r matrix.
    let mut q = b;
    chol_qr_in_place(q.as_mut());
    check_finite(q.as_ref(), "X").map_err(|_| SketchError::arg("X", "the DPP basis overflowed"))?;
    Ok(Spectral {
        q,
        eigenvalues: keep.iter().map(|&j| s[j]).collect(),
    })
}

/// Squared row norms of `q`.
fn row_norms(q: MatRef<'_, f64>) -> Result<Vec<f64>> {
    let mut t = try_vec(q.nrows(), 0.0, "DPP scratch")?;
    for j in 0..q.ncols() {
        for (i, ti) in t.iter_mut().enumerate() {
            let v = q[(i, j)];
            *ti += v * v;
        }
    }
    Ok(t)
}

/// An exact sample of the projection DPP with kernel `q qᵀ` (`q` orthonormal, `n × k`):
/// `k` distinct rows, in the order drawn (chain rule with rejection, module docs).
pub fn projection_sample(q: MatRef<'_, f64>, stream: &mut Stream) -> Result<Vec<usize>> {
    let (n, k) = (q.nrows(), q.ncols());
    let tau = row_norms(q)?;
    let mut cum = Vec::with_capacity(n);
    let mut acc = 0.0;
    for &v in &tau {
        acc += v;
        cum.push(acc);
    }
    if !(acc > 0.0 && acc.is_finite()) {
        return Err(SketchError::arg("X", "has no non-zero row to sample"));
    }
    let mut z = Mat::<f64>::zeros(k, k);
    let mut picks: Vec<usize> = Vec::with_capacity(k);
    let mut tries: u64 = 0;
    let limit = 10_000 + 1_000 * (k as u64) * (k as u64);
    let mut qi = try_vec(k, 0.0, "DPP row")?;
    for t in 0..k {
        let i = loop {
            tries += 1;
            if tries > limit {
                return Err(SketchError::arg(
                    "X",
                    "the DPP sampler made no progress (numerically rank-deficient basis)",
                ));
            }
            let u = open01(stream.next_u64()) * acc;
            let i = cum.partition_point(|&c| c < u).min(n - 1);
            let v = open01(stream.next_u64());
            if tau[i] <= 0.0 || picks.contains(&i) {
                continue;
            }
            for (j, x) in qi.iter_mut().enumerate() {
                *x = q[(i, j)];
            }
            let mut rem = tau[i];
            for l in 0..t {
                let dt: f64 = (0..k).map(|j| z[(j, l)] * qi[j]).sum();
                rem -= dt * dt;
            }
            if v * tau[i] < rem {
                break i;
            }
        };
        // z_t = P_t q_i / ‖P_t q_i‖ (Gram–Schmidt twice for stability).
        let mut w = qi.clone();
        for _ in 0..2 {
            for l in 0..t {
                let dt: f64 = (0..k).map(|j| z[(j, l)] * w[j]).sum();
                for (j, x) in w.iter_mut().enumerate() {
                    *x -= dt * z[(j, l)];
                }
            }
        }
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 0.0 {
            return Err(SketchError::arg("X", "the DPP sampler lost orthogonality"));
        }
        for (j, x) in w.iter().enumerate() {
            z[(j, t)] = x / norm;
        }
        picks.push(i);
    }
    Ok(picks)
}

/// `e_l(λ)` for `l = 0..=k` (elementary symmetric polynomials), skipping index `skip`.
fn esp(lambda: &[f64], k: usize, skip: Option<usize>) -> Vec<f64> {
    let mut e = vec![0.0; k + 1];
    e[0] = 1.0;
    for (j, &l) in lambda.iter().enumerate() {
        if Some(j) == skip {
            continue;
        }
        for m in (1..=k).rev() {
            e[m] += l * e[m - 1];
        }
    }
    e
}

/// The `k` eigenvector indices of a k-DPP draw (Kulesza–Taskar Alg. 8).
fn choose_eigenvectors(lambda: &[f64], k: usize, stream: &mut Stream) -> Vec<usize> {
    let r = lambda.len();
    // table[m][l] = e_l(λ_0..λ_{m-1})
    let mut table = vec![vec![0.0; k + 1]; r + 1];
    table[0][0] = 1.0;
    for m in 1..=r {
        table[m][0] = 1.0;
        for l in 1..=k {
            table[m][l] = table[m - 1][l] + lambda[m - 1] * table[m - 1][l - 1];
        }
    }
    let mut chosen = Vec::with_capacity(k);
    let mut l = k;
    for m in (1..=r).rev() {
        if l == 0 {
            break;
        }
        let take = if m == l {
            true
        } else {
            let marg = lambda[m - 1] * table[m - 1][l - 1] / table[m][l];
            open01(stream.next_u64()) < marg
        };
        if take {
            chosen.push(m - 1);
            l -= 1;
        }
    }
    chosen.sort_unstable();
    chosen
}

/// Inclusion probabilities of the k-DPP `P(S) ∝ det(A_S A_Sᵀ)` (`k = r`: the projection
/// DPP, `π = τ`).
fn kdpp_marginals(sp: &Spectral, k: usize) -> Result<Vec<f64>> {
    let r = sp.eigenvalues.len();
    let lmax = sp.eigenvalues[0];
    let lam: Vec<f64> = sp.eigenvalues.iter().map(|l| l / lmax).collect();
    if k == r {
        return row_norms(sp.q.as_ref());
    }
    let ek = esp(&lam, k, None)[k];
    let coef: Vec<f64> = (0..r)
        .map(|j| lam[j] * esp(&lam, k - 1, Some(j))[k - 1] / ek)
        .collect();
    let mut pi = try_vec(sp.q.nrows(), 0.0, "inclusion probabilities")?;
    for (j, c) in coef.iter().enumerate() {
        for (i, p) in pi.iter_mut().enumerate() {
            let v = sp.q[(i, j)];
            *p += c * v * v;
        }
    }
    Ok(pi)
}

fn check_k(k: usize, r: usize) -> Result<()> {
    if k > r {
        return Err(SketchError::arg(
            "n_samples",
            format!("k = {k} exceeds the rank of X ({r}); a DPP has at most rank(X) rows"),
        ));
    }
    Ok(())
}

/// The sample size `k` for `size` on a matrix of rank `r` (`Rule`: `r`).
fn dpp_k(size: SampleSize, n: usize, r: usize) -> Result<usize> {
    let k = size.resolve(n, || Ok(r))?;
    check_k(k, r)?;
    Ok(k)
}

/// Inclusion probabilities of the DPP that [`dpp_sample`] draws with `size`.
pub fn dpp_marginals(a: crate::view::MatRef<'_, f64>, size: SampleSize) -> Result<Vec<f64>> {
    let a = super::checked(a)?;
    let sp = spectral(a)?;
    let k = dpp_k(size, a.nrows(), sp.eigenvalues.len())?;
    kdpp_marginals(&sp, k)
}

/// A DPP sample: `size = Rule` (or `k = rank`) the projection DPP, `k < rank` the
/// k-DPP of `L = AAᵀ`; `k > rank` is an error. `method = Approx` (projection DPP only)
/// is the approximate sampler. Weights `1/π_i`.
pub fn dpp_sample(
    a: MatRef<'_, f64>,
    size: SampleSize,
    method: DppMethod,
    seed: u64,
    stream: u64,
) -> Result<Sample> {
    let mut s = Stream::new(derive(seed, 10), tag::SAMPLING, stream);
    if method == DppMethod::Approx {
        if size != SampleSize::Rule {
            return Err(SketchError::arg(
                "n_samples",
                "the approximate sampler draws the projection DPP: n_samples must be None",
            ));
        }
        return approx_projection(a, derive(seed, 11 + 1000 * stream), &mut s);
    }
    let sp = spectral(a)?;
    let r = sp.eigenvalues.len();
    let k = dpp_k(size, a.nrows(), r)?;
    let pi = kdpp_marginals(&sp, k)?;
    let picks = if k == r {
        projection_sample(sp.q.as_ref(), &mut s)?
    } else {
        let lmax = sp.eigenvalues[0];
        let lam: Vec<f64> = sp.eigenvalues.iter().map(|l| l / lmax).collect();
        let cols = choose_eigenvectors(&lam, k, &mut s);
        let qj = Mat::from_fn(a.nrows(), k, |i, c| sp.q[(i, cols[c])]);
        projection_sample(qj.as_ref(), &mut s)?
    };
    Ok(Sample::from_draws(
        picks.into_iter().map(|i| (i, 1.0 / pi[i])).collect(),
    ))
}

/// The approximate projection-DPP sampler (module docs).
fn approx_projection(a: MatRef<'_, f64>, seed: u64, s: &mut Stream) -> Result<Sample> {
    let n = a.nrows();
    let tau = leverage_of(a, LeverageMethod::Approx, seed)?;
    let r = rank_of(&tau);
    let t = (4.0 * r * (2.0 * r / DEFAULT_DELTA).ln() / (DEFAULT_EPS * DEFAULT_EPS)).ceil();
    let total: f64 = tau.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err(SketchError::arg("X", "has rank 0 (every row is zero)"));
    }
    if t >= n as f64 {
        // no saving: sample exactly, with the exact marginals
        let sp = spectral(a)?;
        let pi = row_norms(sp.q.as_ref())?;
        let picks = projection_sample(sp.q.as_ref(), s)?;
        return Ok(Sample::from_draws(
            picks.into_iter().map(|i| (i, 1.0 / pi[i])).collect(),
        ));
    }
    let t = t as usize;
    let inter = super::iid_sample(
        &tau.iter().map(|x| x / total).collect::<Vec<_>>(),
        0.0,
        t,
        derive(seed, 12),
        0,
    )?;
    // expand merged draws back into rows: a row drawn c times enters with weight c
    let mut rows = Vec::with_capacity(inter.indices.len());
    let mut scale = Vec::with_capacity(inter.indices.len());
    for (&i, &w) in inter.indices.iter().zip(&inter.weights) {
        rows.push(i);
        // w = c / (t q_i): row i rescaled by sqrt(w) carries its c copies
        scale.push(w.sqrt());
    }
    let sub = Mat::from_fn(rows.len(), a.ncols(), |i, j| a[(rows[i], j)] * scale[i]);
    let sp = spectral(sub.as_ref())?;
    let picks = projection_sample(sp.q.as_ref(), s)?;
    Ok(Sample::from_draws(
        picks
            .into_iter()
            .map(|p| (rows[p], total / (r * tau[rows[p]]).max(f64::MIN_POSITIVE)))
            .collect(),
    ))
}

/// The default size of [`volume_sample`]: the leverage rule
/// ([`super::leverage_sample_size`]) with the default `ε`, `δ`, at least `r`.
pub fn volume_rule(r: usize) -> Result<usize> {
    Ok(super::leverage_sample_size(r as f64, DEFAULT_EPS, DEFAULT_DELTA)?.max(r))
}

/// Volume-rescaled sampling or repeated DPPs of `m ≥ rank` draws (`size = Rule`:
/// [`volume_rule`]); repeats merged, weights added.
pub fn volume_sample(
    a: MatRef<'_, f64>,
    size: SampleSize,
    scheme: VolumeScheme,
    seed: u64,
    stream: u64,
) -> Result<Sample> {
    let mut s = Stream::new(derive(seed, 20), tag::SAMPLING, stream);
    let sp = spectral(a)?;
    let r = sp.eigenvalues.len();
    let n = a.nrows();
    let m = size.resolve(n, || volume_rule(r))?;
    if m < r {
        return Err(SketchError::arg(
            "n_samples",
            format!("{m} is below the rank of X ({r}); volume sampling needs at least rank(X) rows (use DPPSampler for fewer)"),
        ));
    }
    let tau = row_norms(sp.q.as_ref())?;
    let mut draws = Vec::with_capacity(m);
    match scheme {
        VolumeScheme::Volume => {
            // E[copies of i] = τ_i + (m − r) τ_i / r = m τ_i / r
            let w = |i: usize| r as f64 / (m as f64 * tau[i]);
            for i in projection_sample(sp.q.as_ref(), &mut s)? {
                draws.push((i, w(i)));
            }
            if m > r {
                let probs: Vec<f64> = tau.iter().map(|t| t / r as f64).collect();
                let mut s2 = Stream::new(derive(seed, 21), tag::SAMPLING, stream);
                for i in super::draw_iid(&probs, m - r, &mut s2)? {
                    draws.push((i, w(i)));
                }
            }
        }
        VolumeScheme::Repeated => {
            let l = m.div_ceil(r);
            for _ in 0..l {
                for i in projection_sample(sp.q.as_ref(), &mut s)? {
                    draws.push((i, 1.0 / (l as f64 * tau[i])));
                }
            }
        }
    }
    Ok(Sample::from_draws(draws))
}
