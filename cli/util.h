/*
 * util.h - small helpers the verbs share: option matching, --help
 * handling and loading the configuration with a clear error.
 */
#ifndef PG_CLI_UTIL_H
#define PG_CLI_UTIL_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"

struct pg_config;

/* True if any argument is --help or -h. */
bool cli_wants_help(int argc, char **argv);

/*
 * Loads the configuration named by CTX (--config, else $PHOTOGUARD_CONFIG,
 * else the default path, where a missing file means the built-in
 * defaults); on failure prints the error to stderr and returns NULL.
 */
struct pg_config *cli_load_config(const struct cli_ctx *ctx);

/* Prints S as a JSON string (with quotes) to F. */
void cli_json_string(FILE *f, const char *s);

#endif /* PG_CLI_UTIL_H */
