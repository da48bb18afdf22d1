/*
 * gw.h - the gateway's shared state and the few internal functions its
 * files call one another by.  Nothing here is a public interface: the
 * gateway is a program, and its only outside surfaces are the mount, the
 * audit log, the lockout store and the control socket.
 */
#ifndef PG_GW_H
#define PG_GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config/config.h"
#include "core/dir/dir.h"
#include "policy/policy.h"

struct audit_log;
struct backing;
struct budget;
struct dir;
struct dir_user;
struct limiter;
struct lockout_store;
struct fuse;

#define GW_USER_MAX     64   /* longest user name served */
#define GW_BG_MAX       16   /* live break-glass grants per user */
#define GW_BG_LOG_MAX   64   /* grant times kept for max N/period */
#define GW_USERS_MAX    4096 /* users with state at once */
#define GW_MFA_CACHE_MS 1000 /* MFA ticket answer reused for listings */

/* One break-glass grant. */
struct gw_grant {
	char patient[POLICY_ID_MAX];
	time_t until;
};

/* Everything the gateway keeps about one user (by uid). */
struct gw_user {
	uid_t uid;
	char name[GW_USER_MAX];
	bool known;               /* the uid has a name */
	pthread_mutex_t mu;       /* guards what follows */
	struct dir_user *du;      /* last directory answer, NULL: none; kept
	                             while dir_user_fresh() */
	unsigned char du_sig[16]; /* digest of du's groups and care team:
	                             a change invalidates U's views */
	bool du_sig_set;
	uint64_t policy_gen; /* policy the roles/limits were made from */
	struct policy_roleset roles;
	bool mfa_matters; /* a rule for these roles has an mfa condition */
	struct limiter *lim;
	struct budget *bud; /* [lockout] budget = directory; else NULL */
	int mfa;            /* cached mfa_ticket_valid() == 1 */
	int64_t mfa_ms;     /* when it was asked */
	struct gw_grant grants[GW_BG_MAX];
	size_t ngrants;
	time_t grant_log[GW_BG_LOG_MAX];
	size_t ngrant_log;
	int nopen;              /* open handles */
	struct gw_handle *open; /* list of open handles */
	atomic_bool locked;     /* refuse everything, read included */
	bool lock_unsaved;      /* the lockout store refused the lock */
	bool err_logged;        /* a refresh failure was logged */
	struct gw_user *next;
};

#define GW_HANDLE_FILE 0x70676631u /* "pgf1" */
#define GW_HANDLE_DIR  0x70676431u /* "pgd1" */

/* One open directory (its path: readdir gets none with nullpath_ok). */
struct gw_dirh {
	uint32_t magic; /* GW_HANDLE_DIR */
	char *rel;
};

/* One open file. */
#define GW_COMM_MAX 64

struct gw_handle {
	uint32_t magic; /* GW_HANDLE_FILE */
	struct backing_file *bf;
	struct gw_user *u;
	const void *conn; /* the connection's private data: a view's, or
	                     the gateway's for the shared mount */
	char *path;       /* relative to the store */
	char patient[POLICY_ID_MAX];
	char rule[POLICY_PATH_MAX + 16];
	uint64_t charged; /* bytes paid for at open */
	off_t size;       /* the file's size and mtime at open */
	struct timespec mtime;
	_Atomic uint64_t bytes; /* bytes read or written */
	bool writable;
	bool held; /* counted in the gateway's held set (held.c); u->mu */
	pid_t pid;
	/* The opener's name, taken at open: at release the process may be
	 * gone, or its pid another process's. */
	char comm[GW_COMM_MAX];
	struct gw_handle *prev, *next; /* in u->open */
};

/* The policy in force, replaced whole on reload. */
struct gw_policy {
	struct policy *p;
	uint64_t gen;
	atomic_int refs;
};

struct gw {
	struct pg_config *cfg;
	const char *config_path;
	struct backing *store;
	struct dir *dir;
	char budget_owner[DIR_BUDGET_OWNER_MAX]; /* "" : budget = local */
	struct lockout_store *lockouts;
	struct audit_log *audit;
	struct fuse *fuse;
	char *mountpoint;
	int privsep;    /* the worker of privsep.c: serves unprivileged */
	time_t started; /* every directory's times (ops_meta.c) */

	pthread_mutex_t policy_mu;
	struct gw_policy *policy;
	uint64_t policy_gen;

	pthread_mutex_t users_mu;
	struct gw_user *users[256];
	size_t nusers;

	/* Files locked-out users hold open (held.c). */
	pthread_mutex_t held_mu;
	pthread_cond_t held_cv;
	struct gw_held *held;
	atomic_uint nheld; /* entries in held */
	bool dropper;      /* the dropper thread runs */

	/* Opens decided (gateway.open records), for `photoguard metrics`. */
	atomic_ullong opens_allowed, opens_denied;
};

extern struct gw *gw_global; /* the one gateway of this process */

/* --- time ------------------------------------------------------------- */
int64_t gw_now_ms(void); /* CLOCK_MONOTONIC */

/* --- policy (policy_ref.c) ---------------------------------------------- */
struct gw_policy *gw_policy_get(struct gw *g);
void gw_policy_put(struct gw_policy *p);
/* Installs P (owned from now on) as the policy in force.  Returns 0, or
 * PG_ERR_NOMEM (P freed, the old policy stays). */
int gw_policy_set(struct gw *g, struct policy *p);

/* --- users (users.c) ---------------------------------------------------- */
/* The state of UID, created on first use; NULL when out of memory or
 * too many users. */
struct gw_user *gw_user_get(struct gw *g, uid_t uid);

/*
 * The users (at most MAX, into OUT) whose name is NAME: candidates, whose
 * name the caller checks again with each one's mu held.  Returns how many.
 */
#define GW_NAMED_MAX 8 /* uids sharing one name that a change reaches */
size_t gw_users_named(
    struct gw *g, const char *name, struct gw_user **out, size_t max);

/*
 * With U->mu held: makes sure U's directory answer, roles and limits are
 * fresh for policy P.  Returns 0, or PG_ERR_* (unknown uid: NOTFOUND;
 * directory errors as dir_lookup()) with a message in ERR.
 */
int gw_user_refresh(struct gw *g, struct gw_user *u, struct gw_policy *p,
    char *err, size_t errlen);

/*
 * With U->mu held and U refreshed: decides ACTION on REL for U.  FRESH_MFA
 * asks the ticket store now instead of reusing an answer of the last
 * GW_MFA_CACHE_MS.  Returns the verdict (also in DEC).
 */
enum policy_verdict gw_user_decide(struct gw *g, struct gw_user *u,
    struct gw_policy *p, enum policy_action action, const char *rel,
    bool is_dir, bool fresh_mfa, struct policy_decision *dec);

/*
 * Is U locked out?  Asks the lockout store (cheap) and notices an unlock
 * by an admin (then U's counters start again).  Returns 0 when U may
 * proceed, 1 locked, <0 store error (refuse).  Takes U->mu.
 */
int gw_user_check_lock(struct gw *g, struct gw_user *u);

/* --- lockout (lock.c) ------------------------------------------------- */
/*
 * Removes U's MFA ticket (U locked out, here or elsewhere): after an
 * unlock the user must pass the second factor again.  Alerts on failure.
 */
void gw_drop_ticket(struct gw *g, struct gw_user *u);

/*
 * With U->mu held: what a lockout does to U here, whoever decided it: U
 * is refused everything from now on (reads of open files included), the
 * kernel's cached pages of U's open files are dropped (held.c) and U's MFA
 * ticket goes.
 */
void gw_user_revoke(struct gw *g, struct gw_user *u);

/*
 * Locks U out now (U->mu held): gw_user_revoke(), the lockout store, an
 * audit record and a syslog alert; the directory attribute and the hook
 * follow on a worker thread.  RULE and REASON describe what fired; FILES,
 * BYTES and PATIENTS are the counts for the hook.
 */
void gw_lock_user(struct gw *g, struct gw_user *u, const char *rule,
    const char *reason, unsigned long long files, unsigned long long bytes,
    unsigned long long patients);

/*
 * USER was locked in the directory (by another server; VALUE the
 * attribute's value, SINCE the time it names or 0): the lockout is copied
 * into the lockout store with origin "directory" and each of USER's
 * states here goes through gw_user_revoke(), as for a local lockout.  A
 * new copy is audited (lockout.lock, rule directory.lockout, reason
 * "origin=directory: ...").  No directory write and no hook: the server
 * that decided the lockout did both.  Takes the users' mu.
 */
void gw_lock_copy(
    struct gw *g, const char *user, const char *value, time_t since);

/*
 * The directory no longer marks USER locked: LIVE, an unlock seen as it
 * happened; otherwise found at a refresh.  The store lifts what
 * lockout_sync_unlock() says it may (a copy; a local lockout already
 * written, when LIVE), each of USER's states here asks the store again
 * (so an unlocked user is served again, with counters reset, and needs a
 * new MFA login), and a lift is audited (lockout.unlock, rule
 * directory.lockout, reason "origin=directory: ...").  Takes the users' mu.
 */
void gw_unlock_copy(struct gw *g, const char *user, bool live);

struct lockout_hook_env;
/*
 * Runs [lockout] hook, if set, with E (lockout_hook_run(): detached,
 * time-bounded); a hook that is refused or cannot start is logged.
 */
void gw_run_hook(struct gw *g, const struct lockout_hook_env *e);

/* Lock workers still running (waited for at exit). */
extern atomic_int gw_lock_workers;

/*
 * Notes the outcome ERR of an audit write: the first failure after a
 * success alerts syslog (LOG_ALERT) and runs the hook with
 * PHOTOGUARD_EVENT=audit.failure; 0 re-arms the alert.
 */
void gw_audit_failed(struct gw *g, int err);

/* --- files held open by locked-out users (held.c) ---------------------- */
/* With U->mu held: counts U's open files as held by a locked-out user and
 * drops their cached pages (on a thread). */
void gw_held_lock_user(struct gw *g, struct gw_user *u);
/* With U->mu held: U was unlocked; its files count no more. */
void gw_held_unlock_user(struct gw *g, struct gw_user *u);
/* With H's user's mu held: H is being released. */
void gw_held_release(struct gw *g, struct gw_handle *h);
/* Does a locked-out user hold REL open?  (New opens of it: direct_io.) */
bool gw_held_by_locked(struct gw *g, const char *rel);
/* A handle of a user not locked out read REL: if a locked-out user holds
 * it, its cached pages are dropped again. */
void gw_held_read(struct gw *g, const char *rel);
/* At exit, with no thread left. */
void gw_held_free(struct gw *g);

/* --- requests (call.c) -------------------------------------------------- */
/* One request in progress: who asks, under which policy. */
struct gw_call {
	struct gw *g;
	struct gw_policy *pol;
	struct gw_user *u; /* NULL: nobody we can serve */
	uid_t uid;
	pid_t pid;
	bool held; /* u->mu is held */
	char why[512];
};

/* The caller of the FUSE request this thread serves: the high-level
 * library's context on the shared mount; a view's requests (view_ll.c)
 * set theirs for the time they are answered (NULL: unset). */
struct fuse_context *gw_req_context(void);
void gw_req_context_set(struct fuse_context *c);

/*
 * Starts a request from the FUSE context: the policy in force, the
 * caller's state, fresh identity; with LOCK_CHECK also the lockout store.
 * Returns 0 with U->mu held, or -EACCES with WHY saying why (the caller
 * audits it when it refuses an open).  End with gw_call_end() either way.
 */
int gw_call_begin(struct gw_call *c, struct gw *g, bool lock_check);
/* As gw_call_begin(), for a caller known otherwise (the control socket's
 * peer), always checking the lockout store. */
int gw_call_begin_uid(struct gw_call *c, struct gw *g, uid_t uid, pid_t pid);
/* Releases what gw_call_begin() took. */
void gw_call_end(struct gw_call *c);

/* --- audit (gw_audit.c) ------------------------------------------------- */
struct gw_req {
	uid_t uid;
	pid_t pid;
	const char *user; /* NULL: unknown */
	const char *path; /* relative to the store */
	const char *patient;
	const char *process; /* NULL: the name of pid, now */
};

/* The process name of PID into BUF of LEN bytes ("" if it is gone). */
void gw_comm_of(pid_t pid, char *buf, size_t len);

/* Writes one record; returns audit_write()'s result. */
int gw_audit(struct gw *g, const struct gw_req *r, const char *event,
    const char *decision, const char *rule, const char *reason,
    long long bytes);

#endif /* PG_GW_H */
