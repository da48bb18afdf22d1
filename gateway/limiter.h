/*
 * limiter.h - one user's sliding windows (files, bytes, distinct patients)
 * against the limits and lockout thresholds of their roles.  No I/O, no
 * clock, no locking: the gateway serialises calls per user and passes the
 * time in.  State grows with what the user did inside the largest window,
 * capped (over the cap every charge fails, closed).
 */
#ifndef PG_GW_LIMITER_H
#define PG_GW_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define LIMITER_MAX_LIMITS   64     /* limits one user is held to */
#define LIMITER_MAX_EVENTS   262144 /* opens kept inside the windows */
#define LIMITER_MAX_PATIENTS 65536  /* distinct patients kept */

struct limiter;

enum limiter_result {
	LIMITER_ERROR = -1,  /* over a cap or out of memory: refuse */
	LIMITER_OK = 0,      /* charged; the open may proceed */
	LIMITER_REFUSE = 1,  /* over a `limit`: refuse this open */
	LIMITER_LOCKOUT = 2, /* crossed a `lockout` threshold: lock */
};

/* The limit that refused or locked, and the count that crossed it. */
struct limiter_hit {
	struct policy_limit limit;
	uint64_t value; /* the metric's value with this open counted */
};

/* A window's state, for status displays. */
struct limiter_usage {
	struct policy_limit limit;
	uint64_t value;
};

/* A new, empty limiter with no limits, or NULL when out of memory. */
struct limiter *limiter_new(void);

/* Frees L; NULL is a no-op. */
void limiter_free(struct limiter *l);

/*
 * Replaces the limits in force with the N limits of LIM (copied; their
 * rule_file strings must outlive the use of hits, i.e. the policy).
 * The recorded history is kept and recounted.  Returns 0 or PG_ERR_TOOBIG.
 */
int limiter_set_limits(
    struct limiter *l, const struct policy_limit *lim, size_t n);

/* Number of limits in force (0: nothing is recorded at all). */
size_t limiter_nlimits(const struct limiter *l);

/*
 * Charges one attempted open at NOW_MS (milliseconds, never decreasing)
 * of a file of BYTES bytes belonging to PATIENT ("" or NULL: none).  The
 * attempt always counts against the lockout thresholds; if one is now
 * exceeded the result is LIMITER_LOCKOUT.  With SERVE (the policy allowed
 * the open) it is then checked against the limits: over one, the result
 * is LIMITER_REFUSE and the open is recorded as refused; otherwise
 * LIMITER_OK and it counts as served.  *HIT says which limit decided.
 */
enum limiter_result limiter_charge(struct limiter *l, int64_t now_ms,
    uint64_t bytes, const char *patient, bool serve, struct limiter_hit *hit);

/*
 * Adds BYTES written to a file already charged (no new file, no new
 * patient).  Returns as limiter_charge() with SERVE true.
 */
enum limiter_result limiter_add_bytes(
    struct limiter *l, int64_t now_ms, uint64_t bytes, struct limiter_hit *hit);

/* Forgets every recorded open (after an unlock). */
void limiter_reset(struct limiter *l);

/*
 * Writes the current value of up to MAX windows at NOW_MS to OUT and
 * returns how many limits there are.
 */
size_t limiter_usage(
    struct limiter *l, int64_t now_ms, struct limiter_usage *out, size_t max);

/* "files 5/60s" for LIM into BUF of LEN bytes; returns BUF. */
const char *limiter_describe(
    const struct policy_limit *lim, char *buf, size_t len);

#endif /* PG_GW_LIMITER_H */
