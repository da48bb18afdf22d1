/*
 * pam_opts.h - the module arguments of pam_photoguard.so and the
 * configuration they select.  Internal to the module: nothing here is
 * exported (see pam_photoguard.map).
 */
#ifndef PG_PAM_OPTS_H
#define PG_PAM_OPTS_H

#include <stddef.h>

#include "core/config/config.h"
#include "core/totp/totp.h"

struct pgpam_opts {
	const char *config_path; /* config=FILE */
	const char *secret_dir;  /* secret_dir=DIR override */
	const char *host_key;    /* host_key=FILE override */
	const char *ticket_dir;  /* ticket_dir=DIR override */
	const char *host;     /* host=NAME: this host's name for login rules */
	int window;           /* window=N; -1: from config */
	enum totp_qr_mode qr; /* qr=MODE at a self-service enrollment */
	int nullok;
	int debug;
};

/*
 * Parses ARGV into *O.  An unknown or malformed argument fails (a typo
 * must not silently weaken the stack): returns PG_ERR_INVAL and writes
 * the offending argument, escaped, into ERR.
 */
int pgpam_opts_parse(int argc, const char **argv, struct pgpam_opts *o,
    char *err, size_t errlen);

/*
 * Builds the configuration: defaults, then the overrides in O.  Returns
 * PG_OK with *OUT for pgpam_config_free(), or PG_ERR_* with ERR filled.
 */
int pgpam_config(const struct pgpam_opts *o, struct pg_config **out, char *err,
    size_t errlen);

/* Frees a configuration from pgpam_config(); NULL is a no-op. */
void pgpam_config_free(struct pg_config *cfg);

#endif /* PG_PAM_OPTS_H */
