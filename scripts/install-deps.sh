#!/usr/bin/env bash
# Installs every Debian package and npm module that building, running and testing
# Switchboard needs. Idempotent: packages already present are skipped, so a second
# run costs one dpkg query.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config clang-format clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsimdjson-dev libjwt-dev libsodium-dev
  libsqlite3-dev libhiredis-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libcli11-dev libgtest-dev libgmock-dev
  redis-server iproute2 chromium gnuplot-nox
  coturn haproxy nginx-light  # real TURN server and load balancers for the cluster and NAT tests
  prometheus  # for promtool: the tests check /metrics with `promtool check metrics`
)
# Node.js may come from elsewhere (a newer build); only ask Debian for it when absent.
if ! command -v node >/dev/null 2>&1; then APT_PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then APT_PACKAGES+=(npm); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm modules used by the integration and browser tests (tests/package.json).
if [ -f tests/package.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package.json -nt tests/node_modules/.stamp ]; then
    (cd tests && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
  fi
fi
