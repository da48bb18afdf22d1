#!/bin/bash
# test_budget.sh - one bulk budget for the clinic.  Three imaging servers
# (A, B and C: their own configuration, lockout store, audit log, MFA
# tickets and mount: twogw.sh) on one slapd with photoguard's schema and
# access rules, all with [lockout] budget = directory.  Readers of one
# user, started together and spread over the three gateways, must never
# be served more than the limit across the clinic (overshoot 0), for
# files, bytes and distinct patients alike; a threshold crossed by
# readers on all three locks the account on every server; `photoguard
# unlock` starts the count again; the directory unreachable refuses, and
# its return serves again.  Each count is printed.
#
# With --pair the directory is two providers replicating (every server
# lists both, provider 1 first): provider 1 is SIGKILLed while the bytes
# readers run, the rest goes on through provider 2, provider 1 comes back
# and the gateways return to it.
SLAPD_LDAPI=1
SLAPD_OTP=1
PAIR=0
if [ "${1:-}" = --pair ]; then
	PAIR=1
	export GW_SLAPD_PAIR=1
fi
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"
. "$PG_SOURCE_ROOT/gateway/tests/twogw.sh"
if [ ! -e "${SLAPD_MODULE_DIR:-/usr/lib/ldap}/otp.la" ]; then
	echo "1..0 # SKIP slapd's otp module (the schema photoguard's builds on) is not installed"
	exit 0
fi

gw_setup_or_bail
trap 'twogw_stop b; twogw_stop c; gw_cleanup' EXIT

# The policy: no MFA for the roles measured here (the budget is the
# point), a limit per metric, one role locked out on a threshold.
policy_budget() {
	sed -i -e 's/^\(allow nurse list,read .*\) and mfa$/\1/' \
	    -e 's/^\(allow archivist list,read .*\) if mfa$/\1/' \
	    -e 's/^\(allow surgeon list,read,write .*\) and mfa$/\1/' \
	    -e 's|^limit bulk .*|limit bulk files 100/10min|' \
	    -e 's|^lockout bulk .*|lockout bulk files 100000/10min|' \
	    -e 's|^limit nurse .*|limit nurse files 100000/10min bytes 300000/10min|' \
	    -e 's|^limit archivist .*|limit archivist files 100000/10min patients 3/10min|' \
	    -e 's|^limit surgeon .*|limit surgeon files 100000/10min|' \
	    -e 's|^lockout surgeon .*|lockout surgeon files 30/10min|' \
	    "$tmp/etc/test.policy"
	grep -q '^allow nurse list,read patients/{patient}/\*\* if care-team$' "$tmp/etc/test.policy" &&
	    grep -q '^allow archivist list,read patients/\*\*$' "$tmp/etc/test.policy" &&
	    grep -q '^allow surgeon list,read,write patients/{patient}/\*\* if care-team$' "$tmp/etc/test.policy" &&
	    grep -q '^lockout surgeon files 30/10min$' "$tmp/etc/test.policy"
}

# The access rules go on after syncprov.ldif's, as photoguard-acl.ldif
# tells an admin: inserted ahead of them.
if twogw_setup && policy_budget &&
    twogw_config "$PG_SOURCE_ROOT/deploy/ldap/photoguard-acl.ldif" >"$tmp/acl.out" 2>&1 &&
    sed -i "/^\[lockout\]/a budget = directory\nlease = 3s" "$tmp/etc/pg.conf" &&
    twogw_conf b && twogw_conf c; then
	ok "three servers' configurations with budget = directory, the schema and access rules"
else
	not_ok "three servers' configurations with budget = directory, the schema and access rules"
	done_testing
	exit 1
fi
gw_start_or_bail "server A's gateway mounts"
for x in b c; do
	if twogw_start $x; then
		ok "server ${x^^}'s gateway mounts"
	else
		not_ok "server ${x^^}'s gateway mounts"
		sed 's/^/# /' "$tmp/gateway-$x.log"
		done_testing
		exit 1
	fi
done
MOUNTS=(--mount "$tmp/mnt" --mount "$tmp/mnt-b" --mount "$tmp/mnt-c")

# files PATIENT...: the photos of those patients, relative to the store.
files() {
	local p f
	for p in "$@"; do
		for f in "$tmp"/store/patients/"$p"/*/IMG_*.jpg; do
			printf '%s\n' "${f#"$tmp/store/"}"
		done
	done
}
# readers UID N TRIES PATIENT...: N readers over the three gateways.
readers() {
	local uid=$1 n=$2 tries=$3
	shift 3
	# shellcheck disable=SC2046
	python3 "$PG_SOURCE_ROOT/gateway/tests/budget_readers.py" \
	    --uid "$uid" --gid "$GW_GID" "${MOUNTS[@]}" --readers "$n" \
	    --tries "$tries" --pace "${PACE:-0}" $(files "$@") 9>&-
}
jv() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(list,dict)) else v)' "$1" "$2"; }
# opens_allowed USER: gateway.open allows for USER in all three audit logs.
opens_allowed() {
	cat "$tmp/audit/audit.jsonl" "$tmp/audit-b/audit.jsonl" "$tmp/audit-c/audit.jsonl" |
	    python3 -c 'import json,sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    n += r.get("event") == "gateway.open" and r.get("decision") == "allow" and r.get("actor") == sys.argv[1]
print(n)' "$1"
}
leases() {
	slapd_search -o ldif-wrap=no -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base pgBulkLease |
	    sed -n 's/^pgBulkLease: //p'
}
le() { [ "$1" -le "$2" ]; }
# surg_read MOUNT [PATIENT]: gwsurg reads a photo: "PHOTO", or "refused".
surg_read() {
	local f=$1/patients/${2:-P000001}/2026-01-10-preop/IMG_0001.jpg
	as gwsurg head -c 5 "$f" 2>/dev/null || echo refused
}

# --- files: 32 readers, limit 100 -------------------------------------------
r=$(readers 2907 32 30 P000001 P000002 P000003 P000004 P000005 P000006)
diag "gwbulk, limit files 100/10min, 32 readers: served $(jv "$r" served) (by gateway $(jv "$r" served_by_mount)) of $(jv "$r" attempts) attempts; refused $(jv "$r" refused) (by gateway $(jv "$r" refused_by_mount))"
is "every reader ran" "$(jv "$r" readers_failed)" 0
check "files served across the clinic: at most 100 ($(jv "$r" served))" le "$(jv "$r" served)" 100
check "...and the budget was usable: at least 90 served" le 90 "$(jv "$r" served)"
# Each gateway alone would serve 100: one refused with fewer served by
# itself was stopped by the clinic's count.  (How the 100 fall among the
# gateways is a race: one may serve all of them, the others none.)
check "...a gateway was refused while it had served under 100 itself (served $(jv "$r" served_by_mount), refused $(jv "$r" refused_by_mount))" \
    python3 -c 'import json,sys; s, r = map(json.loads, sys.argv[1:]); sys.exit(not any(x < 100 and y > 0 for x, y in zip(s, r)))' \
    "$(jv "$r" served_by_mount)" "$(jv "$r" refused_by_mount)"
is "...the refusals are EACCES" "$(jv "$r" refused | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" "['EACCES']"
is "the three audit logs allow exactly the opens served" "$(opens_allowed gwbulk)" "$(jv "$r" served)"
like "a refusal names the clinic-wide limit" "$(cat "$tmp"/audit*/audit.jsonl | grep '"actor":"gwbulk"' | grep '"event":"gateway.limit"' | tail -1)" \
    '"reason":"over the limit \(clinic-wide\): 10[0-9] over 100"'
lease_units=$(leases gwbulk | awk '$1 == "limit:files:600:100" { s += $5 } END { print s + 0 }')
diag "gwbulk's leases in the directory: $(leases gwbulk | wc -l) values, $lease_units units"
check "the leases in the directory hold at most 100 units and at least what was served" \
    python3 -c 'import sys; u, s = map(int, sys.argv[1:]); sys.exit(not (s <= u <= 100))' "$lease_units" "$(jv "$r" served)"
is "anonymous may not read the leases" \
    "$(ldapsearch -LLL -x -H "$SLAPD_URI" -b "uid=gwbulk,ou=people,$SLAPD_BASE_DN" -s base pgBulkLease | grep -c '^pgBulkLease')" 0

# --- bytes: nurse, 300000 bytes ----------------------------------------------
if [ "$PAIR" = 1 ]; then
	check "the providers agree before provider 1 is killed" slapd_pair_wait_sync 10
	# Paced: the budget (14 files) must not be spent before provider 1
	# is killed, or nothing is left to go through provider 2.
	PACE=100 readers 2902 12 20 P000001 P000002 >"$tmp/bytes.json" &
	rpid=$!
	# Killed once the clinic has served some of the budget: mid-run.
	for i in $(seq 1 2000); do
		at_kill=$(cat "$tmp"/audit*/audit.jsonl | grep -F '"actor":"gwnurse","event":"gateway.open"' |
		    grep -cF '"decision":"allow"')
		[ "$at_kill" -ge 2 ] && break
		sleep 0.005
	done
	slapd_pair_kill 1
	slapd_pair_use 2
	wait "$rpid"
	r=$(cat "$tmp/bytes.json")
	diag "provider 1 SIGKILLed with $at_kill files served; the readers ran $(jv "$r" last_ms) ms"
	check "...and files went on being served through provider 2 ($at_kill, then $(jv "$r" served))" \
	    le "$((at_kill + 1))" "$(jv "$r" served)"
else
	r=$(readers 2902 12 20 P000001 P000002)
fi
diag "gwnurse, limit bytes 300000/10min, 12 readers: served $(jv "$r" served) files, $(jv "$r" bytes) bytes"
check "bytes served across the clinic: at most 300000 ($(jv "$r" bytes))" le "$(jv "$r" bytes)" 300000
if [ "$(jv "$r" bytes)" -gt 300000 ]; then
	# What an overshoot is made of: every lease the surviving
	# provider holds, and each server's allowed opens with their times.
	leases gwnurse | sed 's/^/# lease: /'
	for a in "$tmp"/audit*/audit.jsonl; do
		grep -F '"actor":"gwnurse","event":"gateway.open"' "$a" | grep -F '"decision":"allow"' |
		    python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    print("# open:", sys.argv[1], r.get("time"), r.get("host"), r.get("bytes"), r.get("object"))' "${a%/audit.jsonl}"
	done
	grep -ih 'budget\|lease\|replicat\|provider' "$tmp"/gateway*.log | tail -40 | sed 's/^/# log: /'
fi
# With provider 1 killed, a slice it granted but had not passed on is
# refused after DIR_CONFIRM_MS rather than spent (nobody would count
# it): fewer files may be served then.
[ "$PAIR" = 1 ] ||
    check "...more than one gateway's worth was not served twice: at least 10 files" le 10 "$(jv "$r" served)"

# --- patients: archivist, 3 patients -------------------------------------------
r=$(readers 2908 12 20 P000001 P000002 P000003 P000004 P000005 P000006)
diag "gwwide, limit patients 3/10min, 12 readers: served $(jv "$r" served) files of $(jv "$r" patients)"
check "distinct patients served across the clinic: at most 3 ($(jv "$r" patients))" \
    python3 -c 'import json,sys; p = json.loads(sys.argv[1]); sys.exit(not (1 <= len(p) <= 3))' "$(jv "$r" patients)"
check "...while their files kept being served: at least 18 ($(jv "$r" served))" le 18 "$(jv "$r" served)"

# --- lockout: surgeon, 30 files, 24 readers ------------------------------------------
r=$(readers 2901 24 10 P000001 P000002)
diag "gwsurg, lockout files 30/10min, 24 readers: served $(jv "$r" served), refused $(jv "$r" refused)"
check "opens served before the lockout: at most 30 ($(jv "$r" served))" le "$(jv "$r" served)" 30
like "the directory marks gwsurg locked" \
    "$(slapd_search -b "uid=gwsurg,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime | sed -n 's/^pwdAccountLockedTime: //p')" '^[0-9]{14}Z$'
nlock=$(cat "$tmp"/audit*/audit.jsonl | grep '"event":"lockout.lock"' | grep '"actor":"gwsurg"' | grep -vc 'origin=directory')
like "one server locked on the clinic's threshold ($nlock)" "$(cat "$tmp"/audit*/audit.jsonl | grep '"event":"lockout.lock"' | grep '"actor":"gwsurg"' | grep -v 'origin=directory' | head -1)" \
    'bulk access, account locked \(clinic-wide\): 3[0-9] over 30'
sleep 1
for x in "" -b -c; do
	is "gwsurg is refused on mount${x:- A} a second after" \
	    "$(surg_read "$tmp/mnt$x")" refused
done

# --- unlock: the count starts again everywhere ---------------------------------------
check "photoguard unlock gwsurg" "$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwsurg
is "...deleted gwsurg's leases" "$(leases gwsurg | wc -l)" 0
sleep 1
for x in "" -b -c; do
	is "...gwsurg is served on mount${x:- A} again" \
	    "$(surg_read "$tmp/mnt$x")" PHOTO
done

# --- provider 1 back: the gateways return to it ------------------------------------
if [ "$PAIR" = 1 ]; then
	check "provider 1 restarted" slapd_pair_restart 1
	check "...and caught up with provider 2" slapd_pair_wait_sync 20
	# A's leases expire, and its connection to provider 2 is older than
	# the failback time by then: the next grant reconnects from the top.
	sleep 11
	is "gwsurg is served on A through the providers" "$(surg_read "$tmp/mnt" P000002)" PHOTO
	conns=$(ss -Htnp state established "( dport = :${SLAPD_P1_URI##*:} )" 2>/dev/null |
	    grep -Ec "pid=($GW_PID|$(pgrep -d '|' -P "$GW_PID" || echo 0)),")
	check "...gateway A holds a connection to provider 1 again ($conns)" le 1 "$conns"
	[ "$conns" -ge 1 ] ||
	    ss -Htnp state established | grep -E "${SLAPD_P1_URI##*:}|${SLAPD_P2_URI##*:}" | sed 's/^/# /'
	diag "gateway A: pid $GW_PID, children $(pgrep -P "$GW_PID" | tr '\n' ' ')"

	# Replication from provider 1 to 2 broken (2 answers, but its
	# syncrepl points nowhere): a slice granted on 1 cannot be spent,
	# since 1 dying would take it along.
	slapd_pair_use 2
	repl=$(ldapsearch -LLL -Q -Y EXTERNAL -H "$SLAPD_LDAPI_URI" -o ldif-wrap=no \
	    -b 'olcDatabase={1}mdb,cn=config' -s base olcSyncrepl | sed -n 's/^olcSyncrepl: //p')
	printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSyncrepl\nolcSyncrepl: %s\n' \
	    "$(printf '%s' "$repl" | sed 's|provider=ldap://127.0.0.1:[0-9]*|provider=ldap://127.0.0.1:9|')" \
	    >"$tmp/repl-off.ldif"
	printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSyncrepl\nolcSyncrepl: %s\n' \
	    "$repl" >"$tmp/repl-on.ldif"
	check "provider 2 stops replicating from provider 1" slapd_config "$tmp/repl-off.ldif"
	slapd_pair_use 1
	sleep 3.5 # gwsurg's slices expire
	is "...gwsurg's open needing a new slice is refused" "$(surg_read "$tmp/mnt" P000002)" refused
	like "...the audit log says the slice has not reached provider 2" \
	    "$(grep '"actor":"gwsurg"' "$tmp/audit/audit.jsonl" | grep '"event":"gateway.limit"' | tail -1)" \
	    '"rule":"directory.budget","reason":"clinic budget not available: the write has not reached the other provider .*: refused"'
	slapd_pair_use 2
	check "provider 2 replicates again" slapd_config "$tmp/repl-on.ldif"
	slapd_pair_use 1
	check "...and catches up" slapd_pair_wait_sync 20
	served=refused
	for i in $(seq 1 40); do
		served=$(surg_read "$tmp/mnt" P000002)
		[ "$served" = PHOTO ] && break
		sleep 0.25
	done
	is "...gwsurg is served again" "$served" PHOTO
fi

# --- the directory unreachable: closed, then open again --------------------------------
sleep 3.5 # gwsurg's leases expire: the next open must ask the directory
if [ "$PAIR" = 1 ]; then
	stopped="$SLAPD_P1_PID $SLAPD_P2_PID"
else
	stopped=$SLAPD_PID
fi
# shellcheck disable=SC2086
kill -STOP $stopped
is "slapd stopped: gwsurg's open needing a lease is refused" "$(surg_read "$tmp/mnt" P000002)" refused
like "...the audit log says the clinic budget is not available" \
    "$(grep '"actor":"gwsurg"' "$tmp/audit/audit.jsonl" | grep '"event":"gateway.limit"' | tail -1)" \
    '"rule":"directory.budget","reason":"clinic budget not available: .*: refused"'
# shellcheck disable=SC2086
kill -CONT $stopped
served=refused
for i in $(seq 1 40); do
	served=$(surg_read "$tmp/mnt" P000002)
	[ "$served" = PHOTO ] && break
	sleep 0.25
done
is "...and serves again once the directory answers" "$served" PHOTO

done_testing
