//! Partitioned instance selection: routing rows to partitions by a seeded hash, and
//! splitting the per-class quotas over the partitions.
//!
//! * **Routing key** ([`route_keys`]): bit `t` (most significant first) of a row's
//!   `bits`-bit key is `[⟨g_t, x⟩ > ⟨g_t, μ⟩]` for the rows `g_t` of a Gaussian
//!   operator of seed [`route_seed`]`(seed)` and a fixed centre `μ` (SimHash bits of
//!   one view). A key depends only on the row, the seed and `μ`: any block of rows
//!   can be routed on its own, in any order, on any worker. The operator's products
//!   are single FMA chains per element, so a row's key does not depend on the block
//!   it arrives in.
//! * **Centre** ([`center_sample`], [`column_means`]): the mean of a seeded uniform
//!   sample of [`CENTER_SAMPLE`] rows (all rows when fewer), summed in row order,
//!   so that every reader of the same rows (in memory, memory-mapped, shards, a
//!   cluster) computes the same bits; or a centre the caller fixes.
//! * **Plan** ([`plan_partitions`]): rows sorted by (key, row index) — key order
//!   is the SimHash trie's prefix order, so rows sharing long prefixes sit together
//!   — are cut into `⌈n / max_rows⌉` consecutive ranges of equal size (sizes differ
//!   by at most one): the fewest partitions the bound allows, each a contiguous
//!   range of the key order. (Cutting at trie nodes first and merging the leaves
//!   greedily made 50% to 75% more partitions than needed, each smaller, and
//!   selections further from the in-memory one; see the README.) Partitions are
//!   numbered in key order; the plan depends only on the keys.
//! * **Quotas** ([`split_quota`]): class `c`'s global quota `q_c` (the
//!   [`quota`](super::quota) rule) is split over partitions in proportion to their
//!   class counts `n_pc` by the largest-remainder rule: partition `p` gets
//!   `⌊q_c n_pc / n_c⌋`, and the `q_c − Σ_p ⌊·⌋` left over go one each to the
//!   partitions with the largest remainders `q_c n_pc mod n_c` (ties: lower partition
//!   index first). Integer arithmetic throughout: the shares sum to `q_c` exactly
//!   and never exceed `n_pc`.

use super::rows::{ldexp, Rows};
use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::rng::{tag, Stream};
use crate::sketch::{Family, LinearSketch, Sketch};
use crate::view::{MatMut, MatRef};
use crate::Real;

/// Largest routing key length (bits of a `u64`).
pub const MAX_ROUTE_BITS: usize = 64;
/// Default routing key length: enough levels for any partition count in practice.
pub const DEFAULT_ROUTE_BITS: usize = 32;
/// Rows in the centring sample.
pub const CENTER_SAMPLE: usize = 4096;
/// Smallest `partition_rows`.
pub const MIN_PARTITION_ROWS: usize = 2;

/// The seed of the routing operator for a selection `seed` (distinct from the seeds
/// of the selection's own hash views).
pub fn route_seed(seed: u64) -> u64 {
    Stream::new(seed, tag::PARTITION, 0).next_u64()
}

/// An unbiased draw from `[0, n)` (`n ≥ 1`) by rejection.
fn below_u64(s: &mut Stream, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let v = s.next_u64();
        if v < zone {
            return v % n;
        }
    }
}

/// The rows of the centring sample of a data set of `n` rows: `min(n, CENTER_SAMPLE)`
/// distinct indices drawn uniformly from the seed (Floyd's algorithm), ascending.
pub fn center_sample(n: u64, seed: u64) -> Vec<u64> {
    let m = (CENTER_SAMPLE as u64).min(n);
    if m == n {
        return (0..n).collect();
    }
    let mut s = Stream::new(seed, tag::PARTITION, 1);
    let mut taken = std::collections::BTreeSet::new();
    for t in (n - m)..n {
        let r = below_u64(&mut s, t + 1);
        taken.insert(if taken.contains(&r) { t } else { r });
    }
    taken.into_iter().collect()
}

/// Column means of `rows` in `f64` (sums in a fixed row order, see
/// [`Rows::column_sums`]), in the input's units.
pub fn column_means<T: Real, R: Rows<T>>(rows: &R) -> Result<Vec<f64>> {
    if rows.n() == 0 {
        return Err(SketchError::arg("X", "has no rows"));
    }
    let n = rows.n() as f64;
    let e = rows.scale_exp();
    Ok(rows
        .column_sums()?
        .into_iter()
        .map(|s| ldexp(s, -e) / n)
        .collect())
}

fn check_bits(bits: usize) -> Result<()> {
    if bits == 0 || bits > MAX_ROUTE_BITS {
        return Err(SketchError::arg(
            "route_bits",
            format!("must be in [1, {MAX_ROUTE_BITS}], got {bits}"),
        ));
    }
    Ok(())
}

/// The routing key of every row (see the module documentation): `bits` SimHash bits
/// of the routing operator of `seed`, relative to `center` (the origin when `None`),
/// packed most significant first into `[0, 2^bits)`.
pub fn route_keys<T: Real, R: Rows<T>>(
    rows: &R,
    bits: usize,
    seed: u64,
    center: Option<&[f64]>,
) -> Result<Vec<u64>> {
    check_bits(bits)?;
    let (n, d) = (rows.n(), rows.dim());
    if let Some(c) = center {
        if c.len() != d {
            return Err(SketchError::arg(
                "center",
                format!("has {} values but X has {d} features", c.len()),
            ));
        }
        if !c.iter().all(|v| v.is_finite()) {
            return Err(SketchError::NonFinite { arg: "center" });
        }
    }
    let g = Sketch::new(Family::Gaussian, bits, d, route_seed(seed))?;
    // ⟨g_t, μ⟩ in the rows' units (they may hold the input scaled by 2^e, exactly).
    let mut off = try_vec(bits, T::ZERO, "routing offsets")?;
    if let Some(c) = center {
        let e = rows.scale_exp();
        let mu: Vec<T> = c.iter().map(|&v| T::from_f64(ldexp(v, e))).collect();
        g.project(
            MatRef::from_row_major(&mu, 1, d)?,
            MatMut::from_row_major(&mut off, 1, bits)?,
        )?;
    }
    let mut keys = try_vec(n, 0u64, "routing keys")?;
    if n == 0 {
        return Ok(keys);
    }
    super::hashing::project_in_chunks(rows, &g, |r0, p| {
        for (k, pr) in keys[r0..].iter_mut().zip(p.chunks_exact(bits)) {
            *k = pr
                .iter()
                .zip(&off)
                .fold(0u64, |acc, (&x, &o)| (acc << 1) | u64::from(x > o));
        }
        Ok(())
    })?;
    Ok(keys)
}

/// Checks `max_rows` (`partition_rows`).
pub fn check_partition_rows(max_rows: usize) -> Result<()> {
    if max_rows < MIN_PARTITION_ROWS {
        return Err(SketchError::arg(
            "partition_rows",
            format!("must be at least {MIN_PARTITION_ROWS}, got {max_rows}"),
        ));
    }
    Ok(())
}

/// The partition of every row (numbered `0..n_parts` in key order) and `n_parts`,
/// for keys of `bits` bits and partitions of at most `max_rows` rows (see the module
/// documentation).
pub fn plan_partitions(keys: &[u64], bits: usize, max_rows: usize) -> Result<(Vec<u32>, usize)> {
    check_bits(bits)?;
    check_partition_rows(max_rows)?;
    let n = keys.len();
    if bits < 64 {
        if let Some(&k) = keys.iter().find(|&&k| k >> bits != 0) {
            return Err(SketchError::arg(
                "keys",
                format!("key {k} has more than route_bits = {bits} bits"),
            ));
        }
    }
    // Rows in (key, row) order.
    let mut order: Vec<u32> = Vec::new();
    order
        .try_reserve_exact(n)
        .map_err(|_| SketchError::Alloc("partition order".into()))?;
    if n > u32::MAX as usize {
        return Err(SketchError::arg("X", "more than 2^32 − 1 rows"));
    }
    order.extend(0..n as u32);
    order.sort_by_key(|&i| (keys[i as usize], i));
    // The fewest partitions that respect the bound, as equal as can be: position `p`
    // of the key order goes to partition `⌊p · parts / n⌋` (sizes ⌊n/parts⌋ or one
    // more, never above max_rows).
    let n_parts = n.div_ceil(max_rows);
    let mut part = try_vec(n, 0u32, "partition ids")?;
    for (p, &r) in order.iter().enumerate() {
        part[r as usize] = ((p as u128 * n_parts as u128) / n as u128) as u32;
    }
    Ok((part, n_parts))
}

/// Splits the per-class quotas `quota` (one per class) over partitions whose class
/// counts are `counts` (`n_parts × n_classes`, row-major) by the largest-remainder
/// rule of the module documentation; returns the `n_parts × n_classes` shares.
pub fn split_quota(quota: &[usize], counts: &[usize], n_classes: usize) -> Result<Vec<usize>> {
    if quota.len() != n_classes {
        return Err(SketchError::ShapeMismatch(format!(
            "quota has {} classes, counts {n_classes}",
            quota.len()
        )));
    }
    if n_classes == 0 || !counts.len().is_multiple_of(n_classes) {
        return Err(SketchError::ShapeMismatch(format!(
            "counts has {} values, not a multiple of n_classes = {n_classes}",
            counts.len()
        )));
    }
    let n_parts = counts.len() / n_classes;
    let mut share = try_vec(
        checked_mul(n_parts, n_classes, "counts", "quota shares")?,
        0usize,
        "quota shares",
    )?;
    let mut rem: Vec<(u128, usize)> = Vec::with_capacity(n_parts);
    for (c, &q) in quota.iter().enumerate() {
        let total: u128 = (0..n_parts)
            .map(|p| counts[p * n_classes + c] as u128)
            .sum();
        if q as u128 > total {
            return Err(SketchError::arg(
                "quota",
                format!("class {c} has quota {q} but only {total} rows"),
            ));
        }
        if q == 0 {
            continue;
        }
        rem.clear();
        let mut given: u128 = 0;
        for p in 0..n_parts {
            let num = q as u128 * counts[p * n_classes + c] as u128;
            let f = num / total;
            share[p * n_classes + c] = f as usize;
            given += f;
            rem.push((num % total, p));
        }
        let left = (q as u128 - given) as usize;
        // Largest remainders first; ties by partition index.
        rem.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, p) in rem.iter().take(left) {
            share[p * n_classes + c] += 1;
        }
    }
    Ok(share)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::DenseRows;

    fn data(n: usize, d: usize) -> Vec<f64> {
        let mut s = Stream::new(7, 99, 0);
        (0..n * d)
            .map(|_| crate::rng::open01(s.next_u64()) * 4.0 - 1.0)
            .collect()
    }

    #[test]
    fn keys_do_not_depend_on_the_block() {
        let (n, d) = (5000, 9);
        let x = data(n, d);
        let all = DenseRows::new(&x, n, d).unwrap();
        let mu = column_means(&all).unwrap();
        let whole = route_keys(&all, 40, 3, Some(&mu)).unwrap();
        let mut parts = Vec::new();
        for (a, b) in [(0, 1), (1, 1777), (1777, 5000)] {
            let r = DenseRows::new(&x[a * d..b * d], b - a, d).unwrap();
            parts.extend(route_keys(&r, 40, 3, Some(&mu)).unwrap());
        }
        assert_eq!(whole, parts);
        assert!(whole.iter().all(|&k| k < 1 << 40));
        // Centring matters: the keys differ from the uncentred ones.
        assert_ne!(whole, route_keys(&all, 40, 3, None).unwrap());
    }

    #[test]
    fn plan_bounds_sizes_and_follows_key_order() {
        let (n, d) = (3000, 5);
        let x = data(n, d);
        let rows = DenseRows::new(&x, n, d).unwrap();
        let keys = route_keys(&rows, 16, 1, None).unwrap();
        let (part, n_parts) = plan_partitions(&keys, 16, 400).unwrap();
        let mut size = vec![0usize; n_parts];
        for &p in &part {
            size[p as usize] += 1;
        }
        // The fewest partitions under the bound, equal sizes.
        assert_eq!(n_parts, 8);
        assert!(size.iter().all(|&s| s == 375));
        // Partitions are contiguous ranges of the key order.
        let mut by_key: Vec<usize> = (0..n).collect();
        by_key.sort_by_key(|&i| (keys[i], i));
        assert!(by_key.windows(2).all(|w| part[w[0]] <= part[w[1]]));
    }

    #[test]
    fn identical_keys_are_cut_in_row_order() {
        let keys = vec![5u64; 10];
        let (part, n) = plan_partitions(&keys, 3, 4).unwrap();
        assert_eq!(n, 3);
        assert_eq!(part, vec![0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
        // Key order first, then row order.
        let (part, n) = plan_partitions(&[3, 1, 3, 0, 2, 1], 2, 2).unwrap();
        assert_eq!(n, 3);
        assert_eq!(part, vec![2, 0, 2, 0, 1, 1]);
        assert!(plan_partitions(&keys, 2, 4).is_err());
        assert!(plan_partitions(&keys, 3, 1).is_err());
        assert!(plan_partitions(&keys, 0, 4).is_err());
    }

    #[test]
    fn split_is_exact_largest_remainder() {
        // One class, q = 5 over counts 3, 3, 4 (n = 10): exact 1.5, 1.5, 2.0 →
        // floors 1, 1, 2; one left for the largest remainder (tie: partition 0).
        let s = split_quota(&[5], &[3, 3, 4], 1).unwrap();
        assert_eq!(s, vec![2, 1, 2]);
        // Two classes; shares sum to the quotas and never exceed the counts.
        let counts = [7, 0, 1, 5, 2, 5];
        let s = split_quota(&[3, 9], &counts, 2).unwrap();
        assert_eq!(s[0] + s[2] + s[4], 3);
        assert_eq!(s[1] + s[3] + s[5], 9);
        assert!(s.iter().zip(&counts).all(|(a, b)| a <= b));
        assert!(split_quota(&[11], &[3, 3, 4], 1).is_err());
        assert!(split_quota(&[1, 1], &[3, 3, 4], 2).is_err());
    }

    #[test]
    fn center_sample_is_sorted_distinct_and_seeded() {
        let s = center_sample(1_000_000, 4);
        assert_eq!(s.len(), CENTER_SAMPLE);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && *s.last().unwrap() < 1_000_000);
        assert_eq!(s, center_sample(1_000_000, 4));
        assert_ne!(s, center_sample(1_000_000, 5));
        assert_eq!(center_sample(10, 4), (0..10).collect::<Vec<_>>());
    }
}
