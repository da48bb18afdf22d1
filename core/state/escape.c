/*
 * escape.c - the one escaper for text a person or a file chose (user
 * names, paths, reasons) on its way into a log line, a terminal or the
 * audit log, and the UTF-8 check behind it.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/state/state.h"

size_t
pg_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at a NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF: what jansson
	 * refuses too. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

enum unit { KEEP, HEX, TWICE };

/*
 * What becomes of the character at P under FLAGS: KEEP its *N bytes,
 * write *CODE as \xHH (consuming *N bytes), or write the backslash TWICE.
 */
static enum unit
classify(const unsigned char *p, unsigned flags, size_t *n, unsigned *code)
{
	unsigned c = *p;

	*n = 1;
	*code = c;
	if (c == '\\')
		return (flags & PG_ESC_KEEP_BACKSLASH)  ? KEEP
		    : (flags & PG_ESC_DOUBLE_BACKSLASH) ? TWICE
		                                        : HEX;
	if (c == ' ')
		return (flags & PG_ESC_KEEP_SPACE) ? KEEP : HEX;
	if (c < 0x20)
		return (flags & PG_ESC_KEEP_CONTROLS) ? KEEP : HEX;
	if (c < 0x7f)
		return KEEP;
	if (c == 0x7f || !(flags & PG_ESC_KEEP_UTF8))
		return HEX;
	/* Reads no further than the NUL that ends P. */
	if ((*n = pg_utf8_len(p, 4)) == 0) {
		*n = 1;
		return HEX;
	}
	/* A C1 control (U+0080..U+009F) is a terminal's CSI or NEL: shown
	 * by its code unless controls are kept. */
	if (*n == 2 && c == 0xc2 && p[1] < 0xa0 &&
	    !(flags & PG_ESC_KEEP_CONTROLS)) {
		*code = p[1];
		return HEX;
	}
	return KEEP;
}

size_t
pg_escape(const char *in, char *out, size_t outlen, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(in != NULL ? in : "");
	size_t o = 0, n;
	unsigned code;
	enum unit u;

	if (outlen == 0)
		return 0;
	while (*p != '\0') {
		/* The common case first: printable ASCII. */
		if (*p > 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*p++;
			continue;
		}
		u = classify(p, flags, &n, &code);
		/* Never half a character or half an escape at the cut. */
		if (o + (u == KEEP ? n : u == TWICE ? 2 : 4) >= outlen)
			break;
		if (u == KEEP) {
			for (size_t i = 0; i < n; i++)
				out[o++] = (char)p[i];
		} else if (u == TWICE) {
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[code >> 4];
			out[o++] = hex[code & 0xf];
		}
		p += n;
	}
	out[o] = '\0';
	return o;
}
