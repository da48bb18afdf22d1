/*
 * helpers.h - what the audit tests share: a scratch directory with a
 * signing key, writing a log of test records, and reading and rewriting
 * the log file's lines.
 */
#ifndef PG_TEST_AUDIT_HELPERS_H
#define PG_TEST_AUDIT_HELPERS_H

#include <stddef.h>

#include "core/audit/audit.h"

struct fixture {
	char dir[256];
	char log[300];
	char key[300];
	char pub[300];
};

/* Makes a fresh directory with a key; returns 0 on success. */
int fx_setup(struct fixture *fx);
void fx_teardown(struct fixture *fx);

/* Default options: component "test", host "testhost", FSYNC. */
void fx_opts(struct audit_opts *o, int checkpoint_every);

/* Writes N events (actor user<i % 3>, patient P<i % 4>, event
 * gateway.open, uid/pid/bytes set) and closes. */
int fx_write_events(const struct fixture *fx, int n, int checkpoint_every);

/* The log's lines (newline kept); the array and the strings are one
 * allocation freed with free(). */
struct lines {
	const char **line;
	size_t n;
	char *tail; /* bytes after the last newline, or "" */
};
int fx_read_lines(const char *path, struct lines **out);
int fx_write_lines(const char *path, const struct lines *l);
int fx_write_raw(const char *path, const char *buf, size_t len);
char *fx_slurp(const char *path, size_t *len);

/* Verifies FX's log with its public key. */
int fx_verify(const struct fixture *fx, struct audit_verify_result *res);

/* Hex of BLAKE2b-256 over BUF. */
void fx_hash_hex(const char *buf, size_t len, char *out);

#endif
