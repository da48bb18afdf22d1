/*
 * tl_util.h - helpers shared by the lockout store tests: a store on a
 * scratch directory on the build tree's (persistent) filesystem, and
 * writing raw files into a store to damage it.
 */
#ifndef PG_TL_UTIL_H
#define PG_TL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/lockout/lockout.h"

/* A cmocka test's state: a store opened on a fresh scratch directory. */
struct tl_fx {
	char *dir;
	struct lockout_store *st;
	bool mounted; /* a filesystem the test mounted on DIR */
};

/* cmocka setup: a struct tl_fx in *STATE, its directory named after TAG. */
int tl_fx_setup(void **state, const char *tag);

/* cmocka teardown: frees the store, unmounts, removes the directory. */
int tl_fx_teardown(void **state);

/* Writes LEN bytes of BUF to DIR/NAME with MODE, replacing it. */
void tl_write(const char *dir, const char *name, const char *buf, size_t len,
    unsigned mode);

/* The store's file name for USER ('u' or 'f'), into BUF (512 bytes). */
void tl_name(char kind, const char *user, char *buf);

#endif /* PG_TL_UTIL_H */
