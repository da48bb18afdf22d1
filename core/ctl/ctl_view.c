/*
 * ctl_view.c - a login's own view of the store: a FUSE connection that
 * only the user's uid may use, mounted over [store] mountpoint in a mount
 * namespace of the login's own, and handed to the running gateway, which
 * serves it with the kernel's caches on (docs/gateway.md, "Per-user
 * views").  The PAM module calls this at session open; `photoguard view
 * exec` for what runs outside a login.
 *
 * The kernel, not the gateway, keeps everyone else out: the mount has
 * user_id/group_id and no allow_other, so requests of any other uid
 * (root's included) are refused before they reach the gateway.  And the
 * mount lives only in this namespace: when the login's last process is
 * gone the kernel unmounts it and the gateway's end reads ENODEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/ctl/ctl.h"

#define REPLY_MAX 1024

static int fail(int code, char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int code, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Sends LINE with FD attached, then reads the reply into BUF (at most
 * LEN - 1 bytes, NUL-terminated) until the gateway closes.  PG_OK, or
 * PG_ERR_IO with WHY. */
static int
ask(int s, const char *line, int fd, char *buf, size_t len, char *why,
    size_t wlen)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)(uintptr_t)line, strlen(line) };
	struct msghdr mh;
	struct cmsghdr *c;
	size_t got = 0;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	/* One line, small enough for the socket's buffer: one sendmsg. */
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return fail(PG_ERR_IO, why, wlen,
		    "cannot send the request to the gateway: %s",
		    strerror(errno));
	/* Each read waits at most CTL_CLIENT_MS (SO_RCVTIMEO, reach()). */
	while (got < len - 1) {
		r = read(s, buf + got, len - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return fail(PG_ERR_IO, why, wlen,
			    "the gateway did not answer within %d seconds",
			    CTL_CLIENT_MS / 1000);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return PG_OK;
}

/* Connects to the gateway at SOCK: the socket, or a PG_ERR_* (NOTFOUND:
 * no gateway listens) with WHY. */
static int
reach(const char *sock, char *why, size_t len)
{
	struct timeval tv = { CTL_CLIENT_MS / 1000, 0 };
	struct sockaddr_un sa;
	int s, e;

	if (ctl_sockaddr(sock, &sa) != PG_OK)
		return fail(PG_ERR_CONFIG, why, len,
		    "control socket path empty or too long");
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return fail(PG_ERR_IO, why, len, "socket: %s", strerror(errno));
	/* A gateway that does not take or answer the request is waited for
	 * this long, not for ever: the login waits on it. */
	(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return s;
	e = errno;
	close(s);
	/* No gateway on this host (or not yet): the shared view. */
	if (e == ENOENT || e == ECONNREFUSED)
		return fail(PG_ERR_NOTFOUND, why, len,
		    "no gateway listens on %s", sock);
	return fail(
	    PG_ERR_IO, why, len, "cannot reach the gateway: %s", strerror(e));
}

/* Hands FD, the connection of a view for UID, to the gateway on S. */
static int
hand_over(int s, uid_t uid, int fd, char *why, size_t len)
{
	char arg[32], line[64], reply[REPLY_MAX];
	size_t body;
	int r;

	snprintf(arg, sizeof(arg), "%lu", (unsigned long)uid);
	if (ctl_format_request(line, sizeof(line), CTL_VIEW, arg, NULL) < 0)
		return fail(PG_ERR_INTERNAL, why, len, "request not formed");
	r = ask(s, line, fd, reply, sizeof(reply), why, len);
	if (r != PG_OK)
		return r;
	switch (ctl_reply_verdict(reply, strlen(reply), &body)) {
	case CTL_REPLY_OK:
		return PG_OK;
	case CTL_REPLY_ERROR:
		reply[strcspn(reply, "\n")] = '\0';
		return fail(PG_ERR_PERM, why, len, "the gateway refused: %s",
		    reply + strlen("error: "));
	default:
		return fail(PG_ERR_IO, why, len,
		    "the gateway's answer was cut short or not understood");
	}
}

int
ctl_view_enter(const char *sock, const char *mountpoint, uid_t uid, gid_t gid,
    char *why, size_t len)
{
	char opts[128];
	int s, fd, r;

	if (why != NULL && len > 0)
		why[0] = '\0';
	if (sock == NULL || mountpoint == NULL || mountpoint[0] != '/')
		return fail(PG_ERR_CONFIG, why, len,
		    "no [store] mountpoint or control_socket");
	if (uid == 0)
		return fail(PG_ERR_INVAL, why, len,
		    "root has no view of its own (the shared view serves it)");
	if (geteuid() != 0)
		return fail(PG_ERR_PERM, why, len, "only root can make a view");
	/* Where no gateway listens nothing is done: no namespace, no
	 * mount, no error (a login server without the photo store). */
	if ((s = reach(sock, why, len)) < 0)
		return s;
	if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0) {
		r = fail(PG_ERR_IO, why, len, "/dev/fuse: %s", strerror(errno));
		goto out_s;
	}
	/* A namespace of this login's own; mounts made on the host still
	 * reach it (slave), none made here goes back. */
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) {
		r = fail(PG_ERR_IO, why, len, "no mount namespace: %s",
		    strerror(errno));
		goto out_fd;
	}
	snprintf(opts, sizeof(opts),
	    "fd=%d,rootmode=40000,user_id=%lu,group_id=%lu", fd,
	    (unsigned long)uid, (unsigned long)gid);
	if (mount("photoguard", mountpoint, "fuse.photoguard",
	        MS_NOSUID | MS_NODEV, opts) != 0) {
		r = fail(PG_ERR_IO, why, len, "cannot mount a view on %s: %s",
		    mountpoint, strerror(errno));
		goto out_fd;
	}
	/* Nobody serves it unless the gateway takes it: then it goes, and
	 * the shared view shows through again. */
	if ((r = hand_over(s, uid, fd, why, len)) != PG_OK)
		(void)umount2(mountpoint, MNT_DETACH);
out_fd:
	close(fd);
out_s:
	close(s);
	return r;
}
