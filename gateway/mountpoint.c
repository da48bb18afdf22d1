/*
 * mountpoint.c - making the mount point ready: created when it is missing
 * (root's, 0755, no symlink on the way), and the dead mount a crashed or
 * killed gateway left behind (answering ENOTCONN) cleared, so that the
 * service manager's restart serves again without a hand-written path in
 * the unit.  Only a dead mount of our own file system type is cleared.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "gateway/mountpoint.h"
#include "gateway/start.h"

#define MOUNTINFO_LINE_MAX 8192
#define OUR_FSTYPE         "fuse.photoguard"

/* Undoes mountinfo's octal escapes (\040 for a space...) in place. */
static void
unescape(char *s)
{
	char *d = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* The file system type of the topmost mount on MP, in TYPE; 0 or -1. */
static int
mount_type(const char *mp, char *type, size_t len)
{
	char line[MOUNTINFO_LINE_MAX], *f[5], *sep, *save = NULL, *t;
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	int found = -1, i;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		/* id parent dev root mountpoint opts... - type source sopts */
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		t = strtok_r(sep + 3, " ", &save);
		for (i = 0, f[0] = strtok_r(line, " ", &save); i < 4 && f[i];)
			f[++i] = strtok_r(NULL, " ", &save);
		if (i < 4 || f[4] == NULL || t == NULL)
			continue;
		unescape(f[4]);
		if (strcmp(f[4], mp) == 0) {
			snprintf(type, len, "%s", t);
			found = 0;
		}
	}
	fclose(fp);
	return found;
}

/* Clears the dead mount on MP if it is a gateway's.  0 or -1. */
static int
clear_dead(const char *mp)
{
	char type[64];

	if (mount_type(mp, type, sizeof(type)) != 0 ||
	    strcmp(type, OUR_FSTYPE) != 0) {
		gw_log(LOG_ERR,
		    "mount point %s: a dead mount that is not a gateway's; "
		    "unmount it (umount -l %s)",
		    mp, mp);
		return -1;
	}
	if (umount2(mp, MNT_DETACH) != 0) {
		gw_log(LOG_ERR,
		    "mount point %s: cannot clear the dead mount "
		    "of an earlier gateway: %s",
		    mp, strerror(errno));
		return -1;
	}
	gw_log(LOG_WARNING,
	    "mount point %s: cleared the dead mount of an "
	    "earlier gateway",
	    mp);
	return 0;
}

/* Creates the missing directories of the absolute path MP, each root's,
 * 0755, opening every existing one without following a symlink. */
static int
create(const char *mp)
{
	char path[PATH_MAX], *c, *next;
	int dfd, fd, r = -1;
	bool made;

	if (snprintf(path, sizeof(path), "%s", mp) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (c = path + 1; c != NULL && *c != '\0'; c = next) {
		if ((next = strchr(c, '/')) != NULL)
			*next++ = '\0';
		if (*c == '\0' || strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			r = -EINVAL;
			goto out;
		}
		made = mkdirat(dfd, c, 0755) == 0;
		if (!made && errno != EEXIST) {
			r = -errno;
			goto out;
		}
		fd = openat(
		    dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = errno == ENOTDIR || errno == ELOOP ? -ELOOP
			                                       : -errno;
			goto out;
		}
		close(dfd);
		dfd = fd;
		/* Through the descriptor: the name may have changed since. */
		if (made && fchmod(dfd, 0755) != 0) {
			r = -errno;
			goto out;
		}
	}
	r = 0;
out:
	close(dfd);
	return r;
}

int
gw_mountpoint_prepare(const char *mp)
{
	struct stat st;
	int r;

	if (stat(mp, &st) != 0 && errno == ENOTCONN) {
		if (clear_dead(mp) != 0)
			return -1;
	}
	if (stat(mp, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		gw_log(LOG_ERR, "mount point %s is not a directory", mp);
		return -1;
	}
	if (errno != ENOENT || mp[0] != '/' || geteuid() != 0) {
		gw_log(LOG_ERR, "mount point %s: %s", mp, strerror(errno));
		return -1;
	}
	if ((r = create(mp)) != 0) {
		gw_log(LOG_ERR, "mount point %s cannot be created: %s", mp,
		    r == -ELOOP ? "a part of it is a symlink or not a directory"
		                : strerror(-r));
		return -1;
	}
	gw_log(LOG_NOTICE, "created the mount point %s (root's, 0755)", mp);
	return 0;
}
