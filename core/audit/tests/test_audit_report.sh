#!/bin/bash
# test_audit_report.sh - `photoguard audit report` on a signed log of known
# accesses written the way the gateway writes them: exactly the patients
# opened, with the right files, bytes, first and last access, in the table,
# CSV and JSON; time ranges; --all-users; a tampered or unsigned log warns
# at the top and exits 1.
# usage: test_audit_report.sh PHOTOGUARD ACCESS_WRITER
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
dir=$(mktemp -d /tmp/pg-audit-report.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.log
key=$dir/audit.key
export PHOTOGUARD_CONFIG=$dir/none.conf
rep() { "$pg" audit report --log "$log" --key "$key.pub" "$@"; }
now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
# time of the Nth (1-based) log line matching all the given strings
tm() {
	local n=$1 l
	shift
	l=$(cat "$log")
	for s in "$@"; do l=$(printf '%s\n' "$l" | grep -F -- "$s"); done
	printf '%s\n' "$l" | sed -n "${n}p" | sed 's/.*"time":"\([^"]*\)".*/\1/'
}
js() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

"$pg" audit keygen "$key" >/dev/null || { not_ok "audit keygen"; done_testing; exit 1; }

# Phase A, then B between t1 and t2, then C.
check "phase A written" "$writer" "$log" "$key" <<'S'
open dlopez P0001 /store/P0001/pre.jpg
release dlopez P0001 /store/P0001/pre.jpg 1000
open dlopez P0002 /store/P0002/x.jpg
release dlopez P0002 /store/P0002/x.jpg 500
S
sleep 0.01; t1=$(now); sleep 0.01
check "phase B written" "$writer" "$log" "$key" <<'S'
open dlopez P0001 /store/P0001/post.jpg
release dlopez P0001 /store/P0001/post.jpg 2000
open dlopez P0003 /store/P0003/a.jpg 300
deny dlopez P0009 /store/P0009/a.jpg
event dlopez pam.auth
open asmith P0001 /store/P0001/pre.jpg
release asmith P0001 /store/P0001/pre.jpg 1000
release dlopez - /store/P0004/y.jpg 77
S
sleep 0.01; t2=$(now); sleep 0.01
check "phase C written" "$writer" "$log" "$key" <<'S'
open dlopez P0002 /store/P0002/y.jpg
release dlopez P0002 /store/P0002/y.jpg 10
open asmith P0005 /store/P0005/z.jpg
release asmith P0005 /store/P0005/z.jpg 42
open =cmd P,"x /store/odd
S
"$pg" audit verify --key "$key.pub" "$log" >/dev/null
is "the log verifies" "$?" 0

# --- dlopez, whole log: table
out=$(rep --user dlopez); rc=$?
is "report of a verified log exits 0" "$rc" 0
like "table says the log verified" "$out" "^Log: .*: verified \(chain and signatures\)"
if printf '%s' "$out" | grep -q WARNING; then not_ok "no warning on a verified log"; else ok "no warning on a verified log"; fi
rows=$(printf '%s\n' "$out" | grep -E '^dlopez ')
is "table lists exactly P0001 P0002 P0003 for dlopez" "$(printf '%s\n' "$rows" | awk '{print $2}' | tr '\n' ' ')" "P0001 P0002 P0003 "
lh=$(head -1 "$log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["host"])')
is "the SERVER column names the host whose log holds the accesses" "$(printf '%s\n' "$rows" | awk '{print $3}' | sort -u)" "$lh"
is "P0001: 2 files, 3000 bytes, first and last" "$(printf '%s\n' "$rows" | grep ' P0001 ' | awk '{print $4, $5, $6, $7}')" \
	"2 3000 $(tm 1 '"dlopez"' P0001 gateway.open) $(tm 2 '"dlopez"' P0001 gateway.release)"
is "P0002: 2 files, 510 bytes, first and last" "$(printf '%s\n' "$rows" | grep ' P0002 ' | awk '{print $4, $5, $6, $7}')" \
	"2 510 $(tm 1 '"dlopez"' P0002 gateway.open) $(tm 2 '"dlopez"' P0002 gateway.release)"
is "P0003: bytes from the open record itself" "$(printf '%s\n' "$rows" | grep ' P0003 ' | awk '{print $4, $5, $6, $7}')" \
	"1 300 $(tm 1 P0003) $(tm 1 P0003)"
if printf '%s' "$out" | grep -q P0009; then not_ok "denied patient P0009 not listed"; else ok "denied patient P0009 not listed"; fi
if printf '%s' "$out" | grep -q asmith; then not_ok "asmith's accesses not in dlopez's report"; else ok "asmith's accesses not in dlopez's report"; fi
like "table totals" "$out" "Total: 3 patients, 5 files, 3810 bytes"
like "a release naming no patient is noted, not counted" "$out" "note: 1 access records name no patient"

# --- the same in JSON
out=$(rep --user dlopez --json); rc=$?
is "--json exits 0" "$rc" 0
is "JSON: verified, no warning" "$(printf '%s' "$out" | js 'd["verified"], d["warning"]')" "(True, None)"
is "JSON rows: patient files bytes" "$(printf '%s' "$out" | js '[(r["patient"],r["files"],r["bytes"]) for r in d["rows"]]')" \
	"[('P0001', 2, 3000), ('P0002', 2, 510), ('P0003', 1, 300)]"
is "JSON first/last of P0002" "$(printf '%s' "$out" | js 'd["rows"][1]["first_access"] + " " + d["rows"][1]["last_access"]')" \
	"$(tm 1 '"dlopez"' P0002 gateway.open) $(tm 2 '"dlopez"' P0002 gateway.release)"
is "JSON totals" "$(printf '%s' "$out" | js 'd["totals"]')" "{'patients': 3, 'files': 5, 'bytes': 3810}"
is "JSON unattributed records" "$(printf '%s' "$out" | js 'd["unattributed_records"]')" 1

# --- CSV
out=$(rep --user dlopez --csv); rc=$?
is "--csv exits 0" "$rc" 0
is "CSV header first, no comment on a verified log" "$(printf '%s\n' "$out" | head -1)" "user,patient,host,files,bytes,first_access,last_access"
is "CSV rows" "$(printf '%s\n' "$out" | sed 1d | cut -d, -f1-5 | tr '\n' ' ')" \
	"\"dlopez\",\"P0001\",\"$lh\",2,3000 \"dlopez\",\"P0002\",\"$lh\",2,510 \"dlopez\",\"P0003\",\"$lh\",1,300 "
is "CSV first/last of P0001" "$(printf '%s\n' "$out" | grep P0001 | cut -d, -f6-)" \
	"$(tm 1 '"dlopez"' P0001 gateway.open),$(tm 2 '"dlopez"' P0001 gateway.release)"

# --- time range
out=$(rep --user dlopez --since "$t1" --until "$t2" --json)
is "--since/--until: only phase B" "$(printf '%s' "$out" | js '[(r["patient"],r["files"],r["bytes"]) for r in d["rows"]]')" \
	"[('P0001', 1, 2000), ('P0003', 1, 300)]"
is "--since/--until: first access inside the range" "$(printf '%s' "$out" | js 'd["rows"][0]["first_access"]')" \
	"$(tm 1 '"dlopez"' P0001 post.jpg)"
out=$(rep --user dlopez --since "$t2" --json)
is "--since alone: phase C only" "$(printf '%s' "$out" | js '[(r["patient"],r["files"],r["bytes"]) for r in d["rows"]]')" \
	"[('P0002', 1, 10)]"
out=$(rep --user dlopez --until "$t1" --csv)
is "--until alone: phase A only" "$(printf '%s\n' "$out" | sed 1d | cut -d, -f1-2,4-5 | tr '\n' ' ')" \
	'"dlopez","P0001",1,1000 "dlopez","P0002",1,500 '
out=$(rep --user dlopez --since 2000-01-01 --until 2000-12-31)
like "a range outside the log is an empty report" "$out" "Total: 0 patients, 0 files, 0 bytes"
rep --user dlopez --since tomorrowish >/dev/null 2>&1
is "a bad time exits 2" "$?" 2

# --- the whole clinic
out=$(rep --all-users --json)
is "--all-users: one row per user x patient" "$(printf '%s' "$out" | js '[(r["user"],r["patient"],r["files"],r["bytes"]) for r in d["rows"]]')" \
	"[('=cmd', 'P,\"x', 1, 0), ('asmith', 'P0001', 1, 1000), ('asmith', 'P0005', 1, 42), ('dlopez', 'P0001', 2, 3000), ('dlopez', 'P0002', 2, 510), ('dlopez', 'P0003', 1, 300)]"
is "--all-users totals count distinct patients" "$(printf '%s' "$out" | js 'd["totals"]')" "{'patients': 5, 'files': 8, 'bytes': 4852}"
out=$(rep --all-users --csv)
is "CSV quotes a hostile patient id and defuses a formula" "$(printf '%s\n' "$out" | sed -n 2p | cut -d, -f1-3)" "\"'=cmd\",\"P,\"\"x\""
out=$(rep --all-users)
like "table --all-users header" "$out" "^Audit report: all users, from the start of the log to its end"

# --- bad command lines
rep >/dev/null 2>&1; is "neither --user nor --all-users exits 2" "$?" 2
rep --user a --all-users >/dev/null 2>&1; is "--user with --all-users exits 2" "$?" 2
rep --user a --csv --json >/dev/null 2>&1; is "--csv with --json exits 2" "$?" 2
"$pg" audit report --log "$dir/absent" --key "$key.pub" --user a >/dev/null 2>&1
is "a missing log exits 3" "$?" 3

# --- a log that does not verify
cp "$log" "$dir/orig"
sed -i '3s/"P0002"/"P0099"/' "$log"
out=$(rep --user dlopez); rc=$?
is "tampered log: exit 1" "$rc" 1
like "tampered log: the first line is the warning" "$(printf '%s\n' "$out" | head -1)" "^WARNING: THE AUDIT LOG DOES NOT VERIFY \(seq 3: edited"
like "tampered log: still prints what it can" "$out" "P0099"
like "tampered log: says NOT VERIFIED" "$out" "^Log: .*: NOT VERIFIED"
out=$(rep --user dlopez --csv); rc=$?
is "tampered log, CSV: exit 1" "$rc" 1
like "tampered log, CSV: a comment line first" "$(printf '%s\n' "$out" | head -1)" "^# WARNING: THE AUDIT LOG DOES NOT VERIFY"
is "tampered log, CSV: then the header" "$(printf '%s\n' "$out" | sed -n 2p)" "user,patient,host,files,bytes,first_access,last_access"
out=$(rep --user dlopez --json); rc=$?
is "tampered log, JSON: exit 1" "$rc" 1
is "tampered log, JSON: verified false, kind edited, bad seq 3" "$(printf '%s' "$out" | js 'd["verified"], d["verification"]["kind"], d["verification"]["bad_seq"]')" "(False, 'edited', 3)"
like "tampered log, JSON: the warning" "$(printf '%s' "$out" | js 'd["warning"]')" "DOES NOT VERIFY"
cp "$dir/orig" "$log"
head -n 6 "$dir/orig" > "$log"
out=$(rep --user dlopez); rc=$?
is "cut log: exit 1" "$rc" 1
like "cut log: warns about the cut" "$(printf '%s\n' "$out" | head -1)" "DOES NOT VERIFY.*truncated"
cp "$dir/orig" "$log"
out=$("$pg" audit report --log "$log" --user dlopez 2>&1); rc=$?
is "no public key: exit 1" "$rc" 1
like "no public key: warns that signatures were not checked" "$(printf '%s\n' "$out" | head -1)" "^WARNING: no public key"
out=$("$pg" audit report --log "$log" --key "$dir/nokey.pub" --user dlopez 2>&1); rc=$?
is "unreadable public key: exit 1" "$rc" 1
like "unreadable public key: says so" "$(printf '%s\n' "$out" | head -1)" "^WARNING: the public key .*nokey.pub cannot be read"

done_testing
