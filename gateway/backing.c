/*
 * backing.c - resolving and opening paths beneath the store root, from its
 * fd on every operation (openat2 RESOLVE_BENEATH and NO_SYMLINKS, or a
 * component walk where openat2 is missing), so a swapped directory, a
 * link or a FIFO never leads out or blocks (docs/gateway.md, "Paths
 * beneath the store").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gateway/backing.h"

#define RESOLVE_FLAGS                                                          \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |       \
	    RESOLVE_NO_XDEV)

struct backing {
	int rootfd;
	dev_t dev;
	uint64_t mnt_id; /* the root's mount, 0 if statx cannot tell */
	uid_t uid;
	gid_t gid;
};

struct backing_file {
	int fd;
};

/* The mount id of FD (0 if statx cannot tell), and its stat in ST. */
static int
fd_stat(int fd, struct stat *st, uint64_t *mnt_id)
{
	struct statx sx;

	*mnt_id = 0;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
	        STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID))
		*mnt_id = sx.stx_mnt_id;
	return fstat(fd, st);
}

/* Is FD on the store's own mount, and (unless FINAL) a directory?  0, or
 * the errno openat2() gives for what it refuses. */
static int
walk_check(const struct backing *b, int fd, int final)
{
	struct stat st;
	uint64_t mnt;

	if (fd_stat(fd, &st, &mnt) != 0)
		return EIO;
	if (S_ISLNK(st.st_mode))
		return ELOOP;
	if (st.st_dev != b->dev || (b->mnt_id != 0 && mnt != b->mnt_id))
		return EXDEV;
	if (!final && !S_ISDIR(st.st_mode))
		return ENOTDIR;
	return 0;
}

/* The next component of the path at *P ("." for none left), in BUF (a
 * copy of at most NAME_MAX bytes); *P moves past it and its slashes.
 * Sets *LAST when no component follows.  0 or -ENAMETOOLONG. */
static int
next_comp(const char **p, char *buf, int *last)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == '/')
		s++;
	e = s + strcspn(s, "/");
	n = (size_t)(e - s);
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, n ? s : ".", n ? n : 1);
	buf[n ? n : 1] = '\0';
	while (*e == '/')
		e++;
	*p = e;
	*last = *e == '\0';
	return 0;
}

/* open_beneath() without openat2(): "..", an absolute path, a symlink or
 * another mount anywhere in REL fails.  The last component is looked at
 * O_PATH first, so FLAGS (O_CREAT, O_DIRECTORY...) reach only an inode
 * that passed; the opened file is checked again.  A -errno or the fd. */
static int
walk_beneath(const struct backing *b, const char *rel, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	int dfd, fd, e, last = 0;

	if (rel[0] == '/')
		return -EXDEV;
	if ((dfd = fcntl(b->rootfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	for (;;) {
		if ((e = next_comp(&rel, comp, &last)) != 0) {
			close(dfd);
			return e;
		}
		if (strcmp(comp, "..") == 0) {
			close(dfd);
			return -EXDEV;
		}
		if (last)
			break;
		/* A directory on the store's mount, or the walk ends. */
		fd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		e = fd < 0 ? errno : walk_check(b, fd, 0);
		close(dfd);
		if (e != 0) {
			if (fd >= 0)
				close(fd);
			return -e;
		}
		dfd = fd;
	}
	fd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		/* O_EXCL: anything there, a symlink too, is EEXIST. */
		e = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)
		    ? EEXIST
		    : walk_check(b, fd, 1);
		close(fd);
	} else
		e = errno == ENOENT && (flags & O_CREAT) ? 0 : errno;
	if (e == 0) {
		fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		e = fd < 0 ? errno : walk_check(b, fd, 1);
		if (e != 0 && fd >= 0)
			close(fd);
	}
	close(dfd);
	return e != 0 ? -e : fd;
}

/* Set once openat2() answered ENOSYS: it will not come back. */
static atomic_int no_openat2;

static int
open_beneath(const struct backing *b, const char *rel, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	if (atomic_load_explicit(&no_openat2, memory_order_relaxed))
		fd = walk_beneath(b, rel, flags, mode);
	else {
		memset(&how, 0, sizeof(how));
		how.flags =
		    (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW);
		how.mode = (flags & O_CREAT) ? mode : 0;
		how.resolve = RESOLVE_FLAGS;
		do
			fd = syscall(SYS_openat2, b->rootfd, rel[0] ? rel : ".",
			    &how, sizeof(how));
		while (fd < 0 && errno == EINTR);
		if (fd < 0 && errno == ENOSYS) {
			atomic_store(&no_openat2, 1);
			fd = walk_beneath(b, rel, flags, mode);
		} else if (fd < 0)
			fd = -errno;
	}
	if (fd < 0) {
		/* Escapes, symlinks and other mounts are "not there". */
		if (fd == -EXDEV || fd == -ELOOP || fd == -ENOTDIR)
			return -ENOENT;
		return (int)fd;
	}
	return (int)fd;
}

#ifdef BACKING_TEST_WALK
/* For the unit test: every open through the walk. */
void backing_test_force_walk(void);
void
backing_test_force_walk(void)
{
	atomic_store(&no_openat2, 1);
}
#endif

/* May ST be served?  0 or -ENOENT. */
static int
servable(const struct backing *b, const struct stat *st)
{
	if (st->st_dev != b->dev)
		return -ENOENT;
	if (S_ISDIR(st->st_mode))
		return 0;
	if (S_ISREG(st->st_mode) && st->st_nlink == 1)
		return 0;
	return -ENOENT;
}

int
backing_open_root(const char *path, uid_t owner, struct backing **out)
{
	struct backing *b;
	struct stat st;
	uint64_t mnt;
	int fd;

	*out = NULL;

	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd_stat(fd, &st, &mnt) != 0) {
		close(fd);
		return -EIO;
	}
	if ((st.st_mode & 077) != 0 ||
	    (owner != (uid_t)-1 && st.st_uid != owner)) {
		close(fd);
		return -EPERM;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	b->rootfd = fd;
	b->dev = st.st_dev;
	b->mnt_id = mnt;
	b->uid = st.st_uid;
	b->gid = st.st_gid;
	*out = b;
	return 0;
}

void
backing_free(struct backing *b)
{
	if (b == NULL)
		return;
	close(b->rootfd);
	free(b);
}

int
backing_stat(const struct backing *b, const char *rel, struct stat *st)
{
	int fd = open_beneath(b, rel, O_PATH, 0), r;

	if (fd < 0)
		return fd;
	r = fstat(fd, st) == 0 ? servable(b, st) : -EIO;
	close(fd);
	return r;
}

int
backing_opendir(const struct backing *b, const char *rel, DIR **out)
{
	int fd = open_beneath(b, rel, O_RDONLY | O_DIRECTORY, 0);
	struct stat st;
	DIR *d;

	*out = NULL;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || servable(b, &st) != 0) {
		close(fd);
		return -ENOENT;
	}
	if ((d = fdopendir(fd)) == NULL) {
		int e = errno;

		close(fd);
		return -e;
	}
	*out = d;
	return 0;
}

int
backing_entry_stat(
    const struct backing *b, DIR *d, const char *name, struct stat *st)
{
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -ENOENT;
	if (fstatat(dirfd(d), name, st, AT_SYMLINK_NOFOLLOW) != 0)
		return -ENOENT;
	return servable(b, st);
}

static int
wrap(int fd, struct backing_file **out)
{
	struct backing_file *f = malloc(sizeof(*f));

	if (f == NULL) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	*out = f;
	return 0;
}

int
backing_open_read(const struct backing *b, const char *rel,
    struct backing_file **out, struct stat *st)
{
	int fd;

	*out = NULL;
	/* Opened at once, then judged by what the descriptor is: looking
	 * at it through O_PATH first and reopening it through /proc cost a
	 * second path walk on every open, the hot path of every read.
	 * O_NONBLOCK: a FIFO swapped in does not hang the thread (regular
	 * files ignore it); O_NOCTTY: no terminal is taken.  A device node
	 * is hidden by every lookup (servable()) and can only be made by
	 * root; one swapped in meanwhile is closed unread. */
	fd = open_beneath(b, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -ENXIO) /* a socket */
		return -ENOENT;
	if (fd < 0)
		return fd;
	if (fstat(fd, st) != 0 || servable(b, st) != 0 ||
	    !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return wrap(fd, out);
}

int
backing_create(const struct backing *b, const char *rel,
    struct backing_file **out, struct stat *st)
{
	int fd;

	*out = NULL;
	fd = open_beneath(b, rel, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0)
		return fd;
	/* Owned like the store, whoever the gateway runs as.  Best effort:
	 * a gateway running as the store's owner needs no change. */
	if (fchown(fd, b->uid, b->gid) != 0 && geteuid() == 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (fstat(fd, st) != 0) {
		close(fd);
		return -EIO;
	}
	return wrap(fd, out);
}

ssize_t
backing_pread(struct backing_file *f, void *buf, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pread(f->fd, buf, n, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

ssize_t
backing_pwrite(struct backing_file *f, const void *buf, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pwrite(f->fd, buf, n, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int
backing_fstat(struct backing_file *f, struct stat *st)
{
	return fstat(f->fd, st) == 0 ? 0 : -errno;
}

void
backing_close(struct backing_file *f)
{
	if (f == NULL)
		return;
	close(f->fd);
	free(f);
}

int
backing_statvfs(const struct backing *b, struct statvfs *sv)
{
	return fstatvfs(b->rootfd, sv) == 0 ? 0 : -errno;
}
