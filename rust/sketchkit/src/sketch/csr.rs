//! Kernels for compressed sparse inputs, `O(nnz)` in the input:
//!
//! * [`rows_times_st`]: `out = X · Sᵀ` for CSR `X` (rows in parallel); also `(S·A)ᵀ`
//!   for CSC `A`.
//! * [`s_times_rows`]: `out = S · A` for CSR `A` (output rows in parallel); also
//!   `(X·Sᵀ)ᵀ` for CSC `X`.
//!
//! With sorted indices each output element is the same ascending chain as in the
//! dense kernels (missing terms would only add exact zeros), so sparse and dense
//! inputs give the same bits.

use super::structure::{sign_of, SparseMat, ENTRY_INDEX, SLOT_INDEX, TAIL};
use crate::backend::DenseEntries;
use crate::error::{try_vec, try_zeros, Result, SketchError};
use crate::simd::{prefetch, PREFETCH_L1};
use crate::view::{CsrRef, MatMut, SparseIndex};
use crate::Real;
use rayon::prelude::*;

/// Rows of X per parallel task.
const ROWS: usize = 256;

/// How many stored values ahead the packed-list kernel prefetches a column's slot.
const PACKED_AHEAD: usize = 24;

/// Dummy accumulators after the `k` real ones (a power of two): where the
/// packed-list kernel adds its empty slots.
const DUMMIES: usize = 8;

/// The operator as the CSR kernels see it.
pub(crate) enum OpRef<'a, T> {
    /// Sparse family: index lists.
    Sparse(&'a SparseMat),
    /// Dense family: `Sᵀ` materialized row-major (`d × k`).
    Dense { st: &'a [T], k: usize },
}

/// Accumulates row `r` of `X · Sᵀ` into `acc[..k]` (`acc` of length `k + DUMMIES`,
/// zeroed by the caller), and applies the final scale. Returns whether the row's
/// stored values are all finite: they are checked here, just before the kernel
/// reads them (in L1 then), instead of in a pass of their own over all of `X`.
#[inline(always)]
fn row_into<T: Real, I: SparseIndex>(
    op: &OpRef<'_, T>,
    x: &CsrRef<'_, T, I>,
    r: usize,
    acc: &mut [T],
) -> bool {
    let finite = crate::finite::slice_finite(&x.data[x.row_range(r)]);
    match op {
        OpRef::Sparse(m) => {
            if let Ok(Some(pk)) = m.packed() {
                for t in x.row_range(r) {
                    // The packed lists (8 bytes per column) outgrow L1 and often L2:
                    // load the slot of the column PACKED_AHEAD stored values on (the
                    // CSR indices are one flat array, so this runs across rows too).
                    if let Some(jn) = x.indices.get(t + PACKED_AHEAD) {
                        let jn = jn.to_usize().unwrap_or(0);
                        prefetch::<PREFETCH_L1, _>(pk.cols.as_ptr().wrapping_add(jn));
                    }
                    let (j, v) = (x.col(t), x.data[t]);
                    // Branch-free: an EMPTY slot (index 2^30 - 1) lands in one of the
                    // DUMMIES accumulators after acc[..k], which are never read. Most
                    // columns have an EMPTY slot, so a single dummy would chain every
                    // stored value's update through one memory location
                    // (store-to-load latency); rotating over several leaves the real
                    // updates independent. A column's entries lie in distinct rows, so
                    // the tail after the slot keeps every element's ascending order;
                    // the slot itself says whether there is one (TAIL).
                    let k = acc.len() - DUMMIES;
                    let [e0, e1] = pk.cols[j];
                    let d0 = k + ((2 * t) & (DUMMIES - 1));
                    acc[((e0 & SLOT_INDEX) as usize).min(d0)] += v.neg_if(e0 >> 31);
                    acc[((e1 & SLOT_INDEX) as usize).min(d0 + 1)] += v.neg_if(e1 >> 31);
                    if e1 & TAIL != 0 {
                        for &e in pk.tail(j) {
                            acc[(e & ENTRY_INDEX) as usize] += v.neg_if(e >> 31);
                        }
                    }
                }
            } else {
                let range = x.row_range(r);
                let end = range.end;
                for t in range {
                    // The column lists are hit at random: prefetch two stages ahead
                    // (the pointer pair of a column 16 entries on, the entries of a
                    // column 8 on, whose pointers are in cache by then).
                    if t + 16 < end {
                        prefetch::<PREFETCH_L1, _>(m.csc.ptr.as_ptr().wrapping_add(x.col(t + 16)));
                    }
                    if t + 8 < end {
                        let p = m.csc.ptr[x.col(t + 8)];
                        prefetch::<PREFETCH_L1, _>(m.csc.ent.as_ptr().wrapping_add(p));
                    }
                    let (j, v) = (x.col(t), x.data[t]);
                    // ±v by table lookup: a data-dependent sign branch mispredicts half
                    // the time. (-1)·v and -v are the same IEEE value.
                    let pm = [v, -v];
                    for &e in m.csc.list(j) {
                        acc[(e & ENTRY_INDEX) as usize] += pm[(e >> 31) as usize];
                    }
                }
            }
            let scale = T::from_f64(m.scale);
            for a in acc.iter_mut() {
                *a = scale * *a;
            }
        }
        OpRef::Dense { st, k } => {
            for t in x.row_range(r) {
                let (j, v) = (x.col(t), x.data[t]);
                for (a, &s) in acc.iter_mut().zip(&st[j * k..(j + 1) * k]) {
                    *a = v.mul_add(s, *a);
                }
            }
        }
    }
    finite
}

/// Builds the lazily derived lists the row kernel uses, outside the parallel loop.
fn prepare<T>(op: &OpRef<'_, T>) -> Result<()> {
    if let OpRef::Sparse(m) = op {
        m.packed()?;
    }
    Ok(())
}

/// `out = X · Sᵀ` for CSR `X` (`n × d`), `out` dense `n × k`.
pub(crate) fn rows_times_st<T: Real, I: SparseIndex>(
    op: &OpRef<'_, T>,
    x: &CsrRef<'_, T, I>,
    k: usize,
    out: MatMut<'_, T>,
) -> Result<()> {
    prepare(op)?;
    let n = x.rows;
    let out = out.into_shared();
    (0..n.div_ceil(ROWS)).into_par_iter().try_for_each_init(
        || try_vec(k + DUMMIES, T::ZERO, "a row accumulator"),
        |acc, c| -> Result<()> {
            let acc = acc.as_mut().map_err(|e| e.clone())?;
            let (r0, r1) = (c * ROWS, ((c + 1) * ROWS).min(n));
            // SAFETY: chunk c owns output rows r0..r1.
            let mut o = unsafe { out.part(r0, r1, 0, k) };
            let mut finite = true;
            for r in r0..r1 {
                acc.fill(T::ZERO);
                finite &= crate::dispatch!(row_into(op, x, r, acc));
                match o.row_slice_mut(r - r0) {
                    Some(row) => row.copy_from_slice(&acc[..k]),
                    None => {
                        for (i, &v) in acc[..k].iter().enumerate() {
                            // SAFETY: (r - r0, i) is inside this chunk's part.
                            unsafe { *o.ptr_at(r - r0, i) = v };
                        }
                    }
                }
            }
            non_finite_error(finite)
        },
    )
}

/// `Err(NonFinite)` for `X` unless `finite`.
fn non_finite_error(finite: bool) -> Result<()> {
    if finite {
        Ok(())
    } else {
        Err(SketchError::NonFinite { arg: "X" })
    }
}

/// The CSR (or CSC) triple `(indptr, indices, data)` of a sparse result.
pub type CsrParts<T> = (Vec<i64>, Vec<i64>, Vec<T>);

/// A sparse product's CSR triple with `int32` column indices (what SciPy stores for
/// up to 2^31 − 1 columns, so it takes the arrays without a copy).
pub type CsrParts32<T> = (Vec<i64>, Vec<i32>, Vec<T>);

/// `X · Sᵀ` for CSR `X` as a CSR matrix (`n × k`), exact zeros dropped.
pub(crate) fn rows_times_st_sparse<T: Real, I: SparseIndex>(
    op: &OpRef<'_, T>,
    x: &CsrRef<'_, T, I>,
    k: usize,
) -> Result<CsrParts32<T>> {
    prepare(op)?;
    if i32::try_from(k).is_err() {
        return Err(crate::SketchError::overflow(
            "k",
            format!("sparse output needs k < 2^31, got {k}"),
        ));
    }
    let n = x.rows;
    let parts: Vec<(Vec<i64>, Vec<i32>, Vec<T>)> = (0..n.div_ceil(ROWS))
        .into_par_iter()
        .map(|c| -> Result<_> {
            let (r0, r1) = (c * ROWS, ((c + 1) * ROWS).min(n));
            let mut acc = try_vec(k + DUMMIES, T::ZERO, "a row accumulator")?;
            let mut lens = try_vec(0, 0i64, "row lengths")?;
            lens.try_reserve_exact(r1 - r0)
                .map_err(|_| SketchError::Alloc("row lengths".into()))?;
            let (mut idx, mut val) = (Vec::new(), Vec::new());
            let mut finite = true;
            for r in r0..r1 {
                acc.fill(T::ZERO);
                finite &= crate::dispatch!(row_into(op, x, r, &mut acc));
                let at = compact_row(&acc[..k], &mut idx, &mut val)?;
                lens.push(at as i64);
            }
            non_finite_error(finite)?;
            Ok((lens, idx, val))
        })
        .collect::<Result<_>>()?;
    let nnz: usize = parts.iter().map(|p| p.1.len()).sum();
    // Zeroed by the allocator (fresh pages, huge where allowed), so that the pages
    // are first touched by the parallel copy below rather than zeroed here on one
    // thread: 6-12 % of a call into 7 · 10^6 nonzeros on two threads.
    let mut indptr = try_zeros::<i64>(n + 1, "the sparse result's indptr")?;
    let mut indices = try_zeros::<i32>(nnz, "the sparse result's indices")?;
    let mut data = try_zeros::<T>(nnz, "the sparse result's data")?;
    // Each part's rows and entries have a known place: copy the parts in parallel
    // into disjoint pieces of the result (a serial copy of 2 · 28 MB was 5% of a
    // projection of 10^7 stored values into 7 · 10^6 nonzeros, two threads).
    let mut pieces = Vec::with_capacity(parts.len());
    let (mut p_rest, mut i_rest, mut d_rest) = (&mut indptr[1..], &mut indices[..], &mut data[..]);
    let mut base = 0i64;
    for part in &parts {
        let (rows, len) = (part.0.len(), part.1.len());
        let (p, pr) = std::mem::take(&mut p_rest).split_at_mut(rows);
        let (i, ir) = std::mem::take(&mut i_rest).split_at_mut(len);
        let (d, dr) = std::mem::take(&mut d_rest).split_at_mut(len);
        (p_rest, i_rest, d_rest) = (pr, ir, dr);
        pieces.push((part, base, p, i, d));
        base += len as i64;
    }
    crate::parallel::install(|| {
        pieces
            .into_par_iter()
            .for_each(|((lens, idx, val), base, p, i, d)| {
                let mut end = base;
                for (slot, &l) in p.iter_mut().zip(lens) {
                    end += l;
                    *slot = end;
                }
                i.copy_from_slice(idx);
                d.copy_from_slice(val);
            })
    })?;
    Ok((indptr, indices, data))
}

/// Appends the positions and values of the nonzeros of `row` (below 2^31 elements)
/// to `idx` and `val`, in ascending position; returns their count.
#[inline(always)]
fn compact_row<T: Real>(row: &[T], idx: &mut Vec<i32>, val: &mut Vec<T>) -> Result<usize> {
    // Room for the whole row and for whole vectors stored past its last nonzero.
    let room = row.len() + 16;
    let grown = idx.try_reserve(room).and_then(|()| val.try_reserve(room));
    grown.map_err(|_| SketchError::Alloc("the sparse result's entries".into()))?;
    let (len, pi, pv) = (idx.len(), idx.as_mut_ptr(), val.as_mut_ptr());
    // SAFETY: both vectors have room for `room` more elements from `len` (reserved
    // above): the writes below stay inside their allocations.
    let (pi, pv) = unsafe { (pi.add(len), pv.add(len)) };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: pi and pv are valid for writes of row.len() + 16 elements (above).
    let fast = unsafe { super::compact_x86::compact(row, pi, pv) };
    #[cfg(not(target_arch = "x86_64"))]
    let fast = None;
    let (mut at, done) = fast.unwrap_or((0, 0));
    // What the SIMD path left (all of the row at the scalar level, an AVX2 path's
    // last partial vector), branch-free: write every candidate, advance past nonzeros.
    for (i, &v) in row.iter().enumerate().skip(done) {
        // SAFETY: at <= i < row.len(): inside the reserved room.
        unsafe {
            pi.add(at).write(i as i32);
            pv.add(at).write(v);
        }
        at += usize::from(v != T::ZERO);
    }
    // SAFETY: the first `at` elements past `len` were written above (the compaction
    // writes every kept position and value), and at <= row.len() < room.
    unsafe {
        idx.set_len(len + at);
        val.set_len(len + at);
    }
    Ok(at)
}

/// Output rows of `S · A` per parallel task.
const OUT_ROWS: usize = 16;
/// How far ahead in an output row's list the `S · A` kernel prefetches rows of `A`.
const ROWS_AHEAD: usize = 8;

/// `out = S · A` for CSR `A` (`d × m`), `out` dense `k × m`.
pub(crate) fn s_times_rows<T: Real, I: SparseIndex>(
    op: &OpRef<'_, T>,
    a: &CsrRef<'_, T, I>,
    k: usize,
    out: MatMut<'_, T>,
) -> Result<()> {
    let m = a.cols;
    let out = out.into_shared();
    if let OpRef::Sparse(mat) = op {
        // Build the row lists here, not inside the parallel tasks.
        mat.csr()?;
    }
    (0..k.div_ceil(OUT_ROWS)).into_par_iter().try_for_each_init(
        || try_vec(m, T::ZERO, "a row accumulator"),
        |acc, c| -> Result<()> {
            let acc = acc.as_mut().map_err(|e| e.clone())?;
            let (i0, i1) = (c * OUT_ROWS, ((c + 1) * OUT_ROWS).min(k));
            // SAFETY: chunk c owns output rows i0..i1.
            let o = unsafe { out.part(i0, i1, 0, m) };
            for i in i0..i1 {
                acc.fill(T::ZERO);
                crate::dispatch!(out_row(op, a, i, acc));
                for (col, &v) in acc.iter().enumerate() {
                    // SAFETY: inside this chunk's part.
                    unsafe { *o.ptr_at(i - i0, col) = v };
                }
            }
            Ok(())
        },
    )
}

#[inline(always)]
fn out_row<T: Real, I: SparseIndex>(
    op: &OpRef<'_, T>,
    a: &CsrRef<'_, T, I>,
    i: usize,
    acc: &mut [T],
) {
    match op {
        OpRef::Sparse(mat) => {
            // Built by `s_times_rows` before the parallel loop.
            let Ok(rows) = mat.csr() else { return };
            let list = rows.list(i);
            // The rows of A this list names are scattered: each would wait on three
            // dependent misses (its indptr entry, then its indices and values). Ask
            // for the indptr entries 2·ROWS_AHEAD entries ahead and for the rows
            // themselves ROWS_AHEAD ahead (their indptr entries are in cache by then).
            let row_of = |t: usize| (list[t] & ENTRY_INDEX) as usize;
            for (t, &e) in list.iter().enumerate() {
                if let Some(&f) = list.get(t + 2 * ROWS_AHEAD) {
                    prefetch::<PREFETCH_L1, _>(
                        a.indptr.as_ptr().wrapping_add((f & ENTRY_INDEX) as usize),
                    );
                }
                if t + ROWS_AHEAD < list.len() {
                    let start = a.row_range(row_of(t + ROWS_AHEAD)).start;
                    prefetch::<PREFETCH_L1, _>(a.indices.as_ptr().wrapping_add(start));
                    prefetch::<PREFETCH_L1, _>(a.data.as_ptr().wrapping_add(start));
                }
                let s: T = sign_of(e);
                for t in a.row_range(row_of(t)) {
                    acc[a.col(t)] += s * a.data[t];
                }
            }
            let scale = T::from_f64(mat.scale);
            for v in acc.iter_mut() {
                *v = scale * *v;
            }
        }
        OpRef::Dense { st, k } => {
            for j in 0..a.rows {
                let s = st[j * k + i];
                for t in a.row_range(j) {
                    let col = a.col(t);
                    acc[col] = a.data[t].mul_add(s, acc[col]);
                }
            }
        }
    }
}

/// Materializes columns `j0..j0 + d` of a dense family's `S` as `Sᵀ` (`d × k`,
/// row-major).
pub(crate) fn dense_st<T: Real>(
    kind: DenseEntries,
    seed: u64,
    k: usize,
    j0: usize,
    d: usize,
) -> Result<Vec<T>> {
    let len = crate::error::checked_mul(k, d, "k", "k * d")?;
    let mut st = try_vec(len, T::ZERO, "the materialized operator")?;
    super::dense::st_block(kind, seed, k, j0, j0 + d, &mut st);
    Ok(st)
}
