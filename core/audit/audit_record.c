/*
 * audit_record.c - the JSON objects an audit writer builds its records
 * in: one value object per field, changed in place, and jansson encodes a
 * key once and a value only when it changes, since most fields repeat
 * from one record to the next (docs/gateway.md, "How an audit record is
 * written fast").  The test audit_bytes holds the output to jansson's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit/audit_int.h"
#include "core/audit/audit_record.h"
#include "base/base.h"
#include "core/state/state.h"

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
	[AF_PK] = "pk",
	[AF_FRAGMENT_BYTES] = "fragment_bytes",
	[AF_FRAGMENT_HASH] = "fragment_hash",
	[AF_PREV] = "prev",
};

struct shape {
	uint32_t have, null; /* fields present; of those, the null ones */
	json_t *obj;         /* NULL: slot unused */
};

/* Bytes jansson wrote: a key with its colon, or a value. */
struct piece {
	char *p;
	size_t len, cap;
	bool ok; /* p holds the current key or value */
};

struct audit_rec {
	json_t *val[AF_COUNT]; /* shared by every shape that has the field */
	uint32_t have, null;   /* the record being built */
	struct shape shape[SHAPES];
	unsigned next; /* the slot the next new shape takes */
	struct piece key[AF_COUNT], enc[AF_COUNT];
	char scratch[AUDIT_MAX_FIELD];
};

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)

/* Makes room for N bytes in P. */
static int
reserve(struct piece *p, size_t n)
{
	char *np;

	if (n <= p->cap)
		return PG_OK;
	if ((np = realloc(p->p, n)) == NULL)
		return PG_ERR_NOMEM;
	p->p = np;
	p->cap = n;
	return PG_OK;
}

/* Does jansson write S[0..LEN) as itself between quotes, with DUMP_FLAGS?
 * It escapes the quote, the backslash and control characters, anything
 * past ASCII (JSON_ENSURE_ASCII), and '/' only with JSON_ESCAPE_SLASH,
 * which DUMP_FLAGS leaves out.  DEL is left to jansson too. */
static bool
plain_ascii(const char *s, size_t len)
{
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* Writes what jansson writes for the integer or the plain ASCII string V
 * into P; 1 if V is neither (jansson must write it).  Most values of a
 * record are plain (paths, names, rules, reasons): written here they skip
 * a jansson dump, which the gateway would pay on every open and close. */
static int
encode_plain(struct piece *p, const json_t *v)
{
	char tmp[24], *t = tmp + sizeof(tmp);
	unsigned long long u;
	const char *s;
	long long i;
	size_t n;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		u = i < 0 ? 0ULL - (unsigned long long)i
		          : (unsigned long long)i;
		do
			*--t = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (i < 0)
			*--t = '-';
		n = (size_t)(tmp + sizeof(tmp) - t);
		if (reserve(p, n) != PG_OK)
			return PG_ERR_NOMEM;
		memcpy(p->p, t, n);
		p->len = n;
		return PG_OK;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (!plain_ascii(s, n))
		return 1;
	if (reserve(p, n + 2) != PG_OK)
		return PG_ERR_NOMEM;
	p->p[0] = '"';
	memcpy(p->p + 1, s, n);
	p->p[n + 1] = '"';
	p->len = n + 2;
	return PG_OK;
}

/* Puts into P what jansson writes for V alone, then SUFFIX; with PLAIN,
 * writes V itself if it has nothing to escape. */
static int
encode(struct piece *p, const json_t *v, const char *suffix, bool plain)
{
	size_t n, s = strlen(suffix);
	char *np;
	int r;

	if (plain && (r = encode_plain(p, v)) != 1) {
		p->ok = r == PG_OK;
		return r;
	}
	n = json_dumpb(v, p->p, p->cap, DUMP_FLAGS | JSON_ENCODE_ANY);
	if (n == 0)
		return PG_ERR_NOMEM;
	if (n + s > p->cap) {
		if ((np = realloc(p->p, n + s)) == NULL)
			return PG_ERR_NOMEM;
		p->p = np;
		p->cap = n + s;
		if (json_dumpb(v, p->p, p->cap, DUMP_FLAGS | JSON_ENCODE_ANY) !=
		    n)
			return PG_ERR_NOMEM;
	}
	memcpy(p->p + n, suffix, s);
	p->len = n + s;
	p->ok = true;
	return PG_OK;
}

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
	for (i = 0; i < AF_COUNT; i++) {
		json_decref(rc->val[i]);
		free(rc->key[i].p);
		free(rc->enc[i].p);
	}
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
	if (!(INTS & BIT(f)))
		return PG_ERR_INVAL;
	if (json_integer_value(rc->val[f]) != v) {
		if (json_integer_set(rc->val[f], v) != 0)
			return PG_ERR_INVAL;
		rc->enc[f].ok = false;
	}
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
	if (json_string_length(v) != len ||
	    memcmp(json_string_value(v), s, len) != 0) {
		if (json_string_setn_nocheck(v, s, len) != 0)
			return PG_ERR_NOMEM;
		rc->enc[f].ok = false;
	}
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
audit_rec_clean(struct audit_rec *rc, enum audit_field f, const char *s)
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
	/* pg_escape(PG_ESC_JSON) lets only valid UTF-8 through, as jansson
	 * judges it: no NUL, overlong form, surrogate or code point past
	 * U+10FFFF, and never half a character at the cut. */
	if (cap > sizeof(rc->scratch))
		cap = sizeof(rc->scratch);
	len = pg_escape(s, rc->scratch, cap, PG_ESC_JSON);
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

/* Appends N bytes at P to BUF[*AT..SIZE) as far as they fit; *AT counts
 * them all. */
static void
put(char *buf, size_t size, size_t *at, const char *p, size_t n)
{
	if (*at < size)
		memcpy(buf + *at, p, n < size - *at ? n : size - *at);
	*at += n;
}

/* Writes each field set as "key":value, with a comma before every field
 * (LEAD) or between fields only, into BUF[*AT..SIZE) as put() does. */
static int
dump_fields(struct audit_rec *rc, char *buf, size_t size, size_t *at, bool lead)
{
	json_t *key;
	bool first = !lead;
	int f;

	for (f = 0; f < AF_COUNT; f++) {
		if (!(rc->have & BIT(f)))
			continue;
		if (!rc->key[f].ok) {
			key = json_stringn_nocheck(keys[f], strlen(keys[f]));
			if (key == NULL ||
			    encode(&rc->key[f], key, ":", false) != 0) {
				json_decref(key);
				return PG_ERR_NOMEM;
			}
			json_decref(key);
		}
		if (!(rc->null & BIT(f)) && !rc->enc[f].ok &&
		    encode(&rc->enc[f], rc->val[f], "", true) != 0)
			return PG_ERR_NOMEM;
		if (!first)
			put(buf, size, at, ",", 1);
		first = false;
		put(buf, size, at, rc->key[f].p, rc->key[f].len);
		if (rc->null & BIT(f))
			put(buf, size, at, "null", 4);
		else
			put(buf, size, at, rc->enc[f].p, rc->enc[f].len);
	}
	return PG_OK;
}

size_t
audit_rec_dump(struct audit_rec *rc, char *buf, size_t size)
{
	size_t at = 0;

	put(buf, size, &at, "{", 1);
	if (dump_fields(rc, buf, size, &at, false) != PG_OK)
		return 0;
	put(buf, size, &at, "}", 1);
	return at;
}

size_t
audit_rec_dump_body(struct audit_rec *rc, char *buf, size_t size)
{
	size_t at = 0;

	if (dump_fields(rc, buf, size, &at, true) != PG_OK)
		return 0;
	return at;
}
