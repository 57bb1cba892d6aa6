//! The floating-point element types the kernels are generic over.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// Seals [`Real`]: kernels rely on its types being IEEE floats (all-zero bytes are
/// `+0.0`, see `error::Zeroed`).
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `f32` or `f64` (sealed: no other type implements it). One generic kernel serves
/// both; no per-dtype copies.
pub trait Real:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + Default
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + 'static
{
    /// 0
    const ZERO: Self;
    /// 1
    const ONE: Self;
    /// Name as NumPy spells it.
    const NAME: &'static str;
    /// Rounds an `f64` to this type.
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// Fused multiply-add `self * a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;
    /// `self` with its sign flipped when `neg` is 1 (and unchanged when 0): exactly
    /// `-self`, computed by a bit XOR so that kernels never branch on a sign.
    fn neg_if(self, neg: u32) -> Self;
    /// Bits of the type (32 or 64).
    const BITS: u32;
    /// A key whose unsigned order is IEEE 754's total order of the values (`-0`
    /// before `+0`); only the low [`Real::BITS`] bits are used.
    fn order_key(self) -> u64;
}

macro_rules! impl_real {
    ($t:ty, $b:ty, $name:literal) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn neg_if(self, neg: u32) -> Self {
                <$t>::from_bits(self.to_bits() ^ (<$b>::from(neg) << (<$b>::BITS - 1)))
            }
            const BITS: u32 = <$b>::BITS;
            #[inline(always)]
            fn order_key(self) -> u64 {
                let b = self.to_bits();
                let sign = <$b>::MAX ^ (<$b>::MAX >> 1);
                // negative: all bits flipped (larger magnitude first); otherwise the
                // sign bit set (after every negative)
                (if b & sign != 0 { !b } else { b | sign }) as u64
            }
        }
    };
}
impl_real!(f32, u32, "float32");
impl_real!(f64, u64, "float64");
