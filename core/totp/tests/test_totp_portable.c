/*
 * test_totp_portable.c - what a store other than the files keeps: fresh
 * enrollments, scratch codes as text values (made, found, spent,
 * refused when damaged or costly), and a store made of operations
 * (totp_store_wrap) that every totp_store_* call reaches.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/totp/totp.h"

static const uint8_t salt[TOTP_SCRATCH_SALT_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8,
	9, 10, 11, 12, 13, 14, 15, 16 };

static void
t_enrollment_new(void **state)
{
	struct totp_enrollment *e = NULL, *f = NULL;
	char norm[TOTP_SCRATCH_CHARS + 1];
	int i;

	(void)state;
	assert_int_equal(totp_enrollment_new(6, 30, &e), PG_OK);
	assert_int_equal(totp_enrollment_new(6, 30, &f), PG_OK);
	assert_int_equal(strlen(e->secret_b32), 32);
	assert_memory_not_equal(e->secret, f->secret, sizeof(e->secret));
	assert_int_equal(e->digits, 6);
	assert_int_equal(e->step_s, 30);
	for (i = 0; i < TOTP_SCRATCH_COUNT; i++) {
		assert_int_equal(strlen(e->scratch[i]), 11);
		assert_int_equal(e->scratch[i][5], '-');
		assert_int_equal(
		    totp_scratch_normalize(e->scratch[i], norm, sizeof(norm)),
		    PG_OK);
	}
	totp_enrollment_free(e);
	totp_enrollment_free(f);
	assert_int_equal(totp_enrollment_new(5, 30, &e), PG_ERR_INVAL);
	assert_null(e);
	assert_int_equal(totp_enrollment_new(6, 0, &e), PG_ERR_INVAL);
	assert_int_equal(totp_enrollment_new(9, 30, &e), PG_ERR_INVAL);
	totp_enrollment_free(NULL);
}

static void
mk(const char *code, char out[TOTP_SCRATCH_VALUE_MAX])
{
	assert_int_equal(
	    totp_scratch_value_make(code, salt, out, TOTP_SCRATCH_VALUE_MAX),
	    PG_OK);
}

static void
t_value_make(void **state)
{
	char a[TOTP_SCRATCH_VALUE_MAX], b[TOTP_SCRATCH_VALUE_MAX];

	(void)state;
	mk("abcde-fghjk", a);
	assert_true(strncmp(a, "$pgscratch$1$3$16384$", 21) == 0);
	assert_int_equal(strlen(a), 21 + 22 + 1 + 43);
	/* As typed or as shown: one value. */
	mk("ABCDEFGHJK", b);
	assert_string_equal(a, b);
	mk("abcde-fghjm", b);
	assert_string_not_equal(a, b);
	/* The code never appears in its value. */
	assert_null(strstr(a, "abcde"));
	assert_int_equal(
	    totp_scratch_value_make("abcde-fghj1", salt, a, sizeof(a)),
	    PG_ERR_BADCODE); /* '1' is not in the alphabet */
	assert_int_equal(totp_scratch_value_make("abcde", salt, a, sizeof(a)),
	    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_value_make("abcde-fghjk", salt, a, 10), PG_ERR_INVAL);
	assert_int_equal(
	    totp_scratch_value_make("abcde-fghjk", NULL, a, sizeof(a)),
	    PG_ERR_INVAL);
}

/* Three values made from CODES, as a store would hand them back. */
struct three {
	char buf[3][TOTP_SCRATCH_VALUE_MAX];
	struct totp_value v[3];
};

static void
three(struct three *t)
{
	static const char *const codes[] = { "aaaaa-bbbbb", "ccccc-ddddd",
		"eeeee-fffff" };
	int i;

	for (i = 0; i < 3; i++) {
		mk(codes[i], t->buf[i]);
		t->v[i].p = t->buf[i];
		t->v[i].len = strlen(t->buf[i]);
	}
}

static void
t_value_find(void **state)
{
	struct three t;
	size_t hit = 99;

	(void)state;
	three(&t);
	assert_int_equal(
	    totp_scratch_value_find("ccccc-ddddd", t.v, 3, &hit), PG_OK);
	assert_int_equal(hit, 1);
	assert_int_equal(
	    totp_scratch_value_find("EEEEEFFFFF", t.v, 3, &hit), PG_OK);
	assert_int_equal(hit, 2);
	assert_int_equal(totp_scratch_value_find("ggggg-hhhhh", t.v, 3, &hit),
	    PG_ERR_BADCODE);
	assert_int_equal(hit, 0);
	/* Spent: its value is gone, so it finds nothing. */
	assert_int_equal(totp_scratch_value_find("eeeee-fffff", t.v, 2, &hit),
	    PG_ERR_BADCODE);
	assert_int_equal(totp_scratch_value_find("aaaaa-bbbbb", NULL, 0, &hit),
	    PG_ERR_BADCODE);
	/* Not a scratch code at all: a six-digit TOTP, garbage, nothing. */
	assert_int_equal(
	    totp_scratch_value_find("123456", t.v, 3, &hit), PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_value_find("", t.v, 3, &hit), PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_value_find(NULL, t.v, 3, &hit), PG_ERR_BADCODE);
}

/* One value of T replaced by S: every value must parse. */
static void
damaged(const char *s)
{
	struct three t;
	size_t hit;

	three(&t);
	t.v[1].p = s;
	t.v[1].len = strlen(s);
	assert_int_equal(totp_scratch_value_find("aaaaa-bbbbb", t.v, 3, &hit),
	    PG_ERR_CORRUPT);
}

static void
t_value_corrupt(void **state)
{
	char v[512];
	struct three t;
	size_t hit;

	(void)state;
	three(&t);
	damaged("");
	damaged("garbage");
	damaged("$pgscratch$1$3$16384$garbage");
	damaged("$pgscratch$2$3$16384$AQIDBAUGBwgJCgsMDQ4PEA$"
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	/* Costs out of range: no unbounded memory or time for a value. */
	(void)snprintf(
	    v, sizeof(v), "$pgscratch$1$11$16384$%.80s", t.buf[0] + 21);
	damaged(v);
	(void)snprintf(
	    v, sizeof(v), "$pgscratch$1$3$%u$%.80s", 65537u, t.buf[0] + 21);
	damaged(v);
	(void)snprintf(
	    v, sizeof(v), "$pgscratch$1$0$16384$%.80s", t.buf[0] + 21);
	damaged(v);
	(void)snprintf(
	    v, sizeof(v), "$pgscratch$1$3$016384$%.80s", t.buf[0] + 21);
	damaged(v);
	/* A salt or hash one character short, or long. */
	(void)snprintf(
	    v, sizeof(v), "%.*s", (int)strlen(t.buf[0]) - 1, t.buf[0]);
	damaged(v);
	(void)snprintf(v, sizeof(v), "%sA", t.buf[0]);
	damaged(v);
	/* Too many values to be a real token. */
	{
		struct totp_value many[TOTP_SCRATCH_VALUES_MAX + 1];
		int i;

		for (i = 0; i <= TOTP_SCRATCH_VALUES_MAX; i++)
			many[i] = t.v[0];
		assert_int_equal(totp_scratch_value_find("aaaaa-bbbbb", many,
		                     TOTP_SCRATCH_VALUES_MAX + 1, &hit),
		    PG_ERR_CORRUPT);
		assert_int_equal(totp_scratch_value_find("aaaaa-bbbbb", many,
		                     TOTP_SCRATCH_VALUES_MAX, &hit),
		    PG_OK);
	}
}

/* A store of operations that records what reached it. */
struct fake {
	int calls[8];
	int ret;
	int freed;
};

static int
f_enroll(void *impl, const char *user, int reset, time_t now, int digits,
    int step_s, struct totp_enrollment **out)
{
	struct fake *f = impl;

	(void)user, (void)reset, (void)now, (void)digits, (void)step_s;
	f->calls[0]++;
	*out = NULL;
	return f->ret;
}

static int
f_confirm(void *impl, const char *user, const char *code, time_t now, int w)
{
	(void)user, (void)code, (void)now, (void)w;
	((struct fake *)impl)->calls[1]++;
	return ((struct fake *)impl)->ret;
}

static int
f_check(void *impl, const char *user, const char *code, time_t now, int w,
    enum totp_method *how)
{
	(void)user, (void)code, (void)now, (void)w;
	((struct fake *)impl)->calls[2]++;
	if (how != NULL)
		*how = TOTP_BY_SCRATCH;
	return ((struct fake *)impl)->ret;
}

static int
f_status(void *impl, const char *user, struct totp_status *out)
{
	(void)user;
	((struct fake *)impl)->calls[3]++;
	out->locked = true;
	return ((struct fake *)impl)->ret;
}

static int
f_fail_add(void *impl, const char *user, time_t now, int window_s, unsigned *n,
    unsigned *run)
{
	(void)user, (void)now, (void)window_s;
	((struct fake *)impl)->calls[4]++;
	*n = 3;
	*run = 7;
	return ((struct fake *)impl)->ret;
}

static int
f_fail_reset(void *impl, const char *user)
{
	(void)user;
	((struct fake *)impl)->calls[5]++;
	return ((struct fake *)impl)->ret;
}

static const char *
f_why(const void *impl)
{
	(void)impl;
	return "fake reason";
}

static void
f_free(void *impl)
{
	((struct fake *)impl)->freed++;
}

static const struct totp_store_ops fake_ops = { f_enroll, f_confirm, f_check,
	f_status, f_fail_add, f_fail_reset, f_why, f_free, NULL, NULL, NULL };

/* A store that keeps one token record in memory, as the directory does. */
struct tok_fake {
	struct fake f;
	char rec[TOTP_TOKEN_RECORD_MAX];
	int get_ret;  /* PG_OK: what rec holds */
	int take_ret; /* PG_OK: remove rec */
	int puts, takes;
};

static int
f_token_put(void *impl, const char *user, const char *value)
{
	struct tok_fake *t = impl;

	(void)user;
	t->puts++;
	if (strlen(value) >= sizeof(t->rec))
		return PG_ERR_TOOBIG;
	strcpy(t->rec, value);
	return PG_OK;
}

static int
f_token_get(void *impl, const char *user, char *buf, size_t len)
{
	struct tok_fake *t = impl;

	(void)user;
	if (t->get_ret != PG_OK)
		return t->get_ret;
	if (t->rec[0] == '\0')
		return PG_ERR_NOTFOUND;
	snprintf(buf, len, "%s", t->rec);
	return PG_OK;
}

static int
f_token_take(void *impl, const char *user, const char *value)
{
	struct tok_fake *t = impl;

	(void)user;
	t->takes++;
	if (t->take_ret != PG_OK)
		return t->take_ret;
	if (strcmp(value, t->rec) != 0)
		return PG_ERR_REPLAY;
	t->rec[0] = '\0';
	return PG_OK;
}

static const struct totp_store_ops tok_ops = { f_enroll, f_confirm, f_check,
	f_status, f_fail_add, f_fail_reset, f_why, f_free, f_token_put,
	f_token_get, f_token_take };

/* Enrollment tokens through a store made by wrap. */
static void
t_wrap_token(void **state)
{
	struct tok_fake t;
	struct totp_store *st = NULL, *plain = NULL;
	char tok[TOTP_TOKEN_TEXT], other[TOTP_TOKEN_TEXT];
	int64_t exp = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(totp_store_wrap(&fake_ops, &t.f, &plain), PG_OK);
	assert_false(totp_store_keeps_tokens(plain));
	assert_int_equal(
	    totp_token_issue(plain, "u", 100, 60, tok), PG_ERR_INVAL);
	assert_int_equal(totp_token_use(plain, "u", "aaaa-aaaa-aaaa-aaaa", 100),
	    PG_ERR_INVAL);
	assert_int_equal(totp_token_expiry(plain, "u", &exp), PG_ERR_NOTFOUND);
	totp_store_free(plain);

	assert_int_equal(totp_store_wrap(&tok_ops, &t.f, &st), PG_OK);
	assert_true(totp_store_keeps_tokens(st));
	assert_int_equal(totp_token_expiry(st, "u", &exp), PG_ERR_NOTFOUND);
	assert_int_equal(totp_token_issue(st, "u", 100, 60, tok), PG_OK);
	assert_true(totp_token_format_ok(tok));
	/* What the store keeps: the expiry and a hash, never the token. */
	assert_int_equal(strncmp(t.rec, "pgtoken1 160 ", 13), 0);
	assert_int_equal(strlen(t.rec), 13 + 64);
	assert_null(strstr(t.rec, tok));
	assert_int_equal(totp_token_expiry(st, "u", &exp), PG_OK);
	assert_int_equal(exp, 160);
	/* Bound to the user: the same token is no one else's. */
	assert_int_equal(totp_token_use(st, "v", tok, 110), PG_ERR_BADCODE);
	/* Another token, however well formed, is refused and spends nothing. */
	snprintf(other, sizeof(other), "%s", tok);
	other[0] = other[0] == 'a' ? 'b' : 'a';
	assert_int_equal(totp_token_use(st, "u", other, 110), PG_ERR_BADCODE);
	assert_int_equal(t.takes, 0);
	/* Another server spent it first: refused. */
	t.take_ret = PG_ERR_REPLAY;
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_BADCODE);
	assert_non_null(strstr(totp_store_why(st), "another server"));
	/* The directory down: its error, not a login. */
	t.take_ret = PG_ERR_DIR_UNAVAIL;
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_DIR_UNAVAIL);
	t.take_ret = PG_OK;
	/* Upper case and spaces are the same token; it works once. */
	{
		char up[TOTP_TOKEN_TEXT];
		size_t i;

		for (i = 0; tok[i] != '\0'; i++)
			up[i] = tok[i] == '-'
			    ? ' '
			    : (char)toupper((unsigned char)tok[i]);
		up[i] = '\0';
		assert_int_equal(totp_token_use(st, "u", up, 110), PG_OK);
	}
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_NOTFOUND);
	/* Expired: refused and removed. */
	assert_int_equal(totp_token_issue(st, "u", 100, 60, tok), PG_OK);
	assert_int_equal(totp_token_use(st, "u", tok, 160), PG_ERR_BADCODE);
	assert_string_equal(t.rec, "");
	/* A record that does not parse, or two of them: corrupt, refused. */
	snprintf(t.rec, sizeof(t.rec), "pgtoken1 999 %s", "12ab");
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_CORRUPT);
	snprintf(t.rec, sizeof(t.rec), "pgtoken1 -5 %064d", 0);
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_CORRUPT);
	snprintf(t.rec, sizeof(t.rec), "pgtoken1 999 %064dz", 0);
	assert_int_equal(totp_token_expiry(st, "u", &exp), PG_ERR_CORRUPT);
	t.get_ret = PG_ERR_CORRUPT;
	assert_int_equal(totp_token_use(st, "u", tok, 110), PG_ERR_CORRUPT);
	assert_int_equal(t.takes, 4);
	totp_store_free(st);
}

static void
t_wrap(void **state)
{
	struct fake f = { .ret = PG_OK };
	struct totp_store *st = NULL;
	struct totp_enrollment *e = NULL;
	struct totp_status s;
	struct totp_store_ops partial = fake_ops;
	enum totp_method how = TOTP_BY_NONE;
	unsigned n = 0, run = 0;
	int i;

	(void)state;
	partial.fail_add = NULL;
	assert_int_equal(totp_store_wrap(&partial, &f, &st), PG_ERR_INVAL);
	assert_null(st);
	assert_int_equal(totp_store_wrap(&fake_ops, NULL, &st), PG_ERR_INVAL);
	assert_int_equal(totp_store_wrap(&fake_ops, &f, &st), PG_OK);
	assert_true(totp_store_counts_failures(st));
	assert_int_equal(totp_store_enroll(st, "u", 0, 100, 6, 30, &e), PG_OK);
	assert_int_equal(totp_store_confirm(st, "u", "123456", 100, 1), PG_OK);
	assert_int_equal(
	    totp_store_check(st, "u", "123456", 100, 1, &how), PG_OK);
	assert_int_equal(how, TOTP_BY_SCRATCH);
	assert_int_equal(totp_store_status(st, "u", &s), PG_OK);
	assert_true(s.locked);
	assert_int_equal(
	    totp_store_failures_add(st, "u", 100, 60, &n, &run), PG_OK);
	assert_int_equal(n, 3);
	assert_int_equal(run, 7);
	assert_int_equal(totp_store_failures_reset(st, "u"), PG_OK);
	for (i = 0; i < 6; i++)
		assert_int_equal(f.calls[i], 1);
	assert_string_equal(totp_store_why(st), "fake reason");
	/* The checks of the public calls come first: nothing reaches it. */
	assert_int_equal(
	    totp_store_enroll(st, "u", 0, -1, 6, 30, &e), PG_ERR_INVAL);
	assert_int_equal(
	    totp_store_check(st, "u", NULL, 100, 1, &how), PG_ERR_INVAL);
	assert_int_equal(
	    totp_store_failures_add(st, "u", 100, 0, &n, &run), PG_ERR_INVAL);
	assert_int_equal(f.calls[0], 1);
	assert_int_equal(f.calls[2], 1);
	assert_int_equal(f.calls[4], 1);
	/* Errors come back as they are. */
	f.ret = PG_ERR_DIR_UNAVAIL;
	assert_int_equal(totp_store_check(st, "u", "123456", 100, 1, &how),
	    PG_ERR_DIR_UNAVAIL);
	assert_int_equal(totp_store_failures_add(st, "u", 100, 60, &n, &run),
	    PG_ERR_DIR_UNAVAIL);
	totp_store_free(st);
	assert_int_equal(f.freed, 1);
	/* The files store counts nowhere: its caller counts. */
	assert_false(totp_store_counts_failures(NULL));
	assert_int_equal(totp_store_failures_add(NULL, "u", 100, 60, &n, &run),
	    PG_ERR_INVAL);
	assert_int_equal(n, 0);
	assert_int_equal(totp_store_failures_reset(NULL, "u"), PG_ERR_INVAL);
}

/*
 * USER through every call that takes one gives WANT, totp_store_why()
 * says WHY, and the operations behind ST are never reached.
 */
static void
refused_user(struct totp_store *st, struct fake *f, const char *user, int want,
    const char *why)
{
	struct totp_enrollment *e = (struct totp_enrollment *)(uintptr_t)1;
	struct totp_status s;
	enum totp_method how = TOTP_BY_SCRATCH;
	unsigned n = 1, run = 1;
	int i, before[6];

	for (i = 0; i < 6; i++)
		before[i] = f->calls[i];
#define REFUSED(call)                                                          \
	do {                                                                   \
		assert_int_equal((call), want);                                \
		if (strstr(totp_store_why(st), why) == NULL)                   \
			fail_msg("%s: why \"%s\" lacks \"%s\"", #call,         \
			    totp_store_why(st), why);                          \
	} while (0)
	REFUSED(totp_store_enroll(st, user, 0, 100, 6, 30, &e));
	assert_null(e);
	REFUSED(totp_store_confirm(st, user, "123456", 100, 1));
	REFUSED(totp_store_check(st, user, "123456", 100, 1, &how));
	assert_int_equal(how, TOTP_BY_NONE);
	REFUSED(totp_store_status(st, user, &s));
	assert_false(s.locked);
	REFUSED(totp_store_failures_add(st, user, 100, 60, &n, &run));
	assert_int_equal(n, 0);
	assert_int_equal(run, 0);
	REFUSED(totp_store_failures_reset(st, user));
#undef REFUSED
	for (i = 0; i < 6; i++)
		assert_int_equal(f->calls[i], before[i]);
}

/* A wrapped store sees only names the files store could spell. */
static void
t_wrap_user(void **state)
{
	struct fake f = { .ret = PG_OK };
	struct totp_store *st = NULL;
	struct totp_status s;
	char name[TOTP_USER_MAX + 2];

	(void)state;
	assert_int_equal(totp_store_wrap(&fake_ops, &f, &st), PG_OK);
	memset(name, 'u', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	refused_user(
	    st, &f, name, PG_ERR_TOOBIG, "user name longer than 64 bytes");
	refused_user(st, &f, "", PG_ERR_INVAL, "empty user name");
	refused_user(st, &f, NULL, PG_ERR_INVAL, "empty user name");
	refused_user(
	    st, &f, "ev\nil", PG_ERR_INVAL, "user name holds a control byte");
	refused_user(
	    st, &f, "\033[2J", PG_ERR_INVAL, "user name holds a control byte");
	refused_user(
	    st, &f, "del\177", PG_ERR_INVAL, "user name holds a control byte");
	/* At the limit, and bytes over 0x7f (UTF-8), the store is asked. */
	name[TOTP_USER_MAX] = '\0';
	assert_int_equal(totp_store_status(st, name, &s), PG_OK);
	assert_int_equal(f.calls[3], 1);
	/* The refusal's why is gone once the store answers again. */
	assert_string_equal(totp_store_why(st), "fake reason");
	assert_int_equal(totp_store_failures_reset(st, "jos\xc3\xa9"), PG_OK);
	assert_int_equal(f.calls[5], 1);
	totp_store_free(st);
	assert_int_equal(f.freed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_enrollment_new),
		cmocka_unit_test(t_value_make),
		cmocka_unit_test(t_value_find),
		cmocka_unit_test(t_value_corrupt),
		cmocka_unit_test(t_wrap),
		cmocka_unit_test(t_wrap_user),
		cmocka_unit_test(t_wrap_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
