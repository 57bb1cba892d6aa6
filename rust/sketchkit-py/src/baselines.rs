//! Bindings of `sketchkit::select::baselines`: conversion, GIL release and error
//! mapping only. Every function returns the kept row indices (`int64`, ascending).

use crate::convert::{count, counts, index_array, readonly, slice1};
use crate::error::{nogil, Error};
use crate::select::{labels, metric, with_rows, RowsJob};
use numpy::{PyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use sketchkit::select::baselines::{self, LshVariant};
use sketchkit::select::prototypes;
use sketchkit::select::{Labels, Metric, Rows};
use sketchkit::Real;

enum Which {
    Cnn(u64),
    Enn(usize),
    Drop3(usize),
    Lsh(LshVariant, usize, usize, f64, u64),
    KMeans(Vec<usize>, usize, u64),
    KCenter(Vec<usize>),
    Herding(Vec<usize>, u64),
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
            Which::KMeans(q, it, seed) => prototypes::kmeans_medoids(rows, &lab, &q, it, seed),
            Which::KCenter(q) => prototypes::k_center_greedy(rows, &lab, &q),
            Which::Herding(q, seed) => prototypes::kernel_herding(rows, &lab, &q, seed),
        }
    }
}

fn run_job<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    metric: Metric,
    which: Which,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let gy = readonly(y, "y")?;
    // The codes are checked against the rows' count inside the job.
    let job = BaselineJob {
        y: slice1(&gy, "y")?,
        n_classes: count(n_classes, "n_classes")?,
        metric,
        which,
    };
    Ok(index_array(py, with_rows(py, x, job)?))
}

/// Stratified random subset with `quota[c]` rows of class `c`.
#[pyfunction]
pub(crate) fn stratified_random_select<'py>(
    py: Python<'py>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    quota: Vec<i64>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (n_classes, quota) = (count(n_classes, "n_classes")?, counts(&quota, "quota")?);
    let gy = readonly(y, "y")?;
    let lab = labels(&gy, y.len(), n_classes)?;
    let idx = nogil(py, "X", || baselines::stratified_random(&lab, &quota, seed))?;
    Ok(index_array(py, idx))
}

/// Hart's condensed nearest neighbour.
#[pyfunction]
pub(crate) fn cnn_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
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
    n_classes: i64,
    n_neighbors: i64,
    metric: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (k, m) = (count(n_neighbors, "n_neighbors")?, self::metric(metric)?);
    run_job(py, x, y, n_classes, m, Which::Enn(k))
}

/// DROP3.
#[pyfunction]
pub(crate) fn drop3_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    n_neighbors: i64,
    metric: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (k, m) = (count(n_neighbors, "n_neighbors")?, self::metric(metric)?);
    run_job(py, x, y, n_classes, m, Which::Drop3(k))
}

/// LSH-IS (variant `"S"` or `"F"`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lsh_is_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    variant: &str,
    n_tables: i64,
    n_funcs: i64,
    width: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let v = LshVariant::parse(variant).map_err(Error::from)?;
    let (t, f) = (count(n_tables, "n_tables")?, count(n_funcs, "n_funcs")?);
    let which = Which::Lsh(v, t, f, width, seed);
    run_job(py, x, y, n_classes, Metric::Euclidean, which)
}

/// Class-wise k-means medoids with `quota[c]` rows of class `c`.
#[pyfunction]
pub(crate) fn kmeans_medoids_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    quota: Vec<i64>,
    max_iter: i64,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let (q, it) = (counts(&quota, "quota")?, count(max_iter, "max_iter")?);
    run_job(
        py,
        x,
        y,
        n_classes,
        Metric::Euclidean,
        Which::KMeans(q, it, seed),
    )
}

/// k-center greedy (farthest-first traversal) with `quota[c]` rows of class `c`.
#[pyfunction]
pub(crate) fn k_center_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    quota: Vec<i64>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let q = counts(&quota, "quota")?;
    run_job(py, x, y, n_classes, Metric::Euclidean, Which::KCenter(q))
}

/// Kernel herding (RBF kernel) with `quota[c]` rows of class `c`.
#[pyfunction]
pub(crate) fn kernel_herding_select<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    quota: Vec<i64>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let q = counts(&quota, "quota")?;
    run_job(
        py,
        x,
        y,
        n_classes,
        Metric::Euclidean,
        Which::Herding(q, seed),
    )
}
