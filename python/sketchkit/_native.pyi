"""Type stubs for the compiled extension ``sketchkit._native`` (rust/sketchkit-py).

The binding converts NumPy buffers (borrowed, never copied), releases the GIL, calls the
Rust core and maps its errors (``TypeError`` for a wrong dtype or type, ``ValueError``
for bad values, ``OverflowError`` for sizes that overflow, ``MemoryError``). The core
decides every rule; the names and defaults it owns are exported below.
"""

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict, TypeVar, overload

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self, final

__all__ = [
    "fastrp",
    "graph_propagate",
    "search_u8",
    "search_u8_limit",
    "search_hamming",
    "SketchOperator",
    "HadamardRotation",
    "RowSketch",
    "fwht_inplace",
    "fwht",
    "all_finite",
    "set_num_threads",
    "set_output_cache",
    "get_num_threads",
    "simd_level",
    "force_simd_level",
    "_panic_in_next_kernel",
    "_sleep_on_workers",
    "_output_cache_state",
    "Hasher",
    "minibatch_graph",
    "exact_graph",
    "refine_graph",
    "graph_recall",
    "attention_scores",
    "attention_select",
    "attention_pooled_choice",
    "attention_select_tuned",
    "stratified_random_select",
    "cnn_select",
    "enn_select",
    "drop3_select",
    "lsh_is_select",
    "kmeans_medoids_select",
    "k_center_select",
    "kernel_herding_select",
    "gpu_available",
    "gpu_info",
    "gpu_project",
    "gpu_fwht",
    "lstsq",
    "sketch_size",
    "randomized_svd",
    "nystrom",
    "rp_cholesky",
    "hutchpp",
    "leverage_scores",
    "linalg_defaults",
    "leverage_sample",
    "sensitivity_sample",
    "logistic_sample",
    "dpp_sample",
    "volume_sample",
    "dpp_marginals",
    "ridge_leverage_scores",
    "lewis_weights",
    "sensitivity_scores",
    "sampling_sample_size",
    "rs2_epoch",
    "rs2_epochs_per_round",
    "sampling_defaults",
    "FAMILIES",
    "SPARSE_FAMILIES",
    "HASH_FAMILIES",
    "METRICS",
    "LSH_VARIANTS",
    "SIMD_LEVELS",
    "DEFAULT_NNZ",
    "hash_defaults",
    "attention_defaults",
    "default_min_bucket",
    "class_quotas",
    "partition_defaults",
    "route_keys",
    "column_means",
    "center_sample",
    "plan_partitions",
    "split_quotas",
    "family_parameters",
    "RandomFeatureMap",
    "sliced_distance",
    "sliced_projections",
]

# Stub-only names (private, so stubtest does not look for them at runtime).
_F = TypeVar("_F", bound=np.float32 | np.float64)  # float element type; results keep the input's
_I = TypeVar("_I", bound=np.int32 | np.int64)  # CSR index type; indices and indptr share it
_FloatArray = NDArray[np.float32] | NDArray[np.float64]
_IndexArray = NDArray[np.int32] | NDArray[np.int64]
_DType = Literal["float32", "float64"]
_Device = Literal["cpu", "gpu"]  # "gpu": float32 only
# Rows of a data set: a 2-D C-contiguous float array, or a canonical CSR tuple
# ``(data, indices, indptr, n_cols)`` (sorted indices, no duplicates).
_Rows = _FloatArray | tuple[_FloatArray, _IndexArray, _IndexArray, int]
_Graph = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]
_Labels = NDArray[np.uint32]  # contiguous class codes in [0, n_classes)
# (family, n_bits, n_levels, n_views, min_bucket, max_bucket, seed, center, width,
#  expansion, fan_in): the arguments of Hasher(x, ...) after x
_HasherConfig = tuple[str, int, int, int, int, int, int, bool, float, int, int]
# (config, n, scale, orders, lcps), the arrays of shape (n_views, n)
_HasherState = tuple[_HasherConfig, int, float, NDArray[np.uint32], NDArray[np.uint16]]

class _Timings(TypedDict):
    upload_s: float
    kernel_s: float
    download_s: float
    chunks: int

class _HashDefaults(TypedDict):
    family: str
    n_bits: int
    n_levels: int
    n_views: int
    min_bucket: int
    max_bucket: int
    center: bool
    width: float
    expansion: int
    fan_in: int

class _AttentionDefaults(TypedDict):
    noise_threshold: float
    boundary_weight: float
    boundary_share_grid: list[float]
    noise_threshold_grid: list[float]
    tune_eval_rows: int
    difficulty_weight: float
    max_iter: int
    prototypes_max_rows: int

# ------------------------------------------------------------------ the core's names
FAMILIES: tuple[str, ...]
"""Sketch family names, in the core's order."""
SPARSE_FAMILIES: tuple[str, ...]
"""The sparse families among ``FAMILIES``."""
HASH_FAMILIES: tuple[str, ...]
"""Hash family names of ``Hasher``."""
METRICS: tuple[str, ...]
"""Metric names of the graph and selection functions."""
LSH_VARIANTS: tuple[str, ...]
"""Variants of ``lsh_is_select``."""
SIMD_LEVELS: tuple[str, ...]
"""SIMD levels the kernels can dispatch to, lowest first."""
DEFAULT_NNZ: int
"""Nonzeros per column of the sparse-sign family when ``nnz`` is not given."""

def hash_defaults() -> _HashDefaults:
    """The core's default hashing parameters."""

def attention_defaults() -> _AttentionDefaults:
    """The core's default attention parameters."""

def default_min_bucket(n_neighbors: int, max_bucket: int) -> int:
    """The core's ``min_bucket`` when none is given."""

def family_parameters(family: str) -> list[str]:
    """The names of the parameters ``family`` takes (``nnz``, ``density``)."""

def class_quotas(counts: Sequence[int], reduction: float) -> list[int]:
    """Rows to keep per class for ``reduction`` (the core's quota rule)."""

# ------------------------------------------------------------ partitioned selection
class _PartitionDefaults(TypedDict):
    route_bits: int
    max_route_bits: int
    center_sample: int
    min_partition_rows: int

def partition_defaults() -> _PartitionDefaults:
    """The core's partitioning constants."""

def route_keys(
    x: _Rows, route_bits: int, seed: int, center: Sequence[float] | None = None
) -> NDArray[np.uint64]:
    """Routing keys of the rows (``route_bits`` SimHash bits relative to ``center``)."""

def column_means(x: _Rows) -> NDArray[np.float64]:
    """Column means in float64, summed in row order."""

def center_sample(n: int, seed: int) -> NDArray[np.int64]:
    """Rows of the centring sample of ``n`` rows, ascending."""

def plan_partitions(
    keys: NDArray[np.uint64], route_bits: int, partition_rows: int
) -> tuple[NDArray[np.uint32], int]:
    """The partition of every row (numbered in key order) and the partition count."""

def split_quotas(quota: Sequence[int], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per-partition, per-class shares of the quotas (largest remainder)."""

# ------------------------------------------------------------------ sketch operator
@final
class SketchOperator:
    """A matrix-free sketch operator ``S`` of shape ``(k, d)``; the core validates
    the parameters and resolves the defaults."""

    def __new__(
        cls,
        family: str,
        k: int,
        d: int,
        seed: int,
        nnz: int | None = None,
        density: float | None = None,
    ) -> Self: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    @property
    def family(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def nnz(self) -> int | None:
        """Nonzeros per column, or None when the family has no such parameter."""
    @property
    def density(self) -> float | None:
        """Nonzero density, or None when the family has no such parameter."""
    @property
    def params(self) -> dict[str, int | float]:
        """The family's own parameters and their values (``{}`` when it has none)."""
    @property
    def padded_dim(self) -> int:
        """``d`` padded as the family needs (next power of two for SRHT)."""
    @property
    def is_sparse(self) -> bool: ...
    @property
    def scale(self) -> float:
        """Magnitude of the nonzero entries (dense families: the entry scale)."""
    def working_bytes(self, itemsize: int) -> float:
        """Bytes the operator's own structures take for entries of ``itemsize`` bytes."""
    def project(self, x: NDArray[_F], device: _Device = "cpu") -> NDArray[_F]:
        """``X @ S.T`` for 2-D ``x`` of shape ``(n, d)`` -> ``(n, k)``."""
    def project_adjoint(self, z: NDArray[_F], device: _Device = "cpu") -> NDArray[_F]:
        """``Z @ S`` for 2-D ``z`` of shape ``(n, k)`` -> ``(n, d)``."""
    def sketch(self, a: NDArray[_F], device: _Device = "cpu") -> NDArray[_F]:
        """``S @ A`` for 2-D ``a`` of shape ``(d, m)`` -> ``(k, m)``."""
    def sketch_adjoint(self, y: NDArray[_F], device: _Device = "cpu") -> NDArray[_F]:
        """``S.T @ Y`` for 2-D ``y`` of shape ``(k, m)`` -> ``(d, m)``."""
    @overload
    def project_csr(
        self,
        data: NDArray[_F],
        indices: NDArray[_I],
        indptr: NDArray[_I],
        n_rows: int,
        sparse_output: Literal[False] = False,
        name: str = "X",
    ) -> NDArray[_F]:
        """``X @ S.T`` for the CSR ``X`` of shape ``(n_rows, d)``: dense, or with
        ``sparse_output`` the result's CSR arrays (int64 indptr only past int32)."""
    @overload
    def project_csr(
        self,
        data: NDArray[_F],
        indices: NDArray[_I],
        indptr: NDArray[_I],
        n_rows: int,
        sparse_output: Literal[True],
        name: str = "X",
    ) -> tuple[NDArray[_F], NDArray[np.int32], NDArray[np.int32] | NDArray[np.int64]]: ...
    @overload
    def project_csr(
        self,
        data: NDArray[_F],
        indices: NDArray[_I],
        indptr: NDArray[_I],
        n_rows: int,
        sparse_output: bool,
        name: str = "X",
    ) -> (
        NDArray[_F] | tuple[NDArray[_F], NDArray[np.int32], NDArray[np.int32] | NDArray[np.int64]]
    ): ...
    def sketch_csr(
        self,
        data: NDArray[_F],
        indices: NDArray[_I],
        indptr: NDArray[_I],
        n_cols: int,
        name: str = "A",
    ) -> NDArray[_F]:
        """``S @ A`` for the CSR ``A`` of shape ``(d, n_cols)`` -> dense ``(k, n_cols)``."""
    @overload
    def to_dense(self, dtype: Literal["float32"]) -> NDArray[np.float32]:
        """``S`` as a dense ``(k, d)`` array."""
    @overload
    def to_dense(self, dtype: Literal["float64"]) -> NDArray[np.float64]: ...
    @overload
    def to_dense(self, dtype: _DType) -> _FloatArray: ...
    @overload
    def to_csc(
        self, dtype: Literal["float32"]
    ) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.int64]]:
        """``S`` as CSC arrays ``(data, indices, indptr)`` (dense families: all entries)."""
    @overload
    def to_csc(
        self, dtype: Literal["float64"]
    ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]: ...
    @overload
    def to_csc(self, dtype: _DType) -> tuple[_FloatArray, NDArray[np.int64], NDArray[np.int64]]: ...

# ------------------------------------------------------------------ streaming
@final
class RowSketch:
    """Streaming, mergeable ``S @ A`` over row blocks of ``A`` (``d × n_columns``);
    the core owns the strips, the summation tree and every check."""

    def __new__(
        cls, operator: SketchOperator, n_columns: int, dtype: str | None = None
    ) -> Self: ...
    @property
    def shape(self) -> tuple[int, int]:
        """``(k, n_columns)``."""
    @property
    def n_columns(self) -> int: ...
    @property
    def dtype(self) -> str | None:
        """``"float32"``, ``"float64"``, or None before the first block."""
    @property
    def strip_rows(self) -> int:
        """Rows of a canonical strip."""
    @property
    def rows_supplied(self) -> int: ...
    @property
    def missing_rows(self) -> list[tuple[int, int]]: ...
    @property
    def operator(self) -> SketchOperator: ...
    def update(self, block: NDArray[np.float32] | NDArray[np.float64], row_offset: int) -> None:
        """Adds rows ``row_offset : row_offset + len(block)``."""
    def update_csr(
        self,
        data: NDArray[np.float32] | NDArray[np.float64],
        indices: NDArray[np.int32] | NDArray[np.int64],
        indptr: NDArray[np.int32] | NDArray[np.int64],
        n_cols: int,
        row_offset: int,
    ) -> None:
        """Adds the CSR rows ``row_offset : row_offset + len(indptr) - 1``."""
    def merge(self, other: RowSketch) -> None:
        """Adds every row ``other`` holds (``other`` unchanged)."""
    def result(self) -> NDArray[np.float32] | NDArray[np.float64]:
        """``S @ A`` of shape ``(k, n_columns)``."""
    def copy(self) -> RowSketch: ...
    def state(
        self,
    ) -> tuple[str | None, list[tuple[int, int, bytes]], list[tuple[int, bytes]]]:
        """``(dtype, nodes, pieces)``, values little-endian."""
    @staticmethod
    def from_state(
        operator: SketchOperator,
        n_columns: int,
        dtype: str | None,
        nodes: list[tuple[int, int, bytes]],
        pieces: list[tuple[int, bytes]],
    ) -> RowSketch:
        """A state rebuilt from :meth:`state` (every part checked)."""

# ------------------------------------------------------------------ Hadamard
@final
class HadamardRotation:
    """Randomized Hadamard rotation ``Q`` of order ``d'`` (next power of two >= d)."""

    def __new__(cls, d: int, rounds: int = 3, seed: int = 0) -> Self: ...
    @property
    def d(self) -> int: ...
    @property
    def dim(self) -> int:
        """``d'``, the order of ``Q``."""
    @property
    def rounds(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def apply(self, x: NDArray[_F]) -> NDArray[_F]:
        """``x_padded @ Q.T`` for 2-D ``x`` of width ``d`` or ``d'`` -> ``(n, d')``."""
    def inverse(self, y: NDArray[_F]) -> NDArray[_F]:
        """``y @ Q`` for 2-D ``y`` of width ``d'`` -> ``(n, d')``."""
    @overload
    def to_dense(self, dtype: Literal["float32"]) -> NDArray[np.float32]:
        """``Q`` as a dense ``(d', d')`` array."""
    @overload
    def to_dense(self, dtype: Literal["float64"]) -> NDArray[np.float64]: ...
    @overload
    def to_dense(self, dtype: _DType) -> _FloatArray: ...

def fwht_inplace(
    x: _FloatArray,
    axis: int,
    normalized: bool,
    device: _Device = "cpu",
    check_finite: bool = True,
) -> None:
    """In-place FWHT along ``axis`` (0 or 1) of a writable 2-D array (power-of-two length)."""

def fwht(
    x: object,
    axis: int = -1,
    *,
    normalized: bool = False,
    inplace: bool = False,
    check_finite: bool = True,
    device: _Device = "cpu",
) -> _FloatArray:
    """The public ``sketchkit.fwht`` (full docstring at run time): the 1-D in-place
    fast path natively, every other call through ``_hadamard._fwht_general``."""

def all_finite(x: _FloatArray) -> bool:
    """True when every element of ``x`` (any shape, any strides) is finite."""

# ------------------------------------------------------------------ runtime settings
def set_num_threads(n: int) -> None:
    """Sets the crate's thread count, ``1 <= n <= 4 * CPUs`` (else ``ValueError``)."""

def set_output_cache(max_bytes: int) -> int:
    """Caps the bytes of freed large results kept for reuse (0: off); returns the old cap."""

def _output_cache_state() -> tuple[int, int]:
    """Testing hook: ``(blocks, bytes)`` the result cache holds now."""

def get_num_threads() -> int:
    """The crate's thread count (``ValueError`` naming an invalid ``SKETCHKIT_NUM_THREADS``)."""

def _panic_in_next_kernel() -> None:
    """Testing hook: the next call on the crate's workers panics inside its job."""

def _sleep_on_workers(seconds: float) -> None:
    """Testing hook: occupies a worker of the crate's pools for ``seconds``."""

def simd_level() -> str:
    """The level of ``SIMD_LEVELS`` the kernels dispatch to on this CPU."""

def force_simd_level(level: str | None = None) -> None:
    """Testing hook: caps the SIMD level (a name of ``SIMD_LEVELS``); None restores it."""

# ------------------------------------------------------------------ instance selection
@final
class Hasher:
    """Multi-level, multi-view hash tables over the rows of ``x``."""

    def __new__(
        cls,
        x: _Rows,
        family: str,
        n_bits: int,
        n_levels: int,
        n_views: int,
        min_bucket: int,
        max_bucket: int,
        seed: int,
        center: bool = True,
        width: float = 4.0,
        expansion: int = 8,
        fan_in: int = 6,
    ) -> Self: ...
    def state(self) -> _HasherState:
        """The fitted tables' state, for pickling; ``Hasher.from_state(*state)``."""
    @staticmethod
    def from_state(
        config: _HasherConfig,
        n: int,
        scale: float,
        orders: NDArray[np.uint32],
        lcps: NDArray[np.uint16],
    ) -> Hasher:
        """Tables rebuilt from :meth:`state` (the state is checked)."""
    @property
    def n(self) -> int: ...
    @property
    def scale(self) -> float: ...
    def levels(self) -> NDArray[np.uint8]:
        """Per row and view, the level of its bucket: ``(n, n_views)``."""
    def bucket_sizes(self) -> NDArray[np.uint32]: ...
    def bucket_ids(self) -> NDArray[np.uint64]: ...
    def level_ids(self, level: int) -> NDArray[np.uint32]: ...
    def window_sizes(self) -> NDArray[np.uint32]: ...
    def view_seed(self, view: int) -> int: ...
    def codes(self, x: _Rows, view: int) -> NDArray[np.uint16]:
        """Hash codes of the rows of ``x`` in ``view``: ``(n, n_bits)``."""
    def knn_graph(self, x: _Rows, n_neighbors: int, metric: str, refine: int = 0) -> _Graph:
        """kNN graph ``(indptr, indices, distances)`` from the buckets."""

def minibatch_graph(
    x: _Rows,
    y: _Labels | None,
    n_classes: int,
    batch_size: int,
    n_neighbors: int,
    metric: str,
    seed: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.uint32]]:
    """Mini-batch kNN graph: ``(indptr, indices, distances, batch)``."""

def exact_graph(x: _Rows, n_neighbors: int, metric: str) -> _Graph:
    """Exact (brute-force) kNN graph."""

def refine_graph(
    x: _Rows,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    n_neighbors: int,
    metric: str,
) -> _Graph:
    """One round of neighbour-of-neighbour refinement."""

def graph_recall(
    x: _Rows,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    sample: NDArray[np.int64],
    n_neighbors: int,
    metric: str,
) -> float:
    """Recall of the graph against exact kNN on the ``sample`` rows."""

def attention_scores(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    y: _Labels,
    n_classes: int,
    noise_threshold: float,
    boundary_weight: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """``(score, agreement, representativeness, noisy)`` per row."""

def attention_select(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    y: _Labels,
    n_classes: int,
    score: NDArray[np.float64],
    noisy: NDArray[np.bool_],
    quota: Sequence[int] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Coverage-aware selection: ``(indices, weights, hops)``."""

def attention_select_tuned(
    x: _Rows,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    y: _Labels,
    n_classes: int,
    metric: str,
    boundary_share: float | None,
    noise_threshold: float | None,
    boundary_weight: float,
    quota: Sequence[int] | None,
    difficulty_weight: float,
    max_iter: int,
    seed: int,
    keep_all: bool = False,
) -> tuple[
    tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]],
    tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]],
    list[tuple[float, float, int, int, float]],
    int,
    list[tuple[NDArray[np.int64], NDArray[np.float64]]],
]:
    """Prototype selection guided by the scores, ``boundary_share`` and
    ``noise_threshold`` chosen by held-out 1-NN accuracy when ``None``:
    ``((indices, weights, hops), (score, agreement, representativeness, noisy),
    candidates, chosen, all)``; each candidate is ``(boundary_share,
    noise_threshold, hits, judged, accuracy)``, empty when both were given; ``all`` holds
    every candidate's ``(indices, weights)`` with ``keep_all``, else nothing."""

def attention_pooled_choice(parts: Sequence[Sequence[tuple[float, float, int, int]]]) -> int:
    """Index of the candidate that parts of one data set share: the most accurate by
    hits and judged rows summed over the parts (ties: the earliest)."""

# Baselines: each returns the kept row indices (int64, ascending).
def stratified_random_select(
    y: _Labels, n_classes: int, quota: Sequence[int], seed: int
) -> NDArray[np.int64]: ...
def cnn_select(
    x: _Rows, y: _Labels, n_classes: int, metric: str, seed: int
) -> NDArray[np.int64]: ...
def enn_select(
    x: _Rows, y: _Labels, n_classes: int, n_neighbors: int, metric: str
) -> NDArray[np.int64]: ...
def drop3_select(
    x: _Rows, y: _Labels, n_classes: int, n_neighbors: int, metric: str
) -> NDArray[np.int64]: ...
def lsh_is_select(
    x: _Rows,
    y: _Labels,
    n_classes: int,
    variant: str,
    n_tables: int,
    n_funcs: int,
    width: float,
    seed: int,
) -> NDArray[np.int64]: ...
def kmeans_medoids_select(
    x: _Rows, y: _Labels, n_classes: int, quota: Sequence[int], max_iter: int, seed: int
) -> NDArray[np.int64]: ...
def k_center_select(
    x: _Rows, y: _Labels, n_classes: int, quota: Sequence[int]
) -> NDArray[np.int64]: ...
def kernel_herding_select(
    x: _Rows, y: _Labels, n_classes: int, quota: Sequence[int], seed: int
) -> NDArray[np.int64]: ...

# ------------------------------------------------------------------ GPU backend
def gpu_available() -> bool:
    """Whether a GPU adapter can be used (False when built without the backend)."""

def gpu_info() -> dict[str, str]:
    """The adapter's name, backend, device_type and driver; RuntimeError if none."""

def gpu_project(
    op: SketchOperator,
    x: NDArray[np.float32],
    adjoint: bool = False,
    max_chunk_bytes: int | None = None,
    name: str = "X",
) -> tuple[NDArray[np.float32], _Timings]:
    """``x @ S.T`` (``x @ S`` if ``adjoint``) on the GPU, in chunks; result and timings."""

def gpu_fwht(
    x: NDArray[np.float32],
    axis: int,
    normalized: bool,
    max_chunk_bytes: int | None = None,
) -> _Timings:
    """In-place FWHT along ``axis`` (0 or 1) of a writable 2-D float32 array on the GPU."""

# ------------------------------------------------------- randomized linear algebra
# A matrix argument is a 2-D float array, ("csr" | "csc", data, indices, indptr,
# n_rows, n_cols) or ("op", matmat, rmatmat, None, n_rows, n_cols, dtype).
_Matrix = Any

class _LstsqDict(TypedDict):
    x: _FloatArray
    residual_norm: list[float]
    iterations: int
    converged: bool
    method: str
    sketch_size: int
    history: list[float]

class _LinalgDefaults(TypedDict):
    methods: list[str]
    guarantees: list[str]
    leverage_methods: list[str]
    precondition_ratio: int
    eps: float
    delta: float
    n_oversamples: int
    block_size: int
    svd_sketch: str

def lstsq(
    a: _Matrix,
    b: _FloatArray,
    method: str,
    sketch: str,
    sketch_size: int | None,
    rtol: float | None,
    maxiter: int | None,
    reg: float,
    guarantee: str,
    eps: float,
    delta: float,
    seed: int,
) -> _LstsqDict:
    """The core's sketched least squares (see ``sketchkit.linalg.lstsq``)."""

def sketch_size(n: int, d: int, eps: float, delta: float, guarantee: str, sketch: str) -> int:
    """The core's sketch-size calculator."""

def randomized_svd(
    a: _Matrix,
    n_components: int,
    n_oversamples: int,
    n_iter: int | None,
    sketch: str,
    transpose: bool | None,
    flip: str,
    tol: float | None,
    block_size: int,
    seed: int,
    center: bool,
) -> tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray | None, float | None]:
    """``(U, s, Vt, mean, ss)``; with ``center``, the column means and ``||A - 1 mean^T||_F^2``."""

def nystrom(
    a: _Matrix, rank: int, n_oversamples: int, seed: int
) -> tuple[_FloatArray, _FloatArray]:
    """``(U, lambda)`` of the stabilised Nyström approximation."""

def rp_cholesky(
    diag: NDArray[np.float64],
    rank: int,
    block_size: int,
    tol: float,
    seed: int,
    columns: Callable[[NDArray[np.float64]], NDArray[np.float64]],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``(F, pivots)`` of randomly pivoted Cholesky."""

def hutchpp(
    matmat: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    n: int,
    n_queries: int,
    seed: int,
) -> float:
    """Hutch++ trace estimate."""

def leverage_scores(a: _Matrix, method: str, eps: float, seed: int) -> _FloatArray:
    """Leverage scores of the rows of ``a``."""

def linalg_defaults() -> _LinalgDefaults:
    """The core's linear-algebra names and defaults."""

# ------------------------------------------------------------------ row sampling
# `n_samples`: None (the method's rule), an int (a count) or a float (a fraction).
_NSamples = int | float | None
_Codes = NDArray[np.uint32] | None
_Sample = tuple[NDArray[np.int64], NDArray[np.float64]]

class _SamplingDefaults(TypedDict):
    eps: float
    delta: float
    floor: float
    rs2_ratio: float
    pilot: float
    ridge: float
    stages: int
    calibration_ridge: float
    logistic_floor: float
    sensitivities: list[str]
    dpp_methods: list[str]
    volume_schemes: list[str]
    leverage_methods: list[str]

def leverage_sample(
    x: NDArray[np.float64],
    codes: _Codes,
    n_classes: int,
    n_samples: _NSamples,
    ridge: float,
    method: str,
    floor: float,
    eps: float,
    delta: float,
    seed: int,
) -> _Sample:
    """Leverage-score sampling (ridge leverage when ``ridge > 0``), stratified by ``codes``."""

def sensitivity_sample(
    x: NDArray[np.float64],
    codes: _Codes,
    n_classes: int,
    n_samples: _NSamples,
    p: float,
    sensitivity: str,
    method: str,
    floor: float,
    eps: float,
    delta: float,
    seed: int,
) -> _Sample:
    """ℓp sensitivity sampling, stratified by ``codes``."""

def logistic_sample(
    x: NDArray[np.float64],
    codes: NDArray[np.uint32],
    n_samples: _NSamples,
    pilot: float,
    stages: int,
    ridge: float,
    floor: float,
    calibration: float | None,
    eps: float,
    delta: float,
    seed: int,
) -> _Sample:
    """Logistic-regression coreset (pilot fit, then staged gradient-norm draws, weights
    raked with ridge `calibration` unless `None`); `codes` are the two-class labels 0/1
    (not a stratification)."""

def dpp_sample(
    x: NDArray[np.float64],
    codes: _Codes,
    n_classes: int,
    n_samples: _NSamples,
    method: str,
    seed: int,
) -> _Sample:
    """DPP sampling (projection DPP, k-DPP or the approximate sampler), stratified."""

def volume_sample(
    x: NDArray[np.float64],
    codes: _Codes,
    n_classes: int,
    n_samples: _NSamples,
    scheme: str,
    seed: int,
) -> _Sample:
    """Volume-rescaled or repeated-DPP sampling, stratified."""

def dpp_marginals(x: NDArray[np.float64], n_samples: _NSamples) -> NDArray[np.float64]:
    """Inclusion probabilities of the DPP ``dpp_sample`` draws for ``n_samples``."""

def ridge_leverage_scores(
    x: NDArray[np.float64], ridge: float, method: str, seed: int
) -> NDArray[np.float64]:
    """Ridge leverage scores (``ridge = 0``: the leverage scores)."""

def lewis_weights(x: NDArray[np.float64], p: float, method: str, seed: int) -> NDArray[np.float64]:
    """ℓp Lewis weights."""

def sensitivity_scores(
    x: NDArray[np.float64], p: float, sensitivity: str, method: str, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
    """ℓp sensitivity bounds: ``(scores, probs, total, rank)``."""

def sampling_sample_size(
    p: float, total: float, rank: float, eps: float, delta: float, hybrid: bool
) -> int:
    """The ℓp sensitivity-sampling sample-size rule."""

def rs2_epoch(
    n_rows: int,
    n_samples: _NSamples,
    seed: int,
    epoch: int,
    codes: _Codes = None,
    n_classes: int = 0,
) -> NDArray[np.int64]:
    """The rows of RS2 epoch ``epoch`` (training order; class by class when ``codes`` given)."""

def rs2_epochs_per_round(n_rows: int, n_samples: _NSamples) -> int:
    """Epochs per round of RS2 (``E``): the first ``E`` epochs partition the rows."""

def sampling_defaults() -> _SamplingDefaults:
    """The core's sampling names and defaults."""

# ------------------------------------------------------------------ graphs and codes
def fastrp(
    data: _FloatArray,
    indices: _IndexArray,
    indptr: _IndexArray,
    n_cols: int,
    features: NDArray[np.float32] | None,
    embedding_dim: int,
    iteration_weights: Sequence[float],
    normalization_strength: float,
    node_self_influence: float,
    property_ratio: float,
    density: float,
    weighted: bool,
    undirected: bool,
    seed: int,
) -> NDArray[np.float32]:
    """FastRP embedding (n × embedding_dim) of the CSR adjacency ``(data, indices,
    indptr)``; ``undirected`` checks that it is symmetric."""

def graph_propagate(
    data: _FloatArray,
    indices: _IndexArray,
    indptr: _IndexArray,
    n_cols: int,
    x: NDArray[np.float32],
    weighted: bool = True,
    scale: Literal["sum", "mean", "l2"] = "mean",
) -> NDArray[np.float32]:
    """``A @ x`` with rows scaled (``"mean"``: by the row's weight sum)."""

def search_u8(
    codes: NDArray[np.uint8], queries: NDArray[np.int16], k: int
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Top-``k`` exact integer inner products of each query with the codes."""

def search_u8_limit(d: int) -> int:
    """The largest ``|q_j|`` :func:`search_u8` accepts for ``d`` columns."""

def search_hamming(
    codes: NDArray[np.uint8], queries: NDArray[np.uint8], k: int
) -> tuple[NDArray[np.int64], NDArray[np.uint32]]:
    """Top-``k`` nearest packed binary codes in Hamming distance."""

# ------------------------------------------------------------------ random features
@final
class RandomFeatureMap:
    """A random feature map ``z: R^d -> R^D`` (``map``: 'fourier', 'orthogonal',
    'structured', 'relu'; ``kernel``: 'rbf', 'laplacian', 'cauchy')."""

    def __new__(
        cls,
        map: str,
        kernel: str,
        d: int,
        n_components: int,
        gamma: float,
        weight_scale: float = 1.0,
        weight_mean: float = 0.0,
        seed: int = 0,
    ) -> Self: ...
    @property
    def d(self) -> int: ...
    @property
    def n_components(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def transform(self, x: NDArray[_F]) -> NDArray[_F]:
        """``z(x)`` for 2-D ``x`` of width ``d`` -> ``(n, n_components)``, same dtype."""
    def weights(self) -> NDArray[np.float64]:
        """The weights ``W`` of shape ``(n_components, d)``."""
    def offsets(self) -> NDArray[np.float64] | None:
        """The phases ``b`` (``None`` for ReLU features)."""

# ------------------------------------------------------------------ sliced distances
def sliced_distance(
    x: _FloatArray,
    y: _FloatArray,
    a: NDArray[np.float64] | None,
    b: NDArray[np.float64] | None,
    n_projections: int,
    cost: str,
    p: float,
    control_variates: str,
    seed: int,
) -> tuple[float, float, float, float, NDArray[np.float64]]:
    """``(value, std_error, mc_value, mc_std_error, per_projection)`` of the sliced
    Wasserstein (``cost='wasserstein'``, ``SW_p^p``) or energy (``'energy'``) estimate."""

def sliced_projections(d: int, n_projections: int, seed: int) -> NDArray[np.float64]:
    """The unit directions ``(n_projections, d)`` of ``sliced_distance`` for ``seed``."""
