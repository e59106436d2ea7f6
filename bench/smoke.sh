#!/usr/bin/env bash
# Smoke test (CTest): each switchboard-bench scenario for about a second with a
# few connections against a real switchboard on a free port. Asserts that the
# tool produced one well-formed JSON result that counted something and saw no
# error. Never asserts on speed. Then the same relay with its pairs split over
# two cluster nodes on a real redis-server: every message crosses nodes, so
# Redis must have counted PUBLISHes while the bench measured (and, as the
# frames carry ids, the acks must have come back). Last, the relay scenarios
# against the latency floor (bench/floor), so that it never rots either.
#   smoke.sh SWITCHBOARD_BIN BENCH_BIN FLOOR_BIN
set -euo pipefail
server_bin=$1
bench_bin=$2
floor_bin=$3
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
secret=smoke-secret
work=$(mktemp -d)
server_pid=""
node_pids=()
redis_pid=""
cleanup() {
  # The cluster nodes are killed outright: a node stopped with SIGTERM while it
  # still holds resumable sessions waits for them, which a smoke test need not.
  stop_pids -KILL "${node_pids[@]}"
  stop_pids "$server_pid" "$redis_pid"
  rm -rf "$work"
}
trap cleanup EXIT

# A load generator trips the abuse limits by design: switch off those this build has.
set_limit_flags "$server_bin"

# The listening line is logged at info level.
"$server_bin" --listen 127.0.0.1:0 --jwt-hs256-secret "$secret" --threads 1 --log-level info \
  --web-root "$work" "${sb_limit_flags[@]}" 2>"$work/server.log" &
server_pid=$!
port=$(wait_listening "$work/server.log" "$server_pid") || { cat "$work/server.log"; echo "server did not start"; exit 1; }

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
stop_pids "$server_pid"
server_pid=""

# Two cluster nodes on one Redis; --target lists both, so each pair is split.
mkdir -p "$work/redis"
start_redis "$work/redis" || exit 1
urls=()
for i in 1 2; do
  "$server_bin" --listen 127.0.0.1:0 --jwt-hs256-secret "$secret" --threads 1 --log-level info \
    --web-root "$work" --redis "redis://127.0.0.1:$redis_port" --node-id "smoke$i" "${sb_limit_flags[@]}" \
    2>"$work/node$i.log" &
  node_pids+=($!)
  node_port=$(wait_listening "$work/node$i.log" "${node_pids[-1]}") || { cat "$work/node$i.log"; echo "node $i did not start"; exit 1; }
  wait_ready "$node_port" || { cat "$work/node$i.log"; echo "node $i never became ready"; exit 1; }
  urls+=("ws://127.0.0.1:$node_port/ws")
done
run relay deliveries_per_s -n 20 --target "$(IFS=,; echo "${urls[*]}")" --server-pid "$(IFS=,; echo "${node_pids[*]}")" \
  --redis "127.0.0.1:$redis_port" --ack
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (r.targets !== 2) throw new Error(`targets ${r.targets}`);
  if (!r.redis || r.redis.error) throw new Error(`redis ${JSON.stringify(r.redis)}`);
  if (!(r.redis.by_command.publish > 0)) throw new Error(`no PUBLISH counted: ${JSON.stringify(r.redis)}`);
  if (!(r.server_cpu_s > 0)) throw new Error(`server_cpu_s ${r.server_cpu_s}`);
' "$work/relay.json"
stop_pids -KILL "${node_pids[@]}"
node_pids=()

# The floor: relayed frames, acks, paced and room-wide, checked like Switchboard's.
"$floor_bin" --listen 127.0.0.1:0 2>"$work/floor.log" &
server_pid=$!
port=$(wait_listening "$work/floor.log" "$server_pid") || { cat "$work/floor.log"; echo "floor did not start"; exit 1; }
common=(--target "ws://127.0.0.1:$port/ws" --secret "$secret" --label smoke --server-pid "$server_pid"
        --duration 1 --warmup 0.3 --setup-timeout 10 --check)
run relay deliveries_per_s -n 20 --ack
run relay deliveries_per_s -n 20 --rate 2000
run fanout deliveries_per_s -n 20 --room-size 5
echo "bench smoke: all scenarios ran clean"
