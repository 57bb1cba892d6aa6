//! `SketchOperator`, the matrix-free sketch operator (see `_native.pyi`).

use crate::convert::{
    array, count, matrix, readonly, view, with_csr, with_float, with_output, Csr, Float, FloatKind,
    Init,
};
use crate::error::{invalid, nogil, Error};
use crate::gpu::Device;
use numpy::{Element, Ix2, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sketchkit::{LinearSketch, MatMut, MatRef, Sketch, SketchError, SparseIndex};

/// The four directions an operator `S` (`k × d`) applies in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `X · Sᵀ` (`X`: n × d).
    Project,
    /// `Z · S` (`Z`: n × k).
    ProjectAdjoint,
    /// `S · A` (`A`: d × m).
    Sketch,
    /// `Sᵀ · Y` (`Y`: k × m).
    SketchAdjoint,
}

impl Op {
    /// The Python name of the input.
    pub(crate) fn input(self) -> &'static str {
        match self {
            Op::Project => "X",
            Op::ProjectAdjoint => "Z",
            Op::Sketch => "A",
            Op::SketchAdjoint => "Y",
        }
    }

    /// The output's dimensions for an input of `(rows, cols)`, after checking the
    /// input's inner dimension against the operator.
    fn out_dims(
        self,
        s: &Sketch,
        name: &str,
        (rows, cols): (usize, usize),
    ) -> PyResult<[usize; 2]> {
        let (k, d) = s.shape();
        // (rows hold data points, inner dimension the input needs, output's inner one)
        let (by_rows, inner, out_inner) = match self {
            Op::Project => (true, d, k),
            Op::ProjectAdjoint => (true, k, d),
            Op::Sketch => (false, d, k),
            Op::SketchAdjoint => (false, k, d),
        };
        let (got, n) = if by_rows { (cols, rows) } else { (rows, cols) };
        if got != inner {
            let what = if by_rows { "columns" } else { "rows" };
            return Err(Error::from(SketchError::ShapeMismatch(format!(
                "shape mismatch: {name} has shape ({rows}, {cols}) but the operator of shape \
                 ({k}, {d}) needs {what} = {inner}"
            )))
            .into());
        }
        Ok(if by_rows {
            [n, out_inner]
        } else {
            [out_inner, n]
        })
    }

    /// This crate's CPU kernels.
    fn run_cpu<T: Float>(
        self,
        s: &Sketch,
        x: MatRef<'_, T>,
        out: MatMut<'_, T>,
    ) -> sketchkit::Result<()> {
        match self {
            Op::Project => s.project(x, out),
            Op::ProjectAdjoint => s.project_adjoint(x, out),
            Op::Sketch => s.sketch(x, out),
            Op::SketchAdjoint => s.sketch_adjoint(x, out),
        }
    }
}

/// `op` applied by `run` to the 2-D array `x` of element `T` (named `name`), into a
/// fresh array holding what `init` says before `run` writes it; with `keep_order`, an
/// F-like input gives an F-order output.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply<'py, T: Float, R: Send>(
    py: Python<'py>,
    s: &Sketch,
    x: &Bound<'py, PyAny>,
    op: Op,
    name: &str,
    keep_order: bool,
    init: Init,
    run: impl FnOnce(MatRef<'_, T>, MatMut<'_, T>) -> sketchkit::Result<R> + Send,
) -> PyResult<(Bound<'py, PyArray2<T>>, R)> {
    let a = array::<T, Ix2>(x, name)?;
    let guard = readonly(a, name)?;
    let xv = view(&guard, name)?;
    let dims = op.out_dims(s, name, (xv.rows(), xv.cols()))?;
    let f_like = keep_order && xv.row_stride() == 1 && xv.col_stride() != 1 && xv.rows() > 1;
    with_output(py, dims, f_like, init, |ov| {
        nogil(py, name, move || run(xv, ov))
    })
}

/// The matrix-free sketch operator (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct SketchOperator {
    pub(crate) inner: Sketch,
}

impl SketchOperator {
    /// `op` on the dense input `x` on `device`: this crate's kernels in the input's
    /// float type, or a float32 [`sketchkit::Backend`].
    fn apply_on(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        op: Op,
        device: &str,
    ) -> PyResult<Py<PyAny>> {
        let s = &self.inner;
        let name = op.input();
        match Device::open_for(py, device, x, name)? {
            Device::Cpu => with_float!(FloatKind::of(x, name)?, T => {
                let (out, ()) = apply::<T, ()>(py, s, x, op, name, true, Init::Overwritten, |x, o| op.run_cpu(s, x, o))?;
                Ok(out.into_any().unbind())
            }),
            Device::Backend(b) => {
                let b: &dyn sketchkit::Backend = &*b;
                // The trait computes by rows; `S·A = (Aᵀ·Sᵀ)ᵀ` and `Sᵀ·Y = (Yᵀ·S)ᵀ`.
                let (out, ()) = apply::<f32, ()>(
                    py,
                    s,
                    x,
                    op,
                    name,
                    false,
                    Init::Zeroed,
                    move |x, o| match op {
                        Op::Project => b.project(s, x, o),
                        Op::ProjectAdjoint => b.project_adjoint(s, x, o),
                        Op::Sketch => b.project(s, x.t(), o.t()),
                        Op::SketchAdjoint => b.project_adjoint(s, x.t(), o.t()),
                    },
                )?;
                Ok(out.into_any().unbind())
            }
        }
    }

    /// A CSR input `(data, indices, indptr)` with `n` (named `n_name`) rows
    /// (`project`) or columns (`sketch`): `X · Sᵀ` or `S · A`.
    #[allow(clippy::too_many_arguments)]
    fn csr<'py>(
        &self,
        py: Python<'py>,
        (data, indices, indptr): (&Bound<'py, PyAny>, &Bound<'py, PyAny>, &Bound<'py, PyAny>),
        n: i64,
        n_name: &str,
        project: bool,
        sparse_output: bool,
        name: &str,
    ) -> PyResult<Py<PyAny>> {
        let n = count(n, n_name)?;
        with_csr!(data, indices, T, I => {
            let csr = Csr::<T, I>::borrow(data, indices, indptr)?;
            csr_apply(py, &self.inner, &csr, n, project, sparse_output, name)
        })
    }
}

fn csr_apply<'py, T: Float, I: SparseIndex + Element>(
    py: Python<'py>,
    s: &Sketch,
    csr: &Csr<'py, T, I>,
    n: usize,
    project: bool,
    sparse_output: bool,
    name: &str,
) -> PyResult<Py<PyAny>> {
    let parts = csr.parts()?;
    let (k, d) = s.shape();
    if !project {
        let run = |ov: MatMut<'_, T>| nogil(py, name, move || s.sketch_csr(&parts.view(d, n)?, ov));
        return Ok(with_output(py, [k, n], false, Init::Overwritten, run)?
            .0
            .into_any()
            .unbind());
    }
    if !sparse_output {
        let run =
            |ov: MatMut<'_, T>| nogil(py, name, move || s.project_csr(&parts.view(n, d)?, ov));
        return Ok(with_output(py, [n, k], false, Init::Overwritten, run)?
            .0
            .into_any()
            .unbind());
    }
    let (p, i, v) = nogil(py, name, || s.project_csr_sparse(&parts.view(n, d)?))?;
    // int32 index arrays whenever they fit: SciPy keeps them without a copy.
    let indptr = if p.last().is_none_or(|&l| l <= i64::from(i32::MAX)) {
        PyArray1::from_vec(py, p.iter().map(|&x| x as i32).collect::<Vec<i32>>()).into_any()
    } else {
        PyArray1::from_vec(py, p).into_any()
    };
    let t = (PyArray1::from_vec(py, v), PyArray1::from_vec(py, i), indptr);
    Ok(t.into_pyobject(py)?.into_any().unbind())
}

#[pymethods]
impl SketchOperator {
    #[new]
    #[pyo3(signature = (family, k, d, seed, nnz = None, density = None))]
    fn new(
        family: &str,
        k: i64,
        d: i64,
        seed: u64,
        nnz: Option<i64>,
        density: Option<f64>,
    ) -> PyResult<Self> {
        let (k, d) = (count(k, "k")?, count(d, "d")?);
        let nnz = nnz.map(|v| count(v, "nnz")).transpose()?;
        let inner = Sketch::from_name(family, k, d, seed, nnz, density).map_err(Error::from)?;
        Ok(SketchOperator { inner })
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
    fn nnz(&self) -> Option<usize> {
        self.inner.nnz()
    }
    #[getter]
    fn density(&self) -> Option<f64> {
        self.inner.density()
    }
    /// The family's own parameters and their values (`{"nnz": 8}`, `{"density": …}`,
    /// or `{}`), by the core's `FamilyKind::parameters`.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &p in self.inner.family().kind().parameters() {
            match p {
                "nnz" => d.set_item(p, self.inner.nnz())?,
                "density" => d.set_item(p, self.inner.density())?,
                other => return Err(invalid(other, "a parameter this binding cannot read")),
            }
        }
        Ok(d)
    }
    #[getter]
    fn padded_dim(&self) -> usize {
        self.inner.padded_dim()
    }
    #[getter]
    fn is_sparse(&self) -> bool {
        self.inner.family().is_sparse()
    }
    /// Bytes the operator's own structures take once built (see the core's
    /// `Sketch::working_bytes`) for entries of `itemsize` bytes.
    fn working_bytes(&self, itemsize: usize) -> f64 {
        self.inner.working_bytes(itemsize)
    }
    #[getter]
    fn scale(&self) -> f64 {
        self.inner.scale()
    }

    #[pyo3(signature = (x, device = "cpu"))]
    fn project(&self, py: Python<'_>, x: &Bound<'_, PyAny>, device: &str) -> PyResult<Py<PyAny>> {
        self.apply_on(py, x, Op::Project, device)
    }
    #[pyo3(signature = (z, device = "cpu"))]
    fn project_adjoint(
        &self,
        py: Python<'_>,
        z: &Bound<'_, PyAny>,
        device: &str,
    ) -> PyResult<Py<PyAny>> {
        self.apply_on(py, z, Op::ProjectAdjoint, device)
    }
    #[pyo3(signature = (a, device = "cpu"))]
    fn sketch(&self, py: Python<'_>, a: &Bound<'_, PyAny>, device: &str) -> PyResult<Py<PyAny>> {
        self.apply_on(py, a, Op::Sketch, device)
    }
    #[pyo3(signature = (y, device = "cpu"))]
    fn sketch_adjoint(
        &self,
        py: Python<'_>,
        y: &Bound<'_, PyAny>,
        device: &str,
    ) -> PyResult<Py<PyAny>> {
        self.apply_on(py, y, Op::SketchAdjoint, device)
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
        self.csr(py, csr, n_rows, "n_rows", true, sparse_output, name)
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
        self.csr(py, csr, n_cols, "n_cols", false, false, name)
    }

    fn to_dense(&self, py: Python<'_>, dtype: &str) -> PyResult<Py<PyAny>> {
        let s = &self.inner;
        let (k, d) = s.shape();
        with_float!(FloatKind::parse(dtype)?, T => {
            let v = nogil(py, "X", || s.to_dense::<T>())?;
            Ok(matrix(py, v, [k, d])?.into_any().unbind())
        })
    }

    fn to_csc(&self, py: Python<'_>, dtype: &str) -> PyResult<Py<PyAny>> {
        let s = &self.inner;
        with_float!(FloatKind::parse(dtype)?, T => {
            let (p, i, v) = nogil(py, "X", || s.to_csc::<T>())?;
            let t = (
                PyArray1::from_vec(py, v),
                PyArray1::from_vec(py, i),
                PyArray1::from_vec(py, p),
            );
            Ok(t.into_pyobject(py)?.into_any().unbind())
        })
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
