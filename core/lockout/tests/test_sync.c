/*
 * test_sync.c - following the directory's lockouts (lockout.h,
 * "Following the directory's lockouts"): the rule for one user in every
 * state, the plan a refresh calls for, the store's own lift under its lock,
 * the origin a lockout entry records (written, read back, damaged), and
 * the PAM module's check that asks the directory before honouring a copy.
 * The gateway's watch applies them against slapd in
 * gateway/tests/test_dirsync.sh.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/dir/dir.h"
#include "core/lockout/lockout.h"
#include "tl_util.h"

#define NOW ((time_t)1800000000)

static int
setup(void **state)
{
	return tl_fx_setup(state, "sync");
}

static void
lock(struct lockout_store *st, const char *user, enum lockout_origin o)
{
	struct lockout_entry e = { 0 };

	e.user = user;
	e.by = o == LOCKOUT_ORIGIN_DIRECTORY ? "directory" : "gateway";
	e.origin = o;
	assert_int_equal(lockout_lock(st, &e, NULL), PG_OK);
}

static void
test_decide(void **state)
{
	enum lockout_sync_local l;
	int p, live;

	(void)state;
	for (p = 0; p < 2; p++)
		for (live = 0; live < 2; live++) {
			/* Locked in the directory: copied unless held. */
			assert_int_equal(
			    lockout_sync_decide(
			        LOCKOUT_SYNC_NOT_LOCKED, p, true, live),
			    LOCKOUT_SYNC_LOCK);
			for (l = LOCKOUT_SYNC_LOCKED_HERE;
			     l <= LOCKOUT_SYNC_LOCKED_COPY; l++)
				assert_int_equal(
				    lockout_sync_decide(l, p, true, live),
				    LOCKOUT_SYNC_NONE);
			/* Not locked anywhere: nothing to do. */
			assert_int_equal(
			    lockout_sync_decide(
			        LOCKOUT_SYNC_NOT_LOCKED, p, false, live),
			    LOCKOUT_SYNC_NONE);
		}
	/* A copy goes with the directory's lockout, live or at a refresh. */
	assert_int_equal(
	    lockout_sync_decide(LOCKOUT_SYNC_LOCKED_COPY, false, false, false),
	    LOCKOUT_SYNC_UNLOCK);
	assert_int_equal(
	    lockout_sync_decide(LOCKOUT_SYNC_LOCKED_COPY, false, false, true),
	    LOCKOUT_SYNC_UNLOCK);
	/* A lockout decided here: lifted only by an unlock seen live, and
	 * never while its directory write is queued. */
	assert_int_equal(
	    lockout_sync_decide(LOCKOUT_SYNC_LOCKED_HERE, false, false, true),
	    LOCKOUT_SYNC_UNLOCK);
	assert_int_equal(
	    lockout_sync_decide(LOCKOUT_SYNC_LOCKED_HERE, false, false, false),
	    LOCKOUT_SYNC_NONE);
	for (live = 0; live < 2; live++) {
		assert_int_equal(lockout_sync_decide(LOCKOUT_SYNC_LOCKED_HERE,
		                     true, false, live),
		    LOCKOUT_SYNC_NONE);
		assert_int_equal(lockout_sync_decide(LOCKOUT_SYNC_LOCKED_COPY,
		                     true, false, live),
		    LOCKOUT_SYNC_NONE);
	}
}

static void
test_plan(void **state)
{
	struct lockout_entry local[] = {
		{ .user = "here-written", .by = "gateway" },
		{ .user = "here-queued", .by = "pam" },
		{ .user = "copy-gone",
		    .by = "directory",
		    .origin = LOCKOUT_ORIGIN_DIRECTORY },
		{ .user = "copy-kept",
		    .by = "directory",
		    .origin = LOCKOUT_ORIGIN_DIRECTORY },
		{ .user = "copy-queued",
		    .by = "directory",
		    .origin = LOCKOUT_ORIGIN_DIRECTORY },
		{ .user = "here-in-dir", .by = "gateway" },
	};
	struct lockout_pending pend[] = {
		{ .user = (char *)(uintptr_t) "here-queued" },
		{ .user = (char *)(uintptr_t) "copy-queued" },
		{ .user = (char *)(uintptr_t) "new-queued" },
	};
	char zed[] = "zed", kept[] = "copy-kept", nq[] = "new-queued",
	     hid[] = "here-in-dir", amy[] = "amy";
	char *dir[] = { zed, kept, nq, hid, amy, zed };
	struct lockout_sync_step *s = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(
	    lockout_sync_plan(local, 6, pend, 3, dir, 6, &s, &n), PG_OK);
	/* Copies of the new ones, in the directory's order, each once; then
	 * the one copy the directory no longer holds. */
	assert_int_equal(n, 4);
	assert_string_equal(s[0].user, "zed");
	assert_int_equal(s[0].action, LOCKOUT_SYNC_LOCK);
	assert_int_equal(s[0].dir_index, 0);
	assert_string_equal(s[1].user, "new-queued");
	assert_int_equal(s[1].action, LOCKOUT_SYNC_LOCK);
	assert_int_equal(s[1].dir_index, 2);
	assert_string_equal(s[2].user, "amy");
	assert_int_equal(s[2].dir_index, 4);
	assert_string_equal(s[3].user, "copy-gone");
	assert_int_equal(s[3].action, LOCKOUT_SYNC_UNLOCK);
	free(s);

	/* Nothing anywhere, or the same on both sides: no step. */
	assert_int_equal(
	    lockout_sync_plan(NULL, 0, NULL, 0, NULL, 0, &s, &n), PG_OK);
	assert_int_equal(n, 0);
	free(s);
	assert_int_equal(
	    lockout_sync_plan(local + 3, 1, NULL, 0, dir + 1, 1, &s, &n),
	    PG_OK);
	assert_int_equal(n, 0);
	free(s);
	/* An empty directory lifts every copy that is not queued. */
	assert_int_equal(
	    lockout_sync_plan(local, 6, pend, 3, NULL, 0, &s, &n), PG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].user, "copy-gone");
	assert_string_equal(s[1].user, "copy-kept");
	free(s);
}

/* USER's lockout in the store: 1 and *ORIGIN, or 0. */
static int
held(struct lockout_store *st, const char *user, enum lockout_origin *origin)
{
	struct lockout_entry e;
	int r = lockout_check(st, user, &e);

	assert_true(r == 0 || r == 1);
	if (r == 1 && origin != NULL)
		*origin = e.origin;
	lockout_entry_clear(&e);
	return r;
}

static void
test_unlock(void **state)
{
	struct tl_fx *f = *state;
	enum lockout_origin o = LOCKOUT_ORIGIN_LOCAL;
	bool lifted = true;
	unsigned count = 0;
	char name[512];

	lock(f->st, "copy", LOCKOUT_ORIGIN_DIRECTORY);
	lock(f->st, "here", LOCKOUT_ORIGIN_LOCAL);
	lock(f->st, "queued", LOCKOUT_ORIGIN_LOCAL);
	assert_int_equal(lockout_pending_add(f->st, "queued", NOW, "x"), 0);
	assert_int_equal(held(f->st, "copy", &o), 1);
	assert_int_equal(o, LOCKOUT_ORIGIN_DIRECTORY);

	/* A refresh lifts the copy only. */
	assert_int_equal(lockout_sync_unlock(f->st, "here", false, &lifted), 0);
	assert_false(lifted);
	assert_int_equal(
	    lockout_sync_unlock(f->st, "queued", false, &lifted), 0);
	assert_false(lifted);
	assert_int_equal(failcount_add(f->st, "copy", NOW, 600, &count), PG_OK);
	assert_int_equal(lockout_sync_unlock(f->st, "copy", false, &lifted), 0);
	assert_true(lifted);
	assert_int_equal(held(f->st, "copy", NULL), 0);
	/* ...and its failures with it, as an admin's unlock does. */
	assert_int_equal(failcount_get(f->st, "copy", NOW, 600, &count), PG_OK);
	assert_int_equal(count, 0);

	/* Live: the written one goes, the queued one stays. */
	assert_int_equal(
	    lockout_sync_unlock(f->st, "queued", true, &lifted), 0);
	assert_false(lifted);
	assert_int_equal(held(f->st, "queued", NULL), 1);
	assert_int_equal(lockout_sync_unlock(f->st, "here", true, &lifted), 0);
	assert_true(lifted);
	assert_int_equal(held(f->st, "here", NULL), 0);

	/* Nothing to lift; a damaged queue entry still counts as queued;
	 * a damaged lockout is never lifted by the directory's word. */
	assert_int_equal(
	    lockout_sync_unlock(f->st, "nobody", true, &lifted), 0);
	assert_false(lifted);
	tl_name('p', "queued", name);
	tl_write(f->dir, name, "junk", 4, 0600);
	assert_int_equal(
	    lockout_sync_unlock(f->st, "queued", true, &lifted), 0);
	assert_false(lifted);
	tl_name('u', "broken", name);
	tl_write(f->dir, name, "junk", 4, 0600);
	assert_int_equal(
	    lockout_sync_unlock(f->st, "broken", true, &lifted), 0);
	assert_false(lifted);
	assert_int_equal(lockout_check(f->st, "broken", NULL), PG_ERR_CORRUPT);
	assert_int_equal(
	    lockout_sync_unlock(f->st, "", true, &lifted), PG_ERR_INVAL);
}

/* The origin on disk: absent is local (files written before it existed),
 * anything but the two names is damage. */
static void
test_origin_file(void **state)
{
	static const char old[] = "{\"v\":1,\"user\":\"old\",\"since\":5,"
	                          "\"by\":\"pam\"}";
	static const char loc[] = "{\"v\":1,\"user\":\"loc\",\"since\":5,"
	                          "\"by\":\"pam\",\"origin\":\"local\"}";
	static const char bad[] = "{\"v\":1,\"user\":\"bad\",\"since\":5,"
	                          "\"by\":\"pam\",\"origin\":\"elsewhere\"}";
	static const char num[] = "{\"v\":1,\"user\":\"num\",\"since\":5,"
	                          "\"by\":\"pam\",\"origin\":1}";
	struct tl_fx *f = *state;
	struct lockout_entry e = { 0 }, *v = NULL;
	enum lockout_origin o = LOCKOUT_ORIGIN_DIRECTORY;
	char name[512];
	size_t n = 0;

	tl_name('u', "old", name);
	tl_write(f->dir, name, old, strlen(old), 0600);
	assert_int_equal(held(f->st, "old", &o), 1);
	assert_int_equal(o, LOCKOUT_ORIGIN_LOCAL);
	tl_name('u', "loc", name);
	tl_write(f->dir, name, loc, strlen(loc), 0600);
	o = LOCKOUT_ORIGIN_DIRECTORY;
	assert_int_equal(held(f->st, "loc", &o), 1);
	assert_int_equal(o, LOCKOUT_ORIGIN_LOCAL);
	lock(f->st, "dir", LOCKOUT_ORIGIN_DIRECTORY);
	assert_int_equal(lockout_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].user, "dir");
	assert_int_equal(v[2].origin, LOCKOUT_ORIGIN_DIRECTORY);
	lockout_entries_free(v, n);
	tl_name('u', "bad", name);
	tl_write(f->dir, name, bad, strlen(bad), 0600);
	assert_int_equal(lockout_check(f->st, "bad", NULL), PG_ERR_CORRUPT);
	tl_name('u', "num", name);
	tl_write(f->dir, name, num, strlen(num), 0600);
	assert_int_equal(lockout_check(f->st, "num", NULL), PG_ERR_CORRUPT);
	/* An origin the store does not know is refused on input. */
	e.user = "x";
	e.by = "gateway";
	e.origin = (enum lockout_origin)7;
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
}

/* The local backend answers "not locked" for every user it knows. */
static struct dir *
open_local(const char *dir)
{
	char conf[1024], err[256], ct[512];
	struct pg_config *cfg = NULL;
	struct dir *d = NULL;

	snprintf(ct, sizeof(ct), "%s/careteams", dir);
	tl_write(dir, "careteams", "", 0, 0600);
	snprintf(conf, sizeof(conf),
	    "[directory]\nbackend = local\ncare_team_file = %s\n", ct);
	assert_int_equal(
	    pg_config_parse("t.conf", conf, &cfg, err, sizeof(err)), PG_OK);
	assert_int_equal(dir_open(cfg, &d), PG_OK);
	pg_config_free(cfg);
	return d;
}

static void
test_check_dir(void **state)
{
	struct tl_fx *f = *state;
	struct passwd *pw = getpwuid(geteuid());
	struct lockout_entry e;
	struct dir *d;
	bool lifted = true;
	char me[256];

	assert_non_null(pw);
	snprintf(me, sizeof(me), "%s", pw->pw_name);
	d = open_local(f->dir);
	/* A copy the directory no longer holds: lifted, and not locked. */
	lock(f->st, me, LOCKOUT_ORIGIN_DIRECTORY);
	assert_int_equal(lockout_check_dir(f->st, d, me, &e, &lifted), 0);
	assert_true(lifted);
	assert_null(e.user);
	assert_int_equal(lockout_check(f->st, me, NULL), 0);
	/* No directory to ask: the copy stands. */
	lock(f->st, me, LOCKOUT_ORIGIN_DIRECTORY);
	assert_int_equal(lockout_check_dir(f->st, NULL, me, &e, &lifted), 1);
	assert_false(lifted);
	assert_string_equal(e.user, me);
	assert_int_equal(e.origin, LOCKOUT_ORIGIN_DIRECTORY);
	lockout_entry_clear(&e);
	assert_int_equal(lockout_unlock(f->st, me, NULL), PG_OK);
	/* A lockout decided here is not the directory's to lift. */
	lock(f->st, me, LOCKOUT_ORIGIN_LOCAL);
	assert_int_equal(lockout_check_dir(f->st, d, me, NULL, &lifted), 1);
	assert_false(lifted);
	/* A user the directory does not know: the copy stands. */
	lock(f->st, "pg-nobody-here", LOCKOUT_ORIGIN_DIRECTORY);
	assert_int_equal(
	    lockout_check_dir(f->st, d, "pg-nobody-here", NULL, &lifted), 1);
	assert_false(lifted);
	/* Not locked at all: 0, the directory not asked. */
	assert_int_equal(lockout_check_dir(f->st, d, "free", &e, NULL), 0);
	assert_null(e.user);
	dir_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_plan),
		cmocka_unit_test_setup_teardown(
		    test_unlock, setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_origin_file, setup, tl_fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_check_dir, setup, tl_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
