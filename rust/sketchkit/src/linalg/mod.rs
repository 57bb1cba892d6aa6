//! Randomized linear algebra on the crate's sketch operators.
//!
//! * [`lstsq`]: sketched least squares, three ways: sketch-and-precondition (LSQR on
//!   `A R⁻¹`, `R` from a QR of the sketch `SA`), sketch-and-solve (`argmin ‖S(Ax − b)‖`)
//!   and the iterative Hessian sketch with heavy-ball momentum; [`sketch_size`] is the
//!   calculator behind their defaults.
//! * [`randomized_svd`] (Halko–Martinsson–Tropp, with power iterations; or the adaptive
//!   blocked range finder when a tolerance is given), [`nystrom`] (stabilised
//!   Nyström for PSD matrices), [`rp_cholesky`] (randomly pivoted Cholesky),
//!   [`hutchpp`] (Hutch++ trace estimation);
//! * [`leverage_scores`], exact (thin QR) or approximate (Drineas–Magdon-Ismail–
//!   Mahoney–Woodruff: `R` from a subspace sketch, then row norms of `A R⁻¹ G`).
//!
//! Matrices reach these algorithms through [`LinOp`]: dense views of any layout,
//! CSR/CSC, an implicitly centred operator, or a caller's matrix-free callbacks.
//! The large products (`A X`, `Aᵀ Y`) run on the crate's pool over row blocks whose
//! boundaries depend on the shape alone, and partial sums are added in a fixed order,
//! so every result is bit-identical for any thread count. The small dense
//! factorizations (QR, SVD, Cholesky, triangular solves of sketch-sized matrices) are
//! [faer](https://docs.rs/faer)'s, run sequentially.

mod leverage;
mod lstsq;
mod op;
mod psd;
mod svd;

/// The linear-algebra crate the factorizations use (its `Mat`/`MatRef` types appear in
/// this module's signatures).
pub use faer;
pub use leverage::{leverage_scores, LeverageMethod};
pub use lstsq::{
    lstsq, sketch_size, Guarantee, LstsqMethod, LstsqOptions, LstsqResult, DEFAULT_DELTA,
    DEFAULT_EPS, DEFAULT_ITERATIVE_RATIO, DEFAULT_PRECONDITION_RATIO,
};
pub use op::{column_means, Cancellable, Centered, CsrOp, DenseOp, FnOp, LinOp};
pub use psd::{hutchpp, nystrom, rp_cholesky, Nystrom, RpCholesky};
pub use svd::{randomized_svd, FlipSign, RsvdOptions, Svd};

use crate::error::{checked_mul, Result, SketchError};
use crate::real::Real;
use crate::rng::{tag, Stream};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// The element types of the linear-algebra routines: `f32` or `f64`, as both the
/// crate's kernels ([`Real`]) and faer's factorizations see them.
pub trait Field: Real + faer::traits::RealField {
    /// Machine epsilon.
    fn eps() -> Self;
}
impl Field for f32 {
    fn eps() -> Self {
        f32::EPSILON
    }
}
impl Field for f64 {
    fn eps() -> Self {
        f64::EPSILON
    }
}

/// A zero matrix, or an allocation error naming `what` (never an abort).
pub(crate) fn zeros<T: Field>(rows: usize, cols: usize, what: &str) -> Result<Mat<T>> {
    checked_mul(rows, cols, "shape", what)?;
    let mut m = Mat::<T>::new();
    m.try_reserve(rows, cols).map_err(|_| {
        SketchError::Alloc(format!(
            "{what} ({rows}x{cols} elements of {} bytes)",
            std::mem::size_of::<T>()
        ))
    })?;
    m.resize_with(rows, cols, |_, _| T::ZERO);
    Ok(m)
}

/// faer's view of a crate view (same memory, same strides).
#[must_use]
pub fn to_faer<'a, T>(m: crate::view::MatRef<'a, T>) -> MatRef<'a, T> {
    // SAFETY: `ptr_at(0, 0)` is the view's base pointer (no offset). A crate `MatRef`
    // guarantees that every (r, c) it addresses holds an
    // initialized `T` valid for 'a and not mutated meanwhile, which is exactly what
    // faer's `from_raw_parts` requires of its arguments.
    unsafe {
        MatRef::from_raw_parts(
            m.ptr_at(0, 0),
            m.rows(),
            m.cols(),
            m.row_stride(),
            m.col_stride(),
        )
    }
}

/// The crate's mutable view of a faer one (for the sketch kernels' outputs).
pub(crate) fn from_faer_mut<'a, T>(m: MatMut<'a, T>) -> crate::view::MatMut<'a, T> {
    let (r, c, rs, cs) = (m.nrows(), m.ncols(), m.row_stride(), m.col_stride());
    // SAFETY: faer's `MatMut` is an exclusive borrow of distinct, valid elements for
    // 'a; the crate view inherits that borrow and addresses the same elements.
    unsafe { crate::view::MatMut::from_raw_parts(m.as_ptr_mut(), r, c, rs, cs) }
}

/// The crate's immutable view of a faer one.
pub(crate) fn from_faer<'a, T>(m: MatRef<'a, T>) -> crate::view::MatRef<'a, T> {
    // SAFETY: faer's `MatRef` guarantees validity of every addressed element for 'a.
    unsafe {
        crate::view::MatRef::from_raw_parts(
            m.as_ptr(),
            m.nrows(),
            m.ncols(),
            m.row_stride(),
            m.col_stride(),
        )
    }
}

/// Row ranges that split `n` rows into parts of at least `min_rows` (at most
/// `max_parts` of them): a function of the shape alone, never of the thread count.
pub(crate) fn row_parts(
    n: usize,
    min_rows: usize,
    max_parts: usize,
) -> Vec<std::ops::Range<usize>> {
    let parts = (n / min_rows.max(1)).clamp(1, max_parts.max(1));
    (0..parts)
        .map(|p| (p * n / parts)..((p + 1) * n / parts))
        .collect()
}

/// Rows per block of the row-parallel products.
const ROW_BLOCK: usize = 1024;
/// Most partial sums kept for a transposed product.
const MAX_PARTIALS: usize = 32;
/// Memory budget of those partial sums (bytes).
pub(crate) const PARTIAL_BYTES: usize = 256 << 20;
/// Bytes of `A` per row block of a fused pass (the block is read from memory by its
/// product with `x`, and again from cache by its product with `u`).
const FUSED_BLOCK_BYTES: usize = 256 << 10;

/// `out[rows] = f(rows, out[rows])` over fixed row blocks of `out`, in the pool.
pub(crate) fn par_row_blocks<T: Field>(
    out: MatMut<'_, T>,
    f: impl Fn(std::ops::Range<usize>, MatMut<'_, T>) -> Result<()> + Sync,
) -> Result<()> {
    let ranges = row_parts(out.nrows(), ROW_BLOCK, usize::MAX);
    let blocks = split_rows(out, &ranges);
    crate::parallel::install(|| {
        blocks
            .into_par_iter()
            .map(|(r, blk)| f(r, blk))
            .collect::<Result<Vec<()>>>()
    })?
    .map(|_| ())
}

/// `m` cut into the row slabs `ranges` (consecutive, starting at row 0).
fn split_rows<'a, T>(
    m: MatMut<'a, T>,
    ranges: &[std::ops::Range<usize>],
) -> Vec<(std::ops::Range<usize>, MatMut<'a, T>)> {
    let mut blocks = Vec::with_capacity(ranges.len());
    let mut rest = m;
    let mut at = 0;
    for r in ranges {
        let (head, tail) = rest.split_at_row_mut(r.end - at);
        blocks.push((r.clone(), head));
        rest = tail;
        at = r.end;
    }
    blocks
}

/// Most parts of the partial sums of a `d × cols` product over `n` rows: within
/// [`PARTIAL_BYTES`] and [`MAX_PARTIALS`].
fn max_partials<T>(d: usize, cols: usize) -> usize {
    let per = d
        .saturating_mul(cols)
        .saturating_mul(std::mem::size_of::<T>())
        .max(1);
    (PARTIAL_BYTES / per).clamp(1, MAX_PARTIALS)
}

/// Row ranges of a product with `d × cols` partial sums over `n` rows: parts of at
/// least `min_rows` rows, at most `cap` of them and within [`max_partials`], their
/// number rounded down to a power of two so that equal parts fill whole waves of
/// 2, 4, … threads. A function of the shape alone, never of the thread count.
pub(crate) fn partial_row_parts<T>(
    n: usize,
    min_rows: usize,
    d: usize,
    cols: usize,
    cap: usize,
) -> Vec<std::ops::Range<usize>> {
    let most = (n / min_rows.max(1))
        .min(max_partials::<T>(d, cols))
        .min(cap)
        .max(1);
    row_parts(n, 1, 1 << most.ilog2())
}

/// A one-pass product that also rewrites the rows of `u` (`n × p`): over fixed row
/// parts of `n` ([`partial_row_parts`], at most `max_parts`), `f(rows, u[rows],
/// partial)` rewrites its slab of `u`, fills the part's `d × cols` partial sum and
/// returns `p` per-column sums (f64); partials and sums are added in part order, so
/// the result is the same for any thread count.
pub(crate) fn fused_row_parts<T: Field>(
    u: MatMut<'_, T>,
    d: usize,
    cols: usize,
    max_parts: usize,
    f: impl Fn(std::ops::Range<usize>, MatMut<'_, T>, MatMut<'_, T>) -> Result<Vec<f64>> + Sync,
) -> Result<(Mat<T>, Vec<f64>)> {
    let ranges = partial_row_parts::<T>(u.nrows(), 2 * ROW_BLOCK, d, cols, max_parts);
    let slabs = split_rows(u, &ranges);
    let partials = crate::parallel::install(|| {
        slabs
            .into_par_iter()
            .map(|(r, slab)| {
                let mut p = zeros(d, cols, "partial product")?;
                let sums = f(r, slab, p.as_mut())?;
                Ok((p, sums))
            })
            .collect::<Result<Vec<(Mat<T>, Vec<f64>)>>>()
    })??;
    let mut it = partials.into_iter();
    let (mut out, mut sums) = it.next().expect("at least one part");
    for (p, s) in it {
        out += p;
        for (a, b) in sums.iter_mut().zip(s) {
            *a += b;
        }
    }
    Ok((out, sums))
}

/// `Σ_p f(rows_p)` of `(d × cols)` partial results over fixed row parts of `n` rows,
/// added in part order (deterministic for any thread count).
pub(crate) fn sum_over_row_parts<T: Field>(
    n: usize,
    d: usize,
    cols: usize,
    f: impl Fn(std::ops::Range<usize>, MatMut<'_, T>) -> Result<()> + Sync,
) -> Result<Mat<T>> {
    let ranges = partial_row_parts::<T>(n, 2 * ROW_BLOCK, d, cols, usize::MAX);
    if ranges.len() == 1 {
        let mut out = zeros(d, cols, "product")?;
        f(0..n, out.as_mut())?;
        return Ok(out);
    }
    let partials = crate::parallel::install(|| {
        ranges
            .into_par_iter()
            .map(|r| {
                let mut p = zeros(d, cols, "partial product")?;
                f(r, p.as_mut())?;
                Ok(p)
            })
            .collect::<Result<Vec<Mat<T>>>>()
    })??;
    let mut it = partials.into_iter();
    let mut out = it.next().expect("at least one part");
    for p in it {
        out += p;
    }
    Ok(out)
}

/// `out = a · x` (dense), row-parallel.
pub(crate) fn gemm_rows<T: Field>(
    a: MatRef<'_, T>,
    x: MatRef<'_, T>,
    out: MatMut<'_, T>,
) -> Result<()> {
    par_row_blocks(out, |r, blk| {
        faer::linalg::matmul::matmul(
            blk,
            Accum::Replace,
            a.subrows(r.start, r.len()),
            x,
            T::ONE,
            Par::Seq,
        );
        Ok(())
    })
}

/// `aᵀ · y` (dense, `a` is `n × d`, `y` is `n × p`), over fixed row parts.
pub(crate) fn gemm_t_rows<T: Field>(a: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<Mat<T>> {
    sum_over_row_parts(a.nrows(), a.ncols(), y.ncols(), |r, out| {
        faer::linalg::matmul::matmul(
            out,
            Accum::Replace,
            a.subrows(r.start, r.len()).transpose(),
            y.subrows(r.start, r.len()),
            T::ONE,
            Par::Seq,
        );
        Ok(())
    })
}

/// Rows per block of a fused pass over `a` (`n × d`): [`FUSED_BLOCK_BYTES`] of it,
/// between 8 and [`ROW_BLOCK`] rows.
pub(crate) fn fused_block_rows<T>(d: usize) -> usize {
    (FUSED_BLOCK_BYTES / (d.max(1) * std::mem::size_of::<T>())).clamp(8, ROW_BLOCK)
}

/// A thin orthonormal basis of the columns of `y`, `n × min(n, l)`: CholeskyQR2 for
/// tall matrices (two passes of `G = YᵀY = LLᵀ`, `Y ← Y L⁻ᵀ`, both row-parallel
/// products), falling back to Householder QR when `y` is too ill-conditioned for the
/// Cholesky factor (or small).
pub(crate) fn orth<T: Field>(y: MatRef<'_, T>) -> Mat<T> {
    if cholesky_qr_fits(y) {
        if let Some(q) = chol_qr(y).and_then(|q1| chol_qr(q1.as_ref())) {
            return q;
        }
    }
    y.qr().compute_thin_Q()
}

/// [`orth`] of an owned `y` in its own storage: the CholeskyQR passes multiply `y` by
/// `R⁻¹` in place, one row block at a time, so no second `n × l` matrix is made (the
/// randomized range finder's power iterations keep one). When the second pass fails,
/// the Householder fallback runs on the once-transformed `y` (the same column space).
pub(crate) fn orth_owned<T: Field>(mut y: Mat<T>) -> Mat<T> {
    if cholesky_qr_fits(y.as_ref()) && chol_qr_in_place(y.as_mut()) && chol_qr_in_place(y.as_mut())
    {
        return y;
    }
    y.qr().compute_thin_Q()
}

/// A well-conditioned basis of the columns of `y`, in its own storage, for use
/// between the products of a power iteration (the part scikit-learn's LU normalizer
/// plays): one CholeskyQR pass, `Y ← Y R⁻¹` with `YᵀY = RᵀR`, which keeps the column
/// space to about `ε·κ(Y)` and makes the columns orthonormal to about `ε·κ(Y)²`;
/// Householder QR when `y` is small or its Gram matrix is not numerically positive
/// definite. A basis that must be orthonormal to working precision comes from
/// [`orth_owned`].
pub(crate) fn normalize_owned<T: Field>(mut y: Mat<T>) -> Mat<T> {
    if cholesky_qr_fits(y.as_ref()) && chol_qr_in_place(y.as_mut()) {
        return y;
    }
    y.qr().compute_thin_Q()
}

/// Whether `y` is tall enough for CholeskyQR.
fn cholesky_qr_fits<T>(y: MatRef<'_, T>) -> bool {
    y.nrows() >= 4 * y.ncols() && y.nrows() >= 4 * ROW_BLOCK
}

/// `R⁻¹ = L⁻ᵀ` of `YᵀY = LLᵀ`; `None` when the Gram matrix is not numerically positive
/// definite or `R⁻¹` is not finite.
fn chol_rinv<T: Field>(y: MatRef<'_, T>) -> Option<Mat<T>> {
    let l = y.ncols();
    let g = gemm_t_rows(y, y).ok()?;
    let llt = g.llt(faer::Side::Lower).ok()?;
    // Solve L X = I, then transpose.
    let mut linv = Mat::<T>::identity(l, l);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(
        llt.L(),
        linv.as_mut(),
        Par::Seq,
    );
    let rinv = linv.transpose().to_owned();
    check_finite(rinv.as_ref(), "Y").ok()?;
    Some(rinv)
}

/// One CholeskyQR pass, `None` when the Gram matrix is not numerically positive
/// definite or the result is not finite.
pub(crate) fn chol_qr<T: Field>(y: MatRef<'_, T>) -> Option<Mat<T>> {
    let rinv = chol_rinv(y)?;
    let mut q = zeros(y.nrows(), y.ncols(), "basis").ok()?;
    gemm_rows(y, rinv.as_ref(), q.as_mut()).ok()?;
    check_finite(q.as_ref(), "Y").ok()?;
    Some(q)
}

/// One CholeskyQR pass in place; false (with `y` unchanged) when the Gram matrix is
/// not numerically positive definite. `R⁻¹` is finite, so a finite `y` stays finite
/// unless a product overflows.
pub(crate) fn chol_qr_in_place<T: Field>(y: MatMut<'_, T>) -> bool {
    let Some(rinv) = chol_rinv(y.as_ref()) else {
        return false;
    };
    let l = y.ncols();
    par_row_blocks(y, |_, mut blk| {
        let mut tmp = zeros(blk.nrows(), l, "a basis block")?;
        faer::linalg::matmul::matmul(
            tmp.as_mut(),
            Accum::Replace,
            blk.as_ref(),
            rinv.as_ref(),
            T::ONE,
            Par::Seq,
        );
        blk.copy_from(&tmp);
        Ok(())
    })
    .is_ok()
}

/// `‖m‖_F²` of a small faer matrix.
pub(crate) fn frob2<T: Field>(m: MatRef<'_, T>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let v = m[(i, j)].to_f64();
            s += v * v;
        }
    }
    s
}

/// A seed for purpose `purpose` derived from the caller's `seed` (independent streams
/// for the several random matrices one algorithm draws).
pub(crate) fn derive_seed(seed: u64, purpose: u64) -> u64 {
    Stream::new(seed, tag::LINALG, purpose).next_u64()
}

/// A `k × d` operator of family `kind` with the family's default parameters, the
/// sparse sign embedding's `nnz` capped at `k` (sketches here may be short).
pub(crate) fn sketch_of(
    kind: crate::FamilyKind,
    k: usize,
    d: usize,
    seed: u64,
) -> Result<crate::Sketch> {
    let nnz = (kind == crate::FamilyKind::SparseSign).then(|| crate::DEFAULT_NNZ.min(k));
    crate::Sketch::new(kind.with_params(d, nnz, None)?, k, d, seed)
}

/// `Err(NonFinite)` naming `arg` unless every entry of the small matrix is finite.
pub(crate) fn check_finite<T: Field>(m: MatRef<'_, T>, arg: &'static str) -> Result<()> {
    if crate::finite::all_finite(from_faer(m)) {
        Ok(())
    } else {
        Err(SketchError::NonFinite { arg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tall `n × l` matrix with columns of very different scales (condition ≈ 1e6).
    fn tall(n: usize, l: usize) -> Mat<f64> {
        let mut s = Stream::new(3, tag::LINALG, 0);
        Mat::from_fn(n, l, |_, j| {
            (crate::rng::open01(s.next_u64()) - 0.5) * 10f64.powi(-(j as i32) % 7)
        })
    }

    #[test]
    fn orth_in_place_gives_the_same_basis_as_orth() {
        for (n, l) in [(4 * ROW_BLOCK + 17, 12), (50, 12)] {
            let y = tall(n, l);
            let q1 = orth(y.as_ref());
            let q2 = orth_owned(y.clone());
            assert_eq!((q2.nrows(), q2.ncols()), (n, l));
            // Orthonormal columns spanning the same space: QᵀQ = I and Q₁ᵀQ₂ orthogonal.
            let g = q2.transpose() * q2.as_ref();
            let c = q1.transpose() * q2.as_ref();
            let cc = c.transpose() * c.as_ref();
            for i in 0..l {
                for j in 0..l {
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (g[(i, j)] - e).abs() < 1e-10,
                        "QᵀQ ({i}, {j}) = {}",
                        g[(i, j)]
                    );
                    assert!(
                        (cc[(i, j)] - e).abs() < 1e-8,
                        "range ({i}, {j}) = {}",
                        cc[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn partial_parts_are_a_power_of_two_within_their_limits() {
        let per_part = 8 * 100_000 * 60; // bytes of one f64 100000 × 60 partial
        for (n, min_rows, cap) in [
            (1_000_000, 1, 8),
            (1_000_000, 1, 5),
            (1_000_000, 2 * ROW_BLOCK, usize::MAX),
            (6 * 2 * ROW_BLOCK, 2 * ROW_BLOCK, usize::MAX),
            (100, 2 * ROW_BLOCK, usize::MAX),
            (3, 1, 8),
        ] {
            let r = partial_row_parts::<f64>(n, min_rows, 100_000, 60, cap);
            let k = r.len();
            assert!(k.is_power_of_two(), "{k} parts for n = {n}, cap = {cap}");
            assert!(k <= cap && k <= (n / min_rows).max(1));
            assert!(k * per_part <= PARTIAL_BYTES || k == 1);
            // consecutive, covering 0..n, sizes within one row of each other
            assert_eq!((r[0].start, r[k - 1].end), (0, n));
            assert!(r.windows(2).all(|w| w[0].end == w[1].start));
            let (lo, hi) = (n / k, n.div_ceil(k));
            assert!(r.iter().all(|p| (lo..=hi).contains(&p.len())));
        }
        // 256 MB over 48 MB partials allows 5: rounded down to 4 (whole waves on 2 threads)
        assert_eq!(
            partial_row_parts::<f64>(1_000_000, 1, 100_000, 60, 8).len(),
            4
        );
    }
}
