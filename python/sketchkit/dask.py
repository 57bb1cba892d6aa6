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

Functions
---------
:func:`project` and :func:`transform` build the lazy result; :func:`fit` and
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
from typing import Any

from ._dask_blocks import (
    _require_dask,
    fit,
    fit_transform,
    is_dask_array,
    project,
    transform,
)

__all__ = [
    "SCHEDULERS",
    "fit",
    "fit_transform",
    "get_client_or_scheduler",
    "is_dask_array",
    "parse_scheduler",
    "project",
    "transform",
]

#: The local Dask schedulers :func:`get_client_or_scheduler` accepts by name.
SCHEDULERS = ("threads", "processes", "synchronous")

#: A ``distributed`` scheduler address: ``tcp://host:port``, ``tls://...``, ...
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


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
