/*
 * held.c - the files locked-out users still hold open.  A lockout cannot
 * close a descriptor, and a read the page cache answers never reaches the
 * gateway, so those files' pages are dropped and kept out of the cache
 * while they stay open (docs/gateway.md, "Open files after a lockout").
 * Lock order: a user's mu, then held_mu.
 */
#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "gateway/gw.h"
#include "gateway/start.h"

#define DROPPER_IDLE_MS 200 /* the dropper waits this long for more work */

struct gw_held {
	char *path; /* "/" + the path in the store, as fuse_invalidate_path */
	unsigned refs;
	bool drop;
	struct gw_held *next;
};

/* With g->held_mu held. */
static struct gw_held *
find(struct gw *g, const char *rel)
{
	struct gw_held *e;

	for (e = g->held; e != NULL; e = e->next)
		if (strcmp(e->path + 1, rel) == 0)
			return e;
	return NULL;
}

/* Drops the cached pages of every entry asked for, until none has been
 * asked for in DROPPER_IDLE_MS. */
static void *
dropper(void *arg)
{
	struct gw *g = arg;
	struct timespec until;
	struct gw_held *e;
	bool idle = false;
	char *path;

	pthread_mutex_lock(&g->held_mu);
	for (;;) {
		for (e = g->held; e != NULL && !e->drop; e = e->next)
			;
		if (e == NULL) {
			if (idle)
				break;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += DROPPER_IDLE_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			idle = pthread_cond_timedwait(&g->held_cv, &g->held_mu,
			           &until) == ETIMEDOUT;
			continue;
		}
		idle = false;
		e->drop = false;
		path = strdup(e->path);
		pthread_mutex_unlock(&g->held_mu);
		/* Waits for pages being filled, then removes them; mapped
		 * ones are unmapped. */
		if (path != NULL && g->fuse != NULL)
			fuse_invalidate_path(g->fuse, path);
		free(path);
		pthread_mutex_lock(&g->held_mu);
	}
	g->dropper = false;
	pthread_mutex_unlock(&g->held_mu);
	atomic_fetch_sub(&gw_lock_workers, 1);
	return NULL;
}

/* With g->held_mu held: marks E for a drop and wakes or starts the
 * dropper. */
static void
want_drop(struct gw *g, struct gw_held *e)
{
	pthread_attr_t at;
	pthread_t t;

	e->drop = true;
	if (g->dropper) {
		pthread_cond_signal(&g->held_cv);
		return;
	}
	atomic_fetch_add(&gw_lock_workers, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, dropper, g) == 0) {
		g->dropper = true;
	} else {
		/* No thread: the lockout's own drop (at the lockout) still
		 * happened; log it, the next read tries again. */
		atomic_fetch_sub(&gw_lock_workers, 1);
		e->drop = false;
		gw_log(LOG_ERR, "cannot start the page-cache dropper");
	}
	pthread_attr_destroy(&at);
}

/* With g->held_mu held. */
static int
add(struct gw *g, const char *rel)
{
	struct gw_held *e = find(g, rel);
	size_t n;

	if (e == NULL) {
		n = strlen(rel);
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->path = malloc(n + 2)) == NULL) {
			free(e);
			return -1;
		}
		e->path[0] = '/';
		memcpy(e->path + 1, rel, n + 1);
		e->next = g->held;
		g->held = e;
		atomic_fetch_add(&g->nheld, 1);
	}
	e->refs++;
	want_drop(g, e);
	return 0;
}

/* With g->held_mu held. */
static void
put(struct gw *g, const char *rel)
{
	struct gw_held **pp, *e;

	for (pp = &g->held; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->path + 1, rel) == 0)
			break;
	if (e == NULL || --e->refs > 0)
		return;
	*pp = e->next;
	atomic_fetch_sub(&g->nheld, 1);
	free(e->path);
	free(e);
}

void
gw_held_lock_user(struct gw *g, struct gw_user *u)
{
	struct gw_handle *h;

	pthread_mutex_lock(&g->held_mu);
	for (h = u->open; h != NULL; h = h->next)
		if (!h->held && !h->writable) {
			if (add(g, h->path) != 0) {
				gw_log(LOG_ERR,
				    "out of memory: a file %s holds open may "
				    "still be served from the page cache",
				    u->name);
				continue;
			}
			h->held = true;
		}
	pthread_mutex_unlock(&g->held_mu);
}

void
gw_held_unlock_user(struct gw *g, struct gw_user *u)
{
	struct gw_handle *h;

	pthread_mutex_lock(&g->held_mu);
	for (h = u->open; h != NULL; h = h->next)
		if (h->held) {
			put(g, h->path);
			h->held = false;
		}
	pthread_mutex_unlock(&g->held_mu);
}

void
gw_held_release(struct gw *g, struct gw_handle *h)
{
	if (!h->held)
		return;
	pthread_mutex_lock(&g->held_mu);
	put(g, h->path);
	h->held = false;
	pthread_mutex_unlock(&g->held_mu);
}

bool
gw_held_by_locked(struct gw *g, const char *rel)
{
	bool r;

	if (atomic_load(&g->nheld) == 0)
		return false;
	pthread_mutex_lock(&g->held_mu);
	r = find(g, rel) != NULL;
	pthread_mutex_unlock(&g->held_mu);
	return r;
}

void
gw_held_read(struct gw *g, const char *rel)
{
	struct gw_held *e;

	if (atomic_load(&g->nheld) == 0)
		return;
	pthread_mutex_lock(&g->held_mu);
	if ((e = find(g, rel)) != NULL && !e->drop)
		want_drop(g, e);
	pthread_mutex_unlock(&g->held_mu);
}

void
gw_held_free(struct gw *g)
{
	struct gw_held *e;

	while ((e = g->held) != NULL) {
		g->held = e->next;
		free(e->path);
		free(e);
	}
	atomic_store(&g->nheld, 0);
}
