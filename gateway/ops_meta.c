/*
 * ops_meta.c - what the caller may see: getattr and readdir answer only
 * for what the policy lets them list, read or pass through, and a hidden
 * patient is ENOENT, never EACCES, so its name is not learned.  Also the
 * refusals of every change to what exists (unlink, rename, chmod...).
 *
 * Every answer is for one caller: the kernel is told to cache no names
 * and no attributes (timeouts 0, see main.c), otherwise one user's lookup
 * would show a patient folder to the next.
 *
 * Nor does an answer depend on what the caller may not see: a directory's
 * link count, size and times would count and date hidden patients, so
 * they are fixed; and a name that does not exist costs what a hidden one
 * costs (the same decision and the same audit record), so timing does
 * not tell them apart.
 */
#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/backing.h"
#include "gateway/gw.h"
#include "gateway/ops.h"
#include "gateway/views.h"

static const char *
rel_of(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* What a caller sees of ST: read-only, the store's owner; a directory
 * with one link (the count of subdirectories is unknown, as find(1)
 * takes it), one block, and the gateway's start as its times. */
static void
present(struct stat *st)
{
	st->st_mode =
	    (st->st_mode & S_IFMT) | (S_ISDIR(st->st_mode) ? 0555 : 0444);
	st->st_nlink = 1;
	if (!S_ISDIR(st->st_mode))
		return;
	st->st_size = 4096;
	st->st_blocks = 8;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec =
	    gw_global->started;
	st->st_atim.tv_nsec = st->st_mtim.tv_nsec = st->st_ctim.tv_nsec = 0;
}

/* May C's user see REL (of type ST)?  With C begun; *DEC is the last
 * decision asked. */
static bool
visible(struct gw_call *c, const char *rel, const struct stat *st,
    struct policy_decision *dec)
{
	bool dir = S_ISDIR(st->st_mode);

	if (rel[0] == '\0')
		return true;
	if (gw_user_decide(c->g, c->u, c->pol, POLICY_LIST, rel, dir, false,
	        dec) == POLICY_ALLOW)
		return true;
	if (dir)
		return dec->verdict == POLICY_DENY && dec->traverse;
	return gw_user_decide(c->g, c->u, c->pol, POLICY_READ, rel, false,
	           false, dec) == POLICY_ALLOW;
}

/* Does U hold REL open?  (fstat of an upload the policy hides: the
 * kernel asks by path.)  With U->mu held. */
static bool
holds_open(const struct gw_user *u, const char *rel)
{
	const struct gw_handle *h;

	for (h = u->open; h != NULL; h = h->next)
		if (strcmp(h->path, rel) == 0)
			return true;
	return false;
}

/* A path that exists but is hidden from the caller: audited, since
 * asking for a patient by id is how one probes for patients. */
static void
audit_hidden(
    struct gw_call *c, const char *rel, const struct policy_decision *dec)
{
	struct gw_req rq;
	char rule[POLICY_PATH_MAX + 16];

	memset(&rq, 0, sizeof(rq));
	rq.uid = c->uid;
	rq.pid = c->pid;
	rq.user = c->u->name;
	rq.path = rel;
	rq.patient = dec->patient;
	snprintf(rule, sizeof(rule), "%s:%u",
	    dec->rule_file ? dec->rule_file : "?", dec->rule_line);
	gw_audit(c->g, &rq, "gateway.lookup", "deny", rule, dec->reason, -1);
}

/* A name that does not exist: decided and, when the caller could not see
 * it had it existed, audited as a hidden one is (a probe for a patient
 * id is one, found or not). */
static int
missing(struct gw *g, const char *rel)
{
	struct policy_decision dec;
	struct stat st;
	struct gw_call c;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG;
	if (gw_call_begin(&c, g, false) == 0 && !visible(&c, rel, &st, &dec))
		audit_hidden(&c, rel, &dec);
	gw_call_end(&c);
	return -ENOENT;
}

int
gw_op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct gw *g = gw_global;
	struct policy_decision dec;
	const char *rel;
	struct gw_call c;
	int r;

	/* An open file's getattr (fstat, and the lookup after a create):
	 * the handle proves the caller opened it. */
	if (fi != NULL && fi->fh != 0 &&
	    *(uint32_t *)(uintptr_t)fi->fh == GW_HANDLE_FILE)
		return gw_handle_fstat(
		    (struct gw_handle *)(uintptr_t)fi->fh, st);
	if (path == NULL)
		return -ENOENT;
	rel = rel_of(path);
	if ((r = backing_stat(g->store, rel, st)) == -ENOENT && rel[0] != '\0')
		return missing(g, rel);
	if (r != 0)
		return r;
	/* The root always exists (the mount must answer); it lists empty
	 * for whoever may see nothing. */
	if (rel[0] == '\0') {
		present(st);
		return 0;
	}
	r = gw_call_begin(&c, g, false);
	if (r == 0 && !visible(&c, rel, st, &dec) && !holds_open(c.u, rel)) {
		audit_hidden(&c, rel, &dec);
		r = -ENOENT;
	}
	gw_call_end(&c);
	if (r == 0)
		present(st);
	return r;
}

static int
list_dir(struct gw_call *c, const char *rel, void *buf, fuse_fill_dir_t fill)
{
	char child[POLICY_PATH_MAX];
	struct policy_decision dec;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r, n;

	if ((r = backing_opendir(c->g->store, rel, &d)) != 0)
		return r;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	while ((de = readdir(d)) != NULL) {
		if (backing_entry_stat(c->g->store, d, de->d_name, &st) != 0)
			continue;
		n = snprintf(child, sizeof(child), "%s%s%s", rel,
		    rel[0] ? "/" : "", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(child))
			continue;
		if (!visible(c, child, &st, &dec))
			continue;
		present(&st);
		if (fill(buf, de->d_name, &st, 0, 0) != 0)
			break;
	}
	closedir(d);
	return 0;
}

/* opendir keeps the directory's path for readdir (which, with
 * nullpath_ok, gets none); the decision is made at readdir. */
int
gw_op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct gw_dirh *d = malloc(sizeof(*d));

	if (d == NULL ||
	    (d->rel = strdup(path != NULL ? rel_of(path) : "")) == NULL) {
		free(d);
		return -ENOMEM;
	}
	d->magic = GW_HANDLE_DIR;
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

int
gw_op_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct gw_dirh *d = (struct gw_dirh *)(uintptr_t)fi->fh;

	(void)path;
	if (d != NULL)
		free(d->rel);
	free(d);
	fi->fh = 0;
	return 0;
}

int
gw_op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct gw *g = gw_global;
	struct gw_dirh *dh = (struct gw_dirh *)(uintptr_t)fi->fh;
	const char *rel = dh != NULL ? dh->rel : NULL;
	struct policy_decision dec;
	struct gw_call c;
	int r;

	(void)path;
	(void)off;
	(void)flags;
	if (rel == NULL)
		return -EBADF;
	r = gw_call_begin(&c, g, false);
	if (r != 0) {
		/* Nobody we can serve: the root lists empty, nothing else
		 * exists. */
		if (rel[0] == '\0' && c.u != NULL && !c.u->known) {
			fill(buf, ".", NULL, 0, 0);
			fill(buf, "..", NULL, 0, 0);
			r = 0;
		}
		gw_call_end(&c);
		return r;
	}
	if (rel[0] != '\0' &&
	    gw_user_decide(g, c.u, c.pol, POLICY_LIST, rel, true, false,
	        &dec) != POLICY_ALLOW) {
		gw_call_end(&c);
		return dec.traverse ? -EACCES : -ENOENT;
	}
	r = list_dir(&c, rel, buf, fill);
	gw_call_end(&c);
	return r;
}

int
gw_op_statfs(const char *path, struct statvfs *sv)
{
	int r;

	(void)path;
	/* The store's inode counts would count every patient's files. */
	if ((r = backing_statvfs(gw_global->store, sv)) == 0)
		sv->f_files = sv->f_ffree = sv->f_favail = 0;
	return r;
}

/* Refuses a change to the store, audited with who asked. */
static int
refuse_change(const char *what, const char *path)
{
	struct gw *g = gw_global;
	struct gw_call c;
	struct gw_req rq;
	char reason[128];

	gw_call_begin(&c, g, false);
	memset(&rq, 0, sizeof(rq));
	rq.uid = c.uid;
	rq.pid = c.pid;
	rq.user = c.u != NULL && c.u->known ? c.u->name : NULL;
	rq.path = path != NULL ? rel_of(path) : NULL;
	snprintf(reason, sizeof(reason),
	    "%s: the gateway never changes what exists", what);
	gw_audit(g, &rq, "gateway.change", "deny", "gateway", reason, -1);
	gw_call_end(&c);
	return -EACCES;
}

int
gw_op_unlink(const char *path)
{
	return refuse_change("unlink", path);
}

int
gw_op_rmdir(const char *path)
{
	return refuse_change("rmdir", path);
}

int
gw_op_mkdir(const char *path, mode_t mode)
{
	(void)mode;
	return refuse_change("mkdir", path);
}

int
gw_op_mknod(const char *path, mode_t mode, dev_t dev)
{
	(void)mode;
	(void)dev;
	return refuse_change("mknod", path);
}

int
gw_op_symlink(const char *target, const char *path)
{
	(void)target;
	return refuse_change("symlink", path);
}

int
gw_op_link(const char *from, const char *to)
{
	(void)to;
	return refuse_change("link", from);
}

int
gw_op_rename(const char *from, const char *to, unsigned int flags)
{
	(void)to;
	(void)flags;
	return refuse_change("rename", from);
}

int
gw_op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	return refuse_change("chmod", path);
}

int
gw_op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	(void)fi;
	return refuse_change("chown", path);
}

int
gw_op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)size;
	(void)fi;
	return refuse_change("truncate", path);
}

int
gw_op_utimens(
    const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	(void)fi;
	return refuse_change("utimens", path);
}

int
gw_op_setxattr(const char *path, const char *name, const char *value,
    size_t size, int flags)
{
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	return refuse_change("setxattr", path);
}

int
gw_op_removexattr(const char *path, const char *name)
{
	(void)name;
	return refuse_change("removexattr", path);
}
