/*
 * dir_totp_entry.c - reads a user's TOTP token from the directory: the
 * user's entry (found as dir_lookup() finds it, name equal byte for
 * byte), its lockout attribute and object classes, and the oath*
 * attributes of the token it names (slapo-otp's model: oathTOTPToken is
 * the DN of the entry holding the secret, often the user's own).
 *
 * Values are taken with ldap_get_attribute_ber(), which points into the
 * answer instead of copying, so the secret exists once in this process
 * and dt_token_free() wipes it there before the answer is freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/base.h"
#include "core/dir/dir_totp_int.h"

/* Maps LRC of WHAT to PG_ERR_*, noting a server that went away. */
static int
fail_op(struct dir_ldap *l, int lrc, const char *what, bool *down, char *why,
    size_t whylen)
{
	if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR)
		*down = true;
	dir_ldap_errmsg(l, lrc, what, why, whylen);
	if (lrc == LDAP_SIZELIMIT_EXCEEDED)
		return PG_ERR_DIR_BADANSWER;
	return dir_ldap_map(lrc);
}

static int
search(struct dir_ldap *l, const char *base, int scope, const char *filter,
    char **attrs, LDAPMessage **res, bool *down, char *why, size_t whylen)
{
	struct timeval tv = { l->op_ms / 1000, (l->op_ms % 1000) * 1000 };
	int lrc;

	*res = NULL;
	lrc = ldap_search_ext_s(
	    l->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, 2, res);
	if (lrc == LDAP_SUCCESS)
		return PG_OK;
	ldap_msgfree(*res);
	*res = NULL;
	return fail_op(l, lrc, "TOTP token search", down, why, whylen);
}

static bool
is(const struct berval *a, const char *name)
{
	return a->bv_len == strlen(name) &&
	    strncasecmp(a->bv_val, name, a->bv_len) == 0;
}

/* One value of a single-valued attribute; two are a bad answer. */
static int
one(BerVarray v, struct berval *out)
{
	if (v == NULL || v[0].bv_val == NULL || v[1].bv_val != NULL)
		return PG_ERR_DIR_BADANSWER;
	*out = v[0];
	return PG_OK;
}

static int
keep(struct dt_token *t, BerVarray v, struct berval **arr, size_t *n)
{
	size_t i;

	if (t->nkeep >= sizeof(t->keep) / sizeof(t->keep[0]))
		return PG_ERR_DIR_BADANSWER;
	t->keep[t->nkeep++] = v;
	for (i = 0; v != NULL && v[i].bv_val != NULL; i++)
		;
	*arr = v;
	*n = i;
	return PG_OK;
}

/* Is V an enrollment token's record rather than a scratch code? */
static bool
is_enroll_token(const struct berval *v)
{
	return v->bv_len >= sizeof(DT_TOKEN_PREFIX) - 1 &&
	    memcmp(v->bv_val, DT_TOKEN_PREFIX, sizeof(DT_TOKEN_PREFIX) - 1) ==
	    0;
}

/*
 * pgTOTPScratchCode holds the scratch codes and, in the user's entry, an
 * enrollment token's record: the codes are put first and counted in
 * NSCRATCH, the records after them (T's etok, from USER_ENTRY only; a
 * record in another entry is no one's).
 */
static void
split_scratch(struct dt_token *t, bool user_entry)
{
	size_t i, k = 0;

	for (i = 0; i < t->nscratch; i++)
		if (!is_enroll_token(&t->scratch[i])) {
			struct berval x = t->scratch[k];

			t->scratch[k++] = t->scratch[i];
			t->scratch[i] = x;
		}
	if (user_entry) {
		t->etok = k < t->nscratch ? &t->scratch[k] : NULL;
		t->netok = t->nscratch - k;
	}
	t->nscratch = k;
}

/* The token's own attributes, from whichever entry holds them. */
static int
token_attr(struct dt_token *t, const struct berval *a, BerVarray v,
    bool user_entry, bool *used)
{
	int r;

	*used = true;
	if (is(a, DT_AT_SECRET))
		return one(v, &t->secret);
	if (is(a, DT_AT_STEP))
		return one(v, &t->step);
	if (is(a, DT_AT_SECRETT))
		return one(v, &t->secret_time);
	if (is(a, DT_AT_LASTLOGIN))
		return one(v, &t->last_login);
	if (is(a, DT_AT_SCRATCH)) {
		if ((r = keep(t, v, &t->scratch, &t->nscratch)) == PG_OK)
			split_scratch(t, user_entry);
		return r;
	}
	*used = false;
	return PG_OK;
}

/* The user entry's attributes that are not the token's. */
static int
user_attr(struct dir_ldap *l, struct dt_token *t, const char *user,
    const struct berval *a, BerVarray v, bool *exact)
{
	size_t i, n = strlen(user);

	if (is(a, l->user_attr)) {
		for (i = 0; v != NULL && v[i].bv_val != NULL; i++)
			if (v[i].bv_len == n &&
			    memcmp(v[i].bv_val, user, n) == 0)
				*exact = true;
	} else if (l->lock_attr != NULL && is(a, l->lock_attr)) {
		for (i = 0; v != NULL && v[i].bv_val != NULL; i++)
			if (dir_ldap_value_locks(l, v[i].bv_val, v[i].bv_len))
				t->locked = true;
	} else if (is(a, "objectClass")) {
		for (i = 0; v != NULL && v[i].bv_val != NULL; i++) {
			t->oc_user |= is(&v[i], DT_OC_USER);
			t->oc_token |= is(&v[i], DT_OC_TOKEN);
			t->oc_state |= is(&v[i], DT_OC_STATE);
		}
	} else if (is(a, DT_AT_FAILURE)) {
		return keep(t, v, &t->fail, &t->nfail);
	} else if (is(a, DT_AT_TOKEN)) {
		struct berval dn;

		if (one(v, &dn) != PG_OK || dn.bv_len == 0 ||
		    dn.bv_len > DIR_DN_MAX || memchr(dn.bv_val, 0, dn.bv_len))
			return PG_ERR_DIR_BADANSWER;
		t->named = true;
		free(t->token_dn);
		if ((t->token_dn = strndup(dn.bv_val, dn.bv_len)) == NULL)
			return PG_ERR_NOMEM;
	}
	return PG_OK;
}

/*
 * Walks the attributes of entry E; USER non-NULL: the user's entry,
 * TOKEN: take the token's attributes from it.
 */
static int
walk(struct dir_ldap *l, LDAPMessage *e, struct dt_token *t, const char *user,
    bool token, bool *exact)
{
	BerElement *ber = NULL;
	struct berval dn = { 0, NULL }, a = { 0, NULL };
	BerVarray v = NULL;
	size_t nkeep;
	bool used;
	int rc = PG_OK;

	if (ldap_get_dn_ber(l->ld, e, &ber, &dn) != LDAP_SUCCESS)
		return PG_ERR_DIR_BADANSWER;
	for (;;) {
		v = NULL;
		if (ldap_get_attribute_ber(l->ld, e, ber, &a, &v) !=
		    LDAP_SUCCESS) {
			rc = PG_ERR_DIR_BADANSWER;
			break;
		}
		if (a.bv_val == NULL)
			break;
		used = false;
		nkeep = t->nkeep;
		if (token)
			rc = token_attr(t, &a, v, user != NULL, &used);
		if (rc == PG_OK && !used && user != NULL)
			rc = user_attr(l, t, user, &a, v, exact);
		if (t->nkeep == nkeep) /* not kept by keep() */
			ber_memfree(v);
		if (rc != PG_OK)
			break;
	}
	ber_free(ber, 0);
	return rc;
}

static int
find_user(struct dir_ldap *l, const char *user, struct dt_token *t, bool *down,
    char *why, size_t whylen)
{
	char filter[DIR_FILTER_MAX];
	char *attrs[] = { l->user_attr, DT_S("objectClass"), DT_S(DT_AT_TOKEN),
		DT_S(DT_AT_SECRET), DT_S(DT_AT_STEP), DT_S(DT_AT_SECRETT),
		DT_S(DT_AT_LASTLOGIN), DT_S(DT_AT_SCRATCH), DT_S(DT_AT_FAILURE),
		l->lock_attr, NULL };
	LDAPMessage *e;
	bool exact = false;
	int rc;

	if ((rc = dir_ldap_filter(filter, sizeof(filter), l->user_filter,
	         l->user_attr, user, NULL, NULL)) != PG_OK)
		return rc;
	rc = search(l, l->user_base, LDAP_SCOPE_SUBTREE, filter, attrs, &t->res,
	    down, why, whylen);
	if (rc == PG_ERR_DIR_BADANSWER)
		snprintf(why, whylen, "several entries for one user name");
	if (rc != PG_OK)
		return rc;
	if (ldap_count_entries(l->ld, t->res) > 1) {
		snprintf(why, whylen, "several entries for one user name");
		return PG_ERR_DIR_BADANSWER;
	}
	if ((e = ldap_first_entry(l->ld, t->res)) == NULL)
		return PG_ERR_NOTFOUND;
	if ((t->user_dn = ldap_get_dn(l->ld, e)) == NULL)
		return PG_ERR_DIR_BADANSWER;
	/* Token attributes are taken here only if the token is this entry. */
	rc = walk(l, e, t, user, true, &exact);
	if (rc == PG_ERR_DIR_BADANSWER)
		snprintf(why, whylen, "the user entry has an invalid %s",
		    "oathTOTPToken, oath or lockout attribute");
	if (rc == PG_OK && !exact)
		rc = PG_ERR_NOTFOUND; /* a case-insensitive match is not USER */
	return rc;
}

/* The token lives in another entry: drop what the user entry had. */
static void
forget_token_attrs(struct dt_token *t)
{
	if (t->secret.bv_val != NULL)
		sodium_memzero(t->secret.bv_val, t->secret.bv_len);
	memset(&t->secret, 0, sizeof(t->secret));
	memset(&t->step, 0, sizeof(t->step));
	memset(&t->secret_time, 0, sizeof(t->secret_time));
	memset(&t->last_login, 0, sizeof(t->last_login));
	t->scratch = NULL;
	t->nscratch = 0;
}

static int
read_token_entry(struct dir_ldap *l, struct dt_token *t, bool *down, char *why,
    size_t whylen)
{
	char *attrs[] = { DT_S("objectClass"), DT_S(DT_AT_SECRET),
		DT_S(DT_AT_STEP), DT_S(DT_AT_SECRETT), DT_S(DT_AT_LASTLOGIN),
		DT_S(DT_AT_SCRATCH), NULL };
	LDAPMessage *e;
	bool exact = false;
	int rc;

	forget_token_attrs(t);
	rc = search(l, t->token_dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs,
	    &t->tres, down, why, whylen);
	if (rc == PG_ERR_CONFIG) /* noSuchObject: the token is gone */
		rc = PG_ERR_CORRUPT;
	if (rc != PG_OK || (e = ldap_first_entry(l->ld, t->tres)) == NULL) {
		if (rc == PG_OK || rc == PG_ERR_CORRUPT)
			snprintf(why, whylen,
			    "the token entry the user's oathTOTPToken names "
			    "cannot be read");
		return rc == PG_OK ? PG_ERR_CORRUPT : rc;
	}
	rc = walk(l, e, t, NULL, true, &exact);
	if (rc == PG_ERR_DIR_BADANSWER)
		snprintf(why, whylen,
		    "the token entry has an invalid oath "
		    "attribute");
	return rc;
}

int
dt_token_read(struct dir_ldap *l, const char *user, struct dt_token *t,
    bool *down, char *why, size_t whylen)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = find_user(l, user, t, down, why, whylen)) != PG_OK)
		return rc;
	if (t->named && strcasecmp(t->token_dn, t->user_dn) != 0)
		return read_token_entry(l, t, down, why, whylen);
	free(t->token_dn);
	if ((t->token_dn = strdup(t->user_dn)) == NULL)
		return PG_ERR_NOMEM;
	return PG_OK;
}

void
dt_token_free(struct dt_token *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->secret.bv_val != NULL)
		sodium_memzero(t->secret.bv_val, t->secret.bv_len);
	for (i = 0; i < t->nkeep; i++)
		ber_memfree(t->keep[i]);
	ldap_msgfree(t->res);
	ldap_msgfree(t->tres);
	ldap_memfree(t->user_dn);
	free(t->token_dn);
	memset(t, 0, sizeof(*t));
}
