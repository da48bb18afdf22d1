/*
 * cmd_lockout.h - the `photoguard lockouts` and `photoguard unlock` verbs.
 */
#ifndef PG_CMD_LOCKOUT_H
#define PG_CMD_LOCKOUT_H

#include "cli/cli.h"

/*
 * `lockouts [--json] [--dir DIR]`: lists the locked-out users (user,
 * since in UTC, by, host, rule, reason).  Exit CLI_EXIT_OK, or
 * CLI_EXIT_USAGE / CLI_EXIT_ERROR.
 */
int cmd_lockouts(const struct cli_ctx *ctx, int argc, char **argv);

/*
 * `unlock [--dir DIR] USER`: lifts USER's lockout (audited).  Exit
 * CLI_EXIT_OK, CLI_EXIT_FAIL if USER was not locked out, or
 * CLI_EXIT_USAGE / CLI_EXIT_ERROR.
 */
int cmd_unlock(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CMD_LOCKOUT_H */
