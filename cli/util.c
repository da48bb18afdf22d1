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
