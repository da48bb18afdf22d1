/*
 * lockout.h - the lockout store: which users are locked out, since when,
 * why, by which rule and which component on which host.  Shared by the PAM
 * module, the gateway and the CLI, so they can never disagree about it.
 *
 * On disk: one JSON file per locked user in the store directory, named
 * "u-<hex of the user name>.json" (never the raw name), mode 0600; every
 * change is a read-modify-write under an exclusive lock on ".lock", written
 * temp -> fsync -> rename -> fsync(dir), so a reader sees the old or the
 * new state, never half of one.  The directory must belong to root or the
 * effective uid, must not be group/world-writable and must not live on a
 * tmpfs or ramfs (lockouts must survive a reboot).
 */
#ifndef PG_LOCKOUT_H
#define PG_LOCKOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Flags for lockout_open(). */
#define LOCKOUT_OPEN_CREATE 0x1 /* create the directory (0700) */
/*
 * Accept a directory on tmpfs/ramfs.  Lockouts there vanish on reboot, so
 * this exists only for tests; no configuration key may set it.
 */
#define LOCKOUT_OPEN_ALLOW_VOLATILE 0x2

/* Explicit maxima, in bytes without the NUL.  Longer input: PG_ERR_INVAL. */
#define LOCKOUT_USER_MAX  100 /* user names (hex-encoded into file names) */
#define LOCKOUT_FIELD_MAX 255 /* rule, by, host */
#define LOCKOUT_TEXT_MAX  512 /* reason, extra */

/* Default wait for the store's lock before giving up with PG_ERR_LOCKED. */
#define LOCKOUT_LOCK_TIMEOUT_MS 5000

struct lockout_store;

/*
 * One lockout.  As input to lockout_lock() the strings are the caller's
 * (user and by required, the others may be NULL; all valid UTF-8, no
 * longer than the maxima above).  As output, all strings point into
 * STORAGE, which the store allocated: release with lockout_entry_clear().
 */
struct lockout_entry {
	const char *user;
	time_t since;       /* 0 on input: the store sets the current time */
	const char *reason; /* human-readable: "bulk read: 512 files/60s" */
	const char *rule;   /* the policy rule or limit that fired */
	const char *by;     /* component: "gateway", "pam", "cli" */
	const char *host;   /* host the lockout was decided on */
	const char *extra;  /* counts or other short detail */
	char *storage;      /* output only: owns the strings; NULL on input */
};

/*
 * Opens the store in DIR with LOCKOUT_OPEN_* FLAGS.  Refuses (fail
 * closed) a directory that is a symlink (PG_ERR_SYMLINK), owned by someone
 * other than root or the effective uid, or group/world-writable
 * (PG_ERR_PERM), or on tmpfs/ramfs without LOCKOUT_OPEN_ALLOW_VOLATILE
 * (PG_ERR_CONFIG).  On success *OUT is a store the caller frees with
 * lockout_free().  A store may be shared by the threads of one process.
 */
int lockout_open(const char *dir, unsigned flags, struct lockout_store **out);

/* Closes the store; NULL is a no-op. */
void lockout_free(struct lockout_store *st);

/* Sets how long changes wait for the store's lock (default above). */
void lockout_set_lock_timeout(struct lockout_store *st, int timeout_ms);

/* Returns the directory the store was opened on (owned by the store). */
const char *lockout_dir(const struct lockout_store *st);

/*
 * Locks E->user out.  If the user is already locked, the existing entry
 * is kept (its since/reason are the ones that matter) and *ALREADY is set
 * true; an existing entry that is corrupt counts as locked and is replaced.
 * Returns 0 or PG_ERR_* (PG_ERR_INVAL for a bad user or field).
 */
int lockout_lock(
    struct lockout_store *st, const struct lockout_entry *e, bool *already);

/*
 * Lifts USER's lockout and resets USER's failure counter (failcount.h), so
 * the next failed code does not lock the user out again at once.
 * *WAS_LOCKED (may be NULL) says whether there was a lockout to lift.
 * Returns 0 or PG_ERR_*.
 */
int lockout_unlock(
    struct lockout_store *st, const char *user, bool *was_locked);

/*
 * Is USER locked out?  Returns 1 locked, 0 not locked, <0 PG_ERR_* on
 * error (corrupt or unsafe state, I/O, bad name).  Callers MUST treat
 * anything but 0 as locked: test `== 0` for "may proceed".  With OUT
 * non-NULL and a return of 1, *OUT is filled (lockout_entry_clear() it);
 * otherwise *OUT is zeroed.  Cheap when the user is not locked: a stat of
 * the directory and of one file.
 */
int lockout_check(
    struct lockout_store *st, const char *user, struct lockout_entry *out);

/*
 * Lists all lockouts, oldest first.  On success *OUT is an array of *N
 * entries (NULL if none) freed with lockout_entries_free().  A corrupt or
 * unsafe entry fails the whole listing (PG_ERR_CORRUPT / PG_ERR_PERM).
 */
int lockout_list(
    struct lockout_store *st, struct lockout_entry **out, size_t *n);

/* Frees the strings of one entry from lockout_check(); NULL is a no-op. */
void lockout_entry_clear(struct lockout_entry *e);

/* Frees an array from lockout_list(); NULL is a no-op. */
void lockout_entries_free(struct lockout_entry *v, size_t n);

#endif /* PG_LOCKOUT_H */
