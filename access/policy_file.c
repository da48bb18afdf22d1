/*
 * policy_file.c - reads the policy file with the same care as every other
 * trusted input, then hands the text to the pure parser.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "core/state/state.h"
#include "access/access.h"

int
pg_policy_load(const char *path, int trusted, struct policy **out,
    struct policy_diags **diags, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (diags != NULL)
		*diags = NULL;
	if (errlen > 0)
		err[0] = '\0';
	r = pg_read_file(
	    path, PG_POLICY_MAX_SIZE, trusted ? PG_RF_TRUSTED : 0, &buf, &len);
	if (r != PG_OK) {
		pg_file_error(path, "policy", r, err, errlen);
		return r;
	}
	r = policy_parse(path, buf, len, out, diags);
	if (r != PG_OK && r != PG_ERR_PARSE && r != PG_ERR_TOOBIG)
		snprintf(err, errlen, "%s: %s", path, pg_strerror(r));
	free(buf);
	return r;
}
