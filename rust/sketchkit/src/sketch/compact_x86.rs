//! Compaction of a dense row into its nonzeros (the sparse-output kernels): the
//! positions and values of the nonzero elements, in ascending position. A copy of
//! values, so the results do not depend on which path ran.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Writes the positions (to `idx`) and values (to `val`) of the nonzero elements of
/// `row`, with AVX-512 register compression (the whole row) or on AVX2 with a
/// permutation looked up by each vector's mask of nonzeros (its whole vectors), and
/// returns `(count, done)`: the nonzeros among `row[..done]` are written, the rest
/// of the row is the caller's. `None` (nothing written) at the scalar level or for
/// element types other than `f32` and `f64`.
///
/// # Safety
/// `idx` and `val` must be valid for writes of `row.len() + 16` elements (whole
/// vectors are stored past the count); `row.len()` must be below 2^31.
#[inline(always)]
pub(crate) unsafe fn compact<T: 'static>(
    row: &[T],
    idx: *mut i32,
    val: *mut T,
) -> Option<(usize, usize)> {
    let (src, n) = (row.as_ptr(), row.len());
    let (f32_, f64_) = (
        TypeId::of::<T>() == TypeId::of::<f32>(),
        TypeId::of::<T>() == TypeId::of::<f64>(),
    );
    match crate::simd::level() {
        crate::simd::Level::Avx512 if f32_ => Some(compact_f32(src.cast(), n, idx, val.cast())),
        crate::simd::Level::Avx512 if f64_ => Some(compact_f64(src.cast(), n, idx, val.cast())),
        crate::simd::Level::Avx2 if f32_ => Some(compact_f32_avx2(src.cast(), n, idx, val.cast())),
        crate::simd::Level::Avx2 if f64_ => Some(compact_f64_avx2(src.cast(), n, idx, val.cast())),
        _ => None,
    }
}

/// For each mask of 8 lanes, the positions of its set bits in ascending order, one
/// byte each (unused bytes 0).
const POSITIONS8: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let (mut at, mut b) = (0, 0);
        while b < 8 {
            if m >> b & 1 == 1 {
                t[m] |= (b as u64) << (8 * at);
                at += 1;
            }
            b += 1;
        }
        m += 1;
    }
    t
};

#[target_feature(enable = "avx2")]
unsafe fn compact_f32_avx2(
    row: *const f32,
    n: usize,
    idx: *mut i32,
    val: *mut f32,
) -> (usize, usize) {
    let mut at = 0usize;
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_loadu_ps(row.add(i));
        let nz = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
        let pos = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(POSITIONS8[nz] as i64));
        _mm256_storeu_ps(val.add(at), _mm256_permutevar8x32_ps(v, pos));
        let base = _mm256_set1_epi32(i as i32);
        _mm256_storeu_si256(idx.add(at).cast(), _mm256_add_epi32(base, pos));
        at += nz.count_ones() as usize;
        i += 8;
    }
    (at, i)
}

#[target_feature(enable = "avx2")]
unsafe fn compact_f64_avx2(
    row: *const f64,
    n: usize,
    idx: *mut i32,
    val: *mut f64,
) -> (usize, usize) {
    let mut at = 0usize;
    let mut i = 0;
    while i + 4 <= n {
        let v = _mm256_loadu_pd(row.add(i));
        let nz = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_NEQ_UQ>(v, _mm256_setzero_pd())) as usize;
        // Positions p of the 4-lane mask; a float64 lane p is 32-bit lanes 2p, 2p+1.
        let pos = _mm_cvtepu8_epi32(_mm_cvtsi64_si128(POSITIONS8[nz] as i64));
        let wide = _mm256_cvtepu32_epi64(pos);
        let pairs = _mm256_or_si256(
            _mm256_slli_epi64::<1>(wide),
            _mm256_slli_epi64::<32>(_mm256_add_epi64(
                _mm256_slli_epi64::<1>(wide),
                _mm256_set1_epi64x(1),
            )),
        );
        let moved = _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), pairs);
        _mm256_storeu_pd(val.add(at), _mm256_castps_pd(moved));
        let base = _mm_set1_epi32(i as i32);
        _mm_storeu_si128(idx.add(at).cast(), _mm_add_epi32(base, pos));
        at += nz.count_ones() as usize;
        i += 4;
    }
    (at, i)
}

#[target_feature(enable = "avx512f")]
unsafe fn compact_f32(row: *const f32, n: usize, idx: *mut i32, val: *mut f32) -> (usize, usize) {
    let mut at = 0usize;
    let mut pos = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let step = _mm512_set1_epi32(16);
    let mut i = 0;
    while i < n {
        // The last vector reads only the row's own elements.
        let live: __mmask16 = if n - i >= 16 {
            0xffff
        } else {
            (1u16 << (n - i)) - 1
        };
        let v = _mm512_maskz_loadu_ps(live, row.add(i));
        let nz = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(live, v, _mm512_setzero_ps());
        // Register compression, then whole-vector stores: the memory form of the
        // compress instructions is far slower on some cores.
        _mm512_storeu_ps(val.add(at), _mm512_maskz_compress_ps(nz, v));
        _mm512_storeu_si512(idx.add(at).cast(), _mm512_maskz_compress_epi32(nz, pos));
        at += nz.count_ones() as usize;
        pos = _mm512_add_epi32(pos, step);
        i += 16;
    }
    (at, n)
}

#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn compact_f64(row: *const f64, n: usize, idx: *mut i32, val: *mut f64) -> (usize, usize) {
    let mut at = 0usize;
    let mut pos = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let step = _mm256_set1_epi32(8);
    let mut i = 0;
    while i < n {
        let live: __mmask8 = if n - i >= 8 {
            0xff
        } else {
            (1u8 << (n - i)) - 1
        };
        let v = _mm512_maskz_loadu_pd(live, row.add(i));
        let nz = _mm512_mask_cmp_pd_mask::<_CMP_NEQ_UQ>(live, v, _mm512_setzero_pd());
        _mm512_storeu_pd(val.add(at), _mm512_maskz_compress_pd(nz, v));
        _mm256_storeu_si256(idx.add(at).cast(), _mm256_maskz_compress_epi32(nz, pos));
        at += nz.count_ones() as usize;
        pos = _mm256_add_epi32(pos, step);
        i += 8;
    }
    (at, n)
}
