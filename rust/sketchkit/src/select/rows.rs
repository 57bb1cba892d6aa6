//! The rows instance selection works on: a dense row-major matrix or a CSR matrix,
//! borrowed, with their squared norms computed once (which also checks that every
//! value is finite).
//!
//! Distances between two rows are computed the same way on every path: the query
//! row is scattered into a dense buffer once and every candidate is compared with
//! it, so that a pair's distance does not depend on the thread, the chunking or the
//! SIMD level (the accumulation order is fixed by the source, never by the
//! vector width).

use crate::error::{try_vec, Result, SketchError};
use crate::sketch::{LinearSketch, Sketch};
use crate::view::{CsrRef, MatMut, MatRef, SparseIndex};
use crate::Real;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

/// The distance a neighbour graph uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `‖x − y‖₂`.
    Euclidean,
    /// `1 − x·y / (‖x‖ ‖y‖)`; a zero row is at distance 1 from every row.
    Cosine,
}

impl Metric {
    /// Every metric, in documentation order.
    pub const ALL: [Metric; 2] = [Metric::Euclidean, Metric::Cosine];

    /// The metric's name (`"euclidean"`, `"cosine"`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::Cosine => "cosine",
        }
    }

    /// Parses a name given by [`Metric::name`]; the error names `metric`.
    pub fn parse(s: &str) -> Result<Self> {
        s.parse()
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        crate::sketch::parse_name(s, Metric::ALL, Metric::name, "metric")
    }
}

/// Accumulators of the reductions below: a fixed order for every SIMD level.
const ACC: usize = 16;

/// `Σ (a − b)²` with [`ACC`] interleaved partial sums.
#[inline(always)]
pub(crate) fn sq_dist<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::ZERO; ACC];
    let (ca, cb) = (a.chunks_exact(ACC), b.chunks_exact(ACC));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        // Fixed-size arrays: the loop below becomes whole-vector operations.
        let (x, y): (&[T; ACC], &[T; ACC]) = match (x.try_into(), y.try_into()) {
            (Ok(x), Ok(y)) => (x, y),
            _ => unreachable!("chunks_exact yields ACC elements"),
        };
        for l in 0..ACC {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    for (l, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        let t = x - y;
        acc[l] += t * t;
    }
    reduce(acc)
}

/// `Σ a·b` with [`ACC`] interleaved partial sums.
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::ZERO; ACC];
    let (ca, cb) = (a.chunks_exact(ACC), b.chunks_exact(ACC));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let (x, y): (&[T; ACC], &[T; ACC]) = match (x.try_into(), y.try_into()) {
            (Ok(x), Ok(y)) => (x, y),
            _ => unreachable!("chunks_exact yields ACC elements"),
        };
        for l in 0..ACC {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += x * y;
    }
    reduce(acc)
}

#[inline(always)]
fn reduce<T: Real>(mut acc: [T; ACC]) -> T {
    let mut w = ACC / 2;
    while w > 0 {
        for l in 0..w {
            let v = acc[l + w];
            acc[l] += v;
        }
        w /= 2;
    }
    acc[0]
}

/// Rows of a data set, dense or sparse. Implemented by [`DenseRows`] and
/// [`CsrRows`]; the selection algorithms are generic over it.
pub trait Rows<T: Real>: Sync {
    /// Number of rows.
    fn n(&self) -> usize;
    /// Number of features.
    fn dim(&self) -> usize;
    /// `‖x_i‖²`.
    fn sq_norm(&self, i: usize) -> T;
    /// Writes row `i` into `buf` (length [`Rows::dim`]); every position is written.
    fn load(&self, i: usize, buf: &mut [T]);
    /// `x_i · q` for a dense `q`.
    fn dot_dense(&self, i: usize, q: &[T]) -> T;
    /// `‖x_i − q‖²` for a dense `q` with `‖q‖² = q_sq`.
    fn sq_dist_dense(&self, i: usize, q: &[T], q_sq: T) -> T;
    /// A hint that row `i` will be read soon (loads its lines toward the core); it
    /// changes no result.
    #[inline(always)]
    fn prefetch(&self, _i: usize) {}
    /// `out = X[r0..r1] Sᵀ` (`(r1 − r0) × k`).
    fn project_range(&self, r0: usize, r1: usize, s: &Sketch, out: MatMut<'_, T>) -> Result<()>;
    /// Column sums `Σ_i x_i` in `f64`.
    fn column_sums(&self) -> Result<Vec<f64>>;

    /// The power of two `e` the rows hold the input scaled by (`x · 2^e`; 0 unless
    /// the input's magnitudes are so large or small that squared distances would
    /// overflow or underflow, see [`DenseRows::new`]). Distances computed from the
    /// rows are in the scaled units; [`unscale_distances`] converts them back.
    fn scale_exp(&self) -> i32 {
        0
    }
    /// Whether the caller's cancellation token is set.
    fn cancelled(&self) -> bool {
        false
    }
    /// [`SketchError::Interrupted`] when the caller's cancellation token is set: the
    /// long loops call it between blocks of rows.
    fn check_cancel(&self) -> Result<()> {
        if self.cancelled() {
            Err(SketchError::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Distance between row `i` and a dense query `q` (`‖q‖² = q_sq`).
    #[inline(always)]
    fn distance(&self, metric: Metric, i: usize, q: &[T], q_sq: T) -> f64 {
        match metric {
            Metric::Euclidean => self.sq_dist_dense(i, q, q_sq).to_f64().max(0.0).sqrt(),
            Metric::Cosine => {
                let den = (self.sq_norm(i).to_f64() * q_sq.to_f64()).sqrt();
                if den > 0.0 {
                    (1.0 - self.dot_dense(i, q).to_f64() / den).max(0.0)
                } else {
                    1.0
                }
            }
        }
    }
}

/// Squared row norms and the largest magnitude of any value; `f(i)` returns row
/// `i`'s norm and whether its values are finite. Only non-finite values are an error.
fn sq_norms<'v, T: Real + 'v>(
    n: usize,
    f: impl Fn(usize) -> (T, bool) + Sync,
    values: impl Fn(usize) -> &'v [T] + Sync,
) -> Result<(Vec<T>, f64)> {
    let mut out = try_vec(n, T::ZERO, "row norms")?;
    let parts: Vec<(bool, f64)> = crate::parallel::install(|| {
        out.par_chunks_mut(4096)
            .enumerate()
            .map(|(c, ch)| {
                let (mut ok, mut big) = (true, 0.0f64);
                for (t, v) in ch.iter_mut().enumerate() {
                    let (norm, finite) = f(c * 4096 + t);
                    *v = norm;
                    ok &= finite;
                    if finite {
                        big = values(c * 4096 + t)
                            .iter()
                            .fold(big, |m, x| m.max(x.to_f64().abs()));
                    }
                }
                (ok, big)
            })
            .collect()
    })?;
    if !parts.iter().all(|p| p.0) {
        return Err(SketchError::NonFinite { arg: "X" });
    }
    Ok((out, parts.iter().fold(0.0, |m, p| m.max(p.1))))
}

/// `x · 2^e`, exact while the result is a normal number (the factor is applied in
/// two halves so that it never overflows itself).
pub(crate) fn ldexp(x: f64, e: i32) -> f64 {
    let h = e / 2;
    x * 2f64.powi(h) * 2f64.powi(e - h)
}

/// The scaling exponent for rows of `d` features whose largest magnitude is `big`:
/// 0 while squared distances in `T` (up to `4 d big²`) stay finite and the squares
/// of differences at `T`'s resolution (`(big · ε)²`) stay normal, else the power of
/// two that brings `big` to `[1, 2)`. A power of two is exact, so scaled rows keep
/// every neighbour order and selection; ordinary data is never copied.
fn scale_exponent<T: Real>(big: f64, d: usize) -> i32 {
    let (max, min_pos, eps) = if std::mem::size_of::<T>() == 4 {
        (
            f64::from(f32::MAX),
            f64::from(f32::MIN_POSITIVE),
            f64::from(f32::EPSILON),
        )
    } else {
        (f64::MAX, f64::MIN_POSITIVE, f64::EPSILON)
    };
    let (lo, hi) = (min_pos.sqrt() / eps, (max / (4.0 * d as f64)).sqrt());
    if big == 0.0 || (lo..=hi).contains(&big) {
        0
    } else {
        -(big.log2().floor() as i32)
    }
}

/// `values · 2^e` in a new buffer.
fn scaled_copy<T: Real>(values: &[T], e: i32) -> Result<Vec<T>> {
    let mut out = try_vec(values.len(), T::ZERO, "scaled copy of X")?;
    crate::parallel::install(|| {
        out.par_chunks_mut(1 << 16)
            .zip(values.par_chunks(1 << 16))
            .for_each(|(o, v)| {
                for (o, &v) in o.iter_mut().zip(v) {
                    *o = T::from_f64(ldexp(v.to_f64(), e));
                }
            })
    })?;
    Ok(out)
}

/// Converts Euclidean distances computed on rows scaled by `2^exp`
/// ([`Rows::scale_exp`]) back to the input's units (cosine distances have none).
pub fn unscale_distances(metric: Metric, exp: i32, dist: &mut [f64]) {
    if metric == Metric::Euclidean && exp != 0 {
        for v in dist.iter_mut() {
            *v = ldexp(*v, -exp);
        }
    }
}

/// A dense row-major `n × d` matrix.
#[derive(Debug)]
pub struct DenseRows<'a, T: Clone> {
    data: Cow<'a, [T]>,
    n: usize,
    d: usize,
    norms: Vec<T>,
    exp: i32,
    cancel: Option<&'a AtomicBool>,
}

impl<'a, T: Real> DenseRows<'a, T> {
    /// Wraps `data` (row-major, `n × d`); fails on NaN/inf
    /// ([`SketchError::NonFinite`]) or a length mismatch.
    ///
    /// Data whose magnitudes would overflow or underflow squared distances (beyond
    /// about `1e±154` in `f64`, `1e±19` in `f32`) is copied scaled by a power of two
    /// ([`Rows::scale_exp`]): neighbour orders and selections are those of exact
    /// arithmetic on the input, and reported distances are in the input's units.
    pub fn new(data: &'a [T], n: usize, d: usize) -> Result<Self> {
        if n.checked_mul(d) != Some(data.len()) {
            return Err(SketchError::ShapeMismatch(format!(
                "X has {} elements, not {n} × {d}",
                data.len()
            )));
        }
        if d == 0 {
            return Err(SketchError::arg("X", "has no features"));
        }
        // A row's finiteness: its squared norm overflows to inf only when a value
        // is huge, so check the values themselves.
        let norm = |data: &[T], i: usize| {
            let r = &data[i * d..(i + 1) * d];
            crate::dispatch!((dot(r, r), crate::finite::slice_finite(r)))
        };
        let row = |i: usize| &data[i * d..(i + 1) * d];
        let (norms, big) = sq_norms(n, |i| norm(data, i), row)?;
        let exp = scale_exponent::<T>(big, d);
        if exp == 0 {
            return Ok(DenseRows {
                data: Cow::Borrowed(data),
                n,
                d,
                norms,
                exp,
                cancel: None,
            });
        }
        let scaled = scaled_copy(data, exp)?;
        let (norms, _) = sq_norms(n, |i| norm(&scaled, i), |i| &scaled[i * d..(i + 1) * d])?;
        Ok(DenseRows {
            data: Cow::Owned(scaled),
            n,
            d,
            norms,
            exp,
            cancel: None,
        })
    }

    /// The same rows with a cancellation token: the long loops stop with
    /// [`SketchError::Interrupted`] soon after `flag` is set.
    pub fn with_cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Row `i` as a slice.
    #[inline(always)]
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

impl<T: Real> Rows<T> for DenseRows<'_, T> {
    fn n(&self) -> usize {
        self.n
    }
    fn dim(&self) -> usize {
        self.d
    }
    #[inline(always)]
    fn sq_norm(&self, i: usize) -> T {
        self.norms[i]
    }
    #[inline(always)]
    fn load(&self, i: usize, buf: &mut [T]) {
        buf.copy_from_slice(self.row(i));
    }
    #[inline(always)]
    fn dot_dense(&self, i: usize, q: &[T]) -> T {
        dot(self.row(i), q)
    }
    #[inline(always)]
    fn sq_dist_dense(&self, i: usize, q: &[T], _q_sq: T) -> T {
        sq_dist(self.row(i), q)
    }
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        if let Some(row) = self.data.get(i * self.d..(i + 1) * self.d) {
            crate::simd::prefetch_lines::<{ crate::simd::PREFETCH_L1 }, _>(row);
        }
    }
    fn project_range(&self, r0: usize, r1: usize, s: &Sketch, out: MatMut<'_, T>) -> Result<()> {
        let x = MatRef::from_row_major(&self.data[r0 * self.d..r1 * self.d], r1 - r0, self.d)?;
        s.project(x, out)
    }
    fn scale_exp(&self) -> i32 {
        self.exp
    }
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
    fn column_sums(&self) -> Result<Vec<f64>> {
        // Fixed chunks of rows, their partial sums added in chunk order: the same
        // bits for every thread count.
        let d = self.d;
        let parts: Vec<Vec<f64>> = crate::parallel::install(|| {
            self.data
                .par_chunks(d * 1024)
                .map(|c| {
                    let mut s = try_vec(d, 0.0f64, "column sums")?;
                    for r in c.chunks_exact(d) {
                        for (a, &v) in s.iter_mut().zip(r) {
                            *a += v.to_f64();
                        }
                    }
                    Ok(s)
                })
                .collect::<Result<Vec<_>>>()
        })??;
        let mut total = try_vec(d, 0.0f64, "column sums")?;
        for p in &parts {
            total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
        }
        Ok(total)
    }
}

/// Column counts above which a CSR matrix with fewer stored entries than columns is
/// handled in the space of its used columns (see [`CsrRows::new`]).
pub const COMPACT_MIN_COLS: usize = 1 << 20;

/// A CSR matrix (validated by [`CsrRef::new`]) in canonical form: each row's column
/// indices strictly increasing.
#[derive(Debug)]
pub struct CsrRows<'a, T, I> {
    x: CsrRef<'a, T, I>,
    /// `x.data · 2^exp` when the input needed scaling (see [`DenseRows::new`]).
    scaled: Option<Vec<T>>,
    /// Each stored entry's column in the space of used columns, when compacted.
    compact: Option<Vec<i64>>,
    /// The number of columns rows are handled in: `x.cols`, or the used ones.
    space: usize,
    norms: Vec<T>,
    exp: i32,
    cancel: Option<&'a AtomicBool>,
}

/// Checks that every row's column indices are strictly increasing (sorted, no
/// duplicates): squared norms and distances are computed from the stored values, so
/// a duplicate would silently give wrong distances.
fn check_canonical<T: Sync, I: SparseIndex>(x: &CsrRef<'_, T, I>) -> Result<()> {
    let bad = crate::parallel::install(|| {
        (0..x.rows)
            .into_par_iter()
            .find_first(|&i| x.row_range(i).skip(1).any(|t| x.col(t) <= x.col(t - 1)))
    })?;
    match bad {
        None => Ok(()),
        Some(i) => Err(SketchError::CsrStructure {
            arg: "X",
            part: "indices",
            msg: format!(
                "row {i} has unsorted or duplicate column indices (canonical form needed: \
                 scipy's X.sum_duplicates(); X.sort_indices())"
            ),
        }),
    }
}

/// The used columns of `x`, renumbered `0..m` in increasing order: each stored
/// entry's new column, and `m`. Distances do not depend on which columns hold the
/// values, and the renumbering keeps their order, so each row's entries stay sorted.
fn compact_columns<T: Sync, I: SparseIndex>(x: &CsrRef<'_, T, I>) -> Result<(Vec<i64>, usize)> {
    let nnz = x.indices.len();
    let mut used = try_vec(nnz, 0usize, "used columns of X")?;
    for (u, t) in used.iter_mut().zip(0..nnz) {
        *u = x.col(t);
    }
    used.par_sort_unstable();
    used.dedup();
    let mut out = try_vec(nnz, 0i64, "compacted column indices of X")?;
    crate::parallel::install(|| {
        out.par_chunks_mut(1 << 16).enumerate().for_each(|(c, o)| {
            for (j, v) in o.iter_mut().enumerate() {
                let col = x.col(c * (1 << 16) + j);
                // `used` holds every stored column: the search always finds it.
                *v = used.binary_search(&col).unwrap_or(0) as i64;
            }
        })
    })?;
    Ok((out, used.len()))
}

/// `Σ_t data[t] · q[idx[t]]` over one row's entries.
#[inline(always)]
fn sparse_dot<T: Real, J: SparseIndex>(data: &[T], idx: &[J], q: &[T]) -> T {
    let mut acc = T::ZERO;
    for (&v, &j) in data.iter().zip(idx) {
        acc += v * q[j.to_usize().unwrap_or(0)];
    }
    acc
}

/// Scatters one row's entries into the zeroed dense `buf`.
#[inline(always)]
fn sparse_load<T: Real, J: SparseIndex>(data: &[T], idx: &[J], buf: &mut [T]) {
    buf.fill(T::ZERO);
    for (&v, &j) in data.iter().zip(idx) {
        buf[j.to_usize().unwrap_or(0)] += v;
    }
}

/// Rows `r0..r1` of a CSR structure as a CSR matrix of their own (`cols` columns).
fn project_rows<T: Real, I: SparseIndex, J: SparseIndex>(
    x: &CsrRef<'_, T, I>,
    (r0, r1): (usize, usize),
    (cols, indices, data): (usize, &[J], &[T]),
    s: &Sketch,
    out: MatMut<'_, T>,
) -> Result<()> {
    let (a, b) = if r1 > r0 {
        (x.row_range(r0).start, x.row_range(r1 - 1).end)
    } else {
        (0, 0)
    };
    let indptr: Vec<J> = (r0..=r1)
        .map(|r| {
            let p = if r == r1 { b } else { x.row_range(r).start };
            J::from_usize(p - a)
        })
        .collect();
    // The parent was validated by `CsrRef::new`; a row range of it is valid too.
    let sub = CsrRef {
        rows: r1 - r0,
        cols,
        indptr: &indptr,
        indices: &indices[a..b],
        data: &data[a..b],
    };
    s.project_csr(&sub, out)
}

impl<'a, T: Real, I: SparseIndex> CsrRows<'a, T, I> {
    /// Wraps a validated CSR matrix; fails on NaN/inf and on rows whose column
    /// indices are not strictly increasing. Extreme magnitudes are scaled as
    /// [`DenseRows::new`] does. A matrix of more than [`COMPACT_MIN_COLS`] columns and
    /// fewer stored entries than columns is handled in the space of its used columns
    /// (renumbered in order), so that no dense row of `x.cols` values is ever needed:
    /// distances, and so every distance-based selection, are unchanged; hashing
    /// selectors project that space.
    pub fn new(x: CsrRef<'a, T, I>) -> Result<Self> {
        if x.cols == 0 {
            return Err(SketchError::arg("X", "has no features"));
        }
        check_canonical(&x)?;
        let (compact, space) = if x.cols > COMPACT_MIN_COLS && x.indices.len() < x.cols {
            let (c, m) = compact_columns(&x)?;
            (Some(c), m.max(1))
        } else {
            (None, x.cols)
        };
        let norm = |data: &[T], i: usize| {
            let r = &data[x.row_range(i)];
            (dot(r, r), r.iter().all(|v| v.is_finite()))
        };
        let (norms, big) = sq_norms(x.rows, |i| norm(x.data, i), |i| &x.data[x.row_range(i)])?;
        let exp = scale_exponent::<T>(big, space);
        let mut rows = CsrRows {
            x,
            scaled: None,
            compact,
            space,
            norms,
            exp,
            cancel: None,
        };
        if exp != 0 {
            let scaled = scaled_copy(x.data, exp)?;
            let (norms, _) = sq_norms(x.rows, |i| norm(&scaled, i), |i| &scaled[x.row_range(i)])?;
            rows.scaled = Some(scaled);
            rows.norms = norms;
        }
        Ok(rows)
    }

    /// The same rows with a cancellation token (see [`DenseRows::with_cancel`]).
    pub fn with_cancel(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The stored values (scaled when the input needed it).
    #[inline(always)]
    fn data(&self) -> &[T] {
        self.scaled.as_deref().unwrap_or(self.x.data)
    }
}

impl<T: Real, I: SparseIndex> Rows<T> for CsrRows<'_, T, I> {
    fn n(&self) -> usize {
        self.x.rows
    }
    fn dim(&self) -> usize {
        self.space
    }
    #[inline(always)]
    fn sq_norm(&self, i: usize) -> T {
        self.norms[i]
    }
    fn load(&self, i: usize, buf: &mut [T]) {
        let r = self.x.row_range(i);
        let data = &self.data()[r.clone()];
        match &self.compact {
            Some(c) => sparse_load(data, &c[r], buf),
            None => sparse_load(data, &self.x.indices[r], buf),
        }
    }
    #[inline(always)]
    fn dot_dense(&self, i: usize, q: &[T]) -> T {
        let r = self.x.row_range(i);
        let data = &self.data()[r.clone()];
        match &self.compact {
            Some(c) => sparse_dot(data, &c[r], q),
            None => sparse_dot(data, &self.x.indices[r], q),
        }
    }
    #[inline(always)]
    fn sq_dist_dense(&self, i: usize, q: &[T], q_sq: T) -> T {
        let two = T::from_f64(2.0);
        self.norms[i] + q_sq - two * self.dot_dense(i, q)
    }
    fn project_range(&self, r0: usize, r1: usize, s: &Sketch, out: MatMut<'_, T>) -> Result<()> {
        match &self.compact {
            Some(c) => project_rows(&self.x, (r0, r1), (self.space, c, self.data()), s, out),
            None => project_rows(
                &self.x,
                (r0, r1),
                (self.x.cols, self.x.indices, self.data()),
                s,
                out,
            ),
        }
    }
    fn scale_exp(&self) -> i32 {
        self.exp
    }
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
    fn column_sums(&self) -> Result<Vec<f64>> {
        let mut s = try_vec(self.space, 0.0f64, "column sums")?;
        for (t, &v) in self.data().iter().enumerate() {
            let j = match &self.compact {
                Some(c) => c[t] as usize,
                None => self.x.col(t),
            };
            s[j] += v.to_f64();
        }
        Ok(s)
    }
}

/// `(distance, index)` ordering used for every neighbour list: ascending distance,
/// ties broken by the smaller index, so results never depend on scan order.
#[inline(always)]
pub(crate) fn closer(a: (f64, usize), b: (f64, usize)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// The `k` best `(distance, index)` pairs seen so far, sorted ascending.
#[derive(Clone, Debug)]
pub(crate) struct TopK {
    k: usize,
    items: Vec<(f64, usize)>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }
    /// Worst kept distance once full, else +inf.
    #[inline(always)]
    pub(crate) fn bound(&self) -> f64 {
        if self.items.len() < self.k {
            f64::INFINITY
        } else {
            self.items[self.k - 1].0
        }
    }
    #[inline(always)]
    pub(crate) fn push(&mut self, d: f64, j: usize) {
        if self.k == 0 || d > self.bound() {
            return;
        }
        if self.items.len() == self.k {
            if !closer((d, j), self.items[self.k - 1]) {
                return;
            }
            self.items.pop();
        }
        let pos = self.items.partition_point(|&it| closer(it, (d, j)));
        self.items.insert(pos, (d, j));
    }
    /// Applies a non-decreasing map to the kept distances (order is preserved).
    pub(crate) fn map_distances(&mut self, f: impl Fn(f64) -> f64) {
        for it in self.items.iter_mut() {
            it.0 = f(it.0);
        }
    }
    pub(crate) fn items(&self) -> &[(f64, usize)] {
        &self.items
    }
}
