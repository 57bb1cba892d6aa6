//! Sparse k-nearest-neighbour graphs: exact brute force (the reference, and the
//! kernel inside a mini-batch), re-ranking of candidate lists, and recall.

use super::rows::{Metric, Rows, TopK};
use crate::error::{try_vec, Result, SketchError};
use crate::Real;
use rayon::prelude::*;

/// A directed k-nearest-neighbour graph in CSR form: the neighbours of row `i` are
/// `indices[indptr[i]..indptr[i + 1]]`, sorted by ascending distance (ties by
/// index), with their distances in `distances`. A row has fewer than `k`
/// neighbours only when fewer candidates were available. No row is its own
/// neighbour.
#[derive(Clone, Debug, PartialEq)]
pub struct KnnGraph {
    /// Row pointers (`n + 1`).
    pub indptr: Vec<i64>,
    /// Neighbour indices.
    pub indices: Vec<i64>,
    /// Distances, as [`Metric`] defines them.
    pub distances: Vec<f64>,
}

impl KnnGraph {
    /// Number of rows.
    pub fn n(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
    /// Neighbours of row `i`.
    #[inline(always)]
    pub fn neighbors(&self, i: usize) -> &[i64] {
        &self.indices[self.indptr[i] as usize..self.indptr[i + 1] as usize]
    }
    /// Distances to the neighbours of row `i`.
    #[inline(always)]
    pub fn dists(&self, i: usize) -> &[f64] {
        &self.distances[self.indptr[i] as usize..self.indptr[i + 1] as usize]
    }

    /// Builds the graph from per-row neighbour lists of at most `k` entries.
    pub(crate) fn from_lists(lists: Vec<Vec<(f64, usize)>>) -> Result<Self> {
        let mut indptr = try_vec(lists.len() + 1, 0i64, "graph row pointers")?;
        for (i, l) in lists.iter().enumerate() {
            indptr[i + 1] = indptr[i] + l.len() as i64;
        }
        let nnz = indptr[lists.len()] as usize;
        let mut indices = try_vec(nnz, 0i64, "graph indices")?;
        let mut distances = try_vec(nnz, 0.0f64, "graph distances")?;
        for (i, l) in lists.iter().enumerate() {
            let p = indptr[i] as usize;
            for (t, &(d, j)) in l.iter().enumerate() {
                indices[p + t] = j as i64;
                distances[p + t] = d;
            }
        }
        Ok(KnnGraph {
            indptr,
            indices,
            distances,
        })
    }

    /// Builds the graph from `n` slots of `k` entries, of which the first
    /// `counts[i]` of slot `i` are used.
    pub(crate) fn from_flat(k: usize, flat: &[(f64, usize)], counts: &[usize]) -> Result<Self> {
        let n = counts.len();
        let mut indptr = try_vec(n + 1, 0i64, "graph row pointers")?;
        for (i, &c) in counts.iter().enumerate() {
            indptr[i + 1] = indptr[i] + c as i64;
        }
        let nnz = indptr[n] as usize;
        let mut indices = try_vec(nnz, 0i64, "graph indices")?;
        let mut distances = try_vec(nnz, 0.0f64, "graph distances")?;
        for (i, &c) in counts.iter().enumerate() {
            let p = indptr[i] as usize;
            for (t, &(d, j)) in flat[i * k..i * k + c].iter().enumerate() {
                indices[p + t] = j as i64;
                distances[p + t] = d;
            }
        }
        Ok(KnnGraph {
            indptr,
            indices,
            distances,
        })
    }

    /// Rows whose neighbour lists are not full (fewer than `k`).
    pub fn short_rows(&self, k: usize) -> usize {
        (0..self.n())
            .filter(|&i| self.neighbors(i).len() < k)
            .count()
    }
}

pub(crate) fn check_k(k: usize, n: usize) -> Result<()> {
    if k == 0 {
        return Err(SketchError::arg("n_neighbors", "must be at least 1"));
    }
    if n < 2 {
        return Err(SketchError::arg(
            "X",
            format!("needs at least 2 rows for a neighbour graph, got {n}"),
        ));
    }
    Ok(())
}

/// The exact `k` nearest rows of `pool` to row `q` (excluding `q`), ascending.
/// `buf` is a scratch of length `rows.dim()`.
pub(crate) fn knn_in_pool<T: Real, R: Rows<T>>(
    rows: &R,
    metric: Metric,
    q: usize,
    pool: impl Iterator<Item = usize>,
    top: &mut TopK,
    buf: &mut [T],
) {
    top.clear();
    rows.load(q, buf);
    let q_sq = rows.sq_norm(q);
    for j in pool {
        if j != q {
            top.push(rows.distance(metric, j, buf, q_sq), j);
        }
    }
}

/// Exact k-nearest-neighbour lists of the rows `queries` among all rows, by brute
/// force (`O(|queries| · n · d)`), in parallel. The reference for recall and for
/// the quadratic baselines.
pub fn exact_knn<T: Real, R: Rows<T>>(
    rows: &R,
    queries: &[usize],
    k: usize,
    metric: Metric,
) -> Result<Vec<Vec<(f64, usize)>>> {
    let n = rows.n();
    check_k(k, n)?;
    if let Some(&q) = queries.iter().find(|&&q| q >= n) {
        return Err(SketchError::arg(
            "queries",
            format!("row {q} is out of range"),
        ));
    }
    let d = rows.dim();
    crate::parallel::install(|| {
        queries
            .par_iter()
            .map_init(
                || (TopK::new(k), vec![T::ZERO; d]),
                |(top, buf), &q| {
                    crate::dispatch!(knn_in_pool(rows, metric, q, 0..n, top, buf));
                    top.items().to_vec()
                },
            )
            .collect()
    })
}

/// The exact k-nearest-neighbour graph of all rows (brute force, quadratic).
pub fn exact_knn_graph<T: Real, R: Rows<T>>(
    rows: &R,
    k: usize,
    metric: Metric,
) -> Result<KnnGraph> {
    let all: Vec<usize> = (0..rows.n()).collect();
    KnnGraph::from_lists(exact_knn(rows, &all, k, metric)?)
}

/// Mean recall of `graph` against the exact `k` nearest neighbours of the sampled
/// rows `sample`: `|graph(i) ∩ exact(i)| / |exact(i)|` averaged. Ties at the k-th
/// distance count as found when the graph holds a row at that same distance.
pub fn recall<T: Real, R: Rows<T>>(
    rows: &R,
    graph: &KnnGraph,
    sample: &[usize],
    k: usize,
    metric: Metric,
) -> Result<f64> {
    if graph.n() != rows.n() {
        return Err(SketchError::ShapeMismatch(format!(
            "graph has {} rows, X has {}",
            graph.n(),
            rows.n()
        )));
    }
    if sample.is_empty() {
        return Ok(f64::NAN);
    }
    let exact = exact_knn(rows, sample, k, metric)?;
    let mut total = 0.0;
    for (&q, ex) in sample.iter().zip(&exact) {
        if ex.is_empty() {
            total += 1.0;
            continue;
        }
        let kth = ex[ex.len() - 1].0;
        let g = graph.neighbors(q);
        let gd = graph.dists(q);
        let found = ex
            .iter()
            .filter(|&&(d, j)| {
                g.contains(&(j as i64))
                    || (d == kth && gd.iter().filter(|&&x| x <= kth).count() >= ex.len())
            })
            .count();
        total += found as f64 / ex.len() as f64;
    }
    Ok(total / sample.len() as f64)
}

/// Re-ranks per-row candidate lists by exact distance and keeps the `k` nearest:
/// the candidate graph → kNN graph step. `candidates(i, out)` appends row `i`'s
/// candidates (duplicates and `i` itself allowed; they are removed).
pub(crate) fn rerank<T: Real, R: Rows<T>>(
    rows: &R,
    k: usize,
    metric: Metric,
    candidates: impl Fn(usize, &mut Vec<usize>) + Sync,
) -> Result<KnnGraph> {
    let (n, d) = (rows.n(), rows.dim());
    check_k(k, n)?;
    let mut flat = try_vec(
        crate::error::checked_mul(n, k, "graph size")?,
        (0.0f64, 0usize),
        "graph",
    )?;
    let mut counts = try_vec(n, 0usize, "graph row counts")?;
    crate::parallel::install(|| {
        flat.par_chunks_mut(k)
            .zip(counts.par_iter_mut())
            .enumerate()
            .for_each_init(
                || (TopK::new(k), vec![T::ZERO; d], Vec::<usize>::new()),
                |(top, buf, cand), (i, (out, cnt))| {
                    cand.clear();
                    candidates(i, cand);
                    cand.sort_unstable();
                    cand.dedup();
                    crate::dispatch!(knn_in_pool(rows, metric, i, cand.iter().copied(), top, buf));
                    out[..top.items().len()].copy_from_slice(top.items());
                    *cnt = top.items().len();
                },
            )
    })?;
    KnnGraph::from_flat(k, &flat, &counts)
}
