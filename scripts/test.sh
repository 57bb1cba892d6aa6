#!/usr/bin/env bash
# Builds the release wheel the way a release does (maturin, abi3; on Linux linked with
# maturin's zig linker for manylinux2014, so it runs on glibc >= 2.17), installs it with
# the test extras into a virtual environment (.venv, or $VENV), runs the core and GPU
# crates' cargo tests, then the stub check and the Python suite against the installed
# wheel with no Rust toolchain on PATH (as a user who installed the wheel has none).
#   WHEEL=path/to.whl   test that wheel instead of building one
#   CONSTRAINTS=file    pip constraints for the install (CI: the declared minimum versions)
#   SKIP_CARGO=1        skip the cargo tests (CI's second, minimum-versions run)
# GPU tests skip, with the reason, when no Vulkan/Metal/D3D12 adapter exists; on
# Debian/Ubuntu `apt install mesa-vulkan-drivers libvulkan1` gives a software one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
PIP=("$VENV/bin/python" -m pip install -q)
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"${PIP[@]}" --upgrade pip

if [ -z "${WHEEL:-}" ]; then
  echo "== release wheel"
  "${PIP[@]}" "maturin>=1.5,<2"
  LINK=()
  if [ "$(uname -s)" = Linux ]; then
    "${PIP[@]}" ziglang
    LINK=(--zig --compatibility manylinux2014)
  fi
  rm -rf target/wheels-test
  # maturin finds zig as `python -m ziglang`, with the venv's python first on PATH.
  PATH="$(cd "$VENV/bin" && pwd):$PATH" "$VENV/bin/maturin" build --release "${LINK[@]}" \
    --out target/wheels-test
  WHEEL=$(ls target/wheels-test/sketchkit-*.whl)
fi
echo "== install $(basename "$WHEEL") into $VENV"
"${PIP[@]}" --force-reinstall --no-deps "$WHEEL"
"${PIP[@]}" ${CONSTRAINTS:+-c "$CONSTRAINTS"} "$WHEEL[test]"

if [ -z "${SKIP_CARGO:-}" ]; then
  echo "== cargo tests (core and GPU crates; overflow checks and debug assertions on)"
  cargo test -p sketchkit -p sketchkit-gpu
fi

# PATH without a Rust toolchain: drop the directories that hold cargo or rustc, and
# shadow any that remain (a system-wide install) with commands that fail loudly.
NORUST=$(mktemp -d)
for tool in cargo rustc maturin; do
  printf '#!/bin/sh\necho "%s: no Rust toolchain in this test run" >&2\nexit 127\n' \
    "$tool" > "$NORUST/$tool"
  chmod +x "$NORUST/$tool"
done
TEST_PATH=$NORUST
IFS=: read -ra DIRS <<< "$PATH"
for dir in "${DIRS[@]}"; do
  [ -x "$dir/cargo" ] || [ -x "$dir/rustc" ] || TEST_PATH="$TEST_PATH:$dir"
done

echo "== Python tests against the installed wheel (no Rust toolchain on PATH)"
# The stub must equal the binding (an allowlist only for names that exist in the stub alone).
env PATH="$TEST_PATH" "$VENV/bin/python" -m mypy.stubtest sketchkit._native \
  --allowlist python/stubtest-allowlist.txt
env PATH="$TEST_PATH" "$VENV/bin/python" -m pytest -q tests
