/*
 * lockout_sync.c - which of the directory's lockouts this store follows,
 * and which of its own lockouts the directory's word may lift (the rules
 * in lockout.h, "Following the directory's lockouts").  The rule and the
 * plan are pure: the store is changed by lockout_sync_unlock() (lockout.c)
 * and the gateway's dirsync.c; lockout_check_dir() asks the directory
 * itself, for the PAM module.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/lockout/lockout.h"

enum lockout_sync_action
lockout_sync_decide(
    enum lockout_sync_local local, bool pending, bool dir_locked, bool live)
{
	if (dir_locked)
		return local == LOCKOUT_SYNC_NOT_LOCKED ? LOCKOUT_SYNC_LOCK
		                                        : LOCKOUT_SYNC_NONE;
	/* A queued write is a lockout the directory has not heard of. */
	if (local == LOCKOUT_SYNC_NOT_LOCKED || pending)
		return LOCKOUT_SYNC_NONE;
	if (local == LOCKOUT_SYNC_LOCKED_COPY || live)
		return LOCKOUT_SYNC_UNLOCK;
	return LOCKOUT_SYNC_NONE;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* N strings, each at STRIDE bytes from the last starting at FIRST, sorted
 * into a new array of pointers (NULL with N 0). */
static const char **
sorted(const void *first, size_t stride, size_t n, bool *nomem)
{
	const char **v;
	size_t i;

	if (n == 0)
		return NULL;
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		*nomem = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		memcpy(&v[i], (const char *)first + i * stride, sizeof(v[i]));
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

static bool
holds(const char **v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Orders indexes into the directory's list by name, then index. */
static int
cmp_index(const void *a, const void *b, void *arg)
{
	char *const *names = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(names[x], names[y]);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

static int
cmp_step(const void *a, const void *b)
{
	size_t x = ((const struct lockout_sync_step *)a)->dir_index;
	size_t y = ((const struct lockout_sync_step *)b)->dir_index;

	return x < y ? -1 : x > y;
}

/* The LOCK steps into OUT (from *N on): each user once, in list order. */
static int
plan_locks(const char **lv, size_t nlocal, const char **pv, size_t npend,
    char *const *dir_users, size_t ndir, struct lockout_sync_step *out,
    size_t *n)
{
	enum lockout_sync_local st;
	size_t *idx, i, first = *n;
	const char *u;

	if (ndir == 0)
		return PG_OK;
	if ((idx = calloc(ndir, sizeof(*idx))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < ndir; i++)
		idx[i] = i;
	qsort_r(
	    idx, ndir, sizeof(*idx), cmp_index, (void *)(uintptr_t)dir_users);
	for (i = 0; i < ndir; i++) {
		u = dir_users[idx[i]];
		/* Listed twice by the directory: its first place counts. */
		if (i > 0 && strcmp(u, dir_users[idx[i - 1]]) == 0)
			continue;
		st = holds(lv, nlocal, u) ? LOCKOUT_SYNC_LOCKED_HERE
		                          : LOCKOUT_SYNC_NOT_LOCKED;
		if (lockout_sync_decide(st, holds(pv, npend, u), true, false) ==
		    LOCKOUT_SYNC_LOCK)
			out[(*n)++] = (struct lockout_sync_step){ u,
				LOCKOUT_SYNC_LOCK, idx[i] };
	}
	free(idx);
	qsort(out + first, *n - first, sizeof(*out), cmp_step);
	return PG_OK;
}

int
lockout_sync_plan(const struct lockout_entry *local, size_t nlocal,
    const struct lockout_pending *pend, size_t npend, char *const *dir_users,
    size_t ndir, struct lockout_sync_step **steps, size_t *nsteps)
{
	const char **lv, **pv, **dv;
	struct lockout_sync_step *out = NULL;
	enum lockout_sync_local st;
	bool nomem = false;
	size_t i, n = 0;
	int r = PG_ERR_NOMEM;

	*steps = NULL;
	*nsteps = 0;
	lv = sorted(local, sizeof(*local), nlocal, &nomem);
	pv = sorted(pend, sizeof(*pend), npend, &nomem);
	dv = sorted(dir_users, sizeof(*dir_users), ndir, &nomem);
	if (nomem || (out = calloc(ndir + nlocal + 1, sizeof(*out))) == NULL)
		goto out;
	if ((r = plan_locks(lv, nlocal, pv, npend, dir_users, ndir, out, &n)) !=
	    PG_OK)
		goto out;
	for (i = 0; i < nlocal; i++) {
		if (holds(dv, ndir, local[i].user))
			continue;
		st = local[i].origin == LOCKOUT_ORIGIN_DIRECTORY
		    ? LOCKOUT_SYNC_LOCKED_COPY
		    : LOCKOUT_SYNC_LOCKED_HERE;
		if (lockout_sync_decide(st, holds(pv, npend, local[i].user),
		        false, false) == LOCKOUT_SYNC_UNLOCK)
			out[n++] = (struct lockout_sync_step){ local[i].user,
				LOCKOUT_SYNC_UNLOCK, 0 };
	}
	*steps = out;
	*nsteps = n;
	out = NULL; /* transferred */
	r = PG_OK;
out:
	free(out);
	free(lv);
	free(pv);
	free(dv);
	return r;
}

int
lockout_check_dir(struct lockout_store *st, struct dir *d, const char *user,
    struct lockout_entry *out, bool *lifted)
{
	struct lockout_entry e;
	struct dir_user *u = NULL;
	bool l = false;
	int r;

	if (lifted != NULL)
		*lifted = false;
	r = lockout_check(st, user, &e);
	if (r != 1 || e.origin != LOCKOUT_ORIGIN_DIRECTORY || d == NULL)
		goto done;
	/* Only the directory's own "not locked" lifts its copy. */
	if (dir_lookup(d, user, strlen(user), &u) != PG_OK || u->locked)
		goto done;
	if (lockout_sync_unlock(st, user, false, &l) != PG_OK)
		goto done; /* the copy stands */
	if (lifted != NULL)
		*lifted = l;
	lockout_entry_clear(&e);
	r = lockout_check(st, user, &e);
done:
	dir_user_free(u);
	if (r == 1 && out != NULL)
		*out = e; /* transferred */
	else
		lockout_entry_clear(&e);
	if (r != 1 && out != NULL)
		memset(out, 0, sizeof(*out));
	return r;
}
