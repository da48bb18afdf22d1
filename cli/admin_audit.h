/*
 * admin_audit.h - the audit record of an admin verb that changes security
 * state (enroll, totp hostkey, audit keygen): written to the [audit] log of
 * the configuration file the tool reads, by the invoking admin.
 *
 * The rule: when a configuration file exists (named by --config or
 * $PHOTOGUARD_CONFIG, or at the default place), its audit log must take
 * the record or the verb fails (exit 3).  When none exists (a verb given
 * explicit paths: tests, a staged tree) there is no log and nothing is
 * recorded.
 */
#ifndef PG_CLI_ADMIN_AUDIT_H
#define PG_CLI_ADMIN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

struct pg_config;
struct audit_log;

struct cli_audit {
	struct pg_config *cfg; /* the file's configuration; NULL: none */
	struct audit_log *log; /* open log; NULL: not (yet) open */
};

/*
 * Loads the configuration file into A->cfg if one exists (A->cfg stays
 * NULL if none does).  Returns CLI_EXIT_OK, or CLI_EXIT_ERROR after saying
 * why (a file that does not load).
 */
int cli_audit_load(const struct cli_ctx *ctx, struct cli_audit *a);

/*
 * Opens A->cfg's audit log (nothing when A->cfg is NULL).  On failure says
 * so with REFUSAL ("not enrolling a user without an audit record") and
 * returns CLI_EXIT_ERROR.
 */
int cli_audit_open(
    const struct cli_ctx *ctx, struct cli_audit *a, const char *refusal);

/* True when a record will be written (a log is open). */
bool cli_audit_on(const struct cli_audit *a);

/*
 * Writes one record by the invoking admin (cli_invoker()): EVENT on
 * OBJECT with DECISION and REASON, which must hold nothing secret.
 * Returns PG_OK (also when no log is open) or the log's error.
 */
int cli_audit_record(struct cli_audit *a, const char *event, const char *object,
    const char *decision, const char *reason);

/*
 * Closes the log (its closing checkpoint) and frees the configuration.
 * Returns PG_OK or the log's error.
 */
int cli_audit_end(struct cli_audit *a);

/*
 * True when PATH and OTHER name the same file: their directories resolve
 * to the same place and their last components are equal (PATH need not
 * exist yet).  OTHER NULL: false.
 */
bool cli_same_path(const char *path, const char *other);

#endif /* PG_CLI_ADMIN_AUDIT_H */
