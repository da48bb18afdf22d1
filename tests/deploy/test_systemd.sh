#!/bin/bash
# test_systemd.sh - photoguard-gateway.service under a real systemd: a
# minimal Debian 12 (debootstrap, cached) booted with systemd-nspawn,
# photoguard staged into it by deploy/install.sh --root, the shipped unit
# started by the container's systemd.  Checked from inside the container
# but outside the service (another unit, run as a member of staff): the
# mount is in the host's mount namespace and serves as soon as
# `systemctl start` returns (Type=notify, READY=1 after the mount
# answers); the gateway created the missing mount point; each log line
# reaches the journal once; a stopped worker is killed by the watchdog and
# the service comes back on its own and serves again; stop unmounts.
#
# The Debian tree is cached in /var/cache/photoguard-tests (about 250 MB;
# built once, in about a minute, from the host's apt mirror);
# PG_TEST_CACHE moves it.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
src=$PG_SOURCE_ROOT
b=$PG_BUILD_ROOT
unit=photoguard-gateway.service
photo=/srv/photos/patients/P000001/2026-01-10-preop/IMG_0001.jpg

. "$PG_SOURCE_ROOT/tests/deploy/debian_tree.sh"
debian_tree_need "the gateway under systemd" systemd-nspawn debootstrap nsenter
debian_tree_workdir systemd

# --- the Debian 12 tree, cached by its package list
if ! debian_tree "$root" "$t"; then
	done_testing
	exit 1
fi
is "the cached tree unpacks to a Debian 12 with systemd" "$(. "$root/etc/os-release"; echo "$VERSION_ID") $([ -x "$root/lib/systemd/systemd" ] && echo systemd)" "12 systemd"

# --- photoguard staged into it, as the README's install would on the host
out=$(sh "$src/deploy/install.sh" --root "$root" --build "$b" 2>&1); rc=$?
is "install.sh --root into the tree exits 0" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
# What the staged install left to the target host (next steps), and what
# this test needs: libraries the build links beyond the packages (the
# sanitizers'), staff, a policy, a care team and photos.
for f in "$b/gateway/photoguard-gateway" "$b/cli/photoguard"; do
	ldd "$f" | awk '/=> \// { print $3 }' | while read -r l; do
		[ -e "$root$l" ] || cp -L "$l" "$root$l"
	done
done
chroot "$root" sh -es <<'SETUP' >"$t/setup.log" 2>&1
useradd --system --user-group --home-dir /var/lib/photoguard \
    --no-create-home --shell /usr/sbin/nologin photoguard
groupadd surgeons
useradd -M -u 2101 -G surgeons -s /bin/sh drsmith
useradd -M -u 2102 -G surgeons -s /bin/sh drjones
cat >/etc/photoguard/clinic.policy <<'POL'
layout "patients/{patient}/{series}/{file}"
role surgeon = group surgeons
allow surgeon list,read patients/{patient}/** if care-team
limit surgeon none
POL
printf 'P000001: drsmith\nP000002: drjones\n' >/etc/photoguard/care-teams
chgrp photoguard /etc/photoguard/care-teams
chmod 0640 /etc/photoguard/care-teams
for p in P000001 P000002; do
	d=/var/lib/photoguard/store/patients/$p/2026-01-10-preop
	mkdir -p "$d"
	echo "PHOTO $p" >"$d/IMG_0001.jpg"
done
chown -R photoguard:photoguard /var/lib/photoguard/store
chmod -R go-rwx /var/lib/photoguard/store
systemctl enable photoguard-gateway.service
SETUP
rc=$?
# A sanitizer build: LeakSanitizer stops the world with ptrace(2), which
# the unit's system call filter forbids, and it would spin at exit for
# ever.  Leaks are checked by the gateway's own tests, without the filter.
if [ "$rc" = 0 ] && ldd "$b/gateway/photoguard-gateway" | grep -q libasan; then
	mkdir -p "$root/etc/systemd/system/$unit.d"
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
	    >"$root/etc/systemd/system/$unit.d/asan.conf"
	diag "sanitizer build: LeakSanitizer off in the unit (ptrace is filtered)"
fi
is "the service user, staff, policy and store are set up in the tree" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$t/setup.log"
is "the mount point does not exist before the first start" "$([ -e "$root/srv/photos" ] && echo exists || echo absent)" absent

# --- boot it
if ! container_boot "$root" --private-network --resolv-conf=off; then
	done_testing
	exit 1
fi

show() { ct systemctl show -p "$1" --value "$unit"; }
as_staff() { # user cmd...: a unit of its own, as the user
	local u=$1
	shift
	ct timeout 30 systemd-run --quiet --wait --pipe --collect -p User="$u" "$@" 2>&1
}

# --- start
out=$(ct timeout 90 systemctl start "$unit" 2>&1); rc=$?
# At once, before anything else: start returned, so the mount serves.
got=$(as_staff drsmith cat "$photo")
is "systemctl start exits 0" "$rc" 0
[ "$rc" = 0 ] && [ "$got" = "PHOTO P000001" ] ||
    ct journalctl -b -u "$unit" --no-pager -o cat | tail -n 15 | sed 's/^/# /'
is "as soon as start returns a member of staff (another unit) reads through the mount" "$got" "PHOTO P000001"
like "...and one not on the patient's care team is refused" "$(as_staff drjones cat "$photo")" "(Permission denied|No such file)"
is "the unit is Type=notify with NotifyAccess=all" "$(show Type) $(show NotifyAccess)" "notify all"
like "...with a watchdog" "$(show WatchdogUSec)" "^[1-9][0-9]*s$"
is "...and active" "$(show ActiveState)/$(show SubState)" "active/running"
like "the gateway told systemd what it serves (STATUS=)" "$(show StatusText)" "^serving /var/lib/photoguard/store on /srv/photos$"
main=$(show MainPID)
is "the service is in the container's mount namespace, not one of its own" "$(ct readlink "/proc/$main/ns/mnt")" "$(ct readlink /proc/1/ns/mnt)"
like "the mount is in init's mount table" "$(ct cat /proc/1/mountinfo)" " /srv/photos [^ ]* .* - fuse\.photoguard "
j=$(ct journalctl -b -u "$unit" --no-pager -o cat)
like "the gateway created the missing mount point" "$j" "created the mount point /srv/photos \(root's, 0755\)"
like "...and said when the mount answered" "$j" "mount /srv/photos answers: ready"
is "each log line reaches the journal once" "$(printf '%s\n' "$j" | grep -c 'serving /var/lib/photoguard/store on /srv/photos with policy')" 1

# --- the watchdog: a stopped worker
worker=$(ct ps -o pid= --ppid "$main" | head -n 1 | tr -d ' ')
like "the root parent has a worker serving as the service user" "$(ct ps -o user= -p "${worker:-0}")" "^photoguard$"
wd=$(( $(show WatchdogUSec | tr -dc 0-9) ))
n0=$(show NRestarts)
ct kill -STOP "$worker"
start=$(date +%s)
back=
for _ in $(seq $(( (wd + 30) * 2 ))); do
	sleep 0.5
	m=$(show MainPID)
	if [ "$(show NRestarts)" -gt "$n0" ] && [ "$m" != "$main" ] &&
	    [ "$(show ActiveState)" = active ]; then
		back=$(( $(date +%s) - start ))
		break
	fi
done
if [ -n "$back" ] && [ "$back" -le $((wd + 15)) ]; then
	ok "a stopped worker: systemd killed and restarted the gateway in ${back}s (WatchdogSec=${wd}s)"
else
	not_ok "a stopped worker: systemd killed and restarted the gateway within WatchdogSec=${wd}s + 15s (${back:-not back})"
fi
j=$(ct journalctl -b -u "$unit" --no-pager -o cat)
like "...the journal says it was the watchdog" "$j" "Watchdog timeout"
like "...the new gateway cleared the dead mount" "$j" "cleared the dead mount of an earlier gateway"
is "...and serves again" "$(as_staff drsmith cat "$photo")" "PHOTO P000001"
is "...with one mount on /srv/photos" "$(ct grep -c ' /srv/photos ' /proc/1/mountinfo)" 1

# --- the metrics for node_exporter, as the shipped timer runs them
is "photoguard-metrics.timer is installed, not enabled" \
    "$(ct systemctl is-enabled photoguard-metrics.timer 2>&1)" disabled
ct mkdir -p /var/lib/prometheus/node-exporter
ct chown nobody:nogroup /var/lib/prometheus/node-exporter
out=$(ct timeout 60 systemctl start photoguard-metrics.service 2>&1); rc=$?
is "photoguard-metrics.service runs (into a directory another user owns)" "$rc" 0
[ "$rc" = 0 ] ||
    ct journalctl -b -u photoguard-metrics.service --no-pager -o cat | tail -n 10 | sed 's/^/# /'
prom=$(ct cat /var/lib/prometheus/node-exporter/photoguard.prom 2>&1)
like "...it wrote the textfile: the gateway up" "$prom" "photoguard_gateway_up 1"
like "...with the staff the gateway has seen (no limit in this policy)" "$prom" 'photoguard_user_locked\{user="drsmith"\} 0'
like "...and every part read" "$prom" "photoguard_metrics_errors 0"

# --- stop
out=$(ct timeout 60 systemctl stop "$unit" 2>&1); rc=$?
is "systemctl stop exits 0" "$rc" 0
is "stop unmounts" "$(ct grep -c ' /srv/photos ' /proc/1/mountinfo)" 0
st=$(show ActiveState)
is "...and the service is inactive, not failed" "$st" inactive
[ "$st" = inactive ] ||
    ct journalctl -b -u "$unit" --no-pager -o cat | tail -n 12 | sed 's/^/# /'

# --- mount points the gateway refuses (by hand, the service stopped)
gwbin=/usr/local/sbin/photoguard-gateway
ct ln -s /tmp /srv/elsewhere
out=$(ct timeout 30 "$gwbin" -f /srv/elsewhere/photos 2>&1); rc=$?
is "a mount point to create beneath a symlink is refused (exit 1)" "$rc" 1
like "...saying why" "$out" "mount point /srv/elsewhere/photos cannot be created: a part of it is a symlink"
is "...and nothing was created through the symlink" "$(ct ls -A /tmp | grep -c '^photos$')" 0
out=$(ct timeout 30 "$gwbin" -f /etc/hostname 2>&1); rc=$?
is "a mount point that is a file is refused (exit 1)" "$rc" 1
like "...saying why" "$out" "mount point /etc/hostname is not a directory"

done_testing
