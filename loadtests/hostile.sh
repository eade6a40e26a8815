#!/usr/bin/env bash
# Hostile-load run (issue 23): starts one sogs-server on the single-instance SQLite default in
# a scratch directory, adds a room, and runs `sogs-loadtest hostile` against it with the
# server's pid, so that its resident memory is sampled. Extra arguments go to the scenario,
# e.g. `--phase-secs 20` or, for a soak, `--rounds 6`. Server settings can be passed as
# SOGS_* variables (e.g. SOGS_LIMITS_MAX_REMEMBERED_NONCES).
#
# Usage: loadtests/hostile.sh [BIN_DIR] [-- scenario args…]
#   BIN_DIR defaults to ./target/release (cargo build --release -p sogs-server -p sogs-admin
#   -p sogs-loadtest). The server listens on 127.0.0.1:23080 (or $HOSTILE_PORT).
set -euo pipefail
bin="${CARGO_TARGET_DIR:-./target}/release"
if [[ $# -gt 0 && $1 != -- ]]; then bin="$1"; shift; fi
[[ ${1:-} == -- ]] && shift
for b in sogs-server sogs-admin sogs-loadtest; do
  [[ -x "$bin/$b" ]] || { echo "$bin/$b not found" >&2; exit 2; }
done
port="${HOSTILE_PORT:-23080}"
state="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  # HOSTILE_LOG=path keeps the server's log.
  if [[ -n ${HOSTILE_LOG:-} && -f $state/server.log ]]; then cp "$state/server.log" "$HOSTILE_LOG"; fi
  rm -rf "$state"
}
trap cleanup EXIT

export SOGS_SERVER_LISTEN="127.0.0.1:$port" SOGS_SERVER_BASE_URL="http://127.0.0.1:$port"
export SOGS_SERVER_DATA_DIR="$state" SOGS_LOG_FORMAT=json SOGS_LOG_LEVEL=warn
"$bin/sogs-server" >"$state/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && break
  sleep 0.1
done
join_url=$("$bin/sogs-admin" room add hostile | grep -o 'http://[^ ]*public_key=[0-9a-f]*' | head -1)
[[ -n $join_url ]] || { echo "no join URL from sogs-admin room add" >&2; exit 1; }
echo "server pid $server_pid, RSS at start $(awk '/VmRSS/ {print $2}' /proc/$server_pid/status) KiB"
"$bin/sogs-loadtest" hostile --join-url "$join_url" --server-pid "$server_pid" "$@"
echo "server RSS at the end $(awk '/VmRSS/ {print $2}' /proc/$server_pid/status) KiB"
echo "server log: $(grep -c . "$state/server.log") lines, $(grep -c '"level":"ERROR"' "$state/server.log" || true) ERROR"
