/*
 * control.h - the control socket (control_serve.c serves it, control.c
 * answers its requests) and break-glass grants (breakglass.c).
 */
#ifndef PG_GW_CONTROL_H
#define PG_GW_CONTROL_H

#include <stdio.h>

#include "core/ctl/ctl.h"
#include "gateway/gw.h"

/* Listens on [store] control_socket (mode 0666: the peer's uid decides
 * what it may do), each connection served on a thread of its own within
 * caps per uid and in all (control_serve.c).  0, or -1 after logging. */
int gw_control_start(struct gw *g);

/* Stops listening, waits for the connections being served and removes
 * the socket. */
void gw_control_stop(struct gw *g);

/*
 * Answers RQ from UID (process PID), a request ctl_parse_request() read:
 * the reply, "ok" or an error first (ctl.h), to F (control.c).
 */
void gw_control_answer(
    struct gw *g, uid_t uid, pid_t pid, const struct ctl_request *rq, FILE *f);

/*
 * Handles a break-glass request from UID (process PID) for PATIENT with
 * REASON ("" if none): grants or refuses, audited, and writes the reply
 * to F (breakglass.c).
 */
void gw_breakglass(struct gw *g, uid_t uid, pid_t pid, const char *patient,
    const char *reason, FILE *f);

#endif /* PG_GW_CONTROL_H */
