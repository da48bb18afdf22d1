/*
 * util.c - helpers shared by the verbs of the `photoguard` tool.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/util.h"
#include "core/config/config.h"
#include "base/base.h"
#include "core/state/state.h"

bool
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

struct pg_config *
cli_load_config(const struct cli_ctx *ctx)
{
	struct pg_config *cfg = NULL;
	char err[1024];

	int r;

	r = pg_config_load(ctx->config_path, &cfg, err, sizeof(err));
	/* No file at the default place: the documented defaults, as for
	 * the PAM module.  A file that was named must exist. */
	if (r == PG_ERR_NOTFOUND && ctx->config_path == NULL &&
	    strcmp(pg_config_default_path(), PG_CONFIG_DEFAULT_PATH) == 0)
		r = pg_config_parse(
		    "(built-in defaults)", "", &cfg, err, sizeof(err));
	if (r != PG_OK) {
		fprintf(stderr, "%s: %s\n", ctx->progname, err);
		return NULL;
	}
	for (size_t i = 0; i < cfg->nwarnings; i++)
		fprintf(stderr, "%s: warning: %s\n", ctx->progname,
		    cfg->warnings[i]);
	return cfg;
}

void
cli_invoker(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (sudo != NULL && getuid() == 0 && *sudo != '\0')
		snprintf(buf, len, "%s", sudo);
	else if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
	    res == NULL)
		snprintf(buf, len, "uid %ld", (long)getuid());
	else
		snprintf(buf, len, "%s", pw.pw_name);
}

void
cli_json_string(FILE *f, const char *s)
{
	json_t *j = json_string(s != NULL ? s : "");
	char *out = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	fputs(out != NULL ? out : "\"\"", f);
	free(out);
	json_decref(j);
}

const char *
cli_escape(const char *s, char *buf, size_t len, unsigned flags)
{
	unsigned keep = PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8;

	if (!(flags & CLI_ESC_BACKSLASH))
		keep |= PG_ESC_KEEP_BACKSLASH;
	pg_escape(s != NULL ? s : "-", buf, len, keep);
	return buf;
}

/*
 * Length of the UTF-8 sequence at P if it is one character XML 1.0 can
 * carry (tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF,
 * shortest form), else 0.
 */
static size_t
xml_char_len(const unsigned char *p)
{
	unsigned long cp;
	size_t n, i;

	if (p[0] < 0x80)
		return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' ||
		        p[0] == '\r'
		    ? 1
		    : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return n;
}

/*
 * Writes S as XML or HTML attribute value or element text (cli/util.h).  Markup
 * characters become entities; tab, LF and CR character references, so that they
 * survive attribute normalisation and a message stays on one line.  What XML
 * cannot carry at all (control characters, bytes that are not UTF-8)
 * becomes \xNN per byte, as the log itself writes such bytes.
 */
void
cli_markup(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = xml_char_len(p)) == 0) {
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\t':
			fputs("&#9;", f);
			break;
		case '\n':
			fputs("&#10;", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		default:
			putc(*p, f);
		}
		p++;
	}
}
