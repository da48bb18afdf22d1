#!/bin/bash
# test_pam_audit_gap.sh - a login through the real libpam (pam_wrapper +
# pamtester) is refused while the audit log's head file is missing: the
# cut cannot be covered by the login's own checkpoint.  `photoguard audit
# repair` records the gap, and logins resume.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }

T=$(mktemp -d /tmp/pg-pamgap-XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 700 "$T"
SVC=$T/services AUDIT=$T/audit/audit.jsonl
mkdir -m 700 "$T/secrets" "$T/tickets"
mkdir "$SVC" "$T/audit"
"$CLI" audit keygen "$T/audit.key" >/dev/null
"$CLI" totp hostkey --host-key "$T/host.key" >/dev/null
cat >"$T/pg.conf" <<CONF
[audit]
log = $AUDIT
key = $T/audit.key
syslog = no
[lockout]
dir = $T/lockout
CONF
ARGS="config=$T/pg.conf secret_dir=$T/secrets host_key=$T/host.key ticket_dir=$T/tickets"
# An account with no second factor yet is let through (nullok): the
# audit log is all that stands between it and a login.
printf '%s\n' "auth [success=done ignore=ignore default=die] $MOD nullok $ARGS" \
	"auth required pam_permit.so" >"$SVC/pg"
printf '%s\n' "auth required pam_deny.so" >"$SVC/other"
login() { pam_run "$SVC" pg "$1" ""; }
quiet() { "$@" >"$T/quiet.out" 2>&1; }

for i in 1 2 3; do login "user$i" >/dev/null; done
login bob
is "a login with a sound audit log succeeds" $? 0
like "...and is audited" "$(tail -2 "$AUDIT" | head -1)" '"actor":"bob","event":"pam.auth"'
check "audit verify passes" quiet "$CLI" audit verify --key "$T/audit.key.pub" "$AUDIT"

# Records of bob erased: the log cut after user1's, its head removed.
head -n 2 "$AUDIT" >"$T/cut" && cat "$T/cut" >"$AUDIT"
rm -f "$AUDIT.head"
login mallory
is "with the head missing the login is refused" $? 1
like "...saying the audit log is unavailable" "$(cat "$T/out")" \
	'outcome=error .*audit log unavailable: stored state is corrupt'
is "...and nothing is added to the cut log" "$(wc -l <"$AUDIT")" 2
check "...nor a head made up for it" test ! -e "$AUDIT.head"
"$CLI" audit verify --key "$T/audit.key.pub" "$AUDIT" >"$T/verify" 2>&1
is "verify fails on the cut log" $? 1
like "...naming the missing head" "$(cat "$T/verify")" 'no head file'

PHOTOGUARD_CONFIG=$T/pg.conf "$CLI" audit repair --reason "test: cut" >"$T/repair" 2>&1
is "repair (log and key from the configuration) exits 0" $? 0
like "...naming the gap" "$(cat "$T/repair")" 'recorded the gap in .*audit.jsonl: head file missing; log ends at seq 2'
login carol
is "after the repair logins succeed again" $? 0
"$CLI" audit verify --key "$T/audit.key.pub" "$AUDIT" >"$T/verify" 2>&1
is "verify passes" $? 0
like "...and reports the repaired gap" "$(cat "$T/verify")" '1 repaired gap, at seq 3'
pam_no_sanitizer_reports "$T/all.out"
done_testing
