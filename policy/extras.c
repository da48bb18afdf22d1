/*
 * extras.c - the questions that are not about one path: roles from
 * groups, patient ids and decoys, combined limits, logins, break-glass.
 */
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

int
policy_roles_for_groups(const struct policy *p, const char *const *groups,
    size_t ngroups, struct policy_roleset *out)
{
	if (out != NULL)
		out->bits = 0;
	if (p == NULL || out == NULL || (groups == NULL && ngroups > 0))
		return PG_ERR_INVAL;
	for (unsigned i = 0; i < p->nroles; i++) {
		const struct role *r = &p->roles[i];
		for (unsigned g = 0; g < r->ngroups; g++)
			for (size_t k = 0; k < ngroups; k++)
				if (groups[k] != NULL &&
				    strcmp(groups[k], r->groups[g]) == 0)
					out->bits |= 1ULL << i;
	}
	return 0;
}

bool
policy_roles_use_mfa(const struct policy *p, const struct policy_roleset *set)
{
	if (p == NULL || set == NULL)
		return false;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		if ((r->conds & COND_MFA) &&
		    (r->all_roles || (r->roles & set->bits) != 0))
			return true;
	}
	return false;
}

size_t
policy_nroles(const struct policy *p)
{
	return p == NULL ? 0 : p->nroles;
}

const char *
policy_role_name(const struct policy *p, size_t i)
{
	return p == NULL || i >= p->nroles ? NULL : p->roles[i].name;
}

int
policy_roleset_names(const struct policy *p, const struct policy_roleset *set,
    char *buf, size_t len)
{
	size_t off = 0;
	int n;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (p == NULL || set == NULL)
		return snprintf(buf, len, "(none)");
	for (unsigned i = 0; i < p->nroles; i++) {
		if (!(set->bits & (1ULL << i)))
			continue;
		n = snprintf(off < len ? buf + off : NULL,
		    off < len ? len - off : 0, "%s%s", off ? "," : "",
		    p->roles[i].name);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	if (off == 0)
		return snprintf(buf, len, "(none)");
	return (int)off;
}

_Static_assert(
    offsetof(struct decoy, id) == 0, "pi_find_named needs the id first");

bool
policy_is_decoy(const struct policy *p, const char *patient)
{
	return p != NULL && patient != NULL &&
	    pi_find_named(p->decoys, p->ndecoys, sizeof(*p->decoys), patient) !=
	    NULL;
}

int
policy_patient_of(
    const struct policy *p, const char *path, char *buf, size_t len)
{
	char tmp[POLICY_PATH_MAX];
	char *segs[PI_MAX_PATH_DEPTH];
	unsigned nseg;
	size_t n;
	int r, d;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (p == NULL || path == NULL || buf == NULL || len == 0)
		return PG_ERR_INVAL;
	if ((r = pi_split_path(path, tmp, sizeof(tmp), segs, &nseg)) != 0)
		return r == PG_ERR_TOOBIG ? PG_ERR_TOOBIG : PG_ERR_INVAL;
	if ((d = pi_patient_depth_ok(p, segs, nseg)) < 0)
		return PG_ERR_NOTFOUND;
	n = strlen(segs[d]);
	if (n >= len)
		return PG_ERR_TOOBIG;
	memcpy(buf, segs[d], n + 1);
	return 0;
}

/* Orders limits by kind, metric, window. */
static int
key_cmp(const struct limit_line *a, const struct limit_line *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	if (a->window != b->window)
		return a->window < b->window ? -1 : 1;
	return 0;
}

size_t
policy_limits(const struct policy *p, const struct policy_roleset *set,
    struct policy_limit *out, size_t max)
{
	const struct limit_line *last = NULL;
	size_t n = 0;

	if (p == NULL || set == NULL)
		return 0;
	/* Emit keys in order; for each, the largest maximum wins. */
	for (;;) {
		const struct limit_line *next = NULL, *best = NULL;
		for (size_t i = 0; i < p->nlimits; i++) {
			const struct limit_line *l = &p->limits[i];
			if (!(l->roles & set->bits) ||
			    (last != NULL && key_cmp(l, last) <= 0))
				continue;
			if (next == NULL || key_cmp(l, next) < 0)
				next = l;
		}
		if (next == NULL)
			return n;
		for (size_t i = 0; i < p->nlimits; i++) {
			const struct limit_line *l = &p->limits[i];
			if ((l->roles & set->bits) && key_cmp(l, next) == 0 &&
			    (best == NULL || l->max > best->max))
				best = l;
		}
		if (out != NULL && n < max) {
			out[n].kind = best->kind;
			out[n].metric = best->metric;
			out[n].window = best->window;
			out[n].max = best->max;
			out[n].rule_file = p->name;
			out[n].rule_line = best->line;
		}
		n++;
		last = next;
	}
}

static bool
any_glob(const char *const *globs, unsigned n, const char *s, int flags)
{
	for (unsigned i = 0; i < n; i++)
		if (fnmatch(globs[i], s, flags) == 0)
			return true;
	return false;
}

enum policy_verdict
policy_login(const struct policy *p, const struct policy_roleset *set,
    const char *host, const char *service, struct policy_decision *dec)
{
	char roles[200];

	if (dec == NULL)
		return POLICY_ERROR;
	memset(dec, 0, sizeof(*dec));
	dec->verdict = POLICY_ERROR;
	dec->rule_file = p != NULL ? p->name : NULL;
	if (p == NULL || set == NULL || host == NULL || host[0] == '\0') {
		pi_put(dec->reason, sizeof(dec->reason),
		    "error: no policy, roles or host; refused");
		return POLICY_ERROR;
	}
	for (size_t i = 0; i < p->nlogins; i++) {
		const struct login_rule *l = &p->logins[i];
		if (!l->all_roles && !(l->roles & set->bits))
			continue;
		if (!any_glob(l->hosts, l->nhosts, host, FNM_CASEFOLD))
			continue;
		if (l->nservices > 0 &&
		    (service == NULL ||
		        !any_glob(l->services, l->nservices, service, 0)))
			continue;
		dec->verdict = POLICY_ALLOW;
		dec->rule_line = l->line;
		pi_put(dec->reason, sizeof(dec->reason),
		    "login allowed by %s:%u (%s)", p->name, l->line, l->text);
		return POLICY_ALLOW;
	}
	policy_roleset_names(p, set, roles, sizeof(roles));
	dec->verdict = POLICY_DENY;
	pi_put(dec->reason, sizeof(dec->reason),
	    "denied: no login rule lets roles %s log in to %s%s%s; default "
	    "deny",
	    roles, host, service ? " through " : "", service ? service : "");
	return POLICY_DENY;
}

enum policy_verdict
policy_breakglass(const struct policy *p, const struct policy_roleset *set,
    struct policy_breakglass *out)
{
	if (out == NULL)
		return POLICY_ERROR;
	memset(out, 0, sizeof(*out));
	if (p == NULL || set == NULL)
		return POLICY_ERROR;
	out->rule_file = p->name;
	for (size_t i = 0; i < p->nbgs; i++) {
		const struct bg_rule *b = &p->bgs[i];
		if (!(b->roles & set->bits))
			continue;
		out->allowed = true;
		out->duration = b->duration;
		out->max_grants = b->max;
		out->period = b->period;
		out->reason_required = b->reason;
		out->rule_line = b->line;
		return POLICY_ALLOW;
	}
	return POLICY_DENY;
}
