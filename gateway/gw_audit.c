/*
 * gw_audit.c - the gateway's audit records: who (user, uid, pid, process
 * name from /proc/PID/comm), what (event, path, patient), the decision
 * and the rule or limit behind it.  The audit layer escapes every string,
 * so a process or file name cannot forge a record.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/audit/audit.h"
#include "base/base.h"
#include "gateway/gw.h"

/* /proc/PID/comm descriptors of the processes that opened last, one slot
 * per pid modulo COMM_SLOTS: a program reading many photos is named by
 * one pread() per open instead of an open, a read and a close.  A kept
 * descriptor cannot name another process: once its process is gone its
 * reads fail (ESRCH), even if the pid is reused, and the slot is opened
 * anew.  Each read is fresh, so a renamed process shows its new name. */
#define COMM_SLOTS 32

static struct {
	pid_t pid; /* 0: the slot is empty */
	int fd;
} comm_slot[COMM_SLOTS];
static pthread_mutex_t comm_mu = PTHREAD_MUTEX_INITIALIZER;

static ssize_t
comm_read(pid_t pid, char *buf, size_t len)
{
	unsigned int i = (unsigned int)pid % COMM_SLOTS;
	char p[64];
	ssize_t n = -1;
	int fd;

	pthread_mutex_lock(&comm_mu);
	if (comm_slot[i].pid == pid)
		n = pread(comm_slot[i].fd, buf, len - 1, 0);
	if (n <= 0) {
		snprintf(p, sizeof(p), "/proc/%ld/comm", (long)pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (comm_slot[i].pid != 0)
			close(comm_slot[i].fd);
		comm_slot[i].pid = fd < 0 ? 0 : pid;
		comm_slot[i].fd = fd;
		n = fd < 0 ? -1 : pread(fd, buf, len - 1, 0);
	}
	pthread_mutex_unlock(&comm_mu);
	return n;
}

void
gw_comm_of(pid_t pid, char *buf, size_t len)
{
	ssize_t n;

	buf[0] = '\0';
	if (pid <= 0 || len < 2)
		return;
	if ((n = comm_read(pid, buf, len)) <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
}

int
gw_audit(struct gw *g, const struct gw_req *r, const char *event,
    const char *decision, const char *rule, const char *reason, long long bytes)
{
	struct audit_event ev;
	char comm[GW_COMM_MAX];
	char who[32];
	int rc;

	if (g->audit == NULL)
		return PG_ERR_IO;
	audit_event_init(&ev);
	if (r->process != NULL)
		snprintf(comm, sizeof(comm), "%s", r->process);
	else
		gw_comm_of(r->pid, comm, sizeof(comm));
	if (r->user != NULL && r->user[0] != '\0') {
		ev.actor = r->user;
	} else {
		snprintf(who, sizeof(who), "uid:%lu", (unsigned long)r->uid);
		ev.actor = who;
	}
	ev.event = event;
	ev.object = r->path != NULL ? (r->path[0] ? r->path : "/") : NULL;
	ev.decision = decision;
	ev.rule = rule;
	ev.reason = reason;
	ev.patient = r->patient != NULL && r->patient[0] ? r->patient : NULL;
	ev.process = comm[0] ? comm : NULL;
	ev.uid = (long)r->uid;
	ev.pid = r->pid > 0 ? (long)r->pid : -1;
	ev.bytes = bytes;
	/* Opens decided, for `photoguard metrics`: a limit's refusal is a
	 * refused open too. */
	if (strcmp(event, "gateway.open") == 0 && decision != NULL &&
	    strcmp(decision, "allow") == 0)
		atomic_fetch_add(&g->opens_allowed, 1);
	else if (strcmp(event, "gateway.open") == 0 ||
	    (strcmp(event, "gateway.limit") == 0 && decision != NULL &&
	        strcmp(decision, "deny") == 0))
		atomic_fetch_add(&g->opens_denied, 1);
	rc = audit_write(g->audit, &ev);
	gw_audit_failed(g, rc);
	return rc;
}
