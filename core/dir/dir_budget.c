/*
 * dir_budget.c - one bulk budget for the clinic, leased from the user's
 * entry (dir.h, "One bulk budget for the clinic").
 *
 * Each grant reads the entry's leases and its pgBulkSerial value, decides,
 * then writes in one modify that deletes the serial value it read and
 * adds a fresh one.  A gateway that read before another's grant landed
 * fails that delete (noSuchAttribute) and reads again, so every grant is
 * decided on the leases as they are when it lands: the same one-winner
 * pattern as the TOTP watermark, with no lock of our own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "base/base.h"
#include "core/dir/dir_budget_int.h"
#include "core/dir/dir_ldap_int.h"

#define DB_TRIES    24 /* reads after losing a race, before giving up */
#define DB_DROP_MAX 64 /* aged-out leases removed by one grant */
#define S(lit)      ((char *)(uintptr_t)(lit))

/* What one read of the entry holds. */
struct db_entry {
	LDAPMessage *res;
	char *dn;
	struct berval **user, **oc, **lease, **serial, **lock;
	struct db_lease *l; /* parsed lease[i] */
	size_t nl;
	bool has_oc;
};

struct db_req {
	const char *user, *owner;
	int64_t now_ms, lease_ms;
	struct dir_budget_ask *a;
	size_t n;
	bool clear;     /* dir_budget_clear() */
	size_t cleared; /* its answer */
	char *why;
	size_t whylen;
};

static void
entry_free(struct db_entry *e)
{
	ldap_value_free_len(e->user);
	ldap_value_free_len(e->oc);
	ldap_value_free_len(e->lease);
	ldap_value_free_len(e->serial);
	ldap_value_free_len(e->lock);
	ldap_memfree(e->dn);
	ldap_msgfree(e->res);
	free(e->l);
	memset(e, 0, sizeof(*e));
}

static size_t
count(struct berval **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

static int
fail_op(
    struct dir_ldap *l, int lrc, const char *what, bool *down, struct db_req *q)
{
	if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR ||
	    lrc == LDAP_TIMEOUT)
		*down = true;
	dir_ldap_errmsg(l, lrc, what, q->why, q->whylen);
	return dir_ldap_map(lrc);
}

/* Whether the lockout attribute's values V lock, as the directory means. */
static bool
locked_entry(const struct dir_ldap *l, struct berval **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (dir_ldap_value_locks(l, v[i]->bv_val, v[i]->bv_len))
			return true;
	return false;
}

/* USER's entry (exactly one, named byte for byte), its leases parsed. */
static int
entry_read(struct dir_ldap *l, struct db_req *q, struct db_entry *e, bool *down)
{
	struct timeval tv = { l->op_ms / 1000, (l->op_ms % 1000) * 1000 };
	char filter[DIR_FILTER_MAX];
	char *attrs[] = { l->user_attr, S("objectClass"), S(DB_AT_LEASE),
		S(DB_AT_SERIAL), l->lock_attr, NULL };
	size_t i, n = strlen(q->user);
	LDAPMessage *m;
	bool exact = false;
	int rc, lrc;

	memset(e, 0, sizeof(*e));
	rc = dir_ldap_filter(filter, sizeof(filter), l->user_filter,
	    l->user_attr, q->user, NULL, NULL);
	if (rc != PG_OK)
		return rc;
	lrc = ldap_search_ext_s(l->ld, l->user_base, LDAP_SCOPE_SUBTREE, filter,
	    attrs, 0, NULL, NULL, &tv, 2, &e->res);
	if (lrc != LDAP_SUCCESS)
		return fail_op(l, lrc, "budget search", down, q);
	if (ldap_count_entries(l->ld, e->res) > 1) {
		snprintf(
		    q->why, q->whylen, "several entries for one user name");
		return PG_ERR_DIR_BADANSWER;
	}
	if ((m = ldap_first_entry(l->ld, e->res)) == NULL)
		return PG_ERR_NOTFOUND;
	if ((e->dn = ldap_get_dn(l->ld, m)) == NULL)
		return PG_ERR_DIR_BADANSWER;
	e->user = ldap_get_values_len(l->ld, m, l->user_attr);
	e->oc = ldap_get_values_len(l->ld, m, "objectClass");
	e->lease = ldap_get_values_len(l->ld, m, DB_AT_LEASE);
	e->serial = ldap_get_values_len(l->ld, m, DB_AT_SERIAL);
	if (l->lock_attr != NULL)
		e->lock = ldap_get_values_len(l->ld, m, l->lock_attr);
	for (i = 0; e->user != NULL && e->user[i] != NULL; i++)
		if (e->user[i]->bv_len == n &&
		    memcmp(e->user[i]->bv_val, q->user, n) == 0)
			exact = true;
	if (!exact)
		return PG_ERR_NOTFOUND; /* a case-insensitive match is not USER
		                         */
	for (i = 0; e->oc != NULL && e->oc[i] != NULL; i++)
		if (e->oc[i]->bv_len == strlen(DB_OC) &&
		    strncasecmp(e->oc[i]->bv_val, DB_OC, e->oc[i]->bv_len) == 0)
			e->has_oc = true;
	if (count(e->serial) > 1) {
		snprintf(q->why, q->whylen, "%s has %zu values, one expected",
		    DB_AT_SERIAL, count(e->serial));
		return PG_ERR_CORRUPT;
	}
	e->nl = count(e->lease);
	if (e->nl > DIR_BUDGET_LEASES_MAX) {
		snprintf(q->why, q->whylen,
		    "%zu %s values, more than %d: refused", e->nl, DB_AT_LEASE,
		    DIR_BUDGET_LEASES_MAX);
		return PG_ERR_TOOBIG;
	}
	if (e->nl > 0 && (e->l = calloc(e->nl, sizeof(*e->l))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < e->nl && !q->clear; i++)
		if (db_lease_parse(e->lease[i]->bv_val, e->lease[i]->bv_len,
		        &e->l[i]) != 0) {
			snprintf(q->why, q->whylen,
			    "a %s value that does not parse (%zu bytes); "
			    "`photoguard unlock` clears them",
			    DB_AT_LEASE, (size_t)e->lease[i]->bv_len);
			return PG_ERR_CORRUPT;
		}
	return PG_OK;
}

/* Index of the lease value equal to S in E, or -1. */
static long
find_value(const struct db_entry *e, const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; n > 0 && i < e->nl; i++)
		if (e->lease[i]->bv_len == n &&
		    memcmp(e->lease[i]->bv_val, s, n) == 0)
			return (long)i;
	return -1;
}

/* The modify being built: values owned by the arrays below. */
struct db_mods {
	struct berval *del[DIR_BUDGET_ASKS_MAX + DB_DROP_MAX + 1];
	struct berval *add[2 * DIR_BUDGET_ASKS_MAX + 1];
	struct berval addv[2 * DIR_BUDGET_ASKS_MAX];
	char addbuf[2 * DIR_BUDGET_ASKS_MAX][DIR_LEASE_MAX];
	size_t ndel, nadd;
	bool *gone; /* per lease of the entry: deleted by this modify */
};

static int
mods_add(struct db_mods *m, const struct db_lease *l)
{
	char *buf = m->addbuf[m->nadd];

	if (m->nadd >= 2 * DIR_BUDGET_ASKS_MAX ||
	    db_lease_format(l, buf, DIR_LEASE_MAX) != 0)
		return PG_ERR_INTERNAL;
	m->addv[m->nadd].bv_val = buf;
	m->addv[m->nadd].bv_len = strlen(buf);
	m->add[m->nadd] = &m->addv[m->nadd];
	m->nadd++;
	m->add[m->nadd] = NULL;
	return PG_OK;
}

static void
mods_del(struct db_mods *m, const struct db_entry *e, size_t i)
{
	if (m->gone[i] || m->ndel >= DIR_BUDGET_ASKS_MAX + DB_DROP_MAX)
		return;
	m->gone[i] = true;
	m->del[m->ndel++] = e->lease[i];
	m->del[m->ndel] = NULL;
}

static int
cmp_tag(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds what L counts of KEY at NOW to *SUM, or its tag to TAGS. */
static void
count_one(const struct db_lease *l, const char *key, int64_t now, uint64_t *sum,
    const char **tags, size_t *ntags)
{
	if (strcmp(l->key, key) != 0 || !db_lease_counts(l, now))
		return;
	if (l->patients)
		tags[(*ntags)++] = l->tag;
	else
		*sum =
		    l->units > UINT64_MAX - *sum ? UINT64_MAX : *sum + l->units;
}

/*
 * What KEY's leases count at NOW once M is applied: the entry's, less
 * those M ends, and those M adds.  Units, or for patients the distinct
 * tags, *SEEN telling whether TAG is one of them.
 */
static uint64_t
count_key(const struct db_entry *e, const struct db_mods *m, const char *key,
    const char *tag, int64_t now, bool *seen)
{
	const char *tags[DIR_BUDGET_LEASES_MAX + 2 * DIR_BUDGET_ASKS_MAX];
	struct db_lease added[2 * DIR_BUDGET_ASKS_MAX];
	uint64_t sum = 0;
	size_t i, nt = 0;

	*seen = false;
	for (i = 0; i < e->nl; i++)
		if (!m->gone[i])
			count_one(&e->l[i], key, now, &sum, tags, &nt);
	for (i = 0; i < m->nadd; i++)
		if (db_lease_parse(
		        m->addv[i].bv_val, m->addv[i].bv_len, &added[i]) == 0)
			count_one(&added[i], key, now, &sum, tags, &nt);
	if (nt == 0)
		return sum;
	qsort(tags, nt, sizeof(tags[0]), cmp_tag);
	for (i = 0; i < nt; i++) {
		if (i == 0 || strcmp(tags[i], tags[i - 1]) != 0)
			sum++;
		if (tag != NULL && strcmp(tags[i], tag) == 0)
			*seen = true;
	}
	return sum;
}

/* Ends ASK's old lease, trimmed to what it spent.  Adds the trim to M. */
static int
trim_old(
    const struct db_entry *e, struct db_mods *m, const struct dir_budget_ask *a)
{
	long i = find_value(e, a->old);
	struct db_lease t;

	if (i < 0)
		return PG_OK; /* never granted, or cleared by an unlock */
	mods_del(m, e, (size_t)i);
	if (a->old_used == 0)
		return PG_OK;
	t = e->l[i];
	t.units = a->old_used < t.units ? a->old_used : t.units;
	/* Spent at OLD_LAST_MS at the latest: counts a window from then. */
	if (a->old_last_ms >= t.granted_ms && a->old_last_ms < t.expires_ms)
		t.expires_ms = a->old_last_ms + 1;
	return mods_add(m, &t);
}

/* Decides every ask of Q against E into M.  PG_OK or PG_ERR_*. */
static int
decide(const struct db_entry *e, struct db_req *q, struct db_mods *m)
{
	struct db_lease nl;
	size_t i, k, dropped = 0;
	int rc;

	for (k = 0; k < q->n; k++)
		if ((rc = trim_old(e, m, &q->a[k])) != PG_OK)
			return rc;
	for (i = 0; i < e->nl && dropped < DB_DROP_MAX; i++)
		if (!m->gone[i] && !db_lease_counts(&e->l[i], q->now_ms)) {
			mods_del(m, e, i);
			dropped++;
		}
	for (k = 0; k < q->n; k++) {
		struct dir_budget_ask *a = &q->a[k];
		bool patients, seen;
		uint64_t used;

		memset(&nl, 0, sizeof(nl));
		if (db_key_parse(a->key, &nl.window_ms, &nl.max, &patients) !=
		    0)
			return PG_ERR_INVAL;
		used = count_key(e, m, a->key, a->tag, q->now_ms, &seen);
		a->in_use = used;
		if (a->need == 0)
			continue; /* only ending OLD */
		if (patients)
			/* A patient counted already costs nothing more. */
			a->granted = seen ? 1 : db_grant(nl.max, used, 1, 1);
		else
			a->granted = db_grant(nl.max, used, a->need, a->want);
		if (a->granted == 0)
			continue;
		nl.patients = patients;
		snprintf(nl.tag, sizeof(nl.tag), "%s", patients ? a->tag : "");
		snprintf(nl.key, sizeof(nl.key), "%s", a->key);
		snprintf(nl.owner, sizeof(nl.owner), "%s", q->owner);
		nl.granted_ms = q->now_ms;
		nl.expires_ms = q->now_ms + q->lease_ms;
		nl.units = a->granted;
		if ((rc = mods_add(m, &nl)) != PG_OK)
			return rc;
		snprintf(
		    a->lease, sizeof(a->lease), "%s", m->addbuf[m->nadd - 1]);
		a->expires_ms = nl.expires_ms;
	}
	return PG_OK;
}

static void
new_serial(char out[DB_SERIAL])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(out, DB_SERIAL, r, sizeof(r));
}

/* The modify: leases out and in, the serial moved, asserting unlocked. */
static int
write_mods(struct dir_ldap *l, const struct db_entry *e, struct db_mods *m,
    bool assert_unlocked)
{
	char serial[DB_SERIAL], filter[128];
	struct berval sv = { 0, serial }, ocv = { strlen(DB_OC), S(DB_OC) };
	struct berval *svp[] = { &sv, NULL }, *ocp[] = { &ocv, NULL };
	LDAPMod md[5], *mods[6];
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL };
	size_t n = 0;
	int lrc;

	new_serial(serial);
	sv.bv_len = strlen(serial);
	memset(md, 0, sizeof(md));
#define MOD(op, type, vals)                                                    \
	do {                                                                   \
		md[n].mod_op = (op) | LDAP_MOD_BVALUES;                        \
		md[n].mod_type = S(type);                                      \
		md[n].mod_bvalues = (vals);                                    \
		mods[n] = &md[n];                                              \
		n++;                                                           \
	} while (0)
	if (!e->has_oc)
		MOD(LDAP_MOD_ADD, "objectClass", ocp);
	if (e->serial != NULL)
		MOD(LDAP_MOD_DELETE, DB_AT_SERIAL, e->serial);
	MOD(LDAP_MOD_ADD, DB_AT_SERIAL, svp);
	if (m->ndel > 0)
		MOD(LDAP_MOD_DELETE, DB_AT_LEASE, m->del);
	if (m->nadd > 0)
		MOD(LDAP_MOD_ADD, DB_AT_LEASE, m->add);
#undef MOD
	mods[n] = NULL;
	if (assert_unlocked && l->lock_attr != NULL) {
		if (dir_ldap_lock_filter(l, false, filter, sizeof(filter)) !=
		    PG_OK)
			return LDAP_PARAM_ERROR;
		lrc = ldap_create_assertion_control(l->ld, filter, 1, &ctrl);
		if (lrc != LDAP_SUCCESS)
			return lrc;
		ctrls[0] = ctrl;
	}
	lrc = ldap_modify_ext_s(l->ld, e->dn, mods, ctrls, NULL);
	ldap_control_free(ctrl);
	return lrc;
}

static bool
lost_race(int lrc)
{
	return lrc == LDAP_NO_SUCH_ATTRIBUTE ||
	    lrc == LDAP_TYPE_OR_VALUE_EXISTS ||
	    lrc == LDAP_CONSTRAINT_VIOLATION;
}

/* Waits for the first new lease of Q to reach another provider. */
static int
confirm(struct dir_ldap *l, const struct db_entry *e, struct db_req *q)
{
	char filter[DIR_LEASE_MAX * 3 + 32];
	struct berval bv, esc = { 0, NULL };
	size_t k;
	int n;

	for (k = 0; k < q->n && q->a[k].granted == 0; k++)
		;
	if (k == q->n)
		return PG_OK; /* nothing granted: nothing to spend */
	bv.bv_val = q->a[k].lease;
	bv.bv_len = strlen(q->a[k].lease);
	if (ldap_bv2escaped_filter_value(&bv, &esc) != 0)
		return PG_ERR_NOMEM;
	n = snprintf(
	    filter, sizeof(filter), "(%s=%s)", DB_AT_LEASE, esc.bv_val);
	ber_memfree(esc.bv_val);
	if (n < 0 || (size_t)n >= sizeof(filter))
		return PG_ERR_TOOBIG;
	return dir_ldap_confirm(l, e->dn, filter, q->why, q->whylen);
}

/* A grant, or a clear: read, decide, write; again after a lost race. */
static int
once(struct dir_ldap *l, struct db_req *q, bool *down)
{
	struct db_entry e;
	struct db_mods *m = NULL;
	int rc = PG_OK, lrc, t;

	for (t = 0; t < DB_TRIES; t++) {
		if ((rc = entry_read(l, q, &e, down)) != PG_OK)
			break;
		if (locked_entry(l, e.lock) && !q->clear) {
			snprintf(q->why, q->whylen,
			    "the directory marks the account locked");
			rc = PG_ERR_ACCT_LOCKED;
			break;
		}
		free(m);
		if ((m = calloc(1, sizeof(*m))) == NULL ||
		    (e.nl > 0 &&
		        (m->gone = calloc(e.nl, sizeof(bool))) == NULL)) {
			rc = PG_ERR_NOMEM;
			break;
		}
		if (q->clear) {
			size_t i;

			if (e.nl == 0)
				break;
			for (i = 0; i < e.nl && m->ndel < DB_DROP_MAX; i++)
				mods_del(m, &e, i);
			q->cleared += m->ndel;
		} else if ((rc = decide(&e, q, m)) != PG_OK) {
			break;
		}
		lrc = write_mods(l, &e, m, !q->clear);
		free(m->gone);
		m->gone = NULL;
		if (lrc == LDAP_SUCCESS && q->clear && e.nl > DB_DROP_MAX) {
			entry_free(&e);
			continue; /* more than one modify's worth */
		}
		if (lrc != LDAP_SUCCESS && q->clear)
			q->cleared -= m->ndel;
		if (lrc == LDAP_SUCCESS && !q->clear) {
			/* Spent only once it has reached another provider:
			 * one dying with it would let it be granted again.
			 * The leases of one modify replicate together. */
			rc = confirm(l, &e, q);
			break;
		}
		if (lrc == LDAP_SUCCESS)
			break;
		if (lrc == LDAP_ASSERTION_FAILED) {
			snprintf(q->why, q->whylen,
			    "the directory locked the account before the "
			    "lease was granted");
			rc = PG_ERR_ACCT_LOCKED;
			break;
		}
		if (!lost_race(lrc)) {
			rc = fail_op(l, lrc, "budget lease", down, q);
			break;
		}
		entry_free(&e);
		/* Another gateway's grant landed first: read it and decide
		 * again, after a short random pause so racers spread. */
		nanosleep(&(struct timespec){ 0,
		              (long)(randombytes_uniform(2000) + 200) * 1000 },
		    NULL);
	}
	if (t == DB_TRIES) {
		snprintf(q->why, q->whylen,
		    "lost %d races for the user's budget in a row: refused",
		    DB_TRIES);
		rc = PG_ERR_LOCKED;
	}
	if (m != NULL)
		free(m->gone);
	free(m);
	entry_free(&e);
	return rc;
}

static int
once_fn(struct dir_ldap *l, void *arg, bool *down)
{
	return once(l, arg, down);
}

static int
run(struct dir *d, struct db_req *q)
{
	struct dir_ldap *l = dir_ldap_of(d);

	if (l == NULL || l->lock_attr == NULL) {
		snprintf(q->why, q->whylen,
		    "a clinic-wide budget needs an LDAP directory with a "
		    "lockout attribute");
		return PG_ERR_CONFIG;
	}
	return dir_ldap_run(l, once_fn, q, q->why, q->whylen);
}

int
dir_budget_lease(struct dir *d, const char *user, const char *owner,
    int64_t now_ms, int64_t lease_ms, struct dir_budget_ask *a, size_t n,
    char *why, size_t whylen)
{
	struct db_req q = { .user = user,
		.owner = owner,
		.now_ms = now_ms,
		.lease_ms = lease_ms,
		.a = a,
		.n = n,
		.why = why,
		.whylen = whylen };
	int64_t w;
	uint64_t max;
	bool patients;
	size_t k;

	why[0] = '\0';
	if (user == NULL || user[0] == '\0' || strlen(user) > DIR_NAME_MAX ||
	    !db_owner_ok(owner) || n == 0 || n > DIR_BUDGET_ASKS_MAX ||
	    now_ms <= 0 || lease_ms <= 0 || lease_ms > INT64_MAX - now_ms) {
		snprintf(why, whylen, "invalid budget request");
		return PG_ERR_INVAL;
	}
	for (k = 0; k < n; k++) {
		a[k].granted = 0;
		a[k].in_use = 0;
		a[k].lease[0] = '\0';
		a[k].expires_ms = 0;
		if (db_key_parse(a[k].key, &w, &max, &patients) != 0 ||
		    a[k].want < a[k].need ||
		    (a[k].need == 0 && a[k].old[0] == '\0') ||
		    (patients && a[k].need > 1) ||
		    (patients && a[k].need > 0 &&
		        !db_tag_ok(a[k].tag, strlen(a[k].tag))) ||
		    (!patients && a[k].tag[0] != '\0')) {
			snprintf(why, whylen, "invalid budget request");
			return PG_ERR_INVAL;
		}
	}
	return run(d, &q);
}

int
dir_budget_clear(
    struct dir *d, const char *user, size_t *cleared, char *why, size_t whylen)
{
	struct db_req q = {
		.user = user, .clear = true, .why = why, .whylen = whylen
	};
	int rc;

	*cleared = 0;
	why[0] = '\0';
	if (user == NULL || user[0] == '\0' || strlen(user) > DIR_NAME_MAX) {
		snprintf(why, whylen, "invalid user name");
		return PG_ERR_INVAL;
	}
	rc = run(d, &q);
	*cleared = q.cleared;
	return rc;
}
