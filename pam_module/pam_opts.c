/*
 * pam_opts.c - module arguments and the configuration they select: the
 * configuration file (config=FILE, else the default path), then the
 * module's overrides on top.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config/config.h"
#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/totp.h"
#include "pam_module/pam_opts.h"

#define ARG_MAX_LEN 4096

static int
parse_window(const char *s, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return PG_ERR_INVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > TOTP_MAX_WINDOW)
		return PG_ERR_INVAL;
	*out = (int)v;
	return PG_OK;
}

/* A host name for login rules: 1..255 printable bytes, no spaces. */
static int
host_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (i >= 255 || (unsigned char)h[i] <= 0x20 ||
		    (unsigned char)h[i] >= 0x7f)
			return 0;
	return i > 0;
}

/* If ARG is "KEY=value" with a non-empty value, returns the value. */
static const char *
value_of(const char *arg, const char *key)
{
	size_t k = strlen(key);

	if (strncmp(arg, key, k) != 0 || arg[k] != '=' || arg[k + 1] == '\0')
		return NULL;
	return arg + k + 1;
}

static int
one_arg(const char *a, struct pgpam_opts *o)
{
	const char *v;

	if (strnlen(a, ARG_MAX_LEN) >= ARG_MAX_LEN)
		return PG_ERR_TOOBIG;
	if (strcmp(a, "nullok") == 0)
		o->nullok = 1;
	else if (strcmp(a, "debug") == 0)
		o->debug = 1;
	else if ((v = value_of(a, "config")) != NULL)
		o->config_path = v;
	else if ((v = value_of(a, "secret_dir")) != NULL)
		o->secret_dir = v;
	else if ((v = value_of(a, "host_key")) != NULL)
		o->host_key = v;
	else if ((v = value_of(a, "ticket_dir")) != NULL)
		o->ticket_dir = v;
	else if ((v = value_of(a, "host")) != NULL && host_ok(v))
		o->host = v;
	else if ((v = value_of(a, "window")) != NULL)
		return parse_window(v, &o->window);
	else if ((v = value_of(a, "qr")) != NULL)
		return totp_qr_mode_parse(v, &o->qr);
	else
		return PG_ERR_INVAL;
	return PG_OK;
}

int
pgpam_opts_parse(
    int argc, const char **argv, struct pgpam_opts *o, char *err, size_t errlen)
{
	int i, r;

	memset(o, 0, sizeof(*o));
	o->window = -1;
	err[0] = '\0';
	for (i = 0; i < argc; i++) {
		if ((r = one_arg(argv[i], o)) != PG_OK) {
			char esc[128];

			pg_escape(argv[i], esc, sizeof(esc), 0);
			(void)snprintf(
			    err, errlen, "bad module argument: %s", esc);
			return PG_ERR_INVAL;
		}
	}
	return PG_OK;
}

/* Replaces *FIELD with a copy of VALUE when VALUE is set. */
static int
set_str(char **field, const char *value)
{
	char *c;

	if (value == NULL)
		return PG_OK;
	if ((c = strdup(value)) == NULL)
		return PG_ERR_NOMEM;
	free(*field);
	*field = c;
	return PG_OK;
}

int
pgpam_config(const struct pgpam_opts *o, struct pg_config **out, char *err,
    size_t errlen)
{
	struct pg_config *c = NULL;
	int r;

	*out = NULL;
	err[0] = '\0';
	/*
	 * A config= the admin named must load.  Without one, the default
	 * file is used if it exists; a host with no file at all runs on the
	 * documented defaults, like other PAM modules with a .conf file.  A
	 * file that exists but does not load always refuses.
	 */
	r = pg_config_load(o->config_path, &c, err, errlen);
	if (r == PG_ERR_NOTFOUND && o->config_path == NULL)
		r = pg_config_parse("(built-in defaults)", "", &c, err, errlen);
	if (r != PG_OK)
		return r;
	if ((r = set_str(&c->totp_secret_dir, o->secret_dir)) != PG_OK ||
	    (r = set_str(&c->totp_host_key_file, o->host_key)) != PG_OK ||
	    (r = set_str(&c->totp_ticket_dir, o->ticket_dir)) != PG_OK) {
		(void)snprintf(err, errlen, "%s", pg_strerror(r));
		goto out;
	}
	if (o->window >= 0)
		c->totp_window = o->window;
	*out = c;
	c = NULL; /* transferred */
out:
	pgpam_config_free(c);
	return r;
}

void
pgpam_config_free(struct pg_config *cfg)
{
	pg_config_free(cfg);
}
