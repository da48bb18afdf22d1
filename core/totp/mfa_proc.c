/*
 * mfa_proc.c - is a session leader still running?  Read from
 * /proc/PID/stat: the process's state and start time.  Anything /proc
 * cannot answer counts as ended, so a doubt never keeps a ticket alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/mfa_ticket_int.h"

#define STAT_MAX 1024 /* the comm field is at most 16 bytes */

int
mfa_proc_start(pid_t pid, long long *start)
{
	char path[64], buf[STAT_MAX + 1], *p, *f;
	ssize_t n;
	int fd, i;

	*start = 0;
	if (pid < 1)
		return PG_ERR_NOTFOUND;
	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT || errno == ESRCH ? PG_ERR_NOTFOUND
		                                         : PG_ERR_IO;
	while ((n = read(fd, buf, STAT_MAX)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n < 0)
		return errno == ESRCH ? PG_ERR_NOTFOUND : PG_ERR_IO;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and ')'. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return PG_ERR_CORRUPT;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return PG_ERR_NOTFOUND;
	/* Field 22, the start time, is the 20th after the comm. */
	for (i = 0; i < 19; i++) {
		if ((p = strchr(p, ' ')) == NULL)
			return PG_ERR_CORRUPT;
		p++;
	}
	if ((f = strchr(p, ' ')) == NULL)
		return PG_ERR_CORRUPT;
	*f = '\0';
	return pg_parse_num(p, 999999999999999999LL, start);
}

bool
mfa_proc_alive(const struct mfa_proc *p)
{
	long long start;

	if (p->pid < 2 || p->pid > 0x7fffffffLL)
		return false;
	return mfa_proc_start((pid_t)p->pid, &start) == PG_OK &&
	    start == p->start;
}
