/*
 * offline_cache.h - the PAM account check's memory of directory answers:
 * one root-only file per user with the groups (and lockout flag) of the
 * last successful lookup, so that an explicitly configured host can still
 * decide a login while the directory is unreachable.  Only groups are
 * kept; the second factor is never part of it.
 */
#ifndef PG_OFFLINE_CACHE_H
#define PG_OFFLINE_CACHE_H

#include <stdbool.h>
#include <time.h>

#include "core/directory.h"

#define OFFLINE_CACHE_MAX_SIZE (1024 * 1024)

/*
 * Records U's groups and lockout flag as fetched at NOW in DIR (created
 * 0700 if absent; must belong to root or the effective uid and be private).
 * Written temp -> fsync -> rename, mode 0600.  Returns PG_OK, PG_ERR_PERM
 * (unsafe directory), PG_ERR_INVAL / PG_ERR_TOOBIG (a name that cannot be
 * cached), PG_ERR_NOMEM or PG_ERR_IO.
 */
int offline_cache_put(const char *dir, const struct dir_user *u, time_t now);

/*
 * Reads USER's entry from DIR.  On PG_OK *OUT is a dir_user (name, groups,
 * locked, fetched; no care teams) the caller frees with dir_user_free(),
 * and the entry was fetched no more than MAX_AGE_S seconds before NOW (and
 * not more than a minute after it).  Otherwise *OUT is NULL and *AGE_OUT
 * (may be NULL) is the entry's age in seconds when it was too old or from
 * the future (PG_ERR_NOTFOUND), -1 when there is none (PG_ERR_NOTFOUND) or
 * it could not be read: PG_ERR_PERM, PG_ERR_SYMLINK, PG_ERR_CORRUPT,
 * PG_ERR_INVAL, PG_ERR_NOMEM, PG_ERR_IO.
 */
int offline_cache_get(const char *dir, const char *user, time_t now,
    int max_age_s, struct dir_user **out, long long *age_out);

/*
 * Marks USER's entry in DIR as locked, keeping its groups and its fetch
 * time, because the directory was seen marking USER locked (e.g. in a
 * listing of every locked user): a cached "not locked" from an earlier
 * lookup must never outvote it while the directory is down.  Returns
 * PG_OK (also when there is no entry: nothing to outvote), or an error of
 * offline_cache_get() / offline_cache_put().
 */
int offline_cache_mark_locked(const char *dir, const char *user);

/* How often offline_cache_sync_locks() asks the directory, in seconds. */
#define OFFLINE_CACHE_SYNC_S 60

/*
 * At most once per OFFLINE_CACHE_SYNC_S (a stamp file in DIR remembers
 * when), lists every user D marks locked and marks their entries locked
 * (offline_cache_mark_locked()), so a lock set by another server reaches
 * this host's cache even if the user never logs in here meanwhile.
 * Returns PG_OK (also when it was not yet time), or the first error.
 */
int offline_cache_sync_locks(const char *dir, struct dir *d, time_t now);

/*
 * True when offline_cache_sync_locks() would ask the directory at NOW (so
 * a caller opens one only then), also when DIR cannot be opened (the
 * sync then says why); false when it asked recently.
 */
bool offline_cache_sync_due(const char *dir, time_t now);

#endif /* PG_OFFLINE_CACHE_H */
