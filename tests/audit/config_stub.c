/*
 * config_stub.c - stands in for core/config.c in the audit CLI test
 * helper while that file is not in the tree (meson only builds this file
 * then): every load fails with a clear message, so the verbs must be given
 * --log, exactly as an auditor with a copied log would.
 */
#include <stdio.h>

#include "core/config.h"
#include "core/errors.h"

int
pg_config_load(
    const char *path, struct pg_config **out, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s: configuration support not built",
	    path != NULL ? path : PG_CONFIG_DEFAULT_PATH);
	return PG_ERR_CONFIG;
}

void
pg_config_free(struct pg_config *cfg)
{
	(void)cfg;
}
