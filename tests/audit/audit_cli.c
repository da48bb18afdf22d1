/*
 * audit_cli.c - test helper: runs the `audit` verb of the photoguard tool
 * on its own (ARGV[0] stands for the verb), so the CLI tests do not depend
 * on the tool's dispatch table.
 */
#include <stdlib.h>

#include "cli/cmd_audit.h"

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = { getenv("PHOTOGUARD_CONFIG"), "photoguard" };

	return cmd_audit(&ctx, argc, argv);
}
