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
    let lvl = crate::simd::level();
    // 16-row f32 tiles (512-bit) only while the source rows are under 4 KB apart:
    // sixteen rows further apart (whole pages) transposed at once ran about 20 %
    // slower than two 8-row passes on AVX-512 machines (rows of 1024, 2048 and 4100
    // floats), though they win on short rows (256 floats).
    let wide = lvl == crate::simd::Level::Avx512;
    let (tile, f32_) = if TypeId::of::<T>() == TypeId::of::<f32>() {
        let short_rows = ss * std::mem::size_of::<T>() < 4096;
        (if wide && short_rows { 16 } else { 8 }, true)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        (if wide { 8 } else { 4 }, false)
    } else {
        return false;
    };
    if lvl == crate::simd::Level::Scalar || !h.is_multiple_of(tile) || !w.is_multiple_of(tile) {
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
            match (lvl, f32_) {
                (crate::simd::Level::Avx512, true) if tile == 16 => {
                    t16_f32(s.cast(), ss, d.cast(), ds)
                }
                (crate::simd::Level::Avx512, false) => t8_f64_512(s.cast(), ss, d.cast(), ds),
                (_, true) => t8_f32(s.cast(), ss, d.cast(), ds),
                (_, false) => t4_f64(s.cast(), ss, d.cast(), ds),
            }
        }
    }
    true
}

#[target_feature(enable = "avx512f")]
unsafe fn t16_f32(s: *const f32, ss: usize, d: *mut f32, ds: usize) {
    let mut r = [_mm512_setzero_ps(); 16];
    for (i, v) in r.iter_mut().enumerate() {
        *v = _mm512_loadu_ps(s.add(i * ss));
    }
    // Stage 1: interleave pairs of rows (32-bit elements).
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Stage 2: interleave 64-bit pairs.
    for i in 0..4 {
        let (a, b, c, e) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
        r[4 * i + 1] =
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
        r[4 * i + 2] =
            _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b), _mm512_castps_pd(e)));
        r[4 * i + 3] =
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b), _mm512_castps_pd(e)));
    }
    // Stage 3: 128-bit lanes across row groups 0-3/4-7 and 8-11/12-15.
    for i in 0..4 {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    // Stage 4: combine the two halves.
    for i in 0..8 {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    // Stage 2 left column 4L + m of row group g in register 4g + m, 128-bit lane L;
    // stages 3 and 4 gather the four row groups of each column: r[q] is column q.
    for (q, v) in r.iter().enumerate() {
        _mm512_storeu_ps(d.add(q * ds), *v);
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn t8_f64_512(s: *const f64, ss: usize, d: *mut f64, ds: usize) {
    // Through two 4x4 AVX2-style passes per 256-bit half: simple and exact.
    for hr in [0usize, 4] {
        for hc in [0usize, 4] {
            t4_f64_inner(s.add(hr * ss + hc), ss, d.add(hc * ds + hr), ds);
        }
    }
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
    t4_f64_inner(s, ss, d, ds);
}

#[inline(always)]
unsafe fn t4_f64_inner(s: *const f64, ss: usize, d: *mut f64, ds: usize) {
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
