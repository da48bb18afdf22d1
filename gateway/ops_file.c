/*
 * ops_file.c - opening, reading, creating and writing files.  An open is
 * charged in full before it succeeds and a read never returns a byte past
 * what was paid for, so whatever the kernel caches or maps can only be
 * bytes of a file this user opened (docs/gateway.md, "Exact accounting").
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/base.h"
#include "gateway/backing.h"
#include "gateway/budget.h"
#include "gateway/gw.h"
#include "gateway/limiter.h"
#include "gateway/ops.h"
#include "gateway/views.h"

#define RULE_MAX (POLICY_PATH_MAX + 96)

static const char *
rel_of(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

/* Audits a refused open or create and returns -EACCES. */
static int
deny(struct gw_call *c, const char *event, const char *rel, const char *patient,
    const char *rule, const char *reason)
{
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = c->uid;
	rq.pid = c->pid;
	rq.user = c->u != NULL && c->u->known ? c->u->name : NULL;
	rq.path = rel;
	rq.patient = patient;
	gw_audit(c->g, &rq, event, "deny", rule, reason, -1);
	return -EACCES;
}

static void
rule_of(const struct policy_decision *d, char *buf, size_t len)
{
	snprintf(
	    buf, len, "%s:%u", d->rule_file ? d->rule_file : "?", d->rule_line);
}

static void
limit_rule(const struct policy_limit *l, char *buf, size_t len)
{
	char desc[96];

	snprintf(buf, len, "%s:%u %s", l->rule_file ? l->rule_file : "?",
	    l->rule_line, limiter_describe(l, desc, sizeof(desc)));
}

/* The largest value of each metric over U's lockout windows. */
static void
lock_counts(struct gw_user *u, unsigned long long v[3])
{
	struct limiter_usage us[LIMITER_MAX_LIMITS];
	size_t i, n;

	v[0] = v[1] = v[2] = 0;
	n = limiter_usage(u->lim, gw_now_ms(), us, LIMITER_MAX_LIMITS);
	for (i = 0; i < n && i < LIMITER_MAX_LIMITS; i++)
		if (us[i].limit.kind == POLICY_LIMIT_LOCKOUT &&
		    us[i].value > v[us[i].limit.metric])
			v[us[i].limit.metric] = us[i].value;
}

/* Locks C's user for RULE/REASON and refuses (audited). */
static int
lock_and_deny(struct gw_call *c, const char *rel, const char *patient,
    const char *rule, const char *reason)
{
	unsigned long long v[3];

	lock_counts(c->u, v);
	gw_lock_user(c->g, c->u, rule, reason, v[0], v[1], v[2]);
	return deny(c, "gateway.open", rel, patient, rule, reason);
}

/*
 * Charges one open (see the top of this file); 0 or -EACCES.  With
 * [lockout] budget = directory the clinic's budget decides first, so
 * that this server's windows count as served only what the clinic
 * served; they still count every attempt for the thresholds.
 */
static int
charge(struct gw_call *c, const char *rel, const char *patient, uint64_t bytes,
    bool serve)
{
	struct limiter_hit hit, lh;
	char rule[RULE_MAX], reason[384], why[256] = "";
	enum limiter_result br = LIMITER_OK, lr;
	bool clinic = false;

	memset(&hit, 0, sizeof(hit));
	if (c->u->bud != NULL)
		br = budget_charge(c->u->bud, c->u->name, budget_now_ms(), 1,
		    bytes, patient, serve, &hit, why, sizeof(why));
	if (br == LIMITER_ERROR) {
		snprintf(reason, sizeof(reason),
		    "clinic budget not available: %s: refused", why);
		return deny(c, "gateway.limit", rel, patient,
		    "directory.budget", reason);
	}
	lr = limiter_charge(c->u->lim, gw_now_ms(), bytes, patient,
	    serve && br == LIMITER_OK, &lh);
	if (br == LIMITER_LOCKOUT ||
	    (br == LIMITER_REFUSE && lr != LIMITER_LOCKOUT))
		clinic = true;
	else {
		br = lr;
		hit = lh;
	}
	if (br == LIMITER_OK)
		return 0;
	if (br == LIMITER_ERROR)
		return deny(c, "gateway.limit", rel, patient, "gateway",
		    "usage state over its cap: refused");
	limit_rule(&hit.limit, rule, sizeof(rule));
	snprintf(reason, sizeof(reason), "%s%s: %llu over %llu",
	    br == LIMITER_LOCKOUT ? "bulk access, account locked"
	                          : "over the limit",
	    clinic ? " (clinic-wide)" : "", (unsigned long long)hit.value,
	    (unsigned long long)hit.limit.max);
	if (br == LIMITER_LOCKOUT)
		return lock_and_deny(c, rel, patient, rule, reason);
	return deny(c, "gateway.limit", rel, patient, rule, reason);
}

/* Decides and charges ACTION on REL for C (begun).  0 or -EACCES. */
static int
decide_and_charge(struct gw_call *c, enum policy_action action, const char *rel,
    uint64_t bytes, bool exists, struct policy_decision *dec, char *rule,
    size_t rulelen)
{
	int r;

	gw_user_decide(c->g, c->u, c->pol, action, rel, false, true, dec);
	rule_of(dec, rule, rulelen);
	if (dec->decoy)
		return lock_and_deny(c, rel, dec->patient, rule,
		    "decoy patient opened: account locked");
	r = charge(c, rel, dec->patient, bytes,
	    dec->verdict == POLICY_ALLOW &&
	        !(exists && action == POLICY_WRITE));
	if (r != 0)
		return r;
	if (dec->verdict != POLICY_ALLOW)
		return deny(
		    c, "gateway.open", rel, dec->patient, rule, dec->reason);
	if (exists && action == POLICY_WRITE)
		return deny(c, "gateway.open", rel, dec->patient, "gateway",
		    "existing files are never changed through the gateway");
	return 0;
}

static struct gw_handle *
handle_new(struct gw_call *c, const char *rel, struct backing_file *bf,
    uint64_t charged, const struct policy_decision *dec, const char *rule)
{
	struct gw_handle *h = calloc(1, sizeof(*h));

	if (h == NULL || (h->path = strdup(rel)) == NULL) {
		free(h);
		return NULL;
	}
	h->magic = GW_HANDLE_FILE;
	h->bf = bf;
	h->u = c->u;
	h->conn =
	    gw_req_context() != NULL ? gw_req_context()->private_data : NULL;
	h->charged = charged;
	h->pid = c->pid;
	gw_comm_of(h->pid, h->comm, sizeof(h->comm));
	atomic_init(&h->bytes, 0);
	memcpy(h->patient, dec->patient, sizeof(h->patient));
	snprintf(h->rule, sizeof(h->rule), "%s", rule);
	h->next = c->u->open;
	if (c->u->open != NULL)
		c->u->open->prev = h;
	c->u->open = h;
	c->u->nopen++;
	return h;
}

/* With H's user's mutex held. */
static void
handle_unlink(struct gw_handle *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		h->u->open = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->u->nopen--;
}

static void
handle_free(struct gw_handle *h)
{
	backing_close(h->bf);
	free(h->path);
	free(h);
}

/* The allow record; if it cannot be written the open is undone. */
static int
finish_open(struct gw_call *c, struct gw_handle *h, const char *event,
    struct fuse_file_info *fi)
{
	char charged[64];
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = c->uid;
	rq.pid = c->pid;
	rq.user = c->u->name;
	rq.path = h->path;
	rq.patient = h->patient;
	rq.process = h->comm; /* read once, at handle_new() */
	pthread_mutex_unlock(&c->u->mu);
	c->held = false;
	/* The bytes field is for bytes delivered, at release (what
	 * `photoguard audit report` adds up); the charge goes in words. */
	snprintf(charged, sizeof(charged), "charged %llu bytes",
	    (unsigned long long)h->charged);
	if (gw_audit(c->g, &rq, event, "allow", h->rule, charged, -1) != 0) {
		syslog(LOG_ERR,
		    "photoguard-gateway: audit log unwritable: "
		    "refusing opens");
		pthread_mutex_lock(&c->u->mu);
		handle_unlink(h);
		pthread_mutex_unlock(&c->u->mu);
		handle_free(h);
		return -EACCES;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	/* keep_cache stays 0: auto_cache (gw_op_init) keeps the cached
	 * pages of a file opened unchanged, and created files have none. */
	return 0;
}

static int
gw_op_open(const char *path, struct fuse_file_info *fi)
{
	const char *rel = rel_of(path);
	int acc = fi->flags & O_ACCMODE;
	enum policy_action action = (acc == O_RDONLY && !(fi->flags & O_TRUNC))
	    ? POLICY_READ
	    : POLICY_WRITE;
	struct backing_file *bf = NULL;
	struct policy_decision dec;
	char rule[RULE_MAX];
	struct gw_handle *h;
	struct gw_call c;
	struct stat st;
	int r;

	if ((r = gw_call_begin(&c, gw_global, true)) != 0) {
		deny(&c, "gateway.open", rel, NULL, "gateway", c.why);
		goto out;
	}
	r = action == POLICY_READ
	    ? backing_open_read(gw_global->store, rel, &bf, &st)
	    : backing_stat(gw_global->store, rel, &st);
	if (r != 0)
		goto out;
	r = decide_and_charge(&c, action, rel, (uint64_t)st.st_size, true, &dec,
	    rule, sizeof(rule));
	if (r != 0)
		goto out;
	r = -ENOMEM;
	if ((h = handle_new(&c, rel, bf, (uint64_t)st.st_size, &dec, rule)) ==
	    NULL)
		goto out;
	bf = NULL; /* transferred */
	h->size = st.st_size;
	h->mtime = st.st_mtim;
	/* A locked-out user holds it open: keep its pages out of the
	 * cache (held.c). */
	if (gw_held_by_locked(gw_global, rel))
		fi->direct_io = 1;
	r = finish_open(&c, h, "gateway.open", fi);
out:
	backing_close(bf);
	gw_call_end(&c);
	return r;
}

static int
gw_op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	const char *rel = rel_of(path);
	struct backing_file *bf = NULL;
	struct policy_decision dec;
	char rule[RULE_MAX], why[128];
	struct gw_handle *h;
	struct gw_call c;
	struct stat st;
	int r;

	if ((r = gw_call_begin(&c, gw_global, true)) != 0) {
		deny(&c, "gateway.create", rel, NULL, "gateway", c.why);
		goto out;
	}
	if (!S_ISREG(mode)) {
		r = deny(&c, "gateway.create", rel, NULL, "gateway",
		    "only regular files are created");
		goto out;
	}
	r = decide_and_charge(
	    &c, POLICY_WRITE, rel, 0, false, &dec, rule, sizeof(rule));
	if (r != 0)
		goto out;
	if ((r = backing_create(gw_global->store, rel, &bf, &st)) != 0) {
		snprintf(why, sizeof(why), "create: %s", strerror(-r));
		deny(&c, "gateway.create", rel, dec.patient, rule, why);
		goto out;
	}
	r = -ENOMEM;
	if ((h = handle_new(&c, rel, bf, 0, &dec, rule)) == NULL)
		goto out;
	bf = NULL; /* transferred */
	h->writable = true;
	r = finish_open(&c, h, "gateway.create", fi);
out:
	backing_close(bf);
	gw_call_end(&c);
	return r;
}

static int
gw_op_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct gw_handle *h = (struct gw_handle *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)path;
	if (atomic_load(&h->u->locked))
		return -EACCES;
	if (h->writable)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= h->charged)
		return 0;
	if (size > h->charged - (uint64_t)off)
		size = (size_t)(h->charged - (uint64_t)off);
	n = backing_pread(h->bf, buf, size, off);
	if (n > 0) {
		atomic_fetch_add(&h->bytes, (uint64_t)n);
		gw_held_read(gw_global, h->path);
	}
	return (int)n;
}

/* A write over a limit or threshold: audited, and locks on a threshold.
 * With H's user's mutex held. */
static void
write_refused(struct gw_handle *h, enum limiter_result lr,
    const struct limiter_hit *hit, const char *why)
{
	char rule[RULE_MAX], reason[384];
	unsigned long long v[3];
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = h->u->uid;
	rq.pid = h->pid;
	rq.user = h->u->name;
	rq.path = h->path;
	rq.patient = h->patient;
	if (lr == LIMITER_ERROR && why != NULL) {
		snprintf(reason, sizeof(reason),
		    "clinic budget not available: %s: refused", why);
		gw_audit(gw_global, &rq, "gateway.limit", "deny",
		    "directory.budget", reason, -1);
		return;
	}
	if (lr == LIMITER_ERROR) {
		gw_audit(gw_global, &rq, "gateway.limit", "deny", "gateway",
		    "usage state over its cap: refused", -1);
		return;
	}
	limit_rule(&hit->limit, rule, sizeof(rule));
	snprintf(reason, sizeof(reason), "%s: %llu bytes over %llu",
	    lr == LIMITER_LOCKOUT ? "bulk upload, account locked"
	                          : "over the limit",
	    (unsigned long long)hit->value, (unsigned long long)hit->limit.max);
	gw_audit(gw_global, &rq, "gateway.limit", "deny", rule, reason, -1);
	if (lr == LIMITER_LOCKOUT) {
		lock_counts(h->u, v);
		gw_lock_user(gw_global, h->u, rule, reason, v[0], v[1], v[2]);
	}
}

static int
gw_op_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct gw_handle *h = (struct gw_handle *)(uintptr_t)fi->fh;
	struct gw_user *u = h->u;
	struct limiter_hit hit;
	enum limiter_result lr;
	char why[256] = "";
	bool clinic = false;
	ssize_t n;

	(void)path;
	if (!h->writable)
		return -EBADF;
	if (atomic_load(&u->locked))
		return -EACCES;
	pthread_mutex_lock(&u->mu);
	lr = LIMITER_OK;
	if (u->bud != NULL) {
		lr = budget_charge(u->bud, u->name, budget_now_ms(), 0, size,
		    NULL, true, &hit, why, sizeof(why));
		clinic = lr != LIMITER_OK;
	}
	if (lr == LIMITER_OK)
		lr = limiter_add_bytes(u->lim, gw_now_ms(), size, &hit);
	if (lr != LIMITER_OK) {
		write_refused(h, lr, &hit, clinic ? why : NULL);
		pthread_mutex_unlock(&u->mu);
		return -EACCES;
	}
	pthread_mutex_unlock(&u->mu);
	n = backing_pwrite(h->bf, buf, size, off);
	if (n > 0)
		atomic_fetch_add(&h->bytes, (uint64_t)n);
	return (int)n;
}

/* The release record of H (already unlinked), then H goes. */
static void
release_audit_free(struct gw_handle *h, const char *reason)
{
	struct gw_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.uid = h->u->uid;
	rq.pid = h->pid;
	rq.user = h->u->name;
	rq.path = h->path;
	rq.patient = h->patient;
	rq.process = h->comm;
	gw_audit(gw_global, &rq, "gateway.release", "info", h->rule, reason,
	    (long long)atomic_load(&h->bytes));
	handle_free(h);
}

static int
gw_op_release(const char *path, struct fuse_file_info *fi)
{
	struct gw_handle *h = (struct gw_handle *)(uintptr_t)fi->fh;

	(void)path;
	pthread_mutex_lock(&h->u->mu);
	gw_held_release(gw_global, h);
	handle_unlink(h);
	pthread_mutex_unlock(&h->u->mu);
	release_audit_free(h, h->writable ? "bytes written" : "bytes read");
	return 0;
}

void
gw_release_conn(uid_t uid, const void *conn)
{
	struct gw_user *u = gw_user_get(gw_global, uid);
	struct gw_handle *h, *next, *gone = NULL;

	if (u == NULL)
		return;
	pthread_mutex_lock(&u->mu);
	for (h = u->open; h != NULL; h = next) {
		next = h->next;
		if (h->conn != conn)
			continue;
		gw_held_release(gw_global, h);
		handle_unlink(h);
		h->next = gone;
		gone = h;
	}
	pthread_mutex_unlock(&u->mu);
	while ((h = gone) != NULL) {
		gone = h->next;
		release_audit_free(h,
		    h->writable ? "bytes written; the view ended"
		                : "bytes read; the view ended");
	}
}

int
gw_handle_fstat(struct gw_handle *h, struct stat *st)
{
	int r;

	if (atomic_load(&h->u->locked))
		return -EACCES;
	if ((r = backing_fstat(h->bf, st)) == 0)
		st->st_mode = S_IFREG | (h->writable ? 0644 : 0444);
	return r;
}

int
gw_handle_opened(struct gw_handle *h, struct stat *st)
{
	if (h->writable) /* changed by its own writes since */
		return gw_handle_fstat(h, st);
	if (atomic_load(&h->u->locked))
		return -EACCES;
	st->st_size = h->size;
	st->st_mtim = h->mtime;
	return 0;
}

static int
gw_op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return 0;
}

static void *
gw_op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Answers differ per caller: the kernel must cache no names and no
	 * attributes across calls.  File data may stay cached: every open
	 * comes to the gateway and is charged (see the top of this file). */
	cfg->use_ino = 1;
	cfg->readdir_ino = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->nullpath_ok = 1;
	cfg->hard_remove = 1;
	/*
	 * Whether cached pages are still the file's is checked at open, not
	 * on every read: with the kernel's auto_inval_data each read() asked
	 * for the attributes again (attr_timeout 0), one round trip per
	 * read even from the page cache.  auto_cache compares the size and
	 * mtime the open's handle sees (ac_attr_timeout 0: always asked)
	 * with those of the last open and lookup, and drops the pages if
	 * the file changed: close-to-open consistency, as NFS gives.
	 */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 1;
	cfg->ac_attr_timeout_set = 1;
	cfg->ac_attr_timeout = 0;
	return gw_global;
}

const struct fuse_operations gw_operations = {
	.init = gw_op_init,
	.getattr = gw_op_getattr,
	.opendir = gw_op_opendir,
	.readdir = gw_op_readdir,
	.releasedir = gw_op_releasedir,
	.statfs = gw_op_statfs,
	.open = gw_op_open,
	.create = gw_op_create,
	.read = gw_op_read,
	.write = gw_op_write,
	.release = gw_op_release,
	.fsync = gw_op_fsync,
	.unlink = gw_op_unlink,
	.rmdir = gw_op_rmdir,
	.mkdir = gw_op_mkdir,
	.mknod = gw_op_mknod,
	.symlink = gw_op_symlink,
	.link = gw_op_link,
	.rename = gw_op_rename,
	.chmod = gw_op_chmod,
	.chown = gw_op_chown,
	.truncate = gw_op_truncate,
	.utimens = gw_op_utimens,
	.setxattr = gw_op_setxattr,
	.removexattr = gw_op_removexattr,
};
