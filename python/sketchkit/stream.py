"""Streaming and out-of-core sketching: data that arrives in row blocks.

Two directions of a sketch operator ``S`` (``k × d``) work on row blocks:

* **Projections** ``X @ S.T`` (``X`` of shape ``n × d``) are row-local: each block of
  rows of ``X`` gives the same rows of the result. :func:`project_blocks` maps a
  transformer or an operator over the blocks :func:`iter_blocks` reads.
* **Sketches** ``S @ A`` (``A`` of shape ``d × m``) sum over the rows of ``A``: rows
  ``r0:r1`` of ``A`` meet columns ``r0:r1`` of ``S``, which are generated from the seed
  alone. :class:`RowSketch` accumulates the sum over blocks that arrive in any order,
  on any process, and merges partial states; :func:`sketch_blocks` runs it over a
  source.

Contract of :class:`RowSketch`
    The result is a pure function of ``(S, A)``: **bit-identical for every blocking of
    the rows, every arrival order, every merge tree, every process and thread count**.
    It equals the one-shot :meth:`sketchkit.SketchOperator.sketch` within rounding (not bitwise:
    the one-shot kernel sums in another order).

    This is reached with *canonical strips* of ``B = max(4096, 4 · 2^⌈log2 k⌉)`` rows (a
    function of the operator alone, :attr:`RowSketch.strip_rows`): the partial
    ``P_s = S[:, s·B:(s+1)·B] @ A[s·B:(s+1)·B]`` of strip ``s`` is computed from the
    whole strip by one kernel, and the partials are summed on a *fixed binary tree*
    over strip indices (pairwise summation; node ``(h, a)`` is the sum of strips
    ``[a·2^h, (a+1)·2^h)``, its left child alone when the right child would start at
    or beyond the last strip). A block that starts or ends inside a strip leaves the
    cut strip's rows buffered (copied: fewer than ``B`` rows per side) until the rest
    of the strip arrives by another update or a merge. A state keeps ``O(log(d/B))``
    partials of ``k × m`` values for contiguous input.

    Rounding: with ``u`` the unit roundoff of the dtype (``2^-24`` for float32,
    ``2^-53`` for float64), ``n = min(B, d) + ⌈log2(#strips)⌉ + 1`` and
    ``γ_n = n u / (1 - n u)``, every element satisfies

    .. math::

        |R - S A| \\le \\gamma_n \\, (|S| \\, |A|)

    (each strip partial is an ascending chain of at most ``min(B, d)`` roundings, plus
    the scale of the sparse families; the tree adds ``⌈log2(#strips)⌉`` more).

The SRHT is not block-local (one Hadamard transform mixes all ``d`` rows) and is
refused.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

from . import _native
from ._operator import SketchOperator, _as_int64
from ._validation import _float_dtype_for, as_dense, as_int, as_sparse, float_dtype_name, is_sparse

__all__ = ["RowSketch", "iter_blocks", "list_shards", "project_blocks", "sketch_blocks"]

FloatArray = NDArray[np.floating[Any]]

#: Rows per block that :func:`iter_blocks` cuts arrays, memory maps and Parquet files
#: into when ``block_rows`` is not given.
DEFAULT_BLOCK_ROWS = 65536

#: What :func:`iter_blocks` reads: an array (or memory map), a SciPy sparse matrix, a
#: path (``.npy``, ``.parquet``, a directory or a glob of them), a pyarrow
#: ``RecordBatch``/``Table``/``Dataset``, or an iterable of 2-D arrays.
BlockSource = Union[np.ndarray, str, "os.PathLike[str]", Iterable[Any], Any]

_SHARD_SUFFIXES = (".npy", ".parquet")


class RowSketch:
    """Streaming, mergeable sketch ``S @ A`` of a matrix ``A`` supplied in row blocks.

    ``A`` has shape ``(d, n_columns)`` with ``d`` the operator's input dimension; rows
    arrive as blocks ``A[r0:r1]`` in any order (:meth:`update`), possibly into different
    states on different processes that are then combined (:meth:`merge`, pickling).
    Once every row ``0..d`` has arrived exactly once, :meth:`result` returns

    .. math::

        S A = \\sum_{s} S_{:, \\mathrm{strip}_s} \\, A_{\\mathrm{strip}_s} ,

    summed over canonical strips on a fixed tree, so that the result is bit-identical
    for every blocking, arrival order, merge tree, process and thread count, and
    within ``γ_n (|S| |A|)`` of the exact product (see :mod:`sketchkit.stream` for the
    construction and the bound).

    Parameters
    ----------
    operator : SketchOperator
        The operator ``S`` (``k × d``); any family but ``"srht"``.
    n_columns : int
        Columns ``m`` of ``A``.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        Element type of the state and the result. ``None`` fixes it at the first block
        (or merge). Blocks of the other float type are an error, never cast.

    Raises
    ------
    ValueError
        For an SRHT operator (naming ``operator``), ``n_columns < 1``, a dtype other
        than float32/float64.

    Examples
    --------
    >>> import numpy as np
    >>> import sketchkit as sk
    >>> from sketchkit.stream import RowSketch
    >>> A = np.arange(20000.0).reshape(10000, 2) % 7
    >>> op = sk.countsketch(16, 10000, seed=0)
    >>> left, right = RowSketch(op, 2), RowSketch(op, 2)
    >>> _ = right.update(A[6000:], 6000)
    >>> _ = left.update(A[:6000], 0)
    >>> R = left.merge(right).result()
    >>> bool(np.allclose(R, op.sketch(A)))
    True
    """

    __slots__ = ("_native", "_operator")

    def __init__(
        self, operator: SketchOperator, n_columns: int, *, dtype: DTypeLike | None = None
    ) -> None:
        if not isinstance(operator, SketchOperator):
            raise TypeError(f"operator must be a SketchOperator, got {type(operator).__name__}")
        name = None if dtype is None else float_dtype_name(dtype)
        self._operator = operator
        self._native = _native.RowSketch(operator._native, _as_int64(n_columns, "n_columns"), name)

    @classmethod
    def _wrap(cls, operator: SketchOperator, native: _native.RowSketch) -> RowSketch:
        obj = cls.__new__(cls)
        obj._operator = operator
        obj._native = native
        return obj

    # ------------------------------------------------------------------ properties
    @property
    def operator(self) -> SketchOperator:
        """SketchOperator: The operator ``S``."""
        return self._operator

    @property
    def n_columns(self) -> int:
        """int: Columns ``m`` of ``A``."""
        return int(self._native.n_columns)

    @property
    def shape(self) -> tuple[int, int]:
        """tuple of int: Shape ``(k, n_columns)`` of the result."""
        k, m = self._native.shape
        return (int(k), int(m))

    @property
    def dtype(self) -> np.dtype | None:
        """numpy.dtype or None: Element type of the state (None until the first block)."""
        name = self._native.dtype
        return None if name is None else np.dtype(name)

    @property
    def strip_rows(self) -> int:
        """int: Rows ``B`` of a canonical strip (a function of the operator alone)."""
        return int(self._native.strip_rows)

    @property
    def rows_supplied(self) -> int:
        """int: Rows of ``A`` this state holds."""
        return int(self._native.rows_supplied)

    @property
    def missing_rows(self) -> list[tuple[int, int]]:
        """list of (int, int): Half-open row ranges ``[r0, r1)`` not supplied yet."""
        return [(int(a), int(b)) for a, b in self._native.missing_rows]

    @property
    def complete(self) -> bool:
        """bool: Whether every row of ``A`` has been supplied."""
        return not self._native.missing_rows

    # ------------------------------------------------------------------ updates
    def update(self, block: Any, row_offset: int) -> RowSketch:
        """Add rows ``row_offset : row_offset + len(block)`` of ``A``.

        Parameters
        ----------
        block : array_like or scipy.sparse matrix of shape (n_rows, n_columns)
            Dense (C order, F order or strided views, memory maps included) or sparse
            (CSR; other formats are converted) rows of ``A``. Its dtype must be the
            state's (float32 or float64); integer blocks become float64.
        row_offset : int
            Index of the block's first row in ``A``.

        Returns
        -------
        RowSketch
            ``self``.

        Raises
        ------
        ValueError
            For a block with other than ``n_columns`` columns or holding NaN/inf, or of
            the other float dtype (naming ``block``); for rows beyond ``d`` or already
            supplied (naming ``row_offset`` and the rows). The state is unchanged.
        MemoryError
            If the strip partials or buffered rows cannot be allocated.
        """
        offset = _as_int64(row_offset, "row_offset")
        if is_sparse(block):
            x = as_sparse(block, "block", check_finite=False).tocsr()
            if not x.has_canonical_format:
                x = x.copy()
                x.sum_duplicates()
            self._native.update_csr(x.data, x.indices, x.indptr, x.shape[1], offset)
            return self
        arr = as_dense(block, "block", check_finite=False)
        if arr.ndim != 2:
            raise ValueError(f"block must be a 2-D array of rows, got shape {arr.shape}")
        self._native.update(arr, offset)
        return self

    def update_from(
        self, source: BlockSource, *, row_offset: int = 0, block_rows: int | None = None
    ) -> RowSketch:
        """Add the consecutive rows of ``source``, starting at row ``row_offset``.

        Parameters
        ----------
        source : array, path, pyarrow object or iterable of arrays
            Anything :func:`iter_blocks` reads.
        row_offset : int, default=0
            Row of ``A`` at which the source's first row goes.
        block_rows : int, optional
            Rows per block read (see :func:`iter_blocks`).

        Returns
        -------
        RowSketch
            ``self``.
        """
        at = _as_int64(row_offset, "row_offset")
        for block in iter_blocks(source, block_rows=block_rows):
            self.update(block, at)
            at += block.shape[0]
        return self

    def merge(self, other: RowSketch) -> RowSketch:
        """Add every row ``other`` holds (``other`` itself is left unchanged).

        Parameters
        ----------
        other : RowSketch
            A state of the same operator and column count holding other rows.

        Returns
        -------
        RowSketch
            ``self``.

        Raises
        ------
        ValueError
            For another operator, column count or dtype, or rows held by both (naming
            ``other``). The state is unchanged.
        """
        if not isinstance(other, RowSketch):
            raise TypeError(f"other must be a RowSketch, got {type(other).__name__}")
        self._native.merge(other._native)
        return self

    def result(self) -> FloatArray:
        """The sketch ``S @ A``.

        Returns
        -------
        numpy.ndarray of shape (k, n_columns)
            In the state's dtype.

        Raises
        ------
        ValueError
            Naming ``A`` and the missing row ranges when not every row was supplied.
        """
        return self._native.result()

    def copy(self) -> RowSketch:
        """An independent copy of the state.

        Returns
        -------
        RowSketch
        """
        return RowSketch._wrap(self._operator, self._native.copy())

    # ------------------------------------------------------------------ pickling
    def __reduce__(self) -> tuple[Any, ...]:
        dtype, nodes, pieces = self._native.state()
        return (_restore, (self._operator, self.n_columns, dtype, nodes, pieces))

    def __repr__(self) -> str:
        k, m = self.shape
        return (
            f"RowSketch({self._operator.family!r}, k={k}, d={self._operator.shape[1]}, "
            f"n_columns={m}, rows_supplied={self.rows_supplied})"
        )


def _restore(
    operator: SketchOperator,
    n_columns: int,
    dtype: str | None,
    nodes: list[tuple[int, int, bytes]],
    pieces: list[tuple[int, bytes]],
) -> RowSketch:
    """Unpickles a :class:`RowSketch` (every part is checked by the core)."""
    native = _native.RowSketch.from_state(operator._native, n_columns, dtype, nodes, pieces)
    return RowSketch._wrap(operator, native)


# ---------------------------------------------------------------------- block reading
def _check_block_rows(block_rows: int | None) -> int:
    if block_rows is None:
        return DEFAULT_BLOCK_ROWS
    n = as_int(block_rows, "block_rows")
    if n < 1:
        raise ValueError(f"block_rows must be at least 1, got {n}")
    return n


def list_shards(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """The shard files a source names, in the order they are read.

    Parameters
    ----------
    source : path, glob pattern or sequence of paths
        A directory (its ``.npy`` and ``.parquet`` files, not recursive), a glob
        pattern (every match must be a ``.npy`` or ``.parquet`` file), a single file,
        or a list of files (kept in the given order).

    Returns
    -------
    list of str
        Directory and glob matches sorted by name.

    Raises
    ------
    ValueError
        Naming ``source``, when nothing matches or a file is neither ``.npy`` nor
        ``.parquet``.
    """
    if isinstance(source, (list, tuple)):
        names = [os.fspath(f) for f in source]
        if not names:
            raise ValueError("source: the list of shards is empty")
    else:
        path = os.fspath(source)
        if os.path.isdir(path):
            names = sorted(
                os.path.join(path, f)
                for f in os.listdir(path)
                if f.lower().endswith(_SHARD_SUFFIXES) and os.path.isfile(os.path.join(path, f))
            )
            if not names:
                raise ValueError(f"source: directory {path!r} holds no .npy or .parquet files")
            return names
        if glob.has_magic(path):
            names = sorted(p for p in glob.glob(path) if os.path.isfile(p))
            if not names:
                raise ValueError(f"source: no file matches {path!r} (no .npy or .parquet shards)")
        else:
            names = [path]
    for name in names:
        if not name.lower().endswith(_SHARD_SUFFIXES):
            raise ValueError(f"source: unsupported file {name!r} (use .npy or .parquet)")
    return names


def _arrow_matrix(batch: Any) -> np.ndarray:
    """A pyarrow ``RecordBatch`` as a 2-D float array (float32 columns stay float32)."""
    cols = []
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if col.null_count:
            raise ValueError(f"source: column {name!r} holds {col.null_count} null values")
        try:
            arr = col.to_numpy(zero_copy_only=False)
        except Exception as exc:  # noqa: BLE001 - reported with the column's name
            raise TypeError(f"source: column {name!r} cannot be read as numbers: {exc}") from exc
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"source: column {name!r} has non-numeric type {col.type}")
        cols.append(arr)
    if not cols:
        raise ValueError("source: a record batch without columns")
    target = _float_dtype_for(np.result_type(*[c.dtype for c in cols]), "source")
    out = np.empty((batch.num_rows, len(cols)), dtype=target)
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def _is_arrow(x: Any) -> str | None:
    mod = type(x).__module__ or ""
    if not mod.startswith("pyarrow"):
        return None
    return type(x).__name__


def _iter_arrow(
    source: Any, block_rows: int, columns: Sequence[str] | None
) -> Iterator[np.ndarray]:
    kind = _is_arrow(source)
    if kind == "RecordBatch":
        if columns is not None:
            source = source.select(list(columns))
        for start in range(0, source.num_rows, block_rows):
            yield _arrow_matrix(source.slice(start, block_rows))
    elif kind == "Table":
        if columns is not None:
            source = source.select(list(columns))
        for batch in source.to_batches(max_chunksize=block_rows):
            if batch.num_rows:
                yield _arrow_matrix(batch)
    elif hasattr(source, "to_batches"):  # pyarrow.dataset.Dataset and its kinds
        cols = None if columns is None else list(columns)
        for batch in source.to_batches(columns=cols, batch_size=block_rows):
            if batch.num_rows:
                yield _arrow_matrix(batch)
    else:
        raise TypeError(f"source: unsupported pyarrow object {type(source).__name__}")


def _iter_file(path: str, block_rows: int, columns: Sequence[str] | None) -> Iterator[Any]:
    if path.endswith(".npy"):
        arr = np.load(path, mmap_mode="r")
        yield from _iter_array(arr, block_rows, path)
    elif path.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError(".parquet sources need pyarrow (pip install pyarrow)") from exc
        pf = pq.ParquetFile(path)
        cols = None if columns is None else list(columns)
        for batch in pf.iter_batches(batch_size=block_rows, columns=cols):
            if batch.num_rows:
                yield _arrow_matrix(batch)
    else:
        raise ValueError(f"source: unsupported file {path!r} (use .npy or .parquet)")


def _iter_array(arr: Any, block_rows: int, what: str) -> Iterator[Any]:
    if arr.ndim != 2:
        raise ValueError(f"source: {what} must be 2-D, got shape {arr.shape}")
    for start in range(0, arr.shape[0], block_rows):
        yield arr[start : start + block_rows]


def iter_blocks(
    source: BlockSource,
    *,
    block_rows: int | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[Any]:
    """Consecutive row blocks of a matrix stored in memory, on disk or in shards.

    Parameters
    ----------
    source : array, path, pyarrow object or iterable
        One of

        * a 2-D NumPy array or memory map (``np.load(path, mmap_mode="r")``): row
          slices (views: a memory map is read as the blocks are used);
        * a SciPy sparse matrix: CSR row slices;
        * a path to a ``.npy`` file (memory-mapped) or a ``.parquet`` file (read in
          record batches; needs pyarrow);
        * a directory or a glob pattern: its ``.npy``/``.parquet`` files in sorted
          name order, one after the other;
        * a pyarrow ``RecordBatch``, ``Table`` or ``dataset.Dataset``;
        * any other iterable of 2-D arrays, yielded as they come.

        Arrow columns become the columns of a float matrix: all-float32 columns give
        float32, anything wider or integer gives float64 (never an upcast of float32
        data to float64 unless a column needs it); null values are an error.
    block_rows : int, optional
        Rows per block for arrays, memory maps and Arrow/Parquet input (default
        65536); iterables are passed through as they come.
    columns : sequence of str, optional
        Arrow/Parquet columns to read (default: all, in schema order).

    Yields
    ------
    numpy.ndarray or scipy.sparse.csr_matrix
        Blocks of shape ``(n_rows, n_columns)``, in row order.
    """
    rows = _check_block_rows(block_rows)
    if isinstance(source, np.ndarray):
        yield from _iter_array(source, rows, "the array")
    elif is_sparse(source):
        x = as_sparse(source, "source", check_finite=False).tocsr()
        yield from _iter_array(x, rows, "the sparse matrix")
    elif isinstance(source, (str, os.PathLike)):
        for name in list_shards(source):
            yield from _iter_file(name, rows, columns)
    elif _is_arrow(source):
        yield from _iter_arrow(source, rows, columns)
    elif isinstance(source, Iterable):
        for i, block in enumerate(source):
            if is_sparse(block):
                yield block
                continue
            arr = np.asarray(block)
            if arr.ndim != 2:
                raise ValueError(f"source: block {i} must be 2-D, got shape {arr.shape}")
            yield arr
    else:
        raise TypeError(
            "source must be an array, a path, a pyarrow RecordBatch/Table/Dataset or an "
            f"iterable of arrays, got {type(source).__name__}"
        )


def project_blocks(
    transformer: Any, source: BlockSource, *, block_rows: int | None = None
) -> Iterator[Any]:
    """Project the row blocks of ``source``: ``X @ S.T`` one block at a time.

    Projections are row-local, so the blocks concatenated are exactly (bitwise) the
    projection of the whole matrix.

    Parameters
    ----------
    transformer : SketchOperator or fitted transformer
        An operator (``operator.project(block)``) or anything with ``transform``
        (the scikit-learn style projections of :mod:`sketchkit`).
    source : array, path, pyarrow object or iterable of arrays
        Anything :func:`iter_blocks` reads.
    block_rows : int, optional
        Rows per block (see :func:`iter_blocks`).

    Yields
    ------
    numpy.ndarray
        Projected blocks of shape ``(n_rows, k)``.
    """
    if isinstance(transformer, SketchOperator):
        apply = transformer.project
    elif hasattr(transformer, "transform"):
        apply = transformer.transform
    else:
        raise TypeError(
            "transformer must be a SketchOperator or have a transform method, got "
            f"{type(transformer).__name__}"
        )
    for block in iter_blocks(source, block_rows=block_rows):
        yield apply(block)


def sketch_blocks(
    operator: SketchOperator,
    source: BlockSource,
    *,
    block_rows: int | None = None,
    dtype: DTypeLike | None = None,
) -> FloatArray:
    """``S @ A`` for ``A`` read block by block from ``source`` (see :class:`RowSketch`).

    Parameters
    ----------
    operator : SketchOperator
        The operator ``S`` (``k × d``; not SRHT).
    source : array, path, pyarrow object or iterable of arrays
        The ``d`` rows of ``A`` in order; anything :func:`iter_blocks` reads.
    block_rows : int, optional
        Rows per block read (see :func:`iter_blocks`).
    dtype : {None, numpy.float32, numpy.float64}, default=None
        Element type (default: the first block's).

    Returns
    -------
    numpy.ndarray of shape (k, m)
        Bit-identical to :class:`RowSketch` fed the same rows in any blocking.
    """
    state: RowSketch | None = None
    at = 0
    for block in iter_blocks(source, block_rows=block_rows):
        if state is None:
            state = RowSketch(operator, block.shape[1], dtype=dtype)
        state.update(block, at)
        at += block.shape[0]
    if state is None:
        raise ValueError("source holds no rows")
    return state.result()
