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
    /// A size overflowed a limit (e.g. `k * d` entries beyond int64, a dimension beyond
    /// an index width); `arg` names the argument at fault.
    Overflow {
        /// The argument's name.
        arg: &'static str,
        /// What overflowed.
        msg: String,
    },
    /// Memory for a result or an index structure could not be allocated.
    Alloc(String),
    /// The input `arg` holds NaN or ±inf (found by the kernels as they read it, with
    /// no separate pass, or by the check in front of an in-place transform).
    NonFinite {
        /// The input's name (`X`, `Z`, `A`, `Y` for the four operator directions,
        /// `x` for transforms).
        arg: &'static str,
    },
    /// The arrays of a CSR/CSC input `arg` do not form a valid matrix: `part` (`indptr`
    /// or `indices`) breaks the rule `msg` states. The check is `CsrRef::new`'s, the
    /// only one; `arg` is `"matrix"` until an entry point names its input
    /// ([`SketchError::for_input`]).
    CsrStructure {
        /// The matrix argument's name.
        arg: &'static str,
        /// The array at fault.
        part: &'static str,
        /// What is wrong with it.
        msg: String,
    },
    /// A compute device (GPU) is missing or failed; the message says which and why.
    Device(String),
    /// The caller's cancellation token was set while the work ran (e.g. Ctrl-C seen by
    /// the binding): the work stopped between blocks and produced no result.
    Interrupted,
}

impl SketchError {
    /// An [`SketchError::InvalidArgument`] for `arg`.
    pub fn arg(arg: &'static str, msg: impl Into<String>) -> Self {
        SketchError::InvalidArgument {
            arg,
            msg: msg.into(),
        }
    }

    /// An [`SketchError::Overflow`] for `arg`.
    pub fn overflow(arg: &'static str, msg: impl Into<String>) -> Self {
        SketchError::Overflow {
            arg,
            msg: msg.into(),
        }
    }

    /// The name of the argument at fault, where the error has one.
    pub fn arg_name(&self) -> Option<&'static str> {
        match self {
            SketchError::InvalidArgument { arg, .. }
            | SketchError::Overflow { arg, .. }
            | SketchError::NonFinite { arg }
            | SketchError::CsrStructure { arg, .. } => Some(arg),
            _ => None,
        }
    }

    /// The same error with a fault of the input data (non-finite values, a broken
    /// CSR structure) attributed to `arg`: the entry point of an operation names its
    /// input, the kernels and views below it need not know the name.
    pub fn for_input(self, arg: &'static str) -> Self {
        match self {
            SketchError::NonFinite { .. } => SketchError::NonFinite { arg },
            SketchError::CsrStructure { part, msg, .. } => {
                SketchError::CsrStructure { arg, part, msg }
            }
            other => other,
        }
    }
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SketchError::InvalidArgument { arg, msg } => write!(f, "invalid {arg}: {msg}"),
            SketchError::ShapeMismatch(m) => write!(f, "shape mismatch: {m}"),
            SketchError::Overflow { arg, msg } => write!(f, "{arg}: size overflow: {msg}"),
            SketchError::Alloc(m) => write!(f, "cannot allocate {m}"),
            SketchError::NonFinite { arg } => write!(f, "input {arg} contains NaN or infinity"),
            SketchError::CsrStructure { arg, part, msg } => {
                write!(f, "{arg} has an invalid CSR structure: {part}: {msg}")
            }
            SketchError::Device(m) => write!(f, "device error: {m}"),
            SketchError::Interrupted => write!(f, "interrupted"),
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

/// Element types for which all-zero bytes are the value zero.
///
/// # Safety
/// An implementor must be valid, and equal to its zero, when all its bytes are zero.
pub(crate) unsafe trait Zeroed: Copy {}

// SAFETY: `Real` is sealed to f32 and f64, whose all-zero bytes are +0.0.
unsafe impl<T: crate::Real> Zeroed for T {}
// SAFETY: all-zero bytes are 0 for integers.
unsafe impl Zeroed for u8 {}
// SAFETY: as above.
unsafe impl Zeroed for i16 {}
// SAFETY: as above.
unsafe impl Zeroed for i32 {}
// SAFETY: as above.
unsafe impl Zeroed for i64 {}

/// `len` zeros, or an allocation error naming `what`: like [`try_vec`], but the
/// memory comes zeroed from the allocator, so a large buffer is not written here
/// (fresh pages are zeroed by the kernel when the threads that fill the buffer first
/// touch them), and on Linux a large buffer is backed by transparent huge pages
/// where the system allows it (as NumPy does for its arrays).
pub(crate) fn try_zeros<T: Zeroed>(len: usize, what: &str) -> Result<Vec<T>> {
    let err = || {
        SketchError::Alloc(format!(
            "{what} ({len} elements of {} bytes)",
            std::mem::size_of::<T>()
        ))
    };
    let layout = std::alloc::Layout::array::<T>(len).map_err(|_| err())?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: `layout` has a non-zero size (checked above).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(err());
    }
    // SAFETY: the range is the allocation just made.
    unsafe { crate::memory::advise_huge_pages(ptr.cast::<u8>(), layout.size()) };
    // SAFETY: `ptr` comes from the global allocator with the layout of `[T; len]`,
    // which is the layout a `Vec<T>` of capacity `len` frees with; its `len`
    // elements are initialized, all bytes zero being a valid `T` (`Zeroed`).
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// `a * b` or an overflow error naming `arg` (`what` describes the product).
pub(crate) fn checked_mul(a: usize, b: usize, arg: &'static str, what: &str) -> Result<usize> {
    a.checked_mul(b)
        .ok_or_else(|| SketchError::overflow(arg, format!("{what}: {a} * {b} overflows")))
}
