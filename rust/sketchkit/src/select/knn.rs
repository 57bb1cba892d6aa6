//! Sparse k-nearest-neighbour graphs: exact brute force (the reference, and the
//! kernel inside a mini-batch), re-ranking of candidate lists, and recall.

use super::rows::{unscale_distances, Metric, Rows, TopK};
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

    /// Rows whose neighbour lists are not full (fewer than `k`).
    pub fn short_rows(&self, k: usize) -> usize {
        (0..self.n())
            .filter(|&i| self.neighbors(i).len() < k)
            .count()
    }

    /// The graph of rows scaled by `2^exp` ([`Rows::scale_exp`]) with its distances
    /// in the input's units.
    pub(crate) fn unscaled(mut self, metric: Metric, exp: i32) -> Self {
        unscale_distances(metric, exp, &mut self.distances);
        self
    }

    /// A borrowed view.
    pub fn view(&self) -> GraphRef<'_> {
        GraphRef {
            indptr: &self.indptr,
            indices: &self.indices,
            distances: &self.distances,
        }
    }
}

/// A borrowed kNN graph in CSR form (e.g. arrays handed over from Python), with the
/// layout of [`KnnGraph`].
#[derive(Clone, Copy, Debug)]
pub struct GraphRef<'a> {
    indptr: &'a [i64],
    indices: &'a [i64],
    distances: &'a [f64],
}

impl<'a> GraphRef<'a> {
    /// Validates a square CSR graph: `indptr` starts at 0, never decreases and ends
    /// at `indices.len() == distances.len()`; every index is a row.
    pub fn new(indptr: &'a [i64], indices: &'a [i64], distances: &'a [f64]) -> Result<Self> {
        let n = indptr.len().saturating_sub(1);
        let ok = !indptr.is_empty()
            && indptr[0] == 0
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr[n] as usize == indices.len()
            && distances.len() == indices.len()
            && indices.iter().all(|&j| j >= 0 && (j as usize) < n);
        if !ok {
            return Err(SketchError::arg(
                "graph",
                "not a valid square CSR neighbour graph",
            ));
        }
        Ok(GraphRef {
            indptr,
            indices,
            distances,
        })
    }
    /// Number of rows.
    pub fn n(&self) -> usize {
        self.indptr.len() - 1
    }
    /// Number of edges.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    /// Offset of row `i`'s first edge.
    #[inline(always)]
    pub fn start(&self, i: usize) -> usize {
        self.indptr[i] as usize
    }
    /// Neighbours of row `i`.
    #[inline(always)]
    pub fn neighbors(&self, i: usize) -> &'a [i64] {
        &self.indices[self.indptr[i] as usize..self.indptr[i + 1] as usize]
    }
    /// Distances to the neighbours of row `i`.
    #[inline(always)]
    pub fn dists(&self, i: usize) -> &'a [f64] {
        &self.distances[self.indptr[i] as usize..self.indptr[i + 1] as usize]
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
/// `buf` is a scratch of length `rows.dim()`. Euclidean candidates are ranked by
/// squared distance and only the kept ones take a square root.
#[inline(always)]
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
    match metric {
        Metric::Euclidean => {
            for j in pool {
                let s = rows.sq_dist_dense(j, buf, q_sq).to_f64().max(0.0);
                if j != q && s <= top.bound() {
                    top.push(s, j);
                }
            }
            top.map_distances(f64::sqrt);
        }
        Metric::Cosine => {
            for j in pool {
                if j != q {
                    top.push(rows.distance(metric, j, buf, q_sq), j);
                }
            }
        }
    }
}

/// Exact k-nearest-neighbour lists of the rows `queries` among all rows, by brute
/// force (`O(|queries| · n · d)`), in parallel. The reference for recall and for
/// the quadratic baselines. Distances are in the units of `rows` (scaled by
/// `2^rows.scale_exp()`).
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
                || (TopK::new(k), try_vec(d, T::ZERO, "a row buffer")),
                |(top, buf), &q| {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    if rows.cancelled() {
                        return Ok(Vec::new());
                    }
                    crate::dispatch!(knn_in_pool(rows, metric, q, 0..n, top, buf));
                    Ok(top.items().to_vec())
                },
            )
            .collect::<Result<Vec<_>>>()
    })?
    .and_then(|lists| rows.check_cancel().map(|()| lists))
}

/// The exact k-nearest-neighbour graph of all rows (brute force, quadratic).
pub fn exact_knn_graph<T: Real, R: Rows<T>>(
    rows: &R,
    k: usize,
    metric: Metric,
) -> Result<KnnGraph> {
    let all: Vec<usize> = (0..rows.n()).collect();
    Ok(KnnGraph::from_lists(exact_knn(rows, &all, k, metric)?)?.unscaled(metric, rows.scale_exp()))
}

/// Mean recall of `graph` against the exact `k` nearest neighbours of the sampled
/// rows `sample`: `|graph(i) ∩ exact(i)| / |exact(i)|` averaged. Ties at the k-th
/// distance count as found when the graph holds a row at that same distance.
pub fn recall<T: Real, R: Rows<T>>(
    rows: &R,
    graph: GraphRef<'_>,
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
    let mut exact = exact_knn(rows, sample, k, metric)?;
    // The graph's distances are in the input's units.
    for ex in exact.iter_mut() {
        for e in ex.iter_mut() {
            unscale_distances(metric, rows.scale_exp(), std::slice::from_mut(&mut e.0));
        }
    }
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

/// Neighbour lists of `n` slots with room for `k` entries each, in flat arrays
/// (12 bytes an entry).
#[derive(Clone, Debug)]
pub(crate) struct Lists {
    k: usize,
    dist: Vec<f64>,
    idx: Vec<u32>,
    count: Vec<u32>,
}

impl Lists {
    pub(crate) fn new(n: usize, k: usize) -> Result<Self> {
        let nk = crate::error::checked_mul(n, k, "n_neighbors", "graph size")?;
        Ok(Lists {
            k,
            dist: try_vec(nk, 0.0f64, "graph distances")?,
            idx: try_vec(nk, 0u32, "graph indices")?,
            count: try_vec(n, 0u32, "graph row counts")?,
        })
    }

    /// Merges slot `from[pos[i]]` of `other` into slot `i` of `self` for every `i`,
    /// keeping the `k` closest distinct neighbours (the same pair always carries the
    /// same distance, so duplicates sit next to each other in the merge).
    pub(crate) fn merge(&mut self, other: &Lists, pos: &[u32]) -> Result<()> {
        let k = self.k;
        crate::parallel::install(|| {
            self.dist
                .par_chunks_mut(k)
                .zip(self.idx.par_chunks_mut(k))
                .zip(self.count.par_iter_mut())
                .zip(pos.par_iter())
                .with_min_len(1024)
                .for_each_init(Vec::<(f64, u32)>::new, |mine, (((d, j), c), &p)| {
                    let p = p as usize;
                    let (od, oj) = (&other.dist[p * k..], &other.idx[p * k..]);
                    let oc = other.count[p] as usize;
                    // Row i's current list, copied into per-thread scratch.
                    mine.clear();
                    mine.extend(
                        d[..*c as usize]
                            .iter()
                            .copied()
                            .zip(j[..*c as usize].iter().copied()),
                    );
                    let (mut a, mut b, mut out) = (0usize, 0usize, 0usize);
                    while out < k && (a < mine.len() || b < oc) {
                        let take_a = b >= oc
                            || (a < mine.len()
                                && super::rows::closer(
                                    (mine[a].0, mine[a].1 as usize),
                                    (od[b], oj[b] as usize),
                                ));
                        let item = if take_a {
                            a += 1;
                            mine[a - 1]
                        } else {
                            b += 1;
                            (od[b - 1], oj[b - 1])
                        };
                        // The same pair always has the same distance, so a duplicate
                        // is normally adjacent; scan the (short) list to be safe.
                        if j[..out].contains(&item.1) {
                            continue;
                        }
                        d[out] = item.0;
                        j[out] = item.1;
                        out += 1;
                    }
                    *c = out as u32;
                })
        })
    }

    pub(crate) fn into_graph(self) -> Result<KnnGraph> {
        let n = self.count.len();
        let mut indptr = try_vec(n + 1, 0i64, "graph row pointers")?;
        for (i, &c) in self.count.iter().enumerate() {
            indptr[i + 1] = indptr[i] + i64::from(c);
        }
        let nnz = indptr[n] as usize;
        let mut indices = try_vec(nnz, 0i64, "graph indices")?;
        let mut distances = try_vec(nnz, 0.0f64, "graph distances")?;
        let k = self.k;
        for (i, &c) in self.count.iter().enumerate() {
            let (p, c) = (indptr[i] as usize, c as usize);
            for t in 0..c {
                indices[p + t] = i64::from(self.idx[i * k + t]);
                distances[p + t] = self.dist[i * k + t];
            }
        }
        Ok(KnnGraph {
            indptr,
            indices,
            distances,
        })
    }
}

/// How many candidates ahead [`ordered_topk`] prefetches rows.
const PREFETCH_AHEAD: usize = 16;

/// Exact top-`k` lists of the queries `order[p]` among the candidates that
/// `cands(p, out)` appends (distinct rows; the query itself is skipped), stored in
/// slot `p`. Queries are
/// taken in `order` so that consecutive ones share candidates, which then stay in
/// cache: with windows over a sorted order, or batch by batch.
pub(crate) fn ordered_topk<T: Real, R: Rows<T>>(
    rows: &R,
    k: usize,
    metric: Metric,
    order: &[u32],
    cands: impl Fn(usize, &mut Vec<usize>) + Sync,
) -> Result<Lists> {
    let d = rows.dim();
    let mut out = Lists::new(order.len(), k)?;
    crate::parallel::install(|| {
        out.dist
            .par_chunks_mut(k)
            .zip(out.idx.par_chunks_mut(k))
            .zip(out.count.par_iter_mut())
            .enumerate()
            .with_min_len(256)
            .try_for_each_init(
                || {
                    (
                        TopK::new(k),
                        try_vec(d, T::ZERO, "a row buffer"),
                        Vec::<usize>::new(),
                    )
                },
                |(top, buf, cand), (p, ((dd, jj), c))| -> Result<()> {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    if rows.cancelled() {
                        return Ok(());
                    }
                    let q = order[p] as usize;
                    cand.clear();
                    cands(p, cand);
                    // Candidates are scattered rows: ask for the one PREFETCH_AHEAD
                    // places on while each is compared, so that the loads overlap.
                    let pool = cand.iter().enumerate().map(|(t, &j)| {
                        if let Some(&f) = cand.get(t + PREFETCH_AHEAD) {
                            rows.prefetch(f);
                        }
                        j
                    });
                    crate::dispatch!(knn_in_pool(rows, metric, q, pool, top, buf));
                    for (t, &(dist, j)) in top.items().iter().enumerate() {
                        dd[t] = dist;
                        jj[t] = j as u32;
                    }
                    *c = top.items().len() as u32;
                    Ok(())
                },
            )
    })??;
    rows.check_cancel()?;
    Ok(out)
}

/// One round of neighbour-of-neighbour refinement: each row's candidates are its
/// neighbours and their neighbours in `graph`, re-ranked exactly to the `k` nearest.
/// Recall never decreases (the old neighbours stay candidates). `O(n · k² · d)`.
/// Rows are visited in `order` (any permutation; a hash order keeps neighbouring
/// rows' data in cache), which does not change the result.
pub fn refine<T: Real, R: Rows<T>>(
    rows: &R,
    graph: GraphRef<'_>,
    k: usize,
    metric: Metric,
    order: Option<&[u32]>,
) -> Result<KnnGraph> {
    let n = rows.n();
    check_k(k, n)?;
    if graph.n() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "graph has {} rows, X has {n}",
            graph.n()
        )));
    }
    let identity: Vec<u32>;
    let order = match order {
        Some(o) if o.len() == n => o,
        Some(_) => {
            return Err(SketchError::ShapeMismatch(
                "order must have one entry per row".into(),
            ))
        }
        None => {
            identity = (0..n as u32).collect();
            &identity
        }
    };
    let mut pos = try_vec(n, 0u32, "positions")?;
    for (p, &i) in order.iter().enumerate() {
        pos[i as usize] = p as u32;
    }
    let lists = ordered_topk(rows, k, metric, order, |p, cand| {
        let i = order[p] as usize;
        for &j in graph.neighbors(i) {
            cand.push(j as usize);
            cand.extend(graph.neighbors(j as usize).iter().map(|&t| t as usize));
        }
        cand.sort_unstable();
        cand.dedup();
    })?;
    let mut acc = Lists::new(n, k)?;
    acc.merge(&lists, &pos)?;
    Ok(acc.into_graph()?.unscaled(metric, rows.scale_exp()))
}
