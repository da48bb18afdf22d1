#!/bin/bash
# ldap_lookup.sh - lookups against a real slapd holding the sample clinic:
# groups from groupOfNames and posixGroup, sorted care teams, exact
# matching of names full of filter metacharacters, nonsense answers,
# the cache (TTL, unknown users, errors never cached) and the lockout
# attribute (read, set, removed).
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
start_fixture_slapd
T="--net-timeout-ms 1000 --timeout-ms 1000"

# expected_patients UID: care teams of UID straight from the LDIF, sorted.
expected_patients() {
	awk -v m="member: uid=$1,ou=people,dc=clinic,dc=example" '
		/^dn: .*ou=careteams/ { ct = 1; cn = ""; hit = 0; next }
		/^$/ { if (ct && hit) print cn; ct = 0 }
		ct && /^cn: / && cn == "" { cn = substr($0, 5) }
		ct && $0 == m { hit = 1 }
		END { if (ct && hit) print cn }' "$WORK/fixture.ldif" |
	    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

for u in asmith bjones dlopez fmartin; do
	out=$(dl $T lookup "$u")
	want=$(expected_patients "$u")
	is "$u: care teams as in the directory, sorted" \
	    "$(field patients "$out")" "$want"
done
check "asmith is on many care teams (the list is not trivially empty)" \
    test "$(field npatients "$(dl $T lookup asmith)")" -gt 20

is "bjones: two groupOfNames roles" "$(field groups "$(dl $T lookup bjones)")" \
    "compliance surgeons"
is "jberg: two posixGroup (memberUid) roles" \
    "$(field groups "$(dl $T lookup jberg)")" "billing front-desk"
is "fmartin: nurse and photographer" \
    "$(field groups "$(dl $T lookup fmartin)")" "clinical-photographers nurses"
is "mdubois: it-admins (posixGroup)" \
    "$(field groups "$(dl $T lookup mdubois)")" "it-admins"
is "kmueller: on no care team" "$(field patients "$(dl $T lookup kmueller)")" ""
is "zorder: care teams stored out of order come back sorted" \
    "$(field patients "$(dl $T lookup zorder)")" "A-9 M-5 Q-2"

is "unknown user: PG_ERR_NOTFOUND" "$(field result "$(dl $T lookup nobody)")" \
    notfound
is "ASMITH (the server matches uid case-insensitively): NOTFOUND" \
    "$(field result "$(dl $T lookup ASMITH)")" notfound
is "two entries with one uid: PG_ERR_DIR_BADANSWER" \
    "$(field result "$(dl $T lookup twin)")" badanswer
out=$(dl $T lookup badteam)
is "a care team with two patient ids: PG_ERR_DIR_BADANSWER" \
    "$(field result "$out")" badanswer
like "... and the message says why" "$(field error "$out")" "care team"

# Oversize answers: more groups than DIR_MAX_GROUPS (1024).
{
	printf 'dn: uid=joiner,ou=people,%s\nobjectClass: inetOrgPerson\n' \
	    "$SLAPD_BASE_DN"
	printf 'objectClass: posixAccount\nuid: joiner\ncn: J\nsn: J\n'
	printf 'uidNumber: 2300\ngidNumber: 3000\nhomeDirectory: /h\n\n'
	for i in $(seq 1 1030); do
		printf 'dn: cn=club%d,ou=groups,%s\nobjectClass: posixGroup\n' \
		    "$i" "$SLAPD_BASE_DN"
		printf 'cn: club%d\ngidNumber: %d\nmemberUid: joiner\n\n' \
		    "$i" $((5000 + i))
	done
} >"$WORK/joiner.ldif"
slapd_modify "$WORK/joiner.ldif"
out=$(dl $T lookup joiner)
is "a user in 1030 groups (over 1024): PG_ERR_DIR_BADANSWER" \
    "$(field result "$out")" badanswer
ldapdelete -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    "cn=club1030,ou=groups,$SLAPD_BASE_DN" "cn=club1029,ou=groups,$SLAPD_BASE_DN" \
    "cn=club1028,ou=groups,$SLAPD_BASE_DN" "cn=club1027,ou=groups,$SLAPD_BASE_DN" \
    "cn=club1026,ou=groups,$SLAPD_BASE_DN" "cn=club1025,ou=groups,$SLAPD_BASE_DN"
out=$(dl $T lookup joiner)
is "... and in exactly 1024 groups it is fine" "$(field result "$out")" ok
is "... all 1024 of them" "$(field groups "$out" | wc -w)" 1024

# Filter metacharacters never widen a match.
for name in '*' 'a*' '*smith' 'asm*' 'asmith*' '(' ')' '\' ',' '=' \
    'alice)(uid=*' 'asmith)(uid=*' '*)(uid=*' '*)(|(uid=*' 'uid=asmith' \
    'asmith,ou=people' 'o\28brien' 'o(brie*' '\2a' 'x)(objectClass=*'; do
	is "name '$name' matches nothing" \
	    "$(field result "$(dl $T lookup "$name")")" notfound
done
out=$(dl $T lookup 'o(brien')
is "o(brien is found exactly" "$(field result "$out")" ok
is "o(brien's DN" "$(field dn "$out")" \
    "uid=o(brien,ou=people,dc=clinic,dc=example"
out=$(dl $T lookup 'back\slash,x=y')
is "'back\\slash,x=y' is found exactly" "$(field result "$out")" ok
is "... with its DN escaped by the server" "$(field dn "$out")" \
    'uid=back\5Cslash\2Cx\3Dy,ou=people,dc=clinic,dc=example'

is "a NUL inside the name: PG_ERR_INVAL" \
    "$(field result "$(dl $T lookuphex "$(hex asmith)00")")" inval
is "a NUL inside the name (middle): PG_ERR_INVAL" \
    "$(field result "$(dl $T lookuphex 6173006d697468)")" inval
is "an empty name: PG_ERR_INVAL" \
    "$(field result "$(dl $T lookuphex "")")" inval
long=$(printf 'a%.0s' $(seq 1 257))
is "a 257-byte name: PG_ERR_INVAL" \
    "$(field result "$(dl $T lookup "$long")")" inval
is "a 256-byte name is looked up (and not found)" \
    "$(field result "$(dl $T lookup "${long:1}")")" notfound

# The cache: a change is seen after the TTL, not before.
cat >"$WORK/add-team.ldif" <<LDIF
dn: cn=P777777,ou=careteams,dc=clinic,dc=example
objectClass: groupOfNames
cn: P777777
member: uid=hpatel,ou=people,dc=clinic,dc=example
LDIF
out=$(printf '%s\n' "lookup hpatel" \
    "sh ldapadd -x -H $SLAPD_URI -D $SLAPD_ADMIN_DN -w $SLAPD_ADMIN_PW -f $WORK/add-team.ldif >/dev/null" \
    "lookup hpatel" "sleep 2100" "lookup hpatel" | dl $T --ttl 2 --script)
is "cache: before, within and after a 2 s TTL" \
    "$(printf '%s\n' "$out" | sed -n 's/^patients: *//p' | tr '\n' '|')" \
    "||P777777|"
out=$(printf '%s\n' "lookup hpatel" "sh ldapdelete -x -H $SLAPD_URI -D $SLAPD_ADMIN_DN -w $SLAPD_ADMIN_PW cn=P777777,ou=careteams,dc=clinic,dc=example" \
    "lookup hpatel" | dl $T --script)
is "without a cache every lookup asks the directory" \
    "$(printf '%s\n' "$out" | sed -n 's/^patients: *//p' | tr '\n' '|')" \
    "P777777||"

# Errors are never cached.
out=$(printf '%s\n' "sh kill -STOP $SLAPD_PID" "lookup ekim" \
    "sh kill -CONT $SLAPD_PID" "lookup ekim" | dl $T --ttl 60 --script)
is "cache: an unavailable directory is not remembered" \
    "$(printf '%s\n' "$out" | sed -n 's/^result: //p' | tr '\n' ' ')" \
    "unavail ok "

# Unknown users are cached briefly; a flush forgets them.
cat >"$WORK/add-user.ldif" <<LDIF
dn: uid=newhire,ou=people,dc=clinic,dc=example
objectClass: inetOrgPerson
objectClass: posixAccount
uid: newhire
cn: New Hire
sn: Hire
uidNumber: 2200
gidNumber: 3000
homeDirectory: /home/newhire
LDIF
out=$(printf '%s\n' "lookup newhire" \
    "sh ldapadd -x -H $SLAPD_URI -D $SLAPD_ADMIN_DN -w $SLAPD_ADMIN_PW -f $WORK/add-user.ldif >/dev/null" \
    "lookup newhire" "flush" "lookup newhire" | dl $T --ttl 60 --script)
is "cache: unknown, still unknown (cached), found after a flush" \
    "$(printf '%s\n' "$out" | sed -n 's/^result: //p' | tr '\n' ' ')" \
    "notfound notfound ok "

# Lockout attribute (ppolicy's pwdAccountLockedTime).
lockattr() {
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base \
	    pwdAccountLockedTime | sed -n 's/^pwdAccountLockedTime: //p'
}
is "gnovak is not locked" "$(field locked "$(dl $T lookup gnovak)")" no
out=$(printf '%s\n' "lookup gnovak" "lock gnovak" "lookup gnovak" |
    dl $T --ttl 60 --script)
is "lock: ok, and the cached answer is dropped at once" \
    "$(printf '%s\n' "$out" | sed -n 's/^\(result\|locked\): //p' | tr '\n' ' ')" \
    "ok no ok ok yes "
like "the directory holds a GeneralizedTime" "$(lockattr gnovak)" \
    '^[0-9]{14}Z$'
out=$(dl $T unlock gnovak)
is "unlock: ok" "$(field result "$out")" ok
is "the attribute is gone" "$(lockattr gnovak)" ""
is "gnovak reads as unlocked" "$(field locked "$(dl $T lookup gnovak)")" no
is "unlocking an unlocked user is fine" \
    "$(field result "$(dl $T unlock gnovak)")" ok
printf '%s\n' "dn: uid=ekim,ou=people,$SLAPD_BASE_DN" "changetype: modify" \
    "replace: pwdAccountLockedTime" "pwdAccountLockedTime: 000001010000Z" |
    slapd_modify
is "a lock set by an admin (000001010000Z) reads as locked" \
    "$(field locked "$(dl $T lookup ekim)")" yes
is "locking an unknown user: PG_ERR_NOTFOUND" \
    "$(field result "$(dl $T lock nobody)")" notfound
out=$(tool $T --uri "$SLAPD_URI" --ca "$SLAPD_CA" --base "$SLAPD_BASE_DN" \
    --lockout-attr pwdAccountLockedTime lock gnovak)
is "anonymous (no write access to the attribute): PG_ERR_AUTH" \
    "$(field result "$out")" auth
is "... and nothing was written" "$(lockattr gnovak)" ""
out=$(tool $T --uri "$SLAPD_URI" --ca "$SLAPD_CA" --base "$SLAPD_BASE_DN" \
    lock gnovak)
is "no lockout attribute configured: PG_ERR_CONFIG" "$(field result "$out")" \
    config

# Many threads on one struct dir, with and without the cache: every answer
# equals the single-threaded one.
names="asmith bjones jberg fmartin nobody twin o(brien ASMITH dlopez"
for ttl in 0 60; do
	out=$(dl $T --ttl "$ttl" threads "16 25 $names")
	is "16 threads x 25 rounds, cache ttl $ttl: all answers as single-threaded" \
	    "$(field threads "$out")" "3600 lookups, 0 differed"
done

# groupOfUniqueNames, and groups within groups (as AD and FreeIPA nest
# them): a role given to a group counts for its member groups' members,
# [directory] group_nesting levels up, a cycle ends, deeper levels do not
# count.
B=$SLAPD_BASE_DN
person() { # UID: a user entry
	printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\n' "$1" "$B"
	printf 'objectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\n' "$1" "$1" "$1"
	printf 'uidNumber: %d\ngidNumber: 3000\nhomeDirectory: /h\n\n' $((2400 + RANDOM % 500))
}
group() { # CLASS CN MEMBER-ATTR MEMBER-DN...: a group entry
	local class=$1 cn=$2 attr=$3 m
	shift 3
	printf 'dn: cn=%s,ou=groups,%s\nobjectClass: %s\ncn: %s\n' "$cn" "$B" "$class" "$cn"
	for m in "$@"; do printf '%s: %s\n' "$attr" "$m"; done
	echo
}
g() { echo "cn=$1,ou=groups,$B"; }
u() { echo "uid=$1,ou=people,$B"; }
{
	person uniq; person nest; person deep
	group groupOfUniqueNames radiologists uniqueMember "$(u uniq)"
	group groupOfNames ward-a member "$(u nest)"
	group groupOfNames ward-staff member "$(g ward-a)"
	group groupOfUniqueNames all-staff uniqueMember "$(g ward-staff)"
	group groupOfNames ring-2 member "$(u nest)"
	group groupOfNames ring-1 member "$(g ring-2)"
	printf 'dn: %s\nchangetype: modify\nadd: member\nmember: %s\n\n' "$(g ring-2)" "$(g ring-1)"
	group groupOfNames lvl1 member "$(u deep)"
	for i in 2 3 4 5 6; do group groupOfNames "lvl$i" member "$(g "lvl$((i - 1))")"; done
	printf 'dn: cn=U-1,ou=careteams,%s\nobjectClass: groupOfUniqueNames\ncn: U-1\nuniqueMember: %s\n\n' "$B" "$(u uniq)"
} >"$WORK/nest.ldif"
slapd_modify "$WORK/nest.ldif"
out=$(dl $T lookup uniq)
is "uniq: a groupOfUniqueNames role (uniqueMember)" "$(field groups "$out")" "radiologists"
is "...and a groupOfUniqueNames care team" "$(field patients "$out")" "U-1"
is "nest, no nesting asked: direct groups only" \
    "$(field groups "$(dl $T --group-nesting 0 lookup nest)")" "ring-2 ward-a"
out=$(dl $T --group-nesting 4 lookup nest)
is "nest, 4 levels: member groups' roles, across member and uniqueMember, a cycle ended" \
    "$(field groups "$out")" "all-staff ring-1 ring-2 ward-a ward-staff"
is "...looked up without error" "$(field result "$out")" ok
is "deep, 4 levels: lvl1 and the four above it, not lvl6" \
    "$(field groups "$(dl $T --group-nesting 4 lookup deep)")" "lvl1 lvl2 lvl3 lvl4 lvl5"
is "deep, 1 level: lvl1 and lvl2" \
    "$(field groups "$(dl $T --group-nesting 1 lookup deep)")" "lvl1 lvl2"
# A group whose cn is not a usable name, found by nesting, is a bad answer.
printf 'dn: cn=bad\\0Aname,ou=groups,%s\nobjectClass: groupOfNames\ncn: bad\\0Aname\nmember: %s\n\n' "$B" "$(g lvl6)" >"$WORK/badnest.ldif"
slapd_modify "$WORK/badnest.ldif"
out=$(dl $T --group-nesting 8 lookup deep)
is "a nested group with an unusable name: PG_ERR_DIR_BADANSWER" "$(field result "$out")" badanswer
like "...saying which" "$(field error "$out")" "name is not a valid cn RDN"

sanitizer_clean
done_testing
