/*
 * pam_photoguard.c - the PAM glue of photoguard's second factor: `auth`
 * asks for a verification code, checks it against the user's TOTP record
 * (or spends a scratch code) and leaves an MFA ticket for the gateway.
 * Library codes become PAM_* here and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "core/errors.h"
#include "core/mfa_ticket.h"
#include "core/totp.h"
#include "core/totp_store.h"
#include "pam_module/pam_opts.h"

#define CODE_MAX 64 /* longest answer looked at */
#define PROMPT   "Verification code: "

/* One login attempt, gathered for the single log (and audit) site. */
struct attempt {
	pam_handle_t *pamh;
	const struct pgpam_opts *opts;
	const char *user;
	const char *outcome; /* success, ignore, deny, error */
	char reason[320];
};

static void
finish(struct attempt *a, int pam_rc)
{
	char user[4 * TOTP_USER_MAX + 8];
	int prio = pam_rc == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE;

	pgpam_escape(
	    a->user != NULL ? a->user : "(unknown)", user, sizeof(user));
	if (pam_rc == PAM_IGNORE)
		prio = a->opts->debug ? LOG_INFO : LOG_DEBUG;
	else if (strcmp(a->outcome, "error") == 0)
		prio = LOG_ERR;
	/* AUDIT: pam.auth */
	pam_syslog(a->pamh, prio, "auth user=%s outcome=%s reason=%s", user,
	    a->outcome, a->reason);
}

static int
outcome(struct attempt *a, const char *what, int pam_rc, const char *reason)
{
	a->outcome = what;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", reason);
	return pam_rc;
}

/* Asks for the code; *CODE is pam-allocated, wiped and freed by caller. */
static int
ask_code(pam_handle_t *pamh, char **code)
{
	char *resp = NULL;
	int r;

	*code = NULL;
	r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", PROMPT);
	if (r != PAM_SUCCESS || resp == NULL)
		return r != PAM_SUCCESS ? r : PAM_CONV_ERR;
	*code = resp;
	return PAM_SUCCESS;
}

static void
drop_code(char *code)
{
	if (code != NULL) {
		sodium_memzero(code, strnlen(code, CODE_MAX + 1));
		free(code);
	}
}

/* Maps a failed store check to a PAM code and a logged reason. */
static int
refuse(struct attempt *a, struct totp_store *st, int r)
{
	const char *why = totp_store_why(st);

	switch (r) {
	case PG_ERR_BADCODE:
	case PG_ERR_REPLAY:
	case PG_ERR_PENDING:
	case PG_ERR_NOTFOUND:
		/* FAILCOUNT */
		return outcome(a, "deny", PAM_AUTH_ERR, why);
	case PG_ERR_LOCKED:
		return outcome(a, "deny", PAM_AUTH_ERR, why);
	default:
		return outcome(a, "error", PAM_AUTHINFO_UNAVAIL, why);
	}
}

static int
check(struct attempt *a, const struct pg_config *cfg, struct totp_store *st)
{
	struct totp_status s;
	enum totp_method how = TOTP_BY_NONE;
	char *code = NULL;
	time_t now;
	int r;

	r = totp_store_status(st, a->user, &s);
	if (r != PG_OK)
		return refuse(a, st, r);
	if (s.state == TOTP_STATE_NONE && a->opts->nullok)
		return outcome(
		    a, "ignore", PAM_IGNORE, "no secret enrolled (nullok)");
	if ((r = ask_code(a->pamh, &code)) != PAM_SUCCESS)
		return outcome(a, "error", r, "conversation failed");
	if (strnlen(code, CODE_MAX + 1) > CODE_MAX) {
		drop_code(code);
		return outcome(a, "deny", PAM_AUTH_ERR, "answer too long");
	}
	now = time(NULL);
	r = totp_store_check(st, a->user, code, now, cfg->totp_window, &how);
	drop_code(code);
	if (r != PG_OK)
		return refuse(a, st, r);
	r = mfa_ticket_issue(
	    cfg->totp_ticket_dir, a->user, now, cfg->totp_ticket_ttl_s, NULL);
	if (r != PG_OK)
		pam_syslog(a->pamh, LOG_ERR, "MFA ticket not written: %s",
		    pg_strerror(r));
	return outcome(a, "success", PAM_SUCCESS,
	    how == TOTP_BY_SCRATCH ? "scratch code accepted"
	        : r == PG_OK       ? "code accepted"
	                           : "code accepted, no MFA ticket");
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgpam_opts opts;
	struct attempt a = { pamh, &opts, NULL, "error", "" };
	struct pg_config *cfg = NULL;
	struct totp_store *st = NULL;
	char err[256];
	int rc, r;

	(void)flags;
	if (pgpam_opts_parse(argc, argv, &opts, err, sizeof(err)) != PG_OK) {
		opts.debug = 0;
		rc = outcome(&a, "error", PAM_SERVICE_ERR, err);
		goto out;
	}
	if (pam_get_user(pamh, &a.user, NULL) != PAM_SUCCESS ||
	    a.user == NULL || a.user[0] == '\0') {
		a.user = NULL;
		rc = outcome(&a, "error", PAM_USER_UNKNOWN, "no user name");
		goto out;
	}
	if (pgpam_config(&opts, &cfg, err, sizeof(err)) != PG_OK) {
		rc = outcome(&a, "error", PAM_SERVICE_ERR, err);
		goto out;
	}
	r = totp_store_open(
	    cfg->totp_secret_dir, cfg->totp_host_key_file, 0, &st);
	if (r != PG_OK) {
		(void)snprintf(err, sizeof(err), "secret store unavailable: %s",
		    pg_strerror(r));
		rc = outcome(&a, "error", PAM_AUTHINFO_UNAVAIL, err);
		goto out;
	}
	rc = check(&a, cfg, st);
out:
	finish(&a, rc);
	totp_store_free(st);
	pgpam_config_free(cfg);
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
