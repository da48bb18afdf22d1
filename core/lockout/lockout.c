/*
 * lockout.c - lockout entries: one JSON file per locked user, written
 * under the store lock and replaced atomically; read without the lock
 * (readers see whole files only).  See lockout.h.
 */
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/lockout/lockout.h"
#include "core/lockout/lockout_priv.h"

/* Worst case: every field at its maximum, every byte escaped as \u00XX. */
#define ENTRY_FILE_MAX (64 * 1024)
#define ENTRY_VERSION  1

/* The optional text fields, with their maxima, in file order. */
static const struct {
	const char *key;
	size_t off;
	size_t max;
} text_fields[] = {
	{ "reason", offsetof(struct lockout_entry, reason), LOCKOUT_TEXT_MAX },
	{ "rule", offsetof(struct lockout_entry, rule), LOCKOUT_FIELD_MAX },
	{ "by", offsetof(struct lockout_entry, by), LOCKOUT_FIELD_MAX },
	{ "host", offsetof(struct lockout_entry, host), LOCKOUT_FIELD_MAX },
	{ "extra", offsetof(struct lockout_entry, extra), LOCKOUT_TEXT_MAX },
};
#define N_TEXT (sizeof(text_fields) / sizeof(text_fields[0]))

static const char **
field(struct lockout_entry *e, size_t i)
{
	return (const char **)((char *)e + text_fields[i].off);
}

static const char *
field_get(const struct lockout_entry *e, size_t i)
{
	const char *const *p;

	p = (const char *const *)((const char *)e + text_fields[i].off);
	return *p;
}

void
lockout_entry_clear(struct lockout_entry *e)
{
	if (e == NULL)
		return;
	free(e->storage);
	memset(e, 0, sizeof(*e));
}

void
lockout_entries_free(struct lockout_entry *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		lockout_entry_clear(&v[i]);
	free(v);
}

static int
entry_valid(const struct lockout_entry *e)
{
	size_t i;

	if (e == NULL || e->since < 0 || e->storage != NULL ||
	    (e->origin != LOCKOUT_ORIGIN_LOCAL &&
	        e->origin != LOCKOUT_ORIGIN_DIRECTORY))
		return PG_ERR_INVAL;
	if (lockout_priv_text_ok(e->user, LOCKOUT_USER_MAX, true) != 0)
		return PG_ERR_INVAL;
	for (i = 0; i < N_TEXT; i++) {
		if (lockout_priv_text_ok(field_get(e, i), text_fields[i].max,
		        strcmp(text_fields[i].key, "by") == 0) != 0)
			return PG_ERR_INVAL;
	}
	return PG_OK;
}

/* Serialises E (valid) into a malloc'd buffer. */
static int
entry_encode(const struct lockout_entry *e, time_t since, char **out)
{
	json_t *o;
	size_t i;
	int r = PG_ERR_NOMEM;

	*out = NULL;
	o = json_pack("{s:i,s:s,s:I}", "v", ENTRY_VERSION, "user", e->user,
	    "since", (json_int_t)since);
	if (o == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < N_TEXT; i++) {
		const char *v = field_get(e, i);

		if (v != NULL &&
		    json_object_set_new(o, text_fields[i].key, json_string(v)))
			goto out;
	}
	/* Absent for a local lockout: the files written before origins
	 * existed read as what they were. */
	if (e->origin == LOCKOUT_ORIGIN_DIRECTORY &&
	    json_object_set_new(o, "origin", json_string("directory")))
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) != NULL)
		r = PG_OK;
out:
	json_decref(o);
	return r;
}

/* The string at KEY in O: NULL if absent/null; *BAD if anything else. */
static const char *
get_text(json_t *o, const char *key, size_t max, bool *bad)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	s = json_string_value(v);
	/* An embedded \u0000 would make the C string shorter than stored. */
	if (strlen(s) != json_string_length(v) ||
	    lockout_priv_text_ok(s, max, false) != 0)
		*bad = true;
	return s;
}

/* Copies the strings of SRC into one block owned by DST. */
static int
entry_copy(struct lockout_entry *dst, const struct lockout_entry *src)
{
	size_t total = strlen(src->user) + 1, i, n;
	char *p;

	for (i = 0; i < N_TEXT; i++)
		if (field_get(src, i) != NULL)
			total += strlen(field_get(src, i)) + 1;
	memset(dst, 0, sizeof(*dst));
	if ((dst->storage = p = malloc(total)) == NULL)
		return PG_ERR_NOMEM;
	n = strlen(src->user) + 1;
	dst->user = memcpy(p, src->user, n);
	p += n;
	for (i = 0; i < N_TEXT; i++) {
		if (field_get(src, i) == NULL)
			continue;
		n = strlen(field_get(src, i)) + 1;
		*field(dst, i) = memcpy(p, field_get(src, i), n);
		p += n;
	}
	dst->since = src->since;
	dst->origin = src->origin;
	return PG_OK;
}

/* Reads O, which must be USER's entry; fills OUT if non-NULL. */
static int
entry_decode(json_t *o, const char *user, struct lockout_entry *out)
{
	struct lockout_entry e = { 0 };
	json_t *v;
	bool bad = false;
	size_t i;

	v = json_object_get(o, "since");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return PG_ERR_CORRUPT;
	e.since = (time_t)json_integer_value(v);
	e.user = get_text(o, "user", LOCKOUT_USER_MAX, &bad);
	if (bad || e.user == NULL || strcmp(e.user, user) != 0)
		return PG_ERR_CORRUPT;
	for (i = 0; i < N_TEXT; i++)
		*field(&e, i) =
		    get_text(o, text_fields[i].key, text_fields[i].max, &bad);
	if (bad || e.by == NULL)
		return PG_ERR_CORRUPT;
	v = json_object_get(o, "origin");
	if (v != NULL &&
	    (!json_is_string(v) ||
	        (strcmp(json_string_value(v), "directory") != 0 &&
	            strcmp(json_string_value(v), "local") != 0)))
		return PG_ERR_CORRUPT;
	if (v != NULL && strcmp(json_string_value(v), "directory") == 0)
		e.origin = LOCKOUT_ORIGIN_DIRECTORY;
	return out != NULL ? entry_copy(out, &e) : PG_OK;
}

/*
 * Reads USER's entry from file NAME: 1 present and valid (OUT filled if
 * non-NULL), 0 absent, <0 error.
 */
static int
entry_read(
    int dirfd, const char *name, const char *user, struct lockout_entry *out)
{
	json_t *o;
	int r;

	r = lockout_priv_load(dirfd, name, ENTRY_FILE_MAX, ENTRY_VERSION, &o);
	if (r <= 0)
		return r;
	r = entry_decode(o, user, out);
	json_decref(o);
	return r == PG_OK ? 1 : r;
}

int
lockout_lock(
    struct lockout_store *st, const struct lockout_entry *e, bool *already)
{
	char name[LOCKOUT_NAME_LEN], *json = NULL;
	time_t since;
	int dirfd, lk = -1, r;

	if (already != NULL)
		*already = false;
	if ((r = entry_valid(e)) != PG_OK ||
	    (r = lockout_priv_name('u', e->user, name)) != PG_OK)
		return r;
	since = e->since != 0 ? e->since : time(NULL);
	if ((r = entry_encode(e, since, &json)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		goto out_free;
	r = entry_read(dirfd, name, e->user, NULL);
	if (r != 0 && already != NULL)
		*already = true; /* a corrupt entry counted as locked too */
	if (r == 1) {
		r = PG_OK;
		goto out;
	}
	r = pg_write_file_atomic(dirfd, name, json, strlen(json), 0600);
out:
	lockout_priv_end_locked(st, lk);
out_free:
	free(json);
	return r;
}

int
lockout_unlock(struct lockout_store *st, const char *user, bool *was_locked)
{
	char name[LOCKOUT_NAME_LEN], fname[LOCKOUT_NAME_LEN];
	bool existed = false, dummy;
	int dirfd, lk = -1, r;

	if (was_locked != NULL)
		*was_locked = false;
	if ((r = lockout_priv_name('u', user, name)) != PG_OK ||
	    (r = lockout_priv_name('f', user, fname)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		return r;
	if ((r = lockout_priv_remove(dirfd, name, &existed)) != PG_OK)
		goto out;
	if (was_locked != NULL)
		*was_locked = existed;
	r = lockout_priv_remove(dirfd, fname, &dummy);
out:
	lockout_priv_end_locked(st, lk);
	return r;
}

/* Under the store lock: is a directory write of USER queued? 1/0/<0. */
static int
queued(int dirfd, const char *user)
{
	char name[LOCKOUT_NAME_LEN];
	struct stat sb;
	int r;

	if ((r = lockout_priv_name('p', user, name)) != PG_OK)
		return r;
	/* Whatever is there, damaged or not, counts: it may be a lockout
	 * the directory has not heard of. */
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : PG_ERR_IO;
}

int
lockout_sync_unlock(
    struct lockout_store *st, const char *user, bool live, bool *lifted)
{
	char name[LOCKOUT_NAME_LEN], fname[LOCKOUT_NAME_LEN];
	enum lockout_sync_local local;
	struct lockout_entry e = { 0 };
	bool existed = false, dummy;
	int dirfd, lk = -1, r, p;

	*lifted = false;
	if ((r = lockout_priv_name('u', user, name)) != PG_OK ||
	    (r = lockout_priv_name('f', user, fname)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin_locked(st, &dirfd, &lk)) != PG_OK)
		return r;
	/* A damaged entry counts as locked, and only an admin lifts it: the
	 * directory's word cannot vouch for what it was. */
	r = entry_read(dirfd, name, user, &e);
	if (r < 0) {
		r = r == PG_ERR_CORRUPT ? PG_OK : r;
		goto out;
	}
	local = r == 0                             ? LOCKOUT_SYNC_NOT_LOCKED
	    : e.origin == LOCKOUT_ORIGIN_DIRECTORY ? LOCKOUT_SYNC_LOCKED_COPY
	                                           : LOCKOUT_SYNC_LOCKED_HERE;
	lockout_entry_clear(&e);
	if ((p = queued(dirfd, user)) < 0) {
		r = p;
		goto out;
	}
	r = PG_OK;
	if (lockout_sync_decide(local, p == 1, false, live) !=
	    LOCKOUT_SYNC_UNLOCK)
		goto out;
	if ((r = lockout_priv_remove(dirfd, name, &existed)) == PG_OK)
		r = lockout_priv_remove(dirfd, fname, &dummy);
	*lifted = existed;
out:
	lockout_priv_end_locked(st, lk);
	return r;
}

int
lockout_check(
    struct lockout_store *st, const char *user, struct lockout_entry *out)
{
	char name[LOCKOUT_NAME_LEN];
	int dirfd, r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((r = lockout_priv_name('u', user, name)) != PG_OK)
		return r;
	if ((r = lockout_priv_begin(st, &dirfd)) != PG_OK)
		return r;
	r = entry_read(dirfd, name, user, out);
	lockout_priv_end(st);
	return r;
}

static int
read_rec(int dirfd, const char *name, const char *user, void *rec)
{
	return entry_read(dirfd, name, user, rec);
}

static void
free_recs(void *v, size_t n)
{
	lockout_entries_free(v, n);
}

static const struct lockout_priv_kind lockouts = {
	.kind = 'u',
	.size = sizeof(struct lockout_entry),
	.since_off = offsetof(struct lockout_entry, since),
	.user_off = offsetof(struct lockout_entry, user),
	.read = read_rec,
	.free = free_recs,
};

int
lockout_list(struct lockout_store *st, struct lockout_entry **out, size_t *n)
{
	void *v;
	int r = lockout_priv_list(st, &lockouts, &v, n);

	*out = v;
	return r;
}
