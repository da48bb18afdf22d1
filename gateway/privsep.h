/*
 * privsep.h - mount as root, serve as the service user (see privsep.c).
 */
#ifndef PG_GW_PRIVSEP_H
#define PG_GW_PRIVSEP_H

#include "gateway/gw.h"

/*
 * Makes the shared state the worker will need after the drop (the MFA
 * ticket, lockout and audit directories) the service group's, as root,
 * before anything is served.  Returns 0 (also when not root) or -1 after
 * logging why.
 */
int gw_privsep_prepare(struct gw *g);

/*
 * Run as root after the mount: forks.  The parent stays root, waits for
 * the worker and unmounts, and never returns.  Returns 0 in the worker
 * (still root; g->privsep set), or at once without forking when not root;
 * -1 after logging why.
 */
int gw_privsep_fork(struct gw *g);

/*
 * In the worker, once everything that needs root is open: becomes the
 * service user for good and checks that what serving needs is still
 * reachable.  0, or -1 after logging why (the worker must stop).
 */
int gw_privsep_drop(struct gw *g);

#endif /* PG_GW_PRIVSEP_H */
