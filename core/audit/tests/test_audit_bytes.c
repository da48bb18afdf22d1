/*
 * test_audit_bytes.c - the exact bytes the writer puts in the log: field
 * order, null and absent fields, escaping of hostile names (ASCII only),
 * the cut of long fields and of every field on the retry of a record over
 * the maximum, records of many shapes in turn, the torn-tail record and
 * the closing checkpoint.  Only the time and the signature are taken from
 * the log; a change here breaks every reader and verifier of existing
 * logs.  Also: the writer's own assembly of a record from the pieces
 * jansson encoded is what jansson writes for the whole object, for random
 * records of every shape and hostile contents, and so is the body a writer
 * encodes before it takes the log's lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/audit/audit.h"
#include "core/audit/audit_record.h"
#include "base/base.h"
#include "cm_helpers.h"
#include "helpers.h"

#define BIG 100000

/* COUNT copies of UNIT, in a buffer the caller frees. */
static char *
repeat(const char *unit, size_t count)
{
	size_t ul = strlen(unit), i;
	char *s = malloc(ul * count + 1);

	assert_non_null(s);
	for (i = 0; i < count; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * count] = '\0';
	return s;
}

/* The time in LINE after "time":", checked to look like one. */
static void
take_time(const char *line, char *out)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	const char *t = strstr(line, ",\"time\":\"");
	size_t i;

	assert_non_null(t);
	t += 9;
	for (i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd')
			assert_true(t[i] >= '0' && t[i] <= '9');
		else
			assert_int_equal(t[i], pat[i]);
	assert_int_equal(t[i], '"');
	memcpy(out, t, i);
	out[i] = '\0';
}

/* Asserts LINE is {"seq":SEQ,"time":"...",BODY"prev":"..."} and a
 * newline, prev being the hash of PREVLINE (NULL: the genesis text). */
static void
assert_record(
    const char *line, long long seq, const char *body, const char *prevline)
{
	char time[40], prev[65], *want;
	size_t len;

	take_time(line, time);
	if (prevline == NULL)
		fx_hash_hex("photoguard audit log v1", 23, prev);
	else
		fx_hash_hex(prevline, strlen(prevline) - 1, prev);
	len = strlen(body) + 200;
	want = malloc(len);
	assert_non_null(want);
	snprintf(want, len,
	    "{\"seq\":%lld,\"time\":\"%s\",%s\"prev\":\"%s\"}\n", seq, time,
	    body, prev);
	assert_string_equal(line, want);
	free(want);
}

static void
write_event(struct audit_log *log, const struct audit_event *ev)
{
	assert_int_equal(audit_write(log, ev), PG_OK);
}

/* Every field set, each with something a naive writer would get wrong. */
static void
hostile_event(struct audit_event *ev)
{
	audit_event_init(ev);
	ev->actor = "al\"ice\\";
	ev->event = "gateway.open";
	ev->object = "a\nb\x01\x1b[31m\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	             "\xff\xc3(\xed\xa0\x80\xc0\xaf";
	ev->decision = "deny";
	ev->rule = "clinic.policy:42";
	ev->reason = "\t\r\v\f\b";
	ev->uid = 0;
	ev->pid = 1;
	ev->patient = "P0042";
	ev->process = "e\"og";
	ev->service = "sshd";
	ev->rhost = "10.0.0.1";
	ev->tty = "pts/0";
	ev->bytes = 9223372036854775807LL;
}

static const char hostile_body[] =
    "\"host\":\"testhost\",\"actor\":\"al\\\"ice\\\\\\\\\","
    "\"event\":\"gateway.open\","
    "\"object\":\"a\\nb\\u0001\\u001B[31m\\\\x7f/\\u00E9\\u20AC"
    "\\uD83D\\uDE00\\\\xff\\\\xc3(\\\\xed\\\\xa0\\\\x80\\\\xc0\\\\xaf\","
    "\"decision\":\"deny\",\"rule\":\"clinic.policy:42\","
    "\"reason\":\"\\t\\r\\u000B\\f\\b\",\"uid\":0,\"pid\":1,"
    "\"patient\":\"P0042\",\"process\":\"e\\\"og\",\"service\":\"sshd\","
    "\"rhost\":\"10.0.0.1\",\"tty\":\"pts/0\","
    "\"bytes\":9223372036854775807,";

/* Nothing optional, the nullable fields null, the component as actor. */
static const char bare_body[] =
    "\"host\":\"testhost\",\"actor\":\"test\",\"event\":\"pam.auth\","
    "\"object\":null,\"decision\":\"info\",\"rule\":null,\"reason\":null,";

static void
test_record_bytes(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;
	struct lines *l;

	hostile_event(&ev);
	write_event(log, &ev);
	audit_event_init(&ev);
	ev.event = "pam.auth";
	ev.decision = "info";
	write_event(log, &ev);
	/* the same shapes again, with other values */
	hostile_event(&ev);
	ev.uid = 1001;
	ev.patient = NULL;
	write_event(log, &ev);
	audit_event_init(&ev);
	ev.event = "pam.auth";
	ev.decision = "info";
	write_event(log, &ev);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 5);

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 5);
	assert_record(l->line[0], 1, hostile_body, NULL);
	assert_record(l->line[1], 2, bare_body, l->line[0]);
	assert_non_null(strstr(l->line[2],
	    "\"uid\":1001,\"pid\":1,"
	    "\"process\":"));
	assert_record(l->line[3], 4, bare_body, l->line[2]);
	free(l);
}

/* The body of the checkpoint in LINE, with its signature. */
static char *
checkpoint_body(const struct fixture *fx, const char *line)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], h[32];
	char *pub, kid[17], *body;
	const char *sig = strstr(line, ",\"sig\":\"");
	size_t len;

	pub = fx_slurp(fx->pub, &len);
	assert_non_null(pub);
	assert_int_equal(
	    sodium_hex2bin(pk, sizeof(pk), pub, len, "\n", NULL, NULL), 0);
	free(pub);
	crypto_generichash(h, sizeof(h), pk, sizeof(pk), NULL, 0);
	sodium_bin2hex(kid, sizeof(kid), h, 8);
	assert_non_null(sig);
	sig += 8;
	assert_true(strspn(sig, "0123456789abcdef") == 128);
	body = malloc(600);
	assert_non_null(body);
	snprintf(body, 600,
	    "\"host\":\"testhost\",\"actor\":\"test\","
	    "\"event\":\"audit.checkpoint\",\"object\":null,"
	    "\"decision\":\"info\",\"rule\":null,\"reason\":\"checkpoint\","
	    "\"key_id\":\"%s\",\"sig\":\"%.128s\",",
	    kid, sig);
	return body;
}

static void
test_checkpoint_and_torn_bytes(void **state)
{
	static const char frag[] = "{\"seq\":2,\"time\":\"2026";
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;
	struct lines *l;
	char body[400], hash[65], *ck;
	FILE *f;

	audit_event_init(&ev);
	ev.event = "pam.auth";
	ev.decision = "info";
	write_event(log, &ev);
	f = fopen(fx->log, "ab"); /* another writer died mid-record */
	assert_non_null(f);
	fputs(frag, f);
	assert_int_equal(fclose(f), 0);
	write_event(log, &ev);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 4);

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 4);
	fx_hash_hex(frag, strlen(frag), hash);
	snprintf(body, sizeof(body),
	    "\"host\":\"testhost\",\"actor\":\"test\","
	    "\"event\":\"audit.torn_tail\",\"object\":null,"
	    "\"decision\":\"error\",\"rule\":null,"
	    "\"reason\":\"removed %zu bytes of an unfinished record after "
	    "seq 1\",\"fragment_bytes\":%zu,\"fragment_hash\":\"%s\",",
	    strlen(frag), strlen(frag), hash);
	assert_record(l->line[1], 2, body, l->line[0]);
	assert_record(l->line[2], 3, bare_body, l->line[1]);
	ck = checkpoint_body(fx, l->line[3]);
	assert_record(l->line[3], 4, ck, l->line[2]);
	free(ck);
	free(l);
}

/* A long field is cut to at most AUDIT_MAX_FIELD - 1 bytes, before the
 * first character that would not fit whole. */
static void
test_long_field_bytes(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;
	struct lines *l;
	char *obj = repeat("x", AUDIT_MAX_FIELD + 10);
	char *want = malloc(AUDIT_MAX_FIELD + 300);

	assert_non_null(want);
	memcpy(obj + AUDIT_MAX_FIELD - 2, "\xc3\xa9", 2);
	audit_event_init(&ev);
	ev.event = "gateway.open";
	ev.decision = "allow";
	ev.object = obj;
	write_event(log, &ev);
	assert_int_equal(audit_close(log), PG_OK);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	snprintf(want, AUDIT_MAX_FIELD + 300,
	    "\"host\":\"testhost\",\"actor\":\"test\","
	    "\"event\":\"gateway.open\",\"object\":\"%.*s\","
	    "\"decision\":\"allow\",\"rule\":null,\"reason\":null,",
	    AUDIT_MAX_FIELD - 2, obj);
	assert_record(l->line[0], 1, want, NULL);
	free(l);
	free(want);
	free(obj);
}

/* Control characters grow sixfold in JSON: three full fields of them are
 * over the maximum, so the record is made again with every field cut to
 * 255 bytes, whole characters only. */
static void
test_retry_bytes(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;
	struct lines *l;
	char *ctl = repeat("\x01", BIG), *euro = repeat("\xe2\x82\xac", 200);
	char *ectl = repeat("\\u0001", 255), *eeuro = repeat("\\u20AC", 85);
	char *want = malloc(20000);

	assert_non_null(want);
	audit_event_init(&ev);
	ev.actor = "u";
	ev.event = "gateway.open";
	ev.decision = "allow";
	ev.object = ctl;
	ev.rule = ctl;
	ev.reason = ctl;
	ev.patient = euro;
	ev.uid = 7;
	write_event(log, &ev);
	ev.object = ev.rule = ev.reason = "short again";
	write_event(log, &ev);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 3);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	snprintf(want, 20000,
	    "\"host\":\"testhost\",\"actor\":\"u\",\"event\":\"gateway.open\","
	    "\"object\":\"%s\",\"decision\":\"allow\",\"rule\":\"%s\","
	    "\"reason\":\"%s\",\"uid\":7,\"patient\":\"%s\",",
	    ectl, ectl, ectl, eeuro);
	assert_record(l->line[0], 1, want, NULL);
	free(eeuro);
	eeuro = repeat("\\u20AC", 200);
	snprintf(want, 20000,
	    "\"host\":\"testhost\",\"actor\":\"u\",\"event\":\"gateway.open\","
	    "\"object\":\"short again\",\"decision\":\"allow\","
	    "\"rule\":\"short again\",\"reason\":\"short again\",\"uid\":7,"
	    "\"patient\":\"%s\",",
	    eeuro);
	assert_record(l->line[1], 2, want, l->line[0]);
	free(l);
	free(want);
	free(ctl);
	free(euro);
	free(ectl);
	free(eeuro);
}

/* A record of AUDIT_MAX_RECORD - 1 bytes, the most a line holds, is
 * written whole; a byte more and it is made again with every field cut to
 * 255 bytes. */
static void
test_largest_record_bytes(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_FSYNC);
	struct audit_event ev;
	struct lines *l;
	char *ctl = repeat("\x01", AUDIT_MAX_FIELD - 1), *pat, *rsn, *want;
	char *r255 = repeat("r", 255), *e255 = repeat("\\u0001", 255);
	char *e4095, *ep;
	size_t base, room, p, r;

	audit_event_init(&ev);
	ev.actor = "u";
	ev.event = "gateway.open";
	ev.decision = "allow";
	ev.object = ctl; /* 6 bytes a character in JSON */
	ev.rule = ctl;
	ev.patient = "";
	ev.reason = "";
	write_event(log, &ev);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	base = strlen(l->line[0]) - 1; /* seq 1: all but patient, reason */
	free(l);
	/* The patient's control characters and the reason's plain ones
	 * fill the line to the byte; seq 2 and 3 have seq 1's length. */
	room = AUDIT_MAX_RECORD - 1 - base;
	p = (room - 1000) / 6;
	r = room - 6 * p;
	pat = repeat("\x01", p);
	rsn = repeat("r", r + 1);
	rsn[r] = '\0';
	ev.patient = pat;
	ev.reason = rsn;
	write_event(log, &ev);
	rsn[r] = 'r';
	write_event(log, &ev);
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, 4);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, 4);
	assert_int_equal(strlen(l->line[1]), AUDIT_MAX_RECORD);
	rsn[r] = '\0';
	want = malloc(AUDIT_MAX_RECORD);
	assert_non_null(want);
	e4095 = repeat("\\u0001", AUDIT_MAX_FIELD - 1);
	ep = repeat("\\u0001", p);
	snprintf(want, AUDIT_MAX_RECORD,
	    "\"host\":\"testhost\",\"actor\":\"u\",\"event\":\"gateway.open\","
	    "\"object\":\"%s\",\"decision\":\"allow\",\"rule\":\"%s\","
	    "\"reason\":\"%s\",\"patient\":\"%s\",",
	    e4095, e4095, rsn, ep);
	assert_record(l->line[1], 2, want, l->line[0]);
	snprintf(want, AUDIT_MAX_RECORD,
	    "\"host\":\"testhost\",\"actor\":\"u\",\"event\":\"gateway.open\","
	    "\"object\":\"%s\",\"decision\":\"allow\",\"rule\":\"%s\","
	    "\"reason\":\"%s\",\"patient\":\"%s\",",
	    e255, e255, r255, e255);
	assert_record(l->line[2], 3, want, l->line[1]);
	free(want);
	free(l);
	free(ctl);
	free(pat);
	free(rsn);
	free(r255);
	free(e255);
	free(e4095);
	free(ep);
}

#define ROUNDS 3
#define KINDS  12 /* more shapes than the writer keeps */

/* Appends FMT to the body B, *N bytes long in CAP. */
static void
add(char *b, size_t *n, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(b + *n, cap - *n, fmt, ap);
	va_end(ap);
	assert_true(r > 0 && (size_t)r < cap - *n);
	*n += (size_t)r;
}

/* Event I of test_shapes_bytes, and in WANT the body it must have. */
static void
shape_event(
    int i, struct audit_event *ev, char bufs[6][32], char *want, size_t cap)
{
	unsigned m = (unsigned)(i % KINDS) * 37 % 256;
	size_t n = 0;

	audit_event_init(ev);
	ev->event = "gateway.open";
	ev->decision = "allow";
	snprintf(bufs[0], 32, "/o/%d", i);
	ev->object = i % 3 ? bufs[0] : NULL;
	snprintf(bufs[1], 32, "r%d", i);
	ev->rule = i % 4 ? bufs[1] : NULL;
	ev->reason = "why";
	add(want, &n, cap,
	    "\"host\":\"testhost\",\"actor\":\"test\","
	    "\"event\":\"gateway.open\",");
	add(want, &n, cap, i % 3 ? "\"object\":\"/o/%d\"," : "\"object\":null,",
	    i);
	add(want, &n, cap, "\"decision\":\"allow\",");
	add(want, &n, cap, i % 4 ? "\"rule\":\"r%d\"," : "\"rule\":null,", i);
	add(want, &n, cap, "\"reason\":\"why\",");
	if (m & 1) {
		ev->uid = 1000 + i;
		add(want, &n, cap, "\"uid\":%d,", 1000 + i);
	}
	if (m & 2) {
		ev->pid = 100 + i;
		add(want, &n, cap, "\"pid\":%d,", 100 + i);
	}
	if (m & 4) {
		snprintf(bufs[2], 32, "P%d", i);
		ev->patient = bufs[2];
		add(want, &n, cap, "\"patient\":\"P%d\",", i);
	}
	if (m & 8) {
		snprintf(bufs[3], 32, "proc%d", i);
		ev->process = bufs[3];
		add(want, &n, cap, "\"process\":\"proc%d\",", i);
	}
	if (m & 16) {
		ev->service = "svc";
		add(want, &n, cap, "\"service\":\"svc\",");
	}
	if (m & 32) {
		snprintf(bufs[4], 32, "10.0.0.%d", i);
		ev->rhost = bufs[4];
		add(want, &n, cap, "\"rhost\":\"10.0.0.%d\",", i);
	}
	if (m & 64) {
		snprintf(bufs[5], 32, "pts/%d", i);
		ev->tty = bufs[5];
		add(want, &n, cap, "\"tty\":\"pts/%d\",", i);
	}
	if (m & 128) {
		ev->bytes = 1000LL * i;
		add(want, &n, cap, "\"bytes\":%lld,", 1000LL * i);
	}
}

/* Records of many shapes in turn, each shape met again after others
 * replaced it: every record has its own fields and values, in order. */
static void
test_shapes_bytes(void **state)
{
	struct fixture *fx = *state;
	struct audit_log *log = fx_open_log(fx, 0, PG_DURABLE_BATCH);
	struct audit_event ev;
	struct lines *l;
	char bufs[6][32], want[1024];
	int i;

	for (i = 0; i < ROUNDS * KINDS; i++) {
		shape_event(i, &ev, bufs, want, sizeof(want));
		write_event(log, &ev);
	}
	assert_int_equal(audit_close(log), PG_OK);
	fx_assert_verifies(fx, ROUNDS * KINDS + 1);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	for (i = 0; i < ROUNDS * KINDS; i++) {
		shape_event(i, &ev, bufs, want, sizeof(want));
		assert_record(
		    l->line[i], i + 1, want, i > 0 ? l->line[i - 1] : NULL);
	}
	free(l);
}

/* A random string of up to MAX bytes into BUF: KIND 0 any byte but NUL,
 * 1 printable ASCII, 2 what a time or a hex hash is made of. */
static void
random_string(char *buf, size_t max, int kind)
{
	static const char plain[] = "0123456789abcdefTZ.:+-";
	size_t n = randombytes_uniform((uint32_t)max + 1), i;

	for (i = 0; i < n; i++)
		buf[i] = kind == 2
		    ? plain[randombytes_uniform(sizeof(plain) - 1)]
		    : kind == 1 ? (char)(0x20 + randombytes_uniform(0x5f))
		                : (char)(1 + randombytes_uniform(255));
	buf[n] = '\0';
}

static void
test_dump_matches_jansson(void **state)
{
	static const long long ints[] = { 0, 1, -1, 42, 1LL << 40, -(1LL << 62),
		9223372036854775807LL, -9223372036854775807LL - 1 };
	struct audit_rec *rc = audit_rec_new();
	char s[600], *mine = malloc(AUDIT_MAX_RECORD),
	             *theirs = malloc(AUDIT_MAX_RECORD), small[64];
	size_t n, m;
	json_t *o;
	int i, f, how;

	(void)state;
	assert_non_null(rc);
	assert_non_null(mine);
	assert_non_null(theirs);
	for (i = 0; i < 5000; i++) {
		audit_rec_clear(rc);
		for (f = 0; f < AF_COUNT; f++) {
			how = (int)randombytes_uniform(4); /* 0: absent */
			if (how == 0)
				continue;
			switch (f) {
			case AF_SEQ:
			case AF_UID:
			case AF_PID:
			case AF_BYTES:
			case AF_FRAGMENT_BYTES:
				assert_int_equal(
				    audit_rec_int(rc, f,
				        how == 1
				            ? (long long)randombytes_random()
				            : ints[randombytes_uniform(
				                  sizeof(ints) /
				                  sizeof(ints[0]))]),
				    PG_OK);
				break;
			case AF_TIME:
			case AF_KEY_ID:
			case AF_SIG:
			case AF_FRAGMENT_HASH:
			case AF_PREV:
				/* Like the writer's own (nothing to escape),
				 * or any printable ASCII. */
				random_string(s, 200, how == 2 ? 2 : 1);
				assert_int_equal(
				    audit_rec_ascii(rc, f, s), PG_OK);
				break;
			default:
				/* Null, a value repeated from the last
				 * record, or a new one. */
				if (how == 1) {
					assert_int_equal(
					    audit_rec_text(rc, f, NULL, 256),
					    PG_OK);
					break;
				}
				if (how == 3)
					random_string(s, sizeof(s) - 1,
					    (int)randombytes_uniform(2));
				else
					snprintf(s, sizeof(s), "same %d", f);
				assert_int_equal(
				    audit_rec_text(rc, f, s,
				        64 +
				            randombytes_uniform(
				                AUDIT_MAX_FIELD - 64)),
				    PG_OK);
			}
		}
		assert_non_null(o = audit_rec_json(rc));
		m = json_dumpb(o, theirs, AUDIT_MAX_RECORD,
		    JSON_COMPACT | JSON_ENSURE_ASCII);
		n = audit_rec_dump(rc, mine, AUDIT_MAX_RECORD);
		assert_true(m > 0 && m < AUDIT_MAX_RECORD);
		assert_int_equal(n, m);
		assert_memory_equal(mine, theirs, n);
		/* Too small a buffer: the length it needs, and no more
		 * written than it has. */
		memset(small, 'Z', sizeof(small));
		assert_int_equal(audit_rec_dump(rc, small, 16), m);
		assert_memory_equal(small, theirs, m < 16 ? m : 16);
		assert_int_equal(small[16], 'Z');
		/* The body a writer encodes before the log's lock: the
		 * same fields, each after a comma, without the braces. */
		n = audit_rec_dump_body(rc, mine, AUDIT_MAX_RECORD);
		if (m == 2) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(n, m - 1);
		assert_int_equal(mine[0], ',');
		assert_memory_equal(mine + 1, theirs + 1, m - 2);
	}
	audit_rec_free(rc);
	free(mine);
	free(theirs);
}

/* The bytes either side of what the writer writes without jansson
 * (printable ASCII but '"' and '\\'), alone and inside a path: each
 * record is what jansson dumps whole, and a changed value is re-encoded. */
static void
test_dump_edges(void **state)
{
	static const char *const vals[] = { "photos/P000001/s1/IMG_0001.jpg",
		"a b_c~d/e", "\x1f", " ", "~", "\x7f", "/", "\"", "\\", "x\"y",
		"x\\y", "x\x7fy", "x\ty", "caf\xc3\xa9", "",
		"photos/P000001/\"q\"", "bytes read" };
	struct audit_rec *rc = audit_rec_new();
	char mine[1024], theirs[1024];
	size_t i, n, m;
	json_t *o;

	(void)state;
	assert_non_null(rc);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		audit_rec_clear(rc);
		assert_int_equal(
		    audit_rec_int(rc, AF_SEQ, (long long)i), PG_OK);
		assert_int_equal(
		    audit_rec_text(rc, AF_OBJECT, vals[i], 256), PG_OK);
		assert_int_equal(
		    audit_rec_text(rc, AF_REASON,
		        vals[sizeof(vals) / sizeof(vals[0]) - 1 - i], 256),
		    PG_OK);
		assert_non_null(o = audit_rec_json(rc));
		m = json_dumpb(o, theirs, sizeof(theirs),
		    JSON_COMPACT | JSON_ENSURE_ASCII);
		n = audit_rec_dump(rc, mine, sizeof(mine));
		assert_true(m > 0 && m < sizeof(theirs));
		assert_int_equal(n, m);
		assert_memory_equal(mine, theirs, n);
	}
	audit_rec_free(rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_cm_setup, fx_cm_teardown)
		T(test_record_bytes),
		T(test_checkpoint_and_torn_bytes),
		T(test_long_field_bytes),
		T(test_retry_bytes),
		T(test_largest_record_bytes),
		T(test_shapes_bytes),
		T(test_dump_matches_jansson),
		T(test_dump_edges),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
