/*
 * privsep.c - the gateway mounts as root, then serves as the store's
 * service user with nothing more; a root parent only unmounts.  Root is
 * needed for mount(2) with allow_other and umount2(2), nothing else
 * (docs/gateway.md, "Serving as the service user").
 */
#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "base/base.h"
#include "core/state/state.h"
#include "access/access.h"
#include "gateway/gw.h"
#include "gateway/privsep.h"
#include "gateway/start.h"

#define PROBE_MAX (64 * 1024 * 1024)

static volatile sig_atomic_t stop_sig;

static void
on_stop(int sig)
{
	stop_sig = sig;
}

/* The parent: forwards stop signals, waits, unmounts.  Never returns. */
static void
supervise(struct gw *g, pid_t pid)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;
	int status = 0;

	/* The worker's end of /dev/fuse must be the only one: with a copy
	 * here a dead worker would leave requests hanging, not ENOTCONN. */
	close(fuse_session_fd(fuse_get_session(g->fuse)));
	/* It still holds the configuration it started with (a bind
	 * password among it): no core file of it. */
	(void)prctl(PR_SET_DUMPABLE, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			gw_log(LOG_ERR, "waitpid: %s", strerror(errno));
			_exit(1);
		}
		/* Told to stop: unmount (the worker cannot), which ends its
		 * loop, and pass the signal on for handles still open. */
		if (stop_sig != 0) {
			(void)umount2(g->mountpoint, MNT_DETACH);
			kill(pid, stop_sig);
			stop_sig = 0;
		}
	}
	if (WIFSIGNALED(status)) {
		gw_log(LOG_CRIT,
		    "gateway worker %ld died of signal %d: %s left answering "
		    "ENOTCONN",
		    (long)pid, WTERMSIG(status), g->mountpoint);
		_exit(1);
	}
	if (umount2(g->mountpoint, MNT_DETACH) != 0 && errno != EINVAL &&
	    errno != ENOENT)
		gw_log(
		    LOG_ERR, "umount %s: %s", g->mountpoint, strerror(errno));
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* The directory of the audit log PATH, in BUF (LEN bytes). */
static int
audit_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 0 : (size_t)(slash - path);

	if (slash == NULL)
		return snprintf(buf, len, ".") >= (int)len ? -1 : 0;
	if (n == 0)
		n = 1;
	if (n >= len)
		return -1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

static int probe(const struct gw *g, uid_t su, gid_t sg);

/* Makes DIR the share's (with what root left in it) or says why not. */
static int
share_dir(const char *what, const char *dir, int create)
{
	int fd = pg_open_shared_dir(dir, create), r;

	if (fd < 0) {
		gw_log(LOG_ERR,
		    "%s %s: %s (it must be root's alone, mode 0700, or the "
		    "service group's, mode 02770)",
		    what, dir, pg_strerror(fd));
		return -1;
	}
	r = pg_share_adopt_files(fd);
	close(fd);
	if (r != PG_OK) {
		gw_log(LOG_ERR,
		    "%s %s: cannot give its files to the service "
		    "group",
		    what, dir);
		return -1;
	}
	return 0;
}

/* The name of an account other than SU whose primary group is SG, in
 * BUF, or "" if there is none: members of the share's group would read
 * the MFA tickets, the lockout store and the audit log. */
static void
group_sharer(uid_t su, gid_t sg, char *buf, size_t len)
{
	struct passwd *pw;

	buf[0] = '\0';
	setpwent();
	while ((pw = getpwent()) != NULL) {
		if (pw->pw_gid == sg && pw->pw_uid != su) {
			snprintf(buf, len, "%s", pw->pw_name);
			break;
		}
	}
	endpwent();
}

int
gw_privsep_prepare(struct gw *g)
{
	char dir[PATH_MAX], who[256];
	uid_t su;
	gid_t sg;

	if (geteuid() != 0)
		return 0;
	if (!pg_share_get(&su, &sg)) {
		gw_log(LOG_ERR,
		    "[store] user %s cannot serve: its primary group must be "
		    "its own (no members) and not root's",
		    g->cfg->store_user);
		return -1;
	}
	group_sharer(su, sg, who, sizeof(who));
	if (who[0] != '\0') {
		gw_log(LOG_ERR,
		    "[store] user %s cannot serve: %s has the same primary "
		    "group (%lu); the service user's group must be its own",
		    g->cfg->store_user, who, (unsigned long)sg);
		return -1;
	}
	if (share_dir("MFA ticket directory", g->cfg->totp_ticket_dir, 1) !=
	        0 ||
	    share_dir("lockout store", g->cfg->lockout_dir, 0) != 0)
		return -1;
	if (audit_dir(g->cfg->audit_log, dir, sizeof(dir)) != 0 ||
	    share_dir("audit log directory", dir, 0) != 0)
		return -1;
	return probe(g, su, sg);
}

int
gw_privsep_fork(struct gw *g)
{
	pid_t parent = getpid(), pid;

	if (geteuid() != 0)
		return 0; /* started unprivileged: nothing to drop */
	if ((pid = fork()) < 0) {
		gw_log(LOG_ERR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		supervise(g, pid);
	g->privsep = 1;
	/* Without its parent nobody would unmount: die with it, leaving the
	 * mount answering ENOTCONN as after a crash. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
		gw_log(LOG_ERR, "the gateway's parent is gone");
		return -1;
	}
	return 0;
}

/* Whether the worker, now unprivileged, can still read FILE with FLAGS. */
static int
can_read(const char *what, const char *file, int flags)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (file == NULL)
		return 0;
	r = pg_read_file(file, PROBE_MAX, flags, &buf, &len);
	if (flags & PG_RF_SECRET)
		pg_free_secret(buf);
	else
		free(buf);
	if (r == PG_OK)
		return 0;
	gw_log(LOG_ERR,
	    "%s %s: %s (the gateway serves as the service user: "
	    "give the file to its group, see photoguard-gateway(8))",
	    what, file, pg_strerror(r));
	return -1;
}

static int
can_enter(const char *what, const char *dir)
{
	int fd = pg_open_shared_dir(dir, 0);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	gw_log(LOG_ERR,
	    "%s %s: %s (it must be mode 02770, group of the "
	    "service user, see photoguard-gateway(8))",
	    what, dir, pg_strerror(fd));
	return -1;
}

/* Becomes SU:SG for good: no supplementary groups, no way back. */
static int
drop_to(uid_t su, gid_t sg)
{
	uid_t ru, eu, xu;

	if (setgroups(0, NULL) != 0 || setresgid(sg, sg, sg) != 0 ||
	    setresuid(su, su, su) != 0) {
		gw_log(LOG_ERR, "cannot become uid %lu gid %lu: %s",
		    (unsigned long)su, (unsigned long)sg, strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &xu) != 0 || ru != su || eu != su || xu != su ||
	    setuid(0) == 0 || setgid(0) == 0) {
		gw_log(LOG_ERR, "privileges were not dropped");
		return -1;
	}
	(void)prctl(PR_SET_DUMPABLE, 0);
	return 0;
}

/* Whether what serving needs again is reachable by the service user. */
static int
check_reach(const struct gw *g)
{
	char dir[PATH_MAX];
	int r = 0;

	r |= can_read("policy", g->cfg->policy_file, PG_RF_TRUSTED);
	if (g->cfg->dir_backend == PG_DIR_LDAP && g->cfg->dir_bind_dn != NULL)
		r |= can_read("bind password file",
		    g->cfg->dir_bind_password_file,
		    PG_RF_PRIVATE | PG_RF_SHARED | PG_RF_SECRET);
	if (g->cfg->dir_backend == PG_DIR_LOCAL)
		r |= can_read("care-team file", g->cfg->dir_care_team_file,
		    PG_RF_PRIVATE | PG_RF_SHARED);
	r |= can_enter("MFA ticket directory", g->cfg->totp_ticket_dir);
	r |= can_enter("lockout store", g->cfg->lockout_dir);
	if (audit_dir(g->cfg->audit_log, dir, sizeof(dir)) == 0)
		r |= can_enter("audit log directory", dir);
	return r;
}

/* Before the mount: a throw-away child, as the service user, checks that
 * it will reach everything serving needs. */
static int
probe(const struct gw *g, uid_t su, gid_t sg)
{
	int status;
	pid_t pid;

	if ((pid = fork()) < 0) {
		gw_log(LOG_ERR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(drop_to(su, sg) == 0 && check_reach(g) == 0 ? 0 : 1);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
gw_privsep_drop(struct gw *g)
{
	uid_t su;
	gid_t sg;

	if (!g->privsep)
		return 0;
	if (!pg_share_get(&su, &sg) || drop_to(su, sg) != 0) {
		gw_log(LOG_ERR, "the gateway will not serve as root");
		return -1;
	}
	/* A change of credentials clears the parent-death signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1) {
		gw_log(LOG_ERR, "the gateway's parent is gone");
		return -1;
	}
	gw_log(LOG_INFO, "serving as uid %lu gid %lu", (unsigned long)su,
	    (unsigned long)sg);
	return 0;
}
