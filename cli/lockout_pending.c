/*
 * lockout_pending.c - `photoguard lockouts` and the directory: the queue
 * of directory lockouts not yet written, and the offline cache kept in
 * step with the directory's locks.  See lockout_pending.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/lockout_pending.h"
#include "cli/timearg.h"
#include "cli/util.h"
#include "core/dir/dir.h"
#include "base/base.h"
#include "core/state/state.h"

int
cli_pending_sync(const struct pg_config *cfg, struct lockout_store *st,
    struct lockout_pending **v, size_t *n)
{
	struct dir *d = NULL;
	size_t left = 0;
	int r;

	*v = NULL;
	*n = 0;
	/* Unreachable or not: entries of lifted lockouts are dropped. */
	if (dir_open(cfg, &d) != PG_OK)
		d = NULL;
	r = lockout_pending_retry(st, d, time(NULL), &left);
	dir_free(d);
	if (r != PG_OK && r != PG_ERR_CORRUPT && r != PG_ERR_PERM)
		r = PG_OK; /* a failed try stays queued: listed below */
	if (r == PG_OK)
		r = lockout_pending_list(st, v, n);
	return r;
}

size_t
cli_pending_mark_cache(const char *progname, const struct pg_config *cfg,
    char *const *users, size_t n)
{
	char esc[4 * LOCKOUT_USER_MAX + 1];
	size_t i, bad = 0;
	int r;

	if (cfg->dir_offline_cache_dir == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		r = offline_cache_mark_locked(
		    cfg->dir_offline_cache_dir, users[i]);
		if (r == PG_OK || r == PG_ERR_INVAL)
			continue; /* a name the cache cannot hold has no entry
			           */
		fprintf(stderr,
		    "%s: offline cache entry of %s not marked locked: %s\n",
		    progname,
		    cli_escape(users[i], esc, sizeof(esc), CLI_ESC_BACKSLASH),
		    pg_strerror(r));
		bad++;
	}
	return bad;
}

void
cli_pending_print(const struct lockout_pending *v, size_t n, bool local)
{
	char u[4 * LOCKOUT_USER_MAX + 1], e[4 * LOCKOUT_PENDING_ERR_MAX + 1];
	char since[CLI_TIME_LEN];
	int w = local ? 25 : 20;
	size_t i;

	if (n == 0)
		return;
	printf("\nPENDING: not yet written to the directory (retried "
	       "whenever it answers)\n");
	printf("%-20s %-*s %-6s %s\n", "USER", w,
	    local ? "SINCE (local)" : "SINCE (UTC)", "TRIES", "LAST ERROR");
	for (i = 0; i < n; i++) {
		if (local)
			cli_time_local_t(v[i].since, since, sizeof(since));
		else if (pg_utc(v[i].since, PG_TIME_ISO, since,
		             sizeof(since)) != PG_OK)
			snprintf(since, sizeof(since), "@%lld",
			    (long long)v[i].since);
		printf("%-20s %-*s %-6u %s\n",
		    cli_escape(v[i].user, u, sizeof(u), CLI_ESC_BACKSLASH), w,
		    since, v[i].tries,
		    cli_escape(v[i].error, e, sizeof(e), CLI_ESC_BACKSLASH));
	}
}

const struct lockout_pending *
cli_pending_find(const struct lockout_pending *v, size_t n, const char *user)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].user, user) == 0)
			return &v[i];
	return NULL;
}
