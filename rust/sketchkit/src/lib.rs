//! # sketchkit
//!
//! Reproducible randomized sketch operators with SIMD kernels and a rayon pool.
//!
//! An operator `S` of shape `(k, d)` shrinks data while keeping its geometry
//! (`E‖Sx‖² = ‖x‖²`). Every entry is a pure function of `(seed, family, parameters,
//! index)` drawn from a Philox4x32-10 counter stream ([`rng`]), so an operator is
//! never stored, only its seed and shape, and results are bit-identical for any
//! thread count, any split of the input rows, and any SIMD level.
//!
//! Two directions, with [`LinearSketch`]:
//! * `project`: `X (n×d) → X Sᵀ (n×k)` (dimensionality reduction);
//! * `sketch`: `A (d×m) → S A (k×m)` (fewer rows);
//!
//! plus their adjoints. Inputs are borrowed views ([`MatRef`], [`CsrRef`]) of `f32` or
//! `f64` data with any strides; nothing is copied.
//!
//! ```
//! use sketchkit::{Family, LinearSketch, MatMut, MatRef, Sketch};
//! let s = Sketch::new(Family::CountSketch, 4, 6, 1).unwrap();
//! let a = [1.0f32; 6 * 2];
//! let mut out = [0.0f32; 4 * 2];
//! s.sketch(MatRef::from_row_major(&a, 6, 2).unwrap(),
//!          MatMut::from_row_major(&mut out, 4, 2).unwrap()).unwrap();
//! // CountSketch keeps the sum of signed entries: each column of A adds ±1 six times.
//! let total: f32 = out.iter().map(|v| v.abs()).sum();
//! assert!(total <= 12.0);
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod features;
pub mod finite;
pub mod fwht;
#[cfg(target_arch = "x86_64")]
mod fwht_x86;
pub mod graph;
pub mod linalg;
pub mod memory;
pub mod parallel;
pub mod quantize;
pub mod real;
pub mod rng;
pub mod rotation;
pub mod sampling;
pub mod select;
pub mod simd;
pub mod sketch;
pub mod sliced;
pub mod stream;
pub mod view;

pub use backend::{Backend, Plan};
pub use error::{Result, SketchError};
pub use finite::all_finite;
pub use parallel::{get_num_threads, set_num_threads};
pub use real::Real;
pub use sketch::{
    auto_density, CsrParts, CsrParts32, Family, FamilyKind, LinearSketch, Sketch, SparseMat,
    DEFAULT_NNZ, MIN_DENSITY_K,
};
pub use stream::{strip_rows, RowSketch};
pub use view::{CsrRef, MatMut, MatRef, SparseIndex};
