"""Instance selection: keep a few percent of a labelled data set.

* :class:`GraphAttentionSelector` -- graph-attention importance on a kNN graph built
  by hierarchical hashing (:class:`HierarchicalHasher`) or stratified mini-batches;
* baselines with the same API: :class:`StratifiedRandomSelector`,
  :class:`CondensedNearestNeighbour` (Hart's multi-class CNN),
  :class:`EditedNearestNeighbours` (Wilson), :class:`DROP3`,
  :class:`LSHInstanceSelector` (LSH-IS-S and LSH-IS-F), and prototype baselines at a
  fixed size: :class:`KMeansMedoidsSelector`, :class:`KCenterGreedySelector`,
  :class:`KernelHerdingSelector`;
* row samplers with importance weights and guarantees: :class:`LeverageSampler`,
  :class:`SensitivitySampler` (ℓp), :class:`DPPSampler`, :class:`VolumeSampler`,
  :class:`RS2Sampler`, and :func:`coreset_loss_ratio` (unsupervised: ``y`` optional,
  stratified by class when given; they add ``sample_weight_``), and
  :class:`LogisticSampler` (a coreset for logistic regression, ``y`` the response);
* :class:`PartitionedSelector` -- graph-attention selection partition by partition,
  for data larger than memory (memory maps, ``.npy``/``.parquet`` shards, block
  iterators, Dask collections), with the in-memory per-class quotas exactly;
* :func:`plot_selection`: the data in 2-D with the kept rows highlighted per class
  (requires matplotlib);
* graph builders: :func:`hash_kneighbors_graph`, :func:`minibatch_kneighbors_graph`,
  :func:`exact_kneighbors_graph`, and :func:`graph_recall`.

Every selector follows imbalanced-learn's sampler API (``fit_resample(X, y)``,
``sample_indices_``) without requiring imbalanced-learn. This subpackage requires
scikit-learn and SciPy (``pip install 'sketchkit[sklearn]'``).
"""

from __future__ import annotations

from ._attention import GraphAttentionSelector
from ._base import BaseSelector
from ._baselines import (
    DROP3,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    KCenterGreedySelector,
    KernelHerdingSelector,
    KMeansMedoidsSelector,
    LSHInstanceSelector,
    StratifiedRandomSelector,
)
from ._graph import (
    HierarchicalHasher,
    exact_kneighbors_graph,
    graph_recall,
    hash_kneighbors_graph,
    minibatch_kneighbors_graph,
)
from ._partitioned import PartitionedSelector, route_keys, split_quotas
from ._plot import plot_selection
from ._sampling import (
    DPPSampler,
    LeverageSampler,
    LogisticSampler,
    RS2Sampler,
    SensitivitySampler,
    VolumeSampler,
    coreset_loss_ratio,
    dpp_marginals,
    lewis_weights,
    optimal_loss,
    sensitivity_scores,
)

__all__ = [
    "DROP3",
    "BaseSelector",
    "DPPSampler",
    "LeverageSampler",
    "LogisticSampler",
    "RS2Sampler",
    "SensitivitySampler",
    "VolumeSampler",
    "coreset_loss_ratio",
    "dpp_marginals",
    "optimal_loss",
    "lewis_weights",
    "sensitivity_scores",
    "CondensedNearestNeighbour",
    "EditedNearestNeighbours",
    "KCenterGreedySelector",
    "KMeansMedoidsSelector",
    "KernelHerdingSelector",
    "LSHInstanceSelector",
    "StratifiedRandomSelector",
    "GraphAttentionSelector",
    "PartitionedSelector",
    "route_keys",
    "split_quotas",
    "HierarchicalHasher",
    "exact_kneighbors_graph",
    "graph_recall",
    "hash_kneighbors_graph",
    "minibatch_kneighbors_graph",
    "plot_selection",
]
