//! In-place fast Walsh–Hadamard transform (natural, i.e. Sylvester/Hadamard, order).
//!
//! `H_1 = [1]`, `H_{2n} = [[H_n, H_n], [H_n, −H_n]]`; the unnormalized transform maps
//! `x ↦ H_n x` (so `H(Hx) = n·x`), the orthonormal one `x ↦ H_n x / √n`.
//!
//! The transform is `log2 n` levels of butterflies `(a, b) ↦ (a + b, a − b)` between
//! elements at distance `h = 1, 2, 4, …, n/2`. Every code path here — scalar,
//! AVX2, AVX-512, cache-blocked, batched along rows or along columns — applies the
//! levels in that ascending order, each butterfly with the same two IEEE operations,
//! so all of them give identical bits.
//!
//! Structure:
//! * at the AVX2 and AVX-512 levels a contiguous vector goes to the kernels of
//!   `fwht_x86` (in-register low levels fused with the first cross-register levels,
//!   radix-8/16 passes, recursive cache blocking; see that module);
//! * the portable path runs the levels below 16 on groups of 16 ([`low16`]), then
//!   radix-8/4/2 passes on contiguous vectors; lengths above [`BLOCK`] are split as
//!   `R × C` with `C = BLOCK`: each contiguous row of `C` is transformed in cache,
//!   then the `R`-point transform runs down the columns in strips of [`STRIP`] lanes;
//! * batches run in parallel on the crate's pool: rows of a C-order matrix, or the
//!   columns of one (axis 0) with the lanes across columns — no transposition.

use crate::error::{Result, SketchError};
use crate::view::MatMut;
use crate::Real;
use rayon::prelude::*;

/// Longest vector transformed in place in one piece (elements; L2-resident). Longer
/// ones are split into rows of this length plus a column pass.
pub const BLOCK: usize = 1 << 15;
/// Most elements transformed on the calling thread without the pool.
const SMALL: usize = 1 << 15;
/// Lanes per strip of the column (strided) transform.
const STRIP: usize = 64;
/// Largest supported length, 2^30.
pub const MAX_LEN: usize = 1 << 30;

/// Checks that `n` is a power of two in `[1, 2^30]`.
pub fn check_len(n: usize, arg: &'static str) -> Result<()> {
    if n == 0 || !n.is_power_of_two() || n > MAX_LEN {
        return Err(SketchError::arg(
            arg,
            format!(
                "the transform length must be a power of two in [1, 2^30], got {n} \
                 (for other lengths, zero-pad or use the srht family, which pads)"
            ),
        ));
    }
    Ok(())
}

/// In-place unnormalized FWHT of a contiguous vector whose length is a power of two.
/// NaN or infinity is an error raised before anything is written
/// ([`check_finite_input`]).
///
/// ```
/// let mut x = [1.0f64, 0.0, 0.0, 0.0];
/// sketchkit::fwht::fwht(&mut x).unwrap();
/// assert_eq!(x, [1.0, 1.0, 1.0, 1.0]);
/// ```
pub fn fwht<T: Real>(x: &mut [T]) -> Result<()> {
    transform_vec(x, false, true)
}

/// In-place transform of one contiguous vector: `H x`, or `H x / √n` when
/// `normalized`.
///
/// With `check_finite` (SciPy's name; [`fwht`] and [`fwht_normalized`] always check)
/// NaN or infinity in `x` is an error raised before anything is written
/// ([`check_finite_input`]). For float32 and float64 vectors of 2–8 KiB
/// ([`FUSED_CHECK_MAX`]) on the AVX2 and AVX-512 levels the check is fused into the
/// transform's own passes, which then run through a scratch on the stack so that `x`
/// is read once and written only after the check has passed; vectors of 32–512 KiB
/// ([`FUSED_LARGE_MAX`]; from 64 KiB of float32 on the AVX2 level) run the same way
/// through a scratch the calling thread keeps for its next call (at most 516 KiB).
/// Other lengths take one extra read of `x` (for longer vectors a pass over memory
/// of its own). Without
/// the check, non-finite input gives non-finite output (NaN and infinity propagate
/// through the additions) and no error.
pub fn transform_vec<T: Real>(x: &mut [T], normalized: bool, check_finite: bool) -> Result<()> {
    check_len(x.len(), "x")?;
    if check_finite {
        match checked_in_one_read(x) {
            Fused::Done => {}
            Fused::NonFinite => return Err(SketchError::NonFinite { arg: "x" }),
            Fused::Unavailable => {
                if !crate::finite::slice_all_finite(x) {
                    return Err(SketchError::NonFinite { arg: "x" });
                }
                crate::dispatch!(transform(x));
            }
        }
    } else {
        crate::dispatch!(transform(x));
    }
    if normalized {
        let s = T::from_f64(1.0 / (x.len() as f64).sqrt());
        for v in x.iter_mut() {
            *v = *v * s;
        }
    }
    Ok(())
}

/// Longest vector, in bytes, whose finite check [`transform_vec`] fuses into the
/// transform (2^11 float32 or 2^10 float64 values); from [`FUSED_CHECK_MIN`] bytes.
///
/// Fusing runs the transform's passes through a scratch on the stack, so that `x`
/// is read once and written by the last pass only (see `fwht_x86::transform_checked`),
/// instead of a separate check that reads `x` first. That pays while `x` and the
/// scratch share L1 (up to a quarter of a 32 KiB L1): measured with the
/// `fwht_timing` example's `cold` protocol (fresh float32 data, one call per
/// vector), AVX-512 and AVX2, 2^9–2^11 elements took 15–20% less time than check
/// then transform. From 2^12 on the scratch's extra cache traffic (its lines, and
/// `x`'s lines owned again by the last pass) cost as much as the check's sequential
/// read or more (2^12–2^13: 2–10% slower; 2^17: level); at 2^19–2^20 fusing was
/// 7–15% faster in that example but not reliably so on NumPy's huge-page arrays.
pub const FUSED_CHECK_MAX: usize = 8 << 10;
/// See [`FUSED_CHECK_MAX`].
pub const FUSED_CHECK_MIN: usize = 2 << 10;

/// Outcome of [`checked_in_one_read`].
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Fused {
    /// `x` was finite and now holds its transform.
    Done,
    /// `x` holds NaN or infinity and is unchanged.
    NonFinite,
    /// Nothing was done: no fused kernel for this SIMD level, type or length; the
    /// caller checks, then transforms.
    Unavailable,
}

/// A cache-line-aligned unit of the scratch.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// The checked transform of `x` reading it once, for vectors of
/// [`FUSED_CHECK_MIN`]..=[`FUSED_CHECK_MAX`] bytes: the kernel's passes run through
/// a scratch and the last one writes `x` only after the partial result has shown the
/// input finite (see `fwht_x86::transform_checked`).
fn checked_in_one_read<T: Real>(x: &mut [T]) -> Fused {
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        let bytes = std::mem::size_of_val(x);
        let float =
            TypeId::of::<T>() == TypeId::of::<f32>() || TypeId::of::<T>() == TypeId::of::<f64>();
        if float && (FUSED_LARGE_MIN..=FUSED_LARGE_MAX).contains(&bytes) {
            return checked_through_thread_scratch(x);
        }
        if !float || !(FUSED_CHECK_MIN..=FUSED_CHECK_MAX).contains(&bytes) {
            return Fused::Unavailable;
        }
        // One page more than the longest `x`, so that the scratch can start half a
        // page from `x` modulo 4 KiB: a load whose address matches an earlier, still
        // pending store's in its low 12 bits waits for it (4K aliasing), and the
        // passes from `x` into the scratch and back would hit that on every load if
        // the two shared their page offset. Left uninitialized: the kernel writes
        // every scratch element before it reads it.
        let mut buf = std::mem::MaybeUninit::<[Line; (FUSED_CHECK_MAX + 4096) / 64]>::uninit();
        // SAFETY: `buf` is this frame's own stack memory (outside `x`, used by
        // nothing else) of `FUSED_CHECK_MAX + 4096 >= bytes + 4096` bytes.
        unsafe { fused_through(x, buf.as_mut_ptr().cast::<u8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = x;
        Fused::Unavailable
    }
}

/// Shortest vector, in bytes, whose finite check [`transform_vec`] fuses through a
/// scratch of the calling thread's (kept for its next call): `2^13`
/// float32 or `2^12` float64 values, above the in-cache length of the AVX-512
/// kernels and of the AVX2 float64 one, where the transform splits into sub-blocks
/// and a top pass (the AVX2 float32 kernel transforms `2^13` in one piece, so there
/// the fused range starts at `2^14`).
pub const FUSED_LARGE_MIN: usize = 32 << 10;
/// Longest such vector (`2^17` float32 values; the scratch a thread keeps). Measured
/// with `fwht_timing cold avx512` (huge pages, `FWHT_CHECK=fused`, three rounds)
/// against check-then-transform: `2^13` 2.9–3.1 → 2.4–2.6 µs, `2^14` 6.3–6.4 →
/// 5.9–6.1, `2^15` 13.7–13.9 → 12.7–13.1, `2^16` 29.9–30.4 → 27.1–27.3, `2^17`
/// 62.6–63.7 → 55.0–57.4 µs; `2^18` level (137–150 µs either way) and `2^20` slower
/// (790–826 against 644–645 µs: the 4 MiB scratch no longer fits L2). On the AVX2
/// path (whose leaf is `2^13`, so its range starts at `2^14`) `2^14` 7.4–7.7 → 7.2
/// µs and `2^16` about level (31–34 µs).
pub const FUSED_LARGE_MAX: usize = 512 << 10;

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// Per-thread scratch of [`checked_through_thread_scratch`], kept between calls.
    static SCRATCH: std::cell::RefCell<Vec<Line>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`checked_in_one_read`] for vectors of [`FUSED_LARGE_MIN`]..=[`FUSED_LARGE_MAX`]
/// bytes: the sub-blocks of the transform's split go from `x` into a scratch of the
/// calling thread's (kept for its next call), their sums are probed, and the top
/// pass writes `x` (see `fwht_x86::transform_checked`).
#[cfg(target_arch = "x86_64")]
fn checked_through_thread_scratch<T: Real>(x: &mut [T]) -> Fused {
    let bytes = std::mem::size_of_val(x);
    if !crate::fwht_x86::splits_checked::<T>(x.len()) {
        // no fused kernel at this level and length: keep no scratch for it
        return Fused::Unavailable;
    }
    SCRATCH.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return Fused::Unavailable;
        };
        // half a page of slack, as for the stack scratch (4K aliasing)
        let lines = bytes.div_ceil(64) + 4096 / 64;
        if buf.len() < lines {
            let more = lines - buf.len();
            if buf.try_reserve_exact(more).is_err() {
                return Fused::Unavailable;
            }
            buf.resize(lines, Line([0; 64]));
        }
        // SAFETY: the buffer is this thread's own memory, borrowed exclusively here
        // (outside `x`), of `lines * 64 = bytes.div_ceil(64) * 64 + 4096` bytes.
        unsafe { fused_through(x, buf.as_mut_ptr().cast::<u8>()) }
    })
}

/// The fused checked transform of `x` ([`fwht_x86::transform_checked`]) with its
/// scratch in the memory at `base`, placed half a page from `x` modulo 4 KiB (4K
/// aliasing: see [`checked_in_one_read`]).
///
/// # Safety
/// `base` is 64-byte aligned and valid for reads and writes of
/// `size_of_val(x) + 4096` bytes that lie outside `x` and that nothing else uses
/// meanwhile.
#[cfg(target_arch = "x86_64")]
unsafe fn fused_through<T: Real>(x: &mut [T], base: *mut u8) -> Fused {
    let skip = ((x.as_ptr() as usize + 2048).wrapping_sub(base as usize) % 4096) & !63;
    let scratch = base.wrapping_add(skip).cast::<T>();
    // SAFETY: `skip < 4096`, so the scratch's `x.len()` elements lie inside the
    // caller's memory (this function's contract), 64-byte aligned: more than T needs.
    match unsafe { crate::fwht_x86::transform_checked(x, scratch) } {
        crate::fwht_x86::Checked::Done => Fused::Done,
        crate::fwht_x86::Checked::NonFinite => Fused::NonFinite,
        crate::fwht_x86::Checked::Unsupported => Fused::Unavailable,
    }
}

/// The rule of every in-place transform (on every backend): NaN or infinity in the
/// input is an error raised before anything is overwritten, so a failed call leaves
/// the caller's data as it was.
pub fn check_finite_input<T: Real>(x: crate::view::MatRef<'_, T>) -> Result<()> {
    if crate::finite::all_finite(x) {
        Ok(())
    } else {
        Err(SketchError::NonFinite { arg: "x" })
    }
}

/// In-place orthonormal FWHT (`H x / √n`).
pub fn fwht_normalized<T: Real>(x: &mut [T]) -> Result<()> {
    transform_vec(x, true, true)
}

/// Transforms every row of `x` (rows of length `x.cols()`, a power of two), in
/// parallel. Rows need not be contiguous: with unit row stride the lanes run across
/// rows (column kernel); otherwise each row is transformed in place or through a
/// scratch copy.
///
/// NaN or infinity is an error raised before anything is written
/// ([`check_finite_input`]).
pub fn fwht_rows<T: Real>(x: MatMut<'_, T>, normalized: bool) -> Result<()> {
    transform_rows(x, normalized, true)
}

/// [`fwht_rows`] with the finite check optional (see [`transform_vec`] for what
/// `check_finite` means and costs).
pub fn transform_rows<T: Real>(
    x: MatMut<'_, T>,
    normalized: bool,
    check_finite: bool,
) -> Result<()> {
    check_len(x.cols(), "x")?;
    if check_finite {
        check_finite_input(x.as_ref())?;
    }
    fwht_rows_finite(x, normalized)
}

/// [`fwht_rows`] for input already known to be finite (the part a backend runs
/// after [`crate::Backend::fwht_rows`] has checked it).
pub(crate) fn fwht_rows_finite<T: Real>(mut x: MatMut<'_, T>, normalized: bool) -> Result<()> {
    let (rows, n) = (x.rows(), x.cols());
    check_len(n, "x")?;
    if rows == 0 {
        return Ok(());
    }
    let scale = T::from_f64(if normalized {
        1.0 / (n as f64).sqrt()
    } else {
        1.0
    });
    let (rs, cs) = (x.row_stride(), x.col_stride());
    if cs == 1 && (rows == 1 || rows * n <= SMALL) {
        // One vector, or a small batch: not worth waking the pool (a hand-off
        // costs microseconds); a single vector has no row parallelism anyway.
        for r in 0..rows {
            // SAFETY: row r of the view with unit column stride is contiguous and
            // exclusively ours; the reborrowed row view ends with this iteration.
            let row = unsafe { x.row_mut(r) };
            transform_slice(row);
            scale_slice(row, scale, normalized);
        }
        return Ok(());
    }
    let x = x.into_shared();
    crate::parallel::install(|| {
        if cs == 1 || n == 1 {
            (0..rows)
                .into_par_iter()
                .with_min_len(rows_per_task(n))
                .for_each(|r| {
                    // SAFETY: task r owns row r; with unit column stride it is contiguous.
                    let row = unsafe { x.part(r, r + 1, 0, n).into_row_slice() };
                    crate::dispatch!(transform(row));
                    scale_slice(row, scale, normalized);
                });
            Ok(())
        } else if rs == 1 {
            // Lanes across rows: transform "down the columns" of the transposed view.
            (0..rows.div_ceil(STRIP)).into_par_iter().for_each(|s| {
                let (r0, r1) = (s * STRIP, ((s + 1) * STRIP).min(rows));
                // SAFETY: strip s owns rows r0..r1.
                let part = unsafe { x.part(r0, r1, 0, n) };
                strided_lanes(part.t(), normalized.then_some(scale));
            });
            Ok(())
        } else {
            (0..rows).into_par_iter().try_for_each_init(
                || crate::error::try_vec(n, T::ZERO, "a row buffer"),
                |buf, r| -> Result<()> {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    // SAFETY: task r owns row r.
                    let mut row = unsafe { x.part(r, r + 1, 0, n) };
                    for (j, b) in buf.iter_mut().enumerate() {
                        // SAFETY: (0, j) is inside this row.
                        *b = unsafe { *row.ptr_at(0, j) };
                    }
                    crate::dispatch!(transform(buf));
                    scale_slice(buf, scale, normalized);
                    for (j, b) in buf.iter().enumerate() {
                        // SAFETY: as above.
                        unsafe { *row.ptr_at(0, j) = *b };
                    }
                    let _ = row.rb();
                    Ok(())
                },
            )
        }
    })?
}

/// Transforms every column of `x` (columns of length `x.rows()`, a power of two):
/// the batch along axis 0, with SIMD lanes across columns and no transposition.
pub fn fwht_cols<T: Real>(x: MatMut<'_, T>, normalized: bool) -> Result<()> {
    transform_rows(x.t(), normalized, true)
}

/// [`fwht_cols`] with the finite check optional (see [`transform_vec`]).
pub fn transform_cols<T: Real>(
    x: MatMut<'_, T>,
    normalized: bool,
    check_finite: bool,
) -> Result<()> {
    transform_rows(x.t(), normalized, check_finite)
}

/// Unnormalized in-place transform of a contiguous power-of-two vector, dispatched to
/// the best SIMD level (for operators built on the FWHT).
#[inline]
pub(crate) fn transform_slice<T: Real>(x: &mut [T]) {
    crate::dispatch!(transform(x));
}

/// Unnormalized in-place transform of each of the `lanes` interleaved vectors in the
/// contiguous `n × lanes` buffer `buf` (element `(r, l)` at `r·lanes + l`).
#[inline]
pub(crate) fn transform_lanes<T: Real>(buf: &mut [T], n: usize, lanes: usize) {
    assert!(buf.len() >= n * lanes);
    if n == 0 || lanes == 0 {
        return;
    }
    let p = buf.as_mut_ptr();
    // SAFETY: `buf` is an exclusive slice of at least n·lanes elements: rows of
    // `lanes` elements, `lanes` apart, never overlapping.
    crate::dispatch!(unsafe { column_levels(p, n, lanes, lanes) });
}

fn rows_per_task(n: usize) -> usize {
    (4096 / n).max(1)
}

#[inline(always)]
fn scale_slice<T: Real>(x: &mut [T], s: T, on: bool) {
    if on {
        for v in x.iter_mut() {
            *v = *v * s;
        }
    }
}

/// The transform of one contiguous vector (length a power of two).
#[inline(always)]
fn transform<T: Real>(x: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if crate::fwht_x86::transform(x) {
        return;
    }
    let n = x.len();
    if n <= BLOCK {
        small(x);
        return;
    }
    for row in x.chunks_exact_mut(BLOCK) {
        small(row);
    }
    // R-point transform down the columns of the R × BLOCK matrix, in strips of lanes.
    // Rows BLOCK apart (a power-of-two stride) would pile into the same cache sets,
    // so each strip is copied to a contiguous buffer, transformed, and copied back.
    let rows = n / BLOCK;
    let mut buf = vec![T::ZERO; rows * STRIP];
    for c0 in (0..BLOCK).step_by(STRIP) {
        for (r, dst) in buf.chunks_exact_mut(STRIP).enumerate() {
            dst.copy_from_slice(&x[r * BLOCK + c0..r * BLOCK + c0 + STRIP]);
        }
        // SAFETY: `buf` is an exclusive slice of rows × STRIP elements, rows STRIP
        // apart.
        unsafe { column_levels(buf.as_mut_ptr(), rows, STRIP, STRIP) };
        for (r, src) in buf.chunks_exact(STRIP).enumerate() {
            x[r * BLOCK + c0..r * BLOCK + c0 + STRIP].copy_from_slice(src);
        }
    }
}

/// All levels of a vector that fits in L1.
#[inline(always)]
fn small<T: Real>(x: &mut [T]) {
    let n = x.len();
    if n < 16 {
        scalar_levels(x, 1);
        return;
    }
    for c in x.chunks_exact_mut(16) {
        low16(c);
    }
    let mut h = 16;
    while h < n {
        if 4 * h < n {
            radix8(x, h);
            h *= 8;
        } else if 2 * h < n {
            radix4(x, h);
            h *= 4;
        } else {
            radix2(x, h);
            h *= 2;
        }
    }
}

/// Levels `h`, `2h` and `4h` in one pass (same operations, same order as three
/// passes): eight vectors `h` apart stay in registers.
#[inline(always)]
fn radix8<T: Real>(x: &mut [T], h: usize) {
    for blk in x.chunks_exact_mut(8 * h) {
        let (s0, r) = blk.split_at_mut(h);
        let (s1, r) = r.split_at_mut(h);
        let (s2, r) = r.split_at_mut(h);
        let (s3, r) = r.split_at_mut(h);
        let (s4, r) = r.split_at_mut(h);
        let (s5, r) = r.split_at_mut(h);
        let (s6, s7) = r.split_at_mut(h);
        lanes8([s0, s1, s2, s3, s4, s5, s6, s7]);
    }
}

/// Levels `h0, 2·h0, …, n/2` one by one (tiny vectors and the portable path).
#[inline(always)]
fn scalar_levels<T: Real>(x: &mut [T], h0: usize) {
    let n = x.len();
    let mut h = h0;
    while h < n {
        radix2(x, h);
        h *= 2;
    }
}

/// One level `h` on a contiguous vector.
#[inline(always)]
fn radix2<T: Real>(x: &mut [T], h: usize) {
    for blk in x.chunks_exact_mut(2 * h) {
        let (a, b) = blk.split_at_mut(h);
        lanes2(a, b);
    }
}

/// Levels `h` and `2h` in one pass (same operations, same order as two passes).
#[inline(always)]
fn radix4<T: Real>(x: &mut [T], h: usize) {
    for blk in x.chunks_exact_mut(4 * h) {
        let (ab, cd) = blk.split_at_mut(2 * h);
        let (a, b) = ab.split_at_mut(h);
        let (c, d) = cd.split_at_mut(h);
        lanes4(a, b, c, d);
    }
}

/// Levels 1, 2, 4, 8 on a group of 16 contiguous elements.
#[inline(always)]
fn low16<T: Real>(c: &mut [T]) {
    scalar_levels(&mut c[..16], 1);
}

/// The `rows`-point transform down `w` lanes: lane `l` of row `r` is at
/// `x + r·stride + l` (levels in ascending order, two per pass).
///
/// # Safety
/// `x` must be valid for reads and writes of those `rows × w` elements, with
/// `w <= stride` (rows never overlap), and nothing else may access them meanwhile.
#[inline(always)]
unsafe fn column_levels<T: Real>(x: *mut T, rows: usize, stride: usize, w: usize) {
    let row = |r: usize| std::slice::from_raw_parts_mut(x.add(r * stride), w);
    let mut h = 1;
    while h < rows {
        if 4 * h < rows {
            for base in (0..rows).step_by(8 * h) {
                for j in base..base + h {
                    lanes8([
                        row(j),
                        row(j + h),
                        row(j + 2 * h),
                        row(j + 3 * h),
                        row(j + 4 * h),
                        row(j + 5 * h),
                        row(j + 6 * h),
                        row(j + 7 * h),
                    ]);
                }
            }
            h *= 8;
        } else if 2 * h < rows {
            for base in (0..rows).step_by(4 * h) {
                for j in base..base + h {
                    lanes4(row(j), row(j + h), row(j + 2 * h), row(j + 3 * h));
                }
            }
            h *= 4;
        } else {
            for base in (0..rows).step_by(2 * h) {
                for j in base..base + h {
                    lanes2(row(j), row(j + h));
                }
            }
            h *= 2;
        }
    }
}

/// Three levels across eight equally long slices (zipped iterators: no bounds
/// checks, so the loop vectorizes).
#[inline(always)]
fn lanes8<T: Real>(s: [&mut [T]; 8]) {
    let [s0, s1, s2, s3, s4, s5, s6, s7] = s;
    let it = s0
        .iter_mut()
        .zip(s1.iter_mut())
        .zip(s2.iter_mut())
        .zip(s3.iter_mut());
    let it = it
        .zip(s4.iter_mut())
        .zip(s5.iter_mut())
        .zip(s6.iter_mut())
        .zip(s7.iter_mut());
    for (((((((p0, p1), p2), p3), p4), p5), p6), p7) in it {
        let v = [*p0, *p1, *p2, *p3, *p4, *p5, *p6, *p7];
        let a = [
            v[0] + v[1],
            v[0] - v[1],
            v[2] + v[3],
            v[2] - v[3],
            v[4] + v[5],
            v[4] - v[5],
            v[6] + v[7],
            v[6] - v[7],
        ];
        let b = [
            a[0] + a[2],
            a[1] + a[3],
            a[0] - a[2],
            a[1] - a[3],
            a[4] + a[6],
            a[5] + a[7],
            a[4] - a[6],
            a[5] - a[7],
        ];
        *p0 = b[0] + b[4];
        *p1 = b[1] + b[5];
        *p2 = b[2] + b[6];
        *p3 = b[3] + b[7];
        *p4 = b[0] - b[4];
        *p5 = b[1] - b[5];
        *p6 = b[2] - b[6];
        *p7 = b[3] - b[7];
    }
}

#[inline(always)]
fn lanes2<T: Real>(a: &mut [T], b: &mut [T]) {
    for (p, q) in a.iter_mut().zip(b.iter_mut()) {
        let (u, v) = (*p, *q);
        *p = u + v;
        *q = u - v;
    }
}

#[inline(always)]
fn lanes4<T: Real>(a: &mut [T], b: &mut [T], c: &mut [T], d: &mut [T]) {
    for (((p, q), r), s) in a
        .iter_mut()
        .zip(b.iter_mut())
        .zip(c.iter_mut())
        .zip(d.iter_mut())
    {
        let (u0, u1) = (*p + *q, *p - *q);
        let (u2, u3) = (*r + *s, *r - *s);
        *p = u0 + u2;
        *q = u1 + u3;
        *r = u0 - u2;
        *s = u1 - u3;
    }
}

/// Transforms along the rows of `m` (length `m.rows()`), the lanes being its columns,
/// which must be contiguous (unit column stride).
fn strided_lanes<T: Real>(m: MatMut<'_, T>, scale: Option<T>) {
    let (n, lanes, stride) = (m.rows(), m.cols(), m.row_stride());
    debug_assert!(m.col_stride() == 1 || lanes == 1);
    if lanes == 0 {
        return;
    }
    let (base, stride) = if stride < 0 {
        // Walk the rows backwards in memory: the same rows, reversed addressing.
        // SAFETY: row n-1 is inside the view.
        (unsafe { m.ptr_at(n - 1, 0) }, 0usize)
    } else {
        // SAFETY: row 0 is inside the view.
        (unsafe { m.ptr_at(0, 0) }, stride as usize)
    };
    if stride == 0 && n > 1 {
        // Negative row strides: process row by row through the generic path.
        let mut m = m;
        for l in 0..lanes {
            let mut buf: Vec<T> = (0..n).map(|r| unsafe { *m.ptr_at(r, l) }).collect();
            crate::dispatch!(transform(&mut buf));
            for (r, v) in buf.iter().enumerate() {
                // SAFETY: (r, l) is inside the view, owned by this call.
                unsafe { *m.ptr_at(r, l) = scale.map_or(*v, |s| *v * s) };
            }
        }
        let _ = m.rb();
        return;
    }
    // SAFETY: the view owns rows 0..n of `lanes` contiguous elements, `stride` apart
    // with stride >= lanes (distinct rows never overlap in a valid view).
    crate::dispatch!(unsafe {
        column_levels(base, n, stride, lanes);
        if let Some(s) = scale {
            for r in 0..n {
                for v in std::slice::from_raw_parts_mut(base.add(r * stride), lanes) {
                    *v = *v * s;
                }
            }
        }
    });
}
