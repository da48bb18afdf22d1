/*
 * audit_collect_msg.c - reads one line of a collector's file: an RFC 5424
 * message as rsyslog writes it (RSYSLOG_SyslogProtocol23Format), picking
 * out our structured-data element and the payload after it.  Everything
 * is checked against explicit limits: the file is evidence, and may have
 * been written by anyone who could reach the collector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/audit/audit_forward.h"
#include "base/base.h"

struct cur {
	const char *p, *end;
};

/* Skips one header field (up to the next space) and the space. */
static int
field(struct cur *c, const char **start, size_t *n)
{
	const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));

	if (sp == NULL || sp == c->p)
		return -1;
	*start = c->p;
	*n = (size_t)(sp - c->p);
	c->p = sp + 1;
	return 0;
}

static int
digits(const char *p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int
audit_fwd_stamp(const char *s, size_t n, long long *out)
{
	struct tm tm;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	size_t i = 19;

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || digits(s, 4, &y) != 0 ||
	    digits(s + 5, 2, &mo) != 0 || digits(s + 8, 2, &d) != 0 ||
	    digits(s + 11, 2, &h) != 0 || digits(s + 14, 2, &mi) != 0 ||
	    digits(s + 17, 2, &se) != 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	if (s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	if (i + 1 == n && s[i] == 'Z')
		sign = 0;
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
	    s[i + 3] == ':' && digits(s + i + 1, 2, &oh) == 0 &&
	    digits(s + i + 4, 2, &om) == 0)
		sign = s[i] == '+' ? 1 : -1;
	else
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (long long)timegm(&tm) - sign * (oh * 3600LL + om * 60LL);
	return 0;
}

/* One PARAM-VALUE after its opening quote, unescaped into OUT. */
static int
param_value(struct cur *c, char *out, size_t outlen)
{
	size_t o = 0;

	for (; c->p < c->end && *c->p != '"'; c->p++) {
		if (*c->p == '\\' && c->p + 1 < c->end &&
		    (c->p[1] == '"' || c->p[1] == '\\' || c->p[1] == ']'))
			c->p++;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = *c->p;
	}
	if (c->p >= c->end)
		return -1;
	c->p++; /* the closing quote */
	out[o] = '\0';
	return 0;
}

static int
num(const char *v, long long max, long long *out)
{
	char *e;
	long long x;

	if (v[0] < '0' || v[0] > '9' || (v[0] == '0' && v[1] != '\0') ||
	    strlen(v) > 18)
		return -1;
	x = strtoll(v, &e, 10);
	if (*e != '\0' || x > max)
		return -1;
	*out = x;
	return 0;
}

/* Takes NAME=VALUE into M; each may come once. */
static int
take_param(struct audit_fwd_msg *m, const char *name, const char *v,
    unsigned *seen, char *why, size_t whylen)
{
	static const char *const names[] = { "host", "kind", "seq", "part",
		"parts", "hash" };
	long long x = 0;
	size_t i;

	for (i = 0; i < 6 && strcmp(name, names[i]) != 0; i++)
		;
	if (i == 6)
		return 0; /* a later version's: ignored */
	if (*seen & (1u << i)) {
		snprintf(why, whylen, "parameter %s twice", name);
		return -1;
	}
	*seen |= 1u << i;
	if ((i == 0 && (v[0] == '\0' || strlen(v) >= sizeof(m->host))) ||
	    (i == 1 && strcmp(v, "record") != 0 && strcmp(v, "head") != 0 &&
	        strcmp(v, "heartbeat") != 0) ||
	    (i == 2 && num(v, (1LL << 62), &x) != 0) ||
	    (i >= 3 && i <= 4 &&
	        (num(v, AUDIT_FWD_MAX_PARTS, &x) != 0 || x < 1)) ||
	    (i == 5 &&
	        (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64))) {
		snprintf(why, whylen, "bad %s", name);
		return -1;
	}
	if (i == 0)
		memcpy(m->host, v, strlen(v) + 1);
	else if (i == 1)
		m->kind = v[0] == 'r'        ? AUDIT_FWD_RECORD
		    : strcmp(v, "head") == 0 ? AUDIT_FWD_HEAD
		                             : AUDIT_FWD_HEARTBEAT;
	else if (i == 2)
		m->seq = x;
	else if (i == 3)
		m->part = (size_t)x;
	else if (i == 4)
		m->parts = (size_t)x;
	else
		memcpy(m->hash, v, 65);
	return 0;
}

/* Our SD-ELEMENT, after "[" AUDIT_FWD_SDID. */
static int
our_element(struct cur *c, struct audit_fwd_msg *m, char *why, size_t whylen)
{
	char name[33], val[2 * AUDIT_HOST_MAX];
	unsigned seen = 0;
	const char *eq;

	while (c->p < c->end && *c->p == ' ') {
		c->p++;
		eq = memchr(c->p, '=', (size_t)(c->end - c->p));
		if (eq == NULL || eq == c->p ||
		    eq - c->p >= (long)sizeof(name) || eq + 1 >= c->end ||
		    eq[1] != '"') {
			snprintf(why, whylen, "bad structured data");
			return -1;
		}
		memcpy(name, c->p, (size_t)(eq - c->p));
		name[eq - c->p] = '\0';
		c->p = eq + 2;
		if (param_value(c, val, sizeof(val)) != 0) {
			snprintf(why, whylen, "bad value of %s", name);
			return -1;
		}
		if (take_param(m, name, val, &seen, why, whylen) != 0)
			return -1;
	}
	if (c->p >= c->end || *c->p != ']') {
		snprintf(why, whylen, "bad structured data");
		return -1;
	}
	c->p++;
	if (seen != 0x3f) {
		snprintf(why, whylen, "a parameter is missing");
		return -1;
	}
	if (m->part > m->parts) {
		snprintf(why, whylen, "part %zu of %zu", m->part, m->parts);
		return -1;
	}
	return 0;
}

/* Skips someone else's SD-ELEMENT, quotes and escapes respected. */
static int
skip_element(struct cur *c)
{
	int inq = 0;

	for (c->p++; c->p < c->end; c->p++) {
		if (inq && *c->p == '\\')
			c->p++;
		else if (*c->p == '"')
			inq = !inq;
		else if (!inq && *c->p == ']') {
			c->p++;
			return 0;
		}
	}
	return -1;
}

static int
structured(struct cur *c, struct audit_fwd_msg *m, char *why, size_t whylen)
{
	static const char id[] = "[" AUDIT_FWD_SDID;
	int ours = 0;

	while (c->p < c->end && *c->p == '[') {
		if ((size_t)(c->end - c->p) > sizeof(id) - 1 &&
		    memcmp(c->p, id, sizeof(id) - 1) == 0 &&
		    (c->p[sizeof(id) - 1] == ' ' ||
		        c->p[sizeof(id) - 1] == ']')) {
			if (ours++) {
				snprintf(why, whylen,
				    "two " AUDIT_FWD_SDID " elements");
				return -1;
			}
			c->p += sizeof(id) - 1;
			if (our_element(c, m, why, whylen) != 0)
				return -1;
		} else if (skip_element(c) != 0) {
			snprintf(why, whylen, "bad structured data");
			return -1;
		}
	}
	if (!ours)
		snprintf(why, whylen, "no " AUDIT_FWD_SDID " element");
	return ours ? 0 : -1;
}

int
audit_fwd_parse(const char *line, size_t len, struct audit_fwd_msg *m,
    char *why, size_t whylen)
{
	struct cur c = { line, line + len };
	const char *f;
	size_t n;
	int i;

	memset(m, 0, sizeof(*m));
	if (memmem(line, len, "[" AUDIT_FWD_SDID, sizeof(AUDIT_FWD_SDID)) ==
	    NULL)
		return 0;
	/* PRI and VERSION, then TIMESTAMP HOSTNAME APP-NAME PROCID MSGID. */
	if (field(&c, &f, &n) != 0 || f[0] != '<' ||
	    memchr(f, '>', n) == NULL) {
		snprintf(why, whylen, "not an RFC 5424 message");
		return -1;
	}
	for (i = 0; i < 5; i++) {
		if (field(&c, &f, &n) != 0) {
			snprintf(why, whylen, "not an RFC 5424 message");
			return -1;
		}
		if (i == 0 &&
		    (n >= sizeof(m->stamp) ||
		        audit_fwd_stamp(f, n, &m->time))) {
			snprintf(why, whylen, "bad timestamp");
			return -1;
		}
		if (i == 0)
			memcpy(m->stamp, f, n);
	}
	if (structured(&c, m, why, whylen) != 0)
		return -1;
	if (c.p >= c.end || *c.p != ' ' || c.p + 1 >= c.end) {
		snprintf(why, whylen, "no payload");
		return -1;
	}
	m->payload = c.p + 1;
	m->plen = (size_t)(c.end - c.p - 1);
	if (m->plen > AUDIT_FWD_PART) {
		snprintf(why, whylen, "a part of %zu bytes", m->plen);
		return -1;
	}
	return 1;
}
