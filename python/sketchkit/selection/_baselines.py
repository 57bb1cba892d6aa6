"""Classic instance-selection baselines, implemented in the Rust core.

* :class:`StratifiedRandomSelector` — a stratified random subset (the baseline to
  report beside every method, at the same size);
* :class:`CondensedNearestNeighbour` — Hart's multi-class CNN;
* :class:`EditedNearestNeighbours` — Wilson's ENN;
* :class:`DROP3` — Wilson & Martinez (2000);
* :class:`LSHInstanceSelector` — LSH-IS-S / LSH-IS-F (Arnaiz-González et al. 2016);
* prototype baselines at a fixed size: :class:`KMeansMedoidsSelector` (class-wise
  k-means medoids), :class:`KCenterGreedySelector` (farthest-first traversal) and
  :class:`KernelHerdingSelector` (RBF kernel herding). For a random baseline that
  changes every epoch without repeating rows, use :class:`RS2Sampler` with ``y``.

All return the kept rows in their original order (``sample_indices_`` ascending), are
deterministic for a ``random_state`` and do not depend on the number of threads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _native
from .._docs import fill_doc
from .._validation import as_float, as_int
from ._base import BaseSelector, class_quotas
from ._graph import _metric

__all__ = [
    "DROP3",
    "CondensedNearestNeighbour",
    "EditedNearestNeighbours",
    "KCenterGreedySelector",
    "KMeansMedoidsSelector",
    "KernelHerdingSelector",
    "LSHInstanceSelector",
    "StratifiedRandomSelector",
]

#: The core's k-means iteration default.
_KMEANS_ITERS = int(_native.attention_defaults()["max_iter"])


@fill_doc
class StratifiedRandomSelector(BaseSelector):
    """Stratified random subset: a fixed fraction of every class, drawn uniformly.

    Parameters
    ----------
    reduction : float, default=0.9
        Fraction of rows to drop, in ``(0, 1)``. Class ``c`` with ``n_c`` rows keeps
        ``round(n_c * (1 - reduction))`` rows, at least one.
    %(random_state)s
        It seeds the draw.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    Per class, the rows are drawn without replacement by Floyd's algorithm on a
    Philox stream keyed by the seed and the class code: ``O(n)`` time. Report this
    subset, at the size another method chose, beside that method: at high reduction
    it is a strong baseline.
    """

    def __init__(self, reduction: float = 0.9, random_state: Any = None) -> None:
        self.reduction = reduction
        self.random_state = random_state

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        q = class_quotas(codes, n_classes, self.reduction)
        return _native.stratified_random_select(codes, n_classes, q, self._seed())


@fill_doc
class CondensedNearestNeighbour(BaseSelector):
    """Hart's condensed nearest neighbour (multi-class).

    Keeps a subset ``S`` on which 1-nearest-neighbour classifies every removed row
    correctly.

    Parameters
    ----------
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the 1-NN rule.
    %(random_state)s
        It seeds the visiting order.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    The rows are visited in a random order (seeded); ``S`` starts with the first
    visited row of every class. Passes over the rows outside ``S`` classify each by
    its nearest row of ``S`` as ``S`` stands at that moment (ties go to the smaller
    row index) and add it to ``S`` when misclassified; the loop stops after a pass
    that adds nothing.

    Rows with an exact duplicate carrying a different label can never be fixed; at
    most one row per such duplicate group and label is added, and the group's other
    rows of that label are skipped. Every removed row without a conflicting
    duplicate is therefore classified correctly by 1-NN on the kept rows.

    Each row is compared with each member of ``S`` once over the whole run (its
    nearest prototype is updated incrementally): ``O(n |S| d)`` time, ``O(n)``
    memory. The result is the sequential algorithm's, computed with parallel
    blocks.

    imbalanced-learn's ``CondensedNearestNeighbour`` is a different, one-sided
    variant (it condenses the majority classes against the minority class); it is
    not Hart's multi-class CNN and gives different subsets.

    References
    ----------
    P. E. Hart, "The condensed nearest neighbor rule", IEEE Trans. Inf. Theory
    14(3), 1968.
    """

    def __init__(self, metric: str = _native.METRICS[0], random_state: Any = None) -> None:
        self.metric = metric
        self.random_state = random_state

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        return _native.cnn_select(rows, codes, n_classes, _metric(self.metric), self._seed())


@fill_doc
class EditedNearestNeighbours(BaseSelector):
    """Wilson's edited nearest neighbours: remove rows their neighbours outvote.

    Parameters
    ----------
    n_neighbors : int, default=3
        Neighbours ``k`` that vote on each row.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the neighbour search.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    Row ``i`` is removed when, among the labels of its ``k`` nearest other rows
    (exact; ties by the smaller row index), some label other than ``y_i`` has a
    strictly larger count than ``y_i``. A tie for the top count that includes
    ``y_i`` keeps the row. All votes use the full set (simultaneous edit). A class
    that would lose every row keeps them all, so no class disappears.

    Brute-force exact neighbours: ``O(n^2 d)`` time (parallel), ``O(n k)`` memory.

    References
    ----------
    D. L. Wilson, "Asymptotic properties of nearest neighbor rules using edited
    data", IEEE Trans. SMC 2(3), 1972.
    """

    def __init__(self, n_neighbors: int = 3, metric: str = _native.METRICS[0]) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        k = as_int(self.n_neighbors, "n_neighbors")
        return _native.enn_select(rows, codes, n_classes, k, _metric(self.metric))


@fill_doc
class DROP3(BaseSelector):
    """DROP3 (Wilson & Martinez 2000): ENN noise filter, then decremental pruning.

    Parameters
    ----------
    n_neighbors : int, default=3
        Neighbours ``k`` of the noise filter and of the pruning votes.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance of the neighbour search.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    1. ``T'`` = the rows :class:`EditedNearestNeighbours` keeps (same ``k``);
       ``S = T'``.
    2. ``T'`` is ordered by each row's distance to its nearest enemy (nearest row of
       another class in the original set), descending; ties by row index.
    3. Every row ``A`` of ``T'`` holds ``N(A)``, its ``k + 1`` nearest rows of
       ``S`` other than itself (ties by index), and is an associate of each of them.
    4. In that order, row ``P`` is removed from ``S`` when at least as many of its
       associates are classified correctly without ``P`` (by the first ``k``
       entries of ``N(A)`` minus ``P``) as with ``P`` (by the first ``k`` entries of
       ``N(A)``). A classification is correct when the row's label has the top count
       (ties included); an empty list is wrong. The last row of a class in ``S`` is
       never removed. After a removal each associate takes the next nearest row of
       ``S`` into its list; as in DROP2, removed rows keep voting as associates.

    Time ``O(n^2 d)`` for the neighbour lists plus ``O(|T'| d)`` per associate of
    each removed row (parallel); memory ``O(n k)`` plus the associate lists.

    References
    ----------
    D. R. Wilson and T. R. Martinez, "Reduction techniques for instance-based
    learning algorithms", Machine Learning 38(3), 2000.
    """

    def __init__(self, n_neighbors: int = 3, metric: str = _native.METRICS[0]) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        k = as_int(self.n_neighbors, "n_neighbors")
        return _native.drop3_select(rows, codes, n_classes, k, _metric(self.metric))


@fill_doc
class LSHInstanceSelector(BaseSelector):
    r"""LSH-IS: keep one row per class in every bucket of several p-stable hash tables.

    Parameters
    ----------
    variant : {"S", "F"}, default="S"
        ``"S"`` keeps, in every bucket, one row of every class present. ``"F"`` does
        the same but, in a bucket holding two or more classes, skips a class that
        has a single row there (taken for noise).
    n_tables : int, default=10
        Independent hash tables; the result is the union over tables.
    n_funcs : int, default=8
        Hash functions per table; a bucket is the tuple of their values.
    width : float, default=32.0
        Bucket width :math:`w` relative to the data scale (the median
        nearest-neighbour distance within a random sample of 1000 rows). Smaller
        widths or more functions mean smaller buckets and less reduction.
    %(random_state)s
        It seeds the hash functions and the row priorities.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    Each table holds ``n_funcs`` functions
    :math:`h(x) = \lfloor (a \cdot x + b) / w \rfloor` with
    :math:`a \sim N(0, I_d)` and :math:`b \sim U(0, w)`. Rows carry one random
    priority (the same in every table); in every bucket the highest-priority row of
    each class is kept. LSH-IS-F keeps a subset of what LSH-IS-S keeps for the same
    parameters; if it would keep no row of some class, that class's
    highest-priority row is kept. The data are not rescaled (the paper's protocol
    min–max scales the features first).

    Time ``O(n_tables (n d n_funcs + n log n))`` (one projection and one sort per
    table), memory ``O(n n_funcs)``: no step compares pairs of rows. Only the
    Euclidean metric applies (p-stable hashing).

    The width is relative to the *nearest-neighbour* distance, so buckets must span
    many such distances: with the defaults (10 tables of 8 functions, width 32) on
    min–max scaled data, 5-fold 1-NN runs gave reductions of 0.60 (iris), 0.69
    (wine), 0.79 (breast_cancer), 0.82 (digits), 0.70 (``make_moons``, 3000 rows)
    and 0.96 (``make_classification``, 5000 rows, 20 features). The reduction
    depends on the data's dimension and structure, so check ``reduction_``; raise
    ``width`` or lower ``n_funcs`` for more reduction. At equal size LSH-IS is
    rarely better than a stratified random subset: it is a linear-time baseline.

    References
    ----------
    Á. Arnaiz-González, J.-F. Díez-Pastor, J. J. Rodríguez and C. García-Osorio,
    "Instance selection of linear complexity for big data", Knowledge-Based Systems
    107, 2016.
    """

    def __init__(
        self,
        variant: str = _native.LSH_VARIANTS[0],
        n_tables: int = 10,
        n_funcs: int = 8,
        width: float = 32.0,
        random_state: Any = None,
    ) -> None:
        self.variant = variant
        self.n_tables = n_tables
        self.n_funcs = n_funcs
        self.width = width
        self.random_state = random_state

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        return _native.lsh_is_select(
            rows,
            codes,
            n_classes,
            self.variant,  # parsed by the core, which names it in its error
            as_int(self.n_tables, "n_tables"),
            as_int(self.n_funcs, "n_funcs"),
            as_float(self.width, "width"),  # the core checks that it is positive and finite
            self._seed(),
        )


@fill_doc
class KMeansMedoidsSelector(BaseSelector):
    r"""Class-wise k-means medoids: k-means per class, keep the real row nearest each centre.

    Parameters
    ----------
    reduction : float, default=0.9
        Fraction of rows to drop, in ``(0, 1)``; class ``c`` keeps
        ``round(n_c * (1 - reduction))`` rows, at least one (the centres of its
        k-means).
    max_iter : int, default=10
        Lloyd iterations at most (fewer when the assignment stops changing).
    %(random_state)s
        It seeds the k-means++ initialisation.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    For class :math:`c` with quota :math:`q_c`, k-means++ seeding (each new centre
    drawn with probability proportional to :math:`D(x)^2`, the squared distance to
    the nearest centre so far) and Lloyd iterations minimise
    :math:`\sum_i \min_j \lVert x_i - \mu_j \rVert^2` over the class's rows; the
    row nearest each centre :math:`\mu_j` among its cluster is kept (ties by the
    smaller row index). An empty cluster is replaced by the class's row farthest
    from its centre among those not kept, so exactly :math:`q_c` rows are kept.

    Cost :math:`O(n_c q_c d)` per iteration. A class with more than :math:`2^{24}`
    row–centre pairs is first split by a coarse k-means into
    :math:`\lceil\sqrt{q_c}\rceil` groups whose quotas are shared by group size
    (largest remainder), recursively, so the cost is about
    :math:`O(n_c \sqrt{q_c} d)` per iteration at large scale. Euclidean distance;
    deterministic for a seed and the same for any number of threads (sums run in
    row order).
    """

    def __init__(
        self, reduction: float = 0.9, max_iter: int = _KMEANS_ITERS, random_state: Any = None
    ) -> None:
        self.reduction = reduction
        self.max_iter = max_iter
        self.random_state = random_state

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        q = class_quotas(codes, n_classes, self.reduction)
        it = as_int(self.max_iter, "max_iter")
        return _native.kmeans_medoids_select(rows, codes, n_classes, q, it, self._seed())


@fill_doc
class KCenterGreedySelector(BaseSelector):
    r"""k-center greedy (coreset): farthest-first traversal per class.

    Parameters
    ----------
    reduction : float, default=0.9
        Fraction of rows to drop, in ``(0, 1)``; class ``c`` keeps
        ``round(n_c * (1 - reduction))`` rows, at least one.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    Per class, the first kept row is the one nearest the class mean; each next one
    is the row farthest from the kept set,
    :math:`\arg\max_i \min_{s \in S} \lVert x_i - x_s \rVert` (ties by the smaller
    row index). This is Gonzalez's 2-approximation of the minimax cover radius
    (the k-center coreset of Sener & Savarese 2018). It favours outlying rows: a
    cover of the class's extent, not of its density. Deterministic (no random
    choice); :math:`O(n_c q_c d)` time, :math:`O(n_c)` memory per class; Euclidean.
    """

    def __init__(self, reduction: float = 0.9) -> None:
        self.reduction = reduction

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        q = class_quotas(codes, n_classes, self.reduction)
        return _native.k_center_select(rows, codes, n_classes, q)


@fill_doc
class KernelHerdingSelector(BaseSelector):
    r"""Kernel herding per class with an RBF kernel.

    Parameters
    ----------
    reduction : float, default=0.9
        Fraction of rows to drop, in ``(0, 1)``; class ``c`` keeps
        ``round(n_c * (1 - reduction))`` rows, at least one.
    %(random_state)s
        It seeds the reference sample of classes above 2000 rows.

    Attributes
    ----------
    %(selector_attributes)s

    Notes
    -----
    Kernel :math:`k(x, z) = \exp(-\lVert x - z\rVert^2 / h)` with :math:`h` the
    median squared distance between consecutive rows of the reference sample (the
    class's rows, or 2000 of them drawn without replacement). With
    :math:`\mu_i = \frac{1}{|R|}\sum_{z \in R} k(x_i, z)`, the kernel mean of the
    class at row :math:`i`, pick :math:`t+1` maximises
    :math:`\mu_i - \frac{1}{t+1}\sum_{s \in S} k(x_i, x_s)` over the rows not kept
    (ties by the smaller index), so the kept rows' kernel mean tracks the class's
    (Chen, Welling & Smola 2010). Exact kernel values, no feature map:
    :math:`O(n_c (|R| + q_c) d)` time, :math:`O(n_c)` memory per class; Euclidean.
    """

    def __init__(self, reduction: float = 0.9, random_state: Any = None) -> None:
        self.reduction = reduction
        self.random_state = random_state

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        q = class_quotas(codes, n_classes, self.reduction)
        return _native.kernel_herding_select(rows, codes, n_classes, q, self._seed())
