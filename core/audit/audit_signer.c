/*
 * audit_signer.c - a process that holds a log's signing key for a writer
 * that must not: the gateway's worker answers FUSE requests from every
 * user, and a flaw there must not hand out the key.
 *
 * The signer is forked before the worker serves anything and keeps only
 * its end of a socket pair and the key.  It reads the log itself, as a
 * witness: it follows the chain line by line from where it started, and
 * signs a checkpoint or a head only for the record the file really holds
 * at that seq, continuing everything it has read.  A worker taken over can
 * still append lies, but it cannot have the past rewritten, cut or
 * re-signed: a file cut or changed below what the signer has read stops
 * all signing, with a LOG_ALERT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "core/audit/audit_log.h"
#include "base/base.h"
#include "core/state/state.h"

/* The last records a head or heartbeat may name, and the last
 * checkpoints (a batched head follows its checkpoint after the next sync,
 * however many records came in between). */
#define RING  256
#define CRING 64

struct sg_req {
	uint32_t op;
	int64_t seq;
	unsigned char hash[AUDIT_HASH_BYTES];
	char time[AUDIT_TIME_LEN + 8];
};

struct sg_rep {
	int32_t r;
	uint32_t due;
	unsigned char sig[AUDIT_SIG_BYTES];
	unsigned char pk[AUDIT_PK_BYTES];
	char id[2 * AUDIT_KEY_ID_BYTES + 1];
};

/* What the signer knows of the log from reading it. */
struct witness {
	int fd;
	char path[4096];
	off_t off; /* after the last whole line read */
	long long seq;
	unsigned char hash[AUDIT_HASH_BYTES];
	int closed; /* the last line is audit.close: the chain moves on */
	int is_key; /* the last line is audit.key, introducing KEY_PK */
	unsigned char key_pk[AUDIT_PK_BYTES];
	struct { /* ...its signed fields */
		long long seq;
		unsigned char prev[AUDIT_HASH_BYTES], sig[AUDIT_SIG_BYTES];
		char time[AUDIT_TIME_LEN + 8], host[AUDIT_HOST_MAX];
	} key_rec;
	/* No head or heartbeat below this seq: the head file's, or the
	 * last head signed.  A worker that cut the log could otherwise
	 * have an older head signed to match. */
	long long floor;
	const char *broken; /* why nothing is signed any more */
	struct {
		long long seq;
		unsigned char hash[AUDIT_HASH_BYTES];
	} ring[RING], cring[CRING];
	unsigned long ncp;
	char *buf;
};

struct signer {
	struct audit_key key;
	struct witness w;
	char host[AUDIT_HOST_MAX];
	int epoch_s;
};

static int
has_event(const char *line, size_t n, const char *ev)
{
	char pat[64];
	int k = snprintf(pat, sizeof(pat), "\"event\":\"%s\"", ev);

	return memmem(line, n, pat, (size_t)k) != NULL;
}

static void
remember(struct witness *w, const char *line, size_t n)
{
	struct audit_prec r;
	json_t *root = NULL;
	char why[8];

	audit_hash(line, n, w->hash);
	w->ring[w->seq % RING].seq = w->seq;
	memcpy(w->ring[w->seq % RING].hash, w->hash, AUDIT_HASH_BYTES);
	if (has_event(line, n, AUDIT_EV_CHECKPOINT)) {
		w->cring[w->ncp % CRING].seq = w->seq;
		memcpy(
		    w->cring[w->ncp++ % CRING].hash, w->hash, AUDIT_HASH_BYTES);
	}
	w->closed = has_event(line, n, AUDIT_EV_CLOSE);
	w->is_key = 0;
	if (has_event(line, n, AUDIT_EV_KEY) &&
	    audit_rec_parse(line, n, &r, &root, why, sizeof(why)) == PG_OK &&
	    r.is_key && strlen(r.time) < sizeof(w->key_rec.time) &&
	    strlen(r.host) < sizeof(w->key_rec.host)) {
		w->is_key = 1;
		memcpy(w->key_pk, r.pk, AUDIT_PK_BYTES);
		w->key_rec.seq = r.seq;
		memcpy(w->key_rec.prev, r.prev, AUDIT_HASH_BYTES);
		memcpy(w->key_rec.sig, r.sig, AUDIT_SIG_BYTES);
		snprintf(
		    w->key_rec.time, sizeof(w->key_rec.time), "%s", r.time);
		snprintf(
		    w->key_rec.host, sizeof(w->key_rec.host), "%s", r.host);
	}
	json_decref(root);
}

/* Whether LINE continues the chain: the next seq, and "prev" (the last
 * field a writer writes) naming the hash of the line before. */
static int
continues(const struct witness *w, const char *line, size_t n)
{
	char hex[AUDIT_HEX_BYTES];
	long long seq;

	if (audit_line_seq(line, n, &seq) != PG_OK || seq != w->seq + 1 ||
	    n < 74 || memcmp(line + n - 74, "\"prev\":\"", 8) != 0 ||
	    line[n - 2] != '"' || line[n - 1] != '}')
		return 0;
	audit_hex(w->hash, AUDIT_HASH_BYTES, hex);
	return memcmp(line + n - 66, hex, 64) == 0;
}

static void
broke(struct witness *w, const char *why)
{
	if (w->broken != NULL)
		return;
	w->broken = why;
	syslog(LOG_AUTHPRIV | LOG_ALERT,
	    "photoguard audit signer: %s %s after seq %lld; signing nothing "
	    "more",
	    w->path, why, w->seq);
}

/* At start: the last whole line of the file is where the chain is taken
 * up (the signer starts as root, before anything is served). */
static int
witness_start(struct witness *w)
{
	struct stat st;
	off_t start;
	ssize_t n;
	char *nl, *ls;

	if ((w->fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return PG_ERR_IO;
	if (fstat(w->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return PG_ERR_IO;
	audit_genesis(w->hash);
	if (st.st_size == 0)
		return PG_OK;
	start = st.st_size > AUDIT_TAIL_BUF - 1
	    ? st.st_size - (AUDIT_TAIL_BUF - 1)
	    : 0;
	n = pread(w->fd, w->buf, (size_t)(st.st_size - start), start);
	if (n != st.st_size - start)
		return PG_ERR_IO;
	if ((nl = memrchr(w->buf, '\n', (size_t)n)) == NULL)
		return start == 0 ? PG_OK : PG_ERR_CORRUPT;
	ls = nl > w->buf ? memrchr(w->buf, '\n', (size_t)(nl - w->buf)) : NULL;
	if (ls == NULL && start > 0)
		return PG_ERR_CORRUPT;
	ls = ls != NULL ? ls + 1 : w->buf;
	if (audit_line_seq(ls, (size_t)(nl - ls), &w->seq) != PG_OK)
		return PG_ERR_CORRUPT;
	remember(w, ls, (size_t)(nl - ls));
	w->off = start + (nl - w->buf) + 1;
	return PG_OK;
}

/* After audit.close: the file under the log's name, once it is another
 * one, is read from its start; its lines must continue the chain. */
static void
witness_follow(struct witness *w)
{
	struct stat a, b;
	int fd;

	if ((fd = open(w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (fstat(fd, &a) != 0 || fstat(w->fd, &b) != 0 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
		close(fd);
		return;
	}
	close(w->fd);
	w->fd = fd;
	w->off = 0;
	w->closed = 0;
}

/* Reads what was appended since; every whole line must continue the
 * chain. */
static void
witness_advance(struct witness *w)
{
	struct stat st;
	ssize_t n;
	size_t pos;
	char *nl;

	for (;;) {
		if (w->broken != NULL)
			return;
		if (fstat(w->fd, &st) != 0 || st.st_size < w->off) {
			broke(w, "was cut below what the signer had read");
			return;
		}
		n = pread(w->fd, w->buf, AUDIT_TAIL_BUF - 1, w->off);
		if (n < 0) {
			broke(w, "could not be read");
			return;
		}
		for (pos = 0;
		     (nl = memchr(w->buf + pos, '\n', (size_t)n - pos)) != NULL;
		     pos = (size_t)(nl - w->buf) + 1) {
			if (!continues(
			        w, w->buf + pos, (size_t)(nl - w->buf) - pos)) {
				broke(w,
				    "holds a line that does not continue "
				    "the chain");
				return;
			}
			w->seq++;
			remember(w, w->buf + pos, (size_t)(nl - w->buf) - pos);
		}
		w->off += (off_t)pos;
		if (pos == 0 && n == AUDIT_TAIL_BUF - 1) {
			broke(w, "holds a line over the maximum");
			return;
		}
		if (pos == 0 && w->closed) {
			int before = w->fd;

			witness_follow(w);
			if (w->fd == before)
				return;
			continue;
		}
		if (pos == 0)
			return;
	}
}

static int known(
    const struct witness *w, long long seq, const unsigned char *hash);

/* Whether SEQ/HASH is one of the last checkpoints read. */
static int
in_cring(const struct witness *w, long long seq, const unsigned char *hash)
{
	for (size_t i = 0; i < CRING && i < w->ncp; i++)
		if (w->cring[i].seq == seq &&
		    sodium_memcmp(w->cring[i].hash, hash, AUDIT_HASH_BYTES) ==
		        0)
			return 1;
	return 0;
}

/* Whether SEQ/HASH is one of the last checkpoints read (or the start of
 * an empty log): what a head may name. */
static int
known_ckpt(const struct witness *w, long long seq, const unsigned char *hash)
{
	if (seq == 0)
		return known(w, seq, hash);
	if (seq < w->floor)
		return 0;
	return in_cring(w, seq, hash);
}

/* Raises the floor to the head file's seq (other writers move it). */
static void
head_floor(struct witness *w)
{
	char path[sizeof(w->path) + 8], *buf = NULL;
	struct audit_head h;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s.head", w->path);
	if (pg_read_file(path, AUDIT_HEAD_MAX, 0, &buf, &n) == PG_OK &&
	    audit_head_parse(buf, n, &h) == PG_OK && h.seq > w->floor)
		w->floor = h.seq;
	free(buf);
}

/* Whether SEQ/HASH is a record the witness read lately. */
static int
known(const struct witness *w, long long seq, const unsigned char *hash)
{
	unsigned char g[AUDIT_HASH_BYTES];

	if (seq < w->floor)
		return 0;
	if (seq == 0) {
		audit_genesis(g);
		return w->seq == 0 &&
		    sodium_memcmp(g, hash, AUDIT_HASH_BYTES) == 0;
	}
	if (seq < 0 || seq > w->seq)
		return 0;
	if (w->seq - seq < RING && w->ring[seq % RING].seq == seq &&
	    sodium_memcmp(w->ring[seq % RING].hash, hash, AUDIT_HASH_BYTES) ==
	        0)
		return 1;
	return in_cring(w, seq, hash);
}

static int
at_tail(const struct witness *w, const struct sg_req *q)
{
	return q->seq == w->seq + 1 &&
	    sodium_memcmp(q->hash, w->hash, AUDIT_HASH_BYTES) == 0;
}

static void
answer(struct signer *s, const struct sg_req *q, struct sg_rep *p)
{
	static const char *const domains[] = { [AUDIT_SG_CKPT] = "checkpoint",
		[AUDIT_SG_HEAD] = "head",
		[AUDIT_SG_BEAT] = "heartbeat" };
	unsigned char d[AUDIT_HASH_BYTES];
	int ok, mended;

	memset(p, 0, sizeof(*p));
	/* Asked before each checkpoint, under the writer's lock on the log:
	 * the time to finish a change a crash interrupted. */
	if (q->op == AUDIT_SG_DUE &&
	    (p->r = audit_key_recover(s->key.path, s->w.path, d)) < 0)
		return;
	mended = q->op == AUDIT_SG_DUE && p->r == 1;
	if ((p->r = audit_key_fresh(&s->key)) != PG_OK)
		return;
	if (q->op != AUDIT_SG_HELLO && q->op != AUDIT_SG_DUE)
		witness_advance(&s->w);
	memcpy(p->pk, s->key.pk, AUDIT_PK_BYTES);
	memcpy(p->id, s->key.id, sizeof(p->id));
	switch (q->op) {
	case AUDIT_SG_HELLO:
		return;
	case AUDIT_SG_DUE:
		p->due =
		    mended ? 2 : (uint32_t)audit_key_due(&s->key, s->epoch_s);
		return;
	case AUDIT_SG_DONE:
		audit_key_done(s->key.path);
		return;
	case AUDIT_SG_COMMIT:
		/* The new key takes over once the log holds the record that
		 * introduces it, signed as the signer signed it, and not
		 * before. */
		audit_key_digest(s->w.key_rec.seq, s->w.key_rec.prev,
		    s->w.key_rec.time, s->w.key_rec.host, s->w.key_pk, d);
		if (s->w.broken != NULL || !s->w.is_key ||
		    s->key.next == NULL ||
		    memcmp(s->w.key_pk, s->key.next_pk, AUDIT_PK_BYTES) != 0 ||
		    crypto_sign_verify_detached(
		        s->w.key_rec.sig, d, sizeof(d), s->key.pk) != 0) {
			p->r = PG_ERR_CORRUPT;
			return;
		}
		if ((p->r = audit_key_commit(&s->key)) != PG_OK)
			return;
		memcpy(p->pk, s->key.pk, AUDIT_PK_BYTES);
		memcpy(p->id, s->key.id, sizeof(p->id));
		return;
	default:
		break;
	}
	if (memchr(q->time, '\0', sizeof(q->time)) == NULL ||
	    s->w.broken != NULL) {
		p->r = s->w.broken != NULL ? PG_ERR_CORRUPT : PG_ERR_INVAL;
		return;
	}
	switch (q->op) {
	case AUDIT_SG_KEY:
		if (!at_tail(&s->w, q)) {
			p->r = PG_ERR_CORRUPT;
			return;
		}
		p->r = audit_key_next(
		    &s->key, q->seq, q->hash, q->time, s->host, p->pk, p->sig);
		return;
	case AUDIT_SG_CKPT:
		ok = at_tail(&s->w, q);
		break;
	case AUDIT_SG_HEAD:
		head_floor(&s->w);
		ok = known_ckpt(&s->w, q->seq, q->hash);
		break;
	case AUDIT_SG_BEAT:
		head_floor(&s->w);
		ok = known(&s->w, q->seq, q->hash);
		break;
	default:
		p->r = PG_ERR_INVAL;
		return;
	}
	if (!ok) {
		p->r = PG_ERR_CORRUPT;
		return;
	}
	audit_sig_digest(domains[q->op], q->seq, q->hash, q->time, s->host, d);
	if ((p->r = audit_key_sign(&s->key, d, p->sig, NULL)) == PG_OK &&
	    q->op == AUDIT_SG_HEAD)
		s->w.floor = q->seq;
}

static void __attribute__((noreturn)) serve(int sock, const char *log,
    const char *keyfile, const char *host, int epoch_s)
{
	struct signer s;
	struct sg_req q;
	struct sg_rep p;
	ssize_t n;

	memset(&s, 0, sizeof(s));
	audit_key_init(&s.key);
	snprintf(s.host, sizeof(s.host), "%s", host);
	snprintf(s.w.path, sizeof(s.w.path), "%s", log);
	s.epoch_s = epoch_s;
	s.w.fd = -1;
	(void)prctl(PR_SET_NAME, "pg-audit-signer");
	(void)prctl(PR_SET_DUMPABLE, 0);
	if ((s.w.buf = malloc(AUDIT_TAIL_BUF)) == NULL ||
	    audit_key_load(&s.key, keyfile) != PG_OK ||
	    witness_start(&s.w) != PG_OK) {
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard audit signer: cannot start on %s", log);
		_exit(1);
	}
	head_floor(&s.w);
	for (;;) {
		n = recv(sock, &q, sizeof(q), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(q))
			break; /* the writer is gone */
		answer(&s, &q, &p);
		if (send(sock, &p, sizeof(p), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(p))
			break;
	}
	audit_key_free(&s.key);
	_exit(0);
}

int
audit_signer_spawn(const char *log, const char *keyfile, const char *host,
    int epoch_s, int *fd, pid_t *pid)
{
	int sv[2];
	pid_t p;

	*fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return PG_ERR_IO;
	if ((p = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return PG_ERR_IO;
	}
	if (p == 0) {
		/* Nothing of the writer stays open here: not the FUSE
		 * device, not a client's socket. */
		if (dup2(sv[1], 3) != 3)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		/* The writer's handlers (libfuse's) mean nothing here. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		serve(3, log, keyfile, host, epoch_s);
	}
	close(sv[1]);
	*fd = sv[0];
	*pid = p;
	return PG_OK;
}

int
audit_signer_call(struct audit_log *log, unsigned op, long long seq,
    const unsigned char *hash, const char *time, unsigned char *sig,
    unsigned char *pk, char *id)
{
	struct sg_req q;
	struct sg_rep p;
	ssize_t n;

	memset(&q, 0, sizeof(q));
	q.op = op;
	q.seq = seq;
	if (hash != NULL)
		memcpy(q.hash, hash, AUDIT_HASH_BYTES);
	if (time != NULL)
		snprintf(q.time, sizeof(q.time), "%s", time);
	pthread_mutex_lock(&log->sgmu);
	do
		n = send(log->signer, &q, sizeof(q), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(q)) {
		do
			n = recv(log->signer, &p, sizeof(p), 0);
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&log->sgmu);
	if (n != (ssize_t)sizeof(p)) {
		syslog(LOG_AUTHPRIV | LOG_ERR,
		    "photoguard audit: the signer of %s is gone", log->base);
		return PG_ERR_IO;
	}
	if (p.r == PG_OK) {
		if (sig != NULL)
			memcpy(sig, p.sig, AUDIT_SIG_BYTES);
		if (pk != NULL)
			memcpy(pk, p.pk, AUDIT_PK_BYTES);
		if (id != NULL)
			memcpy(id, p.id, sizeof(p.id));
		if (op == AUDIT_SG_DUE)
			return p.due ? 1 : 0;
	}
	return p.r;
}

int
audit_log_sign(struct audit_log *log, unsigned op, long long seq,
    const unsigned char *hash, const char *time, unsigned char *sig, char *id)
{
	static const char *const domains[] = { [AUDIT_SG_CKPT] = "checkpoint",
		[AUDIT_SG_HEAD] = "head",
		[AUDIT_SG_BEAT] = "heartbeat" };
	unsigned char d[AUDIT_HASH_BYTES];

	if (op != AUDIT_SG_CKPT && op != AUDIT_SG_HEAD && op != AUDIT_SG_BEAT)
		return PG_ERR_INVAL;
	if (log->signer >= 0)
		return audit_signer_call(
		    log, op, seq, hash, time, sig, NULL, id);
	if (log->key.sk == NULL)
		return PG_ERR_INVAL;
	audit_sig_digest(domains[op], seq, hash, time, log->host, d);
	return audit_key_sign(&log->key, d, sig, id);
}
