/*
 * dir_budget_val.c - the clinic-wide budget's lease values and the
 * arithmetic of a grant (dir_budget_int.h).  Every field is parsed
 * strictly: a lease is a promise about the limit, and a value that
 * cannot be read cannot be counted, so the caller refuses rather than
 * guess.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "core/dir/dir_budget_int.h"

static const char *const metrics[] = { "files", "bytes", "patients" };

int
dir_budget_key(char *buf, size_t len, bool lockout, const char *metric,
    unsigned long window_s, unsigned long long max)
{
	size_t i;
	int k;

	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (metric != NULL && strcmp(metric, metrics[i]) == 0)
			break;
	if (i == sizeof(metrics) / sizeof(metrics[0]) || window_s == 0 ||
	    window_s > 100UL * 365 * 86400)
		return PG_ERR_INVAL;
	k = snprintf(buf, len, "%s:%s:%lu:%llu", lockout ? "lockout" : "limit",
	    metric, window_s, max);
	return k > 0 && (size_t)k < len ? PG_OK : PG_ERR_TOOBIG;
}

/* 1..19 decimal digits, no leading zero (but "0"), within INT64_MAX. */
static int
parse_u63(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = v;
	return 0;
}

/* Splits S (LEN bytes) at CH into at most MAX fields; -1 on more. */
static int
split(
    const char *s, size_t len, char ch, const char **f, size_t *fl, size_t max)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ch)
			continue;
		if (n == max)
			return -1;
		f[n] = s + start;
		fl[n++] = i - start;
		start = i + 1;
	}
	return (int)n;
}

static bool
field_is(const char *f, size_t fl, const char *word)
{
	return fl == strlen(word) && memcmp(f, word, fl) == 0;
}

static int
key_parse(const char *s, size_t len, int64_t *window_ms, uint64_t *max,
    bool *patients)
{
	const char *f[4];
	size_t fl[4], i;
	uint64_t w;
	bool metric = false;

	if (len == 0 || len >= DIR_BUDGET_KEY_MAX ||
	    split(s, len, ':', f, fl, 4) != 4)
		return -1;
	if (!field_is(f[0], fl[0], "limit") &&
	    !field_is(f[0], fl[0], "lockout"))
		return -1;
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		metric |= field_is(f[1], fl[1], metrics[i]);
	if (!metric || parse_u63(f[2], fl[2], &w) != 0 || w == 0 ||
	    w > 100ULL * 365 * 86400 || parse_u63(f[3], fl[3], max) != 0)
		return -1;
	*window_ms = (int64_t)w * 1000;
	if (patients != NULL)
		*patients = field_is(f[1], fl[1], "patients");
	return 0;
}

int
db_key_parse(const char *key, int64_t *window_ms, uint64_t *max, bool *patients)
{
	return key_parse(key, strlen(key), window_ms, max, patients);
}

bool
db_tag_ok(const char *s, size_t len)
{
	size_t i;

	if (len != DIR_BUDGET_TAG_MAX - 1)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int
dir_budget_tag(const char *id, char *out, size_t len)
{
	static const char ctx[] = "photoguard patient tag v1";
	unsigned char h[(DIR_BUDGET_TAG_MAX - 1) / 2];
	crypto_generichash_state st;

	if (id == NULL || id[0] == '\0' || len < DIR_BUDGET_TAG_MAX)
		return PG_ERR_INVAL;
	/* The context keeps these tags apart from any other hash of an ID. */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)ctx, sizeof(ctx));
	crypto_generichash_update(&st, (const unsigned char *)id, strlen(id));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, len, h, sizeof(h));
	return PG_OK;
}

static bool
owner_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= DIR_BUDGET_OWNER_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return false;
	}
	return true;
}

bool
db_owner_ok(const char *owner)
{
	return owner != NULL && owner_ok(owner, strlen(owner));
}

int
db_lease_parse(const char *s, size_t len, struct db_lease *out)
{
	const char *f[6];
	size_t fl[6];
	uint64_t g, e;
	int nf;

	memset(out, 0, sizeof(*out));
	if (len >= DIR_LEASE_MAX || (nf = split(s, len, ' ', f, fl, 6)) < 5)
		return -1;
	if (key_parse(
	        f[0], fl[0], &out->window_ms, &out->max, &out->patients) != 0 ||
	    !owner_ok(f[1], fl[1]) || parse_u63(f[2], fl[2], &g) != 0 ||
	    parse_u63(f[3], fl[3], &e) != 0 || e < g ||
	    parse_u63(f[4], fl[4], &out->units) != 0 || out->units == 0)
		return -1;
	if (out->patients != (nf == 6) ||
	    (nf == 6 && (!db_tag_ok(f[5], fl[5]) || out->units != 1)))
		return -1;
	if (nf == 6)
		memcpy(out->tag, f[5], fl[5]);
	memcpy(out->key, f[0], fl[0]);
	memcpy(out->owner, f[1], fl[1]);
	out->granted_ms = (int64_t)g;
	out->expires_ms = (int64_t)e;
	return 0;
}

int
db_lease_format(const struct db_lease *l, char *out, size_t len)
{
	int k;

	if (l->units == 0 || l->expires_ms < l->granted_ms ||
	    l->granted_ms < 0 || !db_owner_ok(l->owner))
		return -1;
	if (l->patients != (l->tag[0] != '\0') ||
	    (l->patients &&
	        (l->units != 1 || !db_tag_ok(l->tag, strlen(l->tag)))))
		return -1;
	k = snprintf(out, len, "%s %s %" PRId64 " %" PRId64 " %" PRIu64 "%s%s",
	    l->key, l->owner, l->granted_ms, l->expires_ms, l->units,
	    l->patients ? " " : "", l->tag);
	return k > 0 && (size_t)k < len ? 0 : -1;
}

bool
db_lease_counts(const struct db_lease *l, int64_t now_ms)
{
	int64_t span = l->window_ms + DIR_BUDGET_SKEW_MS;

	/* Saturating: a window of a century past a far expiry still counts. */
	if (l->expires_ms > INT64_MAX - span)
		return true;
	return l->expires_ms + span > now_ms;
}

uint64_t
db_grant(uint64_t max, uint64_t in_use, uint64_t need, uint64_t want)
{
	uint64_t room, extra;

	if (need == 0 || in_use > max || need > max - in_use)
		return 0;
	room = max - in_use - need;
	extra = want > need ? want - need : 0;
	/* A quarter of what is left: a few gateways drawing on the last of
	 * a budget get ever smaller slices, down to one unit each. */
	if (extra > room / 4)
		extra = room / 4;
	return need + extra;
}
