"""Numpydoc sections shared by several docstrings, each written once.

A docstring decorated with :func:`fill_doc` may hold placeholders ``%(name)s``:

* alone on a line, the placeholder becomes the section ``SECTIONS[name]`` (or a
  value passed to :func:`fill_doc`), indented like the placeholder;
* inside a line, it becomes a one-line value passed to :func:`fill_doc` (for
  instance the list of choices of a parameter, built from the constant that
  defines them).

A placeholder without a section is an error at import time. This module imports
nothing from the package.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

__all__ = ["SECTIONS", "choices", "fill_doc"]

T = TypeVar("T")

SECTIONS: dict[str, str] = {
    # ------------------------------------------------------------------ operators
    "seed": """\
seed : int, default=0
    Seed in ``[0, 2**64)``.""",
    "shape_kd": """\
k, d : int
    Shape ``(k, d)`` of ``S``.""",
    # ------------------------------------------------- estimators and selectors
    "random_state": """\
random_state : int, RandomState instance, Generator or None, default=None
    Source of the seed: an int is the seed itself (results are reproducible across
    calls and platforms); ``None`` draws a seed from NumPy's global random state,
    and a ``numpy.random.RandomState`` or ``numpy.random.Generator`` draws one from
    itself, at every fit.""",
    # ------------------------------------------------------------------ transformers
    "n_components": """\
n_components : int or 'auto', default='auto'
    Dimensionality of the target projection space. With ``'auto'`` it is
    ``johnson_lindenstrauss_min_dim(n_samples, eps=eps)``, which can be very
    conservative; fitting raises ``ValueError`` if that exceeds ``n_features``.""",
    "eps": """\
eps : float, default=0.1
    Distortion bound used by ``n_components='auto'``; strictly positive (and below 1
    when it is used).""",
    "dense_output": """\
dense_output : bool, default=False
    If True, the output is a dense array even for sparse input. If False, sparse
    input gives a sparse CSR output.""",
    "compute_inverse_components": """\
compute_inverse_components : bool, default=False
    Compute the pseudo-inverse of the components during fit (dense,
    ``n_features x n_components``) for :meth:`inverse_transform`.""",
    "transformer_device": """\
device : {"cpu", "gpu"}, default="cpu"
    Where :meth:`transform` computes. ``"gpu"`` needs dense ``float32`` input (no
    conversion is made: other dtypes and sparse input raise ``TypeError``) and a GPU
    adapter (see :func:`sketchkit.gpu_available`); it draws the same operator from
    the same seed.""",
    "n_components_and_seed_": """\
n_components_ : int
    Concrete number of components.

seed_ : int
    Seed of the operator drawn at fit time.""",
    "operator_": """\
operator_ : SketchOperator
    The fitted operator ``S``; ``transform(X)`` is ``X @ operator_.T``.""",
    "sparse_components_": """\
components_ : sparse CSR matrix of shape ``(n_components_, n_features_in_)``
    ``S`` materialized (lazily, on first access), with the dtype of the fit data.""",
    "dense_components_": """\
components_ : ndarray of shape ``(n_components_, n_features_in_)``
    ``S`` materialized (lazily, on first access), with the dtype of the fit data.""",
    "inverse_components_": """\
inverse_components_ : ndarray of shape ``(n_features_in_, n_components_)``
    Pseudo-inverse of the components, only computed if
    ``compute_inverse_components`` is True.""",
    "features_in_": """\
n_features_in_ : int
    Number of features seen during ``fit``.

feature_names_in_ : ndarray of shape ``(n_features_in_,)``
    Names of features seen during ``fit``. Defined only when ``X`` has feature
    names that are all strings.""",
    # ------------------------------------------------------------------ selectors
    "selector_attributes": """\
sample_indices_ : ndarray of shape (n_kept,)
    Indices of the kept rows, ascending.
classes_ : ndarray
    The distinct labels.
n_features_in_ : int
    Number of features.
reduction_ : float
    Achieved reduction ``1 - n_kept / n_samples``.""",
}

_LINE = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.MULTILINE)
_INLINE = re.compile(r"%\((?P<name>\w+)\)s")


def choices(values: Iterable[str]) -> str:
    """``{"a", "b"}``: the numpydoc type of a parameter taking one of ``values``."""
    return "{" + ", ".join(f'"{v}"' for v in values) + "}"


def _fill(doc: str, values: dict[str, str]) -> str:
    def section(m: re.Match[str]) -> str:
        name = m["name"]
        text = values[name] if name in values else SECTIONS[name]
        return textwrap.indent(text, m["indent"])

    def inline(m: re.Match[str]) -> str:
        text = values[m["name"]]
        if "\n" in text:
            raise ValueError(f"%({m['name']})s spans several lines; put it on its own line")
        return text

    return _INLINE.sub(inline, _LINE.sub(section, doc))


@overload
def fill_doc(obj: T, /) -> T: ...
@overload
def fill_doc(obj: None = None, /, **values: str) -> Callable[[T], T]: ...


def fill_doc(obj: Any = None, /, **values: str) -> Any:
    """Fill the ``%(name)s`` placeholders of ``obj.__doc__`` (see the module docstring).

    Use as ``@fill_doc``, or as ``@fill_doc(name=text, ...)`` to add values of
    one's own.
    """

    def decorate(target: Any) -> Any:
        if target.__doc__:  # None under ``python -OO``
            target.__doc__ = _fill(target.__doc__, values)
        return target

    return decorate if obj is None else decorate(obj)
