/*
 * test_dir_totp.c - the text forms of the directory TOTP store: the
 * watermark (an LDAP INTEGER, read strictly), GeneralizedTime, and the
 * wrong-code values and their count (a damaged value counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/dir/dir_totp_int.h"

static int
step(const char *s, int64_t *out)
{
	return dt_parse_step(s, strlen(s), out);
}

static void
t_parse_step(void **state)
{
	static const char *const bad[] = { "", "-", "+1", " 1", "1 ", "01",
		"-0", "00", "1a", "0x10", "9223372036854775808",
		"-9223372036854775809", "123456789012345678901", "1.5" };
	char buf[24];
	int64_t v = 42;
	size_t i;

	(void)state;
	assert_int_equal(step("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(step("59877626", &v), 0);
	assert_int_equal(v, 59877626);
	assert_int_equal(step("-1", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(step("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(step("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		assert_int_equal(step(bad[i], &v), -1);
		assert_int_equal(v, 42);
	}
	/* Not NUL-terminated: only LEN bytes count. */
	assert_int_equal(dt_parse_step("123xyz", 3, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(dt_parse_step(NULL, 0, &v), -1);
	dt_format_step(59877626, buf, sizeof(buf));
	assert_string_equal(buf, "59877626");
	dt_format_step(-1, buf, sizeof(buf));
	assert_int_equal(step(buf, &v), 0);
	assert_int_equal(v, -1);
}

static void
t_gentime(void **state)
{
	static const char *const bad[] = { "", "2026", "20261203200000",
		"20261203200000+0100", "2026120320000Z", "20261303200000Z",
		"20261200200000Z", "20261203240000Z", "20261203206000Z",
		"19691231235959Z", "2026120320000aZ", "20261203200000.Z",
		"20261203200000.5" };
	time_t t = 0;
	size_t i;

	(void)state;
	assert_int_equal(dir_gentime_prefix("19700101000000Z", 15, &t), 15);
	assert_int_equal(t, 0);
	assert_int_equal(dir_gentime_prefix("20261203200000Z", 15, &t), 15);
	assert_int_equal(t, 1796328000);
	/* ppolicy's form, with a fraction. */
	assert_int_equal(
	    dir_gentime_prefix("20261203200000.123456Z", 22, &t), 22);
	assert_int_equal(t, 1796328000);
	/* A failure value: the time, then a tag. */
	assert_int_equal(
	    dir_gentime_prefix("20261203200000Z#00ff", 20, &t), 15);
	assert_int_equal(t, 1796328000);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    dir_gentime_prefix(bad[i], strlen(bad[i]), &t), -1);
	assert_int_equal(dir_gentime_prefix(NULL, 15, &t), -1);
	/* The length bounds the read: a Z past it is not seen. */
	assert_int_equal(dir_gentime_prefix("20261203200000Z", 14, &t), -1);
}

static void
t_failure_value(void **state)
{
	char a[DT_FAIL_VALUE], b[DT_FAIL_VALUE];
	time_t t;
	size_t i;

	(void)state;
	assert_int_equal(dt_failure_value(1796328000, a, sizeof(a)), PG_OK);
	assert_int_equal(dt_failure_value(1796328000, b, sizeof(b)), PG_OK);
	assert_int_equal(strlen(a), 32);
	assert_true(strncmp(a, "20261203200000Z#", 16) == 0);
	for (i = 16; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	/* Two servers failing at the same second add different values. */
	assert_string_not_equal(a, b);
	assert_int_equal(dir_gentime_prefix(a, strlen(a), &t), 15);
	assert_int_equal(t, 1796328000);
	assert_int_equal(
	    dt_failure_value(1796328000, a, DT_FAIL_VALUE - 1), PG_ERR_INVAL);
	assert_int_equal(dt_failure_value(-5, a, sizeof(a)), PG_ERR_INVAL);
}

static struct berval
bv(const char *s)
{
	struct berval b = { strlen(s), DT_S(s) };

	return b;
}

static void
t_count(void **state)
{
	struct berval v[5];
	unsigned n = 99, run = 99;
	time_t now = 1796328000; /* 20261203200000Z */

	(void)state;
	dt_count_failures(NULL, 0, now, 900, &n, &run);
	assert_int_equal(n, 0);
	assert_int_equal(run, 0);
	v[0] = bv("20261203200000Z#01"); /* now */
	v[1] = bv("20261203194500Z#02"); /* 900 s ago: in the window */
	v[2] = bv("20261203194459Z#03"); /* 901 s ago: out */
	v[3] = bv("20200101000000Z#04"); /* long ago */
	v[4] = bv("20261203200500Z#05"); /* from the future: counts */
	dt_count_failures(v, 5, now, 900, &n, &run);
	assert_int_equal(n, 3);
	assert_int_equal(run, 5);
	/* A damaged value errs towards the lock: counted in both. */
	v[3] = bv("not a time");
	dt_count_failures(v, 5, now, 900, &n, &run);
	assert_int_equal(n, 4);
	assert_int_equal(run, 5);
	v[3] = bv("");
	dt_count_failures(v, 4, now, 60, &n, &run);
	assert_int_equal(n, 2);
	assert_int_equal(run, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_parse_step),
		cmocka_unit_test(t_gentime),
		cmocka_unit_test(t_failure_value),
		cmocka_unit_test(t_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
