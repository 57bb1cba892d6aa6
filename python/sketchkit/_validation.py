"""Input validation shared by the operator, the estimators and the command line.

Every public entry point of :mod:`sketchkit` funnels its arguments through the helpers
in this module, so that the rules below hold everywhere:

Array interchange
    Every dense input goes through ``as_array``, the one conversion of an input to
    a NumPy array, and every result is a NumPy array:

    * NumPy arrays are used as they are (``ndarray`` subclasses as a base-class view).
    * Any other object with ``__dlpack__`` (PyTorch CPU tensors, JAX arrays,
      ``array-api-strict`` arrays, other array-API libraries' CPU arrays) is imported with
      :func:`numpy.from_dlpack`: a zero-copy view of the producer's memory. An array
      on another device (a GPU) is a :class:`TypeError` that says to copy it to the
      CPU first; a CPU object whose DLPack export fails (a dtype DLPack lacks, a
      tensor that requires grad) falls back to its ``__array__`` (through
      :func:`numpy.asarray`) if it has one; otherwise, or if that fails too, it is a
      :class:`TypeError` naming the argument.
    * Everything else goes through :func:`numpy.asarray`: objects with the buffer
      protocol (``memoryview``, ``array.array``, ``bytearray``) as zero-copy views,
      then ``__array__``/``__array_interface__`` objects, nested sequences and scalars.

    The rules below then apply to the NumPy array, so a ``float32`` tensor stays
    ``float32`` and is read in place, without a copy.

Dense arrays
    * ``float32`` and ``float64`` arrays are passed through unchanged: no copy, no
      change of memory layout (C order, F order and strided views are all accepted by
      the compiled kernels). ``float32`` input therefore gives ``float32`` output; it is
      never upcast.
    * ``float16`` input is converted to ``float32`` (the kernels have no half-precision
      path); ``longdouble`` input is converted to ``float64``.
    * Integer and boolean input is converted to ``float64``.
    * Complex, object, string, datetime and structured dtypes raise :class:`TypeError`.
    * Non-native byte order (for instance big-endian ``">f8"`` data read from a file)
      is converted to native byte order, and unaligned buffers are copied to aligned
      memory (:func:`numpy.require` with ``"A"``); the compiled kernels need both.
    * Only 1-D and 2-D input is accepted; empty input (no rows or no columns) raises
      :class:`ValueError`; NaN or infinity raises :class:`ValueError` (checked by the
      compiled ``all_finite`` scan, which allocates nothing).

Sparse matrices
    * SciPy CSR and CSC matrices and arrays are used directly (index dtype ``int32`` or
      ``int64``); any other SciPy sparse format (COO, LIL, DOK, BSR, DIA) is converted
      to CSR. The stored values follow the dense dtype rules above.

Sizes and parameters
    * Counts (``k``, ``d``, ``nnz``, thread counts, ``n_neighbors``, ...) must be Python
      or NumPy integers (not ``bool``): anything else is a :class:`TypeError`
      (``as_int``, the one integer coercion). Seeds must be integers in
      ``[0, 2**64)``; a ``random_state`` (int, ``None``, ``RandomState`` or
      ``Generator``) becomes a seed through ``resolve_seed``, the one resolver of
      every estimator and selector.
    * Value ranges (``k >= 1``, ``nnz <= k``, ``density`` in ``(0, 1]``, ``k * d``
      within int64, the SRHT's sizes, ...), family names, the per-class quotas and the
      CSR structure rules are the core's: the native calls report a bad value as a
      :class:`ValueError`/:class:`OverflowError` naming the argument
      (``"<arg>: <rule>"``). The lists and defaults Python needs (family names, hash
      families, metrics, ``nnz``'s default, ...) are read from ``sketchkit._native``.
"""

from __future__ import annotations

import numbers
import os
import sys
from typing import Any, Literal

import numpy as np

from . import _native

__all__ = [
    "as_array",
    "as_dense",
    "as_float",
    "as_int",
    "as_sparse",
    "check_choice",
    "check_int",
    "check_memory",
    "resolve_density",
    "check_seed",
    "float_dtype_name",
    "has_dlpack",
    "is_sparse",
    "resolve_seed",
]

_SEED_LIMIT = 2**64
#: Seeds drawn from a ``RandomState`` or ``Generator`` lie in ``[0, 2**63 - 1)``.
_DRAWN_SEED_LIMIT = 2**63 - 1


def is_sparse(x: Any) -> bool:
    """True when ``x`` is a SciPy sparse matrix or array.

    SciPy is never imported here: if ``scipy.sparse`` has not been imported by anyone,
    ``x`` cannot be one of its objects.
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(x))


def as_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python ``int``: the one integer coercion of sketchkit.

    Only the type is checked (Python and NumPy integers; ``bool`` and floats are
    rejected); the value's range is the business of the callee.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def check_int(value: Any, name: str, minimum: int | None = 1) -> int:
    """:func:`as_int`, then ``value >= minimum`` (no range check for ``minimum=None``).

    The range check restates a core rule; it stays only where the native call does
    not yet report every bad value (negative ones included) naming ``name``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value < minimum``.
    """
    value = as_int(value, name)
    if minimum is not None and value < minimum:
        if minimum == 1:
            rule = "a positive integer"
        elif minimum == 0:
            rule = "a non-negative integer"
        else:
            rule = f"at least {minimum}"
        raise ValueError(f"{name} must be {rule}, got {name}={value}")
    return value


def as_float(value: Any, name: str) -> float:
    """Return ``value`` as a Python ``float``; only the type is checked (real numbers,
    not ``bool``), the range is the callee's.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` after checking that it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {name}={value!r}"
        )
    return value


def float_dtype_name(dtype: Any) -> Literal["float32", "float64"]:
    """Map a dtype-like to ``"float32"`` or ``"float64"``, the names the compiled
    ``to_dense``/``to_csc`` take."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if dt == np.float32:
        return "float32"
    if dt == np.float64:
        return "float64"
    raise TypeError(f"dtype must be float32 or float64, got {dt}")


def _physical_memory() -> int | None:
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:
        return None
    return int(pages) * int(page_size)


def check_memory(nbytes: float, what: str) -> None:
    """Raise :class:`MemoryError` when ``what`` needs more bytes than the machine has.

    A guard in front of large allocations of the compiled core (materialized operators,
    index lists), so that an impossible request fails with a Python exception up front.
    """
    limit = _physical_memory()
    if limit is not None and nbytes > limit:
        raise MemoryError(
            f"{what} needs {nbytes / 2**30:,.1f} GiB, more than the "
            f"{limit / 2**30:,.1f} GiB of physical memory"
        )


def resolve_density(density: Any, name: str = "density") -> float | None:
    """Coerce a ``density`` argument: ``"auto"`` and ``None`` become ``None`` (the
    core's default, ``1 / sqrt(d)``), a real number becomes a ``float``. The range
    ``(0, 1]`` is the core's rule.

    Raises
    ------
    TypeError
        If ``density`` is neither a string nor a real number.
    ValueError
        For a string other than ``"auto"``.
    """
    if density is None:
        return None
    if isinstance(density, str):
        if density == "auto":
            return None
        raise ValueError(f"{name} must be 'auto' or a float in (0, 1], got {name}={density!r}")
    if isinstance(density, bool) or not isinstance(density, numbers.Real):
        raise TypeError(
            f"{name} must be 'auto' or a float in (0, 1], got {type(density).__name__} {density!r}"
        )
    return float(density)


def check_seed(seed: Any, name: str = "seed") -> int:
    """Return ``seed`` as a Python ``int`` in ``[0, 2**64)``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer in [0, 2**64), got {type(seed).__name__} {seed!r}"
        )
    seed = int(seed)
    if seed < 0 or seed >= _SEED_LIMIT:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {name}={seed}")
    return seed


def resolve_seed(random_state: Any, name: str = "random_state") -> int:
    """The 64-bit seed of a ``random_state``: the one resolver of every estimator and
    selector.

    * an int in ``[0, 2**64)`` is the seed itself;
    * ``None`` draws a seed in ``[0, 2**63 - 1)`` from NumPy's global ``RandomState``;
    * a ``numpy.random.RandomState`` or ``numpy.random.Generator`` draws one from
      itself (advancing it).

    Raises
    ------
    TypeError
        For anything else (``bool`` included).
    ValueError
        For an int outside ``[0, 2**64)``.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return check_seed(random_state, name)
    if random_state is None:
        random_state = np.random.mtrand._rand  # NumPy's global RandomState
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, _DRAWN_SEED_LIMIT, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, _DRAWN_SEED_LIMIT))
    raise TypeError(
        f"{name} must be None, an int, a numpy.random.RandomState or a "
        f"numpy.random.Generator, got {type(random_state).__name__} {random_state!r}"
    )


def _float_dtype_for(dtype: np.dtype, name: str) -> np.dtype:
    """The float dtype the kernels use for input of ``dtype`` (see the module docstring)."""
    kind = dtype.kind
    if kind == "f":
        if dtype.itemsize == 4:
            return np.dtype(np.float32)
        if dtype.itemsize == 8:
            return np.dtype(np.float64)
        if dtype.itemsize < 4:  # float16
            return np.dtype(np.float32)
        return np.dtype(np.float64)  # longdouble
    if kind in "iub":
        return np.dtype(np.float64)
    raise TypeError(
        f"{name} has unsupported dtype {dtype}; expected a real floating or integer array"
    )


def _prepare_buffer(x: np.ndarray, target: np.dtype) -> np.ndarray:
    """Cast to ``target`` in native byte order and ensure alignment; copy only if needed."""
    if x.dtype != target:  # different type or non-native byte order
        x = x.astype(target)
    if not x.flags.aligned:
        x = np.require(x, requirements=["A"])
    return x


def _prepare_sparse_buffer(x: np.ndarray, target: np.dtype) -> np.ndarray:
    """As :func:`_prepare_buffer`, and contiguous (the sparse kernels read flat arrays)."""
    return np.ascontiguousarray(_prepare_buffer(x, target))


def _check_finite(x: np.ndarray, name: str) -> None:
    if x.ndim == 1:
        x = x[np.newaxis, :]  # a 2-D view: the scan then never needs a contiguous copy
    if not _native.all_finite(x):
        raise ValueError(f"Input {name} contains NaN or infinity.")


#: DLPack device types whose memory the CPU reads, the ones :func:`numpy.from_dlpack`
#: takes: ``kDLCPU`` (1), ``kDLCUDAHost`` (3, pinned), ``kDLROCMHost`` (11),
#: ``kDLCUDAManaged`` (13).
_DLPACK_HOST_DEVICES = frozenset({1, 3, 11, 13})


def has_dlpack(x: Any) -> bool:
    """Whether ``x`` is a non-NumPy object that exports DLPack (``__dlpack__``)."""
    return not isinstance(x, np.ndarray) and hasattr(type(x), "__dlpack__")


def _dlpack_device(x: Any) -> tuple[int, int] | None:
    try:
        dev = x.__dlpack_device__()
        return int(dev[0]), int(dev[1])
    except Exception:  # noqa: BLE001 - no (usable) __dlpack_device__: let from_dlpack say
        return None


def as_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a NumPy array without a copy where the input allows one.

    The one conversion of an input to NumPy (see "Array interchange" in the module
    docstring): NumPy arrays as they are, ``__dlpack__`` objects through
    :func:`numpy.from_dlpack` (zero-copy), everything else (the buffer protocol
    included) through :func:`numpy.asarray`. Dtype and shape are not checked here.

    Parameters
    ----------
    x : object
        The input.
    name : str
        The argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``x`` itself, or a view of its memory, or (sequences, ``__array__`` objects
        that copy) a new array.

    Raises
    ------
    TypeError
        If ``x`` lives on a device other than the CPU, or cannot be converted.
    """
    if isinstance(x, np.ndarray):
        return np.asarray(x)
    if has_dlpack(x):
        device = _dlpack_device(x)
        if device is not None and device[0] not in _DLPACK_HOST_DEVICES:
            raise TypeError(
                f"{name} is a {type(x).__name__} on a non-CPU device (DLPack device "
                f"{device}); sketchkit reads CPU memory: copy it to the host first "
                "(for instance tensor.cpu() or jax.device_get(x))"
            )
        try:
            return np.from_dlpack(x)
        except (BufferError, TypeError, ValueError, RuntimeError) as dlpack_exc:
            failed = f"{name} ({type(x).__name__}) could not be read as a NumPy array: "
            if not (hasattr(type(x), "__array__") or hasattr(x, "__array_interface__")):
                raise TypeError(f"{failed}DLPack export failed ({dlpack_exc})") from dlpack_exc
            try:
                return np.asarray(x)
            except Exception as exc:  # noqa: BLE001 - reported with the DLPack error
                raise TypeError(
                    f"{failed}DLPack export failed ({dlpack_exc}), and so did numpy.asarray ({exc})"
                ) from exc
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged sequences and the like
        raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from exc


def as_dense(x: Any, name: str, *, check_finite: bool = True) -> np.ndarray:
    """Validate a dense 1-D or 2-D array for the compiled kernels.

    ``float32``/``float64`` arrays in native byte order come back as the very same
    object (or, for ``ndarray`` subclasses, DLPack producers and buffer-protocol
    objects, a view of their memory: see :func:`as_array`); see the module docstring
    for the conversions applied to other dtypes.

    Parameters
    ----------
    x : array_like
        The input: a NumPy array, any CPU array with ``__dlpack__`` or the buffer
        protocol, or anything :func:`numpy.asarray` takes.
    name : str
        The argument name used in error messages.
    check_finite : bool, default=True
        Whether to reject NaN and infinity.

    Returns
    -------
    numpy.ndarray
        A ``float32`` or ``float64`` array with ``ndim`` in ``{1, 2}``.
    """
    if is_sparse(x):
        raise TypeError(f"{name} must be a dense array here, got a sparse {type(x).__name__}")
    arr = as_array(x, name)
    target = _float_dtype_for(arr.dtype, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be a 1-D or 2-D array, got an array with ndim={arr.ndim}")
    check_nonempty(arr, name)
    arr = _prepare_buffer(arr, target)
    if check_finite:
        _check_finite(arr, name)
    return arr


def check_nonempty(arr: np.ndarray, name: str) -> None:
    """The empty-array rule of every data input, on every device: ``ValueError``."""
    if arr.size == 0:
        raise ValueError(
            f"{name} is empty (shape {arr.shape}); at least one row and one column are required"
        )


def as_sparse(x: Any, name: str, *, check_finite: bool = True) -> Any:
    """Validate a SciPy sparse matrix or array for the compiled kernels.

    CSR and CSC input is returned as is when its values are ``float32``/``float64`` and
    its index arrays ``int32``/``int64``; other sparse formats are converted to CSR,
    other value dtypes follow the dense rules (integers and booleans become
    ``float64``). The container class (``*_matrix`` or ``*_array``) is preserved.

    Returns
    -------
    scipy.sparse.csr_matrix, csr_array, csc_matrix or csc_array
    """
    if not is_sparse(x):
        raise TypeError(f"{name} must be a SciPy sparse matrix, got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix, got ndim={x.ndim}")
    n_rows, n_cols = x.shape
    if n_rows == 0 or n_cols == 0:
        raise ValueError(
            f"{name} is empty (shape {x.shape}); at least one row and one column are required"
        )
    if x.format not in ("csr", "csc"):
        x = x.tocsr()
    data, indices, indptr = x.data, x.indices, x.indptr
    # The structure (indptr's length, start, order and end, indices in range) is the
    # core's rule (CsrRef::new, one O(nnz) pass naming ``name``); here only SciPy's
    # storage tail (arrays longer than the stored entries) is dropped.
    nnz = int(indptr[-1]) if indptr.ndim == 1 and indptr.shape[0] > 0 else -1
    if 0 <= nnz < max(data.shape[0], indices.shape[0]):
        data, indices = data[:nnz], indices[:nnz]
    target = _float_dtype_for(data.dtype, name)
    data = _prepare_sparse_buffer(data, target)
    index_dtype = indices.dtype
    if index_dtype not in (np.int32, np.int64) or indptr.dtype != index_dtype:
        index_dtype = np.dtype(np.int64)
    indices = _prepare_sparse_buffer(indices, index_dtype)
    indptr = _prepare_sparse_buffer(indptr, index_dtype)
    if data is not x.data or indices is not x.indices or indptr is not x.indptr:
        # copy=False keeps the converted buffers (SciPy may still narrow the index dtype).
        try:
            x = type(x)((data, indices, indptr), shape=x.shape, copy=False)
        except ValueError as exc:  # SciPy's own O(1) format checks
            raise ValueError(f"{name}: {exc}") from exc
    if check_finite:
        _check_finite(x.data, name)
    return x
