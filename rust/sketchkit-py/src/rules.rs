//! The core's lists, defaults and rules, exposed so that Python asks instead of
//! restating them: family names, hash families, metrics, SIMD levels, the default
//! `nnz`, the hashing and attention defaults, the default `min_bucket` and the
//! per-class quotas.

use crate::convert::{count, counts as to_counts};
use crate::error::Error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use sketchkit::select::attention::AttentionConfig;
use sketchkit::select::baselines::LshVariant;
use sketchkit::select::hashing::{self, HashConfig, HashFamily};
use sketchkit::select::Metric;
use sketchkit::simd::Level;
use sketchkit::FamilyKind;

/// The default hashing parameters (`HashConfig::default()` and the family defaults).
#[pyfunction]
fn hash_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = HashConfig::default();
    let d = PyDict::new(py);
    d.set_item("family", c.family.name())?;
    d.set_item("n_bits", c.n_bits)?;
    d.set_item("n_levels", c.n_levels)?;
    d.set_item("n_views", c.n_views)?;
    d.set_item("min_bucket", c.min_bucket)?;
    d.set_item("max_bucket", c.max_bucket)?;
    d.set_item("center", HashFamily::DEFAULT_CENTER)?;
    d.set_item("width", HashFamily::DEFAULT_WIDTH)?;
    d.set_item("expansion", HashFamily::DEFAULT_EXPANSION)?;
    d.set_item("fan_in", HashFamily::DEFAULT_FAN_IN)?;
    Ok(d)
}

/// The default attention parameters (`AttentionConfig::default()`).
#[pyfunction]
fn attention_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = AttentionConfig::default();
    let d = PyDict::new(py);
    d.set_item("noise_threshold", c.noise_threshold)?;
    d.set_item("boundary_weight", c.boundary_weight)?;
    d.set_item(
        "boundary_share_grid",
        sketchkit::select::attention::BOUNDARY_SHARE_GRID.to_vec(),
    )?;
    d.set_item(
        "noise_threshold_grid",
        sketchkit::select::attention::NOISE_THRESHOLD_GRID.to_vec(),
    )?;
    d.set_item(
        "tune_eval_rows",
        sketchkit::select::attention::TUNE_EVAL_ROWS,
    )?;
    d.set_item(
        "difficulty_weight",
        sketchkit::select::attention::DIFFICULTY_WEIGHT,
    )?;
    d.set_item("max_iter", sketchkit::select::prototypes::KMEANS_ITERS)?;
    d.set_item(
        "prototypes_max_rows",
        sketchkit::select::attention::PROTOTYPES_MAX_ROWS,
    )?;
    Ok(d)
}

/// `min_bucket` when none is given (the core's `default_min_bucket`).
#[pyfunction]
fn default_min_bucket(n_neighbors: i64, max_bucket: i64) -> PyResult<usize> {
    let (k, mb) = (
        count(n_neighbors, "n_neighbors")?,
        count(max_bucket, "max_bucket")?,
    );
    Ok(hashing::default_min_bucket(k, mb).map_err(Error::from)?)
}

/// The names of the parameters `family` takes (the core's `FamilyKind::parameters`).
#[pyfunction]
fn family_parameters(family: &str) -> PyResult<Vec<&'static str>> {
    let kind: FamilyKind = family.parse().map_err(Error::from)?;
    Ok(kind.parameters().to_vec())
}

/// Rows to keep per class for `reduction` (the core's `select::quota`).
#[pyfunction]
fn class_quotas(counts: Vec<i64>, reduction: f64) -> PyResult<Vec<usize>> {
    let c = to_counts(&counts, "counts")?;
    Ok(sketchkit::select::quota(&c, reduction).map_err(Error::from)?)
}

/// Adds `key` to the module as a tuple of names.
fn names<'a>(
    m: &Bound<'_, PyModule>,
    key: &str,
    v: impl IntoIterator<Item = &'a str>,
) -> PyResult<()> {
    let v: Vec<&str> = v.into_iter().collect();
    m.add(key, PyTuple::new(m.py(), v)?)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    names(m, "FAMILIES", FamilyKind::ALL.map(FamilyKind::name))?;
    let sparse = FamilyKind::ALL.into_iter().filter(|k| k.is_sparse());
    names(m, "SPARSE_FAMILIES", sparse.map(FamilyKind::name))?;
    names(m, "HASH_FAMILIES", HashFamily::NAMES)?;
    names(m, "METRICS", Metric::ALL.map(Metric::name))?;
    names(m, "LSH_VARIANTS", LshVariant::ALL.map(LshVariant::name))?;
    names(m, "SIMD_LEVELS", Level::ALL.map(Level::name))?;
    m.add("DEFAULT_NNZ", sketchkit::DEFAULT_NNZ)?;
    m.add_function(wrap_pyfunction!(hash_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(attention_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(default_min_bucket, m)?)?;
    m.add_function(wrap_pyfunction!(class_quotas, m)?)?;
    m.add_function(wrap_pyfunction!(family_parameters, m)?)?;
    Ok(())
}
