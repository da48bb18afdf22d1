/*
 * admin_audit.c - audit records of the admin verbs (admin_audit.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/admin_audit.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "core/config/config.h"
#include "base/base.h"

int
cli_audit_load(const struct cli_ctx *ctx, struct cli_audit *a)
{
	const char *path = ctx->config_path != NULL ? ctx->config_path
	                                            : pg_config_default_path();
	struct stat st;

	a->cfg = NULL;
	a->log = NULL;
	/* No file: no audit log to write (tests, a staged tree).  Anything
	 * else that stops the file from loading is an error. */
	if (stat(path, &st) != 0 && errno == ENOENT)
		return CLI_EXIT_OK;
	if ((a->cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	return CLI_EXIT_OK;
}

int
cli_audit_open(
    const struct cli_ctx *ctx, struct cli_audit *a, const char *refusal)
{
	int r;

	if (a->cfg == NULL || a->log != NULL)
		return CLI_EXIT_OK;
	if ((r = audit_open(a->cfg, "cli", &a->log)) != PG_OK) {
		fprintf(stderr, "%s: audit log %s: %s; %s\n", ctx->progname,
		    a->cfg->audit_log != NULL ? a->cfg->audit_log : "(none)",
		    pg_strerror(r), refusal);
		a->log = NULL;
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

bool
cli_audit_on(const struct cli_audit *a)
{
	return a->log != NULL;
}

int
cli_audit_record(struct cli_audit *a, const char *event, const char *object,
    const char *decision, const char *reason)
{
	struct audit_event ev;
	char who[300];

	if (a->log == NULL)
		return PG_OK;
	audit_event_init(&ev);
	ev.uid = (long)getuid();
	cli_invoker(who, sizeof(who));
	ev.actor = who;
	ev.event = event;
	ev.object = object;
	ev.decision = decision;
	ev.reason = reason;
	ev.pid = (long)getpid();
	ev.process = "photoguard";
	return audit_write(a->log, &ev);
}

int
cli_audit_end(struct cli_audit *a)
{
	int r = audit_close(a->log);

	a->log = NULL;
	pg_config_free(a->cfg);
	a->cfg = NULL;
	return r;
}

/* PATH with its directory resolved, in BUF (PATH_MAX); false if not. */
static bool
resolve(const char *path, char *buf)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base;
	size_t n;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
		base = path;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return false;
		memcpy(dir, path, n);
		dir[n] = '\0';
		base = slash + 1;
	}
	if (*base == '\0' || realpath(dir, real) == NULL)
		return false;
	return snprintf(buf, PATH_MAX, "%s/%s", real, base) < PATH_MAX;
}

bool
cli_same_path(const char *path, const char *other)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (path == NULL || other == NULL)
		return false;
	if (strcmp(path, other) == 0)
		return true;
	return resolve(path, a) && resolve(other, b) && strcmp(a, b) == 0;
}
