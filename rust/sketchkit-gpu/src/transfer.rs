//! Moving rows between host and device: per-call options and timings, chunk sizes
//! within the device's buffer limits, the reusable scratch buffers, and the upload
//! and download of row chunks (any strides; contiguous and column-major runs fast).

use crate::cache::OpCache;
use crate::device::dev_err;
use crate::pipelines::{PARAM_SLOTS, PARAM_STRIDE};
use crate::Gpu;
use sketchkit::{MatMut, MatRef, Result, SketchError};
use std::time::Instant;

/// Default cap on one storage buffer (and so on one chunk of rows).
pub const DEFAULT_CHUNK_BYTES: usize = 128 << 20;
/// Rows of one chunk at most (the grid's y extent).
const MAX_CHUNK_ROWS: usize = 65_535;

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

/// A reusable device buffer that grows on demand.
pub(crate) struct Slot {
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
    pub(crate) fn get(&mut self, device: &wgpu::Device, bytes: usize) -> &wgpu::Buffer {
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

/// Everything a call uses behind the device's lock.
pub(crate) struct State {
    pub(crate) input: Slot,
    pub(crate) work: Slot,
    pub(crate) output: Slot,
    pub(crate) readback: Slot,
    /// Parameter blocks of one chunk's dispatches.
    pub(crate) params: wgpu::Buffer,
    /// Bound where a kernel reads no buffer.
    pub(crate) dummy: wgpu::Buffer,
    pub(crate) ops: OpCache,
    /// Host rows packed for an upload.
    pub(crate) staging: Vec<f32>,
}

impl State {
    /// Empty scratch buffers, the parameter blocks and an empty operator cache.
    pub(crate) fn new(device: &wgpu::Device) -> Self {
        let storage = wgpu::BufferUsages::STORAGE;
        State {
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
            ops: OpCache::default(),
            staging: Vec::new(),
        }
    }

    /// Forgets every scratch buffer and cached operator (after a device error, one of
    /// them may be invalid).
    pub(crate) fn reset(&mut self) {
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

impl Gpu {
    /// Bytes one chunk's buffer may use (a multiple of 4).
    pub(crate) fn chunk_bytes(&self, opts: &Options) -> usize {
        let b = opts
            .max_chunk_bytes
            .unwrap_or(DEFAULT_CHUNK_BYTES)
            .min(self.max_binding)
            .max(4);
        b / 4 * 4
    }

    /// Rows per chunk when a row needs `widest` float32 values in some buffer.
    pub(crate) fn chunk_rows(
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

    /// Rows `r0..r1` of `x` into `buf` (packed row-major).
    pub(crate) fn upload_rows(
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
    pub(crate) fn download_rows(
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
    pub(crate) fn download(
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
