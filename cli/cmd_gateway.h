/*
 * cmd_gateway.h - verbs that talk to the running gateway.
 */
#ifndef PG_CMD_GATEWAY_H
#define PG_CMD_GATEWAY_H

#include "cli/cli.h"

struct pg_config;

/*
 * Sends REQ (one line) to the running gateway of CFG and reads its answer:
 * 1 if it answered "ok", 0 if no gateway runs there (or none is
 * configured), -1 if it refused or could not be asked.
 */
int cli_gateway_tell(const struct pg_config *cfg, const char *req);

/*
 * Sends REQ to the running gateway of CFG; on "ok" its body in *BODY
 * (NUL-terminated, free()).  1 if it answered "ok", 0 if no gateway runs
 * there, -1 if it refused, did not answer in time or out of memory.
 */
int cli_gateway_query(
    const struct pg_config *cfg, const char *req, char **body);

/* `metrics [--textfile FILE]`: node_exporter's textfile figures. */
int cmd_metrics(const struct cli_ctx *ctx, int argc, char **argv);

/* `status`: the gateway's view (see --help).  Exit CLI_EXIT_OK,
 * CLI_EXIT_FAIL (refused), CLI_EXIT_USAGE or CLI_EXIT_ERROR (no gateway). */
int cmd_status(const struct cli_ctx *ctx, int argc, char **argv);

/* `breakglass --patient ID --reason TEXT`: ask for a grant.  Exit codes
 * as cmd_status(). */
int cmd_breakglass(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CMD_GATEWAY_H */
