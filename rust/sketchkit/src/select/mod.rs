//! Instance selection: neighbour graphs built by hierarchical hashing or by
//! stratified mini-batches, graph-attention importance scores, and the classic
//! baselines (stratified random, Hart's CNN, Wilson's ENN, DROP3, LSH-IS).
//!
//! Data flow:
//!
//! ```text
//! rows (dense / CSR) ──► hashing::HierarchicalHasher ──► candidate windows ──┐
//!                    └─► minibatch::minibatch_graph (exact inside a batch) ──┤
//!                                                                             ▼
//!                         knn::KnnGraph (CSR: indices, distances) ──► attention::scores
//!                                                                             ▼
//!                                             attention::select (per class, to a size)
//! ```
//!
//! Everything is deterministic for a seed: per-row work is independent of the
//! thread that runs it, and every ordering breaks ties by row index.

pub mod attention;
pub mod baselines;
pub mod hashing;
pub mod knn;
pub mod minibatch;
pub mod partition;
pub mod prototypes;
pub mod rows;

pub use knn::{GraphRef, KnnGraph};
/// The split of [`quota`]'s per-class quotas over partitions (largest remainder).
pub use partition::split_quota;
pub use rows::{unscale_distances, CsrRows, DenseRows, Metric, Rows};

use crate::error::{try_vec, Result, SketchError};

/// Class labels as codes `0..n_classes` (the Python layer maps any hashable label
/// to a code).
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    codes: &'a [u32],
    counts: Vec<usize>,
}

impl<'a> Labels<'a> {
    /// Validates `codes` for `n` rows: same length, every code below `n_classes`.
    pub fn new(codes: &'a [u32], n: usize, n_classes: usize) -> Result<Self> {
        if codes.len() != n {
            return Err(SketchError::ShapeMismatch(format!(
                "y has {} labels but X has {n} rows",
                codes.len()
            )));
        }
        let mut counts = try_vec(n_classes, 0usize, "class counts")?;
        for &c in codes {
            let c = c as usize;
            if c >= n_classes {
                return Err(SketchError::arg(
                    "y",
                    format!("label code {c} is not below n_classes = {n_classes}"),
                ));
            }
            counts[c] += 1;
        }
        Ok(Labels { codes, counts })
    }
    /// Code of row `i`.
    #[inline(always)]
    pub fn of(&self, i: usize) -> u32 {
        self.codes[i]
    }
    /// All codes.
    pub fn codes(&self) -> &[u32] {
        self.codes
    }
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.counts.len()
    }
    /// Rows per class.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }
    /// Row indices of each class, ascending.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut m: Vec<Vec<usize>> = self.counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        for (i, &c) in self.codes.iter().enumerate() {
            m[c as usize].push(i);
        }
        m
    }
}

/// Rows to keep per class for a `reduction` in `(0, 1)`: `round(n_c · (1 −
/// reduction))`, at least 1 for every non-empty class.
pub fn quota(counts: &[usize], reduction: f64) -> Result<Vec<usize>> {
    if !(reduction > 0.0 && reduction < 1.0) {
        return Err(SketchError::arg(
            "reduction",
            format!("must be in (0, 1), got {reduction}"),
        ));
    }
    Ok(counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0
            } else {
                ((c as f64 * (1.0 - reduction)).round() as usize).clamp(1, c)
            }
        })
        .collect())
}

/// A permutation of `0..n` from the Philox stream `(seed, tag, index)`
/// (Fisher–Yates with unbiased bounded draws).
pub(crate) fn permutation(n: usize, seed: u64, tag: u32, index: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    let mut s = crate::rng::Stream::new(seed, tag, index);
    for i in (1..n).rev() {
        let j = if i < u32::MAX as usize {
            s.below(i as u32 + 1) as usize
        } else {
            (s.next_u64() % (i as u64 + 1)) as usize
        };
        p.swap(i, j);
    }
    p
}
