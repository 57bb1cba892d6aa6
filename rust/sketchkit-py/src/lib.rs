//! `sketchkit._native`: the PyO3 binding. Conversion, GIL release and error mapping
//! only; every algorithm and every rule lives in the `sketchkit` core crate.
//!
//! * `convert`: NumPy/SciPy inputs as core views (the one float dispatch, the one
//!   CSR convention, borrows, integer arguments);
//! * `error`: the one mapping of core errors to Python exceptions and the one helper
//!   that releases the GIL and catches panics;
//! * one module per concept: `operator`, `rotation`, `fwht`, `finite`,
//!   `select` (graphs, hash tables, attention), `baselines`, `gpu` (device
//!   choice through `sketchkit::Backend`), `runtime` (threads, SIMD level), `linalg` (randomized linear
//!   algebra), `sampling` (row sampling with guarantees), `partition` (routing and
//!   quota splits of partitioned selection), `rules`
//!   (the core's names, defaults and quota rule, for Python to ask), `stream`
//!   (the streaming, mergeable row sketch).
//!
//! This file only declares the modules and registers what Python sees.

use pyo3::prelude::*;

mod baselines;
mod convert;
mod error;
mod features;
mod finite;
mod fwht;
mod gpu;
mod graph;
mod linalg;
mod operator;
mod outbuf;
mod partition;
mod rotation;
mod rules;
mod runtime;
mod sampling;
mod select;
mod stream;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::init(m.py())?;
    m.add_class::<operator::SketchOperator>()?;
    m.add_class::<rotation::HadamardRotation>()?;
    m.add_class::<stream::RowSketch>()?;
    m.add_function(wrap_pyfunction!(fwht::fwht_inplace, m)?)?;
    m.add_function(wrap_pyfunction!(fwht::fwht, m)?)?;
    m.add_function(wrap_pyfunction!(finite::all_finite, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(outbuf::set_output_cache, m)?)?;
    m.add_function(wrap_pyfunction!(outbuf::_output_cache_state, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::force_simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_panic_in_next_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_sleep_on_workers, m)?)?;
    m.add_class::<select::Hasher>()?;
    m.add_function(wrap_pyfunction!(select::minibatch_graph, m)?)?;
    m.add_function(wrap_pyfunction!(select::exact_graph, m)?)?;
    m.add_function(wrap_pyfunction!(select::refine_graph, m)?)?;
    m.add_function(wrap_pyfunction!(select::graph_recall, m)?)?;
    m.add_function(wrap_pyfunction!(select::attention_scores, m)?)?;
    m.add_function(wrap_pyfunction!(select::attention_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::stratified_random_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::cnn_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::enn_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::drop3_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::lsh_is_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::kmeans_medoids_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::k_center_select, m)?)?;
    m.add_function(wrap_pyfunction!(baselines::kernel_herding_select, m)?)?;
    m.add_function(wrap_pyfunction!(select::attention_select_tuned, m)?)?;
    m.add_function(wrap_pyfunction!(select::attention_pooled_choice, m)?)?;
    m.add_function(wrap_pyfunction!(gpu::gpu_available, m)?)?;
    m.add_function(wrap_pyfunction!(gpu::gpu_info, m)?)?;
    m.add_function(wrap_pyfunction!(gpu::gpu_project, m)?)?;
    m.add_function(wrap_pyfunction!(gpu::gpu_fwht, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::lstsq, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::sketch_size, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::randomized_svd, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::nystrom, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::rp_cholesky, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::hutchpp, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::leverage_scores, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::linalg_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::leverage_sample, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::sensitivity_sample, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::logistic_sample, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::dpp_sample, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::volume_sample, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::dpp_marginals, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::ridge_leverage_scores, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::lewis_weights, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::sensitivity_scores, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::sampling_sample_size, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::rs2_epoch, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::rs2_epochs_per_round, m)?)?;
    m.add_function(wrap_pyfunction!(sampling::sampling_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(graph::fastrp, m)?)?;
    m.add_function(wrap_pyfunction!(graph::graph_propagate, m)?)?;
    m.add_function(wrap_pyfunction!(graph::search_u8, m)?)?;
    m.add_function(wrap_pyfunction!(graph::search_hamming, m)?)?;
    m.add_function(wrap_pyfunction!(graph::search_u8_limit, m)?)?;
    m.add_class::<features::RandomFeatureMap>()?;
    m.add_function(wrap_pyfunction!(features::sliced_distance, m)?)?;
    m.add_function(wrap_pyfunction!(features::sliced_projections, m)?)?;
    rules::register(m)?;
    partition::register(m)?;
    Ok(())
}
