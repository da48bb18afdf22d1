/*
 * test_audit_ckpt_time.c - checkpoints by time: a signed head follows a
 * record within about a second even when fewer than checkpoint_every
 * records came, so a cut tail loses at most that second unseen; in a
 * long-lived handle (flusher thread, either durability) and a short-lived
 * one (a PAM phase: on its next write), without a busy flusher.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "cm_helpers.h"
#include "helpers.h"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The seq the head file names (-1: none). */
static long long
head_seq(const struct fixture *fx)
{
	char path[400], *head;
	size_t len;
	long long seq = -1;

	snprintf(path, sizeof(path), "%s.head", fx->log);
	head = fx_slurp(path, &len);
	if (head != NULL && strncmp(head, "{\"seq\":", 7) == 0)
		seq = strtoll(head + 7, NULL, 10);
	free(head);
	return seq;
}

/* Seconds until the head names WANT (polled; gives up after 4 s). */
static double
wait_head(const struct fixture *fx, long long want)
{
	double t0 = now_s();

	while (head_seq(fx) < want && now_s() - t0 < 4.0)
		usleep(10000);
	return head_seq(fx) >= want ? now_s() - t0 : -1.0;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
long_lived(struct fixture *fx, enum pg_durability d)
{
	struct audit_log *log = fx_open_log(fx, 1000, d);
	struct audit_verify_result res;
	struct lines *l;
	double took, cpu;

	assert_int_equal(head_seq(fx), 0);
	assert_int_equal(fx_write_obj(log, "u", "a"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "b"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "c"), PG_OK);
	took = wait_head(fx, 4);
	print_message("# head at seq 4 after %.2f s (want <= ~1.1 s)\n", took);
	assert_true(took >= 0.0 && took < 2.0);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 4);
	assert_non_null(strstr(l->line[3], "\"event\":\"audit.checkpoint\""));
	free(l);
	/* Idle with nothing uncovered: the flusher sleeps. */
	cpu = cpu_s();
	usleep(1200 * 1000);
	print_message(
	    "# idle flusher used %.3f s of CPU in 1.2 s\n", cpu_s() - cpu);
	assert_true(cpu_s() - cpu < 0.2);
	assert_int_equal(head_seq(fx), 4);
	/* A record after the checkpoint, covered again a second later:
	 * cutting it once its head is out is seen. */
	assert_int_equal(fx_write_obj(log, "u", "d"), PG_OK);
	assert_true(wait_head(fx, 6) >= 0.0);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 6);
	l->n = 4;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_TRUNCATED);
	audit_free(log);
}

static void
test_long_lived_fsync(void **state)
{
	long_lived(*state, PG_DURABLE_FSYNC);
}

static void
test_long_lived_batch(void **state)
{
	long_lived(*state, PG_DURABLE_BATCH);
}

/* A PAM phase's handle has no flusher: its first write a second after
 * an uncovered record adds the checkpoint and writes its head at once. */
static void
test_short_lived(void **state)
{
	struct fixture *fx = *state;
	struct pg_config *cfg = calloc(1, sizeof(*cfg));
	struct audit_log *log = NULL;

	assert_non_null(cfg);
	cfg->audit_log = fx->log;
	cfg->audit_key_file = fx->key;
	cfg->audit_checkpoint_every = 1000;
	cfg->audit_durability = PG_DURABLE_BATCH;
	cfg->audit_batch_ms = 20;
	assert_int_equal(audit_open_short(cfg, "pam", &log), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "a"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "b"), PG_OK);
	assert_int_equal(head_seq(fx), 0);
	usleep(1100 * 1000);
	assert_int_equal(fx_write_obj(log, "u", "c"), PG_OK);
	assert_int_equal(head_seq(fx), 4); /* c and its checkpoint */
	assert_int_equal(audit_close(log), PG_OK);
	assert_int_equal(head_seq(fx), 4); /* nothing left to cover */
	fx_assert_verifies(fx, 4);
	free(cfg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_long_lived_fsync),
		T(test_long_lived_batch),
		T(test_short_lived),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
