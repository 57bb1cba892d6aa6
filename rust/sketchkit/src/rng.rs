//! Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random
//! numbers: as easy as 1, 2, 3", SC'11), as specified by Random123.
//!
//! Every random quantity in the crate is a pure function of a 128-bit counter and a
//! 64-bit key. Operators derive the key from the user's seed and the counter from
//! `(family tag, column index, block index)`, so any entry can be regenerated
//! independently: this is what makes results identical for any thread count, any
//! chunking of the input, and any backend.

/// Philox multiplier for counter word 0.
const M0: u32 = 0xD251_1F53;
/// Philox multiplier for counter word 2.
const M1: u32 = 0xCD9E_8D57;
/// Weyl key increment for key word 0 (golden ratio).
const W0: u32 = 0x9E37_79B9;
/// Weyl key increment for key word 1 (sqrt(3) - 1).
const W1: u32 = 0xBB67_AE85;

/// One Philox4x32-10 block: 10 rounds over a 4-word counter under a 2-word key.
///
/// ```
/// use sketchkit::rng::philox4x32_10;
/// // Random123's first published known-answer vector.
/// assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
/// ```
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let out = philox4x32_10_lanes::<1>(ctr.map(|w| [w]), key);
    out.map(|[w]| w)
}

/// [`philox4x32_10`] on `L` counters at once (`c[w][l]` is word `w` of counter `l`):
/// the same function lane by lane, written so that the compiler vectorizes it.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane loops index four word arrays
pub fn philox4x32_10_lanes<const L: usize>(ctr: [[u32; L]; 4], key: [u32; 2]) -> [[u32; L]; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        for l in 0..L {
            let p0 = u64::from(M0) * u64::from(c[0][l]);
            let p1 = u64::from(M1) * u64::from(c[2][l]);
            let n0 = ((p1 >> 32) as u32) ^ c[1][l] ^ k[0];
            let n2 = ((p0 >> 32) as u32) ^ c[3][l] ^ k[1];
            c[0][l] = n0;
            c[1][l] = p1 as u32;
            c[2][l] = n2;
            c[3][l] = p0 as u32;
        }
    }
    c
}

/// Stream tags: the last counter word, one per use of randomness, so that no two
/// families (or two purposes inside one family) ever share counter values.
/// These numbers are part of the stream-stability contract: never renumber them.
pub mod tag {
    /// Dense Gaussian entries.
    pub const GAUSSIAN: u32 = 1;
    /// Dense Rademacher entries.
    pub const RADEMACHER: u32 = 2;
    /// Achlioptas/Li very sparse projection columns.
    pub const VERY_SPARSE: u32 = 3;
    /// Sparse sign embedding columns.
    pub const SPARSE_SIGN: u32 = 4;
    /// CountSketch columns.
    pub const COUNTSKETCH: u32 = 5;
    /// SRHT sign flips `D` (index 0, bit `j` of the stream's words).
    pub const SRHT_SIGNS: u32 = 6;
    /// SRHT sampled rows `P` (index 0, Floyd's sampling).
    pub const SRHT_ROWS: u32 = 7;
    /// Randomized Hadamard rotation signs (index = round).
    pub const HADAMARD_ROTATION: u32 = 8;
    /// Hashing: per-view operator seeds (index = view).
    pub const HASH_VIEW: u32 = 9;
    /// E2LSH offsets `b` (index = view).
    pub const E2LSH_OFFSET: u32 = 10;
    /// FlyHash expansion units' input samples (index = unit).
    pub const FLYHASH: u32 = 11;
    /// Class-wise shuffles of the mini-batch graph builder (index = class).
    pub const MINIBATCH: u32 = 12;
    /// Baselines' visiting orders and random subsets (index = purpose/class).
    pub const SELECTION: u32 = 13;
    /// Row samples for scale estimates and recall diagnostics.
    pub const SAMPLE: u32 = 14;
    /// Randomized linear algebra: derived operator seeds and pivot draws (index =
    /// purpose).
    pub const LINALG: u32 = 15;
    /// Row sampling with guarantees (`sampling`): i.i.d. importance draws, DPP steps,
    /// derived seeds (index = class code or purpose).
    pub const SAMPLING: u32 = 16;
    /// RS2's Feistel round keys (index = round of epochs).
    pub const RS2: u32 = 17;
    /// Random feature maps: weight rows (index = row), offsets, ORF blocks, SORF signs
    /// (index ranges in `features`).
    pub const RANDOM_FEATURES: u32 = 18;
    /// Sliced distances: projection directions (index = projection).
    pub const SLICED: u32 = 19;
    /// Partitioned selection: the routing operator's seed (index 0) and the centring
    /// sample (index 1).
    pub const PARTITION: u32 = 20;
}

/// The Philox key for a 64-bit seed.
#[inline]
pub fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// A sequential reader over the blocks `(0, 1, 2, ...)` of one keyed stream
/// `(tag, index)`. Words are consumed in order; the reader is cheap to create.
#[derive(Clone, Debug)]
pub struct Stream {
    key: [u32; 2],
    index: u64,
    tag: u32,
    block: u32,
    buf: [u32; 4],
    pos: usize,
}

impl Stream {
    /// The stream for `(seed, tag, index)`, positioned at word 0.
    #[inline]
    pub fn new(seed: u64, tag: u32, index: u64) -> Self {
        Self::at_block(seed, tag, index, 0)
    }

    /// The stream positioned at the first word of block `block`.
    #[inline]
    pub fn at_block(seed: u64, tag: u32, index: u64, block: u32) -> Self {
        Stream {
            key: key_of(seed),
            index,
            tag,
            block,
            buf: [0; 4],
            pos: 4,
        }
    }

    /// The four words of block `block` of this stream (random access).
    #[inline(always)]
    pub fn block_words(seed: u64, tag: u32, index: u64, block: u32) -> [u32; 4] {
        philox4x32_10(
            [block, index as u32, (index >> 32) as u32, tag],
            key_of(seed),
        )
    }

    /// Block `block` of the `L` streams `(seed, tag, index0 + l)` at once: word `w` of
    /// stream `l` is `out[w][l]`, equal to
    /// `block_words(seed, tag, index0 + l, block)[w]`.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // one loop fills four word arrays
    pub fn block_words_lanes<const L: usize>(
        seed: u64,
        tag: u32,
        index0: u64,
        block: u32,
    ) -> [[u32; L]; 4] {
        let mut ctr = [[block; L], [0; L], [0; L], [tag; L]];
        for l in 0..L {
            let index = index0.wrapping_add(l as u64);
            ctr[1][l] = index as u32;
            ctr[2][l] = (index >> 32) as u32;
        }
        philox4x32_10_lanes(ctr, key_of(seed))
    }

    /// Next 32-bit word.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == 4 {
            self.buf = philox4x32_10(
                [
                    self.block,
                    self.index as u32,
                    (self.index >> 32) as u32,
                    self.tag,
                ],
                self.key,
            );
            self.block = self.block.wrapping_add(1);
            self.pos = 0;
        }
        let w = self.buf[self.pos];
        self.pos += 1;
        w
    }

    /// Next 64-bit word (two 32-bit words, first one low).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        let hi = u64::from(self.next_u32());
        lo | (hi << 32)
    }

    /// Uniform integer in `[0, n)` for `n >= 1`, exactly unbiased (Lemire's
    /// multiply-and-reject method).
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        debug_assert!(n >= 1);
        let mut m = u64::from(self.next_u32()) * u64::from(n);
        if (m as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u32) < threshold {
                m = u64::from(self.next_u32()) * u64::from(n);
            }
        }
        (m >> 32) as u32
    }
}

/// The words of a [`Stream`], in the same order, computed `L` Philox blocks at a time
/// in SIMD lanes: for long sequential draws (a very sparse column's ~`density · k`
/// 64-bit draws). The last refill may compute up to `L − 1` blocks that are not read.
pub struct LaneStream<const L: usize> {
    key: [u32; 2],
    index: u64,
    tag: u32,
    block: u32,
    /// Words of blocks `block − L … block − 1`, in stream order.
    buf: [[u32; 4]; L],
    pos: usize,
}

impl<const L: usize> LaneStream<L> {
    /// The stream for `(seed, tag, index)`, positioned at word 0.
    #[inline(always)]
    pub fn new(seed: u64, tag: u32, index: u64) -> Self {
        LaneStream {
            key: key_of(seed),
            index,
            tag,
            block: 0,
            buf: [[0; 4]; L],
            pos: 4 * L,
        }
    }

    /// Next 32-bit word (equal to [`Stream::next_u32`] on the same stream).
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == 4 * L {
            let mut ctr = [[0u32; L]; 4];
            for (l, c) in ctr[0].iter_mut().enumerate() {
                *c = self.block.wrapping_add(l as u32);
            }
            ctr[1] = [self.index as u32; L];
            ctr[2] = [(self.index >> 32) as u32; L];
            ctr[3] = [self.tag; L];
            let out = philox4x32_10_lanes(ctr, self.key);
            for (l, b) in self.buf.iter_mut().enumerate() {
                *b = [out[0][l], out[1][l], out[2][l], out[3][l]];
            }
            self.block = self.block.wrapping_add(L as u32);
            self.pos = 0;
        }
        let w = self.buf[self.pos / 4][self.pos % 4];
        self.pos += 1;
        w
    }

    /// Next 64-bit word (equal to [`Stream::next_u64`] on the same stream).
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        let hi = u64::from(self.next_u32());
        lo | (hi << 32)
    }
}

/// `n` sign bits (bit `j` set means −1) from the stream `(seed, tag, index)`: bit
/// `j % 32` of word `(j / 32) % 4` of block `j / 128`. Entry `j` depends on `j` only.
/// The vector is reserved fallibly: an allocation failure is an error, not an abort.
pub fn sign_bits(seed: u64, tag: u32, index: u64, n: usize) -> crate::Result<Vec<u64>> {
    let mut bits = crate::error::try_vec(n.div_ceil(64), 0u64, "sign bits")?;
    for b in 0..n.div_ceil(128) {
        let w = Stream::block_words(seed, tag, index, b as u32);
        let base = b * 2;
        bits[base] = u64::from(w[0]) | (u64::from(w[1]) << 32);
        if base + 1 < bits.len() {
            bits[base + 1] = u64::from(w[2]) | (u64::from(w[3]) << 32);
        }
    }
    if !n.is_multiple_of(64) {
        if let Some(last) = bits.last_mut() {
            *last &= (1u64 << (n % 64)) - 1;
        }
    }
    Ok(bits)
}

/// Bit `j` of a [`sign_bits`] vector (1 = negative).
#[inline(always)]
pub fn sign_bit(bits: &[u64], j: usize) -> u32 {
    ((bits[j / 64] >> (j % 64)) & 1) as u32
}

/// `k` distinct integers from `[0, n)` drawn uniformly (Floyd's algorithm: exactly `k`
/// draws), returned in ascending order.
pub fn sample_without_replacement(stream: &mut Stream, n: u32, k: u32) -> Vec<u32> {
    let mut taken = vec![0u64; (n as usize).div_ceil(64)];
    let mut out = Vec::with_capacity(k as usize);
    for t in (n - k)..n {
        let r = stream.below(t + 1);
        let v = if (taken[r as usize / 64] >> (r % 64)) & 1 == 1 {
            t
        } else {
            r
        };
        taken[v as usize / 64] |= 1 << (v % 64);
        out.push(v);
    }
    out.sort_unstable();
    out
}

/// Uniform double in the open interval (0, 1) from the top 52 bits of `w`:
/// `(⌊w / 2^12⌋ + 1/2) / 2^52`, exact in `f64`, never 0 or 1.
#[inline(always)]
pub fn open01(w: u64) -> f64 {
    // `m = ⌊w / 2^12⌋ < 2^52`: the double with bits `0x4330… | m` is `2^52 + m`, and
    // subtracting `2^52 − 1/2` leaves `m + 1/2` exactly. The same value as the
    // conversion `m as f64 + 0.5`, but integer OR and a float subtraction vectorize
    // on AVX2, which has no 64-bit integer to double conversion.
    const TWO52: u64 = 0x4330_0000_0000_0000;
    (f64::from_bits(TWO52 | (w >> 12)) - (4_503_599_627_370_496.0 - 0.5))
        * (1.0 / 4_503_599_627_370_496.0)
}

/// Natural logarithm of a positive, finite, normal `x`, computed by the same IEEE-754
/// operations on every platform and SIMD level: no library call and no fused
/// multiply-add (Rust never contracts `a * b + c`), so draws built on it are the same
/// bits on every machine, whatever its `libm`; and a loop of calls vectorizes.
///
/// With `x = 2^k · m`, `m ∈ [√½, √2)` (read off the bits), `f = m − 1` and
/// `s = f / (2 + f)`:
///
/// `ln x = k ln 2 + ln((1 + s) / (1 − s)) = k ln 2 + f − (f²/2 − s (f²/2 + R(s²)))`,
///
/// where `R(z) ≈ 2z/3 + 2z²/5 + 2z³/7 + …` is the classic degree-7 minimax fit of
/// `(ln((1 + s)/(1 − s)) − 2s)/s` on `|s| ≤ 0.1716` and `ln 2` is split into a head
/// whose multiples by `|k| < 2^11` are exact and a tail. Error below one unit in the
/// last place (a test compares it with the platform's `ln` over the whole range of
/// [`open01`]).
#[inline(always)]
pub fn ln_normal(x: f64) -> f64 {
    // ln 2 = LN2_HI + LN2_LO; the head ends in 20 zero bits, so k · LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // 6.93147180369123816490e-1
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // 1.90821492927058770002e-10
    const LG: [f64; 7] = [
        f64::from_bits(0x3fe5_5555_5555_5593), // 6.666666666666735130e-01
        f64::from_bits(0x3fd9_9999_9997_fa04), // 3.999999999940941908e-01
        f64::from_bits(0x3fd2_4924_9422_9359), // 2.857142874366239149e-01
        f64::from_bits(0x3fcc_71c5_1d8e_78af), // 2.222219843214978396e-01
        f64::from_bits(0x3fc7_4664_96cb_03de), // 1.818357216161805012e-01
        f64::from_bits(0x3fc3_9a09_d078_c69f), // 1.531383769920937332e-01
        f64::from_bits(0x3fc2_f112_df3e_5244), // 1.479819860511658591e-01
    ];
    // Bits of √½: adding `ONE − SQRT_HALF` carries into the exponent exactly when the
    // significand is at least √2's, so `k` and `m ∈ [√½, √2)` come out branch-free.
    const ONE: u64 = 0x3ff0_0000_0000_0000;
    const SQRT_HALF: u64 = 0x3fe6_a09e_667f_3bcd;
    const MANTISSA: u64 = (1 << 52) - 1;
    let i = x.to_bits().wrapping_add(ONE - SQRT_HALF);
    let k = ((i >> 52) as i32 - 1023) as f64;
    let m = f64::from_bits((i & MANTISSA) + SQRT_HALF);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let even = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let odd = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = odd + even;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

/// `ln(1 + x)` for `x ∈ [−1, 0]`, from [`ln_normal`] and IEEE operations only (the
/// same bits on every platform): with `u = fl(1 + x)`, `x · ln(u) / (u − 1)`, which
/// corrects the rounding of `1 + x` (Goldberg's formula: a few units in the last
/// place, where `ln(u)` alone loses `x`'s low digits); `x` itself when `u = 1`, and
/// `−∞` at `x = −1`.
#[inline]
pub fn ln_1p_neg(x: f64) -> f64 {
    let u = 1.0 + x;
    if u == 1.0 {
        x
    } else if u == 0.0 {
        f64::NEG_INFINITY
    } else {
        ln_normal(u) * x / (u - 1.0)
    }
}

/// Four standard normal deviates from one Philox block (two Box–Muller pairs, each
/// from two 32-bit words: `u1 = (w + 1/2)/2^32 ∈ (0, 1)`, `u2 = w/2^32`).
#[inline(always)]
pub fn gaussians4(w: [u32; 4]) -> [f64; 4] {
    const INV32: f64 = 1.0 / 4_294_967_296.0;
    let u1 = (f64::from(w[0]) + 0.5) * INV32;
    let u2 = f64::from(w[1]) * INV32;
    let u3 = (f64::from(w[2]) + 0.5) * INV32;
    let u4 = f64::from(w[3]) * INV32;
    let r1 = (-2.0 * u1.ln()).sqrt();
    let r2 = (-2.0 * u3.ln()).sqrt();
    let (s1, c1) = (std::f64::consts::TAU * u2).sin_cos();
    let (s2, c2) = (std::f64::consts::TAU * u4).sin_cos();
    [r1 * c1, r1 * s1, r2 * c2, r2 * s2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's `kat_vectors`, the three `philox4x32 10` lines:
    /// counter (4 words), key (2 words), expected output (4 words).
    #[test]
    fn philox_known_answers() {
        let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0; 4],
                [0; 2],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in kat {
            assert_eq!(philox4x32_10(ctr, key), want);
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn lanes_match_scalar() {
        let key = key_of(0x0123_4567_89ab_cdef);
        let mut ctr = [[0u32; 16]; 4];
        for l in 0..16 {
            ctr[0][l] = l as u32 * 7;
            ctr[1][l] = u32::MAX - l as u32;
            ctr[2][l] = l as u32;
            ctr[3][l] = 5;
        }
        let out = philox4x32_10_lanes(ctr, key);
        for l in 0..16 {
            let one = philox4x32_10([ctr[0][l], ctr[1][l], ctr[2][l], ctr[3][l]], key);
            assert_eq!(one, [out[0][l], out[1][l], out[2][l], out[3][l]]);
        }
    }

    #[test]
    fn stream_is_sequential_blocks() {
        let mut s = Stream::new(42, tag::GAUSSIAN, 7);
        for b in 0..3u32 {
            let w = Stream::block_words(42, tag::GAUSSIAN, 7, b);
            for x in w {
                assert_eq!(s.next_u32(), x);
            }
        }
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut s = Stream::new(1, 99, 0);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            let v = s.below(7);
            counts[v as usize] += 1;
        }
        for c in counts {
            // mean 10000, sd ~ 92: 6 sd bound
            assert!((c as i64 - 10_000).abs() < 560, "{counts:?}");
        }
    }

    #[test]
    fn gaussian_moments() {
        let n = 40_000u32;
        let (mut s1, mut s2) = (0.0, 0.0);
        for b in 0..n / 4 {
            for g in gaussians4(Stream::block_words(3, tag::GAUSSIAN, 0, b)) {
                s1 += g;
                s2 += g * g;
            }
        }
        let mean = s1 / f64::from(n);
        let var = s2 / f64::from(n) - mean * mean;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.04, "{var}");
    }

    #[test]
    fn lane_stream_reads_the_stream_words() {
        for index in [0u64, 7, u64::from(u32::MAX) + 3] {
            let mut s = Stream::new(42, tag::VERY_SPARSE, index);
            let mut l = LaneStream::<8>::new(42, tag::VERY_SPARSE, index);
            let mut l3 = LaneStream::<3>::new(42, tag::VERY_SPARSE, index);
            for _ in 0..200 {
                let w = s.next_u64();
                assert_eq!(l.next_u64(), w);
                assert_eq!(l3.next_u64(), w);
            }
        }
    }

    #[test]
    fn ln_normal_within_an_ulp_of_the_platform_ln() {
        // Random significands in every binade of the normal range, open01's ends, the
        // √2 split and a million open01 draws.
        let mut s = Stream::new(7, 0, 0);
        let check = |x: f64| {
            let (a, b) = (ln_normal(x), x.ln());
            assert!(
                a.to_bits().abs_diff(b.to_bits()) <= 1,
                "ln({x:e}): {a:e} against {b:e}"
            );
        };
        for e in -1022..1024 {
            for _ in 0..100 {
                let m = f64::from_bits(0x3ff0_0000_0000_0000 | (s.next_u64() >> 12));
                check(m * 2f64.powi(e));
            }
        }
        for w in [0u64, 1, u64::MAX, 1 << 63] {
            check(open01(w));
        }
        let r2 = std::f64::consts::SQRT_2;
        for x in [
            r2,
            r2.next_up(),
            r2.next_down(),
            0.5 * r2,
            1.0,
            2.0,
            0.5,
            f64::MAX,
        ] {
            check(x);
        }
        assert_eq!(ln_normal(1.0), 0.0);
        for _ in 0..1_000_000 {
            check(open01(s.next_u64()));
        }
    }

    #[test]
    fn ln_1p_neg_is_close_to_the_platform_ln_1p() {
        let mut s = Stream::new(9, 0, 0);
        let check = |x: f64| {
            let (a, b) = (ln_1p_neg(x), x.ln_1p());
            assert!(
                a.to_bits().abs_diff(b.to_bits()) <= 4,
                "ln_1p({x:e}): {a:e} vs {b:e}"
            );
        };
        for e in 0..60 {
            for _ in 0..1000 {
                check(-open01(s.next_u64()) * 2f64.powi(-e));
            }
        }
        for x in [-1e-300, -1e-17, -0.5, -1.0 / 3.0, -0.999_999, -f64::EPSILON] {
            check(x);
        }
        assert_eq!(ln_1p_neg(0.0), 0.0);
        assert_eq!(ln_1p_neg(-1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn open01_bounds() {
        assert!(open01(0) > 0.0);
        assert!(open01(u64::MAX) < 1.0);
        // the bit construction is the plain conversion
        let mut s = Stream::new(3, 0, 0);
        for w in (0..100_000)
            .map(|_| s.next_u64())
            .chain([0, 1 << 12, u64::MAX])
        {
            let want = ((w >> 12) as f64 + 0.5) * (1.0 / 4_503_599_627_370_496.0);
            assert_eq!(open01(w).to_bits(), want.to_bits());
        }
    }
}
