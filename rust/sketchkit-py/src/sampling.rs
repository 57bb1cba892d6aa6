//! Row sampling with guarantees (`sketchkit::sampling`) for Python: conversion of the
//! float64 feature matrix, the optional class codes and `n_samples`, GIL release and
//! error mapping. Every rule (defaults, sample sizes, stratification, names) is the
//! core's.
//!
//! `n_samples` arrives as `None` (the method's rule), an `int` (a count) or a `float`
//! (a fraction in `(0, 1]`); the core checks the value.

use crate::convert::{array, count, index_array, readonly, slice1, view};
use crate::error::{nogil, wrong_type, Error};
use numpy::{Ix1, Ix2, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyTuple};
use sketchkit::linalg::LeverageMethod;
use sketchkit::sampling::dpp::{self, DppMethod, VolumeScheme};
use sketchkit::sampling::{self, rs2, Classes, Sample, SampleSize, SensitivityMethod};

/// `n_samples` as the core's [`SampleSize`].
fn sample_size(obj: &Bound<'_, PyAny>) -> PyResult<SampleSize> {
    if obj.is_none() {
        return Ok(SampleSize::Rule);
    }
    if obj.is_instance_of::<PyBool>() {
        return Err(wrong_type("n_samples", "an int, a float or None, not bool"));
    }
    if obj.is_instance_of::<PyInt>() {
        let v: i64 = obj.extract()?;
        return Ok(SampleSize::Count(usize::try_from(v).unwrap_or(0)));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(SampleSize::Fraction(obj.extract()?));
    }
    Err(wrong_type(
        "n_samples",
        "an int (a count), a float (a fraction in (0, 1]) or None",
    ))
}

/// The sample as `(indices int64, weights float64)`.
fn to_py(py: Python<'_>, s: Sample) -> PyResult<Bound<'_, PyTuple>> {
    (
        index_array(py, s.indices),
        PyArray1::from_vec(py, s.weights),
    )
        .into_pyobject(py)
}

/// Runs `$body` with `$x` (the float64 matrix, a crate view) and `$classes`
/// (`Option<Classes>` from the optional uint32 `codes`) bound, without the GIL.
macro_rules! with_rows {
    ($py:expr, $x:expr, $codes:expr, $n_classes:expr, |$v:ident, $classes:ident| $body:expr) => {{
        let arr = array::<f64, Ix2>($x, "X")?;
        let ro = readonly(arr, "X")?;
        let $v = view(&ro, "X")?;
        let codes_ro = match $codes {
            Some(c) => Some(readonly(array::<u32, Ix1>(c, "y")?, "y")?),
            None => None,
        };
        let codes = match &codes_ro {
            Some(c) => Some(slice1(c, "y")?),
            None => None,
        };
        let nc = count($n_classes, "n_classes")?;
        nogil($py, "X", move || {
            let $classes = codes.map(|codes| Classes {
                codes,
                n_classes: nc,
            });
            $body
        })
    }};
}

/// Leverage-score sampling (ridge leverage when `ridge > 0`), stratified by `codes`.
#[pyfunction]
#[pyo3(signature = (x, codes, n_classes, n_samples, ridge, method, floor, eps, delta, seed))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn leverage_sample<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    codes: Option<&Bound<'py, PyAny>>,
    n_classes: i64,
    n_samples: &Bound<'py, PyAny>,
    ridge: f64,
    method: &str,
    floor: f64,
    eps: f64,
    delta: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = sample_size(n_samples)?;
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    let s = with_rows!(py, x, codes, n_classes, |v, classes| {
        sampling::stratify(v, classes, size, |sub, c, sz| {
            sampling::leverage_sample(sub, sz, ridge, m, floor, eps, delta, seed, c)
        })
    })?;
    to_py(py, s)
}

/// ℓp sensitivity sampling, stratified by `codes`.
#[pyfunction]
#[pyo3(signature = (x, codes, n_classes, n_samples, p, sensitivity, method, floor, eps, delta, seed))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sensitivity_sample<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    codes: Option<&Bound<'py, PyAny>>,
    n_classes: i64,
    n_samples: &Bound<'py, PyAny>,
    p: f64,
    sensitivity: &str,
    method: &str,
    floor: f64,
    eps: f64,
    delta: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = sample_size(n_samples)?;
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    let sm: SensitivityMethod = sensitivity.parse().map_err(Error::from)?;
    let s = with_rows!(py, x, codes, n_classes, |v, classes| {
        sampling::stratify(v, classes, size, |sub, c, sz| {
            sampling::sensitivity_sample(sub, sz, p, sm, m, floor, eps, delta, seed, c)
        })
    })?;
    to_py(py, s)
}

/// Logistic-regression coreset (pilot fit, then gradient-norm scores; weights raked
/// with ridge `calibration` unless `None`); `codes` are the two-class labels 0/1 (not a
/// stratification).
#[pyfunction]
#[pyo3(signature = (x, codes, n_samples, pilot, stages, ridge, floor, calibration, eps, delta, seed))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn logistic_sample<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    codes: &Bound<'py, PyAny>,
    n_samples: &Bound<'py, PyAny>,
    pilot: f64,
    stages: i64,
    ridge: f64,
    floor: f64,
    calibration: Option<f64>,
    eps: f64,
    delta: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = sample_size(n_samples)?;
    let stages = count(stages, "stages")?;
    let s = with_rows!(py, x, Some(codes), 2, |v, classes| {
        let y = classes.map(|c| c.codes).unwrap_or(&[]);
        sampling::logistic::logistic_sample(
            v,
            y,
            size,
            pilot,
            stages,
            ridge,
            floor,
            calibration,
            eps,
            delta,
            seed,
        )
    })?;
    to_py(py, s)
}

/// DPP sampling (projection DPP, k-DPP or the approximate sampler), stratified.
#[pyfunction]
#[pyo3(signature = (x, codes, n_classes, n_samples, method, seed))]
pub(crate) fn dpp_sample<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    codes: Option<&Bound<'py, PyAny>>,
    n_classes: i64,
    n_samples: &Bound<'py, PyAny>,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = sample_size(n_samples)?;
    let m: DppMethod = method.parse().map_err(Error::from)?;
    let s = with_rows!(py, x, codes, n_classes, |v, classes| {
        sampling::stratify(v, classes, size, |sub, c, sz| {
            dpp::dpp_sample(sub, sz, m, seed, c)
        })
    })?;
    to_py(py, s)
}

/// Volume-rescaled or repeated-DPP sampling, stratified.
#[pyfunction]
#[pyo3(signature = (x, codes, n_classes, n_samples, scheme, seed))]
pub(crate) fn volume_sample<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    codes: Option<&Bound<'py, PyAny>>,
    n_classes: i64,
    n_samples: &Bound<'py, PyAny>,
    scheme: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let size = sample_size(n_samples)?;
    let sc: VolumeScheme = scheme.parse().map_err(Error::from)?;
    let s = with_rows!(py, x, codes, n_classes, |v, classes| {
        sampling::stratify(v, classes, size, |sub, c, sz| {
            dpp::volume_sample(sub, sz, sc, seed, c)
        })
    })?;
    to_py(py, s)
}

/// Inclusion probabilities of the DPP `dpp_sample` draws for `n_samples`.
#[pyfunction]
#[pyo3(signature = (x, n_samples))]
pub(crate) fn dpp_marginals<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_samples: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let size = sample_size(n_samples)?;
    let pi = with_rows!(py, x, None::<&Bound<'py, PyAny>>, 0, |v, _classes| {
        dpp::dpp_marginals(v, size)
    })?;
    Ok(PyArray1::from_vec(py, pi))
}

/// Ridge leverage scores (`ridge = 0`: the leverage scores).
#[pyfunction]
#[pyo3(signature = (x, ridge, method, seed))]
pub(crate) fn ridge_leverage_scores<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    ridge: f64,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    let t = with_rows!(py, x, None::<&Bound<'py, PyAny>>, 0, |v, _classes| {
        sampling::ridge_leverage(v, ridge, m, seed)
    })?;
    Ok(PyArray1::from_vec(py, t))
}

/// ℓp Lewis weights.
#[pyfunction]
#[pyo3(signature = (x, p, method, seed))]
pub(crate) fn lewis_weights<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    p: f64,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    let w = with_rows!(py, x, None::<&Bound<'py, PyAny>>, 0, |v, _classes| {
        sampling::lewis_weights(v, p, m, seed)
    })?;
    Ok(PyArray1::from_vec(py, w))
}

/// ℓp sensitivity bounds: `(scores, probs, total, rank)`.
#[pyfunction]
#[pyo3(signature = (x, p, sensitivity, method, seed))]
pub(crate) fn sensitivity_scores<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    p: f64,
    sensitivity: &str,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let m: LeverageMethod = method.parse().map_err(Error::from)?;
    let sm: SensitivityMethod = sensitivity.parse().map_err(Error::from)?;
    let sc = with_rows!(py, x, None::<&Bound<'py, PyAny>>, 0, |v, _classes| {
        sampling::sensitivities(v, p, sm, m, seed)
    })?;
    (
        PyArray1::from_vec(py, sc.scores),
        PyArray1::from_vec(py, sc.probs),
        sc.total,
        sc.dim,
    )
        .into_pyobject(py)
}

/// The ℓp sensitivity-sampling sample-size rule.
#[pyfunction]
#[pyo3(signature = (p, total, rank, eps, delta, hybrid))]
pub(crate) fn sampling_sample_size(
    p: f64,
    total: f64,
    rank: f64,
    eps: f64,
    delta: f64,
    hybrid: bool,
) -> PyResult<usize> {
    Ok(sampling::sample_size(p, total, rank, eps, delta, hybrid).map_err(Error::from)?)
}

/// The rows of RS2 epoch `epoch` (training order; class by class when `codes` given).
#[pyfunction]
#[pyo3(signature = (n_rows, n_samples, seed, epoch, codes=None, n_classes=0))]
pub(crate) fn rs2_epoch<'py>(
    py: Python<'py>,
    n_rows: i64,
    n_samples: &Bound<'py, PyAny>,
    seed: u64,
    epoch: i64,
    codes: Option<&Bound<'py, PyAny>>,
    n_classes: i64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let size = sample_size(n_samples)?;
    let n = count(n_rows, "n_rows")? as u64;
    let e = count(epoch, "epoch")? as u64;
    let nc = count(n_classes, "n_classes")?;
    let idx = match codes {
        Some(c) => {
            let ro = readonly(array::<u32, Ix1>(c, "y")?, "y")?;
            let codes = slice1(&ro, "y")?;
            nogil(py, "y", move || {
                rs2::epoch_stratified(
                    Classes {
                        codes,
                        n_classes: nc,
                    },
                    size,
                    seed,
                    e,
                )
            })?
        }
        None => nogil(py, "n_rows", move || rs2::epoch(n, size, seed, e))?,
    };
    Ok(PyArray1::from_vec(
        py,
        idx.into_iter().map(|i| i as i64).collect(),
    ))
}

/// Epochs per round of RS2 (`E`): the first `E` epochs partition the rows.
#[pyfunction]
#[pyo3(signature = (n_rows, n_samples))]
pub(crate) fn rs2_epochs_per_round(n_rows: i64, n_samples: &Bound<'_, PyAny>) -> PyResult<u64> {
    let size = sample_size(n_samples)?;
    let n = count(n_rows, "n_rows")? as u64;
    Ok(rs2::epochs_per_round(n, size).map_err(Error::from)?)
}

/// The core's sampling names and defaults.
#[pyfunction]
pub(crate) fn sampling_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("eps", sampling::DEFAULT_EPS)?;
    d.set_item("delta", sampling::DEFAULT_DELTA)?;
    d.set_item("floor", sampling::DEFAULT_FLOOR)?;
    d.set_item("rs2_ratio", rs2::DEFAULT_RATIO)?;
    d.set_item("pilot", sampling::logistic::DEFAULT_PILOT)?;
    d.set_item("ridge", sampling::logistic::DEFAULT_RIDGE)?;
    d.set_item("stages", sampling::logistic::DEFAULT_STAGES)?;
    d.set_item("calibration_ridge", sampling::logistic::CALIBRATION_RIDGE)?;
    d.set_item("logistic_floor", sampling::logistic::DEFAULT_FLOOR)?;
    d.set_item(
        "sensitivities",
        SensitivityMethod::ALL.map(SensitivityMethod::name).to_vec(),
    )?;
    d.set_item("dpp_methods", DppMethod::ALL.map(DppMethod::name).to_vec())?;
    d.set_item(
        "volume_schemes",
        VolumeScheme::ALL.map(VolumeScheme::name).to_vec(),
    )?;
    d.set_item(
        "leverage_methods",
        LeverageMethod::ALL.map(LeverageMethod::name).to_vec(),
    )?;
    Ok(d)
}
