/*
 * arena.c - memory that lives exactly as long as a policy: strings and
 * compiled patterns come from a chain of blocks freed in one go, arrays
 * grow with an explicit cap.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

#define ARENA_BLOCK 16384

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

/* Returns SIZE bytes of zeroed, aligned memory owned by P, or NULL. */
void *
pi_alloc(struct policy *p, size_t size)
{
	struct arena_blk *b = p->arena;
	size_t al = _Alignof(max_align_t);
	size_t need = (size + al - 1) / al * al;
	void *r;

	if (size == 0 || need < size)
		return NULL;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->next = p->arena;
		b->used = 0;
		b->cap = cap;
		p->arena = b;
	}
	r = (char *)b->data + b->used;
	b->used += need;
	memset(r, 0, size);
	return r;
}

/* Copies N bytes of S plus a NUL into the arena; NULL if out of memory. */
char *
pi_strndup(struct policy *p, const char *s, size_t n)
{
	char *r = pi_alloc(p, n + 1);

	if (r == NULL)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* Frees every arena block of P. */
void
pi_arena_free(struct policy *p)
{
	struct arena_blk *b = p->arena, *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	p->arena = NULL;
}

/*
 * Makes room for element N in *ARR (capacity *CAP, elements of ELSIZE),
 * never beyond MAX elements.  Returns 0, PG_ERR_TOOBIG or PG_ERR_NOMEM.
 */
int
pi_grow(void **arr, size_t *cap, size_t n, size_t elsize, size_t max)
{
	size_t ncap;
	void *r;

	if (n < *cap)
		return 0;
	if (n >= max)
		return PG_ERR_TOOBIG;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > max)
		ncap = max;
	r = realloc(*arr, ncap * elsize);
	if (r == NULL)
		return PG_ERR_NOMEM;
	memset((char *)r + *cap * elsize, 0, (ncap - *cap) * elsize);
	*arr = r;
	*cap = ncap;
	return 0;
}

static int
cmp_name(const void *key, const void *elem)
{
	const char *name;

	memcpy(&name, elem, sizeof(name));
	return strcmp(key, name);
}

const void *
pi_find_named(const void *base, size_t n, size_t size, const char *key)
{
	return n == 0 ? NULL : bsearch(key, base, n, size, cmp_name);
}
