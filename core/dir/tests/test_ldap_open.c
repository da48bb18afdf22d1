/*
 * test_ldap_open.c - a config built by hand (as a test or a tool builds
 * one, without the config loader) reaches the LDAP backend only through
 * the same [directory] uri check the loader makes: a list libldap would
 * split its own way, a scheme that does not fit the tls mode, or plain
 * text or an unverified peer off loopback is refused before any
 * connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/dir/dir.h"
#include "core/dir/dir_internal.h"
#include "core/totp/totp.h"

static void
hand_built(
    struct pg_config *c, const char *uri, enum pg_dir_tls tls, bool verify)
{
	memset(c, 0, sizeof(*c));
	c->dir_backend = PG_DIR_LDAP;
	c->dir_uri = (char *)(uintptr_t)uri;
	c->dir_tls = tls;
	c->dir_tls_verify = verify;
	c->dir_base_dn = (char *)(uintptr_t) "dc=clinic,dc=example";
	c->dir_lockout_attr = (char *)(uintptr_t) "pwdAccountLockedTime";
	c->totp_digits = 6;
	c->totp_step_s = 30;
}

struct bad {
	const char *uri;
	enum pg_dir_tls tls;
	bool verify;
	const char *want; /* exact error of the backend */
};

static const struct bad bad[] = {
	{ "ldap://127.0.0.1,ldap://127.0.0.2", PG_TLS_STARTTLS, true,
	    "[directory] uri: separate URIs with spaces, not commas or tabs" },
	{ "ldap://127.0.0.1\tldap://127.0.0.2", PG_TLS_STARTTLS, true,
	    "[directory] uri: separate URIs with spaces, not commas or tabs" },
	{ "ldap://127.0.0.1\nldap://127.0.0.2", PG_TLS_STARTTLS, true,
	    "[directory] uri: separate URIs with spaces, not commas or tabs" },
	{ "ldap://127.0.0.1  ldap://127.0.0.2", PG_TLS_STARTTLS, true,
	    "[directory] uri: empty element (separate URIs with one space)" },
	{ "ldap://127.0.0.1 ldaps://127.0.0.2", PG_TLS_STARTTLS, true,
	    "[directory] uri: mixes ldap:// and ldaps:// (one tls mode serves "
	    "every URI)" },
	{ "ldap://:389", PG_TLS_STARTTLS, true,
	    "[directory] uri: 'ldap://:389' names no host" },
	{ "ldap://a ldap://b ldap://c ldap://d ldap://e", PG_TLS_STARTTLS, true,
	    "[directory] uri: more than 4 URIs" },
	{ NULL, PG_TLS_STARTTLS, true, "[directory] uri: missing" },
	{ "ldap://127.0.0.1", PG_TLS_LDAPS, true,
	    "[directory] tls: 'ldaps' needs an ldaps:// uri" },
	{ "ldaps://127.0.0.1", PG_TLS_STARTTLS, true,
	    "[directory] tls: must be 'ldaps' for an ldaps:// uri" },
	{ "ldap://127.0.0.1", (enum pg_dir_tls)9, true,
	    "[directory] tls: unknown tls mode 9" },
	{ "ldap://dir.clinic.example", PG_TLS_NONE, true,
	    "[directory] tls: 'none' only for a directory on loopback (the "
	    "bind password and every answer would cross the network in "
	    "clear)" },
	{ "ldaps://dir.clinic.example", PG_TLS_LDAPS, false,
	    "[directory] tls_verify: 'no' only for a directory on loopback; "
	    "name a private CA with ca_file" },
};

static void
t_refused(void **state)
{
	struct pg_config c;
	struct dir *d;
	struct dir_ldap *l;
	struct totp_store *st;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hand_built(&c, bad[i].uri, bad[i].tls, bad[i].verify);
		l = (struct dir_ldap *)(uintptr_t)1;
		err[0] = '\0';
		if (dir_ldap_open(&c, &l, err, sizeof(err)) != PG_ERR_CONFIG ||
		    l != NULL || strcmp(err, bad[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err,
			    bad[i].want);
		d = (struct dir *)(uintptr_t)1;
		assert_int_equal(dir_open(&c, &d), PG_ERR_CONFIG);
		assert_null(d);
		st = (struct totp_store *)(uintptr_t)1;
		assert_int_equal(dir_totp_store_open(&c, &st), PG_ERR_CONFIG);
		assert_null(st);
	}
}

/* Over the list's limit by one byte, and at it. */
static void
t_too_long(void **state)
{
	struct pg_config c;
	struct dir *d = NULL;
	char uri[PG_DIR_URI_LIST_MAX + 2];

	(void)state;
	memset(uri, 'a', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	memcpy(uri, "ldap://127.0.0.1 ldap://", 24);
	hand_built(&c, uri, PG_TLS_STARTTLS, true);
	assert_int_equal(dir_open(&c, &d), PG_ERR_CONFIG);
	assert_null(d);
	uri[PG_DIR_URI_LIST_MAX] = '\0';
	assert_int_equal(dir_open(&c, &d), PG_OK);
	dir_free(d);
}

/* What the loader accepts, a hand-built config may use too. */
static void
t_accepted(void **state)
{
	static const struct {
		const char *uri;
		enum pg_dir_tls tls;
		bool verify;
	} good[] = {
		{ "ldap://127.0.0.1:1", PG_TLS_NONE, false },
		{ "ldap://localhost:1 ldap://[::1]:1", PG_TLS_NONE, true },
		{ "ldap://dir.clinic.example ldap://dir2.clinic.example",
		    PG_TLS_STARTTLS, true },
		{ "ldaps://dir.clinic.example:636", PG_TLS_LDAPS, true },
	};
	struct pg_config c;
	struct dir *d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		hand_built(&c, good[i].uri, good[i].tls, good[i].verify);
		d = NULL;
		if (dir_open(&c, &d) != PG_OK)
			fail_msg("case %zu (%s) refused", i, good[i].uri);
		dir_free(d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_refused),
		cmocka_unit_test(t_too_long),
		cmocka_unit_test(t_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
