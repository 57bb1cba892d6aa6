"""The ``sketchkit`` command line.

``sketchkit demo``
    Generate a seeded low-rank-plus-noise data set, project it with several operator
    families, report pairwise-distance distortion on a sample of pairs, and compare
    the speed with scikit-learn's ``SparseRandomProjection`` when it is installed.

``sketchkit project IN OUT --method METHOD -k K``
    Project the rows of a ``.npy`` array (memory-mapped, processed in row chunks) or
    of a SciPy sparse ``.npz`` matrix, writing ``OUT`` as ``.npy`` (dense) or ``.npz``
    (sparse; sparse input only). The chunked result is bit-identical to projecting
    the whole matrix at once.

``sketchkit select IN -o OUT --label COLUMN [--reduction R]``
    Instance selection on a labelled ``.csv``, ``.npy`` or ``.parquet`` file (see
    :mod:`sketchkit._cli_select`); a progress display is on by default.

Every error (in the arguments, the input files or the output path) exits with
status 2 and exactly one line ``sketchkit COMMAND: error: ...`` on standard error; an
interrupt (Ctrl-C) exits with status 130. Outputs are written to a temporary file
beside the target and moved over it only once complete: a failure or an interrupt
leaves a pre-existing output untouched and no partial file behind. An output that is
the same file as an input (through a symbolic or hard link too) is refused.

Progress bars (``project`` and ``select``; ``--no-progress`` turns them off) are drawn
with ``tqdm`` (the ``cli`` extra: ``pip install sketchkit[cli]``) on standard error, and
only when it is a terminal: output redirected to a file or a pipe holds no bar and no
carriage return. Without ``tqdm`` the commands run the same with no bar and no warning.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

import numpy as np

from . import _native
from ._cli_files import CliError, check_distinct, check_output, output_file
from ._cli_shards import is_shard_input, project_shards
from ._gpu import gpu_available, gpu_info
from ._operator import (
    SketchOperator,
    gaussian,
    get_num_threads,
    simd_level,
    sparse_sign,
    very_sparse,
)
from ._progress import progress
from ._validation import check_seed
from .dask import parse_scheduler

__all__ = ["main"]

#: ``--method`` takes every operator family of the core.
METHODS = _native.FAMILIES

#: Target size in bytes of one chunk of input rows when ``--chunk-rows`` is not given.
_DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024

#: Errors of the operators and the native core that the CLI reports as ``error:`` lines.
_USER_ERRORS = (ValueError, TypeError, OverflowError, MemoryError, RuntimeError, OSError)


# ---------------------------------------------------------------------- helpers
def _make_operator(
    method: str, k: int, d: int, seed: int, nnz: int | None, density: float | str
) -> SketchOperator:
    # --nnz and --density go to the families that take them (the core says which);
    # the CLI caps the default nnz at k.
    takes = _native.family_parameters(method)
    params: dict[str, Any] = {}
    if "nnz" in takes:
        params["nnz"] = min(_native.DEFAULT_NNZ, k) if nnz is None else nnz
    if "density" in takes:
        params["density"] = density
    return SketchOperator(method, k, d, seed=seed, **params)


def _parse_density(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid density {text!r}: expected 'auto' or a number in (0, 1]"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}") from None
    try:  # the operators' seed rule
        return check_seed(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _scheduler(text: str) -> str:
    try:
        return parse_scheduler(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


# ---------------------------------------------------------------------- project
def _resolve_dtype(requested: str | None, input_dtype: np.dtype) -> np.dtype:
    if requested is not None:
        return np.dtype(requested)
    if input_dtype.kind == "f" and input_dtype.itemsize in (4, 8):
        return input_dtype.newbyteorder("=")
    if input_dtype.kind == "f" and input_dtype.itemsize == 2:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _project_dense_file(args: argparse.Namespace, out_path: str, progress_enabled: bool) -> None:
    try:
        X = np.load(args.input, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {args.input!r} as a .npy array: {exc}") from exc
    if X.ndim != 2:
        raise CliError(f"input array must be 2-D (rows x features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise CliError(f"input array has unsupported dtype {X.dtype}")
    n, d = X.shape
    if n == 0 or d == 0:
        raise CliError(f"input array is empty (shape {X.shape})")
    dtype = _resolve_dtype(args.dtype, X.dtype)
    if args.device == "gpu" and dtype != np.float32:
        raise CliError(
            f"--device gpu computes in float32 and the input is {X.dtype}; "
            "pass --dtype float32 to convert it"
        )
    op = _make_operator(args.method, args.k, d, args.seed, args.nnz, args.density)
    chunk = args.chunk_rows or max(1, _DEFAULT_CHUNK_BYTES // (d * dtype.itemsize))
    out = np.lib.format.open_memmap(out_path, mode="w+", dtype=dtype, shape=(n, args.k))
    bar = progress(n, enabled=progress_enabled, unit="rows")
    try:
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            block = np.asarray(X[start:stop]).astype(dtype, copy=False)
            out[start:stop] = op.project(block, device=args.device)
            bar.update(stop - start)
        out.flush()
    finally:
        bar.close()
        del out  # unmapped before the file is moved or removed


def _project_sparse_file(args: argparse.Namespace, out_path: str, progress_enabled: bool) -> None:
    try:
        import scipy.sparse as sp
    except ImportError as exc:
        raise CliError("sparse .npz input requires SciPy (pip install scipy)") from exc
    try:
        X = sp.load_npz(args.input)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise CliError(
            f"cannot read {args.input!r} as a sparse matrix (scipy.sparse.save_npz): {exc}"
        ) from exc
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise CliError(f"input matrix must be 2-D and non-empty, got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise CliError(f"input matrix has unsupported dtype {X.dtype}")
    if args.device == "gpu":
        raise CliError("--device gpu takes dense .npy input; sparse .npz runs on the CPU")
    dtype = _resolve_dtype(args.dtype, X.dtype)
    X = X.tocsr()
    if X.dtype != dtype:
        X = X.astype(dtype)
    X.sort_indices()  # sorted indices give the same bits as the dense kernels
    n, d = X.shape
    op = _make_operator(args.method, args.k, d, args.seed, args.nnz, args.density)
    avg_row_bytes = max(1, (X.nnz * (dtype.itemsize + X.indices.itemsize)) // n)
    chunk = args.chunk_rows or max(1, _DEFAULT_CHUNK_BYTES // avg_row_bytes)
    bar = progress(n, enabled=progress_enabled, unit="rows")
    try:
        if _extension(args.output) == ".npy":
            out = np.lib.format.open_memmap(out_path, mode="w+", dtype=dtype, shape=(n, args.k))
            try:
                for start in range(0, n, chunk):
                    stop = min(start + chunk, n)
                    out[start:stop] = op.project(X[start:stop])
                    bar.update(stop - start)
                out.flush()
            finally:
                del out  # unmapped before the file is moved or removed
        else:
            parts = []
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                parts.append(op.project(X[start:stop], dense_output=False))
                bar.update(stop - start)
            result = sp.vstack(parts, format="csr") if len(parts) > 1 else parts[0]
            sp.save_npz(out_path, result)
    finally:
        bar.close()


def _cmd_project(args: argparse.Namespace) -> int:
    if is_shard_input(args.input):
        try:
            project_shards(
                args,
                lambda d: _make_operator(args.method, args.k, d, args.seed, args.nnz, args.density),
                _resolve_dtype,
            )
        except _USER_ERRORS as exc:
            raise CliError(str(exc)) from exc
        return 0
    if args.scheduler is not None:
        raise CliError(
            "--scheduler takes shard input: a directory or a glob of .npy/.parquet files"
        )
    in_ext, out_ext = _extension(args.input), _extension(args.output)
    if in_ext not in (".npy", ".npz"):
        raise CliError(f"input file must end in .npy or .npz, got {args.input!r}")
    if out_ext not in (".npy", ".npz"):
        raise CliError(f"output file must end in .npy or .npz, got {args.output!r}")
    if not os.path.isfile(args.input):
        raise CliError(f"input file {args.input!r} does not exist")
    if in_ext == ".npy" and out_ext == ".npz":
        raise CliError("sparse .npz output requires sparse .npz input; use a .npy output")
    check_output(args.output)
    check_distinct(args.output, [args.input])
    project = _project_dense_file if in_ext == ".npy" else _project_sparse_file
    try:
        with output_file(args.output, out_ext) as tmp:
            project(args, tmp, not args.no_progress)
    except _USER_ERRORS as exc:
        raise CliError(str(exc)) from exc
    return 0


# ---------------------------------------------------------------------- demo
def _demo_data(n: int, d: int, seed: int) -> np.ndarray:
    """A low-rank-plus-noise float32 matrix (rank 32 signal plus 10% isotropic noise)."""
    rng = np.random.default_rng(seed)
    rank = min(32, d)
    left = rng.standard_normal((n, rank), dtype=np.float32)
    right = rng.standard_normal((rank, d), dtype=np.float32) / np.float32(math.sqrt(rank))
    X = left @ right
    X += np.float32(0.1) * rng.standard_normal((n, d), dtype=np.float32)
    return X


def _distortion(X: np.ndarray, Y: np.ndarray, pairs: np.ndarray) -> tuple[float, float]:
    """max and median of |‖Sx − Sy‖² / ‖x − y‖² − 1| over the sampled pairs."""
    i, j = pairs
    dx = X[i].astype(np.float64) - X[j].astype(np.float64)
    dy = Y[i].astype(np.float64) - Y[j].astype(np.float64)
    ratio = np.einsum("ij,ij->i", dy, dy) / np.einsum("ij,ij->i", dx, dx)
    err = np.abs(ratio - 1.0)
    return float(err.max()), float(np.median(err))


def _best_time(fn: Any, repeat: int, budget: float = 2.0) -> tuple[float, Any]:
    """Best of up to ``repeat`` runs; stops repeating once ``budget`` seconds are spent."""
    best, result, spent = math.inf, None, 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
        best, spent = min(best, elapsed), spent + elapsed
        if spent > budget:
            break
    return best, result


def _demo_gpu(
    device: str, X: np.ndarray, k: int, nnz: int, seed: int, repeat: int, out: TextIO
) -> None:
    """The demo's GPU line: timed on a hardware adapter (or when ``device == "gpu"``);
    on a software adapter only a 256-row bit-identity check, unless asked to time it."""
    if device == "cpu":
        return
    if not gpu_available():
        if device == "gpu":
            raise CliError("--device gpu: no GPU adapter found (device='gpu' unavailable)")
        out.write("GPU: no adapter found (device='gpu' unavailable)\n\n")
        return
    info = gpu_info()
    software = info["device_type"] == "cpu"
    op = sparse_sign(k, d=X.shape[1], nnz=nnz, seed=seed)
    label = f"GPU {info['name']} ({info['backend']}, {info['device_type']})"
    if software and device == "auto":
        rows = X[:256]
        same = np.array_equal(op.project(rows, device="gpu"), op.project(rows))
        out.write(
            f"{label}: a software driver, so not timed (`sketchkit demo --device gpu` "
            f"times it); sparse_sign on {rows.shape[0]} rows is "
            f"{'bit-identical to' if same else 'DIFFERENT from'} the CPU's\n\n"
        )
        return
    gpu_seconds, Y_gpu = _best_time(lambda: op.project(X, device="gpu"), repeat)
    same = np.array_equal(Y_gpu, op.project(X))
    out.write(
        f"{label}: sparse_sign {gpu_seconds:.4f} s with transfers; result "
        f"{'bit-identical to' if same else 'DIFFERENT from'} the CPU's"
        + (" (software driver: not a GPU timing)" if software else "")
        + "\n\n"
    )


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    if args.quick:
        n, d, k = 2000, 512, 64
    else:
        n, d, k = args.n, args.d, args.k
    if k > d:
        raise CliError(f"k={k} must not exceed d={d} for the demo")
    if n < 2:
        raise CliError(f"n={n}: the demo measures distances between pairs of rows, so n >= 2")
    nnz = min(_native.DEFAULT_NNZ, k)  # as in `project`: the default nnz capped at k
    repeat = 1 if args.quick else 3
    out.write(
        f"sketchkit demo: n={n} rows, d={d} features, k={k} components, float32\n"
        f"threads: {get_num_threads()}, SIMD: {simd_level()}\n"
    )
    t0 = time.perf_counter()
    X = _demo_data(n, d, seed=args.seed)
    out.write(f"generated low-rank + noise data in {time.perf_counter() - t0:.2f} s\n\n")

    rng = np.random.default_rng(args.seed + 1)
    n_pairs = min(2000, n * (n - 1) // 2)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i
    pairs = np.stack([i, j])

    sparse_name = f"{sparse_sign.__name__} (nnz={nnz})"
    very_sparse_name = f"{very_sparse.__name__} (auto)"
    methods = [
        (sparse_name, lambda: sparse_sign(k, d, nnz=nnz, seed=args.seed)),
        (very_sparse_name, lambda: very_sparse(k, d, seed=args.seed)),
        (gaussian.__name__, lambda: gaussian(k, d, seed=args.seed)),
    ]
    header = f"{'method':<24}{'time (s)':>10}{'max |dist-1|':>15}{'median |dist-1|':>18}\n"
    out.write(header)
    out.write("-" * (len(header) - 1) + "\n")
    times: dict[str, float] = {}
    for name, make in methods:
        seconds, Y = _best_time(lambda make=make: make().project(X), repeat)
        times[name] = seconds
        worst, median = _distortion(X, Y, pairs)
        out.write(f"{name:<24}{seconds:>10.4f}{worst:>15.4f}{median:>18.4f}\n")
    out.write(f"(distortion over {n_pairs} random pairs; time includes building S)\n\n")

    _demo_gpu(args.device, X, k, nnz, args.seed, repeat, out)

    try:
        from sklearn.random_projection import SparseRandomProjection
    except ImportError:
        out.write("scikit-learn is not installed: speed comparison skipped\n")
        return 0

    def run_sklearn() -> Any:
        est = SparseRandomProjection(n_components=k, random_state=args.seed)
        return est.fit_transform(X)

    sk_seconds, Y_sk = _best_time(run_sklearn, repeat)
    worst, median = _distortion(X, np.asarray(Y_sk), pairs)
    out.write(
        f"scikit-learn SparseRandomProjection fit+transform: {sk_seconds:.4f} s "
        f"(max |dist-1| {worst:.4f}, median {median:.4f})\n"
    )
    for name in (very_sparse_name, sparse_name):
        ratio = sk_seconds / max(times[name], 1e-12)
        if ratio >= 1:
            out.write(f"  sketchkit {name}: {ratio:.1f}x faster\n")
        else:
            out.write(f"  sketchkit {name}: {1 / ratio:.1f}x slower\n")
    return 0


# ---------------------------------------------------------------------- entry point
class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sketchkit",
        description="Fast, reproducible randomized sketching (random projections).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo",
        help="distortion and speed demonstration on synthetic data",
        description="Project a synthetic low-rank + noise matrix and report "
        "pairwise-distance distortion and timings.",
    )
    demo.add_argument("--n", type=_positive_int, default=20000, help="rows (default 20000)")
    demo.add_argument("--d", type=_positive_int, default=4096, help="features (default 4096)")
    demo.add_argument("--k", type=_positive_int, default=256, help="components (default 256)")
    demo.add_argument("--seed", type=_seed, default=0, help="data and operator seed")
    demo.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    demo.add_argument(
        "--device",
        choices=("auto", "cpu", "gpu"),
        default="auto",
        help="auto: time the GPU on a hardware adapter only (a software one gets a "
        "bit-identity check); gpu: time it on any adapter; cpu: skip it",
    )

    proj = sub.add_parser(
        "project",
        help="project the rows of a .npy or sparse .npz file, or of shards",
        description="Compute OUT = IN @ S.T for a random sketch operator S of shape (k, d). "
        "A .npy input is memory-mapped and processed in row chunks; a .npz input "
        "(scipy.sparse.save_npz) gives a dense .npy or sparse .npz output. An input "
        "directory or glob of .npy/.parquet shards gives one OUT/<shard>.npy per shard, "
        "locally or on Dask (--scheduler).",
    )
    proj.add_argument(
        "input",
        metavar="IN",
        help="input .npy (dense) or .npz (sparse) file, or a directory or quoted glob of "
        ".npy/.parquet shards",
    )
    proj.add_argument(
        "output",
        metavar="OUT",
        help="output .npy (dense) or .npz (sparse) file; a directory for shard input",
    )
    proj.add_argument(
        "--method", choices=METHODS, default=sparse_sign.__name__, help="operator family"
    )
    proj.add_argument("-k", type=_positive_int, required=True, help="number of components")
    proj.add_argument("--seed", type=_seed, default=0, help="operator seed (default 0)")
    proj.add_argument(
        "--nnz",
        type=_positive_int,
        default=None,
        help=f"nonzeros per column (sparse_sign; default min({_native.DEFAULT_NNZ}, k))",
    )
    proj.add_argument(
        "--density",
        type=_parse_density,
        default="auto",
        help="density in (0, 1] or 'auto' (very_sparse)",
    )
    proj.add_argument(
        "--chunk-rows", type=_positive_int, default=None, help="rows per chunk (default ~64 MiB)"
    )
    proj.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="computation and output dtype (default: the input's float dtype, else float64)",
    )
    proj.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where to compute (gpu: float32 dense input; same bits for sparse families)",
    )
    proj.add_argument(
        "--scheduler",
        type=_scheduler,
        default=None,
        metavar="SPEC",
        help="shard input only: run one Dask task per shard on 'threads', 'processes', "
        "'synchronous' or a distributed scheduler address tcp://HOST:PORT (needs the "
        "dask extra; default: shards in turn in this process)",
    )
    proj.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (one is drawn with tqdm when stderr is a terminal)",
    )

    from . import _cli_select

    _cli_select.add_parser(sub, _positive_int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sketchkit`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 after an error (reported as one
        ``sketchkit COMMAND: error: ...`` line on standard error), 130 after an
        interrupt.

    Raises
    ------
    SystemExit
        With status 2 for a usage error (one ``error:`` line on standard error), or 0
        after ``--help``.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            try:
                return _cmd_demo(args, sys.stdout)
            except _USER_ERRORS as exc:
                raise CliError(str(exc)) from exc
        if args.command == "select":
            from . import _cli_select

            return _cli_select.run(args)
        return _cmd_project(args)
    except CliError as exc:
        message = " ".join(str(exc).split()) or type(exc.__cause__ or exc).__name__
        print(f"sketchkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sketchkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
