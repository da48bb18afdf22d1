/*
 * totp_record.h - the plaintext of one user's TOTP record and its fixed
 * little-endian encoding.  Internal to the TOTP store (totp_store.c); the
 * encoded form is only ever written encrypted.
 */
#ifndef PG_TOTP_RECORD_H
#define PG_TOTP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_REC_VERSION     1
#define TOTP_REC_SECRET_MAX  64
#define TOTP_REC_SCRATCH_MAX 10
#define TOTP_REC_HASH_BYTES  32
#define TOTP_REC_SALT_BYTES  16
#define TOTP_REC_SIZE        450 /* encoded plaintext, bytes */

struct totp_scratch_slot {
	uint8_t used;
	uint8_t hash[TOTP_REC_HASH_BYTES];
};

/* Lives in sodium_malloc() memory: it holds the secret. */
struct totp_record {
	uint8_t state; /* TOTP_STATE_PENDING or _ACTIVE */
	uint8_t digits;
	uint8_t nscratch;
	uint8_t secret_len;
	uint16_t step_s;
	uint8_t secret[TOTP_REC_SECRET_MAX];
	int64_t last_step; /* TOTP_NO_STEP: none accepted yet */
	int64_t enrolled_at;
	int64_t last_used;   /* 0: never */
	uint32_t pwhash_ops; /* scratch code hashing cost */
	uint32_t pwhash_mem_kib;
	uint8_t salt[TOTP_REC_SALT_BYTES];
	struct totp_scratch_slot scratch[TOTP_REC_SCRATCH_MAX];
};

/* Encodes REC into OUT (exactly TOTP_REC_SIZE bytes). */
void totp_record_encode(
    const struct totp_record *rec, uint8_t out[TOTP_REC_SIZE]);

/*
 * Decodes and validates IN (exactly TOTP_REC_SIZE bytes) into REC.
 * Returns PG_OK or PG_ERR_CORRUPT if any field is out of range.
 */
int totp_record_decode(
    const uint8_t in[TOTP_REC_SIZE], struct totp_record *rec);

/* Scratch code cost (see totp_scratch.c). */
#define TOTP_SCRATCH_OPS     3
#define TOTP_SCRATCH_MEM_KIB (16 * 1024)

/* Writes a fresh normalized scratch code (TOTP_SCRATCH_CHARS + NUL). */
void totp_scratch_generate(char *out);

/* Hashes normalized code NORM with REC's salt and cost into OUT. */
int totp_scratch_hash(const struct totp_record *rec, const char *norm,
    uint8_t out[TOTP_REC_HASH_BYTES]);

/*
 * Spends the unused scratch code TYPED in REC.  Returns PG_OK (slot marked
 * used, caller saves), PG_ERR_BADCODE, or PG_ERR_NOMEM.
 */
int totp_scratch_use(struct totp_record *rec, const char *typed);

#endif /* PG_TOTP_RECORD_H */
