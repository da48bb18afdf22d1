#!/bin/bash
# gateway_bench.sh - photoguard-gateway side by side with native reads,
# bindfs and loggedfs, in one run:
#   (a) one big file read sequentially, cold and warm;
#   (b) many photo-sized files read once, cold and warm, sequentially and 8
#       in parallel;
#   (c) a stat walk over them;
# and for the gateway: p99 open latency, and RSS after serving
# BENCH_SERVE files.  Prints seconds and the ratio to native.
#
#   sudo bench/gateway_bench.sh [BUILD_DIR]
# Knobs (defaults are the issue's): BENCH_BIG_MB=1024 BENCH_FILES=20000
# BENCH_FILE_KB=200 BENCH_SERVE=200000 BENCH_DIR=/var/tmp.
# Root: it creates a user and a group, mounts, drops the page cache for
# the cold runs, and installs bindfs and loggedfs if they are missing.
set -u
BUILD=${1:-${PG_BUILD_ROOT:-$(dirname "$0")/../build}}
BUILD=$(cd "$BUILD" && pwd)
GW=$BUILD/gateway/photoguard-gateway
BIG_MB=${BENCH_BIG_MB:-1024}
NFILES=${BENCH_FILES:-20000}
FILE_KB=${BENCH_FILE_KB:-200}
SERVE=${BENCH_SERVE:-200000}
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "gateway_bench: run as root" >&2; exit 2; }
[ -x "$GW" ] || { echo "gateway_bench: build first ($GW)" >&2; exit 2; }
for p in bindfs loggedfs; do
	command -v "$p" >/dev/null || apt-get install -y "$p" >/dev/null 2>&1 ||
	    echo "gateway_bench: $p not available: its column stays empty" >&2
done

w=$(mktemp -d "${BENCH_DIR:-/var/tmp}/pg-gwbench.XXXXXX")
chmod 0755 "$w"
pids=
cleanup() {
	local d
	for d in "$w"/m_*; do
		mountpoint -q "$d" 2>/dev/null && { fusermount3 -u "$d" 2>/dev/null || umount -l "$d"; }
	done
	for d in "$w"/m_*; do
		mountpoint -q "$d" 2>/dev/null && umount -l "$d"
	done
	[ -n "$pids" ] && kill $pids 2>/dev/null
	userdel pgbench >/dev/null 2>&1
	userdel pgbstore >/dev/null 2>&1
	groupdel pgbench >/dev/null 2>&1
	rm -rf "$w"
}
trap cleanup EXIT

# --- data, users, configuration ------------------------------------------
groupadd -f pgbench
userdel pgbench >/dev/null 2>&1
userdel pgbstore >/dev/null 2>&1
useradd -M -N -g pgbench -d /nonexistent -s /usr/sbin/nologin pgbench
useradd -M -N -g pgbench -d /nonexistent -s /usr/sbin/nologin pgbstore
s=$w/store
mkdir -p "$s/big" "$w/etc" "$w/audit" "$w/m_pg" "$w/m_bind" "$w/m_log" "$w/lockout"
echo "preparing: ${BIG_MB} MiB file, $NFILES files of ${FILE_KB} KiB" >&2
head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$s/big/big.bin"
$PY - "$s/photos" "$NFILES" "$FILE_KB" <<'PY'
import os, sys
root, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blob = os.urandom(kb * 1024)
for i in range(n):
    d = os.path.join(root, "P%06d" % (i // 50), "s1")
    if i % 50 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "IMG_%06d.jpg" % i), "wb") as f:
        f.write(blob)
PY
chown -R pgbstore:pgbench "$s"
chmod 0700 "$s"
cat >"$w/etc/bench.policy" <<'POL'
role bench = group pgbench
allow bench list,read **
limit bench none
POL
cat >"$w/etc/pg.conf" <<CONF
[directory]
backend = local
care_team_file = $w/etc/care
[policy]
file = $w/etc/bench.policy
[audit]
log = $w/audit/audit.jsonl
key = $w/etc/audit.key
syslog = no
[lockout]
dir = $w/lockout
[totp]
ticket_dir = $w/mfa
[store]
root = $s
user = pgbstore
mountpoint = $w/m_pg
control_socket = $w/gw.sock
CONF
: >"$w/etc/care"
chmod 0600 "$w/etc/care"
"$BUILD/cli/photoguard" audit keygen "$w/etc/audit.key" >/dev/null

# --- mounts --------------------------------------------------------------
"$GW" --config "$w/etc/pg.conf" -f "$w/m_pg" >"$w/gw.log" 2>&1 &
gwpid=$!
pids="$pids $gwpid"
bindfs -o allow_other "$s" "$w/m_bind" 2>/dev/null || echo "bindfs: could not mount" >&2
# loggedfs mounts over the directory it logs: give it a bind mount.
mount --bind "$s" "$w/m_log" &&
    loggedfs -p -l "$w/loggedfs.log" "$w/m_log" >/dev/null 2>&1 ||
    echo "loggedfs: could not mount" >&2
for i in $(seq 1 100); do mountpoint -q "$w/m_pg" && break; sleep 0.05; done

# Each reader's view of the store: native and the peers read as root (the
# store is root-readable); photoguard as the bench user, who holds a role.
declare -A root_of=([native]=$s [photoguard]=$w/m_pg [bindfs]=$w/m_bind [loggedfs]=$w/m_log)
declare -A runner=([native]="" [photoguard]="setpriv --reuid=pgbench --regid=pgbench --clear-groups --" [bindfs]="" [loggedfs]="")
order="native photoguard bindfs loggedfs"

cat >"$w/work.py" <<'PY'
import os, sys, time, threading
mode, root = sys.argv[1], sys.argv[2]
def files():
    for d, ds, ns in os.walk(os.path.join(root, "photos")):
        ds.sort()
        for n in sorted(ns):
            yield os.path.join(d, n)
def readall(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        while os.read(fd, 1 << 20):
            pass
    finally:
        os.close(fd)
t = time.monotonic()
if mode == "big":
    readall(os.path.join(root, "big", "big.bin"))
elif mode == "seq":
    for p in files():
        readall(p)
elif mode == "par":
    ps = list(files())
    def worker(k):
        for p in ps[k::8]:
            readall(p)
    th = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    [x.start() for x in th]
    [x.join() for x in th]
elif mode == "stat":
    for d, ds, ns in os.walk(root):
        for n in ns:
            os.lstat(os.path.join(d, n))
elif mode == "openlat":
    lat = []
    for p in files():
        t0 = time.monotonic()
        fd = os.open(p, os.O_RDONLY)
        lat.append(time.monotonic() - t0)
        os.close(fd)
    lat.sort()
    if not lat:
        sys.exit("no file visible")
    print("%.3f" % (lat[int(len(lat) * 0.99)] * 1000))
    sys.exit(0)
elif mode == "serve":
    n, want, ps = 0, int(sys.argv[3]), list(files())
    while ps and n < want:
        for p in ps:
            readall(p)
            n += 1
            if n >= want:
                break
print("%.3f" % (time.monotonic() - t))
PY

mounted() { [ "$1" = native ] || grep -q " ${root_of[$1]} fuse" /proc/mounts; }
run() { # tool mode [arg]
	# shellcheck disable=SC2086
	${runner[$1]} $PY "$w/work.py" "$2" "${root_of[$1]}" ${3:-}
}
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }

printf '%-28s' workload
for t in $order; do printf '%14s' "$t"; done
printf '   (seconds; ratio to native)\n'
for wl in "big cold" "big warm" "seq cold" "seq warm" "par cold" "par warm" "stat warm"; do
	set -- $wl
	printf '%-28s' "$([ "$1" = big ] && echo "${BIG_MB} MiB file" || { [ "$1" = stat ] && echo "stat walk" || echo "$NFILES photos $1"; }) $2"
	base=
	for t in $order; do
		if ! mounted "$t"; then printf '%14s' "-"; continue; fi
		[ "$2" = cold ] && cold || run "$t" "$1" >/dev/null 2>&1
		sec=$(run "$t" "$1" 2>/dev/null)
		[ -z "$sec" ] && { printf '%14s' "error"; continue; }
		[ -z "$base" ] && base=$sec
		printf '%14s' "$(awk -v s="$sec" -v b="$base" 'BEGIN { printf "%.2f %.2fx", s, s / b }')"
	done
	printf '\n'
done
run photoguard openlat >/dev/null 2>&1
echo "photoguard p99 open latency (warm): $(run photoguard openlat) ms"
run photoguard serve "$SERVE" >/dev/null
echo "photoguard RSS after serving $SERVE files: $(awk '/VmRSS/ {print $2}' /proc/$gwpid/status) KiB (peak $(awk '/VmHWM/ {print $2}' /proc/$gwpid/status) KiB)"
