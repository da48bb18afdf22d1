#!/bin/bash
# ldap_notls.sh - a slapd without any TLS: StartTLS must fail with
# PG_ERR_TLS and never fall back to plain LDAP; plain works only when
# configured.
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
SLAPD_TLS=0
start_fixture_slapd

out=$(tool --uri "$SLAPD_URI" --base "$SLAPD_BASE_DN" lookup asmith)
is "StartTLS against a server without TLS fails with PG_ERR_TLS" \
    "$(field result "$out")" tls
like "the refusal names StartTLS" "$(field error "$out")" "StartTLS"

out=$(tool --uri "$SLAPD_URI" --tls none --base "$SLAPD_BASE_DN" \
    lookup asmith)
is "plain LDAP works there when asked for explicitly" \
    "$(field result "$out")" ok
is "plain LDAP: asmith is a surgeon" "$(field groups "$out")" "surgeons"

sanitizer_clean
done_testing
