/*
 * gw_audit.c - the gateway's audit records: who (user, uid, pid, process
 * name from /proc/PID/comm), what (event, path, patient), the decision
 * and the rule or limit behind it.  The audit layer escapes every string,
 * so a process or file name cannot forge a record.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/audit/audit.h"
#include "base/base.h"
#include "gateway/gw.h"

void
gw_comm_of(pid_t pid, char *buf, size_t len)
{
	char p[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (pid <= 0)
		return;
	snprintf(p, sizeof(p), "/proc/%ld/comm", (long)pid);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
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
