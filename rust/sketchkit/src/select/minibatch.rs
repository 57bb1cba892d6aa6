//! The distance-based mini-batch graph builder: rows are dealt into stratified
//! batches that keep the class proportions, and each row's neighbours are the exact
//! `k` nearest rows of its own batch. Work `O(n · batch_size · d)`.

use super::knn::{ordered_topk, KnnGraph, Lists};
use super::rows::{Metric, Rows};
use super::{permutation, Labels};
use crate::error::{try_vec, Result, SketchError};
use crate::rng::tag;
use crate::Real;

/// Batch of every row: each class is shuffled (Philox, per class) and dealt
/// round-robin over `ceil(n / batch_size)` batches, continuing where the previous
/// class stopped, so batch sizes differ by at most one and every batch holds each
/// class's share to within one row. Without labels all rows form one class.
pub fn stratified_batches(
    n: usize,
    labels: Option<&Labels<'_>>,
    batch_size: usize,
    seed: u64,
) -> Result<Vec<u32>> {
    if batch_size < 2 {
        return Err(SketchError::arg(
            "batch_size",
            format!("must be at least 2, got {batch_size}"),
        ));
    }
    let n_batches = n.div_ceil(batch_size).max(1);
    let classes = match labels {
        Some(l) => l.members(),
        None => vec![(0..n).collect()],
    };
    let mut batch = try_vec(n, 0u32, "batch of each row")?;
    let mut next = 0usize;
    for (c, members) in classes.iter().enumerate() {
        let p = permutation(members.len(), seed, tag::MINIBATCH, c as u64);
        for &t in &p {
            batch[members[t]] = (next % n_batches) as u32;
            next += 1;
        }
    }
    Ok(batch)
}

/// The mini-batch kNN graph and every row's batch.
pub fn minibatch_graph<T: Real, R: Rows<T>>(
    rows: &R,
    labels: Option<&Labels<'_>>,
    batch_size: usize,
    k: usize,
    metric: Metric,
    seed: u64,
) -> Result<(KnnGraph, Vec<u32>)> {
    let n = rows.n();
    if let Some(l) = labels {
        if l.codes().len() != n {
            return Err(SketchError::ShapeMismatch(format!(
                "y has {} labels but X has {n} rows",
                l.codes().len()
            )));
        }
    }
    let batch = stratified_batches(n, labels, batch_size, seed)?;
    let n_batches = n.div_ceil(batch_size).max(1);
    // Rows grouped by batch (ascending inside a batch); queries run batch by batch
    // so that a batch's rows stay in cache.
    let mut start = try_vec(n_batches + 1, 0usize, "batch starts")?;
    for &b in &batch {
        start[b as usize + 1] += 1;
    }
    for b in 0..n_batches {
        start[b + 1] += start[b];
    }
    let mut fill = start.clone();
    let mut order = try_vec(n, 0u32, "batch order")?;
    for (i, &b) in batch.iter().enumerate() {
        order[fill[b as usize]] = i as u32;
        fill[b as usize] += 1;
    }
    let mut pos = try_vec(n, 0u32, "batch positions")?;
    for (p, &i) in order.iter().enumerate() {
        pos[i as usize] = p as u32;
    }
    super::knn::check_k(k, n)?;
    let lists = ordered_topk(rows, k, metric, &order, |p, out| {
        let b = batch[order[p] as usize] as usize;
        out.extend(order[start[b]..start[b + 1]].iter().map(|&j| j as usize));
    })?;
    let mut acc = Lists::new(n, k)?;
    acc.merge(&lists, &pos)?;
    Ok((acc.into_graph()?.unscaled(metric, rows.scale_exp()), batch))
}
