/*
 * dir_careteam.c - the care-team file of the local backend.  One line per
 * patient, "PATIENT: user user ...", '#' starts a comment, blank lines are
 * ignored.  Parsed whole into (user, patient) pairs sorted by user, so a
 * lookup is a binary search; any malformed line rejects the whole file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"

struct ct_pair {
	char *user;
	char *patient; /* shared with the patient list */
	size_t line;
};

struct dir_careteam {
	struct ct_pair *p;
	size_t n, cap;
	struct ct_pair *ids; /* one per patient line, for duplicates */
	size_t nids, capids;
};

/* Parser state: one line at a time. */
struct ct_parse {
	struct dir_careteam *ct;
	const char *name;
	size_t line;
	char *err;
	size_t errlen;
};

static int
perr(struct ct_parse *ps, int rc, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(ps->err, ps->errlen, "%s:%zu: ", ps->name, ps->line);
	if (k >= 0 && (size_t)k < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + k, ps->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool
valid_user(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > DIR_NAME_MAX || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-' || c == '@' || c == '$'))
			return false;
	}
	return true;
}

static int
grow(void *arrp, size_t *cap, size_t n, size_t size)
{
	void **arr = arrp;
	size_t ncap;
	void *nv;

	if (n < *cap)
		return PG_OK;
	ncap = *cap ? *cap * 2 : 64;
	nv = reallocarray(*arr, ncap, size);
	if (nv == NULL)
		return PG_ERR_NOMEM;
	*arr = nv;
	*cap = ncap;
	return PG_OK;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses the members after the colon of one line. */
static int
parse_members(struct ct_parse *ps, const char *s, const char *end, char *id)
{
	struct dir_careteam *ct = ps->ct;
	size_t count = 0;

	while (s < end) {
		const char *w;
		char *user;

		while (s < end && is_space(*s))
			s++;
		if (s == end)
			break;
		w = s;
		while (s < end && !is_space(*s))
			s++;
		if (!valid_user(w, (size_t)(s - w)))
			return perr(ps, PG_ERR_PARSE,
			    "invalid user name in the care team of %s", id);
		if (++count > DIR_CARETEAM_MEMBERS_MAX)
			return perr(ps, PG_ERR_TOOBIG, "more than %d members",
			    DIR_CARETEAM_MEMBERS_MAX);
		if (grow(&ct->p, &ct->cap, ct->n, sizeof(*ct->p)) != PG_OK)
			return PG_ERR_NOMEM;
		user = strndup(w, (size_t)(s - w));
		if (user == NULL)
			return PG_ERR_NOMEM;
		ct->p[ct->n].user = user;
		ct->p[ct->n].patient = id;
		ct->p[ct->n].line = ps->line;
		ct->n++;
	}
	return PG_OK;
}

/* Parses one line [S, END) without its newline. */
static int
parse_line(struct ct_parse *ps, const char *s, const char *end)
{
	struct dir_careteam *ct = ps->ct;
	const char *hash, *colon, *id, *idend;
	char *pid;

	if (memchr(s, '\0', (size_t)(end - s)) != NULL)
		return perr(ps, PG_ERR_PARSE, "NUL byte in line");
	if (end > s && end[-1] == '\r')
		end--;
	hash = memchr(s, '#', (size_t)(end - s));
	if (hash != NULL)
		end = hash;
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	if (s == end)
		return PG_OK;
	colon = memchr(s, ':', (size_t)(end - s));
	if (colon == NULL)
		return perr(ps, PG_ERR_PARSE,
		    "expected 'PATIENT: user ...', found no ':'");
	id = s;
	idend = colon;
	while (idend > id && is_space(idend[-1]))
		idend--;
	if (!dir_valid_patient_id(id, (size_t)(idend - id)))
		return perr(ps, PG_ERR_PARSE, "invalid patient id");
	if (grow(&ct->ids, &ct->capids, ct->nids, sizeof(*ct->ids)) != PG_OK)
		return PG_ERR_NOMEM;
	pid = strndup(id, (size_t)(idend - id));
	if (pid == NULL)
		return PG_ERR_NOMEM;
	ct->ids[ct->nids].patient = pid;
	ct->ids[ct->nids].user = NULL;
	ct->ids[ct->nids].line = ps->line;
	ct->nids++;
	return parse_members(ps, colon + 1, end, pid);
}

static int
cmp_pair(const void *a, const void *b)
{
	const struct ct_pair *x = a, *y = b;
	int r;

	if (x->user != NULL && y->user != NULL) {
		r = strcmp(x->user, y->user);
		if (r != 0)
			return r;
	}
	r = strcmp(x->patient, y->patient);
	if (r != 0)
		return r;
	return (x->line > y->line) - (x->line < y->line);
}

/* Refuses a patient listed on two lines, naming the later one. */
static int
check_duplicates(struct ct_parse *ps)
{
	struct dir_careteam *ct = ps->ct;
	size_t i;

	/* An empty file has no array: qsort must not be handed NULL. */
	if (ct->nids < 2)
		return PG_OK;
	qsort(ct->ids, ct->nids, sizeof(*ct->ids), cmp_pair);
	for (i = 1; i < ct->nids; i++) {
		if (strcmp(ct->ids[i].patient, ct->ids[i - 1].patient) == 0) {
			ps->line = ct->ids[i].line;
			return perr(ps, PG_ERR_PARSE,
			    "patient %s already listed on line %zu",
			    ct->ids[i].patient, ct->ids[i - 1].line);
		}
	}
	return PG_OK;
}

int
dir_careteam_parse(const char *name, const char *buf, size_t len,
    struct dir_careteam **out, char *err, size_t errlen)
{
	struct ct_parse ps = { NULL, name, 0, err, errlen };
	const char *s = buf, *end = buf + len, *nl;
	int rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len > DIR_CARETEAM_FILE_MAX)
		return perr(&ps, PG_ERR_TOOBIG, "file over %d bytes",
		    DIR_CARETEAM_FILE_MAX);
	ps.ct = calloc(1, sizeof(*ps.ct));
	if (ps.ct == NULL)
		return PG_ERR_NOMEM;
	while (s < end) {
		ps.line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			nl = end;
		if (nl - s > DIR_CARETEAM_LINE_MAX) {
			rc = perr(&ps, PG_ERR_TOOBIG, "line over %d bytes",
			    DIR_CARETEAM_LINE_MAX);
			goto out;
		}
		rc = parse_line(&ps, s, nl);
		if (rc != PG_OK)
			goto out;
		s = nl + 1;
	}
	rc = check_duplicates(&ps);
	if (rc != PG_OK)
		goto out;
	if (ps.ct->n > 1)
		qsort(ps.ct->p, ps.ct->n, sizeof(*ps.ct->p), cmp_pair);
	*out = ps.ct;
	ps.ct = NULL; /* transferred */
out:
	if (rc == PG_ERR_NOMEM)
		perr(&ps, rc, "out of memory");
	dir_careteam_free(ps.ct);
	return rc;
}

int
dir_careteam_patients(
    const struct dir_careteam *ct, const char *user, struct dir_strv *sv)
{
	size_t lo = 0, hi = ct->n, i;
	int rc;

	while (lo < hi) { /* first pair whose user is >= USER */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ct->p[mid].user, user) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < ct->n && strcmp(ct->p[i].user, user) == 0; i++) {
		rc = dir_strv_push(
		    sv, ct->p[i].patient, strlen(ct->p[i].patient));
		if (rc != PG_OK)
			return rc;
	}
	return PG_OK;
}

size_t
dir_careteam_count(const struct dir_careteam *ct)
{
	return ct ? ct->nids : 0;
}

void
dir_careteam_free(struct dir_careteam *ct)
{
	size_t i;

	if (ct == NULL)
		return;
	for (i = 0; i < ct->n; i++)
		free(ct->p[i].user);
	for (i = 0; i < ct->nids; i++)
		free(ct->ids[i].patient);
	free(ct->p);
	free(ct->ids);
	free(ct);
}
