/*
 * dir_watch.c - the directory's lockouts as they happen (dir.h): one
 * connection of the watch's own carrying libldap's RFC 4533 client
 * (ldap_sync_init() / ldap_sync_poll(), refreshAndPersist) on
 * "(&USER_FILTER(LOCK_ATTR=*))" under the user base.  An entry entering
 * that set is a lockout, one leaving it (its attribute deleted: an unlock
 * on some server) an unlock.  A delete carries only the entry's UUID and
 * DN, so the watch remembers which user each UUID it was told of is.
 * Each session starts without a cookie: its refresh is the whole set, so
 * the caller can reconcile everything it missed while the watch was away.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/base.h"
#include "core/dir/dir_ldap_int.h"

#define UUID_LEN     16 /* RFC 4122, as syncprov sends it */
#define LOCK_VAL_MAX 64 /* longest lockout attribute value kept */
#define POLL_S       1  /* ldap_sync_poll() wakes this often */

/* An entry the watch was told is in the set: its UUID and user. */
struct known {
	unsigned char uuid[UUID_LEN];
	char *user;
};

struct dir_watch {
	struct dir *d;
	struct dir_ldap *l; /* the watch's own connection */
	dir_watch_fn fn;
	void *arg;
	pthread_mutex_t mu; /* guards stop and fd */
	pthread_cond_t cv;
	bool stop;
	int fd; /* the connection's socket while a session runs, or -1 */

	/* One session's state (the watch thread's only). */
	bool refreshing;
	bool ended;             /* the server ended the search */
	int bad;                /* PG_ERR_* that ends the session, or 0 */
	struct dir_strv rusers; /* the refresh, as it arrives */
	struct dir_strv rvalues;
	struct known *known;
	size_t nknown, capknown;
	char why[DIR_ERR_MAX];
};

int
dir_gentime_prefix(const char *s, size_t len, time_t *out)
{
	static const int width[] = { 4, 2, 2, 2, 2, 2 };
	int f[6] = { 0, 1, 1, 0, 0, 0 }, i, k, n = 0;
	size_t p = 0, q;
	struct tm tm;
	time_t t;

	if (s == NULL)
		return -1;
	/* Year, month, day and hour are required; minutes and seconds
	 * may be left out (RFC 4517, 3.3.13). */
	for (i = 0; i < 6 && p < len && s[p] >= '0' && s[p] <= '9'; i++, n++)
		for (k = 0, f[i] = 0; k < width[i]; k++, p++) {
			if (p >= len || s[p] < '0' || s[p] > '9')
				return -1;
			f[i] = f[i] * 10 + (s[p] - '0');
		}
	if (n < 4)
		return -1;
	if (p < len && (s[p] == '.' || s[p] == ',')) {
		/* A fraction (ppolicy writes one): of no use here, but it
		 * has a digit at least. */
		for (q = ++p; p < len && s[p] >= '0' && s[p] <= '9'; p++)
			;
		if (p == q)
			return -1;
	}
	if (p >= len || s[p] != 'Z' || f[0] < 1970 || f[1] < 1 || f[1] > 12 ||
	    f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t;
	return (int)(p + 1);
}

time_t
dir_gentime(const char *s)
{
	time_t t;
	int n;

	if (s == NULL)
		return 0;
	n = dir_gentime_prefix(s, strlen(s), &t);
	return n > 0 && s[n] == '\0' && t > 0 ? t : 0;
}

int
dir_dn_value(const char *dn, const char *attr, char *buf, size_t len)
{
	LDAPDN ldn = NULL;
	LDAPAVA *ava;
	size_t i;
	int rc = PG_ERR_DIR_BADANSWER;

	if (dn == NULL || len == 0 ||
	    ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL || ldn[0][1] != NULL)
		goto out;
	ava = ldn[0][0];
	if (ava->la_attr.bv_len != strlen(attr) ||
	    strncasecmp(ava->la_attr.bv_val, attr, strlen(attr)) != 0 ||
	    !(ava->la_flags & LDAP_AVA_STRING) || ava->la_value.bv_len == 0 ||
	    ava->la_value.bv_len >= len)
		goto out;
	for (i = 0; i < ava->la_value.bv_len; i++)
		if ((unsigned char)ava->la_value.bv_val[i] < 0x20 ||
		    ava->la_value.bv_val[i] == 0x7f)
			goto out;
	memcpy(buf, ava->la_value.bv_val, ava->la_value.bv_len);
	buf[ava->la_value.bv_len] = '\0';
	rc = PG_OK;
out:
	ldap_dnfree(ldn);
	return rc;
}

int
dir_watch_new(struct dir *d, dir_watch_fn fn, void *arg, struct dir_watch **out)
{
	struct dir_watch *w;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!dir_can_lock(d) || fn == NULL)
		return PG_ERR_CONFIG;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return PG_ERR_NOMEM;
	if ((rc = dir_ldap_dup(dir_ldap_of(d), &w->l)) != PG_OK) {
		free(w);
		return rc;
	}
	w->l->keepalive = true;
	w->d = d;
	w->fn = fn;
	w->arg = arg;
	w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = w;
	return PG_OK;
}

static void
forget_known(struct dir_watch *w)
{
	size_t i;

	for (i = 0; i < w->nknown; i++)
		free(w->known[i].user);
	w->nknown = 0;
}

void
dir_watch_free(struct dir_watch *w)
{
	if (w == NULL)
		return;
	forget_known(w);
	free(w->known);
	dir_strv_free(&w->rusers);
	dir_strv_free(&w->rvalues);
	dir_ldap_free(w->l);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void
dir_watch_stop(struct dir_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	/* Not closed: the watch thread owns the descriptor; a shutdown
	 * only makes its wait for the server return at once. */
	if (w->fd >= 0)
		shutdown(w->fd, SHUT_RDWR);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static bool
stopping(struct dir_watch *w)
{
	bool s;

	pthread_mutex_lock(&w->mu);
	s = w->stop;
	pthread_mutex_unlock(&w->mu);
	return s;
}

static struct known *
find_known(struct dir_watch *w, const struct berval *uuid)
{
	size_t i;

	if (uuid == NULL || uuid->bv_len != UUID_LEN)
		return NULL;
	for (i = 0; i < w->nknown; i++)
		if (memcmp(w->known[i].uuid, uuid->bv_val, UUID_LEN) == 0)
			return &w->known[i];
	return NULL;
}

/* Remembers that UUID is USER; bounded like a listing of locked users. */
static int
remember(struct dir_watch *w, const struct berval *uuid, const char *user)
{
	struct known *k = find_known(w, uuid), *grown;
	char *copy;

	if (uuid == NULL || uuid->bv_len != UUID_LEN)
		return PG_OK; /* not one we could look up again anyway */
	if ((copy = strdup(user)) == NULL)
		return PG_ERR_NOMEM;
	if (k != NULL) {
		free(k->user);
		k->user = copy;
		return PG_OK;
	}
	if (w->nknown == w->capknown) {
		if (w->capknown >= DIR_LOCKED_MAX) {
			free(copy);
			snprintf(w->why, sizeof(w->why),
			    "more than %d locked users", DIR_LOCKED_MAX);
			return PG_ERR_DIR_BADANSWER;
		}
		w->capknown = w->capknown ? w->capknown * 2 : 16;
		grown = realloc(w->known, w->capknown * sizeof(*grown));
		if (grown == NULL) {
			free(copy);
			return PG_ERR_NOMEM;
		}
		w->known = grown;
	}
	memcpy(w->known[w->nknown].uuid, uuid->bv_val, UUID_LEN);
	w->known[w->nknown++].user = copy;
	return PG_OK;
}

/* The first value of ATTR in E into BUF, if printable and short enough. */
static bool
first_value(LDAP *ld, LDAPMessage *e, const char *attr, char *buf, size_t len)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	bool ok = false;
	size_t i;

	if (v != NULL && v[0] != NULL && v[0]->bv_len > 0 &&
	    v[0]->bv_len < len) {
		ok = true;
		for (i = 0; i < v[0]->bv_len; i++)
			if ((unsigned char)v[0]->bv_val[i] < 0x20 ||
			    v[0]->bv_val[i] == 0x7f)
				ok = false;
		if (ok) {
			memcpy(buf, v[0]->bv_val, v[0]->bv_len);
			buf[v[0]->bv_len] = '\0';
		}
	}
	ldap_value_free_len(v);
	return ok;
}

/* The user an entry without attributes (a delete, a present) stands for. */
static bool
user_of(struct dir_watch *w, LDAPMessage *e, const struct berval *uuid,
    char *buf, size_t len)
{
	struct known *k = find_known(w, uuid);
	char *dn;
	int rc;

	if (k != NULL) {
		snprintf(buf, len, "%s", k->user);
		return true;
	}
	if ((dn = ldap_get_dn(w->l->ld, e)) == NULL)
		return false;
	rc = dir_dn_value(dn, w->l->user_attr, buf, len);
	ldap_memfree(dn);
	return rc == PG_OK;
}

static void
report_change(
    struct dir_watch *w, const char *user, bool locked, const char *value)
{
	struct dir_watch_event ev = { 0 };

	/* The lookups of this process see the change from now on. */
	dir_forget(w->d, user);
	ev.what = DIR_WATCH_CHANGE;
	ev.user = user;
	ev.locked = locked;
	ev.value = locked ? value : NULL;
	ev.since = locked ? dir_gentime(value) : 0;
	w->fn(w->arg, &ev);
}

/* An entry in the set (added, changed, or present at the refresh). */
static int
entry_in(struct dir_watch *w, LDAPMessage *e, const struct berval *uuid,
    bool has_attrs)
{
	char user[DIR_NAME_MAX + 1], value[LOCK_VAL_MAX + 1] = "";
	char when[LOCK_VAL_MAX + 1] = "";
	struct known *k;
	int rc;

	if (has_attrs) {
		if (!first_value(
		        w->l->ld, e, w->l->user_attr, user, sizeof(user)))
			return PG_OK; /* no name we could ever look up */
		if (first_value(
		        w->l->ld, e, w->l->lock_attr, when, sizeof(when)))
			dir_ldap_lock_when(
			    w->l, when, strlen(when), value, sizeof(value));
		/* Renamed (a new uid on the same entry): the old name
		 * leaves the set. */
		k = find_known(w, uuid);
		if (!w->refreshing && k != NULL && strcmp(k->user, user) != 0)
			report_change(w, k->user, false, NULL);
		if ((rc = remember(w, uuid, user)) != PG_OK)
			return rc;
	} else if (!user_of(w, e, uuid, user, sizeof(user))) {
		return PG_OK;
	}
	if (!w->refreshing) {
		report_change(w, user, true, value);
		return PG_OK;
	}
	if ((rc = dir_strv_push(&w->rusers, user, strlen(user))) == PG_OK)
		rc = dir_strv_push(&w->rvalues, value, strlen(value));
	return rc == PG_ERR_TOOBIG ? PG_ERR_DIR_BADANSWER : rc;
}

/* An entry that left the set: its lockout attribute is gone. */
static void
entry_out(struct dir_watch *w, LDAPMessage *e, const struct berval *uuid)
{
	char user[DIR_NAME_MAX + 1];
	struct known *k;

	if (!user_of(w, e, uuid, user, sizeof(user)))
		return;
	if ((k = find_known(w, uuid)) != NULL) {
		free(k->user);
		*k = w->known[--w->nknown];
	}
	if (!w->refreshing)
		report_change(w, user, false, NULL);
}

static int
on_entry(ldap_sync_t *ls, LDAPMessage *msg, struct berval *uuid,
    ldap_sync_refresh_t phase)
{
	struct dir_watch *w = ls->ls_private;
	int rc = PG_OK;

	if (w->bad != 0)
		return 0;
	switch (phase) {
	case LDAP_SYNC_CAPI_ADD:
	case LDAP_SYNC_CAPI_MODIFY:
		rc = entry_in(w, msg, uuid, true);
		break;
	case LDAP_SYNC_CAPI_PRESENT:
		rc = entry_in(w, msg, uuid, false);
		break;
	case LDAP_SYNC_CAPI_DELETE:
		entry_out(w, msg, uuid);
		break;
	default:
		break;
	}
	if (rc != PG_OK)
		w->bad = rc;
	return 0;
}

/* A set of UUIDs at once: deleted ones leave the set. */
static int
on_intermediate(ldap_sync_t *ls, LDAPMessage *msg, BerVarray uuids,
    ldap_sync_refresh_t phase)
{
	struct dir_watch *w = ls->ls_private;
	struct known *k;
	char user[DIR_NAME_MAX + 1];
	size_t i;

	(void)msg;
	if (uuids == NULL || phase != LDAP_SYNC_CAPI_DELETES_IDSET)
		return 0;
	for (i = 0; uuids[i].bv_val != NULL; i++) {
		if ((k = find_known(w, &uuids[i])) == NULL)
			continue;
		snprintf(user, sizeof(user), "%s", k->user);
		free(k->user);
		*k = w->known[--w->nknown];
		if (!w->refreshing)
			report_change(w, user, false, NULL);
	}
	return 0;
}

/* In refreshAndPersist the server ends the search only to give up. */
static int
on_result(ldap_sync_t *ls, LDAPMessage *msg, int refresh_deletes)
{
	struct dir_watch *w = ls->ls_private;

	(void)msg;
	(void)refresh_deletes;
	w->ended = true;
	return 0;
}

/* Connects and publishes the socket for dir_watch_stop(). */
static int
connect_watch(struct dir_watch *w)
{
	int rc, fd = -1;

	pthread_mutex_lock(&w->l->lock);
	rc = dir_ldap_connect(w->l, w->why, sizeof(w->why));
	pthread_mutex_unlock(&w->l->lock);
	if (rc != PG_OK)
		return rc;
	/* Without TLS or a bind nothing is connected yet: connect now, so
	 * that dir_watch_stop() has a socket to cut from the start. */
	if ((ldap_get_option(w->l->ld, LDAP_OPT_DESC, &fd) !=
	            LDAP_OPT_SUCCESS ||
	        fd < 0) &&
	    (rc = ldap_connect(w->l->ld)) != LDAP_SUCCESS) {
		dir_ldap_errmsg(w->l, rc, "connect", w->why, sizeof(w->why));
		return dir_ldap_map(rc);
	}
	if (ldap_get_option(w->l->ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS)
		fd = -1;
	pthread_mutex_lock(&w->mu);
	w->fd = fd;
	rc = w->stop ? PG_ERR_INTERNAL : PG_OK;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void
disconnect_watch(struct dir_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->fd = -1;
	pthread_mutex_unlock(&w->mu);
	dir_ldap_disconnect(w->l);
}

/* The refresh is over: the whole set goes to the caller. */
static void
report_refresh(struct dir_watch *w)
{
	struct dir_watch_event ev = { 0 };
	static char *none[] = { NULL };

	/* Whatever changed while the watch was away is asked again. */
	dir_flush_cache(w->d);
	ev.what = DIR_WATCH_REFRESH;
	ev.users = w->rusers.v != NULL ? w->rusers.v : none;
	ev.values = w->rvalues.v != NULL ? w->rvalues.v : none;
	ev.n = w->rusers.n;
	w->fn(w->arg, &ev);
	dir_strv_free(&w->rusers);
	dir_strv_free(&w->rvalues);
}

/* Maps what ended a sync call (LRC) to PG_ERR_*, with the reason. */
static int
sync_failed(struct dir_watch *w, int lrc, const char *what)
{
	if (w->bad != 0)
		return w->bad;
	if (w->ended && lrc == LDAP_SUCCESS) {
		snprintf(
		    w->why, sizeof(w->why), "%s: the server ended it", what);
		return PG_ERR_DIR_UNAVAIL;
	}
	if (lrc == LDAP_UNAVAILABLE_CRITICAL_EXTENSION) {
		snprintf(w->why, sizeof(w->why),
		    "%s: the directory offers no sync provider (load "
		    "slapd's syncprov overlay: deploy/ldap/syncprov.ldif)",
		    what);
		return PG_ERR_CONFIG;
	}
	if (lrc < 0)
		lrc = LDAP_SERVER_DOWN;
	dir_ldap_errmsg(w->l, lrc, what, w->why, sizeof(w->why));
	return dir_ldap_map(lrc);
}

/* Sets LS up for the watch's search; the strings stay the watch's. */
static int
sync_setup(struct dir_watch *w, ldap_sync_t *ls, char *filter, size_t len,
    char **attrs)
{
	int k;

	char locked[DIR_FILTER_MAX / 2];

	if (dir_ldap_lock_filter(w->l, true, locked, sizeof(locked)) != PG_OK)
		return PG_ERR_TOOBIG;
	k = snprintf(filter, len, "(&%s%s)", w->l->user_filter, locked);
	if (k < 0 || (size_t)k >= len)
		return PG_ERR_TOOBIG;
	attrs[0] = w->l->user_attr;
	attrs[1] = w->l->lock_attr;
	attrs[2] = NULL;
	ldap_sync_initialize(ls);
	ls->ls_base = w->l->user_base;
	ls->ls_scope = LDAP_SCOPE_SUBTREE;
	ls->ls_filter = filter;
	ls->ls_attrs = attrs;
	ls->ls_timeout = POLL_S;
	ls->ls_search_entry = on_entry;
	ls->ls_intermediate = on_intermediate;
	ls->ls_search_result = on_result;
	ls->ls_private = w;
	ls->ls_ld = w->l->ld;
	return PG_OK;
}

/* Frees LS without touching what is the watch's (strings, connection). */
static void
sync_teardown(ldap_sync_t *ls)
{
	ls->ls_base = NULL;
	ls->ls_filter = NULL;
	ls->ls_attrs = NULL;
	ls->ls_ld = NULL;
	ldap_sync_destroy(ls, 0);
}

/*
 * One session: connect, refresh, follow until something ends it.
 * Returns the PG_ERR_* that ended it (w->why says more); *REFRESHED
 * tells whether the refresh got through.
 */
static int
session(struct dir_watch *w, bool *refreshed)
{
	char filter[DIR_FILTER_MAX];
	char *attrs[3];
	ldap_sync_t ls;
	int rc, lrc;

	*refreshed = false;
	w->ended = false;
	w->bad = 0;
	w->why[0] = '\0';
	forget_known(w);
	dir_strv_free(&w->rusers);
	dir_strv_free(&w->rvalues);
	w->rusers.max = w->rvalues.max = DIR_LOCKED_MAX;
	if ((rc = connect_watch(w)) != PG_OK) {
		disconnect_watch(w);
		return rc;
	}
	if ((rc = sync_setup(w, &ls, filter, sizeof(filter), attrs)) != PG_OK) {
		disconnect_watch(w);
		return rc;
	}
	w->refreshing = true;
	lrc = ldap_sync_init(&ls, LDAP_SYNC_REFRESH_AND_PERSIST);
	w->refreshing = false;
	if (lrc != LDAP_SUCCESS || w->ended || w->bad != 0) {
		rc = sync_failed(w, lrc, "sync refresh");
		goto out;
	}
	*refreshed = true;
	report_refresh(w);
	while (!stopping(w)) {
		lrc = ldap_sync_poll(&ls);
		if (lrc != LDAP_SUCCESS || w->ended || w->bad != 0) {
			rc = sync_failed(w, lrc, "sync search");
			break;
		}
	}
out:
	sync_teardown(&ls);
	disconnect_watch(w);
	return rc;
}

/* Waits MS or until stopped; false when stopped. */
static bool
backoff(struct dir_watch *w, int ms)
{
	struct timespec ts;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->stop &&
	    pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	go = !w->stop;
	pthread_mutex_unlock(&w->mu);
	return go;
}

void
dir_watch_run(struct dir_watch *w)
{
	struct dir_watch_event ev;
	struct dir_sigpipe sp;
	unsigned failures = 0;
	int ms = DIR_WATCH_BACKOFF_MIN_MS, rc;
	bool refreshed;

	dir_sigpipe_block(&sp);
	while (!stopping(w)) {
		rc = session(w, &refreshed);
		if (stopping(w))
			break;
		if (refreshed) {
			failures = 0;
			ms = DIR_WATCH_BACKOFF_MIN_MS;
		}
		memset(&ev, 0, sizeof(ev));
		ev.what = DIR_WATCH_DOWN;
		ev.err = rc != PG_OK ? rc : PG_ERR_DIR_UNAVAIL;
		ev.why = w->why[0] ? w->why : pg_strerror(ev.err);
		ev.failures = ++failures;
		w->fn(w->arg, &ev);
		if (!backoff(w, ms))
			break;
		ms = ms * 2 > DIR_WATCH_BACKOFF_MAX_MS
		    ? DIR_WATCH_BACKOFF_MAX_MS
		    : ms * 2;
	}
	dir_sigpipe_restore(&sp);
}
