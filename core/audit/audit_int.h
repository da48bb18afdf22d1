/*
 * audit_int.h - what the audit writer, verifier and query share inside
 * the core: hashing, the signed-message digests, the head file and the
 * parsing of one record.  Not a public interface.
 */
#ifndef PG_AUDIT_INT_H
#define PG_AUDIT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

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
#define AUDIT_EV_ROTATE     "audit.rotate"
#define AUDIT_EV_CLOSE      "audit.close"
#define AUDIT_EV_KEY        "audit.key"
#define AUDIT_PK_BYTES      crypto_sign_PUBLICKEYBYTES

/* The text whose BLAKE2b hash is the "prev" of record 1. */
#define AUDIT_GENESIS_TEXT "photoguard audit log v1"

/* The fields of a record the verifier and the query need. */
struct audit_prec {
	long long seq;
	unsigned char prev[AUDIT_HASH_BYTES];
	const char *time, *host, *event;
	int is_ckpt;
	int is_key; /* audit.key: signed as a checkpoint is, plus PK */
	unsigned char sig[AUDIT_SIG_BYTES];
	char key_id[2 * AUDIT_KEY_ID_BYTES + 1];
	unsigned char pk[AUDIT_PK_BYTES]; /* is_key: the key from here on */
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

/* Digest an audit.key record's signature covers: the checkpoint fields
 * under DOMAIN "key", and the new public key PK. */
void audit_key_digest(long long seq, const unsigned char *prev,
    const char *time, const char *host, const unsigned char *pk,
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

/* A log's signing key (audit_key.c).  SK is NULL in a process that signs
 * through a signer (audit_signer.c) or not at all. */
struct audit_key {
	pthread_mutex_t mu; /* SK, PK, ID: swapped while a flusher signs */
	unsigned char *sk;  /* sodium_malloc, read-only */
	unsigned char pk[AUDIT_PK_BYTES];
	char id[2 * AUDIT_KEY_ID_BYTES + 1];
	char path[4096];
	dev_t dev; /* the key file as read: another process changed it */
	ino_t ino;
	struct timespec mtime, ctime;
	unsigned char *next; /* audit_key_next(): made, not yet committed */
	unsigned char next_pk[AUDIT_PK_BYTES];
};

void audit_key_init(struct audit_key *k);
/* Loads the secret key in PATH into K (replacing and wiping K's key). */
int audit_key_load(struct audit_key *k, const char *path);
void audit_key_free(struct audit_key *k);
/* Loads the key file again when another process changed it since. */
int audit_key_fresh(struct audit_key *k);
/* Whether K's file is EPOCH_S seconds old or more: time for a new key. */
int audit_key_due(const struct audit_key *k, int epoch_s);
/* Signs the AUDIT_HASH_BYTES digest D; the signing key's id in ID (may be
 * NULL). */
int audit_key_sign(
    struct audit_key *k, const unsigned char *d, unsigned char *sig, char *id);
/* Makes the next key and signs the audit.key record at SEQ after PREV that
 * introduces it: its public key in PK, the signature in SIG.  It takes
 * over only with audit_key_commit(), once that record is in the log. */
int audit_key_next(struct audit_key *k, long long seq,
    const unsigned char *prev, const char *time, const char *host,
    unsigned char *pk, unsigned char *sig);
/* Writes the next key over the key file and wipes the old one. */
int audit_key_commit(struct audit_key *k);
/* Once the new key's head is written: removes KEYFILE.next. */
void audit_key_done(const char *keyfile);
/* Under the lock of the log LOG: finishes or undoes a change of the key
 * in KEYFILE that a crash interrupted (KEYFILE.next left behind).  1 when
 * it finished one (the head may still be the old key's, whose public half
 * is then in OLDPK), else PG_OK, or PG_ERR_* (PG_ERR_CORRUPT: it cannot
 * tell, and nothing may be signed). */
int audit_key_recover(
    const char *keyfile, const char *log, unsigned char *oldpk);

/*
 * One file of a log read as a stream (audit_src.c): the bytes
 * BUF[POS..FILL) are the window, the current line first, with at least a
 * few MiB after it unless the file ends (EOF).
 */
struct audit_src {
	int fd;           /* -1: memory */
	void *gz;         /* gzFile of a compressed rotated file */
	off_t off;        /* plain file: next read */
	off_t limit;      /* the live log: its size under the lock; else -1 */
	char *buf;        /* owned: NULL for memory */
	const char *data; /* the bytes: buf, or the memory read */
	size_t pos, fill, cap;
	int eof, is_gz;
	dev_t dev;
	ino_t ino;
	long long first_seq; /* 0: empty; -1: its first line unreadable */
	int continues;       /* its first record is an audit.rotate */
	char first_host[AUDIT_HOST_MAX];
	char path[4096];
};

/* The files of one chain, in chain order, and the newest one's head. */
struct audit_set {
	struct audit_src *src;
	size_t n;
	const char *head; /* NULL: no head file */
	size_t headlen;
	char *head_owned;
};

/* The seq of a record line P/LEN, read from its start. */
int audit_line_seq(const char *p, size_t len, long long *seq);

/* Keeps the window at least a few MiB ahead of POS (or to EOF). */
int audit_src_fill(struct audit_src *s);
/* A source over memory: the whole window at once. */
void audit_src_mem(struct audit_src *s, const char *buf, size_t len);
void audit_src_close(struct audit_src *s);
/* Drops the window of a file read to its end (reopened on the next
 * audit_src_fill()): one file's window at a time. */
void audit_src_stop(struct audit_src *s);

/*
 * Opens a set: LOG (the live log, may be NULL) read up to its size under
 * its shared lock with its head, plus with SIBLINGS its rotated files
 * beside it (LOG.N, LOG.N.gz, LOG-SUFFIX), plus the files MORE[0..NMORE)
 * as they are; then puts them in chain order.  Without LOG, the head is
 * the one beside the newest file.
 */
int audit_set_open(const char *log, int siblings, const char *const *more,
    size_t nmore, struct audit_set *set);
void audit_set_free(struct audit_set *set);

/* Whether NAME names a rotated file of the log named BASE. */
int audit_set_sibling(const char *name, const char *base);

#endif /* PG_AUDIT_INT_H */
