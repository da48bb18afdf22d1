/*
 * views.c - per-user views.  A login's session process mounts a FUSE
 * connection for its user only (core/ctl/ctl_view.c) and passes it here
 * over the control socket; this process serves it with the same
 * operations as the shared mount, on the low-level API (view_ll.c) with
 * the kernel's caches on, because nobody else's answers can land in them.
 * Every open still reaches the gateway and is decided, charged and
 * audited: the kernel never caches an open.
 *
 * Cached answers go stale when what the user may see changes, so one
 * thread here (the "views' thread") drops them: a policy reload, a
 * break-glass grant or its expiry, a changed directory answer (groups,
 * care team) invalidates the user's names; a lockout drops the pages of
 * the user's open files and ends the connection, which the kernel aborts
 * once its last descriptor is closed (open files and mappings answer
 * ENOTCONN from then on).  The thread also looks at each view's user once
 * a second, so a lockout from another server or a directory change ends
 * or refreshes a view whose user sends no request at all.
 *
 * A view is served by GW_VIEW_THREADS threads of its own, waiting on the
 * connection and an eventfd that tells them to stop: libfuse's own loop
 * could not be stopped without a request arriving.  Each thread waits in
 * an epoll of its own holding the connection with EPOLLEXCLUSIVE, so a
 * request wakes one waiting thread, not all of them (which then met
 * EAGAIN but for one, on a machine with few cores to spare).
 */
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/dir/dir.h"
#include "gateway/backing.h"
#include "gateway/ops.h"
#include "gateway/start.h"
#include "gateway/views.h"

#define FUSE_MAJOR     10
#define FUSE_MINOR     229
#define OPEN_PATHS_MAX 256 /* open files whose pages a lockout drops */

struct gw_view {
	uid_t uid;
	struct gw_vnodes *nodes; /* the names the kernel holds */
	struct fuse_session *se;
	int fd;     /* the connection (the session's) */
	int stopfd; /* eventfd: the serving threads stop */
	pthread_mutex_t thr_mu;
	pthread_cond_t thr_cv; /* serving fell to 0 */
	int serving;           /* thr_mu: serving threads not yet ended */
	bool stopping;         /* thr_mu: no more threads */
	atomic_int idle;       /* serving threads waiting for a request */
	unsigned pending;      /* GW_VIEW_*; views_mu */
	time_t grants_seen;    /* grant expiries before this are done */
	time_t inval_again;    /* views' thread: drop once more then */
	time_t dirs_dropped;   /* views' thread: listings last dropped */
	atomic_uint_fast64_t dirs_gen; /* changes announced, drops */
	pthread_mutex_t dirs_mu;
	uint64_t *dirs; /* dirs_mu: set of nodeids whose listing is cached */
	size_t ndirs, dirs_cap; /* dirs_mu; dirs_cap a power of 2, or 0 */
	struct gw_view *next;
};

static struct gw *views_g;
static pthread_mutex_t views_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t views_cv = PTHREAD_COND_INITIALIZER;
static struct gw_view *views;         /* views_mu */
static size_t nviews;                 /* views_mu */
static bool views_stop, views_kicked; /* views_mu */
static bool views_running;
static pthread_t views_thread;

/* Where ID would sit in a table of CAP slots (a power of 2): node ids
 * are addresses (view_ll.c), aligned, so they are mixed first. */
static size_t
dirs_home(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The slot of ID in the open-addressed table T of CAP slots (never
 * full): where it is, or the empty one where it would go. */
static size_t
dirs_slot(const uint64_t *t, size_t cap, uint64_t id)
{
	size_t i;

	for (i = dirs_home(id, cap); t[i] != 0 && t[i] != id;
	     i = (i + 1) & (cap - 1))
		;
	return i;
}

/* Adds NODEID to V's set of cached listings.  0, or -1 when the set is
 * full (GW_VIEW_DIRS_MAX) or memory is short: then the listing is not
 * cached (an open directory's) or refused (view_ll.c, lst_get()). */
static int
dirs_add(struct gw_view *v, uint64_t nodeid)
{
	size_t k, cap;
	uint64_t *n;
	int r = 0;

	pthread_mutex_lock(&v->dirs_mu);
	if (v->dirs_cap != 0 &&
	    v->dirs[dirs_slot(v->dirs, v->dirs_cap, nodeid)] == nodeid)
		goto out;
	r = -1;
	if (v->ndirs >= GW_VIEW_DIRS_MAX)
		goto out;
	if (2 * (v->ndirs + 1) > v->dirs_cap) {
		cap = v->dirs_cap != 0 ? 2 * v->dirs_cap : 64;
		if ((n = calloc(cap, sizeof(*n))) == NULL)
			goto out;
		for (k = 0; k < v->dirs_cap; k++)
			if (v->dirs[k] != 0)
				n[dirs_slot(n, cap, v->dirs[k])] = v->dirs[k];
		free(v->dirs);
		v->dirs = n;
		v->dirs_cap = cap;
	}
	v->dirs[dirs_slot(v->dirs, v->dirs_cap, nodeid)] = nodeid;
	v->ndirs++;
	r = 0;
out:
	pthread_mutex_unlock(&v->dirs_mu);
	return r;
}

/* The kernel forgot directory NODEID: off V's set, so that a node made
 * later at the same address is not dropped as a listing.  The entries
 * after it in its run move back to where a lookup finds them. */
void
gw_view_listing_gone(struct gw_view *v, uint64_t nodeid)
{
	size_t i, j, k, mask;

	pthread_mutex_lock(&v->dirs_mu);
	mask = v->dirs_cap - 1;
	if (v->dirs_cap == 0 ||
	    v->dirs[i = dirs_slot(v->dirs, v->dirs_cap, nodeid)] != nodeid)
		goto out;
	v->dirs[i] = 0;
	v->ndirs--;
	for (j = (i + 1) & mask; v->dirs[j] != 0; j = (j + 1) & mask) {
		k = dirs_home(v->dirs[j], v->dirs_cap);
		/* Stays if its home is cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		v->dirs[i] = v->dirs[j];
		v->dirs[j] = 0;
		i = j;
	}
out:
	pthread_mutex_unlock(&v->dirs_mu);
}

/* Drops the kernel's cached listing of every directory in V's set.  The
 * set is kept: a READDIR decided before a change may fill a listing
 * again after it (view_inval() runs twice); a directory the kernel
 * forgets leaves it (gw_view_listing_gone()). */
static void
view_drop_listings(struct gw_view *v)
{
	uint64_t *ids = NULL;
	size_t i, n = 0;

	/* First: a listing made from here on is decided after the change. */
	atomic_fetch_add(&v->dirs_gen, 1);
	gw_vnodes_drop_hung(v->nodes);
	pthread_mutex_lock(&v->dirs_mu);
	if (v->ndirs != 0 && (ids = malloc(v->ndirs * sizeof(*ids))) != NULL)
		for (i = 0; i < v->dirs_cap; i++)
			if (v->dirs[i] != 0)
				ids[n++] = v->dirs[i];
	if (v->ndirs != 0 && ids == NULL) {
		/* Unlocked, each notify could meet a dirs_add() that grows
		 * the set: one at a time, under the lock. */
		for (i = 0; i < v->dirs_cap; i++)
			if (v->dirs[i] != 0)
				(void)fuse_lowlevel_notify_inval_inode(
				    v->se, v->dirs[i], 0, 0);
	}
	pthread_mutex_unlock(&v->dirs_mu);
	for (i = 0; i < n; i++)
		(void)fuse_lowlevel_notify_inval_inode(v->se, ids[i], 0, 0);
	free(ids);
	v->dirs_dropped = time(NULL);
}

/* The connection is handed over open, not mounted here: libfuse reads
 * and writes it through these. */
static ssize_t
view_read(int fd, void *buf, size_t len, void *arg)
{
	(void)arg;
	return read(fd, buf, len);
}

static ssize_t
view_writev(int fd, struct iovec *iov, int count, void *arg)
{
	(void)arg;
	return writev(fd, iov, count);
}

static const struct fuse_custom_io view_io = {
	.read = view_read,
	.writev = view_writev,
};

struct gw_vnodes *
gw_view_vnodes(struct gw_view *v)
{
	return v->nodes;
}

bool
gw_view_cache_listing(struct gw_view *v, fuse_ino_t ino)
{
	return dirs_add(v, ino) == 0;
}

uint64_t
gw_view_listing_gen(struct gw_view *v)
{
	return atomic_load(&v->dirs_gen);
}

uid_t
gw_view_uid(struct gw_view *v)
{
	return v->uid;
}

bool
gw_view_of_request(uid_t *uid)
{
	struct fuse_context *fc = gw_req_context();

	if (fc == NULL || fc->private_data == NULL ||
	    fc->private_data == (void *)gw_global)
		return false;
	*uid = ((struct gw_view *)fc->private_data)->uid;
	return true;
}

size_t
gw_views_live(void)
{
	size_t n;

	pthread_mutex_lock(&views_mu);
	n = nviews;
	pthread_mutex_unlock(&views_mu);
	return n;
}

size_t
gw_view_threads(void)
{
	struct gw_view *v;
	size_t n = 0;

	pthread_mutex_lock(&views_mu);
	for (v = views; v != NULL; v = v->next) {
		pthread_mutex_lock(&v->thr_mu);
		n += (size_t)v->serving;
		pthread_mutex_unlock(&v->thr_mu);
	}
	pthread_mutex_unlock(&views_mu);
	return n;
}

void
gw_views_kick(uid_t uid, unsigned what)
{
	struct gw_view *v;

	pthread_mutex_lock(&views_mu);
	for (v = views; v != NULL; v = v->next)
		if (uid == GW_VIEW_ALL || v->uid == uid) {
			v->pending |= what;
			views_kicked = true;
			/* Now, not when the views' thread drops them: the
			 * rest of a listing is decided anew from here on. */
			if (what & GW_VIEW_INVAL)
				atomic_fetch_add(&v->dirs_gen, 1);
		}
	if (views_kicked)
		pthread_cond_signal(&views_cv);
	pthread_mutex_unlock(&views_mu);
}

static void *serve_main(void *arg);

/* One more thread for V, up to GW_VIEW_THREADS: a view starts with one
 * (an idle login's view costs one stack), grows when a request finds
 * none of its threads waiting, and shrinks back (serve_main()) when a
 * thread waits GW_VIEW_IDLE_MS for nothing.  0, or -1 if none started. */
static int
view_grow(struct gw_view *v)
{
	pthread_attr_t a;
	pthread_t t;
	int r = -1;

	if (pthread_attr_init(&a) != 0)
		return -1;
	(void)pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&v->thr_mu);
	if (!v->stopping && v->serving < GW_VIEW_THREADS &&
	    pthread_create(&t, &a, serve_main, v) == 0) {
		v->serving++;
		r = 0;
	}
	pthread_mutex_unlock(&v->thr_mu);
	pthread_attr_destroy(&a);
	return r;
}

/* May this thread of V end, idle as it was?  Only while another one
 * waits for requests too.  Yes: it is off the counts, and V may be freed
 * from the unlock on, so the caller touches V no more. */
static bool
view_shrink(struct gw_view *v)
{
	bool yes = false;
	int i;

	pthread_mutex_lock(&v->thr_mu);
	i = atomic_load(&v->idle);
	while (v->serving > 1 && i > 1)
		if (atomic_compare_exchange_weak(&v->idle, &i, i - 1)) {
			v->serving--;
			yes = true;
			break;
		}
	pthread_mutex_unlock(&v->thr_mu);
	return yes;
}

/* An epoll for one of V's threads: the connection (exclusive), the stop
 * eventfd (every thread sees it).  -1 on failure. */
static int
serve_epoll(struct gw_view *v)
{
	struct epoll_event conn = { .events = EPOLLIN | EPOLLEXCLUSIVE,
		.data.fd = v->fd };
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = v->stopfd };
	int ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, v->fd, &conn) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, v->stopfd, &stop) != 0) {
		close(ep);
		return -1;
	}
	return ep;
}

static void *
serve_main(void *arg)
{
	struct gw_view *v = arg;
	struct epoll_event ev[2];
	struct fuse_buf buf;
	bool last, end;
	int ep, i, r;

	memset(&buf, 0, sizeof(buf));
	if ((ep = serve_epoll(v)) < 0)
		gw_log(LOG_ERR, "view of uid %lu: a serving thread ends: %s",
		    (unsigned long)v->uid, strerror(errno));
	/* Idle from here until a request is taken: a thread woken for a
	 * request another one took stays idle, so the one that took it
	 * sees it is not alone. */
	atomic_fetch_add(&v->idle, 1);
	while (ep >= 0 && !fuse_session_exited(v->se)) {
		if ((r = epoll_wait(ep, ev, 2, GW_VIEW_IDLE_MS)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0) {
			if (view_shrink(v)) {
				close(ep);
				free(buf.mem);
				return NULL;
			}
			continue;
		}
		/* Told to stop, or the mount is gone (the login's last
		 * process ended). */
		end = false;
		for (i = 0; i < r; i++)
			end |= ev[i].data.fd == v->stopfd ||
			    (ev[i].events & (EPOLLERR | EPOLLHUP)) != 0;
		if (end)
			break;
		r = fuse_session_receive_buf(v->se, &buf);
		if (r == -EAGAIN || r == -EINTR)
			continue; /* another thread took it */
		if (r <= 0)
			break;
		if (atomic_fetch_sub(&v->idle, 1) == 1)
			(void)view_grow(v);
		fuse_session_process_buf(v->se, &buf);
		atomic_fetch_add(&v->idle, 1);
	}
	if (ep >= 0)
		close(ep);
	atomic_fetch_sub(&v->idle, 1);
	free(buf.mem);
	/* After the unlock V may be freed (view_end()): not touched again. */
	pthread_mutex_lock(&v->thr_mu);
	last = --v->serving == 0;
	if (last)
		pthread_cond_broadcast(&v->thr_cv);
	pthread_mutex_unlock(&v->thr_mu);
	if (last) {
		pthread_mutex_lock(&views_mu);
		views_kicked = true;
		pthread_cond_signal(&views_cv);
		pthread_mutex_unlock(&views_mu);
	}
	return NULL;
}

/* Are V's serving threads all gone (its mount with them)? */
static bool
view_unserved(struct gw_view *v)
{
	bool none;

	pthread_mutex_lock(&v->thr_mu);
	none = v->serving == 0;
	pthread_mutex_unlock(&v->thr_mu);
	return none;
}

/* Stops V's threads and ends its connection (closing the last descriptor
 * aborts it in the kernel).  V is off the list. */
static void
view_end(struct gw_view *v)
{
	uint64_t one = 1;

	pthread_mutex_lock(&v->thr_mu);
	v->stopping = true;
	if (write(v->stopfd, &one, sizeof(one)) < 0)
		gw_log(LOG_ERR, "view of uid %lu: cannot stop it: %s",
		    (unsigned long)v->uid, strerror(errno));
	while (v->serving > 0)
		pthread_cond_wait(&v->thr_cv, &v->thr_mu);
	pthread_mutex_unlock(&v->thr_mu);
	pthread_mutex_destroy(&v->thr_mu);
	pthread_cond_destroy(&v->thr_cv);
	pthread_mutex_destroy(&v->dirs_mu);
	free(v->dirs);
	gw_release_conn(v->uid, v);
	/* Closes the connection; no unmount: the mount is the login's, in
	 * its namespace, and goes with it. */
	fuse_session_destroy(v->se);
	gw_vnodes_free(v->nodes);
	close(v->stopfd);
	free(v);
}

static void
audit_view(struct gw *g, uid_t uid, pid_t pid, const char *user,
    const char *decision, const char *reason)
{
	char name[GW_USER_MAX] = "";
	struct gw_user *u;
	struct gw_req rq;

	if (user == NULL && (u = gw_user_get(g, uid)) != NULL) {
		pthread_mutex_lock(&u->mu);
		if (u->known)
			snprintf(name, sizeof(name), "%s", u->name);
		pthread_mutex_unlock(&u->mu);
		user = name[0] != '\0' ? name : NULL;
	}
	memset(&rq, 0, sizeof(rq));
	rq.uid = uid;
	rq.pid = pid;
	rq.user = user;
	rq.path = "";
	gw_audit(g, &rq, "gateway.view", decision, "gateway", reason, -1);
}

/* Drops every name and listing V's kernel side caches: every cached
 * listing (view_drop_listings()), then the store's top-level names (each
 * takes its whole subtree with it, unless held) and the root's
 * attributes.  The views' thread does it once more a second later
 * (inval_again): a request decided before the change may have put an
 * old answer back into the cache since. */
static void
view_inval(struct gw *g, struct gw_view *v)
{
	struct dirent *de;
	DIR *d;

	view_drop_listings(v);
	if (backing_opendir(g->store, "", &d) == 0) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			(void)fuse_lowlevel_notify_inval_entry(v->se,
			    FUSE_ROOT_ID, de->d_name, strlen(de->d_name));
		}
		closedir(d);
	}
	(void)fuse_lowlevel_notify_inval_inode(v->se, FUSE_ROOT_ID, 0, 0);
}

/* The paths (with a leading '/') of UID's open files, into P (at most
 * OPEN_PATHS_MAX); returns how many.  Takes the user's mu. */
static size_t
open_paths(struct gw *g, uid_t uid, char **p)
{
	struct gw_user *u = gw_user_get(g, uid);
	struct gw_handle *h;
	size_t n = 0;

	if (u == NULL)
		return 0;
	pthread_mutex_lock(&u->mu);
	for (h = u->open; h != NULL && n < OPEN_PATHS_MAX; h = h->next)
		if (asprintf(&p[n], "/%s", h->path) >= 0)
			n++;
	pthread_mutex_unlock(&u->mu);
	return n;
}

/* UID is locked out: its open files' pages go (mapped ones unmapped, so
 * the next touch asks and is refused), then each of its views ends. */
static void
views_abort(struct gw *g, struct gw_view **ending)
{
	char *paths[OPEN_PATHS_MAX];
	struct gw_view *v;
	fuse_ino_t ino;
	size_t n, i;

	for (v = *ending; v != NULL; v = v->next) {
		n = open_paths(g, v->uid, paths);
		for (i = 0; i < n; i++) {
			if ((ino = gw_vnodes_ino(v->nodes, paths[i])) != 0)
				(void)fuse_lowlevel_notify_inval_inode(
				    v->se, ino, 0, 0);
			free(paths[i]);
		}
		view_inval(g, v);
	}
	while ((v = *ending) != NULL) {
		*ending = v->next;
		audit_view(g, v->uid, 0, NULL, "info",
		    "view ended: account locked out");
		view_end(v);
	}
}

/*
 * Once a second, for each view's user: a lockout found in the store (set
 * on another server or by the PAM module) revokes and so aborts; a
 * directory answer past its time is fetched again (a change invalidates:
 * users.c); a break-glass grant that ran out invalidates.
 */
static void
watch_user(struct gw *g, struct gw_view *v, time_t now)
{
	struct gw_call c;
	size_t i;
	bool expired = false;

	/* gw_call_begin_uid() checks the store and refreshes. */
	(void)gw_call_begin_uid(&c, g, v->uid, 0);
	/* Locked out (here, in the store or the directory): revoke kicked
	 * an abort already, unless the view was not listed yet. */
	if (c.u != NULL && atomic_load(&c.u->locked))
		gw_views_kick(v->uid, GW_VIEW_ABORT);
	if (c.held) {
		for (i = 0; i < c.u->ngrants; i++)
			if (c.u->grants[i].until <= now &&
			    c.u->grants[i].until > v->grants_seen)
				expired = true;
	}
	gw_call_end(&c);
	v->grants_seen = now;
	if (expired)
		gw_views_kick(v->uid, GW_VIEW_INVAL);
}

static void *
views_main(void *arg)
{
	struct gw *g = arg;
	static struct gw_view *watch[GW_VIEWS_MAX], *all[GW_VIEWS_MAX];
	struct gw_view *v, **pv, *ending;
	struct timespec ts;
	size_t nw, nall, i;
	time_t last = 0, ttl = (time_t)g->cfg->store_view_ttl_s;

	pthread_mutex_lock(&views_mu);
	while (!views_stop) {
		if (!views_kicked) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&views_cv, &views_mu, &ts);
		}
		views_kicked = false;
		/* Take off the list what ends: aborted or unmounted. */
		ending = NULL;
		for (pv = &views; (v = *pv) != NULL;) {
			if ((v->pending & GW_VIEW_ABORT) || view_unserved(v)) {
				*pv = v->next;
				nviews--;
				v->next = ending;
				ending = v;
				continue;
			}
			pv = &v->next;
		}
		pthread_mutex_unlock(&views_mu);
		/* Unmounted views end quietly; aborted ones drop pages first.
		 * Invalidation runs outside views_mu: the kernel may wait
		 * for one of the view's own requests, which may kick. */
		for (pv = &ending; (v = *pv) != NULL;) {
			if (view_unserved(v) && !(v->pending & GW_VIEW_ABORT)) {
				*pv = v->next;
				audit_view(g, v->uid, 0, NULL, "info",
				    "view ended: the login's last process is "
				    "gone");
				view_end(v);
				continue;
			}
			pv = &v->next;
		}
		views_abort(g, &ending);
		pthread_mutex_lock(&views_mu);
		for (v = views; v != NULL; v = v->next) {
			if (!(v->pending & GW_VIEW_INVAL))
				continue;
			v->pending &= ~GW_VIEW_INVAL;
			pthread_mutex_unlock(&views_mu);
			/* Only this thread frees a view: V stays valid. */
			view_inval(g, v);
			v->inval_again = time(NULL) + 1;
			pthread_mutex_lock(&views_mu);
		}
		if (time(NULL) == last)
			continue;
		last = time(NULL);
		/* Each user once, however many views (only this thread frees
		 * a view: the pointers stay valid outside views_mu). */
		nw = nall = 0;
		for (v = views; v != NULL && nall < GW_VIEWS_MAX; v = v->next) {
			all[nall++] = v;
			for (i = 0; i < nw && watch[i]->uid != v->uid; i++)
				;
			if (i == nw)
				watch[nw++] = v;
		}
		pthread_mutex_unlock(&views_mu);
		for (i = 0; i < nw; i++)
			watch_user(g, watch[i], last);
		/* The second drop after a change; and no listing lives
		 * longer than view_ttl, like a name: a photo added behind
		 * the gateway is listed within about that. */
		for (i = 0; i < nall; i++) {
			v = all[i];
			if (v->inval_again != 0 && last >= v->inval_again) {
				v->inval_again = 0;
				view_inval(g, v);
			} else if (last - v->dirs_dropped >= ttl) {
				view_drop_listings(v);
			}
		}
		pthread_mutex_lock(&views_mu);
	}
	ending = views;
	views = NULL;
	nviews = 0;
	pthread_mutex_unlock(&views_mu);
	while ((v = ending) != NULL) {
		ending = v->next;
		view_end(v);
	}
	return NULL;
}

int
gw_views_start(struct gw *g)
{
	views_g = g;
	views_stop = false;
	if (pthread_create(&views_thread, NULL, views_main, g) != 0) {
		gw_log(LOG_ERR, "views: no thread");
		return -1;
	}
	views_running = true;
	return 0;
}

void
gw_views_stop(struct gw *g)
{
	(void)g;
	if (!views_running)
		return;
	pthread_mutex_lock(&views_mu);
	views_stop = true;
	pthread_cond_signal(&views_cv);
	pthread_mutex_unlock(&views_mu);
	pthread_join(views_thread, NULL);
	views_running = false;
}

/* Serves FD as UID's view.  0, or -1 with WHY. */
static int
view_add(struct gw *g, uid_t uid, int fd, char *why, size_t len)
{
	char *argv[] = { (char *)(uintptr_t) "photoguard-gateway", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct gw_user *u;
	struct gw_view *v;
	int fl;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(why, len, "out of memory");
		goto fail_fd;
	}
	v->uid = uid;
	v->grants_seen = time(NULL);
	pthread_mutex_init(&v->thr_mu, NULL);
	pthread_cond_init(&v->thr_cv, NULL);
	pthread_mutex_init(&v->dirs_mu, NULL);
	v->dirs_dropped = time(NULL);
	v->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->stopfd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		goto fail_v;
	}
	if ((v->nodes = gw_vnodes_new(v)) == NULL) {
		snprintf(why, len, "out of memory");
		goto fail_v;
	}
	v->se =
	    fuse_session_new(&args, &gw_view_ll_ops, sizeof(gw_view_ll_ops), v);
	fuse_opt_free_args(&args);
	if (v->se == NULL || fuse_session_custom_io(v->se, &view_io, fd) != 0) {
		snprintf(why, len, "libfuse refused the connection");
		if (v->se != NULL)
			fuse_session_destroy(v->se);
		goto fail_v;
	}
	/* From here the session owns FD (fuse_session_destroy() closes
	 * it). */
	v->fd = fd;
	atomic_init(&v->idle, 0);
	if (view_grow(v) != 0) {
		snprintf(why, len, "no threads to serve it");
		view_end(v);
		return -1;
	}
	pthread_mutex_lock(&views_mu);
	v->next = views;
	views = v;
	nviews++;
	pthread_mutex_unlock(&views_mu);
	/* Locked out since the request was checked: that lockout's kick
	 * found no view on the list yet. */
	if ((u = gw_user_get(g, uid)) != NULL && atomic_load(&u->locked))
		gw_views_kick(uid, GW_VIEW_ABORT);
	return 0;
fail_v:
	gw_vnodes_free(v->nodes);
	if (v->stopfd >= 0)
		close(v->stopfd);
	pthread_mutex_destroy(&v->thr_mu);
	pthread_cond_destroy(&v->thr_cv);
	pthread_mutex_destroy(&v->dirs_mu);
	free(v);
fail_fd:
	close(fd);
	return -1;
}

/* The uid in S: decimal digits only, not root's, not (uid_t)-1. */
static bool
parse_uid(const char *s, uid_t *uid)
{
	unsigned long long n = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 10)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	if (n == 0 || n >= (uid_t)-1)
		return false;
	*uid = (uid_t)n;
	return true;
}

void
gw_view_request(struct gw *g, uid_t peer, pid_t pid,
    const struct ctl_request *rq, int fd, FILE *f)
{
	char why[600], user[GW_USER_MAX] = "";
	struct gw_call c;
	struct stat st;
	uid_t uid;
	int r;

	if (peer != 0) {
		ctl_reply_error(f, "only root may hand over a view");
		goto refuse;
	}
	if (!g->cfg->store_views) {
		ctl_reply_error(f, "views are off here ([store] views = no)");
		goto refuse;
	}
	if (fd < 0) {
		ctl_reply_error(f, "no FUSE connection came with the request");
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != FUSE_MAJOR ||
	    minor(st.st_rdev) != FUSE_MINOR) {
		ctl_reply_error(
		    f, "what came with the request is not /dev/fuse");
		goto refuse;
	}
	if (!parse_uid(rq->arg, &uid)) {
		ctl_reply_error(f, "not a user's uid: %s", rq->arg);
		goto refuse;
	}
	if (gw_views_live() >= GW_VIEWS_MAX) {
		ctl_reply_error(f, "%d views served already", GW_VIEWS_MAX);
		audit_view(g, uid, pid, NULL, "deny", "too many views");
		goto refuse;
	}
	/* The user must be one the gateway serves now: known, not locked. */
	r = gw_call_begin_uid(&c, g, uid, pid);
	if (c.u != NULL && c.u->known)
		snprintf(user, sizeof(user), "%s", c.u->name);
	if (r != 0) {
		snprintf(why, sizeof(why), "no view: %s", c.why);
		gw_call_end(&c);
		audit_view(g, uid, pid, user[0] ? user : NULL, "deny", why);
		ctl_reply_error(f, "%s", why);
		goto refuse;
	}
	gw_call_end(&c);
	if (view_add(g, uid, fd, why, sizeof(why)) != 0) {
		audit_view(g, uid, pid, user, "deny", why);
		ctl_reply_error(f, "no view: %s", why);
		return;
	}
	audit_view(g, uid, pid, user, "info", "view opened");
	ctl_reply_ok(f);
	fprintf(f, "view for %s (uid %lu)\n", user, (unsigned long)uid);
	return;
refuse:
	if (fd >= 0)
		close(fd);
}
