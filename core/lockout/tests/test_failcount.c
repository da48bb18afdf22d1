/*
 * test_failcount.c - unit tests of the per-user failure counter, and of
 * the refusal of a lockout directory on tmpfs/ramfs (a real mount).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "tl_util.h"

#define NOW ((time_t)1800000000)

static int
setup(void **state)
{
	return tl_fx_setup(state, "failcount");
}

static unsigned
add(struct lockout_store *st, const char *user, time_t now, int window)
{
	unsigned n = 999;

	assert_int_equal(failcount_add(st, user, now, window, &n), PG_OK);
	return n;
}

static unsigned
get(struct lockout_store *st, const char *user, time_t now, int window)
{
	unsigned n = 999;

	assert_int_equal(failcount_get(st, user, now, window, &n), PG_OK);
	return n;
}

static void
test_count_and_window(void **state)
{
	struct tl_fx *f = *state;

	assert_int_equal(get(f->st, "alice", NOW, 300), 0);
	assert_int_equal(add(f->st, "alice", NOW, 300), 1);
	assert_int_equal(add(f->st, "alice", NOW + 10, 300), 2);
	assert_int_equal(add(f->st, "alice", NOW + 20, 300), 3);
	assert_int_equal(get(f->st, "alice", NOW + 20, 300), 3);
	/* Users are counted apart. */
	assert_int_equal(add(f->st, "alice/..", NOW, 300), 1);
	assert_int_equal(get(f->st, "bob", NOW, 300), 0);
	/* The window slides: at NOW+300 the first failure is forgotten. */
	assert_int_equal(get(f->st, "alice", NOW + 300, 300), 2);
	assert_int_equal(get(f->st, "alice", NOW + 319, 300), 1);
	assert_int_equal(add(f->st, "alice", NOW + 1000, 300), 1);
	assert_int_equal(failcount_reset(f->st, "alice"), PG_OK);
	assert_int_equal(get(f->st, "alice", NOW + 1000, 300), 0);
	assert_int_equal(failcount_reset(f->st, "nobody-here"), PG_OK);
}

static void
test_unlock_resets(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_entry e = { .user = "carl", .by = "pam" };

	assert_int_equal(add(f->st, "carl", NOW, 600), 1);
	assert_int_equal(add(f->st, "carl", NOW, 600), 2);
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_OK);
	/* The counter lives beside the lockout, not in it. */
	assert_int_equal(get(f->st, "carl", NOW, 600), 2);
	assert_int_equal(lockout_unlock(f->st, "carl", NULL), PG_OK);
	assert_int_equal(get(f->st, "carl", NOW, 600), 0);
	assert_int_equal(lockout_check(f->st, "carl", NULL), 0);
}

static void
test_bad_args(void **state)
{
	struct tl_fx *f = *state;
	char longname[LOCKOUT_USER_MAX + 2];
	unsigned n = 7;

	memset(longname, 'y', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(failcount_add(f->st, "u", NOW, 0, &n), PG_ERR_INVAL);
	assert_int_equal(n, 0);
	assert_int_equal(failcount_add(f->st, "u", NOW, -5, &n), PG_ERR_INVAL);
	assert_int_equal(
	    failcount_add(f->st, "u", NOW, FAILCOUNT_WINDOW_MAX + 1, &n),
	    PG_ERR_INVAL);
	assert_int_equal(failcount_add(f->st, "u", 0, 60, &n), PG_ERR_INVAL);
	assert_int_equal(failcount_add(f->st, "", NOW, 60, &n), PG_ERR_INVAL);
	assert_int_equal(
	    failcount_add(f->st, longname, NOW, 60, &n), PG_ERR_INVAL);
	assert_int_equal(
	    failcount_add(f->st, "\xfe", NOW, 60, &n), PG_ERR_INVAL);
	assert_int_equal(failcount_get(f->st, NULL, NOW, 60, &n), PG_ERR_INVAL);
	assert_int_equal(failcount_reset(f->st, ""), PG_ERR_INVAL);
	assert_int_equal(get(f->st, "u", NOW, 60), 0);
}

static void
test_corrupt(void **state)
{
	static const char *const bad[] = { "", "{}", "nonsense",
		"{\"v\":1,\"user\":\"dan\",\"failures\":7}",
		"{\"v\":1,\"user\":\"eve\",\"failures\":[1]}",
		"{\"v\":1,\"user\":\"dan\",\"failures\":[\"1\"]}",
		"{\"v\":1,\"user\":\"dan\",\"failures\":[-1]}",
		"{\"v\":9,\"user\":\"dan\",\"failures\":[]}" };
	struct tl_fx *f = *state;
	char name[512];
	unsigned n = 5;
	size_t i;

	tl_name('f', "dan", name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write(f->dir, name, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(
		    failcount_add(f->st, "dan", NOW, 60, &n), PG_ERR_CORRUPT);
		assert_int_equal(
		    failcount_get(f->st, "dan", NOW, 60, &n), PG_ERR_CORRUPT);
	}
	/* The damaged file is kept for the admin; reset clears it. */
	tl_write(f->dir, name, "{", 1, 0644);
	assert_int_equal(failcount_get(f->st, "dan", NOW, 60, &n), PG_ERR_PERM);
	assert_int_equal(failcount_reset(f->st, "dan"), PG_OK);
	assert_int_equal(add(f->st, "dan", NOW, 60), 1);
}

/*
 * The run of consecutive failures outlives the window: only a reset ends
 * it.  A file written before the run was kept counts its failures; a bad
 * run value is damage.
 */
static void
test_run(void **state)
{
	static const char *const bad[] = {
		"{\"v\":1,\"user\":\"ivy\",\"failures\":[],\"consecutive\":-1}",
		"{\"v\":1,\"user\":\"ivy\",\"failures\":[],\"consecutive\":\"2\"}",
		"{\"v\":1,\"user\":\"ivy\",\"failures\":[],\"consecutive\":1e3}",
		"{\"v\":1,\"user\":\"ivy\",\"failures\":[],\"consecutive\":100001}"
	};
	static const char old[] =
	    "{\"v\":1,\"user\":\"ivy\",\"failures\":[1800000000,1800000001]}";
	struct tl_fx *f = *state;
	char name[512];
	unsigned n = 9, run = 9, i;

	for (i = 1; i <= 8; i++) {
		assert_int_equal(failcount_add_run(f->st, "ivy",
		                     NOW + 600 * (time_t)i, 60, &n, &run),
		    PG_OK);
		assert_int_equal(n, 1); /* ten minutes apart: one per window */
		assert_int_equal(run, i);
	}
	assert_int_equal(failcount_reset(f->st, "ivy"), PG_OK);
	assert_int_equal(
	    failcount_add_run(f->st, "ivy", NOW, 60, &n, &run), PG_OK);
	assert_int_equal(run, 1);
	assert_int_equal(lockout_unlock(f->st, "ivy", NULL), PG_OK);
	assert_int_equal(
	    failcount_add_run(f->st, "ivy", NOW, 60, &n, &run), PG_OK);
	assert_int_equal(run, 1); /* an admin unlock ends the run too */
	tl_name('f', "ivy", name);
	tl_write(f->dir, name, old, strlen(old), 0600);
	assert_int_equal(
	    failcount_add_run(f->st, "ivy", NOW + 2, 60, &n, &run), PG_OK);
	assert_int_equal(n, 3);
	assert_int_equal(run, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write(f->dir, name, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(
		    failcount_add_run(f->st, "ivy", NOW, 60, &n, &run),
		    PG_ERR_CORRUPT);
		assert_int_equal(run, 0);
	}
}

/* Counts saturate at FAILCOUNT_MAX, and the file stays bounded. */
static void
test_saturation(void **state)
{
	struct tl_fx *f = *state;
	char name[512], *buf;
	size_t cap = 32 * FAILCOUNT_MAX, o;
	int i;

	buf = malloc(cap);
	assert_non_null(buf);
	o = (size_t)snprintf(
	    buf, cap, "{\"v\":1,\"user\":\"gus\",\"failures\":[");
	for (i = 0; i < FAILCOUNT_MAX; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "",
		    (long long)NOW + i);
	o += (size_t)snprintf(buf + o, cap - o, "]}");
	tl_name('f', "gus", name);
	tl_write(f->dir, name, buf, o, 0600);
	assert_int_equal(
	    get(f->st, "gus", NOW + FAILCOUNT_MAX, 3600), FAILCOUNT_MAX);
	assert_int_equal(
	    add(f->st, "gus", NOW + FAILCOUNT_MAX, 3600), FAILCOUNT_MAX);
	/* The oldest was dropped: one window later only the newest remain. */
	assert_int_equal(
	    get(f->st, "gus", NOW + 3600 + 1, 3600), FAILCOUNT_MAX - 1);
	free(buf);
}

static void
try_volatile(struct tl_fx *f, const char *fstype)
{
	struct lockout_store *st = NULL;
	char sub[4200];

	if (mount(fstype, f->dir, fstype, 0, "mode=0700") != 0) {
		/* Loud: this is a real gap when it happens. */
		fprintf(stderr, "SKIPPED: cannot mount %s: %s\n", fstype,
		    strerror(errno));
		skip();
	}
	f->mounted = true;
	assert_int_equal(lockout_open(f->dir, 0, &st), PG_ERR_CONFIG);
	assert_null(st);
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(
	    lockout_open(sub, LOCKOUT_OPEN_CREATE, &st), PG_ERR_CONFIG);
	assert_int_equal(
	    lockout_open(f->dir, LOCKOUT_OPEN_ALLOW_VOLATILE, &st), PG_OK);
	assert_int_equal(add(st, "hal", NOW, 60), 1);
	lockout_free(st);
	assert_int_equal(umount2(f->dir, MNT_DETACH), 0);
	f->mounted = false;
}

static void
test_tmpfs_refused(void **state)
{
	try_volatile(*state, "tmpfs");
}

static void
test_ramfs_refused(void **state)
{
	try_volatile(*state, "ramfs");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, tl_fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_count_and_window),
		T(test_unlock_resets),
		T(test_bad_args),
		T(test_corrupt),
		T(test_run),
		T(test_saturation),
		T(test_tmpfs_refused),
		T(test_ramfs_refused),
	};

	return cmocka_run_group_tests_name("failcount", tests, NULL, NULL);
}
