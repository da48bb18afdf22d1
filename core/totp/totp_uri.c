/*
 * totp_uri.c - what an authenticator app is shown at enrollment: the
 * otpauth URI (Key URI Format) and its QR code as terminal text.  The CLI
 * prints them, the PAM module sends them through the conversation at a
 * self-service enrollment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#include "base/base.h"
#include "core/config/config.h"
#include "core/state/state.h"
#include "core/totp/totp.h"

int
totp_qr_mode_parse(const char *s, enum totp_qr_mode *m)
{
	static const char *const names[] = { "color", "light", "dark", "none" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*m = (enum totp_qr_mode)i;
			return PG_OK;
		}
	}
	return PG_ERR_INVAL;
}

/*
 * The longest URI: the issuer percent-encoded twice (label and
 * parameter), every byte of it and of the user as %XX.  A URI that does
 * not fit must not be found out after a token was spent on it.
 */
#define URI_LONGEST                                                            \
	(sizeof("otpauth://totp/:?secret=&issuer=&algorithm=SHA1&digits="      \
	        "&period=") +                                                  \
	    2 * 3 * PG_ISSUER_MAX + 3 * TOTP_USER_MAX +                        \
	    sizeof(((struct totp_enrollment *)0)->secret_b32) + 2 + 10)
_Static_assert(URI_LONGEST <= TOTP_URI_MAX, "TOTP_URI_MAX too small");

int
totp_uri(const char *issuer, const char *user, const struct totp_enrollment *e,
    char *out, size_t outlen)
{
	char euser[3 * TOTP_USER_MAX + 1], eiss[3 * PG_ISSUER_MAX + 1];
	int n, r;

	/* RFC 3986's unreserved characters stay; the rest is %XX. */
	if ((r = pg_pct_encode(user, "-._~", euser, sizeof(euser))) != PG_OK ||
	    (r = pg_pct_encode(issuer, "-._~", eiss, sizeof(eiss))) != PG_OK)
		return r;
	n = snprintf(out, outlen,
	    "otpauth://totp/%s:%s?secret=%s&issuer=%s"
	    "&algorithm=SHA1&digits=%d&period=%d",
	    eiss, euser, e->secret_b32, eiss, e->digits, e->step_s);
	if (n < 0 || (size_t)n >= outlen) {
		sodium_memzero(out, outlen);
		return PG_ERR_TOOBIG;
	}
	return PG_OK;
}

static int
dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

/* The symbol's modules encode the secret: wiped before libqrencode frees
 * them (its working buffers it frees itself, unwiped). */
static void
qr_drop(QRcode *q)
{
	sodium_memzero(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
}

int
totp_qr_text(
    const char *text, enum totp_qr_mode mode, const char *colors, char **out)
{
	static const char *const glyph[4] = { " ", "\u2584", "\u2580",
		"\u2588" };
	static const char reset[] = "\033[0m";
	const char *on = mode == TOTP_QR_COLOR ? colors : NULL;
	QRcode *q;
	char *buf, *p;
	size_t cap;
	int x, y, quiet = 4, light = mode == TOTP_QR_DARK;

	*out = NULL;
	if (mode == TOTP_QR_NONE)
		return PG_OK;
	if (mode == TOTP_QR_COLOR && colors == NULL)
		return PG_ERR_INVAL;
	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return PG_ERR_NOMEM;
	/* Each line: the colours, 3 bytes a glyph, the reset, a newline. */
	cap = (size_t)((q->width + 2 * quiet + 1) / 2 + 1) *
	        ((size_t)(q->width + 2 * quiet) * 3 +
	            (on != NULL ? strlen(on) + sizeof(reset) : 0) + 1) +
	    1;
	if ((buf = p = sodium_malloc(cap)) == NULL) {
		qr_drop(q);
		return PG_ERR_NOMEM;
	}
	for (y = -quiet; y < q->width + quiet; y += 2) {
		if (on != NULL)
			p = stpcpy(p, on);
		for (x = -quiet; x < q->width + quiet; x++) {
			int top = dark(q, x, y) ^ light;
			int bottom = dark(q, x, y + 1) ^ light;

			/* The row past the quiet zone: the background. */
			if (y + 1 >= q->width + quiet)
				bottom = 0;
			p = stpcpy(p, glyph[top * 2 + bottom]);
		}
		/* Reset before the newline: no colour bleeds to the edge. */
		if (on != NULL)
			p = stpcpy(p, reset);
		*p++ = '\n';
	}
	*p = '\0';
	qr_drop(q);
	*out = buf;
	return PG_OK;
}

void
totp_qr_free(char *text)
{
	if (text != NULL)
		sodium_free(text); /* wipes */
}
