/*
 * pam_ctx.c - the start and the end of every phase: arguments, items,
 * configuration and audit log in; one audit record and one pam_syslog
 * line out.  An outcome that cannot be audited is not a success.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/totp.h"
#include "pam_module/pam_ctx.h"
#include "pam_module/pam_prefetch.h"

static const char *
item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL ||
	    *(const char *)v == '\0')
		return NULL;
	return v;
}

static void
find_host(struct pgpam_ctx *c)
{
	if (c->opts.host != NULL) {
		(void)snprintf(c->host, sizeof(c->host), "%s", c->opts.host);
		return;
	}
	if (gethostname(c->host, sizeof(c->host)) != 0)
		c->host[0] = '\0';
	c->host[sizeof(c->host) - 1] = '\0';
}

int
pgpam_begin(struct pgpam_ctx *c, pam_handle_t *pamh, int argc,
    const char **argv, const char *phase, const char *event, int fail_rc)
{
	char err[512];
	int r;

	memset(c, 0, sizeof(*c));
	c->pamh = pamh;
	c->phase = phase;
	c->event = event;
	c->fail_rc = fail_rc;
	c->outcome = "error";
	if (pgpam_opts_parse(argc, argv, &c->opts, err, sizeof(err)) != PG_OK) {
		c->opts.debug = 0;
		return pgpam_set(c, "error", PAM_SERVICE_ERR, NULL, "%s", err);
	}
	c->service = item(pamh, PAM_SERVICE);
	c->rhost = item(pamh, PAM_RHOST);
	c->tty = item(pamh, PAM_TTY);
	find_host(c);
	if (pam_get_user(pamh, &c->user, NULL) != PAM_SUCCESS ||
	    c->user == NULL || c->user[0] == '\0') {
		c->user = NULL;
		return pgpam_set(
		    c, "error", PAM_USER_UNKNOWN, NULL, "no user name");
	}
	if (pgpam_config(&c->opts, &c->cfg, err, sizeof(err)) != PG_OK)
		return pgpam_set(c, "error", PAM_SERVICE_ERR, NULL, "%s", err);
	for (size_t i = 0; i < c->cfg->nwarnings; i++)
		pam_syslog(pamh, LOG_WARNING, "%s", c->cfg->warnings[i]);
	if ((r = audit_open_short(c->cfg, "pam", &c->audit)) != PG_OK)
		return pgpam_set(c, "error", fail_rc, NULL,
		    "audit log unavailable: %s", pg_strerror(r));
	return PAM_SUCCESS;
}

int
pgpam_set(struct pgpam_ctx *c, const char *outcome, int rc, const char *rule,
    const char *fmt, ...)
{
	va_list ap;

	c->outcome = outcome;
	(void)snprintf(c->rule, sizeof(c->rule), "%s", rule ? rule : "");
	va_start(ap, fmt);
	(void)vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return rc;
}

void
pgpam_note(struct pgpam_ctx *c, const char *fmt, ...)
{
	size_t n = strlen(c->reason);
	va_list ap;

	if (n + 3 >= sizeof(c->reason))
		return;
	if (n > 0) {
		memcpy(c->reason + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	(void)vsnprintf(c->reason + n, sizeof(c->reason) - n, fmt, ap);
	va_end(ap);
}

void
pgpam_syslog(struct pgpam_ctx *c, int prio, const char *fmt, ...)
{
	char raw[1024], safe[4 * sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pg_escape(
	    raw, safe, sizeof(safe), PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8);
	pam_syslog(c->pamh, prio, "%s", safe);
}

int
pgpam_audit(struct pgpam_ctx *c, const char *event, const char *decision,
    const char *rule, const char *reason)
{
	struct audit_event ev;

	if (c->audit == NULL)
		return PG_ERR_INVAL;
	audit_event_init(&ev);
	ev.actor = c->user;
	ev.event = event;
	ev.object = c->host;
	ev.decision = decision;
	ev.rule = rule != NULL && rule[0] != '\0' ? rule : NULL;
	ev.reason = reason;
	ev.service = c->service;
	ev.rhost = c->rhost;
	ev.tty = c->tty;
	ev.pid = (long)getpid();
	ev.uid = (long)getuid();
	return audit_write(c->audit, &ev);
}

static const char *
decision_of(const char *outcome)
{
	if (strcmp(outcome, "success") == 0)
		return "allow";
	if (strcmp(outcome, "deny") == 0 || strcmp(outcome, "error") == 0)
		return outcome;
	return "info";
}

static void
log_line(const struct pgpam_ctx *c, int rc)
{
	char user[4 * TOTP_USER_MAX + 8], svc[128], rhost[256], tty[128];
	char rule[PGPAM_RULE_MAX], reason[4 * PGPAM_REASON_MAX];
	int prio = LOG_NOTICE;

	if (rc == PAM_SUCCESS)
		prio = LOG_INFO;
	else if (rc == PAM_IGNORE)
		prio = c->opts.debug ? LOG_INFO : LOG_DEBUG;
	else if (strcmp(c->outcome, "error") == 0)
		prio = LOG_ERR;
	pg_escape(c->user ? c->user : "(unknown)", user, sizeof(user), 0);
	pg_escape(c->service ? c->service : "-", svc, sizeof(svc), 0);
	pg_escape(c->rhost ? c->rhost : "-", rhost, sizeof(rhost), 0);
	pg_escape(c->tty ? c->tty : "-", tty, sizeof(tty), 0);
	pg_escape(c->rule[0] ? c->rule : "-", rule, sizeof(rule), 0);
	pg_escape(c->reason, reason, sizeof(reason), PG_ESC_KEEP_SPACE);
	pam_syslog(c->pamh, prio,
	    "%s user=%s service=%s rhost=%s tty=%s outcome=%s rule=%s "
	    "reason=%s",
	    c->phase, user, svc, rhost, tty, c->outcome, rule, reason);
}

int
pgpam_finish(struct pgpam_ctx *c, int rc)
{
	int r;

	if (c->audit != NULL) {
		r = pgpam_audit(
		    c, c->event, decision_of(c->outcome), c->rule, c->reason);
		if (r != PG_OK) {
			if (rc == PAM_SUCCESS) {
				rc = c->fail_rc;
				c->outcome = "error";
			}
			pgpam_note(c, "refused: audit record not written: %s",
			    pg_strerror(r));
		}
	}
	log_line(c, rc);
	if (c->audit != NULL && (r = audit_close(c->audit)) != PG_OK)
		pam_syslog(c->pamh, LOG_ERR, "audit log not closed cleanly: %s",
		    pg_strerror(r));
	c->audit = NULL;
	pgpam_prefetch_end(c, rc == PAM_SUCCESS);
	pgpam_config_free(c->cfg);
	c->cfg = NULL;
	return rc;
}

void
pgpam_drop_answer(char *answer)
{
	if (answer != NULL) {
		sodium_memzero(answer, strlen(answer));
		free(answer);
	}
}
