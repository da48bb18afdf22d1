/*
 * test_careteam.c - the care-team file parser: accepted syntax, sorted
 * answers per user, and every malformed input refused with file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

static char err[DIR_ERR_MAX];

static int
parse(const char *text, struct dir_careteam **ct)
{
	return dir_careteam_parse(
	    "ct", text, strlen(text), ct, err, sizeof(err));
}

/* USER's patients joined with spaces, in a static buffer. */
static const char *
patients(const struct dir_careteam *ct, const char *user)
{
	static char buf[1024];
	struct dir_strv sv = { .max = 100 };
	size_t i, k = 0;

	buf[0] = '\0';
	assert_int_equal(dir_careteam_patients(ct, user, &sv), PG_OK);
	for (i = 0; i < sv.n && k < sizeof(buf); i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s",
		    i > 0 ? " " : "", sv.v[i]);
	dir_strv_free(&sv);
	return buf;
}

static void
test_good_file(void **state)
{
	struct dir_careteam *ct = NULL;

	(void)state;
	assert_int_equal(parse("# comment\n"
	                       "\n"
	                       "P3: alice bob   # trailing\n"
	                       "  P1 :\talice\r\n"
	                       "P2:carol\n"
	                       "P0:\n"
	                       "P9: alice",
	                     &ct),
	    PG_OK);
	assert_string_equal(err, "");
	assert_int_equal(dir_careteam_count(ct), 5);
	assert_string_equal(patients(ct, "alice"), "P1 P3 P9");
	assert_string_equal(patients(ct, "bob"), "P3");
	assert_string_equal(patients(ct, "carol"), "P2");
	assert_string_equal(patients(ct, "dave"), "");
	assert_string_equal(patients(ct, "alic"), "");
	assert_string_equal(patients(ct, "alicee"), "");
	dir_careteam_free(ct);
}

static void
test_empty_file(void **state)
{
	struct dir_careteam *ct = NULL;

	(void)state;
	assert_int_equal(parse("", &ct), PG_OK);
	assert_non_null(ct);
	assert_string_equal(patients(ct, "alice"), "");
	dir_careteam_free(ct);
	dir_careteam_free(NULL);
}

static void
expect_error(const char *text, int rc, const char *msg)
{
	struct dir_careteam *ct = (struct dir_careteam *)&err;

	assert_int_equal(parse(text, &ct), rc);
	assert_null(ct);
	if (strstr(err, msg) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, msg);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("P1: a\nP2 b\n", PG_ERR_PARSE, "ct:2: expected");
	expect_error("P/1: a\n", PG_ERR_PARSE, "ct:1: invalid patient id");
	expect_error("..: a\n", PG_ERR_PARSE, "ct:1: invalid patient id");
	expect_error(": a\n", PG_ERR_PARSE, "ct:1: invalid patient id");
	expect_error("P 1: a\n", PG_ERR_PARSE, "ct:1: invalid patient id");
	expect_error("P1: a*\n", PG_ERR_PARSE, "ct:1: invalid user name");
	expect_error("P1: -rf\n", PG_ERR_PARSE, "ct:1: invalid user name");
	expect_error("P1: a:b\n", PG_ERR_PARSE, "ct:1: invalid user name");
	expect_error("P1: a\n\nP1: b\n", PG_ERR_PARSE,
	    "ct:3: patient P1 already listed on line 1");
}

static void
test_nul_and_limits(void **state)
{
	struct dir_careteam *ct = NULL;
	static char big[DIR_CARETEAM_LINE_MAX + 64];
	size_t i, k;

	(void)state;
	assert_int_equal(
	    dir_careteam_parse("ct", "P1: a\0b\n", 8, &ct, err, sizeof(err)),
	    PG_ERR_PARSE);
	assert_non_null(strstr(err, "ct:1: NUL"));
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "P1: ", 4);
	assert_int_equal(parse(big, &ct), PG_ERR_TOOBIG);
	assert_non_null(strstr(err, "ct:1: line over"));
	k = (size_t)snprintf(big, sizeof(big), "P1:");
	for (i = 0; i <= DIR_CARETEAM_MEMBERS_MAX && k + 8 < sizeof(big); i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, " u%zu", i);
	assert_int_equal(parse(big, &ct), PG_ERR_TOOBIG);
	assert_non_null(strstr(err, "members"));
	assert_int_equal(
	    dir_careteam_parse("ct", big, (size_t)DIR_CARETEAM_FILE_MAX + 1,
	        &ct, err, sizeof(err)),
	    PG_ERR_TOOBIG);
}

static void
test_patient_ids(void **state)
{
	(void)state;
	assert_true(dir_valid_patient_id("P000001", 7));
	assert_true(dir_valid_patient_id("a.b-c_d", 7));
	assert_false(dir_valid_patient_id("", 0));
	assert_false(dir_valid_patient_id(".", 1));
	assert_false(dir_valid_patient_id("..", 2));
	assert_false(dir_valid_patient_id("a/b", 3));
	assert_false(dir_valid_patient_id("a b", 3));
	assert_false(dir_valid_patient_id("a\nb", 3));
	assert_false(dir_valid_patient_id("a\0b", 3));
	assert_false(dir_valid_patient_id("\x80", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_and_limits),
		cmocka_unit_test(test_patient_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
