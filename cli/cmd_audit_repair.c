/*
 * cmd_audit_repair.c - the verbs that sign with the audit key, root
 * only.  `photoguard audit repair --reason TEXT` resumes a signed log that
 * writers refuse because its head is missing or does not match it, by
 * recording the gap in a signed audit.repair record (see
 * core/audit/audit_head.c).  `photoguard audit rotate` starts a new file
 * that continues the chain (core/audit/audit_rotate.c); `photoguard audit
 * rekey` moves it to a new signing key (core/audit/audit_key.c).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/admin_audit.h"
#include "cli/cmd_audit.h"
#include "cli/util.h"
#include "core/audit/audit.h"
#include "core/config/config.h"
#include "base/base.h"

static int
repair_usage(FILE *f)
{
	fputs("Usage: photoguard audit repair --reason TEXT [--key SECRET] "
	      "[--log FILE] [FILE]\n"
	      "  Records the gap in a log whose head file is missing or does\n"
	      "  not match it, in a signed audit.repair record, and writes a\n"
	      "  new head; writers refuse the log until then.  Root only.\n"
	      "  --reason TEXT  why (ticket, what happened); recorded\n"
	      "  --key SECRET   signing key (default: audit_key_file)\n"
	      "  --log FILE     log to repair (default: audit_log); same as "
	      "FILE\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

/* Fills LOG and KEY from the configuration where the command line left
 * them NULL; returns 0 or an exit code after saying why. */
static int
repair_paths(const struct cli_ctx *ctx, const char *verb, int need_key,
    const char **log, const char **key, char *logbuf, char *keybuf, size_t len)
{
	struct pg_config *cfg;

	if (*log != NULL && *key != NULL)
		return 0;
	if ((cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	if (*log == NULL && cfg->audit_log != NULL) {
		snprintf(logbuf, len, "%s", cfg->audit_log);
		*log = logbuf;
	}
	if (*key == NULL && cfg->audit_key_file != NULL) {
		snprintf(keybuf, len, "%s", cfg->audit_key_file);
		*key = keybuf;
	}
	pg_config_free(cfg);
	if (*log == NULL || (*key == NULL && need_key)) {
		fprintf(stderr, "%s: audit %s: no audit %s configured\n",
		    ctx->progname, verb, *log == NULL ? "log" : "key");
		return CLI_EXIT_ERROR;
	}
	return 0;
}

static int
report(const struct cli_ctx *ctx, const char *log, int r, const char *what)
{
	switch (r) {
	case PG_OK:
		printf("recorded the gap in %s: %s\n", log, what);
		return CLI_EXIT_OK;
	case PG_ERR_EXISTS:
		fprintf(stderr,
		    "%s: audit repair: %s: its head matches the log: nothing "
		    "to repair\n",
		    ctx->progname, log);
		return CLI_EXIT_FAIL;
	case PG_ERR_NOTFOUND:
		fprintf(stderr,
		    "%s: audit repair: %s: no such log, or it has no records: "
		    "nothing to repair\n",
		    ctx->progname, log);
		return CLI_EXIT_FAIL;
	default:
		fprintf(stderr, "%s: audit repair: %s: %s\n", ctx->progname,
		    log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
}

int
cli_audit_repair(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "reason", 1, NULL, 'r' },
		{ "key", 1, NULL, 'k' }, { "log", 1, NULL, 'l' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *log = NULL, *key = NULL, *reason = NULL;
	char logbuf[PATH_MAX_CLI], keybuf[PATH_MAX_CLI], actor[256];
	char what[AUDIT_MSG_MAX];
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:k:l:h", opts, NULL)) != -1) {
		if (c == 'r')
			reason = optarg;
		else if (c == 'k')
			key = optarg;
		else if (c == 'l')
			log = optarg;
		else
			return repair_usage(c == 'h' ? stdout : stderr);
	}
	if (optind < argc && log == NULL)
		log = argv[optind++];
	if (reason == NULL || reason[0] == '\0')
		fprintf(stderr, "%s: audit repair: --reason TEXT is required\n",
		    ctx->progname);
	if (optind != argc || reason == NULL || reason[0] == '\0')
		return repair_usage(stderr);
	if (geteuid() != 0) {
		fprintf(stderr,
		    "%s: audit repair: only root may repair the "
		    "audit log\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	if ((r = repair_paths(ctx, "repair", 1, &log, &key, logbuf, keybuf,
	         sizeof(logbuf))) != 0)
		return r;
	cli_invoker(actor, sizeof(actor));
	r = audit_repair(log, key, actor, reason, what, sizeof(what));
	return report(ctx, log, r, what);
}

static int
rotate_usage(FILE *f)
{
	fputs("Usage: photoguard audit rotate [--renamed FILE] [--key SECRET] "
	      "[--log FILE]\n"
	      "  Starts a new log file that continues the chain: the old one\n"
	      "  is closed with a checkpoint and renamed LOG-<UTC time>, and\n"
	      "  the new one begins with a signed audit.rotate record naming\n"
	      "  it.  Writers follow on their next record.  Root only.\n"
	      "  --renamed FILE  the log was renamed to FILE already (the\n"
	      "                  postrotate step of logrotate): continue it\n"
	      "  --key SECRET    signing key (default: audit_key_file)\n"
	      "  --log FILE      the log (default: audit_log)\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static int
rotate_result(
    const struct cli_ctx *ctx, const char *log, int r, const char *oldname)
{
	switch (r) {
	case PG_OK:
		printf(
		    "rotated %s: the chain continues from %s\n", log, oldname);
		return CLI_EXIT_OK;
	case PG_ERR_EXISTS:
		fprintf(stderr,
		    "%s: audit rotate: %s: a log that continues %s is there "
		    "already (or %s exists): nothing done\n",
		    ctx->progname, log, oldname, oldname);
		return CLI_EXIT_FAIL;
	case PG_ERR_NOTFOUND:
		fprintf(stderr,
		    "%s: audit rotate: %s: no such log, or it has no records: "
		    "nothing to rotate\n",
		    ctx->progname, log);
		return CLI_EXIT_FAIL;
	case PG_ERR_CORRUPT:
		fprintf(stderr,
		    "%s: audit rotate: %s: its head file does not match it "
		    "(see syslog): run 'photoguard audit verify', then "
		    "'photoguard audit repair'\n",
		    ctx->progname, log);
		return CLI_EXIT_FAIL;
	case PG_ERR_INVAL:
		fprintf(stderr,
		    "%s: audit rotate: --renamed must name a file in the "
		    "log's own directory, other than the log\n",
		    ctx->progname);
		return CLI_EXIT_USAGE;
	default:
		fprintf(stderr, "%s: audit rotate: %s: %s\n", ctx->progname,
		    log, pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
}

int
cli_audit_rotate(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "renamed", 1, NULL, 'r' },
		{ "key", 1, NULL, 'k' }, { "log", 1, NULL, 'l' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *log = NULL, *key = NULL, *renamed = NULL;
	char logbuf[PATH_MAX_CLI], keybuf[PATH_MAX_CLI], actor[256];
	char oldname[PATH_MAX_CLI];
	struct cli_audit au = { NULL, NULL };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:k:l:h", opts, NULL)) != -1) {
		if (c == 'r')
			renamed = optarg;
		else if (c == 'k')
			key = optarg;
		else if (c == 'l')
			log = optarg;
		else
			return rotate_usage(c == 'h' ? stdout : stderr);
	}
	if (optind != argc)
		return rotate_usage(stderr);
	if (geteuid() != 0) {
		fprintf(stderr,
		    "%s: audit rotate: only root may rotate the audit log\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	if ((r = repair_paths(ctx, "rotate", 0, &log, &key, logbuf, keybuf,
	         sizeof(logbuf))) != 0)
		return r;
	cli_invoker(actor, sizeof(actor));
	/* Its records leave the host as the writers' do: a collector
	 * would otherwise see a gap in the chain. */
	if (cli_audit_load(ctx, &au) != CLI_EXIT_OK)
		return CLI_EXIT_ERROR;
	r = audit_rotate(
	    log, renamed, key, au.cfg, actor, oldname, sizeof(oldname));
	pg_config_free(au.cfg);
	return rotate_result(ctx, log, r, oldname);
}

static int
rekey_usage(FILE *f)
{
	fputs("Usage: photoguard audit rekey [--key SECRET] [--log FILE]\n"
	      "  Moves the log to a new signing key: a signed audit.key\n"
	      "  record naming the new public key, the key file overwritten\n"
	      "  with the new secret and the old one wiped.  Auditors keep\n"
	      "  the first public key; verify follows the chain of keys.\n"
	      "  [audit] key_epoch does this on a schedule.  Root only.\n"
	      "  --key SECRET  signing key file (default: audit_key_file)\n"
	      "  --log FILE    the log (default: audit_log)\n",
	    f);
	return f == stdout ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int
cli_audit_rekey(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "key", 1, NULL, 'k' },
		{ "log", 1, NULL, 'l' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *log = NULL, *key = NULL;
	char logbuf[PATH_MAX_CLI], keybuf[PATH_MAX_CLI], actor[256];
	char id[32];
	struct cli_audit au = { NULL, NULL };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:l:h", opts, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 'l')
			log = optarg;
		else
			return rekey_usage(c == 'h' ? stdout : stderr);
	}
	if (optind != argc)
		return rekey_usage(stderr);
	if (geteuid() != 0) {
		fprintf(stderr,
		    "%s: audit rekey: only root may change the audit key\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	if ((r = repair_paths(ctx, "rekey", 1, &log, &key, logbuf, keybuf,
	         sizeof(logbuf))) != 0)
		return r;
	cli_invoker(actor, sizeof(actor));
	if (cli_audit_load(ctx, &au) != CLI_EXIT_OK)
		return CLI_EXIT_ERROR;
	r = audit_rekey(log, key, au.cfg, actor, id, sizeof(id));
	pg_config_free(au.cfg);
	switch (r) {
	case PG_OK:
		printf("%s now signs with key %s\n", log, id);
		return CLI_EXIT_OK;
	case PG_ERR_CORRUPT:
		fprintf(stderr,
		    "%s: audit rekey: %s: its head file does not match it "
		    "(see syslog): run 'photoguard audit verify', then "
		    "'photoguard audit repair'\n",
		    ctx->progname, log);
		return CLI_EXIT_FAIL;
	default:
		fprintf(stderr, "%s: audit rekey: %s: %s\n", ctx->progname, log,
		    pg_strerror(r));
		return CLI_EXIT_ERROR;
	}
}
