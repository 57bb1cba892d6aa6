"""Copy generated benchmark tables into README.md between their markers.

Each ``<!-- NAME:START -->`` ... ``<!-- NAME:END -->`` block listed in ``BLOCKS`` is
replaced by the file a benchmark script wrote with ``--out`` (never edited by hand):

    python scripts/readme_tables.py          # rewrite README.md
    python scripts/readme_tables.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BLOCKS = {
    "PROJECTION": "benches/results.md",
    "FWHT": "benches/results_fwht.md",
    "SCALE": "benches/results_selection_scale.md",
    "LINALG": "benches/results_linalg.md",
    "LINALG_PCA": "benches/results_linalg_pca.md",
    "SAMPLING": "benches/results_sampling.md",
    "GRAPH": "benches/results_graph.md",
    "COMPRESS": "benches/results_compress.md",
    "KERNEL": "benches/results_kernel.md",
    "DISTANCES": "benches/results_distances.md",
    "DASK": "benches/results_dask.md",
    "PARTITIONED": "benches/results_selection_partitioned.md",
    "SELECTION": "benches/results_selection.md",
    "RF_BOUND": "benches/results_selection_rf_bound.md",
}
#: A results file may end its README part with this line (the rest stays in the file).
CUT = "<!-- README:END -->"


def render(readme: str) -> str:
    for name, path in BLOCKS.items():
        table = (ROOT / path).read_text().split(CUT)[0].strip()
        if table.startswith("# "):  # the file's own title: the README has its heading
            table = table.split("\n", 1)[1].strip()
        pattern = re.compile(rf"(<!-- {name}:START -->\n).*?(<!-- {name}:END -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no {name} markers")
        readme = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = ap.parse_args()
    path = ROOT / "README.md"
    old = path.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md tables are out of date: run scripts/readme_tables.py")
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
