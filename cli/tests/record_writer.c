/*
 * record_writer.c - test helper: appends records to an audit log through
 * the real audit writer, with the fields the gateway, the PAM module and
 * the admin verbs set.  One record per line of stdin, its fields as
 * KEY=VALUE separated by tabs (actor, event, object, decision, rule,
 * reason, patient, process, service, rhost, tty, uid, pid, bytes); a
 * value may hold \t, \n, \\ and \xNN, so a test can write any bytes.
 * usage: record_writer LOG KEY|-; exits 0 only if every line was written.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit/audit.h"
#include "base/base.h"

#define LINE_MAX_W 8192
#define FIELDS     16

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes the escapes of V in place. */
static int
unescape(char *v)
{
	char *o = v;
	int h, l;

	while (*v != '\0') {
		if (*v != '\\') {
			*o++ = *v++;
			continue;
		}
		v++;
		if (*v == 't')
			*o++ = '\t';
		else if (*v == 'n')
			*o++ = '\n';
		else if (*v == '\\')
			*o++ = '\\';
		else if (*v == 'x' && (h = hexval(v[1])) >= 0 &&
		    (l = hexval(v[2])) >= 0 && (h | l) != 0) {
			*o++ = (char)(h << 4 | l);
			v += 2;
		} else
			return PG_ERR_INVAL;
		v++;
	}
	*o = '\0';
	return PG_OK;
}

static int
set_field(struct audit_event *ev, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{ "actor", offsetof(struct audit_event, actor) },
		{ "event", offsetof(struct audit_event, event) },
		{ "object", offsetof(struct audit_event, object) },
		{ "decision", offsetof(struct audit_event, decision) },
		{ "rule", offsetof(struct audit_event, rule) },
		{ "reason", offsetof(struct audit_event, reason) },
		{ "patient", offsetof(struct audit_event, patient) },
		{ "process", offsetof(struct audit_event, process) },
		{ "service", offsetof(struct audit_event, service) },
		{ "rhost", offsetof(struct audit_event, rhost) },
		{ "tty", offsetof(struct audit_event, tty) },
	};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strcmp(k, strs[i].key) == 0) {
			*(const char **)((char *)ev + strs[i].off) = v;
			return PG_OK;
		}
	if (strcmp(k, "uid") == 0)
		ev->uid = strtol(v, NULL, 10);
	else if (strcmp(k, "pid") == 0)
		ev->pid = strtol(v, NULL, 10);
	else if (strcmp(k, "bytes") == 0)
		ev->bytes = strtoll(v, NULL, 10);
	else
		return PG_ERR_INVAL;
	return PG_OK;
}

static int
to_event(char *line, struct audit_event *ev)
{
	char *f = line, *next, *eq;
	int r = PG_OK, n = 0;

	audit_event_init(ev);
	for (; f != NULL && r == PG_OK; f = next) {
		if ((next = strchr(f, '\t')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(f, '=')) == NULL || ++n > FIELDS)
			return PG_ERR_INVAL;
		*eq = '\0';
		if ((r = unescape(eq + 1)) == PG_OK)
			r = set_field(ev, f, eq + 1);
	}
	if (r == PG_OK && (ev->event == NULL || ev->decision == NULL))
		r = PG_ERR_INVAL;
	return r;
}

int
main(int argc, char **argv)
{
	char line[LINE_MAX_W];
	struct audit_event ev;
	struct audit_log *log;
	struct audit_opts o;
	long n = 0;
	int r;

	if (argc != 3) {
		fputs("usage: record_writer LOG KEY|- < RECORDS\n", stderr);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.component = "gateway";
	o.checkpoint_every = 5;
	r = audit_open_path(
	    argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &o, &log);
	while (r == PG_OK && fgets(line, sizeof(line), stdin) != NULL) {
		n++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((r = to_event(line, &ev)) == PG_OK)
			r = audit_write(log, &ev);
	}
	if (r == PG_OK)
		r = audit_close(log);
	else
		audit_free(log);
	if (r != PG_OK) {
		fprintf(
		    stderr, "record_writer: line %ld: %s\n", n, pg_strerror(r));
		return 1;
	}
	return 0;
}
