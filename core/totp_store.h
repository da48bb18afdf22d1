/*
 * totp_store.h - the TOTP secret store: one root-only file per user in the
 * secret directory, encrypted with XChaCha20-Poly1305 under the host key
 * (the user name is associated data, so swapped files fail), holding the
 * secret, the last accepted step, the enrollment state and hashed
 * single-use scratch codes.  Every update is a read-modify-write under a
 * per-user lock, replaced atomically.  Shared by the PAM module and the CLI.
 */
#ifndef PG_TOTP_STORE_H
#define PG_TOTP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
 * Enrolls USER: a fresh 160-bit secret and TOTP_SCRATCH_COUNT scratch
 * codes, stored pending.  An existing record (even a corrupt one) is kept
 * and PG_ERR_EXISTS returned unless RESET.  On success *OUT holds what to
 * show the user once; free with totp_enrollment_free().
 */
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
 * Normalizes a scratch code as typed (case-insensitive, optional dash
 * after the fifth character) into OUT (TOTP_SCRATCH_CHARS + 1 bytes).
 * Returns PG_OK or PG_ERR_BADCODE.
 */
int totp_scratch_normalize(const char *in, char *out, size_t outlen);

#endif /* PG_TOTP_STORE_H */
