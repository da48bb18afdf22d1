/*
 * test_concurrency.c - the lockout store under many real processes and
 * threads at once: no lost failure, no lost lockout, and readers that
 * never see half a state while writers are killed with SIGKILL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/lockout/lockout.h"
#include "testutil.h"
#include "tl_util.h"

#define NPROC_COUNT 100
#define NPROC_LOCK  20
#define NTHREADS    8
#define PER_THREAD  25
#define KILL_ROUNDS 150

static char *dir;

static int
setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp("lockconc");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_rmtree(dir);
	dir = NULL;
	return 0;
}

static struct lockout_store *
open_store(void)
{
	struct lockout_store *st = NULL;

	if (lockout_open(dir, 0, &st) != PG_OK)
		_exit(90);
	lockout_set_lock_timeout(st, 60000); /* slow disks, many waiters */
	return st;
}

/* Forks N children that wait on a barrier, then run FN(i). */
static void
run_children(int n, int (*fn)(int i, int out), int out, pid_t *pids)
{
	int gate[2], i;
	char c;

	assert_int_equal(pipe(gate), 0);
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(gate[1]);
			if (read(gate[0], &c, 1) != 0)
				_exit(91);
			_exit(fn(i, out));
		}
	}
	close(gate[0]);
	close(gate[1]); /* everyone starts at once */
}

static void
wait_all(int n, const pid_t *pids)
{
	int i, status;

	for (i = 0; i < n; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

static int
child_add(int i, int out)
{
	struct lockout_store *st = open_store();
	unsigned n = 0;

	(void)i;
	if (failcount_add(st, "shared user", time(NULL), 3600, &n) != PG_OK)
		return 1;
	if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 2;
	lockout_free(st);
	return 0;
}

static int
cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* 100 processes add one failure each: every count 1..100 seen once. */
static void
test_parallel_failcount(void **state)
{
	pid_t pids[NPROC_COUNT];
	unsigned got[NPROC_COUNT], n = 0;
	struct lockout_store *st;
	int res[2], i;

	(void)state;
	assert_int_equal(pipe(res), 0);
	run_children(NPROC_COUNT, child_add, res[1], pids);
	close(res[1]);
	wait_all(NPROC_COUNT, pids);
	for (i = 0; i < NPROC_COUNT; i++)
		assert_int_equal(
		    read(res[0], &got[i], sizeof(got[i])), sizeof(got[i]));
	close(res[0]);
	qsort(got, NPROC_COUNT, sizeof(got[0]), cmp_unsigned);
	for (i = 0; i < NPROC_COUNT; i++)
		assert_int_equal(got[i], (unsigned)i + 1);
	st = open_store();
	assert_int_equal(
	    failcount_get(st, "shared user", time(NULL), 3600, &n), PG_OK);
	assert_int_equal(n, NPROC_COUNT);
	lockout_free(st);
}

static int
child_lock(int i, int out)
{
	struct lockout_store *st = open_store();
	char user[64], tmp[64];
	struct lockout_entry e = { .by = "test", .reason = "parallel" };

	(void)out;
	snprintf(user, sizeof(user), "user-%02d", i);
	snprintf(tmp, sizeof(tmp), "transient-%02d", i);
	e.user = tmp;
	if (lockout_lock(st, &e, NULL) != PG_OK)
		return 1;
	e.user = user;
	if (lockout_lock(st, &e, NULL) != PG_OK)
		return 2;
	if (lockout_unlock(st, tmp, NULL) != PG_OK)
		return 3;
	lockout_free(st);
	return 0;
}

/* 20 processes lock one user each (and lift another): all 20 remain. */
static void
test_parallel_lock(void **state)
{
	pid_t pids[NPROC_LOCK];
	struct lockout_store *st;
	struct lockout_entry *v;
	char want[64];
	size_t n, i;
	bool seen[NPROC_LOCK] = { false };

	(void)state;
	run_children(NPROC_LOCK, child_lock, -1, pids);
	wait_all(NPROC_LOCK, pids);
	st = open_store();
	assert_int_equal(lockout_list(st, &v, &n), PG_OK);
	assert_int_equal(n, NPROC_LOCK);
	for (i = 0; i < n; i++) {
		int k;

		assert_int_equal(strncmp(v[i].user, "user-", 5), 0);
		k = (int)strtol(v[i].user + 5, NULL, 10);
		assert_true(k >= 0 && k < NPROC_LOCK && !seen[k]);
		seen[k] = true;
		snprintf(want, sizeof(want), "user-%02d", k);
		assert_string_equal(v[i].user, want);
	}
	lockout_entries_free(v, n);
	lockout_free(st);
}

struct tharg {
	struct lockout_store *st;
	int errors;
};

static void *
thread_main(void *p)
{
	struct tharg *a = p;
	unsigned n;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		if (failcount_add(a->st, "threaded", time(NULL), 3600, &n) != 0)
			a->errors++;
		if (lockout_check(a->st, "threaded", NULL) != 0)
			a->errors++;
	}
	return NULL;
}

/* One store shared by the threads of one process (the gateway). */
static void
test_threads(void **state)
{
	struct lockout_store *st = open_store();
	struct tharg args[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned n = 0;
	int i;

	(void)state;
	for (i = 0; i < NTHREADS; i++) {
		args[i].st = st;
		args[i].errors = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].errors, 0);
	}
	assert_int_equal(
	    failcount_get(st, "threaded", time(NULL), 3600, &n), PG_OK);
	assert_int_equal(n, NTHREADS * PER_THREAD);
	lockout_free(st);
}

/* Writes states that carry their own checksum: reason == extra. */
static void
writer(int ready)
{
	struct lockout_store *st = open_store();
	char tag[64];
	struct lockout_entry e = {
		.user = "victim", .by = "writer", .reason = tag, .extra = tag
	};
	unsigned n, i;

	for (i = (unsigned)getpid();; i++) {
		snprintf(tag, sizeof(tag), "state-%u-%s", i,
		    "padding-padding-padding-padding-padding-padding");
		if (i % 2 == 0)
			(void)lockout_lock(st, &e, NULL);
		else
			(void)lockout_unlock(st, "victim", NULL);
		(void)failcount_add(st, "victim2", time(NULL), 60, &n);
		/* Killed only once it wrote: a slow start (a loaded machine,
		 * the sanitizers) must not leave every round without a write.
		 */
		if (ready >= 0) {
			if (write(ready, "w", 1) != 1)
				_exit(3);
			close(ready);
			ready = -1;
		}
	}
}

/* Reads until STOP is closed; reports errors, locked and unlocked seen. */
static void
reader(int stop, int out)
{
	struct lockout_store *st = open_store();
	struct lockout_entry e;
	long stats[3] = { 0, 0, 0 };
	unsigned n;
	char c;
	int r;

	fcntl(stop, F_SETFL, O_NONBLOCK);
	while (read(stop, &c, 1) < 0 && errno == EAGAIN) {
		r = lockout_check(st, "victim", &e);
		if (r == 1 &&
		    (e.reason == NULL || e.extra == NULL ||
		        strcmp(e.reason, e.extra) != 0 ||
		        strncmp(e.reason, "state-", 6) != 0))
			r = -100;
		lockout_entry_clear(&e);
		if (r < 0) {
			stats[0]++;
			fprintf(stderr, "# reader saw %d\n", r);
		} else {
			stats[r == 1 ? 1 : 2]++;
		}
		if (failcount_get(st, "victim2", time(NULL), 60, &n) != 0)
			stats[0]++;
	}
	if (write(out, stats, sizeof(stats)) != (ssize_t)sizeof(stats))
		_exit(2);
	_exit(0);
}

static int
count_temps(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp") != NULL)
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

static void
test_sigkill_writers(void **state)
{
	struct timespec nap;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	long stats[3];
	int stop[2], res[2], go[2], i, status;
	struct pollfd pfd;
	pid_t rd, wr;

	(void)state;
	fprintf(stderr, "# seed %u\n", seed);
	srand(seed);
	assert_int_equal(pipe(stop), 0);
	assert_int_equal(pipe(res), 0);
	if ((rd = fork()) == 0) {
		close(stop[1]);
		close(res[0]);
		reader(stop[0], res[1]);
	}
	close(stop[0]);
	close(res[1]);
	for (i = 0; i < KILL_ROUNDS; i++) {
		assert_int_equal(pipe(go), 0);
		if ((wr = fork()) == 0) {
			close(go[0]);
			writer(go[1]);
		}
		assert_true(wr > 0);
		close(go[1]);
		pfd.fd = go[0];
		pfd.events = POLLIN;
		assert_int_equal(poll(&pfd, 1, 30000), 1);
		close(go[0]);
		nap.tv_sec = 0;
		nap.tv_nsec = (long)(rand() % 4000) * 1000; /* 0-4 ms */
		nanosleep(&nap, NULL);
		assert_int_equal(kill(wr, SIGKILL), 0);
		assert_int_equal(waitpid(wr, &status, 0), wr);
		assert_true(WIFSIGNALED(status));
	}
	close(stop[1]);
	assert_int_equal(read(res[0], stats, sizeof(stats)), sizeof(stats));
	assert_int_equal(waitpid(rd, &status, 0), rd);
	fprintf(stderr, "# reader: %ld errors, %ld locked, %ld unlocked\n",
	    stats[0], stats[1], stats[2]);
	assert_int_equal(stats[0], 0);
	assert_true(stats[1] > 0 && stats[2] > 0);

	fprintf(stderr, "# writers killed mid-write (stale temp files): %d\n",
	    count_temps());

	/* And the store is still whole: listable, checkable, writable. */
	struct lockout_store *st = open_store();
	struct lockout_entry *v;
	size_t n;
	assert_int_equal(lockout_list(st, &v, &n), PG_OK);
	assert_true(n <= 1);
	lockout_entries_free(v, n);
	assert_true(lockout_check(st, "victim", NULL) >= 0);
	assert_int_equal(lockout_unlock(st, "victim", NULL), PG_OK);
	assert_int_equal(lockout_check(st, "victim", NULL), 0);
	lockout_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_parallel_failcount, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_parallel_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sigkill_writers, setup, teardown),
	};

	return cmocka_run_group_tests_name(
	    "lockout-concurrency", tests, NULL, NULL);
}
