/*
 * audit_collect.c - the collector's copy, taken apart again: reads the
 * messages audit_forward.c sent (many hosts, one file, as a stream),
 * puts each split line back together and writes every host's exact log
 * lines and latest head into a directory of its own, where the ordinary
 * verifier proves each host's chain.  Whatever does not add up (a part
 * missing, twice, or not matching, a seq skipped or out of order) is a
 * named problem of that host, never passed over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit/audit_collect_int.h"
#include "core/audit/audit_forward.h"
#include "core/audit/audit_int.h"
#include "core/audit/audit_log.h"
#include "base/base.h"

#define LINE_MAX_BYTES (16 * 1024) /* one message, generously */
static const char *const kind_word[] = { "record", "head", "heartbeat" };

static void add_problem(long long *count, size_t *nkept, char **kept,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
add_problem(
    long long *count, size_t *nkept, char **kept, const char *fmt, va_list ap)
{
	char buf[512];

	(*count)++;
	if (*nkept >= PROBLEMS_KEPT)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((kept[*nkept] = strdup(buf)) != NULL)
		(*nkept)++;
}

static void problem(struct chost *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct chost *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(&h->pub.problems, &h->pub.nproblem, h->problem, fmt, ap);
	va_end(ap);
}

static void file_problem(struct audit_collect *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
file_problem(struct audit_collect *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(&c->file_problems, &c->nfile, c->file_problem, fmt, ap);
	va_end(ap);
}

static int
host_new(struct audit_collect *c, const char *name, struct chost **out)
{
	struct chost *h, **nh;
	size_t n = c->nhosts + 1;
	int r = PG_ERR_NOMEM;

	*out = NULL;
	if (c->nhosts >= HOSTS_MAX)
		return PG_ERR_TOOBIG;
	if (c->nhosts == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		if ((nh = realloc(c->hosts, c->cap * sizeof(*nh))) == NULL)
			return PG_ERR_NOMEM;
		c->hosts = nh;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->as[0].buf = malloc(AUDIT_MAX_RECORD)) == NULL ||
	    (h->as[1].buf = malloc(AUDIT_HEAD_MAX)) == NULL ||
	    (h->as[2].buf = malloc(AUDIT_HEAD_MAX)) == NULL)
		goto out;
	snprintf(h->name, sizeof(h->name), "%s", name);
	/* Directories by number: a host name is not a safe file name. */
	r = PG_ERR_TOOBIG;
	if (snprintf(h->dir, sizeof(h->dir), "%s/%zu", c->outdir, n) >=
	        (int)sizeof(h->dir) ||
	    snprintf(h->log, sizeof(h->log), "%s/audit.jsonl", h->dir) >=
	        (int)sizeof(h->log))
		goto out;
	r = PG_ERR_IO;
	if (mkdir(h->dir, 0700) != 0)
		goto out;
	if ((h->f = fopen(h->log, "wxe")) == NULL)
		goto out;
	h->pub.name = h->name;
	h->pub.log = h->log;
	h->pub.head_seq = -1;
	h->pub.problem = (const char *const *)h->problem;
	h->pub.last_stamp = h->stamp;
	c->hosts[c->nhosts++] = h;
	*out = h;
	h = NULL; /* transferred */
	r = PG_OK;
out:
	audit_chost_free(h);
	return r;
}

static int
find_host(struct audit_collect *c, const char *name, struct chost **out)
{
	size_t i;

	for (i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i]->name, name) == 0) {
			*out = c->hosts[i];
			return PG_OK;
		}
	return host_new(c, name, out);
}

/* Says that parts FROM..TO of A's line never came, and gives it up. */
static void
lost_parts(struct chost *h, struct assembly *a, int kind, size_t from,
    size_t to, const char *when)
{
	if (from == to)
		problem(h, "%s seq %lld: part %zu of %zu never arrived%s",
		    kind_word[kind], a->seq, from, a->parts, when);
	else
		problem(h, "%s seq %lld: parts %zu-%zu of %zu never arrived%s",
		    kind_word[kind], a->seq, from, to, a->parts, when);
	a->active = 0;
	a->done = 0;
	a->broken = 1;
}

static int
write_record(struct chost *h, const char *line, size_t len)
{
	if (fwrite(line, 1, len, h->f) != len || putc('\n', h->f) == EOF)
		return PG_ERR_IO;
	h->pub.records++;
	return PG_OK;
}

/* A whole record: in seq order it goes to the host's log. */
static int
take_record(struct chost *h, long long seq, const char *line, size_t len)
{
	unsigned char hash[AUDIT_HASH_BYTES];
	long long own;
	long long last = h->pub.last_seq;

	if (audit_line_seq(line, len, &own) != PG_OK || own != seq) {
		problem(h,
		    "record seq %lld: the line inside is not that "
		    "record (forged or misrouted)",
		    seq);
		return PG_OK;
	}
	audit_hash(line, len, hash);
	if (seq <= last) {
		if (seq == last &&
		    memcmp(hash, h->last_hash, sizeof(hash)) == 0)
			problem(h,
			    "record seq %lld arrived twice (duplicate "
			    "message)",
			    seq);
		else
			problem(h,
			    "record seq %lld arrived after seq %lld "
			    "(out of order, or a second version); not "
			    "used",
			    seq, last);
		return PG_OK;
	}
	if (seq == last + 2)
		problem(h,
		    "record %lld never arrived (lost between the host and "
		    "this file)",
		    last + 1);
	else if (seq > last + 2)
		problem(h,
		    "records %lld-%lld never arrived (lost between the host "
		    "and this file)",
		    last + 1, seq - 1);
	h->pub.last_seq = seq;
	memcpy(h->last_hash, hash, sizeof(hash));
	return write_record(h, line, len);
}

static void
take_head(struct chost *h, long long seq, const char *json, size_t len)
{
	struct audit_head hd;
	char *copy;

	if (audit_head_parse(json, len, &hd) != PG_OK || hd.seq != seq) {
		problem(h,
		    "head seq %lld: not a well-formed head for that "
		    "seq",
		    seq);
		return;
	}
	if (seq < h->pub.head_seq ||
	    (seq == h->pub.head_seq &&
	        (len != h->headlen || memcmp(json, h->head, len) != 0))) {
		problem(h,
		    "head seq %lld arrived after head seq %lld (out "
		    "of order, or a second version); not used",
		    seq, h->pub.head_seq);
		return;
	}
	if (seq == h->pub.head_seq) {
		problem(
		    h, "head seq %lld arrived twice (duplicate message)", seq);
		return;
	}
	if ((copy = malloc(len)) == NULL) {
		problem(h, "head seq %lld: out of memory", seq);
		return;
	}
	memcpy(copy, json, len);
	free(h->head);
	h->head = copy;
	h->headlen = len;
	h->pub.head_seq = seq;
	if (audit_fwd_stamp(hd.time, strlen(hd.time), &h->pub.head_time) != 0)
		problem(h, "head seq %lld: a time that does not read", seq);
}

/* A heartbeat: the newest is kept for its signature to be checked; the
 * tail it names must have arrived. */
static void
take_beat(struct chost *h, long long seq, const char *json, size_t len)
{
	struct audit_head hd;
	char *copy;

	if (audit_head_parse(json, len, &hd) != PG_OK || hd.seq != seq) {
		problem(
		    h, "heartbeat seq %lld: not a well-formed heartbeat", seq);
		return;
	}
	if (seq > h->pub.last_seq)
		problem(h,
		    "the heartbeat of %s names seq %lld, but records arrived "
		    "only up to seq %lld (lost)",
		    hd.time, seq, h->pub.last_seq);
	else if (seq == h->pub.last_seq && seq > 0 &&
	    memcmp(hd.hash, h->last_hash, sizeof(hd.hash)) != 0)
		problem(h,
		    "the heartbeat of %s names another record %lld than the "
		    "one that arrived",
		    hd.time, seq);
	if (h->beat != NULL && strcmp(hd.time, h->beat_time) < 0)
		return;
	if ((copy = malloc(len)) == NULL) {
		problem(h, "heartbeat seq %lld: out of memory", seq);
		return;
	}
	memcpy(copy, json, len);
	free(h->beat);
	h->beat = copy;
	h->beatlen = len;
	snprintf(h->beat_time, sizeof(h->beat_time), "%s", hd.time);
}

/* A part that repeats one of the line last put together (A->done) or
 * of the one under way: a duplicate if its bytes agree, else a part that
 * does not belong. */
static int
repeated_part(
    struct chost *h, struct assembly *a, const struct audit_fwd_msg *m)
{
	size_t i = m->part - 1, n;

	if (!(a->active || a->done) || a->seq != m->seq ||
	    strcmp(a->hash, m->hash) != 0 || a->parts != m->parts ||
	    m->part >= a->next)
		return 0;
	n = a->off[i + 1] - a->off[i];
	if (n == m->plen && memcmp(a->buf + a->off[i], m->payload, n) == 0)
		problem(h,
		    "%s seq %lld: part %zu of %zu arrived twice "
		    "(duplicate message)",
		    kind_word[m->kind], m->seq, m->part, m->parts);
	else
		problem(h,
		    "%s seq %lld: a second part %zu of %zu that does "
		    "not match the first; not used",
		    kind_word[m->kind], m->seq, m->part, m->parts);
	return 1;
}

static int
take_part(struct chost *h, const struct audit_fwd_msg *m)
{
	struct assembly *a = &h->as[m->kind];
	unsigned char hash[AUDIT_HASH_BYTES];
	char hex[AUDIT_HEX_BYTES];
	int same;

	if (repeated_part(h, a, m))
		return PG_OK;
	same = a->seq == m->seq && strcmp(a->hash, m->hash) == 0 &&
	    a->parts == m->parts;
	/* The rest of a line already given up (and reported). */
	if (!a->active && a->broken && same)
		return PG_OK;
	if (a->active && same && m->part > a->next) {
		lost_parts(h, a, m->kind, a->next, m->part - 1, "");
		return PG_OK;
	}
	if (a->active && !(same && m->part == a->next))
		lost_parts(h, a, m->kind, a->next, a->parts, "");
	if (!a->active) {
		a->done = 0;
		a->broken = 0;
		a->seq = m->seq;
		a->parts = m->parts;
		memcpy(a->hash, m->hash, sizeof(a->hash));
		if (m->part != 1) {
			a->next = 1;
			lost_parts(h, a, m->kind, 1, m->part - 1, "");
			return PG_OK;
		}
		a->active = 1;
		a->next = 1;
		a->len = 0;
	}
	if (a->len + m->plen >
	    (m->kind == AUDIT_FWD_RECORD ? AUDIT_MAX_RECORD : AUDIT_HEAD_MAX)) {
		problem(h, "%s seq %lld: parts longer than one may be",
		    kind_word[m->kind], m->seq);
		a->active = 0;
		return PG_OK;
	}
	a->off[a->next - 1] = a->len;
	memcpy(a->buf + a->len, m->payload, m->plen);
	a->len += m->plen;
	a->off[a->next] = a->len;
	if (a->next++ < a->parts)
		return PG_OK;
	a->active = 0;
	a->done = 1;
	audit_hash(a->buf, a->len, hash);
	audit_hex(hash, sizeof(hash), hex);
	if (strcmp(hex, a->hash) != 0) {
		problem(h,
		    "%s seq %lld: the line from %zu part%s does not match "
		    "the hash its messages announce (a part edited, or from "
		    "another line); not used",
		    kind_word[m->kind], m->seq, a->parts,
		    a->parts > 1 ? "s" : "");
		return PG_OK;
	}
	if (m->kind == AUDIT_FWD_HEAD) {
		take_head(h, m->seq, a->buf, a->len);
		return PG_OK;
	}
	if (m->kind == AUDIT_FWD_HEARTBEAT) {
		take_beat(h, m->seq, a->buf, a->len);
		return PG_OK;
	}
	return take_record(h, m->seq, a->buf, a->len);
}

static int
take_line(
    struct audit_collect *c, const char *line, size_t len, long long lineno)
{
	struct audit_fwd_msg m;
	struct chost *h = NULL;
	char why[128];
	int ours, r;

	ours = audit_fwd_parse(line, len, &m, why, sizeof(why));
	if (ours == 0)
		return PG_OK;
	if (ours < 0 && m.host[0] == '\0') {
		file_problem(c, "line %lld: %s", lineno, why);
		return PG_OK;
	}
	if ((r = find_host(c, m.host, &h)) != PG_OK) {
		file_problem(c, "line %lld: cannot keep host: %s", lineno,
		    pg_strerror(r));
		return r;
	}
	h->pub.messages++;
	if (ours < 0) {
		problem(h, "line %lld: a malformed message (%s)", lineno, why);
		return PG_OK;
	}
	if (m.time >= h->pub.last_time) {
		h->pub.last_time = m.time;
		memcpy(h->stamp, m.stamp, sizeof(h->stamp));
	}
	return take_part(h, &m);
}

/* Reads one line into BUF (at most LINE_MAX_BYTES); *LONG when it was
 * longer (the rest is skipped).  0 at the end of IN. */
static int
read_line(FILE *in, char *buf, size_t *len, int *toolong)
{
	int ch;

	*len = 0;
	*toolong = 0;
	while ((ch = getc_unlocked(in)) != EOF && ch != '\n') {
		if (*len < LINE_MAX_BYTES)
			buf[(*len)++] = (char)ch;
		else
			*toolong = 1;
	}
	return ch != EOF || *len > 0 || *toolong;
}

static int
finish(struct audit_collect *c)
{
	struct chost *h;
	size_t i;
	int k, r = PG_OK;

	for (i = 0; i < c->nhosts; i++) {
		h = c->hosts[i];
		for (k = 0; k < AUDIT_FWD_KINDS; k++)
			if (h->as[k].active)
				lost_parts(h, &h->as[k], k, h->as[k].next,
				    h->as[k].parts,
				    " (the file ends before them)");
		if (fclose(h->f) != 0)
			r = PG_ERR_IO;
		h->f = NULL;
		if (h->head != NULL && r == PG_OK) {
			char hp[PATH_BYTES + 8];
			FILE *f;

			snprintf(hp, sizeof(hp), "%s.head", h->log);
			if ((f = fopen(hp, "wxe")) == NULL ||
			    fwrite(h->head, 1, h->headlen, f) != h->headlen)
				r = PG_ERR_IO;
			if (f != NULL && fclose(f) != 0)
				r = PG_ERR_IO;
		}
	}
	return r;
}

int
audit_collect_split(FILE *in, const char *outdir, struct audit_collect **out)
{
	struct audit_collect *c;
	char *buf;
	size_t len;
	long long lineno = 0;
	int toolong, r = PG_OK;

	*out = NULL;
	if (strlen(outdir) >= PATH_BYTES - 64)
		return PG_ERR_TOOBIG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PG_ERR_NOMEM;
	if ((buf = malloc(LINE_MAX_BYTES)) == NULL) {
		free(c);
		return PG_ERR_NOMEM;
	}
	memcpy(c->outdir, outdir, strlen(outdir) + 1);
	while (r == PG_OK && read_line(in, buf, &len, &toolong)) {
		lineno++;
		if (toolong &&
		    memmem(buf, len, "[" AUDIT_FWD_SDID,
		        sizeof(AUDIT_FWD_SDID)) != NULL)
			file_problem(c,
			    "line %lld: longer than %d bytes, not "
			    "read",
			    lineno, LINE_MAX_BYTES);
		else if (!toolong)
			r = take_line(c, buf, len, lineno);
	}
	if (r == PG_OK && ferror(in))
		r = PG_ERR_IO;
	if (r == PG_OK)
		r = finish(c);
	free(buf);
	if (r != PG_OK) {
		audit_collect_remove(c);
		audit_collect_free(c);
		return r;
	}
	*out = c;
	return PG_OK;
}
