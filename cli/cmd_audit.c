/*
 * cmd_audit.c - `photoguard audit verify|query|keygen|report|repair`: the
 * admin's and the auditor's view of the audit log.  The log and key come
 * from the configuration, or from --log/--key (an auditor's copy
 * elsewhere).  The report lives in cmd_audit_report.c, repair in
 * cmd_audit_repair.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/admin_audit.h"
#include "cli/audit_hosts.h"
#include "cli/cmd_audit.h"
#include "cli/timearg.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "core/config/config.h"
#include "base/base.h"

int
cli_audit_paths(const struct cli_ctx *ctx, const char *log, const char *pub,
    struct audit_paths *p)
{
	struct pg_config *cfg = NULL;
	char err[512];
	int r = PG_OK;

	memset(p, 0, sizeof(*p));
	if (log == NULL || pub == NULL) {
		r = pg_config_load(ctx->config_path, &cfg, err, sizeof(err));
		if (r != PG_OK && log == NULL) {
			fprintf(stderr, "%s: %s\n", ctx->progname, err);
			return r;
		}
		r = PG_OK; /* the command line named the log */
	}
	if (log == NULL)
		log = cfg->audit_log;
	if (log == NULL ||
	    snprintf(p->log, sizeof(p->log), "%s", log) >= (int)sizeof(p->log))
		r = PG_ERR_CONFIG;
	else if (pub != NULL)
		snprintf(p->pub, sizeof(p->pub), "%s", pub);
	else if (cfg != NULL && cfg->audit_key_file != NULL)
		snprintf(p->pub, sizeof(p->pub), "%s.pub", cfg->audit_key_file);
	pg_config_free(cfg);
	if (r != PG_OK)
		fprintf(stderr, "%s: no audit log configured (use --log)\n",
		    ctx->progname);
	return r;
}

/* The options of verify and query; each accepts only its own. */
struct audit_args {
	const char *log;
	const char *key;
	struct audit_filter f;
	int json;
	int local; /* --local: times in the table as local time */
	char since[CLI_TIME_LEN], until[CLI_TIME_LEN];
};

/*
 * Parses the options of ARGV (SHORTOPTS, OPTS) into A.  Returns -1 to go
 * on, or the exit code once USAGE has been shown (--help, a bad option).
 */
static int
parse_args(int argc, char **argv, const char *shortopts,
    const struct option *opts, int (*usage)(FILE *), struct audit_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			a->key = optarg;
			break;
		case 'l':
			a->log = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'L':
			a->local = 1;
			break;
		case 'u':
			a->f.actor = optarg;
			break;
		case 'p':
			a->f.patient = optarg;
			break;
		case 'e':
			a->f.event = optarg;
			break;
		case 's':
			a->f.since = optarg;
			break;
		case 't':
			a->f.until = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	return -1;
}

static int
verify_usage(FILE *f)
{
	fputs(
	    "Usage: photoguard audit verify [--key PUB | --key HOST=PUB...] "
	    "[--keys DIR]\n"
	    "                               [--json] [--log FILE | FILE...]\n"
	    "  Checks the hash chain, checkpoint signatures and head file of\n"
	    "  the log and of its rotated files (FILE.1, FILE.2.gz, FILE-*).\n"
	    "  --log FILE  log to verify (default: audit_log); same as one FILE\n"
	    "  FILE...     several files: the logs of one or more hosts, each\n"
	    "              host's files verified as its own chain\n"
	    "  --key PUB   public key (default: audit_key_file + .pub);\n"
	    "              HOST=PUB for one host's, as often as needed\n"
	    "  --keys DIR  public keys named HOST.pub\n"
	    "  --from-seq N  accept a set whose oldest files were removed\n"
	    "              (retention) if it starts at seq N or before\n"
	    "  --json      print the verdict as JSON\n"
	    "   or: photoguard audit verify --collector FILE [--key HOST=PUB]..."
	    "\n"
	    "  Verifies each host in a collector's syslog copy "
	    "(--collector --help).\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* --from-seq: where the auditor expects the kept history to start. */
static long long from_seq;

/* A set that starts past seq 1 is proven only from there: accepted when
 * the auditor said the history may start that late. */
static int
partial_ok(const struct audit_verify_result *res)
{
	return res->first_seq <= 1 ||
	    (from_seq > 0 && res->first_seq <= from_seq);
}

/* Everything proven: the chain, the signatures, and from the start. */
static int
proven(const struct audit_verify_result *res)
{
	return res->ok && res->signatures_checked && partial_ok(res);
}

static json_t *
verdict_json(const char *host, const struct audit_verify_result *res)
{
	return json_pack("{s:b,s:s*,s:I,s:I,s:I,s:I,s:I,s:s,s:b,s:s,s:I,s:I,"
	                 "s:s,s:i,s:s,s:b,s:I,s:s*}",
	    "ok", res->ok, "host", host, "records", (json_int_t)res->records,
	    "checkpoints", (json_int_t)res->checkpoints, "last_seq",
	    (json_int_t)res->last_seq, "bad_seq", (json_int_t)res->bad_seq,
	    "unsigned_tail", (json_int_t)res->unsigned_tail, "kind",
	    audit_fail_name(res->kind), "signatures_checked",
	    res->signatures_checked, "message", res->message, "repairs",
	    (json_int_t)res->repairs, "first_seq", (json_int_t)res->first_seq,
	    "first_time", res->first_time, "files", res->files, "file",
	    res->file, "proven", proven(res), "key_changes",
	    (json_int_t)res->key_changes, "key_id",
	    res->signatures_checked ? res->key_id : NULL);
}

static void
print_json(json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s != NULL)
		puts(s);
	free(s);
	json_decref(j);
}

static void
print_verdict(const char *pre, const struct audit_verify_result *res)
{
	if (!res->ok) {
		printf("%sFAIL: seq %lld: %s: %s\n", pre, res->bad_seq,
		    audit_fail_name(res->kind), res->message);
		if (res->files > 1)
			printf("%sin %s\n", pre, res->file);
		if (res->records > 0)
			printf("%srecords up to seq %lld verify\n", pre,
			    res->last_seq);
		return;
	}
	printf("%sOK: %lld records, %lld checkpoints, last seq %lld\n", pre,
	    res->records, res->checkpoints, res->last_seq);
	if (res->files > 1)
		printf("%snote: %d files, one chain from seq %lld\n", pre,
		    res->files, res->first_seq);
	if (res->key_changes > 0 && res->signatures_checked)
		printf("%snote: %lld key change%s, each signed by the key "
		       "before; the log now signs with key %s\n",
		    pre, res->key_changes, res->key_changes > 1 ? "s" : "",
		    res->key_id);
	if (res->first_seq > 1)
		printf("%s%s: the oldest file continues one that is not "
		       "there (removed by retention, or by someone): records "
		       "before seq %lld are not checked; the chain is proven "
		       "from %s on%s\n",
		    pre, partial_ok(res) ? "note" : "WARNING", res->first_seq,
		    res->first_time,
		    partial_ok(res) ? ""
		                    : " (exit 1; --from-seq N accepts a start "
		                      "at N or before)");
	if (res->unsigned_tail > 0)
		printf("%snote: %lld records after the last checkpoint are "
		       "covered by the chain only\n",
		    pre, res->unsigned_tail);
	if (res->repairs > 0)
		printf("%snote: %lld repaired gap%s, %s seq %lld: %s (records "
		       "may be lost there: audit query --event audit.repair)\n",
		    pre, res->repairs, res->repairs > 1 ? "s" : "",
		    res->repairs > 1 ? "first at" : "at", res->first_repair_seq,
		    res->first_repair);
	if (res->torn_repairs > 0)
		printf("%snote: %lld unfinished records left by crashes were "
		       "removed and recorded (first at seq %lld)\n",
		    pre, res->torn_repairs, res->first_torn_seq);
	if (!res->signatures_checked)
		printf("%sWARNING: no public key given: signatures not "
		       "checked; the chain alone does not prove who wrote the "
		       "log (exit 1; give --key)\n",
		    pre);
}

struct verify_args {
	const char *log;
	struct cli_keys keys;
	int json;
};

/* Returns -1 to go on, or an exit code. */
static int
parse_verify(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = { { "key", 1, NULL, 'k' },
		{ "keys", 1, NULL, 'K' }, { "log", 1, NULL, 'l' },
		{ "json", 0, NULL, 'j' }, { "from-seq", 1, NULL, 'F' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int c;

	optind = 1;
	from_seq = 0;
	while ((c = getopt_long(argc, argv, "k:K:l:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (cli_keys_add(&a->keys, optarg) != PG_OK) {
				fprintf(stderr,
				    "photoguard: audit verify: --key %s: give "
				    "one PUB, and HOST=PUB for the others\n",
				    optarg);
				return verify_usage(stderr);
			}
			break;
		case 'K':
			a->keys.dir = optarg;
			break;
		case 'l':
			a->log = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'F':
			if (cli_from_seq("verify", optarg, &from_seq) != 0)
				return verify_usage(stderr);
			break;
		case 'h':
			return verify_usage(stdout);
		default:
			return verify_usage(stderr);
		}
	}
	if (a->log == NULL && argc - optind == 1)
		a->log = argv[optind++];
	if (a->log != NULL && optind != argc)
		return verify_usage(stderr);
	return -1;
}

/* The log (the configured one, or --log) with its rotated files. */
static int
verify_log(const struct cli_ctx *ctx, struct verify_args *a)
{
	struct audit_verify_result res;
	struct audit_paths p;
	char pub[PATH_MAX_CLI];
	int r;

	if (cli_audit_paths(ctx, a->log, a->keys.def, &p) != PG_OK)
		return CLI_EXIT_ERROR;
	snprintf(pub, sizeof(pub), "%s", p.pub);
	if (pub[0] != '\0' && access(pub, R_OK) != 0) {
		fprintf(stderr, "%s: audit verify: %s: %s\n", ctx->progname,
		    pub, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	r = audit_verify_set(
	    p.log, true, NULL, 0, pub[0] != '\0' ? pub : NULL, &res);
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit verify: %s: %s\n", ctx->progname,
		    r == PG_ERR_CRYPTO ? pub : p.log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
	if (a->json)
		print_json(verdict_json(NULL, &res));
	else
		print_verdict("", &res);
	/* Without the signatures nothing is proven: not a pass. */
	return proven(&res) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* Several files: one verdict per host's chain. */
static int
verify_files(
    const struct cli_ctx *ctx, struct verify_args *a, char **files, size_t n)
{
	struct audit_verify_result res;
	struct audit_paths p;
	struct cli_chain *c = NULL;
	char pub[PATH_MAX_CLI], pre[300], host[256];
	json_t *all = a->json ? json_array() : NULL;
	size_t nc = 0, i;
	int r, ok = 1;

	/* The configured key is the default for this host's own log. */
	if (a->keys.def == NULL &&
	    cli_audit_paths(ctx, files[0], NULL, &p) != PG_OK)
		p.pub[0] = '\0';
	if (cli_chains(ctx->progname, files, n, &c, &nc) != PG_OK)
		return CLI_EXIT_ERROR;
	if (nc == 0) {
		fprintf(stderr,
		    "%s: audit verify: no records in the files "
		    "given\n",
		    ctx->progname);
		ok = 0;
	}
	for (i = 0; i < nc; i++) {
		cli_keys_for(&a->keys, c[i].host,
		    a->keys.def == NULL && p.pub[0] != '\0' ? p.pub : NULL, pub,
		    sizeof(pub));
		r = audit_verify_set(NULL, false, c[i].files, c[i].n,
		    pub[0] != '\0' ? pub : NULL, &res);
		cli_escape(c[i].host, host, sizeof(host), 0);
		if (r != PG_OK) {
			fprintf(stderr, "%s: audit verify: host %s: %s: %s\n",
			    ctx->progname, host,
			    r == PG_ERR_CRYPTO ? pub : c[i].files[0],
			    pg_strerror(r));
			ok = 0;
			continue;
		}
		ok &= proven(&res);
		if (all != NULL)
			json_array_append_new(
			    all, verdict_json(c[i].host, &res));
		else {
			snprintf(pre, sizeof(pre), "host %s: ", host);
			print_verdict(pre, &res);
		}
	}
	if (all != NULL)
		print_json(json_pack("{s:b,s:o}", "ok", ok, "hosts", all));
	cli_chains_free(c, nc);
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int
audit_verify_main(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct verify_args a;
	int r, i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--collector", 11) == 0)
			return cli_audit_collector(ctx, argc, argv);
	memset(&a, 0, sizeof(a));
	if ((r = parse_verify(argc, argv, &a)) < 0)
		r = optind < argc ? verify_files(ctx, &a, argv + optind,
		                        (size_t)(argc - optind))
		                  : verify_log(ctx, &a);
	cli_keys_free(&a.keys);
	return r;
}

/* How print_row() shows a record. */
struct row_style {
	int json;
	int local;
};

static int
print_row(const struct audit_record *rec, void *arg)
{
	char actor[256], event[256], obj[4096 * 2], dec[32], when[64];
	const struct row_style *st = arg;

	if (st->json) {
		printf("%.*s\n", (int)rec->len, rec->line);
		return 0;
	}
	cli_escape(rec->actor, actor, sizeof(actor), 0);
	cli_escape(rec->event, event, sizeof(event), 0);
	cli_escape(rec->decision, dec, sizeof(dec), 0);
	cli_escape(rec->patient != NULL ? rec->patient : rec->object, obj,
	    sizeof(obj), 0);
	if (rec->patient != NULL && rec->object != NULL) {
		size_t n = strlen(obj);

		if (n + 3 < sizeof(obj)) {
			memcpy(obj + n, " : ", 4);
			cli_escape(
			    rec->object, obj + n + 3, sizeof(obj) - n - 3, 0);
		}
	}
	cli_escape(rec->time, when, sizeof(when), 0);
	if (st->local && rec->time != NULL)
		cli_time_local(rec->time, when, sizeof(when));
	printf("%-*s %7lld %-12s %-18s %-8s %s\n", st->local ? 32 : 27, when,
	    rec->seq, actor, event, dec, obj);
	return 0;
}

static int
query_usage(FILE *f)
{
	fputs(
	    "Usage: photoguard audit query [--user U] [--patient P] "
	    "[--event E] [--since T]\n"
	    "                              [--until T] [--json | --local] "
	    "[--log FILE]\n"
	    "  Lists audit records (table, or JSON lines with --json), of the\n"
	    "  log and its rotated files, oldest first.\n"
	    "  --event E   exact event, or a prefix ending in '.' (gateway.)\n"
	    "  T           a time (below), inclusive\n"
	    "  --local     the table's times in local time (TZ), with their\n"
	    "              offset; the default and --json are UTC\n"
	    "  The chain is not checked here: run audit verify for that.\n",
	    f);
	cli_time_usage(f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static int
run_query(const struct cli_ctx *ctx, const char *log,
    const struct audit_filter *f, struct row_style *st)
{
	struct audit_paths p;
	long long skipped = 0;
	int r;

	if (cli_audit_paths(ctx, log, "", &p) != PG_OK)
		return CLI_EXIT_ERROR;
	if (!st->json)
		printf("%-*s %7s %-12s %-18s %-8s %s\n", st->local ? 32 : 27,
		    st->local ? "TIME (local)" : "TIME", "SEQ", "ACTOR",
		    "EVENT", "DECISION", "PATIENT : OBJECT");
	r = audit_query_set(p.log, true, NULL, 0, f, print_row, st, &skipped);
	if (r == PG_ERR_INVAL) {
		fprintf(stderr,
		    "%s: audit query: bad time in --since/--until\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit query: %s: %s\n", ctx->progname,
		    p.log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
	if (skipped > 0)
		fprintf(stderr, "%s: audit query: %lld lines did not parse\n",
		    ctx->progname, skipped);
	return CLI_EXIT_OK;
}

static int
audit_query_main(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "user", 1, NULL, 'u' },
		{ "patient", 1, NULL, 'p' }, { "event", 1, NULL, 'e' },
		{ "since", 1, NULL, 's' }, { "until", 1, NULL, 't' },
		{ "log", 1, NULL, 'l' }, { "json", 0, NULL, 'j' },
		{ "local", 0, NULL, 'L' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct audit_args a;
	struct row_style st;
	int r;

	r = parse_args(argc, argv, "u:p:e:s:t:l:jh", opts, query_usage, &a);
	if (r >= 0)
		return r;
	if (optind != argc)
		return query_usage(stderr);
	if (a.json && a.local) {
		fprintf(stderr,
		    "%s: audit query: --local is for the table; "
		    "--json stays UTC\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if ((r = cli_time_opt(ctx, "audit query", "--since", CLI_TIME_START,
	         &a.f.since, a.since, sizeof(a.since))) != CLI_EXIT_OK ||
	    (r = cli_time_opt(ctx, "audit query", "--until", CLI_TIME_END,
	         &a.f.until, a.until, sizeof(a.until))) != CLI_EXIT_OK)
		return r;
	st.json = a.json;
	st.local = a.local;
	return run_query(ctx, a.log, &a.f, &st);
}

/*
 * "public key HEX" from PATH.pub into BUF: the key's public half, which
 * an auditor needs to know anyway, never the secret.
 */
static void
public_reason(const char *path, char *buf, size_t len)
{
	char pub[PATH_MAX_CLI + 8], hex[80];
	FILE *f;
	size_t n;

	snprintf(buf, len, "signing key created");
	if (snprintf(pub, sizeof(pub), "%s.pub", path) >= (int)sizeof(pub) ||
	    (f = fopen(pub, "re")) == NULL)
		return;
	if (fgets(hex, sizeof(hex), f) != NULL) {
		n = strspn(hex, "0123456789abcdef");
		if (n == 64)
			snprintf(buf, len,
			    "signing key created; public key %.64s", hex);
	}
	fclose(f);
}

/*
 * Records the new key in the log it signs (the configured [audit] key):
 * on a first install the log begins with that record, signed by the key.
 * A key this host's configuration does not use (an auditor's, a staged
 * tree's) changes nothing here and is not recorded.
 */
static int
keygen_record(const struct cli_ctx *ctx, const char *path, struct cli_audit *au)
{
	char why[160];

	if (au->cfg == NULL || !cli_same_path(path, au->cfg->audit_key_file))
		return CLI_EXIT_OK;
	if (cli_audit_open(ctx, au, "the new key is made but not on record") !=
	    CLI_EXIT_OK)
		return CLI_EXIT_ERROR;
	public_reason(path, why, sizeof(why));
	if (cli_audit_record(au, "admin.audit.keygen", path, "allow", why) !=
	        PG_OK ||
	    cli_audit_end(au) != PG_OK) {
		fprintf(stderr,
		    "%s: audit keygen: the audit log did not take the record "
		    "of the new key %s (made all the same)\n",
		    ctx->progname, path);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static int
audit_keygen_main(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_audit au = { NULL, NULL };
	int r;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		puts(
		    "Usage: photoguard audit keygen FILE\n"
		    "  Creates the checkpoint signing key: FILE (secret, 0600)\n"
		    "  and FILE.pub (public, for auditors).  When FILE is the\n"
		    "  configured [audit] key, the log records it (audited).");
		return CLI_EXIT_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fputs("Usage: photoguard audit keygen FILE\n", stderr);
		return CLI_EXIT_USAGE;
	}
	/* A configuration that does not load stops it before the key. */
	if ((r = cli_audit_load(ctx, &au)) != CLI_EXIT_OK)
		return r;
	if ((r = audit_keygen(argv[1])) != PG_OK) {
		fprintf(stderr, "%s: audit keygen: %s: %s\n", ctx->progname,
		    argv[1], pg_strerror(r));
		(void)cli_audit_end(&au);
		return CLI_EXIT_ERROR;
	}
	printf("wrote %s (secret) and %s.pub (public)\n", argv[1], argv[1]);
	r = keygen_record(ctx, argv[1], &au);
	(void)cli_audit_end(&au);
	return r;
}

/* A collector's copy goes to cmd_audit_collect.c, host by host. */
static int
audit_report_main(const struct cli_ctx *ctx, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--collector", 11) == 0)
			return cli_audit_report_collector(ctx, argc, argv);
	return cli_audit_report(ctx, argc, argv);
}

static const struct {
	const char *name;
	cli_verb_fn fn;
	const char *help;
} subverbs[] = {
	{ "verify", audit_verify_main, "prove the log untouched" },
	{ "query", audit_query_main, "list records by user, patient, time" },
	{ "keygen", audit_keygen_main, "create the checkpoint signing key" },
	{ "report", audit_report_main, "which patients an account opened" },
	{ "repair", cli_audit_repair, "record a gap so writers resume" },
	{ "rotate", cli_audit_rotate, "start a new file of the chain" },
	{ "rekey", cli_audit_rekey, "move the log to a new signing key" },
	{ "export", cli_audit_export, "write IHE ATNA / DICOM audit messages" },
};

int
cmd_audit(const struct cli_ctx *ctx, int argc, char **argv)
{
	size_t i;
	FILE *f = stderr;

	if (argc >= 2) {
		for (i = 0; i < sizeof(subverbs) / sizeof(subverbs[0]); i++)
			if (strcmp(argv[1], subverbs[i].name) == 0)
				return subverbs[i].fn(ctx, argc - 1, argv + 1);
		if (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "help") == 0)
			f = stdout;
		else
			fprintf(stderr, "%s: audit: unknown command '%s'\n",
			    ctx->progname, argv[1]);
	}
	fputs("Usage: photoguard audit COMMAND [options]\n", f);
	for (i = 0; i < sizeof(subverbs) / sizeof(subverbs[0]); i++)
		fprintf(f, "  %-8s %s\n", subverbs[i].name, subverbs[i].help);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}
