/*
 * dir_totp_val.c - the text forms the directory TOTP store reads and
 * writes: the replay watermark (an LDAP INTEGER), GeneralizedTime, and
 * the one-value-per-wrong-code failure record.  Pure functions, tested
 * on their own (tests/test_dir_totp.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/dir/dir_totp_int.h"

int
dt_parse_step(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	size_t i = 0;
	bool neg = false;

	if (s == NULL || len == 0 || len > 20)
		return -1;
	if (s[0] == '-') {
		neg = true;
		i = 1;
		lim += 1; /* -2^63 */
	}
	if (i >= len || s[i] < '0' || s[i] > '9' ||
	    (s[i] == '0' && (len - i > 1 || neg)))
		return -1;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

void
dt_format_step(int64_t step, char *out, size_t outlen)
{
	(void)snprintf(out, outlen, "%lld", (long long)step);
}

int
dt_failure_value(time_t now, char *out, size_t outlen)
{
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int r, k;

	if (outlen < DT_FAIL_VALUE || now < 0)
		return PG_ERR_INVAL;
	if ((r = pg_utc(now, PG_TIME_LDAP, out, outlen)) != PG_OK)
		return r;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	k = snprintf(out + 15, outlen - 15, "#%s", hex);
	return k == 17 && (size_t)k < outlen - 15 ? PG_OK : PG_ERR_INTERNAL;
}

void
dt_count_failures(const struct berval *v, size_t n, time_t now, int window_s,
    unsigned *within, unsigned *run)
{
	size_t i;
	time_t t;

	*within = *run = 0;
	for (i = 0; i < n; i++) {
		(*run)++;
		if (dir_gentime_prefix(v[i].bv_val, v[i].bv_len, &t) < 0 ||
		    t >= now - window_s)
			(*within)++;
	}
}
