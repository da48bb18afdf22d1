/*
 * totp.h - time-based one-time passwords (RFC 6238, HMAC-SHA1) through
 * liboath, checked in constant time with replay refusal, plus the small
 * encodings the TOTP store, the MFA tickets and the enrollment tool share.
 */
#ifndef PG_TOTP_H
#define PG_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_DEFAULT_STEP_S 30
#define TOTP_DEFAULT_DIGITS 6
#define TOTP_DEFAULT_WINDOW 1
#define TOTP_MAX_WINDOW     10 /* steps either side */
#define TOTP_MIN_DIGITS     6
#define TOTP_MAX_DIGITS     8
#define TOTP_MAX_STEP_S     300
#define TOTP_NO_STEP        INT64_C(-1) /* no code accepted yet */

/* Defaults of the [totp] section until the config loader provides them. */
#define TOTP_DEFAULT_SECRET_DIR   "/var/lib/photoguard/totp"
#define TOTP_DEFAULT_HOST_KEY     PG_SYSCONFDIR "/photoguard/totp.key"
#define TOTP_DEFAULT_TICKET_DIR   "/run/photoguard/mfa"
#define TOTP_DEFAULT_TICKET_TTL_S 3600

/* Longest user name the store and the tickets accept, in bytes. */
#define TOTP_USER_MAX 64
/* Room for an encoded user name plus a suffix of up to 8 bytes. */
#define TOTP_FILENAME_MAX (3 * TOTP_USER_MAX + 9)

/*
 * Checks CODE against the TOTP of SECRET (LEN bytes) for the steps within
 * WINDOW of the step of NOW (STEP_S seconds per step, DIGITS digits).  Every
 * candidate in the window is generated and compared in constant time, with
 * no early exit.  A code that only matches a step <= LAST_STEP (already
 * used, or a clock moved back) is refused.  Returns PG_OK and sets
 * *MATCHED_STEP (if not NULL), PG_ERR_BADCODE for a code that is malformed
 * (not exactly DIGITS decimal digits) or matches no step, PG_ERR_REPLAY
 * for a code that only matches a used step, PG_ERR_INVAL for bad
 * parameters, PG_ERR_CRYPTO if liboath fails.
 */
int totp_verify(const uint8_t *secret, size_t len, const char *code, time_t now,
    int step_s, int window, int digits, int64_t last_step,
    int64_t *matched_step);

/*
 * Writes the TOTP of SECRET for step STEP into OUT (DIGITS digits and a
 * NUL; OUTLEN >= DIGITS + 1).  Returns PG_OK or PG_ERR_INVAL/PG_ERR_CRYPTO.
 */
int totp_generate(const uint8_t *secret, size_t len, int64_t step, int step_s,
    int digits, char *out, size_t outlen);

/* Returns 1 if CODE is exactly DIGITS ASCII digits, else 0. */
int totp_code_format_ok(const char *code, int digits);

/*
 * Encodes LEN bytes of IN as RFC 4648 base32 without padding into OUT
 * (OUTLEN >= (LEN * 8 + 4) / 5 + 1).  Returns PG_OK or PG_ERR_TOOBIG.
 */
int totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen);

/*
 * Writes a file name for USER with SUFFIX (e.g. ".totp") into OUT: bytes
 * outside [A-Za-z0-9_-] become %XX, so the name can never be ".", "..",
 * hidden, or contain a slash, and two users never share a name.  Returns
 * PG_OK, PG_ERR_INVAL for an empty user or a suffix without a leading
 * dot or over 8 bytes, PG_ERR_TOOBIG for a user over TOTP_USER_MAX bytes.
 */
int totp_user_filename(
    const char *user, const char *suffix, char *out, size_t outlen);

#endif /* PG_TOTP_H */
