/*
 * test_cache.c - the directory answer cache: hits are independent copies,
 * answers expire after the TTL and unknown users after their shorter TTL,
 * a full cache evicts the oldest entry, and the struct dir_user helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

static struct dir_user *
make_user(const char *name, const char *const *patients)
{
	struct dir_user *u = dir_user_new(name, strlen(name));
	struct dir_strv sv = { .max = 100 };

	assert_non_null(u);
	for (; patients && *patients; patients++)
		assert_int_equal(
		    dir_strv_push(&sv, *patients, strlen(*patients)), PG_OK);
	dir_strv_sort_uniq(&sv);
	dir_strv_free_array(u->patients);
	assert_int_equal(
	    dir_strv_take(&sv, &u->patients, &u->npatients), PG_OK);
	return u;
}

static enum dir_cache_hit
get(struct dir_cache *c, const char *name, time_t now, struct dir_user **u)
{
	enum dir_cache_hit hit;

	assert_int_equal(dir_cache_get(c, name, now, &hit, u), PG_OK);
	return hit;
}

static void
test_hit_miss_ttl(void **state)
{
	struct dir_cache *c = NULL;
	struct dir_user *u = make_user("alice", NULL), *got = NULL;

	(void)state;
	assert_int_equal(dir_cache_new(8, 30, 5, &c), PG_OK);
	assert_int_equal(get(c, "alice", 100, &got), DIR_CACHE_MISS);
	assert_null(got);
	assert_int_equal(dir_cache_put(c, "alice", u, 100), PG_OK);
	u->locked = true; /* the cache holds its own copy */
	assert_int_equal(get(c, "alice", 129, &got), DIR_CACHE_HIT);
	assert_string_equal(got->name, "alice");
	assert_false(got->locked);
	dir_user_free(got);
	assert_int_equal(get(c, "alice", 130, &got), DIR_CACHE_MISS);
	assert_int_equal(dir_cache_count(c), 0);
	/* A clock that went back invalidates too. */
	assert_int_equal(dir_cache_put(c, "alice", u, 200), PG_OK);
	assert_int_equal(get(c, "alice", 199, &got), DIR_CACHE_MISS);
	dir_user_free(u);
	dir_cache_free(c);
}

static void
test_unknown_users(void **state)
{
	struct dir_cache *c = NULL;
	struct dir_user *got = NULL;

	(void)state;
	assert_int_equal(dir_cache_new(8, 30, 5, &c), PG_OK);
	assert_int_equal(dir_cache_put(c, "ghost", NULL, 100), PG_OK);
	assert_int_equal(get(c, "ghost", 104, &got), DIR_CACHE_UNKNOWN);
	assert_null(got);
	assert_int_equal(get(c, "ghost", 105, &got), DIR_CACHE_MISS);
	dir_cache_free(c);
	/* With a negative TTL of 0 unknown users are not cached at all. */
	assert_int_equal(dir_cache_new(8, 30, 0, &c), PG_OK);
	assert_int_equal(dir_cache_put(c, "ghost", NULL, 100), PG_OK);
	assert_int_equal(get(c, "ghost", 100, &got), DIR_CACHE_MISS);
	dir_cache_free(c);
}

static void
test_eviction_and_drop(void **state)
{
	struct dir_cache *c = NULL;
	struct dir_user *u, *got = NULL;
	char name[16];
	int i;

	(void)state;
	assert_int_equal(dir_cache_new(4, 100, 5, &c), PG_OK);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		u = make_user(name, NULL);
		assert_int_equal(dir_cache_put(c, name, u, 10 + i), PG_OK);
		dir_user_free(u);
	}
	/* Replacing u0 makes it the newest: u1 is then the oldest. */
	u = make_user("u0", NULL);
	assert_int_equal(dir_cache_put(c, "u0", u, 20), PG_OK);
	dir_user_free(u);
	assert_int_equal(dir_cache_count(c), 4);
	u = make_user("u9", NULL);
	assert_int_equal(dir_cache_put(c, "u9", u, 21), PG_OK);
	dir_user_free(u);
	assert_int_equal(dir_cache_count(c), 4);
	assert_int_equal(get(c, "u1", 22, &got), DIR_CACHE_MISS);
	assert_int_equal(get(c, "u0", 22, &got), DIR_CACHE_HIT);
	dir_user_free(got);
	assert_int_equal(get(c, "u9", 22, &got), DIR_CACHE_HIT);
	dir_user_free(got);
	dir_cache_drop(c, "u9");
	dir_cache_drop(c, "not-there");
	assert_int_equal(get(c, "u9", 22, &got), DIR_CACHE_MISS);
	assert_int_equal(dir_cache_count(c), 3);
	dir_cache_flush(c);
	assert_int_equal(dir_cache_count(c), 0);
	dir_cache_free(c);
	dir_cache_free(NULL);
}

static void
test_bad_parameters(void **state)
{
	struct dir_cache *c = (struct dir_cache *)state;

	assert_int_equal(dir_cache_new(0, 30, 5, &c), PG_ERR_INVAL);
	assert_null(c);
	assert_int_equal(dir_cache_new(8, 0, 5, &c), PG_ERR_INVAL);
	assert_int_equal(dir_cache_new(8, 30, -1, &c), PG_ERR_INVAL);
}

static void
test_user_helpers(void **state)
{
	const char *pats[] = { "P3", "P1", "P2", "P1", NULL };
	struct dir_user *u = make_user("bob", pats), *c;

	(void)state;
	assert_int_equal(u->npatients, 3);
	assert_string_equal(u->patients[0], "P1");
	assert_string_equal(u->patients[2], "P3");
	assert_null(u->patients[3]);
	assert_true(dir_user_has_patient(u, "P2"));
	assert_false(dir_user_has_patient(u, "P4"));
	assert_false(dir_user_has_patient(u, "P"));
	assert_false(dir_user_has_patient(NULL, "P1"));
	c = dir_user_dup(u);
	dir_user_free(u);
	assert_true(dir_user_has_patient(c, "P3"));
	assert_null(c->dn);
	assert_int_equal(c->ngroups, 0);
	assert_null(c->groups[0]);
	dir_user_free(c);
	dir_user_free(NULL);
}

static void
test_strv_limit(void **state)
{
	struct dir_strv sv = { .max = 2 };

	(void)state;
	assert_int_equal(dir_strv_push(&sv, "a", 1), PG_OK);
	assert_int_equal(dir_strv_push(&sv, "b", 1), PG_OK);
	assert_int_equal(dir_strv_push(&sv, "c", 1), PG_ERR_TOOBIG);
	assert_int_equal(sv.n, 2);
	dir_strv_free(&sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss_ttl),
		cmocka_unit_test(test_unknown_users),
		cmocka_unit_test(test_eviction_and_drop),
		cmocka_unit_test(test_bad_parameters),
		cmocka_unit_test(test_user_helpers),
		cmocka_unit_test(test_strv_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
