# common.sh - shared setup of the directory shell tests: the tool, the
# fixture directory (sample clinic + generated care teams + test entries),
# and helpers to run lookups and pick fields from the answers.
set -u
SRC=${PG_SOURCE_ROOT:?run through meson test}
TOOL=${PG_BUILD_ROOT:?}/core/dir/tests/dir_lookup_tool
. "$SRC/tests/lib/tap.sh"
. "$SRC/tests/lib/slapd.sh"

WORK=$(mktemp -d /tmp/pg-dirtest.XXXXXX)
SLAPD_OWN_DIR=1 # slapd_stop removes WORK with everything in it
trap slapd_stop EXIT
TOOL_ERR="$WORK/tool.stderr"
: >"$TOOL_ERR"

# sanitizer_clean: a TAP point failing on any sanitizer report or
# unexpected message the tool wrote to stderr during the test.
sanitizer_clean() {
	if grep -qE 'Sanitizer|runtime error:|bad command' "$TOOL_ERR"; then
		not_ok "the tool reported no memory or UB errors"
		sed 's/^/#   /' "$TOOL_ERR" | head -40
	else
		ok "the tool reported no memory or UB errors"
	fi
}

# fixture_ldif FILE: the whole test directory as one LDIF.
fixture_ldif() {
	{
		cat "$SRC/deploy/ldap/clinic-sample.ldif"
		echo
		"$SRC/deploy/ldap/gen-clinic.sh" 40
		echo
		cat "$SRC/core/dir/tests/fixture.ldif"
	} >"$1"
}

# start_fixture_slapd: slapd with the fixture, and a bind password file
# for the service account cn=photoguard.
start_fixture_slapd() {
	fixture_ldif "$WORK/fixture.ldif"
	slapd_start "$WORK" "$WORK/fixture.ldif" || {
		echo "Bail out! slapd did not start"
		exit 1
	}
	SVC_DN="cn=photoguard,ou=services,$SLAPD_BASE_DN"
	SVC_PW="svc-$RANDOM$RANDOM"
	ldappasswd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" \
	    -w "$SLAPD_ADMIN_PW" -s "$SVC_PW" "$SVC_DN" >/dev/null || {
		echo "Bail out! could not set the service password"
		exit 1
	}
	PWFILE="$WORK/bind.pw"
	(umask 077 && printf '%s\n' "$SVC_PW" >"$PWFILE")
}

# tool ARGS...: the tool, its stderr kept for sanitizer_clean.
tool() {
	"$TOOL" "$@" 2>>"$TOOL_ERR"
}

# dl ARGS...: the tool on StartTLS with the right CA, bound as the
# service account, lockout attribute pwdAccountLockedTime.
dl() {
	"$TOOL" --uri "$SLAPD_URI" --ca "$SLAPD_CA" --base "$SLAPD_BASE_DN" \
	    --bind-dn "$SVC_DN" --bind-pw-file "$PWFILE" \
	    --lockout-attr pwdAccountLockedTime "$@" 2>>"$TOOL_ERR"
}

# field NAME TEXT: the value of the first "NAME: value" line.
field() {
	printf '%s\n' "$2" | sed -n "s/^$1: \{0,1\}//p" | head -1
}

# hex STRING: STRING as hex digits, for lookuphex.
hex() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}
