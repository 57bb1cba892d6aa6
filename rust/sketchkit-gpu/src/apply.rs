//! Running an operator's [`Plan`] on the device: `X·Sᵀ` and `Z·S` for each plan kind
//! (sparse gathers, dense Philox tiles, SRHT sign flip + FWHT + sampling), the
//! in-place FWHT of rows, and the raw Philox cross-check.

use crate::pipelines::{grid_of, Params};
use crate::transfer::{Options, State, Timings};
use crate::Gpu;
use sketchkit::backend::{DenseEntries, Plan};
use sketchkit::{MatMut, MatRef, Result, Sketch, SketchError};
use std::time::Instant;

/// Longest FWHT block held in workgroup memory (16 KiB of float32).
const LOCAL_FWHT: usize = 4096;

/// `v` fits the kernels' 31-bit indices.
fn check_u32(v: usize, arg: &'static str) -> Result<()> {
    if v > (u32::MAX >> 1) as usize {
        return Err(SketchError::InvalidArgument {
            arg,
            msg: format!("the GPU backend supports dimensions below 2^31, got {v}"),
        });
    }
    Ok(())
}

impl Gpu {
    /// `out = X · Sᵀ` (`adjoint`: `out = Z · S`) from the operator's [`Plan`] (see
    /// [`Gpu::project_with`]).
    pub(crate) fn apply(
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
        check_u32(d, "d")?;
        check_u32(k, "k")?;
        let plan = op.plan()?;
        // The output length is the grid's x extent: 65535 groups of 64 (dense tiles)
        // or 256 (other kernels). The summed length is only a loop bound.
        let dense = matches!(plan, Plan::Dense { .. });
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
            return Err(SketchError::NonFinite {
                arg: if adjoint { "Z" } else { "X" },
            });
        }
        let n = x.rows();
        if n == 0 {
            return Ok(Timings::default());
        }
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
                        kind: u32::from(entries == DenseEntries::Rademacher)
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

    /// The in-place FWHT of every row of finite input (the core's
    /// `Backend::fwht_rows` and [`Gpu::fwht_rows_with`] check that first).
    pub(crate) fn fwht_impl(
        &self,
        mut x: MatMut<'_, f32>,
        normalized: bool,
        opts: &Options,
    ) -> Result<Timings> {
        let (n_rows, n) = (x.rows(), x.cols());
        sketchkit::fwht::check_len(n, "x")?;
        check_u32(n, "x")?;
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

    /// Raw Philox blocks (see [`Gpu::philox_blocks`]).
    pub(crate) fn philox_impl(
        &self,
        counters: &[[u32; 4]],
        key: [u32; 2],
    ) -> Result<Vec<[u32; 4]>> {
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
}
