/*
 * cmd_audit.h - the `photoguard audit` verb: verify, query, keygen.
 */
#ifndef PG_CMD_AUDIT_H
#define PG_CMD_AUDIT_H

#include "cli/cli.h"

/* `photoguard audit SUBVERB ...`: dispatches to verify, query or keygen.
 * Returns a CLI_EXIT_* code. */
int cmd_audit(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CMD_AUDIT_H */
