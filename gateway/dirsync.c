/*
 * dirsync.c - the gateway and the directory's lockouts (dirsync.h): the
 * retry thread of lockouts not yet written, and the watch thread that
 * brings lockouts set on other servers here as they happen.  The retry
 * thread sleeps on a condition variable so that stopping does not wait
 * out the interval.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "base/base.h"
#include "core/dir/dir.h"
#include "core/lockout/lockout.h"
#include "gateway/dirsync.h"
#include "gateway/start.h"

#define WATCH_REALERT_S 600 /* a watch still down is alerted again */

static pthread_t sync_thread;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv;
/* sync_kick: the directory answers again, work the queue now. */
static bool sync_stop, sync_running, sync_kick;

static struct dir_watch *watch;
static pthread_t watch_thread;
static bool watch_running;
static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static enum gw_watch_state watch_state = GW_WATCH_OFF; /* watch_mu */
static char watch_why[256];                            /* watch_mu */
static time_t watch_alerted;                           /* watch thread */

static void
sync_once(struct gw *g)
{
	size_t left = 0;
	int r;

	r = lockout_pending_retry(g->lockouts, g->dir, time(NULL), &left);
	if (r != PG_OK)
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard-gateway: the queue of directory lockouts "
		    "cannot be worked: %s",
		    pg_strerror(r));
	else if (left > 0)
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard-gateway: %zu lockout(s) not yet written to "
		    "the directory; retried every %d s",
		    left, GW_DIRSYNC_INTERVAL_S);
}

static void *
sync_main(void *arg)
{
	struct gw *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&sync_mu);
	while (!sync_stop) {
		sync_kick = false;
		pthread_mutex_unlock(&sync_mu);
		sync_once(g);
		pthread_mutex_lock(&sync_mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += GW_DIRSYNC_INTERVAL_S;
		while (!sync_stop && !sync_kick &&
		    pthread_cond_timedwait(&sync_cv, &sync_mu, &ts) !=
		        ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sync_mu);
	return NULL;
}

/* Locked in the directory and held here already: only what is active. */
static void
revoke_active(struct gw *g, const char *user)
{
	struct gw_user *us[GW_NAMED_MAX];
	size_t n, i;

	n = gw_users_named(g, user, us, GW_NAMED_MAX);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&us[i]->mu);
		if (us[i]->known && strcmp(us[i]->name, user) == 0 &&
		    !atomic_load(&us[i]->locked))
			gw_user_revoke(g, us[i]);
		pthread_mutex_unlock(&us[i]->mu);
	}
}

/*
 * After each (re)connection: the store follows the directory's whole set
 * (lockout_sync_plan()), so whatever changed while the watch was away is
 * in force now.  If the store cannot be listed, every lockout is still
 * copied and nothing is lifted.
 */
static void
apply_refresh(struct gw *g, const struct dir_watch_event *ev)
{
	struct lockout_entry *lv = NULL;
	struct lockout_pending *pv = NULL;
	struct lockout_sync_step *st = NULL;
	size_t nl = 0, np = 0, ns = 0, i;
	bool *copied;
	int r;

	copied = calloc(ev->n + 1, sizeof(*copied));
	if ((r = lockout_list(g->lockouts, &lv, &nl)) != PG_OK ||
	    (r = lockout_pending_list(g->lockouts, &pv, &np)) != PG_OK ||
	    (r = lockout_sync_plan(
	         lv, nl, pv, np, ev->users, ev->n, &st, &ns)) != PG_OK ||
	    copied == NULL) {
		gw_log(LOG_ALERT,
		    "the lockout store cannot be matched with the directory "
		    "(%s): every lockout of the directory is copied, none is "
		    "lifted",
		    r != PG_OK ? pg_strerror(r) : "out of memory");
		for (i = 0; i < ev->n; i++)
			gw_lock_copy(g, ev->users[i], ev->values[i],
			    dir_gentime(ev->values[i]));
		goto out;
	}
	for (i = 0; i < ns; i++) {
		if (st[i].action == LOCKOUT_SYNC_LOCK) {
			copied[st[i].dir_index] = true;
			gw_lock_copy(g, st[i].user, ev->values[st[i].dir_index],
			    dir_gentime(ev->values[st[i].dir_index]));
		} else if (st[i].action == LOCKOUT_SYNC_UNLOCK) {
			gw_unlock_copy(g, st[i].user, false);
		}
	}
	for (i = 0; i < ev->n; i++)
		if (!copied[i])
			revoke_active(g, ev->users[i]);
out:
	free(copied);
	free(st);
	lockout_pending_free(pv, np);
	lockout_entries_free(lv, nl);
}

static void
set_state(enum gw_watch_state s, const char *why)
{
	pthread_mutex_lock(&watch_mu);
	watch_state = s;
	snprintf(watch_why, sizeof(watch_why), "%s", why != NULL ? why : "");
	pthread_mutex_unlock(&watch_mu);
}

/* The watch is down: loudly at first and then every WATCH_REALERT_S. */
static void
watch_down(struct gw *g, const struct dir_watch_event *ev)
{
	enum gw_watch_state was = gw_dirsync_state(NULL, 0);
	time_t now = time(NULL);

	set_state(GW_WATCH_DOWN, ev->why);
	if (was == GW_WATCH_DOWN && now - watch_alerted < WATCH_REALERT_S)
		return;
	watch_alerted = now;
	gw_log(LOG_ALERT,
	    "ALERT: not watching the directory's lockouts (%s; tried %u "
	    "time(s), retrying): a lockout set on another server reaches "
	    "this gateway only when its directory cache expires (cache_ttl "
	    "%d s), and files held open stay readable until then",
	    ev->why, ev->failures, g->cfg->dir_cache_ttl_s);
}

static void
on_watch(void *arg, const struct dir_watch_event *ev)
{
	struct gw *g = arg;

	switch (ev->what) {
	case DIR_WATCH_REFRESH:
		apply_refresh(g, ev);
		/* The directory answers: what is queued for it need not
		 * wait for the next round of the retry. */
		pthread_mutex_lock(&sync_mu);
		sync_kick = true;
		pthread_cond_signal(&sync_cv);
		pthread_mutex_unlock(&sync_mu);
		if (gw_dirsync_state(NULL, 0) == GW_WATCH_DOWN)
			gw_log(LOG_NOTICE,
			    "watching the directory's lockouts again (%zu "
			    "locked)",
			    ev->n);
		set_state(GW_WATCH_UP, NULL);
		break;
	case DIR_WATCH_CHANGE:
		if (ev->locked)
			gw_lock_copy(g, ev->user, ev->value, ev->since);
		else
			gw_unlock_copy(g, ev->user, true);
		break;
	case DIR_WATCH_DOWN:
		watch_down(g, ev);
		break;
	}
}

static void *
watch_main(void *arg)
{
	dir_watch_run(arg);
	return NULL;
}

/* The watch thread; a watch that cannot start is alerted, not fatal. */
static void
watch_start(struct gw *g)
{
	int r;

	if ((r = dir_watch_new(g->dir, on_watch, g, &watch)) != PG_OK ||
	    pthread_create(&watch_thread, NULL, watch_main, watch) != 0) {
		dir_watch_free(watch);
		watch = NULL;
		set_state(
		    GW_WATCH_DOWN, r != PG_OK ? pg_strerror(r) : "no thread");
		gw_log(LOG_ALERT,
		    "ALERT: cannot watch the directory's lockouts (%s): a "
		    "lockout set on another server reaches this gateway only "
		    "when its directory cache expires (cache_ttl %d s)",
		    r != PG_OK ? pg_strerror(r) : "no thread",
		    g->cfg->dir_cache_ttl_s);
		return;
	}
	set_state(GW_WATCH_STARTING, NULL);
	watch_running = true;
}

int
gw_dirsync_start(struct gw *g)
{
	pthread_condattr_t ca;

	if (!dir_can_lock(g->dir))
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sync_cv, &ca);
	pthread_condattr_destroy(&ca);
	sync_stop = false;
	if (pthread_create(&sync_thread, NULL, sync_main, g) != 0) {
		pthread_cond_destroy(&sync_cv);
		return -1;
	}
	sync_running = true;
	watch_start(g);
	return 0;
}

void
gw_dirsync_stop(void)
{
	if (watch_running) {
		dir_watch_stop(watch);
		pthread_join(watch_thread, NULL);
		dir_watch_free(watch);
		watch = NULL;
		watch_running = false;
		set_state(GW_WATCH_OFF, NULL);
	}
	if (!sync_running)
		return;
	pthread_mutex_lock(&sync_mu);
	sync_stop = true;
	pthread_cond_signal(&sync_cv);
	pthread_mutex_unlock(&sync_mu);
	pthread_join(sync_thread, NULL);
	pthread_cond_destroy(&sync_cv);
	sync_running = false;
}

enum gw_watch_state
gw_dirsync_state(char *why, size_t len)
{
	enum gw_watch_state s;

	pthread_mutex_lock(&watch_mu);
	s = watch_state;
	if (why != NULL && len > 0)
		snprintf(why, len, "%s", watch_why);
	pthread_mutex_unlock(&watch_mu);
	return s;
}

const char *
gw_watch_state_name(enum gw_watch_state s)
{
	switch (s) {
	case GW_WATCH_STARTING:
		return "starting";
	case GW_WATCH_UP:
		return "up";
	case GW_WATCH_DOWN:
		return "down";
	default:
		return "off";
	}
}

const char *
gw_dirsync_describe(struct gw *g, char *buf, size_t len)
{
	char why[256];

	switch (gw_dirsync_state(why, sizeof(why))) {
	case GW_WATCH_UP:
		snprintf(buf, len,
		    "up: other servers' lockouts and unlocks arrive at once");
		break;
	case GW_WATCH_STARTING:
		snprintf(buf, len, "starting");
		break;
	case GW_WATCH_DOWN:
		snprintf(buf, len,
		    "DOWN (%s): other servers' lockouts arrive only when "
		    "cached directory answers expire (cache_ttl %d s)",
		    why, g->cfg->dir_cache_ttl_s);
		break;
	default:
		snprintf(buf, len,
		    "off: no [directory] lockout_attribute, lockouts are this "
		    "server's own");
		break;
	}
	return buf;
}
