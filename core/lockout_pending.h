/*
 * lockout_pending.h - directory lockouts not yet written.  When a lockout
 * decided here cannot be set in the directory (unreachable, timed out),
 * it is queued in the lockout store's directory ("p-<hex>.json", changed
 * under the store lock, replaced atomically) and retried by every process
 * that reaches the directory (the gateway periodically, the PAM account
 * phase, `photoguard lockouts`) until it lands or the lockout is lifted.
 */
#ifndef PG_LOCKOUT_PENDING_H
#define PG_LOCKOUT_PENDING_H

#include <stddef.h>
#include <time.h>

#include "core/directory.h"
#include "core/lockout.h"

/* Longest error message kept with an entry, in bytes. */
#define LOCKOUT_PENDING_ERR_MAX 255

/* One queued directory write; strings owned by the array it came in. */
struct lockout_pending {
	char *user;
	time_t since;    /* first failed try */
	time_t last_try; /* latest failed try */
	unsigned tries;  /* failed tries so far */
	char *error;     /* why the latest try failed ("" if unknown) */
};

/*
 * Queues (or, if queued already, notes another failed try of) the
 * directory lockout of USER, which failed at NOW because of ERR (may be
 * NULL; cut to LOCKOUT_PENDING_ERR_MAX).  Returns 0 or PG_ERR_*.
 */
int lockout_pending_add(
    struct lockout_store *st, const char *user, time_t now, const char *err);

/*
 * Lists the queue, oldest first: *OUT (NULL if empty) is an array of *N
 * entries freed with lockout_pending_free().  A damaged entry fails the
 * listing (PG_ERR_CORRUPT): it may hide a lockout.  Returns 0 or PG_ERR_*.
 */
int lockout_pending_list(
    struct lockout_store *st, struct lockout_pending **out, size_t *n);

/* Frees an array from lockout_pending_list(); NULL is a no-op. */
void lockout_pending_free(struct lockout_pending *v, size_t n);

/*
 * Works the queue at NOW: drops the entries of users no longer locked in
 * the store (lifted by an admin), then, with D non-NULL, writes each
 * remaining lockout to the directory, dropping those that land and noting
 * another failed try on the others.  *LEFT is the number still queued
 * afterwards.  Returns 0 when the queue was worked (even if writes
 * failed), or PG_ERR_* when it could not be read.
 */
int lockout_pending_retry(
    struct lockout_store *st, struct dir *d, time_t now, size_t *left);

#endif /* PG_LOCKOUT_PENDING_H */
