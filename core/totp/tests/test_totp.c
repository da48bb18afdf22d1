/*
 * test_totp.c - the TOTP check against the published vectors (RFC 6238
 * Appendix B, SHA1; RFC 4226 Appendix D), its window, replay and clock
 * handling, code format validation, base32 and file name encoding, and
 * the otpauth URI at its longest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/totp/totp.h"

static const uint8_t rfc_seed[] = "12345678901234567890";
#define SEED_LEN 20

static void
rfc6238_sha1_vectors(void **state)
{
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
		{ 59, "94287082" },
		{ 1111111109, "07081804" },
		{ 1111111111, "14050471" },
		{ 1234567890, "89005924" },
		{ 2000000000, "69279037" },
		{ 20000000000, "65353130" },
	};
	char out[9];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t m = 0;

		assert_int_equal(totp_generate(rfc_seed, SEED_LEN, v[i].t / 30,
		                     30, 8, out, sizeof(out)),
		    PG_OK);
		assert_string_equal(out, v[i].code);
		assert_int_equal(
		    totp_verify(rfc_seed, SEED_LEN, v[i].code, (time_t)v[i].t,
		        30, 0, 8, TOTP_NO_STEP, &m),
		    PG_OK);
		assert_int_equal(m, v[i].t / 30);
	}
}

static void
rfc4226_hotp_vectors(void **state)
{
	static const char *const v[] = { "755224", "287082", "359152", "969429",
		"338314", "254676", "287922", "162583", "399871", "520489" };
	int i;

	(void)state;
	/* With a one-second step, the TOTP step is the HOTP counter. */
	for (i = 0; i < 10; i++) {
		int64_t m = -5;

		assert_int_equal(totp_verify(rfc_seed, SEED_LEN, v[i],
		                     (time_t)i, 1, 0, 6, TOTP_NO_STEP, &m),
		    PG_OK);
		assert_int_equal(m, i);
		/* And it is not accepted for a neighbouring counter. */
		assert_int_equal(
		    totp_verify(rfc_seed, SEED_LEN, v[i], (time_t)i + 2, 1, 0,
		        6, TOTP_NO_STEP, NULL),
		    PG_ERR_BADCODE);
	}
}

static void
code_at(int64_t step, char out[7])
{
	assert_int_equal(
	    totp_generate(rfc_seed, SEED_LEN, step, 30, 6, out, 7), PG_OK);
}

static void
window_and_replay(void **state)
{
	const time_t now = 1700000000;
	const int64_t base = now / 30;
	char c[7];
	int64_t m;

	(void)state;
	code_at(base - 1, c);
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, TOTP_NO_STEP, &m),
	    PG_OK);
	assert_int_equal(m, base - 1);
	/* Same code again: its step is no longer newer than the last. */
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, m, &m),
	    PG_ERR_REPLAY);
	assert_int_equal(m, TOTP_NO_STEP);
	code_at(base + 1, c);
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, base - 1, &m),
	    PG_OK);
	assert_int_equal(m, base + 1);
	/* Two steps away is outside a window of one, inside one of two. */
	code_at(base - 2, c);
	assert_int_equal(totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6,
	                     TOTP_NO_STEP, NULL),
	    PG_ERR_BADCODE);
	assert_int_equal(totp_verify(rfc_seed, SEED_LEN, c, now, 30, 2, 6,
	                     TOTP_NO_STEP, NULL),
	    PG_OK);
	/* Window 0: only the current step. */
	code_at(base + 1, c);
	assert_int_equal(totp_verify(rfc_seed, SEED_LEN, c, now, 30, 0, 6,
	                     TOTP_NO_STEP, NULL),
	    PG_ERR_BADCODE);
}

static void
clock_moved_back(void **state)
{
	const time_t now = 1700000000;
	const int64_t base = now / 30;
	char c[7];

	(void)state;
	/* A code was accepted at step base + 10; the clock then went back. */
	code_at(base, c);
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, base + 10, NULL),
	    PG_ERR_REPLAY);
	code_at(base + 1, c);
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, base + 10, NULL),
	    PG_ERR_REPLAY);
	/* Equal to the last step is a replay too. */
	code_at(base, c);
	assert_int_equal(
	    totp_verify(rfc_seed, SEED_LEN, c, now, 30, 1, 6, base, NULL),
	    PG_ERR_REPLAY);
}

static void
code_format(void **state)
{
	static const char *const bad[] = { "", "12345", "1234567", "12345a",
		" 123456", "123456 ", "123456\n", "-12345", "+12345", "12 456",
		"１２３４５６" };
	const time_t now = 1700000000;
	char good[7];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(totp_verify(rfc_seed, SEED_LEN, bad[i], now,
		                     30, 1, 6, TOTP_NO_STEP, NULL),
		    PG_ERR_BADCODE);
	assert_int_equal(totp_verify(rfc_seed, SEED_LEN, NULL, now, 30, 1, 6,
	                     TOTP_NO_STEP, NULL),
	    PG_ERR_BADCODE);
	/* A right code with a trailing byte is still malformed. */
	code_at(now / 30, good);
	assert_int_equal(totp_verify(rfc_seed, SEED_LEN, good, now, 30, 1, 6,
	                     TOTP_NO_STEP, NULL),
	    PG_OK);
	good[6] = 'x';
	assert_int_equal(totp_code_format_ok(good, 6), 0);
	assert_int_equal(totp_code_format_ok("00000000", 8), 1);
}

static void
bad_parameters(void **state)
{
	(void)state;
	assert_int_equal(
	    totp_verify(NULL, 20, "123456", 100, 30, 1, 6, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 0, "123456", 100, 30, 1, 6, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 20, "123456", 100, 0, 1, 6, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 20, "123456", 100, 30, 11, 6, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 20, "12345", 100, 30, 1, 5, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 20, "123456789", 100, 30, 1, 9, -1, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    totp_verify(rfc_seed, 20, "123456", -1, 30, 1, 6, -1, NULL),
	    PG_ERR_INVAL);
}

static void
base32_rfc4648(void **state)
{
	static const char *const want[] = { "", "MY", "MZXQ", "MZXW6",
		"MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI" };
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(totp_base32_encode((const uint8_t *)"foobar",
		                     i, out, sizeof(out)),
		    PG_OK);
		assert_string_equal(out, want[i]);
	}
	assert_int_equal(
	    totp_base32_encode(rfc_seed, SEED_LEN, out, sizeof(out)), PG_OK);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(
	    totp_base32_encode(rfc_seed, SEED_LEN, out, 32), PG_ERR_TOOBIG);
}

/*
 * The longest issuer and user, every byte percent-encoded: the URI still
 * fits TOTP_URI_MAX (a token spent before a URI that does not fit would
 * be lost), and a buffer one byte short is refused and wiped.
 */
static void
uri_longest(void **state)
{
	char issuer[PG_ISSUER_MAX + 1], user[TOTP_USER_MAX + 1];
	char uri[TOTP_URI_MAX];
	struct totp_enrollment *e = NULL;
	size_t len;

	(void)state;
	memset(issuer, '@', PG_ISSUER_MAX);
	issuer[PG_ISSUER_MAX] = '\0';
	memset(user, '@', TOTP_USER_MAX);
	user[TOTP_USER_MAX] = '\0';
	assert_int_equal(totp_enrollment_new(8, 60, &e), PG_OK);
	assert_int_equal(totp_uri(issuer, user, e, uri, sizeof(uri)), PG_OK);
	len = strlen(uri);
	assert_true(len > 2 * 3 * PG_ISSUER_MAX + 3 * TOTP_USER_MAX);
	assert_non_null(strstr(uri, "otpauth://totp/%40%40"));
	assert_int_equal(totp_uri(issuer, user, e, uri, len), PG_ERR_TOOBIG);
	assert_int_equal(uri[0], '\0');
	totp_enrollment_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc6238_sha1_vectors),
		cmocka_unit_test(rfc4226_hotp_vectors),
		cmocka_unit_test(window_and_replay),
		cmocka_unit_test(clock_moved_back),
		cmocka_unit_test(code_format),
		cmocka_unit_test(bad_parameters),
		cmocka_unit_test(base32_rfc4648),
		cmocka_unit_test(uri_longest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
