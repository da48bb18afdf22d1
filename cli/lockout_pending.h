/*
 * lockout_pending.h - what `photoguard lockouts` does with the directory
 * besides listing it: writes the queued directory lockouts this host
 * could not write before (core/lockout/lockout_pending.c), shows those still
 * queued, and marks every user the directory holds locked as locked in
 * the offline role cache, so that a cached "not locked" never outvotes it.
 */
#ifndef PG_CLI_LOCKOUT_PENDING_H
#define PG_CLI_LOCKOUT_PENDING_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config/config.h"
#include "core/lockout/lockout.h"

/*
 * Retries the queue of ST (against the directory of CFG when it can be
 * opened), then lists what is still queued into *V / *N (free with
 * lockout_pending_free()).  Returns PG_OK or the queue's error.
 */
int cli_pending_sync(const struct pg_config *cfg, struct lockout_store *st,
    struct lockout_pending **v, size_t *n);

/*
 * Marks the N users in USERS locked in CFG's offline cache (if any);
 * failures are reported on stderr as PROGNAME.  Returns how many failed.
 */
size_t cli_pending_mark_cache(const char *progname, const struct pg_config *cfg,
    char *const *users, size_t n);

/*
 * Prints the queue V (N) after the table, on stdout; nothing if empty.
 * LOCAL: times in the local time zone, else UTC.
 */
void cli_pending_print(const struct lockout_pending *v, size_t n, bool local);

/* The queue entry of USER in V (N), or NULL. */
const struct lockout_pending *cli_pending_find(
    const struct lockout_pending *v, size_t n, const char *user);

#endif /* PG_CLI_LOCKOUT_PENDING_H */
