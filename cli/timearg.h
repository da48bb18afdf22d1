/*
 * timearg.h - the times a person types after --since, --until and the
 * like ("today", "-1h", "@1764800000", a local "2026-12-03 14:00", an
 * ISO time with Z or an offset), turned into the UTC ISO form that the
 * audit filters compare.
 */
#ifndef PG_CLI_TIMEARG_H
#define PG_CLI_TIMEARG_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"

/* "2026-12-03T14:00:05.123456Z" and its NUL, with room to spare. */
#define CLI_TIME_LEN 40

/* Prints to F the lines of a usage text that say what a time T may be. */
void cli_time_usage(FILE *f);

/* Which end of a range a time closes: an --until covers its last unit. */
enum cli_time_end { CLI_TIME_START, CLI_TIME_END };

/*
 * Parses IN, relative to NOW, into OUT (LEN bytes, at least
 * CLI_TIME_LEN): UTC "YYYY-MM-DD[THH:MM[:SS[.ffffff]]]Z".  A local date
 * or minute given as the END of a range becomes its last second.
 * Returns PG_OK; PG_ERR_PARSE (or PG_ERR_TOOBIG for a number out of
 * range) with *WHY set to a static explanation, OUT then undefined.
 */
int cli_time_parse(const char *in, time_t now, enum cli_time_end end, char *out,
    size_t len, const char **why);

/*
 * For the value *VAL of option OPT of VERB (NULL: not given, left so):
 * parses it into BUF (LEN bytes) and points *VAL at BUF.  Returns
 * CLI_EXIT_OK; on bad input prints which option and value to stderr and
 * returns CLI_EXIT_USAGE.
 */
int cli_time_opt(const struct cli_ctx *ctx, const char *verb, const char *opt,
    enum cli_time_end end, const char **val, char *buf, size_t len);

/*
 * Writes the stored UTC time ISO ("2026-12-03T14:00:05[.ffffff]Z") as
 * local time with its offset ("2026-12-03T15:00:05[.ffffff]+01:00") into
 * OUT (LEN bytes).  What does not parse is copied unchanged.  Returns OUT.
 */
const char *cli_time_local(const char *iso, char *out, size_t len);

/* Same for a time_t. */
const char *cli_time_local_t(time_t t, char *out, size_t len);

#endif /* PG_CLI_TIMEARG_H */
