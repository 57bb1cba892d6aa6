"""Type stubs for the compiled extension ``sketchkit._native``.

The binding layer is deliberately thin: every function here converts NumPy buffers
(borrowed, never copied), releases the GIL, calls the Rust core crate and maps its
errors to Python exceptions (``ValueError`` for bad arguments, ``OverflowError`` for
sizes whose products overflow, ``MemoryError`` for failed allocations).

All array arguments must already be validated by the Python layer for dtype:
float arrays are ``float32`` or ``float64`` (both operands of one call share a dtype),
sparse index arrays are ``int32`` or ``int64``. Strides may be arbitrary (C order,
F order, slices with steps); the result is a freshly allocated array of the input's
float dtype.
"""

from typing import Literal

import numpy as np
from numpy.typing import NDArray

Family = Literal["gaussian", "rademacher", "very_sparse", "sparse_sign", "countsketch", "srht"]
FloatArray = NDArray[np.float32] | NDArray[np.float64]
IndexArray = NDArray[np.int32] | NDArray[np.int64]

class SketchOperator:
    """A matrix-free sketch operator ``S`` of shape ``(k, d)``.

    Entries are pure functions of ``(seed, family, parameters, index)`` drawn from a
    Philox4x32-10 counter stream; results are bit-identical for any thread count and
    any chunking of the input rows.

    Family ``"srht"`` is the subsampled randomized Hadamard transform
    ``S = sqrt(d'/k) · P · H · D`` with ``d' = next power of two >= d`` (inputs are
    zero-padded to ``d'`` inside the operator), ``H`` the orthonormal Walsh–Hadamard
    matrix of order ``d'``, ``D`` random signs and ``P`` ``k`` distinct rows of
    ``H`` sampled uniformly without replacement (``k <= d'``). Its entries are
    ``±1/sqrt(k)``. Sparse inputs to the SRHT (like the dense families) use the
    materialized ``S`` (``k·d`` entries).
    """

    def __init__(
        self,
        family: Family,
        k: int,
        d: int,
        seed: int,
        nnz: int = 8,
        density: float = 1.0,
    ) -> None: ...
    @property
    def shape(self) -> tuple[int, int]: ...
    @property
    def family(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def nnz(self) -> int: ...
    @property
    def density(self) -> float: ...
    @property
    def scale(self) -> float:
        """Magnitude of every nonzero entry (sparse families) or the entry scale
        ``1/sqrt(k)`` (dense families)."""
    def project(self, x: FloatArray) -> FloatArray:
        """``X @ S.T`` for dense ``x`` of shape ``(n, d)`` -> ``(n, k)``."""
    def project_adjoint(self, z: FloatArray) -> FloatArray:
        """``Z @ S`` for dense ``z`` of shape ``(n, k)`` -> ``(n, d)``."""
    def sketch(self, a: FloatArray) -> FloatArray:
        """``S @ A`` for dense ``a`` of shape ``(d, m)`` -> ``(k, m)``."""
    def sketch_adjoint(self, y: FloatArray) -> FloatArray:
        """``S.T @ Y`` for dense ``y`` of shape ``(k, m)`` -> ``(d, m)``."""
    def project_csr(
        self,
        data: FloatArray,
        indices: IndexArray,
        indptr: IndexArray,
        n_rows: int,
        sparse_output: bool = False,
    ) -> FloatArray | tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
        """``X @ S.T`` for a CSR matrix ``X`` of shape ``(n_rows, d)``.

        Returns a dense ``(n_rows, k)`` array, or with ``sparse_output=True`` the CSR
        triple ``(data, indices, indptr)`` of the ``(n_rows, k)`` result with explicit
        zeros dropped. Also computes ``(S @ A).T`` for a CSC matrix ``A`` of shape
        ``(d, n_rows)`` (the same three arrays)."""
    def sketch_csr(
        self,
        data: FloatArray,
        indices: IndexArray,
        indptr: IndexArray,
        n_cols: int,
    ) -> FloatArray:
        """``S @ A`` for a CSR matrix ``A`` of shape ``(d, n_cols)`` -> dense ``(k, n_cols)``.

        Also computes ``(X @ S.T).T`` for a CSC matrix ``X`` of shape ``(n_cols, d)``."""
    def to_dense(self, dtype: Literal["float32", "float64"]) -> FloatArray:
        """Materialize ``S`` as a dense ``(k, d)`` array."""
    def to_csc(
        self, dtype: Literal["float32", "float64"]
    ) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
        """CSC triple ``(data, indices, indptr)`` of ``S`` (every family; dense
        families give all ``k*d`` entries)."""

class HadamardRotation:
    """Randomized Hadamard rotation ``Q = H D_r ··· H D_2 H D_1`` of order
    ``d' = next power of two >= d`` (``H`` orthonormal, ``D_i`` random signs from the
    Philox stream): an orthogonal ``d' × d'`` matrix applied in ``O(d' log d')``."""

    def __init__(self, d: int, rounds: int = 3, seed: int = 0) -> None: ...
    @property
    def d(self) -> int:
        """Input dimension ``d`` (inputs of width ``d < d'`` are zero-padded)."""
    @property
    def dim(self) -> int:
        """``d'``, the order of ``Q``."""
    @property
    def rounds(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def apply(self, x: FloatArray) -> FloatArray:
        """Rows of ``x`` (``(n, d)`` or ``(n, d')``) rotated: ``x_padded @ Q.T`` ->
        ``(n, d')``."""
    def inverse(self, y: FloatArray) -> FloatArray:
        """Rows of ``y`` (``(n, d')``) rotated back: ``y @ Q`` -> ``(n, d')``."""
    def to_dense(self, dtype: Literal["float32", "float64"]) -> FloatArray:
        """``Q`` as a dense ``(d', d')`` array."""

def fwht_inplace(x: FloatArray, axis: int, normalized: bool) -> None:
    """In-place fast Walsh–Hadamard transform (natural/Hadamard order) of every 1-D
    slice of the writable 2-D array ``x`` along ``axis`` (0 or 1); the length along
    ``axis`` must be a power of two in ``[1, 2^30]``. Unnormalized (``H x``, so
    ``H(Hx) = n x``) or orthonormal (``H x / sqrt(n)``). Any strides; rows or columns
    are transformed in parallel; bit-identical for every thread count and SIMD
    level."""

def fwht_vec(x: object, normalized: bool) -> bool:
    """Fast path of ``fwht(x, inplace=True)`` for a contiguous writable 1-D float
    array of power-of-two length (returns False, touching nothing, otherwise)."""

def all_finite(x: FloatArray) -> bool:
    """True when every element of ``x`` (any shape, any strides) is finite."""

def set_num_threads(n: int) -> None:
    """Size of the crate's own thread pool (``n >= 1``); rebuilds the pool."""

def get_num_threads() -> int: ...
def simd_level() -> str:
    """The SIMD instruction set the kernels dispatch to on this CPU
    (``"avx512"``, ``"avx2"``, ``"neon"`` or ``"scalar"``)."""

def force_simd_level(level: str | None) -> None:
    """Testing hook: cap the dispatched SIMD level (``"scalar"``, ``"avx2"``, ...);
    ``None`` restores detection. Results are bit-identical across levels."""

# ---------------------------------------------------------------- instance selection
# ``Rows`` is a C-contiguous 2-D float32/float64 array or a canonical CSR tuple
# ``(data, indices, indptr, n_cols)``; label codes are contiguous uint32 arrays.
Rows = FloatArray | tuple[FloatArray, NDArray[np.integer], NDArray[np.integer], int]
Graph = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]
F64 = NDArray[np.float64]

class Hasher:
    """Multi-level, multi-view hash tables over the rows of ``x``."""
    def __init__(
        self,
        x: Rows,
        family: Literal["simhash", "e2lsh", "flyhash"],
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
    ) -> None: ...
    @property
    def n(self) -> int: ...
    @property
    def scale(self) -> float: ...
    def levels(self) -> NDArray[np.uint8]: ...
    def bucket_sizes(self) -> NDArray[np.uint32]: ...
    def bucket_ids(self) -> NDArray[np.uint64]: ...
    def level_ids(self, level: int) -> NDArray[np.uint32]: ...
    def window_sizes(self) -> NDArray[np.uint32]: ...
    def view_seed(self, view: int) -> int: ...
    def codes(self, x: Rows, view: int) -> NDArray[np.uint16]: ...
    def knn_graph(self, x: Rows, n_neighbors: int, metric: str, refine: int = 0) -> Graph: ...

def minibatch_graph(
    x: Rows,
    y: NDArray[np.uint32] | None,
    n_classes: int,
    batch_size: int,
    n_neighbors: int,
    metric: str,
    seed: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.uint32]]: ...
def exact_graph(x: Rows, n_neighbors: int, metric: str) -> Graph: ...
def graph_recall(
    x: Rows,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    sample: NDArray[np.int64],
    n_neighbors: int,
    metric: str,
) -> float: ...
def attention_scores(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    y: NDArray[np.uint32],
    n_classes: int,
    noise_threshold: float,
    boundary_weight: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]: ...
def attention_select(
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    y: NDArray[np.uint32],
    n_classes: int,
    score: NDArray[np.float64],
    noisy: NDArray[np.bool_],
    quota: list[int] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]: ...
def refine_graph(
    x: Rows,
    indptr: NDArray[np.int64],
    indices: NDArray[np.int64],
    distances: NDArray[np.float64],
    n_neighbors: int,
    metric: str,
) -> Graph: ...
def stratified_random_select(
    y: NDArray[np.uint32], n_classes: int, quota: list[int], seed: int
) -> NDArray[np.int64]: ...
def cnn_select(
    x: Rows, y: NDArray[np.uint32], n_classes: int, metric: str, seed: int
) -> NDArray[np.int64]: ...
def enn_select(
    x: Rows, y: NDArray[np.uint32], n_classes: int, n_neighbors: int, metric: str
) -> NDArray[np.int64]: ...
def drop3_select(
    x: Rows, y: NDArray[np.uint32], n_classes: int, n_neighbors: int, metric: str
) -> NDArray[np.int64]: ...
def lsh_is_select(
    x: Rows,
    y: NDArray[np.uint32],
    n_classes: int,
    variant: str,
    n_tables: int,
    n_funcs: int,
    width: float,
    seed: int,
) -> NDArray[np.int64]: ...

# GPU backend (wgpu). Timings: upload_s, kernel_s, download_s (float) and chunks (int).
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
) -> tuple[NDArray[np.float32], dict[str, float]]:
    """``x @ S.T`` (or ``x @ S`` when ``adjoint``) on the GPU for 2-D float32 ``x``,
    streamed in chunks of at most ``max_chunk_bytes`` per buffer; returns the result and
    the phase timings."""

def gpu_fwht(
    x: NDArray[np.float32], axis: int, normalized: bool, max_chunk_bytes: int | None = None
) -> dict[str, float]:
    """In-place FWHT along ``axis`` (0 or 1) of a writable 2-D float32 array on the GPU;
    returns the phase timings."""
