/*
 * pam_prefetch.h - the account phase's directory lookup, started by auth
 * as soon as an enrolled user has answered the prompt, so that it runs
 * while auth checks the code and writes the MFA ticket and its audit
 * record.  Its outcome is kept in the PAM handle for the account phase of
 * the same login.  Internal to the module.
 */
#ifndef PG_PAM_PREFETCH_H
#define PG_PAM_PREFETCH_H

#include <stddef.h>

#include "core/dir/dir.h"
#include "pam_module/pam_ctx.h"

/* Oldest outcome the account phase takes from auth, in seconds. */
#define PGPAM_PREFETCH_MAX_AGE_S 5

/*
 * Starts looking C's user up in the directory (LDAP only) in a thread of
 * its own, with every signal blocked.  Nothing is started when that
 * cannot be done; the account phase then asks the directory itself.
 */
void pgpam_prefetch_start(struct pgpam_ctx *c);

/*
 * Waits for the lookup C started, if any.  With KEEP (auth succeeded),
 * leaves its outcome in the PAM handle; otherwise drops it.  Nothing of
 * the lookup (thread, connection, file) outlives this call.
 */
void pgpam_prefetch_end(struct pgpam_ctx *c, int keep);

/*
 * Takes (removes from the handle) the outcome auth left, if it is for C's
 * user and configuration file and at most PGPAM_PREFETCH_MAX_AGE_S old.
 * Returns 1 with *RC as dir_lookup() returned it, *U the user (PG_OK
 * only; the caller frees it) and ERR what dir_last_error() said; returns
 * 0, with *U NULL, when there is none to take.
 */
int pgpam_prefetch_take(struct pgpam_ctx *c, int *rc, struct dir_user **u,
    char *err, size_t errlen);

#endif /* PG_PAM_PREFETCH_H */
