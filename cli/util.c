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
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "-");
	size_t o = 0;
	unsigned c;

	for (; *p != '\0' && o + 5 < len; p++) {
		c = *p;
		if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			c = *++p; /* a C1 control, escaped by its code */
		else if (c >= 0x20 && c != 0x7f &&
		    (c != '\\' || !(flags & CLI_ESC_BACKSLASH))) {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	buf[o] = '\0';
	return buf;
}

bool
cli_utc(time_t t, enum cli_time_style style, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return false;
	if (style == CLI_TIME_ISO)
		return strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) != 0;
	return strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) != 0;
}
