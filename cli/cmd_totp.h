/*
 * cmd_totp.h - the TOTP verbs of `photoguard`: `enroll USER` and
 * `totp status|hostkey`.
 */
#ifndef PG_CMD_TOTP_H
#define PG_CMD_TOTP_H

#include "cli/cli.h"

/*
 * photoguard enroll USER [--reset] [--confirm-code CODE]: a new secret,
 * shown once as an otpauth URI and a QR code with ten scratch codes,
 * activated only when a first code verifies.  Returns a CLI_EXIT_* code.
 */
int cmd_enroll(const struct cli_ctx *ctx, int argc, char **argv);

/*
 * photoguard totp status USER | totp hostkey: the enrollment state of a
 * user without anything secret, or create the host key if absent.
 * Returns a CLI_EXIT_* code.
 */
int cmd_totp(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CMD_TOTP_H */
