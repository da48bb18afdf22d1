#!/bin/bash
# test_manpage.sh - docs/pam_photoguard.8 documents every module argument
# the parser accepts, every phase's return codes, and renders cleanly.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
MAN=$PG_SOURCE_ROOT/docs/pam_photoguard.8
SRC=$PG_SOURCE_ROOT/pam_module/pam_opts.c

args=$( { grep -o 'value_of(a, "[a-z_]*")' "$SRC" | sed 's/.*"\(.*\)")/\1=/'
	grep -o 'strcmp(a, "[a-z_]*")' "$SRC" | sed 's/.*"\(.*\)")/\1/'; } | sort -u)
check "the parser's arguments were found" test "$(echo "$args" | wc -l)" -ge 8
for a in $args; do
	if grep -q "^\\\\fB$a\\\\fR" "$MAN"; then ok "argument $a documented"
	else not_ok "argument $a documented"; fi
done
for rc in PAM_SUCCESS PAM_AUTH_ERR PAM_IGNORE PAM_AUTHINFO_UNAVAIL \
	PAM_USER_UNKNOWN PAM_SERVICE_ERR PAM_PERM_DENIED PAM_SESSION_ERR; do
	like "$rc described" "$(cat "$MAN")" "^\\.B $rc"
done
for s in 'UsePAM yes' 'KbdInteractiveAuthentication yes' \
	'AuthenticationMethods publickey,keyboard-interactive'; do
	like "sshd setting '$s' shown" "$(cat "$MAN")" "^$s\$"
done
if command -v man >/dev/null; then
	out=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
	is "renders without warnings" "$out" ""
else
	skip "man page rendering" "man is not installed"
fi
done_testing
