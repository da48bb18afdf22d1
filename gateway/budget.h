/*
 * budget.h - one user's share of the clinic's bulk budget on this
 * gateway ([lockout] budget = directory): per limit, the lease it holds
 * from the directory (dir.h, "One bulk budget for the clinic") and what
 * it spent of it.  An open is charged here after the local limiter; it
 * costs a directory round trip only when a lease runs out or expires.
 * No locking: the gateway serialises calls per user, like the limiter.
 */
#ifndef PG_GW_BUDGET_H
#define PG_GW_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dir/dir.h"
#include "gateway/limiter.h"
#include "policy/policy.h"

#define BUDGET_PATIENTS_MAX 4096 /* patients with a live lease, per limit */

struct budget;

/*
 * Asks the directory for N leases for USER at NOW_MS: dir_budget_lease()
 * with the gateway's name and lease time.  A parameter so the unit tests
 * can stand in for the directory.
 */
typedef int (*budget_lease_fn)(void *arg, const char *user, int64_t now_ms,
    struct dir_budget_ask *a, size_t n, char *why, size_t whylen);

/* A new budget with no limits, or NULL when out of memory. */
struct budget *budget_new(budget_lease_fn fn, void *arg);

/* Frees B; NULL is a no-op. */
void budget_free(struct budget *b);

/*
 * Replaces the limits in force with the N of LIM.  A limit kept (same
 * key) keeps its lease; a dropped one leaves its lease to age out in the
 * directory.  Returns 0, PG_ERR_TOOBIG or PG_ERR_NOMEM.
 */
int budget_set_limits(
    struct budget *b, const struct policy_limit *lim, size_t n);

/*
 * Charges one open as limiter_charge() does (FILES 1) or bytes written
 * later (FILES 0, no patient), at NOW_MS, milliseconds since the epoch.
 * Lockout thresholds count every attempt; limits only what SERVE says
 * is served.  LIMITER_ERROR when the directory could not answer (WHY
 * says why): the open is refused.  Nothing is spent unless the result is
 * LIMITER_OK, or LIMITER_REFUSE for the thresholds.
 */
enum limiter_result budget_charge(struct budget *b, const char *user,
    int64_t now_ms, int files, uint64_t bytes, const char *patient, bool serve,
    struct limiter_hit *hit, char *why, size_t whylen);

/* Forgets every lease (the directory's were cleared by an unlock). */
void budget_reset(struct budget *b);

/*
 * Ends the leases B holds at NOW_MS, trimmed to what was spent (the
 * gateway stopping, or the user's state freed).  Best effort: a lease
 * not ended ages out.  Returns 0, or the directory's error with the
 * leases kept to be ended again.
 */
int budget_release(struct budget *b, const char *user, int64_t now_ms);

/* Milliseconds since the epoch: the clock leases are written in. */
int64_t budget_now_ms(void);

#endif /* PG_GW_BUDGET_H */
