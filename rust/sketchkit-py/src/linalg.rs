//! Randomized linear algebra (`sketchkit::linalg`) for Python.
//!
//! A matrix argument `A` arrives in one of three forms, which [`with_op!`] turns
//! into a core [`LinOp`] (built without the GIL):
//! * a 2-D float32/float64 NumPy array (any strides);
//! * `("csr" | "csc", data, indices, indptr, n_rows, n_cols)`: SciPy's arrays;
//! * `("op", matmat, rmatmat, None, n_rows, n_cols, dtype)`: a matrix-free operator whose
//!   callables take and return 2-D arrays of `dtype` (Python wraps a SciPy
//!   `LinearOperator` this way). They run with the GIL re-taken; an exception they
//!   raise is re-raised unchanged.

use crate::convert::{
    array, count, readonly, slice1, view, with_csr, with_float, Csr, Float, FloatKind,
};
use crate::error::{invalid, nogil, nogil_cancellable, Error};
use numpy::{Ix1, Ix2, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use sketchkit::linalg::faer::{Mat, MatMut, MatRef};
use sketchkit::linalg::{
    self, Cancellable, CsrOp, DenseOp, Field, FlipSign, FnOp, Guarantee, LeverageMethod, LinOp,
    LstsqMethod, LstsqOptions, RsvdOptions,
};
use sketchkit::{FamilyKind, SketchError};
use std::sync::{Arc, Mutex};

/// The first exception a Python callback raised (re-raised after the core returns).
#[derive(Clone, Default)]
struct Raised(Arc<Mutex<Option<PyErr>>>);

impl Raised {
    fn keep(&self, e: PyErr) -> SketchError {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(e);
        }
        SketchError::arg("A", "a callback raised an exception")
    }
    /// The callback's exception if there was one, else `err`.
    fn or(self, err: PyErr) -> PyErr {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(err)
    }
}

/// A faer matrix as a new C-ordered NumPy array.
fn to_py<'py, T: Float + Field>(
    py: Python<'py>,
    m: MatRef<'_, T>,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut v = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            v.push(m[(i, j)]);
        }
    }
    crate::convert::matrix(py, v, [r, c])
}

/// Calls `f(X)` (a Python callable on 2-D arrays) and copies its result into `out`.
fn call_into<T: Float + Field>(
    f: &Py<PyAny>,
    x: MatRef<'_, T>,
    mut out: MatMut<'_, T>,
    raised: &Raised,
    what: &str,
) -> sketchkit::Result<()> {
    Python::attach(|py| {
        let mut go = || -> PyResult<()> {
            let res = f.call1(py, (to_py(py, x)?,))?;
            let res = res.bind(py);
            let arr = array::<T, Ix2>(res, what)?;
            let ro = readonly(arr, what)?;
            let v = view(&ro, what)?;
            if (v.rows(), v.cols()) != (out.nrows(), out.ncols()) {
                return Err(invalid(
                    what,
                    format!(
                        "returned shape ({}, {}), expected ({}, {})",
                        v.rows(),
                        v.cols(),
                        out.nrows(),
                        out.ncols()
                    ),
                ));
            }
            for j in 0..v.cols() {
                for i in 0..v.rows() {
                    out[(i, j)] = v.get(i, j);
                }
            }
            Ok(())
        };
        go().map_err(|e| raised.keep(e))
    })
}

/// Runs `$work` (a `sketchkit::Result`) without the GIL on the operator `$op`
/// (`&dyn LinOp<$t>`) built from the Python argument `$a`, then `$conv` (a
/// `PyResult`) with the work's value bound to `$res`.
macro_rules! with_op {
    ($py:expr, $a:expr, $t:ident, { $($prep:stmt;)* }, $op:ident => $work:expr, $res:ident => $conv:expr) => {{
        let py: Python<'_> = $py;
        let a: &Bound<'_, PyAny> = $a;
        if let Ok(tup) = a.cast::<PyTuple>() {
            let kind: String = tup.get_item(0)?.extract()?;
            let rows = count(tup.get_item(4)?.extract()?, "A.shape")?;
            let cols = count(tup.get_item(5)?.extract()?, "A.shape")?;
            match kind.as_str() {
                "csr" | "csc" => {
                    let (data, indices, indptr) = (tup.get_item(1)?, tup.get_item(2)?, tup.get_item(3)?);
                    with_csr!(&data, &indices, $t, I => {
                        $($prep)*
                        let csr = Csr::<$t, I>::borrow(&data, &indices, &indptr)?;
                        let parts = csr.parts()?;
                        let csc = kind == "csc";
                        let (r, c) = if csc { (cols, rows) } else { (rows, cols) };
                        let cancel = std::sync::atomic::AtomicBool::new(false);
                        let $res = nogil_cancellable(py, "A", &cancel, || {
                            let built = CsrOp::new(parts.view(r, c).map_err(|e| e.for_input("A"))?, csc, "A")?;
                            let wrapped = Cancellable::new(&built, &cancel);
                            let $op: &dyn LinOp<$t> = &wrapped;
                            $work
                        })?;
                        $conv
                    })
                }
                "op" => {
                    let f: Py<PyAny> = tup.get_item(1)?.unbind();
                    let g: Py<PyAny> = tup.get_item(2)?.unbind();
                    let dtype: String = tup.get_item(6)?.extract()?;
                    let fk = FloatKind::parse(&dtype)?;
                    with_float!(fk, $t => {
                        $($prep)*
                        let raised = Raised::default();
                        let (r1, r2) = (raised.clone(), raised.clone());
                        let built = FnOp::new(
                            rows,
                            cols,
                            move |x: MatRef<'_, $t>, out: MatMut<'_, $t>| call_into(&f, x, out, &r1, "matmat"),
                            move |y: MatRef<'_, $t>, out: MatMut<'_, $t>| call_into(&g, y, out, &r2, "rmatmat"),
                        );
                        let cancel = std::sync::atomic::AtomicBool::new(false);
                        let $res = nogil_cancellable(py, "A", &cancel, || {
                            let wrapped = Cancellable::new(&built, &cancel);
                            let $op: &dyn LinOp<$t> = &wrapped;
                            $work
                        })
                        .map_err(|e| raised.clone().or(e))?;
                        $conv
                    })
                }
                other => Err(invalid("A", format!("unknown matrix kind {other:?}"))),
            }
        } else {
            let fk = FloatKind::of(a, "A")?;
            with_float!(fk, $t => {
                $($prep)*
                let ro = readonly(array::<$t, Ix2>(a, "A")?, "A")?;
                let v = view(&ro, "A")?;
                let cancel = std::sync::atomic::AtomicBool::new(false);
                let $res = nogil_cancellable(py, "A", &cancel, || {
                    let built = DenseOp::new(v, "A")?;
                    let wrapped = Cancellable::new(&built, &cancel);
                    let $op: &dyn LinOp<$t> = &wrapped;
                    $work
                })?;
                $conv
            })
        }
    }};
}

/// A 2-D array argument of element `T` as faer's view, borrowed for the call.
fn dense_arg<'a, T: Float + Field>(
    ro: &'a numpy::PyReadonlyArray2<'_, T>,
    name: &str,
) -> PyResult<MatRef<'a, T>> {
    Ok(linalg::to_faer(view(ro, name)?))
}

fn family(name: &str) -> PyResult<FamilyKind> {
    Ok(name.parse().map_err(Error::from)?)
}

/// `sketchkit.linalg.lstsq`'s native half: a dict of the result's fields.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (a, b, method, sketch, sketch_size, rtol, maxiter, reg, guarantee, eps, delta, seed))]
pub(crate) fn lstsq<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    method: &str,
    sketch: &str,
    sketch_size: Option<i64>,
    rtol: Option<f64>,
    maxiter: Option<i64>,
    reg: f64,
    guarantee: &str,
    eps: f64,
    delta: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = LstsqOptions {
        method: method.parse().map_err(Error::from)?,
        sketch: family(sketch)?,
        sketch_size: sketch_size.map(|m| count(m, "sketch_size")).transpose()?,
        rtol,
        maxiter: maxiter.map(|m| count(m, "maxiter")).transpose()?,
        reg,
        guarantee: guarantee.parse().map_err(Error::from)?,
        eps,
        delta,
        seed,
    };
    with_op!(py, a, T, {
        let ro_b = readonly(array::<T, Ix2>(b, "b")?, "b")?;
        let bm = dense_arg(&ro_b, "b")?;
    }, op => linalg::lstsq(op, bm, &opts), res => {
        let d = PyDict::new(py);
        d.set_item("x", to_py(py, res.x.as_ref())?)?;
        d.set_item("residual_norm", res.residual_norm)?;
        d.set_item("iterations", res.iterations)?;
        d.set_item("converged", res.converged)?;
        d.set_item("method", res.method.name())?;
        d.set_item("sketch_size", res.sketch_size)?;
        d.set_item("history", res.history)?;
        Ok(d)
    })
}

/// The core's sketch-size calculator.
#[pyfunction]
#[pyo3(signature = (n, d, eps, delta, guarantee, sketch))]
pub(crate) fn sketch_size(
    n: i64,
    d: i64,
    eps: f64,
    delta: f64,
    guarantee: &str,
    sketch: &str,
) -> PyResult<usize> {
    let g: Guarantee = guarantee.parse().map_err(Error::from)?;
    Ok(linalg::sketch_size(
        count(n, "n")?,
        count(d, "d")?,
        eps,
        delta,
        g,
        family(sketch)?,
    )
    .map_err(Error::from)?)
}

/// `(U, s, Vt, mean, ss)` of a randomized SVD; with `center`, `mean` holds the column
/// means and `ss` the centred matrix's `‖A − 1μᵀ‖_F²` (else both are `None`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (a, n_components, n_oversamples, n_iter, sketch, transpose, flip, tol, block_size, seed, center))]
pub(crate) fn randomized_svd<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    n_components: i64,
    n_oversamples: i64,
    n_iter: Option<i64>,
    sketch: &str,
    transpose: Option<bool>,
    flip: &str,
    tol: Option<f64>,
    block_size: i64,
    seed: u64,
    center: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let opts = RsvdOptions {
        n_components: count(n_components, "n_components")?,
        n_oversamples: count(n_oversamples, "n_oversamples")?,
        n_iter: n_iter.map(|v| count(v, "n_iter")).transpose()?,
        sketch: family(sketch)?,
        transpose,
        flip: match flip {
            "u" => FlipSign::U,
            "v" => FlipSign::V,
            "none" => FlipSign::None,
            other => {
                return Err(invalid(
                    "flip_sign",
                    format!("unknown rule {other:?}; expected one of u, v, none"),
                ))
            }
        },
        tol,
        block_size: count(block_size, "block_size")?,
        seed,
    };
    with_op!(py, a, T, {}, op => {
        if center {
            let c = linalg::Centered::new(op)?;
            let svd = linalg::randomized_svd(&c, &opts)?;
            Ok((svd, Some((c.mean().to_vec(), c.frob2()))))
        } else {
            Ok((linalg::randomized_svd(op, &opts)?, None))
        }
    }, res => {
        let (svd, centred) = res;
        let (mean, ss) = match centred {
            Some((m, ss)) => (Some(PyArray1::from_vec(py, m)), ss),
            None => (None, None),
        };
        (to_py(py, svd.u.as_ref())?, PyArray1::from_vec(py, svd.s), to_py(py, svd.vt.as_ref())?, mean, ss)
            .into_pyobject(py)
    })
}

/// `(U, lambda)` of the stabilised Nyström approximation of a PSD `A`.
#[pyfunction]
#[pyo3(signature = (a, rank, n_oversamples, seed))]
pub(crate) fn nystrom<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    rank: i64,
    n_oversamples: i64,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let (rank, p) = (count(rank, "rank")?, count(n_oversamples, "n_oversamples")?);
    with_op!(py, a, T, {}, op => linalg::nystrom(op, rank, p, seed), res => {
        (to_py(py, res.u.as_ref())?, PyArray1::from_vec(py, res.lambda)).into_pyobject(py)
    })
}

/// `(F, pivots)` of randomly pivoted Cholesky; `columns(pivots)` returns the
/// `n × len(pivots)` float64 columns of the kernel matrix.
#[pyfunction]
#[pyo3(signature = (diag, rank, block_size, tol, seed, columns))]
pub(crate) fn rp_cholesky<'py>(
    py: Python<'py>,
    diag: &Bound<'py, PyAny>,
    rank: i64,
    block_size: i64,
    tol: f64,
    seed: u64,
    columns: Py<PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let ro = readonly(array::<f64, Ix1>(diag, "diag")?, "diag")?;
    let dg = slice1(&ro, "diag")?;
    let (rank, bs) = (count(rank, "rank")?, count(block_size, "block_size")?);
    let raised = Raised::default();
    let n = dg.len();
    let r = raised.clone();
    let res = nogil(py, "diag", || {
        linalg::rp_cholesky(dg, rank, bs, tol, seed, |piv: &[usize]| {
            let mut out = Mat::<f64>::zeros(n, piv.len());
            let idx = Mat::<f64>::from_fn(piv.len(), 1, |i, _| piv[i] as f64);
            call_into(&columns, idx.as_ref(), out.as_mut(), &r, "kernel")?;
            Ok(out)
        })
    })
    .map_err(|e| raised.or(e))?;
    let piv: Vec<i64> = res.pivots.iter().map(|&p| p as i64).collect();
    (to_py(py, res.factor.as_ref())?, PyArray1::from_vec(py, piv)).into_pyobject(py)
}

/// Hutch++ trace estimate of the operator whose `matmat` (float64) is given.
#[pyfunction]
#[pyo3(signature = (matmat, n, n_queries, seed))]
pub(crate) fn hutchpp(
    py: Python<'_>,
    matmat: Py<PyAny>,
    n: i64,
    n_queries: i64,
    seed: u64,
) -> PyResult<f64> {
    let (n, q) = (count(n, "n")?, count(n_queries, "n_queries")?);
    let raised = Raised::default();
    let r = raised.clone();
    nogil(py, "matvec", || {
        linalg::hutchpp::<f64>(n, q, seed, |x: MatRef<'_, f64>| {
            let mut out = Mat::<f64>::zeros(n, x.ncols());
            call_into(&matmat, x, out.as_mut(), &r, "matvec")?;
            Ok(out)
        })
    })
    .map_err(|e| raised.or(e))
}

/// Leverage scores of the rows of `A`.
#[pyfunction]
#[pyo3(signature = (a, method, eps, seed))]
pub(crate) fn leverage_scores<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    method: &str,
    eps: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    with_op!(py, a, T, {}, op => linalg::leverage_scores(op, m, eps, seed), res => {
        Ok(PyArray1::from_vec(py, res).into_any())
    })
}

/// The core's linear-algebra names and defaults.
#[pyfunction]
pub(crate) fn linalg_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("methods", LstsqMethod::ALL.map(LstsqMethod::name).to_vec())?;
    d.set_item("guarantees", Guarantee::ALL.map(Guarantee::name).to_vec())?;
    d.set_item(
        "leverage_methods",
        LeverageMethod::ALL.map(LeverageMethod::name).to_vec(),
    )?;
    d.set_item("precondition_ratio", linalg::DEFAULT_PRECONDITION_RATIO)?;
    d.set_item("eps", linalg::DEFAULT_EPS)?;
    d.set_item("delta", linalg::DEFAULT_DELTA)?;
    let o = RsvdOptions::new(1);
    d.set_item("n_oversamples", o.n_oversamples)?;
    d.set_item("block_size", o.block_size)?;
    d.set_item("svd_sketch", o.sketch.name())?;
    Ok(d)
}
