/*
 * audit.h - the tamper-evident audit log: append-only JSON Lines, each
 * record chained to the one before it by a BLAKE2b hash, with Ed25519
 * signed checkpoints and a signed head file that makes a cut tail
 * visible.  Writers in many processes share one chain; the format and
 * what a crash can lose are specified in docs/audit-format.md.
 */
#ifndef PG_AUDIT_H
#define PG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/config/config.h"

#define AUDIT_HASH_BYTES 32    /* BLAKE2b-256 */
#define AUDIT_MAX_RECORD 65536 /* one line, newline included */
#define AUDIT_MAX_FIELD  4096  /* a string field after escaping */
#define AUDIT_MSG_MAX    256

/* Unset fields are omitted from the record: NULL strings, and -1 for
 * uid/pid/bytes. */
struct audit_event {
	const char *actor;    /* user name, "root" or component; NULL:
	                         the component given at open */
	const char *event;    /* "gateway.open", "pam.auth", ... */
	const char *object;   /* path, patient, service... (may be NULL) */
	const char *decision; /* "allow", "deny", "error" or "info" */
	const char *rule;     /* file:line or limit name; NULL: null */
	const char *reason;
	const char *patient;
	const char *process;
	const char *service;
	const char *rhost;
	const char *tty;
	long uid;
	long pid;
	long long bytes;
};

/* Initialises EV with every optional field unset. */
void audit_event_init(struct audit_event *ev);

struct audit_opts {
	const char *component; /* default actor, checkpoint actor */
	const char *host;      /* NULL: gethostname() */
	int checkpoint_every;  /* checkpoint when seq % N == 0; 0: only
	                          on close */
	enum pg_durability durability;
	int batch_ms;        /* group commit delay, 1..100 */
	bool syslog;         /* send each record and head off the host */
	int lock_timeout_ms; /* 0: 5000 */
	bool short_lived;    /* closed right after its records (a PAM
	                        phase): PG_DURABLE_BATCH runs no flusher
	                        thread, see audit_open_short() */
	/* With syslog: the daemon's datagram socket; NULL: /dev/log. */
	const char *syslog_socket;
	/* With syslog and a key, a long-lived handle (one with a flusher)
	 * sends a signed heartbeat this often; 0: never. */
	int heartbeat_s;
	/* With a key: a new key this often (an audit.key record, the old
	 * key overwritten and wiped); 0: only on audit_rekey(). */
	int key_epoch_s;
	/* With a key: held by a separate signer process, never by this one
	 * (audit_signer.c); for a process that serves untrusted requests. */
	bool signer;
};

struct audit_log;

/*
 * Opens LOG for appending (created 0640 if absent).  KEYFILE is the
 * Ed25519 secret key from audit_keygen(), read as a private file; NULL
 * writes no checkpoints and no head.  With a key, refuses (PG_ERR_CORRUPT,
 * with a LOG_ALERT) a non-empty log whose head file is missing, does not
 * verify, or names a record the log does not hold with that hash, until
 * audit_repair().  On success *OUT is a handle for
 * audit_close()/audit_free().
 */
int audit_open_path(const char *log, const char *keyfile,
    const struct audit_opts *opts, struct audit_log **out);

/* As audit_open_path() with the [audit] settings of CFG. */
int audit_open(
    const struct pg_config *cfg, const char *component, struct audit_log **out);

/*
 * As audit_open(), with the key held by a signer process forked now
 * (audit_opts.signer): for the gateway's worker, which serves every user's
 * requests and must never hold the key itself.
 */
int audit_open_signer(
    const struct pg_config *cfg, const char *component, struct audit_log **out);

/*
 * As audit_open(), for a handle that is closed right after its few
 * records, as a PAM phase's is: with batch durability no flusher thread
 * is started; what is not synced yet is synced by audit_close(), or by
 * the next audit_write() once batch_ms have passed.
 */
int audit_open_short(
    const struct pg_config *cfg, const char *component, struct audit_log **out);

/*
 * Appends one record (and a checkpoint when one is due) under the log's
 * lock, with one write().  Returns 0 only when the record is in the file
 * (and, with PG_DURABLE_FSYNC, on disk); any error means the caller must
 * refuse what it was about to allow.  Event names starting "audit." are
 * reserved.  Thread-safe.
 */
int audit_write(struct audit_log *log, const struct audit_event *ev);

/* Number of torn tails this handle found and repaired (see
 * docs/audit-format.md, "Reserved events"). */
int audit_torn_repaired(struct audit_log *log);

/* Sequence number of the last record this handle wrote (0: none). */
long long audit_last_seq(struct audit_log *log);

/*
 * Writes the closing checkpoint (if this handle wrote anything since the
 * last one), flushes, and frees LOG.  Returns the first error met; LOG is
 * freed in every case.  NULL is a no-op.
 */
int audit_close(struct audit_log *log);

/* Frees LOG without a closing checkpoint (error paths); pending batched
 * records are still flushed.  In a child forked after audit_open() the
 * parent's handle cannot be written to (PG_ERR_INVAL: open a new one) and
 * this only releases its memory.  NULL is a no-op. */
void audit_free(struct audit_log *log);

/*
 * Records the gap in a signed log whose head is missing or does not match
 * it (a writer refuses such a log): appends an "audit.repair" record by
 * ACTOR with REASON (not empty) and the gap in words (also copied to
 * WHAT), signs it with a checkpoint and replaces the head.  KEYFILE is the
 * secret key.  Returns PG_ERR_EXISTS when the head matches (nothing to
 * repair), PG_ERR_NOTFOUND for a missing log, or one with no records
 * and no head that says it had some.
 */
int audit_repair(const char *log, const char *keyfile, const char *actor,
    const char *reason, char *what, size_t whatlen);

/*
 * Rotates the log LOG so that its chain continues in a new file: the old
 * file gets a closing checkpoint and is renamed LOG-<UTC time> (RENAMED
 * NULL), or was renamed to RENAMED already, in LOG's directory (logrotate,
 * whose postrotate script calls this); a new LOG starts with an
 * "audit.rotate" record by ACTOR that carries the old file's last hash,
 * signed by a checkpoint, and the head moves to it.  Writers follow on
 * their next record.  KEYFILE: the secret key (NULL for an unsigned log).
 * The old file's new name goes to OLDNAME.  PG_ERR_EXISTS: LOG was
 * continued already; PG_ERR_NOTFOUND: no records to rotate;
 * PG_ERR_CORRUPT: its head does not match (repair first).  CFG (may be
 * NULL) gives the [audit] syslog settings, so that the records and the
 * head of the rotation leave the host like every other's.
 */
int audit_rotate(const char *log, const char *renamed, const char *keyfile,
    const struct pg_config *cfg, const char *actor, char *oldname,
    size_t oldlen);

/*
 * Moves LOG to a new signing key, under its lock: an audit.key record by
 * ACTOR signed by the current key over the chain and the new public key,
 * the key file KEYFILE overwritten in place with the new secret (the old
 * one wiped), then a checkpoint and head signed by the new key.  Writers
 * with the log open take the new key at their next checkpoint.  The key
 * id of the new key in NEWID.
 */
int audit_rekey(const char *log, const char *keyfile,
    const struct pg_config *cfg, const char *actor, char *newid, size_t idlen);

/*
 * Creates a new signing key: the secret key in PATH (mode 0600) and the
 * public key in PATH.pub (mode 0644), both hex text.  Refuses to replace an
 * existing key (PG_ERR_EXISTS).
 */
int audit_keygen(const char *path);

enum audit_fail {
	AUDIT_OK = 0,
	AUDIT_EDITED,        /* a record's bytes changed */
	AUDIT_MISSING,       /* records removed from the middle */
	AUDIT_REORDERED,     /* records out of order */
	AUDIT_INSERTED,      /* a record that does not belong */
	AUDIT_TRUNCATED,     /* log ends before its signed head */
	AUDIT_BAD_SIGNATURE, /* checkpoint or head signature wrong */
	AUDIT_TORN,          /* last line incomplete (crash mid-write) */
	AUDIT_UNPARSABLE,    /* not a well-formed record */
	AUDIT_NO_HEAD,       /* signed log without its head file */
};

struct audit_verify_result {
	bool ok;
	enum audit_fail kind;
	long long records;       /* whole records verified */
	long long checkpoints;   /* checkpoints verified */
	long long last_seq;      /* last good seq */
	long long bad_seq;       /* first bad seq (0 when ok) */
	long long unsigned_tail; /* records after the last checkpoint */
	long long torn_repairs;  /* audit.torn_tail records: crashes */
	long long first_torn_seq;
	long long repairs; /* audit.repair records: recorded gaps */
	long long first_repair_seq;
	char first_repair[AUDIT_MSG_MAX]; /* its object: the gap */
	bool signatures_checked;          /* false: no public key given */
	long long first_seq;   /* 1, or where a set whose older files were
	                          rotated away starts */
	char first_time[32];   /* the first verified record's time */
	long long key_changes; /* audit.key records verified */
	char key_id[17];       /* the key that signs now (with a key given) */
	unsigned char key[32]; /* ...and the key itself */
	int files;             /* files read */
	char file[512];        /* the file the verdict concerns (the last) */
	char message[AUDIT_MSG_MAX];
};

/* Short lower-case name of KIND ("edited", "truncated"...). */
const char *audit_fail_name(enum audit_fail kind);

/*
 * Verifies LOG (and LOG.head) with the public key in PUBKEY_PATH (NULL:
 * chain only, signatures unchecked).  Returns 0 when verification ran,
 * with the verdict in *RES, or PG_ERR_* when the files cannot be read.
 */
int audit_verify(
    const char *log, const char *pubkey_path, struct audit_verify_result *res);

/*
 * Verifies one chain kept in several files: the live log LOG (may be
 * NULL), read up to its size at the start under its shared lock, with
 * SIBLINGS its rotated files beside it (LOG.N, LOG.N.gz as logrotate
 * names them, LOG-SUFFIX), and the files FILES[0..NFILES) as they are.
 * They are read as one stream in the order of their records, in bounded
 * memory whatever their size; a file missing from the middle, files
 * renamed out of their order, and a set whose oldest file continues one
 * not given (res->first_seq > 1) are named.  The head is LOG's, or the
 * newest file's.
 */
int audit_verify_set(const char *log, bool siblings, const char *const *files,
    size_t nfiles, const char *pubkey_path, struct audit_verify_result *res);

/*
 * The first record's seq (0: an empty file) and host (as the log stores
 * it) of the log file PATH, compressed or not: which chain it belongs to.
 * PG_ERR_PARSE when its first line is not a record.
 */
int audit_first_record(
    const char *path, long long *seq, char *host, size_t hostlen);

/*
 * As audit_verify() on memory: BUF/LEN the log, HEAD/HEADLEN the head file
 * (NULL: none), PK a 32-byte public key (NULL: unchecked).
 */
int audit_verify_buf(const char *buf, size_t len, const char *head,
    size_t headlen, const unsigned char *pk, struct audit_verify_result *res);

/* A record as seen by audit_query(); the pointers live until the callback
 * returns.  Absent fields are NULL (uid/pid/bytes: -1). */
struct audit_record {
	long long seq;
	const char *time, *host, *actor, *event, *object, *decision, *rule;
	const char *reason, *patient, *process, *service, *rhost;
	long uid, pid;
	long long bytes;
	const char *line; /* the raw JSON line, without newline */
	size_t len;
};

/* Filters for audit_query(); NULL fields match everything.  SINCE and
 * UNTIL are UTC "YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z]", both inclusive. */
struct audit_filter {
	const char *actor;
	const char *patient;
	const char *event; /* exact, or a prefix ending in '.' */
	const char *since;
	const char *until;
};

typedef int (*audit_record_fn)(const struct audit_record *rec, void *arg);

/*
 * Calls FN for each record of LOG that matches F, in file order; stops
 * early if FN returns non-zero and returns that value.  Does not verify
 * the chain (use audit_verify() for that); lines that do not parse are
 * skipped and counted in *SKIPPED (may be NULL).  Returns PG_ERR_INVAL for
 * a malformed time in F.
 */
int audit_query(const char *log, const struct audit_filter *f,
    audit_record_fn fn, void *arg, long long *skipped);

/* As audit_query() over a set, as audit_verify_set() reads it. */
int audit_query_set(const char *log, bool siblings, const char *const *files,
    size_t nfiles, const struct audit_filter *f, audit_record_fn fn, void *arg,
    long long *skipped);
/*
 * The collector's side of the syslog copy (docs/audit-format.md,
 * "Syslog"): reads IN, a collector's file of RFC 5424 messages (other
 * messages are passed over), as a stream; puts split lines back
 * together; and writes each host's exact log lines and its latest head
 * as OUTDIR/N/audit.jsonl and audit.jsonl.head (N counts from 1; OUTDIR
 * must be a private, empty directory), for audit_verify().  Every missing,
 * duplicate, out-of-order or mismatched part or message is recorded as a
 * problem of its host (or of the file, when no host can be told).
 * Returns 0 with *OUT set (free it with audit_collect_free()), or PG_ERR_*
 * when IN cannot be read or OUTDIR written.
 */
struct audit_collect;

struct audit_collect_host {
	const char *name;  /* the host the messages name */
	const char *log;   /* its reassembled log (the head is LOG.head) */
	long long records; /* records written to LOG */
	long long last_seq;
	long long head_seq; /* -1: no head arrived */
	long long messages; /* messages of this host read */
	long long problems; /* how many; the first are in PROBLEM */
	size_t nproblem;
	const char *const *problem;
	long long head_time;    /* the latest head's (signed) time, Unix s */
	long long last_time;    /* newest message, Unix seconds (0: none) */
	const char *last_stamp; /* its timestamp as written */
};

int audit_collect_split(
    FILE *in, const char *outdir, struct audit_collect **out);

/* Number of hosts, and host I (0-based) of C. */
size_t audit_collect_count(const struct audit_collect *c);
const struct audit_collect_host *audit_collect_host(
    const struct audit_collect *c, size_t i);

/* Problems no host can be blamed for (a message naming no host...):
 * their number, and the first ones kept. */
long long audit_collect_file_problems(
    const struct audit_collect *c, size_t *nkept, const char *const **kept);

/*
 * Checks the newest heartbeat of host I of C (a signed "still here" the
 * gateway sends, docs/audit-format.md) with the 32-byte public key PK:
 * the key the host's chain signs with now (audit_verify_result.key).
 * Returns 0 with *WHEN its signed time (Unix seconds), PG_ERR_NOTFOUND
 * when none arrived, PG_ERR_CRYPTO when it is not that key's.
 */
int audit_collect_heartbeat(const struct audit_collect *c, size_t i,
    const unsigned char *pk, long long *when);

/* Removes the files and directories audit_collect_split() made in OUTDIR
 * (not OUTDIR itself). */
void audit_collect_remove(const struct audit_collect *c);

/* Frees C; NULL is a no-op. */
void audit_collect_free(struct audit_collect *c);

#endif /* PG_AUDIT_H */
