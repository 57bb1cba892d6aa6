"""``sketchkit project`` on shards: a directory or a glob of ``.npy`` / ``.parquet`` files.

``sketchkit project 'data/*.npy' OUT_DIR -k 64 [--scheduler SPEC]``

Each input shard gives one output shard ``OUT_DIR/<shard name>.npy`` holding its
projected rows, in the shard's row order; the output directory is created if it does
not exist. Shards are the unit of work: one task reads its shard in blocks of
``--chunk-rows`` rows, projects each block and writes the rows into its output, so a
task holds one block and its output rows at a time, and every output shard is
bit-identical to projecting the shard (or the concatenation of all shards) at once.

* Shards are read by :func:`sketchkit.stream.iter_blocks`: ``.npy`` shards are
  memory-mapped; ``.parquet`` shards (with ``pyarrow``) are read in record batches,
  their columns being the features: every column must be numeric (integer, float or
  boolean) and have no nulls.
* All shards must have the same number of features. Each output shard has the float
  dtype of its input (``--dtype`` forces one).

Without ``--scheduler`` the shards are projected one after the other in this process
(the kernels use every core). With ``--scheduler`` (requires the ``dask`` extra) each
shard is a Dask task: ``threads``, ``processes`` and ``synchronous`` run Dask's local
schedulers; an address ``tcp://HOST:PORT`` sends the tasks to a ``distributed``
cluster, whose workers must see the input and output paths (a shared file system).
A task carries the operator's seed and parameters, never its matrix.

The outputs are written all or nothing: into temporary files beside their targets,
moved over them once every shard is done; any error (an unreadable shard, a worker
error, Ctrl-C) leaves the pre-existing outputs untouched and no partial file behind.
The progress bar counts rows (per block without a scheduler, per shard with one).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._cli_files import CliError, check_distinct, output_file
from ._progress import progress

__all__ = ["is_shard_input", "project_shards"]

#: Extensions of the shards read from a directory or a glob.
SHARD_EXTENSIONS = (".npy", ".parquet")

#: Rows per block when ``--chunk-rows`` is not given: about this many bytes of input.
_DEFAULT_BLOCK_BYTES = 64 * 1024 * 1024


def is_shard_input(path: str) -> bool:
    """Whether ``IN`` names shards: an existing directory or a glob pattern."""
    return os.path.isdir(path) or glob.has_magic(path)


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def list_shards(pattern: str) -> list[str]:
    """The shard files of a directory or a glob (:func:`sketchkit.stream.list_shards`),
    its errors as command-line errors."""
    from .stream import list_shards as shards

    try:
        return shards(pattern)
    except ValueError as exc:
        raise CliError(str(exc).removeprefix("source: ")) from exc


# ---------------------------------------------------------------------- reading
def _parquet_file(path: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise CliError(".parquet shards require pyarrow (pip install pyarrow)") from exc
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow's errors have no common base beyond Exception
        raise CliError(f"cannot read {path!r} as a .parquet file: {exc}") from exc


def _parquet_dtype(pf: Any, path: str) -> np.dtype:
    import pyarrow as pa

    dtypes = []
    for field in pf.schema_arrow:
        t = field.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
            raise CliError(
                f"shard {path!r}: column {field.name!r} has type {t}; every column must "
                "be numeric (the columns are the features)"
            )
        dtypes.append(np.dtype(t.to_pandas_dtype()))
    if not dtypes:
        raise CliError(f"shard {path!r} has no columns")
    return np.result_type(*dtypes)


def shard_info(path: str) -> tuple[int, int, np.dtype]:
    """``(rows, features, dtype)`` of a shard, read from its header or metadata."""
    if _extension(path) == ".npy":
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read {path!r} as a .npy array: {exc}") from exc
        if X.ndim != 2:
            raise CliError(f"shard {path!r} must be 2-D (rows x features), got shape {X.shape}")
        if X.dtype.kind not in "fiub":
            raise CliError(f"shard {path!r} has unsupported dtype {X.dtype}")
        return int(X.shape[0]), int(X.shape[1]), X.dtype
    pf = _parquet_file(path)
    dtype = _parquet_dtype(pf, path)
    return int(pf.metadata.num_rows), len(pf.schema_arrow), dtype


def iter_shard_blocks(path: str, rows: int) -> Iterator[Any]:
    """The shard's rows in consecutive blocks of at most ``rows`` rows, read by
    :func:`sketchkit.stream.iter_blocks` (memory-mapped ``.npy``, Parquet record
    batches)."""
    from .stream import iter_blocks

    yield from iter_blocks(path, block_rows=rows)


# ---------------------------------------------------------------------- one task
def project_shard(
    op: Any,
    source: str,
    target: str,
    rows: int,
    dtype: str,
    k: int,
    device: str,
    on_rows: Callable[[int], Any] | None = None,
) -> int:
    """Project one shard into ``target`` (an ``.npy`` file), ``rows`` rows at a time.

    This is the task a Dask worker runs: ``op`` is a :class:`~sketchkit.SketchOperator`
    (pickled as its seed and parameters). ``on_rows(m)`` is called after each block of
    ``m`` rows. Returns the number of rows written.
    """
    n, _, _ = shard_info(source)
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.dtype(dtype), shape=(n, k))
    try:
        start = 0
        for block in iter_shard_blocks(source, rows):
            stop = start + block.shape[0]
            out[start:stop] = op.project(block.astype(dtype, copy=False), device=device)
            if on_rows is not None:
                on_rows(stop - start)
            start = stop
        out.flush()
    finally:
        del out  # unmapped before the file is moved or removed
    return n


# ---------------------------------------------------------------------- the command
def _output_dir(path: str) -> bool:
    """Check (and create) the output directory; True when it was created here."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CliError(f"output {path!r} must be a directory for shard input")
    if os.path.isdir(path):
        return False
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CliError(f"output directory's parent {parent!r} does not exist")
    try:
        os.mkdir(path)
    except OSError as exc:
        raise CliError(f"cannot create {path!r}: {exc.strerror or exc}") from exc
    return True


def _run_local(tasks: list[tuple[Any, ...]], bar: Any) -> None:
    """No scheduler: the shards one after the other, the bar advancing per block."""
    for task in tasks:
        project_shard(*task, on_rows=bar.update)


def _run_dask(tasks: list[tuple[Any, ...]], spec: str, bar: Any) -> None:
    """One Dask task per shard on the scheduler ``spec``; the bar advances per shard."""
    try:
        import dask
        from dask.base import tokenize
    except ImportError as exc:
        raise CliError("--scheduler requires Dask: pip install 'sketchkit[dask]'") from exc
    from .dask import get_client_or_scheduler

    token = tokenize(*tasks)
    delayed = [
        dask.delayed(project_shard, pure=True)(*task, dask_key_name=f"sketchkit-shard-{i}-{token}")
        for i, task in enumerate(tasks)
    ]
    try:
        scheduler = get_client_or_scheduler(spec)
    except ImportError as exc:
        raise CliError(str(exc)) from exc
    if isinstance(scheduler, str):
        from dask.callbacks import Callback

        keys = {d.key for d in delayed}

        def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if key in keys:
                bar.update(int(result))

        with Callback(posttask=posttask):
            dask.compute(*delayed, scheduler=scheduler)
        return
    from distributed import as_completed

    with scheduler as client, client.as_current():
        futures = client.compute(delayed)
        try:
            for future in as_completed(futures):
                bar.update(int(future.result()))
        except BaseException:
            client.cancel(futures)
            raise


def project_shards(
    args: argparse.Namespace,
    make_operator: Callable[[int], Any],
    resolve_dtype: Callable[[str | None, np.dtype], np.dtype],
) -> None:
    """Run ``sketchkit project`` on shard input (see the module docstring).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed ``project`` arguments (``input`` a directory or glob, ``output``
        the output directory).
    make_operator : callable
        ``d -> SketchOperator``: the operator of the command's options.
    resolve_dtype : callable
        ``(--dtype, shard dtype) -> computation dtype``.
    """
    if args.device == "gpu" and args.scheduler is not None:
        raise CliError("--device gpu runs in this process; leave out --scheduler")
    inputs = list_shards(args.input)
    infos = [shard_info(path) for path in inputs]
    d = infos[0][1]
    for path, (_, cols, _) in zip(inputs, infos, strict=True):
        if cols != d:
            raise CliError(
                f"shard {path!r} has {cols} features but {inputs[0]!r} has {d}: "
                "every shard must have the same number of features"
            )
    names = [os.path.splitext(os.path.basename(p))[0] + ".npy" for p in inputs]
    seen: dict[str, str] = {}
    for path, name in zip(inputs, names, strict=True):
        if name in seen:
            raise CliError(f"shards {seen[name]!r} and {path!r} would both write {name!r}")
        seen[name] = path
    op = make_operator(d)
    k = op.shape[0]
    created = _output_dir(args.output)
    outputs = [os.path.join(args.output, name) for name in names]
    for out in outputs:
        check_distinct(out, inputs)
    total = sum(info[0] for info in infos)
    bar = progress(total, enabled=not args.no_progress, unit="rows")
    try:
        with contextlib.ExitStack() as stack:
            tmps = [stack.enter_context(output_file(out, ".npy")) for out in outputs]
            tasks = []
            for path, (_, _, dt), tmp in zip(inputs, infos, tmps, strict=True):
                dtype = resolve_dtype(args.dtype, dt)
                if args.device == "gpu" and dtype != np.float32:
                    raise CliError(
                        f"--device gpu computes in float32 and {path!r} is {dt}; "
                        "pass --dtype float32 to convert it"
                    )
                rows = args.chunk_rows or max(1, _DEFAULT_BLOCK_BYTES // (d * dtype.itemsize))
                tasks.append((op, path, tmp, rows, dtype.name, k, args.device))
            if args.scheduler is None:
                _run_local(tasks, bar)
            else:
                _run_dask(tasks, args.scheduler, bar)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(args.output)  # only if still empty
        raise
    finally:
        bar.close()
