/*
 * pam_account.c - the `account` phase: the lockout store (a copy of
 * another server's lockout checked against the directory), then the
 * directory (or, only when it is unreachable and an offline cache is
 * configured, a recent enough cached answer), then the policy's login
 * rules for this host and service.  Anything that cannot be decided is
 * refused.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "core/lockout/lockout.h"
#include "core/state/state.h"
#include "access/access.h"
#include "pam_module/pam_auth.h"
#include "pam_module/pam_prefetch.h"

void
pgpam_lockout_text(const struct lockout_entry *e, char *buf, size_t len)
{
	char since[32] = "?";

	(void)pg_utc(e->since, PG_TIME_ISO, since, sizeof(since));
	(void)snprintf(buf, len, "locked out since %s by %s: %s", since,
	    e->by ? e->by : "?", e->reason ? e->reason : "no reason given");
}

int
pgpam_lockout_check(
    struct pgpam_ctx *c, struct lockout_store *ls, struct lockout_entry *e)
{
	struct dir *d = NULL;
	bool lifted = false;
	int r;

	r = lockout_check(ls, c->user, e);
	if (r != 1 || e->origin != LOCKOUT_ORIGIN_DIRECTORY ||
	    c->cfg->dir_lockout_attr == NULL || dir_open(c->cfg, &d) != PG_OK)
		return r;
	lockout_entry_clear(e);
	r = lockout_check_dir(ls, d, c->user, e, &lifted);
	dir_free(d);
	if (lifted) {
		pam_syslog(c->pamh, LOG_NOTICE,
		    "the lockout copied from the directory is lifted: the "
		    "directory no longer holds it");
		(void)pgpam_audit(c, "lockout.unlock", "allow",
		    "directory.lockout",
		    "origin=directory: no longer locked in the directory");
	}
	return r;
}

/* 0: not locked; otherwise the PAM code with the outcome set. */
static int
check_lockout(struct pgpam_ctx *c)
{
	struct lockout_store *ls = NULL;
	struct lockout_entry e;
	char text[PGPAM_REASON_MAX];
	int r, rc = 0;

	r = lockout_open(c->cfg->lockout_dir, LOCKOUT_OPEN_CREATE, &ls);
	if (r != PG_OK)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "lockout store unavailable: %s", pg_strerror(r));
	r = pgpam_lockout_check(c, ls, &e);
	if (r == 1) {
		pgpam_lockout_text(&e, text, sizeof(text));
		rc = pgpam_set(c, "deny", PAM_PERM_DENIED, e.rule, "%s", text);
	} else if (r == PG_ERR_INVAL) {
		rc = pgpam_set(c, "deny", PAM_USER_UNKNOWN, NULL,
		    "user name not acceptable to the lockout store");
	} else if (r != 0) {
		rc = pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "cannot tell whether the user is locked out: %s",
		    pg_strerror(r));
	}
	lockout_entry_clear(&e);
	lockout_free(ls);
	return rc;
}

/* The directory is unreachable: an offline cache entry, or a refusal. */
static int
from_cache(struct pgpam_ctx *c, const char *direrr, struct dir_user **u,
    char *via, size_t vialen)
{
	const struct pg_config *cfg = c->cfg;
	long long age = -1;
	int r;

	if (cfg->dir_offline_cache_dir == NULL)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "directory unavailable: %s; no offline cache configured",
		    direrr);
	r = offline_cache_get(cfg->dir_offline_cache_dir, c->user, time(NULL),
	    cfg->dir_offline_max_age_s, u, &age);
	if (r == PG_OK) {
		(void)snprintf(via, vialen,
		    "offline cache (directory unavailable; entry %lld s old)",
		    age);
		return PAM_SUCCESS;
	}
	if (r == PG_ERR_NOTFOUND && age >= 0)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "directory unavailable: %s; offline cache entry too old "
		    "(%lld s, max %d s)",
		    direrr, age, cfg->dir_offline_max_age_s);
	return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
	    "directory unavailable: %s; offline cache: %s", direrr,
	    r == PG_ERR_NOTFOUND ? "no entry" : pg_strerror(r));
}

/* Keeps the answer for offline use when the cache is configured. */
static void
remember(struct pgpam_ctx *c, const struct dir_user *u)
{
	int r;

	if (c->cfg->dir_offline_cache_dir == NULL)
		return;
	r = offline_cache_put(c->cfg->dir_offline_cache_dir, u, time(NULL));
	if (r != PG_OK)
		pam_syslog(c->pamh, LOG_WARNING,
		    "offline cache not updated: %s", pg_strerror(r));
}

/*
 * The directory answers: the offline cache learns every lock the
 * directory holds (at most once a minute), so that no cached "not
 * locked" outvotes a lock set elsewhere.
 */
static void
sync_cache_locks(struct pgpam_ctx *c)
{
	struct dir *d = NULL;
	int r;

	if (c->cfg->dir_offline_cache_dir == NULL ||
	    c->cfg->dir_lockout_attr == NULL ||
	    !offline_cache_sync_due(c->cfg->dir_offline_cache_dir, time(NULL)))
		return;
	if ((r = dir_open(c->cfg, &d)) == PG_OK)
		r = offline_cache_sync_locks(
		    c->cfg->dir_offline_cache_dir, d, time(NULL));
	if (r != PG_OK)
		pam_syslog(c->pamh, LOG_WARNING,
		    "offline cache not told of the directory's locks: %s",
		    pg_strerror(r));
	dir_free(d);
}

/*
 * The directory answers: directory lockouts this host could not write
 * before are written now.  Costs a listing of the lockout store; the
 * directory is asked only when something is queued.
 */
static void
retry_pending(struct pgpam_ctx *c)
{
	struct lockout_store *ls = NULL;
	struct lockout_pending *v = NULL;
	struct dir *d = NULL;
	size_t n = 0, left = 0;
	int r;

	if (c->cfg->dir_lockout_attr == NULL ||
	    lockout_open(c->cfg->lockout_dir, 0, &ls) != PG_OK)
		return;
	r = lockout_pending_list(ls, &v, &n);
	lockout_pending_free(v, n);
	if (r == PG_OK && n > 0 && (r = dir_open(c->cfg, &d)) == PG_OK)
		r = lockout_pending_retry(ls, d, time(NULL), &left);
	if (r != PG_OK || left > 0)
		pam_syslog(c->pamh, LOG_ALERT,
		    "ALERT: %zu directory lockout(s) still pending%s%s", left,
		    r != PG_OK ? ": " : "", r != PG_OK ? pg_strerror(r) : "");
	else if (n > 0)
		pam_syslog(c->pamh, LOG_NOTICE,
		    "%zu pending directory lockout(s) written", n);
	dir_free(d);
	lockout_free(ls);
}

/*
 * The user's directory entry in *U, or the PAM code of a refusal: the
 * lookup auth made for this login (pam_prefetch.h), else one of its own.
 */
static int
lookup(struct pgpam_ctx *c, struct dir_user **u, char *via, size_t vialen)
{
	struct dir *d = NULL;
	char err[256];
	int r, rc = PAM_SUCCESS, pre;

	*u = NULL;
	pre = pgpam_prefetch_take(c, &r, u, err, sizeof(err));
	if (!pre) {
		if ((r = dir_open(c->cfg, &d)) != PG_OK)
			return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
			    "directory not usable: %s", pg_strerror(r));
		r = dir_lookup(d, c->user, strlen(c->user), u);
		dir_last_error(d, err, sizeof(err));
	}
	if (err[0] == '\0')
		(void)snprintf(err, sizeof(err), "%s", pg_strerror(r));
	if (pre && strlen(err) + 20 < sizeof(err))
		memcpy(err + strlen(err), " (asked during auth)", 21);
	if (r == PG_OK) {
		(void)snprintf(via, vialen, "%s",
		    pre ? "directory, during auth" : "directory");
		remember(c, *u);
		retry_pending(c);
		sync_cache_locks(c);
	} else if (r == PG_ERR_NOTFOUND || r == PG_ERR_INVAL) {
		rc = pgpam_set(c, "deny", PAM_USER_UNKNOWN, NULL,
		    "user not in the directory");
	} else if (r == PG_ERR_DIR_UNAVAIL) {
		rc = from_cache(c, err, u, via, vialen);
	} else {
		rc = pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "directory: %s", err);
	}
	dir_free(d);
	return rc;
}

static int
load_policy(struct pgpam_ctx *c, struct policy **pol)
{
	struct policy_diags *diags = NULL;
	const struct policy_diag *dg;
	char err[512], first[256] = "";
	size_t i;
	int r;

	r = pg_policy_load(
	    c->cfg->policy_file, 1, pol, &diags, err, sizeof(err));
	if (r == PG_OK) {
		policy_diags_free(diags);
		return PAM_SUCCESS;
	}
	for (i = 0; (dg = policy_diags_get(diags, i)) != NULL; i++)
		if (dg->severity == POLICY_DIAG_ERROR) {
			(void)policy_diag_format(dg, first, sizeof(first));
			break;
		}
	policy_diags_free(diags);
	return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
	    "policy not usable: %s", first[0] ? first : err);
}

/* The login rules for the user's roles on this host and service. */
static int
decide(struct pgpam_ctx *c, const struct policy *pol, const struct dir_user *u,
    const char *via)
{
	struct policy_roleset roles;
	struct policy_decision dec;
	char rule[PGPAM_RULE_MAX], names[256];
	enum policy_verdict v;

	if (pg_access_login(pol, u, c->host, c->service, &roles, &dec) != PG_OK)
		return pgpam_set(c, "error", PAM_AUTHINFO_UNAVAIL, NULL,
		    "roles could not be mapped");
	v = dec.verdict;
	(void)snprintf(rule, sizeof(rule), "%s:%u",
	    dec.rule_file ? dec.rule_file : "?", dec.rule_line);
	(void)policy_roleset_names(pol, &roles, names, sizeof(names));
	if (v == POLICY_ALLOW)
		return pgpam_set(c, "success", PAM_SUCCESS, rule,
		    "%s (roles %s, host %s, via %s)", dec.reason, names,
		    c->host, via);
	return pgpam_set(c, v == POLICY_DENY ? "deny" : "error",
	    PAM_PERM_DENIED, rule, "%s (roles %s, host %s, via %s)", dec.reason,
	    names, c->host, via);
}

int
pgpam_account(struct pgpam_ctx *c)
{
	struct dir_user *u = NULL;
	struct policy *pol = NULL;
	char via[128] = "";
	int rc;

	if ((rc = check_lockout(c)) != 0)
		return rc;
	if ((rc = load_policy(c, &pol)) != PAM_SUCCESS)
		goto out;
	if ((rc = lookup(c, &u, via, sizeof(via))) != PAM_SUCCESS)
		goto out;
	if (u->locked) {
		rc = pgpam_set(c, "deny", PAM_PERM_DENIED, "directory.lockout",
		    "the directory marks the user as locked out (via %s)", via);
		goto out;
	}
	rc = decide(c, pol, u, via);
out:
	dir_user_free(u);
	policy_free(pol);
	return rc;
}
