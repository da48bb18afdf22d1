/*
 * dir_totp_int.h - the directory TOTP store's parts: the token read from
 * the user's entry (dir_totp_entry.c), the value formats (dir_totp_val.c)
 * and the store itself (dir_totp.c).  Internal to core/dir; the unit
 * tests include it for the value formats.
 */
#ifndef PG_DIR_TOTP_INT_H
#define PG_DIR_TOTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/dir/dir_ldap_int.h"
#include "core/totp/totp.h"

/* slapo-otp's schema (otp.so) and photoguard-schema.ldif's addition. */
#define DT_OC_USER      "oathTOTPUser"
#define DT_OC_TOKEN     "oathTOTPToken"
#define DT_OC_STATE     "pgTOTPState"
#define DT_AT_TOKEN     "oathTOTPToken"
#define DT_AT_SECRET    "oathSecret"
#define DT_AT_STEP      "oathTOTPLastTimeStep"
#define DT_AT_SECRETT   "oathSecretTime"
#define DT_AT_LASTLOGIN "oathLastLogin"
#define DT_AT_SCRATCH   "pgTOTPScratchCode"
#define DT_AT_FAILURE   "pgTOTPFailure"
/* An enrollment token's record, kept as a pgTOTPScratchCode value. */
#define DT_TOKEN_PREFIX "pgtoken1 "

/* A string literal where libldap's API wants char * (never written). */
#define DT_S(lit) ((char *)(uintptr_t)(lit))

#define DT_SECRET_MIN   16 /* bytes: RFC 4226 asks for 128 bits at least */
#define DT_SECRET_MAX   64
#define DT_FAILURES_MAX 4096 /* values of pgTOTPFailure read at most */
#define DT_FAIL_VALUE   33   /* "YYYYmmddHHMMSSZ#" + 16 hex + NUL */
#define DT_WHY_MAX      256

/* What the directory holds of one user's TOTP. */
struct dt_token {
	LDAPMessage *res;  /* the answer; every berval below points in it */
	LDAPMessage *tres; /* the token entry's, when it is another entry */
	char *user_dn;     /* ldap_memfree() */
	char *token_dn;    /* where the token lives: user_dn or another */
	bool named;        /* the entry names a token (oathTOTPToken) */
	bool oc_user, oc_token, oc_state; /* object classes of the entry */
	bool locked;                      /* the lockout attribute is set */
	struct berval secret;             /* bv_val NULL: none read */
	struct berval step;               /* bv_val NULL: none */
	struct berval secret_time, last_login;
	struct berval *scratch; /* the codes of pgTOTPScratchCode, or NULL */
	size_t nscratch;
	struct berval *etok; /* enrollment token records (the user entry's) */
	size_t netok;
	struct berval *fail; /* pgTOTPFailure values, of the user's entry */
	size_t nfail;
	BerVarray keep[8]; /* arrays to ber_memfree() */
	size_t nkeep;
};

/*
 * Reads USER's entry (exactly one, naming attribute equal byte for byte)
 * with the token attributes; a token named in another entry is read from
 * there.  Call connected, with L's lock held.  Returns PG_OK, or
 * PG_ERR_NOTFOUND, PG_ERR_DIR_BADANSWER, PG_ERR_DIR_UNAVAIL (*DOWN set
 * when the server went away), PG_ERR_AUTH..., with WHY filled.
 */
int dt_token_read(struct dir_ldap *l, const char *user, struct dt_token *t,
    bool *down, char *why, size_t whylen);

/* Wipes the secret in the answer and frees everything; T may be zeroed. */
void dt_token_free(struct dt_token *t);

/*
 * Parses the watermark (oathTOTPLastTimeStep, an INTEGER) of LEN bytes at
 * S into *OUT.  Returns 0, or -1 for anything but an optional '-' and
 * 1..19 decimal digits without a leading zero, in int64_t range.
 */
int dt_parse_step(const char *s, size_t len, int64_t *out);

/* Writes the decimal form of STEP into OUT (at least 21 bytes). */
void dt_format_step(int64_t step, char *out, size_t outlen);

/*
 * A fresh pgTOTPFailure value for a wrong code at NOW:
 * "YYYYmmddHHMMSSZ#" and 16 random hex digits, so that two servers never
 * add the same value (OUT: DT_FAIL_VALUE bytes).
 */
int dt_failure_value(time_t now, char *out, size_t outlen);

/*
 * Counts the N failure values in V: *RUN all of them, *WITHIN those at or
 * after NOW - WINDOW_S.  A value that does not parse counts in both: a
 * damaged counter errs towards a lockout.
 */
void dt_count_failures(const struct berval *v, size_t n, time_t now,
    int window_s, unsigned *within, unsigned *run);

/* --- the store (dir_totp.c, dir_totp_write.c) ------------------------- */

#define DT_FP_BYTES 32

struct dir_totp {
	struct dir_ldap *l;
	int digits, step_s;
	char why[DT_WHY_MAX];
	/* Between enroll and confirm: what the user was shown. */
	struct totp_enrollment *pending;
	char *pending_user;
	int pending_reset;
	/* The secret the user had then (secret_fp()): a confirmation
	 * replaces that one only, never one written meanwhile. */
	uint8_t pending_fp[DT_FP_BYTES];
};

/* One operation's arguments and results. */
struct op {
	const char *user;
	const char *code;
	time_t now;
	int window;
	enum totp_method how;
	struct totp_status *status;
	int64_t step; /* confirm: the step of the first code */
	int reset;    /* enroll, confirm: replace an existing token */
	const struct berval *scratch; /* confirm: the hashed codes */
	size_t nscratch;
	int window_s; /* failures: the counting window */
	unsigned n, run;
	const char *value; /* token_put, token_take: the record */
	char *buf;         /* token_get: the record, BUFLEN bytes */
	size_t buflen;
};

typedef int (*dt_fn)(struct dir_totp *s, struct op *o, bool *down);

/*
 * Runs FN connected, under the connection's lock, once more on a fresh
 * connection if the server went away.  Each FN reads the entry afresh,
 * so a second run never repeats a change blindly.  S->why says why not.
 */
int dt_run(struct dir_totp *s, dt_fn fn, struct op *o);

/*
 * Checks what T holds: PG_OK (*STEP the watermark, TOTP_NO_STEP if
 * none), PG_ERR_NOTFOUND (not enrolled), PG_ERR_AUTH (enrolled but the
 * secret is not readable: absent, or hidden from the bind DN by an ACL),
 * PG_ERR_CORRUPT (a secret or watermark that cannot be right).
 */
int dt_validate(struct dir_totp *s, const struct dt_token *t, int64_t *step);

/*
 * Maps the result LRC of a modify that must happen once: a delete of a
 * value that is gone (or an add of one that is there) is PG_ERR_REPLAY
 * with LOST as the reason, a failed assertion PG_ERR_ACCT_LOCKED.
 */
int dt_once_result(struct dir_totp *s, int lrc, const char *lost, bool *down);

/* MODS on DN, asserting (ASSERT_UNLOCKED) the lockout attribute absent. */
int dt_modify(
    struct dir_totp *s, const char *dn, LDAPMod **mods, bool assert_unlocked);

/* Sets M to OP (LDAP_MOD_ADD, _DELETE, _REPLACE) of VALS on attribute TYPE. */
void dt_mod(LDAPMod *m, int op, const char *type, struct berval **vals);

/* A berval over the C string STR (not copied). */
struct berval dt_bv(const char *str);

/* Wipes and forgets an enrollment not yet confirmed. */
void dt_drop_pending(struct dir_totp *s);

/* dir_totp_write.c: enrollment and the failure counter (totp.h's ops). */
int dir_totp_enroll(void *impl, const char *user, int reset, time_t now,
    int digits, int step_s, struct totp_enrollment **out);
int dir_totp_confirm(
    void *impl, const char *user, const char *code, time_t now, int window);
int dir_totp_fail_add(void *impl, const char *user, time_t now, int window_s,
    unsigned *n, unsigned *run);
int dir_totp_fail_reset(void *impl, const char *user);
/* ...and enrollment tokens (totp.h's token ops). */
int dir_totp_token_put(void *impl, const char *user, const char *value);
int dir_totp_token_get(void *impl, const char *user, char *buf, size_t len);
int dir_totp_token_take(void *impl, const char *user, const char *value);

#endif /* PG_DIR_TOTP_INT_H */
