"""The protocol shared by sketchkit's matrix-free operators.

:class:`LinearOperator` holds everything that does not depend on what an operator
computes: ``@`` in both directions (NumPy defers to it), ``.T``, pickling, equality
and hashing by the parameters that define the operator, and ``repr``. Subclasses say
what defines them (:meth:`LinearOperator._params`) and how to apply themselves (four
products); :class:`Transposed` is the lightweight view ``A.T`` of any of them.

Used by :class:`~sketchkit.SketchOperator` and :class:`~sketchkit.AdjointOperator`
(``S`` and ``S.T``) and by :class:`~sketchkit.HadamardRotation` and
:class:`~sketchkit.InverseHadamardRotation` (``Q`` and ``Q.T``). This module imports
nothing from the package.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["LinearOperator", "Transposed"]


def _rebuild(cls: type[LinearOperator], params: dict[str, Any]) -> LinearOperator:
    """Unpickling helper: an operator is rebuilt from its parameters."""
    return cls(**params)


class LinearOperator:
    """Base class of the operators: ``A @ B``, ``B @ A``, ``A.T``, pickle, ``==``.

    Subclasses implement :meth:`_params` and the four products :meth:`_apply`
    (``A @ B``), :meth:`_rapply` (``B @ A``), :meth:`_apply_transpose` (``A.T @ B``)
    and :meth:`_rapply_transpose` (``B @ A.T``), and set :attr:`_transpose_class`.
    """

    __slots__ = ()

    # Make NumPy defer ``ndarray @ operator`` to ``__rmatmul__``.
    __array_ufunc__ = None

    #: The class of ``A.T`` (a :class:`Transposed` subclass).
    _transpose_class: ClassVar[type[Transposed]]
    #: Leading parameters that :meth:`__repr__` shows without their name.
    _repr_positional: ClassVar[int] = 0

    # ------------------------------------------------------------------ to implement
    def _params(self) -> dict[str, Any]:
        """The constructor arguments that define the operator, by name (``None``
        values are left out of the ``repr``)."""
        raise NotImplementedError

    def _apply(self, other: Any) -> Any:
        raise NotImplementedError

    def _rapply(self, other: Any) -> Any:
        raise NotImplementedError

    def _apply_transpose(self, other: Any) -> Any:
        raise NotImplementedError

    def _rapply_transpose(self, other: Any) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ protocol
    @property
    def T(self) -> Any:  # noqa: N802 - NumPy naming convention
        """The transpose, a lightweight view of this operator."""
        return self._transpose_class(self)

    def __matmul__(self, other: Any) -> Any:
        if isinstance(other, LinearOperator):
            return NotImplemented
        return self._apply(other)

    def __rmatmul__(self, other: Any) -> Any:
        if isinstance(other, LinearOperator):
            return NotImplemented
        return self._rapply(other)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._params()))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._params() == other._params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._params().items()))

    def __repr__(self) -> str:
        items = list(self._params().items())
        n = self._repr_positional
        shown = [repr(v) for _, v in items[:n]]
        shown += [f"{k}={v!r}" for k, v in items[n:] if v is not None]
        return f"{type(self).__name__}({', '.join(shown)})"


class Transposed(LinearOperator):
    """``A.T`` for an operator ``A``: a view that swaps the roles of the products.

    ``A.T.T`` is ``A``; views compare equal, hash and pickle through ``A``.
    """

    __slots__ = ("_op",)

    def __init__(self, op: LinearOperator) -> None:
        self._op = op

    @property
    def T(self) -> Any:  # noqa: N802
        """The operator this view transposes."""
        return self._op

    @property
    def shape(self) -> tuple[int, int]:
        """The shape of the operator, reversed."""
        rows, cols = self._op.shape  # type: ignore[attr-defined]
        return (cols, rows)

    def to_dense(self, dtype: DTypeLike = np.float64) -> NDArray[np.floating[Any]]:
        """Materialize the transpose as a dense array (a transposed view of the
        operator's)."""
        return self._op.to_dense(dtype).T  # type: ignore[attr-defined]

    def _params(self) -> dict[str, Any]:
        return {"op": self._op}

    def _apply(self, other: Any) -> Any:
        return self._op._apply_transpose(other)

    def _rapply(self, other: Any) -> Any:
        return self._op._rapply_transpose(other)

    def __repr__(self) -> str:
        return f"{self._op!r}.T"
