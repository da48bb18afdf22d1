/*
 * audit_writer.c - test helper: appends records to an audit log the way a
 * component would.  usage: audit_writer LOG KEY|- COUNT ACTOR OBJECT
 * [PATIENT]; exits 0 only if every record was written and the log closed.
 * With AUDIT_WRITER_SYSLOG set, records and heads are sent to syslog too:
 * to the socket it names when it is a path, else to /dev/log.
 * AUDIT_WRITER_HOST, if set, is the host the records name;
 * AUDIT_WRITER_HEARTBEAT=N sends a heartbeat every N seconds and
 * AUDIT_WRITER_LINGER=N waits N seconds before closing, as an idle
 * gateway would.  For the rotation and size tests:
 * AUDIT_WRITER_DELAY_MS sleeps between records (a long-lived writer),
 * AUDIT_WRITER_PAD=N pads the reason and process fields to N bytes each
 * (big records), AUDIT_WRITER_BATCH groups the syncs.  For the key
 * tests: AUDIT_WRITER_EPOCH=N changes keys every N seconds, and
 * AUDIT_WRITER_SIGNER signs through a signer process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/audit/audit.h"
#include "base/base.h"

int
main(int argc, char **argv)
{
	struct audit_opts o;
	struct audit_event ev;
	struct audit_log *log;
	const char *pad = getenv("AUDIT_WRITER_PAD");
	const char *delay = getenv("AUDIT_WRITER_DELAY_MS");
	struct timespec ts = { 0, 0 };
	char *big = NULL;
	long i, n, npad = pad != NULL ? strtol(pad, NULL, 10) : 0;
	int r;

	if (argc < 6 || argc > 7) {
		fputs("usage: audit_writer LOG KEY|- COUNT ACTOR OBJECT "
		      "[PATIENT]\n",
		    stderr);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.component = "audit_writer";
	o.checkpoint_every = 4;
	o.syslog = getenv("AUDIT_WRITER_SYSLOG") != NULL;
	if (o.syslog && getenv("AUDIT_WRITER_SYSLOG")[0] == '/')
		o.syslog_socket = getenv("AUDIT_WRITER_SYSLOG");
	o.host = getenv("AUDIT_WRITER_HOST");
	if (getenv("AUDIT_WRITER_HEARTBEAT") != NULL)
		o.heartbeat_s =
		    (int)strtol(getenv("AUDIT_WRITER_HEARTBEAT"), NULL, 10);
	if (getenv("AUDIT_WRITER_EPOCH") != NULL)
		o.key_epoch_s =
		    (int)strtol(getenv("AUDIT_WRITER_EPOCH"), NULL, 10);
	o.signer = getenv("AUDIT_WRITER_SIGNER") != NULL;
	if (getenv("AUDIT_WRITER_BATCH") != NULL) {
		o.durability = PG_DURABLE_BATCH;
		o.checkpoint_every = 1000;
	}
	if (delay != NULL)
		ts.tv_nsec = strtol(delay, NULL, 10) * 1000000L;
	if (npad > 0 && npad < 4000 && (big = malloc((size_t)npad + 1))) {
		memset(big, 'x', (size_t)npad);
		big[npad] = '\0';
	}
	n = strtol(argv[3], NULL, 10);
	r = audit_open_path(
	    argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &o, &log);
	for (i = 0; r == PG_OK && i < n; i++) {
		audit_event_init(&ev);
		ev.actor = argv[4];
		ev.event = "gateway.open";
		ev.object = argv[5];
		ev.patient = argc > 6 ? argv[6] : NULL;
		ev.decision = "allow";
		ev.reason = big != NULL ? big : "test";
		ev.process = big;
		r = audit_write(log, &ev);
		if (ts.tv_nsec > 0)
			nanosleep(&ts, NULL);
	}
	if (r == PG_OK && getenv("AUDIT_WRITER_LINGER") != NULL)
		sleep(
		    (unsigned)strtol(getenv("AUDIT_WRITER_LINGER"), NULL, 10));
	if (r == PG_OK)
		r = audit_close(log);
	else
		audit_free(log);
	free(big);
	if (r != PG_OK) {
		fprintf(stderr, "audit_writer: %s\n", pg_strerror(r));
		return 1;
	}
	return 0;
}
