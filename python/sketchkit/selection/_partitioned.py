"""Partitioned instance selection: graph-attention selection on data larger than memory.

Rows are routed to partitions by a seeded hash (neighbours land together), the
per-class quotas are split exactly over the partitions, each partition is selected
on its own, and the selections are merged. See :class:`PartitionedSelector`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _native
from .._progress import progress
from .._validation import as_array, as_dense, as_int, check_choice
from ._attention import GraphAttentionSelector
from ._base import BaseSelector, class_quotas, encode_labels, native_rows
from ._partition_select import (
    PartResult,
    _block_rows,
    merge_selections,
    pool_choice,
    select_partition,
)

__all__ = ["PartitionedSelector", "route_keys", "split_quotas"]

#: The core's partitioning constants (``select::partition``).
PARTITION_DEFAULTS: dict[str, int] = _native.partition_defaults()

#: Rows read per block when routing in-memory or memory-mapped arrays.
_BLOCK_ROWS = 1 << 16


# --------------------------------------------------------------------------- core
def route_keys(X: Any, route_bits: int, seed: int, center: Any = None) -> np.ndarray:
    r"""Routing keys of the rows of ``X`` (any block of rows, on its own).

    Bit :math:`t` (most significant first) of row :math:`x`'s key is
    :math:`[\langle g_t, x\rangle > \langle g_t, \mu\rangle]` for the rows
    :math:`g_t` of a Gaussian operator seeded from ``seed`` and the centre
    :math:`\mu` (the origin when ``center`` is None).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_rows, n_features)
    route_bits : int
        Key length, in ``[1, 64]``.
    seed : int
        The selection's seed.
    center : array-like of shape (n_features,) or None

    Returns
    -------
    ndarray of uint64, shape (n_rows,)
    """
    _, rows = native_rows(X)
    c = None if center is None else [float(v) for v in np.asarray(center, dtype=np.float64)]
    return _native.route_keys(rows, as_int(route_bits, "route_bits"), int(seed), c)


def split_quotas(quotas: Any, counts: Any) -> np.ndarray:
    """Split per-class quotas over partitions by the largest-remainder rule.

    Partition :math:`p` gets :math:`\\lfloor q_c n_{pc} / n_c \\rfloor` rows of class
    :math:`c`; the rows left over go one each to the partitions with the largest
    remainders :math:`q_c n_{pc} \\bmod n_c` (ties: the lower partition index). The
    shares of a class sum to its quota exactly and never exceed :math:`n_{pc}`.

    Parameters
    ----------
    quotas : sequence of int, length n_classes
    counts : array-like of int, shape (n_partitions, n_classes)
        Rows of each class in each partition.

    Returns
    -------
    ndarray of int64, shape (n_partitions, n_classes)
    """
    c = np.ascontiguousarray(np.asarray(counts), dtype=np.int64)
    if c.ndim != 2:
        raise ValueError(f"counts must be 2-D (n_partitions, n_classes), got shape {c.shape}")
    return _native.split_quotas([as_int(q, "quotas") for q in quotas], c)


# ------------------------------------------------------------------------ sources
class _ArraySource:
    """Rows held in memory or memory-mapped (random access)."""

    random_access = True

    def __init__(self, X: Any) -> None:
        self.X = X
        self.n = int(X.shape[0])
        self.d = int(X.shape[1])

    def blocks(self, block_rows: int) -> Iterator[tuple[int, Any]]:
        for a in range(0, self.n, block_rows):
            yield a, self.X[a : min(a + block_rows, self.n)]

    def take(self, idx: np.ndarray) -> Any:
        return self.X[idx]


def _shard_files(source: Any) -> list[str]:
    """The shard files of a directory, a glob or a list of paths
    (:func:`sketchkit.stream.list_shards`), errors naming ``X``."""
    from ..stream import list_shards

    try:
        return list_shards(source)
    except ValueError as exc:
        raise ValueError("X: " + str(exc).removeprefix("source: ")) from exc


def _read_shard(path: str, label: Any, labels_only: bool = False) -> tuple[Any, np.ndarray]:
    """``(X, y)`` of one shard: ``label`` is a column index (.npy) or name (.parquet)."""
    if path.lower().endswith(".npy"):
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        if arr.ndim != 2:
            raise ValueError(f"{path!r}: a .npy shard must be 2-D, got shape {arr.shape}")
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
            raise ValueError(f"label must be a column index for .npy shards, got {label!r}")
        col = int(label)
        if not -arr.shape[1] <= col < arr.shape[1]:
            raise ValueError(f"label {col} is out of range for {arr.shape[1]} columns")
        col %= arr.shape[1]
        y = np.asarray(arr[:, col])
        if labels_only:
            return None, y
        keep = [c for c in range(arr.shape[1]) if c != col]
        return np.ascontiguousarray(arr[:, keep]), y
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    if label not in names:
        raise ValueError(f"label column {label!r} is not in {path!r} (columns {names})")
    if labels_only:
        t = pq.read_table(path, columns=[label])
        return None, np.asarray(t.column(label).to_numpy())
    t = pq.read_table(path)
    feats = [c for c in names if c != label]
    X = np.column_stack([t.column(c).to_numpy() for c in feats])
    return X, np.asarray(t.column(label).to_numpy())


class _ShardSource:
    """``.npy``/``.parquet`` shards with a label column (sequential access)."""

    random_access = False

    def __init__(self, files: list[str], label: Any) -> None:
        if label is None:
            raise ValueError("label: shards need the label column (a name or an index)")
        self.files = files
        self.label = label
        ys = [_read_shard(f, label, labels_only=True)[1] for f in files]
        self.sizes = [y.shape[0] for y in ys]
        self.y = np.concatenate(ys) if ys else np.empty(0)
        self.n = int(self.y.shape[0])
        first = files[0]
        if first.lower().endswith(".npy"):
            self.d = int(np.load(first, mmap_mode="r", allow_pickle=False).shape[1]) - 1
        else:
            import pyarrow.parquet as pq

            self.d = len(pq.read_schema(first).names) - 1

    def blocks(self, block_rows: int) -> Iterator[tuple[int, Any]]:
        start = 0
        for f in self.files:
            X, _ = _read_shard(f, self.label)
            yield start, X
            start += X.shape[0]

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` (ascending), gathered shard by shard."""
        out = []
        bounds = np.concatenate([[0], np.cumsum(self.sizes)])
        for s, f in enumerate(self.files):
            lo, hi = np.searchsorted(idx, [bounds[s], bounds[s + 1]])
            if hi > lo:
                X, _ = _read_shard(f, self.label)
                out.append(np.asarray(X[idx[lo:hi] - bounds[s]]))
        if not out:
            return np.empty((0, self.d))
        return np.concatenate(out)


class _SpilledBlocks:
    """A one-shot iterator of ``(X_block, y_block)`` written to a temporary directory
    as it is read once, then read back as often as needed."""

    random_access = False

    def __init__(self, it: Iterable[Any], tmp: str) -> None:
        self.files: list[str] = []
        ys = []
        self.d = -1
        for b, item in enumerate(it):
            try:
                Xb, yb = item
            except (TypeError, ValueError) as exc:
                raise TypeError("X: an iterator must yield (X_block, y_block) pairs") from exc
            Xb = as_dense(Xb, "X")
            if Xb.ndim != 2:
                raise ValueError(f"X blocks must be 2-D, got shape {Xb.shape}")
            if self.d >= 0 and Xb.shape[1] != self.d:
                raise ValueError(f"X blocks have {Xb.shape[1]} and {self.d} features")
            yb = as_array(yb, "y").ravel()
            if yb.shape[0] != Xb.shape[0]:
                raise ValueError(
                    f"y block {b} has {yb.shape[0]} labels but X block has {Xb.shape[0]} rows"
                )
            self.d = int(Xb.shape[1])
            f = os.path.join(tmp, f"block{b:08d}.npy")
            np.save(f, Xb)
            self.files.append(f)
            ys.append(yb)
        if not ys:
            raise ValueError("X: the iterator yielded no blocks")
        self.y = np.concatenate(ys)
        self.sizes = [y.shape[0] for y in ys]
        self.n = int(self.y.shape[0])

    def blocks(self, block_rows: int) -> Iterator[tuple[int, Any]]:
        start = 0
        for f in self.files:
            X = np.load(f, mmap_mode="r")
            yield start, X
            start += X.shape[0]

    def take(self, idx: np.ndarray) -> np.ndarray:
        bounds = np.concatenate([[0], np.cumsum(self.sizes)])
        out = []
        for s, f in enumerate(self.files):
            lo, hi = np.searchsorted(idx, [bounds[s], bounds[s + 1]])
            if hi > lo:
                out.append(np.asarray(np.load(f, mmap_mode="r")[idx[lo:hi] - bounds[s]]))
        return np.concatenate(out)


# ------------------------------------------------------------------------ selector
class PartitionedSelector(BaseSelector):
    r"""Graph-attention instance selection on data larger than memory.

    1. **Routing.** Row :math:`x` gets the key of ``route_bits`` SimHash bits
       :math:`[\langle g_t, x\rangle > \langle g_t, \mu\rangle]` for a Gaussian
       operator seeded from the selector's seed; :math:`\mu` is the mean of a seeded
       uniform sample of at most 4096 rows (``center="sample"``), the origin
       (``center=None``), or a vector you fix. A key depends only on the row, the
       seed and :math:`\mu`, so any block of rows is routed on its own.
    2. **Partitions.** The rows, sorted by (key, row index), are cut into
       :math:`\lceil n / \text{partition\_rows} \rceil` consecutive ranges of
       equal size (sizes differ by at most one): the fewest partitions the bound
       allows, each a contiguous range of the key order (rows sharing long key
       prefixes, hence nearby rows, sit together).
    3. **Quotas.** Class :math:`c`'s quota :math:`q_c` is the in-memory one (the
       selector's ``reduction``, rounded by the core's rule), split over partitions
       by the largest-remainder rule (:func:`split_quotas`): partition :math:`p`
       keeps :math:`\lfloor q_c n_{pc}/n_c \rfloor` or one more, and the shares sum
       to :math:`q_c` exactly. With ``reduction=None`` every partition keeps each
       class's automatic size.
    4. **Selection.** Each partition runs the selector (same parameters and seed) on
       its rows, in ascending row order; the kept rows are merged (global indices,
       weights rescaled so that each class's weights sum to its size).

    The result depends only on the data, the labels and the parameters: not on the
    order in which partitions are processed, the threads, the workers, or the way the
    rows are stored (an array, a memory map, ``.npy``/``.parquet`` shards, a block
    iterator, a Dask array).

    Parameters
    ----------
    selector : GraphAttentionSelector or None, default=None
        The selection run in every partition (``None``: the defaults). Its
        ``random_state`` is resolved once; every partition uses that seed.
    partition_rows : int, default=100000
        Most rows in a partition (at least 2): the memory bound of a partition's
        selection.
    route_bits : int or None, default=None
        Routing key length in ``[1, 64]`` (``None``: 32).
    center : {"sample"}, array-like of shape (n_features,) or None, default="sample"
        The routing centre :math:`\mu`: ``"sample"`` is the mean of the rows
        ``center_sample(n, seed)`` (a seeded uniform sample of at most 4096 rows,
        summed in row order by the core, so every reader of the same rows gets the
        same bits; out-of-core sources pay one more read for it); an array fixes it;
        ``None`` routes by the signs of the raw projections (for centred data).
    n_jobs : int or None, default=None
        Partitions selected concurrently (threads; ``None``: one at a time; the core
        parallelizes inside each).
    spill_dir : str or None, default=None
        Where partitions of sequential sources (shards, iterators) are written
        between the passes (a temporary directory inside it, removed afterwards;
        ``None``: the system's temporary directory).
    verbose : bool, default=False
        A ``tqdm`` bar over the partitions (see :mod:`sketchkit._progress`).

    Attributes
    ----------
    sample_indices_ : ndarray of int64
        Kept rows, ascending.
    sample_weight_ : ndarray of float64
        Their weights; each class's weights sum to its size.
    classes_ : ndarray
    partitions_ : ndarray of uint32, shape (n_samples,)
        Partition of every row (numbered in key order).
    n_partitions_ : int
    quotas_ : ndarray of int64, shape (n_partitions, n_classes) or None
        Rows kept per partition and class (``None`` with ``reduction=None``).
    center_ : ndarray of float64 or None
    reduction_ : float
    boundary_share_, noise_threshold_ : float or None
        The self-tuning's choice shared by every partition (``None`` when no
        partition tuned: both values given, or the cover strategy). Each partition
        scores every candidate on its own held-out rows; the candidate with the best
        accuracy over all partitions' held-out rows (hits and judged rows summed)
        is applied to every partition, as one in-memory selection would choose once.

    Notes
    -----
    Out-of-core sources are read in passes: labels (and the centring sample), routing
    (keeps one ``uint64`` key and one ``uint32`` partition id per row), then the
    partitions: rows of memory-mapped arrays are gathered directly, rows of shards
    and iterators are spilled per partition to a temporary directory, then each
    partition is loaded (at most ``partition_rows`` rows in memory) and selected. A
    one-shot iterator is first written to the temporary directory block by block.
    Dask collections go through :meth:`fit_resample` too: routing is a
    ``map_blocks``, partitions are gathered from the blocks by one task each.
    """

    def __init__(
        self,
        selector: GraphAttentionSelector | None = None,
        partition_rows: int = 100_000,
        route_bits: int | None = None,
        center: Any = "sample",
        n_jobs: int | None = None,
        spill_dir: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.selector = selector
        self.partition_rows = partition_rows
        self.route_bits = route_bits
        self.center = center
        self.n_jobs = n_jobs
        self.spill_dir = spill_dir
        self.verbose = verbose

    # -- parameters
    def _params(self) -> dict[str, Any]:
        """The selector's parameters with its seed resolved (one seed for all)."""
        sel = GraphAttentionSelector() if self.selector is None else self.selector
        if not isinstance(sel, GraphAttentionSelector):
            raise TypeError(f"selector must be a GraphAttentionSelector, got {type(sel).__name__}")
        params = sel.get_params(deep=False)
        params["random_state"] = sel._seed()
        params["verbose"] = False
        return params

    def _bits(self) -> int:
        if self.route_bits is None:
            return int(PARTITION_DEFAULTS["route_bits"])
        return as_int(self.route_bits, "route_bits")

    def _checked_rows(self) -> int:
        rows = as_int(self.partition_rows, "partition_rows")
        # The core's rule (select::partition::check_partition_rows), on no keys.
        _native.plan_partitions(np.zeros(0, np.uint64), self._bits(), rows)
        return rows

    def _center(self, n: int, seed: int, take: Callable[[np.ndarray], Any]) -> Any:
        c = self.center
        if c is None:
            return None
        if isinstance(c, str):
            check_choice(c, "center", ("sample",))
            idx = _native.center_sample(n, seed)
            S = take(idx)
            return _native.column_means(_block_rows(S))
        arr = np.asarray(c, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"center must be 1-D, got shape {arr.shape}")
        return arr

    # -- the pipeline
    def _plan(
        self, keys: np.ndarray, codes: np.ndarray, n_classes: int, reduction: Any
    ) -> tuple[np.ndarray, int, list[np.ndarray], np.ndarray, np.ndarray | None]:
        part, n_parts = _native.plan_partitions(keys, self._bits(), self._checked_rows())
        part = np.asarray(part)
        counts = np.bincount(
            part.astype(np.int64) * n_classes + codes, minlength=n_parts * n_classes
        ).reshape(n_parts, n_classes)
        shares = None
        if reduction is not None:
            q = class_quotas(codes, n_classes, reduction)
            shares = split_quotas(q, counts)
        order = np.argsort(part, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=n_parts))])
        members = [order[bounds[p] : bounds[p + 1]] for p in range(n_parts)]
        return part, n_parts, members, counts, shares

    def _finish(
        self,
        results: list[PartResult],
        members: list[np.ndarray],
        codes: np.ndarray,
        counts: np.ndarray,
        part: np.ndarray,
        shares: np.ndarray | None,
        center: Any,
        n: int,
    ) -> None:
        picked, choice = pool_choice(results)
        idx, w = merge_selections(picked, members, codes, counts)
        self.boundary_share_: float | None = None if choice is None else choice[0]
        self.noise_threshold_: float | None = None if choice is None else choice[1]
        self.sample_indices_ = idx
        self.sample_weight_ = w
        self.partitions_ = part
        self.n_partitions_ = len(members)
        self.quotas_ = shares
        self.center_ = None if center is None else np.asarray(center, dtype=np.float64)
        self.reduction_ = 1.0 - idx.shape[0] / n

    def _run_partitions(
        self,
        load: Callable[[int], Any],
        members: list[np.ndarray],
        codes: np.ndarray,
        n_classes: int,
        shares: np.ndarray | None,
        params: dict[str, Any],
        order: Iterable[int] | None = None,
    ) -> list[PartResult]:
        """Select every partition (in ``order``, default ascending; the result does
        not depend on it), ``load(p)`` giving partition ``p``'s rows."""
        n_parts = len(members)
        results: list[Any] = [None] * n_parts
        bar = progress(n_parts, enabled=bool(self.verbose), unit="partition", desc="partitions")

        def one(p: int) -> None:
            rows = _block_rows(load(p))
            q = None if shares is None else shares[p]
            results[p] = select_partition(params, rows, codes[members[p]], n_classes, q)
            bar.update(1)

        todo = list(range(n_parts) if order is None else order)
        try:
            jobs = 1 if self.n_jobs is None else as_int(self.n_jobs, "n_jobs")
            if jobs < 1:
                raise ValueError(f"n_jobs must be at least 1 or None, got {jobs}")
            if jobs == 1:
                for p in todo:
                    one(p)
            else:
                with ThreadPoolExecutor(jobs) as ex:
                    list(ex.map(one, todo))
        finally:
            bar.close()
        return results

    def _fit_source(self, source: Any, y: Any, order: Iterable[int] | None = None) -> None:
        params = self._params()
        seed = int(params["random_state"])
        bits = self._bits()
        self._checked_rows()
        n = source.n
        self.classes_, codes = encode_labels(y, n)
        n_classes = len(self.classes_)
        self.n_features_in_ = source.d
        reduction = params["reduction"]
        if reduction is not None:
            class_quotas(codes, n_classes, reduction)  # the core checks it, before work
        tmp = None
        try:
            center = self._center(n, seed, source.take)
            c = None if center is None else [float(v) for v in center]
            keys = np.empty(n, dtype=np.uint64)
            for a, Xb in source.blocks(_BLOCK_ROWS):
                keys[a : a + Xb.shape[0]] = _native.route_keys(_block_rows(Xb), bits, seed, c)
            part, n_parts, members, counts, shares = self._plan(keys, codes, n_classes, reduction)
            del keys
            if source.random_access:

                def load(p: int) -> Any:
                    return source.take(members[p])

            else:
                tmp = tempfile.mkdtemp(prefix="sketchkit-partitions-", dir=self.spill_dir)
                load = _spill(source, part, n_parts, tmp)
            results = self._run_partitions(load, members, codes, n_classes, shares, params, order)
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        self._finish(results, members, codes, counts, part, shares, center, n)

    def _source(self, X: Any, y: Any, label: Any, tmp_holder: list[str]) -> tuple[Any, Any]:
        """The source of ``X`` and its labels."""
        if isinstance(X, (str, os.PathLike)) or (
            isinstance(X, (list, tuple)) and X and isinstance(X[0], (str, os.PathLike))
        ):
            files = _shard_files(X)
            if y is not None and label is None:
                if len(files) == 1 and files[0].lower().endswith(".npy"):
                    arr = np.load(files[0], mmap_mode="r", allow_pickle=False)
                    return _ArraySource(_check_2d(arr)), y
                raise ValueError("label: give the label column of the shards (not y)")
            src = _ShardSource(files, label)
            return src, src.y
        if isinstance(X, Iterator):
            tmp = tempfile.mkdtemp(prefix="sketchkit-blocks-", dir=self.spill_dir)
            tmp_holder.append(tmp)
            src = _SpilledBlocks(X, tmp)
            return src, src.y
        if label is not None:
            raise ValueError("label applies to shards; give y for arrays")
        if y is None:
            raise ValueError("y is required for arrays (the labels of the rows)")
        if hasattr(X, "iloc"):
            X = X.to_numpy()
        if not sp.issparse(X) and not isinstance(X, np.ndarray):
            X = as_dense(X, "X")
        if sp.issparse(X):
            X = X.tocsr()
        return _ArraySource(_check_2d(X)), y

    def fit(self, X: Any, y: Any = None, *, label: Any = None) -> PartitionedSelector:
        """Run the partitioned selection (see :meth:`fit_resample`), returning ``self``.

        Parameters
        ----------
        X : array-like, memmap, sparse matrix, path, list of paths, iterator or Dask collection
            See :meth:`fit_resample`.
        y : array-like of shape (n_samples,) or None
        label : str or int or None
            The label column of shards or of a Dask DataFrame.

        Returns
        -------
        PartitionedSelector
        """
        if _is_dask(X):
            from ._dask_select import dask_fit

            dask_fit(self, X, y, label)
            return self
        holder: list[str] = []
        try:
            src, labels = self._source(X, y, label, holder)
            self._fit_source(src, labels)
        finally:
            for t in holder:
                shutil.rmtree(t, ignore_errors=True)
        return self

    def fit_resample(self, X: Any, y: Any = None, *, label: Any = None) -> tuple[Any, Any]:
        """Select rows and return them.

        Parameters
        ----------
        X : array-like, memmap, sparse matrix, path, list of paths, iterator or Dask collection
            The rows: an in-memory or memory-mapped array (``float32`` stays
            ``float32``), a CSR matrix, a ``.npy`` file, a directory, glob or list of
            ``.npy``/``.parquet`` shards (with ``label``), an iterator of
            ``(X_block, y_block)`` pairs, a ``dask.array.Array`` (with ``y``) or a
            ``dask.dataframe.DataFrame`` (with ``label``).
        y : array-like of shape (n_samples,) or None
            Labels (arrays, a single ``.npy`` file, Dask arrays).
        label : str or int or None
            Label column of shards (a name for ``.parquet``, an index for ``.npy``)
            or of a Dask DataFrame.

        Returns
        -------
        X_resampled : ndarray, sparse matrix, DataFrame or Dask collection
            The kept rows in their original order (Dask input: a Dask collection).
        y_resampled : ndarray or Dask collection
            Their labels.
        """
        if _is_dask(X):
            from ._dask_select import dask_fit

            return dask_fit(self, X, y, label, resample=True)
        holder: list[str] = []
        try:
            src, labels = self._source(X, y, label, holder)
            self._fit_source(src, labels)
            idx = self.sample_indices_
            if hasattr(X, "iloc"):
                X_res = X.iloc[idx]
            else:
                X_res = src.take(idx)
        finally:
            for t in holder:
                shutil.rmtree(t, ignore_errors=True)
        y_res = y.iloc[idx] if hasattr(y, "iloc") else as_array(labels, "y")[idx]
        return X_res, y_res


def _check_2d(X: Any) -> Any:
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X has no rows")
    return X


def _is_dask(X: Any) -> bool:
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr")


def _spill(source: Any, part: np.ndarray, n_parts: int, tmp: str) -> Callable[[int], Any]:
    """Write every partition's rows (in row order) to ``tmp``, one raw file each, in
    one pass over ``source``; returns the loader of a partition."""
    dtype: Any = None
    d = source.d
    for a, Xb in source.blocks(_BLOCK_ROWS):
        Xb = as_dense(np.asarray(Xb), "X")
        dtype = Xb.dtype if dtype is None else np.result_type(dtype, Xb.dtype)
        pb = part[a : a + Xb.shape[0]]
        order = np.argsort(pb, kind="stable")
        ps = pb[order]
        cuts = np.flatnonzero(np.diff(ps)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ps)], strict=True):
            p = int(ps[lo])
            with open(os.path.join(tmp, f"p{p:08d}.{Xb.dtype.str[1:]}"), "ab") as f:
                np.ascontiguousarray(Xb[order[lo:hi]]).tofile(f)

    def load(p: int) -> np.ndarray:
        pieces = sorted(f for f in os.listdir(tmp) if f.startswith(f"p{p:08d}."))
        if len(pieces) != 1:
            raise ValueError("X: shards must all have one dtype")
        dt = np.dtype(pieces[0].split(".")[1])
        return np.fromfile(os.path.join(tmp, pieces[0]), dtype=dt).reshape(-1, d)

    return load
