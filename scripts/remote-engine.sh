#!/usr/bin/env bash
# A second Docker engine, "remote" to the tests: its own network namespace joined to this one by
# a veth pair (10.213.0.1 here, 10.213.0.2 there), a dockerd there listening on tcp :2376 with
# TLS (certificates made here with openssl) and on a unix socket, and an sshd there (key-only)
# whose sessions reach that dockerd. Nothing is pulled: the test image is copied from the main
# engine. Needs root and Debian (installs openssh-server and openssl when missing).
#
#   scripts/remote-engine.sh up      start it (idempotent); prints the environment to use
#   scripts/remote-engine.sh down    stop the dockerd and sshd, remove the namespace and the files
#   scripts/remote-engine.sh env     print the environment the tests read (after up)
set -euo pipefail

ns=dsnap-remote
host_if=dsnap-re0
ns_if=dsnap-re1
host_addr=10.213.0.1
ns_addr=10.213.0.2
# Short, fixed path: unix socket paths under it must stay below 108 bytes.
state=${DOCKER_SNAPSHOT_REMOTE_STATE:-/tmp/docker-snapshot-remote}
image=docker-snapshot-test/busybox:1

log() { printf 'remote-engine: %s\n' "$*"; }
die() {
  printf 'remote-engine: %s\n' "$*" >&2
  exit 1
}

install_packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    die "missing ${missing[*]} and cannot install them (needs Debian with root)"
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$state.apt.log" 2>&1 || die "apt-get install failed; see $state.apt.log"
  # The package's own sshd on this machine is not ours to run.
  systemctl disable --now ssh >/dev/null 2>&1 || true
}

# CA, server certificate for the namespace's address, client certificate; and a second CA that
# signed nothing the engine trusts, for the tests' "wrong CA" case.
make_certs() {
  local d=$state/tls
  mkdir -p "$d/client" "$d/other-ca"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=docker-snapshot-test-ca \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$ns_addr" -keyout server-key.pem \
      -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ns_addr" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=docker-snapshot-test-client \
      -keyout client/key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out client/cert.pem 2>/dev/null
    cp ca.pem client/ca.pem
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=docker-snapshot-other-ca \
      -keyout other-ca/ca-key.pem -out other-ca/ca.pem 2>/dev/null
    chmod 600 ./*key.pem client/key.pem other-ca/ca-key.pem
  )
}

make_namespace() {
  ip netns add "$ns"
  ip link add "$host_if" type veth peer name "$ns_if"
  ip link set "$ns_if" netns "$ns"
  ip addr add "$host_addr/30" dev "$host_if"
  ip link set "$host_if" up
  ip netns exec "$ns" ip addr add "$ns_addr/30" dev "$ns_if"
  ip netns exec "$ns" ip link set "$ns_if" up
  ip netns exec "$ns" ip link set lo up
}

engine() { DOCKER_HOST="unix://$state/docker.sock" docker "$@"; }

start_dockerd() {
  mkdir -p "$state/data" "$state/exec"
  # Its own (empty) configuration: the main engine's /etc/docker/daemon.json is not for it.
  echo '{}' >"$state/daemon.json"
  # Only the network namespace (ip netns exec would hide the cgroup mounts under a fresh /sys).
  # No bridge, no iptables: nothing the main engine owns is touched; containers use network none.
  nsenter --net="/run/netns/$ns" setsid dockerd \
    --config-file "$state/daemon.json" --data-root "$state/data" --exec-root "$state/exec" \
    --pidfile "$state/dockerd.pid" --cgroup-parent /docker-snapshot-remote \
    -H "unix://$state/docker.sock" -H "tcp://$ns_addr:2376" \
    --tlsverify --tlscacert "$state/tls/ca.pem" --tlscert "$state/tls/server-cert.pem" \
    --tlskey "$state/tls/server-key.pem" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    >"$state/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    engine info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -20 "$state/dockerd.log" >&2
  die "the second dockerd did not become ready; its log is above"
}

start_sshd() {
  ssh-keygen -q -t ed25519 -N '' -f "$state/ssh/host_key"
  ssh-keygen -q -t ed25519 -N '' -C docker-snapshot-test -f "$state/ssh/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C not-authorized -f "$state/ssh/other_id_ed25519"
  cp "$state/ssh/id_ed25519.pub" "$state/ssh/authorized_keys"
  printf '%s %s\n' "$ns_addr" "$(cut -d' ' -f1,2 "$state/ssh/host_key.pub")" >"$state/ssh/known_hosts"
  cat >"$state/ssh/sshd_config" <<EOF
ListenAddress $ns_addr
Port 22
HostKey $state/ssh/host_key
PidFile $state/sshd.pid
AuthorizedKeysFile $state/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# 'docker system dial-stdio' run by a session must reach this engine, not the main one.
SetEnv DOCKER_HOST=unix://$state/docker.sock
EOF
  mkdir -p /run/sshd
  nsenter --net="/run/netns/$ns" /usr/sbin/sshd -f "$state/ssh/sshd_config" -E "$state/sshd.log"
  for _ in $(seq 1 40); do
    [ -s "$state/sshd.pid" ] && return 0
    sleep 0.25
  done
  cat "$state/sshd.log" >&2
  die "sshd did not start; its log is above"
}

print_env() {
  cat <<EOF
DOCKER_SNAPSHOT_REMOTE_ADDR=$ns_addr
DOCKER_SNAPSHOT_REMOTE_SOCKET=$state/docker.sock
DOCKER_SNAPSHOT_REMOTE_TLS=$state/tls
DOCKER_SNAPSHOT_REMOTE_SSH=$state/ssh
EOF
}

up() {
  if [ -f "$state/ready" ] && engine info >/dev/null 2>&1; then
    log "already up"
    print_env
    return 0
  fi
  down >/dev/null 2>&1 || true
  [ "$(id -u)" = 0 ] || die "needs root (network namespace, dockerd)"
  install_packages
  mkdir -p "$state/ssh"
  chmod 700 "$state" "$state/ssh"
  make_certs
  make_namespace
  start_dockerd
  start_sshd
  docker save "$image" | engine load -q >/dev/null
  touch "$state/ready"
  log "up: tcp://$ns_addr:2376 (TLS), ssh://root@$ns_addr, unix://$state/docker.sock"
  print_env
}

stop_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 80); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

down() {
  # Containers first, so the dockerd stops fast and leaves no shim behind.
  if engine info >/dev/null 2>&1; then
    engine ps -aq | xargs -r env DOCKER_HOST="unix://$state/docker.sock" docker rm -f >/dev/null 2>&1 || true
  fi
  stop_pid "$state/sshd.pid"
  stop_pid "$state/dockerd.pid"
  # The engine's (now empty) cgroup parent, in each hierarchy.
  find /sys/fs/cgroup -maxdepth 2 -type d -name docker-snapshot-remote -exec rmdir {} + 2>/dev/null || true
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  if [ -d "$state" ]; then
    # The data root may hold mounts of the stopped engine's containers.
    grep -o " $state/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$state"
  fi
  log "down"
}

case "${1:-}" in
up) up ;;
down) down ;;
env) print_env ;;
*) die "usage: scripts/remote-engine.sh up|down|env" ;;
esac
