/*
 * test_config.c - photoguard.conf: defaults, every kind of bad input, and
 * the file checks of pg_config_load().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config/config.h"
#include "base/base.h"

static const char *good =
    "[directory]\n"
    "backend = ldap\n"
    "uri = ldap://127.0.0.1:3890\n"
    "base_dn = dc=clinic,dc=example\n"
    "bind_dn = cn=photoguard,ou=services,dc=clinic,dc=example\n"
    "bind_password_file = /etc/photoguard/ldap.secret\n"
    "network_timeout = 500ms\n"
    "cache_ttl = 2m\n"
    "; a comment\n"
    "[audit]\n"
    "durability = fsync\n"
    "checkpoint_every = 10\n"
    "[totp]\n"
    "window = 2\n"
    "failure_window = 1h\n";

static void
test_good(void **state)
{
	struct pg_config *c = NULL;
	char err[512];

	(void)state;
	assert_int_equal(
	    pg_config_parse("t.conf", good, &c, err, sizeof(err)), PG_OK);
	assert_non_null(c);
	assert_int_equal(c->dir_backend, PG_DIR_LDAP);
	assert_string_equal(c->dir_uri, "ldap://127.0.0.1:3890");
	assert_int_equal(c->dir_tls, PG_TLS_STARTTLS);
	assert_true(c->dir_tls_verify);
	assert_int_equal(c->dir_network_timeout_ms, 500);
	assert_int_equal(c->dir_timeout_ms, 5000);
	assert_int_equal(c->dir_cache_ttl_s, 120);
	assert_int_equal(c->audit_durability, PG_DURABLE_FSYNC);
	assert_int_equal(c->audit_checkpoint_every, 10);
	assert_int_equal(c->totp_window, 2);
	assert_int_equal(c->totp_failure_window_s, 3600);
	assert_int_equal(c->totp_max_failures, 5);
	assert_null(c->dir_lockout_attr);
	assert_null(c->lockout_hook);
	assert_string_equal(c->store_root, "/var/lib/photoguard/store");
	pg_config_free(c);
}

static void
test_empty_is_local_defaults(void **state)
{
	struct pg_config *c = NULL;
	char err[512];

	(void)state;
	assert_int_equal(
	    pg_config_parse("e.conf", "", &c, err, sizeof(err)), PG_OK);
	assert_int_equal(c->dir_backend, PG_DIR_LOCAL);
	assert_string_equal(
	    c->dir_care_team_file, "/etc/photoguard/care-teams");
	assert_int_equal(c->audit_durability, PG_DURABLE_BATCH);
	assert_int_equal(c->audit_batch_ms, 50);
	assert_string_equal(c->audit_syslog_socket, "/dev/log");
	assert_int_equal(c->audit_heartbeat_s, 300);
	assert_int_equal(c->totp_step_s, 30);
	assert_int_equal(c->totp_store, PG_TOTP_FILES);
	pg_config_free(c);
}

static void
test_totp_store_directory(void **state)
{
	struct pg_config *c = NULL;
	char err[512];

	(void)state;
	if (pg_config_parse("d.conf",
	        "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	        "base_dn=dc=x\nbind_dn=cn=pg\nbind_password_file=/pw\n"
	        "lockout_attribute=pwdAccountLockedTime\n"
	        "[totp]\nstore = directory\n",
	        &c, err, sizeof(err)) != PG_OK)
		fail_msg("%s", err);
	assert_int_equal(c->totp_store, PG_TOTP_DIRECTORY);
	assert_int_equal(c->lockout_budget, PG_BUDGET_LOCAL);
	assert_int_equal(c->lockout_lease_s, 30);
	assert_int_equal(c->lockout_hook_timeout_s, 30);
	pg_config_free(c);
	if (pg_config_parse("d.conf",
	        "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	        "base_dn=dc=x\nbind_dn=cn=pg\nbind_password_file=/pw\n"
	        "lockout_attribute=pwdAccountLockedTime\n"
	        "[lockout]\nbudget = directory\nlease = 5s\n",
	        &c, err, sizeof(err)) != PG_OK)
		fail_msg("%s", err);
	assert_int_equal(c->lockout_budget, PG_BUDGET_DIRECTORY);
	assert_int_equal(c->lockout_lease_s, 5);
	pg_config_free(c);
}

static void
test_loopback_may_go_plain(void **state)
{
	static const char *const uris[] = { "ldap://127.0.0.1:3890",
		"ldap://localhost", "ldap://[::1]:389", "ldap://127.9.8.7/",
		"ldap://127.0.0.1:3890 ldap://127.0.0.1:3891",
		"ldap://localhost:1 ldap://[::1]:2 ldap://127.0.0.2 "
		"ldap://127.0.0.3" };
	struct pg_config *c = NULL;
	char buf[256], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		snprintf(buf, sizeof(buf),
		    "[directory]\nbackend=ldap\nuri=%s\nbase_dn=dc=x\n"
		    "tls=none\ntls_verify=no\n",
		    uris[i]);
		if (pg_config_parse("l.conf", buf, &c, err, sizeof(err)) != 0)
			fail_msg("%s: %s", uris[i], err);
		assert_int_equal(c->dir_tls, PG_TLS_NONE);
		pg_config_free(c);
	}
}

static void
test_ldaps_sets_tls(void **state)
{
	struct pg_config *c = NULL;
	char err[512];

	(void)state;
	assert_int_equal(pg_config_parse("l.conf",
	                     "[directory]\nbackend=ldap\nuri=ldaps://h\n"
	                     "base_dn=dc=x\n",
	                     &c, err, sizeof(err)),
	    PG_OK);
	assert_int_equal(c->dir_tls, PG_TLS_LDAPS);
	pg_config_free(c);
}

static void
test_uri_list(void **state)
{
	struct pg_config *c = NULL;
	char err[512];

	(void)state;
	assert_int_equal(pg_config_parse("l.conf",
	                     "[directory]\nbackend=ldap\n"
	                     "uri=ldaps://p1.clinic.example "
	                     "LDAPS://p2.clinic.example:636\nbase_dn=dc=x\n",
	                     &c, err, sizeof(err)),
	    PG_OK);
	assert_int_equal(c->dir_tls, PG_TLS_LDAPS);
	assert_string_equal(c->dir_uri,
	    "ldaps://p1.clinic.example LDAPS://p2.clinic.example:636");
	pg_config_free(c);
}

struct bad {
	const char *text;
	const char *want; /* exact error message */
};

static const struct bad bad[] = {
	{ "[directory]\nbackend = ldap\nfoo = 1\n",
	    "b.conf:3: [directory] foo: unknown key" },
	{ "[dirctory]\nbackend = ldap\n",
	    "b.conf:2: unknown section [dirctory]" },
	{ "backend = ldap\n",
	    "b.conf:1: key 'backend' outside of any section" },
	{ "[directory]\nbackend = ldapx\n",
	    "b.conf:2: [directory] backend: must be 'ldap' or 'local'" },
	{ "[directory]\nbackend = ldap\nbase_dn = dc=x\n",
	    "b.conf:1: [directory] uri: required key missing (backend = ldap)" },
	{ "[directory]\nbackend = ldap\nuri = ldap://h\n",
	    "b.conf:1: [directory] base_dn: required key missing (backend = ldap)" },
	{ "[directory]\nbackend=ldap\nuri=http://h\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: must start with ldap:// or ldaps://" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a http://h\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: must start with ldap:// or ldaps://" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a  ldap://b\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: empty element (separate URIs with one space)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a,ldap://b\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: separate URIs with spaces, not commas or tabs" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a\tldap://b\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: separate URIs with spaces, not commas or tabs" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a ldaps://b\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: mixes ldap:// and ldaps:// (one tls mode serves every URI)" },
	{ "[directory]\nbackend=ldap\nuri=ldaps://a ldap://b\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: mixes ldap:// and ldaps:// (one tls mode serves every URI)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a ldap:// \nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: 'ldap://' names no host" },
	{ "[directory]\nbackend=ldap\nuri=ldap://:389\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: 'ldap://:389' names no host" },
	{ "[directory]\nbackend=ldap\n"
	  "uri=ldap://a ldap://b ldap://c ldap://d ldap://e\nbase_dn=dc=x\n",
	    "b.conf:3: [directory] uri: more than 4 URIs" },
	{ "[directory]\nbackend=ldap\nuri=ldap://127.0.0.1 ldap://dir.clinic.example\n"
	  "base_dn=dc=x\ntls = none\n",
	    "b.conf:5: [directory] tls: 'none' only for a directory on loopback (the bind password and every answer would cross the network in clear)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example ldap://localhost\n"
	  "base_dn=dc=x\ntls_verify = no\n",
	    "b.conf:5: [directory] tls_verify: 'no' only for a directory on loopback; name a private CA with ca_file" },
	{ "[directory]\nbackend=ldap\nuri=ldap://a ldap://b\nbase_dn=dc=x\ntls=ldaps\n",
	    "b.conf:1: [directory] tls: 'ldaps' needs an ldaps:// uri" },
	{ "[directory]\nbackend=ldap\nuri=ldap://h\nbase_dn=dc=x\ntls=ldaps\n",
	    "b.conf:1: [directory] tls: 'ldaps' needs an ldaps:// uri" },
	{ "[directory]\nbackend=ldap\nuri=ldaps://h\nbase_dn=dc=x\ntls=none\n",
	    "b.conf:1: [directory] tls: must be 'ldaps' for an ldaps:// uri" },
	{ "[directory]\nbind_dn = cn=x\n",
	    "b.conf:1: [directory] bind_password_file: required key missing (bind_dn is set)" },
	{ "[directory]\ntls_verify = maybe\n",
	    "b.conf:2: [directory] tls_verify: must be yes or no" },
	{ "[directory]\nnetwork_timeout = 5 s\n",
	    "b.conf:2: [directory] network_timeout: not a duration (e.g. 500ms, 30s, 15m, 1h, 1d)" },
	{ "[directory]\nnetwork_timeout = 10ms\n",
	    "b.conf:2: [directory] network_timeout: value out of range (see `photoguard config keys`)" },
	{ "[directory]\ncache_ttl = -1\n",
	    "b.conf:2: [directory] cache_ttl: not a duration (e.g. 500ms, 30s, 15m, 1h, 1d)" },
	{ "[totp]\nstep = 1500ms\n",
	    "b.conf:2: [totp] step: must be whole seconds" },
	{ "[totp]\nmax_failures = 101\n",
	    "b.conf:2: [totp] max_failures: value out of range (see `photoguard config keys`)" },
	{ "[totp]\nwindow = 1x\n", "b.conf:2: [totp] window: not an integer" },
	{ "[totp]\nwindow = 99999999999999999999\n",
	    "b.conf:2: [totp] window: not an integer" },
	{ "[audit]\nbatch_ms = 200ms\n",
	    "b.conf:2: [audit] batch_ms: value out of range (see `photoguard config keys`)" },
	{ "[audit]\ndurability = sometimes\n",
	    "b.conf:2: [audit] durability: must be 'fsync' or 'batch'" },
	{ "[audit]\nlog = relative/audit.jsonl\n",
	    "b.conf:2: [audit] log: must be an absolute path" },
	{ "[audit]\nlog =\n", "b.conf:2: [audit] log: empty value" },
	{ "[audit]\nsyslog_socket = run/photoguard-audit.sock\n",
	    "b.conf:2: [audit] syslog_socket: must be an absolute path" },
	{ "[audit]\nheartbeat = 2d\n",
	    "b.conf:2: [audit] heartbeat: value out of range (see `photoguard config keys`)" },
	{ "[audit]\nheartbeat = often\n",
	    "b.conf:2: [audit] heartbeat: not a duration (e.g. 500ms, 30s, 15m, 1h, 1d)" },
	{ "[policy]\nfile = /a\n\nfile = /b\n",
	    "b.conf:4: [policy] file: set twice (first on line 2)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\ntls = none\n",
	    "b.conf:5: [directory] tls: 'none' only for a directory on loopback (the bind password and every answer would cross the network in clear)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://127.0.0.1.evil.example\n"
	  "base_dn=dc=x\ntls = none\n",
	    "b.conf:5: [directory] tls: 'none' only for a directory on loopback (the bind password and every answer would cross the network in clear)" },
	{ "[directory]\nbackend=ldap\nuri=ldaps://dir.clinic.example\n"
	  "base_dn=dc=x\ntls_verify = no\n",
	    "b.conf:5: [directory] tls_verify: 'no' only for a directory on loopback; name a private CA with ca_file" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\nlockout_attribute = pwdAccountLockedTime\n",
	    "b.conf:5: [directory] lockout_attribute: needs bind_dn (an anonymous bind may not read or write it, and an unreadable attribute would look unlocked)" },
	{ "[totp]\nstore = ldap\n",
	    "b.conf:2: [totp] store: must be 'files' or 'directory'" },
	{ "[totp]\nstore = directory\n",
	    "b.conf:2: [totp] store: needs [directory] backend = ldap" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\n[totp]\nstore = directory\n",
	    "b.conf:6: [totp] store: needs [directory] bind_dn (the secrets are readable by the bind identity only)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\nbind_dn=cn=pg\nbind_password_file=/pw\n"
	  "[totp]\nstore = directory\n",
	    "b.conf:8: [totp] store: needs [directory] lockout_attribute (a lock on wrong codes must reach every server)" },
	{ "[lockout]\nbudget = ldap\n",
	    "b.conf:2: [lockout] budget: must be 'local' or 'directory'" },
	{ "[lockout]\nbudget = directory\n",
	    "b.conf:2: [lockout] budget: needs [directory] backend = ldap" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\n[lockout]\nbudget = directory\n",
	    "b.conf:6: [lockout] budget: needs [directory] bind_dn (the leases are written by the bind identity only)" },
	{ "[directory]\nbackend=ldap\nuri=ldap://dir.clinic.example\n"
	  "base_dn=dc=x\nbind_dn=cn=pg\nbind_password_file=/pw\n"
	  "[lockout]\nbudget = directory\n",
	    "b.conf:8: [lockout] budget: needs [directory] lockout_attribute (a lock on bulk reads must reach every server)" },
	{ "[lockout]\nhook_timeout = 0s\n",
	    "b.conf:2: [lockout] hook_timeout: value out of range (see `photoguard config keys`)" },
	{ "[lockout]\nhook_timeout = 11m\n",
	    "b.conf:2: [lockout] hook_timeout: value out of range (see `photoguard config keys`)" },
	{ "[lockout]\nhook = hook.sh\n",
	    "b.conf:2: [lockout] hook: must be an absolute path" },
	{ "[lockout]\nlease = 0s\n",
	    "b.conf:2: [lockout] lease: value out of range (see `photoguard config keys`)" },
	{ "[lockout]\nlease = 11m\n",
	    "b.conf:2: [lockout] lease: value out of range (see `photoguard config keys`)" },
	{ "[policy]\nthis line has no equals sign\n",
	    "b.conf:2: syntax error (expected [section] or key = value)" },
	{ "[policy\nfile = /a\n",
	    "b.conf:1: syntax error (expected [section] or key = value)" },
};

static void
test_bad(void **state)
{
	struct pg_config *c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct pg_config *)(uintptr_t)1;
		assert_int_equal(pg_config_parse("b.conf", bad[i].text, &c, err,
		                     sizeof(err)),
		    PG_ERR_CONFIG);
		assert_null(c);
		if (strcmp(err, bad[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err,
			    bad[i].want);
	}
}

/* One byte over the list's limit, made of two well-formed URIs. */
static void
test_uri_too_long(void **state)
{
	struct pg_config *c = NULL;
	char err[512], buf[4096];
	char host[PG_DIR_URI_LIST_MAX];
	size_t h = (PG_DIR_URI_LIST_MAX + 1 - 2 * strlen("ldap://") - 1) / 2;

	(void)state;
	memset(host, 'a', h);
	host[h] = '\0';
	snprintf(buf, sizeof(buf),
	    "[directory]\nbackend=ldap\nuri=ldap://%s ldap://%s\n"
	    "base_dn=dc=x\n",
	    host, host);
	assert_int_equal(pg_config_parse("b.conf", buf, &c, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_null(c);
	assert_string_equal(err,
	    "b.conf:3: [directory] uri: too long (at most 180 characters)");
	/* At the limit it is accepted. */
	snprintf(buf, sizeof(buf),
	    "[directory]\nbackend=ldap\nuri=ldap://%s ldap://%.*s\n"
	    "base_dn=dc=x\n",
	    host, (int)(PG_DIR_URI_LIST_MAX - (h + 7) - 1 - 7), host);
	if (pg_config_parse("b.conf", buf, &c, err, sizeof(err)) != PG_OK)
		fail_msg("%s", err);
	assert_int_equal(strlen(c->dir_uri), PG_DIR_URI_LIST_MAX);
	pg_config_free(c);
}

/* One call of pg_config_check_uris(), as the LDAP backend makes it. */
struct uri_case {
	const char *list;
	enum pg_dir_tls tls;
	bool verify;
	enum pg_uri_fault fault;
	const char *want; /* exact message; NULL: accepted */
};

static const struct uri_case uri_cases[] = {
	{ "ldap://a  ldap://b", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "empty element (separate URIs with one space)" },
	{ " ldap://a", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "empty element (separate URIs with one space)" },
	{ "ldap://a ", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "empty element (separate URIs with one space)" },
	{ "", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "empty element (separate URIs with one space)" },
	{ "ldap://a,ldap://b", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "separate URIs with spaces, not commas or tabs" },
	{ "ldap://a\tldap://b", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "separate URIs with spaces, not commas or tabs" },
	{ "ldap://a\nldap://b", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "separate URIs with spaces, not commas or tabs" },
	{ "ldap://a ldaps://b", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "mixes ldap:// and ldaps:// (one tls mode serves every URI)" },
	{ "ldaps://a ldap://b", PG_TLS_LDAPS, true, PG_URI_BAD_LIST,
	    "mixes ldap:// and ldaps:// (one tls mode serves every URI)" },
	{ "ldap://", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "'ldap://' names no host" },
	{ "ldaps://:636", PG_TLS_LDAPS, true, PG_URI_BAD_LIST,
	    "'ldaps://:636' names no host" },
	{ "ldap://a ldap:///dc=x", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "'ldap:///dc=x' names no host" },
	{ "http://a", PG_TLS_STARTTLS, true, PG_URI_BAD_LIST,
	    "must start with ldap:// or ldaps://" },
	{ "ldap://a ldap://b ldap://c ldap://d ldap://e", PG_TLS_STARTTLS, true,
	    PG_URI_BAD_LIST, "more than 4 URIs" },
	{ NULL, PG_TLS_STARTTLS, true, PG_URI_BAD_LIST, "missing" },
	{ "ldap://a", PG_TLS_LDAPS, true, PG_URI_BAD_SCHEME,
	    "'ldaps' needs an ldaps:// uri" },
	{ "ldaps://a", PG_TLS_STARTTLS, true, PG_URI_BAD_SCHEME,
	    "must be 'ldaps' for an ldaps:// uri" },
	{ "ldaps://127.0.0.1", PG_TLS_NONE, true, PG_URI_BAD_SCHEME,
	    "must be 'ldaps' for an ldaps:// uri" },
	{ "ldap://a", (enum pg_dir_tls)7, true, PG_URI_BAD_TLS,
	    "unknown tls mode 7" },
	{ "ldap://dir.clinic.example", PG_TLS_NONE, true, PG_URI_BAD_TLS,
	    "'none' only for a directory on loopback (the bind password and "
	    "every answer would cross the network in clear)" },
	{ "ldap://127.0.0.1 ldap://dir.clinic.example", PG_TLS_NONE, true,
	    PG_URI_BAD_TLS,
	    "'none' only for a directory on loopback (the bind password and "
	    "every answer would cross the network in clear)" },
	{ "ldap://127.0.0.1.evil.example", PG_TLS_NONE, true, PG_URI_BAD_TLS,
	    "'none' only for a directory on loopback (the bind password and "
	    "every answer would cross the network in clear)" },
	{ "ldap://[::1].evil.example", PG_TLS_NONE, true, PG_URI_BAD_TLS,
	    "'none' only for a directory on loopback (the bind password and "
	    "every answer would cross the network in clear)" },
	{ "ldap://localhost.evil.example", PG_TLS_NONE, true, PG_URI_BAD_TLS,
	    "'none' only for a directory on loopback (the bind password and "
	    "every answer would cross the network in clear)" },
	{ "ldaps://dir.clinic.example", PG_TLS_LDAPS, false, PG_URI_BAD_VERIFY,
	    "'no' only for a directory on loopback; name a private CA with "
	    "ca_file" },
	{ "ldap://localhost ldap://dir.clinic.example", PG_TLS_STARTTLS, false,
	    PG_URI_BAD_VERIFY,
	    "'no' only for a directory on loopback; name a private CA with "
	    "ca_file" },
	/* Accepted. */
	{ "ldap://a ldap://b:389 ldap://c/ LDAP://d", PG_TLS_STARTTLS, true,
	    PG_URI_BAD_LIST, NULL },
	{ "ldaps://a LDAPS://b:636", PG_TLS_LDAPS, true, PG_URI_BAD_LIST,
	    NULL },
	{ "ldap://127.0.0.1:389 ldap://localhost ldap://[::1]:3890",
	    PG_TLS_NONE, false, PG_URI_BAD_LIST, NULL },
	{ "ldaps://LOCALHOST:636/", PG_TLS_LDAPS, false, PG_URI_BAD_LIST,
	    NULL },
};

static void
test_check_uris(void **state)
{
	enum pg_uri_fault fault;
	char err[256], list[PG_DIR_URI_LIST_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uri_cases) / sizeof(uri_cases[0]); i++) {
		const struct uri_case *u = &uri_cases[i];
		int r;

		fault = (enum pg_uri_fault) - 1;
		r = pg_config_check_uris(
		    u->list, u->tls, u->verify, &fault, err, sizeof(err));
		if (u->want == NULL) {
			if (r != PG_OK)
				fail_msg("case %zu: refused: %s", i, err);
			continue;
		}
		if (r != PG_ERR_CONFIG || fault != u->fault ||
		    strcmp(err, u->want) != 0)
			fail_msg("case %zu: got %d, fault %d, '%s'; want "
			         "fault %d, '%s'",
			    i, r, (int)fault, err, (int)u->fault, u->want);
	}
	/* Over the length limit by one byte, made of well-formed URIs. */
	memset(list, 'a', sizeof(list) - 1);
	list[sizeof(list) - 1] = '\0';
	memcpy(list, "ldap://", 7);
	memcpy(list + 90, " ldap://", 8);
	assert_int_equal(strlen(list), PG_DIR_URI_LIST_MAX + 1);
	assert_int_equal(pg_config_check_uris(list, PG_TLS_STARTTLS, true,
	                     &fault, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_int_equal(fault, PG_URI_BAD_LIST);
	assert_string_equal(err, "too long (at most 180 characters)");
	list[PG_DIR_URI_LIST_MAX] = '\0';
	assert_int_equal(pg_config_check_uris(list, PG_TLS_STARTTLS, true,
	                     &fault, err, sizeof(err)),
	    PG_OK);
	/* No fault pointer and a short error buffer are fine. */
	assert_int_equal(pg_config_check_uris(
	                     "ldap://a,b", PG_TLS_STARTTLS, true, NULL, err, 8),
	    PG_ERR_CONFIG);
	assert_string_equal(err, "separat");
}

static void
test_long_line(void **state)
{
	struct pg_config *c = NULL;
	char err[512];
	char *buf = malloc(9000);

	(void)state;
	assert_non_null(buf);
	strcpy(buf, "[policy]\nfile = /");
	memset(buf + strlen(buf), 'a', 8000);
	buf[17 + 8000] = '\0';
	assert_int_equal(pg_config_parse("b.conf", buf, &c, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_string_equal(err, "b.conf:2: line too long");
	free(buf);
}

static char tmpdir[64];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_load_file(void **state)
{
	struct pg_config *c = NULL;
	char err[512], path[128], link[128];

	(void)state;
	strcpy(tmpdir, "/tmp/pgcfg.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("ok.conf", "[totp]\nwindow = 3\n", 0644);
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	assert_int_equal(pg_config_load(path, &c, err, sizeof(err)), PG_OK);
	assert_int_equal(c->totp_window, 3);
	assert_string_equal(c->path, path);
	pg_config_free(c);

	/* The environment names the default file. */
	setenv(PG_CONFIG_ENV, path, 1);
	assert_string_equal(pg_config_default_path(), path);
	assert_int_equal(pg_config_load(NULL, &c, err, sizeof(err)), PG_OK);
	pg_config_free(c);
	unsetenv(PG_CONFIG_ENV);
	assert_string_equal(pg_config_default_path(), PG_CONFIG_DEFAULT_PATH);

	/* Writable by others: anyone could rewrite the policy path. */
	write_file("gw.conf", "[totp]\nwindow = 3\n", 0664);
	snprintf(path, sizeof(path), "%s/gw.conf", tmpdir);
	assert_int_equal(
	    pg_config_load(path, &c, err, sizeof(err)), PG_ERR_PERM);
	assert_null(c);
	assert_non_null(strstr(err, "not writable by group or others"));

	/* A symlink is not followed. */
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(
	    pg_config_load(link, &c, err, sizeof(err)), PG_ERR_SYMLINK);

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(
	    pg_config_load(path, &c, err, sizeof(err)), PG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "missing.conf: cannot read config"));
}

/* The offline cache's keys live under [directory]; the old [totp]
 * spellings still load, with a warning, and may not disagree. */
static struct pg_config *
parse_ok(const char *text)
{
	struct pg_config *c = NULL;
	char err[512];

	if (pg_config_parse("o.conf", text, &c, err, sizeof(err)) != PG_OK)
		fail_msg("'%s' did not load: %s", text, err);
	return c;
}

static void
test_offline_keys(void **state)
{
	struct pg_config *c;
	char err[512];

	(void)state;
	/* Defaults, and no warning. */
	c = parse_ok("");
	assert_null(c->dir_offline_cache_dir);
	assert_int_equal(c->dir_offline_max_age_s, 86400);
	assert_int_equal(c->nwarnings, 0);
	pg_config_free(c);

	/* The new spelling. */
	c = parse_ok("[directory]\noffline_cache_dir = /var/cache/pg\n"
	             "offline_max_age = 2h\n");
	assert_string_equal(c->dir_offline_cache_dir, "/var/cache/pg");
	assert_int_equal(c->dir_offline_max_age_s, 7200);
	assert_int_equal(c->nwarnings, 0);
	pg_config_free(c);

	/* The old spelling: same effect, one warning per key. */
	c = parse_ok("[totp]\nwindow = 1\noffline_cache_dir = /var/cache/pg\n"
	             "offline_max_age = 2h\n");
	assert_string_equal(c->dir_offline_cache_dir, "/var/cache/pg");
	assert_int_equal(c->dir_offline_max_age_s, 7200);
	assert_int_equal(c->nwarnings, 2);
	assert_string_equal(c->warnings[0],
	    "o.conf:3: [totp] offline_cache_dir is deprecated; write "
	    "[directory] offline_cache_dir");
	assert_string_equal(c->warnings[1],
	    "o.conf:4: [totp] offline_max_age is deprecated; write "
	    "[directory] offline_max_age");
	pg_config_free(c);

	/* Both, meaning the same: loads, and says to remove the old one. */
	c = parse_ok("[directory]\noffline_max_age = 1h\n"
	             "[totp]\noffline_max_age = 60m\n");
	assert_int_equal(c->dir_offline_max_age_s, 3600);
	assert_int_equal(c->nwarnings, 1);
	assert_string_equal(c->warnings[0],
	    "o.conf:4: [totp] offline_max_age is deprecated and repeats "
	    "[directory] offline_max_age; remove it");
	pg_config_free(c);

	/* Both, disagreeing: an error, whichever comes first. */
	c = NULL;
	assert_int_equal(pg_config_parse("o.conf",
	                     "[totp]\noffline_cache_dir = /a\n"
	                     "[directory]\noffline_cache_dir = /b\n",
	                     &c, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_null(c);
	assert_string_equal(err,
	    "o.conf:4: [directory] offline_cache_dir: also set as [totp] "
	    "offline_cache_dir on line 2, to a different value; keep only "
	    "[directory] offline_cache_dir");
	assert_int_equal(pg_config_parse("o.conf",
	                     "[directory]\noffline_max_age = 1h\n"
	                     "[totp]\noffline_max_age = 2h\n",
	                     &c, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_string_equal(err,
	    "o.conf:4: [totp] offline_max_age: also set as [directory] "
	    "offline_max_age on line 2, to a different value; keep only "
	    "[directory] offline_max_age");
	/* One spelling twice is set twice, as for any key; a bad value
	 * under the old spelling is as bad as under the new. */
	assert_int_equal(
	    pg_config_parse("o.conf",
	        "[totp]\noffline_max_age = 1h\noffline_max_age = 1h\n", &c, err,
	        sizeof(err)),
	    PG_ERR_CONFIG);
	assert_string_equal(err,
	    "o.conf:3: [totp] offline_max_age: set twice (first on line 2)");
	assert_int_equal(
	    pg_config_parse("o.conf", "[totp]\noffline_cache_dir = relative\n",
	        &c, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_string_equal(err,
	    "o.conf:2: [totp] offline_cache_dir: must be an absolute path");
}

static void
test_keys_documented(void **state)
{
	const struct pg_config_key_doc *k;
	size_t n = 0;

	(void)state;
	for (k = pg_config_keys(); k->section != NULL; k++, n++) {
		assert_non_null(k->doc);
		assert_true(strlen(k->doc) > 10);
	}
	assert_true(n >= 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty_is_local_defaults),
		cmocka_unit_test(test_totp_store_directory),
		cmocka_unit_test(test_ldaps_sets_tls),
		cmocka_unit_test(test_uri_list),
		cmocka_unit_test(test_uri_too_long),
		cmocka_unit_test(test_loopback_may_go_plain),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_check_uris),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_offline_keys),
		cmocka_unit_test(test_keys_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
