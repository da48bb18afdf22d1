/*
 * dirsync.h - the gateway's retry of directory lockouts it (or the PAM
 * module on this host) could not write: a thread works the lockout
 * store's queue (core/lockout/lockout_pending.c) every GW_DIRSYNC_INTERVAL_S
 * seconds and alerts while anything stays queued.
 */
#ifndef PG_GW_DIRSYNC_H
#define PG_GW_DIRSYNC_H

#include "gateway/gw.h"

#define GW_DIRSYNC_INTERVAL_S 30

/* Starts the thread (nothing to do without a lockout attribute).  0/-1. */
int gw_dirsync_start(struct gw *g);

/* Stops it (no-op if not running). */
void gw_dirsync_stop(void);

#endif /* PG_GW_DIRSYNC_H */
