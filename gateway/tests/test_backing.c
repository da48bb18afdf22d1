/*
 * test_backing.c - the store's path rules, proved on a real directory tree:
 * "..", absolute paths, symlinks (file, directory, dangling), hard links,
 * FIFOs, sockets, device nodes, a directory opened as a file, another
 * mount and a bind mount of the store's own filesystem are all "not
 * there", for stat, listing, reading and creating.  Built twice:
 * once with openat2() and once forced through the O_PATH walk that stands
 * in where openat2() is missing, so the two cannot drift apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/backing.h"
#include "testutil.h"

#ifdef BACKING_TEST_WALK
void backing_test_force_walk(void);
#endif

static char *top; /* the scratch dir: store/ and outside/ */
static char store[512];
static struct backing *b;
static int mounted;   /* 1 tmpfs on store/m, 2 also a bind on store/bind */
static bool have_dev; /* store/a/null was made */

/* An AF_UNIX socket bound at PATH (left there: the tree goes at the end). */
static void
sock_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
}

static void
put(const char *rel, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
at(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", top, rel);
}

static int
setup(void **state)
{
	char p[1024], q[1024];

	(void)state;
#ifdef BACKING_TEST_WALK
	backing_test_force_walk();
#endif
	top = tu_mkdtemp("backing");
	snprintf(store, sizeof(store), "%s/store", top);
	at(p, sizeof(p), "store");
	mkdir(p, 0700);
	at(p, sizeof(p), "store/a");
	mkdir(p, 0700);
	at(p, sizeof(p), "outside");
	mkdir(p, 0700);
	put("store/a/f", "inside");
	put("outside/secret", "outside");
	at(p, sizeof(p), "outside/secret");
	at(q, sizeof(q), "store/a/link");
	assert_int_equal(symlink(p, q), 0);
	at(p, sizeof(p), "outside");
	at(q, sizeof(q), "store/ldir");
	assert_int_equal(symlink(p, q), 0);
	at(q, sizeof(q), "store/a/dangling");
	assert_int_equal(symlink("/nonexistent-backing-target", q), 0);
	at(p, sizeof(p), "store/a/f");
	at(q, sizeof(q), "store/a/hard");
	put("store/a/g", "two links");
	at(p, sizeof(p), "store/a/g");
	assert_int_equal(link(p, q), 0);
	at(p, sizeof(p), "store/a/fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	at(p, sizeof(p), "store/a/sock");
	sock_at(p);
	/* A device node: only root may make one. */
	at(p, sizeof(p), "store/a/null");
	have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;
	/* Another mount, and the store's own filesystem bound elsewhere in
	 * it (same device, other mount): root only. */
	if (geteuid() == 0) {
		at(p, sizeof(p), "store/m");
		mkdir(p, 0700);
		if (mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0) {
			mounted = 1;
			put("store/m/f", "other mount");
			at(q, sizeof(q), "store/bind");
			mkdir(q, 0700);
			at(p, sizeof(p), "store/a");
			if (mount(p, q, NULL, MS_BIND, NULL) == 0)
				mounted = 2;
		}
	}
	assert_int_equal(backing_open_root(store, (uid_t)-1, &b), 0);
	return 0;
}

static int
teardown(void **state)
{
	char p[1024];

	(void)state;
	backing_free(b);
	if (mounted >= 2) {
		at(p, sizeof(p), "store/bind");
		umount2(p, MNT_DETACH);
	}
	if (mounted >= 1) {
		at(p, sizeof(p), "store/m");
		umount2(p, MNT_DETACH);
	}
	tu_rmtree(top);
	return 0;
}

static int
st(const char *rel)
{
	struct stat s;

	return backing_stat(b, rel, &s);
}

static int
rd(const char *rel, char *buf, size_t len)
{
	struct backing_file *f;
	struct stat s;
	ssize_t n;
	int r;

	memset(buf, 0, len);
	if ((r = backing_open_read(b, rel, &f, &s)) != 0)
		return r;
	n = backing_pread(f, buf, len - 1, 0);
	backing_close(f);
	return n < 0 ? (int)n : 0;
}

static void
test_inside(void **state)
{
	char buf[64];
	DIR *d;

	(void)state;
	assert_int_equal(st(""), 0);
	assert_int_equal(st("a"), 0);
	assert_int_equal(st("a/f"), 0);
	assert_int_equal(st("a//f"), 0);
	assert_int_equal(st("./a/f"), 0);
	assert_int_equal(rd("a/f", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");
	assert_int_equal(backing_opendir(b, "a", &d), 0);
	closedir(d);
	assert_int_equal(backing_opendir(b, "", &d), 0);
	closedir(d);
	assert_int_equal(st("a/none"), -ENOENT);
}

static void
test_escapes(void **state)
{
	char buf[64];
	DIR *d = NULL;

	(void)state;
	assert_int_equal(st(".."), -ENOENT);
	assert_int_equal(st("../outside/secret"), -ENOENT);
	assert_int_equal(rd("../outside/secret", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(st("/etc/passwd"), -ENOENT);
	assert_int_equal(rd("a/link", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(st("a/link"), -ENOENT);
	assert_int_equal(st("ldir"), -ENOENT);
	assert_int_equal(rd("ldir/secret", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(backing_opendir(b, "ldir", &d), -ENOENT);
	assert_null(d);
	assert_int_equal(st("a/dangling"), -ENOENT);
	assert_int_equal(backing_opendir(b, "a/f", &d), -ENOENT);
	assert_int_equal(st("a/f/x"), -ENOENT);
}

static void
test_links_and_fifos(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(st("a/hard"), -ENOENT);
	assert_int_equal(rd("a/g", buf, sizeof(buf)), -ENOENT);
	/* Refused at once: an open that waited for a writer would hang
	 * the serving thread. */
	assert_int_equal(rd("a/fifo", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rd("a/sock", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rd("a", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(st("a/sock"), -ENOENT);
	if (!have_dev) {
		printf("# SKIP: a device node needs root: NOT TESTED\n");
		return;
	}
	assert_int_equal(st("a/null"), -ENOENT);
	assert_int_equal(rd("a/null", buf, sizeof(buf)), -ENOENT);
}

static void
test_mounts(void **state)
{
	char buf[64];

	(void)state;
	if (mounted < 1) {
		printf("# SKIP: another mount inside the store needs root and "
		       "tmpfs: NOT TESTED\n");
		skip();
	}
	assert_int_equal(st("m"), -ENOENT);
	assert_int_equal(rd("m/f", buf, sizeof(buf)), -ENOENT);
	if (mounted < 2) {
		printf("# SKIP: a bind mount inside the store could not be "
		       "made: NOT TESTED\n");
		skip();
	}
	/* Same filesystem, same device, but another mount. */
	assert_int_equal(st("bind/f"), -ENOENT);
	assert_int_equal(rd("bind/f", buf, sizeof(buf)), -ENOENT);
}

static void
test_create(void **state)
{
	struct backing_file *f = NULL;
	struct stat s;
	char p[1024];

	(void)state;
	assert_int_equal(backing_create(b, "a/new", &f, &s), 0);
	assert_int_equal(backing_pwrite(f, "x", 1, 0), 1);
	backing_close(f);
	assert_int_equal(st("a/new"), 0);
	assert_int_equal(backing_create(b, "a/new", &f, &s), -EEXIST);
	/* Not through a symlink, to the dangling symlink's target, or out. */
	assert_int_equal(backing_create(b, "ldir/new", &f, &s), -ENOENT);
	at(p, sizeof(p), "outside/new");
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_equal(backing_create(b, "a/dangling", &f, &s), -EEXIST);
	assert_int_not_equal(access("/nonexistent-backing-target", F_OK), 0);
	assert_int_equal(backing_create(b, "../outside/new2", &f, &s), -ENOENT);
	at(p, sizeof(p), "outside/new2");
	assert_int_not_equal(access(p, F_OK), 0);
}

static void
test_long_names(void **state)
{
	char name[600];

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(st(name), -ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_links_and_fifos),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_long_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
