/*
 * parse_limits.c - `limit` and `lockout` lines, `login` and `breakglass`,
 * and the numbers, sizes and durations they are written with.
 */
#include <string.h>

#include "policy/parse_int.h"

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit time_units[] = { { "s", 1 }, { "sec", 1 },
	{ "second", 1 }, { "seconds", 1 }, { "m", 60 }, { "min", 60 },
	{ "minute", 60 }, { "minutes", 60 }, { "h", 3600 }, { "hour", 3600 },
	{ "hours", 3600 }, { "d", 86400 }, { "day", 86400 }, { "days", 86400 },
	{ "w", 604800 }, { "week", 604800 }, { "weeks", 604800 }, { NULL, 0 } };

static const struct unit byte_units[] = { { "", 1 }, { "B", 1 },
	{ "KB", 1000ULL }, { "KiB", 1ULL << 10 }, { "MB", 1000000ULL },
	{ "MiB", 1ULL << 20 }, { "GB", 1000000000ULL }, { "GiB", 1ULL << 30 },
	{ "TB", 1000000000000ULL }, { "TiB", 1ULL << 40 }, { NULL, 0 } };

/* Reads leading decimal digits of S into *V; returns how many (0: none). */
static size_t
digits(const char *s, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (*v > (UINT64_MAX - 9) / 10)
			*v = UINT64_MAX; /* saturate; caller rejects */
		else
			*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return i;
}

static uint64_t
unit_mult(const struct unit *u, const char *s)
{
	for (; u->name != NULL; u++)
		if (strcmp(u->name, s) == 0)
			return u->mult;
	return 0;
}

/* A count 1..MAX (S is the text, T its token for the column). */
int
pi_parse_count(struct pstate *st, const struct tok *t, const char *s,
    uint64_t max, uint64_t *out)
{
	uint64_t v;
	size_t n = digits(s, &v);

	if (n == 0 || s[n] != '\0' || v == 0 || v > max) {
		perr(st, t->col, "bad number '%.40s' (1 to %llu)", s,
		    (unsigned long long)max);
		return PG_ERR_PARSE;
	}
	*out = v;
	return 0;
}

/*
 * A duration like 90s, 10min, 1h, 2days; with BARE_UNIT the number may be
 * left out ("hour" = 1 hour).  At most 31 days.
 */
int
pi_parse_duration(struct pstate *st, const struct tok *t, const char *s,
    bool bare_unit, uint32_t *out)
{
	uint64_t v, m;
	size_t n = digits(s, &v);

	if (n == 0 && bare_unit)
		v = 1;
	m = unit_mult(time_units, s + n);
	if ((n == 0 && !bare_unit) || m == 0 || v == 0 ||
	    v > PI_MAX_WINDOW / m) {
		perr(st, t->col,
		    "bad duration '%.40s' (like 30s, 10min, 1h, 1day, 1week; "
		    "at most 31 days)",
		    s);
		return PG_ERR_PARSE;
	}
	*out = (uint32_t)(v * m);
	return 0;
}

/* A byte size like 500MiB or 2GB. */
static int
parse_bytes(
    struct pstate *st, const struct tok *t, const char *s, uint64_t *out)
{
	uint64_t v, m;
	size_t n = digits(s, &v);

	m = unit_mult(byte_units, s + n);
	if (n == 0 || m == 0 || v == 0 || v > PI_MAX_BYTES / m) {
		perr(st, t->col,
		    "bad size '%.40s' (like 500MiB, 2GB; units B KB KiB MB MiB "
		    "GB GiB TB TiB; at most 1PiB)",
		    s);
		return PG_ERR_PARSE;
	}
	*out = v * m;
	return 0;
}

/* Splits "N/W" in token T into *MAX and *WINDOW for METRIC. */
static int
parse_rate(struct pstate *st, const struct tok *t, enum policy_metric metric,
    uint64_t *max, uint32_t *window)
{
	char buf[PI_MAX_LINE + 1];
	const char *slash = strchr(t->s, '/');
	size_t n;
	int r;

	if (t->kind != T_WORD || slash == NULL) {
		perr(st, t->col,
		    "expected a rate like 60/minute or 500MiB/hour");
		return PG_ERR_PARSE;
	}
	n = (size_t)(slash - t->s);
	memcpy(buf, t->s, n);
	buf[n] = '\0';
	if (metric == POLICY_METRIC_BYTES)
		r = parse_bytes(st, t, buf, max);
	else
		r = pi_parse_count(st, t, buf, PI_MAX_COUNT, max);
	if (r == 0)
		r = pi_parse_duration(st, t, slash + 1, true, window);
	return r;
}

/* Adds one limit, refusing a second one for the same role and window. */
static int
add_limit(struct pstate *st, const struct limit_line *l, unsigned col)
{
	struct policy *p = st->p;
	int r;

	for (size_t i = 0; i < p->nlimits; i++) {
		const struct limit_line *o = &p->limits[i];
		if (o->kind == l->kind && o->metric == l->metric &&
		    o->window == l->window && (o->roles & l->roles) != 0) {
			perr(st, col,
			    "this role already has this %s over %u seconds at "
			    "line %u",
			    l->kind == POLICY_LIMIT_REFUSE ? "limit"
			                                   : "lockout",
			    l->window, o->line);
			return PG_ERR_PARSE;
		}
	}
	r = pi_grow((void **)&p->limits, &p->caplimits, p->nlimits,
	    sizeof(*p->limits), PI_MAX_LIMITS);
	if (r != 0) {
		if (r == PG_ERR_TOOBIG)
			perr(st, col, "too many limits (at most %d)",
			    PI_MAX_LIMITS);
		st->fatal = r;
		return r;
	}
	p->limits[p->nlimits++] = *l;
	return 0;
}

static int
metric_of(const char *s)
{
	if (strcmp(s, "files") == 0)
		return POLICY_METRIC_FILES;
	if (strcmp(s, "bytes") == 0)
		return POLICY_METRIC_BYTES;
	if (strcmp(s, "patients") == 0)
		return POLICY_METRIC_PATIENTS;
	return -1;
}

/* Marks the roles in MASK as limited (or `none`); refuses a mix. */
static int
mark_limited(struct pstate *st, uint64_t mask, bool none, unsigned col)
{
	for (unsigned i = 0; i < st->p->nroles; i++) {
		struct role *ro = &st->p->roles[i];
		if (!(mask & (1ULL << i)))
			continue;
		if ((none && ro->has_limit) || (!none && ro->limit_none)) {
			perr(st, col,
			    "role '%s' has both `limit %s none` and limits",
			    ro->name, ro->name);
			return PG_ERR_PARSE;
		}
		if (none)
			ro->limit_none = true;
		else
			ro->has_limit = true;
	}
	return 0;
}

/* limit|lockout ROLES (none | METRIC RATE {RATE} {METRIC RATE {RATE}}) */
int
pi_parse_limit(struct pstate *st, enum policy_limit_kind kind)
{
	struct limit_line l;
	const struct tok *t;
	int metric = -1, r;

	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.line = st->line;
	if ((r = pi_parse_roles(st, &l.roles, NULL, false)) != 0)
		return r;
	t = pi_peek(st);
	if (t != NULL && kind == POLICY_LIMIT_REFUSE && t->kind == T_WORD &&
	    strcmp(t->s, "none") == 0) {
		st->pos++;
		return mark_limited(st, l.roles, true, t->col);
	}
	if (t == NULL) {
		perr(st, pi_endcol(st), "expected files, bytes or patients%s",
		    kind == POLICY_LIMIT_REFUSE ? " (or none)" : "");
		return PG_ERR_PARSE;
	}
	while ((t = pi_next(st)) != NULL) {
		int m = t->kind == T_WORD ? metric_of(t->s) : -1;
		if (m >= 0) {
			metric = m;
			t = pi_next(st);
		} else if (metric < 0 || strchr(t->s, '/') == NULL) {
			perr(st, t->col, "expected files, bytes or patients");
			return PG_ERR_PARSE;
		}
		if (t == NULL) {
			perr(st, pi_endcol(st),
			    "expected a rate like 60/minute after the metric");
			return PG_ERR_PARSE;
		}
		l.metric = (enum policy_metric)metric;
		if ((r = parse_rate(st, t, l.metric, &l.max, &l.window)) != 0 ||
		    (r = add_limit(st, &l, t->col)) != 0)
			return r;
	}
	if (kind == POLICY_LIMIT_REFUSE)
		return mark_limited(st, l.roles, false, 1);
	return 0;
}

/* Reads GLOB{,GLOB} into an arena array. */
static int
parse_globs(struct pstate *st, const char ***out, unsigned *n)
{
	const char *v[PI_MAX_HOSTS];
	const struct tok *t;

	*n = 0;
	for (;;) {
		t = pi_next(st);
		if (t == NULL || (t->kind != T_WORD && t->kind != T_STRING) ||
		    t->s[0] == '\0' || strlen(t->s) > 255) {
			perr(st, t ? t->col : pi_endcol(st),
			    "expected a host or service name or glob");
			return PG_ERR_PARSE;
		}
		if (*n >= PI_MAX_HOSTS) {
			perr(st, t->col, "too many names (at most %d)",
			    PI_MAX_HOSTS);
			return PG_ERR_PARSE;
		}
		if ((v[(*n)++] = pi_strndup(st->p, t->s, strlen(t->s))) == NULL)
			goto nomem;
		t = pi_peek(st);
		if (t == NULL || t->kind != T_COMMA)
			break;
		st->pos++;
	}
	if ((*out = pi_alloc(st->p, *n * sizeof(**out))) == NULL)
		goto nomem;
	memcpy(*out, v, *n * sizeof(**out));
	return 0;
nomem:
	st->fatal = PG_ERR_NOMEM;
	return PG_ERR_NOMEM;
}

/* login ROLES on HOST{,HOST} [service SVC{,SVC}] */
int
pi_parse_login(struct pstate *st)
{
	struct policy *p = st->p;
	struct login_rule l;
	int r;

	memset(&l, 0, sizeof(l));
	l.line = st->line;
	if ((r = pi_parse_roles(st, &l.roles, &l.all_roles, true)) != 0)
		return r;
	if (!pi_accept_word(st, "on")) {
		perr(st, pi_peek(st) ? pi_peek(st)->col : pi_endcol(st),
		    "expected `on HOST`");
		return PG_ERR_PARSE;
	}
	if ((r = parse_globs(st, &l.hosts, &l.nhosts)) != 0)
		return r;
	if (pi_accept_word(st, "service") &&
	    (r = parse_globs(st, &l.services, &l.nservices)) != 0)
		return r;
	if (pi_peek(st) != NULL)
		return 0; /* the caller reports the stray word */
	if ((l.text = pi_stmt_text(st)) == NULL)
		return PG_ERR_NOMEM;
	r = pi_grow((void **)&p->logins, &p->caplogins, p->nlogins,
	    sizeof(*p->logins), PI_MAX_LOGINS);
	if (r != 0) {
		if (r == PG_ERR_TOOBIG)
			perr(st, 1, "too many login lines (at most %d)",
			    PI_MAX_LOGINS);
		st->fatal = r;
		return r;
	}
	p->logins[p->nlogins++] = l;
	return 0;
}

/* breakglass ROLES for DURATION max N/PERIOD [reason required|optional] */
int
pi_parse_breakglass(struct pstate *st)
{
	struct policy *p = st->p;
	struct bg_rule b;
	const struct tok *t;
	uint64_t max;
	int r;

	memset(&b, 0, sizeof(b));
	b.line = st->line;
	b.reason = true;
	if ((r = pi_parse_roles(st, &b.roles, NULL, false)) != 0)
		return r;
	for (unsigned i = 0; i < p->nroles; i++) {
		if ((b.roles & (1ULL << i)) && p->roles[i].in_breakglass) {
			perr(st, 1, "role '%s' is already in a breakglass line",
			    p->roles[i].name);
			return PG_ERR_PARSE;
		}
	}
	if (!pi_accept_word(st, "for") || (t = pi_next(st)) == NULL) {
		perr(st, pi_peek(st) ? pi_peek(st)->col : pi_endcol(st),
		    "expected `for DURATION` (like `for 1h`)");
		return PG_ERR_PARSE;
	}
	if ((r = pi_parse_duration(st, t, t->s, false, &b.duration)) != 0)
		return r;
	if (!pi_accept_word(st, "max") || (t = pi_next(st)) == NULL) {
		perr(st, pi_peek(st) ? pi_peek(st)->col : pi_endcol(st),
		    "expected `max N/PERIOD` (like `max 2/day`)");
		return PG_ERR_PARSE;
	}
	if ((r = parse_rate(st, t, POLICY_METRIC_FILES, &max, &b.period)) != 0)
		return r;
	b.max = (uint32_t)max;
	if (pi_accept_word(st, "reason")) {
		if (pi_accept_word(st, "optional"))
			b.reason = false;
		else if (!pi_accept_word(st, "required")) {
			perr(st, pi_peek(st) ? pi_peek(st)->col : pi_endcol(st),
			    "expected `reason required` or `reason optional`");
			return PG_ERR_PARSE;
		}
	}
	r = pi_grow((void **)&p->bgs, &p->capbgs, p->nbgs, sizeof(*p->bgs),
	    PI_MAX_BREAKGLASS);
	if (r != 0) {
		if (r == PG_ERR_TOOBIG)
			perr(st, 1, "too many breakglass lines (at most %d)",
			    PI_MAX_BREAKGLASS);
		st->fatal = r;
		return r;
	}
	for (unsigned i = 0; i < p->nroles; i++)
		if (b.roles & (1ULL << i))
			p->roles[i].in_breakglass = true;
	p->bgs[p->nbgs++] = b;
	return 0;
}
