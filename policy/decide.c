/*
 * decide.c - policy_decide() and policy_explain(): which rule applies to a
 * request, and why.  Allocation-free: the path is split once into a stack
 * buffer, patterns were compiled at parse time, care lists are bsearched.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

/*
 * A bounded string builder: explanations are built with memcpy, not
 * snprintf, because they are written for every decision.  Output past the
 * end is dropped; the buffer is always NUL-terminated.
 */
struct sb {
	char *buf;
	size_t len, off;
	size_t base; /* where the list of conditions starts */
};

static void
sb_init(struct sb *b, char *buf, size_t len)
{
	b->buf = buf;
	b->len = len;
	b->off = b->base = 0;
	buf[0] = '\0';
}

static void
sb_add(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	if (b->off + 1 >= b->len)
		return;
	if (n > b->len - 1 - b->off)
		n = b->len - 1 - b->off;
	memcpy(b->buf + b->off, s, n);
	b->off += n;
	b->buf[b->off] = '\0';
}

static void
sb_uint(struct sb *b, unsigned v)
{
	char t[12];
	size_t i = sizeof(t) - 1;

	t[i] = '\0';
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && i > 0);
	sb_add(b, t + i);
}

static void
sb_hhmm(struct sb *b, int m)
{
	char t[6] = { (char)('0' + m / 600), (char)('0' + m / 60 % 10), ':',
		(char)('0' + m % 60 / 10), (char)('0' + m % 10), '\0' };

	sb_add(b, t);
}

/* Starts one item of the condition list; returns where it starts. */
static size_t
sb_item(struct sb *b)
{
	size_t at = b->off;

	if (b->off > b->base)
		sb_add(b, ", ");
	return at;
}

/* Truncating snprintf for reasons and notes, which are capped on purpose. */
void
pi_put(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static const char *const action_names[] = { "list", "read", "write" };
static const char *const wday_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	"Fri", "Sat" };

enum tri {
	C_FALSE,
	C_TRUE,
	C_MAYBE, /* depends on what lies beneath a directory */
};

struct ctx {
	const struct policy *p;
	const struct policy_request *req;
	const char *user;
	const char *patient; /* NULL: the path names none */
	bool is_dir;
	unsigned nseg;
	char *segs[PI_MAX_PATH_DEPTH];
	char buf[POLICY_PATH_MAX];
};

struct scan {
	const struct rule *deny, *allow, *near;
	struct policy_trace_entry *trace;
	size_t max, n;
};

/* Is KEY in the strcmp-sorted array V of N strings? */
static bool
sorted_has(const char *const *v, size_t n, const char *key)
{
	return pi_find_named(v, n, sizeof(*v), key) != NULL;
}

static bool
in_hours(const struct rule *r, int m)
{
	if (r->from_min < r->to_min)
		return m >= r->from_min && m < r->to_min;
	return m >= r->from_min || m < r->to_min;
}

/* A patient condition: care-team (CARE) or breakglass. */
static enum tri
patient_cond(const struct ctx *c, bool care, struct sb *why)
{
	const struct policy_request *q = c->req;
	bool ok;

	if (c->patient == NULL) {
		if (why != NULL) {
			sb_add(why, care ? "care-team" : "breakglass");
			sb_add(why,
			    c->is_dir
			        ? " depends on the patient beneath"
			        : " needs a patient, and the path names none");
		}
		return c->is_dir ? C_MAYBE : C_FALSE;
	}
	ok = care
	    ? sorted_has(q->care_patients, q->ncare, c->patient)
	    : sorted_has(q->breakglass_patients, q->nbreakglass, c->patient);
	if (why != NULL) {
		sb_add(why, c->user);
		if (care) {
			sb_add(why, ok ? " is on " : " is not on ");
			sb_add(why, c->patient);
			sb_add(why, "'s care team");
		} else {
			sb_add(why,
			    ok ? " holds a live break-glass grant for "
			       : " holds no break-glass grant for ");
			sb_add(why, c->patient);
		}
	}
	return ok ? C_TRUE : C_FALSE;
}

static enum tri
time_conds(
    const struct ctx *c, const struct rule *r, struct sb *why, size_t *start)
{
	const struct policy_request *q = c->req;
	bool ok;

	if (r->conds & COND_HOURS) {
		ok = in_hours(r, q->minute_of_day);
		if (why != NULL) {
			*start = sb_item(why);
			sb_hhmm(why, q->minute_of_day);
			sb_add(why, ok ? " is within " : " is outside ");
			sb_hhmm(why, r->from_min);
			sb_add(why, "-");
			sb_hhmm(why, r->to_min);
		}
		if (!ok)
			return C_FALSE;
	}
	if (r->conds & COND_DAYS) {
		ok = (r->days & (1u << q->weekday)) != 0;
		if (why != NULL) {
			*start = sb_item(why);
			sb_add(why, wday_names[q->weekday]);
			sb_add(why,
			    ok ? " is one of the rule's days"
			       : " is not one of the rule's days");
		}
		if (!ok)
			return C_FALSE;
	}
	return C_TRUE;
}

/*
 * Evaluates the conditions of R.  With WHY, explains them: all of them
 * when they hold, only the first that fails otherwise.
 */
static enum tri
conds(const struct ctx *c, const struct rule *r, struct sb *why)
{
	const struct policy_request *q = c->req;
	enum tri res = C_TRUE, t;
	size_t start = 0;

	for (unsigned k = 0; k < 2; k++) {
		unsigned bit = k == 0 ? COND_CARE : COND_BREAKGLASS;
		if (!(r->conds & bit))
			continue;
		if (why != NULL)
			start = sb_item(why);
		t = patient_cond(c, bit == COND_CARE, why);
		if (t == C_FALSE)
			goto fail;
		if (t == C_MAYBE)
			res = C_MAYBE;
	}
	if (r->conds & COND_MFA) {
		if (why != NULL) {
			start = sb_item(why);
			sb_add(why,
			    q->mfa ? "MFA login is live" : "no live MFA login");
		}
		if (!q->mfa)
			goto fail;
	}
	if (time_conds(c, r, why, &start) == C_FALSE)
		goto fail;
	return res;
fail:
	if (why != NULL && start > why->base) { /* keep the failing one */
		size_t from = start + 2 < why->off ? start + 2 : why->off;
		memmove(
		    why->buf + why->base, why->buf + from, why->off - from + 1);
		why->off -= from - why->base;
	}
	return C_FALSE;
}

static bool
path_ok(const struct ctx *c, const struct rule *r)
{
	const struct pattern *pt = &r->pat;

	if (!c->is_dir)
		return pi_match(pt->segs, pt->nseg, c->segs, c->nseg);
	if (r->deny)
		return pi_match_covers(pt->segs, pt->nseg, c->segs, c->nseg);
	return pi_match_prefix(pt->segs, pt->nseg, c->segs, c->nseg);
}

static void
record(const struct ctx *c, struct scan *s, const struct rule *r,
    enum policy_trace_outcome o)
{
	struct policy_trace_entry *e;
	struct sb b;

	if (s->trace == NULL)
		return;
	if (s->n++ >= s->max)
		return;
	e = &s->trace[s->n - 1];
	e->line = r->line;
	e->text = r->text;
	e->deny = r->deny;
	e->outcome = o;
	sb_init(&b, e->note, sizeof(e->note));
	if (o == POLICY_TRACE_ROLE)
		sb_add(&b, "for other roles");
	else if (o == POLICY_TRACE_ACTION)
		sb_add(&b, "for other actions");
	else if (o == POLICY_TRACE_PATH)
		sb_add(&b,
		    c->is_dir && r->deny ? "does not cover this directory"
		                         : "path does not match");
	else
		(void)conds(c, r, &b);
}

/* Scans every rule for ACTION; with a trace, records each. */
static void
scan(const struct ctx *c, enum policy_action action, struct scan *s)
{
	const struct policy *p = c->p;
	uint64_t roles = c->req->roles.bits;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		enum policy_trace_outcome o;
		enum tri t;
		if (!r->all_roles && (r->roles & roles) == 0)
			o = POLICY_TRACE_ROLE;
		else if (!(r->actions & ACT_BIT(action)))
			o = POLICY_TRACE_ACTION;
		else if (!path_ok(c, r))
			o = POLICY_TRACE_PATH;
		else if ((t = conds(c, r, NULL)) == C_FALSE ||
		    (r->deny && t == C_MAYBE)) {
			o = POLICY_TRACE_COND;
			if (!r->deny && s->near == NULL)
				s->near = r;
		} else {
			o = POLICY_TRACE_APPLIES;
			if (r->deny && s->deny == NULL)
				s->deny = r;
			if (!r->deny && s->allow == NULL)
				s->allow = r;
		}
		record(c, s, r, o);
		if (s->deny != NULL && s->trace == NULL)
			return; /* deny beats allow: nothing can change it */
	}
}

static uint64_t
role_mask(const struct policy *p)
{
	return p->nroles >= 64 ? ~0ULL : (1ULL << p->nroles) - 1;
}

/* Appends "allowed by FILE:LINE (TEXT)" or the like. */
static void
sb_rule(struct sb *b, const struct ctx *c, const struct rule *r)
{
	sb_add(b, c->p->name);
	sb_add(b, ":");
	sb_uint(b, r->line);
}

/* Appends the names of the request's roles. */
static void
sb_roles(struct sb *b, const struct ctx *c)
{
	const char *sep = "";

	for (unsigned i = 0; i < c->p->nroles; i++) {
		if (!(c->req->roles.bits & (1ULL << i)))
			continue;
		sb_add(b, sep);
		sb_add(b, c->p->roles[i].name);
		sep = ",";
	}
}

/* Writes the reason for a decision made by S. */
static void
reason(const struct ctx *c, const struct scan *s, enum policy_action action,
    struct policy_decision *dec)
{
	const struct rule *r = s->deny != NULL ? s->deny : s->allow;
	struct sb b;

	sb_init(&b, dec->reason, sizeof(dec->reason));
	if (r != NULL) {
		dec->rule_line = r->line;
		sb_add(&b, r->deny ? "denied by " : "allowed by ");
		sb_rule(&b, c, r);
		sb_add(&b, " (");
		sb_add(&b, r->text);
		sb_add(&b, ")");
		if (r->conds != 0) {
			sb_add(&b, ": ");
			b.base = b.off;
			(void)conds(c, r, &b);
		}
		return;
	}
	sb_add(&b, "denied: ");
	if ((c->req->roles.bits & role_mask(c->p)) == 0) {
		sb_add(&b, c->user);
		sb_add(&b, " holds no role; default deny");
		return;
	}
	sb_add(&b, "no rule allows ");
	sb_add(&b, action_names[action]);
	sb_add(&b, " for roles ");
	sb_roles(&b, c);
	if (s->near != NULL) {
		sb_add(&b, " (");
		sb_rule(&b, c, s->near);
		sb_add(&b, " needs more: ");
		b.base = b.off;
		(void)conds(c, s->near, &b);
		sb_add(&b, ")");
	}
	sb_add(&b, "; default deny");
}

/* Checks the request; returns NULL or what is wrong with it. */
static const char *
bad_request(const struct policy_request *q)
{
	if (q->path == NULL)
		return "no path";
	if ((unsigned)q->action > POLICY_WRITE)
		return "unknown action";
	if (q->minute_of_day < 0 || q->minute_of_day >= 24 * 60)
		return "minute of day out of range";
	if (q->weekday < 0 || q->weekday > 6)
		return "weekday out of range";
	if ((q->ncare > 0 && q->care_patients == NULL) ||
	    (q->nbreakglass > 0 && q->breakglass_patients == NULL))
		return "patient list missing";
	return NULL;
}

/* Splits the path and finds its patient; returns NULL or the problem. */
static const char *
setup(struct ctx *c, struct policy_decision *dec)
{
	const struct policy *p = c->p;
	int d, r;

	r = pi_split_path(
	    c->req->path, c->buf, sizeof(c->buf), c->segs, &c->nseg);
	if (r != 0)
		return r == PG_ERR_TOOBIG
		    ? "path too long or too deep"
		    : "malformed path (leading '/', empty, "
		      "'.' or '..' segment)";
	c->patient = NULL;
	if ((d = pi_patient_depth_ok(p, c->segs, c->nseg)) >= 0) {
		size_t n = strlen(c->segs[d]);
		if (n >= sizeof(dec->patient))
			return "patient id too long";
		memcpy(dec->patient, c->segs[d], n + 1);
		c->patient = c->segs[d];
	}
	/* Above the layout's depth only a LIST is taken to be of a
	 * directory; a READ or WRITE of a stray file there is a file. */
	c->is_dir = c->req->is_dir ||
	    (c->req->action == POLICY_LIST && p->has_layout &&
	        c->nseg < p->layout.nseg);
	return NULL;
}

/* A file open in a decoy patient: denied, and the caller locks. */
static void
decoy_deny(const struct ctx *c, struct scan *s, struct policy_decision *dec)
{
	const struct decoy *d = NULL;

	for (size_t i = 0; i < c->p->ndecoys; i++)
		if (strcmp(c->p->decoys[i].id, c->patient) == 0)
			d = &c->p->decoys[i];
	dec->verdict = POLICY_DENY;
	dec->rule_line = d != NULL ? d->line : 0;
	pi_put(dec->reason, sizeof(dec->reason),
	    "denied by %s:%u (decoy %s): %s is a decoy patient; any open "
	    "locks the account",
	    c->p->name, dec->rule_line, c->patient, c->patient);
	if (s->trace != NULL && s->n++ < s->max) {
		struct policy_trace_entry *e = &s->trace[s->n - 1];
		e->line = dec->rule_line;
		e->text = "decoy";
		e->deny = true;
		e->outcome = POLICY_TRACE_DECOY;
		pi_put(e->note, sizeof(e->note), "%s is a decoy patient",
		    c->patient);
	}
}

/* May any action apply at or beneath the directory? */
static bool
traversable(const struct ctx *c)
{
	for (int a = POLICY_LIST; a <= POLICY_WRITE; a++) {
		struct scan s = { 0 };
		scan(c, (enum policy_action)a, &s);
		if (s.deny == NULL && s.allow != NULL)
			return true;
	}
	return false;
}

enum policy_verdict
policy_explain(const struct policy *p, const struct policy_request *req,
    struct policy_decision *dec, struct policy_trace_entry *trace, size_t max,
    size_t *ntrace)
{
	struct ctx c;
	struct scan s = { NULL, NULL, NULL, trace, trace ? max : 0, 0 };
	const char *bad;

	if (ntrace != NULL)
		*ntrace = 0;
	if (dec == NULL)
		return POLICY_ERROR;
	dec->verdict = POLICY_ERROR;
	dec->rule_file = p != NULL ? p->name : NULL;
	dec->rule_line = 0;
	dec->is_dir = dec->traverse = dec->decoy = false;
	dec->patient[0] = '\0';
	c.p = p;
	c.req = req;
	if (p == NULL || req == NULL)
		bad = "no policy or no request";
	else if ((bad = bad_request(req)) == NULL)
		bad = setup(&c, dec);
	if (bad != NULL) {
		pi_put(dec->reason, sizeof(dec->reason), "error: %s; refused",
		    bad);
		dec->patient[0] = '\0';
		return POLICY_ERROR;
	}
	c.user = req->user != NULL ? req->user : "the user";
	dec->is_dir = c.is_dir;
	dec->decoy = c.patient != NULL && policy_is_decoy(p, c.patient);
	if (dec->decoy && !c.is_dir && req->action != POLICY_LIST)
		decoy_deny(&c, &s, dec);
	else {
		scan(&c, req->action, &s);
		dec->verdict = s.deny == NULL && s.allow != NULL ? POLICY_ALLOW
		                                                 : POLICY_DENY;
		reason(&c, &s, req->action, dec);
		if (c.is_dir)
			dec->traverse =
			    dec->verdict == POLICY_ALLOW || traversable(&c);
	}
	if (ntrace != NULL)
		*ntrace = s.n;
	return dec->verdict;
}

enum policy_verdict
policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *dec)
{
	return policy_explain(p, req, dec, NULL, 0, NULL);
}
