/*
 * policy_int.h - the compiled form of a policy, shared by the parser and
 * the evaluator.  Not installed; nothing outside policy/ includes it.
 */
#ifndef PG_POLICY_INT_H
#define PG_POLICY_INT_H

#include "policy/policy.h"

/* Explicit caps on the input and on what it may declare. */
#define PI_MAX_FILE       (1024 * 1024)
#define PI_MAX_LINE       1024
#define PI_MAX_TOKENS     128
#define PI_MAX_RULES      1024
#define PI_MAX_GROUPS     32 /* per role */
#define PI_MAX_LIMITS     512
#define PI_MAX_LOGINS     256
#define PI_MAX_BREAKGLASS 64
#define PI_MAX_DECOYS     4096
#define PI_MAX_SEGS       32 /* pattern and layout segments */
#define PI_MAX_STARSTAR   4  /* `**` per pattern */
#define PI_MAX_PATH_DEPTH 64 /* request path segments */
#define PI_MAX_HOSTS      16 /* host or service globs per login line */
#define PI_MAX_NAME       32 /* role and layout part names */
#define PI_MAX_RULE_TEXT  120
#define PI_MAX_COUNT      1000000000ULL
#define PI_MAX_BYTES      (1ULL << 50)
#define PI_MAX_WINDOW     (31U * 86400U)

enum seg_kind {
	SEG_LIT,  /* literal name */
	SEG_GLOB, /* fnmatch(3) glob */
	SEG_ONE,  /* `*` or `{part}`: any one name */
	SEG_ANY,  /* `**`: any number of names, even none */
};

struct pat_seg {
	enum seg_kind kind;
	const char *text; /* literal, glob or part name */
};

struct pattern {
	struct pat_seg *segs;
	unsigned nseg;
};

#define COND_CARE       1u
#define COND_MFA        2u
#define COND_BREAKGLASS 4u
#define COND_HOURS      8u
#define COND_DAYS       16u

#define ACT_BIT(a) (1u << (unsigned)(a))
#define ACT_ALL                                                                \
	(ACT_BIT(POLICY_LIST) | ACT_BIT(POLICY_READ) | ACT_BIT(POLICY_WRITE))

struct rule {
	bool deny;
	bool all_roles;
	uint64_t roles;
	unsigned actions;
	struct pattern pat;
	unsigned conds;
	int from_min, to_min; /* hours window, [from, to), wraps midnight */
	unsigned days;        /* bit per weekday, 0 = Sunday */
	unsigned line;
	const char *text;
};

struct limit_line {
	uint64_t roles;
	enum policy_limit_kind kind;
	enum policy_metric metric;
	uint32_t window;
	uint64_t max;
	unsigned line;
};

struct login_rule {
	bool all_roles;
	uint64_t roles;
	const char **hosts;
	unsigned nhosts;
	const char **services;
	unsigned nservices;
	unsigned line;
	const char *text;
};

struct bg_rule {
	uint64_t roles;
	uint32_t duration, max, period;
	bool reason;
	unsigned line;
};

struct role {
	const char *name;
	const char **groups;
	unsigned ngroups;
	unsigned line;
	bool limit_none; /* `limit ROLE none` */
	bool has_limit;
	bool used;
	bool in_breakglass;
};

struct decoy {
	const char *id;
	unsigned line;
};

struct arena_blk;

struct policy {
	const char *name;
	struct arena_blk *arena;
	struct pattern layout;
	bool has_layout;
	int patient_depth; /* -1: the layout names no patient */
	struct role roles[POLICY_MAX_ROLES];
	unsigned nroles;
	struct rule *rules;
	size_t nrules, caprules;
	struct limit_line *limits;
	size_t nlimits, caplimits;
	struct login_rule *logins;
	size_t nlogins, caplogins;
	struct bg_rule *bgs;
	size_t nbgs, capbgs;
	struct decoy *decoys;
	size_t ndecoys, capdecoys;
};

/* arena.c: allocations that live as long as the policy. */
void *pi_alloc(struct policy *p, size_t size);
char *pi_strndup(struct policy *p, const char *s, size_t n);
void pi_arena_free(struct policy *p);
int pi_grow(void **arr, size_t *cap, size_t n, size_t elsize, size_t max);
/*
 * The element of the array BASE (N elements of SIZE bytes, each starting
 * with a const char * name, sorted by it with strcmp) named KEY, or NULL.
 */
const void *pi_find_named(
    const void *base, size_t n, size_t size, const char *key);

/* pattern.c */
bool pi_seg_ok(const struct pat_seg *s, const char *name);
bool pi_match(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np);
bool pi_match_prefix(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np);
bool pi_match_covers(
    const struct pat_seg *s, unsigned ns, char *const *p, unsigned np);
int pi_split_path(
    const char *path, char *buf, size_t len, char **segs, unsigned *nseg);
int pi_patient_depth_ok(
    const struct policy *p, char *const *segs, unsigned nseg);

/* decide.c: snprintf that may truncate; reasons are capped on purpose. */
void pi_put(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* PG_POLICY_INT_H */
