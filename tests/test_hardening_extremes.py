"""Hardening, part two (issue 17): extreme magnitudes, Ctrl-C during long native calls,
and the small inconsistencies the adversarial run found (``fwht`` axis type, GPU empty
input, ``rounds`` documentation, pickling a fitted ``HierarchicalHasher``).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import sketchkit as sk
from sketchkit import selection as sel


def _labelled(n: int = 240, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian classes (so ENN/CNN have work to do)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int64)
    X = rng.standard_normal((n, d)) + 1.2 * y[:, None]
    return X, y


# --------------------------------------------------------------------------- magnitudes
# Power-of-two factors: exact in floating point, so every neighbour order and selection
# must be the one of X itself. 2**600 and 2**-600 are beyond 1e±154 for float64 (squares
# overflow or underflow there); 2**70 and 2**-70 are beyond 1e±19 for float32.
F64_EXPONENTS = [600, -600, 1000, -1000]
F32_EXPONENTS = [70, -70, 100, -100]


def _cases() -> list[tuple[type, int]]:
    return [(np.float64, e) for e in F64_EXPONENTS] + [(np.float32, e) for e in F32_EXPONENTS]


def _selectors() -> list[tuple[str, object]]:
    return [
        # The score-ordered cover: its graph, scores and selection are exact under
        # power-of-two scaling and equal for CSR input. (strategy="prototypes" runs
        # k-means on the rows, whose sums round differently for CSR input.)
        ("gas", sel.GraphAttentionSelector(reduction=0.7, strategy="cover", random_state=0)),
        (
            "gas-minibatch",
            sel.GraphAttentionSelector(
                reduction=0.7, graph="minibatch", strategy="cover", random_state=0
            ),
        ),
        ("enn", sel.EditedNearestNeighbours()),
        ("cnn", sel.CondensedNearestNeighbour(random_state=0)),
        ("drop3", sel.DROP3()),
        ("lsh-is", sel.LSHInstanceSelector(random_state=0)),
    ]


@pytest.mark.parametrize(("dtype", "exp"), _cases())
@pytest.mark.parametrize(
    ("name", "selector"), _selectors(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_selection_is_scale_invariant_at_extreme_magnitudes(name, selector, dtype, exp):
    X, y = _labelled()
    X = X.astype(dtype)
    ref = selector.fit(X, y).sample_indices_.copy()
    ref_scores = getattr(selector, "scores_", None)
    Xs = (X.astype(np.float64) * 2.0**exp).astype(dtype)
    assert np.all(np.isfinite(Xs)) and np.count_nonzero(Xs) == np.count_nonzero(X)
    got = selector.fit(Xs, y).sample_indices_
    assert_array_equal(got, ref)
    if ref_scores is not None:
        assert np.all(np.isfinite(selector.scores_))
        assert_array_equal(selector.scores_, ref_scores)
    # CSR input takes the same path.
    got_csr = selector.fit(sp.csr_matrix(Xs), y).sample_indices_
    assert_array_equal(got_csr, ref)


@pytest.mark.parametrize(("dtype", "exp"), _cases())
def test_knn_graphs_at_extreme_magnitudes_are_the_scaled_graphs(dtype, exp):
    X, _ = _labelled(120)
    X = X.astype(dtype)
    Xs = (X.astype(np.float64) * 2.0**exp).astype(dtype)
    for build in (
        lambda A: sel.exact_kneighbors_graph(A, 5),
        lambda A: sel.hash_kneighbors_graph(A, 5, random_state=0),
        lambda A: sel.minibatch_kneighbors_graph(A, n_neighbors=5, batch_size=50, random_state=0),
    ):
        g, gs = build(X), build(Xs)
        assert_array_equal(gs.indptr, g.indptr)
        assert_array_equal(gs.indices, g.indices)
        # Distances are reported in the input's units (exact: a power of two).
        assert np.all(np.isfinite(gs.data))
        assert_array_equal(gs.data, g.data * 2.0**exp)
    g = sel.exact_kneighbors_graph(Xs, 5)
    assert sel.graph_recall(Xs, g, 5, sample=50) == 1.0
    h = sel.HierarchicalHasher("e2lsh", random_state=0).fit(X)
    hs = sel.HierarchicalHasher("e2lsh", random_state=0).fit(Xs)
    assert_array_equal(hs.bucket_ids_, h.bucket_ids_)
    assert hs.scale_ == h.scale_ * 2.0**exp
    assert_array_equal(hs.codes(Xs), h.codes(X))


def test_attention_on_huge_distances_is_finite():
    X, y = _labelled()

    def gas():
        return sel.GraphAttentionSelector(reduction=0.5, strategy="cover", random_state=0)

    g = gas().fit(X, y)
    gb = gas().fit(X * 1e200, y)
    assert np.all(np.isfinite(gb.scores_))
    assert_array_equal(gb.sample_indices_, g.sample_indices_)
    gt = gas().fit(X * 1e-200, y)
    # the default strategy (k-means prototypes) stays finite at these magnitudes too
    gp = sel.GraphAttentionSelector(reduction=0.5, random_state=0).fit(X * 1e200, y)
    assert np.all(np.isfinite(gp.sample_weight_)) and len(gp.sample_indices_) > 0
    assert np.all(np.isfinite(gt.scores_))
    assert_array_equal(gt.sample_indices_, g.sample_indices_)


def test_very_sparse_float32_with_tiny_density_is_finite_or_refused():
    # The entries are ±1/sqrt(density * k): for density * k below 2**-250 they no longer
    # fit in float32 (inf, and 0 * inf = NaN where the projection is 0). Such densities
    # are refused by the core's rule; every accepted one projects finite float32 values
    # equal to the float64 ones.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 300))
    k = 16
    for density in (1e-30, 1e-45, 1e-70, 2.0**-250 / k):
        S = sk.very_sparse(k, 300, density=density, seed=3)
        y64 = S.project(X)
        y32 = S.project(X.astype(np.float32))
        assert np.all(np.isfinite(y32)), density
        np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=0)
    for density in (2.0**-251 / k, 1e-80, 1e-200, 5e-324):
        with pytest.raises(ValueError, match="density"):
            sk.very_sparse(k, 300, density=density, seed=3)


# --------------------------------------------------------------------------- Ctrl-C
_LONG_CALL = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    from sketchkit import selection as sel
    # A shell that starts a job in the background (CI runners do) leaves SIGINT
    # ignored, and Python then installs no handler: install Python's own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((%(n)d, 64))
    y = (rng.random(%(n)d) < 0.5).astype(int)
    what = sys.argv[1]
    print("ready", flush=True)
    t = time.perf_counter()
    try:
        if what == "enn":
            sel.EditedNearestNeighbours().fit(X, y)
        elif what == "cnn":
            sel.CondensedNearestNeighbour(random_state=0).fit(X, y)
        elif what == "graph":
            sel.exact_kneighbors_graph(X, 10)
        else:  # linalg: one pass over A per product, many products
            import scipy.sparse as sp
            import scipy.sparse.linalg as spla
            from sketchkit import linalg
            A = {"svd": X, "svd_csr": sp.csr_matrix(X), "svd_op": spla.aslinearoperator(X)}
            linalg.randomized_svd(A[what], 8, n_iter=10**6, random_state=0)
    except KeyboardInterrupt:
        print("interrupted %%.2f" %% (time.perf_counter() - t), flush=True)
        sys.exit(3)
    print("finished", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("what", ["enn", "cnn", "graph", "svd", "svd_csr", "svd_op"])
def test_ctrl_c_interrupts_long_native_calls(what):
    code = _LONG_CALL % {"n": 60_000}
    env = dict(os.environ, SKETCHKIT_NUM_THREADS="2")
    p = subprocess.Popen(
        [sys.executable, "-c", code, what],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        sent = time.perf_counter()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        waited = time.perf_counter() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3, (out, err)
    assert "interrupted" in out
    assert waited < 5.0, waited


def test_cancellable_calls_give_the_same_result():
    # The signal watcher changes nothing when no signal arrives: the exact graph is
    # brute force's, and repeated calls give the same bits.
    X, y = _labelled(300)
    a = sel.EditedNearestNeighbours().fit(X, y).sample_indices_
    b = sel.EditedNearestNeighbours().fit(X, y).sample_indices_
    assert_array_equal(a, b)
    g1 = sel.exact_kneighbors_graph(X, 7)
    g2 = sel.exact_kneighbors_graph(X.copy(), 7)
    assert_array_equal(g1.indices, g2.indices)
    assert_array_equal(g1.data, g2.data)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    want = np.argsort(D, axis=1, kind="stable")[:, :7]
    assert_array_equal(g1.indices.reshape(300, 7), want)


# --------------------------------------------------------------------------- small ones
@pytest.mark.parametrize("axis", [0.0, False, True, -1.0])
def test_fwht_inplace_1d_fast_path_rejects_non_int_axis(axis):
    x = np.arange(8, dtype=np.float64)
    before = x.copy()
    with pytest.raises(TypeError, match="axis"):
        sk.fwht(x, axis=axis, inplace=True)
    assert_array_equal(x, before)  # nothing was transformed


def test_gpu_input_empty_is_a_value_error_like_the_cpu():
    from sketchkit._gpu import gpu_input

    S = sk.gaussian(4, 8)
    with pytest.raises(ValueError, match="empty"):
        S.project(np.zeros((0, 8)))
    # The GPU path applies the same rule before any device work.
    with pytest.raises(ValueError, match="empty"):
        gpu_input(np.zeros((0, 8), np.float32), "X")
    if sk.gpu_available():
        with pytest.raises(ValueError, match="empty"):
            S.project(np.zeros((0, 8), np.float32), device="gpu")


@pytest.mark.skipif(not sk.gpu_available(), reason="no GPU adapter")
def test_srht_beyond_the_padded_dimension_on_the_gpu_gives_the_cpu_bits():
    X = np.random.default_rng(0).standard_normal((5, 100)).astype(np.float32)
    S = sk.srht(129, 100, seed=1)
    assert S.padded_dim == 256
    assert_array_equal(S.project(X, device="gpu"), S.project(X))


def test_rounds_limit_is_documented_and_enforced():
    assert "r <= 64" in (sk.HadamardRotation.__doc__ or "")
    assert "r <= 64" in (sk.hadamard_rotation.__doc__ or "")
    sk.hadamard_rotation(16, rounds=64)
    with pytest.raises(ValueError, match="rounds"):
        sk.hadamard_rotation(16, rounds=65)


@pytest.mark.parametrize("family", ["simhash", "e2lsh", "flyhash"])
def test_fitted_hierarchical_hasher_pickles(family):
    X, _ = _labelled(300, 10)
    h = sel.HierarchicalHasher(family, random_state=4).fit(X)
    h2 = pickle.loads(pickle.dumps(h))
    for attr in ("levels_", "bucket_ids_", "bucket_sizes_", "window_sizes_"):
        assert_array_equal(getattr(h2, attr), getattr(h, attr))
    assert h2.scale_ == h.scale_
    assert_array_equal(h2.level_ids(2), h.level_ids(2))
    assert_array_equal(h2.codes(X, 1), h.codes(X, 1))
    g, g2 = h.kneighbors_graph(X, 6), h2.kneighbors_graph(X, 6)
    assert_array_equal(g2.indices, g.indices)
    assert_array_equal(g2.data, g.data)
    # An unfitted hasher pickles too.
    u = pickle.loads(pickle.dumps(sel.HierarchicalHasher(family)))
    assert u.family == family


def test_tampered_hasher_state_is_rejected():
    X, _ = _labelled(100, 5)
    h = sel.HierarchicalHasher(random_state=0).fit(X)
    state = list(h._tables.state())
    orders = state[3].copy()
    orders[0, 0] = orders[0, 1]  # not a permutation
    bad = state.copy()
    bad[3] = orders
    with pytest.raises(ValueError, match="state"):
        sk._native.Hasher.from_state(*bad)
    lcps = state[4].copy()
    lcps[0, 5] = 1000
    bad = state.copy()
    bad[4] = lcps
    with pytest.raises(ValueError, match="state"):
        sk._native.Hasher.from_state(*bad)
