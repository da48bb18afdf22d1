/*
 * helpers.c - scratch directories, test logs and line surgery for the
 * audit tests.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "helpers.h"

int
fx_setup(struct fixture *fx)
{
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pg-audit-test.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->log, sizeof(fx->log), "%s/audit.log", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/audit.key", fx->dir);
	snprintf(fx->pub, sizeof(fx->pub), "%s/audit.key.pub", fx->dir);
	return audit_keygen(fx->key);
}

void
fx_teardown(struct fixture *fx)
{
	char cmd[400];

	if (fx->dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
}

void
fx_opts(struct audit_opts *o, int checkpoint_every)
{
	memset(o, 0, sizeof(*o));
	o->component = "test";
	o->host = "testhost";
	o->checkpoint_every = checkpoint_every;
	o->durability = PG_DURABLE_FSYNC;
}

int
fx_write_events(const struct fixture *fx, int n, int checkpoint_every)
{
	static const char *const users[] = { "alice", "bob", "carol" };
	struct audit_opts o;
	struct audit_event ev;
	struct audit_log *log;
	char obj[64], pat[16];
	int i, r;

	fx_opts(&o, checkpoint_every);
	if ((r = audit_open_path(fx->log, fx->key, &o, &log)) != PG_OK)
		return r;
	for (i = 0; i < n; i++) {
		audit_event_init(&ev);
		snprintf(pat, sizeof(pat), "P%d", i % 4);
		snprintf(obj, sizeof(obj), "/store/%s/img%d.jpg", pat, i);
		ev.actor = users[i % 3];
		ev.event = "gateway.open";
		ev.object = obj;
		ev.decision = i % 5 == 4 ? "deny" : "allow";
		ev.rule = "clinic.policy:12";
		ev.reason = "care team member";
		ev.patient = pat;
		ev.process = "eog";
		ev.uid = 1000 + i % 3;
		ev.pid = 4242;
		ev.bytes = 1234567;
		if ((r = audit_write(log, &ev)) != PG_OK) {
			audit_free(log);
			return r;
		}
	}
	return audit_close(log);
}

char *
fx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

int
fx_read_lines(const char *path, struct lines **out)
{
	struct lines *l;
	size_t len, n = 0, i, k = 0;
	char *buf, *copy, *p;

	*out = NULL;
	if ((buf = fx_slurp(path, &len)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		n += buf[i] == '\n';
	l = malloc(sizeof(*l) + (n + 1) * sizeof(char *) + len + n + 2);
	if (l == NULL) {
		free(buf);
		return -1;
	}
	l->line = (const char **)(l + 1);
	copy = (char *)(l->line + n + 1);
	p = buf;
	for (i = 0; i < n; i++) {
		char *nl = strchr(p, '\n');
		size_t ll = (size_t)(nl - p) + 1;

		l->line[i] = copy + k;
		memcpy(copy + k, p, ll);
		copy[k + ll] = '\0';
		k += ll + 1;
		p = nl + 1;
	}
	l->tail = copy + k;
	memcpy(l->tail, p, len - (size_t)(p - buf) + 1);
	l->n = n;
	free(buf);
	*out = l;
	return 0;
}

int
fx_write_raw(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int r = 0;

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(buf, 1, len, f) != len)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

int
fx_write_lines(const char *path, const struct lines *l)
{
	FILE *f = fopen(path, "wb");
	size_t i;
	int r = 0;

	if (f == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		if (l->line[i] != NULL && fputs(l->line[i], f) < 0)
			r = -1;
	if (fputs(l->tail, f) < 0)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

int
fx_verify(const struct fixture *fx, struct audit_verify_result *res)
{
	return audit_verify(fx->log, fx->pub, res);
}

void
fx_hash_hex(const char *buf, size_t len, char *out)
{
	unsigned char h[32];

	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)buf, len, NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
