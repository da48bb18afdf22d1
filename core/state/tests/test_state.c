/*
 * test_state.c - unit tests of what core/state shares besides file I/O:
 * the escaper and its UTF-8 check, the lock with a deadline, the UTC
 * formatter, and the names of per-user state files.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/state/state.h"
#include "testutil.h"

/* The flag sets the callers use: PAM log words and reasons, the CLI's
 * terminal output with and without its backslash, the audit log. */
static const unsigned esc_sets[] = {
	0,
	PG_ESC_KEEP_SPACE,
	PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8,
	PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8 | PG_ESC_KEEP_BACKSLASH,
	PG_ESC_JSON,
};
#define NSETS (sizeof(esc_sets) / sizeof(esc_sets[0]))

static void
check_esc(const char *in, unsigned flags, const char *want)
{
	char out[256];
	size_t n = pg_escape(in, out, sizeof(out), flags);

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void
test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(pg_utf8_len((const unsigned char *)"a", 1), 1);
	assert_int_equal(pg_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);
	/* A character longer than the bytes allowed is not one. */
	assert_int_equal(pg_utf8_len((const unsigned char *)"\xc3\xa9", 1), 0);
	assert_int_equal(pg_utf8_len((const unsigned char *)"a", 0), 0);
	assert_int_equal(
	    pg_utf8_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	assert_int_equal(
	    pg_utf8_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	/* Past U+10FFFF, surrogates, overlong forms, stray bytes. */
	assert_int_equal(
	    pg_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(
	    pg_utf8_len((const unsigned char *)"\xed\xa0\x80", 3), 0);
	assert_int_equal(pg_utf8_len((const unsigned char *)"\xc0\xaf", 2), 0);
	assert_int_equal(
	    pg_utf8_len((const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(pg_utf8_len((const unsigned char *)"\x80", 1), 0);
	assert_int_equal(pg_utf8_len((const unsigned char *)"\xff", 1), 0);
	/* A NUL ends a character early, whatever N says. */
	assert_int_equal(pg_utf8_len((const unsigned char *)"\xe2\x82", 4), 0);
}

static void
test_escape_controls(void **state)
{
	(void)state;
	/* C0 controls and DEL as \xHH wherever a person reads the text. */
	check_esc("a\nb\x01\x1b[2J\x7f", 0, "a\\x0ab\\x01\\x1b[2J\\x7f");
	check_esc("a\nb\x1b[2J", PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8,
	    "a\\x0ab\\x1b[2J");
	/* The audit log leaves C0 to jansson, but never DEL. */
	check_esc("a\nb\t\x7f", PG_ESC_JSON, "a\nb\t\\x7f");
	/* Space: a separator in PAM's log words, kept in reasons. */
	check_esc("a b", 0, "a\\x20b");
	check_esc("a b", PG_ESC_KEEP_SPACE, "a b");
	/* C1 controls (U+0080..U+009F) by their code; kept for jansson. */
	check_esc("x\xc2\x9b"
	          "2J\xc2\x85",
	    PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8, "x\\x9b2J\\x85");
	check_esc("x\xc2\x9b", PG_ESC_JSON, "x\xc2\x9b");
	/* U+00A0 is no control. */
	check_esc("\xc2\xa0", PG_ESC_KEEP_UTF8, "\xc2\xa0");
}

static void
test_escape_backslash(void **state)
{
	(void)state;
	/* Escaped, a literal "\x41" cannot pass for an escape. */
	check_esc("\\x41", 0, "\\x5cx41");
	check_esc("\\x41", PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8, "\\x5cx41");
	check_esc("\\x41", PG_ESC_KEEP_BACKSLASH, "\\x41");
	check_esc("a\\b", PG_ESC_JSON, "a\\\\b");
}

static void
test_escape_high_bytes(void **state)
{
	(void)state;
	/* Without KEEP_UTF8 every byte from 0x80 is escaped. */
	check_esc("caf\xc3\xa9", 0, "caf\\xc3\\xa9");
	check_esc("\xff\x80", PG_ESC_KEEP_SPACE, "\\xff\\x80");
	/* With it, valid characters pass and each invalid byte is escaped. */
	check_esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8,
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_esc("bad\xff\xfe\xc3(", PG_ESC_JSON, "bad\\xff\\xfe\\xc3(");
	check_esc("\xc0\xaf", PG_ESC_JSON, "\\xc0\\xaf");
	check_esc("\xed\xa0\x80", PG_ESC_KEEP_UTF8, "\\xed\\xa0\\x80");
	check_esc("\xf4\x90\x80\x80", PG_ESC_KEEP_UTF8, "\\xf4\\x90\\x80\\x80");
	/* A lone C1 byte is not UTF-8: escaped, never sent raw. */
	check_esc("\x9b", PG_ESC_KEEP_UTF8, "\\x9b");
	/* A character cut by the end of the string. */
	check_esc("a\xe2\x82", PG_ESC_KEEP_UTF8, "a\\xe2\\x82");
}

static void
test_escape_truncation(void **state)
{
	char out[16];

	(void)state;
	/* Cut to the buffer, never inside an escape or a character. */
	assert_int_equal(pg_escape("abcdef", out, 4, 0), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(pg_escape("ab\n", out, 6, 0), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(pg_escape("ab\n", out, 7, 0), 6);
	assert_string_equal(out, "ab\\x0a");
	assert_int_equal(
	    pg_escape("a\xe2\x82\xac", out, 4, PG_ESC_KEEP_UTF8), 1);
	assert_string_equal(out, "a");
	assert_int_equal(
	    pg_escape("a\xe2\x82\xac", out, 5, PG_ESC_KEEP_UTF8), 4);
	assert_string_equal(out, "a\xe2\x82\xac");
	assert_int_equal(pg_escape("\\", out, 2, PG_ESC_JSON), 0);
	assert_string_equal(out, "");
	assert_int_equal(pg_escape("\\", out, 3, PG_ESC_JSON), 2);
	assert_string_equal(out, "\\\\");
	/* Nothing fits: the empty string; no room at all: nothing written. */
	assert_int_equal(pg_escape("abc", out, 1, 0), 0);
	assert_string_equal(out, "");
	memset(out, 'z', sizeof(out));
	assert_int_equal(pg_escape("abc", out, 0, 0), 0);
	assert_int_equal(out[0], 'z');
	assert_int_equal(pg_escape(NULL, out, sizeof(out), 0), 0);
	assert_string_equal(out, "");
}

/* Whether OUT[0..N) is what FLAGS promise: no byte a terminal or a log
 * reader could take for a control, and valid UTF-8 where kept. */
static void
check_clean(const unsigned char *out, size_t n, unsigned flags)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = pg_utf8_len(out + i, n - i);
		assert_true(k > 0);
		if (k == 1) {
			assert_true(out[i] != 0x7f);
			if (!(flags & PG_ESC_KEEP_CONTROLS))
				assert_true(out[i] >= 0x20);
			if (!(flags & PG_ESC_KEEP_SPACE))
				assert_true(out[i] != ' ');
		} else {
			assert_true(flags & PG_ESC_KEEP_UTF8);
			if (!(flags & PG_ESC_KEEP_CONTROLS))
				assert_false(
				    out[i] == 0xc2 && out[i + 1] < 0xa0);
		}
	}
}

static void
test_escape_random(void **state)
{
	unsigned char in[64];
	char out[4 * sizeof(in) + 1];
	size_t i, j, n, cap;

	(void)state;
	srandom(15);
	for (i = 0; i < 20000; i++) {
		for (j = 0; j < sizeof(in) - 1; j++)
			in[j] = (unsigned char)(1 + random() % 255);
		in[sizeof(in) - 1] = '\0';
		cap = 1 + (size_t)random() % sizeof(out);
		for (j = 0; j < NSETS; j++) {
			memset(out, 0x55, sizeof(out));
			n = pg_escape((const char *)in, out, cap, esc_sets[j]);
			/* NUL-terminated, no NUL inside, within the buffer. */
			assert_true(n < cap);
			assert_int_equal(strlen(out), n);
			check_clean((const unsigned char *)out, n, esc_sets[j]);
		}
	}
	/* Every byte value alone, escaped whole or kept. */
	for (i = 1; i < 256; i++) {
		in[0] = (unsigned char)i;
		in[1] = '\0';
		for (j = 0; j < NSETS; j++) {
			n = pg_escape(
			    (const char *)in, out, sizeof(out), esc_sets[j]);
			assert_true(n == 1 || n == 2 || n == 4);
			check_clean((const unsigned char *)out, n, esc_sets[j]);
		}
	}
}

/* Two open file descriptions of one file: flock() sets them apart even
 * within one process. */
static void
open_two(char **dir, int *a, int *b)
{
	char path[4200];

	*dir = tu_mkdtemp("state");
	snprintf(path, sizeof(path), "%s/lock", *dir);
	*a = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	*b = open(path, O_RDWR | O_CLOEXEC);
	assert_true(*a >= 0 && *b >= 0);
}

static void
test_flock_deadline(void **state)
{
	struct timespec t0;
	char *dir;
	int a, b;

	(void)state;
	open_two(&dir, &a, &b);
	/* Free: taken at once, also with no time to wait. */
	assert_int_equal(pg_flock(a, LOCK_EX, 0), PG_OK);
	/* Held: the deadline passes, by the clock, and no sooner. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pg_flock(b, LOCK_EX, 300), PG_ERR_LOCKED);
	assert_true(tu_ms_since(&t0) >= 300);
	assert_true(tu_ms_since(&t0) < 1500);
	assert_int_equal(pg_flock(b, LOCK_SH, 50), PG_ERR_LOCKED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pg_flock(b, LOCK_EX, 0), PG_ERR_LOCKED);
	assert_int_equal(pg_flock(b, LOCK_EX, -5), PG_ERR_LOCKED);
	assert_true(tu_ms_since(&t0) < 200);
	/* Shared locks share; an exclusive one waits for them. */
	assert_int_equal(flock(a, LOCK_UN), 0);
	assert_int_equal(pg_flock(a, LOCK_SH, 0), PG_OK);
	assert_int_equal(pg_flock(b, LOCK_SH, 0), PG_OK);
	assert_int_equal(flock(b, LOCK_UN), 0);
	assert_int_equal(pg_flock(b, LOCK_EX, 20), PG_ERR_LOCKED);
	/* Bad input. */
	assert_int_equal(pg_flock(-1, LOCK_EX, 0), PG_ERR_INVAL);
	assert_int_equal(pg_flock(a, LOCK_UN, 0), PG_ERR_INVAL);
	assert_int_equal(pg_flock(a, LOCK_EX | LOCK_NB, 0), PG_ERR_INVAL);
	close(b);
	assert_int_equal(pg_flock(b, LOCK_EX, 0), PG_ERR_IO);
	close(a);
	tu_rmtree(dir);
}

static void
test_flock_wait(void **state)
{
	struct timespec t0;
	int sync[2], status;
	char *dir, c;
	pid_t pid;
	int a, b;

	(void)state;
	open_two(&dir, &a, &b);
	assert_int_equal(pipe(sync), 0);
	/* Another process holds the lock for 400 ms, then lets go. */
	if ((pid = fork()) == 0) {
		if (flock(a, LOCK_EX | LOCK_NB) != 0 ||
		    write(sync[1], "x", 1) != 1)
			_exit(1);
		usleep(400 * 1000);
		_exit(0);
	}
	close(a);
	assert_int_equal(read(sync[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pg_flock(b, LOCK_EX, 100), PG_ERR_LOCKED);
	assert_int_equal(pg_flock(b, LOCK_EX, 10000), PG_OK);
	assert_true(tu_ms_since(&t0) >= 300);
	assert_true(tu_ms_since(&t0) < 5000);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(b);
	close(sync[0]);
	close(sync[1]);
	tu_rmtree(dir);
}

static void
check_utc(time_t t, enum pg_time_style style, const char *want)
{
	char buf[64];

	assert_int_equal(pg_utc(t, style, buf, sizeof(buf)), PG_OK);
	assert_string_equal(buf, want);
}

static void
test_utc(void **state)
{
	char buf[32];

	(void)state;
	check_utc(0, PG_TIME_ISO, "1970-01-01T00:00:00Z");
	check_utc(0, PG_TIME_TEXT, "1970-01-01 00:00:00 UTC");
	check_utc(0, PG_TIME_LDAP, "19700101000000Z");
	check_utc(1700000000, PG_TIME_ISO, "2023-11-14T22:13:20Z");
	check_utc(1700000000, PG_TIME_TEXT, "2023-11-14 22:13:20 UTC");
	check_utc(1700000000, PG_TIME_LDAP, "20231114221320Z");
	check_utc(-1, PG_TIME_ISO, "1969-12-31T23:59:59Z");
	/* Exactly the room it needs, and one byte less. */
	assert_int_equal(pg_utc(0, PG_TIME_ISO, buf, 21), PG_OK);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* Failures leave the buffer alone, so a fallback put there first
	 * stays. */
	memcpy(buf, "?", 2);
	assert_int_equal(pg_utc(0, PG_TIME_ISO, buf, 20), PG_ERR_TOOBIG);
	assert_string_equal(buf, "?");
	assert_int_equal(pg_utc(0, PG_TIME_ISO, buf, 0), PG_ERR_TOOBIG);
	assert_string_equal(buf, "?");
	/* A year past what struct tm holds. */
	assert_int_equal(
	    pg_utc((time_t)INT64_MAX, PG_TIME_ISO, buf, sizeof(buf)),
	    PG_ERR_INVAL);
	assert_string_equal(buf, "?");
	assert_int_equal(
	    pg_utc(0, (enum pg_time_style)7, buf, sizeof(buf)), PG_ERR_INVAL);
	assert_int_equal(pg_utc(0, (enum pg_time_style) - 1, buf, sizeof(buf)),
	    PG_ERR_INVAL);
	assert_string_equal(buf, "?");
	assert_int_equal(pg_utc(0, PG_TIME_ISO, NULL, 8), PG_ERR_INVAL);
}

static void
check_name(enum pg_name_style style, const char *prefix, const char *user,
    const char *suffix, const char *want)
{
	char out[PG_NAME_SIZE(64)], back[65];

	assert_int_equal(
	    pg_name_encode(style, prefix, user, 64, suffix, out, sizeof(out)),
	    PG_OK);
	assert_string_equal(out, want);
	assert_int_equal(
	    pg_name_decode(style, prefix, out, suffix, back, sizeof(back)),
	    PG_OK);
	assert_string_equal(back, user);
}

/* The TOTP store's, the MFA tickets' and the offline cache's names: the
 * same bytes as the files already on disk. */
static void
test_name_pct(void **state)
{
	char out[PG_NAME_SIZE(64)], long_user[64 + 2];

	(void)state;
	check_name(PG_NAME_PCT, "", "alice", ".totp", "alice.totp");
	check_name(PG_NAME_PCT, "", "../x", ".totp", "%2E%2E%2Fx.totp");
	check_name(PG_NAME_PCT, "", "a.b", ".lock", "a%2Eb.lock");
	/* "%" itself is encoded, so "a%2Eb" cannot collide with "a.b". */
	check_name(PG_NAME_PCT, "", "a%2Eb", ".lock", "a%252Eb.lock");
	check_name(PG_NAME_PCT, "", "x\n\x01", ".totp", "x%0A%01.totp");
	check_name(PG_NAME_PCT, "", "/", ".groups", "%2F.groups");
	check_name(PG_NAME_PCT, "", "..", ".ticket", "%2E%2E.ticket");
	check_name(PG_NAME_PCT, "", ".", "", "%2E");
	check_name(
	    PG_NAME_PCT, "", "caf\xc3\xa9 A_z-9", "", "caf%C3%A9%20A_z-9");
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "", 64, ".totp", out, sizeof(out)),
	    PG_ERR_INVAL);
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "", NULL, 64, ".totp", out,
	                     sizeof(out)),
	    PG_ERR_INVAL);
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "a", 64, "totp", out, sizeof(out)),
	    PG_ERR_INVAL);
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "a", 64, ".a/b", out, sizeof(out)),
	    PG_ERR_INVAL);
	memset(long_user, 'u', sizeof(long_user) - 1);
	long_user[64 + 1] = '\0';
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "", long_user, 64, ".totp",
	                     out, sizeof(out)),
	    PG_ERR_TOOBIG);
	assert_string_equal(out, "");
	long_user[64] = '\0';
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "", long_user, 64, ".totp",
	                     out, sizeof(out)),
	    PG_OK);
	/* A name that does not fit leaves nothing half-written. */
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "alice", 64, ".totp", out, 8),
	    PG_ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "", "a.b", 64, "", out, 5),
	    PG_ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "alice", 64, ".totp", out, 11),
	    PG_OK);
	assert_string_equal(out, "alice.totp");
}

/* The lockout store's names, and what its lister takes back. */
static void
test_name_hex(void **state)
{
	char out[PG_NAME_SIZE(64)];

	(void)state;
	check_name(PG_NAME_HEX, "u-", "amy", ".json", "u-616d79.json");
	check_name(PG_NAME_HEX, "u-", "../x", ".json", "u-2e2e2f78.json");
	check_name(PG_NAME_HEX, "f-", "/", ".json", "f-2f.json");
	check_name(PG_NAME_HEX, "p-", "%", ".json", "p-25.json");
	check_name(PG_NAME_HEX, "u-", "Zo\xc3\xab", ".json", "u-5a6fc3ab.json");
	assert_int_equal(pg_name_encode(PG_NAME_HEX, "u-", "", 64, ".json", out,
	                     sizeof(out)),
	    PG_ERR_INVAL);
	/* Names the store would not have written. */
	static const char *const bad[] = { "f-616d79.json", ".u-616d79.json",
		"u-616d79.json.123.tmp", "u-616d7.json", "u-616D79.json",
		"u-00.json", "u-6100.json", "u-.json", "u-zz.json", "u-616d79",
		"u-616d79.JSON", ".lock", "", "u-" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(pg_name_decode(PG_NAME_HEX, "u-", bad[i],
		                     ".json", out, sizeof(out)),
		    PG_ERR_INVAL);
		assert_string_equal(out, "");
	}
	assert_int_equal(
	    pg_name_decode(PG_NAME_HEX, "u-", "u-616d79.json", ".json", out, 3),
	    PG_ERR_TOOBIG);
	assert_int_equal(
	    pg_name_decode(PG_NAME_HEX, "u-", "u-616d79.json", ".json", out, 4),
	    PG_OK);
	assert_string_equal(out, "amy");
}

static void
test_name_bad_args(void **state)
{
	char out[PG_NAME_SIZE(64)];

	(void)state;
	/* Prefixes: no dot first, no slash, at most 8 bytes; suffixes: none
	 * or a dot and 1..7 bytes without a slash. */
	static const char *const prefixes[] = { ".u-", "a/", "123456789",
		NULL };
	static const char *const suffixes[] = { ".", "json", ".a/b",
		".12345678", NULL };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		assert_int_equal(pg_name_encode(PG_NAME_HEX, prefixes[i], "a",
		                     64, ".json", out, sizeof(out)),
		    PG_ERR_INVAL);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		assert_int_equal(pg_name_encode(PG_NAME_PCT, "", "a", 64,
		                     suffixes[i], out, sizeof(out)),
		    PG_ERR_INVAL);
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "12345678", "a", 64,
	                     ".1234567", out, sizeof(out)),
	    PG_OK);
	assert_string_equal(out, "12345678a.1234567");
	assert_int_equal(pg_name_encode((enum pg_name_style)9, "", "a", 64, "",
	                     out, sizeof(out)),
	    PG_ERR_INVAL);
	assert_int_equal(pg_name_encode(PG_NAME_PCT, "", "a", 64, "", NULL, 8),
	    PG_ERR_INVAL);
	assert_int_equal(
	    pg_name_encode(PG_NAME_PCT, "", "a", 64, "", out, 0), PG_ERR_INVAL);
	assert_int_equal(
	    pg_name_decode(PG_NAME_PCT, "", NULL, "", out, sizeof(out)),
	    PG_ERR_INVAL);
	/* Only the one spelling of each byte is read back. */
	static const char *const bad[] = { "%61", "%2e", "%2", "%", "a.b",
		"%00", "a%2Fb%", "%G1", "%2E%2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pg_name_decode(PG_NAME_PCT, "", bad[i], "",
		                     out, sizeof(out)),
		    PG_ERR_INVAL);
}

/* Any user, either spelling: a name without "/" or ".", read back as the
 * user, so two users never share a file. */
static void
test_name_random(void **state)
{
	char user[41], out[PG_NAME_SIZE(40)], back[41];
	size_t i, j, k, n, len;
	int s;

	(void)state;
	srandom(1500);
	for (i = 0; i < 20000; i++) {
		n = 1 + (size_t)random() % 40;
		for (j = 0; j < n; j++)
			user[j] = (char)(1 + random() % 255);
		user[n] = '\0';
		for (s = PG_NAME_PCT; s <= PG_NAME_HEX; s++) {
			assert_int_equal(
			    pg_name_encode((enum pg_name_style)s, "k-", user,
			        40, ".x", out, sizeof(out)),
			    PG_OK);
			/* Between "k-" and ".x": no dot, no slash. */
			len = strlen(out);
			assert_true(len > 4);
			for (k = 2; k < len - 2; k++)
				assert_true(out[k] != '.' && out[k] != '/');
			assert_int_equal(
			    pg_name_decode((enum pg_name_style)s, "k-", out,
			        ".x", back, sizeof(back)),
			    PG_OK);
			assert_string_equal(back, user);
		}
	}
}

static void
test_hex_pct_encode(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(pg_hex_encode("\x00\xff\x10", 3, out, 7), PG_OK);
	assert_string_equal(out, "00ff10");
	assert_int_equal(
	    pg_hex_encode("\x00\xff\x10", 3, out, 6), PG_ERR_TOOBIG);
	assert_int_equal(pg_hex_encode("", 0, out, 1), PG_OK);
	assert_string_equal(out, "");
	assert_int_equal(pg_hex_encode("a", 1, NULL, 3), PG_ERR_INVAL);
	/* URIs: RFC 3986's unreserved characters stay. */
	assert_int_equal(
	    pg_pct_encode("a b/~-._\xc3\xa9:@", "-._~", out, sizeof(out)),
	    PG_OK);
	assert_string_equal(out, "a%20b%2F~-._%C3%A9%3A%40");
	assert_int_equal(pg_pct_encode("a-b", NULL, out, sizeof(out)), PG_OK);
	assert_string_equal(out, "a%2Db");
	assert_int_equal(pg_pct_encode("a b", "", out, 6), PG_OK);
	assert_string_equal(out, "a%20b");
	assert_int_equal(pg_pct_encode("a b", "", out, 5), PG_ERR_TOOBIG);
	assert_int_equal(pg_pct_encode(NULL, "", out, 5), PG_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_backslash),
		cmocka_unit_test(test_escape_high_bytes),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_flock_deadline),
		cmocka_unit_test(test_flock_wait),
		cmocka_unit_test(test_utc),
		cmocka_unit_test(test_name_pct),
		cmocka_unit_test(test_name_hex),
		cmocka_unit_test(test_name_bad_args),
		cmocka_unit_test(test_name_random),
		cmocka_unit_test(test_hex_pct_encode),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
