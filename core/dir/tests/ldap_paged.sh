#!/bin/bash
# ldap_paged.sh - long answers from a directory that pages, as Active
# Directory does (at most 1,000 entries a search unless paged, RFC 2696):
# a slapd whose size limit is 1,000 but whose paged results are not
# limited.  A user on 1,500 care teams, 1,200 locked users and a user in
# 1,024 groups (the most allowed) and 30 care teams, all come back whole,
# a page at a time (slapd pages one search a connection at a time);
# without paging the same search is refused, so the limit is real.
SLAPD_SIZELIMIT="size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited"
. "${PG_SOURCE_ROOT:?}/core/dir/tests/common.sh"
start_fixture_slapd
T="--net-timeout-ms 5000 --timeout-ms 5000"
B=$SLAPD_BASE_DN
person() { # UID [LINE]: a user entry
	printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\n' "$1" "$B"
	printf 'objectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\n' "$1" "$1" "$1"
	printf 'uidNumber: %d\ngidNumber: 3000\nhomeDirectory: /h\n' $((6000 + RANDOM % 3000))
	[ -n "${2:-}" ] && printf '%s\n' "$2"
	echo
}
{
	person bigteam
	for i in $(seq 1500); do
		printf 'dn: cn=PG%05d,ou=careteams,%s\nobjectClass: groupOfNames\n' "$i" "$B"
		printf 'cn: PG%05d\nmember: uid=bigteam,ou=people,%s\n' "$i" "$B"
		# joiner's care teams are asked beside its many groups.
		[ "$i" -le 30 ] && printf 'member: uid=joiner,ou=people,%s\n' "$B"
		echo
	done
	for i in $(seq 1200); do person "locked$i" 'pwdAccountLockedTime: 20261201000000Z'; done
	person joiner
	for i in $(seq 1024); do
		printf 'dn: cn=club%d,ou=groups,%s\nobjectClass: posixGroup\n' "$i" "$B"
		printf 'cn: club%d\ngidNumber: %d\nmemberUid: joiner\n\n' "$i" $((50000 + i))
	done
} >"$WORK/big.ldif"
slapd_modify "$WORK/big.ldif"
is "1,500 care teams, 1,200 locked users and 1,024 groups load" $? 0

# The limit is real: the service account's plain search stops at 1,000.
ldapsearch -x -H "$SLAPD_URI" -D "$SVC_DN" -w "$SVC_PW" -b "ou=careteams,$B" \
    "(member=uid=bigteam,ou=people,$B)" cn >/dev/null 2>&1
is "an unpaged search of the care teams is refused (size limit exceeded)" $? 4

out=$(dl $T lookup bigteam)
is "bigteam's lookup succeeds, in pages" "$(field result "$out")" ok
is "...with all 1,500 care teams" "$(field npatients "$out")" 1500
out=$(dl $T lookup joiner)
is "joiner's 1,024 groups come back whole, beside its care teams" \
    "$(field result "$out")/$(field groups "$out" | wc -w)/$(field npatients "$out")" "ok/1024/30"
out=$(dl $T listlocked all)
is "the locked list holds all 1,200 (and the fixture's)" \
    "$(field result "$out")/$(field locked-users "$out" | tr ' ' '\n' | grep -c '^locked[0-9]*@')" "ok/1200"

sanitizer_clean
done_testing
