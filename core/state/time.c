/*
 * time.c - the one way a time is spelled in UTC: in logs, tables, JSON,
 * prose and the directory's lockout attribute.
 */
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "core/state/state.h"

int
pg_utc(time_t t, enum pg_time_style style, char *buf, size_t len)
{
	char tmp[64];
	struct tm tm;
	size_t n;

	if (buf == NULL)
		return PG_ERR_INVAL;
	/* gmtime_r() fails for a year an int cannot hold. */
	if (gmtime_r(&t, &tm) == NULL)
		return PG_ERR_INVAL;
	/* Literal formats, so that the compiler checks them. */
	switch (style) {
	case PG_TIME_ISO:
		n = strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		break;
	case PG_TIME_TEXT:
		n = strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S UTC", &tm);
		break;
	case PG_TIME_LDAP:
		n = strftime(tmp, sizeof(tmp), "%Y%m%d%H%M%SZ", &tm);
		break;
	default:
		return PG_ERR_INVAL;
	}
	if (n == 0)
		return PG_ERR_INVAL;
	if (n >= len)
		return PG_ERR_TOOBIG;
	memcpy(buf, tmp, n + 1);
	return PG_OK;
}
