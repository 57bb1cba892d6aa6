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
pub(crate) fn get_num_threads() -> usize {
    sketchkit::get_num_threads()
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
