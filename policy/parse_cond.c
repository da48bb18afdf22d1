/*
 * parse_cond.c - rule conditions: care-team, mfa, breakglass, hours and
 * days windows.
 */
#include <string.h>
#include <strings.h>

#include "policy/parse_int.h"

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

/* Parses "H:MM" or "HH:MM" (24:00 allowed when END) into minutes. */
static int
parse_hhmm(const char *s, size_t n, bool end, int *out)
{
	int h = 0, m;
	size_t i = 0;

	if (n < 4 || n > 5 || s[n - 3] != ':')
		return -1;
	for (; i < n - 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		h = h * 10 + (s[i] - '0');
	}
	if (s[n - 2] < '0' || s[n - 2] > '5' || s[n - 1] < '0' ||
	    s[n - 1] > '9')
		return -1;
	m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
	if (h > 24 || (h == 24 && (!end || m != 0)))
		return -1;
	*out = h * 60 + m;
	return 0;
}

/* hours HH:MM-HH:MM */
static int
parse_hours(struct pstate *st, struct rule *r)
{
	const struct tok *t = pi_next(st);
	const char *dash;

	if (t == NULL || t->kind != T_WORD ||
	    (dash = strchr(t->s, '-')) == NULL ||
	    parse_hhmm(t->s, (size_t)(dash - t->s), false, &r->from_min) != 0 ||
	    parse_hhmm(dash + 1, strlen(dash + 1), true, &r->to_min) != 0) {
		perr(st, t ? t->col : pi_endcol(st),
		    "expected a time window like 07:00-19:00 (or 22:00-06:00 "
		    "over midnight)");
		return PG_ERR_PARSE;
	}
	if (r->from_min == r->to_min) {
		perr(st, t->col,
		    "time window %s is empty; leave `hours` out "
		    "for the whole day",
		    t->s);
		return PG_ERR_PARSE;
	}
	return 0;
}

static int
day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* days DAY[-DAY]{,DAY[-DAY]}; ranges may wrap (fri-mon). */
static int
parse_days(struct pstate *st, struct rule *r)
{
	const struct tok *t;

	for (;;) {
		const char *dash;
		int a, b;
		t = pi_next(st);
		if (t == NULL || t->kind != T_WORD)
			goto bad;
		dash = strchr(t->s, '-');
		a = day_index(
		    t->s, dash ? (size_t)(dash - t->s) : strlen(t->s));
		b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
		if (a < 0 || b < 0)
			goto bad;
		for (int d = a;; d = (d + 1) % 7) {
			r->days |= 1u << d;
			if (d == b)
				break;
		}
		t = pi_peek(st);
		if (t == NULL || t->kind != T_COMMA)
			return 0;
		st->pos++;
	}
bad:
	perr(st, t ? t->col : pi_endcol(st),
	    "expected days like mon-fri or sat,sun (sun mon tue wed thu fri "
	    "sat)");
	return PG_ERR_PARSE;
}

/* One condition after `if` or `and`. */
int pi_parse_cond(struct pstate *st, struct rule *r);
int
pi_parse_cond(struct pstate *st, struct rule *r)
{
	const struct tok *t = pi_next(st);
	unsigned bit;

	if (t == NULL || t->kind != T_WORD)
		goto bad;
	if (strcmp(t->s, "care-team") == 0)
		bit = COND_CARE;
	else if (strcmp(t->s, "mfa") == 0)
		bit = COND_MFA;
	else if (strcmp(t->s, "breakglass") == 0)
		bit = COND_BREAKGLASS;
	else if (strcmp(t->s, "hours") == 0)
		bit = COND_HOURS;
	else if (strcmp(t->s, "days") == 0)
		bit = COND_DAYS;
	else
		goto bad;
	if (r->conds & bit) {
		perr(st, t->col, "condition '%s' is given twice", t->s);
		return PG_ERR_PARSE;
	}
	if ((bit == COND_CARE || bit == COND_BREAKGLASS) &&
	    st->p->patient_depth < 0) {
		perr(st, t->col,
		    "'%s' needs a layout with a {patient} part declared above",
		    t->s);
		return PG_ERR_PARSE;
	}
	r->conds |= bit;
	if (bit == COND_BREAKGLASS)
		st->uses_breakglass = true;
	if (bit == COND_HOURS)
		return parse_hours(st, r);
	if (bit == COND_DAYS)
		return parse_days(st, r);
	return 0;
bad:
	perr(st, t ? t->col : pi_endcol(st),
	    "expected a condition: care-team, mfa, breakglass, hours or days");
	return PG_ERR_PARSE;
}
