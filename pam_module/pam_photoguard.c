/*
 * pam_photoguard.c - the PAM entry points of photoguard: `auth` (the TOTP
 * second factor), `account` (lockout, directory roles, login rules) and
 * `session` (audit records for open and close).  Each phase starts and
 * ends in pam_ctx.c, so every outcome is audited and logged once.
 * Library codes become PAM_* in this module and nowhere else.
 */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_modules.h>

#include "pam_module/pam_auth.h"
#include "pam_module/pam_ctx.h"

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgpam_ctx c;
	int rc;

	(void)flags;
	rc = pgpam_begin(
	    &c, pamh, argc, argv, "auth", "pam.auth", PAM_AUTHINFO_UNAVAIL);
	if (rc == PAM_SUCCESS)
		rc = pgpam_auth(&c);
	return pgpam_finish(&c, rc);
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

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgpam_ctx c;
	int rc;

	(void)flags;
	rc = pgpam_begin(&c, pamh, argc, argv, "account", "pam.account",
	    PAM_AUTHINFO_UNAVAIL);
	if (rc == PAM_SUCCESS)
		rc = pgpam_account(&c);
	return pgpam_finish(&c, rc);
}

/* Both session phases only leave a record; no record, no session. */
static int
session(pam_handle_t *pamh, int argc, const char **argv, const char *phase,
    const char *event, const char *what)
{
	struct pgpam_ctx c;
	int rc;

	rc = pgpam_begin(&c, pamh, argc, argv, phase, event, PAM_SESSION_ERR);
	if (rc == PAM_SUCCESS)
		rc = pgpam_set(&c, "success", PAM_SUCCESS, NULL, "%s", what);
	else if (rc != PAM_SESSION_ERR)
		rc = PAM_SESSION_ERR;
	return pgpam_finish(&c, rc);
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, "session.open", "pam.session.open",
	    "session opened");
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, "session.close", "pam.session.close",
	    "session closed");
}
