/*
 * lockout_store.c - the lockout store's directory: opening it safely
 * (owner, mode, no symlink, not on tmpfs/ramfs), noticing when it was
 * replaced under a long-running process, its lock, and the mapping of user
 * names to file names, and the locked, versioned file access both kinds of
 * file share.  Entries are in lockout.c, counters in failcount.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/lockout/lockout.h"
#include "core/lockout/lockout_priv.h"

struct lockout_store {
	char *path;
	int dirfd;
	dev_t dev;
	ino_t ino;
	unsigned flags;
	int timeout_ms;
	pthread_rwlock_t rw; /* write-held only to swap dirfd */
};

/* A state directory must be ours and not writable by anyone else. */
static int
dir_safe(const struct stat *sb)
{
	uid_t su;
	gid_t sg;
	int shared = pg_share_get(&su, &sg) && sb->st_gid == sg;

	if (!S_ISDIR(sb->st_mode))
		return PG_ERR_INVAL;
	if (sb->st_uid != 0 && sb->st_uid != geteuid() &&
	    !(shared && sb->st_uid == su))
		return PG_ERR_PERM;
	/* Shared with the gateway's service group (fileio.h): that group
	 * may write, others never. */
	if ((sb->st_mode & (shared ? S_IWOTH : S_IWGRP | S_IWOTH)) != 0)
		return PG_ERR_PERM;
	return PG_OK;
}

/* Lockouts must survive a reboot: refuse memory-backed filesystems. */
static int
fs_durable(int fd, unsigned flags)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return PG_ERR_IO;
	if (flags & LOCKOUT_OPEN_ALLOW_VOLATILE)
		return PG_OK;
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return PG_ERR_CONFIG;
	return PG_OK;
}

/* Opens and checks PATH; on success *FD and *SB describe it. */
static int
open_checked(const char *path, unsigned flags, int *fd, struct stat *sb)
{
	struct stat lsb;
	int dfd, r;

	*fd = -1;
	if (flags & LOCKOUT_OPEN_CREATE) {
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
	}
	if (lstat(path, &lsb) != 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
	if (S_ISLNK(lsb.st_mode))
		return PG_ERR_SYMLINK;
	dfd = pg_open_dir(path, 0, 0700);
	if (dfd < 0)
		return dfd;
	if ((r = pg_share_adopt_dir(dfd)) != PG_OK || fstat(dfd, sb) != 0) {
		r = PG_ERR_IO;
		goto out;
	}
	if ((r = dir_safe(sb)) != PG_OK || (r = fs_durable(dfd, flags)) != 0)
		goto out;
	*fd = dfd;
	dfd = -1; /* transferred */
out:
	if (dfd >= 0)
		close(dfd);
	return r;
}

int
lockout_open(const char *dir, unsigned flags, struct lockout_store **out)
{
	struct lockout_store *st = NULL;
	struct stat sb;
	int r;

	*out = NULL;
	if (dir == NULL || dir[0] != '/' || strnlen(dir, PATH_MAX) >= PATH_MAX)
		return PG_ERR_INVAL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return PG_ERR_NOMEM;
	st->dirfd = -1;
	st->flags = flags;
	st->timeout_ms = LOCKOUT_LOCK_TIMEOUT_MS;
	if ((st->path = strdup(dir)) == NULL) {
		free(st);
		return PG_ERR_NOMEM;
	}
	if (pthread_rwlock_init(&st->rw, NULL) != 0) {
		free(st->path);
		free(st);
		return PG_ERR_NOMEM;
	}
	if ((r = open_checked(dir, flags, &st->dirfd, &sb)) != PG_OK)
		goto out;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	*out = st;
	st = NULL; /* transferred */
out:
	lockout_free(st);
	return r;
}

void
lockout_free(struct lockout_store *st)
{
	if (st == NULL)
		return;
	if (st->dirfd >= 0)
		close(st->dirfd);
	pthread_rwlock_destroy(&st->rw);
	free(st->path);
	free(st);
}

void
lockout_set_lock_timeout(struct lockout_store *st, int timeout_ms)
{
	st->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

const char *
lockout_dir(const struct lockout_store *st)
{
	return st->path;
}

/*
 * 1: the held fd is still the directory at the path, and it is safe;
 * 0: the path now names another directory; <0: unsafe or gone.
 */
static int
still_current(const struct lockout_store *st)
{
	struct stat sb;
	int r;

	if (lstat(st->path, &sb) != 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_IO;
	if (S_ISLNK(sb.st_mode))
		return PG_ERR_SYMLINK;
	if ((r = dir_safe(&sb)) != PG_OK)
		return r;
	return sb.st_dev == st->dev && sb.st_ino == st->ino;
}

/* Under the write lock: replace the held fd by the directory now there. */
static int
reopen(struct lockout_store *st)
{
	struct stat sb;
	int fd, r;

	if ((r = still_current(st)) != 0)
		return r < 0 ? r : PG_OK;
	r = open_checked(st->path, st->flags & ~LOCKOUT_OPEN_CREATE, &fd, &sb);
	if (r != PG_OK)
		return r;
	close(st->dirfd);
	st->dirfd = fd;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	return PG_OK;
}

int
lockout_priv_begin(struct lockout_store *st, int *dirfd)
{
	int r, tries;

	*dirfd = -1;
	for (tries = 0; tries < 3; tries++) {
		if (pthread_rwlock_rdlock(&st->rw) != 0)
			return PG_ERR_INTERNAL;
		r = still_current(st);
		if (r == 1) {
			*dirfd = st->dirfd;
			return PG_OK; /* read lock held until _end() */
		}
		pthread_rwlock_unlock(&st->rw);
		if (r < 0)
			return r;
		if (pthread_rwlock_wrlock(&st->rw) != 0)
			return PG_ERR_INTERNAL;
		r = reopen(st);
		pthread_rwlock_unlock(&st->rw);
		if (r < 0)
			return r;
	}
	return PG_ERR_IO; /* replaced faster than we can follow */
}

void
lockout_priv_end(struct lockout_store *st)
{
	pthread_rwlock_unlock(&st->rw);
}

int
lockout_priv_lock(const struct lockout_store *st, int dirfd)
{
	return pg_lock_at(dirfd, LOCKOUT_LOCK_NAME, st->timeout_ms);
}

int
lockout_priv_begin_locked(struct lockout_store *st, int *dirfd, int *lk)
{
	int r;

	*lk = -1;
	if ((r = lockout_priv_begin(st, dirfd)) != PG_OK)
		return r;
	if ((r = lockout_priv_lock(st, *dirfd)) < 0) {
		lockout_priv_end(st);
		*dirfd = -1;
		return r;
	}
	*lk = r;
	return PG_OK;
}

void
lockout_priv_end_locked(struct lockout_store *st, int lk)
{
	close(lk);
	lockout_priv_end(st);
}

int
lockout_priv_load(
    int dirfd, const char *name, size_t max, int version, json_t **out)
{
	json_error_t jerr;
	json_t *o, *v;
	char *buf = NULL;
	size_t len;
	int r;

	*out = NULL;
	r = pg_read_file_at(
	    dirfd, name, max, PG_RF_PRIVATE | PG_RF_SHARED, &buf, &len);
	if (r == PG_ERR_NOTFOUND)
		return 0;
	if (r == PG_ERR_TOOBIG)
		return PG_ERR_CORRUPT;
	if (r != PG_OK)
		return r;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	r = PG_ERR_CORRUPT;
	if (o == NULL || !json_is_object(o))
		goto out;
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != version)
		goto out;
	*out = o;
	o = NULL; /* transferred */
	r = 1;
out:
	json_decref(o);
	return r;
}

int
lockout_priv_text_ok(const char *s, size_t max, bool required)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i, k;

	if (s == NULL)
		return required ? PG_ERR_INVAL : PG_OK;
	n = strnlen(s, max + 1);
	if (n > max || (required && n == 0))
		return PG_ERR_INVAL;
	for (i = 0; i < n; i += k) {
		if ((k = pg_utf8_len(p + i, n - i)) == 0)
			return PG_ERR_INVAL;
	}
	return PG_OK;
}

int
lockout_priv_name(char kind, const char *user, char *buf)
{
	const char prefix[] = { kind, '-', '\0' };
	int r;

	if ((r = lockout_priv_text_ok(user, LOCKOUT_USER_MAX, true)) != 0)
		return r;
	return pg_name_encode(PG_NAME_HEX, prefix, user, LOCKOUT_USER_MAX,
	    ".json", buf, LOCKOUT_NAME_LEN);
}

int
lockout_priv_unname(char kind, const char *name, char *buf)
{
	const char prefix[] = { kind, '-', '\0' };

	if (pg_name_decode(PG_NAME_HEX, prefix, name, ".json", buf,
	        LOCKOUT_USER_MAX + 1) != PG_OK)
		return PG_ERR_INVAL;
	return lockout_priv_text_ok(buf, LOCKOUT_USER_MAX, true);
}

int
lockout_priv_remove(int dirfd, const char *name, bool *existed)
{
	*existed = false;
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT)
			return PG_OK;
		return errno == EISDIR ? PG_ERR_CORRUPT : PG_ERR_IO;
	}
	*existed = true;
	if (fsync(dirfd) != 0)
		return PG_ERR_IO;
	return PG_OK;
}

int
lockout_priv_drop(struct lockout_store *st, char kind, const char *user)
{
	char name[LOCKOUT_NAME_LEN];
	bool existed;
	int dirfd, lk, r;

	if ((r = lockout_priv_name(kind, user, name)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		return r;
	r = lockout_priv_remove(dirfd, name, &existed);
	lockout_priv_end_locked(st, lk);
	return r;
}

/* Reads every record of K->kind in DIRFD into *V / *N (grown as needed). */
static int
list_dir(int dirfd, const struct lockout_priv_kind *k, char **v, size_t *n)
{
	char user[LOCKOUT_USER_MAX + 1];
	struct dirent *de;
	size_t cap = 0;
	char *grown;
	DIR *d;
	int fd, r = PG_OK;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return PG_ERR_IO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return PG_ERR_IO;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (lockout_priv_unname(k->kind, de->d_name, user) != PG_OK)
			continue; /* other kinds, the lock, temp files,
			             strangers */
		if (*n == cap) {
			if (cap >= LOCKOUT_PRIV_LIST_MAX) {
				r = PG_ERR_TOOBIG;
				break;
			}
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(*v, cap * k->size)) == NULL) {
				r = PG_ERR_NOMEM;
				break;
			}
			*v = grown;
		}
		r = k->read(dirfd, de->d_name, user, *v + *n * k->size);
		if (r == 0)
			continue; /* removed since readdir() saw it */
		if (r < 0)
			break;
		(*n)++;
		r = PG_OK;
	}
	if (r == PG_OK && errno != 0)
		r = PG_ERR_IO;
	closedir(d);
	return r;
}

static int
cmp_records(const void *a, const void *b, void *arg)
{
	const struct lockout_priv_kind *k = arg;
	time_t x, y;
	const char *ux, *uy;

	memcpy(&x, (const char *)a + k->since_off, sizeof(x));
	memcpy(&y, (const char *)b + k->since_off, sizeof(y));
	if (x != y)
		return x < y ? -1 : 1;
	memcpy(&ux, (const char *)a + k->user_off, sizeof(ux));
	memcpy(&uy, (const char *)b + k->user_off, sizeof(uy));
	return strcmp(ux, uy);
}

int
lockout_priv_list(struct lockout_store *st, const struct lockout_priv_kind *k,
    void **out, size_t *n)
{
	char *v = NULL;
	size_t count = 0;
	int dirfd, r;

	*out = NULL;
	*n = 0;
	if ((r = lockout_priv_begin(st, &dirfd)) != PG_OK)
		return r;
	r = list_dir(dirfd, k, &v, &count);
	lockout_priv_end(st);
	if (r != PG_OK) {
		k->free(v, count);
		return r;
	}
	if (count > 1) {
		struct lockout_priv_kind sort_by =
		    *k; /* qsort_r wants it mutable */

		qsort_r(v, count, k->size, cmp_records, &sort_by);
	}
	*out = v;
	*n = count;
	return PG_OK;
}
