/*
 * verbs.h - the verbs of the `photoguard` tool, one file (or a few) each.
 */
#ifndef PG_CLI_VERBS_H
#define PG_CLI_VERBS_H

#include "cli/cli.h"

int cmd_config(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_policy(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_view(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CLI_VERBS_H */
