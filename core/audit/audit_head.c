/*
 * audit_head.c - the head file against the log.  A writer opens a signed
 * log only if its head verifies and names a record the log holds with that
 * hash: a missing head, or one the log does not match (a cut, a head from
 * another log), would otherwise be covered by the next fresh head.  Such
 * a log stays refused until audit_repair() records the gap in a signed
 * record and writes a new head.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <syslog.h>
#include <unistd.h>

#include "core/audit/audit_log.h"
#include "base/base.h"
#include "core/state/state.h"

#define SCAN_FIRST (64 * 1024)        /* bytes read back for the head's seq */
#define SCAN_MAX   (16 * 1024 * 1024) /* ...at most */

enum head_state { HEAD_OK, HEAD_NONE, HEAD_BAD };

/* Looks for record SEQ in the last WIN bytes before the tail: 1 found
 * (its hash in OUT), 0 absent, 2 not within WIN. */
static int
scan_window(struct audit_log *log, long long seq, off_t win, char *b,
    unsigned char *out)
{
	off_t start = log->tail_off > win ? log->tail_off - win : 0;
	size_t n = (size_t)(log->tail_off - start), end = n, ls;
	const char *nl;
	long long s;

	if (pg_pread_all(log->fd, b, n, start) != PG_OK)
		return -1;
	while (end > 0) {
		nl = end > 1 ? memrchr(b, '\n', end - 1) : NULL;
		if (nl == NULL && start > 0)
			return 2; /* the line starts before the window */
		ls = nl != NULL ? (size_t)(nl - b) + 1 : 0;
		if (audit_line_seq(b + ls, end - 1 - ls, &s) != PG_OK)
			return 0;
		if (s == seq) {
			audit_hash(b + ls, end - 1 - ls, out);
			return 1;
		}
		if (s < seq)
			return 0;
		end = ls;
	}
	return 0;
}

/* The hash of record SEQ (< the tail's): 1 found, 0 not in the log, 2
 * further back than SCAN_MAX (not checked: the verifier does that). */
static int
hash_of_seq(struct audit_log *log, long long seq, unsigned char *out)
{
	off_t win;
	char *b;
	int r = 2;

	for (win = SCAN_FIRST; r == 2 && win <= SCAN_MAX; win *= 2) {
		if ((b = malloc((size_t)win)) == NULL)
			return -1;
		r = scan_window(log, seq, win, b, out);
		free(b);
		if (r == 2 && win >= log->tail_off)
			r = 0;
	}
	return r;
}

static int
head_sig_ok(const struct audit_log *log, const struct audit_head *h)
{
	unsigned char d[AUDIT_HASH_BYTES];

	audit_sig_digest("head", h->seq, h->hash, h->time, h->host, d);
	return crypto_sign_verify_detached(h->sig, d, sizeof(d), log->key.pk) ==
	    0;
}

/* Whether head H matches the tail read under the lock; the gap in WHY. */
static enum head_state
match_head(
    struct audit_log *log, const struct audit_head *h, char *why, size_t len)
{
	unsigned char at[AUDIT_HASH_BYTES];
	long long t = log->tail_seq;
	int found = 1;

	/* A key change a crash interrupted, finished just now: the head may
	 * be the old key's, checked with its public half from the stash; a
	 * checkpoint and head by the new key follow at once. */
	if (log->key_mended && strcmp(h->key_id, log->key.id) != 0) {
		char oldid[2 * AUDIT_KEY_ID_BYTES + 1];
		unsigned char d[AUDIT_HASH_BYTES];

		audit_key_id(log->mended_pk, oldid);
		audit_sig_digest("head", h->seq, h->hash, h->time, h->host, d);
		if (strcmp(h->key_id, oldid) == 0 &&
		    crypto_sign_verify_detached(
		        h->sig, d, sizeof(d), log->mended_pk) == 0)
			goto place;
		snprintf(why, len, "head signature does not verify");
		return HEAD_BAD;
	}
	/* A key another process moved to since this one read its own. */
	if (audit_signs(log) && strcmp(h->key_id, log->key.id) != 0 &&
	    log->signer < 0)
		(void)audit_key_fresh(&log->key);
	else if (audit_signs(log) && strcmp(h->key_id, log->key.id) != 0)
		(void)audit_signer_call(log, AUDIT_SG_HELLO, 0, NULL, NULL,
		    NULL, log->key.pk, log->key.id);
	if (audit_signs(log) && strcmp(h->key_id, log->key.id) != 0) {
		snprintf(why, len, "head signed by key %s, not by key %s",
		    h->key_id, log->key.id);
		return HEAD_BAD;
	}
	if (audit_signs(log) && !head_sig_ok(log, h)) {
		snprintf(why, len, "head signature does not verify");
		return HEAD_BAD;
	}
place:
	if (h->seq > t) {
		snprintf(why, len,
		    "head names seq %lld; log ends at seq %lld: seq %lld to "
		    "%lld lost",
		    h->seq, t, t + 1, h->seq);
		return HEAD_BAD;
	}
	if (h->seq == t)
		memcpy(at, log->tail_hash, sizeof(at));
	else if (h->seq == 0)
		audit_genesis(at);
	else if ((found = hash_of_seq(log, h->seq, at)) < 0)
		found = 2; /* out of memory: leave it to the verifier */
	if (found == 2)
		return HEAD_OK;
	if (found == 0 || sodium_memcmp(at, h->hash, sizeof(at)) != 0) {
		snprintf(why, len,
		    "head names seq %lld with a hash the log's seq %lld does "
		    "not have; log ends at seq %lld",
		    h->seq, h->seq, t);
		return HEAD_BAD;
	}
	return HEAD_OK;
}

/* The head file against the log, under the log's lock: HEAD_OK, HEAD_NONE
 * (no head, and none needed yet), HEAD_BAD with the gap in WHY, or a
 * negative PG_ERR_*. */
static int
head_state(struct audit_log *log, char *why, size_t len)
{
	struct audit_head h;
	char hex[AUDIT_HEX_BYTES];
	char *buf = NULL;
	size_t n = 0;
	int r;

	r = pg_read_file_at(
	    log->dirfd, log->headname, AUDIT_HEAD_MAX, 0, &buf, &n);
	if (r == PG_ERR_NOTFOUND) {
		if (!audit_signs(log) || log->tail_seq == 0)
			return HEAD_NONE;
		audit_hex(log->tail_hash, AUDIT_HASH_BYTES, hex);
		snprintf(why, len,
		    "head file missing; log ends at seq %lld (hash %.16s); "
		    "records after it unknown",
		    log->tail_seq, hex);
		return HEAD_BAD;
	}
	if (r != PG_OK)
		return r;
	if (audit_head_parse(buf, n, &h) != PG_OK) {
		snprintf(why, len,
		    "head file does not parse; log ends at seq %lld",
		    log->tail_seq);
		r = HEAD_BAD;
	} else
		r = match_head(log, &h, why, len);
	free(buf);
	return r;
}

void
audit_admin_event(struct audit_event *ev, const char *actor, const char *event,
    const char *object, const char *decision, const char *reason)
{
	audit_event_init(ev);
	ev->actor = actor;
	ev->event = event;
	ev->object = object;
	ev->decision = decision;
	ev->reason = reason;
	ev->uid = (long)getuid();
	ev->pid = (long)getpid();
}

int
audit_head_matches(struct audit_log *log)
{
	char why[AUDIT_MSG_MAX];
	int r = head_state(log, why, sizeof(why));

	if (r == HEAD_BAD) {
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: refusing to rotate or rekey %s: %s; "
		    "find out why, then run 'photoguard audit repair'",
		    log->base, why);
		return PG_ERR_CORRUPT;
	}
	return r < 0 ? r : PG_OK;
}

static int
new_head(struct audit_log *log)
{
	char now[AUDIT_TIME_LEN + 8];

	audit_now(now, sizeof(now));
	return audit_put_head(log, 0, log->tail_hash, now);
}

int
audit_key_mend(struct audit_log *log)
{
	int r;

	log->key_mended = 0;
	if (!audit_signs(log) || log->key.path[0] == '\0')
		return PG_OK;
	if ((r = audit_key_recover(log->key.path, log->path, log->mended_pk)) !=
	    1)
		return r < 0 ? r : PG_OK;
	log->key_mended = 1;
	if (log->signer < 0)
		return audit_key_fresh(&log->key);
	return audit_signer_call(
	    log, AUDIT_SG_HELLO, 0, NULL, NULL, NULL, log->key.pk, log->key.id);
}

int
audit_mend_head(struct audit_log *log)
{
	int r;

	/* The new key signs the chain at once; the head follows, and only
	 * then is the stash gone. */
	if ((r = audit_append_ckpt(log)) == PG_OK && log->head_pending) {
		log->head_pending = 0;
		r = fdatasync(log->fd) != 0
		    ? PG_ERR_IO
		    : audit_put_head(
		          log, log->head_seq, log->head_hash, log->head_time);
	}
	if (r == PG_OK)
		r = audit_key_finish(log);
	log->key_mended = 0;
	return r;
}

int
audit_key_finish(struct audit_log *log)
{
	if (log->signer >= 0)
		return audit_signer_call(
		    log, AUDIT_SG_DONE, 0, NULL, NULL, NULL, NULL, NULL);
	audit_key_done(log->key.path);
	return PG_OK;
}

int
audit_check_head(struct audit_log *log)
{
	char why[AUDIT_MSG_MAX];
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn;
	int r;

	if ((r = audit_lock(log)) != PG_OK)
		return r;
	/* Opened just before a rotation renamed the log away, and locked
	 * after it: the head names the new file, so take that one. */
	if ((r = audit_take_tail(log, &torn, th)) != PG_OK)
		goto out;
	if ((r = audit_key_mend(log)) < 0)
		goto out;
	r = head_state(log, why, sizeof(why));
	if (r == HEAD_OK && log->key_mended)
		r = audit_mend_head(log);
	if (r == HEAD_NONE)
		r = audit_signs(log) ? new_head(log) : PG_OK;
	else if (r == HEAD_BAD) {
		syslog(LOG_AUTHPRIV | LOG_ALERT,
		    "photoguard audit: refusing to write to %s: %s; find out "
		    "why, then run 'photoguard audit repair'",
		    log->base, why);
		r = PG_ERR_CORRUPT;
	}
out:
	flock(log->fd, LOCK_UN);
	return r;
}

/* Appends the audit.repair record and its checkpoint, and replaces the
 * head with the checkpoint's, whatever the old head said. */
static int
record_gap(struct audit_log *log, const char *actor, const char *reason,
    const char *why, off_t torn, const unsigned char *th)
{
	struct audit_event ev;
	int r = PG_OK;

	if (torn > 0)
		r = audit_repair_torn(log, torn, th);
	audit_admin_event(&ev, actor, AUDIT_EV_REPAIR, why, "error", reason);
	if (r == PG_OK)
		r = audit_append_event(log, &ev);
	log->force_head = 1;
	if (r == PG_OK)
		r = audit_append_ckpt(log);
	log->force_head = 0;
	return r;
}

int
audit_repair(const char *path, const char *keyfile, const char *actor,
    const char *reason, char *what, size_t whatlen)
{
	struct audit_opts o;
	struct audit_log *log = NULL;
	unsigned char th[AUDIT_HASH_BYTES];
	off_t torn = 0;
	int r, locked = 0;

	what[0] = '\0';
	if (keyfile == NULL || reason == NULL || reason[0] == '\0')
		return PG_ERR_INVAL;
	memset(&o, 0, sizeof(o));
	o.component = "cli";
	o.durability = PG_DURABLE_FSYNC;
	if ((r = audit_open_raw(path, keyfile, &o, &log)) != PG_OK)
		return r;
	if ((r = audit_lock(log)) != PG_OK)
		goto out;
	locked = 1;
	if ((r = audit_read_tail(log, &torn, th)) != PG_OK ||
	    (r = audit_key_mend(log)) < 0)
		goto out;
	/* An empty log is repaired only when its head says records were
	 * there (all of them cut). */
	r = head_state(log, what, whatlen);
	if ((r == HEAD_OK || r == HEAD_NONE) && log->tail_seq == 0) {
		r = PG_ERR_NOTFOUND; /* no records: nothing was lost */
		goto out;
	}
	if (r == HEAD_OK || r == HEAD_NONE) {
		r = PG_ERR_EXISTS; /* the head matches: nothing to repair */
		goto out;
	}
	if (r != HEAD_BAD)
		goto out;
	r = record_gap(log, actor, reason, what, torn, th);
	if (r == PG_OK && log->key_mended)
		r = audit_key_finish(log);
	if (r == PG_OK)
		syslog(LOG_AUTHPRIV | LOG_WARNING,
		    "photoguard audit: %s repaired by %s: %s (%s)", log->base,
		    actor, what, reason);
out:
	if (locked)
		flock(log->fd, LOCK_UN);
	audit_free(log);
	return r;
}
