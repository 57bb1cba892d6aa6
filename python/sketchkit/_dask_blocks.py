"""The blockwise machinery of :mod:`sketchkit.dask` (see its contracts).

This module imports nothing of the package but :mod:`sketchkit._validation`: the
operators and transformers call it when given a Dask array, and it recognizes them
among the loaded modules.
"""

from __future__ import annotations

import copy
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import is_sparse

if TYPE_CHECKING:
    import dask.array

__all__ = ["fit", "fit_transform", "is_dask_array", "project", "transform"]


def _require_dask() -> Any:
    """``dask.array``, or an ImportError saying how to install it."""
    try:
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            "sketchkit.dask requires Dask: pip install 'sketchkit[dask]' "
            "(dask[array] and distributed)"
        ) from exc
    return da


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a :class:`dask.array.Array` (without importing Dask).

    Parameters
    ----------
    x : object
        Anything.

    Returns
    -------
    bool
        False whenever ``dask.array`` has not been imported: ``x`` cannot be one then.
    """
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(x, module.Array)


# ---------------------------------------------------------------------- helpers
def _loaded_class(module: str, name: str) -> type | None:
    """A class of the package, looked up among the loaded modules (never imported
    here: this module sits below the operators and transformers that call it)."""
    loaded = sys.modules.get(module)
    return None if loaded is None else getattr(loaded, name, None)


def _is_operator(obj: Any) -> bool:
    cls = _loaded_class("sketchkit._operator", "SketchOperator")
    return cls is not None and isinstance(obj, cls)


def _is_transformer(obj: Any) -> bool:
    cls = _loaded_class("sketchkit._projection", "_BaseSketchProjection")
    return cls is not None and isinstance(obj, cls)


def _check_dask(X: Any, name: str) -> dask.array.Array:
    _require_dask()
    if not is_dask_array(X):
        raise TypeError(f"{name} must be a dask.array.Array, got {type(X).__name__}")
    if X.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got ndim={X.ndim}")
    if np.isnan(X.shape[-1]):
        raise ValueError(
            f"{name} has an unknown number of columns (nan chunk sizes); "
            f"call {name}.compute_chunk_sizes() first"
        )
    return X


def _one_column_chunk(X: dask.array.Array) -> dask.array.Array:
    """``X`` with its columns in one chunk (rows are the unit of the blockwise step)."""
    if len(X.chunks[-1]) > 1:
        X = X.rechunk({X.ndim - 1: -1})
    return X


def _sample(X: dask.array.Array, d: int | None = None) -> Any:
    """One row of zeros of ``X``'s dtype and chunk type (dense or sparse), with ``d``
    columns (default: ``X``'s)."""
    d = int(X.shape[-1]) if d is None else d
    meta = getattr(X, "_meta", None)
    if X.ndim == 2 and is_sparse(meta):
        return type(meta)((1, d), dtype=X.dtype)
    return np.zeros((1, d) if X.ndim == 2 else (d,), dtype=X.dtype)


def _meta_like(out: Any, k: int) -> Any:
    """An empty output chunk (0 rows, ``k`` columns) of the type and dtype of ``out``."""
    if is_sparse(out):
        return type(out)((0, k), dtype=out.dtype)
    return np.empty((0, k) if out.ndim == 2 else (0,), dtype=out.dtype)


def _operator_meta(op: Any, X: dask.array.Array, dense_output: bool) -> Any:
    """The ``_meta`` of ``op.project`` on ``X``'s chunks, without the cost of applying
    ``op`` (a dense operator costs ``k * d`` draws per row): the same family of shape
    ``(1, 1)`` applied to one zero of ``X``'s dtype and chunk type gives the output's
    type and dtype by the local rules, and a bad dtype the local error."""
    params = op._params()
    tiny = type(op)(
        params["family"],
        1,
        1,
        nnz=None if params["nnz"] is None else 1,
        density=None if params["density"] is None else 1.0,
    )
    return _meta_like(_project_block(_sample(X, 1), tiny, dense_output), op.shape[0])


def _transformer_meta(estimator: Any, X: dask.array.Array) -> Any:
    """The ``_meta`` of ``estimator.transform`` on ``X``'s chunks: a clone with one
    component fitted and applied to one zero of ``X``'s dtype and chunk type (the
    local dtype and output-type rules, at no cost)."""
    from sklearn.base import clone

    tiny = clone(estimator).set_params(
        n_components=1, compute_inverse_components=False, device="cpu"
    )
    sample = _sample(X, 1)
    return _meta_like(tiny.fit(sample).transform(sample), estimator.n_components_)


def _token_of(obj: Any) -> Any:
    """What Dask's tokenizer sees of an operator or a shipped transformer: the
    parameters that define it (deterministic in every Dask version)."""
    if _is_transformer(obj):
        state = obj.__getstate__()
        fitted = {key: state[key] for key in ("n_features_in_", "n_components_") if key in state}
        return (
            type(obj).__name__,
            sorted(obj.get_params().items()),
            sorted(fitted.items()),
            _token_of(state["operator_"]),
            str(state.get("_components_dtype")),
        )
    return (type(obj).__name__, sorted(obj._params().items()))


def _blockwise(
    X: dask.array.Array, func: Any, payload: Any, flag: Any, k: int, meta: Any, name: str
) -> dask.array.Array:
    from dask.base import normalize_token, tokenize

    normalize_token.register(type(payload))(_token_of)
    token = tokenize(X.name, name, payload, flag)
    chunks = (X.chunks[0], (k,)) if X.ndim == 2 else ((k,),)
    return X.map_blocks(
        func,
        payload,
        flag,
        chunks=chunks,
        dtype=meta.dtype,
        meta=meta,
        name=f"sketchkit-{name}-{token}",
    )


def _project_block(block: Any, op: Any, dense_output: bool) -> Any:
    """One task: ``block @ op.T`` with the local kernels."""
    return op.project(block, dense_output=dense_output)


def _transform_block(block: Any, estimator: Any, _unused: Any) -> Any:
    """One task: the fitted transformer's local ``transform`` of ``block``."""
    return estimator.transform(block)


def _shipped(estimator: Any) -> Any:
    """A shallow copy of a fitted transformer holding only what ``transform`` needs:
    its parameters and ``operator_`` (the seed), not ``inverse_components_`` nor a
    cached ``components_``, so that each task's pickle stays a few hundred bytes."""
    clone = copy.copy(estimator)
    clone.__dict__.pop("inverse_components_", None)
    clone.__dict__["_components_cache"] = None
    return clone


# ---------------------------------------------------------------------- public API
def project(op: Any, X: Any, *, dense_output: bool = True) -> dask.array.Array:
    """Project the rows of a Dask array lazily: ``X @ S.T``, one task per row chunk.

    Parameters
    ----------
    op : SketchOperator or fitted sketchkit transformer
        The operator ``S`` of shape ``(k, d)``, or a fitted transformer
        (:class:`~sketchkit.SparseRandomProjection`, ...), which is then applied with
        :func:`transform`.
    X : dask.array.Array of shape (n, d) or (d,)
        Row chunks of any sizes (known or not); several column chunks are merged into
        one first (see the module's contracts). Chunks may be NumPy arrays or SciPy
        CSR/CSC matrices.
    dense_output : bool, default=True
        Only for sparse chunks: if False, the output chunks are CSR matrices.

    Returns
    -------
    dask.array.Array of shape (n, k) or (k,)
        Lazy; its row chunks are ``X``'s. Once computed, bit-identical to
        ``op.project(X.compute())``. ``float32`` for ``float32`` input.

    Raises
    ------
    TypeError
        If ``op`` is neither an operator nor a sketchkit transformer, if ``X`` is not
        a Dask array, or for a dtype the local function refuses.
    ValueError
        If ``X``'s number of columns is not ``d`` or is unknown.
    ImportError
        If Dask is not installed.

    Notes
    -----
    Each task holds the operator's parameters (family, ``k``, ``d``, seed, ``nnz``,
    ``density``): its pickle is a few hundred bytes for every ``k`` and ``d``, and a
    worker rebuilds ``S`` from the seed. The graph's key is a deterministic token of
    ``X`` and the operator, so the same projection built twice has the same keys.

    Examples
    --------
    >>> import dask.array as da
    >>> import sketchkit as sk
    >>> from sketchkit.dask import project
    >>> X = da.random.default_rng(0).standard_normal((10_000, 512), chunks=(2_500, 512))
    >>> Y = project(sk.sparse_sign(64, 512, seed=1), X.astype("float32"))
    >>> Y.shape, Y.dtype, Y.numblocks
    ((10000, 64), dtype('float32'), (4, 1))
    """
    if _is_transformer(op):
        return transform(op, X)
    if not _is_operator(op):
        raise TypeError(
            "op must be a SketchOperator or a fitted sketchkit transformer, got "
            f"{type(op).__name__}"
        )
    X = _check_dask(X, "X")
    op._check_dim(int(X.shape[-1]), "X", X.shape, right=True)  # the local message
    X = _one_column_chunk(X)
    dense_output = bool(dense_output)
    meta = _operator_meta(op, X, dense_output)
    return _blockwise(X, _project_block, op, dense_output, op.shape[0], meta, "project")


def transform(estimator: Any, X: Any) -> dask.array.Array:
    """Apply a fitted sketchkit transformer to a Dask array lazily, per row chunk.

    Parameters
    ----------
    estimator : fitted sketchkit transformer
        One of :class:`~sketchkit.SparseRandomProjection`,
        :class:`~sketchkit.GaussianRandomProjection`,
        :class:`~sketchkit.SparseSignProjection`,
        :class:`~sketchkit.CountSketchProjection`,
        :class:`~sketchkit.SRHTProjection`.
    X : dask.array.Array of shape (n_samples, n_features)
        ``n_features`` must be the estimator's ``n_features_in_``; chunks as in
        :func:`project`.

    Returns
    -------
    dask.array.Array of shape (n_samples, n_components)
        Lazy; once computed, bit-identical to ``estimator.transform(X.compute())``
        (same dtype, sparse chunks for sparse input with ``dense_output=False``).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.
    ValueError
        If ``X`` does not have ``n_features_in_`` columns.

    Notes
    -----
    Each task holds a shallow copy of the transformer without ``inverse_components_``
    or a cached ``components_``: its parameters and the fitted operator's seed only.
    """
    if not _is_transformer(estimator):
        raise TypeError(
            f"estimator must be a fitted sketchkit transformer, got {type(estimator).__name__}"
        )
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    X = _check_dask(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got ndim={X.ndim}")
    expected = estimator.n_features_in_
    if int(X.shape[1]) != expected:
        raise ValueError(
            f"X has {int(X.shape[1])} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input."
        )
    X = _one_column_chunk(X)
    payload = _shipped(estimator)
    meta = _transformer_meta(estimator, X)
    k = estimator.n_components_
    return _blockwise(X, _transform_block, payload, None, k, meta, "transform")


def fit(estimator: Any, X: Any, y: Any = None) -> Any:
    """Fit a sketchkit transformer on a Dask array without reading it.

    A transformer's fit uses only the shape of ``X`` (``n_samples`` for
    ``n_components="auto"``, ``n_features``) and its dtype, all known from the Dask
    array's metadata: nothing is computed.

    Parameters
    ----------
    estimator : sketchkit transformer
        Fitted in place.
    X : dask.array.Array of shape (n_samples, n_features)
        ``n_samples`` may be unknown (nan chunk sizes) unless
        ``n_components="auto"``.
    y : Ignored
        Not used, present for API consistency.

    Returns
    -------
    estimator
        The fitted transformer, the same as ``estimator.fit(X.compute())`` would give
        (same ``operator_``, ``n_components_``, ``n_features_in_``).

    Raises
    ------
    ValueError
        With ``n_components="auto"`` and an unknown number of rows.
    """
    if not _is_transformer(estimator):
        raise TypeError(
            f"estimator must be a sketchkit transformer, got {type(estimator).__name__}"
        )
    _check_dask(X, "X")
    return estimator.fit(X)  # validates the parameters, then comes back to _fit_shape


def fit_transform(estimator: Any, X: Any, y: Any = None) -> dask.array.Array:
    """:func:`fit` then :func:`transform`: the lazy projection of ``X``.

    Parameters
    ----------
    estimator : sketchkit transformer
        Fitted in place.
    X : dask.array.Array of shape (n_samples, n_features)
        As in :func:`fit`.
    y : Ignored
        Not used, present for API consistency.

    Returns
    -------
    dask.array.Array of shape (n_samples, n_components)
        As in :func:`transform`.
    """
    fit(estimator, X)
    return transform(estimator, X)


class _Shape:
    """What a transformer's ``_fit`` reads of ``X``: its shape and dtype."""

    def __init__(self, shape: tuple[Any, int], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype


def _fit_shape(estimator: Any, X: Any, validate: Any) -> None:
    """The body of ``estimator.fit`` for a Dask ``X`` (parameters already validated):
    ``validate`` (scikit-learn's checks) on one row of zeros sets ``n_features_in_`` and
    applies the dtype rule, then the operator is drawn for ``X``'s shape."""
    X = _check_dask(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got ndim={X.ndim}")
    checked = validate(estimator, _sample(X), reset=True, scan_finite=False)
    n_samples = X.shape[0]
    if np.isnan(n_samples):
        if estimator.n_components == "auto":
            raise ValueError(
                "n_components='auto' needs the number of rows of X, which this Dask "
                "array does not know (nan chunk sizes): call X.compute_chunk_sizes() "
                "or pass an integer n_components"
            )
        n_samples = 0  # not used with an integer n_components
    estimator._fit(_Shape((int(n_samples), int(X.shape[1])), checked.dtype))
