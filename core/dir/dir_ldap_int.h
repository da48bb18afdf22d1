/*
 * dir_ldap_int.h - the LDAP backend's state, shared by dir_ldap.c
 * (configuration, connection, binding) and dir_ldap_search.c (lookups).
 */
#ifndef PG_DIR_LDAP_INT_H
#define PG_DIR_LDAP_INT_H

#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "core/dir/dir_internal.h"

#define DIR_DN_MAX       1024 /* longest DN accepted from config or server */
#define DIR_FILTER_MAX   4096 /* longest search filter built */
#define DIR_PAGE_SIZE    500  /* entries a page, for long answers */
#define DIR_ANSWER_MAX   (16 * 1024 * 1024) /* bytes of values per lookup */
#define DIR_PASSWORD_MAX 4096
/*
 * A connection that libldap made to a URI after the first of the list
 * (the first did not answer) is dropped this long after, before the next
 * operation, which then tries the list from the top: servers go back to
 * the first provider once it returns, instead of each writing to
 * whichever provider it last failed over to.
 */
#define DIR_FAILBACK_MS 10000

struct dir_ldap {
	pthread_mutex_t lock; /* one operation at a time on ld */
	LDAP *ld;             /* NULL until connected */
	char *uri;
	enum pg_dir_tls tls;
	bool verify;
	char *ca_file;
	char *bind_dn; /* normalized; NULL: anonymous */
	char *pw_file;
	char *user_base, *user_filter, *user_attr;
	char *group_base, *group_filter;
	char *care_base, *care_filter, *care_attr;
	char *lock_attr; /* NULL: no lockout attribute */
	int nesting;     /* [directory] group_nesting */
	int lock_kind;   /* enum dir_lock_kind of lock_attr */
	int net_ms, op_ms;
	bool keepalive; /* TCP keepalive: a watch's long-lived connection */
	/* Connected to a provider after the first: since when (monotonic
	 * ms), so that the connection goes back to the first in time. */
	bool on_later;
	int64_t later_since_ms;
	/* The provider connected to, and a handle on the others (the peer),
	 * for dir_ldap_confirm(); see dir_ldap_peer.c. */
	char conn_host[256];
	int conn_port;
	struct dir_ldap *peer;
	char *peer_for;             /* the host:port the peer list leaves out */
	int64_t peer_down_until_ms; /* no peer answered: not asked again
	                               before this (monotonic ms) */
	struct ldap_conncb conncb;  /* tells the watchdog the socket */
	struct dir_watchdog *wd;    /* set while connecting */
};

/*
 * libldap writes to its socket with write(): a server that closed the
 * connection would kill the caller with SIGPIPE.  A library must not
 * change the process's signal handling, so SIGPIPE is blocked in the
 * calling thread around LDAP calls, and one raised meanwhile is consumed.
 */
struct dir_sigpipe {
	sigset_t old;
	bool was_pending;
};
void dir_sigpipe_block(struct dir_sigpipe *sp);
void dir_sigpipe_restore(const struct dir_sigpipe *sp);

/* Connects and binds if not connected; call with the lock held. */
int dir_ldap_connect(struct dir_ldap *l, char *err, size_t errlen);
/*
 * Runs FN(L, ARG, &down) connected, under L's lock, with SIGPIPE
 * blocked; once more on a fresh connection if FN says the server went
 * away (*down).  Each FN reads afresh, so a second run never repeats a
 * change blindly.  WHY says why not (a message of FN's, or the error's).
 */
typedef int (*dir_ldap_fn)(struct dir_ldap *l, void *arg, bool *down);
int dir_ldap_run(
    struct dir_ldap *l, dir_ldap_fn fn, void *arg, char *why, size_t whylen);
/*
 * What the lockout attribute means (dir_ldap_lock.c): there at all
 * (pwdAccountLockedTime), TRUE (nsAccountLock: 389, FreeIPA), or above 0
 * (lockoutTime: Active Directory).
 */
enum dir_lock_kind {
	DIR_LOCK_PRESENCE = 0,
	DIR_LOCK_BOOL = 1,
	DIR_LOCK_COUNT = 2,
};
enum dir_lock_kind dir_ldap_lock_kind(const char *attr);
/* The filter of L's locked (LOCKED) or unlocked entries, into BUF. */
int dir_ldap_lock_filter(
    const struct dir_ldap *l, bool locked, char *buf, size_t len);
/* Whether the value V (LEN bytes) of L's lockout attribute locks. */
bool dir_ldap_value_locks(const struct dir_ldap *l, const char *v, size_t len);
/* V as a GeneralizedTime where it is another time (a FILETIME), else V. */
void dir_ldap_lock_when(const struct dir_ldap *l, const char *v, size_t len,
    char *out, size_t outlen);
/*
 * The modification that locks (LOCKED) or unlocks at NOW: *OP is
 * LDAP_MOD_REPLACE with the value in BUF, or LDAP_MOD_DELETE.
 */
int dir_ldap_lock_value(const struct dir_ldap *l, bool locked, time_t now,
    char *buf, size_t len, int *op);

/* Drops the connection; call with the lock held. */
void dir_ldap_disconnect(struct dir_ldap *l);
/*
 * Writes "(&BASE(ATTR=VALUE))", or with ATTR2 "(&BASE(|(ATTR=VALUE)
 * (ATTR2=VALUE2)))", values escaped, to BUF.  PG_OK or PG_ERR_TOOBIG.
 */
int dir_ldap_filter(char *buf, size_t len, const char *base, const char *attr,
    const char *value, const char *attr2, const char *value2);
/*
 * With several providers listed: waits until one of the others, as
 * reached from here, finds DN with FILTER, i.e. the write that made it
 * match on the provider L is connected to has replicated (a filter, not
 * one value: a later write by another server may have moved on from
 * ours, e.g. a watermark past our step).  LDAP
 * replication is asynchronous (syncrepl): a provider that dies between
 * acknowledging a write and sending it on would otherwise take it with
 * it, and a code or a slice of a budget could be spent twice.  Returns
 * PG_OK when seen, or when no other provider answered for all of
 * DIR_CONFIRM_MS (then there is no second copy to lose the write to; not
 * asked again for DIR_PEER_RETRY_MS: a provider down costs one wait that
 * long); PG_ERR_TIMEOUT when one answers but has not got it within
 * DIR_CONFIRM_MS.  Call connected, with L's lock held.
 */
#define DIR_CONFIRM_MS    2000
#define DIR_PEER_RETRY_MS 10000
int dir_ldap_confirm(struct dir_ldap *l, const char *dn, const char *filter,
    char *err, size_t errlen);
/* Frees L's peer handle (dir_ldap_free()). */
void dir_ldap_peer_free(struct dir_ldap *l);
/* Monotonic milliseconds. */
int64_t dir_mono_ms(void);
/* Maps an LDAP result code to PG_ERR_*. */
int dir_ldap_map(int lrc);
/* Writes "WHAT: LDAP message (server diagnostic)" to ERR. */
void dir_ldap_errmsg(
    struct dir_ldap *l, int lrc, const char *what, char *err, size_t errlen);

#endif /* PG_DIR_LDAP_INT_H */
