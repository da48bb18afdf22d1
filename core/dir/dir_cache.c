/*
 * dir_cache.c - the per-user answer cache of the directory client: a
 * bounded array searched by hash then name; when full the oldest entry
 * goes.  Not locked itself: dir_main.c holds its mutex around every call.
 * Only answers are stored (a user, or "unknown"), never errors.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

struct dir_cache_entry {
	uint64_t hash;
	char *name;
	struct dir_user *user; /* NULL: the user is unknown */
	time_t stored;
};

struct dir_cache {
	struct dir_cache_entry *e;
	size_t n;
	size_t max;
	int ttl_s;
	int neg_ttl_s;
};

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
dir_cache_new(size_t max, int ttl_s, int neg_ttl_s, struct dir_cache **out)
{
	struct dir_cache *c;

	*out = NULL;
	if (max == 0 || ttl_s <= 0 || neg_ttl_s < 0)
		return PG_ERR_INVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return PG_ERR_NOMEM;
	c->e = calloc(max, sizeof(*c->e));
	if (c->e == NULL) {
		free(c);
		return PG_ERR_NOMEM;
	}
	c->max = max;
	c->ttl_s = ttl_s;
	c->neg_ttl_s = neg_ttl_s;
	*out = c;
	return PG_OK;
}

static void
remove_at(struct dir_cache *c, size_t i)
{
	free(c->e[i].name);
	dir_user_free(c->e[i].user);
	c->e[i] = c->e[--c->n];
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
}

void
dir_cache_flush(struct dir_cache *c)
{
	if (c == NULL)
		return;
	while (c->n > 0)
		remove_at(c, c->n - 1);
}

void
dir_cache_free(struct dir_cache *c)
{
	if (c == NULL)
		return;
	dir_cache_flush(c);
	free(c->e);
	free(c);
}

static long
find(const struct dir_cache *c, const char *name, uint64_t h)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->e[i].hash == h && strcmp(c->e[i].name, name) == 0)
			return (long)i;
	return -1;
}

int
dir_cache_get(struct dir_cache *c, const char *name, time_t now,
    enum dir_cache_hit *hit, struct dir_user **out)
{
	long i;
	struct dir_cache_entry *e;
	int ttl;

	*out = NULL;
	*hit = DIR_CACHE_MISS;
	i = find(c, name, hash_name(name));
	if (i < 0)
		return PG_OK;
	e = &c->e[i];
	ttl = e->user ? c->ttl_s : c->neg_ttl_s;
	/* A clock that went backwards also invalidates the entry. */
	if (now < e->stored || now - e->stored >= ttl) {
		remove_at(c, (size_t)i);
		return PG_OK;
	}
	if (e->user == NULL) {
		*hit = DIR_CACHE_UNKNOWN;
		return PG_OK;
	}
	*out = dir_user_dup(e->user);
	if (*out == NULL)
		return PG_ERR_NOMEM;
	*hit = DIR_CACHE_HIT;
	return PG_OK;
}

static size_t
oldest(const struct dir_cache *c)
{
	size_t i, o = 0;

	for (i = 1; i < c->n; i++)
		if (c->e[i].stored < c->e[o].stored)
			o = i;
	return o;
}

int
dir_cache_put(
    struct dir_cache *c, const char *name, const struct dir_user *u, time_t now)
{
	struct dir_cache_entry ne = { 0 };
	long i;

	if (u == NULL && c->neg_ttl_s == 0)
		return PG_OK;
	ne.hash = hash_name(name);
	ne.stored = now;
	ne.name = strdup(name);
	ne.user = u ? dir_user_dup(u) : NULL;
	if (ne.name == NULL || (u != NULL && ne.user == NULL)) {
		free(ne.name);
		dir_user_free(ne.user);
		return PG_ERR_NOMEM;
	}
	i = find(c, name, ne.hash);
	if (i >= 0)
		remove_at(c, (size_t)i);
	else if (c->n == c->max)
		remove_at(c, oldest(c));
	c->e[c->n++] = ne;
	return PG_OK;
}

void
dir_cache_drop(struct dir_cache *c, const char *name)
{
	long i;

	if (c == NULL)
		return;
	i = find(c, name, hash_name(name));
	if (i >= 0)
		remove_at(c, (size_t)i);
}

size_t
dir_cache_count(struct dir_cache *c)
{
	return c ? c->n : 0;
}
