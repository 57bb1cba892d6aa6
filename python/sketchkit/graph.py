"""Graph embeddings on sketch operators: :class:`FastRP` and :class:`ProjectedPropagation`.

Both take SciPy CSR adjacency matrices and borrow their arrays without a copy; the
sparse × dense propagation runs in the Rust core, multi-threaded, with the same bits
for every thread count. Requires SciPy (``pip install 'sketchkit[sparse]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from . import _native
from ._validation import resolve_seed

try:  # scikit-learn conventions (get_params, set_params, clone) when it is installed
    from sklearn.base import BaseEstimator as _Base
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    _Base = object  # type: ignore[assignment,misc]

__all__ = ["FastRP", "ProjectedPropagation", "GDS_DENSITY"]

#: Density of GDS's initial random vectors (sparsity 3).
GDS_DENSITY = 1.0 / 3.0


def _csr(adjacency: Any, name: str = "adjacency") -> Any:
    """``adjacency`` as a SciPy CSR matrix or array without copying CSR input."""
    import scipy.sparse as sp

    if not sp.issparse(adjacency):
        raise TypeError(
            f"{name} must be a SciPy sparse matrix (CSR, or a format converted to it), "
            f"got {type(adjacency).__name__}"
        )
    if adjacency.format != "csr":
        adjacency = adjacency.tocsr()
    if adjacency.ndim != 2:
        raise ValueError(f"{name}: must be 2-D, got {adjacency.ndim} dimensions")
    if adjacency.dtype not in (np.float32, np.float64):
        if adjacency.dtype.kind not in "biu":
            raise TypeError(f"{name} must hold float32, float64, integer or bool weights")
        adjacency = adjacency.astype(np.float32)
    return adjacency


def _canonical(adjacency: Any) -> Any:
    """Rows sorted and duplicates summed (the undirected check needs it); copies only
    a matrix not in canonical format."""
    if not adjacency.has_canonical_format:
        adjacency = adjacency.copy()
        adjacency.sum_duplicates()
    return adjacency


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


class FastRP(_Base):  # type: ignore[misc]
    r"""FastRP node embeddings with the semantics of Neo4j GDS.

    For an adjacency :math:`A` (row :math:`i` lists the nodes node :math:`i` reads
    from, with edge weights), node features :math:`F` (optional) and iteration weights
    :math:`w_1, \dots, w_q`:

    .. math::

        R &= \bigl[\, S_r^\top \;\big|\; F S_p^\top \,\bigr] \in \mathbb{R}^{n \times d}, \\
        E_0 &= \operatorname{diag}(\deg)^{\beta} R, \qquad
        E_i = \operatorname{normalize}(A E_{i-1}), \\
        Y &= s \operatorname{normalize}(R) + \sum_{i=1}^{q} w_i E_i ,

    where :math:`S_r` (:math:`(d - p) \times n`) and :math:`S_p` (:math:`p \times f`) are
    very sparse operators (entries :math:`\pm\sqrt{1/(\rho k)}` with probability
    :math:`\rho/2` each, :math:`\rho` = ``density``; GDS's sparsity 3 is
    :math:`\rho = 1/3`), node :math:`j`'s random vector is column :math:`j` of
    :math:`S_r`, :math:`p = \lfloor d \cdot \text{property\_ratio} \rfloor`,
    :math:`\deg` counts each row's stored entries, ``normalize`` scales every row to
    unit Euclidean norm (zero rows stay zero), :math:`\beta` is
    ``normalization_strength`` and :math:`s` is ``node_self_influence``.

    Parameters
    ----------
    embedding_dim : int, default=128
        Output dimension :math:`d`.
    iteration_weights : sequence of float, default=(0.0, 1.0, 1.0)
        :math:`w_1, \dots, w_q` (GDS default); :math:`q` propagation steps.
    normalization_strength : float, default=0.0
        :math:`\beta`.
    node_self_influence : float, default=0.0
        :math:`s`.
    property_ratio : float, default=0.0
        Share of the output columns given to projected node features (``features``
        of :meth:`fit`); must be positive exactly when features are given.
    directed : bool, default=False
        ``False``: the graph is undirected and ``adjacency`` must be symmetric (each
        edge stored in both directions with equal weights, as ``networkx`` and
        ``A.maximum(A.T)`` give); this is checked, and no symmetrized copy is made.
        ``True``: row :math:`i` holds node :math:`i`'s out-edges, and nodes aggregate
        from their out-neighbours (GDS's ``NATURAL`` orientation; pass ``A.T`` for
        ``REVERSE``).
    weighted : bool, default=True
        Use the stored values as edge weights (non-negative); ``False`` counts every
        stored entry as 1.
    density : float, default=1/3
        Density :math:`\rho` of the very sparse projections.
    random_state : int, RandomState, Generator or None, default=None
        Seed of both projections.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_nodes, embedding_dim), float32
        The embedding of the last :meth:`fit`.
    n_features_in_ : int
        Number of nodes of the fitted graph.

    Notes
    -----
    Each step is one fused pass over the graph in the Rust core: row :math:`i` of
    :math:`A E_{i-1}` is gathered, normalized and added to :math:`Y` by one worker, so
    the result has the same bits for every thread count.

    Examples
    --------
    >>> import networkx as nx, scipy.sparse as sp                     # doctest: +SKIP
    >>> A = sp.csr_array(nx.to_scipy_sparse_array(nx.karate_club_graph()))  # doctest: +SKIP
    >>> FastRP(embedding_dim=32, random_state=0).fit_transform(A).shape  # doctest: +SKIP
    (34, 32)
    """

    def __init__(
        self,
        embedding_dim: int = 128,
        *,
        iteration_weights: Sequence[float] = (0.0, 1.0, 1.0),
        normalization_strength: float = 0.0,
        node_self_influence: float = 0.0,
        property_ratio: float = 0.0,
        directed: bool = False,
        weighted: bool = True,
        density: float = GDS_DENSITY,
        random_state: Any = None,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.iteration_weights = iteration_weights
        self.normalization_strength = normalization_strength
        self.node_self_influence = node_self_influence
        self.property_ratio = property_ratio
        self.directed = directed
        self.weighted = weighted
        self.density = density
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        dim = self.embedding_dim
        if isinstance(dim, bool) or not isinstance(dim, Integral) or dim < 1:
            raise ValueError(f"embedding_dim: must be a positive integer, got {dim!r}")
        try:
            weights = [float(w) for w in self.iteration_weights]
        except (TypeError, ValueError) as exc:
            raise TypeError("iteration_weights must be a sequence of real numbers") from exc
        return {
            "embedding_dim": int(dim),
            "iteration_weights": weights,
            "normalization_strength": _number(
                self.normalization_strength, "normalization_strength"
            ),
            "node_self_influence": _number(self.node_self_influence, "node_self_influence"),
            "property_ratio": _number(self.property_ratio, "property_ratio"),
            "density": _number(self.density, "density"),
            "weighted": bool(self.weighted),
            "undirected": not bool(self.directed),
            "seed": resolve_seed(self.random_state),
        }

    def fit(self, adjacency: Any, y: Any = None, features: Any = None) -> FastRP:
        """Computes the embedding of the graph ``adjacency`` (``embedding_``).

        Parameters
        ----------
        adjacency : scipy.sparse matrix or array of shape (n_nodes, n_nodes)
            CSR (borrowed without a copy; other formats are converted), float32,
            float64, integer or bool values, non-negative.
        y : None
            Ignored.
        features : array-like of shape (n_nodes, n_features), optional
            Node features, projected into the last ``floor(embedding_dim *
            property_ratio)`` columns of the initial vectors.

        Returns
        -------
        self : FastRP
        """
        p = self._params()
        A = _csr(adjacency)
        if p["undirected"]:
            A = _canonical(A)
        F = None
        if features is not None:
            F = np.ascontiguousarray(features, dtype=np.float32)
            if F.ndim != 2:
                raise ValueError(f"features: must be 2-D, got {F.ndim} dimensions")
        indices, indptr = A.indices, A.indptr
        if indices.dtype != indptr.dtype:
            indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
        self.embedding_ = _native.fastrp(A.data, indices, indptr, A.shape[1], F, **p)
        self.n_features_in_ = A.shape[0]
        return self

    def fit_transform(self, adjacency: Any, y: Any = None, features: Any = None) -> np.ndarray:
        """:meth:`fit`, then the embedding.

        Parameters
        ----------
        adjacency : scipy.sparse matrix or array of shape (n_nodes, n_nodes)
            See :meth:`fit`.
        y : None
            Ignored.
        features : array-like of shape (n_nodes, n_features), optional
            See :meth:`fit`.

        Returns
        -------
        embedding : ndarray of shape (n_nodes, embedding_dim), float32
        """
        return self.fit(adjacency, y, features=features).embedding_


def propagate(adjacency: Any, X: Any, *, scale: str = "mean", weighted: bool = True) -> np.ndarray:
    r"""One propagation step :math:`A X` with rows scaled.

    Parameters
    ----------
    adjacency : scipy.sparse matrix of shape (n, m)
        Non-negative weights (CSR borrowed without a copy).
    X : array-like of shape (m, k)
        Features (converted to float32).
    scale : {"mean", "sum", "l2"}, default="mean"
        ``"mean"``: :math:`D^{-1} A X` with :math:`D` the row sums (zero rows stay
        zero); ``"sum"``: :math:`A X`; ``"l2"``: every row of :math:`A X` scaled to unit
        norm.
    weighted : bool, default=True
        ``False`` counts every stored entry as 1.

    Returns
    -------
    ndarray of shape (n, k), float32
    """
    import scipy.sparse as sp

    if not sp.issparse(adjacency):
        raise TypeError(f"adjacency must be a SciPy sparse matrix, got {type(adjacency).__name__}")
    A = adjacency.tocsr()
    if A.dtype not in (np.float32, np.float64):
        A = A.astype(np.float32)
    Xa = np.ascontiguousarray(X, dtype=np.float32)
    if Xa.ndim != 2:
        raise ValueError(f"X: must be 2-D, got {Xa.ndim} dimensions")
    indices, indptr = A.indices, A.indptr
    if indices.dtype != indptr.dtype:
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    return _native.graph_propagate(A.data, indices, indptr, A.shape[1], Xa, weighted, scale)


class ProjectedPropagation(_Base):  # type: ignore[misc]
    r"""Projected propagation for heterogeneous graphs (after RpHGNN).

    Given relations :math:`r` with adjacencies :math:`A_r` (:math:`n_{t(r)} \times
    n_{s(r)}`: row nodes of the target type read from column nodes of the source type)
    and features :math:`H^{(0)}_\tau` per node type :math:`\tau`, each hop computes, for
    every node type, the mean-aggregated messages of all relations into it, concatenates
    them with the type's current features and squashes the concatenation back to
    ``n_components`` columns with a Gaussian random projection:

    .. math::

        H^{(h)}_\tau = \bigl[\, H^{(h-1)}_\tau \;\big|\; D_{r_1}^{-1} A_{r_1}
        H^{(h-1)}_{s(r_1)} \;\big|\; \cdots \bigr] \, P_{\tau,h}^\top ,

    with :math:`P_{\tau,h}` a Gaussian operator of shape ``(n_components, ·)``
    (:math:`\mathbb{E}\|P x\|^2 = \|x\|^2`). The output per node type is the
    concatenation :math:`[H^{(0)}_\tau P_{\tau,0}^\top | H^{(1)}_\tau | \cdots |
    H^{(L)}_\tau]` (the raw features projected to ``n_components`` first).

    Parameters
    ----------
    n_components : int, default=64
        Width of every node type's features after each hop.
    n_hops : int, default=2
        Number of propagation hops :math:`L`.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the projections.
    """

    def __init__(self, n_components: int = 64, n_hops: int = 2, random_state: Any = None) -> None:
        self.n_components = n_components
        self.n_hops = n_hops
        self.random_state = random_state

    def fit_transform(
        self,
        relations: Mapping[tuple[str, str, str], Any],
        features: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        """Propagates ``features`` over ``relations``.

        Parameters
        ----------
        relations : dict mapping (source_type, relation, target_type) to a sparse matrix
            Each of shape ``(n_target, n_source)``.
        features : dict mapping node type to array-like of shape (n_nodes, n_features)
            Every node type that appears in ``relations``.

        Returns
        -------
        dict mapping node type to ndarray of shape (n_nodes, n_components * (n_hops + 1))
        """
        from ._operator import gaussian

        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
            raise ValueError(f"n_components: must be a positive integer, got {k!r}")
        hops = self.n_hops
        if isinstance(hops, bool) or not isinstance(hops, Integral) or hops < 0:
            raise ValueError(f"n_hops: must be a non-negative integer, got {hops!r}")
        if not isinstance(relations, Mapping) or not relations:
            raise ValueError("relations: must be a non-empty dict of sparse matrices")
        H = {t: np.ascontiguousarray(v, dtype=np.float32) for t, v in features.items()}
        for key, A in relations.items():
            if not (isinstance(key, tuple) and len(key) == 3):
                raise ValueError(
                    f"relations: keys must be (source_type, relation, target_type), got {key!r}"
                )
            src, _, dst = key
            for t in (src, dst):
                if t not in H:
                    raise ValueError(f"features: no features for node type {t!r}")
            if A.shape != (H[dst].shape[0], H[src].shape[0]):
                raise ValueError(
                    f"relations: {key!r} has shape {A.shape}, expected "
                    f"({H[dst].shape[0]}, {H[src].shape[0]})"
                )
        seed = resolve_seed(self.random_state)
        types = sorted(H)

        def squash(t: str, X: np.ndarray, h: int) -> np.ndarray:
            op = gaussian(k, X.shape[1], seed=(seed + 1000003 * (types.index(t) + 1) + h) % 2**64)
            return np.asarray(op.project(X), dtype=np.float32)

        cur = {t: squash(t, H[t], 0) for t in types}
        outs = {t: [cur[t]] for t in types}
        for h in range(1, int(hops) + 1):
            parts: dict[str, list[np.ndarray]] = {t: [cur[t]] for t in types}
            for (src, _, dst), A in sorted(relations.items(), key=lambda kv: kv[0]):
                parts[dst].append(propagate(A, cur[src], scale="mean"))
            cur = {t: squash(t, np.hstack(parts[t]), h) for t in types}
            for t in types:
                outs[t].append(cur[t])
        return {t: np.hstack(outs[t]) for t in types}
