"""Neighbour graphs for instance selection: hierarchical hashing, mini-batches, exact.

All graphs are returned as ``scipy.sparse.csr_matrix`` of shape ``(n, n)`` whose
stored values are distances (row ``i`` holds its neighbours sorted by distance, ties
by index; a row is never its own neighbour), the layout of scikit-learn's
``kneighbors_graph(mode="distance")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _native
from .._docs import choices, fill_doc
from .._validation import as_float, as_int, check_choice, check_int, resolve_seed
from ._base import native_rows

__all__ = [
    "HierarchicalHasher",
    "exact_kneighbors_graph",
    "graph_recall",
    "hash_kneighbors_graph",
    "minibatch_kneighbors_graph",
]

#: The core's hashing defaults (``HashConfig::default()``), the signature defaults of
#: the hashing API.
HASH_DEFAULTS: dict[str, Any] = _native.hash_defaults()

# Integer parameters are coerced with as_int (a TypeError for non-integers); their
# ranges are the core's, and the binding names negative values.


def _metric(metric: Any) -> str:
    return check_choice(metric, "metric", _native.METRICS)


def build_hasher(
    rows: Any,
    family: str,
    n_bits: Any,
    n_levels: Any,
    n_views: Any,
    min_bucket: Any,
    max_bucket: Any,
    seed: int,
    *,
    center: Any = HASH_DEFAULTS["center"],
    width: Any = HASH_DEFAULTS["width"],
    expansion: Any = HASH_DEFAULTS["expansion"],
    fan_in: Any = HASH_DEFAULTS["fan_in"],
) -> Any:
    """The compiled hash tables of ``rows`` (see :func:`native_rows`); the core checks
    the parameters' ranges and how they combine."""
    return _native.Hasher(
        rows,
        family,
        as_int(n_bits, "n_bits"),
        as_int(n_levels, "n_levels"),
        as_int(n_views, "n_views"),
        as_int(min_bucket, "min_bucket"),
        as_int(max_bucket, "max_bucket"),
        seed,
        center=bool(center),
        width=as_float(width, "width"),
        expansion=as_int(expansion, "expansion"),
        fan_in=as_int(fan_in, "fan_in"),
    )


def _to_csr(parts: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> sp.csr_matrix:
    indptr, indices, distances = parts
    return sp.csr_matrix((distances, indices, indptr), shape=(n, n))


def _from_csr(graph: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not sp.issparse(graph) or graph.shape != (n, n):
        raise ValueError(f"graph must be a sparse ({n}, {n}) matrix")
    g = graph.tocsr()
    return (
        np.ascontiguousarray(g.indptr, dtype=np.int64),
        np.ascontiguousarray(g.indices, dtype=np.int64),
        np.ascontiguousarray(g.data, dtype=np.float64),
    )


@fill_doc(hash_families=choices(_native.HASH_FAMILIES))
class HierarchicalHasher:
    r"""Multi-level, multi-view hash tables over the rows of a data set.

    Each of ``n_views`` independent views hashes a row to ``n_bits`` symbols:

    * ``"simhash"``: :math:`\operatorname{sign}\langle g_t, x - \mu\rangle` with
      Gaussian :math:`g_t` (:math:`\mu` the column means when ``center=True``);
    * ``"e2lsh"``: :math:`\lfloor (\langle g_t, x\rangle + b_t) / w \rfloor` with
      :math:`b_t \sim U[0, w)` and :math:`w = \text{width} \cdot s`, where :math:`s`
      is the median nearest-neighbour distance within a random sample of 1000 rows;
    * ``"flyhash"``: a sparse binary expansion to ``expansion * n_bits`` units, each
      summing ``fan_in`` random (centred) coordinates, then winner-take-all: the
      symbols are the indices of the ``n_bits`` most active units.

    Level :math:`l` uses the first :math:`\lceil l \cdot n\_bits / n\_levels\rceil`
    symbols (nested prefixes). A row's bucket is the deepest level whose bucket holds
    at least ``min_bucket`` rows; buckets above ``max_bucket`` rows are split by a
    sliding window of ``max_bucket`` rows in code order. Work and memory are linear
    in the number of rows; no step compares all pairs.

    Parameters
    ----------
    family : %(hash_families)s, default="simhash"
    n_bits : int, default=24
        Symbols per view (at most 64 for SimHash).
    n_levels : int, default=3
    n_views : int, default=4
    min_bucket : int, default=16
    max_bucket : int, default=64
        At least ``2 * min_bucket``.
    center : bool, default=True
        Centre the data (SimHash, FlyHash).
    width : float, default=4.0
        E2LSH bucket width relative to the data-scale estimate.
    expansion, fan_in : int, default=8, 6
        FlyHash expansion factor and inputs per unit.
    %(random_state)s

    Attributes
    ----------
    levels_ : ndarray of shape (n_samples, n_views), uint8
        Level of each row's bucket (0 = the whole data set).
    bucket_ids_ : ndarray of shape (n_samples, n_views), uint64
        Id of each row's bucket, unique within a view.
    bucket_sizes_ : ndarray of shape (n_samples, n_views), uint32
    window_sizes_ : ndarray of shape (n_samples, n_views), uint32
        Candidates each row draws from each view (at most ``max_bucket``).
    scale_ : float
        The data-scale estimate (E2LSH; 1.0 otherwise).
    """

    def __init__(
        self,
        family: str = HASH_DEFAULTS["family"],
        n_bits: int = HASH_DEFAULTS["n_bits"],
        n_levels: int = HASH_DEFAULTS["n_levels"],
        n_views: int = HASH_DEFAULTS["n_views"],
        min_bucket: int = HASH_DEFAULTS["min_bucket"],
        max_bucket: int = HASH_DEFAULTS["max_bucket"],
        *,
        center: bool = HASH_DEFAULTS["center"],
        width: float = HASH_DEFAULTS["width"],
        expansion: int = HASH_DEFAULTS["expansion"],
        fan_in: int = HASH_DEFAULTS["fan_in"],
        random_state: Any = None,
    ) -> None:
        self.family = family
        self.n_bits = n_bits
        self.n_levels = n_levels
        self.n_views = n_views
        self.min_bucket = min_bucket
        self.max_bucket = max_bucket
        self.center = center
        self.width = width
        self.expansion = expansion
        self.fan_in = fan_in
        self.random_state = random_state

    def fit(self, X: Any) -> HierarchicalHasher:
        """Hash the rows of ``X`` (dense or sparse)."""
        family = check_choice(self.family, "family", _native.HASH_FAMILIES)
        _, rows = native_rows(X)
        self._tables = build_hasher(
            rows,
            family,
            self.n_bits,
            self.n_levels,
            self.n_views,
            self.min_bucket,
            self.max_bucket,
            resolve_seed(self.random_state),
            center=self.center,
            width=self.width,
            expansion=self.expansion,
            fan_in=self.fan_in,
        )
        t = self._tables
        self.n_samples_ = int(t.n)
        self.levels_ = t.levels()
        self.bucket_ids_ = t.bucket_ids()
        self.bucket_sizes_ = t.bucket_sizes()
        self.window_sizes_ = t.window_sizes()
        self.scale_ = float(t.scale)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fitted tables by their state (configuration, sorted orders and
        prefix lengths), from which :meth:`__setstate__` rebuilds them."""
        state = dict(self.__dict__)
        tables = state.pop("_tables", None)
        if tables is not None:
            state["_tables_state"] = tables.state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled hasher; the tables' state is checked by the core."""
        state = dict(state)
        saved = state.pop("_tables_state", None)
        self.__dict__.update(state)
        if saved is not None:
            self._tables = _native.Hasher.from_state(*saved)

    def level_ids(self, level: int) -> np.ndarray:
        """Bucket ids at a fixed ``level`` (``0..n_levels``), shape ``(n, n_views)``."""
        return self._fitted().level_ids(as_int(level, "level"))

    def codes(self, X: Any, view: int = 0) -> np.ndarray:
        """The symbols of every row in ``view``, shape ``(n, n_bits)``, uint16.

        SimHash: bits; E2LSH: bucket index + 2^15 (clamped); FlyHash: indices of the
        winning units, strongest first. ``X`` must be the data given to :meth:`fit`.
        """
        _, rows = native_rows(X)
        return self._fitted().codes(rows, as_int(view, "view"))

    def view_seed(self, view: int = 0) -> int:
        """Seed of ``view``'s Gaussian operator: SimHash/E2LSH project with
        ``sketchkit.gaussian(n_bits, d, seed=view_seed(v))`` (unscaled signs)."""
        return int(self._fitted().view_seed(as_int(view, "view")))

    def _fitted(self) -> Any:
        if not hasattr(self, "_tables"):
            raise RuntimeError("this HierarchicalHasher is not fitted; call fit(X) first")
        return self._tables

    def kneighbors_graph(
        self, X: Any, n_neighbors: int = 10, metric: str = _native.METRICS[0], refine: int = 1
    ) -> sp.csr_matrix:
        """The candidate graph re-ranked by exact distance (``X`` as given to fit).

        ``refine`` rounds of neighbour-of-neighbour refinement follow: each row's
        neighbours and their neighbours are re-ranked exactly (``O(n k^2 d)`` per
        round; recall never decreases, typically 0.75 -> 0.95 after one round).
        """
        t = self._fitted()
        _, rows = native_rows(X)
        k = as_int(n_neighbors, "n_neighbors")
        parts = t.knn_graph(rows, k, _metric(metric), as_int(refine, "refine"))
        return _to_csr(parts, int(t.n))


def hash_kneighbors_graph(
    X: Any,
    n_neighbors: int = 10,
    *,
    metric: str = _native.METRICS[0],
    family: str = HASH_DEFAULTS["family"],
    n_bits: int = HASH_DEFAULTS["n_bits"],
    n_levels: int = HASH_DEFAULTS["n_levels"],
    n_views: int = HASH_DEFAULTS["n_views"],
    min_bucket: int | None = None,
    max_bucket: int = HASH_DEFAULTS["max_bucket"],
    refine: int = 1,
    random_state: Any = None,
) -> sp.csr_matrix:
    """Approximate kNN graph by hierarchical hashing and exact re-ranking.

    ``min_bucket`` defaults to ``max(2 * n_neighbors, 8)``, capped at
    ``max_bucket // 2``; ``refine`` rounds of neighbour-of-neighbour refinement
    follow. See :class:`HierarchicalHasher`; the result's recall against exact kNN is
    measured by :func:`graph_recall`.
    """
    k = as_int(n_neighbors, "n_neighbors")
    mb = as_int(max_bucket, "max_bucket")
    lo = _native.default_min_bucket(k, mb) if min_bucket is None else min_bucket
    h = HierarchicalHasher(
        family, n_bits, n_levels, n_views, lo, mb, random_state=random_state
    ).fit(X)
    return h.kneighbors_graph(X, k, metric, refine)


def minibatch_kneighbors_graph(
    X: Any,
    y: Any = None,
    n_neighbors: int = 10,
    *,
    batch_size: int = 1000,
    metric: str = _native.METRICS[0],
    random_state: Any = None,
) -> sp.csr_matrix:
    """Exact kNN inside stratified mini-batches (class proportions kept per batch).

    Work is ``O(n * batch_size * d)``.
    """
    Xc, rows = native_rows(X)
    n = Xc.shape[0]
    codes = None
    n_classes = 1
    if y is not None:
        from ._base import encode_labels

        classes, codes = encode_labels(y, n)
        n_classes = len(classes)
    indptr, indices, dist, _ = _native.minibatch_graph(
        rows,
        codes,
        n_classes,
        as_int(batch_size, "batch_size"),
        as_int(n_neighbors, "n_neighbors"),
        _metric(metric),
        resolve_seed(random_state),
    )
    return _to_csr((indptr, indices, dist), n)


def exact_kneighbors_graph(
    X: Any, n_neighbors: int = 10, *, metric: str = _native.METRICS[0]
) -> sp.csr_matrix:
    """Exact kNN graph by brute force (quadratic; a reference for small data)."""
    Xc, rows = native_rows(X)
    parts = _native.exact_graph(rows, as_int(n_neighbors, "n_neighbors"), _metric(metric))
    return _to_csr(parts, Xc.shape[0])


def graph_recall(
    X: Any,
    graph: Any,
    n_neighbors: int | None = None,
    *,
    sample: int = 200,
    metric: str = _native.METRICS[0],
    random_state: Any = 0,
) -> float:
    """Mean recall of ``graph`` against exact kNN on ``sample`` random rows.

    ``recall = |graph(i) ∩ exact_k(i)| / k`` averaged over the sampled rows (ties at
    the k-th distance count as found). ``n_neighbors`` defaults to the graph's
    largest row length.
    """
    Xc, rows = native_rows(X)
    n = Xc.shape[0]
    indptr, indices, dist = _from_csr(graph, n)
    k = int(np.diff(indptr).max()) if n_neighbors is None else n_neighbors
    k = as_int(k, "n_neighbors")
    rng = np.random.RandomState(resolve_seed(random_state) % 2**32)
    # The sample is drawn here, so its size rule is Python's.
    m = min(check_int(sample, "sample"), n)
    rows_s = np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)
    return float(_native.graph_recall(rows, indptr, indices, dist, rows_s, k, _metric(metric)))
