//! Random feature maps `z: ℝ^d → ℝ^D` with `z(x)ᵀz(y) ≈ k(x, y)` (Rahimi & Recht,
//! "Random features for large-scale kernel machines", NIPS'07; Yu et al., "Orthogonal
//! random features", NIPS'16; Cho & Saul's arc-cosine kernel for ReLU features).
//!
//! * [`FeatureMap::Fourier`]: `z(x) = √(2/D) cos(W x + b)`, rows `ω_j` of `W` drawn from
//!   the kernel's spectral density, `b_j ~ U[0, 2π)`:
//!   - RBF `exp(−γ‖x−y‖²)`: `ω ~ N(0, 2γ I)`;
//!   - Laplacian `exp(−γ‖x−y‖₁)`: coordinates `ω_i ~ Cauchy(0, γ)`;
//!   - Cauchy `∏_i 1 / (1 + γ (x_i − y_i)²)`: coordinates `ω_i ~ Laplace(0, √γ)`.
//! * [`FeatureMap::Orthogonal`] (ORF, RBF): blocks of `d` rows `√(2γ) · S Q`, `Q` a
//!   Haar-random orthogonal matrix (QR of a Gaussian block, signs fixed), `S` diagonal
//!   with χ_d entries (norms of independent Gaussian vectors), so each row is marginally
//!   `N(0, 2γ I)` and rows of one block are exactly orthogonal.
//! * [`FeatureMap::Structured`] (SORF, RBF): blocks of `d' = 2^⌈log₂ d⌉` rows
//!   `√(2γ d') · H D₃ H D₂ H D₁` (normalized `H`, random sign diagonals `D_i`) applied
//!   to the zero-padded input with three fast Walsh–Hadamard transforms: `O(d' log d')`
//!   per block and no stored matrix. Rows of one block are exactly orthogonal.
//! * [`FeatureMap::Relu`]: `z(x) = √(2/D) max(0, W x)`, `ω ~ N(0, I)`, whose inner
//!   products approximate the arc-cosine kernel of degree one,
//!   `k(x, y) = ‖x‖‖y‖ (sin θ + (π − θ) cos θ) / π`.
//!
//! Every map takes the weight distribution `ω = μ 1 + s ω₀` (`s` = `weight_scale`, `μ`
//! = `weight_mean`, `ω₀` the kernel's draw above). With `s ≠ 1` or `μ ≠ 0` a Fourier
//! map approximates `cos(μ 1ᵀ(x−y)) · k(s (x − y))` instead.
//!
//! Randomness: row `j` of a Fourier/ReLU `W` is the stream `(seed, RANDOM_FEATURES, j)`;
//! offsets, ORF blocks and SORF signs use their own index ranges of that tag. The
//! transform is one fused pass (projection, then the cosine or ReLU on each block of
//! rows while it is in cache), parallel over fixed row blocks: bit-identical results
//! for any thread count.

use crate::error::{checked_mul, try_vec, Result, SketchError};
use crate::fwht;
use crate::rng::{gaussians4, open01, sign_bit, sign_bits, tag, Stream};
use crate::view::{MatMut, MatRef};
use crate::Real;
use rayon::prelude::*;

/// Index of the offsets stream (one sequential stream).
const OFFSET_INDEX: u64 = 1 << 48;
/// First index of the ORF streams (Gaussian block rows, then χ norms).
const ORF_BASE: u64 = 2 << 48;
/// First index of the SORF sign streams (`3 · block + round`).
const SORF_BASE: u64 = 3 << 48;
/// Rows per parallel task of the structured transform.
const SORF_ROWS: usize = 16;

/// The feature map family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureMap {
    /// Random Fourier features with i.i.d. rows.
    Fourier,
    /// Orthogonal random features (RBF kernel).
    Orthogonal,
    /// Structured orthogonal random features `H D₃ H D₂ H D₁` (RBF kernel).
    Structured,
    /// Random ReLU features (arc-cosine kernel of degree one).
    Relu,
}

/// The shift-invariant kernel a Fourier map approximates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// `exp(−γ‖x−y‖²)`.
    Rbf,
    /// `exp(−γ‖x−y‖₁)`.
    Laplacian,
    /// `∏_i 1 / (1 + γ (x_i − y_i)²)`.
    Cauchy,
}

impl FeatureMap {
    /// The map named `name` (`fourier`, `orthogonal`, `structured`, `relu`).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "fourier" => FeatureMap::Fourier,
            "orthogonal" => FeatureMap::Orthogonal,
            "structured" => FeatureMap::Structured,
            "relu" => FeatureMap::Relu,
            _ => {
                return Err(SketchError::arg(
                    "map",
                    format!(
                        "unknown feature map {name:?}; expected one of 'fourier', \
                         'orthogonal', 'structured', 'relu'"
                    ),
                ))
            }
        })
    }
}

impl Kernel {
    /// The kernel named `name` (`rbf`, `laplacian`, `cauchy`).
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "rbf" => Kernel::Rbf,
            "laplacian" => Kernel::Laplacian,
            "cauchy" => Kernel::Cauchy,
            _ => {
                return Err(SketchError::arg(
                    "kernel",
                    format!(
                        "unknown kernel {name:?}; expected one of 'rbf', 'laplacian', 'cauchy'"
                    ),
                ))
            }
        })
    }
    /// The exact kernel value for two vectors of equal length.
    pub fn value(self, gamma: f64, x: &[f64], y: &[f64]) -> f64 {
        let it = x.iter().zip(y).map(|(a, b)| a - b);
        match self {
            Kernel::Rbf => (-gamma * it.map(|t| t * t).sum::<f64>()).exp(),
            Kernel::Laplacian => (-gamma * it.map(f64::abs).sum::<f64>()).exp(),
            Kernel::Cauchy => it.map(|t| 1.0 / (1.0 + gamma * t * t)).product(),
        }
    }
}

/// A fitted random feature map (see the module documentation).
#[derive(Clone, Debug)]
pub struct RandomFeatures {
    map: FeatureMap,
    kernel: Kernel,
    d: usize,
    n_components: usize,
    gamma: f64,
    weight_scale: f64,
    weight_mean: f64,
    seed: u64,
    /// `D × d` row-major weights (Fourier, Orthogonal, ReLU); empty for Structured.
    weights: Vec<f64>,
    /// `D` phases in `[0, 2π)`; empty for ReLU.
    offsets: Vec<f64>,
    /// Structured: `3 · blocks` sign vectors of length `dim`.
    signs: Vec<Vec<u64>>,
    /// Structured: the padded order `d'`.
    dim: usize,
}

impl RandomFeatures {
    /// Builds the map for inputs of `d` features and `n_components` outputs.
    ///
    /// Errors name the argument: `d`, `n_components` (≥ 1; `n_components · d` must fit),
    /// `gamma` (finite, > 0), `weights` (`weight_scale` finite and > 0, `weight_mean`
    /// finite),
    /// `kernel` (ORF and SORF approximate the RBF kernel only).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        map: FeatureMap,
        kernel: Kernel,
        d: usize,
        n_components: usize,
        gamma: f64,
        weight_scale: f64,
        weight_mean: f64,
        seed: u64,
    ) -> Result<Self> {
        if d == 0 {
            return Err(SketchError::arg(
                "d",
                "the number of features must be at least 1",
            ));
        }
        if n_components == 0 {
            return Err(SketchError::arg("n_components", "must be at least 1"));
        }
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(SketchError::arg(
                "gamma",
                format!("must be a finite number > 0, got {gamma}"),
            ));
        }
        if !(weight_scale.is_finite() && weight_scale > 0.0) {
            return Err(SketchError::arg(
                "weights",
                format!("the scale must be a finite number > 0, got {weight_scale}"),
            ));
        }
        if !weight_mean.is_finite() {
            return Err(SketchError::arg(
                "weights",
                format!("the mean must be a finite number, got {weight_mean}"),
            ));
        }
        if matches!(map, FeatureMap::Orthogonal | FeatureMap::Structured) && kernel != Kernel::Rbf {
            return Err(SketchError::arg(
                "kernel",
                "orthogonal and structured orthogonal features approximate the 'rbf' kernel \
                 only (their rows are Gaussian in distribution)",
            ));
        }
        if map == FeatureMap::Structured && d > fwht::MAX_LEN {
            return Err(SketchError::overflow(
                "d",
                format!("d={d} exceeds 2^30, the largest Hadamard order"),
            ));
        }
        let len = checked_mul(n_components, d, "n_components", "n_components * d")?;
        let mut rf = RandomFeatures {
            map,
            kernel,
            d,
            n_components,
            gamma,
            weight_scale,
            weight_mean,
            seed,
            weights: Vec::new(),
            offsets: Vec::new(),
            signs: Vec::new(),
            dim: d.next_power_of_two(),
        };
        if map != FeatureMap::Relu {
            let mut s = Stream::new(seed, tag::RANDOM_FEATURES, OFFSET_INDEX);
            rf.offsets = try_vec(n_components, 0.0, "random offsets")?;
            for b in rf.offsets.iter_mut() {
                *b = std::f64::consts::TAU * open01(s.next_u64());
            }
        }
        match map {
            FeatureMap::Fourier | FeatureMap::Relu => {
                rf.weights = try_vec(len, 0.0, "random weights")?;
                let kernel = if map == FeatureMap::Relu {
                    None
                } else {
                    Some(kernel)
                };
                let (s, m) = (weight_scale, weight_mean);
                crate::parallel::install(|| {
                    rf.weights
                        .par_chunks_mut(d)
                        .enumerate()
                        .for_each(|(j, row)| draw_row(kernel, gamma, seed, j as u64, row));
                })?;
                if s != 1.0 || m != 0.0 {
                    rf.weights.iter_mut().for_each(|w| *w = m + s * *w);
                }
            }
            FeatureMap::Orthogonal => {
                rf.weights = try_vec(len, 0.0, "random weights")?;
                let blocks = n_components.div_ceil(d);
                let (s, m) = (weight_scale, weight_mean);
                let sg = (2.0 * gamma).sqrt();
                for t in 0..blocks {
                    let q = orthogonal_block(seed, t, d)?;
                    let rows = d.min(n_components - t * d);
                    for i in 0..rows {
                        let chi = chi_norm(seed, (t * 2 * d + d + i) as u64, d);
                        let dst = &mut rf.weights[(t * d + i) * d..(t * d + i + 1) * d];
                        for (c, w) in dst.iter_mut().enumerate() {
                            *w = m + s * sg * chi * q[i * d + c];
                        }
                    }
                }
            }
            FeatureMap::Structured => {
                let blocks = n_components.div_ceil(rf.dim);
                rf.signs = (0..3 * blocks)
                    .map(|i| sign_bits(seed, tag::RANDOM_FEATURES, SORF_BASE + i as u64, rf.dim))
                    .collect::<Result<_>>()?;
            }
        }
        Ok(rf)
    }

    /// The map family.
    pub fn map(&self) -> FeatureMap {
        self.map
    }
    /// The kernel (Fourier maps).
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }
    /// Input features `d`.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Output features `D`.
    pub fn n_components(&self) -> usize {
        self.n_components
    }
    /// The kernel parameter γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The phases `b` (`D` values in `[0, 2π)`); empty for ReLU features.
    pub fn offsets(&self) -> &[f64] {
        &self.offsets
    }

    /// The weights `W` (`D × d`, row-major) such that the map is `z(x) = f(W x + b)`;
    /// materialized for SORF (which never stores them to transform).
    pub fn weights(&self) -> Result<Vec<f64>> {
        if self.map != FeatureMap::Structured {
            let mut w = try_vec(self.weights.len(), 0.0, "random weights")?;
            w.copy_from_slice(&self.weights);
            return Ok(w);
        }
        let (d, nc) = (self.d, self.n_components);
        let len = checked_mul(nc, d, "n_components", "n_components * d")?;
        let mut w = try_vec(len, 0.0, "random weights")?;
        let signs = self.sign_values::<f64>()?;
        let mut e = try_vec(self.dim, 0.0f64, "a basis vector")?;
        let mut buf = try_vec(self.dim, 0.0f64, "a row buffer")?;
        let mut col = try_vec(nc, 0.0f64, "a weight column")?;
        let mult = self.structured_mult::<f64>();
        for c in 0..d {
            // Column c of W: the structured rows applied to the basis vector e_c.
            e.fill(0.0);
            e[c] = 1.0;
            for (t, chunk) in col.chunks_mut(self.dim).enumerate() {
                self.structured_block(&signs, &e, &mut buf, t);
                for (o, &v) in chunk.iter_mut().zip(&buf) {
                    *o = mult * v;
                }
            }
            for (j, &v) in col.iter().enumerate() {
                w[j * d + c] = v + self.weight_mean;
            }
        }
        Ok(w)
    }

    /// The signs `D₁, D₂, D₃` of every block as `±1` values (`3 · blocks · d'`), so
    /// that the flips are element-wise products (exact, and vectorized).
    fn sign_values<T: Real>(&self) -> Result<Vec<T>> {
        let mut v = try_vec(self.signs.len() * self.dim, T::ONE, "SORF signs")?;
        for (dst, bits) in v.chunks_mut(self.dim).zip(&self.signs) {
            for (j, s) in dst.iter_mut().enumerate() {
                *s = T::ONE.neg_if(sign_bit(bits, j));
            }
        }
        Ok(v)
    }

    /// `buf = H D₃ H D₂ H D₁ src` for block `t` (unnormalized `H`), `src` the
    /// zero-padded input row (`d'`), `signs` from [`Self::sign_values`]. `D₁` is applied
    /// while the row is copied in, `D₂` and `D₃` in place.
    #[inline(always)]
    fn structured_block<T: Real>(&self, signs: &[T], src: &[T], buf: &mut [T], t: usize) {
        let dim = self.dim;
        let rounds = &signs[3 * t * dim..(3 * t + 3) * dim];
        for ((v, &x), &s) in buf.iter_mut().zip(src).zip(&rounds[..dim]) {
            *v = x * s;
        }
        fwht::transform_slice(buf);
        for round in rounds[dim..].chunks_exact(dim) {
            for (v, &s) in buf.iter_mut().zip(round) {
                *v = *v * s;
            }
            fwht::transform_slice(buf);
        }
    }

    /// The factor `s √(2γ) / d'` that makes [`Self::structured_block`] the rows `ω_j`.
    fn structured_mult<T: Real>(&self) -> T {
        T::from_f64(self.weight_scale * (2.0 * self.gamma).sqrt() / self.dim as f64)
    }

    /// `out[j] = amp · cos(ω_jᵀ x + shift + b_j)` for every structured row, `src` the
    /// zero-padded input row (`d'`), `buf` scratch of `d'`, `shift = μ Σ x` (zero when
    /// `μ = 0`). Each block's features are written once, from `buf` (in L1).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn structured_row<T: Real>(
        &self,
        signs: &[T],
        src: &[T],
        buf: &mut [T],
        out: &mut [T],
        offsets: &[T],
        shift: T,
        amp: T,
    ) {
        let dim = self.dim;
        let mult = self.structured_mult::<T>();
        for (t, chunk) in out.chunks_mut(dim).enumerate() {
            self.structured_block(signs, src, buf, t);
            for ((o, &v), &b) in chunk.iter_mut().zip(&*buf).zip(&offsets[t * dim..]) {
                *o = amp * cos_fast((mult * v + shift) + b);
            }
        }
    }

    /// `out = z(X)`: `x` is `n × d`, `out` is `n × D`. A NaN or infinity in `x` is
    /// [`SketchError::NonFinite`] for `X`.
    pub fn transform<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        let (n, d, nc) = (x.rows(), self.d, self.n_components);
        if x.cols() != d {
            return Err(SketchError::ShapeMismatch(format!(
                "X has {} features, but the feature map was fitted with {d}",
                x.cols()
            )));
        }
        if out.rows() != n || out.cols() != nc {
            return Err(SketchError::ShapeMismatch(format!(
                "out has shape ({}, {}), expected ({n}, {nc})",
                out.rows(),
                out.cols()
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let amp = T::from_f64((2.0 / nc as f64).sqrt());
        let mut offsets = try_vec(self.offsets.len(), T::ZERO, "random offsets")?;
        for (o, &b) in offsets.iter_mut().zip(&self.offsets) {
            *o = T::from_f64(b);
        }
        let finite = match self.map {
            FeatureMap::Structured => self.transform_structured(x, out, amp, &offsets)?,
            _ => {
                let mut w = try_vec(self.weights.len(), T::ZERO, "random weights")?;
                for (o, &v) in w.iter_mut().zip(&self.weights) {
                    *o = T::from_f64(v);
                }
                let wt = MatRef::from_row_major(&w, nc, d)?.t();
                let relu = self.map == FeatureMap::Relu;
                let offsets = &offsets;
                crate::parallel::install(|| {
                    // `inline(always)`: the epilogue is compiled into the GEMM's dispatched
                    // kernel, so the cosine vectorizes at the CPU's SIMD level.
                    crate::sketch::dense::gemm_then(
                        x,
                        wt,
                        out,
                        false,
                        #[inline(always)]
                        |_, block| {
                            for r in 0..block.rows() {
                                match block.row_slice_mut(r) {
                                    Some(row) if relu => relu_map(row, amp),
                                    Some(row) => cos_map(row, offsets, T::ONE, T::ZERO, amp),
                                    None if relu => {
                                        for c in 0..nc {
                                            let v = block.get(r, c);
                                            let z = if v > T::ZERO { v } else { T::ZERO };
                                            block.set(r, c, amp * z);
                                        }
                                    }
                                    None => {
                                        for (c, &b) in offsets.iter().enumerate() {
                                            let v = block.get(r, c);
                                            block.set(r, c, amp * cos_fast(v + b));
                                        }
                                    }
                                }
                            }
                        },
                    )
                })??
            }
        };
        if finite {
            Ok(())
        } else {
            Err(SketchError::NonFinite { arg: "X" })
        }
    }

    fn transform_structured<T: Real>(
        &self,
        x: MatRef<'_, T>,
        out: MatMut<'_, T>,
        amp: T,
        offsets: &[T],
    ) -> Result<bool> {
        let (n, d, nc, dim) = (x.rows(), self.d, self.n_components, self.dim);
        let signs = self.sign_values::<T>()?;
        let signs = &signs;
        let out = out.into_shared();
        let mean = T::from_f64(self.weight_mean);
        let finite = std::sync::atomic::AtomicBool::new(true);
        crate::parallel::install(|| {
            (0..n.div_ceil(SORF_ROWS))
                .into_par_iter()
                .try_for_each_init(
                    || -> Result<(Vec<T>, Vec<T>, Vec<T>)> {
                        Ok((
                            try_vec(dim, T::ZERO, "a row buffer")?,
                            try_vec(dim, T::ZERO, "a row buffer")?,
                            try_vec(nc, T::ZERO, "a feature row")?,
                        ))
                    },
                    |bufs, t| -> Result<()> {
                        let (src, buf, row) = bufs.as_mut().map_err(|e| e.clone())?;
                        let r0 = t * SORF_ROWS;
                        let r1 = (r0 + SORF_ROWS).min(n);
                        // SAFETY: task t owns output rows r0..r1; tasks are disjoint.
                        let mut o = unsafe { out.part(r0, r1, 0, nc) };
                        for r in r0..r1 {
                            match x.row_slice(r) {
                                Some(xr) => src[..d].copy_from_slice(xr),
                                None => {
                                    for (j, v) in src[..d].iter_mut().enumerate() {
                                        *v = x.get(r, j);
                                    }
                                }
                            }
                            if !crate::finite::slice_finite(&src[..d]) {
                                finite.store(false, std::sync::atomic::Ordering::Relaxed);
                            }
                            let shift = if mean != T::ZERO {
                                let mut sum = T::ZERO;
                                for &v in &src[..d] {
                                    sum += v;
                                }
                                mean * sum
                            } else {
                                T::ZERO
                            };
                            let dst = match o.row_slice_mut(r - r0) {
                                Some(dst) => dst,
                                None => &mut row[..],
                            };
                            crate::dispatch!(
                                self.structured_row(signs, src, buf, dst, offsets, shift, amp)
                            );
                            if o.row_slice_mut(r - r0).is_none() {
                                for (c, &v) in row.iter().enumerate() {
                                    o.set(r - r0, c, v);
                                }
                            }
                        }
                        Ok(())
                    },
                )
        })??;
        Ok(finite.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Row `j` of a Fourier (`kernel` given) or ReLU (`None`) weight matrix, unscaled by
/// `weight_scale`/`weight_mean`.
fn draw_row(kernel: Option<Kernel>, gamma: f64, seed: u64, j: u64, row: &mut [f64]) {
    match kernel {
        None | Some(Kernel::Rbf) => {
            let sg = if kernel.is_some() {
                (2.0 * gamma).sqrt()
            } else {
                1.0
            };
            for (b, chunk) in row.chunks_mut(4).enumerate() {
                let g = gaussians4(Stream::block_words(seed, tag::RANDOM_FEATURES, j, b as u32));
                for (dst, v) in chunk.iter_mut().zip(g) {
                    *dst = sg * v;
                }
            }
        }
        Some(Kernel::Laplacian) => {
            let mut s = Stream::new(seed, tag::RANDOM_FEATURES, j);
            for w in row.iter_mut() {
                let u = open01(s.next_u64());
                *w = gamma * (std::f64::consts::PI * (u - 0.5)).tan();
            }
        }
        Some(Kernel::Cauchy) => {
            let beta = gamma.sqrt();
            let mut s = Stream::new(seed, tag::RANDOM_FEATURES, j);
            for w in row.iter_mut() {
                let v = open01(s.next_u64()) - 0.5;
                let mag = -beta * (1.0 - 2.0 * v.abs()).ln();
                *w = if v < 0.0 { -mag } else { mag };
            }
        }
    }
}

/// The Euclidean norm of a standard Gaussian vector of length `d` (χ_d) from stream
/// `index` of the ORF range.
fn chi_norm(seed: u64, index: u64, d: usize) -> f64 {
    let mut s2 = 0.0;
    for b in 0..d.div_ceil(4) {
        let g = gaussians4(Stream::block_words(
            seed,
            tag::RANDOM_FEATURES,
            ORF_BASE + index,
            b as u32,
        ));
        for v in g.iter().take(d - 4 * b) {
            s2 += v * v;
        }
    }
    s2.sqrt()
}

/// A Haar-random `d × d` orthogonal matrix (row-major): the `Q` of the QR factorization
/// of a Gaussian block (rows from streams `ORF_BASE + 2 d t + i`), columns signed by
/// `sign(R_ii)`.
fn orthogonal_block(seed: u64, t: usize, d: usize) -> Result<Vec<f64>> {
    let len = checked_mul(d, d, "d", "d * d")?;
    let mut g = try_vec(len, 0.0, "a Gaussian block")?;
    // On the crate's pool (a row depends on its index alone).
    crate::parallel::install(|| {
        g.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
            let index = ORF_BASE + (t * 2 * d + i) as u64;
            for (b, chunk) in row.chunks_mut(4).enumerate() {
                let v = gaussians4(Stream::block_words(
                    seed,
                    tag::RANDOM_FEATURES,
                    index,
                    b as u32,
                ));
                for (dst, x) in chunk.iter_mut().zip(v) {
                    *dst = x;
                }
            }
        });
    })?;
    let m = faer::Mat::<f64>::from_fn(d, d, |i, j| g[i * d + j]);
    let qr = m.qr();
    let q = qr.compute_thin_Q();
    let r = qr.thin_R();
    let mut out = g;
    for i in 0..d {
        for j in 0..d {
            let s = if r[(j, j)] < 0.0 { -1.0 } else { 1.0 };
            out[i * d + j] = s * q[(i, j)];
        }
    }
    Ok(out)
}

/// `row[j] = amp · cos(mult · row[j] + offset[j] + shift)`.
#[inline(always)]
fn cos_map<T: Real>(row: &mut [T], offsets: &[T], mult: T, shift: T, amp: T) {
    for (v, &b) in row.iter_mut().zip(offsets) {
        *v = amp * cos_fast(mult * *v + (b + shift));
    }
}

/// `row[j] = amp · max(0, row[j])`.
#[inline(always)]
fn relu_map<T: Real>(row: &mut [T], amp: T) {
    for v in row.iter_mut() {
        *v = amp * if *v > T::ZERO { *v } else { T::ZERO };
    }
}

/// `cos(x)` in the precision of `T`, branch-free (vectorizes): `x` reduced modulo
/// `2π` by a two-part Cody–Waite subtraction, folded into `[0, π/2]` by `cos(π − a) =
/// −cos(a)`, and a Taylor polynomial in `a²` whose truncation error is below the
/// type's rounding (terms to `a¹²` for `f32`: `(π/2)¹⁴/14! < 7·10⁻⁹`; to `a²⁰` for
/// `f64`). Every step is a fused multiply-add ([`Real::mul_add`], one rounding; a
/// hardware FMA on the AVX2 and AVX-512 levels, the exact software one on the scalar
/// level), so every SIMD level gives the same bits.
/// NaN gives NaN; an argument beyond `2^22 · 2π` (`f32`) is clamped into `[−π, π]`
/// and still gives a value in `[−1, 1]`.
#[inline(always)]
pub fn cos_fast<T: Real>(x: T) -> T {
    let single = std::mem::size_of::<T>() == 4;
    let (magic, hi, lo) = if single {
        (12_582_912.0, 6.28125, 0.001_935_307_179_586_476_9)
    } else {
        (
            6_755_399_441_055_744.0,
            std::f64::consts::TAU,
            2.449_293_598_294_706_4e-16,
        )
    };
    let pi = T::from_f64(std::f64::consts::PI);
    let half_pi = T::from_f64(std::f64::consts::FRAC_PI_2);
    let magic = T::from_f64(magic);
    let k = x.mul_add(T::from_f64(1.0 / std::f64::consts::TAU), magic) - magic;
    let mut r = (-k).mul_add(T::from_f64(hi), x);
    r = (-k).mul_add(T::from_f64(lo), r);
    r = if r > pi { pi } else { r };
    r = if r < -pi { -pi } else { r };
    let a = if r < T::ZERO { -r } else { r };
    let flip = a > half_pi;
    let a = if flip { pi - a } else { a };
    let z = a * a;
    // cos a = Σ (−1)^i a^{2i} / (2i)!, Horner from the highest term kept, written out
    // (no inner loop: the loop vectorizer only vectorizes innermost loops).
    let c = |i: usize| T::from_f64(COS_TAYLOR[i]);
    let mut p = if single {
        c(6)
    } else {
        let p = c(10).mul_add(z, c(9));
        let p = p.mul_add(z, c(8));
        let p = p.mul_add(z, c(7));
        p.mul_add(z, c(6))
    };
    p = p.mul_add(z, c(5));
    p = p.mul_add(z, c(4));
    p = p.mul_add(z, c(3));
    p = p.mul_add(z, c(2));
    p = p.mul_add(z, c(1));
    p = p.mul_add(z, c(0));
    if flip {
        -p
    } else {
        p
    }
}

/// `(−1)^i / (2i)!` for `i = 0..11`.
const COS_TAYLOR: [f64; 11] = [
    1.0,
    -1.0 / 2.0,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
    1.0 / 2_432_902_008_176_640_000.0,
];
