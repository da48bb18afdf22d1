/*
 * audit_rotate.c - rotation that keeps the chain whole.  The new file's
 * first record, audit.rotate, carries the old file's last hash as its prev
 * and the next seq, and a checkpoint signs it at once; the head moves to
 * the new file.  So a rotated set verifies as one chain, a file lost from
 * it shows as a gap, and the old file's end is vouched for by the record
 * that follows it.  Writers in other processes follow the rename on their
 * next record (audit_follow()).  The format: docs/audit-format.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit_log.h"
#include "base/base.h"
#include "core/state/state.h"

#define TMP_SUFFIX ".rotate.tmp"

/* The last component of PATH. */
static const char *
last_part(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static int
same_dir(const char *a, const char *b)
{
	size_t la = (size_t)(last_part(a) - a), lb = (size_t)(last_part(b) - b);

	return la == lb && strncmp(a, b, la) == 0;
}

/* The last whole line of FD into LINE and LEN, in BUF (to free); 0 if it
 * has none. */
static int
last_line(int fd, char **buf, const char **line, size_t *len)
{
	struct stat st;
	size_t n;
	off_t start;
	const char *nl;
	char *b;

	*buf = NULL;
	if (fstat(fd, &st) != 0 || st.st_size == 0)
		return 0;
	start = st.st_size > AUDIT_TAIL_BUF ? st.st_size - AUDIT_TAIL_BUF : 0;
	n = (size_t)(st.st_size - start);
	if ((b = malloc(n)) == NULL)
		return 0;
	*buf = b;
	if (pg_pread_all(fd, b, n, start) != PG_OK)
		return 0;
	while (n > 0 && b[n - 1] != '\n')
		n--; /* an unfinished line */
	if (n == 0)
		return 0;
	nl = n > 1 ? memrchr(b, '\n', n - 1) : NULL;
	if (nl == NULL && start > 0)
		return 0;
	*line = nl != NULL ? nl + 1 : b;
	*len = (size_t)(b + n - 1 - *line);
	return 1;
}

/* The last whole line's seq in FD, 0 if it has none. */
static long long
file_last_seq(int fd)
{
	const char *line;
	size_t len;
	char *buf;
	long long seq = 0;

	if (last_line(fd, &buf, &line, &len))
		audit_line_seq(line, len, &seq);
	free(buf);
	return seq;
}

/* The new file's records name the host the chain's records name, which
 * is the writers' [audit] host, not necessarily this one's name. */
static void
take_host(struct audit_log *h)
{
	struct audit_prec pr;
	const char *line;
	char why[8], *buf;
	json_t *j;
	size_t len;

	if (last_line(h->fd, &buf, &line, &len) &&
	    audit_rec_parse(line, len, &pr, &j, why, sizeof(why)) == PG_OK) {
		snprintf(h->host, sizeof(h->host), "%s", pr.host);
		json_decref(j);
	}
	free(buf);
}

int
audit_follow(struct audit_log *log)
{
	long long seq;
	int fd, r;

	fd = openat(log->dirfd, log->base,
	    O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 &&
	    (r = pg_flock(fd, LOCK_EX, log->opts.lock_timeout_ms)) != PG_OK) {
		close(fd);
		return r;
	}
	/* Follow only a file that carries this chain on: the rotation put
	 * it in place before it closed the old one.  Anything else (no
	 * file, another log) is refused, as a rewritten log is. */
	seq = fd >= 0 ? file_last_seq(fd) : 0;
	if (seq <= log->tail_seq) {
		if (fd >= 0)
			close(fd);
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: %s was rotated, but the file in its "
		    "place does not continue its chain (last seq %lld, the "
		    "closed one's %lld); refusing to write",
		    log->base, seq, log->tail_seq);
		return PG_ERR_CORRUPT;
	}
	/* The same descriptor number from now on: the flusher thread syncs
	 * log->fd without the mutex.  The rotation synced the old file. */
	if (dup3(fd, log->fd, O_CLOEXEC) < 0) {
		close(fd);
		return PG_ERR_IO;
	}
	close(fd);
	log->cached = 0;
	return PG_OK;
}

/* The name a rotation by photoguard gives the old file: LOG-<UTC time>,
 * which sorts in time order, as logrotate's dateext does. */
static int
dated_name(const char *base, char *out, size_t len)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(t, sizeof(t), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return PG_ERR_INTERNAL;
	return snprintf(out, len, "%s-%s", base, t) >= (int)len ? PG_ERR_TOOBIG
	                                                        : PG_OK;
}

/* OLDNAME, or OLDNAME-2, -3... when two rotations fall in one second:
 * the first free one, chosen under the lock before the new file names
 * it. */
static int
free_name(struct audit_log *h, char *oldname, size_t oldlen)
{
	char first[NAME_MAX + 1];
	int i;

	snprintf(first, sizeof(first), "%s", oldname);
	for (i = 2; i < 100; i++) {
		if (faccessat(h->dirfd, oldname, F_OK, AT_SYMLINK_NOFOLLOW) !=
		    0)
			return errno == ENOENT ? PG_OK : PG_ERR_IO;
		if (snprintf(oldname, oldlen, "%s-%d", first, i) >= (int)oldlen)
			return PG_ERR_TOOBIG;
	}
	return PG_ERR_EXISTS;
}

/* Where LOG stands for a continuation from the file H has open. */
static int
check_target(struct audit_log *h, const char *logbase, int renamed)
{
	struct stat at, cur;

	if (fstat(h->fd, &cur) != 0)
		return PG_ERR_IO;
	if (fstatat(h->dirfd, logbase, &at, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT && renamed ? PG_OK : PG_ERR_IO;
	if (at.st_dev == cur.st_dev && at.st_ino == cur.st_ino)
		return renamed ? PG_ERR_INVAL : PG_OK;
	/* An empty log a writer made while it was renamed away (it refused
	 * to write there): replaced.  Anything else continued already. */
	return renamed && S_ISREG(at.st_mode) && at.st_size == 0
	    ? PG_OK
	    : PG_ERR_EXISTS;
}

/* Creates the new file, locked, as the old one's owner and mode. */
static int
new_file(struct audit_log *h, const char *tmp)
{
	struct stat st;
	int fd;

	if (fstat(h->fd, &st) != 0)
		return PG_ERR_IO;
	unlinkat(h->dirfd, tmp, 0); /* a crashed rotation's */
	fd = openat(h->dirfd, tmp,
	    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	        O_NOCTTY,
	    0600);
	if (fd < 0)
		return PG_ERR_IO;
	if (fchown(fd, st.st_uid, st.st_gid) != 0 ||
	    fchmod(fd, st.st_mode & 07777) != 0 || flock(fd, LOCK_EX) != 0) {
		close(fd);
		unlinkat(h->dirfd, tmp, 0);
		return PG_ERR_IO;
	}
	return fd;
}

/* The old file as it stands: its torn tail recorded, its head matching,
 * not closed by another rotation. */
static int
check_old(struct audit_log *h)
{
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn = 0;
	int r;

	if ((r = audit_read_tail(h, &torn, th)) != PG_OK)
		return r;
	if (torn > 0 && (r = audit_repair_torn(h, torn, th)) != PG_OK)
		return r;
	return audit_head_matches(h);
}

/* The old file's last record, audit.close, written once the new file is
 * in place: writers that still have the old file open see it as their
 * tail changes, and follow (audit_follow()).  No writer pays for a
 * rotation check before each record. */
static int
close_old(struct audit_log *h, const char *actor, const char *logbase)
{
	struct audit_event ev;

	audit_admin_event(&ev, actor, AUDIT_EV_CLOSE, logbase, "info",
	    "the chain continues in a new file");
	return audit_append_event(h, &ev);
}

/* The new file's first records: audit.rotate, then its checkpoint. */
static int
open_new(struct audit_log *h, const char *actor, const char *oldname)
{
	struct audit_event ev;
	char reason[AUDIT_MSG_MAX];
	int r;

	snprintf(reason, sizeof(reason),
	    "the chain continues from %s, which ends at seq %lld", oldname,
	    h->tail_seq);
	audit_admin_event(&ev, actor, AUDIT_EV_ROTATE, oldname, "info", reason);
	h->tail_off = 0; /* the new, empty file */
	if ((r = audit_append_event(h, &ev)) != PG_OK)
		return r;
	if (audit_signs(h) && (r = audit_append_ckpt(h)) != PG_OK)
		return r;
	return fdatasync(h->fd) != 0 ? PG_ERR_IO : PG_OK;
}

static int
set_head_names(struct audit_log *h, const char *logbase)
{
	size_t n = strlen(logbase);

	if (n + 11 > sizeof(h->locknm))
		return PG_ERR_TOOBIG;
	snprintf(h->headname, sizeof(h->headname), "%s.head", logbase);
	snprintf(h->locknm, sizeof(h->locknm), "%s.head.lock", logbase);
	return PG_OK;
}

int
audit_rotate(const char *log, const char *renamed, const char *keyfile,
    const struct pg_config *cfg, const char *actor, char *oldname,
    size_t oldlen)
{
	struct audit_opts o;
	struct audit_log *h = NULL;
	const char *logbase = last_part(log);
	char tmp[NAME_MAX + 1];
	int r, newfd = -1, oldfd = -1, locked = 0, linked = 0;
	long long last;

	oldname[0] = '\0';
	if (actor == NULL || (renamed != NULL && !same_dir(log, renamed)))
		return PG_ERR_INVAL;
	if (snprintf(tmp, sizeof(tmp), "%s%s", logbase, TMP_SUFFIX) >=
	    (int)sizeof(tmp))
		return PG_ERR_TOOBIG;
	if (renamed != NULL)
		snprintf(oldname, oldlen, "%s", last_part(renamed));
	else if ((r = dated_name(logbase, oldname, oldlen)) != PG_OK)
		return r;
	memset(&o, 0, sizeof(o));
	o.component = "cli";
	o.durability = PG_DURABLE_BATCH; /* heads written below, in order */
	if (cfg != NULL) {
		o.syslog = cfg->audit_syslog;
		o.syslog_socket = cfg->audit_syslog_socket;
	}
	if ((r = audit_open_raw(
	         renamed != NULL ? renamed : log, keyfile, &o, &h)) != PG_OK)
		return r;
	if ((r = set_head_names(h, logbase)) != PG_OK ||
	    (r = audit_lock(h)) != PG_OK)
		goto out;
	locked = 1;
	if ((r = check_target(h, logbase, renamed != NULL)) != PG_OK ||
	    (r = audit_key_mend(h)) < 0 || (r = check_old(h)) != PG_OK)
		goto out;
	if (h->tail_seq == 0) {
		r = PG_ERR_NOTFOUND; /* nothing to rotate */
		goto out;
	}
	last = h->tail_seq;
	take_host(h);
	if (renamed == NULL && (r = free_name(h, oldname, oldlen)) != PG_OK)
		goto out;
	/* Closed already, with no file after it: a rotation that failed
	 * past this point; it resumes. */
	if (!h->tail_closed &&
	    ((r = close_old(h, actor, logbase)) != PG_OK ||
	        (fdatasync(h->fd) != 0 && (r = PG_ERR_IO) != PG_OK)))
		goto out;
	if ((newfd = new_file(h, tmp)) < 0) {
		r = newfd;
		goto out;
	}
	oldfd = h->fd;
	h->fd = newfd;
	if ((r = open_new(h, actor, oldname)) != PG_OK)
		goto out;
	/* Old name first: a crash before the rename leaves both names on
	 * the old file, which a verifier reads once. */
	if (renamed == NULL) {
		if (linkat(h->dirfd, logbase, h->dirfd, oldname, 0) != 0) {
			r = errno == EEXIST ? PG_ERR_EXISTS : PG_ERR_IO;
			goto out;
		}
		linked = 1;
	}
	/* Again just before the rename: an empty log found earlier may have
	 * been written to since (an unsigned log's opener does not refuse
	 * it), and its records must not be replaced. */
	if (renamed != NULL && (r = check_target(h, logbase, 1)) != PG_OK)
		goto out;
	if (renameat(h->dirfd, tmp, h->dirfd, logbase) != 0) {
		r = PG_ERR_IO;
		goto out;
	}
	tmp[0] = '\0';
	r = h->head_pending
	    ? audit_put_head(h, h->head_seq, h->head_hash, h->head_time)
	    : PG_OK;
	h->head_pending = 0;
	if (fsync(h->dirfd) != 0 && r == PG_OK)
		r = PG_ERR_IO;
	if (r == PG_OK && h->key_mended)
		r = audit_key_finish(h);
	if (r == PG_OK)
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "photoguard audit: %s rotated by %s: the chain continues "
		    "from %s after seq %lld",
		    logbase, actor, oldname, last);
out:
	if (r != PG_OK && linked && tmp[0] != '\0')
		unlinkat(h->dirfd, oldname, 0);
	if (tmp[0] != '\0' && newfd >= 0)
		unlinkat(h->dirfd, tmp, 0);
	h->head_pending = 0;
	if (oldfd >= 0) {
		flock(oldfd, LOCK_UN);
		close(oldfd);
	} else if (locked)
		flock(h->fd, LOCK_UN);
	audit_free(h); /* closes, and unlocks, the new file */
	return r;
}

int
audit_rekey(const char *log, const char *keyfile, const struct pg_config *cfg,
    const char *actor, char *newid, size_t idlen)
{
	struct audit_opts o;
	struct audit_log *h = NULL;
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn = 0;
	int r;

	if (actor == NULL || keyfile == NULL)
		return PG_ERR_INVAL;
	memset(&o, 0, sizeof(o));
	o.component = "cli";
	o.durability = PG_DURABLE_FSYNC;
	o.short_lived = true;
	if (cfg != NULL) {
		o.host = cfg->audit_host;
		o.syslog = cfg->audit_syslog;
		o.syslog_socket = cfg->audit_syslog_socket;
	}
	if ((r = audit_open_path(log, keyfile, &o, &h)) != PG_OK)
		return r;
	pthread_mutex_lock(&h->mu);
	if ((r = audit_lock(h)) == PG_OK) {
		r = audit_take_tail(h, &torn, th);
		if (r == PG_OK && torn > 0)
			r = audit_repair_torn(h, torn, th);
		if (r == PG_OK)
			r = audit_head_matches(h);
		if (r == PG_OK)
			r = audit_append_key(
			    h, actor, "an admin changed the key");
		if (r == PG_OK)
			snprintf(newid, idlen, "%s", h->key.id);
		flock(h->fd, LOCK_UN);
	}
	pthread_mutex_unlock(&h->mu);
	if (r == PG_OK)
		syslog(LOG_AUTHPRIV | LOG_NOTICE,
		    "photoguard audit: %s moved to key %s by %s", h->base,
		    h->key.id, actor);
	audit_free(h);
	return r;
}
