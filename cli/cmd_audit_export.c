/*
 * cmd_audit_export.c - `photoguard audit export --format atna`: the audit
 * log's records as IHE ATNA / DICOM PS3.15 audit messages (cli/atna.c),
 * one per line, for a hospital's audit repository.  Only a log that
 * verifies is exported, unless the auditor says --unverified; then the
 * first message is a Security Alert saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/atna.h"
#include "cli/cmd_audit.h"
#include "cli/timearg.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "base/base.h"

struct export_args {
	const char *log, *key, *out, *format;
	struct audit_filter f;
	int unverified;
	char since[CLI_TIME_LEN], until[CLI_TIME_LEN];
};

/* What the export rests on and what it wrote. */
struct export_state {
	struct audit_verify_result res;
	int verified;
	FILE *f;
	long long written, after, bookkeeping, bad_time;
	int err; /* first write error */
};

static int
export_usage(FILE *f)
{
	fputs("Usage: photoguard audit export --format atna [--log FILE] "
	      "[--key PUB]\n"
	      "                               [--user U] [--patient P] "
	      "[--since T] [--until T]\n"
	      "                               [--out FILE] [--unverified]\n"
	      "  Writes the records as IHE ATNA / DICOM PS3.15 audit "
	      "messages: one\n"
	      "  <AuditMessage> XML document per line, for an audit "
	      "repository.\n"
	      "  The log must verify (chain and signatures) first.\n"
	      "  --format atna  the only format\n"
	      "  --key PUB      public key (default: audit_key_file + .pub)\n"
	      "  T              a time (below), inclusive\n"
	      "  --out FILE     write FILE (mode 0600, replaced whole) "
	      "instead of stdout\n"
	      "  --unverified   export a log that does not verify, with an "
	      "alert first\n",
	    f);
	cli_time_usage(f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit code. */
static int
parse_export_args(
    const struct cli_ctx *ctx, int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = { { "format", 1, NULL, 'F' },
		{ "log", 1, NULL, 'l' }, { "key", 1, NULL, 'k' },
		{ "user", 1, NULL, 'u' }, { "patient", 1, NULL, 'p' },
		{ "since", 1, NULL, 's' }, { "until", 1, NULL, 't' },
		{ "out", 1, NULL, 'o' }, { "unverified", 0, NULL, 'U' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(
	            argc, argv, "F:l:k:u:p:s:t:o:Uh", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			a->format = optarg;
			break;
		case 'l':
			a->log = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'u':
			a->f.actor = optarg;
			break;
		case 'p':
			a->f.patient = optarg;
			break;
		case 's':
			a->f.since = optarg;
			break;
		case 't':
			a->f.until = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'U':
			a->unverified = 1;
			break;
		case 'h':
			return export_usage(stdout);
		default:
			return export_usage(stderr);
		}
	}
	if (optind != argc)
		return export_usage(stderr);
	if ((c = cli_time_opt(ctx, "audit export", "--since", CLI_TIME_START,
	         &a->f.since, a->since, sizeof(a->since))) != CLI_EXIT_OK ||
	    (c = cli_time_opt(ctx, "audit export", "--until", CLI_TIME_END,
	         &a->f.until, a->until, sizeof(a->until))) != CLI_EXIT_OK)
		return c;
	if (a->format == NULL || strcmp(a->format, "atna") != 0) {
		char fmt[128];

		fprintf(stderr,
		    "%s: audit export: %s%s%s (the one format is atna)\n",
		    ctx->progname, a->format ? "unknown format '" : "",
		    a->format ? cli_escape(a->format, fmt, sizeof(fmt), 0)
		              : "give --format atna",
		    a->format ? "'" : "");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/*
 * Verifies the log.  Returns -1 to go on (S->verified says how it
 * went), or an exit code after saying why on stderr.
 */
static int
check_log(const struct cli_ctx *ctx, const struct audit_paths *p,
    int unverified, struct export_state *s)
{
	const char *pub = p->pub[0] != '\0' ? p->pub : NULL;
	int r;

	if (pub != NULL && access(pub, R_OK) != 0) {
		fprintf(stderr, "%s: audit export: public key %s: %s\n",
		    ctx->progname, pub, strerror(errno));
		pub = NULL;
	}
	r = audit_verify_set(p->log, true, NULL, 0, pub, &s->res);
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit export: %s: %s\n", ctx->progname,
		    r == PG_ERR_CRYPTO && pub != NULL ? pub : p->log,
		    pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
	s->verified = s->res.ok && s->res.signatures_checked;
	if (s->verified)
		return -1;
	if (!s->res.ok)
		fprintf(stderr,
		    "%s: audit export: THE AUDIT LOG DOES NOT VERIFY (seq "
		    "%lld: %s: %s)\n",
		    ctx->progname, s->res.bad_seq, audit_fail_name(s->res.kind),
		    s->res.message);
	else
		fprintf(stderr,
		    "%s: audit export: the signatures of the audit log were "
		    "NOT checked (no public key: give --key)\n",
		    ctx->progname);
	if (!unverified) {
		fprintf(stderr,
		    "%s: audit export: refusing to export a log that does "
		    "not verify (--unverified exports it, with an alert "
		    "first)\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	return -1;
}

/* What add_record() returns when the output fails: not a PG_ code. */
#define WRITE_FAILED 1

static int
add_record(const struct audit_record *rec, void *arg)
{
	struct export_state *s = arg;
	int r;

	/* Verified: leave out what was appended after the check. */
	if (s->verified && rec->seq > s->res.last_seq) {
		s->after++;
		return 0;
	}
	if (!atna_exported(rec->event)) {
		s->bookkeeping++;
		return 0;
	}
	errno = 0;
	r = atna_write_record(s->f, rec);
	if (r == PG_ERR_PARSE) {
		s->bad_time++;
		return 0;
	}
	if (r != PG_OK) {
		s->err = errno != 0 ? errno : EIO;
		return WRITE_FAILED;
	}
	s->written++;
	return 0;
}

/* The alert that heads an export of a log that does not verify. */
static int
write_alert(const char *log, struct export_state *s)
{
	struct atna_local who;
	char host[256], user[300], now[40];
	struct timeval tv;
	struct tm tm;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cli_invoker(user, sizeof(user));
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(now + strlen(now), sizeof(now) - strlen(now), ".%06ldZ",
	    (long)tv.tv_usec);
	who.host = host;
	who.user = user;
	who.pid = (long)getpid();
	who.time = now;
	return atna_write_unverified(s->f, &who, log, &s->res);
}

/* Opens a temporary file beside OUT, 0600, for a whole replacement. */
static FILE *
open_out(const char *out, char *tmp, size_t len)
{
	FILE *f;
	int fd;

	if (snprintf(tmp, len, "%s.XXXXXX", out) >= (int)len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = mkstemp(tmp)) < 0)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
	}
	return f;
}

/*
 * Ends the output: with KEEP, flushes, and for a file syncs it and renames
 * TMP over OUT; without, a file is removed (stdout cannot take back what
 * it was given).  Returns 0 or the errno of the first failure.
 */
static int
finish_out(struct export_state *s, const char *out, const char *tmp, bool keep)
{
	int e = 0;

	if (fflush(s->f) != 0 || ferror(s->f))
		e = errno != 0 ? errno : EIO;
	if (out == NULL)
		return e;
	if (keep && e == 0 && fsync(fileno(s->f)) != 0)
		e = errno;
	if (fclose(s->f) != 0 && e == 0)
		e = errno;
	s->f = NULL;
	if (keep && e == 0 && rename(tmp, out) != 0)
		e = errno;
	if (!keep || e != 0)
		unlink(tmp);
	return e;
}

static void
print_notes(
    const struct cli_ctx *ctx, const struct export_state *s, long long skipped)
{
	if (s->after > 0)
		fprintf(stderr,
		    "%s: audit export: note: %lld records appended after the "
		    "check are left out\n",
		    ctx->progname, s->after);
	if (skipped > 0)
		fprintf(stderr,
		    "%s: audit export: %lld lines did not parse and are left "
		    "out\n",
		    ctx->progname, skipped);
	if (s->bad_time > 0)
		fprintf(stderr,
		    "%s: audit export: %lld records have no valid UTC time "
		    "and are left out\n",
		    ctx->progname, s->bad_time);
}

/* Writes the messages of the records P->log holds that match A. */
static int
run_export(const struct cli_ctx *ctx, const struct export_args *a,
    const struct audit_paths *p, struct export_state *s)
{
	const char *dest = a->out != NULL ? a->out : "standard output";
	char tmp[PATH_MAX_CLI + 8];
	long long skipped = 0;
	int r = PG_OK, e;

	s->f = stdout;
	if (a->out != NULL &&
	    (s->f = open_out(a->out, tmp, sizeof(tmp))) == NULL) {
		fprintf(stderr, "%s: audit export: cannot write %s: %s\n",
		    ctx->progname, a->out, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	errno = 0;
	if (!s->verified && write_alert(p->log, s) != PG_OK) {
		s->err = errno != 0 ? errno : EIO;
		r = WRITE_FAILED;
	}
	if (r == PG_OK)
		r = audit_query_set(
		    p->log, true, NULL, 0, &a->f, add_record, s, &skipped);
	e = finish_out(s, a->out, tmp, r == PG_OK);
	if (r == PG_ERR_INVAL) {
		fprintf(stderr,
		    "%s: audit export: bad time in --since/--until\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if (r == WRITE_FAILED || e != 0) {
		fprintf(stderr, "%s: audit export: cannot write %s: %s\n",
		    ctx->progname, dest, strerror(s->err ? s->err : e));
		return CLI_EXIT_ERROR;
	}
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit export: %s: %s\n", ctx->progname,
		    p->log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
	print_notes(ctx, s, skipped);
	if (a->out != NULL)
		fprintf(stderr, "%s: audit export: wrote %lld messages to %s\n",
		    ctx->progname, s->written + (s->verified ? 0 : 1), a->out);
	return s->verified && s->bad_time == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int
cli_audit_export(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct export_state s;
	struct export_args a;
	struct audit_paths p;
	int r;

	if ((r = parse_export_args(ctx, argc, argv, &a)) >= 0)
		return r;
	memset(&s, 0, sizeof(s));
	if (cli_audit_paths(ctx, a.log, a.key, &p) != PG_OK)
		return CLI_EXIT_ERROR;
	if ((r = check_log(ctx, &p, a.unverified, &s)) >= 0)
		return r;
	return run_export(ctx, &a, &p, &s);
}
