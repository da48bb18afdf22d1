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
	int net_ms, op_ms;
	bool keepalive; /* TCP keepalive: a watch's long-lived connection */
	/* Connected to a provider after the first: since when (monotonic
	 * ms), so that the connection goes back to the first in time. */
	bool on_later;
	int64_t later_since_ms;
	struct ldap_conncb conncb; /* tells the watchdog the socket */
	struct dir_watchdog *wd;   /* set while connecting */
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
/* Drops the connection; call with the lock held. */
void dir_ldap_disconnect(struct dir_ldap *l);
/*
 * Writes "(&BASE(ATTR=VALUE))", or with ATTR2 "(&BASE(|(ATTR=VALUE)
 * (ATTR2=VALUE2)))", values escaped, to BUF.  PG_OK or PG_ERR_TOOBIG.
 */
int dir_ldap_filter(char *buf, size_t len, const char *base, const char *attr,
    const char *value, const char *attr2, const char *value2);
/* Maps an LDAP result code to PG_ERR_*. */
int dir_ldap_map(int lrc);
/* Writes "WHAT: LDAP message (server diagnostic)" to ERR. */
void dir_ldap_errmsg(
    struct dir_ldap *l, int lrc, const char *what, char *err, size_t errlen);

#endif /* PG_DIR_LDAP_INT_H */
