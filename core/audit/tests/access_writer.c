/*
 * access_writer.c - test helper: writes the gateway's access records from
 * a script on stdin, one per line, the way the gateway records them:
 *   open USER PATIENT PATH [BYTES]   gateway.open, decision allow
 *   deny USER PATIENT PATH           gateway.open, decision deny
 *   release USER PATIENT|- PATH BYTES  gateway.release, decision info
 *   event USER EVENT                 any other event, decision info
 * usage: access_writer LOG KEY|-; exits 0 only if every line was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit/audit.h"
#include "base/base.h"

#define LINE_MAX_W 1024
#define WORDS      5

/* Splits LINE at spaces into at most WORDS words; returns their number. */
static int
split(char *line, char **w)
{
	int n = 0;
	char *p = line;

	while (n < WORDS && *p != '\0') {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		w[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return n;
}

static int
to_event(char **w, int n, struct audit_event *ev)
{
	audit_event_init(ev);
	if (n < 3)
		return PG_ERR_INVAL;
	ev->actor = w[1];
	ev->reason = "test";
	if (strcmp(w[0], "event") == 0) {
		ev->event = w[2];
		ev->decision = "info";
		return PG_OK;
	}
	if (n < 4)
		return PG_ERR_INVAL;
	ev->patient = strcmp(w[2], "-") != 0 ? w[2] : NULL;
	ev->object = w[3];
	ev->event = "gateway.open";
	ev->decision = "allow";
	if (n == 5)
		ev->bytes = strtoll(w[4], NULL, 10);
	if (strcmp(w[0], "deny") == 0)
		ev->decision = "deny";
	else if (strcmp(w[0], "release") == 0) {
		ev->event = "gateway.release";
		ev->decision = "info";
	} else if (strcmp(w[0], "open") != 0)
		return PG_ERR_INVAL;
	return PG_OK;
}

int
main(int argc, char **argv)
{
	char line[LINE_MAX_W], *w[WORDS];
	struct audit_event ev;
	struct audit_log *log;
	struct audit_opts o;
	size_t len;
	int r, n;

	if (argc != 3) {
		fputs("usage: access_writer LOG KEY|- < SCRIPT\n", stderr);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.component = "gateway";
	o.checkpoint_every = 5;
	r = audit_open_path(
	    argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &o, &log);
	while (r == PG_OK && fgets(line, sizeof(line), stdin) != NULL) {
		len = strcspn(line, "\n");
		line[len] = '\0';
		if ((n = split(line, w)) == 0)
			continue;
		if ((r = to_event(w, n, &ev)) == PG_OK)
			r = audit_write(log, &ev);
	}
	if (r == PG_OK)
		r = audit_close(log);
	else
		audit_free(log);
	if (r != PG_OK) {
		fprintf(stderr, "access_writer: %s\n", pg_strerror(r));
		return 1;
	}
	return 0;
}
