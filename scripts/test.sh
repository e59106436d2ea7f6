#!/usr/bin/env bash
# Runs every test suite against already built trees: unit tests (CTest), then the
# integration and browser suites (node:test) that start the real binary.
# With a second argument, an ASan+UBSan tree (CMake preset `asan`, built by
# `make test`), the unit tests and the integration suite run once more under the
# sanitizers: any report fails the run, and so does a leak at server shutdown
# (tests/integration/lib/server.mjs checks the exit status). The browser suite
# runs on the release binary only.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
ASAN_DIR="${2:-}"
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

if [[ -n "$ASAN_DIR" ]]; then
  echo "== unit and integration tests under ASan+UBSan ($ASAN_DIR)"
  start=$SECONDS
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # bench_smoke needs switchboard-bench, which the sanitizer tree does not build.
  ctest --test-dir "$ASAN_DIR" --output-on-failure -j2 -E '^bench_' || status=1
  if compgen -G "tests/integration/*.test.mjs" >/dev/null; then
    SWITCHBOARD_BIN="$PWD/$ASAN_DIR/switchboard" node --test --test-concurrency=1 tests/integration/*.test.mjs ||
      status=1
  fi
  echo "== sanitizer runs took $((SECONDS - start)) s"
fi
exit $status
