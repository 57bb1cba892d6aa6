"""A bounded Hypothesis run over the native module's entry points.

Valid calls (random families and parameters, shapes, strides, memory orders, dtypes,
CSR structures with unsorted and duplicate indices, both index dtypes) must equal the
product with the materialized matrix within a rounding bound that holds for any
summation order; invalid calls must raise ``ValueError``, ``TypeError`` or
``OverflowError`` and nothing else (never a crash, a ``PanicException`` or a
``SystemError``). A few hundred examples in all, so that the run stays fast; set
``SKETCHKIT_FUZZ_SCALE`` to multiply them.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketchkit import _native

SCALE = max(1, int(os.environ.get("SKETCHKIT_FUZZ_SCALE", "1")))
FAMILIES = list(_native.FAMILIES)
FLOATS = [np.float32, np.float64]
INDEX_DTYPES = [np.int32, np.int64]
#: The error contract of the binding.
CONTRACT = (ValueError, TypeError, OverflowError)


def fuzz(n: int):
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def within_bound(got, expected, bound, eps, what):
    """``|got - expected| <= bound`` elementwise, with ``bound`` a rounding bound in
    units of ``eps`` (plus the smallest normal, for results near zero)."""
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == expected.shape, what
    err = np.abs(got - expected)
    limit = bound * eps + 4 * np.finfo(np.float64).tiny
    bad = err > limit
    assert not bad.any(), (what, float(err[bad].max()), float(limit[bad].min()))


# --------------------------------------------------------------------------- strategies
@st.composite
def operators(draw):
    family = draw(st.sampled_from(FAMILIES))
    d = draw(st.integers(1, 70))
    kmax = 24
    k = draw(st.integers(1, min(kmax, 24)))
    seed = draw(st.integers(0, 2**64 - 1))
    params = {}
    takes = _native.family_parameters(family)
    if "nnz" in takes and (k < _native.DEFAULT_NNZ or draw(st.booleans())):
        params["nnz"] = draw(st.integers(1, k))
    if "density" in takes and draw(st.booleans()):
        params["density"] = draw(st.floats(1e-3, 1.0))
    return _native.SketchOperator(family, k, d, seed, **params)


@st.composite
def arrays(draw, shape, dtype=None):
    """A float array of ``shape``: C or F order, or a strided (possibly reversed) view."""
    dtype = dtype or draw(st.sampled_from(FLOATS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    steps = [draw(st.sampled_from([1, 1, 2, 3, -1, -2])) for _ in shape]
    order = draw(st.sampled_from("CF"))
    base_shape = tuple(
        n * abs(s) + draw(st.integers(0, 2)) for n, s in zip(shape, steps, strict=True)
    )
    base = np.asarray(rng.standard_normal(base_shape), dtype=dtype, order=order)
    if draw(st.booleans()):
        base[rng.random(base_shape) < 0.3] = 0.0
    view = base[tuple(slice(None, None, s) for s in steps)]
    view = view[tuple(slice(0, n) for n in shape)]
    assert view.shape == tuple(shape), (view.shape, shape)
    return view


@st.composite
def csr(draw, n_rows, n_cols):
    """Raw CSR arrays (unsorted, duplicates allowed) of shape ``(n_rows, n_cols)``."""
    dtype = draw(st.sampled_from(FLOATS))
    index_dtype = draw(st.sampled_from(INDEX_DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    counts = rng.integers(0, draw(st.integers(1, 6)), n_rows)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)
    indices = rng.integers(0, n_cols, int(indptr[-1])).astype(index_dtype)
    if draw(st.booleans()):  # sorted, canonical rows
        m = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n_rows, n_cols))
        m.sum_duplicates()
        m.sort_indices()
        indptr, indices = m.indptr.astype(index_dtype), m.indices.astype(index_dtype)
    data = rng.standard_normal(indices.size).astype(dtype)
    return data, indices, indptr


def to_scipy(data, indices, indptr, shape):
    m = sp.csr_matrix(
        (data.astype(np.float64), indices.astype(np.int64), indptr.astype(np.int64)), shape=shape
    )
    m.sum_duplicates()
    return m.toarray()


def abs_csr(data, indices, indptr, shape):
    """``|X|`` summed entry by entry (duplicates add their magnitudes)."""
    return to_scipy(np.abs(data), indices, indptr, shape)


def eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


# --------------------------------------------------------------------------- valid calls
@fuzz(120)
@given(op=operators(), data=st.data())
def test_dense_entry_points_match_the_materialized_matrix(op, data):
    k, d = op.shape
    n = data.draw(st.integers(1, 9), label="n")
    D = op.to_dense("float64")
    inner = op.padded_dim + 2
    which = data.draw(st.sampled_from(["project", "project_adjoint", "sketch", "sketch_adjoint"]))
    shape = {
        "project": (n, d),
        "project_adjoint": (n, k),
        "sketch": (d, n),
        "sketch_adjoint": (k, n),
    }
    x = data.draw(arrays(shape[which]), label="x")
    before = x.copy()
    got = getattr(op, which)(x)
    assert got.dtype == x.dtype
    x64, ax, aD = x.astype(np.float64), np.abs(x.astype(np.float64)), np.abs(D)
    if which == "project":
        expected, bound = x64 @ D.T, ax @ aD.T
    elif which == "project_adjoint":
        expected, bound = x64 @ D, ax @ aD
    elif which == "sketch":
        expected, bound = D @ x64, aD @ ax
    else:
        expected, bound = D.T @ x64, aD.T @ ax
    within_bound(got, expected, 2 * inner * bound, eps(x.dtype), which)
    np.testing.assert_array_equal(x, before)  # inputs are never modified


@fuzz(120)
@given(op=operators(), data=st.data())
def test_csr_entry_points_match_the_materialized_matrix(op, data):
    k, d = op.shape
    D = op.to_dense("float64")
    inner = op.padded_dim + 2
    m = data.draw(st.integers(1, 9), label="rows")
    if data.draw(st.booleans(), label="sketch"):  # S @ A, A of shape (d, m)
        parts = data.draw(csr(d, m), label="A")
        got = op.sketch_csr(*parts, m, "A")
        A = to_scipy(*parts, (d, m))
        expected, bound = D @ A, np.abs(D) @ abs_csr(*parts, (d, m))
    else:  # X @ S.T, X of shape (m, d); dense or CSR output
        parts = data.draw(csr(m, d), label="X")
        sparse_output = data.draw(st.booleans(), label="sparse_output")
        got = op.project_csr(*parts, m, sparse_output, "X")
        if sparse_output:
            out_data, out_indices, out_indptr = got
            assert out_data.dtype == parts[0].dtype
            got = sp.csr_matrix((out_data, out_indices, out_indptr), shape=(m, k)).toarray()
        X = to_scipy(*parts, (m, d))
        expected, bound = X @ D.T, abs_csr(*parts, (m, d)) @ np.abs(D).T
    assert got.dtype == parts[0].dtype
    within_bound(got, expected, 2 * inner * bound, eps(parts[0].dtype), "csr")


def hadamard(n: int) -> np.ndarray:
    H = np.ones((1, 1))
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return H


@fuzz(60)
@given(data=st.data())
def test_fwht_and_rotations_match_their_matrices(data):
    p = data.draw(st.integers(0, 7), label="log2 n")
    n, rows = 1 << p, data.draw(st.integers(1, 6), label="rows")
    axis = data.draw(st.sampled_from([0, 1]), label="axis")
    normalized = data.draw(st.booleans(), label="normalized")
    x = data.draw(arrays((rows, n) if axis == 1 else (n, rows)), label="x")
    H = hadamard(n) / (math.sqrt(n) if normalized else 1.0)
    x64 = x.astype(np.float64)
    expected = x64 @ H.T if axis == 1 else H @ x64
    bound = (np.abs(x64) @ np.abs(H).T) if axis == 1 else np.abs(H) @ np.abs(x64)
    _native.fwht_inplace(x, axis, normalized)
    within_bound(x, expected, 4 * (p + 2) * bound, eps(x.dtype), "fwht")

    d = data.draw(st.integers(1, 40), label="d")
    rounds = data.draw(st.integers(1, 4), label="rounds")
    rot = _native.HadamardRotation(d, rounds, data.draw(st.integers(0, 2**64 - 1)))
    Q = rot.to_dense("float64")
    width = data.draw(st.sampled_from([d, rot.dim]), label="width")
    z = data.draw(arrays((rows, width)), label="z")
    z64 = np.zeros((rows, rot.dim))
    z64[:, :width] = z
    norm = np.linalg.norm(z64, axis=1, keepdims=True)
    levels = rounds * (int(math.log2(rot.dim)) + 2)
    got = rot.apply(z)
    assert got.dtype == z.dtype and got.shape == (rows, rot.dim)
    within_bound(got, z64 @ Q.T, 4 * levels * norm * np.ones((1, rot.dim)), eps(z.dtype), "apply")
    y = data.draw(arrays((rows, rot.dim)), label="y")
    norm = np.linalg.norm(y.astype(np.float64), axis=1, keepdims=True)
    bound = 4 * levels * norm * np.ones((1, rot.dim))
    within_bound(rot.inverse(y), y.astype(np.float64) @ Q, bound, eps(y.dtype), "inverse")


# --------------------------------------------------------------------------- invalid calls
def _bad_arrays(shape):
    """Arrays that are not a float32/float64 2-D array of ``shape`` with finite values."""
    n, m = shape
    nan = np.ones(shape)
    nan[n // 2, m // 2] = np.nan
    inf = np.ones(shape, dtype=np.float32)
    inf[-1, -1] = -np.inf
    return [
        ("int64", np.ones(shape, dtype=np.int64)),
        ("float16", np.ones(shape, dtype=np.float16)),
        ("complex", np.ones(shape, dtype=np.complex128)),
        ("bool", np.ones(shape, dtype=bool)),
        ("object", np.ones(shape, dtype=object)),
        ("big-endian", np.ones(shape, dtype=">f8")),
        ("1-D", np.ones(n * m)),
        ("3-D", np.ones((1, n, m))),
        ("list", np.ones(shape).tolist()),
        ("None", None),
        ("more columns", np.ones((n, m + 1))),
        ("NaN", nan),
        ("inf", inf),
    ]


def _bad_csr(n_rows, n_cols):
    """``(what, data, indices, indptr)``: CSR structures of shape ``(n_rows, n_cols)``
    with one defect each (a valid one has its 3 entries in row 0)."""
    i32 = np.int32
    d = np.ones(3)
    ix = np.array([0, n_cols - 1, 0], dtype=i32)
    p = np.array([0] + [3] * n_rows, dtype=i32)
    nan = d.copy()
    nan[1] = np.nan

    def indptr(*head):
        return np.array([*head, *p[len(head) :]], dtype=i32)

    cases = [
        ("index = n_cols", d, np.array([0, n_cols, 0], dtype=i32), p),
        ("negative index", d, np.array([0, -1, 0], dtype=i32), p),
        ("indptr start", d, ix, indptr(1)),
        ("indptr end", d, ix, np.array([*p[:-1], 4], dtype=i32)),
        ("indptr short", d, ix, p[:-1]),
        ("indptr long", d, ix, np.append(p, 3).astype(i32)),
        ("data short", d[:2], ix, p),
        ("mixed index dtypes", d, ix.astype(np.int64), p),
        ("float indices", d, ix.astype(np.float64), p),
        ("uint32 indices", d, ix.astype(np.uint32), p.astype(np.uint32)),
        ("int data", d.astype(np.int64), ix, p),
        ("NaN data", nan, ix, p),
        ("2-D data", d[None, :], ix, p),
    ]
    if n_rows >= 2:
        cases.append(("indptr decreasing", d, ix, indptr(0, 3, 2)))
    return cases


BAD_CONSTRUCTORS = [
    ("gaussian", 0, 5, 0, {}),
    ("gaussian", -3, 5, 0, {}),
    ("gaussian", 5, 0, 0, {}),
    ("gaussian", 5, 5, -1, {}),
    ("gaussian", 5, 5, 2**64, {}),
    ("gaussian", 2**63, 5, 0, {}),
    ("gaussian", 2**40, 2**40, 0, {}),
    ("rademacher", 5.0, 5, 0, {}),
    ("countsketch", 2**31, 4, 0, {}),
    ("sparse_sign", 4, 2**31, 0, {}),
    ("sparse_sign", 4, 10, 0, {"nnz": 5}),
    ("sparse_sign", 4, 10, 0, {"nnz": 0}),
    ("sparse_sign", 4, 10, 0, {"density": 0.5}),
    ("very_sparse", 4, 10, 0, {"density": 0.0}),
    ("very_sparse", 4, 10, 0, {"density": 1.5}),
    ("very_sparse", 4, 10, 0, {"density": float("nan")}),
    ("very_sparse", 4, 10, 0, {"nnz": 2}),
    ("srht", 2**30 + 1, 16, 0, {}),
    ("srht", 4, 2**31, 0, {}),
    ("fft", 4, 10, 0, {}),
    (None, 4, 10, 0, {}),
]


@fuzz(80)
@given(op=operators(), data=st.data())
def test_bad_input_raises_the_contract_errors(op, data):
    k, d = op.shape
    n = data.draw(st.integers(1, 5), label="n")
    which = data.draw(st.sampled_from(["project", "project_adjoint", "sketch", "sketch_adjoint"]))
    shape = {
        "project": (n, d),
        "project_adjoint": (n, k),
        "sketch": (d, n),
        "sketch_adjoint": (k, n),
    }
    name, bad = data.draw(st.sampled_from(_bad_arrays(shape[which])), label="bad array")
    if name == "more columns" and which in ("sketch", "sketch_adjoint"):
        bad = np.ones((shape[which][0] + 1, n))  # these take the operator's size as rows
    with pytest.raises(CONTRACT):
        getattr(op, which)(bad)

    m = data.draw(st.integers(1, 4), label="csr size")
    if data.draw(st.booleans(), label="sketch"):  # A of shape (d, m)
        what, *parts = data.draw(st.sampled_from(_bad_csr(d, m)), label="bad A")
        with pytest.raises(CONTRACT):
            op.sketch_csr(*parts, m, "A")
    else:  # X of shape (m, d)
        what, *parts = data.draw(st.sampled_from(_bad_csr(m, d)), label="bad X")
        with pytest.raises(CONTRACT):
            op.project_csr(*parts, m, data.draw(st.booleans(), label="sparse output"), "X")


@fuzz(40)
@given(case=st.sampled_from(BAD_CONSTRUCTORS), data=st.data())
def test_bad_parameters_raise_the_contract_errors(case, data):
    family, k, d, seed, params = case
    with pytest.raises(CONTRACT):
        _native.SketchOperator(family, k, d, seed, **params)
    bad_rotation = data.draw(
        st.sampled_from([(0, 1, 0), (-1, 1, 0), (8, 0, 0), (8, 65, 0), (2**31, 1, 0), (8, 1, -1)])
    )
    with pytest.raises(CONTRACT):
        _native.HadamardRotation(*bad_rotation)
    rot = _native.HadamardRotation(10, 2, 0)
    bad_width = data.draw(st.sampled_from([9, 11, 15, 17, 32]))
    with pytest.raises(CONTRACT):
        rot.apply(np.ones((2, bad_width)))
    with pytest.raises(CONTRACT):
        rot.inverse(np.ones((2, 10)))  # the inverse takes the padded width only
    x, axis = data.draw(
        st.sampled_from(
            [
                (np.ones((3, 6)), 1),
                (np.ones((3, 8)), 2),
                (np.ones((3, 8)), -1),
                (np.ones((3, 8), dtype=np.int64), 1),
                (np.ones((3, 8), dtype=np.float16), 1),
                (np.ones(8), 0),
                (np.full((2, 8), np.nan), 1),
            ]
        )
    )
    with pytest.raises(CONTRACT):
        _native.fwht_inplace(x, axis, False)
    ro = np.ones((2, 8))
    ro.flags.writeable = False
    with pytest.raises(CONTRACT):
        _native.fwht_inplace(ro, 1, False)


# --------------------------------------------------------------------------- selection
@st.composite
def rows(draw, n, d):
    """Rows for the selection entry points: a C-contiguous array or a canonical CSR
    tuple, float32 or float64; returned with their float64 dense values."""
    dtype = draw(st.sampled_from(FLOATS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = np.round(rng.standard_normal((n, d)), 2).astype(dtype)
    if not draw(st.booleans()):
        return X, X.astype(np.float64)
    X[rng.random((n, d)) < 0.5] = 0.0
    m = sp.csr_matrix(X)
    index_dtype = draw(st.sampled_from(INDEX_DTYPES))
    parts = (m.data, m.indices.astype(index_dtype), m.indptr.astype(index_dtype), d)
    return parts, X.astype(np.float64)


@fuzz(60)
@given(data=st.data())
def test_exact_graph_matches_brute_force(data):
    n, d = data.draw(st.integers(2, 30), label="n"), data.draw(st.integers(1, 8), label="d")
    k = data.draw(st.integers(1, n - 1), label="k")
    x, X = data.draw(rows(n, d), label="rows")
    indptr, indices, distances = _native.exact_graph(x, k, "euclidean")
    np.testing.assert_array_equal(np.diff(indptr), np.full(n, k))
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(sq, np.inf)
    # squared distances may be formed as |a|^2 + |b|^2 - 2 a.b in the input's precision
    norms = (X**2).sum(1)
    slack = 8 * (d + 2) * eps(dtype_of(x)) * (norms[:, None] + norms[None, :]) + 1e-300
    kth = np.sort(sq, axis=1)[:, k - 1]
    for i in range(n):
        nb = indices[indptr[i] : indptr[i + 1]]
        assert i not in nb
        got = distances[indptr[i] : indptr[i + 1]] ** 2
        assert np.all(np.abs(got - sq[i, nb]) <= slack[i, nb]), i
        # every neighbour is among the k nearest, up to rounding (ties pick either row)
        assert np.all(sq[i, nb] <= kth[i] + 2 * slack[i].max()), i


def dtype_of(x) -> np.dtype:
    return (x[0] if isinstance(x, tuple) else x).dtype


def _selection_calls(X, y):
    """``(what, call)`` for invalid calls of the selection entry points."""
    n = X.shape[0]
    ip, ix, dist = _native.exact_graph(X, 3, "euclidean")
    bad_y = {
        "short y": y[:-1],
        "int64 y": y.astype(np.int64),
        "label >= n_classes": y + 5,
    }
    calls = [
        ("F-order X", lambda: _native.exact_graph(np.asfortranarray(X), 3, "euclidean")),
        ("int X", lambda: _native.exact_graph(X.astype(int), 3, "euclidean")),
        # (X > 1 may select nothing: put the NaN where the draw cannot miss it.)
        (
            "NaN X",
            lambda: _native.exact_graph(np.where(X > X.max() - 1, np.nan, X), 3, "euclidean"),
        ),
        ("k = 0", lambda: _native.exact_graph(X, 0, "euclidean")),
        ("k < 0", lambda: _native.exact_graph(X, -1, "euclidean")),
        ("metric", lambda: _native.exact_graph(X, 3, "manhattan")),
        ("short tuple", lambda: _native.exact_graph((X.ravel(), np.arange(3)), 1, "euclidean")),
        ("n_classes 0", lambda: _native.enn_select(X, y, 0, 3, "euclidean")),
        ("cnn seed", lambda: _native.cnn_select(X, y, 2, "euclidean", -1)),
        ("lsh variant", lambda: _native.lsh_is_select(X, y, 2, "Q", 2, 2, 1.0, 0)),
        ("lsh width", lambda: _native.lsh_is_select(X, y, 2, "S", 2, 2, float("nan"), 0)),
        ("lsh tables", lambda: _native.lsh_is_select(X, y, 2, "S", 0, 2, 1.0, 0)),
        ("quota", lambda: _native.stratified_random_select(y, 2, [n, 1], 0)),
        ("quota length", lambda: _native.stratified_random_select(y, 2, [1], 0)),
        ("hasher bits", lambda: _native.Hasher(X, "simhash", 0, 2, 2, 4, 8, 0)),
        ("hasher family", lambda: _native.Hasher(X, "nope", 8, 2, 2, 4, 8, 0)),
        ("batch size", lambda: _native.minibatch_graph(X, None, 1, 0, 3, "euclidean", 0)),
        (
            "recall sample",
            lambda: _native.graph_recall(X, ip, ix, dist, np.array([n]), 3, "euclidean"),
        ),
        (
            "refine graph",
            lambda: _native.refine_graph(X, ip[::-1].copy(), ix, dist, 3, "euclidean"),
        ),
    ]
    for what, labels in bad_y.items():
        calls += [
            (f"enn {what}", lambda labels=labels: _native.enn_select(X, labels, 2, 3, "euclidean")),
            (f"cnn {what}", lambda labels=labels: _native.cnn_select(X, labels, 2, "euclidean", 0)),
            (
                f"attention {what}",
                lambda labels=labels: _native.attention_scores(ip, ix, dist, labels, 2, 0.5, 1.0),
            ),
        ]
    return calls


@fuzz(40)
@given(data=st.data())
def test_selection_bad_input_raises_the_contract_errors(data):
    n = data.draw(st.integers(6, 20), label="n")
    X = data.draw(arrays((n, 3), np.float64), label="X").copy()  # C-contiguous
    y = (np.arange(n) % 2).astype(np.uint32)
    what, call = data.draw(st.sampled_from(_selection_calls(X, y)), label="call")
    with pytest.raises(CONTRACT):
        call()


def test_selection_entry_points_refuse_or_handle_non_canonical_csr():
    rng = np.random.default_rng(7)
    n, d = 30, 6
    indices = rng.integers(0, d, (n, 5))
    indices[:, 0] = indices[:, 1]  # a duplicate in every row
    data_ = rng.standard_normal((n, 5))
    indptr = np.arange(0, 5 * n + 1, 5)
    raw = (data_.ravel(), indices.ravel().astype(np.int32), indptr.astype(np.int32), d)
    canon = sp.csr_matrix(tuple(a.copy() for a in raw[:3]), shape=(n, d))
    canon.sum_duplicates()
    canon.sort_indices()
    good = (canon.data, canon.indices, canon.indptr, d)
    y = (np.arange(n) % 2).astype(np.uint32)
    try:
        graph = _native.exact_graph(raw, 3, "euclidean")
        kept = _native.enn_select(raw, y, 2, 3, "euclidean")
    except ValueError:
        return  # refused: the error contract
    want = _native.exact_graph(good, 3, "euclidean")
    np.testing.assert_array_equal(graph[1], want[1])
    np.testing.assert_allclose(graph[2], want[2], rtol=1e-12)
    np.testing.assert_array_equal(kept, _native.enn_select(good, y, 2, 3, "euclidean"))
