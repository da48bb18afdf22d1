/*
 * test_audit_fail.c - the audit writer when things go wrong: an
 * unwritable or full log, unsafe or broken keys, reserved events, a log
 * cut behind its head or ending in garbage, a handle used across fork(),
 * a log cut and refilled under an open handle.
 * Every failure is an error, never a silent success, and loses nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/base.h"
#include "cm_helpers.h"
#include "helpers.h"

static void
test_unwritable_log(void **state)
{
	struct fixture *fx = *state;
	struct audit_opts o;
	struct audit_log *log = NULL;
	char path[400];

	fx_opts(&o, 0);
	snprintf(path, sizeof(path), "%s/no/such/dir/audit.log", fx->dir);
	assert_int_equal(audit_open_path(path, NULL, &o, &log), PG_ERR_IO);
	assert_null(log);
	/* a directory where the log should be */
	assert_int_equal(audit_open_path(fx->dir, NULL, &o, &log), PG_ERR_IO);
	snprintf(path, sizeof(path), "%s/link.log", fx->dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(audit_open_path(path, NULL, &o, &log), PG_ERR_SYMLINK);
	assert_null(log);
	assert_int_equal(
	    audit_open_path("/dev/null", NULL, &o, &log), PG_ERR_INVAL);
	assert_null(log);
}

/* The disk fills up (RLIMIT_FSIZE) in the middle of a record: the write
 * fails, no fragment stays behind, and the chain still verifies. */
static void
test_write_fails_cleanly(void **state)
{
	struct fixture *fx = *state;
	struct rlimit rl;
	struct stat st;
	pid_t pid;
	int status;

	assert_int_equal(fx_write_events(fx, 3, 0), PG_OK);
	assert_int_equal(stat(fx->log, &st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);

		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size + 40;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(5);
		if (fx_write_obj(log, "eve", "/store/P1/a.jpg") != PG_ERR_IO)
			_exit(6);
		audit_free(log);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fx_assert_verifies(fx, 4);
}

static void
test_key_file_checks(void **state)
{
	struct fixture *fx = *state;
	struct audit_opts o;
	struct audit_log *log = NULL;
	struct stat st;
	char path[400];

	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(fx->pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(audit_keygen(fx->key), PG_ERR_EXISTS);
	fx_opts(&o, 0);
	assert_int_equal(chmod(fx->key, 0640), 0);
	assert_int_equal(
	    audit_open_path(fx->log, fx->key, &o, &log), PG_ERR_PERM);
	assert_null(log);
	assert_int_equal(chmod(fx->key, 0604), 0);
	assert_int_equal(
	    audit_open_path(fx->log, fx->key, &o, &log), PG_ERR_PERM);
	snprintf(path, sizeof(path), "%s/garbage.key", fx->dir);
	assert_int_equal(fx_write_raw(path, "not hex\n", 8), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(
	    audit_open_path(fx->log, path, &o, &log), PG_ERR_CRYPTO);
	snprintf(path, sizeof(path), "%s/none.key", fx->dir);
	assert_int_equal(
	    audit_open_path(fx->log, path, &o, &log), PG_ERR_NOTFOUND);
	assert_null(log);
}

static void
test_bad_events_refused(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;

	audit_event_init(&ev);
	ev.event = "audit.checkpoint"; /* reserved: no forged checkpoints */
	ev.decision = "info";
	assert_int_equal(audit_write(log, &ev), PG_ERR_INVAL);
	ev.event = "gateway.open";
	ev.decision = "maybe";
	assert_int_equal(audit_write(log, &ev), PG_ERR_INVAL);
	ev.decision = NULL;
	assert_int_equal(audit_write(log, &ev), PG_ERR_INVAL);
	assert_int_equal(audit_close(log), PG_OK);
	assert_int_equal(audit_close(NULL), PG_OK);
	audit_free(NULL);
}

/* A log cut behind its signed head is not written to: the cut stays
 * visible instead of being papered over by new records. */
static void
test_cut_log_refused(void **state)
{
	struct fixture *fx = *state;
	struct audit_opts o;
	struct audit_log *log = NULL;
	struct lines *l;

	assert_int_equal(fx_write_events(fx, 6, 0), PG_OK);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->line[6] = NULL; /* the closing checkpoint */
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
	fx_opts(&o, 0);
	assert_int_equal(
	    audit_open_path(fx->log, fx->key, &o, &log), PG_ERR_CORRUPT);
	assert_null(log);
}

static void
test_garbage_tail_refused(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log;
	FILE *f;

	assert_int_equal(fx_write_events(fx, 2, 0), PG_OK);
	log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	f = fopen(fx->log, "ab");
	assert_non_null(f);
	fputs("this is not a record\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fx_write_obj(log, "u", "x"), PG_ERR_CORRUPT);
	audit_free(log);
}

/* A child forked with the parent's handle shares its flock: it must be
 * refused, and freeing the copy must not touch the parent's flusher. */
static void
test_forked_handle_refused(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_BATCH);
	pid_t pid;
	int st;

	assert_int_equal(fx_write_obj(log, "parent", "a"), PG_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r = fx_write_obj(log, "child", "b");

		audit_free(log);
		_exit(r == PG_ERR_INVAL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(fx_write_obj(log, "parent", "c"), PG_OK);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 3);
}

/* Cuts the log to its first KEEP lines and has an unsigned handle append
 * forged, chain-valid records with OBJ (as anyone who can write the file
 * could). */
static void
refill(const struct fixture *fx, size_t keep, const char *obj, int n)
{
	struct audit_opts o;
	struct audit_log *w = NULL;
	struct lines *l;
	int i;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_true(l->n >= keep);
	l->n = keep;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
	fx_opts(&o, 0);
	assert_int_equal(audit_open_path(fx->log, NULL, &o, &w), PG_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(fx_write_obj(w, "u", obj), PG_OK);
	assert_int_equal(audit_close(w), PG_OK);
}

/* The log is cut under an open handle and refilled with forged records
 * past the handle's end: the handle finds that what follows its tail is
 * not chained to it, and refuses instead of signing the forgery. */
static void
test_refilled_under_handle(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 1000, PG_DURABLE_FSYNC);

	assert_int_equal(fx_write_obj(log, "u", "a"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "b"), PG_OK);
	assert_int_equal(fx_write_obj(log, "u", "c"), PG_OK);
	/* Record 3 replaced by one of the same length, and one more: the
	 * handle's end falls on a line start, whose prev is not its tail. */
	refill(fx, 2, "d", 2);
	assert_int_equal(fx_write_obj(log, "u", "e"), PG_ERR_CORRUPT);
	audit_free(log);

	log = fx_open_log(fx, 1000, PG_DURABLE_FSYNC);
	assert_int_equal(fx_write_obj(log, "u", "f"), PG_OK);
	/* Longer forged records: the handle's end falls mid-line. */
	refill(fx, 3, "a much longer object than any before it", 3);
	assert_int_equal(fx_write_obj(log, "u", "g"), PG_ERR_CORRUPT);
	audit_free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)
		T(test_unwritable_log),
		T(test_write_fails_cleanly),
		T(test_key_file_checks),
		T(test_bad_events_refused),
		T(test_cut_log_refused),
		T(test_garbage_tail_refused),
		T(test_forked_handle_refused),
		T(test_refilled_under_handle),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
