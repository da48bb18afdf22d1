/*
 * test_offline_cache.c - the offline role cache on a real file system:
 * round trip (names with newlines and bytes over 0x7f), missing, too old
 * and future entries, damaged files (magic, hex, user, NUL, stray lines),
 * unsafe modes, symlinks and over-long names.
 */
#include <fcntl.h>
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
#include "core/dir/dir.h"

#define NOW    ((time_t)1800000000)
#define MAXAGE 3600

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/pg-offline-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
path(const char *name)
{
	static char p[4][256]; /* several may be used in one call */
	static int i;

	i = (i + 1) % 4;
	(void)snprintf(p[i], sizeof(p[i]), "%s/c/%s", dir, name);
	return p[i];
}

static void
put(const char *user, char **groups, size_t n, bool locked, time_t when)
{
	struct dir_user u = { 0 };

	u.name = (char *)(uintptr_t)user;
	u.groups = groups;
	u.ngroups = n;
	u.locked = locked;
	assert_int_equal(offline_cache_put(path(""), &u, when), PG_OK);
}

static void
write_entry(const char *name, const char *text, size_t len)
{
	int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static int
get(const char *user, time_t now, struct dir_user **u, long long *age)
{
	return offline_cache_get(path(""), user, now, MAXAGE, u, age);
}

static void
round_trip(void **state)
{
	char g1[] = "surgeons", g2[] = "odd\nname", g3[] = "caf\xc3\xa9";
	char *groups[] = { g2, g1, g3, NULL };
	struct dir_user *u = NULL;
	long long age = 0;
	struct stat st;

	(void)state;
	put("asmith", groups, 3, true, NOW);
	assert_int_equal(stat(path(""), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path("asmith.groups"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(get("asmith", NOW + 10, &u, &age), PG_OK);
	assert_int_equal(age, 10);
	assert_string_equal(u->name, "asmith");
	assert_int_equal(u->ngroups, 3);
	assert_string_equal(u->groups[0], "caf\xc3\xa9");
	assert_string_equal(u->groups[1], "odd\nname");
	assert_string_equal(u->groups[2], "surgeons");
	assert_null(u->groups[3]);
	assert_true(u->locked);
	assert_int_equal(u->fetched, NOW);
	dir_user_free(u);
	/* Named as always: bytes outside [A-Za-z0-9_-] as %XX. */
	put("../a.b", groups, 1, false, NOW);
	assert_int_equal(stat(path("%2E%2E%2Fa%2Eb.groups"), &st), 0);
	assert_int_equal(get("../a.b", NOW, &u, NULL), PG_OK);
	assert_string_equal(u->name, "../a.b");
	dir_user_free(u);
}

static void
missing_old_future(void **state)
{
	char g[] = "nurses";
	char *groups[] = { g, NULL };
	struct dir_user *u = (struct dir_user *)1;
	long long age = 0;

	(void)state;
	assert_int_equal(get("nobody", NOW, &u, &age), PG_ERR_NOTFOUND);
	assert_null(u);
	assert_int_equal(age, -1);
	put("dlopez", groups, 1, false, NOW);
	assert_int_equal(get("dlopez", NOW + MAXAGE, &u, &age), PG_OK);
	dir_user_free(u);
	assert_int_equal(
	    get("dlopez", NOW + MAXAGE + 1, &u, &age), PG_ERR_NOTFOUND);
	assert_null(u);
	assert_int_equal(age, MAXAGE + 1);
	assert_int_equal(get("dlopez", NOW - 61, &u, &age), PG_ERR_NOTFOUND);
	assert_int_equal(age, -61);
	assert_int_equal(get("dlopez", NOW - 60, &u, &age), PG_OK);
	dir_user_free(u);
}

static void
damaged(void **state)
{
	static const char *const bad[] = {
		"photoguard-offline-cache 2\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\n",
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=2\n"
		"user=6a6f\n",
		"photoguard-offline-cache 1\nfetched=-1\nlocked=0\nuser=6a6f\n",
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6e\n", /* another user's entry */
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\ngroup=6\n", /* odd hex */
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\ngroup=0061\n", /* NUL in a name */
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\ngroup=6A\n", /* upper-case hex */
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\nrole=61\n", /* stray line */
		"photoguard-offline-cache 1\nfetched=1800000000\nlocked=0\n"
		"user=6a6f\ngroup=61", /* no final newline */
		"photoguard-offline-cache 1\nfetched=1800000000\n",
		"",
	};
	struct dir_user *u = NULL;
	char g[] = "x";
	char *groups[] = { g, NULL };
	size_t i;

	(void)state;
	put("jo", groups, 1, false, NOW); /* creates the directory */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_entry("jo.groups", bad[i], strlen(bad[i]));
		if (get("jo", NOW, &u, NULL) != PG_ERR_CORRUPT)
			fail_msg("damaged entry %zu accepted", i);
		assert_null(u);
	}
	write_entry("jo.groups",
	    "photoguard-offline-cache 1\nfetched=1800000000\0\n", 48);
	assert_int_equal(get("jo", NOW, &u, NULL), PG_ERR_CORRUPT);
}

static void
unsafe(void **state)
{
	char g[] = "x";
	char *groups[] = { g, NULL };
	struct dir_user u = { .name = (char *)(uintptr_t) "kim",
		.groups = groups,
		.ngroups = 1 };
	struct dir_user *out = NULL;
	char longname[80];

	(void)state;
	put("kim", groups, 1, false, NOW);
	assert_int_equal(chmod(path("kim.groups"), 0640), 0);
	assert_int_equal(get("kim", NOW, &out, NULL), PG_ERR_PERM);
	assert_int_equal(chmod(path("kim.groups"), 0600), 0);
	assert_int_equal(rename(path("kim.groups"), path("real")), 0);
	assert_int_equal(symlink("real", path("kim.groups")), 0);
	assert_int_equal(get("kim", NOW, &out, NULL), PG_ERR_SYMLINK);
	assert_int_equal(chmod(path(""), 0750), 0);
	assert_int_equal(offline_cache_put(path(""), &u, NOW), PG_ERR_PERM);
	assert_int_equal(get("kim", NOW, &out, NULL), PG_ERR_PERM);
	assert_int_equal(chmod(path(""), 0700), 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	u.name = longname;
	assert_int_equal(offline_cache_put(path(""), &u, NOW), PG_ERR_TOOBIG);
	assert_int_equal(get(longname, NOW, &out, NULL), PG_ERR_NOTFOUND);
	assert_null(out);
	assert_int_equal(
	    offline_cache_get(path(""), "kim", NOW, -1, &out, NULL),
	    PG_ERR_INVAL);
}

/*
 * A lock seen in the directory marks the entry locked, keeping its groups
 * and its age; no entry, nothing to mark; a damaged one is reported.
 */
static void
mark_locked(void **state)
{
	char g1[] = "nurses";
	char *groups[] = { g1, NULL };
	struct dir_user *u = NULL;
	long long age = 0;

	(void)state;
	put("lena", groups, 1, false, NOW - 100);
	assert_int_equal(offline_cache_mark_locked(path(""), "lena"), PG_OK);
	assert_int_equal(get("lena", NOW, &u, &age), PG_OK);
	assert_true(u->locked);
	assert_int_equal(age, 100);
	assert_int_equal(u->ngroups, 1);
	assert_string_equal(u->groups[0], "nurses");
	dir_user_free(u);
	/* Marking again changes nothing. */
	assert_int_equal(offline_cache_mark_locked(path(""), "lena"), PG_OK);
	assert_int_equal(offline_cache_mark_locked(path(""), "nobody"), PG_OK);
	write_entry("dora.groups", "garbage", 7);
	assert_int_equal(
	    offline_cache_mark_locked(path(""), "dora"), PG_ERR_CORRUPT);
	assert_int_equal(offline_cache_mark_locked(NULL, "dora"), PG_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(missing_old_future),
		cmocka_unit_test(damaged),
		cmocka_unit_test(unsafe),
		cmocka_unit_test(mark_locked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
