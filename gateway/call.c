/*
 * call.c - the start and end of every request: the caller from the FUSE
 * context, the policy in force, a fresh identity and the lockout state.
 * Any failure here refuses the request (fail closed) with a reason.
 */
#include <errno.h>
#include <fuse.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "core/dir/dir.h"
#include "base/base.h"
#include "gateway/gw.h"
#include "gateway/start.h"
#include "gateway/views.h"

static int
refuse(struct gw_call *c, const char *why)
{
	if (c->why[0] == '\0')
		snprintf(c->why, sizeof(c->why), "%s", why);
	return -EACCES;
}

static int
begin(struct gw_call *c, struct gw *g, uid_t uid, pid_t pid, bool lock_check)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->g = g;
	c->uid = uid;
	c->pid = pid;
	if ((c->pol = gw_policy_get(g)) == NULL)
		return refuse(c, "no policy in force");
	if ((c->u = gw_user_get(g, c->uid)) == NULL)
		return refuse(c, "too many users or out of memory");
	pthread_mutex_lock(&c->u->mu);
	c->held = true;
	if (c->u->known && (lock_check || atomic_load(&c->u->locked))) {
		r = gw_user_check_lock(g, c->u);
		if (r == 1)
			return refuse(c, "account locked out");
		if (r < 0) {
			snprintf(c->why, sizeof(c->why),
			    "lockout store unreadable: %s", pg_strerror(r));
			return -EACCES;
		}
	}
	if (gw_user_refresh(g, c->u, c->pol, c->why, sizeof(c->why)) != 0) {
		/* One line per user and failure, not one per request. */
		if (!c->u->err_logged && c->u->known)
			gw_log(LOG_ERR, "refusing %s (uid %lu): %s", c->u->name,
			    (unsigned long)c->uid, c->why);
		c->u->err_logged = true;
		return refuse(c, "unknown user");
	}
	if (c->u->err_logged)
		gw_log(LOG_NOTICE, "serving %s again", c->u->name);
	c->u->err_logged = false;
	if (c->u->du->locked) {
		gw_drop_ticket(g, c->u); /* an unlock asks for a new login */
		return refuse(c, "account locked in the directory");
	}
	if (atomic_load(&c->u->locked))
		return refuse(c, "account locked out");
	return 0;
}

static __thread struct fuse_context *req_context;

struct fuse_context *
gw_req_context(void)
{
	return req_context != NULL ? req_context : fuse_get_context();
}

void
gw_req_context_set(struct fuse_context *c)
{
	req_context = c;
}

int
gw_call_begin(struct gw_call *c, struct gw *g, bool lock_check)
{
	struct fuse_context *fc = gw_req_context();
	uid_t vu;

	/* The kernel admits only a view's user; a view never serves
	 * anyone else, should it be asked. */
	if (fc != NULL && gw_view_of_request(&vu) && fc->uid != vu) {
		memset(c, 0, sizeof(*c));
		return refuse(c, "not this view's user");
	}
	return begin(c, g, fc != NULL ? fc->uid : (uid_t)-1,
	    fc != NULL ? fc->pid : 0, lock_check);
}

int
gw_call_begin_uid(struct gw_call *c, struct gw *g, uid_t uid, pid_t pid)
{
	return begin(c, g, uid, pid, true);
}

void
gw_call_end(struct gw_call *c)
{
	if (c->held)
		pthread_mutex_unlock(&c->u->mu);
	c->held = false;
	gw_policy_put(c->pol);
	c->pol = NULL;
}
