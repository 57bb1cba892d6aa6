//! Statistical leverage scores `ℓ_i = ‖e_iᵀ U‖²` (`U` an orthonormal basis of the
//! range of `A`); they sum to `rank(A)`.

use super::lstsq::{sketch_size, Guarantee, DEFAULT_DELTA};
use super::op::{row_sq_norms, LinOp};
use super::{zeros, Field};
use crate::error::{try_vec, Result, SketchError};
use crate::sketch::{parse_name, FamilyKind, Sketch};
use faer::linalg::triangular_solve::solve_upper_triangular_in_place;
use faer::{Mat, Par};

/// How [`leverage_scores`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeverageMethod {
    /// Column-pivoted thin QR of `A` (materialized for sparse or matrix-free input).
    Exact,
    /// Drineas, Magdon-Ismail, Mahoney and Woodruff (2012): `R` from a QR of a sparse
    /// sign sketch `SA` (an `ε/3` subspace embedding), then the squared row norms of
    /// `A R⁻¹ G` with a Gaussian `G` of `⌈8 ln(n/δ)/ε²⌉` columns (or of `A R⁻¹` when that
    /// is not fewer than `rank`): each score within a factor `1 ± ε` of the exact one
    /// with high probability, in `O(nnz(A) + n·r·d)` work.
    Approx,
}

impl LeverageMethod {
    /// Both methods.
    pub const ALL: [LeverageMethod; 2] = [LeverageMethod::Exact, LeverageMethod::Approx];
    /// The name every API uses.
    pub fn name(self) -> &'static str {
        match self {
            LeverageMethod::Exact => "exact",
            LeverageMethod::Approx => "approx",
        }
    }
}

impl std::str::FromStr for LeverageMethod {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        parse_name(s, Self::ALL, Self::name, "method")
    }
}

/// Numerical rank from the diagonal of a column-pivoted `R` (non-increasing).
fn pivoted_rank<T: Field>(r: faer::MatRef<'_, T>, m: usize) -> usize {
    let d = r.ncols().min(r.nrows());
    if d == 0 {
        return 0;
    }
    let rmax = r[(0, 0)].to_f64().abs();
    let tol = rmax * (m.max(r.ncols()) as f64) * T::eps().to_f64();
    (0..d)
        .take_while(|&i| r[(i, i)].to_f64().abs() > tol)
        .count()
}

/// Leverage scores of the rows of `A` (`n` values summing to `rank(A)`).
pub fn leverage_scores<T: Field>(
    op: &dyn LinOp<T>,
    method: LeverageMethod,
    eps: f64,
    seed: u64,
) -> Result<Vec<T>> {
    let (n, d) = (op.nrows(), op.ncols());
    if n == 0 || d == 0 {
        return Err(SketchError::arg(
            "A",
            format!("must have at least one row and column, got ({n}, {d})"),
        ));
    }
    if !(eps > 0.0 && eps < 1.0) {
        return Err(SketchError::arg(
            "eps",
            format!("must lie in (0, 1), got {eps}"),
        ));
    }
    match method {
        LeverageMethod::Exact => {
            let eye = Mat::<T>::identity(d, d);
            let mut a = zeros(n, d, "A")?;
            op.apply(eye.as_ref(), a.as_mut())?;
            let qr = a.col_piv_qr();
            let rank = pivoted_rank(qr.R(), n);
            let q = qr.compute_thin_Q();
            Ok(row_sq_norms(q.as_ref().subcols(0, rank), 0..n))
        }
        LeverageMethod::Approx => {
            let m = sketch_size(
                n,
                d,
                eps,
                DEFAULT_DELTA,
                Guarantee::L2,
                FamilyKind::SparseSign,
            )?
            .min(n);
            let s = super::sketch_of(FamilyKind::SparseSign, m, n, seed)?;
            let sa = op.sketch_rows(&s)?;
            let qr = sa.col_piv_qr();
            let rank = pivoted_rank(qr.R(), m);
            if rank == 0 {
                return try_vec(n, T::ZERO, "leverage scores");
            }
            let r = qr.R().submatrix(0, 0, rank, rank).to_owned();
            // Ω = P[:, :rank] R⁻¹ G (d × r), G Gaussian (or the identity).
            let jl = ((8.0 * (n as f64 / DEFAULT_DELTA).ln()) / (eps * eps)).ceil() as usize;
            let mut inner = if jl < rank {
                let g = Sketch::new(
                    crate::Family::Gaussian,
                    jl,
                    rank,
                    super::derive_seed(seed, 3),
                )?;
                let dense = g.to_dense::<T>()?; // jl × rank row-major = Gᵀ... as (rank × jl) col-major
                Mat::from_fn(rank, jl, |i, j| dense[j * rank + i])
            } else {
                Mat::<T>::identity(rank, rank)
            };
            solve_upper_triangular_in_place(r.as_ref(), inner.as_mut(), Par::Seq);
            let perm = qr.P().arrays().0;
            let mut omega = zeros::<T>(d, inner.ncols(), "Omega")?;
            for (i, &col) in perm.iter().enumerate().take(rank) {
                for j in 0..inner.ncols() {
                    omega[(col, j)] = inner[(i, j)];
                }
            }
            op.row_sq_norms_of(omega.as_ref())
        }
    }
}
