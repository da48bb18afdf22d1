/*
 * tl_util.h - helpers shared by the lockout store tests: scratch
 * directories on the build tree's (persistent) filesystem, and writing raw
 * files into a store to damage it.
 */
#ifndef PG_TL_UTIL_H
#define PG_TL_UTIL_H

#include <stddef.h>

/* Creates a fresh 0700 directory under $PG_BUILD_ROOT (or /var/tmp). */
char *tl_mkdtemp(const char *tag);

/* Removes DIR and everything in it (one level plus subdirs); frees DIR. */
void tl_rmtree(char *dir);

/* Writes LEN bytes of BUF to DIR/NAME with MODE, replacing it. */
void tl_write(const char *dir, const char *name, const char *buf, size_t len,
    unsigned mode);

/* The store's file name for USER ('u' or 'f'), into BUF (512 bytes). */
void tl_name(char kind, const char *user, char *buf);

#endif /* PG_TL_UTIL_H */
