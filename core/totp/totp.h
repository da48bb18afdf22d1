/*
 * totp.h - time-based one-time passwords (RFC 6238, HMAC-SHA1) through
 * liboath, checked in constant time with replay refusal, plus the small
 * encodings the TOTP store, the MFA tickets and the enrollment tool share.
 */
#ifndef PG_TOTP_H
#define PG_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

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

/* Longest user name the store and the tickets accept, in bytes; their
 * files are named with pg_name_encode(PG_NAME_PCT). */
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
 * The TOTP secret store: one root-only file per user in the
 * secret directory, encrypted with XChaCha20-Poly1305 under the host key
 * (the user name is associated data, so swapped files fail), holding the
 * secret, the last accepted step, the enrollment state and hashed
 * single-use scratch codes.  Every update is a read-modify-write under a
 * per-user lock, replaced atomically.  Shared by the PAM module and the CLI.
 */

#define TOTP_SECRET_BYTES    20 /* 160 bits, RFC 4226 recommendation */
#define TOTP_HOSTKEY_BYTES   32
#define TOTP_SCRATCH_COUNT   10
#define TOTP_SCRATCH_CHARS   10 /* shown as xxxxx-xxxxx */
#define TOTP_LOCK_TIMEOUT_MS 10000

enum totp_state {
	TOTP_STATE_NONE = 0,
	TOTP_STATE_PENDING = 1, /* enrolled, first code not yet confirmed */
	TOTP_STATE_ACTIVE = 2,
};

enum totp_method {
	TOTP_BY_NONE = 0,
	TOTP_BY_CODE = 1,    /* a time-based code */
	TOTP_BY_SCRATCH = 2, /* an emergency scratch code, now spent */
	TOTP_BY_TOKEN = 3,   /* a one-time enrollment token, now spent */
};

struct totp_store;

/* What enrollment hands out once; sodium_malloc() memory. */
struct totp_enrollment {
	uint8_t secret[TOTP_SECRET_BYTES];
	char secret_b32[33];
	char scratch[TOTP_SCRATCH_COUNT][TOTP_SCRATCH_CHARS + 2];
	int digits;
	int step_s;
};

/* Nothing secret: what `photoguard totp status` shows. */
struct totp_status {
	enum totp_state state;
	int64_t last_step; /* TOTP_NO_STEP: none */
	int64_t enrolled_at;
	int64_t last_used; /* 0: never */
	int scratch_left;
	int digits;
	int step_s;
	bool locked; /* the directory marks the account locked */
};

/*
 * Creates the host key file PATH: 32 random bytes, mode 0600, refusing to
 * replace an existing file.  Returns PG_OK, PG_ERR_EXISTS, or PG_ERR_IO.
 */
int totp_hostkey_generate(const char *path);

/*
 * Opens the store in DIR (created 0700 if CREATE) with the host key in
 * HOST_KEY_FILE.  The directory and the key must be owned by root (or the
 * effective uid) and have no group or other bits (PG_ERR_PERM); the key
 * must be exactly 32 bytes (PG_ERR_CORRUPT).  On success *OUT is a store
 * the caller frees with totp_store_free().
 */
int totp_store_open(const char *dir, const char *host_key_file, int create,
    struct totp_store **out);

/* Wipes the host key and frees the store; NULL is a no-op. */
void totp_store_free(struct totp_store *st);

/*
 * The detail behind the last error of ST (file name and what is wrong),
 * safe to log: it never holds a secret and the name is encoded.
 */
const char *totp_store_why(const struct totp_store *st);

/*
 * Every totp_store_* call below that takes USER, in either store, first
 * refuses an empty or NULL name or one with a control byte (PG_ERR_INVAL)
 * and one over TOTP_USER_MAX bytes (PG_ERR_TOOBIG), with the reason in
 * totp_store_why().
 */

/*
 * Enrolls USER: a fresh 160-bit secret and TOTP_SCRATCH_COUNT scratch
 * codes, stored pending.  An existing record (even a corrupt one) is kept
 * and PG_ERR_EXISTS returned unless RESET.  With RESET TOTP_ENROLL_STAGED
 * the record stays as it is until totp_store_confirm() on this same ST
 * verifies the first code, and is replaced then (a user who gives up
 * keeps the authenticator they had); the directory store always works
 * so.  On success *OUT holds what to show the user once; free with
 * totp_enrollment_free().
 */
#define TOTP_ENROLL_STAGED 2
int totp_store_enroll(struct totp_store *st, const char *user, int reset,
    time_t now, int digits, int step_s, struct totp_enrollment **out);

/* Wipes and frees an enrollment; NULL is a no-op. */
void totp_enrollment_free(struct totp_enrollment *e);

/*
 * Confirms a pending enrollment of USER with a first CODE (within WINDOW
 * steps of NOW) and activates it.  Returns PG_OK, PG_ERR_BADCODE,
 * PG_ERR_INVAL if the record is already active, or a store error.
 */
int totp_store_confirm(struct totp_store *st, const char *user,
    const char *code, time_t now, int window);

/*
 * Checks CODE for USER at NOW: a TOTP code within WINDOW steps and newer
 * than the last accepted one, or an unused scratch code (which is then
 * spent).  On PG_OK the new state is on disk and *HOW (if not NULL) says
 * which kind matched.  Returns PG_ERR_NOTFOUND (no record),
 * PG_ERR_PENDING, PG_ERR_BADCODE, PG_ERR_REPLAY, PG_ERR_LOCKED, or an
 * error from reading the record (PG_ERR_CORRUPT, PG_ERR_PERM,
 * PG_ERR_SYMLINK, PG_ERR_IO...); only PG_OK means accepted.
 */
int totp_store_check(struct totp_store *st, const char *user, const char *code,
    time_t now, int window, enum totp_method *how);

/*
 * Fills *OUT with USER's enrollment state.  A missing record gives PG_OK
 * with state TOTP_STATE_NONE; a bad one returns its error.
 */
int totp_store_status(
    struct totp_store *st, const char *user, struct totp_status *out);

/*
 * Another home for the records, such as the user's directory entry (see
 * dir_totp_store_open() in core/dir): a store whose operations all go to
 * OPS with IMPL, so the PAM module and the CLI make the same totp_store_*
 * calls whichever store is configured, and core/totp never includes the
 * code behind them.  The operations keep the contracts of the functions
 * they stand for; fail_add and fail_reset count wrong codes where every
 * server sees them (totp_store_failures_add()).  free wipes and frees IMPL.
 *
 * The token operations are optional (NULL: the store keeps no enrollment
 * tokens); they keep one token record per user, text of at most
 * TOTP_TOKEN_RECORD_MAX bytes with its NUL, which core/totp makes and
 * checks.  token_put replaces the user's record with VALUE; token_get
 * copies it into BUF (PG_ERR_NOTFOUND: none; PG_ERR_CORRUPT: more than
 * one); token_take removes exactly VALUE, once: PG_ERR_REPLAY when it is
 * gone already (spent by another server).
 */
struct totp_store_ops {
	int (*enroll)(void *impl, const char *user, int reset, time_t now,
	    int digits, int step_s, struct totp_enrollment **out);
	int (*confirm)(void *impl, const char *user, const char *code,
	    time_t now, int window);
	int (*check)(void *impl, const char *user, const char *code, time_t now,
	    int window, enum totp_method *how);
	int (*status)(void *impl, const char *user, struct totp_status *out);
	int (*fail_add)(void *impl, const char *user, time_t now, int window_s,
	    unsigned *n, unsigned *run);
	int (*fail_reset)(void *impl, const char *user);
	const char *(*why)(const void *impl);
	void (*free)(void *impl);
	int (*token_put)(void *impl, const char *user, const char *value);
	int (*token_get)(void *impl, const char *user, char *buf, size_t len);
	int (*token_take)(void *impl, const char *user, const char *value);
};

/*
 * Makes *OUT a store over OPS and IMPL (every member of OPS set); on
 * success IMPL belongs to it and goes with totp_store_free(), on failure
 * (PG_ERR_INVAL, PG_ERR_NOMEM) it stays the caller's.
 */
int totp_store_wrap(
    const struct totp_store_ops *ops, void *impl, struct totp_store **out);

/* True when ST counts wrong codes itself (a store made by wrap). */
bool totp_store_counts_failures(const struct totp_store *st);

/*
 * Counts one wrong-code attempt of USER at NOW where every server sees
 * it: *N is the count within the last WINDOW_S seconds and *RUN the count
 * since the last good code, this attempt included.  Returns PG_OK, or
 * PG_ERR_INVAL for a store that does not count (the files store: its
 * caller counts in the lockout store), or the store's error.
 */
int totp_store_failures_add(struct totp_store *st, const char *user, time_t now,
    int window_s, unsigned *n, unsigned *run);

/* Forgets USER's wrong codes (after a good code, or an unlock). */
int totp_store_failures_reset(struct totp_store *st, const char *user);

/*
 * A fresh enrollment held by no store yet: a 160-bit secret, its base32
 * form and TOTP_SCRATCH_COUNT scratch codes shown as xxxxx-xxxxx.
 * Returns PG_OK with *OUT for totp_enrollment_free(), PG_ERR_INVAL or
 * PG_ERR_NOMEM.
 */
int totp_enrollment_new(int digits, int step_s, struct totp_enrollment **out);

/*
 * Scratch codes kept as text, one hashed code per value, for stores that
 * keep a list of values rather than a record (the directory):
 *   $pgscratch$1$OPS$MEMKIB$SALT$HASH
 * (Argon2id cost, base64url salt and hash).  Removing a spent code is
 * removing its value.
 */
#define TOTP_SCRATCH_SALT_BYTES 16
#define TOTP_SCRATCH_VALUE_MAX  128
#define TOTP_SCRATCH_VALUES_MAX 32 /* more values than this: corrupt */

/* A value as a store read it: LEN bytes at P, not NUL-terminated. */
struct totp_value {
	const char *p;
	size_t len;
};

/*
 * Writes the value of scratch code CODE (as shown or typed) hashed with
 * SALT at the default cost into OUT (TOTP_SCRATCH_VALUE_MAX bytes).
 * Returns PG_OK, PG_ERR_BADCODE, PG_ERR_INVAL or PG_ERR_NOMEM.
 */
int totp_scratch_value_make(const char *code,
    const uint8_t salt[TOTP_SCRATCH_SALT_BYTES], char *out, size_t outlen);

/*
 * Finds the value among the N in VALS that TYPED is the code of, hashing
 * TYPED once per distinct salt and cost and comparing with every value
 * in constant time.  Returns PG_OK with *HIT, PG_ERR_BADCODE (not a
 * scratch code, or none matches), PG_ERR_CORRUPT (a value that does not
 * parse, a cost out of range, over TOTP_SCRATCH_VALUES_MAX values) or
 * PG_ERR_NOMEM.
 */
int totp_scratch_value_find(
    const char *typed, const struct totp_value *vals, size_t n, size_t *hit);

/*
 * Normalizes a scratch code as typed (case-insensitive, optional dash
 * after the fifth character) into OUT (TOTP_SCRATCH_CHARS + 1 bytes).
 * Returns PG_OK or PG_ERR_BADCODE.
 */
int totp_scratch_normalize(const char *in, char *out, size_t outlen);

/*
 * Short-lived MFA tickets: after a successful second factor
 * the PAM module leaves one root-only file per user in the ticket
 * directory (readable by the gateway's service group when shared, see
 * pg_share_set()); the gateway asks whether a valid one exists before serving
 * what needs MFA.  Both sides use this code, so they agree on the format.
 *
 * A ticket is bound to the login sessions that passed the second factor:
 * `auth` writes it pending, naming the process that checked the code and
 * its parent; `session open` in one of those two processes (the session
 * leader: login, sshd's per-connection monitor, sudo) joins it; `session
 * close` leaves it, and the last one out removes the file.  A ticket
 * counts only while one of its sessions' leaders still runs (pid and
 * start time, from /proc), so a session that crashed before its close
 * takes its share of the ticket with it, and a ticket no session joined
 * counts for nothing.  A lockout removes the ticket.
 */

#define MFA_TICKET_MAX_TTL_S    (24 * 3600)
#define MFA_TICKET_MAX_SIZE     4096
#define MFA_TICKET_SKEW_S       60  /* tolerated issued-in-the-future */
#define MFA_TICKET_PENDING_S    120 /* auth to session open, at most */
#define MFA_TICKET_MAX_SESSIONS 64  /* live sessions of one user */
#define MFA_TICKET_LOCK_MS      2000

/*
 * Writes (atomically, mode 0600, or 0660 in a shared directory) the ticket
 * of USER in DIR, creating DIR 0700 (02770 of the share's group) if absent:
 * issued NOW, expires NOW + TTL_S (1..MFA_TICKET_MAX_TTL_S), HOST (NULL:
 * gethostname()), pending for this process and its parent; the live
 * sessions of the ticket it replaces stay in it.  It is not synced to
 * disk: a ticket is a short-lived grant (kept in /run by default), and a
 * crash that loses it, or leaves it cut, only asks for a new login, since
 * mfa_ticket_valid() refuses a ticket that does not parse.  Returns PG_OK,
 * PG_ERR_INVAL, PG_ERR_PERM (DIR neither root-only nor shared),
 * PG_ERR_LOCKED or PG_ERR_IO.
 */
int mfa_ticket_issue(
    const char *dir, const char *user, time_t now, int ttl_s, const char *host);

/*
 * Joins the session led by LEADER to USER's ticket if the ticket is
 * pending for LEADER (the process that passed auth, or its parent) since
 * at most MFA_TICKET_PENDING_S before NOW.  Returns 1 joined, 0 nothing to
 * join (no ticket, none pending for LEADER, too late), or PG_ERR_*.
 */
int mfa_ticket_session_open(
    const char *dir, const char *user, time_t now, pid_t leader);

/*
 * Takes the session led by LEADER, and a ticket pending for it, out of
 * USER's ticket, and sessions whose leader is gone; removes the ticket
 * when no session is left and nothing is pending.  Returns 1 removed, 0
 * kept (another session still holds it, or none existed), or PG_ERR_*.
 */
int mfa_ticket_session_close(const char *dir, const char *user, pid_t leader);

/*
 * Returns 1 if USER has a ticket in DIR valid at NOW (not expired, one of
 * its sessions' leaders still running), 0 if none, or a negative PG_ERR_*
 * (unsafe file or directory, corrupt ticket): callers test == 1, so an
 * error is never a ticket.
 */
int mfa_ticket_valid(const char *dir, const char *user, time_t now);

/* Removes USER's ticket from DIR.  Returns PG_OK (also if absent). */
int mfa_ticket_remove(const char *dir, const char *user);

/*
 * One-time enrollment tokens: an admin hands one to a user who has no
 * working authenticator, and the user types it at the code prompt to
 * enroll a new one there (pam_photoguard).  80 random bits shown as
 * xxxx-xxxx-xxxx-xxxx (base32, lower case); a store keeps only a hash
 * bound to the user and the expiry, "pgtoken1 EXPIRES HEX": the files
 * store in USER.token, its hash keyed by the host key; the directory
 * store as a value of the user entry (unkeyed: its servers share no key),
 * where spending it is one delete that only one server wins.
 */
#define TOTP_TOKEN_CHARS      16
#define TOTP_TOKEN_TEXT       (TOTP_TOKEN_CHARS + 4) /* dashes and NUL */
#define TOTP_TOKEN_RECORD_MAX 96 /* "pgtoken1 EXPIRES HEX" and NUL */

/* True if ST keeps enrollment tokens (the files store; the directory). */
bool totp_store_keeps_tokens(const struct totp_store *st);

/*
 * Issues a token for USER valid TTL_S seconds from NOW, replacing any
 * earlier one; the token goes to OUT.  PG_ERR_INVAL for a store that
 * keeps none (totp_store_keeps_tokens()), else PG_OK or a write error.
 */
int totp_token_issue(struct totp_store *st, const char *user, time_t now,
    int ttl_s, char out[TOTP_TOKEN_TEXT]);

/* 1 if ANSWER has the shape of a token (dashes and spaces aside). */
int totp_token_format_ok(const char *answer);

/*
 * Spends USER's token if ANSWER is it and it has not expired at NOW; an
 * expired token is removed.  Compared in constant time.  Returns PG_OK
 * (removed: it works once), PG_ERR_NOTFOUND (no token), PG_ERR_BADCODE
 * (another answer, expired, or spent by another server first),
 * PG_ERR_INVAL (a store that keeps none), or a read error
 * (PG_ERR_CORRUPT, PG_ERR_PERM...).
 */
int totp_token_use(
    struct totp_store *st, const char *user, const char *answer, time_t now);

/*
 * Sets *EXPIRES to the expiry of USER's token.  PG_OK, PG_ERR_NOTFOUND,
 * or a read error.
 */
int totp_token_expiry(
    struct totp_store *st, const char *user, int64_t *expires);

/*
 * What the app is shown (totp_uri.c).  totp_uri() writes the otpauth URI
 * of E for USER under ISSUER (label ISSUER:USER, both percent-encoded)
 * into OUT: PG_OK, PG_ERR_TOOBIG, PG_ERR_INVAL.
 */
#define TOTP_URI_MAX 1024
int totp_uri(const char *issuer, const char *user,
    const struct totp_enrollment *e, char *out, size_t outlen);

/*
 * How a QR code is drawn in a terminal.  COLOR sets its own dark and
 * light (COLORS: an SGR sequence, such as TOTP_QR_COLORS_256), so it
 * scans on light and dark themes alike; LIGHT and DARK draw the dark or
 * the light modules in the terminal's text colour.
 */
enum totp_qr_mode {
	TOTP_QR_COLOR = 0,
	TOTP_QR_LIGHT = 1,
	TOTP_QR_DARK = 2,
	TOTP_QR_NONE = 3,
};
/* The 256-colour cube's black on white (no theme remaps them), and the
 * basic colours' for terminals without 256 colours. */
#define TOTP_QR_COLORS_256   "\033[38;5;16;48;5;231m"
#define TOTP_QR_COLORS_BASIC "\033[30;47m"

/* "color", "light", "dark", "none": PG_OK with *M, or PG_ERR_INVAL. */
int totp_qr_mode_parse(const char *s, enum totp_qr_mode *m);

/*
 * TEXT as a QR code drawn with UTF-8 half blocks (two module rows a
 * line, a four-module quiet zone), NUL-terminated, in *OUT for
 * totp_qr_free() (NULL for TOTP_QR_NONE).  PG_OK, PG_ERR_NOMEM,
 * PG_ERR_INVAL.
 */
int totp_qr_text(
    const char *text, enum totp_qr_mode mode, const char *colors, char **out);

/* Wipes and frees a totp_qr_text() result; NULL is a no-op. */
void totp_qr_free(char *text);

#endif /* PG_TOTP_H */
