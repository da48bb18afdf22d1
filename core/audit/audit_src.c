/*
 * audit_src.c - reading a log, or a rotated set of logs, as a stream of
 * lines in a bounded window: a 3 GiB log is read with the same few MiB as
 * a small one.  The live log is read up to the size it had under its lock
 * (writers only append), a rotated file to its end, a gzip-compressed one
 * (logrotate's "compress") through zlib.  The set is put in chain order by
 * each file's first seq, never by its name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "core/audit/audit_int.h"
#include "base/base.h"
#include "core/state/state.h"

#define SRC_CAP       (8u << 20) /* the window's buffer */
#define SRC_AHEAD     (4u << 20) /* kept ahead of the current line */
#define SRC_WAIT_MS   10000      /* for writers, who hold the lock briefly */
#define SET_MAX_FILES 100000

static int
gz_failed(gzFile gz)
{
	int err = Z_OK;

	gzerror(gz, &err);
	return err != Z_OK && err != Z_STREAM_END;
}

/* A zlib stream from the start of FD, on a duplicate (gzclose closes the
 * duplicate).  The duplicate shares FD's offset, which an earlier stream
 * moved. */
static gzFile
gz_on(int fd)
{
	int dfd;
	gzFile gz;

	if (lseek(fd, 0, SEEK_SET) != 0 || (dfd = dup(fd)) < 0)
		return NULL;
	if ((gz = gzdopen(dfd, "rb")) == NULL)
		close(dfd);
	else
		gzbuffer(gz, 256 * 1024);
	return gz;
}

static int
src_read(struct audit_src *s, char *dst, size_t n, size_t *got)
{
	ssize_t k;
	int z;

	*got = 0;
	if (s->gz != NULL) {
		z = gzread((gzFile)s->gz, dst, (unsigned)n);
		/* A cut .gz ends early with Z_BUF_ERROR: an error, never a
		 * shorter file. */
		if (z < 0 || (z == 0 && gz_failed((gzFile)s->gz)))
			return PG_ERR_IO;
		*got = (size_t)z;
		return PG_OK;
	}
	if (s->limit >= 0 && (off_t)n > s->limit - s->off)
		n = (size_t)(s->limit - s->off);
	if (n == 0)
		return PG_OK;
	do
		k = pread(s->fd, dst, n, s->off);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return PG_ERR_IO;
	s->off += k;
	*got = (size_t)k;
	return PG_OK;
}

/* The window of a file whose turn has come: only one file's at a time,
 * so memory does not grow with the number of rotated files. */
static int
src_start(struct audit_src *s)
{
	if ((s->buf = malloc(SRC_CAP)) == NULL)
		return PG_ERR_NOMEM;
	s->data = s->buf;
	s->cap = SRC_CAP;
	s->pos = s->fill = 0;
	s->off = 0;
	s->eof = 0;
	if (s->is_gz && (s->gz = gz_on(s->fd)) == NULL)
		return PG_ERR_NOMEM;
	return PG_OK;
}

void
audit_src_stop(struct audit_src *s)
{
	if (s->fd < 0)
		return; /* memory */
	if (s->gz != NULL)
		gzclose_r((gzFile)s->gz);
	s->gz = NULL;
	free(s->buf);
	s->buf = NULL;
	s->data = NULL;
	s->pos = s->fill = s->cap = 0;
}

int
audit_src_fill(struct audit_src *s)
{
	size_t got;
	int r;

	if (s->data == NULL && (r = src_start(s)) != PG_OK)
		return r;
	if (s->eof || s->fill - s->pos >= SRC_AHEAD + AUDIT_MAX_RECORD)
		return PG_OK;
	memmove(s->buf, s->buf + s->pos, s->fill - s->pos);
	s->fill -= s->pos;
	s->pos = 0;
	while (s->fill < s->cap) {
		if ((r = src_read(
		         s, s->buf + s->fill, s->cap - s->fill, &got)) != PG_OK)
			return r;
		if (got == 0) {
			s->eof = 1;
			break;
		}
		s->fill += got;
	}
	return PG_OK;
}

void
audit_src_mem(struct audit_src *s, const char *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->data = buf; /* never written: fill() stops at eof */
	s->fill = s->cap = len;
	s->eof = 1;
	s->first_seq = -1;
}

void
audit_src_close(struct audit_src *s)
{
	audit_src_stop(s);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* The first line of S into B (AUDIT_MAX_RECORD + 1 bytes): its length,
 * or -1 when there is none (an empty file: 0 with *EMPTY). */
static long
first_line(struct audit_src *s, char *b, int *empty)
{
	const char *nl;
	size_t n = AUDIT_MAX_RECORD + 1;
	ssize_t k;
	gzFile gz;

	if (s->limit >= 0 && (off_t)n > s->limit)
		n = (size_t)s->limit;
	if (s->is_gz) {
		if ((gz = gz_on(s->fd)) == NULL)
			return -1;
		k = gzread(gz, b, (unsigned)n);
		gzclose_r(gz);
	} else
		k = pread(s->fd, b, n, 0);
	*empty = k == 0;
	if (k <= 0 || (nl = memchr(b, '\n', (size_t)k)) == NULL)
		return -1;
	return (long)(nl - b);
}

/* The first record's seq, host and event, read from the file's start
 * without its window. */
static int
peek_first(struct audit_src *s)
{
	struct audit_prec pr;
	json_t *j;
	char why[8], *b;
	int empty = 0;
	long n;

	s->first_seq = -1; /* unreadable: sorted first, fails there */
	if ((b = malloc(AUDIT_MAX_RECORD + 1)) == NULL)
		return PG_ERR_NOMEM;
	n = first_line(s, b, &empty);
	if (empty)
		s->first_seq = 0;
	else if (n >= 0 &&
	    audit_line_seq(b, (size_t)n, &s->first_seq) == PG_OK &&
	    audit_rec_parse(b, (size_t)n, &pr, &j, why, sizeof(why)) == PG_OK) {
		snprintf(s->first_host, sizeof(s->first_host), "%s", pr.host);
		s->continues = strcmp(pr.event, AUDIT_EV_ROTATE) == 0;
		json_decref(j);
	}
	free(b);
	return PG_OK;
}

/* Opens PATH; LIMIT >= 0 reads only that many bytes (the live log). */
static int
src_open(struct audit_src *s, const char *path, int fd, off_t limit)
{
	unsigned char magic[2];
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->limit = limit;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (fstat(fd, &st) != 0)
		return PG_ERR_IO;
	if (!S_ISREG(st.st_mode))
		return PG_ERR_INVAL;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	/* A rotated file logrotate compressed; the live log never is. */
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f &&
	    magic[1] == 0x8b) {
		s->limit = -1;
		s->is_gz = 1;
	}
	return peek_first(s);
}

/* Opens PATH for reading, a regular file only: O_NONBLOCK, so that a
 * FIFO planted under a rotated file's name cannot hang the reader while
 * it holds the live log's lock (and with it every writer). */
static int
open_ro(const char *path)
{
	int fd = open(
	    path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? PG_ERR_NOTFOUND
		    : errno == ELOOP   ? PG_ERR_SYMLINK
		                       : PG_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		close(fd);
		return PG_ERR_INVAL;
	}
	return fd;
}

void
audit_set_free(struct audit_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		audit_src_close(&set->src[i]);
	free(set->src);
	free(set->head_owned);
	memset(set, 0, sizeof(*set));
}

/* Whether NAME is BASE's rotated sibling: BASE.N, BASE.N.gz (logrotate's
 * numbers) or BASE-SUFFIX (its dateext, and `photoguard audit rotate`). */
int
audit_set_sibling(const char *name, const char *base)
{
	size_t n = strlen(base);
	const char *p;

	if (strncmp(name, base, n) != 0)
		return 0;
	p = name + n;
	if (*p == '-')
		return p[1] != '\0' && strstr(p, ".head") == NULL &&
		    strstr(p, ".lock") == NULL && strstr(p, ".tmp") == NULL;
	if (*p != '.' || p[1] < '0' || p[1] > '9')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		;
	return *p == '\0' || strcmp(p, ".gz") == 0;
}

static int
set_add(struct audit_set *set, const char *path, int fd, off_t limit)
{
	struct audit_src *s;
	int r;

	if (set->n >= SET_MAX_FILES) {
		close(fd);
		return PG_ERR_TOOBIG;
	}
	s = realloc(set->src, (set->n + 1) * sizeof(*s));
	if (s == NULL) {
		close(fd);
		return PG_ERR_NOMEM;
	}
	set->src = s;
	r = src_open(&s[set->n], path, fd, limit);
	set->n++; /* closed by audit_set_free() either way */
	return r;
}

/* Adds DIR/NAME for each rotated sibling of BASE in DIR. */
static int
add_siblings(struct audit_set *set, const char *dir, const char *base)
{
	char path[4096];
	struct dirent *e;
	DIR *d;
	int r = PG_OK, fd;

	if ((d = opendir(dir)) == NULL)
		return PG_ERR_IO;
	while (r == PG_OK && (e = readdir(d)) != NULL) {
		if (!audit_set_sibling(e->d_name, base))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(path)) {
			r = PG_ERR_TOOBIG;
			break;
		}
		if ((fd = open_ro(path)) < 0)
			r = fd == PG_ERR_NOTFOUND ? PG_OK : fd; /* raced away */
		else
			r = set_add(set, path, fd, -1);
	}
	closedir(d);
	return r;
}

static int
by_first_seq(const void *a, const void *b)
{
	const struct audit_src *x = a, *y = b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* Chain order; the same file reached twice (a link a crashed rotation
 * left) counts once. */
static void
order_set(struct audit_set *set)
{
	size_t i, j;

	struct audit_src t;

	for (i = 0; i < set->n; i++) {
		for (j = i + 1; j < set->n;) {
			if (set->src[j].dev == set->src[i].dev &&
			    set->src[j].ino == set->src[i].ino) {
				/* Keep the live log's entry: read to the
				 * size it had under the lock. */
				if (set->src[j].limit > set->src[i].limit) {
					t = set->src[i];
					set->src[i] = set->src[j];
					set->src[j] = t;
				}
				audit_src_close(&set->src[j]);
				set->src[j] = set->src[--set->n];
			} else
				j++;
		}
	}
	qsort(set->src, set->n, sizeof(*set->src), by_first_seq);
	/* An empty live log is the set's end, never its start. */
	for (i = 0; i + 1 < set->n && set->src[0].first_seq == 0; i++) {
		t = set->src[0];
		memmove(
		    set->src, set->src + 1, (set->n - 1) * sizeof(*set->src));
		set->src[set->n - 1] = t;
	}
}

int
audit_set_open(const char *log, int siblings, const char *const *more,
    size_t nmore, struct audit_set *set)
{
	char dir[4096], hpath[4096];
	const char *slash, *base;
	struct stat st;
	size_t i, hlen = 0;
	int fd, r;

	memset(set, 0, sizeof(*set));
	if (log != NULL) {
		if ((fd = open_ro(log)) < 0)
			return fd;
		/* Under the live log's shared lock: its size, its head and
		 * the list of rotated files are one moment's, since a
		 * rotation holds the lock exclusively. */
		if ((r = pg_flock(fd, LOCK_SH, SRC_WAIT_MS)) != PG_OK) {
			close(fd);
			return r;
		}
		if (fstat(fd, &st) != 0) {
			close(fd);
			return PG_ERR_IO;
		}
		r = set_add(set, log, fd, st.st_size);
		if (r == PG_OK &&
		    snprintf(hpath, sizeof(hpath), "%s.head", log) >=
		        (int)sizeof(hpath))
			r = PG_ERR_TOOBIG;
		if (r == PG_OK) {
			r = pg_read_file(
			    hpath, AUDIT_HEAD_MAX, 0, &set->head_owned, &hlen);
			if (r == PG_ERR_NOTFOUND)
				r = PG_OK;
			set->head = set->head_owned;
			set->headlen = hlen;
		}
		if (r == PG_OK && siblings) {
			slash = strrchr(log, '/');
			base = slash != NULL ? slash + 1 : log;
			if (slash == NULL)
				memcpy(dir, ".", 2);
			else if ((size_t)(slash - log) >= sizeof(dir))
				r = PG_ERR_TOOBIG;
			else {
				memcpy(dir, log, (size_t)(slash - log));
				dir[slash == log ? 1 : slash - log] = '\0';
				if (slash == log)
					dir[0] = '/';
			}
			if (r == PG_OK)
				r = add_siblings(set, dir, base);
		}
		flock(fd, LOCK_UN);
		if (r != PG_OK) {
			audit_set_free(set);
			return r;
		}
	}
	for (i = 0; i < nmore; i++) {
		if ((fd = open_ro(more[i])) < 0) {
			audit_set_free(set);
			return fd;
		}
		/* Any of them may be a live log: read up to a line end. */
		r = pg_flock(fd, LOCK_SH, SRC_WAIT_MS);
		if (r == PG_OK && fstat(fd, &st) != 0)
			r = PG_ERR_IO;
		if (r == PG_OK)
			r = set_add(set, more[i], fd, st.st_size);
		else
			close(fd);
		if (r == PG_OK)
			flock(fd, LOCK_UN);
		if (r != PG_OK) {
			audit_set_free(set);
			return r;
		}
	}
	order_set(set);
	/* Explicit files only: the newest one's head is the set's. */
	if (log == NULL && set->n > 0) {
		if (snprintf(hpath, sizeof(hpath), "%.4000s.head",
		        set->src[set->n - 1].path) >= (int)sizeof(hpath))
			hpath[0] = '\0';
		r = pg_read_file(
		    hpath, AUDIT_HEAD_MAX, 0, &set->head_owned, &hlen);
		set->head = set->head_owned;
		if (r != PG_OK && r != PG_ERR_NOTFOUND) {
			audit_set_free(set);
			return r;
		}
		set->headlen = hlen;
	}
	return PG_OK;
}

int
audit_first_record(const char *path, long long *seq, char *host, size_t hostlen)
{
	struct audit_src s;
	int fd, r;

	*seq = 0;
	host[0] = '\0';
	if ((fd = open_ro(path)) < 0)
		return fd;
	if ((r = src_open(&s, path, fd, -1)) == PG_OK) {
		*seq = s.first_seq;
		snprintf(host, hostlen, "%s", s.first_host);
		if (s.first_seq < 0)
			r = PG_ERR_PARSE;
	}
	audit_src_close(&s);
	return r;
}
