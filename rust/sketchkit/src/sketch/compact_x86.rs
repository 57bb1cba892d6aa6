//! Compaction of a dense row into its nonzeros (the sparse-output kernels): the
//! positions and values of the nonzero elements, in ascending position. A copy of
//! values, so the results do not depend on which path ran.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Writes the positions (to `idx`) and values (to `val`) of the nonzero elements of
/// `row` and returns their count, with AVX-512 register compression; `None`
/// (nothing written) below AVX-512 or for element types other than `f32` and `f64`.
///
/// # Safety
/// `idx` and `val` must be valid for writes of `row.len() + 16` elements (whole
/// vectors are stored past the count); `row.len()` must be below 2^31.
#[inline(always)]
pub(crate) unsafe fn compact<T: 'static>(row: &[T], idx: *mut i32, val: *mut T) -> Option<usize> {
    if crate::simd::level() != crate::simd::Level::Avx512 {
        return None;
    }
    let (src, n) = (row.as_ptr(), row.len());
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        Some(compact_f32(src.cast(), n, idx, val.cast()))
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        Some(compact_f64(src.cast(), n, idx, val.cast()))
    } else {
        None
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn compact_f32(row: *const f32, n: usize, idx: *mut i32, val: *mut f32) -> usize {
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
    at
}

#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn compact_f64(row: *const f64, n: usize, idx: *mut i32, val: *mut f64) -> usize {
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
    at
}
