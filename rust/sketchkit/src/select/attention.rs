//! Graph-attention importance scores and score-ordered, coverage-aware selection.
//!
//! On a kNN graph with neighbour lists `N(i)` and distances `d_ij`:
//!
//! * local scale `σ_i` = median distance from `i` to its neighbours (self-tuning;
//!   zero scales are replaced by the smallest positive one);
//! * attention `a_ij = softmax_{j ∈ N(i)}(−d_ij² / (σ_i σ_j))`, so `Σ_j a_ij = 1`;
//! * agreement `g_i = Σ_j a_ij [y_j = y_i]` and boundary `b_i = 1 − g_i`;
//! * representativeness `r_i = Σ_{j : i ∈ N(j), y_j = y_i} a_ji`, the attention `i`
//!   receives from its own class (hubs of a class score high);
//! * a row is **noisy** when `g_i < noise_threshold` (most of its attention goes to
//!   another class: an isolated mislabelled point);
//! * score `s_i = (r_i + 1/k) · (1 + λ b_i)` for clean rows (representative and
//!   boundary rows high, redundant interior rows with few in-links low) and
//!   `s_i = −b_i` for noisy rows (always ranked last).
//!
//! Selection, per class: rows in descending score order are taken greedily,
//! skipping rows already **covered**; taking a row covers its same-class
//! neighbourhood within `h` hops (out- and in-links). `h` is the largest hop count
//! whose full cover still needs at least the class's quota, so the kept rows spread
//! over the class instead of piling up where scores are high. A class's automatic
//! size is its full 1-hop cover of clean rows. Left-over quota is filled by the best
//! remaining clean rows, then noisy ones.
//!
//! Weights: every uncovered-and-unselected row is assigned to the kept row that
//! covered it first (or to its nearest kept same-class neighbour, or spread evenly);
//! a kept row's weight is `1 +` the rows assigned to it, rescaled so a class's
//! weights sum to its size.

use super::knn::GraphRef;
use super::Labels;
use crate::error::{try_vec, Result, SketchError};

/// Attention parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionConfig {
    /// Agreement below which a row counts as noise (`[0, 1]`).
    pub noise_threshold: f64,
    /// Weight `λ` of the boundary term.
    pub boundary_weight: f64,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        AttentionConfig {
            noise_threshold: 0.5,
            boundary_weight: 1.0,
        }
    }
}

/// Per-row attention statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Importance score (higher = keep first).
    pub score: Vec<f64>,
    /// Attention-weighted label agreement `g_i`.
    pub agreement: Vec<f64>,
    /// Same-class attention received `r_i`.
    pub representativeness: Vec<f64>,
    /// `g_i < noise_threshold`.
    pub noisy: Vec<bool>,
}

fn check_graph(graph: GraphRef<'_>, labels: &Labels<'_>) -> Result<()> {
    if graph.n() != labels.codes().len() {
        return Err(SketchError::ShapeMismatch(format!(
            "graph has {} rows, y has {}",
            graph.n(),
            labels.codes().len()
        )));
    }
    Ok(())
}

/// The power of two that brings the graph's largest finite distance near 1 when it
/// lies beyond `2^±400` (where squares overflow or lose precision), else 1.
fn distance_scale(graph: GraphRef<'_>) -> f64 {
    let big = (0..graph.n())
        .flat_map(|i| graph.dists(i).iter().copied())
        .filter(|d| d.is_finite())
        .fold(0.0f64, f64::max);
    if big == 0.0 || (2f64.powi(-400)..=2f64.powi(400)).contains(&big) {
        1.0
    } else {
        crate::select::rows::ldexp(1.0, (-(big.log2().floor() as i32)).clamp(-1020, 1020))
    }
}

/// Attention scores of every row.
pub fn scores(graph: GraphRef<'_>, labels: &Labels<'_>, cfg: AttentionConfig) -> Result<Scores> {
    check_graph(graph, labels)?;
    if !(0.0..=1.0).contains(&cfg.noise_threshold) {
        return Err(SketchError::arg(
            "noise_threshold",
            format!("must be in [0, 1], got {}", cfg.noise_threshold),
        ));
    }
    if !(cfg.boundary_weight.is_finite() && cfg.boundary_weight >= 0.0) {
        return Err(SketchError::arg(
            "boundary_weight",
            "must be finite and non-negative",
        ));
    }
    let n = graph.n();
    let mut sigma: Vec<f64> = (0..n)
        .map(|i| {
            let d = graph.dists(i);
            if d.is_empty() {
                0.0
            } else {
                d[d.len() / 2]
            }
        })
        .collect();
    let min_pos = sigma
        .iter()
        .copied()
        .filter(|&s| s > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if min_pos.is_finite() { min_pos } else { 1.0 };
    for s in sigma.iter_mut() {
        if *s <= 0.0 {
            *s = floor;
        }
    }
    // The logits are scale-free, but `d²` and `σ_i σ_j` overflow (or underflow)
    // beyond about 1e±154: distances that far out are first brought near 1 by a
    // power of two, which is exact (the same bits as unscaled arithmetic would give).
    let f = distance_scale(graph);
    // Attention rows (same layout as graph.indices).
    let mut att = try_vec(graph.nnz(), 0.0f64, "attention weights")?;
    for i in 0..n {
        let (nb, dd) = (graph.neighbors(i), graph.dists(i));
        let p = graph.start(i);
        let logits: Vec<f64> = nb
            .iter()
            .zip(dd)
            .map(|(&j, &d)| {
                let (d, si, sj) = (d * f, sigma[i] * f, sigma[j as usize] * f);
                -d * d / (si * sj)
            })
            .collect();
        let mx = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = logits.iter().map(|&l| (l - mx).exp()).sum();
        for (t, &l) in logits.iter().enumerate() {
            att[p + t] = (l - mx).exp() / z;
        }
    }
    let k = (graph.nnz() as f64 / n.max(1) as f64).max(1.0);
    let mut agreement = try_vec(n, 0.0f64, "label agreement")?;
    let mut rep = try_vec(n, 0.0f64, "representativeness")?;
    for (i, ag) in agreement.iter_mut().enumerate() {
        let yi = labels.of(i);
        let p = graph.start(i);
        let nb = graph.neighbors(i);
        if nb.is_empty() {
            *ag = 1.0;
        }
        for (t, &j) in nb.iter().enumerate() {
            if labels.of(j as usize) == yi {
                *ag += att[p + t];
                rep[j as usize] += att[p + t];
            }
        }
    }
    let noisy: Vec<bool> = agreement.iter().map(|&g| g < cfg.noise_threshold).collect();
    let score = (0..n)
        .map(|i| {
            let b = 1.0 - agreement[i];
            if noisy[i] {
                -b
            } else {
                (rep[i] + 1.0 / k) * (1.0 + cfg.boundary_weight * b)
            }
        })
        .collect();
    Ok(Scores {
        score,
        agreement,
        representativeness: rep,
        noisy,
    })
}

/// The result of a selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// Kept rows, ascending.
    pub indices: Vec<usize>,
    /// Weight of each kept row (same order); a class's weights sum to its size.
    pub weights: Vec<f64>,
    /// Hop count of the cover each class used.
    pub hops: Vec<usize>,
}

/// Same-class adjacency (out- and in-links) in CSR form.
fn same_class_adjacency(
    graph: GraphRef<'_>,
    labels: &Labels<'_>,
) -> Result<(Vec<usize>, Vec<u32>)> {
    let n = graph.n();
    let mut deg = try_vec(n + 1, 0usize, "degrees")?;
    for i in 0..n {
        for &j in graph.neighbors(i) {
            let j = j as usize;
            if labels.of(j) == labels.of(i) {
                deg[i + 1] += 1;
                deg[j + 1] += 1;
            }
        }
    }
    for i in 0..n {
        deg[i + 1] += deg[i];
    }
    let mut fill = deg.clone();
    let mut adj = try_vec(deg[n], 0u32, "same-class adjacency")?;
    for i in 0..n {
        for &j in graph.neighbors(i) {
            let j = j as usize;
            if labels.of(j) == labels.of(i) {
                adj[fill[i]] = j as u32;
                fill[i] += 1;
                adj[fill[j]] = i as u32;
                fill[j] += 1;
            }
        }
    }
    Ok((deg, adj))
}

/// Greedy cover of `order` (rows of one class) with `hops`-hop neighbourhoods,
/// stopping after `limit` picks. Returns the picks and, per row, the pick that
/// covered it (`u32::MAX` when none). `stamp`/`owner` are scratch of length n.
#[allow(clippy::too_many_arguments)]
fn cover(
    members: &[usize],
    order: &[usize],
    hops: usize,
    limit: usize,
    deg: &[usize],
    adj: &[u32],
    owner: &mut [u32],
    frontier: &mut Vec<usize>,
    next: &mut Vec<usize>,
) -> Vec<usize> {
    for &i in members {
        owner[i] = u32::MAX;
    }
    let mut picks = Vec::new();
    for &i in order {
        if picks.len() >= limit {
            break;
        }
        if owner[i] != u32::MAX {
            continue;
        }
        owner[i] = i as u32;
        picks.push(i);
        frontier.clear();
        frontier.push(i);
        for _ in 0..hops {
            next.clear();
            for &u in frontier.iter() {
                for &w in &adj[deg[u]..deg[u + 1]] {
                    let w = w as usize;
                    if owner[w] == u32::MAX {
                        owner[w] = i as u32;
                        next.push(w);
                    }
                }
            }
            std::mem::swap(frontier, next);
        }
    }
    picks
}

/// Selects rows per class: to `quota[c]` rows when given, else to each class's
/// automatic size. Every class with rows keeps at least one.
pub fn select(
    graph: GraphRef<'_>,
    labels: &Labels<'_>,
    scores: &Scores,
    quota: Option<&[usize]>,
) -> Result<Selection> {
    check_graph(graph, labels)?;
    let n = graph.n();
    if scores.score.len() != n {
        return Err(SketchError::ShapeMismatch(
            "scores do not match the graph".into(),
        ));
    }
    if let Some(q) = quota {
        if q.len() != labels.n_classes() {
            return Err(SketchError::ShapeMismatch(
                "one quota per class expected".into(),
            ));
        }
    }
    let (deg, adj) = same_class_adjacency(graph, labels)?;
    let mut owner = try_vec(n, u32::MAX, "cover owners")?;
    let (mut frontier, mut next) = (Vec::new(), Vec::new());
    let mut kept: Vec<(usize, f64)> = Vec::new();
    let mut hops_used = Vec::with_capacity(labels.n_classes());
    for (c, members) in labels.members().into_iter().enumerate() {
        if members.is_empty() {
            hops_used.push(0);
            continue;
        }
        let mut order = members.clone();
        order.sort_by(|&a, &b| scores.score[b].total_cmp(&scores.score[a]).then(a.cmp(&b)));
        let clean: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| !scores.noisy[i])
            .collect();
        let want = match quota {
            Some(q) => q[c].clamp(1, members.len()),
            None => usize::MAX,
        };
        // Largest hop count whose full cover still needs `want` picks.
        let mut hops = 1;
        if want != usize::MAX {
            let mut h = 1;
            while h < 8 {
                let full = cover(
                    &members,
                    &clean,
                    h + 1,
                    usize::MAX,
                    &deg,
                    &adj,
                    &mut owner,
                    &mut frontier,
                    &mut next,
                );
                if full.len() < want {
                    break;
                }
                h += 1;
            }
            hops = h;
        }
        let mut picks = cover(
            &members,
            &clean,
            hops,
            want,
            &deg,
            &adj,
            &mut owner,
            &mut frontier,
            &mut next,
        );
        if picks.is_empty() && want == usize::MAX {
            // Every row of the class is noisy: keep its best one.
            picks.push(order[0]);
        }
        let target = if want == usize::MAX {
            picks.len()
        } else {
            want
        };
        if picks.len() < target {
            let mut chosen: std::collections::HashSet<usize> = picks.iter().copied().collect();
            for &i in clean
                .iter()
                .chain(order.iter().filter(|&&i| scores.noisy[i]))
            {
                if picks.len() >= target {
                    break;
                }
                if chosen.insert(i) {
                    picks.push(i);
                }
            }
        }
        // Weights: rows covered by a pick count for it.
        let mut w: std::collections::HashMap<usize, f64> =
            picks.iter().map(|&i| (i, 1.0)).collect();
        let mut spread = 0.0;
        for &i in &members {
            if w.contains_key(&i) {
                continue;
            }
            let o = owner[i];
            if o != u32::MAX && w.contains_key(&(o as usize)) {
                *w.get_mut(&(o as usize)).unwrap_or(&mut 0.0) += 1.0;
                continue;
            }
            match graph
                .neighbors(i)
                .iter()
                .find(|&&j| w.contains_key(&(j as usize)))
            {
                Some(&j) => *w.get_mut(&(j as usize)).unwrap_or(&mut 0.0) += 1.0,
                None => spread += 1.0,
            }
        }
        let extra = spread / picks.len() as f64;
        let total: f64 = picks.iter().map(|i| w[i] + extra).sum();
        let scale = members.len() as f64 / total;
        for &i in &picks {
            kept.push((i, (w[&i] + extra) * scale));
        }
        hops_used.push(hops);
    }
    kept.sort_unstable_by_key(|&(i, _)| i);
    Ok(Selection {
        indices: kept.iter().map(|&(i, _)| i).collect(),
        weights: kept.iter().map(|&(_, w)| w).collect(),
        hops: hops_used,
    })
}
