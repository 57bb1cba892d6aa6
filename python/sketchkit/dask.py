"""Scale out on Dask: lazy, blockwise projections that ship the seed, not the matrix.

A sketch operator ``S`` of shape ``(k, d)`` is a pure function of its seed, its family
and its parameters: entry ``S[i, j]`` is drawn from a counter-based random stream keyed
by ``(seed, column j)``. A Dask worker therefore needs only those few numbers to apply
``S`` to its rows, never the ``k x d`` matrix: every task of the graphs built here
carries the operator (or fitted transformer) as its parameters, a pickle of a few
hundred bytes whatever ``k`` and ``d``.

Contracts
---------
*Rows are the unit.* For ``X`` of shape ``(n, d)`` split into row chunks
``X_1, ..., X_m``,

.. math::

    X S^{\\top} = \\begin{bmatrix} X_1 S^{\\top} \\\\ \\vdots \\\\ X_m S^{\\top}
    \\end{bmatrix},

and the core computes each output row from its input row alone, in a fixed order, so
the computed Dask result is **bit-identical** to the local one (``S.project(X)`` or
``transformer.transform(X)`` on the NumPy array) for every row chunking, scheduler and
number of workers or threads.

*Column chunks are merged first.* Each output row needs its whole input row; summing
per-column-chunk partial products would change the order of the floating-point sums
and break bit-identity, so an input with several column chunks is rechunked to a
single column chunk (``X.rechunk({1: -1})``) before the blockwise step; its row chunks
are kept. Choose row chunks of ``rows * d`` elements that fit a worker comfortably.

*Dtypes are the local ones.* ``float32`` stays ``float32`` and ``float64`` stays
``float64``; other dtypes follow the local conversion rules. The result's ``dtype``
and ``_meta`` are known without computing anything: when the graph is built, the same
family (or transformer) of shape ``(1, 1)`` is applied to one zero of the input's dtype
and chunk type, which gives the output's type and dtype by the local rules at no cost
and reports a bad dtype or a dimension mismatch at once, with the local error.

*Sparse chunks.* Chunks that are SciPy sparse matrices (CSR or CSC) are projected with
the sparse kernels; with ``dense_output=False`` (operators) or a transformer's
``dense_output=False`` the output chunks are CSR matrices.

*Sketches of rows are tree reductions.* :func:`sketch` computes ``S @ A`` for a
row-chunked ``A`` of shape ``(d, m)``: one task per row chunk builds the mergeable
:class:`sketchkit.stream.RowSketch` state holding those rows (it draws the columns of
``S`` it needs from the seed), and states are merged ``split_every`` at a time up a
tree. The result is bit-identical for every row chunking, tree shape, scheduler and
worker count (the state sums canonical strips on a fixed tree, whatever the order),
and within the rounding bound of :mod:`sketchkit.stream` of ``S.sketch(A)``.

Functions
---------
:func:`project` and :func:`transform` build the lazy projection, :func:`sketch`
the lazy sketch; :func:`fit` and
:func:`fit_transform` fit a transformer on a Dask array (only its shape and dtype are
used: no data are read). ``SketchOperator.project`` and the transformers' ``fit``,
``transform`` and ``fit_transform`` call them when given a Dask array, so
``S.project(X)`` and ``est.fit_transform(X)`` on a Dask ``X`` are lazy too.
:func:`get_client_or_scheduler` turns a ``--scheduler`` value of the command line into
a Dask scheduler.

Importing this module does not import Dask (neither does ``import sketchkit``); the
functions that need it raise :class:`ImportError` with the install command
(``pip install 'sketchkit[dask]'``) when it is missing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ._dask_blocks import (
    _check_dask,
    _one_column_chunk,
    _require_dask,
    _sample,
    _token_of,
    fit,
    fit_transform,
    is_dask_array,
    project,
    transform,
)

if TYPE_CHECKING:
    import dask.array

__all__ = [
    "SCHEDULERS",
    "fit",
    "fit_transform",
    "get_client_or_scheduler",
    "is_dask_array",
    "parse_scheduler",
    "project",
    "sketch",
    "transform",
]

#: The local Dask schedulers :func:`get_client_or_scheduler` accepts by name.
SCHEDULERS = ("threads", "processes", "synchronous")

#: A ``distributed`` scheduler address: ``tcp://host:port``, ``tls://...``, ...
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


# ---------------------------------------------------------------------- S @ A
def _partial_state(block: Any, op: Any, n_columns: int, dtype: str, row: int) -> Any:
    """One task: the mergeable state of ``S @ A`` holding rows ``row : row + len(block)``."""
    from .stream import RowSketch

    state = RowSketch(op, n_columns, dtype=dtype)
    if block.shape[0]:
        state.update(block, row)
    return state


def _merge_states(states: list[Any]) -> Any:
    """One task: the merge of sibling states (copied first: a retried task must see
    its inputs unchanged)."""
    merged = states[0].copy()
    for state in states[1:]:
        merged.merge(state)
    return merged


def _state_result(state: Any) -> Any:
    """The last task: ``S @ A`` from the state holding every row."""
    return state.result()


def sketch(op: Any, A: Any, *, split_every: int = 8) -> dask.array.Array:
    """Sketch the columns of a row-chunked Dask array lazily: ``S @ A``.

    A tree reduction of :class:`sketchkit.stream.RowSketch` states: one task per row
    chunk ``A[r0:r1]`` builds the state holding those rows (columns ``r0:r1`` of ``S``
    are drawn from the seed on the worker), groups of ``split_every`` sibling states
    are merged level by level, and the last task returns the result.

    Parameters
    ----------
    op : SketchOperator
        ``S`` of shape ``(k, d)``; any family but ``"srht"`` (one Hadamard transform
        mixes all ``d`` rows).
    A : dask.array.Array of shape (d, m)
        Row chunks of any known sizes (call ``A.compute_chunk_sizes()`` for unknown
        ones); several column chunks are merged into one first. Chunks may be NumPy
        arrays or SciPy sparse matrices.
    split_every : int, default=8
        How many states one merge task combines (the arity of the tree), ``>= 2``.

    Returns
    -------
    dask.array.Array of shape (k, m)
        One chunk. Once computed, bit-identical to
        ``RowSketch(op, m).update(A.compute(), 0).result()`` for every row chunking,
        ``split_every``, scheduler and worker count, and equal to ``op.sketch(A)``
        within the rounding bound of :mod:`sketchkit.stream` (not bitwise: the one-shot
        kernel sums in another order).

    Raises
    ------
    ValueError
        If ``A`` does not have ``d`` rows or its row chunk sizes are unknown, for
        ``split_every < 2`` or an SRHT operator.
    """
    from dask.base import normalize_token, tokenize
    from dask.highlevelgraph import HighLevelGraph

    from ._operator import SketchOperator
    from .stream import RowSketch

    da = _require_dask()
    if not isinstance(op, SketchOperator):
        raise TypeError(f"op must be a SketchOperator, got {type(op).__name__}")
    A = _check_dask(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D (d, m), got ndim={A.ndim}")
    split_every = int(split_every)
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, got {split_every}")
    if any(np.isnan(c) for c in A.chunks[0]):
        raise ValueError(
            "A has unknown row chunk sizes (nan): call A.compute_chunk_sizes() first; "
            "each chunk's first row must be known to place it"
        )
    op._check_dim(int(A.shape[0]), "A", A.shape, right=False)
    m = int(A.shape[1])
    RowSketch(op, m)  # the core's checks (an SRHT operator, m >= 1), at build time
    A = _one_column_chunk(A)
    # The state's dtype by the local rule: a (1, 1) twin updated with one zero.
    params = op._params()
    tiny = SketchOperator(
        params["family"],
        1,
        1,
        nnz=None if params["nnz"] is None else 1,
        density=None if params["density"] is None else 1.0,
    )
    dtype = RowSketch(tiny, 1).update(_sample(A, 1), 0).result().dtype
    normalize_token.register(SketchOperator)(_token_of)
    name = f"sketchkit-sketch-{tokenize(A.name, op, split_every)}"
    dsk: dict[Any, Any] = {}
    level = []
    row = 0
    for i, rows in enumerate(A.chunks[0]):
        key = (f"{name}-partial", i)
        dsk[key] = (_partial_state, (A.name, i, 0), op, m, dtype.name, row)
        level.append(key)
        row += int(rows)
    depth = 0
    while len(level) > 1:
        merged = []
        for j in range(0, len(level), split_every):
            key = (f"{name}-merge-{depth}", j // split_every)
            dsk[key] = (_merge_states, list(level[j : j + split_every]))
            merged.append(key)
        level, depth = merged, depth + 1
    dsk[(name, 0, 0)] = (_state_result, level[0])
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[A])
    k = op.shape[0]
    return da.Array(graph, name, chunks=((k,), (m,)), dtype=dtype, meta=np.empty((0, 0), dtype))


# ---------------------------------------------------------------------- schedulers
def parse_scheduler(spec: str) -> str:
    """Check a scheduler specification (the command line's ``--scheduler``).

    Parameters
    ----------
    spec : str
        ``"threads"``, ``"processes"``, ``"synchronous"`` (Dask's local schedulers) or
        the address of a ``distributed`` scheduler, ``scheme://host:port`` (e.g.
        ``tcp://10.0.0.1:8786``).

    Returns
    -------
    str
        ``spec``, checked. Dask is not imported.

    Raises
    ------
    ValueError
        For anything else, naming ``scheduler`` and the accepted values.
    """
    if not isinstance(spec, str):
        raise TypeError(f"scheduler must be a string, got {type(spec).__name__}")
    if spec in SCHEDULERS or _ADDRESS.match(spec):
        return spec
    raise ValueError(
        f"scheduler: invalid value {spec!r}; expected one of {', '.join(SCHEDULERS)} "
        "or a distributed scheduler address such as tcp://HOST:PORT"
    )


def get_client_or_scheduler(spec: str) -> Any:
    """The Dask scheduler for a specification checked by :func:`parse_scheduler`.

    Parameters
    ----------
    spec : str
        A local scheduler's name or a ``distributed`` scheduler's address.

    Returns
    -------
    str or distributed.Client
        The name itself for a local scheduler (``dask.compute(..., scheduler=name)``),
        or a :class:`distributed.Client` connected to the address (pass it as
        ``scheduler=`` or use its futures; the caller closes it, e.g. with ``with``).

    Raises
    ------
    ValueError
        For an invalid specification.
    ImportError
        If Dask (or ``distributed``, for an address) is not installed.
    OSError
        If no scheduler answers at the address (``distributed``'s connection
        timeout).
    """
    spec = parse_scheduler(spec)
    _require_dask()
    if spec in SCHEDULERS:
        return spec
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(
            "a scheduler address needs distributed: pip install 'sketchkit[dask]'"
        ) from exc
    return Client(spec, timeout="10s", set_as_default=False)
