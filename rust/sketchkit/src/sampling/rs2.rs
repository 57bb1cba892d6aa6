//! RS2, after Okanovic et al., "Repeated random sampling for minimizing the
//! time-to-accuracy of learning": each epoch trains on a fresh random subset, drawn
//! **without replacement across epochs**: the rows are permuted once per round of
//! `E` epochs, and epoch `j` of a round takes positions `[⌊j n/E⌋, ⌊(j+1) n/E⌋)` of
//! that round's permutation, so every round of `E` consecutive epochs (in particular
//! the first `E`) partitions the rows.
//!
//! The permutation is never stored: position `x` maps to row [`Feistel::apply`]`(x)`, a
//! balanced Feistel network over `⌈log₂ n⌉` (rounded up to even) bits with
//! [`FEISTEL_ROUNDS`] rounds, cycle-walked into `[0, n)` (a bijection of `[0, n)`;
//! at most 4 walks expected). Its round keys are words of the Philox stream
//! `(seed, tag::RS2, round)`, so epoch `e` of seed `s` is the same on any machine and
//! any thread count, computable alone in `O(m)` time and `O(1)` extra memory.

use super::{derive, Classes, SampleSize};
use crate::error::{try_vec, Result, SketchError};
use crate::rng::{tag, Stream};
use rayon::prelude::*;

/// Rounds of the Feistel network.
pub const FEISTEL_ROUNDS: usize = 4;
/// The fraction of rows per epoch when the size is not given (`n_samples=None`): the
/// 10% subsets of the RS2 paper's experiments.
pub const DEFAULT_RATIO: f64 = 0.1;
/// Positions per parallel task.
const CHUNK: usize = 1 << 15;

/// A pseudo-random permutation of `[0, n)` (see the module docs).
#[derive(Clone, Debug)]
pub struct Feistel {
    n: u64,
    half: u32,
    mask: u64,
    keys: [u64; FEISTEL_ROUNDS],
}

/// The round function: the SplitMix64 finalizer of `x ⊕ key`.
#[inline(always)]
fn mix(key: u64, x: u64) -> u64 {
    let mut z = x ^ key;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Feistel {
    /// The permutation of `[0, n)` keyed by `(seed, round)`.
    pub fn new(n: u64, seed: u64, round: u64) -> Self {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half = bits.div_ceil(2).max(1);
        let mut s = Stream::new(seed, tag::RS2, round);
        let mut keys = [0u64; FEISTEL_ROUNDS];
        for k in &mut keys {
            *k = s.next_u64();
        }
        Feistel {
            n,
            half,
            mask: (1u64 << half) - 1,
            keys,
        }
    }

    /// The image of `x < n`.
    #[inline]
    pub fn apply(&self, mut x: u64) -> u64 {
        debug_assert!(x < self.n);
        loop {
            let (mut l, mut r) = (x >> self.half, x & self.mask);
            for &k in &self.keys {
                let t = l ^ (mix(k, r) & self.mask);
                l = r;
                r = t;
            }
            x = (l << self.half) | r;
            if x < self.n {
                return x;
            }
        }
    }
}

/// Epochs per round (`E`) for `n` rows: `⌈1/f⌉` for a fraction `f`, `⌈n/m⌉` for a
/// count `m ≤ n`, `⌈1/DEFAULT_RATIO⌉` for the rule; at most `n`.
pub fn epochs_per_round(n: u64, size: SampleSize) -> Result<u64> {
    if n == 0 {
        return Err(SketchError::arg("n_rows", "must be at least 1"));
    }
    let e = match size.validate()? {
        SampleSize::Rule => (1.0 / DEFAULT_RATIO).ceil() as u64,
        SampleSize::Fraction(f) => (1.0 / f).ceil() as u64,
        SampleSize::Count(m) => {
            if m as u64 > n {
                return Err(SketchError::arg(
                    "n_samples",
                    format!("{m} exceeds the number of rows ({n})"),
                ));
            }
            n.div_ceil(m as u64)
        }
    };
    Ok(e.clamp(1, n))
}

/// The rows of epoch `epoch` over `n` rows (see the module docs), in training order.
pub fn epoch(n: u64, size: SampleSize, seed: u64, epoch: u64) -> Result<Vec<u64>> {
    let e = epochs_per_round(n, size)?;
    epoch_of(n, e, seed, epoch)
}

fn epoch_of(n: u64, e: u64, seed: u64, epoch: u64) -> Result<Vec<u64>> {
    let (round, j) = (epoch / e, epoch % e);
    let lo = (u128::from(j) * u128::from(n) / u128::from(e)) as u64;
    let hi = (u128::from(j + 1) * u128::from(n) / u128::from(e)) as u64;
    let f = Feistel::new(n, seed, round);
    let len = (hi - lo) as usize;
    let mut out = try_vec(len, 0u64, "RS2 order")?;
    let fill = |(c, chunk): (usize, &mut [u64])| {
        let start = lo + (c * CHUNK) as u64;
        for (k, o) in chunk.iter_mut().enumerate() {
            *o = f.apply(start + k as u64);
        }
    };
    if len <= CHUNK {
        out.chunks_mut(CHUNK).enumerate().for_each(fill);
    } else {
        let done =
            crate::parallel::install(|| out.par_chunks_mut(CHUNK).enumerate().for_each(fill));
        if done.is_err() {
            out.chunks_mut(CHUNK).enumerate().for_each(fill);
        }
    }
    Ok(out)
}

/// Epoch `epoch`, stratified: each class is permuted on its own (its own key) and
/// split into the same `E` epochs (`E` from the total row count), so each class keeps
/// its share in every epoch. Rows are returned class by class.
pub fn epoch_stratified(
    classes: Classes<'_>,
    size: SampleSize,
    seed: u64,
    epoch: u64,
) -> Result<Vec<u64>> {
    let n = classes.codes.len() as u64;
    let e = epochs_per_round(n, size)?;
    let mut members: Vec<Vec<u64>> = vec![Vec::new(); classes.n_classes];
    for (i, &c) in classes.codes.iter().enumerate() {
        let Some(m) = members.get_mut(c as usize) else {
            return Err(SketchError::arg(
                "y",
                format!("class code {c} out of range [0, {})", classes.n_classes),
            ));
        };
        m.push(i as u64);
    }
    if let Some(c) = members.iter().position(|m| m.is_empty()) {
        return Err(SketchError::arg("y", format!("class {c} has no rows")));
    }
    let mut out = Vec::new();
    for (c, rows) in members.iter().enumerate() {
        let nc = rows.len() as u64;
        let pos = epoch_of(nc, e.min(nc), derive(seed, 1_000_000 + c as u64), epoch)?;
        out.extend(pos.into_iter().map(|p| rows[p as usize]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feistel_is_a_permutation() {
        for n in [1u64, 2, 3, 7, 8, 9, 100, 1000, 4097] {
            let f = Feistel::new(n, 5, 0);
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = f.apply(x) as usize;
                assert!(!seen[y]);
                seen[y] = true;
            }
        }
    }

    #[test]
    fn first_round_partitions() {
        let n = 1003;
        let e = epochs_per_round(n, SampleSize::Fraction(0.3)).unwrap();
        assert_eq!(e, 4);
        let mut all: Vec<u64> = (0..e).flat_map(|k| epoch_of(n, e, 9, k).unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        assert_ne!(epoch_of(n, e, 9, 0).unwrap(), epoch_of(n, e, 9, e).unwrap());
    }
}
