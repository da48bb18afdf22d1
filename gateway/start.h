/*
 * start.h - bringing the gateway up and down: every check that must pass
 * before anything is served, each failure with a clear message.
 */
#ifndef PG_GW_START_H
#define PG_GW_START_H

#include "gateway/gw.h"

/* Logs to syslog (and stderr in the foreground) with a printf format. */
void gw_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Loads the configuration CONFIG (NULL: the default), the policy, the
 * store root, the directory, the lockout store, and checks that the audit
 * log opens.  MOUNTPOINT NULL: [store] mountpoint.  Returns 0, or -1 after
 * logging why (the gateway must not start).
 */
int gw_start(struct gw *g, const char *config, const char *mountpoint);

/* Opens the audit log for serving and writes gateway.start.  0 or -1. */
int gw_start_audit(struct gw *g);

/* Writes gateway.stop and closes the audit log. */
void gw_stop_audit(struct gw *g);

/* Waits (at most 10 s) for lockout workers still running: their
 * directory write, hook and cache drop must not outlive the mount. */
void gw_wait_lock_workers(void);

/* Frees everything gw_start() made. */
void gw_teardown(struct gw *g);

#endif /* PG_GW_START_H */
