#!/usr/bin/env bash
# Smoke test (CTest): each switchboard-bench scenario for about a second with a
# few connections against a real switchboard on a free port. Asserts that the
# tool produced one well-formed JSON result that counted something and saw no
# error. Never asserts on speed.
#   smoke.sh SWITCHBOARD_BIN BENCH_BIN
set -euo pipefail
server_bin=$1
bench_bin=$2
secret=smoke-secret
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A load generator trips the abuse limits by design: switch off those this build has.
limit_flags=()
help=$("$server_bin" --help 2>&1 || true)
for f in --max-msgs-per-s --max-bytes-per-s --max-conns-per-ip --conn-rate-per-ip --max-connections; do
  if grep -q -- "$f" <<<"$help"; then limit_flags+=("$f" 0); fi
done

# The listening line is logged at info level.
"$server_bin" --listen 127.0.0.1:0 --jwt-hs256-secret "$secret" --threads 1 --log-level info \
  --web-root "$work" "${limit_flags[@]}" 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/server.log" | head -1 | sed 's/.*://' || true)
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "server exited"; exit 1; }
  sleep 0.05
done
[[ -n $port ]] || { cat "$work/server.log"; echo "no listening line"; exit 1; }

common=(--target "ws://127.0.0.1:$port/ws" --secret "$secret" --label smoke --server-pid "$server_pid"
        --duration 1 --warmup 0.3 --setup-timeout 10 --check)
run() {  # run SCENARIO FIELD_THAT_MUST_BE_POSITIVE [bench flags...]
  local name=$1 field=$2
  shift 2
  echo "== $name $*"
  "$bench_bin" "${common[@]}" --scenario "$name" "$@" >"$work/$name.json"
  cat "$work/$name.json"
  # One JSON object on one line, of the right scenario, with no error counted.
  node -e '
    const fs = require("fs");
    const [file, scenario, field] = process.argv.slice(1);
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    if (lines.length !== 1) throw new Error(`expected one line, got ${lines.length}`);
    const r = JSON.parse(lines[0]);
    if (r.scenario !== scenario) throw new Error(`scenario ${r.scenario}`);
    if (r.error_total !== 0) throw new Error(`errors: ${JSON.stringify(r.errors)} ${r.first_error}`);
    if (!(r[field] > 0)) throw new Error(`${field} is ${r[field]}`);
    if (r.latency_us && !(r.latency_us.p50 > 0 && r.latency_us.p99 >= r.latency_us.p50))
      throw new Error(`latency ${JSON.stringify(r.latency_us)}`);
  ' "$work/$name.json" "$name" "$field"
}
run idle ready -n 40
run relay deliveries_per_s -n 20
run relay deliveries_per_s -n 20 --rate 2000
run fanout deliveries_per_s -n 20 --room-size 5
run join-storm joins_per_s --concurrency 8
echo "bench smoke: all scenarios ran clean"
