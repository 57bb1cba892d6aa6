"""Array interchange: any CPU array with ``__dlpack__`` or the buffer protocol is read
without a copy (NumPy, array-api-strict, ``memoryview``/``array.array``, PyTorch when
installed), and every result is a NumPy array."""

from __future__ import annotations

import array

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sketchkit as sk
from sketchkit import linalg
from sketchkit._validation import as_array, as_dense
from sketchkit.selection import GraphAttentionSelector, exact_kneighbors_graph

xp = pytest.importorskip("array_api_strict")

NUMPY_VERSION = tuple(int(p) for p in np.__version__.split(".")[:2])
RNG = np.random.default_rng(0)
X64 = RNG.standard_normal((40, 16))
X32 = X64.astype(np.float32)


def _strict(a: np.ndarray):
    return xp.asarray(a)


# ------------------------------------------------------------------ the coercion
def test_numpy_arrays_are_passed_through():
    assert as_dense(X64, "X") is X64
    assert as_array(X32, "X") is X32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dlpack_input_is_a_zero_copy_view(dtype):
    a = _strict(X64.astype(dtype))
    arr = as_dense(a, "X")
    assert type(arr) is np.ndarray and arr.dtype == dtype  # no upcast
    assert np.shares_memory(arr, np.from_dlpack(a))  # the producer's own memory


@pytest.mark.parametrize("typecode, dtype", [("d", np.float64), ("f", np.float32)])
def test_buffer_protocol_input_is_a_zero_copy_view(typecode, dtype):
    buf = array.array(typecode, [1.0, 2.0, 3.0, 4.0])
    for obj in (buf, memoryview(buf)):
        arr = as_dense(obj, "x")
        assert arr.dtype == dtype
        assert np.shares_memory(arr, np.frombuffer(buf, dtype=dtype))


def test_integer_dlpack_input_follows_the_dtype_rules():
    a = xp.asarray([[1, 2], [3, 4]], dtype=xp.int32)
    arr = as_dense(a, "X")
    assert arr.dtype == np.float64  # the documented integer -> float64 rule
    assert_array_equal(arr, [[1.0, 2.0], [3.0, 4.0]])


def test_complex_dlpack_input_is_refused_naming_the_argument():
    a = xp.asarray([[1 + 1j, 2]], dtype=xp.complex128)
    with pytest.raises(TypeError, match="A has unsupported dtype complex128"):
        sk.gaussian(3, 2, seed=0) @ a.T


class _OnGpu:
    """A DLPack producer on a CUDA device (type 2)."""

    def __dlpack__(self, **kwargs):
        raise BufferError("no host memory")

    def __dlpack_device__(self):
        return (2, 0)


class _BrokenExport:
    """A CPU DLPack producer whose export fails and which has no other route."""

    def __dlpack__(self, **kwargs):
        raise BufferError("cannot export this dtype")

    def __dlpack_device__(self):
        return (1, 0)


def test_device_arrays_and_failed_exports_are_type_errors_naming_the_argument():
    op = sk.gaussian(4, 16, seed=0)
    with pytest.raises(TypeError, match="X is a _OnGpu on a non-CPU device.*cpu"):
        op.project(_OnGpu())
    with pytest.raises(TypeError, match=r"x \(_BrokenExport\) could not be read.*DLPack"):
        sk.fwht(_BrokenExport())


# ------------------------------------------------------------------ public entry points
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_operators_take_dlpack_arrays_and_return_numpy(dtype):
    X = X64.astype(dtype)
    a = _strict(X)
    op = sk.sparse_sign(10, 16, seed=1)
    Y = op.project(a)
    assert type(Y) is np.ndarray and Y.dtype == dtype
    assert_array_equal(Y, op.project(X))
    assert_array_equal(op @ _strict(np.ascontiguousarray(X.T)), op @ X.T)
    Z = sk.srht(8, 16, seed=2).project(a)
    assert_array_equal(Z, sk.srht(8, 16, seed=2).project(X))


def test_rotation_and_fwht_take_dlpack_and_buffers():
    Q = sk.hadamard_rotation(16, seed=3)
    a = _strict(X64)
    assert_array_equal(Q.apply(a), Q.apply(X64))
    Y = Q.apply(X64)
    back = Q.T @ _strict(np.ascontiguousarray(Y.T))  # the inverse path
    assert type(back) is np.ndarray
    assert_array_equal(back, Q.T @ np.ascontiguousarray(Y.T))
    assert_allclose(back.T, X64, atol=1e-12)
    buf = array.array("d", range(8))
    assert_array_equal(sk.fwht(buf), sk.fwht(np.arange(8.0)))
    assert list(buf) == list(map(float, range(8)))  # inplace=False: the input is untouched


def test_inplace_fwht_writes_a_dlpack_producers_memory():
    a = _strict(np.arange(8.0))
    if NUMPY_VERSION < (2, 1):  # older from_dlpack gives read-only views: refused, saying so
        with pytest.raises(ValueError, match=r"NumPy >= 2\.1"):
            sk.fwht(a, inplace=True)
        return
    out = sk.fwht(a, inplace=True)  # the transform lands in the array-api-strict array
    assert type(out) is np.ndarray and np.shares_memory(out, np.from_dlpack(a))
    assert_array_equal(np.from_dlpack(a), sk.fwht(np.arange(8.0)))


def test_inplace_fwht_writes_a_buffers_memory():
    buf = array.array("f", range(8))
    out = sk.fwht(buf, inplace=True, normalized=True)  # the array.array itself
    assert np.shares_memory(out, np.frombuffer(buf, dtype=np.float32))
    assert_allclose(buf.tolist(), sk.fwht(np.arange(8.0), normalized=True), rtol=1e-6)
    # A read-only buffer or a plain list would need a copy: refused.
    with pytest.raises(ValueError, match="read-only"):
        sk.fwht(memoryview(np.arange(8.0).tobytes()).cast("d"), inplace=True)
    with pytest.raises(TypeError, match="needs a NumPy array, a DLPack array"):
        sk.fwht([1.0, 2.0], inplace=True)


def test_transformers_and_pca_take_dlpack_arrays():
    a = _strict(X64)
    t = sk.SparseRandomProjection(n_components=5, random_state=0)
    Y = t.fit_transform(a)
    assert type(Y) is np.ndarray
    assert_array_equal(
        Y, sk.SparseRandomProjection(n_components=5, random_state=0).fit_transform(X64)
    )
    assert_allclose(t.inverse_transform(_strict(Y)), t.inverse_transform(Y))
    pca = sk.RandomizedPCA(n_components=3, random_state=0).fit(a)
    ref = sk.RandomizedPCA(n_components=3, random_state=0).fit(X64)
    assert_array_equal(pca.components_, ref.components_)
    Z = pca.transform(_strict(X64))
    assert_array_equal(Z, ref.transform(X64))
    assert_array_equal(pca.inverse_transform(_strict(Z)), ref.inverse_transform(Z))


def test_linalg_takes_dlpack_arrays():
    A = RNG.standard_normal((200, 8))
    b = A @ np.arange(8.0)
    res = linalg.lstsq(_strict(A), _strict(b))
    assert_allclose(res.x, np.arange(8.0), atol=1e-8)
    U, s, Vt = linalg.randomized_svd(_strict(A), 3, random_state=0)
    U0, s0, Vt0 = linalg.randomized_svd(A, 3, random_state=0)
    assert_array_equal(s, s0)


def test_selection_takes_dlpack_arrays_and_returns_numpy():
    X = RNG.standard_normal((120, 4))
    y = np.repeat(np.arange(3), 40)
    sel = GraphAttentionSelector(reduction=0.5, random_state=0)
    X_res, y_res = sel.fit_resample(_strict(X), _strict(y))
    assert type(X_res) is np.ndarray and type(y_res) is np.ndarray
    X_ref, y_ref = GraphAttentionSelector(reduction=0.5, random_state=0).fit_resample(X, y)
    assert_array_equal(X_res, X_ref)
    assert_array_equal(y_res, y_ref)
    g = exact_kneighbors_graph(_strict(X), 3)
    assert (g != exact_kneighbors_graph(X, 3)).nnz == 0


# ------------------------------------------------------------------ PyTorch (optional)
def test_torch_cpu_tensors():
    torch = pytest.importorskip("torch")
    t = torch.arange(16, dtype=torch.float32).reshape(2, 8)
    Y = sk.fwht(t, axis=1)
    assert type(Y) is np.ndarray and Y.dtype == np.float32
    assert_array_equal(Y, sk.fwht(t.numpy(), axis=1))
    op = sk.gaussian(3, 8, seed=0)
    assert_array_equal(op.project(t), op.project(t.numpy()))
    assert np.shares_memory(as_dense(t, "X"), t.numpy())  # zero-copy
    if NUMPY_VERSION >= (2, 1):  # writable DLPack views
        sk.fwht(t, axis=1, inplace=True)  # the tensor itself is transformed
        assert_array_equal(t.numpy(), Y)
    with pytest.raises(TypeError, match="X"):
        op.project(torch.ones(2, 8, requires_grad=True))


# ------------------------------------------------------------------ JAX (optional)
def test_jax_arrays_are_read_in_place_and_never_written():
    jnp = pytest.importorskip("jax.numpy")
    x = jnp.arange(32, dtype=jnp.float32).reshape(4, 8)
    arr = as_dense(x, "X")
    assert arr.dtype == np.float32 and np.shares_memory(arr, np.from_dlpack(x))
    op = sk.gaussian(3, 8, seed=0)
    assert_array_equal(op.project(x), op.project(np.asarray(x)))
    assert_array_equal(sk.fwht(x, axis=1), sk.fwht(np.asarray(x), axis=1))
    with pytest.raises(ValueError, match="read-only"):  # JAX arrays are immutable
        sk.fwht(x, axis=1, inplace=True)
