"""sketchkit.dask: lazy blockwise projections on a real two-process Dask cluster.

The computed results must be bit-identical to the local ones for every family,
transformer, dtype and row chunking; tasks must carry the seed, not the matrix; a
worker killed in the middle of a computation must not change a single bit.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

import sketchkit as sk
from sketchkit import _native

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from sketchkit import dask as skd  # noqa: E402
from sketchkit.cli import main  # noqa: E402

FAMILIES = list(_native.FAMILIES)
TRANSFORMERS = [
    sk.SparseRandomProjection,
    sk.GaussianRandomProjection,
    sk.SparseSignProjection,
    sk.CountSketchProjection,
    sk.SRHTProjection,
]
N, D, K = 600, 200, 24
#: Row chunkings: one chunk, uneven chunks (a one-row chunk included), many chunks.
CHUNKINGS = [(N,), (1, 233, 300, 66), (40,) * 15]


@pytest.fixture(scope="module")
def client():
    # Workers unpickle the helper functions of this module by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def data(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def computed(client, arrays):
    return client.gather(client.compute(arrays))


# ---------------------------------------------------------------------- operators
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("family", FAMILIES)
def test_operator_same_bits_as_local(client, family, dtype):
    X = data((N, D), dtype)
    op = sk.SketchOperator(family, K, D, seed=7)
    expected = op.project(X)
    lazy = [op.project(da.from_array(X, chunks=(rows, D))) for rows in CHUNKINGS]
    for Y, rows in zip(lazy, CHUNKINGS, strict=True):
        assert Y.dtype == dtype and type(Y._meta) is np.ndarray and Y._meta.dtype == dtype
        assert Y.shape == (N, K) and Y.chunks == (rows, (K,))
    for out in computed(client, lazy):
        assert out.dtype == dtype
        assert_array_equal(out, expected)


def test_function_api_and_method_agree():
    X = da.from_array(data((N, D), np.float32), chunks=(100, D))
    op = sk.sparse_sign(K, D, seed=1)
    a, b = skd.project(op, X), op.project(X)
    assert a.name == b.name  # a deterministic key: the same graph
    assert_array_equal(a.compute(scheduler="synchronous"), b.compute(scheduler="synchronous"))


def test_one_dimensional_input():
    x = data(D, np.float64)
    op = sk.srht(K, D, seed=2)
    y = op.project(da.from_array(x, chunks=50))
    assert y.shape == (K,)
    assert_array_equal(y.compute(scheduler="synchronous"), op.project(x))


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.float16, np.float32), (np.int32, np.float64), (np.bool_, np.float64)],
)
def test_dtype_rule_is_the_local_one(dtype, expected):
    X = (data((N, D), np.float64) > 0).astype(dtype)
    op = sk.countsketch(K, D, seed=3)
    Y = op.project(da.from_array(X, chunks=(250, D)))
    assert Y.dtype == expected
    out = Y.compute(scheduler="synchronous")
    assert out.dtype == expected
    assert_array_equal(out, op.project(X))


def _explode(block):
    raise AssertionError("a chunk was computed while the graph was being built")


def test_graph_building_computes_nothing():
    X = da.zeros((N, D), chunks=(100, 50), dtype=np.float32)
    X = X.map_blocks(_explode, dtype=np.float32, meta=np.empty((0, 0), np.float32))
    for Y in (sk.gaussian(K, D).project(X), sk.SRHTProjection(K, random_state=0).fit_transform(X)):
        assert Y.dtype == np.float32 and Y.shape == (N, K)
    with pytest.raises(AssertionError, match="a chunk was computed"):
        Y.compute(scheduler="synchronous")


def test_column_chunks_are_merged_then_rows_kept(client):
    """Column-chunked input: rechunked to one column chunk; same bits as local."""
    X = data((N, D), np.float32)
    op = sk.very_sparse(K, D, seed=4)
    Xd = da.from_array(X, chunks=((100, 500), (30, 70, 100)))
    Y = op.project(Xd)
    assert Y.chunks == ((100, 500), (K,))
    assert any(name.startswith("rechunk") for name in Y.__dask_graph__().layers)
    assert_array_equal(computed(client, [Y])[0], op.project(X))


# ---------------------------------------------------------------------- transformers
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", TRANSFORMERS, ids=lambda c: c.__name__)
def test_transformer_same_bits_as_local(client, cls, dtype):
    X = data((N, D), dtype, seed=1)
    local = cls(n_components=K, random_state=11).fit(X)
    expected = local.transform(X)
    lazy = []
    for rows in CHUNKINGS:
        Xd = da.from_array(X, chunks=(rows, D))
        est = cls(n_components=K, random_state=11).fit(Xd)  # only the shape is read
        assert est.operator_ == local.operator_ and est.n_features_in_ == D
        assert est.components_.dtype == local.components_.dtype
        lazy += [est.transform(Xd), cls(n_components=K, random_state=11).fit_transform(Xd)]
    for Y in lazy:
        assert Y.dtype == dtype and Y.chunks[1] == (K,)
    for out in computed(client, lazy):
        assert_array_equal(out, expected)


def test_transformer_auto_components_and_unknown_rows():
    X = data((N, 3000), np.float32)
    Xd = da.from_array(X, chunks=(200, 3000))
    est = sk.SparseSignProjection(eps=0.5, random_state=0).fit(Xd)
    assert est.n_components_ == sk.SparseSignProjection(eps=0.5).fit(X).n_components_
    unknown = Xd[Xd[:, 0] > -100]  # nan row chunk sizes
    assert np.isnan(unknown.shape[0])
    with pytest.raises(ValueError, match="n_components='auto' needs the number of rows"):
        sk.SparseSignProjection(eps=0.5).fit(unknown)
    fitted = sk.SparseSignProjection(n_components=K, random_state=0).fit(unknown)
    assert_array_equal(
        fitted.transform(unknown).compute(scheduler="synchronous"), fitted.transform(X)
    )


def test_transformer_errors():
    Xd = da.from_array(data((N, D), np.float64), chunks=(100, D))
    with pytest.raises(NotFittedError):
        sk.SparseRandomProjection(K).transform(Xd)
    est = sk.SparseRandomProjection(K, random_state=0).fit(data((5, D + 1), np.float64))
    with pytest.raises(ValueError, match=f"X has {D} features, but SparseRandomProjection"):
        est.transform(Xd)
    with pytest.raises(TypeError, match="estimator must be a fitted sketchkit transformer"):
        skd.transform(object(), Xd)


# ---------------------------------------------------------------------- sparse chunks
@pytest.mark.parametrize("family", ["sparse_sign", "very_sparse", "gaussian"])
def test_sparse_chunks(client, family):
    X = sp.random(N, D, density=0.05, format="csr", random_state=5, dtype=np.float32)
    op = sk.SketchOperator(family, K, D, seed=9)
    Xd = da.from_array(X, chunks=(150, D), asarray=False)
    dense, csr = op.project(Xd), op.project(Xd, dense_output=False)
    assert type(dense._meta) is np.ndarray and sp.issparse(csr._meta)
    got_dense, got_csr = computed(client, [dense, csr])
    assert_array_equal(got_dense, op.project(X))
    expected = op.project(X, dense_output=False)
    assert sp.issparse(got_csr) and got_csr.dtype == np.float32
    assert (got_csr != expected).nnz == 0
    est = sk.SparseRandomProjection(K, random_state=1).fit(Xd)
    out = est.transform(Xd).compute(scheduler="synchronous")
    assert (out != est.transform(X)).nnz == 0


# ---------------------------------------------------------------------- errors
def test_operator_errors_are_the_local_ones():
    op = sk.sparse_sign(K, D)
    wrong = da.zeros((10, D + 1), chunks=(5, D + 1))
    with pytest.raises(ValueError) as dask_err:
        op.project(wrong)
    with pytest.raises(ValueError) as local_err:
        op.project(np.zeros((10, D + 1)))
    assert str(dask_err.value) == str(local_err.value)
    with pytest.raises(TypeError, match="device='gpu'"):
        op.project(da.zeros((10, D), chunks=5), device="gpu")
    with pytest.raises(TypeError, match="X must be a dask.array.Array"):
        skd.project(op, np.zeros((10, D)))
    with pytest.raises(TypeError, match="op must be a SketchOperator"):
        skd.project("sparse_sign", da.zeros((10, D), chunks=5))
    with pytest.raises(TypeError, match="unsupported dtype"):
        op.project(da.zeros((10, D), chunks=5, dtype=np.complex128))


def test_import_sketchkit_does_not_import_dask():
    code = (
        "import sys, sketchkit, sketchkit.dask, sketchkit.cli; sketchkit.SRHTProjection; "
        "assert not [m for m in sys.modules if m == 'dask' or m.startswith('dask.')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------- small graphs
def _task_sizes(Y):
    graph = dict(Y.__dask_graph__())
    tasks = [task for key, task in graph.items() if isinstance(key, tuple) and key[0] == Y.name]
    assert len(tasks) == Y.numblocks[0]
    return [len(cloudpickle.dumps(task)) for task in tasks]


@pytest.mark.parametrize("family", FAMILIES)
def test_tasks_carry_the_seed_not_the_matrix(family):
    sizes = {}
    for k, d in [(8, 64), (4096, 1 << 20)]:
        op = sk.SketchOperator(family, k, d, seed=2**63 + 5)
        assert len(pickle.dumps(op)) < 400
        X = da.zeros((40, d), chunks=(10, d), dtype=np.float32)
        est = sk.SparseSignProjection(k, random_state=0, compute_inverse_components=False)
        sizes[k, d] = _task_sizes(op.project(X)) + _task_sizes(est.fit(X).transform(X))
    for values in sizes.values():
        assert max(values) < 2048
    small, large = sizes.values()
    assert max(abs(a - b) for a, b in zip(small, large, strict=True)) < 64  # independent of k, d


def test_transformer_tasks_leave_the_inverse_components_behind():
    X = data((50, 300), np.float64)
    est = sk.GaussianRandomProjection(100, compute_inverse_components=True, random_state=0)
    est.fit(X)
    assert len(pickle.dumps(est)) > 100 * 300 * 8  # the inverse is in the estimator
    Y = est.transform(da.from_array(X, chunks=(10, 300)))
    assert max(_task_sizes(Y)) < 2048
    assert_array_equal(Y.compute(scheduler="synchronous"), est.transform(X))
    assert est.inverse_components_.shape == (300, 100)  # the estimator is untouched


# ---------------------------------------------------------------------- fault tolerance
def _slow_rows(block_info=None, d=D):
    """Deterministic rows of a chunk (seeded by its first row), computed slowly."""
    start, stop = block_info[None]["array-location"][0]
    time.sleep(0.12)
    return np.random.default_rng(start).standard_normal((stop - start, d))


def test_killed_worker_gives_the_same_bits(client):
    chunks = ((25,) * 24, (D,))
    X = da.map_blocks(_slow_rows, chunks=chunks, dtype=np.float64, meta=np.empty((0, 0)))
    op = sk.sparse_sign(K, D, seed=13)
    expected = op.project(X.compute(scheduler="synchronous"))
    pids = client.run(os.getpid)
    future = client.compute(op.project(X))
    time.sleep(0.7)
    assert not future.done()  # killed mid-compute
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)
    assert_array_equal(future.result(timeout=60), expected)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()  # the nanny started a new one


# ---------------------------------------------------------------------- schedulers
def test_parse_scheduler():
    for spec in ("threads", "processes", "synchronous", "tcp://127.0.0.1:8786"):
        assert skd.parse_scheduler(spec) == spec
    for bad in ("thread", "", "127.0.0.1:8786", "tcp://"):
        with pytest.raises(ValueError, match="scheduler: invalid value"):
            skd.parse_scheduler(bad)
    assert skd.get_client_or_scheduler("threads") == "threads"


# ---------------------------------------------------------------------- command line
@pytest.fixture
def shards(tmp_path):
    src = tmp_path / "shards"
    src.mkdir()
    parts = [data((n, 48), np.float32, seed=n) for n in (37, 1, 120)]
    for i, part in enumerate(parts):
        np.save(src / f"part-{i}.npy", part)
    return src, parts


def _check_outputs(out_dir, names, parts, method="sparse_sign", k=8, seed=3):
    op = sk.SketchOperator(method, k, 48, seed=seed, nnz=min(8, k))
    for name, part in zip(names, parts, strict=True):
        got = np.load(out_dir / name)
        assert got.dtype == part.dtype
        assert_array_equal(got, op.project(part))


@pytest.mark.parametrize("scheduler", [None, "synchronous", "threads", "cluster"])
def test_cli_shards(client, shards, tmp_path, scheduler):
    src, parts = shards
    out = tmp_path / "out"
    argv = ["project", str(src), str(out), "-k", "8", "--seed", "3", "--chunk-rows", "16"]
    if scheduler is not None:
        spec = client.scheduler.address if scheduler == "cluster" else scheduler
        argv += ["--scheduler", spec]
    assert main([*argv, "--no-progress"]) == 0
    names = [f"part-{i}.npy" for i in range(3)]
    assert sorted(os.listdir(out)) == names
    _check_outputs(out, names, parts)


def test_cli_glob_and_parquet(shards, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    src, parts = shards
    table = pa.table({f"f{j}": parts[2][:, j] for j in range(48)})
    pq.write_table(table, src / "table.parquet", row_group_size=50)
    out = tmp_path / "out"
    argv = ["project", str(src / "*.parquet"), str(out), "-k", "8", "--seed", "3"]
    assert main([*argv, "--chunk-rows", "30", "--no-progress", "--scheduler", "synchronous"]) == 0
    _check_outputs(out, ["table.parquet".replace(".parquet", ".npy")], [parts[2]])


def test_cli_shard_errors(shards, tmp_path, capsys):
    src, _ = shards
    np.save(src / "wide.npy", np.zeros((3, 49), np.float32))
    out = tmp_path / "out"
    assert main(["project", str(src), str(out), "-k", "8", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "every shard must have the same number of features" in err
    assert not out.exists()  # nothing left behind
    with pytest.raises(SystemExit) as exc:
        main(["project", str(src), str(out), "-k", "8", "--scheduler", "nowhere"])
    assert exc.value.code == 2
    assert "scheduler: invalid value 'nowhere'" in capsys.readouterr().err
    assert main(["project", str(tmp_path / "none-*.npy"), str(out), "-k", "8"]) == 2
    assert "no file matches" in capsys.readouterr().err
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 4)))
    assert main(["project", str(x), str(tmp_path / "y.npy"), "-k", "2", "--scheduler", "threads"])
    assert "--scheduler takes shard input" in capsys.readouterr().err


def test_cli_failed_shard_leaves_previous_outputs(shards, tmp_path, capsys):
    src, parts = shards
    out = tmp_path / "out"
    assert main(["project", str(src), str(out), "-k", "8", "--seed", "3", "--no-progress"]) == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    bad = data((5, 48), np.float32)
    bad[2, 3] = np.nan
    np.save(src / "part-9.npy", bad)
    argv = ["project", str(src), str(out), "-k", "8", "--seed", "4", "--no-progress"]
    assert main([*argv, "--scheduler", "synchronous"]) == 2
    assert "error:" in capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before


class _Bar:
    def __init__(self, total, **kwargs):
        self.total, self.done, self.closed = total, 0, False

    def update(self, n=1):
        self.done += n

    def close(self):
        self.closed = True


@pytest.mark.parametrize("scheduler", [None, "synchronous"])
def test_cli_progress_counts_every_row(shards, tmp_path, monkeypatch, scheduler):
    import sketchkit._cli_shards as shard_cli

    bars = []
    monkeypatch.setattr(
        shard_cli, "progress", lambda total, **kw: bars.append(_Bar(total)) or bars[-1]
    )
    argv = ["project", str(shards[0]), str(tmp_path / "out"), "-k", "4", "--chunk-rows", "10"]
    assert main(argv + ([] if scheduler is None else ["--scheduler", scheduler])) == 0
    (bar,) = bars
    assert bar.total == bar.done == 37 + 1 + 120 and bar.closed


# ---------------------------------------------------------------------- S @ A
SKETCH_FAMILIES = [f for f in FAMILIES if f != "srht"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("family", SKETCH_FAMILIES)
def test_sketch_tree_reduction_same_bits(client, family, dtype):
    from sketchkit.stream import RowSketch

    d, m = 9000, 5
    A = data((d, m), dtype, seed=3)
    op = sk.SketchOperator(family, K, d, seed=21)
    expected = RowSketch(op, m).update(A, 0).result()
    lazy = [
        skd.sketch(op, da.from_array(A, chunks=(rows, m)), split_every=every)
        for rows, every in [
            ((d,), 8),
            ((1, 4095, 4097, 807), 2),
            ((500,) * 18, 3),
            ((4096, 4904), 8),
        ]
    ]
    for S_A in lazy:
        assert S_A.shape == (K, m) and S_A.dtype == dtype
    for out in computed(client, lazy):
        assert out.dtype == dtype
        assert_array_equal(out, expected)
    np.testing.assert_allclose(
        expected,
        op.sketch(A),
        rtol=1e-4 if dtype == np.float32 else 1e-10,
        atol=1e-3 if dtype == np.float32 else 1e-9,
    )


def test_sketch_column_chunks_sparse_and_errors():
    from sketchkit.stream import RowSketch

    d, m = 5000, 6
    A = data((d, m), np.float64, seed=4)
    op = sk.sparse_sign(K, d, seed=2)
    expected = RowSketch(op, m).update(A, 0).result()
    got = skd.sketch(op, da.from_array(A, chunks=(700, 2))).compute(scheduler="synchronous")
    assert_array_equal(got, expected)
    As = sp.random(d, m, density=0.1, format="csr", random_state=0)
    lazy = skd.sketch(op, da.from_array(As, chunks=(1000, m), asarray=False))
    assert_array_equal(
        lazy.compute(scheduler="synchronous"), RowSketch(op, m).update(As, 0).result()
    )
    with pytest.raises(ValueError, match="shape mismatch"):
        skd.sketch(op, da.zeros((d + 1, m), chunks=100))
    with pytest.raises(ValueError, match="split_every"):
        skd.sketch(op, da.from_array(A, chunks=1000), split_every=1)
    with pytest.raises(ValueError, match="srht|SRHT|operator"):
        skd.sketch(sk.srht(K, d), da.from_array(A, chunks=1000))
    unknown = da.from_array(A, chunks=1000)
    unknown = unknown[unknown[:, 0] > -100]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        skd.sketch(sk.sparse_sign(K, d), unknown)
