/*
 * dir_internal.h - what the dir_*.c files share and nothing else includes:
 * bounded string lists, the answer cache, the care-team file parser and
 * the two backends behind dir_lookup().
 */
#ifndef PG_DIR_INTERNAL_H
#define PG_DIR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/config/config.h"
#include "core/dir/dir.h"

#define DIR_ERR_MAX 512 /* length of a failure message */

/* A growable list of strings with a hard maximum count. */
struct dir_strv {
	char **v;
	size_t n;
	size_t cap;
	size_t max;
};

/* Appends a copy of S (LEN bytes); PG_ERR_TOOBIG past MAX entries. */
int dir_strv_push(struct dir_strv *sv, const char *s, size_t len);
/* Sorts with strcmp and drops duplicates. */
void dir_strv_sort_uniq(struct dir_strv *sv);
/* Hands the NULL-terminated array to *V (and count to *N); empties SV. */
int dir_strv_take(struct dir_strv *sv, char ***v, size_t *n);
void dir_strv_free(struct dir_strv *sv);
/* Frees a NULL-terminated array from dir_strv_take(). */
void dir_strv_free_array(char **v);

/* A new user named NAME (LEN bytes) with empty lists. */
struct dir_user *dir_user_new(const char *name, size_t len);

/* --- cache (dir_cache.c): times are CLOCK_MONOTONIC seconds ---------- */

struct dir_cache;

enum dir_cache_hit {
	DIR_CACHE_MISS = 0,
	DIR_CACHE_HIT = 1,     /* *out is a copy of the cached user */
	DIR_CACHE_UNKNOWN = 2, /* the user was recently not found */
};

/* A cache of at most MAX users, answers valid TTL_S, unknowns NEG_TTL_S. */
int dir_cache_new(size_t max, int ttl_s, int neg_ttl_s, struct dir_cache **out);
void dir_cache_free(struct dir_cache *c);
int dir_cache_get(struct dir_cache *c, const char *name, time_t now,
    enum dir_cache_hit *hit, struct dir_user **out);
/* Stores a copy of U (or, with U NULL, "NAME is unknown") at NOW. */
int dir_cache_put(struct dir_cache *c, const char *name,
    const struct dir_user *u, time_t now);
void dir_cache_drop(struct dir_cache *c, const char *name);
void dir_cache_flush(struct dir_cache *c);
size_t dir_cache_count(struct dir_cache *c);

/* --- care-team file (dir_careteam.c) ---------------------------------- */

#define DIR_CARETEAM_FILE_MAX    (32 * 1024 * 1024)
#define DIR_CARETEAM_LINE_MAX    8192
#define DIR_CARETEAM_MEMBERS_MAX 1024

struct dir_careteam;

/*
 * Parses a care-team file of LEN bytes named NAME (for messages):
 *   # comment
 *   P000123: alice bob     # patient id, colon, user names
 * On a malformed line returns PG_ERR_PARSE (or PG_ERR_TOOBIG) and writes
 * "NAME:LINE: message" to ERR.
 */
int dir_careteam_parse(const char *name, const char *buf, size_t len,
    struct dir_careteam **out, char *err, size_t errlen);
/* Adds USER's patients, in order, to SV. */
int dir_careteam_patients(
    const struct dir_careteam *ct, const char *user, struct dir_strv *sv);
size_t dir_careteam_count(const struct dir_careteam *ct);
void dir_careteam_free(struct dir_careteam *ct);

/* True if S is an acceptable patient id (printable ASCII, no '/'). */
bool dir_valid_patient_id(const char *s, size_t len);

/* --- what the watch (dir_watch.c) needs of a struct dir ----------------- */
/* D's LDAP backend; NULL for the local one. */
struct dir_ldap *dir_ldap_of(struct dir *d);
/* Drops NAME's cached answer, as dir_set_locked() does. */
void dir_forget(struct dir *d, const char *name);

/* --- backends --------------------------------------------------------- */

struct dir_ldap;
int dir_ldap_open(const struct pg_config *cfg, struct dir_ldap **out, char *err,
    size_t errlen);
void dir_ldap_free(struct dir_ldap *l);
int dir_ldap_lookup(struct dir_ldap *l, const char *name, struct dir_user **out,
    char *err, size_t errlen);
int dir_ldap_set_locked(struct dir_ldap *l, const char *name, bool locked,
    char *err, size_t errlen);
bool dir_ldap_can_lock(const struct dir_ldap *l);
bool dir_ldap_can_set_lock(const struct dir_ldap *l);
/* A second backend with L's settings and no connection (a watch's own). */
int dir_ldap_dup(const struct dir_ldap *l, struct dir_ldap **out);
/*
 * The value of DN's first RDN into BUF (LEN bytes) when that RDN is one
 * ATTR=value pair (ATTR case-insensitive): "asmith" for
 * "uid=asmith,ou=people,..." and "uid".  Returns PG_OK, or
 * PG_ERR_DIR_BADANSWER (another shape, an unprintable or too long value).
 */
int dir_dn_value(const char *dn, const char *attr, char *buf, size_t len);
int dir_ldap_list_locked(struct dir_ldap *l, char ***users, char ***since,
    size_t *n, char *err, size_t errlen);

struct dir_local;
int dir_local_open(const struct pg_config *cfg, struct dir_local **out,
    char *err, size_t errlen);
void dir_local_free(struct dir_local *l);
int dir_local_lookup(struct dir_local *l, const char *name,
    struct dir_user **out, char *err, size_t errlen);

#endif /* PG_DIR_INTERNAL_H */
