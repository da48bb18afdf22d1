#!/bin/bash
# ldap_paged.sh - long answers from a directory that pages, as Active
# Directory does (at most 1,000 entries a search unless paged, RFC 2696):
# a slapd whose size limit is 1,000 but whose paged results are not
# limited.  A user on 1,500 care teams, 1,200 locked users and a user in
# 1,024 groups (the most allowed) and 30 care teams, all come back whole,
# a page at a time (slapd pages one search a connection at a time);
# without paging the same search is refused, so the limit is real.
SLAPD_SIZELIMIT="size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited"
SLAPD_DEBUG=stats # each search and its result, for the paged search given up
. "${PG_SOURCE_ROOT:?}/core/dir/tests/common.sh"
start_fixture_slapd
T="--net-timeout-ms 5000 --timeout-ms 5000"
B=$SLAPD_BASE_DN
BAD=$(printf 'bad\tlocked')
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
	# A locked entry whose name holds a control character (a tab), on
	# the locked list's first page.
	printf 'dn:: %s\n' "$(printf 'uid=%s,ou=people,%s' "$BAD" "$B" | base64 -w0)"
	printf 'objectClass: inetOrgPerson\nobjectClass: posixAccount\nuid:: %s\n' \
	    "$(printf '%s' "$BAD" | base64 -w0)"
	printf 'cn: bad\nsn: bad\nuidNumber: 8999\ngidNumber: 3000\nhomeDirectory: /h\n'
	printf 'pwdAccountLockedTime: 20261201000000Z\n\n'
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
# The locked list refused at its first page: the paged search given up
# there is ended on the server (a request for 0 entries with its cookie,
# RFC 2696) before the same connection pages its next search.
ended() { grep -ac 'search abandoned by pagedResult size=0' "$SLAPD_DIR/slapd.log"; }
printf 'dn:: %s\nchangetype: delete\n' \
    "$(printf 'uid=%s,ou=people,%s' "$BAD" "$B" | base64 -w0)" >"$WORK/del-bad.ldif"
n0=$(ended)
out=$(printf '%s\n' "listlocked all" \
    "sh ldapmodify -x -H '$SLAPD_URI' -D '$SLAPD_ADMIN_DN' -w '$SLAPD_ADMIN_PW' -f '$WORK/del-bad.ldif' >/dev/null" \
    "listlocked all" | dl $T --script)
like "a locked entry with a tab in its name: the locked list refused" \
    "$(printf '%s\n' "$out" | sed -n '1,/^\.$/p')" 'result: badanswer'
is "...its paged search ended with a request for no entries" $(($(ended) - n0)) 1
is "...that entry gone, the same connection pages all 1,200" \
    "$(printf '%s\n' "$out" | sed -n '/^\.$/,$p' | sed -n 's/^locked-users: //p' | tr ' ' '\n' | grep -c '^locked[0-9]*@')" 1200
out=$(dl $T listlocked all)
is "the locked list holds all 1,200 (and the fixture's)" \
    "$(field result "$out")/$(field locked-users "$out" | tr ' ' '\n' | grep -c '^locked[0-9]*@')" "ok/1200"

sanitizer_clean
done_testing
