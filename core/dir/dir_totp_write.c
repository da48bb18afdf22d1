/*
 * dir_totp_write.c - the directory TOTP store's writes other than a
 * login: enrollment (the secret reaches the directory only once the
 * user's first code verified, in one modify) and the clinic-wide count
 * of wrong codes.
 *
 * Wrong codes are one pgTOTPFailure value each, GeneralizedTime and a
 * random tag, in the user's entry: the model of ppolicy's pwdFailureTime,
 * in an attribute of our own because ppolicy deletes every
 * pwdFailureTime on a successful password bind (which would let a known
 * password wipe the count of wrong codes) and lets only the relax
 * control write it.  An add of a unique value needs no read-modify-write,
 * so racing servers never lose a count; each counts after its add and so
 * sees at least its own failure and every one before it.
 *
 * An enrollment token's record ("pgtoken1 EXPIRES HEX", made and checked
 * by core/totp) is a pgTOTPScratchCode value of the user's entry: the
 * attribute the bind DN alone may read and write, which needs no schema
 * of its own, and whose values are spent the way scratch codes are, by a
 * delete of exactly the value that only one server wins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/dir/dir.h"
#include "core/dir/dir_totp_int.h"

#define FAIL_TRIES 3

/* A digest of the token's secret and when it was written, or of none. */
static void
secret_fp(const struct dt_token *t, uint8_t fp[DT_FP_BYTES])
{
	crypto_generichash_state h;
	uint8_t tag = t->secret.bv_val != NULL;

	crypto_generichash_init(&h, NULL, 0, DT_FP_BYTES);
	crypto_generichash_update(&h, &tag, 1);
	if (tag) {
		crypto_generichash_update(
		    &h, (const uint8_t *)t->secret.bv_val, t->secret.bv_len);
		if (t->secret_time.bv_val != NULL)
			crypto_generichash_update(&h,
			    (const uint8_t *)t->secret_time.bv_val,
			    t->secret_time.bv_len);
	}
	crypto_generichash_final(&h, fp, DT_FP_BYTES);
	sodium_memzero(&h, sizeof(h));
}

static int
do_probe(struct dir_totp *s, struct op *o, bool *down)
{
	struct dt_token t;
	int64_t last;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK)
		secret_fp(&t, s->pending_fp);
	if (r == PG_OK) {
		r = dt_validate(s, &t, &last);
		if (r == PG_ERR_NOTFOUND || (r != PG_OK && o->reset))
			r = PG_OK; /* nothing, or something to replace */
		else if (r == PG_OK && !o->reset) {
			snprintf(s->why, sizeof(s->why), "already enrolled");
			r = PG_ERR_EXISTS;
		}
	}
	dt_token_free(&t);
	return r;
}

int
dir_totp_enroll(void *impl, const char *user, int reset, time_t now, int digits,
    int step_s, struct totp_enrollment **out)
{
	struct dir_totp *s = impl;
	struct op o = { .user = user, .now = now, .reset = reset };
	struct totp_enrollment *e = NULL;
	int r;

	*out = NULL;
	dt_drop_pending(s);
	if (digits != s->digits || step_s != s->step_s) {
		snprintf(s->why, sizeof(s->why),
		    "digits and step must be the configuration's: every "
		    "server checks codes with those");
		return PG_ERR_INVAL;
	}
	if ((r = dt_run(s, do_probe, &o)) != PG_OK)
		return r;
	if ((r = totp_enrollment_new(digits, step_s, &e)) != PG_OK)
		return r;
	s->pending = sodium_malloc(sizeof(*e));
	s->pending_user = strdup(user);
	if (s->pending == NULL || s->pending_user == NULL) {
		dt_drop_pending(s);
		totp_enrollment_free(e);
		return PG_ERR_NOMEM;
	}
	memcpy(s->pending, e, sizeof(*e));
	s->pending_reset = reset;
	*out = e;
	return PG_OK;
}

/* Object classes the token entry still needs, as ADD values. */
static size_t
missing_classes(const struct dt_token *t, struct berval *bv, size_t max)
{
	size_t n = 0;

	if (strcmp(t->token_dn, t->user_dn) != 0 || max < 3)
		return 0; /* another entry: provisioned with its classes */
	if (!t->oc_user)
		bv[n++] = dt_bv(DT_OC_USER);
	if (!t->oc_token)
		bv[n++] = dt_bv(DT_OC_TOKEN);
	if (!t->oc_state)
		bv[n++] = dt_bv(DT_OC_STATE);
	return n;
}

/* The one modify that makes the enrollment real. */
static int
write_token(
    struct dir_totp *s, const struct dt_token *t, struct op *o, bool exists)
{
	char nstep[24], when[32];
	struct berval ocv[3], sec, stepb, whenb, dnb;
	struct berval *ocp[4], *secp[] = { &sec, NULL };
	struct berval *stepp[] = { &stepb, NULL }, *whenp[] = { &whenb, NULL };
	struct berval *dnp[] = { &dnb, NULL }, *none[] = { NULL };
	struct berval *scp[TOTP_SCRATCH_VALUES_MAX + 1];
	LDAPMod m[7], *mods[8];
	size_t i, n = 0, noc;
	int r;

	if ((r = pg_utc(o->now, PG_TIME_LDAP, when, sizeof(when))) != PG_OK)
		return r;
	dt_format_step(o->step, nstep, sizeof(nstep));
	memset(m, 0, sizeof(m));
	sec.bv_val = (char *)s->pending->secret;
	sec.bv_len = sizeof(s->pending->secret);
	stepb = dt_bv(nstep);
	whenb = dt_bv(when);
	dnb = dt_bv(t->user_dn);
	for (i = 0; i < o->nscratch && i < TOTP_SCRATCH_VALUES_MAX; i++)
		scp[i] = (struct berval *)(uintptr_t)&o->scratch[i];
	scp[i] = NULL;
#define MOD(op, type, vals)                                                    \
	do {                                                                   \
		dt_mod(&m[n], (op), (type), (vals));                           \
		mods[n] = &m[n];                                               \
		n++;                                                           \
	} while (0)
	if ((noc = missing_classes(t, ocv, 3)) > 0) {
		for (i = 0; i < noc; i++)
			ocp[i] = &ocv[i];
		ocp[noc] = NULL;
		MOD(LDAP_MOD_ADD, "objectClass", ocp);
	}
	if (!t->named)
		MOD(LDAP_MOD_REPLACE, DT_AT_TOKEN, dnp);
	/* Without --reset an add: a token written meanwhile makes it fail. */
	MOD(exists ? LDAP_MOD_REPLACE : LDAP_MOD_ADD, DT_AT_SECRET, secp);
	MOD(LDAP_MOD_REPLACE, DT_AT_STEP, stepp);
	MOD(LDAP_MOD_REPLACE, DT_AT_SECRETT, whenp);
	MOD(LDAP_MOD_REPLACE, DT_AT_LASTLOGIN, none);
	MOD(LDAP_MOD_REPLACE, DT_AT_SCRATCH, scp);
#undef MOD
	mods[n] = NULL;
	/* A user's own enrollment (PAM): never while the directory holds
	 * the account locked. */
	return dt_modify(s, t->token_dn, mods, o->reset == TOTP_ENROLL_STAGED);
}

static int
do_write(struct dir_totp *s, struct op *o, bool *down)
{
	uint8_t fp[DT_FP_BYTES];
	struct dt_token t;
	int64_t last;
	bool exists;
	int r, lrc;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r != PG_OK)
		goto out;
	secret_fp(&t, fp);
	if (sodium_memcmp(fp, s->pending_fp, sizeof(fp)) != 0) {
		snprintf(s->why, sizeof(s->why),
		    "the secret was replaced since this enrollment began (an "
		    "admin's reset?); kept");
		r = PG_ERR_EXISTS;
		goto out;
	}
	if (o->reset == TOTP_ENROLL_STAGED && t.locked) {
		snprintf(s->why, sizeof(s->why),
		    "the directory locked the account since this enrollment "
		    "began");
		r = PG_ERR_ACCT_LOCKED;
		goto out;
	}
	r = dt_validate(s, &t, &last);
	exists = r != PG_ERR_NOTFOUND;
	if (exists && !o->reset) {
		snprintf(s->why, sizeof(s->why), "already enrolled");
		r = PG_ERR_EXISTS;
		goto out;
	}
	lrc = write_token(s, &t, o, exists);
	r = dt_once_result(s, lrc, "enrolled meanwhile elsewhere", down);
	if (r == PG_ERR_REPLAY)
		r = PG_ERR_EXISTS;
out:
	dt_token_free(&t);
	return r;
}

int
dir_totp_confirm(
    void *impl, const char *user, const char *code, time_t now, int window)
{
	struct dir_totp *s = impl;
	char vals[TOTP_SCRATCH_COUNT][TOTP_SCRATCH_VALUE_MAX];
	struct berval bv[TOTP_SCRATCH_COUNT];
	uint8_t salt[TOTP_SCRATCH_SALT_BYTES];
	struct op o = { .user = user, .now = now };
	int64_t m = TOTP_NO_STEP;
	int i, r;

	if (s->pending == NULL || strcmp(s->pending_user, user) != 0) {
		snprintf(s->why, sizeof(s->why),
		    "no enrollment of this user is pending here");
		return PG_ERR_INVAL;
	}
	r = totp_verify(s->pending->secret, sizeof(s->pending->secret), code,
	    now, s->step_s, window, s->digits, TOTP_NO_STEP, &m);
	if (r != PG_OK) {
		snprintf(s->why, sizeof(s->why), "the first code is wrong");
		return r;
	}
	randombytes_buf(salt, sizeof(salt));
	for (i = 0; i < TOTP_SCRATCH_COUNT && r == PG_OK; i++) {
		r = totp_scratch_value_make(
		    s->pending->scratch[i], salt, vals[i], sizeof(vals[i]));
		bv[i] = dt_bv(vals[i]);
	}
	if (r != PG_OK)
		return r;
	o.step = m;
	o.reset = s->pending_reset;
	o.scratch = bv;
	o.nscratch = TOTP_SCRATCH_COUNT;
	if ((r = dt_run(s, do_write, &o)) == PG_OK)
		dt_drop_pending(s);
	return r;
}

/* Adds one failure value to the user's entry (and the class it needs). */
static int
add_failure(struct dir_totp *s, const struct dt_token *t, time_t now)
{
	char val[DT_FAIL_VALUE];
	struct berval vb, ocb = dt_bv(DT_OC_STATE);
	struct berval *vp[] = { &vb, NULL }, *ocp[] = { &ocb, NULL };
	LDAPMod oc = { 0 }, add = { 0 }, *mods[3];
	size_t n = 0;
	int r;

	if ((r = dt_failure_value(now, val, sizeof(val))) != PG_OK)
		return LDAP_OTHER;
	vb = dt_bv(val);
	if (!t->oc_state) {
		dt_mod(&oc, LDAP_MOD_ADD, "objectClass", ocp);
		mods[n++] = &oc;
	}
	dt_mod(&add, LDAP_MOD_ADD, DT_AT_FAILURE, vp);
	mods[n++] = &add;
	mods[n] = NULL;
	return dt_modify(s, t->user_dn, mods, false);
}

static int
do_fail_add(struct dir_totp *s, struct op *o, bool *down)
{
	struct dt_token t;
	int i, r = PG_OK, lrc = LDAP_OTHER;

	/* A value or class added meanwhile by another server: read again. */
	for (i = 0; i < FAIL_TRIES; i++) {
		r = dt_token_read(
		    s->l, o->user, &t, down, s->why, sizeof(s->why));
		if (r == PG_OK)
			lrc = add_failure(s, &t, o->now);
		dt_token_free(&t);
		if (r != PG_OK || lrc != LDAP_TYPE_OR_VALUE_EXISTS)
			break;
	}
	if (r != PG_OK)
		return r;
	if (lrc != LDAP_SUCCESS) {
		if (lrc == LDAP_SERVER_DOWN)
			*down = true;
		dir_ldap_errmsg(
		    s->l, lrc, "counting a wrong code", s->why, sizeof(s->why));
		return lrc == LDAP_TYPE_OR_VALUE_EXISTS ? PG_ERR_DIR_BADANSWER
		                                        : dir_ldap_map(lrc);
	}
	/* Counted after the add: this failure and all before it. */
	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK)
		dt_count_failures(
		    t.fail, t.nfail, o->now, o->window_s, &o->n, &o->run);
	dt_token_free(&t);
	return r;
}

int
dir_totp_fail_add(void *impl, const char *user, time_t now, int window_s,
    unsigned *n, unsigned *run)
{
	struct op o = { .user = user, .now = now, .window_s = window_s };
	int r;

	*n = *run = 0;
	if ((r = dt_run(impl, do_fail_add, &o)) == PG_OK) {
		*n = o.n;
		*run = o.run;
	}
	return r;
}

static int
do_fail_reset(struct dir_totp *s, struct op *o, bool *down)
{
	struct berval *none[] = { NULL };
	LDAPMod del = { 0 }, *mods[] = { &del, NULL };
	struct dt_token t;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK && t.nfail > 0) {
		dt_mod(&del, LDAP_MOD_REPLACE, DT_AT_FAILURE, none);
		r = dt_once_result(
		    s, dt_modify(s, t.user_dn, mods, false), "", down);
		if (r == PG_ERR_REPLAY)
			r = PG_OK; /* already gone */
	}
	dt_token_free(&t);
	return r;
}

int
dir_totp_fail_reset(void *impl, const char *user)
{
	struct op o = { .user = user };

	return dt_run(impl, do_fail_reset, &o);
}

static int
do_token_put(struct dir_totp *s, struct op *o, bool *down)
{
	struct berval ocb = dt_bv(DT_OC_STATE), vb = dt_bv(o->value);
	struct berval *ocp[] = { &ocb, NULL }, *vp[] = { &vb, NULL };
	struct berval *oldp[TOTP_SCRATCH_VALUES_MAX + 1];
	LDAPMod m[3], *mods[4];
	struct dt_token t;
	size_t i, n = 0;
	int r;

	memset(m, 0, sizeof(m));
	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK && t.netok > TOTP_SCRATCH_VALUES_MAX) {
		snprintf(s->why, sizeof(s->why),
		    "over %d enrollment token values", TOTP_SCRATCH_VALUES_MAX);
		r = PG_ERR_CORRUPT;
	}
	if (r != PG_OK)
		goto out;
	if (!t.oc_state) {
		dt_mod(&m[n], LDAP_MOD_ADD, "objectClass", ocp);
		mods[n] = &m[n];
		n++;
	}
	if (t.netok > 0) { /* the earlier token, replaced */
		for (i = 0; i < t.netok; i++)
			oldp[i] = &t.etok[i];
		oldp[i] = NULL;
		dt_mod(&m[n], LDAP_MOD_DELETE, DT_AT_SCRATCH, oldp);
		mods[n] = &m[n];
		n++;
	}
	dt_mod(&m[n], LDAP_MOD_ADD, DT_AT_SCRATCH, vp);
	mods[n] = &m[n];
	mods[++n] = NULL;
	r = dt_once_result(s, dt_modify(s, t.user_dn, mods, false),
	    "another enrollment token was issued for this user meanwhile",
	    down);
out:
	dt_token_free(&t);
	return r;
}

int
dir_totp_token_put(void *impl, const char *user, const char *value)
{
	struct op o = { .user = user, .value = value };

	return dt_run(impl, do_token_put, &o);
}

static int
do_token_get(struct dir_totp *s, struct op *o, bool *down)
{
	struct dt_token t;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r != PG_OK)
		goto out;
	if (t.netok == 0) {
		snprintf(s->why, sizeof(s->why), "no enrollment token");
		r = PG_ERR_NOTFOUND;
	} else if (t.netok > 1) {
		snprintf(s->why, sizeof(s->why),
		    "%zu enrollment tokens in the user's entry: issue a new "
		    "one",
		    t.netok);
		r = PG_ERR_CORRUPT;
	} else if (t.etok[0].bv_len >= o->buflen ||
	    memchr(t.etok[0].bv_val, 0, t.etok[0].bv_len) != NULL) {
		snprintf(s->why, sizeof(s->why),
		    "the enrollment token value is not a token record");
		r = PG_ERR_CORRUPT;
	} else {
		memcpy(o->buf, t.etok[0].bv_val, t.etok[0].bv_len);
		o->buf[t.etok[0].bv_len] = '\0';
	}
out:
	dt_token_free(&t);
	return r;
}

int
dir_totp_token_get(void *impl, const char *user, char *buf, size_t len)
{
	struct op o = { .user = user, .buf = buf, .buflen = len };

	if (len == 0)
		return PG_ERR_INVAL;
	buf[0] = '\0';
	return dt_run(impl, do_token_get, &o);
}

/* Spent only once its removal has reached another provider, as a code. */
static int
confirm_gone(struct dir_totp *s, const char *dn, const char *value)
{
	char f[3 * TOTP_TOKEN_RECORD_MAX + 32];
	struct berval bv = dt_bv(value), esc = { 0, NULL };
	int n;

	if (ldap_bv2escaped_filter_value(&bv, &esc) != 0)
		return PG_ERR_NOMEM;
	n = snprintf(f, sizeof(f), "(!(%s=%s))", DT_AT_SCRATCH, esc.bv_val);
	ber_memfree(esc.bv_val);
	if (n < 0 || (size_t)n >= sizeof(f))
		return PG_ERR_TOOBIG;
	return dir_ldap_confirm(s->l, dn, f, s->why, sizeof(s->why));
}

static int
do_token_take(struct dir_totp *s, struct op *o, bool *down)
{
	struct berval vb = dt_bv(o->value), *vp[] = { &vb, NULL };
	LDAPMod del = { 0 }, *mods[] = { &del, NULL };
	const char *lost = "the enrollment token was spent on another server "
	                   "first";
	struct dt_token t;
	size_t i;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r != PG_OK)
		goto out;
	for (i = 0; i < t.netok; i++)
		if (t.etok[i].bv_len == vb.bv_len &&
		    memcmp(t.etok[i].bv_val, vb.bv_val, vb.bv_len) == 0)
			break;
	if (i == t.netok) {
		snprintf(s->why, sizeof(s->why), "%s", lost);
		r = PG_ERR_REPLAY;
		goto out;
	}
	dt_mod(&del, LDAP_MOD_DELETE, DT_AT_SCRATCH, vp);
	r = dt_once_result(s, dt_modify(s, t.user_dn, mods, true), lost, down);
	if (r == PG_OK)
		r = confirm_gone(s, t.user_dn, o->value);
out:
	dt_token_free(&t);
	return r;
}

int
dir_totp_token_take(void *impl, const char *user, const char *value)
{
	struct op o = { .user = user, .value = value };

	return dt_run(impl, do_token_take, &o);
}
