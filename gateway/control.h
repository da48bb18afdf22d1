/*
 * control.h - the control socket (control_serve.c serves it, control.c
 * answers its requests) and break-glass grants (breakglass.c).
 */
#ifndef PG_GW_CONTROL_H
#define PG_GW_CONTROL_H

#include <stdio.h>

#include "gateway/gw.h"

/* Listens on [store] control_socket (mode 0666: the peer's uid decides
 * what it may do), each connection served on a thread of its own within
 * caps per uid and in all (control_serve.c).  0, or -1 after logging. */
int gw_control_start(struct gw *g);

/* Stops listening, waits for the connections being served and removes
 * the socket. */
void gw_control_stop(struct gw *g);

/*
 * Answers the request LINE (without its newline) of UID (process PID):
 * writes "ok" or "error: WHY" first, then what follows, to F (control.c).
 */
void gw_control_answer(
    struct gw *g, uid_t uid, pid_t pid, const char *line, FILE *f);

/*
 * Handles "breakglass PATIENT REASON..." from UID (process PID): grants or
 * refuses, audited, and writes the answer ("ok" or "error: WHY" first) to F.
 */
void gw_breakglass(
    struct gw *g, uid_t uid, pid_t pid, const char *args, FILE *f);

#endif /* PG_GW_CONTROL_H */
