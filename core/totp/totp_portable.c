/*
 * totp_portable.c - what a store other than the encrypted files needs to
 * keep a user's TOTP: a fresh enrollment held by no record, and scratch
 * codes as one text value each (hashed), so that spending a code is
 * removing exactly its value.  See totp.h.
 *
 * The values share the Argon2id cost of the files store (totp_scratch.c),
 * and one salt per enrollment, so a typed code is hashed once.  The cost
 * and salt are read from each value, bounded, so a value written by hand
 * or by a later version can neither be misread nor cost unbounded memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "core/totp/totp.h"
#include "core/totp/totp_record.h"

#define PREFIX       "$pgscratch$1$"
#define OPS_MAX      10
#define MEM_KIB_MIN  8
#define MEM_KIB_MAX  (64 * 1024)
#define B64_VARIANT  sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SALT_B64_LEN 22 /* 16 bytes */
#define HASH_B64_LEN 43 /* 32 bytes */

int
totp_enrollment_new(int digits, int step_s, struct totp_enrollment **out)
{
	struct totp_enrollment *e;
	char norm[TOTP_SCRATCH_CHARS + 1];
	int i, r;

	*out = NULL;
	if (digits < TOTP_MIN_DIGITS || digits > TOTP_MAX_DIGITS ||
	    step_s < 1 || step_s > TOTP_MAX_STEP_S)
		return PG_ERR_INVAL;
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	if ((e = sodium_malloc(sizeof(*e))) == NULL)
		return PG_ERR_NOMEM;
	memset(e, 0, sizeof(*e));
	randombytes_buf(e->secret, sizeof(e->secret));
	for (i = 0; i < TOTP_SCRATCH_COUNT; i++) {
		totp_scratch_generate(norm);
		memcpy(e->scratch[i], norm, 5);
		e->scratch[i][5] = '-';
		memcpy(e->scratch[i] + 6, norm + 5, TOTP_SCRATCH_CHARS - 5);
		e->scratch[i][TOTP_SCRATCH_CHARS + 1] = '\0';
	}
	sodium_memzero(norm, sizeof(norm));
	e->digits = digits;
	e->step_s = step_s;
	r = totp_base32_encode(
	    e->secret, sizeof(e->secret), e->secret_b32, sizeof(e->secret_b32));
	if (r != PG_OK) {
		totp_enrollment_free(e);
		return r;
	}
	*out = e;
	return PG_OK;
}

static int
digest(const char *norm, const uint8_t *salt, unsigned ops, unsigned mem_kib,
    uint8_t out[TOTP_REC_HASH_BYTES])
{
	if (crypto_pwhash(out, TOTP_REC_HASH_BYTES, norm, strlen(norm), salt,
	        ops, (size_t)mem_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return PG_ERR_NOMEM;
	return PG_OK;
}

int
totp_scratch_value_make(const char *code,
    const uint8_t salt[TOTP_SCRATCH_SALT_BYTES], char *out, size_t outlen)
{
	char norm[TOTP_SCRATCH_CHARS + 1];
	char s64[SALT_B64_LEN + 1], h64[HASH_B64_LEN + 1];
	uint8_t h[TOTP_REC_HASH_BYTES];
	int k, r;

	if (salt == NULL || out == NULL || outlen < TOTP_SCRATCH_VALUE_MAX)
		return PG_ERR_INVAL;
	out[0] = '\0';
	if ((r = totp_scratch_normalize(code, norm, sizeof(norm))) != PG_OK)
		return r;
	r = digest(norm, salt, TOTP_SCRATCH_OPS, TOTP_SCRATCH_MEM_KIB, h);
	sodium_memzero(norm, sizeof(norm));
	if (r != PG_OK)
		return r;
	sodium_bin2base64(
	    s64, sizeof(s64), salt, TOTP_SCRATCH_SALT_BYTES, B64_VARIANT);
	sodium_bin2base64(h64, sizeof(h64), h, sizeof(h), B64_VARIANT);
	sodium_memzero(h, sizeof(h));
	k = snprintf(out, outlen, "%s%u$%u$%s$%s", PREFIX, TOTP_SCRATCH_OPS,
	    TOTP_SCRATCH_MEM_KIB, s64, h64);
	return k > 0 && (size_t)k < outlen ? PG_OK : PG_ERR_INTERNAL;
}

/* A parsed value: its cost, salt and hash. */
struct parsed {
	unsigned ops, mem_kib;
	uint8_t salt[TOTP_SCRATCH_SALT_BYTES];
	uint8_t hash[TOTP_REC_HASH_BYTES];
};

/* Reads a decimal in [LO, HI] up to '$' from *P; advances past it. */
static int
take_uint(
    const char **p, const char *end, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;
	const char *q = *p;

	if (q >= end || *q < '1' || *q > '9')
		return -1;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (unsigned long)(*q - '0');
		if (v > hi)
			return -1;
	}
	if (q >= end || *q != '$' || v < lo)
		return -1;
	*out = (unsigned)v;
	*p = q + 1;
	return 0;
}

/* Decodes exactly B64LEN base64url characters at P into OUT (LEN bytes). */
static int
take_b64(const char *p, size_t b64len, uint8_t *out, size_t len)
{
	size_t got = 0;
	const char *end = NULL;

	if (sodium_base642bin(
	        out, len, p, b64len, NULL, &got, &end, B64_VARIANT) != 0 ||
	    got != len || end != p + b64len)
		return -1;
	return 0;
}

static int
parse_value(const struct totp_value *v, struct parsed *out)
{
	const char *p = v->p, *end = v->p + v->len;
	size_t plen = strlen(PREFIX);

	if (v->p == NULL || v->len > TOTP_SCRATCH_VALUE_MAX || v->len <= plen ||
	    memcmp(p, PREFIX, plen) != 0)
		return -1;
	p += plen;
	if (take_uint(&p, end, 1, OPS_MAX, &out->ops) != 0 ||
	    take_uint(&p, end, MEM_KIB_MIN, MEM_KIB_MAX, &out->mem_kib) != 0)
		return -1;
	if ((size_t)(end - p) != SALT_B64_LEN + 1 + HASH_B64_LEN ||
	    p[SALT_B64_LEN] != '$')
		return -1;
	if (take_b64(p, SALT_B64_LEN, out->salt, sizeof(out->salt)) != 0 ||
	    take_b64(p + SALT_B64_LEN + 1, HASH_B64_LEN, out->hash,
	        sizeof(out->hash)) != 0)
		return -1;
	return 0;
}

/* Hashes NORM as value P asks, reusing *HAVE when salt and cost agree. */
static int
hash_for(const char *norm, const struct parsed *p, struct parsed *have,
    bool *valid, uint8_t out[TOTP_REC_HASH_BYTES])
{
	int r;

	if (!*valid || have->ops != p->ops || have->mem_kib != p->mem_kib ||
	    sodium_memcmp(have->salt, p->salt, sizeof(p->salt)) != 0) {
		if ((r = digest(norm, p->salt, p->ops, p->mem_kib, out)) !=
		    PG_OK)
			return r;
		have->ops = p->ops;
		have->mem_kib = p->mem_kib;
		memcpy(have->salt, p->salt, sizeof(p->salt));
		*valid = true;
	}
	return PG_OK;
}

int
totp_scratch_value_find(
    const char *typed, const struct totp_value *vals, size_t n, size_t *hit)
{
	char norm[TOTP_SCRATCH_CHARS + 1];
	uint8_t h[TOTP_REC_HASH_BYTES];
	struct parsed p, have;
	bool valid = false, found = false;
	size_t i, at = 0;
	int r = PG_OK;

	*hit = 0;
	if (n > TOTP_SCRATCH_VALUES_MAX || (n > 0 && vals == NULL))
		return PG_ERR_CORRUPT;
	/* Every value must parse before any is believed. */
	for (i = 0; i < n; i++)
		if (parse_value(&vals[i], &p) != 0)
			return PG_ERR_CORRUPT;
	if ((r = totp_scratch_normalize(typed, norm, sizeof(norm))) != PG_OK)
		return r;
	memset(&have, 0, sizeof(have));
	for (i = 0; i < n && r == PG_OK; i++) {
		bool eq;

		(void)parse_value(&vals[i], &p);
		if ((r = hash_for(norm, &p, &have, &valid, h)) != PG_OK)
			break;
		/* Every value is compared: no early exit. */
		eq = sodium_memcmp(h, p.hash, sizeof(h)) == 0;
		at = (eq && !found) ? i : at;
		found |= eq;
	}
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&p, sizeof(p));
	if (r != PG_OK)
		return r;
	if (!found)
		return PG_ERR_BADCODE;
	*hit = at;
	return PG_OK;
}
