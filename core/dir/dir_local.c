/*
 * dir_local.c - the local backend: groups from the system's group
 * database (getgrouplist/getgrgid_r, so NSS modules apply), care teams from
 * the care-team file, re-read whenever the file changes.  A malformed file
 * makes every lookup fail until it is fixed.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dir/dir_internal.h"
#include "base/base.h"
#include "core/state/state.h"

#define NSS_BUF_MAX (1024 * 1024)

struct dir_local {
	pthread_mutex_t lock;
	char *ct_path;     /* NULL: nobody is on any care team */
	struct stat ct_st; /* what the loaded state was read from */
	bool ct_loaded;
	struct dir_careteam *ct;
	int ct_rc; /* result of the last load */
	char ct_err[DIR_ERR_MAX];
};

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* (Re)loads the care-team file if it changed; call with the lock held. */
static int
load_careteams(struct dir_local *l)
{
	struct stat st = { 0 };
	char *buf = NULL;
	size_t len = 0;
	struct dir_careteam *ct = NULL;
	int rc;

	if (l->ct_path == NULL)
		return PG_OK;
	if (stat(l->ct_path, &st) != 0) {
		rc = PG_ERR_IO;
		snprintf(l->ct_err, sizeof(l->ct_err), "%s: %s", l->ct_path,
		    strerror(errno));
		goto out;
	}
	if (l->ct_loaded && same_file(&st, &l->ct_st))
		return l->ct_rc;
	rc = pg_read_file(l->ct_path, DIR_CARETEAM_FILE_MAX,
	    PG_RF_PRIVATE | PG_RF_SHARED, &buf, &len);
	if (rc != PG_OK) {
		snprintf(l->ct_err, sizeof(l->ct_err), "%s: %s", l->ct_path,
		    pg_strerror(rc));
		goto out;
	}
	rc = dir_careteam_parse(
	    l->ct_path, buf, len, &ct, l->ct_err, sizeof(l->ct_err));
	if (rc != PG_OK)
		goto out;
	dir_careteam_free(l->ct);
	l->ct = ct;
	l->ct_err[0] = '\0';
	l->ct_st = st;
	l->ct_loaded = true;
out:
	free(buf);
	if (rc != PG_OK) {
		/* Fail closed until the file is fixed: drop the old teams. */
		dir_careteam_free(l->ct);
		l->ct = NULL;
		l->ct_st = st;
		l->ct_loaded = rc == PG_ERR_PARSE || rc == PG_ERR_TOOBIG;
	}
	l->ct_rc = rc;
	return rc;
}

int
dir_local_open(const struct pg_config *cfg, struct dir_local **out, char *err,
    size_t errlen)
{
	struct dir_local *l;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PG_ERR_NOMEM;
	pthread_mutex_init(&l->lock, NULL);
	if (cfg->dir_care_team_file != NULL) {
		l->ct_path = strdup(cfg->dir_care_team_file);
		if (l->ct_path == NULL) {
			dir_local_free(l);
			return PG_ERR_NOMEM;
		}
	}
	/* Load now so a broken file is reported at once; lookups retry. */
	rc = load_careteams(l);
	if (rc != PG_OK)
		snprintf(err, errlen, "%s", l->ct_err);
	*out = l;
	return PG_OK;
}

void
dir_local_free(struct dir_local *l)
{
	if (l == NULL)
		return;
	dir_careteam_free(l->ct);
	free(l->ct_path);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Resolves NAME in passwd; PG_ERR_NOTFOUND unless the name is exact. */
static int
get_passwd(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	size_t sz = 4096;
	char *buf = NULL;
	int e, rc;

	for (;;) {
		char *nb = realloc(buf, sz);

		if (nb == NULL) {
			rc = PG_ERR_NOMEM;
			goto out;
		}
		buf = nb;
		e = getpwnam_r(name, &pw, buf, sz, &res);
		if (e != ERANGE || sz >= NSS_BUF_MAX)
			break;
		sz *= 2;
	}
	if (e != 0 && e != ENOENT && e != ESRCH) {
		snprintf(err, errlen, "passwd lookup: %s", strerror(e));
		rc = PG_ERR_DIR_UNAVAIL;
	} else if (res == NULL || strcmp(res->pw_name, name) != 0) {
		rc = PG_ERR_NOTFOUND;
	} else {
		*gid = res->pw_gid;
		rc = PG_OK;
	}
out:
	free(buf);
	return rc;
}

/* Adds the name of group GID to SV; a gid without a name is skipped. */
static int
add_group(gid_t gid, struct dir_strv *sv, char **buf, size_t *sz)
{
	struct group gr, *res = NULL;
	int e;

	for (;;) {
		e = getgrgid_r(gid, &gr, *buf, *sz, &res);
		if (e != ERANGE || *sz >= NSS_BUF_MAX)
			break;
		char *nb = realloc(*buf, *sz * 2);
		if (nb == NULL)
			return PG_ERR_NOMEM;
		*buf = nb;
		*sz *= 2;
	}
	if (e != 0 && e != ENOENT && e != ESRCH)
		return PG_ERR_DIR_UNAVAIL;
	if (res == NULL)
		return PG_OK;
	return dir_strv_push(sv, res->gr_name, strlen(res->gr_name));
}

static int
get_groups(const char *name, gid_t gid, struct dir_strv *sv)
{
	gid_t *gids = NULL;
	int n = 64, i, rc = PG_OK;
	size_t sz = 4096;
	char *buf = malloc(sz);

	for (;;) {
		gid_t *ng = reallocarray(gids, (size_t)n, sizeof(*gids));
		int want = n;

		if (ng == NULL || buf == NULL) {
			rc = PG_ERR_NOMEM;
			goto out;
		}
		gids = ng;
		if (getgrouplist(name, gid, gids, &want) >= 0) {
			n = want;
			break;
		}
		if (want > DIR_MAX_GROUPS) {
			rc = PG_ERR_DIR_BADANSWER;
			goto out;
		}
		n = want > n ? want : n * 2;
	}
	for (i = 0; i < n && rc == PG_OK; i++)
		rc = add_group(gids[i], sv, &buf, &sz);
out:
	free(gids);
	free(buf);
	return rc == PG_ERR_TOOBIG ? PG_ERR_DIR_BADANSWER : rc;
}

int
dir_local_lookup(struct dir_local *l, const char *name, struct dir_user **out,
    char *err, size_t errlen)
{
	struct dir_strv groups = { .max = DIR_MAX_GROUPS };
	struct dir_strv pats = { .max = DIR_MAX_PATIENTS };
	struct dir_user *u = NULL;
	gid_t gid;
	int rc;

	*out = NULL;
	rc = get_passwd(name, &gid, err, errlen);
	if (rc != PG_OK)
		goto out;
	rc = get_groups(name, gid, &groups);
	if (rc != PG_OK) {
		snprintf(
		    err, errlen, "groups of %s: %s", name, pg_strerror(rc));
		goto out;
	}
	pthread_mutex_lock(&l->lock);
	rc = load_careteams(l);
	if (rc != PG_OK)
		snprintf(err, errlen, "%s", l->ct_err);
	else if (l->ct != NULL)
		rc = dir_careteam_patients(l->ct, name, &pats);
	pthread_mutex_unlock(&l->lock);
	if (rc != PG_OK)
		goto out;
	u = dir_user_new(name, strlen(name));
	if (u == NULL) {
		rc = PG_ERR_NOMEM;
		goto out;
	}
	dir_strv_sort_uniq(&groups);
	dir_strv_sort_uniq(&pats);
	dir_strv_free_array(u->groups);
	dir_strv_free_array(u->patients);
	u->groups = u->patients = NULL;
	if (dir_strv_take(&groups, &u->groups, &u->ngroups) != PG_OK ||
	    dir_strv_take(&pats, &u->patients, &u->npatients) != PG_OK) {
		rc = PG_ERR_NOMEM;
		goto out;
	}
	u->fetched = time(NULL);
	*out = u;
	u = NULL; /* transferred */
out:
	dir_user_free(u);
	dir_strv_free(&groups);
	dir_strv_free(&pats);
	return rc;
}
