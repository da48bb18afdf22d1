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

/* Whether SK's seed gives its public half. */
static int
whole_key(const unsigned char *sk)
{
	unsigned char pk[AUDIT_PK_BYTES], *tmp;
	int ok;

	if ((tmp = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return 0;
	ok = crypto_sign_seed_keypair(pk, tmp, sk) == 0 &&
	    sodium_memcmp(pk, sk + crypto_sign_SEEDBYTES, sizeof(pk)) == 0;
	sodium_free(tmp);
	return ok;
}

/* Puts SK in K's place under K's lock (a flusher signs a head without the
 * log's mutex) and wipes the key it replaces. */
static void
swap_in(struct audit_key *k, unsigned char *sk)
{
	unsigned char *old;

	pthread_mutex_lock(&k->mu);
	old = k->sk;
	k->sk = sk;
	crypto_sign_ed25519_sk_to_pk(k->pk, sk);
	audit_key_id(k->pk, k->id);
	pthread_mutex_unlock(&k->mu);
	if (old != NULL)
		sodium_free(old);
}

void
audit_key_init(struct audit_key *k)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->mu, NULL);
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
		/* A file read while another process overwrote it: its seed
		 * and its public half do not match; read it again. */
		if (!whole_key(sk))
			r = PG_ERR_CRYPTO;
		else if (stat(path, &after) == 0 &&
		    before.st_mtim.tv_nsec == after.st_mtim.tv_nsec &&
		    before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
		    before.st_ino == after.st_ino)
			break;
		if (tries == 3) {
			r = r == PG_OK ? PG_ERR_IO : r;
			break;
		}
		usleep(1000);
	}
	if (r != PG_OK) {
		sodium_free(sk);
		return r;
	}
	sodium_mprotect_readonly(sk);
	swap_in(k, sk);
	note_stat(k, &after);
	return PG_OK;
}

void
audit_key_free(struct audit_key *k)
{
	pthread_mutex_lock(&k->mu);
	if (k->sk != NULL)
		sodium_free(k->sk);
	k->sk = NULL;
	pthread_mutex_unlock(&k->mu);
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
	return now.tv_sec - k->mtime.tv_sec > epoch_s ||
	    (now.tv_sec - k->mtime.tv_sec == epoch_s &&
	        now.tv_nsec >= k->mtime.tv_nsec);
}

int
audit_key_sign(
    struct audit_key *k, const unsigned char *d, unsigned char *sig, char *id)
{
	int r = PG_OK;

	pthread_mutex_lock(&k->mu);
	if (k->sk == NULL)
		r = PG_ERR_INVAL;
	else
		crypto_sign_detached(sig, NULL, d, AUDIT_HASH_BYTES, k->sk);
	if (r == PG_OK && id != NULL)
		memcpy(id, k->id, sizeof(k->id));
	pthread_mutex_unlock(&k->mu);
	return r;
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
	char zero[2 * crypto_sign_SECRETKEYBYTES + 2 * AUDIT_PK_BYTES + 32];
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
	char buf[2 * crypto_sign_SECRETKEYBYTES + 2 * AUDIT_PK_BYTES + 32];
	int fd, n, r;

	if ((r = stash_name(k->path, path, sizeof(path))) != PG_OK)
		return r;
	audit_hex(k->next, crypto_sign_SECRETKEYBYTES, buf);
	n = 2 * crypto_sign_SECRETKEYBYTES;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n%lld\n", seq);
	/* ...and the key it replaces, public half: the head that key signed
	 * is checked with it if the change must be finished at an open. */
	audit_hex(k->pk, AUDIT_PK_BYTES, buf + n);
	n += 2 * AUDIT_PK_BYTES;
	buf[n++] = '\n';
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
	return audit_key_sign(k, d, sig, NULL);
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
	unsigned char *next = k->next;
	struct stat st;
	int r;

	if (next == NULL || k->sk == NULL)
		return PG_ERR_INVAL;
	if ((r = overwrite(k->path, next)) != PG_OK)
		return r;
	k->next = NULL;
	sodium_mprotect_readonly(next);
	swap_in(k, next);
	if (stat(k->path, &st) == 0)
		note_stat(k, &st);
	return PG_OK;
}

void
audit_key_done(const char *keyfile)
{
	char path[4096 + 8];

	if (stash_name(keyfile, path, sizeof(path)) == PG_OK)
		stash_wipe(path);
}

#define LINE_UNKNOWN (-2) /* line_at(): not within reach: cannot say */

/* The line of record SEQ of the log PATH, read back from its end over at
 * most 64 MiB, into BUF (AUDIT_TAIL_BUF bytes): its length (the log is
 * synced first: the record is then on disk), 0 when the log does not
 * hold it (a later record is followed by an earlier one, or the file
 * ends before it), LINE_UNKNOWN when it may stand further back or in a
 * rotated file, -1 on an error. */
static ssize_t
line_at(const char *path, long long seq, char *buf)
{
	const off_t room = AUDIT_TAIL_BUF - 1;
	struct stat st;
	off_t end, start;
	size_t w, e, ls;
	ssize_t r = LINE_UNKNOWN;
	long long s;
	char *nl;
	int moved, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (st.st_size == 0)
		r = 0;
	for (end = st.st_size; end > 0 && st.st_size - end < 64 << 20;) {
		start = end > room ? end - room : 0;
		w = (size_t)(end - start);
		if (pread(fd, buf, w, start) != (ssize_t)w) {
			r = -1;
			break;
		}
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
			if (audit_line_seq(buf + ls, e - 1 - ls, &s) != PG_OK)
				goto out; /* unknown */
			if (s < seq) {
				r = 0;
				goto out;
			}
			if (s == seq) {
				memmove(buf, buf + ls, e - 1 - ls);
				r = fdatasync(fd) == 0 ? (ssize_t)(e - 1 - ls)
				                       : -1;
				goto out;
			}
		}
		if (e == 0 || !moved)
			break; /* the file's start, or a line over the maximum
			        */
		end = start + (off_t)e;
	}
out:
	close(fd);
	return r;
}

int
audit_key_recover(const char *keyfile, const char *log, unsigned char *oldpk)
{
	char path[4096 + 8], *hex = NULL, *buf = NULL, *nl, *nl2, why[8];
	unsigned char *sk = NULL, pk[AUDIT_PK_BYTES];
	struct audit_prec rec;
	json_t *root = NULL;
	long long seq = 0;
	size_t len = 0;
	ssize_t n = -1;
	int r, done = 0;

	if ((r = stash_name(keyfile, path, sizeof(path))) != PG_OK)
		return r;
	r = pg_read_file(path, 1024, PG_RF_PRIVATE | PG_RF_SECRET, &hex, &len);
	if (r == PG_ERR_NOTFOUND)
		return PG_OK;
	if (r != PG_OK)
		return r;
	r = PG_ERR_PARSE;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	buf = malloc(AUDIT_TAIL_BUF);
	nl = memchr(hex, '\n', len);
	nl2 = nl != NULL ? memchr(nl + 1, '\n', len - (size_t)(nl + 1 - hex))
	                 : NULL;
	if (sk == NULL || buf == NULL || nl == NULL || nl2 == NULL ||
	    nl - hex != 2 * crypto_sign_SECRETKEYBYTES ||
	    sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, hex,
	        (size_t)(nl - hex), NULL, NULL, NULL) != 0 ||
	    (seq = strtoll(nl + 1, NULL, 10)) < 1 ||
	    len - (size_t)(nl2 + 1 - hex) < 2 * AUDIT_PK_BYTES ||
	    sodium_hex2bin(oldpk, AUDIT_PK_BYTES, nl2 + 1, 2 * AUDIT_PK_BYTES,
	        NULL, NULL, NULL) != 0)
		goto out;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	/* Written before its record: the change happened if the log holds
	 * the record, and did not if it does not; when that cannot be told,
	 * nothing is signed until an admin looks. */
	if ((n = line_at(log, seq, buf)) < 0) {
		r = n == LINE_UNKNOWN ? PG_ERR_CORRUPT : PG_ERR_IO;
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: a key change at seq %lld of %s was "
		    "interrupted, and the record that would introduce the new "
		    "key %s; keeping %s and refusing to sign",
		    seq, log,
		    n == LINE_UNKNOWN ? "is not within reach"
		                      : "could not be read",
		    path);
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
	if (r == PG_ERR_PARSE)
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard audit: %s does not parse; removed", path);
	/* Finished: the stash goes once the new key's head is written
	 * (audit_key_done()). */
	if (r == PG_OK || r == PG_ERR_PARSE)
		stash_wipe(path);
	if (sk != NULL)
		sodium_free(sk);
	free(buf);
	sodium_memzero(hex, len);
	pg_free_secret(hex);
	return r == PG_ERR_PARSE ? PG_OK : r;
}
