/*
 * dir_main.c - the public face of the directory client: checks names,
 * answers from the cache when it can, otherwise asks the configured
 * backend and caches answers (never errors).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

struct dir {
	enum pg_dir_backend backend;
	struct dir_ldap *ldap;
	struct dir_local *local;
	pthread_mutex_t lock;    /* guards cache, gen and errmsg */
	struct dir_cache *cache; /* NULL: no caching */
	int ttl_s;               /* of answers in the cache */
	unsigned long gen;       /* bumped when answers are dropped */
	char errmsg[DIR_ERR_MAX];
};

time_t
dir_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

bool
dir_user_fresh(const struct dir_user *u, time_t now)
{
	return u != NULL && now < u->expires;
}

static void
set_error(struct dir *d, const char *msg)
{
	pthread_mutex_lock(&d->lock);
	snprintf(d->errmsg, sizeof(d->errmsg), "%s", msg);
	pthread_mutex_unlock(&d->lock);
}

int
dir_open(const struct pg_config *cfg, struct dir **out)
{
	struct dir *d;
	char err[DIR_ERR_MAX] = "";
	int rc, neg;

	*out = NULL;
	if (cfg == NULL)
		return PG_ERR_INVAL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return PG_ERR_NOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->backend = cfg->dir_backend;
	if (cfg->dir_backend == PG_DIR_LDAP)
		rc = dir_ldap_open(cfg, &d->ldap, err, sizeof(err));
	else if (cfg->dir_backend == PG_DIR_LOCAL)
		rc = dir_local_open(cfg, &d->local, err, sizeof(err));
	else
		rc = PG_ERR_CONFIG;
	if (rc == PG_OK && cfg->dir_cache_ttl_s > 0) {
		neg = cfg->dir_cache_ttl_s < DIR_NEG_TTL_MAX
		    ? cfg->dir_cache_ttl_s
		    : DIR_NEG_TTL_MAX;
		rc = dir_cache_new(
		    DIR_CACHE_MAX, cfg->dir_cache_ttl_s, neg, &d->cache);
		d->ttl_s = cfg->dir_cache_ttl_s;
	}
	if (rc != PG_OK) {
		dir_free(d);
		return rc;
	}
	snprintf(d->errmsg, sizeof(d->errmsg), "%s", err);
	*out = d;
	return PG_OK;
}

void
dir_free(struct dir *d)
{
	if (d == NULL)
		return;
	dir_ldap_free(d->ldap);
	dir_local_free(d->local);
	dir_cache_free(d->cache);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Copies USER into NAME if it is a name we may look up at all. */
static int
check_name(const char *user, size_t len, char name[DIR_NAME_MAX + 1])
{
	if (user == NULL || len == 0 || len > DIR_NAME_MAX ||
	    memchr(user, '\0', len) != NULL)
		return PG_ERR_INVAL;
	memcpy(name, user, len);
	name[len] = '\0';
	return PG_OK;
}

/*
 * Answers from the cache: PG_OK with *OUT, NOTFOUND, or a miss (1).  *GEN
 * gets the cache generation the miss was seen in.
 */
static int
from_cache(
    struct dir *d, const char *name, struct dir_user **out, unsigned long *gen)
{
	enum dir_cache_hit hit = DIR_CACHE_MISS;
	int rc;

	if (d->cache == NULL)
		return 1;
	pthread_mutex_lock(&d->lock);
	rc = dir_cache_get(d->cache, name, dir_clock(), &hit, out);
	*gen = d->gen;
	pthread_mutex_unlock(&d->lock);
	if (rc != PG_OK)
		return rc;
	if (hit == DIR_CACHE_HIT)
		return PG_OK;
	return hit == DIR_CACHE_UNKNOWN ? PG_ERR_NOTFOUND : 1;
}

int
dir_lookup(
    struct dir *d, const char *user, size_t userlen, struct dir_user **out)
{
	char name[DIR_NAME_MAX + 1];
	char err[DIR_ERR_MAX] = "";
	struct dir_user *u = NULL;
	unsigned long gen = 0;
	time_t now;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (d == NULL || out == NULL)
		return PG_ERR_INVAL;
	rc = check_name(user, userlen, name);
	if (rc != PG_OK)
		return rc;
	rc = from_cache(d, name, out, &gen);
	if (rc <= 0)
		return rc;
	if (d->ldap != NULL)
		rc = dir_ldap_lookup(d->ldap, name, &u, err, sizeof(err));
	else
		rc = dir_local_lookup(d->local, name, &u, err, sizeof(err));
	if (rc != PG_OK && rc != PG_ERR_NOTFOUND) {
		set_error(d, err[0] ? err : pg_strerror(rc));
		return rc;
	}
	if (d->cache != NULL) {
		/*
		 * A full cache is not an error: the answer is still right.  An
		 * answer that raced a drop or a flush (a lockout just written,
		 * a care team revoked) may predate it: it is not cached.
		 */
		pthread_mutex_lock(&d->lock);
		now = dir_clock();
		if (u != NULL)
			u->expires = now + d->ttl_s;
		if (d->gen != gen ||
		    dir_cache_put(d->cache, name, u, now) != 0) {
			if (u != NULL)
				u->expires = 0; /* not cached: not to be kept */
		}
		pthread_mutex_unlock(&d->lock);
	}
	*out = u;
	return rc;
}

int
dir_set_locked(struct dir *d, const char *user, size_t userlen, bool locked)
{
	char name[DIR_NAME_MAX + 1];
	char err[DIR_ERR_MAX] = "";
	int rc;

	if (d == NULL)
		return PG_ERR_INVAL;
	rc = check_name(user, userlen, name);
	if (rc != PG_OK)
		return rc;
	if (d->ldap == NULL) {
		set_error(d, "the local directory has no lockout attribute");
		return PG_ERR_CONFIG;
	}
	rc = dir_ldap_set_locked(d->ldap, name, locked, err, sizeof(err));
	pthread_mutex_lock(&d->lock);
	dir_cache_drop(d->cache, name);
	d->gen++;
	pthread_mutex_unlock(&d->lock);
	if (rc != PG_OK)
		set_error(d, err[0] ? err : pg_strerror(rc));
	return rc;
}

int
dir_list_locked(struct dir *d, char ***users, char ***since, size_t *n)
{
	char err[DIR_ERR_MAX] = "";
	int rc;

	*users = *since = NULL;
	*n = 0;
	if (d == NULL)
		return PG_ERR_INVAL;
	if (!dir_ldap_can_lock(d->ldap)) {
		set_error(d, "no lockout attribute in this directory");
		return PG_ERR_CONFIG;
	}
	rc = dir_ldap_list_locked(d->ldap, users, since, n, err, sizeof(err));
	if (rc != PG_OK)
		set_error(d, err[0] ? err : pg_strerror(rc));
	return rc;
}

void
dir_locked_free(char **users, char **since)
{
	dir_strv_free_array(users);
	dir_strv_free_array(since);
}

bool
dir_can_lock(const struct dir *d)
{
	return d != NULL && dir_ldap_can_lock(d->ldap);
}

bool
dir_can_set_lock(const struct dir *d)
{
	return d != NULL && dir_ldap_can_set_lock(d->ldap);
}

void
dir_flush_cache(struct dir *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	dir_cache_flush(d->cache);
	d->gen++;
	pthread_mutex_unlock(&d->lock);
}

struct dir_ldap *
dir_ldap_of(struct dir *d)
{
	return d != NULL ? d->ldap : NULL;
}

void
dir_forget(struct dir *d, const char *name)
{
	pthread_mutex_lock(&d->lock);
	dir_cache_drop(d->cache, name);
	d->gen++;
	pthread_mutex_unlock(&d->lock);
}

void
dir_last_error(struct dir *d, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	snprintf(buf, len, "%s", d->errmsg);
	pthread_mutex_unlock(&d->lock);
}
