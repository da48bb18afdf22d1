/*
 * control.c - what the control socket's requests mean: `photoguard
 * status` (root sees everything, anyone else their own usage), `photoguard
 * breakglass` (breakglass.c) and, from root, the unlock that makes the
 * gateway ask the lockout store and the directory afresh rather than trust
 * a cached "locked" for the rest of its cache_ttl.  The caller is who the
 * kernel says (SO_PEERCRED), never what the request claims.  The protocol
 * is core/ctl/ctl.h, specified in docs/control-protocol.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "core/ctl/ctl.h"
#include "core/lockout/lockout.h"
#include "core/state/state.h"
#include "gateway/control.h"
#include "gateway/dirsync.h"
#include "gateway/limiter.h"
#include "gateway/start.h"
#include "gateway/views.h"

static void
usage_lines(FILE *f, struct gw_user *u)
{
	struct limiter_usage us[LIMITER_MAX_LIMITS];
	char desc[96];
	size_t i, n;

	fprintf(f, "user %s uid %lu: %d open, %s\n", u->name,
	    (unsigned long)u->uid, u->nopen,
	    atomic_load(&u->locked) ? "LOCKED" : "not locked");
	n = limiter_usage(u->lim, gw_now_ms(), us, LIMITER_MAX_LIMITS);
	for (i = 0; i < n && i < LIMITER_MAX_LIMITS; i++)
		fprintf(f, "  %-28s %llu used (%s:%u)\n",
		    limiter_describe(&us[i].limit, desc, sizeof(desc)),
		    (unsigned long long)us[i].value,
		    us[i].limit.rule_file ? us[i].limit.rule_file : "?",
		    us[i].limit.rule_line);
	for (i = 0; i < u->ngrants; i++)
		if (u->grants[i].until > time(NULL))
			fprintf(f, "  break-glass %s for %lds more\n",
			    u->grants[i].patient,
			    (long)(u->grants[i].until - time(NULL)));
}

static void
status(struct gw *g, uid_t uid, FILE *f)
{
	char why[512];
	struct lockout_entry *le = NULL;
	struct gw_user *u;
	size_t b, n = 0, i;

	ctl_reply_ok(f);
	if (uid == 0)
		fprintf(f, "store: %s\nmount: %s\npolicy: %s (version %llu)\n",
		    g->cfg->store_root, g->mountpoint, g->cfg->policy_file,
		    (unsigned long long)g->policy_gen);
	if (uid == 0)
		fprintf(f,
		    "directory watch: %s\nviews: %zu\nview threads: %zu\n",
		    gw_dirsync_describe(g, why, sizeof(why)), gw_views_live(),
		    gw_view_threads());
	pthread_mutex_lock(&g->users_mu);
	for (b = 0; b < sizeof(g->users) / sizeof(g->users[0]); b++)
		for (u = g->users[b]; u != NULL; u = u->next) {
			if (!u->known || (uid != 0 && u->uid != uid))
				continue;
			pthread_mutex_lock(&u->mu);
			usage_lines(f, u);
			pthread_mutex_unlock(&u->mu);
		}
	pthread_mutex_unlock(&g->users_mu);
	if (uid != 0 || lockout_list(g->lockouts, &le, &n) != 0)
		return;
	fprintf(f, "lockouts: %zu\n", n);
	for (i = 0; i < n; i++)
		fprintf(f, "  %s since %lld by %s: %s (%s)\n", le[i].user,
		    (long long)le[i].since, le[i].by ? le[i].by : "-",
		    le[i].reason ? le[i].reason : "-",
		    le[i].rule ? le[i].rule : "-");
	lockout_entries_free(le, n);
}

/* S as a JSON string; bytes that are not UTF-8 (a name from NSS can be
 * anything) as '?'.  NULL: null. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *c;
	size_t i;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL || (c = strdup(s)) == NULL)
		return j;
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

static const char *const kinds[] = {
	[POLICY_LIMIT_REFUSE] = "limit", [POLICY_LIMIT_LOCKOUT] = "lockout"
};
static const char *const metrics[] = { [POLICY_METRIC_FILES] = "files",
	[POLICY_METRIC_BYTES] = "bytes",
	[POLICY_METRIC_PATIENTS] = "patients" };

/* U's usage as a JSON object; with U->mu held. */
static json_t *
usage_json(struct gw_user *u)
{
	struct limiter_usage us[LIMITER_MAX_LIMITS];
	json_t *o, *lims, *bg, *l;
	time_t now = time(NULL);
	char rule[POLICY_PATH_MAX + 16];
	size_t i, n;
	int bad;

	o = json_object();
	lims = json_array();
	bg = json_array();
	if (o == NULL || lims == NULL || bg == NULL)
		goto fail;
	bad = json_object_set_new(o, "user", jstr(u->name));
	bad |= json_object_set_new(o, "uid", json_integer(u->uid));
	bad |= json_object_set_new(o, "open", json_integer(u->nopen));
	bad |= json_object_set_new(
	    o, "locked", json_boolean(atomic_load(&u->locked)));
	n = limiter_usage(u->lim, gw_now_ms(), us, LIMITER_MAX_LIMITS);
	for (i = 0; i < n && i < LIMITER_MAX_LIMITS; i++) {
		snprintf(rule, sizeof(rule), "%s:%u",
		    us[i].limit.rule_file ? us[i].limit.rule_file : "?",
		    us[i].limit.rule_line);
		l = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "kind",
		    kinds[us[i].limit.kind], "metric",
		    metrics[us[i].limit.metric], "max",
		    (json_int_t)us[i].limit.max, "window_seconds",
		    (json_int_t)us[i].limit.window, "used",
		    (json_int_t)us[i].value, "rule", jstr(rule));
		bad |= l == NULL || json_array_append_new(lims, l) != 0;
	}
	for (i = 0; i < u->ngrants; i++)
		if (u->grants[i].until > now) {
			l = json_pack("{s:o,s:I}", "patient",
			    jstr(u->grants[i].patient), "seconds_left",
			    (json_int_t)(u->grants[i].until - now));
			bad |= l == NULL || json_array_append_new(bg, l) != 0;
		}
	bad |= json_object_set_new(o, "limits", lims);
	bad |= json_object_set_new(o, "breakglass", bg);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(o);
	json_decref(lims);
	json_decref(bg);
	return NULL;
}

/* T as photoguard lockouts --json shows it. */
static const char *
iso_utc(time_t t, char *buf, size_t len)
{
	if (pg_utc(t, PG_TIME_ISO, buf, len) != PG_OK)
		snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}

/* What status() says, as one JSON object. */
static void
status_json(struct gw *g, uid_t uid, FILE *f)
{
	char why[512];
	struct lockout_entry *le = NULL;
	json_t *o = json_object(), *users = json_array(), *locks, *e;
	char since[32];
	struct gw_user *u;
	size_t b, n = 0, i;
	int bad = o == NULL || users == NULL;

	if (!bad && uid == 0)
		bad =
		    json_object_set_new(o, "store", jstr(g->cfg->store_root)) |
		    json_object_set_new(o, "mount", jstr(g->mountpoint)) |
		    json_object_set_new(
		        o, "views", json_integer((json_int_t)gw_views_live())) |
		    json_object_set_new(o, "view_threads",
		        json_integer((json_int_t)gw_view_threads())) |
		    json_object_set_new(o, "policy",
		        json_pack("{s:o,s:I}", "file",
		            jstr(g->cfg->policy_file), "version",
		            (json_int_t)g->policy_gen)) |
		    json_object_set_new(o, "counters",
		        json_pack("{s:I,s:I,s:I}", "opens_allowed",
		            (json_int_t)atomic_load(&g->opens_allowed),
		            "opens_denied",
		            (json_int_t)atomic_load(&g->opens_denied),
		            "started", (json_int_t)g->started)) |
		    json_object_set_new(o, "directory_watch",
		        json_pack("{s:s,s:o}", "state",
		            gw_watch_state_name(gw_dirsync_state(NULL, 0)),
		            "detail",
		            jstr(gw_dirsync_describe(g, why, sizeof(why)))));
	pthread_mutex_lock(&g->users_mu);
	for (b = 0; !bad && b < sizeof(g->users) / sizeof(g->users[0]); b++)
		for (u = g->users[b]; !bad && u != NULL; u = u->next) {
			if (!u->known || (uid != 0 && u->uid != uid))
				continue;
			pthread_mutex_lock(&u->mu);
			e = usage_json(u);
			pthread_mutex_unlock(&u->mu);
			bad = e == NULL || json_array_append_new(users, e) != 0;
		}
	pthread_mutex_unlock(&g->users_mu);
	if (!bad)
		bad = json_object_set(o, "users", users) != 0;
	if (!bad && uid == 0) {
		if (lockout_list(g->lockouts, &le, &n) != 0) {
			bad = 1;
		} else if ((locks = json_array()) == NULL) {
			bad = 1;
		} else {
			for (i = 0; i < n && !bad; i++) {
				e = json_pack(
				    "{s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "user",
				    jstr(le[i].user), "since",
				    jstr(iso_utc(
				        le[i].since, since, sizeof(since))),
				    "since_epoch", (json_int_t)le[i].since,
				    "by", jstr(le[i].by), "host",
				    jstr(le[i].host), "rule", jstr(le[i].rule),
				    "reason", jstr(le[i].reason), "extra",
				    jstr(le[i].extra));
				bad = e == NULL ||
				    json_array_append_new(locks, e) != 0;
			}
			bad |= json_object_set_new(o, "lockouts", locks) != 0;
			lockout_entries_free(le, n);
		}
	}
	if (bad)
		ctl_reply_error(f,
		    "cannot build the status (out of memory, or the lockout "
		    "store unreadable)");
	else if (ctl_reply_ok(f) == 0 &&
	    json_dumpf(o, f, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0)
		fputc('\n', f);
	json_decref(users);
	json_decref(o);
}

static void
unlock_user(struct gw *g, uid_t uid, const char *name, FILE *f)
{
	struct gw_user *u;
	size_t b;

	if (uid != 0) {
		ctl_reply_error(f, "only root may unlock an account");
		return;
	}
	dir_flush_cache(g->dir);
	pthread_mutex_lock(&g->users_mu);
	for (b = 0; b < sizeof(g->users) / sizeof(g->users[0]); b++)
		for (u = g->users[b]; u != NULL; u = u->next) {
			if (!u->known || strcmp(u->name, name) != 0)
				continue;
			pthread_mutex_lock(&u->mu);
			dir_user_free(u->du);
			u->du = NULL;
			pthread_mutex_unlock(&u->mu);
		}
	pthread_mutex_unlock(&g->users_mu);
	ctl_reply_ok(f);
}

void
gw_control_answer(
    struct gw *g, uid_t uid, pid_t pid, const struct ctl_request *rq, FILE *f)
{
	switch (rq->verb) {
	case CTL_STATUS:
		status(g, uid, f);
		break;
	case CTL_STATUS_JSON:
		status_json(g, uid, f);
		break;
	case CTL_BREAKGLASS:
		gw_breakglass(g, uid, pid, rq->arg, rq->text, f);
		break;
	case CTL_UNLOCK:
		unlock_user(g, uid, rq->arg, f);
		break;
	default: /* a verb ctl.h has and this gateway does not serve */
		ctl_reply_error(f, "request not served by this gateway");
		break;
	}
}
