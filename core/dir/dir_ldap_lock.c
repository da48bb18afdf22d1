/*
 * dir_ldap_lock.c - what the lockout attribute means in its directory.
 * ppolicy's pwdAccountLockedTime locks by being there (its value is the
 * time); 389 Directory Server's and FreeIPA's nsAccountLock by being TRUE
 * (FALSE, or absent, is unlocked); Active Directory's lockoutTime by
 * being above 0 (a Windows FILETIME; 0 is unlocked).  Every read, filter
 * and write of the attribute goes through here, so that a FALSE or a 0
 * never reads as a lockout, nor an unlock leaves one behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "core/dir/dir_ldap_int.h"
#include "core/state/state.h"

/* Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01. */
#define FILETIME_EPOCH_S INT64_C(11644473600)
#define FILETIME_PER_S   INT64_C(10000000)

enum dir_lock_kind
dir_ldap_lock_kind(const char *attr)
{
	if (attr != NULL && strcasecmp(attr, "nsAccountLock") == 0)
		return DIR_LOCK_BOOL;
	if (attr != NULL && strcasecmp(attr, "lockoutTime") == 0)
		return DIR_LOCK_COUNT;
	return DIR_LOCK_PRESENCE;
}

int
dir_ldap_lock_filter(
    const struct dir_ldap *l, bool locked, char *buf, size_t len)
{
	const char *a = l->lock_attr, *no = locked ? "" : "(!";
	const char *end = locked ? "" : ")";
	int k;

	if (l->lock_kind == DIR_LOCK_BOOL)
		k = snprintf(buf, len, "%s(%s=TRUE)%s", no, a, end);
	else if (l->lock_kind == DIR_LOCK_COUNT)
		k = snprintf(buf, len, "%s(%s>=1)%s", no, a, end);
	else
		k = snprintf(buf, len, "%s(%s=*)%s", no, a, end);
	return k >= 0 && (size_t)k < len ? PG_OK : PG_ERR_TOOBIG;
}

/* The decimal integer V (LEN bytes), if it is one. */
static bool
integer(const char *v, size_t len, long long *out)
{
	char buf[24], *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	/* Out of range is no number: LLONG_MIN would read as unlocked. */
	return *end == '\0' && errno == 0 &&
	    (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'));
}

bool
dir_ldap_value_locks(const struct dir_ldap *l, const char *v, size_t len)
{
	long long n;

	switch (l->lock_kind) {
	case DIR_LOCK_BOOL:
		return len == 4 && strncasecmp(v, "TRUE", 4) == 0;
	case DIR_LOCK_COUNT:
		/* A value that is no number cannot be told unlocked. */
		return !integer(v, len, &n) || n > 0;
	default:
		return true;
	}
}

void
dir_ldap_lock_when(const struct dir_ldap *l, const char *v, size_t len,
    char *out, size_t outlen)
{
	long long n;

	if (outlen == 0)
		return;
	if (l->lock_kind == DIR_LOCK_COUNT && integer(v, len, &n) && n > 0 &&
	    pg_utc((time_t)(n / FILETIME_PER_S - FILETIME_EPOCH_S),
	        PG_TIME_LDAP, out, outlen) == PG_OK)
		return;
	snprintf(
	    out, outlen, "%.*s", (int)(len < outlen ? len : outlen - 1), v);
}

int
dir_ldap_lock_value(const struct dir_ldap *l, bool locked, time_t now,
    char *buf, size_t len, int *op)
{
	int k;

	switch (l->lock_kind) {
	case DIR_LOCK_BOOL:
		*op = locked ? LDAP_MOD_REPLACE : LDAP_MOD_DELETE;
		k = snprintf(buf, len, "TRUE");
		break;
	case DIR_LOCK_COUNT:
		/* Unlocked is 0, the one value Active Directory lets a
		 * client write. */
		*op = LDAP_MOD_REPLACE;
		k = snprintf(buf, len, "%lld",
		    locked
		        ? ((long long)now + FILETIME_EPOCH_S) * FILETIME_PER_S
		        : 0LL);
		break;
	default:
		*op = locked ? LDAP_MOD_REPLACE : LDAP_MOD_DELETE;
		return pg_utc(now, PG_TIME_LDAP, buf, len);
	}
	return k >= 0 && (size_t)k < len ? PG_OK : PG_ERR_TOOBIG;
}
