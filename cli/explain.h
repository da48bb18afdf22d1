/*
 * explain.h - what `photoguard policy explain` was asked, and the function
 * that answers it.
 */
#ifndef PG_CLI_EXPLAIN_H
#define PG_CLI_EXPLAIN_H

#include <stdbool.h>

#include "cli/cli.h"
#include "policy/policy.h"

struct explain_args {
	const char *user;
	const char *path; /* a path in the store, or NULL with host */
	const char *host; /* a login decision instead */
	const char *service;
	const char *policy_path; /* NULL: the policy of the configuration */
	const char *breakglass;  /* patient with an assumed grant */
	enum policy_action action;
	bool is_dir;
	bool mfa;
	bool json;
	int weekday;
	int minute_of_day;
};

/* Prints the decision; returns 0 allowed, 1 denied, 3 error. */
int explain_run(const struct cli_ctx *ctx, const struct explain_args *a);

#endif /* PG_CLI_EXPLAIN_H */
