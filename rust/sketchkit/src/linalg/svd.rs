//! Randomized SVD: a sketch operator as the test matrix, power iterations, and an
//! adaptive blocked range finder.

use super::op::{mul, mul_t, LinOp, Transposed};
use super::{
    derive_seed, frob2, from_faer, from_faer_mut, normalize_owned, orth, orth_owned, zeros, Field,
};
use crate::error::{Result, SketchError};
use crate::sketch::{FamilyKind, LinearSketch};
use faer::{Mat, MatRef};

/// Which factor decides the signs of the singular vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlipSign {
    /// Leave the signs as computed.
    None,
    /// The largest-magnitude entry of each left singular vector is positive
    /// (scikit-learn's `svd_flip` with `u_based_decision=True`, its
    /// `randomized_svd` default).
    U,
    /// The largest-magnitude entry of each right singular vector is positive
    /// (`u_based_decision=False`, scikit-learn's `PCA`).
    V,
}

/// Options of [`randomized_svd`].
#[derive(Clone, Debug)]
pub struct RsvdOptions {
    /// Rank `k` (the maximum rank when `tol` is given).
    pub n_components: usize,
    /// Extra test vectors `p` (the sketch has `k + p` rows).
    pub n_oversamples: usize,
    /// Power iterations (`None`: 7 when `k < 0.1 min(n, d)`, else 4, as scikit-learn).
    pub n_iter: Option<usize>,
    /// Family of the test matrix.
    pub sketch: FamilyKind,
    /// Factor `Aᵀ` instead of `A` (`None`: when `n < d`, as scikit-learn).
    pub transpose: Option<bool>,
    /// Sign rule.
    pub flip: FlipSign,
    /// Adaptive mode: stop at the smallest rank with `‖A − U Σ Vᵀ‖_F ≤ tol ‖A‖_F`
    /// (estimated exactly from `‖A‖_F² − ‖B‖_F²`, Martinsson–Voronin).
    pub tol: Option<f64>,
    /// Columns added per step of the adaptive range finder.
    pub block_size: usize,
    /// Seed of the test matrices.
    pub seed: u64,
}

impl RsvdOptions {
    /// Defaults (scikit-learn's) for rank `k`.
    pub fn new(n_components: usize) -> Self {
        RsvdOptions {
            n_components,
            n_oversamples: 10,
            n_iter: None,
            sketch: FamilyKind::Gaussian,
            transpose: None,
            flip: FlipSign::U,
            tol: None,
            block_size: 10,
            seed: 0,
        }
    }
}

/// `U Σ Vᵀ`: `u` is `n × k`, `s` has `k` values (non-increasing), `vt` is `k × d`.
#[derive(Clone, Debug)]
pub struct Svd<T> {
    /// Left singular vectors.
    pub u: Mat<T>,
    /// Singular values.
    pub s: Vec<T>,
    /// Right singular vectors (rows).
    pub vt: Mat<T>,
}

/// The scikit-learn `n_iter="auto"` rule.
pub fn auto_n_iter(k: usize, n: usize, d: usize) -> usize {
    if (k as f64) < 0.1 * (n.min(d) as f64) {
        7
    } else {
        4
    }
}

/// Rank-`k` randomized SVD of `A` (Halko, Martinsson and Tropp 2011, Algorithm 4.4
/// with a CholeskyQR normalization between products): `Y = A Ωᵀ` for a sketch `Ω` of
/// `k + p` rows, `n_iter` power iterations, `B = Qᵀ A`, SVD of `B`. With `tol`, the
/// blocked adaptive range finder (randQB_EI) grows `Q` until the estimated error
/// `‖A − QB‖_F ≤ tol ‖A‖_F` or `k` columns.
pub fn randomized_svd<T: Field>(op: &dyn LinOp<T>, opts: &RsvdOptions) -> Result<Svd<T>> {
    let (n, d) = (op.nrows(), op.ncols());
    let k = opts.n_components;
    if n == 0 || d == 0 {
        return Err(SketchError::arg(
            "A",
            format!("must have at least one row and column, got ({n}, {d})"),
        ));
    }
    if k == 0 || k > n.min(d) {
        return Err(SketchError::arg(
            "n_components",
            format!("must lie in [1, min(n, d) = {}], got {k}", n.min(d)),
        ));
    }
    if let Some(t) = opts.tol {
        if !(t > 0.0 && t < 1.0) {
            return Err(SketchError::arg(
                "tol",
                format!("must lie in (0, 1), got {t}"),
            ));
        }
    }
    if opts.block_size == 0 {
        return Err(SketchError::arg("block_size", "must be at least 1"));
    }
    let n_iter = opts.n_iter.unwrap_or_else(|| auto_n_iter(k, n, d));
    let transpose = opts.transpose.unwrap_or(n < d);
    let t_op;
    let a: &dyn LinOp<T> = if transpose {
        t_op = Transposed(op);
        &t_op
    } else {
        op
    };
    let (q, b) = match opts.tol {
        None => fixed_range(a, k, opts, n_iter)?,
        Some(tol) => adaptive_range(a, k, tol, opts, n_iter)?,
    };
    // B = Qᵀ A (l × d'); SVD through Bᵀ = W Σ Zᵀ (tall), so B = Z Σ Wᵀ.
    let bt = b.transpose();
    let svd = bt
        .thin_svd()
        .map_err(|_| SketchError::arg("A", "the SVD of the sketched matrix did not converge"))?;
    let (w, z) = (svd.U(), svd.V());
    let sv: Vec<T> = (0..svd.S().dim()).map(|i| svd.S()[i]).collect();
    let rank = match opts.tol {
        None => k.min(sv.len()),
        Some(tol) => {
            // smallest r with ‖A‖² − Σ_{i<r} σ_i² ≤ tol² ‖A‖²
            let total = a.frob2().unwrap_or(0.0);
            let mut tail = total;
            let mut r = sv.len();
            for (i, s) in sv.iter().enumerate() {
                tail -= s.to_f64().powi(2);
                if tail <= tol * tol * total {
                    r = i + 1;
                    break;
                }
            }
            r.min(k).max(1)
        }
    };
    let mut u = q.as_ref() * z.subcols(0, rank);
    let mut vt = w.subcols(0, rank).transpose().to_owned();
    let s = sv[..rank].to_vec();
    if transpose {
        let u2 = vt.transpose().to_owned();
        vt = u.transpose().to_owned();
        u = u2;
    }
    flip_signs(&mut u, &mut vt, opts.flip);
    Ok(Svd { u, s, vt })
}

/// Fixed-rank range finder: `(Q, B = Qᵀ A)`.
fn fixed_range<T: Field>(
    a: &dyn LinOp<T>,
    k: usize,
    opts: &RsvdOptions,
    n_iter: usize,
) -> Result<(Mat<T>, Mat<T>)> {
    let (n, d) = (a.nrows(), a.ncols());
    let l = (k + opts.n_oversamples).min(n).min(d);
    let omega = super::sketch_of(opts.sketch, l, d, opts.seed)?;
    // One n × l matrix throughout: each power iteration overwrites Q with A Z and
    // normalizes it in place (PCA of a large CSR matrix keeps its footprint near the
    // input's). Between products the bases only need to be well conditioned (one
    // CholeskyQR pass); the last, which defines U and B, is orthonormal to working
    // precision.
    let basis = |q: Mat<T>, is_last: bool| {
        if is_last {
            orth_owned(q)
        } else {
            normalize_owned(q)
        }
    };
    let mut q = basis(a.sketch_cols(&omega)?, n_iter == 0);
    for it in 0..n_iter {
        let z = normalize_owned(mul_t(a, q.as_ref())?);
        a.apply(z.as_ref(), q.as_mut())?;
        q = basis(q, it + 1 == n_iter);
    }
    let b = mul_t(a, q.as_ref())?.transpose().to_owned();
    Ok((q, b))
}

/// Adaptive blocked range finder (randQB_EI, Martinsson and Voronin 2016).
fn adaptive_range<T: Field>(
    a: &dyn LinOp<T>,
    kmax: usize,
    tol: f64,
    opts: &RsvdOptions,
    n_iter: usize,
) -> Result<(Mat<T>, Mat<T>)> {
    let (n, d) = (a.nrows(), a.ncols());
    let total = a.frob2().ok_or_else(|| {
        SketchError::arg(
            "tol",
            "the adaptive mode needs ‖A‖_F, which a matrix-free operator does not give",
        )
    })?;
    let mut q = zeros::<T>(n, 0, "basis")?;
    let mut b = zeros::<T>(0, d, "projection")?;
    let mut energy = total;
    let mut block = 0u64;
    while q.ncols() < kmax.min(n).min(d) && energy > tol * tol * total {
        let bs = opts
            .block_size
            .min(kmax - q.ncols())
            .min(n - q.ncols())
            .min(d);
        let omega = super::sketch_of(opts.sketch, bs, d, derive_seed(opts.seed, block))?;
        block += 1;
        // Y = A Ωᵀ − Q (B Ωᵀ)
        let mut y = a.sketch_cols(&omega)?;
        if q.ncols() > 0 {
            let mut bo = zeros::<T>(b.nrows(), bs, "B Omega^T")?;
            omega.project(from_faer(b.as_ref()), from_faer_mut(bo.as_mut()))?;
            y -= q.as_ref() * bo.as_ref();
        }
        let mut qi = orth(y.as_ref());
        for _ in 0..n_iter {
            let mut z = mul_t(a, qi.as_ref())?;
            if q.ncols() > 0 {
                z -= b.transpose() * (q.transpose() * qi.as_ref());
            }
            let z = orth(z.as_ref());
            let mut y = mul(a, z.as_ref())?;
            if q.ncols() > 0 {
                y -= q.as_ref() * (b.as_ref() * z.as_ref());
            }
            qi = orth(y.as_ref());
        }
        if q.ncols() > 0 {
            let proj = q.transpose() * qi.as_ref();
            qi -= q.as_ref() * proj;
            qi = orth(qi.as_ref());
        }
        let bi = mul_t(a, qi.as_ref())?.transpose().to_owned();
        energy -= frob2(bi.as_ref());
        q = hcat(q.as_ref(), qi.as_ref())?;
        b = hcat(b.transpose(), bi.transpose())?.transpose().to_owned();
    }
    Ok((q, b))
}

fn hcat<T: Field>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Result<Mat<T>> {
    let mut out = zeros(a.nrows(), a.ncols() + b.ncols(), "basis")?;
    out.as_mut().subcols_mut(0, a.ncols()).copy_from(a);
    out.as_mut().subcols_mut(a.ncols(), b.ncols()).copy_from(b);
    Ok(out)
}

/// Applies the sign rule: the largest-magnitude entry (first on ties) of each
/// deciding vector becomes positive; the paired vector flips with it.
pub(crate) fn flip_signs<T: Field>(u: &mut Mat<T>, vt: &mut Mat<T>, flip: FlipSign) {
    let k = u.ncols();
    for c in 0..k {
        let neg = match flip {
            FlipSign::None => false,
            FlipSign::U => argmax_neg((0..u.nrows()).map(|i| u[(i, c)])),
            FlipSign::V => argmax_neg((0..vt.ncols()).map(|j| vt[(c, j)])),
        };
        if neg {
            for i in 0..u.nrows() {
                u[(i, c)] = -u[(i, c)];
            }
            for j in 0..vt.ncols() {
                vt[(c, j)] = -vt[(c, j)];
            }
        }
    }
}

fn argmax_neg<T: Field>(it: impl Iterator<Item = T>) -> bool {
    let mut best = -1.0f64;
    let mut neg = false;
    for v in it {
        let a = v.to_f64().abs();
        if a > best {
            best = a;
            neg = v.to_f64() < 0.0;
        }
    }
    neg
}
