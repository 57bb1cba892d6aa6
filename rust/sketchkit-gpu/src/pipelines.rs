//! The WGSL shader modules, their compute pipelines and one bind-group layout, the
//! per-dispatch parameter block, and the encoding of one dispatch.

use crate::transfer::State;
use crate::Gpu;
use std::borrow::Cow;

/// Parameter blocks per chunk (bytes apart; a multiple of every uniform alignment).
pub(crate) const PARAM_SLOTS: usize = 64;
pub(crate) const PARAM_STRIDE: u64 = 256;

/// The uniform block every kernel reads (binding 0; `Params` in `wgsl/prelude.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub(crate) rows: u32,
    pub(crate) n_in: u32,
    pub(crate) n_out: u32,
    pub(crate) kind: u32,
    pub(crate) seed_lo: u32,
    pub(crate) seed_hi: u32,
    pub(crate) tag: u32,
    pub(crate) scale_bits: u32,
    pub(crate) h: u32,
    pub(crate) levels: u32,
    pub(crate) total: u32,
    pub(crate) k: u32,
    pub(crate) d: u32,
    pub(crate) pad: [u32; 3],
}

/// The compute pipelines, all on one bind-group layout (parameters, three inputs,
/// one output).
pub(crate) struct Pipelines {
    pub(crate) layout: wgpu::BindGroupLayout,
    pub(crate) philox: wgpu::ComputePipeline,
    pub(crate) lists: wgpu::ComputePipeline,
    pub(crate) dense: wgpu::ComputePipeline,
    pub(crate) fwht_local: wgpu::ComputePipeline,
    pub(crate) fwht_global: wgpu::ComputePipeline,
    pub(crate) fwht_scale: wgpu::ComputePipeline,
    pub(crate) srht_load: wgpu::ComputePipeline,
    pub(crate) srht_gather: wgpu::ComputePipeline,
    pub(crate) srht_scatter: wgpu::ComputePipeline,
    pub(crate) srht_unload: wgpu::ComputePipeline,
}

/// A 2-D grid of `groups` workgroups (x capped at 65535).
pub(crate) fn grid_of(groups: usize) -> (usize, usize) {
    let gx = groups.clamp(1, 65_535);
    (gx, groups.div_ceil(gx))
}

impl Pipelines {
    /// Compiles every kernel (the sparse one stages rows in `stage_floats` floats of
    /// workgroup memory).
    pub(crate) fn new(device: &wgpu::Device, stage_floats: usize) -> Self {
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

impl Gpu {
    /// A dispatch of `total` invocations (256 per group) on a 2-D grid.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn flat(
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
    pub(crate) fn dispatch(
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

    pub(crate) fn write_params(&self, st: &State, slots: &[Params]) {
        for (i, p) in slots.iter().enumerate() {
            self.queue
                .write_buffer(&st.params, i as u64 * PARAM_STRIDE, bytemuck::bytes_of(p));
        }
    }
}
