//! Explicit x86-64 GEMM micro-kernels. They compute exactly what the portable
//! [`super::dense`] micro-kernel computes, one fused multiply-add per term in the same
//! order, so every SIMD level gives the same bits; they exist because the
//! auto-vectorizer leaves the portable version scalar.
//!
//! Element `(m, p)` of the `MR × kc` left operand is `*rows[m].add(p * sp)`: a packed
//! strip (`rows[m] = strip + m`, `sp = MR`) or `MR` rows of the caller's matrix read
//! in place (`rows[m]` the row's first element, `sp = 1`), which saves packing them.

use std::any::TypeId;
use std::arch::x86_64::*;

/// Runs the explicit kernel for `(T, MR, NR)` at the current SIMD level when one
/// exists; returns false otherwise (the caller then runs the portable kernel).
///
/// # Safety
/// `rows[m].add(p * sp)` must be valid for reads for every `m < MR`, `p < kc` with
/// `kc = panel.len() / NR`.
#[inline(always)]
pub(crate) unsafe fn micro<T: 'static, const MR: usize, const NR: usize>(
    rows: &[*const T; MR],
    sp: usize,
    panel: &[T],
    acc: &mut [[T; NR]; MR],
) -> bool {
    let kc = panel.len() / NR;
    let lvl = crate::simd::level();
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    let (rp, pp, ap) = (rows.as_ptr(), panel.as_ptr(), acc.as_mut_ptr());
    // SAFETY (all arms): the TypeId check proves T is the concrete type the pointers
    // are cast to; MR and NR match the kernel's tile, so `rows` holds MR pointers and
    // `acc` is exactly MR*NR contiguous elements; `panel` holds kc*NR elements and the
    // caller guarantees the left operand's kc*MR reads; the level check proves the
    // CPU has the features.
    unsafe {
        match (lvl, f32_, f64_, MR, NR) {
            (crate::simd::Level::Avx512, true, _, 12, 32) => {
                avx512_f32(kc, rp.cast(), sp, pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx512, _, true, 12, 16) => {
                avx512_f64(kc, rp.cast(), sp, pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx2, true, _, 6, 16) => {
                avx2_f32(kc, rp.cast(), sp, pp.cast(), ap.cast())
            }
            (crate::simd::Level::Avx2, _, true, 6, 8) => {
                avx2_f64(kc, rp.cast(), sp, pp.cast(), ap.cast())
            }
            _ => return false,
        }
    }
    true
}

/// Whether [`micro`] has an explicit kernel for `(T, MR, NR)` at the current level.
pub(crate) fn has_kernel<T: 'static, const MR: usize, const NR: usize>() -> bool {
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    matches!(
        (crate::simd::level(), f32_, f64_, MR, NR),
        (crate::simd::Level::Avx512, true, _, 12, 32)
            | (crate::simd::Level::Avx512, _, true, 12, 16)
            | (crate::simd::Level::Avx2, true, _, 6, 16)
            | (crate::simd::Level::Avx2, _, true, 6, 8)
    )
}

/// 12 rows × 32 columns: 24 accumulators, so the two FMA ports never wait on a
/// chain (4-cycle latency), and 12 broadcasts + 2 loads per 24 FMAs leave the load
/// ports slack. Measured on a 2-core Intel Xeon VM (`rp_timing avx512 gaussian`,
/// 20000 × 4096 → 256): one thread 455–463 ms with 8 × 16 (8 accumulators), 386–426
/// ms with this tile; two threads 226–240 → 201–211 ms. Random Fourier features
/// (`rp_timing avx512 rff`, 6000 × 784 → 4096): 610–646 → 445–450 ms on one thread,
/// 292–296 → 216–222 ms on two.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_f32(kc: usize, a: *const *const f32, sp: usize, b: *const f32, c: *mut f32) {
    let a: [*const f32; 12] = std::array::from_fn(|m| *a.add(m));
    let mut acc = [[_mm512_setzero_ps(); 2]; 12];
    for (m, v) in acc.iter_mut().enumerate() {
        v[0] = _mm512_loadu_ps(c.add(m * 32));
        v[1] = _mm512_loadu_ps(c.add(m * 32 + 16));
    }
    for p in 0..kc {
        let b0 = _mm512_loadu_ps(b.add(p * 32));
        let b1 = _mm512_loadu_ps(b.add(p * 32 + 16));
        for (m, v) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*a[m].add(p * sp));
            v[0] = _mm512_fmadd_ps(av, b0, v[0]);
            v[1] = _mm512_fmadd_ps(av, b1, v[1]);
        }
    }
    for (m, v) in acc.iter().enumerate() {
        _mm512_storeu_ps(c.add(m * 32), v[0]);
        _mm512_storeu_ps(c.add(m * 32 + 16), v[1]);
    }
}

/// 12 rows × 16 columns, as [`avx512_f32`]'s tile with 8 lanes per vector.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_f64(kc: usize, a: *const *const f64, sp: usize, b: *const f64, c: *mut f64) {
    let a: [*const f64; 12] = std::array::from_fn(|m| *a.add(m));
    let mut acc = [[_mm512_setzero_pd(); 2]; 12];
    for (m, v) in acc.iter_mut().enumerate() {
        v[0] = _mm512_loadu_pd(c.add(m * 16));
        v[1] = _mm512_loadu_pd(c.add(m * 16 + 8));
    }
    for p in 0..kc {
        let b0 = _mm512_loadu_pd(b.add(p * 16));
        let b1 = _mm512_loadu_pd(b.add(p * 16 + 8));
        for (m, v) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_pd(*a[m].add(p * sp));
            v[0] = _mm512_fmadd_pd(av, b0, v[0]);
            v[1] = _mm512_fmadd_pd(av, b1, v[1]);
        }
    }
    for (m, v) in acc.iter().enumerate() {
        _mm512_storeu_pd(c.add(m * 16), v[0]);
        _mm512_storeu_pd(c.add(m * 16 + 8), v[1]);
    }
}

/// 6 rows × 16 columns: 12 accumulators, two panel vectors and a broadcast fill 15
/// of the 16 registers. Measured (`rp_timing avx2 gaussian`, one thread): 4 × 16
/// (8 accumulators) took 590–595 ms, this tile 544–568 ms.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_f32(kc: usize, a: *const *const f32, sp: usize, b: *const f32, c: *mut f32) {
    let a: [*const f32; 6] = std::array::from_fn(|m| *a.add(m));
    let mut acc = [_mm256_setzero_ps(); 12];
    for (i, v) in acc.iter_mut().enumerate() {
        *v = _mm256_loadu_ps(c.add(i * 8));
    }
    for p in 0..kc {
        let b0 = _mm256_loadu_ps(b.add(p * 16));
        let b1 = _mm256_loadu_ps(b.add(p * 16 + 8));
        for m in 0..6 {
            let av = _mm256_set1_ps(*a[m].add(p * sp));
            acc[2 * m] = _mm256_fmadd_ps(av, b0, acc[2 * m]);
            acc[2 * m + 1] = _mm256_fmadd_ps(av, b1, acc[2 * m + 1]);
        }
    }
    for (i, v) in acc.iter().enumerate() {
        _mm256_storeu_ps(c.add(i * 8), *v);
    }
}

/// 6 rows × 8 columns, as [`avx2_f32`]'s tile with 4 lanes per vector.
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_f64(kc: usize, a: *const *const f64, sp: usize, b: *const f64, c: *mut f64) {
    let a: [*const f64; 6] = std::array::from_fn(|m| *a.add(m));
    let mut acc = [_mm256_setzero_pd(); 12];
    for (i, v) in acc.iter_mut().enumerate() {
        *v = _mm256_loadu_pd(c.add(i * 4));
    }
    for p in 0..kc {
        let b0 = _mm256_loadu_pd(b.add(p * 8));
        let b1 = _mm256_loadu_pd(b.add(p * 8 + 4));
        for m in 0..6 {
            let av = _mm256_set1_pd(*a[m].add(p * sp));
            acc[2 * m] = _mm256_fmadd_pd(av, b0, acc[2 * m]);
            acc[2 * m + 1] = _mm256_fmadd_pd(av, b1, acc[2 * m + 1]);
        }
    }
    for (i, v) in acc.iter().enumerate() {
        _mm256_storeu_pd(c.add(i * 4), *v);
    }
}
