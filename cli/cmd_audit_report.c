/*
 * cmd_audit_report.c - `photoguard audit report`: the breach question.
 * For one account (or all) and a time range, every patient whose photos
 * it opened, with files, bytes, first and last access, as a table, CSV or
 * JSON.  The log's chain and signatures are checked first; a report that
 * rests on a log that does not verify says so at the top and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/audit_hosts.h"
#include "cli/audit_report.h"
#include "cli/audit_report_html.h"
#include "cli/cmd_audit.h"
#include "cli/timearg.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "core/state/state.h"
#include "base/base.h"

#define WARN_MAX 768
#define CELL_MAX 1024

enum report_format { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_HTML, FMT_PDF };

#define PDF_WAIT_S 120 /* chromium's time to print the report */

struct report_args {
	const char *log, *user, *since, *until;
	const char *out; /* --out FILE (--html, --pdf) */
	struct cli_keys keys;
	char **files; /* several hosts' logs, or NULL: the log */
	size_t nfiles;
	int all_users;
	long long from_seq; /* --from-seq: the kept history may start here */
	enum report_format fmt;
	int local; /* --local: the table's times in TZ */
	char since_buf[CLI_TIME_LEN], until_buf[CLI_TIME_LEN];
};

/* One host's chain and its verdict. */
struct report_chain {
	char host[256];
	const char **files; /* NULL: the log and its rotated files */
	size_t n;
	struct audit_verify_result res;
};

/* What the report rests on: the verifier's verdicts and what was read. */
struct report_state {
	struct report_chain *ch;
	size_t nch;
	struct cli_chain *groups; /* owns the file lists */
	size_t ngroups;
	const struct audit_verify_result *res; /* the first failing, or the
	                                          first chain's */
	int verified;           /* chains and signatures verified */
	char warning[WARN_MAX]; /* empty when verified */
	long long cur_last;     /* the chain being read: its last good seq */
	long long from_seq;     /* --from-seq */
	long long after;        /* records appended after the check: left out */
	struct report *rep;
	/* --html, --pdf: the allowed opens' times and the lockouts */
	bool timeline;
	time_t *opens;
	size_t nopens, capopens;
	struct html_lockout *locks;
	size_t nlocks, caplocks;
};

static int
report_usage(FILE *f)
{
	fputs(
	    "Usage: photoguard audit report (--user U | --all-users) "
	    "[--since T] [--until T]\n"
	    "                               [--csv | --json | --local | "
	    "--html [--out FILE] |\n"
	    "                               --pdf --out FILE] "
	    "[--key PUB | --key HOST=PUB...]\n"
	    "                               [--keys DIR] [--log FILE | "
	    "FILE...]\n"
	    "  Every patient whose photos the account opened (allowed\n"
	    "  gateway.open records), on which server, with files, bytes\n"
	    "  (gateway.release), first and last access; --all-users: one\n"
	    "  row per user, patient and server.  The logs (the log and its\n"
	    "  rotated files, or each host's in FILE...) are verified first;\n"
	    "  if one does not, the report says so at the top and exits 1.\n"
	    "  T           a time (below), inclusive\n"
	    "  --key PUB   public key (default: audit_key_file + .pub);\n"
	    "              HOST=PUB for one host's\n"
	    "  --keys DIR  public keys named HOST.pub\n"
	    "  --local     the table's times in local time (TZ), with their\n"
	    "              offset; the default, --csv and --json are UTC\n"
	    "  --html      one self-contained HTML page for lawyers and\n"
	    "              regulators: verification banner, lockouts, a\n"
	    "              timeline of the opens, the patients\n"
	    "  --pdf       the same page as PDF in --out FILE (needs\n"
	    "              chromium)\n"
	    "  --out FILE  write there (mode 0600) instead of stdout\n"
	    "  --from-seq N  accept logs whose oldest files were removed\n"
	    "              (retention) if they start at seq N or before\n",
	    f);
	cli_time_usage(f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* Returns -1 to go on, or an exit code. */
static int
parse_report_args(int argc, char **argv, struct report_args *a)
{
	static const struct option opts[] = { { "user", 1, NULL, 'u' },
		{ "all-users", 0, NULL, 'a' }, { "since", 1, NULL, 's' },
		{ "until", 1, NULL, 't' }, { "log", 1, NULL, 'l' },
		{ "key", 1, NULL, 'k' }, { "keys", 1, NULL, 'K' },
		{ "csv", 0, NULL, 'c' }, { "json", 0, NULL, 'j' },
		{ "local", 0, NULL, 'L' }, { "from-seq", 1, NULL, 'F' },
		{ "html", 0, NULL, 'H' }, { "pdf", 0, NULL, 'P' },
		{ "out", 1, NULL, 'o' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int c, nfmt = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "u:as:t:l:k:K:cjh", opts, NULL)) !=
	    -1) {
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
			if (cli_keys_add(&a->keys, optarg) != PG_OK) {
				fputs("photoguard: audit report: --key: give "
				      "one PUB, and HOST=PUB for the others\n",
				    stderr);
				return report_usage(stderr);
			}
			break;
		case 'K':
			a->keys.dir = optarg;
			break;
		case 'F':
			if (cli_from_seq("report", optarg, &a->from_seq) != 0)
				return report_usage(stderr);
			break;
		case 'c':
			a->fmt = FMT_CSV;
			nfmt++;
			break;
		case 'j':
			a->fmt = FMT_JSON;
			nfmt++;
			break;
		case 'L':
			a->local = 1;
			nfmt++;
			break;
		case 'H':
			a->fmt = FMT_HTML;
			nfmt++;
			break;
		case 'P':
			a->fmt = FMT_PDF;
			nfmt++;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'h':
			return report_usage(stdout);
		default:
			return report_usage(stderr);
		}
	}
	a->files = argv + optind;
	a->nfiles = (size_t)(argc - optind);
	if ((a->nfiles > 0 && a->log != NULL) || nfmt > 1 ||
	    (a->user == NULL) == (a->all_users == 0)) {
		fputs("photoguard: audit report: give --user U or "
		      "--all-users, and at most one of --csv, --json, "
		      "--local, --html, --pdf\n",
		    stderr);
		return report_usage(stderr);
	}
	if ((a->out != NULL && a->fmt != FMT_HTML && a->fmt != FMT_PDF) ||
	    (a->fmt == FMT_PDF && a->out == NULL)) {
		fputs("photoguard: audit report: --out goes with --html or "
		      "--pdf, and --pdf needs --out FILE\n",
		    stderr);
		return report_usage(stderr);
	}
	return -1;
}

/* Verifies one chain; any doubt becomes the warning in S. */
static int
check_chain(const char *prog, struct report_chain *c, const char *log,
    const char *pub, struct report_state *s)
{
	char host[256];
	int r, partial;

	if (pub != NULL && access(pub, R_OK) != 0) {
		if (s->warning[0] == '\0')
			snprintf(s->warning, sizeof(s->warning),
			    "WARNING: the public key %.256s cannot be read "
			    "(%s): the audit log was NOT verified; this "
			    "report may rest on altered, removed or forged "
			    "records",
			    pub, strerror(errno));
		pub = NULL;
	}
	r = c->files != NULL
	    ? audit_verify_set(NULL, false, c->files, c->n, pub, &c->res)
	    : audit_verify_set(log, true, NULL, 0, pub, &c->res);
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit report: %s: %s\n", prog,
		    r == PG_ERR_CRYPTO && pub != NULL ? pub
		        : c->files != NULL            ? c->files[0]
		                                      : log,
		    pg_strerror(r));
		return r;
	}
	partial = c->res.first_seq > 1 &&
	    (s->from_seq == 0 || c->res.first_seq > s->from_seq);
	if (c->res.ok && c->res.signatures_checked && !partial)
		return PG_OK;
	s->verified = 0;
	if (s->warning[0] != '\0')
		return PG_OK;
	s->res = &c->res;
	cli_escape(c->host, host, sizeof(host), 0);
	if (c->res.ok && c->res.signatures_checked)
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: THE AUDIT LOG %s%s%sIS PROVEN ONLY FROM SEQ %lld "
		    "(%s): its older files are not there (removed by "
		    "retention, or by someone); give --from-seq %lld if that "
		    "is the retention you expect",
		    host[0] != '\0' ? "OF " : "", host[0] != '\0' ? host : "",
		    host[0] != '\0' ? " " : "", c->res.first_seq,
		    c->res.first_time, c->res.first_seq);
	else if (!c->res.ok)
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: THE AUDIT LOG %s%s%sDOES NOT VERIFY (seq %lld: %s: "
		    "%s): this report rests on a log that was altered; "
		    "records may be missing or forged",
		    host[0] != '\0' ? "OF " : "", host[0] != '\0' ? host : "",
		    host[0] != '\0' ? " " : "", c->res.bad_seq,
		    audit_fail_name(c->res.kind), c->res.message);
	else
		snprintf(s->warning, sizeof(s->warning),
		    "WARNING: no public key: the signatures of the audit log "
		    "were NOT checked; this report may rest on forged "
		    "records (give --key)");
	return PG_OK;
}

/* The chains the report rests on: the log's, or one per host in FILES. */
static int
check_logs(const struct cli_ctx *ctx, const struct report_args *a,
    const struct audit_paths *p, struct report_state *s)
{
	char pub[PATH_MAX_CLI];
	size_t i;
	int r;

	s->verified = 1;
	if (a->nfiles == 0) {
		if ((s->ch = calloc(1, sizeof(*s->ch))) == NULL)
			return PG_ERR_NOMEM;
		s->nch = 1;
		s->res = &s->ch[0].res;
		return check_chain(ctx->progname, &s->ch[0], p->log,
		    p->pub[0] != '\0' ? p->pub : NULL, s);
	}
	if ((r = cli_chains(ctx->progname, a->files, a->nfiles, &s->groups,
	         &s->ngroups)) != PG_OK)
		return r;
	if (s->ngroups == 0) {
		fprintf(stderr,
		    "%s: audit report: no records in the files "
		    "given\n",
		    ctx->progname);
		return PG_ERR_NOTFOUND;
	}
	if ((s->ch = calloc(s->ngroups, sizeof(*s->ch))) == NULL)
		return PG_ERR_NOMEM;
	s->nch = s->ngroups;
	s->res = &s->ch[0].res;
	for (i = 0; i < s->nch; i++) {
		snprintf(s->ch[i].host, sizeof(s->ch[i].host), "%s",
		    s->groups[i].host);
		s->ch[i].files = s->groups[i].files;
		s->ch[i].n = s->groups[i].n;
		cli_keys_for(&a->keys, s->ch[i].host,
		    p->pub[0] != '\0' ? p->pub : NULL, pub, sizeof(pub));
		if ((r = check_chain(ctx->progname, &s->ch[i], NULL,
		         pub[0] != '\0' ? pub : NULL, s)) != PG_OK)
			return r;
	}
	return PG_OK;
}

/* Keeps what the timeline needs of REC: an allowed open, a lockout. */
static int
add_timeline(struct report_state *s, const struct audit_record *rec)
{
	struct html_lockout *l;

	if (strcmp(rec->event, "gateway.open") == 0 && rec->decision != NULL &&
	    strcmp(rec->decision, "allow") == 0) {
		time_t t = report_html_time(rec->time), *n;
		size_t nc;

		if (t == (time_t)-1)
			return PG_OK;
		if (s->nopens == s->capopens) {
			nc = s->capopens ? s->capopens * 2 : 1024;
			if (nc > (size_t)REPORT_MAX_ROWS * 16)
				return PG_ERR_TOOBIG;
			if ((n = realloc(s->opens, nc * sizeof(*n))) == NULL)
				return PG_ERR_NOMEM;
			s->opens = n;
			s->capopens = nc;
		}
		s->opens[s->nopens++] = t;
		return PG_OK;
	}
	if (strcmp(rec->event, "lockout.lock") != 0)
		return PG_OK;
	if (s->nlocks == s->caplocks) {
		size_t nc = s->caplocks ? s->caplocks * 2 : 8;

		if (nc > 4096)
			return PG_ERR_TOOBIG;
		if ((l = realloc(s->locks, nc * sizeof(*l))) == NULL)
			return PG_ERR_NOMEM;
		s->locks = l;
		s->caplocks = nc;
	}
	l = &s->locks[s->nlocks++];
	memset(l, 0, sizeof(*l));
	snprintf(l->time, sizeof(l->time), "%s", rec->time);
	l->host = strdup(rec->host != NULL ? rec->host : "");
	l->actor = strdup(rec->actor != NULL ? rec->actor : "");
	l->rule = strdup(rec->rule != NULL ? rec->rule : "");
	l->reason = strdup(rec->reason != NULL ? rec->reason : "");
	if (l->host == NULL || l->actor == NULL || l->rule == NULL ||
	    l->reason == NULL)
		return PG_ERR_NOMEM;
	return PG_OK;
}

static int
add_record(const struct audit_record *rec, void *arg)
{
	struct report_state *s = arg;
	int r;

	/* Verified: leave out what was appended after the check. */
	if (s->verified && rec->seq > s->cur_last) {
		s->after++;
		return 0;
	}
	if (s->timeline && (r = add_timeline(s, rec)) != PG_OK)
		return r;
	if (strncmp(rec->event, "gateway.", 8) != 0)
		return 0;
	return report_add(s->rep, rec);
}

/* Reads every chain's records into the report. */
static int
read_logs(const char *log, const struct audit_filter *f, struct report_state *s)
{
	size_t i;
	int r = PG_OK;

	for (i = 0; r == PG_OK && i < s->nch; i++) {
		s->cur_last = s->ch[i].res.last_seq;
		r = s->ch[i].files != NULL
		    ? audit_query_set(NULL, false, s->ch[i].files, s->ch[i].n,
		          f, add_record, s, NULL)
		    : audit_query_set(
		          log, true, NULL, 0, f, add_record, s, NULL);
	}
	return r;
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
	puts("user,patient,host,files,bytes,first_access,last_access");
	for (i = 0; i < n; i++) {
		csv_cell(rows[i].user);
		putchar(',');
		csv_cell(rows[i].patient);
		putchar(',');
		csv_cell(rows[i].host);
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
		        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "user",
		            rows[i].user, "patient", rows[i].patient, "host",
		            rows[i].host, "files", (json_int_t)rows[i].files,
		            "bytes", (json_int_t)rows[i].bytes, "first_access",
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
	const struct audit_verify_result *v = s->res;
	json_t *j, *hosts = json_array();
	size_t i;
	char *out;

	for (i = 0; hosts != NULL && i < s->nch; i++)
		json_array_append_new(hosts,
		    json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:b,s:s}", "host",
		        s->ch[i].host, "ok", s->ch[i].res.ok, "kind",
		        audit_fail_name(s->ch[i].res.kind), "records",
		        (json_int_t)s->ch[i].res.records, "first_seq",
		        (json_int_t)s->ch[i].res.first_seq, "last_seq",
		        (json_int_t)s->ch[i].res.last_seq, "signatures_checked",
		        s->ch[i].res.signatures_checked, "message",
		        s->ch[i].res.message));
	j = json_pack("{s:s?,s:s?,s:b,s:s?,s:s?,s:b,s:s?,"
	              "s:{s:b,s:s,s:I,s:I,s:I,s:I,s:b,s:s},s:o*,s:o*,"
	              "s:{s:I,s:I,s:I},s:I,s:I}",
	    "log", a->nfiles == 0 ? p->log : NULL, "user", a->user, "all_users",
	    a->all_users, "since", a->since, "until", a->until, "verified",
	    s->verified, "warning", s->warning[0] != '\0' ? s->warning : NULL,
	    "verification", "ok", v->ok, "kind", audit_fail_name(v->kind),
	    "records", (json_int_t)v->records, "checkpoints",
	    (json_int_t)v->checkpoints, "last_seq", (json_int_t)v->last_seq,
	    "bad_seq", (json_int_t)v->bad_seq, "signatures_checked",
	    v->signatures_checked, "message", v->message, "hosts", hosts,
	    "rows", json_rows(rows, n), "totals", "patients",
	    (json_int_t)t->patients, "files", (json_int_t)t->files, "bytes",
	    (json_int_t)t->bytes, "unattributed_records",
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

enum col { COL_USER, COL_PATIENT, COL_HOST };

/* Width of the widest escaped cell in a column, at least MIN. */
static int
col_width(const struct report_row *rows, size_t n, enum col col, int min)
{
	char buf[CELL_MAX];
	size_t i, w = (size_t)min, l;

	for (i = 0; i < n; i++) {
		cli_escape(col == COL_PATIENT ? rows[i].patient
		        : col == COL_HOST     ? rows[i].host
		                              : rows[i].user,
		    buf, sizeof(buf), 0);
		if ((l = strlen(buf)) > w)
			w = l;
	}
	return w > 64 ? 64 : (int)w;
}

static void
print_table_head(const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s)
{
	char who[CELL_MAX], from[CLI_TIME_LEN], to[CLI_TIME_LEN];
	size_t i;

	if (s->warning[0] != '\0')
		printf("%s\n\n", s->warning);
	cli_escape(a->user, who, sizeof(who), 0);
	if (a->since != NULL && a->local)
		cli_time_local(a->since, from, sizeof(from));
	if (a->until != NULL && a->local)
		cli_time_local(a->until, to, sizeof(to));
	printf("Audit report: %s%s, from %s to %s\n",
	    a->all_users ? "all users" : "user ", a->all_users ? "" : who,
	    a->since == NULL ? "the start of the log"
	        : a->local   ? from
	                     : a->since,
	    a->until == NULL ? "its end"
	        : a->local   ? to
	                     : a->until);
	if (a->nfiles == 0)
		printf("Log: %s: %s\n", p->log,
		    s->verified ? "verified (chain and signatures)"
		                : "NOT VERIFIED");
	else
		printf("Logs: %zu server%s, %zu files: %s\n", s->nch,
		    s->nch > 1 ? "s" : "", a->nfiles,
		    s->verified ? "each verified (chain and signatures)"
		                : "NOT VERIFIED");
	for (i = 0; a->nfiles > 0 && i < s->nch; i++)
		printf("  %s: %s, seq %lld to %lld\n",
		    cli_escape(s->ch[i].host, who, sizeof(who), 0),
		    s->ch[i].res.ok ? "verified" : "DOES NOT VERIFY",
		    s->ch[i].res.first_seq, s->ch[i].res.last_seq);
	/* Retention removed the oldest files: say what is not covered. */
	for (i = 0; i < s->nch; i++)
		if (s->ch[i].res.ok && s->ch[i].res.first_seq > 1)
			printf("note: %s%s%sthe log's oldest files are gone: "
			       "records before seq %lld are not in this "
			       "report\n",
			    a->nfiles > 0 ? "on " : "",
			    a->nfiles > 0
			        ? cli_escape(s->ch[i].host, who, sizeof(who), 0)
			        : "",
			    a->nfiles > 0 ? ", " : "", s->ch[i].res.first_seq);
}

static void
print_table(const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s, const struct report_row *rows, size_t n,
    const struct report_totals *t)
{
	char u[CELL_MAX], pt[CELL_MAX], h[CELL_MAX];
	char first[CLI_TIME_LEN], last[CLI_TIME_LEN];
	int wt = a->local ? 32 : 27;
	int wu = col_width(rows, n, COL_USER, 4);
	int wp = col_width(rows, n, COL_PATIENT, 7);
	int wh = col_width(rows, n, COL_HOST, 6);
	size_t i;

	print_table_head(a, p, s);
	printf("\n%-*s  %-*s  %-*s  %6s  %12s  %-*s  %s\n", wu, "USER", wp,
	    "PATIENT", wh, "SERVER", "FILES", "BYTES", wt,
	    a->local ? "FIRST ACCESS (local)" : "FIRST ACCESS",
	    a->local ? "LAST ACCESS (local)" : "LAST ACCESS");
	for (i = 0; i < n; i++) {
		cli_escape(rows[i].first, first, sizeof(first), 0);
		cli_escape(rows[i].last, last, sizeof(last), 0);
		if (a->local) {
			cli_time_local(rows[i].first, first, sizeof(first));
			cli_time_local(rows[i].last, last, sizeof(last));
		}
		printf("%-*s  %-*s  %-*s  %6lld  %12lld  %-*s  %s\n", wu,
		    cli_escape(rows[i].user, u, sizeof(u), 0), wp,
		    cli_escape(rows[i].patient, pt, sizeof(pt), 0), wh,
		    cli_escape(rows[i].host, h, sizeof(h), 0), rows[i].files,
		    rows[i].bytes, wt, first, last);
	}
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

/* The page for --html and --pdf, written to F. */
static int
write_html(FILE *f, const struct report_args *a, const struct audit_paths *p,
    const struct report_state *s, const struct report_row *rows, size_t n,
    const struct report_totals *t)
{
	struct html_chain *hc;
	struct html_report h;
	char now[40];
	size_t i;
	int r;

	if ((hc = calloc(s->nch, sizeof(*hc))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < s->nch; i++) {
		const struct audit_verify_result *v = &s->ch[i].res;

		hc[i].host = s->ch[i].host;
		hc[i].ok = v->ok;
		hc[i].signatures_checked = v->signatures_checked;
		hc[i].records = v->records;
		hc[i].first_seq = v->first_seq;
		hc[i].last_seq = v->last_seq;
		hc[i].bad_seq = v->bad_seq;
		hc[i].problem = v->message;
	}
	(void)pg_utc(time(NULL), PG_TIME_TEXT, now, sizeof(now));
	memset(&h, 0, sizeof(h));
	h.user = a->user;
	h.since = a->since;
	h.until = a->until;
	h.log = a->nfiles == 0 ? p->log : NULL;
	h.generated = now;
	h.verified = s->verified;
	h.warning = s->warning;
	h.ch = hc;
	h.nch = s->nch;
	h.rows = rows;
	h.nrows = n;
	h.totals = t;
	h.opens = s->opens;
	h.nopens = s->nopens;
	h.locks = s->locks;
	h.nlocks = s->nlocks;
	h.after = s->after;
	r = report_html_write(f, &h);
	free(hc);
	return r;
}

/* Runs chromium to print HTML (a file) as PDF into PDF; 0 or PG_ERR_*. */
static int
print_pdf(const char *prog, const char *dir, const char *html, const char *pdf)
{
	static const char *const names[] = { "chromium", "chromium-browser",
		"google-chrome", NULL };
	char url[PATH_MAX_CLI + 8], out[PATH_MAX_CLI + 64],
	    prof[PATH_MAX_CLI + 20];
	int status, i, fd;
	pid_t pid;

	snprintf(url, sizeof(url), "file://%s", html);
	snprintf(out, sizeof(out), "--print-to-pdf=%s", pdf);
	snprintf(prof, sizeof(prof), "--user-data-dir=%s/profile", dir);
	if ((pid = fork()) < 0)
		return PG_ERR_IO;
	if (pid == 0) {
		/* The page has no script and loads nothing; chromium's own
		 * sandbox needs a user namespace root does not get. */
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		}
		(void)setenv("HOME", dir, 1);
		for (i = 0; names[i] != NULL; i++)
			execlp(names[i], names[i], "--headless", "--no-sandbox",
			    "--disable-gpu", "--disable-extensions",
			    "--no-first-run", "--no-pdf-header-footer", prof,
			    out, url, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < PDF_WAIT_S * 10; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return PG_ERR_IO;
		usleep(100000);
	}
	if (i == PDF_WAIT_S * 10) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		fprintf(stderr,
		    "%s: audit report: chromium did not print the PDF "
		    "within %d s\n",
		    prog, PDF_WAIT_S);
		return PG_ERR_TIMEOUT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr,
		    "%s: audit report: --pdf needs chromium (apt install "
		    "chromium); --html writes the same report as HTML\n",
		    prog);
		return PG_ERR_NOTFOUND;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    access(pdf, F_OK) != 0) {
		fprintf(stderr,
		    "%s: audit report: chromium failed to print "
		    "the PDF\n",
		    prog);
		return PG_ERR_IO;
	}
	return PG_OK;
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * --html (to stdout or --out) and --pdf: the file is written beside its
 * name and renamed over it only when whole, mode 0600 (it names patients).
 */
static int
print_page(const char *prog, const struct report_args *a,
    const struct audit_paths *p, const struct report_state *s,
    const struct report_row *rows, size_t n, const struct report_totals *t)
{
	char dir[] = "/tmp/photoguard-report.XXXXXX";
	char html[PATH_MAX_CLI], tmp[PATH_MAX_CLI + 16];
	FILE *f;
	int fd, r;

	if (a->out == NULL)
		return write_html(stdout, a, p, s, rows, n, t);
	if (strlen(a->out) + 24 > sizeof(tmp)) {
		fprintf(
		    stderr, "%s: audit report: --out: name too long\n", prog);
		return PG_ERR_INTERNAL;
	}
	if (mkdtemp(dir) == NULL)
		return PG_ERR_IO;
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", a->out, (long)getpid());
	if ((fd = open(a->fmt == FMT_PDF ? html : tmp,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	        0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "%s: audit report: %s: %s\n", prog,
		    a->fmt == FMT_PDF ? html : tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		r = PG_ERR_IO;
		goto out;
	}
	r = write_html(f, a, p, s, rows, n, t);
	if (fsync(fileno(f)) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	if (fclose(f) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	if (r == PG_OK && a->fmt == FMT_PDF) {
		r = print_pdf(prog, dir, html, tmp);
		if (r == PG_OK && chmod(tmp, 0600) != 0)
			r = PG_ERR_IO;
	}
	if (r == PG_OK && rename(tmp, a->out) != 0) {
		fprintf(stderr, "%s: audit report: %s: %s\n", prog, a->out,
		    strerror(errno));
		r = PG_ERR_IO;
	}
	if (r != PG_OK)
		(void)unlink(tmp);
out:
	/* The page and chromium's profile go with the directory. */
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r == PG_OK ? PG_OK : PG_ERR_INTERNAL;
}

static int
print_report(const char *prog, const struct report_args *a,
    const struct audit_paths *p, struct report_state *s)
{
	const struct report_row *rows;
	struct report_totals t;
	size_t n;
	int r;

	if ((r = report_rows(s->rep, &rows, &n, &t)) != PG_OK)
		return r;
	if (a->fmt == FMT_JSON)
		return print_json(a, p, s, rows, n, &t);
	if (a->fmt == FMT_HTML || a->fmt == FMT_PDF)
		return print_page(prog, a, p, s, rows, n, &t);
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

	memset(&a, 0, sizeof(a));
	if ((r = parse_report_args(argc, argv, &a)) >= 0 ||
	    (r = cli_time_opt(ctx, "audit report", "--since", CLI_TIME_START,
	         &a.since, a.since_buf, sizeof(a.since_buf))) != CLI_EXIT_OK ||
	    (r = cli_time_opt(ctx, "audit report", "--until", CLI_TIME_END,
	         &a.until, a.until_buf, sizeof(a.until_buf))) != CLI_EXIT_OK) {
		cli_keys_free(&a.keys);
		return r;
	}
	memset(&s, 0, sizeof(s));
	s.from_seq = a.from_seq;
	memset(&f, 0, sizeof(f));
	f.actor = a.user;
	/* The page's timeline shows the lockouts too. */
	s.timeline = a.fmt == FMT_HTML || a.fmt == FMT_PDF;
	f.event = s.timeline ? NULL : "gateway.";
	f.since = a.since;
	f.until = a.until;
	if (a.nfiles > 0 && a.keys.def == NULL) {
		/* The configured key is the default for this host's log. */
		if (cli_audit_paths(ctx, a.files[0], NULL, &p) != PG_OK)
			p.pub[0] = '\0';
	} else if (cli_audit_paths(ctx, a.nfiles > 0 ? a.files[0] : a.log,
	               a.keys.def, &p) != PG_OK) {
		cli_keys_free(&a.keys);
		return CLI_EXIT_ERROR;
	}
	r = check_logs(ctx, &a, &p, &s);
	if (r == PG_OK && (r = report_new(&s.rep)) == PG_OK)
		r = read_logs(p.log, &f, &s);
	else if (r != PG_ERR_NOMEM)
		r = PG_ERR_INTERNAL; /* said on stderr already */
	if (r == PG_OK)
		r = print_report(ctx->progname, &a, &p, &s);
	report_free(s.rep);
	free(s.opens);
	for (size_t i = 0; i < s.nlocks; i++) {
		free(s.locks[i].host);
		free(s.locks[i].actor);
		free(s.locks[i].rule);
		free(s.locks[i].reason);
	}
	free(s.locks);
	free(s.ch);
	cli_chains_free(s.groups, s.ngroups);
	cli_keys_free(&a.keys);
	if (r == PG_ERR_INTERNAL)
		return CLI_EXIT_ERROR;
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
