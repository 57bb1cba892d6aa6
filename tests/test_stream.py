"""Streaming and mergeable row sketches (sketchkit.stream).

The contract: RowSketch's result is a pure function of (operator, A), bit-identical
for every blocking, arrival order, merge tree (with pickling in between) and thread
count, and within the stated rounding bound of the one-shot sketch and of the exact
product.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sketchkit as sk
from sketchkit.stream import RowSketch, iter_blocks, project_blocks, sketch_blocks

FAMILIES = ["countsketch", "sparse_sign", "very_sparse", "gaussian", "rademacher"]
DTYPES = [np.float32, np.float64]
K, M = 16, 3
D = 2 * 4096 + 300  # three canonical strips (B = 4096 for k = 16)

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def make_op(family: str, d: int = D, k: int = K) -> sk.SketchOperator:
    return sk.SketchOperator(family, k, d, seed=11)


def make_a(dtype, d: int = D, m: int = M, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((d, m)).astype(dtype)


def in_order(op, a) -> np.ndarray:
    return RowSketch(op, a.shape[1]).update(a, 0).result()


def blocks_of(cuts: list[int], d: int = D) -> list[tuple[int, int]]:
    edges = [0, *sorted(set(cuts)), d]
    return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True) if hi > lo]


cut_lists = st.lists(st.integers(1, D - 1), max_size=9, unique=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
@SETTINGS
@given(data=st.data())
def test_any_blocking_and_order_gives_the_same_bits(family, dtype, data):
    op, a = make_op(family), make_a(dtype)
    want = in_order(op, a)
    assert want.dtype == dtype and want.shape == (K, M)
    blocks = blocks_of(data.draw(cut_lists, label="cuts"))
    order = data.draw(st.permutations(blocks), label="order")
    state = RowSketch(op, M, dtype=dtype)
    for lo, hi in order:
        # F-order and strided views take the same path as C-order rows.
        block = a[lo:hi]
        if data.draw(st.booleans(), label="fortran"):
            block = np.asfortranarray(block)
        state.update(block, lo)
    np.testing.assert_array_equal(state.result(), want)
    assert state.result().tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
@SETTINGS
@given(data=st.data())
def test_merge_trees_with_pickling_give_the_same_bits(family, dtype, data):
    op, a = make_op(family), make_a(dtype, seed=1)
    want = in_order(op, a)
    blocks = blocks_of(data.draw(cut_lists, label="cuts"))
    n_states = data.draw(st.integers(1, min(4, len(blocks))), label="states")
    owner = [data.draw(st.integers(0, n_states - 1)) for _ in blocks]
    states = [RowSketch(op, M) for _ in range(n_states)]
    for (lo, hi), o in zip(blocks, owner, strict=True):
        states[o].update(a[lo:hi], lo)
    states = [pickle.loads(pickle.dumps(s)) for s in states]
    while len(states) > 1:
        i, j = data.draw(
            st.lists(st.integers(0, len(states) - 1), min_size=2, max_size=2, unique=True)
        )
        merged = states[i].copy().merge(states[j])
        merged = pickle.loads(pickle.dumps(merged))
        states = [s for t, s in enumerate(states) if t not in (i, j)] + [merged]
    assert states[0].complete
    assert states[0].result().tobytes() == want.tobytes()


def _gamma(n: int, u: float) -> float:
    return n * u / (1 - n * u)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_within_the_rounding_bound(family, dtype):
    d = 5 * 4096 + 123
    op, a = make_op(family, d=d), make_a(dtype, d=d, m=4, seed=2)
    r = RowSketch(op, 4).update_from(a, block_rows=3000).result().astype(np.float64)
    b = RowSketch(op, 4).strip_rows
    assert b == 4096
    strips = math.ceil(d / b)
    u = float(np.finfo(dtype).eps) / 2
    n = min(b, d) + math.ceil(math.log2(strips)) + 1
    # The exact entries the kernels use (float32 entries are rounded once from float64).
    s = op.to_dense(dtype).astype(np.float64)
    a64 = a.astype(np.float64)
    magnitude = np.abs(s) @ np.abs(a64)
    exact = s @ a64  # float64 reference, error <= d * 2^-53 * magnitude
    ref_err = _gamma(d, 2.0**-53) * magnitude
    assert np.all(np.abs(r - exact) <= _gamma(n, u) * magnitude + ref_err)
    # Against the one-shot kernel (its own chain over d terms, plus the scale).
    one = op.sketch(a).astype(np.float64)
    assert np.all(np.abs(r - one) <= (_gamma(n, u) + _gamma(d + 1, u)) * magnitude)
    # The bound is not vacuous: the error is far below the magnitude itself.
    assert np.all(_gamma(n, u) * magnitude < 0.5 * magnitude)


@pytest.mark.parametrize("family", FAMILIES)
def test_thread_count_does_not_change_bits(family):
    op, a = make_op(family, d=6 * 4096 + 5), make_a(np.float64, d=6 * 4096 + 5, seed=3)
    before = sk.get_num_threads()
    try:
        sk.set_num_threads(1)
        one = RowSketch(op, M).update(a[:10000], 0).update(a[10000:], 10000).result()
        sk.set_num_threads(4)
        many = RowSketch(op, M).update(a[:10000], 0).update(a[10000:], 10000).result()
    finally:
        sk.set_num_threads(before)
    assert one.tobytes() == many.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_csr_blocks_equal_dense_blocks(family, dtype):
    sp = pytest.importorskip("scipy.sparse")
    op = make_op(family)
    a = sp.random(D, 6, density=0.3, format="csr", random_state=4, dtype=dtype)
    dense = a.toarray()
    want = in_order(op, dense)
    state = RowSketch(op, 6)
    for lo, hi in [(5000, D), (0, 17), (17, 5000)]:
        state.update(a[lo:hi], lo)
    np.testing.assert_array_equal(state.result(), want)
    # The whole-matrix source through iter_blocks (CSR row slices) agrees too.
    np.testing.assert_array_equal(sketch_blocks(op, a, block_rows=1000), want)


@pytest.mark.parametrize("family", FAMILIES)
@SETTINGS
@given(data=st.data())
def test_mixed_csr_and_dense_pieces_with_pickling(family, data):
    """Cut strips buffered as CSR pieces (from CSR blocks) and as dense pieces, in
    one state or in states merged after a pickle round trip (which writes every
    piece densely): the bits of the dense in-order sketch, whatever the mix."""
    sp = pytest.importorskip("scipy.sparse")
    dtype = np.float64
    op = make_op(family)
    a = sp.random(D, 5, density=0.2, format="csr", random_state=7, dtype=dtype)
    dense = a.toarray()
    want = in_order(op, dense)
    blocks = blocks_of(data.draw(cut_lists, label="cuts"))
    order = data.draw(st.permutations(blocks), label="order")
    as_csr = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    split = data.draw(st.integers(0, len(order)), label="split")
    states = [RowSketch(op, 5), RowSketch(op, 5)]
    for i, ((lo, hi), csr) in enumerate(zip(order, as_csr, strict=True)):
        states[i >= split].update(a[lo:hi] if csr else dense[lo:hi], lo)
    first = pickle.loads(pickle.dumps(states[0]))
    first.merge(states[1])
    np.testing.assert_array_equal(first.result(), want)


def test_memmap_npy_and_shard_directory(tmp_path):
    op, a = make_op("sparse_sign"), make_a(np.float32, seed=5)
    want = in_order(op, a)
    path = tmp_path / "a.npy"
    np.save(path, a)
    mm = np.load(path, mmap_mode="r")
    assert RowSketch(op, M).update_from(mm, block_rows=1000).result().tobytes() == want.tobytes()
    assert sketch_blocks(op, str(path), block_rows=777).tobytes() == want.tobytes()
    shards = tmp_path / "shards"
    shards.mkdir()
    # Names sort in row order; the blocks cut strips anywhere.
    for i, (lo, hi) in enumerate([(0, 3000), (3000, 5001), (5001, D)]):
        np.save(shards / f"part-{i:03d}.npy", a[lo:hi])
    assert sketch_blocks(op, shards).tobytes() == want.tobytes()
    assert sketch_blocks(op, str(shards / "part-*.npy")).tobytes() == want.tobytes()
    blocks = list(iter_blocks(shards, block_rows=2000))
    assert [b.shape[0] for b in blocks] == [2000, 1000, 2000, 1, 2000, 1491]
    assert all(b.dtype == np.float32 for b in blocks)


def test_parquet_sources(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    ds = pytest.importorskip("pyarrow.dataset")
    op, a = make_op("countsketch"), make_a(np.float32, seed=6)
    want = in_order(op, a)
    table = pa.table({f"c{j}": a[:, j] for j in range(M)})
    for source in (table, table.to_batches()[0], table.to_batches()[0].slice(0)):
        got = sketch_blocks(op, source, block_rows=3000)
        assert got.dtype == np.float32  # float32 columns are not upcast
        assert got.tobytes() == want.tobytes()
    pq.write_table(table.slice(0, 4000), tmp_path / "p0.parquet")
    pq.write_table(table.slice(4000), tmp_path / "p1.parquet")
    sizes = [b.shape[0] for b in iter_blocks(tmp_path / "p0.parquet", block_rows=1500)]
    assert sizes == [1500, 1500, 1000]
    assert sketch_blocks(op, tmp_path, block_rows=1500).tobytes() == want.tobytes()
    got = sketch_blocks(op, ds.dataset(str(tmp_path), format="parquet"), block_rows=2500)
    assert got.tobytes() == want.tobytes()
    # Mixed column types: float64 matrix (an integer column cannot stay float32).
    mixed = pa.table({"x": a[:5, 0], "n": np.arange(5, dtype=np.int64)})
    (blk,) = list(iter_blocks(mixed))
    assert blk.dtype == np.float64 and blk.shape == (5, 2)
    np.testing.assert_array_equal(blk[:, 1], np.arange(5))
    # Column selection.
    (blk,) = list(iter_blocks(table.slice(0, 10), columns=["c2", "c0"]))
    np.testing.assert_array_equal(blk, a[:10, [2, 0]])
    with pytest.raises(ValueError, match="null"):
        list(iter_blocks(pa.table({"x": pa.array([1.0, None])})))


def test_project_blocks_are_the_projection():
    op = make_op("gaussian", d=40)
    x = make_a(np.float32, d=1000, m=40, seed=7)
    got = np.concatenate(list(project_blocks(op, x, block_rows=333)))
    assert got.tobytes() == op.project(x).tobytes()
    pytest.importorskip("sklearn")
    t = sk.SparseSignProjection(n_components=8, random_state=0).fit(x)
    got = np.concatenate(list(project_blocks(t, iter(np.array_split(x, 7)))))
    np.testing.assert_array_equal(got, t.transform(x))
    with pytest.raises(TypeError, match="transformer"):
        next(project_blocks(object(), x))


def test_errors_name_the_argument_and_leave_the_state_unchanged():
    op, a = make_op("sparse_sign"), make_a(np.float32, seed=8)
    state = RowSketch(op, M).update(a[10:100], 10)
    with pytest.raises(ValueError, match=r"block: has 2 columns"):
        state.update(a[:5, :2], 0)
    with pytest.raises(ValueError, match=r"row_offset: rows 50\.\.60 were already supplied"):
        state.update(a[:10], 50)
    with pytest.raises(ValueError, match=r"row_offset: rows .* beyond"):
        state.update(a[:10], D - 5)
    with pytest.raises(ValueError, match="row_offset: must be non-negative"):
        state.update(a[:10], -1)
    with pytest.raises(ValueError, match=r"block: has dtype float64 but the sketch holds float32"):
        state.update(a[:10].astype(np.float64), 0)
    bad = a[:10].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="block contains NaN"):
        state.update(bad, 0)
    with pytest.raises(ValueError, match=r"A: rows 0\.\.10, 100\.\.8492 have not been supplied"):
        state.result()
    assert state.rows_supplied == 90
    assert state.missing_rows == [(0, 10), (100, D)]
    with pytest.raises(ValueError, match="other: was built for"):
        state.merge(RowSketch(make_op("countsketch"), M))
    with pytest.raises(ValueError, match="other: was built for"):
        state.merge(RowSketch(op, M + 1))
    with pytest.raises(ValueError, match=r"other: holds rows 50\.\.100"):
        state.merge(RowSketch(op, M).update(a[50:200], 50))
    with pytest.raises(ValueError, match="other: has dtype float64"):
        state.merge(RowSketch(op, M).update(a[:5].astype(np.float64), 0))
    with pytest.raises(ValueError, match="operator: the 'srht' family"):
        RowSketch(sk.srht(8, 64), M)
    with pytest.raises(ValueError, match="n_columns: must be at least 1"):
        RowSketch(op, 0)
    with pytest.raises(TypeError, match="operator must be a SketchOperator"):
        RowSketch("countsketch", M)  # type: ignore[arg-type]
    # Nothing above changed the state: completing it gives the in-order bits.
    state.update(a[:10], 0).update(a[100:], 100)
    assert state.result().tobytes() == in_order(op, a).tobytes()


def test_pickled_states():
    op, a = make_op("very_sparse"), make_a(np.float64, seed=9)
    empty = RowSketch(op, M)
    assert len(pickle.dumps(empty)) < 1024
    assert len(pickle.dumps(RowSketch(op, M, dtype=np.float32))) < 1024
    clone = pickle.loads(pickle.dumps(empty))
    assert clone.dtype is None and clone.rows_supplied == 0
    # Pending raw rows survive the round trip (rows 5..4200 leave both strips cut).
    part = RowSketch(op, M).update(a[5:4200], 5)
    back = pickle.loads(pickle.dumps(part))
    assert back.rows_supplied == part.rows_supplied and back.dtype == np.float64
    back.update(a[:5], 0).update(a[4200:], 4200)
    assert back.result().tobytes() == in_order(op, a).tobytes()
    native = part._native
    dtype, nodes, pieces = native.state()
    with pytest.raises(ValueError, match="nodes"):
        sk._native.RowSketch.from_state(op._native, M, dtype, [(0, 99, b"\0" * 8)], [])
    with pytest.raises(ValueError, match="pieces"):
        sk._native.RowSketch.from_state(op._native, M, dtype, [], [(0, b"\0" * 7)])
    with pytest.raises(ValueError, match="pieces"):
        sk._native.RowSketch.from_state(op._native, M, dtype, [], pieces + pieces)


def test_copy_is_independent_and_self_merge_is_refused():
    op, a = make_op("rademacher"), make_a(np.float64, seed=10)
    s = RowSketch(op, M).update(a[:5000], 0)
    c = s.copy().update(a[5000:], 5000)
    assert s.rows_supplied == 5000 and c.complete
    with pytest.raises(ValueError, match="other: holds rows 0..5000"):
        s.merge(s)
    assert "rows_supplied=5000" in repr(s)


def test_iter_blocks_rejects_bad_sources(tmp_path):
    with pytest.raises(TypeError, match="source must be"):
        list(iter_blocks(3.0))
    with pytest.raises(ValueError, match="2-D"):
        list(iter_blocks(np.zeros(5)))
    with pytest.raises(ValueError, match="block_rows"):
        list(iter_blocks(np.zeros((5, 2)), block_rows=0))
    with pytest.raises(ValueError, match="holds no .npy"):
        list(iter_blocks(tmp_path))
    with pytest.raises(ValueError, match="unsupported file"):
        list(iter_blocks(str(tmp_path / "x.csv")))
    with pytest.raises(ValueError, match="no rows"):
        sketch_blocks(make_op("countsketch"), [])
