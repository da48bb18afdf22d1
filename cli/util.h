/*
 * util.h - small helpers the verbs share: option matching, --help
 * handling, loading the configuration with a clear error, and showing
 * stored text and times on a terminal.
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
/*
 * Who is running the tool, for audit records: the person behind sudo if
 * there is one (so a query for that person finds what they did), else
 * the login of the uid, else "uid N".
 */
void cli_invoker(char *buf, size_t len);

void cli_json_string(FILE *f, const char *s);

/* For cli_escape(): escape backslashes too, so the output is unambiguous. */
#define CLI_ESC_BACKSLASH 0x1

/*
 * Copies S ("-" if NULL) into BUF (LEN bytes, at least 1; truncated) for a
 * terminal, through pg_escape(): control characters (C0, DEL, C1) and
 * bytes that are not UTF-8 as \xHH, so that a stored name cannot forge
 * lines.  Returns BUF.
 */
const char *cli_escape(const char *s, char *buf, size_t len, unsigned flags);

/*
 * Writes S as XML or HTML text or attribute value: markup characters as
 * entities, tab, LF and CR as character references, what the markup
 * cannot carry (control characters, bytes that are not UTF-8) as \xNN.
 */
void cli_markup(FILE *f, const char *s);

#endif /* PG_CLI_UTIL_H */
