#!/usr/bin/env bash
# bench/cluster.sh (run as `bench/run cluster`) — cross-node relay on 1, 2 and 3
# Switchboard nodes sharing one Redis, all on this machine.
#
# For each node count N: a fresh redis-server (nothing persisted) on a free
# loopback port, N nodes started with --redis and distinct ports, then three
# `relay` runs with connection i sent to node i % N, so that the two peers of
# every pair sit on different nodes (N = 1: both on the one node, the baseline):
#   relay        flat out, window 8 per sender, frames without `id` (as the JS
#                SDK sends offers, answers and candidates): the throughput;
#   relay-ack    the same with an `id` on every frame, which the server acks
#                (as the SDK's request() does): what the ack's way back costs;
#   relay-paced  a fixed --rate in total that every N sustains: the latency
#                at equal load (flat out, latency is mostly queueing).
# Measured: messages relayed per second, send→receive latency, the CPU of the
# nodes, of Redis and of the generator, and the Redis commands run per relayed
# message (INFO commandstats at the start and end of the measured seconds).
# Results: bench/results/cluster.json, cluster.md, cluster-relay.png.
#
#   bench/run cluster           200 connections (100 pairs), 10 s after 2 s warm-up per run (~2.5 min)
#   bench/run cluster --quick   40 connections, 1 s per run: checks the pipeline (~1 min)
# Other flags: --nodes "1 2 3", --runs "relay relay-ack relay-paced", --rate MSGS_PER_S
# (relay-paced, default 10000), --duration S, --warmup S, -n N (connections),
# --sb-threads N (event loops per node, default 1), --gen-threads N (generator
# threads, default 1), --build-dir DIR (default build-bench), --wait-quiet S
# (wait up to S seconds for the machine to be idle first).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

nodes_list="1 2 3"
runs="relay relay-ack relay-paced"
rate=10000
duration=10
warmup=2
connections=200
sb_threads=1
gen_threads=1
build_dir=${BUILD_DIR:-build-bench}
mode=default
quiet_s=0
command_line="bench/run cluster $*"

while (($#)); do
  case $1 in
    --quick) mode=quick; duration=1; warmup=0.5; connections=40; rate=2000 ;;
    --nodes) nodes_list=$2; shift ;;
    --runs) runs=$2; shift ;;
    --rate) rate=$2; shift ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    -n | --connections) connections=$2; shift ;;
    --sb-threads) sb_threads=$2; shift ;;
    --gen-threads) gen_threads=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --wait-quiet) quiet_s=$2; shift ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench/run cluster: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for r in $runs; do
  [[ $r =~ ^relay(-ack|-paced)?$ ]] || { echo "bench/run cluster: unknown run '$r' in --runs" >&2; exit 2; }
done
for n in $nodes_list; do
  [[ $n =~ ^[1-9]$ ]] || { echo "bench/run cluster: --nodes takes counts from 1 to 9, got '$n'" >&2; exit 2; }
done
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  log "redis-server and redis-cli are needed (scripts/install-deps.sh installs them)"; exit 1
fi

build_tools "$build_dir"
set_limit_flags "$SB_BIN"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

secret="bench-secret-$RANDOM$RANDOM"
work=$(mktemp -d /tmp/switchboard-cluster-bench.XXXXXX)
mkdir -p "$work/www" "$work/data"
results=$work/results.jsonl
: >"$results"
redis_pid=""
node_pids=()
stop_all() {  # the nodes together (each may take up to 3 s to let its parked sessions go), then Redis
  stop_pids "${node_pids[@]}"
  node_pids=()
  stop_pids "$redis_pid"
  redis_pid=""
}
trap 'stop_all; rm -rf "$work"' EXIT

join_commas() { local IFS=,; echo "$*"; }

wait_quiet "$quiet_s"
loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "cluster, mode $mode: nodes $nodes_list; $runs; $connections connections, ${duration}s after" \
  "${warmup}s warm-up; switchboard --threads $sb_threads ${sb_limit_flags[*]}"
for n in $nodes_list; do
  dir=$work/n$n
  mkdir -p "$dir"
  start_redis "$dir" || exit 1
  urls=() ports=()
  for ((i = 1; i <= n; i++)); do
    logf=$dir/node$i.log
    "$SB_BIN" --listen 127.0.0.1:0 --jwt-hs256-secret "$secret" --threads "$sb_threads" --log-level info \
      --web-root "$work/www" --redis "redis://127.0.0.1:$redis_port" --node-id "bench-node$i" \
      "${sb_limit_flags[@]}" 2>"$logf" &
    node_pids+=($!)
    port=$(wait_listening "$logf" "${node_pids[-1]}") || { log "node $i did not start:"; cat "$logf" >&2; exit 1; }
    wait_ready "$port" || { log "node $i never became ready:"; tail -5 "$logf" >&2; exit 1; }
    urls+=("ws://127.0.0.1:$port/ws") ports+=("$port")
  done
  # What the nodes ask of Redis with no client at all (registry heartbeats and
  # checks), over 3 s: the part of the per-message figure that is not per message.
  calls0=$(redis_calls "$redis_port")
  sleep 3
  calls1=$(redis_calls "$redis_port")
  background=$(awk -v a="$calls0" -v b="$calls1" 'BEGIN { printf "%.1f", (b - a) / 3 }')
  log "$n node(s) on ports ${ports[*]}, Redis on $redis_port ($background commands/s with no client)"
  for run in $runs; do
    case $run in
      relay) load=(--window 8) ;;
      relay-ack) load=(--window 8 --ack) ;;
      relay-paced) load=(--window 64 --rate "$rate") ;;
    esac
    label=$n-node-$run
    if "$BENCH_BIN" --scenario relay -n "$connections" "${load[@]}" --target "$(join_commas "${urls[@]}")" \
      --secret "$secret" --label "$label" --server-pid "$(join_commas "${node_pids[@]}")" \
      --redis "127.0.0.1:$redis_port" --duration "$duration" --warmup "$warmup" --threads "$gen_threads" \
      >"$dir/$label.json"; then
      printf '{"nodes": %d, "run": "%s", "redis_background_commands_per_s": %s, "result": %s}\n' \
        "$n" "$run" "$background" "$(cat "$dir/$label.json")" >>"$results"
    else
      log "the generator failed against $label; node log tails:"
      for ((i = 1; i <= n; i++)); do tail -3 "$dir/node$i.log" >&2; done
    fi
  done
  stop_all
done

[[ -s $results ]] || { log "no run succeeded: nothing to report"; exit 1; }
cat >"$work/meta.json" <<EOF
{"generated_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "command": "$command_line",
 "mode": "$mode",
 "machine": $(machine_json "$loadavg_before" "$busy_before"),
 "versions": {"switchboard": "$(switchboard_rev)", "redis": "$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-)"},
 "config": {"switchboard_flags": "--threads $sb_threads ${sb_limit_flags[*]}", "scenario": "relay",
            "connections": $connections, "runs": "$runs", "relay_paced_rate": $rate,
            "duration_s": $duration, "warmup_s": $warmup,
            "switchboard_threads": $sb_threads, "generator_threads": $gen_threads,
            "placement": "connection i on node i % N: the two peers of every pair on different nodes when N > 1"}}
EOF
mkdir -p bench/results
node bench/cluster-report.mjs "$results" "$work/meta.json" bench/results "$work/data"
if command -v gnuplot >/dev/null; then
  if gnuplot -e "datadir='$work/data'; outdir='bench/results'; rate='$rate'" bench/cluster-charts.gp \
    2>"$work/gnuplot.log"; then
    log "chart: bench/results/cluster-relay.png"
  else
    log "gnuplot could not draw the chart:"; tail -3 "$work/gnuplot.log" >&2
  fi
else
  log "gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox): no chart"
fi
log "results: bench/results/cluster.json, bench/results/cluster.md"
