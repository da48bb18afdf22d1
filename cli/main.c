/*
 * main.c - the `photoguard` admin and staff tool: global options and the
 * table of verbs (wireguard-tools style).  Each verb parses its own options
 * and has its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_audit.h"
#include "cli/cmd_gateway.h"
#include "cli/cmd_lockout.h"
#include "cli/cmd_totp.h"
#include "cli/verbs.h"

static const struct {
	const char *name;
	cli_verb_fn fn;
	const char *help;
} verbs[] = {
	{ "config", cmd_config, "Check the configuration or list its keys" },
	{ "policy", cmd_policy, "Check a policy; explain a decision" },
	{ "enroll", cmd_enroll, "Enroll a user for TOTP codes (QR code)" },
	{ "totp", cmd_totp, "TOTP enrollment status; create the host key" },
	{ "audit", cmd_audit, "Verify, query the audit log; make its key" },
	{ "lockouts", cmd_lockouts, "List locked-out accounts" },
	{ "unlock", cmd_unlock, "Lift a user's lockout everywhere (audited)" },
	{ "status", cmd_status,
	    "The running gateway: usage, limits, lockouts" },
	{ "breakglass", cmd_breakglass, "Emergency access to one patient" },
	{ "metrics", cmd_metrics, "Figures for node_exporter's textfile" },
	{ "view", cmd_view, "Run a command in a user's own view (root)" },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f, const char *prog)
{
	size_t i;

	fprintf(f,
	    "Usage: %s [--config FILE] VERB [OPTIONS]\n"
	    "\n"
	    "Least-privilege access to patient photos: admin and staff tool.\n"
	    "\n"
	    "Global options:\n"
	    "  --config FILE  configuration file (default: $%s, else %s)\n"
	    "  --version      print the version\n"
	    "  --help         this help\n"
	    "\n"
	    "Verbs (VERB --help for each):\n",
	    prog, "PHOTOGUARD_CONFIG", "/etc/photoguard/photoguard.conf");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = { NULL, "photoguard" };
	int i = 1;
	size_t v;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout, ctx.progname);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("photoguard %s\n", PG_VERSION);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			ctx.config_path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			ctx.config_path = argv[i] + 9;
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n",
			    ctx.progname, argv[i]);
			usage(stderr, ctx.progname);
			return CLI_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr, ctx.progname);
		return CLI_EXIT_USAGE;
	}
	for (v = 0; v < NVERBS; v++)
		if (strcmp(argv[i], verbs[v].name) == 0)
			return verbs[v].fn(&ctx, argc - i, argv + i);
	fprintf(stderr, "%s: unknown verb '%s' (try --help)\n", ctx.progname,
	    argv[i]);
	return CLI_EXIT_USAGE;
}
