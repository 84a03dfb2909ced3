#!/usr/bin/env bash
# The test bed: a Docker engine, a registry on 127.0.0.1:5000 and the locally built images the
# tests and the demo use. Idempotent. Uses an engine or registry that already answers; starts
# (and installs, on Debian as root) only what is missing, and remembers what it started so that
# `down` stops exactly that.
#
#   scripts/testbed.sh up       install/start what is missing, build the images
#   scripts/testbed.sh down     stop what `up` started
#   scripts/testbed.sh status   say what answers and who started it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$here/.testbed"
registry_addr="${DOCKER_SNAPSHOT_TEST_REGISTRY:-127.0.0.1:5000}"
mkdir -p "$state"

log() { printf 'testbed: %s\n' "$*"; }
die() {
  printf 'testbed: %s\n' "$*" >&2
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }
registry_answers() { curl -fsS -o /dev/null --max-time 2 "http://$registry_addr/v2/"; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx httpd || missing+=(busybox-static)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v curl >/dev/null || missing+=(curl)
  command -v iptables >/dev/null || missing+=(iptables)
  # An independent OCI client: proves a directory store is an image layout registries accept.
  command -v skopeo >/dev/null || missing+=(skopeo)
  # The age tool proves an encrypted snapshot opens without us; attr, acl and libcap2-bin give
  # the fast-path test its extended attributes, ACLs and file capabilities to keep.
  command -v age >/dev/null || missing+=(age)
  command -v setfattr >/dev/null || missing+=(attr)
  command -v setfacl >/dev/null || missing+=(acl)
  command -v setcap >/dev/null || missing+=(libcap2-bin)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing ${missing[*]} and cannot install them (needs Debian with root); install them or start an engine and a registry on $registry_addr yourself"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$state/apt.log" 2>&1 ||
    die "apt-get install failed; see $state/apt.log"
}

start_engine() {
  if engine_answers; then
    log "engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}; using it"
    return 0
  fi
  [ -n "${DOCKER_HOST:-}" ] && die "no engine answers at DOCKER_HOST=$DOCKER_HOST; start it or unset DOCKER_HOST"
  install_packages
  log "starting dockerd (log: $state/dockerd.log)"
  setsid dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 120); do
    engine_answers && {
      log "dockerd ready ($(docker version --format '{{.Server.Version}}'))"
      return 0
    }
    kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$state/dockerd.log" >&2
  die "dockerd did not become ready; its log is above"
}

start_registry() {
  if registry_answers; then
    log "registry answers at $registry_addr; using it"
    return 0
  fi
  command -v docker-registry >/dev/null || install_packages
  mkdir -p "$state/registry"
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $registry_addr
EOF
  log "starting docker-registry on $registry_addr (log: $state/registry.log)"
  setsid docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 </dev/null &
  echo $! >"$state/registry.pid"
  for _ in $(seq 1 60); do
    registry_answers && {
      log "registry ready"
      return 0
    }
    sleep 0.25
  done
  tail -20 "$state/registry.log" >&2
  die "registry did not answer on $registry_addr; its log is above"
}

stop_started() {
  local name pidfile pid
  for name in registry dockerd; do
    pidfile="$state/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    rm -f "$pidfile"
  done
}

status() {
  local name
  if engine_answers; then log "engine: answers"; else log "engine: not answering"; fi
  if registry_answers; then log "registry $registry_addr: answers"; else log "registry $registry_addr: not answering"; fi
  for name in dockerd registry; do
    [ -f "$state/$name.pid" ] && log "$name started by this script (pid $(cat "$state/$name.pid"))"
  done
  return 0
}

case "${1:-up}" in
up)
  for tool in curl skopeo age setfattr setfacl setcap; do
    command -v "$tool" >/dev/null || { install_packages; break; }
  done
  start_engine
  start_registry
  [ "${TESTBED_SKIP_IMAGES:-}" = 1 ] || "$here/scripts/images.sh" all
  ;;
down) stop_started ;;
status) status ;;
*) die "usage: scripts/testbed.sh up|down|status" ;;
esac
