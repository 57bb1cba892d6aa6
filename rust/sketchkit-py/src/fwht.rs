//! The in-place fast Walsh–Hadamard transform.

use crate::convert::{array, readwrite, with_float, writable_view, Float, FloatKind, Kind};
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
#[pyo3(signature = (x, axis, normalized, device = "cpu"))]
pub(crate) fn fwht_inplace(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: i64,
    normalized: bool,
    device: &str,
) -> PyResult<()> {
    use sketchkit::fwht::{fwht_cols, fwht_rows};
    match Device::open_for(py, device, x, "x")? {
        Device::Cpu => with_float!(FloatKind::of(x, "x")?, T => {
            fwht_in_place::<T, ()>(py, x, axis, move |m, rows| {
                if rows {
                    fwht_rows(m, normalized)
                } else {
                    fwht_cols(m, normalized)
                }
            })
        }),
        Device::Backend(b) => fwht_in_place::<f32, ()>(py, x, axis, move |m, rows| {
            b.fwht_rows(if rows { m } else { m.t() }, normalized)
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
    // The core refuses NaN/inf before anything is overwritten.
    run(py, gil, "x", move || {
        if normalized {
            sketchkit::fwht::fwht_normalized(x)
        } else {
            sketchkit::fwht::fwht(x)
        }
    })?;
    Ok(true)
}

/// The fast path of `fwht(x, inplace=True)` for a contiguous, writable 1-D float32 or
/// float64 array of power-of-two length: transforms it and returns True; returns
/// False (touching nothing) when `x` is not such an array, so the caller can take
/// the general path with its detailed errors. NaN/inf raise `ValueError`.
#[pyfunction]
pub(crate) fn fwht_vec(py: Python<'_>, x: &Bound<'_, PyAny>, normalized: bool) -> PyResult<bool> {
    let Some(kind) = FloatKind::of_array(x) else {
        return Ok(false);
    };
    with_float!(kind, T => match x.cast::<PyArray1<T>>() {
        Ok(a) => fwht_vec_typed(py, a, normalized),
        Err(_) => Ok(false),
    })
}
