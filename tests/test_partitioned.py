"""Partitioned selection: routing, exact quota split, determinism, sources, Dask."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

import sketchkit as sk  # noqa: E402
from sketchkit import _native  # noqa: E402
from sketchkit.selection import (  # noqa: E402
    GraphAttentionSelector,
    PartitionedSelector,
    route_keys,
    split_quotas,
)
from sketchkit.selection._base import class_quotas, encode_labels  # noqa: E402
from sketchkit.selection._dask_select import partition_of, partition_starts  # noqa: E402
from sketchkit.selection._partitioned import _ArraySource  # noqa: E402


def blobs(n=3000, d=8, seed=0, dtype=np.float64):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=5,
        n_redundant=0,
        n_classes=3,
        weights=[0.6, 0.3, 0.1],
        class_sep=1.2,
        random_state=seed,
    )
    return X.astype(dtype), y


def selector(rows=400, reduction=0.9, **kw):
    gas = GraphAttentionSelector(reduction=reduction, random_state=3)
    return PartitionedSelector(gas, partition_rows=rows, **kw)


# ------------------------------------------------------------------ quota split
def test_split_quotas_explicit_examples():
    # 5 rows over 3, 3, 4: exact shares 1.5, 1.5, 2 -> floors 1, 1, 2; the one left
    # goes to the largest remainder, a tie of partitions 0 and 1: the lower index.
    assert split_quotas([5], [[3], [3], [4]]).tolist() == [[2], [1], [2]]
    # Two classes: 7 of 10 -> 4.9, 0, 2.1 -> 4, 0, 2, one more to partition 0;
    # 2 of 10 -> 0, 1, 1 exactly.
    s = split_quotas([7, 2], [[7, 0], [0, 5], [3, 5]])
    assert s.tolist() == [[5, 0], [0, 1], [2, 1]]
    # A zero quota stays zero; all rows keep all.
    assert split_quotas([0, 4], [[2, 1], [2, 3]]).tolist() == [[0, 1], [0, 3]]


@pytest.mark.parametrize("seed", range(5))
def test_split_quotas_sum_exactly_and_respect_counts(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 50, size=(17, 4))
    counts[:, 2] = 0
    counts[5, 2] = 3
    q = class_quotas(np.repeat(np.tile(np.arange(4), 17), counts.ravel()), 4, 0.93)
    s = split_quotas(q, counts)
    assert s.sum(axis=0).tolist() == q
    assert (s <= counts).all() and (s >= 0).all()
    # Each share is the floor or the ceiling of the proportional share.
    exact = np.array(q)[None, :] * counts / np.maximum(counts.sum(axis=0), 1)
    assert (np.abs(s - exact) < 1).all()


def test_split_quotas_errors():
    with pytest.raises(ValueError, match="quota"):
        split_quotas([11], [[3], [3], [4]])
    with pytest.raises(ValueError):
        split_quotas([1, 1], [[3], [3]])
    with pytest.raises(ValueError, match="counts"):
        split_quotas([1], [3, 3])


# ---------------------------------------------------------------------- routing
def test_route_keys_are_blockwise_and_centred():
    X, _ = blobs(2000)
    mu = X.mean(axis=0)
    whole = route_keys(X, 20, 7, mu)
    parts = np.concatenate(
        [route_keys(X[a:b], 20, 7, mu) for a, b in [(0, 1), (1, 999), (999, 2000)]]
    )
    np.testing.assert_array_equal(whole, parts)
    assert whole.dtype == np.uint64 and int(whole.max()) < 2**20
    # Bit t is the sign of the centred projection on direction t: the top bit
    # splits the rows about evenly when centred, not when the data are shifted.
    top = whole >> 19
    assert 0.3 < top.mean() < 0.7
    shifted = route_keys(X + 100.0, 20, 7, None) >> 19
    assert shifted.mean() in (0.0, 1.0)
    with pytest.raises(ValueError, match="route_bits"):
        route_keys(X, 65, 7)
    with pytest.raises(ValueError, match="center"):
        route_keys(X, 8, 7, mu[:3])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 7), min_size=1, max_size=300),
    st.integers(_native.partition_defaults()["min_partition_rows"], 60),
)
def test_partition_starts_give_back_every_rows_partition(keys, max_rows):
    # The Dask path ships only where partitions start and lets each block find its
    # rows' partitions: that must be the core's plan, ties of equal keys included.
    keys = np.asarray(keys, dtype=np.uint64)
    part, n_parts = _native.plan_partitions(keys, 3, max_rows)
    part = np.asarray(part)
    members = [np.flatnonzero(part == p) for p in range(n_parts)]
    start_keys, start_rows = partition_starts(keys, members)
    rows = np.arange(keys.shape[0], dtype=np.int64)
    np.testing.assert_array_equal(partition_of(keys, rows, start_keys, start_rows), part)
    # Any block of rows on its own gives the same.
    cut = keys.shape[0] // 3
    got = partition_of(keys[cut:], rows[cut:], start_keys, start_rows)
    np.testing.assert_array_equal(got, part[cut:])


def test_partitions_are_bounded_and_neighbours_land_together():
    X, y = blobs(4000)
    sel = selector(rows=500).fit(X, y)
    sizes = np.bincount(sel.partitions_)
    # The fewest partitions under the bound, of equal sizes.
    assert sel.n_partitions_ == sizes.shape[0] == 8
    assert set(sizes.tolist()) == {500}
    # Exact nearest neighbours share the partition far more often than chance.
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X, return_distance=False)[:, 1]
    same = (sel.partitions_ == sel.partitions_[nn]).mean()
    chance = ((sizes / sizes.sum()) ** 2).sum()
    assert same > 0.5 > 3 * chance


# ----------------------------------------------------------------- quota totals
@pytest.mark.parametrize("reduction", [0.5, 0.9, 0.97])
def test_per_class_totals_equal_the_in_memory_quotas(reduction):
    X, y = blobs(3000, seed=1)
    sel = selector(rows=350, reduction=reduction).fit(X, y)
    _, codes = encode_labels(y, len(y))
    want = class_quotas(codes, 3, reduction)
    got = np.bincount(y[sel.sample_indices_], minlength=3).tolist()
    assert got == want
    assert sel.quotas_.sum(axis=0).tolist() == want
    # Per partition too: each keeps exactly its share.
    kept_part = sel.partitions_[sel.sample_indices_]
    per = np.zeros_like(sel.quotas_)
    np.add.at(per, (kept_part, codes[sel.sample_indices_]), 1)
    np.testing.assert_array_equal(per, sel.quotas_)
    # Weights: each class's weights sum to its size.
    w = np.bincount(y[sel.sample_indices_], weights=sel.sample_weight_, minlength=3)
    np.testing.assert_allclose(w, np.bincount(y), rtol=1e-9)
    assert np.all(np.diff(sel.sample_indices_) > 0)


def test_automatic_size_keeps_every_class():
    X, y = blobs(2000, seed=2)
    sel = selector(rows=300, reduction=None).fit(X, y)
    assert sel.quotas_ is None
    assert set(np.unique(y[sel.sample_indices_])) == {0, 1, 2}
    w = np.bincount(y[sel.sample_indices_], weights=sel.sample_weight_, minlength=3)
    np.testing.assert_allclose(w, np.bincount(y), rtol=1e-9)


# ------------------------------------------------------------------ determinism
def test_same_result_for_any_partition_order_and_thread_count(restore_threads):
    X, y = blobs(2000, seed=4, dtype=np.float32)
    ref = selector(rows=300).fit(X, y)
    order = np.random.default_rng(0).permutation(ref.n_partitions_)
    shuffled = selector(rows=300)
    shuffled._fit_source(_ArraySource(X), y, order=order.tolist())
    np.testing.assert_array_equal(shuffled.sample_indices_, ref.sample_indices_)
    np.testing.assert_array_equal(shuffled.sample_weight_, ref.sample_weight_)
    sk.set_num_threads(1)
    one = selector(rows=300).fit(X, y)
    sk.set_num_threads(3)
    many = selector(rows=300, n_jobs=3).fit(X, y)
    for other in (one, many):
        np.testing.assert_array_equal(other.sample_indices_, ref.sample_indices_)
        np.testing.assert_array_equal(other.sample_weight_, ref.sample_weight_)


# ---------------------------------------------------------------------- sources
def test_memmap_shards_and_iterator_give_the_same_selection(tmp_path):
    X, y = blobs(2500, d=6, seed=5)
    ref = selector(rows=400)
    X_res, y_res = ref.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X[ref.sample_indices_])
    np.testing.assert_array_equal(y_res, y[ref.sample_indices_])
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    # Shards: .npy with the label as the last column, parquet with a named column.
    shards = tmp_path / "npy"
    shards.mkdir()
    cuts = [0, 1, 700, 1800, 2500]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        np.save(shards / f"part{i}.npy", np.column_stack([X[a:b], y[a:b]]))
    runs = {
        "memmap": lambda s: s.fit(mm, y),
        "npy file": lambda s: s.fit(str(tmp_path / "x.npy"), y),
        "npy shards": lambda s: s.fit(str(shards), label=6),
        "iterator": lambda s: s.fit(
            iter([(X[a:b], y[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)])
        ),
    }
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        cols = {f"f{j}": X[a:b, j] for j in range(6)}
        cols["label"] = y[a:b]
        pq.write_table(pa.table(cols), pq_dir / f"part{i}.parquet")
    runs["parquet glob"] = lambda s: s.fit(str(pq_dir / "*.parquet"), label="label")
    for name, run in runs.items():
        s = run(selector(rows=400))
        np.testing.assert_array_equal(s.sample_indices_, ref.sample_indices_, err_msg=name)
        np.testing.assert_array_equal(s.sample_weight_, ref.sample_weight_, err_msg=name)
    X_res, y_res = selector(rows=400).fit_resample(str(pq_dir), label="label")
    np.testing.assert_array_equal(X_res, X[ref.sample_indices_])
    np.testing.assert_array_equal(y_res, y[ref.sample_indices_])
    assert not list(tmp_path.glob("sketchkit-*"))


def test_float32_stays_float32():
    X, y = blobs(1200, seed=6, dtype=np.float32)
    X_res, _ = selector(rows=300).fit_resample(X, y)
    assert X_res.dtype == np.float32


# ------------------------------------------------------------------------ errors
def test_error_paths(tmp_path):
    X, y = blobs(500)
    with pytest.raises(ValueError, match="partition_rows"):
        selector(rows=1).fit(X, y)
    with pytest.raises(TypeError, match="partition_rows"):
        selector(rows=10.5).fit(X, y)
    with pytest.raises(ValueError, match="route_bits"):
        selector(route_bits=0).fit(X, y)
    with pytest.raises(ValueError, match="labels but X has"):
        selector().fit(X, y[:-1])
    with pytest.raises(ValueError, match="reduction"):
        selector(reduction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="y is required"):
        selector().fit(X)
    with pytest.raises(TypeError, match="selector"):
        PartitionedSelector(selector=object()).fit(X, y)
    with pytest.raises(ValueError, match="center"):
        selector(center="median").fit(X, y)
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": X[:, 0], "b": y}), tmp_path / "s.parquet")
    with pytest.raises(ValueError, match="label column 'y'"):
        selector().fit(str(tmp_path / "s.parquet"), label="y")
    with pytest.raises(ValueError, match="label"):
        selector().fit(str(tmp_path))
    with pytest.raises(ValueError, match="no .npy or .parquet"):
        selector().fit(str(tmp_path / "none-*.npy"), label=0)


# ---------------------------------------------------------------------- quality
def test_quality_close_to_in_memory_selection():
    X, y = make_classification(
        n_samples=20000,
        n_features=20,
        n_informative=10,
        n_classes=3,
        class_sep=1.0,
        random_state=0,
    )
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    gas = GraphAttentionSelector(reduction=0.9, random_state=0)

    def acc(idx):
        knn = KNeighborsClassifier(1).fit(Xtr[idx], ytr[idx])
        return 100 * knn.score(Xte, yte)

    full = gas.fit(Xtr, ytr).sample_indices_
    part = PartitionedSelector(gas, partition_rows=4000).fit(Xtr, ytr)
    assert part.n_partitions_ >= 4
    assert len(part.sample_indices_) == len(full)
    assert abs(acc(part.sample_indices_) - acc(full)) <= 1.5


def test_partitions_share_one_self_tuning_choice():
    from sketchkit.selection._partition_select import pool_choice, select_partition

    X, y = blobs(2400, seed=3)
    y = y.copy()
    y[::13] = (y[::13] + 1) % 3  # flipped labels: the candidates differ
    auto = PartitionedSelector(GraphAttentionSelector(reduction=0.9, random_state=4), 600)
    auto.fit(X, y)
    assert auto.n_partitions_ >= 4
    b, t = auto.boundary_share_, auto.noise_threshold_
    defaults = _native.attention_defaults()
    assert b in defaults["boundary_share_grid"] and t in defaults["noise_threshold_grid"]
    # The choice, given to every partition, selects the same rows and weights.
    fixed_gas = GraphAttentionSelector(
        reduction=0.9, random_state=4, boundary_share=b, noise_threshold=t
    )
    fixed = PartitionedSelector(fixed_gas, 600).fit(X, y)
    assert fixed.boundary_share_ is None  # nothing was chosen
    np.testing.assert_array_equal(auto.sample_indices_, fixed.sample_indices_)
    np.testing.assert_array_equal(auto.sample_weight_, fixed.sample_weight_)
    # It is the best by the partitions' pooled figures, ties to the earliest.
    codes = encode_labels(y, len(y))[1]
    results = []
    for p in range(auto.n_partitions_):
        m = np.flatnonzero(auto.partitions_ == p)
        params = auto.selector.get_params() | {"random_state": 4}
        results.append(select_partition(params, X[m], codes[m], 3, auto.quotas_[p]))
    hits = np.sum([[c[2] for c in r[2]] for r in results], axis=0)
    judged = np.sum([[c[3] for c in r[2]] for r in results], axis=0)
    acc = hits / judged
    j = int(np.flatnonzero(acc == acc.max())[0])
    assert (results[0][2][j][0], results[0][2][j][1]) == (b, t)
    assert pool_choice(results)[1] == (b, t)
    with pytest.raises(ValueError, match="candidates"):
        _native.attention_pooled_choice(
            [[c[:4] for c in results[0][2]], [c[:4] for c in results[1][2][1:]]]
        )


# ------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_dask_array_and_dataframe_equal_the_local_path(client):
    import dask
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    X, y = blobs(1600, d=5, seed=7, dtype=np.float32)
    ref = selector(rows=400).fit(X, y)
    Xd = da.from_array(X, chunks=((1, 799, 800), (3, 2)))
    with dask.config.set(scheduler=client):
        s = selector(rows=400)
        X_res, y_res = s.fit_resample(Xd, da.from_array(y, chunks=500))
        np.testing.assert_array_equal(s.sample_indices_, ref.sample_indices_)
        np.testing.assert_array_equal(s.sample_weight_, ref.sample_weight_)
        np.testing.assert_array_equal(X_res.compute(), X[ref.sample_indices_])
        np.testing.assert_array_equal(np.asarray(y_res), y[ref.sample_indices_])
        frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(5)])
        frame["target"] = y
        ddf = dd.from_pandas(frame, npartitions=3)
        s2 = selector(rows=400)
        F_res, _ = s2.fit_resample(ddf, label="target")
        np.testing.assert_array_equal(s2.sample_indices_, ref.sample_indices_)
        np.testing.assert_array_equal(
            F_res.compute()[[f"f{j}" for j in range(5)]].to_numpy(), X[ref.sample_indices_]
        )
        with pytest.raises(ValueError, match="label column 'nope'"):
            selector().fit(ddf, label="nope")
        with pytest.raises(ValueError, match="labels but X has"):
            selector().fit(Xd, y[:-1])


def test_partition_defaults_are_the_cores():
    d = _native.partition_defaults()
    assert d["route_bits"] <= d["max_route_bits"] == 64
    assert d["min_partition_rows"] == 2


# -------------------------------------------------------------------------- CLI
def test_cli_shards_match_the_api(tmp_path, capsys):
    from sketchkit.cli import main

    X, y = blobs(2400, d=5, seed=9)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(3):
        s = slice(800 * i, 800 * (i + 1))
        np.save(shards / f"p{i}.npy", np.column_stack([X[s], y[s]]))
    ref = selector(rows=500).fit(X, y.astype(np.float64))
    out, idx = tmp_path / "kept.npy", tmp_path / "idx.npy"
    argv = ["select", str(shards), "--label", "5", "--reduction", "0.9", "--seed", "3"]
    argv += ["--partition-rows", "500", "-o", str(out), "--indices-out", str(idx)]
    assert main([*argv, "--no-progress"]) == 0
    np.testing.assert_array_equal(np.load(idx), ref.sample_indices_)
    kept = np.load(out)
    np.testing.assert_array_equal(kept[:, :5], X[ref.sample_indices_])
    np.testing.assert_array_equal(kept[:, 5], y[ref.sample_indices_])
    assert f"in {ref.n_partitions_} partitions" in capsys.readouterr().out
    # Errors: a bad scheduler, a non-attention method, a missing label.
    for extra, msg in [
        (["--scheduler", "bogus"], "scheduler"),
        (["--method", "cnn"], "attention"),
    ]:
        assert main([*argv[:-4], "-o", str(tmp_path / "x.npy"), *extra, "--no-progress"]) == 2
        assert msg in capsys.readouterr().err
    bad = ["select", str(shards), "--partition-rows", "500", "-o", str(tmp_path / "y.npy")]
    assert main(bad) == 2
    assert "--label" in capsys.readouterr().err
