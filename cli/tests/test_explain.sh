#!/bin/bash
# test_explain.sh - `photoguard policy check` and `photoguard policy explain`
# end to end: the example policy, a real slapd with the sample clinic, real
# lookups; exit codes, reasons, JSON, and a directory that stops answering.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
src=$PG_SOURCE_ROOT
tmp=$(mktemp -d /tmp/pg-explain.XXXXXX)
trap 'slapd_stop; rm -rf "$tmp"' EXIT

# --- policy check -----------------------------------------------------------
out=$("$pg" policy check "$src/policy/examples/clinic.policy" 2>&1); rc=$?
is "example policy checks clean" "$rc" 0
like "check says OK with the role count" "$out" "clinic.policy: OK \(7 roles, 0 warnings\)"
printf 'layout "patients/{patient}/{series}/{file}"\nrole nurse = group nurses\nallow nurse read patients/{patient}/** if care-tem\nallow doctor read **\n' > "$tmp/bad.policy"
out=$("$pg" policy check "$tmp/bad.policy" 2>&1); rc=$?
is "broken policy exits 1" "$rc" 1
like "error names file:line:col" "$out" "bad.policy:3:[0-9]+: error: "
like "every error is reported, not just the first" "$out" "bad.policy:4:[0-9]+: error: "
json=$("$pg" policy check --json "$tmp/bad.policy" 2>/dev/null)
is "check --json: not ok, two errors" \
    "$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], sum(x["severity"]=="error" for x in d["diagnostics"]))')" \
    "False 2"
out=$("$pg" policy check "$tmp/missing.policy" 2>&1); rc=$?
is "missing policy exits 1" "$rc" 1
like "missing policy says so" "$out" "missing.policy: cannot read policy: not found"
"$pg" policy check >/dev/null 2>&1
is "check without FILE is a usage error" "$?" 2

# --- a real directory -------------------------------------------------------
mkdir -p "$tmp/slapd"
"$src/deploy/ldap/gen-clinic.sh" 200 ldif > "$tmp/teams.ldif"
cat "$src/deploy/ldap/clinic-sample.ldif" "$tmp/teams.ldif" > "$tmp/clinic.ldif"
if ! slapd_start "$tmp/slapd" "$tmp/clinic.ldif"; then
	not_ok "slapd started"
	done_testing
	exit 1
fi
ok "slapd started on $SLAPD_URI"
trap 'slapd_stop; rm -rf "$tmp"' EXIT	# slapd_start set its own
install -m 0644 "$src/policy/examples/clinic.policy" "$tmp/clinic.policy"
write_conf() {	# uri
	cat > "$tmp/pg.conf" <<CONF
[directory]
backend = ldap
uri = $1
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
network_timeout = 1s
timeout = 1s
[policy]
file = $tmp/clinic.policy
CONF
}
write_conf "$SLAPD_URI"
export PHOTOGUARD_CONFIG=$tmp/pg.conf
mine=$(slapd_search -b "ou=careteams,$SLAPD_BASE_DN" "(member=uid=dlopez,ou=people,$SLAPD_BASE_DN)" cn | awk '/^cn: /{print $2; exit}')
other=$(slapd_search -b "ou=careteams,$SLAPD_BASE_DN" "(&(objectClass=groupOfNames)(!(member=uid=dlopez,ou=people,$SLAPD_BASE_DN)))" cn | awk '/^cn: /{print $2; exit}')

ex() { "$pg" policy explain "$@" 2>&1; }
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 10:30"); rc=$?
is "nurse, own patient: exit 0" "$rc" 0
like "nurse, own patient: ALLOW by the nurse rule" "$out" "decision: +ALLOW"
like "the rule is named file:line" "$out" "rule: +$tmp/clinic.policy:31"
like "the reason says she is on the care team" "$out" "dlopez is on $mine's care team"
out=$(ex --user dlopez --path "patients/$other/s1/a.jpg" --at "Tue 10:30"); rc=$?
is "nurse, other patient: exit 1" "$rc" 1
like "nurse, other patient: DENY, not on the team" "$out" "dlopez is not on $other's care team"
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 23:30"); rc=$?
is "nurse outside hours: refused" "$rc" 1
out=$(ex --user asmith --path "patients/P000001/s1/a.jpg" --no-mfa); rc=$?
is "surgeon without MFA: refused" "$rc" 1
like "...because there is no MFA login" "$out" "no live MFA login"
out=$(ex --user mdubois --path "patients/$mine/s1/a.jpg"); rc=$?
is "IT admin: refused" "$rc" 1
like "...by the explicit deny" "$out" "denied by $tmp/clinic.policy:[0-9]+ \(deny frontdesk,itadmin all"
out=$(ex --user mdubois --host imaging-01 --service sshd); rc=$?
is "IT admin may log in to an imaging server" "$rc" 0
out=$(ex --user ioconnor --host imaging-01 --service sshd); rc=$?
is "front desk may not" "$rc" 1
out=$(ex --user hpatel --path "patients/$mine/incoming/x.jpg" --action write --at "Tue 10:30"); rc=$?
is "photographer may upload" "$rc" 0
out=$(ex --user hpatel --path "patients/$mine/incoming/x.jpg" --at "Tue 10:30"); rc=$?
is "photographer may not read" "$rc" 1
out=$(ex --user dlopez --path "patients/P999001/s1/a.jpg" --at "Tue 10:30"); rc=$?
is "decoy patient: refused" "$rc" 1
like "...as a decoy" "$out" "P999001 is a decoy patient"
json=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 10:30" --json)
is "--json carries decision, rule line and patient" \
    "$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["decision"], d["rule_line"], d["patient"], d["on_care_team"], len(d["trace"]) > 3)')" \
    "ALLOW 31 $mine True True"

# Names the directory does not know, including filter metacharacters.
for u in nobody '*' 'dlopez)(uid=*' 'd*' 'dlopez\' 'uid=dlopez,ou=people'; do
	out=$(ex --user "$u" --path "patients/$mine/s1/a.jpg" --at "Tue 10:30"); rc=$?
	is "unknown user '$u': refused (exit 1)" "$rc" 1
	like "unknown user '$u': DENY, not found" "$out" "not found"
done
out=$(ex --user $'eve\033[2J\n' --path "patients/$mine/s1/a.jpg"); rc=$?
is "a user name with control characters: refused" "$rc" 1
like "...and shown escaped, never raw" "$out" 'eve\\x1b\[2J\\x0a'
if printf '%s' "$out" | grep -q $'\033'; then
	not_ok "no raw escape byte reaches the terminal"
else
	ok "no raw escape byte reaches the terminal"
fi
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --action copy); rc=$?
is "bad --action is a usage error" "$rc" 2
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 25:00"); rc=$?
is "bad --at is a usage error" "$rc" 2

# The directory stops answering: refused within the timeout, never allowed.
slapd_pause
t0=$(date +%s%N)
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 10:30"); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
slapd_resume
is "directory not answering: cannot decide (exit 3)" "$rc" 3
like "...and says the directory is unavailable" "$out" "directory unavailable"
like "...and that the request is refused" "$out" "DENY"
check "...within the configured timeouts (${ms} ms)" test "$ms" -lt 5000

# A wrong CA: the TLS check fails, closed.
sed -i "s|^ca_file = .*|ca_file = $SLAPD_WRONG_CA|" "$tmp/pg.conf"
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 10:30"); rc=$?
is "wrong CA: cannot decide (exit 3)" "$rc" 3
like "wrong CA: a TLS failure" "$out" "TLS"

# An unreadable or group-writable policy in force is refused.
write_conf "$SLAPD_URI"
chmod 0666 "$tmp/clinic.policy"
out=$(ex --user dlopez --path "patients/$mine/s1/a.jpg" --at "Tue 10:30"); rc=$?
is "group-writable policy in force: refused (exit 3)" "$rc" 3
like "...and says why" "$out" "not writable by group or others"
done_testing
