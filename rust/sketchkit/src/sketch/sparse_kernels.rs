//! Kernels applying a [`SparseMat`] `M` (`p × q`, entries `±scale`) to dense rows:
//! `out = X · Mᵀ` for `X` of shape `n × q`.
//!
//! Each output element is `scale · (Σ_j ±x_j)` with the sum taken in ascending `j`,
//! starting from zero, whatever the kernel, tiling, SIMD level or thread count; so
//! the gather kernel, the scatter kernel, the CSR kernels and every split of the rows
//! give identical bits.
//!
//! * gather (any strides): `R` rows at a time are transposed block by block into a
//!   lane-major tile (`R` = 128 bytes of lanes), and every row `i` of `M` sums its
//!   entries' lanes in registers, two rows at a time. Work: `nnz(M) · n / R` vector
//!   adds + one pass over X.
//! * scatter (columns of X and of `out` contiguous, e.g. `S·A` for C-order `A`):
//!   strips of rows, `out[:, i] += ±X[:, j]` for each entry `(i, j)` in column order.

use super::structure::{Blocked, SparseMat, ENTRY_INDEX};
use crate::error::{try_vec, Result, SketchError};
use crate::simd::{prefetch_span, PREFETCH_L1, PREFETCH_L2};
use crate::view::{MatMut, MatRef};
use crate::Real;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// `out = X · Mᵀ`. Shapes are checked by the caller.
pub(crate) fn apply_rows<T: Real>(
    m: &SparseMat,
    x: MatRef<'_, T>,
    out: MatMut<'_, T>,
) -> Result<()> {
    debug_assert_eq!(x.cols(), m.cols);
    debug_assert_eq!(out.cols(), m.rows);
    debug_assert_eq!(out.rows(), x.rows());
    if x.rows() == 0 || m.rows == 0 {
        return Ok(());
    }
    // Lanes of 128 bytes (32 f32 or 16 f64: two 512-bit or four 256-bit registers),
    // two rows of M at a time. On `X · Sᵀ` (X 20000 × 4096 f32, a very sparse S of
    // 256 rows, one thread, Intel Xeon VM, the `rp_timing` example) 256-byte lanes
    // (one row at a time on AVX2, two on AVX-512) took 76–92 ms and these take 58–68
    // ms on either level: a row meets twice the entries per 32 KB block of the tile,
    // so its accumulators make half the round trips through memory, which cost more
    // than the adds. f64 rows: 130–143 → 110–116 ms.
    if x.row_stride() == 1 && out.row_stride() == 1 && x.rows() > 1 {
        scatter(m, x, out)
    } else if std::mem::size_of::<T>() == 4 {
        gather::<T, 32>(m, x, out)
    } else {
        gather::<T, 16>(m, x, out)
    }
}

fn gather<T: Real, const R: usize>(
    m: &SparseMat,
    x: MatRef<'_, T>,
    out: MatMut<'_, T>,
) -> Result<()> {
    let n = x.rows();
    let out = out.into_shared();
    let tiles = n.div_ceil(R);
    // Build the blocked lists here, not inside the parallel tasks, and make sure a
    // worker's scratch (k lanes) can be had.
    let blocked = m.blocked()?;
    let scale = T::from_f64(m.scale);
    let finite = AtomicBool::new(true);
    // The AVX2 build on AVX-512 machines too: a lane array is four 256-bit registers
    // instead of two 512-bit ones. On the Intel AVX-512 VM (`rp_timing`, two
    // threads) it took 25–28 against 26–38 ms for 20000 × 4096 f32 rows → 256,
    // 34 against 39 ms for 320000 × 256 → 64, 84–85 against 86–91 ms for
    // 20000 × 4096 → 1024, 25 against 27 ms for 5000 × 16384 → 256; one thread
    // 50 against 52 ms; f64 rows the same (`rp_hot`, 98–103 ms both). The bits are
    // the same on every level.
    let lvl = crate::simd::level().min(crate::simd::Level::Avx2);
    (0..tiles).into_par_iter().try_for_each_init(
        || {
            Ok::<_, SketchError>((
                try_vec(blocked.width, [T::ZERO; R], "a gather tile")?,
                try_vec(m.rows, [T::ZERO; R], "gather accumulators")?,
            ))
        },
        |scratch, t| -> Result<()> {
            let (xt, yt) = scratch.as_mut().map_err(|e| e.clone())?;
            let r0 = t * R;
            let nr = R.min(n - r0);
            // SAFETY: tile `t` owns output rows r0..r0+nr; tiles are disjoint.
            let mut o = unsafe { out.part(r0, r0 + nr, 0, out.cols()) };
            // The sign's form as a constant, so that no branch is left per entry.
            let ok = if has_fma() {
                crate::dispatch!(@at lvl, gather_tile::<T, R, true>(
                    m, blocked, x, r0, nr, xt, yt, &mut o, scale
                ))
            } else {
                crate::dispatch!(@at lvl, gather_tile::<T, R, false>(
                    m, blocked, x, r0, nr, xt, yt, &mut o, scale
                ))
            };
            if !ok {
                finite.store(false, Ordering::Relaxed);
            }
            Ok(())
        },
    )?;
    check(&finite)
}

/// `Err(NonFinite)` when a task saw NaN or infinity.
fn check(finite: &AtomicBool) -> Result<()> {
    if finite.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err(SketchError::NonFinite { arg: "X" })
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_tile<T: Real, const R: usize, const FMA: bool>(
    m: &SparseMat,
    blocked: &Blocked,
    x: MatRef<'_, T>,
    r0: usize,
    nr: usize,
    xt: &mut [[T; R]],
    yt: &mut [[T; R]],
    out: &mut MatMut<'_, T>,
    scale: T,
) -> bool {
    let mut finite = true;
    for y in yt.iter_mut() {
        *y = [T::ZERO; R];
    }
    if nr < R {
        for v in xt.iter_mut() {
            *v = [T::ZERO; R];
        }
    }
    let width = blocked.width;
    let nb = blocked.blocks.len();
    for (b, blk) in blocked.blocks.iter().enumerate() {
        let j0 = b * width;
        let j1 = (j0 + width).min(m.cols);
        // The block read next: the next columns of these rows, or after the last
        // block the first columns of the next tile's rows (the tile this task most
        // likely runs next: tasks take consecutive tiles). Asking also for these
        // columns of the next tile, as the 256-byte lanes did, only added requests:
        // 20000 × 4096 f32 rows (16 blocks a tile), two threads, 31–32 → 29–31 ms
        // without them (AVX2 path 30–31 → 27–29 ms), one thread 60 → 55 ms.
        let next = if b + 1 < nb { (r0, j1) } else { (r0 + R, 0) };
        transpose_in(x, r0, nr, j0, j1, [next], xt);
        // A non-finite value in a column with an entry makes a sum non-finite, which
        // the check of the sums below catches: only the columns without one are
        // checked here (all of them when most are).
        match &blk.empty {
            Some(empty) => {
                for &c in empty {
                    finite &= crate::finite::lanes_finite(&xt[c as usize..c as usize + 1]);
                }
            }
            None => finite &= crate::finite::lanes_finite(&xt[..j1 - j0]),
        }
        let ents = |t: usize| &blk.ent[blk.ptr[t] as usize..blk.ptr[t + 1] as usize];
        let mut t = 0;
        // Two rows at a time, each summed in its own entries' order: the same bits
        // as one row at a time, with twice the independent adds in flight.
        while t + 1 < blk.rows.len() {
            let (i0, i1) = (blk.rows[t] as usize, blk.rows[t + 1] as usize);
            let (e0, e1) = (ents(t), ents(t + 1));
            let (mut a0, mut a1) = (yt[i0], yt[i1]);
            let c = e0.len().min(e1.len());
            for (&f, &g) in e0[..c].iter().zip(&e1[..c]) {
                add_entry(&mut a0, xt, f, FMA);
                add_entry(&mut a1, xt, g, FMA);
            }
            for &f in &e0[c..] {
                add_entry(&mut a0, xt, f, FMA);
            }
            for &g in &e1[c..] {
                add_entry(&mut a1, xt, g, FMA);
            }
            yt[i0] = a0;
            yt[i1] = a1;
            t += 2;
        }
        for (t, &i) in blk.rows.iter().enumerate().skip(t) {
            let mut acc = yt[i as usize];
            for &e in ents(t) {
                add_entry(&mut acc, xt, e, FMA);
            }
            yt[i as usize] = acc;
        }
    }
    // Non-finite sums: a non-finite value in a column with an entry, or finite values
    // whose sum overflows; the tile's rows tell which.
    if finite && !crate::finite::lanes_finite(yt) {
        finite = (r0..r0 + nr).all(|r| match x.row_slice(r) {
            Some(row) => crate::finite::slice_finite(row),
            None => (0..x.cols()).all(|c| x.get(r, c).is_finite()),
        });
    }
    write_tile(yt, nr, out, scale);
    finite
}

/// `acc += ±xt[entry's column]`, lane by lane ([`add_signed`]).
#[inline(always)]
fn add_entry<T: Real, const R: usize>(acc: &mut [T; R], xt: &[[T; R]], e: u32, fma: bool) {
    add_signed(acc, &xt[(e & ENTRY_INDEX) as usize], e, fma);
}

/// `acc += ±v` elementwise with entry `e`'s sign, the same bits either way: as
/// `fma(v, ±1, acc)` where the SIMD level has FMA (the product is exact, so the one
/// rounding gives `acc ± v`, signed zeros included; a load for the sign instead of
/// a broadcast and a XOR a vector), else as a sign XOR and an add (no slow software
/// FMA). The branch is taken once per entry, outside the vector loops.
#[inline(always)]
fn add_signed<T: Real>(acc: &mut [T], v: &[T], e: u32, fma: bool) {
    if fma {
        let s = [T::ONE, T::ZERO - T::ONE][(e >> 31) as usize];
        for (a, &x) in acc.iter_mut().zip(v) {
            *a = x.mul_add(s, *a);
        }
    } else {
        let neg = e >> 31;
        for (a, &x) in acc.iter_mut().zip(v) {
            *a += x.neg_if(neg);
        }
    }
}

/// Whether [`add_signed`] may use FMA: every SIMD level but the portable one.
#[inline(always)]
fn has_fma() -> bool {
    crate::simd::level() != crate::simd::Level::Scalar
}

/// `out[r, i] = scale · yt[i][r]` for the tile's `nr` rows.
#[inline(always)]
fn write_tile<T: Real, const R: usize>(
    yt: &mut [[T; R]],
    nr: usize,
    out: &mut MatMut<'_, T>,
    scale: T,
) {
    #[cfg(target_arch = "x86_64")]
    if out.col_stride() == 1 && out.row_stride() > 0 {
        for y in yt.iter_mut() {
            for v in y.iter_mut() {
                *v = scale * *v;
            }
        }
        // SAFETY: yt is `yt.len() = out.cols()` lane arrays of R >= nr elements,
        // contiguous ([T; R] has no padding), read as a `yt.len() × nr` block with row
        // stride R; out's rows 0..nr are `out.cols()` contiguous elements (unit column
        // stride) `row_stride` apart, written as the transposed `nr × yt.len()` block.
        // yt is this task's scratch, a separate allocation from out.
        let done = unsafe {
            super::transpose_x86::transpose(
                yt.as_ptr().cast::<T>(),
                R,
                out.ptr_at(0, 0),
                out.row_stride() as usize,
                yt.len(),
                nr,
                &[],
            )
        };
        if done {
            return;
        }
        for r in 0..nr {
            for (i, y) in yt.iter().enumerate() {
                // SAFETY: r < nr = out.rows(), i < yt.len() = out.cols().
                unsafe { *out.ptr_at(r, i) = y[r] };
            }
        }
        return;
    }
    for r in 0..nr {
        for (i, y) in yt.iter().enumerate() {
            // SAFETY: r < nr = out.rows(), i < m.rows = out.cols().
            unsafe { *out.ptr_at(r, i) = scale * y[r] };
        }
    }
}

/// Copies `x[r0..r0+nr, j0..j1]` into `xt[j - j0][r - r0]`, prefetching the blocks of
/// the same shape at `ahead` (row, column), which may lie outside `x`.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn transpose_in<T: Real, const R: usize, const A: usize>(
    x: MatRef<'_, T>,
    r0: usize,
    nr: usize,
    j0: usize,
    j1: usize,
    ahead: [(usize, usize); A],
    xt: &mut [[T; R]],
) {
    if x.col_stride() == 1 {
        #[cfg(target_arch = "x86_64")]
        if x.row_stride() > 0 && nr > 0 {
            let rs = x.row_stride();
            // SAFETY: (r0, j0) is inside x (nr > 0 rows from r0, columns j0..j1).
            let src = unsafe { x.ptr_at(r0, j0) };
            // Only formed (wrapping) and prefetched, never dereferenced: they may lie
            // past the end of x.
            let ahead = ahead.map(|(r, c)| {
                src.wrapping_offset((r as isize - r0 as isize) * rs + (c as isize - j0 as isize))
            });
            // SAFETY: rows r0..r0+nr, columns j0..j1 are inside x (row stride > 0,
            // unit column stride); xt holds at least j1-j0 lane arrays of R >= nr
            // elements, laid out contiguously ([T; R] has no padding), and is a
            // separate allocation from x.
            let done = unsafe {
                super::transpose_x86::transpose(
                    src,
                    rs as usize,
                    xt.as_mut_ptr().cast::<T>(),
                    R,
                    nr,
                    j1 - j0,
                    &ahead,
                )
            };
            if done {
                return;
            }
        }
        for r in 0..nr {
            let row = x.row_slice(r0 + r).unwrap_or(&[]);
            for (jj, &v) in row[j0..j1].iter().enumerate() {
                xt[jj][r] = v;
            }
        }
    } else if x.row_stride() == 1 && nr == R {
        for (jj, lanes) in xt[..j1 - j0].iter_mut().enumerate() {
            // SAFETY: rows r0..r0+R and column j0+jj are inside x; rows are contiguous.
            let col = unsafe { std::slice::from_raw_parts(x.ptr_at(r0, j0 + jj), R) };
            lanes.copy_from_slice(col);
        }
    } else {
        for (jj, lanes) in xt[..j1 - j0].iter_mut().enumerate() {
            for (r, lane) in lanes[..nr].iter_mut().enumerate() {
                *lane = x.get(r0 + r, j0 + jj);
            }
        }
    }
}

/// Least input (bytes of X) per output part of the scatter kernel. Measured on
/// CountSketch `S·A` (A 200000 × 100, 2000 output rows, two threads, Intel Xeon VM,
/// a fresh operator per call after a 0.1 s idle pause, medians of 15): float64 (80 MB
/// a part) 20.3 ms with two parts against 23.5 ms with one (prebuilt operator 14.0
/// against 21.4); float32 (40 MB a part) 16.0 against 13.1 ms. Back to back both
/// gain (float32 7.5 against 9.8 ms), but a call after an idle pause waits for the
/// second worker to wake (2.7 ms on that VM, `pool_wake`).
const PART_MIN_BYTES: usize = 64 << 20;

/// Override of [`PART_MIN_BYTES`] (0: none), set by the test hook
/// `sketch::hooks::set_part_min_bytes` so that small inputs exercise the parts.
pub(crate) static PART_MIN_OVERRIDE: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

fn part_min_bytes() -> usize {
    match PART_MIN_OVERRIDE.load(Ordering::Relaxed) {
        0 => PART_MIN_BYTES,
        v => v,
    }
}

/// Largest strip (rows of X) of the scatter kernel.
const STRIP: usize = 256;
/// Narrowest strip the scatter kernel splits rows into for more parallelism.
const MIN_STRIP: usize = 64;

fn scatter<T: Real>(m: &SparseMat, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
    let n = x.rows();
    let out = out.into_shared();
    let scale = T::from_f64(m.scale);
    // Strip boundaries never change any output bit (each element is summed on its
    // own), so they may follow the pool size: one balanced strip per thread when
    // there are few rows, at most STRIP rows otherwise. Every strip walks all of S's
    // index lists and shares output cache lines with its neighbour at the boundary,
    // so strips narrower than MIN_STRIP lanes cost more than they save.
    let threads = rayon::current_num_threads().max(1);
    let strips = n.div_ceil(STRIP).max(threads.min(n / MIN_STRIP)).max(1);
    let width = n.div_ceil(strips).next_multiple_of(8).min(n);
    let strips = n.div_ceil(width);
    // Fewer strips than threads (e.g. `S·A` for a narrow `A`): split each strip's
    // output columns (rows of M) into parts too, when M's columns hold at most one
    // entry on average (CountSketch). A task then reads only the columns of X with
    // an entry in its part: each column about once in all, so the parts share the
    // work without adding reads. Bits are unchanged: each output element is still
    // summed by one task, in ascending `j`, from zero. A part reads its columns of X
    // scattered (about 2/3 of the time of reading all of them in order, on the Intel
    // VM), and a pool worker idle for a while starts a few ms late, so parts pay only
    // on large inputs (PART_MIN_BYTES).
    let parts = threads.div_ceil(strips);
    let x_bytes = n
        .saturating_mul(m.cols)
        .saturating_mul(std::mem::size_of::<T>());
    let parts = if parts > 1
        && m.csc.ent.len() <= m.cols
        && m.rows >= 2 * parts
        && x_bytes / parts >= part_min_bytes()
    {
        parts
    } else {
        1
    };
    let finite = AtomicBool::new(true);
    (0..strips * parts).into_par_iter().for_each(|t| {
        let (s, q) = (t / parts, t % parts);
        let r0 = s * width;
        let r1 = (r0 + width).min(n);
        let (c0, c1) = (q * m.rows / parts, (q + 1) * m.rows / parts);
        // SAFETY: task `t` owns output rows r0..r1 and columns c0..c1; tasks are
        // disjoint (strips split the rows, parts the columns).
        let o = unsafe { out.part(r0, r1, c0, c1) };
        let ok = if parts == 1 {
            crate::dispatch!(scatter_strip(m, x, r0, r1, &o, scale))
        } else {
            crate::dispatch!(scatter_part(m, x, r0, r1, c0, q == 0, &o, scale))
        };
        if !ok {
            finite.store(false, Ordering::Relaxed);
        }
    });
    check(&finite)
}

/// How many columns of X ahead the scatter kernel asks for the output columns they
/// add into (into L1). Measured on a CountSketch `S·A` (`A` 200000 × 100 doubles,
/// 2000 output rows: 1.6 MB, beyond L2), one thread: none 9.9 ms, 2 to 4 ahead
/// 9.2–9.4 ms, 8 ahead 9.6 ms, 16 ahead 10.3 ms.
const SCATTER_AHEAD: usize = 4;

/// How many columns of X ahead the scatter kernel asks for the column it will read
/// (into L2; the output columns of [`SCATTER_AHEAD`] go to L1), on top of the
/// hardware's own prefetching. Measured on the same CountSketch `S·A` (Intel Xeon,
/// AVX-512 VM, one thread, medians of three runs): none 20.3 ms, 2 to 6 ahead into
/// L1 18.4–18.6 ms; the AVX2 path 22.7 → 19.4 ms; float32 12.8 → 9.7 ms; two
/// threads 21.0 → 18.5 ms. Later (`rp_timing … countsketch`, one thread, medians of
/// 15 runs, two rounds): 4 ahead into L1 16.4–16.6 ms, 4, 8 or 16 ahead into L2
/// 15.5–15.7 ms (AVX2 path 16.5 → 15.3–15.6, float32 7.9–8.2 → 7.2–7.4): an L1
/// prefetch holds one of the core's few line-fill buffers until its line arrives,
/// and the output's prefetches need them more.
const SCATTER_X_AHEAD: usize = 8;

#[inline(always)]
fn scatter_strip<T: Real>(
    m: &SparseMat,
    x: MatRef<'_, T>,
    r0: usize,
    r1: usize,
    o: &MatMut<'_, T>,
    scale: T,
) -> bool {
    let len = r1 - r0;
    let mut finite = crate::finite::FiniteAcc::new();
    let fma = has_fma();
    let col_mut = |i: usize| -> &mut [T] {
        // SAFETY: out has unit row stride (checked by apply_rows), so column i of this
        // strip is `len` contiguous elements owned by this task; each call's slice is
        // dropped before the next one is made.
        unsafe { std::slice::from_raw_parts_mut(o.ptr_at(0, i), len) }
    };
    for i in 0..m.rows {
        col_mut(i).fill(T::ZERO);
    }
    for j in 0..m.cols {
        if j + SCATTER_AHEAD < m.cols {
            for &e in m.csc.list(j + SCATTER_AHEAD) {
                // SAFETY: an entry's index is a row of M, below o.cols(), and row 0 is
                // inside the strip (len >= 1); the lines are only prefetched.
                let p = unsafe { o.ptr_at(0, (e & ENTRY_INDEX) as usize) };
                prefetch_span::<PREFETCH_L1, T>(p, len);
            }
        }
        if j + SCATTER_X_AHEAD < m.cols {
            // SAFETY: column j + SCATTER_X_AHEAD of x exists (checked) and rows
            // r0..r1 of it are inside x; the lines are only prefetched.
            let p = unsafe { x.ptr_at(r0, j + SCATTER_X_AHEAD) };
            prefetch_span::<PREFETCH_L2, T>(p, len);
        }
        // SAFETY: x has unit row stride; rows r0..r1 of column j are contiguous.
        let xc = unsafe { std::slice::from_raw_parts(x.ptr_at(r0, j), len) };
        let list = m.csc.list(j);
        if list.is_empty() {
            finite.add(xc);
        }
        for &e in list {
            add_signed(col_mut((e & ENTRY_INDEX) as usize), xc, e, fma);
        }
    }
    finish_strip(m, x, r0, r1, o, scale, finite)
}

/// Scales the sums of a scatter task (`o`, rows `r0..r1` of X) and tells whether its
/// input was finite. `checked` covers the columns of X that no sum reads; a NaN or
/// infinity in any other column makes a sum non-finite, so the sums are checked
/// instead of every value of X, and non-finite sums of finite values (an overflow)
/// send the task's rows of X through an exact check.
#[inline(always)]
fn finish_strip<T: Real>(
    m: &SparseMat,
    x: MatRef<'_, T>,
    r0: usize,
    r1: usize,
    o: &MatMut<'_, T>,
    scale: T,
    checked: crate::finite::FiniteAcc<T>,
) -> bool {
    let len = r1 - r0;
    let mut sums = crate::finite::FiniteAcc::new();
    for i in 0..o.cols() {
        // SAFETY: out has unit row stride, so column i of this task's output is `len`
        // contiguous elements owned by this task.
        let c = unsafe { std::slice::from_raw_parts_mut(o.ptr_at(0, i), len) };
        for a in c.iter_mut() {
            *a = scale * *a;
        }
        sums.add(c);
    }
    checked.finite()
        && (sums.finite()
            || (0..m.cols).all(|j| {
                // SAFETY: x has unit row stride; rows r0..r1 of column j are contiguous.
                let xc = unsafe { std::slice::from_raw_parts(x.ptr_at(r0, j), len) };
                crate::finite::slice_finite(xc)
            }))
}

/// [`scatter_strip`] for the output columns `c0..c0 + o.cols()` only (`o` is that
/// part): the columns of X with no entry there are skipped, and a ring of the next
/// [`SCATTER_X_AHEAD`] columns that have one carries the prefetches (a column's
/// lines of X when it is queued, its output columns [`SCATTER_AHEAD`] columns before
/// it is summed). The part with `empties` also checks the columns of X with no entry
/// at all, which no part reads; every other column is checked through the sums of
/// the part its entries are in, so that non-finite input is refused wherever it is.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scatter_part<T: Real>(
    m: &SparseMat,
    x: MatRef<'_, T>,
    r0: usize,
    r1: usize,
    c0: usize,
    empties: bool,
    o: &MatMut<'_, T>,
    scale: T,
) -> bool {
    const RING: usize = (SCATTER_X_AHEAD + 1).next_power_of_two();
    const { assert!(SCATTER_AHEAD <= SCATTER_X_AHEAD) };
    let len = r1 - r0;
    let width = o.cols();
    let mut finite = crate::finite::FiniteAcc::new();
    let fma = has_fma();
    let col_mut = |i: usize| -> &mut [T] {
        // SAFETY: out has unit row stride (checked by apply_rows), so column i of this
        // part is `len` contiguous elements owned by this task; each call's slice is
        // dropped before the next one is made.
        unsafe { std::slice::from_raw_parts_mut(o.ptr_at(0, i), len) }
    };
    // The part's column of an entry, if the entry lies in the part.
    let local = |e: u32| ((e & ENTRY_INDEX) as usize).wrapping_sub(c0);
    let prefetch_outputs = |j: usize| {
        for &e in m.csc.list(j) {
            let i = local(e);
            if i < width {
                // SAFETY: i is a column of this part and row 0 is inside it
                // (len >= 1); the lines are only prefetched.
                prefetch_span::<PREFETCH_L1, T>(unsafe { o.ptr_at(0, i) }, len);
            }
        }
    };
    for i in 0..width {
        col_mut(i).fill(T::ZERO);
    }
    let mut ring = [0usize; RING];
    let (mut head, mut tail, mut next) = (0usize, 0usize, 0usize);
    loop {
        // Queue the next columns this part reads (up to SCATTER_X_AHEAD before the
        // one summed), prefetching each one's lines of X as it is queued.
        while tail - head <= SCATTER_X_AHEAD && next < m.cols {
            let j = next;
            next += 1;
            let list = m.csc.list(j);
            let reads = (empties && list.is_empty()) || list.iter().any(|&e| local(e) < width);
            if reads {
                if tail - head < SCATTER_AHEAD {
                    // queued behind the ring's prefetch point (below): ask now
                    prefetch_outputs(j);
                }
                // SAFETY: column j of x exists and rows r0..r1 of it are inside x;
                // the lines are only prefetched.
                prefetch_span::<PREFETCH_L2, T>(unsafe { x.ptr_at(r0, j) }, len);
                ring[tail % RING] = j;
                tail += 1;
            }
        }
        if head == tail {
            break;
        }
        let j = ring[head % RING];
        head += 1;
        if head + SCATTER_AHEAD <= tail {
            // the column summed SCATTER_AHEAD columns after this one
            prefetch_outputs(ring[(head + SCATTER_AHEAD - 1) % RING]);
        }
        // SAFETY: x has unit row stride; rows r0..r1 of column j are contiguous.
        let xc = unsafe { std::slice::from_raw_parts(x.ptr_at(r0, j), len) };
        let list = m.csc.list(j);
        if list.is_empty() {
            finite.add(xc);
        }
        for &e in list {
            let i = local(e);
            if i < width {
                add_signed(col_mut(i), xc, e, fma);
            }
        }
    }
    finish_strip(m, x, r0, r1, o, scale, finite)
}
