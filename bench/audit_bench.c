/*
 * audit_bench.c - records per second the audit log sustains: batched
 * (group commit) and fsync-per-record, one writer, four writer processes
 * and four threads sharing one handle, signed checkpoints every 1000
 * records; beside it what a plain unchained, unlocked write() of the same
 * lines costs.  The log lives in
 * $PG_BENCH_DIR (default /var/tmp), on a real disk.  PG_BENCH_SYSLOG=SOCKET
 * also sends every record and head to that syslog socket, PG_BENCH_ONLY=
 * PREFIX runs only the runs whose name starts so, PG_BENCH_RECORDS=N sets
 * the batched runs' records (bench/audit_forward_bench.sh uses these).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/audit/audit.h"
#include "base/base.h"

struct run {
	const char *name;
	enum pg_durability durability;
	int procs;
	long records; /* in total */
	bool signer;  /* the key in a signer process, as the gateway has it */
	int threads;  /* writing to one handle in each process, as the
	               * gateway's do; 0: one */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds used by waited-for children so far. */
static double
child_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
event(struct audit_event *ev, long i, char *obj, size_t objlen)
{
	audit_event_init(ev);
	snprintf(
	    obj, objlen, "/store/P%04ld/2026-11-22/img%06ld.jpg", i % 977, i);
	ev->actor = "alice";
	ev->event = "gateway.open";
	ev->object = obj;
	ev->decision = "allow";
	ev->rule = "clinic.policy:42";
	ev->reason = "care team member";
	ev->patient = "P0042";
	ev->process = "eog";
	ev->uid = 1001;
	ev->pid = 4242;
	ev->bytes = 2345678;
}

struct thr {
	struct audit_log *h;
	long from, n;
	int r;
};

static void *
thread_writes(void *arg)
{
	struct thr *t = arg;
	struct audit_event ev;
	char obj[96];
	long i;

	t->r = PG_OK;
	for (i = t->from; i < t->from + t->n && t->r == PG_OK; i++) {
		event(&ev, i, obj, sizeof(obj));
		t->r = audit_write(t->h, &ev);
	}
	return NULL;
}

static int
writer(const char *log, const char *key, const struct run *rn, long n)
{
	enum pg_durability d = rn->durability;
	struct audit_opts o;
	struct audit_log *h;
	struct thr t[8];
	pthread_t th[8];
	int i, nt = rn->threads > 1 ? rn->threads : 1, r;

	memset(&o, 0, sizeof(o));
	o.component = "bench";
	o.checkpoint_every = 1000;
	o.durability = d;
	o.batch_ms = 10;
	o.syslog_socket = getenv("PG_BENCH_SYSLOG");
	o.syslog = o.syslog_socket != NULL;
	o.signer = rn->signer;
	if (nt > 8)
		return PG_ERR_INVAL;
	if ((r = audit_open_path(log, key, &o, &h)) != PG_OK)
		return r;
	for (i = 0; i < nt; i++) {
		t[i].h = h;
		t[i].from = i * (n / nt);
		t[i].n = n / nt;
		if (i == 0) /* the caller's thread writes too */
			continue;
		if (pthread_create(&th[i], NULL, thread_writes, &t[i]) != 0) {
			nt = i;
			r = PG_ERR_NOMEM;
		}
	}
	if (r == PG_OK)
		thread_writes(&t[0]);
	for (i = 1; i < nt; i++) {
		pthread_join(th[i], NULL);
		if (r == PG_OK)
			r = t[i].r;
	}
	if (r == PG_OK)
		r = t[0].r;
	if (r == PG_OK)
		return audit_close(h);
	audit_free(h);
	return r;
}

/* Seconds to read PATH with read() into 1 MiB, its size in *BYTES;
 * -1 if it cannot be read. */
static double
native_read(const char *path, long long *bytes)
{
	static char buf[1 << 20];
	double t0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	*bytes = 0;
	if (fd < 0)
		return -1;
	t0 = now_s();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*bytes += n;
	t0 = now_s() - t0;
	close(fd);
	return n < 0 ? -1 : t0;
}

static long
max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int
run(const char *dir, const char *key, const struct run *rn)
{
	struct audit_verify_result res;
	char log[1024], pub[1100];
	double t0, dt, cpu0, cpu, rd, vt;
	long long bytes = 0;
	pid_t pid;
	int i, st, bad = 0;

	snprintf(log, sizeof(log), "%s/bench.log", dir);
	unlink(log);
	snprintf(pub, sizeof(pub), "%s.head", log);
	unlink(pub);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	cpu0 = child_cpu_s();
	t0 = now_s();
	for (i = 0; i < rn->procs; i++) {
		if ((pid = fork()) == 0)
			_exit(writer(log, key, rn, rn->records / rn->procs) ==
			            PG_OK
			        ? 0
			        : 1);
		if (pid < 0)
			return -1;
	}
	for (i = 0; i < rn->procs; i++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	dt = now_s() - t0;
	cpu = child_cpu_s() - cpu0;
	rd = native_read(log, &bytes);
	t0 = now_s();
	if (!bad && (audit_verify(log, pub, &res) != PG_OK || !res.ok))
		bad = 2;
	vt = now_s() - t0;
	if (bad) {
		printf("%-30s FAILED (%s: %s)\n", rn->name,
		    bad == 1 ? "a writer failed" : audit_fail_name(res.kind),
		    res.message);
		return -1;
	}
	printf("%-30s %7ld in %6.3f s = %7.0f rec/s, %5.2f us CPU/rec "
	       "(%lld checkpoints, verified)\n",
	    rn->name, rn->records, dt, (double)rn->records / dt,
	    cpu * 1e6 / (double)rn->records, res.checkpoints);
	/* The streaming verifier against a plain read of the same file,
	 * warm in the page cache both times. */
	if (rd > 0)
		printf("%-30s %7.0f MB/s = %.2fx native read (%.0f MB/s), "
		       "%7.0f rec/s, peak RSS %ld KiB\n",
		    "  verify", (double)bytes / vt / 1e6,
		    (double)bytes / vt / ((double)bytes / rd),
		    (double)bytes / rd / 1e6, (double)res.records / vt,
		    max_rss_kib());
	unlink(log);
	return 0;
}

/* The same lines written with a bare write(): no lock, chain or sync. */
static void
baseline(const char *dir, long n)
{
	char path[1024], line[512], obj[96];
	double t0, dt;
	long i;
	int fd, len;
	clock_t c0 = clock();

	snprintf(path, sizeof(path), "%s/plain.log", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		return;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(obj, sizeof(obj),
		    "/store/P%04ld/2026-11-22/img%06ld.jpg", i % 977, i);
		len = snprintf(line, sizeof(line),
		    "{\"seq\":%ld,\"actor\":\"alice\",\"object\":\"%s\"}\n", i,
		    obj);
		if (write(fd, line, (size_t)len) != len)
			break;
	}
	fdatasync(fd);
	dt = now_s() - t0;
	close(fd);
	unlink(path);
	printf("%-30s %7ld in %6.3f s = %7.0f rec/s, %5.2f us CPU/rec\n",
	    "baseline: bare write()", n, dt, (double)n / dt,
	    (double)(clock() - c0) / CLOCKS_PER_SEC * 1e6 / (double)n);
}

int
main(void)
{
	const char *base = getenv("PG_BENCH_DIR");
	const char *only = getenv("PG_BENCH_ONLY");
	const char *nrec = getenv("PG_BENCH_RECORDS");
	long batched = nrec != NULL ? strtol(nrec, NULL, 10) : 400000;
	char dir[512], key[600], cmd[600];
	const struct run runs[] = {
		{ "batched, 1 writer", PG_DURABLE_BATCH, 1, batched, false, 0 },
		{ "batched, 1 writer, signer", PG_DURABLE_BATCH, 1, batched,
		    true, 0 },
		{ "batched, 4 writer processes", PG_DURABLE_BATCH, 4, batched,
		    false, 0 },
		{ "batched, 4 threads, signer", PG_DURABLE_BATCH, 1, batched,
		    true, 4 },
		{ "fsync per record, 1 writer", PG_DURABLE_FSYNC, 1, 3000,
		    false, 0 },
		{ "fsync per record, 1 w, signer", PG_DURABLE_FSYNC, 1, 3000,
		    true, 0 },
		{ "fsync per record, 4 processes", PG_DURABLE_FSYNC, 4, 3000,
		    false, 0 },
	};
	size_t i;
	int bad = 0;

	snprintf(dir, sizeof(dir), "%s/pg-audit-bench.XXXXXX",
	    base != NULL ? base : "/var/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	snprintf(key, sizeof(key), "%s/bench.key", dir);
	if (audit_keygen(key) != PG_OK) {
		fprintf(stderr, "keygen failed\n");
		return 1;
	}
	printf("audit log benchmark in %s (checkpoint every 1000, "
	       "batch_ms 10)\n",
	    dir);
	baseline(dir, 400000);
	if (batched < 4 || batched > 100000000) {
		fprintf(stderr, "PG_BENCH_RECORDS: 4..100000000\n");
		return 1;
	}
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		if (only == NULL ||
		    strncmp(runs[i].name, only, strlen(only)) == 0)
			bad |= run(dir, key, &runs[i]) != 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		bad = 1;
	return bad;
}
