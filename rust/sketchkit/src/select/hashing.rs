//! Hierarchical (multi-level, multi-view) hashing and the hashed neighbour graph.
//!
//! Each view hashes every row to a sequence of `n_bits` symbols:
//!
//! * **SimHash** — `sign(⟨g_t, x − μ⟩)` for Gaussian directions `g_t` (the rows of a
//!   [`Family::Gaussian`] sketch operator); `μ` the column means when centring
//!   (applied as `X Gᵀ − μ Gᵀ`, never by copying `X`);
//! * **E2LSH** (p-stable) — `⌊(⟨g_t, x⟩ + b_t) / w⌋` with `b_t ~ U[0, w)` and
//!   `w = width · scale`, where `scale` is the median nearest-neighbour distance
//!   within a random sample of rows (a data-scale estimate, never a constant);
//! * **FlyHash** — a sparse binary expansion to `expansion · n_bits` units, each
//!   summing `fan_in` randomly sampled (centred) input coordinates, followed by
//!   winner-take-all: the symbols are the indices of the `n_bits` most active units,
//!   by rank group — level `l` adds the winners ranked in its slice of the prefix,
//!   as a sorted set (swaps inside a group do not change the bucket).
//!
//! Level `l` of `n_levels` uses the first `⌈l · n_bits / n_levels⌉` symbols, so
//! levels are nested prefixes of one code (a trie). Sorting the rows of a view
//! lexicographically by their symbol sequence makes every bucket of every level a
//! contiguous run of the sorted order. A row's bucket is the deepest level whose
//! bucket holds at least `min_bucket` rows (backing off towards level 0, the whole
//! data set). Buckets larger than `max_bucket` are split by a sliding window: a row's
//! candidates are the `max_bucket` rows of its bucket nearest to it in the sorted
//! order (ties inside the finest level are ordered by the first projection, so the
//! window is also spatially coherent). `n_views` independent tables are united.
//!
//! Work is `O(n · (d · n_bits + n_views · max_bucket · d))` plus one sort per view;
//! memory is `O(n · (n_bits + n_views))`. No step compares all pairs.

use super::knn::{ordered_topk, KnnGraph, Lists};
use super::rows::{Metric, Rows};
use crate::error::{try_vec, Result, SketchError};
use crate::rng::{tag, Stream};
use crate::sketch::{Family, LinearSketch, Sketch};
use crate::view::MatMut;
use crate::Real;
use rayon::prelude::*;

/// Rows projected per chunk while hashing (bounds the temporary projection).
const CHUNK: usize = 1 << 15;

/// How a view turns a row into symbols.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HashFamily {
    /// Sign random projections, optionally of the centred data.
    SimHash {
        /// Subtract the column means first.
        center: bool,
    },
    /// p-stable LSH with bucket width `width ×` the data-scale estimate.
    E2Lsh {
        /// Bucket width relative to the median nearest-neighbour distance of a sample.
        width: f64,
    },
    /// Sparse binary expansion + winner-take-all.
    FlyHash {
        /// Expansion units per symbol (`expansion · n_bits` units in all).
        expansion: usize,
        /// Input coordinates each unit sums.
        fan_in: usize,
        /// Subtract the column means first.
        center: bool,
    },
}

impl HashFamily {
    /// Every family name, in documentation order: the one place they are written.
    pub const NAMES: [&'static str; 3] = ["simhash", "e2lsh", "flyhash"];
    /// Default E2LSH bucket width (relative to the data-scale estimate).
    pub const DEFAULT_WIDTH: f64 = 4.0;
    /// Default FlyHash expansion units per symbol.
    pub const DEFAULT_EXPANSION: usize = 8;
    /// Default FlyHash fan-in.
    pub const DEFAULT_FAN_IN: usize = 6;
    /// Default centring (SimHash, FlyHash).
    pub const DEFAULT_CENTER: bool = true;

    /// The family's name.
    pub fn name(&self) -> &'static str {
        match self {
            HashFamily::SimHash { .. } => Self::NAMES[0],
            HashFamily::E2Lsh { .. } => Self::NAMES[1],
            HashFamily::FlyHash { .. } => Self::NAMES[2],
        }
    }

    /// The family named `name` with the given parameters (each family takes those it
    /// uses); an unknown name is an error naming `family`.
    pub fn from_name(
        name: &str,
        center: bool,
        width: f64,
        expansion: usize,
        fan_in: usize,
    ) -> Result<Self> {
        let all = [
            HashFamily::SimHash { center },
            HashFamily::E2Lsh { width },
            HashFamily::FlyHash {
                expansion,
                fan_in,
                center,
            },
        ];
        crate::sketch::parse_name(name, all, |f| f.name(), "family")
    }
}

impl HashFamily {
    /// The parameters `(center, width, expansion, fan_in)` that
    /// [`HashFamily::from_name`] rebuilds this family from (defaults for those the
    /// family does not use).
    pub fn params(&self) -> (bool, f64, usize, usize) {
        let (mut c, mut w, mut e, mut f) = (
            Self::DEFAULT_CENTER,
            Self::DEFAULT_WIDTH,
            Self::DEFAULT_EXPANSION,
            Self::DEFAULT_FAN_IN,
        );
        match *self {
            HashFamily::SimHash { center } => c = center,
            HashFamily::E2Lsh { width } => w = width,
            HashFamily::FlyHash {
                expansion,
                fan_in,
                center,
            } => (c, e, f) = (center, expansion, fan_in),
        }
        (c, w, e, f)
    }
}

impl std::fmt::Display for HashFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for HashFamily {
    type Err = SketchError;
    /// The named family with the default parameters.
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(
            s,
            Self::DEFAULT_CENTER,
            Self::DEFAULT_WIDTH,
            Self::DEFAULT_EXPANSION,
            Self::DEFAULT_FAN_IN,
        )
    }
}

/// `min_bucket` for a graph of `n_neighbors` neighbours when none is given: twice the
/// neighbours (at least 8), so that a row's bucket holds enough candidates, capped at
/// `max_bucket / 2` (the rule `max_bucket ≥ 2 · min_bucket` of [`HashConfig`]); a
/// `max_bucket` below 2 leaves no valid choice and is an error naming it.
pub fn default_min_bucket(n_neighbors: usize, max_bucket: usize) -> Result<usize> {
    if max_bucket < 2 {
        return Err(SketchError::arg(
            "max_bucket",
            format!("must be at least 2, got {max_bucket}"),
        ));
    }
    Ok((2 * n_neighbors).max(8).min(max_bucket / 2))
}

impl Default for HashConfig {
    /// The selection defaults every API uses: centred SimHash, 24 symbols in 3
    /// nested levels, 4 views, buckets of 16 to 64 rows, seed 0.
    fn default() -> Self {
        HashConfig {
            family: HashFamily::SimHash {
                center: HashFamily::DEFAULT_CENTER,
            },
            n_bits: 24,
            n_levels: 3,
            n_views: 4,
            min_bucket: 16,
            max_bucket: 64,
            seed: 0,
        }
    }
}

/// Parameters of a [`HierarchicalHasher`].
#[derive(Clone, Debug, PartialEq)]
pub struct HashConfig {
    /// Hash family of every view.
    pub family: HashFamily,
    /// Symbols per view (≤ 64 for SimHash).
    pub n_bits: usize,
    /// Nested levels (`1 ≤ n_levels ≤ n_bits`).
    pub n_levels: usize,
    /// Independent tables.
    pub n_views: usize,
    /// Smallest bucket a row may use before backing off to a coarser level.
    pub min_bucket: usize,
    /// Largest candidate window (`≥ 2 · min_bucket`).
    pub max_bucket: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl HashConfig {
    /// Checks every parameter, naming the one at fault.
    pub fn validate(&self) -> Result<()> {
        if self.n_bits == 0 || self.n_bits > 1024 {
            return Err(SketchError::arg(
                "n_bits",
                format!("must be in [1, 1024], got {}", self.n_bits),
            ));
        }
        if self.n_levels == 0 || self.n_levels > self.n_bits || self.n_levels > 64 {
            return Err(SketchError::arg(
                "n_levels",
                format!("must be in [1, min(n_bits, 64)], got {}", self.n_levels),
            ));
        }
        if self.n_views == 0 || self.n_views > 256 {
            return Err(SketchError::arg(
                "n_views",
                format!("must be in [1, 256], got {}", self.n_views),
            ));
        }
        if self.min_bucket == 0 {
            return Err(SketchError::arg("min_bucket", "must be at least 1"));
        }
        if self.max_bucket < 2 * self.min_bucket {
            return Err(SketchError::arg(
                "max_bucket",
                format!(
                    "must be at least 2 · min_bucket = {}, got {}",
                    2 * self.min_bucket,
                    self.max_bucket
                ),
            ));
        }
        match self.family {
            HashFamily::SimHash { .. } => {}
            HashFamily::E2Lsh { width } => {
                if !(width.is_finite() && width > 0.0) {
                    return Err(SketchError::arg(
                        "width",
                        format!("must be positive, got {width}"),
                    ));
                }
            }
            HashFamily::FlyHash {
                expansion, fan_in, ..
            } => {
                if expansion == 0 || expansion.saturating_mul(self.n_bits) > u16::MAX as usize {
                    return Err(SketchError::arg(
                        "expansion",
                        "must be ≥ 1 with expansion · n_bits ≤ 65535",
                    ));
                }
                if fan_in == 0 {
                    return Err(SketchError::arg("fan_in", "must be at least 1"));
                }
            }
        }
        Ok(())
    }

    /// Symbols in the prefix of level `l` (`0..=n_levels`; level 0 has none).
    pub fn prefix(&self, l: usize) -> usize {
        (l * self.n_bits).div_ceil(self.n_levels)
    }
}

/// One view's table: rows in sorted symbol order and, per row, its bucket.
#[derive(Clone, Debug)]
struct View {
    /// `order[p]` = row at sorted position `p`.
    order: Vec<u32>,
    /// `pos[i]` = sorted position of row `i`.
    pos: Vec<u32>,
    /// Common prefix length (symbols) of sorted positions `p − 1` and `p`
    /// (`lcp[0] = 0`).
    lcp: Vec<u16>,
    /// Assigned level of each row.
    level: Vec<u8>,
    /// Bucket of each row as a sorted-order range `[start, end)`.
    range: Vec<(u32, u32)>,
}

/// Everything that defines fitted tables ([`HierarchicalHasher::state`]), for
/// saving them: the configuration, the row count, the data-scale estimate and, per
/// view, the rows in sorted code order with the common prefix lengths of neighbours
/// in that order. The rest of a table follows from these.
#[derive(Clone, Debug, PartialEq)]
pub struct HasherState {
    /// Parameters.
    pub cfg: HashConfig,
    /// Rows hashed.
    pub n: usize,
    /// [`HierarchicalHasher::scale`].
    pub scale: f64,
    /// Per view, `order[p]` = row at sorted position `p` (a permutation of `0..n`).
    pub orders: Vec<Vec<u32>>,
    /// Per view, the common prefix (in symbols) of sorted positions `p − 1` and `p`
    /// (`lcp[0] = 0`, each at most `n_bits`).
    pub lcps: Vec<Vec<u16>>,
}

/// The hash tables of a data set: per view, the rows' buckets at every level.
#[derive(Clone, Debug)]
pub struct HierarchicalHasher {
    cfg: HashConfig,
    n: usize,
    scale: f64,
    views: Vec<View>,
}

/// Row sample of size `min(n, m)` from the Philox stream (sorted).
pub(crate) fn sample_rows(n: usize, m: usize, seed: u64, index: u64) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut s = Stream::new(seed, tag::SAMPLE, index);
    let mut v: Vec<usize> = crate::rng::sample_without_replacement(&mut s, n as u32, m as u32)
        .into_iter()
        .map(|x| x as usize)
        .collect();
    v.sort_unstable();
    v
}

/// Median nearest-neighbour distance within a sample of `m` rows (Euclidean): the
/// data-scale estimate E2LSH widths are relative to. Falls back to the median
/// row norm when every sampled row is duplicated, and to 1 for all-zero data.
pub fn scale_estimate<T: Real, R: Rows<T>>(rows: &R, m: usize, seed: u64) -> Result<f64> {
    let sample = sample_rows(rows.n(), m.max(2), seed, 0);
    let d = rows.dim();
    let mut nn: Vec<f64> = crate::parallel::install(|| {
        sample
            .par_iter()
            .map_init(
                || try_vec(d, T::ZERO, "a row buffer"),
                |buf, &q| {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    rows.load(q, buf);
                    let q_sq = rows.sq_norm(q);
                    Ok(sample
                        .iter()
                        .filter(|&&j| j != q)
                        .map(|&j| rows.distance(Metric::Euclidean, j, buf, q_sq))
                        .fold(f64::INFINITY, f64::min))
                },
            )
            .collect::<Result<_>>()
    })??;
    nn.retain(|v| v.is_finite() && *v > 0.0);
    if nn.is_empty() {
        let mut norms: Vec<f64> = sample
            .iter()
            .map(|&i| rows.sq_norm(i).to_f64().sqrt())
            .filter(|&v| v > 0.0)
            .collect();
        if norms.is_empty() {
            return Ok(1.0);
        }
        norms.sort_by(f64::total_cmp);
        return Ok(norms[norms.len() / 2]);
    }
    nn.sort_by(f64::total_cmp);
    Ok(nn[nn.len() / 2])
}

/// The column means the family centres by (zeros when it does not centre).
fn centring_mean<T: Real, R: Rows<T>>(rows: &R, cfg: &HashConfig) -> Result<Vec<f64>> {
    let centred = matches!(
        cfg.family,
        HashFamily::SimHash { center: true } | HashFamily::FlyHash { center: true, .. }
    );
    if centred {
        let n = rows.n().max(1) as f64;
        Ok(rows.column_sums()?.into_iter().map(|s| s / n).collect())
    } else {
        try_vec(rows.dim(), 0.0, "centring mean")
    }
}

/// Projects the rows through `g` (`m` outputs) in chunks of [`CHUNK`] rows, so the
/// temporary stays bounded, calling `each(r0, projections)` with the `(r1 − r0) × m`
/// row-major projections of rows `r0..r1`.
pub(crate) fn project_in_chunks<T: Real, R: Rows<T>>(
    rows: &R,
    g: &Sketch,
    mut each: impl FnMut(usize, &[T]) -> Result<()>,
) -> Result<()> {
    let (n, m) = (rows.n(), g.shape().0);
    let mut proj = try_vec(CHUNK.min(n) * m, T::ZERO, "hash projections")?;
    for r0 in (0..n).step_by(CHUNK) {
        rows.check_cancel()?;
        let r1 = (r0 + CHUNK).min(n);
        let p = &mut proj[..(r1 - r0) * m];
        rows.project_range(r0, r1, g, MatMut::from_row_major(p, r1 - r0, m)?)?;
        each(r0, p)?;
    }
    Ok(())
}

/// The seed of view `v`'s operator (SimHash/E2LSH: the [`Family::Gaussian`]
/// sketch of shape `(n_bits, d)`; FlyHash: the unit samples' stream).
pub fn view_seed(seed: u64, v: usize) -> u64 {
    Stream::new(seed, tag::HASH_VIEW, v as u64).next_u64()
}

/// Symbols of every row for view `v`: `n × m` in row-major order, plus each row's
/// tie-break value (its first projection, or its strongest unit for FlyHash).
fn symbols<T: Real, R: Rows<T>>(
    rows: &R,
    cfg: &HashConfig,
    scale: f64,
    mean: &[f64],
    v: usize,
) -> Result<(Vec<u16>, Vec<f64>)> {
    let (n, d, m) = (rows.n(), rows.dim(), cfg.n_bits);
    let vseed = view_seed(cfg.seed, v);
    let mut sym = try_vec(
        crate::error::checked_mul(n, m, "n_bits", "hash codes")?,
        0u16,
        "hash codes",
    )?;
    let mut tie = try_vec(n, 0.0f64, "hash tie-breaks")?;
    match cfg.family {
        HashFamily::SimHash { .. } | HashFamily::E2Lsh { .. } => {
            let g = Sketch::new(Family::Gaussian, m, d, vseed)?;
            // Offsets subtracted from every projection: μ Gᵀ when centring, −b_t for
            // E2LSH.
            let mut off = try_vec(m, 0.0f64, "hash offsets")?;
            if let HashFamily::SimHash { center: true } = cfg.family {
                let mu: Vec<T> = mean.iter().map(|&x| T::from_f64(x)).collect();
                let mut pm = try_vec(m, T::ZERO, "projected mean")?;
                g.project(
                    crate::view::MatRef::from_row_major(&mu, 1, d)?,
                    MatMut::from_row_major(&mut pm, 1, m)?,
                )?;
                off = pm.iter().map(|x| x.to_f64()).collect();
            }
            let w = match cfg.family {
                HashFamily::E2Lsh { width } => {
                    let w = width * scale;
                    let mut s = Stream::new(cfg.seed, tag::E2LSH_OFFSET, v as u64);
                    for o in off.iter_mut() {
                        *o = -crate::rng::open01(s.next_u64()) * w;
                    }
                    w
                }
                _ => 0.0,
            };
            project_in_chunks(rows, &g, |r0: usize, p: &[T]| {
                let r1 = r0 + p.len() / m;
                let (sy, ti) = (&mut sym[r0 * m..r1 * m], &mut tie[r0..r1]);
                crate::parallel::install(|| {
                    sy.par_chunks_mut(m)
                        .zip(ti.par_iter_mut())
                        .zip(p.par_chunks(m))
                        .for_each(|((s, t), pr)| {
                            *t = pr[0].to_f64() - off[0];
                            for ((o, &x), &c) in s.iter_mut().zip(pr).zip(&off) {
                                let y = x.to_f64() - c;
                                *o = if w > 0.0 {
                                    // Clamped into u16 around 2^15: more than 32768
                                    // widths from the origin is one bucket.
                                    ((y / w).floor() + 32768.0).clamp(0.0, 65535.0) as u16
                                } else {
                                    u16::from(y > 0.0)
                                };
                            }
                        })
                })
            })?;
        }
        HashFamily::FlyHash {
            expansion,
            fan_in,
            center,
        } => {
            let units = expansion * m;
            let fan = fan_in.min(d);
            // unit u sums the inputs `inputs[u * fan..(u + 1) * fan]`.
            let mut inputs = Vec::with_capacity(units * fan);
            for u in 0..units {
                let mut s = Stream::new(vseed, tag::FLYHASH, u as u64);
                inputs.extend(
                    crate::rng::sample_without_replacement(&mut s, d as u32, fan as u32)
                        .into_iter()
                        .map(|j| j as usize),
                );
            }
            let bias: Vec<f64> = (0..units)
                .map(|u| {
                    if center {
                        inputs[u * fan..(u + 1) * fan]
                            .iter()
                            .map(|&j| mean[j])
                            .sum()
                    } else {
                        0.0
                    }
                })
                .collect();
            crate::parallel::install(|| {
                sym.par_chunks_mut(m)
                    .zip(tie.par_iter_mut())
                    .enumerate()
                    .try_for_each_init(
                        || {
                            let buf = try_vec(d, T::ZERO, "a row buffer")?;
                            Ok((buf, try_vec(units, (0.0f64, 0usize), "FlyHash units")?))
                        },
                        |scratch: &mut Result<_>, (i, (s, t))| -> Result<()> {
                            let (buf, act) = scratch.as_mut().map_err(|e| e.clone())?;
                            rows.load(i, buf);
                            for (u, a) in act.iter_mut().enumerate() {
                                let mut acc = 0.0f64;
                                for &j in &inputs[u * fan..(u + 1) * fan] {
                                    acc += buf[j].to_f64();
                                }
                                *a = (acc - bias[u], u);
                            }
                            // Strongest first; ties by unit index.
                            let key = |a: &(f64, usize), b: &(f64, usize)| {
                                b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
                            };
                            act.select_nth_unstable_by(m - 1, key);
                            act[..m].sort_unstable_by(key);
                            for (o, a) in s.iter_mut().zip(act.iter()) {
                                *o = a.1 as u16;
                            }
                            // Each level adds a set of winners: sorted inside its
                            // rank group, so swaps within a group keep the bucket.
                            for l in 1..=cfg.n_levels {
                                s[cfg.prefix(l - 1)..cfg.prefix(l)].sort_unstable();
                            }
                            *t = act[0].0;
                            Ok(())
                        },
                    )
            })??;
        }
    }
    Ok((sym, tie))
}

impl HierarchicalHasher {
    /// Hashes every row into `n_views` tables of `n_levels` nested levels.
    pub fn build<T: Real, R: Rows<T>>(rows: &R, cfg: HashConfig) -> Result<Self> {
        cfg.validate()?;
        let n = rows.n();
        if n == 0 {
            return Err(SketchError::arg("X", "has no rows"));
        }
        if n > u32::MAX as usize {
            return Err(SketchError::arg("X", "more than 2^32 − 1 rows"));
        }
        if matches!(cfg.family, HashFamily::SimHash { .. }) && cfg.n_bits > 64 {
            return Err(SketchError::arg(
                "n_bits",
                "SimHash uses at most 64 bits per view",
            ));
        }
        // Kept in the input's units: `codes` may see the rows scaled differently.
        let scale = match cfg.family {
            HashFamily::E2Lsh { .. } => {
                crate::select::rows::ldexp(scale_estimate(rows, 1000, cfg.seed)?, -rows.scale_exp())
            }
            _ => 1.0,
        };
        let mean = centring_mean(rows, &cfg)?;
        let mut views = Vec::with_capacity(cfg.n_views);
        for v in 0..cfg.n_views {
            let (sym, tie) = symbols(rows, &cfg, Self::row_scale(scale, rows), &mean, v)?;
            views.push(Self::table(&cfg, n, &sym, &tie)?);
        }
        Ok(HierarchicalHasher {
            cfg,
            n,
            scale,
            views,
        })
    }

    fn table(cfg: &HashConfig, n: usize, sym: &[u16], tie: &[f64]) -> Result<View> {
        let m = cfg.n_bits;
        let code = |i: usize| &sym[i * m..(i + 1) * m];
        // Sort keys: the first symbols packed into a u64 (all of them for binary
        // codes of ≤ 64 bits), compared first; the rest of the code only on ties.
        let binary = matches!(cfg.family, HashFamily::SimHash { .. });
        let (per, bits) = if binary {
            (m.min(64), 1)
        } else {
            (m.min(4), 16)
        };
        let head = |i: usize| {
            code(i)[..per]
                .iter()
                .fold(0u64, |acc, &s| (acc << bits) | u64::from(s))
        };
        let mut keys: Vec<(u64, u32)> = try_vec(n, (0u64, 0u32), "hash sort keys")?;
        crate::parallel::install(|| {
            keys.par_iter_mut()
                .enumerate()
                .for_each(|(i, k)| *k = (head(i), i as u32))
        })?;
        crate::parallel::install(|| {
            keys.par_sort_unstable_by(|&(ka, a), &(kb, b)| {
                let (a, b) = (a as usize, b as usize);
                ka.cmp(&kb)
                    .then_with(|| code(a)[per..].cmp(&code(b)[per..]))
                    .then(tie[a].total_cmp(&tie[b]))
                    .then(a.cmp(&b))
            })
        })?;
        let order: Vec<u32> = keys.into_iter().map(|(_, i)| i).collect();
        let mut lcp = try_vec(n, 0u16, "hash prefixes")?;
        crate::parallel::install(|| {
            lcp.par_iter_mut().enumerate().skip(1).for_each(|(p, l)| {
                let (a, b) = (code(order[p - 1] as usize), code(order[p] as usize));
                *l = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u16;
            })
        })?;
        Self::view_from(cfg, n, order, lcp)
    }

    /// A view's table from its sorted order and prefix lengths.
    fn view_from(cfg: &HashConfig, n: usize, order: Vec<u32>, lcp: Vec<u16>) -> Result<View> {
        let mut pos = try_vec(n, 0u32, "hash positions")?;
        for (p, &i) in order.iter().enumerate() {
            pos[i as usize] = p as u32;
        }
        // Per level, run boundaries: start of the run holding each position, and its
        // end; then the deepest level with a large enough run.
        let levels = cfg.n_levels;
        let mut level = try_vec(n, 0u8, "hash levels")?;
        let mut range = try_vec(n, (0u32, n as u32), "hash buckets")?;
        let mut start = try_vec(n, 0u32, "bucket starts")?;
        let mut end = try_vec(n, n as u32, "bucket ends")?;
        for l in 1..=levels {
            let pre = cfg.prefix(l) as u16;
            for p in 1..n {
                start[p] = if lcp[p] >= pre {
                    start[p - 1]
                } else {
                    p as u32
                };
            }
            for p in (0..n.saturating_sub(1)).rev() {
                end[p] = if lcp[p + 1] >= pre {
                    end[p + 1]
                } else {
                    (p + 1) as u32
                };
            }
            for p in 0..n {
                if (end[p] - start[p]) as usize >= cfg.min_bucket {
                    let i = order[p] as usize;
                    level[i] = l as u8;
                    range[i] = (start[p], end[p]);
                }
            }
        }
        Ok(View {
            order,
            pos,
            lcp,
            level,
            range,
        })
    }

    /// The symbols of every row in view `v` (`n × n_bits`, row-major), recomputed:
    /// bits for SimHash, `⌊(⟨g_t, x⟩ + b_t) / w⌋ + 2^15` (clamped to `u16`) for
    /// E2LSH, unit indices strongest first for FlyHash.
    pub fn codes<T: Real, R: Rows<T>>(&self, rows: &R, v: usize) -> Result<Vec<u16>> {
        if v >= self.views.len() {
            return Err(SketchError::arg(
                "view",
                format!("must be below n_views = {}", self.views.len()),
            ));
        }
        if rows.n() != self.n {
            return Err(SketchError::ShapeMismatch(format!(
                "X has {} rows but the tables hash {}",
                rows.n(),
                self.n
            )));
        }
        let mean = centring_mean(rows, &self.cfg)?;
        Ok(symbols(rows, &self.cfg, Self::row_scale(self.scale, rows), &mean, v)?.0)
    }

    /// The data-scale estimate `scale` in the units of `rows` ([`Rows::scale_exp`]).
    fn row_scale<T: Real, R: Rows<T>>(scale: f64, rows: &R) -> f64 {
        crate::select::rows::ldexp(scale, rows.scale_exp())
    }

    /// The state that defines the tables (see [`HasherState`]).
    pub fn state(&self) -> HasherState {
        HasherState {
            cfg: self.cfg.clone(),
            n: self.n,
            scale: self.scale,
            orders: self.views.iter().map(|v| v.order.clone()).collect(),
            lcps: self.views.iter().map(|v| v.lcp.clone()).collect(),
        }
    }

    /// Tables rebuilt from a saved [`HasherState`], which is checked first (it may
    /// come from an untrusted file): a valid configuration, `1 ≤ n < 2^32`, a finite
    /// positive scale, `n_views` orders that are permutations of `0..n` and prefix
    /// lengths of `n` entries, the first 0 and none above `n_bits`. Errors name
    /// `state`.
    pub fn from_state(state: HasherState) -> Result<Self> {
        let HasherState {
            cfg,
            n,
            scale,
            orders,
            lcps,
        } = state;
        cfg.validate()?;
        let bad = |msg: String| Err(SketchError::arg("state", msg));
        if n == 0 || n > u32::MAX as usize {
            return bad(format!("row count {n} is not in [1, 2^32 − 1]"));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return bad(format!("scale {scale} is not positive and finite"));
        }
        if orders.len() != cfg.n_views || lcps.len() != cfg.n_views {
            return bad(format!("expected {} views", cfg.n_views));
        }
        let mut views = Vec::with_capacity(cfg.n_views);
        for (order, lcp) in orders.into_iter().zip(lcps) {
            if order.len() != n || lcp.len() != n {
                return bad(format!("a view does not have {n} rows"));
            }
            let mut seen = try_vec(n, false, "hash state check")?;
            for &i in &order {
                match seen.get_mut(i as usize) {
                    Some(s) if !*s => *s = true,
                    _ => return bad("a view's order is not a permutation of the rows".into()),
                }
            }
            if lcp[0] != 0 || lcp.iter().any(|&l| l as usize > cfg.n_bits) {
                return bad(format!(
                    "prefix lengths must start at 0 and not exceed n_bits = {}",
                    cfg.n_bits
                ));
            }
            views.push(Self::view_from(&cfg, n, order, lcp)?);
        }
        Ok(HierarchicalHasher {
            cfg,
            n,
            scale,
            views,
        })
    }

    /// Parameters.
    pub fn config(&self) -> &HashConfig {
        &self.cfg
    }
    /// Number of rows hashed.
    pub fn n(&self) -> usize {
        self.n
    }
    /// The data-scale estimate E2LSH widths are relative to (1 for other families).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The level each row's bucket sits at, `n × n_views` row-major (0 = all rows).
    pub fn levels(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.n * self.views.len());
        for i in 0..self.n {
            out.extend(self.views.iter().map(|v| v.level[i]));
        }
        out
    }

    /// Size of each row's bucket, `n × n_views` row-major (at least `min_bucket` when
    /// `n ≥ min_bucket`).
    pub fn bucket_sizes(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.n * self.views.len());
        for i in 0..self.n {
            out.extend(self.views.iter().map(|v| v.range[i].1 - v.range[i].0));
        }
        out
    }

    /// Bucket ids at a fixed `level` (`0..=n_levels`), `n × n_views` row-major: rows
    /// share an id in a view exactly when their codes share that level's prefix.
    /// Ids are dense, numbered in sorted code order.
    pub fn level_ids(&self, level: usize) -> Result<Vec<u32>> {
        if level > self.cfg.n_levels {
            return Err(SketchError::arg(
                "level",
                format!("must be in [0, {}], got {level}", self.cfg.n_levels),
            ));
        }
        let pre = self.cfg.prefix(level) as u16;
        let nv = self.views.len();
        let mut out = try_vec(self.n * nv, 0u32, "level ids")?;
        for (v, view) in self.views.iter().enumerate() {
            let mut id = 0u32;
            for p in 0..self.n {
                if p > 0 && view.lcp[p] < pre {
                    id += 1;
                }
                out[view.order[p] as usize * nv + v] = id;
            }
        }
        Ok(out)
    }

    /// Bucket ids of the buckets rows were assigned to, `n × n_views` row-major:
    /// unique within a view across levels (`(level, first sorted position)`
    /// numbered densely).
    pub fn bucket_ids(&self) -> Result<Vec<u64>> {
        let nv = self.views.len();
        let mut out = try_vec(self.n * nv, 0u64, "bucket ids")?;
        for (v, view) in self.views.iter().enumerate() {
            let mut keys: Vec<u64> = (0..self.n)
                .map(|i| (u64::from(view.level[i]) << 32) | u64::from(view.range[i].0))
                .collect();
            let mut uniq = keys.clone();
            uniq.sort_unstable();
            uniq.dedup();
            for (i, k) in keys.iter_mut().enumerate() {
                out[i * nv + v] = uniq.binary_search(k).unwrap_or(0) as u64;
            }
        }
        Ok(out)
    }

    /// The candidate window of row `i` in view `v`: at most `max_bucket` rows of its
    /// bucket nearest to it in sorted order, as a sorted-position range.
    #[inline]
    fn window(&self, v: usize, i: usize) -> (usize, usize) {
        let view = &self.views[v];
        let (s, e) = (view.range[i].0 as usize, view.range[i].1 as usize);
        let w = self.cfg.max_bucket;
        if e - s <= w {
            return (s, e);
        }
        let p = view.pos[i] as usize;
        let lo = p.saturating_sub(w / 2).max(s).min(e - w);
        (lo, lo + w)
    }

    /// Appends row `i`'s candidates (the union of its windows over the views; may
    /// hold duplicates and `i` itself).
    pub fn candidates(&self, i: usize, out: &mut Vec<usize>) {
        for v in 0..self.views.len() {
            let (a, b) = self.window(v, i);
            out.extend(self.views[v].order[a..b].iter().map(|&j| j as usize));
        }
    }

    /// The hashed graph followed by `rounds` of neighbour-of-neighbour refinement
    /// ([`super::knn::refine`]), visiting rows in the first view's code order.
    pub fn knn_graph_refined<T: Real, R: Rows<T>>(
        &self,
        rows: &R,
        k: usize,
        metric: Metric,
        rounds: usize,
    ) -> Result<KnnGraph> {
        let mut g = self.knn_graph(rows, k, metric)?;
        for _ in 0..rounds {
            g = super::knn::refine(rows, g.view(), k, metric, Some(&self.views[0].order))?;
        }
        Ok(g)
    }

    /// Sizes of row `i`'s candidate windows, one per view (each ≤ `max_bucket`).
    pub fn window_sizes(&self, i: usize) -> Vec<usize> {
        (0..self.views.len())
            .map(|v| {
                let (a, b) = self.window(v, i);
                b - a
            })
            .collect()
    }

    /// The candidate graph re-ranked by exact distance: each row's `k` nearest
    /// candidates.
    pub fn knn_graph<T: Real, R: Rows<T>>(
        &self,
        rows: &R,
        k: usize,
        metric: Metric,
    ) -> Result<KnnGraph> {
        if rows.n() != self.n {
            return Err(SketchError::ShapeMismatch(format!(
                "X has {} rows but the tables hash {}",
                rows.n(),
                self.n
            )));
        }
        super::knn::check_k(k, self.n)?;
        // One pass per view in that view's sorted order: consecutive queries share
        // their windows, which stay in cache. Lists are merged per row across views.
        let mut acc = Lists::new(self.n, k)?;
        for (v, view) in self.views.iter().enumerate() {
            let lists = ordered_topk(rows, k, metric, &view.order, |p, out| {
                let (a, b) = self.window(v, view.order[p] as usize);
                out.extend(view.order[a..b].iter().map(|&j| j as usize));
            })?;
            acc.merge(&lists, &view.pos)?;
        }
        Ok(acc.into_graph()?.unscaled(metric, rows.scale_exp()))
    }
}
