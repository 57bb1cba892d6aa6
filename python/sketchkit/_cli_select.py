"""``sketchkit select``: instance selection on a labelled file.

Formats, chosen by extension:

* ``.csv`` -- a header row; ``--label`` names the label column, every other column
  must be numeric. Read with :mod:`csv` (quoted fields may hold commas and line
  breaks; blank lines are skipped; a UTF-8 byte-order mark is ignored); errors name
  the line a record starts on in the file. The output keeps the header's and the
  selected records' original text.
* ``.npy`` -- a 2-D numeric array; ``--label`` is the label column's index (the
  output keeps it), or ``--labels FILE.npy`` gives the labels separately.
* ``.parquet`` -- with pyarrow installed; ``--label`` names the column.

**Partitioned mode** (``--partition-rows N``, or an input that is a directory or a
glob of shards): :class:`~sketchkit.selection.PartitionedSelector` routes the rows to
partitions of at most ``N`` rows (default 100000 for shards) and selects each on its
own, so the data need not fit in memory. ``IN`` is a ``.npy``/``.parquet`` file, a
directory of shards or a quoted glob (``'data/*.parquet'``), all of one format;
``--label`` names the label column of every shard. ``--scheduler`` (``threads``,
``processes``, ``synchronous`` or a ``distributed`` address ``tcp://HOST:PORT``) runs
it on Dask instead of in this process. The output holds the kept rows in the input's
layout (label column included), in row order over the sorted shard names. The
progress display is a bar over the partitions.

The output (and ``--indices-out``) is written all at once beside the target and must
not be an input file (see ``sketchkit._cli_files``). The progress display of
``--method attention`` (the selector's ``verbose`` stages) is a ``tqdm`` bar on
standard error, drawn only when it is a terminal and ``tqdm`` is installed.
``--plot FILE.png`` also draws the data on its first two principal components with the
kept rows highlighted per class (:func:`sketchkit.selection.plot_selection`; needs
matplotlib), written all at once with the output.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _native
from ._cli_files import CliError, check_distinct, check_output, output_file

#: ``--method`` values: the selectors, LSH-IS once per variant of the core.
METHODS = (
    "attention",
    "random",
    "cnn",
    "enn",
    "drop3",
    *(f"lsh-is-{v.lower()}" for v in _native.LSH_VARIANTS),
)


class SelectError(CliError):
    """A user error (bad argument or unreadable input)."""


def add_parser(sub: Any, positive_int: Any) -> None:
    """Register the ``select`` subcommand."""
    p = sub.add_parser(
        "select",
        help="keep a small, informative subset of a labelled data set",
        description="Instance selection: keep a few percent of the rows of a labelled "
        ".csv, .npy or .parquet file (graph-attention selection by default).",
    )
    p.add_argument(
        "input",
        metavar="IN",
        help="input .csv, .npy or .parquet file, or a directory or quoted glob of "
        ".npy/.parquet shards (partitioned mode)",
    )
    p.add_argument("-o", "--output", required=True, help="output file (same format as IN)")
    p.add_argument(
        "--label",
        required=False,
        default=None,
        help="label column: a name (.csv/.parquet) or an index (.npy)",
    )
    p.add_argument("--labels", default=None, help="labels as a separate .npy file (.npy input)")
    p.add_argument(
        "--reduction",
        default="auto",
        help="fraction of rows to remove per class, in (0, 1), or 'auto' (default)",
    )
    p.add_argument("--method", choices=METHODS, default="attention", help="selection method")
    p.add_argument("--graph", choices=("hash", "minibatch"), default="hash", help="graph builder")
    p.add_argument(
        "--n-neighbors",
        type=positive_int,
        default=None,
        help="graph degree (attention, default 10) or vote size (enn/drop3, default 3)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--indices-out", default=None, help="also write the kept row indices (.npy)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument(
        "--plot",
        default=None,
        metavar="PNG",
        help="also draw the data in 2-D with the kept rows highlighted (needs matplotlib)",
    )
    p.add_argument(
        "--partition-rows",
        type=positive_int,
        default=None,
        help="partitioned mode: at most N rows per partition (default 100000 for shards)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="partitioned mode on Dask: threads, processes, synchronous or a distributed "
        "scheduler address tcp://HOST:PORT",
    )


def _reduction(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        r = float(text)
    except ValueError as exc:
        raise SelectError(
            f"--reduction must be a number in (0, 1) or 'auto', got {text!r}"
        ) from exc
    try:  # the core's rule for a reduction, checked before the input is read
        _native.class_quotas([1], r)
    except ValueError as exc:
        raise SelectError(f"--{exc}") from exc
    return r


def _records(path: str) -> Iterator[tuple[int, list[str], str]]:
    """``(first line number, fields, original text)`` of each CSV record of ``path``.

    Blank lines are skipped (and still counted); a UTF-8 byte-order mark is dropped.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        consumed: list[str] = []

        def lines() -> Iterator[str]:
            for line in f:
                consumed.append(line)
                yield line

        reader = csv.reader(lines(), strict=True)
        while True:
            first = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SelectError(f"line {first}: malformed CSV: {exc}") from exc
            text = "".join(consumed)
            consumed.clear()
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield first, row, text


def _read_csv(path: str, label: str | None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    if label is None:
        raise SelectError("--label COLUMN is required for .csv input")
    records = _records(path)
    first = next(records, None)
    if first is None:
        raise SelectError(f"{path!r} is empty: a header row is expected")
    _, header, header_text = first
    if label not in header:
        raise SelectError(f"label column {label!r} not in the header {header}")
    li = header.index(label)
    feats = [i for i in range(len(header)) if i != li]
    rows: list[list[float]] = []
    y: list[str] = []
    texts: list[str] = []
    for line, row, text in records:
        if len(row) != len(header):
            raise SelectError(f"line {line} has {len(row)} fields, the header {len(header)}")
        values = []
        for i in feats:
            try:
                values.append(float(row[i]))
            except ValueError as exc:
                raise SelectError(
                    f"line {line}, column {header[i]!r}: {row[i]!r} is not a number"
                ) from exc
        rows.append(values)
        y.append(row[li])
        texts.append(text)
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(feats))
    return X, np.asarray(y, dtype=object), texts, header_text


def _load(args: argparse.Namespace) -> tuple[Any, np.ndarray, Any]:
    ext = os.path.splitext(args.input)[1].lower()
    if not os.path.isfile(args.input):
        raise SelectError(f"input file {args.input!r} does not exist")
    if os.path.splitext(args.output)[1].lower() != ext:
        raise SelectError(f"output must have the input's extension {ext!r}")
    if ext == ".csv":
        X, y, lines, header = _read_csv(args.input, args.label)
        return X, y, ("csv", lines, header)
    if ext == ".npy":
        arr = np.load(args.input, mmap_mode="r", allow_pickle=False)
        if arr.ndim != 2:
            raise SelectError(f".npy input must be 2-D, got shape {arr.shape}")
        if args.labels is not None:
            y = np.load(args.labels, allow_pickle=False)
            return np.asarray(arr), y, ("npy", arr, None)
        if args.label is None:
            raise SelectError("give --label INDEX (a column of the array) or --labels FILE.npy")
        try:
            col = int(args.label)
        except ValueError as exc:
            raise SelectError(
                f"--label must be a column index for .npy, got {args.label!r}"
            ) from exc
        if not -arr.shape[1] <= col < arr.shape[1]:
            raise SelectError(f"--label {col} is out of range for {arr.shape[1]} columns")
        col %= arr.shape[1]
        keep = [c for c in range(arr.shape[1]) if c != col]
        return np.asarray(arr[:, keep]), np.asarray(arr[:, col]), ("npy", arr, None)
    if ext == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise SelectError(".parquet files need pyarrow (pip install pyarrow)") from exc
        table = pq.read_table(args.input)
        if args.label is None or args.label not in table.column_names:
            raise SelectError(f"--label must name a column of {table.column_names}")
        names = [c for c in table.column_names if c != args.label]
        try:
            X = np.column_stack([table.column(c).to_numpy().astype(np.float64) for c in names])
        except (ValueError, TypeError) as exc:
            raise SelectError(f"every feature column must be numeric: {exc}") from exc
        y = np.asarray(table.column(args.label).to_pylist(), dtype=object)
        return X, y, ("parquet", table, None)
    raise SelectError(f"unsupported input format {ext!r} (use .csv, .npy or .parquet)")


def _selector(args: argparse.Namespace, reduction: float | None, verbose: bool) -> Any:
    from . import selection as s

    if args.method == "attention":
        return s.GraphAttentionSelector(
            reduction=reduction,
            graph=args.graph,
            n_neighbors=args.n_neighbors or 10,
            random_state=args.seed,
            verbose=verbose,
        )
    if args.method == "random":
        if reduction is None:
            raise SelectError("--method random needs a --reduction in (0, 1)")
        return s.StratifiedRandomSelector(reduction=reduction, random_state=args.seed)
    if reduction is not None:
        raise SelectError(
            f"--reduction applies to --method attention and random; {args.method} "
            "chooses its own size"
        )
    if args.method == "cnn":
        return s.CondensedNearestNeighbour(random_state=args.seed)
    if args.method == "enn":
        return s.EditedNearestNeighbours(n_neighbors=args.n_neighbors or 3)
    if args.method == "drop3":
        return s.DROP3(n_neighbors=args.n_neighbors or 3)
    variant = args.method.removeprefix("lsh-is-").upper()
    return s.LSHInstanceSelector(variant=variant, random_state=args.seed)


def _with_newline(text: str) -> str:
    return text if text.endswith(("\n", "\r")) else text + "\n"


def run(args: argparse.Namespace) -> int:
    """Run ``sketchkit select``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments of the ``select`` subcommand.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    SelectError
        On a user error: bad arguments, an unreadable input, an output that is an
        input file or cannot be written.
    """
    reduction = _reduction(args.reduction)
    if (
        args.partition_rows is not None
        or args.scheduler is not None
        or not os.path.isfile(args.input)
    ):
        if os.path.isdir(args.input) or glob.has_magic(args.input) or os.path.isfile(args.input):
            return _run_partitioned(args, reduction)
    if not os.path.isfile(args.input):
        raise SelectError(f"input file {args.input!r} does not exist")
    inputs = [args.input] + ([args.labels] if args.labels else [])
    check_output(args.output)
    check_distinct(args.output, inputs)
    if args.indices_out:
        check_output(args.indices_out)
        check_distinct(args.indices_out, [*inputs, args.output], "--indices-out file")
    if args.plot:
        check_output(args.plot)
        check_distinct(args.plot, [*inputs, args.output], "--plot file")
        try:
            import matplotlib
        except ImportError as exc:
            raise SelectError("--plot needs matplotlib: pip install 'sketchkit[plot]'") from exc
        matplotlib.use("Agg")
    verbose = not args.no_progress  # tqdm draws the bar only on a terminal
    t0 = time.perf_counter()
    try:
        X, y, (kind, source, header) = _load(args)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SelectError(f"cannot read the input: {exc}") from exc
    try:
        sel = _selector(args, reduction, verbose)
        sel.fit_resample(X, y)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise SelectError(str(exc)) from exc
    idx = sel.sample_indices_
    ext = os.path.splitext(args.output)[1].lower()
    try:
        with output_file(args.output, ext) as tmp:
            if kind == "csv":
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    f.write(_with_newline(header))
                    for i in idx:
                        f.write(_with_newline(source[i]))
            elif kind == "npy":
                np.save(tmp, np.asarray(source[idx]))
            else:
                import pyarrow.parquet as pq

                pq.write_table(source.take(idx), tmp)
            if args.indices_out:
                with output_file(args.indices_out, ".npy") as tmp_idx:
                    np.save(tmp_idx, idx)
            if args.plot:
                _plot(X, y, sel, args.plot)
    except (OSError, ValueError) as exc:
        raise SelectError(f"cannot write the output: {exc}") from exc
    classes, counts = np.unique(np.asarray(y)[idx].astype(str), return_counts=True)
    per = ", ".join(f"{c}: {n}" for c, n in zip(classes, counts, strict=True))
    shift = ""
    if idx.shape[0] > 0 and isinstance(X, np.ndarray):
        from .distances import distribution_shift

        r = distribution_shift(X, idx, n_projections=50, seed=0)
        shift = (
            f"\ndistribution shift (sliced Wasserstein-2, kept rows vs all, in standard "
            f"deviations): {r.distance:.4f} ± {r.std_error:.4f}"
        )
    print(
        f"kept {idx.shape[0]} of {X.shape[0]} rows (reduction {1 - idx.shape[0] / X.shape[0]:.1%}) "
        f"with {args.method} in {time.perf_counter() - t0:.2f} s -> {args.output}\n"
        f"per class: {per}{shift}",
        file=sys.stdout,
    )
    return 0


def _plot(X: Any, y: Any, sel: Any, path: str) -> None:
    """``--plot``: :func:`sketchkit.selection.plot_selection` saved to ``path``."""
    import matplotlib.pyplot as plt

    from .selection import plot_selection

    ax = plot_selection(X, y, sel)
    ext = os.path.splitext(path)[1].lower() or ".png"
    with output_file(path, ext) as tmp:
        ax.figure.savefig(tmp, format=ext.lstrip("."), dpi=120, bbox_inches="tight")
    plt.close(ax.figure)


# ----------------------------------------------------------------- partitioned mode
#: Rows per partition when shards are given without ``--partition-rows``.
DEFAULT_PARTITION_ROWS = 100_000


def _scheduler(spec: str) -> Any:
    """The Dask scheduler named by ``--scheduler``
    (:func:`sketchkit.dask.get_client_or_scheduler`)."""
    from .dask import get_client_or_scheduler

    try:
        return get_client_or_scheduler(spec)
    except ValueError as exc:
        raise SelectError(f"--{exc}") from exc
    except ImportError as exc:
        raise SelectError(f"--scheduler {spec}: {exc}") from exc


def _label_arg(label: str | None, ext: str) -> Any:
    if label is None:
        raise SelectError("--label COLUMN is required for shards (a name, or an index for .npy)")
    if ext == ".npy":
        try:
            return int(label)
        except ValueError as exc:
            raise SelectError(f"--label must be a column index for .npy, got {label!r}") from exc
    return label


def _dask_input(files: list[str], ext: str, label: Any) -> tuple[Any, Any, Any]:
    """``(X, y, label)`` for the Dask path: a Dask array of the .npy shards (label
    column removed) and its labels, or a Dask DataFrame of the parquet shards."""
    try:
        import dask.array as da
    except ImportError as exc:
        raise SelectError("--scheduler needs Dask: pip install 'dask[array,dataframe]'") from exc
    if ext == ".parquet":
        import dask.dataframe as dd

        return dd.read_parquet(files), None, label
    arrays = [np.load(f, mmap_mode="r", allow_pickle=False) for f in files]
    for f, a in zip(files, arrays, strict=True):
        if a.ndim != 2 or a.shape[1] != arrays[0].shape[1]:
            raise SelectError(f"{f!r}: shards must be 2-D with one column count")
    d = arrays[0].shape[1]
    if not -d <= label < d:
        raise SelectError(f"--label {label} is out of range for {d} columns")
    col = label % d
    keep = [c for c in range(d) if c != col]
    X = da.concatenate([da.from_array(a, chunks=(65536, d))[:, keep] for a in arrays])
    y = np.concatenate([np.asarray(a[:, col]) for a in arrays])
    return X, y, None


def _write_rows(files: list[str], ext: str, idx: np.ndarray, out: str) -> None:
    """The rows ``idx`` (ascending, over the shards in order) in the input's layout."""
    pieces = []
    start = 0
    for f in files:
        if ext == ".npy":
            src = np.load(f, mmap_mode="r", allow_pickle=False)
            n = src.shape[0]
        else:
            import pyarrow.parquet as pq

            n = pq.ParquetFile(f).metadata.num_rows
        lo, hi = np.searchsorted(idx, [start, start + n])
        if hi > lo:
            local = idx[lo:hi] - start
            if ext == ".npy":
                pieces.append(np.asarray(src[local]))
            else:
                pieces.append(pq.read_table(f).take(local))
        start += n
    if ext == ".npy":
        np.save(out, np.concatenate(pieces))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.concat_tables(pieces), out)


def _run_partitioned(args: argparse.Namespace, reduction: float | None) -> int:
    """``sketchkit select`` in partitioned mode (shards, ``--partition-rows``)."""
    from .selection import GraphAttentionSelector, PartitionedSelector
    from .selection._partitioned import _shard_files

    if args.method != "attention":
        raise SelectError("partitioned mode (shards, --partition-rows) runs --method attention")
    try:
        files = _shard_files(args.input)
    except ValueError as exc:
        raise SelectError(str(exc).removeprefix("X: ")) from exc
    exts = {os.path.splitext(f)[1].lower() for f in files}
    if len(exts) != 1:
        raise SelectError(f"shards must all be .npy or all .parquet, got {sorted(exts)}")
    ext = exts.pop()
    if os.path.splitext(args.output)[1].lower() != ext:
        raise SelectError(f"output must have the input's extension {ext!r}")
    check_output(args.output)
    check_distinct(args.output, files)
    if args.indices_out:
        check_output(args.indices_out)
        check_distinct(args.indices_out, [*files, args.output], "--indices-out file")
    if args.labels is not None:
        raise SelectError("--labels applies to a single .npy file; shards need --label")
    label = _label_arg(args.label, ext)
    verbose = not args.no_progress
    sel = PartitionedSelector(
        GraphAttentionSelector(
            reduction=reduction,
            graph=args.graph,
            n_neighbors=args.n_neighbors or 10,
            random_state=args.seed,
        ),
        partition_rows=args.partition_rows or DEFAULT_PARTITION_ROWS,
        verbose=verbose,
    )
    t0 = time.perf_counter()
    try:
        if args.scheduler is not None:
            import contextlib

            sched = _scheduler(args.scheduler)
            X, y, lab = _dask_input(files, ext, label)
            import dask

            closer = sched if hasattr(sched, "close") else contextlib.nullcontext()
            with closer, dask.config.set(scheduler=sched):
                sel.fit(X, y, label=lab)
        else:
            sel.fit(files, label=label)
    except (ValueError, TypeError, OverflowError, MemoryError, OSError) as exc:
        raise SelectError(str(exc)) from exc
    idx = sel.sample_indices_
    n = sel.partitions_.shape[0]
    try:
        with output_file(args.output, ext) as tmp:
            _write_rows(files, ext, idx, tmp)
        if args.indices_out:
            with output_file(args.indices_out, ".npy") as tmp_idx:
                np.save(tmp_idx, idx)
    except (OSError, ValueError) as exc:
        raise SelectError(f"cannot write the output: {exc}") from exc
    if sel.quotas_ is not None:
        counts = sel.quotas_.sum(axis=0)
        per = ", ".join(f"{c}: {k}" for c, k in zip(sel.classes_, counts, strict=True))
    else:
        per = f"{len(sel.classes_)} classes, sizes chosen per partition"
    print(
        f"kept {idx.shape[0]} of {n} rows (reduction {1 - idx.shape[0] / n:.1%}) with "
        f"attention in {sel.n_partitions_} partitions in {time.perf_counter() - t0:.2f} s "
        f"-> {args.output}\nper class: {per}",
        file=sys.stdout,
    )
    return 0
