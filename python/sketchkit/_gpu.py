"""Device selection: sketchkit's GPU backend (wgpu compute shaders on Vulkan, Metal or
Direct3D 12).

``device="gpu"`` runs the same operator -- the same entries drawn from the same Philox
streams -- on the GPU, in ``float32``:

* sparse families (``very_sparse``, ``sparse_sign``, ``countsketch``), ``srht`` and
  :func:`~sketchkit.fwht` give the CPU's result bit for bit: every output is the same
  sequence of float32 additions, subtractions and one final scaling;
* ``rademacher`` generates the CPU's entries exactly, and ``gaussian`` to within
  ``2e-6`` relative (Box--Muller evaluated in float32); their sums of products agree
  with the CPU within float32 rounding, ``|Δy_i| <= 2 p u sum_j |x_j| |S_ij|`` with
  ``u = 2**-24`` and ``p`` the summed length.

Inputs are streamed to the device in row chunks of at most 128 MiB per buffer (or the
device's binding limit when smaller), so arrays larger than GPU memory work; the
result does not depend on the chunking.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Literal

import numpy as np

from . import _native
from ._validation import as_array, check_nonempty, is_sparse

Device = Literal["cpu", "gpu"]

# Mesa's implicit Vulkan layer VK_LAYER_MESA_device_select ranks adapters by the display
# they drive: it connects to Wayland and X and, where there is no display, prints
# "error: XDG_RUNTIME_DIR is invalid or not set" to stderr. Compute needs no display, so
# the layer is switched off with its own variable unless the environment sets it.
if sys.platform.startswith("linux"):
    os.environ.setdefault("NODEVICE_SELECT", "1")


def check_device(device: Any) -> Device:
    """Validate a ``device`` argument: ``"cpu"`` or ``"gpu"``."""
    if isinstance(device, str) and device in ("cpu", "gpu"):
        return device  # type: ignore[return-value]
    raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")


def gpu_available() -> bool:
    """Whether ``device="gpu"`` can run here.

    True when a GPU adapter (Vulkan, Metal or Direct3D 12; a software one such as
    Mesa's lavapipe counts) was found. The first call initializes the device, which
    takes up to a second; later calls are free. Set the environment variable
    ``SKETCHKIT_GPU=0`` to switch the GPU off.

    Returns
    -------
    bool
    """
    return bool(_native.gpu_available())


def gpu_info() -> dict[str, str]:
    """Describe the GPU adapter that ``device="gpu"`` uses.

    Returns
    -------
    dict
        ``name`` (e.g. ``"NVIDIA H100 80GB HBM3"``), ``backend`` (``"vulkan"``,
        ``"metal"`` or ``"dx12"``), ``device_type`` (``"discrete"``, ``"integrated"``,
        ``"virtual"``, ``"cpu"`` for software rasterizers, or ``"other"``) and
        ``driver``.

    Raises
    ------
    RuntimeError
        If there is no adapter; the message says why.
    """
    return dict(_native.gpu_info())


def gpu_input(x: Any, name: str) -> np.ndarray:
    """``x`` as a float32 ndarray for the GPU, without conversions: anything else is a
    ``TypeError`` that says how to convert."""
    if is_sparse(x):
        raise TypeError(
            f"{name}: device='gpu' takes dense arrays, got a sparse {type(x).__name__}; "
            "use device='cpu' (sparse input is supported there) or densify it first"
        )
    arr = as_array(x, name)
    if not (arr.dtype.kind == "f" and arr.dtype.itemsize == 4):
        raise TypeError(
            f"{name}: device='gpu' computes in float32 and converts nothing; {name} has "
            f"dtype {arr.dtype}. Pass {name}.astype(np.float32), or use device='cpu'"
        )
    check_nonempty(arr, name)  # the CPU's rule: empty arrays are a ValueError
    if not arr.dtype.isnative:  # float32 in the other byte order: same values
        arr = arr.astype(np.float32)
    if not arr.flags.aligned:
        arr = np.require(arr, requirements="A")
    return arr
