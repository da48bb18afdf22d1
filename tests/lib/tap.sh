# tap.sh - tiny TAP producer for the shell integration tests.
# Source it, then call ok/not_ok/is/skip; done_testing prints the plan and
# exits non-zero if anything failed.
tap_n=0
tap_failed=0

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# check DESCRIPTION COMMAND...: ok if the command succeeds.
check() {
	local desc=$1
	shift
	# The command's own output is not TAP: it goes to stderr, which the
	# harness logs but does not parse.
	if "$@" >&2; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
	fi
}

# like DESCRIPTION TEXT REGEX
like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   %s\n' "$2" | head -20
		printf '#   does not match: %s\n' "$3"
	fi
}

# unlike DESCRIPTION TEXT REGEX: TEXT does not match REGEX.
unlike() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		not_ok "$1"
		printf '#   %s\n' "$2" | head -20
		printf '#   matches: %s\n' "$3"
	else
		ok "$1"
	fi
}

# skip DESCRIPTION REASON: a skip always says why, loudly.
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
	echo "SKIPPED: $1: $2" >&2
}

diag() {
	printf '# %s\n' "$*"
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
