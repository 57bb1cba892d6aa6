"""Shared machinery of the instance selectors: validation, label coding, resampling.

Every selector follows imbalanced-learn's sampler API without depending on it:
``fit_resample(X, y) -> (X_res, y_res)`` with the kept rows in their original order,
and the fitted attribute ``sample_indices_``. They therefore work as steps of an
``imblearn.pipeline.Pipeline`` (which recognizes samplers by ``fit_resample``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .. import _native
from .._docs import fill_doc
from .._validation import as_array, as_dense, as_float, as_sparse, resolve_seed

__all__ = ["BaseSelector", "class_quotas", "encode_labels", "native_rows"]


def native_rows(X: Any, name: str = "X") -> tuple[Any, Any]:
    """Validate ``X`` and return ``(X_checked, rows)``.

    ``X_checked`` is the validated input (dense ``float32``/``float64`` array, or a
    CSR matrix); ``rows`` is what the compiled selection functions take: a
    C-contiguous 2-D array, or the CSR tuple ``(data, indices, indptr, n_cols)`` in
    canonical form (sorted indices, no duplicates).

    Raises
    ------
    ValueError
        On NaN/inf, empty input, or a wrong number of dimensions.
    TypeError
        On complex/object/string dtypes.
    """
    if sp.issparse(X):
        Xc = as_sparse(X, name)
        if Xc.format != "csr":
            Xc = Xc.tocsr()
        if not Xc.has_canonical_format:
            Xc = Xc.copy()
            Xc.sum_duplicates()
        return Xc, (Xc.data, Xc.indices, Xc.indptr, int(Xc.shape[1]))
    Xd = as_dense(X, name)
    if Xd.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {Xd.shape}")
    return Xd, np.ascontiguousarray(Xd)


def encode_labels(y: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Map labels of any hashable type to ``uint32`` codes ``0..n_classes``.

    Returns
    -------
    classes : ndarray
        The distinct labels, sorted (as :func:`numpy.unique` sorts them).
    codes : ndarray of uint32
        The code of each row.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, its length differs from ``n_rows``, it holds NaN, or it
        has fewer than two classes.
    """
    y_arr = as_array(y, "y")
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y_arr.shape}")
    if y_arr.shape[0] != n_rows:
        raise ValueError(f"y has {y_arr.shape[0]} labels but X has {n_rows} rows; they must match")
    if y_arr.dtype.kind == "f" and bool(np.isnan(y_arr).any()):
        raise ValueError("y contains NaN")
    if y_arr.dtype == object:
        if any(v is None or (isinstance(v, float) and v != v) for v in y_arr):
            raise ValueError("y contains None or NaN")
    try:
        classes, codes = np.unique(y_arr, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"y holds labels that cannot be compared: {exc}") from exc
    if classes.shape[0] < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); instance selection needs at least two"
        )
    return classes, codes.astype(np.uint32).ravel()


def class_quotas(codes: np.ndarray, n_classes: int, reduction: Any) -> list[int]:
    """Rows to keep per class for ``reduction``: the core's rule (``select::quota``,
    which also checks ``reduction`` is in ``(0, 1)``) on the class counts of ``codes``."""
    r = as_float(reduction, "reduction")
    counts = np.bincount(codes, minlength=n_classes).astype(np.int64)
    return [int(q) for q in _native.class_quotas(counts, r)]


@fill_doc
class BaseSelector(BaseEstimator):
    """Base class of the selectors (imbalanced-learn sampler interface).

    Subclasses implement ``_select(rows, codes, n_classes) -> ndarray`` returning
    the kept row indices (``int64``, ascending).

    Attributes
    ----------
    %(selector_attributes)s
    """

    _sampling_type = "under-sampling"

    def _seed(self) -> int:
        """``random_state`` as a 64-bit seed (see :func:`~sketchkit._validation.resolve_seed`)."""
        return resolve_seed(getattr(self, "random_state", None))

    def _select(self, rows: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
        raise NotImplementedError

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Select rows and return them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (``float32`` and ``float64`` are kept; integers become
            ``float64``; CSR/CSC accepted).
        y : array-like of shape (n_samples,)
            Labels of any hashable, sortable type.

        Returns
        -------
        X_resampled : DataFrame or ndarray or sparse matrix
            The kept rows, in their original order: a DataFrame for a DataFrame
            ``X``, a CSR matrix for sparse ``X``, otherwise a NumPy array (also for
            PyTorch, JAX and other DLPack or buffer-protocol input).
        y_resampled : Series or ndarray
            Their labels: a Series for a Series ``y``, otherwise a NumPy array.
        """
        is_pandas = hasattr(X, "iloc")
        Xc, rows = native_rows(X.to_numpy() if is_pandas else X)
        n = Xc.shape[0]
        self.classes_, codes = encode_labels(y, n)
        self.n_features_in_ = int(Xc.shape[1])
        if is_pandas:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        idx = np.asarray(self._select(rows, codes, len(self.classes_)), dtype=np.int64)
        self.sample_indices_ = idx
        self.reduction_ = 1.0 - idx.shape[0] / n
        X_res = X.iloc[idx] if is_pandas else Xc[idx]
        y_res = y.iloc[idx] if hasattr(y, "iloc") else as_array(y, "y")[idx]
        return X_res, y_res

    def fit(self, X: Any, y: Any) -> BaseSelector:
        """Run the selection (same as :meth:`fit_resample`, returning ``self``)."""
        self.fit_resample(X, y)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
