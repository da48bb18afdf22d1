/*
 * test_budget.c - unit tests of the gateway's leases on the clinic-wide
 * bulk budget (budget.h), against a scripted directory: what is asked and
 * when (first use, lease spent, lease expired, after an error), what a
 * refusal by a limit or a threshold spends, one lease per patient,
 * unserved opens, limits replaced, leases released or forgotten, and
 * bytes written later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "gateway/budget.h"

#define ASKS_MAX  8  /* asks one scripted call answers */
#define CALLS_MAX 16 /* calls one test makes */

/* One scripted answer to one ask: granted 0 refuses. */
struct reply {
	uint64_t granted, in_use;
	const char *lease;
	int64_t expires_ms;
};

/* One scripted call: RC != PG_OK fails it with WHY. */
struct answer {
	int rc;
	const char *why;
	struct reply r[ASKS_MAX];
};

/* What the budget asked in one call, before the answer was written. */
struct call {
	char user[64];
	int64_t now_ms;
	size_t n;
	struct dir_budget_ask a[ASKS_MAX];
};

struct fake {
	const struct answer *script;
	size_t nscript;
	struct call calls[CALLS_MAX];
	size_t ncalls;
};

static int
fake_lease(void *arg, const char *user, int64_t now_ms,
    struct dir_budget_ask *a, size_t n, char *why, size_t whylen)
{
	struct fake *f = arg;
	const struct answer *ans;
	struct call *c;
	size_t i;

	/* A call the test did not script is a failure of the test. */
	assert_true(f->ncalls < f->nscript);
	assert_true(f->ncalls < CALLS_MAX);
	assert_true(n >= 1 && n <= ASKS_MAX);
	c = &f->calls[f->ncalls];
	ans = &f->script[f->ncalls];
	f->ncalls++;
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->now_ms = now_ms;
	c->n = n;
	memcpy(c->a, a, n * sizeof(*a));
	if (ans->rc != PG_OK) {
		/* Like dir_budget_lease(): nothing granted on an error. */
		for (i = 0; i < n; i++) {
			a[i].granted = 0;
			a[i].lease[0] = '\0';
		}
		snprintf(why, whylen, "%s", ans->why);
		return ans->rc;
	}
	for (i = 0; i < n; i++) {
		a[i].granted = a[i].need > 0 ? ans->r[i].granted : 0;
		a[i].in_use = ans->r[i].in_use;
		snprintf(a[i].lease, sizeof(a[i].lease), "%s",
		    a[i].granted > 0 ? ans->r[i].lease : "");
		a[i].expires_ms = a[i].granted > 0 ? ans->r[i].expires_ms : 0;
	}
	return PG_OK;
}

static struct policy_limit
lim(enum policy_limit_kind k, enum policy_metric m, uint32_t w, uint64_t max)
{
	struct policy_limit l;

	memset(&l, 0, sizeof(l));
	l.kind = k;
	l.metric = m;
	l.window = w;
	l.max = max;
	l.rule_file = "t.policy";
	l.rule_line = 9;
	return l;
}

#define R POLICY_LIMIT_REFUSE
#define L POLICY_LIMIT_LOCKOUT
#define F POLICY_METRIC_FILES
#define B POLICY_METRIC_BYTES
#define P POLICY_METRIC_PATIENTS

#define FAR 1000000000 /* an expiry no test reaches */

static struct budget *
with(struct fake *f, const struct answer *script, size_t nscript,
    const struct policy_limit *v, size_t n)
{
	struct budget *b;

	memset(f, 0, sizeof(*f));
	f->script = script;
	f->nscript = nscript;
	b = budget_new(fake_lease, f);
	assert_non_null(b);
	assert_int_equal(budget_set_limits(b, v, n), PG_OK);
	return b;
}

/* One open served or not, of a 100-byte file of PATIENT, by "alice". */
static enum limiter_result
open1(struct budget *b, int64_t now, const char *patient, bool serve,
    struct limiter_hit *h)
{
	char why[128];

	return budget_charge(
	    b, "alice", now, 1, 100, patient, serve, h, why, sizeof(why));
}

/* Asserts ask A of call C: key, need, old lease and what was spent. */
static void
ask_is(const struct fake *f, size_t c, size_t a, const char *key, uint64_t need,
    const char *old, uint64_t old_used, int64_t old_last_ms)
{
	const struct dir_budget_ask *k;

	assert_true(c < f->ncalls);
	assert_true(a < f->calls[c].n);
	k = &f->calls[c].a[a];
	assert_string_equal(k->key, key);
	assert_int_equal(k->need, need);
	if (need > 0)
		assert_true(k->want >= need);
	else
		assert_int_equal(k->want, 0);
	assert_string_equal(k->old, old);
	assert_int_equal(k->old_used, old_used);
	assert_int_equal(k->old_last_ms, old_last_ms);
}

static void
test_lease_spent_then_renewed(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 3, 0, "L1", FAR } } },
		{ PG_OK, NULL, { { 2, 3, "L2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10) };
	struct fake f;
	struct budget *b = with(&f, script, 2, v, 1);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.calls[0].n, 1);
	assert_string_equal(f.calls[0].user, "alice");
	assert_int_equal(f.calls[0].now_ms, 1000);
	ask_is(&f, 0, 0, "limit:files:60:10", 1, "", 0, 0);
	/* Units 2 and 3 of the lease: no round trip. */
	assert_int_equal(open1(b, 2000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 3000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	/* Spent: the next open ends L1 as used up and asks again. */
	assert_int_equal(open1(b, 4000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "limit:files:60:10", 1, "L1", 3, 3000);
	budget_free(b);
	budget_free(NULL);
}

static void
test_expired_lease_asks_again(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 5, 0, "L1", 5000 } } },
		{ PG_OK, NULL, { { 5, 2, "L2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 40) };
	struct fake f;
	struct budget *b = with(&f, script, 2, v, 1);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 4999, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	/* At expires_ms the lease is over, with 3 of its 5 units left. */
	assert_int_equal(open1(b, 5000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	ask_is(&f, 1, 0, "limit:files:60:40", 1, "L1", 2, 4999);
	assert_true(f.calls[1].a[0].old_used < 5);
	budget_free(b);
}

static void
test_limit_refused_threshold_spent(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL,
		    { { 1, 0, "F1", FAR }, { 300, 0, "B1", FAR },
		        { 4, 0, "K1", FAR } } },
		{ PG_OK, NULL, { { 0, 10, NULL, 0 } } },
		{ PG_OK, NULL, { { 1, 9, "F2", FAR } } },
		{ PG_OK, NULL, { { 1, 9, "F3", FAR } } },
		{ PG_OK, NULL,
		    { { 1, 9, "F4", FAR }, { 100, 0, "B2", FAR },
		        { 4, 0, "K2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(R, B, 60, 1000),
		lim(L, F, 60, 20) };
	struct fake f;
	struct budget *b = with(&f, script, 5, v, 3);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.calls[0].n, 3);
	ask_is(&f, 0, 1, "limit:bytes:60:1000", 100, "", 0, 0);
	ask_is(&f, 0, 2, "lockout:files:60:20", 1, "", 0, 0);
	/* The files limit has no room: refused, by that limit. */
	assert_int_equal(open1(b, 2000, NULL, true, &h), LIMITER_REFUSE);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "limit:files:60:10", 1, "F1", 1, 1000);
	assert_int_equal(h.limit.kind, R);
	assert_int_equal(h.limit.metric, F);
	assert_int_equal(h.limit.window, 60);
	assert_int_equal(h.limit.max, 10);
	assert_int_equal(h.limit.rule_line, 9);
	assert_int_equal(h.value, 11);
	/* The refused lease is gone: the next ask ends none. */
	assert_int_equal(open1(b, 3000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(f.calls[2].n, 1);
	ask_is(&f, 2, 0, "limit:files:60:10", 1, "", 0, 0);
	/* Bytes 200 of 300 and threshold 4 of 4 here: had the refused
	 * open spent bytes, B1 would run out now. */
	assert_int_equal(open1(b, 4000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	assert_int_equal(f.calls[3].n, 1);
	ask_is(&f, 3, 0, "limit:files:60:10", 1, "F2", 1, 3000);
	/* The threshold counted the refused open: K1 is spent after four. */
	assert_int_equal(open1(b, 5000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 5);
	assert_int_equal(f.calls[4].n, 3);
	ask_is(&f, 4, 1, "limit:bytes:60:1000", 100, "B1", 300, 4000);
	ask_is(&f, 4, 2, "lockout:files:60:20", 1, "K1", 4, 4000);
	budget_free(b);
}

static void
test_threshold_refused_spends_nothing(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 3, 0, "R1", FAR }, { 1, 0, "K1", FAR } } },
		{ PG_OK, NULL, { { 0, 5, NULL, 0 } } },
		{ PG_OK, NULL, { { 2, 0, "K2", FAR } } },
		{ PG_OK, NULL, { { 3, 3, "R2", FAR }, { 2, 2, "K3", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(L, F, 60, 5) };
	struct fake f;
	struct budget *b = with(&f, script, 4, v, 2);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 2000, NULL, true, &h), LIMITER_LOCKOUT);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "lockout:files:60:5", 1, "K1", 1, 1000);
	assert_int_equal(h.limit.kind, L);
	assert_int_equal(h.limit.max, 5);
	assert_int_equal(h.value, 6);
	/* R1 was not spent by the locked open: 1 of 3 used. */
	assert_int_equal(open1(b, 3000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(f.calls[2].n, 1);
	ask_is(&f, 2, 0, "lockout:files:60:5", 1, "", 0, 0);
	assert_int_equal(open1(b, 4000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(open1(b, 5000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	ask_is(&f, 3, 0, "limit:files:60:10", 1, "R1", 3, 4000);
	ask_is(&f, 3, 1, "lockout:files:60:5", 1, "K2", 2, 4000);
	budget_free(b);
}

static void
test_lockout_beats_refuse(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 0, 10, NULL, 0 }, { 0, 7, NULL, 0 } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(L, F, 60, 7) };
	struct fake f;
	struct budget *b = with(&f, script, 1, v, 2);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_LOCKOUT);
	assert_int_equal(h.limit.kind, L);
	assert_int_equal(h.limit.max, 7);
	assert_int_equal(h.value, 8);
	budget_free(b);
}

static void
test_directory_error(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 2, 0, "L1", FAR } } },
		{ PG_ERR_DIR_UNAVAIL, "ldap: can't contact server", { { 0 } } },
		{ PG_OK, NULL, { { 2, 2, "L2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10) };
	struct fake f;
	struct budget *b = with(&f, script, 3, v, 1);
	struct limiter_hit h;
	char why[128];

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 2000, NULL, true, &h), LIMITER_OK);
	memset(why, 'x', sizeof(why));
	assert_int_equal(budget_charge(b, "alice", 3000, 1, 100, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_ERROR);
	assert_string_equal(why, "ldap: can't contact server");
	ask_is(&f, 1, 0, "limit:files:60:10", 1, "L1", 2, 2000);
	/* Nothing happened in the directory: L1 is still the one to end. */
	assert_int_equal(open1(b, 4000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	ask_is(&f, 2, 0, "limit:files:60:10", 1, "L1", 2, 2000);
	budget_free(b);
}

/* Asserts that ask A of call C is for PATIENT's tag. */
static void
tag_is(const struct fake *f, size_t c, size_t a, const char *patient)
{
	char want[DIR_BUDGET_TAG_MAX];

	assert_int_equal(dir_budget_tag(patient, want, sizeof(want)), PG_OK);
	assert_string_equal(f->calls[c].a[a].tag, want);
}

static void
test_patients_one_lease_each(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 1, 0, "P1", 5000 } } },
		{ PG_OK, NULL, { { 1, 1, "P2", FAR } } },
		{ PG_OK, NULL, { { 1, 2, "P1b", FAR } } },
		{ PG_OK, NULL, { { 0, 3, NULL, 0 } } },
	};
	struct policy_limit v[] = { lim(R, P, 60, 3) };
	struct fake f;
	struct budget *b = with(&f, script, 4, v, 1);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, "p1", true, &h), LIMITER_OK);
	ask_is(&f, 0, 0, "limit:patients:60:3", 1, "", 0, 0);
	tag_is(&f, 0, 0, "p1");
	/* While p1's lease lives, its files cost nothing. */
	assert_int_equal(open1(b, 2000, "p1", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	/* Another patient has a lease of its own. */
	assert_int_equal(open1(b, 3000, "p2", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	ask_is(&f, 1, 0, "limit:patients:60:3", 1, "", 0, 0);
	tag_is(&f, 1, 0, "p2");
	assert_int_equal(open1(b, 4000, "p1", true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 4500, "p2", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	/* No patient costs nothing. */
	assert_int_equal(open1(b, 4600, NULL, true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 4700, "", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	/* p1's lease expired: renewed, ending the old one at its last use. */
	assert_int_equal(open1(b, 6000, "p1", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	ask_is(&f, 2, 0, "limit:patients:60:3", 1, "P1", 1, 4000);
	tag_is(&f, 2, 0, "p1");
	/* A patient the clinic has no room for is refused. */
	assert_int_equal(open1(b, 7000, "p3", true, &h), LIMITER_REFUSE);
	assert_int_equal(h.value, 4);
	tag_is(&f, 3, 0, "p3");
	/* ...while p1 and p2 are still served from their leases. */
	assert_int_equal(open1(b, 7100, "p1", true, &h), LIMITER_OK);
	assert_int_equal(open1(b, 7200, "p2", true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	budget_free(b);
}

static void
test_unserved_counts_for_thresholds_only(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 3, 0, "K1", FAR } } },
		{ PG_OK, NULL, { { 2, 0, "R1", FAR } } },
		{ PG_OK, NULL, { { 5, 3, "K2", FAR } } },
		{ PG_OK, NULL, { { 2, 2, "R2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(L, F, 60, 20),
		lim(R, P, 60, 5) };
	struct fake f;
	struct budget *b = with(&f, script, 4, v, 3);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, false, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.calls[0].n, 1);
	ask_is(&f, 0, 0, "lockout:files:60:20", 1, "", 0, 0);
	assert_int_equal(open1(b, 2000, "p1", false, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(open1(b, 3000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "limit:files:60:10", 1, "", 0, 0);
	/* K1 spent by three opens, one served; R1 not by the unserved. */
	assert_int_equal(open1(b, 4000, NULL, false, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(f.calls[2].n, 1);
	ask_is(&f, 2, 0, "lockout:files:60:20", 1, "K1", 3, 3000);
	assert_int_equal(open1(b, 5000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(open1(b, 6000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	ask_is(&f, 3, 0, "limit:files:60:10", 1, "R1", 2, 5000);
	budget_free(b);
}

static void
test_set_limits(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 3, 0, "A1", FAR } } },
		{ PG_OK, NULL, { { 5, 0, "K1", FAR } } },
		{ PG_OK, NULL, { { 3, 3, "A2", FAR } } },
		{ PG_OK, NULL, { { 3, 0, "C1", FAR } } },
	};
	struct policy_limit one[] = { lim(R, F, 60, 10) };
	struct policy_limit two[] = { lim(R, F, 60, 10), lim(L, F, 60, 20) };
	struct policy_limit bad[] = { lim(R, F, 60, 10), lim(L, F, 60, 20) };
	struct policy_limit many[LIMITER_MAX_LIMITS + 1];
	struct policy_limit other[] = { lim(R, F, 60, 11) };
	struct fake f;
	struct budget *b = with(&f, script, 4, one, 1);
	struct limiter_hit h;
	size_t i;

	(void)state;
	assert_int_equal(open1(b, 1000, NULL, true, &h), LIMITER_OK);
	/* The files limit is kept with A1; only the new key asks. */
	assert_int_equal(budget_set_limits(b, two, 2), PG_OK);
	assert_int_equal(open1(b, 2000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "lockout:files:60:20", 1, "", 0, 0);
	/* Bad values are refused and change nothing. */
	bad[1].metric = (enum policy_metric)3;
	assert_int_equal(budget_set_limits(b, bad, 2), PG_ERR_INVAL);
	bad[1].metric = (enum policy_metric) - 1;
	assert_int_equal(budget_set_limits(b, bad, 2), PG_ERR_INVAL);
	bad[1].metric = F;
	bad[1].window = 0;
	assert_int_equal(budget_set_limits(b, bad, 2), PG_ERR_INVAL);
	for (i = 0; i < LIMITER_MAX_LIMITS + 1; i++)
		many[i] = lim(R, F, 60, 100 + i);
	assert_int_equal(
	    budget_set_limits(b, many, LIMITER_MAX_LIMITS + 1), PG_ERR_TOOBIG);
	assert_int_equal(open1(b, 3000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	/* A1 spent by opens 1-3, K1 by 2-3: both were still in force. */
	assert_int_equal(open1(b, 4000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(f.calls[2].n, 1);
	ask_is(&f, 2, 0, "limit:files:60:10", 1, "A1", 3, 3000);
	/* Another maximum is another key: a new lease, the old one left. */
	assert_int_equal(budget_set_limits(b, other, 1), PG_OK);
	assert_int_equal(open1(b, 5000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	assert_int_equal(f.calls[3].n, 1);
	ask_is(&f, 3, 0, "limit:files:60:11", 1, "", 0, 0);
	/* As many limits as a user may have is fine. */
	assert_int_equal(budget_set_limits(b, many, LIMITER_MAX_LIMITS), PG_OK);
	assert_int_equal(budget_set_limits(b, NULL, 0), PG_OK);
	assert_int_equal(open1(b, 6000, NULL, true, &h), LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	budget_free(b);
}

static void
test_release_and_reset(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL, { { 3, 0, "R1", FAR }, { 4, 0, "K1", FAR } } },
		{ PG_ERR_DIR_UNAVAIL, "down", { { 0 } } },
		{ PG_OK, NULL, { { 0 } } },
		{ PG_OK, NULL, { { 3, 0, "R2", FAR }, { 4, 0, "K2", FAR } } },
		{ PG_OK, NULL, { { 3, 0, "R3", FAR }, { 4, 0, "K3", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(R, B, 60, 1000),
		lim(L, F, 60, 20) };
	struct fake f;
	struct budget *b = with(&f, script, 5, v, 3);
	struct limiter_hit h;
	char why[64];
	size_t k;

	(void)state;
	/* Nothing held: nothing to end. */
	assert_int_equal(budget_release(b, "alice", 500), PG_OK);
	assert_int_equal(f.ncalls, 0);
	for (k = 0; k < 2; k++)
		assert_int_equal(budget_charge(b, "alice", 1000 + 1000 * k, 1,
		                     0, NULL, true, &h, why, sizeof(why)),
		    LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.calls[0].n, 2);
	/* A failed release keeps the leases to end later. */
	assert_int_equal(budget_release(b, "alice", 9000), PG_ERR_DIR_UNAVAIL);
	assert_int_equal(budget_release(b, "alice", 9500), PG_OK);
	assert_int_equal(f.ncalls, 3);
	for (k = 1; k < 3; k++) {
		assert_string_equal(f.calls[k].user, "alice");
		assert_int_equal(f.calls[k].n, 2);
		ask_is(&f, k, 0, "limit:files:60:10", 0, "R1", 2, 2000);
		ask_is(&f, k, 1, "lockout:files:60:20", 0, "K1", 2, 2000);
	}
	assert_int_equal(f.calls[2].now_ms, 9500);
	/* Released: nothing more to end, and the next open starts afresh. */
	assert_int_equal(budget_release(b, "alice", 9600), PG_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(budget_charge(b, "alice", 10000, 1, 0, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 4);
	ask_is(&f, 3, 0, "limit:files:60:10", 1, "", 0, 0);
	ask_is(&f, 3, 1, "lockout:files:60:20", 1, "", 0, 0);
	/* Reset forgets without a call; the next open asks afresh. */
	budget_reset(b);
	assert_int_equal(f.ncalls, 4);
	assert_int_equal(budget_charge(b, "alice", 11000, 1, 0, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 5);
	ask_is(&f, 4, 0, "limit:files:60:10", 1, "", 0, 0);
	ask_is(&f, 4, 1, "lockout:files:60:20", 1, "", 0, 0);
	budget_free(b);
}

static void
test_bytes_written_later(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL,
		    { { 600, 0, "B1", FAR }, { 600, 0, "K1", FAR } } },
		{ PG_OK, NULL,
		    { { 200, 600, "B2", FAR }, { 200, 600, "K2", FAR } } },
	};
	struct policy_limit v[] = { lim(R, F, 60, 10), lim(R, B, 60, 1000),
		lim(L, B, 60, 5000), lim(R, P, 60, 3), lim(L, F, 60, 20) };
	struct fake f;
	struct budget *b = with(&f, script, 2, v, 5);
	struct limiter_hit h;
	char why[64];

	(void)state;
	assert_int_equal(budget_charge(b, "alice", 1000, 0, 0, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 0);
	assert_int_equal(budget_charge(b, "alice", 1000, 0, 500, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.calls[0].n, 2);
	ask_is(&f, 0, 0, "limit:bytes:60:1000", 500, "", 0, 0);
	ask_is(&f, 0, 1, "lockout:bytes:60:5000", 500, "", 0, 0);
	assert_int_equal(budget_charge(b, "alice", 2000, 0, 100, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(budget_charge(b, "alice", 3000, 0, 100, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 2);
	ask_is(&f, 1, 0, "limit:bytes:60:1000", 100, "B1", 600, 2000);
	ask_is(&f, 1, 1, "lockout:bytes:60:5000", 100, "K1", 600, 2000);
	/* No new file, no new patient, even if one is named. */
	assert_int_equal(budget_charge(b, "alice", 4000, 0, 50, "p1", true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 2);
	budget_free(b);
}

static void
test_short_grant_fails_closed(void **state)
{
	static const struct answer script[] = {
		{ PG_OK, NULL,
		    { { 100, 0, "S1", FAR }, { 900, 0, "K1", FAR } } },
		{ PG_OK, NULL, { { 500, 0, "S2", 2000 } } },
		{ PG_OK, NULL, { { 500, 0, "S3", FAR } } },
	};
	struct policy_limit v[] = { lim(R, B, 60, 1000), lim(L, B, 60, 5000) };
	struct fake f;
	struct budget *b = with(&f, script, 3, v, 2);
	struct limiter_hit h;
	char why[128];

	(void)state;
	/* Fewer units than the open needs: it must not go uncounted. */
	assert_int_equal(budget_charge(b, "alice", 1000, 0, 500, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_ERROR);
	assert_true(why[0] != '\0');
	/* A lease already over when granted: the same. */
	assert_int_equal(budget_charge(b, "alice", 2000, 0, 500, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_ERROR);
	assert_true(why[0] != '\0');
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].n, 1);
	ask_is(&f, 1, 0, "limit:bytes:60:1000", 500, "S1", 0, 0);
	/* Both leases are still ended later, with nothing spent of them. */
	assert_int_equal(budget_charge(b, "alice", 3000, 0, 500, NULL, true, &h,
	                     why, sizeof(why)),
	    LIMITER_OK);
	assert_int_equal(f.ncalls, 3);
	assert_int_equal(f.calls[2].n, 1);
	ask_is(&f, 2, 0, "limit:bytes:60:1000", 500, "S2", 0, 0);
	budget_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lease_spent_then_renewed),
		cmocka_unit_test(test_expired_lease_asks_again),
		cmocka_unit_test(test_limit_refused_threshold_spent),
		cmocka_unit_test(test_threshold_refused_spends_nothing),
		cmocka_unit_test(test_lockout_beats_refuse),
		cmocka_unit_test(test_directory_error),
		cmocka_unit_test(test_patients_one_lease_each),
		cmocka_unit_test(test_unserved_counts_for_thresholds_only),
		cmocka_unit_test(test_set_limits),
		cmocka_unit_test(test_release_and_reset),
		cmocka_unit_test(test_bytes_written_later),
		cmocka_unit_test(test_short_grant_fails_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
