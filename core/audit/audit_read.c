/*
 * audit_read.c - the reading side of the audit log: loads a consistent
 * copy of the log and its head under a shared lock, then verifies it
 * (audit_verify) or walks its records through filters (audit_query).
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

#define AUDIT_READ_MAX     ((size_t)1 << 30) /* rotate before 1 GiB */
#define AUDIT_READ_WAIT_MS 10000 /* for writers, who hold the lock briefly */

/* Reads LOG and, if HEAD is not NULL, LOG.head (NULL when absent), both
 * under a shared lock so that no writer is between the two. */
static int
load_log(
    const char *path, char **out, size_t *len, char **head, size_t *headlen)
{
	char hpath[4096];
	struct stat st;
	char *buf = NULL;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND
		    : errno == ELOOP   ? PG_ERR_SYMLINK
		                       : PG_ERR_IO;
	if ((r = pg_flock(fd, LOCK_SH, AUDIT_READ_WAIT_MS)) != PG_OK)
		goto out;
	r = PG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	r = PG_ERR_TOOBIG;
	if ((size_t)st.st_size > AUDIT_READ_MAX)
		goto out;
	r = PG_ERR_NOMEM;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	if ((r = pg_pread_all(fd, buf, (size_t)st.st_size, 0)) != PG_OK)
		goto out;
	buf[st.st_size] = '\0';
	if (head != NULL) {
		r = PG_ERR_TOOBIG;
		if (snprintf(hpath, sizeof(hpath), "%s.head", path) >=
		    (int)sizeof(hpath))
			goto out;
		r = pg_read_file(hpath, AUDIT_HEAD_MAX, 0, head, headlen);
		if (r == PG_ERR_NOTFOUND)
			r = PG_OK;
		if (r != PG_OK)
			goto out;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL; /* transferred */
out:
	free(buf);
	close(fd);
	return r;
}

int
audit_verify(
    const char *log, const char *pubkey_path, struct audit_verify_result *res)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char *buf = NULL, *head = NULL;
	size_t len = 0, headlen = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	if (pubkey_path != NULL &&
	    (r = audit_load_pubkey(pubkey_path, pk)) != PG_OK)
		return r;
	if ((r = load_log(log, &buf, &len, &head, &headlen)) != PG_OK)
		return r;
	r = audit_verify_buf(
	    buf, len, head, headlen, pubkey_path != NULL ? pk : NULL, res);
	free(buf);
	free(head);
	return r;
}

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

static int
walk(const char *buf, size_t len, const struct audit_filter *f,
    const char *since, const char *until, audit_record_fn fn, void *arg,
    long long *skipped)
{
	struct audit_record rec;
	struct audit_prec pr;
	const char *nl;
	size_t off = 0, n;
	char why[8];
	json_t *j;
	int r = 0;

	while (r == 0 && off < len &&
	    (nl = memchr(buf + off, '\n', len - off)) != NULL) {
		n = (size_t)(nl - buf) - off;
		if (audit_rec_parse(buf + off, n, &pr, &j, why, sizeof(why)) !=
		    PG_OK) {
			if (skipped != NULL)
				(*skipped)++;
		} else {
			fill_record(&rec, j, buf + off, n);
			if (matches(f, &rec, since, until))
				r = fn(&rec, arg);
			json_decref(j);
		}
		off += n + 1;
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
audit_query(const char *log, const struct audit_filter *f, audit_record_fn fn,
    void *arg, long long *skipped)
{
	char since[AUDIT_TIME_LEN + 1] = "", until[AUDIT_TIME_LEN + 1] = "";
	struct audit_filter none;
	struct clean_filter clean;
	char *buf = NULL;
	size_t len = 0;
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
	if ((r = load_log(log, &buf, &len, NULL, NULL)) == PG_OK)
		r = walk(buf, len, &clean.f, since, until, fn, arg, skipped);
	free(buf);
	free(clean.actor);
	free(clean.patient);
	return r;
}
