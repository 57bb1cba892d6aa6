//! Graph embeddings (`fastrp`, `graph_propagate`) and code search (`search_u8`,
//! `search_hamming`); see `_native.pyi`.

use crate::convert::{array, matrix, readonly, view, with_csr, Csr, Float};
use crate::error::{invalid, nogil};
use numpy::{Element, Ix2, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use sketchkit::graph::{propagate, FastRp, RowScale};
use sketchkit::{quantize, SparseIndex};

/// A C-contiguous 2-D array's data as a slice, with its shape.
fn contiguous<'a, T: Element>(
    a: &'a numpy::PyReadonlyArray2<'_, T>,
    name: &str,
) -> PyResult<(&'a [T], usize, usize)> {
    let (r, c) = (a.shape()[0], a.shape()[1]);
    let s = a
        .as_slice()
        .map_err(|_| invalid(name, "must be C-contiguous"))?;
    Ok((s, r, c))
}

#[allow(clippy::too_many_arguments)]
fn fastrp_typed<T: Float, I: SparseIndex + Element>(
    py: Python<'_>,
    csr: &Csr<'_, T, I>,
    n_cols: usize,
    features: Option<&Bound<'_, PyAny>>,
    params: FastRp,
) -> PyResult<Py<PyAny>> {
    let n = csr.rows()?;
    let parts = csr.parts()?;
    let k = params.embedding_dim;
    let fguard = match features {
        Some(f) => Some(readonly(array::<f32, Ix2>(f, "features")?, "features")?),
        None => None,
    };
    let fv = match &fguard {
        Some(g) => Some(view(g, "features")?),
        None => None,
    };
    let v = nogil(py, "adjacency", move || {
        // `embed` owns the "square" rule.
        let adj = parts
            .view(n, n_cols)
            .map_err(|e| e.for_input("adjacency"))?;
        params.embed(&adj, fv)
    })?;
    Ok(matrix(py, v, [n, k])?.into_any().unbind())
}

/// FastRP embedding of the CSR adjacency `(data, indices, indptr)` with `n_cols`
/// columns (see `_native.pyi`).
#[pyfunction]
#[pyo3(signature = (data, indices, indptr, n_cols, features, embedding_dim, iteration_weights,
    normalization_strength, node_self_influence, property_ratio, density, weighted, undirected, seed))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fastrp(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    indptr: &Bound<'_, PyAny>,
    n_cols: usize,
    features: Option<&Bound<'_, PyAny>>,
    embedding_dim: usize,
    iteration_weights: Vec<f64>,
    normalization_strength: f64,
    node_self_influence: f64,
    property_ratio: f64,
    density: f64,
    weighted: bool,
    undirected: bool,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    let params = FastRp {
        embedding_dim,
        iteration_weights,
        normalization_strength,
        node_self_influence,
        property_ratio,
        density,
        weighted,
        undirected,
        seed,
    };
    with_csr!(data, indices, T, I => {
        let csr = Csr::<T, I>::borrow(data, indices, indptr)?;
        fastrp_typed(py, &csr, n_cols, features, params)
    })
}

/// `A · X` with rows scaled by `scale` (`"sum"`, `"mean"` or `"l2"`); see `_native.pyi`.
#[pyfunction]
#[pyo3(signature = (data, indices, indptr, n_cols, x, weighted = true, scale = "mean"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn graph_propagate(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    indptr: &Bound<'_, PyAny>,
    n_cols: usize,
    x: &Bound<'_, PyAny>,
    weighted: bool,
    scale: &str,
) -> PyResult<Py<PyAny>> {
    let scale = match scale {
        "sum" => RowScale::Sum,
        "mean" => RowScale::Mean,
        "l2" => RowScale::L2,
        other => {
            return Err(invalid(
                "scale",
                format!("unknown name {other:?}; expected one of sum, mean, l2"),
            ))
        }
    };
    let xa = readonly(array::<f32, Ix2>(x, "X")?, "X")?;
    let xv = view(&xa, "X")?;
    let k = xv.cols();
    with_csr!(data, indices, T, I => {
        let csr = Csr::<T, I>::borrow(data, indices, indptr)?;
        let n = csr.rows()?;
        let parts = csr.parts()?;
        let v = nogil(py, "adjacency", move || {
            let adj = parts.view(n, n_cols).map_err(|e| e.for_input("adjacency"))?;
            propagate(&adj, weighted, xv, scale)
        })?;
        Ok(matrix(py, v, [n, k])?.into_any().unbind())
    })
}

type Found<'py, S> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<S>>);

/// Top-`k` inner products of `int16` queries against `uint8` codes (see `_native.pyi`).
#[pyfunction]
pub(crate) fn search_u8<'py>(
    py: Python<'py>,
    codes: &Bound<'py, PyAny>,
    queries: &Bound<'py, PyAny>,
    k: usize,
) -> PyResult<Found<'py, i32>> {
    let c = readonly(array::<u8, Ix2>(codes, "codes")?, "codes")?;
    let q = readonly(array::<i16, Ix2>(queries, "queries")?, "queries")?;
    let (cs, n, d) = contiguous(&c, "codes")?;
    let (qs, m, dq) = contiguous(&q, "queries")?;
    if d != dq {
        return Err(invalid(
            "queries",
            format!("has {dq} columns, the codes {d}"),
        ));
    }
    let (i, s) = nogil(py, "codes", || quantize::search_u8(cs, n, qs, m, d, k))?;
    Ok((matrix(py, i, [m, k])?, matrix(py, s, [m, k])?))
}

/// Top-`k` Hamming neighbours among packed binary codes (see `_native.pyi`).
#[pyfunction]
pub(crate) fn search_hamming<'py>(
    py: Python<'py>,
    codes: &Bound<'py, PyAny>,
    queries: &Bound<'py, PyAny>,
    k: usize,
) -> PyResult<Found<'py, u32>> {
    let c = readonly(array::<u8, Ix2>(codes, "codes")?, "codes")?;
    let q = readonly(array::<u8, Ix2>(queries, "queries")?, "queries")?;
    let (cs, n, b) = contiguous(&c, "codes")?;
    let (qs, m, bq) = contiguous(&q, "queries")?;
    if b != bq {
        return Err(invalid(
            "queries",
            format!("has {bq} bytes per row, the codes {b}"),
        ));
    }
    let (i, s) = nogil(py, "codes", || quantize::search_hamming(cs, n, qs, m, b, k))?;
    Ok((matrix(py, i, [m, k])?, matrix(py, s, [m, k])?))
}

/// The largest `|q_j|` `search_u8` accepts for codes of `d` bytes (the core's rule).
#[pyfunction]
pub(crate) fn search_u8_limit(d: usize) -> i32 {
    quantize::max_query_magnitude(d)
}
