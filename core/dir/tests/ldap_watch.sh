#!/bin/bash
# ldap_watch.sh - the directory's watch of lockouts (dir_watch_*) against
# a real slapd, bound as the service account over StartTLS: without the
# sync provider it reports why and keeps trying; deploy/ldap/syncprov.ldif
# applied to the running server as an admin would (module, overlay, ACL
# for the bind account) makes its next try succeed; the refresh holds
# every locked user; a lock and an unlock arrive within a second each,
# for awkward names too, and drop the user's cached answer; a slapd
# restart is a reported outage followed by a new refresh; a stop ends the
# watch at once.
SLAPD_LDAPI=1
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
WTOOL=$PG_BUILD_ROOT/core/dir/tests/dir_watch_tool
start_fixture_slapd
B=$SLAPD_BASE_DN

# setlock USER VALUE|-: sets or deletes USER's pwdAccountLockedTime as
# another server's photoguard would.
setlock() {
	local dn="uid=$(printf '%s' "$1" | sed 's/[\\,=+<>#;"]/\\&/g'),ou=people,$B"
	if [ "$2" = - ]; then
		printf 'dn: %s\nchangetype: modify\ndelete: pwdAccountLockedTime\n' "$dn"
	else
		printf 'dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: %s\n' "$dn" "$2"
	fi | slapd_modify
}

# mark: later wait_for calls look only at what the watch prints from now.
mark() {
	MARK=$(wc -l <"$WORK/watch.out")
	MARK_T=$(date +%s%N)
}

# wait_for REGEX MS: waits until the watch has printed, since the last
# mark, a line matching REGEX; prints the ms since the mark.  1 if it does
# not appear within MS of the mark.
wait_for() {
	local now
	while :; do
		now=$(date +%s%N)
		if tail -n +"$((MARK + 1))" "$WORK/watch.out" | grep -Eq -- "$1"; then
			echo $(((now - MARK_T) / 1000000))
			return 0
		fi
		[ $(((now - MARK_T) / 1000000)) -ge "$2" ] && return 1
		sleep 0.005
	done
}

# after REGEX: did a line matching REGEX appear (at any time)?
seen() {
	grep -Eq -- "$1" "$WORK/watch.out"
}

setlock asmith 20260101000000Z
mkfifo "$WORK/in"
"$WTOOL" --uri "$SLAPD_URI" --ca "$SLAPD_CA" --base "$B" \
    --bind-dn "$SVC_DN" --bind-pw-file "$PWFILE" \
    --lockout-attr pwdAccountLockedTime <"$WORK/in" >"$WORK/watch.out" \
    2>>"$TOOL_ERR" &
WPID=$!
exec 7>"$WORK/in"
mark

# --- no sync provider yet ---------------------------------------------------
ms=$(wait_for '^down config failures=2: ' 3000)
check "without syncprov the watch reports why, and tries again (${ms:-?} ms)" test -n "$ms"
like "...naming the sync provider and the LDIF that adds it" \
    "$(grep -m1 '^down' "$WORK/watch.out")" \
    'down config failures=1: sync refresh: the directory offers no sync provider .*deploy/ldap/syncprov.ldif'

# --- the deploy LDIF, applied to the running slapd -----------------------
mark
out=$(slapd_config "$PG_SOURCE_ROOT/deploy/ldap/syncprov.ldif" 2>&1)
is "deploy/ldap/syncprov.ldif applies to the running server" $? 0
printf '%s\n' "$out" | grep . | sed 's/^/# /'
ms=$(wait_for '^refresh ' 6000)
check "...and the watch's next try gets through (${ms:-?} ms, backoff at most 5 s)" test -n "$ms"
is "the refresh holds the one locked user" "$(grep -m1 '^refresh' "$WORK/watch.out")" "refresh 1: asmith"

# --- changes as they happen ---------------------------------------------
mark
echo "lookup bjones" >&7
wait_for '^lookup bjones ' 3000 >/dev/null
is "bjones is not locked (and that answer is now cached)" \
    "$(grep '^lookup bjones' "$WORK/watch.out" | tail -1)" "lookup bjones locked=no"
mark
setlock bjones 20260102030405Z &
ms=$(wait_for '^lock bjones ' 1000)
wait $!
check "a lock set in the directory arrives within 1 s (${ms:-none} ms)" test -n "$ms"
is "...with the attribute's value and the time it names" \
    "$(grep '^lock bjones' "$WORK/watch.out")" "lock bjones 20260102030405Z 1767323045"
mark
echo "lookup bjones" >&7
wait_for '^lookup bjones locked=yes' 3000 >/dev/null
is "...and the cached 'not locked' answer is gone" \
    "$(grep '^lookup bjones' "$WORK/watch.out" | tail -1)" "lookup bjones locked=yes"
mark
setlock asmith - &
ms=$(wait_for '^unlock asmith$' 1000)
wait $!
check "the attribute deleted (an unlock elsewhere) arrives within 1 s (${ms:-none} ms), for a user of the refresh" test -n "$ms"
# A name that needs escaping in a DN: the unlock carries only the entry's
# UUID, which the watch maps back to the name it was told.
mark
setlock 'back\slash,x=y' 20260103000000Z
ms=$(wait_for '^lock back\\slash,x=y 20260103000000Z' 1000)
check "a lock of 'back\\slash,x=y' arrives by its exact name (${ms:-none} ms)" test -n "$ms"
mark
setlock 'back\slash,x=y' -
ms=$(wait_for '^unlock back\\slash,x=y$' 1000)
check "...and its unlock too (${ms:-none} ms)" test -n "$ms"
mark
setlock cwu 20260104000000Z
setlock cwu 20260105000000Z
ms=$(wait_for '^lock cwu 20260105000000Z' 1000)
check "a lock whose time changes is reported again, with the new value (${ms:-none} ms)" test -n "$ms"
if seen '^unlock (bjones|cwu)$'; then
	not_ok "no unlock of users who stayed locked"
else
	ok "no unlock of users who stayed locked"
fi

# --- slapd goes away and comes back -----------------------------------------
before=$(grep -c '^refresh' "$WORK/watch.out")
mark
slapd_restart 7>&- || echo "Bail out! slapd did not restart"
ms=$(wait_for '^refresh ' 8000)
check "slapd restarted: the watch reconnects with a new refresh (${ms:-none} ms)" test -n "$ms"
check "...after reporting the outage" grep -Eq '^down unavail failures=1: ' "$WORK/watch.out"
is "...which holds the users locked now" "$(grep '^refresh' "$WORK/watch.out" | tail -1)" "refresh 2: bjones cwu"
is "...one refresh more than before" "$(grep -c '^refresh' "$WORK/watch.out")" $((before + 1))
mark
setlock dlopez 20260106000000Z &
ms=$(wait_for '^lock dlopez ' 1000)
wait $!
check "a lock after the restart arrives within 1 s (${ms:-none} ms)" test -n "$ms"

# --- stop ----------------------------------------------------------------
exec 7>&-
wait "$WPID"
is "the watch ends when told to" $? 0
ms=$(sed -n 's/^stopped //p' "$WORK/watch.out")
check "...within 1.5 s (${ms:-?} ms)" test "${ms:-99999}" -lt 1500

# --- a refused bind ----------------------------------------------------------
(umask 077 && echo wrong >"$WORK/wrong.pw")
out=$(timeout 10 "$WTOOL" --uri "$SLAPD_URI" --ca "$SLAPD_CA" --base "$B" \
    --bind-dn "$SVC_DN" --bind-pw-file "$WORK/wrong.pw" \
    --lockout-attr pwdAccountLockedTime < <(sleep 1) 2>>"$TOOL_ERR")
like "a refused bind is reported as such" "$out" '^down auth failures=1: bind: Invalid credentials'
check "...and the password never appears" bash -c '! printf "%s" "$1" | grep -q wrong' _ "$out"

[ "$tap_failed" = 0 ] || sed 's/^/# watch: /' "$WORK/watch.out"
sanitizer_clean
done_testing
