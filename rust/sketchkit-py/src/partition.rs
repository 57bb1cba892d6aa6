//! Bindings of `sketchkit::select::partition` (routing keys, partition plans, quota
//! splits): conversion, GIL release and error mapping only.

use crate::convert::{array, count, counts as to_counts, matrix, readonly, slice1};
use crate::error::{invalid, nogil, Error};
use crate::select::{with_rows, RowsJob};
use numpy::{PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sketchkit::select::partition;
use sketchkit::select::Rows;
use sketchkit::Real;

struct KeysJob(usize, u64, Option<Vec<f64>>);
impl RowsJob for KeysJob {
    type Out = Vec<u64>;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Vec<u64>> {
        partition::route_keys(rows, self.0, self.1, self.2.as_deref())
    }
}

/// Routing keys of the rows of `x` (the core's `route_keys`).
#[pyfunction]
#[pyo3(signature = (x, route_bits, seed, center=None))]
pub(crate) fn route_keys<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    route_bits: i64,
    seed: u64,
    center: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let job = KeysJob(count(route_bits, "route_bits")?, seed, center);
    Ok(PyArray1::from_vec(py, with_rows(py, x, job)?))
}

struct MeansJob;
impl RowsJob for MeansJob {
    type Out = Vec<f64>;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Vec<f64>> {
        partition::column_means(rows)
    }
}

/// Column means of `x` in float64 (the core's `column_means`).
#[pyfunction]
pub(crate) fn column_means<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    Ok(PyArray1::from_vec(py, with_rows(py, x, MeansJob)?))
}

/// Rows of the centring sample of `n` rows (the core's `center_sample`).
#[pyfunction]
pub(crate) fn center_sample(
    py: Python<'_>,
    n: i64,
    seed: u64,
) -> PyResult<Bound<'_, PyArray1<i64>>> {
    let n = count(n, "n")? as u64;
    let s = partition::center_sample(n, seed);
    Ok(PyArray1::from_vec(
        py,
        s.into_iter().map(|i| i as i64).collect::<Vec<_>>(),
    ))
}

/// The partition of every row and the partition count (the core's `plan_partitions`).
#[pyfunction]
pub(crate) fn plan_partitions<'py>(
    py: Python<'py>,
    keys: &Bound<'py, PyAny>,
    route_bits: i64,
    partition_rows: i64,
) -> PyResult<(Bound<'py, PyArray1<u32>>, usize)> {
    let bits = count(route_bits, "route_bits")?;
    let rows = count(partition_rows, "partition_rows")?;
    let k = readonly(array::<u64, numpy::Ix1>(keys, "keys")?, "keys")?;
    let ks = slice1(&k, "keys")?;
    let (part, n) = nogil(py, "keys", || partition::plan_partitions(ks, bits, rows))?;
    Ok((PyArray1::from_vec(py, part), n))
}

/// Per-partition, per-class quota shares (the core's `split_quota`).
#[pyfunction]
pub(crate) fn split_quotas<'py>(
    py: Python<'py>,
    quota: Vec<i64>,
    counts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let q = to_counts(&quota, "quota")?;
    let c = readonly(array::<i64, numpy::Ix2>(counts, "counts")?, "counts")?;
    let (p, k) = (c.shape()[0], c.shape()[1]);
    let flat = c
        .as_slice()
        .map_err(|_| invalid("counts", "must be C-contiguous"))?;
    let flat = to_counts(flat, "counts")?;
    let s = partition::split_quota(&q, &flat, k).map_err(Error::from)?;
    matrix(py, s.into_iter().map(|v| v as i64).collect(), [p, k])
}

/// The partitioning constants: default and largest `route_bits`, the centring
/// sample's size, the smallest `partition_rows`.
#[pyfunction]
pub(crate) fn partition_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("route_bits", partition::DEFAULT_ROUTE_BITS)?;
    d.set_item("max_route_bits", partition::MAX_ROUTE_BITS)?;
    d.set_item("center_sample", partition::CENTER_SAMPLE)?;
    d.set_item("min_partition_rows", partition::MIN_PARTITION_ROWS)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(route_keys, m)?)?;
    m.add_function(wrap_pyfunction!(column_means, m)?)?;
    m.add_function(wrap_pyfunction!(center_sample, m)?)?;
    m.add_function(wrap_pyfunction!(plan_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(split_quotas, m)?)?;
    m.add_function(wrap_pyfunction!(partition_defaults, m)?)?;
    Ok(())
}
