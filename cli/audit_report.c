/*
 * audit_report.c - sums the gateway's access records per user, patient
 * and server for `photoguard audit report`.  Rows are found through a
 * two-level jansson object (user -> "patient\nhost" -> row index), so a
 * whole-clinic report over large logs stays linear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/audit_report.h"
#include "base/base.h"

#define TIME_MAX 40 /* the log's times are 27 characters */

struct row {
	char *user;
	char *patient;
	char *host;
	char *key; /* "patient\nhost": no stored string holds a newline */
	long long files;
	long long bytes;
	char first[TIME_MAX];
	char last[TIME_MAX];
};

struct report {
	struct row *rows;
	size_t n, cap;
	json_t *index; /* user -> { "patient\nhost" -> row index } */
	struct report_row *view;
	long long unattributed;
};

static void
free_row(struct row *w)
{
	free(w->user);
	free(w->patient);
	free(w->host);
	free(w->key);
}

int
report_new(struct report **out)
{
	struct report *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PG_ERR_NOMEM;
	if ((r->index = json_object()) == NULL) {
		free(r);
		return PG_ERR_NOMEM;
	}
	*out = r;
	return PG_OK;
}

void
report_free(struct report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free_row(&r->rows[i]);
	free(r->rows);
	free(r->view);
	json_decref(r->index);
	free(r);
}

/* Appends a zeroed row for USER x PATIENT x HOST under KEY; returns its
 * index or -1. */
static long long
new_row(struct report *r, const char *user, const char *patient,
    const char *host, const char *key)
{
	struct row *rows, *w;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap == 0 ? 64 : r->cap * 2;
		if ((rows = realloc(r->rows, cap * sizeof(*rows))) == NULL)
			return -1;
		r->rows = rows;
		r->cap = cap;
	}
	w = &r->rows[r->n];
	memset(w, 0, sizeof(*w));
	w->user = strdup(user);
	w->patient = strdup(patient);
	w->host = strdup(host);
	w->key = strdup(key);
	if (w->user == NULL || w->patient == NULL || w->host == NULL ||
	    w->key == NULL) {
		free_row(w);
		return -1;
	}
	return (long long)r->n++;
}

static int
find_key(struct report *r, const char *user, const char *patient,
    const char *host, const char *key, struct row **out)
{
	json_t *pats, *idx;
	long long i;

	pats = json_object_get(r->index, user);
	if (pats == NULL) {
		if ((pats = json_object()) == NULL ||
		    json_object_set_new(r->index, user, pats) != 0)
			return PG_ERR_NOMEM;
	}
	idx = json_object_get(pats, key);
	if (idx != NULL) {
		*out = &r->rows[json_integer_value(idx)];
		return PG_OK;
	}
	if (r->n >= REPORT_MAX_ROWS)
		return PG_ERR_TOOBIG;
	if ((i = new_row(r, user, patient, host, key)) < 0)
		return PG_ERR_NOMEM;
	if (json_object_set_new(pats, key, json_integer(i)) != 0) {
		r->n--;
		free_row(&r->rows[i]);
		return PG_ERR_NOMEM;
	}
	*out = &r->rows[i];
	return PG_OK;
}

/* The row of USER x PATIENT x HOST, created on first use, in *OUT. */
static int
find_row(struct report *r, const char *user, const char *patient,
    const char *host, struct row **out)
{
	char *key;
	int rc;

	*out = NULL;
	if ((key = malloc(strlen(patient) + strlen(host) + 2)) == NULL)
		return PG_ERR_NOMEM;
	sprintf(key, "%s\n%s", patient, host);
	rc = find_key(r, user, patient, host, key, out);
	free(key);
	return rc;
}
static void
note_time(struct row *w, const char *t)
{
	if (t == NULL || strlen(t) >= TIME_MAX)
		return;
	/* The log's times have one fixed shape: text order is time order. */
	if (w->first[0] == '\0' || strcmp(t, w->first) < 0)
		memcpy(w->first, t, strlen(t) + 1);
	if (w->last[0] == '\0' || strcmp(t, w->last) > 0)
		memcpy(w->last, t, strlen(t) + 1);
}

int
report_add(struct report *r, const struct audit_record *rec)
{
	struct row *w;
	int open, rc;

	if (rec->event == NULL)
		return PG_OK;
	open = strcmp(rec->event, "gateway.open") == 0 &&
	    rec->decision != NULL && strcmp(rec->decision, "allow") == 0;
	if (!open && strcmp(rec->event, "gateway.release") != 0)
		return PG_OK;
	if (rec->patient == NULL || rec->actor == NULL) {
		r->unattributed++;
		return PG_OK;
	}
	if ((rc = find_row(r, rec->actor, rec->patient,
	         rec->host != NULL ? rec->host : "", &w)) != PG_OK)
		return rc;
	if (open)
		w->files++;
	if (rec->bytes > 0)
		w->bytes += rec->bytes;
	note_time(w, rec->time);
	return PG_OK;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	if (c == 0)
		c = strcmp(x->patient, y->patient);
	return c != 0 ? c : strcmp(x->host, y->host);
}

/* Rebuilds the index after sorting moved the rows. */
static void
reindex(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		json_integer_set(
		    json_object_get(json_object_get(r->index, r->rows[i].user),
		        r->rows[i].key),
		    (json_int_t)i);
}

int
report_rows(struct report *r, const struct report_row **rows, size_t *n,
    struct report_totals *t)
{
	struct report_row *v;
	json_t *seen;
	size_t i;

	*rows = NULL;
	*n = 0;
	memset(t, 0, sizeof(*t));
	t->unattributed = r->unattributed;
	if (r->n > 0)
		qsort(r->rows, r->n, sizeof(*r->rows), cmp_row);
	reindex(r);
	if (r->n > 0) {
		if ((v = realloc(r->view, r->n * sizeof(*v))) == NULL)
			return PG_ERR_NOMEM;
		r->view = v;
	}
	if ((seen = json_object()) == NULL)
		return PG_ERR_NOMEM;
	v = r->view;
	for (i = 0; i < r->n; i++) {
		v[i].user = r->rows[i].user;
		v[i].patient = r->rows[i].patient;
		v[i].host = r->rows[i].host;
		v[i].files = r->rows[i].files;
		v[i].bytes = r->rows[i].bytes;
		v[i].first = r->rows[i].first;
		v[i].last = r->rows[i].last;
		t->files += v[i].files;
		t->bytes += v[i].bytes;
		if (json_object_set_new(seen, v[i].patient, json_true()) != 0) {
			json_decref(seen);
			return PG_ERR_NOMEM;
		}
	}
	t->patients = (long long)json_object_size(seen);
	json_decref(seen);
	*rows = v;
	*n = r->n;
	return PG_OK;
}
