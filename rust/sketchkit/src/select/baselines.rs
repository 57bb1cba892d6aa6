//! Classic instance-selection baselines: stratified random subsets, Hart's
//! condensed nearest neighbour (CNN), Wilson's edited nearest neighbours (ENN),
//! DROP3 (Wilson & Martinez 2000) and LSH-IS (Arnaiz-González et al. 2016).
//!
//! Every function returns the kept row indices sorted ascending. Results are
//! deterministic for a seed and independent of the number of threads: all random
//! choices come from Philox streams `(seed, tag::SELECTION, index)` with a distinct
//! `index` per purpose (see the `IDX_*` constants), every distance is computed by
//! [`Rows::distance`] with the query row loaded into a dense buffer (so a pair's
//! distance is a fixed function of the two rows), and every ordering of
//! neighbours breaks ties by the smaller row index.
//!
//! Shared vote rule (ENN, DROP3): a row `a` with label `y_a` is *classified
//! correctly* by a list of neighbours when the list is non-empty and `y_a` has the
//! largest count among the neighbours' labels; a tie for the largest count that
//! includes `y_a` counts as correct ("benefit of the doubt").

use super::hashing::{project_in_chunks, scale_estimate};
use super::knn::{check_k, exact_knn};
use super::rows::{closer, Metric, Rows, TopK};
use super::{permutation, Labels};
use crate::error::{try_vec, Result, SketchError};
use crate::rng::{tag, Stream};
use crate::sketch::{Family, Sketch};
use crate::Real;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Philox stream index of class `c`'s draw in [`stratified_random`]: `IDX_STRATIFIED + c`.
pub const IDX_STRATIFIED: u64 = 1 << 40;
/// Philox stream index of the CNN visiting order.
pub const IDX_CNN_ORDER: u64 = 2 << 40;
/// Philox stream index of the LSH-IS priority order.
pub const IDX_LSH_ORDER: u64 = 3 << 40;
/// Philox stream index of LSH-IS table `t`'s Gaussian operator seed: `IDX_LSH_TABLE + t`.
pub const IDX_LSH_TABLE: u64 = 4 << 40;
/// Philox stream index of LSH-IS table `t`'s offsets `b`: `IDX_LSH_OFFSET + t`.
pub const IDX_LSH_OFFSET: u64 = 5 << 40;

/// A neighbour list: `(distance, row)` pairs.
type Neighbours = Vec<(f64, usize)>;

/// Rows of the CNN visiting order whose nearest prototype is refreshed in
/// parallel before they are decided one by one.
const CNN_BLOCK: usize = 512;

fn check_labels<T: Real, R: Rows<T>>(rows: &R, labels: &Labels<'_>) -> Result<()> {
    check_label_count(labels, rows.n())
}

/// One label per row of `X`, and at least one row.
pub(crate) fn check_label_count(labels: &Labels<'_>, n: usize) -> Result<()> {
    if labels.codes().len() != n {
        return Err(SketchError::ShapeMismatch(format!(
            "y has {} labels but X has {n} rows",
            labels.codes().len()
        )));
    }
    if n == 0 {
        return Err(SketchError::arg("X", "has no rows"));
    }
    Ok(())
}

/// The shared vote rule (module docs): `true` when `neighbours` is non-empty and
/// `y` has the largest label count among them (ties including `y` count as
/// correct). `scratch` is reused between calls.
fn vote_correct(
    labels: &Labels<'_>,
    y: u32,
    neighbours: impl Iterator<Item = usize>,
    scratch: &mut Vec<u32>,
) -> bool {
    scratch.clear();
    scratch.extend(neighbours.map(|j| labels.of(j)));
    if scratch.is_empty() {
        return false;
    }
    scratch.sort_unstable();
    let (mut best, mut own) = (0usize, 0usize);
    let mut t = 0;
    while t < scratch.len() {
        let c = scratch[t];
        let run = scratch[t..].iter().take_while(|&&v| v == c).count();
        best = best.max(run);
        if c == y {
            own = run;
        }
        t += run;
    }
    own == best
}

/// Stratified random subset: for every class `c`, `quota[c]` of its rows drawn
/// uniformly without replacement (Floyd's algorithm on the Philox stream
/// `(seed, SELECTION, IDX_STRATIFIED + c)`). Use [`super::quota`] for the quota of
/// a reduction rate. `O(n)` time.
///
/// Errors: `quota` of the wrong length or asking for more rows than a class has.
pub fn stratified_random(labels: &Labels<'_>, quota: &[usize], seed: u64) -> Result<Vec<usize>> {
    check_class_quota(labels, quota)?;
    if labels.counts().iter().any(|&m| m > u32::MAX as usize) {
        return Err(SketchError::arg("y", "a class has more than 2^32 − 1 rows"));
    }
    let members = labels.members();
    let mut out = Vec::with_capacity(quota.iter().sum());
    for (c, m) in members.iter().enumerate() {
        let mut s = Stream::new(seed, tag::SELECTION, IDX_STRATIFIED + c as u64);
        let pick = crate::rng::sample_without_replacement(&mut s, m.len() as u32, quota[c] as u32);
        out.extend(pick.into_iter().map(|p| m[p as usize]));
    }
    out.sort_unstable();
    Ok(out)
}

/// For every row, `Some(group)` when it has an exact duplicate (equal feature
/// values, `-0 == 0`) carrying a different label, else `None`. Rows are hashed in
/// parallel, sorted by hash and compared exactly inside equal-hash runs.
fn conflicting_duplicates<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
) -> Result<Vec<Option<usize>>> {
    let (n, d) = (rows.n(), rows.dim());
    let bits = |v: T| {
        let x = v.to_f64();
        if x == 0.0 {
            0u64
        } else {
            x.to_bits()
        }
    };
    let hashes: Vec<u64> = crate::parallel::install(|| {
        (0..n)
            .into_par_iter()
            .map_init(
                || try_vec(d, T::ZERO, "a row buffer"),
                |buf, i| {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    rows.load(i, buf);
                    Ok(buf.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &v| {
                        (h.rotate_left(5) ^ bits(v)).wrapping_mul(0x517c_c1b7_2722_0a95)
                    }))
                },
            )
            .collect::<Result<_>>()
    })??;
    let mut order: Vec<usize> = (0..n).collect();
    crate::parallel::install(|| order.par_sort_unstable_by_key(|&i| (hashes[i], i)))?;
    let mut out = try_vec(n, None, "duplicate groups")?;
    let (mut a, mut b) = (
        try_vec(d, T::ZERO, "row pair")?,
        try_vec(d, T::ZERO, "row pair")?,
    );
    let mut p = 0;
    while p < order.len() {
        let h = hashes[order[p]];
        let run = order[p..].iter().take_while(|&&i| hashes[i] == h).count();
        if run > 1 {
            // Split the run into groups of equal rows (first member = representative).
            let mut reps: Vec<(usize, Vec<usize>)> = Vec::new();
            for &i in &order[p..p + run] {
                rows.load(i, &mut a);
                let mut found = false;
                for (rep, members) in reps.iter_mut() {
                    rows.load(*rep, &mut b);
                    if a.iter().zip(&b).all(|(x, y)| bits(*x) == bits(*y)) {
                        members.push(i);
                        found = true;
                        break;
                    }
                }
                if !found {
                    reps.push((i, vec![i]));
                }
            }
            for (rep, members) in reps {
                let y0 = labels.of(rep);
                if members.iter().any(|&i| labels.of(i) != y0) {
                    for i in members {
                        out[i] = Some(rep);
                    }
                }
            }
        }
        p += run;
    }
    Ok(out)
}

/// Hart's condensed nearest neighbour (multi-class).
///
/// Algorithm: visit the rows in a Philox permutation (stream
/// `(seed, SELECTION, IDX_CNN_ORDER)`); the store `S` starts with the first
/// visited row of every class. Then repeat passes over the rows not in `S`, in
/// visiting order: classify the row by its nearest row of `S` (ties by the smaller
/// index) as `S` stands at that moment, and add it to `S` when the label differs.
/// Stop after a pass that adds nothing.
///
/// Duplicate guard: a row with an exact duplicate (equal feature values) carrying
/// a different label can never be fixed by adding rows, since the duplicates stay
/// at distance 0 from each other. For every such duplicate group and label at
/// most one row enters `S` (the first one found misclassified, or chosen as a
/// class seed); the group's other rows with that label are then skipped for good.
/// Hence every removed row *without* a conflicting duplicate is classified
/// correctly by 1-NN on the kept set (ties by smaller index), and the loop ends
/// after at most `|S| + 1` passes.
///
/// Work: each row compares itself with each member of `S` once over the whole run
/// (its nearest prototype is updated incrementally), so `O(n · |S| · d)` distance
/// work plus `O(n)` per pass; memory `O(n)`. The visiting order is processed in
/// blocks whose nearest prototypes are refreshed in parallel, then decided
/// sequentially, which gives exactly the sequential result.
pub fn condensed_nearest_neighbour<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    metric: Metric,
    seed: u64,
) -> Result<Vec<usize>> {
    check_labels(rows, labels)?;
    let (n, d) = (rows.n(), rows.dim());
    let order = permutation(n, seed, tag::SELECTION, IDX_CNN_ORDER);
    let dup = conflicting_duplicates(rows, labels)?;
    let mut represented: HashSet<(usize, u32)> = HashSet::new();
    let mut in_s = try_vec(n, false, "CNN store flags")?;
    let mut store: Vec<usize> = Vec::new();
    let mut seeded = vec![false; labels.n_classes()];
    for &i in &order {
        let c = labels.of(i) as usize;
        if !seeded[c] {
            seeded[c] = true;
            in_s[i] = true;
            store.push(i);
            if let Some(g) = dup[i] {
                represented.insert((g, labels.of(i)));
            }
        }
    }
    // Nearest store member found so far and how many store members were scanned.
    let mut best = try_vec(n, (f64::INFINITY, usize::MAX), "CNN nearest prototypes")?;
    let mut scanned = try_vec(n, 0usize, "CNN scan counts")?;
    let refresh = |i: usize, from: usize, b: (f64, usize), st: &[usize], buf: &mut [T]| {
        let mut b = b;
        rows.load(i, buf);
        let q_sq = rows.sq_norm(i);
        for &j in &st[from..] {
            let e = (rows.distance(metric, j, buf, q_sq), j);
            if closer(e, b) {
                b = e;
            }
        }
        b
    };
    let mut buf = try_vec(d, T::ZERO, "row buffer")?;
    loop {
        let pending: Vec<usize> = order.iter().copied().filter(|&i| !in_s[i]).collect();
        let mut added = false;
        for block in pending.chunks(CNN_BLOCK) {
            rows.check_cancel()?;
            let (st, bs, sc) = (&store, &best, &scanned);
            let fresh: Vec<(f64, usize)> = crate::parallel::install(|| {
                block
                    .par_iter()
                    .map_init(
                        || try_vec(d, T::ZERO, "a row buffer"),
                        |b, &i| {
                            let b = b.as_mut().map_err(|e| e.clone())?;
                            Ok(if sc[i] == st.len() {
                                bs[i]
                            } else {
                                crate::dispatch!(refresh(i, sc[i], bs[i], st, b))
                            })
                        },
                    )
                    .collect::<Result<_>>()
            })??;
            for (&i, f) in block.iter().zip(fresh) {
                best[i] = f;
                scanned[i] = store.len();
            }
            for &i in block {
                let y = labels.of(i);
                if let Some(g) = dup[i] {
                    if represented.contains(&(g, y)) {
                        continue;
                    }
                }
                if scanned[i] < store.len() {
                    best[i] = refresh(i, scanned[i], best[i], &store, &mut buf);
                    scanned[i] = store.len();
                }
                if labels.of(best[i].1) != y {
                    in_s[i] = true;
                    store.push(i);
                    added = true;
                    if let Some(g) = dup[i] {
                        represented.insert((g, y));
                    }
                }
            }
        }
        if !added {
            break;
        }
    }
    store.sort_unstable();
    Ok(store)
}

/// Rows ENN flags for removal, given each row's neighbour list.
fn enn_flags(labels: &Labels<'_>, lists: &[Vec<(f64, usize)>], rows_of: &[usize]) -> Vec<bool> {
    lists
        .iter()
        .zip(rows_of)
        .map(|(l, &i)| {
            let mut s = Vec::new();
            !vote_correct(labels, labels.of(i), l.iter().map(|e| e.1), &mut s)
        })
        .collect()
}

/// Wilson's edited nearest neighbours.
///
/// Row `i` is removed when it is misclassified by its `k` nearest *other* rows
/// (exact, ties by the smaller index; fewer when `n − 1 < k`) under the shared
/// vote rule (module docs): removed iff some other label has a strictly larger
/// count than `y_i`; a tie for the top count that includes `y_i` keeps the row.
/// All votes use the original set (the edit is simultaneous, not sequential).
/// A class whose rows would all be removed keeps all of them, so no class is ever
/// emptied.
///
/// Work `O(n² · d)` (brute-force kNN, parallel over rows), memory `O(n · k)`.
///
/// Errors: `n_neighbors` (`k`) of 0, fewer than 2 rows, a label length mismatch.
pub fn edited_nearest_neighbours<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    k: usize,
    metric: Metric,
) -> Result<Vec<usize>> {
    check_labels(rows, labels)?;
    let n = rows.n();
    check_k(k, n)?;
    let all: Vec<usize> = (0..n).collect();
    let lists = exact_knn(rows, &all, k, metric)?;
    let mut remove = enn_flags(labels, &lists, &all);
    let mut left = labels.counts().to_vec();
    for i in 0..n {
        if remove[i] {
            left[labels.of(i) as usize] -= 1;
        }
    }
    for i in 0..n {
        if left[labels.of(i) as usize] == 0 {
            remove[i] = false;
        }
    }
    Ok((0..n).filter(|&i| !remove[i]).collect())
}

/// DROP3 (Wilson & Martinez 2000): an ENN noise filter followed by DROP2.
///
/// 1. `T' =` [`edited_nearest_neighbours`]`(k)`; `S = T'`.
/// 2. Order `T'` by the distance of each row to its nearest enemy (nearest row of
///    another class in the *original* set; `+∞` if none), descending, ties by the
///    smaller index.
/// 3. Every row `A ∈ T'` (kept or removed later) holds the list `N(A)` of its
///    `k + 1` nearest rows of `S \ {A}` (ascending distance, ties by index; fewer
///    when `S` is small). `A` is an associate of every row in `N(A)`.
/// 4. For each `P` in that order: skip `P` when it is the last row of its class in
///    `S` (no class is ever emptied). Otherwise, over the associates `A` of `P`,
///    count `with` = how many are classified correctly by the first `k` entries of
///    `N(A)`, and `without` = how many are classified correctly by the first `k`
///    entries of `N(A) \ {P}` (shared vote rule, module docs; an empty list is
///    wrong). If `without ≥ with`, remove `P` from `S`; every associate `A` of `P`
///    drops `P` from `N(A)` and takes the nearest row of `S \ {A}` beyond its
///    previous last entry (so `N(A)` is again the exact `k + 1` nearest of
///    `S \ {A}`) and becomes an associate of it. As in DROP2, removed rows stay
///    associates of their neighbours and keep voting.
///
/// Equivalently: `N(A)` is always the exact `k + 1` nearest rows of the current
/// `S \ {A}`, and the associates of `P` are the rows `A ∈ T'` with `P ∈ N(A)`.
///
/// Work: `O(n² · d)` for ENN, nearest enemies and the initial lists, plus
/// `O(|T'| · d)` per associate of each removed row to find its replacement
/// (parallel over associates); memory `O(n · k)` plus the associate lists.
///
/// Errors: as [`edited_nearest_neighbours`].
pub fn drop3<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    k: usize,
    metric: Metric,
) -> Result<Vec<usize>> {
    let kept = edited_nearest_neighbours(rows, labels, k, metric)?;
    let (n, d) = (rows.n(), rows.dim());
    let m = kept.len();
    let mut pos = try_vec(n, usize::MAX, "DROP3 positions")?;
    for (p, &i) in kept.iter().enumerate() {
        pos[i] = p;
    }
    // One scan per row of T': its nearest enemy in the original set, and its `L`
    // nearest rows of T' (the first k + 1 form N(A), all L the replacement cache).
    let cache_len = 2 * (k + 1) + 8;
    let pos_ref = &pos;
    let scans: Vec<(f64, Vec<(f64, usize)>)> = crate::parallel::install(|| {
        kept.par_iter()
            .map_init(
                || (TopK::new(cache_len), try_vec(d, T::ZERO, "a row buffer")),
                |(top, buf), &a| {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    if rows.cancelled() {
                        return Ok((0.0, Vec::new()));
                    }
                    Ok(crate::dispatch!(first_scan(
                        rows, labels, metric, a, pos_ref, top, buf
                    )))
                },
            )
            .collect::<Result<_>>()
    })??;
    let (enemy, mut caches): (Vec<f64>, Vec<Vec<(f64, usize)>>) = scans.into_iter().unzip();
    rows.check_cancel()?;
    let mut lists: Vec<Vec<(f64, usize)>> = caches
        .iter()
        .map(|c| c[..c.len().min(k + 1)].to_vec())
        .collect();
    // A cache is kept in descending order so that `pop` yields the nearest; it is
    // exhausted when its last fill found fewer than `cache_len` rows.
    let mut exhausted: Vec<bool> = caches.iter().map(|c| c.len() < cache_len).collect();
    for c in caches.iter_mut() {
        c.reverse();
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| enemy[b].total_cmp(&enemy[a]).then(a.cmp(&b)));
    let mut assoc: Vec<Vec<usize>> = try_vec(m, Vec::new(), "associates")?;
    for (pa, l) in lists.iter().enumerate() {
        for &(_, j) in l {
            assoc[pos[j]].push(kept[pa]);
        }
    }
    let mut in_s = try_vec(n, false, "DROP3 store flags")?;
    for &i in &kept {
        in_s[i] = true;
    }
    let mut left = try_vec(labels.n_classes(), 0usize, "class counts")?;
    for &i in &kept {
        left[labels.of(i) as usize] += 1;
    }
    let mut scratch = Vec::new();
    for &pp in &order {
        rows.check_cancel()?;
        let p = kept[pp];
        let yp = labels.of(p) as usize;
        if left[yp] <= 1 {
            continue;
        }
        let (mut with, mut without) = (0usize, 0usize);
        for &a in &assoc[pp] {
            let l = &lists[pos[a]];
            let ya = labels.of(a);
            with += usize::from(vote_correct(
                labels,
                ya,
                l.iter().take(k).map(|e| e.1),
                &mut scratch,
            ));
            without += usize::from(vote_correct(
                labels,
                ya,
                l.iter().filter(|e| e.1 != p).take(k).map(|e| e.1),
                &mut scratch,
            ));
        }
        if without < with {
            continue;
        }
        in_s[p] = false;
        left[yp] -= 1;
        let associates = std::mem::take(&mut assoc[pp]);
        let mut work: Vec<(usize, Neighbours, bool)> = associates
            .iter()
            .map(|&a| {
                let pa = pos[a];
                (a, std::mem::take(&mut caches[pa]), exhausted[pa])
            })
            .collect();
        let (ls, is, kp) = (&lists, &in_s, &kept);
        let repl: Vec<Option<(f64, usize)>> = crate::parallel::install(|| {
            work.par_iter_mut()
                .map_init(
                    || (TopK::new(cache_len), try_vec(d, T::ZERO, "a row buffer")),
                    |(top, buf), (a, cache, ex)| {
                        let buf = buf.as_mut().map_err(|e| e.clone())?;
                        let last = *ls[pos[*a]].last().expect("an associate lists P");
                        Ok(crate::dispatch!(next_neighbour(
                            rows, metric, *a, last, kp, is, cache, ex, cache_len, top, buf
                        )))
                    },
                )
                .collect::<Result<_>>()
        })??;
        for (a, cache, ex) in work {
            caches[pos[a]] = cache;
            exhausted[pos[a]] = ex;
        }
        for (&a, r) in associates.iter().zip(repl) {
            let l = &mut lists[pos[a]];
            l.retain(|e| e.1 != p);
            if let Some(e) = r {
                l.push(e);
                assoc[pos[e.1]].push(a);
            }
        }
    }
    Ok(kept.into_iter().filter(|&i| in_s[i]).collect())
}

/// DROP3's first scan of row `a`: its nearest-enemy distance over all rows and its
/// `top.k` nearest rows of `T'` (rows with `pos[j] != usize::MAX`), ascending.
#[inline(always)]
fn first_scan<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    metric: Metric,
    a: usize,
    pos: &[usize],
    top: &mut TopK,
    buf: &mut [T],
) -> (f64, Vec<(f64, usize)>) {
    top.clear();
    rows.load(a, buf);
    let q_sq = rows.sq_norm(a);
    let ya = labels.of(a);
    let mut enemy = f64::INFINITY;
    for (j, &pj) in pos.iter().enumerate() {
        if j == a {
            continue;
        }
        let dist = rows.distance(metric, j, buf, q_sq);
        if labels.of(j) != ya {
            enemy = enemy.min(dist);
        }
        if pj != usize::MAX {
            top.push(dist, j);
        }
    }
    (enemy, top.items().to_vec())
}

/// The nearest row `e` of `S \ {a}` with `last ≺ e` in `(distance, index)` order,
/// served from `a`'s cache (descending; every row of `S` in the cached range is
/// in it) and refilled by a scan of `S` when the cache runs out.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn next_neighbour<T: Real, R: Rows<T>>(
    rows: &R,
    metric: Metric,
    a: usize,
    last: (f64, usize),
    kept: &[usize],
    in_s: &[bool],
    cache: &mut Vec<(f64, usize)>,
    exhausted: &mut bool,
    cap: usize,
    top: &mut TopK,
    buf: &mut [T],
) -> Option<(f64, usize)> {
    loop {
        while let Some(&e) = cache.last() {
            if closer(last, e) && in_s[e.1] {
                return cache.pop();
            }
            cache.pop();
        }
        if *exhausted {
            return None;
        }
        top.clear();
        rows.load(a, buf);
        let q_sq = rows.sq_norm(a);
        for &j in kept {
            if j != a && in_s[j] {
                let e = (rows.distance(metric, j, buf, q_sq), j);
                if closer(last, e) {
                    top.push(e.0, e.1);
                }
            }
        }
        *exhausted = top.items().len() < cap;
        cache.extend(top.items().iter().rev());
        if cache.is_empty() {
            return None;
        }
    }
}

/// The two LSH-IS variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LshVariant {
    /// LSH-IS-S: one row per class per bucket.
    S,
    /// LSH-IS-F: as S, but a class with a single row in a bucket holding several
    /// classes is treated as noise there.
    F,
}

impl LshVariant {
    /// Both variants.
    pub const ALL: [LshVariant; 2] = [LshVariant::S, LshVariant::F];

    /// `"S"` or `"F"`.
    pub fn name(self) -> &'static str {
        match self {
            LshVariant::S => "S",
            LshVariant::F => "F",
        }
    }

    /// Parses `"S"`/`"F"` (either case); the error names `variant`.
    pub fn parse(s: &str) -> Result<Self> {
        s.parse()
    }
}

impl std::fmt::Display for LshVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for LshVariant {
    type Err = SketchError;
    fn from_str(s: &str) -> Result<Self> {
        let upper = s.to_ascii_uppercase();
        crate::sketch::parse_name(&upper, LshVariant::ALL, LshVariant::name, "variant")
    }
}

/// LSH-IS (Arnaiz-González, Díez-Pastor, Rodríguez & García-Osorio 2016).
///
/// Hashing: table `t` (of `n_tables`) holds `n_funcs` p-stable functions
/// `h(x) = ⌊(a·x + b) / w⌋` with `a ~ N(0, I_d)` (the rows of a
/// [`Family::Gaussian`] sketch seeded from `(seed, SELECTION, IDX_LSH_TABLE + t)`,
/// rescaled by `√n_funcs`), `b ~ U(0, w)` (stream `IDX_LSH_OFFSET + t`) and
/// `w = width · s`, `s` the median nearest-neighbour distance of a sample of 1000
/// rows ([`scale_estimate`]). A bucket is the tuple of the `n_funcs` values.
///
/// Selection: rows carry a random priority (a Philox permutation, stream
/// `IDX_LSH_ORDER`, the same in every table, so overlapping buckets tend to pick
/// the same row). In every table and bucket, for every class present there, the
/// row of highest priority is kept (LSH-IS-S). LSH-IS-F skips a class that has
/// exactly one row in a bucket holding two or more classes (a lone minority row is
/// taken for noise). The result is the union over tables. Hence F ⊆ S for the
/// same arguments. Should LSH-IS-F keep no row of a class that is present, its
/// highest-priority row is kept, so no class is emptied.
///
/// Work `O(n_tables · (n · d · n_funcs + n log n))` (projection, then one parallel
/// sort of the bucket keys per table); memory `O(n · n_funcs)`.
///
/// Errors: `n_tables`, `n_funcs` of 0, `width` not positive and finite, a label
/// length mismatch.
#[allow(clippy::too_many_arguments)]
pub fn lsh_is<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    variant: LshVariant,
    n_tables: usize,
    n_funcs: usize,
    width: f64,
    seed: u64,
) -> Result<Vec<usize>> {
    if n_tables == 0 {
        return Err(SketchError::arg("n_tables", "must be at least 1"));
    }
    if n_funcs == 0 {
        return Err(SketchError::arg("n_funcs", "must be at least 1"));
    }
    if !(width.is_finite() && width > 0.0) {
        return Err(SketchError::arg(
            "width",
            format!("must be positive and finite, got {width}"),
        ));
    }
    check_labels(rows, labels)?;
    let (n, d) = (rows.n(), rows.dim());
    let scale = scale_estimate(rows, 1000, seed)?;
    let w = width * scale;
    let gain = (n_funcs as f64).sqrt();
    let perm = permutation(n, seed, tag::SELECTION, IDX_LSH_ORDER);
    let mut rank = try_vec(n, 0usize, "LSH-IS priorities")?;
    for (p, &i) in perm.iter().enumerate() {
        rank[i] = p;
    }
    let mut keep = try_vec(n, false, "LSH-IS flags")?;
    let mut keys = try_vec(
        crate::error::checked_mul(n, n_funcs, "n_funcs", "LSH-IS keys")?,
        0i64,
        "LSH-IS keys",
    )?;
    let mut idx: Vec<usize> = Vec::with_capacity(n);
    for t in 0..n_tables {
        let tseed = Stream::new(seed, tag::SELECTION, IDX_LSH_TABLE + t as u64).next_u64();
        let g = Sketch::new(Family::Gaussian, n_funcs, d, tseed)?;
        let mut s = Stream::new(seed, tag::SELECTION, IDX_LSH_OFFSET + t as u64);
        let off: Vec<f64> = (0..n_funcs)
            .map(|_| crate::rng::open01(s.next_u64()) * w)
            .collect();
        project_in_chunks(rows, &g, |r0: usize, p: &[T]| {
            let ks = &mut keys[r0 * n_funcs..r0 * n_funcs + p.len()];
            crate::parallel::install(|| {
                ks.par_chunks_mut(n_funcs)
                    .zip(p.par_chunks(n_funcs))
                    .for_each(|(kr, pr)| {
                        for ((o, &x), &b) in kr.iter_mut().zip(pr).zip(&off) {
                            // `as` saturates: buckets beyond ±2^63 widths merge.
                            *o = ((x.to_f64() * gain + b) / w).floor() as i64;
                        }
                    })
            })
        })?;
        let key = |i: usize| &keys[i * n_funcs..(i + 1) * n_funcs];
        idx.clear();
        idx.extend(0..n);
        crate::parallel::install(|| {
            idx.par_sort_unstable_by(|&a, &b| {
                key(a)
                    .cmp(key(b))
                    .then(labels.of(a).cmp(&labels.of(b)))
                    .then(rank[a].cmp(&rank[b]))
            })
        })?;
        let mut p = 0;
        while p < n {
            let kb = key(idx[p]);
            let bucket = idx[p..].iter().take_while(|&&i| key(i) == kb).count();
            let runs = &idx[p..p + bucket];
            // Class sub-runs: (first, size).
            let mut subs: Vec<(usize, usize)> = Vec::new();
            let mut q = 0;
            while q < bucket {
                let c = labels.of(runs[q]);
                let size = runs[q..].iter().take_while(|&&i| labels.of(i) == c).count();
                subs.push((runs[q], size));
                q += size;
            }
            let mixed = subs.len() > 1;
            for &(first, size) in &subs {
                if variant == LshVariant::F && mixed && size == 1 {
                    continue;
                }
                keep[first] = true;
            }
            p += bucket;
        }
    }
    if variant == LshVariant::F {
        // Keep every present class non-empty: its highest-priority row.
        let mut has = vec![false; labels.n_classes()];
        for i in 0..n {
            if keep[i] {
                has[labels.of(i) as usize] = true;
            }
        }
        let mut first: HashMap<u32, usize> = HashMap::new();
        for &i in &perm {
            let c = labels.of(i);
            if !has[c as usize] {
                first.entry(c).or_insert(i);
            }
        }
        for (_, i) in first {
            keep[i] = true;
        }
    }
    Ok((0..n).filter(|&i| keep[i]).collect())
}

/// `Err` naming `quota` unless it has one entry per class and no entry above its
/// class's size (the fixed-size selectors' common rule).
pub(crate) fn check_class_quota(labels: &Labels<'_>, quota: &[usize]) -> Result<()> {
    let counts = labels.counts();
    if quota.len() != counts.len() {
        return Err(SketchError::arg(
            "quota",
            format!(
                "has {} entries but there are {} classes",
                quota.len(),
                counts.len()
            ),
        ));
    }
    for (c, (&q, &m)) in quota.iter().zip(counts).enumerate() {
        if q > m {
            return Err(SketchError::arg(
                "quota",
                format!("class {c} has {m} rows but its quota is {q}"),
            ));
        }
    }
    Ok(())
}
