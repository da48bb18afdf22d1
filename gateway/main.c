/*
 * main.c - photoguard-gateway: options, the checks that must pass before
 * anything is served, the mount and the FUSE loop.  The high-level (path)
 * API because every decision is about a path; why, and who stays root:
 * docs/gateway.md.
 */
#include <errno.h>
#include <fuse.h>
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "core/audit/audit.h"
#include "core/config/config.h"
#include "core/dir/dir.h"
#include "base/base.h"
#include "core/lockout/lockout.h"
#include "access/access.h"
#include "gateway/backing.h"
#include "gateway/gw.h"
#include "gateway/control.h"
#include "gateway/dirsync.h"
#include "gateway/notify.h"
#include "gateway/ops.h"
#include "gateway/privsep.h"
#include "gateway/reload.h"
#include "gateway/start.h"
#include "gateway/views.h"

struct gw *gw_global;

static const char usage_text[] =
    "Usage: photoguard-gateway [--config FILE] [-f] [MOUNTPOINT]\n"
    "Serve the photo store through a policy-checking FUSE mount.\n"
    "  --config FILE  configuration (default: $PHOTOGUARD_CONFIG, else\n"
    "                 /etc/photoguard/photoguard.conf)\n"
    "  -f             stay in the foreground, log to stderr too\n"
    "  -d             FUSE debug output (implies -f)\n"
    "  MOUNTPOINT     default: [store] mountpoint\n"
    "See photoguard-gateway(8).\n";

struct opts {
	const char *config;
	const char *mountpoint;
	int foreground;
	int debug;
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "fdh", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'd':
			o->debug = o->foreground = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("photoguard-gateway %s\n", PG_VERSION);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (optind < argc)
		o->mountpoint = argv[optind++];
	if (optind < argc) {
		fprintf(stderr,
		    "photoguard-gateway: unexpected argument '%s'\n",
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* Whether stderr is the journal's stream: JOURNAL_STREAM, which the
 * service manager sets, names its device and inode. */
static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (e == NULL || fstat(STDERR_FILENO, &st) != 0)
		return false;
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (errno != 0 || end == e || *end != ':')
		return false;
	e = end + 1;
	ino = strtoull(e, &end, 10);
	if (errno != 0 || end == e || *end != '\0')
		return false;
	return dev == (unsigned long long)st.st_dev &&
	    ino == (unsigned long long)st.st_ino;
}

/* Mounts and serves until unmounted or signalled.  Returns 0 or 1. */
static int
serve(struct gw *g, const struct opts *o)
{
	char *fargv[] = { (char *)(uintptr_t) "photoguard-gateway",
		(char *)(uintptr_t) "-o",
		(char *)(uintptr_t) "allow_other,fsname=photoguard,"
		                    "subtype=photoguard",
		(char *)(uintptr_t) "-d", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(o->debug ? 4 : 3, fargv);
	struct fuse_loop_config *lc = NULL;
	int r = 1;

	g->fuse = fuse_new(&args, &gw_operations, sizeof(gw_operations), g);
	if (g->fuse == NULL)
		return 1;
	if (fuse_mount(g->fuse, g->mountpoint) != 0) {
		gw_log(LOG_ERR, "cannot mount on %s", g->mountpoint);
		goto out;
	}
	/* Forked before any thread exists; the worker keeps root until the
	 * audit log and the control socket are open (privsep.c). */
	if (fuse_daemonize(o->foreground) != 0 || gw_privsep_fork(g) != 0 ||
	    fuse_set_signal_handlers(fuse_get_session(g->fuse)) != 0)
		goto unmount;
	/* The audit log is opened after daemonizing: its writer belongs to
	 * the process that writes (audit.h). */
	if (gw_start_audit(g) != 0)
		goto unhook;
	if (gw_reload_start(g) != 0 || gw_views_start(g) != 0 ||
	    gw_control_start(g) != 0 || gw_dirsync_start(g) != 0 ||
	    gw_privsep_drop(g) != 0)
		goto threads;
	gw_log(LOG_NOTICE, "serving %s on %s with policy %s",
	    g->cfg->store_root, g->mountpoint, g->cfg->policy_file);
	if ((lc = fuse_loop_cfg_create()) == NULL || gw_notify_watch(g) != 0)
		goto threads;
	fuse_loop_cfg_set_max_threads(lc, 64);
	fuse_loop_cfg_set_idle_threads(lc, 16);
	/* A loop ended by a stop signal (a positive value) is a clean
	 * stop, as one ended by the unmount is: only an error fails. */
	r = fuse_loop_mt(g->fuse, lc) < 0 ? 1 : 0;
	gw_notify_stopping();
threads:
	if (lc != NULL)
		fuse_loop_cfg_destroy(lc);
	gw_wait_lock_workers();
	gw_dirsync_stop();
	gw_control_stop(g);
	gw_views_stop(g);
	gw_reload_stop();
	gw_stop_audit(g);
unhook:
	fuse_remove_signal_handlers(fuse_get_session(g->fuse));
unmount:
	/* In the worker of privsep.c the root parent has unmounted already
	 * (a stop signal) or does so once the worker is gone; this closes
	 * the connection either way. */
	fuse_unmount(g->fuse);
out:
	fuse_destroy(g->fuse);
	g->fuse = NULL;
	fuse_opt_free_args(&args);
	return r;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct gw g;
	int r;

	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	/*
	 * Hundreds of serving threads (up to four per view): with an arena
	 * each and a heap-grown mmap threshold, freed read buffers stayed
	 * resident (300 MiB with 100 views).  Two arenas, and blocks of
	 * 128 KiB and more always mapped and unmapped.  Not 64 KiB: that
	 * saved 3 MiB with 100 views, but mapped libfuse's buffer of every
	 * READ under 128 KiB, and cold reads took 1.5 times as long.
	 */
	(void)mallopt(M_ARENA_MAX, 2);
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* In the foreground stderr gets a copy of each line, unless stderr
	 * is the journal, which syslog(3) reaches already: once is enough. */
	openlog("photoguard-gateway",
	    LOG_PID | (o.foreground && !stderr_is_journal() ? LOG_PERROR : 0),
	    LOG_DAEMON);
	gw_notify_init();
	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.policy_mu, NULL);
	pthread_mutex_init(&g.users_mu, NULL);
	pthread_mutex_init(&g.held_mu, NULL);
	pthread_cond_init(&g.held_cv, NULL);
	gw_global = &g;
	if (gw_start(&g, o.config, o.mountpoint) != 0) {
		gw_log(LOG_ERR, "refusing to start");
		gw_teardown(&g);
		return 1;
	}
	r = serve(&g, &o);
	gw_teardown(&g);
	return r;
}
