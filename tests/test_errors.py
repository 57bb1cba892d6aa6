"""Bad input gives a clear Python exception naming the argument, never a crash."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import sketchkit as sk
from sketchkit import _native

K, D = 8, 20


@pytest.fixture
def S():
    return sk.sparse_sign(K, D, seed=0)


def products(S):
    """(name, callable, operand shape) for every way of applying S."""
    return [
        ("A", lambda a: S @ a, (D, 3)),
        ("A", S.sketch, (D, 3)),
        ("X", lambda x: x @ S.T, (3, D)),
        ("X", S.project, (3, D)),
        ("Y", lambda y: S.T @ y, (K, 3)),
        ("Z", lambda z: z @ S, (3, K)),
    ]


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_rejected(S, bad, dtype):
    for name, apply, shape in products(S):
        x = np.ones(shape, dtype=dtype)
        x[-1, -1] = bad
        with pytest.raises(ValueError, match=f"Input {name} contains NaN or infinity"):
            apply(x)
        with pytest.raises(ValueError, match=f"Input {name} contains NaN or infinity"):
            apply(x[:, -1] if name in ("A", "Y") else x[-1])  # 1-D


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_nan_in_sparse_input_rejected(S, fmt):
    X = sp.random(5, D, density=0.3, format=fmt, random_state=0)
    X.data[0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        S.project(X)
    with pytest.raises(ValueError, match="Input A contains NaN or infinity"):
        S @ X.T  # noqa: B018


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_indices_out_of_range_rejected(S, fmt):
    cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    n_minor = D if fmt == "csr" else 4
    n_major = 4 if fmt == "csr" else D
    indptr = np.zeros(n_major + 1, dtype=np.int32)
    indptr[1:] = 1
    bad = cls(
        (np.ones(1), np.array([n_minor + 3], dtype=np.int32), indptr),
        shape=(4, D),
    )
    with pytest.raises(ValueError, match="^X has an invalid CSR structure: indices: .*outside"):
        S.project(bad)


# --------------------------------------------------------------------------- shapes
def test_shape_mismatch_names_both_shapes(S):
    with pytest.raises(ValueError, match=r"S has shape \(8, 20\) but A has shape \(21, 3\)"):
        S @ np.ones((21, 3))  # noqa: B018
    with pytest.raises(ValueError, match=r"X has shape \(3, 19\) but S.T has shape \(20, 8\)"):
        np.ones((3, 19)) @ S.T  # noqa: B018
    with pytest.raises(ValueError, match=r"S.T has shape \(20, 8\) but Y has shape \(7, 3\)"):
        S.T @ np.ones((7, 3))  # noqa: B018
    with pytest.raises(ValueError, match=r"Z has shape \(3, 9\) but S has shape \(8, 20\)"):
        np.ones((3, 9)) @ S  # noqa: B018
    with pytest.raises(ValueError, match=r"A has shape \(19,\)"):
        S @ np.ones(19)  # noqa: B018
    with pytest.raises(ValueError, match=r"X has shape \(5, 21\)"):
        S.project(sp.csr_matrix(np.ones((5, 21))))
    with pytest.raises(ValueError, match=r"A has shape \(21, 5\)"):
        S @ sp.csc_matrix(np.ones((21, 5)))  # noqa: B018


@pytest.mark.parametrize("shape", [(0, D), (3, 0), (0,), (0, 0)])
def test_empty_arrays_rejected(S, shape):
    with pytest.raises(ValueError, match="X is empty"):
        S.project(np.ones(shape))
    if len(shape) == 2:
        with pytest.raises(ValueError, match="X is empty"):
            S.project(sp.csr_matrix(shape))


@pytest.mark.parametrize("ndim", [0, 3, 4])
def test_wrong_ndim_rejected(S, ndim):
    x = np.ones((2,) * ndim)
    for name, apply, _ in products(S):
        with pytest.raises(ValueError, match=f"{name} must be a 1-D or 2-D array.*ndim={ndim}"):
            apply(x)


# --------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "array, dtype_name",
    [
        (np.ones((3, D), dtype=np.complex128), "complex128"),
        (np.ones((3, D), dtype=np.complex64), "complex64"),
        (np.ones((3, D), dtype=object), "object"),
        (np.full((3, D), "a"), "<U1"),
        (np.full((3, D), b"a"), "|S1"),
        (np.zeros((3, D), dtype="datetime64[s]"), "datetime64"),
    ],
)
def test_unsupported_dtypes_rejected(S, array, dtype_name):
    pattern = f"X has unsupported dtype {re.escape(dtype_name)}.*real floating"
    with pytest.raises(TypeError, match=pattern):
        S.project(array)
    with pytest.raises(TypeError, match="A has unsupported dtype"):
        S @ array.T  # noqa: B018


def test_unsupported_sparse_dtype_rejected(S):
    X = sp.csr_matrix(np.ones((3, D), dtype=np.complex128))
    with pytest.raises(TypeError, match="X has unsupported dtype complex128"):
        S.project(X)


def test_ragged_input_rejected(S):
    # NumPy >= 1.24 refuses a ragged list; older NumPy makes an object array of lists.
    with pytest.raises(TypeError, match="X could not be converted|X has unsupported dtype object"):
        S.project([[1.0, 2.0], [1.0]])


def test_integer_and_bool_input_converted_to_float64(S):
    for dtype in (np.int8, np.int32, np.int64, np.uint16, np.bool_):
        X = (np.arange(3 * D).reshape(3, D) % 3).astype(dtype)
        out = S.project(X)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, S.project(X.astype(np.float64)))
        out = S.project(sp.csr_matrix(X))
        assert out.dtype == np.float64


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("family", ["gaussian", "rademacher", "very_sparse", "sparse_sign"])
def test_bad_sizes(family):
    make = getattr(sk, family)
    for k in (0, -1):
        with pytest.raises(ValueError, match=r"^k: must be"):  # the core's rule
            make(k, 10)
    for d in (0, -5):
        with pytest.raises(ValueError, match=r"^d: must be"):
            make(10, d)
    for bad in (2.5, 3.0, "3", None, True):
        with pytest.raises(TypeError, match="k must be an integer"):
            make(bad, 10)
        with pytest.raises(TypeError, match="d must be an integer"):
            make(10, bad)
    assert make(np.int64(10), np.uint8(12)).shape == (10, 12)


@pytest.mark.parametrize("k, d", [(2**40, 2**40), (2**62, 4), (2**64, 1)])
def test_overflowing_sizes(k, d):
    # The core's k * d rule, or the int64 argument itself, naming k.
    with pytest.raises(
        OverflowError, match=rf"^k: (k \* d = {k} \* {d} overflows|k={k} does not fit)"
    ):
        sk.gaussian(k, d)


def test_sparse_family_dimension_limit():
    with pytest.raises(OverflowError, match=r"^k: k=2147483648 exceeds 2\^31 - 1"):
        sk.countsketch(2**31, 4)
    with pytest.raises(OverflowError, match=r"^d: d=2147483648 exceeds 2\^31 - 1"):
        sk.sparse_sign(8, 2**31)
    # Dense families are generated on the fly and have no such limit.
    assert sk.gaussian(2, 2**31).shape == (2, 2**31)


def test_impossible_allocations_raise_memory_error():
    with pytest.raises(MemoryError, match="to_dense"):
        sk.gaussian(2**20, 2**20).to_dense()
    with pytest.raises(MemoryError, match="to_scipy"):
        sk.rademacher(2**21, 2**21).to_scipy(np.float32)
    with pytest.raises(MemoryError, match="very_sparse operator"):
        sk.very_sparse(2**31 - 1, 2**31 - 1, density=1.0)
    with pytest.raises(MemoryError, match="projecting sparse input"):
        sk.gaussian(2**20, 2**20).project(sp.csr_matrix((1, 2**20)))


@pytest.mark.parametrize("density", [0, 0.0, -0.1, 1.0000001, 2, float("nan"), float("inf")])
def test_bad_density(density):
    with pytest.raises(ValueError, match=r"^density: must be in \(0, 1\]"):
        sk.very_sparse(10, 100, density=density)


def test_bad_density_type():
    with pytest.raises(ValueError, match="density must be 'auto' or a float"):
        sk.very_sparse(10, 100, density="sparse")
    with pytest.raises(TypeError, match="density must be 'auto' or a float"):
        sk.very_sparse(10, 100, density=[0.5])
    with pytest.raises(ValueError, match="^density: applies to the 'very_sparse' family only"):
        sk.SketchOperator("gaussian", 10, 100, density=0.5)


def test_bad_nnz():
    with pytest.raises(ValueError, match=r"^nnz: must be in \[1, k=8\], got 9"):
        sk.sparse_sign(8, 100, nnz=9)
    with pytest.raises(ValueError, match=r"^nnz: must be in \[1, k=4\], got 8"):
        sk.sparse_sign(4, 100)  # the default nnz=8 needs k >= 8
    for nnz in (0, -3):
        with pytest.raises(ValueError, match="^nnz: must be"):
            sk.sparse_sign(8, 100, nnz=nnz)
    with pytest.raises(TypeError, match="nnz must be an integer"):
        sk.sparse_sign(8, 100, nnz=2.0)
    with pytest.raises(ValueError, match="^nnz: applies to the 'sparse_sign' family only"):
        sk.SketchOperator("countsketch", 10, 100, nnz=1)
    assert sk.sparse_sign(8, 100, nnz=8).nnz == 8


def test_bad_seed():
    for seed in (-1, -(2**70), 2**64, 2**80):
        pattern = rf"seed must be an integer in \[0, 2\*\*64\), got seed={seed}"
        with pytest.raises(ValueError, match=pattern):
            sk.gaussian(4, 4, seed=seed)
    for seed in (1.0, "1", None, True):
        with pytest.raises(TypeError, match="seed must be an integer"):
            sk.countsketch(4, 4, seed=seed)
    assert sk.gaussian(4, 4, seed=np.uint64(2**64 - 1)).seed == 2**64 - 1


def test_bad_family():
    with pytest.raises(ValueError, match="^family: ") as info:
        sk.SketchOperator("fourier", 4, 4)
    # The core's list of families drives the message: every one is named.
    for family in _native.FAMILIES:
        assert family in str(info.value)
    assert "srht" in _native.FAMILIES
    with pytest.raises(TypeError, match="family must be a string"):
        sk.SketchOperator(3, 4, 4)


def test_bad_dtype_for_materialization(S):
    for dtype in (np.int64, np.float16, np.complex128, "float128"):
        with pytest.raises(TypeError, match="dtype must be float32 or float64"):
            S.to_dense(dtype)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        S.to_scipy(np.int32)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        S.to_dense("not a dtype")


def test_bad_thread_counts():
    before = sk.get_num_threads()
    for n in (0, -1):  # the core's rule, in its words
        with pytest.raises(ValueError, match="n: the number of threads must be at least 1"):
            sk.set_num_threads(n)
    for n in (1.5, "2", None, True):
        with pytest.raises(TypeError, match="n must be an integer"):
            sk.set_num_threads(n)
    assert sk.get_num_threads() == before


def test_unsupported_operand_types(S):
    with pytest.raises(TypeError):
        S @ "abc"  # noqa: B018
    with pytest.raises(TypeError):
        S @ {"a": 1}  # noqa: B018


# --------------------------------------------------------------------------- no crash
def test_bad_input_never_crashes_the_interpreter():
    """Run bad calls in a fresh interpreter: each must raise a Python exception and the
    process must exit normally (a native crash would end it with a signal)."""
    script = textwrap.dedent(
        """
        import numpy as np
        import scipy.sparse as sp
        import sketchkit as sk

        S = sk.sparse_sign(8, 20, seed=0)
        G = sk.gaussian(8, 20, seed=0)
        bad_csr = sp.csr_matrix(
            (np.ones(2), np.array([1, 50], dtype=np.int32), np.array([0, 1, 2], dtype=np.int32)),
            shape=(2, 20),
        )
        decreasing = sp.csr_matrix(
            (np.ones(2), np.array([1, 2], dtype=np.int32), np.array([0, 2, 1], dtype=np.int32)),
            shape=(2, 20),
        )
        calls = [
            lambda: S @ np.ones((21, 3)),
            lambda: S.project(np.full((2, 20), np.nan)),
            lambda: S.project(np.ones((2, 3, 20))),
            lambda: S.project(np.ones((0, 20))),
            lambda: S.project(np.ones((2, 20), dtype=complex)),
            lambda: S.project(bad_csr),
            lambda: S.project(decreasing),
            lambda: G.project(bad_csr),
            lambda: sk.gaussian(2**40, 2**40),
            lambda: sk.gaussian(-1, 4),
            lambda: sk.sparse_sign(4, 4, nnz=5),
            lambda: sk.gaussian(4, 4, seed=-1),
            lambda: sk.set_num_threads(0),
            lambda: sk.gaussian(2**20, 2**20).to_dense(),
            lambda: sk.gaussian(2**22, 2**22).to_scipy(),
            lambda: sk.gaussian(2**20, 2**20).project(sp.csr_matrix((1, 2**20))),
            lambda: sk.rademacher(2**20, 2**20) @ sp.csr_matrix((2**20, 1)),
            lambda: sk.very_sparse(2**31 - 1, 2**31 - 1, density=1.0),
            lambda: sk.countsketch(2**31, 4),
        ]
        for call in calls:
            try:
                call()
            except (ValueError, TypeError, OverflowError, MemoryError) as exc:
                print("ok", type(exc).__name__)
            else:
                print("no error")
        print("done")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stdout.split()
    assert proc.stdout.count("ok ") == 19, proc.stdout + proc.stderr
    assert lines[-1] == "done"


# ------------------------------------------------------------------ rules owned by the core
def test_class_quotas_are_the_selectors_counts():
    from sketchkit.selection import StratifiedRandomSelector

    rng = np.random.default_rng(4)
    y = rng.choice(3, p=[0.6, 0.35, 0.05], size=401)
    X = rng.standard_normal((401, 2))
    for reduction in (0.1, 0.5, 0.75, 0.99):
        _, yr = StratifiedRandomSelector(reduction=reduction, random_state=0).fit_resample(X, y)
        want = _native.class_quotas(np.bincount(y, minlength=3), reduction)
        assert [int((yr == c).sum()) for c in range(3)] == list(want)
    with pytest.raises(ValueError, match="^reduction: "):
        _native.class_quotas(np.array([3, 4]), 1.5)
    with pytest.raises(ValueError, match="^reduction: "):
        StratifiedRandomSelector(reduction=1.5).fit_resample(X, y)


@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("shape", [(8,), (3, 8)])
def test_nan_fwht_leaves_the_array_untouched(inplace, shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x.flat[-1] = np.nan
    before = x.copy()
    with pytest.raises(ValueError, match="Input x contains NaN or infinity"):
        sk.fwht(x, inplace=inplace)
    np.testing.assert_array_equal(x, before)  # NaN compares equal here
    with pytest.raises(ValueError, match="Input x contains NaN or infinity"):
        _native.fwht_inplace(x.reshape(1, -1) if x.ndim == 1 else x, 1, False)
    np.testing.assert_array_equal(x, before)


def test_native_lists_drive_the_python_face():
    from sketchkit import cli
    from sketchkit.selection import GraphAttentionSelector, HierarchicalHasher

    assert cli.METHODS == _native.FAMILIES
    assert set(_native.SPARSE_FAMILIES) <= set(_native.FAMILIES)
    for family in _native.FAMILIES:
        op = sk.SketchOperator(family, 8, 16)
        assert op.is_sparse == (family in _native.SPARSE_FAMILIES)
    assert sk.sparse_sign(16, 100).nnz == _native.DEFAULT_NNZ
    defaults = _native.hash_defaults()
    h = HierarchicalHasher()
    assert (h.family, h.n_bits, h.max_bucket) == (
        defaults["family"],
        defaults["n_bits"],
        defaults["max_bucket"],
    )
    att = _native.attention_defaults()
    Xs = np.random.default_rng(0).standard_normal((60, 2))
    ys = np.arange(60) % 2
    cover = GraphAttentionSelector(strategy="cover", reduction=0.5, random_state=0).fit(Xs, ys)
    assert cover.noise_threshold_ == att["noise_threshold"]
    tuned = GraphAttentionSelector(reduction=0.5, random_state=0).fit(Xs, ys)
    tried = [(r["boundary_share"], r["noise_threshold"]) for r in tuned.tuning_results_]
    assert tried == [
        (b, t) for b in att["boundary_share_grid"] for t in att["noise_threshold_grid"]
    ]
    with pytest.raises(ValueError, match="hash_family must be one of"):
        GraphAttentionSelector(hash_family="minhash", reduction=0.5).fit_resample(
            np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
        )


def test_old_pickles_still_load():
    from sketchkit._hadamard import _rebuild_rotation
    from sketchkit._operator import _rebuild

    assert _rebuild("sparse_sign", 16, 100, 3, 8, None) == sk.sparse_sign(16, 100, seed=3)
    assert _rebuild("very_sparse", 4, 100, 1, None, 0.5) == sk.very_sparse(
        4, 100, density=0.5, seed=1
    )
    assert _rebuild("countsketch", 4, 100, 1, None, None) == sk.countsketch(4, 100, seed=1)
    assert _rebuild_rotation(5, 2, 1) == sk.hadamard_rotation(5, 2, seed=1)
