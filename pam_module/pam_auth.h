/*
 * pam_auth.h - the `auth` and `account` phases of pam_photoguard.so,
 * each run on a context from pgpam_begin().  Internal to the module.
 */
#ifndef PG_PAM_AUTH_H
#define PG_PAM_AUTH_H

#include <stddef.h>

#include "core/lockout/lockout.h"
#include "pam_module/pam_ctx.h"

/*
 * The second factor: returns the PAM code of `auth` and leaves the
 * outcome in C for pgpam_finish().
 */
int pgpam_auth(struct pgpam_ctx *c);

/*
 * Runs [lockout] hook (pam_hook.c) for the lockout of C's user that RULE
 * decided (WHY, after FAILURES wrong codes): detached, as the [store]
 * user, time-bounded; refusal or failure to start is logged only.
 */
void pgpam_hook_lockout(
    struct pgpam_ctx *c, const char *rule, const char *why, unsigned failures);
/* The same for another EVENT (e.g. "enroll"); RULE may be NULL. */
void pgpam_hook_event(struct pgpam_ctx *c, const char *event, const char *rule,
    const char *why, unsigned failures);

/*
 * Lockout, directory and login rules: returns the PAM code of `account`
 * and leaves the outcome in C for pgpam_finish().
 */
int pgpam_account(struct pgpam_ctx *c);

/*
 * lockout_check() of C's user for both phases, except that a copy of
 * another server's lockout (origin directory) is asked of the directory
 * first: an unlock there lets the user in even where no gateway lifted
 * the copy yet (stopped, or its watch down).  A lift is audited
 * (lockout.unlock).  A directory that cannot answer leaves the copy.
 */
int pgpam_lockout_check(
    struct pgpam_ctx *c, struct lockout_store *ls, struct lockout_entry *e);

/*
 * Self-service enrollment (pam_enroll.c): shows C's user a new secret in
 * the conversation and asks for its first code (three tries); on a good
 * one the new secret replaces the old in ST.  VIA says what let the user
 * in ("an enrollment token", "a scratch code").  Refused when LS holds
 * the user locked by the time of the first code.  Audited (pam.enroll),
 * alerted and handed to the lockout hook (event enroll) whether or not
 * it succeeds: a stolen scratch code must not swap a phone silently.
 * Noted in C's reason.  Returns PG_OK when enrolled, else PG_ERR_*.
 */
struct totp_store;
int pgpam_self_enroll(struct pgpam_ctx *c, struct totp_store *st,
    struct lockout_store *ls, const char *via);

/* "locked out since TIME by COMPONENT: REASON" for E into BUF. */
void pgpam_lockout_text(const struct lockout_entry *e, char *buf, size_t len);

#endif /* PG_PAM_AUTH_H */
