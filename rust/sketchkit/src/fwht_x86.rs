//! x86-64 SIMD kernels for the contiguous in-place FWHT (AVX-512 and AVX2, f32 and
//! f64).
//!
//! Bit identity with the portable code: the levels run in ascending order and every
//! butterfly yields exactly `a + b` and `a − b`:
//! * between registers with one `add` and one `sub`;
//! * inside a register (`h` below the lane count) as `fma(x, ±1, perm(x))`: lanes
//!   whose bit `h` is clear hold `a` and compute `a·1 + b`; the others hold `b` and
//!   compute `b·(−1) + a`. Multiplying by ±1 is exact, so the single rounding of the
//!   FMA gives the same bits as `a + b` and `a − b` (signed zeros included).
//!
//! Structure of one transform of `n` elements (`W` lanes per register):
//! * lengths up to [`Simd::L1`] (an L1-resident block): one *base* pass loads `RB`
//!   consecutive registers, runs the `log2 W` in-register levels on each and the
//!   next `log2 RB` levels across them, and stores; then the remaining levels run in
//!   radix-`R` passes (`R` registers `h` apart: `log2 R` levels per load/store);
//!   the base pass takes `RB_WIDE` registers instead where that saves a pass;
//! * longer lengths recurse: the `r ≤ RTOP` consecutive sub-blocks are transformed
//!   first (each in cache), then one radix-`r` pass applies the top `log2 r` levels.

use std::any::TypeId;
use std::arch::x86_64::*;

/// One SIMD register type and element type.
trait Simd {
    /// Element.
    type E: crate::Real;
    /// Register.
    type V: Copy;
    /// Lanes per register.
    const W: usize;
    /// Registers per chunk of the base pass.
    const RB: usize;
    /// Registers per chunk of the base pass when a chunk this wide saves a whole
    /// strided pass (see [`in_cache`]); `RB` where no wider chunk is worth it.
    const RB_WIDE: usize;
    /// Largest radix (registers per butterfly group) of a strided pass.
    const RMAX: usize;
    /// Longest length transformed in one piece (L1-resident); longer ones recurse
    /// on sub-blocks of at least `L1 / 2` elements.
    const L1: usize;
    /// Longest length [`rec`] transforms in one piece, `L1` or `2 · L1`. With
    /// `2 · L1` the recursion's sub-blocks span `L1 / 2 … 2 · L1`, three octaves:
    /// every length from `2 · L1` up then splits into radix-`RTOP` (8) top passes
    /// only, never a radix-2 or radix-4 one. AVX2 f32 (`fwht_timing cold avx2`, two
    /// rounds, same bits): `2^13` 2.9–3.0 → 2.4 µs, `2^16` 29.2–29.6 → 24.6–24.7 µs,
    /// `2^19` 281–287 → 249 µs, other lengths within noise; in huge pages
    /// (`FWHT_HUGE`) `2^13` 2.8–2.9 → 2.3–2.5, `2^16` 28.5–29.0 → 24.9–25.4, `2^19`
    /// 275–282 → 246–250, `2^20` 599–603 → 584–587 µs. The AVX-512 f32 kernels lost
    /// 2–10 % with it at `2^12`–`2^20`, so they keep `L1`.
    const LEAF: usize;
    /// Largest radix of the top pass of a recursion step. Its `RTOP` streams are a
    /// power-of-two multiple of 4 KiB apart, so they share one L1 set: more than the
    /// 8 ways evict each other between load and store (radix 16 there measured
    /// 1.5–2× slower than radix 8).
    const RTOP: usize;
    unsafe fn ld(p: *const Self::E) -> Self::V;
    unsafe fn st(p: *mut Self::E, v: Self::V);
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `log2 W`: the levels inside one register.
    const LOW: usize;
    /// In-register level `h = 2^k` (`k < LOW`).
    unsafe fn low(v: Self::V, k: usize) -> Self::V;
}

/// AVX-512, f32.
struct Z32;
/// AVX-512, f64.
struct Z64;
/// AVX2 + FMA, f32.
struct Y32;
/// AVX2 + FMA, f64.
struct Y64;

impl Simd for Z32 {
    type E = f32;
    type V = __m512;
    const W: usize = 16;
    const RB: usize = 16;
    const RB_WIDE: usize = 16;
    const RMAX: usize = 16;
    const L1: usize = 1 << 12;
    const LEAF: usize = 1 << 12;
    const RTOP: usize = 8;
    const LOW: usize = 4;
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn st(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn sub(a: __m512, b: __m512) -> __m512 {
        _mm512_sub_ps(a, b)
    }
    #[inline(always)]
    unsafe fn low(v: __m512, k: usize) -> __m512 {
        let (p, m) = (1.0f32, -1.0f32);
        match k {
            // h = 1, 2: swap neighbours / pairs inside 128-bit lanes.
            0 => _mm512_fmadd_ps(
                v,
                _mm512_setr_ps(p, m, p, m, p, m, p, m, p, m, p, m, p, m, p, m),
                _mm512_permute_ps::<0b10_11_00_01>(v),
            ),
            1 => _mm512_fmadd_ps(
                v,
                _mm512_setr_ps(p, p, m, m, p, p, m, m, p, p, m, m, p, p, m, m),
                _mm512_permute_ps::<0b01_00_11_10>(v),
            ),
            // h = 4, 8: swap adjacent 128-bit lanes / 256-bit halves.
            2 => _mm512_fmadd_ps(
                v,
                _mm512_setr_ps(p, p, p, p, m, m, m, m, p, p, p, p, m, m, m, m),
                _mm512_shuffle_f32x4::<0b10_11_00_01>(v, v),
            ),
            _ => _mm512_fmadd_ps(
                v,
                _mm512_setr_ps(p, p, p, p, p, p, p, p, m, m, m, m, m, m, m, m),
                _mm512_shuffle_f32x4::<0b01_00_11_10>(v, v),
            ),
        }
    }
}

impl Simd for Z64 {
    type E = f64;
    type V = __m512d;
    const W: usize = 8;
    const RB: usize = 16;
    const RB_WIDE: usize = 16;
    const RMAX: usize = 16;
    const L1: usize = 1 << 11;
    const LEAF: usize = 1 << 11;
    const RTOP: usize = 8;
    const LOW: usize = 3;
    #[inline(always)]
    unsafe fn ld(p: *const f64) -> __m512d {
        _mm512_loadu_pd(p)
    }
    #[inline(always)]
    unsafe fn st(p: *mut f64, v: __m512d) {
        _mm512_storeu_pd(p, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m512d, b: __m512d) -> __m512d {
        _mm512_add_pd(a, b)
    }
    #[inline(always)]
    unsafe fn sub(a: __m512d, b: __m512d) -> __m512d {
        _mm512_sub_pd(a, b)
    }
    #[inline(always)]
    unsafe fn low(v: __m512d, k: usize) -> __m512d {
        let (p, m) = (1.0f64, -1.0f64);
        match k {
            0 => _mm512_fmadd_pd(
                v,
                _mm512_setr_pd(p, m, p, m, p, m, p, m),
                _mm512_permute_pd::<0b0101_0101>(v),
            ),
            1 => _mm512_fmadd_pd(
                v,
                _mm512_setr_pd(p, p, m, m, p, p, m, m),
                _mm512_shuffle_f64x2::<0b10_11_00_01>(v, v),
            ),
            _ => _mm512_fmadd_pd(
                v,
                _mm512_setr_pd(p, p, p, p, m, m, m, m),
                _mm512_shuffle_f64x2::<0b01_00_11_10>(v, v),
            ),
        }
    }
}

impl Simd for Y32 {
    type E = f32;
    type V = __m256;
    const W: usize = 8;
    const RB: usize = 8;
    const RB_WIDE: usize = 16;
    const RMAX: usize = 8;
    const L1: usize = 1 << 12;
    const LEAF: usize = 1 << 13;
    const RTOP: usize = 8;
    const LOW: usize = 3;
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn st(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn sub(a: __m256, b: __m256) -> __m256 {
        _mm256_sub_ps(a, b)
    }
    #[inline(always)]
    unsafe fn low(v: __m256, k: usize) -> __m256 {
        let (p, m) = (1.0f32, -1.0f32);
        match k {
            0 => _mm256_fmadd_ps(
                v,
                _mm256_setr_ps(p, m, p, m, p, m, p, m),
                _mm256_permute_ps::<0b10_11_00_01>(v),
            ),
            1 => _mm256_fmadd_ps(
                v,
                _mm256_setr_ps(p, p, m, m, p, p, m, m),
                _mm256_permute_ps::<0b01_00_11_10>(v),
            ),
            _ => _mm256_fmadd_ps(
                v,
                _mm256_setr_ps(p, p, p, p, m, m, m, m),
                _mm256_permute2f128_ps::<0x01>(v, v),
            ),
        }
    }
}

impl Simd for Y64 {
    type E = f64;
    type V = __m256d;
    const W: usize = 4;
    const RB: usize = 8;
    const RB_WIDE: usize = 16;
    const RMAX: usize = 8;
    const L1: usize = 1 << 11;
    const LEAF: usize = 1 << 11;
    const RTOP: usize = 8;
    const LOW: usize = 2;
    #[inline(always)]
    unsafe fn ld(p: *const f64) -> __m256d {
        _mm256_loadu_pd(p)
    }
    #[inline(always)]
    unsafe fn st(p: *mut f64, v: __m256d) {
        _mm256_storeu_pd(p, v)
    }
    #[inline(always)]
    unsafe fn add(a: __m256d, b: __m256d) -> __m256d {
        _mm256_add_pd(a, b)
    }
    #[inline(always)]
    unsafe fn sub(a: __m256d, b: __m256d) -> __m256d {
        _mm256_sub_pd(a, b)
    }
    #[inline(always)]
    unsafe fn low(v: __m256d, k: usize) -> __m256d {
        let (p, m) = (1.0f64, -1.0f64);
        match k {
            0 => _mm256_fmadd_pd(
                v,
                _mm256_setr_pd(p, m, p, m),
                _mm256_permute_pd::<0b0101>(v),
            ),
            _ => _mm256_fmadd_pd(
                v,
                _mm256_setr_pd(p, p, m, m),
                _mm256_permute2f128_pd::<0x01>(v, v),
            ),
        }
    }
}

/// Runs the whole transform of the contiguous `x` when the SIMD level and element
/// type allow; false otherwise (the caller runs the portable code). `x.len()` must
/// be a power of two.
#[inline(always)]
pub(crate) fn transform<T: 'static>(x: &mut [T]) -> bool {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let p = x.as_mut_ptr();
    let lvl = crate::simd::level();
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    // SAFETY (all arms): the TypeId check proves the element type; `x` is an
    // exclusive slice of `n` elements, `n` a power of two of at least one register
    // (`n >= W`), which is what `rec` needs (in place: source and destination are
    // the same); the level check proves the CPU features the called function enables.
    unsafe {
        match lvl {
            crate::simd::Level::Avx512 if f32_ && n >= Z32::W => {
                rec512::<Z32>(p.cast(), p.cast(), n)
            }
            crate::simd::Level::Avx512 if f64_ && n >= Z64::W => {
                rec512::<Z64>(p.cast(), p.cast(), n)
            }
            crate::simd::Level::Avx2 if f32_ && n >= Y32::W => rec256::<Y32>(p.cast(), p.cast(), n),
            crate::simd::Level::Avx2 if f64_ && n >= Y64::W => rec256::<Y64>(p.cast(), p.cast(), n),
            _ => return false,
        }
    }
    true
}

/// What [`transform_checked`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// `x` was finite and now holds its transform.
    Done,
    /// `x` holds NaN or infinity and was left unchanged.
    NonFinite,
    /// This SIMD level, element type or length has no fused kernel: nothing was
    /// read or written.
    Unsupported,
}

/// The transform of `x` with the finite check fused into its own loads, so that
/// the input is read once.
///
/// Every pass but the last reads `x` (the first touch of each element) or
/// `scratch` and writes `scratch`; the last pass reads `scratch` and writes `x`.
/// Before it, the partial result is complete on `r` blocks (the last pass's radix):
/// each element of block `b` is a signed sum of every input of block `b`, and a sum
/// with a NaN or infinite term is NaN or infinite. So if the first element of every
/// block is finite, so was the input; if one is not, either the input held NaN or
/// infinity or a finite input overflowed, and a separate check of `x` (still
/// unchanged) decides. Same passes, same operations, same order as [`transform`]:
/// the same bits. A length above the recursion's leaf ([`Simd::LEAF`]) does the
/// same at the top of its split ([`staged_rec`]): the sub-blocks go into `scratch`
/// and the top pass writes `x`.
///
/// # Safety
/// `scratch` must be valid for reads and writes of `x.len()` elements, aligned for
/// `T`, outside `x`, and used by nothing else meanwhile. It need not be
/// initialized: every element is written before it is read.
#[inline(always)]
pub(crate) unsafe fn transform_checked<T: 'static>(x: &mut [T], scratch: *mut T) -> Checked {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let (p, s) = (x.as_mut_ptr(), scratch);
    let lvl = crate::simd::level();
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    // SAFETY (all arms): the TypeId check proves the element type; `x` is an
    // exclusive slice of `n` elements and `scratch` (by this function's contract)
    // `n` writable elements outside it, used by nothing else; `n` is a power of two
    // above the leaf (`staged_rec` splits it), or above one base chunk (`staged`
    // needs a strided pass) and within L1 (it runs one in-cache block); the level
    // check proves the CPU features the called function enables.
    let ok = unsafe {
        match lvl {
            crate::simd::Level::Avx512 if f32_ && n > Z32::LEAF => {
                staged_rec512::<Z32>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx512 if f64_ && n > Z64::LEAF => {
                staged_rec512::<Z64>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx2 if f32_ && n > Y32::LEAF => {
                staged_rec256::<Y32>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx2 if f64_ && n > Y64::LEAF => {
                staged_rec256::<Y64>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx512 if f32_ && n > Z32::W * Z32::RB && n <= Z32::L1 => {
                staged512::<Z32>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx512 if f64_ && n > Z64::W * Z64::RB && n <= Z64::L1 => {
                staged512::<Z64>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx2 if f32_ && n > Y32::W * Y32::RB_WIDE && n <= Y32::L1 => {
                staged256::<Y32>(p.cast(), s.cast(), n)
            }
            crate::simd::Level::Avx2 if f64_ && n > Y64::W * Y64::RB_WIDE && n <= Y64::L1 => {
                staged256::<Y64>(p.cast(), s.cast(), n)
            }
            _ => return Checked::Unsupported,
        }
    };
    if ok {
        Checked::Done
    } else {
        Checked::NonFinite
    }
}

/// The transform of `src[..n]` into `dst[..n]` (the same pointer: in place) with
/// AVX-512 code.
///
/// # Safety
/// The CPU supports AVX-512 F/VL/BW/DQ, AVX2 and FMA; `src` and `dst` are valid for
/// reads (and `dst` for writes) of `n` elements that nothing else accesses
/// meanwhile, and are equal or do not overlap; `n` is a power of two with
/// `n >= S::W`.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn rec512<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize) {
    rec::<S>(src, dst, n, rec512::<S>)
}

/// [`rec512`] with AVX2 code.
///
/// # Safety
/// As for [`rec512`], with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn rec256<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize) {
    rec::<S>(src, dst, n, rec256::<S>)
}

/// [`staged`] (every pass, the last after the finite probes) with AVX-512 code;
/// false (and `x` unchanged) when `x` holds NaN or infinity.
///
/// # Safety
/// As for [`rec512`] with `src = x`, `dst = s` (distinct), and
/// `S::W · S::RB < n <= S::L1`.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn staged512<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize) -> bool {
    staged::<S>(x, s, n)
}

/// [`staged512`] with AVX2 code.
///
/// # Safety
/// As for [`staged512`], with AVX2 and FMA, and `S::W · S::RB_WIDE < n <= S::L1`.
#[target_feature(enable = "avx2,fma")]
unsafe fn staged256<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize) -> bool {
    staged::<S>(x, s, n)
}

/// Whether [`transform_checked`] runs `n` elements of `T` through [`staged_rec`] at
/// the current SIMD level (a length above the level's recursion leaf).
pub(crate) fn splits_checked<T: 'static>(n: usize) -> bool {
    let f32_ = TypeId::of::<T>() == TypeId::of::<f32>();
    let f64_ = TypeId::of::<T>() == TypeId::of::<f64>();
    match crate::simd::level() {
        crate::simd::Level::Avx512 => (f32_ && n > Z32::LEAF) || (f64_ && n > Z64::LEAF),
        crate::simd::Level::Avx2 => (f32_ && n > Y32::LEAF) || (f64_ && n > Y64::LEAF),
        _ => false,
    }
}

/// [`staged_rec`] with AVX-512 code.
///
/// # Safety
/// As for [`rec512`] with `src = x`, `dst = s` (distinct), and `n > S::LEAF`.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn staged_rec512<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize) -> bool {
    staged_rec::<S>(x, s, n, rec512::<S>)
}

/// [`staged_rec512`] with AVX2 code.
///
/// # Safety
/// As for [`rec256`] with `src = x`, `dst = s` (distinct), and `n > S::LEAF`.
#[target_feature(enable = "avx2,fma")]
unsafe fn staged_rec256<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize) -> bool {
    staged_rec::<S>(x, s, n, rec256::<S>)
}

/// [`rec`]'s split of `x[..n]` (`n > S::LEAF`) through the scratch `s`: the `r`
/// sub-blocks are transformed from `x` into `s`, the first element of each (the sum
/// of the sub-block's inputs) is probed as in [`staged`], and only then the top pass
/// goes from `s` into `x`. Returns false, with `x` unchanged, when `x` holds NaN or
/// infinity. The same sub-transforms and top pass as [`rec`]: the same bits.
///
/// # Safety
/// As for [`rec`] with `src = x`, `dst = s` (distinct), and `n > S::LEAF`.
#[inline(always)]
unsafe fn staged_rec<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize, whole: Whole<S>) -> bool {
    debug_assert!(n > S::LEAF);
    let r = top_radix::<S>(n);
    let sub = n / r;
    for i in 0..r {
        // SAFETY: sub-block i lies inside `[..n]` of both; `sub >= S::L1 / 2 >= S::W`.
        unsafe { whole(x.add(i * sub), s.add(i * sub), sub) };
    }
    let probes_finite = (0..r).all(|b| crate::Real::is_finite(*s.add(b * sub)));
    // SAFETY: `x` is valid for reads of `n` elements and nothing has written it.
    if !probes_finite && !crate::finite::slice_all_finite(std::slice::from_raw_parts(x, n)) {
        return false;
    }
    // SAFETY: as for this function; `sub` is a multiple of `S::W`.
    unsafe { pass_any::<S>(s, x, n, sub, r) };
    true
}

/// The whole transform of one contiguous vector, `src[..n]` into `dst[..n]`, as
/// [`rec512`] or [`rec256`] (`whole`) run it.
type Whole<S> = unsafe fn(*const <S as Simd>::E, *mut <S as Simd>::E, usize);

/// The whole transform, `src` → `dst` (equal pointers: in place). Lengths up to
/// `S::LEAF` run in cache; longer ones transform their `r` sub-blocks with `whole`
/// (the caller itself, compiled with its CPU features: a recursive function cannot
/// be inlined into it), then one radix-`r` pass applies the top levels in `dst`.
///
/// # Safety
/// As for [`rec512`], with the features `S` needs enabled in the caller, and
/// `whole` one of [`rec512`] / [`rec256`] that the CPU supports.
#[inline(always)]
unsafe fn rec<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize, whole: Whole<S>) {
    if n <= S::LEAF {
        in_cache::<S>(src, dst, n);
        return;
    }
    let r = top_radix::<S>(n);
    let sub = n / r;
    for i in 0..r {
        // SAFETY: sub-block i lies inside `[..n]` of both; `sub >= S::L1 / 2 >= S::W`.
        unsafe { whole(src.add(i * sub), dst.add(i * sub), sub) };
    }
    // SAFETY: as for this function; `sub` is a multiple of `S::W`.
    unsafe { pass_any::<S>(dst, dst, n, sub, r) };
}

/// Radix of the top pass of a recursion step on `n > S::L1` elements.
#[inline(always)]
fn top_radix<S: Simd>(n: usize) -> usize {
    (n / (S::L1 / 2)).min(S::RTOP)
}

/// The transform of `x[..n]` (`n <= S::L1`) through the scratch `s`: every pass of
/// [`in_cache`] but the last into `s`, a finite check of the partial result (see
/// [`transform_checked`]), then the last pass from `s` into `x`. Returns false, with
/// `x` unchanged, when `x` holds NaN or infinity.
///
/// # Safety
/// As for [`rec512`] with `src = x`, `dst = s` (distinct), the features `S` needs
/// enabled in the caller, and `n` above one base chunk ([`base_width`]) and at most
/// `S::L1`.
#[inline(always)]
unsafe fn staged<S: Simd>(x: *mut S::E, s: *mut S::E, n: usize) -> bool {
    debug_assert!(n <= S::L1);
    let k = base_width::<S>(n);
    debug_assert!(k * S::W < n);
    base_any::<S>(x, s, n, k);
    // The last pass is radix `r` from level `h`: its r blocks of h elements are
    // complete before it.
    let mut h = k * S::W;
    let r = loop {
        let r = radix::<S>(n, h);
        if h * r >= n {
            break r;
        }
        pass_any::<S>(s, s, n, h, r);
        h *= r;
    };
    let probes_finite = (0..r).all(|b| crate::Real::is_finite(*s.add(b * h)));
    // SAFETY: `x` is valid for reads of `n` elements and nothing writes it.
    if !probes_finite && !crate::finite::slice_all_finite(std::slice::from_raw_parts(x, n)) {
        return false;
    }
    pass_any::<S>(s, x, n, h, r);
    true
}

/// Registers per chunk of [`in_cache`]'s base pass on `n <= S::L1` elements. A
/// wider base chunk does one more level in registers (spilling some on AVX2, which
/// has 16 of them); it pays only when that removes a whole strided pass, e.g. AVX2
/// f32 at n = 2^10: 7 levels + one radix-8 pass instead of 6 + radix 8 + radix 2
/// (0.29 → 0.23 µs a call, hot; f64 at 2^9 0.26 → 0.21 µs); at 2^12 (6 + 8 + 8
/// against 7 + 8 + 4) it would only add the spills (1.13 → 1.24 µs). Same levels in
/// the same order, so the same bits.
#[inline(always)]
fn base_width<S: Simd>(n: usize) -> usize {
    let k = (n / S::W).min(S::RB);
    if S::RB_WIDE > k && n / S::W >= S::RB_WIDE && passes::<S>(n, S::RB_WIDE) < passes::<S>(n, k) {
        S::RB_WIDE
    } else {
        k
    }
}

/// All levels of `src[..n]` into `dst[..n]`, `S::W <= n <= S::L1` (one base pass,
/// then strided passes in `dst`).
///
/// # Safety
/// As for [`rec512`], with the features `S` needs enabled in the caller.
#[inline(always)]
unsafe fn in_cache<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize) {
    let k = base_width::<S>(n);
    base_any::<S>(src, dst, n, k);
    let mut h = k * S::W;
    while h < n {
        let r = radix::<S>(n, h);
        pass_any::<S>(dst, dst, n, h, r);
        h *= r;
    }
}

/// A base pass of `k` registers per chunk (`k` in 1, 2, 4, 8, 16).
///
/// # Safety
/// As for [`base`].
#[inline(always)]
unsafe fn base_any<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize, k: usize) {
    match k {
        1 => base::<S, 1>(src, dst, n),
        2 => base::<S, 2>(src, dst, n),
        4 => base::<S, 4>(src, dst, n),
        8 => base::<S, 8>(src, dst, n),
        _ => base::<S, 16>(src, dst, n),
    }
}

/// Radix of [`in_cache`]'s strided pass whose first level is `h` (of `n` elements).
#[inline(always)]
fn radix<S: Simd>(n: usize, h: usize) -> usize {
    (n / h).min(S::RMAX)
}

/// Strided passes [`in_cache`] runs on `n` elements after a base pass of `k`
/// registers per chunk.
#[inline(always)]
fn passes<S: Simd>(n: usize, k: usize) -> usize {
    let (mut h, mut count) = (k * S::W, 0);
    while h < n {
        h *= radix::<S>(n, h);
        count += 1;
    }
    count
}

/// A radix-`r` pass (`r` in 2, 4, 8, 16).
///
/// # Safety
/// As for [`pass`].
#[inline(always)]
unsafe fn pass_any<S: Simd>(src: *const S::E, dst: *mut S::E, n: usize, h: usize, r: usize) {
    match r {
        2 => pass::<S, 2>(src, dst, n, h),
        4 => pass::<S, 4>(src, dst, n, h),
        8 => pass::<S, 8>(src, dst, n, h),
        _ => pass::<S, 16>(src, dst, n, h),
    }
}

/// Levels `1, 2, …, K·W/2` on each chunk of `K` consecutive registers, from `src`
/// into `dst` (the same pointer: in place).
///
/// # Safety
/// `src` valid for reads and `dst` for writes of `n` elements, equal or not
/// overlapping, that nothing else accesses meanwhile; `n` a multiple of `K·W`; CPU
/// features of `S` enabled in the caller.
#[inline(always)]
unsafe fn base<S: Simd, const K: usize>(src: *const S::E, dst: *mut S::E, n: usize) {
    let mut i = 0;
    while i < n {
        // SAFETY: i + K·W <= n, so every register of the chunk is inside `[..n]`;
        // each chunk is read whole before any of it is written.
        unsafe {
            let (q, o) = (src.add(i), dst.add(i));
            let mut v = [S::ld(q); K];
            for (j, vj) in v.iter_mut().enumerate() {
                *vj = S::ld(q.add(j * S::W));
                for k in 0..S::LOW {
                    *vj = S::low(*vj, k);
                }
            }
            bfly::<S, K>(&mut v);
            for (j, &vj) in v.iter().enumerate() {
                S::st(o.add(j * S::W), vj);
            }
        }
        i += K * S::W;
    }
}

/// Levels `h, 2h, …, (R/2)·h` in one pass: `R` registers `h` apart per group, read
/// from `src` and written to `dst` (the same pointer: in place).
///
/// # Safety
/// `src` valid for reads and `dst` for writes of `n` elements, equal or not
/// overlapping, that nothing else accesses meanwhile; `h` a multiple of `S::W` and
/// `n` a multiple of `R·h`; CPU features of `S` enabled in the caller.
#[inline(always)]
unsafe fn pass<S: Simd, const R: usize>(src: *const S::E, dst: *mut S::E, n: usize, h: usize) {
    let mut b = 0;
    while b < n {
        let mut j = 0;
        while j < h {
            // SAFETY: b + j + (R−1)·h + W <= b + R·h <= n; each group is read whole
            // before any of it is written.
            unsafe {
                let (q, o) = (src.add(b + j), dst.add(b + j));
                let mut v = [S::ld(q); R];
                for (i, vi) in v.iter_mut().enumerate() {
                    *vi = S::ld(q.add(i * h));
                }
                bfly::<S, R>(&mut v);
                for (i, &vi) in v.iter().enumerate() {
                    S::st(o.add(i * h), vi);
                }
            }
            j += S::W;
        }
        b += R * h;
    }
}

/// Levels `1, 2, …, K/2` across `K` registers (register `i` holds elements `i`
/// strides apart), in ascending order.
#[inline(always)]
unsafe fn bfly<S: Simd, const K: usize>(v: &mut [S::V; K]) {
    let mut h = 1;
    while h < K {
        let mut i = 0;
        while i < K {
            for j in i..i + h {
                let (a, b) = (v[j], v[j + h]);
                v[j] = S::add(a, b);
                v[j + h] = S::sub(a, b);
            }
            i += 2 * h;
        }
        h *= 2;
    }
}
