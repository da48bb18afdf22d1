/*
 * audit_read.c - walks the records of a log, or of its rotated set,
 * through filters (audit_query), as a stream (audit_src.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit/audit_int.h"
#include "base/base.h"
#include "core/state/state.h"

/* Completes a user's time bound to the full record format: missing parts
 * from FILL ("0000-01-01T00:00:00.000000Z" or "...23:59:59.999999Z"). */
static int
norm_time(const char *in, const char *fill, char *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t n = strlen(in), i;

	if (n > 0 && in[n - 1] == 'Z')
		n--;
	if (n != 10 && n != 16 && n != 19 && n != 26)
		return PG_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (in[i] < '0' || in[i] > '9')
		                    : in[i] != shape[i])
			return PG_ERR_INVAL;
	}
	memcpy(out, in, n);
	memcpy(out + n, fill + n, AUDIT_TIME_LEN - n);
	out[AUDIT_TIME_LEN] = '\0';
	return PG_OK;
}

static const char *
str_field(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static long long
int_field(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void
fill_record(struct audit_record *rec, json_t *j, const char *line, size_t n)
{
	memset(rec, 0, sizeof(*rec));
	rec->seq = int_field(j, "seq");
	rec->time = str_field(j, "time");
	rec->host = str_field(j, "host");
	rec->actor = str_field(j, "actor");
	rec->event = str_field(j, "event");
	rec->object = str_field(j, "object");
	rec->decision = str_field(j, "decision");
	rec->rule = str_field(j, "rule");
	rec->reason = str_field(j, "reason");
	rec->patient = str_field(j, "patient");
	rec->process = str_field(j, "process");
	rec->service = str_field(j, "service");
	rec->rhost = str_field(j, "rhost");
	rec->uid = (long)int_field(j, "uid");
	rec->pid = (long)int_field(j, "pid");
	rec->bytes = int_field(j, "bytes");
	rec->line = line;
	rec->len = n;
}

static int
str_match(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int
event_match(const char *want, const char *have)
{
	size_t n;

	if (want == NULL)
		return 1;
	n = strlen(want);
	if (n > 0 && want[n - 1] == '.')
		return strncmp(want, have, n) == 0;
	return strcmp(want, have) == 0;
}

static int
matches(const struct audit_filter *f, const struct audit_record *rec,
    const char *since, const char *until)
{
	return str_match(f->actor, rec->actor) &&
	    str_match(f->patient, rec->patient) &&
	    event_match(f->event, rec->event) &&
	    (since[0] == '\0' || strcmp(rec->time, since) >= 0) &&
	    (until[0] == '\0' || strcmp(rec->time, until) <= 0);
}

/* Calls FN for the records of S that match F. */
static int
walk(struct audit_src *s, const struct audit_filter *f, const char *since,
    const char *until, audit_record_fn fn, void *arg, long long *skipped)
{
	struct audit_record rec;
	struct audit_prec pr;
	const char *nl, *line;
	size_t n;
	char why[8];
	json_t *j;
	int r = 0;

	while (r == 0) {
		if ((r = audit_src_fill(s)) != PG_OK)
			return r;
		line = s->data + s->pos;
		nl = memchr(line, '\n', s->fill - s->pos);
		if (nl == NULL) {
			if (!s->eof && skipped != NULL)
				(*skipped)++; /* a line over the maximum */
			return 0;
		}
		n = (size_t)(nl - line);
		if (audit_rec_parse(line, n, &pr, &j, why, sizeof(why)) !=
		    PG_OK) {
			if (skipped != NULL)
				(*skipped)++;
		} else {
			fill_record(&rec, j, line, n);
			if (matches(f, &rec, since, until))
				r = fn(&rec, arg);
			json_decref(j);
		}
		s->pos += n + 1;
	}
	return r;
}

/* A filter whose names are written the way the writer stores them. */
struct clean_filter {
	struct audit_filter f;
	char *actor, *patient;
};

static int
sanitize_dup(const char *in, char **out)
{
	size_t max;

	*out = NULL;
	if (in == NULL)
		return PG_OK;
	max = 4 * strlen(in) + 1; /* every byte may become \xNN */
	if ((*out = malloc(max)) == NULL)
		return PG_ERR_NOMEM;
	pg_escape(in, *out, max, PG_ESC_JSON);
	return PG_OK;
}

static int
sanitized_filter(const struct audit_filter *f, struct clean_filter *c)
{
	memset(c, 0, sizeof(*c));
	c->f = *f;
	if (sanitize_dup(f->actor, &c->actor) != PG_OK ||
	    sanitize_dup(f->patient, &c->patient) != PG_OK) {
		free(c->actor);
		return PG_ERR_NOMEM;
	}
	if (c->actor != NULL)
		c->f.actor = c->actor;
	if (c->patient != NULL)
		c->f.patient = c->patient;
	return PG_OK;
}

int
audit_query_set(const char *log, bool siblings, const char *const *files,
    size_t nfiles, const struct audit_filter *f, audit_record_fn fn, void *arg,
    long long *skipped)
{
	char since[AUDIT_TIME_LEN + 1] = "", until[AUDIT_TIME_LEN + 1] = "";
	struct audit_filter none;
	struct clean_filter clean;
	struct audit_set set;
	size_t i;
	int r;

	if (skipped != NULL)
		*skipped = 0;
	if (f == NULL) {
		memset(&none, 0, sizeof(none));
		f = &none;
	}
	if ((f->since != NULL &&
	        norm_time(f->since, "0000-01-01T00:00:00.000000Z", since) !=
	            PG_OK) ||
	    (f->until != NULL &&
	        norm_time(f->until, "0000-12-31T23:59:59.999999Z", until) !=
	            PG_OK))
		return PG_ERR_INVAL;
	/* Compare like with like: the writer stored names sanitised. */
	if ((r = sanitized_filter(f, &clean)) != PG_OK)
		return r;
	if ((r = audit_set_open(log, siblings, files, nfiles, &set)) == PG_OK) {
		for (i = 0; r == 0 && i < set.n; i++) {
			r = walk(&set.src[i], &clean.f, since, until, fn, arg,
			    skipped);
			audit_src_stop(&set.src[i]);
		}
		audit_set_free(&set);
	}
	free(clean.actor);
	free(clean.patient);
	return r;
}

int
audit_query(const char *log, const struct audit_filter *f, audit_record_fn fn,
    void *arg, long long *skipped)
{
	return audit_query_set(log, false, NULL, 0, f, fn, arg, skipped);
}
