//! Randomized Hadamard rotation `Q = H D_r ··· H D_2 H D_1` of order
//! `d' = 2^⌈log2 d⌉`, with `H` the orthonormal Walsh–Hadamard matrix and `D_i`
//! independent random sign matrices (stream `HADAMARD_ROTATION`, index = round).
//! `Q` is orthogonal, costs `O(r · d' log d')` per vector, and spreads any vector's
//! energy evenly over the coordinates (used before quantization and for structured
//! random features). Inputs narrower than `d'` are zero-padded.
//!
//! ```
//! use sketchkit::rotation::HadamardRotation;
//! use sketchkit::{MatMut, MatRef};
//! let q = HadamardRotation::new(6, 3, 1).unwrap();        // order 8
//! let x = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
//! let mut y = [0.0f64; 8];
//! q.apply(MatRef::from_row_major(&x, 1, 6).unwrap(), MatMut::from_row_major(&mut y, 1, 8).unwrap()).unwrap();
//! let norm2: f64 = y.iter().map(|v| v * v).sum();
//! assert!((norm2 - 91.0).abs() < 1e-9);                     // orthogonal: norm kept
//! ```

use crate::error::{try_vec, Result, SketchError};
use crate::fwht;
use crate::rng::{sign_bit, sign_bits, tag};
use crate::view::{MatMut, MatRef};
use crate::Real;
use rayon::prelude::*;

/// An orthogonal `d' × d'` randomized Hadamard rotation.
#[derive(Clone, Debug)]
pub struct HadamardRotation {
    d: usize,
    dim: usize,
    rounds: usize,
    seed: u64,
    signs: Vec<Vec<u64>>,
}

impl HadamardRotation {
    /// Rotation for vectors of length `d` (padded to `d'`), with `rounds >= 1`.
    pub fn new(d: usize, rounds: usize, seed: u64) -> Result<Self> {
        if d == 0 {
            return Err(SketchError::arg("d", "must be at least 1"));
        }
        if d > fwht::MAX_LEN {
            return Err(SketchError::overflow(
                "d",
                format!(
                    "d={d} exceeds 2^30, the largest order of a Hadamard rotation (d is \
                     padded to the next power of two)"
                ),
            ));
        }
        if rounds == 0 || rounds > 64 {
            return Err(SketchError::arg(
                "rounds",
                format!("must be in [1, 64], got {rounds}"),
            ));
        }
        let dim = d.next_power_of_two();
        let signs = (0..rounds)
            .map(|r| sign_bits(seed, tag::HADAMARD_ROTATION, r as u64, dim))
            .collect::<Result<_>>()?;
        Ok(HadamardRotation {
            d,
            dim,
            rounds,
            seed,
            signs,
        })
    }

    /// Input length `d`.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Order `d'` of `Q`.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of `H D` rounds.
    pub fn rounds(&self) -> usize {
        self.rounds
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// `out = X_padded · Qᵀ`: every row of `x` (`n × d` or `n × d'`) rotated; `out` is
    /// `n × d'`.
    pub fn apply<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.run(x, out, false)
    }

    /// `out = Y · Q`: every row of `y` (`n × d'`) rotated back; `out` is `n × d'`.
    pub fn inverse<T: Real>(&self, y: MatRef<'_, T>, out: MatMut<'_, T>) -> Result<()> {
        self.run(y, out, true)
    }

    fn run<T: Real>(&self, x: MatRef<'_, T>, out: MatMut<'_, T>, inverse: bool) -> Result<()> {
        let (n, w) = (x.rows(), x.cols());
        if w != self.dim && (inverse || w != self.d) {
            return Err(SketchError::ShapeMismatch(format!(
                "input has {w} columns, expected {}",
                if inverse {
                    format!("{}", self.dim)
                } else {
                    format!("{} or {}", self.d, self.dim)
                }
            )));
        }
        if out.rows() != n || out.cols() != self.dim {
            return Err(SketchError::ShapeMismatch(format!(
                "out has shape ({}, {}), expected ({n}, {})",
                out.rows(),
                out.cols(),
                self.dim
            )));
        }
        // Orthonormal H in every round: one scale d'^(-rounds/2) at the end.
        let scale = T::from_f64((self.dim as f64).powf(-(self.rounds as f64) / 2.0));
        let out = out.into_shared();
        let finite = std::sync::atomic::AtomicBool::new(true);
        crate::parallel::install(|| {
            (0..n).into_par_iter().try_for_each_init(
                || try_vec(self.dim, T::ZERO, "a rotation buffer"),
                |buf, r| -> Result<()> {
                    let buf = buf.as_mut().map_err(|e| e.clone())?;
                    buf.fill(T::ZERO);
                    for (j, b) in buf[..w].iter_mut().enumerate() {
                        *b = x.get(r, j);
                    }
                    if !crate::finite::slice_finite(&buf[..w]) {
                        finite.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                    if inverse {
                        for signs in self.signs.iter().rev() {
                            fwht::transform_slice(buf);
                            flip(buf, signs);
                        }
                    } else {
                        for signs in &self.signs {
                            flip(buf, signs);
                            fwht::transform_slice(buf);
                        }
                    }
                    // SAFETY: task r owns output row r.
                    let o = unsafe { out.part(r, r + 1, 0, self.dim) };
                    for (j, &v) in buf.iter().enumerate() {
                        // SAFETY: (0, j) is inside this row.
                        unsafe { *o.ptr_at(0, j) = scale * v };
                    }
                    Ok(())
                },
            )
        })??;
        if finite.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err(SketchError::NonFinite {
                arg: if inverse { "Y" } else { "X" },
            })
        }
    }

    /// `Q` as a dense row-major `d' × d'` array.
    pub fn to_dense<T: Real>(&self) -> Result<Vec<T>> {
        let len = crate::error::checked_mul(self.dim, self.dim, "d", "d' * d'")?;
        let mut eye = try_vec(len, T::ZERO, "identity")?;
        for i in 0..self.dim {
            eye[i * self.dim + i] = T::ONE;
        }
        let mut qt = try_vec(len, T::ZERO, "rotation matrix")?;
        // Rows of I·Qᵀ are the columns of Q: the result is Qᵀ, transposed below.
        self.apply(
            MatRef::from_row_major(&eye, self.dim, self.dim)?,
            MatMut::from_row_major(&mut qt, self.dim, self.dim)?,
        )?;
        for i in 0..self.dim {
            for j in 0..i {
                qt.swap(i * self.dim + j, j * self.dim + i);
            }
        }
        Ok(qt)
    }
}

#[inline]
fn flip<T: Real>(buf: &mut [T], signs: &[u64]) {
    for (j, v) in buf.iter_mut().enumerate() {
        *v = v.neg_if(sign_bit(signs, j));
    }
}
