/*
 * mfa_ticket_int.h - what the ticket code shares with its tests: the
 * parsed ticket and the identity of a session leader (pid and start time,
 * so a reused pid is not mistaken for the leader).  Internal to the core.
 */
#ifndef PG_MFA_TICKET_INT_H
#define PG_MFA_TICKET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/totp/totp.h"

struct mfa_proc {
	long long pid;
	long long start; /* clock ticks after boot, /proc/PID/stat field 22 */
};

struct mfa_ticket {
	long long issued, expires;
	char host[256];
	bool pending;            /* auth passed, no session joined yet */
	struct mfa_proc auth[2]; /* the process that passed auth, its parent */
	size_t n;
	struct mfa_proc s[MFA_TICKET_MAX_SESSIONS];
};

/*
 * The start time of process PID into *START.  Returns PG_OK,
 * PG_ERR_NOTFOUND (no such process, or a zombie: it has ended), or
 * PG_ERR_IO / PG_ERR_CORRUPT when /proc cannot say.
 */
int mfa_proc_start(pid_t pid, long long *start);

/* Whether P still runs (same pid, same start); false when in doubt. */
bool mfa_proc_alive(const struct mfa_proc *p);

#endif /* PG_MFA_TICKET_INT_H */
