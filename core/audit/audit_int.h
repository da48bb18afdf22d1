/*
 * audit_int.h - what the audit writer, verifier and query share inside
 * the core: hashing, the signed-message digests, the head file and the
 * parsing of one record.  Not a public interface.
 */
#ifndef PG_AUDIT_INT_H
#define PG_AUDIT_INT_H

#include <stddef.h>

#include <jansson.h>
#include <sodium.h>

#include "core/audit/audit.h"

#define AUDIT_HEX_BYTES     (2 * AUDIT_HASH_BYTES + 1)
#define AUDIT_SIG_BYTES     crypto_sign_BYTES
#define AUDIT_KEY_ID_BYTES  8
#define AUDIT_TIME_LEN      27 /* 2026-11-22T14:03:07.123456Z */
#define AUDIT_HOST_MAX      256
#define AUDIT_HEAD_MAX      4096
#define AUDIT_KEY_FILE_MAX  1024
#define AUDIT_EV_CHECKPOINT "audit.checkpoint"
#define AUDIT_EV_TORN       "audit.torn_tail"
#define AUDIT_EV_REPAIR     "audit.repair"

/* The text whose BLAKE2b hash is the "prev" of record 1. */
#define AUDIT_GENESIS_TEXT "photoguard audit log v1"

/* The fields of a record the verifier and the query need. */
struct audit_prec {
	long long seq;
	unsigned char prev[AUDIT_HASH_BYTES];
	const char *time, *host, *event;
	int is_ckpt;
	unsigned char sig[AUDIT_SIG_BYTES];
	char key_id[2 * AUDIT_KEY_ID_BYTES + 1];
};

/* The signed head file: the last checkpoint's seq and line hash. */
struct audit_head {
	long long seq;
	unsigned char hash[AUDIT_HASH_BYTES];
	char time[AUDIT_TIME_LEN + 1];
	char host[AUDIT_HOST_MAX];
	char key_id[2 * AUDIT_KEY_ID_BYTES + 1];
	unsigned char sig[AUDIT_SIG_BYTES];
};

void audit_hash(const void *buf, size_t len, unsigned char *out);
void audit_genesis(unsigned char *out);
void audit_hex(const unsigned char *in, size_t n, char *out);
int audit_unhex(const char *hex, unsigned char *out, size_t n);

/* Digest signed by a checkpoint (DOMAIN "checkpoint") or the head file
 * (DOMAIN "head"): length-prefixed fields, so no field can bleed into
 * another. */
void audit_sig_digest(const char *domain, long long seq,
    const unsigned char *hash, const char *time, const char *host,
    unsigned char *out);

/* Hex of the first bytes of BLAKE2b(PK): names the key in records. */
void audit_key_id(const unsigned char *pk, char *out);

/* Writes the current UTC time with microseconds to OUT (>= 28 bytes). */
void audit_now(char *out, size_t outlen);

/* Parses one line into R; *ROOT keeps the strings R points to (json_decref
 * it).  Returns 0, or PG_ERR_PARSE with a reason in WHY. */
int audit_rec_parse(const char *line, size_t len, struct audit_prec *r,
    json_t **root, char *why, size_t whylen);

int audit_head_parse(const char *buf, size_t len, struct audit_head *h);
/* Returns a newly allocated JSON line for H, or NULL. */
char *audit_head_encode(const struct audit_head *h);

/* Reads the hex public key in PATH. */
int audit_load_pubkey(const char *path, unsigned char *pk);

/* Reads the hex secret key in PATH (a private file) into SK, which must be
 * sodium_malloc()ed crypto_sign_SECRETKEYBYTES. */
int audit_load_secret(const char *path, unsigned char *sk);

#endif /* PG_AUDIT_INT_H */
