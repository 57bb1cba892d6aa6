//! The in-place fast Walsh–Hadamard transform.

use crate::convert::{array, readwrite, with_float, writable_view, Float, FloatKind};
use crate::error::{invalid, nogil, run, Gil};
use crate::gpu::Device;
use numpy::{Ix2, PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use sketchkit::MatMut;

/// Runs `transform` on the writable 2-D array `x` (named `x`), in place without the
/// GIL; `transform` gets the view and whether the transform runs along rows
/// (`axis=1`) or columns (`axis=0`).
pub(crate) fn fwht_in_place<T: Float, R: Send>(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: i64,
    transform: impl FnOnce(MatMut<'_, T>, bool) -> sketchkit::Result<R> + Send,
) -> PyResult<R> {
    let a = array::<T, Ix2>(x, "x")?;
    let rows = match axis {
        1 => true,
        0 => false,
        _ => return Err(invalid("axis", "must be 0 or 1")),
    };
    // Fails for read-only arrays and for arrays already borrowed elsewhere.
    let mut guard = readwrite(a, "x")?;
    let m = writable_view(&mut guard, "x")?;
    nogil(py, "x", move || transform(m, rows))
}

/// In-place FWHT along `axis` of a writable 2-D float array, on `device`.
#[pyfunction]
#[pyo3(signature = (x, axis, normalized, device = "cpu", check_finite = true))]
pub(crate) fn fwht_inplace(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: i64,
    normalized: bool,
    device: &str,
    check_finite: bool,
) -> PyResult<()> {
    use sketchkit::fwht::{transform_cols, transform_rows};
    match Device::open_for(py, device, x, "x")? {
        Device::Cpu => with_float!(FloatKind::of(x, "x")?, T => {
            fwht_in_place::<T, ()>(py, x, axis, move |m, rows| {
                if rows {
                    transform_rows(m, normalized, check_finite)
                } else {
                    transform_cols(m, normalized, check_finite)
                }
            })
        }),
        Device::Backend(b) => fwht_in_place::<f32, ()>(py, x, axis, move |m, rows| {
            b.transform_rows(if rows { m } else { m.t() }, normalized, check_finite)
        }),
    }
}

/// Below this length the transform takes less time than releasing and re-taking the
/// GIL.
const KEEP_GIL_BELOW: usize = 1 << 14;

fn fwht_vec_typed<T: Float>(
    py: Python<'_>,
    a: &Bound<'_, PyArray1<T>>,
    normalized: bool,
    check_finite: bool,
) -> PyResult<bool> {
    let n = a.len();
    if !a.is_contiguous() || sketchkit::fwht::check_len(n, "x").is_err() {
        return Ok(false);
    }
    let Ok(mut guard) = a.try_readwrite() else {
        return Ok(false);
    };
    let Ok(x) = guard.as_slice_mut() else {
        return Ok(false);
    };
    let gil = if n < KEEP_GIL_BELOW {
        Gil::Keep
    } else {
        Gil::Release
    };
    // With `check_finite`, the core refuses NaN/inf before anything is overwritten.
    run(py, gil, "x", move || {
        sketchkit::fwht::transform_vec(x, normalized, check_finite)
    })?;
    Ok(true)
}

/// One argument of [`fwht`] as the caller gave it, or [`Given::Absent`] when left
/// out (so that an explicit `None` still reaches the general path's checks).
pub(crate) enum Given<'py> {
    /// Not passed: the documented default.
    Absent,
    /// Passed, as is.
    Value(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = std::convert::Infallible;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> Result<Self, Self::Error> {
        Ok(Given::Value(obj.to_owned()))
    }
}

impl<'py> Given<'py> {
    /// `default` when absent; the value when it is exactly a `bool`; None otherwise.
    fn flag(&self, default: bool) -> Option<bool> {
        use pyo3::types::PyBool;
        match self {
            Given::Absent => Some(default),
            Given::Value(v) => v.cast_exact::<PyBool>().ok().map(|b| b.is_true()),
        }
    }
}

/// The general path of `fwht`: `sketchkit._hadamard._fwht_general`, looked up once.
static GENERAL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Transforms `x` on the 1-D in-place fast path and returns true; false (touching
/// nothing) when the call is not exactly that: a contiguous, writable 1-D float32
/// or float64 array of power-of-two length, `inplace=True`, on the CPU, `axis` an
/// `int` equal to 0 or -1, and `bool` flags. NaN/inf raise `ValueError` when
/// `check_finite`.
fn fast_path(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: &Given<'_>,
    normalized: &Given<'_>,
    inplace: &Given<'_>,
    check_finite: &Given<'_>,
    device: &Given<'_>,
) -> PyResult<bool> {
    use pyo3::types::{PyInt, PyString};
    if inplace.flag(false) != Some(true) {
        return Ok(false);
    }
    if let Given::Value(d) = device {
        let cpu = d
            .cast_exact::<PyString>()
            .is_ok_and(|s| s.to_str().is_ok_and(|s| s == "cpu"));
        if !cpu {
            return Ok(false);
        }
    }
    let (Some(normalized), Some(check_finite)) = (normalized.flag(false), check_finite.flag(true))
    else {
        return Ok(false);
    };
    // Exactly an int (not a bool or a float) equal to 0 or -1.
    if let Given::Value(a) = axis {
        if !a.is_exact_instance_of::<PyInt>() || !matches!(a.extract::<i64>(), Ok(0 | -1)) {
            return Ok(false);
        }
    }
    // Each cast checks the type, the dimension count and the dtype in one go.
    if let Ok(a) = x.cast::<PyArray1<f32>>() {
        fwht_vec_typed(py, a, normalized, check_finite)
    } else if let Ok(a) = x.cast::<PyArray1<f64>>() {
        fwht_vec_typed(py, a, normalized, check_finite)
    } else {
        Ok(false)
    }
}

/// Fast Walsh–Hadamard transform along one axis, in natural (Hadamard) order.
///
/// With ``n`` the length of ``x`` along ``axis`` (a power of two), every 1-D slice
/// ``v`` of ``x`` along ``axis`` is replaced by
///
/// .. math::
///
///     H_n v \quad \text{(unnormalized)} \qquad \text{or} \qquad
///     \frac{1}{\sqrt{n}} H_n v \quad \text{(normalized=True)},
///
/// where ``H_n`` is the Walsh–Hadamard matrix in natural (Sylvester) order,
///
/// .. math::
///
///     H_1 = [1], \qquad
///     H_{2n} = \begin{bmatrix} H_n & H_n \\ H_n & -H_n \end{bmatrix},
///
/// the matrix of :func:`scipy.linalg.hadamard`. ``H_n`` is symmetric with
/// ``H_n H_n = n I``, so the unnormalized transform is its own inverse up to a factor
/// ``n`` (``fwht(fwht(v)) = n v``), and the normalized transform is orthogonal and
/// self-inverse: it preserves Euclidean norms (Parseval,
/// ``||H_n v / sqrt(n)|| = ||v||``) and ``fwht(fwht(v, normalized=True),
/// normalized=True) = v``.
///
/// The transform costs ``n log2 n`` additions per slice. The slices of a 2-D array
/// are transformed in parallel on sketchkit's thread pool (see
/// :func:`sketchkit.set_num_threads`), with the GIL released. The result is identical
/// bit for bit for every thread count, memory layout and SIMD level.
///
/// Parameters
/// ----------
/// x : array_like of shape (n,), (n, m) or (m, n)
///     A 1-D or 2-D array (NumPy, any CPU array with ``__dlpack__`` or the buffer
///     protocol, or a nested sequence) whose length along ``axis`` is a power of two in
///     ``[1, 2**30]``. No padding is done here; to sketch vectors of any length use
///     the SRHT operator :func:`sketchkit.srht`, which zero-pads its input to the next
///     power of two. ``float32`` and ``float64`` are transformed in their own precision;
///     integer and boolean input is converted to ``float64`` and ``float16`` to
///     ``float32`` (only with ``inplace=False``). Any memory layout (C, F, strided) is
///     accepted.
/// axis : int, default=-1
///     Axis along which to transform: ``0`` or ``-1`` for a 1-D array; ``0``, ``1``,
///     ``-1`` or ``-2`` for a 2-D array (``axis=1`` transforms each row, ``axis=0``
///     each column).
/// normalized : bool, default=False
///     If True, scale by ``1 / sqrt(n)`` (the orthonormal transform).
/// inplace : bool, default=False
///     If False, transform a copy of ``x`` (same dtype and memory order) and return
///     it; ``x`` is unchanged. If True, overwrite ``x`` and return ``x`` itself:
///     ``x`` must then be a writable, aligned ``float32`` or ``float64`` array
///     whose elements are contiguous along ``axis`` (a stride of one element). A
///     NumPy array is returned as is; a CPU array with ``__dlpack__`` (a PyTorch
///     tensor, ...; with NumPy >= 2.1, whose ``from_dlpack`` gives writable views)
///     or a writable buffer (``array.array``, ``memoryview``) is overwritten in its
///     own memory and a NumPy view of that memory is returned.
/// check_finite : bool, default=True
///     Whether to check that ``x`` holds no NaN or infinity (SciPy's name and
///     default). A refused input is left unchanged: nothing is written before the
///     whole of ``x`` has been checked. For a 1-D ``x`` of 2 to 8 KiB (``2**9`` to
///     ``2**11`` float32 values) on CPUs with AVX2 or AVX-512, the check is fused
///     into the transform: its passes run through a scratch on the stack and the
///     last one writes ``x`` only once every partial result is finite; from 32 KiB
///     to 512 KiB (``2**13`` to ``2**17`` float32 values, from ``2**14`` on AVX2)
///     the same runs through a scratch the calling thread keeps for its next call
///     (at most 516 KiB a thread). Otherwise the check is one more read of ``x``
///     before the transform (a quarter to a third of the call's time at
///     ``2**20``). With ``False`` the check is skipped: NaN and infinity
///     then propagate through the additions into the output, and no error is
///     raised.
/// device : {"cpu", "gpu"}, default="cpu"
///     Where to compute. ``"gpu"`` takes ``float32`` input only (``TypeError``
///     otherwise; nothing is converted) and gives the CPU's result bit for bit: the
///     levels run in the same order with the same two operations per butterfly.
///     Slices up to ``2**12`` are transformed in workgroup memory, longer ones with
///     extra passes over device memory. One slice must fit in one storage buffer, so
///     lengths go up to the device's binding limit over 4 bytes (``2**28`` where the
///     limit is just under 2 GiB, ``2**25`` where it is 128 MiB).
///
/// Returns
/// -------
/// ndarray
///     The transformed array, of the shape of ``x`` and a float dtype: ``x`` itself
///     (or a view of its memory) when ``inplace=True``, otherwise a new array.
///
/// Raises
/// ------
/// ValueError
///     If ``x`` contains NaN or infinity and ``check_finite`` is True (checked before
///     anything is overwritten), is empty or not 1-D or 2-D, if its length along
///     ``axis`` is not a power of two, if ``axis`` is out of bounds, or, with
///     ``inplace=True``, if ``x`` is read-only, unaligned or not contiguous along
///     ``axis``.
/// TypeError
///     For complex, object and other non-numeric dtypes, and with ``inplace=True`` for
///     any dtype other than ``float32`` and ``float64`` (including integers); with
///     ``device="gpu"`` for any dtype other than ``float32``.
/// RuntimeError
///     With ``device="gpu"`` when no GPU adapter exists.
///
/// Examples
/// --------
/// >>> import numpy as np
/// >>> import sketchkit as sk
/// >>> sk.fwht(np.array([1.0, 0.0, 1.0, 0.0]))
/// array([2., 2., 0., 0.])
/// >>> x = np.arange(8, dtype=np.float32)
/// >>> y = sk.fwht(x, normalized=True)
/// >>> bool(np.isclose(np.linalg.norm(y), np.linalg.norm(x)))
/// True
#[pyfunction]
#[pyo3(
    signature = (
        x,
        axis = Given::Absent,
        *,
        normalized = Given::Absent,
        inplace = Given::Absent,
        check_finite = Given::Absent,
        device = Given::Absent,
    ),
    text_signature = "(x, axis=-1, *, normalized=False, inplace=False, check_finite=True, device='cpu')"
)]
pub(crate) fn fwht<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    axis: Given<'py>,
    normalized: Given<'py>,
    inplace: Given<'py>,
    check_finite: Given<'py>,
    device: Given<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    // The one-vector in-place call, often made once per row from a Python loop,
    // is served here without entering Python code; every other call (and every
    // error message) goes through the Python function that owns the general rules.
    if fast_path(py, x, &axis, &normalized, &inplace, &check_finite, &device)? {
        return Ok(x.clone());
    }
    let kwargs = pyo3::types::PyDict::new(py);
    for (name, v) in [
        ("axis", axis),
        ("normalized", normalized),
        ("inplace", inplace),
        ("check_finite", check_finite),
        ("device", device),
    ] {
        if let Given::Value(v) = v {
            kwargs.set_item(name, v)?;
        }
    }
    let general = GENERAL.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("sketchkit._hadamard")?
            .getattr("_fwht_general")?
            .unbind())
    })?;
    general.bind(py).call((x,), Some(&kwargs))
}
