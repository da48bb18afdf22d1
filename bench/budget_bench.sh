#!/bin/bash
# budget_bench.sh - the cost per open of the clinic-wide bulk budget
# ([lockout] budget = directory) beside budget = local and native reads,
# in one run on one store and one slapd (photoguard's schema and access
# rules, syncprov), as gateway/tests/test_budget.sh sets them up.  Rows:
#   native       the store read directly (root);
#   local        one gateway, and three (A, B, C; each reader turns to
#                the next gateway at every open), budget = local;
#   directory    the same with budget = directory;
# each with 1 reader and with 8 in parallel, BENCH_OPENS opens in all
# (open, read of one 20 kB photo, close), with limits that never refuse
# (limit bulk files 1000000/10min: slices of 125000; lockout ten times
# the limit).  Then the directory rows again with limit files 100000
# (slices of 12500) and 800 (slices of 100; BENCH_SMALL_OPENS opens, at
# most half the limit).  Each row starts its gateways afresh and, for the
# directory, with the user's leases deleted (`photoguard unlock`), so the
# first open of each gateway leases.  Prints opens/s, microseconds per
# open (each reader's time over its opens), the directory's grants during
# the row (successful modifies of the user's entry in slapd's access log,
# and lost races apart) and the ratio per open to budget = local with as
# many gateways and readers.
#
#   sudo bench/budget_bench.sh [BUILD_DIR]
# Knobs: BENCH_OPENS=4000 BENCH_SMALL_OPENS=400 BENCH_LEASE=30s
# BENCH_REPEAT=3 (rounds of all rows; each figure is the median).  Root: it
# creates the gateway tests' users, mounts up to three gateways and runs
# slapd on loopback (the gateway tests' lock keeps it from running beside
# them).  A part that does not start, or an open that is not served, ends
# the bench with exit 1 and the reason; it never prints a figure it did
# not measure.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
export PG_SOURCE_ROOT=${PG_SOURCE_ROOT:-$(dirname "$here")}
BUILD=${1:-${PG_BUILD_ROOT:-$PG_SOURCE_ROOT/build}}
PG_BUILD_ROOT=$(cd "$BUILD" && pwd) || exit 2
export PG_BUILD_ROOT
OPENS=${BENCH_OPENS:-4000}
SMALL_OPENS=${BENCH_SMALL_OPENS:-400}
LEASE=${BENCH_LEASE:-30s}
REPEAT=${BENCH_REPEAT:-3}

die() {
	echo "budget_bench: FAILED: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || { echo "budget_bench: run as root" >&2; exit 2; }
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] ||
    { echo "budget_bench: BENCH_REPEAT must be a positive integer" >&2; exit 2; }
for n in "$OPENS" "$SMALL_OPENS"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -ge 8 ] ||
	    { echo "budget_bench: BENCH_OPENS and BENCH_SMALL_OPENS must be integers >= 8" >&2; exit 2; }
done
# The small slices' limit is 800 a window: more would be refused.
[ "$SMALL_OPENS" -le 400 ] ||
    { echo "budget_bench: BENCH_SMALL_OPENS must be at most 400" >&2; exit 2; }
[[ "$LEASE" =~ ^[1-9][0-9]*s$ ]] ||
    { echo "budget_bench: BENCH_LEASE must be seconds, e.g. 30s" >&2; exit 2; }
for f in gateway/photoguard-gateway cli/photoguard; do
	[ -x "$PG_BUILD_ROOT/$f" ] ||
	    { echo "budget_bench: build first ($PG_BUILD_ROOT/$f)" >&2; exit 2; }
done

SLAPD_LDAPI=1
SLAPD_OTP=1
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"
. "$PG_SOURCE_ROOT/gateway/tests/twogw.sh"
[ -c /dev/fuse ] && command -v setpriv >/dev/null ||
    die "needs /dev/fuse and setpriv"
[ -e "${SLAPD_MODULE_DIR:-/usr/lib/ldap}/otp.la" ] ||
    die "slapd's otp module (the schema photoguard's builds on) is not installed"
gw_setup || die "the fixture (users, slapd, store) did not set up"
trap 'gw_stop; twogw_stop b; twogw_stop c; gw_cleanup' EXIT
twogw_setup || die "the other servers, the bind account or syncprov did not set up"
# The access rules after syncprov's, as photoguard-acl.ldif tells an admin.
slapd_config "$PG_SOURCE_ROOT/deploy/ldap/photoguard-acl.ldif" >"$tmp/acl.out" 2>&1 ||
    { cat "$tmp/acl.out" >&2; die "photoguard-acl.ldif did not apply"; }
# The grants are counted in slapd's access log (slapo-accesslog): every
# modify of the data, with its DN and result, failed ones too, in a
# database of its own that root reads over ldapi (not synced to disk: it
# adds no fsync to a grant).
mkdir -p "$SLAPD_DIR/accesslog" || die "no directory for slapd's access log"
cat >"$tmp/accesslog.ldif" <<LDIF || die "no ldif for slapd's access log"
dn: cn=module{0},cn=config
changetype: modify
add: olcModuleLoad
olcModuleLoad: accesslog

dn: olcDatabase={2}mdb,cn=config
changetype: add
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {2}mdb
olcSuffix: cn=accesslog
olcDbDirectory: $SLAPD_DIR/accesslog
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth read by * none
olcSizeLimit: unlimited

dn: olcOverlay=accesslog,olcDatabase={1}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcAccessLogConfig
olcOverlay: accesslog
olcAccessLogDB: cn=accesslog
olcAccessLogOps: writes
olcAccessLogSuccess: FALSE
LDIF
slapd_config "$tmp/accesslog.ldif" >"$tmp/accesslog.out" 2>&1 ||
    { cat "$tmp/accesslog.out" >&2; die "slapd's access log did not turn on"; }
USER_DN="uid=gwbulk,ou=people,$SLAPD_BASE_DN"

FILES=()
for f in "$tmp"/store/patients/P00000[1-6]/*/IMG_*.jpg; do
	FILES+=("${f#"$tmp/store/"}")
done
[ "${#FILES[@]}" -ge 36 ] || die "the store holds ${#FILES[@]} photos, not 36"
cat "$tmp"/store/patients/*/*/IMG_*.jpg >/dev/null # in the page cache

# bench_policy LIMIT: gwbulk may read its patients without MFA, LIMIT
# files a window; locked out at ten times that.
bench_policy() {
	sed -i -e 's|^allow bulk list,read patients/{patient}/\*\* if care-team and mfa$|allow bulk list,read patients/{patient}/** if care-team|' \
	    -e "s|^limit bulk .*|limit bulk files $1/10min|" \
	    -e "s|^lockout bulk .*|lockout bulk files $(($1 * 10))/10min|" "$tmp/etc/test.policy"
	grep -q "^limit bulk files $1/10min\$" "$tmp/etc/test.policy" &&
	    grep -q "^lockout bulk files $(($1 * 10))/10min\$" "$tmp/etc/test.policy" &&
	    grep -q '^allow bulk list,read patients/{patient}/\*\* if care-team$' "$tmp/etc/test.policy"
}

# bench_conf local|directory: the three servers' configurations (made
# once: the gateway fixes its audit directory's mode, twogw_conf resets it).
twogw_conf c || die "server C's configuration was not made"
bench_conf() {
	local f
	for f in pg b c; do
		sed -i -e '/^budget = /d' -e '/^lease = /d' "$tmp/etc/$f.conf" &&
		    sed -i "/^\[lockout\]/a budget = $1\nlease = $LEASE" "$tmp/etc/$f.conf" &&
		    grep -q "^budget = $1\$" "$tmp/etc/$f.conf" || return 1
	done
}

# mods: the modifies of gwbulk's entry in slapd's access log so far, as
# "GRANTS LOST": answered success, and answered otherwise (a race lost).
mods() {
	ldapsearch -LLL -o ldif-wrap=no -Q -Y EXTERNAL -H "$SLAPD_LDAPI_URI" -b cn=accesslog \
	    "(&(objectClass=auditModify)(reqDN=$USER_DN))" reqResult 2>"$tmp/mods.err" |
	    awk '$1 == "dn:" { n++ } $1 == "reqResult:" { if ($2 == 0) g++; else l++ }
	         END { if (n != g + l) exit 1; print g + 0, l + 0 }'
}

stop_gws() {
	gw_stop
	twogw_stop b
	twogw_stop c
}

: >"$tmp/rows.jsonl"
# row_once NAME BUDGET GATEWAYS READERS LIMIT OPENS: one measured run.
row_once() {
	local name=$1 budget=$2 ngw=$3 readers=$4 limit=$5 opens=$6 x r off g uid=2907
	local mounts=()
	if [ "$budget" = native ]; then
		uid=0
		mounts=(--mount "$tmp/store")
	else
		bench_policy "$limit" || die "$name: the policy did not take limit $limit"
		bench_conf "$budget" || die "$name: the configurations did not take budget = $budget"
		if [ "$budget" = directory ]; then
			# It deletes the leases, and says the user was not locked.
			"$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk >"$tmp/unlock.out" 2>&1 ||
			    grep -qx 'photoguard: gwbulk is not locked out' "$tmp/unlock.out" ||
			    { cat "$tmp/unlock.out" >&2; die "$name: photoguard unlock failed"; }
			[ "$(slapd_search -o ldif-wrap=no -b "$USER_DN" -s base pgBulkLease | grep -c '^pgBulkLease:')" = 0 ] ||
			    die "$name: gwbulk's leases are still in the directory"
		fi
		gw_start || { sed 's/^/  /' "$tmp/gateway.log" >&2; die "$name: gateway A did not mount"; }
		mounts=(--mount "$tmp/mnt")
		if [ "$ngw" = 3 ]; then
			for x in b c; do
				twogw_start $x ||
				    { sed 's/^/  /' "$tmp/gateway-$x.log" >&2; die "$name: gateway ${x^^} did not mount"; }
				mounts+=(--mount "$tmp/mnt-$x")
			done
		fi
	fi
	off=$(mods) || die "$name: slapd's access log does not answer"
	r=$(python3 "$here/budget_open.py" --uid "$uid" --gid "$GW_GID" "${mounts[@]}" \
	    --readers "$readers" --opens "$opens" "${FILES[@]}" 9>&-)
	g=$(mods) || die "$name: slapd's access log does not answer"
	g="$((${g% *} - ${off% *})) $((${g#* } - ${off#* }))"
	[ "$budget" = native ] || stop_gws
	[ "$(jget "$r" ok)" = true ] || die "$name, $readers readers: not every open was served: $r"
	if [ "$budget" = directory ]; then
		[ "${g% *}" -gt 0 ] ||
		    die "$name: slapd's access log shows no grant for a gateway that leased afresh"
	else
		[ "$g" = "0 0" ] || die "$name: the directory was written to by budget = $budget: $g"
	fi
	printf '{"name": "%s", "budget": "%s", "gateways": %s, "readers": %s, "grants": %s, "lost": %s, "run": %s}\n' \
	    "$name" "$budget" "$ngw" "$readers" "${g% *}" "${g#* }" "$r" >>"$tmp/rows.jsonl"
}

# rows: every row once (gateways started afresh for each).
rows() {
	local n
	for n in 1 8; do
		row_once "native (the store, root)" native 0 $n 0 "$OPENS"
		row_once "local, 1 gateway" local 1 $n 1000000 "$OPENS"
		row_once "directory, 1 gateway" directory 1 $n 1000000 "$OPENS"
		row_once "local, 3 gateways" local 3 $n 1000000 "$OPENS"
		row_once "directory, 3 gateways" directory 3 $n 1000000 "$OPENS"
	done
	for n in 1 8; do
		row_once "directory, 1 gw, slices of 12500" directory 1 $n 100000 "$OPENS"
		row_once "directory, 3 gw, slices of 12500" directory 3 $n 100000 "$OPENS"
	done
	for n in 1 8; do
		row_once "local, 1 gateway" local 1 $n 800 "$SMALL_OPENS"
		row_once "directory, 1 gw, slices of 100" directory 1 $n 800 "$SMALL_OPENS"
		row_once "local, 3 gateways" local 3 $n 800 "$SMALL_OPENS"
		row_once "directory, 3 gw, slices of 100" directory 3 $n 800 "$SMALL_OPENS"
	done
}
# BENCH_REPEAT rounds of all rows, so a change of the machine's load
# during the run falls on every row alike.
for i in $(seq 1 "$REPEAT"); do
	rows
done

python3 - "$tmp/rows.jsonl" "$(nproc)" "$(uname -r)" "$LEASE" "$REPEAT" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def us(run):
    per = [s / n for s, n in zip(run["reader_s"], run["reader_opens"])]
    return 1e6 * sum(per) / len(per)
rows = {}
for r in runs:
    k = (r["name"], r["budget"], r["gateways"], r["readers"], r["run"]["opens"])
    rows.setdefault(k, []).append(r)
med = {k: statistics.median(us(r["run"]) for r in v) for k, v in rows.items()}
def span(v):
    return str(min(v)) if min(v) == max(v) else "%d-%d" % (min(v), max(v))
print("cost per open of the clinic-wide budget, lease %s, median of %s runs a row"
      % (sys.argv[4], sys.argv[5]))
print("(%s CPUs, Linux %s); an open: open + read of a 20 kB photo + close" % (sys.argv[2], sys.argv[3]))
print("grants: successful modifies of the user's entry in slapd's access log in")
print("a run (lost: refused, a race lost; min-max over the runs); vs local: us/open")
print("over budget = local's with as many gateways, readers and opens")
print("%-34s %3s %6s %9s %8s %7s %5s %9s" % ("", "rd", "opens", "opens/s", "us/open",
                                              "grants", "lost", "vs local"))
for k, v in rows.items():
    name, budget, gws, rd, opens = k
    ops = statistics.median(r["run"]["opens"] / r["run"]["wall_s"] for r in v)
    ratio = ""
    if budget == "directory":
        ratio = "%.2fx" % (med[k] / med[(("local, 1 gateway" if gws == 1 else "local, 3 gateways"),
                                          "local", gws, rd, opens)])
    g = l = ""
    if budget != "native":
        g, l = span([r["grants"] for r in v]), span([r["lost"] for r in v])
    print("%-34s %3d %6d %9.0f %8.1f %7s %5s %9s" % (name, rd, opens, ops, med[k], g, l, ratio))
PY
