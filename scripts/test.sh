#!/usr/bin/env bash
# Runs every test suite against an already built tree: unit tests (CTest), then the
# integration and browser suites (node:test) that start the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
export SWITCHBOARD_BIN="$PWD/$BUILD_DIR/switchboard"

status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 || status=1

suites=()
for d in tests/integration tests/hostile tests/e2e; do
  if compgen -G "$d/*.test.mjs" >/dev/null; then suites+=("$d"/*.test.mjs); fi
done
if ((${#suites[@]})); then
  node --test --test-concurrency=1 "${suites[@]}" || status=1
fi
exit $status
