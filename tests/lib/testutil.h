/*
 * testutil.h - what C tests in several folders share: scratch directories
 * on the build tree's (persistent, not tmpfs) filesystem, removed again
 * even when a test left immutable files behind, and a stopwatch.
 */
#ifndef PG_TESTUTIL_H
#define PG_TESTUTIL_H

#include <time.h>

/*
 * Creates a fresh 0700 directory "tmp-TAG-XXXXXX" under $PG_BUILD_ROOT (or
 * /var/tmp) and returns its path (free with tu_rmtree()); exits 99 if it
 * cannot.
 */
char *tu_mkdtemp(const char *tag);

/* Removes DIR from tu_mkdtemp() and everything in it; frees DIR. NULL ok. */
void tu_rmtree(char *dir);

/* Milliseconds of CLOCK_MONOTONIC since T0, for tests of timeouts. */
long tu_ms_since(const struct timespec *t0);

#endif /* PG_TESTUTIL_H */
