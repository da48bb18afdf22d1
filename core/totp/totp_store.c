/*
 * totp_store.c - the encrypted per-user TOTP records: opening the store,
 * loading and saving records under the host key, and the locked
 * read-modify-write behind enrollment, confirmation and login checks.
 * See totp_store.h; the record layout is in totp_record.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/totp.h"
#include "core/totp/totp_record.h"

#define MAGIC         "PGTOTP\001\n"
#define MAGIC_LEN     8
#define NONCE_LEN     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN       crypto_aead_xchacha20poly1305_ietf_ABYTES
#define FILE_SIZE     (MAGIC_LEN + NONCE_LEN + TOTP_REC_SIZE + TAG_LEN)
#define FILE_READ_MAX 4096

struct totp_store {
	int dirfd;
	uint8_t *key; /* TOTP_HOSTKEY_BYTES, sodium_malloc() */
	char why[256];
	const struct totp_store_ops *ops; /* another store; NULL: files */
	void *impl;
	/* An enrollment TOTP_ENROLL_STAGED keeps until it is confirmed. */
	struct totp_record *staged;
	char staged_user[TOTP_USER_MAX + 1];
	/* What the user had when it was staged (record_fp()). */
	uint8_t staged_fp[crypto_generichash_BYTES];
};

/* The file names of one user. */
struct names {
	char rec[TOTP_FILENAME_MAX];
	char lock[TOTP_FILENAME_MAX];
};

static void set_why(struct totp_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_why(struct totp_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

const char *
totp_store_why(const struct totp_store *st)
{
	if (st == NULL)
		return "no store";
	if (st->ops != NULL && st->why[0] == '\0')
		return st->ops->why(st->impl);
	return st->why[0] != '\0' ? st->why : "no detail";
}

/*
 * Every entry point that takes a user checks it here, before either
 * store sees it, so a store made by wrap is held to the names the files
 * store can spell: 1 to TOTP_USER_MAX bytes and no control byte (a name
 * no login prompt gives, and one a log or a filter would have to
 * escape).  The errors are the files store's own: PG_ERR_INVAL, and
 * PG_ERR_TOOBIG for a name too long.  Clears the last why.
 */
static int
check_user(struct totp_store *st, const char *user)
{
	size_t i, n;

	st->why[0] = '\0';
	if (user == NULL || user[0] == '\0') {
		set_why(st, "empty user name");
		return PG_ERR_INVAL;
	}
	if ((n = strnlen(user, TOTP_USER_MAX + 1)) > TOTP_USER_MAX) {
		set_why(st, "user name longer than %d bytes", TOTP_USER_MAX);
		return PG_ERR_TOOBIG;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f) {
			set_why(st, "user name holds a control byte");
			return PG_ERR_INVAL;
		}
	return PG_OK;
}

int
totp_hostkey_generate(const char *path)
{
	uint8_t key[TOTP_HOSTKEY_BYTES];
	int fd, r = PG_OK;

	if (path == NULL || *path == '\0')
		return PG_ERR_INVAL;
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? PG_ERR_EXISTS : PG_ERR_IO;
	randombytes_buf(key, sizeof(key));
	if (fchmod(fd, 0600) != 0 || pg_write_all(fd, key, sizeof(key)) != 0 ||
	    fsync(fd) != 0)
		r = PG_ERR_IO;
	sodium_memzero(key, sizeof(key));
	if (close(fd) != 0)
		r = PG_ERR_IO;
	if (r != PG_OK)
		(void)unlink(path);
	return r;
}

static int
dir_private(int dirfd)
{
	struct stat st;

	if (fstat(dirfd, &st) != 0)
		return PG_ERR_IO;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return PG_ERR_PERM;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return PG_ERR_PERM;
	return PG_OK;
}

int
totp_store_open(const char *dir, const char *host_key_file, int create,
    struct totp_store **out)
{
	struct totp_store *st = NULL;
	char *key = NULL;
	size_t klen = 0;
	int r;

	*out = NULL;
	if (dir == NULL || host_key_file == NULL)
		return PG_ERR_INVAL;
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PG_ERR_NOMEM;
	st->dirfd = -1;
	r = pg_read_file(
	    host_key_file, 64, PG_RF_PRIVATE | PG_RF_SECRET, &key, &klen);
	if (r == PG_OK && klen != TOTP_HOSTKEY_BYTES)
		r = PG_ERR_CORRUPT;
	if (r != PG_OK)
		goto out;
	st->key = (uint8_t *)key;
	key = NULL; /* transferred */
	if ((st->dirfd = pg_open_dir(dir, create, 0700)) < 0) {
		r = st->dirfd;
		goto out;
	}
	if ((r = dir_private(st->dirfd)) != PG_OK)
		goto out;
	*out = st;
	st = NULL; /* transferred */
	r = PG_OK;
out:
	pg_free_secret(key);
	totp_store_free(st);
	return r;
}

void
totp_store_free(struct totp_store *st)
{
	if (st == NULL)
		return;
	if (st->ops != NULL)
		st->ops->free(st->impl);
	if (st->dirfd >= 0)
		close(st->dirfd);
	if (st->staged != NULL)
		sodium_free(st->staged);
	pg_free_secret((char *)st->key);
	sodium_memzero(st->staged_fp, sizeof(st->staged_fp));
	free(st);
}

static int
make_names(struct totp_store *st, const char *user, struct names *n)
{
	int r;

	st->why[0] = '\0';
	if ((r = pg_name_encode(PG_NAME_PCT, "", user, TOTP_USER_MAX, ".totp",
	         n->rec, sizeof(n->rec))) != PG_OK ||
	    (r = pg_name_encode(PG_NAME_PCT, "", user, TOTP_USER_MAX, ".lock",
	         n->lock, sizeof(n->lock))) != PG_OK)
		set_why(st, "unusable user name");
	return r;
}

/* Associated data: the magic and the user, binding a file to its user. */
static size_t
make_ad(const char *user, uint8_t *ad, size_t adlen)
{
	size_t ulen = strnlen(user, TOTP_USER_MAX);

	if (MAGIC_LEN + ulen > adlen)
		return 0;
	memcpy(ad, MAGIC, MAGIC_LEN);
	memcpy(ad + MAGIC_LEN, user, ulen);
	return MAGIC_LEN + ulen;
}

static int
read_err(struct totp_store *st, const char *name, int r)
{
	switch (r) {
	case PG_ERR_NOTFOUND:
		set_why(st, "%s: no secret enrolled", name);
		break;
	case PG_ERR_SYMLINK:
		set_why(st, "%s: is a symbolic link, refused", name);
		break;
	case PG_ERR_PERM:
		set_why(st, "%s: wrong owner or group/world-accessible", name);
		break;
	case PG_ERR_INVAL:
		set_why(st, "%s: not a regular file", name);
		r = PG_ERR_CORRUPT;
		break;
	case PG_ERR_TOOBIG:
		set_why(st, "%s: too large for a TOTP record", name);
		r = PG_ERR_CORRUPT;
		break;
	default:
		set_why(st, "%s: cannot read: %s", name, pg_strerror(r));
		break;
	}
	return r;
}

/* Decrypts BUF (FILE_SIZE bytes) into a fresh record. */
static int
open_record(struct totp_store *st, const char *user, const char *name,
    const uint8_t *buf, struct totp_record **out)
{
	uint8_t ad[MAGIC_LEN + TOTP_USER_MAX];
	uint8_t *pt = NULL;
	struct totp_record *rec = NULL;
	unsigned long long ptlen = 0;
	size_t adlen = make_ad(user, ad, sizeof(ad));
	int r = PG_ERR_NOMEM;

	pt = sodium_malloc(TOTP_REC_SIZE);
	rec = sodium_malloc(sizeof(*rec));
	if (pt == NULL || rec == NULL || adlen == 0)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL,
	        buf + MAGIC_LEN + NONCE_LEN, TOTP_REC_SIZE + TAG_LEN, ad, adlen,
	        buf + MAGIC_LEN, st->key) != 0 ||
	    ptlen != TOTP_REC_SIZE) {
		set_why(st,
		    "%s: does not authenticate (tampered, another "
		    "user's file, or a different host key)",
		    name);
		r = PG_ERR_CORRUPT;
		goto out;
	}
	if (totp_record_decode(pt, rec) != PG_OK) {
		set_why(st, "%s: record fields out of range", name);
		r = PG_ERR_CORRUPT;
		goto out;
	}
	*out = rec;
	rec = NULL; /* transferred */
	r = PG_OK;
out:
	if (pt != NULL)
		sodium_free(pt);
	if (rec != NULL)
		sodium_free(rec);
	return r;
}

static int
load(struct totp_store *st, const char *user, const struct names *n,
    struct totp_record **out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = pg_read_file_at(st->dirfd, n->rec, FILE_READ_MAX,
	    PG_RF_PRIVATE | PG_RF_SECRET, &buf, &len);
	if (r != PG_OK)
		return read_err(st, n->rec, r);
	if (len == 0) {
		set_why(st, "%s: empty file", n->rec);
		r = PG_ERR_CORRUPT;
	} else if (len != FILE_SIZE) {
		set_why(st, "%s: %zu bytes, a record has %d (truncated?)",
		    n->rec, len, (int)FILE_SIZE);
		r = PG_ERR_CORRUPT;
	} else if (memcmp(buf, MAGIC, MAGIC_LEN) != 0) {
		set_why(st, "%s: not a photoguard TOTP record", n->rec);
		r = PG_ERR_CORRUPT;
	} else {
		r = open_record(st, user, n->rec, (const uint8_t *)buf, out);
	}
	pg_free_secret(buf);
	return r;
}

static int
save(struct totp_store *st, const char *user, const struct names *n,
    const struct totp_record *rec)
{
	uint8_t ad[MAGIC_LEN + TOTP_USER_MAX];
	uint8_t file[FILE_SIZE];
	uint8_t *pt;
	size_t adlen = make_ad(user, ad, sizeof(ad));
	int r = PG_OK;

	if ((pt = sodium_malloc(TOTP_REC_SIZE)) == NULL || adlen == 0) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	totp_record_encode(rec, pt);
	memcpy(file, MAGIC, MAGIC_LEN);
	randombytes_buf(file + MAGIC_LEN, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	        file + MAGIC_LEN + NONCE_LEN, NULL, pt, TOTP_REC_SIZE, ad,
	        adlen, NULL, file + MAGIC_LEN, st->key) != 0) {
		r = PG_ERR_CRYPTO;
		goto out;
	}
	r = pg_write_file_atomic(st->dirfd, n->rec, file, sizeof(file), 0600);
	if (r != PG_OK)
		set_why(st, "%s: cannot write: %s", n->rec, pg_strerror(r));
out:
	if (pt != NULL)
		sodium_free(pt);
	return r;
}

/*
 * Locks USER's record.  With MUST_EXIST, a user without a record gets
 * PG_ERR_NOTFOUND before a lock file is created, so names typed at a
 * login prompt cannot fill the directory with lock files.
 */
static int
lock_user(struct totp_store *st, const struct names *n, int must_exist)
{
	struct stat sb;
	int fd;

	if (must_exist &&
	    fstatat(st->dirfd, n->rec, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno == ENOENT) {
		set_why(st, "%s: no secret enrolled", n->rec);
		return PG_ERR_NOTFOUND;
	}
	fd = pg_lock_at(st->dirfd, n->lock, TOTP_LOCK_TIMEOUT_MS);

	if (fd < 0)
		set_why(st, "%s: %s", n->lock, pg_strerror(fd));
	return fd;
}

static void
free_record(struct totp_record *rec)
{
	if (rec != NULL)
		sodium_free(rec); /* sodium_free() wipes */
}

/* Fills a fresh pending record and the enrollment shown to the user. */
static int
fill_enrollment(struct totp_record *rec, struct totp_enrollment *e, time_t now,
    int digits, int step_s)
{
	char norm[TOTP_SCRATCH_CHARS + 1];
	int i, r = PG_OK;

	memset(rec, 0, sizeof(*rec));
	memset(e, 0, sizeof(*e));
	rec->state = TOTP_STATE_PENDING;
	rec->digits = (uint8_t)digits;
	rec->step_s = (uint16_t)step_s;
	rec->secret_len = TOTP_SECRET_BYTES;
	randombytes_buf(rec->secret, TOTP_SECRET_BYTES);
	rec->last_step = TOTP_NO_STEP;
	rec->enrolled_at = (int64_t)now;
	rec->pwhash_ops = TOTP_SCRATCH_OPS;
	rec->pwhash_mem_kib = TOTP_SCRATCH_MEM_KIB;
	randombytes_buf(rec->salt, sizeof(rec->salt));
	rec->nscratch = TOTP_SCRATCH_COUNT;
	for (i = 0; i < TOTP_SCRATCH_COUNT && r == PG_OK; i++) {
		totp_scratch_generate(norm);
		r = totp_scratch_hash(rec, norm, rec->scratch[i].hash);
		memcpy(e->scratch[i], norm, 5);
		e->scratch[i][5] = '-';
		memcpy(e->scratch[i] + 6, norm + 5, TOTP_SCRATCH_CHARS - 5);
		e->scratch[i][TOTP_SCRATCH_CHARS + 1] = '\0';
	}
	sodium_memzero(norm, sizeof(norm));
	if (r != PG_OK)
		return r;
	memcpy(e->secret, rec->secret, TOTP_SECRET_BYTES);
	e->digits = digits;
	e->step_s = step_s;
	return totp_base32_encode(
	    e->secret, TOTP_SECRET_BYTES, e->secret_b32, sizeof(e->secret_b32));
}

/*
 * A digest of the secret USER has now (or of none), so that a confirmation
 * can tell whether someone replaced it meanwhile.
 */
static int
record_fp(struct totp_store *st, const char *user, const struct names *n,
    uint8_t fp[crypto_generichash_BYTES])
{
	crypto_generichash_state h;
	struct totp_record *rec = NULL;
	uint8_t tag;
	int r;

	r = load(st, user, n, &rec);
	if (r != PG_OK && r != PG_ERR_NOTFOUND)
		return r;
	tag = rec != NULL;
	crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
	crypto_generichash_update(&h, &tag, 1);
	if (rec != NULL) {
		crypto_generichash_update(&h, &rec->secret_len, 1);
		crypto_generichash_update(&h, rec->secret, rec->secret_len);
		crypto_generichash_update(&h,
		    (const uint8_t *)&rec->enrolled_at,
		    sizeof(rec->enrolled_at));
	}
	crypto_generichash_final(&h, fp, crypto_generichash_BYTES);
	sodium_memzero(&h, sizeof(h));
	free_record(rec);
	return PG_OK;
}

/*
 * A fresh enrollment kept in ST only: the record on disk is replaced at
 * its confirmation (totp_store_confirm()), if it is still the one USER
 * had now.
 */
static int
stage(struct totp_store *st, const char *user, const struct names *n,
    time_t now, int digits, int step_s, struct totp_enrollment **out)
{
	struct totp_record *rec = sodium_malloc(sizeof(*rec));
	struct totp_enrollment *e = sodium_malloc(sizeof(*e));
	int r;

	if (rec == NULL || e == NULL) {
		r = PG_ERR_NOMEM;
		goto fail;
	}
	if ((r = record_fp(st, user, n, st->staged_fp)) != PG_OK)
		goto fail;
	if ((r = fill_enrollment(rec, e, now, digits, step_s)) != PG_OK)
		goto fail;
	if (st->staged != NULL)
		sodium_free(st->staged);
	st->staged = rec;
	snprintf(st->staged_user, sizeof(st->staged_user), "%s", user);
	*out = e;
	return PG_OK;
fail:
	free_record(rec);
	totp_enrollment_free(e);
	return r;
}

int
totp_store_enroll(struct totp_store *st, const char *user, int reset,
    time_t now, int digits, int step_s, struct totp_enrollment **out)
{
	struct totp_record *old = NULL, *rec = NULL;
	struct totp_enrollment *e = NULL;
	struct names n;
	int lock = -1, r;

	*out = NULL;
	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (now < 0 || digits < TOTP_MIN_DIGITS || digits > TOTP_MAX_DIGITS ||
	    step_s < 1 || step_s > TOTP_MAX_STEP_S)
		return PG_ERR_INVAL;
	if (st->ops != NULL)
		return st->ops->enroll(
		    st->impl, user, reset, now, digits, step_s, out);
	if ((r = make_names(st, user, &n)) != PG_OK)
		return r;
	if (reset == TOTP_ENROLL_STAGED)
		return stage(st, user, &n, now, digits, step_s, out);
	if ((lock = lock_user(st, &n, 0)) < 0)
		return lock;
	r = load(st, user, &n, &old);
	if (r != PG_ERR_NOTFOUND && !reset) {
		if (r == PG_OK) {
			set_why(st, "%s: already enrolled", n.rec);
			r = PG_ERR_EXISTS;
		}
		goto out;
	}
	rec = sodium_malloc(sizeof(*rec));
	e = sodium_malloc(sizeof(*e));
	if (rec == NULL || e == NULL) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	if ((r = fill_enrollment(rec, e, now, digits, step_s)) != PG_OK ||
	    (r = save(st, user, &n, rec)) != PG_OK)
		goto out;
	*out = e;
	e = NULL; /* transferred */
out:
	free_record(old);
	free_record(rec);
	totp_enrollment_free(e);
	close(lock);
	return r;
}

void
totp_enrollment_free(struct totp_enrollment *e)
{
	if (e != NULL)
		sodium_free(e);
}

/* Checks a TOTP code against REC; on success advances its last step. */
static int
code_step(struct totp_store *st, struct totp_record *rec, const char *name,
    const char *code, time_t now, int window)
{
	int64_t m = TOTP_NO_STEP;
	int r;

	r = totp_verify(rec->secret, rec->secret_len, code, now, rec->step_s,
	    window, rec->digits, rec->last_step, &m);
	if (r == PG_OK) {
		rec->last_step = m;
		rec->last_used = (int64_t)now;
	} else if (r == PG_ERR_REPLAY) {
		set_why(st, "%s: code for an already used time step", name);
	} else {
		set_why(st, "%s: %s", name, pg_strerror(r));
	}
	return r;
}

/*
 * Locks USER's record, which must exist, and loads it.  On success *LOCK
 * is the lock to close and *REC the record to free_record(); on failure
 * there is nothing to release.
 */
static int
load_locked(struct totp_store *st, const char *user, struct names *n, int *lock,
    struct totp_record **rec)
{
	int r;

	*lock = -1;
	*rec = NULL;
	if ((r = make_names(st, user, n)) != PG_OK)
		return r;
	if ((r = lock_user(st, n, 1)) < 0)
		return r;
	*lock = r;
	if ((r = load(st, user, n, rec)) != PG_OK) {
		free_record(*rec);
		*rec = NULL;
		close(*lock);
		*lock = -1;
	}
	return r;
}

/*
 * Confirms the staged enrollment of USER: on a good first code it
 * replaces the record USER had when it was staged, under the user's lock.
 * A record replaced meanwhile (an admin's reset) is kept and the staged
 * one dropped.  A wrong code leaves the staged one for another try on
 * this handle.
 */
static int
confirm_staged(struct totp_store *st, const char *user, const char *code,
    time_t now, int window)
{
	uint8_t fp[crypto_generichash_BYTES];
	struct names n;
	int lock, r;

	if ((r = make_names(st, user, &n)) != PG_OK)
		return r;
	if ((r = code_step(st, st->staged, n.rec, code, now, window)) != PG_OK)
		return r;
	if ((lock = lock_user(st, &n, 0)) < 0)
		return lock;
	if ((r = record_fp(st, user, &n, fp)) == PG_OK &&
	    sodium_memcmp(fp, st->staged_fp, sizeof(fp)) != 0) {
		set_why(st,
		    "%s: replaced since this enrollment began (an "
		    "admin's reset?); kept",
		    n.rec);
		r = PG_ERR_EXISTS;
	}
	st->staged->state = TOTP_STATE_ACTIVE;
	if (r == PG_OK)
		r = save(st, user, &n, st->staged);
	close(lock);
	sodium_free(st->staged);
	st->staged = NULL;
	return r;
}

int
totp_store_confirm(struct totp_store *st, const char *user, const char *code,
    time_t now, int window)
{
	struct totp_record *rec = NULL;
	struct names n;
	int lock, r;

	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (st->ops != NULL)
		return st->ops->confirm(st->impl, user, code, now, window);
	if (st->staged != NULL && strcmp(st->staged_user, user) == 0)
		return confirm_staged(st, user, code, now, window);
	if ((r = load_locked(st, user, &n, &lock, &rec)) != PG_OK)
		return r;
	if (rec->state != TOTP_STATE_PENDING) {
		set_why(st, "%s: already active", n.rec);
		r = PG_ERR_INVAL;
		goto out;
	}
	if ((r = code_step(st, rec, n.rec, code, now, window)) != PG_OK)
		goto out;
	rec->state = TOTP_STATE_ACTIVE;
	r = save(st, user, &n, rec);
out:
	free_record(rec);
	close(lock);
	return r;
}

int
totp_store_check(struct totp_store *st, const char *user, const char *code,
    time_t now, int window, enum totp_method *how)
{
	struct totp_record *rec = NULL;
	enum totp_method m = TOTP_BY_NONE;
	struct names n;
	int lock, r;

	if (how != NULL)
		*how = TOTP_BY_NONE;
	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (code == NULL || now < 0)
		return PG_ERR_INVAL;
	if (st->ops != NULL)
		return st->ops->check(st->impl, user, code, now, window, how);
	if ((r = load_locked(st, user, &n, &lock, &rec)) != PG_OK)
		return r;
	if (rec->state != TOTP_STATE_ACTIVE) {
		set_why(st, "%s: enrollment not confirmed", n.rec);
		r = PG_ERR_PENDING;
		goto out;
	}
	if (totp_code_format_ok(code, rec->digits)) {
		r = code_step(st, rec, n.rec, code, now, window);
		m = TOTP_BY_CODE;
	} else if ((r = totp_scratch_use(rec, code)) == PG_OK) {
		rec->last_used = (int64_t)now;
		m = TOTP_BY_SCRATCH;
	} else {
		set_why(st,
		    "%s: neither a valid code nor an unused scratch "
		    "code",
		    n.rec);
	}
	if (r == PG_OK && (r = save(st, user, &n, rec)) == PG_OK && how != NULL)
		*how = m;
out:
	free_record(rec);
	close(lock);
	return r;
}

int
totp_store_status(
    struct totp_store *st, const char *user, struct totp_status *out)
{
	struct totp_record *rec = NULL;
	struct names n;
	int i, r;

	memset(out, 0, sizeof(*out));
	out->last_step = TOTP_NO_STEP;
	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (st->ops != NULL)
		return st->ops->status(st->impl, user, out);
	if ((r = make_names(st, user, &n)) != PG_OK)
		return r;
	r = load(st, user, &n, &rec);
	if (r == PG_ERR_NOTFOUND) {
		out->state = TOTP_STATE_NONE;
		return PG_OK;
	}
	if (r != PG_OK)
		return r;
	out->state = (enum totp_state)rec->state;
	out->last_step = rec->last_step;
	out->enrolled_at = rec->enrolled_at;
	out->last_used = rec->last_used;
	out->digits = rec->digits;
	out->step_s = rec->step_s;
	for (i = 0; i < rec->nscratch; i++)
		out->scratch_left += !rec->scratch[i].used;
	free_record(rec);
	return PG_OK;
}

int
totp_store_wrap(
    const struct totp_store_ops *ops, void *impl, struct totp_store **out)
{
	struct totp_store *st;

	*out = NULL;
	if (ops == NULL || impl == NULL || ops->enroll == NULL ||
	    ops->confirm == NULL || ops->check == NULL || ops->status == NULL ||
	    ops->fail_add == NULL || ops->fail_reset == NULL ||
	    ops->why == NULL || ops->free == NULL)
		return PG_ERR_INVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PG_ERR_NOMEM;
	st->dirfd = -1;
	st->ops = ops;
	st->impl = impl;
	*out = st;
	return PG_OK;
}

bool
totp_store_counts_failures(const struct totp_store *st)
{
	return st != NULL && st->ops != NULL;
}

int
totp_store_failures_add(struct totp_store *st, const char *user, time_t now,
    int window_s, unsigned *n, unsigned *run)
{
	int r;

	*n = *run = 0;
	if (!totp_store_counts_failures(st) || now < 0 || window_s <= 0)
		return PG_ERR_INVAL;
	if ((r = check_user(st, user)) != PG_OK)
		return r;
	return st->ops->fail_add(st->impl, user, now, window_s, n, run);
}

int
totp_store_failures_reset(struct totp_store *st, const char *user)
{
	int r;

	if (!totp_store_counts_failures(st))
		return PG_ERR_INVAL;
	if ((r = check_user(st, user)) != PG_OK)
		return r;
	return st->ops->fail_reset(st->impl, user);
}

/* A token's characters: base32's, in lower case. */
static const char token_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* The token file of USER, and its lock (the user's). */
static int
token_names(struct totp_store *st, const char *user, struct names *n, char *tok,
    size_t toklen)
{
	int r;

	if ((r = make_names(st, user, n)) != PG_OK)
		return r;
	if ((r = pg_name_encode(PG_NAME_PCT, "", user, TOTP_USER_MAX, ".token",
	         tok, toklen)) != PG_OK)
		set_why(st, "unusable user name");
	return r;
}

/* Lower case, without dashes and spaces: the token's TOTP_TOKEN_CHARS. */
static int
token_norm(const char *answer, char norm[TOTP_TOKEN_CHARS + 1])
{
	size_t n = 0;
	const char *p;

	for (p = answer; *p != '\0'; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if (c == '-' || c == ' ')
			continue;
		if (n == TOTP_TOKEN_CHARS || strchr(token_alphabet, c) == NULL)
			return PG_ERR_PARSE;
		norm[n++] = c;
	}
	norm[n] = '\0';
	return n == TOTP_TOKEN_CHARS ? PG_OK : PG_ERR_PARSE;
}

int
totp_token_format_ok(const char *answer)
{
	char norm[TOTP_TOKEN_CHARS + 1];
	int ok = answer != NULL && strnlen(answer, 64) < 64 &&
	    token_norm(answer, norm) == PG_OK;

	sodium_memzero(norm, sizeof(norm));
	return ok;
}

/*
 * The hash a token record keeps, binding the token to USER: keyed by the
 * host key in the files store; unkeyed in a store made by wrap, whose
 * servers share no key (80 random bits are past guessing either way, and
 * the directory shows the value to the bind DN only).
 */
static int
token_hash(const struct totp_store *st, const char *user, const char *norm,
    uint8_t out[32])
{
	crypto_generichash_state h;
	const uint8_t *key = st->ops == NULL ? st->key : NULL;
	size_t keylen = st->ops == NULL ? TOTP_HOSTKEY_BYTES : 0;

	if (crypto_generichash_init(&h, key, keylen, 32) != 0 ||
	    crypto_generichash_update(&h, (const uint8_t *)"pgtoken1", 9) !=
	        0 ||
	    crypto_generichash_update(
	        &h, (const uint8_t *)user, strlen(user) + 1) != 0 ||
	    crypto_generichash_update(
	        &h, (const uint8_t *)norm, TOTP_TOKEN_CHARS) != 0 ||
	    crypto_generichash_final(&h, out, 32) != 0)
		return PG_ERR_CRYPTO;
	sodium_memzero(&h, sizeof(h));
	return PG_OK;
}

/* Parses a token record, "pgtoken1 EXPIRES HEX" (a newline may follow). */
static int
token_parse(const char *rec, int64_t *expires, uint8_t hash[32])
{
	char hex[65], end[2];
	long long exp;
	size_t bin = 0;
	int n;

	n = sscanf(rec, "pgtoken1 %lld %64[0-9a-f]%1[^\n]", &exp, hex, end);
	if (n != 2 || strlen(hex) != 64 ||
	    sodium_hex2bin(hash, 32, hex, 64, NULL, &bin, NULL) != 0 ||
	    bin != 32 || exp < 0)
		return PG_ERR_CORRUPT;
	*expires = exp;
	return PG_OK;
}

/* A wrap store's token record of USER into BUF.  Errors set the why. */
static int
token_get_wrapped(
    struct totp_store *st, const char *user, char *buf, size_t len)
{
	if (st->ops->token_get == NULL) {
		set_why(st, "this TOTP store keeps no enrollment tokens");
		return PG_ERR_INVAL;
	}
	return st->ops->token_get(st->impl, user, buf, len);
}

int
totp_token_issue(struct totp_store *st, const char *user, time_t now, int ttl_s,
    char out[TOTP_TOKEN_TEXT])
{
	char norm[TOTP_TOKEN_CHARS + 1], tok[TOTP_FILENAME_MAX], line[128];
	char hex[65];
	uint8_t hash[32];
	struct names n;
	int i, lock, len, r;

	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (now < 0 || ttl_s <= 0)
		return PG_ERR_INVAL;
	if (st->ops != NULL && st->ops->token_put == NULL) {
		set_why(st, "this TOTP store keeps no enrollment tokens");
		return PG_ERR_INVAL;
	}
	if (st->ops == NULL &&
	    (r = token_names(st, user, &n, tok, sizeof(tok))) != PG_OK)
		return r;
	for (i = 0; i < TOTP_TOKEN_CHARS; i++)
		norm[i] = token_alphabet[randombytes_uniform(32)];
	norm[TOTP_TOKEN_CHARS] = '\0';
	if ((r = token_hash(st, user, norm, hash)) != PG_OK)
		goto out;
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	len = snprintf(line, sizeof(line), "pgtoken1 %lld %s\n",
	    (long long)now + ttl_s, hex);
	if (st->ops != NULL) {
		line[len - 1] = '\0'; /* a value, not a line */
		r = st->ops->token_put(st->impl, user, line);
	} else if ((lock = lock_user(st, &n, 0)) < 0) {
		r = lock;
	} else {
		r = pg_write_file_atomic(
		    st->dirfd, tok, line, (size_t)len, 0600);
		close(lock);
		if (r != PG_OK)
			set_why(
			    st, "%s: cannot write: %s", tok, pg_strerror(r));
	}
	if (r != PG_OK)
		goto out;
	for (i = 0; i < 4; i++) {
		memcpy(out + i * 5, norm + i * 4, 4);
		out[i * 5 + 4] = i < 3 ? '-' : '\0';
	}
out:
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(hash, sizeof(hash));
	return r;
}

/* Reads the token file TOK: expiry and hash.  Errors set the why. */
static int
token_read(
    struct totp_store *st, const char *tok, int64_t *expires, uint8_t hash[32])
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = pg_read_file_at(
	    st->dirfd, tok, 256, PG_RF_PRIVATE | PG_RF_SECRET, &buf, &len);
	if (r != PG_OK) {
		if (r == PG_ERR_NOTFOUND)
			set_why(st, "%s: no enrollment token", tok);
		else
			read_err(st, tok, r);
		return r;
	}
	if ((r = token_parse(buf, expires, hash)) != PG_OK)
		set_why(st, "%s: not an enrollment token file", tok);
	pg_free_secret(buf);
	return r;
}

/* A wrap store's token of USER: its record REC, expiry and hash. */
static int
token_read_wrapped(struct totp_store *st, const char *user, char *rec,
    size_t len, int64_t *expires, uint8_t hash[32])
{
	int r;

	if ((r = token_get_wrapped(st, user, rec, len)) != PG_OK)
		return r;
	if ((r = token_parse(rec, expires, hash)) != PG_OK)
		set_why(st, "the stored enrollment token does not parse");
	return r;
}

int
totp_token_expiry(struct totp_store *st, const char *user, int64_t *expires)
{
	char tok[TOTP_FILENAME_MAX], rec[TOTP_TOKEN_RECORD_MAX];
	uint8_t hash[32];
	struct names n;
	int r;

	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (st->ops != NULL) {
		if (st->ops->token_get == NULL)
			return PG_ERR_NOTFOUND;
		return token_read_wrapped(
		    st, user, rec, sizeof(rec), expires, hash);
	}
	if ((r = token_names(st, user, &n, tok, sizeof(tok))) != PG_OK)
		return r;
	return token_read(st, tok, expires, hash);
}

/* Is ANSWER the token whose hash is WANT?  In constant time. */
static bool
token_matches(struct totp_store *st, const char *user, const char *answer,
    const uint8_t want[32])
{
	char norm[TOTP_TOKEN_CHARS + 1];
	uint8_t got[32];
	bool ok = token_norm(answer, norm) == PG_OK &&
	    token_hash(st, user, norm, got) == PG_OK &&
	    sodium_memcmp(got, want, 32) == 0;

	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(got, sizeof(got));
	return ok;
}

/*
 * A wrap store's token: spent by removing exactly its record, which of
 * servers racing with one token only one achieves.
 */
static int
token_use_wrapped(
    struct totp_store *st, const char *user, const char *answer, time_t now)
{
	char rec[TOTP_TOKEN_RECORD_MAX];
	uint8_t want[32];
	int64_t expires = 0;
	int r;

	if (st->ops->token_take == NULL)
		return PG_ERR_INVAL;
	r = token_read_wrapped(st, user, rec, sizeof(rec), &expires, want);
	if (r != PG_OK)
		goto out;
	if (!token_matches(st, user, answer, want)) {
		set_why(st, "not the enrollment token");
		r = PG_ERR_BADCODE;
		goto out;
	}
	if ((int64_t)now >= expires) {
		(void)st->ops->token_take(st->impl, user, rec);
		set_why(st, "the enrollment token expired");
		r = PG_ERR_BADCODE;
		goto out;
	}
	r = st->ops->token_take(st->impl, user, rec);
	if (r == PG_ERR_REPLAY) {
		set_why(st,
		    "the enrollment token was spent on another "
		    "server first");
		r = PG_ERR_BADCODE;
	}
out:
	sodium_memzero(rec, sizeof(rec));
	sodium_memzero(want, sizeof(want));
	return r;
}

int
totp_token_use(
    struct totp_store *st, const char *user, const char *answer, time_t now)
{
	char tok[TOTP_FILENAME_MAX];
	uint8_t want[32];
	struct names n;
	struct stat sb;
	int64_t expires = 0;
	int lock, r;

	if ((r = check_user(st, user)) != PG_OK)
		return r;
	if (st->ops != NULL)
		return token_use_wrapped(st, user, answer, now);
	if ((r = token_names(st, user, &n, tok, sizeof(tok))) != PG_OK)
		return r;
	/* No token: no lock file made for a name typed at a prompt. */
	if (fstatat(st->dirfd, tok, &sb, AT_SYMLINK_NOFOLLOW) != 0 &&
	    errno == ENOENT) {
		set_why(st, "%s: no enrollment token", tok);
		return PG_ERR_NOTFOUND;
	}
	if ((lock = lock_user(st, &n, 0)) < 0)
		return lock;
	if ((r = token_read(st, tok, &expires, want)) != PG_OK)
		goto out;
	if (!token_matches(st, user, answer, want)) {
		set_why(st, "%s: not the enrollment token", tok);
		r = PG_ERR_BADCODE;
		goto out;
	}
	if ((int64_t)now >= expires) {
		set_why(st, "%s: the enrollment token expired", tok);
		(void)unlinkat(st->dirfd, tok, 0);
		r = PG_ERR_BADCODE;
		goto out;
	}
	/* Spent before anything is enrolled with it: it works once. */
	if (unlinkat(st->dirfd, tok, 0) != 0 || fsync(st->dirfd) != 0) {
		set_why(st, "%s: cannot remove the spent token", tok);
		r = PG_ERR_IO;
	}
out:
	sodium_memzero(want, sizeof(want));
	close(lock);
	return r;
}

bool
totp_store_keeps_tokens(const struct totp_store *st)
{
	return st != NULL && (st->ops == NULL || st->ops->token_get != NULL);
}
