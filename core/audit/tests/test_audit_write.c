/*
 * test_audit_write.c - the audit writer: hostile names stay one escaped
 * line, a torn tail is repaired and recorded, many processes and threads
 * share one chain, the head follows the checkpoints.  Failures are in
 * test_audit_fail.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "cm_helpers.h"
#include "helpers.h"

struct collect {
	const char *want_object[16];
	int seen;
	int wrong;
};

static int
check_object(const struct audit_record *rec, void *arg)
{
	struct collect *c = arg;

	if (strcmp(rec->event, "gateway.open") != 0)
		return 0;
	if (c->seen < 16 && strcmp(rec->object, c->want_object[c->seen]) != 0) {
		print_message("# object %d: got '%s'\n", c->seen, rec->object);
		c->wrong++;
	}
	if (strcmp(rec->object, rec->reason) != 0)
		c->wrong++;
	c->seen++;
	return 0;
}

static void
test_escaping(void **state)
{
	static const char *const in[] = { "a\nb", "q\"uote", "back\\slash",
		"{\"seq\":1,\"prev\":\"x\"}\n{\"seq\":2}", "\x01\x1b[31m\x7f",
		"bad\xff\xfe\xc3(utf8", "overlong\xc0\xaf",
		"surrogate\xed\xa0\x80", "caf\xc3\xa9 \xe2\x82\xac \xc2\x9b",
		"\t\r\v\f" };
	static const char *const out[] = { "a\nb", "q\"uote", "back\\\\slash",
		"{\"seq\":1,\"prev\":\"x\"}\n{\"seq\":2}", "\x01\x1b[31m\\x7f",
		"bad\\xff\\xfe\\xc3(utf8", "overlong\\xc0\\xaf",
		"surrogate\\xed\\xa0\\x80", "caf\xc3\xa9 \xe2\x82\xac \xc2\x9b",
		"\t\r\v\f" };
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct collect c;
	struct lines *l;
	size_t i, j, n = sizeof(in) / sizeof(in[0]);

	for (i = 0; i < n; i++)
		assert_int_equal(fx_write_obj(log, in[i], in[i]), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, (long long)n + 1);
	/* one line per record, and no raw control byte in any line */
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, n + 1);
	for (i = 0; i < l->n; i++)
		for (j = 0; l->line[i][j + 1] != '\0'; j++)
			assert_true((unsigned char)l->line[i][j] >= 0x20 &&
			    (unsigned char)l->line[i][j] < 0x7f);
	free(l);
	memset(&c, 0, sizeof(c));
	for (i = 0; i < n; i++)
		c.want_object[i] = out[i];
	assert_int_equal(audit_query(fx->log, NULL, check_object, &c, NULL), 0);
	assert_int_equal(c.seen, (int)n);
	assert_int_equal(c.wrong, 0);
}

static void
test_long_fields_are_cut(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	char *big = malloc(100000);

	assert_non_null(big);
	/* control characters grow sixfold in JSON: the writer must still
	 * produce one record under the maximum, not fail */
	memset(big, 1, 99999);
	big[99999] = '\0';
	assert_int_equal(fx_write_obj(log, big, big), PG_OK);
	memset(big, 'x', 99999);
	assert_int_equal(fx_write_obj(log, "u", big), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 3);
	free(big);
}

/* A host name with a backslash, a quote, a control character and invalid
 * UTF-8 is sanitized once: the records carry the host the checkpoints
 * and the head file sign. */
static void
test_hostile_host_verifies(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log;
	struct audit_opts o;
	struct lines *l;

	fx_opts(&o, 2);
	o.host = "ho\\st\"q\x01\xff";
	assert_int_equal(audit_open_path(fx->log, fx->key, &o, &log), PG_OK);
	assert_int_equal(fx_write_obj(log, "alice", "/store/P1/a.jpg"), PG_OK);
	assert_int_equal(fx_write_obj(log, "bob", "/store/P2/b.jpg"), PG_OK);
	assert_int_equal(fx_write_obj(log, "carol", "/store/P3/c.jpg"), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, -1);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_true(l->n >= 5); /* 3 records, checkpoints */
	assert_non_null(strstr(
	    l->line[0], ",\"host\":\"ho\\\\\\\\st\\\"q\\u0001\\\\xff\","));
	free(l);
}

static void
test_torn_tail_repaired(void **state)
{
	struct fixture *fx = *state;
	static const char frag[] = "{\"seq\":9,\"time\":\"2026-11-22T14:0";
	struct audit_verify_result res;
	struct audit_log *log;
	struct lines *l;
	char want[200], hash[65];
	FILE *f;

	assert_int_equal(fx_write_events(fx, 7, 0), PG_OK); /* 7 + close */
	f = fopen(fx->log, "ab");
	assert_non_null(f);
	fputs(frag, f); /* a writer died in the middle of seq 9 */
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_TORN);
	assert_int_equal(res.records, 8);
	assert_int_equal(res.bad_seq, 9);

	log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	assert_int_equal(audit_torn_repaired(log), 0);
	assert_int_equal(fx_write_obj(log, "dave", "/store/P9/a.jpg"), PG_OK);
	assert_int_equal(audit_torn_repaired(log), 1);
	assert_int_equal(audit_last_seq(log), 10);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 11);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_int_equal(res.torn_repairs, 1);
	assert_int_equal(res.first_torn_seq, 9);

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 11);
	assert_string_equal(l->tail, "");
	fx_hash_hex(frag, strlen(frag), hash);
	snprintf(want, sizeof(want),
	    "\"fragment_bytes\":%zu,\"fragment_hash\":\"%s\"", strlen(frag),
	    hash);
	assert_non_null(strstr(l->line[8], "\"event\":\"audit.torn_tail\""));
	assert_non_null(strstr(l->line[8], "\"seq\":9,"));
	assert_non_null(strstr(l->line[8], want));
	assert_non_null(strstr(l->line[9], "\"actor\":\"dave\""));
	free(l);
}

#define NPROC 8
#define PER   250
#define EVERY 100

static void
child_writes(const struct fixture *fx, int id)
{
	struct audit_opts o;
	struct audit_log *log;
	char actor[16], obj[32];
	int i;

	fx_opts(&o, EVERY);
	o.durability = id % 2 ? PG_DURABLE_BATCH : PG_DURABLE_FSYNC;
	o.batch_ms = 10;
	if (audit_open_path(fx->log, fx->key, &o, &log) != PG_OK)
		_exit(2);
	snprintf(actor, sizeof(actor), "w%d", id);
	for (i = 0; i < PER; i++) {
		snprintf(obj, sizeof(obj), "%d:%d", id, i);
		if (fx_write_obj(log, actor, obj) != PG_OK)
			_exit(3);
	}
	_exit(audit_close(log) == PG_OK ? 0 : 4);
}

static int
count_seen(const struct audit_record *rec, void *arg)
{
	int(*seen)[PER] = arg;
	char *end;
	long id, i;

	if (strcmp(rec->event, "gateway.open") != 0)
		return 0;
	id = strtol(rec->object, &end, 10);
	i = strtol(end + 1, NULL, 10);
	if (id >= 0 && id < NPROC && i >= 0 && i < PER)
		seen[id][i]++;
	return 0;
}

static void
test_concurrent_processes(void **state)
{
	struct fixture *fx = *state;
	static int seen[NPROC][PER];
	struct audit_verify_result res;
	pid_t pids[NPROC];
	int i, j, st;

	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_writes(fx, i);
	}
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	if (!res.ok)
		print_message(
		    "# %s: %s\n", audit_fail_name(res.kind), res.message);
	assert_true(res.ok);
	assert_true(res.checkpoints >= NPROC * PER / EVERY);
	assert_int_equal(res.records, NPROC * PER + res.checkpoints);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(audit_query(fx->log, NULL, count_seen, seen, NULL), 0);
	for (i = 0; i < NPROC; i++)
		for (j = 0; j < PER; j++)
			assert_int_equal(seen[i][j], 1);
}

/* More threads than the writer has slots to build records in. */
#define NTHR 12

struct thr {
	struct audit_log *log;
	int id;
	int errors;
};

static void *
thread_writes(void *arg)
{
	struct thr *t = arg;
	char actor[16], obj[32];
	int i;

	snprintf(actor, sizeof(actor), "t%d", t->id);
	for (i = 0; i < PER; i++) {
		snprintf(obj, sizeof(obj), "%d:%d", t->id, i);
		t->errors += fx_write_obj(t->log, actor, obj) != PG_OK;
	}
	return NULL;
}

/* Counts each thread's records, and those whose fields are not all of
 * one event (its actor, its object and reason). */
struct thr_seen {
	int n[NTHR][PER];
	int mixed;
};

static int
thread_seen(const struct audit_record *rec, void *arg)
{
	struct thr_seen *s = arg;
	char actor[16], *end;
	long id, i;

	if (strcmp(rec->event, "gateway.open") != 0)
		return 0;
	id = strtol(rec->object, &end, 10);
	i = *end == ':' ? strtol(end + 1, NULL, 10) : -1;
	snprintf(actor, sizeof(actor), "t%ld", id);
	if (id < 0 || id >= NTHR || i < 0 || i >= PER ||
	    strcmp(rec->actor, actor) != 0 ||
	    strcmp(rec->reason, rec->object) != 0) {
		s->mixed++;
		return 0;
	}
	s->n[id][i]++;
	return 0;
}

static void
test_threads_share_a_handle(void **state)
{
	struct fixture *fx = *state;
	static struct thr_seen seen;
	struct thr t[NTHR];
	pthread_t th[NTHR];
	int i, j;

	t[0].log = fx_open_log(fx, 64, PG_DURABLE_BATCH);
	for (i = 0; i < NTHR; i++) {
		t[i].log = t[0].log;
		t[i].id = i;
		t[i].errors = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_writes, &t[i]), 0);
	}
	for (i = 0; i < NTHR; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
	assert_int_equal(audit_close(t[0].log), PG_OK);
	fx_assert_verifies(fx, -1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(
	    audit_query(fx->log, NULL, thread_seen, &seen, NULL), 0);
	assert_int_equal(seen.mixed, 0);
	for (i = 0; i < NTHR; i++)
		for (j = 0; j < PER; j++)
			assert_int_equal(seen.n[i][j], 1);
}

/* Through a signer, a checkpoint after every record: the flusher takes a
 * head to write, and while it waits (here for the head's lock, held by
 * the test; in life for a slow sync) the writer adds more checkpoints
 * than the signer keeps (64).  The signer then does not know the head's
 * checkpoint.  That head gives way to the later one; no record may be
 * refused for it. */
static void
test_signer_head_overtaken(void **state)
{
	struct fixture *fx = *state;
	struct audit_opts o;
	struct audit_log *log;
	char lock[400], obj[32];
	int fd, i;

	fx_opts(&o, 1);
	o.durability = PG_DURABLE_BATCH;
	o.batch_ms = 1;
	o.signer = true;
	assert_int_equal(audit_open_path(fx->log, fx->key, &o, &log), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "first"), PG_OK);
	usleep(100000); /* its head is written */
	snprintf(lock, sizeof(lock), "%s.head.lock", fx->log);
	fd = open(lock, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(fx_write_obj(log, "u", "taken"), PG_OK);
	usleep(100000); /* the flusher has taken its head and waits */
	for (i = 0; i < 100; i++) {
		snprintf(obj, sizeof(obj), "overtaking %d", i);
		assert_int_equal(fx_write_obj(log, "u", obj), PG_OK);
	}
	assert_int_equal(flock(fd, LOCK_UN), 0);
	close(fd);
	usleep(100000); /* the signer refused that head */
	assert_int_equal(fx_write_obj(log, "u", "after"), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 2 * 103);
}

/* The head follows the checkpoints while the writer runs: at once with
 * fsync per record, after the flusher's next sync when batched. */
static void
head_follows(struct fixture *fx, enum pg_durability d)
{
	struct audit_log *log = fx_open_log(fx, 3, d);
	char path[400], *head;
	size_t len;
	int i;

	snprintf(path, sizeof(path), "%s.head", fx->log);
	assert_int_equal(fx_write_obj(log, "u", "a"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "b"), PG_OK); /* + ckpt 3 */
	for (i = 0; i < 200; i++) {
		head = fx_slurp(path, &len);
		assert_non_null(head);
		if (strncmp(head, "{\"seq\":3,", 9) == 0)
			break;
		free(head);
		head = NULL;
		usleep(5000);
	}
	assert_non_null(head);
	free(head);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 3);
}

static void
test_head_follows_fsync(void **state)
{
	head_follows(*state, PG_DURABLE_FSYNC);
}

static void
test_head_follows_batch(void **state)
{
	head_follows(*state, PG_DURABLE_BATCH);
}

/* audit_open() takes everything from the [audit] section. */
static void
test_open_from_config(void **state)
{
	struct fixture *fx = *state;
	struct pg_config *cfg = calloc(1, sizeof(*cfg));
	struct audit_log *log = NULL;
	struct lines *l;
	char host[] = "imaging-1";

	assert_non_null(cfg);
	assert_int_equal(audit_open(cfg, "gateway", &log), PG_ERR_CONFIG);
	assert_null(log);
	cfg->audit_log = fx->log;
	cfg->audit_key_file = fx->key;
	cfg->audit_checkpoint_every = 2;
	cfg->audit_durability = PG_DURABLE_BATCH;
	cfg->audit_batch_ms = 20;
	cfg->audit_host = host;
	assert_int_equal(audit_open(cfg, "gateway", &log), PG_OK);
	assert_int_equal(fx_write_obj(log, NULL, "x"), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 2);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_non_null(strstr(l->line[0], "\"host\":\"imaging-1\""));
	assert_non_null(strstr(l->line[0], "\"actor\":\"gateway\""));
	assert_non_null(strstr(l->line[1], "\"event\":\"audit.checkpoint\""));
	free(l);
	cfg->audit_batch_ms = 500; /* over the 100 ms ceiling */
	assert_int_equal(audit_open(cfg, "gateway", &log), PG_ERR_INVAL);
	assert_null(log);
	free(cfg);
}

/* The threads of this process. */
static int
threads(void)
{
	int n = 0, fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

/* A short-lived batched handle (a PAM phase) runs no flusher thread: a
 * write after batch_ms syncs what waited, the close syncs the rest and
 * writes the head of its closing checkpoint. */
static void
test_open_short(void **state)
{
	struct fixture *fx = *state;
	struct pg_config *cfg = calloc(1, sizeof(*cfg));
	struct audit_log *log = NULL;
	char path[400], *head;
	size_t len;
	int before;

	assert_non_null(cfg);
	cfg->audit_log = fx->log;
	cfg->audit_key_file = fx->key;
	cfg->audit_checkpoint_every = 1000;
	cfg->audit_durability = PG_DURABLE_BATCH;
	cfg->audit_batch_ms = 20;
	before = threads();
	assert_int_equal(audit_open_short(cfg, "pam", &log), PG_OK);
	assert_int_equal(threads(), before);
	assert_int_equal(fx_write_obj(log, "u", "a"), PG_OK);
	usleep(30 * 1000);
	assert_int_equal(fx_write_obj(log, "u", "b"), PG_OK);
	assert_int_equal(threads(), before);
	assert_int_equal(audit_close(log), PG_OK);
	snprintf(path, sizeof(path), "%s.head", fx->log);
	head = fx_slurp(path, &len);
	assert_non_null(head);
	assert_int_equal(strncmp(head, "{\"seq\":3,", 9), 0);
	free(head);
	fx_assert_verifies(fx, 3);
	free(cfg);
}

static int
count(const struct audit_record *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

static void
test_query_filters(void **state)
{
	struct fixture *fx = *state;
	struct audit_filter f;
	int n;

	assert_int_equal(fx_write_events(fx, 12, 0), PG_OK);
	memset(&f, 0, sizeof(f));
	f.actor = "alice"; /* events 0, 3, 6, 9 */
	n = 0;
	assert_int_equal(audit_query(fx->log, &f, count, &n, NULL), 0);
	assert_int_equal(n, 4);
	f.patient = "P0"; /* and events 0, 4, 8: only 0 */
	n = 0;
	assert_int_equal(audit_query(fx->log, &f, count, &n, NULL), 0);
	assert_int_equal(n, 1);
	memset(&f, 0, sizeof(f));
	f.event = "audit.";
	n = 0;
	assert_int_equal(audit_query(fx->log, &f, count, &n, NULL), 0);
	assert_int_equal(n, 1); /* the closing checkpoint */
	f.event = NULL;
	f.since = "2000-01-01";
	f.until = "2999-12-31T23:59";
	n = 0;
	assert_int_equal(audit_query(fx->log, &f, count, &n, NULL), 0);
	assert_int_equal(n, 13);
	f.until = "2001-01-01T00:00:00Z";
	n = 0;
	assert_int_equal(audit_query(fx->log, &f, count, &n, NULL), 0);
	assert_int_equal(n, 0);
	f.until = "yesterday";
	assert_int_equal(
	    audit_query(fx->log, &f, count, &n, NULL), PG_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)
		T(test_escaping),
		T(test_long_fields_are_cut),
		T(test_hostile_host_verifies),
		T(test_torn_tail_repaired),
		T(test_concurrent_processes),
		T(test_threads_share_a_handle),
		T(test_signer_head_overtaken),
		T(test_query_filters),
		T(test_open_from_config),
		T(test_open_short),
		T(test_head_follows_fsync),
		T(test_head_follows_batch),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
