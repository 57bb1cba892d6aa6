"""Run-time promises that need processes, threads and memory limits to break them.

* With one thread, calls from several Python threads run side by side (each call gets a
  one-worker pool of its own) and give the single-threaded bits.
* ``set_num_threads`` is bounded (1 to 4 x CPUs) and ``SKETCHKIT_NUM_THREADS`` is
  validated, each with an error naming it; changing the count while calls run on other
  threads changes no result.
* ``fork()`` while other threads are inside sketchkit never hangs the child.
* An allocation that fails is a ``MemoryError`` and the interpreter survives, for each
  entry point that allocates (run in a subprocess under ``RLIMIT_AS``).
* A panic inside a kernel (injected by a test hook) is a ``RuntimeError``, and the next
  call works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import sketchkit as sk
from sketchkit import _native

CPUS = os.cpu_count() or 1


@pytest.fixture
def restore_threads():
    before = sk.get_num_threads()
    yield
    sk.set_num_threads(before)


def _run_child(code: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


# ------------------------------------------------------------------ threads
@pytest.mark.parametrize("threads", [1, 2])
def test_calls_from_two_python_threads_overlap(threads, restore_threads):
    """Two Python threads each occupy a worker for 0.6 s: they overlap (about 0.6 s in
    all) instead of queueing (1.2 s). Sleeping needs no core, so a busy machine does
    not decide the outcome."""
    sk.set_num_threads(threads)
    if threads == 1:
        _native._sleep_on_workers(0.0)  # a one-worker pool exists (built once)

    def run() -> float:
        callers = [threading.Thread(target=_native._sleep_on_workers, args=(0.6,)) for _ in "ab"]
        t0 = time.perf_counter()
        for t in callers:
            t.start()
        for t in callers:
            t.join()
        return time.perf_counter() - t0

    assert run() < 1.0


def test_one_thread_calls_from_python_threads_give_the_same_bits(restore_threads):
    sk.set_num_threads(1)
    X = np.random.default_rng(0).standard_normal((500, 512)).astype(np.float32)
    ops = [sk.gaussian(64, 512, seed=1), sk.sparse_sign(64, 512, seed=2)]
    expected = [S.project(X) for S in ops]
    out: dict = {}

    def work(i):
        out[i] = [S.project(X) for S in ops for _ in range(3)]

    callers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    for i in range(4):
        for j, y in enumerate(out[i]):
            assert_array_equal(y, expected[j // 3])


def test_set_num_threads_bounds(restore_threads):
    bound = 4 * CPUS
    sk.set_num_threads(bound)
    assert sk.get_num_threads() == bound
    t0 = time.perf_counter()
    for bad in (bound + 1, 100_000, 0, -3):
        with pytest.raises(ValueError, match="^n: "):
            sk.set_num_threads(bad)
    assert time.perf_counter() - t0 < 1.0
    assert sk.get_num_threads() == bound


@pytest.mark.parametrize("value", ["0", "abc", "1.5", "-2", "", str(4 * CPUS + 1)])
def test_invalid_env_thread_count_is_an_error_naming_it(value):
    proc = _run_child(
        """
        import numpy as np, sketchkit as sk
        for call in (sk.get_num_threads, lambda: sk.sparse_sign(8, 16).project(np.ones((2, 16)))):
            try:
                call()
            except ValueError as e:
                assert "SKETCHKIT_NUM_THREADS" in str(e), e
            else:
                raise SystemExit("no error")
        sk.set_num_threads(2)  # an explicit count overrides the variable
        assert sk.get_num_threads() == 2
        print("ok")
        """,
        env={"SKETCHKIT_NUM_THREADS": value},
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_valid_env_thread_count():
    proc = _run_child(
        "import sketchkit as sk; print(sk.get_num_threads())",
        env={"SKETCHKIT_NUM_THREADS": " 3 "},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"


def test_set_num_threads_while_calls_run(restore_threads):
    X = np.random.default_rng(1).standard_normal((700, 300))
    ops = [sk.sparse_sign(64, 300, seed=2), sk.gaussian(64, 300, seed=3)]
    expected = [S.project(X) for S in ops]
    stop = threading.Event()
    errors: list = []

    def caller():
        try:
            while not stop.is_set():
                for S, e in zip(ops, expected, strict=True):
                    assert_array_equal(S.project(X), e)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    for n in [1, 2, 3, 1, 4, 2, 1, 3] * 3:
        sk.set_num_threads(n)
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors


# ------------------------------------------------------------------ fork
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_other_threads_call_never_hangs():
    """Children forked while two threads keep looking pools up (and rebuilding them)
    finish; a child that inherited a held pool lock would hang forever."""
    proc = _run_child(
        """
        import os, sys, threading, time, warnings
        import numpy as np, sketchkit as sk
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        X = np.ones((4, 32))
        S = sk.sparse_sign(8, 32, seed=1)
        expected = S.project(X).tobytes()
        stop = threading.Event()

        def busy(counts):
            while not stop.is_set():
                sk.set_num_threads(counts[0]); S.project(X)
                sk.set_num_threads(counts[1]); S.project(X)

        workers = [threading.Thread(target=busy, args=(c,)) for c in ((1, 2), (2, 1))]
        for t in workers:
            t.start()
        hung = 0
        for _ in range(150):
            pid = os.fork()
            if pid == 0:
                ok = S.project(X).tobytes() == expected
                os._exit(0 if ok else 3)
            deadline = time.monotonic() + 20
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    assert os.waitstatus_to_exitcode(status) == 0, status
                    break
                if time.monotonic() > deadline:
                    hung += 1
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.002)
        stop.set()
        for t in workers:
            t.join()
        print("hung", hung)
        """,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["hung", "0"]


# ------------------------------------------------------------------ allocation failure
ALLOC_CASES = {
    # per-entry-point calls whose memory need is far above the limit set below
    "operator index lists": "x @ sk.sparse_sign(64, 20_000_000, nnz=64, seed=0).T",
    "dense result (8 TiB)": "sk.countsketch(2**20, 16).project(np.broadcast_to(np.ones(16), (2**20, 16)))",  # noqa: E501
    "dense family result": "sk.gaussian(2**18, 16).project(np.broadcast_to(np.ones(16), (2**22, 16)))",  # noqa: E501
    "sketch S @ A result": "sk.sparse_sign(2**24, 16, nnz=4) @ np.broadcast_to(np.ones((16, 1)), (16, 2**12))",  # noqa: E501
    "CSR input, dense result": "sk.countsketch(2**16, 16).project(sp.csr_matrix(np.ones((2**14, 16))))",  # noqa: E501
    "CSR input, sparse result": "sk.sparse_sign(2**30, 16, nnz=2).project(sp.csr_matrix(np.ones((64, 16))), dense_output=False)",  # noqa: E501
    "SRHT buffers": "sk.srht(8, 2**28, seed=0).project(np.broadcast_to(np.float32(1), (2, 2**28)))",
    "rotation buffers": "sk.hadamard_rotation(2**28, seed=0) @ np.broadcast_to(np.float32(1), (2**28, 2))",  # noqa: E501
    "FWHT result": "sk.fwht(np.broadcast_to(np.float32(1), (4, 2**28)))",
    "linalg": "sk.linalg.randomized_svd(np.broadcast_to(np.ones(64), (2**26, 64)), 20, random_state=0)",  # noqa: E501
    "selection graph": "sk.selection.GraphAttentionSelector(reduction=0.9, n_neighbors=200, random_state=0).fit(np.arange(2**21, dtype=float).reshape(-1, 2), np.arange(2**20) % 2)",  # noqa: E501
    "selection hashing": "sk.selection.HierarchicalHasher(n_bits=16, n_levels=4, n_views=64, random_state=0).fit(np.arange(2**21, dtype=float).reshape(-1, 2))",  # noqa: E501
}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS semantics of Linux")
def test_failed_allocations_are_memory_errors_and_the_interpreter_survives():
    code = f"""
        import resource, numpy as np, scipy.sparse as sp, sketchkit as sk
        import sketchkit.selection
        x = np.ones((1, 20_000_000), dtype=np.float32)
        sk.sparse_sign(8, 64).project(np.ones((4, 64)))  # pools and caches warm
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
        limit = vm + (600 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for name, expr in {ALLOC_CASES!r}.items():
            print("start", name, flush=True)  # names the case should the process abort
            try:
                eval(expr)
            except MemoryError:
                print("MemoryError", name, flush=True)
            except BaseException as e:
                print("other", name, type(e).__name__, str(e)[:200], flush=True)
            else:
                print("none", name, flush=True)
        print(sk.sparse_sign(8, 64).project(np.ones((4, 64))).shape, flush=True)
    """
    # One malloc arena: glibc reserves 64-128 MiB of address space for each new
    # per-thread arena, and under this limit that can make a tiny allocation fail (one
    # abort, "memory allocation of N bytes failed", in about fifty runs, in a case
    # that otherwise raises MemoryError), where no Rust program can recover. The
    # promise under test is about the large allocations.
    env = {"SKETCHKIT_NUM_THREADS": "2", "MALLOC_ARENA_MAX": "1"}
    proc = _run_child(code, env=env, timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-600:], proc.stderr[-1500:])
    lines = proc.stdout.splitlines()
    for name in ALLOC_CASES:
        assert f"MemoryError {name}" in lines, (name, proc.stdout)
    assert lines[-1] == "(4, 8)"


# ------------------------------------------------------------------ panics
@pytest.mark.parametrize("threads", [1, 2])
def test_injected_kernel_panic_is_a_runtime_error_and_the_next_call_works(threads, restore_threads):
    sk.set_num_threads(threads)
    X = np.random.default_rng(2).standard_normal((300, 64))
    S = sk.sparse_sign(16, 64, seed=4)
    expected = S.project(X)
    _native._panic_in_next_kernel()
    with pytest.raises(RuntimeError, match="internal error in sketchkit: .*injected"):
        S.project(X)
    assert_array_equal(S.project(X), expected)
    G = sk.gaussian(16, 64, seed=5)
    expected_g = G.project(X)
    _native._panic_in_next_kernel()
    with pytest.raises(RuntimeError, match="injected"):
        G.project(X)
    assert_array_equal(G.project(X), expected_g)
    assert_array_equal(S.project(X), expected)


# --- the result cache --------------------------------------------------------------

BIG = (1 << 17, 32)  # float32: 16 MiB results, above the cache's 8 MiB floor


@pytest.fixture
def output_cache():
    old = sk.set_output_cache(256 << 20)
    yield
    sk.set_output_cache(old)


def test_reused_results_hold_only_their_own_values(output_cache):
    rng = np.random.default_rng(0)
    op = sk.very_sparse(BIG[1], 48, density=0.25, seed=3)
    xs = [rng.standard_normal((BIG[0], 48)).astype(np.float32) for _ in range(3)]
    sk.set_output_cache(0)
    want = [op.project(x) for x in xs]
    sk.set_output_cache(256 << 20)
    got = []
    for x in xs:
        y = op.project(x)
        got.append(y.copy())
        del y  # freed: the next result of this size reuses its block
        assert _native._output_cache_state() == (1, BIG[0] * BIG[1] * 4)
    for g, w in zip(got, want, strict=True):
        assert_array_equal(g, w)
    # A reused block that held NaN (a caller wrote into its result) leaves no trace.
    y = op.project(xs[0])
    y.fill(np.nan)
    del y
    assert_array_equal(op.project(xs[1]), want[1])


def test_reused_results_are_ordinary_arrays(output_cache):
    op = sk.very_sparse(BIG[1], 16, density=0.5, seed=0)
    x = np.ones((BIG[0], 16), np.float32)
    y = op.project(x)
    assert y.flags.writeable and y.flags.c_contiguous and y.flags.aligned
    assert y.dtype == np.float32 and y.shape == BIG
    v = y[::2]
    del y  # a view keeps the block: not back in the cache yet
    assert _native._output_cache_state()[0] == 0
    v[:] = 7.0
    y2 = op.project(x)  # a fresh block, not the one the view holds
    assert (v == 7.0).all() and not np.shares_memory(v, y2)
    del v, y2
    assert _native._output_cache_state() == (2, 2 * BIG[0] * BIG[1] * 4)
    # F-order results (F-order input) come from the cache too.
    yf = op.project(np.asfortranarray(x))
    assert yf.flags.f_contiguous
    assert_array_equal(yf, op.project(x))


def test_output_cache_caps(output_cache):
    op = sk.very_sparse(64, 16, density=0.5, seed=0)
    x = np.ones((BIG[0], 16), np.float32)
    kept = []
    for rows in (1 << 16, 1 << 17, 3 << 15, 5 << 15, 3 << 16):  # 16-48 MiB results
        kept.append(op.project(x[:rows] if rows <= BIG[0] else np.ones((rows, 16), np.float32)))
    del kept
    blocks, nbytes = _native._output_cache_state()
    assert blocks == 4 and nbytes <= 256 << 20  # the oldest went first
    assert sk.set_output_cache(40 << 20) == 256 << 20
    blocks, nbytes = _native._output_cache_state()
    assert 0 < nbytes <= 40 << 20
    del blocks
    small = op.project(x[:1000])  # under 8 MiB: never cached
    del small
    assert _native._output_cache_state()[1] == nbytes
    sk.set_output_cache(0)
    assert _native._output_cache_state() == (0, 0)
    with pytest.raises(ValueError, match="max_bytes"):
        sk.set_output_cache(-1)
    with pytest.raises(TypeError, match="max_bytes"):
        sk.set_output_cache(1.5)  # type: ignore[arg-type]
