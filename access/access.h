/*
 * access.h - the layer over policy/ and core/: reading the policy file for the
 * parts that use it (the PAM module, the gateway, the CLI): the file checks and
 * size cap live here, the language itself in policy/, which does no I/O.
 * And the one way a request is put to the policy (request.c), so that the
 * gateway, `photoguard policy explain` and the PAM account phase cannot
 * disagree about what a user may do.
 */
#ifndef PG_ACCESS_H
#define PG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/dir/dir.h"
#include "policy/policy.h"

#define PG_POLICY_MAX_SIZE (4 * 1024 * 1024)

/*
 * Reads and parses the policy at PATH.  With TRUSTED the file must be
 * owned by root (or the effective uid) and not writable by group or others,
 * as for a policy in force; without it (checking a draft) any readable
 * regular file will do.  Symlinks are never followed.  On success *OUT is
 * the caller's (policy_free()).  *DIAGS, if not NULL, gets the parser's
 * diagnostics (policy_diags_free()).  On an I/O failure returns the
 * PG_ERR_* code and writes "PATH: what went wrong" to ERR.
 */
int pg_policy_load(const char *path, int trusted, struct policy **out,
    struct policy_diags **diags, char *err, size_t errlen);

/* --- one request for every decision (request.c) ------------------------ */

#define PG_ACCESS_BG_MAX 16 /* break-glass grants one request may carry */

/* The local clock as the policy sees it. */
struct pg_access_clock {
	int weekday;       /* 0 = Sunday .. 6 */
	int minute_of_day; /* 0..1439 */
};

/*
 * The local weekday and minute of the day of T into *OUT.  Returns 0, or
 * PG_ERR_INVAL when T cannot be converted (then *OUT is out of range, so
 * a decision made from it is an error, never an answer).
 */
int pg_access_clock_at(time_t t, struct pg_access_clock *out);

/*
 * The roles of the directory user U under P: every role one of whose
 * groups U is in; unknown groups give none.  Returns 0, or PG_ERR_INVAL
 * on NULL arguments (then *OUT is empty).
 */
int pg_access_roles(const struct policy *p, const struct dir_user *u,
    struct policy_roleset *out);

/* What is asked, and the facts of the moment that are not the user's. */
struct pg_access_facts {
	enum policy_action action;
	const char *path; /* relative to the store root, as for policy_decide */
	bool is_dir;
	bool mfa; /* the user holds a live MFA ticket */
	struct pg_access_clock when;
	const char *const *grants; /* live break-glass patients, any order */
	size_t ngrants;            /* more than PG_ACCESS_BG_MAX: an error */
};

/* Where policy_explain() records the rules it considered. */
struct pg_access_trace {
	struct policy_trace_entry *entries;
	size_t max;
	size_t n; /* set: rules considered, may exceed max */
};

/*
 * Decides F for the directory user U (name and care teams) holding ROLES
 * (NULL: the roles of U's groups, as pg_access_roles() gives them; the
 * gateway passes the set it keeps per user).  With TRACE, explains as
 * policy_explain() does; the decision is the same either way.  Returns the
 * verdict also in DEC->verdict; ERROR for bad arguments or too many
 * grants.  Allocation-free.
 */
enum policy_verdict pg_access_decide(const struct policy *p,
    const struct dir_user *u, const struct policy_roleset *roles,
    const struct pg_access_facts *f, struct policy_decision *dec,
    struct pg_access_trace *trace);

/*
 * May the directory user U log in to HOST through SERVICE (NULL: none
 * given)?  *ROLES gets U's roles (for messages), DEC the decision.
 * Returns 0 with the verdict in DEC->verdict, or PG_ERR_INVAL when the
 * roles cannot be mapped (then DEC->verdict is ERROR).
 */
int pg_access_login(const struct policy *p, const struct dir_user *u,
    const char *host, const char *service, struct policy_roleset *roles,
    struct policy_decision *dec);

#endif /* PG_ACCESS_H */
