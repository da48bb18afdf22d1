/*
 * cmd_audit_collect.c - `photoguard audit verify --collector FILE`: the
 * collector's copy of many hosts' audit trails (the rsyslog file the
 * shipped collector snippet writes), taken apart per host by
 * audit_collect_split() into a private directory and each host's chain
 * proven with that host's public key; a host whose messages stopped is
 * named.  What this proves: docs/audit-format.md, "Syslog".
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_audit.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "base/base.h"

#define KEYS_MAX 4096

struct hostkey {
	char *host;
	char pub[PATH_MAX_CLI];
	int seen;
};

struct coll_args {
	const char *file;
	const char *keydir;
	long long stale_s; /* 0: not checked */
	struct hostkey *keys;
	size_t nkeys;
};

static int
collector_usage(FILE *f)
{
	fputs("Usage: photoguard audit verify --collector FILE "
	      "[--key HOST=PUB]... [--keys DIR]\n"
	      "                              [--stale DURATION]\n"
	      "  Verifies each host's chain in a collector's syslog copy.\n"
	      "  FILE          the collector's file (RFC 5424 lines; - for "
	      "stdin)\n"
	      "  --key H=PUB   host H's public key (repeat per host)\n"
	      "  --keys DIR    DIR/HOST.pub for each host; every key there "
	      "names\n"
	      "                a host that must be in FILE\n"
	      "  --stale DUR   name a host whose last signed head or "
	      "heartbeat is DUR\n"
	      "                older than the newest of any host (30s, 15m, "
	      "2h, 1d)\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* "90s", "15m", "2h", "1d" (a bare number: seconds) to seconds. */
static int
parse_duration(const char *s, long long *out)
{
	char *e;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || v <= 0 || v > 100LL * 365 * 86400)
		return -1;
	if (strcmp(e, "d") == 0)
		v *= 86400;
	else if (strcmp(e, "h") == 0)
		v *= 3600;
	else if (strcmp(e, "m") == 0)
		v *= 60;
	else if (strcmp(e, "s") != 0 && *e != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
add_key(struct coll_args *a, const char *host, size_t hlen, const char *pub)
{
	struct hostkey *k;
	char *h;
	size_t i;

	for (i = 0; i < a->nkeys; i++)
		if (strlen(a->keys[i].host) == hlen &&
		    memcmp(a->keys[i].host, host, hlen) == 0)
			return -1; /* one key per host */
	if (a->nkeys >= KEYS_MAX || hlen == 0 ||
	    strlen(pub) >= sizeof(k->pub) ||
	    (k = realloc(a->keys, (a->nkeys + 1) * sizeof(*k))) == NULL)
		return -1;
	a->keys = k;
	if ((h = strndup(host, hlen)) == NULL)
		return -1;
	k += a->nkeys++;
	k->host = h;
	k->seen = 0;
	memcpy(k->pub, pub, strlen(pub) + 1);
	return 0;
}

/* Every DIR/HOST.pub: a host that must be there, and its key. */
static int
load_keydir(const struct cli_ctx *ctx, struct coll_args *a)
{
	char path[PATH_MAX_CLI];
	struct dirent *de;
	size_t n;
	DIR *d;
	int r = 0;

	if ((d = opendir(a->keydir)) == NULL) {
		fprintf(stderr, "%s: audit verify: %s: %s\n", ctx->progname,
		    a->keydir, strerror(errno));
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= 4 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + n - 4, ".pub") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", a->keydir,
		        de->d_name) >= (int)sizeof(path) ||
		    add_key(a, de->d_name, n - 4, path) != 0) {
			fprintf(stderr,
			    "%s: audit verify: %s: cannot take "
			    "this key (two keys for one host?)\n",
			    ctx->progname, de->d_name);
			r = -1;
		}
	}
	closedir(d);
	return r;
}

static void
free_args(struct coll_args *a)
{
	size_t i;

	for (i = 0; i < a->nkeys; i++)
		free(a->keys[i].host);
	free(a->keys);
}

static int
parse_coll(
    const struct cli_ctx *ctx, int argc, char **argv, struct coll_args *a)
{
	static const struct option opts[] = { { "collector", 1, NULL, 'c' },
		{ "key", 1, NULL, 'k' }, { "keys", 1, NULL, 'K' },
		{ "stale", 1, NULL, 's' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *eq;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:k:K:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->file = optarg;
			break;
		case 'k':
			if ((eq = strchr(optarg, '=')) == NULL ||
			    add_key(a, optarg, (size_t)(eq - optarg), eq + 1) !=
			        0 ||
			    eq[1] == '\0') {
				fprintf(stderr,
				    "%s: audit verify: --key wants HOST=PUB, "
				    "once per host: %s\n",
				    ctx->progname, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'K':
			a->keydir = optarg;
			break;
		case 's':
			if (parse_duration(optarg, &a->stale_s) != 0) {
				fprintf(stderr,
				    "%s: audit verify: --stale: not a "
				    "duration: %s\n",
				    ctx->progname, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			return collector_usage(stdout);
		default:
			return collector_usage(stderr);
		}
	}
	if (optind != argc || a->file == NULL)
		return collector_usage(stderr);
	if (a->keydir != NULL && load_keydir(ctx, a) != 0)
		return CLI_EXIT_ERROR;
	return -1;
}

static struct hostkey *
key_of(struct coll_args *a, const char *host)
{
	size_t i;

	for (i = 0; i < a->nkeys; i++)
		if (strcmp(a->keys[i].host, host) == 0)
			return &a->keys[i];
	return NULL;
}

/* T (Unix seconds) as UTC text into BUF. */
static const char *
utc(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "never");
	return buf;
}

/* What a host says of itself, signed: its latest head's time, or its
 * newest heartbeat's if that verifies and is newer (0: nothing signed).
 * Sets *BEAT_BAD when a heartbeat arrived that the key the host's chain
 * signs with now (PK, NULL: none known) did not sign. */
static long long
signed_life(const struct audit_collect *c, size_t i, const unsigned char *pk,
    int *beat_bad, int *by_beat)
{
	const struct audit_collect_host *h = audit_collect_host(c, i);
	long long beat = 0;
	int r;

	*beat_bad = 0;
	*by_beat = 0;
	if (pk == NULL)
		return 0;
	r = audit_collect_heartbeat(c, i, pk, &beat);
	if (r != PG_OK && r != PG_ERR_NOTFOUND)
		*beat_bad = 1;
	if (r == PG_OK && beat > h->head_time) {
		*by_beat = 1;
		return beat;
	}
	return h->head_time;
}

static void
print_problems(const struct audit_collect_host *h)
{
	size_t i;

	for (i = 0; i < h->nproblem; i++)
		printf("  problem: %s\n", h->problem[i]);
	if (h->problems > (long long)h->nproblem)
		printf("  ... and %lld more problems\n",
		    h->problems - (long long)h->nproblem);
}

/* One host's verdict; 1 when it passes.  NEWEST: the newest signed sign
 * of life of any host. */
/* One host's chain, verified once, and its signed sign of life. */
struct host_verdict {
	struct audit_verify_result res;
	int r; /* audit_verify()'s return */
	int beat_bad, by_beat;
	long long life;
};

/* Heartbeats are signed by the key of the moment: the chain's last
 * audit.key names it, proven from the first key. */
static void
verify_host(const struct audit_collect *c, size_t i, struct coll_args *a,
    struct host_verdict *v)
{
	const struct audit_collect_host *h = audit_collect_host(c, i);
	struct hostkey *k = key_of(a, h->name);

	v->r = audit_verify(h->log, k != NULL ? k->pub : NULL, &v->res);
	v->life = signed_life(c, i,
	    k != NULL && v->r == PG_OK && v->res.signatures_checked ? v->res.key
	                                                            : NULL,
	    &v->beat_bad, &v->by_beat);
}

static int
judge_host(const struct audit_collect *c, size_t i, struct coll_args *a,
    const struct host_verdict *v, long long newest)
{
	const struct audit_collect_host *h = audit_collect_host(c, i);
	struct hostkey *k = key_of(a, h->name);
	char name[512], when[32];
	long long life = v->life;
	int r = v->r, good, beat_bad = v->beat_bad, by_beat = v->by_beat;

	cli_escape(h->name, name, sizeof(name), CLI_ESC_BACKSLASH);
	if (k != NULL)
		k->seen = 1;
	good = r == PG_OK && v->res.ok && h->problems == 0 && k != NULL &&
	    !beat_bad;
	if (r != PG_OK)
		printf(
		    "host %s: FAIL: cannot verify: %s\n", name, pg_strerror(r));
	else if (!v->res.ok)
		printf("host %s: FAIL: seq %lld: %s: %s\n", name,
		    v->res.bad_seq, audit_fail_name(v->res.kind),
		    v->res.message);
	else
		printf("host %s: %s: %lld records, %lld checkpoints, last seq "
		       "%lld, head seq %lld\n",
		    name, good ? "OK" : "FAIL", v->res.records,
		    v->res.checkpoints, v->res.last_seq, h->head_seq);
	if (k == NULL)
		printf("  no public key for this host (--key %s=PUB or "
		       "--keys DIR): nothing is proven\n",
		    name);
	print_problems(h);
	if (beat_bad)
		printf("  problem: its newest heartbeat is not signed by this "
		       "host's key\n");
	if (r == PG_OK && v->res.ok && v->res.unsigned_tail > 0)
		printf("  note: %lld records after the last checkpoint are "
		       "covered by the chain only\n",
		    v->res.unsigned_tail);
	printf("  last signed sign of life %s (%s); newest message %s\n",
	    utc(life, when, sizeof(when)), by_beat ? "heartbeat" : "head",
	    h->last_stamp[0] ? h->last_stamp : "-");
	if (a->stale_s > 0 && newest - life > a->stale_s) {
		printf("  STALE: %llds behind the newest host (--stale %llds): "
		       "its records stopped arriving, or it went silent\n",
		    newest - life, a->stale_s);
		good = 0;
	}
	return good;
}

static int
judge_all(const struct audit_collect *c, struct coll_args *a)
{
	struct host_verdict *v;
	const char *const *kept;
	long long newest = 0, nfile;
	char name[512];
	size_t i, nkept, n = audit_collect_count(c);
	int good = 1;

	if ((v = calloc(n > 0 ? n : 1, sizeof(*v))) == NULL) {
		printf("FAIL: out of memory\n");
		return 0;
	}
	/* Staleness is measured against signed times only: a header's
	 * timestamp is anybody's to write. */
	for (i = 0; i < n; i++) {
		verify_host(c, i, a, &v[i]);
		if (v[i].life > newest)
			newest = v[i].life;
	}
	for (i = 0; i < n; i++)
		good &= judge_host(c, i, a, &v[i], newest);
	free(v);
	for (i = 0; i < a->nkeys; i++)
		if (!a->keys[i].seen) {
			cli_escape(a->keys[i].host, name, sizeof(name),
			    CLI_ESC_BACKSLASH);
			printf("host %s: FAIL: no messages at all from this "
			       "host\n",
			    name);
			good = 0;
		}
	nfile = audit_collect_file_problems(c, &nkept, &kept);
	for (i = 0; i < nkept; i++)
		printf("file: problem: %s\n", kept[i]);
	if (nfile > (long long)nkept)
		printf("file: ... and %lld more problems\n",
		    nfile - (long long)nkept);
	if (audit_collect_count(c) == 0) {
		printf("FAIL: no photoguard audit messages in the file\n");
		good = 0;
	}
	good &= nfile == 0;
	printf("%s\n",
	    good ? "OK: every host verifies" : "FAIL: see the hosts above");
	return good;
}

/* Takes A->file apart into a fresh private directory DIR; 0 with *OUT. */
static int
split_file(const struct cli_ctx *ctx, const char *verb,
    const struct coll_args *a, char *dir, size_t dirlen,
    struct audit_collect **out)
{
	const char *tmp = getenv("TMPDIR");
	FILE *in;
	int r;

	in = strcmp(a->file, "-") == 0 ? stdin : fopen(a->file, "re");
	if (in == NULL) {
		fprintf(stderr, "%s: audit %s: %s: %s\n", ctx->progname, verb,
		    a->file, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	/* Each host's copy in a private directory of its own. */
	snprintf(dir, dirlen, "%s/photoguard-collect.XXXXXX",
	    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	r = mkdtemp(dir) != NULL ? audit_collect_split(in, dir, out)
	                         : PG_ERR_IO;
	if (in != stdin)
		fclose(in);
	if (r != PG_OK) {
		fprintf(stderr, "%s: audit %s: %s: %s\n", ctx->progname, verb,
		    a->file, pg_strerror(r));
		(void)rmdir(dir);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

int
cli_audit_collector(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct audit_collect *c = NULL;
	struct coll_args a;
	char dir[PATH_MAX_CLI];
	int r;

	memset(&a, 0, sizeof(a));
	if ((r = parse_coll(ctx, argc, argv, &a)) >= 0 ||
	    (r = split_file(ctx, "verify", &a, dir, sizeof(dir), &c)) !=
	        CLI_EXIT_OK) {
		free_args(&a);
		return r;
	}
	r = judge_all(c, &a) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	audit_collect_remove(c);
	audit_collect_free(c);
	(void)rmdir(dir);
	free_args(&a);
	return r;
}

/* The value of option NAME at ARGV[*I] ("--name V" or "--name=V"), the
 * index moved past it; NULL when ARGV[*I] is not that option. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* Splits the command line of `report --collector` into the collector's
 * options (A) and the report's own (REST, NREST). */
static int
parse_report_coll(const struct cli_ctx *ctx, int argc, char **argv,
    struct coll_args *a, char **rest, int *nrest)
{
	const char *v, *eq;
	int i, missing = 0;

	rest[(*nrest)++] = argv[0];
	for (i = 1; i < argc && !missing; i++) {
		if ((v = opt_value(argc, argv, &i, "--collector", &missing)))
			a->file = v;
		else if ((v = opt_value(argc, argv, &i, "--keys", &missing)))
			a->keydir = v;
		else if ((v = opt_value(argc, argv, &i, "--key", &missing))) {
			if ((eq = strchr(v, '=')) == NULL || eq[1] == '\0' ||
			    add_key(a, v, (size_t)(eq - v), eq + 1) != 0) {
				fprintf(stderr,
				    "%s: audit report: --key wants HOST=PUB, "
				    "once per host: %s\n",
				    ctx->progname, v);
				return CLI_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--csv") == 0 ||
		    strcmp(argv[i], "--json") == 0 ||
		    strncmp(argv[i], "--log", 5) == 0) {
			fprintf(stderr,
			    "%s: audit report: --collector prints one table "
			    "per host: no %s\n",
			    ctx->progname, argv[i]);
			return CLI_EXIT_USAGE;
		} else
			rest[(*nrest)++] = argv[i];
	}
	if (missing || a->file == NULL) {
		fprintf(stderr,
		    "%s: audit report: --collector FILE "
		    "(--key HOST=PUB... | --keys DIR) "
		    "REPORT-OPTIONS\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	}
	if (a->keydir != NULL && load_keydir(ctx, a) != 0)
		return CLI_EXIT_ERROR;
	return -1;
}

/* One host's report, under its name; returns its exit code. */
static int
report_host(const struct cli_ctx *ctx, const struct audit_collect_host *h,
    struct coll_args *a, char **rest, int nrest)
{
	struct hostkey *k = key_of(a, h->name);
	char name[512], optlog[] = "--log", optkey[] = "--key";
	char logpath[PATH_MAX_CLI];
	int r;

	cli_escape(h->name, name, sizeof(name), CLI_ESC_BACKSLASH);
	printf("== host %s ==\n", name);
	print_problems(h);
	if (k == NULL) {
		printf("  no public key for this host (--key %s=PUB or --keys "
		       "DIR): no report\n",
		    name);
		return CLI_EXIT_FAIL;
	}
	k->seen = 1;
	fflush(stdout);
	snprintf(logpath, sizeof(logpath), "%s", h->log);
	rest[nrest] = optlog;
	rest[nrest + 1] = logpath;
	rest[nrest + 2] = optkey;
	rest[nrest + 3] = k->pub;
	rest[nrest + 4] = NULL;
	r = cli_audit_report(ctx, nrest + 4, rest);
	fflush(stdout);
	return r == CLI_EXIT_OK && h->problems > 0 ? CLI_EXIT_FAIL : r;
}

int
cli_audit_report_collector(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct audit_collect *c = NULL;
	struct coll_args a;
	char dir[PATH_MAX_CLI], **rest;
	size_t i;
	int r, worst = CLI_EXIT_OK, nrest = 0;

	memset(&a, 0, sizeof(a));
	if ((rest = calloc((size_t)argc + 6, sizeof(*rest))) == NULL)
		return CLI_EXIT_ERROR;
	if ((r = parse_report_coll(ctx, argc, argv, &a, rest, &nrest)) >= 0 ||
	    (r = split_file(ctx, "report", &a, dir, sizeof(dir), &c)) !=
	        CLI_EXIT_OK) {
		free(rest);
		free_args(&a);
		return r;
	}
	/* Usage errors of the report's own options show once, up front. */
	for (i = 0; i < audit_collect_count(c) && worst != CLI_EXIT_USAGE;
	     i++) {
		r = report_host(ctx, audit_collect_host(c, i), &a, rest, nrest);
		if (r > worst)
			worst = r;
	}
	for (i = 0; i < a.nkeys && worst != CLI_EXIT_USAGE; i++)
		if (!a.keys[i].seen) {
			printf("== host %s ==\n  no messages at all from this "
			       "host\n",
			    a.keys[i].host);
			worst = worst > CLI_EXIT_FAIL ? worst : CLI_EXIT_FAIL;
		}
	if (audit_collect_count(c) == 0 && worst == CLI_EXIT_OK) {
		printf("no photoguard audit messages in the file\n");
		worst = CLI_EXIT_FAIL;
	}
	audit_collect_remove(c);
	audit_collect_free(c);
	(void)rmdir(dir);
	free(rest);
	free_args(&a);
	return worst;
}
