#!/usr/bin/env bash
# Runs N sogs-server instances on 127.0.0.2, 127.0.0.3, … against one PostgreSQL database and
# one Redis, as replicas behind a load balancer would run: the same server key, the same
# database, the same Redis. For manual checks and load tests (sogs-loadtest --also …).
#
#   loadtests/cluster.sh [-n N] [-p FIRST_PORT] [-d DATABASE_URL] [-r REDIS_URL] [-b BINARY]
#
# Defaults: N=3, ports 8081.. (instance i listens on 127.0.0.(i+1):(FIRST_PORT+i-1) and serves
# metrics on the same address, port +100), postgres://root@127.0.0.1:5432/sogs_cluster
# (created if missing), redis://127.0.0.1:6379, ./target/release/sogs-server.
# Logs go to $STATE/instance-<i>.log (STATE defaults to ./cluster-state). Ctrl-C stops all.
set -euo pipefail

n=3
first_port=8081
database_url="postgres://root@127.0.0.1:5432/sogs_cluster"
redis_url="redis://127.0.0.1:6379"
binary="./target/release/sogs-server"
state="${STATE:-./cluster-state}"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "n:p:d:r:b:h" opt; do
  case "$opt" in
    n) n="$OPTARG" ;;
    p) first_port="$OPTARG" ;;
    d) database_url="$OPTARG" ;;
    r) redis_url="$OPTARG" ;;
    b) binary="$OPTARG" ;;
    h) usage 0 ;;
    *) usage 2 ;;
  esac
done
[[ "$n" =~ ^[1-9][0-9]?$ ]] || { echo "-n must be 1..99" >&2; exit 2; }
[[ "$first_port" =~ ^[0-9]+$ ]] || { echo "-p must be a port number" >&2; exit 2; }
[[ -x "$binary" ]] || { echo "$binary not found: cargo build --release -p sogs-server" >&2; exit 2; }

# Create the database if it does not exist (needs psql; skip silently if absent).
if command -v psql >/dev/null; then
  db_name="${database_url##*/}"; db_name="${db_name%%\?*}"
  admin_url="${database_url%/*}/postgres"
  if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
    psql "$admin_url" -qc "CREATE DATABASE \"$db_name\"" >/dev/null
  fi
fi

mkdir -p "$state"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

key_file="$state/key_x25519"
for ((i = 1; i <= n; i++)); do
  ip="127.0.0.$((i + 1))"
  port=$((first_port + i - 1))
  dir="$state/instance-$i"
  mkdir -p "$dir"
  SOGS_SERVER_LISTEN="$ip:$port" \
  SOGS_SERVER_BASE_URL="http://$ip:$port" \
  SOGS_SERVER_DATA_DIR="$dir" \
  SOGS_SERVER_KEY_FILE="$key_file" \
  SOGS_DATABASE_URL="$database_url" \
  SOGS_REDIS_URL="$redis_url" \
  SOGS_METRICS_LISTEN="$ip:$((port + 100))" \
  SOGS_LOG_FORMAT=json \
    "$binary" >"$state/instance-$i.log" 2>&1 &
  pids+=($!)
  # The first instance creates the key (and runs the migrations) before the others start.
  for _ in $(seq 100); do
    grep -q '"sogs-server listening' "$state/instance-$i.log" 2>/dev/null && break
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "instance $i failed to start:" >&2; cat "$state/instance-$i.log" >&2; exit 1
    fi
    sleep 0.1
  done
  grep -q '"sogs-server listening' "$state/instance-$i.log" || { echo "instance $i did not start" >&2; exit 1; }
  echo "instance $i: http://$ip:$port  metrics http://$ip:$((port + 100))/metrics  pid ${pids[-1]}"
done
public_key=$(grep -o '"public_key":"[0-9a-f]*"' "$state/instance-1.log" | head -1 | cut -d'"' -f4)
echo "server public key: $public_key"
echo "add a room: SOGS_DATABASE_URL=$database_url SOGS_REDIS_URL=$redis_url SOGS_SERVER_KEY_FILE=$key_file sogs-admin room add lobby"
echo "Ctrl-C stops every instance."
wait
