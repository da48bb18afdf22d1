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
#include <sys/types.h>
#include <time.h>

#include "core/dir/dir.h"

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
 * Where a lockout was decided: on this host (the gateway, the PAM module,
 * an admin), or on another server, copied here from the directory's
 * lockout attribute (lockout_sync_* below).  Only a copy may be lifted by
 * the directory's word alone.
 */
enum lockout_origin {
	LOCKOUT_ORIGIN_LOCAL = 0,
	LOCKOUT_ORIGIN_DIRECTORY = 1,
};

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
	enum lockout_origin origin; /* 0 (local) unless copied from the
	                               directory */
	char *storage; /* output only: owns the strings; NULL on input */
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

/*
 * The per-user counter of failed second-factor codes, kept
 * in the lockout store's directory with the same discipline (one file per
 * user, changed under the store lock, replaced atomically), so that many
 * sshd children counting at once never lose a failure.
 */

/*
 * Failures remembered per user.  Counts saturate here: far above any
 * sensible lockout threshold, and it bounds the counter file.
 */
#define FAILCOUNT_MAX 1024

/* Consecutive failures remembered; the run saturates here. */
#define FAILCOUNT_RUN_MAX 100000

/* Longest window accepted, in seconds (one week). */
#define FAILCOUNT_WINDOW_MAX (7 * 24 * 3600)

/*
 * Records one failure of USER at NOW and sets *COUNT_OUT to the number of
 * failures in (NOW - WINDOW_S, NOW], this one included; older failures are
 * forgotten.  Atomic across processes and threads.  Returns 0 or PG_ERR_*
 * (PG_ERR_CORRUPT if the counter file is damaged: a caller enforcing a
 * threshold must then act as if it were reached).
 */
int failcount_add(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out);

/*
 * As failcount_add(), and sets *RUN_OUT to USER's consecutive failures,
 * this one included, however far apart: the run ends only when the
 * counter is reset (a good code, an admin unlock).  NIST SP 800-63B
 * limits consecutive failed attempts; the window alone lets a patient
 * guesser through.
 */
int failcount_add_run(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out, unsigned *run_out);

/*
 * Sets *COUNT_OUT to USER's failures in (NOW - WINDOW_S, NOW] without
 * recording one.  Returns 0 or PG_ERR_* as failcount_add().
 */
int failcount_get(struct lockout_store *st, const char *user, time_t now,
    int window_s, unsigned *count_out);

/* Forgets USER's failures (after a good code).  Returns 0 or PG_ERR_*. */
int failcount_reset(struct lockout_store *st, const char *user);

/*
 * Directory lockouts not yet written.  When a lockout
 * decided here cannot be set in the directory (unreachable, timed out),
 * it is queued in the lockout store's directory ("p-<hex>.json", changed
 * under the store lock, replaced atomically) and retried by every process
 * that reaches the directory (the gateway periodically, the PAM account
 * phase, `photoguard lockouts`) until it lands or the lockout is lifted.
 */

/* Longest error message kept with an entry, in bytes. */
#define LOCKOUT_PENDING_ERR_MAX 255

/* One queued directory write; strings owned by the array it came in. */
struct lockout_pending {
	char *user;
	time_t since;    /* first failed try */
	time_t last_try; /* latest failed try */
	unsigned tries;  /* failed tries so far */
	char *error;     /* why the latest try failed ("" if unknown) */
};

/*
 * Queues (or, if queued already, notes another failed try of) the
 * directory lockout of USER, which failed at NOW because of ERR (may be
 * NULL; cut to LOCKOUT_PENDING_ERR_MAX).  Returns 0 or PG_ERR_*.
 */
int lockout_pending_add(
    struct lockout_store *st, const char *user, time_t now, const char *err);

/*
 * Lists the queue, oldest first: *OUT (NULL if empty) is an array of *N
 * entries freed with lockout_pending_free().  A damaged entry fails the
 * listing (PG_ERR_CORRUPT): it may hide a lockout.  Returns 0 or PG_ERR_*.
 */
int lockout_pending_list(
    struct lockout_store *st, struct lockout_pending **out, size_t *n);

/* Frees an array from lockout_pending_list(); NULL is a no-op. */
void lockout_pending_free(struct lockout_pending *v, size_t n);

/*
 * Works the queue at NOW: drops the entries of users no longer locked in
 * the store (lifted by an admin), then, with D non-NULL, writes each
 * remaining lockout to the directory, dropping those that land and noting
 * another failed try on the others.  *LEFT is the number still queued
 * afterwards.  Returns 0 when the queue was worked (even if writes
 * failed), or PG_ERR_* when it could not be read.
 */
int lockout_pending_retry(
    struct lockout_store *st, struct dir *d, time_t now, size_t *left);

/*
 * Following the directory's lockouts (the gateway's watch, dir_watch_*
 * in dir.h).  A lockout set in the directory by another server is copied
 * into this store with LOCKOUT_ORIGIN_DIRECTORY, so that this host's PAM
 * module and gateway refuse the user even while the directory is away.
 * When the directory no longer marks the user:
 *  - a copy is lifted;
 *  - a lockout decided here whose directory write is queued (pending) is
 *    kept: the directory has not heard of it yet;
 *  - a lockout decided here and written is lifted when the directory
 *    reports the removal as it happens (LIVE: `photoguard unlock` ran on
 *    another server, and lifts it everywhere), and kept by a refresh
 *    after a reconnection, which cannot tell a removal from a write still
 *    on its way.
 */
enum lockout_sync_action {
	LOCKOUT_SYNC_NONE = 0,
	LOCKOUT_SYNC_LOCK,   /* copy the directory's lockout into the store */
	LOCKOUT_SYNC_UNLOCK, /* lift the store's lockout */
};

/* What the store holds for one user. */
enum lockout_sync_local {
	LOCKOUT_SYNC_NOT_LOCKED = 0,
	LOCKOUT_SYNC_LOCKED_HERE, /* origin local */
	LOCKOUT_SYNC_LOCKED_COPY, /* origin directory */
};

/*
 * The rules above for one user: LOCAL what the store holds, PENDING its
 * directory write is queued, DIR_LOCKED what the directory says, LIVE
 * whether that is a change seen as it happened (else a refresh).
 */
enum lockout_sync_action lockout_sync_decide(
    enum lockout_sync_local local, bool pending, bool dir_locked, bool live);

/* One step of a plan; USER points into the plan's input. */
struct lockout_sync_step {
	const char *user;
	enum lockout_sync_action action;
	size_t dir_index; /* LOCK: the user's index in DIR_USERS */
};

/*
 * The steps a refresh calls for: the store's entries LOCAL (NLOCAL, from
 * lockout_list()), the queue PEND (NPEND, from lockout_pending_list())
 * and every user the directory marks locked, DIR_USERS (NDIR, in any
 * order, duplicates allowed).  Pure: reads nothing else.  On PG_OK *STEPS
 * (free()) holds *NSTEPS steps, LOCK or UNLOCK only: LOCKs in DIR_USERS'
 * order, then UNLOCKs in LOCAL's.  Returns PG_OK or PG_ERR_NOMEM.
 */
int lockout_sync_plan(const struct lockout_entry *local, size_t nlocal,
    const struct lockout_pending *pend, size_t npend, char *const *dir_users,
    size_t ndir, struct lockout_sync_step **steps, size_t *nsteps);

/*
 * The directory no longer marks USER (LIVE as above): under the store's
 * lock, asks what the store holds and whether a directory write is
 * queued, and lifts USER's lockout (and resets the failure counter, as
 * lockout_unlock() does) when lockout_sync_decide() says so.  *LIFTED
 * tells whether it did; a damaged entry is never lifted this way.
 * Returns 0 or PG_ERR_*.
 */
int lockout_sync_unlock(
    struct lockout_store *st, const char *user, bool live, bool *lifted);

/*
 * As lockout_check(), for a process that no watch keeps in step with the
 * directory (the PAM module): a copy of the directory's lockout (origin
 * directory) is first asked of D.  When D answers that USER is no longer
 * locked there (an unlock on another server that no gateway here lifted
 * yet), the copy is lifted (lockout_sync_unlock()), *LIFTED (may be NULL)
 * is set and the store's answer after that is returned.  When D cannot
 * answer, or does not know USER, the copy stands: 1.  D may be NULL (no
 * directory to ask: lockout_check()).
 */
int lockout_check_dir(struct lockout_store *st, struct dir *d, const char *user,
    struct lockout_entry *out, bool *lifted);

/* --- the lockout hook (hook.c) ------------------------------------------ */
/*
 * [lockout] hook runs for every event an admin should hear of at once:
 * a lockout (gateway or PAM module), a break-glass grant, an audit log
 * that refuses records.  It gets no arguments, no descriptor but
 * /dev/null, and only the environment built here.
 */
#define LOCKOUT_HOOK_ENV_MAX 16  /* variables, PATH included */
#define LOCKOUT_HOOK_VAR_MAX 600 /* one NAME=value, with its NUL */

struct lockout_hook_env {
	char var[LOCKOUT_HOOK_ENV_MAX][LOCKOUT_HOOK_VAR_MAX];
	size_t n;
};

/*
 * Starts E with PHOTOGUARD_EVENT=EVENT, PHOTOGUARD_COMPONENT=COMPONENT
 * ("gateway", "pam"), PHOTOGUARD_TIME (now, UTC, ISO 8601),
 * PHOTOGUARD_HOST and a fixed PATH.
 */
void lockout_hook_env_init(
    struct lockout_hook_env *e, const char *event, const char *component);

/*
 * Adds NAME=VALUE to E (a NULL VALUE adds nothing).  Control characters
 * in VALUE become '?' and a value too long is cut, so that a name or a
 * reason cannot add lines to what a hook prints.
 */
void lockout_hook_env_set(
    struct lockout_hook_env *e, const char *name, const char *value);

/*
 * The one rule a hook must pass before it runs: an absolute path to a
 * regular file (not a symlink) owned by root, executable by its owner,
 * writable by root only, in directories owned by root that nobody else
 * may write (or sticky ones, such as /tmp, where only root may replace
 * root's entries).
 * Returns 0, or PG_ERR_PERM / PG_ERR_SYMLINK / PG_ERR_IO / PG_ERR_INVAL
 * with what is wrong in WHY (LEN bytes).
 */
int lockout_hook_check(const char *path, char *why, size_t len);

struct lockout_hook_opts {
	unsigned timeout_s; /* killed (with its process group) after this */
	uid_t uid;          /* run as UID/GID; (uid_t)-1: as the caller */
	gid_t gid;
	const char *ident; /* syslog tag of the supervisor's lines */
};

/*
 * Checks PATH (lockout_hook_check()) and runs it detached: the caller
 * waits only for a short-lived child; a grandchild, reparented to init,
 * starts the hook in a session of its own, kills it at the timeout and
 * sends a syslog line (authpriv.err, tag O->ident) when it fails, times
 * out or cannot start.  No signal disposition of the caller is touched
 * and only the caller's own child is waited for.  Safe in a threaded
 * process: the children only make async-signal-safe calls.  Returns 0
 * once started, or a PG_ERR_* with the reason in WHY (LEN bytes).
 */
int lockout_hook_run(const char *path, const struct lockout_hook_env *e,
    const struct lockout_hook_opts *o, char *why, size_t len);

#endif /* PG_LOCKOUT_H */
