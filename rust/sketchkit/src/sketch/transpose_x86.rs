//! In-register transposes that load the gather kernel's lane-major tiles. A
//! transpose only moves values, so results do not depend on which path ran.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Copies the `h × w` block at `src` (row stride `ss` elements) transposed to `dst`
/// (row stride `ds` elements): `dst[c·ds + r] = src[r·ss + c]`. Returns false when no
/// explicit kernel applies (then nothing was written).
///
/// `ahead` lists where blocks of the same shape and row stride that the caller reads
/// soon start: their lines are requested (into L2) while this block is copied. The
/// addresses are only formed (wrapping) and prefetched, never dereferenced, so they
/// may lie past the end of the caller's data.
///
/// # Safety
/// `src` must be valid for reads of the block and `dst` for writes of its transpose;
/// the two must not overlap.
#[inline(always)]
pub(crate) unsafe fn transpose<T: 'static>(
    src: *const T,
    ss: usize,
    dst: *mut T,
    ds: usize,
    h: usize,
    w: usize,
    ahead: &[*const T],
) -> bool {
    // 256-bit transposes only: the gather kernel, their one caller, runs its AVX2
    // build on AVX-512 machines too (see `gather`), and 16-row 512-bit transposes
    // were no faster there.
    let (tile, f32_) = if TypeId::of::<T>() == TypeId::of::<f32>() {
        (8, true)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        (4, false)
    } else {
        return false;
    };
    if crate::simd::level() == crate::simd::Level::Scalar
        || !h.is_multiple_of(tile)
        || !w.is_multiple_of(tile)
    {
        return false;
    }
    for r in (0..h).step_by(tile) {
        for c in (0..w).step_by(tile) {
            let s = src.add(r * ss + c);
            // Ask for the same rows and columns of the blocks read soon, into L2, so
            // that the many row streams of a tile do not wait on DRAM one line at a
            // time. A prefetch never faults, and the address is only formed
            // (wrapping), never dereferenced.
            // One request per line: a tile 32 bytes wide shares its lines with the
            // next one, which asks for nothing.
            let line_start = (c * std::mem::size_of::<T>()).is_multiple_of(64);
            for &p in ahead.iter().filter(|_| line_start) {
                for i in 0..tile {
                    _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add((r + i) * ss + c).cast::<i8>());
                }
            }
            let d = dst.add(c * ds + r);
            if f32_ {
                t8_f32(s.cast(), ss, d.cast(), ds)
            } else {
                t4_f64(s.cast(), ss, d.cast(), ds)
            }
        }
    }
    true
}

#[target_feature(enable = "avx2")]
unsafe fn t8_f32(s: *const f32, ss: usize, d: *mut f32, ds: usize) {
    let mut r = [_mm256_setzero_ps(); 8];
    for (i, v) in r.iter_mut().enumerate() {
        *v = _mm256_loadu_ps(s.add(i * ss));
    }
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps(t0, t2, 0x44);
    let u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    let u2 = _mm256_shuffle_ps(t1, t3, 0x44);
    let u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    let u4 = _mm256_shuffle_ps(t4, t6, 0x44);
    let u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    let u6 = _mm256_shuffle_ps(t5, t7, 0x44);
    let u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    let out = [
        _mm256_permute2f128_ps(u0, u4, 0x20),
        _mm256_permute2f128_ps(u1, u5, 0x20),
        _mm256_permute2f128_ps(u2, u6, 0x20),
        _mm256_permute2f128_ps(u3, u7, 0x20),
        _mm256_permute2f128_ps(u0, u4, 0x31),
        _mm256_permute2f128_ps(u1, u5, 0x31),
        _mm256_permute2f128_ps(u2, u6, 0x31),
        _mm256_permute2f128_ps(u3, u7, 0x31),
    ];
    for (c, v) in out.iter().enumerate() {
        _mm256_storeu_ps(d.add(c * ds), *v);
    }
}

#[target_feature(enable = "avx2")]
unsafe fn t4_f64(s: *const f64, ss: usize, d: *mut f64, ds: usize) {
    let r0 = _mm256_loadu_pd(s);
    let r1 = _mm256_loadu_pd(s.add(ss));
    let r2 = _mm256_loadu_pd(s.add(2 * ss));
    let r3 = _mm256_loadu_pd(s.add(3 * ss));
    let t0 = _mm256_unpacklo_pd(r0, r1);
    let t1 = _mm256_unpackhi_pd(r0, r1);
    let t2 = _mm256_unpacklo_pd(r2, r3);
    let t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d.add(ds), _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d.add(2 * ds), _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d.add(3 * ds), _mm256_permute2f128_pd(t1, t3, 0x31));
}
