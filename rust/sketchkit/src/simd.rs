//! Runtime SIMD dispatch. Kernels are written once as generic `#[inline(always)]`
//! functions; [`dispatch!`](crate::dispatch) compiles them again inside functions
//! with `#[target_feature]` (AVX-512, AVX2+FMA) and picks one by CPU detection at run
//! time. No build ever uses `-C target-cpu=native`.
//!
//! Every kernel computes each output element with the same sequence of IEEE
//! operations at every level, so all levels give identical bits; the scalar level is
//! the reference and is tested on every machine.

use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level the kernels can run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Portable code (still auto-vectorized for the baseline target).
    Scalar = 1,
    /// x86-64 AVX2 + FMA.
    Avx2 = 2,
    /// x86-64 AVX-512 F/VL/BW/DQ.
    Avx512 = 3,
}

impl Level {
    /// Lower-case name (`"scalar"`, `"avx2"`, `"avx512"`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Level {
    type Err = crate::SketchError;
    /// Parses a name given by [`Level::name`]; the error names `level`.
    fn from_str(s: &str) -> crate::Result<Level> {
        crate::sketch::parse_name(s, Level::ALL, Level::name, "level")
    }
}

static CAP: AtomicU8 = AtomicU8::new(0);

/// The best level this CPU supports (detected once, then cached).
#[inline]
pub fn detected() -> Level {
    static DETECTED: AtomicU8 = AtomicU8::new(0);
    match DETECTED.load(Ordering::Relaxed) {
        1 => Level::Scalar,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            let l = detect();
            DETECTED.store(l as u8, Ordering::Relaxed);
            l
        }
    }
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

/// The level kernels dispatch to: the detected one, lowered by [`set_cap`].
#[inline]
pub fn level() -> Level {
    let d = detected();
    match CAP.load(Ordering::Relaxed) {
        1 => Level::Scalar,
        2 => d.min(Level::Avx2),
        _ => d,
    }
}

/// Caps the dispatched level (testing and benchmarking hook); `None` removes the
/// cap. A cap above what the CPU supports has no effect.
pub fn set_cap(cap: Option<Level>) {
    CAP.store(cap.map_or(0, |l| l as u8), Ordering::Relaxed);
}

/// Cache level a prefetch asks for: L1 (and every level below).
#[cfg(target_arch = "x86_64")]
pub(crate) const PREFETCH_L1: i32 = std::arch::x86_64::_MM_HINT_T0;
/// Cache level a prefetch asks for: L2 (not L1).
#[cfg(target_arch = "x86_64")]
pub(crate) const PREFETCH_L2: i32 = std::arch::x86_64::_MM_HINT_T2;
#[cfg(not(target_arch = "x86_64"))]
pub(crate) const PREFETCH_L1: i32 = 0;
#[cfg(not(target_arch = "x86_64"))]
pub(crate) const PREFETCH_L2: i32 = 0;

/// Hints the CPU to load the line holding `p` into the cache level `HINT`
/// ([`PREFETCH_L1`] or [`PREFETCH_L2`]). No effect on results; `p` need not be
/// dereferenceable (the address is only formed, never read by the program).
#[inline(always)]
pub(crate) fn prefetch<const HINT: i32, T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of the x86-64 baseline, so the instruction exists; a
    // prefetch never faults and never changes program state, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<HINT>(p.cast::<i8>())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] of every cache line of `block`.
#[inline(always)]
pub(crate) fn prefetch_lines<const HINT: i32, T>(block: &[T]) {
    prefetch_span::<HINT, T>(block.as_ptr(), block.len());
}

/// [`prefetch`] of every cache line of the `len` elements from `p`, for memory that
/// cannot be borrowed as a slice here (e.g. output another slice may write). Like
/// [`prefetch`], the addresses are only formed (wrapping), never read.
#[inline(always)]
pub(crate) fn prefetch_span<const HINT: i32, T>(p: *const T, len: usize) {
    let step = (64 / std::mem::size_of::<T>().max(1)).max(1);
    for l in (0..len).step_by(step) {
        prefetch::<HINT, T>(p.wrapping_add(l));
    }
}

/// Identity; lets the dispatch macro put `#[inline(always)]` on its closure (closure
/// attributes are accepted in argument position).
#[doc(hidden)]
#[inline(always)]
pub fn closure<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

/// Calls `$body` (an expression using generic `#[inline(always)]` kernels) compiled
/// for the best level available.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch {
    ($body:expr) => {
        $crate::dispatch!(@at $crate::simd::level(), $body)
    };
    // At `$level`, which must not exceed `detected()`, the CPU's own level: any
    // value `level()` returned qualifies (e.g. `level().min(Level::Avx2)` for a
    // kernel measured faster with 256-bit vectors), even after the cap has changed
    // meanwhile (as when tests run side by side), since the cap is only a policy.
    (@at $level:expr, $body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,popcnt")]
            unsafe fn __avx512<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma,popcnt")]
            unsafe fn __avx2<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            // The body is a closure built outside any `unsafe` block, so unsafe
            // operations inside it still need their own `unsafe` and SAFETY comment.
            let body = $crate::simd::closure(
                #[inline(always)]
                || $body,
            );
            let level: $crate::simd::Level = $level;
            debug_assert!(level <= $crate::simd::detected());
            match level {
                // SAFETY: `detected()` reports Avx512 only when runtime detection
                // found every feature the function enables, and `level` is at most
                // `detected()` (the macro's contract).
                $crate::simd::Level::Avx512 => unsafe { __avx512(body) },
                // SAFETY: as above for AVX2, FMA and POPCNT.
                $crate::simd::Level::Avx2 => unsafe { __avx2(body) },
                $crate::simd::Level::Scalar => body(),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body
        }
    }};
}
