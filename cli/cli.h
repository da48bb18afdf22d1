/*
 * cli.h - what the verbs of the `photoguard` tool share: the context from
 * the global options and the exit codes.
 */
#ifndef PG_CLI_H
#define PG_CLI_H

#define CLI_EXIT_OK 0 /* success; verification passed */
#define CLI_EXIT_FAIL                                                          \
	1                /* the answer is "no": check failed,                  \
	                    log does not verify, access denied */
#define CLI_EXIT_USAGE 2 /* bad command line */
#define CLI_EXIT_ERROR 3 /* could not do the job (I/O, config) */

struct cli_ctx {
	const char *config_path; /* --config; NULL: default/env */
	const char *progname;
};

/* A verb: parses its own options from ARGV (ARGV[0] is the verb). */
typedef int (*cli_verb_fn)(const struct cli_ctx *ctx, int argc, char **argv);

#endif /* PG_CLI_H */
