/*
 * check.c - checks of the policy as a whole, after every line parsed:
 * roles that may read or write must have limits (fail closed), and
 * warnings for what is legal but probably a mistake.
 */
#include <string.h>

#include "policy/parse_int.h"

static bool
rule_has_role(const struct rule *r, unsigned i)
{
	return r->all_roles || (r->roles & (1ULL << i)) != 0;
}

/* Every role some allow rule lets read or write needs `limit` lines. */
static void
check_limits(struct pstate *st)
{
	const struct policy *p = st->p;
	const unsigned rw = ACT_BIT(POLICY_READ) | ACT_BIT(POLICY_WRITE);

	for (unsigned i = 0; i < p->nroles; i++) {
		const struct role *ro = &p->roles[i];
		if (ro->has_limit || ro->limit_none)
			continue;
		for (size_t k = 0; k < p->nrules; k++) {
			const struct rule *r = &p->rules[k];
			if (r->deny || !(r->actions & rw) ||
			    !rule_has_role(r, i))
				continue;
			pi_diag(st, POLICY_DIAG_ERROR, r->line, 1,
			    "role '%s' may read or write here but has no "
			    "`limit` line (add one, or `limit %s none` for no "
			    "limits)",
			    ro->name, ro->name);
			break;
		}
	}
}

/* An allow rule that an unconditional `deny ... **` always overrides. */
static void
check_shadowed(struct pstate *st)
{
	const struct policy *p = st->p;

	for (size_t a = 0; a < p->nrules; a++) {
		const struct rule *ra = &p->rules[a];
		if (ra->deny)
			continue;
		for (size_t d = 0; d < p->nrules; d++) {
			const struct rule *rd = &p->rules[d];
			if (!rd->deny || rd->conds != 0 || rd->pat.nseg != 1 ||
			    rd->pat.segs[0].kind != SEG_ANY ||
			    (ra->actions & ~rd->actions) != 0)
				continue;
			if (!rd->all_roles &&
			    (ra->all_roles || (ra->roles & ~rd->roles) != 0))
				continue;
			pi_diag(st, POLICY_DIAG_WARNING, ra->line, 1,
			    "rule can never allow anything: line %u denies it "
			    "everywhere (deny beats allow)",
			    rd->line);
			break;
		}
	}
}

static void
check_breakglass(struct pstate *st)
{
	const struct policy *p = st->p;

	if (p->nbgs > 0 && !st->uses_breakglass)
		pi_diag(st, POLICY_DIAG_WARNING, p->bgs[0].line, 1,
		    "break-glass grants have no effect: no rule has the "
		    "`breakglass` condition");
	for (size_t k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];
		if (!(r->conds & COND_BREAKGLASS) || r->all_roles)
			continue;
		for (unsigned i = 0; i < p->nroles; i++)
			if ((r->roles & (1ULL << i)) &&
			    !p->roles[i].in_breakglass)
				pi_diag(st, POLICY_DIAG_WARNING, r->line, 1,
				    "role '%s' has no `breakglass` line, so "
				    "`breakglass` never holds for it",
				    p->roles[i].name);
	}
}

void
pi_check_policy(struct pstate *st)
{
	const struct policy *p = st->p;

	for (size_t i = 1; i < p->ndecoys; i++)
		if (strcmp(p->decoys[i - 1].id, p->decoys[i].id) == 0)
			pi_diag(st, POLICY_DIAG_WARNING, p->decoys[i].line, 1,
			    "decoy '%s' is listed twice", p->decoys[i].id);
	for (unsigned i = 0; i < p->nroles; i++) {
		const struct role *ro = &p->roles[i];
		if (ro->ngroups == 0)
			pi_diag(st, POLICY_DIAG_WARNING, ro->line, 1,
			    "role '%s' has no group, so nobody holds it",
			    ro->name);
		if (!ro->used)
			pi_diag(st, POLICY_DIAG_WARNING, ro->line, 1,
			    "role '%s' is never used", ro->name);
	}
	check_limits(st);
	check_shadowed(st);
	check_breakglass(st);
}
