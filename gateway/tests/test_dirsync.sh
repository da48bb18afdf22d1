#!/bin/bash
# test_dirsync.sh - a lockout reaches every gateway within a second, and
# so does an unlock.  Two gateways (servers A and B: twogw.sh) on one
# slapd with the sync provider of deploy/ldap/syncprov.ldif.  gwbulk holds
# a file open on B and has read it; crossing the lockout threshold on A
# (which writes pwdAccountLockedTime) must, within 1 s, make B refuse new
# opens AND reads of the file already open (its cached pages dropped, as
# for a local lockout), with a copy in B's lockout store and an audit
# record on B noting origin=directory.  `photoguard unlock gwbulk` on A
# must, within 1 s, make B serve gwbulk again and drop B's copy.  Then:
# slapd restarted (the watch reconnects, and a lock after that still
# arrives); B stopped while the directory changes (its refresh copies and
# lifts what it missed, but keeps a lockout of its own that the directory
# has not heard of); and B's PAM module honouring an unlock made while B's
# gateway was down.  Each measured time is printed.
SLAPD_LDAPI=1
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"
. "$PG_SOURCE_ROOT/gateway/tests/twogw.sh"
LIMIT_MS=1000

gw_setup_or_bail
trap 'twogw_stop_b; gw_cleanup' EXIT
if ! twogw_setup; then
	not_ok "two servers' configurations, the bind account and syncprov"
	done_testing
	exit 1
fi
ok "two servers' configurations, the bind account and syncprov"
gw_start_or_bail "server A's gateway mounts"
if twogw_start_b; then
	ok "server B's gateway mounts"
else
	not_ok "server B's gateway mounts"
	sed 's/^/# /' "$tmp/gateway-b.log"
	done_testing
	exit 1
fi
check "A's watch of the directory's lockouts is up" twogw_watch_up "$tmp/etc/pg.conf"
check "B's watch is up" twogw_watch_up "$tmp/etc/b.conf"
is "status --json says so" "$("$PG_CLI" --config "$tmp/etc/b.conf" status --json | python3 -c '
import json, sys; print(json.load(sys.stdin)["directory_watch"]["state"])')" up

# b_store USER: B's lockout store entry of USER ("" if none), as
# "by origin reason", read from the file itself: what B's PAM module and
# gateway find there, whatever the directory says.
b_store() {
	python3 - "$tmp/lockout-b/u-$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n').json" <<'PY'
import json, sys
try:
    e = json.load(open(sys.argv[1]))
except FileNotFoundError:
    sys.exit(0)
print(e.get("by"), e.get("origin", "local"), e.get("reason"))
PY
}
locked_attr() {
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime |
	    sed -n 's/^pwdAccountLockedTime: //p'
}
# audit_b EVENT ACTOR: B's last record of EVENT for ACTOR, as JSON.
audit_b() {
	grep "\"event\":\"$1\"" "$tmp/audit-b/audit.jsonl" | grep "\"actor\":\"$2\"" | tail -1
}
# within DESCRIPTION MS: a point passing when MS is a number <= LIMIT_MS.
within() {
	check "$1 within $LIMIT_MS ms (${2:-none} ms)" \
	    python3 -c 'import sys; sys.exit(not (sys.argv[1] and float(sys.argv[1]) <= float(sys.argv[2])))' \
	    "${2:-}" "$LIMIT_MS"
}

# --- a lockout on A reaches B ------------------------------------------------
twogw_probe
r=$(probe hold)
is "gwbulk opens a file on B and reads it" "$(jget "$r" ok)" true
r=$(probe lock 1500)
diag "lock: $r"
is "crossing the threshold on A: B refuses gwbulk (reads and opens)" "$(jget "$r" ok)" true
within "...a read of the file held open on B fails" "$(jget "$r" read_ms)"
within "...a new open on B is refused" "$(jget "$r" open_ms)"
like "...the read fails with EACCES, not from the page cache" "$(jget "$r" read_error)" '^err 13 '
like "A wrote the directory's lockout" "$(locked_attr gwbulk)" '^[0-9]{14}Z$'
is "B's lockout store holds a copy, origin directory" "$(b_store gwbulk)" \
    "directory directory locked in the directory (another server)"
is "...photoguard lockouts on B's configuration lists it with the attribute's value" \
    "$("$PG_CLI" --config "$tmp/etc/b.conf" lockouts --json | python3 -c 'import json,sys
print([(e["user"], e["by"], e["rule"], e["reason"], e["extra"]) for e in json.load(sys.stdin)])')" \
    "[('gwbulk', 'directory', 'pwdAccountLockedTime', 'locked in the directory (another server)', '$(locked_attr gwbulk)')]"
rec=$(audit_b lockout.lock gwbulk)
like "B's audit log records the lockout, origin=directory" "$rec" \
    '"decision":"deny","rule":"directory.lockout","reason":"origin=directory: locked in the directory \(pwdAccountLockedTime [0-9]{14}Z\)"'
is "A's audit log has its own lockout record, by its rule" \
    "$(audit_count lockout.lock deny gwbulk)" 1
like "B's status shows gwbulk locked" "$("$PG_CLI" --config "$tmp/etc/b.conf" status)" 'user gwbulk uid 2907: [0-9]+ open, LOCKED'

# --- photoguard unlock on A reaches B -------------------------------------------
r=$(probe unlock 1500 "$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk)
diag "unlock: $r"
is "photoguard unlock gwbulk on A: B serves gwbulk again, A too" "$(jget "$r" ok)" true
within "...B serves a new open, counted from the command's start" "$(jget "$r" from_start_ms)"
diag "the command itself took $(jget "$r" cmd_ms) ms; B served $(jget "$r" from_exit_ms) ms after it ended"
is "...B's copy is gone from its lockout store" "$(b_store gwbulk)" ""
is "...and photoguard lockouts on B's configuration lists nobody" \
    "$("$PG_CLI" --config "$tmp/etc/b.conf" lockouts | tail -n +2)" ""
like "...B's audit log records the lift, origin=directory" "$(audit_b lockout.unlock gwbulk)" \
    '"decision":"allow","rule":"directory.lockout","reason":"origin=directory: unlocked in the directory \(on another server\)"'
is "...and the directory no longer marks gwbulk" "$(locked_attr gwbulk)" ""

# --- a second round: nothing was left behind ------------------------------------
probe hold >/dev/null
r=$(probe lock 1500)
diag "lock again: $r"
within "a second lockout on A reaches B's held file" "$(jget "$r" read_ms)"
r=$(probe unlock 1500 "$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk)
within "...and its unlock B" "$(jget "$r" from_start_ms)"

# --- slapd goes away and comes back -----------------------------------------------
: >"$tmp/gateway-b.log.mark"
n0=$(grep -c "watching the directory's lockouts again" "$tmp/gateway-b.log")
slapd_restart 9>&- || echo "Bail out! slapd did not restart"
for i in $(seq 1 200); do
	[ "$(grep -c "watching the directory's lockouts again" "$tmp/gateway-b.log")" -gt "$n0" ] && break
	sleep 0.05
done
like "slapd restarted: B alerted that its watch was down" "$(cat "$tmp/gateway-b.log")" \
    'ALERT: not watching the directory.s lockouts \(sync search: Can.t contact LDAP server; tried 1 time\(s\), retrying\): a lockout set on another server reaches this gateway only when its directory cache expires \(cache_ttl 600 s\)'
check "...and says when it watches again (after ${i} polls of 50 ms)" \
    test "$(grep -c "watching the directory's lockouts again" "$tmp/gateway-b.log")" -gt "$n0"
check "...A's watch is up again too" twogw_watch_up "$tmp/etc/pg.conf"
probe hold >/dev/null
r=$(probe lock 1500)
diag "lock after the restart: $r"
is "a lockout on A after the restart reaches B" "$(jget "$r" ok)" true
within "...B's held file stops reading" "$(jget "$r" read_ms)"
r=$(probe unlock 1500 "$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk)
within "...and its unlock B" "$(jget "$r" from_start_ms)"
probe quit >/dev/null

# --- what B missed while it was down: its refresh -----------------------------------
# dirlock USER add|delete: as another server's photoguard would.
dirlock() {
	printf 'dn: uid=%s,ou=people,%s\nchangetype: modify\n%s: pwdAccountLockedTime\n%s\n' \
	    "$1" "$SLAPD_BASE_DN" "$2" "$([ "$2" = add ] && echo 'pwdAccountLockedTime: 20260101000000Z')" |
	    slapd_modify >/dev/null
}
twogw_stop_b
dirlock gwnurse add
twogw_start_b && twogw_watch_up "$tmp/etc/b.conf"
is "B restarted after gwnurse was locked elsewhere: its refresh copied the lockout" \
    "$(b_store gwnurse)" "directory directory locked in the directory (another server)"
like "...audited, origin=directory" "$(audit_b lockout.lock gwnurse)" '"reason":"origin=directory: locked in the directory \(pwdAccountLockedTime 20260101000000Z\)"'
like "...so B's gateway refuses gwnurse" "$(as gwnurse head -1 "$tmp/mnt-b/patients/P000001/2026-01-10-preop/IMG_0001.jpg" 2>&1)" 'Permission denied|No such file'
twogw_stop_b
dirlock gwnurse delete
twogw_start_b && twogw_watch_up "$tmp/etc/b.conf"
is "B restarted after gwnurse was unlocked elsewhere: its refresh lifted the copy" \
    "$(b_store gwnurse)" ""
like "...audited as seen at the reconnection" "$(audit_b lockout.unlock gwnurse)" \
    '"reason":"origin=directory: no longer locked in the directory \(seen when the watch reconnected\)"'

# A lockout decided on B whose directory write is still queued (slapd not
# answering) must survive B's next refresh, which cannot know of it.
# gwbulk's directory answer is cached first (ten minutes): the gateway
# serves, counts and locks without asking the silent directory.
as gwbulk head -c1 "$tmp/mnt-b/patients/P000001/2026-01-10-preop/IMG_0001.jpg" >/dev/null
slapd_pause
files=()
for f in "$tmp"/store/patients/P00000[1-3]/*/IMG_000[1-3].jpg; do
	files+=("$tmp/mnt-b/${f#"$tmp/store/"}")
done
as gwbulk cat "${files[@]}" >/dev/null 2>&1
for i in $(seq 1 100); do
	[ -n "$(find "$tmp/lockout-b" -name 'p-*')" ] && break
	sleep 0.1
done
check "slapd silent: B locks gwbulk out, its directory write queued" test -n "$(find "$tmp/lockout-b" -name 'p-*')"
twogw_stop_b
slapd_resume
twogw_start_b && twogw_watch_up "$tmp/etc/b.conf"
sleep 0.5
like "...B restarted: its own lockout stands" "$(b_store gwbulk)" '^gateway local bulk access'
for i in $(seq 1 100); do [ -n "$(locked_attr gwbulk)" ] && break; sleep 0.1; done
like "...and its queued write reached the directory" "$(locked_attr gwbulk)" '^[0-9]{14}Z$'
"$PG_CLI" --config "$tmp/etc/b.conf" unlock gwbulk >/dev/null 2>&1
is "...photoguard unlock on B lifts it" "$(locked_attr gwbulk)" ""

# --- B's PAM module honours an unlock no gateway of B has seen ------------------
if gw_pam_setup; then
	sed -i "s|config=$tmp/etc/pg.conf|config=$tmp/etc/b.conf|" "$T/svc/sshd"
	gw_pam gwbulk "" acct_mgmt
	is "PAM on B with B's configuration lets gwbulk in" $? 0
	# Locked on A, copied by B's watch; then B's gateway stops, and an
	# admin unlocks gwbulk on A.
	twogw_probe
	probe hold >/dev/null
	r=$(probe lock 1500)
	is "a lockout on A reaches B once more" "$(jget "$r" ok)" true
	probe quit >/dev/null
	gw_pam gwbulk "" acct_mgmt
	is "PAM on B refuses gwbulk while the directory marks it" $? 1
	gw_pam_has "...by B's copy of the lockout" "by directory: locked in the directory (another server)"
	twogw_stop_b
	"$PG_CLI" --config "$tmp/etc/pg.conf" unlock gwbulk >/dev/null
	is "unlocked on A with B's gateway down: B's copy is still there" \
	    "$(b_store gwbulk)" "directory directory locked in the directory (another server)"
	sed "s|^uri = .*|uri = ldap://127.0.0.1:$(slapd_free_port)|" "$tmp/etc/b.conf" >"$tmp/etc/b-down.conf"
	chmod 0644 "$tmp/etc/b-down.conf"
	sed "s|config=$tmp/etc/b.conf|config=$tmp/etc/b-down.conf|" "$T/svc/sshd" >"$T/svc/sshd.down"
	mv "$T/svc/sshd" "$T/svc/sshd.up" && mv "$T/svc/sshd.down" "$T/svc/sshd"
	gw_pam gwbulk "" acct_mgmt
	is "with the directory unreachable PAM keeps refusing (the copy stands)" $? 1
	is "...and the copy is kept" "$(b_store gwbulk | cut -d' ' -f2)" directory
	mv "$T/svc/sshd.up" "$T/svc/sshd"
	gw_pam gwbulk "" acct_mgmt
	is "with the directory answering, PAM on B lets gwbulk in" $? 0
	gw_pam_has "...saying it lifted the copy" 'the lockout copied from the directory is lifted: the directory no longer holds it'
	is "...which is gone from B's store" "$(b_store gwbulk)" ""
	like "...audited in B's log" "$(audit_b lockout.unlock gwbulk)" '"reason":"origin=directory: no longer locked in the directory"'
	pam_no_sanitizer_reports "$T/all.out"
else
	skip "PAM on B after an unlock elsewhere" "pamtester, oathtool or pam_wrapper missing (see above)"
fi

twogw_stop_b
gw_stop
out=$("$PG_CLI" --config "$tmp/etc/b.conf" audit verify 2>&1)
is "B's audit log verifies" $? 0
[ -n "$out" ] && diag "$out"
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway-b.log"; then
	not_ok "no sanitizer report from gateway B"
	grep -E -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway-b.log" | head -40 | sed 's/^/# /'
else
	ok "no sanitizer report from gateway B"
fi
[ "$tap_failed" = 0 ] || { echo "# gateway B's log:"; tail -40 "$tmp/gateway-b.log" | sed 's/^/#   /'; }
gw_done
