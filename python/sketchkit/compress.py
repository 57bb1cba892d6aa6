r"""Embedding compression for retrieval: dimension reduction, a randomized Hadamard
rotation, then scalar quantization (after "Optimization of embeddings storage for RAG
systems"), with exhaustive search over the compact codes.

An embedding :math:`x \in \mathbb{R}^d` is stored as

.. math::

    c(x) = \operatorname{quant}\bigl(Q \, P (x - \mu)\bigr),

with :math:`\mu` the training mean, :math:`P` a ``k × d`` reduction (PCA components,
a Gaussian random projection, or the identity), :math:`Q` a block-diagonal randomized
Hadamard rotation (blocks of power-of-two orders summing to ``k``, so no padding costs
bytes; it spreads each vector's energy evenly over the coordinates before quantizing)
and ``quant`` one of the scalar quantizers below. Inner products with a query
:math:`q` are estimated as :math:`\langle q, \mu \rangle + \langle QPq,
\operatorname{dequant}(c)\rangle`; for reductions with orthonormal rows (PCA, none)
this is exact up to the discarded components and the quantization error.

Quantizers (per coordinate ``j``, ranges fitted on the training data):

* ``"float16"``: IEEE half precision (2 bytes);
* ``"float8_e4m3"``: 8-bit floats with 4 exponent and 3 mantissa bits (largest
  magnitude 448), after scaling coordinate ``j`` by ``max|z_j| / 448`` (1 byte);
* ``"int8"``: ``c = round((z_j - lo_j) / step_j)`` in ``0..255`` with
  ``step_j = (hi_j - lo_j) / 255`` (1 byte); searched with exact integer dot products
  against ``int16`` queries (SIMD, Rust);
* ``"binary"``: the sign bit of :math:`z_j` (1/8 byte), decoded as
  :math:`\pm\mathbb{E}|z_j|`; searched by Hamming distance (popcount, Rust);
* ``None``: float32 (4 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from . import _native
from ._validation import resolve_seed

# Codes per block of the float-code search (see EmbeddingCompressor.search).
_FLOAT_SEARCH_BLOCK = 8192

__all__ = ["EmbeddingCompressor", "TradeoffRow", "format_tradeoff"]

_REDUCE = ("pca", "rp", None)
_QUANTIZE = ("float16", "float8_e4m3", "int8", "binary", None)
_E4M3_MAX = 448.0


def _e4m3_table() -> np.ndarray:
    """The non-negative float8 e4m3 values by 7-bit code: 127 finite values, ascending,
    then NaN (code 0x7f)."""
    vals = []
    for code in range(127):
        e, m = code >> 3, code & 7
        vals.append(m / 8 * 2.0**-6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
    return np.asarray(vals + [np.nan], dtype=np.float32)


_E4M3 = _e4m3_table()


def _to_e4m3(z: np.ndarray) -> np.ndarray:
    """Nearest float8 e4m3 codes of ``z`` (saturating at ±448)."""
    finite = _E4M3[:127]
    a = np.minimum(np.abs(z), _E4M3_MAX)
    hi = np.clip(np.searchsorted(finite, a), 1, len(finite) - 1)
    lo = hi - 1
    pick = np.where(a - finite[lo] <= finite[hi] - a, lo, hi).astype(np.uint8)
    return pick | (np.signbit(z).astype(np.uint8) << 7)


def _from_e4m3(c: np.ndarray) -> np.ndarray:
    v = _E4M3[c & 127]
    return np.where(c & 128, -v, v).astype(np.float32)


class _BlockRotation:
    """Block-diagonal randomized Hadamard rotation of order ``k``: one rotation per
    power of two in ``k``'s binary expansion (largest first)."""

    def __init__(self, k: int, rounds: int, seed: int) -> None:
        self.blocks: list[tuple[int, int, Any]] = []
        start, b = 0, 1 << (k.bit_length() - 1)
        while b:
            if k & b:
                rot = _native.HadamardRotation(b, rounds, (seed + b) % 2**64)
                self.blocks.append((start, start + b, rot))
                start += b
            b >>= 1

    def apply(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty_like(Z)
        for s, e, rot in self.blocks:
            out[:, s:e] = rot.apply(np.ascontiguousarray(Z[:, s:e]))
        return out

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty_like(Z)
        for s, e, rot in self.blocks:
            out[:, s:e] = rot.inverse(np.ascontiguousarray(Z[:, s:e]))
        return out


@dataclass(frozen=True)
class TradeoffRow:
    """One setting of :meth:`EmbeddingCompressor.tradeoff`."""

    reduce: str | None
    n_components: int
    quantize: str | None
    bytes_per_vector: float
    recall_at_k: float


def format_tradeoff(rows: list[TradeoffRow], k: int = 10) -> str:
    """The rows of :meth:`EmbeddingCompressor.tradeoff` as a Markdown table.

    Parameters
    ----------
    rows : list of TradeoffRow
    k : int, default=10
        The ``k`` of the recall column's header.

    Returns
    -------
    str
    """
    lines = [
        f"| reduce | components | quantize | bytes/vector | recall@{k} |",
        "|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.reduce or 'none'} | {r.n_components} | {r.quantize or 'float32'} | "
            f"{r.bytes_per_vector:g} | {r.recall_at_k:.3f} |"
        )
    return "\n".join(lines)


def _exact_topk(X: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest inner products per query (ties: smaller index)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), 256):
        S = queries[s : s + 256] @ X.T
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(S, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        out[s : s + 256] = np.take_along_axis(part, order, axis=1)
    return out


class EmbeddingCompressor:
    r"""Compresses embeddings to compact codes and searches them by inner product.

    Parameters
    ----------
    reduce : {"pca", "rp", None}, default="pca"
        ``"pca"``: :class:`sketchkit.RandomizedPCA` components (needs scikit-learn);
        ``"rp"``: a Gaussian random projection :math:`S` (``k × d``, entries
        :math:`N(0, 1/k)`; inner products are preserved in expectation);
        ``None``: keep all ``d`` coordinates.
    n_components : int or None, default=None
        ``k`` (required unless ``reduce`` is ``None``; at most ``d``).
    quantize : {"float16", "float8_e4m3", "int8", "binary", None}, default="int8"
        The scalar quantizer (see the module documentation).
    rotate : bool, default=True
        Apply the randomized Hadamard rotation :math:`Q` before quantizing.
    rotation_rounds : int, default=3
        Rounds :math:`H D` of each rotation block.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the projection and the rotation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (k, n_features) or None
        :math:`P` (``None`` for ``reduce=None``).
    n_components_ : int
        ``k``.
    lo_, step_ : ndarray of shape (k,)
        The int8 ranges (``"int8"`` only).
    scale_ : ndarray of shape (k,)
        The float8 scales, or the binary decoding magnitudes :math:`\mathbb{E}|z_j|`.
    bytes_per_vector_ : float
        Size of one code.
    """

    def __init__(
        self,
        reduce: str | None = "pca",
        n_components: int | None = None,
        quantize: str | None = "int8",
        rotate: bool = True,
        rotation_rounds: int = 3,
        random_state: Any = None,
    ) -> None:
        self.reduce = reduce
        self.n_components = n_components
        self.quantize = quantize
        self.rotate = rotate
        self.rotation_rounds = rotation_rounds
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------
    def _check_params(self, d: int) -> int:
        if self.reduce not in _REDUCE:
            raise ValueError(f"reduce: must be one of 'pca', 'rp' or None, got {self.reduce!r}")
        if self.quantize not in _QUANTIZE:
            raise ValueError(
                "quantize: must be one of 'float16', 'float8_e4m3', 'int8', 'binary' or "
                f"None, got {self.quantize!r}"
            )
        k = self.n_components
        if self.reduce is None:
            if k is not None and k != d:
                raise ValueError(f"n_components: must be None or {d} when reduce is None, got {k}")
            return d
        if k is None:
            raise ValueError(f"n_components: required when reduce={self.reduce!r}")
        if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= d:
            raise ValueError(f"n_components: must be an integer in [1, {d}], got {k!r}")
        return int(k)

    @staticmethod
    def _matrix(X: Any, name: str) -> np.ndarray:
        A = np.asarray(X)
        if A.dtype.kind not in "fiu":
            raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
        A = np.ascontiguousarray(A, dtype=np.float32)
        if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError(f"{name}: must be a non-empty 2-D array, got shape {A.shape}")
        if not np.isfinite(A).all():
            raise ValueError(f"Input {name} contains NaN or infinity.")
        return A

    def fit(self, X: Any, y: Any = None) -> EmbeddingCompressor:
        """Fits the mean, the reduction, the rotation and the quantizer's ranges.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training embeddings.
        y : None
            Ignored.

        Returns
        -------
        self : EmbeddingCompressor
        """
        X = self._matrix(X, "X")
        d = X.shape[1]
        k = self._check_params(d)
        seed = resolve_seed(self.random_state)
        self.n_features_in_ = d
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        if self.reduce == "pca":
            from ._pca import RandomizedPCA

            pca = RandomizedPCA(n_components=k, random_state=seed % 2**32).fit(X)
            self.components_ = np.asarray(pca.components_, dtype=np.float32)
        elif self.reduce == "rp":
            from ._operator import gaussian

            self.components_ = np.asarray(gaussian(k, d, seed=seed).to_dense(), np.float32)
        else:
            self.components_ = None
        self.n_components_ = k
        self._rotation = (
            _BlockRotation(k, int(self.rotation_rounds), seed ^ 0x5EED) if self.rotate else None
        )
        Z = self._forward(X, center=True)
        q = self.quantize
        if q == "int8":
            lo, hi = Z.min(axis=0), Z.max(axis=0)
            self.lo_ = lo.astype(np.float32)
            self.step_ = np.maximum((hi - lo) / 255.0, np.finfo(np.float32).tiny).astype(np.float32)
        elif q == "float8_e4m3":
            self.scale_ = np.maximum(np.abs(Z).max(axis=0) / _E4M3_MAX, 1e-30).astype(np.float32)
        elif q == "binary":
            self.scale_ = np.abs(Z).mean(axis=0).astype(np.float32)
        itemsize = {"float16": 2, "float8_e4m3": 1, "int8": 1, None: 4}
        self.bytes_per_vector_ = float((k + 7) // 8 if q == "binary" else k * itemsize[q])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError("this EmbeddingCompressor is not fitted yet: call fit first")

    def _forward(self, X: np.ndarray, center: bool) -> np.ndarray:
        """``Q P (X - mean)`` (``center``) or ``Q P X``, float32."""
        Z = X - self.mean_ if center else X
        if self.components_ is not None:
            Z = Z @ self.components_.T
        Z = np.ascontiguousarray(Z, dtype=np.float32)
        if self._rotation is not None:
            Z = self._rotation.apply(Z)
        return Z

    # -- codes -------------------------------------------------------------------------
    def encode(self, X: Any) -> np.ndarray:
        """The codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of shape (n_samples, n_codes)
            float16, uint8 (float8, int8, packed binary) or float32; ``n_codes`` is
            ``k``, or ``ceil(k / 8)`` bytes for ``"binary"``.
        """
        self._check_fitted()
        X = self._matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X: has {X.shape[1]} features, fitted on {self.n_features_in_}")
        Z = self._forward(X, center=True)
        q = self.quantize
        if q == "float16":
            return Z.astype(np.float16)
        if q == "float8_e4m3":
            return _to_e4m3(Z / self.scale_)
        if q == "int8":
            return np.clip(np.rint((Z - self.lo_) / self.step_), 0, 255).astype(np.uint8)
        if q == "binary":
            return np.packbits(Z > 0, axis=1, bitorder="little")
        return Z

    def _check_codes(self, codes: Any) -> np.ndarray:
        self._check_fitted()
        c = np.asarray(codes)
        want = {
            "float16": (np.float16, self.n_components_),
            "float8_e4m3": (np.uint8, self.n_components_),
            "int8": (np.uint8, self.n_components_),
            "binary": (np.uint8, (self.n_components_ + 7) // 8),
            None: (np.float32, self.n_components_),
        }[self.quantize]
        if c.dtype != want[0] or c.ndim != 2 or c.shape[1] != want[1]:
            raise ValueError(
                f"codes: expected a 2-D {np.dtype(want[0]).name} array with {want[1]} "
                f"columns (from encode), got {c.dtype} of shape {c.shape}"
            )
        return np.ascontiguousarray(c)

    def _dequantize(self, c: np.ndarray) -> np.ndarray:
        """Codes to the rotated reduced space ``Q P (x - mean)``."""
        q = self.quantize
        if q == "float16" or q is None:
            return c.astype(np.float32)
        if q == "float8_e4m3":
            return _from_e4m3(c) * self.scale_
        if q == "int8":
            return self.lo_ + c.astype(np.float32) * self.step_
        bits = np.unpackbits(c, axis=1, count=self.n_components_, bitorder="little")
        return np.where(bits == 1, self.scale_, -self.scale_).astype(np.float32)

    def decode(self, codes: Any) -> np.ndarray:
        """Approximate embeddings from codes: ``mean + Pᵀ Qᵀ dequant(codes)``.

        Parameters
        ----------
        codes : ndarray
            Output of :meth:`encode`.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features), float32
            For ``reduce="rp"`` this uses the adjoint :math:`S^\\top`, an unbiased but
            noisy inverse.
        """
        Z = self._dequantize(self._check_codes(codes))
        if self._rotation is not None:
            Z = self._rotation.inverse(Z)
        if self.components_ is not None:
            Z = Z @ self.components_
        return (Z + self.mean_).astype(np.float32)

    # -- search ------------------------------------------------------------------------
    def search(self, codes: Any, queries: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` codes by estimated inner product with each query.

        Parameters
        ----------
        codes : ndarray
            Output of :meth:`encode` (the database).
        queries : array-like of shape (n_queries, n_features)
        k : int, default=10

        Returns
        -------
        indices : ndarray of shape (n_queries, k), int64
            Best first; ties by the smaller index.
        scores : ndarray of shape (n_queries, k)
            Estimated inner products :math:`\\langle q, x\\rangle` (float32), or Hamming
            distances (``"binary"``, int, lower is better: queries are binarized too).
        """
        c = self._check_codes(codes)
        Qx = self._matrix(queries, "queries")
        if Qx.shape[1] != self.n_features_in_:
            raise ValueError(
                f"queries: has {Qx.shape[1]} features, fitted on {self.n_features_in_}"
            )
        if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= k <= len(c):
            raise ValueError(f"k: must be an integer in [1, {len(c)}], got {k!r}")
        k = int(k)
        if self.quantize == "binary":
            qb = np.packbits(self._forward(Qx, center=True) > 0, axis=1, bitorder="little")
            idx, dist = _native.search_hamming(c, np.ascontiguousarray(qb), k)
            return idx, dist
        Zq = self._forward(Qx, center=False)
        offset = (Qx @ self.mean_).astype(np.float64)
        if self.quantize == "int8":
            w = Zq.astype(np.float64) * self.step_
            lim = _native.search_u8_limit(self.n_components_)
            amax = np.abs(w).max(axis=1, keepdims=True)
            f = np.where(amax > 0, lim / np.where(amax > 0, amax, 1.0), 1.0)
            wq = np.rint(w * f).astype(np.int16)
            idx, s = _native.search_u8(c, wq, k)
            base = offset + Zq.astype(np.float64) @ self.lo_
            scores = s / f + base[:, None]
            return idx, scores.astype(np.float32)
        # Float codes: decode blocks, exact inner products in the rotated space. Blocks
        # of 8192 codes keep the float32 score block (and argpartition's index array)
        # to tens of MB for 1000 queries; selecting in float32 picks what float64 would
        # (the conversion is exact and monotone).
        best_s = np.full((len(Zq), k), -np.inf, dtype=np.float64)
        best_i = np.zeros((len(Zq), k), dtype=np.int64)
        for s0 in range(0, len(c), _FLOAT_SEARCH_BLOCK):
            D = self._dequantize(c[s0 : s0 + _FLOAT_SEARCH_BLOCK])
            S = Zq @ D.T
            kk = min(k, S.shape[1])
            part = np.argpartition(S, S.shape[1] - kk, axis=1)[:, -kk:]
            top = np.take_along_axis(S, part, axis=1).astype(np.float64)
            cand_s = np.concatenate([best_s, top], axis=1)
            cand_i = np.concatenate([best_i, part + s0], axis=1)
            order = np.lexsort((cand_i, -cand_s), axis=1)[:, :k]
            best_s = np.take_along_axis(cand_s, order, axis=1)
            best_i = np.take_along_axis(cand_i, order, axis=1)
        return best_i, (best_s + offset[:, None]).astype(np.float32)

    # -- trade-off ---------------------------------------------------------------------
    def tradeoff(
        self,
        X: Any,
        queries: Any,
        *,
        k: int = 10,
        settings: list[tuple[str | None, int | None, str | None]] | None = None,
        plot: bool = False,
    ) -> list[TradeoffRow]:
        """Recall@k against exact inner-product search and bytes per vector for each
        setting (the performance–storage curve).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The database (also the training data of every setting).
        queries : array-like of shape (n_queries, n_features)
        k : int, default=10
        settings : list of (reduce, n_components, quantize), optional
            Default: no reduction and ``d/2``, ``d/4`` PCA components, each with every
            quantizer.
        plot : bool, default=False
            Also draw recall against bytes per vector with matplotlib (optional
            dependency; the figure is ``self.tradeoff_figure_``).

        Returns
        -------
        list of TradeoffRow
            Use :func:`format_tradeoff` for a table.
        """
        Xa = self._matrix(X, "X")
        Qa = self._matrix(queries, "queries")
        d = Xa.shape[1]
        if settings is None:
            settings = [
                (r, c, q)
                for r, c in ((None, None), ("pca", max(1, d // 2)), ("pca", max(1, d // 4)))
                for q in _QUANTIZE
            ]
        truth = _exact_topk(Xa, Qa, k)
        rows = []
        for reduce, n_comp, quant in settings:
            comp = EmbeddingCompressor(
                reduce=reduce,
                n_components=n_comp,
                quantize=quant,
                rotate=self.rotate,
                rotation_rounds=self.rotation_rounds,
                random_state=self.random_state,
            ).fit(Xa)
            found, _ = comp.search(comp.encode(Xa), Qa, k)
            hits = sum(
                len(set(a) & set(b)) for a, b in zip(found.tolist(), truth.tolist(), strict=True)
            )
            rows.append(
                TradeoffRow(
                    reduce, comp.n_components_, quant, comp.bytes_per_vector_, hits / truth.size
                )
            )
        if plot:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots()
            for r in rows:
                ax.scatter(r.bytes_per_vector, r.recall_at_k)
                ax.annotate(
                    f"{r.reduce or 'none'}/{r.quantize or 'f32'}",
                    (r.bytes_per_vector, r.recall_at_k),
                )
            ax.set_xscale("log")
            ax.set_xlabel("bytes per vector")
            ax.set_ylabel(f"recall@{k}")
            self.tradeoff_figure_ = fig
        return rows
