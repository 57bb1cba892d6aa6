"""One partition's graph-attention selection and the merge of partitions' results
(shared by the local and the Dask paths of :class:`PartitionedSelector`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _native
from ._attention import GraphAttentionSelector
from ._base import native_rows

__all__ = ["PartResult", "merge_selections", "pool_choice", "select_partition"]

#: One partition's result: kept local indices and weights, the self-tuning's
#: candidates ``(boundary_share, noise_threshold, hits, judged, accuracy)`` (empty
#: when nothing was chosen) and every candidate's ``(indices, weights)``.
PartResult = tuple[
    np.ndarray,
    np.ndarray,
    list[tuple[float, float, int, int, float]],
    list[tuple[np.ndarray, np.ndarray]],
]


def _block_rows(Xb: Any) -> Any:
    """A block as the compiled functions take it."""
    if sp.issparse(Xb):
        return native_rows(Xb)[1]
    # Arrays unpickled from another process may be unaligned: aligned copies then.
    return native_rows(np.require(np.asarray(Xb), requirements=["C", "A"]))[1]


# ------------------------------------------------------------------- per partition
def select_partition(
    params: dict[str, Any],
    rows: Any,
    codes: np.ndarray,
    n_classes: int,
    quota: np.ndarray | None,
) -> PartResult:
    """Graph-attention selection of one partition with explicit per-class quotas.

    ``params`` are the :class:`GraphAttentionSelector`'s parameters (its seed fixed);
    ``rows`` the partition's rows in ascending global order; ``quota`` its share of
    each class (None: each class's automatic size). Returns the kept local indices
    (ascending) and their weights (a class's weights sum to its rows here), and,
    when the selector tunes itself, every candidate's figures and selection, so
    that :func:`merge_selections` can apply one choice to all partitions. A class
    whose share is 0 keeps nothing.
    """
    n = codes.shape[0]
    if n == 0:
        return np.empty(0, np.int64), np.empty(0), [], []
    if n == 1:
        keep = quota is None or quota[codes[0]] > 0
        if keep:
            return np.zeros(1, np.int64), np.ones(1), [], []
        return np.empty(0, np.int64), np.empty(0), [], []
    sel = GraphAttentionSelector(**params)
    q = None if quota is None else [int(v) for v in quota]
    idx = np.asarray(sel._select_quotas(rows, codes, n_classes, q, keep_all=True), np.int64)
    weights = np.asarray(sel.sample_weight_, dtype=np.float64)

    def shared(i: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The core keeps at least one row of every class present; a zero share
        # keeps none, so that the totals are exactly the global quotas.
        if quota is None:
            return i, w
        ok = np.asarray(quota)[codes[i]] > 0
        return i[ok], w[ok]

    alternatives = [shared(np.asarray(i, np.int64), np.asarray(w)) for i, w in sel._alternatives]
    return (*shared(idx, weights), list(sel._candidates), alternatives)


def pool_choice(
    results: list[PartResult],
) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[float, float] | None]:
    """Every partition's selection under one self-tuning choice: the candidate with
    the best held-out accuracy pooled over the partitions that tuned (the core's
    ``pooled_choice``); partitions that did not tune keep their own. Returns the
    ``(indices, weights)`` per partition and the chosen ``(boundary_share,
    noise_threshold)`` (None when no partition tuned)."""
    tuned = [r[2] for r in results if r[2]]
    if not tuned:
        return [(r[0], r[1]) for r in results], None
    j = _native.attention_pooled_choice([[c[:4] for c in part] for part in tuned])
    picked = [r[3][j] if r[2] else (r[0], r[1]) for r in results]
    return picked, (tuned[0][j][0], tuned[0][j][1])


def merge_selections(
    results: list[tuple[np.ndarray, np.ndarray]],
    members: list[np.ndarray],
    codes: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Global indices (ascending) and weights of per-partition selections.

    Each class's weights are rescaled so that they sum to its size: a partition's
    weights of class ``c`` sum to its rows of ``c``, and partitions that keep no row
    of ``c`` pass theirs on to the others.
    """
    n_classes = counts.shape[1]
    idx = np.concatenate([m[r[0]] for r, m in zip(results, members, strict=True)])
    w = np.concatenate([r[1] for r in results])
    covered = np.zeros(n_classes, dtype=np.int64)
    for p, (r, m) in enumerate(zip(results, members, strict=True)):
        kept = np.unique(codes[m[r[0]]])
        covered[kept] += counts[p, kept]
    total = counts.sum(axis=0)
    factor = np.where(covered > 0, total / np.maximum(covered, 1), 1.0)
    w = w * factor[codes[idx]]
    order = np.argsort(idx, kind="stable")
    return idx[order], w[order]
