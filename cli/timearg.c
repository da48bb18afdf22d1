/*
 * timearg.c - one parser for every option that takes a time, so that
 * --since means the same in each verb, and the local-time spelling of
 * the UTC times the tool prints.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "cli/timearg.h"
#include "cli/util.h"

/* The longest value worth reading: an ISO time with fraction and offset. */
#define IN_MAX 40
/* A count or an epoch above this is a typo, and near time_t's edge. */
#define NUM_MAX 1000000000000LL

static const char bad_form[] =
    "not a time; give now, today, yesterday, -90s, -30m, -1h, -2d, -1w, "
    "@EPOCH or YYYY-MM-DD[ HH:MM[:SS]][Z|+HH:MM]";

/* How much of a calendar time was given. */
enum prec { P_DAY, P_MIN, P_SEC };

/* Reads exactly N digits of S into *V; false if one is not a digit. */
static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* A count of decimal digits at S (at least one, up to NUL or END). */
static int
number(const char *s, const char **end, long long *v)
{
	*v = 0;
	if (*s < '0' || *s > '9')
		return PG_ERR_PARSE;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*v > NUM_MAX)
			return PG_ERR_TOOBIG;
		*v = *v * 10 + (*s - '0');
	}
	*end = s;
	return *v > NUM_MAX ? PG_ERR_TOOBIG : PG_OK;
}

static int
days_in(int year, int mon)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : d[mon - 1];
}

/*
 * Writes T (and FRAC, six digits, or NULL for whole seconds) as UTC ISO.
 * PG_ERR_TOOBIG for a year the filters cannot spell in four digits.
 */
static int
put_utc(time_t t, const char *frac, char *out, size_t len)
{
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 1 - 1900 ||
	    tm.tm_year > 9999 - 1900)
		return PG_ERR_TOOBIG;
	n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%sZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, frac != NULL ? "." : "", frac != NULL ? frac : "");
	return n > 0 && (size_t)n < len ? PG_OK : PG_ERR_TOOBIG;
}

/* now, today, yesterday: the instant, or local midnight. */
static int
named(const char *in, time_t now, time_t *t)
{
	struct tm tm;
	int back;

	if (strcmp(in, "now") == 0) {
		*t = now;
		return PG_OK;
	}
	if (strcmp(in, "today") == 0)
		back = 0;
	else if (strcmp(in, "yesterday") == 0)
		back = 1;
	else
		return PG_ERR_PARSE;
	if (localtime_r(&now, &tm) == NULL)
		return PG_ERR_TOOBIG;
	tm.tm_mday -= back;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*t = mktime(&tm);
	return PG_OK;
}

/* -90s, -30m, -1h, -2d, -1w (and + for ahead): seconds from NOW. */
static int
relative(const char *in, time_t now, time_t *t, const char **why)
{
	static const char units[] = "smhdw";
	static const long long mult[] = { 1, 60, 3600, 86400, 604800 };
	const char *p, *u;
	long long n;
	int r;

	if ((r = number(in + 1, &p, &n)) != PG_OK) {
		*why = r == PG_ERR_TOOBIG ? "out of range" : bad_form;
		return r;
	}
	if (*p == '\0' || p[1] != '\0' || (u = strchr(units, *p)) == NULL) {
		*why = "unknown unit; use s, m, h, d or w (-90s, -1h, -2d)";
		return PG_ERR_PARSE;
	}
	n *= mult[u - units];
	*t = in[0] == '-' ? now - (time_t)n : now + (time_t)n;
	return PG_OK;
}

/* Z, +HH:MM, -HH:MM, +HHMM at S: seconds east of UTC into *OFF. */
static int
zone(const char *s, int *local, long *off)
{
	int h, m;
	size_t n = strlen(s);

	*local = 0;
	*off = 0;
	if (n == 0) {
		*local = 1;
		return PG_OK;
	}
	if (strcmp(s, "Z") == 0)
		return PG_OK;
	if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h))
		return PG_ERR_PARSE;
	if (n == 6 && s[3] == ':' && digits(s + 4, 2, &m))
		;
	else if (n == 5 && digits(s + 3, 2, &m))
		;
	else
		return PG_ERR_PARSE;
	if (h > 23 || m > 59)
		return PG_ERR_PARSE;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
	return PG_OK;
}

/*
 * The calendar fields of IN (YYYY-MM-DD[(T| )HH:MM[:SS[.f...]]]) into TM,
 * how much was given into *PREC, the fraction (six digits, padded with
 * PAD) into FRAC, and where the zone starts into *REST.
 */
static int
calendar(const char *in, struct tm *tm, enum prec *prec, char *frac, char pad,
    const char **rest)
{
	int y, mo, d, h = 0, mi = 0, s = 0;
	size_t i;

	memset(tm, 0, sizeof(*tm));
	frac[0] = '\0';
	if (!digits(in, 4, &y) || in[4] != '-' || !digits(in + 5, 2, &mo) ||
	    in[7] != '-' || !digits(in + 8, 2, &d))
		return PG_ERR_PARSE;
	in += 10;
	*prec = P_DAY;
	if ((in[0] == 'T' || in[0] == ' ') && digits(in + 1, 2, &h) &&
	    in[3] == ':' && digits(in + 4, 2, &mi)) {
		in += 6;
		*prec = P_MIN;
		if (in[0] == ':' && digits(in + 1, 2, &s)) {
			in += 3;
			*prec = P_SEC;
			if (in[0] == '.' && in[1] >= '0' && in[1] <= '9') {
				for (i = 0, in++; *in >= '0' && *in <= '9';
				     in++)
					if (i < 6)
						frac[i++] = *in;
					else
						return PG_ERR_PARSE;
				memset(frac + i, pad, 6 - i);
				frac[6] = '\0';
			}
		}
	}
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) ||
	    h > 23 || mi > 59 || s > 59)
		return PG_ERR_INVAL;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = s;
	tm->tm_isdst = -1;
	*rest = in;
	return PG_OK;
}

/* A calendar time, local or with a zone; an END covers its last unit. */
static int
absolute(const char *in, enum cli_time_end end, char *out, size_t len,
    const char **why)
{
	struct tm tm, next;
	enum prec prec;
	char frac[7];
	const char *rest;
	int local, r;
	long off;
	time_t t;

	r = calendar(
	    in, &tm, &prec, frac, end == CLI_TIME_END ? '9' : '0', &rest);
	if (r == PG_OK && zone(rest, &local, &off) != PG_OK)
		r = PG_ERR_PARSE;
	if (r != PG_OK) {
		*why = r == PG_ERR_INVAL ? "no such date or time" : bad_form;
		return PG_ERR_PARSE;
	}
	next = tm;
	if (local) {
		t = mktime(&tm);
		if (end == CLI_TIME_END && prec == P_DAY) {
			/* The day's last second, whatever DST does to it. */
			next.tm_mday++;
			t = mktime(&next) - 1;
		}
	} else {
		t = timegm(&tm) - off;
		if (end == CLI_TIME_END && prec == P_DAY)
			t += 86399;
	}
	if (end == CLI_TIME_END && prec == P_MIN)
		t += 59;
	if ((r = put_utc(t, frac[0] != '\0' ? frac : NULL, out, len)) != PG_OK)
		*why = "out of range";
	return r;
}

int
cli_time_parse(const char *in, time_t now, enum cli_time_end end, char *out,
    size_t len, const char **why)
{
	const char *p;
	long long n;
	time_t t;
	int r;

	*why = bad_form;
	if (in[0] == '\0') {
		*why = "empty; give a time";
		return PG_ERR_PARSE;
	}
	if (strlen(in) > IN_MAX)
		return PG_ERR_PARSE;
	if (in[0] >= '0' && in[0] <= '9')
		return absolute(in, end, out, len, why);
	if (in[0] == '@') {
		if ((r = number(in + 1, &p, &n)) == PG_OK && *p != '\0')
			r = PG_ERR_PARSE;
		if (r != PG_OK) {
			*why = r == PG_ERR_TOOBIG ? "out of range"
			                          : "give @ and seconds since "
			                            "1970 (@1764800000)";
			return r;
		}
		t = (time_t)n;
	} else if (in[0] == '-' || in[0] == '+') {
		if ((r = relative(in, now, &t, why)) != PG_OK)
			return r;
	} else if (named(in, now, &t) != PG_OK) {
		return PG_ERR_PARSE;
	}
	/* An instant: exact to the microsecond at either end. */
	if ((r = put_utc(t, "000000", out, len)) != PG_OK)
		*why = "out of range";
	return r;
}

int
cli_time_opt(const struct cli_ctx *ctx, const char *verb, const char *opt,
    enum cli_time_end end, const char **val, char *buf, size_t len)
{
	char shown[128];
	const char *why;

	if (*val == NULL)
		return CLI_EXIT_OK;
	if (cli_time_parse(*val, time(NULL), end, buf, len, &why) != PG_OK) {
		fprintf(stderr, "%s: %s: bad time for %s: '%s': %s\n",
		    ctx->progname, verb, opt,
		    cli_escape(*val, shown, sizeof(shown), CLI_ESC_BACKSLASH),
		    why);
		return CLI_EXIT_USAGE;
	}
	*val = buf;
	return CLI_EXIT_OK;
}

const char *
cli_time_local_t(time_t t, char *out, size_t len)
{
	struct tm tm;
	char z[8];

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(z, sizeof(z), "%z", &tm) != 5 ||
	    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%.3s:%s",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	        tm.tm_min, tm.tm_sec, z, z + 3) >= (int)len)
		snprintf(out, len, "@%lld", (long long)t);
	return out;
}

const char *
cli_time_local(const char *iso, char *out, size_t len)
{
	struct tm tm;
	char frac[8] = "", loc[CLI_TIME_LEN], *dot;
	const char *rest;
	enum prec prec;
	size_t n = strlen(iso);
	time_t t;

	snprintf(out, len, "%s", iso);
	if (n < 2 || n > IN_MAX || iso[n - 1] != 'Z' ||
	    calendar(iso, &tm, &prec, frac + 1, '0', &rest) != PG_OK ||
	    prec != P_SEC || strcmp(rest, "Z") != 0 ||
	    (t = timegm(&tm)) == (time_t)-1)
		return out;
	/* Keep the fraction as stored: 14:00:05.123456 stays .123456. */
	dot = strchr(iso + 19, '.');
	cli_time_local_t(t, loc, sizeof(loc));
	if (loc[0] == '@')
		return out;
	snprintf(out, len, "%.19s%.*s%s", loc,
	    dot != NULL ? (int)(n - 1 - (size_t)(dot - iso)) : 0,
	    dot != NULL ? dot : "", loc + 19);
	return out;
}

void
cli_time_usage(FILE *f)
{
	fputs("  Times (T): now, today, yesterday (local midnight); -90s, "
	      "-30m, -1h,\n"
	      "  -2d, -1w (ago), @EPOCH; a local time in TZ: YYYY-MM-DD"
	      "[ HH:MM[:SS]];\n"
	      "  UTC with Z or an offset: 2026-12-03T14:00Z, "
	      "2026-12-03 15:00+01:00.\n"
	      "  A day or minute at --until includes all of it.\n",
	    f);
}
