# shellcheck shell=bash disable=SC2034
# bench/lib.sh — shell helpers shared by bench/run, bench/cluster.sh and bench/smoke.sh
# (sourced, not run). Every wait here is bounded; none kills anything it did not start.

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

# Builds switchboard and switchboard-bench in BUILD_DIR (configuring it first if
# needed; a no-op when up to date) and sets SB_BIN and BENCH_BIN.
build_tools() {
  local dir=$1
  if [[ ! -f $dir/build.ninja ]]; then
    log "configuring $dir"
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  log "building switchboard, switchboard-bench and switchboard-floor in $dir"
  cmake --build "$dir" --target switchboard switchboard-bench switchboard-floor >/dev/null
  SB_BIN=$PWD/$dir/switchboard
  BENCH_BIN=$PWD/$dir/switchboard-bench
  FLOOR_BIN=$PWD/$dir/switchboard-floor
}

# Sets the array sb_limit_flags to switch off every abuse limit the switchboard
# binary SB knows (per-connection message and byte rates, connections per
# address): a load generator trips them by design.
set_limit_flags() {
  local help
  help=$("$1" --help 2>&1 || true)
  sb_limit_flags=()
  for f in --max-msgs-per-s --max-bytes-per-s --max-conns-per-ip --conn-rate-per-ip --max-connections; do
    if grep -q -- "$f" <<<"$help"; then sb_limit_flags+=("$f" 0); fi
  done
}

# Prints the port of the first "listening on http://HOST:PORT" line in LOGFILE,
# waiting up to 10 s; fails (printing nothing) if PID exits first or time runs out.
wait_listening() {
  local logf=$1 pid=$2 port
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$logf" 2>/dev/null | head -1 | sed 's/.*://' || true)
    if [[ -n $port ]]; then echo "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Waits up to 10 s for GET http://127.0.0.1:PORT/readyz to answer 200 (a cluster
# node is ready once it reaches Redis and has subscribed to its channel).
wait_ready() {
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1/readyz" || true) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# stop_pids [-SIGNAL] PID...: sends SIGNAL (default TERM) to each, gives them
# 3 s together to exit, then SIGKILLs what is left; reaps those that are our
# children. Empty arguments are skipped. Quiet: the shell's notices of jobs
# ended by a signal ("Killed") go to /dev/null with the function's stderr.
stop_pids() {
  local sig=TERM pid left
  if [[ ${1:-} == -* ]]; then sig=${1#-}; shift; fi
  for pid in "$@"; do if [[ -n $pid ]]; then kill -s "$sig" "$pid" || true; fi; done
  for _ in $(seq 1 60); do
    left=0
    for pid in "$@"; do [[ -n $pid ]] && kill -0 "$pid" && left=1; done
    ((left)) || break
    sleep 0.05
  done
  for pid in "$@"; do
    [[ -n $pid ]] || continue
    kill -9 "$pid" || true
    wait "$pid" || true
  done
} 2>/dev/null

# A TCP port that was free on 127.0.0.1 a moment ago (bound to 0 and released:
# redis-server cannot be told to pick one itself).
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); });'
}

# Starts a fresh redis-server on 127.0.0.1 that persists nothing, with its files
# in DIR, and waits up to 10 s for it to accept connections. Sets redis_pid and
# redis_port. A start that loses the race for the port is retried with another.
start_redis() {
  local dir=$1 logf=$1/redis.log
  for _ in 1 2 3; do
    redis_port=$(free_port)
    : >"$logf"
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$dir" --save '' --appendonly no \
      --daemonize no --logfile "$logf" --loglevel notice >/dev/null 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 100); do
      grep -q 'Ready to accept connections' "$logf" 2>/dev/null && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_pids "$redis_pid"
    grep -q 'Address already in use' "$logf" || break
  done
  log "redis-server did not start:"; tail -5 "$logf" >&2
  redis_pid=""
  return 1
}

# Sum of the calls of every Redis command so far but INFO (INFO commandstats of
# the Redis on 127.0.0.1:PORT).
redis_calls() {
  redis-cli -h 127.0.0.1 -p "$1" INFO commandstats |
    awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" { n += $3 } END { print n + 0 }'
}

# Share of the whole machine's CPU time in use over one second, in percent.
busy_pct() {
  local u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
  sleep 1
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
  local busy=$(((u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1))) idle=$(((i2 + w2) - (i1 + w1)))
  echo $((100 * busy / (busy + idle + 1)))
}

# Waits up to S seconds for the machine to be quiet (< 15 % busy) and sets
# busy_before to the last reading; warns when it never was.
wait_quiet() {
  local waited
  busy_before=$(busy_pct)
  for ((waited = 1; busy_before > 15 && waited < $1; waited++)); do busy_before=$(busy_pct); done
  if ((busy_before > 15)); then
    log "warning: other processes use ${busy_before}% of the machine's CPU: rates will be lower and noisier" \
      "than on a quiet machine (the per-server-CPU-second figures are steadier)"
  fi
}

# The JSON object describing this machine (for the results files), given the
# load average and busy share read before the run.
machine_json() {
  local cpu mem
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  mem=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
  printf '{"nproc": %s, "cpu": "%s", "mem_gib": %s, "kernel": "%s", "fd_limit": %s, "loadavg_before": "%s", "busy_pct_before": %s, "loadavg_after": "%s"}' \
    "$(nproc)" "$cpu" "$mem" "$(uname -sr)" "$(ulimit -n)" "$1" "$2" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# The commit the build is of, with "+uncommitted-src" when src/ differs from it.
switchboard_rev() {
  local rev
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD -- src 2>/dev/null || rev+="+uncommitted-src"
  echo "$rev"
}
