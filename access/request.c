/*
 * request.c - the one way a request reaches the policy: roles from a
 * directory user, the local clock, break-glass grants sorted as the
 * evaluator wants them.  The gateway, `photoguard policy explain` and the
 * PAM account phase all come through here, so what explain says is what
 * the gateway does.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "base/base.h"

int
pg_access_clock_at(time_t t, struct pg_access_clock *out)
{
	struct tm tm;

	out->weekday = -1;
	out->minute_of_day = -1;
	if (localtime_r(&t, &tm) == NULL)
		return PG_ERR_INVAL;
	out->weekday = tm.tm_wday;
	out->minute_of_day = tm.tm_hour * 60 + tm.tm_min;
	return PG_OK;
}

int
pg_access_roles(const struct policy *p, const struct dir_user *u,
    struct policy_roleset *out)
{
	if (out != NULL)
		out->bits = 0;
	if (u == NULL)
		return PG_ERR_INVAL;
	return policy_roles_for_groups(
	    p, (const char *const *)u->groups, u->ngroups, out);
}

/* Insertion sort: a handful of grants, and no allocation or callback. */
static void
sort_grants(const char **v, size_t n)
{
	size_t i, j;
	const char *x;

	for (i = 1; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && strcmp(v[j - 1], x) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static enum policy_verdict
refuse(struct policy_decision *dec, const char *why)
{
	memset(dec, 0, sizeof(*dec));
	dec->verdict = POLICY_ERROR;
	(void)snprintf(dec->reason, sizeof(dec->reason), "%s", why);
	return POLICY_ERROR;
}

enum policy_verdict
pg_access_decide(const struct policy *p, const struct dir_user *u,
    const struct policy_roleset *roles, const struct pg_access_facts *f,
    struct policy_decision *dec, struct pg_access_trace *trace)
{
	struct policy_request req;
	const char *bg[PG_ACCESS_BG_MAX];
	size_t i;

	if (dec == NULL)
		return POLICY_ERROR;
	if (p == NULL || u == NULL || f == NULL)
		return refuse(dec, "incomplete request");
	if (f->ngrants > PG_ACCESS_BG_MAX ||
	    (f->ngrants > 0 && f->grants == NULL))
		return refuse(dec, "too many break-glass grants");
	memset(&req, 0, sizeof(req));
	if (roles != NULL)
		req.roles = *roles;
	else if (pg_access_roles(p, u, &req.roles) != PG_OK)
		return refuse(dec, "roles could not be mapped");
	for (i = 0; i < f->ngrants; i++) {
		if (f->grants[i] == NULL)
			return refuse(dec, "empty break-glass grant");
		bg[i] = f->grants[i];
	}
	sort_grants(bg, f->ngrants);
	req.user = u->name;
	req.action = f->action;
	req.path = f->path;
	req.is_dir = f->is_dir;
	req.mfa = f->mfa;
	req.minute_of_day = f->when.minute_of_day;
	req.weekday = f->when.weekday;
	req.care_patients = (const char *const *)u->patients;
	req.ncare = u->npatients;
	req.breakglass_patients = f->ngrants > 0 ? bg : NULL;
	req.nbreakglass = f->ngrants;
	if (trace == NULL)
		return policy_decide(p, &req, dec);
	return policy_explain(
	    p, &req, dec, trace->entries, trace->max, &trace->n);
}

int
pg_access_login(const struct policy *p, const struct dir_user *u,
    const char *host, const char *service, struct policy_roleset *roles,
    struct policy_decision *dec)
{
	memset(dec, 0, sizeof(*dec));
	if (pg_access_roles(p, u, roles) != PG_OK) {
		(void)refuse(dec, "roles could not be mapped");
		return PG_ERR_INVAL;
	}
	(void)policy_login(p, roles, host, service, dec);
	return PG_OK;
}
