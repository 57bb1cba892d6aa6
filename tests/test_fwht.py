"""The fast Walsh–Hadamard transform: equality with the Hadamard matrix, algebraic
identities, bit-identical results across SIMD levels, threads, axes and layouts, the
in-place contract, and input errors."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import DTYPES, available_levels
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import hadamard

import sketchkit as sk
from sketchkit import _native


@functools.lru_cache(maxsize=4)
def hadamard_f32(n: int) -> np.ndarray:
    """scipy's Sylvester-order Hadamard matrix (float32: exact, and half the memory)."""
    return hadamard(n, dtype=np.float32)


def small_ints(shape, dtype, seed=0):
    """Integers in [-8, 8]: every partial sum of a transform up to 2^12 is exact."""
    return np.random.default_rng(seed).integers(-8, 9, size=shape).astype(dtype)


def normal(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("p", range(13))
def test_equals_hadamard_matrix_at_every_simd_level(p, restore_simd):
    """H x for n = 1, 2, 4, ..., 2^12, both dtypes, every level, exactly (integer data)."""
    n = 2**p
    H = hadamard_f32(n)
    X = small_ints((3, n), np.float64, seed=p)
    expected = X @ H.T.astype(np.float64)  # rows: x -> H x (H is symmetric anyway)
    for level in available_levels():
        _native.force_simd_level(level)
        for dtype in DTYPES:
            got = sk.fwht(X.astype(dtype), axis=1)
            assert got.dtype == dtype
            assert_array_equal(got, expected.astype(dtype), err_msg=f"{level} {dtype}")
            got1 = sk.fwht(X[1].astype(dtype))
            assert got1.shape == (n,)
            assert_array_equal(got1, expected[1].astype(dtype), err_msg=f"{level} 1-D")
            cols = sk.fwht(X.T.astype(dtype), axis=0)
            assert_array_equal(cols, expected.T.astype(dtype), err_msg=f"{level} axis 0")
    _native.force_simd_level(None)
    # Real-valued data: close to the matrix product in both precisions.
    Xn = normal((2, n), seed=p)
    for dtype, rtol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        got = sk.fwht(Xn.astype(dtype), axis=1)
        want = Xn.astype(dtype).astype(np.float64) @ H.astype(np.float64)
        assert_allclose(got, want, rtol=rtol, atol=rtol * math.sqrt(n) * 4)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 9),
    p=st.integers(0, 10),
    axis=st.sampled_from([0, 1, -1, -2]),
    dtype=st.sampled_from(DTYPES),
    normalized=st.booleans(),
    order=st.sampled_from(["C", "F"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes_match_the_matrix(rows, p, axis, dtype, normalized, order, seed):
    n = 2**p
    shape = (rows, n) if axis % 2 == 1 else (n, rows)
    X = np.asarray(normal(shape, dtype, seed), order=order)
    H = hadamard_f32(n).astype(np.float64)
    Xd = X.astype(np.float64)
    want = Xd @ H if axis % 2 == 1 else H @ Xd
    if normalized:
        want = want / math.sqrt(n)
    got = sk.fwht(X, axis=axis, normalized=normalized)
    assert got.shape == X.shape and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(got, want, rtol=tol, atol=tol * (math.sqrt(n) if not normalized else 1) * 4)
    assert_array_equal(X, np.asarray(normal(shape, dtype, seed), order=order))  # untouched


# --------------------------------------------------------------------------- identities
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 16, 1024, 4096, 2**16])
def test_involution_and_parseval(n, dtype):
    x = normal((4, n), dtype, seed=n)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # H (H x) = n x.
    twice = sk.fwht(sk.fwht(x, axis=1), axis=1)
    assert_allclose(twice, n * x, rtol=tol, atol=tol * n)
    # Normalized: orthogonal and self-inverse; norms and inner products preserved.
    y = sk.fwht(x, axis=1, normalized=True)
    assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=tol * 10)
    assert_allclose(y[0] @ y[1], x[0].astype(np.float64) @ x[1], rtol=1e-3, atol=tol * n)
    assert_allclose(sk.fwht(y, axis=1, normalized=True), x, rtol=tol * 10, atol=tol * 10)
    # The normalized transform is the unnormalized one scaled by 1/sqrt(n).
    assert_allclose(y, sk.fwht(x, axis=1) / math.sqrt(n), rtol=tol, atol=tol)
    # Linearity, and the transform of a unit vector is a column of H.
    e = np.zeros(n, dtype)
    e[n // 3] = 1
    if n <= 4096:
        assert_array_equal(sk.fwht(e), hadamard_f32(n)[:, n // 3].astype(dtype))
    assert_allclose(
        sk.fwht(2 * x[0] - 3 * x[1]),
        2 * sk.fwht(x[0]) - 3 * sk.fwht(x[1]),
        rtol=tol * 10,
        atol=tol * n,
    )


def test_constant_vector_transforms_to_a_spike():
    n = 2**14
    for dtype in DTYPES:
        y = sk.fwht(np.ones(n, dtype))
        expected = np.zeros(n, dtype)
        expected[0] = n
        assert_array_equal(y, expected)
        assert_array_equal(sk.fwht(np.ones(n, dtype), normalized=True)[0], dtype(math.sqrt(n)))


# --------------------------------------------------------------------------- same bits
def test_bit_identical_across_levels_threads_axes_and_layouts(restore_threads, restore_simd):
    """Every path (SIMD level, thread count, axis, C/F/strided layout, batch or single
    row) gives the same bits, for lengths below and above the L1 block."""
    cases = []
    for p in (0, 3, 5, 11, 12, 14, 16):
        n = 2**p
        rows = max(1, min(70, 2**17 // n))
        for dtype in DTYPES:
            cases.append(normal((rows, n), dtype, seed=p))
    sk.set_num_threads(1)
    _native.force_simd_level("scalar")
    reference = [(sk.fwht(X, axis=1), sk.fwht(X, axis=1, normalized=True)) for X in cases]
    _native.force_simd_level(None)
    for level in available_levels():
        _native.force_simd_level(level)
        for threads in (1, 2, 4):
            sk.set_num_threads(threads)
            for X, (ref, ref_norm) in zip(cases, reference, strict=True):
                msg = f"{level}, {threads} threads, shape {X.shape}, {X.dtype}"
                assert_array_equal(sk.fwht(X, axis=1), ref, err_msg=msg)
                assert_array_equal(sk.fwht(X, axis=1, normalized=True), ref_norm, err_msg=msg)
                # Axis 0 on the transpose (a strided batch) is the same computation.
                assert_array_equal(sk.fwht(X.T, axis=0).T, ref, err_msg=msg)
                assert_array_equal(
                    sk.fwht(np.ascontiguousarray(X.T), axis=0, normalized=True).T,
                    ref_norm,
                    err_msg=msg,
                )
                assert_array_equal(sk.fwht(np.asfortranarray(X), axis=1), ref, err_msg=msg)
        _native.force_simd_level(None)
    # Row by row equals the batch.
    for X, (ref, _) in zip(cases, reference, strict=True):
        for i in (0, X.shape[0] - 1):
            assert_array_equal(sk.fwht(X[i]), ref[i])


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_views(dtype):
    base = normal((24, 3 * 256), dtype, seed=3)
    X = base[::3, ::3]  # (8, 256) with steps along both axes
    ref = sk.fwht(np.ascontiguousarray(X), axis=1)
    assert_array_equal(sk.fwht(X, axis=1), ref)
    assert_array_equal(sk.fwht(X.T, axis=0).T, ref)
    neg = base[::-3, ::-3]  # negative strides
    assert_array_equal(sk.fwht(neg, axis=1), sk.fwht(np.ascontiguousarray(neg), axis=1))
    assert_array_equal(base, normal((24, 3 * 256), dtype, seed=3))  # not modified


@pytest.mark.parametrize("order", ["C", "F"])
def test_copy_keeps_dtype_and_memory_order(order):
    X = np.asarray(normal((16, 64), np.float32, seed=1), order=order)
    for axis in (0, 1):
        Y = sk.fwht(X, axis=axis)
        assert Y.dtype == np.float32
        assert Y is not X and not np.shares_memory(X, Y)
        assert Y.flags.c_contiguous == (order == "C")
        assert Y.flags.f_contiguous == (order == "F")


# --------------------------------------------------------------------------- in place
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_transforms_and_returns_the_input(dtype):
    X = normal((10, 512), dtype, seed=4)
    expected = sk.fwht(X, axis=1, normalized=True)
    out = sk.fwht(X, axis=1, normalized=True, inplace=True)
    assert out is X
    assert_array_equal(X, expected)

    F = np.asfortranarray(normal((256, 6), dtype, seed=5))
    expected = sk.fwht(F, axis=0)
    assert sk.fwht(F, axis=0, inplace=True) is F
    assert_array_equal(F, expected)

    v = normal(1024, dtype, seed=6)
    expected = sk.fwht(v)
    assert sk.fwht(v, inplace=True) is v
    assert_array_equal(v, expected)

    # A view of a bigger array: only the view changes.
    big = normal((8, 300), dtype, seed=7)
    before = big.copy()
    view = big[2:6, 10:138]  # rows contiguous along axis 1
    expected = sk.fwht(view, axis=1)
    assert sk.fwht(view, axis=1, inplace=True) is view
    assert_array_equal(big[2:6, 10:138], expected)
    big[2:6, 10:138] = before[2:6, 10:138]
    assert_array_equal(big, before)

    # Length 1 along the axis: any stride is contiguous enough.
    col = normal((5, 3), dtype, seed=8)[:, :1]
    assert sk.fwht(col, axis=1, inplace=True) is col


def test_inplace_rejections_leave_the_input_unchanged():
    X = normal((4, 64), np.float64, seed=9)
    original = X.copy()
    with pytest.raises(ValueError, match="contiguous along axis 0"):
        sk.fwht(X, axis=0, inplace=True)  # C order: stride of a row along axis 0
    with pytest.raises(ValueError, match="contiguous along axis 1"):
        sk.fwht(np.asfortranarray(X), axis=1, inplace=True)
    with pytest.raises(ValueError, match="contiguous along axis -1"):
        sk.fwht(X[:, ::2], inplace=True)
    with pytest.raises(ValueError, match="contiguous along axis"):
        sk.fwht(np.zeros(128)[::2], inplace=True)
    ro = X.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        sk.fwht(ro, axis=1, inplace=True)
    with pytest.raises(ValueError, match="read-only"):
        sk.fwht(np.broadcast_to(np.ones(8), (4, 8)), axis=1, inplace=True)
    for bad in (X.astype(np.int64), X.astype(np.float16), X.astype(">f8")):
        with pytest.raises(TypeError, match="float32 or float64"):
            sk.fwht(bad, axis=1, inplace=True)
    with pytest.raises(TypeError, match="NumPy array"):
        sk.fwht(X.tolist(), axis=1, inplace=True)
    nan = X.copy()
    nan[2, 5] = np.nan
    nan_before = nan.copy()
    with pytest.raises(ValueError, match="NaN or infinity"):
        sk.fwht(nan, axis=1, inplace=True)
    assert_array_equal(nan, nan_before)  # checked before anything is overwritten
    assert_array_equal(X, original)


# --------------------------------------------------------------------------- conversions
def test_integer_bool_and_half_input_are_converted():
    X = (np.arange(64).reshape(4, 16) % 5).astype(np.int32)
    Y = sk.fwht(X, axis=1)
    assert Y.dtype == np.float64
    assert_array_equal(Y, sk.fwht(X.astype(np.float64), axis=1))
    assert X.dtype == np.int32  # the input is untouched
    assert sk.fwht(np.array([True, False])).dtype == np.float64
    assert_array_equal(sk.fwht(np.array([True, False])), [1.0, 1.0])
    h = sk.fwht(np.ones(4, np.float16))
    assert h.dtype == np.float32
    assert_array_equal(h, [4, 0, 0, 0])
    big_endian = np.arange(8, dtype=">f8")
    out = sk.fwht(big_endian)
    assert out.dtype == np.float64 and out.dtype.isnative
    assert_array_equal(out, sk.fwht(np.arange(8.0)))
    assert_array_equal(sk.fwht([[1, 2], [3, 4]], axis=0), [[4.0, 6.0], [-2.0, -2.0]])


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_rejected(bad, inplace):
    for dtype in DTYPES:
        x = np.ones((4, 8), dtype)
        x[1, 3] = bad
        with pytest.raises(ValueError, match="Input x contains NaN or infinity"):
            sk.fwht(x, axis=1, inplace=inplace)
        with pytest.raises(ValueError, match="Input x contains NaN or infinity"):
            sk.fwht(np.asfortranarray(x), axis=0, inplace=inplace)
        with pytest.raises(ValueError, match="Input x contains NaN or infinity"):
            sk.fwht(x[1].copy(), inplace=inplace)


@pytest.mark.parametrize("inplace", [False, True])
def test_check_finite_false_skips_only_the_check(inplace):
    """check_finite=False: same bits as the checked transform on finite input (every
    path: 1-D fast path, rows, columns, both dtypes); NaN/inf propagate, no error."""
    rng = np.random.default_rng(3)
    for dtype in DTYPES:
        for shape, axis in [((1024,), -1), ((1024,), 0), ((5, 64), 1), ((64, 5), 0)]:
            x = rng.standard_normal(shape).astype(dtype)
            if axis == 0 and x.ndim == 2:
                x = np.asfortranarray(x)  # contiguous along the axis, for inplace=True
            want = sk.fwht(x, axis=axis)
            got = sk.fwht(
                x.copy(order="K") if inplace else x,
                axis=axis,
                inplace=inplace,
                check_finite=False,
            )
            assert_array_equal(got, want)
        x = np.ones(16, dtype)
        x[3] = np.nan
        out = sk.fwht(x, inplace=inplace, check_finite=False)
        assert np.isnan(out).all()  # every output sums every input
        x = np.ones((2, 16), dtype)
        x[1, 0] = np.inf
        out = sk.fwht(x, axis=1, inplace=inplace, check_finite=False)
        assert np.isfinite(out[0]).all() and np.isinf(out[1]).all()
    # The fast path and the general path agree (np.int64 axis and np.bool_ flags take
    # the general path).
    x = rng.standard_normal(256).astype(np.float32)
    a = sk.fwht(x.copy(), inplace=True, check_finite=False)
    b = sk.fwht(x.copy(), axis=np.int64(0), inplace=True, check_finite=np.bool_(False))
    assert_array_equal(a, b)
    with pytest.raises(TypeError, match="check_finite must be a bool"):
        sk.fwht(x, check_finite=1)
    with pytest.raises(TypeError, match="check_finite must be a bool"):
        sk.fwht(x.copy(), inplace=True, check_finite=None)


def test_bad_input():
    for n in (3, 6, 12, 100, 1023):
        # The core's length rule, naming x.
        with pytest.raises(ValueError, match=rf"^x: .*power of two.*got {n}\b.*srht"):
            sk.fwht(np.ones(n))
        with pytest.raises(ValueError, match=rf"^x: .*got {n}\b"):
            sk.fwht(np.ones((n, 4)), axis=0)
        with pytest.raises(ValueError, match=rf"got {n}\b"):
            sk.fwht(np.ones((2, n)), axis=1, inplace=True)
    # The length along the transform axis is what counts.
    assert sk.fwht(np.ones((3, 4)), axis=1).shape == (3, 4)
    with pytest.raises(ValueError, match="got 3"):
        sk.fwht(np.ones((3, 4)), axis=0)
    for shape in ((0,), (0, 4), (4, 0)):
        with pytest.raises(ValueError, match="x is empty"):
            sk.fwht(np.ones(shape))
        with pytest.raises(ValueError, match="x is empty"):
            sk.fwht(np.ones(shape), inplace=True)
    for arr in (np.ones((2, 2, 2)), np.float64(3.0), np.ones((1, 1, 1, 1))):
        with pytest.raises(ValueError, match="1-D or 2-D"):
            sk.fwht(arr)
    for dtype in (np.complex128, np.complex64, object, "U3", "M8[s]"):
        with pytest.raises(TypeError, match="unsupported dtype"):
            sk.fwht(np.zeros(4, dtype))
        with pytest.raises(TypeError, match="float32 or float64"):
            sk.fwht(np.zeros(4, dtype), inplace=True)
    with pytest.raises(TypeError, match="could not be converted|unsupported dtype object"):
        sk.fwht([[1.0, 2.0], [3.0]])
    for axis in (1, -2, 2):
        with pytest.raises(ValueError, match="out of bounds"):
            sk.fwht(np.ones(4), axis=axis)
    for axis in (2, -3):
        with pytest.raises(ValueError, match="out of bounds"):
            sk.fwht(np.ones((4, 4)), axis=axis)
    for axis in (1.0, "0", None, True):
        with pytest.raises(TypeError, match="axis must be an integer"):
            sk.fwht(np.ones((4, 4)), axis=axis)
    with pytest.raises(TypeError, match="normalized must be a bool"):
        sk.fwht(np.ones(4), normalized=1)
    with pytest.raises(TypeError, match="inplace must be a bool"):
        sk.fwht(np.ones(4), inplace="yes")
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        sk.fwht(sp.csr_matrix(np.eye(4)))
    assert sk.fwht(np.ones((4, 4)), axis=np.int64(0)).shape == (4, 4)


def test_public_function():
    assert sk.fwht is sk._hadamard.fwht
    assert "fwht" in sk.__all__
    doc = " ".join(sk.fwht.__doc__.split())
    assert "H_{2n}" in doc and "natural (Sylvester) order" in doc
    assert "zero-pads" in doc


def test_inplace_rejects_overlapping_views():
    from numpy.lib.stride_tricks import as_strided

    base = np.arange(8, dtype=np.float32)
    v = as_strided(base, shape=(5, 4), strides=(4, 4))  # rows overlap
    before = base.copy()
    with pytest.raises(ValueError, match="overlap"):
        sk.fwht(v, inplace=True)
    np.testing.assert_array_equal(base, before)
