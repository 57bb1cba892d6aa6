//! `HadamardRotation`, the randomized Hadamard rotation (see `_native.pyi`).

use crate::convert::{
    array, count, matrix, readonly, view, with_float, with_output, Float, FloatKind, Init,
};
use crate::error::{nogil, Error};
use numpy::Ix2;
use pyo3::prelude::*;
use sketchkit::rotation;

/// Randomized Hadamard rotation (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct HadamardRotation {
    inner: rotation::HadamardRotation,
}

/// `x · Qᵀ` (or `y · Q` when `inverse`) into a fresh array.
fn rotate<T: Float>(
    py: Python<'_>,
    q: &rotation::HadamardRotation,
    x: &Bound<'_, PyAny>,
    inverse: bool,
) -> PyResult<Py<PyAny>> {
    let name = if inverse { "Y" } else { "X" };
    let a = array::<T, Ix2>(x, name)?;
    let guard = readonly(a, name)?;
    let xv = view(&guard, name)?;
    let (out, ()) = with_output(py, [xv.rows(), q.dim()], false, Init::Zeroed, |ov| {
        nogil(py, name, move || {
            if inverse {
                q.inverse(xv, ov)
            } else {
                q.apply(xv, ov)
            }
        })
    })?;
    Ok(out.into_any().unbind())
}

#[pymethods]
impl HadamardRotation {
    #[new]
    #[pyo3(signature = (d, rounds = 3, seed = 0))]
    fn new(d: i64, rounds: i64, seed: u64) -> PyResult<Self> {
        let (d, rounds) = (count(d, "d")?, count(rounds, "rounds")?);
        let inner = rotation::HadamardRotation::new(d, rounds, seed).map_err(Error::from)?;
        Ok(HadamardRotation { inner })
    }
    #[getter]
    fn d(&self) -> usize {
        self.inner.d()
    }
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    #[getter]
    fn rounds(&self) -> usize {
        self.inner.rounds()
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }
    fn apply(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        with_float!(FloatKind::of(x, "X")?, T => rotate::<T>(py, &self.inner, x, false))
    }
    fn inverse(&self, py: Python<'_>, y: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        with_float!(FloatKind::of(y, "Y")?, T => rotate::<T>(py, &self.inner, y, true))
    }
    fn to_dense(&self, py: Python<'_>, dtype: &str) -> PyResult<Py<PyAny>> {
        let (q, n) = (&self.inner, self.inner.dim());
        with_float!(FloatKind::parse(dtype)?, T => {
            let v = nogil(py, "X", || q.to_dense::<T>())?;
            Ok(matrix(py, v, [n, n])?.into_any().unbind())
        })
    }
    fn __repr__(&self) -> String {
        format!(
            "HadamardRotation(d={}, rounds={}, seed={})",
            self.inner.d(),
            self.inner.rounds(),
            self.inner.seed()
        )
    }
}
