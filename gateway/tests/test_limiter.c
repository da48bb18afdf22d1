/*
 * test_limiter.c - unit tests of the gateway's sliding windows: the open
 * over a limit is refused and the one over a lockout threshold locks,
 * refused attempts count towards lockout but not towards limits, windows
 * slide exactly, distinct patients and bytes, several windows at once,
 * reset, and the caps that fail closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "gateway/limiter.h"

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
	l.rule_line = 7;
	return l;
}

#define R POLICY_LIMIT_REFUSE
#define L POLICY_LIMIT_LOCKOUT
#define F POLICY_METRIC_FILES
#define B POLICY_METRIC_BYTES
#define P POLICY_METRIC_PATIENTS

static struct limiter *
with(const struct policy_limit *v, size_t n)
{
	struct limiter *l = limiter_new();

	assert_non_null(l);
	assert_int_equal(limiter_set_limits(l, v, n), 0);
	return l;
}

static void
test_refuse_then_lock(void **state)
{
	struct policy_limit v[] = { lim(R, F, 60, 3), lim(L, F, 60, 5) };
	struct limiter *l = with(v, 2);
	struct limiter_hit h;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_int_equal(
		    limiter_charge(l, 1000 + i, 10, "P1", true, &h),
		    LIMITER_OK);
	/* Opens 4 and 5: over the limit, refused, but they count... */
	assert_int_equal(
	    limiter_charge(l, 1010, 10, "P1", true, &h), LIMITER_REFUSE);
	assert_int_equal(h.limit.kind, R);
	assert_int_equal(h.value, 4);
	assert_int_equal(
	    limiter_charge(l, 1011, 10, "P1", true, &h), LIMITER_REFUSE);
	/* ...so the 6th attempt crosses the lockout threshold. */
	assert_int_equal(
	    limiter_charge(l, 1012, 10, "P1", true, &h), LIMITER_LOCKOUT);
	assert_int_equal(h.limit.kind, L);
	assert_int_equal(h.value, 6);
	assert_int_equal(h.limit.rule_line, 7);
	limiter_free(l);
}

static void
test_denied_attempts_count_for_lockout_only(void **state)
{
	struct policy_limit v[] = { lim(R, F, 60, 2), lim(L, F, 60, 3) };
	struct limiter *l = with(v, 2);
	struct limiter_hit h;

	(void)state;
	/* Three opens the policy refused: not served, but attempted. */
	assert_int_equal(limiter_charge(l, 1, 1, NULL, false, &h), LIMITER_OK);
	assert_int_equal(limiter_charge(l, 2, 1, NULL, false, &h), LIMITER_OK);
	assert_int_equal(limiter_charge(l, 3, 1, NULL, false, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 4, 1, NULL, false, &h), LIMITER_LOCKOUT);
	limiter_free(l);
}

static void
test_window_slides(void **state)
{
	struct policy_limit v[] = { lim(R, F, 2, 2) };
	struct limiter *l = with(v, 1);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(
	    limiter_charge(l, 1000, 0, NULL, true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 1500, 0, NULL, true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 2999, 0, NULL, true, &h), LIMITER_REFUSE);
	/* At 3000 the open of 1000 leaves the 2 s window: room for one. */
	assert_int_equal(
	    limiter_charge(l, 3000, 0, NULL, true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 3001, 0, NULL, true, &h), LIMITER_REFUSE);
	assert_int_equal(
	    limiter_charge(l, 3500, 0, NULL, true, &h), LIMITER_OK);
	limiter_free(l);
}

static void
test_bytes_and_patients(void **state)
{
	struct policy_limit v[] = { lim(R, B, 60, 100), lim(R, P, 60, 2),
		lim(L, P, 60, 3) };
	struct limiter *l = with(v, 3);
	struct limiter_hit h;

	(void)state;
	assert_int_equal(limiter_charge(l, 1, 60, "A", true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 2, 41, "A", true, &h), LIMITER_REFUSE);
	assert_int_equal(h.limit.metric, B);
	assert_int_equal(h.value, 101);
	assert_int_equal(limiter_charge(l, 3, 40, "A", true, &h), LIMITER_OK);
	assert_int_equal(limiter_charge(l, 4, 0, "B", true, &h), LIMITER_OK);
	assert_int_equal(limiter_charge(l, 5, 0, "A", true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 6, 0, "C", true, &h), LIMITER_REFUSE);
	assert_int_equal(h.limit.metric, P);
	assert_int_equal(h.value, 3);
	/* C was attempted: a 4th patient crosses the lockout. */
	assert_int_equal(
	    limiter_charge(l, 7, 0, "D", true, &h), LIMITER_LOCKOUT);
	limiter_free(l);
}

static void
test_several_windows_and_usage(void **state)
{
	struct policy_limit v[] = { lim(R, F, 1, 2), lim(R, F, 3600, 4) };
	struct limiter *l = with(v, 2);
	struct limiter_usage u[4];
	struct limiter_hit h;
	int64_t t = 10;
	int served = 0, i;

	(void)state;
	/* A drip of one open every 600 ms never fills the 1 s window... */
	for (i = 0; i < 10; i++, t += 600)
		if (limiter_charge(l, t, 0, NULL, true, &h) == LIMITER_OK)
			served++;
	/* ...and the hour allows exactly 4. */
	assert_int_equal(served, 4);
	assert_int_equal(h.limit.window, 3600);
	assert_int_equal(limiter_usage(l, t, u, 4), 2);
	assert_int_equal(u[1].value, 4);
	limiter_free(l);
}

static void
test_reset_and_no_limits(void **state)
{
	struct policy_limit v[] = { lim(L, F, 60, 1) };
	struct limiter *l = with(v, 1);
	struct limiter_hit h;
	char buf[64];

	(void)state;
	assert_int_equal(limiter_charge(l, 1, 0, NULL, true, &h), LIMITER_OK);
	assert_int_equal(
	    limiter_charge(l, 2, 0, NULL, true, &h), LIMITER_LOCKOUT);
	limiter_reset(l);
	assert_int_equal(limiter_charge(l, 3, 0, NULL, true, &h), LIMITER_OK);
	assert_string_equal(
	    limiter_describe(&v[0], buf, sizeof(buf)), "lockout files 1/60s");
	/* No limits (`limit ROLE none`): nothing is recorded. */
	assert_int_equal(limiter_set_limits(l, NULL, 0), 0);
	assert_int_equal(limiter_charge(l, 4, 0, NULL, true, &h), LIMITER_OK);
	assert_int_equal(limiter_nlimits(l), 0);
	limiter_free(l);
	limiter_free(NULL);
}

static void
test_caps_fail_closed(void **state)
{
	struct policy_limit v[] = { lim(R, F, 3600, 1000000000) };
	struct policy_limit many[LIMITER_MAX_LIMITS + 1];
	struct limiter *l = with(v, 1);
	struct limiter_hit h;
	enum limiter_result r = LIMITER_OK;
	int64_t i;

	(void)state;
	memset(many, 0, sizeof(many));
	assert_int_equal(
	    limiter_set_limits(l, many, LIMITER_MAX_LIMITS + 1), PG_ERR_TOOBIG);
	for (i = 0; i <= LIMITER_MAX_EVENTS && r == LIMITER_OK; i++)
		r = limiter_charge(l, 1 + i / 100, 0, NULL, true, &h);
	assert_int_equal(r, LIMITER_ERROR);
	assert_int_equal(i, LIMITER_MAX_EVENTS + 1);
	limiter_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuse_then_lock),
		cmocka_unit_test(test_denied_attempts_count_for_lockout_only),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_bytes_and_patients),
		cmocka_unit_test(test_several_windows_and_usage),
		cmocka_unit_test(test_reset_and_no_limits),
		cmocka_unit_test(test_caps_fail_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
