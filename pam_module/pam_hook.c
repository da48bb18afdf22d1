/*
 * pam_hook.c - runs [lockout] hook when the PAM module has locked an
 * account, and when a user enrolled a new app themselves.  The login never
 * waits for it and never depends on it: the lockout is in the store before the
 * hook is even looked at.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "pam_module/pam_auth.h"

#define PW_BUF_MAX 16384

void
pgpam_hook_lockout(
    struct pgpam_ctx *c, const char *rule, const char *why, unsigned failures)
{
	pgpam_hook_event(c, "lockout", rule, why, failures);
}

void
pgpam_hook_event(struct pgpam_ctx *c, const char *event, const char *rule,
    const char *why, unsigned failures)
{
	struct lockout_hook_opts o = { 0 };
	struct lockout_hook_env e;
	struct passwd pw, *res = NULL;
	char buf[PW_BUF_MAX], n[16], err[512];

	if (c->cfg->lockout_hook == NULL)
		return;
	/* As the gateway runs it: the service user, never root. */
	if (getpwnam_r(c->cfg->store_user, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL) {
		pam_syslog(c->pamh, LOG_ERR,
		    "lockout hook %s not run: no service user %s",
		    c->cfg->lockout_hook, c->cfg->store_user);
		return;
	}
	snprintf(n, sizeof(n), "%u", failures);
	lockout_hook_env_init(&e, event, "pam");
	lockout_hook_env_set(&e, "PHOTOGUARD_USER", c->user);
	if (rule != NULL)
		lockout_hook_env_set(&e, "PHOTOGUARD_RULE", rule);
	lockout_hook_env_set(&e, "PHOTOGUARD_REASON", why);
	if (strcmp(event, "lockout") == 0)
		lockout_hook_env_set(&e, "PHOTOGUARD_FAILURES", n);
	lockout_hook_env_set(&e, "PHOTOGUARD_SERVICE", c->service);
	lockout_hook_env_set(&e, "PHOTOGUARD_RHOST", c->rhost);
	o.timeout_s = (unsigned)c->cfg->lockout_hook_timeout_s;
	o.uid = pw.pw_uid;
	o.gid = pw.pw_gid;
	o.ident = "pam_photoguard";
	if (lockout_hook_run(c->cfg->lockout_hook, &e, &o, err, sizeof(err)) !=
	    0)
		pam_syslog(c->pamh, LOG_ERR, "lockout hook %s not run: %s",
		    c->cfg->lockout_hook, err);
}
