//! Opening the device: the adapter and its limits, the process-wide instance, the
//! fork check, the adapter's description, and the error scopes every call runs in.

use crate::pipelines::Pipelines;
use crate::transfer::State;
use crate::Gpu;
use sketchkit::{Result, SketchError};
use std::sync::{Arc, Mutex, OnceLock};

/// [`SketchError::Device`] with `msg`.
pub(crate) fn dev_err(msg: impl Into<String>) -> SketchError {
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

/// Error scopes pushed together. wgpu requires them popped in reverse order, and a
/// guard dropped unpopped (an early return) pops itself: fields drop in declaration
/// order, so the scope pushed last is declared first.
pub(crate) struct Scopes {
    invalid: wgpu::ErrorScopeGuard,
    internal: wgpu::ErrorScopeGuard,
    oom: wgpu::ErrorScopeGuard,
}

static SHARED: OnceLock<std::result::Result<Arc<Gpu>, String>> = OnceLock::new();

/// Whether the environment switches the GPU off (`SKETCHKIT_GPU=0`, `off` or `none`).
fn disabled_by_env() -> bool {
    std::env::var("SKETCHKIT_GPU")
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "none"))
        .unwrap_or(false)
}

/// The process-wide device (see [`Gpu::shared`]).
pub(crate) fn shared() -> Result<Arc<Gpu>> {
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

/// The backends the GPU path uses: Vulkan, Metal and Direct3D 12.
///
/// On Linux, Mesa installs an implicit Vulkan layer (`VK_LAYER_MESA_device_select`)
/// that connects to the Wayland and X displays to rank adapters, and prints
/// `error: XDG_RUNTIME_DIR is invalid ...` where there is no display. A compute-only
/// process can switch it off with the layer's own `NODEVICE_SELECT=1` (the Python
/// package sets it at import unless the environment already sets it).
pub const COMPUTE_BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN
    .union(wgpu::Backends::METAL)
    .union(wgpu::Backends::DX12);

impl Gpu {
    /// Opens the adapter the environment allows (`WGPU_BACKEND`), checks its limits,
    /// requests a device with them and builds the kernels.
    fn create() -> std::result::Result<Gpu, String> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        // Only the compute backends (never GL or a browser's WebGPU), so nothing
        // windowing-related is probed; `WGPU_BACKEND` narrows them further.
        desc.backends = wgpu::Backends::from_env().unwrap_or(COMPUTE_BACKENDS);
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
        let state = State::new(&device);
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

    /// The per-call state (one call at a time).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic inside a call leaves only scratch buffers behind: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` inside error scopes, so that a device error (out of memory, a limit
    /// exceeded) comes back as an error instead of wgpu's default panic. After a device
    /// error the scratch buffers and cached operators are dropped, since one of them
    /// may be the invalid object; the next call starts clean.
    pub(crate) fn scoped<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let scopes = self.push_scopes();
        let r = f();
        let popped = self.pop_scopes(scopes);
        let r = popped.and(r);
        if matches!(r, Err(SketchError::Device(_) | SketchError::Alloc(_))) {
            self.lock().reset();
        }
        r
    }

    /// Pushes the out-of-memory, internal and validation error scopes.
    pub(crate) fn push_scopes(&self) -> Scopes {
        // Struct literal fields are evaluated in the order written: oom is pushed first.
        Scopes {
            oom: self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            internal: self.device.push_error_scope(wgpu::ErrorFilter::Internal),
            invalid: self.device.push_error_scope(wgpu::ErrorFilter::Validation),
        }
    }

    /// `Err` when the device reported an error since [`Gpu::push_scopes`].
    pub(crate) fn pop_scopes(&self, s: Scopes) -> Result<()> {
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

    /// A new command encoder.
    pub(crate) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("sketchkit"),
            })
    }

    /// Submits `enc` and waits for the device to finish it.
    pub(crate) fn submit_wait(&self, enc: wgpu::CommandEncoder) -> Result<()> {
        self.queue.submit([enc.finish()]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| dev_err(format!("waiting for the GPU failed: {e}")))?;
        Ok(())
    }
}
