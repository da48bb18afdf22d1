#!/bin/bash
# local.sh - the local backend: groups of real Unix users and groups
# (created here with useradd/groupadd, removed on exit) and the care-team
# file, including malformed files that must make lookups fail closed.
set -u
SRC=${PG_SOURCE_ROOT:?run through meson test}
TOOL=${PG_BUILD_ROOT:?}/core/dir/tests/dir_lookup_tool
. "$SRC/tests/lib/tap.sh"

WORK=$(mktemp -d /tmp/pg-dirlocal.XXXXXX)
tag=$$
U1=pgd${tag}a
U2=pgd${tag}b
G1=pgd${tag}surg
G2=pgd${tag}photo
cleanup() {
	userdel "$U1" 2>/dev/null
	userdel "$U2" 2>/dev/null
	groupdel "$U2" 2>/dev/null
	groupdel "$G1" 2>/dev/null
	groupdel "$G2" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null; then
	skip "local backend with real users" "needs root and useradd"
	done_testing
	exit
fi
groupadd "$G1" && groupadd "$G2" &&
    useradd -M -N -g users -G "$G1,$G2" -s /usr/sbin/nologin "$U1" &&
    useradd -M -U -s /usr/sbin/nologin "$U2" || {
	echo "Bail out! could not create test users and groups"
	exit 1
}

CT="$WORK/careteams"
writect() { (umask 077 && cat >"$CT"); }
TOOL_ERR="$WORK/tool.stderr"
: >"$TOOL_ERR"
tool() { "$TOOL" "$@" 2>>"$TOOL_ERR"; }
loc() { "$TOOL" --backend local --care-file "$CT" "$@" 2>>"$TOOL_ERR"; }
sanitizer_clean() {
	if grep -qE 'Sanitizer|runtime error:|bad command' "$TOOL_ERR"; then
		not_ok "the tool reported no memory or UB errors"
		sed 's/^/#   /' "$TOOL_ERR" | head -40
	else
		ok "the tool reported no memory or UB errors"
	fi
}
field() { printf '%s\n' "$2" | sed -n "s/^$1: \{0,1\}//p" | head -1; }

writect <<CT
# care teams of the test clinic
P000003: $U1 someone-else   # trailing comment

P000001:$U1
P000002 :	nobody-here
P-EMPTY:
CT
out=$(loc lookup "$U1")
is "local: $U1 found" "$(field result "$out")" ok
want=$(printf '%s\n' users "$G1" "$G2" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
is "local: $U1's groups (primary and supplementary), sorted" \
    "$(field groups "$out")" "$want"
is "local: $U1's care teams, sorted" "$(field patients "$out")" \
    "P000001 P000003"
is "local: no DN" "$(field dn "$out")" "-"
out=$(loc lookup "$U2")
is "local: $U2 is in its own group only" "$(field groups "$out")" "$U2"
is "local: $U2 is on no care team" "$(field patients "$out")" ""
is "local: a user not in passwd is NOTFOUND (even if on a care team)" \
    "$(field result "$(loc lookup nobody-here)")" notfound
is "local: NUL in the name is INVAL" \
    "$(field result "$(loc lookuphex 726f6f7400)")" inval
is "local: set_locked is not available (CONFIG)" \
    "$(field result "$(loc lock "$U1")")" config
is "local: no care-team file configured means no care teams" \
    "$(field patients "$(tool --backend local lookup "$U1")")" ""

# Malformed files: every lookup fails, and the message names file:line.
bad() {
	local desc=$1 line=$2 msg=$3 code=${4:-parse}
	writect
	out=$(loc lookup "$U1")
	is "malformed ($desc): lookups fail with $code" \
	    "$(field result "$out")" "$code"
	like "malformed ($desc): the error names $CT:$line" \
	    "$(field error "$out")" "^$CT:$line: .*$msg"
}
bad "no colon" 3 "no ':'" < <(printf '# ok\nP1: %s\nP2 %s\n' "$U1" "$U1")
bad "slash in patient id" 3 "invalid patient id" \
    < <(printf 'P1: %s\n\nP/2: %s\n' "$U1" "$U1")
bad "bad user name" 1 "invalid user" < <(printf 'P1: %s bad*name\n' "$U1")
bad "duplicate patient" 3 "already listed on line 1" \
    < <(printf 'P1: %s\nP2: x\nP1: y\n' "$U1")
bad "empty patient id" 2 "invalid patient id" < <(printf 'P1: %s\n: x\n' "$U1")
bad "NUL byte" 2 "NUL" < <(printf 'P1: %s\nP2: a\0b\n' "$U1")
bad "too many members" 2 "members" toobig < <(
	printf 'P1: %s\nP2:' "$U1"
	for i in $(seq 1 1100); do printf ' u%d' "$i"; done
	echo
)
{ printf 'P1: %s\nP2: ' "$U1"; head -c 9000 /dev/zero | tr '\0' a; echo; } |
    writect
is "malformed (line over 8192 bytes): refused" \
    "$(field result "$(loc lookup "$U1")")" toobig

# Fixed on the fly: the next lookup reads the new file.
printf 'P1 %s\n' "$U1" | writect
out=$(printf '%s\n' "lookup $U1" "sh printf 'P9: $U1\\n' >$CT" \
    "lookup $U1" | loc --script)
is "a broken file fails, the fixed file is picked up without a restart" \
    "$(printf '%s\n' "$out" | sed -n 's/^\(result\|patients\): //p' | tr '\n' ' ')" \
    "parse ok P9 "
out=$(printf '%s\n' "lookup $U1" "sh printf 'P9 $U1\\n' >$CT" \
    "lookup $U1" | loc --script)
is "a good file broken later: lookups fail closed, no stale teams" \
    "$(printf '%s\n' "$out" | sed -n 's/^result: //p' | tr '\n' ' ')" \
    "ok parse "

printf 'P1: %s\n' "$U1" | writect
chmod 0644 "$CT"
is "a care-team file others can read or write is refused" \
    "$(field result "$(loc lookup "$U1")")" perm
rm -f "$CT"
is "a missing care-team file fails the lookup" \
    "$(field result "$(loc lookup "$U1")")" io
ln -s /etc/hostname "$CT"
is "a symlinked care-team file is refused" \
    "$(field result "$(loc lookup "$U1")")" symlink

sanitizer_clean
done_testing
