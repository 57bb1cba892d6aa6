//! Device choice, and the GPU backend's own entry points (`sketchkit-gpu`).
//!
//! A `device` argument becomes a [`Device`]: this crate's CPU kernels, or a float32
//! [`sketchkit::Backend`] that the operator and FWHT bindings call through the trait.
//! `gpu_project` and `gpu_fwht` remain for what the trait does not carry (per-call
//! chunk size, phase timings) and call the GPU's inherent `*_with` methods. Built
//! with the `gpu` cargo feature (on by default); without it the functions exist and
//! report that the backend is missing.

use crate::error::{invalid, wrong_type};
use crate::operator::SketchOperator;
#[cfg(feature = "gpu")]
use crate::{
    convert::count,
    error::nogil,
    fwht::fwht_in_place,
    operator::{apply, Op},
};
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

#[cfg(feature = "gpu")]
use sketchkit::SketchError;
#[cfg(feature = "gpu")]
use sketchkit_gpu::{Gpu, Options, Timings};

/// Where a call runs.
pub(crate) enum Device {
    /// This crate's CPU kernels (float32 and float64).
    Cpu,
    /// A float32 backend, called through the trait.
    Backend(Arc<dyn sketchkit::Backend>),
}

impl Device {
    /// The device named by a `device` argument for the input `x` (named `arg`). A GPU
    /// computes in float32: `x` is checked before the adapter is opened, so a wrong
    /// dtype is the same `TypeError` on every machine, with or without an adapter.
    pub(crate) fn open_for(
        py: Python<'_>,
        name: &str,
        x: &Bound<'_, PyAny>,
        arg: &str,
    ) -> PyResult<Device> {
        if name == "gpu" {
            f32_array(x, arg)?;
        }
        Device::open(py, name)
    }

    /// The device named by a `device` argument (`"cpu"` or `"gpu"`); the first GPU
    /// call opens the adapter.
    pub(crate) fn open(py: Python<'_>, name: &str) -> PyResult<Device> {
        match name {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Backend(gpu_backend(py)?)),
            other => Err(invalid(
                "device",
                format!("expected 'cpu' or 'gpu', got {other:?}"),
            )),
        }
    }
}

#[cfg(feature = "gpu")]
fn gpu_backend(py: Python<'_>) -> PyResult<Arc<dyn sketchkit::Backend>> {
    Ok(gpu(py)?)
}

#[cfg(not(feature = "gpu"))]
fn gpu_backend(_py: Python<'_>) -> PyResult<Arc<dyn sketchkit::Backend>> {
    Err(missing())
}

#[cfg(feature = "gpu")]
/// The shared GPU; the first call opens it (up to a second) without the GIL.
fn gpu(py: Python<'_>) -> PyResult<Arc<Gpu>> {
    nogil(py, "X", || {
        Gpu::shared().map_err(|e| match e {
            SketchError::Device(m) => SketchError::Device(format!("device='gpu': {m}")),
            other => other,
        })
    })
}

#[cfg(not(feature = "gpu"))]
fn missing() -> PyErr {
    let msg = "device='gpu': this build of sketchkit has no GPU backend (built without the \
               'gpu' cargo feature)";
    crate::error::Error::from(sketchkit::SketchError::Device(msg.into())).into()
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

#[cfg(feature = "gpu")]
fn options(max_chunk_bytes: Option<i64>) -> PyResult<Options> {
    Ok(Options {
        max_chunk_bytes: max_chunk_bytes
            .map(|b| count(b, "max_chunk_bytes"))
            .transpose()?,
        ..Options::default()
    })
}

/// `x` as a 2-D float32 array, or the `TypeError` of a float32-only device.
pub(crate) fn f32_array<'a, 'py>(
    x: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyArray2<f32>>> {
    x.cast::<PyArray2<f32>>().map_err(|_| {
        wrong_type(
            name,
            "a 2-D float32 numpy.ndarray with native byte order (device='gpu' computes in float32)",
        )
    })
}

/// Whether a GPU adapter can be used.
#[pyfunction]
pub(crate) fn gpu_available(py: Python<'_>) -> PyResult<bool> {
    #[cfg(feature = "gpu")]
    {
        nogil(py, "X", || Ok(Gpu::available()))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = py;
        Ok(false)
    }
}

/// The adapter's description (`name`, `backend`, `device_type`, `driver`); raises
/// RuntimeError with the reason when there is none.
#[pyfunction]
pub(crate) fn gpu_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    #[cfg(feature = "gpu")]
    {
        let g = gpu(py)?;
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
pub(crate) fn gpu_project<'py>(
    py: Python<'py>,
    op: &Bound<'py, SketchOperator>,
    x: &Bound<'py, PyAny>,
    adjoint: bool,
    max_chunk_bytes: Option<i64>,
    name: &str,
) -> PyResult<(Bound<'py, PyArray2<f32>>, Bound<'py, PyDict>)> {
    f32_array(x, name)?;
    #[cfg(feature = "gpu")]
    {
        let s = &op.get().inner;
        let g = gpu(py)?;
        let opts = options(max_chunk_bytes)?;
        let dir = if adjoint {
            Op::ProjectAdjoint
        } else {
            Op::Project
        };
        let (out, t) = apply::<f32, _>(
            py,
            s,
            x,
            dir,
            name,
            false,
            crate::convert::Init::Zeroed,
            move |x, o| {
                if adjoint {
                    g.project_adjoint_with(s, x, o, &opts)
                } else {
                    g.project_with(s, x, o, &opts)
                }
            },
        )?;
        Ok((out, timings_dict(py, &t)?))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = (py, op, adjoint, max_chunk_bytes);
        Err(missing())
    }
}

/// In-place FWHT along `axis` (0 or 1) of a writable 2-D float32 array on the GPU;
/// returns the timings.
#[pyfunction]
#[pyo3(signature = (x, axis, normalized, max_chunk_bytes = None))]
pub(crate) fn gpu_fwht<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: i64,
    normalized: bool,
    max_chunk_bytes: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    f32_array(x, "x")?;
    #[cfg(feature = "gpu")]
    {
        let g = gpu(py)?;
        let opts = options(max_chunk_bytes)?;
        let t = fwht_in_place::<f32, _>(py, x, axis, move |m, rows| {
            g.fwht_rows_with(if rows { m } else { m.t() }, normalized, &opts)
        })?;
        timings_dict(py, &t)
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = (py, axis, normalized, max_chunk_bytes);
        Err(missing())
    }
}
