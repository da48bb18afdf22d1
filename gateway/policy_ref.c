/*
 * policy_ref.c - the policy in force: a reference-counted pointer that a
 * reload replaces whole, so a request decides with one policy from start
 * to end and a new one applies to new requests only.
 */
#include <stdlib.h>
#include <time.h>

#include "base/base.h"
#include "gateway/gw.h"

int64_t
gw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gw_policy *
gw_policy_get(struct gw *g)
{
	struct gw_policy *p;

	pthread_mutex_lock(&g->policy_mu);
	p = g->policy;
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&g->policy_mu);
	return p;
}

void
gw_policy_put(struct gw_policy *p)
{
	if (p == NULL)
		return;
	if (atomic_fetch_sub(&p->refs, 1) == 1) {
		policy_free(p->p);
		free(p);
	}
}

int
gw_policy_set(struct gw *g, struct policy *np)
{
	struct gw_policy *p = calloc(1, sizeof(*p)), *old;

	if (p == NULL) {
		/* Keep the old policy in force: it is still valid. */
		policy_free(np);
		return PG_ERR_NOMEM;
	}
	p->p = np;
	atomic_init(&p->refs, 1);
	pthread_mutex_lock(&g->policy_mu);
	p->gen = ++g->policy_gen;
	old = g->policy;
	g->policy = p;
	pthread_mutex_unlock(&g->policy_mu);
	gw_policy_put(old);
	return 0;
}
