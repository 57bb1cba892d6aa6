//! Bindings of `sketchkit::select` (graphs, hash tables, attention): conversion, GIL
//! release and error mapping only.
//!
//! Data arrive as either a 2-D C-contiguous float32/float64 array or a CSR tuple
//! `(data, indices, indptr, n_cols)` (the binding's CSR convention; canonical: sorted
//! indices, no duplicates); labels as a contiguous `uint32` array of codes.

use crate::convert::{
    array, count, counts, index_array, matrix, readonly, slice1, with_csr, with_float, Csr, Float,
    FloatKind, Kind,
};
use crate::error::{invalid, nogil, nogil_cancellable, wrong_type, Error};
use numpy::{
    Element, Ix2, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use sketchkit::select::attention::{self, AttentionConfig, Scores};
use sketchkit::select::hashing::HasherState;
use sketchkit::select::hashing::{HashConfig, HashFamily, HierarchicalHasher};
use sketchkit::select::{
    knn, minibatch, CsrRows, DenseRows, GraphRef, KnnGraph, Labels, Metric, Rows,
};
use sketchkit::{Real, SparseIndex};
use std::sync::atomic::AtomicBool;

/// A computation generic over the data's element type and storage.
pub(crate) trait RowsJob: Send {
    type Out: Send;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Self::Out>;
}

fn dense_run<T: Float, J: RowsJob>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    job: J,
) -> PyResult<J::Out> {
    let guard = readonly(array::<T, Ix2>(x, "X")?, "X")?;
    if !guard.is_c_contiguous() {
        return Err(invalid("X", "must be C-contiguous"));
    }
    let (n, d) = (guard.shape()[0], guard.shape()[1]);
    let data = guard.as_slice().map_err(|e| invalid("X", e))?;
    let cancel = AtomicBool::new(false);
    nogil_cancellable(py, "X", &cancel, || {
        job.run(&DenseRows::new(data, n, d)?.with_cancel(&cancel))
    })
}

fn csr_run<T: Float, I: SparseIndex + Element, J: RowsJob>(
    py: Python<'_>,
    (data, indices, indptr): (&Bound<'_, PyAny>, &Bound<'_, PyAny>, &Bound<'_, PyAny>),
    cols: usize,
    job: J,
) -> PyResult<J::Out> {
    let csr = Csr::<T, I>::borrow(data, indices, indptr)?;
    let (rows, parts) = (csr.rows()?, csr.parts()?);
    let cancel = AtomicBool::new(false);
    nogil_cancellable(py, "X", &cancel, || {
        job.run(&CsrRows::new(parts.view(rows, cols)?)?.with_cancel(&cancel))
    })
}

/// Runs `job` on `x`: a 2-D float array or a CSR tuple `(data, indices, indptr, n_cols)`.
pub(crate) fn with_rows<J: RowsJob>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    job: J,
) -> PyResult<J::Out> {
    if let Some(kind) = FloatKind::of_array(x) {
        return with_float!(kind, T => dense_run::<T, J>(py, x, job));
    }
    if let Ok(t) = x.cast::<PyTuple>() {
        if t.len() == 4 {
            let (data, indices, indptr) = (t.get_item(0)?, t.get_item(1)?, t.get_item(2)?);
            let cols = count(t.get_item(3)?.extract()?, "n_cols")?;
            let arrays = (&data, &indices, &indptr);
            return with_csr!(&data, &indices, T, I => csr_run::<T, I, J>(py, arrays, cols, job));
        }
    }
    Err(wrong_type(
        "X",
        "a 2-D float32/float64 array or a CSR tuple (data, indices, indptr, n_cols)",
    ))
}

pub(crate) fn metric(s: &str) -> PyResult<Metric> {
    Ok(Metric::parse(s).map_err(Error::from)?)
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
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i64>,
    distances: PyReadonlyArray1<'py, f64>,
}

impl<'py> GraphArgs<'py> {
    pub(crate) fn borrow(
        indptr: &Bound<'py, PyArray1<i64>>,
        indices: &Bound<'py, PyArray1<i64>>,
        distances: &Bound<'py, PyArray1<f64>>,
    ) -> PyResult<Self> {
        Ok(GraphArgs {
            indptr: readonly(indptr, "indptr")?,
            indices: readonly(indices, "indices")?,
            distances: readonly(distances, "distances")?,
        })
    }

    /// The graph as a validated borrowed view (no copy).
    pub(crate) fn view(&self) -> PyResult<GraphRef<'_>> {
        Ok(GraphRef::new(
            slice1(&self.indptr, "indptr")?,
            slice1(&self.indices, "indices")?,
            slice1(&self.distances, "distances")?,
        )
        .map_err(Error::from)?)
    }
}

/// Label codes as core labels, borrowed from `y`'s readonly borrow.
pub(crate) fn labels<'a>(
    y: &'a PyReadonlyArray1<'_, u32>,
    n: usize,
    n_classes: usize,
) -> PyResult<Labels<'a>> {
    Ok(Labels::new(slice1(y, "y")?, n, n_classes).map_err(Error::from)?)
}

/// A hasher's configuration as Python sees it: `(family, n_bits, n_levels, n_views,
/// min_bucket, max_bucket, seed, center, width, expansion, fan_in)`, the arguments of
/// `Hasher(x, ...)` after `x`.
type HasherConfigTuple<S> = (S, i64, i64, i64, i64, i64, u64, bool, f64, i64, i64);

/// [`Hasher::state`]'s tuple: `(config, n, scale, orders, lcps)`.
type HasherStateTuple<'py> = (
    HasherConfigTuple<&'static str>,
    usize,
    f64,
    Bound<'py, PyArray2<u32>>,
    Bound<'py, PyArray2<u16>>,
);

/// The core's configuration from [`HasherConfigTuple`] (the checks are the core's).
fn hash_config(
    (
        family,
        n_bits,
        n_levels,
        n_views,
        min_bucket,
        max_bucket,
        seed,
        center,
        width,
        expansion,
        fan_in,
    ): HasherConfigTuple<&str>,
) -> PyResult<HashConfig> {
    let (expansion, fan_in) = (count(expansion, "expansion")?, count(fan_in, "fan_in")?);
    Ok(HashConfig {
        family: hash_family(family, center, width, expansion, fan_in)?,
        n_bits: count(n_bits, "n_bits")?,
        n_levels: count(n_levels, "n_levels")?,
        n_views: count(n_views, "n_views")?,
        min_bucket: count(min_bucket, "min_bucket")?,
        max_bucket: count(max_bucket, "max_bucket")?,
        seed,
    })
}

/// Hash tables (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct Hasher {
    inner: HierarchicalHasher,
}

/// The hash family named `name` with its parameters (one list of names until the core
/// parses them).
fn hash_family(
    name: &str,
    center: bool,
    width: f64,
    expansion: usize,
    fan_in: usize,
) -> PyResult<HashFamily> {
    Ok(HashFamily::from_name(name, center, width, expansion, fan_in).map_err(Error::from)?)
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

impl Hasher {
    /// An `n × n_views` array of per-row, per-view values computed by `f`.
    fn per_view<'py, E: Element + Send>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&HierarchicalHasher) -> Vec<E> + Send,
    ) -> PyResult<Bound<'py, PyArray2<E>>> {
        let h = &self.inner;
        let v = nogil(py, "X", || Ok(f(h)))?;
        matrix(py, v, [h.n(), h.config().n_views])
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
        n_bits: i64,
        n_levels: i64,
        n_views: i64,
        min_bucket: i64,
        max_bucket: i64,
        seed: u64,
        center: bool,
        width: f64,
        expansion: i64,
        fan_in: i64,
    ) -> PyResult<Self> {
        let cfg = hash_config((
            family, n_bits, n_levels, n_views, min_bucket, max_bucket, seed, center, width,
            expansion, fan_in,
        ))?;
        Ok(Hasher {
            inner: with_rows(py, x, BuildJob(cfg))?,
        })
    }

    /// The fitted tables' state for pickling: `(config, n, scale, orders, lcps)` with
    /// `config` the constructor's arguments after `x` and the last two `n_views × n`
    /// arrays; `from_state(*state)` rebuilds the tables.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<HasherStateTuple<'py>> {
        let st = self.inner.state();
        let c = &st.cfg;
        let (center, width, expansion, fan_in) = c.family.params();
        let nv = st.orders.len();
        let orders = matrix(py, st.orders.concat(), [nv, st.n])?;
        let lcps = matrix(py, st.lcps.concat(), [nv, st.n])?;
        // Sizes the core has validated fit in i64.
        let int = |v: usize| v as i64;
        Ok((
            (
                c.family.name(),
                int(c.n_bits),
                int(c.n_levels),
                int(c.n_views),
                int(c.min_bucket),
                int(c.max_bucket),
                c.seed,
                center,
                width,
                int(expansion),
                int(fan_in),
            ),
            st.n,
            st.scale,
            orders,
            lcps,
        ))
    }

    /// Tables rebuilt from [`Hasher::state`]'s tuple (checked by the core).
    #[staticmethod]
    fn from_state(
        config: HasherConfigTuple<String>,
        n: i64,
        scale: f64,
        orders: PyReadonlyArray2<'_, u32>,
        lcps: PyReadonlyArray2<'_, u16>,
    ) -> PyResult<Self> {
        let (f, b, l, v, lo, hi, seed, center, width, e, fan) = config;
        let cfg = hash_config((&f, b, l, v, lo, hi, seed, center, width, e, fan))?;
        let state = HasherState {
            cfg,
            n: count(n, "n")?,
            scale,
            orders: orders.as_array().outer_iter().map(|r| r.to_vec()).collect(),
            lcps: lcps.as_array().outer_iter().map(|r| r.to_vec()).collect(),
        };
        Ok(Hasher {
            inner: HierarchicalHasher::from_state(state).map_err(Error::from)?,
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
        self.per_view(py, HierarchicalHasher::levels)
    }
    fn bucket_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        self.per_view(py, HierarchicalHasher::bucket_sizes)
    }
    fn bucket_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u64>>> {
        let h = &self.inner;
        let ids = nogil(py, "X", || h.bucket_ids())?;
        matrix(py, ids, [h.n(), h.config().n_views])
    }
    fn level_ids<'py>(&self, py: Python<'py>, level: i64) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let level = count(level, "level")?;
        let h = &self.inner;
        let ids = nogil(py, "X", || h.level_ids(level))?;
        matrix(py, ids, [h.n(), h.config().n_views])
    }
    fn view_seed(&self, view: i64) -> PyResult<u64> {
        let view = count(view, "view")?;
        Ok(sketchkit::select::hashing::view_seed(
            self.inner.config().seed,
            view,
        ))
    }
    fn codes<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        view: i64,
    ) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let view = count(view, "view")?;
        let c = with_rows(py, x, CodesJob(&self.inner, view))?;
        matrix(py, c, [self.inner.n(), self.inner.config().n_bits])
    }
    fn window_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        self.per_view(py, |h| {
            let mut v = Vec::with_capacity(h.n() * h.config().n_views);
            for i in 0..h.n() {
                v.extend(h.window_sizes(i).into_iter().map(|w| w as u32));
            }
            v
        })
    }
    #[pyo3(signature = (x, n_neighbors, metric, refine = 0))]
    fn knn_graph<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        n_neighbors: i64,
        metric: &str,
        refine: i64,
    ) -> PyResult<GraphArrays<'py>> {
        let job = HashGraphJob(
            &self.inner,
            count(n_neighbors, "n_neighbors")?,
            self::metric(metric)?,
            count(refine, "refine")?,
        );
        Ok(graph_out(py, with_rows(py, x, job)?))
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
    n_neighbors: i64,
    metric: &str,
) -> PyResult<GraphArrays<'py>> {
    let (k, m) = (count(n_neighbors, "n_neighbors")?, self::metric(metric)?);
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    Ok(graph_out(py, with_rows(py, x, RefineJob(g, k, m))?))
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
    n_classes: i64,
    batch_size: i64,
    n_neighbors: i64,
    metric: &str,
    seed: u64,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u32>>,
)> {
    let n_classes = count(n_classes, "n_classes")?;
    let (batch_size, k) = (
        count(batch_size, "batch_size")?,
        count(n_neighbors, "n_neighbors")?,
    );
    let m = self::metric(metric)?;
    let guard = y.map(|a| readonly(a, "y")).transpose()?;
    let lab = match &guard {
        Some(g) => Some(labels(g, g.len(), n_classes)?),
        None => None,
    };
    let (g, batch) = with_rows(py, x, MiniBatchJob(lab, batch_size, k, m, seed))?;
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
    n_neighbors: i64,
    metric: &str,
) -> PyResult<GraphArrays<'py>> {
    let job = ExactJob(count(n_neighbors, "n_neighbors")?, self::metric(metric)?);
    Ok(graph_out(py, with_rows(py, x, job)?))
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
    n_neighbors: i64,
    metric: &str,
) -> PyResult<f64> {
    let (k, m) = (count(n_neighbors, "n_neighbors")?, self::metric(metric)?);
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let s = counts(&sample.to_vec()?, "sample")?;
    with_rows(py, x, RecallJob(g, &s, k, m))
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
    n_classes: i64,
    noise_threshold: f64,
    boundary_weight: f64,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
)> {
    let n_classes = count(n_classes, "n_classes")?;
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let gy = readonly(y, "y")?;
    let lab = labels(&gy, g.n(), n_classes)?;
    let cfg = AttentionConfig {
        noise_threshold,
        boundary_weight,
    };
    let s = nogil(py, "X", || attention::scores(g, &lab, cfg))?;
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
    n_classes: i64,
    score: &Bound<'py, PyArray1<f64>>,
    noisy: &Bound<'py, PyArray1<bool>>,
    quota: Option<Vec<i64>>,
) -> PyResult<(
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
)> {
    let n_classes = count(n_classes, "n_classes")?;
    let quota = quota.map(|q| counts(&q, "quota")).transpose()?;
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let gy = readonly(y, "y")?;
    let lab = labels(&gy, g.n(), n_classes)?;
    let scores = Scores {
        score: score.to_vec()?,
        agreement: Vec::new(),
        representativeness: Vec::new(),
        noisy: noisy.to_vec()?,
    };
    if scores.noisy.len() != g.n() {
        return Err(invalid("noisy", "one flag per row expected"));
    }
    let sel = nogil(py, "X", || {
        attention::select(g, &lab, &scores, quota.as_deref())
    })?;
    Ok((
        index_array(py, sel.indices),
        PyArray1::from_vec(py, sel.weights),
        index_array(py, sel.hops),
    ))
}

struct PrototypeJob<'a> {
    metric: Metric,
    graph: GraphRef<'a>,
    labels: Labels<'a>,
    share: Option<f64>,
    threshold: Option<f64>,
    boundary_weight: f64,
    quota: Option<Vec<usize>>,
    difficulty: f64,
    iters: usize,
    seed: u64,
    keep_all: bool,
}
impl RowsJob for PrototypeJob<'_> {
    type Out = attention::Tuned;
    fn run<T: Real, R: Rows<T>>(self, rows: &R) -> sketchkit::Result<Self::Out> {
        attention::select_prototypes_tuned(
            rows,
            self.metric,
            self.graph,
            &self.labels,
            self.share,
            self.threshold,
            self.boundary_weight,
            self.quota.as_deref(),
            self.difficulty,
            self.iters,
            self.seed,
            self.keep_all,
        )
    }
}

/// A candidate as Python sees it: `(boundary_share, noise_threshold, hits, judged)`.
type CandidateTuple = (f64, f64, usize, usize);

/// What `attention_select_tuned` returns: the selection, the chosen scores, the
/// candidates (a [`CandidateTuple`] and the core's accuracy) with the chosen one,
/// and with `keep_all` every candidate's `(indices, weights)`.
type TunedOut<'py> = (
    (
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<i64>>,
    ),
    (
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<bool>>,
    ),
    Vec<(f64, f64, usize, usize, f64)>,
    usize,
    Vec<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f64>>)>,
);

/// Prototype selection guided by attention scores, its boundary share and noise
/// threshold chosen from the data when `None` (see `_native.pyi`).
#[pyfunction]
#[pyo3(signature = (x, indptr, indices, distances, y, n_classes, metric, boundary_share, noise_threshold, boundary_weight, quota, difficulty_weight, max_iter, seed, keep_all = false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention_select_tuned<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    indptr: &Bound<'py, PyArray1<i64>>,
    indices: &Bound<'py, PyArray1<i64>>,
    distances: &Bound<'py, PyArray1<f64>>,
    y: &Bound<'py, PyArray1<u32>>,
    n_classes: i64,
    metric: &str,
    boundary_share: Option<f64>,
    noise_threshold: Option<f64>,
    boundary_weight: f64,
    quota: Option<Vec<i64>>,
    difficulty_weight: f64,
    max_iter: i64,
    seed: u64,
    keep_all: bool,
) -> PyResult<TunedOut<'py>> {
    let n_classes = count(n_classes, "n_classes")?;
    let quota = quota.map(|q| counts(&q, "quota")).transpose()?;
    let iters = count(max_iter, "max_iter")?;
    let metric = self::metric(metric)?;
    let args = GraphArgs::borrow(indptr, indices, distances)?;
    let g = args.view()?;
    let gy = readonly(y, "y")?;
    let lab = labels(&gy, g.n(), n_classes)?;
    let job = PrototypeJob {
        metric,
        graph: g,
        labels: lab,
        share: boundary_share,
        threshold: noise_threshold,
        boundary_weight,
        quota,
        difficulty: difficulty_weight,
        iters,
        seed,
        keep_all,
    };
    let t = with_rows(py, x, job)?;
    let (sel, s) = (t.selection, t.scores);
    let candidates = t
        .candidates
        .iter()
        .map(|c| {
            let accuracy = c.accuracy();
            (
                c.boundary_share,
                c.noise_threshold,
                c.hits,
                c.judged,
                accuracy,
            )
        })
        .collect();
    Ok((
        (
            index_array(py, sel.indices),
            PyArray1::from_vec(py, sel.weights),
            index_array(py, sel.hops),
        ),
        (
            PyArray1::from_vec(py, s.score),
            PyArray1::from_vec(py, s.agreement),
            PyArray1::from_vec(py, s.representativeness),
            PyArray1::from_vec(py, s.noisy),
        ),
        candidates,
        t.chosen,
        t.all
            .into_iter()
            .map(|a| {
                (
                    index_array(py, a.indices),
                    PyArray1::from_vec(py, a.weights),
                )
            })
            .collect(),
    ))
}

/// The candidate partitions share (see `_native.pyi`): the core's `pooled_choice`.
#[pyfunction]
pub(crate) fn attention_pooled_choice(parts: Vec<Vec<CandidateTuple>>) -> PyResult<usize> {
    let parts: Vec<Vec<attention::Candidate>> = parts
        .into_iter()
        .map(|p| {
            p.into_iter()
                .map(|(b, t, hits, judged)| attention::Candidate {
                    boundary_share: b,
                    noise_threshold: t,
                    hits,
                    judged,
                })
                .collect()
        })
        .collect();
    let refs: Vec<&[attention::Candidate]> = parts.iter().map(Vec::as_slice).collect();
    Ok(attention::pooled_choice(&refs).map_err(Error::from)?)
}
