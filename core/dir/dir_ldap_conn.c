/*
 * dir_ldap_conn.c - one LDAP connection: options set on the handle only
 * (timeouts, TLS with CA verification, a new TLS context per handle),
 * StartTLS with no fallback to plain text, the simple bind with a password
 * read from a root-only file and wiped right after, and the mapping of
 * LDAP result codes to PG_ERR_*.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "core/dir/dir_ldap_int.h"
#include "base/base.h"
#include "core/state/state.h"

void
dir_sigpipe_block(struct dir_sigpipe *sp)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &set, &sp->old);
}

void
dir_sigpipe_restore(const struct dir_sigpipe *sp)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	if (!sp->was_pending && sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
}

int
dir_ldap_map(int lrc)
{
	switch (lrc) {
	case LDAP_SUCCESS:
		return PG_OK;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
		return PG_ERR_DIR_UNAVAIL;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
		return PG_ERR_AUTH;
	case LDAP_NO_MEMORY:
		return PG_ERR_NOMEM;
	case LDAP_FILTER_ERROR:
	case LDAP_NO_SUCH_OBJECT:
	case LDAP_INVALID_DN_SYNTAX:
	case LDAP_UNDEFINED_TYPE:
	case LDAP_PARAM_ERROR:
		return PG_ERR_CONFIG;
	default:
		return PG_ERR_DIR_BADANSWER;
	}
}

void
dir_ldap_errmsg(
    struct dir_ldap *l, int lrc, const char *what, char *err, size_t errlen)
{
	char *diag = NULL;

	if (l->ld != NULL)
		ldap_get_option(l->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(err, errlen, "%s: %s%s%.200s%s", what, ldap_err2string(lrc),
	    diag && *diag ? " (" : "", diag ? diag : "",
	    diag && *diag ? ")" : "");
	ldap_memfree(diag);
}

static int
set_tv(LDAP *ld, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return ldap_set_option(ld, opt, &tv);
}

/*
 * libldap bounds connect() by LDAP_OPT_NETWORK_TIMEOUT and waits for
 * results with LDAP_OPT_TIMEOUT, but its TLS handshake (Debian's build,
 * GnuTLS, blocking socket) waits for the server without any limit: a
 * server that accepts and never answers would hang the caller for good.
 * While connecting, a watchdog thread shuts the socket down at the
 * deadline, which fails the handshake; the connection callbacks tell it
 * the socket, and forget it before libldap closes it.
 */
struct dir_watchdog {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	int fd;
	bool done;
	bool fired;
	pthread_t t;
};

static void *
watchdog_main(void *arg)
{
	struct dir_watchdog *wd = arg;
	int rc = 0;

	pthread_mutex_lock(&wd->m);
	while (!wd->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&wd->c, &wd->m, &wd->deadline);
	if (!wd->done && wd->fd >= 0) {
		shutdown(wd->fd, SHUT_RDWR);
		wd->fired = true;
	}
	pthread_mutex_unlock(&wd->m);
	return NULL;
}

static int
watchdog_start(struct dir_watchdog *wd, int ms)
{
	pthread_condattr_t ca;

	memset(wd, 0, sizeof(*wd));
	wd->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &wd->deadline);
	wd->deadline.tv_sec += ms / 1000;
	wd->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (wd->deadline.tv_nsec >= 1000000000L) {
		wd->deadline.tv_sec++;
		wd->deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_init(&wd->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->c, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&wd->t, NULL, watchdog_main, wd) != 0) {
		pthread_cond_destroy(&wd->c);
		pthread_mutex_destroy(&wd->m);
		return PG_ERR_NOMEM;
	}
	return PG_OK;
}

/* Stops the watchdog; returns true if it fired. */
static bool
watchdog_stop(struct dir_watchdog *wd)
{
	pthread_mutex_lock(&wd->m);
	wd->done = true;
	pthread_cond_signal(&wd->c);
	pthread_mutex_unlock(&wd->m);
	pthread_join(wd->t, NULL);
	pthread_cond_destroy(&wd->c);
	pthread_mutex_destroy(&wd->m);
	return wd->fired;
}

static void
watchdog_set_fd(struct dir_ldap *l, int fd)
{
	if (l->wd == NULL)
		return;
	pthread_mutex_lock(&l->wd->m);
	l->wd->fd = fd;
	pthread_mutex_unlock(&l->wd->m);
}

int64_t
dir_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is SRV the first URI of L's list (host and port as written)? */
static bool
is_first(const struct dir_ldap *l, const LDAPURLDesc *srv)
{
	LDAPURLDesc *first = NULL;
	char one[PG_DIR_URI_LIST_MAX + 1];
	bool same;

	/* The list is URIs one space apart (config.c checked it). */
	snprintf(one, sizeof(one), "%.*s", (int)strcspn(l->uri, " "), l->uri);
	if (srv == NULL || ldap_url_parse(one, &first) != LDAP_URL_SUCCESS)
		return true; /* nothing better to go back to */
	same = first->lud_port == srv->lud_port &&
	    (first->lud_host == NULL) == (srv->lud_host == NULL) &&
	    (first->lud_host == NULL ||
	        strcasecmp(first->lud_host, srv->lud_host) == 0);
	ldap_free_urldesc(first);
	return same;
}

static int
conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *ctx)
{
	struct dir_ldap *l = ctx->lc_arg;
	int fd = -1;

	(void)ld;
	(void)addr;
	if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1)
		watchdog_set_fd(l, fd);
	l->on_later = !is_first(l, srv);
	l->later_since_ms = dir_mono_ms();
	l->conn_host[0] = '\0';
	l->conn_port = 0;
	if (srv != NULL) {
		snprintf(l->conn_host, sizeof(l->conn_host), "%s",
		    srv->lud_host != NULL ? srv->lud_host : "");
		l->conn_port = srv->lud_port;
	}
	return 0;
}

static void
conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld;
	(void)sb;
	watchdog_set_fd(ctx->lc_arg, -1);
}

static int
set_options(struct dir_ldap *l)
{
	int v3 = LDAP_VERSION3, req, zero = 0,
	    min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, idle = 10, probes = 3,
	    intvl = 5;
	LDAP *ld = l->ld;

	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ||
	    set_tv(ld, LDAP_OPT_NETWORK_TIMEOUT, l->net_ms) ||
	    set_tv(ld, LDAP_OPT_TIMEOUT, l->op_ms))
		return LDAP_OPT_ERROR;
	l->conncb.lc_add = conn_add;
	l->conncb.lc_del = conn_del;
	l->conncb.lc_arg = l;
	if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &l->conncb))
		return LDAP_OPT_ERROR;
	/* A watch's connection idles for hours: a server that vanished
	 * without a word (power, network) is noticed within about 25 s. */
	if (l->keepalive &&
	    (ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle) ||
	        ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes) ||
	        ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &intvl)))
		return LDAP_OPT_ERROR;
	if (l->tls == PG_TLS_NONE)
		return LDAP_SUCCESS;
	/* Verification can only be turned off by dir_tls_verify = false. */
	req = l->verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min))
		return LDAP_OPT_ERROR;
	if (l->ca_file != NULL &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, l->ca_file))
		return LDAP_OPT_ERROR;
	/* A fresh context for this handle picks up the options above. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
}

/* Reads the password, binds, and wipes the password whatever happens. */
static int
bind_simple(struct dir_ldap *l, char *err, size_t errlen)
{
	char *pw = NULL;
	size_t len = 0;
	struct berval cred;
	int rc, lrc;

	if (l->bind_dn == NULL)
		return PG_OK; /* anonymous */
	rc = pg_read_file(l->pw_file, DIR_PASSWORD_MAX,
	    PG_RF_PRIVATE | PG_RF_SHARED | PG_RF_SECRET, &pw, &len);
	if (rc != PG_OK) {
		snprintf(err, errlen, "bind password file %s: %s", l->pw_file,
		    pg_strerror(rc));
		return rc;
	}
	if (len > 0 && pw[len - 1] == '\n')
		pw[--len] = '\0';
	if (len == 0) {
		/* An empty simple bind is anonymous: never that by mistake. */
		snprintf(
		    err, errlen, "bind password file %s is empty", l->pw_file);
		pg_free_secret(pw);
		return PG_ERR_CONFIG;
	}
	cred.bv_val = pw;
	cred.bv_len = len;
	lrc = ldap_sasl_bind_s(
	    l->ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	pg_free_secret(pw);
	if (lrc != LDAP_SUCCESS) {
		dir_ldap_errmsg(l, lrc, "bind", err, errlen);
		return dir_ldap_map(lrc);
	}
	return PG_OK;
}

/* StartTLS must succeed: any failure but an unreachable server is TLS. */
static int
start_tls(struct dir_ldap *l, char *err, size_t errlen)
{
	int lrc;

	lrc = ldap_start_tls_s(l->ld, NULL, NULL);
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	dir_ldap_errmsg(l, lrc, "StartTLS", err, errlen);
	if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_TIMEOUT)
		return PG_ERR_DIR_UNAVAIL;
	return PG_ERR_TLS;
}

/*
 * ldaps: connect now so a failed handshake is told apart from a refused
 * connection; libldap leaves a TLS diagnostic only for the former.
 */
static int
connect_ldaps(struct dir_ldap *l, char *err, size_t errlen)
{
	char *diag = NULL;
	int lrc, tls;

	lrc = ldap_connect(l->ld);
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	ldap_get_option(l->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	tls = diag != NULL && *diag != '\0';
	ldap_memfree(diag);
	dir_ldap_errmsg(l, lrc, "ldaps connect", err, errlen);
	if (lrc == LDAP_TIMEOUT)
		return PG_ERR_DIR_UNAVAIL;
	return tls ? PG_ERR_TLS : dir_ldap_map(lrc);
}

/* StartTLS or ldaps, under a watchdog; plain only for PG_TLS_NONE. */
static int
connect_tls(struct dir_ldap *l, char *err, size_t errlen)
{
	struct dir_watchdog wd;
	int rc;

	if (l->tls == PG_TLS_NONE)
		return PG_OK;
	rc = watchdog_start(&wd, l->net_ms + l->op_ms);
	if (rc != PG_OK)
		return rc;
	l->wd = &wd;
	if (l->tls == PG_TLS_STARTTLS)
		rc = start_tls(l, err, errlen);
	else
		rc = connect_ldaps(l, err, errlen);
	l->wd = NULL;
	if (watchdog_stop(&wd)) { /* even if it fired just too late */
		snprintf(err, errlen,
		    "no answer from the directory within "
		    "%d ms",
		    l->net_ms + l->op_ms);
		rc = PG_ERR_DIR_UNAVAIL;
	}
	return rc;
}

int
dir_ldap_connect(struct dir_ldap *l, char *err, size_t errlen)
{
	int lrc, rc;

	/* A watch stays where it is: it only reads, and a move would cost
	 * it a refresh.  Others go back to the first provider. */
	if (l->ld != NULL && l->on_later && !l->keepalive &&
	    dir_mono_ms() - l->later_since_ms >= DIR_FAILBACK_MS)
		dir_ldap_disconnect(l);
	if (l->ld != NULL)
		return PG_OK;
	l->on_later = false;
	lrc = ldap_initialize(&l->ld, l->uri);
	if (lrc != LDAP_SUCCESS) {
		l->ld = NULL;
		snprintf(
		    err, errlen, "ldap_initialize: %s", ldap_err2string(lrc));
		return PG_ERR_CONFIG;
	}
	if (set_options(l) != LDAP_SUCCESS) {
		snprintf(err, errlen, "could not set LDAP/TLS options");
		rc = PG_ERR_TLS;
		goto out;
	}
	rc = connect_tls(l, err, errlen);
	if (rc == PG_OK)
		rc = bind_simple(l, err, errlen);
out:
	if (rc != PG_OK)
		dir_ldap_disconnect(l);
	return rc;
}

int
dir_ldap_run(
    struct dir_ldap *l, dir_ldap_fn fn, void *arg, char *why, size_t whylen)
{
	struct dir_sigpipe sp;
	bool down = false;
	int rc = PG_OK, i;

	why[0] = '\0';
	pthread_mutex_lock(&l->lock);
	dir_sigpipe_block(&sp);
	for (i = 0; i < 2; i++) {
		down = false;
		rc = dir_ldap_connect(l, why, whylen);
		if (rc == PG_OK)
			rc = fn(l, arg, &down);
		if (rc == PG_OK || !down || l->ld == NULL)
			break;
		dir_ldap_disconnect(l);
	}
	if (rc == PG_ERR_DIR_UNAVAIL || rc == PG_ERR_AUTH || rc == PG_ERR_TLS)
		dir_ldap_disconnect(l);
	dir_sigpipe_restore(&sp);
	pthread_mutex_unlock(&l->lock);
	if (rc != PG_OK && why[0] == '\0')
		snprintf(why, whylen, "%s", pg_strerror(rc));
	return rc;
}
