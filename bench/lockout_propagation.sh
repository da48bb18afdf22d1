#!/bin/bash
# lockout_propagation.sh - how long a lockout decided on one imaging server
# takes to stop a user on another, and an unlock to let them back: two
# gateways (servers A and B) on one slapd with the sync provider, as
# gateway/tests/test_dirsync.sh sets them up.  Each round: the user holds
# a file open on B and has read it; opens on A until one is refused (that
# open crossed A's lockout threshold); then B is probed until a read of the
# held file fails and a new open is refused; then `photoguard unlock` runs
# on A and B is probed until it serves an open again.  Prints p50, p99 and
# max over the rounds (p99 by nearest rank: with 20 rounds, the slowest).
#
#   sudo bench/lockout_propagation.sh [BUILD_DIR]
# Knobs: BENCH_ROUNDS=20.  Root: it creates the gateway tests' users,
# mounts two gateways and runs slapd on loopback (the gateway tests' lock
# keeps it from running beside them).  A part that does not start ends
# the bench with exit 1 and the reason; it never prints a figure it did
# not measure.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
export PG_SOURCE_ROOT=${PG_SOURCE_ROOT:-$(dirname "$here")}
BUILD=${1:-${PG_BUILD_ROOT:-$PG_SOURCE_ROOT/build}}
PG_BUILD_ROOT=$(cd "$BUILD" && pwd) || exit 2
export PG_BUILD_ROOT
ROUNDS=${BENCH_ROUNDS:-20}

die() {
	echo "lockout_propagation: FAILED: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || { echo "lockout_propagation: run as root" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] ||
    { echo "lockout_propagation: BENCH_ROUNDS must be a positive integer" >&2; exit 2; }
for f in gateway/photoguard-gateway cli/photoguard; do
	[ -x "$PG_BUILD_ROOT/$f" ] ||
	    { echo "lockout_propagation: build first ($PG_BUILD_ROOT/$f)" >&2; exit 2; }
done

SLAPD_LDAPI=1
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"
. "$PG_SOURCE_ROOT/gateway/tests/twogw.sh"
[ -c /dev/fuse ] && command -v setpriv >/dev/null ||
    die "needs /dev/fuse and setpriv"
gw_setup || die "the fixture (users, slapd with syncprov, store) did not set up"
trap 'twogw_stop_b; gw_cleanup' EXIT
twogw_setup || die "the second server, the bind account or syncprov did not set up"
gw_start || { sed 's/^/  /' "$tmp/gateway.log" >&2; die "gateway A did not mount"; }
twogw_start_b || { sed 's/^/  /' "$tmp/gateway-b.log" >&2; die "gateway B did not mount"; }
twogw_watch_up "$tmp/etc/pg.conf" || die "gateway A does not watch the directory's lockouts"
twogw_watch_up "$tmp/etc/b.conf" || die "gateway B does not watch the directory's lockouts"

twogw_probe
: >"$tmp/rounds.jsonl"
for i in $(seq 1 "$ROUNDS"); do
	r=$(probe hold)
	[ "$(jget "$r" ok)" = true ] || die "round $i: the file on B did not open: $r"
	l=$(probe lock 5000)
	[ "$(jget "$l" ok)" = true ] || die "round $i: the lockout did not reach B: $l"
	u=$(probe unlock 5000 "$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk)
	[ "$(jget "$u" ok)" = true ] || die "round $i: the unlock did not reach B: $u"
	printf '{"lock": %s, "unlock": %s}\n' "$l" "$u" >>"$tmp/rounds.jsonl"
done
probe quit >/dev/null

python3 - "$tmp/rounds.jsonl" "$(nproc)" "$(uname -r)" <<'PY'
import json, math, sys
rounds = [json.loads(l) for l in open(sys.argv[1])]
def pct(v, p):
    v = sorted(v)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]
rows = [
    ("lock on A -> read of a file held open on B refused", [r["lock"]["read_ms"] for r in rounds]),
    ("lock on A -> new open on B refused", [r["lock"]["open_ms"] for r in rounds]),
    ("`photoguard unlock` on A starts -> B serves", [r["unlock"]["from_start_ms"] for r in rounds]),
    ("`photoguard unlock` on A ends -> B serves", [r["unlock"]["from_exit_ms"] for r in rounds]),
    ("  (the unlock command itself)", [r["unlock"]["cmd_ms"] for r in rounds]),
]
print("lockout propagation between two gateways, %d rounds (%s CPUs, Linux %s)"
      % (len(rounds), sys.argv[2], sys.argv[3]))
print("%-52s %8s %8s %8s" % ("ms", "p50", "p99", "max"))
for name, v in rows:
    print("%-52s %8.1f %8.1f %8.1f" % (name, pct(v, 50), pct(v, 99), max(v)))
PY
