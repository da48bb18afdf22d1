/*
 * dirsync.h - the gateway and the directory's lockouts, when it has a
 * lockout attribute.  Two threads:
 *  - the retry of directory lockouts this host could not write: it works
 *    the lockout store's queue (core/lockout/lockout_pending.c) every
 *    GW_DIRSYNC_INTERVAL_S seconds, and at once when the watch below
 *    (re)connects, and alerts while anything stays queued;
 *  - the watch (dir_watch_* in core/dir/dir.h): a lockout set in the
 *    directory by another server reaches this gateway within a second and
 *    goes through the same revocation as a local one (gw_lock_copy()); an
 *    unlock there lifts the copy here (gw_unlock_copy()).  After each
 *    reconnection the store is matched with the directory's whole set.
 *    While the watch cannot run (no syncprov, directory away) the gateway
 *    goes on with its cache's behaviour, alerting (LOG_ALERT) that other
 *    servers' lockouts arrive only when cached answers expire.
 */
#ifndef PG_GW_DIRSYNC_H
#define PG_GW_DIRSYNC_H

#include <stddef.h>

#include "gateway/gw.h"

#define GW_DIRSYNC_INTERVAL_S 30

/* Starts the threads (nothing to do without a lockout attribute).  0/-1:
 * only the retry thread's failure is fatal. */
int gw_dirsync_start(struct gw *g);

/* Stops them (no-op if not running). */
void gw_dirsync_stop(void);

/* What the watch is doing, for `photoguard status`. */
enum gw_watch_state {
	GW_WATCH_OFF = 0,  /* not started: no lockout attribute */
	GW_WATCH_STARTING, /* connecting, first refresh not through yet */
	GW_WATCH_UP,       /* following the directory */
	GW_WATCH_DOWN,     /* not running: retrying */
};

/* The state, and in WHY (LEN bytes; may be NULL) why it is down. */
enum gw_watch_state gw_dirsync_state(char *why, size_t len);

/* "off", "starting", "up" or "down". */
const char *gw_watch_state_name(enum gw_watch_state s);

/* The state in words for a person, into BUF (LEN bytes); returns BUF. */
const char *gw_dirsync_describe(struct gw *g, char *buf, size_t len);

#endif /* PG_GW_DIRSYNC_H */
