/*
 * dir_watch_tool.c - test driver for the directory's watch (dir_watch_*):
 * opens the directory from flags, runs a watch on a thread of its own and
 * prints each report as one line:
 *   refresh N: USER...        (sorted)
 *   lock USER VALUE SINCE
 *   unlock USER
 *   down ERR failures=N: WHY
 * Commands, one per line on stdin:
 *   lookup NAME   prints "lookup NAME locked=yes|no|ERR" (cached answers
 *                 count: the watch must have dropped a changed one)
 * At the end of stdin it stops the watch and prints "stopped MS", the
 * time dir_watch_stop() took to end dir_watch_run().
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/dir/dir.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *
code_name(int rc)
{
	switch (rc) {
	case PG_OK:
		return "ok";
	case PG_ERR_DIR_UNAVAIL:
		return "unavail";
	case PG_ERR_AUTH:
		return "auth";
	case PG_ERR_CONFIG:
		return "config";
	case PG_ERR_TLS:
		return "tls";
	case PG_ERR_NOTFOUND:
		return "notfound";
	case PG_ERR_DIR_BADANSWER:
		return "badanswer";
	default:
		return "other";
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
report(void *arg, const struct dir_watch_event *ev)
{
	char **v;
	size_t i;

	(void)arg;
	pthread_mutex_lock(&out_mu);
	switch (ev->what) {
	case DIR_WATCH_REFRESH:
		printf("refresh %zu:", ev->n);
		if ((v = calloc(ev->n + 1, sizeof(*v))) != NULL) {
			memcpy(v, ev->users, ev->n * sizeof(*v));
			qsort(v, ev->n, sizeof(*v), cmp_str);
			for (i = 0; i < ev->n; i++)
				printf(" %s", v[i]);
			free(v);
		}
		printf("\n");
		break;
	case DIR_WATCH_CHANGE:
		if (ev->locked)
			printf("lock %s %s %lld\n", ev->user, ev->value,
			    (long long)ev->since);
		else
			printf("unlock %s\n", ev->user);
		break;
	case DIR_WATCH_DOWN:
		printf("down %s failures=%u: %s\n", code_name(ev->err),
		    ev->failures, ev->why);
		break;
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

static void *
watch_main(void *arg)
{
	dir_watch_run(arg);
	return NULL;
}

static void
lookup(struct dir *d, const char *name)
{
	struct dir_user *u = NULL;
	int rc = dir_lookup(d, name, strlen(name), &u);

	pthread_mutex_lock(&out_mu);
	printf("lookup %s locked=%s\n", name,
	    rc != PG_OK     ? code_name(rc)
	        : u->locked ? "yes"
	                    : "no");
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
	dir_user_free(u);
}

static const struct option opts[] = {
	{ "uri", required_argument, NULL, 'H' },
	{ "tls", required_argument, NULL, 'T' },
	{ "ca", required_argument, NULL, 'C' },
	{ "bind-dn", required_argument, NULL, 'D' },
	{ "bind-pw-file", required_argument, NULL, 'y' },
	{ "base", required_argument, NULL, 'B' },
	{ "lockout-attr", required_argument, NULL, 'L' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct pg_config c;
	struct dir *d = NULL;
	struct dir_watch *w = NULL;
	char line[512];
	pthread_t t;
	long t0;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.dir_backend = PG_DIR_LDAP;
	c.dir_tls = PG_TLS_STARTTLS;
	c.dir_tls_verify = true;
	c.dir_network_timeout_ms = 1000;
	c.dir_timeout_ms = 1000;
	c.dir_cache_ttl_s = 600;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			c.dir_uri = optarg;
			break;
		case 'T':
			c.dir_tls = strcmp(optarg, "none") == 0 ? PG_TLS_NONE
			    : strcmp(optarg, "ldaps") == 0      ? PG_TLS_LDAPS
			                                   : PG_TLS_STARTTLS;
			break;
		case 'C':
			c.dir_ca_file = optarg;
			break;
		case 'D':
			c.dir_bind_dn = optarg;
			break;
		case 'y':
			c.dir_bind_password_file = optarg;
			break;
		case 'B':
			c.dir_base_dn = optarg;
			break;
		case 'L':
			c.dir_lockout_attr = optarg;
			break;
		default:
			return 2;
		}
	}
	if ((rc = dir_open(&c, &d)) != PG_OK ||
	    (rc = dir_watch_new(d, report, NULL, &w)) != PG_OK) {
		printf("open %s\n", code_name(rc));
		dir_free(d);
		return 1;
	}
	if (pthread_create(&t, NULL, watch_main, w) != 0)
		return 1;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "lookup ", 7) == 0)
			lookup(d, line + 7);
	}
	t0 = now_ms();
	dir_watch_stop(w);
	pthread_join(t, NULL);
	printf("stopped %ld\n", now_ms() - t0);
	dir_watch_free(w);
	dir_free(d);
	return 0;
}
