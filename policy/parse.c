/*
 * parse.c - policy_parse(): reads the text line by line, hands each
 * statement to its parser, then checks the policy as a whole (limits for
 * every role that may read, unused roles, rules that can never allow).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"

/* Returns the index of role NAME, or -1. */
int
pi_role_index(const struct policy *p, const char *name)
{
	for (unsigned i = 0; i < p->nroles; i++)
		if (strcmp(p->roles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Parses "NAME{,NAME}" (or "all" when ALLOW_ALL) into a role bitmask.
 * Returns 0 or PG_ERR_PARSE (diagnosed).
 */
int
pi_parse_roles(struct pstate *st, uint64_t *roles, bool *all, bool allow_all)
{
	const struct tok *t;

	*roles = 0;
	if (all != NULL)
		*all = false;
	for (;;) {
		t = pi_next(st);
		if (t == NULL || t->kind != T_WORD) {
			perr(st, t ? t->col : pi_endcol(st),
			    "expected a role name");
			return PG_ERR_PARSE;
		}
		if (strcmp(t->s, "all") == 0 && allow_all && all != NULL)
			*all = true;
		else if (strcmp(t->s, "all") == 0) {
			perr(st, t->col,
			    "`all` is not allowed here; name the "
			    "roles");
			return PG_ERR_PARSE;
		} else {
			int i = pi_role_index(st->p, t->s);
			if (i < 0) {
				perr(st, t->col,
				    "unknown role '%.40s' (declare it with "
				    "`role %.40s = group ...` above)",
				    t->s, t->s);
				return PG_ERR_PARSE;
			}
			*roles |= 1ULL << i;
			st->p->roles[i].used = true;
		}
		t = pi_peek(st);
		if (t == NULL || t->kind != T_COMMA)
			return 0;
		st->pos++;
	}
}

static bool
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PI_MAX_NAME || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		        s[i] == '_'))
			return false;
	return true;
}

/* "= group G {, group G}" into GROUPS (arena copies). */
static int
parse_groups(struct pstate *st, const char **groups, unsigned *ng)
{
	const struct tok *t = pi_next(st);

	if (t->kind != T_EQ) {
		perr(st, t->col, "expected '=' after the role name");
		return PG_ERR_PARSE;
	}
	for (;;) {
		if (!pi_accept_word(st, "group")) {
			t = pi_peek(st);
			perr(st, t ? t->col : pi_endcol(st),
			    "expected `group NAME`");
			return PG_ERR_PARSE;
		}
		t = pi_next(st);
		if (t == NULL || t->kind == T_COMMA || t->kind == T_EQ ||
		    t->s[0] == '\0' || strlen(t->s) > 256) {
			perr(st, t ? t->col : pi_endcol(st),
			    "expected a group name after `group`");
			return PG_ERR_PARSE;
		}
		if (*ng >= PI_MAX_GROUPS) {
			perr(st, t->col,
			    "too many groups for one role (at most %d)",
			    PI_MAX_GROUPS);
			st->fatal = PG_ERR_TOOBIG;
			return PG_ERR_TOOBIG;
		}
		groups[*ng] = pi_strndup(st->p, t->s, strlen(t->s));
		if (groups[(*ng)++] == NULL) {
			st->fatal = PG_ERR_NOMEM;
			return PG_ERR_NOMEM;
		}
		if (pi_peek(st) == NULL || pi_peek(st)->kind != T_COMMA)
			return 0;
		st->pos++;
	}
}

/* role NAME [= group G {, group G}] */
static int
parse_role(struct pstate *st)
{
	struct policy *p = st->p;
	const struct tok *t = pi_next(st);
	const char *groups[PI_MAX_GROUPS];
	struct role *r;
	unsigned ng = 0;
	int i;

	if (t == NULL || t->kind != T_WORD || !valid_name(t->s) ||
	    strcmp(t->s, "all") == 0 || strcmp(t->s, "none") == 0) {
		perr(st, t ? t->col : pi_endcol(st),
		    "expected a role name (lower-case letters, digits, '-', "
		    "'_'; at most %d; not 'all' or 'none')",
		    PI_MAX_NAME);
		return PG_ERR_PARSE;
	}
	if ((i = pi_role_index(p, t->s)) >= 0) {
		perr(st, t->col, "role '%s' is already declared at line %u",
		    t->s, p->roles[i].line);
		return PG_ERR_PARSE;
	}
	if (p->nroles >= POLICY_MAX_ROLES) {
		perr(st, t->col, "too many roles (at most %d)",
		    POLICY_MAX_ROLES);
		st->fatal = PG_ERR_TOOBIG;
		return PG_ERR_TOOBIG;
	}
	r = &p->roles[p->nroles];
	memset(r, 0, sizeof(*r));
	r->line = st->line;
	if ((r->name = pi_strndup(p, t->s, strlen(t->s))) == NULL)
		goto nomem;
	if (pi_peek(st) != NULL && parse_groups(st, groups, &ng) != 0)
		return st->fatal != 0 ? st->fatal : PG_ERR_PARSE;
	if (ng > 0) {
		r->groups = pi_alloc(p, ng * sizeof(*r->groups));
		if (r->groups == NULL)
			goto nomem;
		memcpy(r->groups, groups, ng * sizeof(*r->groups));
	}
	r->ngroups = ng;
	p->nroles++;
	return 0;
nomem:
	st->fatal = PG_ERR_NOMEM;
	return PG_ERR_NOMEM;
}

static bool
valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_ID_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	return strchr(s, '/') == NULL;
}

/* decoy ID {[,] ID} */
static int
parse_decoy(struct pstate *st)
{
	struct policy *p = st->p;
	const struct tok *t;
	int r;

	if (p->patient_depth < 0) {
		perr(st, 1,
		    "`decoy` needs a layout with a {patient} part "
		    "declared above it");
		return PG_ERR_PARSE;
	}
	if (pi_peek(st) == NULL) {
		perr(st, pi_endcol(st), "expected decoy patient ids");
		return PG_ERR_PARSE;
	}
	while ((t = pi_next(st)) != NULL) {
		if (t->kind == T_COMMA)
			continue;
		if (t->kind == T_EQ || !valid_id(t->s)) {
			perr(st, t->col,
			    "bad patient id (1 to %d bytes, no '/')",
			    POLICY_ID_MAX - 1);
			return PG_ERR_PARSE;
		}
		r = pi_grow((void **)&p->decoys, &p->capdecoys, p->ndecoys,
		    sizeof(*p->decoys), PI_MAX_DECOYS);
		if (r != 0) {
			if (r == PG_ERR_TOOBIG)
				perr(st, t->col, "too many decoys (at most %d)",
				    PI_MAX_DECOYS);
			st->fatal = r;
			return r;
		}
		p->decoys[p->ndecoys].line = st->line;
		p->decoys[p->ndecoys].id = pi_strndup(p, t->s, strlen(t->s));
		if (p->decoys[p->ndecoys].id == NULL) {
			st->fatal = PG_ERR_NOMEM;
			return PG_ERR_NOMEM;
		}
		p->ndecoys++;
	}
	return 0;
}

static int
statement(struct pstate *st)
{
	const struct tok *t = pi_next(st);
	const char *w = t->s;
	int r;

	if (t->kind != T_WORD)
		r = -1;
	else if (strcmp(w, "layout") == 0)
		r = pi_parse_layout(st);
	else if (strcmp(w, "role") == 0)
		r = parse_role(st);
	else if (strcmp(w, "allow") == 0 || strcmp(w, "deny") == 0)
		r = pi_parse_rule(st, w[0] == 'd');
	else if (strcmp(w, "limit") == 0)
		r = pi_parse_limit(st, POLICY_LIMIT_REFUSE);
	else if (strcmp(w, "lockout") == 0)
		r = pi_parse_limit(st, POLICY_LIMIT_LOCKOUT);
	else if (strcmp(w, "login") == 0)
		r = pi_parse_login(st);
	else if (strcmp(w, "breakglass") == 0)
		r = pi_parse_breakglass(st);
	else if (strcmp(w, "decoy") == 0)
		r = parse_decoy(st);
	else
		r = -1;
	if (r == -1) {
		perr(st, t->col,
		    "unknown statement '%.40s' (expected layout, role, allow, "
		    "deny, limit, lockout, login, breakglass or decoy)",
		    t->s);
		return PG_ERR_PARSE;
	}
	if (r == 0 && (t = pi_peek(st)) != NULL) {
		perr(st, t->col, "unexpected '%.40s' at the end of the line",
		    t->s);
		return PG_ERR_PARSE;
	}
	return r;
}

/* Lexes and parses every line of BUF. */
static void
parse_lines(struct pstate *st, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len && st->fatal == 0) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;
		const char *line = buf + off;
		const char *nul = memchr(line, '\0', n);

		st->line++;
		off += n + 1;
		if (n > PI_MAX_LINE)
			perr(st, PI_MAX_LINE + 1,
			    "line is longer than %d bytes", PI_MAX_LINE);
		else if (nul != NULL)
			perr(st, (unsigned)(nul - line) + 1, "NUL byte");
		else if (pi_lex_line(st, line, n) == 0 && st->ntok > 0)
			(void)statement(st);
	}
}

static int
cmp_decoy(const void *a, const void *b)
{
	return strcmp(
	    ((const struct decoy *)a)->id, ((const struct decoy *)b)->id);
}

int
policy_parse(const char *name, const char *buf, size_t len, struct policy **out,
    struct policy_diags **diags)
{
	struct policy *p = NULL;
	struct pstate *st = NULL;
	struct policy_diags *d = NULL;
	int r = PG_ERR_NOMEM;

	if (out != NULL)
		*out = NULL;
	if (diags != NULL)
		*diags = NULL;
	if (name == NULL || (buf == NULL && len > 0) || out == NULL)
		return PG_ERR_INVAL;
	if ((d = pi_diags_new(name)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL)
		goto out;
	p->patient_depth = -1;
	st->p = p;
	st->d = d;
	if ((p->name = pi_strndup(p, name, strlen(name))) == NULL)
		goto out;
	if (len > PI_MAX_FILE) {
		perr(st, 0, "policy is larger than %d bytes", PI_MAX_FILE);
		st->fatal = PG_ERR_TOOBIG;
	} else
		parse_lines(st, buf, len);
	if (st->fatal == 0) {
		if (p->ndecoys > 1)
			qsort(p->decoys, p->ndecoys, sizeof(*p->decoys),
			    cmp_decoy);
		pi_check_policy(st);
	}
	pi_diags_sort(d);
	r = st->fatal;
	if (r == PG_ERR_NOMEM)
		goto out;
	if (r == 0 && policy_diags_errors(d) > 0)
		r = PG_ERR_PARSE;
	if (r == 0) {
		*out = p;
		p = NULL; /* transferred */
	}
	if (diags != NULL) {
		*diags = d;
		d = NULL; /* transferred */
	}
out:
	free(st);
	policy_free(p);
	policy_diags_free(d);
	return r;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->rules);
	free(p->limits);
	free(p->logins);
	free(p->bgs);
	free(p->decoys);
	pi_arena_free(p);
	free(p);
}

const char *
policy_name(const struct policy *p)
{
	return p == NULL ? NULL : p->name;
}
