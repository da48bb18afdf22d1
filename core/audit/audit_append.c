/*
 * audit_append.c - one append to the shared audit log: an event's fields
 * encoded before any lock (kept in jansson objects by audit_record.c),
 * then under the log's flock(): find the current tail (re-reading only
 * what other processes added), repair a torn tail, add the seq, time and
 * chain, write the line with one write(), add a checkpoint and a new head
 * file when one is due.  The format: docs/audit-format.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit_forward.h"
#include "core/audit/audit_log.h"
#include "base/base.h"
#include "core/state/state.h"

#define FIELD_SHORT 256 /* field cap on the retry of a huge record */

int
audit_lock(struct audit_log *log)
{
	return pg_flock(log->fd, LOCK_EX, log->opts.lock_timeout_ms);
}

/* Our records start {"seq":N, so the tail's seq needs no full parse. */
int
audit_line_seq(const char *p, size_t len, long long *seq)
{
	static const char pre[] = "{\"seq\":";
	size_t i = sizeof(pre) - 1, digits = 0;
	long long v = 0;

	if (len < i || memcmp(p, pre, i) != 0)
		return PG_ERR_CORRUPT;
	for (; i < len && p[i] >= '0' && p[i] <= '9' && digits < 18; i++) {
		v = v * 10 + (p[i] - '0');
		digits++;
	}
	if (digits == 0 || i >= len || p[i] != ',' || v < 1)
		return PG_ERR_CORRUPT;
	*seq = v;
	return PG_OK;
}

static void
set_empty(struct audit_log *log)
{
	log->cached = 1;
	log->tail_off = 0;
	log->tail_seq = 0;
	log->tail_is_ckpt = 0;
	log->tail_closed = 0;
	audit_genesis(log->tail_hash);
}

/* Takes the last whole line in B[0..END) (B starts at file offset START;
 * AT_LINE: START is a line start) as the new tail. */
static int
take_last_line(
    struct audit_log *log, const char *b, size_t end, off_t start, int at_line)
{
	const char *nl;
	size_t ls;
	int r;

	nl = end > 1 ? memrchr(b, '\n', end - 1) : NULL;
	if (nl == NULL && !at_line)
		return PG_ERR_CORRUPT; /* a line over the maximum */
	ls = nl != NULL ? (size_t)(nl - b) + 1 : 0;
	if ((r = audit_line_seq(b + ls, end - 1 - ls, &log->tail_seq)) != PG_OK)
		return r;
	audit_hash(b + ls, end - 1 - ls, log->tail_hash);
	log->tail_is_ckpt = memmem(b + ls, end - 1 - ls,
	                        "\"event\":\"" AUDIT_EV_CHECKPOINT "\"",
	                        sizeof(AUDIT_EV_CHECKPOINT) + 9) != NULL;
	/* Quotes inside strings are escaped: only the event field can
	 * match, and only the rotation writes this event. */
	log->tail_closed =
	    memmem(b + ls, end - 1 - ls, "\"event\":\"" AUDIT_EV_CLOSE "\"",
	        sizeof(AUDIT_EV_CLOSE) + 9) != NULL;
	log->tail_off = start + (off_t)end;
	log->cached = 1;
	return PG_OK;
}

/* Whether B/N, read at the cached tail, starts with the record that
 * follows it (seq one more, "prev" its hash): other writers only ever
 * append that.  A line not finished yet cannot be judged (a torn tail is
 * cut anyway). */
static int
follows_tail(const struct audit_log *log, const char *b, size_t n)
{
	static const char pre[] = "\"prev\":\"";
	char hex[AUDIT_HEX_BYTES];
	const char *nl = memchr(b, '\n', n);
	size_t len;
	long long seq;

	if (nl == NULL)
		return 1;
	len = (size_t)(nl - b);
	if (audit_line_seq(b, len, &seq) != PG_OK || seq != log->tail_seq + 1 ||
	    len < 74 || b[len - 1] != '}')
		return 0;
	audit_hex(log->tail_hash, AUDIT_HASH_BYTES, hex);
	return memcmp(b + len - 74, pre, 8) == 0 &&
	    memcmp(b + len - 66, hex, 64) == 0 && b[len - 2] == '"';
}

/* The log changed under this handle in a way no writer changes it: cut,
 * or cut and refilled.  Refused, loudly. */
static int
changed_under(const struct audit_log *log)
{
	syslog(LOG_AUTHPRIV | LOG_ALERT,
	    "photoguard audit: %s was cut or rewritten after seq %lld while "
	    "open; refusing to write to it",
	    log->base, log->tail_seq);
	return PG_ERR_CORRUPT;
}

/* Brings the cached tail up to date; *TORN is the length of an unfinished
 * last line (hashed into TORN_HASH). */
int
audit_read_tail(struct audit_log *log, off_t *torn, unsigned char *torn_hash)
{
	const off_t room = AUDIT_TAIL_BUF - 1;
	off_t size, start;
	size_t n, end;
	char *b = log->buf, *nl;
	int at_line, r;

	*torn = 0;
	/* The size, as fstat() would give it but cheaper: the fd is
	 * O_APPEND and read with pread(), so the offset moved is unused. */
	if ((size = lseek(log->fd, 0, SEEK_END)) < 0)
		return PG_ERR_IO;
	if (log->cached && size == log->tail_off)
		return PG_OK;
	if (log->cached && size < log->tail_off)
		return changed_under(log);
	if (size == 0) {
		set_empty(log);
		return PG_OK;
	}
	at_line = log->cached && size - log->tail_off <= room;
	if (log->cached && !at_line) {
		n = (size_t)(size - log->tail_off);
		n = n < AUDIT_MAX_RECORD ? n : AUDIT_MAX_RECORD;
		if ((r = pg_pread_all(log->fd, b, n, log->tail_off)) != PG_OK)
			return r;
		if (!follows_tail(log, b, n))
			return changed_under(log);
	}
	start = at_line ? log->tail_off : (size > room ? size - room : 0);
	at_line = at_line || start == 0;
	n = (size_t)(size - start);
	if ((r = pg_pread_all(log->fd, b, n, start)) != PG_OK)
		return r;
	if (log->cached && start == log->tail_off && !follows_tail(log, b, n))
		return changed_under(log);
	end = n;
	if (b[n - 1] != '\n') {
		nl = memrchr(b, '\n', n);
		if (nl == NULL && !at_line)
			return PG_ERR_CORRUPT;
		end = nl != NULL ? (size_t)(nl - b) + 1 : 0;
		*torn = (off_t)(n - end);
		audit_hash(b + end, n - end, torn_hash);
	}
	if (end == 0) {
		if (start == 0)
			set_empty(log);
		return PG_OK; /* else: the cached tail still stands */
	}
	return take_last_line(log, b, end, start, at_line);
}

int
audit_take_tail(struct audit_log *log, off_t *torn, unsigned char *torn_hash)
{
	int r = audit_read_tail(log, torn, torn_hash);

	/* Followed while the next rotation held the new file, the file
	 * found may be closed too: on to the one after it.  Each step is to
	 * a higher seq (audit_follow()), so it ends. */
	while (
	    r == PG_OK && log->tail_closed && (r = audit_follow(log)) == PG_OK)
		r = audit_read_tail(log, torn, torn_hash);
	return r;
}

/* Sets the fields every event has from "host" to "reason". */
static int
event_fields(const struct audit_log *log, struct audit_rec *rc,
    const struct audit_event *ev, size_t cap)
{
	int bad;

	bad = audit_rec_clean(rc, AF_HOST, log->host); /* sanitized at open */
	bad |= audit_rec_text(
	    rc, AF_ACTOR, ev->actor != NULL ? ev->actor : log->component, cap);
	bad |= audit_rec_text(rc, AF_EVENT, ev->event, cap);
	bad |= audit_rec_text(rc, AF_OBJECT, ev->object, cap);
	bad |= audit_rec_text(rc, AF_DECISION, ev->decision, cap);
	bad |= audit_rec_text(rc, AF_RULE, ev->rule, cap);
	bad |= audit_rec_text(rc, AF_REASON, ev->reason, cap);
	return bad ? PG_ERR_NOMEM : PG_OK;
}

/* Starts a record in the handle's own builder with the fields every
 * record has, up to "reason". */
static int
record_head(struct audit_log *log, const struct audit_event *ev,
    const char *time, size_t cap)
{
	struct audit_rec *rc = log->rec;
	int bad;

	audit_rec_clear(rc);
	bad = audit_rec_int(rc, AF_SEQ, log->tail_seq + 1);
	bad |= audit_rec_ascii(rc, AF_TIME, time);
	bad |= event_fields(log, rc, ev, cap);
	return bad ? PG_ERR_NOMEM : PG_OK;
}

static int
add_optional(struct audit_rec *rc, const struct audit_event *ev, size_t cap)
{
	static const enum audit_field fields[] = { AF_PATIENT, AF_PROCESS,
		AF_SERVICE, AF_RHOST, AF_TTY };
	const char *vals[] = { ev->patient, ev->process, ev->service, ev->rhost,
		ev->tty };
	size_t i;
	int bad = 0;

	if (ev->uid >= 0)
		bad |= audit_rec_int(rc, AF_UID, ev->uid);
	if (ev->pid >= 0)
		bad |= audit_rec_int(rc, AF_PID, ev->pid);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (vals[i] != NULL)
			bad |= audit_rec_text(rc, fields[i], vals[i], cap);
	if (ev->bytes >= 0)
		bad |= audit_rec_int(rc, AF_BYTES, ev->bytes);
	return bad ? PG_ERR_NOMEM : PG_OK;
}

struct audit_body *
audit_body_take(struct audit_log *log)
{
	/* The slot this thread had last: its encodings of the values the
	 * thread repeats (its actor, its process) are likely still there. */
	static _Thread_local unsigned last;
	struct audit_body *b = NULL;
	unsigned i;

	for (i = 0; i < AUDIT_SLOTS && b == NULL; i++)
		if (pthread_mutex_trylock(
		        &log->body[(last + i) % AUDIT_SLOTS].mu) == 0)
			b = &log->body[(last + i) % AUDIT_SLOTS];
	if (b == NULL) {
		b = &log->body[last % AUDIT_SLOTS];
		pthread_mutex_lock(&b->mu);
	}
	last = (unsigned)(b - log->body);
	if (b->rec == NULL) {
		b->buf = malloc(AUDIT_BODY_BUF);
		b->rec = b->buf != NULL ? audit_rec_new() : NULL;
		if (b->rec == NULL) {
			free(b->buf);
			b->buf = NULL;
			pthread_mutex_unlock(&b->mu);
			return NULL;
		}
	}
	return b;
}

void
audit_body_give(struct audit_body *b)
{
	pthread_mutex_unlock(&b->mu);
}

int
audit_body_make(const struct audit_log *log, struct audit_body *b,
    const struct audit_event *ev, size_t cap)
{
	audit_rec_clear(b->rec);
	if (event_fields(log, b->rec, ev, cap) != PG_OK ||
	    add_optional(b->rec, ev, cap) != PG_OK)
		return PG_ERR_NOMEM;
	b->cap = cap;
	b->len = audit_rec_dump_body(
	    b->rec, b->buf + AUDIT_PRE_ROOM, AUDIT_MAX_RECORD);
	return b->len == 0 ? PG_ERR_NOMEM : PG_OK;
}

/*
 * Sends a record line or a head off the host, whole (audit_forward.c).
 * The log is the authority and the write already happened: a message the
 * daemon did not take is a gap the collector names, and said here once
 * per outage; until one is taken again, nothing waits for the daemon.
 * Runs under the log's lock (records) or the head lock (heads), so each
 * kind leaves in seq order.
 */
static void
to_syslog(struct audit_log *log, enum audit_fwd_kind kind, long long seq,
    const char *line, size_t n)
{
	int r = audit_forward(log->fwd_path, log->host, kind, seq, line, n,
	    !__atomic_load_n(&log->fwd_down, __ATOMIC_RELAXED));

	if (r == PG_OK) {
		__atomic_store_n(&log->fwd_down, 0, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_exchange_n(&log->fwd_down, 1, __ATOMIC_RELAXED) == 0)
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard audit: could not send seq %lld of %s to %s: "
		    "%s; the collector will miss it",
		    seq, log->base, log->fwd_path,
		    r == PG_ERR_IO ? strerror(errno) : pg_strerror(r));
}

/* Writes LINE/N and a newline (LINE[N] is writable) with one write(),
 * and moves the tail.  A partial write is cut off again so no fragment
 * outlives the lock. */
static int
put_line(struct audit_log *log, char *line, size_t n)
{
	ssize_t w;

	line[n] = '\n';
	do
		w = write(log->fd, line, n + 1);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)n + 1) {
		if (w > 0 && ftruncate(log->fd, log->tail_off) != 0)
			log->cached = 0;
		return PG_ERR_IO;
	}
	audit_hash(line, n, log->tail_hash);
	log->tail_off += (off_t)n + 1;
	log->tail_seq++;
	if (log->opts.syslog)
		to_syslog(log, AUDIT_FWD_RECORD, log->tail_seq, line, n);
	if (log->opts.durability == PG_DURABLE_FSYNC) {
		if (fdatasync(log->fd) != 0)
			return PG_ERR_IO;
	} else if (!log->dirty) {
		log->dirty = 1;
		clock_gettime(CLOCK_MONOTONIC, &log->dirty_since);
		pthread_cond_signal(&log->cv);
	}
	return PG_OK;
}

/* Adds "prev" to the handle's own builder and writes its record. */
static int
emit(struct audit_log *log)
{
	char prev[AUDIT_HEX_BYTES];
	size_t n;

	audit_hex(log->tail_hash, AUDIT_HASH_BYTES, prev);
	if (audit_rec_ascii(log->rec, AF_PREV, prev) != PG_OK)
		return PG_ERR_NOMEM;
	n = audit_rec_dump(log->rec, log->buf, AUDIT_MAX_RECORD - 1);
	if (n == 0)
		return PG_ERR_NOMEM;
	if (n > AUDIT_MAX_RECORD - 1)
		return PG_ERR_TOOBIG;
	return put_line(log, log->buf, n);
}

/* The bookkeeping after an event's record is written. */
static void
event_written(struct audit_log *log)
{
	log->last_seq = log->tail_seq;
	log->tail_is_ckpt = 0;
	/* The time-based checkpoint counts from the first record no
	 * checkpoint covers yet. */
	if (log->since_ckpt++ == 0) {
		clock_gettime(CLOCK_MONOTONIC, &log->ckpt_since);
		if (log->have_thread)
			pthread_cond_signal(&log->cv);
	}
}

int
audit_append_event(struct audit_log *log, const struct audit_event *ev)
{
	char now[AUDIT_TIME_LEN + 8];
	size_t cap = AUDIT_MAX_FIELD;
	int r, tries;

	audit_now(now, sizeof(now));
	for (tries = 0; tries < 2; tries++, cap = FIELD_SHORT) {
		r = record_head(log, ev, now, cap);
		if (r == PG_OK)
			r = add_optional(log->rec, ev, cap);
		if (r == PG_OK)
			r = emit(log);
		if (r != PG_ERR_TOOBIG)
			break;
	}
	if (r == PG_OK)
		event_written(log);
	return r;
}

/*
 * Writes EV from the body B made before the lock: the seq and time go in
 * front of it and the chain after it, in the room B's buffer keeps for
 * them, so the line is written where it was encoded.  The bytes are what
 * audit_rec_dump() writes for the whole record (test audit_bytes).
 */
static int
append_body(
    struct audit_log *log, const struct audit_event *ev, struct audit_body *b)
{
	char now[AUDIT_TIME_LEN + 8], pre[AUDIT_PRE_ROOM], *line;
	size_t n, plen;
	int r;

	audit_now(now, sizeof(now));
	r = snprintf(pre, sizeof(pre), "{\"seq\":%lld,\"time\":\"%s\"",
	    log->tail_seq + 1, now);
	if (r < 0 || (size_t)r >= sizeof(pre))
		return PG_ERR_INTERNAL;
	plen = (size_t)r;
	/* Over the maximum: made again with every field cut short, as
	 * audit_append_event() does. */
	if (b->len + plen + AUDIT_PREV_LEN > AUDIT_MAX_RECORD - 1 &&
	    b->cap != FIELD_SHORT &&
	    (r = audit_body_make(log, b, ev, FIELD_SHORT)) != PG_OK)
		return r;
	n = plen + b->len + AUDIT_PREV_LEN;
	if (n > AUDIT_MAX_RECORD - 1)
		return PG_ERR_TOOBIG;
	line = b->buf + AUDIT_PRE_ROOM - plen;
	memcpy(line, pre, plen);
	memcpy(line + plen + b->len, ",\"prev\":\"", 9);
	audit_hex(log->tail_hash, AUDIT_HASH_BYTES, line + plen + b->len + 9);
	memcpy(line + n - 2, "\"}", 2);
	if ((r = put_line(log, line, n)) == PG_OK)
		event_written(log);
	return r;
}

/* The seq the head file names now, or -1 if there is none. */
static long long
current_head_seq(struct audit_log *log)
{
	struct audit_head h;
	char *buf = NULL;
	size_t len = 0;
	long long seq = -1;

	if (pg_read_file_at(log->dirfd, log->headname, AUDIT_HEAD_MAX, 0, &buf,
	        &len) == PG_OK &&
	    audit_head_parse(buf, len, &h) == PG_OK)
		seq = h.seq;
	free(buf);
	return seq;
}

int
audit_put_head(struct audit_log *log, long long seq, const unsigned char *hash,
    const char *time)
{
	return audit_put_head_or_gone(log, seq, hash, time, NULL);
}

int
audit_put_head_or_gone(struct audit_log *log, long long seq,
    const unsigned char *hash, const char *time, int *gone)
{
	struct audit_head h;
	char *s = NULL;
	long long cur;
	int lk, r = PG_OK;

	/* Writers in other processes replace the head too: under the head
	 * lock, never put back an older one. */
	if ((lk = pg_lock_at(
	         log->dirfd, log->locknm, log->opts.lock_timeout_ms)) < 0)
		return lk;
	cur = current_head_seq(log);
	if (!log->force_head && cur >= seq && seq > 0)
		goto out;
	/* A head that vanished while the log was open: a fresh one would
	 * vouch for whatever the log now holds. */
	if (!log->force_head && cur < 0 && seq > 0) {
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: the head file of %s vanished or no "
		    "longer parses; refusing to write records until "
		    "'photoguard audit repair' records the gap",
		    log->base);
		r = PG_ERR_CORRUPT;
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.seq = seq;
	memcpy(h.hash, hash, AUDIT_HASH_BYTES);
	snprintf(h.time, sizeof(h.time), "%s", time);
	snprintf(h.host, sizeof(h.host), "%s", log->host);
	if ((r = audit_log_sign(log, AUDIT_SG_HEAD, seq, hash, h.time, h.sig,
	         h.key_id)) != PG_OK) {
		if (gone != NULL)
			*gone = r == PG_ERR_CORRUPT && log->signer >= 0;
		goto out;
	}
	r = PG_ERR_NOMEM;
	if ((s = audit_head_encode(&h)) != NULL)
		r = pg_write_file_synced(
		    log->dirfd, log->headname, s, strlen(s), 0640);
	if (r == PG_OK && log->opts.syslog)
		to_syslog(log, AUDIT_FWD_HEAD, seq, s, strlen(s));
out:
	free(s);
	close(lk);
	return r;
}

/* With fsync per record the head is replaced at once (the log is synced
 * first); batched, the flusher does it after its next fdatasync. */
static int
new_head_due(struct audit_log *log, const char *time)
{
	if (log->opts.durability == PG_DURABLE_FSYNC)
		return fdatasync(log->fd) != 0
		    ? PG_ERR_IO
		    : audit_put_head(log, log->tail_seq, log->tail_hash, time);
	log->head_pending = 1;
	log->head_seq = log->tail_seq;
	memcpy(log->head_hash, log->tail_hash, AUDIT_HASH_BYTES);
	snprintf(log->head_time, sizeof(log->head_time), "%s", time);
	return PG_OK;
}

int
audit_append_ckpt(struct audit_log *log)
{
	struct audit_event ev;
	unsigned char sig[AUDIT_SIG_BYTES];
	char now[AUDIT_TIME_LEN + 8], sighex[2 * AUDIT_SIG_BYTES + 1];
	char id[2 * AUDIT_KEY_ID_BYTES + 1];
	int r;

	audit_event_init(&ev);
	ev.event = AUDIT_EV_CHECKPOINT;
	ev.decision = "info";
	ev.reason = "checkpoint";
	audit_now(now, sizeof(now));
	if ((r = audit_log_sign(log, AUDIT_SG_CKPT, log->tail_seq + 1,
	         log->tail_hash, now, sig, id)) != PG_OK)
		return r;
	audit_hex(sig, sizeof(sig), sighex);
	if (record_head(log, &ev, now, AUDIT_MAX_FIELD) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_KEY_ID, id) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_SIG, sighex) != PG_OK)
		return PG_ERR_NOMEM;
	if ((r = emit(log)) != PG_OK)
		return r;
	log->tail_is_ckpt = 1;
	log->since_ckpt = 0;
	return new_head_due(log, now);
}

/* The next key, made and signed by the old one: here, or by the signer. */
static int
next_key(struct audit_log *log, const char *now, unsigned char *pk,
    unsigned char *sig, char *oldid)
{
	if (log->signer >= 0)
		return audit_signer_call(log, AUDIT_SG_KEY, log->tail_seq + 1,
		    log->tail_hash, now, sig, pk, oldid);
	memcpy(oldid, log->key.id, sizeof(log->key.id));
	return audit_key_next(&log->key, log->tail_seq + 1, log->tail_hash, now,
	    log->host, pk, sig);
}

int
audit_append_key(struct audit_log *log, const char *actor, const char *reason)
{
	struct audit_event ev;
	unsigned char pk[AUDIT_PK_BYTES], sig[AUDIT_SIG_BYTES];
	char now[AUDIT_TIME_LEN + 8], sighex[2 * AUDIT_SIG_BYTES + 1];
	char pkhex[2 * AUDIT_PK_BYTES + 1], oldid[2 * AUDIT_KEY_ID_BYTES + 1];
	char newid[2 * AUDIT_KEY_ID_BYTES + 1];
	int r;

	if (!audit_signs(log))
		return PG_ERR_INVAL;
	/* A stash a crash left is settled before a new one replaces it. */
	if (log->signer < 0 && (r = audit_key_mend(log)) < 0)
		return r;
	if (log->key_mended && (r = audit_mend_head(log)) != PG_OK)
		return r;
	audit_now(now, sizeof(now));
	if ((r = next_key(log, now, pk, sig, oldid)) != PG_OK)
		return r;
	audit_key_id(pk, newid);
	audit_event_init(&ev);
	ev.actor = actor;
	ev.event = AUDIT_EV_KEY;
	ev.object = newid;
	ev.decision = "info";
	ev.reason = reason;
	ev.uid = (long long)getuid();
	ev.pid = (long long)getpid();
	audit_hex(sig, sizeof(sig), sighex);
	audit_hex(pk, sizeof(pk), pkhex);
	if (record_head(log, &ev, now, AUDIT_MAX_FIELD) != PG_OK ||
	    add_optional(log->rec, &ev, AUDIT_MAX_FIELD) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_KEY_ID, oldid) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_SIG, sighex) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_PK, pkhex) != PG_OK)
		return PG_ERR_NOMEM;
	/* The record is durable before the old secret is overwritten: a
	 * crash in between leaves the old key, which the log then refuses
	 * to take (the verifier names the checkpoint it signed). */
	if ((r = emit(log)) != PG_OK)
		return r;
	log->last_seq = log->tail_seq;
	log->tail_is_ckpt = 0;
	if (fdatasync(log->fd) != 0)
		return PG_ERR_IO;
	if (log->signer >= 0)
		r = audit_signer_call(log, AUDIT_SG_COMMIT, 0, NULL, NULL, NULL,
		    log->key.pk, log->key.id);
	else
		r = audit_key_commit(&log->key);
	if (r != PG_OK) {
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: %s moved to key %s at seq %lld but the "
		    "key could not be stored: %s",
		    log->base, newid, log->tail_seq, pg_strerror(r));
		return r;
	}
	/* The new key proves itself at once, and the head moves to it
	 * before the lock is let go: no opener sees the old key's head
	 * beside a log that left it. */
	if ((r = audit_append_ckpt(log)) != PG_OK)
		return r;
	if (log->head_pending) {
		log->head_pending = 0;
		if (fdatasync(log->fd) != 0)
			return PG_ERR_IO;
		r = audit_put_head(
		    log, log->head_seq, log->head_hash, log->head_time);
	}
	return r == PG_OK ? audit_key_finish(log) : r;
}

/* Before a checkpoint: follows a key another process moved to, and moves
 * to a new key when the current one's epoch is over. */
static int
turn_key(struct audit_log *log)
{
	int r, due;

	if (log->signer >= 0) {
		if ((due = audit_signer_call(log, AUDIT_SG_DUE, 0, NULL, NULL,
		         NULL, log->key.pk, log->key.id)) < 0)
			return due;
		if (due == 2) { /* it finished a change a crash interrupted */
			log->key_mended = 1;
			return audit_mend_head(log);
		}
	} else {
		if ((r = audit_key_mend(log)) < 0)
			return r;
		if (log->key_mended)
			return audit_mend_head(log);
		if ((r = audit_key_fresh(&log->key)) != PG_OK)
			return r;
		due = audit_key_due(&log->key, log->opts.key_epoch_s);
	}
	if (!due || log->tail_seq == 0)
		return PG_OK;
	return audit_append_key(log, NULL, "the key's epoch ended");
}

int
audit_key_tick(struct audit_log *log)
{
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn = 0;
	int r;

	if (!audit_signs(log) || log->sync_err)
		return PG_OK;
	if ((r = audit_lock(log)) != PG_OK)
		return r;
	r = audit_take_tail(log, &torn, th);
	/* A torn tail is a writer's to repair, with its next record. */
	if (r == PG_OK && torn == 0)
		r = turn_key(log);
	flock(log->fd, LOCK_UN);
	return r;
}

/* Cuts the fragment a crashed writer left and records that it did. */
int
audit_repair_torn(struct audit_log *log, off_t len, const unsigned char *hash)
{
	struct audit_event ev;
	char reason[128], hex[AUDIT_HEX_BYTES], now[AUDIT_TIME_LEN + 8];
	int r;

	if (ftruncate(log->fd, log->tail_off) != 0)
		return PG_ERR_IO;
	snprintf(reason, sizeof(reason),
	    "removed %lld bytes of an unfinished record after seq %lld",
	    (long long)len, log->tail_seq);
	audit_event_init(&ev);
	ev.event = AUDIT_EV_TORN;
	ev.decision = "error";
	ev.reason = reason;
	audit_hex(hash, AUDIT_HASH_BYTES, hex);
	audit_now(now, sizeof(now));
	if (record_head(log, &ev, now, AUDIT_MAX_FIELD) != PG_OK ||
	    audit_rec_int(log->rec, AF_FRAGMENT_BYTES, len) != PG_OK ||
	    audit_rec_ascii(log->rec, AF_FRAGMENT_HASH, hex) != PG_OK)
		return PG_ERR_NOMEM;
	r = emit(log);
	if (r == PG_OK && fdatasync(log->fd) != 0)
		r = PG_ERR_IO;
	if (r == PG_OK) {
		log->torn++;
		log->tail_is_ckpt = 0;
		if (log->opts.syslog)
			syslog(LOG_AUTHPRIV | LOG_WARNING,
			    "photoguard audit: %s", reason);
	}
	return r;
}

int
audit_append(struct audit_log *log, const struct audit_event *ev,
    struct audit_body *body)
{
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn = 0;
	int r;

	if (log->sync_err)
		return PG_ERR_IO;
	if ((r = audit_lock(log)) != PG_OK)
		return r;
	r = audit_take_tail(log, &torn, th);
	if (r == PG_OK && torn > 0)
		r = audit_repair_torn(log, torn, th);
	if (r == PG_OK && ev != NULL)
		r = body != NULL ? append_body(log, ev, body)
		                 : audit_append_event(log, ev);
	if (r == PG_OK && audit_signs(log) &&
	    (ev == NULL ? !log->tail_is_ckpt && log->tail_seq > 0
	                : log->opts.checkpoint_every > 0 &&
	                (log->tail_seq + 1) % log->opts.checkpoint_every ==
	                    0)) {
		if ((r = turn_key(log)) == PG_OK && !log->tail_is_ckpt)
			r = audit_append_ckpt(log);
	} else if (r == PG_OK && ev == NULL)
		log->since_ckpt = 0; /* the tail is a checkpoint already */
	flock(log->fd, LOCK_UN);
	return r;
}
