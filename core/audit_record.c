/*
 * audit_record.c - the JSON objects an audit writer builds its records in.
 * Each field has one value object, kept and changed in place; each shape
 * of record (which fields it has, which of them are null) has one object
 * holding those values under their keys, built once in field order.
 * jansson still serialises every record; it no longer checks the UTF-8
 * that audit_sanitize() guarantees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit_int.h"
#include "core/audit_record.h"
#include "core/errors.h"

/* Shapes kept: a component writes events of a few shapes, checkpoints and
 * the rare repair; another shape replaces the oldest. */
#define SHAPES 8

#define BIT(f) ((uint32_t)1 << (f))
#define INTS                                                                   \
	(BIT(AF_SEQ) | BIT(AF_UID) | BIT(AF_PID) | BIT(AF_BYTES) |             \
	    BIT(AF_FRAGMENT_BYTES))

static const char *const keys[AF_COUNT] = {
	[AF_SEQ] = "seq",
	[AF_TIME] = "time",
	[AF_HOST] = "host",
	[AF_ACTOR] = "actor",
	[AF_EVENT] = "event",
	[AF_OBJECT] = "object",
	[AF_DECISION] = "decision",
	[AF_RULE] = "rule",
	[AF_REASON] = "reason",
	[AF_UID] = "uid",
	[AF_PID] = "pid",
	[AF_PATIENT] = "patient",
	[AF_PROCESS] = "process",
	[AF_SERVICE] = "service",
	[AF_RHOST] = "rhost",
	[AF_TTY] = "tty",
	[AF_BYTES] = "bytes",
	[AF_KEY_ID] = "key_id",
	[AF_SIG] = "sig",
	[AF_FRAGMENT_BYTES] = "fragment_bytes",
	[AF_FRAGMENT_HASH] = "fragment_hash",
	[AF_PREV] = "prev",
};

struct shape {
	uint32_t have, null; /* fields present; of those, the null ones */
	json_t *obj;         /* NULL: slot unused */
};

struct audit_rec {
	json_t *val[AF_COUNT]; /* shared by every shape that has the field */
	uint32_t have, null;   /* the record being built */
	struct shape shape[SHAPES];
	unsigned next; /* the slot the next new shape takes */
	char scratch[AUDIT_MAX_FIELD];
};

struct audit_rec *
audit_rec_new(void)
{
	struct audit_rec *rc = calloc(1, sizeof(*rc));
	int f;

	if (rc == NULL)
		return NULL;
	for (f = 0; f < AF_COUNT; f++) {
		rc->val[f] = INTS & BIT(f) ? json_integer(0)
		                           : json_stringn_nocheck("", 0);
		if (rc->val[f] == NULL) {
			audit_rec_free(rc);
			return NULL;
		}
	}
	return rc;
}

void
audit_rec_free(struct audit_rec *rc)
{
	int i;

	if (rc == NULL)
		return;
	for (i = 0; i < AF_COUNT; i++)
		json_decref(rc->val[i]);
	for (i = 0; i < SHAPES; i++)
		json_decref(rc->shape[i].obj);
	free(rc);
}

void
audit_rec_clear(struct audit_rec *rc)
{
	rc->have = 0;
	rc->null = 0;
}

int
audit_rec_int(struct audit_rec *rc, enum audit_field f, long long v)
{
	if (!(INTS & BIT(f)) || json_integer_set(rc->val[f], v) != 0)
		return PG_ERR_INVAL;
	rc->have |= BIT(f);
	rc->null &= ~BIT(f);
	return PG_OK;
}

/* S[0..LEN) is valid UTF-8 without NUL (the callers see to it), so
 * jansson's check can be skipped; an unchanged value is not copied. */
static int
set_string(struct audit_rec *rc, enum audit_field f, const char *s, size_t len)
{
	json_t *v = rc->val[f];

	if (INTS & BIT(f))
		return PG_ERR_INVAL;
	if ((json_string_length(v) != len ||
	        memcmp(json_string_value(v), s, len) != 0) &&
	    json_string_setn_nocheck(v, s, len) != 0)
		return PG_ERR_NOMEM;
	rc->have |= BIT(f);
	rc->null &= ~BIT(f);
	return PG_OK;
}

int
audit_rec_ascii(struct audit_rec *rc, enum audit_field f, const char *s)
{
	return set_string(rc, f, s, strlen(s));
}

int
audit_rec_text(
    struct audit_rec *rc, enum audit_field f, const char *s, size_t cap)
{
	size_t len;

	if (s == NULL) {
		rc->have |= BIT(f);
		rc->null |= BIT(f);
		return PG_OK;
	}
	/* audit_sanitize() lets only valid UTF-8 through, as jansson
	 * judges it: no NUL, overlong form, surrogate or code point past
	 * U+10FFFF, and never half a character at the cut. */
	if (cap > sizeof(rc->scratch))
		cap = sizeof(rc->scratch);
	len = audit_sanitize(s, rc->scratch, cap);
	return set_string(rc, f, rc->scratch, len);
}

/* A new object for the current shape, its keys inserted in field order
 * (jansson writes them in insertion order). */
static json_t *
build_shape(struct audit_rec *rc)
{
	json_t *o = json_object(), *v;
	int f;

	if (o == NULL)
		return NULL;
	for (f = 0; f < AF_COUNT; f++) {
		if (!(rc->have & BIT(f)))
			continue;
		v = rc->null & BIT(f) ? json_null() : json_incref(rc->val[f]);
		if (json_object_set_new_nocheck(o, keys[f], v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
audit_rec_json(struct audit_rec *rc)
{
	struct shape *s;
	json_t *o;
	int i;

	for (i = 0; i < SHAPES; i++) {
		s = &rc->shape[i];
		if (s->obj != NULL && s->have == rc->have &&
		    s->null == rc->null)
			return s->obj;
	}
	if ((o = build_shape(rc)) == NULL)
		return NULL;
	s = &rc->shape[rc->next];
	rc->next = (rc->next + 1) % SHAPES;
	json_decref(s->obj);
	s->obj = o;
	s->have = rc->have;
	s->null = rc->null;
	return o;
}
