/*
 * test_audit_tamper.c - the verifier against every way a log can be
 * touched: a changed bit in each field, removed, swapped and inserted
 * records, a cut tail, a replaced signature, a lost head.  Each case must
 * be reported at the right seq with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "base/base.h"
#include "cm_helpers.h"
#include "helpers.h"

/* 16 events with a checkpoint every 5: seq 5, 10, 15, 20 are
 * checkpoints, 20 the last record and the head. */
#define EVENTS  16
#define RECORDS 20
#define TARGET  7 /* an ordinary record in the middle */

static int
setup(void **state)
{
	if (fx_cm_setup(state) != 0 ||
	    fx_write_events(*state, EVENTS, 5) != PG_OK)
		return -1;
	return 0;
}

static void
expect_fail(const struct fixture *fx, enum audit_fail kind, long long seq)
{
	struct audit_verify_result res;

	assert_int_equal(fx_verify(fx, &res), PG_OK);
	if (res.ok || res.kind != kind || res.bad_seq != seq)
		print_message("# got ok=%d kind=%s seq=%lld: %s\n", res.ok,
		    audit_fail_name(res.kind), res.bad_seq, res.message);
	assert_false(res.ok);
	assert_string_equal(audit_fail_name(res.kind), audit_fail_name(kind));
	assert_int_equal(res.bad_seq, seq);
	assert_int_equal(res.last_seq, seq - 1 < 0 ? 0 : seq - 1);
}

static void
test_clean_log_verifies(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct lines *l;
	char genesis[65], want[80];
	size_t i;

	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, RECORDS);
	assert_int_equal(res.checkpoints, 4);
	assert_int_equal(res.last_seq, RECORDS);
	assert_int_equal(res.unsigned_tail, 0);
	assert_true(res.signatures_checked);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	assert_int_equal(l->n, RECORDS);
	fx_hash_hex("photoguard audit log v1", 23, genesis);
	snprintf(want, sizeof(want), "\"prev\":\"%s\"}\n", genesis);
	assert_non_null(strstr(l->line[0], want));
	for (i = 0; i < l->n; i++) {
		char seq[32];
		const char *t = strstr(l->line[i], "\"time\":\"");

		snprintf(seq, sizeof(seq), "{\"seq\":%zu,", i + 1);
		assert_memory_equal(l->line[i], seq, strlen(seq));
		assert_non_null(t);
		t += 8; /* 2026-11-22T14:03:07.123456Z */
		assert_true(t[4] == '-' && t[7] == '-' && t[10] == 'T' &&
		    t[13] == ':' && t[16] == ':' && t[19] == '.' &&
		    t[26] == 'Z' && t[27] == '"');
	}
	free(l);
}

/* Puts NEW in place of line IDX (0-based) and verifies. */
static void
replace_line(struct fixture *fx, size_t idx, const char *new_line)
{
	struct lines *l;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->line[idx] = new_line;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
}

/* A valid change of the value of KEY in LINE: JSON still parses. */
static int
edit_field(char *line, const char *key)
{
	char pat[32], *v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((v = strstr(line, pat)) == NULL)
		return -1;
	v += strlen(pat);
	if (strcmp(key, "decision") == 0) {
		memcpy(v, v[1] == 'a' ? "\"deny\" " : "\"allow\"", 7);
		if (v[6] == ' ') /* "allow" -> "deny" leaves one byte */
			memmove(v + 6, v + 7, strlen(v + 7) + 1);
		return 0;
	}
	if (strcmp(key, "prev") == 0) {
		v[1] = v[1] == '0' ? '1' : '0';
		return 0;
	}
	if (*v == '"')
		v++;
	if (*v >= '0' && *v <= '9')
		*v = *v == '9' ? '8' : (char)(*v + 1);
	else
		*v = *v == 'x' ? 'y' : 'x';
	return 0;
}

static void
test_edit_each_field(void **state)
{
	static const char *const keys[] = { "seq", "time", "host", "actor",
		"event", "object", "decision", "rule", "reason", "uid", "pid",
		"patient", "process", "bytes", "prev" };
	struct fixture *fx = *state;
	struct lines *orig;
	char line[4096];
	size_t k;

	assert_int_equal(fx_read_lines(fx->log, &orig), 0);
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		snprintf(line, sizeof(line), "%s", orig->line[TARGET - 1]);
		assert_int_equal(edit_field(line, keys[k]), 0);
		assert_string_not_equal(line, orig->line[TARGET - 1]);
		replace_line(fx, TARGET - 1, line);
		print_message("# edited field %s\n", keys[k]);
		expect_fail(fx, AUDIT_EDITED, TARGET);
		assert_int_equal(fx_write_lines(fx->log, orig), 0);
	}
	free(orig);
}

static void
test_flip_every_bit(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	struct lines *orig;
	const char *saved;
	char line[4096];
	size_t i, len;
	int bit, edited = 0, unparsable = 0;

	assert_int_equal(fx_read_lines(fx->log, &orig), 0);
	saved = orig->line[TARGET - 1];
	len = strlen(saved);
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(line, orig->line[TARGET - 1], len + 1);
			line[i] = (char)(line[i] ^ (1 << bit));
			orig->line[TARGET - 1] = line;
			assert_int_equal(fx_write_lines(fx->log, orig), 0);
			orig->line[TARGET - 1] = saved;
			assert_int_equal(fx_verify(fx, &res), PG_OK);
			if (res.ok || res.bad_seq != TARGET ||
			    (res.kind != AUDIT_EDITED &&
			        res.kind != AUDIT_UNPARSABLE))
				print_message("# byte %zu bit %d: ok=%d %s at "
				              "%lld: %s\n",
				    i, bit, res.ok, audit_fail_name(res.kind),
				    res.bad_seq, res.message);
			assert_false(res.ok);
			assert_int_equal(res.bad_seq, TARGET);
			edited += res.kind == AUDIT_EDITED;
			unparsable += res.kind == AUDIT_UNPARSABLE;
		}
	}
	assert_int_equal(edited + unparsable, (int)len * 8);
	assert_true(edited > 0 && unparsable > 0);
	print_message("# %zu flips: %d edited, %d unparsable\n", len * 8,
	    edited, unparsable);
	assert_int_equal(fx_write_lines(fx->log, orig), 0);
	free(orig);
}

static void
test_deleted_record(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->line[TARGET - 1] = NULL;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_MISSING, TARGET);
	free(l);
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->line[TARGET - 1] = NULL; /* now seq 7 and 8 are gone */
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	free(l);
	expect_fail(fx, AUDIT_MISSING, TARGET);
	{
		struct audit_verify_result res;

		assert_int_equal(fx_verify(fx, &res), PG_OK);
		assert_non_null(strstr(res.message, "7 to 8"));
	}
}

static void
test_deleted_checkpoint(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	l->line[9] = NULL;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_MISSING, 10);
	free(l);
}

static void
test_swapped_records(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;
	const char *t;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	t = l->line[TARGET - 1];
	l->line[TARGET - 1] = l->line[TARGET];
	l->line[TARGET] = t;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_REORDERED, TARGET);
	free(l);
}

static void
test_swapped_far_apart(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;
	const char *t;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	t = l->line[5]; /* seq 6 and seq 13 trade places */
	l->line[5] = l->line[12];
	l->line[12] = t;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_REORDERED, 6);
	free(l);
}

/* Writes L with EXTRA inserted before line index AT. */
static void
insert_line(struct fixture *fx, struct lines *l, size_t at, const char *extra)
{
	FILE *f = fopen(fx->log, "wb");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < l->n; i++) {
		if (i == at)
			fputs(extra, f);
		fputs(l->line[i], f);
	}
	assert_int_equal(fclose(f), 0);
}

static void
test_inserted_copy(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	insert_line(fx, l, 12, l->line[2]); /* seq 3 again before seq 13 */
	expect_fail(fx, AUDIT_INSERTED, 13);
	free(l);
}

/* A forged record claiming seq TARGET, its prev either right or wrong. */
static void
forge_insert(struct fixture *fx, int linked)
{
	struct lines *l;
	char forged[512], prev[65];

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	if (linked)
		fx_hash_hex(
		    l->line[TARGET - 2], strlen(l->line[TARGET - 2]) - 1, prev);
	else
		memset(prev, 'a', 64), prev[64] = '\0';
	snprintf(forged, sizeof(forged),
	    "{\"seq\":%d,\"time\":\"2026-01-01T00:00:00.000000Z\","
	    "\"host\":\"testhost\",\"actor\":\"mallory\",\"event\":"
	    "\"gateway.open\",\"object\":\"/store/P1/x.jpg\",\"decision\":"
	    "\"allow\",\"rule\":null,\"reason\":\"forged\",\"prev\":\"%s\"}\n",
	    TARGET, prev);
	insert_line(fx, l, TARGET - 1, forged);
	expect_fail(fx, AUDIT_INSERTED, TARGET);
	free(l);
}

static void
test_inserted_forged_linked(void **state)
{
	forge_insert(*state, 1);
}

static void
test_inserted_forged_unlinked(void **state)
{
	forge_insert(*state, 0);
}

static void
test_truncated_tail(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;
	char half[32];
	size_t i;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	for (i = 12; i < l->n; i++)
		l->line[i] = NULL;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_TRUNCATED, 13);
	free(l);
	/* cut in the middle of a line: still a cut, not a crash */
	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	snprintf(half, sizeof(half), "%.20s", l->line[11]);
	l->line[11] = half;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_TRUNCATED, 12);
	free(l);
}

static void
test_replaced_signature(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;
	char line[4096], *sig;

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	snprintf(line, sizeof(line), "%s", l->line[9]);
	sig = strstr(line, "\"sig\":\"");
	assert_non_null(sig);
	sig[7] = sig[7] == 'a' ? 'b' : 'a';
	l->line[9] = line;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_BAD_SIGNATURE, 10);
	free(l);
}

/* A checkpoint re-signed by another key (an attacker's) is refused. */
static void
test_signature_by_other_key(void **state)
{
	struct fixture *fx = *state;
	struct fixture other;
	struct audit_verify_result res;

	assert_int_equal(fx_setup(&other), 0);
	assert_int_equal(audit_verify(fx->log, other.pub, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_BAD_SIGNATURE);
	assert_non_null(strstr(res.message, "not by key"));
	fx_teardown(&other);
}

static void
test_edited_last_record(void **state)
{
	struct fixture *fx = *state;
	struct lines *l;
	char line[4096];

	assert_int_equal(fx_read_lines(fx->log, &l), 0);
	snprintf(line, sizeof(line), "%s", l->line[RECORDS - 1]);
	assert_int_equal(edit_field(line, "reason"), 0);
	l->line[RECORDS - 1] = line;
	assert_int_equal(fx_write_lines(fx->log, l), 0);
	expect_fail(fx, AUDIT_EDITED, RECORDS);
	free(l);
}

static void
test_unparsable_record(void **state)
{
	struct fixture *fx = *state;

	replace_line(fx, TARGET - 1, "not json at all\n");
	expect_fail(fx, AUDIT_UNPARSABLE, TARGET);
}

static void
test_missing_head(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	char head[400];

	snprintf(head, sizeof(head), "%s.head", fx->log);
	assert_int_equal(unlink(head), 0);
	expect_fail(fx, AUDIT_NO_HEAD, RECORDS + 1);
	/* without a key only the chain is checked, and it holds */
	assert_int_equal(audit_verify(fx->log, NULL, &res), PG_OK);
	assert_true(res.ok);
	assert_false(res.signatures_checked);
}

static void
test_torn_line(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	FILE *f = fopen(fx->log, "ab");

	assert_non_null(f);
	fputs("{\"seq\":21,\"time\":\"2026-", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fx_verify(fx, &res), PG_OK);
	assert_false(res.ok);
	assert_int_equal(res.kind, AUDIT_TORN);
	assert_int_equal(res.bad_seq, RECORDS + 1);
	assert_int_equal(res.records, RECORDS);
	assert_int_equal(res.last_seq, RECORDS);
}

static void
test_missing_files(void **state)
{
	struct fixture *fx = *state;
	struct audit_verify_result res;
	char path[400];

	snprintf(path, sizeof(path), "%s/nope.log", fx->dir);
	assert_int_equal(audit_verify(path, fx->pub, &res), PG_ERR_NOTFOUND);
	snprintf(path, sizeof(path), "%s/nope.pub", fx->dir);
	assert_int_equal(audit_verify(fx->log, path, &res), PG_ERR_NOTFOUND);
	assert_int_equal(audit_verify(fx->log, fx->key, &res), PG_ERR_CRYPTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, fx_cm_teardown)
		T(test_clean_log_verifies),
		T(test_edit_each_field),
		T(test_flip_every_bit),
		T(test_deleted_record),
		T(test_deleted_checkpoint),
		T(test_swapped_records),
		T(test_swapped_far_apart),
		T(test_inserted_copy),
		T(test_inserted_forged_linked),
		T(test_inserted_forged_unlinked),
		T(test_truncated_tail),
		T(test_replaced_signature),
		T(test_signature_by_other_key),
		T(test_edited_last_record),
		T(test_unparsable_record),
		T(test_missing_head),
		T(test_torn_line),
		T(test_missing_files),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
