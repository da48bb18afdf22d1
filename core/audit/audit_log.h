/*
 * audit_log.h - the writer's handle, shared by audit.c (open, close,
 * flusher) and audit_append.c (lock, tail, record, checkpoint).  Not a
 * public interface.
 */
#ifndef PG_AUDIT_LOG_H
#define PG_AUDIT_LOG_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "core/audit/audit_int.h"
#include "core/audit/audit_record.h"

/* Room to find the last line from anywhere: two maximal records. */
#define AUDIT_TAIL_BUF (2 * AUDIT_MAX_RECORD + 1)

/*
 * An event's fields from "host" to "bytes", encoded before the log's lock
 * is taken (audit_body_make()): threads writing to one log build their
 * records side by side, and only the seq, time, chain and write() are
 * serialised.  A slot's mutex is always taken before the log's.  The
 * body reads the handle's host and component, which do not change once
 * it is open (take_host() sets the host of an admin verb's raw handle,
 * which writes no events through audit_write()).  A slot's builder keeps
 * its encodings, so a handle holds up to AUDIT_SLOTS of them.
 */
#define AUDIT_SLOTS    8
#define AUDIT_PRE_ROOM 96 /* {"seq":N,"time":"T" ends at the body */
#define AUDIT_PREV_LEN 75 /* ,"prev":"<64 hex>"} */
#define AUDIT_BODY_BUF (AUDIT_PRE_ROOM + AUDIT_MAX_RECORD + AUDIT_PREV_LEN + 2)

struct audit_body {
	pthread_mutex_t mu;
	struct audit_rec *rec; /* NULL until the slot is first used */
	char *buf;             /* AUDIT_BODY_BUF */
	size_t len;            /* of the body at buf + AUDIT_PRE_ROOM; more than
	                        * AUDIT_MAX_RECORD: it did not fit */
	size_t cap;            /* the field cap it was made with */
};

struct audit_log {
	struct audit_body body[AUDIT_SLOTS];

	pthread_mutex_t mu; /* guards everything below (host and component
	                     * do not change once open) */
	pthread_cond_t cv;
	pthread_t flusher;
	int have_cv, have_thread, stop, dirty, sync_err;
	struct timespec dirty_since; /* CLOCK_MONOTONIC; short_lived only */

	pid_t owner; /* the process that opened it */
	int fd;      /* O_RDWR|O_APPEND */
	int dirfd;   /* the log's directory, for the head */
	char base[NAME_MAX + 1];
	char headname[NAME_MAX + 1];
	char locknm[NAME_MAX + 1]; /* LOG.head.lock: serialises heads */
	struct audit_opts opts;    /* strings NULLed; copies below */
	char component[128];
	char host[AUDIT_HOST_MAX];
	char fwd_path[108];       /* opts.syslog: the daemon's socket */
	int fwd_down;             /* the last message was not taken (atomic) */
	struct timespec hb_last;  /* CLOCK_MONOTONIC: the last heartbeat */
	struct timespec key_last; /* ...the last audit_key_tick() */

	struct audit_key key; /* key.sk NULL: signed by the signer, or not */
	int signer;           /* socket to the signer process; -1: none */
	pid_t signer_pid;
	pthread_mutex_t sgmu; /* one request to the signer at a time */
	char path[4096];      /* the log as opened */
	int key_mended;       /* a crashed key change was finished here */
	unsigned char mended_pk[AUDIT_PK_BYTES]; /* ...the key it retired */

	/* The tail as last seen under the lock. */
	int cached;
	off_t tail_off; /* file size after the last whole line */
	long long tail_seq;
	unsigned char tail_hash[AUDIT_HASH_BYTES];
	int tail_is_ckpt;
	int tail_closed; /* the tail is audit.close: the chain moved on */

	/* A checkpoint whose head the flusher writes after its next sync
	 * (PG_DURABLE_BATCH). */
	int head_pending;
	long long head_seq;
	unsigned char head_hash[AUDIT_HASH_BYTES];
	char head_time[AUDIT_TIME_LEN + 8];

	long long last_seq;         /* last record this handle wrote */
	long long since_ckpt;       /* records written since a checkpoint */
	struct timespec ckpt_since; /* CLOCK_MONOTONIC: the first of them */
	int force_head;             /* audit repair: replace any head */
	int torn;                   /* torn tails repaired */
	char *buf;             /* AUDIT_TAIL_BUF: tail reads, record text */
	struct audit_rec *rec; /* builds what is not an event from
	                        * audit_write(): checkpoints, key changes,
	                        * torn tails, admin records */
};

/* Appends EV (NULL: a closing checkpoint, unless the tail is one) under
 * the file lock; called with mu held.  BODY: EV made by audit_body_make()
 * (NULL: made here). */
int audit_append(struct audit_log *log, const struct audit_event *ev,
    struct audit_body *body);

/* A body slot of LOG, locked, for this thread; NULL when out of memory.
 * Give it back with audit_body_give() after the record is written. */
struct audit_body *audit_body_take(struct audit_log *log);
void audit_body_give(struct audit_body *body);

/* Encodes EV's fields from "host" to "bytes", strings cut to CAP bytes,
 * into BODY; no lock of the log is needed. */
int audit_body_make(const struct audit_log *log, struct audit_body *body,
    const struct audit_event *ev, size_t cap);

/* Replaces the head file with SEQ/HASH/TIME, signed, unless it already
 * names a later seq; the log must be synced up to SEQ first. */
int audit_put_head(struct audit_log *log, long long seq,
    const unsigned char *hash, const char *time);
/* The same; *GONE set when the signer refused to sign because the
 * checkpoint is not one it knows (it keeps the last 64 it read), or its
 * witness is broken. */
int audit_put_head_or_gone(struct audit_log *log, long long seq,
    const unsigned char *hash, const char *time, int *gone);

/* At open: refuses a log its head file does not match (see audit_head.c);
 * starts the head of a new signed log. */
int audit_check_head(struct audit_log *log);

/* A time-based checkpoint is due this long after the first record no
 * checkpoint covers. */
#define AUDIT_CKPT_MS 1000

/* The steps of audit_append(), for audit_head.c.  All but audit_lock()
 * run with the log's flock held. */
int audit_lock(struct audit_log *log);
int audit_read_tail(
    struct audit_log *log, off_t *torn, unsigned char *torn_hash);
int audit_append_event(struct audit_log *log, const struct audit_event *ev);
int audit_append_ckpt(struct audit_log *log);
int audit_repair_torn(
    struct audit_log *log, off_t len, const unsigned char *hash);

/* Fills EV with a record an admin's verb writes (audit repair, audit
 * rotate): ACTOR, the reserved EVENT, OBJECT, DECISION, REASON, and this
 * process's uid and pid. */
void audit_admin_event(struct audit_event *ev, const char *actor,
    const char *event, const char *object, const char *decision,
    const char *reason);

/* Under the file lock: PG_OK when the head matches the log (or none is
 * needed yet), PG_ERR_CORRUPT (with a LOG_ALERT) when it does not. */
int audit_head_matches(struct audit_log *log);

/* Under the file lock: audit_read_tail(), and when the tail is an
 * audit.close, audit_follow() and the new file's tail. */
int audit_take_tail(
    struct audit_log *log, off_t *torn, unsigned char *torn_hash);

/* Under the file lock, when the tail is an audit.close: moves the handle
 * to the file under the log's name, which continues the chain (see
 * audit_rotate.c). */
int audit_follow(struct audit_log *log);

/* Whether the handle signs: with its own key or through a signer. */
static inline int
audit_signs(const struct audit_log *log)
{
	return log->key.sk != NULL || log->signer >= 0;
}

/* What a signer is asked (audit_signer.c). */
enum audit_sg_op {
	AUDIT_SG_HELLO,  /* the key it signs with */
	AUDIT_SG_CKPT,   /* a checkpoint at SEQ after the record HASH */
	AUDIT_SG_HEAD,   /* a head naming record SEQ with hash HASH */
	AUDIT_SG_BEAT,   /* a heartbeat naming record SEQ */
	AUDIT_SG_DUE,    /* whether the key's epoch is over (1 or 0) */
	AUDIT_SG_KEY,    /* an audit.key record at SEQ: a next key, signed */
	AUDIT_SG_COMMIT, /* the log holds that record: switch to the key */
	AUDIT_SG_DONE    /* the new key's head is written: drop the stash */
};

/* Forks a signer holding the key in KEYFILE for the log LOG, signing for
 * HOST; *FD is the writer's end. */
int audit_signer_spawn(const char *log, const char *keyfile, const char *host,
    int epoch_s, int *fd, pid_t *pid);

/* One request to the handle's signer; the key id that signed in ID, the
 * key in PK (either may be NULL).  PG_OK (or 1/0 for AUDIT_SG_DUE), or
 * PG_ERR_* when it refused or is gone. */
int audit_signer_call(struct audit_log *log, unsigned op, long long seq,
    const unsigned char *hash, const char *time, unsigned char *sig,
    unsigned char *pk, char *id);

/* Signs a checkpoint, head or heartbeat (AUDIT_SG_CKPT, _HEAD, _BEAT) for
 * SEQ/HASH/TIME with the handle's key or through its signer; the key id
 * in ID. */
int audit_log_sign(struct audit_log *log, unsigned op, long long seq,
    const unsigned char *hash, const char *time, unsigned char *sig, char *id);

/* For an idle long-lived handle (its flusher): takes the lock, follows a
 * key another process moved to (wiping the old one here too) and changes
 * keys when the epoch is over, records or not. */
int audit_key_tick(struct audit_log *log);

/* Under the file lock, tail read: writes an audit.key record that moves
 * the log to a new key, then a checkpoint signed by it and its head.
 * ACTOR/REASON say who and why (NULL actor: the component). */
int audit_append_key(
    struct audit_log *log, const char *actor, const char *reason);

/* Under the file lock, tail read: finishes a key change a crash
 * interrupted (audit_key_recover()).  Sets key_mended (1 returned: the
 * head may be the retired key's) or returns PG_OK, or PG_ERR_* when it
 * cannot tell: then nothing may be signed. */
int audit_key_mend(struct audit_log *log);
/* After audit_key_mend(): a checkpoint and head by the new key, then the
 * stash removed (audit_key_finish()). */
int audit_mend_head(struct audit_log *log);
/* The new key's head is written: removes the stash (here or by the
 * signer). */
int audit_key_finish(struct audit_log *log);

/* Opens PATH without creating it, checking its head or starting a
 * flusher: the handle audit_repair() works with. */
int audit_open_raw(const char *path, const char *keyfile,
    const struct audit_opts *opts, struct audit_log **out);

#endif /* PG_AUDIT_LOG_H */
