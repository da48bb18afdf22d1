/*
 * cmd_audit.h - the `photoguard audit` verb: verify, query, keygen,
 * report; and the log and key paths its subcommands share.
 */
#ifndef PG_CMD_AUDIT_H
#define PG_CMD_AUDIT_H

#include "cli/cli.h"

/* `photoguard audit SUBVERB ...`: dispatches to verify, query or keygen.
 * Returns a CLI_EXIT_* code. */
int cmd_audit(const struct cli_ctx *ctx, int argc, char **argv);

#define PATH_MAX_CLI 4096

struct audit_paths {
	char log[PATH_MAX_CLI];
	char pub[PATH_MAX_CLI]; /* empty: none */
};

/*
 * Fills P with LOG and PUB, or what the configuration of CTX names for
 * those left NULL (the public key is the signing key + ".pub").  Returns 0,
 * or an error after saying so on stderr.
 */
int cli_audit_paths(const struct cli_ctx *ctx, const char *log, const char *pub,
    struct audit_paths *p);

/* `photoguard audit repair`: cmd_audit_repair.c. */
int cli_audit_repair(const struct cli_ctx *ctx, int argc, char **argv);

/* `photoguard audit rotate`: cmd_audit_repair.c. */
int cli_audit_rotate(const struct cli_ctx *ctx, int argc, char **argv);
int cli_audit_rekey(const struct cli_ctx *ctx, int argc, char **argv);

/* `photoguard audit export`: cmd_audit_export.c. */
int cli_audit_export(const struct cli_ctx *ctx, int argc, char **argv);

/* `photoguard audit report`: cmd_audit_report.c. */
int cli_audit_report(const struct cli_ctx *ctx, int argc, char **argv);

/* `photoguard audit verify --collector`, `audit report --collector`:
 * cmd_audit_collect.c. */
int cli_audit_collector(const struct cli_ctx *ctx, int argc, char **argv);
int cli_audit_report_collector(
    const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CMD_AUDIT_H */
