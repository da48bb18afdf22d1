/*
 * failcount.c - per-user failure counters: "f-<hex>.json" holding the
 * times of the recent failures and the length of the current run of
 * failures, changed only under the store lock and replaced atomically.
 * See failcount.h.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "core/state/state.h"
#include "core/lockout/lockout_priv.h"

#define COUNT_FILE_MAX (64 * 1024)
#define COUNT_VERSION  1

struct failures {
	time_t t[FAILCOUNT_MAX];
	size_t n;
	unsigned run; /* consecutive failures, whatever their age */
};

/* Fills F from O, which must be USER's counter. */
static int
decode(json_t *o, const char *user, struct failures *f)
{
	json_t *v, *a, *x;
	size_t i;

	f->n = 0;
	f->run = 0;
	v = json_object_get(o, "user");
	if (!json_is_string(v) || strcmp(json_string_value(v), user) != 0 ||
	    json_string_length(v) != strlen(user))
		return PG_ERR_CORRUPT;
	a = json_object_get(o, "failures");
	if (!json_is_array(a) || json_array_size(a) > FAILCOUNT_MAX)
		return PG_ERR_CORRUPT;
	json_array_foreach(a, i, x)
	{
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return PG_ERR_CORRUPT;
		f->t[f->n++] = (time_t)json_integer_value(x);
	}
	/* Files from before the run was kept: every failure in them counts. */
	v = json_object_get(o, "consecutive");
	if (v == NULL)
		f->run = (unsigned)f->n;
	else if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > FAILCOUNT_RUN_MAX)
		return PG_ERR_CORRUPT;
	else
		f->run = (unsigned)json_integer_value(v);
	return PG_OK;
}

static int
encode(const char *user, const struct failures *f, char **out)
{
	json_t *o, *a;
	size_t i;
	int r = PG_ERR_NOMEM;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < f->n; i++) {
		if (json_array_append_new(a, json_integer(f->t[i])) != 0) {
			json_decref(a);
			return PG_ERR_NOMEM;
		}
	}
	o = json_pack("{s:i,s:s,s:o,s:I}", "v", COUNT_VERSION, "user", user,
	    "failures", a, /* a is stolen, even on failure */
	    "consecutive", (json_int_t)f->run);
	if (o == NULL)
		return PG_ERR_NOMEM;
	if ((*out = json_dumps(o, JSON_COMPACT)) != NULL)
		r = PG_OK;
	json_decref(o);
	return r;
}

/* Reads USER's counter file NAME into F (empty if absent). */
static int
load(int dirfd, const char *name, const char *user, struct failures *f)
{
	json_t *o;
	int r;

	f->n = 0;
	f->run = 0;
	r = lockout_priv_load(dirfd, name, COUNT_FILE_MAX, COUNT_VERSION, &o);
	if (r <= 0)
		return r; /* absent: no failures */
	r = decode(o, user, f);
	json_decref(o);
	return r;
}

/* Forgets failures at or before NOW - WINDOW_S. */
static void
prune(struct failures *f, time_t now, int window_s)
{
	size_t i, k = 0;

	for (i = 0; i < f->n; i++)
		if (f->t[i] > now - window_s)
			f->t[k++] = f->t[i];
	f->n = k;
}

static int
args_ok(const char *user, time_t now, int window_s, char *name)
{
	if (now <= 0 || window_s <= 0 || window_s > FAILCOUNT_WINDOW_MAX)
		return PG_ERR_INVAL;
	return lockout_priv_name('f', user, name);
}

int
failcount_add(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out)
{
	unsigned run;

	return failcount_add_run(st, user, now, window_s, count_out, &run);
}

int
failcount_add_run(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out, unsigned *run_out)
{
	char name[LOCKOUT_NAME_LEN], *json = NULL;
	struct failures *f = NULL;
	int dirfd, lk = -1, r;

	*count_out = 0;
	*run_out = 0;
	if ((r = args_ok(user, now, window_s, name)) != PG_OK)
		return r;
	if ((f = malloc(sizeof(*f))) == NULL)
		return PG_ERR_NOMEM;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		goto out_free;
	if ((r = load(dirfd, name, user, f)) != PG_OK)
		goto out;
	prune(f, now, window_s);
	if (f->n == FAILCOUNT_MAX) { /* saturated: drop the oldest */
		memmove(f->t, f->t + 1, (f->n - 1) * sizeof(f->t[0]));
		f->n--;
	}
	f->t[f->n++] = now;
	if (f->run < FAILCOUNT_RUN_MAX)
		f->run++;
	if ((r = encode(user, f, &json)) != PG_OK)
		goto out;
	r = pg_write_file_atomic(dirfd, name, json, strlen(json), 0600);
	if (r == PG_OK) {
		*count_out = (unsigned)f->n;
		*run_out = f->run;
	}
out:
	lockout_priv_end_locked(st, lk);
out_free:
	free(json);
	free(f);
	return r;
}

int
failcount_get(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out)
{
	char name[LOCKOUT_NAME_LEN];
	struct failures *f;
	int dirfd, r;

	*count_out = 0;
	if ((r = args_ok(user, now, window_s, name)) != PG_OK)
		return r;
	if ((f = malloc(sizeof(*f))) == NULL)
		return PG_ERR_NOMEM;
	if ((r = lockout_priv_begin(st, &dirfd)) == PG_OK) {
		r = load(dirfd, name, user, f);
		lockout_priv_end(st);
	}
	if (r == PG_OK) {
		prune(f, now, window_s);
		*count_out = (unsigned)f->n;
	}
	free(f);
	return r;
}

int
failcount_reset(struct lockout_store *st, const char *user)
{
	return lockout_priv_drop(st, 'f', user);
}
