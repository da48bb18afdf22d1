/*
 * dir.h - who a user is to photoguard: the groups that map to roles,
 * the patients whose care team they are on and whether the directory has
 * locked them out.  Two backends: LDAP (libldap, StartTLS or ldaps with
 * CA checks) and local (Unix groups plus a care-team file).  Answers are
 * cached per user for dir_cache_ttl_s; errors are never cached.  This is
 * the only cache of directory answers: copies kept elsewhere expire with
 * it (dir_user_fresh()).
 *
 * Every function is safe to call from many threads on one struct dir.
 * Every error is a refusal: no return value other than PG_OK carries an
 * answer, and there is no "unknown" that looks like success.
 */
#ifndef PG_DIR_H
#define PG_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config/config.h"

#define DIR_NAME_MAX       256    /* longest user, group or DN value */
#define DIR_PATIENT_ID_MAX 128    /* longest patient id */
#define DIR_MAX_GROUPS     1024   /* groups one user may be in */
#define DIR_MAX_PATIENTS   100000 /* care teams one user may be on */
#define DIR_CACHE_MAX      4096   /* cached users; the oldest goes */
#define DIR_NEG_TTL_MAX    10     /* seconds an unknown user is cached */

struct dir;

/* One user as the directory sees them.  Caller-owned: dir_user_free(). */
struct dir_user {
	char *name;    /* the name looked up, exactly */
	char *dn;      /* the entry's DN; NULL for the local backend */
	char **groups; /* group names, sorted, NULL-terminated */
	size_t ngroups;
	char **patients; /* care-team patient ids, sorted with strcmp,
	                    no duplicates, NULL-terminated */
	size_t npatients;
	bool locked;    /* the lockout attribute is set */
	time_t fetched; /* wall-clock time of the directory answer */
	time_t expires; /* dir_clock() second from which the cache no longer
	                   gives this answer; 0: never cached */
};

/*
 * Opens the directory CFG describes (dir_backend and the dir_* fields; see
 * deploy/ldap/photoguard.schema.md for defaults).  Checks the configuration
 * (URI scheme against dir_tls, base DNs, filters, the bind password file's
 * owner and mode) but does not connect: the LDAP connection is made on the
 * first lookup and remade when lost.  On success *OUT is the caller's, to
 * free with dir_free().  Returns PG_OK, PG_ERR_CONFIG, PG_ERR_PERM,
 * PG_ERR_INVAL or PG_ERR_NOMEM.
 */
int dir_open(const struct pg_config *cfg, struct dir **out);

/* Closes the connection and frees everything; NULL is a no-op. */
void dir_free(struct dir *d);

/*
 * Looks USER (USERLEN bytes, no NUL) up.  On PG_OK *OUT is a copy the
 * caller frees with dir_user_free().  Otherwise *OUT is NULL and the
 * result is PG_ERR_NOTFOUND (no such user), PG_ERR_INVAL (empty name, a
 * NUL in it, or longer than DIR_NAME_MAX), PG_ERR_DIR_UNAVAIL (unreachable
 * or timed out), PG_ERR_DIR_BADANSWER (several entries for one name,
 * missing or invalid attributes, answers over the limits above),
 * PG_ERR_TLS, PG_ERR_AUTH (bind refused or not allowed to read),
 * PG_ERR_PARSE (local care-team file malformed), PG_ERR_CONFIG, or
 * PG_ERR_NOMEM.  dir_last_error() says more.
 */
int dir_lookup(
    struct dir *d, const char *user, size_t userlen, struct dir_user **out);

/*
 * Sets (LOCKED) or removes the configured lockout attribute of USER in the
 * directory.  With ppolicy's pwdAccountLockedTime the value written is the
 * current time as GeneralizedTime.  The bind DN needs write access to that
 * attribute on user entries.  Drops USER from the cache.  Returns PG_OK,
 * PG_ERR_CONFIG (local backend or no dir_lockout_attr), or any error of
 * dir_lookup().
 */
int dir_set_locked(
    struct dir *d, const char *user, size_t userlen, bool locked);

/*
 * Every user the directory marks with the lockout attribute, wherever the
 * lock was decided: *USERS and *SINCE (the attribute's first value, e.g.
 * GeneralizedTime for pwdAccountLockedTime) are N-long NULL-terminated
 * arrays in the same order, sorted by user; free both with
 * dir_locked_free().  At most DIR_LOCKED_MAX users (PG_ERR_DIR_BADANSWER
 * beyond).  Returns PG_OK, PG_ERR_CONFIG (no lockout attribute, or the
 * local backend), or any error of dir_lookup().
 */
#define DIR_LOCKED_MAX 10000
int dir_list_locked(struct dir *d, char ***users, char ***since, size_t *n);
void dir_locked_free(char **users, char **since);

/* True when dir_set_locked() can work: LDAP with a lockout attribute. */
bool dir_can_lock(const struct dir *d);
/*
 * True when it can lock too: not with Active Directory's lockoutTime,
 * which a client may only clear (0).  There the directory's locks are
 * read and lifted, and photoguard's own hold on its server only.
 */
bool dir_can_set_lock(const struct dir *d);

/*
 * Watching the directory's lockouts as they happen (dir_watch.c): a
 * watch holds a connection of its own with an RFC 4533 refreshAndPersist
 * search (slapd's syncprov overlay) for the users under the user base
 * that carry the lockout attribute.  Each (re)connection starts with a
 * refresh, the full set of users the directory marks locked then; after
 * it, each change arrives as it is written.  Whatever ends a session (the
 * server gone, no syncprov, a refused bind) is reported and the watch
 * connects again after a backoff that doubles from DIR_WATCH_BACKOFF_MIN_MS
 * to DIR_WATCH_BACKOFF_MAX_MS.  The watch drops the users it hears of from
 * the answer cache of the struct dir it was made from, and flushes that
 * cache after each refresh: what happened while it was away is not in
 * force later than it would have been without it.
 */
#define DIR_WATCH_BACKOFF_MIN_MS 250
#define DIR_WATCH_BACKOFF_MAX_MS 5000

struct dir_watch;

enum dir_watch_what {
	DIR_WATCH_REFRESH, /* connected: USERS/VALUES/N are every user the
	                      directory marks locked, unsorted */
	DIR_WATCH_CHANGE,  /* USER became LOCKED (VALUE, SINCE) or unlocked */
	DIR_WATCH_DOWN,    /* the watch is not running: WHY, ERR; retried */
};

/* One report; every pointer is valid only during the callback. */
struct dir_watch_event {
	enum dir_watch_what what;
	const char *user;    /* CHANGE */
	bool locked;         /* CHANGE */
	const char *value;   /* CHANGE, locked: the attribute's value ("" if
	                        the server sent none) */
	time_t since;        /* CHANGE, locked: dir_gentime(VALUE), 0 if none */
	char *const *users;  /* REFRESH */
	char *const *values; /* REFRESH, beside USERS */
	size_t n;            /* REFRESH */
	int err;             /* DOWN: PG_ERR_* */
	const char *why;     /* DOWN: in words, never a secret */
	unsigned failures;   /* DOWN: sessions failed in a row, this one too */
};

/* Called on the thread of dir_watch_run(), one report at a time. */
typedef void (*dir_watch_fn)(void *arg, const struct dir_watch_event *ev);

/*
 * Makes a watch of D's lockout attribute reporting to FN(ARG, ...).  It
 * connects only in dir_watch_run().  Returns PG_OK with *OUT (free with
 * dir_watch_free() once dir_watch_run() has returned), PG_ERR_CONFIG when
 * D cannot lock (dir_can_lock()), or PG_ERR_NOMEM.  D must outlive it.
 */
int dir_watch_new(
    struct dir *d, dir_watch_fn fn, void *arg, struct dir_watch **out);

/* Watches, reconnecting as above, until dir_watch_stop(). */
void dir_watch_run(struct dir_watch *w);

/*
 * From any thread: makes dir_watch_run() return soon (it cuts the watch's
 * connection; at most about a second otherwise).
 */
void dir_watch_stop(struct dir_watch *w);

/* Frees W; NULL is a no-op. */
void dir_watch_free(struct dir_watch *w);

/*
 * The time a GeneralizedTime in UTC ("YYYYMMDDHH[MM[SS]][.frac]Z", as
 * ppolicy writes pwdAccountLockedTime) names, or 0 when S is not one or
 * names a time before 1970 (ppolicy's "000001010000Z").
 */
time_t dir_gentime(const char *s);

/*
 * The same form at the start of the LEN bytes at S, anything after the Z
 * (a value such as pgTOTPFailure's "TIME#TAG").  Returns the length up to
 * and with the Z and *OUT, or -1 (and *OUT untouched).
 */
int dir_gentime_prefix(const char *s, size_t len, time_t *out);

/* Forgets every cached answer. */
void dir_flush_cache(struct dir *d);

/*
 * Copies the message of the latest failure on D (e.g. "care.txt:3:
 * expected 'PATIENT: user...'") into BUF of LEN bytes, "" if none.  The
 * message never contains a secret.
 */
void dir_last_error(struct dir *d, char *buf, size_t len);

/* Seconds of CLOCK_MONOTONIC: the clock of the cache and of ->expires. */
time_t dir_clock(void);

/*
 * True while U, an answer of dir_lookup(), is still the one the cache
 * would give at NOW (dir_clock()).  A caller that keeps a copy keeps it
 * only this long, so there is one cache and a change in the directory is
 * in force within one cache_ttl.  False when the answer was not cached.
 */
bool dir_user_fresh(const struct dir_user *u, time_t now);

/*
 * One bulk budget for the clinic ([lockout] budget = directory,
 * dir_budget.c).  A user's allowance under each limit is shared by every
 * gateway: a gateway leases a slice of it from the user's entry (one
 * pgBulkLease value each, see deploy/ldap/photoguard.schema.md) and
 * spends it locally until it runs out or expires.  A lease is granted by
 * one modify that replaces the entry's pgBulkSerial value read with a new
 * one, so of gateways racing, one wins and the others read again.
 *
 * A lease counts against its limit, in full, from its grant until its
 * expiry plus the limit's window; whatever a gateway spent of it was
 * spent inside that time, so every window of the limit sees at most what
 * the leases it overlaps granted, and those never sum over the limit.
 * Servers' clocks may differ by up to DIR_BUDGET_SKEW_MS (NTP keeps
 * them far closer): a lease counts that much longer.
 * A gateway gives back what it did not spend by trimming its lease to the
 * units used, expiring just after the last use.
 *
 * Distinct patients are counted by name, not by units: a lease of the
 * patients metric is one patient's (TAG, dir_budget_tag()), and a limit
 * counts the distinct tags of its leases that count.  A lease for a
 * patient already counted costs nothing more, so a gateway renewing its
 * lease on the patient in front of the user, or a second gateway serving
 * the same patient, never counts them twice.  A gateway that dies
 * leaves its leases counted in full until they age out: closed.
 */
#define DIR_BUDGET_SKEW_MS    2000 /* clock difference between servers allowed */
#define DIR_BUDGET_KEY_MAX    64   /* "lockout:patients:86400:1000000" */
#define DIR_BUDGET_OWNER_MAX  80   /* a gateway's name in its leases */
#define DIR_LEASE_MAX         224  /* a pgBulkLease value, with its NUL */
#define DIR_BUDGET_ASKS_MAX   64   /* limits in one request */
#define DIR_BUDGET_TAG_MAX    33   /* a patient's tag: 32 hex digits, NUL */
#define DIR_BUDGET_LEASES_MAX 1024 /* leases read from one entry at most */

/*
 * Writes the key of a limit: "limit" or "lockout", the metric ("files",
 * "bytes", "patients"), the window in seconds and the maximum, joined by
 * ':'.  Gateways with the same policy make the same key and so share one
 * budget.  Returns PG_OK or PG_ERR_INVAL (a bad metric, no window).
 */
int dir_budget_key(char *buf, size_t len, bool lockout, const char *metric,
    unsigned long window_s, unsigned long long max);

/*
 * Writes the tag of patient ID into OUT (DIR_BUDGET_TAG_MAX bytes): a
 * BLAKE2b hash, so the user's entry names no patient outright (the IDs
 * are few enough to be guessed from it, so the entry stays readable by
 * the bind DN only).  Returns PG_OK or PG_ERR_INVAL (no ID).
 */
int dir_budget_tag(const char *id, char *out, size_t len);

/* A request for one limit's units, and its answer (patients: NEED 1). */
struct dir_budget_ask {
	char key[DIR_BUDGET_KEY_MAX]; /* dir_budget_key() */
	char tag[DIR_BUDGET_TAG_MAX]; /* patients: whose; others: "" */
	uint64_t need;           /* units the open needs now; 0: only end OLD */
	uint64_t want;           /* units to lease, if there is room */
	char old[DIR_LEASE_MAX]; /* the caller's lease to end, "" none */
	uint64_t old_used;       /* what it spent of OLD... */
	int64_t old_last_ms;     /* ...last at this time */
	/* answer */
	uint64_t granted; /* 0: refused, the limit has no room for NEED */
	uint64_t in_use;  /* units the clinic holds or spent, without this */
	char lease[DIR_LEASE_MAX]; /* the new lease, to pass as OLD later */
	int64_t expires_ms;        /* spend it only before this time */
};

/*
 * Asks for the N requests of A on behalf of gateway OWNER
 * ([A-Za-z0-9._-], at most DIR_BUDGET_OWNER_MAX - 1 bytes) at NOW_MS
 * (milliseconds since the epoch), leases lasting LEASE_MS, in one modify
 * of USER's entry asserting the lockout attribute is absent.  Each OLD
 * is trimmed to OLD_USED units in the same modify, and leases that no
 * longer count are removed.  Every request with a NEED is answered:
 * granted is NEED or more, or 0.  Returns PG_OK, PG_ERR_ACCT_LOCKED (the
 * directory marks USER locked), PG_ERR_NOTFOUND, PG_ERR_CORRUPT (a lease value
 * that does not parse), PG_ERR_DIR_UNAVAIL..., with the reason in WHY; nothing
 * was granted then.
 */
int dir_budget_lease(struct dir *d, const char *user, const char *owner,
    int64_t now_ms, int64_t lease_ms, struct dir_budget_ask *a, size_t n,
    char *why, size_t whylen);

/*
 * Ends every lease of USER (an unlock: the count starts again).
 * *CLEARED tells how many there were.  Returns as dir_budget_lease().
 */
int dir_budget_clear(
    struct dir *d, const char *user, size_t *cleared, char *why, size_t whylen);

/*
 * The TOTP store in the directory ([totp] store = directory): the token of
 * each user in their entry, or the entry their oathTOTPToken names, with
 * slapo-otp's oath* attributes and photoguard-schema.ldif's pgTOTPState
 * (see deploy/ldap/photoguard.schema.md).  Every totp_store_* call works
 * on it, and totp_store_failures_add() counts wrong codes in the entry
 * for every server.  A code, a scratch code and an enrollment each take
 * effect by one atomic modify, so of servers racing, one wins.  Needs
 * the LDAP backend and a lockout attribute (PG_ERR_CONFIG).  Connects on
 * first use.  On PG_OK *OUT is for totp_store_free().
 */
struct totp_store;
int dir_totp_store_open(const struct pg_config *cfg, struct totp_store **out);

/* Returns a deep copy of U, or NULL when out of memory. */
struct dir_user *dir_user_dup(const struct dir_user *u);

/* Frees a user; NULL is a no-op. */
void dir_user_free(struct dir_user *u);

/* True if U is on the care team of PATIENT (bsearch on U->patients). */
bool dir_user_has_patient(const struct dir_user *u, const char *patient);

/*
 * The PAM account check's memory of directory answers:
 * one root-only file per user with the groups (and lockout flag) of the
 * last successful lookup, so that an explicitly configured host can still
 * decide a login while the directory is unreachable.  Only groups are
 * kept; the second factor is never part of it.
 */

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

#endif /* PG_DIR_H */
