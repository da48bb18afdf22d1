/*
 * dirsync.c - the retry thread of dirsync.h.  It sleeps on a condition
 * variable so that stopping does not wait out the interval.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <syslog.h>
#include <time.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "core/lockout/lockout.h"
#include "gateway/dirsync.h"

static pthread_t sync_thread;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv;
static bool sync_stop, sync_running;

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
		pthread_mutex_unlock(&sync_mu);
		sync_once(g);
		pthread_mutex_lock(&sync_mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += GW_DIRSYNC_INTERVAL_S;
		while (!sync_stop &&
		    pthread_cond_timedwait(&sync_cv, &sync_mu, &ts) !=
		        ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sync_mu);
	return NULL;
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
	return 0;
}

void
gw_dirsync_stop(void)
{
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
