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
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/ctl/ctl.h"
#include "gateway/gw.h"

#define GW_VIEWS_MAX     1024  /* views served at once */
#define GW_VIEW_THREADS  4     /* at most, serving one view */
#define GW_VIEW_IDLE_MS  2000  /* an idle view thread more ends */
#define GW_VIEW_DIRS_MAX 65536 /* cached listings one view tracks */
#define GW_VIEW_INVAL    1u    /* drop the view's cached names */
#define GW_VIEW_ABORT    2u    /* end the view's connection now */
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

/* The init of a view's connection (ops_file.c): the shared settings,
 * then the caches on. */
void *gw_op_init_view(struct fuse_conn_info *conn, struct fuse_config *cfg);

#endif /* PG_GW_VIEWS_H */
