//! `RandomFeatureMap` (random Fourier, orthogonal, structured and ReLU features) and
//! the sliced distances (see `_native.pyi`).

use crate::convert::{
    array, count, matrix, readonly, slice1, view, with_float, with_output, Float, FloatKind, Init,
};
use crate::error::{nogil, Error};
use numpy::{Ix1, Ix2, PyArray1};
use pyo3::prelude::*;
use sketchkit::features::{FeatureMap, Kernel, RandomFeatures};
use sketchkit::sliced::{self, ControlVariates, SlicedCost};

/// A fitted random feature map (see `_native.pyi`).
#[pyclass(module = "sketchkit._native", frozen)]
pub(crate) struct RandomFeatureMap {
    inner: RandomFeatures,
}

fn transform<T: Float>(
    py: Python<'_>,
    f: &RandomFeatures,
    x: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let a = array::<T, Ix2>(x, "X")?;
    let guard = readonly(a, "X")?;
    let xv = view(&guard, "X")?;
    let (out, ()) = with_output(
        py,
        [xv.rows(), f.n_components()],
        false,
        Init::Zeroed,
        |ov| nogil(py, "X", move || f.transform(xv, ov)),
    )?;
    Ok(out.into_any().unbind())
}

#[pymethods]
impl RandomFeatureMap {
    #[new]
    #[pyo3(signature = (map, kernel, d, n_components, gamma, weight_scale = 1.0, weight_mean = 0.0, seed = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        map: &str,
        kernel: &str,
        d: i64,
        n_components: i64,
        gamma: f64,
        weight_scale: f64,
        weight_mean: f64,
        seed: u64,
    ) -> PyResult<Self> {
        let map = FeatureMap::from_name(map).map_err(Error::from)?;
        let kernel = Kernel::from_name(kernel).map_err(Error::from)?;
        let (d, nc) = (count(d, "d")?, count(n_components, "n_components")?);
        let inner = nogil(py, "X", move || {
            RandomFeatures::new(map, kernel, d, nc, gamma, weight_scale, weight_mean, seed)
        })?;
        Ok(RandomFeatureMap { inner })
    }
    #[getter]
    fn d(&self) -> usize {
        self.inner.d()
    }
    #[getter]
    fn n_components(&self) -> usize {
        self.inner.n_components()
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }
    fn transform(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        with_float!(FloatKind::of(x, "X")?, T => transform::<T>(py, &self.inner, x))
    }
    /// The weights `W` (`n_components × d`, float64).
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
        let f = &self.inner;
        let w = nogil(py, "X", || f.weights())?;
        matrix(py, w, [f.n_components(), f.d()])
    }
    /// The phases `b` (float64), `None` for ReLU features.
    fn offsets<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        let b = self.inner.offsets();
        (!b.is_empty()).then(|| PyArray1::from_slice(py, b))
    }
}

/// `(value, std_error, mc_value, mc_std_error, per_projection)`.
type Estimate = (f64, f64, f64, f64, Py<PyAny>);

#[allow(clippy::too_many_arguments)]
fn sliced_typed<T: Float>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    a: Option<&Bound<'_, PyAny>>,
    b: Option<&Bound<'_, PyAny>>,
    n_projections: usize,
    cost: SlicedCost,
    cv: ControlVariates,
    seed: u64,
) -> PyResult<Estimate> {
    let gx = readonly(array::<T, Ix2>(x, "X")?, "X")?;
    let gy = readonly(array::<T, Ix2>(y, "Y")?, "Y")?;
    let (xv, yv) = (view(&gx, "X")?, view(&gy, "Y")?);
    let ga = a
        .map(|a| readonly(array::<f64, Ix1>(a, "weights")?, "weights"))
        .transpose()?;
    let gb = b
        .map(|b| readonly(array::<f64, Ix1>(b, "weights")?, "weights"))
        .transpose()?;
    let sa = ga.as_ref().map(|g| slice1(g, "weights")).transpose()?;
    let sb = gb.as_ref().map(|g| slice1(g, "weights")).transpose()?;
    let est = nogil(py, "", move || {
        sliced::sliced(xv, yv, sa, sb, n_projections, cost, cv, seed)
    })?;
    let per = PyArray1::from_vec(py, est.per_projection)
        .into_any()
        .unbind();
    Ok((
        est.value,
        est.std_error,
        est.mc_value,
        est.mc_std_error,
        per,
    ))
}

/// Sliced Wasserstein (`cost="wasserstein"`) or energy (`"energy"`) estimate (see
/// `_native.pyi`).
#[pyfunction]
#[pyo3(signature = (x, y, a, b, n_projections, cost, p, control_variates, seed))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sliced_distance(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    a: Option<&Bound<'_, PyAny>>,
    b: Option<&Bound<'_, PyAny>>,
    n_projections: i64,
    cost: &str,
    p: f64,
    control_variates: &str,
    seed: u64,
) -> PyResult<Estimate> {
    let n_projections = count(n_projections, "n_projections")?;
    let cost = match cost {
        "energy" => SlicedCost::Energy,
        _ => SlicedCost::Wasserstein { p },
    };
    let cv = ControlVariates::from_name(control_variates).map_err(Error::from)?;
    let kx = FloatKind::of(x, "X")?;
    with_float!(kx, T => sliced_typed::<T>(py, x, y, a, b, n_projections, cost, cv, seed))
}

/// The unit directions (`n_projections × d`, float64) `sliced_distance` uses.
#[pyfunction]
pub(crate) fn sliced_projections(
    py: Python<'_>,
    d: i64,
    n_projections: i64,
    seed: u64,
) -> PyResult<Py<PyAny>> {
    let (d, l) = (count(d, "d")?, count(n_projections, "n_projections")?);
    let v = nogil(py, "X", move || sliced::projections(d, l, seed))?;
    Ok(matrix(py, v, [l, d])?.into_any().unbind())
}
