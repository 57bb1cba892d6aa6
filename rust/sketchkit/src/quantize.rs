//! Exhaustive search over compact embedding codes, for scalar-quantized embeddings:
//!
//! * [`search_u8`]: scores `⟨q, c⟩` of `i16` queries against `u8` codes, summed exactly
//!   in `i32` (integer sums: the same result at every SIMD level and thread count);
//!   an explicit AVX2 kernel (also run at the AVX-512 level) multiplies pairs with
//!   `vpmaddwd`, which bounds the scan (about 20 products per cycle on the AVX-512
//!   machines measured);
//! * [`search_hamming`]: Hamming distances between packed binary codes: a `vpshufb`
//!   nibble-table count over 8 queries at once for codes of whole 64-bit words,
//!   `popcnt` otherwise.
//!
//! Both return, per query, the `k` best codes: highest score (lowest distance) first,
//! ties broken by the smaller index.

use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::simd::{prefetch_lines, PREFETCH_L2};
use rayon::prelude::*;

/// Queries per work item: each code row is read once per block.
const QUERY_BLOCK: usize = 8;
/// Most queries per work item of [`search_u8`] (the codes are read once per block;
/// 64 → 256 took 1000 queries over 100,000 codes of 384 bytes from 1340 to 1610 per
/// second on one thread). Fewer when that would leave a thread without a block; the
/// blocks do not change any result.
const U8_QUERY_BLOCK: usize = 256;
/// Codes (an even number) that [`search_u8`] keeps in L1, widened to `i16`, while a
/// block of queries passes over them.
const CODE_CHUNK: usize = 16;

/// Largest `|q_j|` for which an `i32` sum of `d` products `q_j · c_j` (`c_j ≤ 255`)
/// cannot overflow: `min(32767, ⌊(2³¹ − 1) / (255 d)⌋)`.
pub fn max_query_magnitude(d: usize) -> i32 {
    let lim = (i32::MAX as i64) / (255 * d.max(1) as i64);
    lim.min(32767) as i32
}

fn check(n: usize, m: usize, k: usize) -> Result<()> {
    if k == 0 {
        return Err(SketchError::arg("k", "must be at least 1"));
    }
    if k > n {
        return Err(SketchError::arg(
            "k",
            format!("is {k}, more than the {n} codes searched"),
        ));
    }
    let _ = checked_mul(m, k, "k", "queries * k")?;
    Ok(())
}

/// The `k` best `(score, index)` pairs seen so far, best first (`better` orders them).
struct TopK<S> {
    items: Vec<(S, usize)>,
    k: usize,
}

impl<S: Copy + PartialOrd> TopK<S> {
    fn new(k: usize) -> Self {
        TopK {
            items: Vec::with_capacity(k + 1),
            k,
        }
    }
    /// Offers `(s, i)`; `higher` says whether larger scores are better. Indices arrive
    /// in increasing order, so an equal score never displaces an earlier index.
    #[inline(always)]
    fn offer(&mut self, s: S, i: usize, higher: bool) {
        let beats = |a: S, b: S| if higher { a > b } else { a < b };
        if self.items.len() == self.k {
            let worst = self.items[self.k - 1].0;
            if !beats(s, worst) {
                return;
            }
            self.items.pop();
        }
        let pos = self.items.partition_point(|&(t, _)| !beats(s, t));
        self.items.insert(pos, (s, i));
    }
}

/// Top-`k` inner products of `m` queries (`m × d` row-major `i16`, each `|q_j|` at most
/// [`max_query_magnitude`]`(d)`) against `n` codes (`n × d` row-major `u8`). Returns
/// `(indices, scores)`, each `m × k` row-major.
pub fn search_u8(
    codes: &[u8],
    n: usize,
    queries: &[i16],
    m: usize,
    d: usize,
    k: usize,
) -> Result<(Vec<i64>, Vec<i32>)> {
    check(n, m, k)?;
    if codes.len() != checked_mul(n, d, "codes", "n * d")? {
        return Err(SketchError::ShapeMismatch(format!(
            "codes hold {} bytes, expected {n} x {d}",
            codes.len()
        )));
    }
    if queries.len() != checked_mul(m, d, "queries", "m * d")? {
        return Err(SketchError::ShapeMismatch(format!(
            "queries hold {} values, expected {m} x {d}",
            queries.len()
        )));
    }
    let lim = max_query_magnitude(d);
    if queries.iter().any(|&q| (q as i32).abs() > lim) {
        return Err(SketchError::arg(
            "queries",
            format!("a value exceeds {lim} in magnitude (an i32 sum could overflow)"),
        ));
    }
    let mut idx = try_vec(m * k, 0i64, "the result indices")?;
    let mut score = try_vec(m * k, 0i32, "the result scores")?;
    let threads = crate::parallel::get_num_threads()?;
    let block = m
        .div_ceil(threads)
        .next_multiple_of(4)
        .clamp(4, U8_QUERY_BLOCK);
    crate::parallel::install(|| {
        idx.par_chunks_mut(block * k)
            .zip(score.par_chunks_mut(block * k))
            .enumerate()
            .for_each(|(b, (ib, sb))| {
                let q0 = b * block;
                let nq = ib.len() / k;
                let qs = &queries[q0 * d..(q0 + nq) * d];
                let mut tops: Vec<TopK<i32>> = (0..nq).map(|_| TopK::new(k)).collect();
                // A chunk of codes, widened to i16 once, stays in L1 while every group
                // of four queries passes over it, so the codes are read from memory
                // once per block of queries. A short group repeats its last query and
                // a short last chunk its last code; the repeats' scores are dropped.
                let query = |j: usize| &qs[j.min(nq - 1) * d..(j.min(nq - 1) + 1) * d];
                // A code scores for query `q` only above `floor[q]`: the worst of a
                // full top-k (an equal score never displaces an earlier index).
                let mut floor = vec![i32::MIN; nq];
                let mut wide = vec![0i16; CODE_CHUNK * d];
                let mut scores = [[0i32; 4]; CODE_CHUNK];
                for c0 in (0..n).step_by(CODE_CHUNK) {
                    let c1 = (c0 + CODE_CHUNK).min(n);
                    // the chunk's codes widened to i16 once, for every query group
                    // (a short last chunk repeats its last code; those scores are
                    // dropped)
                    for (i, w) in (c0..c0 + CODE_CHUNK).zip(wide.chunks_exact_mut(d.max(1))) {
                        let c = &codes[i.min(n - 1) * d..(i.min(n - 1) + 1) * d];
                        for (wv, &cv) in w.iter_mut().zip(c) {
                            *wv = i16::from(cv);
                        }
                    }
                    // the next chunk's codes into L2 while this one is scored, a few
                    // lines per query group
                    let next = &codes[(c1 * d).min(codes.len())..(c1 + CODE_CHUNK).min(n) * d];
                    let per_group = next.len().div_ceil(64 * nq.div_ceil(4)).max(1) * 64;
                    for g in (0..nq).step_by(4) {
                        let at = (g / 4 * per_group).min(next.len());
                        prefetch_lines::<PREFETCH_L2, _>(
                            &next[at..(at + per_group).min(next.len())],
                        );
                        let group = [query(g), query(g + 1), query(g + 2), query(g + 3)];
                        dots_chunk(&wide, group, &mut scores);
                        for (r, row) in scores.iter().enumerate().take(c1 - c0) {
                            for (j, &v) in row.iter().enumerate().take(nq - g) {
                                if v > floor[g + j] {
                                    let t = &mut tops[g + j];
                                    t.offer(v, c0 + r, true);
                                    if t.items.len() == k {
                                        floor[g + j] = t.items[k - 1].0;
                                    }
                                }
                            }
                        }
                    }
                }
                for (q, t) in tops.into_iter().enumerate() {
                    for (r, (v, i)) in t.items.into_iter().enumerate() {
                        ib[q * k + r] = i as i64;
                        sb[q * k + r] = v;
                    }
                }
            });
    })?;
    Ok((idx, score))
}

/// `⟨c, q⟩` summed exactly in `i32` (the bound on `|q_j|` rules out overflow).
#[inline(always)]
fn dot_u8_i16(c: &[i16], q: &[i16]) -> i32 {
    let mut acc = 0i32;
    for (&a, &b) in c.iter().zip(q) {
        acc = acc.wrapping_add(a as i32 * b as i32);
    }
    acc
}

/// `out[r][j] = ⟨c_r, q[j]⟩` for the [`CODE_CHUNK`] codes of `c` (`i16` rows, one
/// length with the queries). Integer sums are exact, so the SIMD kernel (pairwise
/// `i16` products summed in `i32` lanes) gives the portable loop's result.
fn dots_chunk(c: &[i16], q: [&[i16]; 4], out: &mut [[i32; 4]; CODE_CHUNK]) {
    let d = q[0].len();
    assert!(c.len() == CODE_CHUNK * d && q.iter().all(|v| v.len() == d));
    #[cfg(target_arch = "x86_64")]
    {
        let qp = [q[0].as_ptr(), q[1].as_ptr(), q[2].as_ptr(), q[3].as_ptr()];
        if crate::simd::level() != crate::simd::Level::Scalar {
            // SAFETY: `c` holds CODE_CHUNK rows of `d` elements and every query `d`
            // elements (asserted above); the AVX2 and AVX-512 levels both imply AVX2,
            // the kernel's only feature.
            return unsafe { dots_x86::avx2(c.as_ptr(), qp, d, out) };
        }
    }
    for (o, cr) in out.iter_mut().zip(c.chunks_exact(d.max(1))) {
        for (v, qr) in o.iter_mut().zip(q) {
            *v = dot_u8_i16(cr, qr);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod dots_x86 {
    use std::arch::x86_64::*;

    /// The CODE_CHUNK codes at `c` (`i16` rows of `d`) against four queries, two codes
    /// at a time: 16 elements per step, `vpmaddwd` into 8 `i32` lanes, a scalar tail.
    /// The AVX-512 level runs it too: a 512-bit twin measured only ≈ 2 % faster on an
    /// AVX-512 machine, where the multiply's throughput per cycle is the same.
    ///
    /// # Safety
    /// `c` must be valid for reads of `CODE_CHUNK · d` elements and every query
    /// pointer for `d`; the CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2(
        c: *const i16,
        q: [*const i16; 4],
        d: usize,
        out: &mut [[i32; 4]; super::CODE_CHUNK],
    ) {
        let full = d / 16 * 16;
        for (p, pair) in out.chunks_exact_mut(2).enumerate() {
            let cr = [c.add(2 * p * d), c.add((2 * p + 1) * d)];
            let mut acc = [[_mm256_setzero_si256(); 4]; 2];
            for o in (0..full).step_by(16) {
                let cv = [
                    _mm256_loadu_si256(cr[0].add(o).cast()),
                    _mm256_loadu_si256(cr[1].add(o).cast()),
                ];
                for (j, &qr) in q.iter().enumerate() {
                    let qv = _mm256_loadu_si256(qr.add(o).cast());
                    for r in 0..2 {
                        acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(cv[r], qv));
                    }
                }
            }
            for r in 0..2 {
                // [Σ acc[r][0], …, Σ acc[r][3]] by pairwise horizontal sums
                let s01 = _mm256_hadd_epi32(acc[r][0], acc[r][1]);
                let s23 = _mm256_hadd_epi32(acc[r][2], acc[r][3]);
                let s = _mm256_hadd_epi32(s01, s23);
                let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256::<1>(s));
                _mm_storeu_si128(pair[r].as_mut_ptr().cast(), s);
                for (j, &qr) in q.iter().enumerate() {
                    for t in full..d {
                        let v = i32::from(*cr[r].add(t)) * i32::from(*qr.add(t));
                        pair[r][j] = pair[r][j].wrapping_add(v);
                    }
                }
            }
        }
    }
}

/// Top-`k` nearest codes in Hamming distance: `n` packed codes and `m` packed queries of
/// `b` bytes each. Returns `(indices, distances)`, each `m × k` row-major.
pub fn search_hamming(
    codes: &[u8],
    n: usize,
    queries: &[u8],
    m: usize,
    b: usize,
    k: usize,
) -> Result<(Vec<i64>, Vec<u32>)> {
    check(n, m, k)?;
    if codes.len() != checked_mul(n, b, "codes", "n * bytes")? {
        return Err(SketchError::ShapeMismatch(format!(
            "codes hold {} bytes, expected {n} x {b}",
            codes.len()
        )));
    }
    if queries.len() != checked_mul(m, b, "queries", "m * bytes")? {
        return Err(SketchError::ShapeMismatch(format!(
            "queries hold {} bytes, expected {m} x {b}",
            queries.len()
        )));
    }
    let mut idx = try_vec(m * k, 0i64, "the result indices")?;
    let mut dist = try_vec(m * k, 0u32, "the result distances")?;
    crate::parallel::install(|| {
        idx.par_chunks_mut(QUERY_BLOCK * k)
            .zip(dist.par_chunks_mut(QUERY_BLOCK * k))
            .enumerate()
            .for_each(|(blk, (ib, db))| {
                let q0 = blk * QUERY_BLOCK;
                let nq = ib.len() / k;
                let qs = &queries[q0 * b..(q0 + nq) * b];
                let mut tops: Vec<TopK<u32>> = (0..nq).map(|_| TopK::new(k)).collect();
                scan_hamming(codes, n, qs, b, &mut tops);
                for (q, t) in tops.into_iter().enumerate() {
                    for (r, (v, i)) in t.items.into_iter().enumerate() {
                        ib[q * k + r] = i as i64;
                        db[q * k + r] = v;
                    }
                }
            });
    })?;
    Ok((idx, dist))
}

/// Offers every code's distance to each query of the block to its [`TopK`]. Codes of
/// whole 64-bit words take the AVX2 kernel (at the AVX2 and AVX-512 levels); others use
/// the `popcnt` instruction when the CPU has it and the SIMD level is not capped to
/// scalar (integer counts: the same result every way).
fn scan_hamming(codes: &[u8], n: usize, qs: &[u8], b: usize, tops: &mut [TopK<u32>]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "popcnt")]
        unsafe fn with_popcnt(codes: &[u8], n: usize, qs: &[u8], b: usize, tops: &mut [TopK<u32>]) {
            scan_hamming_body(codes, n, qs, b, tops)
        }
        let nq = tops.len();
        if crate::simd::level() != crate::simd::Level::Scalar
            && b > 0
            && b.is_multiple_of(8)
            && (1..=QUERY_BLOCK).contains(&nq)
            && codes.len() >= n * b
            && qs.len() >= nq * b
        {
            // SAFETY: the level is AVX2 or AVX-512, so the CPU has AVX2 (the only
            // feature the function enables); the sizes it requires were checked just
            // above.
            unsafe { hamming_x86::scan(codes, n, qs, b / 8, tops) };
            return;
        }
        if crate::simd::level() != crate::simd::Level::Scalar
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the CPU supports popcnt (detected at run time just above), the
            // only feature the function enables.
            unsafe { with_popcnt(codes, n, qs, b, tops) };
            return;
        }
    }
    scan_hamming_body(codes, n, qs, b, tops)
}

#[cfg(target_arch = "x86_64")]
mod hamming_x86 {
    use super::TopK;
    use std::arch::x86_64::*;

    /// Word `w` of a code or query (little-endian, as the scalar kernel reads it).
    #[inline(always)]
    fn word(row: &[u8], w: usize) -> i64 {
        i64::from_le_bytes(row[8 * w..8 * w + 8].try_into().unwrap_or([0; 8]))
    }

    /// Distances of every code to up to 8 queries at once: the queries' word `w` in
    /// the 64-bit lanes of two vectors, each code word broadcast and XORed against
    /// them, bytes counted by a nibble table (`vpshufb`) into byte sums (at most 8 per
    /// word, so 31 words fit a byte) and those summed into 64-bit lanes (`vpsadbw`).
    ///
    /// # Safety
    /// The CPU must have AVX2; `codes` must hold `n` codes and `qs` `tops.len()`
    /// (1 to 8) queries of `8 · words` bytes each.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan(
        codes: &[u8],
        n: usize,
        qs: &[u8],
        words: usize,
        tops: &mut [TopK<u32>],
    ) {
        let (b, nq) = (8 * words, tops.len());
        // A short block repeats its last query; the repeats' distances are dropped.
        let query = |j: usize| &qs[j.min(nq - 1) * b..(j.min(nq - 1) + 1) * b];
        let qt: Vec<[__m256i; 2]> = (0..words)
            .map(|w| {
                let q = |j: usize| word(query(j), w);
                [
                    _mm256_setr_epi64x(q(0), q(1), q(2), q(3)),
                    _mm256_setr_epi64x(q(4), q(5), q(6), q(7)),
                ]
            })
            .collect();
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        let count = |v: __m256i| {
            let lo = _mm256_and_si256(v, low);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
            _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
        };
        for (i, c) in codes.chunks_exact(b).take(n).enumerate() {
            let (mut t0, mut t1) = (zero, zero);
            let mut w0 = 0;
            while w0 < words {
                let w1 = words.min(w0 + 31);
                let (mut a0, mut a1) = (zero, zero);
                for (qw, w) in qt[w0..w1].iter().zip(w0..) {
                    let x = _mm256_set1_epi64x(word(c, w));
                    a0 = _mm256_add_epi8(a0, count(_mm256_xor_si256(x, qw[0])));
                    a1 = _mm256_add_epi8(a1, count(_mm256_xor_si256(x, qw[1])));
                }
                t0 = _mm256_add_epi64(t0, _mm256_sad_epu8(a0, zero));
                t1 = _mm256_add_epi64(t1, _mm256_sad_epu8(a1, zero));
                w0 = w1;
            }
            let mut s = [0u64; 8];
            _mm256_storeu_si256(s.as_mut_ptr().cast(), t0);
            _mm256_storeu_si256(s.as_mut_ptr().add(4).cast(), t1);
            for (t, &v) in tops.iter_mut().zip(&s) {
                t.offer(v as u32, i, false);
            }
        }
    }
}

#[inline(always)]
fn scan_hamming_body(codes: &[u8], n: usize, qs: &[u8], b: usize, tops: &mut [TopK<u32>]) {
    let mut s = [0u32; QUERY_BLOCK];
    for (i, c) in codes.chunks_exact(b.max(1)).enumerate().take(n) {
        for (sq, q) in s.iter_mut().zip(qs.chunks_exact(b.max(1))) {
            *sq = hamming(c, q);
        }
        for (t, &v) in tops.iter_mut().zip(&s) {
            t.offer(v, i, false);
        }
    }
}

#[inline(always)]
fn hamming(a: &[u8], b: &[u8]) -> u32 {
    let mut acc = 0u32;
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(y.try_into().unwrap_or([0; 8]));
        acc += (x ^ y).count_ones();
    }
    for (&x, &y) in ar.iter().zip(br) {
        acc += (x ^ y).count_ones();
    }
    acc
}
