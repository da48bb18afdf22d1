/*
 * state.h - what every stateful part shares: careful file handling
 * (bounded reads that follow no symlink, private secret files, atomic
 * replacement), locks with a deadline, the names of per-user state files,
 * the escaping of untrusted text and the spelling of times.
 */
#ifndef PG_STATE_H
#define PG_STATE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Flags for pg_read_file_at(). */
#define PG_RF_PRIVATE 0x1 /* owner root or euid; no group/other bits */
#define PG_RF_SECRET                                                           \
	0x2 /* buffer from sodium_malloc(); free with                          \
	       pg_free_secret() */
#define PG_RF_TRUSTED                                                          \
	0x4 /* owner root or euid; not writable by                             \
	       group/other (config, policy) */
#define PG_RF_SHARED                                                           \
	0x8 /* with PG_RF_PRIVATE: state shared with the gateway's             \
	       service user (pg_share_set()) may also be owned by it,          \
	       and its group may read and write it; others never */

/*
 * The state the PAM module, the CLI and the gateway share (MFA tickets,
 * the lockout store, the audit log) lives in directories of group GID,
 * mode 02770, so that the gateway, which serves as the store's service
 * user UID (primary group GID), can use it without root.  pg_share_set()
 * names that user and group for this process ((uid_t)-1 for none, the
 * default: everything stays root-only).  Only readers that pass
 * PG_RF_SHARED, and pg_open_shared_dir(), accept the service user and its
 * group; secrets never do.
 */
void pg_share_set(uid_t uid, gid_t gid);
int pg_share_get(uid_t *uid, gid_t *gid); /* 1 if set, else 0 */

/*
 * Sets the share from the configuration's service user ([store] user):
 * its uid and primary group, if it exists and its group lists no members
 * (a group others belong to would open the shared state to them: then,
 * and for a missing user, nothing is shared and PG_ERR_PERM or
 * PG_ERR_NOTFOUND is returned).
 */
int pg_share_from_user(const char *user);

/*
 * Reads the regular file NAME relative to DIRFD with O_NOFOLLOW, refusing
 * symlinks (PG_ERR_SYMLINK), anything but a regular file (PG_ERR_INVAL),
 * files over MAX bytes (PG_ERR_TOOBIG) and, with PG_RF_PRIVATE, files not
 * owned by root or the effective uid or readable by group or other
 * (PG_ERR_PERM), and with PG_RF_TRUSTED, files others could have written
 * (PG_ERR_PERM).  On success *OUT is a NUL-terminated buffer the caller
 * owns (free(), or pg_free_secret() with PG_RF_SECRET) and *LEN its length.
 */
int pg_read_file_at(int dirfd, const char *name, size_t max, int flags,
    char **out, size_t *len);

/*
 * As pg_read_file_at(), for a path: the directory part is opened with
 * O_PATH|O_DIRECTORY and the last component is read beneath it.
 */
int pg_read_file(
    const char *path, size_t max, int flags, char **out, size_t *len);

/*
 * Writes into ERR (ERRLEN bytes, truncated) "PATH: cannot read WHAT: " and
 * the message for R, the code pg_read_file() returned; for PG_ERR_PERM it
 * adds who must own a trusted file.
 */
void pg_file_error(
    const char *path, const char *what, int r, char *err, size_t errlen);

/* Wipes and frees a buffer from pg_read_file_at(PG_RF_SECRET). NULL ok. */
void pg_free_secret(char *buf);

/*
 * Replaces NAME in DIRFD with BUF: writes a temporary file in the same
 * directory with MODE, fsyncs it, renames it over NAME and fsyncs the
 * directory.  A crash leaves either the old or the new content.
 */
int pg_write_file_atomic(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/*
 * As pg_write_file_atomic() without the directory's fsync, for state that
 * may fall back to its previous version after a crash (the audit head):
 * the new content is on disk before it replaces the old, so a crash leaves
 * the old content or the new, never a mix; the replacement itself becomes
 * durable with the file system's next commit (any fsync on it).
 */
int pg_write_file_synced(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/*
 * As pg_write_file_atomic() without either fsync, for state that a crash
 * may lose (MFA tickets): while the system runs, readers see the old or
 * the new content, never half of one; after a crash the file may hold
 * either, or be empty or cut, so its reader must refuse what does not
 * parse.
 */
int pg_write_file_volatile(
    int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/*
 * Opens (creating with MODE if needed) the directory PATH, refusing a
 * symlink as its last component.  Returns a directory fd or a negative
 * PG_ERR_* code.
 */
int pg_open_dir(const char *path, int create, mode_t mode);

/*
 * Takes an exclusive flock() on NAME in DIRFD (created 0600 if absent),
 * waiting at most TIMEOUT_MS.  Returns the lock fd (close it to release)
 * or PG_ERR_LOCKED / PG_ERR_IO.
 */
int pg_lock_at(int dirfd, const char *name, int timeout_ms);

/*
 * Takes flock(FD, OP) (LOCK_EX or LOCK_SH), waiting at most TIMEOUT_MS
 * by the monotonic clock (0 or less: one try).  Returns PG_OK,
 * PG_ERR_LOCKED when the deadline passed, PG_ERR_IO, or PG_ERR_INVAL.
 */
int pg_flock(int fd, int op, int timeout_ms);

/*
 * As pg_open_dir(), and refuses (PG_ERR_PERM) a directory that is not
 * owned by root or the effective uid or that group or others may enter.
 */
int pg_open_private_dir(const char *path, int create);

/*
 * As pg_open_private_dir(), for shared state: with a share set, a
 * directory of the share's group (group rwx, setgid) owned by root, the
 * effective uid or the service user is accepted too, and one created is
 * made so when running as root.  Files written in such a directory by
 * pg_write_file_atomic() and pg_lock_at() give the group the owner's
 * read and write bits.
 */
int pg_open_shared_dir(const char *path, int create);

/*
 * Run as root with a share set: makes DIRFD, if it is root's private
 * directory (no group or other bits), the share's -- each regular file in
 * it given to the group with the owner's read and write bits, then the
 * directory 02770 of the group.  Anything else is left as it is.  Returns
 * PG_OK or PG_ERR_IO.
 */
int pg_share_adopt_dir(int dirfd);

/*
 * Run as root with a share set: gives each regular file of root's in
 * DIRFD not yet of the share's group to it, with the owner's read and
 * write bits for the group (leftovers from before the directory was
 * shared).  PG_OK or PG_ERR_IO.
 */
int pg_share_adopt_files(int dirfd);

/*
 * For small "KEY=value" line files: if the line at *P starts with KEY and
 * ends in a newline, NUL-terminates it, moves *P past it and returns the
 * value; else returns NULL and leaves *P alone.
 */
char *pg_take_line(char **p, const char *key);

/*
 * Parses S as a decimal number in [0, MAX] with nothing around it (at most
 * 19 digits); returns PG_OK or PG_ERR_CORRUPT.
 */
int pg_parse_num(const char *s, long long max, long long *out);

/* Writes all of LEN bytes, retrying on EINTR and short writes. */
int pg_write_all(int fd, const void *buf, size_t len);

/*
 * Reads exactly LEN bytes at offset OFF, retrying on EINTR and short
 * reads.  Returns 0, or PG_ERR_IO on an error or an early end of file.
 */
int pg_pread_all(int fd, void *buf, size_t len, off_t off);

/*
 * Length of the valid UTF-8 character at S (at most N bytes; a NUL ends
 * it early), or 0 if it is not one: no overlong forms, surrogates or code
 * points past U+10FFFF, as jansson judges it.
 */
size_t pg_utf8_len(const unsigned char *s, size_t n);

/*
 * What pg_escape() keeps besides printable ASCII (but the backslash):
 * KEEP_SPACE the space; KEEP_UTF8 valid UTF-8 past ASCII but C1 controls
 * (without it every byte from 0x80 is escaped); KEEP_CONTROLS the C0
 * controls and, with KEEP_UTF8, the C1 ones, for text a JSON encoder
 * escapes after; KEEP_BACKSLASH the backslash (the output is then
 * ambiguous); DOUBLE_BACKSLASH writes it twice rather than as \x5c.
 */
#define PG_ESC_KEEP_SPACE       0x01
#define PG_ESC_KEEP_UTF8        0x02
#define PG_ESC_KEEP_CONTROLS    0x04
#define PG_ESC_KEEP_BACKSLASH   0x08
#define PG_ESC_DOUBLE_BACKSLASH 0x10
/* The audit log's spelling: text jansson takes, read back unambiguously. */
#define PG_ESC_JSON                                                            \
	(PG_ESC_KEEP_SPACE | PG_ESC_KEEP_UTF8 | PG_ESC_KEEP_CONTROLS |         \
	    PG_ESC_DOUBLE_BACKSLASH)

/*
 * Copies IN (NULL: "") into OUT (OUTLEN bytes) so that it cannot forge a
 * log line or drive a terminal: printable ASCII passes, and so does what
 * FLAGS keep; every other byte (a C1 control: its code) becomes \xHH.
 * Output that does not fit is cut before the first character or escape
 * that does not fit whole.  Returns the length of OUT (NUL-terminated if
 * OUTLEN > 0).
 */
size_t pg_escape(const char *in, char *out, size_t outlen, unsigned flags);

/* How pg_utc() spells a time. */
enum pg_time_style {
	PG_TIME_ISO,  /* 2026-01-02T03:04:05Z: logs, tables, JSON */
	PG_TIME_TEXT, /* 2026-01-02 03:04:05 UTC: prose */
	PG_TIME_LDAP, /* 20260102030405Z: LDAP GeneralizedTime */
};

/*
 * Writes T as UTC in STYLE into BUF (LEN bytes, with the NUL).  Returns
 * PG_OK; PG_ERR_INVAL for a time the calendar cannot hold or an unknown
 * style, PG_ERR_TOOBIG if BUF is too small, and then leaves BUF as it
 * was, so that a caller may put its own fallback there first.
 */
int pg_utc(time_t t, enum pg_time_style style, char *buf, size_t len);

/*
 * How a user's name is spelled in a state file's name.  Both keep a name
 * free of "/", "." and NUL and give two users two names; the files on disk
 * fix which store uses which.
 */
enum pg_name_style {
	PG_NAME_PCT, /* A-Z a-z 0-9 _ - kept, other bytes %XX: "a.b" ->
	                "a%2Eb" (TOTP store, MFA tickets, offline cache) */
	PG_NAME_HEX, /* every byte as two lower-case hex digits: "a.b" ->
	                "612e62" (lockout store) */
};
#define PG_NAME_FIX_MAX 8 /* longest prefix or suffix */
/* Room for any name of a user of at most MAX bytes, with the NUL. */
#define PG_NAME_SIZE(max) (3 * (max) + 2 * PG_NAME_FIX_MAX + 1)

/*
 * Writes into OUT (OUTLEN bytes) PREFIX, USER in STYLE and SUFFIX.  The
 * prefix ("" for none) holds no slash and does not start with a dot; the
 * suffix is "" or a dot and 1 to 7 bytes without a slash: PG_ERR_INVAL
 * otherwise, for an empty user or for an unknown style.  PG_ERR_TOOBIG
 * for a user over MAX bytes or a name that does not fit.  OUT is "" on
 * failure.
 */
int pg_name_encode(enum pg_name_style style, const char *prefix,
    const char *user, size_t max, const char *suffix, char *out, size_t outlen);

/*
 * The user whose name in STYLE, between PREFIX and SUFFIX, is NAME, into
 * OUT (OUTLEN bytes).  Returns PG_OK, PG_ERR_INVAL for a name
 * pg_name_encode() would not have written (another prefix or suffix, no
 * user, another spelling of a byte, a NUL), PG_ERR_TOOBIG if the user
 * does not fit.  OUT is "" on failure.
 */
int pg_name_decode(enum pg_name_style style, const char *prefix,
    const char *name, const char *suffix, char *out, size_t outlen);

/*
 * Writes the N bytes at IN as lower-case hex into OUT (OUTLEN >= 2 * N +
 * 1).  Returns PG_OK, PG_ERR_TOOBIG (OUT cut) or PG_ERR_INVAL.
 */
int pg_hex_encode(const void *in, size_t n, char *out, size_t outlen);

/*
 * Percent-encodes IN into OUT (OUTLEN bytes): ASCII letters, digits and
 * the bytes in KEEP (NULL: none) as they are, every other byte as %XX.
 * For URIs, KEEP "-._~" leaves RFC 3986's unreserved characters.  Returns
 * PG_OK, PG_ERR_TOOBIG (OUT cut) or PG_ERR_INVAL.
 */
int pg_pct_encode(const char *in, const char *keep, char *out, size_t outlen);

#endif /* PG_STATE_H */
