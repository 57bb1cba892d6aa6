"""Partitioned selection on Dask collections (see :class:`PartitionedSelector`).

Routing is a ``map_blocks`` (a key per row, computed by the core on each block
alone); the keys and labels come back to the client (``O(n)`` small integers), which
plans the partitions and splits the quotas. Partitions are contiguous ranges of the
(key, row) order, so the graph carries only where each one starts (a key and a row
per partition): one task per block routes its rows again (the keys are a pure
function of the row, cheaper to recompute than to hold or ship), finds their
partitions and splits the rows, and one task per
partition gathers its pieces (in block order, so in ascending row order) with its
rows' class codes (the graph's only per-row payload, in the narrowest unsigned type)
and selects. The result equals the local partitioned selection bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _native
from .._validation import as_array
from ._base import class_quotas, encode_labels
from ._partition_select import PartResult, _block_rows, select_partition

__all__ = ["dask_fit"]


def _route_block(block: Any, bits: int, seed: int, center: Any) -> np.ndarray:
    return _native.route_keys(_block_rows(block), bits, seed, center)


def partition_of(
    keys: np.ndarray, rows: np.ndarray, start_keys: np.ndarray, start_rows: np.ndarray
) -> np.ndarray:
    """Partition of each row, given where partitions 1, 2, ... start in (key, row) order.

    Partition ``p`` holds the rows from ``(start_keys[p-1], start_rows[p-1])`` (inclusive)
    to the next start, so a row's partition is the number of starts at or before its
    ``(key, row)``. Each pair is compared as one integer, the key's rank among the
    distinct start keys times a stride above every row, plus one more than the row
    when the key is a start key (zero otherwise, so a key between two start keys sorts
    before every start of the larger one): one binary search per row, whatever the
    number of partitions.
    """
    distinct = np.unique(start_keys)
    if distinct.shape[0] == 0:
        return np.zeros(keys.shape[0], dtype=np.intp)
    stride = int(max(rows.max(initial=0), start_rows.max(initial=0))) + 2
    rank = np.searchsorted(distinct, keys, side="left")
    is_start = distinct[np.minimum(rank, distinct.shape[0] - 1)] == keys
    at = rank.astype(np.int64) * stride + np.where(is_start, rows.astype(np.int64) + 1, 0)
    starts = np.searchsorted(distinct, start_keys).astype(np.int64) * stride + start_rows + 1
    return np.searchsorted(starts, at, side="right")


def partition_starts(keys: np.ndarray, members: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Where partitions 1, 2, ... start in (key, row) order: (keys, rows).

    Partitions are contiguous ranges of that order, so each one starts at its smallest
    key and, among its rows of that key, the smallest row (``members[p]`` lists
    partition ``p``'s rows in ascending order, so ``argmin`` finds it).
    """
    firsts = np.array([m[np.argmin(keys[m])] for m in members[1:]], dtype=np.int64)
    return keys[firsts], firsts


def _split_block(
    block: Any,
    route: tuple[int, int, Any],
    row0: int,
    start_keys: np.ndarray,
    start_rows: np.ndarray,
) -> dict[int, Any]:
    """The rows of a block per partition (ascending rows within each)."""
    keys = _route_block(block, *route)
    rows = np.arange(row0, row0 + keys.shape[0], dtype=np.int64)
    part = partition_of(keys, rows, start_keys, start_rows)
    order = np.argsort(part, kind="stable")
    ps = part[order]
    cuts = np.flatnonzero(np.diff(ps)) + 1
    out = {}
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ps)], strict=True):
        out[int(ps[lo])] = np.asarray(block[order[lo:hi]])
    return out


def _piece(split: dict[int, Any], p: int) -> Any:
    return split[p]


def _select_task(
    params: dict[str, Any],
    codes: np.ndarray,
    n_classes: int,
    quota: Any,
    *pieces: Any,
) -> PartResult:
    rows = _block_rows(np.concatenate(pieces))
    # Arguments unpickled on a worker may be unaligned: aligned copies.
    codes = np.require(codes, np.uint32, ["C", "A"])
    return select_partition(params, rows, codes, n_classes, quota)


def _take_frame(df: Any, pos: np.ndarray) -> Any:
    return df.iloc[pos]


def dask_fit(sel: Any, X: Any, y: Any, label: Any, resample: bool = False) -> Any:
    """Fit ``sel`` (a :class:`PartitionedSelector`) on a Dask array or DataFrame."""
    import dask
    import dask.array as da

    frame = hasattr(X, "columns")
    if frame:
        if label is None:
            raise ValueError("label: a Dask DataFrame needs the name of its label column")
        if label not in X.columns:
            raise ValueError(f"label column {label!r} is not in the DataFrame {list(X.columns)}")
        feats = [c for c in X.columns if c != label]
        Xa = X[feats].to_dask_array(lengths=True)
        y_np = np.asarray(X[label].compute())
    else:
        if not isinstance(X, da.Array):
            raise TypeError(f"X: expected a dask.array.Array or DataFrame, got {type(X).__name__}")
        if label is not None:
            raise ValueError("label applies to DataFrames; give y for Dask arrays")
        if y is None:
            raise ValueError("y is required for a Dask array (the labels of the rows)")
        Xa = X
        y_np = np.asarray(y.compute() if hasattr(y, "compute") else as_array(y, "y")).ravel()
    if Xa.ndim != 2:
        raise ValueError(f"X must be 2-D, got {Xa.ndim} dimensions")
    if any(np.isnan(c) for c in Xa.chunks[0]):
        Xa = Xa.compute_chunk_sizes()
    Xa = Xa.rechunk({1: -1})
    n = int(Xa.shape[0])
    params = sel._params()
    seed = int(params["random_state"])
    bits = sel._bits()
    sel._checked_rows()
    sel.classes_, codes = encode_labels(y_np, n)
    n_classes = len(sel.classes_)
    sel.n_features_in_ = int(Xa.shape[1])
    reduction = params["reduction"]
    if reduction is not None:
        class_quotas(codes, n_classes, reduction)

    def take(idx: np.ndarray) -> Any:
        return Xa[idx].compute()

    center = sel._center(n, seed, take)
    c = None if center is None else [float(v) for v in center]
    keys = Xa.map_blocks(
        _route_block, bits, seed, c, drop_axis=1, dtype=np.uint64, meta=np.empty(0, np.uint64)
    ).compute()
    # Results gathered from workers may be unaligned: an aligned copy.
    keys = np.require(keys, np.uint64, ["C", "A"])
    part, n_parts, members, counts, shares = sel._plan(keys, codes, n_classes, reduction)
    start_keys, start_rows = partition_starts(keys, members)
    narrow = np.min_scalar_type(max(n_classes - 1, 0))  # the codes' narrowest uint
    blocks = Xa.to_delayed().ravel()
    starts = np.concatenate([[0], np.cumsum(Xa.chunks[0])]).astype(np.int64)
    touching: list[list[Any]] = [[] for _ in range(n_parts)]
    for b, blk in enumerate(blocks):
        pb = part[starts[b] : starts[b + 1]]
        if pb.shape[0] == 0:
            continue
        split = dask.delayed(_split_block, pure=True)(
            blk, (bits, seed, c), int(starts[b]), start_keys, start_rows
        )
        for p in np.unique(pb):
            touching[int(p)].append(dask.delayed(_piece, pure=True)(split, int(p)))
    tasks = [
        dask.delayed(_select_task, pure=True)(
            params,
            codes[members[p]].astype(narrow),
            n_classes,
            None if shares is None else shares[p],
            *touching[p],
        )
        for p in range(n_parts)
    ]
    results = list(dask.compute(*tasks))
    sel._finish(results, members, codes, counts, part, shares, center, n)
    if not resample:
        return sel
    idx = sel.sample_indices_
    if frame:
        import dask.dataframe as dd

        lengths = np.asarray(Xa.chunks[0], dtype=np.int64)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        parts = []
        for i, dpart in enumerate(X.to_delayed()):
            lo, hi = np.searchsorted(idx, [bounds[i], bounds[i + 1]])
            parts.append(dask.delayed(_take_frame)(dpart, idx[lo:hi] - bounds[i]))
        return dd.from_delayed(parts, meta=X._meta), y_np[idx]
    y_res = y[idx] if hasattr(y, "compute") else as_array(y, "y")[idx]
    return Xa[idx], y_res
