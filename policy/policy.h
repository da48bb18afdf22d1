/*
 * policy.h - the photoguard policy language: parse a policy text into an
 * immutable struct policy, then ask it pure questions (may this user do this
 * to this path, may these roles log in here, what limits apply).  No I/O,
 * no clock, no directory look-ups: the caller supplies every fact.  The
 * language and its matching rules are described in policy/LANGUAGE.md.
 */
#ifndef PG_POLICY_H
#define PG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define POLICY_MAX_ROLES  64   /* one bit each in a roleset */
#define POLICY_ID_MAX     64   /* patient id, with its NUL */
#define POLICY_REASON_MAX 512  /* decision reason, with its NUL */
#define POLICY_NOTE_MAX   160  /* one explain note, with its NUL */
#define POLICY_PATH_MAX   4096 /* request path, with its NUL */

struct policy;
struct policy_diags;

/* Three-valued answers: callers test `== POLICY_ALLOW` only. */
enum policy_verdict {
	POLICY_ERROR = -1,
	POLICY_DENY = 0,
	POLICY_ALLOW = 1,
};

enum policy_action {
	POLICY_LIST,
	POLICY_READ,
	POLICY_WRITE,
};

/* The roles a user holds: a value, cheap to copy and cache. */
struct policy_roleset {
	uint64_t bits;
};

/* --- parsing ----------------------------------------------------------- */

enum policy_diag_severity {
	POLICY_DIAG_ERROR,
	POLICY_DIAG_WARNING,
};

struct policy_diag {
	enum policy_diag_severity severity;
	const char *file; /* the NAME given to policy_parse */
	unsigned line;    /* 1-based; 0 = the file as a whole */
	unsigned col;     /* 1-based byte column; 0 = the line as a whole */
	char message[160];
};

/*
 * Parses the policy text BUF (LEN bytes, need not be NUL-terminated) that
 * came from NAME (used in diagnostics and decisions).  On success returns 0
 * and sets *OUT to a new policy the caller frees with policy_free().
 * Otherwise returns PG_ERR_PARSE (errors are in the diagnostics),
 * PG_ERR_TOOBIG (an explicit cap was exceeded; also a diagnostic),
 * PG_ERR_NOMEM or PG_ERR_INVAL, and leaves *OUT NULL.  If DIAGS is not NULL
 * it receives the errors and warnings (possibly none), also on success, to
 * be freed with policy_diags_free(); it is NULL only after PG_ERR_NOMEM or
 * PG_ERR_INVAL.  At most POLICY_DIAGS_MAX diagnostics are kept.
 */
#define POLICY_DIAGS_MAX 50
int policy_parse(const char *name, const char *buf, size_t len,
    struct policy **out, struct policy_diags **diags);

/* Frees a policy; NULL is a no-op. */
void policy_free(struct policy *p);

/* Number of diagnostics (0 for NULL). */
size_t policy_diags_count(const struct policy_diags *d);
/* Number of errors among them (warnings excluded). */
size_t policy_diags_errors(const struct policy_diags *d);
/* The I-th diagnostic, or NULL if out of range.  Owned by D. */
const struct policy_diag *policy_diags_get(
    const struct policy_diags *d, size_t i);
/* Frees diagnostics; NULL is a no-op. */
void policy_diags_free(struct policy_diags *d);
/*
 * Formats one diagnostic as "file:line:col: error: message" (or
 * "warning:") into BUF of LEN bytes, always NUL-terminated.  Returns the
 * length it wanted, as snprintf does.
 */
int policy_diag_format(const struct policy_diag *d, char *buf, size_t len);

/* The NAME the policy was parsed from.  Owned by P. */
const char *policy_name(const struct policy *p);

/* --- roles ------------------------------------------------------------- */

/*
 * Maps the user's directory groups to roles: *OUT gets every role one of
 * whose groups is among GROUPS (exact, case-sensitive names).  Unknown
 * groups give no role.  Returns 0, or PG_ERR_INVAL on NULL arguments (then
 * *OUT is empty).
 */
int policy_roles_for_groups(const struct policy *p, const char *const *groups,
    size_t ngroups, struct policy_roleset *out);

/* Number of roles declared, and the name of role I (NULL if none). */
size_t policy_nroles(const struct policy *p);
const char *policy_role_name(const struct policy *p, size_t i);

/*
 * Writes the names of the roles in SET, comma-separated in declaration
 * order ("(none)" for an empty set), into BUF of LEN bytes, always
 * NUL-terminated.  Returns the length it wanted, as snprintf does.
 */
int policy_roleset_names(const struct policy *p,
    const struct policy_roleset *set, char *buf, size_t len);

/*
 * True if some rule that applies to a role in SET (or to all roles) has
 * an `mfa` condition; false for a NULL policy or set.  When it is false,
 * policy_decide() for a holder of SET gives the same verdict, rule and
 * reason whatever the request's mfa says, so the caller need not ask
 * whether the user holds a ticket.
 */
bool policy_roles_use_mfa(
    const struct policy *p, const struct policy_roleset *set);

/* --- access decisions -------------------------------------------------- */

struct policy_request {
	const char *user; /* for reasons only; may be NULL */
	struct policy_roleset roles;
	enum policy_action action;
	const char *path; /* relative to the store root, no leading '/',
	                     '/'-separated; "" is the root */
	bool is_dir;
	bool mfa;                         /* the user holds a live MFA ticket */
	int minute_of_day;                /* 0..1439, local time */
	int weekday;                      /* 0 = Sunday .. 6 */
	const char *const *care_patients; /* sorted with strcmp */
	size_t ncare;
	const char *const *breakglass_patients; /* live grants, sorted */
	size_t nbreakglass;
};

struct policy_decision {
	enum policy_verdict verdict;
	const char *rule_file; /* the policy's name; owned by the policy */
	unsigned rule_line;    /* the rule that decided; 0 = default deny */
	bool is_dir;           /* the path was judged as a directory */
	bool traverse;         /* directories: may be entered (looked up in)
	                          because some action may apply beneath */
	bool decoy;            /* the path lies in a decoy patient */
	char patient[POLICY_ID_MAX]; /* the path's {patient}, or "" */
	char reason[POLICY_REASON_MAX];
};

/*
 * Decides REQ.  Returns the verdict also stored in DEC->verdict: ALLOW,
 * DENY, or ERROR for a malformed request (bad path, time out of range,
 * NULL arguments); DEC->reason always says why.  Allocation-free and
 * thread-safe on a shared policy.
 */
enum policy_verdict policy_decide(const struct policy *p,
    const struct policy_request *req, struct policy_decision *dec);

/* Why a rule did or did not apply, for `photoguard policy explain`. */
enum policy_trace_outcome {
	POLICY_TRACE_ROLE,    /* rule is for other roles */
	POLICY_TRACE_ACTION,  /* rule is for other actions */
	POLICY_TRACE_PATH,    /* pattern does not match the path */
	POLICY_TRACE_COND,    /* a condition does not hold */
	POLICY_TRACE_APPLIES, /* rule applies (allow or deny) */
	POLICY_TRACE_DECOY,   /* the decoy line that decided */
};

struct policy_trace_entry {
	unsigned line;
	const char *text; /* the rule as written; owned by the policy */
	bool deny;
	enum policy_trace_outcome outcome;
	char note[POLICY_NOTE_MAX];
};

/*
 * As policy_decide(), and also records every rule considered, in file
 * order, into TRACE (up to MAX entries).  *NTRACE gets the number of
 * rules considered, which may exceed MAX.
 */
enum policy_verdict policy_explain(const struct policy *p,
    const struct policy_request *req, struct policy_decision *dec,
    struct policy_trace_entry *trace, size_t max, size_t *ntrace);

/*
 * Copies the {patient} part of PATH into BUF of LEN bytes.  Returns 0,
 * PG_ERR_NOTFOUND if the layout has no patient part or PATH does not
 * reach it, PG_ERR_TOOBIG if BUF is too small, PG_ERR_INVAL on bad input.
 * BUF is "" unless 0 is returned.
 */
int policy_patient_of(
    const struct policy *p, const char *path, char *buf, size_t len);

/* True if PATIENT is one of the policy's decoy patient ids. */
bool policy_is_decoy(const struct policy *p, const char *patient);

/* --- limits and lockout thresholds ------------------------------------- */

enum policy_metric {
	POLICY_METRIC_FILES,    /* files opened */
	POLICY_METRIC_BYTES,    /* bytes read or written */
	POLICY_METRIC_PATIENTS, /* distinct patients touched */
};

enum policy_limit_kind {
	POLICY_LIMIT_REFUSE,  /* `limit`: refuse new opens while exceeded */
	POLICY_LIMIT_LOCKOUT, /* `lockout`: lock the account */
};

struct policy_limit {
	enum policy_limit_kind kind;
	enum policy_metric metric;
	uint32_t window; /* seconds */
	uint64_t max;
	const char *rule_file;
	unsigned rule_line;
};

/*
 * The limits for a user holding SET, combined over its roles: for each
 * kind, metric and window the largest maximum any of the roles sets
 * (see LANGUAGE.md, "Several roles").  Writes up to MAX of them to OUT,
 * sorted by kind, metric and window, and returns how many there are.
 */
size_t policy_limits(const struct policy *p, const struct policy_roleset *set,
    struct policy_limit *out, size_t max);

/* --- logins ------------------------------------------------------------ */

/*
 * May a user holding SET log in to HOST through SERVICE (NULL: none
 * given)?  The first `login` line that matches decides; otherwise default
 * deny.  DEC gets rule and reason as for policy_decide().
 */
enum policy_verdict policy_login(const struct policy *p,
    const struct policy_roleset *set, const char *host, const char *service,
    struct policy_decision *dec);

/* --- break-glass ------------------------------------------------------- */

struct policy_breakglass {
	bool allowed;
	uint32_t duration;   /* seconds a grant lasts */
	uint32_t max_grants; /* at most this many grants ... */
	uint32_t period;     /* ... per this many seconds */
	bool reason_required;
	const char *rule_file;
	unsigned rule_line;
};

/*
 * May a user holding SET grant themselves break-glass access?  Fills *OUT
 * from the first `breakglass` line naming one of the roles and returns
 * POLICY_ALLOW, or POLICY_DENY (none does), or POLICY_ERROR on bad input.
 */
enum policy_verdict policy_breakglass(const struct policy *p,
    const struct policy_roleset *set, struct policy_breakglass *out);

#endif /* PG_POLICY_H */
