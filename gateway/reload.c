/*
 * reload.c - the policy follows its file: a thread watches the file's
 * directory with libinotifytools and, when the file is closed after a
 * write or renamed into place, loads it again.  A policy that loads
 * replaces the one in force whole (gw_policy_set(): requests already
 * deciding finish with the old one); one that does not is refused with its
 * errors logged and audited, and the old one stays.  A half-written file
 * is not read until its writer closes it (IN_CLOSE_WRITE, not IN_MODIFY);
 * a deleted file changes nothing.
 */
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/base.h"
#include "access/access.h"
#include "gateway/reload.h"
#include "gateway/start.h"
#include "gateway/views.h"

#define EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)

static pthread_t reload_thread;
static atomic_bool reload_stop;
static bool reload_running;

static void
audit_reload(struct gw *g, const char *decision, const char *reason)
{
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = 0;
	rq.user = "gateway";
	rq.path = "";
	gw_audit(g, &rq, "gateway.policy_reload", decision, g->cfg->policy_file,
	    reason, -1);
}

int
gw_policy_load(struct gw *g, struct policy **p, char *why, size_t len)
{
	struct policy_diags *diags = NULL;
	char err[512], line[512];
	size_t i;
	int r;

	why[0] = '\0';
	r = pg_policy_load(g->cfg->policy_file, 1, p, &diags, err, sizeof(err));
	for (i = 0; i < policy_diags_count(diags); i++) {
		const struct policy_diag *d = policy_diags_get(diags, i);

		policy_diag_format(d, line, sizeof(line));
		if (d->severity == POLICY_DIAG_ERROR && why[0] == '\0')
			snprintf(why, len, "%s", line);
		gw_log(d->severity == POLICY_DIAG_ERROR ? LOG_ERR : LOG_WARNING,
		    "%s", line);
	}
	policy_diags_free(diags);
	if (r != 0 && why[0] == '\0')
		snprintf(why, len, "%s", err);
	return r;
}

int
gw_reload_policy(struct gw *g)
{
	struct policy *p = NULL;
	char why[512];
	int r;

	if ((r = gw_policy_load(g, &p, why, sizeof(why))) != 0) {
		gw_log(LOG_ERR,
		    "new policy %s refused; the old one stays in force: %s",
		    g->cfg->policy_file, why);
		audit_reload(g, "deny", why);
		return r;
	}
	if ((r = gw_policy_set(g, p)) != 0)
		return r;
	gw_views_kick(GW_VIEW_ALL, GW_VIEW_INVAL);
	gw_log(LOG_NOTICE, "policy %s reloaded", g->cfg->policy_file);
	audit_reload(g, "info", "policy reloaded");
	return 0;
}

static void *
reload_main(void *arg)
{
	struct gw *g = arg;
	char base[PATH_MAX];
	struct inotify_event *ev;

	snprintf(base, sizeof(base), "%s", g->cfg->policy_file);
	while (!atomic_load(&reload_stop)) {
		ev = inotifytools_next_event(1);
		if (ev == NULL || ev->len == 0 ||
		    strcmp(ev->name, basename(base)) != 0)
			continue;
		if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
			gw_log(LOG_WARNING,
			    "policy %s removed; the policy in "
			    "force stays",
			    g->cfg->policy_file);
			continue;
		}
		gw_reload_policy(g);
	}
	return NULL;
}

int
gw_reload_start(struct gw *g)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", g->cfg->policy_file);
	if (!inotifytools_initialize() ||
	    !inotifytools_watch_file(dirname(dir), EVENTS)) {
		gw_log(LOG_ERR, "cannot watch %s for policy changes",
		    g->cfg->policy_file);
		return -1;
	}
	atomic_store(&reload_stop, false);
	if (pthread_create(&reload_thread, NULL, reload_main, g) != 0)
		return -1;
	reload_running = true;
	return 0;
}

void
gw_reload_stop(void)
{
	if (!reload_running)
		return;
	atomic_store(&reload_stop, true);
	pthread_join(reload_thread, NULL);
	reload_running = false;
	inotifytools_cleanup();
}
