//! x86-64 in-register kernels for the lowest FWHT levels (`h = 1, 2, 4, 8` on groups
//! of 16). Each level computes `s = x + perm(x)` and, in the upper element of every
//! pair, `perm(x) − x`, i.e. exactly `a + b` and `a − b`: the same bits as the
//! portable code.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Runs the in-register levels on `c[..16]` when the level and type allow; false
/// otherwise (the caller runs the portable code).
#[inline(always)]
pub(crate) fn low16<T: 'static>(c: &mut [T]) -> bool {
    if c.len() < 16 {
        return false;
    }
    let lvl = crate::simd::level();
    let p = c.as_mut_ptr();
    // SAFETY (all arms): the TypeId check proves the element type, `c` holds at least
    // 16 elements, and the level check proves the CPU features.
    unsafe {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            match lvl {
                crate::simd::Level::Avx512 => avx512_f32(p.cast()),
                crate::simd::Level::Avx2 => avx2_f32(p.cast()),
                crate::simd::Level::Scalar => return false,
            }
        } else if TypeId::of::<T>() == TypeId::of::<f64>() {
            match lvl {
                crate::simd::Level::Avx512 => avx512_f64(p.cast()),
                crate::simd::Level::Avx2 => avx2_f64(p.cast()),
                crate::simd::Level::Scalar => return false,
            }
        } else {
            return false;
        }
    }
    true
}

/// One level inside a zmm of f32: lanes with bit `h` set get `perm − x`.
#[inline(always)]
unsafe fn lvl512_ps(x: __m512, idx: __m512i, upper: __mmask16) -> __m512 {
    let y = _mm512_permutexvar_ps(idx, x);
    let s = _mm512_add_ps(x, y);
    _mm512_mask_sub_ps(s, upper, y, x)
}

#[target_feature(enable = "avx512f")]
unsafe fn avx512_f32(p: *mut f32) {
    // Constant permutations (lane i ^ h) and upper-lane masks (bit h of i set),
    // written out so that nothing is computed per call.
    let x = _mm512_loadu_ps(p);
    let x = lvl512_ps(
        x,
        _mm512_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14),
        0b1010_1010_1010_1010,
    );
    let x = lvl512_ps(
        x,
        _mm512_setr_epi32(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13),
        0b1100_1100_1100_1100,
    );
    let x = lvl512_ps(
        x,
        _mm512_setr_epi32(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11),
        0b1111_0000_1111_0000,
    );
    let x = lvl512_ps(
        x,
        _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7),
        0b1111_1111_0000_0000,
    );
    _mm512_storeu_ps(p, x);
}

#[inline(always)]
unsafe fn lvl512_pd(x: __m512d, idx: __m512i, upper: __mmask8) -> __m512d {
    let y = _mm512_permutexvar_pd(idx, x);
    let s = _mm512_add_pd(x, y);
    _mm512_mask_sub_pd(s, upper, y, x)
}

#[target_feature(enable = "avx512f")]
unsafe fn avx512_f64(p: *mut f64) {
    let mut v = [_mm512_loadu_pd(p), _mm512_loadu_pd(p.add(8))];
    for x in v.iter_mut() {
        *x = lvl512_pd(*x, _mm512_setr_epi64(1, 0, 3, 2, 5, 4, 7, 6), 0b1010_1010);
        *x = lvl512_pd(*x, _mm512_setr_epi64(2, 3, 0, 1, 6, 7, 4, 5), 0b1100_1100);
        *x = lvl512_pd(*x, _mm512_setr_epi64(4, 5, 6, 7, 0, 1, 2, 3), 0b1111_0000);
    }
    // h = 8: between the two registers.
    let (a, b) = (v[0], v[1]);
    _mm512_storeu_pd(p, _mm512_add_pd(a, b));
    _mm512_storeu_pd(p.add(8), _mm512_sub_pd(a, b));
}

#[target_feature(enable = "avx2")]
unsafe fn avx2_f32(p: *mut f32) {
    let mut v = [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))];
    for x in v.iter_mut() {
        // h = 1: swap neighbours; upper lanes are the odd ones (blend mask 0b10101010).
        let y = _mm256_permute_ps(*x, 0b10_11_00_01);
        *x = _mm256_blend_ps(_mm256_add_ps(*x, y), _mm256_sub_ps(y, *x), 0b1010_1010);
        // h = 2: swap pairs; upper lanes 2,3 of each 128-bit half (mask 0b11001100).
        let y = _mm256_permute_ps(*x, 0b01_00_11_10);
        *x = _mm256_blend_ps(_mm256_add_ps(*x, y), _mm256_sub_ps(y, *x), 0b1100_1100);
        // h = 4: swap 128-bit halves; upper lanes 4..8.
        let y = _mm256_permute2f128_ps(*x, *x, 0x01);
        *x = _mm256_blend_ps(_mm256_add_ps(*x, y), _mm256_sub_ps(y, *x), 0b1111_0000);
    }
    let (a, b) = (v[0], v[1]);
    _mm256_storeu_ps(p, _mm256_add_ps(a, b));
    _mm256_storeu_ps(p.add(8), _mm256_sub_ps(a, b));
}

#[target_feature(enable = "avx2")]
unsafe fn avx2_f64(p: *mut f64) {
    let mut v = [
        _mm256_loadu_pd(p),
        _mm256_loadu_pd(p.add(4)),
        _mm256_loadu_pd(p.add(8)),
        _mm256_loadu_pd(p.add(12)),
    ];
    for x in v.iter_mut() {
        // h = 1: swap neighbours within each 128-bit half.
        let y = _mm256_permute_pd(*x, 0b0101);
        *x = _mm256_blend_pd(_mm256_add_pd(*x, y), _mm256_sub_pd(y, *x), 0b1010);
        // h = 2: swap halves.
        let y = _mm256_permute2f128_pd(*x, *x, 0x01);
        *x = _mm256_blend_pd(_mm256_add_pd(*x, y), _mm256_sub_pd(y, *x), 0b1100);
    }
    // h = 4 and h = 8 between registers, in that order.
    let (a0, a1) = (_mm256_add_pd(v[0], v[1]), _mm256_sub_pd(v[0], v[1]));
    let (a2, a3) = (_mm256_add_pd(v[2], v[3]), _mm256_sub_pd(v[2], v[3]));
    _mm256_storeu_pd(p, _mm256_add_pd(a0, a2));
    _mm256_storeu_pd(p.add(4), _mm256_add_pd(a1, a3));
    _mm256_storeu_pd(p.add(8), _mm256_sub_pd(a0, a2));
    _mm256_storeu_pd(p.add(12), _mm256_sub_pd(a1, a3));
}
