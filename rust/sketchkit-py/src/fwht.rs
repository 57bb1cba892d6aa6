//! The in-place fast Walsh–Hadamard transform.

use crate::convert::{array, readwrite, with_float, writable_view, Float, FloatKind};
use crate::error::{invalid, nogil, run, Gil};
use crate::gpu::Device;
use numpy::{Ix2, PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use sketchkit::MatMut;

/// Runs `transform` on the writable 2-D array `x` (named `x`), in place without the
/// GIL; `transform` gets the view and whether the transform runs along rows
/// (`axis=1`) or columns (`axis=0`).
pub(crate) fn fwht_in_place<T: Float, R: Send>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: i64,
    transform: impl FnOnce(MatMut<'_, T>, bool) -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    let a = array::<T, Ix2>(x, "x")?;
    let rows = match axis {
        1 => true,
        0 => false,
        _ => return Err(invalid("axis", "must be 0 or 1")),
    };
    // Fails for read-only arrays and for arrays already borrowed elsewhere.
    let mut guard = readwrite(a, "x")?;
    let m = writable_view(&mut guard, "x")?;
    nogil(py, "x", move || transform(m, rows))
}

/// In-place FWHT along `axis` of a writable 2-D float array, on `device`.
#[pyfunction]
#[pyo3(signature = (x, axis, normalized, device = "cpu", check_finite = true))]
pub(crate) fn fwht_inplace(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: i64,
    normalized: bool,
    device: &str,
    check_finite: bool,
) -> PyResult<()> {
    use sketchkit::fwht::{transform_cols, transform_rows};
    match Device::open_for(py, device, x, "x")? {
        Device::Cpu => with_float!(FloatKind::of(x, "x")?, T => {
            fwht_in_place::<T, ()>(py, x, axis, move |m, rows| {
                if rows {
                    transform_rows(m, normalized, check_finite)
                } else {
                    transform_cols(m, normalized, check_finite)
                }
            })
        }),
        Device::Backend(b) => fwht_in_place::<f32, ()>(py, x, axis, move |m, rows| {
            b.transform_rows(if rows { m } else { m.t() }, normalized, check_finite)
        }),
    }
}

/// Below this length the transform takes less time than releasing and re-taking the
/// GIL.
const KEEP_GIL_BELOW: usize = 1 << 14;

fn fwht_vec_typed<T: Float>(
    py: Python<'_>,
    a: &Bound<'_, PyArray1<T>>,
    normalized: bool,
    check_finite: bool,
) -> PyResult<bool> {
    let n = a.len();
    if !a.is_contiguous() || sketchkit::fwht::check_len(n, "x").is_err() {
        return Ok(false);
    }
    let Ok(mut guard) = a.try_readwrite() else {
        return Ok(false);
    };
    let Ok(x) = guard.as_slice_mut() else {
        return Ok(false);
    };
    let gil = if n < KEEP_GIL_BELOW {
        Gil::Keep
    } else {
        Gil::Release
    };
    // With `check_finite`, the core refuses NaN/inf before anything is overwritten.
    run(py, gil, "x", move || {
        sketchkit::fwht::transform_vec(x, normalized, check_finite)
    })?;
    Ok(true)
}

/// The fast path of `fwht(x, axis, normalized=..., inplace=True, check_finite=...)`
/// for a contiguous, writable 1-D float32 or float64 NumPy array of power-of-two
/// length, `axis` an `int` equal to 0 or -1 and both flags `bool`s: transforms it and
/// returns True. Returns False (touching nothing) for anything else, so the caller can
/// take the general path with its detailed errors. NaN/inf raise `ValueError` when
/// `check_finite`.
#[pyfunction]
pub(crate) fn fwht_vec(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: &Bound<'_, PyAny>,
    normalized: &Bound<'_, PyAny>,
    check_finite: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    use pyo3::types::{PyBool, PyInt};
    let flag = |b: &Bound<'_, PyAny>| -> Option<bool> {
        b.cast_exact::<PyBool>().ok().map(|b| b.is_true())
    };
    let (Some(normalized), Some(check_finite)) = (flag(normalized), flag(check_finite)) else {
        return Ok(false);
    };
    // Exactly an int (not a bool or a float) equal to 0 or -1.
    if !axis.is_exact_instance_of::<PyInt>() || !matches!(axis.extract::<i64>(), Ok(0 | -1)) {
        return Ok(false);
    }
    // Each cast checks the type, the dimension count and the dtype in one go.
    if let Ok(a) = x.cast::<PyArray1<f32>>() {
        fwht_vec_typed(py, a, normalized, check_finite)
    } else if let Ok(a) = x.cast::<PyArray1<f64>>() {
        fwht_vec_typed(py, a, normalized, check_finite)
    } else {
        Ok(false)
    }
}
