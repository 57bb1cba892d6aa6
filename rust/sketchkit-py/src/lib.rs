//! `sketchkit._native`: the PyO3 binding. Conversion, GIL release and error mapping
//! only; every algorithm lives in the `sketchkit` core crate.
//!
//! Arrays are borrowed (never copied): a NumPy array becomes a strided
//! [`MatRef`] over its buffer; results are written into freshly allocated NumPy
//! arrays while the GIL is released. Panics are caught at this boundary and turned
//! into `RuntimeError`, so none crosses into Python.

use numpy::{Element, PyArray1, PyArray2, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use sketchkit::{
    CsrRef, Family, LinearSketch, MatMut, MatRef, Real, Sketch, SketchError, SparseIndex,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod baselines;
mod gpu;
mod select;

fn to_py(e: SketchError) -> PyErr {
    to_py_named(e, "X")
}

/// Maps a core error; `name` is the argument a NaN/inf report names.
fn to_py_named(e: SketchError, name: &str) -> PyErr {
    match e {
        SketchError::NonFinite => {
            PyValueError::new_err(format!("Input {name} contains NaN or infinity."))
        }
        SketchError::InvalidArgument { arg, msg } => PyValueError::new_err(format!("{arg}: {msg}")),
        SketchError::ShapeMismatch(m) => PyValueError::new_err(m),
        SketchError::Overflow(m) => PyOverflowError::new_err(m),
        SketchError::Alloc(m) => PyMemoryError::new_err(format!("cannot allocate {m}")),
        SketchError::Device(m) => PyRuntimeError::new_err(m),
    }
}

/// Runs `f` without the GIL, catching panics.
pub(crate) fn nogil<R: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    nogil_named(py, "X", f)
}

/// [`nogil`], naming the input argument in NaN/inf errors.
pub(crate) fn nogil_named<R: Send>(
    py: Python<'_>,
    name: &str,
    f: impl FnOnce() -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown".into());
            PyRuntimeError::new_err(format!("internal error in sketchkit: {msg}"))
        })?
        .map_err(|e| to_py_named(e, name))
}

/// A strided view of a 2-D NumPy array (strides converted to elements).
pub(crate) fn view<'a, T: Element>(
    a: &'a Bound<'_, PyArray2<T>>,
    name: &str,
) -> PyResult<MatRef<'a, T>> {
    let esz = std::mem::size_of::<T>() as isize;
    let st = a.strides();
    if st[0] % esz != 0
        || st[1] % esz != 0
        || !(a.data() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return Err(PyValueError::new_err(format!(
            "{name} must be aligned (use numpy.require(x, requirements='A'))"
        )));
    }
    let (r, c) = (a.shape()[0], a.shape()[1]);
    // SAFETY: the array object is alive for 'a (we hold a reference to it) and its
    // shape/strides describe its valid elements; the caller keeps a readonly borrow
    // guard alive while the view is used.
    Ok(unsafe { MatRef::from_raw_parts(a.data(), r, c, st[0] / esz, st[1] / esz) })
}

/// A mutable view of a freshly created 2-D array.
pub(crate) fn view_mut<'a, T: Element>(a: &'a Bound<'_, PyArray2<T>>) -> MatMut<'a, T> {
    let esz = std::mem::size_of::<T>() as isize;
    let st = a.strides();
    let (r, c) = (a.shape()[0], a.shape()[1]);
    // SAFETY: `a` was just allocated by us (contiguous, aligned, not aliased, not yet
    // visible to Python code), so exclusive access through this view is sound.
    unsafe { MatMut::from_raw_parts(a.data(), r, c, st[0] / esz, st[1] / esz) }
}

/// A mutable view of a writable 2-D array for in-place work. The caller must hold the
/// array's readwrite borrow (`try_readwrite`) while the view is used.
pub(crate) fn writable_view<'a, T: Element>(
    x: &'a Bound<'_, PyArray2<T>>,
) -> PyResult<MatMut<'a, T>> {
    let esz = std::mem::size_of::<T>() as isize;
    let st = x.strides();
    if st[0] % esz != 0
        || st[1] % esz != 0
        || !(x.data() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return Err(PyValueError::new_err("x must be aligned"));
    }
    let (r, c) = (x.shape()[0], x.shape()[1]);
    let (rs, cs) = (st[0] / esz, st[1] / esz);
    if r > 1 && c > 1 && (rs == 0 || cs == 0) {
        return Err(PyValueError::new_err(
            "x: broadcast (zero-stride) arrays cannot be transformed in place",
        ));
    }
    // Overlapping rows or columns (e.g. numpy.lib.stride_tricks.as_strided views):
    // the smaller stride's run must end before the larger stride's next step.
    let (small, n_small, large) = if rs.unsigned_abs() <= cs.unsigned_abs() {
        (rs, r, cs)
    } else {
        (cs, c, rs)
    };
    if r > 1 && c > 1 && small.unsigned_abs() * n_small > large.unsigned_abs() {
        return Err(PyValueError::new_err(
            "x: arrays whose elements overlap in memory cannot be transformed in place",
        ));
    }
    // SAFETY: the caller holds the array's readwrite borrow while the view is used,
    // the array is writeable, and its shape and strides describe its elements (no two
    // elements alias: zero strides were rejected above).
    Ok(unsafe { MatMut::from_raw_parts(x.data(), r, c, rs, cs) })
}

pub(crate) fn slice1<'a, T: Element>(
    a: &'a Bound<'_, PyArray1<T>>,
    name: &str,
) -> PyResult<&'a [T]> {
    if !a.is_contiguous() {
        return Err(PyValueError::new_err(format!("{name} must be contiguous")));
    }
    // SAFETY: contiguous 1-D array alive for 'a; callers hold a readonly guard.
    unsafe { a.as_slice() }.map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Project,
    ProjectAdjoint,
    Sketch,
    SketchAdjoint,
}

/// The matrix-free sketch operator (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct SketchOperator {
    pub(crate) inner: Sketch,
    nnz: usize,
    density: f64,
}

fn apply<'py, T: Real + Element>(
    py: Python<'py>,
    s: &Sketch,
    x: &Bound<'py, PyArray2<T>>,
    op: Op,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let _guard = x
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("input: {e}")))?;
    let xv = view(x, "input")?;
    let (k, d) = s.shape();
    let (n, inner, out_inner) = match op {
        Op::Project => (xv.rows(), d, k),
        Op::ProjectAdjoint => (xv.rows(), k, d),
        Op::Sketch => (xv.cols(), d, k),
        Op::SketchAdjoint => (xv.cols(), k, d),
    };
    let (got_inner, name) = match op {
        Op::Project | Op::ProjectAdjoint => (xv.cols(), "X"),
        Op::Sketch | Op::SketchAdjoint => (xv.rows(), "A"),
    };
    if got_inner != inner {
        return Err(PyValueError::new_err(format!(
            "shape mismatch: {name} has shape ({}, {}) but the operator of shape ({k}, {d}) needs {} = {inner}",
            xv.rows(),
            xv.cols(),
            if matches!(op, Op::Project | Op::ProjectAdjoint) { "columns" } else { "rows" }
        )));
    }
    // Keep the input's memory order: F-like input gives F-order output.
    let f_like = xv.row_stride() == 1 && xv.col_stride() != 1 && xv.rows() > 1;
    let dims = match op {
        Op::Project | Op::ProjectAdjoint => [n, out_inner],
        Op::Sketch | Op::SketchAdjoint => [out_inner, n],
    };
    let out = PyArray2::<T>::zeros(py, dims, f_like);
    let ov = view_mut(&out);
    let arg = match op {
        Op::Project => "X",
        Op::ProjectAdjoint => "Z",
        Op::Sketch => "A",
        Op::SketchAdjoint => "Y",
    };
    nogil_named(py, arg, move || match op {
        Op::Project => s.project(xv, ov),
        Op::ProjectAdjoint => s.project_adjoint(xv, ov),
        Op::Sketch => s.sketch(xv, ov),
        Op::SketchAdjoint => s.sketch_adjoint(xv, ov),
    })?;
    Ok(out)
}

macro_rules! float_dispatch {
    ($x:expr, $name:expr, |$a:ident: $t:ident| $body:expr) => {{
        if let Ok($a) = $x.cast::<PyArray2<f32>>() {
            type $t = f32;
            $body
        } else if let Ok($a) = $x.cast::<PyArray2<f64>>() {
            type $t = f64;
            $body
        } else {
            Err(PyTypeError::new_err(format!(
                "{} must be a 2-D float32 or float64 numpy.ndarray with native byte order",
                $name
            )))
        }
    }};
}

/// What a CSR call computes.
#[derive(Clone, Copy)]
struct CsrJob<'a> {
    /// Rows of `X` (project) or columns of `A` (sketch).
    outer: usize,
    /// `X · Sᵀ` (true) or `S · A` (false).
    project: bool,
    /// Return the CSR triple instead of a dense array (project only).
    sparse_output: bool,
    /// Argument named in NaN/inf errors.
    name: &'a str,
}

fn csr_call<'py, T: Real + Element, I: SparseIndex + Element>(
    py: Python<'py>,
    s: &Sketch,
    data: &Bound<'py, PyArray1<T>>,
    indices: &Bound<'py, PyAny>,
    indptr: &Bound<'py, PyAny>,
    job: CsrJob<'_>,
) -> PyResult<Py<PyAny>> {
    let CsrJob {
        outer,
        project,
        sparse_output,
        name,
    } = job;
    let indices = indices.cast::<PyArray1<I>>().map_err(|_| {
        PyTypeError::new_err("indices and indptr must share one dtype, int32 or int64")
    })?;
    let indptr = indptr.cast::<PyArray1<I>>().map_err(|_| {
        PyTypeError::new_err("indices and indptr must share one dtype, int32 or int64")
    })?;
    let (_g1, _g2, _g3) = (
        data.try_readonly()
            .map_err(|e| PyValueError::new_err(format!("data: {e}")))?,
        indices
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("indices: {e}")))?,
        indptr
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("indptr: {e}")))?,
    );
    let (dv, iv, pv) = (
        slice1(data, "data")?,
        slice1(indices, "indices")?,
        slice1(indptr, "indptr")?,
    );
    let (k, d) = s.shape();
    if project {
        if sparse_output {
            let (p, i, v) = nogil_named(py, name, || {
                let x = CsrRef::new(outer, d, pv, iv, dv)?;
                s.project_csr_sparse(&x)
            })?;
            // int32 index arrays whenever they fit: SciPy keeps them without a copy.
            let indptr = if p.last().is_none_or(|&l| l <= i64::from(i32::MAX)) {
                PyArray1::from_vec(py, p.iter().map(|&x| x as i32).collect::<Vec<i32>>()).into_any()
            } else {
                PyArray1::from_vec(py, p).into_any()
            };
            let t = (PyArray1::from_vec(py, v), PyArray1::from_vec(py, i), indptr);
            return Ok(t.into_pyobject(py)?.into_any().unbind());
        }
        let out = PyArray2::<T>::zeros(py, [outer, k], false);
        let ov = view_mut(&out);
        nogil_named(py, name, move || {
            let x = CsrRef::new(outer, d, pv, iv, dv)?;
            s.project_csr(&x, ov)
        })?;
        Ok(out.into_any().unbind())
    } else {
        let out = PyArray2::<T>::zeros(py, [k, outer], false);
        let ov = view_mut(&out);
        nogil_named(py, name, move || {
            let a = CsrRef::new(d, outer, pv, iv, dv)?;
            s.sketch_csr(&a, ov)
        })?;
        Ok(out.into_any().unbind())
    }
}

#[allow(clippy::too_many_arguments)]
fn csr_dispatch<'py>(
    py: Python<'py>,
    s: &Sketch,
    (data, indices, indptr): (&Bound<'py, PyAny>, &Bound<'py, PyAny>, &Bound<'py, PyAny>),
    outer: i64,
    project: bool,
    sparse_output: bool,
    name: &str,
) -> PyResult<Py<PyAny>> {
    let outer = usize::try_from(outer)
        .map_err(|_| PyValueError::new_err("the number of rows must be >= 0"))?;
    let job = CsrJob {
        outer,
        project,
        sparse_output,
        name,
    };
    let is64 = indices.cast::<PyArray1<i64>>().is_ok();
    macro_rules! go {
        ($t:ty) => {{
            let dv = data
                .cast::<PyArray1<$t>>()
                .map_err(|_| PyTypeError::new_err("data must be a 1-D float32 or float64 array"))?;
            if is64 {
                csr_call::<$t, i64>(py, s, dv, indices, indptr, job)
            } else {
                csr_call::<$t, i32>(py, s, dv, indices, indptr, job)
            }
        }};
    }
    if data.cast::<PyArray1<f32>>().is_ok() {
        go!(f32)
    } else {
        go!(f64)
    }
}

#[pymethods]
impl SketchOperator {
    #[new]
    #[pyo3(signature = (family, k, d, seed, nnz = 8, density = 1.0))]
    fn new(family: &str, k: i64, d: i64, seed: u64, nnz: i64, density: f64) -> PyResult<Self> {
        let k = usize::try_from(k).map_err(|_| PyValueError::new_err("k: must be at least 1"))?;
        let d = usize::try_from(d).map_err(|_| PyValueError::new_err("d: must be at least 1"))?;
        let nnz_u =
            usize::try_from(nnz).map_err(|_| PyValueError::new_err("nnz: must be at least 1"))?;
        let fam = match family {
            "gaussian" => Family::Gaussian,
            "rademacher" => Family::Rademacher,
            "very_sparse" => Family::VerySparse { density },
            "sparse_sign" => Family::SparseSign { nnz: nnz_u },
            "countsketch" => Family::CountSketch,
            "srht" => Family::Srht,
            other => {
                return Err(PyValueError::new_err(format!(
                    "family: unknown family {other:?}; expected one of gaussian, rademacher, \
                     very_sparse, sparse_sign, countsketch"
                )))
            }
        };
        let inner = Sketch::new(fam, k, d, seed).map_err(to_py)?;
        Ok(SketchOperator {
            inner,
            nnz: nnz_u,
            density,
        })
    }

    #[getter]
    fn shape(&self) -> (usize, usize) {
        self.inner.shape()
    }
    #[getter]
    fn family(&self) -> &'static str {
        self.inner.family().name()
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }
    #[getter]
    fn nnz(&self) -> usize {
        match self.inner.family() {
            Family::SparseSign { nnz } => nnz,
            Family::CountSketch => 1,
            _ => self.nnz,
        }
    }
    #[getter]
    fn density(&self) -> f64 {
        match self.inner.family() {
            Family::VerySparse { density } => density,
            _ => self.density,
        }
    }
    #[getter]
    fn scale(&self) -> f64 {
        self.inner.scale()
    }

    fn project<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(x, "X", |a: T| apply::<T>(py, &self.inner, a, Op::Project)
            .map(|o| o.into_any().unbind()))
    }
    fn project_adjoint<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(z, "Z", |a: T| apply::<T>(
            py,
            &self.inner,
            a,
            Op::ProjectAdjoint
        )
        .map(|o| o.into_any().unbind()))
    }
    fn sketch<'py>(&self, py: Python<'py>, a: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(a, "A", |v: T| apply::<T>(py, &self.inner, v, Op::Sketch)
            .map(|o| o.into_any().unbind()))
    }
    fn sketch_adjoint<'py>(&self, py: Python<'py>, y: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(y, "Y", |v: T| apply::<T>(
            py,
            &self.inner,
            v,
            Op::SketchAdjoint
        )
        .map(|o| o.into_any().unbind()))
    }

    #[pyo3(signature = (data, indices, indptr, n_rows, sparse_output = false, name = "X"))]
    #[allow(clippy::too_many_arguments)]
    fn project_csr<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        indices: &Bound<'py, PyAny>,
        indptr: &Bound<'py, PyAny>,
        n_rows: i64,
        sparse_output: bool,
        name: &str,
    ) -> PyResult<Py<PyAny>> {
        let csr = (data, indices, indptr);
        csr_dispatch(py, &self.inner, csr, n_rows, true, sparse_output, name)
    }

    #[pyo3(signature = (data, indices, indptr, n_cols, name = "A"))]
    fn sketch_csr<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        indices: &Bound<'py, PyAny>,
        indptr: &Bound<'py, PyAny>,
        n_cols: i64,
        name: &str,
    ) -> PyResult<Py<PyAny>> {
        let csr = (data, indices, indptr);
        csr_dispatch(py, &self.inner, csr, n_cols, false, false, name)
    }

    fn to_dense<'py>(&self, py: Python<'py>, dtype: &str) -> PyResult<Py<PyAny>> {
        let s = &self.inner;
        dense_result(
            py,
            dtype,
            s.shape(),
            || s.to_dense::<f32>(),
            || s.to_dense::<f64>(),
        )
    }

    fn to_csc<'py>(&self, py: Python<'py>, dtype: &str) -> PyResult<Py<PyAny>> {
        macro_rules! go {
            ($t:ty) => {{
                let (p, i, v) = nogil(py, || self.inner.to_csc::<$t>())?;
                let t = (
                    PyArray1::from_vec(py, v),
                    PyArray1::from_vec(py, i),
                    PyArray1::from_vec(py, p),
                );
                Ok(t.into_pyobject(py)?.into_any().unbind())
            }};
        }
        match dtype {
            "float32" => go!(f32),
            "float64" => go!(f64),
            _ => Err(PyValueError::new_err(
                "dtype: expected 'float32' or 'float64'",
            )),
        }
    }

    fn __repr__(&self) -> String {
        let (k, d) = self.inner.shape();
        format!(
            "SketchOperator({:?}, k={k}, d={d}, seed={})",
            self.inner.family().name(),
            self.inner.seed()
        )
    }
}

/// A dense `rows × cols` result computed by `f32`/`f64` closures, chosen by `dtype`.
fn dense_result(
    py: Python<'_>,
    dtype: &str,
    (rows, cols): (usize, usize),
    f32_: impl FnOnce() -> sketchkit::Result<Vec<f32>> + Send,
    f64_: impl FnOnce() -> sketchkit::Result<Vec<f64>> + Send,
) -> PyResult<Py<PyAny>> {
    match dtype {
        "float32" => Ok(PyArray1::from_vec(py, nogil(py, f32_)?)
            .reshape([rows, cols])?
            .into_any()
            .unbind()),
        "float64" => Ok(PyArray1::from_vec(py, nogil(py, f64_)?)
            .reshape([rows, cols])?
            .into_any()
            .unbind()),
        _ => Err(PyValueError::new_err(
            "dtype: expected 'float32' or 'float64'",
        )),
    }
}

/// Randomized Hadamard rotation (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
struct HadamardRotation {
    inner: sketchkit::rotation::HadamardRotation,
}

fn rotate<'py, T: Real + Element>(
    py: Python<'py>,
    q: &sketchkit::rotation::HadamardRotation,
    x: &Bound<'py, PyArray2<T>>,
    inverse: bool,
) -> PyResult<Py<PyAny>> {
    let _guard = x
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("input: {e}")))?;
    let name = if inverse { "Y" } else { "X" };
    let xv = view(x, name)?;
    let out = PyArray2::<T>::zeros(py, [xv.rows(), q.dim()], false);
    let ov = view_mut(&out);
    nogil_named(py, name, move || {
        if inverse {
            q.inverse(xv, ov)
        } else {
            q.apply(xv, ov)
        }
    })?;
    Ok(out.into_any().unbind())
}

#[pymethods]
impl HadamardRotation {
    #[new]
    #[pyo3(signature = (d, rounds = 3, seed = 0))]
    fn new(d: i64, rounds: i64, seed: u64) -> PyResult<Self> {
        let d = usize::try_from(d).map_err(|_| PyValueError::new_err("d: must be at least 1"))?;
        let rounds = usize::try_from(rounds)
            .map_err(|_| PyValueError::new_err("rounds: must be at least 1"))?;
        let inner = sketchkit::rotation::HadamardRotation::new(d, rounds, seed).map_err(to_py)?;
        Ok(HadamardRotation { inner })
    }
    #[getter]
    fn d(&self) -> usize {
        self.inner.d()
    }
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    #[getter]
    fn rounds(&self) -> usize {
        self.inner.rounds()
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }
    fn apply<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(x, "X", |a: T| rotate::<T>(py, &self.inner, a, false))
    }
    fn inverse<'py>(&self, py: Python<'py>, y: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        float_dispatch!(y, "Y", |a: T| rotate::<T>(py, &self.inner, a, true))
    }
    fn to_dense<'py>(&self, py: Python<'py>, dtype: &str) -> PyResult<Py<PyAny>> {
        let (q, n) = (&self.inner, self.inner.dim());
        dense_result(
            py,
            dtype,
            (n, n),
            || q.to_dense::<f32>(),
            || q.to_dense::<f64>(),
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "HadamardRotation(d={}, rounds={}, seed={})",
            self.inner.d(),
            self.inner.rounds(),
            self.inner.seed()
        )
    }
}

fn fwht_array<T: Real + Element>(
    py: Python<'_>,
    x: &Bound<'_, PyArray2<T>>,
    axis: i64,
    normalized: bool,
) -> PyResult<()> {
    // Fails for read-only arrays and for arrays already borrowed elsewhere.
    let _guard = x
        .try_readwrite()
        .map_err(|e| PyValueError::new_err(format!("x cannot be written in place: {e}")))?;
    let m = writable_view(x)?;
    nogil_named(py, "x", move || match axis {
        1 => sketchkit::fwht::fwht_rows(m, normalized),
        0 => sketchkit::fwht::fwht_cols(m, normalized),
        _ => Err(SketchError::InvalidArgument {
            arg: "axis",
            msg: "must be 0 or 1".into(),
        }),
    })
}

fn fwht_vec_typed<T: Real + Element>(
    py: Python<'_>,
    a: &Bound<'_, PyArray1<T>>,
    normalized: bool,
) -> PyResult<bool> {
    let n = a.len();
    if !a.is_contiguous()
        || n == 0
        || !n.is_power_of_two()
        || sketchkit::fwht::check_len(n, "x").is_err()
    {
        return Ok(false);
    }
    let Ok(mut guard) = a.try_readwrite() else {
        return Ok(false);
    };
    let Ok(x) = guard.as_slice_mut() else {
        return Ok(false);
    };
    let run = move || -> sketchkit::Result<()> {
        // Checked before anything is overwritten.
        if !sketchkit::finite::slice_all_finite(x) {
            return Err(SketchError::NonFinite);
        }
        if normalized {
            sketchkit::fwht::fwht_normalized(x)
        } else {
            sketchkit::fwht::fwht(x)
        }
    };
    // Small transforms take less time than releasing and re-taking the GIL.
    if n < (1 << 14) {
        catch_unwind(AssertUnwindSafe(run))
            .map_err(|_| PyRuntimeError::new_err("internal error in sketchkit: fwht panicked"))?
            .map_err(|e| to_py_named(e, "x"))?;
    } else {
        nogil_named(py, "x", run)?;
    }
    Ok(true)
}

/// The fast path of `fwht(x, inplace=True)` for a contiguous, writable 1-D float32 or
/// float64 array of power-of-two length: transforms it and returns True; returns
/// False (touching nothing) when `x` is not such an array, so the caller can take
/// the general path with its detailed errors. NaN/inf raise `ValueError`.
#[pyfunction]
fn fwht_vec(py: Python<'_>, x: &Bound<'_, PyAny>, normalized: bool) -> PyResult<bool> {
    if let Ok(a) = x.cast::<PyArray1<f32>>() {
        fwht_vec_typed(py, a, normalized)
    } else if let Ok(a) = x.cast::<PyArray1<f64>>() {
        fwht_vec_typed(py, a, normalized)
    } else {
        Ok(false)
    }
}

/// In-place FWHT along `axis` of a writable 2-D float array.
#[pyfunction]
fn fwht_inplace(py: Python<'_>, x: &Bound<'_, PyAny>, axis: i64, normalized: bool) -> PyResult<()> {
    if let Ok(a) = x.cast::<PyArray2<f32>>() {
        fwht_array::<f32>(py, a, axis, normalized)
    } else if let Ok(a) = x.cast::<PyArray2<f64>>() {
        fwht_array::<f64>(py, a, axis, normalized)
    } else {
        Err(PyTypeError::new_err(
            "x must be a 2-D float32 or float64 numpy.ndarray with native byte order",
        ))
    }
}

/// True when every element is finite.
#[pyfunction]
fn all_finite(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<bool> {
    macro_rules! go {
        ($t:ty) => {{
            if let Ok(a) = x.cast::<numpy::PyArrayDyn<$t>>() {
                let _g = a
                    .try_readonly()
                    .map_err(|e| PyValueError::new_err(format!("x: {e}")))?;
                let a2 = if a.ndim() == 2 {
                    a.clone().into_any()
                } else {
                    // Any other ndim: view it as one row (reshape never copies here
                    // for contiguous data; otherwise NumPy makes a temporary copy).
                    a.reshape([1usize, a.len()])?.into_any()
                };
                let a2 = a2
                    .cast_into::<PyArray2<$t>>()
                    .map_err(|e| PyTypeError::new_err(e.to_string()))?;
                let v = view(&a2, "x")?;
                return nogil(py, move || Ok(sketchkit::all_finite(v)));
            }
        }};
    }
    go!(f32);
    go!(f64);
    Err(PyTypeError::new_err(
        "x must be a float32 or float64 numpy.ndarray",
    ))
}

/// Sets the size of the crate's thread pool.
#[pyfunction]
fn set_num_threads(n: i64) -> PyResult<()> {
    let n = usize::try_from(n)
        .map_err(|_| PyValueError::new_err("n: the number of threads must be at least 1"))?;
    sketchkit::set_num_threads(n).map_err(to_py)
}

/// The size of the crate's thread pool.
#[pyfunction]
fn get_num_threads() -> usize {
    sketchkit::get_num_threads()
}

/// The SIMD level kernels dispatch to.
#[pyfunction]
fn simd_level() -> &'static str {
    sketchkit::simd::level().name()
}

/// Caps the SIMD level (testing hook); `None` restores detection.
#[pyfunction]
#[pyo3(signature = (level = None))]
fn force_simd_level(level: Option<&str>) -> PyResult<()> {
    match level {
        None => sketchkit::simd::set_cap(None),
        Some(l) => {
            let lv = sketchkit::simd::Level::parse(l).ok_or_else(|| {
                PyValueError::new_err("level: expected 'scalar', 'avx2' or 'avx512'")
            })?;
            sketchkit::simd::set_cap(Some(lv));
        }
    }
    Ok(())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SketchOperator>()?;
    m.add_class::<HadamardRotation>()?;
    m.add_function(wrap_pyfunction!(fwht_inplace, m)?)?;
    m.add_function(wrap_pyfunction!(fwht_vec, m)?)?;
    m.add_function(wrap_pyfunction!(all_finite, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(force_simd_level, m)?)?;
    select::register(m)?;
    gpu::register(m)?;
    baselines::register(m)?;
    Ok(())
}
