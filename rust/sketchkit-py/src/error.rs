//! The binding's one error policy and its one boundary helper.
//!
//! Every core error reaches Python through [`Error`] and `impl From<Error> for PyErr`:
//!
//! | core error                         | Python exception                                |
//! |------------------------------------|-------------------------------------------------|
//! | `InvalidArgument { arg, msg }`     | `ValueError("{arg}: {msg}")`                    |
//! | `ShapeMismatch(msg)`               | `ValueError(msg)` (the core's message names the operands) |
//! | `NonFinite { arg }`                | `ValueError("Input {name} contains NaN or infinity.")` |
//! | `Overflow { arg, msg }`            | `OverflowError("{arg}: {msg}")`                 |
//! | `CsrStructure { arg, part, msg }`  | `ValueError("{name} has an invalid CSR structure: {part}: {msg}")` |
//! | `Alloc(what)`                      | `MemoryError("cannot allocate {what}")`         |
//! | `Device(msg)`                      | `RuntimeError(msg)`                             |
//! | `Interrupted`                      | `KeyboardInterrupt` (or what the signal handler raised, see [`nogil_cancellable`]) |
//!
//! Errors the binding finds itself while converting arguments use [`invalid`]
//! (`ValueError`, message starting with the argument's name) and [`wrong_type`]
//! (`TypeError`). Core work runs through [`run`] (or its shorthand [`nogil`]), which
//! releases the GIL, turns a panic into `RuntimeError` so that none crosses into Python,
//! and applies the policy above.

use pyo3::exceptions::{
    PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use sketchkit::SketchError;
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A core error on its way to Python, with the name the caller gives its data input.
#[derive(Debug)]
pub(crate) struct Error {
    err: SketchError,
    /// The Python name of the data input, named by the NaN/inf message instead of the
    /// core's (`X`, `Z`, `A`, `Y`, `x`) when the caller gives one.
    input: Option<String>,
}

impl Error {
    /// Attributes a non-finite input to the argument `name`.
    pub(crate) fn input(mut self, name: &str) -> Self {
        self.input = Some(name.to_owned());
        self
    }
}

impl From<SketchError> for Error {
    fn from(err: SketchError) -> Self {
        Error { err, input: None }
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e.err {
            SketchError::InvalidArgument { arg, msg } => invalid(arg, msg),
            SketchError::ShapeMismatch(m) => PyValueError::new_err(m),
            SketchError::NonFinite { arg } => PyValueError::new_err(format!(
                "Input {} contains NaN or infinity.",
                e.input.as_deref().unwrap_or(arg)
            )),
            SketchError::CsrStructure { arg, part, msg } => PyValueError::new_err(format!(
                "{} has an invalid CSR structure: {part}: {msg}",
                e.input.as_deref().unwrap_or(arg)
            )),
            SketchError::Overflow { arg, msg } => PyOverflowError::new_err(format!("{arg}: {msg}")),
            SketchError::Alloc(m) => PyMemoryError::new_err(format!("cannot allocate {m}")),
            SketchError::Device(m) => PyRuntimeError::new_err(m),
            SketchError::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
        }
    }
}

/// `ValueError("{name}: {msg}")`: an argument the binding cannot convert.
pub(crate) fn invalid(name: &str, msg: impl Display) -> PyErr {
    PyValueError::new_err(format!("{name}: {msg}"))
}

/// `TypeError("{name} must be {what}")`.
pub(crate) fn wrong_type(name: &str, what: impl Display) -> PyErr {
    PyTypeError::new_err(format!("{name} must be {what}"))
}

/// Whether [`run`] releases the GIL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gil {
    /// Release it (other Python threads run meanwhile).
    Release,
    /// Keep it: for work shorter than releasing and re-taking it.
    Keep,
}

/// Runs core work `f` for Python: with the GIL released or kept as `gil` says, a panic
/// turned into `RuntimeError`, a core error mapped by the policy above (a NaN/inf
/// report names `input`, or the core's name for the input when `input` is empty).
pub(crate) fn run<R: Send>(
    py: Python<'_>,
    gil: Gil,
    input: &str,
    f: impl FnOnce() -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    let caught = match gil {
        Gil::Release => py.detach(|| catch_unwind(AssertUnwindSafe(f))),
        Gil::Keep => catch_unwind(AssertUnwindSafe(f)),
    };
    finish(caught, input)
}

/// A caught panic as `RuntimeError`, a core error by the policy above.
fn finish<R>(caught: std::thread::Result<sketchkit::Result<R>>, input: &str) -> PyResult<R> {
    let result = caught.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown".into());
        PyRuntimeError::new_err(format!("internal error in sketchkit: {msg}"))
    })?;
    // An empty `input` keeps the core's own name (calls with several data inputs).
    result.map_err(|e| {
        if input.is_empty() {
            Error::from(e).into()
        } else {
            Error::from(e).input(input).into()
        }
    })
}

/// How often a long call looks for pending signals (Ctrl-C).
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// [`nogil`] for long work that can stop early: `f` runs on a helper thread with the
/// GIL released while the calling thread waits, every [`SIGNAL_POLL`] briefly taking
/// the GIL to run Python's signal handlers (`Python::check_signals`; only the main
/// thread runs them, so a call from another thread is not interrupted). When a
/// handler raises (Ctrl-C: `KeyboardInterrupt`), `cancel` is set, which the core's
/// long loops check between blocks of rows (returning `SketchError::Interrupted`),
/// and the handler's exception is raised once the work has stopped. A result that
/// arrives is the one plain [`nogil`] would give.
pub(crate) fn nogil_cancellable<R: Send>(
    py: Python<'_>,
    input: &str,
    cancel: &std::sync::atomic::AtomicBool,
    f: impl FnOnce() -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let mut raised: Option<PyErr> = None;
    // The work, taken by the helper thread (or run here if no thread can be started).
    let work = std::sync::Mutex::new(Some(f));
    let take = || work.lock().ok().and_then(|mut w| w.take());
    let run_here = || match take() {
        Some(f) => catch_unwind(AssertUnwindSafe(f)),
        None => Err(Box::new("the work was already taken") as Box<dyn std::any::Any + Send>),
    };
    let caught = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = channel();
            let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
                // The receiver outlives the worker (joined below), so send cannot fail.
                let _ = tx.send(run_here());
            });
            let Ok(worker) = spawned else {
                return run_here(); // no thread: uninterruptible, as plain `nogil`
            };
            let out = loop {
                match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(r) => break r,
                    Err(RecvTimeoutError::Timeout) => {
                        if raised.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                raised = Some(e);
                                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                    // The worker ended without sending: it panicked outside `f`.
                    Err(RecvTimeoutError::Disconnected) => {
                        break Err(Box::new("the worker thread ended without a result")
                            as Box<dyn std::any::Any + Send>)
                    }
                }
            };
            let _ = worker.join();
            out
        })
    });
    if let Some(e) = raised {
        return Err(e);
    }
    finish(caught, input)
}

/// [`run`] with the GIL released.
pub(crate) fn nogil<R: Send>(
    py: Python<'_>,
    input: &str,
    f: impl FnOnce() -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    run(py, Gil::Release, input, f)
}
