//! Run-time settings: the thread pool's size and the SIMD level.

use crate::error::{invalid, Error};
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
    let cap = match level {
        None => None,
        Some(l) => Some(Level::parse(l).ok_or_else(|| {
            // The names are the core's; the binding lists only the variants.
            let names: Vec<String> = [Level::Scalar, Level::Avx2, Level::Avx512]
                .map(|v| format!("'{}'", v.name()))
                .into();
            invalid(
                "level",
                format!("expected one of {}, got {l:?}", names.join(", ")),
            )
        })?),
    };
    simd::set_cap(cap);
    Ok(())
}
