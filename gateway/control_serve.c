/*
 * control_serve.c - serving the control socket: the listener, a thread
 * per connection, the caps and the deadlines; what a request says is
 * core/ctl's, what it means control.c's.
 *
 * The socket is open to every local user (the peer's uid decides what it
 * may do), so one user must not keep the others out: caps per uid and in
 * all, with a reserve for root, and absolute deadlines for the request
 * and the answer however slowly bytes trickle.  Refusals are logged at
 * most once a second, so that a flood cannot flood the log too.  The
 * numbers are in docs/control-protocol.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/ctl/ctl.h"
#include "gateway/control.h"
#include "gateway/start.h"
#include "gateway/views.h"

#define CTL_PER_UID      8   /* connections one uid may hold */
#define CTL_MAX          256 /* connections in all, root's included */
#define CTL_ROOT_RESERVE 8   /* of CTL_MAX, for root only */
#define CTL_SLICE_MS     100 /* how often a waiting thread sees a stop */
#define CTL_BACKLOG      64

/* One connection being served. */
struct ctl_conn {
	struct gw *g;
	int fd;
	struct ucred cred;
};

/* Connections open per uid: CTL_MAX slots, n == 0 is free. */
struct ctl_slot {
	uid_t uid;
	int n;
};

static pthread_t ctl_thread;
static atomic_bool ctl_stop;
static int ctl_fd = -1;

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cv = PTHREAD_COND_INITIALIZER; /* ctl_open fell */
static struct ctl_slot ctl_slots[CTL_MAX];               /* ctl_mu */
static int ctl_open;                                     /* ctl_mu */
static int64_t ctl_log_ms = -1000000;                    /* ctl_mu */
static unsigned long ctl_refused;                        /* ctl_mu */

/* Reads what the socket has into BUF of LEN; a descriptor passed along
 * (SCM_RIGHTS: a view's connection) is kept in *PASSED if none came
 * before, any other closed.  As read(2). */
static ssize_t
read_with_fd(int fd, char *buf, size_t len, int *passed)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { buf, len };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (r < 0)
		return r;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int got;

			memcpy(
			    &got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*passed < 0)
				*passed = got;
			else
				close(got);
		}
	}
	return r;
}

/*
 * Reads a request's bytes into BUF of LEN until a newline comes, BUF is
 * full or the peer ends, before DEADLINE (ms, gw_now_ms()); *GOT is how
 * many, for ctl_parse_request() to judge; *PASSED a descriptor that came
 * with them (-1: none).  Returns 0, -ETIMEDOUT or -ECANCELED (the gateway
 * stops).
 */
static int
read_request(
    int fd, char *buf, size_t len, size_t *got, int *passed, int64_t deadline)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int64_t left;
	ssize_t r;

	*got = 0;
	while (*got < len && memchr(buf, '\n', *got) == NULL) {
		if (atomic_load(&ctl_stop))
			return -ECANCELED;
		if ((left = deadline - gw_now_ms()) <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1,
		        left < CTL_SLICE_MS ? (int)left : CTL_SLICE_MS) <= 0)
			continue;
		r = read_with_fd(fd, buf + *got, len - *got, passed);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

/* Sends LEN bytes of P before DEADLINE; what is left then is dropped. */
static void
send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	struct pollfd pf = { fd, POLLOUT, 0 };
	int64_t left;
	ssize_t w;

	while (len > 0) {
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return;
		if ((left = deadline - gw_now_ms()) <= 0)
			return;
		(void)poll(
		    &pf, 1, left < CTL_SLICE_MS ? (int)left : CTL_SLICE_MS);
	}
}

/* With ctl_mu held: UID's slot, or a free one (NULL: none). */
static struct ctl_slot *
slot_of(uid_t uid)
{
	struct ctl_slot *free_slot = NULL;
	size_t i;

	for (i = 0; i < CTL_MAX; i++) {
		if (ctl_slots[i].n > 0 && ctl_slots[i].uid == uid)
			return &ctl_slots[i];
		if (ctl_slots[i].n == 0 && free_slot == NULL)
			free_slot = &ctl_slots[i];
	}
	return free_slot;
}

/* Counts a connection of UID in, or writes why not into WHY. */
static bool
admit(uid_t uid, char *why, size_t len)
{
	int max = uid == 0 ? CTL_MAX : CTL_MAX - CTL_ROOT_RESERVE;
	struct ctl_slot *s;
	bool ok = false;

	pthread_mutex_lock(&ctl_mu);
	s = slot_of(uid);
	if (ctl_open >= max || s == NULL)
		snprintf(why, len,
		    "too many control connections in all (%d open)", ctl_open);
	else if (s->n >= CTL_PER_UID)
		snprintf(why, len,
		    "too many control connections from uid %lu (%d open)",
		    (unsigned long)uid, s->n);
	else
		ok = true;
	if (ok) {
		s->uid = uid;
		s->n++;
		ctl_open++;
	}
	pthread_mutex_unlock(&ctl_mu);
	return ok;
}

static void
release(uid_t uid)
{
	struct ctl_slot *s;

	pthread_mutex_lock(&ctl_mu);
	if ((s = slot_of(uid)) != NULL && s->n > 0)
		s->n--;
	ctl_open--;
	pthread_cond_broadcast(&ctl_cv);
	pthread_mutex_unlock(&ctl_mu);
}

/* Answers with an error saying WHY and closes FD; logged at most once a
 * second. */
static void
refuse(int fd, uid_t uid, const char *why)
{
	char line[CTL_ERROR_MAX + 1];
	int64_t now = gw_now_ms();
	int n;

	n = ctl_format_error(line, sizeof(line), "%s; try again later", why);
	if (n > 0)
		send_all(fd, line, (size_t)n, now);
	close(fd);
	pthread_mutex_lock(&ctl_mu);
	ctl_refused++;
	if (now - ctl_log_ms >= 1000) {
		gw_log(LOG_WARNING,
		    "control socket: uid %lu refused: %s; %lu refusals since "
		    "the last report",
		    (unsigned long)uid, why, ctl_refused);
		ctl_log_ms = now;
		ctl_refused = 0;
	}
	pthread_mutex_unlock(&ctl_mu);
}

static void *
conn_main(void *arg)
{
	struct ctl_conn *c = arg;
	struct ctl_request rq;
	char line[CTL_LINE_MAX], why[128], *ans = NULL;
	size_t n = 0, alen = 0;
	int passed = -1;
	FILE *f;
	int r;

	r = read_request(c->fd, line, sizeof(line), &n, &passed,
	    gw_now_ms() + CTL_REQUEST_MS);
	if (r != -ECANCELED && (f = open_memstream(&ans, &alen)) != NULL) {
		if (r == -ETIMEDOUT)
			ctl_reply_error(f,
			    "the request was not complete within %d seconds",
			    CTL_REQUEST_MS / 1000);
		else if (ctl_parse_request(line, n, &rq, why, sizeof(why)) !=
		    PG_OK)
			ctl_reply_error(f, "%s", why);
		else if (rq.verb == CTL_VIEW) {
			gw_view_request(
			    c->g, c->cred.uid, c->cred.pid, &rq, passed, f);
			passed = -1; /* taken */
		} else
			gw_control_answer(
			    c->g, c->cred.uid, c->cred.pid, &rq, f);
		if (fclose(f) == 0)
			send_all(c->fd, ans, alen, gw_now_ms() + CTL_ANSWER_MS);
		free(ans);
	}
	if (passed >= 0)
		close(passed);
	close(c->fd);
	release(c->cred.uid);
	free(c);
	return NULL;
}

/* Serves FD on a thread of its own, or refuses it. */
static void
serve_conn(struct gw *g, int fd)
{
	struct ctl_conn *c;
	socklen_t cl;
	pthread_attr_t at;
	pthread_t t;
	char why[128];
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->g = g;
	c->fd = fd;
	cl = sizeof(c->cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl) != 0) {
		close(fd);
		free(c);
		return;
	}
	if (!admit(c->cred.uid, why, sizeof(why))) {
		refuse(fd, c->cred.uid, why);
		free(c);
		return;
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &at, conn_main, c);
	pthread_attr_destroy(&at);
	if (r != 0) {
		release(c->cred.uid);
		snprintf(
		    why, sizeof(why), "no thread to serve it: %s", strerror(r));
		refuse(fd, c->cred.uid, why);
		free(c);
	}
}

static void *
ctl_main(void *arg)
{
	struct gw *g = arg;
	struct pollfd p = { ctl_fd, POLLIN, 0 };
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int fd;

	while (!atomic_load(&ctl_stop)) {
		if (poll(&p, 1, 500) <= 0)
			continue;
		fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			serve_conn(g, fd);
		else if (errno == EMFILE || errno == ENFILE)
			nanosleep(&pause, NULL); /* no busy loop meanwhile */
	}
	return NULL;
}

int
gw_control_start(struct gw *g)
{
	const char *path = g->cfg->store_control_socket;
	struct sockaddr_un sa;
	struct stat st;

	if (path == NULL)
		return 0;
	if (ctl_sockaddr(path, &sa) != PG_OK) {
		gw_log(
		    LOG_ERR, "control socket path empty or too long: %s", path);
		return -1;
	}
	/* A socket left by an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl_fd < 0 ||
	    bind(ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0666) != 0 || listen(ctl_fd, CTL_BACKLOG) != 0) {
		gw_log(LOG_ERR, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	atomic_store(&ctl_stop, false);
	if (pthread_create(&ctl_thread, NULL, ctl_main, g) != 0) {
		gw_log(LOG_ERR, "control socket: no thread");
		close(ctl_fd);
		ctl_fd = -1;
		return -1;
	}
	return 0;
}

void
gw_control_stop(struct gw *g)
{
	if (ctl_fd < 0)
		return;
	atomic_store(&ctl_stop, true);
	pthread_join(ctl_thread, NULL);
	/* Connections still served use G: wait for them.  Each ends by its
	 * deadlines, a request being read at once. */
	pthread_mutex_lock(&ctl_mu);
	while (ctl_open > 0)
		pthread_cond_wait(&ctl_cv, &ctl_mu);
	pthread_mutex_unlock(&ctl_mu);
	close(ctl_fd);
	ctl_fd = -1;
	if (g->cfg->store_control_socket != NULL)
		unlink(g->cfg->store_control_socket);
}
