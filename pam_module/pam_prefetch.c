/*
 * pam_prefetch.c - the directory lookup auth starts for the account phase:
 * a thread that opens the directory and looks the user up while auth
 * finishes, joined before auth returns, and its outcome kept in the PAM
 * handle for the account phase of the same login, which takes it once.
 * See pam_prefetch.h.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_modules.h>

#include "base/base.h"
#include "pam_module/pam_prefetch.h"

#define DATA_NAME "pam_photoguard.prefetch"

struct pgpam_prefetch {
	pthread_t thread;
	const struct pg_config *cfg; /* the auth phase's, until the join */
	char *user;
	char *cfg_path; /* NULL: built-in defaults */
	/* Written by the thread, read after the join. */
	int opened; /* dir_open() succeeded: RC is dir_lookup()'s */
	int rc;
	struct dir_user *u;
	char err[256];
	struct timespec at; /* CLOCK_MONOTONIC, when the answer came */
};

static void
prefetch_free(struct pgpam_prefetch *p)
{
	if (p == NULL)
		return;
	dir_user_free(p->u);
	free(p->user);
	free(p->cfg_path);
	free(p);
}

static void
cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	prefetch_free(data);
}

/* What the account phase would do: open the directory, look up. */
static void *
lookup_main(void *arg)
{
	struct pgpam_prefetch *p = arg;
	struct dir *d = NULL;

	if (dir_open(p->cfg, &d) == PG_OK) {
		p->opened = 1;
		p->rc = dir_lookup(d, p->user, strlen(p->user), &p->u);
		dir_last_error(d, p->err, sizeof(p->err));
	}
	dir_free(d);
	clock_gettime(CLOCK_MONOTONIC, &p->at);
	return NULL;
}

void
pgpam_prefetch_start(struct pgpam_ctx *c)
{
	struct pgpam_prefetch *p;
	sigset_t all, old;
	int r;

	if (c->prefetch != NULL || c->cfg == NULL || c->user == NULL ||
	    c->cfg->dir_backend != PG_DIR_LDAP ||
	    strnlen(c->user, DIR_NAME_MAX + 1) > DIR_NAME_MAX)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->cfg = c->cfg;
	p->user = strdup(c->user);
	p->cfg_path = c->cfg->path != NULL ? strdup(c->cfg->path) : NULL;
	if (p->user == NULL || (c->cfg->path != NULL && p->cfg_path == NULL)) {
		prefetch_free(p);
		return;
	}
	/* The thread must not take a signal meant for the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&p->thread, NULL, lookup_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		prefetch_free(p);
		return;
	}
	c->prefetch = p;
}

void
pgpam_prefetch_end(struct pgpam_ctx *c, int keep)
{
	struct pgpam_prefetch *p = c->prefetch;

	c->prefetch = NULL;
	if (p != NULL) {
		pthread_join(p->thread, NULL);
		p->cfg = NULL;
		if (keep && p->opened &&
		    pam_set_data(c->pamh, DATA_NAME, p, cleanup) == PAM_SUCCESS)
			return; /* the handle owns it now */
		prefetch_free(p);
	}
	/* An outcome of an earlier auth in this handle is not this one's. */
	(void)pam_set_data(c->pamh, DATA_NAME, NULL, NULL);
}

static int
same_path(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
pgpam_prefetch_take(
    struct pgpam_ctx *c, int *rc, struct dir_user **u, char *err, size_t errlen)
{
	const void *data = NULL;
	struct pgpam_prefetch *p;
	struct timespec now;
	long long age_ms;
	int use;

	*u = NULL;
	if (pam_get_data(c->pamh, DATA_NAME, &data) != PAM_SUCCESS ||
	    data == NULL)
		return 0;
	p = (struct pgpam_prefetch *)(uintptr_t)data;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age_ms = (long long)(now.tv_sec - p->at.tv_sec) * 1000 +
	    (now.tv_nsec - p->at.tv_nsec) / 1000000;
	use = age_ms >= 0 && age_ms <= PGPAM_PREFETCH_MAX_AGE_S * 1000 &&
	    c->user != NULL && strcmp(p->user, c->user) == 0 &&
	    c->cfg != NULL && same_path(p->cfg_path, c->cfg->path);
	if (use) {
		*rc = p->rc;
		*u = p->u;
		p->u = NULL; /* transferred */
		(void)snprintf(err, errlen, "%s", p->err);
	}
	/* Taken once, or dropped: the handle frees it (cleanup()). */
	(void)pam_set_data(c->pamh, DATA_NAME, NULL, NULL);
	return use;
}
