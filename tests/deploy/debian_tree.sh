# debian_tree.sh - what the deploy tests that need a clean Debian 12
# share: a minimal tree made by debootstrap from the host's apt mirror,
# cached as a tarball named by its package list in
# /var/cache/photoguard-tests (PG_TEST_CACHE moves it), and booting a
# copy of it with systemd-nspawn.  Sourced after tap.sh, not run.

# What every tree has: systemd and the libraries photoguard links.
DEBIAN_TREE_PKGS=systemd,systemd-sysv,dbus,procps,fuse3,libfuse3-3,liboath0,libldap-2.5-0,libsodium23,libjansson4,libinih1,libqrencode4,libinotifytools0,libpam0g

# debian_tree_need WHAT CMD...: unless root, /dev/fuse and every CMD are
# there, skip WHAT loudly with what is missing, and end the test.
debian_tree_need() {
	local what=$1 c miss=
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null || miss="$miss $c"
	done
	[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && [ -z "$miss" ] && return 0
	skip "$what" "needs root, /dev/fuse and $* (missing:${miss:- none}; deploy/deps.sh --test installs them)"
	done_testing
	exit 0
}

# debian_tree_workdir NAME: sets $t to a new work directory
# /var/tmp/pg-NAME.XXXXXX and $root to the tree's place in it; at exit the
# container is stopped (its /srv/photos mount first) and $t removed.
debian_tree_workdir() {
	t=$(mktemp -d "/var/tmp/pg-$1.XXXXXX")
	root=$t/root
	trap 'container_stop /srv/photos; rm -rf "$t"' EXIT
}

# The first apt mirror the host uses (not the security one).
debian_mirror() {
	sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
	    -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
	    /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null |
	    grep -v security | head -n 1
}

# debian_tree DIR WORK [PKGS]: a fresh copy of the cached Debian 12 tree
# with PKGS (comma-separated; default $DEBIAN_TREE_PKGS) in DIR, which
# must not exist.  The first call for a package list runs debootstrap
# (logged in WORK) and says so as a TAP point; a failure is a not ok
# point and returns 1.
debian_tree() {
	local dir=$1 work=$2 pkgs=${3:-$DEBIAN_TREE_PKGS}
	local cache tarball m
	cache=${PG_TEST_CACHE:-/var/cache/photoguard-tests}
	tarball=$cache/bookworm-$(printf '%s' "$pkgs" | sha256sum | cut -c1-12).tar
	mkdir -p "$cache"
	exec 8>"$cache/.lock"
	flock -w 900 8
	if [ ! -s "$tarball" ]; then
		m=$(debian_mirror)
		diag "building the cached Debian 12 tree $tarball from ${m:=http://deb.debian.org/debian}"
		rm -rf "$work/boot"
		if debootstrap --variant=minbase --include="$pkgs" bookworm \
		    "$work/boot" "$m" >"$work/debootstrap.log" 2>&1 &&
		    tar -C "$work/boot" -cf "$tarball.tmp" . &&
		    mv "$tarball.tmp" "$tarball"; then
			ok "debootstrap of Debian 12 (bookworm) with systemd"
		else
			not_ok "debootstrap of Debian 12 (bookworm) with systemd"
			tail -n 15 "$work/debootstrap.log" | sed 's/^/# /'
			rm -f "$tarball.tmp"
			rm -rf "$work/boot"
			flock -u 8
			return 1
		fi
		rm -rf "$work/boot"
	fi
	flock -u 8
	mkdir "$dir" && tar -C "$dir" -xf "$tarball"
}

# container_boot DIR [NSPAWN-OPTION...]: boots DIR with systemd-nspawn
# (/dev/fuse bound in; console in WORK's console.log, WORK being DIR's
# parent) and waits for its systemd.  Sets ct_nspawn and ct_leader (the
# container's init).  A TAP point says whether systemd came up; returns
# 1 if it did not.
container_boot() {
	local dir=$1 state=
	shift
	systemd-nspawn -D "$dir" --boot --register=no --keep-unit \
	    --machine="pgtest$$" --bind=/dev/fuse \
	    --console=passive --timezone=off "$@" \
	    >"${dir%/*}/console.log" 2>&1 &
	ct_nspawn=$!
	ct_leader=
	for _ in $(seq 100); do
		ct_leader=$(ps -o pid= --ppid "$ct_nspawn" 2>/dev/null | head -n 1 | tr -d ' ')
		[ -n "$ct_leader" ] && [ "$(cat "/proc/$ct_leader/comm" 2>/dev/null)" = systemd ] && break
		ct_leader=
		sleep 0.2
	done
	# Until its bus is up, systemctl cannot even ask.
	for _ in $(seq 120); do
		[ -n "$ct_leader" ] || break
		state=$(ct timeout 120 systemctl is-system-running --wait 2>&1)
		[[ "$state" =~ ^(running|degraded)$ ]] && break
		sleep 0.5
	done
	like "systemd-nspawn --boot: the container's systemd is up" "$state" "^(running|degraded)$"
	if [ -z "$ct_leader" ] || ! [[ "$state" =~ ^(running|degraded)$ ]]; then
		sed 's/^/# /' "${dir%/*}/console.log" | tail -n 20
		return 1
	fi
	[ "$state" = degraded ] && diag "failed units: $(ct systemctl --failed --no-legend --plain | tr '\n' ' ')"
	return 0
}

# ct CMD...: CMD in the container's namespaces (its init's: not a
# service's), as root with a clean environment.
ct() {
	nsenter -t "$ct_leader" -m -u -i -n -p -r -w -- \
	    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# container_stop [MOUNT...]: powers the container off (SIGTERM to nspawn
# asks its systemd), after a forced unmount of each MOUNT inside it: a
# FUSE connection a failed check left hanging must not hold it up.
container_stop() {
	local m
	[ -n "${ct_nspawn:-}" ] && kill -0 "$ct_nspawn" 2>/dev/null || return 0
	for m in "$@"; do
		[ -n "$ct_leader" ] && nsenter -t "$ct_leader" -m \
		    umount -f "$m" >/dev/null 2>&1
	done
	kill "$ct_nspawn"
	for _ in $(seq 60); do
		kill -0 "$ct_nspawn" 2>/dev/null || break
		sleep 0.5
	done
	kill -9 "$ct_nspawn" 2>/dev/null
	wait "$ct_nspawn" 2>/dev/null
	ct_nspawn=
}
