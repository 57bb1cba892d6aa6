"""Quality benchmark of sketchkit's instance selection against classic baselines.

Protocol (design notes, SELECTION.md, "Evaluation protocol"):

* stratified k-fold cross-validation (``--folds``, default 5; shuffled, fixed seed);
* a min–max scaler fitted on the training fold only, applied to both folds;
* each method selects rows of the (scaled) training fold; the models are trained on the
  selection and scored on the held-out fold;
* beside **every** method, a stratified random subset of the training fold with exactly
  the same per-class counts as the method's selection (seeded per fold and method) is
  scored with the same models. At high reduction random subsets are a strong baseline:
  a method that does not beat its random twin has not earned its cost;
* models: 1-NN (``KNeighborsClassifier(1)``) and
  ``RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=-1)``, trained
  without sample weights (``GraphAttentionSelector.sample_weight_`` is not used).

Methods: ``all data`` (no selection); ``GraphAttentionSelector`` (GAS) with
``reduction=None`` (automatic size), 0.90 and 0.96 on the hashed graph, and 0.90 on the
mini-batch graph (all ``random_state=0``); Hart's condensed nearest neighbour (CNN),
Wilson's edited nearest neighbours (ENN), DROP3, and LSH-IS-S / LSH-IS-F (Arnaiz-González
et al. 2016). The baselines come from ``sketchkit.selection``; a method whose class is
missing (or whose construction fails) is skipped with the reason printed. The quadratic
baselines (CNN, ENN, DROP3) are skipped on training folds above ``--max-quadratic`` rows
(default 6000).

Data sets: scikit-learn's bundled ``iris``, ``wine``, ``breast_cancer``, ``digits`` and
synthetic sets made with fixed seeds: ``classification`` (5000 x 20, 4 classes, 2
clusters per class, ``flip_y=0.02``), ``moons`` (3000, noise 0.3), ``blobs`` (3000, 5
classes in 10-D, ``cluster_std=3``: easy, 1-NN about 0.98) and ``highdim`` (4000 x 50,
10 informative, 3 classes, 2 clusters per class, ``flip_y=0.03``: hard).

Run::

    python benches/bench_selection.py                    # full table (a few minutes)
    python benches/bench_selection.py --quick            # 2 small sets, 2 folds (CI)
    python benches/bench_selection.py --datasets digits,moons --folds 10
    python benches/bench_selection.py --out benches/results_selection.md

Reading the tables. One table per data set, then an averaged table:

* ``Reduction``: ``1 - |S| / |T|`` averaged over folds (``T`` the training fold);
* ``1-NN`` / ``RF``: test accuracy (mean ± standard deviation over folds) of the
  model trained on the method's selection; ``rand`` columns: the same for the
  same-size stratified random subset; ``Δ`` (averaged table): method minus random;
* ``Time``: selection wall time in seconds, median over folds (the models' fit time
  is not included);
* ``Py peak``: peak of Python-side allocations during one selection (tracemalloc, on
  the first fold, in an extra untimed run; NumPy buffers are included, memory that
  native code allocates itself is not);
* ``RSS Δ``: the process's peak resident set during the selection minus its resident
  set just before (``/proc/self/status`` ``VmHWM`` after resetting it through
  ``/proc/self/clear_refs``; the maximum over folds). It includes native allocations
  but misses memory the allocator reuses from earlier freed blocks, so small values
  (under about 1 MiB) mean "nothing noticeable" rather than an exact figure;
* averaged table: means over the data sets on which the method ran (``Sets``); the
  ``wins`` columns count the sets where the method's accuracy is at least its random
  twin's. Averages of methods with different ``Sets`` are not comparable with each
  other, but each method's Δ is (it is taken over the same sets).
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_classification,
    make_moons,
)
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler

import sketchkit.selection as sel

SEED = 0
MIB = 1024.0 * 1024.0

# --------------------------------------------------------------------------- data sets


def _classification() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=5000,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        n_classes=4,
        n_clusters_per_class=2,
        flip_y=0.02,
        random_state=SEED,
    )


def _moons() -> tuple[np.ndarray, np.ndarray]:
    return make_moons(n_samples=3000, noise=0.3, random_state=SEED)


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=3000, n_features=10, centers=5, cluster_std=3.0, random_state=SEED)


def _highdim() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=4000,
        n_features=50,
        n_informative=10,
        n_redundant=10,
        n_classes=3,
        n_clusters_per_class=2,
        class_sep=0.8,
        flip_y=0.03,
        random_state=SEED,
    )


def _bundled(loader: Callable[..., Any]) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    return lambda: loader(return_X_y=True)


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "iris": _bundled(load_iris),
    "wine": _bundled(load_wine),
    "breast_cancer": _bundled(load_breast_cancer),
    "digits": _bundled(load_digits),
    "classification": _classification,
    "moons": _moons,
    "blobs": _blobs,
    "highdim": _highdim,
}
QUICK_DATASETS = ["iris", "wine"]

# --------------------------------------------------------------------------- methods


class Unavailable(Exception):
    """A method that cannot run here (missing class, unusable signature)."""


def _baseline(name: str) -> type:
    cls = getattr(sel, name, None)
    if cls is None:
        why = "sketchkit.selection._baselines is missing" if not _has_baselines() else "absent"
        raise Unavailable(f"sketchkit.selection.{name} not available ({why})")
    return cls


def _has_baselines() -> bool:
    try:
        import sketchkit.selection._baselines  # noqa: F401
    except ImportError:
        return False
    return True


def _toy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.random((60, 3))
    y = (X[:, 0] + 0.2 * rng.random(60) > 0.6).astype(int)
    return X, y


# Spellings of the LSH-IS variant tried, in order, when the class takes one of these
# parameters; the first that constructs *and* fits a toy set is used.
_LSH_PARAMS = ("variant", "mode", "method", "kind", "version", "strategy", "algorithm")
_LSH_VALUES = {
    "S": ("S", "s", "lsh-is-s", "LSH-IS-S", "single", "select", "selection"),
    "F": ("F", "f", "lsh-is-f", "LSH-IS-F", "filter", "forward", "family"),
}
_LSH_FLAGS = ("filter", "filter_noise", "drop_noise", "remove_noise", "noise_filter", "denoise")


def _lsh(variant: str) -> Callable[[], Any]:
    cls = _baseline("LSHInstanceSelector")
    params = inspect.signature(cls).parameters
    tries: list[dict[str, Any]] = []
    for p in _LSH_PARAMS:
        if p in params:
            tries += [{p: v} for v in _LSH_VALUES[variant]]
    for p in _LSH_FLAGS:
        if p in params:
            tries.append({p: variant == "F"})
    if not tries:
        raise Unavailable(
            f"LSHInstanceSelector{inspect.signature(cls)} has no recognised variant parameter"
        )
    if "random_state" in params:
        tries = [{**t, "random_state": SEED} for t in tries]
    X, y = _toy()
    errors = []
    for kw in tries:
        try:
            cls(**kw).fit_resample(X, y)
        except Exception as exc:  # noqa: BLE001 - probing spellings
            errors.append(f"{kw}: {exc}")
            continue
        return lambda kw=kw: cls(**kw)
    raise Unavailable(f"no LSH-IS-{variant} spelling worked: {'; '.join(errors[:3])}")


def _simple(name: str) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        cls = _baseline(name)
        params = inspect.signature(cls).parameters
        kw = {"random_state": SEED} if "random_state" in params else {}
        return lambda: cls(**kw)

    return make


def _gas(reduction: float | None, graph: str) -> Callable[[], Callable[[], Any]]:
    return lambda: (
        lambda: sel.GraphAttentionSelector(reduction=reduction, graph=graph, random_state=SEED)
    )


@dataclass
class Method:
    name: str
    factory: Callable[[], Callable[[], Any]] | None  # None: all data
    quadratic: bool = False


METHODS = {
    "all": Method("all data", None),
    "gas-auto": Method("GAS hash auto", _gas(None, "hash")),
    "gas-0.90": Method("GAS hash 0.90", _gas(0.90, "hash")),
    "gas-0.96": Method("GAS hash 0.96", _gas(0.96, "hash")),
    "gas-mb-0.90": Method("GAS minibatch 0.90", _gas(0.90, "minibatch")),
    "cnn": Method("CNN", _simple("CondensedNearestNeighbour"), quadratic=True),
    "enn": Method("ENN", _simple("EditedNearestNeighbours"), quadratic=True),
    "drop3": Method("DROP3", _simple("DROP3"), quadratic=True),
    "lsh-is-s": Method("LSH-IS-S", lambda: _lsh("S")),
    "lsh-is-f": Method("LSH-IS-F", lambda: _lsh("F")),
}
QUICK_METHODS = ["all", "gas-auto", "gas-0.90", "gas-mb-0.90", "cnn", "lsh-is-s"]

# --------------------------------------------------------------------------- measurement


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


CAN_RESET_HWM = _reset_hwm() and _status_kib("VmHWM") is not None


def run_selection(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray
) -> tuple[Any, float, float]:
    """Run one selection; return (selector, seconds, RSS peak delta in MiB or nan)."""
    selector = make()
    rss0 = None
    if CAN_RESET_HWM:
        _reset_hwm()
        rss0 = _status_kib("VmRSS")
    t0 = time.perf_counter()
    selector.fit_resample(X, y)
    dt = time.perf_counter() - t0
    rss = float("nan")
    if rss0 is not None:
        hwm = _status_kib("VmHWM")
        rss = max(0, (hwm or rss0) - rss0) / 1024.0
    return selector, dt, rss


def py_peak(make: Callable[[], Any], X: np.ndarray, y: np.ndarray) -> float:
    """Peak Python-side allocation (MiB) of one selection, by tracemalloc."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        make().fit_resample(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MIB


def same_size_random(
    y_train: np.ndarray, y_sel: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Indices of a random subset of the training fold with the per-class counts of y_sel."""
    out = []
    for c, k in zip(*np.unique(y_sel, return_counts=True), strict=True):
        pool = np.flatnonzero(y_train == c)
        out.append(rng.choice(pool, size=min(int(k), pool.size), replace=False))
    return np.sort(np.concatenate(out)) if out else np.empty(0, dtype=np.int64)


def scores(
    X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> tuple[float, float]:
    """(1-NN accuracy, RF accuracy) of models trained on (X, y)."""
    if X.shape[0] == 0:
        return float("nan"), float("nan")
    knn = KNeighborsClassifier(1).fit(X, y)
    rf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=-1).fit(X, y)
    return float(knn.score(X_test, y_test)), float(rf.score(X_test, y_test))


@dataclass
class Result:
    method: str
    note: str = ""
    reduction: list[float] = field(default_factory=list)
    knn: list[float] = field(default_factory=list)
    rf: list[float] = field(default_factory=list)
    knn_rand: list[float] = field(default_factory=list)
    rf_rand: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    py_peak: float = float("nan")

    @property
    def ok(self) -> bool:
        return not self.note and bool(self.knn)


def evaluate(
    dname: str,
    keys: list[str],
    makers: dict[str, Callable[[], Any] | str],
    folds: int,
    max_quadratic: int,
    measure_py: bool,
    strict: bool = False,
) -> tuple[str, list[Result]]:
    X, y = DATASETS[dname]()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n_classes = len(np.unique(y))
    n_train = X.shape[0] - X.shape[0] // folds
    header = (
        f"{dname}: {X.shape[0]} rows x {X.shape[1]} features, {n_classes} classes; "
        f"{folds} folds, training fold about {n_train} rows"
    )
    results = {k: Result(METHODS[k].name) for k in keys}
    for k in keys:
        m = makers.get(k)
        if isinstance(m, str):
            results[k].note = m
        elif METHODS[k].quadratic and n_train > max_quadratic:
            results[k].note = f"skipped: quadratic, training fold > {max_quadratic} rows"
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for fold, (tr, te) in enumerate(skf.split(X, y)):
        scaler = MinMaxScaler().fit(X[tr])
        X_tr, X_te = scaler.transform(X[tr]), scaler.transform(X[te])
        y_tr, y_te = y[tr], y[te]
        for mi, k in enumerate(keys):
            r = results[k]
            if r.note:
                continue
            make = makers[k]
            if make is None:  # all data
                a_knn, a_rf = scores(X_tr, y_tr, X_te, y_te)
                r.reduction.append(0.0)
                r.knn.append(a_knn)
                r.rf.append(a_rf)
                continue
            assert callable(make)
            try:
                selector, dt, rss = run_selection(make, X_tr, y_tr)
                if fold == 0 and measure_py:
                    r.py_peak = py_peak(make, X_tr, y_tr)
            except Exception as exc:  # noqa: BLE001 - report and go on
                if strict:
                    raise
                r.note = f"error: {type(exc).__name__}: {exc}"
                print(f"  {dname} / {r.method}: {r.note}", file=sys.stderr)
                continue
            idx = np.asarray(selector.sample_indices_)
            r.reduction.append(1.0 - idx.size / X_tr.shape[0])
            r.time.append(dt)
            r.rss.append(rss)
            a_knn, a_rf = scores(X_tr[idx], y_tr[idx], X_te, y_te)
            r.knn.append(a_knn)
            r.rf.append(a_rf)
            rng = np.random.default_rng([SEED, fold, mi])
            ridx = same_size_random(y_tr, y_tr[idx], rng)
            b_knn, b_rf = scores(X_tr[ridx], y_tr[ridx], X_te, y_te)
            r.knn_rand.append(b_knn)
            r.rf_rand.append(b_rf)
    return header, [results[k] for k in keys]


# --------------------------------------------------------------------------- formatting


def _mean(v: list[float]) -> float:
    v = [x for x in v if x == x]
    return float(np.mean(v)) if v else float("nan")


def _acc(v: list[float]) -> str:
    if not v:
        return "—"
    if len(v) == 1:
        return f"{v[0]:.3f}"
    return f"{np.mean(v):.3f} ± {np.std(v):.3f}"


def _num(x: float, fmt: str) -> str:
    return "—" if x != x else format(x, fmt)


def _time(v: list[float]) -> str:
    return "—" if not v else f"{statistics.median(v):.3g}"


def dataset_table(header: str, results: list[Result]) -> str:
    lines = [
        f"### {header}",
        "",
        "| Method | Reduction | 1-NN | 1-NN rand | RF | RF rand | Time (s) | Py peak (MiB) "
        "| RSS Δ (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for r in results:
        if not r.ok:
            lines.append(f"| {r.method} | — | — | — | — | — | — | — | — |")
            notes.append(f"* {r.method}: {r.note or 'no result'}")
            continue
        rss = _num(max(r.rss), ".1f") if r.rss else "—"
        lines.append(
            f"| {r.method} | {_mean(r.reduction):.3f} | {_acc(r.knn)} | {_acc(r.knn_rand)} "
            f"| {_acc(r.rf)} | {_acc(r.rf_rand)} | {_time(r.time)} "
            f"| {_num(r.py_peak, '.2f')} | {rss} |"
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def averaged_table(all_results: dict[str, list[Result]], keys: list[str]) -> str:
    lines = [
        "### Averaged over data sets",
        "",
        "| Method | Sets | Reduction | 1-NN | 1-NN rand | Δ 1-NN | wins 1-NN | RF | RF rand "
        "| Δ RF | wins RF | Time (s) | Py peak (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, k in enumerate(keys):
        rows = [res[i] for res in all_results.values() if res[i].ok]
        name = METHODS[k].name
        if not rows:
            lines.append(f"| {name} | 0 | — | — | — | — | — | — | — | — | — | — | — |")
            continue
        red = _mean([_mean(r.reduction) for r in rows])
        knn = [_mean(r.knn) for r in rows]
        rf = [_mean(r.rf) for r in rows]
        if k == "all":
            lines.append(
                f"| {name} | {len(rows)} | {red:.3f} | {_mean(knn):.3f} | — | — | — "
                f"| {_mean(rf):.3f} | — | — | — | — | — |"
            )
            continue
        knn_r = [_mean(r.knn_rand) for r in rows]
        rf_r = [_mean(r.rf_rand) for r in rows]
        w_knn = sum(a >= b - 1e-12 for a, b in zip(knn, knn_r, strict=True))
        w_rf = sum(a >= b - 1e-12 for a, b in zip(rf, rf_r, strict=True))
        t = _mean([statistics.median(r.time) for r in rows])
        peak = _mean([r.py_peak for r in rows])
        lines.append(
            f"| {name} | {len(rows)} | {red:.3f} | {_mean(knn):.3f} | {_mean(knn_r):.3f} "
            f"| {_mean(knn) - _mean(knn_r):+.3f} | {w_knn}/{len(rows)} | {_mean(rf):.3f} "
            f"| {_mean(rf_r):.3f} | {_mean(rf) - _mean(rf_r):+.3f} | {w_rf}/{len(rows)} "
            f"| {t:.3g} | {_num(peak, '.2f')} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 small data sets, 2 folds (CI)")
    ap.add_argument(
        "--strict",
        action="store_true",
        help="a selector's exception fails the run instead of becoming a table note (CI)",
    )
    ap.add_argument("--datasets", help=f"comma-separated subset of {','.join(DATASETS)}")
    ap.add_argument("--methods", help=f"comma-separated subset of {','.join(METHODS)}")
    ap.add_argument("--folds", type=int, help="CV folds (default 5; 2 with --quick)")
    ap.add_argument(
        "--max-quadratic",
        type=int,
        default=6000,
        help="skip CNN/ENN/DROP3 above this many training rows (default 6000)",
    )
    ap.add_argument("--no-py-peak", action="store_true", help="skip the tracemalloc run")
    ap.add_argument("--out", help="also write the Markdown tables to this file")
    args = ap.parse_args(argv)

    dsets = (
        args.datasets.split(",")
        if args.datasets
        else (QUICK_DATASETS if args.quick else list(DATASETS))
    )
    keys = (
        args.methods.split(",")
        if args.methods
        else (QUICK_METHODS if args.quick else list(METHODS))
    )
    for name, known in ((dsets, DATASETS), (keys, METHODS)):
        bad = [x for x in name if x not in known]
        if bad:
            ap.error(f"unknown: {', '.join(bad)} (choose from {', '.join(known)})")
    folds = args.folds or (2 if args.quick else 5)

    makers: dict[str, Callable[[], Any] | str | None] = {}
    for k in keys:
        fac = METHODS[k].factory
        if fac is None:
            makers[k] = None
            continue
        try:
            makers[k] = fac()
        except Unavailable as exc:
            makers[k] = f"skipped: {exc}"
            print(f"skipping {METHODS[k].name}: {exc}", file=sys.stderr)

    load0 = os.getloadavg()[0]  # other work on the machine skews the timings
    t_start = time.perf_counter()
    all_results: dict[str, list[Result]] = {}
    sections = []
    for d in dsets:
        t0 = time.perf_counter()
        header, res = evaluate(
            d, keys, makers, folds, args.max_quadratic, not args.no_py_peak, args.strict
        )
        all_results[d] = res
        table = dataset_table(header, res)
        sections.append(table)
        print(table + f"\n\n({d}: {time.perf_counter() - t0:.1f} s)\n", flush=True)
    avg = averaged_table(all_results, keys)
    print(avg)
    total = time.perf_counter() - t_start

    import sketchkit

    meta = (
        f"sketchkit {getattr(sketchkit, '__version__', '?')}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{folds}-fold stratified CV (seed {SEED}); total {total:.0f} s; "
        f"load average at start {load0:.1f}, at end {os.getloadavg()[0]:.1f}"
        + ("; quick mode" if args.quick else "")
    )
    print(f"\n{meta}")
    if args.out:
        doc = [
            "# Instance selection: quality benchmark",
            "",
            f"`{' '.join(['python benches/bench_selection.py', *(argv or sys.argv[1:])])}`",
            "",
            meta + ".",
            "",
            "Accuracy: mean ± std over folds; `rand`: stratified random subset with the "
            "method's per-class counts. Time: median selection time over folds. See the "
            "script's docstring for how each column is measured.",
            "",
            avg,
            "",
            *[s + "\n" for s in sections],
        ]
        with open(args.out, "w") as f:
            f.write("\n".join(doc))
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
