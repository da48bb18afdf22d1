/*
 * totp.c - RFC 6238 codes through liboath, the constant-time window check
 * with replay refusal and base32 for otpauth URIs.  See totp.h.
 */
#include <stdio.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "base/base.h"
#include "core/totp/totp.h"

static int
params_ok(int step_s, int window, int digits)
{
	return step_s > 0 && step_s <= TOTP_MAX_STEP_S && window >= 0 &&
	    window <= TOTP_MAX_WINDOW && digits >= TOTP_MIN_DIGITS &&
	    digits <= TOTP_MAX_DIGITS;
}

int
totp_code_format_ok(const char *code, int digits)
{
	int i;

	if (code == NULL || digits < TOTP_MIN_DIGITS ||
	    digits > TOTP_MAX_DIGITS)
		return 0;
	for (i = 0; i < digits; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[digits] == '\0';
}

/* Caller holds an oath_init() reference. */
static int
generate(const uint8_t *secret, size_t len, int64_t step, int step_s,
    int digits, char *out)
{
	int r;

	if (step < 0 || step > INT64_MAX / step_s)
		return PG_ERR_INVAL;
	r = oath_totp_generate((const char *)secret, len,
	    (time_t)(step * step_s), (unsigned)step_s, 0, (unsigned)digits,
	    out);
	return r == OATH_OK ? PG_OK : PG_ERR_CRYPTO;
}

int
totp_generate(const uint8_t *secret, size_t len, int64_t step, int step_s,
    int digits, char *out, size_t outlen)
{
	int r;

	if (secret == NULL || len == 0 || out == NULL ||
	    !params_ok(step_s, 0, digits) || outlen < (size_t)digits + 1)
		return PG_ERR_INVAL;
	if (oath_init() != OATH_OK)
		return PG_ERR_CRYPTO;
	r = generate(secret, len, step, step_s, digits, out);
	oath_done();
	return r;
}

int
totp_verify(const uint8_t *secret, size_t len, const char *code, time_t now,
    int step_s, int window, int digits, int64_t last_step,
    int64_t *matched_step)
{
	char cand[TOTP_MAX_DIGITS + 1];
	int64_t base, s, fresh_step = TOTP_NO_STEP;
	int any = 0, fresh = 0, r = PG_OK;

	if (matched_step != NULL)
		*matched_step = TOTP_NO_STEP;
	if (secret == NULL || len == 0 || !params_ok(step_s, window, digits) ||
	    now < 0)
		return PG_ERR_INVAL;
	if (!totp_code_format_ok(code, digits))
		return PG_ERR_BADCODE;
	if (oath_init() != OATH_OK)
		return PG_ERR_CRYPTO;
	base = (int64_t)now / step_s;
	/* Every candidate is generated and compared: no early exit. */
	for (s = base - window; s <= base + window; s++) {
		int eq, newer;

		if (s < 0)
			continue;
		if ((r = generate(secret, len, s, step_s, digits, cand)) != 0)
			break;
		eq = sodium_memcmp(cand, code, (size_t)digits) == 0;
		newer = s > last_step;
		any |= eq;
		/* The oldest fresh match, so a later code still works. */
		fresh_step = (eq & newer & !fresh) ? s : fresh_step;
		fresh |= eq & newer;
	}
	sodium_memzero(cand, sizeof(cand));
	oath_done();
	if (r != PG_OK)
		return r;
	if (!any)
		return PG_ERR_BADCODE;
	if (!fresh)
		return PG_ERR_REPLAY;
	if (matched_step != NULL)
		*matched_step = fresh_step;
	return PG_OK;
}

int
totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t i, o = 0, need;
	unsigned int acc = 0, bits = 0;

	if (len > 1024)
		return PG_ERR_TOOBIG;
	need = (len * 8 + 4) / 5 + 1;
	if (out == NULL || outlen < need)
		return PG_ERR_TOOBIG;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alpha[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	acc = 0;
	return PG_OK;
}
