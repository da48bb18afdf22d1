/*
 * audit_key.c - the signing key of an audit log: loading it, noticing that
 * another process changed it, and changing it (audit.key records), also
 * across a crash in the middle of a change.
 *
 * A key change writes an audit.key record signed by the old key over the
 * chain so far and the new public key, then overwrites the key file in
 * place with the new secret and wipes the old one from memory.  An auditor
 * keeps only the first public key: each later one is proven by the one
 * before.  Whoever steals today's key cannot sign anything that stands
 * before the audit.key record that introduced it (forward security, as
 * journald's sealing keys give, without a protocol of our own).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit_log.h"
#include "core/state/state.h"
#include "base/base.h"

static void
note_stat(struct audit_key *k, const struct stat *st)
{
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->mtime = st->st_mtim;
	k->ctime = st->st_ctim;
}

static int
same_stat(const struct audit_key *k, const struct stat *st)
{
	return k->dev == st->st_dev && k->ino == st->st_ino &&
	    k->mtime.tv_sec == st->st_mtim.tv_sec &&
	    k->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    k->ctime.tv_sec == st->st_ctim.tv_sec &&
	    k->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int
audit_key_load(struct audit_key *k, const char *path)
{
	unsigned char *sk;
	struct stat before, after;
	int r;

	memset(&after, 0, sizeof(after));
	if (path != k->path &&
	    snprintf(k->path, sizeof(k->path), "%s", path) >=
	        (int)sizeof(k->path))
		return PG_ERR_TOOBIG;
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return PG_ERR_NOMEM;
	/* The stat taken around the read names the key read: a change in
	 * between is read again. */
	for (int tries = 0;; tries++) {
		if (stat(path, &before) != 0) {
			r = errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
			break;
		}
		if ((r = audit_load_secret(path, sk)) != PG_OK)
			break;
		if (stat(path, &after) == 0 &&
		    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
		    before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
		    before.st_ino == after.st_ino)
			break;
		if (tries == 3) {
			r = PG_ERR_IO;
			break;
		}
	}
	if (r != PG_OK) {
		sodium_free(sk);
		return r;
	}
	if (k->sk != NULL)
		sodium_free(k->sk); /* wipes the key it replaces */
	k->sk = sk;
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	audit_key_id(k->pk, k->id);
	note_stat(k, &after);
	sodium_mprotect_readonly(k->sk);
	return PG_OK;
}

void
audit_key_free(struct audit_key *k)
{
	if (k->sk != NULL)
		sodium_free(k->sk);
	k->sk = NULL;
	if (k->next != NULL)
		sodium_free(k->next);
	k->next = NULL;
}

int
audit_key_fresh(struct audit_key *k)
{
	struct stat st;

	if (k->sk == NULL)
		return PG_OK;
	if (stat(k->path, &st) != 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
	if (same_stat(k, &st))
		return PG_OK;
	return audit_key_load(k, k->path);
}

int
audit_key_due(const struct audit_key *k, int epoch_s)
{
	struct timespec now;

	if (k->sk == NULL || epoch_s <= 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	/* The file's mtime is when its key began: a change rewrites it. A
	 * clock set back makes no key older than it is. */
	return now.tv_sec - k->mtime.tv_sec >= epoch_s;
}

void
audit_key_sign(
    const struct audit_key *k, const unsigned char *d, unsigned char *sig)
{
	crypto_sign_detached(sig, NULL, d, AUDIT_HASH_BYTES, k->sk);
}

/* KEY.next: the next secret and the seq of the audit.key record that
 * introduces it, kept from before that record is written until the key
 * file holds the secret, so that a crash in between loses neither. */
static int
stash_name(const char *keyfile, char *out, size_t len)
{
	return snprintf(out, len, "%s.next", keyfile) < (int)len
	    ? PG_OK
	    : PG_ERR_TOOBIG;
}

/* Fills the stash with zeros, then removes it. */
static void
stash_wipe(const char *path)
{
	char zero[2 * crypto_sign_SECRETKEYBYTES + 32];
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		memset(zero, 0, sizeof(zero));
		if (pwrite(fd, zero, sizeof(zero), 0) == (ssize_t)sizeof(zero))
			(void)fsync(fd);
		close(fd);
	}
	(void)unlink(path);
}

/* Syncs the directory of PATH: a new name survives a crash. */
static int
sync_dir_of(const char *path)
{
	char copy[4096 + 8];
	int fd, r = PG_OK;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return PG_ERR_IO;
	if (fsync(fd) != 0)
		r = PG_ERR_IO;
	close(fd);
	return r;
}

static int
stash_write(const struct audit_key *k, long long seq)
{
	char path[sizeof(k->path) + 8];
	char buf[2 * crypto_sign_SECRETKEYBYTES + 32];
	int fd, n, r;

	if ((r = stash_name(k->path, path, sizeof(path))) != PG_OK)
		return r;
	audit_hex(k->next, crypto_sign_SECRETKEYBYTES, buf);
	n = 2 * crypto_sign_SECRETKEYBYTES;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n%lld\n", seq);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		r = PG_ERR_IO;
	else if (fchmod(fd, 0600) != 0 || pwrite(fd, buf, (size_t)n, 0) != n ||
	    fsync(fd) != 0)
		r = PG_ERR_IO;
	sodium_memzero(buf, sizeof(buf));
	if (fd >= 0 && close(fd) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	if (r == PG_OK)
		r = sync_dir_of(path);
	if (r != PG_OK)
		stash_wipe(path);
	return r;
}

int
audit_key_next(struct audit_key *k, long long seq, const unsigned char *prev,
    const char *time, const char *host, unsigned char *pk, unsigned char *sig)
{
	unsigned char d[AUDIT_HASH_BYTES];
	int r;

	if (k->sk == NULL)
		return PG_ERR_INVAL;
	if (k->next == NULL &&
	    (k->next = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return PG_ERR_NOMEM;
	if (crypto_sign_keypair(k->next_pk, k->next) != 0)
		return PG_ERR_CRYPTO;
	if ((r = stash_write(k, seq)) != PG_OK)
		return r;
	memcpy(pk, k->next_pk, AUDIT_PK_BYTES);
	audit_key_digest(seq, prev, time, host, pk, d);
	audit_key_sign(k, d, sig);
	return PG_OK;
}

/* Overwrites the key file's bytes where they lie, so that the old secret
 * does not stay behind in a freed block as a new file would leave it. */
static int
overwrite(const char *path, const unsigned char *sk)
{
	char hex[2 * crypto_sign_SECRETKEYBYTES + 2];
	const size_t n = sizeof(hex) - 1;
	struct stat st;
	int fd, r = PG_OK;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return PG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0 || st.st_uid != geteuid())
		r = PG_ERR_PERM;
	audit_hex(sk, crypto_sign_SECRETKEYBYTES, hex);
	hex[n - 1] = '\n';
	if (r == PG_OK &&
	    (pwrite(fd, hex, n, 0) != (ssize_t)n || ftruncate(fd, n) != 0 ||
	        fsync(fd) != 0))
		r = PG_ERR_IO;
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	return r;
}

int
audit_key_commit(struct audit_key *k)
{
	unsigned char *old = k->sk;
	char path[sizeof(k->path) + 8];
	struct stat st;
	int r;

	if (k->next == NULL || old == NULL)
		return PG_ERR_INVAL;
	if ((r = overwrite(k->path, k->next)) != PG_OK)
		return r;
	if (stash_name(k->path, path, sizeof(path)) == PG_OK)
		stash_wipe(path);
	k->sk = k->next;
	k->next = NULL;
	sodium_free(old);
	memcpy(k->pk, k->next_pk, AUDIT_PK_BYTES);
	audit_key_id(k->pk, k->id);
	sodium_mprotect_readonly(k->sk);
	if (stat(k->path, &st) == 0)
		note_stat(k, &st);
	return PG_OK;
}

/* The line of record SEQ in the last 16 MiB of the log PATH, into BUF
 * (AUDIT_TAIL_BUF bytes): its length, 0 when not there, -1 on error. */
static ssize_t
line_at(const char *path, long long seq, char *buf)
{
	const off_t room = AUDIT_TAIL_BUF - 1;
	struct stat st;
	off_t end, start;
	size_t w, e, ls;
	long long s;
	char *nl;
	int moved, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	/* Backwards, a window at a time, from the end to the line. */
	for (end = st.st_size; end > 0 && st.st_size - end < 16 << 20;) {
		start = end > room ? end - room : 0;
		w = (size_t)(end - start);
		if (pread(fd, buf, w, start) != (ssize_t)w)
			break;
		e = w;
		if (buf[e - 1] != '\n') {
			if ((nl = memrchr(buf, '\n', e)) == NULL)
				break;
			e = (size_t)(nl - buf) + 1;
		}
		for (moved = 0; e > 0; e = ls, moved = 1) {
			nl = e > 1 ? memrchr(buf, '\n', e - 1) : NULL;
			if (nl == NULL && start > 0)
				break; /* it starts before the window */
			ls = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
			if (audit_line_seq(buf + ls, e - 1 - ls, &s) != PG_OK ||
			    s < seq)
				goto absent;
			if (s == seq) {
				memmove(buf, buf + ls, e - 1 - ls);
				close(fd);
				return (ssize_t)(e - 1 - ls);
			}
		}
		if (e == 0 || !moved)
			break; /* the file's start, or a line over the maximum
			        */
		end = start + (off_t)e;
	}
absent:
	close(fd);
	return 0;
}

int
audit_key_recover(const char *keyfile, const char *log)
{
	char path[4096 + 8], *hex = NULL, *buf = NULL, *nl, why[8];
	unsigned char *sk = NULL, pk[AUDIT_PK_BYTES];
	struct audit_prec rec;
	json_t *root = NULL;
	long long seq = 0;
	size_t len = 0;
	ssize_t n;
	int r, done = 0;

	if ((r = stash_name(keyfile, path, sizeof(path))) != PG_OK)
		return r;
	r = pg_read_file(path, 1024, PG_RF_PRIVATE | PG_RF_SECRET, &hex, &len);
	if (r == PG_ERR_NOTFOUND)
		return PG_OK;
	if (r != PG_OK)
		return r;
	r = PG_ERR_CORRUPT;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	buf = malloc(AUDIT_TAIL_BUF);
	nl = memchr(hex, '\n', len);
	if (sk == NULL || buf == NULL || nl == NULL ||
	    nl - hex != 2 * crypto_sign_SECRETKEYBYTES ||
	    sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, hex,
	        (size_t)(nl - hex), NULL, NULL, NULL) != 0 ||
	    (seq = strtoll(nl + 1, NULL, 10)) < 1)
		goto out;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	/* Written before its record: the change happened if the log holds
	 * the record, and did not if it does not. */
	if ((n = line_at(log, seq, buf)) < 0) {
		r = PG_ERR_IO;
		goto out;
	}
	done = n > 0 &&
	    audit_rec_parse(buf, (size_t)n, &rec, &root, why, sizeof(why)) ==
	        PG_OK &&
	    rec.is_key && sodium_memcmp(rec.pk, pk, sizeof(pk)) == 0;
	json_decref(root);
	r = done ? overwrite(keyfile, sk) : PG_OK;
	if (r == PG_OK)
		r = done; /* 1: the log moved on to that key */
	if (r >= PG_OK)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		    "photoguard audit: a key change at seq %lld of %s was "
		    "interrupted; %s",
		    seq, log,
		    done ? "it is finished now"
		         : "its record is not in the log: the old key stays");
out:
	if (r == PG_ERR_CORRUPT)
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard audit: %s does not parse; removed", path);
	if (r >= PG_OK || r == PG_ERR_CORRUPT)
		stash_wipe(path);
	if (sk != NULL)
		sodium_free(sk);
	free(buf);
	sodium_memzero(hex, len);
	pg_free_secret(hex);
	return r == PG_ERR_CORRUPT ? PG_OK : r;
}
