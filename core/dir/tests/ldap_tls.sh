#!/bin/bash
# ldap_tls.sh - the LDAP backend against a real slapd over plain LDAP,
# StartTLS and ldaps: the right CA works, a wrong CA fails with a TLS
# error, and the URI scheme must match the TLS mode.
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
start_fixture_slapd

out=$(dl lookup asmith)
is "StartTLS with the right CA finds asmith" "$(field result "$out")" ok
is "StartTLS: asmith's DN" "$(field dn "$out")" \
    "uid=asmith,ou=people,dc=clinic,dc=example"

out=$(dl --uri "$SLAPD_LDAPS_URI" --tls ldaps lookup asmith)
is "ldaps with the right CA finds asmith" "$(field result "$out")" ok

out=$(dl --tls none lookup asmith)
is "plain LDAP when configured PG_TLS_NONE" "$(field result "$out")" ok

out=$(dl --ca "$SLAPD_WRONG_CA" lookup asmith)
is "StartTLS with a wrong CA fails with PG_ERR_TLS" \
    "$(field result "$out")" tls
out=$(dl --uri "$SLAPD_LDAPS_URI" --tls ldaps --ca "$SLAPD_WRONG_CA" \
    lookup asmith)
is "ldaps with a wrong CA fails with PG_ERR_TLS" "$(field result "$out")" tls
like "the TLS failure is explained" "$(field error "$out")" "ldaps connect"

# No CA file: the system store does not know the test CA.
out=$(tool --uri "$SLAPD_URI" --base "$SLAPD_BASE_DN" lookup asmith)
is "StartTLS without our CA (system store) fails with PG_ERR_TLS" \
    "$(field result "$out")" tls

# Host name check: libldap checks "localhost" as this host's own name,
# which the test certificate (127.0.0.1, localhost) does not carry.
h=$(hostname -f 2>/dev/null || hostname)
if [ -z "$h" ] || [ "$h" = localhost ]; then
	skip "ldaps to a host name not in the certificate" \
	    "this host is called localhost"
else
	out=$(dl --uri "ldaps://localhost:$SLAPD_LDAPS_PORT" --tls ldaps \
	    lookup asmith)
	is "ldaps to a host name ($h) not in the certificate: PG_ERR_TLS" \
	    "$(field result "$out")" tls
fi

out=$(dl --uri "$SLAPD_LDAPS_URI" lookup asmith)
is "ldaps:// URI with StartTLS mode is a config error" "$out" "open: config"
out=$(dl --tls ldaps lookup asmith)
is "ldap:// URI with ldaps mode is a config error" "$out" "open: config"
out=$(dl --base "not a dn" lookup asmith)
is "an invalid base DN is a config error" "$out" "open: config"
out=$(dl --user-filter "objectClass=posixAccount" lookup asmith)
is "a filter without parentheses is a config error" "$out" "open: config"

sanitizer_clean
done_testing
