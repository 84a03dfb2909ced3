#!/usr/bin/env bash
# Seeds the demo stack (demo/docker-compose.yml) with data a snapshot/restore drill can check.
#
#   demo/seed.sh [PROJECT]        PROJECT defaults to $COMPOSE_PROJECT_NAME, then "demo"
#
# - waits until the project's db container is healthy (and web is running)
# - (re)creates table orders(id serial primary key, item text, qty int) with SEED_ROWS rows
#   (default 300) whose content is deterministic
# - writes /srv/www/index.html in the web container's volume with an identifying marker
#   (SEED_MARKER, default: "docker-snapshot demo <project> seeded <UTC time>")
# - prints the facts a drill compares after a restore:
#       orders_rows=300
#       orders_md5=<md5 of every row in id order>
#       site_marker=<marker>
#
# Environment: SEED_ROWS, SEED_MARKER, SEED_TIMEOUT (seconds to wait for health, default 120).
set -euo pipefail

PROJECT=${1:-${COMPOSE_PROJECT_NAME:-demo}}
ROWS=${SEED_ROWS:-300}
TIMEOUT=${SEED_TIMEOUT:-120}
MARKER=${SEED_MARKER:-"docker-snapshot demo $PROJECT seeded $(date -u +%Y-%m-%dT%H:%M:%SZ)"}

log() { printf 'seed: %s\n' "$*" >&2; }
die() {
	printf 'seed: error: %s\n' "$*" >&2
	exit 1
}

[[ $ROWS =~ ^[0-9]+$ ]] || die "SEED_ROWS must be a number"
case $MARKER in *'<'* | *'>'* | *'&'*) die "SEED_MARKER must not contain <, > or &" ;; esac

container_of() {
	local ids
	ids=$(docker ps -q \
		--filter "label=com.docker.compose.project=$PROJECT" \
		--filter "label=com.docker.compose.service=$1")
	[ -n "$ids" ] || die "no running '$1' container in compose project '$PROJECT' (docker-compose -p $PROJECT up -d?)"
	[ "$(wc -l <<<"$ids")" -eq 1 ] || die "more than one '$1' container in project '$PROJECT'"
	printf '%s\n' "$ids"
}

wait_healthy() {
	local id=$1 name=$2 deadline state health
	deadline=$((SECONDS + TIMEOUT))
	while :; do
		state=$(docker inspect -f '{{.State.Status}}' "$id")
		health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
		[ "$state" = running ] || die "$name is $state, not running"
		case $health in
		healthy | none) return 0 ;;
		esac
		if [ "$SECONDS" -ge "$deadline" ]; then
			docker logs --tail 30 "$id" >&2 || true
			die "$name is still $health after ${TIMEOUT}s"
		fi
		sleep 1
	done
}

db=$(container_of db)
web=$(container_of web)
log "waiting for db ($db) to be healthy"
wait_healthy "$db" db
wait_healthy "$web" web

log "creating table orders with $ROWS rows"
docker exec -i "$db" psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS orders;
CREATE TABLE orders (id serial PRIMARY KEY, item text, qty int);
INSERT INTO orders (item, qty)
SELECT 'item-' || lpad(g::text, 4, '0'), (g * 7) % 13 + 1
FROM generate_series(1, $ROWS) AS g;
CHECKPOINT;
SQL

read -r count md5 < <(docker exec "$db" psql -X -q -At -F ' ' -U postgres -d postgres -c \
	"SELECT count(*), md5(coalesce(string_agg(id || ':' || item || ':' || qty, ',' ORDER BY id), '')) FROM orders")
[ "$count" = "$ROWS" ] || die "orders has $count rows, expected $ROWS"

log "writing index.html into the web volume"
docker exec -i "$web" sh -c 'cat > /srv/www/index.html.tmp && mv /srv/www/index.html.tmp /srv/www/index.html' <<HTML
<!doctype html>
<html><head><title>docker-snapshot demo</title></head>
<body><h1>docker-snapshot demo</h1><p id="marker">$MARKER</p></body></html>
HTML
docker exec "$web" wget -q -O - http://127.0.0.1:8080/ | grep -qF "$MARKER" ||
	die "web does not serve the new index.html"

printf 'orders_rows=%s\norders_md5=%s\nsite_marker=%s\n' "$count" "$md5" "$MARKER"
