/*
 * pam_photoguard.c - the PAM entry points of photoguard: `auth` (the TOTP
 * second factor), `account` (lockout, directory roles, login rules) and
 * `session` (audit records for open and close, the MFA ticket bound to
 * the session: see mfa_ticket.h, and the login's own view of the store).  Each
 * phase starts and ends in pam_ctx.c, so every outcome is audited and logged
 * once.  Library codes become PAM_* in this module and nowhere else.
 */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PW_BUF_MAX 16384
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/ctl/ctl.h"
#include "core/lockout/lockout.h"
#include "core/totp/totp.h"
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

/*
 * Whether account refused a locked-out user: the directory's lockout, or
 * the lockout store's (asked again, so the answer does not hang on the
 * wording of the refusal; a store that cannot answer counts as locked).
 */
static bool
refused_locked(struct pgpam_ctx *c)
{
	struct lockout_store *ls = NULL;
	int r;

	if (strcmp(c->rule, "directory.lockout") == 0)
		return true;
	if (lockout_open(c->cfg->lockout_dir, 0, &ls) != PG_OK)
		return true;
	r = lockout_check(ls, c->user, NULL);
	lockout_free(ls);
	return r != 0;
}

/*
 * The account phase refused this login: a ticket auth left pending for it
 * goes; a lockout takes the user's whole ticket, the other sessions' too.
 */
static void
ticket_refused(struct pgpam_ctx *c)
{
	const char *dir = c->cfg->totp_ticket_dir;
	int r;

	if (refused_locked(c))
		r = mfa_ticket_remove(dir, c->user);
	else
		r = mfa_ticket_session_close(dir, c->user, getpid());
	if (r < 0)
		pgpam_note(c, "MFA ticket not withdrawn: %s", pg_strerror(r));
}

/* Session open: the ticket auth left pending for this process joins. */
static void
ticket_join(struct pgpam_ctx *c)
{
	int r;

	r = mfa_ticket_session_open(
	    c->cfg->totp_ticket_dir, c->user, time(NULL), getpid());
	if (r == 1) {
		pgpam_note(c, "MFA ticket bound to the session");
	} else if (r < 0) {
		/* The login goes on; reads that need MFA are refused. */
		pgpam_note(c, "MFA ticket NOT bound: %s", pg_strerror(r));
		pam_syslog(c->pamh, LOG_ERR,
		    "MFA ticket not bound to the session: %s", pg_strerror(r));
	}
}

/* Session close: the last session out removes the ticket. */
static void
ticket_leave(struct pgpam_ctx *c)
{
	int r;

	if (c->cfg == NULL || c->user == NULL)
		return;
	r = mfa_ticket_session_close(
	    c->cfg->totp_ticket_dir, c->user, getpid());
	if (r == 1) {
		pgpam_note(c, "MFA ticket removed (last session)");
	} else if (r < 0) {
		/* Bound to this process, it ends when the process does. */
		pgpam_note(c, "MFA ticket NOT updated: %s", pg_strerror(r));
		pam_syslog(c->pamh, LOG_ERR,
		    "MFA ticket not updated at session close: %s",
		    pg_strerror(r));
	}
}

/*
 * Session open: the login gets a view of its own at [store] mountpoint
 * (core/ctl/ctl_view.c), in a mount namespace its processes inherit.
 * Without one (no gateway here, or it refused) the shared view serves:
 * it decides the same, only slower, so the login goes on either way.
 */
static void
view_enter(struct pgpam_ctx *c)
{
	struct passwd pw, *res = NULL;
	char buf[PW_BUF_MAX], why[512];
	int r;

	if (!c->cfg->store_views ||
	    getpwnam_r(c->user, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL || pw.pw_uid == 0)
		return;
	r = ctl_view_enter(c->cfg->store_control_socket,
	    c->cfg->store_mountpoint, pw.pw_uid, pw.pw_gid, why, sizeof(why));
	if (r == PG_OK) {
		pgpam_note(c, "own view at %s", c->cfg->store_mountpoint);
	} else if (r != PG_ERR_NOTFOUND) {
		pgpam_note(c, "no own view (%s): the shared view serves", why);
		pam_syslog(c->pamh, LOG_WARNING,
		    "no view of %s's own at %s (%s): the shared view serves",
		    c->user, c->cfg->store_mountpoint, why);
	}
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgpam_ctx c;
	int rc;

	(void)flags;
	rc = pgpam_begin(&c, pamh, argc, argv, "account", "pam.account",
	    PAM_AUTHINFO_UNAVAIL);
	if (rc == PAM_SUCCESS) {
		rc = pgpam_account(&c);
		if (rc != PAM_SUCCESS)
			ticket_refused(&c);
	}
	return pgpam_finish(&c, rc);
}

/*
 * The session phases leave a record (no record, no session) and bind the
 * login's MFA ticket to the session, or take the session out of it.
 */
static int
session(pam_handle_t *pamh, int argc, const char **argv, const char *phase,
    const char *event, const char *what)
{
	struct pgpam_ctx c;
	bool open = strcmp(phase, "session.open") == 0;
	int rc;

	rc = pgpam_begin(&c, pamh, argc, argv, phase, event, PAM_SESSION_ERR);
	if (rc == PAM_SUCCESS)
		rc = pgpam_set(&c, "success", PAM_SUCCESS, NULL, "%s", what);
	else if (rc != PAM_SESSION_ERR)
		rc = PAM_SESSION_ERR;
	if (open && rc == PAM_SUCCESS) {
		ticket_join(&c);
		view_enter(&c);
	} else if (!open)
		ticket_leave(&c); /* even when the record cannot be written */
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
