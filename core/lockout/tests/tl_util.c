/*
 * tl_util.c - helpers for the lockout store tests; see tl_util.h.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "testutil.h"
#include "tl_util.h"

int
tl_fx_setup(void **state, const char *tag)
{
	struct tl_fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_mkdtemp(tag);
	assert_int_equal(lockout_open(f->dir, 0, &f->st), PG_OK);
	*state = f;
	return 0;
}

int
tl_fx_teardown(void **state)
{
	struct tl_fx *f = *state;

	lockout_free(f->st);
	if (f->mounted && umount2(f->dir, MNT_DETACH) != 0)
		perror("umount");
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

void
tl_write(const char *dir, const char *name, const char *buf, size_t len,
    unsigned mode)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		perror(path);
		exit(99);
	}
	fchmod(fd, mode);
	close(fd);
}

void
tl_name(char kind, const char *user, char *buf)
{
	const unsigned char *p = (const unsigned char *)user;
	size_t o = 0;

	buf[o++] = kind;
	buf[o++] = '-';
	for (; *p != '\0' && o < 500; p++)
		o += (size_t)snprintf(buf + o, 3, "%02x", *p);
	snprintf(buf + o, 6, ".json");
}
