/*
 * audit.c - the audit log writer: opening a handle (its key, its head
 * check), the flusher that syncs batched records and writes their heads,
 * time-based checkpoints, and closing.  One handle per process, many
 * processes on one log, so the chain never forks (audit_append.c).  The
 * format, the chain, the signatures and the writers' rules are specified
 * in docs/audit-format.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit_forward.h"
#include "core/audit/audit_int.h"
#include "core/audit/audit_log.h"
#include "base/base.h"
#include "core/state/state.h"

void
audit_event_init(struct audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->uid = -1;
	ev->pid = -1;
	ev->bytes = -1;
}

int
audit_torn_repaired(struct audit_log *log)
{
	int torn;

	pthread_mutex_lock(&log->mu);
	torn = log->torn;
	pthread_mutex_unlock(&log->mu);
	return torn;
}

long long
audit_last_seq(struct audit_log *log)
{
	long long seq;

	pthread_mutex_lock(&log->mu);
	seq = log->last_seq;
	pthread_mutex_unlock(&log->mu);
	return seq;
}

/* The head a batched checkpoint left pending, taken under mu before the
 * fdatasync() that must cover its record: a checkpoint appended while
 * the sync runs waits for the next round. */
struct pending_head {
	int have;
	long long seq;
	unsigned char hash[AUDIT_HASH_BYTES];
	char time[AUDIT_TIME_LEN + 8];
};

static void
take_pending(struct audit_log *log, struct pending_head *p)
{
	p->have = log->head_pending;
	if (!p->have)
		return;
	p->seq = log->head_seq;
	memcpy(p->hash, log->head_hash, sizeof(p->hash));
	memcpy(p->time, log->head_time, sizeof(p->time));
	log->head_pending = 0;
}

/* Records of this handle wait for a time-based checkpoint (not after a
 * failed sync: every write fails then, and the flusher must not spin). */
static int
ckpt_waiting(const struct audit_log *log)
{
	return audit_signs(log) && log->since_ckpt > 0 && !log->sync_err;
}

static void
add_ms(struct timespec *t, long ms)
{
	t->tv_nsec += ms * 1000000L;
	t->tv_sec += t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A flusher's handle that sends heartbeats (audit_forward_heartbeat()). */
static int
beating(const struct audit_log *log)
{
	return log->opts.syslog && audit_signs(log) &&
	    log->opts.heartbeat_s > 0;
}

/* A flusher's handle with a key: it follows a key another process moved
 * to, and changes keys on a schedule (key_epoch_s). */
static int
keying(const struct audit_log *log)
{
	return audit_signs(log);
}

static long
key_tick_s(const struct audit_log *log)
{
	return log->opts.key_epoch_s > 0 && log->opts.key_epoch_s < 60
	    ? log->opts.key_epoch_s
	    : 60;
}

/* The next thing the flusher must do by: a sync batch_ms after the first
 * unsynced record, a checkpoint AUDIT_CKPT_MS after the first record no
 * checkpoint covers, a heartbeat heartbeat_s after the last.  0: nothing
 * to wait for. */
static int
next_deadline(const struct audit_log *log, struct timespec *dl)
{
	struct timespec c;
	int have = 0;

	if (beating(log)) {
		*dl = log->hb_last;
		dl->tv_sec += log->opts.heartbeat_s;
		have = 1;
	}

	if (keying(log)) {
		c = log->key_last;
		c.tv_sec += key_tick_s(log);
		if (!have || before(&c, dl))
			*dl = c;
		have = 1;
	}
	if (log->dirty) {
		c = log->dirty_since;
		add_ms(&c, log->opts.batch_ms);
		if (!have || before(&c, dl))
			*dl = c;
		have = 1;
	}
	if (ckpt_waiting(log)) {
		c = log->ckpt_since;
		add_ms(&c, AUDIT_CKPT_MS);
		if (!have || before(&c, dl))
			*dl = c;
		have = 1;
	}
	return have;
}

/* A checkpoint once the oldest record no checkpoint covers has waited
 * AUDIT_CKPT_MS, so that a cut tail loses at most about a second of
 * records unseen.  Called with mu held. */
static int
ckpt_if_due(struct audit_log *log)
{
	struct timespec now, due;

	if (!ckpt_waiting(log))
		return PG_OK;
	clock_gettime(CLOCK_MONOTONIC, &now);
	due = log->ckpt_since;
	add_ms(&due, AUDIT_CKPT_MS);
	return before(&now, &due) ? PG_OK : audit_append(log, NULL, NULL);
}

/* A key another process moved to is taken (the old one wiped) and the
 * key's epoch ends whether or not records come: a handle that stays open
 * checks both at least once a minute.  A change that fails here is
 * tried again, loudly, before the next checkpoint.  Called with mu held. */
static void
key_if_due(struct audit_log *log, const struct timespec *now)
{
	struct timespec due = log->key_last;

	if (!keying(log))
		return;
	due.tv_sec += key_tick_s(log);
	if (before(now, &due))
		return;
	(void)audit_key_tick(log);
	log->key_last = *now;
}

/* A lost heartbeat is not an error of the log: the collector sees the
 * silence.  Called with mu held. */
static void
heartbeat_if_due(struct audit_log *log, const struct timespec *now)
{
	struct timespec due = log->hb_last;

	if (!beating(log))
		return;
	due.tv_sec += log->opts.heartbeat_s;
	if (before(now, &due))
		return;
	(void)audit_forward_heartbeat(log);
	log->hb_last = *now;
}

static void *
flusher_main(void *arg)
{
	struct audit_log *log = arg;
	struct pending_head ph;
	struct timespec dl, now;
	int dirty, gone, r;

	pthread_mutex_lock(&log->mu);
	while (!log->stop) {
		if (!next_deadline(log, &dl)) {
			pthread_cond_wait(&log->cv, &log->mu);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(&now, &dl)) {
			pthread_cond_timedwait(&log->cv, &log->mu, &dl);
			continue;
		}
		r = ckpt_if_due(log);
		heartbeat_if_due(log, &now);
		key_if_due(log, &now);
		dirty = log->dirty;
		log->dirty = 0;
		take_pending(log, &ph);
		pthread_mutex_unlock(&log->mu);
		if (r == PG_OK && dirty && fdatasync(log->fd) != 0)
			r = PG_ERR_IO;
		gone = 0;
		if (r == PG_OK && ph.have)
			r = audit_put_head_or_gone(
			    log, ph.seq, ph.hash, ph.time, &gone);
		pthread_mutex_lock(&log->mu);
		/* While this sync ran, writers wrote more checkpoints than
		 * the signer keeps, and a later one waits: its head, next
		 * round, replaces this one.  With a broken witness no later
		 * checkpoint can be signed, so that still ends here. */
		if (r != PG_OK && gone && log->head_pending &&
		    log->head_seq > ph.seq)
			r = PG_OK;
		if (r != PG_OK)
			log->sync_err = 1;
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

static int
start_flusher(struct audit_log *log)
{
	pthread_condattr_t ca;
	int r;

	if (pthread_condattr_init(&ca) != 0)
		return PG_ERR_NOMEM;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&log->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0)
		return PG_ERR_NOMEM;
	log->have_cv = 1;
	/* A long-lived handle has a flusher for the batched syncs and, with
	 * a key, for the time-based checkpoints. */
	if (log->opts.short_lived ||
	    (log->opts.durability != PG_DURABLE_BATCH && !audit_signs(log)))
		return PG_OK;
	clock_gettime(CLOCK_MONOTONIC, &log->hb_last);
	log->key_last = log->hb_last;
	if (pthread_create(&log->flusher, NULL, flusher_main, log) != 0)
		return PG_ERR_NOMEM;
	log->have_thread = 1;
	return PG_OK;
}

/* Syncs what no flusher has synced yet and writes the head that sync
 * covers; only while no flusher runs. */
static int
sync_now(struct audit_log *log)
{
	struct pending_head ph;
	int r = PG_OK;

	if (log->fd >= 0 &&
	    (log->dirty || log->sync_err || log->head_pending)) {
		take_pending(log, &ph);
		if (fdatasync(log->fd) != 0 || log->sync_err)
			r = PG_ERR_IO;
		log->dirty = 0;
		if (r == PG_OK && ph.have)
			r = audit_put_head(log, ph.seq, ph.hash, ph.time);
	}
	return r;
}

/* Stops the flusher and syncs what it had not synced yet. */
static int
stop_flusher(struct audit_log *log)
{
	if (log->have_thread) {
		pthread_mutex_lock(&log->mu);
		log->stop = 1;
		pthread_cond_signal(&log->cv);
		pthread_mutex_unlock(&log->mu);
		pthread_join(log->flusher, NULL);
		log->have_thread = 0;
	}
	return sync_now(log);
}

/* A short-lived batched handle: syncs once its oldest unsynced record
 * has waited batch_ms, as a flusher would have; a failed sync fails
 * every later write.  Called with mu held. */
static int
sync_if_due(struct audit_log *log, int was_dirty)
{
	struct timespec now;
	long long waited_ms;
	int r;

	if (!log->opts.short_lived ||
	    log->opts.durability != PG_DURABLE_BATCH || !log->dirty)
		return PG_OK;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!was_dirty) {
		log->dirty_since = now;
		return PG_OK;
	}
	waited_ms = (long long)(now.tv_sec - log->dirty_since.tv_sec) * 1000 +
	    (now.tv_nsec - log->dirty_since.tv_nsec) / 1000000;
	if (waited_ms < log->opts.batch_ms)
		return PG_OK;
	if ((r = sync_now(log)) != PG_OK)
		log->sync_err = 1;
	return r;
}

void
audit_free(struct audit_log *log)
{
	int i;

	if (log == NULL)
		return;
	/* In a forked child the flusher does not exist and the mutex may
	 * be held by a thread that does not either: only release memory. */
	if (log->owner == getpid()) {
		(void)stop_flusher(log);
		if (log->have_cv)
			pthread_cond_destroy(&log->cv);
		pthread_mutex_destroy(&log->mu);
		for (i = 0; i < AUDIT_SLOTS; i++)
			pthread_mutex_destroy(&log->body[i].mu);
	}
	for (i = 0; i < AUDIT_SLOTS; i++) {
		audit_rec_free(log->body[i].rec);
		free(log->body[i].buf);
	}
	if (log->fd >= 0)
		close(log->fd);
	if (log->dirfd >= 0)
		close(log->dirfd);
	audit_key_free(&log->key); /* wipes */
	if (log->signer >= 0) {
		close(log->signer); /* the signer ends on EOF */
		if (log->owner == getpid())
			(void)waitpid(log->signer_pid, NULL, 0);
		pthread_mutex_destroy(&log->sgmu);
	}
	free(log->buf);
	audit_rec_free(log->rec);
	free(log);
}

static int
split_path(struct audit_log *log, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t dlen;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
		slash = path - 1;
	} else {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		if (dlen >= sizeof(dir))
			return PG_ERR_TOOBIG;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}
	if (strlen(slash + 1) == 0 ||
	    strlen(slash + 1) + 11 > sizeof(log->locknm))
		return PG_ERR_INVAL;
	memcpy(log->base, slash + 1, strlen(slash + 1) + 1);
	memcpy(log->headname, log->base, strlen(log->base));
	memcpy(log->headname + strlen(log->base), ".head", 6);
	memcpy(log->locknm, log->headname, strlen(log->headname));
	memcpy(log->locknm + strlen(log->headname), ".lock", 6);
	log->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return log->dirfd < 0 ? PG_ERR_IO : PG_OK;
}

static int
open_file(struct audit_log *log, int create)
{
	struct stat st;

	log->fd = openat(log->dirfd, log->base,
	    O_RDWR | O_APPEND | (create ? O_CREAT : 0) | O_NOFOLLOW |
	        O_CLOEXEC | O_NOCTTY,
	    0640);
	if (log->fd < 0)
		return errno == ELOOP ? PG_ERR_SYMLINK
		    : errno == ENOENT ? PG_ERR_NOTFOUND
		                      : PG_ERR_IO;
	if (fstat(log->fd, &st) != 0)
		return PG_ERR_IO;
	if (!S_ISREG(st.st_mode))
		return PG_ERR_INVAL;
	return PG_OK;
}

#define ROTATE_WAIT_MS 3000 /* logrotate's rename to its postrotate */

/* Opens the log, creating it when new.  A log missing beside its head
 * was renamed by logrotate, whose postrotate script continues the chain
 * in a new one within moments: wait for it rather than start a log the
 * head would not match. */
static int
open_or_wait(struct audit_log *log)
{
	struct timespec ts = { 0, 10 * 1000000L };
	int r, waited;

	for (waited = 0;; waited += 10) {
		if ((r = open_file(log, 0)) != PG_ERR_NOTFOUND)
			return r;
		if (faccessat(log->dirfd, log->headname, F_OK, 0) != 0 ||
		    waited >= ROTATE_WAIT_MS)
			return open_file(log, 1);
		nanosleep(&ts, NULL);
	}
}

/* The key in this process, or a signer that holds it (opts.signer). */
static int
load_key(struct audit_log *log, const char *path, const char *keyfile)
{
	int r;

	if (!log->opts.signer)
		return audit_key_load(&log->key, keyfile);
	/* The signer reads the key itself: checked here first, so that a
	 * missing or unsafe key file fails the open with its reason. */
	if ((r = audit_key_load(&log->key, keyfile)) != PG_OK)
		return r;
	audit_key_free(&log->key);
	pthread_mutex_init(&log->sgmu, NULL);
	if ((r = audit_signer_spawn(path, keyfile, log->host,
	         log->opts.key_epoch_s, &log->signer, &log->signer_pid)) !=
	    PG_OK)
		return r;
	return audit_signer_call(
	    log, AUDIT_SG_HELLO, 0, NULL, NULL, NULL, log->key.pk, log->key.id);
}

static int
copy_opts(struct audit_log *log, const struct audit_opts *o)
{
	const char *comp = o->component ? o->component : "photoguard";
	char raw[AUDIT_HOST_MAX];

	log->opts = *o;
	if (o->batch_ms < 0 || o->batch_ms > 100 || o->checkpoint_every < 0 ||
	    o->heartbeat_s < 0 || o->heartbeat_s > 86400 || o->key_epoch_s < 0)
		return PG_ERR_INVAL;
	if (log->opts.batch_ms == 0)
		log->opts.batch_ms = 100;
	if (log->opts.lock_timeout_ms <= 0)
		log->opts.lock_timeout_ms = 5000;
	pg_escape(comp, log->component, sizeof(log->component), PG_ESC_JSON);
	/* The host is signed into every checkpoint as the records carry it:
	 * sanitized here, once, whichever way it came. */
	memset(raw, 0, sizeof(raw));
	if (o->host != NULL)
		snprintf(raw, sizeof(raw), "%s", o->host);
	else if (gethostname(raw, sizeof(raw) - 1) != 0)
		memcpy(raw, "unknown", 8);
	pg_escape(raw, log->host, sizeof(log->host), PG_ESC_JSON);
	if (snprintf(log->fwd_path, sizeof(log->fwd_path), "%s",
	        o->syslog_socket != NULL ? o->syslog_socket : "/dev/log") >=
	    (int)sizeof(log->fwd_path))
		return PG_ERR_TOOBIG;
	log->opts.component = NULL;
	log->opts.host = NULL;
	log->opts.syslog_socket = NULL;
	return PG_OK;
}

static int
open_handle(const char *path, const char *keyfile,
    const struct audit_opts *opts, int raw, struct audit_log **out)
{
	struct audit_log *log;
	int i, r;

	*out = NULL;
	if (path == NULL || opts == NULL)
		return PG_ERR_INVAL;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return PG_ERR_NOMEM;
	log->fd = log->dirfd = log->signer = -1;
	audit_key_init(&log->key);
	log->owner = getpid();
	pthread_mutex_init(&log->mu, NULL);
	for (i = 0; i < AUDIT_SLOTS; i++)
		pthread_mutex_init(&log->body[i].mu, NULL);
	log->buf = malloc(AUDIT_TAIL_BUF);
	log->rec = audit_rec_new();
	if (log->buf == NULL || log->rec == NULL || sodium_init() < 0) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	if ((r = copy_opts(log, opts)) != PG_OK ||
	    (r = snprintf(log->path, sizeof(log->path), "%s", path) <
	                (int)sizeof(log->path)
	            ? PG_OK
	            : PG_ERR_TOOBIG) != PG_OK ||
	    (r = split_path(log, path)) != PG_OK ||
	    (r = raw ? open_file(log, 0) : open_or_wait(log)) != PG_OK)
		goto out;
	if (keyfile != NULL && (r = load_key(log, path, keyfile)) != PG_OK)
		goto out;
	if (!raw &&
	    ((r = audit_check_head(log)) != PG_OK ||
	        (r = start_flusher(log)) != PG_OK))
		goto out;
	*out = log;
	log = NULL; /* transferred */
out:
	audit_free(log);
	return r;
}

int
audit_open_path(const char *path, const char *keyfile,
    const struct audit_opts *opts, struct audit_log **out)
{
	return open_handle(path, keyfile, opts, 0, out);
}

int
audit_open_raw(const char *path, const char *keyfile,
    const struct audit_opts *opts, struct audit_log **out)
{
	return open_handle(path, keyfile, opts, 1, out);
}

static int
open_config(const struct pg_config *cfg, const char *component,
    bool short_lived, bool signer, struct audit_log **out)
{
	struct audit_opts o;

	*out = NULL;
	if (cfg == NULL || cfg->audit_log == NULL)
		return PG_ERR_CONFIG;
	memset(&o, 0, sizeof(o));
	o.component = component;
	o.host = cfg->audit_host;
	o.checkpoint_every = cfg->audit_checkpoint_every;
	o.durability = cfg->audit_durability;
	o.batch_ms = cfg->audit_batch_ms;
	o.syslog = cfg->audit_syslog;
	o.syslog_socket = cfg->audit_syslog_socket;
	o.heartbeat_s = cfg->audit_heartbeat_s;
	o.key_epoch_s = cfg->audit_key_epoch_s;
	o.short_lived = short_lived;
	o.signer = signer;
	return audit_open_path(cfg->audit_log, cfg->audit_key_file, &o, out);
}

int
audit_open(
    const struct pg_config *cfg, const char *component, struct audit_log **out)
{
	return open_config(cfg, component, false, false, out);
}

int
audit_open_signer(
    const struct pg_config *cfg, const char *component, struct audit_log **out)
{
	return open_config(cfg, component, false, true, out);
}

int
audit_open_short(
    const struct pg_config *cfg, const char *component, struct audit_log **out)
{
	return open_config(cfg, component, true, false, out);
}

int
audit_write(struct audit_log *log, const struct audit_event *ev)
{
	struct audit_body *b;
	int r, was_dirty;

	if (log == NULL || ev == NULL || ev->event == NULL ||
	    ev->decision == NULL || strncmp(ev->event, "audit.", 6) == 0)
		return PG_ERR_INVAL;
	/* A forked child shares the parent's flock (it belongs to the open
	 * file): it must open its own handle. */
	if (log->owner != getpid())
		return PG_ERR_INVAL;
	if (strcmp(ev->decision, "allow") != 0 &&
	    strcmp(ev->decision, "deny") != 0 &&
	    strcmp(ev->decision, "error") != 0 &&
	    strcmp(ev->decision, "info") != 0)
		return PG_ERR_INVAL;
	/* The record is encoded before the log's lock: only its seq,
	 * time, chain and write() wait for other threads' records. */
	if ((b = audit_body_take(log)) == NULL)
		return PG_ERR_NOMEM;
	if ((r = audit_body_make(log, b, ev, AUDIT_MAX_FIELD)) != PG_OK) {
		audit_body_give(b);
		return r;
	}
	pthread_mutex_lock(&log->mu);
	was_dirty = log->dirty;
	r = audit_append(log, ev, b);
	audit_body_give(b); /* the line is written (or refused) */
	if (r == PG_OK)
		r = sync_if_due(log, was_dirty);
	/* Without a flusher the time-based checkpoint is taken here, and
	 * its head written at once. */
	if (r == PG_OK && !log->have_thread &&
	    (r = ckpt_if_due(log)) == PG_OK && log->head_pending)
		r = sync_now(log);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_close(struct audit_log *log)
{
	int r = PG_OK, r2;

	if (log == NULL)
		return PG_OK;
	if (log->owner != getpid()) {
		audit_free(log);
		return PG_ERR_INVAL;
	}
	pthread_mutex_lock(&log->mu);
	if (audit_signs(log) && log->since_ckpt > 0)
		r = audit_append(log, NULL, NULL);
	pthread_mutex_unlock(&log->mu);
	r2 = stop_flusher(log);
	if (r == PG_OK)
		r = r2;
	audit_free(log);
	return r;
}
