/*
 * lockout_pending.c - the queue of directory lockouts not yet written:
 * one "p-<hex>.json" per user in the lockout store's directory, changed
 * under the store lock.  See lockout_pending.h.
 */
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/lockout/lockout.h"
#include "core/lockout/lockout_priv.h"

#define PENDING_FILE_MAX (8 * 1024)
#define PENDING_VERSION  1

void
lockout_pending_free(struct lockout_pending *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].user);
		free(v[i].error);
	}
	free(v);
}

static int
get_time(json_t *o, const char *key, time_t *t)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return PG_ERR_CORRUPT;
	*t = (time_t)json_integer_value(v);
	return PG_OK;
}

/* Fills P (strings allocated) from O, which must be USER's entry. */
static int
decode(json_t *o, const char *user, struct lockout_pending *p)
{
	json_t *u = json_object_get(o, "user"),
	       *e = json_object_get(o, "error");
	json_t *t = json_object_get(o, "tries");
	time_t tries;

	memset(p, 0, sizeof(*p));
	if (!json_is_string(u) || strcmp(json_string_value(u), user) != 0 ||
	    json_string_length(u) != strlen(user) || !json_is_string(e) ||
	    json_string_length(e) > LOCKOUT_PENDING_ERR_MAX ||
	    !json_is_integer(t) || get_time(o, "since", &p->since) != PG_OK ||
	    get_time(o, "last_try", &p->last_try) != PG_OK ||
	    get_time(o, "tries", &tries) != PG_OK || tries > 1000000000)
		return PG_ERR_CORRUPT;
	p->tries = (unsigned)tries;
	p->user = strdup(user);
	p->error = strndup(json_string_value(e), LOCKOUT_PENDING_ERR_MAX);
	if (p->user == NULL || p->error == NULL) {
		free(p->user);
		free(p->error);
		memset(p, 0, sizeof(*p));
		return PG_ERR_NOMEM;
	}
	return PG_OK;
}

/* USER's entry from NAME: 1 present (P filled), 0 absent, <0 error. */
static int
read_entry(
    int dirfd, const char *name, const char *user, struct lockout_pending *p)
{
	json_t *o;
	int r;

	memset(p, 0, sizeof(*p));
	r = lockout_priv_load(
	    dirfd, name, PENDING_FILE_MAX, PENDING_VERSION, &o);
	if (r <= 0)
		return r;
	r = decode(o, user, p);
	json_decref(o);
	return r == PG_OK ? 1 : r;
}

static int
write_entry(int dirfd, const char *name, const struct lockout_pending *p)
{
	json_t *o;
	char *json;
	int r;

	o = json_pack("{s:i,s:s,s:I,s:I,s:I,s:s}", "v", PENDING_VERSION, "user",
	    p->user, "since", (json_int_t)p->since, "last_try",
	    (json_int_t)p->last_try, "tries", (json_int_t)p->tries, "error",
	    p->error);
	if (o == NULL)
		return PG_ERR_NOMEM;
	json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (json == NULL)
		return PG_ERR_NOMEM;
	r = pg_write_file_atomic(dirfd, name, json, strlen(json), 0600);
	free(json);
	return r;
}

/* ERR cut to the maximum at a character boundary, as valid UTF-8. */
static char *
clean_error(const char *err)
{
	char *s;
	size_t n;

	if (err == NULL)
		err = "";
	n = strnlen(err, LOCKOUT_PENDING_ERR_MAX);
	if ((s = strndup(err, n)) == NULL)
		return NULL;
	while (n > 0 &&
	    lockout_priv_text_ok(s, LOCKOUT_PENDING_ERR_MAX, false) != PG_OK)
		s[--n] = '\0';
	return s;
}

int
lockout_pending_add(
    struct lockout_store *st, const char *user, time_t now, const char *err)
{
	char name[LOCKOUT_NAME_LEN];
	struct lockout_pending p;
	int dirfd, lk, r;

	if (now <= 0)
		return PG_ERR_INVAL;
	if ((r = lockout_priv_name('p', user, name)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		return r;
	r = read_entry(dirfd, name, user, &p);
	if (r < 0 && r != PG_ERR_CORRUPT)
		goto out;
	if (r != 1) { /* new, or damaged: start again, the lock is kept */
		memset(&p, 0, sizeof(p));
		p.since = now;
		p.user = strdup(user);
	}
	free(p.error);
	p.error = clean_error(err);
	p.last_try = now;
	p.tries++;
	r = p.user == NULL || p.error == NULL ? PG_ERR_NOMEM
	                                      : write_entry(dirfd, name, &p);
	free(p.user);
	free(p.error);
out:
	lockout_priv_end_locked(st, lk);
	return r;
}

/* Drops USER's entry. */
static int
drop(struct lockout_store *st, const char *user)
{
	return lockout_priv_drop(st, 'p', user);
}

static int
read_rec(int dirfd, const char *name, const char *user, void *rec)
{
	return read_entry(dirfd, name, user, rec);
}

static void
free_recs(void *v, size_t n)
{
	lockout_pending_free(v, n);
}

static const struct lockout_priv_kind pendings = {
	.kind = 'p',
	.size = sizeof(struct lockout_pending),
	.since_off = offsetof(struct lockout_pending, since),
	.user_off = offsetof(struct lockout_pending, user),
	.read = read_rec,
	.free = free_recs,
};

int
lockout_pending_list(
    struct lockout_store *st, struct lockout_pending **out, size_t *n)
{
	void *v;
	int r = lockout_priv_list(st, &pendings, &v, n);

	*out = v;
	return r;
}

/* One entry: 1 still queued, 0 dropped (lifted or landed), <0 error. */
static int
retry_one(struct lockout_store *st, struct dir *d, time_t now,
    const struct lockout_pending *p)
{
	char err[LOCKOUT_PENDING_ERR_MAX + 1] = "";
	int r;

	/* Lifted by an admin since: the directory must not lock again. */
	if ((r = lockout_check(st, p->user, NULL)) == 0)
		return drop(st, p->user);
	if (d == NULL)
		return 1;
	/* Queued under a lockout attribute since changed to one no client
	 * may set (lockoutTime): it can never land; the lock stays here. */
	if (dir_can_lock(d) && !dir_can_set_lock(d))
		return drop(st, p->user);
	r = dir_set_locked(d, p->user, strlen(p->user), true);
	if (r == PG_OK)
		return drop(st, p->user);
	dir_last_error(d, err, sizeof(err));
	r = lockout_pending_add(
	    st, p->user, now, err[0] ? err : pg_strerror(r));
	return r == PG_OK ? 1 : r;
}

int
lockout_pending_retry(
    struct lockout_store *st, struct dir *d, time_t now, size_t *left)
{
	struct lockout_pending *v = NULL;
	size_t n = 0, i;
	int r, first = PG_OK;

	*left = 0;
	if ((r = lockout_pending_list(st, &v, &n)) != PG_OK)
		return r;
	for (i = 0; i < n; i++) {
		r = retry_one(st, d, now, &v[i]);
		if (r != 0)
			(*left)++; /* an entry not dropped is still queued */
		if (r < 0 && first == PG_OK)
			first = r;
	}
	lockout_pending_free(v, n);
	return first;
}
