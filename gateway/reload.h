/*
 * reload.h - reloading the policy when its file changes (inotify).
 */
#ifndef PG_GW_RELOAD_H
#define PG_GW_RELOAD_H

#include "gateway/gw.h"

/*
 * Loads the configured policy into *P, logging its diagnostics; WHY (LEN
 * bytes) gets the first error, a diagnostic or the file's.  0 or PG_ERR_*.
 */
int gw_policy_load(struct gw *g, struct policy **p, char *why, size_t len);

/*
 * Loads the policy file again: on success it replaces the policy in force
 * (audited); otherwise the errors are logged and audited and the old
 * policy stays.  Returns 0 or the PG_ERR_* of the load.
 */
int gw_reload_policy(struct gw *g);

/* Starts the thread that calls gw_reload_policy() on changes.  0 or -1. */
int gw_reload_start(struct gw *g);

/* Stops that thread (no-op if not running). */
void gw_reload_stop(void);

#endif /* PG_GW_RELOAD_H */
