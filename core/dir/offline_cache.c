/*
 * offline_cache.c - the offline role cache: "<user>.groups" files of a few
 * "key=value" lines, group names hex-encoded so that no directory value
 * can break a line, parsed strictly (fixed order, bounded counts).  See
 * offline_cache.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"
#include "core/state/state.h"
#include "core/dir/dir.h"

#define MAGIC       "photoguard-offline-cache 1"
#define FUTURE_SKEW 60
#define SYNC_STAMP                                                             \
	".locks-listed" /* seconds an entry may claim to be from the future */

/* Longest user with an entry: 64 bytes, the limit the entries' names have
 * always had (the TOTP store's, whose spelling of names they share). */
#define USER_MAX 64

/* Appends "KEY=" and S hex-encoded and "\n" to BUF at *O. */
static int
put_hex(char *buf, size_t cap, size_t *o, const char *key, const char *s)
{
	size_t klen = strlen(key), n = strlen(s);

	/* Room for the NUL pg_hex_encode() writes where the newline goes. */
	if (n == 0 || n > DIR_NAME_MAX || *o + klen + 2 * n + 2 > cap)
		return PG_ERR_TOOBIG;
	memcpy(buf + *o, key, klen);
	*o += klen;
	if (pg_hex_encode(s, n, buf + *o, cap - *o) != PG_OK)
		return PG_ERR_TOOBIG;
	*o += 2 * n;
	buf[(*o)++] = '\n';
	return PG_OK;
}

/* The file text for U, in a new buffer *OUT of *LEN bytes. */
static int
encode(const struct dir_user *u, time_t now, char **out, size_t *len)
{
	size_t cap = OFFLINE_CACHE_MAX_SIZE, o;
	char *buf;
	size_t i;
	int n, r = PG_OK;

	*out = NULL;
	if (u->ngroups > DIR_MAX_GROUPS)
		return PG_ERR_TOOBIG;
	if ((buf = malloc(cap)) == NULL)
		return PG_ERR_NOMEM;
	n = snprintf(buf, cap, "%s\nfetched=%lld\nlocked=%d\n", MAGIC,
	    (long long)now, u->locked ? 1 : 0);
	o = (size_t)n;
	if ((r = put_hex(buf, cap, &o, "user=", u->name)) != PG_OK)
		goto out;
	for (i = 0; i < u->ngroups && r == PG_OK; i++)
		r = put_hex(buf, cap, &o, "group=", u->groups[i]);
	if (r != PG_OK)
		goto out;
	*out = buf;
	*len = o;
	buf = NULL; /* transferred */
out:
	free(buf);
	return r;
}

int
offline_cache_put(const char *dir, const struct dir_user *u, time_t now)
{
	char name[PG_NAME_SIZE(USER_MAX)];
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	if (dir == NULL || u == NULL || u->name == NULL || now < 0)
		return PG_ERR_INVAL;
	if ((r = pg_name_encode(PG_NAME_PCT, "", u->name, USER_MAX, ".groups",
	         name, sizeof(name))) != PG_OK)
		return r;
	if ((r = encode(u, now, &buf, &len)) != PG_OK)
		return r;
	if ((fd = pg_open_private_dir(dir, 1)) < 0) {
		r = fd;
		goto out;
	}
	r = pg_write_file_atomic(fd, name, buf, len, 0600);
	close(fd);
out:
	free(buf);
	return r;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes hex S in place; refuses odd lengths, NULs and over-long names. */
static int
decode_hex(char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2 != 0 || n / 2 > DIR_NAME_MAX)
		return PG_ERR_CORRUPT;
	for (i = 0; i < n / 2; i++) {
		int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return PG_ERR_CORRUPT;
		s[i] = (char)(hi << 4 | lo);
	}
	s[n / 2] = '\0';
	return PG_OK;
}

/* Parses BUF (USER's entry) into a new user *OUT. */
static int
parse(char *buf, const char *user, struct dir_user **out)
{
	struct dir_strv groups = { NULL, 0, 0, DIR_MAX_GROUPS };
	struct dir_user *u = NULL;
	char *p = buf, *v;
	long long fetched, locked;
	int r = PG_ERR_CORRUPT;

	*out = NULL;
	if (pg_take_line(&p, MAGIC) == NULL ||
	    pg_parse_num(pg_take_line(&p, "fetched="), 1LL << 40, &fetched) !=
	        PG_OK ||
	    pg_parse_num(pg_take_line(&p, "locked="), 1, &locked) != PG_OK ||
	    (v = pg_take_line(&p, "user=")) == NULL || decode_hex(v) != PG_OK ||
	    strcmp(v, user) != 0)
		goto out;
	while (*p != '\0') {
		if ((v = pg_take_line(&p, "group=")) == NULL ||
		    decode_hex(v) != PG_OK)
			goto out;
		if ((r = dir_strv_push(&groups, v, strlen(v))) != PG_OK)
			goto out;
		r = PG_ERR_CORRUPT;
	}
	if ((u = dir_user_new(user, strlen(user))) == NULL) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	dir_strv_sort_uniq(&groups);
	dir_strv_free_array(u->groups);
	u->groups = NULL;
	if ((r = dir_strv_take(&groups, &u->groups, &u->ngroups)) != PG_OK)
		goto out;
	u->locked = locked != 0;
	u->fetched = (time_t)fetched;
	*out = u;
	u = NULL; /* transferred */
out:
	dir_strv_free(&groups);
	dir_user_free(u);
	return r;
}

/* USER's entry in DIR, whatever its age, in *OUT. */
static int
read_entry(const char *dir, const char *user, struct dir_user **out)
{
	char name[PG_NAME_SIZE(USER_MAX)];
	struct dir_user *u = NULL;
	char *buf = NULL;
	size_t len;
	int fd, r;

	*out = NULL;
	if ((r = pg_name_encode(PG_NAME_PCT, "", user, USER_MAX, ".groups",
	         name, sizeof(name))) != PG_OK)
		return r == PG_ERR_TOOBIG ? PG_ERR_NOTFOUND : r;
	if ((fd = pg_open_private_dir(dir, 0)) < 0)
		return fd;
	r = pg_read_file_at(
	    fd, name, OFFLINE_CACHE_MAX_SIZE, PG_RF_PRIVATE, &buf, &len);
	close(fd);
	if (r != PG_OK)
		return r;
	if (strlen(buf) != len)
		r = PG_ERR_CORRUPT;
	else
		r = parse(buf, user, &u);
	free(buf);
	if (r != PG_OK || u == NULL)
		return r != PG_OK ? r : PG_ERR_INTERNAL;
	*out = u;
	return PG_OK;
}

int
offline_cache_mark_locked(const char *dir, const char *user)
{
	struct dir_user *u = NULL;
	int r;

	if (dir == NULL || user == NULL)
		return PG_ERR_INVAL;
	r = read_entry(dir, user, &u);
	if (r == PG_ERR_NOTFOUND)
		return PG_OK;
	if (r != PG_OK)
		return r;
	if (!u->locked) {
		u->locked = true;
		r = offline_cache_put(dir, u, u->fetched);
	}
	dir_user_free(u);
	return r;
}

int
offline_cache_get(const char *dir, const char *user, time_t now, int max_age_s,
    struct dir_user **out, long long *age_out)
{
	struct dir_user *u = NULL;
	long long age;
	int r;

	*out = NULL;
	if (age_out != NULL)
		*age_out = -1;
	if (dir == NULL || user == NULL || max_age_s < 0)
		return PG_ERR_INVAL;
	if ((r = read_entry(dir, user, &u)) != PG_OK)
		return r;
	age = (long long)now - (long long)u->fetched;
	if (age > max_age_s || age < -FUTURE_SKEW) {
		if (age_out != NULL)
			*age_out = age;
		dir_user_free(u);
		return PG_ERR_NOTFOUND;
	}
	if (age_out != NULL)
		*age_out = age;
	*out = u;
	return PG_OK;
}

/* 1 if the stamp in FD says the locks were listed recently, else 0. */
static int
synced_recently(int fd, time_t now)
{
	struct stat sb;

	if (fstatat(fd, SYNC_STAMP, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	return S_ISREG(sb.st_mode) && sb.st_mtime <= now &&
	    now - sb.st_mtime < OFFLINE_CACHE_SYNC_S;
}

bool
offline_cache_sync_due(const char *dir, time_t now)
{
	int fd, recent;

	if (dir == NULL || (fd = pg_open_private_dir(dir, 1)) < 0)
		return true;
	recent = synced_recently(fd, now);
	close(fd);
	return !recent;
}

int
offline_cache_sync_locks(const char *dir, struct dir *d, time_t now)
{
	char **users = NULL, **since = NULL;
	size_t n = 0, i;
	int fd, r, first = PG_OK;

	if (dir == NULL || d == NULL)
		return PG_ERR_INVAL;
	if ((fd = pg_open_private_dir(dir, 1)) < 0)
		return fd;
	if (synced_recently(fd, now)) {
		close(fd);
		return PG_OK;
	}
	/* Stamped first, so that logins at the same moment do not all ask. */
	r = pg_write_file_atomic(fd, SYNC_STAMP, "", 0, 0600);
	close(fd);
	if (r != PG_OK)
		return r;
	if ((r = dir_list_locked(d, &users, &since, &n)) != PG_OK)
		return r;
	for (i = 0; i < n; i++) {
		r = offline_cache_mark_locked(dir, users[i]);
		if (r != PG_OK && r != PG_ERR_INVAL && first == PG_OK)
			first = r;
	}
	dir_locked_free(users, since);
	return first;
}
