#!/usr/bin/env bash
# Chaos run: N sogs-server instances under write load while Redis and PostgreSQL misbehave.
# Everything it starts is private to it (never the machine's shared PostgreSQL or Redis):
# a PostgreSQL cluster made with initdb, a redis-server, and the instances, all on
# 127.0.0.x ports from FIRST_PORT (default 22000) up.
#
#   loadtests/chaos.sh [-n N] [-p FIRST_PORT] [-f "FAULT …"] [-b DIR]
#
# Faults, in order (default: all): redis-kill (SIGKILL, restarted without persistence),
# redis-hang (SIGSTOP … SIGCONT), redis-kill-aof (appendonly turned on, SIGKILL, restarted
# from the AOF), pg-restart-fast (pg_ctl stop -m fast … start), pg-restart-immediate
# (-m immediate), instance-kill (SIGKILL of the last instance, started again after).
# The writers post look-alike messages from fresh IDs, which is what a raid looks like: the
# instances run with flood and raid detection off, so that the table measures the faults.
# Binaries come from DIR (default ./target/release: cargo build --release -p sogs-server
# -p sogs-admin -p sogs-loadtest). Prints one Markdown table row per fault; logs and data
# go to $STATE (default ./chaos-state, emptied first).
set -euo pipefail

n=3
first_port=22000
faults="redis-kill redis-hang redis-kill-aof pg-restart-fast pg-restart-immediate instance-kill"
bin="./target/release"
state="${STATE:-./chaos-state}"
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "n:p:f:b:h" opt; do
  case "$opt" in
    n) n="$OPTARG" ;;
    p) first_port="$OPTARG" ;;
    f) faults="$OPTARG" ;;
    b) bin="$OPTARG" ;;
    h) usage 0 ;;
    *) usage 2 ;;
  esac
done
[[ "$n" =~ ^[1-9]$ ]] || { echo "-n must be 1..9" >&2; exit 2; }
for b in sogs-server sogs-admin sogs-loadtest; do
  [[ -x "$bin/$b" ]] || { echo "$bin/$b not found: cargo build --release -p $b" >&2; exit 2; }
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_port=$((first_port + 1))
redis_port=$((first_port + 2))
as_postgres=()
[[ $(id -u) == 0 ]] && as_postgres=(runuser -u postgres --)

rm -rf "$state" && mkdir -p "$state/redis"
state=$(cd "$state" && pwd)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true; done
  [[ -f "$state/redis.pid" ]] && { kill -CONT "$(cat "$state/redis.pid")" 2>/dev/null; kill -KILL "$(cat "$state/redis.pid")" 2>/dev/null || true; }
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$state/pg" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# --- PostgreSQL, private -------------------------------------------------------------------
chown_state() { [[ ${#as_postgres[@]} -gt 0 ]] && chown -R postgres "$state/pg" "$state/pg.log"; true; }
mkdir -p "$state/pg" && touch "$state/pg.log" && chown_state
"${as_postgres[@]}" "$pg_bin/initdb" -D "$state/pg" -U root --auth=trust >/dev/null
pg_start() {
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/pg.log" -w \
    -o "-p $pg_port -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
}
pg_start
database_url="postgres://root@127.0.0.1:$pg_port/postgres"

# --- Redis, private ------------------------------------------------------------------------
redis_start() { # $1: yes|no appendonly
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly "$1" \
    --dir "$state/redis" --logfile "$state/redis.log" --daemonize yes --pidfile "$state/redis.pid"
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis did not start" >&2; exit 1
}
redis_start no

# --- Instances -----------------------------------------------------------------------------
key_file="$state/key_x25519"
instance_start() { # $1: index from 1
  local i=$1 ip="127.0.0.$(( $1 + 1 ))" port=$((first_port + 10 + $1))
  mkdir -p "$state/instance-$i"
  SOGS_SERVER_LISTEN="$ip:$port" SOGS_SERVER_BASE_URL="http://$ip:$port" \
  SOGS_SERVER_DATA_DIR="$state/instance-$i" SOGS_SERVER_KEY_FILE="$key_file" \
  SOGS_DATABASE_URL="$database_url" SOGS_REDIS_URL="redis://127.0.0.1:$redis_port" \
  SOGS_METRICS_LISTEN="$ip:$((port + 100))" SOGS_ROOMS_POST_RATE_LIMIT=0 \
  SOGS_DETECTORS_FLOOD_ENABLED=false SOGS_ANTIRAID_RAID_NEW_POSTERS=0 \
  SOGS_LOG_FORMAT=json SOGS_LOG_LEVEL=info \
    "$bin/sogs-server" >>"$state/instance-$i.log" 2>&1 &
  echo $! >"$state/instance-$i.pid"
  pids+=($!)
  for _ in $(seq 900); do
    [[ $(grep -c '"sogs-server listening' "$state/instance-$i.log" 2>/dev/null) -ge 1 ]] \
      && [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$ip:$port/readyz") == 200 ]] && return
    sleep 0.1
  done
  echo "instance $i did not start" >&2; cat "$state/instance-$i.log" >&2; exit 1
}
for ((i = 1; i <= n; i++)); do instance_start "$i"; done
SOGS_DATABASE_URL="$database_url" SOGS_SERVER_KEY_FILE="$key_file" \
  SOGS_SERVER_DATA_DIR="$state/instance-1" SOGS_REDIS_URL="redis://127.0.0.1:$redis_port" \
  "$bin/sogs-admin" room add chaos >/dev/null
public_key=$(grep -o '"public_key":"[0-9a-f]*"' "$state/instance-1.log" | head -1 | cut -d'"' -f4)
join_url="http://127.0.0.2:$((first_port + 11))/chaos?public_key=$public_key"
also=()
for ((i = 2; i <= n; i++)); do also+=(--also "http://127.0.0.$((i + 1)):$((first_port + 10 + i))"); done

# --- Faults --------------------------------------------------------------------------------
# Each fault is an inject and a recover command, run by sogs-loadtest at the phase marks.
me="$state/chaos-actions.sh"
cat >"$me" <<EOF
#!/usr/bin/env bash
set -euo pipefail
state="$state"; redis_port=$redis_port; pg_bin="$pg_bin"; pg_port=$pg_port
$(declare -f redis_start pg_start instance_start)
$(declare -p as_postgres first_port database_url key_file bin)
pids=()
case "\$1" in
  redis-kill:inject|redis-kill-aof:inject) kill -KILL "\$(cat "\$state/redis.pid")"; rm -f "\$state/redis.pid" ;;
  redis-kill:recover) redis_start no ;;
  redis-kill-aof:recover) redis_start yes ;;
  redis-hang:inject) kill -STOP "\$(cat "\$state/redis.pid")" ;;
  redis-hang:recover) kill -CONT "\$(cat "\$state/redis.pid")" ;;
  pg-restart-fast:inject) "\${as_postgres[@]}" "\$pg_bin/pg_ctl" -D "\$state/pg" -m fast -w stop >/dev/null ;;
  pg-restart-immediate:inject) "\${as_postgres[@]}" "\$pg_bin/pg_ctl" -D "\$state/pg" -m immediate -w stop >/dev/null ;;
  pg-restart-fast:recover|pg-restart-immediate:recover) pg_start ;;
  instance-kill:inject) kill -KILL "\$(cat "\$state/instance-$n.pid")" ;;
  instance-kill:recover) instance_start $n; disown -a ;;
  *) echo "unknown action \$1" >&2; exit 2 ;;
esac
EOF
chmod +x "$me"

echo "| fault | acknowledged | lost | duplicated | replays accepted/sent | statuses (writes+reads) | write p50/p99 ms before → during → after | read p50/p99 ms | writes/s | recovery |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for fault in $faults; do
  if [[ "$fault" == redis-kill-aof ]]; then
    # Persistence on, and the existing data written out, before the load starts.
    redis-cli -p "$redis_port" config set appendonly yes >/dev/null
    for _ in $(seq 100); do
      [[ $(redis-cli -p "$redis_port" info persistence | grep -c 'aof_rewrite_in_progress:0') == 1 ]] && break
      sleep 0.1
    done
  fi
  "$bin/sogs-loadtest" chaos --join-url "$join_url" "${also[@]}" --fault "$fault" \
    --inject "$me $fault:inject" --recover "$me $fault:recover" \
    ${CHAOS_ARGS:-}
  # The instance restarted by instance-kill is the action script's child: track its pid.
  pids+=("$(cat "$state/instance-$n.pid")")
  sleep 2
done
for ((i = 1; i <= n; i++)); do
  echo "instance $i: $(grep -c 'redis unreachable' "$state/instance-$i.log") outage line(s), $(grep -c 'redis reachable again' "$state/instance-$i.log") recovery line(s), $(grep -c '"level":"WARN"' "$state/instance-$i.log") warnings; $(curl -s "http://127.0.0.$((i + 1)):$((first_port + 110 + i))/metrics" | grep -E '^sogs_redis_(outages|degraded|publishes)' | tr '\n' ' ')"
done
