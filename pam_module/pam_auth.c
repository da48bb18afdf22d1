/*
 * pam_auth.c - the `auth` phase: refuse locked-out users without looking
 * at their answer, check the verification code (or a scratch code, or a
 * one-time enrollment token, which leads to a self-service enrollment),
 * count wrong codes and lock the account at the configured threshold, and
 * leave an MFA ticket after a good code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "base/base.h"
#include "core/dir/dir.h"
#include "core/lockout/lockout.h"
#include "core/totp/totp.h"
#include "pam_module/pam_auth.h"
#include "pam_module/pam_prefetch.h"

#define CODE_MAX 64 /* longest answer looked at */
#define PROMPT   "Verification code: "
#define RULE_MAX "totp.max_failures"
#define RULE_RUN "totp.max_consecutive_failures"
#define RULE_DIR "directory.lockout"

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

/*
 * Sets the directory's lockout attribute when one is configured; a write
 * that fails is queued in the lockout store (lockout_pending.h) and
 * retried by whoever reaches the directory next, with an alert meanwhile.
 * A directory that takes no lock from a client (Active Directory's
 * lockoutTime) is not asked: queued, it would alert for ever.
 */
static void
lock_in_directory(struct pgpam_ctx *c, struct lockout_store *ls)
{
	struct dir *d = NULL;
	char err[256] = "";
	int r;

	if (c->cfg->dir_lockout_attr == NULL)
		return;
	if ((r = dir_open(c->cfg, &d)) == PG_OK && !dir_can_set_lock(d)) {
		if (dir_can_lock(d)) {
			pgpam_note(c,
			    "locked on this server only (%s takes no "
			    "lock from a client)",
			    c->cfg->dir_lockout_attr);
			pgpam_syslog(c, LOG_ALERT,
			    "ALERT: lockout held on this server only: the "
			    "directory's %s takes no lock from a client; lock "
			    "the account in the directory",
			    c->cfg->dir_lockout_attr);
		}
		dir_free(d);
		return;
	}
	if (r == PG_OK)
		r = dir_set_locked(d, c->user, strlen(c->user), true);
	if (r == PG_OK) {
		pgpam_note(c, "directory lockout attribute set");
		dir_free(d);
		return;
	}
	if (d != NULL)
		dir_last_error(d, err, sizeof(err));
	dir_free(d);
	if (err[0] == '\0')
		(void)snprintf(err, sizeof(err), "%s", pg_strerror(r));
	r = lockout_pending_add(ls, c->user, time(NULL), err);
	pgpam_note(c, "directory lockout attribute not set: %s; %s", err,
	    r == PG_OK ? "queued for retry" : "NOT queued");
	pgpam_syslog(c, LOG_ALERT,
	    "ALERT: directory lockout pending (not written: %s)%s", err,
	    r == PG_OK ? "; queued, retried when the directory answers"
	               : "; NOT queued");
}

/* The failure counts of one attempt, counted before its code is checked. */
struct attempt {
	unsigned n;   /* failures in the window, this attempt included */
	unsigned run; /* consecutive failures, this attempt included */
	bool corrupt; /* the counter was damaged: act as at the threshold */
};

/* Locks the user out by RULE for WHY; audited, alerted. */
static void
lock_out(struct pgpam_ctx *c, struct lockout_store *ls, const char *rule,
    const char *why, unsigned n)
{
	struct lockout_entry e = { 0 };
	char extra[32];
	bool already = false;
	int r;

	(void)snprintf(extra, sizeof(extra), "failures=%u", n);
	e.user = c->user;
	e.reason = why;
	e.rule = rule;
	e.by = "pam";
	e.host = c->host[0] ? c->host : NULL;
	e.extra = extra;
	(void)mfa_ticket_remove(c->cfg->totp_ticket_dir, c->user);
	if ((r = lockout_lock(ls, &e, &already)) != PG_OK) {
		pgpam_note(c, "lockout NOT recorded: %s", pg_strerror(r));
		pam_syslog(c->pamh, LOG_ALERT, "lockout of user failed: %s",
		    pg_strerror(r));
		return;
	}
	if (already)
		return; /* whoever locked first audited it */
	pgpam_note(c, "account locked (%s)", why);
	lock_in_directory(c, ls);
	r = pgpam_audit(c, "lockout.lock", "deny", rule, c->reason);
	pgpam_syslog(c, LOG_ALERT, "lockout rule=%s reason=%s%s", rule, why,
	    r == PG_OK ? "" : " (audit record NOT written)");
	pgpam_hook_lockout(c, rule, why, n);
}

/*
 * Counts the attempt as a failure before its code is looked at, so that
 * a counter that cannot be written stops the guessing instead of letting
 * every guess through uncounted; a good code then resets the counter.
 * A store that counts for the clinic (the directory) counts there.
 * Returns PAM_SUCCESS (A filled) or the refusal, with the code unchecked.
 */
static int
count_attempt(struct pgpam_ctx *c, struct totp_store *st,
    struct lockout_store *ls, time_t now, struct attempt *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	if (totp_store_counts_failures(st)) {
		r = totp_store_failures_add(st, c->user, now,
		    c->cfg->totp_failure_window_s, &a->n, &a->run);
		if (r == PG_OK)
			return PAM_SUCCESS;
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "failure counter in the directory cannot be written: "
		    "%s; code not checked",
		    totp_store_why(st));
	}
	r = failcount_add_run(
	    ls, c->user, now, c->cfg->totp_failure_window_s, &a->n, &a->run);
	if (r == PG_OK)
		return PAM_SUCCESS;
	if (r == PG_ERR_CORRUPT) {
		a->corrupt = true; /* a wrong code locks at once */
		return PAM_SUCCESS;
	}
	pam_syslog(c->pamh, LOG_ALERT,
	    "ALERT: wrong-code counting is down (%s): every code is refused "
	    "until the lockout store %s can be written",
	    pg_strerror(r), c->cfg->lockout_dir);
	return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
	    "failure counter cannot be written: %s; code not checked",
	    pg_strerror(r));
}

/* A wrong code: the counts of A against both limits.  RC returned as is. */
static int
count_failure(struct pgpam_ctx *c, struct lockout_store *ls,
    const struct attempt *a, int rc)
{
	unsigned max = (unsigned)c->cfg->totp_max_failures;
	unsigned maxrun = (unsigned)c->cfg->totp_max_consecutive_failures;
	char why[160];

	if (a->corrupt) {
		pgpam_note(c, "failure counter corrupt: treated as %u", max);
		(void)snprintf(why, sizeof(why),
		    "%u failed verification codes within %d s", max,
		    c->cfg->totp_failure_window_s);
		lock_out(c, ls, RULE_MAX, why, max);
		return rc;
	}
	pgpam_note(c, "failure %u of %u", a->n, max);
	if (a->n >= max) {
		(void)snprintf(why, sizeof(why),
		    "%u failed verification codes within %d s", a->n,
		    c->cfg->totp_failure_window_s);
		lock_out(c, ls, RULE_MAX, why, a->n);
	} else if (a->run >= maxrun) {
		pgpam_note(c, "%u consecutive failures", a->run);
		(void)snprintf(why, sizeof(why),
		    "%u consecutive failed verification codes", a->run);
		lock_out(c, ls, RULE_RUN, why, a->run);
	}
	return rc;
}

/*
 * Maps a failed store check to a PAM code; wrong codes face the limits.
 * Other errors leave the attempt counted: it cannot be told apart from a
 * guess, and erring that way only brings a lockout nearer.
 */
static int
refuse(struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls,
    const struct attempt *a, int r)
{
	const char *why = totp_store_why(st);

	switch (r) {
	case PG_ERR_BADCODE:
	case PG_ERR_REPLAY:
		pgpam_set(c, "deny", PAM_AUTH_ERR, NULL, "%s", why);
		return a != NULL ? count_failure(c, ls, a, PAM_AUTH_ERR)
		                 : PAM_AUTH_ERR;
	case PG_ERR_ACCT_LOCKED:
		(void)mfa_ticket_remove(c->cfg->totp_ticket_dir, c->user);
		return pgpam_set(c, "deny", PAM_AUTH_ERR, RULE_DIR, "%s", why);
	case PG_ERR_PENDING:
	case PG_ERR_NOTFOUND:
	case PG_ERR_LOCKED:
		return pgpam_set(c, "deny", PAM_AUTH_ERR, NULL, "%s", why);
	default:
		return pgpam_set(
		    c, "error", PAM_AUTHINFO_UNAVAIL, NULL, "%s", why);
	}
}

/*
 * The directory marks the user locked (set by any server, or an admin):
 * asked as anyone else, the answer discarded, no ticket left behind.
 */
static int
refuse_dir_locked(struct pgpam_ctx *c)
{
	char *code = NULL;

	if (ask_code(c->pamh, &code) == PAM_SUCCESS)
		pgpam_drop_answer(code);
	(void)mfa_ticket_remove(c->cfg->totp_ticket_dir, c->user);
	return pgpam_set(c, "deny", PAM_AUTH_ERR, RULE_DIR,
	    "account locked in the directory (code not checked)");
}

/* After a good code: reset the counter, write the ticket (or refuse). */
static int
accept(struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls,
    time_t now, enum totp_method how)
{
	const struct pg_config *cfg = c->cfg;
	int r;

	/* Not reset: this attempt stays counted, which errs towards a lock. */
	if (totp_store_counts_failures(st))
		r = totp_store_failures_reset(st, c->user);
	else
		r = failcount_reset(ls, c->user);
	if (r != PG_OK)
		pam_syslog(c->pamh, LOG_ERR, "failure counter not reset: %s",
		    pg_strerror(r));
	r = mfa_ticket_issue(cfg->totp_ticket_dir, c->user, now,
	    cfg->totp_ticket_ttl_s, c->host[0] ? c->host : NULL);
	if (r != PG_OK)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "code accepted but MFA ticket not written (%s): refused",
		    pg_strerror(r));
	return pgpam_set(c, "success", PAM_SUCCESS, NULL, "%s",
	    how == TOTP_BY_SCRATCH ? "scratch code accepted"
	        : how == TOTP_BY_TOKEN
	        ? "enrollment token accepted, new authenticator enrolled"
	        : "code accepted");
}

/*
 * An answer shaped like an enrollment token: spent if it is USER's, then
 * the new authenticator must be enrolled and confirmed for the login to
 * go on.  Any other answer of that shape counts as a wrong code.
 */
static int
by_token(struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls,
    const struct attempt *a, const char *code, time_t now)
{
	int r = totp_token_use(st, c->user, code, now);

	if (r == PG_ERR_NOTFOUND)
		r = PG_ERR_BADCODE;
	if (r != PG_OK)
		return refuse(c, st, ls, a, r);
	pgpam_note(c, "enrollment token spent");
	if (pgpam_self_enroll(c, st, ls, "an enrollment token") != PG_OK)
		return pgpam_set(c, "deny", PAM_AUTH_ERR, NULL,
		    "enrollment token spent, but no new authenticator was "
		    "confirmed: a new token is needed");
	return accept(c, st, ls, now, TOTP_BY_TOKEN);
}

/* After a scratch code, with [totp] self_enroll: offers a new app. */
static void
offer_enrollment(
    struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls)
{
	char *resp = NULL;

	if (pam_prompt(c->pamh, PAM_PROMPT_ECHO_ON, &resp, "%s",
	        "You logged in with a scratch code. Enroll a new "
	        "authenticator app now? [y/N] ") != PAM_SUCCESS ||
	    resp == NULL)
		return;
	if (strcmp(resp, "y") == 0 || strcmp(resp, "Y") == 0 ||
	    strcmp(resp, "yes") == 0)
		(void)pgpam_self_enroll(c, st, ls, "a scratch code");
	pgpam_drop_answer(resp);
}

static int
check(struct pgpam_ctx *c, struct totp_store *st, struct lockout_store *ls)
{
	struct totp_status s;
	struct attempt a;
	enum totp_method how = TOTP_BY_NONE;
	char *code = NULL;
	int64_t token_until;
	bool tokens = totp_store_keeps_tokens(st);
	time_t now;
	int r;

	r = totp_store_status(st, c->user, &s);
	if (r != PG_OK)
		return refuse(c, st, ls, NULL, r);
	if (s.locked)
		return refuse_dir_locked(c);
	/* nullok passes a user with no secret, but not one an admin gave
	 * an enrollment token that is still good: that user is asked for
	 * it.  A token that cannot be read is asked for too, and refused
	 * with the reason: it never waves the user through. */
	if (s.state == TOTP_STATE_NONE && c->opts.nullok) {
		r = tokens ? totp_token_expiry(st, c->user, &token_until)
		           : PG_ERR_NOTFOUND;
		if (r == PG_ERR_NOTFOUND ||
		    (r == PG_OK && token_until <= (int64_t)time(NULL)))
			return pgpam_set(c, "ignore", PAM_IGNORE, NULL,
			    "no secret enrolled (nullok)%s",
			    r == PG_OK ? "; its enrollment token expired" : "");
	}
	if ((r = ask_code(c->pamh, &code)) != PAM_SUCCESS)
		return pgpam_set(c, "error", r, NULL, "conversation failed");
	now = time(NULL);
	if ((r = count_attempt(c, st, ls, now, &a)) != PAM_SUCCESS) {
		pgpam_drop_answer(code);
		return r;
	}
	if (strnlen(code, CODE_MAX + 1) > CODE_MAX) {
		pgpam_drop_answer(code);
		pgpam_set(c, "deny", PAM_AUTH_ERR, NULL, "answer too long");
		return count_failure(c, ls, &a, PAM_AUTH_ERR);
	}
	/*
	 * An enrolled user answered: the account phase's directory lookup
	 * runs while this phase checks the code and writes the ticket, and
	 * its answer is seconds old when account takes it, however long the
	 * user took to type.
	 */
	if (s.state == TOTP_STATE_ACTIVE)
		pgpam_prefetch_start(c);
	if (tokens && totp_token_format_ok(code)) {
		r = by_token(c, st, ls, &a, code, now);
		pgpam_drop_answer(code);
		return r;
	}
	r = totp_store_check(st, c->user, code, now, c->cfg->totp_window, &how);
	pgpam_drop_answer(code);
	if (r != PG_OK)
		return refuse(c, st, ls, &a, r);
	/* The login stands on the scratch code; the offer comes after. */
	r = accept(c, st, ls, now, how);
	if (r == PAM_SUCCESS && how == TOTP_BY_SCRATCH &&
	    c->cfg->totp_self_enroll)
		offer_enrollment(c, st, ls);
	return r;
}

/* A locked-out user is asked as anyone else, and the answer discarded. */
static int
refuse_locked(struct pgpam_ctx *c, const struct lockout_entry *e)
{
	char *code = NULL, text[PGPAM_REASON_MAX];

	if (ask_code(c->pamh, &code) == PAM_SUCCESS)
		pgpam_drop_answer(code);
	(void)mfa_ticket_remove(c->cfg->totp_ticket_dir, c->user);
	pgpam_lockout_text(e, text, sizeof(text));
	return pgpam_set(
	    c, "deny", PAM_AUTH_ERR, e->rule, "%s (code not checked)", text);
}

/* Opens the configured TOTP store. */
static int
open_totp_store(const struct pg_config *cfg, struct totp_store **st)
{
	if (cfg->totp_store == PG_TOTP_DIRECTORY)
		return dir_totp_store_open(cfg, st);
	return totp_store_open(
	    cfg->totp_secret_dir, cfg->totp_host_key_file, 0, st);
}

int
pgpam_auth(struct pgpam_ctx *c)
{
	struct lockout_store *ls = NULL;
	struct totp_store *st = NULL;
	struct lockout_entry e;
	int rc, r;

	r = lockout_open(c->cfg->lockout_dir, LOCKOUT_OPEN_CREATE, &ls);
	if (r != PG_OK)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "lockout store unavailable: %s", pg_strerror(r));
	r = pgpam_lockout_check(c, ls, &e);
	if (r != 0) {
		rc = r == 1
		    ? refuse_locked(c, &e)
		    : pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		          "cannot tell whether the user is locked out: %s",
		          pg_strerror(r));
		lockout_entry_clear(&e);
		goto out;
	}
	r = open_totp_store(c->cfg, &st);
	if (r != PG_OK) {
		rc = pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "secret store unavailable: %s", pg_strerror(r));
		goto out;
	}
	rc = check(c, st, ls);
out:
	totp_store_free(st);
	lockout_free(ls);
	return rc;
}
