/*
 * failcount.h - the per-user counter of failed second-factor codes, kept
 * in the lockout store's directory with the same discipline (one file per
 * user, changed under the store lock, replaced atomically), so that many
 * sshd children counting at once never lose a failure.
 */
#ifndef PG_FAILCOUNT_H
#define PG_FAILCOUNT_H

#include <time.h>

#include "core/lockout.h"

/*
 * Failures remembered per user.  Counts saturate here: far above any
 * sensible lockout threshold, and it bounds the counter file.
 */
#define FAILCOUNT_MAX 1024

/* Consecutive failures remembered; the run saturates here. */
#define FAILCOUNT_RUN_MAX 100000

/* Longest window accepted, in seconds (one week). */
#define FAILCOUNT_WINDOW_MAX (7 * 24 * 3600)

/*
 * Records one failure of USER at NOW and sets *COUNT_OUT to the number of
 * failures in (NOW - WINDOW_S, NOW], this one included; older failures are
 * forgotten.  Atomic across processes and threads.  Returns 0 or PG_ERR_*
 * (PG_ERR_CORRUPT if the counter file is damaged: a caller enforcing a
 * threshold must then act as if it were reached).
 */
int failcount_add(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out);

/*
 * As failcount_add(), and sets *RUN_OUT to USER's consecutive failures,
 * this one included, however far apart: the run ends only when the
 * counter is reset (a good code, an admin unlock).  NIST SP 800-63B
 * limits consecutive failed attempts; the window alone lets a patient
 * guesser through.
 */
int failcount_add_run(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out, unsigned *run_out);

/*
 * Sets *COUNT_OUT to USER's failures in (NOW - WINDOW_S, NOW] without
 * recording one.  Returns 0 or PG_ERR_* as failcount_add().
 */
int failcount_get(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out);

/* Forgets USER's failures (after a good code).  Returns 0 or PG_ERR_*. */
int failcount_reset(struct lockout_store *st, const char *user);

#endif /* PG_FAILCOUNT_H */
