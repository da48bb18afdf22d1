/*
 * lockout_priv.h - what the lockout store shares with the failure counter
 * (failcount.c) and nobody else: the checked directory, the store lock and
 * the encoding of user names into file names.
 */
#ifndef PG_LOCKOUT_PRIV_H
#define PG_LOCKOUT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/lockout/lockout.h"

/* The lock file every read-modify-write holds. */
#define LOCKOUT_LOCK_NAME ".lock"

/* "x-" + two hex digits per byte + ".json" + NUL. */
#define LOCKOUT_NAME_LEN (2 + 2 * LOCKOUT_USER_MAX + 5 + 1)

/*
 * Starts an operation: checks that the store's directory is still the one
 * at its path, still safe (owner, mode), reopening it if it was replaced.
 * On success *DIRFD is valid until lockout_priv_end(), which the caller
 * must call exactly once.  Returns 0 or PG_ERR_* (nothing to end then).
 */
int lockout_priv_begin(struct lockout_store *st, int *dirfd);
void lockout_priv_end(struct lockout_store *st);

/* Takes the store's exclusive lock; returns the fd to close, or PG_ERR_*. */
int lockout_priv_lock(const struct lockout_store *st, int dirfd);

/*
 * lockout_priv_begin() then lockout_priv_lock(): on success *DIRFD is valid
 * and *LK holds the lock until lockout_priv_end_locked(), which the caller
 * must call exactly once.  Returns 0 or PG_ERR_* (nothing to end then).
 */
int lockout_priv_begin_locked(struct lockout_store *st, int *dirfd, int *lk);
void lockout_priv_end_locked(struct lockout_store *st, int lk);

/*
 * Reads file NAME (at most MAX bytes, private) from DIRFD as a JSON object
 * whose "v" is VERSION.  Returns 1 with *OUT the object (json_decref() it),
 * 0 if there is no such file, PG_ERR_CORRUPT for an over-long file, bad
 * JSON or another version, or another PG_ERR_*.
 */
int lockout_priv_load(
    int dirfd, const char *name, size_t max, int version, json_t **out);

/*
 * Checks S: non-NULL (unless !REQUIRED), at most MAX bytes, valid UTF-8,
 * and non-empty if REQUIRED.  Returns 0 or PG_ERR_INVAL.
 */
int lockout_priv_text_ok(const char *s, size_t max, bool required);

/*
 * Writes into BUF (LOCKOUT_NAME_LEN bytes) the file name for USER with the
 * one-letter KIND ('u' lockouts, 'f' failure counters, 'p' directory
 * lockouts not yet written).  Returns 0 or
 * PG_ERR_INVAL for an empty, over-long or non-UTF-8 user name.
 */
int lockout_priv_name(char kind, const char *user, char *buf);

/*
 * Decodes a file name of KIND back into the user name (BUF holds
 * LOCKOUT_USER_MAX + 1 bytes).  Returns 0, or PG_ERR_INVAL for a name
 * that is not one the store would have written.
 */
int lockout_priv_unname(char kind, const char *name, char *buf);

/*
 * Removes NAME from DIRFD and makes the removal durable.  *EXISTED says
 * whether there was something to remove.  Returns 0 or PG_ERR_*.
 */
int lockout_priv_remove(int dirfd, const char *name, bool *existed);

/*
 * Removes USER's record of KIND (as lockout_priv_name()) under the store
 * lock, durably; none there is success.  Returns 0 or PG_ERR_*.
 */
int lockout_priv_drop(struct lockout_store *st, char kind, const char *user);

/* One kind of per-user record in the store, for lockout_priv_list(). */
struct lockout_priv_kind {
	char kind;        /* file-name prefix, as lockout_priv_name() */
	size_t size;      /* of one record */
	size_t since_off; /* of its time_t, the first sort key */
	size_t user_off;  /* of its user name pointer, the second */
	/* NAME's record of USER into REC: 1 read, 0 gone since, <0 error. */
	int (*read)(int dirfd, const char *name, const char *user, void *rec);
	void (*free)(void *v, size_t n);
};

/*
 * Every record of kind K in the store, read under the store's shared
 * lock, oldest first (then by user).  *OUT is freed with K->free.
 * Returns 0, PG_ERR_TOOBIG past LOCKOUT_PRIV_LIST_MAX records, or PG_ERR_*.
 */
#define LOCKOUT_PRIV_LIST_MAX 100000
int lockout_priv_list(struct lockout_store *st,
    const struct lockout_priv_kind *k, void **out, size_t *n);

#endif /* PG_LOCKOUT_PRIV_H */
