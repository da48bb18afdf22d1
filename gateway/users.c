/*
 * users.c - who is asking: the caller's uid to a name (getpwuid_r), the
 * name to groups and care teams (the directory client, re-asked when its
 * cached answer expires), groups to roles and limits (the policy in force), and
 * the facts of the moment (MFA ticket, local time, break-glass grants) for
 * policy_decide().  One entry per uid that used the mount: the state grows
 * with active users, never with the store.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "access/access.h"
#include "base/base.h"
#include "core/dir/dir.h"
#include "core/lockout/lockout.h"
#include "core/totp/totp.h"
#include "gateway/budget.h"
#include "gateway/gw.h"
#include "gateway/limiter.h"
#include "gateway/views.h"

#define PW_BUF_MAX 16384

_Static_assert(
    GW_BG_MAX <= PG_ACCESS_BG_MAX, "every live grant fits in one request");

/* The name of UID into BUF; false if it has none (or too long). */
static bool
uid_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[PW_BUF_MAX];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return false;
	if (strlen(pw.pw_name) >= len || pw.pw_name[0] == '\0')
		return false;
	memcpy(buf, pw.pw_name, strlen(pw.pw_name) + 1);
	return true;
}

/* The directory behind a user's budget (budget.h's budget_lease_fn). */
static int
lease(void *arg, const char *user, int64_t now_ms, struct dir_budget_ask *a,
    size_t n, char *why, size_t whylen)
{
	struct gw *g = arg;

	return dir_budget_lease(g->dir, user, g->budget_owner, now_ms,
	    (int64_t)g->cfg->lockout_lease_s * 1000, a, n, why, whylen);
}

static struct gw_user *
user_new(struct gw *g, uid_t uid)
{
	struct gw_user *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	if ((u->lim = limiter_new()) == NULL ||
	    (g->budget_owner[0] != '\0' &&
	        (u->bud = budget_new(lease, g)) == NULL)) {
		limiter_free(u->lim);
		free(u);
		return NULL;
	}
	u->uid = uid;
	u->known = uid_name(uid, u->name, sizeof(u->name));
	pthread_mutex_init(&u->mu, NULL);
	atomic_init(&u->locked, false);
	return u;
}

struct gw_user *
gw_user_get(struct gw *g, uid_t uid)
{
	size_t b = uid % (sizeof(g->users) / sizeof(g->users[0]));
	struct gw_user *u;

	pthread_mutex_lock(&g->users_mu);
	for (u = g->users[b]; u != NULL; u = u->next)
		if (u->uid == uid)
			break;
	if (u == NULL && g->nusers < GW_USERS_MAX &&
	    (u = user_new(g, uid)) != NULL) {
		u->next = g->users[b];
		g->users[b] = u;
		g->nusers++;
	}
	pthread_mutex_unlock(&g->users_mu);
	return u;
}

size_t
gw_users_named(struct gw *g, const char *name, struct gw_user **out, size_t max)
{
	struct gw_user *u;
	size_t b, n = 0;

	/* U->name is read without U->mu: a candidate only, checked again by
	 * the caller under U->mu.  Users are freed only at exit. */
	pthread_mutex_lock(&g->users_mu);
	for (b = 0; b < sizeof(g->users) / sizeof(g->users[0]); b++)
		for (u = g->users[b]; u != NULL && n < max; u = u->next)
			if (u->known && strcmp(u->name, name) == 0)
				out[n++] = u;
	pthread_mutex_unlock(&g->users_mu);
	return n;
}

/* Roles and limits of U under P. */
static int
apply_policy(struct gw_user *u, struct gw_policy *p)
{
	struct policy_limit lim[LIMITER_MAX_LIMITS];
	size_t n;

	if (pg_access_roles(p->p, u->du, &u->roles) != 0)
		return PG_ERR_INTERNAL;
	u->mfa_matters = policy_roles_use_mfa(p->p, &u->roles);
	n = policy_limits(p->p, &u->roles, lim, LIMITER_MAX_LIMITS);
	if (n > LIMITER_MAX_LIMITS || limiter_set_limits(u->lim, lim, n) != 0)
		return PG_ERR_TOOBIG;
	if (u->bud != NULL && budget_set_limits(u->bud, lim, n) != 0)
		return PG_ERR_TOOBIG;
	u->policy_gen = p->gen;
	return 0;
}

/*
 * U has a new directory answer: if its groups or care team differ from
 * the last one, U's views (views.c) drop their cached names, which may
 * show a patient no longer (or now) on the care team.
 */
static void
note_answer(struct gw_user *u)
{
	crypto_generichash_state st;
	unsigned char sig[sizeof(u->du_sig)];
	size_t i;

	crypto_generichash_init(&st, NULL, 0, sizeof(sig));
	for (i = 0; i < u->du->ngroups; i++)
		crypto_generichash_update(&st,
		    (const unsigned char *)u->du->groups[i],
		    strlen(u->du->groups[i]) + 1);
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	for (i = 0; i < u->du->npatients; i++)
		crypto_generichash_update(&st,
		    (const unsigned char *)u->du->patients[i],
		    strlen(u->du->patients[i]) + 1);
	crypto_generichash_final(&st, sig, sizeof(sig));
	if (u->du_sig_set && memcmp(sig, u->du_sig, sizeof(sig)) != 0)
		gw_views_kick(u->uid, GW_VIEW_INVAL);
	memcpy(u->du_sig, sig, sizeof(sig));
	u->du_sig_set = true;
}

int
gw_user_refresh(struct gw *g, struct gw_user *u, struct gw_policy *p, char *err,
    size_t errlen)
{
	struct dir_user *du = NULL;
	char name[GW_USER_MAX];
	int r;

	err[0] = '\0';
	/* U's copy lives exactly as long as the directory cache's answer:
	 * one cache, so a revoked care team is out of force within one
	 * cache_ttl, never two. */
	if (u->du != NULL && dir_user_fresh(u->du, dir_clock())) {
		if (u->policy_gen == p->gen)
			return 0;
		return apply_policy(u, p);
	}
	dir_user_free(u->du);
	u->du = NULL;
	if (!uid_name(u->uid, name, sizeof(name))) {
		snprintf(err, errlen, "uid %lu has no user name",
		    (unsigned long)u->uid);
		return PG_ERR_NOTFOUND;
	}
	if (!u->known || strcmp(name, u->name) != 0) {
		/* A new name for this uid: a different person's counters. */
		memcpy(u->name, name, sizeof(name));
		u->known = true;
		limiter_reset(u->lim);
		if (u->bud != NULL)
			budget_reset(u->bud);
	}
	r = dir_lookup(g->dir, u->name, strlen(u->name), &du);
	if (r != 0) {
		char msg[256];

		dir_last_error(g->dir, msg, sizeof(msg));
		snprintf(err, errlen, "directory: %s%s%s", pg_strerror(r),
		    msg[0] ? ": " : "", msg);
		return r;
	}
	u->du = du;
	note_answer(u);
	return apply_policy(u, p);
}

/* U's live grants into V; returns how many (the builder sorts them). */
static size_t
live_grants(struct gw_user *u, time_t now, const char **v)
{
	size_t i, n = 0;

	for (i = 0; i < u->ngrants; i++)
		if (u->grants[i].until > now)
			v[n++] = u->grants[i].patient;
	return n;
}

enum policy_verdict
gw_user_decide(struct gw *g, struct gw_user *u, struct gw_policy *p,
    enum policy_action action, const char *rel, bool is_dir, bool fresh_mfa,
    struct policy_decision *dec)
{
	struct pg_access_facts f;
	const char *bg[GW_BG_MAX];
	time_t now = time(NULL);
	int64_t mono = gw_now_ms();

	if (u->du == NULL) {
		memset(dec, 0, sizeof(*dec));
		dec->verdict = POLICY_ERROR;
		return POLICY_ERROR;
	}
	/* Only a valid ticket is reused (briefly): a login takes effect at
	 * once, a logout within GW_MFA_CACHE_MS, an open asks afresh.  When
	 * no rule for U's roles names mfa the answer cannot change the
	 * decision, so the ticket store is not asked (one to three system
	 * calls on every lookup). */
	if (!u->mfa_matters) {
		u->mfa = 0;
	} else if (fresh_mfa || !u->mfa || mono - u->mfa_ms > GW_MFA_CACHE_MS) {
		u->mfa = mfa_ticket_valid(
		             g->cfg->totp_ticket_dir, u->name, now) == 1;
		u->mfa_ms = mono;
	}
	memset(&f, 0, sizeof(f));
	f.action = action;
	f.path = rel;
	f.is_dir = is_dir;
	f.mfa = u->mfa != 0;
	/* A clock that cannot be read leaves WHEN out of range: an error. */
	(void)pg_access_clock_at(now, &f.when);
	f.ngrants = live_grants(u, now, bg);
	f.grants = bg;
	return pg_access_decide(p->p, u->du, &u->roles, &f, dec, NULL);
}

int
gw_user_check_lock(struct gw *g, struct gw_user *u)
{
	int r;

	if (!u->known)
		return PG_ERR_NOTFOUND;
	r = lockout_check(g->lockouts, u->name, NULL);
	if (r == 1) {
		/* Locked elsewhere (another host, the PAM module): U's open
		 * files stop serving from the cache too. */
		if (!atomic_load(&u->locked))
			gw_user_revoke(g, u);
		return 1;
	}
	if (r < 0)
		return r;
	if (u->lock_unsaved)
		return 1; /* locked here, the store could not say so */
	if (atomic_load(&u->locked)) {
		/* Locked here but no longer in the store: an administrator
		 * ran `photoguard unlock`.  The counters start again. */
		atomic_store(&u->locked, false);
		gw_held_unlock_user(g, u);
		limiter_reset(u->lim);
		if (u->bud != NULL)
			budget_reset(u->bud);
	}
	return 0;
}
