/*
 * hook.c - the lockout hook: its environment, the one rule its path must
 * pass, and a detached, time-bounded run that neither the gateway nor a
 * login in the PAM module ever waits for.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "core/state/state.h"

#define HOOK_PATH_MAX 4096
#define HOOK_LOG_MAX  1024
#define HOOK_POLL_NS  50000000L /* 50 ms between looks at the hook */

void
lockout_hook_env_init(
    struct lockout_hook_env *e, const char *event, const char *component)
{
	char host[256] = "", ts[32] = "";

	memset(e, 0, sizeof(*e));
	(void)gethostname(host, sizeof(host) - 1);
	(void)pg_utc(time(NULL), PG_TIME_ISO, ts, sizeof(ts));
	lockout_hook_env_set(e, "PHOTOGUARD_EVENT", event);
	lockout_hook_env_set(e, "PHOTOGUARD_COMPONENT", component);
	lockout_hook_env_set(e, "PHOTOGUARD_TIME", ts);
	lockout_hook_env_set(e, "PHOTOGUARD_HOST", host);
	lockout_hook_env_set(e, "PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
}

void
lockout_hook_env_set(
    struct lockout_hook_env *e, const char *name, const char *value)
{
	char *v;
	size_t i, n;

	if (value == NULL || e->n == LOCKOUT_HOOK_ENV_MAX)
		return;
	v = e->var[e->n];
	n = strlen(name);
	if (n + 2 > LOCKOUT_HOOK_VAR_MAX)
		return;
	memcpy(v, name, n);
	v[n++] = '=';
	for (i = 0; value[i] != '\0' && n + 1 < LOCKOUT_HOOK_VAR_MAX; i++)
		v[n++] = ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
		    ? '?'
		    : value[i];
	v[n] = '\0';
	e->n++;
}

/* Is ST (of WHAT, PATH) safe from anyone but root? */
static int
safe_owner(const struct stat *st, const char *what, const char *path, char *why,
    size_t len)
{
	if (st->st_uid != 0) {
		snprintf(why, len, "%s %s is not owned by root", what, path);
		return PG_ERR_PERM;
	}
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return 0; /* /tmp: only root may replace root's entries */
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(
		    why, len, "%s %s is group or world writable", what, path);
		return PG_ERR_PERM;
	}
	return 0;
}

int
lockout_hook_check(const char *path, char *why, size_t len)
{
	char dir[HOOK_PATH_MAX];
	struct stat st;
	char *slash;
	int r;

	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(dir)) {
		snprintf(why, len, "not an absolute path");
		return PG_ERR_INVAL;
	}
	if (lstat(path, &st) != 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return PG_ERR_IO;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, len, "%s is a symlink", path);
		return PG_ERR_SYMLINK;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
		snprintf(why, len, "%s is not an executable file", path);
		return PG_ERR_PERM;
	}
	if ((r = safe_owner(&st, "the file", path, why, len)) != 0)
		return r;
	memcpy(dir, path, strlen(path) + 1);
	while ((slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		if (lstat(dir, &st) != 0) {
			snprintf(why, len, "%s: %s", dir, strerror(errno));
			return PG_ERR_IO;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, len, "%s is not a directory", dir);
			return PG_ERR_SYMLINK;
		}
		if ((r = safe_owner(&st, "the directory", dir, why, len)) != 0)
			return r;
		if (slash == dir)
			break;
	}
	return 0;
}

/* --- the children: async-signal-safe calls only ------------------------ */

struct hook_run {
	const char *path;
	char *argv[2];
	char *envp[LOCKOUT_HOOK_ENV_MAX + 1];
	const struct lockout_hook_opts *o;
	char msg[HOOK_LOG_MAX]; /* "<PRI>ident: lockout hook PATH " */
	size_t msglen;
};

/* Appends S, then the decimal N (when N >= 0), to R->msg and sends it to
 * /dev/log.  Nothing here may take a lock. */
static void
sup_log(struct hook_run *r, const char *s, long n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char digits[24];
	size_t len = r->msglen, k, d = 0;
	int fd;

	for (k = 0; s[k] != '\0' && len + 1 < sizeof(r->msg); k++)
		r->msg[len++] = s[k];
	if (n >= 0) {
		do
			digits[d++] = (char)('0' + n % 10);
		while ((n /= 10) > 0 && d < sizeof(digits));
		while (d > 0 && len + 1 < sizeof(r->msg))
			r->msg[len++] = digits[--d];
	}
	memcpy(sa.sun_path, "/dev/log", sizeof("/dev/log"));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(
	    fd, r->msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
	(void)close(fd);
}

/* The hook itself: own session, default signals, dropped ids, exec. */
static void
hook_exec(struct hook_run *r)
{
	struct sigaction sa;
	sigset_t none;
	int s;

	(void)setsid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (r->o->uid != (uid_t)-1 &&
	    (setgroups(1, &r->o->gid) != 0 || setgid(r->o->gid) != 0 ||
	        setuid(r->o->uid) != 0))
		_exit(126);
	execve(r->path, r->argv, r->envp);
	_exit(127);
}

/* Waits for the hook until the deadline, kills it past that, says why it
 * failed. */
static void
supervise(struct hook_run *r, pid_t pid)
{
	struct timespec now, end, nap = { 0, HOOK_POLL_NS };
	int st = 0;
	pid_t w;

	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)r->o->timeout_s;
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			sup_log(r,
			    "timed out after seconds: ", (long)r->o->timeout_s);
			return;
		}
		(void)nanosleep(&nap, NULL);
	}
	if (w != pid)
		sup_log(r, "could not be waited for", -1);
	else if (WIFSIGNALED(st))
		sup_log(r, "was killed by signal ", WTERMSIG(st));
	else if (WEXITSTATUS(st) == 126)
		sup_log(r, "could not take the service user's ids", -1);
	else if (WEXITSTATUS(st) == 127)
		sup_log(r, "could not be executed", -1);
	else if (WEXITSTATUS(st) != 0)
		sup_log(r, "failed with exit status ", WEXITSTATUS(st));
}

/* The orphan that watches the hook: holds nothing of the caller's but
 * its memory, which it keeps from core dumps and ptrace. */
static void
supervisor(struct hook_run *r)
{
	struct sigaction sa;
	pid_t pid;
	int fd;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL); /* ours to wait for */
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(1);
	(void)close_range(3, ~0U, 0);
	if ((pid = fork()) < 0) {
		sup_log(r, "could not be started: fork failed", -1);
		_exit(1);
	}
	if (pid == 0)
		hook_exec(r);
	supervise(r, pid);
	_exit(0);
}

static int
start(struct hook_run *r, char *why, size_t len)
{
	pid_t pid, w;
	int st = 0;

	if ((pid = fork()) < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return PG_ERR_IO;
	}
	if (pid == 0) {
		pid_t g = fork();

		if (g == 0)
			supervisor(r);
		_exit(g < 0 ? 1 : 0);
	}
	/* Only our own child, back at once; a host that reaps every child
	 * itself (sshd) may have taken it first: ECHILD. */
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w == pid && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		snprintf(why, len, "fork: the hook could not be started");
		return PG_ERR_IO;
	}
	return 0;
}

int
lockout_hook_run(const char *path, const struct lockout_hook_env *e,
    const struct lockout_hook_opts *o, char *why, size_t len)
{
	struct hook_run r;
	size_t i;
	int n, rc;

	if ((rc = lockout_hook_check(path, why, len)) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	r.path = path;
	r.argv[0] = (char *)(uintptr_t)path;
	for (i = 0; i < e->n; i++)
		r.envp[i] = (char *)(uintptr_t)e->var[i];
	r.o = o;
	n = snprintf(r.msg, sizeof(r.msg), "<%d>%s: lockout hook %s ",
	    LOG_AUTHPRIV | LOG_ERR, o->ident, path);
	if (n < 0 || (size_t)n >= sizeof(r.msg)) {
		snprintf(why, len, "path too long");
		return PG_ERR_TOOBIG;
	}
	r.msglen = (size_t)n;
	return start(&r, why, len);
}
