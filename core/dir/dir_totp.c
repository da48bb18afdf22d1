/*
 * dir_totp.c - the TOTP store in the directory ([totp] store = directory):
 * the secret, the replay watermark and hashed scratch codes in the token
 * the user's entry names (slapo-otp's oath* schema), wrong codes in the
 * user's entry (pgTOTPFailure, photoguard-schema.ldif).  Every server of
 * a clinic reads and writes the same entry, and every change that must
 * happen once is one atomic modify whose delete fails on the loser:
 *
 *   a code:    delete oathTOTPLastTimeStep OLD, add NEW (OLD < NEW)
 *   a scratch: delete pgTOTPScratchCode VALUE
 *   a failure: add pgTOTPFailure UNIQUE-VALUE (counted after the add)
 *
 * so of N servers racing with one code exactly one succeeds; the others
 * get noSuchAttribute and refuse it as a replay.  A code is accepted only
 * while the lockout attribute is absent, checked by the same modify (an
 * RFC 4528 assertion) when the token is the user's entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/dir/dir.h"
#include "core/dir/dir_totp_int.h"

/*
 * Runs FN connected, under the connection's lock, once more on a fresh
 * connection if the server went away.  Each FN reads the entry afresh,
 * so a second run never repeats a change blindly.
 */
/* What dt_run() hands dir_ldap_run(). */
struct dt_call {
	struct dir_totp *s;
	dt_fn fn;
	struct op *o;
};

static int
dt_call(struct dir_ldap *l, void *arg, bool *down)
{
	struct dt_call *c = arg;

	(void)l;
	return c->fn(c->s, c->o, down);
}

int
dt_run(struct dir_totp *s, dt_fn fn, struct op *o)
{
	struct dt_call c = { s, fn, o };

	return dir_ldap_run(s->l, dt_call, &c, s->why, sizeof(s->why));
}

static bool
enrolled(const struct dt_token *t)
{
	return t->named || t->oc_user || t->secret.bv_val != NULL;
}

/* See dir_totp_int.h. */
int
dt_validate(struct dir_totp *s, const struct dt_token *t, int64_t *step)
{
	*step = TOTP_NO_STEP;
	if (!enrolled(t))
		return PG_ERR_NOTFOUND;
	if (t->secret.bv_val == NULL) {
		snprintf(s->why, sizeof(s->why),
		    "the user's TOTP token has no oathSecret the bind DN may "
		    "read (missing, or hidden by an ACL)");
		return PG_ERR_AUTH;
	}
	if (t->secret.bv_len < DT_SECRET_MIN ||
	    t->secret.bv_len > DT_SECRET_MAX) {
		snprintf(s->why, sizeof(s->why),
		    "the user's oathSecret is not a valid secret (%zu bytes, "
		    "%d to %d expected)",
		    (size_t)t->secret.bv_len, DT_SECRET_MIN, DT_SECRET_MAX);
		return PG_ERR_CORRUPT;
	}
	if (t->step.bv_val != NULL &&
	    dt_parse_step(t->step.bv_val, t->step.bv_len, step) != 0) {
		snprintf(s->why, sizeof(s->why),
		    "the user's oathTOTPLastTimeStep is not an integer");
		return PG_ERR_CORRUPT;
	}
	return PG_OK;
}

/* Maps the outcome LRC of a modify that must happen once. */
int
dt_once_result(struct dir_totp *s, int lrc, const char *lost, bool *down)
{
	switch (lrc) {
	case LDAP_SUCCESS:
		return PG_OK;
	case LDAP_NO_SUCH_ATTRIBUTE:
	case LDAP_TYPE_OR_VALUE_EXISTS:
	case LDAP_CONSTRAINT_VIOLATION:
		snprintf(s->why, sizeof(s->why), "%s", lost);
		return PG_ERR_REPLAY;
	case LDAP_ASSERTION_FAILED:
		snprintf(s->why, sizeof(s->why),
		    "the directory locked the account before the code was "
		    "taken");
		return PG_ERR_ACCT_LOCKED;
	default:
		if (lrc == LDAP_SERVER_DOWN)
			*down = true;
		dir_ldap_errmsg(
		    s->l, lrc, "TOTP update", s->why, sizeof(s->why));
		return dir_ldap_map(lrc);
	}
}

/* MODS on DN, asserting (when ASSERT_UNLOCKED) the lockout is absent. */
int
dt_modify(
    struct dir_totp *s, const char *dn, LDAPMod **mods, bool assert_unlocked)
{
	char filter[128];
	LDAPControl *ctrl = NULL, *ctrls[2] = { NULL, NULL };
	int lrc;

	if (assert_unlocked && s->l->lock_attr != NULL) {
		if (dir_ldap_lock_filter(s->l, false, filter, sizeof(filter)) !=
		    PG_OK)
			return LDAP_PARAM_ERROR;
		lrc = ldap_create_assertion_control(s->l->ld, filter, 1, &ctrl);
		if (lrc != LDAP_SUCCESS)
			return lrc;
		ctrls[0] = ctrl;
	}
	lrc = ldap_modify_ext_s(s->l->ld, dn, mods, ctrls, NULL);
	ldap_control_free(ctrl);
	return lrc;
}

void
dt_mod(LDAPMod *m, int op, const char *type, struct berval **vals)
{
	m->mod_op = op | LDAP_MOD_BVALUES;
	m->mod_type = DT_S(type);
	m->mod_bvalues = vals;
}

struct berval
dt_bv(const char *str)
{
	struct berval b = { strlen(str), (char *)(uintptr_t)str };

	return b;
}

/* A good TOTP code: move the watermark from what was read to STEP. */
static int
take_code(struct dir_totp *s, const struct dt_token *t, int64_t step,
    time_t now, bool *down)
{
	char nstep[24], when[32];
	struct berval old = t->step, nb, wb;
	struct berval *oldv[] = { &old, NULL }, *newv[] = { &nb, NULL };
	struct berval *whenv[] = { &wb, NULL };
	LDAPMod del = { 0 }, add = { 0 }, last = { 0 };
	LDAPMod *mods[4];
	size_t n = 0;
	int r;

	dt_format_step(step, nstep, sizeof(nstep));
	if ((r = pg_utc(now, PG_TIME_LDAP, when, sizeof(when))) != PG_OK)
		return r;
	nb = dt_bv(nstep);
	wb = dt_bv(when);
	if (t->step.bv_val != NULL) {
		dt_mod(&del, LDAP_MOD_DELETE, DT_AT_STEP, oldv);
		mods[n++] = &del;
	}
	dt_mod(&add, LDAP_MOD_ADD, DT_AT_STEP, newv);
	mods[n++] = &add;
	dt_mod(&last, LDAP_MOD_REPLACE, DT_AT_LASTLOGIN, whenv);
	mods[n++] = &last;
	mods[n] = NULL;
	r = dt_once_result(s,
	    dt_modify(
	        s, t->token_dn, mods, strcmp(t->token_dn, t->user_dn) == 0),
	    "another server accepted a code of this user first (replay)", down);
	/* Accepted only once the watermark has reached the other provider:
	 * a provider dying with it would let the code in again. */
	if (r == PG_OK) {
		char f[64];

		snprintf(f, sizeof(f), "(%s>=%s)", DT_AT_STEP, nstep);
		r = dir_ldap_confirm(
		    s->l, t->token_dn, f, s->why, sizeof(s->why));
	}
	return r;
}

/* A good scratch code: remove exactly its value. */
static int
take_scratch(struct dir_totp *s, const struct dt_token *t, size_t hit,
    time_t now, bool *down)
{
	char when[32];
	struct berval v = t->scratch[hit], wb;
	struct berval *vv[] = { &v, NULL }, *whenv[] = { &wb, NULL };
	LDAPMod del = { 0 }, last = { 0 };
	LDAPMod *mods[] = { &del, &last, NULL };
	int r;

	if ((r = pg_utc(now, PG_TIME_LDAP, when, sizeof(when))) != PG_OK)
		return r;
	wb = dt_bv(when);
	dt_mod(&del, LDAP_MOD_DELETE, DT_AT_SCRATCH, vv);
	dt_mod(&last, LDAP_MOD_REPLACE, DT_AT_LASTLOGIN, whenv);
	return dt_once_result(s,
	    dt_modify(
	        s, t->token_dn, mods, strcmp(t->token_dn, t->user_dn) == 0),
	    "this scratch code was spent on another server first", down);
}

static int
scratch_find(
    struct dir_totp *s, const struct dt_token *t, const char *code, size_t *hit)
{
	struct totp_value vals[TOTP_SCRATCH_VALUES_MAX];
	size_t i;
	int r;

	if (t->nscratch > TOTP_SCRATCH_VALUES_MAX) {
		snprintf(s->why, sizeof(s->why),
		    "over %d pgTOTPScratchCode "
		    "values",
		    TOTP_SCRATCH_VALUES_MAX);
		return PG_ERR_CORRUPT;
	}
	for (i = 0; i < t->nscratch; i++) {
		vals[i].p = t->scratch[i].bv_val;
		vals[i].len = t->scratch[i].bv_len;
	}
	r = totp_scratch_value_find(code, vals, t->nscratch, hit);
	if (r == PG_ERR_CORRUPT)
		snprintf(s->why, sizeof(s->why),
		    "a pgTOTPScratchCode value does not parse");
	else if (r == PG_ERR_BADCODE)
		snprintf(s->why, sizeof(s->why),
		    "neither a valid code nor an unused scratch code");
	return r;
}

static int
do_check(struct dir_totp *s, struct op *o, bool *down)
{
	struct dt_token t;
	int64_t last, m = TOTP_NO_STEP;
	size_t hit = 0;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK)
		r = dt_validate(s, &t, &last);
	if (r == PG_OK && t.locked) {
		snprintf(s->why, sizeof(s->why),
		    "the directory marks the account locked");
		r = PG_ERR_ACCT_LOCKED;
	}
	if (r != PG_OK)
		goto out;
	if (totp_code_format_ok(o->code, s->digits)) {
		r = totp_verify((const uint8_t *)t.secret.bv_val,
		    t.secret.bv_len, o->code, o->now, s->step_s, o->window,
		    s->digits, last, &m);
		if (r == PG_ERR_BADCODE)
			snprintf(s->why, sizeof(s->why), "wrong code");
		else if (r == PG_ERR_REPLAY)
			snprintf(s->why, sizeof(s->why),
			    "code already used (replay)");
		if (r == PG_OK &&
		    (r = take_code(s, &t, m, o->now, down)) == PG_OK)
			o->how = TOTP_BY_CODE;
	} else if ((r = scratch_find(s, &t, o->code, &hit)) == PG_OK &&
	    (r = take_scratch(s, &t, hit, o->now, down)) == PG_OK) {
		o->how = TOTP_BY_SCRATCH;
	}
out:
	dt_token_free(&t);
	return r;
}

static int
op_check(void *impl, const char *user, const char *code, time_t now, int window,
    enum totp_method *how)
{
	struct op o = {
		.user = user, .code = code, .now = now, .window = window
	};
	int r;

	r = dt_run(impl, do_check, &o);
	if (r == PG_OK && how != NULL)
		*how = o.how;
	return r;
}

static int
do_status(struct dir_totp *s, struct op *o, bool *down)
{
	struct totp_status *st = o->status;
	struct dt_token t;
	time_t when;
	int64_t last;
	int r;

	r = dt_token_read(s->l, o->user, &t, down, s->why, sizeof(s->why));
	if (r == PG_OK)
		r = dt_validate(s, &t, &last);
	if (r == PG_ERR_NOTFOUND && t.user_dn != NULL)
		r = PG_OK; /* a user without a token: not enrolled */
	else if (r == PG_OK)
		st->state = TOTP_STATE_ACTIVE;
	if (r != PG_OK)
		goto out;
	st->locked = t.locked;
	st->digits = s->digits;
	st->step_s = s->step_s;
	if (st->state == TOTP_STATE_ACTIVE) {
		st->last_step = last;
		st->scratch_left = (int)t.nscratch;
		if (t.secret_time.bv_val != NULL &&
		    dir_gentime_prefix(
		        t.secret_time.bv_val, t.secret_time.bv_len, &when) > 0)
			st->enrolled_at = (int64_t)when;
		if (t.last_login.bv_val != NULL &&
		    dir_gentime_prefix(
		        t.last_login.bv_val, t.last_login.bv_len, &when) > 0)
			st->last_used = (int64_t)when;
	}
out:
	dt_token_free(&t);
	return r;
}

static int
op_status(void *impl, const char *user, struct totp_status *out)
{
	struct op o = { .user = user, .status = out };

	return dt_run(impl, do_status, &o);
}

static const char *
op_why(const void *impl)
{
	const struct dir_totp *s = impl;

	return s->why[0] != '\0' ? s->why : "no detail";
}

void
dt_drop_pending(struct dir_totp *s)
{
	totp_enrollment_free(s->pending);
	free(s->pending_user);
	s->pending = NULL;
	s->pending_user = NULL;
	sodium_memzero(s->pending_fp, sizeof(s->pending_fp));
}

static void
op_free(void *impl)
{
	struct dir_totp *s = impl;

	if (s == NULL)
		return;
	dt_drop_pending(s);
	dir_ldap_free(s->l);
	free(s);
}

static const struct totp_store_ops ops = {
	.enroll = dir_totp_enroll,
	.confirm = dir_totp_confirm,
	.check = op_check,
	.status = op_status,
	.fail_add = dir_totp_fail_add,
	.fail_reset = dir_totp_fail_reset,
	.why = op_why,
	.free = op_free,
	.token_put = dir_totp_token_put,
	.token_get = dir_totp_token_get,
	.token_take = dir_totp_token_take,
};

int
dir_totp_store_open(const struct pg_config *cfg, struct totp_store **out)
{
	struct dir_totp *s;
	int r;

	*out = NULL;
	if (cfg == NULL || cfg->dir_backend != PG_DIR_LDAP ||
	    cfg->dir_lockout_attr == NULL)
		return PG_ERR_CONFIG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PG_ERR_NOMEM;
	s->digits = cfg->totp_digits;
	s->step_s = cfg->totp_step_s;
	r = dir_ldap_open(cfg, &s->l, s->why, sizeof(s->why));
	if (r == PG_OK && (r = totp_store_wrap(&ops, s, out)) == PG_OK)
		return PG_OK;
	op_free(s);
	return r;
}
