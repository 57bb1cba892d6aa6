//! Subsampled randomized Hadamard transform `S = √(d'/k) · P · H · D` (`k × d`).
//!
//! `d' = 2^⌈log2 max(d, k)⌉` (inputs are zero-padded to `d'`), `H` the orthonormal
//! Walsh–Hadamard matrix of order `d'`, `D` random signs (stream `SRHT_SIGNS`), `P`
//! `k` distinct rows of `H` sampled uniformly without replacement (stream
//! `SRHT_ROWS`, ascending). Every entry is `±1/√k`:
//! `S[i, j] = (−1)^{popcount(P_i & j) + D_j} / √k`, so `E‖Sx‖² = ‖x‖²` and `S Sᵀ =
//! (d'/k)·I` when `d = d'`.
//!
//! Applied in `O(d' log d')` per row with the SIMD FWHT; rows in parallel. For
//! C-order input each row is transformed alone; for F-order input 64 rows at a time
//! are transformed with the lanes across rows. Both run the same butterflies in the
//! same order, so results are bit-identical for any layout, thread count, chunking
//! and SIMD level.

use crate::error::{try_vec, Result};
use crate::fwht;
use crate::rng::{sample_without_replacement, sign_bit, sign_bits, tag, Stream};
use crate::view::{MatMut, MatRef};
use crate::Real;
use rayon::prelude::*;

/// Lanes of the strided (F-order) path.
const LANES: usize = 64;

/// Loads row `r` of `x` times the signs into `buf` (zero-padded); false when the row
/// holds NaN or infinity.
#[inline(always)]
fn load_row<T: Real>(x: MatRef<'_, T>, r: usize, dsign: &[T], buf: &mut [T]) -> bool {
    let d = dsign.len();
    match x.row_slice(r) {
        Some(row) => {
            for ((b, &v), &sg) in buf.iter_mut().zip(row).zip(dsign) {
                *b = v * sg;
            }
        }
        None => {
            for (j, (b, &sg)) in buf.iter_mut().zip(dsign).enumerate() {
                *b = x.get(r, j) * sg;
            }
        }
    }
    buf[d..].fill(T::ZERO);
    crate::finite::slice_finite(&buf[..d])
}

/// The random parts of an SRHT, derived from the seed.
#[derive(Debug)]
pub(crate) struct Srht {
    pub k: usize,
    pub d: usize,
    pub dpad: usize,
    /// Sampled rows of `H`, ascending.
    pub rows: Vec<u32>,
    /// Sign bits of `D` (bit set = −1), `d` bits.
    pub signs: Vec<u64>,
}

/// The SRHT's padded dimension `d'`: the smallest power of two `≥ max(d, k)`, so
/// that `H` has `k` distinct rows to sample (`k > d` is the scikit-learn case
/// `n_components > n_features`; it never reduces the dimension).
pub fn padded_dim(d: usize, k: usize) -> usize {
    d.max(k).next_power_of_two()
}

impl Srht {
    pub(crate) fn new(k: usize, d: usize, seed: u64) -> Result<Self> {
        let dpad = padded_dim(d, k);
        let mut s = Stream::new(seed, tag::SRHT_ROWS, 0);
        let rows = sample_without_replacement(&mut s, dpad as u32, k as u32);
        let signs = sign_bits(seed, tag::SRHT_SIGNS, 0, d)?;
        Ok(Srht {
            k,
            d,
            dpad,
            rows,
            signs,
        })
    }

    pub(crate) fn scale(&self) -> f64 {
        1.0 / (self.k as f64).sqrt()
    }

    /// Entry `(i, j)`.
    pub(crate) fn entry<T: Real>(&self, i: usize, j: usize) -> T {
        let parity = ((self.rows[i] as usize & j).count_ones() + sign_bit(&self.signs, j)) & 1;
        T::from_f64(self.scale()).neg_if(parity)
    }

    /// `out = X · Sᵀ` (`X`: n × d, `out`: n × k).
    pub(crate) fn project<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        let n = x.rows();
        let scale = T::from_f64(self.scale());
        let out = out.into_shared();
        let lanes_path = x.row_stride() == 1 && x.col_stride() != 1 && n > 1;
        let finite = std::sync::atomic::AtomicBool::new(true);
        // D as ±1 factors: multiplying by ±1 is exact (the same bits as a sign flip)
        // and vectorizes, unlike extracting sign bits per element.
        let mut dsign = try_vec(self.d, T::ONE, "the sign factors")?;
        for (j, v) in dsign.iter_mut().enumerate() {
            *v = T::ONE.neg_if(sign_bit(&self.signs, j));
        }
        if !lanes_path {
            (0..n).into_par_iter().try_for_each_init(
                || try_vec(self.dpad, T::ZERO, "a transform buffer"),
                |buf, r| -> Result<()> {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    let ok = crate::dispatch!(load_row(x, r, &dsign, buf));
                    if !ok {
                        finite.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                    fwht::transform_slice(buf);
                    // SAFETY: task r owns output row r.
                    let o = unsafe { out.part(r, r + 1, 0, self.k) };
                    for (i, &p) in self.rows.iter().enumerate() {
                        // SAFETY: (0, i) is inside this row.
                        unsafe { *o.ptr_at(0, i) = scale * buf[p as usize] };
                    }
                    Ok(())
                },
            )?;
        } else {
            (0..n.div_ceil(LANES)).into_par_iter().try_for_each_init(
                || try_vec(self.dpad * LANES, T::ZERO, "a transform buffer"),
                |buf, s| -> Result<()> {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    let (r0, r1) = (s * LANES, ((s + 1) * LANES).min(n));
                    buf.fill(T::ZERO);
                    for (j, &sg) in dsign.iter().enumerate() {
                        for r in r0..r1 {
                            buf[j * LANES + r - r0] = x.get(r, j) * sg;
                        }
                    }
                    if !crate::finite::slice_finite(&buf[..self.d * LANES]) {
                        finite.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                    fwht::transform_lanes(buf, self.dpad, LANES);
                    // SAFETY: strip s owns output rows r0..r1.
                    let o = unsafe { out.part(r0, r1, 0, self.k) };
                    for (i, &p) in self.rows.iter().enumerate() {
                        for r in r0..r1 {
                            // SAFETY: (r - r0, i) is inside this strip.
                            unsafe {
                                *o.ptr_at(r - r0, i) = scale * buf[p as usize * LANES + r - r0]
                            };
                        }
                    }
                    Ok(())
                },
            )?;
        }
        if finite.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err(crate::SketchError::NonFinite { arg: "X" })
        }
    }

    /// `out = Z · S` (`Z`: n × k, `out`: n × d).
    pub(crate) fn project_adjoint<T: Real>(
        &self,
        z: MatRef<'_, T>,
        out: MatMut<'_, T>,
    ) -> Result<()> {
        let n = z.rows();
        let scale = T::from_f64(self.scale());
        let out = out.into_shared();
        let finite = std::sync::atomic::AtomicBool::new(true);
        (0..n).into_par_iter().try_for_each_init(
            || try_vec(self.dpad, T::ZERO, "a transform buffer"),
            |buf, r| -> Result<()> {
                let buf = buf.as_mut().map_err(|e| e.clone())?;
                buf.fill(T::ZERO);
                let mut ok = true;
                for (i, &p) in self.rows.iter().enumerate() {
                    let v = z.get(r, i);
                    ok &= v.is_finite();
                    buf[p as usize] = v;
                }
                if !ok {
                    finite.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                fwht::transform_slice(buf);
                // SAFETY: task r owns output row r.
                let o = unsafe { out.part(r, r + 1, 0, self.d) };
                for (j, &v) in buf[..self.d].iter().enumerate() {
                    // SAFETY: (0, j) is inside this row.
                    unsafe { *o.ptr_at(0, j) = scale * v.neg_if(sign_bit(&self.signs, j)) };
                }
                Ok(())
            },
        )?;
        if finite.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err(crate::SketchError::NonFinite { arg: "X" })
        }
    }
}
