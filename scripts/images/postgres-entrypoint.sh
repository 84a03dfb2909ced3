#!/bin/sh
# Entrypoint of the docker-snapshot-test/postgres:15 image (built by scripts/images.sh).
#
# - On first start (empty $PGDATA) it runs initdb as user postgres: local socket connections are
#   trusted; TCP connections need POSTGRES_PASSWORD (scram-sha-256) when it is set, and are trusted
#   when it is not. POSTGRES_HOST_AUTH_METHOD overrides the TCP method. listen_addresses = '*'.
# - Then it runs postgres in the foreground as user postgres.
#
# Why this script stays PID 1 instead of exec'ing postgres: `docker import --change` cannot set
# STOPSIGNAL, so `docker stop` sends SIGTERM, which postgres takes as a "smart" shutdown that waits
# for every client to disconnect (and is then SIGKILLed by docker after the timeout, leaving a
# crash-recovery on the next start). The script turns SIGTERM (and SIGINT) into SIGINT for the
# postmaster: a "fast" shutdown that ends sessions and writes a shutdown checkpoint. SIGHUP (reload)
# and SIGQUIT (immediate) are passed through unchanged.
#
# Any arguments are handed to postgres (for example `-c max_connections=50`); a first argument that
# does not start with '-' is executed as a command instead (for example `bash`).
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
PGBIN=/usr/lib/postgresql/15/bin
SOCKDIR=/var/run/postgresql

if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
	exec "$@"
fi

# shellcheck disable=SC2317 # called through $run
as_postgres() {
	# setpriv (util-linux) execs directly: no forked parent that would swallow signals, no PAM.
	setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
}

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" "$SOCKDIR"
	# A freshly created named volume is owned by root; postgres insists on owning its data dir.
	chown postgres:postgres "$PGDATA" "$SOCKDIR"
	chmod 0700 "$PGDATA"
	chmod 2775 "$SOCKDIR"
	run=as_postgres
else
	run=
fi

# A stop request that arrives during initdb (PID 1 ignores signals it has no handler for) is
# remembered, and honoured once initdb is done, instead of running into docker's SIGKILL.
stop_requested=
trap 'stop_requested=1' TERM INT

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
		echo "entrypoint: $PGDATA is not empty and holds no PG_VERSION; refusing to initdb over it" >&2
		ls -la "$PGDATA" >&2
		exit 1
	fi
	host_auth=${POSTGRES_HOST_AUTH_METHOD:-}
	pwfile=
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		host_auth=${host_auth:-scram-sha-256}
		pwfile=$(mktemp)
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
		chown postgres "$pwfile" 2>/dev/null || true
	else
		host_auth=${host_auth:-trust}
		echo "entrypoint: POSTGRES_PASSWORD is not set: TCP connections are trusted (no password)" >&2
	fi
	echo "entrypoint: initializing $PGDATA (host auth: $host_auth)"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words on purpose
	$run "$PGBIN/initdb" -D "$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host="$host_auth" ${pwfile:+--pwfile="$pwfile"} \
		${POSTGRES_INITDB_ARGS:-} >/dev/null
	[ -z "$pwfile" ] || rm -f "$pwfile"
	# initdb's host lines cover only 127.0.0.1 and ::1: accept every address with the same method.
	printf '\n# added by the docker-snapshot-test entrypoint\nhost all all all %s\n' "$host_auth" \
		>>"$PGDATA/pg_hba.conf"
	printf "\n# added by the docker-snapshot-test entrypoint\nlisten_addresses = '*'\n" \
		>>"$PGDATA/postgresql.conf"
	echo "entrypoint: initdb done"
fi
if [ -n "$stop_requested" ]; then
	echo "entrypoint: stop requested during initialization; not starting postgres"
	exit 0
fi

# Started as a plain external command (not through the as_postgres function): a backgrounded
# function runs in a forked subshell, $! would be that subshell, and a non-interactive shell's
# background jobs ignore SIGINT, so the fast-shutdown request would never reach postgres.
if [ -n "$run" ]; then
	setpriv --reuid=postgres --regid=postgres --init-groups -- "$PGBIN/postgres" -D "$PGDATA" "$@" &
else
	"$PGBIN/postgres" -D "$PGDATA" "$@" &
fi
pid=$!

forward() {
	kill "-$1" "$pid" 2>/dev/null || true
}
trap 'forward INT' TERM INT
trap 'forward HUP' HUP
trap 'forward QUIT' QUIT
# a stop request between starting postgres and the traps above
[ -z "$stop_requested" ] || forward INT

# `wait` returns early whenever a trapped signal arrives: keep waiting until postgres is gone.
set +e
while :; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
