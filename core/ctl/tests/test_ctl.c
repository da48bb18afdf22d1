/*
 * test_ctl.c - the control protocol: every request written by
 * ctl_format_request() reads back the same through ctl_parse_request(),
 * every bad request is refused with its reason, replies start as the
 * other side expects, and docs/control-protocol.md names what ctl.h has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/ctl/ctl.h"

/* Parses the C string S (its length, without a NUL) into RQ. */
static int
parse_str(const char *s, struct ctl_request *rq, char *why, size_t whylen)
{
	return ctl_parse_request(s, strlen(s), rq, why, whylen);
}

/* A string of N copies of C, allocated. */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Copies S with its NUL to P; returns where the NUL went. */
static char *
put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n + 1);
	return p + n;
}

static void
round_trip(void **state)
{
	static const struct {
		enum ctl_verb verb;
		const char *arg, *text, *line, *back;
	} c[] = {
		{ CTL_STATUS, NULL, NULL, "status\n", "" },
		{ CTL_STATUS_JSON, NULL, NULL, "status json\n", "" },
		{ CTL_BREAKGLASS, "P000004", "ER trauma, unconscious",
		    "breakglass P000004 ER trauma, unconscious\n",
		    "ER trauma, unconscious" },
		{ CTL_BREAKGLASS, "P000004", NULL, "breakglass P000004\n", "" },
		{ CTL_BREAKGLASS, "P000004", "", "breakglass P000004\n", "" },
		/* Leading spaces are not kept: the gateway never kept them. */
		{ CTL_BREAKGLASS, "P1", "  two spaces",
		    "breakglass P1   two spaces\n", "two spaces" },
		{ CTL_BREAKGLASS, "P1", "caf\xc3\xa9",
		    "breakglass P1 caf\xc3\xa9\n", "caf\xc3\xa9" },
		{ CTL_UNLOCK, "gwnurse", NULL, "unlock gwnurse\n", "" },
		{ CTL_VIEW, "2901", NULL, "view 2901\n", "" },
	};
	struct ctl_request rq;
	char buf[CTL_LINE_MAX + 1], why[128];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = ctl_format_request(
		    buf, sizeof(buf), c[i].verb, c[i].arg, c[i].text);
		assert_int_equal(n, (int)strlen(c[i].line));
		assert_string_equal(buf, c[i].line);
		assert_int_equal(
		    ctl_parse_request(buf, (size_t)n, &rq, why, sizeof(why)),
		    PG_OK);
		assert_int_equal(rq.verb, c[i].verb);
		assert_string_equal(rq.arg, c[i].arg ? c[i].arg : "");
		assert_string_equal(rq.text, c[i].back);
	}
}

/* The longest argument and text go through whole. */
static void
round_trip_limits(void **state)
{
	char *arg = repeat('a', CTL_ARG_MAX), *text = repeat('t', CTL_TEXT_MAX);
	struct ctl_request rq;
	char buf[CTL_LINE_MAX + 1], why[128];
	int n;

	(void)state;
	n = ctl_format_request(buf, sizeof(buf), CTL_BREAKGLASS, arg, text);
	assert_true(n > 0 && n <= CTL_LINE_MAX);
	assert_int_equal(
	    ctl_parse_request(buf, (size_t)n, &rq, why, sizeof(why)), PG_OK);
	assert_string_equal(rq.arg, arg);
	assert_string_equal(rq.text, text);
	free(arg);
	free(text);
}

static void
format_bad(void **state)
{
	char *longarg = repeat('a', CTL_ARG_MAX + 1);
	char *longtext = repeat('t', CTL_TEXT_MAX + 1);
	char buf[CTL_LINE_MAX + 1], small[8];

	(void)state;
	/* Unknown verbs. */
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_VERB_COUNT, NULL, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(ctl_format_request(
	                     buf, sizeof(buf), (enum ctl_verb) - 1, NULL, NULL),
	    PG_ERR_INVAL);
	assert_null(ctl_verb_name(CTL_VERB_COUNT));
	/* Missing argument, or one where none belongs. */
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, NULL, NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, "", NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_BREAKGLASS, NULL, "why"),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_STATUS, "x", NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_STATUS, NULL, "x"),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, "u", "text"),
	    PG_ERR_INVAL);
	/* What would end the line, split the argument or hide in it. */
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, "a\nstatus", NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, "a b", NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, "a\rb", NULL),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_BREAKGLASS, "P1", "a\nb"),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_BREAKGLASS, "P1", "a\tb"),
	    PG_ERR_INVAL);
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_BREAKGLASS, "P1", "a\x7f"),
	    PG_ERR_INVAL);
	/* Over a limit, or over the buffer. */
	assert_int_equal(
	    ctl_format_request(buf, sizeof(buf), CTL_UNLOCK, longarg, NULL),
	    PG_ERR_TOOBIG);
	assert_int_equal(ctl_format_request(
	                     buf, sizeof(buf), CTL_BREAKGLASS, "P1", longtext),
	    PG_ERR_TOOBIG);
	assert_int_equal(
	    ctl_format_request(small, sizeof(small), CTL_UNLOCK, "u1", NULL),
	    PG_ERR_TOOBIG);
	assert_int_equal(
	    ctl_format_request(small, sizeof(small), CTL_STATUS, NULL, NULL),
	    7);
	assert_int_equal(
	    ctl_format_request(NULL, 10, CTL_STATUS, NULL, NULL), PG_ERR_INVAL);
	/* The checks the tool makes before it formats. */
	assert_true(ctl_arg_ok("P000004"));
	assert_false(ctl_arg_ok(NULL));
	assert_false(ctl_arg_ok(""));
	assert_false(ctl_arg_ok("a b"));
	assert_false(ctl_arg_ok(longarg));
	assert_true(ctl_text_ok(""));
	assert_true(ctl_text_ok("a reason with spaces"));
	assert_false(ctl_text_ok(NULL));
	assert_false(ctl_text_ok("two\nlines"));
	assert_false(ctl_text_ok(longtext));
	free(longarg);
	free(longtext);
}

/* Each bad request: its bytes, the code and a word of the reason. */
static void
parse_bad(void **state)
{
	static const struct {
		const char *line;
		int code;
		const char *why;
	} c[] = {
		{ "reload\n", PG_ERR_PARSE, "unknown request" },
		{ "STATUS\n", PG_ERR_PARSE, "unknown request" },
		{ "statusjson\n", PG_ERR_PARSE, "unknown request" },
		{ "\n", PG_ERR_PARSE, "unknown request" },
		{ " status\n", PG_ERR_PARSE, "unknown request" },
		{ "status x\n", PG_ERR_INVAL, "status: unexpected argument" },
		{ "status json x\n", PG_ERR_INVAL, "unexpected argument" },
		{ "status  json\n", PG_ERR_INVAL, "unexpected argument" },
		{ "status \n", PG_ERR_INVAL, "unexpected argument" },
		{ "unlock\n", PG_ERR_INVAL, "unlock: missing argument" },
		{ "unlock \n", PG_ERR_INVAL, "unlock: missing argument" },
		{ "breakglass\n", PG_ERR_INVAL,
		    "breakglass: missing argument" },
		{ "breakglass  P1 why\n", PG_ERR_INVAL, "missing argument" },
		{ "unlock a b\n", PG_ERR_INVAL, "unlock: one argument only" },
		{ "view\n", PG_ERR_INVAL, "view: missing argument" },
		{ "view 1 2\n", PG_ERR_INVAL, "view: one argument only" },
		{ "", PG_ERR_PARSE, "incomplete" },
		{ "status", PG_ERR_PARSE, "incomplete" },
		{ "status\nstatus\n", PG_ERR_PARSE, "more than one line" },
		{ "status\nx", PG_ERR_PARSE, "more than one line" },
		{ "status\r\n", PG_ERR_PARSE, "control character" },
		{ "unlock a\x1b[2J\n", PG_ERR_PARSE, "control character" },
		{ "breakglass P1 a\tb\n", PG_ERR_PARSE, "control character" },
		{ "breakglass P1 a\x7f\n", PG_ERR_PARSE, "control character" },
	};
	struct ctl_request rq;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(why, 0, sizeof(why));
		assert_int_equal(
		    parse_str(c[i].line, &rq, why, sizeof(why)), c[i].code);
		assert_non_null(strstr(why, c[i].why));
		assert_int_equal(rq.verb, CTL_VERB_COUNT);
	}
}

/* A NUL inside the line, where a C string would end early. */
static void
parse_nul(void **state)
{
	static const char line[] = "unlock root\0gwnurse\n";
	struct ctl_request rq;
	char why[128];

	(void)state;
	assert_int_equal(
	    ctl_parse_request(line, sizeof(line) - 1, &rq, why, sizeof(why)),
	    PG_ERR_PARSE);
	assert_non_null(strstr(why, "NUL"));
	assert_int_equal(rq.verb, CTL_VERB_COUNT);
	assert_string_equal(rq.arg, "");
}

static void
parse_overlong(void **state)
{
	char *buf = repeat('a', CTL_LINE_MAX + 1), *p;
	struct ctl_request rq;
	char why[128];

	(void)state;
	/* CTL_LINE_MAX bytes, newline included: read (and not a verb). */
	buf[CTL_LINE_MAX - 1] = '\n';
	assert_int_equal(
	    ctl_parse_request(buf, CTL_LINE_MAX, &rq, why, sizeof(why)),
	    PG_ERR_PARSE);
	assert_string_equal(why, "unknown request");
	/* One more: too long, whether the newline came or not. */
	buf[CTL_LINE_MAX - 1] = 'a';
	buf[CTL_LINE_MAX] = '\n';
	assert_int_equal(
	    ctl_parse_request(buf, CTL_LINE_MAX + 1, &rq, why, sizeof(why)),
	    PG_ERR_TOOBIG);
	assert_non_null(strstr(why, "longer than 1023 bytes"));
	assert_int_equal(
	    ctl_parse_request(buf, CTL_LINE_MAX, &rq, why, sizeof(why)),
	    PG_ERR_TOOBIG);
	/* A line short of the maximum without its newline is incomplete. */
	assert_int_equal(
	    ctl_parse_request(buf, CTL_LINE_MAX - 1, &rq, why, sizeof(why)),
	    PG_ERR_PARSE);
	assert_non_null(strstr(why, "incomplete"));
	free(buf);

	/* The argument and the text have limits of their own. */
	buf = repeat('a', 64 + CTL_ARG_MAX + CTL_TEXT_MAX);
	p = put(buf, "unlock ");
	memset(p, 'u', CTL_ARG_MAX + 1);
	put(p + CTL_ARG_MAX + 1, "\n");
	assert_int_equal(parse_str(buf, &rq, why, sizeof(why)), PG_ERR_TOOBIG);
	assert_non_null(strstr(why, "argument longer than 255 bytes"));
	/* The text's limit counts its leading spaces, as sent. */
	p = put(buf, "breakglass P1  ");
	memset(p, 't', CTL_TEXT_MAX);
	put(p + CTL_TEXT_MAX, "\n");
	assert_int_equal(parse_str(buf, &rq, why, sizeof(why)), PG_ERR_TOOBIG);
	assert_non_null(strstr(why, "text longer than 400 bytes"));
	free(buf);
}

/* WHY may be left out; a short WHY is cut, not overrun. */
static void
parse_why(void **state)
{
	struct ctl_request rq;
	char why[8];

	(void)state;
	assert_int_equal(parse_str("nope\n", &rq, NULL, 0), PG_ERR_PARSE);
	assert_int_equal(
	    parse_str("nope\n", &rq, why, sizeof(why)), PG_ERR_PARSE);
	assert_string_equal(why, "unknown");
	assert_int_equal(
	    ctl_parse_request(NULL, 0, &rq, why, sizeof(why)), PG_ERR_PARSE);
}

/* The reply's first line, written to a memory stream: "ok", or the
 * error MSG. */
static char *
reply(const char *msg)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	if (msg == NULL)
		assert_int_equal(ctl_reply_ok(f), 0);
	else
		assert_int_equal(ctl_reply_error(f, "%s", msg), 0);
	assert_int_equal(fclose(f), 0);
	return s;
}

static void
replies(void **state)
{
	char *s, *big;
	size_t body;
	char buf[CTL_ERROR_MAX + 64];
	int n;

	(void)state;
	s = reply(NULL);
	assert_string_equal(s, "ok\n");
	assert_int_equal(ctl_reply_verdict(s, strlen(s), &body), CTL_REPLY_OK);
	assert_int_equal(body, 3);
	free(s);
	s = reply("only root may unlock an account");
	assert_string_equal(s, "error: only root may unlock an account\n");
	assert_int_equal(
	    ctl_reply_verdict(s, strlen(s), &body), CTL_REPLY_ERROR);
	assert_int_equal(body, 0);
	free(s);
	/* A message cannot add a line, or paint the terminal. */
	s = reply("no user a\nok\n\x1b[2J");
	assert_string_equal(s, "error: no user a?ok??[2J\n");
	free(s);
	/* Cut to CTL_ERROR_MAX, newline included, at a character boundary:
	 * 'x' then two-byte characters put a boundary on every odd byte. */
	big = malloc(2 * CTL_ERROR_MAX + 2);
	assert_non_null(big);
	big[0] = 'x';
	for (n = 0; n < CTL_ERROR_MAX; n++)
		memcpy(big + 1 + 2 * n, "\xc3\xa9", 2);
	big[1 + 2 * CTL_ERROR_MAX] = '\0';
	s = reply(big);
	assert_true(strlen(s) <= CTL_ERROR_MAX);
	assert_true(strlen(s) >= CTL_ERROR_MAX - 1);
	assert_int_equal(s[strlen(s) - 1], '\n');
	assert_int_equal((strlen(s) - 1 - 7) % 2, 1);
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);
	/* Into a buffer, as the server's refusals are. */
	n = ctl_format_error(buf, sizeof(buf), "%s; try again later", "busy");
	assert_int_equal(n, (int)strlen("error: busy; try again later\n"));
	assert_string_equal(buf, "error: busy; try again later\n");
	n = ctl_format_error(buf, 12, "%s", "a long message");
	assert_int_equal(n, 11);
	assert_string_equal(buf, "error: a l\n");
	assert_int_equal(ctl_format_error(buf, 8, "%s", "x"), -1);
	assert_int_equal(ctl_format_error(buf, 9, "%s", "xy"), 8);
	assert_string_equal(buf, "error: \n");
	free(big);
}

static void
verdicts(void **state)
{
	static const struct {
		const char *p;
		enum ctl_verdict v;
	} c[] = {
		{ "ok\n", CTL_REPLY_OK },
		{ "ok\nuser gwx uid 7\n", CTL_REPLY_OK },
		{ "error: no such user\n", CTL_REPLY_ERROR },
		{ "error: ", CTL_REPLY_ERROR },
		/* Cut short: more is needed, and a stream that ends here
		 * gave no answer. */
		{ "", CTL_REPLY_MORE },
		{ "o", CTL_REPLY_MORE },
		{ "ok", CTL_REPLY_MORE },
		{ "e", CTL_REPLY_MORE },
		{ "error", CTL_REPLY_MORE },
		{ "error:", CTL_REPLY_MORE },
		/* Not this protocol. */
		{ "okay\n", CTL_REPLY_BAD },
		{ "OK\n", CTL_REPLY_BAD },
		{ "ok \n", CTL_REPLY_BAD },
		{ "error:x", CTL_REPLY_BAD },
		{ "Error: x\n", CTL_REPLY_BAD },
		{ "HTTP/1.1 400\r\n", CTL_REPLY_BAD },
	};
	size_t i, body;
	char p[CTL_VERDICT_MAX];
	int b;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		assert_int_equal(
		    ctl_reply_verdict(c[i].p, strlen(c[i].p), &body), c[i].v);
	/* CTL_VERDICT_MAX bytes always decide, whatever they are. */
	for (b = 0; b < 256; b++) {
		memset(p, 'x', sizeof(p));
		p[0] = (char)b;
		assert_int_not_equal(
		    ctl_reply_verdict(p, sizeof(p), NULL), CTL_REPLY_MORE);
	}
	assert_int_not_equal(
	    ctl_reply_verdict("error: ", CTL_VERDICT_MAX, NULL),
	    CTL_REPLY_MORE);
}

static void
sockaddrs(void **state)
{
	struct sockaddr_un sa;
	char path[sizeof(sa.sun_path) + 1];

	(void)state;
	assert_int_equal(
	    ctl_sockaddr("/run/photoguard/gateway.sock", &sa), PG_OK);
	assert_int_equal(sa.sun_family, AF_UNIX);
	assert_string_equal(sa.sun_path, "/run/photoguard/gateway.sock");
	assert_int_equal(ctl_sockaddr(NULL, &sa), PG_ERR_INVAL);
	assert_int_equal(ctl_sockaddr("", &sa), PG_ERR_INVAL);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(ctl_sockaddr(path, &sa), PG_ERR_TOOBIG);
	path[sizeof(sa.sun_path) - 1] = '\0'; /* room for the NUL */
	assert_int_equal(ctl_sockaddr(path, &sa), PG_OK);
	assert_int_equal(strlen(sa.sun_path), sizeof(sa.sun_path) - 1);
}

/* The specification names every verb and limit ctl.h has. */
static void
documented(void **state)
{
	static const struct {
		const char *what;
		int value;
	} lim[] = {
		{ "CTL_LINE_MAX", CTL_LINE_MAX },
		{ "CTL_ARG_MAX", CTL_ARG_MAX },
		{ "CTL_TEXT_MAX", CTL_TEXT_MAX },
		{ "CTL_ERROR_MAX", CTL_ERROR_MAX },
		{ "CTL_REQUEST_MS", CTL_REQUEST_MS },
		{ "CTL_ANSWER_MS", CTL_ANSWER_MS },
		{ "CTL_CLIENT_MS", CTL_CLIENT_MS },
	};
	const char *root = getenv("PG_SOURCE_ROOT");
	char path[4096], want[128], *doc;
	size_t n;
	FILE *f;
	int v;

	(void)state;
	if (root == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/docs/control-protocol.md", root);
	f = fopen(path, "r");
	assert_non_null(f);
	doc = malloc(1 << 16);
	assert_non_null(doc);
	n = fread(doc, 1, (1 << 16) - 1, f);
	doc[n] = '\0';
	fclose(f);
	for (v = 0; v < CTL_VERB_COUNT; v++) {
		snprintf(want, sizeof(want), "`%s", ctl_verb_name(v));
		if (strstr(doc, want) == NULL)
			fail_msg("%s does not name the verb \"%s\"", path,
			    ctl_verb_name(v));
	}
	for (n = 0; n < sizeof(lim) / sizeof(lim[0]); n++) {
		snprintf(
		    want, sizeof(want), "`%s` | %d", lim[n].what, lim[n].value);
		if (strstr(doc, want) == NULL)
			fail_msg("%s does not say \"%s\"", path, want);
	}
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(round_trip_limits),
		cmocka_unit_test(format_bad),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(parse_nul),
		cmocka_unit_test(parse_overlong),
		cmocka_unit_test(parse_why),
		cmocka_unit_test(replies),
		cmocka_unit_test(verdicts),
		cmocka_unit_test(sockaddrs),
		cmocka_unit_test(documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
