/*
 * parse_rule.c - the `layout` line, path patterns compiled against it, and
 * `allow` / `deny` rules with their conditions.
 */
#include <string.h>

#include "policy/parse_int.h"

/* Column of byte OFF inside the text of token T (quotes counted). */
static unsigned
tcol(const struct tok *t, size_t off)
{
	return t->col + (t->kind == T_STRING ? 1u : 0u) + (unsigned)off;
}

/* Is "{name}" (N bytes at S) a part reference?  Sets *NAME, *NLEN. */
static bool
is_part(const char *s, size_t n, const char **name, size_t *nlen)
{
	if (n < 3 || s[0] != '{' || s[n - 1] != '}')
		return false;
	*name = s + 1;
	*nlen = n - 2;
	return true;
}

static bool
part_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > PI_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		        (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * Splits the text of T at '/' into SEGS (arena copies), checking the
 * things common to layouts and patterns.  Returns the number of segments
 * or a negative code (diagnosed).
 */
static int
split_segs(
    struct pstate *st, const struct tok *t, struct pat_seg *segs, size_t *offs)
{
	const char *s = t->s, *e;
	unsigned n = 0;

	if (t->kind != T_WORD && t->kind != T_STRING) {
		perr(st, t->col, "expected a path pattern");
		return PG_ERR_PARSE;
	}
	for (;; s = e + 1) {
		size_t len;
		e = strchr(s, '/');
		len = e != NULL ? (size_t)(e - s) : strlen(s);
		if (len == 0 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.')) {
			perr(st, tcol(t, (size_t)(s - t->s)),
			    "empty, '.' or '..' path segment (paths are "
			    "relative to the store, without a leading '/')");
			return PG_ERR_PARSE;
		}
		if (n >= PI_MAX_SEGS) {
			perr(st, t->col, "path has more than %d segments",
			    PI_MAX_SEGS);
			return PG_ERR_PARSE;
		}
		segs[n].text = pi_strndup(st->p, s, len);
		if (segs[n].text == NULL) {
			st->fatal = PG_ERR_NOMEM;
			return PG_ERR_NOMEM;
		}
		segs[n].kind = SEG_LIT;
		offs[n] = (size_t)(s - t->s);
		n++;
		if (e == NULL)
			return (int)n;
	}
}

/* Copies N compiled segments into the arena as pattern OUT. */
static int
keep_segs(struct pstate *st, const struct pat_seg *segs, unsigned n,
    struct pattern *out)
{
	out->segs = pi_alloc(st->p, n * sizeof(*segs));
	if (out->segs == NULL) {
		st->fatal = PG_ERR_NOMEM;
		return PG_ERR_NOMEM;
	}
	memcpy(out->segs, segs, n * sizeof(*segs));
	out->nseg = n;
	return 0;
}

/* layout "lit/{part}/..." */
int
pi_parse_layout(struct pstate *st)
{
	struct policy *p = st->p;
	struct pat_seg segs[PI_MAX_SEGS];
	size_t offs[PI_MAX_SEGS];
	const struct tok *t = pi_next(st);
	int n;

	if (p->has_layout) {
		perr(st, 1, "layout is already declared");
		return PG_ERR_PARSE;
	}
	if (p->nrules > 0 || p->ndecoys > 0) {
		perr(st, 1, "layout must come before the rules and decoys");
		return PG_ERR_PARSE;
	}
	if (t == NULL) {
		perr(st, pi_endcol(st),
		    "expected the layout, e.g. "
		    "\"patients/{patient}/{series}/{file}\"");
		return PG_ERR_PARSE;
	}
	if ((n = split_segs(st, t, segs, offs)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const char *name, *s = segs[i].text;
		size_t nl;
		unsigned col = tcol(t, offs[i]);

		if (is_part(s, strlen(s), &name, &nl)) {
			if (!part_name_ok(name, nl)) {
				perr(st, col, "bad part name '%.40s'", s);
				return PG_ERR_PARSE;
			}
			for (int j = 0; j < i; j++)
				if (segs[j].kind == SEG_ONE &&
				    strcmp(segs[j].text, s) == 0) {
					perr(st, col,
					    "part %.40s appears twice", s);
					return PG_ERR_PARSE;
				}
			segs[i].kind = SEG_ONE;
			if (strcmp(s, "{patient}") == 0)
				p->patient_depth = i;
		} else if (strpbrk(s, "*?[]{}") != NULL) {
			perr(st, col,
			    "layout segments are plain names or "
			    "{parts}, not globs: '%.40s'",
			    s);
			return PG_ERR_PARSE;
		}
	}
	if (keep_segs(st, segs, (unsigned)n, &p->layout) != 0)
		return PG_ERR_NOMEM;
	p->has_layout = true;
	return 0;
}

static bool
layout_has(const struct policy *p, const char *part)
{
	for (unsigned i = 0; i < p->layout.nseg; i++)
		if (p->layout.segs[i].kind == SEG_ONE &&
		    strcmp(p->layout.segs[i].text, part) == 0)
			return true;
	return false;
}

/* Classifies segment I of a pattern and checks it against the layout. */
static int
pattern_seg(struct pstate *st, const struct tok *t, struct pat_seg *sg,
    unsigned i, size_t off, bool after_any)
{
	const struct policy *p = st->p;
	const char *s = sg->text, *name;
	size_t nl;
	unsigned col = tcol(t, off);

	if (strcmp(s, "**") == 0) {
		sg->kind = SEG_ANY;
		return 0;
	}
	if (is_part(s, strlen(s), &name, &nl)) {
		const struct pat_seg *l = p->layout.segs;
		if (!p->has_layout) {
			perr(st, col, "%.40s: no layout is declared", s);
			return PG_ERR_PARSE;
		}
		if (!layout_has(p, s)) {
			perr(st, col, "%.40s is not a part of the layout", s);
			return PG_ERR_PARSE;
		}
		if (after_any || i >= p->layout.nseg || l[i].kind != SEG_ONE ||
		    strcmp(l[i].text, s) != 0) {
			perr(st, col,
			    "%.40s is not at its place in the layout "
			    "(a part may only follow names, not **)",
			    s);
			return PG_ERR_PARSE;
		}
		sg->kind = SEG_ONE;
		return 0;
	}
	if (strpbrk(s, "{}") != NULL) {
		perr(st, col,
		    "'{' and '}' only as a whole part, like {patient}");
		return PG_ERR_PARSE;
	}
	if (strcmp(s, "*") == 0)
		sg->kind = SEG_ONE;
	else if (strpbrk(s, "*?[") != NULL)
		sg->kind = SEG_GLOB;
	else if (!after_any && p->has_layout && i < p->layout.nseg &&
	    p->layout.segs[i].kind == SEG_LIT &&
	    strcmp(p->layout.segs[i].text, s) != 0)
		pwarn(st, col,
		    "pattern can never match the layout (it has '%.40s' "
		    "where the layout has '%.40s')",
		    s, p->layout.segs[i].text);
	return 0;
}

/* Compiles the pattern in token T into OUT. */
static int
parse_pattern(struct pstate *st, const struct tok *t, struct pattern *out)
{
	struct pat_seg segs[PI_MAX_SEGS];
	size_t offs[PI_MAX_SEGS];
	unsigned nany = 0;
	int n, r;

	if (t == NULL) {
		perr(st, pi_endcol(st), "expected a path pattern");
		return PG_ERR_PARSE;
	}
	if ((n = split_segs(st, t, segs, offs)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		r = pattern_seg(
		    st, t, &segs[i], (unsigned)i, offs[i], nany > 0);
		if (r != 0)
			return r;
		if (segs[i].kind == SEG_ANY && ++nany > PI_MAX_STARSTAR) {
			perr(st, t->col, "more than %d ** in one pattern",
			    PI_MAX_STARSTAR);
			return PG_ERR_PARSE;
		}
	}
	return keep_segs(st, segs, (unsigned)n, out);
}

/* Parses "list,read,write" or "all" into an action mask. */
static int
parse_actions(struct pstate *st, unsigned *mask)
{
	const struct tok *t;

	*mask = 0;
	for (;;) {
		t = pi_next(st);
		if (t != NULL && t->kind == T_WORD && strcmp(t->s, "list") == 0)
			*mask |= ACT_BIT(POLICY_LIST);
		else if (t != NULL && t->kind == T_WORD &&
		    strcmp(t->s, "read") == 0)
			*mask |= ACT_BIT(POLICY_READ);
		else if (t != NULL && t->kind == T_WORD &&
		    strcmp(t->s, "write") == 0)
			*mask |= ACT_BIT(POLICY_WRITE);
		else if (t != NULL && t->kind == T_WORD &&
		    strcmp(t->s, "all") == 0)
			*mask |= ACT_ALL;
		else {
			perr(st, t ? t->col : pi_endcol(st),
			    "expected an action: list, read, write or all");
			return PG_ERR_PARSE;
		}
		t = pi_peek(st);
		if (t == NULL || t->kind != T_COMMA)
			return 0;
		st->pos++;
	}
}

int pi_parse_cond(struct pstate *st, struct rule *r);

/* allow|deny ROLES ACTIONS PATTERN [if COND {and COND}] */
int
pi_parse_rule(struct pstate *st, bool deny)
{
	struct policy *p = st->p;
	struct rule r;
	int e;

	memset(&r, 0, sizeof(r));
	r.deny = deny;
	r.line = st->line;
	if ((e = pi_parse_roles(st, &r.roles, &r.all_roles, true)) != 0 ||
	    (e = parse_actions(st, &r.actions)) != 0 ||
	    (e = parse_pattern(st, pi_next(st), &r.pat)) != 0)
		return e;
	if (pi_accept_word(st, "if")) {
		do {
			if ((e = pi_parse_cond(st, &r)) != 0)
				return e;
		} while (pi_accept_word(st, "and"));
	}
	if (pi_peek(st) != NULL) {
		perr(st, pi_peek(st)->col,
		    "unexpected '%.40s' (conditions start with `if` and are "
		    "joined with `and`)",
		    pi_peek(st)->s);
		return PG_ERR_PARSE;
	}
	if ((r.text = pi_stmt_text(st)) == NULL)
		return PG_ERR_NOMEM;
	e = pi_grow((void **)&p->rules, &p->caprules, p->nrules,
	    sizeof(*p->rules), PI_MAX_RULES);
	if (e != 0) {
		if (e == PG_ERR_TOOBIG)
			perr(
			    st, 1, "too many rules (at most %d)", PI_MAX_RULES);
		st->fatal = e;
		return e;
	}
	p->rules[p->nrules++] = r;
	return 0;
}
