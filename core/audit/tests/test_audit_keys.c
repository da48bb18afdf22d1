/*
 * test_audit_keys.c - the signing key moves on: audit.key records chain
 * each key to the one before, so an auditor with the first public key
 * verifies the whole log; a key stolen after a change cannot re-sign what
 * stands before it; writers with the log open follow a change; the epoch
 * changes keys on its own; and the signer process signs only what the
 * log really holds, while the writer that uses it holds no key.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "cm_helpers.h"
#include "core/audit/audit_log.h"
#include "helpers.h"

/* The secret key in PATH, as bytes. */
static void
read_sk(const char *path, unsigned char *sk)
{
	size_t len = 0;
	char *hex = fx_slurp(path, &len);

	assert_non_null(hex);
	assert_int_equal(sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, hex,
	                     len, "\n", NULL, NULL),
	    0);
	free(hex);
}

static long long
count_event(const char *path, const char *event)
{
	struct lines *l = NULL;
	char pat[64];
	long long n = 0;

	snprintf(pat, sizeof(pat), "\"event\":\"%s\"", event);
	assert_int_equal(fx_read_lines(path, &l), 0);
	for (size_t i = 0; i < l->n; i++)
		n += strstr(l->line[i], pat) != NULL;
	free(l);
	return n;
}

/* FX's log verifies with the first key, across CHANGES key changes, and
 * the key that signs now is ID. */
static void
assert_keys(const struct fixture *fx, long long changes, const char *id)
{
	struct audit_verify_result res;

	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	assert_int_equal(res.key_changes, changes);
	assert_string_equal(res.key_id, id);
}

static void
rekey(const struct fixture *fx, char *id)
{
	char buf[32];

	assert_int_equal(audit_rekey(fx->log, fx->key, NULL, "admin",
	                     id != NULL ? id : buf, sizeof(buf)),
	    PG_OK);
}

/* Two changes: the first key proves both, the key file keeps its inode
 * and holds the new secret, and the verifier names the key of now. */
static void
test_rekey_chain(void **state)
{
	struct fixture *fx = *state;
	unsigned char before[crypto_sign_SECRETKEYBYTES];
	unsigned char after[crypto_sign_SECRETKEYBYTES];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char id[32], id2[32], want[32];
	struct stat a, b;

	assert_int_equal(fx_write_events(fx, 10, 4), PG_OK);
	read_sk(fx->key, before);
	assert_int_equal(stat(fx->key, &a), 0);
	rekey(fx, id);
	assert_int_equal(stat(fx->key, &b), 0);
	read_sk(fx->key, after);
	assert_true(a.st_ino == b.st_ino);
	assert_true((b.st_mode & 0777) == 0600);
	assert_memory_not_equal(before, after, sizeof(before));
	crypto_sign_ed25519_sk_to_pk(pk, after);
	audit_key_id(pk, want);
	assert_string_equal(id, want);
	assert_int_equal(fx_write_events(fx, 5, 4), PG_OK);
	rekey(fx, id2);
	assert_string_not_equal(id, id2);
	assert_int_equal(fx_write_events(fx, 3, 4), PG_OK);
	assert_keys(fx, 2, id2);
	assert_int_equal(count_event(fx->log, AUDIT_EV_KEY), 2);
}

/* Re-chains the log from line FROM (0-based) on: record FROM gets a new
 * actor, every later prev follows, and checkpoints and audit.key records
 * at or after line SIGN_FROM are signed again with SK (the others keep
 * their signatures). */
static void
forge(const char *path, size_t from, size_t sign_from,
    const unsigned char *sk_old, const unsigned char *sk_new)
{
	struct lines *l = NULL;
	unsigned char prev[AUDIT_HASH_BYTES], d[AUDIT_HASH_BYTES];
	unsigned char sig[AUDIT_SIG_BYTES], pk[AUDIT_PK_BYTES];
	char hex[2 * AUDIT_SIG_BYTES + 1], *out = NULL, *s;
	const unsigned char *sk = sk_old;
	size_t cap = 0, len = 0, n;
	FILE *f;

	assert_int_equal(fx_read_lines(path, &l), 0);
	f = open_memstream(&out, &cap);
	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++) {
		json_t *j = json_loads(l->line[i], 0, NULL);
		const char *ev;
		long long seq;

		assert_non_null(j);
		ev = json_string_value(json_object_get(j, "event"));
		seq = json_integer_value(json_object_get(j, "seq"));
		if (i == from)
			json_object_set_new(j, "actor", json_string("nobody"));
		if (i > from) {
			audit_hex(prev, AUDIT_HASH_BYTES, hex);
			json_object_set_new(j, "prev", json_string(hex));
		}
		if (i > from && i >= sign_from && sk != NULL &&
		    strcmp(ev, AUDIT_EV_CHECKPOINT) == 0) {
			audit_sig_digest("checkpoint", seq, prev,
			    json_string_value(json_object_get(j, "time")),
			    json_string_value(json_object_get(j, "host")), d);
			crypto_sign_detached(sig, NULL, d, sizeof(d), sk);
			audit_hex(sig, sizeof(sig), hex);
			json_object_set_new(j, "sig", json_string(hex));
		}
		if (strcmp(ev, AUDIT_EV_KEY) == 0) {
			assert_int_equal(
			    sodium_hex2bin(pk, sizeof(pk),
			        json_string_value(json_object_get(j, "pk")), 64,
			        NULL, NULL, NULL),
			    0);
			if (i > from && i >= sign_from && sk != NULL) {
				audit_key_digest(seq, prev,
				    json_string_value(
				        json_object_get(j, "time")),
				    json_string_value(
				        json_object_get(j, "host")),
				    pk, d);
				crypto_sign_detached(
				    sig, NULL, d, sizeof(d), sk);
				audit_hex(sig, sizeof(sig), hex);
				json_object_set_new(j, "sig", json_string(hex));
			}
			sk = sk_new; /* the key after the change */
		}
		s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		assert_non_null(s);
		n = strlen(s);
		audit_hash(s, n, prev);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(j);
	}
	fclose(f);
	len = strlen(out);
	assert_int_equal(fx_write_raw(path, out, len), 0);
	free(out);
	free(l);
}

/* The line (0-based) of the first audit.key record. */
static size_t
key_line(const char *path)
{
	struct lines *l = NULL;
	size_t i;

	assert_int_equal(fx_read_lines(path, &l), 0);
	for (i = 0; i < l->n; i++)
		if (strstr(l->line[i], "\"event\":\"audit.key\"") != NULL)
			break;
	assert_true(i < l->n);
	free(l);
	return i;
}

/* Root steals today's key: rewriting a record from before the change and
 * signing everything after it again still fails at the first signature
 * of the old key.  With the old key too (had it not been wiped) the same
 * forgery verifies: the test would see a key that did not move on. */
static void
test_stolen_key_cannot_rewrite_past(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	unsigned char old[crypto_sign_SECRETKEYBYTES];
	unsigned char cur[crypto_sign_SECRETKEYBYTES];
	char saved[400], cmd[900], head[400];
	size_t k;

	assert_int_equal(fx_write_events(fx, 10, 4), PG_OK);
	read_sk(fx->key, old);
	rekey(fx, NULL);
	assert_int_equal(fx_write_events(fx, 10, 4), PG_OK);
	read_sk(fx->key, cur);
	k = key_line(fx->log);
	snprintf(saved, sizeof(saved), "%s.orig", fx->log);
	snprintf(head, sizeof(head), "%s.head", fx->log);
	snprintf(cmd, sizeof(cmd), "cp %s %s", fx->log, saved);
	assert_int_equal(system(cmd), 0);

	/* Only today's key: record 3 edited, the chain re-linked, and every
	 * signature re-made with the stolen key, those before the change
	 * too.  The first key's checkpoints before the change do not
	 * verify. */
	forge(fx->log, 2, 0, cur, cur);
	/* The head names the last line, now forged: keep the verdict on
	 * the chain by removing it from the comparison. */
	unlink(head);
	assert_int_equal(audit_verify(fx->log, fx->pub, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_BAD_SIGNATURE);
	assert_true(res.bad_seq < (long long)k + 1); /* before the change */

	/* Both keys: the forgery holds, so the failure above is the old
	 * key's absence and nothing else. */
	snprintf(cmd, sizeof(cmd), "cp %s %s", saved, fx->log);
	assert_int_equal(system(cmd), 0);
	forge(fx->log, 2, 0, old, cur);
	assert_int_equal(audit_verify(fx->log, fx->pub, &res), PG_OK);
	assert_int_equal(res.kind, AUDIT_NO_HEAD);
	assert_int_equal(res.key_changes, 1);
}

/* The audit.key record itself: its signature, its key, and the key the
 * checkpoints after it must carry. */
static void
test_key_record_tampered(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct lines *l = NULL;
	char *line, *p;
	size_t k;

	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	rekey(fx, NULL);
	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	k = key_line(fx->log);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	/* Another key in "pk": a key the attacker holds. */
	line = strdup(l->line[k]);
	assert_non_null(line);
	p = strstr(line, "\"pk\":\"");
	assert_non_null(p);
	p[6] = p[6] == 'a' ? 'b' : 'a';
	l->line[k] = line;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_BAD_SIGNATURE);
	assert_int_equal(res.bad_seq, (long long)k + 1);
	assert_non_null(strstr(res.message, "key change signature"));
	/* No "pk" at all. */
	p = strstr(line, ",\"pk\":\"");
	memmove(p, p + 6 + 64 + 2, strlen(p + 6 + 64 + 2) + 1);
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_int_equal(res.kind, AUDIT_UNPARSABLE);
	assert_non_null(strstr(res.message, "\"pk\""));
	free(line);
	free(l);
}

/* The old secret put back after a change (a restored backup, a writer's
 * stale copy): writers refuse to sign with it, and nothing is written. */
static void
test_old_key_after_change(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	char cmd[700];
	long long before;

	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	snprintf(cmd, sizeof(cmd), "cp -p %s %s.old", fx->key, fx->key);
	assert_int_equal(system(cmd), 0);
	rekey(fx, NULL);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	before = res.records;
	snprintf(cmd, sizeof(cmd), "cp %s.old %s", fx->key, fx->key);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(fx_write_events(fx, 6, 4), PG_ERR_CORRUPT);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, before);
}

/* A handle open across a change made elsewhere signs its next checkpoint
 * with the new key: the old one is wiped from it too. */
static void
test_open_writer_follows(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 4, PG_DURABLE_FSYNC);
	char id[32];

	for (int i = 0; i < 5; i++)
		assert_int_equal(fx_write_obj(log, "alice", "/a"), PG_OK);
	rekey(fx, id);
	for (int i = 0; i < 9; i++)
		assert_int_equal(fx_write_obj(log, "alice", "/b"), PG_OK);
	assert_string_equal(log->key.id, id);
	assert_int_equal(audit_close(log), PG_OK);
	assert_keys(fx, 1, id);
}

/* key_epoch: keys change on their own, each change in the log. */
static void
test_epoch(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct audit_opts o;
	struct audit_log *log = NULL;
	unsigned char first[crypto_sign_SECRETKEYBYTES];
	unsigned char now[crypto_sign_SECRETKEYBYTES];
	struct timespec ts = { 0, 150 * 1000000L };

	read_sk(fx->key, first);
	fx_opts(&o, 2);
	o.key_epoch_s = 1;
	assert_int_equal(audit_open_path(fx->log, fx->key, &o, &log), PG_OK);
	for (int i = 0; i < 24; i++) {
		assert_int_equal(fx_write_obj(log, "bob", "/e"), PG_OK);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(audit_close(log), PG_OK);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	/* 3.6 s of records with a 1 s epoch, checked at each checkpoint
	 * and each second */
	assert_in_range(res.key_changes, 2, 4);
	read_sk(fx->key, now);
	assert_memory_not_equal(first, now, sizeof(now));
	assert_int_equal(count_event(fx->log, AUDIT_EV_KEY), res.key_changes);
}

/* An open handle with nothing to write still changes keys when the epoch
 * ends: the flusher checks at least once a minute (here, each second). */
static void
test_epoch_idle(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct audit_opts o;
	struct audit_log *log = NULL;

	fx_opts(&o, 0);
	o.key_epoch_s = 1;
	o.durability = PG_DURABLE_BATCH;
	o.batch_ms = 5;
	assert_int_equal(audit_open_path(fx->log, fx->key, &o, &log), PG_OK);
	assert_int_equal(fx_write_obj(log, "bob", "/i"), PG_OK);
	sleep(5);
	/* One change may come from the time-based checkpoint of the one
	 * record; the others only from the idle flusher, which looks each
	 * second: a key just short of its epoch waits for the next look. */
	assert_in_range(count_event(fx->log, AUDIT_EV_KEY), 2, 5);
	assert_int_equal(audit_close(log), PG_OK);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	assert_in_range(res.key_changes, 2, 5);
}

/* Bad input to a change: no key, a key file others may read, a key file
 * that is a link (to a decoy), a log whose head does not match. */
static void
test_rekey_refused(void **state)
{
	struct fixture *fx = *state;
	char id[32], decoy[300], cmd[1400], *before, *after;
	size_t n1, n2;

	assert_int_equal(fx_write_events(fx, 4, 4), PG_OK);
	assert_int_equal(
	    audit_rekey(fx->log, NULL, NULL, "admin", id, sizeof(id)),
	    PG_ERR_INVAL);
	assert_int_equal(chmod(fx->key, 0640), 0);
	assert_int_not_equal(
	    audit_rekey(fx->log, fx->key, NULL, "admin", id, sizeof(id)),
	    PG_OK);
	assert_int_equal(chmod(fx->key, 0600), 0);
	snprintf(decoy, sizeof(decoy), "%s/decoy.key", fx->dir);
	snprintf(cmd, sizeof(cmd), "cp -p %s %s && ln -sf %s %s.link", fx->key,
	    decoy, decoy, fx->key);
	assert_int_equal(system(cmd), 0);
	before = fx_slurp(decoy, &n1);
	snprintf(cmd, sizeof(cmd), "%s.link", fx->key);
	assert_int_not_equal(
	    audit_rekey(fx->log, cmd, NULL, "admin", id, sizeof(id)), PG_OK);
	after = fx_slurp(decoy, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	snprintf(cmd, sizeof(cmd), "%s.head", fx->log);
	assert_int_equal(unlink(cmd), 0);
	assert_int_equal(
	    audit_rekey(fx->log, fx->key, NULL, "admin", id, sizeof(id)),
	    PG_ERR_CORRUPT);
	assert_int_equal(count_event(fx->log, AUDIT_EV_KEY), 0);
}

/* --- the signer ------------------------------------------------------ */

struct sg {
	struct audit_log log; /* only what audit_signer_call() uses */
	unsigned char tail[AUDIT_HASH_BYTES];
	long long seq;
};

static void
sg_start(const struct fixture *fx, struct sg *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->log.sgmu, NULL);
	snprintf(s->log.base, sizeof(s->log.base), "audit.log");
	assert_int_equal(audit_signer_spawn(fx->log, fx->key, "testhost", 0,
	                     &s->log.signer, &s->log.signer_pid),
	    PG_OK);
}

static void
sg_stop(struct sg *s)
{
	int st;

	close(s->log.signer);
	/* It ends when the writer's end closes. */
	assert_int_equal(waitpid(s->log.signer_pid, &st, 0), s->log.signer_pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pthread_mutex_destroy(&s->log.sgmu);
}

/* The last line's seq and hash. */
static void
tail_of(const char *path, long long *seq, unsigned char *hash)
{
	struct lines *l = NULL;
	const char *line;

	assert_int_equal(fx_read_lines(path, &l), 0);
	assert_true(l->n > 0);
	line = l->line[l->n - 1];
	assert_int_equal(audit_line_seq(line, strlen(line) - 1, seq), PG_OK);
	audit_hash(line, strlen(line) - 1, hash);
	free(l);
}

/* One request OP for SEQ/HASH at a fixed time; the signature in SIG (may
 * be NULL). */
static int
ask(struct sg *s, unsigned op, long long seq, const unsigned char *hash,
    unsigned char *sig)
{
	unsigned char tmp[AUDIT_SIG_BYTES];

	return audit_signer_call(&s->log, op, seq, hash,
	    "2026-12-04T10:00:00.000000Z", sig != NULL ? sig : tmp, NULL, NULL);
}

static int
ckpt(struct sg *s, long long seq, const unsigned char *hash, unsigned char *sig)
{
	return ask(s, AUDIT_SG_CKPT, seq, hash, sig);
}

/* It signs the checkpoint that follows the log's real tail, with the
 * log's key, and nothing else: not an old seq, not a made-up hash. */
static void
test_signer_signs_only_the_tail(void **state)
{
	struct fixture *fx = *state;
	unsigned char pk[AUDIT_PK_BYTES], filepk[AUDIT_PK_BYTES];
	unsigned char sig[AUDIT_SIG_BYTES], d[AUDIT_HASH_BYTES];
	unsigned char h[AUDIT_HASH_BYTES], bad[AUDIT_HASH_BYTES];
	char id[32];
	long long seq;
	struct sg s;

	assert_int_equal(fx_write_events(fx, 10, 4), PG_OK);
	sg_start(fx, &s);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_HELLO, 0, NULL,
	                     NULL, NULL, pk, id),
	    PG_OK);
	assert_int_equal(audit_load_pubkey(fx->pub, filepk), PG_OK);
	assert_memory_equal(pk, filepk, sizeof(pk));
	tail_of(fx->log, &seq, h);
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_OK);
	audit_sig_digest("checkpoint", seq + 1, h,
	    "2026-12-04T10:00:00.000000Z", "testhost", d);
	assert_int_equal(crypto_sign_verify_detached(sig, d, sizeof(d), pk), 0);
	/* an old position, a wrong hash, a seq ahead */
	assert_int_equal(ckpt(&s, 4, h, sig), PG_ERR_CORRUPT);
	memcpy(bad, h, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(ckpt(&s, seq + 1, bad, sig), PG_ERR_CORRUPT);
	assert_int_equal(ckpt(&s, seq + 2, h, sig), PG_ERR_CORRUPT);
	/* a head of a record it has read, and of one it has not */
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_HEAD, seq, h,
	                     "2026-12-04T10:00:00.000000Z", sig, NULL, NULL),
	    PG_OK);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_HEAD, seq, bad,
	                     "2026-12-04T10:00:00.000000Z", sig, NULL, NULL),
	    PG_ERR_CORRUPT);
	/* records other writers append are followed */
	assert_int_equal(fx_write_events(fx, 3, 0), PG_OK);
	tail_of(fx->log, &seq, h);
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_OK);
	/* an unknown request */
	assert_int_equal(audit_signer_call(&s.log, 77, seq + 1, h,
	                     "2026-12-04T10:00:00.000000Z", sig, NULL, NULL),
	    PG_ERR_INVAL);
	sg_stop(&s);
}

/* A line that does not continue the chain, appended by whoever can write
 * the log: the signer stops signing, for good. */
static void
test_signer_stops_on_forged_line(void **state)
{
	struct fixture *fx = *state;
	unsigned char sig[AUDIT_SIG_BYTES], h[AUDIT_HASH_BYTES];
	char line[300];
	unsigned char h2[AUDIT_HASH_BYTES];
	long long seq, seq2;
	struct sg s;
	FILE *f;

	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	sg_start(fx, &s);
	tail_of(fx->log, &seq, h);
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_OK);
	snprintf(line, sizeof(line),
	    "{\"seq\":%lld,\"time\":\"x\",\"host\":\"testhost\",\"actor\":"
	    "\"a\",\"event\":\"e\",\"object\":null,\"decision\":\"info\","
	    "\"rule\":null,\"reason\":null,\"prev\":\"%064d\"}\n",
	    seq + 1, 0);
	f = fopen(fx->log, "a");
	assert_non_null(f);
	fputs(line, f);
	fclose(f);
	tail_of(fx->log, &seq2, h2);
	assert_int_equal(ckpt(&s, seq2 + 1, h2, sig), PG_ERR_CORRUPT);
	/* ...also for the tail it knew before, which it signed above */
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_ERR_CORRUPT);
	sg_stop(&s);
}

/* The log cut below what the signer read, then refilled with a chain of
 * its own: nothing is signed again. */
static void
test_signer_stops_on_cut_log(void **state)
{
	struct fixture *fx = *state;
	unsigned char sig[AUDIT_SIG_BYTES], h[AUDIT_HASH_BYTES];
	struct lines *l = NULL;
	long long seq;
	struct sg s;

	assert_int_equal(fx_write_events(fx, 8, 4), PG_OK);
	sg_start(fx, &s);
	tail_of(fx->log, &seq, h);
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_OK);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->n -= 3;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
	/* The tail it had read, asked again: the cut is seen. */
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_ERR_CORRUPT);
	tail_of(fx->log, &seq, h);
	assert_int_equal(ckpt(&s, seq + 1, h, sig), PG_ERR_CORRUPT);
	sg_stop(&s);
}

/* A change of key through the signer takes effect only once the log
 * holds the audit.key record: asked to switch without it, it refuses and
 * the key file is untouched. */
static void
test_signer_commit_needs_record(void **state)
{
	struct fixture *fx = *state;
	unsigned char sig[AUDIT_SIG_BYTES], pk[AUDIT_PK_BYTES];
	unsigned char h[AUDIT_HASH_BYTES];
	char *before, *after;
	size_t n1, n2;
	long long seq;
	struct sg s;

	assert_int_equal(fx_write_events(fx, 5, 4), PG_OK);
	before = fx_slurp(fx->key, &n1);
	sg_start(fx, &s);
	tail_of(fx->log, &seq, h);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_KEY, seq + 1, h,
	                     "2026-12-04T10:00:00.000000Z", sig, pk, NULL),
	    PG_OK);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_COMMIT, 0, NULL,
	                     NULL, NULL, NULL, NULL),
	    PG_ERR_CORRUPT);
	after = fx_slurp(fx->key, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	sg_stop(&s);
}

/* A crash after the audit.key record was written and before the key file
 * took the new secret (the signer killed between the two): the next
 * writer to open the log finishes the change from KEY.next, signs on with
 * the new key, and the log verifies with the first key. */
static void
crash_after_record(struct fixture *fx, int committed)
{
	unsigned char sig[AUDIT_SIG_BYTES], pk[AUDIT_PK_BYTES];
	unsigned char oldpk[AUDIT_PK_BYTES], h[AUDIT_HASH_BYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES], now[AUDIT_PK_BYTES];
	char next[400], line[1024], ph[AUDIT_HEX_BYTES];
	char sh[2 * AUDIT_SIG_BYTES + 1], pkh[2 * AUDIT_PK_BYTES + 1];
	char oldid[32], newid[32];
	const char *t = "2026-12-04T10:00:00.000000Z";
	long long seq;
	struct sg s;
	FILE *f;

	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	assert_int_equal(audit_load_pubkey(fx->pub, oldpk), PG_OK);
	audit_key_id(oldpk, oldid);
	sg_start(fx, &s);
	tail_of(fx->log, &seq, h);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_KEY, seq + 1, h, t,
	                     sig, pk, NULL),
	    PG_OK);
	snprintf(next, sizeof(next), "%s.next", fx->key);
	assert_int_equal(access(next, F_OK), 0);
	audit_key_id(pk, newid);
	audit_hex(h, AUDIT_HASH_BYTES, ph);
	audit_hex(sig, sizeof(sig), sh);
	audit_hex(pk, sizeof(pk), pkh);
	snprintf(line, sizeof(line),
	    "{\"seq\":%lld,\"time\":\"%s\",\"host\":\"testhost\","
	    "\"actor\":\"admin\",\"event\":\"audit.key\",\"object\":\"%s\","
	    "\"decision\":\"info\",\"rule\":null,\"reason\":\"test\","
	    "\"key_id\":\"%s\",\"sig\":\"%s\",\"pk\":\"%s\",\"prev\":\"%s\"}\n",
	    seq + 1, t, newid, oldid, sh, pkh, ph);
	f = fopen(fx->log, "a");
	assert_non_null(f);
	fputs(line, f);
	assert_int_equal(fclose(f), 0);
	if (committed) /* the key file took the new key; no new head yet */
		assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_COMMIT, 0,
		                     NULL, NULL, NULL, NULL, NULL),
		    PG_OK);
	/* the crash */
	kill(s.log.signer_pid, SIGKILL);
	waitpid(s.log.signer_pid, NULL, 0);
	close(s.log.signer);
	read_sk(fx->key, sk);
	crypto_sign_ed25519_sk_to_pk(now, sk);
	assert_memory_equal(now, committed ? pk : oldpk, sizeof(now));

	assert_int_equal(fx_write_events(fx, 5, 4), PG_OK);
	assert_int_not_equal(access(next, F_OK), 0);
	read_sk(fx->key, sk);
	crypto_sign_ed25519_sk_to_pk(now, sk);
	assert_memory_equal(now, pk, sizeof(now));
	sodium_memzero(sk, sizeof(sk));
	assert_keys(fx, 1, newid);
}

static void
test_crash_after_record(void **state)
{
	crash_after_record(*state, 0);
}

/* ...and after the key file took the new key, before the new key's head:
 * the head the old key signed is checked with the old key's public half
 * from the stash, and the change finished. */
static void
test_crash_after_commit(void **state)
{
	crash_after_record(*state, 1);
}

/* A valid record appended by hand (as any writer may): its seq and hash
 * in *SEQ and H. */
static void
append_record(const struct fixture *fx, long long *seq, unsigned char *h)
{
	char line[512], ph[AUDIT_HEX_BYTES];
	FILE *f;

	tail_of(fx->log, seq, h);
	audit_hex(h, AUDIT_HASH_BYTES, ph);
	snprintf(line, sizeof(line),
	    "{\"seq\":%lld,\"time\":\"2026-12-04T10:00:00.000000Z\","
	    "\"host\":\"testhost\",\"actor\":\"a\",\"event\":\"x.y\","
	    "\"object\":null,\"decision\":\"info\",\"rule\":null,"
	    "\"reason\":null,\"prev\":\"%s\"}\n",
	    *seq + 1, ph);
	f = fopen(fx->log, "a");
	assert_non_null(f);
	fputs(line, f);
	assert_int_equal(fclose(f), 0);
	tail_of(fx->log, seq, h);
}

/* Heads only for checkpoints at or after the head file's: a worker that
 * cut the log cannot have a head signed to match the cut. */
static void
test_signer_head_floor(void **state)
{
	struct fixture *fx = *state;
	unsigned char h[AUDIT_HASH_BYTES], g[AUDIT_HASH_BYTES];
	unsigned char c4[AUDIT_HASH_BYTES];
	struct lines *l = NULL;
	long long seq, last;
	const char *line;
	struct sg s;

	assert_int_equal(fx_write_events(fx, 10, 4), PG_OK);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	line = l->line[3]; /* seq 4, a checkpoint */
	assert_non_null(strstr(line, "audit.checkpoint"));
	audit_hash(line, strlen(line) - 1, c4);
	free(l);
	tail_of(fx->log, &last, h); /* the closing checkpoint: the head */
	sg_start(fx, &s);
	audit_genesis(g);
	assert_int_equal(ask(&s, AUDIT_SG_HEAD, 0, g, NULL), PG_ERR_CORRUPT);
	assert_int_equal(ask(&s, AUDIT_SG_HEAD, 4, c4, NULL), PG_ERR_CORRUPT);
	assert_int_equal(ask(&s, AUDIT_SG_BEAT, 4, c4, NULL), PG_ERR_CORRUPT);
	assert_int_equal(ask(&s, AUDIT_SG_HEAD, last, h, NULL), PG_OK);
	append_record(fx, &seq, h);
	assert_int_equal(ask(&s, AUDIT_SG_HEAD, seq, h, NULL), PG_ERR_CORRUPT);
	assert_int_equal(ask(&s, AUDIT_SG_BEAT, seq, h, NULL), PG_OK);
	sg_stop(&s);
}

/* A crash after KEY.next was written and before the record: the change
 * never happened; the old key stays, the stash goes. */
static void
test_crash_before_record(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	unsigned char sig[AUDIT_SIG_BYTES], pk[AUDIT_PK_BYTES];
	unsigned char h[AUDIT_HASH_BYTES];
	char next[400], *before, *after;
	size_t n1, n2;
	long long seq;
	struct sg s;

	assert_int_equal(fx_write_events(fx, 6, 4), PG_OK);
	before = fx_slurp(fx->key, &n1);
	sg_start(fx, &s);
	tail_of(fx->log, &seq, h);
	assert_int_equal(audit_signer_call(&s.log, AUDIT_SG_KEY, seq + 1, h,
	                     "2026-12-04T10:00:00.000000Z", sig, pk, NULL),
	    PG_OK);
	kill(s.log.signer_pid, SIGKILL);
	waitpid(s.log.signer_pid, NULL, 0);
	close(s.log.signer);
	snprintf(next, sizeof(next), "%s.next", fx->key);
	assert_int_equal(access(next, F_OK), 0);
	assert_int_equal(fx_write_events(fx, 5, 4), PG_OK);
	assert_int_not_equal(access(next, F_OK), 0);
	after = fx_slurp(fx->key, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	assert_int_equal(res.key_changes, 0);
}

/* A KEY.next that is not one: removed, with the key untouched. */
static void
test_stash_garbage(void **state)
{
	struct fixture *fx = *state;
	char next[400], *before, *after;
	size_t n1, n2;
	int fd;

	assert_int_equal(fx_write_events(fx, 3, 4), PG_OK);
	before = fx_slurp(fx->key, &n1);
	snprintf(next, sizeof(next), "%s.next", fx->key);
	fd = open(next, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a key\n7\n", 12), 12);
	close(fd);
	assert_int_equal(fx_write_events(fx, 3, 4), PG_OK);
	assert_int_not_equal(access(next, F_OK), 0);
	after = fx_slurp(fx->key, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
	fx_assert_verifies(fx, -1);
}

/* Whether the bytes NEEDLE/N are anywhere in the readable memory of PID
 * (as root). */
static int
in_memory(pid_t pid, const unsigned char *needle, size_t n)
{
	char path[64], line[512];
	unsigned long lo, hi;
	char perms[8];
	FILE *maps;
	int mem, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	assert_non_null(maps);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY);
	assert_true(mem >= 0);
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
		    hi - lo > (1UL << 30))
			continue;
		char *buf = malloc(hi - lo);
		ssize_t got;

		if (buf == NULL)
			continue;
		got = pread(mem, buf, hi - lo, (off_t)lo);
		if (got > 0 && memmem(buf, (size_t)got, needle, n) != NULL)
			found = 1;
		free(buf);
	}
	close(mem);
	fclose(maps);
	return found;
}

/* A writer that signs through a signer holds no key: its memory has no
 * trace of the secret seed, while the signer's does (the scan works). */
static void
test_signer_writer_holds_no_key(void **state)
{
	struct fixture *fx = *state;
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	int go[2], ready[2], st;
	pid_t child;
	char c = 0, hex[65];
	pid_t sp = 0;

	assert_int_equal(fx_write_events(fx, 4, 4), PG_OK);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct audit_opts o;
		struct audit_log *log = NULL;

		fx_opts(&o, 2);
		o.signer = true;
		if (audit_open_path(fx->log, fx->key, &o, &log) != PG_OK)
			_exit(1);
		for (int i = 0; i < 5; i++)
			if (fx_write_obj(log, "alice", "/w") != PG_OK)
				_exit(2);
		sp = log->signer_pid;
		alarm(30); /* the parent failed and never says go */
		if (write(ready[1], &sp, sizeof(sp)) != sizeof(sp) ||
		    read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(audit_close(log) == PG_OK ? 0 : 4);
	}
	assert_int_equal(read(ready[0], &sp, sizeof(sp)), sizeof(sp));
	assert_true(sp > 0);
	/* Read only now: the child must not inherit it from this test. */
	read_sk(fx->key, sk);
	audit_hex(sk, 32, hex);
	assert_false(in_memory(child, sk, 32));
	assert_false(in_memory(child, (const unsigned char *)hex, 64));
	assert_true(in_memory(sp, sk, 32));
	assert_int_equal(write(go[1], &c, 1), 1);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sodium_memzero(sk, sizeof(sk));
	fx_assert_verifies(fx, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_rekey_chain, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stolen_key_cannot_rewrite_past, fx_cm_setup,
		    fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_key_record_tampered, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_old_key_after_change, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_open_writer_follows, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_epoch, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_epoch_idle, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rekey_refused, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(test_signer_signs_only_the_tail,
		    fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_signer_stops_on_forged_line, fx_cm_setup,
		    fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_signer_stops_on_cut_log, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(test_signer_commit_needs_record,
		    fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(test_signer_writer_holds_no_key,
		    fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_after_record, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_after_commit, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_signer_head_floor, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_before_record, fx_cm_setup, fx_cm_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stash_garbage, fx_cm_setup, fx_cm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
