/*
 * lock.c - the one wait for a flock() with a deadline, for the state
 * files every writer locks (the lockout and TOTP stores, the audit log).
 */
#include <errno.h>
#include <sched.h>
#include <sys/file.h>
#include <time.h>

#include "base/base.h"
#include "core/state/state.h"

#define SPINS     32   /* yields before the first sleep */
#define NAP_MIN   20   /* microseconds, doubled each sleep ... */
#define NAP_MAX   1000 /* ... up to a millisecond */
#define NS_PER_S  1000000000L
#define NS_PER_MS 1000000L

static int
past(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > end->tv_sec ||
	    (now.tv_sec == end->tv_sec && now.tv_nsec >= end->tv_nsec);
}

int
pg_flock(int fd, int op, int timeout_ms)
{
	struct timespec end, nap = { 0, 0 };
	long step_us = NAP_MIN;
	int spins = 0;

	if (fd < 0 || (op != LOCK_EX && op != LOCK_SH))
		return PG_ERR_INVAL;
	if (timeout_ms < 0)
		timeout_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * NS_PER_MS;
	if (end.tv_nsec >= NS_PER_S) {
		end.tv_sec++;
		end.tv_nsec -= NS_PER_S;
	}
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return PG_OK;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return PG_ERR_IO;
		if (past(&end))
			return PG_ERR_LOCKED;
		/* Most holders let go within microseconds (one audit
		 * append): yield first, then sleep, doubling, so that a
		 * waiter neither burns a core nor oversleeps a short hold.
		 * The deadline is the clock's, not a sum of naps. */
		if (spins < SPINS) {
			spins++;
			sched_yield();
			continue;
		}
		nap.tv_nsec = step_us * 1000;
		nanosleep(&nap, NULL);
		step_us = step_us * 2 < NAP_MAX ? step_us * 2 : NAP_MAX;
	}
}
