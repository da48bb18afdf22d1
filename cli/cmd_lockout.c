/*
 * cmd_lockout.c - `photoguard lockouts` (who is locked out, and why) and
 * `photoguard unlock USER` (lift a lockout everywhere; audited).  Both read
 * the same lockout store as the PAM module and the gateway (core/lockout/);
 * unlock also removes the directory's lockout attribute (core/dir/).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/admin_audit.h"
#include "cli/cmd_lockout.h"
#include "cli/cmd_gateway.h"
#include "cli/lockout_pending.h"
#include "cli/timearg.h"
#include "cli/util.h"
#include "core/config/config.h"
#include "core/ctl/ctl.h"
#include "core/audit/audit.h"
#include "core/dir/dir.h"
#include "base/base.h"
#include "core/state/state.h"
#include "core/lockout/lockout.h"
#include "core/totp/totp.h"

/* Escaped text is at most 4 bytes per input byte. */
#define ESC_MAX (4 * LOCKOUT_TEXT_MAX + 1)

static const char lockouts_help[] =
    "Usage: photoguard lockouts [--json | --local] [--dir DIR]\n"
    "List the users who are locked out: user, since (UTC), by, host,\n"
    "rule, reason.  With [directory] lockout_attribute, also those the\n"
    "directory marks locked and this store does not hold (locked by\n"
    "another server: by \"directory\"); exit 3 if the directory cannot\n"
    "be asked (the store's list is printed all the same).  Lockouts\n"
    "this host could not write to the directory are written now, and\n"
    "those that still cannot be are listed as PENDING (exit 3); every\n"
    "user the directory marks locked is marked so in the offline cache.\n"
    "  --json     one JSON array instead of a table\n"
    "  --local    the table's times in local time (TZ), with their\n"
    "             offset; the default and --json are UTC\n"
    "  --dir DIR  the lockout directory (default: [lockout] dir; the\n"
    "             directory is then not asked)\n";

static const char unlock_help[] =
    "Usage: photoguard unlock [--dir DIR] USER\n"
    "Lift USER's lockout everywhere (the lockout store and, with\n"
    "[directory] lockout_attribute, the directory) and reset their failure\n"
    "count.  Audited.  Exits 1 if USER was not locked out.\n"
    "  --dir DIR  the lockout directory (default: [lockout] dir)\n";

/* Backslashes too, so a user name cannot forge lines on a terminal. */
static const char *
escape(const char *s, char *buf, size_t len)
{
	return cli_escape(s, buf, len, CLI_ESC_BACKSLASH);
}

static void
iso_utc(time_t t, char *buf, size_t len)
{
	if (pg_utc(t, PG_TIME_ISO, buf, len) != PG_OK)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* The lockout directory: --dir, else the configuration's. */
static int
open_store(
    const struct cli_ctx *ctx, const char *dir, struct lockout_store **st)
{
	struct pg_config *cfg = NULL;
	int r;

	if (dir == NULL) {
		if ((cfg = cli_load_config(ctx)) == NULL)
			return CLI_EXIT_ERROR;
		dir = cfg->lockout_dir;
	}
	if ((r = lockout_open(dir, 0, st)) != PG_OK) {
		fprintf(stderr, "%s: lockout directory %s: %s\n", ctx->progname,
		    dir, pg_strerror(r));
		pg_config_free(cfg);
		return CLI_EXIT_ERROR;
	}
	pg_config_free(cfg);
	return CLI_EXIT_OK;
}

static void
print_table(const struct lockout_entry *v, size_t n, bool local)
{
	char u[ESC_MAX], b[ESC_MAX], h[ESC_MAX], ru[ESC_MAX], re[ESC_MAX];
	char since[CLI_TIME_LEN];
	int w = local ? 25 : 20;
	size_t i;

	printf("%-20s %-*s %-10s %-20s %-20s %s\n", "USER", w,
	    local ? "SINCE (local)" : "SINCE (UTC)", "BY", "HOST", "RULE",
	    "REASON");
	for (i = 0; i < n; i++) {
		if (local)
			cli_time_local_t(v[i].since, since, sizeof(since));
		else
			iso_utc(v[i].since, since, sizeof(since));
		printf("%-20s %-*s %-10s %-20s %-20s %s\n",
		    escape(v[i].user, u, sizeof(u)), w, since,
		    escape(v[i].by, b, sizeof(b)),
		    escape(v[i].host, h, sizeof(h)),
		    escape(v[i].rule, ru, sizeof(ru)),
		    escape(v[i].reason, re, sizeof(re)));
	}
}

static int
print_json(const struct lockout_entry *v, size_t n,
    const struct lockout_pending *pv, size_t pn)
{
	const struct lockout_pending *p;
	json_t *a = json_array(), *o;
	char since[32];
	size_t i;
	int r = CLI_EXIT_ERROR;

	if (a == NULL)
		return CLI_EXIT_ERROR;
	for (i = 0; i < n; i++) {
		iso_utc(v[i].since, since, sizeof(since));
		o = json_pack("{s:s,s:s,s:I,s:s?,s:s?,s:s?,s:s?,s:s?}", "user",
		    v[i].user, "since", since, "since_epoch",
		    (json_int_t)v[i].since, "by", v[i].by, "host", v[i].host,
		    "rule", v[i].rule, "reason", v[i].reason, "extra",
		    v[i].extra);
		p = cli_pending_find(pv, pn, v[i].user);
		if (o != NULL && p != NULL &&
		    json_object_set_new(o, "directory",
		        json_pack("{s:s,s:I,s:s}", "state", "pending", "tries",
		            (json_int_t)p->tries, "error", p->error)) != 0) {
			json_decref(o);
			goto out;
		}
		if (o == NULL || json_array_append_new(a, o) != 0)
			goto out;
	}
	if (json_dumpf(a, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF)
		r = CLI_EXIT_OK;
out:
	json_decref(a);
	return r;
}

/*
 * The store's entries V (N) and, after them, the directory's locked users
 * that V does not hold, into *ALL (*NALL; shallow copies: V and the
 * directory's arrays *U and *T own the strings).  Returns PG_OK or the
 * directory's error, its message in ERR; *ALL is V's copy then.
 */
static int
with_directory(const struct pg_config *cfg, const struct lockout_entry *v,
    size_t n, struct lockout_entry **all, size_t *nall, char ***u, char ***t,
    char *err, size_t errlen)
{
	struct dir *d = NULL;
	size_t m = 0, i, j;
	int r;

	*u = *t = NULL;
	*nall = 0;
	err[0] = '\0';
	if ((r = dir_open(cfg, &d)) == PG_OK &&
	    (r = dir_list_locked(d, u, t, &m)) != PG_OK)
		dir_last_error(d, err, errlen);
	if (err[0] == '\0' && r != PG_OK)
		snprintf(err, errlen, "%s", pg_strerror(r));
	dir_free(d);
	if ((*all = calloc(n + m + 1, sizeof(**all))) == NULL) {
		dir_locked_free(*u, *t);
		*u = *t = NULL;
		return PG_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
		(*all)[(*nall)++] = v[i];
	for (j = 0; j < m; j++) {
		for (i = 0; i < n && strcmp(v[i].user, (*u)[j]) != 0; i++)
			;
		if (i < n)
			continue;
		(*all)[*nall] = (struct lockout_entry){ .user = (*u)[j],
			.since = dir_gentime((*t)[j]),
			.reason = "locked in the directory",
			.rule = cfg->dir_lockout_attr,
			.by = "directory",
			.extra = (*t)[j] };
		(*nall)++;
	}
	return r;
}

int
cmd_lockouts(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL,
		                                  'j' },
		{ "local", no_argument, NULL, 'L' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct lockout_store *st = NULL;
	struct lockout_entry *v = NULL, *all = NULL;
	struct lockout_pending *pv = NULL;
	struct pg_config *cfg = NULL;
	char **du = NULL, **dt = NULL, err[256] = "";
	const char *dir = NULL;
	bool json = false, local = false, dirfail = false;
	size_t n = 0, nall = 0, pn = 0, m;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'L':
			local = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(lockouts_help, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(lockouts_help, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(lockouts_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (json && local) {
		fprintf(stderr,
		    "%s: lockouts: --local is for the table; --json stays UTC\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if (dir == NULL && (cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	if ((r = open_store(ctx, dir != NULL ? dir : cfg->lockout_dir, &st)) !=
	    CLI_EXIT_OK) {
		pg_config_free(cfg);
		return r;
	}
	if ((c = lockout_list(st, &v, &n)) != PG_OK) {
		fprintf(stderr, "%s: cannot list lockouts in %s: %s\n",
		    ctx->progname, lockout_dir(st), pg_strerror(c));
		r = CLI_EXIT_ERROR;
		goto out;
	}
	/* Every other server's lockouts, from the directory. */
	if (cfg != NULL && cfg->dir_lockout_attr != NULL) {
		if ((c = cli_pending_sync(cfg, st, &pv, &pn)) != PG_OK)
			fprintf(stderr,
			    "%s: the queue of directory lockouts in %s: %s\n",
			    ctx->progname, lockout_dir(st), pg_strerror(c));
		c = with_directory(
		    cfg, v, n, &all, &nall, &du, &dt, err, sizeof(err));
		if (c == PG_ERR_NOMEM) {
			r = CLI_EXIT_ERROR;
			goto out;
		}
		dirfail = c != PG_OK;
		for (m = 0; du != NULL && du[m] != NULL; m++)
			;
		(void)cli_pending_mark_cache(ctx->progname, cfg, du, m);
	}
	if (json)
		r = print_json(
		    all != NULL ? all : v, all != NULL ? nall : n, pv, pn);
	else {
		print_table(
		    all != NULL ? all : v, all != NULL ? nall : n, local);
		cli_pending_print(pv, pn, local);
		r = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	}
	if (pn > 0) {
		fprintf(stderr,
		    "%s: %zu lockout(s) not yet written to the directory\n",
		    ctx->progname, pn);
		r = CLI_EXIT_ERROR;
	}
	if (dirfail) {
		fprintf(stderr,
		    "%s: the directory's lockouts are not listed: %s\n",
		    ctx->progname, err);
		r = CLI_EXIT_ERROR;
	}
out:
	free(all);
	lockout_pending_free(pv, pn);
	dir_locked_free(du, dt);
	lockout_entries_free(v, n);
	lockout_free(st);
	pg_config_free(cfg);
	return r;
}

/* The configuration in *CFG and its audit log in *LOG, both the caller's. */
static int
open_audit(
    const struct cli_ctx *ctx, struct pg_config **cfg, struct audit_log **log)
{
	int r;

	*log = NULL;
	if ((*cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	r = audit_open(*cfg, "cli", log);
	if (r != PG_OK) {
		fprintf(stderr,
		    "%s: audit log %s: %s; not unlocking an account "
		    "without an audit record\n",
		    ctx->progname, (*cfg)->audit_log, pg_strerror(r));
		pg_config_free(*cfg);
		*cfg = NULL;
	}
	return r == PG_OK ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/*
 * Clears USER's wrong codes counted in the directory, as ppolicy drops
 * pwdFailureTime with the lock: else the next wrong code, on any server,
 * would lock the account again at once.
 */
static int
forget_failures(
    const struct pg_config *cfg, const char *user, char *err, size_t errlen)
{
	struct totp_store *st = NULL;
	int r;

	if ((r = dir_totp_store_open(cfg, &st)) == PG_OK &&
	    (r = totp_store_failures_reset(st, user)) == PG_ERR_NOTFOUND)
		r = PG_OK; /* a user the directory does not know */
	if (r != PG_OK)
		snprintf(err, errlen, "wrong-code count not cleared: %s",
		    st != NULL ? totp_store_why(st) : pg_strerror(r));
	totp_store_free(st);
	return r;
}

/*
 * Removes USER's lockout attribute from the directory when CFG names one;
 * *WAS tells whether it was set.  A user the directory does not know has
 * nothing to remove.  Returns PG_OK or the directory's error, its message
 * in ERR.
 */
static int
unlock_directory(const struct pg_config *cfg, const char *user, bool *was,
    char *err, size_t errlen)
{
	struct dir *d = NULL;
	struct dir_user *u = NULL;
	size_t cleared = 0;
	int r;

	*was = false;
	err[0] = '\0';
	if (cfg->dir_lockout_attr == NULL)
		return PG_OK;
	if ((r = dir_open(cfg, &d)) != PG_OK) {
		snprintf(err, errlen, "%s", pg_strerror(r));
		return r;
	}
	if (!dir_can_lock(d))
		goto out;
	r = dir_lookup(d, user, strlen(user), &u);
	if (r == PG_ERR_NOTFOUND) {
		r = PG_OK;
		goto out;
	}
	/* The clinic's count starts again, before any gateway may see the
	 * account unlocked and lease from the old count. */
	if (r == PG_OK && cfg->lockout_budget == PG_BUDGET_DIRECTORY &&
	    (r = dir_budget_clear(d, user, &cleared, err, errlen)) != PG_OK) {
		if (r == PG_ERR_NOTFOUND)
			r = PG_OK;
		else
			goto out;
	}
	if (r == PG_OK && u->locked) {
		*was = true;
		r = dir_set_locked(d, user, strlen(user), false);
	}
	if (r != PG_OK) {
		dir_last_error(d, err, errlen);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s", pg_strerror(r));
	}
	if (r == PG_OK && cfg->totp_store == PG_TOTP_DIRECTORY)
		r = forget_failures(cfg, user, err, errlen);
out:
	dir_user_free(u);
	dir_free(d);
	return r;
}

static int
audit_unlock(struct audit_log *log, const char *user, const char *decision,
    const char *reason)
{
	struct cli_audit au = { .cfg = NULL, .log = log };

	return cli_audit_record(&au, "admin.unlock", user, decision, reason);
}

static int
unlock_result(const struct cli_ctx *ctx, int c, bool was, const char *esc,
    const char *direrr)
{
	if (c != PG_OK && direrr != NULL) {
		fprintf(stderr,
		    "%s: cannot remove the directory's lockout of %s: %s "
		    "(the lockout store's, if any, is lifted)\n",
		    ctx->progname, esc, direrr);
		return CLI_EXIT_ERROR;
	}
	if (c == PG_ERR_INVAL) {
		fprintf(stderr, "%s: invalid user name \"%s\"\n", ctx->progname,
		    esc);
		return CLI_EXIT_USAGE;
	}
	if (c != PG_OK) {
		fprintf(stderr, "%s: cannot unlock %s: %s\n", ctx->progname,
		    esc, pg_strerror(c));
		return CLI_EXIT_ERROR;
	}
	if (!was) {
		fprintf(
		    stderr, "%s: %s is not locked out\n", ctx->progname, esc);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* The reason of the audited outcome, in BUF of LEN bytes. */
static const char *
outcome_reason(
    char *buf, size_t len, int c, bool was, bool was_dir, const char *direrr)
{
	if (direrr != NULL)
		snprintf(buf, len, "%sdirectory: %s",
		    was ? "lockout lifted in the lockout store; " : "", direrr);
	else if (c != PG_OK)
		snprintf(buf, len, "%s", pg_strerror(c));
	else if (was_dir)
		snprintf(buf, len, "lockout lifted (%sdirectory)",
		    was ? "lockout store and " : "");
	else if (was)
		snprintf(buf, len, "lockout lifted");
	else
		snprintf(buf, len, "was not locked out");
	return buf;
}

static void
tell_gateway(const struct cli_ctx *ctx, const struct pg_config *cfg,
    const char *user, const char *esc)
{
	char req[CTL_LINE_MAX + 1];

	if (ctl_format_request(req, sizeof(req), CTL_UNLOCK, user, NULL) < 0)
		return;
	if (cli_gateway_tell(cfg, req) < 0)
		fprintf(stderr,
		    "%s: the running gateway did not take the unlock of %s: "
		    "it sees the lockout store's at %s's next request, the "
		    "directory's within [directory] cache_ttl\n",
		    ctx->progname, esc, esc);
}

int
cmd_unlock(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL,
		                                  'd' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char esc[ESC_MAX], direrr[256], why[512];
	struct lockout_store *st = NULL;
	struct pg_config *cfg = NULL;
	struct audit_log *log = NULL;
	const char *dir = NULL, *user;
	bool was = false, was_dir = false, dirfail = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(unlock_help, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(unlock_help, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(unlock_help, stderr);
		return CLI_EXIT_USAGE;
	}
	user = argv[optind];
	escape(user, esc, sizeof(esc));
	if ((r = open_store(ctx, dir, &st)) != CLI_EXIT_OK)
		return r;
	/* No unlock that the audit log does not hold. */
	if ((r = open_audit(ctx, &cfg, &log)) != CLI_EXIT_OK) {
		lockout_free(st);
		return r;
	}
	/*
	 * The request is on record before anything changes: an unlock the
	 * log cannot hold does not happen.  The outcome follows.
	 */
	if (audit_unlock(log, user, "info", "unlock requested") != PG_OK) {
		fprintf(stderr,
		    "%s: the audit log does not take the request; "
		    "%s stays locked\n",
		    ctx->progname, esc);
		lockout_free(st);
		audit_free(log);
		pg_config_free(cfg);
		return CLI_EXIT_ERROR;
	}
	c = lockout_unlock(st, user, &was);
	lockout_free(st);
	/* A ticket that outlived a lockout noticed nowhere here: the user
	 * passes the second factor again. */
	(void)mfa_ticket_remove(cfg->totp_ticket_dir, user);
	/* Then every other server's: the directory's lockout attribute. */
	if (c == PG_OK) {
		c = unlock_directory(
		    cfg, user, &was_dir, direrr, sizeof(direrr));
		dirfail = c != PG_OK;
	}
	/* And the running gateway: it forgets what it cached of the user. */
	if (c == PG_OK && (was || was_dir))
		tell_gateway(ctx, cfg, user, esc);
	pg_config_free(cfg);
	r = unlock_result(ctx, c, was || was_dir, esc, dirfail ? direrr : NULL);
	if (audit_unlock(log, user, c != PG_OK ? "error" : "allow",
	        outcome_reason(why, sizeof(why), c, was, was_dir,
	            dirfail ? direrr : NULL)) != PG_OK) {
		fprintf(stderr,
		    "%s: the audit log did not take the outcome of the "
		    "unlock of %s (its request is on record)\n",
		    ctx->progname, esc);
		r = CLI_EXIT_ERROR;
	}
	if (audit_close(log) != PG_OK && r == CLI_EXIT_OK)
		r = CLI_EXIT_ERROR;
	if (r == CLI_EXIT_OK)
		printf("%s: unlocked\n", esc);
	return r;
}
