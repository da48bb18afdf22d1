/*
 * notify.c - the service manager's readiness and watchdog datagrams,
 * written here rather than linking libsystemd into the process that
 * serves photos.  Each follows a stat and statfs of the mount by a
 * short-lived child, so a hung FUSE loop stops the pings and cannot pin
 * the serving process (docs/gateway.md, "Readiness and the watchdog").
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "gateway/notify.h"
#include "gateway/start.h"

#define WATCHDOG_USEC_MAX (3600ULL * 1000 * 1000)
#define PROBE_WAIT_MS     2000 /* a mount slower than this is not ready */

static char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static size_t notify_len;
static unsigned long long watchdog_usec;

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cv = PTHREAD_COND_INITIALIZER;
static atomic_bool stopping;

void
gw_notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	const char *w = getenv("WATCHDOG_USEC");
	unsigned long long v;
	char *end;
	size_t n;

	if (s != NULL) {
		n = strlen(s);
		if ((s[0] == '/' || s[0] == '@') && n >= 2 &&
		    n < sizeof(notify_path)) {
			memcpy(notify_path, s, n);
			notify_len = n;
		} else {
			gw_log(LOG_WARNING,
			    "NOTIFY_SOCKET is not a socket address: ignored");
		}
	}
	if (notify_len > 0 && w != NULL) {
		errno = 0;
		v = strtoull(w, &end, 10);
		if (errno == 0 && end != w && *end == '\0' && v > 0 &&
		    v <= WATCHDOG_USEC_MAX)
			watchdog_usec = v;
		else
			gw_log(LOG_WARNING,
			    "WATCHDOG_USEC=%.32s is not a period: no watchdog",
			    w);
	}
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");
}

int
gw_notify(const char *msg)
{
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t n;
	int fd, r = 0;

	if (notify_len == 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, notify_path, notify_len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + notify_len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	n = sendto(
	    fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(msg))
		r = -EMSGSIZE;
	close(fd);
	return r;
}

/* 0 if the mount at MP answers as a FUSE file system, or -errno. */
static int
answers(const char *mp)
{
	struct statfs sf;
	struct stat st;

	if (stat(mp, &st) != 0 || statfs(mp, &sf) != 0)
		return -errno;
	return sf.f_type == FUSE_SUPER_MAGIC ? 0 : -EXDEV;
}

/* Sleeps MS milliseconds or until gw_notify_stopping().  True: stop. */
static bool
nap(long long ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&watch_mu);
	while (!(stop = atomic_load(&stopping)) &&
	    pthread_cond_timedwait(&watch_cv, &watch_mu, &ts) != ETIMEDOUT)
		;
	stop = atomic_load(&stopping);
	pthread_mutex_unlock(&watch_mu);
	return stop;
}

struct watch {
	char *mp;
	int fuse_fd; /* the serving process's /dev/fuse */
	pid_t stuck; /* a probe that has not answered yet */
	char status[512];
};

/* Asks a child whether the mount answers (see above).  0, -errno, or
 * -ETIMEDOUT while a probe, this one or an earlier one, hangs. */
static int
probe(struct watch *w)
{
	struct pollfd pfd;
	int p[2], r = -ETIMEDOUT, st;
	pid_t pid;

	if (w->stuck > 0) {
		if (waitpid(w->stuck, &st, WNOHANG) == 0)
			return -ETIMEDOUT;
		w->stuck = 0;
	}
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(w->fuse_fd);
		close(p[0]);
		r = answers(w->mp);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, PROBE_WAIT_MS) == 1 &&
	    read(p[0], &r, sizeof(r)) == sizeof(r)) {
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	} else {
		/* Killed, it still ends only with the connection. */
		r = -ETIMEDOUT;
		kill(pid, SIGKILL);
		w->stuck = pid;
	}
	close(p[0]);
	return r;
}

/* Pings while the mount answers; says so once when it stops answering
 * and once when it answers again. */
static void
watchdog_loop(struct watch *w)
{
	bool failing = false;
	int r;

	while (!nap((long long)(watchdog_usec / 2000))) {
		r = probe(w);
		/* A stop unmounts before the loop ends: not a failure. */
		if (r != 0 && nap(500))
			break;
		if (r == 0) {
			(void)gw_notify("WATCHDOG=1");
			if (failing)
				gw_log(LOG_NOTICE, "mount %s answers again",
				    w->mp);
			failing = false;
		} else if (!failing) {
			gw_log(LOG_ERR,
			    "mount %s does not answer (%s): no watchdog ping, "
			    "the service manager will restart the gateway",
			    w->mp, strerror(-r));
			failing = true;
		}
	}
}

static void *
watch_main(void *arg)
{
	struct watch *w = arg;
	bool logged = false;
	int r;

	while ((r = probe(w)) != 0) {
		if (!logged)
			gw_log(LOG_WARNING, "mount %s does not answer yet: %s",
			    w->mp, strerror(-r));
		logged = true;
		if (nap(100))
			goto out;
	}
	r = gw_notify(w->status);
	gw_log(LOG_INFO, "mount %s answers: ready%s%s", w->mp,
	    r == 0 ? "" : "; the service manager was not told: ",
	    r == 0 ? "" : strerror(-r));
	if (watchdog_usec > 0)
		watchdog_loop(w);
out:
	free(w->mp);
	free(w);
	return NULL;
}

/* S with control characters made '?': a status is one line. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int
gw_notify_watch(struct gw *g)
{
	char what[480];
	struct watch *w;
	pthread_t t;

	if (notify_len == 0)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->mp = strdup(g->mountpoint)) == NULL) {
		free(w);
		gw_log(LOG_ERR, "out of memory");
		return -1;
	}
	w->fuse_fd = fuse_session_fd(fuse_get_session(g->fuse));
	snprintf(what, sizeof(what), "serving %s on %s", g->cfg->store_root,
	    g->mountpoint);
	one_line(what);
	snprintf(w->status, sizeof(w->status), "READY=1\nSTATUS=%s", what);
	/* Detached: a stat of a mount whose loop has ended may only
	 * return once the connection is gone, and nobody must wait for
	 * that. */
	if (pthread_create(&t, NULL, watch_main, w) != 0) {
		free(w->mp);
		free(w);
		gw_log(LOG_ERR, "cannot start the readiness thread");
		return -1;
	}
	pthread_detach(t);
	return 0;
}

void
gw_notify_stopping(void)
{
	pthread_mutex_lock(&watch_mu);
	atomic_store(&stopping, true);
	pthread_cond_broadcast(&watch_cv);
	pthread_mutex_unlock(&watch_mu);
	(void)gw_notify("STOPPING=1");
}
