"""Graph-attention instance selection on a hashed or mini-batch neighbour graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _native
from .._docs import choices, fill_doc
from .._progress import progress
from .._validation import as_float, as_int, check_choice
from ._base import BaseSelector, class_quotas
from ._graph import HASH_DEFAULTS, _metric, _to_csr, build_hasher

#: The core's attention defaults (``AttentionConfig::default()``).
_ATTENTION_DEFAULTS = _native.attention_defaults()

#: Selection strategies: k-means prototypes of the clean rows plus boundary rows, or
#: the score-ordered graph cover alone.
_STRATEGIES = ("auto", "prototypes", "cover")

__all__ = ["GraphAttentionSelector"]


def _auto_or_float(value: Any, name: str) -> float | None:
    """``None`` for ``"auto"`` (the core chooses), else ``value`` as a float."""
    if isinstance(value, str):
        check_choice(value, name, ("auto",))
        return None
    return as_float(value, name)


class _Stages:
    """Stage-by-stage progress (the selector's ``verbose`` flag), a ``tqdm`` bar."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar = progress(total, enabled=enabled, unit="stage", desc="attention selection")

    def step(self, what: str) -> None:
        self.bar.set_postfix_str(what, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@fill_doc(
    hash_families=choices(_native.HASH_FAMILIES),
    prototypes_max_rows=f"{int(_ATTENTION_DEFAULTS['prototypes_max_rows']):,}",
    share_grid="{" + ", ".join(map(str, _ATTENTION_DEFAULTS["boundary_share_grid"])) + "}",
    threshold_grid="{" + ", ".join(map(str, _ATTENTION_DEFAULTS["noise_threshold_grid"])) + "}",
    tune_rows=f"{int(_ATTENTION_DEFAULTS['tune_eval_rows']):,}",
    cover_threshold=str(_ATTENTION_DEFAULTS["noise_threshold"]),
)
class GraphAttentionSelector(BaseSelector):
    r"""Instance selection by graph-attention importance on a scalable kNN graph.

    1. **Graph.** A k-nearest-neighbour graph, built without any all-pairs step:
       ``graph="hash"`` uses :class:`HierarchicalHasher` (multi-level, multi-view
       hashing, then exact re-ranking of each row's candidates); ``graph="minibatch"``
       uses exact kNN inside stratified mini-batches of ``batch_size`` rows.
    2. **Attention.** With :math:`\sigma_i` the median neighbour distance of row
       :math:`i`, attention weights
       :math:`a_{ij} = \operatorname{softmax}_{j \in N(i)}(-d_{ij}^2 / \sigma_i\sigma_j)`,
       label agreement :math:`g_i = \sum_j a_{ij}[y_j = y_i]`, boundary
       :math:`b_i = 1 - g_i`, and representativeness
       :math:`r_i = \sum_{j: i \in N(j), y_j = y_i} a_{ji}` (same-class attention
       received). Rows with :math:`g_i <` ``noise_threshold`` are noise. Score
       :math:`s_i = (r_i + 1/k)(1 + \lambda b_i)` for clean rows (λ =
       ``boundary_weight``), :math:`-b_i` for noisy ones.
    3. **Selection, per class** (``strategy="prototypes"``; the default
       ``strategy="auto"`` uses it for data sets of at most %(prototypes_max_rows)s
       rows and ``"cover"`` above, where the k-means would dominate). With the
       class's budget :math:`q_c`: noisy rows are edited out; a share
       ``boundary_share`` of :math:`q_c` goes to boundary rows (clean rows with
       :math:`b_i > 0`, in score order, skipping rows inside an already kept row's
       same-class neighbourhood, so they spread along the boundary); the rest goes to
       the **k-means medoids** of the other clean rows (k-means++ seeding, at most
       ``max_iter`` Lloyd iterations, the real row nearest each centre), which cover
       the class's modes and interior. ``strategy="cover"`` is the score-ordered
       graph cover alone: rows in descending score order, skipping rows already
       covered by a kept row's same-class neighbourhood within ``h`` hops (the
       largest ``h`` whose full cover still needs the quota).
    4. **Self-tuning** (``strategy="prototypes"``). With ``boundary_share="auto"``
       and/or ``noise_threshold="auto"`` (the defaults), every pair
       :math:`(b, t)` of the grids %(share_grid)s × %(threshold_grid)s (a given
       value replaces its grid) selects as above, and the pair whose kept rows
       classify held-out rows best by 1-NN wins: the held-out rows are those of one
       seeded sample of at most %(tune_rows)s training rows that the candidate did
       not keep, so no row judges a selection that contains it. Ties go to fewer
       boundary rows, then to noise editing on. Each candidate costs one selection
       plus :math:`O(s\,m\,d)` for :math:`s` held-out and :math:`m` kept rows.
       ``strategy="cover"`` uses ``noise_threshold`` %(cover_threshold)s for
       ``"auto"``.
    5. **Size.** ``round(n_c (1 - reduction))`` rows per class (rounded half up, at
       least one), or with ``reduction=None`` the size of the class's one-hop graph
       cover of clean rows (a size the data choose: smaller for classes whose
       neighbourhoods are large and redundant).

    Parameters
    ----------
    reduction : float in (0, 1) or None, default=None
        Fraction of rows to remove per class; ``None`` chooses the size.
    graph : {"hash", "minibatch"}, default="hash"
    n_neighbors : int, default=10
    n_bits, n_levels, n_views : int, default=24, 3, 4
        Hashing parameters (``graph="hash"``).
    hash_family : %(hash_families)s, default="simhash"
    min_bucket : int or None, default=None
        ``None``: ``max(2 * n_neighbors, 8)``, capped at ``max_bucket // 2``.
    max_bucket : int, default=64
    refine : int, default=1
        Rounds of neighbour-of-neighbour refinement of the hashed graph (each
        re-ranks a row's neighbours and their neighbours exactly).
    batch_size : int, default=1000
        Mini-batch size (``graph="minibatch"``).
    metric : {"euclidean", "cosine"}, default="euclidean"
    noise_threshold : float in [0, 1] or "auto", default="auto"
        Agreement below which a row is noise (0: no editing); ``"auto"`` chooses
        it (step 4).
    boundary_weight : float, default=1.0
    strategy : {"auto", "prototypes", "cover"}, default="auto"
        How each class's budget is spent (step 3).
    boundary_share : float in [0, 1] or "auto", default="auto"
        Share of a class's budget for boundary rows (``strategy="prototypes"``);
        ``"auto"`` chooses it (step 4).
    difficulty_weight : float in [0, 1], default=0.0
        With a ``reduction`` and ``strategy="prototypes"``, share the total budget
        across classes by :math:`n_c ((1 - \alpha) + \alpha B_c / \bar B)`, where
        :math:`B_c` is class :math:`c`'s mean boundary score :math:`b_i` and
        :math:`\bar B` the overall mean (α = ``difficulty_weight``; 0 keeps budgets
        proportional to class size). Each class keeps between 1 and :math:`n_c` rows.
    max_iter : int, default=10
        Lloyd iterations of the per-class k-means at most.
    %(random_state)s
    verbose : bool, default=False
        Show the stages (graph, scores, selection) as a ``tqdm`` progress bar on
        standard error, drawn on a terminal or in a notebook only: nothing is
        written when standard error is redirected, or when ``tqdm`` is not
        installed (``pip install sketchkit[cli]``).

    Attributes
    ----------
    %(selector_attributes)s
    sample_weight_ : ndarray of float64
        Weight of each kept row: the rows it stands for (a medoid: its k-means
        cluster; with ``strategy="cover"``: its own class's rows it covered), rescaled
        so each class's weights sum to its size. A model fitted on the subset with
        these weights mimics one fitted on all rows.
    scores_ : ndarray of float64, shape (n_samples,)
        Importance of every input row.
    agreement_ : ndarray of float64
        Attention-weighted label agreement :math:`g_i`.
    noisy_ : ndarray of bool
        Rows flagged as noise.
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The kNN graph (values are distances).
    hops_ : ndarray of int64
        Cover radius used per class (1 with ``strategy="prototypes"``).
    noise_threshold_ : float
        The noise threshold used (chosen by step 4, or given).
    boundary_share_ : float or None
        The boundary share used (``None`` with ``strategy="cover"``).
    tuning_results_ : list of dict
        Step 4's candidates in trial order, each with ``boundary_share``,
        ``noise_threshold``, ``holdout_rows`` and ``holdout_accuracy``; empty when
        nothing was chosen.

    Notes
    -----
    Time is :math:`O(n \cdot d \cdot (n\_bits + n\_views \cdot max\_bucket))` for the
    hashed graph and :math:`O(n \cdot d \cdot batch\_size)` for mini-batches; the
    attention and cover steps are :math:`O(n k)`. The k-means costs
    :math:`O(n_c q_c d)` per iteration and class; a class with more than
    :math:`2^{24}` row–centre pairs is first split by a coarse k-means into
    :math:`\lceil\sqrt{q_c}\rceil` groups that share the quota by size, so the cost
    stays near :math:`O(n_c \sqrt{q_c} d)` per iteration at large scale. No step
    compares all pairs of rows. Memory is linear in ``n``. The k-means dominates
    on large inputs (at :math:`10^5` rows of 64 features and ``reduction=0.96`` it
    took about five times as long as the graph and scores), hence the automatic
    switch to ``strategy="cover"``, the linear-time choice for millions of rows.

    The defaults (``strategy``, the self-tuning of step 4 and its grids) were
    chosen on the tuning half of ``benches/selection_datasets.py`` and reported on
    its validation half (``benches/results_selection.md``).
    Results are deterministic for a seed and independent of the thread count.
    Every class keeps at least one row: a class with a single member keeps it, and a
    class whose rows are all flagged as noise keeps its best-scored row. NaN or
    infinity in ``X``, a length mismatch of ``X`` and ``y``, a single class, and a
    ``reduction`` outside ``(0, 1)`` raise ``ValueError``.
    The method is inspired by graph-attention instance selection with hierarchical
    hashing (GAIS); its internals are sketchkit's own design.
    """

    def __init__(
        self,
        reduction: float | None = None,
        graph: str = "hash",
        n_neighbors: int = 10,
        n_bits: int = HASH_DEFAULTS["n_bits"],
        n_levels: int = HASH_DEFAULTS["n_levels"],
        n_views: int = HASH_DEFAULTS["n_views"],
        hash_family: str = HASH_DEFAULTS["family"],
        min_bucket: int | None = None,
        max_bucket: int = HASH_DEFAULTS["max_bucket"],
        refine: int = 1,
        batch_size: int = 1000,
        metric: str = _native.METRICS[0],
        noise_threshold: float | str = "auto",
        boundary_weight: float = _ATTENTION_DEFAULTS["boundary_weight"],
        strategy: str = "auto",
        boundary_share: float | str = "auto",
        difficulty_weight: float = _ATTENTION_DEFAULTS["difficulty_weight"],
        max_iter: int = int(_ATTENTION_DEFAULTS["max_iter"]),
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.reduction = reduction
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.n_bits = n_bits
        self.n_levels = n_levels
        self.n_views = n_views
        self.hash_family = hash_family
        self.min_bucket = min_bucket
        self.max_bucket = max_bucket
        self.refine = refine
        self.batch_size = batch_size
        self.metric = metric
        self.noise_threshold = noise_threshold
        self.boundary_weight = boundary_weight
        self.strategy = strategy
        self.boundary_share = boundary_share
        self.difficulty_weight = difficulty_weight
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    def _build_graph(self, rows: Any, codes: np.ndarray, n_classes: int, n: int) -> Any:
        k = min(as_int(self.n_neighbors, "n_neighbors"), max(n - 1, 1))
        metric = _metric(self.metric)
        seed = self._seed()
        graph = check_choice(self.graph, "graph", ("hash", "minibatch"))
        if graph == "hash":
            mb = as_int(self.max_bucket, "max_bucket")
            lo = _native.default_min_bucket(k, mb) if self.min_bucket is None else self.min_bucket
            family = check_choice(self.hash_family, "hash_family", _native.HASH_FAMILIES)
            tables = build_hasher(
                rows, family, self.n_bits, self.n_levels, self.n_views, lo, mb, seed
            )
            return tables.knn_graph(rows, k, metric, as_int(self.refine, "refine"))
        indptr, indices, dist, _ = _native.minibatch_graph(
            rows, codes, n_classes, as_int(self.batch_size, "batch_size"), k, metric, seed
        )
        return indptr, indices, dist

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        # The quotas first: the core checks reduction before any work.
        q = None if self.reduction is None else class_quotas(codes, n_classes, self.reduction)
        return self._select_quotas(rows, codes, n_classes, q)

    def _select_quotas(
        self,
        rows: Any,
        codes: np.ndarray,
        n_classes: int,
        q: list[int] | None,
        keep_all: bool = False,
    ) -> np.ndarray:
        """The selection with explicit per-class quotas ``q`` (``None``: each class's
        automatic size); partitioned selection calls it with each partition's share
        and ``keep_all`` (every candidate's ``(indices, weights)`` in
        ``self._alternatives``, the raw candidates in ``self._candidates``)."""
        n = codes.shape[0]
        # The core checks their ranges (before the scores, after the graph).
        nt = _auto_or_float(self.noise_threshold, "noise_threshold")
        bw = as_float(self.boundary_weight, "boundary_weight")
        strategy = check_choice(self.strategy, "strategy", _STRATEGIES)
        if strategy == "auto":
            limit = int(_ATTENTION_DEFAULTS["prototypes_max_rows"])
            strategy = "prototypes" if n <= limit else "cover"
        share = _auto_or_float(self.boundary_share, "boundary_share")
        metric = _metric(self.metric)
        difficulty = as_float(self.difficulty_weight, "difficulty_weight")
        max_iter = as_int(self.max_iter, "max_iter")
        stages = _Stages(bool(self.verbose), 3)
        try:
            parts = self._build_graph(rows, codes, n_classes, n)
            stages.step("neighbour graph")
            candidates: list[tuple[float, float, int, int, float]] = []
            alternatives: list[tuple[np.ndarray, np.ndarray]] = []
            if strategy == "cover":
                # The cover has no boundary share and no candidates to rank.
                nt = float(_ATTENTION_DEFAULTS["noise_threshold"]) if nt is None else nt
                score, agreement, _rep, noisy = _native.attention_scores(
                    *parts, codes, n_classes, nt, bw
                )
                stages.step("attention scores")
                idx, weights, hops = _native.attention_select(
                    *parts, codes, n_classes, score, noisy, q
                )
            else:
                (
                    (idx, weights, hops),
                    (score, agreement, _rep, noisy),
                    candidates,
                    chosen,
                    alternatives,
                ) = _native.attention_select_tuned(
                    rows,
                    *parts,
                    codes,
                    n_classes,
                    metric,
                    share,
                    nt,
                    bw,
                    q,
                    difficulty,
                    max_iter,
                    self._seed(),
                    keep_all,
                )
                stages.step("attention scores and candidates")
                if candidates:
                    share, nt = candidates[chosen][:2]
            stages.step("selection")
        finally:
            stages.close()
        self._candidates = candidates
        self._alternatives = alternatives
        self.noise_threshold_ = nt
        self.boundary_share_ = share if strategy == "prototypes" else None
        self.tuning_results_ = [
            {
                "boundary_share": b,
                "noise_threshold": t,
                "holdout_rows": judged,
                "holdout_accuracy": accuracy,
            }
            for b, t, _hits, judged, accuracy in candidates
        ]
        self.scores_ = score
        self.agreement_ = agreement
        self.noisy_ = noisy
        self.graph_ = _to_csr(parts, n)
        self.sample_weight_ = weights
        self.hops_ = hops
        return idx
