/*
 * audit_record.h - the JSON objects an audit writer builds its records in,
 * kept from one record to the next so that an append allocates almost
 * nothing.  Used by audit_append.c; not a public interface.
 */
#ifndef PG_AUDIT_RECORD_H
#define PG_AUDIT_RECORD_H

#include <stddef.h>

#include <jansson.h>

/* The fields a record can have, in the order a record has them
 * (docs/audit-format.md). */
enum audit_field {
	AF_SEQ,
	AF_TIME,
	AF_HOST,
	AF_ACTOR,
	AF_EVENT,
	AF_OBJECT,
	AF_DECISION,
	AF_RULE,
	AF_REASON,
	AF_UID,
	AF_PID,
	AF_PATIENT,
	AF_PROCESS,
	AF_SERVICE,
	AF_RHOST,
	AF_TTY,
	AF_BYTES,
	AF_KEY_ID,
	AF_SIG,
	AF_PK,
	AF_FRAGMENT_BYTES,
	AF_FRAGMENT_HASH,
	AF_PREV,
	AF_COUNT
};

struct audit_rec;

/* Returns a new builder, or NULL.  Free it with audit_rec_free(); NULL is
 * a no-op. */
struct audit_rec *audit_rec_new(void);
void audit_rec_free(struct audit_rec *rc);

/* Starts a record with no fields. */
void audit_rec_clear(struct audit_rec *rc);

/* Sets an integer field (seq, uid, pid, bytes, fragment_bytes). */
int audit_rec_int(struct audit_rec *rc, enum audit_field f, long long v);

/* Sets a string field to S, which the writer made itself and is ASCII:
 * a time, a key id, a hex hash or signature. */
int audit_rec_ascii(struct audit_rec *rc, enum audit_field f, const char *s);

/* Sets a string field to S, which pg_escape(PG_ESC_JSON) wrote. */
int audit_rec_clean(struct audit_rec *rc, enum audit_field f, const char *s);

/* Sets a string field to S passed through pg_escape(PG_ESC_JSON) with CAP
 * bytes (at most AUDIT_MAX_FIELD), or to null when S is NULL. */
int audit_rec_text(
    struct audit_rec *rc, enum audit_field f, const char *s, size_t cap);

/*
 * Writes the record as json_dumpb() of audit_rec_json() with JSON_COMPACT
 * and JSON_ENSURE_ASCII would, without the NUL, into BUF of SIZE bytes.
 * Returns its length (more than SIZE: it did not fit, BUF holds a part),
 * or 0 when out of memory.
 */
size_t audit_rec_dump(struct audit_rec *rc, char *buf, size_t size);

/*
 * Writes the fields set as audit_rec_dump() does, but each after a comma
 * and without the braces: the middle of a record whose first two fields
 * (seq, time) and last (prev) the writer adds under the log's lock.  Returns as
 * audit_rec_dump(); 0 also when no field is set.
 */
size_t audit_rec_dump_body(struct audit_rec *rc, char *buf, size_t size);

/* Returns the record holding the fields set since audit_rec_clear(), in
 * field order, or NULL.  RC owns it: it is valid until the next call and
 * changes with the next record. */
json_t *audit_rec_json(struct audit_rec *rc);

#endif /* PG_AUDIT_RECORD_H */
