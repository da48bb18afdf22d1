/*
 * parse_int.h - the parser's working state, shared by the files that
 * parse one statement each.  Not installed.
 */
#ifndef PG_POLICY_PARSE_INT_H
#define PG_POLICY_PARSE_INT_H

#include "policy/policy_int.h"

enum tok_kind {
	T_WORD,
	T_STRING,
	T_COMMA,
	T_EQ,
};

struct tok {
	enum tok_kind kind;
	const char *s; /* NUL-terminated, in the line scratch buffer */
	unsigned col;
};

struct pstate {
	struct policy *p;
	struct policy_diags *d;
	unsigned line;
	struct tok toks[PI_MAX_TOKENS];
	unsigned ntok, pos;
	char scratch[2 * PI_MAX_LINE + 2];
	const char *text; /* the statement as written, comment stripped */
	size_t textlen;
	int fatal; /* PG_ERR_NOMEM or PG_ERR_TOOBIG: stop parsing */
	bool uses_breakglass;
};

/* lex.c */
int pi_lex_line(struct pstate *st, const char *line, size_t len);
struct policy_diags *pi_diags_new(const char *name);
void pi_diags_sort(struct policy_diags *d);
void pi_diag(struct pstate *st, enum policy_diag_severity sev, unsigned line,
    unsigned col, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define perr(st, col, ...)                                                     \
	pi_diag((st), POLICY_DIAG_ERROR, (st)->line, (col), __VA_ARGS__)
#define pwarn(st, col, ...)                                                    \
	pi_diag((st), POLICY_DIAG_WARNING, (st)->line, (col), __VA_ARGS__)

/* Token helpers: the current token, or NULL at the end of the line. */
const struct tok *pi_peek(struct pstate *st);
const struct tok *pi_next(struct pstate *st);
bool pi_accept_word(struct pstate *st, const char *w);
unsigned pi_endcol(const struct pstate *st);
const char *pi_stmt_text(struct pstate *st);

/* check.c */
void pi_check_policy(struct pstate *st);

/* parse.c */
int pi_parse_roles(
    struct pstate *st, uint64_t *roles, bool *all, bool allow_all);
int pi_role_index(const struct policy *p, const char *name);

/* parse_rule.c */
int pi_parse_layout(struct pstate *st);
int pi_parse_rule(struct pstate *st, bool deny);

/* parse_limits.c */
int pi_parse_limit(struct pstate *st, enum policy_limit_kind kind);
int pi_parse_login(struct pstate *st);
int pi_parse_breakglass(struct pstate *st);
int pi_parse_count(struct pstate *st, const struct tok *t, const char *s,
    uint64_t max, uint64_t *out);
int pi_parse_duration(struct pstate *st, const struct tok *t, const char *s,
    bool bare_unit, uint32_t *out);

#endif /* PG_POLICY_PARSE_INT_H */
