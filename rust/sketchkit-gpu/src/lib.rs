//! GPU backend for `sketchkit`: the same operators — the same entries from the same
//! Philox streams — applied with wgpu compute shaders (WGSL; Vulkan, Metal or D3D12).
//!
//! The backend implements [`sketchkit::Backend`] and consumes the operator's
//! [`Plan`]; it never re-derives an operator:
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

use sketchkit::backend::{Lists, Plan};
use sketchkit::{MatMut, MatRef, Result, Sketch, SketchError};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Default cap on one storage buffer (and so on one chunk of rows).
pub const DEFAULT_CHUNK_BYTES: usize = 128 << 20;
/// Rows of one chunk at most (the grid's y extent).
const MAX_CHUNK_ROWS: usize = 65_535;
/// Operators (per direction) whose data stay on the device, and their bytes at most.
const OP_CACHE: usize = 16;
const OP_CACHE_BYTES: u64 = 1 << 30;
/// Parameter blocks per chunk (bytes apart; a multiple of every uniform alignment).
const PARAM_SLOTS: usize = 64;
const PARAM_STRIDE: u64 = 256;
/// Longest FWHT block held in workgroup memory (16 KiB of float32).
const LOCAL_FWHT: usize = 4096;

fn dev_err(msg: impl Into<String>) -> SketchError {
    SketchError::Device(msg.into())
}

/// What the adapter says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Adapter name, e.g. "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API: "vulkan", "metal" or "dx12".
    pub backend: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
}

/// Seconds spent by the last call, by phase (summed over its chunks).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Host to device (including packing rows).
    pub upload_s: f64,
    /// Kernels.
    pub kernel_s: f64,
    /// Device to host (including unpacking rows).
    pub download_s: f64,
    /// Chunks the call was split into.
    pub chunks: usize,
}

/// Per-call options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Largest storage buffer a chunk may use, in bytes (default: the smaller of the
    /// device's binding limit and [`DEFAULT_CHUNK_BYTES`]).
    pub max_chunk_bytes: Option<usize>,
    /// Sparse families: read input rows from device memory even when they fit in
    /// workgroup memory (for tests and measurements of the two kernel variants).
    pub unstaged: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    n_in: u32,
    n_out: u32,
    kind: u32,
    seed_lo: u32,
    seed_hi: u32,
    tag: u32,
    scale_bits: u32,
    h: u32,
    levels: u32,
    total: u32,
    k: u32,
    d: u32,
    pad: [u32; 3],
}

struct Pipelines {
    layout: wgpu::BindGroupLayout,
    philox: wgpu::ComputePipeline,
    lists: wgpu::ComputePipeline,
    dense: wgpu::ComputePipeline,
    fwht_local: wgpu::ComputePipeline,
    fwht_global: wgpu::ComputePipeline,
    fwht_scale: wgpu::ComputePipeline,
    srht_load: wgpu::ComputePipeline,
    srht_gather: wgpu::ComputePipeline,
    srht_scatter: wgpu::ComputePipeline,
    srht_unload: wgpu::ComputePipeline,
}

/// Identity of an operator: its definition, not its address.
#[derive(Clone, Debug, PartialEq)]
struct OpKey {
    family: &'static str,
    param_bits: u64,
    k: usize,
    d: usize,
    seed: u64,
}

impl OpKey {
    fn of(op: &Sketch) -> Self {
        let param_bits = match op.family() {
            sketchkit::Family::VerySparse { density } => density.to_bits(),
            sketchkit::Family::SparseSign { nnz } => nnz as u64,
            _ => 0,
        };
        let (k, d) = sketchkit::LinearSketch::shape(op);
        OpKey {
            family: op.family().name(),
            param_bits,
            k,
            d,
            seed: op.seed(),
        }
    }
}

/// An operator's data on the device for one direction: sparse lists (slice offsets,
/// entries) of `S`'s rows (project) or columns (adjoint); the SRHT's (sign words,
/// sampled rows); nothing for the dense families.
struct OpBuffers {
    data: Option<(wgpu::Buffer, wgpu::Buffer)>,
    bytes: u64,
}

/// A reusable device buffer that grows on demand.
struct Slot {
    usage: wgpu::BufferUsages,
    label: &'static str,
    buf: Option<wgpu::Buffer>,
}

impl Slot {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Slot {
            usage,
            label,
            buf: None,
        }
    }
    fn get(&mut self, device: &wgpu::Device, bytes: usize) -> &wgpu::Buffer {
        // Sizes are multiples of 4 already (float32 or u32 data); never round past the
        // request, which the callers keep within the device's binding limit.
        let bytes = (bytes.max(16) as u64).next_multiple_of(4);
        if self.buf.as_ref().is_none_or(|b| b.size() < bytes) {
            self.buf = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: bytes,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buf.as_ref().expect("created above")
    }
}

struct State {
    input: Slot,
    work: Slot,
    output: Slot,
    readback: Slot,
    params: wgpu::Buffer,
    dummy: wgpu::Buffer,
    ops: VecDeque<((OpKey, bool), Arc<OpBuffers>)>,
    staging: Vec<f32>,
}

impl State {
    /// Forgets every scratch buffer and cached operator (after a device error, one of
    /// them may be invalid).
    fn reset(&mut self) {
        for slot in [
            &mut self.input,
            &mut self.work,
            &mut self.output,
            &mut self.readback,
        ] {
            slot.buf = None;
        }
        self.ops.clear();
    }
}

/// Error scopes pushed together. wgpu requires them popped in reverse order, and a
/// guard dropped unpopped (an early return) pops itself: fields drop in declaration
/// order, so the scope pushed last is declared first.
struct Scopes {
    invalid: wgpu::ErrorScopeGuard,
    internal: wgpu::ErrorScopeGuard,
    oom: wgpu::ErrorScopeGuard,
}

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
    pipes: Pipelines,
    state: Mutex<State>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("info", &self.info).finish()
    }
}

static SHARED: OnceLock<std::result::Result<Arc<Gpu>, String>> = OnceLock::new();

/// Whether the environment switches the GPU off (`SKETCHKIT_GPU=0`, `off` or `none`).
fn disabled_by_env() -> bool {
    std::env::var("SKETCHKIT_GPU")
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "none"))
        .unwrap_or(false)
}

impl Gpu {
    /// The process-wide device, created on first use and kept.
    ///
    /// # Errors
    /// [`SketchError::Device`] when no adapter exists (the message says why), or when
    /// `SKETCHKIT_GPU=0` switches the GPU off.
    pub fn shared() -> Result<Arc<Gpu>> {
        if disabled_by_env() {
            return Err(dev_err("the GPU is switched off by SKETCHKIT_GPU"));
        }
        let gpu = SHARED
            .get_or_init(|| {
                // A driver or wgpu panic while opening the device means "no GPU".
                std::panic::catch_unwind(Gpu::create)
                    .unwrap_or_else(|_| Err("opening the GPU device panicked".into()))
                    .map(Arc::new)
            })
            .clone()
            .map_err(dev_err)?;
        if gpu.pid != std::process::id() {
            // A forked child inherits the parent's handles but not its GPU context.
            return Err(dev_err(
                "the GPU was opened before this process was forked, and a GPU context \
                 does not survive fork(); use the 'spawn' or 'forkserver' start method \
                 of multiprocessing",
            ));
        }
        Ok(gpu)
    }

    /// Whether [`Gpu::shared`] gives a device.
    pub fn available() -> bool {
        Gpu::shared().is_ok()
    }

    fn create() -> std::result::Result<Gpu, String> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| {
            format!(
                "no GPU adapter found ({e}); install a Vulkan driver (on Debian/Ubuntu, \
                 mesa-vulkan-drivers gives the software one) or use device='cpu'"
            )
        })?;
        let limits = adapter.limits();
        if limits.max_compute_workgroup_storage_size < 16_384
            || limits.max_compute_invocations_per_workgroup < 256
        {
            return Err("the GPU adapter's compute limits are below WebGPU's defaults".into());
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("sketchkit"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| format!("the GPU adapter refused a device: {e}"))?;
        let ai = adapter.get_info();
        let info = DeviceInfo {
            name: ai.name.clone(),
            backend: format!("{:?}", ai.backend).to_lowercase(),
            device_type: match ai.device_type {
                wgpu::DeviceType::DiscreteGpu => "discrete",
                wgpu::DeviceType::IntegratedGpu => "integrated",
                wgpu::DeviceType::VirtualGpu => "virtual",
                wgpu::DeviceType::Cpu => "cpu",
                wgpu::DeviceType::Other => "other",
            }
            .into(),
            driver: format!("{} {}", ai.driver, ai.driver_info)
                .trim()
                .to_string(),
        };
        let max_binding = (limits.max_storage_buffer_binding_size as u64)
            .min(limits.max_buffer_size)
            .min(usize::MAX as u64) as usize;
        // Stage sparse-kernel rows in up to 32 KiB of workgroup memory (16 KiB is
        // WebGPU's guaranteed minimum).
        let stage_floats = (limits.max_compute_workgroup_storage_size as usize).min(32 << 10) / 4;
        // Errors outside the calls' error scopes (there should be none) are dropped
        // instead of wgpu's default panic; every call checks its own scope.
        device.on_uncaptured_error(Arc::new(|_e: wgpu::Error| {}));
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
        let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipes = Pipelines::new(&device, stage_floats);
        let invalid = pollster::block_on(invalid.pop());
        let internal = pollster::block_on(internal.pop());
        let oom = pollster::block_on(oom.pop());
        if let Some(e) = invalid.or(internal) {
            return Err(format!("the GPU backend's kernels failed to build: {e}"));
        }
        if let Some(e) = oom {
            return Err(format!("the GPU ran out of memory while starting: {e}"));
        }
        let storage = wgpu::BufferUsages::STORAGE;
        let state = State {
            input: Slot::new("input", storage | wgpu::BufferUsages::COPY_DST),
            work: Slot::new("work", storage | wgpu::BufferUsages::COPY_DST),
            output: Slot::new(
                "output",
                storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            ),
            readback: Slot::new(
                "readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            params: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: PARAM_SLOTS as u64 * PARAM_STRIDE,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            dummy: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("unused binding"),
                size: 16,
                usage: storage,
                mapped_at_creation: false,
            }),
            ops: VecDeque::new(),
            staging: Vec::new(),
        };
        Ok(Gpu {
            device,
            queue,
            info,
            max_binding,
            stage_floats,
            pid: std::process::id(),
            pipes,
            state: Mutex::new(state),
        })
    }

    /// The adapter's description.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic inside a call leaves only scratch buffers behind: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn chunk_bytes(&self, opts: &Options) -> usize {
        let b = opts
            .max_chunk_bytes
            .unwrap_or(DEFAULT_CHUNK_BYTES)
            .min(self.max_binding)
            .max(4);
        b / 4 * 4
    }

    /// Rows per chunk when a row needs `widest` float32 values in some buffer.
    fn chunk_rows(
        &self,
        opts: &Options,
        widest: usize,
        n: usize,
        arg: &'static str,
    ) -> Result<usize> {
        let bytes = self.chunk_bytes(opts);
        let per_row = widest.max(1).saturating_mul(4);
        // A row longer than the default chunk still goes alone, up to the device's
        // binding limit.
        if per_row > bytes && opts.max_chunk_bytes.is_none() && per_row <= self.max_binding {
            return Ok(1);
        }
        if per_row > bytes {
            let bytes = if opts.max_chunk_bytes.is_none() {
                self.max_binding
            } else {
                bytes
            };
            return Err(SketchError::InvalidArgument {
                arg,
                msg: format!(
                    "one row needs {per_row} bytes on the device, more than its buffer \
                     limit of {bytes} bytes"
                ),
            });
        }
        Ok((bytes / per_row).min(MAX_CHUNK_ROWS).min(n.max(1)))
    }

    /// Raw Philox4x32-10 blocks computed on the device (for cross-checks).
    pub fn philox_blocks(&self, counters: &[[u32; 4]], key: [u32; 2]) -> Result<Vec<[u32; 4]>> {
        self.scoped(|| self.philox_impl(counters, key))
    }

    fn philox_impl(&self, counters: &[[u32; 4]], key: [u32; 2]) -> Result<Vec<[u32; 4]>> {
        let mut st = self.lock();
        let n = counters.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let words: &[u32] = bytemuck::cast_slice(counters);
        if words.len() * 4 > self.chunk_bytes(&Options::default()) {
            return Err(SketchError::InvalidArgument {
                arg: "counters",
                msg: format!(
                    "at most {} blocks per call",
                    self.chunk_bytes(&Options::default()) / 16
                ),
            });
        }
        let input = st.input.get(&self.device, words.len() * 4).clone();
        self.queue
            .write_buffer(&input, 0, bytemuck::cast_slice(words));
        let out = st.output.get(&self.device, words.len() * 4).clone();
        let p = Params {
            seed_lo: key[0],
            seed_hi: key[1],
            total: n as u32,
            ..Default::default()
        };
        let mut enc = self.encoder();
        let mut slots = Vec::new();
        self.flat(
            &mut enc,
            &st,
            &mut slots,
            &self.pipes.philox,
            p,
            n,
            [Some(&input), None, None],
            &out,
        );
        self.write_params(&st, &slots);
        self.submit_wait(enc)?;
        let mut res = vec![0u32; words.len()];
        let _ = self.download(&mut st, &out, words.len(), |v| {
            res.copy_from_slice(bytemuck::cast_slice(v));
        })?;
        Ok(res.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect())
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
    pub fn fwht_rows_with(
        &self,
        x: MatMut<'_, f32>,
        normalized: bool,
        opts: &Options,
    ) -> Result<Timings> {
        self.scoped(|| self.fwht_impl(x, normalized, opts))
    }

    /// Runs `f` inside error scopes, so that a device error (out of memory, a limit
    /// exceeded) comes back as an error instead of wgpu's default panic. After a device
    /// error the scratch buffers and cached operators are dropped, since one of them
    /// may be the invalid object; the next call starts clean.
    fn scoped<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let scopes = self.push_scopes();
        let r = f();
        let popped = self.pop_scopes(scopes);
        let r = popped.and(r);
        if matches!(r, Err(SketchError::Device(_) | SketchError::Alloc(_))) {
            self.lock().reset();
        }
        r
    }

    fn push_scopes(&self) -> Scopes {
        // Struct literal fields are evaluated in the order written: oom is pushed first.
        Scopes {
            oom: self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            internal: self.device.push_error_scope(wgpu::ErrorFilter::Internal),
            invalid: self.device.push_error_scope(wgpu::ErrorFilter::Validation),
        }
    }

    /// `Err` when the device reported an error since [`Gpu::push_scopes`].
    fn pop_scopes(&self, s: Scopes) -> Result<()> {
        let invalid = pollster::block_on(s.invalid.pop());
        let internal = pollster::block_on(s.internal.pop());
        let oom = pollster::block_on(s.oom.pop());
        if let Some(e) = oom {
            return Err(SketchError::Alloc(format!("GPU memory ({e})")));
        }
        if let Some(e) = invalid.or(internal) {
            return Err(dev_err(format!("the GPU rejected the work: {e}")));
        }
        Ok(())
    }

    fn fwht_impl(
        &self,
        mut x: MatMut<'_, f32>,
        normalized: bool,
        opts: &Options,
    ) -> Result<Timings> {
        let (n_rows, n) = (x.rows(), x.cols());
        sketchkit::fwht::check_len(n, "x")?;
        check_u32(n, "x")?;
        if !sketchkit::all_finite(x.as_ref()) {
            return Err(SketchError::NonFinite);
        }
        let rows = self.chunk_rows(opts, n, n_rows, "x")?;
        let mut st = self.lock();
        let mut tm = Timings::default();
        for r0 in (0..n_rows).step_by(rows) {
            let r1 = (r0 + rows).min(n_rows);
            let scopes = self.push_scopes();
            let buf = st.output.get(&self.device, (r1 - r0) * n * 4).clone();
            tm.upload_s += self.upload_rows(&mut st, &buf, x.as_ref(), r0, r1)?;
            let t = Instant::now();
            let mut enc = self.encoder();
            let mut slots = Vec::new();
            self.encode_fwht(&mut enc, &st, &mut slots, &buf, r1 - r0, n, normalized);
            self.write_params(&st, &slots);
            self.submit_wait(enc)?;
            tm.kernel_s += t.elapsed().as_secs_f64();
            self.pop_scopes(scopes)?;
            tm.download_s += self.download_rows(&mut st, &buf, x.rb(), r0, r1)?;
            tm.chunks += 1;
        }
        Ok(tm)
    }

    fn apply(
        &self,
        op: &Sketch,
        x: MatRef<'_, f32>,
        mut out: MatMut<'_, f32>,
        adjoint: bool,
        opts: &Options,
    ) -> Result<Timings> {
        let (k, d) = sketchkit::LinearSketch::shape(op);
        let (n_in, n_out) = if adjoint { (k, d) } else { (d, k) };
        let (xn, on) = if adjoint { ("Z", "out") } else { ("X", "out") };
        if x.cols() != n_in {
            return Err(SketchError::ShapeMismatch(format!(
                "{xn} has shape ({}, {}), expected ({}, {n_in})",
                x.rows(),
                x.cols(),
                x.rows()
            )));
        }
        if out.rows() != x.rows() || out.cols() != n_out {
            return Err(SketchError::ShapeMismatch(format!(
                "{on} has shape ({}, {}), expected ({}, {n_out})",
                out.rows(),
                out.cols(),
                x.rows()
            )));
        }
        // Grid limits: 65535 groups of 64 (dense tiles) or 256 (other kernels) along x.
        let dense = matches!(
            op.family(),
            sketchkit::Family::Gaussian | sketchkit::Family::Rademacher
        );
        // The output length is the grid's x extent: 65535 groups of 64 (dense tiles)
        // or 256 (other kernels). The summed length is only a loop bound.
        check_u32(d, "d")?;
        check_u32(k, "k")?;
        let max_dim = 65_535 * if dense { 64 } else { 256 };
        let out_arg = if adjoint { "d" } else { "k" };
        if n_out > max_dim {
            return Err(SketchError::InvalidArgument {
                arg: out_arg,
                msg: format!(
                    "the GPU backend supports outputs of up to {max_dim} columns for this \
                     family, got {n_out}"
                ),
            });
        }
        if !sketchkit::all_finite(x) {
            return Err(SketchError::NonFinite);
        }
        let n = x.rows();
        if n == 0 {
            return Ok(Timings::default());
        }
        let plan = op.plan()?;
        let work = match plan {
            Plan::Srht { dpad, .. } => dpad,
            _ => 0,
        };
        if work > max_dim {
            return Err(SketchError::InvalidArgument {
                arg: "d",
                msg: format!(
                    "the GPU backend's SRHT supports d up to {} (padded {work}), got {d}",
                    max_dim.next_power_of_two() / 2
                ),
            });
        }
        let rows = self.chunk_rows(opts, n_in.max(n_out).max(work), n, xn)?;
        let mut st = self.lock();
        let bufs = self.op_buffers(&mut st, op, &plan, adjoint)?;
        let mut tm = Timings::default();
        for r0 in (0..n).step_by(rows) {
            let r1 = (r0 + rows).min(n);
            let m = r1 - r0;
            // Errors of this chunk's device work are checked before its result is
            // written anywhere.
            let scopes = self.push_scopes();
            let input = st.input.get(&self.device, m * n_in * 4).clone();
            let output = st.output.get(&self.device, m * n_out * 4).clone();
            tm.upload_s += self.upload_rows(&mut st, &input, x, r0, r1)?;
            let t = Instant::now();
            let mut enc = self.encoder();
            let mut slots = Vec::new();
            match plan {
                Plan::Sparse { scale, .. } => {
                    let (ptr, ent) = bufs.data.as_ref().expect("uploaded lists");
                    // Rows per invocation: as many as workgroup memory holds (at
                    // most 8), or 8 read from device memory.
                    let staged = !opts.unstaged && n_in <= self.stage_floats;
                    let per = if staged {
                        (self.stage_floats / n_in).min(8)
                    } else {
                        8
                    };
                    let p = Params {
                        rows: m as u32,
                        n_in: n_in as u32,
                        n_out: n_out as u32,
                        kind: u32::from(staged),
                        levels: per as u32,
                        scale_bits: (scale as f32).to_bits(),
                        ..Default::default()
                    };
                    self.dispatch(
                        &mut enc,
                        &st,
                        &mut slots,
                        &self.pipes.lists,
                        p,
                        (n_out.div_ceil(256), m.div_ceil(per)),
                        [Some(&input), Some(ptr), Some(ent)],
                        &output,
                    );
                }
                Plan::Dense {
                    entries,
                    seed,
                    scale,
                    ..
                } => {
                    let p = Params {
                        rows: m as u32,
                        n_in: n_in as u32,
                        n_out: n_out as u32,
                        kind: u32::from(entries == sketchkit::backend::DenseEntries::Rademacher)
                            | if adjoint { 2 } else { 0 },
                        seed_lo: seed as u32,
                        seed_hi: (seed >> 32) as u32,
                        tag: entries.tag(),
                        scale_bits: (scale as f32).to_bits(),
                        k: k as u32,
                        d: d as u32,
                        ..Default::default()
                    };
                    self.dispatch(
                        &mut enc,
                        &st,
                        &mut slots,
                        &self.pipes.dense,
                        p,
                        (n_out.div_ceil(64), m.div_ceil(64)),
                        [Some(&input), None, None],
                        &output,
                    );
                }
                Plan::Srht { dpad, scale, .. } => {
                    let (signs, samp) = bufs.data.as_ref().expect("uploaded SRHT data");
                    let wbuf = st.work.get(&self.device, m * dpad * 4).clone();
                    let p = Params {
                        rows: m as u32,
                        scale_bits: (scale as f32).to_bits(),
                        k: k as u32,
                        d: d as u32,
                        ..Default::default()
                    };
                    // Project: load (x times D, zero-padded), FWHT, gather the
                    // sampled rows. Adjoint: scatter to the sampled rows, FWHT, unload
                    // (times D).
                    let (first, first_cols, last, last_cols) = if adjoint {
                        (&self.pipes.srht_scatter, k, &self.pipes.srht_unload, d)
                    } else {
                        (&self.pipes.srht_load, dpad, &self.pipes.srht_gather, k)
                    };
                    if adjoint {
                        enc.clear_buffer(&wbuf, 0, Some((m * dpad * 4) as u64));
                    }
                    self.dispatch(
                        &mut enc,
                        &st,
                        &mut slots,
                        first,
                        Params {
                            n_out: dpad as u32,
                            ..p
                        },
                        (first_cols.div_ceil(256), m),
                        [Some(&input), Some(signs), Some(samp)],
                        &wbuf,
                    );
                    self.encode_fwht(&mut enc, &st, &mut slots, &wbuf, m, dpad, false);
                    self.dispatch(
                        &mut enc,
                        &st,
                        &mut slots,
                        last,
                        Params {
                            n_in: dpad as u32,
                            ..p
                        },
                        (last_cols.div_ceil(256), m),
                        [Some(&wbuf), Some(signs), Some(samp)],
                        &output,
                    );
                }
            }
            self.write_params(&st, &slots);
            self.submit_wait(enc)?;
            tm.kernel_s += t.elapsed().as_secs_f64();
            self.pop_scopes(scopes)?;
            tm.download_s += self.download_rows(&mut st, &output, out.rb(), r0, r1)?;
            tm.chunks += 1;
        }
        Ok(tm)
    }

    /// The operator's data for one direction on the device, uploaded on first use and
    /// kept for the last [`OP_CACHE`] operator directions (at most [`OP_CACHE_BYTES`]).
    fn op_buffers(
        &self,
        st: &mut State,
        op: &Sketch,
        plan: &Plan<'_>,
        adjoint: bool,
    ) -> Result<Arc<OpBuffers>> {
        let key = (
            OpKey::of(op),
            adjoint && matches!(plan, Plan::Sparse { .. }),
        );
        if let Some(i) = st.ops.iter().position(|(k, _)| *k == key) {
            let entry = st.ops.remove(i).expect("found above");
            let bufs = entry.1.clone();
            st.ops.push_back(entry);
            return Ok(bufs);
        }
        let data = match plan {
            Plan::Dense { .. } => None,
            Plan::Sparse { rows, cols, .. } => {
                Some(self.upload_lists(if adjoint { cols } else { rows })?)
            }
            Plan::Srht { rows, signs, .. } => {
                let words: Vec<u32> = signs
                    .iter()
                    .flat_map(|&w| [w as u32, (w >> 32) as u32])
                    .collect();
                Some((
                    self.storage_init("SRHT signs", &words),
                    self.storage_init("SRHT rows", rows),
                ))
            }
        };
        let bytes = data.as_ref().map_or(0, |(a, b)| a.size() + b.size());
        let bufs = Arc::new(OpBuffers { data, bytes });
        let mut total: u64 = st.ops.iter().map(|(_, b)| b.bytes).sum::<u64>() + bytes;
        while !st.ops.is_empty() && (st.ops.len() >= OP_CACHE || total > OP_CACHE_BYTES) {
            total -= st.ops.pop_front().map_or(0, |(_, b)| b.bytes);
        }
        st.ops.push_back((key, bufs.clone()));
        Ok(bufs)
    }

    fn upload_lists(&self, l: &Lists<'_>) -> Result<(wgpu::Buffer, wgpu::Buffer)> {
        let (ptr, ent) = sliced_ell(l)?;
        if ent.len() * 4 > self.max_binding {
            return Err(dev_err(format!(
                "the operator's index lists ({} entries with padding) exceed the device's \
                 buffer limit",
                ent.len()
            )));
        }
        Ok((
            self.storage_init("list slices", &ptr),
            self.storage_init("list entries", &ent),
        ))
    }

    fn storage_init(&self, label: &str, data: &[u32]) -> wgpu::Buffer {
        let bytes = (data.len() * 4).max(16) as u64;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.next_multiple_of(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
        }
        buf
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("sketchkit"),
            })
    }

    /// FWHT of `rows` rows of length `n` in `buf`: local levels, then register passes,
    /// then the scale.
    #[allow(clippy::too_many_arguments)]
    fn encode_fwht(
        &self,
        enc: &mut wgpu::CommandEncoder,
        st: &State,
        slots: &mut Vec<Params>,
        buf: &wgpu::Buffer,
        rows: usize,
        n: usize,
        normalized: bool,
    ) {
        let len = n.min(LOCAL_FWHT);
        if len > 1 {
            let blocks = rows * (n / len);
            let p = Params {
                h: len as u32,
                total: blocks as u32,
                ..Default::default()
            };
            let (gx, gy) = grid_of(blocks);
            self.dispatch(
                enc,
                st,
                slots,
                &self.pipes.fwht_local,
                p,
                (gx, gy),
                [None, None, None],
                buf,
            );
        }
        let mut h = len;
        while h < n {
            let c = ((n / h).trailing_zeros()).min(4);
            let total = rows * (n >> c);
            let p = Params {
                n_in: n as u32,
                h: h as u32,
                levels: c,
                total: total as u32,
                ..Default::default()
            };
            self.flat(
                enc,
                st,
                slots,
                &self.pipes.fwht_global,
                p,
                total,
                [None, None, None],
                buf,
            );
            h <<= c;
        }
        if normalized && n > 1 {
            let s = (1.0 / (n as f64).sqrt()) as f32;
            let total = rows * n;
            let p = Params {
                scale_bits: s.to_bits(),
                total: total as u32,
                ..Default::default()
            };
            self.flat(
                enc,
                st,
                slots,
                &self.pipes.fwht_scale,
                p,
                total,
                [None, None, None],
                buf,
            );
        }
    }

    /// A dispatch of `total` invocations (256 per group) on a 2-D grid.
    #[allow(clippy::too_many_arguments)]
    fn flat(
        &self,
        enc: &mut wgpu::CommandEncoder,
        st: &State,
        slots: &mut Vec<Params>,
        pipe: &wgpu::ComputePipeline,
        p: Params,
        total: usize,
        ins: [Option<&wgpu::Buffer>; 3],
        out: &wgpu::Buffer,
    ) {
        let g = grid_of(total.div_ceil(256));
        self.dispatch(enc, st, slots, pipe, p, g, ins, out);
    }

    /// A dispatch of a `(x, y)` grid of groups.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        enc: &mut wgpu::CommandEncoder,
        st: &State,
        slots: &mut Vec<Params>,
        pipe: &wgpu::ComputePipeline,
        p: Params,
        (gx, gy): (usize, usize),
        ins: [Option<&wgpu::Buffer>; 3],
        out: &wgpu::Buffer,
    ) {
        if gx == 0 || gy == 0 {
            return;
        }
        // Callers keep both extents within the 65535-group limit.
        let (gx, gy) = (gx as u32, gy as u32);
        assert!(
            slots.len() < PARAM_SLOTS,
            "too many dispatches in one chunk"
        );
        let slot = slots.len() as u64;
        slots.push(p);
        fn storage(b: u32, buf: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry {
                binding: b,
                resource: buf.as_entire_binding(),
            }
        }
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &st.params,
                offset: slot * PARAM_STRIDE,
                size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
            }),
        }];
        for (i, b) in ins.iter().enumerate() {
            entries.push(storage(i as u32 + 1, b.unwrap_or(&st.dummy)));
        }
        entries.push(storage(4, out));
        let bg = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.pipes.layout,
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(pipe);
        pass.set_bind_group(0, &bg, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }

    fn write_params(&self, st: &State, slots: &[Params]) {
        for (i, p) in slots.iter().enumerate() {
            self.queue
                .write_buffer(&st.params, i as u64 * PARAM_STRIDE, bytemuck::bytes_of(p));
        }
    }

    fn submit_wait(&self, enc: wgpu::CommandEncoder) -> Result<()> {
        self.queue.submit([enc.finish()]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| dev_err(format!("waiting for the GPU failed: {e}")))?;
        Ok(())
    }

    /// Rows `r0..r1` of `x` into `buf` (packed row-major).
    fn upload_rows(
        &self,
        st: &mut State,
        buf: &wgpu::Buffer,
        x: MatRef<'_, f32>,
        r0: usize,
        r1: usize,
    ) -> Result<f64> {
        let t = Instant::now();
        let c = x.cols();
        let contiguous = (r0..r1).all(|r| x.row_slice(r).is_some())
            && (r1 - r0 <= 1 || x.row_stride() == c as isize);
        if contiguous && r1 > r0 && c > 0 {
            // The rows are one contiguous run of memory: write it directly.
            let first = x.row_slice(r0).expect("checked above");
            // SAFETY: rows r0..r1 are contiguous with stride c (checked above), so
            // the (r1 - r0) * c floats starting at row r0 lie inside the view `x`
            // borrows, and nothing writes them while `x` is borrowed.
            let all = unsafe { std::slice::from_raw_parts(first.as_ptr(), (r1 - r0) * c) };
            self.queue.write_buffer(buf, 0, bytemuck::cast_slice(all));
        } else {
            let mut staging = std::mem::take(&mut st.staging);
            staging.clear();
            let xt = x.t();
            if c > 0 && (0..c).all(|j| xt.row_slice(j).is_some()) {
                // Column-major (F-order) rows: read each column's run once.
                staging.resize((r1 - r0) * c, 0.0);
                for j in 0..c {
                    let col = &xt.row_slice(j).expect("checked above")[r0..r1];
                    for (i, &v) in col.iter().enumerate() {
                        staging[i * c + j] = v;
                    }
                }
            } else {
                staging.reserve((r1 - r0) * c);
                for r in r0..r1 {
                    match x.row_slice(r) {
                        Some(s) => staging.extend_from_slice(s),
                        None => staging.extend((0..c).map(|j| x.get(r, j))),
                    }
                }
            }
            if !staging.is_empty() {
                self.queue
                    .write_buffer(buf, 0, bytemuck::cast_slice(&staging));
            }
            st.staging = staging;
        }
        self.queue.submit([]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| dev_err(format!("upload to the GPU failed: {e}")))?;
        Ok(t.elapsed().as_secs_f64())
    }

    /// Rows `r0..r1` of `out` from `buf` (packed row-major).
    fn download_rows(
        &self,
        st: &mut State,
        buf: &wgpu::Buffer,
        mut out: MatMut<'_, f32>,
        r0: usize,
        r1: usize,
    ) -> Result<f64> {
        let c = out.cols();
        self.download(st, buf, (r1 - r0) * c, |v| {
            if out.rows() > 1 && out.row_slice_mut(r0).is_none() {
                let mut ot = out.rb().t();
                if (0..c).all(|j| ot.row_slice_mut(j).is_some()) {
                    // Column-major (F-order) output: write each column's run once.
                    for j in 0..c {
                        let col = &mut ot.row_slice_mut(j).expect("checked above")[r0..r1];
                        for (i, dst) in col.iter_mut().enumerate() {
                            *dst = v[i * c + j];
                        }
                    }
                    return;
                }
            }
            for (i, r) in (r0..r1).enumerate() {
                let src = &v[i * c..(i + 1) * c];
                match out.row_slice_mut(r) {
                    Some(dst) => dst.copy_from_slice(src),
                    None => {
                        for (j, &s) in src.iter().enumerate() {
                            out.set(r, j, s);
                        }
                    }
                }
            }
        })
    }

    /// Copies the first `len` floats of `buf` back and hands them to `f`.
    fn download(
        &self,
        st: &mut State,
        buf: &wgpu::Buffer,
        len: usize,
        f: impl FnOnce(&[f32]),
    ) -> Result<f64> {
        let t = Instant::now();
        if len == 0 {
            f(&[]);
            return Ok(0.0);
        }
        let bytes = (len * 4) as u64;
        let rb = st.readback.get(&self.device, len * 4).clone();
        let mut enc = self.encoder();
        enc.copy_buffer_to_buffer(buf, 0, &rb, 0, bytes);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        rb.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| dev_err(format!("download from the GPU failed: {e}")))?;
        rx.recv()
            .map_err(|_| dev_err("the GPU never mapped the result"))?
            .map_err(|e| dev_err(format!("mapping the result failed: {e}")))?;
        {
            let view = rb
                .get_mapped_range(0..bytes)
                .map_err(|e| dev_err(format!("reading the result failed: {e}")))?;
            f(bytemuck::cast_slice(&view));
        }
        rb.unmap();
        Ok(t.elapsed().as_secs_f64())
    }
}

/// Padding of the sliced-ELL lists (index 2^31 − 1 is never a valid index).
const PAD: u32 = u32::MAX;
/// Lists per slice (one warp's worth of invocations).
const SLICE: usize = 32;

/// Lists in sliced ELL form: slice `s` (lists `32 s .. 32 s + 31`) is padded to its
/// longest list with [`PAD`]; entry `t` of list `32 s + l` is `ent[ptr[s] + 32 t + l]`.
/// Returns `(ptr, ent)` with `ptr.len() = slices + 1`.
fn sliced_ell(l: &Lists<'_>) -> Result<(Vec<u32>, Vec<u32>)> {
    let n = l.ptr.len().saturating_sub(1);
    let slices = n.div_ceil(SLICE);
    let len = |o: usize| if o < n { l.ptr[o + 1] - l.ptr[o] } else { 0 };
    let mut ptr = Vec::with_capacity(slices + 1);
    let mut total = 0usize;
    ptr.push(0u32);
    for s in 0..slices {
        let width = (s * SLICE..(s + 1) * SLICE).map(len).max().unwrap_or(0);
        total += width * SLICE;
        ptr.push(u32::try_from(total).map_err(|_| {
            SketchError::Overflow("the operator has more than 2^32 padded nonzeros".into())
        })?);
    }
    let mut ent = Vec::new();
    ent.try_reserve_exact(total)
        .map_err(|_| SketchError::Alloc(format!("GPU index lists ({total} entries)")))?;
    ent.resize(total, PAD);
    for o in 0..n {
        let (s, lane) = (o / SLICE, o % SLICE);
        let base = ptr[s] as usize;
        for (t, &e) in l.ent[l.ptr[o]..l.ptr[o + 1]].iter().enumerate() {
            ent[base + t * SLICE + lane] = e;
        }
    }
    Ok((ptr, ent))
}

/// A 2-D grid of `groups` workgroups (x capped at 65535).
fn grid_of(groups: usize) -> (usize, usize) {
    let gx = groups.clamp(1, 65_535);
    (gx, groups.div_ceil(gx))
}

fn check_u32(v: usize, arg: &'static str) -> Result<()> {
    if v > (u32::MAX >> 1) as usize {
        return Err(SketchError::InvalidArgument {
            arg,
            msg: format!("the GPU backend supports dimensions below 2^31, got {v}"),
        });
    }
    Ok(())
}

impl Pipelines {
    fn new(device: &wgpu::Device, stage_floats: usize) -> Self {
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("sketchkit"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: wgpu::BufferSize::new(
                            std::mem::size_of::<Params>() as u64
                        ),
                    },
                    count: None,
                },
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, false),
            ],
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("sketchkit"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = |name: &str, src: &str| {
            let full = format!("{}\n{}", include_str!("wgsl/prelude.wgsl"), src);
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(full)),
            })
        };
        let pipe = |m: &wgpu::ShaderModule, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pl),
                module: m,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let philox = module("philox", include_str!("wgsl/philox_test.wgsl"));
        let lists = module(
            "lists",
            &include_str!("wgsl/lists.wgsl").replace("XS_FLOATS", &stage_floats.to_string()),
        );
        let dense = module("dense", include_str!("wgsl/dense.wgsl"));
        let fwht = module("fwht", include_str!("wgsl/fwht.wgsl"));
        let srht = module("srht", include_str!("wgsl/srht.wgsl"));
        Pipelines {
            philox: pipe(&philox, "main"),
            lists: pipe(&lists, "main"),
            dense: pipe(&dense, "main"),
            fwht_local: pipe(&fwht, "local_levels"),
            fwht_global: pipe(&fwht, "global_levels"),
            fwht_scale: pipe(&fwht, "scale_all"),
            srht_load: pipe(&srht, "load"),
            srht_gather: pipe(&srht, "gather"),
            srht_scatter: pipe(&srht, "scatter"),
            srht_unload: pipe(&srht, "unload"),
            layout,
        }
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
    fn fwht_rows(&self, x: MatMut<'_, f32>, normalized: bool) -> Result<()> {
        self.fwht_rows_with(x, normalized, &Options::default())
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliced_ell_keeps_every_list_in_order() {
        // 70 lists of varied lengths (3 slices, the last one partial).
        let mut ptr = vec![0usize];
        let mut ent = Vec::new();
        for o in 0..70u32 {
            for t in 0..(o * 7 % 11) {
                ent.push((t * 3 + o % 2) | if t % 2 == 1 { 1 << 31 } else { 0 });
            }
            ptr.push(ent.len());
        }
        let l = Lists {
            ptr: &ptr,
            ent: &ent,
        };
        let (sp, se) = sliced_ell(&l).unwrap();
        assert_eq!(sp.len(), 4);
        for o in 0..70 {
            let (s, lane) = (o / SLICE, o % SLICE);
            let width = (sp[s + 1] - sp[s]) as usize / SLICE;
            let got: Vec<u32> = (0..width)
                .map(|t| se[sp[s] as usize + t * SLICE + lane])
                .take_while(|&e| e != PAD)
                .collect();
            assert_eq!(got, &ent[ptr[o]..ptr[o + 1]], "list {o}");
            let rest = (got.len()..width).map(|t| se[sp[s] as usize + t * SLICE + lane]);
            assert!(rest.into_iter().all(|e| e == PAD));
        }
    }
}
