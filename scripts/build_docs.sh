#!/usr/bin/env bash
# Build the documentation site (Sphinx + numpydoc + MyST, docs/) with warnings as
# errors: `sphinx-build -W --keep-going -n`, so a broken reference or a malformed
# docstring fails the build.
#
#   VENV=.venv bash scripts/build_docs.sh [OUTDIR]     (default docs/_build/html)
#
# Installs the `docs` extra's requirements (read from pyproject.toml) into $VENV
# (default .venv); sketchkit itself must already be importable there (maturin develop,
# or an installed wheel): installing the extra with pip would rebuild the package.
# Needs no GPU and no network beyond the package index; the build itself takes
# about 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
OUT="${1:-docs/_build/html}"
PY="$VENV/bin/python"

if ! "$PY" -c "import sketchkit._native" 2>/dev/null; then
    echo "build_docs.sh: sketchkit is not importable with $PY; build it first" \
        "(maturin develop --release, or pip install a wheel)" >&2
    exit 1
fi

# The requirements of [project.optional-dependencies] docs, one per line.
mapfile -t reqs < <("$PY" - <<'PYEOF'
import re
from pathlib import Path

text = Path("pyproject.toml").read_text(encoding="utf-8")
block = re.search(r"^docs\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
if block is None:
    raise SystemExit("build_docs.sh: no docs extra in pyproject.toml")
print("\n".join(re.findall(r'"([^"]+)"', block.group(1))))
PYEOF
)
"$PY" -m pip install -q "${reqs[@]}"

rm -rf "$OUT" docs/_build/doctrees docs/_generated
"$PY" -m sphinx -W --keep-going -n -q -b html -d docs/_build/doctrees docs "$OUT"
echo "docs built in $OUT"
