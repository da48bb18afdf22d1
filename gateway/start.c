/*
 * start.c - the gateway's start and stop.  Fail closed: no configuration,
 * no policy that loads, a store others may read, no directory client, no
 * lockout store or no writable audit log -- each stops the start with a
 * line that says which and why; nothing is served half-checked.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/audit/audit.h"
#include "core/dir/dir.h"
#include "base/base.h"
#include "core/lockout/lockout.h"
#include "access/access.h"
#include "gateway/backing.h"
#include "gateway/budget.h"
#include "gateway/limiter.h"
#include "gateway/mountpoint.h"
#include "gateway/privsep.h"
#include "gateway/reload.h"
#include "gateway/start.h"

#define PW_BUF_MAX 16384

void
gw_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

static int
load_policy(struct gw *g)
{
	struct policy *p = NULL;
	char why[512];

	if (gw_policy_load(g, &p, why, sizeof(why)) != 0) {
		gw_log(LOG_ERR,
		    "policy %s does not load: nothing can be decided: %s",
		    g->cfg->policy_file, why);
		return -1;
	}
	return gw_policy_set(g, p) == 0 ? 0 : -1;
}

static int
open_store(struct gw *g)
{
	struct passwd pw, *res = NULL;
	char buf[PW_BUF_MAX];
	int r;

	if (getpwnam_r(g->cfg->store_user, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL) {
		gw_log(LOG_ERR,
		    "[store] user %s does not exist: create the "
		    "service user that owns the store",
		    g->cfg->store_user);
		return -1;
	}
	r = backing_open_root(g->cfg->store_root, pw.pw_uid, &g->store);
	if (r == -EPERM) {
		gw_log(LOG_ERR,
		    "store %s must belong to %s and have mode 0700 "
		    "(the mount must be the only way in)",
		    g->cfg->store_root, g->cfg->store_user);
		return -1;
	}
	if (r != 0) {
		gw_log(
		    LOG_ERR, "store %s: %s", g->cfg->store_root, strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * This gateway's name in its leases: the host name (cut to what a lease
 * allows) and a random tag, so two gateways on one host, or a gateway
 * and its successor after a restart, never take each other's leases.
 */
static int
budget_owner(char *buf, size_t len)
{
	char host[256] = "";
	unsigned char tag[8];
	char hex[2 * sizeof(tag) + 1];
	size_t i, o = 0;

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	for (i = 0; host[i] != '\0' && o < 40; i++) {
		char c = host[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-')
			buf[o++] = c;
		else if (c == '.')
			break; /* the short name is enough */
	}
	if (o == 0)
		buf[o++] = 'h';
	randombytes_buf(tag, sizeof(tag));
	sodium_bin2hex(hex, sizeof(hex), tag, sizeof(tag));
	return snprintf(buf + o, len - o, ".%s", hex) < (int)(len - o) ? 0 : -1;
}

static int
open_services(struct gw *g)
{
	struct audit_log *a = NULL;
	int r;

	if ((r = dir_open(g->cfg, &g->dir)) != 0) {
		gw_log(LOG_ERR, "directory: %s", pg_strerror(r));
		return -1;
	}
	if (g->cfg->lockout_budget == PG_BUDGET_DIRECTORY &&
	    budget_owner(g->budget_owner, sizeof(g->budget_owner)) != 0) {
		gw_log(LOG_ERR, "budget: no name for this gateway's leases");
		return -1;
	}
	r = lockout_open(
	    g->cfg->lockout_dir, LOCKOUT_OPEN_CREATE, &g->lockouts);
	if (r != 0) {
		gw_log(LOG_ERR, "lockout store %s: %s", g->cfg->lockout_dir,
		    pg_strerror(r));
		return -1;
	}
	if (gw_privsep_prepare(g) != 0)
		return -1;
	if ((r = audit_open(g->cfg, "gateway", &a)) != 0) {
		gw_log(LOG_ERR, "audit log %s: %s", g->cfg->audit_log,
		    pg_strerror(r));
		return -1;
	}
	audit_free(a);
	return 0;
}

int
gw_start(struct gw *g, const char *config, const char *mountpoint)
{
	char err[512];

	g->started = time(NULL);
	if (pg_config_load(config, &g->cfg, err, sizeof(err)) != 0) {
		gw_log(LOG_ERR, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < g->cfg->nwarnings; i++)
		gw_log(LOG_WARNING, "%s", g->cfg->warnings[i]);
	if (load_policy(g) != 0 || open_store(g) != 0 || open_services(g) != 0)
		return -1;
	mountpoint = mountpoint ? mountpoint : g->cfg->store_mountpoint;
	if (mountpoint == NULL) {
		gw_log(LOG_ERR, "no mount point: set [store] mountpoint");
		return -1;
	}
	if (gw_mountpoint_prepare(mountpoint) != 0)
		return -1;
	if ((g->mountpoint = strdup(mountpoint)) == NULL)
		return -1;
	return 0;
}

static void
audit_info(struct gw *g, const char *event, const char *reason)
{
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = getuid();
	rq.pid = getpid();
	rq.user = "gateway";
	rq.path = "";
	gw_audit(g, &rq, event, "info", g->cfg->policy_file, reason, -1);
}

int
gw_start_audit(struct gw *g)
{
	int r;

	/* The worker answers every user's requests: its signing key lives
	 * in a signer process of its own (core/audit/audit_signer.c). */
	if ((r = audit_open_signer(g->cfg, "gateway", &g->audit)) != 0) {
		gw_log(LOG_ERR, "audit log %s: %s", g->cfg->audit_log,
		    pg_strerror(r));
		return -1;
	}
	audit_info(g, "gateway.start", g->mountpoint);
	return 0;
}

void
gw_stop_audit(struct gw *g)
{
	if (g->audit == NULL)
		return;
	audit_info(g, "gateway.stop", g->mountpoint);
	audit_close(g->audit);
	g->audit = NULL;
}

static void
free_users(struct gw *g)
{
	struct gw_user *u, *next;
	size_t b;

	for (b = 0; b < sizeof(g->users) / sizeof(g->users[0]); b++) {
		for (u = g->users[b]; u != NULL; u = next) {
			next = u->next;
			dir_user_free(u->du);
			limiter_free(u->lim);
			/* What was not spent goes back to the clinic now,
			 * not when the leases age out. */
			if (u->bud != NULL && u->known &&
			    budget_release(u->bud, u->name, budget_now_ms()) !=
			        0)
				gw_log(LOG_WARNING,
				    "budget: leases of %s not ended; they "
				    "age out",
				    u->name);
			budget_free(u->bud);
			pthread_mutex_destroy(&u->mu);
			free(u);
		}
		g->users[b] = NULL;
	}
}

void
gw_wait_lock_workers(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000 && atomic_load(&gw_lock_workers) > 0; i++)
		nanosleep(&ts, NULL);
}

void
gw_teardown(struct gw *g)
{
	/* Lockout workers finish their directory write and hook. */
	gw_wait_lock_workers();
	if (g->audit != NULL)
		audit_close(g->audit);
	g->audit = NULL;
	free_users(g);
	gw_held_free(g);
	gw_policy_put(g->policy);
	g->policy = NULL;
	dir_free(g->dir);
	lockout_free(g->lockouts);
	backing_free(g->store);
	pg_config_free(g->cfg);
	free(g->mountpoint);
}
