#!/bin/bash
# test_pam_snippets.sh - the shipped PAM snippets, as an admin merges them,
# through the real libpam (pam_wrapper) and pamtester.  deploy/pam.d/
# photoguard-login lets root and members of the local group
# photoguard-exempt in at a virtual console without a TOTP secret or a
# role, refuses them on a pseudo-terminal (a remote login), and still
# refuses an ordinary user without a secret.  deploy/pam.d/photoguard-sudo
# asks a member of staff for the code, and the example policy's login rule
# lets the itadmin role use sudo and no other.  Only the password lines
# (Debian's common-auth / common-account, pam_unix) are stood in for by
# pam_permit.so: the tests know no password.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null; then
	skip "PAM snippets" "needs root and useradd: it adds local users and a group"
	done_testing; exit 0
fi

T=$(mktemp -d /tmp/pg-snip-XXXXXX)
chmod 711 "$T"
N=$((RANDOM % 10000))
STAFF=pgsa$N SURG=pgsb$N EXEMPT=pgsc$N PLAIN=pgsd$N
GIT=pgsgi$N GSURG=pgsgs$N EG=photoguard-exempt MADE_EG=
cleanup() {
	local u
	for u in $STAFF $SURG $EXEMPT $PLAIN; do userdel "$u" 2>/dev/null; done
	groupdel "$GIT" 2>/dev/null
	groupdel "$GSURG" 2>/dev/null
	[ -n "$MADE_EG" ] && groupdel "$EG" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if ! getent group "$EG" >/dev/null; then
	groupadd -r "$EG" && MADE_EG=1
fi
groupadd "$GIT" && groupadd "$GSURG" &&
    useradd -M -N -g users -G "$GIT" -s /usr/sbin/nologin "$STAFF" &&
    useradd -M -N -g users -G "$GSURG" -s /usr/sbin/nologin "$SURG" &&
    useradd -M -N -g users -G "$EG" -s /usr/sbin/nologin "$EXEMPT" &&
    useradd -M -N -g users -s /usr/sbin/nologin "$PLAIN" || {
	not_ok "local users and groups created"
	done_testing; exit 1
}

SEC=$T/secrets KEY=$T/host.key TIX=$T/tickets SVC=$T/services
mkdir -m 700 "$SEC" "$TIX" "$T/audit"
mkdir "$SVC"
"$CLI" audit keygen "$T/audit.key" >/dev/null
printf 'P000001: %s\n' "$SURG" >"$T/care-teams" && chmod 0600 "$T/care-teams"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
# The example policy as shipped; only the directory groups of two roles
# are this test's local groups.
sed -e "s/^role itadmin .*/role itadmin = group $GIT/" \
    -e "s/^role surgeon .*/role surgeon = group $GSURG/" \
    "$PG_SOURCE_ROOT/policy/examples/clinic.policy" >"$T/clinic.policy"
cat >"$T/pg.conf" <<CONF
[directory]
backend = local
care_team_file = $T/care-teams
[policy]
file = $T/clinic.policy
[audit]
log = $T/audit/audit.jsonl
key = $T/audit.key
syslog = no
[lockout]
dir = $T/lockout
[totp]
secret_dir = $SEC
host_key = $KEY
ticket_dir = $TIX
max_failures = 100
CONF
ARGS="config=$T/pg.conf host=imaging-01"

# stack SERVICE SNIPPET TYPE...: the snippet's lines (comments and blank
# lines dropped, pam_photoguard.so with this test's arguments), each TYPE
# after a pam_permit.so line standing in for Debian's include.
stack() {
	local svc=$1 snip=$PG_SOURCE_ROOT/deploy/pam.d/$2 type
	shift 2
	: >"$SVC/$svc"
	for type in "$@"; do
		printf '%s required pam_permit.so\n' "$type" >>"$SVC/$svc"
		grep -v '^#' "$snip" | grep "^$type " |
		    sed "s|pam_photoguard\\.so|$MOD $ARGS|" >>"$SVC/$svc"
	done
}
check "the login snippet is shipped" test -f "$PG_SOURCE_ROOT/deploy/pam.d/photoguard-login"
check "the sudo snippet is shipped" test -f "$PG_SOURCE_ROOT/deploy/pam.d/photoguard-sudo"
stack login photoguard-login auth account session
stack sudo photoguard-sudo auth account
diag "login stack: $(grep -c . "$SVC/login") lines, sudo stack: $(grep -c . "$SVC/sudo") lines"

asked() { grep -aq 'Verification code:' "$T/out" && echo asked || echo "not asked"; }
last() { grep -a "$1 user=" "$T/out" | tail -1; }
CONSOLE=(-I tty=tty1)
REMOTE=(-I tty=pts/0 -I rhost=192.0.2.7)

# --- the console: root and the exemption group ---------------------------------
PT_ITEMS=("${CONSOLE[@]}")
pam_run "$SVC" login root "" authenticate acct_mgmt open_session close_session
is "console login: root (no secret, no role) gets in" $? 0
is "...without being asked for a code" "$(asked)" "not asked"
like "...and the session is audited" "$(last session.open)" 'outcome=success'
pam_run "$SVC" login "$EXEMPT" "" authenticate acct_mgmt open_session close_session
is "console login: a member of $EG gets in" $? 0
is "...without being asked for a code" "$(asked)" "not asked"
pam_run "$SVC" login "$PLAIN" "" authenticate
is "console login: an ordinary user without a secret is refused" $? 1
like "...by photoguard, for want of a secret" "$(last auth)" 'outcome=deny .*'
pam_run "$SVC" login "$SURG" "" acct_mgmt
is "...and the account check still applies to everyone else ($SURG, surgeon)" $? 0
like "...by the example policy's login rule" "$(last account)" 'outcome=success .*roles surgeon'

# --- the same users from afar (login run for a pseudo-terminal) ------------------
PT_ITEMS=("${REMOTE[@]}")
pam_run "$SVC" login root "" authenticate
is "root on a pseudo-terminal (remote) is refused" $? 1
like "...by photoguard's auth" "$(last auth)" 'outcome=deny'
pam_run "$SVC" login root "" acct_mgmt
is "...and by its account check (no role)" $? 1
pam_run "$SVC" login "$EXEMPT" "" authenticate
is "a member of $EG on a pseudo-terminal is refused" $? 1

# --- sudo -------------------------------------------------------------------------
PT_ITEMS=(-I tty=pts/1)
SECRET=
pam_enroll "$STAFF"
check "$STAFF (itadmin) is enrolled" test -n "$SECRET"
pam_run "$SVC" sudo "$STAFF" "$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
is "sudo: $STAFF (itadmin) with the right code gets through" $? 0
is "...after being asked for the code" "$(asked)" asked
like "...and the example policy's login rule lets itadmin use sudo" "$(last account)" \
    'outcome=success rule=[^ ]*clinic.policy:[0-9]+ .*roles itadmin'
pam_run "$SVC" sudo "$STAFF" "$(pam_wrong)" authenticate
is "sudo: a wrong code is refused" $? 1
is "...after being asked for the code" "$(asked)" asked
pam_run "$SVC" sudo "$SURG" "" acct_mgmt
is "sudo: a surgeon (no sudo login rule) is refused by the account check" $? 1
like "...for want of a login rule" "$(last account)" 'outcome=deny .*roles surgeon'
pam_run "$SVC" sudo "$PLAIN" "" authenticate
is "sudo: a user without a secret is refused" $? 1
pam_run "$SVC" sudo root "" authenticate acct_mgmt
is "sudo run by root is not asked (and passes)" $? 0
is "...no code asked" "$(asked)" "not asked"

pam_no_sanitizer_reports "$T/all.out"
done_testing
