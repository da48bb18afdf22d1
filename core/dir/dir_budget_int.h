/*
 * dir_budget_int.h - the clinic-wide bulk budget's value formats and
 * arithmetic (dir_budget_val.c), apart from LDAP so that the unit tests
 * can check them.  Internal to core/dir.
 */
#ifndef PG_DIR_BUDGET_INT_H
#define PG_DIR_BUDGET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dir/dir.h"

#define DB_AT_LEASE  "pgBulkLease"
#define DB_AT_SERIAL "pgBulkSerial"
#define DB_OC        "pgBulkBudget"
#define DB_SERIAL    33 /* 32 hex digits and a NUL */

/*
 * One pgBulkLease value: "KEY OWNER GRANTED_MS EXPIRES_MS UNITS", and for
 * the patients metric " TAG" (UNITS then 1).
 */
struct db_lease {
	char key[DIR_BUDGET_KEY_MAX];
	char tag[DIR_BUDGET_TAG_MAX]; /* patients only */
	bool patients;                /* the key's metric */
	char owner[DIR_BUDGET_OWNER_MAX];
	int64_t granted_ms, expires_ms;
	uint64_t units;
	int64_t window_ms; /* the key's window */
	uint64_t max;      /* the key's maximum */
};

/*
 * Parses the LEN bytes at S into *OUT.  Returns 0, or -1 for anything
 * else: a key that dir_budget_key() would not write, an owner outside
 * [A-Za-z0-9._-], times that are not 1..19 digits without a leading
 * zero, an expiry before the grant, no units; for the patients metric,
 * no tag or more than one unit, and for the others, a tag.
 */
int db_lease_parse(const char *s, size_t len, struct db_lease *out);

/* Writes L's value into OUT (DIR_LEASE_MAX bytes).  0 or -1. */
int db_lease_format(const struct db_lease *l, char *out, size_t len);

/* True if OWNER is a name dir_budget_lease() accepts. */
bool db_owner_ok(const char *owner);

/*
 * Parses KEY's window, maximum and whether it counts patients.  0, or -1
 * for a malformed key.  PATIENTS may be NULL.
 */
int db_key_parse(
    const char *key, int64_t *window_ms, uint64_t *max, bool *patients);

/* True if S is a tag dir_budget_tag() writes (32 lowercase hex digits). */
bool db_tag_ok(const char *s, size_t len);

/* Does L still count at NOW_MS: before expiry + window + clock skew? */
bool db_lease_counts(const struct db_lease *l, int64_t now_ms);

/*
 * The units to grant for NEED (wanting WANT) when the clinic holds
 * IN_USE of MAX: 0 when NEED does not fit, else NEED and a part of the
 * room left, so that the last units are handed out one by one instead of
 * sitting unspent on one gateway while another is refused.
 */
uint64_t db_grant(uint64_t max, uint64_t in_use, uint64_t need, uint64_t want);

#endif /* PG_DIR_BUDGET_INT_H */
