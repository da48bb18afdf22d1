/*
 * pam_opts.c - module arguments and the configuration they select.  The
 * config loader is not in the tree yet: pgpam_config() builds defaults
 * and applies the module's overrides; once pg_config_load() exists the
 * defaults step becomes that one call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/errors.h"
#include "core/totp.h"
#include "pam_module/pam_opts.h"

#define ARG_MAX_LEN 4096

void
pgpam_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (; s != NULL && *s != '\0' && o + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

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
	else if ((v = value_of(a, "window")) != NULL)
		return parse_window(v, &o->window);
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

			pgpam_escape(argv[i], esc, sizeof(esc));
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

/* The defaults of the [totp] section; pg_config_load() replaces this. */
static int
config_defaults(struct pg_config *c)
{
	c->totp_window = TOTP_DEFAULT_WINDOW;
	c->totp_step_s = TOTP_DEFAULT_STEP_S;
	c->totp_digits = TOTP_DEFAULT_DIGITS;
	c->totp_ticket_ttl_s = TOTP_DEFAULT_TICKET_TTL_S;
	if (set_str(&c->totp_secret_dir, TOTP_DEFAULT_SECRET_DIR) != 0 ||
	    set_str(&c->totp_host_key_file, TOTP_DEFAULT_HOST_KEY) != 0 ||
	    set_str(&c->totp_ticket_dir, TOTP_DEFAULT_TICKET_DIR) != 0)
		return PG_ERR_NOMEM;
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
	if (o->config_path != NULL) {
		/* Refuse rather than run with settings the admin did not set.
		 */
		(void)snprintf(err, errlen,
		    "config= is not supported by this "
		    "build yet; use secret_dir=, host_key=, ticket_dir=");
		return PG_ERR_CONFIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PG_ERR_NOMEM;
	if ((r = config_defaults(c)) != PG_OK ||
	    (r = set_str(&c->totp_secret_dir, o->secret_dir)) != PG_OK ||
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
	if (cfg == NULL)
		return;
	free(cfg->totp_secret_dir);
	free(cfg->totp_host_key_file);
	free(cfg->totp_ticket_dir);
	free(cfg);
}
