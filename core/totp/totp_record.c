/*
 * totp_record.c - fixed-layout encoding of a TOTP record, with every field
 * range-checked on the way in.  See totp_record.h.
 */
#include <string.h>

#include "base/base.h"
#include "core/totp/totp.h"
#include "core/totp/totp_record.h"

/* Byte offsets of the encoded record. */
#define OFF_VERSION   0
#define OFF_STATE     1
#define OFF_DIGITS    2
#define OFF_NSCRATCH  3
#define OFF_STEP      4 /* u16 */
#define OFF_SECLEN    6
#define OFF_RESERVED  7
#define OFF_SECRET    8
#define OFF_LAST_STEP (OFF_SECRET + TOTP_REC_SECRET_MAX) /* 72 */
#define OFF_ENROLLED  (OFF_LAST_STEP + 8)
#define OFF_LAST_USED (OFF_ENROLLED + 8)
#define OFF_OPS       (OFF_LAST_USED + 8)              /* u32 */
#define OFF_MEM       (OFF_OPS + 4)                    /* u32 */
#define OFF_SALT      (OFF_MEM + 4)                    /* 104 */
#define OFF_SCRATCH   (OFF_SALT + TOTP_REC_SALT_BYTES) /* 120 */
#define SLOT_SIZE     (1 + TOTP_REC_HASH_BYTES)

_Static_assert(OFF_SCRATCH + TOTP_REC_SCRATCH_MAX * SLOT_SIZE == TOTP_REC_SIZE,
    "record layout and TOTP_REC_SIZE disagree");

static void
put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
totp_record_encode(const struct totp_record *rec, uint8_t out[TOTP_REC_SIZE])
{
	int i;

	memset(out, 0, TOTP_REC_SIZE);
	out[OFF_VERSION] = TOTP_REC_VERSION;
	out[OFF_STATE] = rec->state;
	out[OFF_DIGITS] = rec->digits;
	out[OFF_NSCRATCH] = rec->nscratch;
	out[OFF_STEP] = (uint8_t)(rec->step_s & 0xff);
	out[OFF_STEP + 1] = (uint8_t)(rec->step_s >> 8);
	out[OFF_SECLEN] = rec->secret_len;
	memcpy(out + OFF_SECRET, rec->secret, TOTP_REC_SECRET_MAX);
	put_u64(out + OFF_LAST_STEP, (uint64_t)rec->last_step);
	put_u64(out + OFF_ENROLLED, (uint64_t)rec->enrolled_at);
	put_u64(out + OFF_LAST_USED, (uint64_t)rec->last_used);
	put_u32(out + OFF_OPS, rec->pwhash_ops);
	put_u32(out + OFF_MEM, rec->pwhash_mem_kib);
	memcpy(out + OFF_SALT, rec->salt, TOTP_REC_SALT_BYTES);
	for (i = 0; i < TOTP_REC_SCRATCH_MAX; i++) {
		uint8_t *s = out + OFF_SCRATCH + i * SLOT_SIZE;

		s[0] = rec->scratch[i].used;
		memcpy(s + 1, rec->scratch[i].hash, TOTP_REC_HASH_BYTES);
	}
}

static int
header_ok(const struct totp_record *rec)
{
	return (rec->state == TOTP_STATE_PENDING ||
	           rec->state == TOTP_STATE_ACTIVE) &&
	    rec->digits >= TOTP_MIN_DIGITS && rec->digits <= TOTP_MAX_DIGITS &&
	    rec->step_s >= 1 && rec->step_s <= TOTP_MAX_STEP_S &&
	    rec->secret_len >= 16 && rec->secret_len <= TOTP_REC_SECRET_MAX &&
	    rec->nscratch <= TOTP_REC_SCRATCH_MAX &&
	    rec->last_step >= TOTP_NO_STEP && rec->enrolled_at >= 0 &&
	    rec->last_used >= 0 && rec->pwhash_ops >= 1 &&
	    rec->pwhash_ops <= 64 && rec->pwhash_mem_kib >= 8 &&
	    rec->pwhash_mem_kib <= 1024 * 1024;
}

int
totp_record_decode(const uint8_t in[TOTP_REC_SIZE], struct totp_record *rec)
{
	int i;

	memset(rec, 0, sizeof(*rec));
	if (in[OFF_VERSION] != TOTP_REC_VERSION || in[OFF_RESERVED] != 0)
		return PG_ERR_CORRUPT;
	rec->state = in[OFF_STATE];
	rec->digits = in[OFF_DIGITS];
	rec->nscratch = in[OFF_NSCRATCH];
	rec->step_s = (uint16_t)(in[OFF_STEP] | in[OFF_STEP + 1] << 8);
	rec->secret_len = in[OFF_SECLEN];
	memcpy(rec->secret, in + OFF_SECRET, TOTP_REC_SECRET_MAX);
	rec->last_step = (int64_t)get_u64(in + OFF_LAST_STEP);
	rec->enrolled_at = (int64_t)get_u64(in + OFF_ENROLLED);
	rec->last_used = (int64_t)get_u64(in + OFF_LAST_USED);
	rec->pwhash_ops = get_u32(in + OFF_OPS);
	rec->pwhash_mem_kib = get_u32(in + OFF_MEM);
	memcpy(rec->salt, in + OFF_SALT, TOTP_REC_SALT_BYTES);
	for (i = 0; i < TOTP_REC_SCRATCH_MAX; i++) {
		const uint8_t *s = in + OFF_SCRATCH + i * SLOT_SIZE;

		if (s[0] > 1)
			return PG_ERR_CORRUPT;
		rec->scratch[i].used = s[0];
		memcpy(rec->scratch[i].hash, s + 1, TOTP_REC_HASH_BYTES);
	}
	return header_ok(rec) ? PG_OK : PG_ERR_CORRUPT;
}
