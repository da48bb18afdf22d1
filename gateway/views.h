/*
 * views.h - per-user views (views.c): a FUSE connection per login that
 * only its user may use, served by this process with the kernel's name,
 * attribute, page and listing caches on, and invalidated or aborted when
 * what the user may see changes.  Design: docs/gateway.md, "Per-user
 * views".
 */
#ifndef PG_GW_VIEWS_H
#define PG_GW_VIEWS_H

/* FUSE_USE_VERSION comes from gateway/meson.build. */
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/ctl/ctl.h"
#include "gateway/gw.h"

#define GW_VIEWS_MAX     1024      /* views served at once */
#define GW_VIEW_THREADS  4         /* at most, serving one view */
#define GW_VIEW_IDLE_MS  2000      /* an idle view thread more ends */
#define GW_VIEW_DIRS_MAX (1 << 18) /* listings one view tracks */
#define GW_VIEW_INVAL    1u        /* drop the view's cached names */
#define GW_VIEW_ABORT    2u        /* end the view's connection now */
#define GW_VIEW_ALL      ((uid_t)-1)

/* Starts the thread that invalidates, aborts, ends and watches views.
 * 0, or -1 after logging. */
int gw_views_start(struct gw *g);

/* Ends every view (their users see ENOTCONN, as on the shared mount at
 * a stop) and the thread; before anything they use is freed. */
void gw_views_stop(struct gw *g);

/*
 * The control socket's `view UID` from UID (only root), with FD the FUSE
 * connection passed along (-1: none; taken either way): checked,
 * audited (gateway.view) and served, or refused; the reply to F.
 */
void gw_view_request(struct gw *g, uid_t peer, pid_t pid,
    const struct ctl_request *rq, int fd, FILE *f);

/* Asks the views' thread to do WHAT (GW_VIEW_*) to UID's views
 * (GW_VIEW_ALL: every view); returns at once, so it may be called with a
 * user's mu held and from a view's own request. */
void gw_views_kick(uid_t uid, unsigned what);

/* Views served now. */
size_t gw_views_live(void);

/* Threads serving them now (one per idle view, up to GW_VIEW_THREADS
 * while busy). */
size_t gw_view_threads(void);

/* In a FUSE request: true, with *UID the view's user, if it came through
 * a view; false on the shared mount. */
bool gw_view_of_request(uid_t *uid);

/* A view's nodes: the names its kernel holds (view_ll.c). */
struct gw_view;
struct gw_vnodes;
struct gw_vnodes *gw_vnodes_new(struct gw_view *owner);
void gw_vnodes_free(struct gw_vnodes *vn);
/* The inode number of PATH ("/a/b") if the kernel holds it, or 0. */
fuse_ino_t gw_vnodes_ino(struct gw_vnodes *vn, const char *path);
struct gw_vnodes *gw_view_vnodes(struct gw_view *v);
/* Lets go of every listing kept between the parts of a READDIR: none
 * can be served after a drop (view_ll.c, lst_get()). */
void gw_vnodes_drop_hung(struct gw_vnodes *vn);

/* May the listing of directory INO be cached in V?  Only once the views'
 * thread can find it to drop it (views.c). */
bool gw_view_cache_listing(struct gw_view *v, fuse_ino_t ino);
/* How many times V's cached listings were dropped or about to be: a
 * listing made before the count moved may be older than the change that
 * moved it. */
uint64_t gw_view_listing_gen(struct gw_view *v);
/* The user V is for. */
uid_t gw_view_uid(struct gw_view *v);
/* The kernel forgot the directory INO whose listing V cached: its
 * number may be another node's from now on. */
void gw_view_listing_gone(struct gw_view *v, uint64_t ino);

/* A view's requests (view_ll.c), its struct gw_view the session's
 * userdata. */
extern const struct fuse_lowlevel_ops gw_view_ll_ops;

#endif /* PG_GW_VIEWS_H */
