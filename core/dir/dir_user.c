/*
 * dir_user.c - struct dir_user and the bounded string lists it is built
 * from: copying, sorting, freeing, and the care-team membership test the
 * policy evaluator relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

int
dir_strv_push(struct dir_strv *sv, const char *s, size_t len)
{
	char *copy;

	if (sv->n >= sv->max)
		return PG_ERR_TOOBIG;
	if (sv->n + 1 >= sv->cap) {
		size_t ncap = sv->cap ? sv->cap * 2 : 16;
		char **nv = reallocarray(sv->v, ncap, sizeof(*nv));

		if (nv == NULL)
			return PG_ERR_NOMEM;
		sv->v = nv;
		sv->cap = ncap;
	}
	copy = strndup(s, len);
	if (copy == NULL)
		return PG_ERR_NOMEM;
	sv->v[sv->n++] = copy;
	sv->v[sv->n] = NULL;
	return PG_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
dir_strv_sort_uniq(struct dir_strv *sv)
{
	size_t i, j;

	if (sv->n < 2)
		return;
	qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (i = 1, j = 1; i < sv->n; i++) {
		if (strcmp(sv->v[i], sv->v[j - 1]) == 0)
			free(sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	sv->n = j;
	sv->v[j] = NULL;
}

int
dir_strv_take(struct dir_strv *sv, char ***v, size_t *n)
{
	if (sv->v == NULL) {
		sv->v = calloc(1, sizeof(*sv->v));
		if (sv->v == NULL)
			return PG_ERR_NOMEM;
		sv->cap = 1;
	}
	*v = sv->v;
	*n = sv->n;
	sv->v = NULL; /* transferred */
	sv->n = sv->cap = 0;
	return PG_OK;
}

void
dir_strv_free(struct dir_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void
dir_strv_free_array(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

struct dir_user *
dir_user_new(const char *name, size_t len)
{
	struct dir_user *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->name = strndup(name, len);
	u->groups = calloc(1, sizeof(*u->groups));
	u->patients = calloc(1, sizeof(*u->patients));
	if (u->name == NULL || u->groups == NULL || u->patients == NULL) {
		dir_user_free(u);
		return NULL;
	}
	return u;
}

void
dir_user_free(struct dir_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->dn);
	dir_strv_free_array(u->groups);
	dir_strv_free_array(u->patients);
	free(u);
}

static char **
dup_array(char *const *v, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));
	size_t i;

	if (copy == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		copy[i] = strdup(v[i]);
		if (copy[i] == NULL) {
			dir_strv_free_array(copy);
			return NULL;
		}
	}
	return copy;
}

struct dir_user *
dir_user_dup(const struct dir_user *u)
{
	struct dir_user *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->name = strdup(u->name);
	c->dn = u->dn ? strdup(u->dn) : NULL;
	c->groups = dup_array(u->groups, u->ngroups);
	c->patients = dup_array(u->patients, u->npatients);
	c->ngroups = u->ngroups;
	c->npatients = u->npatients;
	c->locked = u->locked;
	c->fetched = u->fetched;
	c->expires = u->expires;
	if (c->name == NULL || (u->dn && c->dn == NULL) || c->groups == NULL ||
	    c->patients == NULL) {
		dir_user_free(c);
		return NULL;
	}
	return c;
}

bool
dir_user_has_patient(const struct dir_user *u, const char *patient)
{
	if (u == NULL || patient == NULL || u->npatients == 0)
		return false;
	return bsearch(&patient, u->patients, u->npatients,
	           sizeof(*u->patients), cmp_str) != NULL;
}

bool
dir_valid_patient_id(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > DIR_PATIENT_ID_MAX)
		return false;
	if (len == 1 && s[0] == '.')
		return false;
	if (len == 2 && s[0] == '.' && s[1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '/')
			return false;
	}
	return true;
}
