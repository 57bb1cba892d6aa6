"""Embedding compression (sketchkit.compress): codes, round trips and exhaustive search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import sketchkit as sk
from sketchkit import _native
from sketchkit.compress import EmbeddingCompressor, _from_e4m3, _to_e4m3, format_tradeoff

QUANT = ["float16", "float8_e4m3", "int8", "binary", None]


def embeddings(n=400, d=48, seed=0):
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.arange(1, d + 1) ** 0.7
    centers = rng.standard_normal((8, d)) * spectrum
    X = centers[rng.integers(0, 8, n)] + 0.4 * rng.standard_normal((n, d)) * spectrum
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def exact_topk(X, Q, k):
    S = Q.astype(np.float64) @ X.T.astype(np.float64)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


# -- kernels against exhaustive references --------------------------------------------


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 20), d=st.integers(1, 40), seed=st.integers(0, 999))
def test_search_u8_is_exhaustive(n, m, d, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, d), dtype=np.uint8)
    lim = _native.search_u8_limit(d)
    q = rng.integers(-min(lim, 50), min(lim, 50) + 1, (m, d)).astype(np.int16)
    k = int(rng.integers(1, n + 1))
    idx, s = _native.search_u8(codes, q, k)
    full = q.astype(np.int64) @ codes.T.astype(np.int64)
    for i in range(m):
        ref = np.lexsort((np.arange(n), -full[i]))[:k]  # score desc, index asc
        assert idx[i].tolist() == ref.tolist()
        assert s[i].tolist() == full[i, ref].tolist()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 20), b=st.integers(1, 21), seed=st.integers(0, 999))
def test_search_hamming_is_exhaustive(n, m, b, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, b), dtype=np.uint8)
    q = rng.integers(0, 256, (m, b), dtype=np.uint8)
    k = int(rng.integers(1, n + 1))
    idx, dist = _native.search_hamming(codes, q, k)
    full = np.unpackbits(q[:, None, :] ^ codes[None, :, :], axis=2).sum(axis=2)
    for i in range(m):
        ref = np.lexsort((np.arange(n), full[i]))[:k]
        assert idx[i].tolist() == ref.tolist()
        assert dist[i].tolist() == full[i, ref].tolist()


def test_kernel_bad_input():
    codes = np.zeros((5, 4), np.uint8)
    with pytest.raises(ValueError, match="k"):
        _native.search_u8(codes, np.zeros((1, 4), np.int16), 6)
    with pytest.raises(ValueError, match="k"):
        _native.search_hamming(codes, np.zeros((1, 4), np.uint8), 0)
    with pytest.raises(ValueError, match="queries"):
        _native.search_u8(codes, np.zeros((1, 3), np.int16), 1)
    wide = np.zeros((2, 300), np.uint8)
    lim = _native.search_u8_limit(300)
    assert lim < 32767
    with pytest.raises(ValueError, match="queries"):
        _native.search_u8(wide, np.full((1, 300), lim + 1, np.int16), 1)
    with pytest.raises(TypeError, match="codes"):
        _native.search_u8(codes.astype(np.int8), np.zeros((1, 4), np.int16), 1)


def test_same_results_for_any_thread_count():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    q = rng.integers(-300, 300, (37, 32)).astype(np.int16)
    before = sk.get_num_threads()
    try:
        sk.set_num_threads(1)
        a = _native.search_u8(codes, q, 7)
        sk.set_num_threads(3)
        b = _native.search_u8(codes, q, 7)
    finally:
        sk.set_num_threads(before)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# -- quantizers -----------------------------------------------------------------------


def test_e4m3_codes_are_nearest_representable():
    table = _from_e4m3(np.arange(256, dtype=np.uint8))
    finite = np.isfinite(table)
    x = np.random.default_rng(0).standard_normal(5000).astype(np.float32) * 50
    got = _from_e4m3(_to_e4m3(x))
    best = np.abs(x[:, None] - table[None, finite]).min(axis=1)
    assert_allclose(np.abs(got - x), best, rtol=0, atol=1e-6)


@pytest.mark.parametrize("rotate", [True, False])
def test_round_trip_error_bounds(rotate):
    X = embeddings()
    for quant, bound in [("float16", 1e-3), ("float8_e4m3", 0.07), ("int8", None), (None, 1e-6)]:
        c = EmbeddingCompressor(reduce=None, quantize=quant, rotate=rotate, random_state=0).fit(X)
        Y = c.decode(c.encode(X))
        if quant == "int8":
            # per coordinate of the rotated space: |error| <= step / 2
            Z = c._forward(X, center=True)
            Zh = c._dequantize(c.encode(X))
            assert np.all(np.abs(Z - Zh) <= c.step_ / 2 * (1 + 1e-4) + 1e-7)
            bound = float(np.linalg.norm(c.step_) / 2) * 1.0001
            assert np.all(np.linalg.norm(Y - X, axis=1) <= bound + 1e-5)
        else:
            rel = np.linalg.norm(Y - X, axis=1) / np.linalg.norm(X, axis=1)
            assert rel.max() <= bound, (quant, rel.max())


def test_binary_decode_keeps_signs():
    X = embeddings()
    c = EmbeddingCompressor(reduce=None, quantize="binary", random_state=0).fit(X)
    Z = c._forward(X, center=True)
    Zh = c._dequantize(c.encode(X))
    assert np.array_equal(Zh > 0, Z > 0)
    assert c.encode(X).shape == (len(X), 6) and c.bytes_per_vector_ == 6


def test_full_rank_pca_round_trip_is_lossless_without_quantizer():
    pytest.importorskip("sklearn")
    X = embeddings(d=32)
    c = EmbeddingCompressor(reduce="pca", n_components=32, quantize=None, random_state=0).fit(X)
    assert_allclose(c.decode(c.encode(X)), X, atol=2e-5)


@pytest.mark.parametrize("quant", QUANT)
@pytest.mark.parametrize("reduce", [None, "rp"])
def test_search_matches_exhaustive_over_decoded_codes(quant, reduce):
    X = embeddings(n=500, d=64, seed=1)
    Q = embeddings(n=20, d=64, seed=2)
    c = EmbeddingCompressor(
        reduce=reduce, n_components=None if reduce is None else 40, quantize=quant, random_state=3
    ).fit(X)
    codes = c.encode(X)
    idx, scores = c.search(codes, Q, 10)
    assert idx.shape == (20, 10)
    if quant == "binary":
        qb = np.unpackbits(
            np.packbits(c._forward(Q, center=True) > 0, axis=1, bitorder="little"), axis=1
        )
        cb = np.unpackbits(codes, axis=1)
        dist = (qb[:, None, :] != cb[None, :, :]).sum(axis=2)
        ref = np.lexsort((np.tile(np.arange(500), (20, 1)), dist), axis=1)[:, :10]
        assert np.array_equal(idx, ref)
        return
    # the estimate <q, mean> + <QPq, dequant(c)>, exhaustively
    est = (Q.astype(np.float64) @ c.mean_)[:, None] + c._forward(Q, center=False).astype(
        np.float64
    ) @ c._dequantize(codes).T.astype(np.float64)
    top = np.take_along_axis(est, idx, axis=1)
    kth = np.sort(est, axis=1)[:, -10]
    assert np.all(top >= kth[:, None] - 1e-4)  # nothing better was missed
    assert_allclose(scores, top, atol=2e-3 if quant == "int8" else 1e-4)


def test_recall_is_high_for_fine_quantizers():
    X = embeddings(n=2000, d=64, seed=4)
    Q = embeddings(n=50, d=64, seed=5)
    truth = exact_topk(X, Q, 10)
    for quant, floor in [(None, 0.999), ("float16", 0.99), ("int8", 0.9)]:
        c = EmbeddingCompressor(reduce=None, quantize=quant, random_state=0).fit(X)
        idx, _ = c.search(c.encode(X), Q, 10)
        rec = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, truth, strict=True)])
        assert rec >= floor, (quant, rec)


def test_tradeoff_reports_every_setting():
    X = embeddings(n=300, d=32)
    rows = EmbeddingCompressor(random_state=0).tradeoff(
        X, X[:20], settings=[(None, None, None), (None, None, "binary"), ("rp", 16, "int8")]
    )
    assert [r.bytes_per_vector for r in rows] == [128, 4, 16]
    assert rows[0].recall_at_k == 1.0  # float32 codes: exact search
    assert 0 <= rows[1].recall_at_k < 1
    table = format_tradeoff(rows)
    assert table.count("\n") == 4 and "recall@10" in table


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        ({"reduce": "svd"}, "reduce"),
        ({"quantize": "int4"}, "quantize"),
        ({"reduce": "pca", "n_components": None}, "n_components"),
        ({"reduce": "rp", "n_components": 0}, "n_components"),
        ({"reduce": "rp", "n_components": 99}, "n_components"),
        ({"reduce": None, "n_components": 5}, "n_components"),
    ],
)
def test_bad_parameters_name_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        EmbeddingCompressor(**kwargs).fit(embeddings(d=16))


def test_bad_data():
    X = embeddings(d=16)
    c = EmbeddingCompressor(reduce=None, random_state=0)
    with pytest.raises(RuntimeError, match="fit"):
        c.encode(X)
    with pytest.raises(ValueError, match="X"):
        c.fit(X[:, :, None])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        c.fit(bad)
    c.fit(X)
    with pytest.raises(ValueError, match="X: has 8 features"):
        c.encode(X[:, :8])
    codes = c.encode(X)
    with pytest.raises(ValueError, match="codes"):
        c.search(codes.astype(np.int16), X[:2], 3)
    with pytest.raises(ValueError, match="queries"):
        c.search(codes, X[:2, :8], 3)
    with pytest.raises(ValueError, match="k"):
        c.search(codes, X[:2], len(X) + 1)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        c.fit(np.array([["a"]]))
