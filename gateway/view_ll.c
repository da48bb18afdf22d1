/*
 * view_ll.c - a view's requests, on libfuse's low-level API.
 *
 * A view's kernel keeps every name it looked up for as long as view_ttl,
 * so each of those names is a node here until the kernel forgets it; with
 * 100 views that is most of the gateway's memory.  The high-level library
 * spent about 150 bytes on a node and two 64 KiB hash tables on every
 * connection; a node here is its parent, its name, the kernel's count of
 * it and what auto_cache compares, its inode number is its address, and
 * one hash of (parent, name) that grows with the view is the whole table.
 *
 * Each request is answered by the same path-based operations as the
 * shared mount (gw_operations), with the caller's context set for them
 * (gw_req_context_set()): a view decides, charges and audits exactly as
 * the shared mount does; only what the kernel may keep differs.
 */
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "gateway/gw.h"
#include "gateway/ops.h"
#include "gateway/start.h"
#include "gateway/views.h"

#define PATH_BUF    4096 /* POLICY_PATH_MAX: the operations take no longer */
#define UNKNOWN_INO 0xffffffffu /* a listing's "." and ".." */
#define PLUS_NODES  1024 /* nodes a view's listings may make (readdirplus) */
#define HUNG_MAX    16   /* listings a view keeps between parts (lst_get()) */

struct vnode {
	struct vnode *parent; /* NULL: the root */
	struct vnode *hnext;  /* in the hash of names */
	uint64_t nlookup;     /* the kernel's references */
	uint32_t nchild;      /* nodes whose parent this is: they keep it */
	bool hashed;          /* its name is in the hash */
	bool cache_valid;     /* mtime and size are those of cached pages */
	bool listed;          /* in the view's set of cached listings */
	struct ll_dir *lst;   /* vn->mu: the listing being read (no_opendir) */
	struct timespec mtime;
	off_t size;
	char name[];
};

struct gw_vnodes {
	struct gw_view *owner;
	pthread_mutex_t mu;
	struct vnode *root;
	struct vnode **tab; /* chains by (parent, name); cap a power of 2 */
	size_t cap, n;
	struct ll_dir *dirs; /* open directories: closed with the view */
	bool no_opendir;     /* the kernel opens directories without asking */
	struct ll_dir *hung, *hung_last; /* nodes' listings, newest first */
	size_t nhung;
	bool full_logged; /* a listing refused: said once */
};

/* An open directory: the operations' handle and the listing, read whole
 * at the first READDIR (as the high-level library did) and served by
 * offset from then on.  Without OPENDIR (ll_init()) there is no open
 * directory: the listing hangs on the directory's node instead (node's
 * lst, lst_get()), shared by whoever reads it. */
struct ll_dent {
	uint64_t ino;
	mode_t mode;
	char *name;
};

struct ll_dir {
	uint64_t fh; /* gw_op_opendir()'s */
	struct ll_dent *ents;
	size_t n, cap;
	bool filled, nomem;
	/* vn->mu: in the view's open ones (vn->dirs), or hung on NODE */
	struct ll_dir *prev, *next;
	struct vnode *node;
	uint64_t gen;  /* gw_view_listing_gen() before it was decided */
	unsigned refs; /* vn->mu: its node and the READDIRs serving it */
};

static void dir_close(struct ll_dir *d);
static void lst_unref(struct ll_dir *d);
static void lst_unhang(struct gw_vnodes *vn, struct vnode *n);

struct gw_vnodes *
gw_vnodes_new(struct gw_view *owner)
{
	struct gw_vnodes *vn = calloc(1, sizeof(*vn));

	if (vn == NULL)
		return NULL;
	vn->owner = owner;
	vn->cap = 64;
	if ((vn->root = calloc(1, sizeof(*vn->root) + 1)) == NULL ||
	    (vn->tab = calloc(vn->cap, sizeof(*vn->tab))) == NULL) {
		free(vn->root);
		free(vn);
		return NULL;
	}
	pthread_mutex_init(&vn->mu, NULL);
	return vn;
}

void
gw_vnodes_free(struct gw_vnodes *vn)
{
	struct vnode *n, *next;
	size_t i;

	if (vn == NULL)
		return;
	/* A view that ends gets no RELEASEDIR for what is still open. */
	while (vn->dirs != NULL) {
		struct ll_dir *d = vn->dirs;

		vn->dirs = d->next;
		dir_close(d);
	}
	/* Every node but the root is in the hash: unlinked ones are
	 * forgotten before the session ends, or lost with it. */
	for (i = 0; i < vn->cap; i++)
		for (n = vn->tab[i]; n != NULL; n = next) {
			next = n->hnext;
			lst_unref(n->lst);
			free(n);
		}
	lst_unref(vn->root->lst);
	pthread_mutex_destroy(&vn->mu);
	free(vn->tab);
	free(vn->root);
	free(vn);
}

static size_t
name_hash(const struct vnode *parent, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 31));
}

static struct vnode *
node_of(struct gw_vnodes *vn, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? vn->root : (struct vnode *)(uintptr_t)ino;
}

static fuse_ino_t
ino_of(struct gw_vnodes *vn, struct vnode *n)
{
	return n == vn->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* With vn->mu held, as for every function on nodes below. */
static struct vnode *
find(struct gw_vnodes *vn, struct vnode *parent, const char *name)
{
	struct vnode *n;

	for (n = vn->tab[name_hash(parent, name) & (vn->cap - 1)]; n != NULL;
	     n = n->hnext)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* Moves the nodes to a table of CAP chains; on failure they stay where
 * they are (the chains only get longer or emptier). */
static void
rehash(struct gw_vnodes *vn, size_t cap)
{
	struct vnode **t, *m, *next;
	size_t i, k;

	if ((t = calloc(cap, sizeof(*t))) == NULL)
		return;
	for (i = 0; i < vn->cap; i++)
		for (m = vn->tab[i]; m != NULL; m = next) {
			next = m->hnext;
			k = name_hash(m->parent, m->name) & (cap - 1);
			m->hnext = t[k];
			t[k] = m;
		}
	free(vn->tab);
	vn->tab = t;
	vn->cap = cap;
}

/* The table keeps about one node per chain: it doubles as names come
 * and halves as the kernel forgets them (a walk of 200,000 names would
 * otherwise hold 2 MiB of chains until the view ends). */
static void
hash_in(struct gw_vnodes *vn, struct vnode *n)
{
	size_t k;

	if (vn->n >= vn->cap)
		rehash(vn, 2 * vn->cap);
	k = name_hash(n->parent, n->name) & (vn->cap - 1);
	n->hnext = vn->tab[k];
	vn->tab[k] = n;
	n->hashed = true;
	vn->n++;
}

static void
hash_out(struct gw_vnodes *vn, struct vnode *n)
{
	struct vnode **p;

	if (!n->hashed)
		return;
	for (p = &vn->tab[name_hash(n->parent, n->name) & (vn->cap - 1)];
	     *p != NULL; p = &(*p)->hnext)
		if (*p == n) {
			*p = n->hnext;
			break;
		}
	n->hashed = false;
	vn->n--;
	if (vn->cap > 64 && vn->n < vn->cap / 4)
		rehash(vn, vn->cap / 2);
}

/* Drops K of the kernel's references to N; a node nobody holds goes,
 * and with it each parent only it held. */
static void
unref(struct gw_vnodes *vn, struct vnode *n, uint64_t k)
{
	struct vnode *p;

	if (n == vn->root)
		return;
	n->nlookup -= k < n->nlookup ? k : n->nlookup;
	while (n != vn->root && n->nlookup == 0 && n->nchild == 0) {
		p = n->parent;
		hash_out(vn, n);
		if (n->listed)
			gw_view_listing_gone(vn->owner, ino_of(vn, n));
		lst_unhang(vn, n);
		free(n);
		p->nchild--;
		n = p;
	}
}

/* A name's attributes, as a lookup or getattr saw them: pages cached
 * under another mtime or size are not kept at the next open. */
static void
saw(struct vnode *n, const struct stat *st)
{
	if (n->cache_valid &&
	    (n->size != st->st_size || n->mtime.tv_sec != st->st_mtim.tv_sec ||
	        n->mtime.tv_nsec != st->st_mtim.tv_nsec))
		n->cache_valid = false;
	n->mtime = st->st_mtim;
	n->size = st->st_size;
}

/* One more reference to PARENT's NAME, made if new; its inode number, or
 * 0 when memory is short. */
static fuse_ino_t
ref(struct gw_vnodes *vn, fuse_ino_t parent, const char *name,
    const struct stat *st)
{
	struct vnode *p, *n;
	size_t len = strlen(name);
	fuse_ino_t ino = 0;

	pthread_mutex_lock(&vn->mu);
	p = node_of(vn, parent);
	if ((n = find(vn, p, name)) == NULL) {
		if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
			goto out;
		memcpy(n->name, name, len + 1);
		n->parent = p;
		p->nchild++;
		hash_in(vn, n);
	}
	n->nlookup++;
	saw(n, st);
	ino = ino_of(vn, n);
out:
	pthread_mutex_unlock(&vn->mu);
	return ino;
}

/* The path of INO ("/" for the root), followed by "/NAME" if NAME: 0, or
 * -ENOENT if INO lost its name, -ENAMETOOLONG. */
static int
path_of(struct gw_vnodes *vn, fuse_ino_t ino, const char *name, char *buf)
{
	size_t pos = PATH_BUF - 1, k;
	struct vnode *n;
	int r = 0;

	buf[pos] = '\0';
	pthread_mutex_lock(&vn->mu);
	for (n = node_of(vn, ino); r == 0; n = n->parent) {
		if (name != NULL) {
			k = strlen(name);
			if (k + 1 > pos) {
				r = -ENAMETOOLONG;
				break;
			}
			pos -= k;
			memcpy(buf + pos, name, k);
			buf[--pos] = '/';
		}
		if (n == vn->root)
			break;
		if (!n->hashed)
			r = -ENOENT;
		name = n->name;
	}
	pthread_mutex_unlock(&vn->mu);
	if (r != 0)
		return r;
	if (pos == PATH_BUF - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, PATH_BUF - pos);
	return 0;
}

fuse_ino_t
gw_vnodes_ino(struct gw_vnodes *vn, const char *path)
{
	char part[PATH_BUF];
	struct vnode *n;
	const char *s;
	size_t k;

	pthread_mutex_lock(&vn->mu);
	n = vn->root;
	for (s = path; n != NULL && *s != '\0'; s += k) {
		while (*s == '/')
			s++;
		if ((k = strcspn(s, "/")) == 0)
			break;
		if (k >= sizeof(part)) {
			n = NULL;
			break;
		}
		memcpy(part, s, k);
		part[k] = '\0';
		n = find(vn, n, part);
	}
	pthread_mutex_unlock(&vn->mu);
	return n != NULL ? ino_of(vn, n) : 0;
}

/* The request's caller, for the operations while REQ is answered. */
static void
enter(fuse_req_t req, struct fuse_context *c)
{
	const struct fuse_ctx *k = fuse_req_ctx(req);

	memset(c, 0, sizeof(*c));
	c->uid = k->uid;
	c->gid = k->gid;
	c->pid = k->pid;
	c->umask = k->umask;
	c->private_data = fuse_req_userdata(req);
	gw_req_context_set(c);
}

static void
leave(void)
{
	gw_req_context_set(NULL);
}

static struct gw_vnodes *
vnodes(fuse_req_t req)
{
	return gw_view_vnodes(fuse_req_userdata(req));
}

static double
ttl(void)
{
	return (double)gw_global->cfg->store_view_ttl_s;
}

static void
ll_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	/* Whether cached pages are still the file's is checked at open
	 * (auto_cache, ll_open()), not by a GETATTR before each read.
	 * Every part of a listing is asked with attributes, not only the
	 * first (the kernel's adaptive mode): a program that lists, then
	 * stats (ls -l, sftp), would otherwise look up all but the first
	 * few dozen names.  ll_readdirplus() bounds the nodes it makes. */
	conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_READDIRPLUS_AUTO);
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* OPENDIR and RELEASEDIR decide nothing (a listing is decided at
	 * READDIR): a kernel that can open a directory without asking
	 * spares a walk two requests per folder.  It then keeps every
	 * listing (FOPEN_CACHE_DIR), so lst_get() notes each one for the
	 * views' thread to drop, or refuses it. */
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		gw_view_vnodes(ud)->no_opendir = true;
	}
}

/* Drops the one reference to INO that a reply the kernel never got
 * would have handed over. */
static void
unref_one(struct gw_vnodes *vn, fuse_ino_t ino)
{
	pthread_mutex_lock(&vn->mu);
	unref(vn, node_of(vn, ino), 1);
	pthread_mutex_unlock(&vn->mu);
}

/* PARENT's NAME at PATH as a lookup finds it for REQ's caller: its node
 * (one more reference), attributes and timeouts into E.  0, or the
 * error (-ENOENT: not there or hidden), E untouched. */
static int
entry_at(fuse_req_t req, fuse_ino_t parent, const char *name, const char *path,
    struct fuse_entry_param *e)
{
	struct fuse_context c;
	struct stat st;
	fuse_ino_t ino;
	int r;

	memset(&st, 0, sizeof(st));
	enter(req, &c);
	r = gw_op_getattr(path, &st, NULL);
	leave();
	if (r != 0)
		return r;
	if ((ino = ref(vnodes(req), parent, name, &st)) == 0)
		return -ENOMEM;
	e->ino = ino;
	e->attr = st;
	e->attr_timeout = e->entry_timeout = ttl();
	return 0;
}

/* Answers REQ with the entry of PARENT's NAME, as a lookup: a name that
 * is not there (or hidden) is cached as missing too. */
static void
reply_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_entry_param e;
	char path[PATH_BUF];
	int r;

	memset(&e, 0, sizeof(e));
	/* A parent that lost its name: ENOENT, not cached as missing. */
	if ((r = path_of(vn, parent, name, path)) != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	r = entry_at(req, parent, name, path, &e);
	if (r == -ENOENT) {
		e.entry_timeout = ttl();
		fuse_reply_entry(req, &e);
		return;
	}
	if (r != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (fuse_reply_entry(req, &e) == -ENOENT) /* interrupted */
		unref_one(vn, e.ino);
}

static void
ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_lookup(req, parent, name);
}

static void
ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct gw_vnodes *vn = vnodes(req);

	pthread_mutex_lock(&vn->mu);
	unref(vn, node_of(vn, ino), nlookup);
	pthread_mutex_unlock(&vn->mu);
	fuse_reply_none(req);
}

static void
ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *fd)
{
	struct gw_vnodes *vn = vnodes(req);
	size_t i;

	pthread_mutex_lock(&vn->mu);
	for (i = 0; i < count; i++)
		unref(vn, node_of(vn, fd[i].ino), fd[i].nlookup);
	pthread_mutex_unlock(&vn->mu);
	fuse_reply_none(req);
}

/* INO's attributes into ST (with FI: of the open handle), noted for
 * auto_cache. */
static int
getattr_of(
    fuse_req_t req, fuse_ino_t ino, struct stat *st, struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	r = path_of(vn, ino, NULL, path);
	if (r != 0 && fi == NULL)
		return r;
	enter(req, &c);
	r = gw_op_getattr(r == 0 ? path : NULL, st, fi);
	leave();
	if (r == 0) {
		pthread_mutex_lock(&vn->mu);
		saw(node_of(vn, ino), st);
		pthread_mutex_unlock(&vn->mu);
	}
	return r;
}

static void
ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = getattr_of(req, ino, &st, fi)) != 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ttl());
}

/* Every change is refused by the operations (and audited); they are
 * asked all the same, so a view answers as the shared mount does. */
static void
ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct timespec tv[2];
	struct fuse_context c;
	char path[PATH_BUF];
	const char *p;
	int r;

	r = path_of(vnodes(req), ino, NULL, path);
	if (r != 0 && fi == NULL) {
		fuse_reply_err(req, -r);
		return;
	}
	p = r == 0 ? path : NULL;
	r = 0;
	enter(req, &c);
	if (to_set & FUSE_SET_ATTR_MODE)
		r = gw_op_chmod(p, attr->st_mode, fi);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		r = gw_op_chown(p,
		    (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
		    (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
		    fi);
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = gw_op_truncate(p, attr->st_size, fi);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		tv[0] = attr->st_atim;
		tv[1] = attr->st_mtim;
		if (!(to_set & FUSE_SET_ATTR_ATIME))
			tv[0].tv_nsec = UTIME_OMIT;
		else if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		if (!(to_set & FUSE_SET_ATTR_MTIME))
			tv[1].tv_nsec = UTIME_OMIT;
		else if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		r = gw_op_utimens(p, tv, fi);
	}
	leave();
	if (r != 0)
		fuse_reply_err(req, -r);
	else
		ll_getattr(req, ino, fi);
}

/* D first in the list at *HEAD, whose last is *LAST (NULL: not kept). */
static void
dir_link(struct ll_dir **head, struct ll_dir **last, struct ll_dir *d)
{
	d->prev = NULL;
	d->next = *head;
	if (*head != NULL)
		(*head)->prev = d;
	else if (last != NULL)
		*last = d;
	*head = d;
}

/* D out of the list at *HEAD, whose last is *LAST (NULL: not kept). */
static void
dir_unlink(struct ll_dir **head, struct ll_dir **last, struct ll_dir *d)
{
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		*head = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	else if (last != NULL)
		*last = d->prev;
}

static void
ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_file_info in;
	struct fuse_context c;
	char path[PATH_BUF];
	struct ll_dir *d;
	int r;

	/* The first one tells the kernel never to ask again (ll_init()). */
	if (vn->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((r = path_of(vn, ino, NULL, path)) != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.flags = fi->flags;
	enter(req, &c);
	r = gw_op_opendir(path, &in);
	leave();
	if (r != 0) {
		free(d);
		fuse_reply_err(req, -r);
		return;
	}
	d->fh = in.fh;
	fi->fh = (uint64_t)(uintptr_t)d;
	pthread_mutex_lock(&vn->mu);
	dir_link(&vn->dirs, NULL, d);
	pthread_mutex_unlock(&vn->mu);
	/* Kept only once the views' thread can find it to drop it. */
	if (gw_view_cache_listing(fuse_req_userdata(req), ino)) {
		fi->cache_readdir = fi->keep_cache = 1;
		pthread_mutex_lock(&vn->mu);
		node_of(vn, ino)->listed = true;
		pthread_mutex_unlock(&vn->mu);
	}
	if (fuse_reply_open(req, fi) == -ENOENT) { /* interrupted */
		pthread_mutex_lock(&vn->mu);
		dir_unlink(&vn->dirs, NULL, d);
		pthread_mutex_unlock(&vn->mu);
		dir_close(d);
	}
}

static int
fill(void *buf, const char *name, const struct stat *st, off_t off,
    enum fuse_fill_dir_flags flags)
{
	struct ll_dir *d = buf;
	struct ll_dent *e;
	size_t cap;

	(void)off;
	(void)flags;
	if (d->n == d->cap) {
		cap = d->cap != 0 ? 2 * d->cap : 32;
		if ((e = realloc(d->ents, cap * sizeof(*e))) == NULL) {
			d->nomem = true;
			return 1;
		}
		d->ents = e;
		d->cap = cap;
	}
	e = &d->ents[d->n];
	if ((e->name = strdup(name)) == NULL) {
		d->nomem = true;
		return 1;
	}
	e->ino = st != NULL ? (uint64_t)st->st_ino : UNKNOWN_INO;
	e->mode = st != NULL ? st->st_mode : S_IFDIR;
	d->n++;
	return 0;
}

static void
dir_empty(struct ll_dir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->ents[i].name);
	d->n = 0;
	d->filled = d->nomem = false;
}

/* Closes D, off every list: the operations' handle, then the listing. */
static void
dir_close(struct ll_dir *d)
{
	struct fuse_file_info in;

	memset(&in, 0, sizeof(in));
	in.fh = d->fh;
	(void)gw_op_releasedir(NULL, &in);
	dir_empty(d);
	free(d->ents);
	free(d);
}

/* Lists D into its entries at the first READDIR and again at offset 0
 * (a rewinddir): decided anew each time.  0, or the error to answer. */
static int
dir_list(fuse_req_t req, struct ll_dir *d, off_t off)
{
	struct fuse_file_info in;
	struct fuse_context c;
	int r;

	if (d->filled && off != 0)
		return 0;
	dir_empty(d);
	memset(&in, 0, sizeof(in));
	in.fh = d->fh;
	enter(req, &c);
	r = gw_op_readdir(NULL, d, fill, 0, &in, 0);
	leave();
	if (r == 0 && d->nomem)
		r = -ENOMEM;
	if (r != 0) {
		dir_empty(d);
		return -r;
	}
	d->filled = true;
	return 0;
}

/* Drops one reference to D (NULL: none), closing it with the last.
 * Under vn->mu, or once no request can reach it. */
static void
lst_unref(struct ll_dir *d)
{
	if (d != NULL && --d->refs == 0)
		dir_close(d);
}

/* Takes N's listing, if any, off N and the view's hung ones.  vn->mu. */
static void
lst_unhang(struct gw_vnodes *vn, struct vnode *n)
{
	struct ll_dir *d = n->lst;

	if (d == NULL)
		return;
	dir_unlink(&vn->hung, &vn->hung_last, d);
	vn->nhung--;
	n->lst = NULL;
	d->node = NULL;
	lst_unref(d);
}

void
gw_vnodes_drop_hung(struct gw_vnodes *vn)
{
	pthread_mutex_lock(&vn->mu);
	while (vn->hung != NULL)
		lst_unhang(vn, vn->hung->node);
	pthread_mutex_unlock(&vn->mu);
}

/* Hangs D (its reference taken over) on N, in place of N's listing.  A
 * reader that stops part way leaves its listing hung, so a view keeps
 * at most HUNG_MAX: the one hung longest goes (a reader still in it
 * gets its next part from a new one).  vn->mu. */
static void
lst_hang(struct gw_vnodes *vn, struct vnode *n, struct ll_dir *d)
{
	lst_unhang(vn, n);
	if (vn->nhung >= HUNG_MAX)
		lst_unhang(vn, vn->hung_last->node);
	dir_link(&vn->hung, &vn->hung_last, d);
	vn->nhung++;
	d->node = n;
	n->lst = d;
}

/* Whether REQ's caller may be served now, as a listing is decided
 * (gw_call_begin(): the view's user, the policy, the directory's
 * answer).  0, or -errno. */
static int
may_serve(fuse_req_t req)
{
	struct fuse_context c;
	struct gw_call call;
	int r;

	enter(req, &c);
	r = gw_call_begin(&call, gw_global, false);
	gw_call_end(&call);
	leave();
	return r;
}

/*
 * The listing of directory INO from offset OFF for a READDIR without a
 * handle (no OPENDIR, ll_init()), with a reference for the caller: at
 * offset 0 made and decided anew (every check of a request's, as at an
 * open directory's first READDIR) and hung on the node; a part after it
 * comes from the one hung there while no change has been announced to
 * the view since it was decided (gw_view_listing_gen()) and the caller
 * may still be served, else from one made anew.  Every listing is noted
 * for the views' thread to drop before it is decided, so a change after
 * that drops what it fills; one that cannot be noted is refused, as the
 * kernel would keep it.  0, or the error to answer.
 */
static int
lst_get(fuse_req_t req, fuse_ino_t ino, off_t off, struct ll_dir **out)
{
	struct gw_view *v = fuse_req_userdata(req);
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_file_info in;
	char path[PATH_BUF];
	struct ll_dir *d;
	struct vnode *n;
	uint64_t gen = gw_view_listing_gen(v);
	int r;

	pthread_mutex_lock(&vn->mu);
	n = node_of(vn, ino);
	if (off > 0 && (d = n->lst) != NULL && d->gen == gen) {
		d->refs++;
		/* In use: the last to go. */
		dir_unlink(&vn->hung, &vn->hung_last, d);
		dir_link(&vn->hung, &vn->hung_last, d);
		pthread_mutex_unlock(&vn->mu);
		if ((r = may_serve(req)) != 0) {
			pthread_mutex_lock(&vn->mu);
			lst_unref(d);
			pthread_mutex_unlock(&vn->mu);
			return -r;
		}
		*out = d;
		return 0;
	}
	pthread_mutex_unlock(&vn->mu);
	if (!gw_view_cache_listing(v, ino)) {
		pthread_mutex_lock(&vn->mu);
		if (!vn->full_logged)
			gw_log(LOG_ERR,
			    "view of uid %lu: a listing could not be noted "
			    "for invalidation (out of memory or %d "
			    "listings): refused, and any more like it",
			    (unsigned long)gw_view_uid(v), GW_VIEW_DIRS_MAX);
		vn->full_logged = true;
		pthread_mutex_unlock(&vn->mu);
		return ENOMEM;
	}
	pthread_mutex_lock(&vn->mu);
	n->listed = true;
	pthread_mutex_unlock(&vn->mu);
	if ((r = path_of(vn, ino, NULL, path)) != 0)
		return -r;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ENOMEM;
	memset(&in, 0, sizeof(in));
	if ((r = gw_op_opendir(path, &in)) != 0) {
		free(d);
		return -r;
	}
	d->fh = in.fh;
	d->gen = gen;
	if ((r = dir_list(req, d, 0)) != 0) {
		dir_close(d);
		return r;
	}
	d->refs = 2;
	pthread_mutex_lock(&vn->mu);
	lst_hang(vn, n, d);
	pthread_mutex_unlock(&vn->mu);
	*out = d;
	return 0;
}

/* The listing a READDIR at OFF serves: its open directory's, or the
 * node's (lst_get()).  0, or the error to answer. */
static int
dir_get(fuse_req_t req, fuse_ino_t ino, off_t off, struct fuse_file_info *fi,
    struct ll_dir **out)
{
	if (fi->fh == 0)
		return lst_get(req, ino, off, out);
	*out = (struct ll_dir *)(uintptr_t)fi->fh;
	return dir_list(req, *out, off);
}

/* Done with D after a part of it: a node's listing whose part was
 * empty (END: the kernel's last READDIR) leaves the node. */
static void
dir_put(fuse_req_t req, fuse_ino_t ino, bool end, struct fuse_file_info *fi,
    struct ll_dir *d)
{
	struct gw_vnodes *vn = vnodes(req);
	struct vnode *n;

	if (fi->fh != 0)
		return;
	pthread_mutex_lock(&vn->mu);
	n = node_of(vn, ino);
	if (end && n->lst == d)
		lst_unhang(vn, n);
	lst_unref(d);
	pthread_mutex_unlock(&vn->mu);
}

static void
ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct ll_dir *d;
	struct stat st;
	size_t i, k, used = 0;
	char *buf;
	int r;

	if ((r = dir_get(req, ino, off, fi, &d)) != 0) {
		fuse_reply_err(req, r);
		return;
	}
	if ((buf = malloc(size)) == NULL) {
		dir_put(req, ino, false, fi, d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&st, 0, sizeof(st));
	for (i = off > 0 ? (size_t)off : 0; i < d->n; i++) {
		st.st_ino = d->ents[i].ino;
		st.st_mode = d->ents[i].mode;
		k = fuse_add_direntry(req, buf + used, size - used,
		    d->ents[i].name, &st, (off_t)(i + 1));
		if (k > size - used)
			break;
		used += k;
	}
	dir_put(req, ino, used == 0, fi, d);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* Whether a listing may still make nodes in VN (see ll_readdirplus()). */
static bool
plus_room(struct gw_vnodes *vn)
{
	bool room;

	pthread_mutex_lock(&vn->mu);
	room = vn->n < PLUS_NODES;
	pthread_mutex_unlock(&vn->mu);
	return room;
}

/* A listing with each entry's attributes, as a lookup of it would give
 * them (decided for the caller, the same node, the same timeouts), so
 * that `ls -l` of a patient's folder is one request, not one per photo.
 * Each entry sent with a node is one more reference the kernel will
 * forget.  A view makes nodes this way only while it holds fewer than
 * PLUS_NODES: a find(1) over the whole store would otherwise keep a
 * node of every photo in every view.  Past that, and for an entry no
 * node can be made for, the name goes alone and is looked up when used.
 * An entry gone or hidden since it was listed is left out; a lookup
 * refused (the caller's request refused) refuses the part. */
static void
ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_entry_param e;
	struct ll_dir *d;
	char path[PATH_BUF];
	fuse_ino_t *sent;
	size_t i, k, nsent = 0, used = 0;
	const char *name;
	char *buf;
	int r;

	if ((r = dir_get(req, ino, off, fi, &d)) != 0) {
		fuse_reply_err(req, r);
		return;
	}
	/* An entry takes at least 160 bytes of the buffer. */
	buf = malloc(size);
	sent = calloc(size / 160 + 1, sizeof(*sent));
	if (buf == NULL || sent == NULL) {
		free(buf);
		free(sent);
		dir_put(req, ino, false, fi, d);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off > 0 ? (size_t)off : 0; i < d->n; i++) {
		name = d->ents[i].name;
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->ents[i].ino;
		e.attr.st_mode = d->ents[i].mode;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    plus_room(vn) && path_of(vn, ino, name, path) == 0)
			r = entry_at(req, ino, name, path, &e);
		/* Gone or hidden since it was listed: not sent at all.
		 * The caller refused (gw_call_begin(): the directory
		 * unreachable, say): the part is refused. */
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r == -ENOMEM)
			r = 0;
		if (r != 0)
			break;
		k = fuse_add_direntry_plus(
		    req, buf + used, size - used, name, &e, (off_t)(i + 1));
		if (k > size - used) {
			if (e.ino != 0)
				unref_one(vn, e.ino);
			break;
		}
		used += k;
		if (e.ino != 0)
			sent[nsent++] = e.ino;
	}
	dir_put(req, ino, r == 0 && used == 0, fi, d);
	if (r != 0)
		fuse_reply_err(req, -r);
	if (r != 0 || fuse_reply_buf(req, buf, used) == -ENOENT)
		for (i = 0; i < nsent; i++) /* not sent, or interrupted */
			unref_one(vn, sent[i]);
	free(sent);
	free(buf);
}

static void
ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct ll_dir *d = (struct ll_dir *)(uintptr_t)fi->fh;

	(void)ino;
	if (d == NULL) { /* opened without asking (ll_init()) */
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&vn->mu);
	dir_unlink(&vn->dirs, NULL, d);
	pthread_mutex_unlock(&vn->mu);
	dir_close(d);
	fuse_reply_err(req, 0);
}

static void
ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_context c;
	struct statvfs sv;
	int r;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	enter(req, &c);
	r = gw_op_statfs("/", &sv);
	leave();
	if (r != 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_statfs(req, &sv);
}

/* An open the kernel will not hear of (interrupted): released here, so
 * it is audited and its charge settled as any other. */
static void
undo_open(fuse_req_t req, const char *path, struct fuse_file_info *fi)
{
	struct fuse_context c;

	enter(req, &c);
	(void)gw_operations.release(path, fi);
	leave();
}

static void
ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_context c;
	char path[PATH_BUF];
	struct vnode *n;
	struct stat st;
	int r;

	if ((r = path_of(vn, ino, NULL, path)) != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	enter(req, &c);
	r = gw_operations.open(path, fi);
	leave();
	if (r != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* auto_cache: the pages cached stay if the file the handle sees
	 * has the size and mtime they were read under (close-to-open). */
	memset(&st, 0, sizeof(st));
	r = gw_handle_opened((struct gw_handle *)(uintptr_t)fi->fh, &st);
	pthread_mutex_lock(&vn->mu);
	n = node_of(vn, ino);
	if (r == 0) {
		saw(n, &st);
		fi->keep_cache = n->cache_valid;
	}
	n->cache_valid = r == 0;
	pthread_mutex_unlock(&vn->mu);
	if (fuse_reply_open(req, fi) == -ENOENT)
		undo_open(req, path, fi);
}

static void
ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_entry_param e;
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vn, parent, name, path)) != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	enter(req, &c);
	r = gw_operations.create(path, mode, fi);
	leave();
	if (r != 0) {
		fuse_reply_err(req, -r);
		return;
	}
	memset(&e, 0, sizeof(e));
	enter(req, &c);
	r = gw_op_getattr(path, &e.attr, fi);
	leave();
	if (r == 0 && (e.ino = ref(vn, parent, name, &e.attr)) == 0)
		r = -ENOMEM;
	if (r != 0) {
		undo_open(req, path, fi);
		fuse_reply_err(req, -r);
		return;
	}
	e.attr_timeout = e.entry_timeout = ttl();
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		undo_open(req, path, fi);
		unref_one(vn, e.ino);
	}
}

/*
 * READ replies are copied through a few kept buffers.  A fresh one per
 * READ is, with malloc's mmap threshold at 128 KiB (main.c), an mmap(), a
 * page fault per 4 KiB and an munmap(): a view's first read of a photo
 * paid for them every time.  RBUF_N of them bound what they keep resident
 * however many views are served; a READ finding none free allocates.
 */
#define RBUF_SIZE ((size_t)1 << 20) /* the kernel's largest READ here */
#define RBUF_N    4

static pthread_mutex_t rbuf_mu = PTHREAD_MUTEX_INITIALIZER;
static char *rbuf_free[RBUF_N];
static unsigned rbuf_nfree, rbuf_made;

/* A buffer of SIZE bytes; *KEPT says whether it is one of the pool's. */
static char *
rbuf_get(size_t size, bool *kept)
{
	char *b = NULL;
	bool make = false;

	*kept = false;
	if (size > RBUF_SIZE)
		return malloc(size);
	pthread_mutex_lock(&rbuf_mu);
	if (rbuf_nfree > 0)
		b = rbuf_free[--rbuf_nfree];
	else if (rbuf_made < RBUF_N) {
		rbuf_made++;
		make = true;
	}
	pthread_mutex_unlock(&rbuf_mu);
	if (make && (b = malloc(RBUF_SIZE)) == NULL) {
		pthread_mutex_lock(&rbuf_mu);
		rbuf_made--;
		pthread_mutex_unlock(&rbuf_mu);
	}
	if (b != NULL) {
		*kept = true;
		return b;
	}
	return malloc(size);
}

static void
rbuf_put(char *b, bool kept)
{
	if (!kept) {
		free(b);
		return;
	}
	pthread_mutex_lock(&rbuf_mu);
	rbuf_free[rbuf_nfree++] = b;
	pthread_mutex_unlock(&rbuf_mu);
}

static void
ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fuse_context c;
	char *buf;
	bool kept;
	int r;

	(void)ino;
	if ((buf = rbuf_get(size, &kept)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	enter(req, &c);
	r = gw_operations.read(NULL, buf, size, off, fi);
	leave();
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	rbuf_put(buf, kept);
}

static void
ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct fuse_context c;
	int r;

	(void)ino;
	enter(req, &c);
	r = gw_operations.write(NULL, buf, size, off, fi);
	leave();
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void
ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse_context c;

	(void)ino;
	enter(req, &c);
	(void)gw_operations.release(NULL, fi);
	leave();
	fuse_reply_err(req, 0);
}

static void
ll_fsync(
    fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fuse_context c;
	int r;

	(void)ino;
	enter(req, &c);
	r = gw_operations.fsync(NULL, datasync, fi);
	leave();
	fuse_reply_err(req, -r);
}

/* The changes to what exists: asked of the operations, which refuse and
 * audit each.  A name is made or removed here only if one succeeded. */
static void
ll_unlink_common(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct gw_vnodes *vn = vnodes(req);
	struct fuse_context c;
	char path[PATH_BUF];
	struct vnode *n;
	int r;

	if ((r = path_of(vn, parent, name, path)) == 0) {
		enter(req, &c);
		r = dir ? gw_op_rmdir(path) : gw_op_unlink(path);
		leave();
	}
	if (r == 0) {
		pthread_mutex_lock(&vn->mu);
		if ((n = find(vn, node_of(vn, parent), name)) != NULL)
			hash_out(vn, n);
		pthread_mutex_unlock(&vn->mu);
	}
	fuse_reply_err(req, -r);
}

static void
ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ll_unlink_common(req, parent, name, false);
}

static void
ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ll_unlink_common(req, parent, name, true);
}

/* After a change that made PARENT's NAME: its entry, or the error R. */
static void
made(fuse_req_t req, fuse_ino_t parent, const char *name, int r)
{
	if (r != 0)
		fuse_reply_err(req, -r);
	else
		reply_lookup(req, parent, name);
}

static void
ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vnodes(req), parent, name, path)) == 0) {
		enter(req, &c);
		r = gw_op_mkdir(path, mode);
		leave();
	}
	made(req, parent, name, r);
}

static void
ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vnodes(req), parent, name, path)) == 0) {
		enter(req, &c);
		r = gw_op_mknod(path, mode, rdev);
		leave();
	}
	made(req, parent, name, r);
}

static void
ll_symlink(
    fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vnodes(req), parent, name, path)) == 0) {
		enter(req, &c);
		r = gw_op_symlink(link, path);
		leave();
	}
	made(req, parent, name, r);
}

static void
ll_link(
    fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct gw_vnodes *vn = vnodes(req);
	char from[PATH_BUF], to[PATH_BUF];
	struct fuse_context c;
	int r;

	if ((r = path_of(vn, ino, NULL, from)) == 0 &&
	    (r = path_of(vn, newparent, newname, to)) == 0) {
		enter(req, &c);
		r = gw_op_link(from, to);
		leave();
	}
	made(req, newparent, newname, r);
}

static void
ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct gw_vnodes *vn = vnodes(req);
	char from[PATH_BUF], to[PATH_BUF];
	struct fuse_context c;
	struct vnode *n;
	int r;

	if ((r = path_of(vn, parent, name, from)) == 0 &&
	    (r = path_of(vn, newparent, newname, to)) == 0) {
		enter(req, &c);
		r = gw_op_rename(from, to, flags);
		leave();
	}
	/* Names changed: both are forgotten here, the kernel looks them
	 * up again. */
	if (r == 0) {
		pthread_mutex_lock(&vn->mu);
		if ((n = find(vn, node_of(vn, parent), name)) != NULL)
			hash_out(vn, n);
		if ((n = find(vn, node_of(vn, newparent), newname)) != NULL)
			hash_out(vn, n);
		pthread_mutex_unlock(&vn->mu);
	}
	fuse_reply_err(req, -r);
}

static void
ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
    size_t size, int flags)
{
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vnodes(req), ino, NULL, path)) == 0) {
		enter(req, &c);
		r = gw_op_setxattr(path, name, value, size, flags);
		leave();
	}
	fuse_reply_err(req, -r);
}

static void
ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fuse_context c;
	char path[PATH_BUF];
	int r;

	if ((r = path_of(vnodes(req), ino, NULL, path)) == 0) {
		enter(req, &c);
		r = gw_op_removexattr(path, name);
		leave();
	}
	fuse_reply_err(req, -r);
}

const struct fuse_lowlevel_ops gw_view_ll_ops = {
	.init = ll_init,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.readdirplus = ll_readdirplus,
	.releasedir = ll_releasedir,
	.statfs = ll_statfs,
	.open = ll_open,
	.create = ll_create,
	.read = ll_read,
	.write = ll_write,
	.release = ll_release,
	.fsync = ll_fsync,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.mkdir = ll_mkdir,
	.mknod = ll_mknod,
	.symlink = ll_symlink,
	.link = ll_link,
	.rename = ll_rename,
	.setxattr = ll_setxattr,
	.removexattr = ll_removexattr,
};
