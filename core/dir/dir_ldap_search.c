/*
 * dir_ldap_search.c - the LDAP backend's lookups: the user entry (exactly
 * one, whose naming attribute equals the name byte for byte), its groups
 * (groupOfNames member = DN, groupOfUniqueNames uniqueMember = DN,
 * posixGroup memberUid = name, and the groups those groups are members
 * of, [directory] group_nesting levels up), its care teams (member or
 * uniqueMember = DN), and writing the lockout attribute.  Every value put in a
 * filter is escaped with ldap_bv2escaped_filter_value (RFC 4515).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/dir/dir_ldap_int.h"
#include "base/base.h"
#include "core/state/state.h"

/* What one lookup gathers; freed by lk_free(). */
struct lookup {
	const char *name;
	char *dn;
	bool locked;
	struct dir_strv groups;
	struct dir_strv gdns; /* DNs of the groups found last: nesting */
	struct dir_strv patients;
	size_t bytes;     /* of values read, against DIR_ANSWER_MAX */
	bool down;        /* the server went away: worth one reconnect */
	int last_lrc;     /* the LDAP code of the last failed search */
	bool want_locked; /* dir_set_locked(): lock or unlock */
	struct dir_strv lusers, lsince; /* dir_list_locked(): the answer */
};

static void
lk_free(struct lookup *lk)
{
	ldap_memfree(lk->dn);
	lk->dn = NULL;
	dir_strv_free(&lk->groups);
	dir_strv_free(&lk->gdns);
	dir_strv_free(&lk->patients);
	dir_strv_free(&lk->lusers);
	dir_strv_free(&lk->lsince);
}

/* See dir_ldap_int.h. */
int
dir_ldap_filter(char *buf, size_t len, const char *base, const char *attr,
    const char *value, const char *attr2, const char *value2)
{
	struct berval bv = { strlen(value), (char *)(uintptr_t)value };
	struct berval bv2 = { 0, NULL };
	struct berval esc = { 0, NULL }, esc2 = { 0, NULL };
	int k = -1;

	if (value2 != NULL) {
		bv2.bv_len = strlen(value2);
		bv2.bv_val = (char *)(uintptr_t)value2;
	}
	if (ldap_bv2escaped_filter_value(&bv, &esc) != 0 ||
	    (value2 != NULL && ldap_bv2escaped_filter_value(&bv2, &esc2) != 0))
		goto out;
	if (value2 == NULL)
		k = snprintf(buf, len, "(&%s(%s=%s))", base, attr, esc.bv_val);
	else
		k = snprintf(buf, len, "(&%s(|(%s=%s)(%s=%s)))", base, attr,
		    esc.bv_val, attr2, esc2.bv_val);
out:
	ber_memfree(esc.bv_val);
	ber_memfree(esc2.bv_val);
	return k >= 0 && (size_t)k < len ? PG_OK : PG_ERR_TOOBIG;
}

/*
 * BASE ANDed with membership of any of the N DNs in DNS (member or
 * uniqueMember) or, if NAME is not NULL, of the login name (memberUid):
 * "(&BASE(|(member=D)(uniqueMember=D)...(memberUid=NAME)))", every value
 * escaped.  PG_ERR_TOOBIG when it does not fit LEN.
 */
static int
member_filter(char *buf, size_t len, const char *base, char *const *dns,
    size_t n, const char *name)
{
	struct berval bv, esc;
	size_t i, off;
	int k;

	k = snprintf(buf, len, "(&%s(|", base);
	if (k < 0 || (size_t)k >= len)
		return PG_ERR_TOOBIG;
	off = (size_t)k;
	for (i = 0; i <= n; i++) {
		const char *v = i < n ? dns[i] : name;

		if (v == NULL)
			break;
		bv.bv_len = strlen(v);
		bv.bv_val = (char *)(uintptr_t)v;
		esc.bv_val = NULL;
		if (ldap_bv2escaped_filter_value(&bv, &esc) != 0)
			return PG_ERR_NOMEM;
		if (i < n)
			k = snprintf(buf + off, len - off,
			    "(member=%s)(uniqueMember=%s)", esc.bv_val,
			    esc.bv_val);
		else
			k = snprintf(
			    buf + off, len - off, "(memberUid=%s)", esc.bv_val);
		ber_memfree(esc.bv_val);
		if (k < 0 || (size_t)k >= len - off)
			return PG_ERR_TOOBIG;
		off += (size_t)k;
	}
	k = snprintf(buf + off, len - off, "))");
	return k >= 0 && (size_t)k < len - off ? PG_OK : PG_ERR_TOOBIG;
}

/* Maps the outcome LRC of a search WHAT to PG_ERR_*, with the message. */
static int
search_err(struct dir_ldap *l, struct lookup *lk, int lrc, const char *what,
    char *err, size_t errlen)
{
	if (lrc == LDAP_SERVER_DOWN)
		lk->down = true;
	lk->last_lrc = lrc;
	dir_ldap_errmsg(l, lrc, what, err, errlen);
	if (lrc == LDAP_SIZELIMIT_EXCEEDED || lrc == LDAP_ADMINLIMIT_EXCEEDED)
		return PG_ERR_DIR_BADANSWER;
	return dir_ldap_map(lrc);
}

/*
 * A search whose answer may be long, asked for in pages (RFC 2696), as
 * Active Directory requires past 1,000 entries (MaxPageSize) and a slapd
 * with a paged-results limit allows: each page is an answer of its own.
 */
struct pq {
	const char *what, *base, *filter;
	char **attrs;
	int limit; /* entries in all, at most */
	int msgid; /* the page asked for; -1: none */
};

/*
 * Sends a search without waiting for it; *MSGID names it.  With PAGED,
 * it asks for the page after COOKIE (NULL or empty: the first).
 */
static int
search_send(struct dir_ldap *l, struct lookup *lk, const char *what,
    const char *base, const char *filter, char **attrs, int limit, int *msgid,
    bool paged, struct berval *cookie, char *err, size_t errlen)
{
	struct timeval tv = { l->op_ms / 1000, (l->op_ms % 1000) * 1000 };
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL };
	int lrc;

	*msgid = -1;
	/* Not critical: a server without paging answers in one piece. */
	if (paged &&
	    (lrc = ldap_create_page_control(
	         l->ld, DIR_PAGE_SIZE, cookie, 0, &ctrl)) != LDAP_SUCCESS)
		return search_err(l, lk, lrc, what, err, errlen);
	ctrls[0] = ctrl;
	lrc = ldap_search_ext(l->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
	    paged ? ctrls : NULL, NULL, &tv, limit, msgid);
	ldap_control_free(ctrl);
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	*msgid = -1;
	return search_err(l, lk, lrc, what, err, errlen);
}

/*
 * Waits (at most the operation timeout) for every answer of the search
 * MSGID, as ldap_search_ext_s() does after sending: on PG_OK *RES holds
 * the entries.  A search that timed out is abandoned.
 */
static int
search_wait(struct dir_ldap *l, struct lookup *lk, const char *what, int msgid,
    LDAPMessage **res, struct berval *cookie, char *err, size_t errlen)
{
	struct timeval tv = { l->op_ms / 1000, (l->op_ms % 1000) * 1000 };
	LDAPControl **sctrls = NULL, *pc;
	ber_int_t count;
	int lrc = LDAP_OTHER, prc, type;

	*res = NULL;
	type = ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, res);
	if (type <= 0 || type == LDAP_RES_SEARCH_REFERENCE ||
	    type == LDAP_RES_INTERMEDIATE) {
		(void)ldap_get_option(l->ld, LDAP_OPT_RESULT_CODE, &lrc);
		if (type <= 0 && lrc == LDAP_TIMEOUT)
			(void)ldap_abandon_ext(l->ld, msgid, NULL, NULL);
		if (type <= 0 && lrc == LDAP_SUCCESS)
			lrc = LDAP_OTHER; /* no answer is never an empty one */
	} else if ((prc = ldap_parse_result(l->ld, *res, &lrc, NULL, NULL, NULL,
	                cookie != NULL ? &sctrls : NULL, 0)) != LDAP_SUCCESS) {
		lrc = prc;
	}
	/* The cookie of the next page; none (empty) after the last. */
	if (lrc == LDAP_SUCCESS && sctrls != NULL &&
	    (pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, NULL)) !=
	        NULL &&
	    ldap_parse_pageresponse_control(l->ld, pc, &count, cookie) !=
	        LDAP_SUCCESS)
		lrc = LDAP_DECODING_ERROR;
	ldap_controls_free(sctrls);
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	if (cookie != NULL) {
		ber_memfree(cookie->bv_val);
		cookie->bv_val = NULL;
		cookie->bv_len = 0;
	}
	ldap_msgfree(*res);
	*res = NULL;
	return search_err(l, lk, lrc, what, err, errlen);
}

static int
search(struct dir_ldap *l, struct lookup *lk, const char *what,
    const char *base, const char *filter, char **attrs, int limit,
    LDAPMessage **res, char *err, size_t errlen)
{
	int msgid, rc;

	*res = NULL;
	rc = search_send(l, lk, what, base, filter, attrs, limit, &msgid, false,
	    NULL, err, errlen);
	if (rc == PG_OK)
		rc = search_wait(l, lk, what, msgid, res, NULL, err, errlen);
	return rc;
}

/* Sends the first page of Q. */
static int
pq_send(struct dir_ldap *l, struct lookup *lk, struct pq *q, char *err,
    size_t errlen)
{
	return search_send(l, lk, q->what, q->base, q->filter, q->attrs,
	    q->limit, &q->msgid, true, NULL, err, errlen);
}

/*
 * Ends a paged search left before its last page: a request for 0 entries
 * with its cookie (RFC 2696, section 3), so that the server drops what it
 * keeps for it.  slapd pages one search a connection at a time, and the
 * connection is kept for the next lookup.  Best effort: errors are the
 * next search's to meet.
 */
static void
pq_end(struct dir_ldap *l, struct pq *q, struct berval *cookie)
{
	struct timeval tv = { l->op_ms / 1000, (l->op_ms % 1000) * 1000 };
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL };
	LDAPMessage *res = NULL;
	struct berval value = { 0, NULL };
	BerElement *ber;
	int msgid;

	/* libldap refuses a page size of 0: the value is encoded here,
	 * realSearchControlValue ::= SEQUENCE { size INTEGER, cookie }. */
	if (l->ld == NULL || (ber = ber_alloc_t(LBER_USE_DER)) == NULL)
		return;
	if (ber_printf(ber, "{iO}", (ber_int_t)0, cookie) == -1 ||
	    ber_flatten2(ber, &value, 0) == -1 ||
	    ldap_control_create(LDAP_CONTROL_PAGEDRESULTS, 0, &value, 1,
	        &ctrl) != LDAP_SUCCESS) {
		ber_free(ber, 1);
		return;
	}
	ber_free(ber, 1);
	ctrls[0] = ctrl;
	if (ldap_search_ext(l->ld, q->base, LDAP_SCOPE_SUBTREE, q->filter,
	        q->attrs, 0, ctrls, NULL, &tv, 1, &msgid) == LDAP_SUCCESS) {
		if (ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, &res) <= 0)
			(void)ldap_abandon_ext(l->ld, msgid, NULL, NULL);
		ldap_msgfree(res);
	}
	ldap_control_free(ctrl);
}

/* What the pages of a search are handed to, one answer at a time. */
typedef int (*page_fn)(struct dir_ldap *l, struct lookup *lk, LDAPMessage *res,
    void *arg, char *err, size_t errlen);

/*
 * Reads the pages of Q (its first sent by pq_send()), handing each to
 * FN, and asks for the next while the server has one.  A server that
 * pages on past Q's limit gets an error, not an endless loop.  Q's msgid
 * is -1 after, unless a page is still owed (abandon it).
 */
static int
pq_read(struct dir_ldap *l, struct lookup *lk, struct pq *q, page_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct berval cookie = { 0, NULL };
	LDAPMessage *res = NULL;
	int pages, rc = PG_OK;

	for (pages = 1; rc == PG_OK; pages++) {
		rc = search_wait(
		    l, lk, q->what, q->msgid, &res, &cookie, err, errlen);
		q->msgid = -1;
		if (rc == PG_OK)
			rc = fn(l, lk, res, arg, err, errlen);
		ldap_msgfree(res);
		res = NULL;
		if (rc != PG_OK || cookie.bv_val == NULL || cookie.bv_len == 0)
			break;
		if (pages > q->limit / DIR_PAGE_SIZE + 1) {
			snprintf(err, errlen, "%s: pages past %d entries",
			    q->what, q->limit);
			rc = PG_ERR_DIR_BADANSWER;
			break;
		}
		rc = search_send(l, lk, q->what, q->base, q->filter, q->attrs,
		    q->limit, &q->msgid, true, &cookie, err, errlen);
		ber_memfree(cookie.bv_val);
		cookie.bv_val = NULL;
		cookie.bv_len = 0;
	}
	/* Left with pages to come (a page refused, the limit passed). */
	if (rc != PG_OK && cookie.bv_val != NULL && cookie.bv_len > 0)
		pq_end(l, q, &cookie);
	ber_memfree(cookie.bv_val);
	return rc;
}

/* Counts value bytes against the per-lookup maximum. */
static bool
account(struct lookup *lk, size_t n)
{
	lk->bytes += n;
	return lk->bytes <= DIR_ANSWER_MAX;
}

static bool
printable(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Checks the user entry: its naming attribute and lockout attribute. */
static int
check_user(struct dir_ldap *l, struct lookup *lk, LDAPMessage *e, char *err,
    size_t errlen)
{
	struct berval **v = ldap_get_values_len(l->ld, e, l->user_attr);
	size_t i, nlen = strlen(lk->name);
	bool exact = false;
	int rc = PG_OK;

	if (v == NULL) {
		snprintf(err, errlen, "user entry has no %s", l->user_attr);
		return PG_ERR_DIR_BADANSWER;
	}
	for (i = 0; v[i] != NULL; i++)
		if (v[i]->bv_len == nlen &&
		    memcmp(v[i]->bv_val, lk->name, nlen) == 0)
			exact = true;
	ldap_value_free_len(v);
	/* A case-insensitive server match is not the same user name. */
	if (!exact)
		return PG_ERR_NOTFOUND;
	if (l->lock_attr != NULL) {
		v = ldap_get_values_len(l->ld, e, l->lock_attr);
		for (i = 0; v != NULL && v[i] != NULL; i++) {
			if (v[i]->bv_len == 0 || v[i]->bv_len > 64) {
				rc = PG_ERR_DIR_BADANSWER;
				lk->locked = true;
			} else if (dir_ldap_value_locks(
			               l, v[i]->bv_val, v[i]->bv_len))
				lk->locked = true;
		}
		ldap_value_free_len(v);
	}
	return rc;
}

static int
find_user(struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	char filter[DIR_FILTER_MAX];
	char *attrs[] = { l->user_attr, l->lock_attr, NULL };
	LDAPMessage *res = NULL, *e;
	int rc, n;

	rc = dir_ldap_filter(filter, sizeof(filter), l->user_filter,
	    l->user_attr, lk->name, NULL, NULL);
	if (rc == PG_OK)
		rc = search(l, lk, "user search", l->user_base, filter, attrs,
		    2, &res, err, errlen);
	if (rc == PG_ERR_DIR_BADANSWER)
		snprintf(err, errlen, "several entries for one user name");
	if (rc != PG_OK)
		goto out;
	n = ldap_count_entries(l->ld, res);
	e = ldap_first_entry(l->ld, res);
	if (n == 0 || e == NULL) {
		rc = PG_ERR_NOTFOUND;
		goto out;
	}
	if (n != 1) {
		snprintf(err, errlen, "several entries for one user name");
		rc = PG_ERR_DIR_BADANSWER;
		goto out;
	}
	lk->dn = ldap_get_dn(l->ld, e);
	if (lk->dn == NULL || !printable(lk->dn, strlen(lk->dn), DIR_DN_MAX)) {
		snprintf(err, errlen, "user entry has an invalid DN");
		rc = PG_ERR_DIR_BADANSWER;
		goto out;
	}
	rc = check_user(l, lk, e, err, errlen);
out:
	ldap_msgfree(res);
	return rc;
}

/* A group's name is the cn value of its RDN, parsed by libldap. */
static int
group_name(const char *dn, struct dir_strv *sv, struct lookup *lk)
{
	LDAPDN ldn = NULL;
	LDAPAVA *ava;
	int rc = PG_ERR_DIR_BADANSWER;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL)
		goto out;
	ava = ldn[0][0];
	if (ava->la_attr.bv_len != 2 ||
	    strncasecmp(ava->la_attr.bv_val, "cn", 2) != 0 ||
	    !(ava->la_flags & LDAP_AVA_STRING) ||
	    !printable(
	        ava->la_value.bv_val, ava->la_value.bv_len, DIR_NAME_MAX) ||
	    memchr(ava->la_value.bv_val, '\0', ava->la_value.bv_len) ||
	    !account(lk, ava->la_value.bv_len))
		goto out;
	rc = dir_strv_push(sv, ava->la_value.bv_val, ava->la_value.bv_len);
out:
	ldap_dnfree(ldn);
	return rc;
}

/* Says which group has an unusable name, its DN escaped for the log. */
static void
bad_group(const char *dn, char *err, size_t errlen)
{
	char esc[256];

	(void)pg_escape(dn, esc, sizeof(esc), 0);
	snprintf(err, errlen, "group %s: name is not a valid cn RDN", esc);
}

/* Adds the groups of the answer RES to the lookup. */
static int
add_groups(struct dir_ldap *l, struct lookup *lk, LDAPMessage *res, void *arg,
    char *err, size_t errlen)
{
	LDAPMessage *e;
	char *dn;
	int rc = PG_OK;

	(void)arg;
	for (e = ldap_first_entry(l->ld, res); e != NULL && rc == PG_OK;
	     e = ldap_next_entry(l->ld, e)) {
		dn = ldap_get_dn(l->ld, e);
		rc = dn ? group_name(dn, &lk->groups, lk) : PG_ERR_NOMEM;
		/* Kept to look for the groups this one is a member of. */
		if (rc == PG_OK && l->nesting > 0)
			rc = dir_strv_push(&lk->gdns, dn, strlen(dn));
		if (rc == PG_ERR_DIR_BADANSWER)
			bad_group(dn, err, errlen);
		if (rc == PG_ERR_TOOBIG) {
			snprintf(
			    err, errlen, "more than %d groups", DIR_MAX_GROUPS);
			rc = PG_ERR_DIR_BADANSWER;
		}
		ldap_memfree(dn);
	}
	return rc;
}

static int
add_patient(struct dir_ldap *l, struct lookup *lk, LDAPMessage *e)
{
	struct berval **v = ldap_get_values_len(l->ld, e, l->care_attr);
	int rc = PG_ERR_DIR_BADANSWER;

	/* Exactly one patient id per care team. */
	if (v == NULL || v[0] == NULL || v[1] != NULL)
		goto out;
	if (!dir_valid_patient_id(v[0]->bv_val, v[0]->bv_len) ||
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) ||
	    !account(lk, v[0]->bv_len))
		goto out;
	rc = dir_strv_push(&lk->patients, v[0]->bv_val, v[0]->bv_len);
out:
	ldap_value_free_len(v);
	return rc == PG_ERR_TOOBIG ? PG_ERR_DIR_BADANSWER : rc;
}

/* Adds the care teams of the answer RES to the lookup. */
static int
add_patients(struct dir_ldap *l, struct lookup *lk, LDAPMessage *res, void *arg,
    char *err, size_t errlen)
{
	LDAPMessage *e;
	int rc = PG_OK;

	(void)arg;
	for (e = ldap_first_entry(l->ld, res); e != NULL && rc == PG_OK;
	     e = ldap_next_entry(l->ld, e)) {
		rc = add_patient(l, lk, e);
		if (rc == PG_ERR_DIR_BADANSWER)
			snprintf(err, errlen,
			    "care team without exactly one "
			    "valid %s, or too many",
			    l->care_attr);
	}
	return rc;
}

/*
 * The user's groups and care teams.  Both searches need only the user's
 * DN, so they are sent together and cost one round trip; the answers are
 * read in that order, and one the lookup no longer needs is abandoned.
 */
static int
find_memberships(
    struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	char gfilter[DIR_FILTER_MAX], cfilter[DIR_FILTER_MAX];
	static char no_attrs[] = LDAP_NO_ATTRS;
	char *gattrs[] = { no_attrs, NULL };
	char *cattrs[] = { l->care_attr, NULL };
	struct pq g = { "group search", l->group_base, gfilter, gattrs,
		DIR_MAX_GROUPS + 1, -1 };
	LDAPMessage *res = NULL;
	struct pq c = { "care-team search", l->care_base, cfilter, cattrs,
		DIR_MAX_PATIENTS + 1, -1 };
	bool more = false;
	int rc;

	rc = member_filter(
	    gfilter, sizeof(gfilter), l->group_filter, &lk->dn, 1, lk->name);
	if (rc == PG_OK)
		rc = member_filter(
		    cfilter, sizeof(cfilter), l->care_filter, &lk->dn, 1, NULL);
	/*
	 * slapd pages one search a connection at a time, and may start the
	 * two in either order: the groups (rarely past a server's limit) are
	 * asked unpaged beside the paged care teams, and only past that limit
	 * asked again, alone and paged, once the care teams are read.
	 */
	if (rc == PG_OK)
		rc = search_send(l, lk, g.what, g.base, g.filter, g.attrs,
		    g.limit, &g.msgid, false, NULL, err, errlen);
	if (rc == PG_OK)
		rc = pq_send(l, lk, &c, err, errlen);
	if (rc == PG_OK) {
		rc = search_wait(
		    l, lk, g.what, g.msgid, &res, NULL, err, errlen);
		g.msgid = -1;
		if (rc == PG_ERR_DIR_BADANSWER &&
		    (lk->last_lrc == LDAP_SIZELIMIT_EXCEEDED ||
		        lk->last_lrc == LDAP_ADMINLIMIT_EXCEEDED)) {
			more = true;
			rc = PG_OK;
		} else if (rc == PG_OK)
			rc = add_groups(l, lk, res, NULL, err, errlen);
		ldap_msgfree(res);
	}
	if (rc == PG_OK)
		rc = pq_read(l, lk, &c, add_patients, NULL, err, errlen);
	if (rc == PG_OK && more) {
		dir_strv_free(&lk->groups);
		dir_strv_free(&lk->gdns);
		rc = pq_send(l, lk, &g, err, errlen);
		if (rc == PG_OK)
			rc = pq_read(l, lk, &g, add_groups, NULL, err, errlen);
	}
	if (g.msgid >= 0)
		(void)ldap_abandon_ext(l->ld, g.msgid, NULL, NULL);
	if (c.msgid >= 0)
		(void)ldap_abandon_ext(l->ld, c.msgid, NULL, NULL);
	return rc;
}

/* Whether DN is one of SV's. */
static bool
has(const struct dir_strv *sv, const char *dn)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], dn) == 0)
			return true;
	return false;
}

/*
 * One nesting level: the groups whose member or uniqueMember is one of
 * the groups in LK->gdns, which then hold the groups found new (not in
 * SEEN, the DNs of every group found so far: a cycle ends here).  The
 * DNs are asked in batches that fit one filter.
 */
/* The groups of one nesting level: those new go to SEEN and NEXT. */
struct nest {
	struct dir_strv *seen, *next;
};

static int
add_nested(struct dir_ldap *l, struct lookup *lk, LDAPMessage *res, void *arg,
    char *err, size_t errlen)
{
	struct nest *ns = arg;
	LDAPMessage *e;
	char *dn;
	int rc = PG_OK;

	for (e = ldap_first_entry(l->ld, res); e != NULL && rc == PG_OK;
	     e = ldap_next_entry(l->ld, e)) {
		if ((dn = ldap_get_dn(l->ld, e)) == NULL)
			return PG_ERR_NOMEM;
		/* The DNs kept to search on count against the answer's
		 * bytes, as the names taken from them do. */
		if (strlen(dn) > DIR_DN_MAX || !account(lk, strlen(dn)))
			rc = PG_ERR_DIR_BADANSWER;
		else if (!has(ns->seen, dn) &&
		    (rc = dir_strv_push(ns->seen, dn, strlen(dn))) == PG_OK &&
		    (rc = dir_strv_push(ns->next, dn, strlen(dn))) == PG_OK)
			rc = group_name(dn, &lk->groups, lk);
		if (rc == PG_ERR_DIR_BADANSWER)
			bad_group(dn, err, errlen);
		ldap_memfree(dn);
	}
	return rc;
}

static int
nest_once(struct dir_ldap *l, struct lookup *lk, struct dir_strv *seen,
    char *filter, size_t flen, char *err, size_t errlen)
{
	static char no_attrs[] = LDAP_NO_ATTRS;
	char *attrs[] = { no_attrs, NULL };
	struct dir_strv next = { NULL, 0, 0, DIR_MAX_GROUPS + 1 };
	struct nest ns = { seen, &next };
	struct pq q = { "nested group search", l->group_base, filter, attrs,
		DIR_MAX_GROUPS + 1, -1 };
	size_t i = 0, n;
	int rc = PG_OK;

	while (rc == PG_OK && i < lk->gdns.n) {
		/* As many DNs as fit, at least one. */
		for (n = 1; i + n <= lk->gdns.n; n++)
			if (member_filter(filter, flen, l->group_filter,
			        lk->gdns.v + i, n, NULL) != PG_OK)
				break;
		if (--n == 0) {
			snprintf(
			    err, errlen, "group DN too long to search for");
			rc = PG_ERR_DIR_BADANSWER;
			break;
		}
		(void)member_filter(
		    filter, flen, l->group_filter, lk->gdns.v + i, n, NULL);
		i += n;
		rc = pq_send(l, lk, &q, err, errlen);
		if (rc == PG_OK)
			rc = pq_read(l, lk, &q, add_nested, &ns, err, errlen);
		if (q.msgid >= 0)
			(void)ldap_abandon_ext(l->ld, q.msgid, NULL, NULL);
		q.msgid = -1;
	}
	if (rc == PG_ERR_TOOBIG) {
		snprintf(err, errlen, "more than %d groups", DIR_MAX_GROUPS);
		rc = PG_ERR_DIR_BADANSWER;
	}
	dir_strv_free(&lk->gdns);
	lk->gdns = next;
	if (rc != PG_OK)
		dir_strv_free(&lk->gdns);
	return rc;
}

/*
 * The groups the user's groups are members of, up to l->nesting levels:
 * a role given to a group counts for the members of its member groups,
 * as in Active Directory or FreeIPA.  Each level costs one round trip.
 */
static int
find_nested(struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	struct dir_strv seen = { NULL, 0, 0, 2 * DIR_MAX_GROUPS + 1 };
	char *filter = NULL;
	size_t flen = 4 * DIR_FILTER_MAX;
	int depth, rc = PG_OK;
	size_t i;

	if (l->nesting <= 0 || lk->gdns.n == 0)
		return PG_OK;
	if ((filter = malloc(flen)) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < lk->gdns.n && rc == PG_OK; i++)
		rc = dir_strv_push(&seen, lk->gdns.v[i], strlen(lk->gdns.v[i]));
	for (depth = 0; rc == PG_OK && depth < l->nesting && lk->gdns.n > 0;
	     depth++)
		rc = nest_once(l, lk, &seen, filter, flen, err, errlen);
	dir_strv_free(&seen);
	free(filter);
	return rc;
}

static int
lookup_once(struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	int rc = dir_ldap_connect(l, err, errlen);

	if (rc == PG_ERR_DIR_UNAVAIL)
		lk->down = true;
	if (rc == PG_OK)
		rc = find_user(l, lk, err, errlen);
	if (rc == PG_OK)
		rc = find_memberships(l, lk, err, errlen);
	if (rc == PG_OK)
		rc = find_nested(l, lk, err, errlen);
	return rc;
}

static int
make_user(struct lookup *lk, struct dir_user **out)
{
	struct dir_user *u = dir_user_new(lk->name, strlen(lk->name));

	if (u == NULL)
		return PG_ERR_NOMEM;
	dir_strv_sort_uniq(&lk->groups);
	dir_strv_sort_uniq(&lk->patients);
	dir_strv_free_array(u->groups);
	dir_strv_free_array(u->patients);
	u->groups = u->patients = NULL;
	u->dn = strdup(lk->dn);
	if (u->dn == NULL ||
	    dir_strv_take(&lk->groups, &u->groups, &u->ngroups) != PG_OK ||
	    dir_strv_take(&lk->patients, &u->patients, &u->npatients) !=
	        PG_OK) {
		dir_user_free(u);
		return PG_ERR_NOMEM;
	}
	u->locked = lk->locked;
	u->fetched = time(NULL);
	*out = u;
	return PG_OK;
}

/* Runs FN once, and once more on a fresh connection if the server left. */
static int
with_retry(struct dir_ldap *l, struct lookup *lk,
    int (*fn)(struct dir_ldap *, struct lookup *, char *, size_t), char *err,
    size_t errlen)
{
	int rc = fn(l, lk, err, errlen);

	if (rc != PG_OK && lk->down && l->ld != NULL) {
		dir_ldap_disconnect(l);
		lk_free(lk);
		lk->down = false;
		lk->locked = false;
		lk->bytes = 0;
		rc = fn(l, lk, err, errlen);
	}
	/* A timed-out or refused connection is in an unknown state. */
	if (rc == PG_ERR_DIR_UNAVAIL || rc == PG_ERR_AUTH || rc == PG_ERR_TLS)
		dir_ldap_disconnect(l);
	return rc;
}

int
dir_ldap_lookup(struct dir_ldap *l, const char *name, struct dir_user **out,
    char *err, size_t errlen)
{
	struct lookup lk = { 0 };
	struct dir_sigpipe sp;
	int rc;

	*out = NULL;
	lk.name = name;
	lk.groups.max = DIR_MAX_GROUPS;
	lk.gdns.max = DIR_MAX_GROUPS + 1;
	lk.patients.max = DIR_MAX_PATIENTS;
	pthread_mutex_lock(&l->lock);
	dir_sigpipe_block(&sp);
	rc = with_retry(l, &lk, lookup_once, err, errlen);
	dir_sigpipe_restore(&sp);
	pthread_mutex_unlock(&l->lock);
	if (rc == PG_OK)
		rc = make_user(&lk, out);
	lk_free(&lk);
	return rc;
}

/* Finds the user's entry and writes or removes the lockout attribute. */
static int
set_locked_once(struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	char when[32];
	char *vals[] = { when, NULL };
	LDAPMod mod = { 0 }, *mods[] = { &mod, NULL };
	int rc, lrc, op;

	rc = dir_ldap_connect(l, err, errlen);
	if (rc == PG_OK)
		rc = find_user(l, lk, err, errlen);
	if (rc != PG_OK)
		return rc;
	if (dir_ldap_lock_value(l, lk->want_locked, time(NULL), when,
	        sizeof(when), &op) != PG_OK)
		return PG_ERR_INTERNAL;
	mod.mod_type = l->lock_attr;
	mod.mod_op = op;
	mod.mod_values = op == LDAP_MOD_REPLACE ? vals : NULL;
	lrc = ldap_modify_ext_s(l->ld, lk->dn, mods, NULL, NULL);
	if (lrc == LDAP_NO_SUCH_ATTRIBUTE && op == LDAP_MOD_DELETE)
		return PG_OK; /* not locked: nothing to remove */
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	if (lrc == LDAP_SERVER_DOWN)
		lk->down = true;
	dir_ldap_errmsg(l, lrc, "setting the lockout attribute", err, errlen);
	return dir_ldap_map(lrc);
}

int
dir_ldap_set_locked(
    struct dir_ldap *l, const char *name, bool locked, char *err, size_t errlen)
{
	struct lookup lk = { 0 };
	struct dir_sigpipe sp;
	int rc;

	if (l->lock_attr == NULL) {
		snprintf(err, errlen, "no lockout attribute configured");
		return PG_ERR_CONFIG;
	}
	if (locked && !dir_ldap_can_set_lock(l)) {
		snprintf(err, errlen,
		    "%s takes no lock from a client (Active Directory lets "
		    "a client write 0 only): lock the account in the directory",
		    l->lock_attr);
		return PG_ERR_CONFIG;
	}
	lk.name = name;
	pthread_mutex_lock(&l->lock);
	lk.want_locked = locked;
	dir_sigpipe_block(&sp);
	rc = with_retry(l, &lk, set_locked_once, err, errlen);
	dir_sigpipe_restore(&sp);
	pthread_mutex_unlock(&l->lock);
	lk_free(&lk);
	return rc;
}

/* One locked entry: its user name and the lockout attribute's value. */
static int
add_locked(struct dir_ldap *l, struct lookup *lk, LDAPMessage *e)
{
	struct berval **u = ldap_get_values_len(l->ld, e, l->user_attr);
	struct berval **t = ldap_get_values_len(l->ld, e, l->lock_attr);
	char when[65];
	int rc = PG_ERR_DIR_BADANSWER;

	if (u == NULL || u[0] == NULL || t == NULL || t[0] == NULL ||
	    !printable(u[0]->bv_val, u[0]->bv_len, DIR_NAME_MAX) ||
	    !printable(t[0]->bv_val, t[0]->bv_len, 64) ||
	    !account(lk, u[0]->bv_len + t[0]->bv_len))
		goto out;
	dir_ldap_lock_when(l, t[0]->bv_val, t[0]->bv_len, when, sizeof(when));
	rc = dir_strv_push(&lk->lusers, u[0]->bv_val, u[0]->bv_len);
	if (rc == PG_OK)
		rc = dir_strv_push(&lk->lsince, when, strlen(when));
out:
	ldap_value_free_len(u);
	ldap_value_free_len(t);
	return rc;
}

/* The locked entries of one page. */
static int
add_locked_page(struct dir_ldap *l, struct lookup *lk, LDAPMessage *res,
    void *arg, char *err, size_t errlen)
{
	LDAPMessage *e;
	int rc = PG_OK;

	(void)arg;
	for (e = ldap_first_entry(l->ld, res); e != NULL && rc == PG_OK;
	     e = ldap_next_entry(l->ld, e))
		if ((rc = add_locked(l, lk, e)) == PG_ERR_DIR_BADANSWER)
			snprintf(err, errlen,
			    "a locked entry without a valid %s or %s",
			    l->user_attr, l->lock_attr);
	return rc;
}

static int
list_locked_once(
    struct dir_ldap *l, struct lookup *lk, char *err, size_t errlen)
{
	char filter[DIR_FILTER_MAX], locked[DIR_FILTER_MAX / 2];
	char *attrs[] = { l->user_attr, l->lock_attr, NULL };
	struct pq q = { "locked users search", l->user_base, filter, attrs,
		DIR_LOCKED_MAX, -1 };
	int rc, k;

	rc = dir_ldap_connect(l, err, errlen);
	if (rc != PG_OK)
		return rc;
	if (dir_ldap_lock_filter(l, true, locked, sizeof(locked)) != PG_OK)
		return PG_ERR_TOOBIG;
	k = snprintf(filter, sizeof(filter), "(&%s%s)", l->user_filter, locked);
	if (k < 0 || (size_t)k >= sizeof(filter))
		return PG_ERR_TOOBIG;
	rc = pq_send(l, lk, &q, err, errlen);
	if (rc == PG_OK)
		rc = pq_read(l, lk, &q, add_locked_page, NULL, err, errlen);
	if (q.msgid >= 0)
		(void)ldap_abandon_ext(l->ld, q.msgid, NULL, NULL);
	if (rc == PG_ERR_TOOBIG ||
	    (rc == PG_ERR_DIR_BADANSWER && lk->lusers.n >= DIR_LOCKED_MAX)) {
		snprintf(
		    err, errlen, "more than %d locked users", DIR_LOCKED_MAX);
		rc = PG_ERR_DIR_BADANSWER;
	}
	return rc;
}

struct pair {
	char *a, *b;
};

static int
cmp_pair(const void *x, const void *y)
{
	return strcmp(((const struct pair *)x)->a, ((const struct pair *)y)->a);
}

/* Sorts A by its strings, B's kept beside A's. */
static int
sort_pairs(struct dir_strv *a, struct dir_strv *b)
{
	struct pair *p;
	size_t i;

	if (a->n < 2)
		return PG_OK;
	if ((p = calloc(a->n, sizeof(*p))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < a->n; i++)
		p[i] = (struct pair){ a->v[i], b->v[i] };
	qsort(p, a->n, sizeof(*p), cmp_pair);
	for (i = 0; i < a->n; i++) {
		a->v[i] = p[i].a;
		b->v[i] = p[i].b;
	}
	free(p);
	return PG_OK;
}

int
dir_ldap_list_locked(struct dir_ldap *l, char ***users, char ***since,
    size_t *n, char *err, size_t errlen)
{
	struct lookup lk = { 0 };
	struct dir_sigpipe sp;
	size_t m;
	int rc;

	lk.lusers.max = lk.lsince.max = DIR_LOCKED_MAX;
	pthread_mutex_lock(&l->lock);
	dir_sigpipe_block(&sp);
	rc = with_retry(l, &lk, list_locked_once, err, errlen);
	dir_sigpipe_restore(&sp);
	pthread_mutex_unlock(&l->lock);
	if (rc == PG_OK)
		rc = sort_pairs(&lk.lusers, &lk.lsince);
	if (rc == PG_OK)
		rc = dir_strv_take(&lk.lusers, users, n);
	if (rc == PG_OK &&
	    (rc = dir_strv_take(&lk.lsince, since, &m)) != PG_OK) {
		dir_strv_free_array(*users);
		*users = NULL;
	}
	if (rc != PG_OK)
		*n = 0;
	lk_free(&lk);
	return rc;
}
