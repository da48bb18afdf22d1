/*
 * name.c - the one encoding of a user's name into the name of a state
 * file (no name can be ".", "..", hidden, hold a slash, or belong to two
 * users), its decoding, and the hex and percent encodings that share it.
 */
#include <string.h>

#include "base/base.h"
#include "core/state/state.h"

/* How one spelling writes a byte it does not keep: MARK (none if NUL)
 * and two hex DIGITS.  The stores' names on disk fix the digits' case. */
struct spelling {
	const char *keep; /* kept besides letters and digits; NULL: none */
	char mark;
	const char *digits;
};

static const char lower[] = "0123456789abcdef";
static const char upper[] = "0123456789ABCDEF";

static const struct spelling names[] = {
	[PG_NAME_PCT] = { "_-", '%', upper },
	[PG_NAME_HEX] = { NULL, '\0', lower },
};

static int
kept(const struct spelling *sp, unsigned char c)
{
	return sp->keep != NULL && c != '\0' &&
	    ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	        (c >= '0' && c <= '9') || strchr(sp->keep, c) != NULL);
}

/*
 * The one byte encoder: appends IN[0..N) spelled by SP to OUT at *O, with
 * a NUL, within CAP bytes.  PG_ERR_TOOBIG (OUT[*O] cut to "") if it does
 * not fit.
 */
static int
encode(const struct spelling *sp, const unsigned char *in, size_t n, char *out,
    size_t cap, size_t *o)
{
	size_t i, need = sp->mark != '\0' ? 3 : 2;

	for (i = 0; i < n; i++) {
		if (*o + (kept(sp, in[i]) ? 1 : need) >= cap) {
			if (*o < cap)
				out[*o] = '\0';
			return PG_ERR_TOOBIG;
		}
		if (kept(sp, in[i])) {
			out[(*o)++] = (char)in[i];
			continue;
		}
		if (sp->mark != '\0')
			out[(*o)++] = sp->mark;
		out[(*o)++] = sp->digits[in[i] >> 4];
		out[(*o)++] = sp->digits[in[i] & 0xf];
	}
	out[*o] = '\0';
	return PG_OK;
}

static int
digit(const struct spelling *sp, char c)
{
	const char *p = c != '\0' ? strchr(sp->digits, c) : NULL;

	return p != NULL ? (int)(p - sp->digits) : -1;
}

/*
 * Decodes IN[0..N) spelled by SP into OUT (CAP bytes, with a NUL).  Only
 * the spelling encode() writes is taken: a kept byte written as an
 * escape, a digit of the wrong case or a NUL byte is PG_ERR_INVAL.
 */
static int
decode(
    const struct spelling *sp, const char *in, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0, need = sp->mark != '\0' ? 3 : 2;
	int hi, lo;

	while (i < n) {
		if (o + 1 >= cap)
			return PG_ERR_TOOBIG;
		if (kept(sp, (unsigned char)in[i])) {
			out[o++] = in[i++];
			continue;
		}
		if (n - i < need || (sp->mark != '\0' && in[i] != sp->mark))
			return PG_ERR_INVAL;
		hi = digit(sp, in[i + need - 2]);
		lo = digit(sp, in[i + need - 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0) ||
		    kept(sp, (unsigned char)(hi << 4 | lo)))
			return PG_ERR_INVAL;
		out[o++] = (char)(hi << 4 | lo);
		i += need;
	}
	out[o] = '\0';
	return PG_OK;
}

/* A prefix is at most PG_NAME_FIX_MAX bytes, not hidden, without a slash;
 * a suffix is empty or a dot and 1 to 7 bytes without a slash.  Since
 * no encoded name holds a dot, the suffix cannot run into the user. */
static int
fixes_ok(const char *prefix, const char *suffix)
{
	size_t plen, slen;

	if (prefix == NULL || suffix == NULL)
		return 0;
	plen = strnlen(prefix, PG_NAME_FIX_MAX + 1);
	slen = strnlen(suffix, PG_NAME_FIX_MAX + 1);
	return plen <= PG_NAME_FIX_MAX && prefix[0] != '.' &&
	    strchr(prefix, '/') == NULL &&
	    (slen == 0 ||
	        (slen >= 2 && slen <= PG_NAME_FIX_MAX && suffix[0] == '.' &&
	            strchr(suffix, '/') == NULL));
}

int
pg_name_encode(enum pg_name_style style, const char *prefix, const char *user,
    size_t max, const char *suffix, char *out, size_t outlen)
{
	size_t ulen, plen, slen, o;
	int r;

	if (out == NULL || outlen == 0)
		return PG_ERR_INVAL;
	out[0] = '\0';
	if ((unsigned)style >= sizeof(names) / sizeof(names[0]) ||
	    user == NULL || user[0] == '\0' || !fixes_ok(prefix, suffix))
		return PG_ERR_INVAL;
	if ((ulen = strnlen(user, max + 1)) > max)
		return PG_ERR_TOOBIG;
	plen = strlen(prefix);
	slen = strlen(suffix);
	if (plen >= outlen)
		return PG_ERR_TOOBIG;
	memcpy(out, prefix, plen + 1);
	o = plen;
	r = encode(
	    &names[style], (const unsigned char *)user, ulen, out, outlen, &o);
	if (r == PG_OK && o + slen >= outlen)
		r = PG_ERR_TOOBIG;
	if (r != PG_OK) {
		out[0] = '\0';
		return r;
	}
	memcpy(out + o, suffix, slen + 1);
	return PG_OK;
}

int
pg_name_decode(enum pg_name_style style, const char *prefix, const char *name,
    const char *suffix, char *out, size_t outlen)
{
	size_t n, plen, slen;
	int r;

	if (out == NULL || outlen == 0)
		return PG_ERR_INVAL;
	out[0] = '\0';
	if ((unsigned)style >= sizeof(names) / sizeof(names[0]) ||
	    name == NULL || !fixes_ok(prefix, suffix))
		return PG_ERR_INVAL;
	n = strlen(name);
	plen = strlen(prefix);
	slen = strlen(suffix);
	if (n <= plen + slen || strncmp(name, prefix, plen) != 0 ||
	    strcmp(name + n - slen, suffix) != 0)
		return PG_ERR_INVAL;
	r = decode(&names[style], name + plen, n - plen - slen, out, outlen);
	if (r != PG_OK)
		out[0] = '\0';
	return r;
}

int
pg_hex_encode(const void *in, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	if (out == NULL || outlen == 0)
		return PG_ERR_INVAL;
	return encode(&names[PG_NAME_HEX], in, n, out, outlen, &o);
}

int
pg_pct_encode(const char *in, const char *keep, char *out, size_t outlen)
{
	const struct spelling sp = { keep != NULL ? keep : "", '%', upper };
	size_t o = 0;

	if (in == NULL || out == NULL || outlen == 0)
		return PG_ERR_INVAL;
	return encode(
	    &sp, (const unsigned char *)in, strlen(in), out, outlen, &o);
}
