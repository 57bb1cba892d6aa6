//! [`LinOp`]: how the algorithms see a matrix `A` (`n × d`).

use super::{
    from_faer_mut, fused_row_parts, gemm_rows, gemm_t_rows, par_row_blocks, partial_row_parts,
    row_parts, sum_over_row_parts, to_faer, zeros, Field,
};
use crate::error::{try_vec, Result, SketchError};
use crate::sketch::{LinearSketch, Sketch};
use crate::view::{CsrRef, SparseIndex};
use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

/// A linear operator `A` of shape `(n, d)`: products with `A` and `Aᵀ`, and (with
/// defaults through those two) products with sketch operators.
pub trait LinOp<T: Field>: Sync {
    /// `n`.
    fn nrows(&self) -> usize;
    /// `d`.
    fn ncols(&self) -> usize;
    /// `out = A · x` for `x` of shape `(d, p)`; `out` is `(n, p)`.
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `out = Aᵀ · y` for `y` of shape `(n, p)`; `out` is `(d, p)`.
    fn apply_t(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `S · A` (`m × d`) for an operator `S` of shape `(m, n)`. The default
    /// materializes `S` (`m · n` entries) and applies `Aᵀ` to `Sᵀ`.
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        let (m, n) = s.shape();
        let dense = s.to_dense::<T>()?; // row-major m × n = column-major Sᵀ (n × m)
        let st = MatRef::from_column_major_slice(&dense, n, m);
        let mut out = zeros(self.ncols(), m, "S A")?;
        self.apply_t(st, out.as_mut())?;
        Ok(out.transpose().to_owned())
    }
    /// `A · Sᵀ` (`n × m`) for an operator `S` of shape `(m, d)`. The default
    /// materializes `S` and applies `A` to `Sᵀ`.
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        let (m, d) = s.shape();
        let dense = s.to_dense::<T>()?;
        let st = MatRef::from_column_major_slice(&dense, d, m);
        let mut out = zeros(self.nrows(), m, "A S^T")?;
        self.apply(st, out.as_mut())?;
        Ok(out)
    }
    /// `‖A‖_F²` when it is cheap to know exactly (`None` for matrix-free operators).
    fn frob2(&self) -> Option<f64> {
        None
    }
    /// The normal-equations step of LSQR and the iterative Hessian sketch:
    /// `u ← A x − u · diag(c)` (column `j` of the old `u`, `n × p`, scaled by `c[j]`),
    /// then `out = Aᵀ u` (`d × p`); returns `‖u[:, j]‖²` per column. The default makes
    /// the two products (two passes over `A`); dense and CSR operators fuse them into
    /// one pass, each row block's `Aᵀ u` taken while the block is still in cache.
    fn apply_normal(
        &self,
        x: MatRef<'_, T>,
        c: &[T],
        u: MatMut<'_, T>,
        out: MatMut<'_, T>,
    ) -> Result<Vec<f64>> {
        two_pass_normal(self, x, c, u, out)
    }
    /// The squared row norms of `A · x` (`n` values). The default forms `A x`.
    fn row_sq_norms_of(&self, x: MatRef<'_, T>) -> Result<Vec<T>> {
        let mut ax = zeros(self.nrows(), x.ncols(), "A x")?;
        self.apply(x, ax.as_mut())?;
        Ok(row_sq_norms(ax.as_ref(), 0..ax.nrows()))
    }
}

/// [`LinOp::apply_normal`] as its two products.
fn two_pass_normal<T: Field, O: LinOp<T> + ?Sized>(
    op: &O,
    x: MatRef<'_, T>,
    c: &[T],
    mut u: MatMut<'_, T>,
    out: MatMut<'_, T>,
) -> Result<Vec<f64>> {
    let mut ax = zeros(op.nrows(), x.ncols(), "A x")?;
    op.apply(x, ax.as_mut())?;
    let mut norms = vec![0.0f64; x.ncols()];
    update_rows(ax.as_ref(), c, u.rb_mut(), &mut norms);
    op.apply_t(u.rb(), out)?;
    Ok(norms)
}

/// `u ← t − u · diag(c)`, adding each column's `‖u[:, j]‖²` to `norms[j]`.
fn update_rows<T: Field>(t: MatRef<'_, T>, c: &[T], mut u: MatMut<'_, T>, norms: &mut [f64]) {
    for (j, (&cj, nj)) in c.iter().zip(norms.iter_mut()).enumerate() {
        for i in 0..t.nrows() {
            let v = t[(i, j)] - cj * u[(i, j)];
            u[(i, j)] = v;
            *nj += v.to_f64() * v.to_f64();
        }
    }
}

/// `‖m[i, :]‖²` for the rows `rows` of `m`.
pub(crate) fn row_sq_norms<T: Field>(m: MatRef<'_, T>, rows: std::ops::Range<usize>) -> Vec<T> {
    let mut out = vec![T::ZERO; rows.len()];
    for j in 0..m.ncols() {
        for (o, i) in out.iter_mut().zip(rows.clone()) {
            let v = m[(i, j)];
            *o += v * v;
        }
    }
    out
}

/// `Aᵀ · 1 / n`: the column means, through [`LinOp::apply_t`] (deterministic).
pub fn column_means<T: Field>(op: &dyn LinOp<T>) -> Result<Vec<T>> {
    let n = op.nrows();
    let ones = Mat::<T>::from_fn(n, 1, |_, _| T::ONE);
    let mut out = zeros(op.ncols(), 1, "column means")?;
    op.apply_t(ones.as_ref(), out.as_mut())?;
    let inv = T::from_f64(1.0 / n as f64);
    Ok((0..op.ncols()).map(|j| out[(j, 0)] * inv).collect())
}

/// A dense matrix of any layout (a crate view: strided, row- or column-major).
pub struct DenseOp<'a, T> {
    a: crate::view::MatRef<'a, T>,
}

impl<'a, T: Field> DenseOp<'a, T> {
    /// Wraps `a`; `Err(NonFinite)` naming `arg` when it holds NaN or ±inf.
    pub fn new(a: crate::view::MatRef<'a, T>, arg: &'static str) -> Result<Self> {
        if !crate::finite::all_finite(a) {
            return Err(SketchError::NonFinite { arg });
        }
        Ok(DenseOp { a })
    }
    /// faer's view of the matrix.
    pub fn view(&self) -> MatRef<'a, T> {
        to_faer(self.a)
    }
}

impl<T: Field> LinOp<T> for DenseOp<'_, T> {
    fn nrows(&self) -> usize {
        self.a.rows()
    }
    fn ncols(&self) -> usize {
        self.a.cols()
    }
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        gemm_rows(self.view(), x, out)
    }
    fn apply_t(&self, y: MatRef<'_, T>, mut out: MatMut<'_, T>) -> Result<()> {
        out.copy_from(gemm_t_rows(self.view(), y)?);
        Ok(())
    }
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        let mut out = zeros(s.shape().0, self.ncols(), "S A")?;
        s.sketch(self.a, from_faer_mut(out.as_mut()))?;
        Ok(out)
    }
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        let mut out = zeros(self.nrows(), s.shape().0, "A S^T")?;
        s.project(self.a, from_faer_mut(out.as_mut()))?;
        Ok(out)
    }
    fn apply_normal(
        &self,
        x: MatRef<'_, T>,
        c: &[T],
        u: MatMut<'_, T>,
        mut out: MatMut<'_, T>,
    ) -> Result<Vec<f64>> {
        let a = self.view();
        let (d, p) = (a.ncols(), x.ncols());
        let rows = super::fused_block_rows::<T>(d);
        let (sum, norms) = fused_row_parts(u, d, p, usize::MAX, |r, mut slab, mut part| {
            let mut t = zeros(rows, p, "row block product")?;
            let mut norms = vec![0.0f64; p];
            let mut at = 0;
            while at < r.len() {
                let len = rows.min(r.len() - at);
                let blk = a.subrows(r.start + at, len);
                let mut tb = t.as_mut().subrows_mut(0, len);
                matmul(tb.rb_mut(), Accum::Replace, blk, x, T::ONE, Par::Seq);
                let mut ub = slab.rb_mut().subrows_mut(at, len);
                update_rows(tb.rb(), c, ub.rb_mut(), &mut norms);
                matmul(
                    part.rb_mut(),
                    Accum::Add,
                    blk.transpose(),
                    ub.rb(),
                    T::ONE,
                    Par::Seq,
                );
                at += len;
            }
            Ok(norms)
        })?;
        out.copy_from(sum);
        Ok(norms)
    }
    fn row_sq_norms_of(&self, x: MatRef<'_, T>) -> Result<Vec<T>> {
        // Fused: each row block's product stays in a small buffer (no n × p result).
        let a = self.view();
        let parts = row_parts(a.nrows(), 1024, usize::MAX);
        let out = crate::parallel::install(|| {
            parts
                .into_par_iter()
                .map(|r| {
                    let mut blk = zeros(r.len(), x.ncols(), "row block")?;
                    faer::linalg::matmul::matmul(
                        blk.as_mut(),
                        faer::Accum::Replace,
                        a.subrows(r.start, r.len()),
                        x,
                        T::ONE,
                        faer::Par::Seq,
                    );
                    Ok(row_sq_norms(blk.as_ref(), 0..r.len()))
                })
                .collect::<Result<Vec<Vec<T>>>>()
        })??;
        Ok(out.concat())
    }
    fn frob2(&self) -> Option<f64> {
        let a = self.view();
        let parts = row_parts(a.nrows(), 4096, usize::MAX);
        let sums: Vec<f64> = crate::parallel::install(|| {
            parts
                .into_par_iter()
                .map(|r| {
                    let mut s = 0.0f64;
                    for i in r {
                        for j in 0..a.ncols() {
                            let v = a[(i, j)].to_f64();
                            s += v * v;
                        }
                    }
                    s
                })
                .collect()
        })
        .ok()?;
        Some(sums.iter().sum())
    }
}

/// A sparse matrix given as CSR (`A` itself) or as CSC (read as the CSR arrays of
/// `Aᵀ`). Products along the stored rows are row-parallel gathers; products with the
/// other orientation scatter fixed row parts into partial sums added in part order
/// (no transposed copy: memory stays that of the input plus the partials).
pub struct CsrOp<'a, T, I> {
    csr: CsrRef<'a, T, I>,
    /// `A = csrᵀ` (the input was CSC).
    transposed: bool,
}

impl<'a, T: Field, I: SparseIndex> CsrOp<'a, T, I> {
    /// `A = csr` (or `csrᵀ` when `transposed`, for CSC input); `Err(NonFinite)` naming
    /// `arg` when a stored value is NaN or ±inf.
    pub fn new(csr: CsrRef<'a, T, I>, transposed: bool, arg: &'static str) -> Result<Self> {
        if !crate::finite::slice_all_finite(csr.data) {
            return Err(SketchError::NonFinite { arg });
        }
        Ok(CsrOp { csr, transposed })
    }
}

/// `out = M · x` for CSR arrays `M` (rows of `out`), row-parallel. `x` is copied
/// row-major once so each stored entry adds one contiguous row of `x`.
fn csr_gather<T: Field, J: SparseIndex>(
    indptr: &[J],
    indices: &[J],
    data: &[T],
    x: MatRef<'_, T>,
    out: MatMut<'_, T>,
) -> Result<()> {
    let p = x.ncols();
    let xr = row_major(x)?;
    let ix = |v: J| v.to_usize().unwrap_or(0);
    par_row_blocks(out, |r, mut blk| {
        let mut acc = try_vec(p, T::ZERO, "row accumulator")?;
        // Dispatched: the row updates vectorize at the CPU's SIMD level (separate
        // multiplies and adds, the same bits at every level).
        crate::dispatch!({
            for (bi, i) in r.enumerate() {
                acc.fill(T::ZERO);
                for t in ix(indptr[i])..ix(indptr[i + 1]) {
                    let v = data[t];
                    let row = &xr[ix(indices[t]) * p..][..p];
                    for (a, &xv) in acc.iter_mut().zip(row) {
                        *a += v * xv;
                    }
                }
                for (j, &a) in acc.iter().enumerate() {
                    blk[(bi, j)] = a;
                }
            }
        });
        Ok(())
    })
}

/// Row parts of a CSR product with partial sums (`nnz` stored values, `d` columns):
/// at most 8, and few enough that zeroing and adding the `d × p` partials stays small
/// next to the `nnz · p` work.
fn csr_parts(nnz: usize, d: usize) -> usize {
    (nnz / (8 * d.max(1))).clamp(1, 8)
}

/// `x` (`d × p`) copied row-major, so each stored entry of a CSR product reads one
/// contiguous row of it.
fn row_major<T: Field>(x: MatRef<'_, T>) -> Result<Vec<T>> {
    let (d, p) = (x.nrows(), x.ncols());
    let mut xr = try_vec(d * p, T::ZERO, "right-hand side copy")?;
    for i in 0..d {
        for j in 0..p {
            xr[i * p + j] = x[(i, j)];
        }
    }
    Ok(xr)
}

/// The fused [`LinOp::apply_normal`] of CSR arrays `M` (`n × d`): per stored row `i`,
/// `t = M[i, :] x`, `u[i, :] ← t − u[i, :] · diag(c)`, then `M[i, :]ᵀ u[i, :]` is
/// scattered into the part's partial sum while the row's entries are in cache.
fn csr_normal<T: Field, J: SparseIndex>(
    csr: &CsrRef<'_, T, J>,
    x: MatRef<'_, T>,
    c: &[T],
    u: MatMut<'_, T>,
    mut out: MatMut<'_, T>,
) -> Result<Vec<f64>> {
    let (d, p) = (x.nrows(), x.ncols());
    let (indptr, indices, data) = (csr.indptr, csr.indices, csr.data);
    let xr = row_major(x)?;
    let ix = |v: J| v.to_usize().unwrap_or(0);
    let parts = csr_parts(data.len(), d);
    let (sum, norms) = fused_row_parts(u, d, p, parts, |r, mut slab, mut part| {
        let mut acc = try_vec(d * p, T::ZERO, "partial product")?;
        let mut t = try_vec(p, T::ZERO, "row accumulator")?;
        let mut norms = vec![0.0f64; p];
        crate::dispatch!(for (bi, i) in r.enumerate() {
            t.fill(T::ZERO);
            let entries = ix(indptr[i])..ix(indptr[i + 1]);
            for k in entries.clone() {
                let v = data[k];
                for (a, &xv) in t.iter_mut().zip(&xr[ix(indices[k]) * p..][..p]) {
                    *a += v * xv;
                }
            }
            for (j, (tj, nj)) in t.iter_mut().zip(norms.iter_mut()).enumerate() {
                let w = *tj - c[j] * slab[(bi, j)];
                slab[(bi, j)] = w;
                *tj = w;
                *nj += w.to_f64() * w.to_f64();
            }
            for k in entries {
                let v = data[k];
                for (a, &w) in acc[ix(indices[k]) * p..][..p].iter_mut().zip(&t) {
                    *a += v * w;
                }
            }
        });
        for col in 0..d {
            for j in 0..p {
                part[(col, j)] = acc[col * p + j];
            }
        }
        Ok(norms)
    })?;
    out.copy_from(sum);
    Ok(norms)
}

/// `out = Mᵀ · y` for CSR arrays `M` (`n × d`; `out` is `d × p`). Fixed row parts
/// ([`partial_row_parts`] within [`csr_parts`]: a function of the shape and `nnz`
/// alone) each scatter their rows into a row-major partial sum (each stored entry adds
/// one contiguous row of `y`); the partials are added in part order. No transposed copy
/// of `M` is made.
fn csr_scatter_t<T: Field, J: SparseIndex>(
    indptr: &[J],
    indices: &[J],
    data: &[T],
    d: usize,
    y: MatRef<'_, T>,
    mut out: MatMut<'_, T>,
) -> Result<()> {
    let (n, p) = (y.nrows(), y.ncols());
    let ix = |v: J| v.to_usize().unwrap_or(0);
    let ranges = partial_row_parts::<T>(n, 1, d, p, csr_parts(data.len(), d));
    let partials = crate::parallel::install(|| {
        ranges
            .into_par_iter()
            .map(|r| {
                let mut acc = try_vec(d * p, T::ZERO, "partial product")?;
                let mut yrow = try_vec(p, T::ZERO, "row buffer")?;
                crate::dispatch!(for i in r {
                    for (j, v) in yrow.iter_mut().enumerate() {
                        *v = y[(i, j)];
                    }
                    for t in ix(indptr[i])..ix(indptr[i + 1]) {
                        let v = data[t];
                        let dst = &mut acc[ix(indices[t]) * p..][..p];
                        for (a, &yv) in dst.iter_mut().zip(&yrow) {
                            *a += v * yv;
                        }
                    }
                });
                Ok(acc)
            })
            .collect::<Result<Vec<Vec<T>>>>()
    })??;
    let mut it = partials.into_iter();
    let mut acc = it.next().unwrap_or_default();
    for part in it {
        for (a, b) in acc.iter_mut().zip(&part) {
            *a += *b;
        }
    }
    for c in 0..d {
        for j in 0..p {
            out[(c, j)] = acc[c * p + j];
        }
    }
    Ok(())
}

impl<T: Field, I: SparseIndex> LinOp<T> for CsrOp<'_, T, I> {
    fn nrows(&self) -> usize {
        if self.transposed {
            self.csr.cols
        } else {
            self.csr.rows
        }
    }
    fn ncols(&self) -> usize {
        if self.transposed {
            self.csr.rows
        } else {
            self.csr.cols
        }
    }
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        let c = &self.csr;
        if self.transposed {
            csr_scatter_t(c.indptr, c.indices, c.data, c.cols, x, out)
        } else {
            csr_gather(c.indptr, c.indices, c.data, x, out)
        }
    }
    fn apply_t(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        let c = &self.csr;
        if self.transposed {
            csr_gather(c.indptr, c.indices, c.data, y, out)
        } else {
            csr_scatter_t(c.indptr, c.indices, c.data, c.cols, y, out)
        }
    }
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        let mut out = zeros(s.shape().0, self.ncols(), "S A")?;
        if self.transposed {
            // S · csrᵀ = (csr · Sᵀ)ᵀ
            s.project_csr(&self.csr, from_faer_mut(out.as_mut().transpose_mut()))?;
        } else {
            s.sketch_csr(&self.csr, from_faer_mut(out.as_mut()))?;
        }
        Ok(out)
    }
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        let mut out = zeros(self.nrows(), s.shape().0, "A S^T")?;
        if self.transposed {
            // csrᵀ · Sᵀ = (S · csr)ᵀ
            s.sketch_csr(&self.csr, from_faer_mut(out.as_mut().transpose_mut()))?;
        } else {
            s.project_csr(&self.csr, from_faer_mut(out.as_mut()))?;
        }
        Ok(out)
    }
    fn frob2(&self) -> Option<f64> {
        Some(self.csr.data.iter().map(|v| v.to_f64() * v.to_f64()).sum())
    }
    fn apply_normal(
        &self,
        x: MatRef<'_, T>,
        c: &[T],
        u: MatMut<'_, T>,
        out: MatMut<'_, T>,
    ) -> Result<Vec<f64>> {
        if self.transposed {
            // A x scatters into all of u before Aᵀ u can start: two passes.
            two_pass_normal(self, x, c, u, out)
        } else {
            csr_normal(&self.csr, x, c, u, out)
        }
    }
}

/// `A − 1 μᵀ` without forming it: the column-centred matrix (`μ` the column means),
/// for PCA of sparse data without densifying.
pub struct Centered<'o, T> {
    inner: &'o dyn LinOp<T>,
    mean: Vec<T>,
}

impl<'o, T: Field> Centered<'o, T> {
    /// Centres `inner` by its column means.
    pub fn new(inner: &'o dyn LinOp<T>) -> Result<Self> {
        let mean = column_means(inner)?;
        Ok(Centered { inner, mean })
    }
    /// The column means `μ`.
    pub fn mean(&self) -> &[T] {
        &self.mean
    }
    fn mean_col(&self) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.mean, self.mean.len(), 1)
    }
}

/// Sums of the columns of `y` in row order (deterministic), `1 × p`.
fn column_sums<T: Field>(y: MatRef<'_, T>) -> Result<Mat<T>> {
    let s = sum_over_row_parts(y.nrows(), 1, y.ncols(), |r, mut out| {
        for j in 0..y.ncols() {
            let mut acc = T::ZERO;
            for i in r.clone() {
                acc += y[(i, j)];
            }
            out[(0, j)] = acc;
        }
        Ok(())
    })?;
    Ok(s)
}

impl<T: Field> LinOp<T> for Centered<'_, T> {
    fn nrows(&self) -> usize {
        self.inner.nrows()
    }
    fn ncols(&self) -> usize {
        self.inner.ncols()
    }
    fn apply(&self, x: MatRef<'_, T>, mut out: MatMut<'_, T>) -> Result<()> {
        self.inner.apply(x, out.rb_mut())?;
        let c = self.mean_col().transpose() * x; // 1 × p
        par_row_blocks(out, |_, mut blk| {
            for j in 0..blk.ncols() {
                for i in 0..blk.nrows() {
                    blk[(i, j)] -= c[(0, j)];
                }
            }
            Ok(())
        })
    }
    fn apply_t(&self, y: MatRef<'_, T>, mut out: MatMut<'_, T>) -> Result<()> {
        self.inner.apply_t(y, out.rb_mut())?;
        let s = column_sums(y)?; // 1 × p
        for j in 0..out.ncols() {
            for i in 0..out.nrows() {
                out[(i, j)] -= self.mean[i] * s[(0, j)];
            }
        }
        Ok(())
    }
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        // S (A − 1μᵀ) = S A − (S 1) μᵀ
        let mut out = self.inner.sketch_rows(s)?;
        let ones = try_vec(self.nrows(), T::ONE, "ones")?;
        let mut s1 = zeros(s.shape().0, 1, "S 1")?;
        s.sketch(
            crate::view::MatRef::from_col_major(&ones, ones.len(), 1)?,
            from_faer_mut(s1.as_mut()),
        )?;
        for j in 0..out.ncols() {
            for i in 0..out.nrows() {
                out[(i, j)] -= s1[(i, 0)] * self.mean[j];
            }
        }
        Ok(out)
    }
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        // (A − 1μᵀ) Sᵀ = A Sᵀ − 1 (S μ)ᵀ
        let mut out = self.inner.sketch_cols(s)?;
        let mut sm = zeros(1, s.shape().0, "S mu")?;
        s.project(
            crate::view::MatRef::from_row_major(&self.mean, 1, self.mean.len())?,
            from_faer_mut(sm.as_mut()),
        )?;
        par_row_blocks(out.as_mut(), |_, mut blk| {
            for j in 0..blk.ncols() {
                for i in 0..blk.nrows() {
                    blk[(i, j)] -= sm[(0, j)];
                }
            }
            Ok(())
        })?;
        Ok(out)
    }
    fn frob2(&self) -> Option<f64> {
        // ‖A − 1μᵀ‖² = ‖A‖² − n‖μ‖²
        let m2: f64 = self.mean.iter().map(|v| v.to_f64() * v.to_f64()).sum();
        self.inner
            .frob2()
            .map(|f| (f - self.nrows() as f64 * m2).max(0.0))
    }
}

/// A matrix-free operator from two callbacks (`A x` and `Aᵀ y`), e.g. a Python
/// `LinearOperator`. Callbacks are called from the calling thread only.
pub struct FnOp<F, G> {
    n: usize,
    d: usize,
    f: F,
    g: G,
}

impl<F, G> FnOp<F, G> {
    /// `A` of shape `(n, d)` with `apply = f`, `apply_t = g`.
    pub fn new(n: usize, d: usize, f: F, g: G) -> Self {
        FnOp { n, d, f, g }
    }
}

impl<T, F, G> LinOp<T> for FnOp<F, G>
where
    T: Field,
    F: Fn(MatRef<'_, T>, MatMut<'_, T>) -> Result<()> + Sync,
    G: Fn(MatRef<'_, T>, MatMut<'_, T>) -> Result<()> + Sync,
{
    fn nrows(&self) -> usize {
        self.n
    }
    fn ncols(&self) -> usize {
        self.d
    }
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        (self.f)(x, out)
    }
    fn apply_t(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        (self.g)(y, out)
    }
}

/// `Aᵀ` of an operator (a view: products swap).
pub(crate) struct Transposed<'o, T>(pub &'o dyn LinOp<T>);

impl<T: Field> LinOp<T> for Transposed<'_, T> {
    fn nrows(&self) -> usize {
        self.0.ncols()
    }
    fn ncols(&self) -> usize {
        self.0.nrows()
    }
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.0.apply_t(x, out)
    }
    fn apply_t(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.0.apply(y, out)
    }
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        // S Aᵀ = (A Sᵀ)ᵀ
        Ok(self.0.sketch_cols(s)?.transpose().to_owned())
    }
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        Ok(self.0.sketch_rows(s)?.transpose().to_owned())
    }
    fn frob2(&self) -> Option<f64> {
        self.0.frob2()
    }
}

/// `out = op · x` into a new matrix.
pub(crate) fn mul<T: Field>(op: &dyn LinOp<T>, x: MatRef<'_, T>) -> Result<Mat<T>> {
    let mut out = zeros(op.nrows(), x.ncols(), "A x")?;
    op.apply(x, out.as_mut())?;
    Ok(out)
}

/// `opᵀ · y` into a new matrix.
pub(crate) fn mul_t<T: Field>(op: &dyn LinOp<T>, y: MatRef<'_, T>) -> Result<Mat<T>> {
    let mut out = zeros(op.ncols(), y.ncols(), "A^T y")?;
    op.apply_t(y, out.as_mut())?;
    Ok(out)
}

/// Another operator that stops at its next pass over the data once `cancel` is set:
/// every product returns [`SketchError::Interrupted`] from then on. The iterative
/// methods make one product per pass, so wrapping their operator makes them
/// interruptible between passes (the binding sets `cancel` on Ctrl-C).
pub struct Cancellable<'a, T> {
    inner: &'a dyn LinOp<T>,
    cancel: &'a std::sync::atomic::AtomicBool,
}

impl<'a, T: Field> Cancellable<'a, T> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn LinOp<T>, cancel: &'a std::sync::atomic::AtomicBool) -> Self {
        Cancellable { inner, cancel }
    }
    fn check(&self) -> Result<()> {
        if self.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            Err(SketchError::Interrupted)
        } else {
            Ok(())
        }
    }
}

impl<T: Field> LinOp<T> for Cancellable<'_, T> {
    fn nrows(&self) -> usize {
        self.inner.nrows()
    }
    fn ncols(&self) -> usize {
        self.inner.ncols()
    }
    fn apply(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.check()?;
        self.inner.apply(x, out)
    }
    fn apply_t(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.check()?;
        self.inner.apply_t(y, out)
    }
    fn sketch_rows(&self, s: &Sketch) -> Result<Mat<T>> {
        self.check()?;
        self.inner.sketch_rows(s)
    }
    fn sketch_cols(&self, s: &Sketch) -> Result<Mat<T>> {
        self.check()?;
        self.inner.sketch_cols(s)
    }
    fn frob2(&self) -> Option<f64> {
        self.inner.frob2()
    }
    fn row_sq_norms_of(&self, x: MatRef<'_, T>) -> Result<Vec<T>> {
        self.check()?;
        self.inner.row_sq_norms_of(x)
    }
    fn apply_normal(
        &self,
        x: MatRef<'_, T>,
        c: &[T],
        u: MatMut<'_, T>,
        out: MatMut<'_, T>,
    ) -> Result<Vec<f64>> {
        self.check()?;
        self.inner.apply_normal(x, c, u, out)
    }
}
