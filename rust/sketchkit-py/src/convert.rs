//! NumPy and SciPy inputs as core views: the binding's only conversion module.
//!
//! * **One dispatch idiom.** A float input's element type is read once, as a
//!   [`FloatKind`] ([`FloatKind::of`] for an array, [`FloatKind::parse`] for a `dtype`
//!   string), and [`with_float!`] monomorphizes the generic code (bounded by [`Float`])
//!   for it; CSR index arrays do the same with [`IndexKind`] and [`with_index!`], and
//!   [`with_csr!`] combines the two. All are [`Kind`]s dispatched by [`dispatch!`].
//! * **Borrows first, views from borrows.** [`readonly`]/[`readwrite`] take NumPy's
//!   borrow flag (so no other Rust code writes the array meanwhile); [`view`],
//!   [`writable_view`] and [`slice1`] build core views that cannot outlive the borrow.
//!   Results are written into fresh arrays through [`with_output`].
//! * **One CSR convention.** A CSR matrix arrives as its three arrays
//!   `(data, indices, indptr)` plus the dimension they do not carry; [`Csr`] borrows
//!   them and [`CsrParts::view`] hands them to `CsrRef::new`, the only structure check.
//! * **Integer arguments** are taken as `i64` and converted by [`count`]/[`counts`],
//!   whose errors name the argument.

use crate::error::{invalid, wrong_type, Error};
use numpy::{
    dtype, Element, Ix1, PyArray, PyArray1, PyArray2, PyArrayDescr, PyArrayDescrMethods,
    PyArrayMethods, PyReadonlyArray, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray,
    PyReadwriteArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use sketchkit::{CsrRef, MatMut, MatRef, Real, SparseIndex};

/// The float element types the kernels take.
pub(crate) trait Float: Real + Element {}
impl<T: Real + Element> Float for T {}

/// A NumPy dtype, as `numpy::dtype::<T>`.
type DtypeOf = for<'py> fn(Python<'py>) -> Bound<'py, PyArrayDescr>;

/// A closed set of element types an argument may have: each variant with its dtype.
/// [`dispatch!`] turns a variant into the Rust type.
pub(crate) trait Kind: Copy + 'static {
    /// Every variant with its NumPy dtype.
    const ALL: &'static [(Self, DtypeOf)];

    /// The variant of a NumPy array of any dimension, when its dtype is one of
    /// [`Kind::ALL`] with native byte order (rust-numpy's own cast test).
    fn of_array(x: &Bound<'_, PyAny>) -> Option<Self> {
        let dt = x.cast::<PyUntypedArray>().ok()?.dtype();
        let py = x.py();
        Self::ALL
            .iter()
            .find(|(_, dtype)| dt.is_equiv_to(&dtype(py)))
            .map(|&(k, _)| k)
    }
}

/// The element type of a float input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatKind {
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

impl Kind for FloatKind {
    const ALL: &'static [(Self, DtypeOf)] = &[
        (FloatKind::F32, dtype::<f32>),
        (FloatKind::F64, dtype::<f64>),
    ];
}

impl FloatKind {
    /// [`Kind::of_array`], or a `TypeError` naming the argument.
    pub(crate) fn of(x: &Bound<'_, PyAny>, name: &str) -> PyResult<FloatKind> {
        Self::of_array(x).ok_or_else(|| {
            wrong_type(
                name,
                "a float32 or float64 numpy.ndarray with native byte order",
            )
        })
    }

    /// A `dtype` argument: `"float32"` or `"float64"`.
    pub(crate) fn parse(dtype: &str) -> PyResult<FloatKind> {
        match dtype {
            "float32" => Ok(FloatKind::F32),
            "float64" => Ok(FloatKind::F64),
            other => Err(invalid(
                "dtype",
                format!("expected 'float32' or 'float64', got {other:?}"),
            )),
        }
    }
}

/// The index type of a CSR input (`indices` and `indptr` share it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexKind {
    /// `int32`.
    I32,
    /// `int64`.
    I64,
}

impl Kind for IndexKind {
    const ALL: &'static [(Self, DtypeOf)] = &[
        (IndexKind::I32, dtype::<i32>),
        (IndexKind::I64, dtype::<i64>),
    ];
}

impl IndexKind {
    /// The index type of `indices`, or a `TypeError`.
    pub(crate) fn of(indices: &Bound<'_, PyAny>) -> PyResult<IndexKind> {
        Self::of_array(indices)
            .ok_or_else(|| wrong_type("indices and indptr", "int32 or int64 arrays of one dtype"))
    }
}

/// The binding's one dispatch: runs `$body` once per listed variant, with the type
/// alias `$t` set to that variant's Rust type, and picks the run of the variant `$kind`.
macro_rules! dispatch {
    ($kind:expr, $t:ident => $body:expr; $($variant:path = $ty:ty),+ $(,)?) => {
        match $kind {
            $($variant => {
                type $t = $ty;
                $body
            })+
        }
    };
}
pub(crate) use dispatch;

/// [`dispatch!`] over a [`FloatKind`].
macro_rules! with_float {
    ($kind:expr, $t:ident => $body:expr) => {
        $crate::convert::dispatch!($kind, $t => $body;
            $crate::convert::FloatKind::F32 = f32,
            $crate::convert::FloatKind::F64 = f64)
    };
}
pub(crate) use with_float;

/// [`dispatch!`] over an [`IndexKind`].
macro_rules! with_index {
    ($kind:expr, $i:ident => $body:expr) => {
        $crate::convert::dispatch!($kind, $i => $body;
            $crate::convert::IndexKind::I32 = i32,
            $crate::convert::IndexKind::I64 = i64)
    };
}
pub(crate) use with_index;

/// Runs `$body` with `$t` and `$i` set to the float and index types of the CSR arrays
/// `$data` and `$indices`.
macro_rules! with_csr {
    ($data:expr, $indices:expr, $t:ident, $i:ident => $body:expr) => {{
        let float = $crate::convert::FloatKind::of($data, "data")?;
        let index = $crate::convert::IndexKind::of($indices)?;
        $crate::convert::with_float!(float, $t => $crate::convert::with_index!(index, $i => $body))
    }};
}
pub(crate) use with_csr;

/// `x` as a NumPy array of element `T` and dimension `D`, or a `TypeError` naming it.
pub(crate) fn array<'a, 'py, T: Element, D: numpy::ndarray::Dimension>(
    x: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyArray<T, D>>> {
    x.cast::<PyArray<T, D>>().map_err(|_| {
        let ndim = D::NDIM.map_or(String::new(), |n| format!("{n}-D "));
        let t = dtype::<T>(x.py());
        wrong_type(
            name,
            format!("a {ndim}{t} numpy.ndarray with native byte order"),
        )
    })
}

/// A readonly borrow of `a` (fails while Rust code elsewhere writes it).
pub(crate) fn readonly<'py, T: Element, D: numpy::ndarray::Dimension>(
    a: &Bound<'py, PyArray<T, D>>,
    name: &str,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    a.try_readonly().map_err(|e| invalid(name, e))
}

/// A readwrite borrow of `a` (fails for read-only arrays and arrays borrowed elsewhere).
pub(crate) fn readwrite<'py, T: Element, D: numpy::ndarray::Dimension>(
    a: &Bound<'py, PyArray<T, D>>,
    name: &str,
) -> PyResult<PyReadwriteArray<'py, T, D>> {
    a.try_readwrite()
        .map_err(|e| invalid(name, format!("cannot be written in place: {e}")))
}

/// Element strides of a 2-D array, or an error when its strides or address are not
/// multiples of the element size.
fn element_strides<T: Element>(a: &Bound<'_, PyArray2<T>>, name: &str) -> PyResult<[isize; 2]> {
    let esz = std::mem::size_of::<T>() as isize;
    let st = a.strides();
    if st[0] % esz != 0
        || st[1] % esz != 0
        || !(a.data() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return Err(invalid(
            name,
            "must be aligned (use numpy.require(x, requirements='A'))",
        ));
    }
    Ok([st[0] / esz, st[1] / esz])
}

/// A strided view of a borrowed 2-D array (strides converted to elements).
pub(crate) fn view<'a, T: Element>(
    a: &'a PyReadonlyArray2<'_, T>,
    name: &str,
) -> PyResult<MatRef<'a, T>> {
    let [rs, cs] = element_strides(a, name)?;
    let (r, c) = (a.shape()[0], a.shape()[1]);
    // SAFETY: `a` is a live NumPy array whose shape and strides describe initialized
    // elements, aligned (checked above); the readonly borrow `a` is held for 'a, so no
    // Rust code (rust-numpy's borrow tracking covers every extension built on it) writes
    // them meanwhile. Python code of other threads writing the same buffer while the GIL
    // is released is excluded by the contract of every GIL-releasing NumPy extension.
    Ok(unsafe { MatRef::from_raw_parts(a.data(), r, c, rs, cs) })
}

/// A mutable view of a writable 2-D array for in-place work, borrowed from its
/// readwrite borrow. The core's rule for writable strides (no broadcast, no
/// self-overlap) decides; errors name `name`.
pub(crate) fn writable_view<'a, T: Element>(
    a: &'a mut PyReadwriteArray2<'_, T>,
    name: &'static str,
) -> PyResult<MatMut<'a, T>> {
    let [rs, cs] = element_strides(a, name)?;
    let (r, c) = (a.shape()[0], a.shape()[1]);
    // SAFETY: the readwrite borrow `a` is held exclusively for 'a (no other Rust view
    // reads or writes the array meanwhile), NumPy only hands out readwrite borrows of
    // writeable arrays, and the shape and strides describe initialized aligned elements
    // (checked by `element_strides`); that no two (row, column) pairs address one
    // element is what `from_raw_parts_writable` checks.
    Ok(
        unsafe { MatMut::from_raw_parts_writable(a.data(), r, c, rs, cs, name) }
            .map_err(Error::from)?,
    )
}

/// What a fresh result array holds before `fill` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Init {
    /// Zeros.
    Zeroed,
    /// Anything: `fill` writes every element (the operators' `out = …` calls), so a
    /// large array may be a reused block of the result cache, not zeroed first.
    Overwritten,
}

/// Allocates a `rows × cols` array (F order when `f_order`) holding what `init` says,
/// lets `fill` write it through a mutable view, and returns it with `fill`'s result.
pub(crate) fn with_output<'py, T: Element, R>(
    py: Python<'py>,
    [rows, cols]: [usize; 2],
    f_order: bool,
    init: Init,
    fill: impl FnOnce(MatMut<'_, T>) -> PyResult<R>,
) -> PyResult<(Bound<'py, PyArray2<T>>, R)> {
    let bytes = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(std::mem::size_of::<T>()));
    let out = match bytes.and_then(|b| crate::outbuf::take(py, b, init == Init::Zeroed)) {
        Some(block) => {
            let block = block?;
            let shape = numpy::ndarray::ShapeBuilder::set_f((rows, cols), f_order);
            // SAFETY: the block holds rows·cols initialized elements of T (bytes was
            // computed from them; zeroed, or an earlier result's elements of the same
            // size: every bit pattern is a valid float), aligned for T (16 bytes), and
            // it moves, unchanged, into the base object that keeps it alive as long
            // as the array.
            let v = unsafe {
                numpy::ndarray::ArrayView2::from_shape_ptr(shape, block.as_ptr().cast::<T>())
            };
            let base = Bound::new(py, crate::outbuf::OutputBlock::new(block))?;
            // SAFETY: `v` points into the block owned by `base`, which becomes the
            // array's base (NumPy keeps it alive while the array or a view lives).
            unsafe { PyArray2::borrow_from_array(&v, base.into_any()) }
        }
        // NumPy's own `zeros`: an allocation it cannot make is its `MemoryError`
        // (rust-numpy's `PyArray2::zeros` would panic on the null pointer instead).
        None => py
            .import("numpy")?
            .getattr("zeros")?
            .call1((
                (rows, cols),
                numpy::dtype::<T>(py),
                if f_order { "F" } else { "C" },
            ))?
            .cast_into::<PyArray2<T>>()?,
    };
    let st = out.strides();
    let esz = std::mem::size_of::<T>() as isize;
    // SAFETY: `out` was allocated just above (contiguous, aligned, initialized) and
    // no Python or Rust code has seen it yet; the view lives only inside `fill`, which
    // cannot keep it (it must accept any lifetime), and `out` stays alive meanwhile.
    let view = unsafe { MatMut::from_raw_parts(out.data(), rows, cols, st[0] / esz, st[1] / esz) };
    let r = fill(view)?;
    Ok((out, r))
}

/// A 1-D borrowed array as a slice (it must be contiguous).
pub(crate) fn slice1<'a, T: Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    name: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| invalid(name, "must be contiguous"))
}

/// A `rows × cols` array holding `v` (row-major).
pub(crate) fn matrix<T: Element>(
    py: Python<'_>,
    v: Vec<T>,
    [rows, cols]: [usize; 2],
) -> PyResult<Bound<'_, PyArray2<T>>> {
    PyArray1::from_vec(py, v).reshape([rows, cols])
}

/// Row indices as an `int64` array.
pub(crate) fn index_array(py: Python<'_>, idx: Vec<usize>) -> Bound<'_, PyArray1<i64>> {
    PyArray1::from_vec(py, idx.into_iter().map(|i| i as i64).collect::<Vec<_>>())
}

/// A CSR matrix's arrays `(data, indices, indptr)`, borrowed readonly.
pub(crate) struct Csr<'py, T: Element, I: Element> {
    data: PyReadonlyArray1<'py, T>,
    indices: PyReadonlyArray1<'py, I>,
    indptr: PyReadonlyArray1<'py, I>,
}

impl<'py, T: Float, I: SparseIndex + Element> Csr<'py, T, I> {
    /// Borrows the arrays (types as [`with_csr!`] found them).
    pub(crate) fn borrow(
        data: &Bound<'py, PyAny>,
        indices: &Bound<'py, PyAny>,
        indptr: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        let data = array::<T, Ix1>(data, "data")?;
        let indices = array::<I, Ix1>(indices, "indices")?;
        let indptr = array::<I, Ix1>(indptr, "indptr")
            .map_err(|_| wrong_type("indices and indptr", "int32 or int64 arrays of one dtype"))?;
        Ok(Csr {
            data: readonly(data, "data")?,
            indices: readonly(indices, "indices")?,
            indptr: readonly(indptr, "indptr")?,
        })
    }

    /// Rows the arrays hold (`len(indptr) - 1`).
    pub(crate) fn rows(&self) -> PyResult<usize> {
        self.indptr
            .len()
            .checked_sub(1)
            .ok_or_else(|| invalid("indptr", "is empty"))
    }

    /// The three slices, for a [`CsrRef`] built (and structure-checked) by the core
    /// without the GIL.
    pub(crate) fn parts(&self) -> PyResult<CsrParts<'_, T, I>> {
        Ok(CsrParts {
            data: slice1(&self.data, "data")?,
            indices: slice1(&self.indices, "indices")?,
            indptr: slice1(&self.indptr, "indptr")?,
        })
    }
}

/// Borrowed CSR slices, `Send`: turned into a [`CsrRef`] inside the GIL-free work.
#[derive(Clone, Copy)]
pub(crate) struct CsrParts<'a, T, I> {
    data: &'a [T],
    indices: &'a [I],
    indptr: &'a [I],
}

impl<'a, T, I: SparseIndex> CsrParts<'a, T, I> {
    /// The `rows × cols` matrix; `CsrRef::new` checks the structure (O(nnz)).
    pub(crate) fn view(self, rows: usize, cols: usize) -> sketchkit::Result<CsrRef<'a, T, I>> {
        CsrRef::new(rows, cols, self.indptr, self.indices, self.data)
    }
}

/// A non-negative integer argument as `usize`; the error names it.
pub(crate) fn count(v: i64, arg: &str) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| invalid(arg, format!("must be non-negative, got {v}")))
}

/// A list of non-negative integers as `usize`; the error names the argument.
pub(crate) fn counts(v: &[i64], arg: &str) -> PyResult<Vec<usize>> {
    v.iter().map(|&x| count(x, arg)).collect()
}
