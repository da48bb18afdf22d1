/*
 * pam_ctx.h - what every phase of pam_photoguard.so shares: the module
 * arguments, the configuration, who is logging in from where, the audit
 * log, and the single place where an outcome becomes an audit record and
 * a pam_syslog line.  Internal to the module.
 */
#ifndef PG_PAM_CTX_H
#define PG_PAM_CTX_H

#include <security/pam_modules.h>

#include "core/audit/audit.h"
#include "core/config/config.h"
#include "pam_module/pam_opts.h"

#define PGPAM_HOST_MAX   255
#define PGPAM_RULE_MAX   320
#define PGPAM_REASON_MAX 640

struct pgpam_prefetch;

struct pgpam_ctx {
	pam_handle_t *pamh;
	struct pgpam_opts opts;
	struct pg_config *cfg;
	struct audit_log *audit;
	const char *phase;   /* "auth", "account", "session.open", ... */
	const char *event;   /* audit event: "pam.auth", ... */
	int fail_rc;         /* what this phase returns when audit fails */
	const char *user;    /* PAM's, NULL until known */
	const char *service; /* PAM_SERVICE, NULL if unset */
	const char *rhost;
	const char *tty;
	char host[PGPAM_HOST_MAX + 1]; /* host= or gethostname() */
	const char *outcome;           /* success, deny, error, ignore */
	char rule[PGPAM_RULE_MAX];
	char reason[PGPAM_REASON_MAX];
	struct pgpam_prefetch *prefetch; /* auth's lookup for account */
};

/*
 * Starts a phase: parses ARGV, finds the user, service, remote host and
 * tty, loads the configuration and opens the audit log.  Returns
 * PAM_SUCCESS, or the PAM code to return with the outcome already set (the
 * caller still ends with pgpam_finish()).
 */
int pgpam_begin(struct pgpam_ctx *c, pam_handle_t *pamh, int argc,
    const char **argv, const char *phase, const char *event, int fail_rc);

/*
 * Sets the outcome (success, deny, error, ignore), the rule (NULL: none)
 * and the reason (printf format); returns RC for `return pgpam_set(...)`.
 */
int pgpam_set(struct pgpam_ctx *c, const char *outcome, int rc,
    const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Appends "; " and a formatted note to the reason. */
void pgpam_note(struct pgpam_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * pam_syslog() of the formatted text with control characters and other
 * bytes a log reader could be fooled by escaped: for text that carries
 * what a server or a file said.
 */
void pgpam_syslog(struct pgpam_ctx *c, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes one extra audit record EVENT (decision DECISION) for the user,
 * e.g. "lockout.lock".  Returns PG_OK or PG_ERR_*.
 */
int pgpam_audit(struct pgpam_ctx *c, const char *event, const char *decision,
    const char *rule, const char *reason);

/*
 * Ends the phase: the audit record and the pam_syslog line for the outcome
 * of RC.  When the record cannot be written, a success becomes the phase's
 * fail_rc (no unaudited login).  Waits for a directory lookup the phase
 * started (pam_prefetch.h), kept for the account phase only when the
 * phase ends in success.  Frees what pgpam_begin() took.  Returns the PAM
 * code the phase must return.
 */
int pgpam_finish(struct pgpam_ctx *c, int rc);

/*
 * Wipes and frees an answer the conversation returned (a code, a token):
 * all of it, however long the user made it.  NULL is a no-op.
 */
void pgpam_drop_answer(char *answer);

#endif /* PG_PAM_CTX_H */
