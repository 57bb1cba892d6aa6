//! Positive semi-definite matrices: Nyström, randomly pivoted Cholesky, Hutch++.

use super::op::LinOp;
use super::{derive_seed, frob2, orth, zeros, Field};
use crate::error::{Result, SketchError};
use crate::rng::{open01, tag, Stream};
use crate::sketch::{Family, Sketch};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, MatRef, Par, Side};

/// `A ≈ U diag(λ) Uᵀ`.
#[derive(Clone, Debug)]
pub struct Nystrom<T> {
    /// Orthonormal `n × r`.
    pub u: Mat<T>,
    /// Eigenvalue estimates, non-increasing, `≥ 0`.
    pub lambda: Vec<T>,
}

/// Stabilised randomized Nyström approximation of a PSD matrix (Tropp, Yurtsever,
/// Udell and Cevher 2017, Algorithm 3): `Y = A Ω` for a Gaussian `Ω` of
/// `rank + n_oversamples` columns, the shift `ν = √n · ε · ‖Y‖_F`, `Y_ν = Y + νΩ`,
/// `C = chol(Ωᵀ Y_ν)`, `B = Y_ν C⁻ᵀ = U Σ Wᵀ`, `λ = max(0, σ² − ν)`.
pub fn nystrom<T: Field>(
    op: &dyn LinOp<T>,
    rank: usize,
    n_oversamples: usize,
    seed: u64,
) -> Result<Nystrom<T>> {
    let n = op.nrows();
    if op.ncols() != n {
        return Err(SketchError::arg(
            "A",
            format!("must be square, got ({n}, {})", op.ncols()),
        ));
    }
    if rank == 0 || rank > n {
        return Err(SketchError::arg(
            "rank",
            format!("must lie in [1, n = {n}], got {rank}"),
        ));
    }
    let l = (rank + n_oversamples).min(n);
    let omega = Sketch::new(Family::Gaussian, l, n, seed)?;
    let dense = omega.to_dense::<T>()?; // row-major l × n = column-major Ωᵀ... (n × l)
    let om = MatRef::from_column_major_slice(&dense, n, l);
    let mut y = op.sketch_cols(&omega)?; // A Ω (n × l)
    let nu = (n as f64).sqrt() * T::eps().to_f64() * frob2(y.as_ref()).sqrt();
    let nu_t = T::from_f64(nu);
    for j in 0..l {
        for i in 0..n {
            y[(i, j)] += nu_t * om[(i, j)];
        }
    }
    let mut c = om.transpose() * y.as_ref();
    for i in 0..l {
        for j in 0..i {
            let v = (c[(i, j)] + c[(j, i)]) * T::from_f64(0.5);
            c[(i, j)] = v;
            c[(j, i)] = v;
        }
    }
    let llt = c.llt(Side::Lower).map_err(|_| {
        SketchError::arg(
            "A",
            "is not positive semi-definite (the Cholesky factor of Ωᵀ A Ω failed)",
        )
    })?;
    // B = Y_ν L⁻ᵀ  ⇔  L Bᵀ = Y_νᵀ
    let mut bt = y.transpose().to_owned();
    solve_lower_triangular_in_place(llt.L(), bt.as_mut(), Par::Seq);
    let svd = bt
        .transpose()
        .thin_svd()
        .map_err(|_| SketchError::arg("A", "the SVD of the Nyström factor did not converge"))?;
    let r = rank.min(svd.S().dim());
    let lambda = (0..r)
        .map(|i| {
            let s = svd.S()[i].to_f64();
            T::from_f64((s * s - nu).max(0.0))
        })
        .collect();
    Ok(Nystrom {
        u: svd.U().subcols(0, r).to_owned(),
        lambda,
    })
}

/// `A ≈ F Fᵀ` from randomly pivoted Cholesky.
#[derive(Clone, Debug)]
pub struct RpCholesky<T> {
    /// `n × r` factor.
    pub factor: Mat<T>,
    /// The pivots (rows of `A` evaluated), in order.
    pub pivots: Vec<usize>,
}

/// Randomly pivoted Cholesky (Chen, Epperly, Tropp and Webber 2023), block variant:
/// each step draws `block_size` pivots i.i.d. with probability proportional to the
/// residual diagonal, evaluates their columns with `columns(pivots) -> n × |pivots|`,
/// and eliminates them in order (a pivot whose residual diagonal is not positive is
/// skipped). Stops at `rank` columns or when the residual trace falls below
/// `tol · tr(A)`.
pub fn rp_cholesky<T: Field>(
    diag: &[T],
    rank: usize,
    block_size: usize,
    tol: f64,
    seed: u64,
    mut columns: impl FnMut(&[usize]) -> Result<Mat<T>>,
) -> Result<RpCholesky<T>> {
    let n = diag.len();
    if n == 0 {
        return Err(SketchError::arg("diag", "must not be empty"));
    }
    if rank == 0 || rank > n {
        return Err(SketchError::arg(
            "rank",
            format!("must lie in [1, n = {n}], got {rank}"),
        ));
    }
    if block_size == 0 {
        return Err(SketchError::arg("block_size", "must be at least 1"));
    }
    if !(0.0..1.0).contains(&tol) {
        return Err(SketchError::arg(
            "tol",
            format!("must lie in [0, 1), got {tol}"),
        ));
    }
    let mut d: Vec<f64> = diag.iter().map(|v| v.to_f64()).collect();
    if d.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(SketchError::arg(
            "diag",
            "must be finite and non-negative (A is PSD)",
        ));
    }
    let trace: f64 = d.iter().sum();
    let mut f = zeros::<T>(n, rank, "Cholesky factor")?;
    let mut pivots = Vec::with_capacity(rank);
    let mut stream = Stream::new(derive_seed(seed, 1), tag::LINALG, 2);
    while pivots.len() < rank {
        let rest: f64 = d.iter().sum();
        if rest <= tol * trace || rest <= (n as f64) * T::eps().to_f64() * trace {
            break;
        }
        let b = block_size.min(rank - pivots.len());
        let mut cum = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &v in &d {
            acc += v;
            cum.push(acc);
        }
        let mut picks: Vec<usize> = Vec::with_capacity(b);
        for _ in 0..b {
            let u = open01(stream.next_u64()) * acc;
            let i = cum.partition_point(|&c| c < u).min(n - 1);
            if !picks.contains(&i) && d[i] > 0.0 {
                picks.push(i);
            }
        }
        if picks.is_empty() {
            continue;
        }
        let mut g = columns(&picks)?;
        if g.nrows() != n || g.ncols() != picks.len() {
            return Err(SketchError::ShapeMismatch(format!(
                "the kernel columns have shape ({}, {}), expected ({n}, {})",
                g.nrows(),
                g.ncols(),
                picks.len()
            )));
        }
        super::check_finite(g.as_ref(), "kernel")?;
        let r0 = pivots.len();
        if r0 > 0 {
            // G -= F[:, :r0] F[picks, :r0]ᵀ
            let fp = Mat::<T>::from_fn(picks.len(), r0, |i, j| f[(picks[i], j)]);
            g -= f.as_ref().subcols(0, r0) * fp.transpose();
        }
        for t in 0..picks.len() {
            let p = picks[t];
            let rem = g[(p, t)].to_f64();
            if pivots.len() == rank {
                break;
            }
            if rem <= T::eps().to_f64() * trace / n as f64 {
                // numerically eliminated already: never draw it again (progress)
                d[p] = 0.0;
                continue;
            }
            let s = T::from_f64(1.0 / rem.sqrt());
            let c = pivots.len();
            for i in 0..n {
                f[(i, c)] = g[(i, t)] * s;
            }
            for (t2, &p2) in picks.iter().enumerate().skip(t + 1) {
                let fp2 = f[(p2, c)];
                for i in 0..n {
                    g[(i, t2)] -= f[(i, c)] * fp2;
                }
            }
            for (i, di) in d.iter_mut().enumerate() {
                *di = (*di - f[(i, c)].to_f64().powi(2)).max(0.0);
            }
            d[p] = 0.0;
            pivots.push(p);
        }
    }
    let r = pivots.len();
    Ok(RpCholesky {
        factor: f.subcols(0, r).to_owned(),
        pivots,
    })
}

/// Hutch++ (Meyer, Musco, Musco and Woodruff 2021): an estimate of `tr(A)` from
/// `n_queries` products with `A` (given as `matmat(X) = A X`), with relative error
/// `O(1/n_queries)` for PSD `A`. A third of the queries find the top of the spectrum
/// (`Q = orth(A S)`), whose trace is taken exactly; Hutchinson's estimator with
/// Rademacher vectors takes the rest on `(I − QQᵀ) A (I − QQᵀ)`.
pub fn hutchpp<T: Field>(
    n: usize,
    n_queries: usize,
    seed: u64,
    mut matmat: impl FnMut(MatRef<'_, T>) -> Result<Mat<T>>,
) -> Result<f64> {
    if n == 0 {
        return Err(SketchError::arg("n", "must be at least 1"));
    }
    if n_queries < 3 {
        return Err(SketchError::arg(
            "n_queries",
            format!("must be at least 3, got {n_queries}"),
        ));
    }
    let k = (n_queries / 3).min(n);
    let g_cols = n_queries - 2 * k;
    let signs = |cols: usize, purpose: u64| -> Result<Mat<T>> {
        let s = Sketch::new(Family::Rademacher, cols, n, derive_seed(seed, purpose))?;
        let dense = s.to_dense::<T>()?;
        let scale = T::from_f64((cols as f64).sqrt());
        Ok(Mat::from_fn(n, cols, |i, j| dense[j * n + i] * scale))
    };
    let mut call = |x: MatRef<'_, T>| -> Result<Mat<T>> {
        let y = matmat(x)?;
        if y.nrows() != n || y.ncols() != x.ncols() {
            return Err(SketchError::ShapeMismatch(format!(
                "matvec returned shape ({}, {}), expected ({n}, {})",
                y.nrows(),
                y.ncols(),
                x.ncols()
            )));
        }
        super::check_finite(y.as_ref(), "matvec")?;
        Ok(y)
    };
    let s = signs(k, 10)?;
    let q = orth(call(s.as_ref())?.as_ref());
    let aq = call(q.as_ref())?;
    let mut t1 = 0.0;
    for j in 0..q.ncols() {
        for i in 0..n {
            t1 += q[(i, j)].to_f64() * aq[(i, j)].to_f64();
        }
    }
    if g_cols == 0 {
        return Ok(t1);
    }
    let g = signs(g_cols, 11)?;
    let proj = q.transpose() * g.as_ref();
    let gp = &g - q.as_ref() * proj;
    let agp = call(gp.as_ref())?;
    let mut t2 = 0.0;
    for j in 0..g_cols {
        for i in 0..n {
            t2 += gp[(i, j)].to_f64() * agp[(i, j)].to_f64();
        }
    }
    Ok(t1 + t2 / g_cols as f64)
}
