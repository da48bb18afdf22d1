/*
 * access.h - the layer over policy/ and core/: reading the policy file for the
 * parts that use it (the PAM module, the gateway, the CLI): the file checks and
 * size cap live here, the language itself in policy/, which does no I/O.
 */
#ifndef PG_ACCESS_H
#define PG_ACCESS_H

#include <stddef.h>

#include "policy/policy.h"

#define PG_POLICY_MAX_SIZE (4 * 1024 * 1024)

/*
 * Reads and parses the policy at PATH.  With TRUSTED the file must be
 * owned by root (or the effective uid) and not writable by group or others,
 * as for a policy in force; without it (checking a draft) any readable
 * regular file will do.  Symlinks are never followed.  On success *OUT is
 * the caller's (policy_free()).  *DIAGS, if not NULL, gets the parser's
 * diagnostics (policy_diags_free()).  On an I/O failure returns the
 * PG_ERR_* code and writes "PATH: what went wrong" to ERR.
 */
int pg_policy_load(const char *path, int trusted, struct policy **out,
    struct policy_diags **diags, char *err, size_t errlen);

#endif /* PG_ACCESS_H */
