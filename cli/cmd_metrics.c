/*
 * cmd_metrics.c - `photoguard metrics`: the Prometheus text exposition
 * (format 0.0.4) that node_exporter's textfile collector reads: each
 * user's usage against each limit and whether they are locked, the
 * accounts locked, the gateway's allowed and refused opens, and how far
 * the audit log's signatures lag behind its records.
 *
 * A run never fails silently and never leaves a file that claims more
 * than it knows: a gateway that does not answer is photoguard_gateway_up
 * 0 with its per-user figures left out, a part that cannot be read is
 * photoguard_metrics_errors, and the file is replaced whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "cli/cmd_gateway.h"
#include "cli/util.h"
#include "cli/verbs.h"
#include "core/lockout/lockout.h"

#define TAIL_BYTES (1 << 20) /* of the audit log read for its lag */
#define NAME_MAX_M 4096

static const char metrics_help[] =
    "Usage: photoguard metrics [--textfile FILE]\n"
    "  The figures node_exporter's textfile collector reads (Prometheus\n"
    "  text format): each user's usage against each limit, lockouts,\n"
    "  allowed and refused opens, the audit log's signature lag.  On\n"
    "  stdout, or --textfile FILE (e.g. /var/lib/prometheus/node-exporter/\n"
    "  photoguard.prom) replaced whole, mode 0644.  Run as root (the\n"
    "  gateway shows everyone's usage to root only); exit 0 when every\n"
    "  part was read, 1 when a part could not be (still written).\n";

/* A label value: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* A string member of O, "" when it is missing. */
static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The gateway's status as JSON; NULL when it does not answer. */
static json_t *
gateway_status(const struct pg_config *cfg)
{
	char *body = NULL;
	json_t *j = NULL;

	if (cli_gateway_query(cfg, "status json\n", &body) == 1)
		j = json_loads(body, 0, NULL);
	free(body);
	return j;
}

/* One series per user and limit: the limit's member FIELD as NAME. */
static void
per_limit(
    FILE *f, json_t *us, const char *name, const char *field, const char *help)
{
	json_t *u, *l;
	size_t i, k;

	head(f, name, "gauge", help);
	json_array_foreach(us, i, u)
	{
		json_array_foreach(json_object_get(u, "limits"), k, l)
		{
			fprintf(f, "%s{user=\"", name);
			label(f, str(u, "user"));
			fputs("\",kind=\"", f);
			label(f, str(l, "kind"));
			fputs("\",metric=\"", f);
			label(f, str(l, "metric"));
			fprintf(f, "\",window_seconds=\"%lld\"} %lld\n",
			    json_integer_value(
			        json_object_get(l, "window_seconds")),
			    json_integer_value(json_object_get(l, field)));
		}
	}
}

/* One series per user: the user's member FIELD (true is 1) as NAME. */
static void
per_user(
    FILE *f, json_t *us, const char *name, const char *field, const char *help)
{
	json_t *u, *v;
	size_t i;

	head(f, name, "gauge", help);
	json_array_foreach(us, i, u)
	{
		v = json_object_get(u, field);
		fprintf(f, "%s{user=\"", name);
		label(f, str(u, "user"));
		fprintf(f, "\"} %lld\n",
		    json_is_true(v) ? 1LL : json_integer_value(v));
	}
}

/* Per user and limit: used and max; per user: locked, files open. */
static void
users(FILE *f, json_t *st)
{
	json_t *us = json_object_get(st, "users");

	per_limit(f, us, "photoguard_user_usage", "used",
	    "What the user used of a limit in its window.");
	per_limit(f, us, "photoguard_user_limit", "max",
	    "The limit (or lockout threshold) of the user's roles.");
	per_user(f, us, "photoguard_user_locked", "locked",
	    "1 when the gateway holds the user locked out.");
	per_user(f, us, "photoguard_user_open_files", "open",
	    "Files the user holds open through the gateway.");
}

static void
opens(FILE *f, json_t *st)
{
	json_t *c = json_object_get(st, "counters");

	head(f, "photoguard_opens_total", "counter",
	    "Photo opens the gateway decided since it started.");
	fprintf(f, "photoguard_opens_total{decision=\"allow\"} %lld\n",
	    json_integer_value(json_object_get(c, "opens_allowed")));
	fprintf(f, "photoguard_opens_total{decision=\"deny\"} %lld\n",
	    json_integer_value(json_object_get(c, "opens_denied")));
	head(f, "photoguard_gateway_start_time_seconds", "gauge",
	    "When the gateway started (Unix time).");
	fprintf(f, "photoguard_gateway_start_time_seconds %lld\n",
	    json_integer_value(json_object_get(c, "started")));
}

/* The accounts the lockout store holds.  0, or -1 if it cannot say. */
static int
lockouts(FILE *f, const struct pg_config *cfg)
{
	struct lockout_store *ls = NULL;
	struct lockout_entry *le = NULL;
	size_t n = 0;

	if (lockout_open(cfg->lockout_dir, 0, &ls) != PG_OK ||
	    lockout_list(ls, &le, &n) != PG_OK) {
		lockout_free(ls);
		return -1;
	}
	head(f, "photoguard_lockouts", "gauge",
	    "Accounts the lockout store holds locked.");
	fprintf(f, "photoguard_lockouts %zu\n", n);
	lockout_entries_free(le, n);
	lockout_free(ls);
	return 0;
}

/*
 * The audit log's tail: the last record, and the first one no checkpoint
 * signs yet.  A record is tamper-evident once a signature covers it; the
 * lag is how long the oldest unsigned one has waited (0: none waits).
 */
static int
audit_lag(FILE *f, const struct pg_config *cfg, time_t now)
{
	long long last_seq = -1, unsigned_n = 0;
	time_t last_t = 0, first_unsigned = 0;
	char *buf, *p, *nl;
	struct stat sb;
	ssize_t got;
	off_t off;
	int fd;

	if ((fd = open(cfg->audit_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || (buf = malloc(TAIL_BYTES + 1)) == NULL) {
		close(fd);
		return -1;
	}
	off = sb.st_size > TAIL_BYTES ? sb.st_size - TAIL_BYTES : 0;
	got = pread(fd, buf, TAIL_BYTES, off);
	close(fd);
	if (got < 0) {
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	p = buf;
	if (off > 0 && (p = strchr(buf, '\n')) != NULL)
		p++; /* a line cut by the window */
	for (; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		json_t *r;
		const char *ev, *t;
		struct tm tm;

		if ((nl = strchr(p, '\n')) == NULL)
			break; /* a record being written */
		*nl = '\0';
		if ((r = json_loads(p, 0, NULL)) == NULL)
			continue;
		ev = json_string_value(json_object_get(r, "event"));
		t = json_string_value(json_object_get(r, "time"));
		memset(&tm, 0, sizeof(tm));
		if (ev != NULL && t != NULL &&
		    strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) != NULL) {
			last_seq =
			    json_integer_value(json_object_get(r, "seq"));
			last_t = timegm(&tm);
			if (strcmp(ev, "audit.checkpoint") == 0) {
				unsigned_n = 0;
			} else if (unsigned_n++ == 0)
				first_unsigned = last_t;
		}
		json_decref(r);
	}
	free(buf);
	if (last_seq < 0)
		return -1;
	head(f, "photoguard_audit_last_seq", "counter",
	    "Sequence number of the audit log's last record.");
	fprintf(f, "photoguard_audit_last_seq %lld\n", last_seq);
	head(f, "photoguard_audit_last_record_time_seconds", "gauge",
	    "When the audit log's last record was written (Unix time).");
	fprintf(f, "photoguard_audit_last_record_time_seconds %lld\n",
	    (long long)last_t);
	head(f, "photoguard_audit_unsigned_records", "gauge",
	    "Records after the last signed checkpoint.");
	fprintf(f, "photoguard_audit_unsigned_records %lld\n", unsigned_n);
	head(f, "photoguard_audit_lag_seconds", "gauge",
	    "How long the oldest record no signature covers has waited.");
	fprintf(f, "photoguard_audit_lag_seconds %lld\n",
	    unsigned_n > 0 && now > first_unsigned
	        ? (long long)(now - first_unsigned)
	        : 0LL);
	return 0;
}

/* Every figure to F; the number of parts that could not be read. */
static int
write_metrics(FILE *f, const struct pg_config *cfg)
{
	time_t now = time(NULL);
	json_t *st = gateway_status(cfg);
	int errors = 0;

	head(f, "photoguard_gateway_up", "gauge",
	    "1 when the gateway answered on its control socket.");
	fprintf(f, "photoguard_gateway_up %d\n", st != NULL);
	if (st != NULL) {
		users(f, st);
		opens(f, st);
		json_decref(st);
	}
	if (lockouts(f, cfg) != 0)
		errors++;
	if (audit_lag(f, cfg, now) != 0)
		errors++;
	head(f, "photoguard_metrics_errors", "gauge",
	    "Parts of this run that could not be read (the lockout store, "
	    "the audit log).");
	fprintf(f, "photoguard_metrics_errors %d\n", errors);
	head(f, "photoguard_metrics_last_run_timestamp_seconds", "gauge",
	    "When these figures were taken (Unix time).");
	fprintf(f, "photoguard_metrics_last_run_timestamp_seconds %lld\n",
	    (long long)now);
	return errors;
}

/* The directory holding PATH synced, so that a rename survives a crash. */
static int
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[NAME_MAX_M];
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The old textfile removed, if it is one of ours (it starts as every
 * run's output does): a mistyped --textfile never costs another file.
 */
static void
drop_old(const char *path)
{
	static const char ours[] = "# HELP photoguard_gateway_up ";
	char buf[sizeof(ours) - 1];
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if (read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	    memcmp(buf, ours, sizeof(buf)) == 0)
		(void)unlink(path);
	close(fd);
}

/*
 * FILE replaced whole: written beside it, synced, renamed.  When that
 * fails the old FILE goes too: figures from an earlier run (gateway_up 1)
 * must not stand for now, and a missing file is what alerts fire on.
 */
static int
write_textfile(const char *prog, const struct pg_config *cfg, const char *path,
    int *errors)
{
	char tmp[NAME_MAX_M];
	FILE *f;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		fprintf(
		    stderr, "%s: metrics: --textfile: name too long\n", prog);
		return -1;
	}
	if ((fd = open(tmp,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) <
	        0 ||
	    fchmod(fd, 0644) != 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "%s: metrics: %s: %s\n", prog, tmp,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			(void)unlink(tmp);
		}
		drop_old(path);
		return -1;
	}
	*errors = write_metrics(f, cfg);
	ok = fflush(f) == 0 && !ferror(f) && fsync(fd) == 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "%s: metrics: %s: %s\n", prog, path,
		    strerror(errno));
		(void)unlink(tmp);
		drop_old(path);
		return -1;
	}
	if (sync_dir(path) != 0) {
		fprintf(stderr, "%s: metrics: %s: sync of its directory: %s\n",
		    prog, path, strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_metrics(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "textfile", 1, NULL, 't' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *path = NULL;
	struct pg_config *cfg;
	int c, errors = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		if (c == 't')
			path = optarg;
		else if (c == 'h') {
			fputs(metrics_help, stdout);
			return CLI_EXIT_OK;
		} else {
			fputs(metrics_help, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(metrics_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if ((cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	if (path == NULL) {
		errors = write_metrics(stdout, cfg);
		rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
	} else
		rc = write_textfile(ctx->progname, cfg, path, &errors) == 0
		    ? CLI_EXIT_OK
		    : CLI_EXIT_ERROR;
	pg_config_free(cfg);
	if (rc == CLI_EXIT_OK && errors > 0) {
		fprintf(stderr,
		    "%s: metrics: %d part%s could not be read (the lockout "
		    "store, the audit log): photoguard_metrics_errors says "
		    "so\n",
		    ctx->progname, errors, errors == 1 ? "" : "s");
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}
