#!/usr/bin/env bash
# Installs sketchkit with its test extras into a virtual environment (.venv, or $VENV)
# and runs every test: the core crate's cargo tests, then the Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q ".[test]"
cargo test --release -p sketchkit
"$VENV/bin/python" -m pytest -q tests
