/*
 * test_fileio.c - unit tests of core/state/fileio.c on a real filesystem:
 * symlink and non-regular refusal, size caps, private-file checks, atomic
 * replacement (also when the rename is prevented), lock timeouts, exact
 * reads at an offset, the message for an unreadable file, and the state
 * shared with the gateway's service group.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/state/state.h"
#include "testutil.h"

struct fx {
	char *path;
	int dfd;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->path = tu_mkdtemp("fileio");
	f->dfd = open(f->path, O_RDONLY | O_DIRECTORY);
	assert_true(f->dfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	close(f->dfd);
	tu_rmtree(f->path);
	free(f);
	return 0;
}

static void
put(struct fx *f, const char *name, const char *s, mode_t mode)
{
	int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_symlink_refused(void **state)
{
	struct fx *f = *state;
	char *buf = (char *)1, path[4200];
	size_t len = 9;

	put(f, "real", "secret", 0600);
	assert_int_equal(symlinkat("real", f->dfd, "link"), 0);
	assert_int_equal(pg_read_file_at(f->dfd, "link", 100, 0, &buf, &len),
	    PG_ERR_SYMLINK);
	assert_null(buf);
	assert_int_equal(len, 0);
	snprintf(path, sizeof(path), "%s/link", f->path);
	assert_int_equal(
	    pg_read_file(path, 100, 0, &buf, NULL), PG_ERR_SYMLINK);
	assert_int_equal(pg_lock_at(f->dfd, "link", 10), PG_ERR_SYMLINK);
	assert_int_equal(pg_open_dir(path, 0, 0700) < 0, 1);
	assert_int_equal(pg_read_file_at(f->dfd, "absent", 100, 0, &buf, NULL),
	    PG_ERR_NOTFOUND);
}

static void
test_not_regular(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;

	assert_int_equal(mkfifoat(f->dfd, "fifo", 0600), 0);
	/* Must not block waiting for a writer. */
	assert_int_equal(
	    pg_read_file_at(f->dfd, "fifo", 100, 0, &buf, NULL), PG_ERR_INVAL);
	assert_int_equal(mkdirat(f->dfd, "sub", 0700), 0);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "sub", 100, 0, &buf, NULL), PG_ERR_INVAL);
	assert_int_equal(
	    pg_read_file("/dev/null", 100, 0, &buf, NULL), PG_ERR_INVAL);
	assert_null(buf);
}

static void
test_size_cap(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	size_t len = 0;

	put(f, "ten", "0123456789", 0600);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "ten", 10, 0, &buf, &len), PG_OK);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "ten", 9, 0, &buf, &len), PG_ERR_TOOBIG);
	assert_null(buf);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "ten", 0, 0, &buf, &len), PG_ERR_TOOBIG);
	/* A maximum so large that max + 2 wraps must not be trusted. */
	assert_int_not_equal(
	    pg_read_file_at(f->dfd, "ten", SIZE_MAX, 0, &buf, &len), PG_OK);
	assert_null(buf);
	assert_int_not_equal(
	    pg_read_file_at(f->dfd, "ten", SIZE_MAX - 1, 0, &buf, &len), PG_OK);
	put(f, "empty", "", 0600);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "empty", 0, 0, &buf, &len), PG_OK);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
}

static void
test_private(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;

	put(f, "key", "k3y", 0600);
	assert_int_equal(pg_read_file_at(f->dfd, "key", 100,
	                     PG_RF_PRIVATE | PG_RF_SECRET, &buf, NULL),
	    PG_OK);
	assert_string_equal(buf, "k3y");
	pg_free_secret(buf);
	pg_free_secret(NULL);
	buf = NULL;
	assert_int_equal(fchmodat(f->dfd, "key", 0640, 0), 0);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "key", 100, PG_RF_PRIVATE, &buf, NULL),
	    PG_ERR_PERM);
	assert_int_equal(fchmodat(f->dfd, "key", 0604, 0), 0);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "key", 100, PG_RF_PRIVATE, &buf, NULL),
	    PG_ERR_PERM);
	assert_int_equal(fchmodat(f->dfd, "key", 0620, 0), 0);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "key", 100, PG_RF_PRIVATE, &buf, NULL),
	    PG_ERR_PERM);
	/* Without PG_RF_PRIVATE the same file is fine. */
	assert_int_equal(
	    pg_read_file_at(f->dfd, "key", 100, 0, &buf, NULL), PG_OK);
	free(buf);
	buf = NULL;
	assert_int_equal(fchmodat(f->dfd, "key", 0400, 0), 0);
	assert_int_equal(fchownat(f->dfd, "key", 65534, 65534, 0), 0);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "key", 100, PG_RF_PRIVATE, &buf, NULL),
	    PG_ERR_PERM);
	assert_null(buf);
}

static void
test_atomic_write(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	struct stat sb;
	mode_t old = umask(0077);

	assert_int_equal(
	    pg_write_file_atomic(f->dfd, "state", "one", 3, 0640), PG_OK);
	umask(old);
	assert_int_equal(fstatat(f->dfd, "state", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0640); /* not the umask's */
	assert_int_equal(
	    pg_write_file_atomic(f->dfd, "state", "two!", 4, 0600), PG_OK);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "state", 100, 0, &buf, NULL), PG_OK);
	assert_string_equal(buf, "two!");
	free(buf);
	/* A symlink in the way is replaced, not written through. */
	put(f, "target", "untouched", 0600);
	assert_int_equal(symlinkat("target", f->dfd, "sl"), 0);
	assert_int_equal(
	    pg_write_file_atomic(f->dfd, "sl", "new", 3, 0600), PG_OK);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "target", 100, 0, &buf, NULL), PG_OK);
	assert_string_equal(buf, "untouched");
	free(buf);
}

static int
count_entries(int dfd)
{
	int n = 0, fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n;
}

/* When the rename cannot happen, the old content stays, no temp stays. */
static void
test_rename_prevented(void **state)
{
	struct fx *f = *state;
	char *buf = NULL;
	int fd, attr, before;

	put(f, "state", "old content", 0600);
	fd = openat(f->dfd, "state", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &attr), 0);
	attr |= FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &attr) != 0) {
		fprintf(stderr, "SKIPPED: cannot set immutable flag: %s\n",
		    strerror(errno));
		close(fd);
		skip();
	}
	before = count_entries(f->dfd);
	assert_int_equal(
	    pg_write_file_atomic(f->dfd, "state", "new", 3, 0600), PG_ERR_IO);
	assert_int_equal(count_entries(f->dfd), before);
	attr &= ~FS_IMMUTABLE_FL;
	assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &attr), 0);
	close(fd);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "state", 100, 0, &buf, NULL), PG_OK);
	assert_string_equal(buf, "old content");
	free(buf);
	/* A name too long for the temporary file is refused up front. */
	char lng[300];
	memset(lng, 'n', sizeof(lng) - 1);
	lng[250] = '\0';
	assert_int_equal(
	    pg_write_file_atomic(f->dfd, lng, "x", 1, 0600), PG_ERR_TOOBIG);
}

typedef int replace_fn(int, const char *, const void *, size_t, mode_t);

/* What every replacement keeps, whichever fsyncs it leaves out: the mode
 * asked for, the new content, no temporary left, no write through a
 * symlink. */
static void
replace_props(struct fx *f, replace_fn *fn)
{
	char *buf = NULL;
	struct stat sb;
	int before;

	assert_int_equal(fn(f->dfd, "ticket", "one", 3, 0640), PG_OK);
	assert_int_equal(fstatat(f->dfd, "ticket", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	before = count_entries(f->dfd);
	assert_int_equal(fn(f->dfd, "ticket", "two!", 4, 0600), PG_OK);
	assert_int_equal(count_entries(f->dfd), before); /* no temp left */
	assert_int_equal(
	    pg_read_file_at(f->dfd, "ticket", 100, 0, &buf, NULL), PG_OK);
	assert_string_equal(buf, "two!");
	free(buf);
	put(f, "target", "untouched", 0600);
	assert_int_equal(symlinkat("target", f->dfd, "sl"), 0);
	assert_int_equal(fn(f->dfd, "sl", "new", 3, 0600), PG_OK);
	assert_int_equal(
	    pg_read_file_at(f->dfd, "target", 100, 0, &buf, NULL), PG_OK);
	assert_string_equal(buf, "untouched");
	free(buf);
}

/* The unsynced replacement keeps every other property of the synced one. */
static void
test_volatile_write(void **state)
{
	replace_props(*state, pg_write_file_volatile);
}

/* So does the one that leaves the directory's fsync out. */
static void
test_synced_write(void **state)
{
	replace_props(*state, pg_write_file_synced);
}

struct wr_arg {
	int dfd;
	char tag;
	int failures;
};

static void *
writer_thread(void *p)
{
	struct wr_arg *a = p;
	char buf[4096];
	int i;

	memset(buf, a->tag, sizeof(buf));
	for (i = 0; i < 200; i++)
		if (pg_write_file_atomic(
		        a->dfd, "shared", buf, sizeof(buf), 0600) != PG_OK)
			a->failures++;
	return NULL;
}

/* Threads of one process replacing the same file must not collide. */
static void
test_atomic_threads(void **state)
{
	struct fx *f = *state;
	struct wr_arg a[4];
	pthread_t th[4];
	char *buf = NULL;
	size_t len, i;
	int k;

	for (k = 0; k < 4; k++) {
		a[k].dfd = f->dfd;
		a[k].tag = (char)('A' + k);
		a[k].failures = 0;
		assert_int_equal(
		    pthread_create(&th[k], NULL, writer_thread, &a[k]), 0);
	}
	for (k = 0; k < 4; k++) {
		assert_int_equal(pthread_join(th[k], NULL), 0);
		assert_int_equal(a[k].failures, 0);
	}
	assert_int_equal(
	    pg_read_file_at(f->dfd, "shared", 8192, 0, &buf, &len), PG_OK);
	assert_int_equal(len, 4096);
	for (i = 1; i < len; i++)
		assert_int_equal(buf[i], buf[0]); /* one writer's whole file */
	free(buf);
}

/* Exact reads at an offset; an early end of file is an error. */
static void
test_pread_all(void **state)
{
	struct fx *f = *state;
	char b[16] = { 0 };
	int fd;

	put(f, "ten", "0123456789", 0600);
	fd = openat(f->dfd, "ten", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pg_pread_all(fd, b, 4, 3), PG_OK);
	assert_memory_equal(b, "3456", 4);
	assert_int_equal(pg_pread_all(fd, b, 10, 0), PG_OK);
	assert_memory_equal(b, "0123456789", 10);
	assert_int_equal(pg_pread_all(fd, b, 0, 10), PG_OK);
	assert_int_equal(pg_pread_all(fd, b, 6, 5), PG_ERR_IO);
	assert_int_equal(pg_pread_all(fd, b, 1, 10), PG_ERR_IO);
	close(fd);
	assert_int_equal(pg_pread_all(fd, b, 1, 0), PG_ERR_IO);
}

/* The message for a file that cannot be read names the ownership rule. */
static void
test_file_error(void **state)
{
	char err[256], want[256];

	(void)state;
	pg_file_error("/etc/pg.conf", "config", PG_ERR_PERM, err, sizeof(err));
	snprintf(want, sizeof(want),
	    "/etc/pg.conf: cannot read config: %s (must be owned by root and "
	    "not writable by group or others)",
	    pg_strerror(PG_ERR_PERM));
	assert_string_equal(err, want);
	pg_file_error("p.policy", "policy", PG_ERR_NOTFOUND, err, sizeof(err));
	snprintf(want, sizeof(want), "p.policy: cannot read policy: %s",
	    pg_strerror(PG_ERR_NOTFOUND));
	assert_string_equal(err, want);
	pg_file_error("/etc/pg.conf", "config", PG_ERR_PERM, err, 8);
	assert_string_equal(err, "/etc/pg");
}

static void
test_lock_timeout(void **state)
{
	struct fx *f = *state;
	struct timespec t0;
	int sync[2], lk, lk2, status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(sync), 0);
	if ((pid = fork()) == 0) {
		int l = pg_lock_at(f->dfd, "lock", 1000);

		if (write(sync[1], "x", 1) != 1 || l < 0)
			_exit(1);
		sleep(2);
		_exit(0);
	}
	assert_int_equal(read(sync[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pg_lock_at(f->dfd, "lock", 300), PG_ERR_LOCKED);
	assert_true(tu_ms_since(&t0) >= 300);
	assert_true(tu_ms_since(&t0) < 1500);
	/* Released when the holder dies; then we get it in time. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	lk = pg_lock_at(f->dfd, "lock", 10000);
	assert_true(lk >= 0);
	assert_true(tu_ms_since(&t0) >= 500);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Exclusive within one process too (one open file per lock). */
	assert_int_equal(pg_lock_at(f->dfd, "lock", 0), PG_ERR_LOCKED);
	close(lk);
	lk2 = pg_lock_at(f->dfd, "lock", 0);
	assert_true(lk2 >= 0);
	close(lk2);
	close(sync[0]);
	close(sync[1]);
}

/* The service user and group of these tests: ids no account needs. */
#define SVC_UID 64990
#define SVC_GID 64991
#define ANY_GID 64992

static int
read_flags(struct fx *f, const char *name, int flags)
{
	char *buf = NULL;
	int r = pg_read_file_at(f->dfd, name, 100, flags, &buf, NULL);

	if (flags & PG_RF_SECRET)
		pg_free_secret(buf);
	else
		free(buf);
	return r;
}

static void
owned(struct fx *f, const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	assert_int_equal(fchownat(f->dfd, name, uid, gid, 0), 0);
	assert_int_equal(fchmodat(f->dfd, name, mode, 0), 0);
}

static void
test_shared(void **state)
{
	const int sh = PG_RF_PRIVATE | PG_RF_SHARED;
	struct fx *f = *state;

	if (geteuid() != 0) {
		skip(); /* chown needs root: tests/run-all.sh runs as root */
		return;
	}
	put(f, "t", "ticket", 0600);
	pg_share_set(SVC_UID, SVC_GID);
	assert_true(pg_share_get(NULL, NULL));
	owned(f, "t", 0, SVC_GID, 0640);
	assert_int_equal(read_flags(f, "t", PG_RF_PRIVATE), PG_ERR_PERM);
	assert_int_equal(read_flags(f, "t", sh), PG_OK);
	/* Secrets are never shared, whatever the group. */
	assert_int_equal(
	    read_flags(f, "t", PG_RF_PRIVATE | PG_RF_SECRET), PG_ERR_PERM);
	owned(f, "t", 0, SVC_GID, 0660);
	assert_int_equal(read_flags(f, "t", sh), PG_OK);
	owned(f, "t", 0, SVC_GID, 0644);
	assert_int_equal(read_flags(f, "t", sh), PG_ERR_PERM);
	owned(f, "t", 0, ANY_GID, 0640);
	assert_int_equal(read_flags(f, "t", sh), PG_ERR_PERM);
	/* Written by the gateway: owned by the service user. */
	owned(f, "t", SVC_UID, SVC_GID, 0660);
	assert_int_equal(read_flags(f, "t", sh), PG_OK);
	assert_int_equal(read_flags(f, "t", PG_RF_PRIVATE), PG_ERR_PERM);
	owned(f, "t", SVC_UID + 10, SVC_GID, 0600);
	assert_int_equal(read_flags(f, "t", sh), PG_ERR_PERM);
	/* No share: the group counts for nothing. */
	pg_share_set((uid_t)-1, (gid_t)-1);
	assert_false(pg_share_get(NULL, NULL));
	owned(f, "t", 0, SVC_GID, 0640);
	assert_int_equal(read_flags(f, "t", sh), PG_ERR_PERM);
	/* Only a real account with a group of its own can share. */
	assert_int_equal(pg_share_from_user("root"), PG_ERR_PERM);
	assert_int_equal(
	    pg_share_from_user("no-such-photoguard-user"), PG_ERR_NOTFOUND);
	assert_false(pg_share_get(NULL, NULL));
}

static mode_t
mode_at(struct fx *f, const char *name, gid_t *gid)
{
	struct stat st;

	assert_int_equal(fstatat(f->dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	*gid = st.st_gid;
	return st.st_mode & 07777;
}

static void
test_shared_dir(void **state)
{
	struct fx *f = *state;
	char path[4096];
	gid_t gid;
	int d, lk;

	if (geteuid() != 0) {
		skip(); /* chown needs root: tests/run-all.sh runs as root */
		return;
	}
	pg_share_set(SVC_UID, SVC_GID);
	/* Root's private directory becomes the share's, its files too. */
	assert_int_equal(mkdirat(f->dfd, "s", 0700), 0);
	put(f, "s/old", "x", 0600);
	snprintf(path, sizeof(path), "%s/s", f->path);
	d = pg_open_shared_dir(path, 0);
	assert_true(d >= 0);
	assert_int_equal(mode_at(f, "s", &gid), 02770);
	assert_int_equal(gid, SVC_GID);
	assert_int_equal(mode_at(f, "s/old", &gid), 0660);
	assert_int_equal(gid, SVC_GID);
	/* What is written there gives the group the owner's bits. */
	assert_int_equal(pg_write_file_atomic(d, "new", "y", 1, 0600), PG_OK);
	assert_int_equal(mode_at(f, "s/new", &gid), 0660);
	assert_int_equal(gid, SVC_GID);
	lk = pg_lock_at(d, "lock", 100);
	assert_true(lk >= 0);
	close(lk);
	assert_int_equal(mode_at(f, "s/lock", &gid), 0660);
	assert_int_equal(gid, SVC_GID);
	close(d);
	/* Private readers do not take a shared directory. */
	assert_int_equal(pg_open_private_dir(path, 0), PG_ERR_PERM);
	/* A directory others may enter is not made the share's, nor taken. */
	assert_int_equal(mkdirat(f->dfd, "pub", 0755), 0);
	snprintf(path, sizeof(path), "%s/pub", f->path);
	assert_int_equal(pg_open_shared_dir(path, 0), PG_ERR_PERM);
	assert_int_equal(mode_at(f, "pub", &gid), 0755);
	/* Nor one of another group. */
	assert_int_equal(mkdirat(f->dfd, "other", 0700), 0);
	owned(f, "other", 0, ANY_GID, 02770);
	snprintf(path, sizeof(path), "%s/other", f->path);
	assert_int_equal(pg_open_shared_dir(path, 0), PG_ERR_PERM);
	/* Created when asked, already shared. */
	snprintf(path, sizeof(path), "%s/fresh", f->path);
	d = pg_open_shared_dir(path, 1);
	assert_true(d >= 0);
	close(d);
	assert_int_equal(mode_at(f, "fresh", &gid), 02770);
	assert_int_equal(gid, SVC_GID);
	pg_share_set((uid_t)-1, (gid_t)-1);
	/* Without a share it is what it always was: private or nothing. */
	snprintf(path, sizeof(path), "%s/s", f->path);
	assert_int_equal(pg_open_shared_dir(path, 0), PG_ERR_PERM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_atomic_write, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rename_prevented, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_volatile_write, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_synced_write, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_atomic_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pread_all, setup, teardown),
		cmocka_unit_test(test_file_error),
		cmocka_unit_test_setup_teardown(test_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_shared_dir, setup, teardown),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
