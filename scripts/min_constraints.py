"""Print pip constraints that pin each library dependency to its declared minimum.

The minimum versions have one owner, ``pyproject.toml``: every ``name>=X.Y`` among the
package's dependencies and extras becomes ``name==X.Y.*`` (the oldest declared release
series, whose newest patch release has wheels for the running Python). Test tools
(pytest, hypothesis, mypy, ...) stay unpinned: CI checks that the *library* works on the
oldest versions it declares, not the test harness.

Usage: ``python scripts/min_constraints.py > min-constraints.txt`` then
``pip install -c min-constraints.txt 'dist/sketchkit-*.whl[test]'``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

# Libraries whose minimum versions the package promises to work with.
LIBRARIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "imbalanced-learn",
    "pandas",
    "pyarrow",
    "tqdm",
    "dask",
    "distributed",
)


def minimums(pyproject: Path) -> dict[str, str]:
    """The declared lower bound of each library in :data:`LIBRARIES` (highest if the
    dependencies and extras disagree)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    found: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        # ``name[extra1,extra2]>=X.Y``: the extras do not change the pin.
        m = re.fullmatch(
            r"\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)\s*(,.*)?", spec
        )
        if m is None:
            continue
        name = m.group(1).lower().replace("_", "-")
        version = tuple(int(p) for p in m.group(2).split("."))
        if name in LIBRARIES:
            found[name] = max(found.get(name, version), version)
    return {name: ".".join(map(str, v)) for name, v in sorted(found.items())}


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    for name, version in minimums(root / "pyproject.toml").items():
        series = version if version.count(".") >= 2 else f"{version}.*"
        print(f"{name}=={series}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
