/*
 * test_pending.c - unit tests of the queue of directory lockouts not yet
 * written (core/lockout/lockout_pending.c): queueing, tries, listing order,
 * damaged entries, and the retry that drops lockouts lifted meanwhile.
 * Writing to a real directory is tested against slapd in
 * pam_module/tests/test_pam_dirlock.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "tl_util.h"

#define NOW ((time_t)1800000000)

static int
setup(void **state)
{
	return tl_fx_setup(state, "pending");
}

static void
lock(struct lockout_store *st, const char *user)
{
	struct lockout_entry e = { 0 };

	e.user = user;
	e.by = "pam";
	assert_int_equal(lockout_lock(st, &e, NULL), PG_OK);
}

static void
test_queue(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_pending *v = NULL;
	size_t n = 9;

	assert_int_equal(lockout_pending_list(f->st, &v, &n), PG_OK);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(
	    lockout_pending_add(f->st, "zoe", NOW, "timed out"), PG_OK);
	assert_int_equal(lockout_pending_add(f->st, "amy", NOW + 5, NULL), 0);
	assert_int_equal(
	    lockout_pending_add(f->st, "zoe", NOW + 30, "refused"), PG_OK);
	assert_int_equal(lockout_pending_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, 2);
	/* Oldest first; a second failure keeps since, counts the try. */
	assert_string_equal(v[0].user, "zoe");
	assert_int_equal(v[0].since, NOW);
	assert_int_equal(v[0].last_try, NOW + 30);
	assert_int_equal(v[0].tries, 2);
	assert_string_equal(v[0].error, "refused");
	assert_string_equal(v[1].user, "amy");
	assert_string_equal(v[1].error, "");
	lockout_pending_free(v, n);
	lockout_pending_free(NULL, 0);
}

static void
test_bad_input(void **state)
{
	struct tl_fx *f = *state;
	char longerr[600];

	memset(longerr, 'x', sizeof(longerr) - 1);
	longerr[sizeof(longerr) - 1] = '\0';
	assert_int_equal(
	    lockout_pending_add(f->st, "", NOW, NULL), PG_ERR_INVAL);
	assert_int_equal(
	    lockout_pending_add(f->st, "\xfe", NOW, NULL), PG_ERR_INVAL);
	assert_int_equal(
	    lockout_pending_add(f->st, "u", 0, NULL), PG_ERR_INVAL);
	/* An over-long or broken message is cut, never refused. */
	assert_int_equal(lockout_pending_add(f->st, "u", NOW, longerr), PG_OK);
	assert_int_equal(lockout_pending_add(f->st, "v", NOW, "a\xc3"), PG_OK);
}

/* A damaged entry may hide a lockout: the listing fails, loudly. */
static void
test_corrupt(void **state)
{
	static const char *const bad[] = { "", "nonsense",
		"{\"v\":1,\"user\":\"dan\"}",
		"{\"v\":1,\"user\":\"eve\",\"since\":1,\"last_try\":1,"
		"\"tries\":1,\"error\":\"\"}",
		"{\"v\":1,\"user\":\"dan\",\"since\":-1,\"last_try\":1,"
		"\"tries\":1,\"error\":\"\"}",
		"{\"v\":2,\"user\":\"dan\",\"since\":1,\"last_try\":1,"
		"\"tries\":1,\"error\":\"\"}" };
	struct tl_fx *f = *state;
	struct lockout_pending *v = NULL;
	size_t n = 0, i, left = 9;
	char name[512];

	tl_name('p', "dan", name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write(f->dir, name, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(
		    lockout_pending_list(f->st, &v, &n), PG_ERR_CORRUPT);
		assert_null(v);
		assert_int_equal(lockout_pending_retry(f->st, NULL, NOW, &left),
		    PG_ERR_CORRUPT);
	}
	/* Adding again replaces the damage: the lockout stays queued. */
	assert_int_equal(lockout_pending_add(f->st, "dan", NOW, "x"), PG_OK);
	assert_int_equal(lockout_pending_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].tries, 1);
	lockout_pending_free(v, n);
}

/* Without a directory, the retry drops only what was lifted. */
static void
test_retry_drops_lifted(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_pending *v = NULL;
	size_t n = 0, left = 9;

	lock(f->st, "kept");
	lock(f->st, "lifted");
	assert_int_equal(lockout_pending_add(f->st, "kept", NOW, "x"), PG_OK);
	assert_int_equal(lockout_pending_add(f->st, "lifted", NOW, "x"), 0);
	assert_int_equal(lockout_unlock(f->st, "lifted", NULL), PG_OK);
	assert_int_equal(lockout_pending_retry(f->st, NULL, NOW, &left), 0);
	assert_int_equal(left, 1);
	assert_int_equal(lockout_pending_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].user, "kept");
	lockout_pending_free(v, n);
	/* Queue files are not lockouts: the store's list ignores them. */
	{
		struct lockout_entry *e = NULL;
		size_t m = 0;

		assert_int_equal(lockout_list(f->st, &e, &m), PG_OK);
		assert_int_equal(m, 1);
		lockout_entries_free(e, m);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, tl_fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_queue),
		T(test_bad_input),
		T(test_corrupt),
		T(test_retry_drops_lifted),
	};

	return cmocka_run_group_tests_name("pending", tests, NULL, NULL);
}
