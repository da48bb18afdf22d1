/*
 * control.h - the control socket (control.c) and break-glass grants
 * (breakglass.c).
 */
#ifndef PG_GW_CONTROL_H
#define PG_GW_CONTROL_H

#include <stdio.h>

#include "gateway/gw.h"

/* Listens on [store] control_socket (mode 0666: the peer's uid decides
 * what it may do) with a thread of its own.  0, or -1 after logging. */
int gw_control_start(struct gw *g);

/* Stops listening and removes the socket. */
void gw_control_stop(struct gw *g);

/*
 * Handles "breakglass PATIENT REASON..." from UID (process PID): grants or
 * refuses, audited, and writes the answer ("ok" or "error: WHY" first) to F.
 */
void gw_breakglass(
    struct gw *g, uid_t uid, pid_t pid, const char *args, FILE *f);

#endif /* PG_GW_CONTROL_H */
