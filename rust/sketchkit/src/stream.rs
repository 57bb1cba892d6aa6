//! Streaming, mergeable row sketches: `S · A` accumulated over row blocks of `A`
//! that arrive in any order, on any process.
//!
//! `A` is `d × m` and `S` the `k × d` operator; rows `r0..r1` of `A` meet columns
//! `r0..r1` of `S`, which are generated from the seed alone, so every block can be
//! sketched where it is read.
//!
//! # Contract
//!
//! [`RowSketch::result`] is a pure function of `(S, A)`: bit-identical for every
//! blocking of the rows, every arrival order, every merge tree, every process and
//! thread count. It is reached by
//!
//! * **canonical strips** of [`strip_rows`]`(k)` = `B` rows (a function of the
//!   operator alone): strip `s` covers rows `[s·B, min((s+1)·B, d))`, and its partial
//!   `P_s = S[:, strip] · A[strip]` is computed by one single-strip kernel
//!   ([`Sketch::sketch_rows`]) from the whole strip. A block that starts or ends
//!   inside a strip leaves that strip's rows buffered (copied, fewer than `B` per
//!   side) until the rest of the strip arrives by an update or a merge;
//! * **a fixed summation tree** over strip indices: node `(h, a)` covers strips
//!   `[a·2^h, (a+1)·2^h)` and holds `left + right`, or `left` alone when the right
//!   child's first strip is at or beyond the strip count. A state collapses every
//!   node whose two children it holds, so a contiguous run of blocks keeps
//!   `O(log(d/B))` partials; the root, once every row has arrived, is the result.
//!
//! Against the one-shot [`LinearSketch::sketch`] (another summation order) the
//! result agrees within rounding: each element is an ascending sum of at most
//! `min(B, d)` products per strip (one rounding each, plus the scale of the sparse
//! families) followed by `⌈log2(#strips)⌉` pairwise additions, so
//! `|R − S·A| ≤ γ_n · (|S|·|A|)` elementwise with `n = min(B, d) + ⌈log2 #strips⌉ + 1`
//! and `γ_n = n·u / (1 − n·u)` (`u` the unit roundoff of the element type).
//!
//! The SRHT is not block-local (one transform mixes all `d` coordinates) and is
//! refused.

use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::view::{CsrRef, MatMut, MatRef, SparseIndex};
use crate::{Family, LinearSketch, Real, Sketch};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Rows per canonical strip for an operator with `k` rows:
/// `max(4096, 4 · next_power_of_two(k))`. Large enough that a strip's kernel runs
/// at full speed, a function of the operator alone so that every state of one
/// operator cuts the rows at the same places.
pub fn strip_rows(k: usize) -> usize {
    k.checked_next_power_of_two()
        .and_then(|p| p.checked_mul(4))
        .unwrap_or(usize::MAX)
        .max(4096)
}

/// Rows already supplied: disjoint, non-adjacent half-open intervals `start → end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Intervals(BTreeMap<usize, usize>);

impl Intervals {
    /// The first part of `lo..hi` already present, when some is.
    fn overlap(&self, lo: usize, hi: usize) -> Option<(usize, usize)> {
        // The interval holding `lo`, else the first one starting inside `lo..hi`.
        let first = match self.0.range(..=lo).next_back() {
            Some((&s, &e)) if e > lo => (s, e),
            _ => self.0.range(lo..hi).next().map(|(&s, &e)| (s, e))?,
        };
        (first.0 < hi).then(|| (first.0.max(lo), first.1.min(hi)))
    }

    /// Adds `lo..hi` (disjoint from the present rows), joining neighbours.
    fn add(&mut self, mut lo: usize, mut hi: usize) {
        if lo >= hi {
            return;
        }
        if let Some((&s, &e)) = self.0.range(..=lo).next_back() {
            if e == lo {
                self.0.remove(&s);
                lo = s;
            }
        }
        if let Some(e) = self.0.remove(&hi) {
            hi = e;
        }
        self.0.insert(lo, hi);
    }

    /// Number of rows present.
    fn len(&self) -> usize {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    /// The ranges of `0..d` not present.
    fn missing(&self, d: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        for (&s, &e) in &self.0 {
            if s > at {
                out.push((at, s));
            }
            at = e;
        }
        if at < d {
            out.push((at, d));
        }
        out
    }
}

/// Buffered raw rows of a strip that has not arrived whole: rows `row0..row0 + rows`.
#[derive(Debug)]
struct Piece<T> {
    row0: usize,
    rows: usize,
    data: Rows<T>,
}

/// The values of a [`Piece`], in the form they arrived in: rows of a CSR block stay
/// CSR, so a strip assembled from CSR pieces alone runs the CSR kernel (densifying
/// it would cost `rows × m` however few values it holds).
#[derive(Debug)]
enum Rows<T> {
    /// Row-major, `m` columns.
    Dense(Vec<T>),
    /// CSR rows: `indptr` (`rows + 1` offsets from 0), sorted column indices, values
    /// (`i64` offsets and indices: a [`SparseIndex`] that holds any in-memory size).
    Csr {
        indptr: Vec<i64>,
        indices: Vec<i64>,
        data: Vec<T>,
    },
}

/// Rows `a..b` of `block` as row pointers from 0 (in the index type `J`), with the
/// range `p0..p1` of their stored values.
fn rebased_indptr<T, I: SparseIndex, J: SparseIndex>(
    block: &CsrRef<'_, T, I>,
    a: usize,
    b: usize,
) -> Result<(Vec<J>, usize, usize)> {
    let p0 = block.row_range(a).start;
    let p1 = block.row_range(b - 1).end;
    let mut indptr = try_vec(b - a + 1, J::from_usize(p1 - p0), "buffered row pointers")?;
    for (i, v) in indptr[..b - a].iter_mut().enumerate() {
        *v = J::from_usize(block.row_range(a + i).start - p0);
    }
    Ok((indptr, p0, p1))
}

/// A fallible copy of a slice.
fn copy_vec<V: Copy>(v: &[V], zero: V) -> Result<Vec<V>> {
    let mut out = try_vec(0, zero, "a copy of the row sketch")?;
    out.try_reserve_exact(v.len())
        .map_err(|_| SketchError::Alloc("a copy of the row sketch".into()))?;
    out.extend_from_slice(v);
    Ok(out)
}

impl<T: Real> Piece<T> {
    fn try_clone(&self) -> Result<Self> {
        let data = match &self.data {
            Rows::Dense(v) => Rows::Dense(copy_vec(v, T::ZERO)?),
            Rows::Csr {
                indptr,
                indices,
                data,
            } => Rows::Csr {
                indptr: copy_vec(indptr, 0)?,
                indices: copy_vec(indices, 0)?,
                data: copy_vec(data, T::ZERO)?,
            },
        };
        Ok(Piece {
            row0: self.row0,
            rows: self.rows,
            data,
        })
    }

    /// Adds the rows into the row-major `buf` (`m` columns) from its row `at`.
    fn add_into(&self, buf: &mut [T], at: usize, m: usize) {
        match &self.data {
            Rows::Dense(v) => buf[at * m..at * m + v.len()].copy_from_slice(v),
            Rows::Csr {
                indptr,
                indices,
                data,
            } => {
                for i in 0..self.rows {
                    for t in indptr[i] as usize..indptr[i + 1] as usize {
                        buf[(at + i) * m + indices[t] as usize] += data[t];
                    }
                }
            }
        }
    }
}

/// A streaming, mergeable `S · A` (see the [module documentation](self) for the
/// contract).
#[derive(Debug)]
pub struct RowSketch<T> {
    op: Sketch,
    m: usize,
    /// Rows per strip, [`strip_rows`]`(k)`.
    strip: usize,
    /// `⌈d / strip⌉`.
    strips: usize,
    /// Level of the root: `⌈log2(strips)⌉`.
    height: u32,
    /// Tree nodes `(h, a)` held, each `k × m` row-major.
    nodes: BTreeMap<(u32, usize), Vec<T>>,
    /// Raw rows of incomplete strips, by strip; pieces sorted by first row.
    pending: BTreeMap<usize, Vec<Piece<T>>>,
    /// Every row supplied so far (in nodes or pieces).
    covered: Intervals,
}

/// What an update or a merge adds, computed before the state changes (so that an
/// error leaves the state as it was).
struct Delta<T> {
    nodes: Vec<(u32, usize, Vec<T>)>,
    pieces: Vec<(usize, Piece<T>)>,
    /// Strips whose buffered pieces the delta's new partials replace.
    consumed: Vec<usize>,
}

/// `k × m` elements in a fallible vector.
fn partial_buf<T: Real>(k: usize, m: usize) -> Result<Vec<T>> {
    let len = checked_mul(k, m, "n_columns", "k * n_columns")?;
    try_vec(len, T::ZERO, "a strip partial of the row sketch")
}

/// `dst += src` elementwise.
fn add_into<T: Real>(dst: &mut [T], src: &[T]) {
    for (a, &b) in dst.iter_mut().zip(src) {
        *a += b;
    }
}

impl<T: Real> RowSketch<T> {
    /// Checks that `op` can be streamed (not the SRHT; error naming `operator`) with
    /// `m ≥ 1` columns (error naming `n_columns`) and `k · m` elements addressable.
    pub fn check(op: &Sketch, m: usize) -> Result<()> {
        if op.family() == Family::Srht {
            return Err(SketchError::arg(
                "operator",
                "the 'srht' family is not block-local (one Hadamard transform mixes all d \
                 rows), so it cannot sketch row blocks; use countsketch, sparse_sign, \
                 very_sparse, gaussian or rademacher",
            ));
        }
        if m == 0 {
            return Err(SketchError::arg("n_columns", "must be at least 1"));
        }
        let (k, _) = op.shape();
        let len = checked_mul(k, m, "n_columns", "k * n_columns")?;
        checked_mul(
            len,
            std::mem::size_of::<T>(),
            "n_columns",
            "bytes of k * n_columns",
        )?;
        Ok(())
    }

    /// An empty state for `S · A` with `A` of `m` columns (see [`RowSketch::check`]).
    pub fn new(op: &Sketch, m: usize) -> Result<Self> {
        Self::check(op, m)?;
        let (k, d) = op.shape();
        let strip = strip_rows(k);
        let strips = d.div_ceil(strip);
        Ok(RowSketch {
            op: op.clone(),
            m,
            strip,
            strips,
            height: strips.next_power_of_two().trailing_zeros(),
            nodes: BTreeMap::new(),
            pending: BTreeMap::new(),
            covered: Intervals::default(),
        })
    }

    /// The operator.
    pub fn operator(&self) -> &Sketch {
        &self.op
    }
    /// Columns of `A`.
    pub fn n_columns(&self) -> usize {
        self.m
    }
    /// Rows per canonical strip.
    pub fn strip(&self) -> usize {
        self.strip
    }
    /// Rows supplied so far.
    pub fn rows_supplied(&self) -> usize {
        self.covered.len()
    }
    /// The row ranges not supplied yet, ascending.
    pub fn missing(&self) -> Vec<(usize, usize)> {
        self.covered.missing(self.op.shape().1)
    }

    /// Rows of strip `s`: `s·B .. min((s+1)·B, d)`.
    fn strip_range(&self, s: usize) -> (usize, usize) {
        let d = self.op.shape().1;
        (s * self.strip, ((s + 1) * self.strip).min(d))
    }

    /// Rows covered by node `(h, a)`.
    fn node_range(&self, h: u32, a: usize) -> (usize, usize) {
        let d = self.op.shape().1;
        let first = a << h;
        let lo = first.saturating_mul(self.strip).min(d);
        let hi = first
            .saturating_add(1 << h)
            .saturating_mul(self.strip)
            .min(d);
        (lo, hi)
    }

    /// The strip partial of strip `s` from its `rows` (the whole strip).
    fn strip_partial(&self, s: usize, rows: MatRef<'_, T>) -> Result<Vec<T>> {
        self.partial_with(s, |r0, ov| self.op.sketch_rows(r0, rows, ov))
    }

    /// [`Self::strip_partial`] for the strip's rows as CSR.
    fn strip_partial_csr<I: SparseIndex>(
        &self,
        s: usize,
        rows: &CsrRef<'_, T, I>,
    ) -> Result<Vec<T>> {
        self.partial_with(s, |r0, ov| self.op.sketch_rows_csr(r0, rows, ov))
    }

    /// A fresh `k × m` partial of strip `s`, filled by `kernel(first row, view)`.
    fn partial_with(
        &self,
        s: usize,
        kernel: impl FnOnce(usize, MatMut<'_, T>) -> Result<()>,
    ) -> Result<Vec<T>> {
        let (k, _) = self.op.shape();
        let mut out = partial_buf(k, self.m)?;
        let (r0, _) = self.strip_range(s);
        kernel(r0, MatMut::from_row_major(&mut out, k, self.m)?)
            .map_err(|e| e.for_input("block"))?;
        Ok(out)
    }

    /// Partials of whole strips, computed in parallel in batches (each strip by its
    /// own kernel, so the threads change no bit), collapsed into `nodes` as they come.
    fn full_strips(
        &self,
        strips: &[usize],
        partial: impl Fn(usize) -> Result<Vec<T>> + Sync,
        nodes: &mut BTreeMap<(u32, usize), Vec<T>>,
    ) -> Result<()> {
        if strips.is_empty() {
            return Ok(());
        }
        let batch = 2 * crate::parallel::install(rayon::current_num_threads)?.max(1);
        for chunk in strips.chunks(batch) {
            let parts: Vec<Vec<T>> = crate::parallel::install(|| {
                chunk
                    .par_iter()
                    .map(|&s| partial(s))
                    .collect::<Result<Vec<_>>>()
            })??;
            for (&s, p) in chunk.iter().zip(parts) {
                self.insert(nodes, 0, s, p);
            }
        }
        Ok(())
    }

    /// Adds node `(h, a)` to `nodes`, collapsing it with its sibling while the
    /// sibling is present (and promoting a left child whose right sibling would
    /// start beyond the last strip).
    fn insert(
        &self,
        nodes: &mut BTreeMap<(u32, usize), Vec<T>>,
        mut h: u32,
        mut a: usize,
        mut v: Vec<T>,
    ) {
        while h < self.height {
            let sib = a ^ 1;
            if a.is_multiple_of(2) && (sib << h) >= self.strips {
                // No right child: the parent is the left child alone.
            } else if let Some(w) = nodes.remove(&(h, sib)) {
                // left + right, elementwise (IEEE addition is commutative).
                add_into(&mut v, &w);
            } else {
                break;
            }
            h += 1;
            a /= 2;
        }
        nodes.insert((h, a), v);
    }

    /// Rows `lo..hi` of `block` (whose first row is row `row0` of `A`), row-major.
    fn copy_rows(block: MatRef<'_, T>, row0: usize, lo: usize, hi: usize) -> Result<Vec<T>> {
        let m = block.cols();
        let mut out = try_vec(
            checked_mul(hi - lo, m, "block", "buffered rows")?,
            T::ZERO,
            "buffered rows of an incomplete strip",
        )?;
        for (i, r) in (lo - row0..hi - row0).enumerate() {
            let dst = &mut out[i * m..(i + 1) * m];
            match block.row_slice(r) {
                Some(row) => dst.copy_from_slice(row),
                None => {
                    for (c, v) in dst.iter_mut().enumerate() {
                        *v = block.get(r, c);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The partial of strip `s` from its buffered pieces and `extra` (together the
    /// whole strip), or `None` when they do not cover it yet. Pieces that are all CSR
    /// are joined into one CSR strip for the CSR kernel; otherwise the strip is
    /// assembled densely. Both give the same bits (the kernels' contract).
    fn complete(&self, s: usize, extra: &[&Piece<T>]) -> Result<Option<Vec<T>>> {
        let (lo, hi) = self.strip_range(s);
        let mine = self.pending.get(&s).map(|p| p.as_slice()).unwrap_or(&[]);
        let mut all: Vec<&Piece<T>> = mine.iter().chain(extra.iter().copied()).collect();
        let rows: usize = all.iter().map(|p| p.rows).sum();
        if rows < hi - lo {
            return Ok(None);
        }
        all.sort_by_key(|p| p.row0);
        let m = self.m;
        if all.iter().all(|p| matches!(p.data, Rows::Csr { .. })) {
            let nnz: usize = all
                .iter()
                .map(|p| match &p.data {
                    Rows::Csr { data, .. } => data.len(),
                    Rows::Dense(_) => 0,
                })
                .sum();
            let mut indptr = try_vec(hi - lo + 1, 0i64, "a strip's row pointers")?;
            let mut indices = try_vec(nnz, 0i64, "a strip's column indices")?;
            let mut values = try_vec(nnz, T::ZERO, "a strip's values")?;
            let (mut row, mut at) = (0, 0);
            for p in &all {
                if let Rows::Csr {
                    indptr: ip,
                    indices: ix,
                    data,
                } = &p.data
                {
                    for i in 0..p.rows {
                        indptr[row + i] = at as i64 + ip[i];
                    }
                    indices[at..at + ix.len()].copy_from_slice(ix);
                    values[at..at + data.len()].copy_from_slice(data);
                    row += p.rows;
                    at += data.len();
                }
            }
            indptr[hi - lo] = at as i64;
            let sub = CsrRef::new(hi - lo, m, &indptr, &indices, &values)?;
            return self.strip_partial_csr(s, &sub).map(Some);
        }
        let mut buf = try_vec(
            checked_mul(hi - lo, m, "block", "a strip")?,
            T::ZERO,
            "a strip of the row sketch",
        )?;
        for p in &all {
            p.add_into(&mut buf, p.row0 - lo, m);
        }
        let view = MatRef::from_row_major(&buf, hi - lo, m)?;
        self.strip_partial(s, view).map(Some)
    }

    /// Applies `delta` (computed against the present state; cannot fail).
    fn absorb(&mut self, delta: Delta<T>) {
        for s in delta.consumed {
            self.pending.remove(&s);
        }
        let mut nodes = std::mem::take(&mut self.nodes);
        for (h, a, v) in delta.nodes {
            self.insert(&mut nodes, h, a, v);
        }
        self.nodes = nodes;
        for (s, p) in delta.pieces {
            let list = self.pending.entry(s).or_default();
            let at = list.partition_point(|q| q.row0 < p.row0);
            list.insert(at, p);
        }
    }

    /// Checks that rows `lo..hi` lie inside `0..d` and were not supplied yet; errors
    /// name `arg`.
    fn check_rows(&self, lo: usize, hi: Option<usize>, arg: &'static str) -> Result<usize> {
        let d = self.op.shape().1;
        let hi = match hi {
            Some(hi) if hi <= d => hi,
            _ => {
                return Err(SketchError::arg(
                    arg,
                    format!(
                        "rows {lo}..{} lie beyond the operator's d = {d} rows",
                        hi.map_or_else(|| "overflow".to_string(), |h| h.to_string())
                    ),
                ))
            }
        };
        if let Some((a, b)) = self.covered.overlap(lo, hi) {
            return Err(SketchError::arg(
                arg,
                format!(
                    "rows {a}..{b} were already supplied (each row must be added exactly once)"
                ),
            ));
        }
        Ok(hi)
    }

    /// Adds the rows `row0..row0 + n` of `A` given as the `n × m` block `block` (any
    /// strides). Errors, the state unchanged: `block` with other than `m` columns or
    /// holding NaN/inf (naming `block`), rows beyond `d` or already supplied (naming
    /// `row_offset`), allocation failure.
    pub fn update(&mut self, row0: usize, block: MatRef<'_, T>) -> Result<()> {
        self.check_block(block.cols())?;
        let hi = self.check_rows(row0, row0.checked_add(block.rows()), "row_offset")?;
        if row0 == hi {
            return Ok(());
        }
        if !crate::finite::all_finite(block) {
            return Err(SketchError::NonFinite { arg: "block" });
        }
        let m = self.m;
        let partial = |s: usize| -> Result<Vec<T>> {
            let (lo, up) = self.strip_range(s);
            self.strip_partial(s, block.sub(lo - row0, up - row0, 0, m))
        };
        let delta = self.delta_with(row0, hi, partial, |lo, up| {
            Self::copy_rows(block, row0, lo, up).map(Rows::Dense)
        })?;
        self.absorb(delta);
        self.covered.add(row0, hi);
        Ok(())
    }

    /// [`RowSketch::update`] for a CSR block (`n × m`, sorted column indices without
    /// duplicates); the same bits as the dense block with the same values. Rows of a
    /// strip the block cuts are buffered as CSR; a strip completed by CSR pieces alone
    /// runs the CSR kernel, one completed with dense pieces too is assembled densely.
    pub fn update_csr<I: SparseIndex>(
        &mut self,
        row0: usize,
        block: &CsrRef<'_, T, I>,
    ) -> Result<()> {
        self.check_block(block.cols)?;
        let hi = self.check_rows(row0, row0.checked_add(block.rows), "row_offset")?;
        if row0 == hi {
            return Ok(());
        }
        if !crate::finite::slice_all_finite(block.data) {
            return Err(SketchError::NonFinite { arg: "block" });
        }
        // Rows lo..hi of the block as a CSR piece.
        let csr_rows = |lo: usize, hi: usize| -> Result<Rows<T>> {
            let (indptr, p0, p1) = rebased_indptr::<T, I, i64>(block, lo - row0, hi - row0)?;
            let mut indices = try_vec(p1 - p0, 0i64, "buffered column indices")?;
            for (dst, t) in indices.iter_mut().zip(p0..p1) {
                *dst = block.col(t) as i64;
            }
            let data = copy_vec(&block.data[p0..p1], T::ZERO)?;
            Ok(Rows::Csr {
                indptr,
                indices,
                data,
            })
        };
        // A whole strip runs the CSR kernel on the block's own indices and values.
        let strip_partial = |s: usize| -> Result<Vec<T>> {
            let (lo, hi) = self.strip_range(s);
            let (indptr, p0, p1) = rebased_indptr::<T, I, I>(block, lo - row0, hi - row0)?;
            let sub = CsrRef::new(
                hi - lo,
                self.m,
                &indptr,
                &block.indices[p0..p1],
                &block.data[p0..p1],
            )?;
            self.strip_partial_csr(s, &sub)
        };
        let delta = self.delta_with(row0, hi, strip_partial, csr_rows)?;
        self.absorb(delta);
        self.covered.add(row0, hi);
        Ok(())
    }

    fn check_block(&self, cols: usize) -> Result<()> {
        if cols != self.m {
            return Err(SketchError::arg(
                "block",
                format!(
                    "has {cols} columns, but the sketch was created for n_columns = {}",
                    self.m
                ),
            ));
        }
        Ok(())
    }

    /// The delta of rows `row0..hi`: `partial(s)` for every whole strip inside,
    /// `copy(lo, hi)` (row-major rows) for the rows of a strip cut by the block.
    fn delta_with(
        &self,
        row0: usize,
        hi: usize,
        partial: impl Fn(usize) -> Result<Vec<T>> + Sync,
        copy: impl Fn(usize, usize) -> Result<Rows<T>>,
    ) -> Result<Delta<T>> {
        let mut delta = Delta {
            nodes: Vec::new(),
            pieces: Vec::new(),
            consumed: Vec::new(),
        };
        let mut whole = Vec::new();
        for s in row0 / self.strip..hi.div_ceil(self.strip) {
            let (a, b) = self.strip_range(s);
            let (lo, up) = (a.max(row0), b.min(hi));
            if (lo, up) == (a, b) {
                whole.push(s);
                continue;
            }
            let piece = Piece {
                row0: lo,
                rows: up - lo,
                data: copy(lo, up)?,
            };
            match self.complete(s, &[&piece])? {
                Some(partial) => {
                    delta.nodes.push((0, s, partial));
                    delta.consumed.push(s);
                }
                None => delta.pieces.push((s, piece)),
            }
        }
        let mut nodes = BTreeMap::new();
        self.full_strips(&whole, partial, &mut nodes)?;
        delta
            .nodes
            .extend(nodes.into_iter().map(|((h, a), v)| (h, a, v)));
        Ok(delta)
    }

    /// Adds every row `other` holds (consumed). Errors, the state unchanged: another
    /// operator or column count (naming `other`), rows present in both (naming
    /// `other`, with the rows), allocation failure.
    pub fn merge(&mut self, other: RowSketch<T>) -> Result<()> {
        if !self.op.same_operator(&other.op) || self.m != other.m {
            let (k, d) = self.op.shape();
            let (k2, d2) = other.op.shape();
            return Err(SketchError::arg(
                "other",
                format!(
                    "was built for {} (k={k2}, d={d2}, seed={}) with n_columns = {}, this sketch \
                     for {} (k={k}, d={d}, seed={}) with n_columns = {}; only sketches of one \
                     operator and one column count merge",
                    other.op.family().name(),
                    other.op.seed(),
                    other.m,
                    self.op.family().name(),
                    self.op.seed(),
                    self.m
                ),
            ));
        }
        for (&lo, &hi) in &other.covered.0 {
            if let Some((a, b)) = self.covered.overlap(lo, hi) {
                return Err(SketchError::arg(
                    "other",
                    format!("holds rows {a}..{b}, which this sketch already holds"),
                ));
            }
        }
        let mut delta = Delta {
            nodes: Vec::new(),
            pieces: Vec::new(),
            consumed: Vec::new(),
        };
        let mut other = other;
        for (s, pieces) in std::mem::take(&mut other.pending) {
            let refs: Vec<&Piece<T>> = pieces.iter().collect();
            match self.complete(s, &refs)? {
                Some(partial) => {
                    delta.nodes.push((0, s, partial));
                    delta.consumed.push(s);
                }
                None => delta.pieces.extend(pieces.into_iter().map(|p| (s, p))),
            }
        }
        delta.nodes.extend(
            std::mem::take(&mut other.nodes)
                .into_iter()
                .map(|((h, a), v)| (h, a, v)),
        );
        self.absorb(delta);
        for (lo, hi) in other.covered.0 {
            self.covered.add(lo, hi);
        }
        Ok(())
    }

    /// A copy (fallible allocation).
    pub fn try_clone(&self) -> Result<Self> {
        let mut nodes = BTreeMap::new();
        for (&key, v) in &self.nodes {
            nodes.insert(key, copy_vec(v, T::ZERO)?);
        }
        let mut pending = BTreeMap::new();
        for (&s, list) in &self.pending {
            let mut l = Vec::new();
            for p in list {
                l.push(p.try_clone()?);
            }
            pending.insert(s, l);
        }
        Ok(RowSketch {
            op: self.op.clone(),
            m: self.m,
            strip: self.strip,
            strips: self.strips,
            height: self.height,
            nodes,
            pending,
            covered: self.covered.clone(),
        })
    }

    /// `S · A` (`k × m`, row-major) once every row `0..d` has been supplied; otherwise
    /// an error naming `A` and the missing row ranges.
    pub fn result(&self) -> Result<Vec<T>> {
        let missing = self.missing();
        if !missing.is_empty() {
            let shown: Vec<String> = missing
                .iter()
                .take(8)
                .map(|(a, b)| format!("{a}..{b}"))
                .collect();
            let more = if missing.len() > 8 {
                format!(" and {} more ranges", missing.len() - 8)
            } else {
                String::new()
            };
            return Err(SketchError::arg(
                "A",
                format!(
                    "rows {}{more} have not been supplied; the sketch needs every row of \
                     0..{} exactly once",
                    shown.join(", "),
                    self.op.shape().1
                ),
            ));
        }
        let root = self
            .nodes
            .get(&(self.height, 0))
            .ok_or_else(|| SketchError::arg("A", "the summation tree is incomplete"))?;
        let mut out = try_vec(0, T::ZERO, "the row sketch's result")?;
        out.try_reserve_exact(root.len())
            .map_err(|_| SketchError::Alloc("the row sketch's result".into()))?;
        out.extend_from_slice(root);
        Ok(out)
    }

    /// The tree nodes held: `(h, a, values)` with `values` the `k × m` row-major
    /// partial of strips `[a·2^h, (a+1)·2^h)`.
    pub fn nodes(&self) -> impl Iterator<Item = (u32, usize, &[T])> {
        self.nodes.iter().map(|(&(h, a), v)| (h, a, v.as_slice()))
    }

    /// The buffered raw rows: `(row0, values)`, `values` row-major with `m` columns
    /// (CSR pieces are written out densely: the serialized form has one layout).
    pub fn pieces(&self) -> Result<Vec<(usize, Vec<T>)>> {
        let mut out = Vec::new();
        for p in self.pending.values().flatten() {
            let mut v = try_vec(
                checked_mul(p.rows, self.m, "pieces", "a buffered piece")?,
                T::ZERO,
                "a buffered piece",
            )?;
            p.add_into(&mut v, 0, self.m);
            out.push((p.row0, v));
        }
        Ok(out)
    }

    /// A state rebuilt from [`RowSketch::nodes`] and [`RowSketch::pieces`] (as a
    /// serialized state holds them). Every part is checked: node indices inside the
    /// tree and `k · m` values each (naming `nodes`), pieces inside one strip, short of
    /// the whole strip, whole rows and finite (naming `pieces`), no row twice.
    pub fn from_parts(
        op: &Sketch,
        m: usize,
        nodes: Vec<(u32, usize, Vec<T>)>,
        pieces: Vec<(usize, Vec<T>)>,
    ) -> Result<Self> {
        let mut st = RowSketch::new(op, m)?;
        let (k, _) = op.shape();
        let mut delta = Delta {
            nodes: Vec::new(),
            pieces: Vec::new(),
            consumed: Vec::new(),
        };
        for (h, a, v) in nodes {
            if h > st.height
                || 1usize
                    .checked_shl(h)
                    .and_then(|p| a.checked_mul(p))
                    .is_none_or(|f| f >= st.strips)
                || v.len() != k * m
            {
                return Err(SketchError::arg(
                    "nodes",
                    format!(
                        "node ({h}, {a}) with {} values is not part of this sketch's tree",
                        v.len()
                    ),
                ));
            }
            let (lo, hi) = st.node_range(h, a);
            st.check_rows(lo, Some(hi), "nodes")?;
            st.covered.add(lo, hi);
            delta.nodes.push((h, a, v));
        }
        for (row0, v) in pieces {
            let rows = v.len() / m;
            let s = row0 / st.strip;
            let (a, b) = if s < st.strips {
                st.strip_range(s)
            } else {
                (0, 0)
            };
            if rows == 0 || rows * m != v.len() || row0 + rows > b || rows >= b - a {
                return Err(SketchError::arg(
                    "pieces",
                    format!(
                        "rows {row0}.. with {} values are not part of one strip",
                        v.len()
                    ),
                ));
            }
            if !crate::finite::slice_all_finite(&v) {
                return Err(SketchError::NonFinite { arg: "pieces" });
            }
            st.check_rows(row0, Some(row0 + rows), "pieces")?;
            st.covered.add(row0, row0 + rows);
            delta.pieces.push((
                s,
                Piece {
                    row0,
                    rows,
                    data: Rows::Dense(v),
                },
            ));
        }
        // Pieces that together fill a strip were not produced by a state; refuse them.
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for (s, p) in &delta.pieces {
            *counts.entry(*s).or_default() += p.rows;
        }
        for (s, n) in counts {
            let (a, b) = st.strip_range(s);
            if n >= b - a {
                return Err(SketchError::arg(
                    "pieces",
                    format!(
                        "fill strip {s} (rows {a}..{b}) whole; a state holds its partial instead"
                    ),
                ));
            }
        }
        st.absorb(delta);
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(d: usize, m: usize, seed: u64) -> Vec<f64> {
        let mut s = crate::rng::Stream::new(seed, 0, 0);
        (0..d * m)
            .map(|_| crate::rng::open01(s.next_u64()) - 0.5)
            .collect()
    }

    fn ops(d: usize) -> Vec<Sketch> {
        [
            "countsketch",
            "sparse_sign",
            "very_sparse",
            "gaussian",
            "rademacher",
        ]
        .iter()
        .map(|f| Sketch::from_name(f, 24, d, 5, None, None).unwrap())
        .collect()
    }

    fn whole(op: &Sketch, a: &[f64], m: usize) -> Vec<f64> {
        let d = op.shape().1;
        let mut st = RowSketch::new(op, m).unwrap();
        st.update(0, MatRef::from_row_major(a, d, m).unwrap())
            .unwrap();
        st.result().unwrap()
    }

    #[test]
    fn blockings_orders_and_merges_agree() {
        let (d, m) = (3 * 4096 + 1234, 3);
        let a = data(d, m, 1);
        for op in ops(d) {
            let want = whole(&op, &a, m);
            // Odd block boundaries, reverse order, two states merged.
            let cuts = [0, 17, 4100, 4101, 9000, 12288, 13000, d];
            let mut s1 = RowSketch::new(&op, m).unwrap();
            let mut s2 = RowSketch::new(&op, m).unwrap();
            for (i, w) in cuts.windows(2).enumerate().rev() {
                let blk = MatRef::from_row_major(&a[w[0] * m..w[1] * m], w[1] - w[0], m).unwrap();
                let st = if i % 2 == 0 { &mut s1 } else { &mut s2 };
                st.update(w[0], blk).unwrap();
            }
            assert!(s1.result().is_err());
            let s2 = RowSketch::from_parts(
                &op,
                m,
                s2.nodes().map(|(h, a, v)| (h, a, v.to_vec())).collect(),
                s2.pieces().unwrap(),
            )
            .unwrap();
            s1.merge(s2).unwrap();
            assert_eq!(s1.result().unwrap(), want, "{}", op.family());
            // Within rounding of the one-shot kernel.
            let mut one = vec![0.0; 24 * m];
            op.sketch(
                MatRef::from_row_major(&a, d, m).unwrap(),
                MatMut::from_row_major(&mut one, 24, m).unwrap(),
            )
            .unwrap();
            let dense = op.to_dense::<f64>().unwrap();
            let n = 4096.0 + 3.0 + 1.0 + d as f64;
            for i in 0..24 {
                for c in 0..m {
                    let bound: f64 = (0..d)
                        .map(|j| (dense[i * d + j] * a[j * m + c]).abs())
                        .sum::<f64>()
                        * n
                        * f64::EPSILON;
                    assert!((one[i * m + c] - want[i * m + c]).abs() <= bound);
                }
            }
        }
    }

    #[test]
    fn errors_leave_the_state_unchanged() {
        let (d, m) = (5000, 2);
        let a = data(d, m, 2);
        let op = &ops(d)[1];
        let mut st = RowSketch::new(op, m).unwrap();
        st.update(10, MatRef::from_row_major(&a[20..200], 90, m).unwrap())
            .unwrap();
        let err = st
            .update(50, MatRef::from_row_major(&a[..20], 10, m).unwrap())
            .unwrap_err();
        assert_eq!(err.arg_name(), Some("row_offset"));
        assert!(err.to_string().contains("50..60"), "{err}");
        let err = st
            .update(4995, MatRef::from_row_major(&a[..20], 10, m).unwrap())
            .unwrap_err();
        assert_eq!(err.arg_name(), Some("row_offset"));
        let err = st
            .update(0, MatRef::from_row_major(&a[..30], 10, 3).unwrap())
            .unwrap_err();
        assert_eq!(err.arg_name(), Some("block"));
        let mut bad = a[..20].to_vec();
        bad[3] = f64::NAN;
        let err = st
            .update(0, MatRef::from_row_major(&bad, 10, m).unwrap())
            .unwrap_err();
        assert_eq!(err, SketchError::NonFinite { arg: "block" });
        assert_eq!(st.rows_supplied(), 90);
        let err = st.result().unwrap_err();
        assert!(err.to_string().contains("0..10, 100..5000"), "{err}");
        let srht = Sketch::from_name("srht", 8, d, 0, None, None).unwrap();
        let err = RowSketch::<f64>::new(&srht, m).unwrap_err();
        assert_eq!(err.arg_name(), Some("operator"));
        let other = RowSketch::<f64>::new(&ops(d)[0], m).unwrap();
        assert_eq!(st.merge(other).unwrap_err().arg_name(), Some("other"));
    }

    #[test]
    fn csr_blocks_match_dense_blocks() {
        let (d, m) = (9000, 4);
        let mut a = data(d, m, 3);
        for (i, v) in a.iter_mut().enumerate() {
            if i % 3 != 0 {
                *v = 0.0;
            }
        }
        for op in ops(d) {
            let want = whole(&op, &a, m);
            let mut st = RowSketch::new(&op, m).unwrap();
            for (lo, hi) in [(0, 5000), (5000, 9000)] {
                let mut indptr = vec![0i64];
                let (mut idx, mut val) = (vec![], vec![]);
                for r in lo..hi {
                    for c in 0..m {
                        if a[r * m + c] != 0.0 {
                            idx.push(c as i64);
                            val.push(a[r * m + c]);
                        }
                    }
                    indptr.push(idx.len() as i64);
                }
                let csr = CsrRef::new(hi - lo, m, &indptr, &idx, &val).unwrap();
                st.update_csr(lo, &csr).unwrap();
            }
            assert_eq!(st.result().unwrap(), want, "{}", op.family());
        }
    }

    #[test]
    fn threads_do_not_change_bits() {
        let (d, m) = (4 * 4096 + 7, 5);
        let a = data(d, m, 4);
        for op in ops(d) {
            let run = |t: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                pool.install(|| whole(&op, &a, m))
            };
            assert_eq!(run(1), run(3));
        }
    }

    #[test]
    fn strip_rows_is_a_function_of_k() {
        assert_eq!(strip_rows(1), 4096);
        assert_eq!(strip_rows(1024), 4096);
        assert_eq!(strip_rows(1025), 8192);
        assert_eq!(strip_rows(usize::MAX), usize::MAX);
    }
}
