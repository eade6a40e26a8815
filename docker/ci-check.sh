#!/usr/bin/env bash
# CI checks of docker/ and helm/ on a machine with no Docker daemon and no registry (.ci/run
# calls it after the test suite). Installs what it needs (podman + runc, debootstrap, pinned
# Python tools in a venv), then:
#   1. hadolint docker/Dockerfile;
#   2. builds the image with podman: the Dockerfile's runtime stages exactly as users build
#      them, fed with the binaries the suite built (no Rust image can be pulled), on a Debian
#      base made locally with debootstrap;
#   3. runs it read-only as users would: /healthz, the HEALTHCHECK, Kubernetes service-link
#      variables, `sogs-admin room add` inside the container, signed polls (onion and plain)
#      from the test client, graceful stop on SIGTERM;
#   4. brings docker/compose.yaml up with podman-compose (PostgreSQL, Redis and nginx as
#      local stand-ins built from Debian packages), in the order its depends_on conditions
#      give: a post on one instance is read through the other, both share one key, the key
#      survives another `up`, signed polls pass through the load balancer;
#   5. lints, renders and validates the Helm chart (helm/ci/check_chart.py).
# Any failure prints every container's state, healthcheck and log tail (report below).
# Podman runs with runc and a containers.conf without ulimits and with cgroupfs, as this
# machine kind (hybrid cgroups, no systemd) requires.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sogs-rs/target}"
CACHE="$HOME/.cache/sogs-rs"
VENV="$CACHE/deploy-venv"
IMAGE=localhost/sogs-rs:local
BASE_IMAGE=docker.io/library/debian:bookworm-slim
PROJECT=sogs-ci
STATE=$(mktemp -d)
started=$(date +%s)

log() { echo "deploy-check [$(( $(date +%s) - started ))s]: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- tools ------------------------------------------------------------------------------
need_apt=()
for tool in podman:podman runc:runc debootstrap:debootstrap iptables:iptables curl:curl \
            /usr/lib/podman/netavark:netavark /usr/lib/podman/aardvark-dns:aardvark-dns; do
  path=${tool%%:*}; pkg=${tool##*:}
  if [ "${path#/}" != "$path" ]; then [ -x "$path" ] || need_apt+=("$pkg")
  else command -v "$path" >/dev/null || need_apt+=("$pkg"); fi
done
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ ! -x "$VENV/bin/podman-compose" ] || ! cmp -s docker/ci/requirements.txt "$VENV/requirements.txt"; then
  log "installing the pinned Python tools (docker/ci/requirements.txt)"
  rm -rf "$VENV"
  python3 -m venv "$VENV" 2>/dev/null || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install -q --disable-pip-version-check -r docker/ci/requirements.txt
  cp docker/ci/requirements.txt "$VENV/requirements.txt"
fi
export PATH="$VENV/bin:$PATH"

cat > "$STATE/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
export CONTAINERS_CONF="$STATE/containers.conf"
# Without systemd, podman logs an error for each healthcheck timer it cannot create; CI runs
# the healthchecks itself (below), so those lines are noise.
quiet_timers() { grep -v 'unable to get systemd connection\|failed to connect to syslog\|condition check due to podman' >&2 || true; }
pm() { podman --runtime runc "$@" 2> >(quiet_timers); }

fail() { log "FAILED: $*"; exit 1; }
# On any failure: every container of the run with its state, its last healthcheck and the
# end of its log, and the network they share, so the CI log alone tells what went wrong.
report() {
  log "container states and logs follow"
  pm ps -a --format '{{.Names}}  {{.Status}}  {{.Networks}}' 2>/dev/null | grep -E "^($PROJECT|sogs-ci-one)" || true
  for c in $(pm ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^($PROJECT|sogs-ci-one)" || true); do
    echo "----- $c: $(pm inspect "$c" --format '{{.State.Status}} exit={{.State.ExitCode}} health={{.State.Health.Status}} ip={{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' 2>&1)"
    pm logs --tail 60 "$c" 2>&1 || true
  done
  for n in $(pm network ls --format '{{.Name}}' 2>/dev/null | grep "^$PROJECT" || true); do
    echo "----- network $n"; pm network inspect "$n" 2>&1 | grep -E '"(subnet|gateway|dns_enabled|network_interface)"' || true
  done
}
cleanup() {
  local rc=$?
  [ $rc -ne 0 ] && report
  remove_leftovers
  pm image prune -f >/dev/null 2>&1 || true   # superseded builds; tagged images stay cached
  rm -rf "$STATE"
  [ $rc -ne 0 ] && log "FAILED (exit $rc)"
  exit $rc
}
remove_leftovers() {
  (cd docker && podman-compose -p "$PROJECT" -f compose.yaml down -v >/dev/null 2>&1) || true
  pm rm -f sogs-ci-one >/dev/null 2>&1 || true
  pm volume rm -f sogs-ci-one-data >/dev/null 2>&1 || true
}
trap cleanup EXIT
remove_leftovers   # of a run that was killed

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Retries "$@" (quietly) until it succeeds or $1 seconds pass.
retry() {
  local seconds=$1; shift
  local until=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$until" ]; then log "gave up after ${seconds}s: $*"; "$@"; return 1; fi
    sleep 1
  done
}

# --- 1. hadolint ------------------------------------------------------------------------
log "hadolint docker/Dockerfile docker/ci/standins.Dockerfile"
hadolint docker/Dockerfile docker/ci/standins.Dockerfile

# --- 2. image -----------------------------------------------------------------------------
if ! pm image exists "$BASE_IMAGE"; then
  log "making the Debian base image with debootstrap (no registry to pull from)"
  as_root debootstrap --variant=minbase bookworm "$STATE/rootfs" >/dev/null
  tar -C "$STATE/rootfs" -c . | pm import --quiet - "$BASE_IMAGE" >/dev/null
  as_root rm -rf "$STATE/rootfs"
fi

log "building the binaries (debug, on the suite's build)"
nice -n 5 cargo build -q -p sogs-server -p sogs-admin -p sogs-loadtest --bins
mkdir -p "$STATE/bin"
for b in sogs-server sogs-admin sogs-loadtest; do
  objcopy --strip-all "$CARGO_TARGET_DIR/debug/$b" "$STATE/bin/$b"
done

log "podman build -f docker/Dockerfile (BINARIES=prebuilt)"
pm build -q --format docker --pull=never --build-arg BINARIES=prebuilt \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-context bin="$STATE/bin" -f docker/Dockerfile -t "$IMAGE" . >/dev/null
inspect() { pm image inspect "$IMAGE" --format "$1"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || fail "image user is not 10001:10001"
inspect '{{json .Config.Healthcheck.Test}}' | grep -q '"sogs-server","--healthcheck"' \
  || fail "image HEALTHCHECK is not sogs-server --healthcheck"
for label in version revision source licenses; do
  [ -n "$(inspect "{{index .Labels \"org.opencontainers.image.$label\"}}")" ] \
    || fail "missing OCI label $label"
done
inspect '{{json .Config.ExposedPorts}}' | grep -q '8080/tcp' || fail "8080 not exposed"
# The release image is 52.1 MB (docker/README.md; the issue allows 60). CI has debug binaries
# only, so it checks the part the Dockerfile decides: everything but the two binaries must
# stay small (3.4 MB today; a Debian base instead of scratch would add about 75 MB).
size=$(inspect '{{.Size}}')
binaries=$(( $(stat -c %s "$STATE/bin/sogs-server") + $(stat -c %s "$STATE/bin/sogs-admin") ))
log "image $size bytes: the two (debug) binaries $binaries, the rest $(( size - binaries ))"
[ $(( size - binaries )) -le 8000000 ] || fail "the image holds $(( size - binaries )) bytes besides the binaries (at most 8 MB)"

# --- 3. one container, as users run it ----------------------------------------------------
log "run: read-only root, /data volume, Kubernetes service-link variables set"
pm run -d --name sogs-ci-one --read-only --cap-drop ALL -v sogs-ci-one-data:/data \
  -p 127.0.0.1::8080 \
  -e SOGS_PORT=tcp://10.0.0.1:80 -e SOGS_PORT_80_TCP=tcp://10.0.0.1:80 \
  -e SOGS_PORT_80_TCP_ADDR=10.0.0.1 -e SOGS_PORT_80_TCP_PORT=80 -e SOGS_PORT_80_TCP_PROTO=tcp \
  -e SOGS_SERVICE_HOST=10.0.0.1 -e SOGS_SERVICE_PORT=80 -e SOGS_SERVICE_PORT_HTTP=80 \
  "$IMAGE" >/dev/null
port=$(pm port sogs-ci-one 8080/tcp | sed 's/.*://')
retry 30 curl -fsS "http://127.0.0.1:$port/healthz"
retry 30 pm healthcheck run sogs-ci-one
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
join=$(pm exec sogs-ci-one sogs-admin room add lobby --name Lobby | sed -n 's/.*join URL: *//p')
pk=${join##*public_key=}
log "room lobby: $join"
[ ${#pk} -eq 64 ] || fail "no join URL printed"
"$STATE/bin/sogs-loadtest" poll --join-url "http://127.0.0.1:$port/lobby?public_key=$pk" \
  --users 2 --requests 20 --concurrency 2 | tail -n 2
"$STATE/bin/sogs-loadtest" poll --plain --join-url "http://127.0.0.1:$port/lobby?public_key=$pk" \
  --users 2 --requests 20 --concurrency 2 | tail -n 1
pm stop -t 30 sogs-ci-one >/dev/null
code=$(pm inspect sogs-ci-one --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
log "stopped cleanly on SIGTERM"

# --- 4. compose ---------------------------------------------------------------------------
log "building the compose stand-ins (postgres, redis, nginx from Debian packages)"
for target in postgres redis nginx; do
  pm build -q --pull=never --target "$target" -f docker/ci/standins.Dockerfile docker/ci \
    -t "$(sed -n "s|^ *image: \(docker.io/library/$target:[^ ]*\)|\1|p" docker/compose.yaml)" >/dev/null
done
export SOGS_IMAGE="$IMAGE" SOGS_HTTP_PORT; SOGS_HTTP_PORT=$(free_port)
export SOGS_BASE_URL="http://127.0.0.1:$SOGS_HTTP_PORT" POSTGRES_PASSWORD=ci-secret
compose() { (cd docker && podman-compose -p "$PROJECT" -f compose.yaml "$@") 2> >(quiet_timers); }
services=$(compose --profile monitoring config \
  | python3 -c 'import sys, yaml; print(" ".join(sorted(yaml.safe_load(sys.stdin)["services"])))')
[ "$services" = "grafana key lb migrate postgres prometheus redis sogs-1 sogs-2" ] \
  || fail "compose services with --profile monitoring: $services"
# podman 4.3 runs no healthcheck timers without systemd, podman-compose ignores
# service_healthy before podman 4.6, and its `--requires` links break starting exited
# one-shot services. So CI starts the services one at a time (--no-deps) in the order the
# file's depends_on conditions give (docker/ci/compose_order.py) and waits for each
# condition itself, running the healthchecks the file defines.
container() { echo "${PROJECT}_${1}_1"; }
state() { pm inspect "$(container "$1")" --format '{{.State.Status}} {{.State.ExitCode}}'; }
wait_for() {   # SERVICE CONDITION SECONDS
  local service=$1 condition=$2 until=$(( $(date +%s) + $3 ))
  while :; do
    case "$condition:$(state "$service")" in
      healthy:"running "*) pm healthcheck run "$(container "$service")" >/dev/null 2>&1 && return 0 ;;
      completed:"exited 0"|started:"running "*) return 0 ;;
      completed:"running "*|completed:"created "*|*:"created "*) ;;
      *) fail "$service is $(state "$service") while waiting for it to be $condition" ;;
    esac
    [ "$(date +%s)" -lt "$until" ] || fail "$service not $condition after $3s"
    sleep 1
  done
}
order=$(compose config | python3 docker/ci/compose_order.py) || fail "compose depends_on"
log "compose up, in depends_on order: $(echo $order)"
set -- $order
while [ $# -gt 0 ]; do
  compose up -d --no-deps "$1" </dev/null >/dev/null || fail "compose up $1"
  wait_for "$1" "$2" 120
  log "  $1 $2"
  shift 2
done

# Every container start or stop on the host makes podman's DNS server (aardvark-dns 1.4, in
# Debian 12) tear down and rebind its sockets; queries sent meanwhile are lost, the
# resolver falls back after 5 s to the host's nameserver, which does not know `postgres`,
# and a connection fails (seen: names unresolvable for 3 to 40 s after a start while
# addresses kept working; aardvark-dns 1.11 keeps its sockets across reloads). So, once
# everything is up, CI starts no container until the checks below are done, and reaches
# the instances by address from the host rather than from a client container. First it
# waits until both instances have settled: ready, Redis connected (not degraded), and
# sogs-admin inside them reaching PostgreSQL by name.
address() { pm inspect "$(container "$1")" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'; }
settled() {
  local i
  for i in sogs-1 sogs-2; do
    curl -fsS --max-time 5 "http://$(address "$i"):8080/readyz" | grep -q '"degraded":false' || return 1
    pm exec "$(container "$i")" sogs-admin room list >/dev/null || return 1
  done
}
retry 90 settled || fail "the instances did not settle (ready, Redis up, database reachable)"
retry 30 curl -fsS "$SOGS_BASE_URL/readyz" || fail "the load balancer does not answer /readyz"
log "settled"
join=$(compose exec -T sogs-1 sogs-admin room add lobby --name Lobby | sed -n 's/.*join URL: *//p')
log "compose room: $join"
case "$join" in "$SOGS_BASE_URL/lobby?public_key="*) ;; *) fail "unexpected join URL";; esac
pk=${join##*public_key=}
for i in 1 2; do
  got=$(compose exec -T "sogs-$i" sogs-admin key show | tr -d '\r')
  [ "$got" = "$pk" ] || fail "sogs-$i has another key: $got"
done
one=$(address sogs-1) two=$(address sogs-2)
log "post on sogs-1 ($one), read through sogs-2 ($two)"
"$STATE/bin/sogs-loadtest" post-visible --join-url "http://$one:8080/lobby?public_key=$pk" \
  --poll-via "http://$two:8080" --samples 5 | tail -n 2
log "signed polls through the load balancer"
"$STATE/bin/sogs-loadtest" poll --join-url "$SOGS_BASE_URL/lobby?public_key=$pk" \
  --users 4 --requests 40 --concurrency 4 | tail -n 1
log "another run of the key service keeps the key"
out=$(compose run -T --rm --no-deps key 2>&1) || fail "compose run key: $out"
case "$out" in *"kept the existing key"*) ;; *) fail "the key service made a new key: $out";; esac
[ "$(compose exec -T sogs-2 sogs-admin key show | tr -d '\r')" = "$pk" ] || fail "the key changed"
compose down -v >/dev/null

# --- 5. Helm chart ------------------------------------------------------------------------
log "helm chart: lint, render, validate, schema, key across upgrades"
python3 helm/ci/check_chart.py helm/sogs

log "all deploy checks passed"
