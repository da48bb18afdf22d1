/*
 * lock.c - locking an account out.  What must hold at once (the user's
 * flag, the lockout store, the audit record, dropping the pages of their
 * open files) happens in the request that crossed the threshold; the
 * directory write and the hook follow on a worker thread.  The hook's
 * environment: photoguard-gateway(8) and docs/gateway.md.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "core/lockout/lockout.h"
#include "core/state/state.h"
#include "core/totp/totp.h"
#include "gateway/gw.h"
#include "gateway/start.h"
#include "gateway/views.h"

#define PW_BUF_MAX 16384

struct lock_job {
	struct gw *g;
	char user[GW_USER_MAX];
	struct lockout_hook_env env;
};

atomic_int gw_lock_workers;

/* Copies S into BUF, anything unprintable as '?', for syslog lines. */
static const char *
plain(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

void
gw_run_hook(struct gw *g, const struct lockout_hook_env *e)
{
	struct lockout_hook_opts o = { 0 };
	char why[512];

	if (g->cfg->lockout_hook == NULL)
		return;
	/* The worker is the service user already. */
	o.timeout_s = (unsigned)g->cfg->lockout_hook_timeout_s;
	o.uid = (uid_t)-1;
	o.gid = (gid_t)-1;
	o.ident = "photoguard-gateway";
	if (lockout_hook_run(g->cfg->lockout_hook, e, &o, why, sizeof(why)) !=
	    0)
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard-gateway: lockout hook %s not run: %s",
		    g->cfg->lockout_hook, why);
}

static void *
lock_worker(void *arg)
{
	struct lock_job *j = arg;
	int r, q = -1;

	if (j->user[0] != '\0' && dir_can_lock(j->g->dir) &&
	    !dir_can_set_lock(j->g->dir)) {
		/* Active Directory's lockoutTime: a client may only clear
		 * it, so a queued write would alert for ever. */
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard-gateway: lockout of %s held on this server "
		    "only: the directory's %s takes no lock from a client; "
		    "lock the account in the directory",
		    j->user, j->g->cfg->dir_lockout_attr);
	} else if (j->user[0] != '\0' && dir_can_lock(j->g->dir)) {
		r = dir_set_locked(j->g->dir, j->user, strlen(j->user), true);
		/* Queued: retried by dirsync.c and by whoever reaches the
		 * directory next, alerted until it lands. */
		if (r != 0)
			q = lockout_pending_add(j->g->lockouts, j->user,
			    time(NULL), pg_strerror(r));
		if (r != 0)
			syslog(LOG_AUTHPRIV | LOG_ALERT,
			    "photoguard-gateway: could not set "
			    "the directory lockout of %s: %s; %s",
			    j->user, pg_strerror(r),
			    q == 0 ? "queued for retry" : "NOT queued");
	}
	gw_run_hook(j->g, &j->env);
	free(j);
	atomic_fetch_sub(&gw_lock_workers, 1);
	return NULL;
}

static void
job_env(struct lock_job *j, const char *rule, const char *reason,
    unsigned long long files, unsigned long long bytes,
    unsigned long long patients)
{
	char n[3][24];

	snprintf(n[0], sizeof(n[0]), "%llu", files);
	snprintf(n[1], sizeof(n[1]), "%llu", bytes);
	snprintf(n[2], sizeof(n[2]), "%llu", patients);
	lockout_hook_env_init(&j->env, "lockout", "gateway");
	lockout_hook_env_set(&j->env, "PHOTOGUARD_USER", j->user);
	lockout_hook_env_set(&j->env, "PHOTOGUARD_RULE", rule);
	lockout_hook_env_set(&j->env, "PHOTOGUARD_REASON", reason);
	lockout_hook_env_set(&j->env, "PHOTOGUARD_FILES", n[0]);
	lockout_hook_env_set(&j->env, "PHOTOGUARD_BYTES", n[1]);
	lockout_hook_env_set(&j->env, "PHOTOGUARD_PATIENTS", n[2]);
}

static void
spawn_worker(struct lock_job *j)
{
	pthread_attr_t at;
	pthread_t t;

	atomic_fetch_add(&gw_lock_workers, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, lock_worker, j) != 0)
		lock_worker(j); /* no thread: do it here, late but done */
	pthread_attr_destroy(&at);
}

/* The slow part, on its own thread; with U->mu held. */
static void
start_worker(struct gw *g, struct gw_user *u, const char *rule,
    const char *reason, unsigned long long files, unsigned long long bytes,
    unsigned long long patients)
{
	struct lock_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	j->g = g;
	memcpy(j->user, u->name, sizeof(j->user));
	job_env(j, rule, reason, files, bytes, patients);
	spawn_worker(j);
}

/* Set while the audit log refuses records; cleared by the next record it
 * takes, so that one outage alerts once, not once per refused open. */
static atomic_bool audit_failing;

void
gw_audit_failed(struct gw *g, int err)
{
	struct lock_job *j;
	char why[256];

	if (err == 0) {
		atomic_store(&audit_failing, false);
		return;
	}
	if (atomic_exchange(&audit_failing, true))
		return;
	syslog(LOG_AUTHPRIV | LOG_ALERT,
	    "photoguard-gateway: ALERT: the audit log %s refuses records (%s): "
	    "every open is refused until an admin repairs it",
	    g->cfg->audit_log, pg_strerror(err));
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->g = g; /* j->user stays empty: no directory lockout */
	snprintf(why, sizeof(why), "the audit log refuses records: %s",
	    pg_strerror(err));
	lockout_hook_env_init(&j->env, "audit.failure", "gateway");
	lockout_hook_env_set(&j->env, "PHOTOGUARD_REASON", why);
	spawn_worker(j);
}

/* NAME's uid on this host, for its audit records ((uid_t)-1: none). */
static uid_t
uid_of(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[PW_BUF_MAX];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return (uid_t)-1;
	return pw.pw_uid;
}

/* Removes NAME's MFA ticket, alerting when it cannot. */
static void
drop_ticket_of(struct gw *g, const char *name)
{
	char pu[GW_USER_MAX];
	int r;

	r = mfa_ticket_remove(g->cfg->totp_ticket_dir, name);
	if (r != PG_OK)
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard-gateway: MFA ticket of locked-out %s "
		    "not removed: %s",
		    plain(name, pu, sizeof(pu)), pg_strerror(r));
}

void
gw_drop_ticket(struct gw *g, struct gw_user *u)
{
	drop_ticket_of(g, u->name);
}

void
gw_user_revoke(struct gw *g, struct gw_user *u)
{
	atomic_store(&u->locked, true);
	gw_held_lock_user(g, u);
	gw_drop_ticket(g, u);
	/* U's own views end: their caches would serve what is refused. */
	gw_views_kick(u->uid, GW_VIEW_ABORT);
}

void
gw_lock_user(struct gw *g, struct gw_user *u, const char *rule,
    const char *reason, unsigned long long files, unsigned long long bytes,
    unsigned long long patients)
{
	struct lockout_entry e;
	struct gw_req rq;
	char extra[128], pu[GW_USER_MAX], pr[256];
	bool already = false;
	int r;

	if (atomic_load(&u->locked) && !u->lock_unsaved)
		return; /* done already */
	gw_user_revoke(g, u);
	snprintf(extra, sizeof(extra), "files=%llu bytes=%llu patients=%llu",
	    files, bytes, patients);
	memset(&e, 0, sizeof(e));
	e.user = u->name;
	e.reason = reason;
	e.rule = rule;
	e.by = "gateway";
	e.extra = extra;
	r = lockout_lock(g->lockouts, &e, &already);
	u->lock_unsaved = r != 0;
	syslog(LOG_AUTHPRIV | LOG_ALERT,
	    "photoguard-gateway: LOCKOUT of %s: %s (%s)%s",
	    plain(u->name, pu, sizeof(pu)), plain(reason, pr, sizeof(pr)), rule,
	    r != 0 ? "; the lockout store refused it" : "");
	memset(&rq, 0, sizeof(rq));
	rq.uid = u->uid;
	rq.user = u->name;
	gw_audit(g, &rq, "lockout.lock", "deny", rule, reason, -1);
	start_worker(g, u, rule, reason, files, bytes, patients);
}

void
gw_lock_copy(struct gw *g, const char *user, const char *value, time_t since)
{
	struct gw_user *us[GW_NAMED_MAX];
	struct lockout_entry e;
	struct gw_req rq;
	char reason[160], pu[GW_USER_MAX];
	bool already = false;
	size_t n, i;
	int r;

	memset(&e, 0, sizeof(e));
	e.user = user;
	e.since = since;
	e.reason = "locked in the directory (another server)";
	e.rule = g->cfg->dir_lockout_attr;
	e.by = "directory";
	e.extra = value != NULL && value[0] != '\0' ? value : NULL;
	e.origin = LOCKOUT_ORIGIN_DIRECTORY;
	r = lockout_lock(g->lockouts, &e, &already);
	/* Each of the user's states here, as a local lockout does it: with
	 * the copy in the store, the check finds it and revokes; without
	 * (the store refused it), the flag holds it. */
	n = gw_users_named(g, user, us, GW_NAMED_MAX);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&us[i]->mu);
		if (us[i]->known && strcmp(us[i]->name, user) == 0) {
			dir_user_free(us[i]->du);
			us[i]->du = NULL;
			if (r != 0 || gw_user_check_lock(g, us[i]) != 1) {
				gw_user_revoke(g, us[i]);
				us[i]->lock_unsaved = true;
			}
		}
		pthread_mutex_unlock(&us[i]->mu);
	}
	if (r == 0 && already)
		return; /* held here already: nothing new to record */
	drop_ticket_of(g, user);
	syslog(LOG_AUTHPRIV | (r != 0 ? LOG_ALERT : LOG_WARNING),
	    "photoguard-gateway: lockout of %s from the directory (set on "
	    "another server)%s",
	    plain(user, pu, sizeof(pu)),
	    r != 0 ? "; the lockout store refused the copy: held in memory"
	           : "");
	snprintf(reason, sizeof(reason),
	    "origin=directory: locked in the directory (%s %s)",
	    g->cfg->dir_lockout_attr, e.extra != NULL ? e.extra : "set");
	memset(&rq, 0, sizeof(rq));
	rq.uid = n > 0 ? us[0]->uid : uid_of(user);
	rq.user = user;
	gw_audit(
	    g, &rq, "lockout.lock", "deny", "directory.lockout", reason, -1);
}

void
gw_unlock_copy(struct gw *g, const char *user, bool live)
{
	struct gw_user *us[GW_NAMED_MAX];
	struct gw_req rq;
	bool lifted = false;
	size_t n, i;
	int r;

	r = lockout_sync_unlock(g->lockouts, user, live, &lifted);
	if (r != PG_OK)
		gw_log(LOG_ALERT,
		    "the directory no longer marks %s locked, but the lockout "
		    "store cannot say what it holds: %s; %s stays as it is",
		    user, pg_strerror(r), user);
	/* Each of the user's states here asks the store again, as after
	 * an admin's unlock on this host; a cached directory answer that
	 * still says "locked" is dropped. */
	n = gw_users_named(g, user, us, GW_NAMED_MAX);
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&us[i]->mu);
		if (us[i]->known && strcmp(us[i]->name, user) == 0) {
			dir_user_free(us[i]->du);
			us[i]->du = NULL;
			(void)gw_user_check_lock(g, us[i]);
		}
		pthread_mutex_unlock(&us[i]->mu);
	}
	if (!lifted)
		return;
	gw_log(LOG_NOTICE,
	    "lockout of %s lifted: the directory no longer marks it (%s)", user,
	    live ? "unlocked on another server" : "seen at a refresh");
	memset(&rq, 0, sizeof(rq));
	rq.uid = n > 0 ? us[0]->uid : uid_of(user);
	rq.user = user;
	gw_audit(g, &rq, "lockout.unlock", "allow", "directory.lockout",
	    live ? "origin=directory: unlocked in the directory (on another "
	           "server)"
	         : "origin=directory: no longer locked in the directory "
	           "(seen when the watch reconnected)",
	    -1);
}
