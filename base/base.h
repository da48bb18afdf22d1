/*
 * base.h - what every part may use, policy/ and core/ alike: the one list
 * of error codes.  Library functions return 0 (PG_OK) or one of these
 * negative codes; the wings translate them at their edge (PAM_* in the
 * PAM glue, -errno in FUSE handlers, exit codes in the CLI).
 */
#ifndef PG_BASE_H
#define PG_BASE_H

#define PG_OK                0
#define PG_ERR_INTERNAL      -1  /* a bug: should never happen */
#define PG_ERR_NOMEM         -2  /* allocation failed */
#define PG_ERR_IO            -3  /* read/write/open failed; see errno */
#define PG_ERR_INVAL         -4  /* invalid argument from the caller */
#define PG_ERR_PARSE         -5  /* input does not parse */
#define PG_ERR_TOOBIG        -6  /* input over an explicit maximum */
#define PG_ERR_NOTFOUND      -7  /* no such user, key or record */
#define PG_ERR_PERM          -8  /* file has unsafe owner or mode */
#define PG_ERR_SYMLINK       -9  /* refused to follow a symlink */
#define PG_ERR_DIR_UNAVAIL   -10 /* directory unreachable or timed out */
#define PG_ERR_DIR_BADANSWER -11 /* directory answered nonsense */
#define PG_ERR_TLS           -12 /* TLS setup or certificate check failed */
#define PG_ERR_AUTH          -13 /* bind credentials refused */
#define PG_ERR_CRYPTO        -14 /* libsodium failure or bad key */
#define PG_ERR_CORRUPT       -15 /* on-disk state fails its checks */
#define PG_ERR_LOCKED        -16 /* could not take a lock in time */
#define PG_ERR_CONFIG        -17 /* configuration is missing a value */
#define PG_ERR_EXISTS        -18 /* already present */
#define PG_ERR_TIMEOUT       -19 /* an operation timed out */
#define PG_ERR_BADCODE       -20 /* verification code does not match */
#define PG_ERR_REPLAY        -21 /* verification code already used */
#define PG_ERR_PENDING       -22 /* enrollment not yet confirmed */
#define PG_ERR_ACCT_LOCKED   -23 /* the directory marks the account locked */
#define PG_ERR_MAX           -23

/* Returns a static, human-readable message for an error code. */
const char *pg_strerror(int err);

#endif /* PG_BASE_H */
