//! GPU backend for `sketchkit`: the same operators — the same entries from the same
//! Philox streams — applied with wgpu compute shaders (WGSL; Vulkan, Metal or D3D12).
//!
//! The backend implements [`sketchkit::Backend`] and consumes the operator's
//! [`Plan`](sketchkit::Plan); it never re-derives an operator:
//!
//! | family | on the device | agreement with the CPU |
//! |---|---|---|
//! | very sparse, sparse sign, CountSketch | owner-computes gathers over the core's transposed index lists (sliced ELL, uploaded once per operator direction, no atomics), rows staged in workgroup memory | bit-identical |
//! | SRHT | sign flip, FWHT, sampled rows | bit-identical |
//! | FWHT | workgroup-memory butterflies up to 4096, register passes above | bit-identical |
//! | Rademacher | entries generated in tiles from WGSL Philox | entries bit-identical; sums within float32 rounding |
//! | Gaussian | as Rademacher, Box–Muller in float32 | entries within 2e-6 relative; sums within float32 rounding |
//!
//! "Bit-identical" assumes the device keeps subnormal numbers (most do for float32
//! add/sub; a device that flushes them to zero differs only on subnormal values).
//! The multiply-add chains of the dense families may or may not be fused on a given
//! device (WGSL leaves `fma` to the implementation), hence "within rounding".
//!
//! Everything runs in `float32`. Inputs are streamed in row chunks that fit the
//! device's storage-buffer limit (at most [`DEFAULT_CHUNK_BYTES`] per buffer unless
//! [`Options::max_chunk_bytes`] says otherwise); results do not depend on the
//! chunking. The device, the pipelines and the buffers are created once and reused;
//! calls from several threads are serialized on one lock.
//!
//! ```no_run
//! use sketchkit::{Backend, Family, MatMut, MatRef, Sketch};
//! let gpu = sketchkit_gpu::Gpu::shared().unwrap();
//! let s = Sketch::new(Family::SparseSign { nnz: 8 }, 256, 4096, 7).unwrap();
//! let x = vec![1.0f32; 10 * 4096];
//! let mut y = vec![0.0f32; 10 * 256];
//! gpu.project(&s, MatRef::from_row_major(&x, 10, 4096).unwrap(),
//!             MatMut::from_row_major(&mut y, 10, 256).unwrap()).unwrap();
//! ```
//!
//! The crate is split by concern: `device` (opening the adapter, limits, the fork
//! check, error scopes), `cache` (operators' data on the device, per direction, within
//! a byte budget), `transfer` (chunked uploads and downloads, scratch buffers,
//! timings), `layout` (sliced-ELL forms of the core's index lists), `pipelines`
//! (WGSL modules, compute pipelines, one dispatch) and `apply` (running a
//! [`sketchkit::Plan`]: projections, adjoints, the FWHT, the SRHT).

mod apply;
mod cache;
mod device;
mod layout;
mod pipelines;
mod transfer;

pub use device::DeviceInfo;
pub use transfer::{Options, Timings, DEFAULT_CHUNK_BYTES};

use sketchkit::{MatMut, MatRef, Result, Sketch};
use std::sync::{Arc, Mutex};

/// A wgpu device with the sketch kernels compiled for it.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: DeviceInfo,
    max_binding: usize,
    /// Floats of workgroup memory the sparse kernel stages rows in.
    stage_floats: usize,
    /// The process that opened the device.
    pid: u32,
    pipes: pipelines::Pipelines,
    state: Mutex<transfer::State>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("info", &self.info).finish()
    }
}

impl Gpu {
    /// The process-wide device, created on first use and kept.
    ///
    /// # Errors
    /// [`SketchError::Device`](sketchkit::SketchError::Device) when no adapter exists
    /// (the message says why), or when `SKETCHKIT_GPU=0` switches the GPU off.
    pub fn shared() -> Result<Arc<Gpu>> {
        device::shared()
    }

    /// Whether [`Gpu::shared`] gives a device.
    pub fn available() -> bool {
        Gpu::shared().is_ok()
    }

    /// The adapter's description.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Raw Philox4x32-10 blocks computed on the device (for cross-checks).
    pub fn philox_blocks(&self, counters: &[[u32; 4]], key: [u32; 2]) -> Result<Vec<[u32; 4]>> {
        self.scoped(|| self.philox_impl(counters, key))
    }

    /// `out = X · Sᵀ` with explicit options; returns the call's phase times.
    pub fn project_with(
        &self,
        op: &Sketch,
        x: MatRef<'_, f32>,
        out: MatMut<'_, f32>,
        opts: &Options,
    ) -> Result<Timings> {
        self.scoped(|| self.apply(op, x, out, false, opts))
    }

    /// `out = Z · S` with explicit options; returns the call's phase times.
    pub fn project_adjoint_with(
        &self,
        op: &Sketch,
        z: MatRef<'_, f32>,
        out: MatMut<'_, f32>,
        opts: &Options,
    ) -> Result<Timings> {
        self.scoped(|| self.apply(op, z, out, true, opts))
    }

    /// FWHT of every row with explicit options; returns the call's phase times.
    /// Non-finite input is refused before anything is written (the core's rule,
    /// [`sketchkit::fwht::check_finite_input`]).
    pub fn fwht_rows_with(
        &self,
        x: MatMut<'_, f32>,
        normalized: bool,
        opts: &Options,
    ) -> Result<Timings> {
        sketchkit::fwht::check_len(x.cols(), "x")?;
        sketchkit::fwht::check_finite_input(x.as_ref())?;
        self.scoped(|| self.fwht_impl(x, normalized, opts))
    }
}

impl sketchkit::Backend for Gpu {
    fn name(&self) -> String {
        format!("gpu ({}, {})", self.info.name, self.info.backend)
    }
    fn project(&self, op: &Sketch, x: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()> {
        self.project_with(op, x, out, &Options::default()).map(drop)
    }
    fn project_adjoint(&self, op: &Sketch, z: MatRef<'_, f32>, out: MatMut<'_, f32>) -> Result<()> {
        self.project_adjoint_with(op, z, out, &Options::default())
            .map(drop)
    }
    fn fwht_rows_finite(&self, x: MatMut<'_, f32>, normalized: bool) -> Result<()> {
        self.scoped(|| self.fwht_impl(x, normalized, &Options::default()))
            .map(drop)
    }
}
