//! Dense families (Gaussian, Rademacher): entries generated block by block from the
//! counter stream and applied with a register-tiled GEMM.
//!
//! Column `j` of `S` (row `j` of `Sᵀ`) is generated from the stream `(seed, tag, j)`:
//! Gaussian entry `i` is value `i % 4` of block `i / 4` ([`gaussians4`]); Rademacher
//! entry `i` is bit `i % 32` of word `(i / 32) % 4` of block `i / 128` (bit set means
//! negative). Entries are scaled by `1/√k`.
//!
//! The GEMM computes every output element as one chain of fused multiply-adds in
//! ascending order of the summed index, starting from zero; tiling and threads never
//! change the order, so results are bit-identical for any thread count and any
//! split of the rows.

use crate::backend::DenseEntries;
use crate::error::{try_vec, Result};
use crate::rng::{gaussians4, tag, Stream};
use crate::view::{MatMut, MatRef, SharedMut};
use crate::Real;
use rayon::prelude::*;

/// Writes rows `j0..j1` of `Sᵀ` (each of length `k`, scaled) into `buf`, row-major.
pub(crate) fn st_block<T: Real>(
    kind: DenseEntries,
    seed: u64,
    k: usize,
    j0: usize,
    j1: usize,
    buf: &mut [T],
) {
    let scale = 1.0 / (k as f64).sqrt();
    buf[..(j1 - j0) * k]
        .par_chunks_mut(k.max(1))
        .enumerate()
        .for_each(|(jj, row)| column(kind, seed, (j0 + jj) as u64, scale, row));
}

/// Column `j` of `S` (length `row.len() = k`), scaled.
pub(crate) fn column<T: Real>(kind: DenseEntries, seed: u64, j: u64, scale: f64, row: &mut [T]) {
    match kind {
        DenseEntries::Gaussian => {
            for (b, chunk) in row.chunks_mut(4).enumerate() {
                let g = gaussians4(Stream::block_words(seed, tag::GAUSSIAN, j, b as u32));
                for (dst, v) in chunk.iter_mut().zip(g) {
                    *dst = T::from_f64(v * scale);
                }
            }
        }
        DenseEntries::Rademacher => {
            let pos = T::from_f64(scale);
            for (b, chunk) in row.chunks_mut(128).enumerate() {
                let w = Stream::block_words(seed, tag::RADEMACHER, j, b as u32);
                for (i, dst) in chunk.iter_mut().enumerate() {
                    let bit = (w[i / 32] >> (i % 32)) & 1;
                    *dst = if bit == 1 { -pos } else { pos };
                }
            }
        }
    }
}

/// Rows of A per parallel task in the GEMM.
const MC: usize = 64;

/// `c = a · b` (`accumulate` false) or `c += a · b` (true), with `a`: n×K, `b`: K×N,
/// `c`: n×N; each element a single FMA chain over `p = 0..K` starting from `+0`
/// (overwrite: `c`'s old values are never read, so a freshly allocated `c` is first
/// touched by the worker threads) or from `c`'s value.
/// Returns `Ok(false)` when `a` holds NaN or infinity (checked as it is read),
/// an error when the packing buffers cannot be allocated.
pub(crate) fn gemm<T: Real>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatMut<'_, T>,
    accumulate: bool,
) -> Result<bool> {
    gemm_then(a, b, c, accumulate, |_, _| {})
}

/// [`gemm`], then `epilogue(r0, rows)` on each finished block of rows `r0..` of `c`
/// while it is still in cache (a fused element-wise map after the product). The
/// blocks are fixed by the shape alone, so the result does not depend on the threads.
pub(crate) fn gemm_then<T: Real, F: Fn(usize, &mut MatMut<'_, T>) + Sync>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatMut<'_, T>,
    accumulate: bool,
    epilogue: F,
) -> Result<bool> {
    let n = a.rows();
    if n == 0 || b.cols() == 0 {
        return Ok(true);
    }
    match (crate::simd::level(), std::mem::size_of::<T>()) {
        (crate::simd::Level::Avx512, 4) => gemm_impl::<T, F, 12, 32>(a, b, c, accumulate, epilogue),
        (crate::simd::Level::Avx512, _) => gemm_impl::<T, F, 12, 16>(a, b, c, accumulate, epilogue),
        (_, 4) => gemm_impl::<T, F, 6, 16>(a, b, c, accumulate, epilogue),
        (_, _) => gemm_impl::<T, F, 6, 8>(a, b, c, accumulate, epilogue),
    }
}

fn gemm_impl<T: Real, F: Fn(usize, &mut MatMut<'_, T>) + Sync, const MR: usize, const NR: usize>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    c: MatMut<'_, T>,
    accumulate: bool,
    epilogue: F,
) -> Result<bool> {
    let (n, kk, nn) = (a.rows(), a.cols(), b.cols());
    let panels = nn.div_ceil(NR);
    // Pack B into panels of NR columns: bp[panel][p][0..NR], zero padded.
    let mut bp = try_vec(panels * kk * NR, T::ZERO, "packed operator panels")?;
    bp.par_chunks_mut((kk * NR).max(1))
        .enumerate()
        .for_each(|(pi, panel)| {
            let c0 = pi * NR;
            let w = NR.min(nn - c0);
            for p in 0..kk {
                for q in 0..w {
                    panel[p * NR + q] = b.get(p, c0 + q);
                }
            }
        });
    let c: SharedMut<'_, T> = c.into_shared();
    let finite = std::sync::atomic::AtomicBool::new(true);
    // Whole strips per task (at least MC rows).
    let mc = MC.div_ceil(MR) * MR;
    (0..n.div_ceil(mc)).into_par_iter().try_for_each_init(
        || try_vec(mc * KC.min(kk), T::ZERO, "a packed input strip"),
        |ap, t| -> Result<()> {
            let ap = ap.as_mut().map_err(|e| e.clone())?;
            let r0 = t * mc;
            let r1 = (r0 + mc).min(n);
            // SAFETY: task t owns rows r0..r1 of c; tasks are disjoint.
            let mut ct = unsafe { c.part(r0, r1, 0, nn) };
            if kk == 0 && !accumulate {
                ct.fill(T::ZERO); // an empty sum
            }
            let ok = crate::dispatch!({
                let ok = gemm_rows::<T, MR, NR>(a, r0, r1, &bp, ap, &mut ct, accumulate);
                epilogue(r0, &mut ct);
                ok
            });
            if !ok {
                finite.store(false, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        },
    )?;
    Ok(finite.load(std::sync::atomic::Ordering::Relaxed))
}

/// Depth of one pass of the micro-kernel: C tiles are loaded and stored once per
/// `KC` terms, so up to `K = 1024` (784-feature random maps) every tile is written
/// once. Measured against 256 and 512 (`rp_timing` rff and gaussian): 5–15 % faster.
const KC: usize = 1024;
/// Panels of B swept by every strip of A before the next group (`KC × 4·NR`
/// elements of B: 256 KiB for f32, an L2-resident block).
const NC_PANELS: usize = 4;

#[inline(always)]
fn gemm_rows<T: Real, const MR: usize, const NR: usize>(
    a: MatRef<'_, T>,
    r0: usize,
    r1: usize,
    bp: &[T],
    ap: &mut [T],
    c: &mut MatMut<'_, T>,
    accumulate: bool,
) -> bool {
    let kk = a.cols();
    let nn = c.cols();
    let strips = (r1 - r0).div_ceil(MR);
    // Full strips of a C-order `a` are read in place by the explicit kernels (no
    // packing); the portable kernel and partial strips read packed copies.
    let in_place = a.col_stride() == 1 && micro_has_kernel::<T, MR, NR>();
    let c_rows = c.col_stride() == 1;
    let mut finite = true;
    for k0 in (0..kk).step_by(KC) {
        let k1 = (k0 + KC).min(kk);
        let kc = k1 - k0;
        for s in 0..strips {
            let h = MR.min(r1 - r0 - s * MR);
            let dst = &mut ap[s * kc * MR..(s + 1) * kc * MR];
            if in_place && h == MR {
                // Read in place below: only the finite check here.
                for m in 0..MR {
                    let row = a.row_slice(r0 + s * MR + m).expect("unit column stride");
                    finite &= crate::finite::slice_finite(&row[k0..k1]);
                }
                continue;
            }
            // Pack rows of strip s, columns k0..k1: dst[p][0..MR], zero padded.
            for m in 0..MR {
                let r = r0 + s * MR + m;
                if m >= h {
                    for p in 0..kc {
                        dst[p * MR + m] = T::ZERO;
                    }
                } else if let Some(row) = a.row_slice(r) {
                    for (p, &v) in row[k0..k1].iter().enumerate() {
                        dst[p * MR + m] = v;
                    }
                } else {
                    for p in 0..kc {
                        dst[p * MR + m] = a.get(r, k0 + p);
                    }
                }
            }
            finite &= crate::finite::slice_finite(dst);
        }
        // Goto's loop order: a group of panels (KC × NC_PANELS·NR of B, in L2) is
        // swept by every strip of A (KC × MR, at most 32 KiB), each strip walking its
        // C tiles along the rows.
        let panels = nn.div_ceil(NR);
        for group in (0..panels).step_by(NC_PANELS) {
            for s in 0..strips {
                let h = MR.min(r1 - r0 - s * MR);
                // Element (m, p) of the strip is `rows[m] + p·sp`: the rows of `a`
                // themselves (step 1) or the packed copy (step MR).
                let (rows, sp): ([*const T; MR], usize) = if in_place && h == MR {
                    // SAFETY: rows r0+s*MR+m < r1 and column k0 are inside `a`.
                    let rows = std::array::from_fn(|m| unsafe { a.ptr_at(r0 + s * MR + m, k0) });
                    (rows, 1)
                } else {
                    let strip = &ap[s * kc * MR..(s + 1) * kc * MR];
                    (std::array::from_fn(|m| strip[m..].as_ptr()), MR)
                };
                for pi in group..(group + NC_PANELS).min(panels) {
                    let c0 = pi * NR;
                    let w = NR.min(nn - c0);
                    let panel = &bp[(pi * kk + k0) * NR..(pi * kk + k1) * NR];
                    let mut acc = [[T::ZERO; NR]; MR];
                    let from_c = accumulate || k0 > 0;
                    for (m, accm) in acc.iter_mut().enumerate().take(if from_c { h } else { 0 }) {
                        if c_rows && w == NR {
                            // SAFETY: row s*MR+m of c holds columns c0..c0+NR contiguously.
                            let src =
                                unsafe { std::slice::from_raw_parts(c.ptr_at(s * MR + m, c0), NR) };
                            accm.copy_from_slice(src);
                            continue;
                        }
                        for (q, v) in accm.iter_mut().enumerate().take(w) {
                            // SAFETY: row s*MR+m < r1-r0 and column c0+q < nn are inside c.
                            *v = unsafe { *c.ptr_at(s * MR + m, c0 + q) };
                        }
                    }
                    // SAFETY: `rows[m].add(p * sp)` for p < kc is column k0+p of a row of
                    // `a` (in place) or element p*MR+m of the packed strip.
                    unsafe { micro::<T, MR, NR>(&rows, sp, panel, &mut acc) };
                    for (m, accm) in acc.iter().enumerate().take(h) {
                        if c_rows && w == NR {
                            // SAFETY: as above; `c` is exclusively this task's.
                            let dst = unsafe {
                                std::slice::from_raw_parts_mut(c.ptr_at(s * MR + m, c0), NR)
                            };
                            dst.copy_from_slice(accm);
                            continue;
                        }
                        for (q, &v) in accm.iter().enumerate().take(w) {
                            // SAFETY: as above.
                            unsafe { *c.ptr_at(s * MR + m, c0 + q) = v };
                        }
                    }
                }
            }
        }
    }
    finite
}

/// Whether the explicit x86 micro-kernel exists for this tile at the current level.
#[inline(always)]
fn micro_has_kernel<T: Real, const MR: usize, const NR: usize>() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::micro_x86::has_kernel::<T, MR, NR>();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `acc[m][q] = fma(a[m][p], panel[p][q], acc[m][q])` for `p` ascending, with
/// `a[m][p] = *rows[m].add(p * sp)`.
///
/// # Safety
/// `rows[m].add(p * sp)` must be valid for reads for every `m < MR` and
/// `p < panel.len() / NR`.
#[inline(always)]
unsafe fn micro<T: Real, const MR: usize, const NR: usize>(
    rows: &[*const T; MR],
    sp: usize,
    panel: &[T],
    acc: &mut [[T; NR]; MR],
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's guarantee, passed on.
    if unsafe { super::micro_x86::micro::<T, MR, NR>(rows, sp, panel, acc) } {
        return;
    }
    let mut r = *acc;
    for (p, bv) in panel.chunks_exact(NR).enumerate() {
        let bv: &[T; NR] = bv.try_into().expect("chunk of NR");
        for m in 0..MR {
            // SAFETY: the caller's guarantee (m < MR, p < kc).
            let am = unsafe { *rows[m].add(p * sp) };
            for q in 0..NR {
                r[m][q] = am.mul_add(bv[q], r[m][q]);
            }
        }
    }
    *acc = r;
}
