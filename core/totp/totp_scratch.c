/*
 * totp_scratch.c - emergency scratch codes: generation, normalization and
 * single-use checking against the hashes in a TOTP record.
 *
 * Cost: crypto_pwhash_str with the interactive limits costs about 70 ms
 * and 64 MiB per hash here, and one-hash-per-stored-code verification
 * would take up to 0.7 s per login attempt inside sshd.  Instead each
 * record has one random salt, each code is hashed with Argon2id (3 passes,
 * 16 MiB: about 18 ms), and a typed code is hashed once and compared with
 * every unused slot in constant time.  The codes carry 49 bits of entropy
 * and the record is encrypted, so the hash only has to hold up if the host
 * key leaks; the cost is stored per record so it can be raised later.
 */
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "core/totp/totp_record.h"
#include "core/totp/totp.h"

/* No 0/o, 1/i/l: read aloud and typed from paper. */
static const char alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";

int
totp_scratch_normalize(const char *in, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (out == NULL || outlen < TOTP_SCRATCH_CHARS + 1)
		return PG_ERR_INVAL;
	out[0] = '\0';
	if (in == NULL)
		return PG_ERR_BADCODE;
	for (i = 0; in[i] != '\0' && i < TOTP_SCRATCH_CHARS + 1; i++) {
		char c = in[i];

		if (c == '-' && i == 5 && o == 5)
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (strchr(alphabet, c) == NULL || o >= TOTP_SCRATCH_CHARS) {
			sodium_memzero(out, outlen);
			return PG_ERR_BADCODE;
		}
		out[o++] = c;
	}
	if (in[i] != '\0' || o != TOTP_SCRATCH_CHARS) {
		sodium_memzero(out, outlen);
		return PG_ERR_BADCODE;
	}
	out[o] = '\0';
	return PG_OK;
}

void
totp_scratch_generate(char *out)
{
	int i;

	for (i = 0; i < TOTP_SCRATCH_CHARS; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[TOTP_SCRATCH_CHARS] = '\0';
}

int
totp_scratch_hash(const struct totp_record *rec, const char *norm,
    uint8_t out[TOTP_REC_HASH_BYTES])
{
	if (crypto_pwhash(out, TOTP_REC_HASH_BYTES, norm, strlen(norm),
	        rec->salt, rec->pwhash_ops, (size_t)rec->pwhash_mem_kib * 1024,
	        crypto_pwhash_ALG_ARGON2ID13) != 0)
		return PG_ERR_NOMEM;
	return PG_OK;
}

int
totp_scratch_use(struct totp_record *rec, const char *typed)
{
	char norm[TOTP_SCRATCH_CHARS + 1];
	uint8_t h[TOTP_REC_HASH_BYTES];
	int i, hit = -1, r;

	if ((r = totp_scratch_normalize(typed, norm, sizeof(norm))) != PG_OK)
		return r;
	if ((r = totp_scratch_hash(rec, norm, h)) != PG_OK)
		goto out;
	/* Compare with every slot; no early exit. */
	for (i = 0; i < rec->nscratch; i++) {
		int eq = sodium_memcmp(h, rec->scratch[i].hash, sizeof(h)) == 0;

		hit = (eq && !rec->scratch[i].used && hit < 0) ? i : hit;
	}
	if (hit < 0) {
		r = PG_ERR_BADCODE;
		goto out;
	}
	rec->scratch[hit].used = 1;
	r = PG_OK;
out:
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(h, sizeof(h));
	return r;
}
