//! The finite-input check Python runs before in-place work.

use crate::convert::{array, readonly, view, with_float, FloatKind};
use crate::error::nogil;
use numpy::{Ix2, IxDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// True when every element of a float32 or float64 array (any dimension) is finite.
#[pyfunction]
pub(crate) fn all_finite(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<bool> {
    with_float!(FloatKind::of(x, "x")?, T => {
        let a = array::<T, IxDyn>(x, "x")?;
        let a2 = if a.ndim() == 2 {
            a.clone().into_any()
        } else {
            // Any other ndim: view it as one row (reshape never copies here for
            // contiguous data; otherwise NumPy makes a temporary copy).
            a.reshape([1usize, a.len()])?.into_any()
        };
        let guard = readonly(array::<T, Ix2>(&a2, "x")?, "x")?;
        let v = view(&guard, "x")?;
        nogil(py, "x", move || Ok(sketchkit::all_finite(v)))
    })
}
