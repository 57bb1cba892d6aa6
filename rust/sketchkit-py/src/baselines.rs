//! Bindings of `sketchkit::select::baselines`: conversion, GIL release and error
//! mapping only. Every function returns the kept row indices (`int64`, ascending).

use crate::select::{labels, metric, with_rows, RowsJob};
use crate::{nogil, slice1};
use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sketchkit::select::baselines::{self, LshVariant};
use sketchkit::select::{Labels, Metric, Rows};
use sketchkit::Real;

fn out(py: Python<'_>, idx: Vec<usize>) -> Bound<'_, PyArray1<i64>> {
    PyArray1::from_vec(py, idx.into_iter().map(|i| i as i64).collect::<Vec<_>>())
}

/// Label codes borrowed for the duration of a job (checked against the rows'
/// count inside it).
fn codes<'a>(y: &'a Bound<'_, PyArray1<u32>>) -> PyResult<&'a [u32]> {
    slice1(y, "y")
}

enum Which {
    Cnn(u64),
    Enn(usize),
    Drop3(usize),
    Lsh(LshVariant, usize, usize, f64, u64),
}

struct BaselineJob<'a> {
    y: &'a [u32],
    n_classes: usize,
    metric: Metric,
    which: Which,
}

impl RowsJob for BaselineJob<'_> {
    type Out = Vec<usize>;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Vec<usize>> {
        let lab = Labels::new(self.y, rows.n(), self.n_classes)?;
        match self.which {
            Which::Cnn(seed) => {
                baselines::condensed_nearest_neighbour(rows, &lab, self.metric, seed)
            }
            Which::Enn(k) => baselines::edited_nearest_neighbours(rows, &lab, k, self.metric),
            Which::Drop3(k) => baselines::drop3(rows, &lab, k, self.metric),
            Which::Lsh(v, t, f, w, seed) => baselines::lsh_is(rows, &lab, v, t, f, w, seed),
        }
    }
}

fn run_job<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    metric: Metric,
    which: Which,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let _g = y
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("y: {e}")))?;
    let job = BaselineJob {
        y: codes(y)?,
        n_classes,
        metric,
        which,
    };
    Ok(out(py, with_rows(py, x, job)?))
}

/// Stratified random subset with `quota[c]` rows of class `c`.
#[pyfunction]
pub(crate) fn stratified_random_select<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    quota: Vec<usize>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let _g = y
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("y: {e}")))?;
    let lab = labels(y, y.len(), n_classes)?;
    let idx = nogil(py, || baselines::stratified_random(&lab, &quota, seed))?;
    Ok(out(py, idx))
}

/// Hart's condensed nearest neighbour.
#[pyfunction]
pub(crate) fn cnn_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    metric: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let m = self::metric(metric)?;
    run_job(py, x, y, n_classes, m, Which::Cnn(seed))
}

/// Wilson's edited nearest neighbours.
#[pyfunction]
pub(crate) fn enn_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    n_neighbors: usize,
    metric: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let m = self::metric(metric)?;
    run_job(py, x, y, n_classes, m, Which::Enn(n_neighbors))
}

/// DROP3.
#[pyfunction]
pub(crate) fn drop3_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    n_neighbors: usize,
    metric: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let m = self::metric(metric)?;
    run_job(py, x, y, n_classes, m, Which::Drop3(n_neighbors))
}

/// LSH-IS (variant `"S"` or `"F"`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lsh_is_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    variant: &str,
    n_tables: usize,
    n_funcs: usize,
    width: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let v = LshVariant::parse(variant).map_err(|e| PyValueError::new_err(e.to_string()))?;
    run_job(
        py,
        x,
        y,
        n_classes,
        Metric::Euclidean,
        Which::Lsh(v, n_tables, n_funcs, width, seed),
    )
}

/// Registers this module's functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stratified_random_select, m)?)?;
    m.add_function(wrap_pyfunction!(cnn_select, m)?)?;
    m.add_function(wrap_pyfunction!(enn_select, m)?)?;
    m.add_function(wrap_pyfunction!(drop3_select, m)?)?;
    m.add_function(wrap_pyfunction!(lsh_is_select, m)?)?;
    Ok(())
}
