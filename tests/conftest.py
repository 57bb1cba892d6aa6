"""Helpers and fixtures shared by the test files.

Fixtures here are found by pytest; the plain helpers are imported by the test files
(``from conftest import data``), pytest putting this directory on ``sys.path``.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import sketchkit as sk
from sketchkit import _native

DTYPES = [np.float32, np.float64]
#: The SIMD levels of the kernels, lowest first (``sketchkit.simd_level()`` values):
#: the core's list.
SIMD_LEVELS = list(_native.SIMD_LEVELS)


def available_levels() -> list[str]:
    """SIMD levels this CPU can run, from the lowest up to the detected one."""
    return SIMD_LEVELS[: SIMD_LEVELS.index(_native.simd_level()) + 1]


def data(shape, dtype=np.float64, seed=0, zeros=0.0):
    """Standard normal data; a fraction ``zeros`` of the entries set to exactly 0."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if zeros:
        x[rng.random(shape) < zeros] = 0.0
    return x.astype(dtype)


def tol(dtype) -> float:
    """Relative tolerance of a result computed in ``dtype`` (float32 or float64)."""
    return 2e-5 if np.dtype(dtype) == np.float32 else 1e-12


def assert_close(actual, expected, dtype):
    """Elementwise closeness relative to the largest magnitude of the expected result."""
    assert actual.shape == expected.shape
    rtol = tol(dtype)
    scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(scale, 1e-30))


def pairwise_distortion(X, Y):
    """``| ||y_i - y_j||^2 / ||x_i - x_j||^2 - 1 |`` over every pair of rows."""
    i, j = np.triu_indices(X.shape[0], 1)
    dx = ((X[i] - X[j]) ** 2).sum(axis=1)
    dy = ((Y[i] - Y[j]) ** 2).sum(axis=1)
    return np.abs(dy / dx - 1.0)


@pytest.fixture
def restore_threads():
    """Restore the size of sketchkit's thread pool after the test."""
    before = sk.get_num_threads()
    yield
    sk.set_num_threads(before)


@pytest.fixture
def restore_simd():
    """Restore the detected SIMD level after the test."""
    yield
    _native.force_simd_level(None)
