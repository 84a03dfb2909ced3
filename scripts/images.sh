#!/usr/bin/env bash
# Builds the local images the tests and the demo use. Nothing is pulled from a registry: every image
# is a rootfs turned into an image with `docker import`.
#
#   scripts/images.sh [all | IMAGE...]
#
# IMAGE is a full name (docker-snapshot-test/busybox:1) or a short one (busybox, postgres, web).
# An image that already exists is left alone (`docker image inspect`); remove it to rebuild.
# Prints one line per image: built or present, and how long it took.
#
# Needs root (debootstrap, chroot, file ownership in the rootfs), a running Docker engine, and
# busybox-static, debootstrap, zstd and GNU tar on the host.
#
# Environment:
#   DEBIAN_MIRROR   mirror for debootstrap (default: the Debian mirror apt on this host uses,
#                   else debootstrap's own default)
#   TESTBED_DIR     scratch and cache directory (default: <repo>/.testbed; gitignored)
#
# The postgres rootfs produced by debootstrap is cached in $TESTBED_DIR/cache, keyed by suite,
# variant, architecture and package list, so a second build on the same machine skips debootstrap.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTBED=${TESTBED_DIR:-$ROOT/.testbed}
CACHE_DIR=$TESTBED/cache
WORK_BASE=$TESTBED/work

IMG_BUSYBOX=docker-snapshot-test/busybox:1
IMG_POSTGRES=docker-snapshot-test/postgres:15
IMG_WEB=docker-snapshot-test/web:1

PG_SUITE=bookworm
PG_VARIANT=minbase
PG_PACKAGES=postgresql-15
# Bump when the way the cached rootfs is produced changes (not for trimming or the entrypoint:
# those are applied to the extracted cache on every build).
PG_CACHE_RECIPE=1

log() { printf 'images: %s\n' "$*" >&2; }
die() {
	printf 'images: error: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------------
# scratch directories: a debootstrap target may have /proc and /sys mounted inside it. Never
# `rm -rf` such a tree before unmounting, and never cross a file system boundary when removing.
WORKDIRS=()

# sets WORKDIR (not a command substitution: the list of directories to clean up must survive)
new_workdir() {
	mkdir -p "$WORK_BASE"
	WORKDIR=$(mktemp -d "$WORK_BASE/$1.XXXXXX")
	WORKDIRS+=("$WORKDIR")
}

unmount_under() {
	local dir=$1 m
	# deepest first
	while read -r m; do
		[ -n "$m" ] || continue
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
	if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
		return 1
	fi
}

remove_workdir() {
	local d=$1
	[ -d "$d" ] || return 0
	if ! unmount_under "$d"; then
		log "warning: something is still mounted under $d; leaving it in place"
		return 0
	fi
	rm -rf --one-file-system -- "$d"
}

cleanup() {
	local d
	for d in "${WORKDIRS[@]}"; do remove_workdir "$d"; done
	rmdir "$WORK_BASE" 2>/dev/null || true
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

image_size_mb() {
	local bytes
	bytes=$(docker image inspect -f '{{.Size}}' "$1")
	awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1000000 }'
}

# tar of a rootfs to stdout, numeric owners (names would be looked up in the HOST's passwd when
# extracting), without the mount points' contents the engine provides anyway.
tar_rootfs() {
	tar -C "$1" --numeric-owner \
		--exclude=./proc/* --exclude=./sys/* --exclude=./dev/* --exclude=./run/*.pid \
		-cf - .
}

# The Debian mirror apt on this host uses for the main archive of a suite.
debian_mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "$DEBIAN_MIRROR"
		return
	fi
	local suite=$1 uri
	# shellcheck disable=SC2016 # $(FIELD) is apt's format syntax, not the shell's
	uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' 2>/dev/null |
		awk -v s="$suite" '$2 == s && $3 == "main" { print $1; exit }')
	if [ -z "$uri" ]; then
		# no indextargets output: read the sources files (one-line and deb822 formats) directly
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')
	fi
	if [ -z "$uri" ]; then
		uri=$(awk -v s="$suite" '
			/^URIs:/ { u = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && !found) found = u }
			END { if (found) print found }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
	fi
	# None (a host that is not Debian, such as an Ubuntu runner): debootstrap's own default.
	printf '%s\n' "${uri%/}"
}

# ---------------------------------------------------------------------------------------------
# busybox rootfs: /bin/busybox + applet symlinks, root/nobody/app users, /tmp 1777.
make_busybox_rootfs() {
	local r=$1 bb
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || die "busybox not found (apt-get install busybox-static)"

	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/app,tmp,var/tmp,proc,sys,dev,run}
	install -m 0755 "$bb" "$r/bin/busybox"
	# the static binary runs in the chroot without any library
	chroot "$r" /bin/busybox --install -s ||
		die "$bb does not run in an empty chroot: is it the static one (busybox-static)?"
	[ -L "$r/bin/sh" ] || die "busybox --install did not create /bin/sh"

	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
		app:x:1000:1000:app:/home/app:/bin/sh
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
		app:x:1000:
	EOF
	chmod 0644 "$r/etc/passwd" "$r/etc/group"
	chmod 0700 "$r/root"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chown 1000:1000 "$r/home/app"
}

build_busybox() {
	local w
	new_workdir busybox
	w=$WORKDIR
	make_busybox_rootfs "$w/rootfs"
	tar_rootfs "$w/rootfs" | docker import \
		-c 'CMD ["/bin/sh"]' \
		-c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		-m 'docker-snapshot scripts/images.sh' \
		- "$IMG_BUSYBOX" >/dev/null
}

# `httpd -f -p 8080 -h /srv/www`, behind a shell that exits on SIGTERM: as PID 1, httpd has no
# SIGTERM handler, so the kernel drops the signal and `docker stop` waits 10 s for its SIGKILL, and
# `docker import` cannot set STOPSIGNAL. When the shell (PID 1) exits, the kernel ends httpd.
WEB_CMD="trap 'exit 0' TERM INT; httpd -f -p 8080 -h /srv/www & wait"

build_web() {
	local w
	new_workdir web
	w=$WORKDIR
	make_busybox_rootfs "$w/rootfs"
	mkdir -p "$w/rootfs/srv/www"
	cat >"$w/rootfs/srv/www/index.html" <<-'EOF'
		<!doctype html>
		<html><head><title>docker-snapshot demo</title></head>
		<body><h1>docker-snapshot demo</h1><p>default page of docker-snapshot-test/web:1</p></body></html>
	EOF
	chmod 0755 "$w/rootfs/srv" "$w/rootfs/srv/www"
	chmod 0644 "$w/rootfs/srv/www/index.html"
	tar_rootfs "$w/rootfs" | docker import \
		-c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		-c 'WORKDIR /srv/www' \
		-c 'EXPOSE 8080' \
		-c 'HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]' \
		-c "CMD [\"/bin/sh\", \"-c\", \"$WEB_CMD\"]" \
		-m 'docker-snapshot scripts/images.sh' \
		- "$IMG_WEB" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# postgres: debootstrap (cached) -> trim -> entrypoint -> import
pg_cache_file() {
	local arch key
	arch=$(dpkg --print-architecture)
	key=$(printf '%s\n' "recipe=$PG_CACHE_RECIPE" "suite=$PG_SUITE" "variant=$PG_VARIANT" \
		"arch=$arch" "include=$PG_PACKAGES" | sha256sum | cut -c1-16)
	printf '%s\n' "$CACHE_DIR/debootstrap-$PG_SUITE-$PG_VARIANT-$arch-$key.tar.zst"
}

pg_debootstrap_to_cache() {
	local cache=$1 w mirror r
	command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
	mirror=$(debian_mirror "$PG_SUITE")
	log "debootstrap --variant=$PG_VARIANT --include=$PG_PACKAGES $PG_SUITE from ${mirror:-the default mirror of debootstrap} (takes a few minutes)"
	new_workdir debootstrap
	w=$WORKDIR
	r=$w/rootfs
	if ! debootstrap --variant="$PG_VARIANT" --include="$PG_PACKAGES" "$PG_SUITE" "$r" ${mirror:+"$mirror"} \
		>"$w/debootstrap.log" 2>&1; then
		tail -n 30 "$w/debootstrap.log" >&2
		[ -f "$r/debootstrap/debootstrap.log" ] && tail -n 30 "$r/debootstrap/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	# debootstrap may leave /proc or /sys mounted in the target on some paths
	unmount_under "$r" || die "cannot unmount everything under $r"
	# the downloaded .debs are not part of the system
	rm -f "$r"/var/cache/apt/archives/*.deb
	mkdir -p "$CACHE_DIR"
	tar_rootfs "$r" | zstd -q -T0 -3 -o "$cache.tmp.$$"
	mv -f "$cache.tmp.$$" "$cache"
	log "cached the rootfs in ${cache#"$ROOT"/} ($(du -h "$cache" | cut -f1))"
	remove_workdir "$w"
}

trim_pg_rootfs() {
	local r=$1
	# postgresql-common's postinst creates a "15/main" cluster: the image initializes $PGDATA itself
	rm -rf "$r/var/lib/postgresql/15" "$r/etc/postgresql/15"
	rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
		"$r"/var/cache/debconf/*-old "$r"/var/lib/dpkg/*-old "$r/debootstrap"
	rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
		"$r"/usr/share/lintian "$r"/usr/share/linda "$r"/usr/share/doc-base
	# translations; the C.UTF-8 locale itself lives in /usr/lib/locale/C.utf8 and stays
	rm -rf "$r"/usr/share/locale/* "$r"/usr/share/postgresql/15/man
	find "$r/var/log" -type f -delete
	# keep dpkg from putting them back if someone installs a package into a container of the image
	mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
	cat >"$r/etc/dpkg/dpkg.cfg.d/docker-snapshot-test-nodoc" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
	EOF
}

build_postgres() {
	local cache w r
	cache=$(pg_cache_file)
	if [ -s "$cache" ]; then
		log "debootstrap rootfs from cache ${cache#"$ROOT"/}"
	else
		pg_debootstrap_to_cache "$cache"
	fi
	new_workdir postgres
	w=$WORKDIR
	r=$w/rootfs
	mkdir -p "$r"
	zstd -q -d -c "$cache" | tar -C "$r" --numeric-owner -xpf -

	[ -x "$r/usr/lib/postgresql/15/bin/postgres" ] || die "no postgres binary in the rootfs"
	[ -x "$r/usr/bin/setpriv" ] || die "no setpriv in the rootfs (util-linux)"
	chroot "$r" getent passwd postgres >/dev/null || die "no postgres user in the rootfs"

	trim_pg_rootfs "$r"
	install -m 0755 "$ROOT/scripts/images/postgres-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
	# owned by postgres so that a named volume mounted here starts out owned by postgres too
	mkdir -p "$r/var/lib/postgresql/data" "$r/var/run/postgresql"
	chroot "$r" chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql
	chmod 0700 "$r/var/lib/postgresql/data"
	chmod 2775 "$r/var/run/postgresql"

	tar_rootfs "$r" | docker import \
		-c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		-c 'ENV PGDATA=/var/lib/postgresql/data' \
		-c 'ENV LANG=C.UTF-8' \
		-c 'EXPOSE 5432' \
		-c 'HEALTHCHECK --interval=5s --timeout=5s --start-period=10s --retries=10 CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-U", "postgres", "-h", "127.0.0.1"]' \
		-c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
		-m "docker-snapshot scripts/images.sh: debootstrap $PG_VARIANT $PG_SUITE + $PG_PACKAGES" \
		- "$IMG_POSTGRES" >/dev/null
}

# ---------------------------------------------------------------------------------------------
resolve() {
	case "$1" in
	busybox | "$IMG_BUSYBOX") echo "$IMG_BUSYBOX" ;;
	postgres | "$IMG_POSTGRES") echo "$IMG_POSTGRES" ;;
	web | "$IMG_WEB") echo "$IMG_WEB" ;;
	*) die "unknown image '$1' (known: $IMG_BUSYBOX $IMG_POSTGRES $IMG_WEB, or all)" ;;
	esac
}

ensure() {
	local img=$1 start end secs
	start=$(date +%s.%N)
	if image_exists "$img"; then
		end=$(date +%s.%N)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
		printf '%-36s present (%s, checked in %ss)\n' "$img" "$(image_size_mb "$img")" "$secs"
		return
	fi
	case "$img" in
	"$IMG_BUSYBOX") build_busybox ;;
	"$IMG_WEB") build_web ;;
	"$IMG_POSTGRES") build_postgres ;;
	esac
	cleanup
	WORKDIRS=()
	end=$(date +%s.%N)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	printf '%-36s built in %ss (%s)\n' "$img" "$secs" "$(image_size_mb "$img")"
}

main() {
	if [ "$#" -eq 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
		usage
		[ "$#" -gt 0 ] || exit 2
		exit 0
	fi
	[ "$(id -u)" = 0 ] || die "must run as root (chroot, debootstrap, ownership inside the rootfs)"
	docker version >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"

	local images=() a
	for a in "$@"; do
		if [ "$a" = all ]; then
			images+=("$IMG_BUSYBOX" "$IMG_WEB" "$IMG_POSTGRES")
		else
			images+=("$(resolve "$a")")
		fi
	done
	for a in "${images[@]}"; do ensure "$a"; done
}

main "$@"
