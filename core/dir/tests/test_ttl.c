/*
 * test_ttl.c - one cache of directory answers: an answer carries the
 * expiry of the cache entry it came from, a hit does not renew it, and a
 * care-team change is in force once that expiry passes (one cache_ttl
 * after the directory was asked, not two).  Local backend, with the
 * effective user and a care-team file the test writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/dir/dir.h"

static char work[] = "/tmp/pg-dirttl.XXXXXX";
static char ctfile[256];
static char me[256];

static void
write_careteams(const char *text)
{
	FILE *f;

	assert_non_null(f = fopen(ctfile, "w"));
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static struct dir *
open_dir(int ttl_s)
{
	char conf[1024], err[256];
	struct pg_config *cfg = NULL;
	struct dir *d = NULL;

	snprintf(conf, sizeof(conf),
	    "[directory]\nbackend = local\ncare_team_file = %s\n"
	    "cache_ttl = %ds\n",
	    ctfile, ttl_s);
	assert_int_equal(
	    pg_config_parse("t.conf", conf, &cfg, err, sizeof(err)), PG_OK);
	assert_int_equal(dir_open(cfg, &d), PG_OK);
	pg_config_free(cfg);
	return d;
}

static struct dir_user *
lookup(struct dir *d)
{
	struct dir_user *u = NULL;

	assert_int_equal(dir_lookup(d, me, strlen(me), &u), PG_OK);
	return u;
}

/* Waits for the start of a new second of dir_clock(), and returns it. */
static time_t
next_second(void)
{
	time_t t0 = dir_clock(), t;
	struct timespec ms = { 0, 5 * 1000 * 1000 };

	while ((t = dir_clock()) == t0)
		nanosleep(&ms, NULL);
	return t;
}

static int
setup(void **state)
{
	struct passwd *pw = getpwuid(geteuid());

	(void)state;
	if (pw == NULL || strlen(pw->pw_name) >= sizeof(me) ||
	    mkdtemp(work) == NULL)
		return -1;
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	snprintf(ctfile, sizeof(ctfile), "%s/careteams", work);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(ctfile);
	rmdir(work);
	return 0;
}

static void
test_one_expiry(void **state)
{
	struct dir *d = open_dir(2);
	struct dir_user *a, *b, *c;
	char text[600];
	time_t t0, e;

	(void)state;
	snprintf(text, sizeof(text), "P1: %s\nP2: %s\n", me, me);
	write_careteams(text);
	t0 = next_second();
	a = lookup(d);
	e = a->expires;
	/* Cached now, so stale from two seconds on. */
	assert_true(e >= t0 + 2 && e <= dir_clock() + 2);
	assert_true(dir_user_has_patient(a, "P1"));
	assert_true(dir_user_fresh(a, e - 1));
	assert_false(dir_user_fresh(a, e));
	assert_false(dir_user_fresh(NULL, 0));

	/* P1's care team revoked: the cache still answers, with the same
	 * expiry (a hit never renews it, so a copy kept by a caller cannot
	 * outlive the entry). */
	snprintf(text, sizeof(text), "P2: %s\n", me);
	write_careteams(text);
	b = lookup(d);
	if (dir_clock() < e) {
		assert_true(dir_user_has_patient(b, "P1"));
		assert_int_equal(b->expires, e);
	}
	/* From the expiry on, the change is in force. */
	while (dir_clock() < e)
		next_second();
	c = lookup(d);
	assert_false(dir_user_has_patient(c, "P1"));
	assert_true(dir_user_has_patient(c, "P2"));
	assert_true(c->expires >= e + 2);
	dir_user_free(a);
	dir_user_free(b);
	dir_user_free(c);
	dir_free(d);
}

static void
test_flush_and_no_cache(void **state)
{
	struct dir *d = open_dir(0);
	struct dir_user *a;
	char text[300];

	(void)state;
	snprintf(text, sizeof(text), "P1: %s\n", me);
	write_careteams(text);
	/* Without a cache nothing may be kept. */
	a = lookup(d);
	assert_int_equal(a->expires, 0);
	assert_false(dir_user_fresh(a, dir_clock()));
	dir_user_free(a);
	dir_free(d);
	/* A flushed cache asks again, with a new expiry. */
	d = open_dir(60);
	a = lookup(d);
	assert_true(dir_user_fresh(a, dir_clock()));
	dir_user_free(a);
	write_careteams("P9: nobody\n");
	dir_flush_cache(d);
	a = lookup(d);
	assert_false(dir_user_has_patient(a, "P1"));
	assert_true(dir_user_fresh(a, dir_clock()));
	dir_user_free(a);
	dir_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_expiry),
		cmocka_unit_test(test_flush_and_no_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
