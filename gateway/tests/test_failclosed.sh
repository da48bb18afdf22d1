#!/bin/bash
# test_failclosed.sh - the gateway fails closed: it refuses to start
# without a policy that loads, with a store others may enter, without the
# store's service user, or on an audit log whose head is missing (until
# `audit repair`); a directory that stops answering and an audit log that
# cannot be written refuse new opens (and serve again once they recover),
# as does an audit head that vanishes while it runs; a killed gateway
# leaves the mount answering ENOTCONN.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
f=patients/P000001/2026-01-10-preop/IMG_0001.jpg
gw_mfa_issue gwsurg

# start_fails DESCRIPTION REGEX: the gateway must exit non-zero, unmounted,
# saying REGEX.
start_fails() {
	local out rc
	out=$(timeout 20 "$GW_BIN" --config "$tmp/etc/pg.conf" -f "$m" 2>&1); rc=$?
	check "$1: refuses to start" test "$rc" -ne 0 -a "$rc" -ne 124
	like "$1: says why" "$out" "$2"
	check "$1: nothing mounted" bash -c "! mountpoint -q '$m'"
}

mv "$tmp/etc/test.policy" "$tmp/etc/test.policy.away"
start_fails "policy missing" "test.policy.*(not found|No such file).*|does not load"
printf 'layout "patients/{patient}/{series}/{file}"\nallow nobody read **\n' >"$tmp/etc/test.policy"
start_fails "broken policy" "test.policy:2:[0-9]+: error: "
chmod 0666 "$tmp/etc/test.policy"
start_fails "policy writable by others" "not writable by group or others|does not load"
mv "$tmp/etc/test.policy.away" "$tmp/etc/test.policy"
chmod 0750 "$s"
start_fails "store open to its group" "must belong to gwstore and have mode 0700"
chmod 0700 "$s"
sed -i 's/^user = gwstore/user = gwnosuchuser/' "$tmp/etc/pg.conf"
start_fails "no store service user" "user gwnosuchuser does not exist"
sed -i 's/^user = gwnosuchuser/user = gwstore/' "$tmp/etc/pg.conf"
"$GW_BIN" --config "$tmp/etc/pg.conf" -f "$m" extra >/dev/null 2>&1
is "an extra argument is a usage error (exit 2)" "$?" 2

gw_start_or_bail "with all in order the gateway mounts"
is "surgeon reads" "$(as gwsurg head -1 "$m/$f")" "PHOTO $f"

# The directory stops answering (cache_ttl is 2s in the test config).
slapd_pause
sleep 2.2
t0=$(date +%s%N)
out=$(as gwsurg cat "$m/$f" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "directory down: the open is refused" test "$rc" -ne 0
check "...within the directory timeouts (${ms} ms)" test "$ms" -lt 8000
like "...and the log says the directory is unavailable" "$(cat "$tmp/gateway.log")" "refusing gwsurg \(uid 2901\): directory: .*unavailable"
slapd_resume
sleep 0.5
is "directory back: the surgeon reads again" "$(as gwsurg head -1 "$m/$f" 2>&1)" "PHOTO $f"

# The audit log cannot be written.
if chattr +i "$tmp/audit/audit.jsonl" 2>/dev/null; then
	out=$(as gwsurg cat "$m/patients/P000001/2026-01-10-preop/IMG_0002.jpg" 2>&1); rc=$?
	check "audit log unwritable: the open is refused" test "$rc" -ne 0
	like "...with a clear log line" "$(cat "$tmp/gateway.log")" "audit log unwritable"
	chattr -i "$tmp/audit/audit.jsonl"
	like "...and the hook hears of it" "$(hook_of "")" "PHOTOGUARD_EVENT=audit.failure"
	# The next outage must run the hook again, not find this run's file.
	rm -f "$tmp/out/hook."
	is "audit log writable again: served again" "$(as gwsurg head -1 "$m/$f" 2>&1)" "PHOTO $f"
else
	skip "audit log unwritable" "chattr +i is not supported on $tmp (needs ext4/xfs and CAP_LINUX_IMMUTABLE)"
fi

# The audit head vanishes while the gateway runs: the checkpoint that
# follows a record within a second does not make up a fresh head (it
# would vouch for a cut log), and from then on opens are refused.
A=$tmp/audit/audit.jsonl
mv "$A.head" "$tmp/audit/head.away"
as gwsurg head -1 "$m/patients/P000001/2026-01-10-preop/IMG_0003.jpg" >/dev/null 2>&1
sleep 1.6
out=$(as gwsurg head -1 "$m/$f" 2>&1); rc=$?
check "audit head gone: the open is refused" test "$rc" -ne 0
like "...as EACCES" "$out" "Permission denied"
check "...and no head was made up" test ! -e "$A.head"
# One alert per outage, to syslog and to the hook (with no user: none is
# to blame), not one per refused open.
hk=$(hook_of "")
is "...the hook runs for the audit failure, without a user" \
    "$(printf '%s\n' "$hk" | grep -E '^PHOTOGUARD_(EVENT|USER)=' | tr '\n' ' ')" \
    "PHOTOGUARD_EVENT=audit.failure "
like "...with the reason" "$hk" "PHOTOGUARD_REASON=the audit log refuses records: "
outages=2
grep -q "audit log unwritable" "$tmp/gateway.log" || outages=1
is "...and one LOG_ALERT per outage ($outages), not one per refused open" \
    "$(grep -c 'ALERT: the audit log .* refuses records' "$tmp/gateway.log")" "$outages"
mv "$tmp/audit/head.away" "$A.head"

# The gateway serves as the store's user: the process that serves is the
# unprivileged worker, the one started stays root only to unmount.
worker=$(pgrep -P "$GW_PID" -x photoguard-gate)
is "one worker serves" "$(printf '%s\n' $worker | wc -l)" 1
is "...as the service user (real, effective, saved, fs uid)" \
    "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$worker/status 2>&1)" \
    "$(id -u gwstore) $(id -u gwstore) $(id -u gwstore) $(id -u gwstore)"
is "...its group alone, no supplementary groups" \
    "$(awk '/^Gid:/ {print $2} /^Groups:/ {print "groups:" $2}' /proc/$worker/status 2>&1 | tr '\n' ' ')" \
    "$(id -g gwstore) groups: "
is "...with no capabilities" "$(awk '/^CapEff:|^CapPrm:/ {print $2}' /proc/$worker/status | tr '\n' ' ')" \
    "0000000000000000 0000000000000000 "
# The worker never holds the audit signing key: a signer process of its
# own keeps it (core/audit/audit_signer.c).  The scan finds the key in the
# signer, so a key in the worker would be found too.
signer=$(pgrep -P "$worker" -x pg-audit-signer)
is "one signer beside the worker" "$(printf '%s\n' $signer | wc -l)" 1
is "...as root" "$(awk '/^Uid:/ {print $3}' /proc/$signer/status 2>&1)" 0
python3 "$PG_SOURCE_ROOT/tests/lib/memscan.py" "$signer" "$tmp/etc/audit.key"
is "...and the key is in the signer's memory" "$?" 0
python3 "$PG_SOURCE_ROOT/tests/lib/memscan.py" "$worker" "$tmp/etc/audit.key"
is "...and nowhere in the worker's" "$?" 1
is "the worker keeps no descriptor of the key file" \
    "$(ls -l /proc/$worker/fd 2>/dev/null | grep -c 'audit.key')" 0
out=$(as gwsurg cat "$tmp/audit/audit.jsonl" "$tmp/mfa/gwsurg.ticket" "$tmp/lockout/.lock" 2>&1)
is "staff still cannot read the shared state (audit log, MFA ticket, lockout store)" \
    "$(printf '%s\n' "$out" | grep -c 'Permission denied')" 3

# A crash of the worker leaves ENOTCONN, never the store; the parent that
# is left exits non-zero so the service manager restarts the gateway.
kill -KILL "$worker"
wait "$GW_PID" 2>/dev/null
is "crashed worker: the gateway exits 1" $? 1
GW_PID=
out=$(as gwsurg cat "$m/$f" 2>&1); rc=$?
like "crashed gateway: the mount answers ENOTCONN" "$out" "Transport endpoint is not connected"
out=$(ls "$m" 2>&1)
like "...to root as well" "$out" "Transport endpoint is not connected"
like "...and the log says so" "$(cat "$tmp/gateway.log")" "died of signal 9: $m left answering ENOTCONN"
umount -l "$m"

# If the root parent is killed outright, the worker goes with it: the mount
# is left answering ENOTCONN, not served without anyone to unmount it.
gw_start_or_bail "the gateway mounts again"
worker=$(pgrep -P "$GW_PID" -x photoguard-gate)
kill -9 "$GW_PID"
wait "$GW_PID" 2>/dev/null
GW_PID=
for i in $(seq 1 50); do kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
check "killed parent: the worker is gone too" test ! -d "/proc/$worker"
out=$(ls "$m" 2>&1)
like "...and the mount answers ENOTCONN" "$out" "Transport endpoint is not connected"
umount -l "$m"
# A gateway does not start on a signed log whose head is missing, until
# `audit repair` records the gap.
mv "$A.head" "$tmp/audit/head.away"
n=$(wc -l <"$A")
start_fails "audit head missing" "audit log .*stored state is corrupt"
is "...and appends nothing" "$(wc -l <"$A")" "$n"
out=$("$PG_CLI" audit repair --reason "test: head removed" 2>&1)
is "audit repair records the gap" "$?" 0
gw_start_or_bail "after the repair the gateway mounts again"
is "...and serves" "$(as gwsurg head -1 "$m/$f" 2>&1)" "PHOTO $f"
gw_stop
out=$("$PG_CLI" audit verify 2>&1); rc=$?
is "the audit log verifies after all that" "$rc" 0
like "...reporting the repaired gap" "$out" "1 repaired gap, at seq [0-9]+: head file missing"
gw_done
