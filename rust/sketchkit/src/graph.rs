//! Graph embeddings: FastRP (Chen et al. 2019) with the semantics of Neo4j GDS, and
//! the sparse × dense propagation it is built on (also used by projected propagation
//! for heterogeneous graphs).
//!
//! For an adjacency `A` (`n × n` CSR, row `i` lists the neighbours node `i` reads
//! from), FastRP computes
//!
//! ```text
//! R   = [ S_r(e_1 … e_n)ᵀ | F · S_pᵀ ]          initial vectors, n × dim
//! E_0 = diag(deg)^β · R
//! E_i = normalize(A · E_{i-1}),  i = 1 … q     (rows scaled to unit L2 norm)
//! Y   = s · normalize(R) + Σ_i w_i · E_i
//! ```
//!
//! with `S_r` a very sparse operator of shape `(dim − p) × n` (node `j`'s random vector
//! is its column `j`), `S_p` one of shape `p × f` projecting the node features `F`,
//! `deg` the number of stored entries per row, `β` the normalization strength, `s`
//! the node self-influence and `w` the iteration weights. Zero rows stay zero.
//!
//! Every output row is computed by one worker in a fixed order of operations, so the
//! result has the same bits for any thread count and any SIMD level.
//!
//! Without node features, `R = c · B` with `B`'s entries in `{-1, 0, 1}`, and the
//! first step computes `normalize(A · diag(deg)^β · B)` from `B` stored as sign bits
//! (one cache line per node): `c` cancels in the normalization, up to rounding.
//! When every stored entry also counts 1 (unweighted, or unit weights) and `β = 0`,
//! `A · B` is a matrix of integers: the first step counts signs in bit planes, and
//! when `E_1` only feeds the next step (`w_1 = 0`, GDS's default) it is kept as
//! `i8` (every degree at most 127) or `i16` counts and one scale per row, which the
//! next step expands to the same `f32` values it would have read.

use crate::backend::ENTRY_SIGN;
use crate::error::{checked_mul, try_vec, try_zeros, Result, SketchError};
use crate::sketch::{Family, LinearSketch, Sketch};
use crate::view::{CsrRef, MatMut, MatRef, SparseIndex};

use crate::simd::{prefetch_lines, PREFETCH_L1, PREFETCH_L2};
use crate::Real;
use rayon::prelude::*;

/// Rows per parallel work item of the propagation (fixed: results never depend on the
/// pool size).
const ROW_BLOCK: usize = 64;

/// Density of GDS's initial random vectors (sparsity 3: entries `±√3/√dim` with
/// probability 1/6 each).
pub const GDS_DENSITY: f64 = 1.0 / 3.0;

/// FastRP's parameters (see the module documentation for the formula).
#[derive(Clone, Debug, PartialEq)]
pub struct FastRp {
    /// Output dimension `dim`.
    pub embedding_dim: usize,
    /// Weights `w_1 … w_q` of the propagation steps (`q ≥ 1`).
    pub iteration_weights: Vec<f64>,
    /// Degree exponent `β` of the initial vectors.
    pub normalization_strength: f64,
    /// Weight `s` of each node's own (normalized) initial vector.
    pub node_self_influence: f64,
    /// Share of the output columns given to projected node features, in `[0, 1]`:
    /// the last `⌊embedding_dim · property_ratio⌋` columns ([`FastRp::property_dim`]).
    pub property_ratio: f64,
    /// Density of the very sparse projections, in (0, 1].
    pub density: f64,
    /// Use the stored values as edge weights (otherwise every stored entry counts 1).
    pub weighted: bool,
    /// Check that the adjacency is symmetric (an undirected graph).
    pub undirected: bool,
    /// Seed of both projections.
    pub seed: u64,
}

impl FastRp {
    /// GDS defaults: weights `[0, 1, 1]`, `β = 0`, `s = 0`, no properties, density 1/3,
    /// weighted, undirected.
    pub fn new(embedding_dim: usize, seed: u64) -> Self {
        FastRp {
            embedding_dim,
            iteration_weights: vec![0.0, 1.0, 1.0],
            normalization_strength: 0.0,
            node_self_influence: 0.0,
            property_ratio: 0.0,
            density: GDS_DENSITY,
            weighted: true,
            undirected: true,
            seed,
        }
    }

    /// Columns given to projected node features: `⌊embedding_dim · property_ratio⌋`.
    pub fn property_dim(&self) -> usize {
        (self.embedding_dim as f64 * self.property_ratio).floor() as usize
    }

    /// Checks every parameter; errors name the argument at fault. `n_features` is the
    /// width of the node features, when given.
    pub fn validate(&self, n_features: Option<usize>) -> Result<()> {
        if self.embedding_dim == 0 {
            return Err(SketchError::arg("embedding_dim", "must be at least 1"));
        }
        if self.iteration_weights.is_empty() {
            return Err(no_weights());
        }
        if self.iteration_weights.iter().any(|w| !w.is_finite()) {
            return Err(SketchError::arg(
                "iteration_weights",
                "every weight must be finite",
            ));
        }
        if !self.normalization_strength.is_finite() {
            return Err(SketchError::arg(
                "normalization_strength",
                format!("must be finite, got {}", self.normalization_strength),
            ));
        }
        if !self.node_self_influence.is_finite() {
            return Err(SketchError::arg(
                "node_self_influence",
                format!("must be finite, got {}", self.node_self_influence),
            ));
        }
        if !(0.0..=1.0).contains(&self.property_ratio) {
            return Err(SketchError::arg(
                "property_ratio",
                format!("must be in [0, 1], got {}", self.property_ratio),
            ));
        }
        if !(self.density > 0.0 && self.density <= 1.0) {
            return Err(SketchError::arg(
                "density",
                format!("must be in (0, 1], got {}", self.density),
            ));
        }
        match n_features {
            None if self.property_dim() > 0 => {
                return Err(SketchError::arg(
                    "property_ratio",
                    "is positive but no node features were given",
                ))
            }
            Some(0) => return Err(SketchError::arg("features", "has no columns")),
            Some(_) if self.property_dim() == 0 => {
                return Err(SketchError::arg(
                    "property_ratio",
                    "gives the node features no output column: raise it above 0",
                ))
            }
            _ => {}
        }
        if self.property_dim() >= self.embedding_dim && n_features.is_some() {
            return Err(SketchError::arg(
                "property_ratio",
                format!(
                    "leaves no column for the random part ({} of {} columns to features)",
                    self.property_dim(),
                    self.embedding_dim
                ),
            ));
        }
        Ok(())
    }

    /// The embedding, `n × embedding_dim` row-major `f32`.
    pub fn embed<T: Real, I: SparseIndex>(
        &self,
        adj: &CsrRef<'_, T, I>,
        features: Option<MatRef<'_, f32>>,
    ) -> Result<Vec<f32>> {
        self.validate(features.map(|f| f.cols()))?;
        let scan = adjacency_scan(adj, self.undirected)?;
        let n = adj.rows;
        if let Some(f) = features {
            if f.rows() != n {
                return Err(SketchError::ShapeMismatch(format!(
                    "features has {} rows, the adjacency {n} nodes",
                    f.rows()
                )));
            }
        }
        let k = self.embedding_dim;
        let len = checked_mul(n, k, "embedding_dim", "n * embedding_dim")?;
        let beta = self.normalization_strength;
        let s = self.node_self_influence as f32;
        // non-empty after `validate`
        let (first, rest) = self
            .iteration_weights
            .split_first()
            .ok_or_else(no_weights)?;
        let w1 = *first as f32;
        let degree_scale = |i: usize| {
            let deg = adj.row_range(i).len();
            if beta != 0.0 && deg != 0 {
                Some((deg as f64).powf(beta) as f32)
            } else {
                None
            }
        };
        let last = rest.is_empty();
        // The running sum `Σ w_i E_i` (plus `s · normalize(R)`) is `out + pending · prev`
        // (`out` absent: zeros): a step adds the previous step's term as it writes its
        // own rows, and the last step writes the sum into a free buffer, so the
        // default weights need two n × dim buffers instead of three.
        let (mut out, mut prev, mut spare, counts) = match features {
            // Without node features, R = c · B with B's entries in {-1, 0, 1}: the
            // first step reads B as sign bits (a cache line per node instead of a
            // row of floats) and drops the constant c, which the normalization removes.
            None => {
                let signs = SignRows::new(self, n)?;
                let scales = match beta != 0.0 {
                    true => {
                        let mut v = try_vec(n, 1.0f32, "the degree scales")?;
                        crate::parallel::install(|| {
                            v.par_iter_mut().enumerate().for_each(|(i, x)| {
                                *x = degree_scale(i).unwrap_or(1.0);
                            })
                        })?;
                        Some(v)
                    }
                    false => None,
                };
                crate::parallel::install(|| -> Result<_> {
                    let mut out = None;
                    if s != 0.0 {
                        let mut o: Vec<f32> = try_zeros(len, "the embedding")?;
                        o.par_chunks_mut(ROW_BLOCK * k)
                            .enumerate()
                            .for_each(|(b, o)| {
                                for (ri, orow) in o.chunks_mut(k).enumerate() {
                                    signs.expand(b * ROW_BLOCK + ri, orow);
                                    let inv = inv_norm(orow);
                                    for v in orow.iter_mut() {
                                        *v = s * (*v * inv);
                                    }
                                }
                            });
                        out = Some(o);
                    }
                    let scales = scales.as_deref();
                    let row = |i: usize, row: &mut [f32]| {
                        crate::dispatch!(signs.gather(adj, self.weighted, scales, i, row))
                    };
                    if CountRows::applies(&scan, self.weighted, scales, w1, last) {
                        // E_1 is only read by the next step (w_1 = 0): keep it as
                        // integers and scales.
                        let e1 = CountRows::new(n, k, scan.max_degree, |i, row| {
                            crate::dispatch!(signs.count_gather(adj, i, row))
                        })?;
                        return Ok((out, Vec::new(), None, Some(e1)));
                    }
                    let mut e1 = try_zeros(len, "a propagation buffer")?;
                    let out = step(k, &[], 0.0, w1, &mut e1, out, last, row)?;
                    Ok((out, e1, None, None))
                })??
            }
            Some(_) => {
                let mut r = self.initial_vectors(n, features)?;
                crate::parallel::install(|| -> Result<_> {
                    let mut out = None;
                    if s != 0.0 {
                        out = Some(try_zeros(len, "the embedding")?);
                    }
                    // out = s · normalize(R); r = deg^β · R.
                    for_row_blocks(k, &mut r, out.as_deref_mut(), |b, p, mut o| {
                        for (ri, prow) in p.chunks_mut(k).enumerate() {
                            if let Some(o) = o.as_deref_mut() {
                                let inv = inv_norm(prow);
                                let orow = &mut o[ri * k..(ri + 1) * k];
                                for (ov, &rv) in orow.iter_mut().zip(prow.iter()) {
                                    *ov = s * (rv * inv);
                                }
                            }
                            if let Some(scale) = degree_scale(b * ROW_BLOCK + ri) {
                                for pv in prow.iter_mut() {
                                    *pv *= scale;
                                }
                            }
                        }
                    });
                    let mut e1 = try_zeros(len, "a propagation buffer")?;
                    let rr = &r;
                    let out = step(k, &[], 0.0, w1, &mut e1, out, last, |i, row| {
                        crate::dispatch!(gather(adj, self.weighted, i, rr, k, row))
                    })?;
                    Ok((out, e1, Some(r), None))
                })??
            }
        };
        let mut pending = w1;
        crate::parallel::install(|| -> Result<_> {
            let mut rest = rest;
            if let Some(e1) = counts {
                // E_2 from E_1's integer rows (pending is w_1 = 0 here).
                let (&w, tail) = rest.split_first().ok_or_else(no_weights)?;
                let mut cur = try_zeros(len, "a propagation buffer")?;
                out = step(
                    k,
                    &[],
                    0.0,
                    w as f32,
                    &mut cur,
                    out,
                    tail.is_empty(),
                    |i, row| crate::dispatch!(e1.gather(adj, i, row)),
                )?;
                if tail.is_empty() {
                    return out.ok_or_else(no_weights);
                }
                // the counts' buffer takes the step after next (its touched pages
                // are not fresh ones)
                spare = Some(e1.into_buffer());
                prev = cur;
                pending = w as f32;
                rest = tail;
            }
            for (t, &w) in rest.iter().enumerate() {
                let last = t + 1 == rest.len();
                let mut cur = match spare.take() {
                    Some(c) => c,
                    None => try_zeros(len, "a propagation buffer")?,
                };
                let p = &prev;
                out = step(k, p, pending, w as f32, &mut cur, out, last, |i, row| {
                    crate::dispatch!(gather(adj, self.weighted, i, p, k, row))
                })?;
                if last {
                    break;
                }
                spare = Some(std::mem::replace(&mut prev, cur));
                pending = w as f32;
            }
            match out {
                Some(o) => Ok(o),
                None => try_zeros(len, "the embedding"),
            }
        })?
    }

    /// The initial vectors `R` (`n × dim`, row-major): very sparse random columns and
    /// projected features.
    pub fn initial_vectors(&self, n: usize, features: Option<MatRef<'_, f32>>) -> Result<Vec<f32>> {
        let k = self.embedding_dim;
        let p = if features.is_some() {
            self.property_dim()
        } else {
            0
        };
        let kr = k - p;
        let len = checked_mul(n, k, "embedding_dim", "n * embedding_dim")?;
        let mut r = try_zeros(len, "the initial vectors")?;
        if n == 0 {
            return Ok(r);
        }
        // Node j's random vector is column j of S_r, written into row j.
        let s_r = Sketch::new(
            Family::VerySparse {
                density: self.density,
            },
            kr,
            n,
            self.seed,
        )?;
        crate::parallel::install(|| {
            r.par_chunks_mut(ROW_BLOCK * k)
                .enumerate()
                .for_each(|(b, rows)| {
                    let mut col = Vec::new();
                    crate::dispatch!({
                        for (ri, row) in rows.chunks_mut(k).enumerate() {
                            s_r.column_into(b * ROW_BLOCK + ri, &mut col, &mut row[..kr]);
                        }
                    });
                })
        })?;

        if let (Some(f), true) = (features, p > 0) {
            let s_p = Sketch::new(
                Family::VerySparse {
                    density: self.density,
                },
                p,
                f.cols(),
                self.seed ^ 0x9e37_79b9_7f4a_7c15,
            )?;
            let mut tmp = try_zeros(checked_mul(n, p, "n", "n * p")?, "feature vectors")?;
            s_p.project(f, MatMut::from_row_major(&mut tmp, n, p)?)
                .map_err(|e| e.for_input("features"))?;
            copy_columns(&tmp, p, &mut r, k, kr);
        }
        Ok(r)
    }
}

/// The error for empty `iteration_weights` (FastRP needs at least one step).
fn no_weights() -> SketchError {
    SketchError::arg("iteration_weights", "must hold at least one weight")
}

fn copy_columns(src: &[f32], w: usize, dst: &mut [f32], k: usize, c0: usize) {
    for (s, d) in src.chunks_exact(w).zip(dst.chunks_exact_mut(k)) {
        d[c0..c0 + w].copy_from_slice(s);
    }
}

/// `1 / ‖row‖₂`, or 0 for a zero row (8 partial sums in a fixed order).
#[inline(always)]
fn inv_norm(row: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] += c[l] * c[l];
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        acc[l] += v * v;
    }
    let s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    if s > 0.0 {
        1.0 / s.sqrt()
    } else {
        0.0
    }
}

/// Row `i` of `A · X` into `acc` (edges in stored order), through [`gather_rows`].
#[inline(always)]
fn gather<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    weighted: bool,
    i: usize,
    x: &[f32],
    k: usize,
    acc: &mut [f32],
) {
    let weight = |t: usize, _j: usize| {
        if weighted {
            adj.data[t].to_f64() as f32
        } else {
            1.0
        }
    };
    gather_rows(adj, i, x, k, weight, acc)
}

/// `acc[c] = Σ_t fl(x[j_t · k + c] · factor(t, j_t))` over row `i`'s stored entries
/// `t` (column `j_t`), summed in stored order from zero: the `f32` rows of [`gather`]
/// with the edge weights, or [`CountRows`]'s `i16` counts with their row scales.
/// Columns go in blocks of [`LANES`] (twice that on AVX-512) held in registers across
/// the row's edges; every element is the same sum, in the same order, as a plain loop.
#[inline(always)]
fn gather_rows<T: Real, I: SparseIndex, E: Copy + Into<f32>>(
    adj: &CsrRef<'_, T, I>,
    i: usize,
    x: &[E],
    k: usize,
    factor: impl Fn(usize, usize) -> f32,
    acc: &mut [f32],
) {
    if wide_lanes() {
        gather_blocks::<T, I, E, { 2 * LANES }>(adj, i, x, k, factor, acc)
    } else {
        gather_blocks::<T, I, E, LANES>(adj, i, x, k, factor, acc)
    }
}

/// [`gather_rows`] with `W` columns per block.
#[inline(always)]
fn gather_blocks<T: Real, I: SparseIndex, E: Copy + Into<f32>, const W: usize>(
    adj: &CsrRef<'_, T, I>,
    i: usize,
    x: &[E],
    k: usize,
    factor: impl Fn(usize, usize) -> f32,
    acc: &mut [f32],
) {
    let range = adj.row_range(i);
    let nnz = adj.indices.len();
    let mut c0 = 0;
    while c0 + W <= k {
        let mut a = [0.0f32; W];
        for t in range.clone() {
            // the head of rows far ahead into L2 (across the end of row `i`: the
            // caller gathers the following rows next), the block's lines near ahead
            // into L1
            if c0 == 0 && t + ROW_PREFETCH_AHEAD < nnz {
                let j = adj.col(t + ROW_PREFETCH_AHEAD);
                let head = (ROW_PREFETCH_BYTES / std::mem::size_of::<E>()).min(k);
                prefetch_lines::<PREFETCH_L2, _>(&x[j * k..j * k + head]);
            }
            if t + PREFETCH_AHEAD < range.end {
                let at = adj.col(t + PREFETCH_AHEAD) * k + c0;
                if let Some(block) = x.get(at..at + W) {
                    prefetch_lines::<PREFETCH_L1, _>(block);
                }
            }
            let j = adj.col(t);
            let f = factor(t, j);
            let xr = &x[j * k + c0..j * k + c0 + W];
            for (av, &v) in a.iter_mut().zip(xr) {
                *av += v.into() * f;
            }
        }
        acc[c0..c0 + W].copy_from_slice(&a);
        c0 += W;
    }
    if c0 < k {
        let rest = &mut acc[c0..k];
        rest.fill(0.0);
        for t in range {
            let j = adj.col(t);
            let f = factor(t, j);
            for (av, &v) in rest.iter_mut().zip(&x[j * k + c0..(j + 1) * k]) {
                *av += v.into() * f;
            }
        }
    }
}

/// Width of the register-held column blocks of [`gather_rows`]
/// (8 AVX2 registers), doubled on AVX-512 (8 registers there too). On a random graph
/// of 10^5 nodes with 256 columns (2 threads, the `fastrp_timing` example), 128 took
/// the AVX-512 gather steps from 76–81 to 56–66 ms (`i16` rows) and 80–103 to
/// 81–87 ms (`f32` rows) against 64, and 256 was no better; on AVX2, 128 columns (16
/// registers) gained nothing on the `f32` rows.
const LANES: usize = 64;

/// Whether the gathers take `2 · LANES` columns at a time (AVX-512).
#[inline(always)]
fn wide_lanes() -> bool {
    crate::simd::level() == crate::simd::Level::Avx512
}

/// How many stored entries ahead [`gather`] asks for the lines of a neighbour's
/// row in the current column block (into L1).
const PREFETCH_AHEAD: usize = 4;

/// How many stored entries ahead [`gather`] and [`SignRows::gather`] ask for a
/// neighbour's row (measured on random graphs of 3·10^5 nodes with 256
/// columns: 12 to 20 are alike; none is ≈ 25 % slower on one thread).
const ROW_PREFETCH_AHEAD: usize = 16;

/// How much of a neighbour's row [`gather`] asks for ahead: the first 4 lines (all of
/// an `i8` row of 256 columns). The L2 streamer fetches the rest of a longer row once
/// its head is read; asking for every line of 1 KB `f32` rows kept more requests in
/// flight than help. On a random graph of 10^5 nodes, 256 columns, 2 threads (Intel
/// VM, `fastrp_timing`), the `f32` step took 73–80 ms with the head against 85–91 ms
/// with whole rows on AVX-512 (the `i8` step 44–48 against 42–43 ms) and the same
/// (≈ 100 ms) on AVX2.
const ROW_PREFETCH_BYTES: usize = 256;

/// `f(b, rows, out_rows)` in parallel for each block `b` of [`ROW_BLOCK`] rows of `buf`
/// (`k` columns), with the same rows of `out` when there is one.
fn for_row_blocks(
    k: usize,
    buf: &mut [f32],
    out: Option<&mut [f32]>,
    f: impl Fn(usize, &mut [f32], Option<&mut [f32]>) + Sync + Send,
) {
    let size = ROW_BLOCK * k;
    match out {
        Some(o) => buf
            .par_chunks_mut(size)
            .zip(o.par_chunks_mut(size))
            .enumerate()
            .for_each(|(b, (c, o))| f(b, c, Some(o))),
        None => buf
            .par_chunks_mut(size)
            .enumerate()
            .for_each(|(b, c)| f(b, c, None)),
    }
}

/// One FastRP step, `E_i = normalize(A · E_{i-1})` with `row(i, r)` writing row `i`
/// of `A · E_{i-1}` into `r`, and the running sum `out + pending · prev + w · E_i`
/// (`prev` is `E_{i-1}`, the source of the gathers, or empty when `pending` is 0;
/// `out` absent is zeros). Not the last step: `E_i` goes to `buf`, and `out` gains
/// the `pending` term (made when needed). The last step: `E_i` is not kept, and the
/// sum goes into `out`, or into `buf` (overwritten) when there is none. The sum's
/// terms are added in step order, so every element is the same as with a sum kept
/// up to date at every step.
#[allow(clippy::too_many_arguments)]
fn step(
    k: usize,
    prev: &[f32],
    pending: f32,
    w: f32,
    buf: &mut Vec<f32>,
    out: Option<Vec<f32>>,
    last: bool,
    row: impl Fn(usize, &mut [f32]) + Sync,
) -> Result<Option<Vec<f32>>> {
    if k == 0 {
        return Ok(out);
    }
    let pending_rows = |b: usize| (pending != 0.0).then(|| &prev[b * ROW_BLOCK * k..]);
    if !last {
        let mut out = match (out, pending != 0.0) {
            (None, true) => Some(try_zeros(buf.len(), "the embedding")?),
            (out, _) => out,
        };
        let normalize = |b: usize, c: &mut [f32], o: Option<&mut [f32]>| {
            crate::dispatch!({
                for (ri, crow) in c.chunks_mut(k).enumerate() {
                    row(b * ROW_BLOCK + ri, crow);
                    let inv = inv_norm(crow);
                    for v in crow.iter_mut() {
                        *v *= inv;
                    }
                }
                if let (Some(o), Some(p)) = (o, pending_rows(b)) {
                    for (ov, &pv) in o.iter_mut().zip(p) {
                        *ov += pending * pv;
                    }
                }
            })
        };
        for_row_blocks(k, buf, out.as_deref_mut(), normalize);
        return Ok(out);
    }
    let fresh = out.is_none();
    let mut sum = match out {
        Some(o) => o,
        None => std::mem::take(buf),
    };
    sum.par_chunks_mut(ROW_BLOCK * k)
        .enumerate()
        .for_each(|(b, o)| {
            let mut e = vec![0.0f32; if w != 0.0 { k } else { 0 }];
            crate::dispatch!({
                for (ri, orow) in o.chunks_mut(k).enumerate() {
                    if fresh {
                        orow.fill(0.0);
                    }
                    if let Some(p) = pending_rows(b) {
                        for (ov, &pv) in orow.iter_mut().zip(&p[ri * k..(ri + 1) * k]) {
                            *ov += pending * pv;
                        }
                    }
                    if w != 0.0 {
                        row(b * ROW_BLOCK + ri, &mut e);
                        let inv = inv_norm(&e);
                        for (ov, &ev) in orow.iter_mut().zip(&e) {
                            *ov += w * (ev * inv);
                        }
                    }
                }
            })
        });
    Ok(Some(sum))
}

/// `E_1 = normalize(A · B)` of an unweighted graph with `β = 0`, held as integers:
/// row `j` of `A · B` is a vector of integers `c_j` (sums of `±1` over `j`'s stored
/// entries, so `|c_j| ≤ deg(j)`, exact in `f32`), and the `f32` row `E_1[j]` is
/// `fl(c_j · inv_j)` with `inv_j` computed by [`inv_norm`] from the same `f32` values.
/// Storing `c_j` as `i8` (every degree ≤ 127) or `i16` and `inv_j` once cuts the
/// bytes the next step gathers to a quarter or a half, and that step recomputes each
/// `fl(c_j · inv_j)`: the same bits as gathering the `f32` rows.
///
/// The counts live in the bytes of an `n × k` `f32` buffer, which the step after
/// the next reuses ([`CountRows::into_buffer`]): a fresh buffer's pages are zeroed
/// by the kernel as they are first touched, so the counts' pages are paid once.
struct CountRows {
    buf: Vec<f32>,
    /// `i8` counts (otherwise `i16`).
    narrow: bool,
    inv: Vec<f32>,
    k: usize,
}

/// The integer types [`CountRows`] stores: every bit pattern is a value, and their
/// alignment divides `f32`'s, so they can view an `f32` buffer's bytes.
trait Count: Copy + Into<f32> + Send + Sync + 'static + sealed::Sealed {
    /// `x`, an integer in the type's range, as `Self`.
    fn from_f32(x: f32) -> Self;
}
impl Count for i8 {
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x as i8
    }
}
impl Count for i16 {
    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x as i16
    }
}
mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for i16 {}
}

/// The bytes of `buf` as `E`s (as many as fit).
fn view<E: Count>(buf: &[f32]) -> &[E] {
    let len = std::mem::size_of_val(buf) / std::mem::size_of::<E>();
    // SAFETY: `E` is `i8` or `i16` (sealed): its alignment (1 or 2) divides `f32`'s
    // (4), every bit pattern is an `E`, and `len` `E`s span at most the buffer's
    // bytes, all initialized; the shared borrow of `buf` covers the view's lifetime.
    unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<E>(), len) }
}

/// [`view`], mutable.
fn view_mut<E: Count>(buf: &mut [f32]) -> &mut [E] {
    let len = std::mem::size_of_val(buf) / std::mem::size_of::<E>();
    // SAFETY: as in `view`; any `E` written is also a valid bit pattern of the
    // `f32`s (every bit pattern is an `f32`), and the exclusive borrow of `buf`
    // covers the view's lifetime.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<E>(), len) }
}

impl CountRows {
    /// Whether `E_1` can be held this way: every entry counts 1 (unweighted, or every
    /// stored weight is 1; no degree scales), `E_1` is not part of the output
    /// (`w_1 = 0`) and is read by a next step, and every row's count fits `i16`
    /// (degree ≤ 32767).
    fn applies(scan: &Scan, weighted: bool, scales: Option<&[f32]>, w1: f32, last: bool) -> bool {
        scales.is_none()
            && w1 == 0.0
            && !last
            && scan.max_degree <= i16::MAX as usize
            && (!weighted || scan.unit)
    }

    /// The rows `row(i, ·)` (`f32` vectors of integers of magnitude at most
    /// `max_degree` ≤ 32767) as counts and inverse norms.
    fn new(
        n: usize,
        k: usize,
        max_degree: usize,
        row: impl Fn(usize, &mut [f32]) + Sync,
    ) -> Result<Self> {
        let len = checked_mul(n, k, "embedding_dim", "n * embedding_dim")?;
        let mut buf = try_zeros::<f32>(len, "a propagation buffer")?;
        let mut inv = try_zeros::<f32>(n, "the row scales")?;
        let narrow = max_degree <= i8::MAX as usize;
        // the first `len` counts (the view holds 4 or 2 per float)
        if narrow {
            Self::fill(&mut view_mut::<i8>(&mut buf)[..len], &mut inv, k, row);
        } else {
            Self::fill(&mut view_mut::<i16>(&mut buf)[..len], &mut inv, k, row);
        }
        Ok(CountRows {
            buf,
            narrow,
            inv,
            k,
        })
    }

    /// Rows `row(i, ·)` into `counts` (`n × k`) and their inverse norms into `inv`.
    fn fill<E: Count>(
        counts: &mut [E],
        inv: &mut [f32],
        k: usize,
        row: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        if k == 0 {
            return;
        }
        counts
            .par_chunks_mut(ROW_BLOCK * k)
            .zip(inv.par_chunks_mut(ROW_BLOCK))
            .enumerate()
            .for_each(|(b, (c, s))| {
                let mut v = vec![0.0f32; k];
                crate::dispatch!({
                    for (ri, (crow, sv)) in c.chunks_mut(k).zip(s.iter_mut()).enumerate() {
                        row(b * ROW_BLOCK + ri, &mut v);
                        *sv = inv_norm(&v);
                        for (cv, &x) in crow.iter_mut().zip(&v) {
                            *cv = E::from_f32(x);
                        }
                    }
                })
            });
    }

    /// Row `i` of `A · E_1` into `acc` (edges in stored order; each term is
    /// `fl(c_j · inv_j)`, the `f32` element of `E_1`, added as [`gather`] adds it).
    #[inline(always)]
    fn gather<T: Real, I: SparseIndex>(&self, adj: &CsrRef<'_, T, I>, i: usize, acc: &mut [f32]) {
        let factor = |_, j: usize| self.inv[j];
        if self.narrow {
            gather_rows(adj, i, view::<i8>(&self.buf), self.k, factor, acc)
        } else {
            gather_rows(adj, i, view::<i16>(&self.buf), self.k, factor, acc)
        }
    }

    /// The `n × k` buffer that held the counts (its contents are stale).
    fn into_buffer(self) -> Vec<f32> {
        self.buf
    }
}

/// The sign matrix `B` of FastRP's random vectors (`R = c · B`, entries of `B` in
/// `{-1, 0, 1}`), one cache line per node: for each group of 8 columns, a byte of
/// positive and a byte of negative entries (bit `l` for column `8g + l`).
struct SignRows {
    bytes: Vec<u8>,
    /// First byte of node 0 (the rows start on a 64-byte boundary).
    start: usize,
    /// Bytes per node: `2 · ⌈dim / 8⌉` rounded up to whole cache lines.
    stride: usize,
    dim: usize,
}

/// Column groups of [`SignRows::gather`] held in registers across a row's edges.
const SIGN_BLOCK: usize = 8;

/// Byte `m` as 8 floats `[m bit 0, …, m bit 7]` of 0 and 1.
static BITS_F32: [[f32; 8]; 256] = {
    let mut t = [[0.0f32; 8]; 256];
    let mut m = 0;
    while m < 256 {
        let mut l = 0;
        while l < 8 {
            t[m][l] = ((m >> l) & 1) as f32;
            l += 1;
        }
        m += 1;
    }
    t
};

impl SignRows {
    /// `B` for `n` nodes: node `j`'s signs are column `j` of FastRP's very sparse
    /// operator (the same draws as [`FastRp::initial_vectors`]).
    fn new(p: &FastRp, n: usize) -> Result<Self> {
        let dim = p.embedding_dim;
        let stride = (2 * dim.div_ceil(8)).div_ceil(64) * 64;
        let total = checked_mul(n, stride, "embedding_dim", "n * embedding_dim")?;
        let mut bytes = try_zeros::<u8>(total + 64, "the random vectors")?;
        let start = bytes.as_ptr().align_offset(64).min(64);
        if n == 0 {
            return Ok(SignRows {
                bytes,
                start,
                stride,
                dim,
            });
        }
        let s_r = Sketch::new(Family::VerySparse { density: p.density }, dim, n, p.seed)?;
        let skip = crate::sketch::SkipLog::new(p.density);
        crate::parallel::install(|| {
            bytes[start..start + total]
                .par_chunks_mut(ROW_BLOCK * stride)
                .enumerate()
                .for_each(|(b, rows)| {
                    crate::dispatch!({
                        for (ri, row) in rows.chunks_mut(stride).enumerate() {
                            s_r.very_sparse_column(b * ROW_BLOCK + ri, &skip, |e| {
                                let r = (e & !ENTRY_SIGN) as usize;
                                let neg = usize::from(e & ENTRY_SIGN != 0);
                                row[2 * (r / 8) + neg] |= 1 << (r % 8);
                            });
                        }
                    })
                })
        })?;
        Ok(SignRows {
            bytes,
            start,
            stride,
            dim,
        })
    }

    fn row(&self, j: usize) -> &[u8] {
        let at = self.start + j * self.stride;
        &self.bytes[at..at + 2 * self.dim.div_ceil(8)]
    }

    /// Row `j` of `B` as floats.
    fn expand(&self, j: usize, out: &mut [f32]) {
        for (g, pn) in self.row(j).chunks_exact(2).enumerate() {
            let (pos, neg) = (&BITS_F32[pn[0] as usize], &BITS_F32[pn[1] as usize]);
            for (l, o) in out[8 * g..].iter_mut().take(8).enumerate() {
                *o = pos[l] - neg[l];
            }
        }
    }

    /// Row `i` of `A · diag(scales) · B` into `acc` (edges in stored order; each
    /// term `(w · scale_j) · b_jc` is exact for `b_jc ∈ {-1, 0, 1}`).
    #[inline(always)]
    fn gather<T: Real, I: SparseIndex>(
        &self,
        adj: &CsrRef<'_, T, I>,
        weighted: bool,
        scales: Option<&[f32]>,
        i: usize,
        acc: &mut [f32],
    ) {
        let range = adj.row_range(i);
        let nnz = adj.indices.len();
        let groups = self.dim.div_ceil(8);
        let mut g0 = 0;
        while g0 < groups {
            let mut a = [[0.0f32; 8]; SIGN_BLOCK];
            for t in range.clone() {
                if g0 == 0 && t + ROW_PREFETCH_AHEAD < nnz {
                    prefetch_lines::<PREFETCH_L1, _>(self.row(adj.col(t + ROW_PREFETCH_AHEAD)));
                }
                let j = adj.col(t);
                let mut f = if weighted {
                    adj.data[t].to_f64() as f32
                } else {
                    1.0
                };
                if let Some(s) = scales {
                    f *= s[j];
                }
                let signs = &self.row(j)[2 * g0..];
                match signs.get(..2 * SIGN_BLOCK) {
                    // a whole block: fixed trip counts keep `a` in registers
                    Some(block) => {
                        for (ag, pn) in a.iter_mut().zip(block.chunks_exact(2)) {
                            add_signs(ag, f, pn[0], pn[1]);
                        }
                    }
                    None => {
                        for (ag, pn) in a.iter_mut().zip(signs.chunks_exact(2)) {
                            add_signs(ag, f, pn[0], pn[1]);
                        }
                    }
                }
            }
            let end = ((g0 + SIGN_BLOCK) * 8).min(self.dim);
            for (c, v) in acc[g0 * 8..end].iter_mut().enumerate() {
                *v = a[c / 8][c % 8];
            }
            g0 += SIGN_BLOCK;
        }
    }
}

/// Bytes of a sign row read per block by [`SignRows::count_gather`] (32 column
/// groups: 256 columns).
const COUNT_BLOCK: usize = 64;

impl SignRows {
    /// Row `i` of `A · B` when every stored entry counts 1: the same values as
    /// [`SignRows::gather`] with unit factors (integers, exact in `f32`), by
    /// bit-sliced counters. The row's bits are added into `L` bit planes (a ripple of
    /// AND / XOR over whole words: 3 word operations per plane, for 512 bits of signs
    /// at once), so plane `b` holds bit `b` of every column's count of positive and of
    /// negative entries; the counts are read out once per row. `L` is the number of
    /// bits of the row's entry count.
    #[inline(always)]
    fn count_gather<T: Real, I: SparseIndex>(
        &self,
        adj: &CsrRef<'_, T, I>,
        i: usize,
        acc: &mut [f32],
    ) {
        let deg = adj.row_range(i).len();
        match usize::BITS - deg.leading_zeros() {
            0..=3 => self.count_planes::<T, I, 3>(adj, i, acc),
            4..=5 => self.count_planes::<T, I, 5>(adj, i, acc),
            6..=7 => self.count_planes::<T, I, 7>(adj, i, acc),
            8..=10 => self.count_planes::<T, I, 10>(adj, i, acc),
            // rows of more than 2^15 - 1 entries do not come here (CountRows::applies)
            _ => self.count_planes::<T, I, 15>(adj, i, acc),
        }
    }

    /// [`SignRows::count_gather`] with `L` planes (the row has fewer than `2^L`
    /// entries).
    #[inline(always)]
    fn count_planes<T: Real, I: SparseIndex, const L: usize>(
        &self,
        adj: &CsrRef<'_, T, I>,
        i: usize,
        acc: &mut [f32],
    ) {
        const W: usize = COUNT_BLOCK / 8;
        let range = adj.row_range(i);
        let nnz = adj.indices.len();
        let blocks = (2 * self.dim.div_ceil(8)).div_ceil(COUNT_BLOCK);
        for blk in 0..blocks {
            let mut planes = [[0u64; W]; L];
            for t in range.clone() {
                if blk == 0 && t + ROW_PREFETCH_AHEAD < nnz {
                    prefetch_lines::<PREFETCH_L1, _>(self.row(adj.col(t + ROW_PREFETCH_AHEAD)));
                }
                // whole blocks lie inside the row's stride (a multiple of the block)
                let at = self.start + adj.col(t) * self.stride + blk * COUNT_BLOCK;
                let bytes = &self.bytes[at..at + COUNT_BLOCK];
                let mut carry = [0u64; W];
                for (c, b) in carry.iter_mut().zip(bytes.chunks_exact(8)) {
                    *c = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                }
                // plane by plane over all the block's words, which vectorizes (word by
                // word, each word's ripple through the planes did not): the counts of
                // 10^5 nodes took 110 ms before and 74 ms after on one thread, on
                // AVX-512 and on AVX2 alike (Intel VM)
                for p in planes.iter_mut() {
                    for (pw, cw) in p.iter_mut().zip(carry.iter_mut()) {
                        let c = *pw & *cw;
                        *pw ^= *cw;
                        *cw = c;
                    }
                }
            }
            // group g's positive byte is byte 2g of the block, its negative byte 2g + 1
            for g in 0..COUNT_BLOCK / 2 {
                let c0 = (blk * COUNT_BLOCK / 2 + g) * 8;
                if c0 >= self.dim {
                    break;
                }
                let mut v = [0.0f32; 8];
                for (b, p) in planes.iter().enumerate() {
                    let word = p[g / 4] >> (16 * (g % 4));
                    let (pos, neg) = (
                        &BITS_F32[word as u8 as usize],
                        &BITS_F32[(word >> 8) as u8 as usize],
                    );
                    let scale = (1u32 << b) as f32;
                    for l in 0..8 {
                        v[l] += scale * (pos[l] - neg[l]);
                    }
                }
                let end = (c0 + 8).min(self.dim);
                acc[c0..end].copy_from_slice(&v[..end - c0]);
            }
        }
    }
}

/// `a[l] += f · (bit l of pos − bit l of neg)` for the 8 columns of one group.
#[inline(always)]
fn add_signs(a: &mut [f32; 8], f: f32, pos: u8, neg: u8) {
    let (p, q) = (&BITS_F32[usize::from(pos)], &BITS_F32[usize::from(neg)]);
    for l in 0..8 {
        a[l] += f * (p[l] - q[l]);
    }
}

/// How [`propagate`] scales each row of `A · X`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowScale {
    /// `A · X` as is.
    Sum,
    /// Divided by the row's weight sum (`D⁻¹ A X`; zero rows stay zero).
    Mean,
    /// Each row scaled to unit L2 norm (FastRP's step).
    L2,
}

/// `A · X` (`n × k`, row-major `f32`; `A` is `n × m`, `X` is `m × k`) with rows scaled
/// as `scale` says; same bits for any thread count. The weights must be finite and
/// non-negative (as for FastRP); `A` may be rectangular (a relation between two node
/// types).
pub fn propagate<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    weighted: bool,
    x: MatRef<'_, f32>,
    scale: RowScale,
) -> Result<Vec<f32>> {
    scan(adj, false)?;
    if x.rows() != adj.cols {
        return Err(SketchError::ShapeMismatch(format!(
            "X has {} rows, the adjacency {} columns",
            x.rows(),
            adj.cols
        )));
    }
    let (n, k) = (adj.rows, x.cols());
    // A contiguous copy of X (row gathers want contiguous rows at a fixed stride).
    let mut xs = try_zeros(checked_mul(x.rows(), k, "X", "X size")?, "X")?;
    for (r, dst) in xs.chunks_exact_mut(k.max(1)).enumerate().take(x.rows()) {
        match x.row_slice(r) {
            Some(src) => dst.copy_from_slice(src),
            None => dst
                .iter_mut()
                .enumerate()
                .for_each(|(c, v)| *v = x.get(r, c)),
        }
    }
    let xs = &xs[..];
    if !crate::finite::slice_all_finite(xs) {
        return Err(SketchError::NonFinite { arg: "X" });
    }
    let len = checked_mul(n, k, "X", "n * k")?;
    crate::parallel::install(|| {
        let mut out = try_zeros(len, "the propagated features")?;
        if k == 0 {
            return Ok(out);
        }
        out.par_chunks_mut(ROW_BLOCK * k)
            .enumerate()
            .for_each(|(b, c)| {
                crate::dispatch!({
                    for (ri, crow) in c.chunks_mut(k).enumerate() {
                        let i = b * ROW_BLOCK + ri;
                        gather(adj, weighted, i, xs, k, crow);
                        let f = match scale {
                            RowScale::Sum => 1.0,
                            RowScale::L2 => inv_norm(crow),
                            RowScale::Mean => {
                                let mut s = 0.0f64;
                                for t in adj.row_range(i) {
                                    s += if weighted { adj.data[t].to_f64() } else { 1.0 };
                                }
                                if s > 0.0 {
                                    (1.0 / s) as f32
                                } else {
                                    0.0
                                }
                            }
                        };
                        if f != 1.0 {
                            for v in crow.iter_mut() {
                                *v *= f;
                            }
                        }
                    }
                })
            });
        Ok(out)
    })?
}

/// The adjacency's checks: square, finite non-negative weights and, for an undirected
/// graph, symmetric (every stored `(i, j, w)` has a stored `(j, i, w)`; rows must
/// hold distinct column indices: SciPy's canonical format).
pub fn check_adjacency<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    undirected: bool,
) -> Result<()> {
    adjacency_scan(adj, undirected).map(|_| ())
}

/// [`check_adjacency`], returning what its pass found.
fn adjacency_scan<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    undirected: bool,
) -> Result<Scan> {
    if adj.rows != adj.cols {
        return Err(SketchError::arg(
            "adjacency",
            format!("must be square, got shape ({}, {})", adj.rows, adj.cols),
        ));
    }
    scan(adj, undirected)
}

/// What [`scan`]'s pass over the stored entries found besides the checks.
#[derive(Clone, Copy, Debug)]
struct Scan {
    /// Every stored weight is 1.
    unit: bool,
    /// The largest number of stored entries in a row.
    max_degree: usize,
}

/// A row range's share of [`scan`]: non-finite weight, negative weight, all weights
/// 1, the longest row, and the fingerprints of the entries and of their mirrors.
type ScanPart = (bool, bool, bool, usize, u64, u64);

/// [`ScanPart`] of no rows.
const SCAN_NONE: ScanPart = (false, false, true, 0, 0, 0);

/// Rows per parallel task of [`scan`].
const SCAN_ROWS: usize = 1024;

/// [`scan`] of the given rows: each row's weights, then its fingerprints, in loops
/// the compiler vectorizes.
#[inline(always)]
fn scan_rows<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    rows: std::ops::Range<usize>,
    undirected: bool,
) -> ScanPart {
    let (mut nf, mut neg, mut unit, mut deg, mut f, mut b) = SCAN_NONE;
    for i in rows {
        let range = adj.row_range(i);
        deg = deg.max(range.len());
        let (cols, data) = (&adj.indices[range.clone()], &adj.data[range]);
        for &w in data {
            nf |= !w.is_finite();
            neg |= w.to_f64() < 0.0;
            unit &= w.to_f64() == 1.0;
        }
        if undirected {
            // A = Aᵀ exactly when the stored entries (i, j, w) and their mirrors
            // (j, i, w) form the same multiset (rows hold distinct columns):
            // order-independent fingerprints
            for (&j, &w) in cols.iter().zip(data) {
                let (j, w) = (j.to_usize().unwrap_or(0) as u64, w.to_f64().to_bits());
                f = f.wrapping_add(entry_hash(i as u64, j, w));
                b = b.wrapping_add(entry_hash(j, i as u64, w));
            }
        }
    }
    (nf, neg, unit, deg, f, b)
}

/// Finite, non-negative stored weights and, when `undirected` (`A` square), a
/// symmetric `A`, or an error naming `adjacency`; also the facts
/// [`CountRows::applies`] needs. One parallel pass over the stored entries.
fn scan<T: Real, I: SparseIndex>(adj: &CsrRef<'_, T, I>, undirected: bool) -> Result<Scan> {
    let n = adj.rows;
    let (non_finite, negative, unit, max_degree, fwd, bwd) = crate::parallel::install(|| {
        (0..n.div_ceil(SCAN_ROWS))
            .into_par_iter()
            .map(|c| {
                let rows = c * SCAN_ROWS..((c + 1) * SCAN_ROWS).min(n);
                crate::dispatch!(scan_rows(adj, rows, undirected))
            })
            .reduce(
                || SCAN_NONE,
                |x, y| {
                    (
                        x.0 | y.0,
                        x.1 | y.1,
                        x.2 & y.2,
                        x.3.max(y.3),
                        x.4.wrapping_add(y.4),
                        x.5.wrapping_add(y.5),
                    )
                },
            )
    })?;
    if non_finite {
        return Err(SketchError::NonFinite { arg: "adjacency" });
    }
    if negative {
        return Err(SketchError::arg(
            "adjacency",
            "holds a negative edge weight; FastRP takes non-negative weights",
        ));
    }
    if fwd != bwd {
        // look for the faulty edge only now (for the message)
        let fault = crate::parallel::install(|| {
            (0..n)
                .into_par_iter()
                .with_min_len(256)
                .map(|i| symmetric_row(adj, i))
                .reduce(|| None, |a, b| a.or(b))
        })?;
        return Err(match fault {
            None => SketchError::arg(
                "adjacency",
                "is not symmetric, or a row holds one column twice (an undirected graph needs \
                 each edge stored once per direction with equal weights: SciPy's canonical \
                 format, A.sum_duplicates())",
            ),
            Some((i, j)) => SketchError::arg(
                "adjacency",
                format!(
                    "is not symmetric: edge ({i}, {j}) has no reverse edge of equal weight; pass \
                     directed=True, or symmetrize it (A.maximum(A.T))"
                ),
            ),
        });
    }
    Ok(Scan { unit, max_degree })
}

/// A 64-bit mix of one stored entry (SplitMix64's finalizer over the three words).
#[inline(always)]
fn entry_hash(i: u64, j: u64, w: u64) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(mix(i ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(j)).wrapping_add(w))
}

/// The first stored `(i, j, w)` of row `i` without a stored `(j, i, w)` (linear search
/// of row `j`: this runs only to name the fault).
fn symmetric_row<T: Real, I: SparseIndex>(
    adj: &CsrRef<'_, T, I>,
    i: usize,
) -> Option<(usize, usize)> {
    for t in adj.row_range(i) {
        let (j, w) = (adj.col(t), adj.data[t].to_f64());
        let found = adj
            .row_range(j)
            .any(|u| adj.col(u) == i && adj.data[u].to_f64() == w);
        if !found {
            return Some((i, j));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random symmetric graph with unit weights, an isolated node and, with `hub`, a
    /// node linked to every other but node 0.
    fn unit_graph(n: usize, hub: bool) -> (Vec<i32>, Vec<i32>, Vec<f32>) {
        let mut rows = vec![Vec::new(); n];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..6 * n {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let (u, v) = ((state >> 33) as usize % n, (state >> 13) as usize % n);
            if u != v && u != 0 && v != 0 {
                rows[u].push(v as i32);
                rows[v].push(u as i32);
            }
        }
        if hub {
            for v in 2..n {
                rows[1].push(v as i32);
                rows[v].push(1);
            }
        }
        let (mut indptr, mut indices) = (vec![0i32], Vec::new());
        for r in &mut rows {
            r.sort_unstable();
            r.dedup();
            indices.extend_from_slice(r);
            indptr.push(indices.len() as i32);
        }
        let data = vec![1.0f32; indices.len()];
        (indptr, indices, data)
    }

    #[test]
    fn count_rows_gather_the_bits_of_the_f32_rows() {
        let n = 300;
        // with the hub (degree 298) the counts are i16, without it i8
        for hub in [true, false] {
            let (indptr, indices, data) = unit_graph(n, hub);
            let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
            let scan = adjacency_scan(&adj, true).unwrap();
            assert!(scan.unit);
            assert_eq!(scan.max_degree > 127, hub);
            for k in [256, 200, 8, 520] {
                let p = FastRp::new(k, 3);
                let signs = SignRows::new(&p, n).unwrap();
                let row = |i: usize, r: &mut [f32]| {
                    crate::dispatch!(signs.gather(&adj, true, None, i, r))
                };
                let counted =
                    |i: usize, r: &mut [f32]| crate::dispatch!(signs.count_gather(&adj, i, r));
                assert!(CountRows::applies(&scan, true, None, 0.0, false));
                let mut e1 = try_zeros(n * k, "e1").unwrap();
                step(k, &[], 0.0, 0.0, &mut e1, None, false, row).unwrap();
                let counts = CountRows::new(n, k, scan.max_degree, counted).unwrap();
                assert_eq!(counts.narrow, !hub);
                let (mut a, mut b) = (vec![0.0f32; k], vec![0.0f32; k]);
                for i in 0..n {
                    // the bit-sliced counts are the float sums
                    row(i, &mut a);
                    counted(i, &mut b);
                    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
                    crate::dispatch!(gather(&adj, true, i, &e1, k, &mut a));
                    crate::dispatch!(counts.gather(&adj, i, &mut b));
                    assert!(
                        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "k = {k}, hub {hub}, row {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn count_rows_apply_only_to_unit_counts_that_fit() {
        let n = 50;
        let (indptr, indices, mut data) = unit_graph(n, true);
        let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
        let scan = adjacency_scan(&adj, true).unwrap();
        assert_eq!(scan.max_degree, n - 2); // the hub
        assert!(CountRows::applies(&scan, true, None, 0.0, false));
        assert!(!CountRows::applies(&scan, true, None, 0.5, false)); // E_1 in the output
        assert!(!CountRows::applies(&scan, true, None, 0.0, true)); // no next step
        assert!(!CountRows::applies(
            &scan,
            true,
            Some(&[1.0; 50]),
            0.0,
            false
        ));
        // one weight 2 and its mirror: still symmetric, no longer unit
        let (u, v) = (indptr[7] as usize, indices[indptr[7] as usize] as usize);
        let back = (indptr[v]..indptr[v + 1])
            .find(|&t| indices[t as usize] == 7)
            .unwrap() as usize;
        data[u] = 2.0;
        data[back] = 2.0;
        let adj = CsrRef::new(n, n, &indptr, &indices, &data).unwrap();
        let scan = adjacency_scan(&adj, true).unwrap();
        assert!(!scan.unit);
        assert!(!CountRows::applies(&scan, true, None, 0.0, false));
        assert!(CountRows::applies(&scan, false, None, 0.0, false));
        // a row of 32768 entries does not fit i16
        let m = 1 << 15;
        let indptr = [0, m as i32, m as i32];
        let indices = vec![0i32; m];
        let ones = vec![1.0f32; m];
        let adj = CsrRef::new(2, 2, &indptr, &indices, &ones).unwrap();
        let scan = adjacency_scan(&adj, false).unwrap();
        assert_eq!(scan.max_degree, m);
        assert!(!CountRows::applies(&scan, false, None, 0.0, false));
    }
}
