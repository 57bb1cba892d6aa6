//! Explicit x86-64 GEMM micro-kernels. They compute exactly what the portable
//! [`super::dense`] micro-kernel computes, one fused multiply-add per term in the same
//! order, so every SIMD level gives the same bits; they exist because the
//! auto-vectorizer leaves the portable version scalar.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Runs the explicit kernel for `(T, MR, NR)` at the current SIMD level when one
/// exists; returns false otherwise (the caller then runs the portable kernel).
#[inline(always)]
pub(crate) fn micro<T: 'static, const MR: usize, const NR: usize>(
    strip: &[T],
    panel: &[T],
    acc: &mut [[T; NR]; MR],
) -> bool {
    let kc = panel.len() / NR;
    if strip.len() < kc * MR {
        return false;
    }
    let lvl = crate::simd::level();
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    let (sp, pp, ap) = (strip.as_ptr(), panel.as_ptr(), acc.as_mut_ptr());
    // SAFETY (all arms): the TypeId check proves T is the concrete type the pointers
    // are cast to; MR and NR match the kernel's tile, so `acc` is exactly MR*NR
    // contiguous elements; `strip` holds kc*MR and `panel` kc*NR elements (checked
    // above / by construction); the level check proves the CPU has the features.
    unsafe {
        match (lvl, f32_, f64_, MR, NR) {
            (crate::simd::Level::Avx512, true, _, 8, 16) => {
                avx512_f32(kc, sp.cast(), pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx512, _, true, 8, 8) => {
                avx512_f64(kc, sp.cast(), pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx2, true, _, 4, 16) => {
                avx2_f32(kc, sp.cast(), pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx2, _, true, 4, 8) => {
                avx2_f64(kc, sp.cast(), pp.cast(), ap.cast())
            }
            _ => return false,
        }
    }
    true
}

#[target_feature(enable = "avx512f")]
unsafe fn avx512_f32(kc: usize, a: *const f32, b: *const f32, c: *mut f32) {
    let mut acc = [_mm512_setzero_ps(); 8];
    for (m, v) in acc.iter_mut().enumerate() {
        *v = _mm512_loadu_ps(c.add(m * 16));
    }
    for p in 0..kc {
        let bv = _mm512_loadu_ps(b.add(p * 16));
        for (m, v) in acc.iter_mut().enumerate() {
            *v = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(p * 8 + m)), bv, *v);
        }
    }
    for (m, v) in acc.iter().enumerate() {
        _mm512_storeu_ps(c.add(m * 16), *v);
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn avx512_f64(kc: usize, a: *const f64, b: *const f64, c: *mut f64) {
    let mut acc = [_mm512_setzero_pd(); 8];
    for (m, v) in acc.iter_mut().enumerate() {
        *v = _mm512_loadu_pd(c.add(m * 8));
    }
    for p in 0..kc {
        let bv = _mm512_loadu_pd(b.add(p * 8));
        for (m, v) in acc.iter_mut().enumerate() {
            *v = _mm512_fmadd_pd(_mm512_set1_pd(*a.add(p * 8 + m)), bv, *v);
        }
    }
    for (m, v) in acc.iter().enumerate() {
        _mm512_storeu_pd(c.add(m * 8), *v);
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_f32(kc: usize, a: *const f32, b: *const f32, c: *mut f32) {
    let mut acc = [_mm256_setzero_ps(); 8];
    for (i, v) in acc.iter_mut().enumerate() {
        *v = _mm256_loadu_ps(c.add(i * 8));
    }
    for p in 0..kc {
        let b0 = _mm256_loadu_ps(b.add(p * 16));
        let b1 = _mm256_loadu_ps(b.add(p * 16 + 8));
        for m in 0..4 {
            let av = _mm256_set1_ps(*a.add(p * 4 + m));
            acc[2 * m] = _mm256_fmadd_ps(av, b0, acc[2 * m]);
            acc[2 * m + 1] = _mm256_fmadd_ps(av, b1, acc[2 * m + 1]);
        }
    }
    for (i, v) in acc.iter().enumerate() {
        _mm256_storeu_ps(c.add(i * 8), *v);
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_f64(kc: usize, a: *const f64, b: *const f64, c: *mut f64) {
    let mut acc = [_mm256_setzero_pd(); 8];
    for (i, v) in acc.iter_mut().enumerate() {
        *v = _mm256_loadu_pd(c.add(i * 4));
    }
    for p in 0..kc {
        let b0 = _mm256_loadu_pd(b.add(p * 8));
        let b1 = _mm256_loadu_pd(b.add(p * 8 + 4));
        for m in 0..4 {
            let av = _mm256_set1_pd(*a.add(p * 4 + m));
            acc[2 * m] = _mm256_fmadd_pd(av, b0, acc[2 * m]);
            acc[2 * m + 1] = _mm256_fmadd_pd(av, b1, acc[2 * m + 1]);
        }
    }
    for (i, v) in acc.iter().enumerate() {
        _mm256_storeu_pd(c.add(i * 4), *v);
    }
}
