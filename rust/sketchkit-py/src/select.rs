//! Bindings of `sketchkit::select`: conversion, GIL release and error mapping only.
//!
//! Data arrive as either a 2-D C-contiguous float32/float64 array or a CSR tuple
//! `(data, indices, indptr, n_cols)` (canonical: sorted indices, no duplicates);
//! labels as a contiguous `uint32` array of codes.

use crate::{nogil, slice1};
use numpy::{Element, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sketchkit::select::attention::{self, AttentionConfig, Scores};
use sketchkit::select::hashing::{HashConfig, HashFamily, HierarchicalHasher};
use sketchkit::select::{
    knn, minibatch, CsrRows, DenseRows, GraphRef, KnnGraph, Labels, Metric, Rows,
};
use sketchkit::{CsrRef, Real, SparseIndex};

/// A computation generic over the data's element type and storage.
pub(crate) trait RowsJob: Send {
    type Out: Send;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Self::Out>;
}

fn readonly_err(name: &str) -> impl Fn(numpy::BorrowError) -> PyErr + '_ {
    move |e| PyValueError::new_err(format!("{name}: {e}"))
}

fn dense_run<T: Real + Element, J: RowsJob>(
    py: Python<'_>,
    a: &Bound<'_, PyArray2<T>>,
    job: J,
) -> PyResult<J::Out> {
    let _g = a.try_readonly().map_err(readonly_err("X"))?;
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err("X must be C-contiguous"));
    }
    let (n, d) = (a.shape()[0], a.shape()[1]);
    // SAFETY: C-contiguous array alive for this call; a readonly guard is held.
    let data = unsafe { a.as_slice() }.map_err(|e| PyValueError::new_err(format!("X: {e}")))?;
    nogil(py, move || job.run(&DenseRows::new(data, n, d)?))
}

fn csr_run<T: Real + Element, I: SparseIndex + Element, J: RowsJob>(
    py: Python<'_>,
    parts: (
        &Bound<'_, PyAny>,
        &Bound<'_, PyAny>,
        &Bound<'_, PyAny>,
        usize,
    ),
    job: J,
) -> PyResult<J::Out> {
    let (data, indices, indptr, cols) = parts;
    let err = || PyTypeError::new_err("indices and indptr must share one dtype, int32 or int64");
    let data = data
        .cast::<PyArray1<T>>()
        .map_err(|_| PyTypeError::new_err("data must be float32 or float64"))?;
    let indices = indices.cast::<PyArray1<I>>().map_err(|_| err())?;
    let indptr = indptr.cast::<PyArray1<I>>().map_err(|_| err())?;
    let _g = (
        data.try_readonly().map_err(readonly_err("data"))?,
        indices.try_readonly().map_err(readonly_err("indices"))?,
        indptr.try_readonly().map_err(readonly_err("indptr"))?,
    );
    let (dv, iv, pv) = (
        slice1(data, "data")?,
        slice1(indices, "indices")?,
        slice1(indptr, "indptr")?,
    );
    let rows = pv
        .len()
        .checked_sub(1)
        .ok_or_else(|| PyValueError::new_err("indptr is empty"))?;
    nogil(py, move || {
        let x = CsrRef::new(rows, cols, pv, iv, dv)?;
        job.run(&CsrRows::new(x)?)
    })
}

/// Runs `job` on `x`: a 2-D float array or a CSR tuple.
pub(crate) fn with_rows<J: RowsJob>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    job: J,
) -> PyResult<J::Out> {
    if let Ok(a) = x.cast::<PyArray2<f32>>() {
        return dense_run(py, a, job);
    }
    if let Ok(a) = x.cast::<PyArray2<f64>>() {
        return dense_run(py, a, job);
    }
    if let Ok(t) = x.cast::<PyTuple>() {
        if t.len() == 4 {
            let (data, indices, indptr) = (t.get_item(0)?, t.get_item(1)?, t.get_item(2)?);
            let cols: usize = t.get_item(3)?.extract()?;
            let parts = (&data, &indices, &indptr, cols);
            let is64 = indices.cast::<PyArray1<i64>>().is_ok();
            let f32d = data.cast::<PyArray1<f32>>().is_ok();
            return match (f32d, is64) {
                (true, true) => csr_run::<f32, i64, J>(py, parts, job),
                (true, false) => csr_run::<f32, i32, J>(py, parts, job),
                (false, true) => csr_run::<f64, i64, J>(py, parts, job),
                (false, false) => csr_run::<f64, i32, J>(py, parts, job),
            };
        }
    }
    Err(PyTypeError::new_err(
        "X must be a 2-D float32/float64 array or a CSR tuple (data, indices, indptr, n_cols)",
    ))
}

pub(crate) fn metric(s: &str) -> PyResult<Metric> {
    Metric::parse(s).map_err(|e| PyValueError::new_err(e.to_string()))
}

pub(crate) type GraphArrays<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
);

pub(crate) fn graph_out(py: Python<'_>, g: KnnGraph) -> GraphArrays<'_> {
    (
        PyArray1::from_vec(py, g.indptr),
        PyArray1::from_vec(py, g.indices),
        PyArray1::from_vec(py, g.distances),
    )
}

/// Readonly borrows of a graph's arrays passed back from Python.
pub(crate) struct GraphArgs<'py> {
    indptr: numpy::PyReadonlyArray1<'py, i64>,
    indices: numpy::PyReadonlyArray1<'py, i64>,
    distances: numpy::PyReadonlyArray1<'py, f64>,
}

impl<'py> GraphArgs<'py> {
    pub(crate) fn borrow(
        indptr: &Bound<'py, PyArray1<i64>>,
        indices: &Bound<'py, PyArray1<i64>>,
        distances: &Bound<'py, PyArray1<f64>>,
    ) -> PyResult<Self> {
        Ok(GraphArgs {
            indptr: indptr.try_readonly().map_err(readonly_err("indptr"))?,
            indices: indices.try_readonly().map_err(readonly_err("indices"))?,
            distances: distances
                .try_readonly()
                .map_err(readonly_err("distances"))?,
        })
    }

    /// The graph as a validated borrowed view (no copy).
    pub(crate) fn view(&self) -> PyResult<GraphRef<'_>> {
        let slice = |e: numpy::AsSliceError| PyValueError::new_err(format!("graph: {e}"));
        GraphRef::new(
            self.indptr.as_slice().map_err(slice)?,
            self.indices.as_slice().map_err(slice)?,
            self.distances.as_slice().map_err(slice)?,
        )
        .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// Label codes as core labels (borrowed).
pub(crate) fn labels<'a>(
    y: &'a Bound<'_, PyArray1<u32>>,
    n: usize,
    n_classes: usize,
) -> PyResult<Labels<'a>> {
    let ys = slice1(y, "y")?;
    Labels::new(ys, n, n_classes).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Hash tables (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct Hasher {
    inner: HierarchicalHasher,
}

struct BuildJob(HashConfig);
impl RowsJob for BuildJob {
    type Out = HierarchicalHasher;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<HierarchicalHasher> {
        HierarchicalHasher::build(rows, self.0)
    }
}

struct CodesJob<'a>(&'a HierarchicalHasher, usize);
impl RowsJob for CodesJob<'_> {
    type Out = Vec<u16>;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Vec<u16>> {
        self.0.codes(rows, self.1)
    }
}

struct HashGraphJob<'a>(&'a HierarchicalHasher, usize, Metric, usize);
impl RowsJob for HashGraphJob<'_> {
    type Out = KnnGraph;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<KnnGraph> {
        self.0.knn_graph_refined(rows, self.1, self.2, self.3)
    }
}

#[pymethods]
impl Hasher {
    #[new]
    #[pyo3(signature = (x, family, n_bits, n_levels, n_views, min_bucket, max_bucket, seed,
                        center = true, width = 4.0, expansion = 8, fan_in = 6))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        family: &str,
        n_bits: usize,
        n_levels: usize,
        n_views: usize,
        min_bucket: usize,
        max_bucket: usize,
        seed: u64,
        center: bool,
        width: f64,
        expansion: usize,
        fan_in: usize,
    ) -> PyResult<Self> {
        let family = match family {
            "simhash" => HashFamily::SimHash { center },
            "e2lsh" => HashFamily::E2Lsh { width },
            "flyhash" => HashFamily::FlyHash {
                expansion,
                fan_in,
                center,
            },
            _ => {
                return Err(PyValueError::new_err(format!(
                    "family: expected 'simhash', 'e2lsh' or 'flyhash', got {family:?}"
                )))
            }
        };
        let cfg = HashConfig {
            family,
            n_bits,
            n_levels,
            n_views,
            min_bucket,
            max_bucket,
            seed,
        };
        Ok(Hasher {
            inner: with_rows(py, x, BuildJob(cfg))?,
        })
    }

    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }
    #[getter]
    fn scale(&self) -> f64 {
        self.inner.scale()
    }
    fn levels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let nv = self.inner.config().n_views;
        PyArray1::from_vec(py, py.detach(|| self.inner.levels())).reshape([self.inner.n(), nv])
    }
    fn bucket_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let nv = self.inner.config().n_views;
        PyArray1::from_vec(py, py.detach(|| self.inner.bucket_sizes()))
            .reshape([self.inner.n(), nv])
    }
    fn bucket_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let nv = self.inner.config().n_views;
        PyArray1::from_vec(py, py.detach(|| self.inner.bucket_ids())).reshape([self.inner.n(), nv])
    }
    fn level_ids<'py>(&self, py: Python<'py>, level: usize) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let nv = self.inner.config().n_views;
        let ids = self
            .inner
            .level_ids(level)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyArray1::from_vec(py, ids).reshape([self.inner.n(), nv])
    }
    fn view_seed(&self, view: usize) -> u64 {
        sketchkit::select::hashing::view_seed(self.inner.config().seed, view)
    }
    fn codes<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        view: usize,
    ) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let m = self.inner.config().n_bits;
        let c = with_rows(py, x, CodesJob(&self.inner, view))?;
        PyArray1::from_vec(py, c).reshape([self.inner.n(), m])
    }
    fn window_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let nv = self.inner.config().n_views;
        let v = py.detach(|| {
            let mut v = Vec::with_capacity(self.inner.n() * nv);
            for i in 0..self.inner.n() {
                v.extend(self.inner.window_sizes(i).into_iter().map(|w| w as u32));
            }
            v
        });
        PyArray1::from_vec(py, v).reshape([self.inner.n(), nv])
    }
    #[pyo3(signature = (x, n_neighbors, metric, refine = 0))]
    fn knn_graph<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        n_neighbors: usize,
        metric: &str,
        refine: usize,
    ) -> PyResult<GraphArrays<'py>> {
        let m = self::metric(metric)?;
        let g = with_rows(py, x, HashGraphJob(&self.inner, n_neighbors, m, refine))?;
        Ok(graph_out(py, g))
    }
}

struct RefineJob<'a>(GraphRef<'a>, usize, Metric);
impl RowsJob for RefineJob<'_> {
    type Out = KnnGraph;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<KnnGraph> {
        knn::refine(rows, self.0, self.1, self.2, None)
    }
}

/// One round of neighbour-of-neighbour refinement of a graph.
#[pyfunction]
pub(crate) fn refine_graph<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    indptr: &Bound<'py, PyArray1<i64>>,
    indices: &Bound<'py, PyArray1<i64>>,
    distances: &Bound<'py, PyArray1<f64>>,
    n_neighbors: usize,
    metric: &str,
) -> PyResult<GraphArrays<'py>> {
    let m = self::metric(metric)?;
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    Ok(graph_out(
        py,
        with_rows(py, x, RefineJob(g, n_neighbors, m))?,
    ))
}

struct MiniBatchJob<'a>(Option<Labels<'a>>, usize, usize, Metric, u64);
impl RowsJob for MiniBatchJob<'_> {
    type Out = (KnnGraph, Vec<u32>);
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Self::Out> {
        minibatch::minibatch_graph(rows, self.0.as_ref(), self.1, self.2, self.3, self.4)
    }
}

/// Mini-batch kNN graph: `(indptr, indices, distances, batch)`.
#[pyfunction]
#[pyo3(signature = (x, y, n_classes, batch_size, n_neighbors, metric, seed))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn minibatch_graph<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: Option<&Bound<'py, PyArray1<u32>>>,
    n_classes: usize,
    batch_size: usize,
    n_neighbors: usize,
    metric: &str,
    seed: u64,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u32>>,
)> {
    let m = self::metric(metric)?;
    let guard = y
        .map(|a| a.try_readonly())
        .transpose()
        .map_err(readonly_err("y"))?;
    let lab = match y {
        Some(a) => Some(labels(a, a.len(), n_classes)?),
        None => None,
    };
    let (g, batch) = with_rows(py, x, MiniBatchJob(lab, batch_size, n_neighbors, m, seed))?;
    drop(guard);
    let (a, b, c) = graph_out(py, g);
    Ok((a, b, c, PyArray1::from_vec(py, batch)))
}

struct ExactJob(usize, Metric);
impl RowsJob for ExactJob {
    type Out = KnnGraph;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<KnnGraph> {
        knn::exact_knn_graph(rows, self.0, self.1)
    }
}

/// Exact (brute-force) kNN graph.
#[pyfunction]
pub(crate) fn exact_graph<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_neighbors: usize,
    metric: &str,
) -> PyResult<GraphArrays<'py>> {
    let m = self::metric(metric)?;
    Ok(graph_out(py, with_rows(py, x, ExactJob(n_neighbors, m))?))
}

struct RecallJob<'a>(GraphRef<'a>, &'a [usize], usize, Metric);
impl RowsJob for RecallJob<'_> {
    type Out = f64;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<f64> {
        knn::recall(rows, self.0, self.1, self.2, self.3)
    }
}

/// Recall of a graph against exact kNN on the sampled rows.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn graph_recall<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    indptr: &Bound<'py, PyArray1<i64>>,
    indices: &Bound<'py, PyArray1<i64>>,
    distances: &Bound<'py, PyArray1<f64>>,
    sample: &Bound<'py, PyArray1<i64>>,
    n_neighbors: usize,
    metric: &str,
) -> PyResult<f64> {
    let m = self::metric(metric)?;
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let s: Vec<usize> = sample
        .to_vec()?
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| PyValueError::new_err("sample: negative row")))
        .collect::<PyResult<_>>()?;
    with_rows(py, x, RecallJob(g, &s, n_neighbors, m))
}

/// Attention scores: `(score, agreement, representativeness, noisy)`.
#[pyfunction]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn attention_scores<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyArray1<i64>>,
    indices: &Bound<'py, PyArray1<i64>>,
    distances: &Bound<'py, PyArray1<f64>>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    noise_threshold: f64,
    boundary_weight: f64,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
)> {
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let _gy = y.try_readonly().map_err(readonly_err("y"))?;
    let lab = labels(y, g.n(), n_classes)?;
    let cfg = AttentionConfig {
        noise_threshold,
        boundary_weight,
    };
    let s = nogil(py, || attention::scores(g, &lab, cfg))?;
    Ok((
        PyArray1::from_vec(py, s.score),
        PyArray1::from_vec(py, s.agreement),
        PyArray1::from_vec(py, s.representativeness),
        PyArray1::from_vec(py, s.noisy),
    ))
}

/// Coverage-aware selection: `(indices, weights, hops)`.
#[pyfunction]
#[pyo3(signature = (indptr, indices, distances, y, n_classes, score, noisy, quota = None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn attention_select<'py>(
    py: Python<'py>,
    indptr: &Bound<'py, PyArray1<i64>>,
    indices: &Bound<'py, PyArray1<i64>>,
    distances: &Bound<'py, PyArray1<f64>>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: usize,
    score: &Bound<'py, PyArray1<f64>>,
    noisy: &Bound<'py, PyArray1<bool>>,
    quota: Option<Vec<usize>>,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
)> {
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let _gy = y.try_readonly().map_err(readonly_err("y"))?;
    let lab = labels(y, g.n(), n_classes)?;
    let scores = Scores {
        score: score.to_vec()?,
        agreement: Vec::new(),
        representativeness: Vec::new(),
        noisy: noisy.to_vec()?,
    };
    if scores.noisy.len() != g.n() {
        return Err(PyValueError::new_err("noisy: one flag per row expected"));
    }
    let sel = nogil(py, || attention::select(g, &lab, &scores, quota.as_deref()))?;
    Ok((
        PyArray1::from_vec(
            py,
            sel.indices
                .into_iter()
                .map(|i| i as i64)
                .collect::<Vec<_>>(),
        ),
        PyArray1::from_vec(py, sel.weights),
        PyArray1::from_vec(
            py,
            sel.hops.into_iter().map(|h| h as i64).collect::<Vec<_>>(),
        ),
    ))
}

/// Registers this module's classes and functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Hasher>()?;
    m.add_function(wrap_pyfunction!(minibatch_graph, m)?)?;
    m.add_function(wrap_pyfunction!(exact_graph, m)?)?;
    m.add_function(wrap_pyfunction!(refine_graph, m)?)?;
    m.add_function(wrap_pyfunction!(graph_recall, m)?)?;
    m.add_function(wrap_pyfunction!(attention_scores, m)?)?;
    m.add_function(wrap_pyfunction!(attention_select, m)?)?;
    Ok(())
}
