/*
 * config_uri.c - the one check of a [directory] uri list against the
 * transport it is used with.  The config reports it against the file's
 * lines; the LDAP backend repeats it on a config built by hand (a test, a
 * tool), so the two can never disagree on what they accept.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config/config.h"
#include "base/base.h"

/* True if HOST (N bytes: the URI after its scheme) is on loopback. */
static bool
host_is_loopback(const char *h, size_t n)
{
	size_t k = 0;

	if (n >= 5 && strncmp(h, "[::1]", 5) == 0)
		return n == 5 || h[5] == ':' || h[5] == '/';
	while (k < n && h[k] != ':' && h[k] != '/')
		k++;
	if (k == 9 && strncasecmp(h, "localhost", 9) == 0)
		return true;
	/* 127.0.0.0/8, written as a dotted quad. */
	return k >= 9 && k <= 15 && strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") >= k;
}

static int refuse(enum pg_uri_fault f, enum pg_uri_fault *fault, char *err,
    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
refuse(enum pg_uri_fault f, enum pg_uri_fault *fault, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	if (fault != NULL)
		*fault = f;
	if (errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return PG_ERR_CONFIG;
}

/*
 * Walks the list: one space between URIs, one scheme for all, and no
 * comma, tab or newline, which libldap would also split on behind the
 * count.  On success *SCHEME is the scheme's length (7 or 8) and *LOOP
 * whether every host is on loopback.
 */
static int
walk(const char *s, size_t *scheme, bool *loop, enum pg_uri_fault *fault,
    char *err, size_t errlen)
{
	size_t n, count = 0, len;

	*scheme = 0;
	*loop = true;
	for (;;) {
		n = strcspn(s, " ");
		if (n == 0)
			return refuse(PG_URI_BAD_LIST, fault, err, errlen, "%s",
			    "empty element (separate URIs with one space)");
		if (++count > PG_DIR_URIS_MAX)
			return refuse(PG_URI_BAD_LIST, fault, err, errlen,
			    "more than %d URIs", PG_DIR_URIS_MAX);
		if (strcspn(s, ",\t\n") < n)
			return refuse(PG_URI_BAD_LIST, fault, err, errlen, "%s",
			    "separate URIs with spaces, not commas or tabs");
		if (n >= 8 && strncasecmp(s, "ldaps://", 8) == 0)
			len = 8;
		else if (n >= 7 && strncasecmp(s, "ldap://", 7) == 0)
			len = 7;
		else
			return refuse(PG_URI_BAD_LIST, fault, err, errlen, "%s",
			    "must start with ldap:// or ldaps://");
		if (n == len || s[len] == '/' || s[len] == ':')
			return refuse(PG_URI_BAD_LIST, fault, err, errlen,
			    "'%.*s' names no host", (int)(n > 200 ? 200 : n),
			    s);
		if (*scheme != 0 && len != *scheme)
			return refuse(PG_URI_BAD_LIST, fault, err, errlen, "%s",
			    "mixes ldap:// and ldaps:// (one tls mode serves "
			    "every URI)");
		*scheme = len;
		*loop = *loop && host_is_loopback(s + len, n - len);
		if (s[n] == '\0')
			return PG_OK;
		s += n + 1;
	}
}

int
pg_config_check_uris(const char *list, enum pg_dir_tls tls, bool verify,
    enum pg_uri_fault *fault, char *err, size_t errlen)
{
	size_t scheme;
	bool loop;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (list == NULL)
		return refuse(
		    PG_URI_BAD_LIST, fault, err, errlen, "%s", "missing");
	if (strlen(list) > PG_DIR_URI_LIST_MAX)
		return refuse(PG_URI_BAD_LIST, fault, err, errlen,
		    "too long (at most %d characters)", PG_DIR_URI_LIST_MAX);
	if ((r = walk(list, &scheme, &loop, fault, err, errlen)) != PG_OK)
		return r;
	if (tls != PG_TLS_STARTTLS && tls != PG_TLS_LDAPS && tls != PG_TLS_NONE)
		return refuse(PG_URI_BAD_TLS, fault, err, errlen,
		    "unknown tls mode %d", (int)tls);
	if (scheme == 8 && tls != PG_TLS_LDAPS)
		return refuse(PG_URI_BAD_SCHEME, fault, err, errlen, "%s",
		    "must be 'ldaps' for an ldaps:// uri");
	if (scheme == 7 && tls == PG_TLS_LDAPS)
		return refuse(PG_URI_BAD_SCHEME, fault, err, errlen, "%s",
		    "'ldaps' needs an ldaps:// uri");
	/* Transport security is never weaker than asked, off loopback. */
	if (tls == PG_TLS_NONE && !loop)
		return refuse(PG_URI_BAD_TLS, fault, err, errlen, "%s",
		    "'none' only for a directory on loopback (the bind "
		    "password and every answer would cross the network "
		    "in clear)");
	if (!verify && !loop)
		return refuse(PG_URI_BAD_VERIFY, fault, err, errlen, "%s",
		    "'no' only for a directory on loopback; name a private "
		    "CA with ca_file");
	return PG_OK;
}
