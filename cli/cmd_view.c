/*
 * cmd_view.c - `photoguard view --user NAME -- COMMAND...`: runs COMMAND
 * as NAME in a view of NAME's own (core/ctl/ctl_view.c), as a login gets
 * from pam_photoguard's session.  For what runs as a user outside a login
 * (a batch export, a scheduled job) and for checking that views work.
 * Root only: it mounts and changes identity.  A view that cannot be made
 * is an error here, since the caller asked for one by name.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/util.h"
#include "cli/verbs.h"
#include "core/config/config.h"
#include "core/ctl/ctl.h"

#define PW_BUF_MAX 16384

static const char view_help[] =
    "Usage: photoguard view --user NAME [--] COMMAND [ARG...]\n"
    "Run COMMAND as NAME in a view of NAME's own at [store] mountpoint:\n"
    "the view a login gets from pam_photoguard's session, served by the\n"
    "running gateway with the kernel's caches on.  Root only.\n"
    "  --user NAME  whose view, and who runs COMMAND\n";

int
cmd_view(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct passwd pw, *res = NULL;
	char buf[PW_BUF_MAX], why[512];
	const char *user = NULL;
	struct pg_config *cfg;
	int c, r;

	optind = 1;
	/* '+': COMMAND's own options are not ours. */
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'h':
			fputs(view_help, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(view_help, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (user == NULL || optind >= argc) {
		fprintf(stderr, "%s view: --user and a COMMAND are required\n",
		    ctx->progname);
		fputs(view_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "%s view: only root can make a view\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		fprintf(stderr, "%s view: no user %s\n", ctx->progname, user);
		return CLI_EXIT_FAIL;
	}
	if (pw.pw_uid == 0) {
		fprintf(stderr,
		    "%s view: root has no view of its own (the shared view "
		    "serves it)\n",
		    ctx->progname);
		return CLI_EXIT_FAIL;
	}
	if ((cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_FAIL;
	r = ctl_view_enter(cfg->store_control_socket, cfg->store_mountpoint,
	    pw.pw_uid, pw.pw_gid, why, sizeof(why));
	pg_config_free(cfg);
	if (r != PG_OK) {
		fprintf(stderr, "%s view: no view for %s: %s\n", ctx->progname,
		    user, why);
		return CLI_EXIT_FAIL;
	}
	if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
	    setuid(pw.pw_uid) != 0) {
		fprintf(stderr, "%s view: cannot become %s: %s\n",
		    ctx->progname, user, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	/* The drop must be for good: root must not come back. */
	if (setuid(0) == 0) {
		fprintf(stderr, "%s view: %s could become root again\n",
		    ctx->progname, user);
		return CLI_EXIT_FAIL;
	}
	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "%s view: %s: %s\n", ctx->progname, argv[optind],
	    strerror(errno));
	return CLI_EXIT_FAIL;
}
