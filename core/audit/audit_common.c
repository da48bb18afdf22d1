/*
 * audit_common.c - pieces the audit writer, verifier and query share:
 * hashing and hex, the digests that checkpoints and the head file sign,
 * parsing of records and of the head file, and the key files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit_int.h"
#include "base/base.h"
#include "core/state/state.h"

void
audit_hash(const void *buf, size_t len, unsigned char *out)
{
	crypto_generichash(out, AUDIT_HASH_BYTES, buf, len, NULL, 0);
}

void
audit_genesis(unsigned char *out)
{
	audit_hash(AUDIT_GENESIS_TEXT, strlen(AUDIT_GENESIS_TEXT), out);
}

void
audit_hex(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int
audit_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t got = 0;
	size_t i;

	/* Lower-case only: one spelling per value, so an edit cannot keep
	 * the meaning while changing the bytes unnoticed. */
	for (i = 0; hex[i] != '\0'; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		        (hex[i] >= 'a' && hex[i] <= 'f')))
			return PG_ERR_PARSE;
	if (i != 2 * n)
		return PG_ERR_PARSE;
	if (sodium_hex2bin(out, n, hex, i, NULL, &got, NULL) != 0 || got != n)
		return PG_ERR_PARSE;
	return PG_OK;
}

static void
digest_field(crypto_generichash_state *st, const void *p, size_t len)
{
	unsigned char l[8];
	int i;

	for (i = 0; i < 8; i++)
		l[i] = (unsigned char)((uint64_t)len >> (8 * i));
	crypto_generichash_update(st, l, sizeof(l));
	crypto_generichash_update(st, p, len);
}

void
audit_sig_digest(const char *domain, long long seq, const unsigned char *hash,
    const char *time, const char *host, unsigned char *out)
{
	crypto_generichash_state st;
	char num[32];
	int n;

	n = snprintf(num, sizeof(num), "%lld", seq);
	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	digest_field(&st, "photoguard-audit-v1", 19);
	digest_field(&st, domain, strlen(domain));
	digest_field(&st, num, (size_t)n);
	digest_field(&st, hash, AUDIT_HASH_BYTES);
	digest_field(&st, time, strlen(time));
	digest_field(&st, host, strlen(host));
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

void
audit_key_digest(long long seq, const unsigned char *prev, const char *time,
    const char *host, const unsigned char *pk, unsigned char *out)
{
	crypto_generichash_state st;
	unsigned char d[AUDIT_HASH_BYTES];

	audit_sig_digest("key", seq, prev, time, host, d);
	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	digest_field(&st, d, sizeof(d));
	digest_field(&st, pk, AUDIT_PK_BYTES);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

void
audit_key_id(const unsigned char *pk, char *out)
{
	unsigned char h[AUDIT_HASH_BYTES];

	audit_hash(pk, crypto_sign_PUBLICKEYBYTES, h);
	audit_hex(h, AUDIT_KEY_ID_BYTES, out);
}

void
audit_now(char *out, size_t outlen)
{
	/* The date part changes once a second: format it only then. */
	static _Thread_local time_t last_sec = -1;
	static _Thread_local char base[24];
	struct timespec ts;
	long us;
	int i;

	if (outlen < AUDIT_TIME_LEN + 1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		/* Its first 19 bytes; the 'Z' follows the microseconds. */
		(void)pg_utc(ts.tv_sec, PG_TIME_ISO, base, sizeof(base));
		last_sec = ts.tv_sec;
	}
	memcpy(out, base, 19);
	out[19] = '.';
	us = ts.tv_nsec / 1000;
	for (i = 25; i >= 20; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	out[26] = 'Z';
	out[27] = '\0';
}

static int
get_str(json_t *root, const char *key, int nullable, const char **out)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL)
		return PG_ERR_PARSE;
	if (json_is_null(v) && nullable)
		return PG_OK;
	if (!json_is_string(v))
		return PG_ERR_PARSE;
	*out = json_string_value(v);
	return PG_OK;
}

static int
get_hex(json_t *root, const char *key, unsigned char *out, size_t n)
{
	const char *s;

	if (get_str(root, key, 0, &s) != PG_OK)
		return PG_ERR_PARSE;
	return audit_unhex(s, out, n);
}

/* Checks the fields every record has; names the first wrong one. */
static const char *
check_fields(json_t *root, struct audit_prec *r)
{
	static const char *const strs[] = { "time", "host", "actor", "event" };
	static const char *const nulls[] = { "object", "rule", "reason" };
	json_t *seq = json_object_get(root, "seq");
	const char *s;
	size_t i;

	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		return "seq";
	r->seq = json_integer_value(seq);
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (get_str(root, strs[i], 0, &s) != PG_OK)
			return strs[i];
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (get_str(root, nulls[i], 1, &s) != PG_OK)
			return nulls[i];
	if (get_str(root, "decision", 0, &s) != PG_OK ||
	    (strcmp(s, "allow") != 0 && strcmp(s, "deny") != 0 &&
	        strcmp(s, "error") != 0 && strcmp(s, "info") != 0))
		return "decision";
	if (get_hex(root, "prev", r->prev, sizeof(r->prev)) != PG_OK)
		return "prev";
	return NULL;
}

int
audit_rec_parse(const char *line, size_t len, struct audit_prec *r,
    json_t **root, char *why, size_t whylen)
{
	unsigned char kid[AUDIT_KEY_ID_BYTES];
	json_error_t err;
	const char *bad;
	json_t *j;

	*root = NULL;
	memset(r, 0, sizeof(*r));
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		snprintf(why, whylen, "not JSON: %s at column %d", err.text,
		    err.column);
		return PG_ERR_PARSE;
	}
	if (!json_is_object(j))
		bad = "record";
	else
		bad = check_fields(j, r);
	if (bad == NULL) {
		r->time = json_string_value(json_object_get(j, "time"));
		r->host = json_string_value(json_object_get(j, "host"));
		r->event = json_string_value(json_object_get(j, "event"));
		r->is_ckpt = strcmp(r->event, AUDIT_EV_CHECKPOINT) == 0;
		r->is_key = strcmp(r->event, AUDIT_EV_KEY) == 0;
		if ((r->is_ckpt || r->is_key) &&
		    get_hex(j, "sig", r->sig, sizeof(r->sig)) != PG_OK)
			bad = "sig";
		else if ((r->is_ckpt || r->is_key) &&
		    get_hex(j, "key_id", kid, sizeof(kid)) != PG_OK)
			bad = "key_id";
		else if (r->is_key &&
		    get_hex(j, "pk", r->pk, sizeof(r->pk)) != PG_OK)
			bad = "pk";
		else if (r->is_ckpt || r->is_key)
			audit_hex(kid, sizeof(kid), r->key_id);
	}
	if (bad != NULL) {
		snprintf(why, whylen, "missing or malformed field \"%s\"", bad);
		json_decref(j);
		return PG_ERR_PARSE;
	}
	*root = j;
	return PG_OK;
}

static int
copy_str(json_t *j, const char *key, char *out, size_t outlen)
{
	const char *s = json_string_value(json_object_get(j, key));

	if (s == NULL || strlen(s) >= outlen)
		return PG_ERR_PARSE;
	memcpy(out, s, strlen(s) + 1);
	return PG_OK;
}

int
audit_head_parse(const char *buf, size_t len, struct audit_head *h)
{
	unsigned char kid[AUDIT_KEY_ID_BYTES];
	json_t *j, *seq;
	int r = PG_ERR_PARSE;

	memset(h, 0, sizeof(*h));
	if (len > AUDIT_HEAD_MAX)
		return PG_ERR_TOOBIG;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return PG_ERR_PARSE;
	seq = json_object_get(j, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 0)
		goto out;
	h->seq = json_integer_value(seq);
	if (get_hex(j, "hash", h->hash, sizeof(h->hash)) != PG_OK ||
	    get_hex(j, "sig", h->sig, sizeof(h->sig)) != PG_OK ||
	    get_hex(j, "key_id", kid, sizeof(kid)) != PG_OK ||
	    copy_str(j, "time", h->time, sizeof(h->time)) != PG_OK ||
	    copy_str(j, "host", h->host, sizeof(h->host)) != PG_OK)
		goto out;
	audit_hex(kid, sizeof(kid), h->key_id);
	r = PG_OK;
out:
	json_decref(j);
	return r;
}

char *
audit_head_encode(const struct audit_head *h)
{
	char hash[AUDIT_HEX_BYTES], sig[2 * AUDIT_SIG_BYTES + 1];
	char *s;
	json_t *j;

	audit_hex(h->hash, sizeof(h->hash), hash);
	audit_hex(h->sig, sizeof(h->sig), sig);
	j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)h->seq,
	    "hash", hash, "time", h->time, "host", h->host, "key_id", h->key_id,
	    "sig", sig);
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

/* Reads a one-line hex key of N bytes from PATH into OUT. */
static int
load_hex_key(const char *path, int flags, unsigned char *out, size_t n)
{
	char *buf = NULL;
	size_t len = 0, got = 0;
	int r;

	r = pg_read_file(path, AUDIT_KEY_FILE_MAX, flags, &buf, &len);
	if (r != PG_OK)
		return r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len != 2 * n ||
	    sodium_hex2bin(out, n, buf, len, NULL, &got, NULL) != 0 || got != n)
		r = PG_ERR_CRYPTO;
	if (flags & PG_RF_SECRET) {
		sodium_memzero(buf, len);
		pg_free_secret(buf);
	} else {
		free(buf);
	}
	return r;
}

int
audit_load_pubkey(const char *path, unsigned char *pk)
{
	return load_hex_key(path, 0, pk, crypto_sign_PUBLICKEYBYTES);
}

int
audit_load_secret(const char *path, unsigned char *sk)
{
	return load_hex_key(
	    path, PG_RF_PRIVATE | PG_RF_SECRET, sk, crypto_sign_SECRETKEYBYTES);
}

/* Creates NAME in DIRFD with MODE, failing if it exists, and writes BUF. */
static int
write_new(int dirfd, const char *name, const char *buf, size_t len, mode_t mode)
{
	int fd, r;

	fd = openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == EEXIST ? PG_ERR_EXISTS : PG_ERR_IO;
	r = fchmod(fd, mode) == 0 ? pg_write_all(fd, buf, len) : PG_ERR_IO;
	if (r == PG_OK && fsync(fd) != 0)
		r = PG_ERR_IO;
	if (close(fd) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	if (r != PG_OK)
		(void)unlinkat(dirfd, name, 0);
	return r;
}

int
audit_keygen(const char *path)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], *sk = NULL;
	char pub[2 * crypto_sign_PUBLICKEYBYTES + 2], pubpath[4096];
	char *hex = NULL;
	const size_t hexlen = 2 * crypto_sign_SECRETKEYBYTES + 2;
	struct stat st;
	int r;

	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >=
	    (int)sizeof(pubpath))
		return PG_ERR_TOOBIG;
	if (lstat(pubpath, &st) == 0)
		return PG_ERR_EXISTS;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	hex = sodium_malloc(hexlen);
	r = PG_ERR_NOMEM;
	if (sk == NULL || hex == NULL)
		goto out;
	r = PG_ERR_CRYPTO;
	if (crypto_sign_keypair(pk, sk) != 0)
		goto out;
	audit_hex(sk, crypto_sign_SECRETKEYBYTES, hex);
	hex[hexlen - 2] = '\n';
	hex[hexlen - 1] = '\0';
	audit_hex(pk, sizeof(pk), pub);
	pub[sizeof(pub) - 2] = '\n';
	pub[sizeof(pub) - 1] = '\0';
	if ((r = write_new(AT_FDCWD, path, hex, hexlen - 1, 0600)) != PG_OK)
		goto out;
	if ((r = write_new(AT_FDCWD, pubpath, pub, sizeof(pub) - 1, 0644)) !=
	    PG_OK)
		(void)unlink(path);
out:
	sodium_free(sk);
	sodium_free(hex);
	return r;
}
