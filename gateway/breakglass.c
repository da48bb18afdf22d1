/*
 * breakglass.c - emergency access to one patient: the caller asks through
 * the control socket, the policy's `breakglass` line for their roles says
 * whether they may, for how long, how often and whether a reason is
 * required.  A grant only adds the patient to the facts of the caller's
 * requests (policy_request.breakglass_patients); rules with the
 * `breakglass` condition say what it opens.  Every grant and refusal is
 * audited; a grant also alerts syslog and runs the lockout hook.  Grants live
 * in the gateway's memory: a restart ends them (fail closed).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "core/ctl/ctl.h"
#include "core/lockout/lockout.h"
#include "gateway/control.h"
#include "gateway/start.h"
#include "gateway/views.h"

static bool
patient_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n >= POLICY_ID_MAX || strcmp(p, ".") == 0 ||
	    strcmp(p, "..") == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' &&
		    p[i] != '-' && p[i] != '.')
			return false;
	return true;
}

static int
audit_bg(struct gw *g, struct gw_user *u, pid_t pid, const char *patient,
    const char *decision, const char *rule, const char *reason)
{
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = u->uid;
	rq.pid = pid;
	rq.user = u->name;
	rq.patient = patient;
	return gw_audit(g, &rq, "breakglass.grant", decision, rule, reason, -1);
}

/* The hook hears of a grant as of a lockout: at once, by mail or pager. */
static void
hook_bg(struct gw *g, const struct gw_user *u, const char *patient,
    const char *rule, const char *reason, unsigned duration)
{
	struct lockout_hook_env e;
	char secs[16];

	snprintf(secs, sizeof(secs), "%u", duration);
	lockout_hook_env_init(&e, "breakglass", "gateway");
	lockout_hook_env_set(&e, "PHOTOGUARD_USER", u->name);
	lockout_hook_env_set(&e, "PHOTOGUARD_PATIENT", patient);
	lockout_hook_env_set(&e, "PHOTOGUARD_RULE", rule);
	lockout_hook_env_set(
	    &e, "PHOTOGUARD_REASON", reason[0] ? reason : "(no reason given)");
	lockout_hook_env_set(&e, "PHOTOGUARD_DURATION", secs);
	gw_run_hook(g, &e);
}

/* Grants taken within PERIOD seconds before NOW. */
static size_t
recent_grants(const struct gw_user *u, time_t now, uint32_t period)
{
	size_t i, n = 0;

	for (i = 0; i < u->ngrant_log; i++)
		if (u->grant_log[i] > now - (time_t)period)
			n++;
	return n;
}

static void
add_grant(struct gw_user *u, const char *patient, time_t now, time_t until)
{
	size_t i, slot = u->ngrants;

	for (i = 0; i < u->ngrants; i++)
		if (strcmp(u->grants[i].patient, patient) == 0 ||
		    u->grants[i].until <= now)
			slot = i;
	if (slot == GW_BG_MAX)
		slot = 0; /* full of live grants: the first gives way */
	snprintf(u->grants[slot].patient, sizeof(u->grants[slot].patient), "%s",
	    patient);
	u->grants[slot].until = until;
	if (slot == u->ngrants)
		u->ngrants++;
	if (u->ngrant_log == GW_BG_LOG_MAX) {
		memmove(u->grant_log, u->grant_log + 1,
		    (GW_BG_LOG_MAX - 1) * sizeof(u->grant_log[0]));
		u->ngrant_log--;
	}
	u->grant_log[u->ngrant_log++] = now;
}

/* With U->mu held and U refreshed: grant or refuse, answering on F. */
static void
decide(struct gw_call *c, const char *patient, const char *reason, FILE *f)
{
	struct gw_user *u = c->u;
	struct policy_breakglass bg;
	char rule[POLICY_PATH_MAX + 16], why[256];
	time_t now = time(NULL);

	if (policy_breakglass(c->pol->p, &u->roles, &bg) != POLICY_ALLOW) {
		audit_bg(c->g, u, c->pid, patient, "deny", "gateway",
		    "no break-glass rule for the user's roles");
		ctl_reply_error(f, "your roles may not use break-glass");
		return;
	}
	snprintf(rule, sizeof(rule), "%s:%u", bg.rule_file, bg.rule_line);
	if (bg.reason_required && reason[0] == '\0') {
		audit_bg(c->g, u, c->pid, patient, "deny", rule, "no reason");
		ctl_reply_error(f, "a reason is required (--reason)");
		return;
	}
	if (recent_grants(u, now, bg.period) >= bg.max_grants) {
		snprintf(why, sizeof(why), "more than %u grants per %us",
		    bg.max_grants, bg.period);
		audit_bg(c->g, u, c->pid, patient, "deny", rule, why);
		ctl_reply_error(f, "%s", why);
		return;
	}
	/* A grant stands only if it is in the audit log. */
	if (audit_bg(c->g, u, c->pid, patient, "allow", rule,
	        reason[0] ? reason : "(no reason given)") != 0) {
		ctl_reply_error(f, "the audit log cannot be written");
		return;
	}
	add_grant(u, patient, now, now + (time_t)bg.duration);
	/* U's views cached the patient as missing. */
	gw_views_kick(u->uid, GW_VIEW_INVAL);
	syslog(LOG_AUTHPRIV | LOG_ALERT,
	    "photoguard-gateway: BREAK-GLASS by %s for patient %s for %us",
	    u->name, patient, bg.duration);
	hook_bg(c->g, u, patient, rule, reason, bg.duration);
	ctl_reply_ok(f);
	fprintf(f, "granted %s access to %s for %u seconds (%s)\n", u->name,
	    patient, bg.duration, rule);
}

void
gw_breakglass(struct gw *g, uid_t uid, pid_t pid, const char *patient,
    const char *reason, FILE *f)
{
	struct gw_call c;

	if (!patient_ok(patient, strlen(patient))) {
		ctl_reply_error(f, "not a patient id");
		return;
	}
	if (gw_call_begin_uid(&c, g, uid, pid) != 0) {
		ctl_reply_error(f, "%s", c.why);
		gw_call_end(&c);
		return;
	}
	decide(&c, patient, reason, f);
	gw_call_end(&c);
}
