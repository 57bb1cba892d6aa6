//! Run-time settings: the thread pool's size and the SIMD level.

use crate::error::Error;
use pyo3::prelude::*;
use sketchkit::simd::{self, Level};

/// Sets the size of the crate's thread pool.
#[pyfunction]
pub(crate) fn set_num_threads(n: i64) -> PyResult<()> {
    // A negative count fails the core's rule as 0 does: passing 0 lets the core state
    // its rule in its own words for both.
    let n = usize::try_from(n).unwrap_or(0);
    sketchkit::set_num_threads(n).map_err(|e| Error::from(e).into())
}

/// The size of the crate's thread pool.
#[pyfunction]
pub(crate) fn get_num_threads() -> PyResult<usize> {
    sketchkit::get_num_threads().map_err(|e| Error::from(e).into())
}

/// Testing hook: the next call that runs on the crate's workers panics inside its job
/// (it must surface as `RuntimeError`, and the call after it must work).
#[pyfunction]
pub(crate) fn _panic_in_next_kernel() {
    sketchkit::parallel::hooks::panic_in_next_kernel();
}

/// Testing hook: occupies a worker of the crate's pools for `seconds` (the GIL
/// released), so tests can tell calls that overlap from calls that queue without
/// timing CPU work.
#[pyfunction]
pub(crate) fn _sleep_on_workers(py: Python<'_>, seconds: f64) -> PyResult<()> {
    let d = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|e| crate::error::invalid("seconds", e))?;
    crate::error::nogil(py, "seconds", || {
        sketchkit::parallel::install(|| std::thread::sleep(d))
    })
}

/// One-time initialisation at import, so that nothing is half initialised in a child
/// that another thread's `fork()` creates: the pools' `fork()` handlers and settings,
/// NumPy's C-API table and the dtypes the binding converts to.
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    sketchkit::parallel::init();
    numpy::PyArray1::<f64>::zeros(py, 0, false);
    numpy::dtype::<f32>(py);
    numpy::dtype::<f64>(py);
    numpy::dtype::<i32>(py);
    numpy::dtype::<i64>(py);
    Ok(())
}

/// The SIMD level kernels dispatch to.
#[pyfunction]
pub(crate) fn simd_level() -> &'static str {
    simd::level().name()
}

/// Caps the SIMD level (testing hook); `None` restores detection.
#[pyfunction]
#[pyo3(signature = (level = None))]
pub(crate) fn force_simd_level(level: Option<&str>) -> PyResult<()> {
    let cap = level
        .map(str::parse::<Level>)
        .transpose()
        .map_err(Error::from)?;
    simd::set_cap(cap);
    Ok(())
}
