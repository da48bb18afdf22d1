/*
 * ctl.c - the control protocol's one definition: the verb table, the
 * writing and reading of a request line, the start of a reply.  The
 * socket I/O stays with each side (the gateway serves many clients under
 * deadlines, the tool asks once); what goes over it is decided here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "base/base.h"
#include "core/ctl/ctl.h"

struct verb_def {
	const char *name; /* the words on the wire */
	bool arg;         /* takes one word */
	bool text;        /* and free text after it */
};

static const struct verb_def verbs[CTL_VERB_COUNT] = {
	[CTL_STATUS] = { "status", false, false },
	[CTL_STATUS_JSON] = { "status json", false, false },
	[CTL_BREAKGLASS] = { "breakglass", true, true },
	[CTL_UNLOCK] = { "unlock", true, false },
	[CTL_VIEW] = { "view", true, false },
};

static const char reply_ok[] = "ok\n";
static const char reply_error[] = "error: ";

/* C0 controls and DEL: they could end or disguise a line. */
static bool
is_control(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

static bool
has_control(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_control(s[i]))
			return true;
	return false;
}

const char *
ctl_verb_name(enum ctl_verb verb)
{
	if ((unsigned)verb >= CTL_VERB_COUNT)
		return NULL;
	return verbs[verb].name;
}

/* PG_OK, or why S cannot be an argument. */
static int
check_arg(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || memchr(s, ' ', n) != NULL ||
	    has_control(s, n))
		return PG_ERR_INVAL;
	return n > CTL_ARG_MAX ? PG_ERR_TOOBIG : PG_OK;
}

/* PG_OK, or why S cannot be free text. */
static int
check_text(const char *s)
{
	size_t n = strlen(s);

	if (has_control(s, n))
		return PG_ERR_INVAL;
	return n > CTL_TEXT_MAX ? PG_ERR_TOOBIG : PG_OK;
}

bool
ctl_arg_ok(const char *s)
{
	return check_arg(s) == PG_OK;
}

bool
ctl_text_ok(const char *s)
{
	return s != NULL && check_text(s) == PG_OK;
}

int
ctl_format_request(char *buf, size_t len, enum ctl_verb verb, const char *arg,
    const char *text)
{
	const struct verb_def *d;
	bool has_text = text != NULL && text[0] != '\0';
	int n, r;

	if (buf == NULL || len == 0 || (unsigned)verb >= CTL_VERB_COUNT)
		return PG_ERR_INVAL;
	d = &verbs[verb];
	if (d->arg ? arg == NULL : arg != NULL)
		return PG_ERR_INVAL;
	if (has_text && !d->text)
		return PG_ERR_INVAL;
	if (d->arg && (r = check_arg(arg)) != PG_OK)
		return r;
	if (has_text && (r = check_text(text)) != PG_OK)
		return r;
	n = snprintf(buf, len, "%s%s%s%s%s\n", d->name, d->arg ? " " : "",
	    d->arg ? arg : "", has_text ? " " : "", has_text ? text : "");
	if (n < 0)
		return PG_ERR_INVAL;
	if ((size_t)n >= len || n > CTL_LINE_MAX)
		return PG_ERR_TOOBIG;
	return n;
}

static int refuse(int code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Fills RQ's argument and text from P/N, what follows "VERB ". */
static int
parse_args(const struct verb_def *d, const char *p, size_t n,
    struct ctl_request *rq, char *why, size_t whylen)
{
	const char *sp = memchr(p, ' ', n);
	size_t an = sp != NULL ? (size_t)(sp - p) : n, tn;

	if (an == 0)
		return refuse(
		    PG_ERR_INVAL, why, whylen, "%s: missing argument", d->name);
	if (an > CTL_ARG_MAX)
		return refuse(PG_ERR_TOOBIG, why, whylen,
		    "%s: argument longer than %d bytes", d->name, CTL_ARG_MAX);
	if (sp != NULL && !d->text)
		return refuse(PG_ERR_INVAL, why, whylen,
		    "%s: one argument only", d->name);
	memcpy(rq->arg, p, an);
	rq->arg[an] = '\0';
	if (sp == NULL)
		return PG_OK;
	p = sp + 1;
	tn = n - an - 1;
	/* The limit counts what was sent; leading spaces are not kept. */
	if (tn > CTL_TEXT_MAX)
		return refuse(PG_ERR_TOOBIG, why, whylen,
		    "%s: text longer than %d bytes", d->name, CTL_TEXT_MAX);
	while (tn > 0 && *p == ' ') {
		p++;
		tn--;
	}
	memcpy(rq->text, p, tn);
	rq->text[tn] = '\0';
	return PG_OK;
}

/* The verb of the line P/N (no newline, no control character). */
static int
parse_verb(
    const char *p, size_t n, struct ctl_request *rq, char *why, size_t whylen)
{
	const char *sp = memchr(p, ' ', n);
	size_t w = sp != NULL ? (size_t)(sp - p) : n, vn;
	bool known_word = false;
	int v;

	for (v = 0; v < CTL_VERB_COUNT; v++) {
		vn = strlen(verbs[v].name);
		if (strncmp(verbs[v].name, p, w) == 0 &&
		    (verbs[v].name[w] == '\0' || verbs[v].name[w] == ' '))
			known_word = true;
		if (vn > n || memcmp(verbs[v].name, p, vn) != 0)
			continue;
		if (!verbs[v].arg && vn == n) {
			rq->verb = (enum ctl_verb)v;
			return PG_OK;
		}
		if (verbs[v].arg && (vn == n || p[vn] == ' ')) {
			rq->verb = (enum ctl_verb)v;
			return parse_args(&verbs[v], p + vn + (vn < n),
			    n - vn - (vn < n), rq, why, whylen);
		}
	}
	if (known_word)
		return refuse(PG_ERR_INVAL, why, whylen,
		    "%.*s: unexpected argument", (int)w, p);
	return refuse(PG_ERR_PARSE, why, whylen, "unknown request");
}

int
ctl_parse_request(
    const char *buf, size_t n, struct ctl_request *rq, char *why, size_t whylen)
{
	const char *nl = buf != NULL ? memchr(buf, '\n', n) : NULL;
	size_t len;
	int r;

	memset(rq, 0, sizeof(*rq));
	rq->verb = CTL_VERB_COUNT;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (nl == NULL && n >= CTL_LINE_MAX)
		return refuse(PG_ERR_TOOBIG, why, whylen,
		    "request longer than %d bytes", CTL_LINE_MAX);
	if (nl == NULL)
		return refuse(PG_ERR_PARSE, why, whylen,
		    "request incomplete: no newline");
	len = (size_t)(nl - buf);
	if (len + 1 > CTL_LINE_MAX)
		return refuse(PG_ERR_TOOBIG, why, whylen,
		    "request longer than %d bytes", CTL_LINE_MAX);
	if (len + 1 != n)
		return refuse(PG_ERR_PARSE, why, whylen,
		    "more than one line: one request per connection");
	if (memchr(buf, '\0', len) != NULL)
		return refuse(
		    PG_ERR_PARSE, why, whylen, "a NUL byte in the request");
	if (has_control(buf, len))
		return refuse(PG_ERR_PARSE, why, whylen,
		    "a control character in the request");
	r = parse_verb(buf, len, rq, why, whylen);
	if (r != PG_OK)
		rq->verb = CTL_VERB_COUNT;
	return r;
}

int
ctl_reply_ok(FILE *f)
{
	return fputs(reply_ok, f) < 0 ? -1 : 0;
}

/* The error line for FMT/AP in BUF of LEN bytes (at most CTL_ERROR_MAX
 * and a NUL), cut at a character boundary; its length, or -1. */
static int
vformat_error(char *buf, size_t len, const char *fmt, va_list ap)
{
	const size_t pre = sizeof(reply_error) - 1;
	char msg[CTL_ERROR_MAX];
	size_t room, n, i;

	if (len > CTL_ERROR_MAX + 1)
		len = CTL_ERROR_MAX + 1;
	if (buf == NULL || len < pre + 2)
		return -1;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	room = len - pre - 2;
	n = strlen(msg);
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, reply_error, pre);
	for (i = 0; i < n; i++)
		buf[pre + i] = is_control(msg[i]) ? '?' : msg[i];
	buf[pre + n] = '\n';
	buf[pre + n + 1] = '\0';
	return (int)(pre + n + 1);
}

int
ctl_format_error(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vformat_error(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

int
ctl_reply_error(FILE *f, const char *fmt, ...)
{
	char line[CTL_ERROR_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vformat_error(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || fwrite(line, 1, (size_t)n, f) != (size_t)n)
		return -1;
	return 0;
}

enum ctl_verdict
ctl_reply_verdict(const char *p, size_t n, size_t *body)
{
	const size_t okn = sizeof(reply_ok) - 1, errn = sizeof(reply_error) - 1;

	if (body != NULL)
		*body = 0;
	if (n >= okn && memcmp(p, reply_ok, okn) == 0) {
		if (body != NULL)
			*body = okn;
		return CTL_REPLY_OK;
	}
	if (n >= errn && memcmp(p, reply_error, errn) == 0)
		return CTL_REPLY_ERROR;
	if ((n < okn && memcmp(p, reply_ok, n) == 0) ||
	    (n < errn && memcmp(p, reply_error, n) == 0))
		return CTL_REPLY_MORE;
	return CTL_REPLY_BAD;
}

int
ctl_sockaddr(const char *path, struct sockaddr_un *sa)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || (n = strlen(path)) == 0)
		return PG_ERR_INVAL;
	if (n >= sizeof(sa->sun_path))
		return PG_ERR_TOOBIG;
	memcpy(sa->sun_path, path, n + 1);
	return PG_OK;
}
