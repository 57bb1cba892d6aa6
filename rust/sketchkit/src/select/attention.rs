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

/// A class's members by descending score (ties by row), and those of them not
/// flagged noisy, in the same order.
fn ranked(members: &[usize], scores: &Scores) -> (Vec<usize>, Vec<usize>) {
    let mut order = members.to_vec();
    order.sort_by(|&a, &b| scores.score[b].total_cmp(&scores.score[a]).then(a.cmp(&b)));
    let clean = order
        .iter()
        .copied()
        .filter(|&i| !scores.noisy[i])
        .collect();
    (order, clean)
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
        let (order, clean) = ranked(&members, scores);
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

/// Philox stream index of class `c`'s k-means seeding in [`select_prototypes`]:
/// `IDX_PROTOTYPES + (c << 20)`.
pub const IDX_PROTOTYPES: u64 = 8 << 40;
/// Philox stream index of the held-out rows that rank the candidates of
/// [`select_prototypes_tuned`].
pub const IDX_TUNE: u64 = 9 << 40;
/// Boundary shares tried by [`select_prototypes_tuned`] when none is given, in the
/// order ties are resolved (fewer boundary rows first).
pub const BOUNDARY_SHARE_GRID: [f64; 3] = [0.0, 0.25, 0.5];
/// Noise thresholds tried by [`select_prototypes_tuned`] when none is given, in the
/// order ties are resolved (editing on first).
pub const NOISE_THRESHOLD_GRID: [f64; 2] = [0.5, 0.0];
/// Most held-out rows that rank the candidates of [`select_prototypes_tuned`].
pub const TUNE_EVAL_ROWS: usize = 4000;
/// The automatic strategy's limit: data sets of at most this many rows are selected
/// by [`select_prototypes`], larger ones by the linear-time graph cover ([`select`]).
/// The k-means inside the prototypes costs `O(n_c · q_c · d)` per iteration (about
/// `n_c^{3/2}` with the coarse-to-fine split), which at `10^5` rows already takes
/// several times the graph's time; every data set of the selection benchmark
/// (at most 20,000 rows) is below the limit.
pub const PROTOTYPES_MAX_ROWS: usize = 50_000;
/// Default weight of class difficulty in the per-class budgets of
/// [`select_prototypes`] (0: budgets proportional to class size).
pub const DIFFICULTY_WEIGHT: f64 = 0.0;
/// A row is a boundary row when its agreement is below `1 − BOUNDARY_TOLERANCE`
/// (softmax weights of an all-same-class neighbourhood may sum to `1 − ε`).
pub const BOUNDARY_TOLERANCE: f64 = 1e-9;

/// Per-class budgets that follow class difficulty within the same total: class `c`
/// weighs `n_c · ((1 − α) + α · B_c / B̄)`, where `B_c` is the class's mean boundary
/// score `b_i` and `B̄` the mean over all rows (`α = difficulty_weight`). The total
/// `Σ quota` is shared by weight (floors, then the largest remainders, ties by the
/// smaller class), each class between 1 and `n_c` rows. `α = 0`, or no boundary
/// at all, returns `quota` unchanged.
pub fn difficulty_quota(
    labels: &Labels<'_>,
    agreement: &[f64],
    quota: &[usize],
    difficulty_weight: f64,
) -> Result<Vec<usize>> {
    if !(0.0..=1.0).contains(&difficulty_weight) {
        return Err(SketchError::arg(
            "difficulty_weight",
            format!("must be in [0, 1], got {difficulty_weight}"),
        ));
    }
    let counts = labels.counts();
    let k = counts.len();
    let mut bsum = vec![0.0f64; k];
    for (i, &g) in agreement.iter().enumerate() {
        bsum[labels.of(i) as usize] += (1.0 - g).max(0.0);
    }
    let n: usize = counts.iter().sum();
    let bbar = bsum.iter().sum::<f64>() / n.max(1) as f64;
    if difficulty_weight == 0.0 || bbar <= 0.0 {
        return Ok(quota.to_vec());
    }
    let total: usize = quota.iter().sum();
    let w: Vec<f64> = (0..k)
        .map(|c| {
            if counts[c] == 0 {
                return 0.0;
            }
            let bc = bsum[c] / counts[c] as f64;
            counts[c] as f64 * ((1.0 - difficulty_weight) + difficulty_weight * bc / bbar)
        })
        .collect();
    let wsum: f64 = w.iter().sum();
    let target: Vec<f64> = w.iter().map(|&x| x / wsum * total as f64).collect();
    let mut out: Vec<usize> = (0..k)
        .map(|c| {
            if counts[c] == 0 {
                0
            } else {
                (target[c].floor() as usize).clamp(1, counts[c])
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        (target[b] - target[b].floor())
            .total_cmp(&(target[a] - target[a].floor()))
            .then(a.cmp(&b))
    });
    let mut have: usize = out.iter().sum();
    while have < total {
        let before = have;
        for &c in &order {
            if have < total && out[c] < counts[c] {
                out[c] += 1;
                have += 1;
            }
        }
        if have == before {
            break;
        }
    }
    while have > total {
        let before = have;
        for &c in order.iter().rev() {
            if have > total && out[c] > 1 && out[c] as f64 > target[c] {
                out[c] -= 1;
                have -= 1;
            }
        }
        if have == before {
            break;
        }
    }
    Ok(out)
}

/// Prototype selection guided by the attention scores ("noise edit, then cover the
/// class's modes, then its boundary"). Per class `c` with budget `q_c` (the quota,
/// or for `quota = None` the size of the class's 1-hop cover of clean rows, as in
/// [`select`]):
///
/// 0. **Budgets.** With a quota, the total is re-shared across classes by
///    [`difficulty_quota`] (`difficulty_weight = 0` keeps the quota).
/// 1. **Edit.** Noisy rows (`g_i <` the noise threshold) are set aside.
/// 2. **Boundary.** `round(boundary_share · q_c)` clean rows with `b_i > 0` are
///    taken greedily in score order, skipping rows inside a taken row's same-class
///    1-hop neighbourhood (so they spread along the boundary).
/// 3. **Modes.** The rest of the budget goes to k-means medoids of the other clean
///    rows (k-means++ seeding on `(seed, SELECTION, IDX_PROTOTYPES + (c << 20))`,
///    at most `iters` Lloyd iterations, coarse-to-fine above
///    [`super::prototypes::KMEANS_DIRECT_PAIRS`] row–centre pairs): the real row
///    nearest each centre.
/// 4. A budget larger than the clean rows is filled in score order (clean rows,
///    then noisy ones); a class keeps at least one row.
///
/// Weights: a medoid stands for its cluster (its size), every other kept row for
/// itself; the rows no kept row stands for (noisy ones, boundary rows left out)
/// are spread evenly, and a class's weights are rescaled to sum to its size.
/// `hops` is 1 for every class.
///
/// Time: `O(n k)` for the covers plus `O(n_c · q'_c · d · iters)` per class for
/// k-means, where `q'_c` is `q_c` below the direct limit and about `2√q_c` above
/// it (coarse-to-fine). No step compares all pairs of rows.
#[allow(clippy::too_many_arguments)]
pub fn select_prototypes<T: crate::Real, R: super::Rows<T>>(
    rows: &R,
    graph: GraphRef<'_>,
    labels: &Labels<'_>,
    scores: &Scores,
    quota: Option<&[usize]>,
    boundary_share: f64,
    difficulty_weight: f64,
    iters: usize,
    seed: u64,
) -> Result<Selection> {
    check_graph(graph, labels)?;
    let n = graph.n();
    if rows.n() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "graph has {n} rows, X has {}",
            rows.n()
        )));
    }
    if scores.score.len() != n || scores.noisy.len() != n || scores.agreement.len() != n {
        return Err(SketchError::ShapeMismatch(
            "scores do not match the graph".into(),
        ));
    }
    if !(0.0..=1.0).contains(&boundary_share) {
        return Err(SketchError::arg(
            "boundary_share",
            format!("must be in [0, 1], got {boundary_share}"),
        ));
    }
    if iters == 0 {
        return Err(SketchError::arg("max_iter", "must be at least 1"));
    }
    if let Some(q) = quota {
        if q.len() != labels.n_classes() {
            return Err(SketchError::ShapeMismatch(
                "one quota per class expected".into(),
            ));
        }
    }
    let quota = match quota {
        Some(q) => Some(difficulty_quota(
            labels,
            &scores.agreement,
            q,
            difficulty_weight,
        )?),
        None if !(0.0..=1.0).contains(&difficulty_weight) => {
            return Err(SketchError::arg(
                "difficulty_weight",
                format!("must be in [0, 1], got {difficulty_weight}"),
            ))
        }
        None => None,
    };
    let quota = quota.as_deref();
    let (deg, adj) = same_class_adjacency(graph, labels)?;
    let mut owner = try_vec(n, u32::MAX, "cover owners")?;
    let (mut frontier, mut next) = (Vec::new(), Vec::new());
    let mut kept: Vec<(usize, f64)> = Vec::new();
    let mut hops_used = Vec::with_capacity(labels.n_classes());
    for (c, members) in labels.members().into_iter().enumerate() {
        hops_used.push(if members.is_empty() { 0 } else { 1 });
        if members.is_empty() {
            continue;
        }
        let (order, clean) = ranked(&members, scores);
        let want = match quota {
            Some(q) => q[c].clamp(1, members.len()),
            None => cover(
                &members,
                &clean,
                1,
                usize::MAX,
                &deg,
                &adj,
                &mut owner,
                &mut frontier,
                &mut next,
            )
            .len()
            .max(1),
        };
        let boundary: Vec<usize> = clean
            .iter()
            .copied()
            .filter(|&i| scores.agreement[i] < 1.0 - BOUNDARY_TOLERANCE)
            .collect();
        let nb = ((boundary_share * want as f64).round() as usize).min(want);
        let mut picks: Vec<(usize, f64)> = cover(
            &members,
            &boundary,
            1,
            nb,
            &deg,
            &adj,
            &mut owner,
            &mut frontier,
            &mut next,
        )
        .into_iter()
        .map(|i| (i, 1.0))
        .collect();
        let mut chosen: std::collections::HashSet<usize> = picks.iter().map(|p| p.0).collect();
        let rest: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| !scores.noisy[*i] && !chosen.contains(i))
            .collect();
        let nm = want - picks.len();
        let idx = IDX_PROTOTYPES + ((c as u64) << 20);
        for (i, size) in super::prototypes::medoids_of(rows, &rest, nm, iters, seed, idx)? {
            chosen.insert(i);
            picks.push((i, size as f64));
        }
        for &i in clean
            .iter()
            .chain(order.iter().filter(|&&i| scores.noisy[i]))
        {
            if picks.len() >= want {
                break;
            }
            if chosen.insert(i) {
                picks.push((i, 1.0));
            }
        }
        let total: f64 = picks.iter().map(|p| p.1).sum();
        let extra = (members.len() as f64 - total).max(0.0) / picks.len() as f64;
        let scale = members.len() as f64 / (total + extra * picks.len() as f64);
        for (i, w) in picks {
            kept.push((i, (w + extra) * scale));
        }
    }
    kept.sort_unstable_by_key(|&(i, _)| i);
    Ok(Selection {
        indices: kept.iter().map(|&(i, _)| i).collect(),
        weights: kept.iter().map(|&(_, w)| w).collect(),
        hops: hops_used,
    })
}

/// One candidate of [`select_prototypes_tuned`] and how it fared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// The candidate's boundary share.
    pub boundary_share: f64,
    /// The candidate's noise threshold.
    pub noise_threshold: f64,
    /// Held-out rows whose nearest kept row has their class.
    pub hits: usize,
    /// Held-out rows judged (the sample's rows the candidate did not keep).
    pub judged: usize,
}

impl Candidate {
    /// `hits / judged` (1 when nothing was judged).
    pub fn accuracy(&self) -> f64 {
        let (h, j) = self.ratio();
        h as f64 / j as f64
    }

    /// The accuracy as an exact fraction `(hits, judged)`, `(1, 1)` when nothing was
    /// judged.
    fn ratio(&self) -> (u128, u128) {
        if self.judged == 0 {
            (1, 1)
        } else {
            (self.hits as u128, self.judged as u128)
        }
    }
}

/// The result of [`select_prototypes_tuned`].
#[derive(Clone, Debug, PartialEq)]
pub struct Tuned {
    /// The chosen candidate's selection.
    pub selection: Selection,
    /// The attention scores at the chosen noise threshold.
    pub scores: Scores,
    /// Every candidate tried, in trial order, the chosen one at `chosen`; empty when
    /// both parameters were given (nothing to choose).
    pub candidates: Vec<Candidate>,
    /// Index of the chosen candidate in `candidates`.
    pub chosen: usize,
    /// With `keep_all`, every candidate's selection (same order as `candidates`),
    /// for a choice pooled over several calls ([`pooled_choice`]); else empty.
    pub all: Vec<Selection>,
}

/// The first of the most accurate candidates (exact comparison of `hits / judged`),
/// `None` for none.
fn best_candidate(candidates: &[Candidate]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        let better = best.is_none_or(|b| {
            let (hc, jc) = c.ratio();
            let (hb, jb) = candidates[b].ratio();
            hc * jb > hb * jc
        });
        if better {
            best = Some(i);
        }
    }
    best
}

/// The candidate to keep across several [`select_prototypes_tuned`] calls on parts
/// of one data set (partitions): each candidate's hits and judged rows are summed
/// over the parts, then the rule of one call applies (the most accurate, ties to
/// the earliest). Every part must list the same candidates in the same order.
pub fn pooled_choice(parts: &[&[Candidate]]) -> Result<usize> {
    let first = parts.first().copied().unwrap_or(&[]);
    let mut sum: Vec<Candidate> = first.to_vec();
    for c in &mut sum {
        (c.hits, c.judged) = (0, 0);
    }
    for part in parts {
        if part.len() != sum.len()
            || part.iter().zip(&sum).any(|(a, b)| {
                (a.boundary_share, a.noise_threshold) != (b.boundary_share, b.noise_threshold)
            })
        {
            return Err(SketchError::arg(
                "candidates",
                "every part must list the same candidates in the same order",
            ));
        }
        for (acc, c) in sum.iter_mut().zip(part.iter()) {
            acc.hits += c.hits;
            acc.judged += c.judged;
        }
    }
    best_candidate(&sum)
        .ok_or_else(|| SketchError::arg("candidates", "at least one candidate is needed"))
}

/// 1-NN on held-out rows: of the rows of `sample` that `kept` (ascending) leaves
/// out, how many have a nearest kept row (by `metric`, ties by the smaller index)
/// of their own class, and how many there are.
fn holdout_hits<T: crate::Real, R: super::Rows<T>>(
    rows: &R,
    metric: super::Metric,
    labels: &Labels<'_>,
    kept: &[usize],
    sample: &[usize],
) -> Result<(usize, usize)> {
    use rayon::prelude::*;
    let judged: Vec<usize> = sample
        .iter()
        .copied()
        .filter(|i| kept.binary_search(i).is_err())
        .collect();
    if kept.is_empty() {
        return Ok((0, judged.len()));
    }
    let d = rows.dim();
    let hits = crate::parallel::install(|| {
        judged
            .par_iter()
            .map_init(
                || {
                    (
                        super::rows::TopK::new(1),
                        try_vec(d, T::ZERO, "a row buffer"),
                    )
                },
                |(top, buf), &q| {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    if rows.cancelled() {
                        return Ok(0);
                    }
                    crate::dispatch!(super::knn::knn_in_pool(
                        rows,
                        metric,
                        q,
                        kept.iter().copied(),
                        top,
                        buf
                    ));
                    let nearest = top.items()[0].1;
                    Ok(usize::from(labels.of(nearest) == labels.of(q)))
                },
            )
            .sum::<Result<usize>>()
    })??;
    rows.check_cancel()?;
    Ok((hits, judged.len()))
}

/// [`select_prototypes`] with its boundary share and the attention's noise
/// threshold chosen from the data: each candidate `(b, t)` of
/// [`BOUNDARY_SHARE_GRID`] × [`NOISE_THRESHOLD_GRID`] (a given value replaces its
/// grid) selects as [`select_prototypes`] would with scores at threshold `t`, and
/// is scored by the 1-NN accuracy of its kept rows on held-out rows: the rows of
/// one sample of at most [`TUNE_EVAL_ROWS`] training rows (a seeded permutation
/// on `(seed, SELECTION, IDX_TUNE)`, the same for every candidate) that the
/// candidate did not keep. The most accurate candidate wins; ties go to the
/// earlier one (boundary share outer, threshold inner, each in grid order).
///
/// This is model selection on the training rows the selection leaves out: no row
/// judges a candidate that kept it. With `keep_all`, every candidate's selection is
/// returned too, so that parts of one data set can share one choice
/// ([`pooled_choice`]). With both values given it is
/// [`select_prototypes`] after [`scores`], with no candidates.
///
/// Time: one [`scores`] per threshold, one [`select_prototypes`] per candidate and
/// `O(s · m · d)` per candidate for the held-out 1-NN (`s` sample rows, `m` kept
/// rows). A threshold that flags the same rows as an earlier one (clean data: no
/// row below either) repeats that one's figures without selecting again.
#[allow(clippy::too_many_arguments)]
pub fn select_prototypes_tuned<T: crate::Real, R: super::Rows<T>>(
    rows: &R,
    metric: super::Metric,
    graph: GraphRef<'_>,
    labels: &Labels<'_>,
    boundary_share: Option<f64>,
    noise_threshold: Option<f64>,
    boundary_weight: f64,
    quota: Option<&[usize]>,
    difficulty_weight: f64,
    iters: usize,
    seed: u64,
    keep_all: bool,
) -> Result<Tuned> {
    let shares: Vec<f64> = boundary_share.map_or(BOUNDARY_SHARE_GRID.to_vec(), |b| vec![b]);
    let thresholds: Vec<f64> = noise_threshold.map_or(NOISE_THRESHOLD_GRID.to_vec(), |t| vec![t]);
    let all_scores = thresholds
        .iter()
        .map(|&t| {
            scores(
                graph,
                labels,
                AttentionConfig {
                    noise_threshold: t,
                    boundary_weight,
                },
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let select = |b: f64, s: &Scores| {
        select_prototypes(
            rows,
            graph,
            labels,
            s,
            quota,
            b,
            difficulty_weight,
            iters,
            seed,
        )
    };
    if shares.len() == 1 && thresholds.len() == 1 {
        let scores = all_scores.into_iter().next().ok_or_else(|| {
            SketchError::ShapeMismatch("one score set per threshold expected".into())
        })?;
        return Ok(Tuned {
            selection: select(shares[0], &scores)?,
            scores,
            candidates: Vec::new(),
            chosen: 0,
            all: Vec::new(),
        });
    }
    let n = graph.n();
    let mut sample = super::permutation(n, seed, crate::rng::tag::SELECTION, IDX_TUNE);
    sample.truncate(TUNE_EVAL_ROWS);
    let mut candidates: Vec<Candidate> = Vec::with_capacity(shares.len() * thresholds.len());
    let mut all: Vec<Selection> = Vec::with_capacity(candidates.capacity());
    // A threshold that flags the same rows as an earlier one gives the same scores,
    // hence the same selection: its candidates repeat the earlier figures (and,
    // being no better, are never chosen).
    let same_as: Vec<Option<usize>> = (0..thresholds.len())
        .map(|ti| (0..ti).find(|&tj| all_scores[tj] == all_scores[ti]))
        .collect();
    for &b in &shares {
        let row_start = candidates.len();
        for (ti, &t) in thresholds.iter().enumerate() {
            if let Some(tj) = same_as[ti] {
                let twin = candidates[row_start + tj];
                candidates.push(Candidate {
                    noise_threshold: t,
                    ..twin
                });
                let twin_sel = all[row_start + tj].clone();
                all.push(twin_sel);
                continue;
            }
            let sel = select(b, &all_scores[ti])?;
            let (hits, judged) = holdout_hits(rows, metric, labels, &sel.indices, &sample)?;
            candidates.push(Candidate {
                boundary_share: b,
                noise_threshold: t,
                hits,
                judged,
            });
            all.push(sel);
        }
    }
    let chosen = best_candidate(&candidates)
        .ok_or_else(|| SketchError::ShapeMismatch("at least one candidate expected".into()))?;
    let ti = chosen % thresholds.len();
    let selection = all[chosen].clone();
    if !keep_all {
        all = Vec::new();
    }
    let scores = all_scores
        .into_iter()
        .nth(ti)
        .ok_or_else(|| SketchError::ShapeMismatch("one score set per threshold expected".into()))?;
    Ok(Tuned {
        selection,
        scores,
        candidates,
        chosen,
        all,
    })
}
