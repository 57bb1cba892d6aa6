//! Sketch operators `S` of shape `(k, d)`, all matrix-free and scaled so that
//! `E‖Sx‖² = ‖x‖²`.
//!
//! | family | entries of column `j` |
//! |---|---|
//! | [`Family::Gaussian`] | `N(0, 1)/√k` |
//! | [`Family::Rademacher`] | `±1/√k` |
//! | [`Family::VerySparse`] | `±√(1/(density·k))` with probability `density/2` each (Achlioptas, Li–Hastie–Church); positions by geometric skips |
//! | [`Family::SparseSign`] | exactly `nnz` entries `±1/√nnz` at distinct rows (Floyd's sampling) |
//! | [`Family::CountSketch`] | one `±1` at a uniform row |
//!
//! Column `j` is a pure function of `(seed, family, k, parameters, j)`.
//!
//! ```
//! use sketchkit::{Family, LinearSketch, MatMut, MatRef, Sketch};
//! let s = Sketch::new(Family::SparseSign { nnz: 4 }, 16, 100, 7).unwrap();
//! let x = vec![1.0f64; 3 * 100];
//! let mut y = vec![0.0f64; 3 * 16];
//! s.project(MatRef::from_row_major(&x, 3, 100).unwrap(),
//!           MatMut::from_row_major(&mut y, 3, 16).unwrap()).unwrap();
//! // Same operator, same rows: same bits.
//! assert_eq!(y[..16], y[16..32]);
//! ```

pub(crate) mod csr;
pub(crate) mod dense;
#[cfg(target_arch = "x86_64")]
pub(crate) mod micro_x86;
pub(crate) mod sparse_kernels;
pub(crate) mod srht;
pub(crate) mod structure;
#[cfg(target_arch = "x86_64")]
pub(crate) mod transpose_x86;

pub use csr::{CsrParts, CsrParts32};
pub use structure::{SparseMat, MAX_SPARSE_DIM};

use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::rng::{open01, tag, Stream};
use crate::view::{CsrRef, MatMut, MatRef, SparseIndex};
use crate::Real;
use dense::DenseKind;
use rayon::prelude::*;
use std::sync::OnceLock;
use structure::{Compressed, SIGN_BIT};

/// The operator families.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    /// Dense i.i.d. `N(0, 1/k)` entries.
    Gaussian,
    /// Dense i.i.d. `±1/√k` entries.
    Rademacher,
    /// Achlioptas/Li very sparse projection with the given `density` in (0, 1].
    VerySparse {
        /// Probability that an entry is nonzero.
        density: f64,
    },
    /// Sparse sign embedding with exactly `nnz` nonzeros per column.
    SparseSign {
        /// Nonzeros per column (`1 <= nnz <= k`).
        nnz: usize,
    },
    /// CountSketch: one `±1` per column.
    CountSketch,
    /// Subsampled randomized Hadamard transform (`k <= d'`, `d'` = next power of two).
    Srht,
}

impl Family {
    /// Lower-case name used by the Python API.
    pub fn name(&self) -> &'static str {
        match self {
            Family::Gaussian => "gaussian",
            Family::Rademacher => "rademacher",
            Family::VerySparse { .. } => "very_sparse",
            Family::SparseSign { .. } => "sparse_sign",
            Family::CountSketch => "countsketch",
            Family::Srht => "srht",
        }
    }

    /// Whether the family is stored as index lists.
    fn is_sparse(&self) -> bool {
        matches!(
            self,
            Family::VerySparse { .. } | Family::SparseSign { .. } | Family::CountSketch
        )
    }

    fn dense_kind(&self) -> Option<DenseKind> {
        match self {
            Family::Gaussian => Some(DenseKind::Gaussian),
            Family::Rademacher => Some(DenseKind::Rademacher),
            _ => None,
        }
    }
}

/// Linear sketch operators of shape `(k, d)` applied in both directions. Only the
/// two feature-direction methods are required; the row-direction ones are the same
/// computation on transposed views (free).
pub trait LinearSketch {
    /// `(k, d)`.
    fn shape(&self) -> (usize, usize);
    /// `out = X · Sᵀ` for `X` of shape `(n, d)`; `out` is `(n, k)`.
    fn project<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `out = Z · S` for `Z` of shape `(n, k)`; `out` is `(n, d)`.
    fn project_adjoint<T: Real>(&self, z: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()>;
    /// `out = S · A` for `A` of shape `(d, m)`; `out` is `(k, m)`.
    fn sketch<T: Real>(&self, a: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.project(a.t(), out.t())
    }
    /// `out = Sᵀ · Y` for `Y` of shape `(k, m)`; `out` is `(d, m)`.
    fn sketch_adjoint<T: Real>(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.project_adjoint(y.t(), out.t())
    }
}

/// A sketch operator: family, shape and seed. Sparse families build their index
/// lists (`O(nnz)` memory) on first use and keep them.
#[derive(Debug)]
pub struct Sketch {
    family: Family,
    k: usize,
    d: usize,
    seed: u64,
    sparse: OnceLock<SparseMat>,
    sparse_t: OnceLock<SparseMat>,
    srht: OnceLock<srht::Srht>,
}

impl Clone for Sketch {
    fn clone(&self) -> Self {
        Sketch {
            family: self.family,
            k: self.k,
            d: self.d,
            seed: self.seed,
            sparse: OnceLock::new(),
            sparse_t: OnceLock::new(),
            srht: OnceLock::new(),
        }
    }
}

fn check_shape(what: &str, got: (usize, usize), want: (usize, usize)) -> Result<()> {
    if got != want {
        return Err(SketchError::ShapeMismatch(format!(
            "{what} has shape ({}, {}), expected ({}, {})",
            got.0, got.1, want.0, want.1
        )));
    }
    Ok(())
}

impl Sketch {
    /// Validates the parameters and creates the operator (no work is done yet).
    pub fn new(family: Family, k: usize, d: usize, seed: u64) -> Result<Self> {
        if k == 0 {
            return Err(SketchError::arg("k", "must be at least 1"));
        }
        if d == 0 {
            return Err(SketchError::arg("d", "must be at least 1"));
        }
        checked_mul(k, d, "k * d")?;
        if i64::try_from(k.saturating_mul(d)).is_err() {
            return Err(SketchError::Overflow(format!(
                "k * d = {k} * {d} exceeds the int64 range"
            )));
        }
        match family {
            Family::VerySparse { density } if !(density > 0.0 && density <= 1.0) => {
                return Err(SketchError::arg(
                    "density",
                    format!("must be in (0, 1], got {density}"),
                ));
            }
            Family::SparseSign { nnz } if nnz == 0 || nnz > k => {
                return Err(SketchError::arg(
                    "nnz",
                    format!("must be in [1, k={k}], got {nnz}"),
                ));
            }
            _ => {}
        }
        if family == Family::Srht {
            if d > crate::fwht::MAX_LEN {
                return Err(SketchError::arg(
                    "d",
                    format!("the SRHT supports d up to 2^30, got {d}"),
                ));
            }
            let dpad = d.next_power_of_two();
            if k > dpad {
                return Err(SketchError::arg(
                    "k",
                    format!(
                        "the SRHT samples k <= {dpad} rows (d padded to a power of two), got {k}"
                    ),
                ));
            }
        }
        if family.is_sparse() && (k > MAX_SPARSE_DIM || d > MAX_SPARSE_DIM) {
            return Err(SketchError::Overflow(format!(
                "sparse families support k and d up to {MAX_SPARSE_DIM}"
            )));
        }
        Ok(Sketch {
            family,
            k,
            d,
            seed,
            sparse: OnceLock::new(),
            sparse_t: OnceLock::new(),
            srht: OnceLock::new(),
        })
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Magnitude of the nonzero entries (sparse families) or `1/√k` (dense ones).
    pub fn scale(&self) -> f64 {
        match self.family {
            Family::Gaussian | Family::Rademacher | Family::Srht => 1.0 / (self.k as f64).sqrt(),
            Family::VerySparse { density } => (1.0 / (density * self.k as f64)).sqrt(),
            Family::SparseSign { nnz } => 1.0 / (nnz as f64).sqrt(),
            Family::CountSketch => 1.0,
        }
    }

    /// Appends column `j`'s entries (row index | sign bit), rows ascending.
    fn sparse_column(&self, j: usize, out: &mut Vec<u32>) {
        let (k, seed, jj) = (self.k, self.seed, j as u64);
        match self.family {
            Family::VerySparse { density } => {
                // Geometric skips: the gap before the next nonzero is
                // floor(ln U / ln(1 - density)), so positions are Bernoulli(density)
                // without a trial per entry.
                let lq = (-density).ln_1p();
                let mut s = Stream::new(seed, tag::VERY_SPARSE, jj);
                let mut pos = 0u64;
                loop {
                    let w = s.next_u64();
                    let gap = (open01(w).ln() / lq).floor();
                    // also stops on NaN (never produced: ln U < 0 and ln(1-p) < 0)
                    if gap.is_nan() || gap >= k as f64 {
                        break;
                    }
                    pos += gap as u64;
                    if pos >= k as u64 {
                        break;
                    }
                    out.push(pos as u32 | if w & 1 == 1 { SIGN_BIT } else { 0 });
                    pos += 1;
                }
            }
            Family::SparseSign { nnz } => {
                let mut s = Stream::new(seed, tag::SPARSE_SIGN, jj);
                let start = out.len();
                // Floyd's algorithm: nnz distinct rows with exactly nnz draws.
                for t in (k - nnz)..k {
                    let r = s.below(t as u32 + 1);
                    let chosen = &out[start..];
                    let taken = if nnz <= 64 {
                        chosen.contains(&r)
                    } else {
                        chosen.binary_search(&r).is_ok()
                    };
                    let v = if taken { t as u32 } else { r };
                    if nnz <= 64 {
                        out.push(v);
                    } else {
                        let at = start + out[start..].partition_point(|&x| x < v);
                        out.insert(at, v);
                    }
                }
                out[start..].sort_unstable();
                let mut word = 0u32;
                for (q, e) in out[start..].iter_mut().enumerate() {
                    if q % 32 == 0 {
                        word = s.next_u32();
                    }
                    if (word >> (q % 32)) & 1 == 1 {
                        *e |= SIGN_BIT;
                    }
                }
            }
            Family::CountSketch => {
                let mut s = Stream::new(seed, tag::COUNTSKETCH, jj);
                let r = s.below(k as u32);
                let neg = s.next_u32() & 1 == 1;
                out.push(r | if neg { SIGN_BIT } else { 0 });
            }
            Family::Gaussian | Family::Rademacher | Family::Srht => {}
        }
    }

    /// Index lists of a sparse family (built once and kept); `None` for the dense
    /// families.
    pub fn sparse_mat(&self) -> Result<Option<&SparseMat>> {
        if !self.family.is_sparse() {
            return Ok(None);
        }
        if let Some(m) = self.sparse.get() {
            return Ok(Some(m));
        }
        let csc = crate::parallel::install(|| {
            Compressed::generate(self.d, |j, out| self.sparse_column(j, out))
        })??;
        let m = SparseMat::from_csc(self.k, self.d, self.scale(), csc);
        Ok(Some(self.sparse.get_or_init(|| m)))
    }

    fn sparse_mat_t(&self) -> Result<Option<&SparseMat>> {
        let Some(m) = self.sparse_mat()? else {
            return Ok(None);
        };
        if let Some(t) = self.sparse_t.get() {
            return Ok(Some(t));
        }
        let t = m.transposed()?;
        Ok(Some(self.sparse_t.get_or_init(|| t)))
    }

    /// Rows `j0..j1` of `Sᵀ` for a dense family, written to `buf`.
    fn dense_st(&self, kind: DenseKind, j0: usize, j1: usize, buf: &mut [impl Real]) {
        dense::st_block(kind, self.seed, self.k, j0, j1, buf);
    }

    /// Rows of `Sᵀ` generated per block by the dense GEMM path.
    fn dense_block(&self) -> usize {
        // ~1M entries per block, at least 64 rows: bounds memory to O(k) blocks.
        ((1 << 20) / self.k).clamp(64, 4096)
    }

    /// Runs `f` on the operator as the CSR kernels see it (a dense family is
    /// materialized as `Sᵀ`, `k·d` entries, for sparse inputs).
    fn with_op_ref<T: Real, R: Send>(
        &self,
        f: impl FnOnce(&csr::OpRef<'_, T>) -> Result<R> + Send,
    ) -> Result<R> {
        crate::parallel::install(|| {
            if let Some(m) = self.sparse_mat()? {
                f(&csr::OpRef::Sparse(m))
            } else {
                let st = self.materialize_st::<T>()?;
                f(&csr::OpRef::Dense { st: &st, k: self.k })
            }
        })?
    }

    /// `Sᵀ` (`d × k`, row-major) of a dense family or the SRHT.
    fn materialize_st<T: Real>(&self) -> Result<Vec<T>> {
        match (self.family.dense_kind(), self.srht()) {
            (Some(kind), _) => csr::dense_st::<T>(kind, self.seed, self.k, self.d),
            (None, Some(h)) => {
                let len = checked_mul(self.k, self.d, "k * d")?;
                let mut st = try_vec(len, T::ZERO, "the materialized operator")?;
                st.par_chunks_mut(self.k).enumerate().for_each(|(j, row)| {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = h.entry(i, j);
                    }
                });
                Ok(st)
            }
            (None, None) => Err(SketchError::arg("family", "not a dense family")),
        }
    }

    /// The SRHT's random parts (built once); panics for other families.
    pub(crate) fn srht_parts(&self) -> &srht::Srht {
        self.srht().expect("an SRHT operator")
    }

    /// The SRHT's random parts (built once).
    fn srht(&self) -> Option<&srht::Srht> {
        (self.family == Family::Srht).then(|| {
            self.srht
                .get_or_init(|| srht::Srht::new(self.k, self.d, self.seed))
        })
    }

    /// `Err(NonFinite)` unless every stored value is finite.
    fn check_data<T: Real>(data: &[T]) -> Result<()> {
        let v = MatRef::from_row_major(data, 1, data.len())?;
        if crate::finite::all_finite(v) {
            Ok(())
        } else {
            Err(SketchError::NonFinite)
        }
    }

    /// `out = X · Sᵀ` for CSR `X` (`n × d`).
    pub fn project_csr<T: Real, I: SparseIndex>(
        &self,
        x: &CsrRef<'_, T, I>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("X", (x.rows, x.cols), (x.rows, self.d))?;
        check_shape("out", (out.rows(), out.cols()), (x.rows, self.k))?;
        Self::check_data(x.data)?;
        self.with_op_ref(|op| csr::rows_times_st(op, x, self.k, out))
    }

    /// `X · Sᵀ` for CSR `X` as a CSR triple `(indptr, indices, data)` of shape `(n, k)`.
    pub fn project_csr_sparse<T: Real, I: SparseIndex>(
        &self,
        x: &CsrRef<'_, T, I>,
    ) -> Result<CsrParts32<T>> {
        check_shape("X", (x.rows, x.cols), (x.rows, self.d))?;
        Self::check_data(x.data)?;
        self.with_op_ref(|op| csr::rows_times_st_sparse(op, x, self.k))
    }

    /// `out = S · A` for CSR `A` (`d × m`).
    pub fn sketch_csr<T: Real, I: SparseIndex>(
        &self,
        a: &CsrRef<'_, T, I>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        check_shape("A", (a.rows, a.cols), (self.d, a.cols))?;
        check_shape("out", (out.rows(), out.cols()), (self.k, a.cols))?;
        Self::check_data(a.data)?;
        self.with_op_ref(|op| csr::s_times_rows(op, a, self.k, out))
    }

    /// `S` as a dense row-major `k × d` array.
    pub fn to_dense<T: Real>(&self) -> Result<Vec<T>> {
        let len = checked_mul(self.k, self.d, "k * d")?;
        let mut s = try_vec(len, T::ZERO, "the dense operator")?;
        let (k, d) = (self.k, self.d);
        self.with_op_ref::<T, ()>(|op| {
            match op {
                csr::OpRef::Sparse(m) => {
                    let scale = T::from_f64(m.scale);
                    for j in 0..d {
                        for &e in m.csc.list(j) {
                            let sign: T = structure::sign_of(e);
                            s[(e & structure::IDX_MASK) as usize * d + j] = sign * scale;
                        }
                    }
                }
                csr::OpRef::Dense { st, .. } => {
                    for j in 0..d {
                        for i in 0..k {
                            s[i * d + j] = st[j * k + i];
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(s)
    }

    /// `S` as a CSC triple `(indptr, indices, data)`; dense families store every entry.
    pub fn to_csc<T: Real>(&self) -> Result<CsrParts<T>> {
        let len = checked_mul(self.k, self.d, "k * d")?;
        let (k, d) = (self.k, self.d);
        match self.family.is_sparse() {
            true => self.with_op_ref::<T, CsrParts<T>>(|op| {
                let csr::OpRef::Sparse(m) = op else {
                    return Err(SketchError::arg("family", "not sparse"));
                };
                let scale = T::from_f64(m.scale);
                let nnz = m.nnz();
                let mut indptr = try_vec(0, 0i64, "indptr")?;
                let mut indices = try_vec(0, 0i64, "indices")?;
                let mut data = try_vec(0, T::ZERO, "data")?;
                if indptr.try_reserve_exact(d + 1).is_err()
                    || indices.try_reserve_exact(nnz).is_err()
                    || data.try_reserve_exact(nnz).is_err()
                {
                    return Err(SketchError::Alloc(format!("a CSC copy of {nnz} entries")));
                }
                indptr.extend(m.csc.ptr.iter().map(|&p| p as i64));
                indices.extend(m.csc.ent.iter().map(|&e| (e & structure::IDX_MASK) as i64));
                data.extend(
                    m.csc
                        .ent
                        .iter()
                        .map(|&e| structure::sign_of::<T>(e) * scale),
                );
                Ok((indptr, indices, data))
            }),
            false => {
                let st = crate::parallel::install(|| self.materialize_st::<T>())??;
                let mut indices = try_vec(len, 0i64, "indices")?;
                for (t, v) in indices.iter_mut().enumerate() {
                    *v = (t % k) as i64;
                }
                let indptr = (0..=d).map(|j| (j * k) as i64).collect();
                Ok((indptr, indices, st))
            }
        }
    }
}

impl LinearSketch for Sketch {
    fn shape(&self) -> (usize, usize) {
        (self.k, self.d)
    }

    fn project<T: Real>(&self, x: MatRef<'_, T>, mut out: MatMut<'_, T>) -> Result<()> {
        check_shape("X", (x.rows(), x.cols()), (x.rows(), self.d))?;
        check_shape("out", (out.rows(), out.cols()), (x.rows(), self.k))?;
        crate::parallel::install(|| match self.family.dense_kind() {
            None => match (self.sparse_mat()?, self.srht()) {
                (Some(m), _) => sparse_kernels::apply_rows(m, x, out),
                (None, Some(h)) => h.project(x, out),
                (None, None) => Ok(()),
            },
            Some(kind) => {
                out.fill(T::ZERO);
                let kb = self.dense_block();
                let mut buf = try_vec(kb.min(self.d) * self.k, T::ZERO, "operator block")?;
                for j0 in (0..self.d).step_by(kb) {
                    let j1 = (j0 + kb).min(self.d);
                    self.dense_st(kind, j0, j1, &mut buf);
                    let b = MatRef::from_row_major(&buf[..(j1 - j0) * self.k], j1 - j0, self.k)
                        .expect("buffer sized above");
                    if !dense::gemm_acc(x.sub(0, x.rows(), j0, j1), b, out.rb()) {
                        return Err(SketchError::NonFinite);
                    }
                }
                Ok(())
            }
        })?
    }

    fn project_adjoint<T: Real>(&self, z: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        check_shape("Z", (z.rows(), z.cols()), (z.rows(), self.k))?;
        check_shape("out", (out.rows(), out.cols()), (z.rows(), self.d))?;
        crate::parallel::install(|| match self.family.dense_kind() {
            None => match (self.sparse_mat_t()?, self.srht()) {
                (Some(m), _) => sparse_kernels::apply_rows(m, z, out),
                (None, Some(h)) => h.project_adjoint(z, out),
                (None, None) => Ok(()),
            },
            Some(kind) => {
                let kb = self.dense_block();
                let mut buf = try_vec(kb.min(self.d) * self.k, T::ZERO, "operator block")?;
                let shared = out.into_shared();
                for j0 in (0..self.d).step_by(kb) {
                    let j1 = (j0 + kb).min(self.d);
                    self.dense_st(kind, j0, j1, &mut buf);
                    // Sᵀ block is (j1-j0) × k row-major; its transpose is k × (j1-j0).
                    let b = MatRef::from_row_major(&buf[..(j1 - j0) * self.k], j1 - j0, self.k)
                        .expect("buffer sized above")
                        .t();
                    // SAFETY: column blocks j0..j1 are disjoint and used one at a time.
                    let mut part = unsafe { shared.part(0, z.rows(), j0, j1) };
                    part.fill(T::ZERO);
                    if !dense::gemm_acc(z, b, part) {
                        return Err(SketchError::NonFinite);
                    }
                }
                Ok(())
            }
        })?
    }
}
