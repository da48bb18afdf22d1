#!/bin/bash
# ldap_lockattr.sh - the lockout attribute read and written with its
# directory's meaning, against a real slapd given 389/FreeIPA's
# nsAccountLock and Active Directory's lockoutTime (tests/lib/
# interop-schema.ldif): nsAccountLock locks when TRUE (any case), not when
# FALSE; lockoutTime locks above 0, not at 0, and its FILETIME is read as
# the lockout's time; a lock and an unlock write what that directory
# writes; the watch of lockouts (RFC 4533) sees nsAccountLock go TRUE and
# back to FALSE.  (pwdAccountLockedTime is ldap_lookup.sh's.)
SLAPD_SCHEMAS="${PG_SOURCE_ROOT:?}/tests/lib/interop-schema.ldif"
# The service account writes them, as photoguard.schema.md grants it
# pwdAccountLockedTime.
SLAPD_SYNCPROV=1
SLAPD_ACCESS='to attrs=nsAccountLock,lockoutTime by dn.exact="cn=photoguard,ou=services,dc=clinic,dc=example" write by * read'
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
start_fixture_slapd
T="--net-timeout-ms 1000 --timeout-ms 1000"
B=$SLAPD_BASE_DN
person() { # UID [ATTR: VALUE]: a user entry that may hold both attributes
	printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\n' "$1" "$B"
	printf 'objectClass: posixAccount\nobjectClass: pgInteropAccount\n'
	printf 'uid: %s\ncn: %s\nsn: %s\nuidNumber: %d\n' "$1" "$1" "$1" $((2900 + RANDOM % 90))
	printf 'gidNumber: 3000\nhomeDirectory: /h\n'
	[ -n "${2:-}" ] && printf '%s\n' "$2"
	echo
}
# 2026-12-03T10:00:00Z as a FILETIME (100 ns since 1601).
FT=$(( ($(date -u -d 2026-12-03T10:00:00Z +%s) + 11644473600) * 10000000 ))
{
	person ipa-locked 'nsAccountLock: TRUE'
	person ipa-lower 'nsAccountLock: true'
	person ipa-open 'nsAccountLock: FALSE'
	person ipa-fresh
	person ad-locked "lockoutTime: $FT"
	person ad-open 'lockoutTime: 0'
	person ad-fresh
	person ad-huge 'lockoutTime: 999999999999999999999999'
	person ad-neghuge 'lockoutTime: -999999999999999999999999'
} >"$WORK/interop.ldif"
slapd_modify "$WORK/interop.ldif"
is "the entries with other directories' lock attributes load" $? 0
attr() { slapd_search -b "uid=$1,ou=people,$B" -s base "$2" | sed -n "s/^$2: //p"; }
ns() { dl $T --lockout-attr nsAccountLock "$@"; }
ad() { dl $T --lockout-attr lockoutTime "$@"; }

# --- nsAccountLock (389 Directory Server, FreeIPA) --------------------------
is "nsAccountLock TRUE: locked" "$(field locked "$(ns lookup ipa-locked)")" yes
is "nsAccountLock true: locked (the attribute ignores case)" "$(field locked "$(ns lookup ipa-lower)")" yes
is "nsAccountLock FALSE: not locked" "$(field locked "$(ns lookup ipa-open)")" no
is "no nsAccountLock: not locked" "$(field locked "$(ns lookup ipa-fresh)")" no
out=$(ns listlocked all)
is "the locked list: the TRUE ones only" "$(field locked-users "$out")" "ipa-locked@TRUE ipa-lower@true"
is "lock writes nsAccountLock: TRUE" "$(field result "$(ns lock ipa-fresh)")/$(attr ipa-fresh nsAccountLock)" "ok/TRUE"
is "...which reads as locked" "$(field locked "$(ns lookup ipa-fresh)")" yes
is "unlock removes it" "$(field result "$(ns unlock ipa-fresh)")/$(attr ipa-fresh nsAccountLock)" "ok/"
is "...which reads as unlocked" "$(field locked "$(ns lookup ipa-fresh)")" no
is "unlocking a FALSE entry is fine" "$(field result "$(ns unlock ipa-open)")" ok

# --- lockoutTime (Active Directory) -----------------------------------------
is "lockoutTime above 0: locked" "$(field locked "$(ad lookup ad-locked)")" yes
is "lockoutTime 0: not locked" "$(field locked "$(ad lookup ad-open)")" no
is "no lockoutTime: not locked" "$(field locked "$(ad lookup ad-fresh)")" no
is "a lockoutTime too large for a number: locked (cannot be told unlocked)" \
    "$(field locked "$(ad lookup ad-huge)")" yes
is "...a negative one too large as well" "$(field locked "$(ad lookup ad-neghuge)")" yes
out=$(ad listlocked all)
is "the locked list: the one above 0, its FILETIME read as the time" \
    "$(field locked-users "$out" | tr ' ' '\n' | grep -v huge)" "ad-locked@20261203100000Z"
# Active Directory takes no lock from a client (it lets one write 0):
# photoguard does not try, and says why.
out=$(ad lock ad-fresh)
is "lock with lockoutTime: refused, not attempted" "$(field result "$out")" config
like "...saying the directory takes no lock from a client" "$out" 'takes no lock from a client'
is "...lockoutTime left as it was" "$(attr ad-fresh lockoutTime)" ""
# Locked by the directory's own policy, as Active Directory does.
printf 'dn: uid=ad-fresh,ou=people,%s\nchangetype: modify\nreplace: lockoutTime\nlockoutTime: %s\n' "$B" "$FT" | slapd_modify
is "...which reads as locked" "$(field locked "$(ad lookup ad-fresh)")" yes
is "unlock writes lockoutTime 0, as Active Directory takes it" \
    "$(field result "$(ad unlock ad-fresh)")/$(attr ad-fresh lockoutTime)" "ok/0"
is "...which reads as unlocked" "$(field locked "$(ad lookup ad-fresh)")" no
is "...and leaves the locked list" "$(field locked-users "$(ad listlocked all)" | tr ' ' '\n' | grep -v huge)" "ad-locked@20261203100000Z"

# --- the watch of lockouts ---------------------------------------------------
ldif_set() { # UID VALUE: replaces nsAccountLock as an admin of that directory would
	printf 'dn: uid=%s,ou=people,%s\nchangetype: modify\nreplace: nsAccountLock\nnsAccountLock: %s\n' "$1" "$B" "$2" | slapd_modify
}
mkfifo "$WORK/in"
"$PG_BUILD_ROOT/core/dir/tests/dir_watch_tool" --uri "$SLAPD_URI" --ca "$SLAPD_CA" \
    --base "$B" --bind-dn "$SVC_DN" --bind-pw-file "$PWFILE" \
    --lockout-attr nsAccountLock <"$WORK/in" >"$WORK/watch.out" 2>>"$TOOL_ERR" &
WPID=$!
exec 7>"$WORK/in"
# wait_line REGEX: waits up to 5 s for the watch to print a matching line.
wait_line() {
	local i
	for i in $(seq 100); do
		grep -Eq -- "$1" "$WORK/watch.out" && return 0
		sleep 0.05
	done
	return 1
}
wait_line '^refresh '
is "the watch's refresh holds the TRUE ones" "$(grep -m1 '^refresh' "$WORK/watch.out")" "refresh 2: ipa-locked ipa-lower"
ldif_set ipa-open TRUE
wait_line '^lock ipa-open '
like "nsAccountLock set TRUE elsewhere: a lock arrives" "$(grep '^lock ipa-open' "$WORK/watch.out")" '^lock ipa-open TRUE'
ldif_set ipa-open FALSE
wait_line '^unlock ipa-open'
is "...set back to FALSE: an unlock arrives" "$(grep -c '^unlock ipa-open' "$WORK/watch.out")" 1
exec 7>&-
wait "$WPID"
is "the watch ends when told to" $? 0
[ "$tap_failed" = 0 ] || sed 's/^/# watch: /' "$WORK/watch.out"

sanitizer_clean
done_testing
