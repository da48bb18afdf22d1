/*
 * pg_totp_cli.c - a stand-in `photoguard` for the TOTP tests: dispatches
 * `enroll` and `totp` to the real verbs until cli/main.c carries them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_totp.h"

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = { NULL, "photoguard" };

	if (argc >= 2 && strcmp(argv[1], "enroll") == 0)
		return cmd_enroll(&ctx, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "totp") == 0)
		return cmd_totp(&ctx, argc - 1, argv + 1);
	fprintf(stderr, "usage: %s enroll|totp ...\n", argv[0]);
	return CLI_EXIT_USAGE;
}
