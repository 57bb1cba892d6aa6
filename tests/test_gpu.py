"""device="gpu" against the CPU.

Sparse families, the SRHT and the FWHT must give the CPU's bits (the GPU runs the same
float32 additions in the same order); the dense families must agree within the float32
accumulation bound. Tests that need an adapter skip, with the reason, when there is
none (unless SKETCHKIT_REQUIRE_GPU=1); the argument checks and the no-adapter error
run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import data as normal_data
from hypothesis import given, settings
from hypothesis import strategies as st

import sketchkit as sk
from sketchkit import _native

HAVE_GPU = sk.gpu_available()
if os.environ.get("SKETCHKIT_REQUIRE_GPU") == "1" and not HAVE_GPU:
    # CI installs a software Vulkan driver and sets this, so that a broken backend
    # cannot pass as "skipped".
    raise RuntimeError("SKETCHKIT_REQUIRE_GPU=1 but sketchkit.gpu_available() is False")
needs_gpu = pytest.mark.skipif(
    not HAVE_GPU,
    reason="no GPU adapter (Debian/Ubuntu: apt install mesa-vulkan-drivers for the "
    "software Vulkan driver)",
)

EXACT = {
    "very_sparse": lambda k, d, s: sk.very_sparse(k, d, density=0.1, seed=s),
    "sparse_sign": lambda k, d, s: sk.sparse_sign(k, d, nnz=min(4, k), seed=s),
    "countsketch": lambda k, d, s: sk.countsketch(k, d, seed=s),
    "srht": lambda k, d, s: sk.srht(k, d, seed=s),
}
DENSE = {
    "gaussian": lambda k, d, s: sk.gaussian(k, d, seed=s),
    "rademacher": lambda k, d, s: sk.rademacher(k, d, seed=s),
}
U = 2.0**-24


def data(shape, seed=0):
    """float32 standard normal data (the GPU computes in float32)."""
    return normal_data(shape, np.float32, seed)


def assert_bits(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def assert_within_f32_bound(got, want, x, s, entry_rel=0.0):
    """|got - want| <= (2 p u + e) (|x| @ |s|): two float32 sums of p terms each, plus
    the relative error e of the entries themselves."""
    p = x.shape[-1]
    mag = np.abs(x.astype(np.float64)) @ np.abs(s.astype(np.float64))
    tol = (2 * p * U + entry_rel) * mag
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    assert np.all(diff <= tol), float(np.max(diff - tol))


# ------------------------------------------------------------------ everywhere
def test_device_argument_is_checked():
    op = sk.countsketch(4, 8)
    x = data((2, 8))
    for bad in ("cuda", "GPU", None, 1):
        with pytest.raises(ValueError, match="device must be 'cpu' or 'gpu'"):
            op.project(x, device=bad)
        with pytest.raises(ValueError, match="device must be"):
            sk.fwht(x, device=bad)


def test_gpu_takes_float32_only_and_dense_only():
    op = sk.sparse_sign(4, 8, nnz=2)
    with pytest.raises(TypeError, match="X: device='gpu' computes in float32.*float64"):
        op.project(np.ones((2, 8)), device="gpu")
    with pytest.raises(TypeError, match="int64"):
        op.project(np.ones((2, 8), dtype=np.int64), device="gpu")
    with pytest.raises(TypeError, match="sparse"):
        op.project(sp.csr_matrix(np.ones((2, 8), np.float32)), device="gpu")
    with pytest.raises(TypeError, match="A: device='gpu'"):
        op.sketch(np.ones((8, 2)), device="gpu")
    with pytest.raises(TypeError, match="x: device='gpu'"):
        sk.fwht(np.ones(8), device="gpu")
    with pytest.raises(TypeError, match="float32"):
        sk.fwht(np.ones(8), device="gpu", inplace=True)


def test_no_adapter_gives_a_clear_runtime_error():
    code = textwrap.dedent(
        """
        import numpy as np, sketchkit as sk
        assert sk.gpu_available() is False
        for call in (
            lambda: sk.sparse_sign(4, 8, nnz=2).project(np.ones((2, 8), np.float32), device="gpu"),
            lambda: sk.fwht(np.ones(8, np.float32), device="gpu"),
            sk.gpu_info,
        ):
            try:
                call()
            except RuntimeError as e:
                assert "device='gpu'" in str(e) and "SKETCHKIT_GPU" in str(e), e
            else:
                raise AssertionError("no error")
        print("ok")
        """
    )
    env = dict(os.environ, SKETCHKIT_GPU="0")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_transformer_device_parameter():
    pytest.importorskip("sklearn")
    from sklearn.utils._param_validation import InvalidParameterError

    t = sk.SparseSignProjection(4, device="gpu")
    assert t.get_params()["device"] == "gpu"
    with pytest.raises(InvalidParameterError):
        sk.SparseSignProjection(4, device="tpu").fit(np.ones((3, 8), np.float32))


# ------------------------------------------------------------------ with an adapter
@needs_gpu
def test_gpu_info_describes_the_adapter():
    info = sk.gpu_info()
    assert set(info) == {"name", "backend", "device_type", "driver"}
    assert info["backend"] in {"vulkan", "metal", "dx12"}
    assert info["name"]


@needs_gpu
@pytest.mark.parametrize("family", sorted(EXACT) + sorted(DENSE))
def test_entries_materialized_on_the_gpu(family):
    k, d = 24, 70
    op = {**EXACT, **DENSE}[family](k, d, 11)
    st_gpu = op.project(np.eye(d, dtype=np.float32), device="gpu")  # = S.T
    s = op.to_dense(np.float32)
    if family == "gaussian":
        np.testing.assert_allclose(st_gpu.T, s, rtol=2e-6, atol=2e-7)
    else:
        assert_bits(np.ascontiguousarray(st_gpu.T), s)


@needs_gpu
@pytest.mark.parametrize("family", sorted(EXACT))
@pytest.mark.parametrize("order", ["C", "F"])
def test_exact_families_match_the_cpu_bit_for_bit(family, order):
    k, d, n = 40, 300, 77
    op = EXACT[family](k, d, 5)
    x = np.asarray(data((n, d), 1), order=order)
    assert_bits(op.project(x, device="gpu"), op.project(x))
    z = np.asarray(data((n, k), 2), order=order)
    assert_bits(op.project_adjoint(z, device="gpu"), op.project_adjoint(z))
    a = np.asarray(data((d, 9), 3), order=order)
    assert_bits(
        np.ascontiguousarray(op.sketch(a, device="gpu")), np.ascontiguousarray(op.sketch(a))
    )
    v = data(d, 4)
    assert_bits(op.project(v, device="gpu"), op.project(v))
    assert_bits(op.sketch(v, device="gpu"), op.sketch(v))


@needs_gpu
@pytest.mark.parametrize("family", sorted(DENSE))
def test_dense_families_within_float32_accumulation(family):
    k, d, n = 70, 257, 130
    op = DENSE[family](k, d, 3)
    s = op.to_dense(np.float64)
    e = 4e-6 if family == "gaussian" else 0.0
    x = data((n, d), 5)
    assert_within_f32_bound(op.project(x, device="gpu"), op.project(x), x, s.T, e)
    z = data((n, k), 6)
    assert_within_f32_bound(op.project_adjoint(z, device="gpu"), op.project_adjoint(z), z, s, e)


@needs_gpu
@pytest.mark.parametrize("family", sorted(EXACT) + sorted(DENSE))
def test_chunked_streaming_equals_one_shot(family):
    k, d, n = 40, 300, 203
    op = {**EXACT, **DENSE}[family](k, d, 9)
    x = data((n, d), 7)
    one, t1 = _native.gpu_project(op._native, x)
    many, t2 = _native.gpu_project(op._native, x, False, 7 * 512 * 4)
    assert t1["chunks"] == 1 and t2["chunks"] >= 18
    assert_bits(one, many)
    for key in ("upload_s", "kernel_s", "download_s"):
        assert t2[key] >= 0.0


@needs_gpu
@pytest.mark.parametrize("n", [1, 2, 64, 4096, 8192, 2**15, 2**16])
def test_fwht_matches_the_cpu_bit_for_bit(n):
    rows = max(1, 2**17 // n) if n > 64 else 9
    x = data((rows, n), n)
    for normalized in (False, True):
        assert_bits(
            sk.fwht(x, normalized=normalized, device="gpu"), sk.fwht(x, normalized=normalized)
        )
    xt = np.ascontiguousarray(x.T)  # columns
    assert_bits(sk.fwht(xt, axis=0, device="gpu"), sk.fwht(xt, axis=0))
    v = x[0].copy()
    w = v.copy()
    assert sk.fwht(w, inplace=True, device="gpu") is w
    assert_bits(w, sk.fwht(v))


@needs_gpu
def test_fwht_chunked_equals_one_shot():
    x = data((50, 8192), 3)
    a, b = x.copy(), x.copy()
    t1 = _native.gpu_fwht(a, 1, True)
    t2 = _native.gpu_fwht(b, 1, True, 3 * 8192 * 4)
    assert t1["chunks"] == 1 and t2["chunks"] == 17
    assert_bits(a, b)


@needs_gpu
def test_bad_input_on_the_gpu():
    op = sk.sparse_sign(8, 32, nnz=2)
    x = data((4, 32))
    with pytest.raises(ValueError, match="shape"):
        op.project(x[:, :31], device="gpu")
    with pytest.raises(ValueError, match="shape"):
        op.project_adjoint(x, device="gpu")
    x[1, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        op.project(x, device="gpu")
    y = data((2, 8))
    y[0, 0] = np.inf
    before = y.copy()
    with pytest.raises(ValueError, match="NaN or infinity"):
        sk.fwht(y, inplace=True, device="gpu")
    assert_bits(y, before)  # nothing was overwritten
    with pytest.raises(ValueError, match="power of two"):
        sk.fwht(data((2, 6)), device="gpu")
    with pytest.raises(ValueError, match="read-only|writ"):
        ro = data((2, 8))
        ro.setflags(write=False)
        sk.fwht(ro, inplace=True, device="gpu")
    from numpy.lib.stride_tricks import as_strided

    overlapping = as_strided(data(8), shape=(5, 4), strides=(4, 4))
    with pytest.raises(ValueError, match="overlap"):
        sk.fwht(overlapping, inplace=True, device="gpu")


@needs_gpu
def test_transformers_on_the_gpu_give_the_cpu_result():
    pytest.importorskip("sklearn")
    x = data((60, 500), 8)
    for cls in (sk.SparseSignProjection, sk.CountSketchProjection, sk.SRHTProjection):
        cpu = cls(32, random_state=4).fit_transform(x)
        gpu = cls(32, random_state=4, device="gpu").fit_transform(x)
        assert_bits(gpu, cpu)
    with pytest.raises(TypeError, match="float32"):
        sk.SparseSignProjection(32, device="gpu").fit_transform(x.astype(np.float64))


@needs_gpu
def test_concurrent_threads_get_their_own_results():
    fams = {**EXACT, **DENSE}
    jobs = [(name, seed) for seed in range(3) for name in sorted(fams)]

    def run(job):
        name, seed = job
        op = fams[name](32, 128, seed)
        x = data((64, 128), seed)
        return name, op, x, op.project(x, device="gpu")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs))
    for name, op, x, got in results:
        want = op.project(x)
        if name in EXACT:
            assert_bits(got, want)
        else:
            e = 4e-6 if name == "gaussian" else 0.0
            assert_within_f32_bound(got, want, x, op.to_dense(np.float64).T, e)


@needs_gpu
@settings(max_examples=25, deadline=None)
@given(
    family=st.sampled_from(sorted(EXACT)),
    n=st.integers(1, 40),
    k=st.integers(1, 64),
    d=st.integers(1, 600),
    seed=st.integers(0, 2**64 - 1),
)
def test_property_exact_families_any_shape_and_seed(family, n, k, d, seed):
    if family == "srht" and k > 1 << (d - 1).bit_length():
        k = 1 << (d - 1).bit_length()
    op = EXACT[family](k, d, seed)
    x = data((n, d), seed % 1000)
    assert_bits(op.project(x, device="gpu"), op.project(x))
    z = data((n, k), seed % 997)
    assert_bits(op.project_adjoint(z, device="gpu"), op.project_adjoint(z))


# ------------------------------------------------------------------ command line
def test_cli_device_gpu_argument_checks(tmp_path, capsys):
    from sketchkit.cli import main

    src = tmp_path / "x64.npy"
    np.save(src, np.ones((5, 16)))
    assert main(["project", str(src), str(tmp_path / "y.npy"), "-k", "4", "--device", "gpu"]) != 0
    assert "--dtype float32" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()
    npz = tmp_path / "x.npz"
    sp.save_npz(npz, sp.csr_matrix(np.ones((5, 16), np.float32)))
    assert main(["project", str(npz), str(tmp_path / "y.npz"), "-k", "4", "--device", "gpu"]) != 0
    assert "dense .npy" in capsys.readouterr().err


@needs_gpu
def test_cli_project_on_the_gpu_gives_the_cpu_file(tmp_path):
    from sketchkit.cli import main

    src = tmp_path / "x.npy"
    np.save(src, data((300, 64), 2))
    for device in ("cpu", "gpu"):
        args = ["project", str(src), str(tmp_path / f"{device}.npy"), "-k", "8"]
        assert main([*args, "--chunk-rows", "70", "--device", device, "--no-progress"]) == 0
    assert_bits(np.load(tmp_path / "gpu.npy"), np.load(tmp_path / "cpu.npy"))


@needs_gpu
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_an_error_not_a_hang():
    sk.gpu_info()  # open the device in this process first
    code = textwrap.dedent(
        """
        import multiprocessing as mp, numpy as np, sketchkit as sk

        def child(q):
            try:
                sk.sparse_sign(4, 8, nnz=2).project(np.ones((2, 8), np.float32), device="gpu")
                q.put("no error")
            except RuntimeError as e:
                q.put(str(e))

        if __name__ == "__main__":
            sk.gpu_info()
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            print(q.get(timeout=60))
            p.join()
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "fork" in r.stdout and "spawn" in r.stdout, (r.stdout, r.stderr)


@needs_gpu
def test_non_native_byte_order_float32_is_accepted():
    op = sk.sparse_sign(8, 40, nnz=2, seed=1)
    x = data((6, 40), 3)
    xb = x.astype(x.dtype.newbyteorder(">" if sys.byteorder == "little" else "<"))
    assert_bits(op.project(xb, device="gpu"), op.project(x))
    assert_bits(sk.fwht(xb[:, :32], device="gpu"), sk.fwht(x[:, :32]))


@needs_gpu
@pytest.mark.parametrize("shape", [(300, 150), (130, 700)])
def test_rademacher_entries_across_stream_blocks(shape):
    # Rows 0..127 of a column come from one Philox block, 128..255 from the next: the
    # GPU fetches one word per column and tile step, in both directions.
    k, d = shape
    op = sk.rademacher(k, d, seed=5)
    s = op.to_dense(np.float32)
    assert_bits(np.ascontiguousarray(op.project(np.eye(d, dtype=np.float32), device="gpu").T), s)
    assert_bits(op.project_adjoint(np.eye(k, dtype=np.float32), device="gpu"), s)
