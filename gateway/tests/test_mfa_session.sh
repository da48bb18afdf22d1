#!/bin/bash
# test_mfa_session.sh - an MFA ticket lives as long as the login that
# earned it, end to end: a whole PAM login of gwbulk (auth with a real
# TOTP code, account, open_session; pam_photoguard.so under pam_wrapper
# with the gateway's own configuration) lets gwbulk read a photo that needs
# MFA through the real mount; after close_session the same read is
# refused.  A login whose process dies without closing its session leaves
# nothing that reads.  A lockout (wrong codes in PAM) removes the ticket of
# a session still open: after `photoguard unlock` the user must pass the
# second factor again.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

GW_LOGIN="$PG_BUILD_ROOT/gateway/tests/gw_login"
gw_setup_or_bail
F=$m/patients/P000001/2026-01-10-preop/IMG_0001.jpg
WANT="PHOTO patients/P000001/2026-01-10-preop/IMG_0001.jpg"
sed -i -e "/^\[totp\]/a secret_dir = $tmp/secrets\nhost_key = $tmp/etc/totp.key\nmax_failures = 3" \
    "$tmp/etc/pg.conf"
if ! gw_pam_setup; then
	not_ok "PAM tools present (pamtester, oathtool, pam_wrapper): see the skip above"
	gw_done
	exit 1
fi
ARGS="config=$tmp/etc/pg.conf host=imaging-01"
printf '%s\n' "auth required $MOD $ARGS" "account required $MOD $ARGS" \
    "session required $MOD $ARGS" >"$T/svc/sshd"
SEC=$tmp/secrets KEY=$tmp/etc/totp.key
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
pam_enroll gwbulk
check "gwbulk is enrolled for the second factor" test -n "$SECRET"
LAST_STEP=$(($(date +%s) / 30)) # the step enrollment was confirmed in
gw_start_or_bail "the gateway mounts"

read_photo() { as gwbulk head -1 "$F" 2>&1; }
ticket() { PG_SHARE_USER=gwstore "$GW_MFA" valid "$tmp/mfa" gwbulk 2>&1; }

# next_code: sets CODE to a code of a later time step than the last one
# used (a code is never taken twice, nor one of an earlier step), waiting
# for the clock when the window (one step either side) has no later step
# left.  Not in a subshell: it counts the steps in LAST_STEP.
next_code() {
	local s want
	s=$(($(date +%s) / 30))
	want=$((LAST_STEP + 1 > s ? LAST_STEP + 1 : s))
	while [ "$want" -gt $((s + 1)) ]; do
		sleep 1
		s=$(($(date +%s) / 30))
	done
	LAST_STEP=$want
	CODE=$(oathtool --totp -b "$SECRET" -N "@$((want * 30 + 1))")
}

# login TAG: a login of gwbulk held open in the background (LOGIN_PID),
# its output in $T/TAG.out; returns once the session is open (or failed).
# Logged out by: touch "$T/TAG.go".
login() {
	local tag=$1 try i
	for try in 1 2 3 4 5 6 7 8 9 10; do
		[ "$try" -gt 1 ] && sleep 0.5
		pwrap_sweep
		rm -f "$T/$tag.go"
		next_code
		printf '%s\n' "$CODE" |
		    env LD_PRELOAD="$PWRAP" ASAN_OPTIONS="$GW_PAM_ASAN" \
			PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
			PAM_WRAPPER_DEBUGLEVEL=2 \
			"$GW_LOGIN" sshd gwbulk "$T/$tag.go" >"$T/$tag.out" 2>&1 &
		LOGIN_PID=$!
		for i in $(seq 200); do
			grep -aq 'session open pid=' "$T/$tag.out" && break
			kill -0 "$LOGIN_PID" 2>/dev/null || break
			sleep 0.05
		done
		pwrap_failed "$T/$tag.out" || break
		wait "$LOGIN_PID" 2>/dev/null
	done
	cat "$T/$tag.out" >>"$T/all.out"
	grep -aq 'session open pid=' "$T/$tag.out"
}
logout() { # TAG: close the session and wait for the login to end
	touch "$T/$1.go"
	wait "$LOGIN_PID"
	local rc=$?
	cat "$T/$1.out" >>"$T/all.out"
	return $rc
}

# --- before any login: no ticket, no photo ------------------------------------
like "before any login gwbulk cannot read a photo that needs MFA" "$(read_photo)" \
    'Permission denied|No such file'

# --- login, read, logout, read refused -----------------------------------------
if login one; then ok "PAM login of gwbulk: auth, account, open_session"; else
	not_ok "PAM login of gwbulk: auth, account, open_session"
	sed 's/^/#   /' "$T/one.out" | head -20
fi
is "...the ticket is valid while the session is open" "$(ticket)" 1
is "...gwbulk reads the photo through the mount" "$(read_photo)" "$WANT"
# The session has a view of its own (pam_photoguard's session, through
# the control socket): its namespace holds a mount for gwbulk alone.
like "...the session opened a view of gwbulk's own" "$(grep -a 'session.open user=gwbulk' "$T/one.out")" "own view at $m"
like "...mounted in the login's namespace for gwbulk's uid only" \
    "$(nsenter -t "$LOGIN_PID" -m grep " $m " /proc/mounts | tail -1)" "fuse.photoguard .*user_id=2907,"
is "...where gwbulk reads the photo" \
    "$(nsenter -t "$LOGIN_PID" -m setpriv --reuid=gwbulk --regid="$GW_GID" --clear-groups head -1 "$F" 2>&1)" "$WANT"
is "...and the gateway serves it" "$(views_live)" 1
logout one
is "logout (close_session) succeeds" $? 0
like "...the session close says the ticket went with it" "$(grep -a 'session.close user=gwbulk' "$T/one.out")" \
    'MFA ticket removed \(last session\)'
check "...the ticket file is gone" test ! -e "$tmp/mfa/gwbulk.ticket"
check "...and the view is gone with the login" wait_views 0
is "...the ticket is no longer valid" "$(ticket)" 0
sleep 1.1 # past GW_MFA_CACHE_MS, the gateway's reuse of a valid answer
like "...and the same read is refused" "$(read_photo)" 'Permission denied|No such file'

# --- a login that dies without logging out -----------------------------------
login two || sed 's/^/#   /' "$T/two.out" | grep -av 'pwrap_\|copy_confdir\|no default config' | head -20
is "a second login: the ticket is valid" "$(ticket)" 1
is "...gwbulk reads" "$(read_photo)" "$WANT"
kill -9 "$LOGIN_PID"
wait "$LOGIN_PID" 2>/dev/null
check "...the login process is killed: close_session never ran" \
    test -z "$(grep -a 'close_session' "$T/two.out")"
is "...the ticket of the dead session is no longer valid" "$(ticket)" 0
sleep 1.1
like "...and the read is refused" "$(read_photo)" 'Permission denied|No such file'

# --- auth alone (no session opened) grants nothing -------------------------------
next_code
gw_pam gwbulk "$CODE" authenticate
rc=$?
is "auth alone (pamtester, no session) succeeds" $rc 0
[ $rc = 0 ] || grep -av 'pwrap_\|copy_confdir\|no default config' "$T/out" | head -20 | sed 's/^/#   /'
is "...but leaves no valid ticket" "$(ticket)" 0
sleep 1.1
like "...so the read is refused" "$(read_photo)" 'Permission denied|No such file'

# --- lockout while a session is open -----------------------------------------------
login three || sed 's/^/#   /' "$T/three.out" | grep -av 'pwrap_\|copy_confdir\|no default config' | head -20
is "a third login: gwbulk reads" "$(read_photo)" "$WANT"
W=$(pam_wrong)
for i in 1 2 3; do gw_pam gwbulk "$W" authenticate; done
like "three wrong codes lock gwbulk out" "$("$PG_CLI" lockouts)" '(^|\n)gwbulk .*totp.max_failures'
check "...and the lockout removed the ticket" test ! -e "$tmp/mfa/gwbulk.ticket"
check "...and ended the open session's view within a second or two" wait_views 0
is "...although the third session is still open" "$(ticket)" 0
"$PG_CLI" unlock gwbulk >/dev/null 2>&1
is "after photoguard unlock: still no ticket" "$(ticket)" 0
sleep 2.5 # past cache_ttl (2s): the directory's answer is fresh too
like "...so the read is refused until the next login" "$(read_photo)" 'Permission denied|No such file'
logout three
is "...and that session still closes cleanly" $? 0

# --- the account phase refusing a user locked elsewhere ---------------------------
login four
is "a fourth login: the ticket is valid" "$(ticket)" 1
# Another server's gateway locked gwbulk: its entry in the shared store.
hex=$(printf gwbulk | od -An -tx1 | tr -d ' \n')
printf '{"by":"gateway","host":"imaging-02","reason":"bulk read","rule":"r","since":%s,"user":"gwbulk","v":1}' \
    "$(date +%s)" >"$tmp/lockout/u-$hex.json"
chmod 0600 "$tmp/lockout/u-$hex.json"
gw_pam gwbulk "" acct_mgmt
is "...a login of the user now locked out is refused by account" $? 1
is "...which removed the ticket of the session still open" "$(ticket)" 0
"$PG_CLI" unlock gwbulk >/dev/null 2>&1
logout four

gw_stop
out=$("$PG_CLI" audit verify 2>&1)
is "the audit log verifies afterwards" $? 0 || diag "$out"
pam_no_sanitizer_reports "$T/all.out"
gw_done
