//! Compute backends: the operator reduced to data, and the trait a backend implements.
//!
//! An operator's definition lives in one place ([`crate::Sketch`]): which entries the
//! seed produces. A backend (the CPU kernels of this crate, the wgpu crate
//! `sketchkit-gpu`, a future CUDA one) never re-derives that definition; it asks the
//! operator for its [`Plan`] and applies it:
//!
//! * [`Plan::Sparse`]: the index lists of `S` by rows (for `X·Sᵀ`) and by columns
//!   (for `Z·S`), generated once by the core from the seed. Every output element is
//!   `scale · Σ ±x_j` summed in ascending `j` from zero; a backend that keeps that
//!   order reproduces the CPU's bits exactly.
//! * [`Plan::Dense`]: no data at all. Entry `(i, j)` is a pure function of
//!   `(seed, tag, j, i)` through Philox4x32-10 (see [`crate::rng`] and
//!   `sketch::dense`), so a backend generates the tiles it needs on the fly.
//! * [`Plan::Srht`]: the sampled rows and the sign bits; the rest is a Walsh–Hadamard
//!   transform whose levels run in ascending order (see [`crate::fwht`]), so a backend
//!   that keeps that order reproduces the CPU's bits exactly.

use crate::error::Result;
use crate::rng::tag;
use crate::sketch::{Family, LinearSketch, Sketch};
use crate::view::{MatMut, MatRef};

/// Bit 31 of a list entry: set when the entry is negative.
pub const ENTRY_SIGN: u32 = 1 << 31;
/// Bits 0..31 of a list entry: the index.
pub const ENTRY_INDEX: u32 = !ENTRY_SIGN;

/// Compressed index lists: list `o` is `ent[ptr[o]..ptr[o + 1]]`, indices ascending,
/// each entry `index | sign` ([`ENTRY_INDEX`], [`ENTRY_SIGN`]).
#[derive(Clone, Copy, Debug)]
pub struct Lists<'a> {
    /// Offsets, one more than the number of lists.
    pub ptr: &'a [usize],
    /// Entries.
    pub ent: &'a [u32],
}

/// The entry law of a dense family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseEntries {
    /// `N(0, 1)/√k`: entry `i` of column `j` is value `i % 4` of Philox block
    /// `i / 4` of stream `(seed, GAUSSIAN, j)` through [`crate::rng::gaussians4`].
    Gaussian,
    /// `±1/√k`: entry `i` of column `j` is bit `i % 32` of word `(i / 32) % 4` of
    /// block `i / 128` of stream `(seed, RADEMACHER, j)`, set meaning negative.
    Rademacher,
}

impl DenseEntries {
    /// The stream tag of the family.
    pub fn tag(self) -> u32 {
        match self {
            DenseEntries::Gaussian => tag::GAUSSIAN,
            DenseEntries::Rademacher => tag::RADEMACHER,
        }
    }
}

/// An operator `S` (`k × d`) as a backend needs it.
#[derive(Clone, Copy, Debug)]
pub enum Plan<'a> {
    /// Dense family generated from the seed.
    Dense {
        /// Entry law.
        entries: DenseEntries,
        /// Seed (the Philox key).
        seed: u64,
        /// Output dimension.
        k: usize,
        /// Input dimension.
        d: usize,
        /// `1/√k`.
        scale: f64,
    },
    /// Very sparse, sparse sign and CountSketch: entries `±scale`.
    Sparse {
        /// Output dimension.
        k: usize,
        /// Input dimension.
        d: usize,
        /// Magnitude of every nonzero.
        scale: f64,
        /// Lists of `S`'s rows (`k` lists of column indices).
        rows: Lists<'a>,
        /// Lists of `S`'s columns (`d` lists of row indices).
        cols: Lists<'a>,
    },
    /// `S[i, j] = (−1)^{popcount(rows[i] & j) + signs_j} · scale`.
    Srht {
        /// Output dimension.
        k: usize,
        /// Input dimension.
        d: usize,
        /// `d` rounded up to a power of two.
        dpad: usize,
        /// `1/√k`.
        scale: f64,
        /// Sampled rows of the Hadamard matrix, ascending (`k` of them).
        rows: &'a [u32],
        /// Sign bits of `D`: bit `j % 64` of word `j / 64`, set meaning −1.
        signs: &'a [u64],
    },
}

impl Sketch {
    /// The operator as a backend needs it (sparse lists are built once and kept).
    pub fn plan(&self) -> Result<Plan<'_>> {
        let (k, d) = self.shape();
        Ok(match self.family() {
            Family::Gaussian | Family::Rademacher => Plan::Dense {
                entries: self
                    .family()
                    .dense_entries()
                    .expect("a dense family has an entry law"),
                seed: self.seed(),
                k,
                d,
                scale: self.scale(),
            },
            Family::Srht => {
                let h = self.srht_parts()?;
                Plan::Srht {
                    k,
                    d,
                    dpad: h.dpad,
                    scale: h.scale(),
                    rows: &h.rows,
                    signs: &h.signs,
                }
            }
            _ => {
                let m = self
                    .sparse_mat()?
                    .expect("the remaining families are sparse");
                let csr = m.csr()?;
                Plan::Sparse {
                    k,
                    d,
                    scale: m.scale,
                    rows: Lists {
                        ptr: &csr.ptr,
                        ent: &csr.ent,
                    },
                    cols: Lists {
                        ptr: &m.csc.ptr,
                        ent: &m.csc.ent,
                    },
                }
            }
        })
    }
}

/// A place where float32 operators and transforms run. Implementations must give the
/// results the CPU gives: bit for bit where the [`Plan`] documents a fixed order of
/// operations, within float32 rounding otherwise.
pub trait Backend: Send + Sync {
    /// A short description (device and driver).
    fn name(&self) -> String;
    /// `out = X · Sᵀ` (`X`: n × d, `out`: n × k).
    fn project(&self, op: &Sketch, x: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()>;
    /// `out = Z · S` (`Z`: n × k, `out`: n × d).
    fn project_adjoint(&self, op: &Sketch, z: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()>;
    /// The Walsh–Hadamard transform of every row of `x` (row length a power of two),
    /// in place. The core's rule for in-place transforms holds for every backend:
    /// non-finite input is refused before anything is written
    /// ([`crate::fwht::check_finite_input`]); then [`Backend::fwht_rows_finite`] runs.
    fn fwht_rows(&self, x: MatMut<'_, f32>, normalized: bool) -> Result<()> {
        self.transform_rows(x, normalized, true)
    }
    /// [`Backend::fwht_rows`] with the finite check optional, as
    /// [`crate::fwht::transform_rows`]: without it non-finite input gives non-finite
    /// output and no error.
    fn transform_rows(
        &self,
        x: MatMut<'_, f32>,
        normalized: bool,
        check_finite: bool,
    ) -> Result<()> {
        crate::fwht::check_len(x.cols(), "x")?;
        if check_finite {
            crate::fwht::check_finite_input(x.as_ref())?;
        }
        self.fwht_rows_finite(x, normalized)
    }
    /// [`Backend::fwht_rows`] on input already checked to be finite.
    fn fwht_rows_finite(&self, x: MatMut<'_, f32>, normalized: bool) -> Result<()>;
}

/// This crate's SIMD + rayon kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl Backend for Cpu {
    fn name(&self) -> String {
        format!("cpu ({})", crate::simd::level().name())
    }
    fn project(&self, op: &Sketch, x: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()> {
        LinearSketch::project(op, x, out)
    }
    fn project_adjoint(&self, op: &Sketch, z: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()> {
        LinearSketch::project_adjoint(op, z, out)
    }
    fn fwht_rows_finite(&self, x: MatMut<'_, f32>, normalized: bool) -> Result<()> {
        crate::fwht::fwht_rows_finite(x, normalized)
    }
}
