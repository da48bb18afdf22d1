/*
 * fileio.c - bounded, symlink-refusing reads and atomic replacement of
 * state files.  See fileio.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"

static int
open_err(void)
{
	switch (errno) {
	case ELOOP:
		return PG_ERR_SYMLINK;
	case ENOENT:
		return PG_ERR_NOTFOUND;
	case EACCES:
	case EPERM:
		return PG_ERR_PERM;
	default:
		return PG_ERR_IO;
	}
}

#define PW_BUF_MAX 65536

/* The service user and group the shared state belongs to, if any. */
static _Atomic(uid_t) share_uid = (uid_t)-1;
static _Atomic(gid_t) share_gid = (gid_t)-1;

void
pg_share_set(uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1 || gid == (gid_t)-1)
		uid = (uid_t)-1, gid = (gid_t)-1;
	atomic_store(&share_uid, (uid_t)-1);
	atomic_store(&share_gid, gid);
	atomic_store(&share_uid, uid);
}

int
pg_share_get(uid_t *uid, gid_t *gid)
{
	uid_t u = atomic_load(&share_uid);
	gid_t g = atomic_load(&share_gid);

	if (uid != NULL)
		*uid = u;
	if (gid != NULL)
		*gid = g;
	return u != (uid_t)-1 && g != (gid_t)-1;
}

int
pg_share_from_user(const char *user)
{
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	char *buf;
	int r = PG_ERR_NOTFOUND;

	pg_share_set((uid_t)-1, (gid_t)-1);
	if (user == NULL || *user == '\0')
		return PG_ERR_NOTFOUND;
	if ((buf = malloc(PW_BUF_MAX)) == NULL)
		return PG_ERR_NOMEM;
	if (getpwnam_r(user, &pw, buf, PW_BUF_MAX, &pres) != 0 || pres == NULL)
		goto out;
	r = PG_ERR_PERM;
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		goto out;
	/* A group too big for the buffer has members: not ours alone. */
	if (getgrgid_r(pw.pw_gid, &gr, buf, PW_BUF_MAX, &gres) != 0 ||
	    gres == NULL || (gr.gr_mem != NULL && gr.gr_mem[0] != NULL))
		goto out;
	pg_share_set(pw.pw_uid, pw.pw_gid);
	r = PG_OK;
out:
	free(buf);
	return r;
}

/* Whether ST is owned by someone this process may trust with it. */
static int
owner_ok(const struct stat *st, int shared)
{
	uid_t su;

	if (st->st_uid == 0 || st->st_uid == geteuid())
		return 1;
	return shared && pg_share_get(&su, NULL) && st->st_uid == su;
}

/* The mode bits ST must not have to count as private (or shared). */
static mode_t
forbidden_bits(const struct stat *st, int shared)
{
	gid_t sg;

	if (shared && pg_share_get(NULL, &sg) && st->st_gid == sg)
		return S_IRWXO;
	return S_IRWXG | S_IRWXO;
}

/*
 * MODE for a file created in DIRFD: in a directory of the share's group
 * (setgid, so the file inherits the group) the group gets the owner's
 * read and write bits.
 */
static mode_t
shared_mode(int dirfd, mode_t mode)
{
	struct stat st;
	gid_t sg;

	if (!pg_share_get(NULL, &sg) || fstat(dirfd, &st) != 0 ||
	    st.st_gid != sg || !(st.st_mode & S_ISGID))
		return mode;
	return mode | ((mode & (S_IRUSR | S_IWUSR)) >> 3);
}

static int
check_owner(const struct stat *st, int flags)
{
	int shared = (flags & PG_RF_SHARED) != 0;

	if (!owner_ok(st, shared))
		return PG_ERR_PERM;
	if ((flags & PG_RF_PRIVATE) &&
	    (st->st_mode & forbidden_bits(st, shared)))
		return PG_ERR_PERM;
	if ((flags & PG_RF_TRUSTED) && (st->st_mode & (S_IWGRP | S_IWOTH)))
		return PG_ERR_PERM;
	return PG_OK;
}

int
pg_read_file_at(
    int dirfd, const char *name, size_t max, int flags, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	ssize_t n;
	int fd, r;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	/* The buffer is max + 2 bytes: a maximum near SIZE_MAX would wrap. */
	if (max > SIZE_MAX / 2)
		return PG_ERR_INVAL;
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return open_err();
	if (fstat(fd, &st) != 0) {
		r = PG_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = PG_ERR_INVAL;
		goto out;
	}
	if ((flags & (PG_RF_PRIVATE | PG_RF_TRUSTED)) &&
	    (r = check_owner(&st, flags)) != PG_OK)
		goto out;
	if ((size_t)st.st_size > max) {
		r = PG_ERR_TOOBIG;
		goto out;
	}
	/* sodium_malloc() before sodium_init() aborts; init is idempotent. */
	if ((flags & PG_RF_SECRET) && sodium_init() < 0) {
		r = PG_ERR_CRYPTO;
		goto out;
	}
	/* One byte more than allowed, to notice a file that grew. */
	buf = (flags & PG_RF_SECRET) ? sodium_malloc(max + 2) : malloc(max + 2);
	if (buf == NULL) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, buf + have, max + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = PG_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			r = PG_ERR_TOOBIG;
			goto out;
		}
	}
	buf[have] = '\0';
	*out = buf;
	buf = NULL; /* transferred */
	if (len != NULL)
		*len = have;
	r = PG_OK;
out:
	if (buf != NULL) {
		if (flags & PG_RF_SECRET)
			sodium_free(buf);
		else
			free(buf);
	}
	close(fd);
	return r;
}

/* Splits PATH into an O_PATH fd of its directory and its last component. */
static int
open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t dlen;
	int fd;

	if (slash == NULL) {
		*base = path;
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? open_err() : fd;
	}
	dlen = (size_t)(slash - path);
	if (dlen == 0)
		dlen = 1; /* "/name" */
	if (dlen >= sizeof(dir))
		return PG_ERR_TOOBIG;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*base = slash + 1;
	if (**base == '\0')
		return PG_ERR_INVAL;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? open_err() : fd;
}

int
pg_read_file(const char *path, size_t max, int flags, char **out, size_t *len)
{
	const char *base;
	int dfd, r;

	*out = NULL;
	if ((dfd = open_parent(path, &base)) < 0)
		return dfd;
	r = pg_read_file_at(dfd, base, max, flags, out, len);
	close(dfd);
	return r;
}

void
pg_file_error(
    const char *path, const char *what, int r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: cannot read %s: %s%s", path, what,
	    pg_strerror(r),
	    r == PG_ERR_PERM ? " (must be owned by root and not "
	                       "writable by group or others)"
	                     : "");
}

void
pg_free_secret(char *buf)
{
	if (buf != NULL)
		sodium_free(buf);
}

int
pg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PG_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return PG_OK;
}

int
pg_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PG_ERR_IO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return PG_OK;
}

/*
 * Creates a temporary file for NAME in DIRFD, named after the process and
 * a per-process counter, so that threads replacing the same file never
 * share (and unlink) each other's temporary.  A leftover of the same name
 * can only come from a dead process whose pid was reused: it is removed.
 */
static int
open_temp(int dirfd, const char *name, mode_t mode, char *tmp, size_t len)
{
	static atomic_uint seq;
	int n, fd, tries;

	n = snprintf(tmp, len, ".%s.%ld.%u.tmp", name, (long)getpid(),
	    atomic_fetch_add(&seq, 1));
	if (n < 0 || (size_t)n >= len)
		return PG_ERR_TOOBIG;
	for (tries = 0; tries < 2; tries++) {
		fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			break;
		(void)unlinkat(dirfd, tmp, 0);
	}
	return fd >= 0 ? fd : open_err();
}

#define SYNC_FILE 1 /* replace_file(): the file's fsync before the rename */
#define SYNC_DIR  2 /* and the directory's after it */

/* Writes a temporary copy and renames it over NAME, with the fsyncs SYNC
 * asks for. */
static int
replace_file(int dirfd, const char *name, const void *buf, size_t len,
    mode_t mode, int sync)
{
	char tmp[NAME_MAX + 1];
	int fd, r;

	mode = shared_mode(dirfd, mode);
	if ((fd = open_temp(dirfd, name, mode, tmp, sizeof(tmp))) < 0)
		return fd;
	if (fchmod(fd, mode) != 0 || (r = pg_write_all(fd, buf, len)) != 0 ||
	    ((sync & SYNC_FILE) && fsync(fd) != 0)) {
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		return PG_ERR_IO;
	}
	if (close(fd) != 0 || renameat(dirfd, tmp, dirfd, name) != 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return PG_ERR_IO;
	}
	if ((sync & SYNC_DIR) && fsync(dirfd) != 0)
		return PG_ERR_IO;
	return PG_OK;
}

int
pg_write_file_atomic(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	return replace_file(dirfd, name, buf, len, mode, SYNC_FILE | SYNC_DIR);
}

int
pg_write_file_synced(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	return replace_file(dirfd, name, buf, len, mode, SYNC_FILE);
}

int
pg_write_file_volatile(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	return replace_file(dirfd, name, buf, len, mode, 0);
}

int
pg_open_dir(const char *path, int create, mode_t mode)
{
	struct stat st;
	int fd;

	if (create && mkdir(path, mode) != 0 && errno != EEXIST)
		return open_err();
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return open_err();
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return PG_ERR_IO;
	}
	return fd;
}

int
pg_lock_at(int dirfd, const char *name, int timeout_ms)
{
	mode_t mode = shared_mode(dirfd, 0600);
	struct stat st;
	gid_t sg;
	int fd, r;

	fd = openat(
	    dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return open_err();
	/* In a shared directory the group must be able to take the lock
	 * too, whatever the umask or whoever made the file before. */
	if (mode != 0600 && fstat(fd, &st) == 0 &&
	    (st.st_uid == geteuid() || geteuid() == 0)) {
		if ((pg_share_get(NULL, &sg) && st.st_gid != sg &&
		        geteuid() == 0 && fchown(fd, (uid_t)-1, sg) != 0) ||
		    ((st.st_mode & mode) != mode &&
		        fchmod(fd, (st.st_mode & 07777) | mode) != 0)) {
			close(fd);
			return PG_ERR_IO;
		}
	}
	if ((r = pg_flock(fd, LOCK_EX, timeout_ms)) != PG_OK) {
		close(fd);
		return r;
	}
	return fd;
}

int
pg_open_private_dir(const char *path, int create)
{
	struct stat st;
	int fd = pg_open_dir(path, create, 0700);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		return PG_ERR_PERM;
	}
	return fd;
}

int
pg_open_shared_dir(const char *path, int create)
{
	struct stat st;
	uid_t su;
	gid_t sg;
	int fd;

	if (!pg_share_get(&su, &sg))
		return pg_open_private_dir(path, create);
	if ((fd = pg_open_dir(path, create, 0700)) < 0)
		return fd;
	if (pg_share_adopt_dir(fd) != PG_OK || fstat(fd, &st) != 0 ||
	    !owner_ok(&st, 1) || (st.st_mode & forbidden_bits(&st, 1)) != 0) {
		close(fd);
		return PG_ERR_PERM;
	}
	return fd;
}

/* Gives the regular file NAME in DIRFD to the group SG, group rw as the
 * owner's. */
static int
adopt_file(int dirfd, const char *name, gid_t sg)
{
	struct stat st;
	int fd, r = PG_OK;

	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENXIO ? PG_OK : PG_ERR_IO;
	if (fstat(fd, &st) != 0)
		r = PG_ERR_IO;
	else if (S_ISREG(st.st_mode) && st.st_gid != sg && st.st_uid == 0 &&
	    (fchown(fd, (uid_t)-1, sg) != 0 ||
	        fchmod(fd,
	            (st.st_mode & 07777 & ~(mode_t)S_IRWXO) |
	                ((st.st_mode & (S_IRUSR | S_IWUSR)) >> 3)) != 0))
		r = PG_ERR_IO;
	close(fd);
	return r;
}

int
pg_share_adopt_files(int dirfd)
{
	struct dirent *de;
	gid_t sg;
	DIR *d;
	int fd, r = PG_OK;

	if (!pg_share_get(NULL, &sg) || geteuid() != 0)
		return PG_OK;
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return PG_ERR_IO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return PG_ERR_IO;
	}
	while (r == PG_OK && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			r = adopt_file(dirfd, de->d_name, sg);
	}
	if (r == PG_OK && errno != 0)
		r = PG_ERR_IO;
	closedir(d);
	return r;
}

int
pg_share_adopt_dir(int dirfd)
{
	struct stat st;
	gid_t sg;
	int r;

	if (!pg_share_get(NULL, &sg) || geteuid() != 0)
		return PG_OK;
	if (fstat(dirfd, &st) != 0)
		return PG_ERR_IO;
	if (st.st_uid != 0 || st.st_gid == sg ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return PG_OK; /* not root's private directory */
	/* The directory last: a failure before leaves it private. */
	if ((r = pg_share_adopt_files(dirfd)) != PG_OK)
		return r;
	if (fchown(dirfd, (uid_t)-1, sg) != 0 || fchmod(dirfd, 02770) != 0)
		return PG_ERR_IO;
	return PG_OK;
}

char *
pg_take_line(char **p, const char *key)
{
	size_t klen = strlen(key);
	char *line = *p, *nl;

	if (strncmp(line, key, klen) != 0 || (nl = strchr(line, '\n')) == NULL)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return line + klen;
}

int
pg_parse_num(const char *s, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 19)
		return PG_ERR_CORRUPT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > max)
		return PG_ERR_CORRUPT;
	*out = v;
	return PG_OK;
}
