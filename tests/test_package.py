"""Package-level behaviour: public API, lazy imports, NumPy-only installs, typing marker."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import sketchkit as sk

PUBLIC = [
    "SketchOperator",
    "gaussian",
    "rademacher",
    "very_sparse",
    "sparse_sign",
    "countsketch",
    "SparseRandomProjection",
    "GaussianRandomProjection",
    "SparseSignProjection",
    "CountSketchProjection",
    "johnson_lindenstrauss_min_dim",
    "set_num_threads",
    "get_num_threads",
    "simd_level",
]


def test_public_api():
    assert sk.__version__ == "0.1.0"
    for name in PUBLIC:
        obj = getattr(sk, name)
        assert obj.__doc__, name
    for name in sk.__all__:
        assert hasattr(sk, name), name
    assert (pathlib.Path(sk.__file__).parent / "py.typed").is_file()


def test_docstrings_state_the_math():
    def doc(obj):
        return " ".join(obj.__doc__.split())

    assert "E ||S x||^2 = ||x||^2" in doc(sk.SketchOperator)
    assert "N(0, 1) / sqrt(k)" in doc(sk.gaussian)
    assert "1 / sqrt(k)" in doc(sk.rademacher)
    assert "geometric skips" in doc(sk.very_sparse)
    assert "sqrt{\\mathrm{nnz}}" in doc(sk.sparse_sign)
    for est in (sk.SparseRandomProjection, sk.GaussianRandomProjection):
        assert "Statistically equivalent to scikit-learn's class, not bit-equal" in doc(est)


def test_johnson_lindenstrauss_min_dim_matches_sklearn():
    skrp = pytest.importorskip("sklearn.random_projection")
    for n in (1, 2, 10, 1e4, 1e6):
        for eps in (0.01, 0.1, 0.5, 0.99):
            ours = sk.johnson_lindenstrauss_min_dim(n, eps=eps)
            assert ours == skrp.johnson_lindenstrauss_min_dim(n, eps=eps), (n, eps)
    assert_array_equal(
        sk.johnson_lindenstrauss_min_dim([1e4, 1e5, 1e6], eps=0.1), [7894, 9868, 11841]
    )
    assert_array_equal(
        sk.johnson_lindenstrauss_min_dim(1e6, eps=[0.5, 0.1, 0.01]), [663, 11841, 1112658]
    )
    assert isinstance(sk.johnson_lindenstrauss_min_dim(100, eps=0.5), np.integer)
    for eps in (0, 1, -0.5, 1.5, [0.5, 1.0]):
        with pytest.raises(ValueError, match="eps in"):
            sk.johnson_lindenstrauss_min_dim(10, eps=eps)
    for n in (0, -3, [5, 0]):
        with pytest.raises(ValueError, match="n_samples greater than zero"):
            sk.johnson_lindenstrauss_min_dim(n, eps=0.5)
    with pytest.raises(TypeError, match="eps must be a real number"):
        sk.johnson_lindenstrauss_min_dim(10, eps="small")


def test_numpy_only_install():
    """With SciPy and scikit-learn unavailable, ``import sketchkit`` and every dense
    operation work, and the estimators fail only when used, with a clear message."""
    script = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("scipy", "sklearn"):
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, Block())
        import numpy as np
        import sketchkit as sk

        S = sk.sparse_sign(16, 100, seed=1)
        X = np.ones((3, 100), dtype=np.float32)
        assert (X @ S.T).dtype == np.float32
        assert (S.T @ (S @ X.T)).shape == (100, 3)
        assert S.to_dense().shape == (16, 100)
        assert int(sk.johnson_lindenstrauss_min_dim(100, eps=0.5)) == 221
        import pickle
        assert pickle.loads(pickle.dumps(S)) == S
        assert "scipy" not in sys.modules and "sklearn" not in sys.modules
        try:
            sk.SparseRandomProjection
        except ImportError as exc:
            assert "requires scikit-learn" in str(exc), exc
        else:
            raise AssertionError("expected ImportError")
        try:
            S.to_scipy()
        except ImportError:
            pass
        else:
            raise AssertionError("expected ImportError")
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@settings(max_examples=30, deadline=None)
@given(
    family=st.sampled_from(["gaussian", "rademacher", "very_sparse", "sparse_sign", "countsketch"]),
    k=st.integers(1, 40),
    d=st.integers(1, 90),
    n=st.integers(1, 12),
    dtype=st.sampled_from([np.float32, np.float64]),
    order=st.sampled_from(["C", "F"]),
    seed=st.integers(0, 2**64 - 1),
)
def test_random_shapes_match_materialized_operator(family, k, d, n, dtype, order, seed):
    kwargs = {"nnz": min(k, 3)} if family == "sparse_sign" else {}
    S = getattr(sk, family)(k, d, seed=seed, **kwargs)
    dense = S.to_dense()
    X = np.asarray(np.random.default_rng(seed % 1000).standard_normal((n, d)), order=order)
    X = X.astype(dtype, order=order)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    expected = X.astype(np.float64) @ dense.T
    atol = tol * max(1.0, float(np.abs(expected).max()))
    got = S.project(X)
    assert got.dtype == dtype and got.shape == (n, k)
    assert_allclose(got, expected, rtol=tol, atol=atol)
    assert_allclose(S @ X.T, expected.T, rtol=tol, atol=atol)
    Z = np.random.default_rng(seed % 997).standard_normal((n, k)).astype(dtype, order=order)
    adjoint = Z.astype(np.float64) @ dense
    atol = tol * max(1.0, float(np.abs(adjoint).max()))
    assert_allclose(Z @ S, adjoint, rtol=tol, atol=atol)
    assert_allclose(S.T @ Z.T, adjoint.T, rtol=tol, atol=atol)
