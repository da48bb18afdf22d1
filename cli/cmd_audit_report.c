/*
 * cmd_audit_report.c - `photoguard audit report`: the breach question.
 * For one account (or all) and a time range, every patient whose photos
 * it opened, with files, bytes, first and last access, as a table, CSV or
 * JSON.  The log's chain and signatures are checked first; a report that
 * rests on a log that does not verify says so at the top and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/audit_report.h"
#include "cli/cmd_audit.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "base/base.h"

#define WARN_MAX 768
#define CELL_MAX 1024

enum report_format { FMT_TABLE, FMT_CSV, FMT_JSON };

struct report_args {
	const char *log, *key, *user, *since, *until;
	int all_users;
	enum report_format fmt;
};

/* What the report rests on: the verifier's verdict and what was read. */
struct report_state {
	struct audit_verify_result res;
	int verified;           /* chain and signatures verified */
	char warning[WARN_MAX]; /* empty when verified */
	long long after;        /* records appended after the check: left out */
	struct report *rep;
};

static int
report_usage(FILE *f)
{
	fputs("Usage: photoguard audit report (--user U | --all-users) "
	      "[--since T] [--until T]\n"
	      "                               [--csv | --json] [--log FILE] "
	      "[--key PUB]\n"
	      "  Every patient whose photos the account opened (allowed\n"
	      "  gateway.open records), with files, bytes (gateway.release),\n"
	      "  first and last access; --all-users: one row per user and\n"
	      "  patient.  The log is verified first; if it does not verify,\n"
	      "  the report says so at the top and exits 1.\n"
	      "  T           UTC YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z], "
	      "inclusive\n"
	      "  --key PUB   public key (default: audit_key_file + .pub)\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit code. */
static int
parse_report_args(int argc, char **argv, struct report_args *a)
{
	static const struct option opts[] = { { "user", 1, NULL, 'u' },
		{ "all-users", 0, NULL, 'a' }, { "since", 1, NULL, 's' },
		{ "until", 1, NULL, 't' }, { "log", 1, NULL, 'l' },
		{ "key", 1, NULL, 'k' }, { "csv", 0, NULL, 'c' },
		{ "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int c, nfmt = 0;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while (
	    (c = getopt_long(argc, argv, "u:as:t:l:k:cjh", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			a->user = optarg;
			break;
		case 'a':
			a->all_users = 1;
			break;
		case 's':
			a->since = optarg;
			break;
		case 't':
			a->until = optarg;
			break;
		case 'l':
			a->log = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'c':
			a->fmt = FMT_CSV;
			nfmt++;
			break;
		case 'j':
			a->fmt = FMT_JSON;
			nfmt++;
			break;
		case 'h':
			return report_usage(stdout);
		default:
			return report_usage(stderr);
		}
	}
	if (optind != argc || nfmt > 1 ||
	    (a->user == NULL) == (a->all_users == 0)) {
		fputs("photoguard: audit report: give --user U or "
		      "--all-users, and at most one of --csv, --json\n",
		    stderr);
		return report_usage(stderr);
	}
	return -1;
}

/* Runs the verifier; any doubt becomes the warning in S. */
static int
check_log(const char *prog, const struct audit_paths *p, struct report_state *s)
{
	const char *pub = p->pub[0] != '\0' ? p->pub : NULL;
	int r;

	if (pub != NULL && access(pub, R_OK) != 0) {
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: the public key %.256s cannot be read (%s): the "
		    "audit log was NOT verified; this report may rest on "
		    "altered, removed or forged records",
		    pub, strerror(errno));
		pub = NULL;
	}
	r = audit_verify(p->log, pub, &s->res);
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit report: %s: %s\n", prog,
		    r == PG_ERR_CRYPTO && pub != NULL ? pub : p->log,
		    pg_strerror(r));
		return r;
	}
	s->verified = s->res.ok && s->res.signatures_checked;
	if (s->warning[0] != '\0' || s->verified)
		return PG_OK;
	if (!s->res.ok)
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: THE AUDIT LOG DOES NOT VERIFY (seq %lld: %s: "
		    "%s): this report rests on a log that was altered; "
		    "records may be missing or forged",
		    s->res.bad_seq, audit_fail_name(s->res.kind),
		    s->res.message);
	else
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: no public key: the signatures of the audit log "
		    "were NOT checked; this report may rest on forged "
		    "records (give --key)");
	return PG_OK;
}

static int
add_record(const struct audit_record *rec, void *arg)
{
	struct report_state *s = arg;

	/* Verified: leave out what was appended after the check. */
	if (s->verified && rec->seq > s->res.last_seq) {
		s->after++;
		return 0;
	}
	return report_add(s->rep, rec);
}

/* A CSV cell: quoted, quotes doubled, and a leading = + - @ neutralised
 * so that a spreadsheet does not run a name as a formula. */
static void
csv_cell(const char *v)
{
	char buf[CELL_MAX];
	const char *p;

	cli_escape(v, buf, sizeof(buf), 0);
	putchar('"');
	if (strchr("=+-@", buf[0]) != NULL && buf[0] != '\0')
		putchar('\'');
	for (p = buf; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

static void
print_csv(const struct report_state *s, const struct report_row *rows, size_t n)
{
	size_t i;

	if (s->warning[0] != '\0')
		printf("# %s\n", s->warning);
	puts("user,patient,files,bytes,first_access,last_access");
	for (i = 0; i < n; i++) {
		csv_cell(rows[i].user);
		putchar(',');
		csv_cell(rows[i].patient);
		printf(",%lld,%lld,%s,%s\n", rows[i].files, rows[i].bytes,
		    rows[i].first, rows[i].last);
	}
}

static json_t *
json_rows(const struct report_row *rows, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a,
		        json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "user",
		            rows[i].user, "patient", rows[i].patient, "files",
		            (json_int_t)rows[i].files, "bytes",
		            (json_int_t)rows[i].bytes, "first_access",
		            rows[i].first, "last_access", rows[i].last)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
print_json(const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s, const struct report_row *rows, size_t n,
    const struct report_totals *t)
{
	const struct audit_verify_result *v = &s->res;
	json_t *j;
	char *out;

	j = json_pack("{s:s,s:s?,s:b,s:s?,s:s?,s:b,s:s?,"
	              "s:{s:b,s:s,s:I,s:I,s:I,s:I,s:b,s:s},s:o*,"
	              "s:{s:I,s:I,s:I},s:I,s:I}",
	    "log", p->log, "user", a->user, "all_users", a->all_users, "since",
	    a->since, "until", a->until, "verified", s->verified, "warning",
	    s->warning[0] != '\0' ? s->warning : NULL, "verification", "ok",
	    v->ok, "kind", audit_fail_name(v->kind), "records",
	    (json_int_t)v->records, "checkpoints", (json_int_t)v->checkpoints,
	    "last_seq", (json_int_t)v->last_seq, "bad_seq",
	    (json_int_t)v->bad_seq, "signatures_checked", v->signatures_checked,
	    "message", v->message, "rows", json_rows(rows, n), "totals",
	    "patients", (json_int_t)t->patients, "files", (json_int_t)t->files,
	    "bytes", (json_int_t)t->bytes, "unattributed_records",
	    (json_int_t)t->unattributed, "records_after_check",
	    (json_int_t)s->after);
	out = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (out == NULL)
		return PG_ERR_NOMEM;
	puts(out);
	free(out);
	return PG_OK;
}

/* Width of the widest escaped cell in a column, at least MIN. */
static int
col_width(const struct report_row *rows, size_t n, int patient, int min)
{
	char buf[CELL_MAX];
	size_t i, w = (size_t)min, l;

	for (i = 0; i < n; i++) {
		cli_escape(patient ? rows[i].patient : rows[i].user, buf,
		    sizeof(buf), 0);
		if ((l = strlen(buf)) > w)
			w = l;
	}
	return w > 64 ? 64 : (int)w;
}

static void
print_table_head(const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s)
{
	char who[CELL_MAX];

	if (s->warning[0] != '\0')
		printf("%s\n\n", s->warning);
	cli_escape(a->user, who, sizeof(who), 0);
	printf("Audit report: %s%s, from %s to %s\n",
	    a->all_users ? "all users" : "user ", a->all_users ? "" : who,
	    a->since != NULL ? a->since : "the start of the log",
	    a->until != NULL ? a->until : "its end");
	printf("Log: %s: %s\n", p->log,
	    s->verified ? "verified (chain and signatures)" : "NOT VERIFIED");
}

static void
print_table(const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s, const struct report_row *rows, size_t n,
    const struct report_totals *t)
{
	char u[CELL_MAX], pt[CELL_MAX];
	int wu = col_width(rows, n, 0, 4), wp = col_width(rows, n, 1, 7);
	size_t i;

	print_table_head(a, p, s);
	printf("\n%-*s  %-*s  %6s  %12s  %-27s  %s\n", wu, "USER", wp,
	    "PATIENT", "FILES", "BYTES", "FIRST ACCESS", "LAST ACCESS");
	for (i = 0; i < n; i++)
		printf("%-*s  %-*s  %6lld  %12lld  %-27s  %s\n", wu,
		    cli_escape(rows[i].user, u, sizeof(u), 0), wp,
		    cli_escape(rows[i].patient, pt, sizeof(pt), 0),
		    rows[i].files, rows[i].bytes, rows[i].first, rows[i].last);
	printf("\nTotal: %lld patients, %lld files, %lld bytes\n", t->patients,
	    t->files, t->bytes);
	if (t->unattributed > 0)
		printf("note: %lld access records name no patient or user "
		       "and are not counted above\n",
		    t->unattributed);
	if (s->after > 0)
		printf("note: %lld records were appended after the check and "
		       "are left out\n",
		    s->after);
	if (s->warning[0] != '\0')
		printf("\n%s\n", s->warning);
}

static int
print_report(const struct report_args *a, const struct audit_paths *p,
    struct report_state *s)
{
	const struct report_row *rows;
	struct report_totals t;
	size_t n;
	int r;

	if ((r = report_rows(s->rep, &rows, &n, &t)) != PG_OK)
		return r;
	if (a->fmt == FMT_JSON)
		return print_json(a, p, s, rows, n, &t);
	if (a->fmt == FMT_CSV)
		print_csv(s, rows, n);
	else
		print_table(a, p, s, rows, n, &t);
	return PG_OK;
}

int
cli_audit_report(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct report_state s;
	struct audit_filter f;
	struct audit_paths p;
	struct report_args a;
	int r;

	if ((r = parse_report_args(argc, argv, &a)) >= 0)
		return r;
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	f.actor = a.user;
	f.event = "gateway.";
	f.since = a.since;
	f.until = a.until;
	if (cli_audit_paths(ctx, a.log, a.key, &p) != PG_OK)
		return CLI_EXIT_ERROR;
	if (check_log(ctx->progname, &p, &s) != PG_OK)
		return CLI_EXIT_ERROR;
	if ((r = report_new(&s.rep)) == PG_OK)
		r = audit_query(p.log, &f, add_record, &s, NULL);
	if (r == PG_OK)
		r = print_report(&a, &p, &s);
	report_free(s.rep);
	if (r == PG_ERR_INVAL) {
		fprintf(stderr,
		    "%s: audit report: bad time in --since/--until\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit report: %s: %s\n", ctx->progname,
		    p.log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
	return s.verified ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
