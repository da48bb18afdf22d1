/*
 * pam_enroll.c - self-service enrollment in the login conversation.  A
 * user who answered the code prompt with a one-time enrollment token an
 * admin issued, or (with [totp] self_enroll) with a scratch code, is
 * shown a new secret (QR code, otpauth URI, scratch codes) and confirms
 * it with a first code from the app; only then does it replace the old
 * one, so a user who gives up keeps what they had.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "base/base.h"
#include "core/totp/totp.h"
#include "pam_module/pam_auth.h"

#define TRIES      3 /* first codes asked before giving up */
#define ANSWER_MAX 64
#define MSG_MAX    16384

/* The new secret as the user sees it, in one message. */
static int
show(struct pgpam_ctx *c, const struct totp_enrollment *e)
{
	char uri[TOTP_URI_MAX], *qr = NULL, *msg = NULL;
	size_t off;
	int i, n, r;

	if ((r = totp_uri(c->cfg->totp_issuer, c->user, e, uri, sizeof(uri))) !=
	        PG_OK ||
	    (r = totp_qr_text(uri, c->opts.qr, TOTP_QR_COLORS_BASIC, &qr)) !=
	        PG_OK)
		goto out;
	if ((msg = sodium_malloc(MSG_MAX)) == NULL) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	n = snprintf(msg, MSG_MAX,
	    "Enroll your new authenticator app: scan this QR code, or enter "
	    "the URI.\n\n%s\n%s\n\nScratch codes (each works once; keep them "
	    "offline):\n",
	    qr != NULL ? qr : "", uri);
	off = n > 0 ? (size_t)n : MSG_MAX;
	for (i = 0; i < TOTP_SCRATCH_COUNT && off < MSG_MAX; i++) {
		n = snprintf(msg + off, MSG_MAX - off, "  %s\n", e->scratch[i]);
		off += n > 0 ? (size_t)n : MSG_MAX;
	}
	if (off >= MSG_MAX) {
		r = PG_ERR_TOOBIG;
		goto out;
	}
	/* Linux-PAM wipes its copy of a message after the conversation. */
	r = pam_info(c->pamh, "%s", msg) == PAM_SUCCESS ? PG_OK : PG_ERR_IO;
out:
	sodium_memzero(uri, sizeof(uri));
	totp_qr_free(qr);
	if (msg != NULL)
		sodium_free(msg);
	return r;
}

/*
 * Asks for first codes until one confirms the staged secret.  The
 * conversation can be held open for long: each code is taken only while
 * the lockout store still lets the user in.
 */
static int
confirm(struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls,
    char *why, size_t len)
{
	char *code = NULL;
	int i, r = PG_ERR_BADCODE;

	snprintf(why, len, "no first code confirmed it");
	for (i = 0; i < TRIES && r == PG_ERR_BADCODE; i++) {
		if (pam_prompt(c->pamh, PAM_PROMPT_ECHO_ON, &code, "%s",
		        "Verification code from the new app: ") !=
		        PAM_SUCCESS ||
		    code == NULL) {
			snprintf(why, len, "the conversation ended");
			return PG_ERR_IO;
		}
		if (lockout_check(ls, c->user, NULL) != 0) {
			pgpam_drop_answer(code);
			snprintf(why, len, "the account was locked meanwhile");
			return PG_ERR_ACCT_LOCKED;
		}
		if (strnlen(code, ANSWER_MAX + 1) > ANSWER_MAX)
			r = PG_ERR_BADCODE;
		else
			r = totp_store_confirm(
			    st, c->user, code, time(NULL), c->cfg->totp_window);
		pgpam_drop_answer(code);
		code = NULL;
		if (r == PG_ERR_BADCODE && i + 1 < TRIES)
			(void)pam_error(c->pamh, "That code does not match.");
	}
	if (r != PG_OK && r != PG_ERR_BADCODE)
		snprintf(
		    why, len, "%s (%s)", pg_strerror(r), totp_store_why(st));
	return r;
}

int
pgpam_self_enroll(struct pgpam_ctx *c, struct totp_store *st,
    struct lockout_store *ls, const char *via)
{
	const struct pg_config *cfg = c->cfg;
	struct totp_enrollment *e = NULL;
	char why[256], reason[384];
	int r;

	r = totp_store_enroll(st, c->user, TOTP_ENROLL_STAGED, time(NULL),
	    cfg->totp_digits, cfg->totp_step_s, &e);
	if (r != PG_OK)
		snprintf(why, sizeof(why), "new secret not made: %s (%s)",
		    pg_strerror(r), totp_store_why(st));
	else if ((r = show(c, e)) != PG_OK)
		snprintf(why, sizeof(why), "new secret not shown: %s",
		    pg_strerror(r));
	totp_enrollment_free(e);
	if (r == PG_OK)
		r = confirm(c, st, ls, why, sizeof(why));
	if (r == PG_OK)
		snprintf(reason, sizeof(reason),
		    "new authenticator enrolled after %s", via);
	else
		snprintf(reason, sizeof(reason),
		    "self-service enrollment after %s not done: %s", via, why);
	(void)pam_info(c->pamh, "%s",
	    r == PG_OK ? "Your new authenticator app is enrolled."
	               : "No new authenticator was enrolled.");
	if (pgpam_audit(c, "pam.enroll", r == PG_OK ? "allow" : "deny", NULL,
	        reason) != PG_OK)
		pam_syslog(c->pamh, LOG_ERR,
		    "audit record of a self-service enrollment NOT written");
	/* Whoever holds a scratch code or a token can swap the phone:
	 * the clinic hears of every try, and the user's old app stops. */
	pgpam_syslog(c, LOG_ALERT, "ALERT: %s", reason);
	pgpam_hook_event(c, "enroll", NULL, reason, 0);
	pgpam_note(c, "%s", reason);
	return r;
}
