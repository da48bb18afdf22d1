/*
 * test_watch.c - the pure parts of the directory's watch (dir_watch.c):
 * reading the lockout attribute's GeneralizedTime, the user name of an
 * entry known only by its DN, and a watch refused where it cannot work.
 * The watch itself runs against slapd in ldap_watch.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/dir/dir_internal.h"

static void
test_gentime(void **state)
{
	(void)state;
	/* 2026-01-02T03:04:05Z */
	assert_int_equal(dir_gentime("20260102030405Z"), 1767323045);
	assert_int_equal(dir_gentime("20260102030405.123Z"), 1767323045);
	assert_int_equal(dir_gentime("20260102030405,5Z"), 1767323045);
	/* Minutes and seconds may be left out. */
	assert_int_equal(dir_gentime("202601020304Z"), 1767323040);
	assert_int_equal(dir_gentime("2026010203Z"), 1767322800);
	assert_int_equal(dir_gentime("19700101000001Z"), 1);
	/* ppolicy's "locked until reset", and times before 1970. */
	assert_int_equal(dir_gentime("000001010000Z"), 0);
	assert_int_equal(dir_gentime("19691231235959Z"), 0);
	/* Not GeneralizedTime in UTC. */
	assert_int_equal(dir_gentime(NULL), 0);
	assert_int_equal(dir_gentime(""), 0);
	assert_int_equal(dir_gentime("20260102030405"), 0);
	assert_int_equal(dir_gentime("20260102030405+0100"), 0);
	assert_int_equal(dir_gentime("202601020Z"), 0);
	assert_int_equal(dir_gentime("20260102030405Zx"), 0);
	assert_int_equal(dir_gentime("20261302030405Z"), 0);
	assert_int_equal(dir_gentime("20260100030405Z"), 0);
	assert_int_equal(dir_gentime("20260102240405Z"), 0);
	assert_int_equal(dir_gentime("20260102036005Z"), 0);
	assert_int_equal(dir_gentime("2026a102030405Z"), 0);
	assert_int_equal(dir_gentime("20260102030Z"), 0);
}

static void
test_dn_value(void **state)
{
	char b[16];

	(void)state;
	assert_int_equal(
	    dir_dn_value("uid=asmith,ou=people,dc=x", "uid", b, sizeof(b)),
	    PG_OK);
	assert_string_equal(b, "asmith");
	assert_int_equal(
	    dir_dn_value("UID=asmith,dc=x", "uid", b, sizeof(b)), PG_OK);
	assert_string_equal(b, "asmith");
	/* Escapes are undone: the name, not its DN spelling. */
	assert_int_equal(dir_dn_value("uid=back\\5Cslash\\2Cx\\3Dy,dc=x", "uid",
	                     b, sizeof(b)),
	    PG_OK);
	assert_string_equal(b, "back\\slash,x=y");
	/* Another naming attribute, several values, nothing, too long,
	 * control characters, no DN. */
	assert_int_equal(dir_dn_value("cn=asmith,dc=x", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(dir_dn_value("uid=a+cn=b,dc=x", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(dir_dn_value("uid=,dc=x", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(
	    dir_dn_value("uid=0123456789abcdef,dc=x", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(dir_dn_value("uid=a\\0Ab,dc=x", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(
	    dir_dn_value("", "uid", b, sizeof(b)), PG_ERR_DIR_BADANSWER);
	assert_int_equal(dir_dn_value("not a dn", "uid", b, sizeof(b)),
	    PG_ERR_DIR_BADANSWER);
	assert_int_equal(
	    dir_dn_value(NULL, "uid", b, sizeof(b)), PG_ERR_DIR_BADANSWER);
}

static void
ignore(void *arg, const struct dir_watch_event *ev)
{
	(void)arg;
	(void)ev;
}

/* No lockout attribute, or the local backend: nothing to watch. */
static void
test_nothing_to_watch(void **state)
{
	struct pg_config c;
	struct dir *d = NULL;
	struct dir_watch *w = (struct dir_watch *)&c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.dir_backend = PG_DIR_LDAP;
	c.dir_tls = PG_TLS_NONE;
	c.dir_uri = (char *)(uintptr_t) "ldap://127.0.0.1:1";
	c.dir_base_dn = (char *)(uintptr_t) "dc=x";
	assert_int_equal(dir_open(&c, &d), PG_OK);
	assert_int_equal(dir_watch_new(d, ignore, NULL, &w), PG_ERR_CONFIG);
	assert_null(w);
	dir_free(d);
	assert_int_equal(dir_watch_new(NULL, ignore, NULL, &w), PG_ERR_CONFIG);
	assert_null(w);
	dir_watch_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gentime),
		cmocka_unit_test(test_dn_value),
		cmocka_unit_test(test_nothing_to_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
