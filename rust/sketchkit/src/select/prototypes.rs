//! Prototype selection per class: k-means medoids, k-center greedy (farthest-first
//! traversal) and kernel herding. Each keeps exactly `quota[c]` rows of class `c`
//! and returns the kept rows ascending.
//!
//! Determinism: random choices come from Philox streams `(seed, SELECTION, index)`
//! (the `IDX_*` constants plus the class code and a group number); every parallel
//! step computes per-row values independently of the thread running it, every sum
//! over rows runs sequentially in row order, and every arg-min / arg-max breaks ties
//! by the smaller row index. The results are therefore the same for any number of
//! threads. Distances are Euclidean (k-means centres and kernel herding live in the
//! Euclidean geometry of the rows).

use super::rows::{closer, Rows};
use super::Labels;
use crate::error::{try_vec, Result, SketchError};
use crate::rng::{tag, Stream};
use crate::Real;
use rayon::prelude::*;

/// Philox stream index of class `c`'s k-means seeding: `IDX_KMEANS + (c << 20) + group`.
pub const IDX_KMEANS: u64 = 6 << 40;
/// Philox stream index of class `c`'s kernel-herding reference sample: `IDX_HERDING + c`.
pub const IDX_HERDING: u64 = 7 << 40;

/// Default number of Lloyd iterations of [`kmeans_medoids`].
pub const KMEANS_ITERS: usize = 10;
/// Row–centre pairs per Lloyd iteration above which a class is first split by a
/// coarse k-means into groups (coarse-to-fine), so the cost stays near
/// `O(n_c · √k_c · d)` per iteration instead of `O(n_c · k_c · d)`.
pub const KMEANS_DIRECT_PAIRS: usize = 1 << 24;
/// Rows of a class used as the reference sample of the kernel mean in
/// [`kernel_herding`] (all rows of smaller classes).
pub const HERDING_REFERENCE: usize = 2000;

fn check_quota(labels: &Labels<'_>, quota: &[usize], n: usize) -> Result<()> {
    super::baselines::check_label_count(labels, n)?;
    super::baselines::check_class_quota(labels, quota)
}

/// Uniform `f64` in `[0, 1)`.
fn uniform(s: &mut Stream) -> f64 {
    (s.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `‖x_i − c‖²` in `f64` (non-negative).
#[inline(always)]
fn sqd<T: Real, R: Rows<T>>(rows: &R, i: usize, c: &[T], c_sq: T) -> f64 {
    rows.sq_dist_dense(i, c, c_sq).to_f64().max(0.0)
}

fn sq_norm<T: Real>(c: &[T]) -> T {
    c.iter().fold(T::ZERO, |a, &v| v.mul_add(v, a))
}

/// Centres of a k-means run, `k × d` row-major, with their squared norms.
struct Centres<T> {
    d: usize,
    at: Vec<T>,
    sq: Vec<T>,
}

impl<T: Real> Centres<T> {
    fn row(&self, j: usize) -> &[T] {
        &self.at[j * self.d..(j + 1) * self.d]
    }
    fn k(&self) -> usize {
        self.sq.len()
    }
    /// Nearest centre of row `i` and its squared distance (ties: smaller centre).
    fn nearest<R: Rows<T>>(&self, rows: &R, i: usize) -> (f64, usize) {
        let mut best = (f64::INFINITY, usize::MAX);
        for j in 0..self.k() {
            let e = (sqd(rows, i, self.row(j), self.sq[j]), j);
            if closer(e, best) {
                best = e;
            }
        }
        best
    }
}

/// k-means++ seeding of `k ≤ members.len()` centres, then Lloyd iterations (at most
/// `iters`, stopping early when no assignment changes). Returns the centres and each
/// member's cluster.
fn lloyd<T: Real, R: Rows<T>>(
    rows: &R,
    members: &[usize],
    k: usize,
    iters: usize,
    stream: &mut Stream,
) -> Result<(Centres<T>, Vec<usize>)> {
    let (m, d) = (members.len(), rows.dim());
    let mut cen = Centres {
        d,
        at: try_vec(k * d, T::ZERO, "k-means centres")?,
        sq: try_vec(k, T::ZERO, "k-means centre norms")?,
    };
    let mut buf = try_vec(d, T::ZERO, "row buffer")?;
    let mut chosen = try_vec(m, false, "k-means seeds")?;
    let mut dmin = try_vec(m, f64::INFINITY, "k-means seeding distances")?;
    let mut pick = stream.below(m.min(u32::MAX as usize) as u32) as usize;
    for j in 0..k {
        chosen[pick] = true;
        rows.load(members[pick], &mut buf);
        cen.at[j * d..(j + 1) * d].copy_from_slice(&buf);
        cen.sq[j] = sq_norm(&buf);
        if j + 1 == k {
            break;
        }
        rows.check_cancel()?;
        let (c, csq) = (&buf, cen.sq[j]);
        crate::parallel::install(|| {
            dmin.par_iter_mut().enumerate().for_each(|(t, v)| {
                let e = sqd(rows, members[t], c, csq);
                if e < *v {
                    *v = e;
                }
            })
        })?;
        let total: f64 = dmin
            .iter()
            .zip(&chosen)
            .filter(|p| !*p.1)
            .map(|p| *p.0)
            .sum();
        pick = usize::MAX;
        if total > 0.0 {
            let mut u = uniform(stream) * total;
            for (t, (&dv, &ch)) in dmin.iter().zip(&chosen).enumerate() {
                if ch || dv <= 0.0 {
                    continue;
                }
                pick = t;
                if u < dv {
                    break;
                }
                u -= dv;
            }
        }
        if pick == usize::MAX {
            // Every remaining row duplicates a centre: the next unchosen one.
            pick = (0..m).find(|&t| !chosen[t]).unwrap_or(0);
        }
    }
    let mut assign = try_vec(m, usize::MAX, "k-means assignment")?;
    let mut sums = try_vec(k * d, 0.0f64, "k-means sums")?;
    let mut sizes = try_vec(k, 0usize, "k-means cluster sizes")?;
    for _ in 0..iters.max(1) {
        rows.check_cancel()?;
        let cref = &cen;
        let next: Vec<usize> = crate::parallel::install(|| {
            members
                .par_iter()
                .map(|&i| cref.nearest(rows, i).1)
                .collect()
        })?;
        let changed = next != assign;
        assign = next;
        if !changed {
            break;
        }
        sums.iter_mut().for_each(|v| *v = 0.0);
        sizes.iter_mut().for_each(|v| *v = 0);
        for (t, &i) in members.iter().enumerate() {
            let a = assign[t];
            rows.load(i, &mut buf);
            sizes[a] += 1;
            for (s, &v) in sums[a * d..(a + 1) * d].iter_mut().zip(&buf) {
                *s += v.to_f64();
            }
        }
        for (j, &size) in sizes.iter().enumerate() {
            if size == 0 {
                continue; // an empty cluster keeps its centre
            }
            let inv = 1.0 / size as f64;
            let row = &mut cen.at[j * d..(j + 1) * d];
            for (c, &s) in row.iter_mut().zip(&sums[j * d..]) {
                *c = T::from_f64(s * inv);
            }
            cen.sq[j] = sq_norm(row);
        }
    }
    Ok((cen, assign))
}

/// `k` parts of `total` proportional to `sizes` (largest remainder, ties by the
/// smaller part index), each part at most its size.
pub(crate) fn apportion(sizes: &[usize], total: usize) -> Vec<usize> {
    let all: usize = sizes.iter().sum();
    if all == 0 {
        return vec![0; sizes.len()];
    }
    let total = total.min(all);
    let mut out: Vec<usize> = sizes
        .iter()
        .map(|&s| ((s as u128 * total as u128) / all as u128) as usize)
        .collect();
    let mut rem: Vec<(u128, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(g, &s)| ((s as u128 * total as u128) % all as u128, g))
        .collect();
    rem.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = total - out.iter().sum::<usize>();
    for &(_, g) in &rem {
        if left == 0 {
            break;
        }
        if out[g] < sizes[g] {
            out[g] += 1;
            left -= 1;
        }
    }
    out
}

/// k-means medoids of one group of rows: `(row, cluster size)` for `k` distinct
/// rows (the member nearest each centre; an empty cluster is replaced by the row
/// farthest from its centre among those not yet kept).
pub(crate) fn medoids_of<T: Real, R: Rows<T>>(
    rows: &R,
    members: &[usize],
    k: usize,
    iters: usize,
    seed: u64,
    index: u64,
) -> Result<Vec<(usize, usize)>> {
    let m = members.len();
    if k == 0 {
        return Ok(Vec::new());
    }
    if k >= m {
        return Ok(members.iter().map(|&i| (i, 1)).collect());
    }
    let mut stream = Stream::new(seed, tag::SELECTION, index);
    if m.saturating_mul(k) > KMEANS_DIRECT_PAIRS && k > 1 {
        // Coarse-to-fine: split into about √k groups, share k by group size.
        let g = ((k as f64).sqrt().ceil() as usize).clamp(2, k);
        let (_, assign) = lloyd(rows, members, g, iters.min(5), &mut stream)?;
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); g];
        for (t, &i) in members.iter().enumerate() {
            groups[assign[t]].push(i);
        }
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        let share = apportion(&sizes, k);
        let mut out = Vec::with_capacity(k);
        for (gi, grp) in groups.iter().enumerate() {
            let sub = index
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(gi as u64 + 1);
            out.extend(medoids_of(rows, grp, share[gi], iters, seed, sub)?);
        }
        return Ok(out);
    }
    let (cen, assign) = lloyd(rows, members, k, iters, &mut stream)?;
    let dist: Vec<f64> = crate::parallel::install(|| {
        members
            .par_iter()
            .zip(assign.par_iter())
            .map(|(&i, &a)| sqd(rows, i, cen.row(a), cen.sq[a]))
            .collect()
    })?;
    let mut best = vec![(f64::INFINITY, usize::MAX); k];
    let mut size = vec![0usize; k];
    for ((&a, &dt), &i) in assign.iter().zip(&dist).zip(members) {
        size[a] += 1;
        if closer((dt, i), best[a]) {
            best[a] = (dt, i);
        }
    }
    let mut out: Vec<(usize, usize)> = (0..k)
        .filter(|&j| best[j].1 != usize::MAX)
        .map(|j| (best[j].1, size[j]))
        .collect();
    if out.len() < k {
        let kept: std::collections::HashSet<usize> = out.iter().map(|p| p.0).collect();
        let mut rest: Vec<(f64, usize)> = dist
            .iter()
            .zip(members)
            .filter(|p| !kept.contains(p.1))
            .map(|(&dt, &i)| (dt, i))
            .collect();
        rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.extend(rest.into_iter().take(k - out.len()).map(|(_, i)| (i, 1)));
    }
    Ok(out)
}

/// Class-wise k-means medoids: for every class `c`, k-means with `quota[c]`
/// centres (k-means++ seeding on the stream `(seed, SELECTION, IDX_KMEANS + (c <<
/// 20))`, then at most `iters` Lloyd iterations), keeping the real row nearest each
/// centre. Classes with more than [`KMEANS_DIRECT_PAIRS`] row–centre pairs are
/// first split by a coarse k-means into `⌈√quota⌉` groups whose quotas are shared
/// by size (largest remainder), recursively.
///
/// Returns the kept rows ascending. Errors: a quota of the wrong length or larger
/// than its class, a label length mismatch, no rows.
pub fn kmeans_medoids<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    quota: &[usize],
    iters: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    check_quota(labels, quota, rows.n())?;
    if iters == 0 {
        return Err(SketchError::arg("max_iter", "must be at least 1"));
    }
    let mut out = Vec::with_capacity(quota.iter().sum());
    for (c, members) in labels.members().iter().enumerate() {
        let idx = IDX_KMEANS + ((c as u64) << 20);
        out.extend(
            medoids_of(rows, members, quota[c], iters, seed, idx)?
                .into_iter()
                .map(|p| p.0),
        );
    }
    out.sort_unstable();
    Ok(out)
}

/// Farthest-first traversal of one group: starts at the member nearest the
/// group's mean, then repeatedly adds the member farthest from the kept ones.
pub(crate) fn farthest_first<T: Real, R: Rows<T>>(
    rows: &R,
    members: &[usize],
    k: usize,
) -> Result<Vec<usize>> {
    let (m, d) = (members.len(), rows.dim());
    if k >= m {
        return Ok(members.to_vec());
    }
    if k == 0 {
        return Ok(Vec::new());
    }
    let mut mean = try_vec(d, 0.0f64, "class mean")?;
    let mut buf = try_vec(d, T::ZERO, "row buffer")?;
    for &i in members {
        rows.load(i, &mut buf);
        for (s, &v) in mean.iter_mut().zip(&buf) {
            *s += v.to_f64();
        }
    }
    let q: Vec<T> = mean.iter().map(|&s| T::from_f64(s / m as f64)).collect();
    let qsq = sq_norm(&q);
    let mut dmin: Vec<f64> =
        crate::parallel::install(|| members.par_iter().map(|&i| sqd(rows, i, &q, qsq)).collect())?;
    let mut first = (f64::INFINITY, usize::MAX);
    for (t, &i) in members.iter().enumerate() {
        if closer((dmin[t], i), first) {
            first = (dmin[t], i);
        }
    }
    dmin.iter_mut().for_each(|v| *v = f64::INFINITY);
    let mut out = Vec::with_capacity(k);
    let mut pick = members.iter().position(|&i| i == first.1).unwrap_or(0);
    loop {
        out.push(members[pick]);
        dmin[pick] = -1.0;
        if out.len() == k {
            break;
        }
        rows.check_cancel()?;
        rows.load(members[pick], &mut buf);
        let (c, csq) = (&buf, sq_norm(&buf));
        crate::parallel::install(|| {
            dmin.par_iter_mut().enumerate().for_each(|(t, v)| {
                if *v >= 0.0 {
                    let e = sqd(rows, members[t], c, csq);
                    if e < *v {
                        *v = e;
                    }
                }
            })
        })?;
        // Farthest: largest distance, ties by the smaller row.
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for (t, &v) in dmin.iter().enumerate() {
            if v >= 0.0
                && (best.1 == usize::MAX
                    || v > best.0
                    || (v == best.0 && members[t] < members[best.1]))
            {
                best = (v, t);
            }
        }
        pick = best.1;
    }
    Ok(out)
}

/// k-center greedy (farthest-first traversal, Gonzalez 1985) per class: start at
/// the row nearest the class mean, then repeatedly keep the row whose distance to
/// the kept rows is largest (ties by the smaller index), until `quota[c]` rows.
/// A 2-approximation of the minimax cover radius. `O(n_c · quota_c · d)` per class.
pub fn k_center_greedy<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    quota: &[usize],
) -> Result<Vec<usize>> {
    check_quota(labels, quota, rows.n())?;
    let mut out = Vec::with_capacity(quota.iter().sum());
    for (c, members) in labels.members().iter().enumerate() {
        out.extend(farthest_first(rows, members, quota[c])?);
    }
    out.sort_unstable();
    Ok(out)
}

/// Kernel herding (Chen, Welling & Smola 2010) per class with the RBF kernel
/// `k(x, z) = exp(−‖x − z‖² / h)`, `h` the median squared distance between
/// consecutive rows of the reference sample (the class's rows, or a seeded sample
/// of [`HERDING_REFERENCE`] of them for larger classes).
///
/// With `μ_i = mean_{z ∈ ref} k(x_i, z)` (the kernel mean embedding evaluated at
/// row `i`), pick `t + 1` is the unkept row maximising
/// `μ_i − (1/(t + 1)) Σ_{s kept} k(x_i, x_s)` (ties by the smaller index): the kept
/// set's empirical kernel mean greedily tracks the class's. Exact kernel
/// evaluations, no feature map: `O(n_c · (|ref| + quota_c) · d)` time and `O(n_c)`
/// memory per class.
pub fn kernel_herding<T: Real, R: Rows<T>>(
    rows: &R,
    labels: &Labels<'_>,
    quota: &[usize],
    seed: u64,
) -> Result<Vec<usize>> {
    check_quota(labels, quota, rows.n())?;
    let d = rows.dim();
    let mut out = Vec::with_capacity(quota.iter().sum());
    let mut buf = try_vec(d, T::ZERO, "row buffer")?;
    for (c, members) in labels.members().iter().enumerate() {
        let (m, k) = (members.len(), quota[c]);
        if k >= m {
            out.extend_from_slice(members);
            continue;
        }
        if k == 0 {
            continue;
        }
        let reference: Vec<usize> = if m <= HERDING_REFERENCE {
            members.clone()
        } else {
            let mut s = Stream::new(seed, tag::SELECTION, IDX_HERDING + c as u64);
            crate::rng::sample_without_replacement(
                &mut s,
                m.min(u32::MAX as usize) as u32,
                HERDING_REFERENCE as u32,
            )
            .into_iter()
            .map(|p| members[p as usize])
            .collect()
        };
        let mut gaps: Vec<f64> = reference
            .windows(2)
            .map(|w| {
                rows.load(w[1], &mut buf);
                sqd(rows, w[0], &buf, sq_norm(&buf))
            })
            .filter(|&v| v > 0.0)
            .collect();
        let h = if gaps.is_empty() {
            1.0
        } else {
            let mid = gaps.len() / 2;
            *gaps.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1
        };
        let refs = &reference;
        let mu: Vec<f64> = crate::parallel::install(|| {
            members
                .par_iter()
                .map_init(
                    || vec![T::ZERO; d],
                    |b, &i| {
                        rows.load(i, b);
                        let bsq = sq_norm(b);
                        let s: f64 = refs
                            .iter()
                            .map(|&z| (-sqd(rows, z, b, bsq) / h).exp())
                            .sum();
                        s / refs.len() as f64
                    },
                )
                .collect()
        })?;
        let mut acc = try_vec(m, 0.0f64, "herding sums")?;
        let mut kept = try_vec(m, false, "herding flags")?;
        for t in 0..k {
            rows.check_cancel()?;
            let inv = 1.0 / (t as f64 + 1.0);
            let mut best = (f64::NEG_INFINITY, usize::MAX);
            for (p, ((&mp, &ap), &kp)) in mu.iter().zip(&acc).zip(&kept).enumerate() {
                if kp {
                    continue;
                }
                let v = mp - inv * ap;
                if v > best.0 {
                    best = (v, p);
                }
            }
            let p = best.1;
            kept[p] = true;
            out.push(members[p]);
            if t + 1 == k {
                break;
            }
            rows.load(members[p], &mut buf);
            let (b, bsq) = (&buf, sq_norm(&buf));
            crate::parallel::install(|| {
                acc.par_iter_mut().enumerate().for_each(|(q, a)| {
                    *a += (-sqd(rows, members[q], b, bsq) / h).exp();
                })
            })?;
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::DenseRows;

    fn line(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    #[test]
    fn k_center_on_a_line_takes_the_middle_then_the_extremes() {
        let x = line(11);
        let rows = DenseRows::new(&x, 11, 1).unwrap();
        let y = vec![0u32; 11];
        let lab = Labels::new(&y, 11, 1).unwrap();
        assert_eq!(k_center_greedy(&rows, &lab, &[3]).unwrap(), vec![0, 5, 10]);
    }

    #[test]
    fn medoids_pick_one_row_per_blob() {
        // Three tight blobs of 5 rows in 2-D, far apart.
        let mut x = Vec::new();
        for b in 0..3 {
            for t in 0..5 {
                x.push(100.0 * b as f64 + 0.01 * t as f64);
                x.push(0.0);
            }
        }
        let rows = DenseRows::new(&x, 15, 2).unwrap();
        let y = vec![0u32; 15];
        let lab = Labels::new(&y, 15, 1).unwrap();
        for seed in 0..5 {
            let got = kmeans_medoids(&rows, &lab, &[3], 10, seed).unwrap();
            let blobs: Vec<usize> = got.iter().map(|&i| i / 5).collect();
            assert_eq!(blobs, vec![0, 1, 2], "seed {seed}: {got:?}");
            // The medoid of a blob of 5 equally spaced points is its middle one.
            assert!(got.iter().all(|&i| i % 5 == 2), "seed {seed}: {got:?}");
        }
    }

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(&[5, 3, 2], 5), vec![3, 1, 1]);
        assert_eq!(apportion(&[1, 1, 1], 10), vec![1, 1, 1]);
        assert_eq!(apportion(&[4, 4], 3).iter().sum::<usize>(), 3);
    }

    #[test]
    fn herding_first_pick_is_the_densest_row() {
        let x = vec![0.0, 0.1, 0.2, 5.0];
        let rows = DenseRows::new(&x, 4, 1).unwrap();
        let y = vec![0u32; 4];
        let lab = Labels::new(&y, 4, 1).unwrap();
        assert_eq!(kernel_herding(&rows, &lab, &[1], 0).unwrap(), vec![1]);
    }
}
