//! The crate's one error type. User input never causes a panic: every check that
//! can fail on caller data returns one of these.

use std::fmt;

/// What went wrong, naming the argument at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SketchError {
    /// An argument has an invalid value (`arg` names it).
    InvalidArgument {
        /// The argument's name.
        arg: &'static str,
        /// What is wrong with it.
        msg: String,
    },
    /// Operand shapes do not fit together.
    ShapeMismatch(String),
    /// A size computation overflowed (e.g. `k * d` entries).
    Overflow(String),
    /// Memory for a result or an index structure could not be allocated.
    Alloc(String),
    /// The input holds NaN or ±inf (found by the kernels as they read it, with no
    /// separate pass).
    NonFinite,
    /// A compute device (GPU) is missing or failed; the message says which and why.
    Device(String),
}

impl SketchError {
    pub(crate) fn arg(arg: &'static str, msg: impl Into<String>) -> Self {
        SketchError::InvalidArgument {
            arg,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SketchError::InvalidArgument { arg, msg } => write!(f, "invalid {arg}: {msg}"),
            SketchError::ShapeMismatch(m) => write!(f, "shape mismatch: {m}"),
            SketchError::Overflow(m) => write!(f, "size overflow: {m}"),
            SketchError::Alloc(m) => write!(f, "cannot allocate {m}"),
            SketchError::NonFinite => write!(f, "the input contains NaN or infinity"),
            SketchError::Device(m) => write!(f, "device error: {m}"),
        }
    }
}

impl std::error::Error for SketchError {}

/// Result alias.
pub type Result<T> = std::result::Result<T, SketchError>;

/// A vector of `len` copies of `v`, or an allocation error naming `what` (instead of
/// the process abort a failed `vec!` would cause).
pub(crate) fn try_vec<T: Clone>(len: usize, v: T, what: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| {
        SketchError::Alloc(format!(
            "{what} ({len} elements of {} bytes)",
            std::mem::size_of::<T>()
        ))
    })?;
    out.resize(len, v);
    Ok(out)
}

/// `a * b` or an overflow error naming `what`.
pub(crate) fn checked_mul(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b)
        .ok_or_else(|| SketchError::Overflow(format!("{what}: {a} * {b} overflows")))
}
