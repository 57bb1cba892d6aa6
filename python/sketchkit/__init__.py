"""sketchkit: fast, reproducible randomized sketching with a Rust core.

A sketch operator is a random matrix ``S`` of shape ``(k, d)`` (``k`` much smaller than
``d``) with ``E ||S x||^2 = ||x||^2`` for every ``x``, applied without ever being
stored. Six families are available:

* :func:`gaussian` -- entries ``N(0, 1) / sqrt(k)``;
* :func:`rademacher` -- entries ``±1 / sqrt(k)``;
* :func:`very_sparse` -- Achlioptas / Li et al. entries ``±sqrt(1 / (density k))`` with
  probability ``density / 2`` each, 0 otherwise;
* :func:`sparse_sign` -- exactly ``nnz`` entries ``±1 / sqrt(nnz)`` per column;
* :func:`countsketch` -- one ``±1`` per column;
* :func:`srht` -- subsampled randomized Hadamard transform ``sqrt(d'/k) P H D``, entries
  ``±1 / sqrt(k)``, applied to dense rows with one fast Walsh–Hadamard transform each.

The fast Walsh–Hadamard transform itself is :func:`fwht`, and :func:`hadamard_rotation`
builds random orthogonal matrices ``Q = H D_r ... H D_1`` applied in ``O(d log d)``.

Results are bit-identical for every thread count, chunking of the input and SIMD level.

Operators and :func:`fwht` also run on a GPU with ``device="gpu"`` (wgpu: Vulkan, Metal
or Direct3D 12; float32), drawing the same entries from the same random streams; see
:func:`gpu_available` and :func:`gpu_info`.

Randomized linear algebra on these operators (sketched least squares, randomized
SVD, Nyström, randomly pivoted Cholesky, Hutch++, leverage scores) is
:mod:`sketchkit.linalg`; :class:`RandomizedPCA` is PCA on it that centres sparse input
implicitly.

Data that arrives in row blocks (out of core, in shards, on several processes) is
:mod:`sketchkit.stream`: :class:`~sketchkit.stream.RowSketch` accumulates ``S @ A``
block by block, with results bit-identical for every blocking, arrival order and merge
tree.

The scikit-learn compatible transformers :class:`SparseRandomProjection`,
:class:`GaussianRandomProjection`, :class:`SparseSignProjection`,
:class:`CountSketchProjection` and :class:`SRHTProjection` are imported on first
access, so that ``import sketchkit`` needs only NumPy; using them requires scikit-learn
(and SciPy). They are not part of ``__all__`` for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import linalg, stream
from ._gpu import gpu_available, gpu_info
from ._hadamard import HadamardRotation, InverseHadamardRotation, fwht, hadamard_rotation
from ._jl import johnson_lindenstrauss_min_dim
from ._operator import (
    AdjointOperator,
    SketchOperator,
    countsketch,
    gaussian,
    get_num_threads,
    rademacher,
    set_num_threads,
    set_output_cache,
    simd_level,
    sparse_sign,
    srht,
    very_sparse,
)
from .stream import RowSketch

if TYPE_CHECKING:  # the estimators are loaded lazily by __getattr__ below
    from ._pca import RandomizedPCA  # noqa: F401
    from ._projection import (  # noqa: F401
        CountSketchProjection,
        GaussianRandomProjection,
        SparseRandomProjection,
        SparseSignProjection,
        SRHTProjection,
    )

__version__ = "0.1.0"

__all__ = [
    "AdjointOperator",
    "HadamardRotation",
    "InverseHadamardRotation",
    "RowSketch",
    "SketchOperator",
    "__version__",
    "countsketch",
    "fwht",
    "gaussian",
    "get_num_threads",
    "gpu_available",
    "gpu_info",
    "hadamard_rotation",
    "johnson_lindenstrauss_min_dim",
    "linalg",
    "rademacher",
    "set_num_threads",
    "set_output_cache",
    "simd_level",
    "sparse_sign",
    "srht",
    "stream",
    "very_sparse",
]

_ESTIMATORS = (
    "CountSketchProjection",
    "RandomizedPCA",
    "GaussianRandomProjection",
    "SparseRandomProjection",
    "SparseSignProjection",
    "SRHTProjection",
)


def __getattr__(name: str) -> Any:
    if name == "RandomizedPCA":
        from ._pca import RandomizedPCA

        globals()[name] = RandomizedPCA
        return RandomizedPCA
    if name in _ESTIMATORS:
        try:
            from . import _projection
        except ImportError as exc:
            raise ImportError(
                f"sketchkit.{name} requires scikit-learn and SciPy "
                "(pip install 'sketchkit[sklearn]')"
            ) from exc
        value = getattr(_projection, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sketchkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ESTIMATORS))
