/*
 * test_lockout.c - unit tests of the lockout store on a real directory:
 * lock/unlock/check/list, hostile user names, bad input, and entries that
 * must be refused (corrupt, wrong owner or mode).
 */
#include <dirent.h>
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

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "testutil.h"
#include "tl_util.h"

static int
setup(void **state)
{
	return tl_fx_setup(state, "lockout");
}

static void
lock_user(
    struct lockout_store *st, const char *user, time_t since, bool want_already)
{
	struct lockout_entry e = { .user = user,
		.since = since,
		.reason = "bulk read: 600 files in 60s",
		.rule = "limit.nurse",
		.by = "gateway",
		.host = "img01.clinic.example",
		.extra = "files=600 bytes=1200000000 patients=42" };
	bool already = !want_already;

	assert_int_equal(lockout_lock(st, &e, &already), PG_OK);
	assert_true(already == want_already);
}

static void
test_lock_check_unlock(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_entry out;
	bool was = true;
	time_t before = time(NULL);

	assert_int_equal(lockout_check(f->st, "alice", NULL), 0);
	lock_user(f->st, "alice", 0, false);
	assert_int_equal(lockout_check(f->st, "alice", &out), 1);
	assert_string_equal(out.user, "alice");
	assert_string_equal(out.reason, "bulk read: 600 files in 60s");
	assert_string_equal(out.rule, "limit.nurse");
	assert_string_equal(out.by, "gateway");
	assert_string_equal(out.host, "img01.clinic.example");
	assert_string_equal(
	    out.extra, "files=600 bytes=1200000000 patients=42");
	assert_true(out.since >= before && out.since <= time(NULL));
	lockout_entry_clear(&out);
	assert_null(out.storage);

	/* Locking again keeps the first entry and says so. */
	struct lockout_entry again = {
		.user = "alice", .since = 5, .by = "pam", .reason = "second"
	};
	bool already = false;
	assert_int_equal(lockout_lock(f->st, &again, &already), PG_OK);
	assert_true(already);
	assert_int_equal(lockout_check(f->st, "alice", &out), 1);
	assert_string_equal(out.by, "gateway");
	lockout_entry_clear(&out);

	assert_int_equal(lockout_check(f->st, "bob", &out), 0);
	assert_null(out.user);
	assert_int_equal(lockout_unlock(f->st, "alice", &was), PG_OK);
	assert_true(was);
	assert_int_equal(lockout_check(f->st, "alice", NULL), 0);
	assert_int_equal(lockout_unlock(f->st, "alice", &was), PG_OK);
	assert_false(was);
}

static void
test_optional_fields(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_entry e = {
		.user = "carol", .since = 1700000000, .by = "cli"
	};
	struct lockout_entry out;

	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_OK);
	assert_int_equal(lockout_check(f->st, "carol", &out), 1);
	assert_int_equal(out.since, 1700000000);
	assert_null(out.reason);
	assert_null(out.rule);
	assert_null(out.host);
	assert_null(out.extra);
	lockout_entry_clear(&out);
	lockout_entry_clear(NULL);
	lockout_entries_free(NULL, 3);
	lockout_free(NULL);
}

/* Names that would be dangerous as file names are stored by hex only. */
static void
test_hostile_names(void **state)
{
	static const char *const names[] = { "a/b", "../../etc/passwd", "..",
		".", "/", "line1\nline2", "tab\there",
		"Zoë 山田 \xf0\x9f\x93\xb7", "-rf", "x.json", " " };
	struct tl_fx *f = *state;
	char name[512], path[4200];
	struct lockout_entry *v;
	struct lockout_entry out;
	struct stat sb;
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		lock_user(f->st, names[i], (time_t)(1000 + i), false);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(lockout_check(f->st, names[i], &out), 1);
		assert_string_equal(out.user, names[i]);
		lockout_entry_clear(&out);
		tl_name('u', names[i], name);
		snprintf(path, sizeof(path), "%s/%s", f->dir, name);
		assert_int_equal(lstat(path, &sb), 0);
		assert_true(S_ISREG(sb.st_mode));
		assert_int_equal(sb.st_mode & 07777, 0600);
	}
	/* Nothing escaped the directory or made a subdirectory. */
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_int_not_equal(lstat(path, &sb), 0);
	assert_int_equal(lockout_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	for (i = 0; i < n; i++) /* oldest first */
		assert_string_equal(v[i].user, names[i]);
	lockout_entries_free(v, n);
	assert_int_equal(lockout_check(f->st, "a", NULL), 0);
	assert_int_equal(lockout_check(f->st, "line1", NULL), 0);
}

static void
test_bad_input(void **state)
{
	struct tl_fx *f = *state;
	char longname[LOCKOUT_USER_MAX + 2], longtext[LOCKOUT_TEXT_MAX + 2];
	struct lockout_entry e = { .user = "dave", .by = "gateway" };
	struct lockout_store *st = (struct lockout_store *)1;

	memset(longname, 'x', sizeof(longname));
	longname[LOCKOUT_USER_MAX] = '\0'; /* exactly at the cap: fine */
	lock_user(f->st, longname, 0, false);
	assert_int_equal(lockout_check(f->st, longname, NULL), 1);
	longname[LOCKOUT_USER_MAX] = 'x';
	longname[LOCKOUT_USER_MAX + 1] = '\0'; /* one over */
	assert_int_equal(lockout_check(f->st, longname, NULL), PG_ERR_INVAL);
	e.user = longname;
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_unlock(f->st, longname, NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_check(f->st, "", NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_check(f->st, NULL, NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_check(f->st, "bad\xff", NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_check(f->st, "\xc0\xaf", NULL), PG_ERR_INVAL);
	assert_int_equal(
	    lockout_check(f->st, "\xed\xa0\x80", NULL), PG_ERR_INVAL);
	e.user = "dave";
	e.by = NULL;
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
	e.by = "gateway";
	memset(longtext, 'r', sizeof(longtext));
	longtext[LOCKOUT_TEXT_MAX + 1] = '\0';
	e.reason = longtext;
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
	e.reason = "fine";
	e.host = "\x80";
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
	e.host = NULL;
	e.since = -1;
	assert_int_equal(lockout_lock(f->st, &e, NULL), PG_ERR_INVAL);
	assert_int_equal(lockout_lock(f->st, NULL, NULL), PG_ERR_INVAL);
	/* Nothing was written by the refused calls. */
	assert_int_equal(lockout_check(f->st, "dave", NULL), 0);
	assert_int_equal(lockout_open("relative/dir", 0, &st), PG_ERR_INVAL);
	assert_null(st);
}

/* Damaged entries are errors, never "not locked". */
static void
test_corrupt(void **state)
{
	static const char *const bad[] = { "", "{", "garbage", "[]",
		"{\"v\":1,\"user\":\"erin\",\"since\":1}",
		"{\"v\":2,\"user\":\"erin\",\"since\":1,\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"mallory\",\"since\":1,\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"erin\",\"since\":\"1\",\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"erin\",\"since\":-5,\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"erin\",\"since\":1,\"by\":7}",
		"{\"v\":1,\"user\":\"erin\\u0000x\",\"since\":1,\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"erin\",\"user\":\"erin\",\"since\":1,"
		"\"by\":\"x\"}",
		"{\"v\":1,\"user\":\"erin\",\"since\":1,\"by\":\"x\"" };
	struct tl_fx *f = *state;
	struct lockout_entry *v, out;
	char name[512];
	size_t i, n;

	tl_name('u', "erin", name);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_write(f->dir, name, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(
		    lockout_check(f->st, "erin", &out), PG_ERR_CORRUPT);
		assert_null(out.user);
		assert_int_equal(lockout_list(f->st, &v, &n), PG_ERR_CORRUPT);
		assert_null(v);
	}
	/* Locking over a damaged entry repairs it; it was locked already. */
	lock_user(f->st, "erin", 0, true);
	assert_int_equal(lockout_check(f->st, "erin", NULL), 1);
}

static void
test_oversize_entry(void **state)
{
	struct tl_fx *f = *state;
	char name[512], *big;
	size_t len = 70 * 1024;

	big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	tl_name('u', "frank", name);
	tl_write(f->dir, name, big, len, 0600);
	assert_int_equal(lockout_check(f->st, "frank", NULL), PG_ERR_CORRUPT);
	free(big);
}

/* Unsafe files and directories are refused, whatever they say. */
static void
test_unsafe_files(void **state)
{
	struct tl_fx *f = *state;
	char name[512], path[4200];

	lock_user(f->st, "gina", 0, false);
	tl_name('u', "gina", name);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(lockout_check(f->st, "gina", NULL), PG_ERR_PERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(lockout_check(f->st, "gina", NULL), PG_ERR_PERM);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(lockout_check(f->st, "gina", NULL), 1);

	/* A symlink in place of an entry is refused, not followed. */
	tl_name('u', "hank", name);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(lockout_check(f->st, "hank", NULL), PG_ERR_SYMLINK);
	/* A directory in its place is not an entry either. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(lockout_check(f->st, "hank", NULL) < 0);
}

static void
test_unsafe_dir(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_store *st = NULL;
	char path[4200];

	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(lockout_open(f->dir, 0, &st), PG_ERR_PERM);
	assert_null(st);
	/* An open store notices the change at its next use. */
	assert_int_equal(lockout_check(f->st, "ivy", NULL), PG_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0720), 0);
	assert_int_equal(lockout_open(f->dir, 0, &st), PG_ERR_PERM);
	assert_int_equal(chmod(f->dir, 0755), 0); /* readable is fine */
	assert_int_equal(lockout_open(f->dir, 0, &st), PG_OK);
	lockout_free(st);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, 65534, 65534), 0);
	assert_int_equal(lockout_open(f->dir, 0, &st), PG_ERR_PERM);
	assert_int_equal(lockout_check(f->st, "ivy", NULL), PG_ERR_PERM);
	assert_int_equal(chown(f->dir, 0, 0), 0);
	assert_int_equal(lockout_check(f->st, "ivy", NULL), 0);

	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink(f->dir, path), 0);
	assert_int_equal(lockout_open(path, 0, &st), PG_ERR_SYMLINK);
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(lockout_open(path, 0, &st), PG_ERR_NOTFOUND);
	assert_int_equal(lockout_open(path, LOCKOUT_OPEN_CREATE, &st), PG_OK);
	lockout_free(st);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
}

/* A long-running process follows a directory that was replaced, and
 * fails closed when it disappears. */
static void
test_dir_replaced(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_store *other;
	char old[4200];

	lock_user(f->st, "jack", 0, false);
	snprintf(old, sizeof(old), "%s.old", f->dir);
	assert_int_equal(rename(f->dir, old), 0);
	assert_int_equal(lockout_check(f->st, "jack", NULL), PG_ERR_NOTFOUND);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(lockout_open(f->dir, 0, &other), PG_OK);
	lock_user(other, "kate", 0, false);
	assert_int_equal(lockout_check(f->st, "kate", NULL), 1);
	assert_int_equal(lockout_check(f->st, "jack", NULL), 0);
	lockout_free(other);
	tu_rmtree(strdup(old));
}

static void
test_list(void **state)
{
	struct tl_fx *f = *state;
	struct lockout_entry *v = (struct lockout_entry *)1;
	size_t n = 9;

	assert_int_equal(lockout_list(f->st, &v, &n), PG_OK);
	assert_null(v);
	assert_int_equal(n, 0);
	lock_user(f->st, "zed", 300, false);
	lock_user(f->st, "amy", 100, false);
	lock_user(f->st, "bea", 200, false);
	/* Strangers in the directory are not entries. */
	tl_write(f->dir, "u-ZZ.json", "x", 1, 0600);
	tl_write(f->dir, "u-4A.json", "x", 1, 0600);
	tl_write(f->dir, ".u-616d79.json.123.tmp", "x", 1, 0600);
	tl_write(f->dir, "README", "x", 1, 0600);
	assert_int_equal(lockout_list(f->st, &v, &n), PG_OK);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].user, "amy");
	assert_string_equal(v[1].user, "bea");
	assert_string_equal(v[2].user, "zed");
	assert_int_equal(v[2].since, 300);
	assert_string_equal(v[1].rule, "limit.nurse");
	lockout_entries_free(v, n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, tl_fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lock_check_unlock),
		T(test_optional_fields),
		T(test_hostile_names),
		T(test_bad_input),
		T(test_corrupt),
		T(test_oversize_entry),
		T(test_unsafe_files),
		T(test_unsafe_dir),
		T(test_dir_replaced),
		T(test_list),
	};

	return cmocka_run_group_tests_name("lockout", tests, NULL, NULL);
}
