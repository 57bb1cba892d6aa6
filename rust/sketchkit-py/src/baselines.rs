//! Bindings of `sketchkit::select::baselines`.

use pyo3::prelude::*;

/// Registers this module's functions.
pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
