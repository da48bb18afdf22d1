/*
 * dir_ldap_peer.c - waiting for a write to reach another provider
 * (dir_ldap_int.h, dir_ldap_confirm()).
 *
 * The peer is a second handle with the same settings whose URI list is
 * the configured one without the provider the main handle is connected
 * to; it is made again when that provider changes.  It asks with a
 * base search that returns no attributes, every few milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "core/dir/dir_ldap_int.h"

#define POLL_MS      5
#define RECONNECT_MS 100

void
dir_ldap_peer_free(struct dir_ldap *l)
{
	dir_ldap_free(l->peer);
	l->peer = NULL;
	free(l->peer_for);
	l->peer_for = NULL;
}

/* Is URI (LEN bytes) the provider L is connected to? */
static bool
is_conn(const struct dir_ldap *l, const char *uri, size_t len)
{
	char one[PG_DIR_URI_LIST_MAX + 1];
	LDAPURLDesc *d = NULL;
	bool same;

	snprintf(one, sizeof(one), "%.*s", (int)len, uri);
	if (ldap_url_parse(one, &d) != LDAP_URL_SUCCESS)
		return false;
	same = d->lud_port == l->conn_port &&
	    strcasecmp(d->lud_host != NULL ? d->lud_host : "", l->conn_host) ==
	        0;
	ldap_free_urldesc(d);
	return same;
}

/* L's list without the connected provider into BUF; "" if none left. */
static void
peer_list(const struct dir_ldap *l, char *buf, size_t len)
{
	const char *p = l->uri;
	size_t o = 0;

	buf[0] = '\0';
	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0 && !is_conn(l, p, n) && o + n + 2 <= len) {
			if (o > 0)
				buf[o++] = ' ';
			memcpy(buf + o, p, n);
			o += n;
			buf[o] = '\0';
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

/* The peer for the provider now connected; NULL: there is none. */
static int
peer_get(struct dir_ldap *l, struct dir_ldap **out)
{
	char list[PG_DIR_URI_LIST_MAX + 1], me[300];
	int rc;

	*out = NULL;
	snprintf(me, sizeof(me), "%s:%d", l->conn_host, l->conn_port);
	if (l->peer != NULL && strcmp(l->peer_for, me) == 0) {
		*out = l->peer;
		return PG_OK;
	}
	dir_ldap_peer_free(l);
	peer_list(l, list, sizeof(list));
	if (list[0] == '\0' || strcmp(list, l->uri) == 0)
		return PG_OK; /* one provider, or cannot tell which is ours */
	if ((rc = dir_ldap_dup(l, &l->peer)) != PG_OK)
		return rc;
	free(l->peer->uri);
	l->peer->uri = strdup(list);
	l->peer_for = strdup(me);
	if (l->peer->uri == NULL || l->peer_for == NULL) {
		dir_ldap_peer_free(l);
		return PG_ERR_NOMEM;
	}
	*out = l->peer;
	return PG_OK;
}

int
dir_ldap_confirm(struct dir_ldap *l, const char *dn, const char *filter,
    char *err, size_t errlen)
{
	char *none[] = { (char *)(uintptr_t)LDAP_NO_ATTRS, NULL };
	LDAPMessage *res = NULL;
	int found;
	struct timespec pause = { 0, POLL_MS * 1000000L };
	struct timespec again = { 0, RECONNECT_MS * 1000000L };
	bool answered = false;
	struct dir_ldap *p;
	char perr[DIR_ERR_MAX];
	int64_t start = dir_mono_ms();
	int rc, lrc;

	if (strchr(l->uri, ' ') == NULL || start < l->peer_down_until_ms)
		return PG_OK;
	if ((rc = peer_get(l, &p)) != PG_OK)
		return rc;
	if (p == NULL)
		return PG_OK;
	for (;;) {
		if (dir_mono_ms() - start >= DIR_CONFIRM_MS) {
			if (!answered) {
				/* Nobody else answered all along: no second
				 * copy to lose the write to. */
				l->peer_down_until_ms =
				    dir_mono_ms() + DIR_PEER_RETRY_MS;
				return PG_OK;
			}
			snprintf(err, errlen,
			    "the write has not reached the other provider "
			    "(%s) within %d ms: replication is not working",
			    p->uri, DIR_CONFIRM_MS);
			return PG_ERR_TIMEOUT;
		}
		/* A peer that does not answer once may only be slow (a busy
		 * server is still the one that takes over): asked again
		 * until the time is up. */
		if (dir_ldap_connect(p, perr, sizeof(perr)) != PG_OK) {
			nanosleep(&again, NULL);
			continue;
		}
		answered = true;
		{
			struct timeval tv = { p->op_ms / 1000,
				(p->op_ms % 1000) * 1000 };

			lrc = ldap_search_ext_s(p->ld, dn, LDAP_SCOPE_BASE,
			    filter, none, 0, NULL, NULL, &tv, 1, &res);
		}
		found =
		    lrc == LDAP_SUCCESS && ldap_count_entries(p->ld, res) > 0;
		ldap_msgfree(res);
		res = NULL;
		if (found)
			return PG_OK;
		if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_TIMEOUT ||
		    lrc == LDAP_CONNECT_ERROR) {
			dir_ldap_disconnect(p);
			continue; /* the next of the list, or none */
		}
		if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_OBJECT) {
			dir_ldap_errmsg(
			    p, lrc, "replication check", err, errlen);
			return dir_ldap_map(lrc);
		}
		nanosleep(&pause, NULL);
	}
}
