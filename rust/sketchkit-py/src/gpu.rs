//! Bindings of the GPU backend (`sketchkit-gpu`): conversion, GIL release and error
//! mapping. Built with the `gpu` cargo feature (on by default); without it the
//! functions exist and report that the backend is missing.

use crate::SketchOperator;
#[cfg(feature = "gpu")]
use crate::{nogil_named, view, view_mut, writable_view};
use numpy::PyArray2;
#[cfg(feature = "gpu")]
use numpy::PyArrayMethods;
#[cfg(feature = "gpu")]
use pyo3::exceptions::PyValueError;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
#[cfg(feature = "gpu")]
use sketchkit::SketchError;

#[cfg(feature = "gpu")]
use sketchkit_gpu::{Gpu, Options, Timings};

#[cfg(feature = "gpu")]
/// The shared device; the first call opens it (up to a second) without the GIL.
fn device(py: Python<'_>) -> PyResult<std::sync::Arc<Gpu>> {
    py.detach(Gpu::shared).map_err(|e| match e {
        SketchError::Device(m) => PyRuntimeError::new_err(format!("device='gpu': {m}")),
        other => PyRuntimeError::new_err(other.to_string()),
    })
}

#[cfg(not(feature = "gpu"))]
fn missing() -> PyErr {
    PyRuntimeError::new_err(
        "device='gpu': this build of sketchkit has no GPU backend (built without the \
         'gpu' cargo feature)",
    )
}

#[cfg(feature = "gpu")]
fn timings_dict<'py>(py: Python<'py>, t: &Timings) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("upload_s", t.upload_s)?;
    d.set_item("kernel_s", t.kernel_s)?;
    d.set_item("download_s", t.download_s)?;
    d.set_item("chunks", t.chunks)?;
    Ok(d)
}

fn f32_array<'a, 'py>(
    x: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyArray2<f32>>> {
    x.cast::<PyArray2<f32>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name}: device='gpu' takes a 2-D float32 numpy.ndarray with native byte order"
        ))
    })
}

/// Whether a GPU adapter can be used.
#[pyfunction]
fn gpu_available(py: Python<'_>) -> bool {
    #[cfg(feature = "gpu")]
    {
        py.detach(Gpu::available)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        false
    }
}

/// The adapter's description (`name`, `backend`, `device_type`, `driver`); raises
/// RuntimeError with the reason when there is none.
#[pyfunction]
fn gpu_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    #[cfg(feature = "gpu")]
    {
        let g = device(py)?;
        let i = g.info();
        let d = PyDict::new(py);
        d.set_item("name", &i.name)?;
        d.set_item("backend", &i.backend)?;
        d.set_item("device_type", &i.device_type)?;
        d.set_item("driver", &i.driver)?;
        Ok(d)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        Err(missing())
    }
}

/// `(X · Sᵀ or Z · S, timings)` on the GPU for a 2-D float32 array.
#[pyfunction]
#[pyo3(signature = (op, x, adjoint = false, max_chunk_bytes = None, name = "X"))]
fn gpu_project<'py>(
    py: Python<'py>,
    op: &Bound<'py, SketchOperator>,
    x: &Bound<'py, PyAny>,
    adjoint: bool,
    max_chunk_bytes: Option<usize>,
    name: &str,
) -> PyResult<(Bound<'py, PyArray2<f32>>, Bound<'py, PyDict>)> {
    let a = f32_array(x, name)?;
    #[cfg(feature = "gpu")]
    {
        let s = &op.get().inner;
        let g = device(py)?;
        let _guard = a
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?;
        let xv = view(a, name)?;
        let (k, d) = sketchkit::LinearSketch::shape(s);
        let (want, o) = if adjoint { (k, d) } else { (d, k) };
        if xv.cols() != want {
            return Err(PyValueError::new_err(format!(
                "shape mismatch: {name} has shape ({}, {}) but the operator of shape ({k}, {d}) needs columns = {want}",
                xv.rows(),
                xv.cols()
            )));
        }
        let out = PyArray2::<f32>::zeros(py, [xv.rows(), o], false);
        let ov = view_mut(&out);
        let opts = Options {
            max_chunk_bytes,
            ..Options::default()
        };
        let t = nogil_named(py, name, move || {
            if adjoint {
                g.project_adjoint_with(s, xv, ov, &opts)
            } else {
                g.project_with(s, xv, ov, &opts)
            }
        })?;
        Ok((out, timings_dict(py, &t)?))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = (py, op, a, adjoint, max_chunk_bytes);
        Err(missing())
    }
}

/// In-place FWHT along `axis` (0 or 1) of a writable 2-D float32 array on the GPU;
/// returns the timings.
#[pyfunction]
#[pyo3(signature = (x, axis, normalized, max_chunk_bytes = None))]
fn gpu_fwht<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: i64,
    normalized: bool,
    max_chunk_bytes: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = f32_array(x, "x")?;
    #[cfg(feature = "gpu")]
    {
        let g = device(py)?;
        let _guard = a
            .try_readwrite()
            .map_err(|e| PyValueError::new_err(format!("x cannot be written in place: {e}")))?;
        let m = writable_view(a)?;
        let m = match axis {
            1 => m,
            0 => m.t(),
            _ => return Err(PyValueError::new_err("axis: must be 0 or 1")),
        };
        let opts = Options {
            max_chunk_bytes,
            ..Options::default()
        };
        let t = nogil_named(py, "x", move || g.fwht_rows_with(m, normalized, &opts))?;
        timings_dict(py, &t)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = (py, a, axis, normalized, max_chunk_bytes);
        Err(missing())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(gpu_available, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_info, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_project, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_fwht, m)?)?;
    Ok(())
}
