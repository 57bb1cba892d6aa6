#!/usr/bin/env bash
# Installs sketchkit with its test extras into a virtual environment (.venv, or $VENV)
# and runs every test: the core and GPU crates' cargo tests, stubtest of the binding's
# stub, then the Python suite.
# GPU tests skip, with the reason, when no Vulkan/Metal/D3D12 adapter exists; on
# Debian/Ubuntu `apt install mesa-vulkan-drivers libvulkan1` gives a software one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q ".[test]"
cargo test --release -p sketchkit -p sketchkit-gpu
# The stub must equal the binding (an allowlist only for names that exist in the stub alone).
"$VENV/bin/python" -m mypy.stubtest sketchkit._native --allowlist python/stubtest-allowlist.txt
"$VENV/bin/python" -m pytest -q tests
