/*
 * budget.c - this gateway's leases on users' clinic-wide budgets
 * (budget.h).  Per limit: the lease held, what was spent of it and when
 * last; for the patients metric, the patients it paid for.
 *
 * A patient is paid for once per lease, not once per window: a later
 * open of the same patient under another lease pays again.  That
 * overcounts a patient seen across leases or gateways, but every open of
 * a patient is then covered by a unit of a lease that was live at that
 * moment, which is what the directory's grant rule needs to hold the
 * clinic's count of distinct patients under the limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "gateway/budget.h"

struct slot {
	struct policy_limit lim;
	char key[DIR_BUDGET_KEY_MAX];
	char lease[DIR_LEASE_MAX]; /* "" none */
	int64_t expires_ms;
	uint64_t units, used;
	int64_t last_ms;
	char **pat; /* sorted: patients paid for under this lease */
	size_t npat, patcap;
};

struct budget {
	budget_lease_fn fn;
	void *arg;
	struct slot s[LIMITER_MAX_LIMITS];
	size_t n;
};

static const char *const metric_name[] = { "files", "bytes", "patients" };

int64_t
budget_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct budget *
budget_new(budget_lease_fn fn, void *arg)
{
	struct budget *b = calloc(1, sizeof(*b));

	if (b != NULL) {
		b->fn = fn;
		b->arg = arg;
	}
	return b;
}

static void
pat_clear(struct slot *s)
{
	size_t i;

	for (i = 0; i < s->npat; i++)
		free(s->pat[i]);
	s->npat = 0;
}

static void
slot_free(struct slot *s)
{
	pat_clear(s);
	free(s->pat);
	memset(s, 0, sizeof(*s));
}

void
budget_free(struct budget *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		slot_free(&b->s[i]);
	free(b);
}

static void
lease_drop(struct slot *s)
{
	s->lease[0] = '\0';
	s->expires_ms = 0;
	s->units = s->used = 0;
	s->last_ms = 0;
	pat_clear(s);
}

void
budget_reset(struct budget *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		lease_drop(&b->s[i]);
}

int
budget_set_limits(struct budget *b, const struct policy_limit *lim, size_t n)
{
	char key[LIMITER_MAX_LIMITS][DIR_BUDGET_KEY_MAX];
	struct slot *ns;
	size_t i, j;
	int r;

	if (n > LIMITER_MAX_LIMITS)
		return PG_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		if ((unsigned)lim[i].metric >= 3)
			return PG_ERR_INVAL;
		r = dir_budget_key(key[i], sizeof(key[i]),
		    lim[i].kind == POLICY_LIMIT_LOCKOUT,
		    metric_name[lim[i].metric], (unsigned long)lim[i].window,
		    (unsigned long long)lim[i].max);
		if (r != PG_OK)
			return r;
	}
	if ((ns = calloc(LIMITER_MAX_LIMITS, sizeof(*ns))) == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		/* A limit kept keeps its lease (the first of equal keys). */
		for (j = 0; j < b->n; j++)
			if (b->s[j].key[0] != '\0' &&
			    strcmp(b->s[j].key, key[i]) == 0) {
				ns[i] = b->s[j];
				memset(&b->s[j], 0, sizeof(b->s[j]));
				break;
			}
		ns[i].lim = lim[i];
		memcpy(ns[i].key, key[i], sizeof(ns[i].key));
	}
	for (j = 0; j < b->n; j++)
		slot_free(&b->s[j]); /* dropped limits: their leases age out */
	memcpy(b->s, ns, n * sizeof(*ns));
	b->n = n;
	free(ns);
	return PG_OK;
}

static bool
live(const struct slot *s, int64_t now)
{
	return s->lease[0] != '\0' && now < s->expires_ms;
}

/* Binary search in S's patients; index of P or where it would go. */
static size_t
pat_find(const struct slot *s, const char *p, bool *found)
{
	size_t lo = 0, hi = s->npat;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->pat[mid], p);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Units of S the charge needs; 0: nothing to count. */
static uint64_t
need_of(const struct slot *s, int64_t now, int files, uint64_t bytes,
    const char *patient)
{
	bool found;

	switch (s->lim.metric) {
	case POLICY_METRIC_FILES:
		return (uint64_t)files;
	case POLICY_METRIC_BYTES:
		return bytes;
	case POLICY_METRIC_PATIENTS:
		if (patient == NULL || files == 0)
			return 0;
		if (!live(s, now))
			return 1; /* a new lease pays for its patients again */
		pat_find(s, patient, &found);
		return found ? 0 : 1;
	}
	return 0;
}

static bool
applies(const struct slot *s, bool serve)
{
	return s->lim.kind == POLICY_LIMIT_LOCKOUT || serve;
}

/* What to ask for: the need and a slice of the limit for later opens. */
static uint64_t
want_of(const struct slot *s, uint64_t need)
{
	uint64_t slice = s->lim.max / 8;

	if (slice < 1)
		slice = 1;
	return need > UINT64_MAX - slice ? need : need + slice - 1;
}

static int
spend(struct slot *s, int64_t now, uint64_t need, const char *patient)
{
	bool found;
	size_t i;

	s->used += need;
	s->last_ms = now;
	if (s->lim.metric != POLICY_METRIC_PATIENTS || patient == NULL ||
	    need == 0)
		return PG_OK;
	i = pat_find(s, patient, &found);
	if (found)
		return PG_OK;
	if (s->npat == s->patcap) {
		size_t ncap = s->patcap ? s->patcap * 2 : 16;
		char **np;

		if (s->patcap >= BUDGET_PATIENTS_MAX)
			return PG_ERR_TOOBIG;
		if ((np = realloc(s->pat, ncap * sizeof(*np))) == NULL)
			return PG_ERR_NOMEM;
		s->pat = np;
		s->patcap = ncap;
	}
	memmove(&s->pat[i + 1], &s->pat[i], (s->npat - i) * sizeof(s->pat[0]));
	if ((s->pat[i] = strdup(patient)) == NULL) {
		memmove(&s->pat[i], &s->pat[i + 1],
		    (s->npat - i) * sizeof(s->pat[0]));
		return PG_ERR_NOMEM;
	}
	s->npat++;
	return PG_OK;
}

/* Fills ASK to end S's lease (if any) and get NEED or more. */
static void
ask_for(const struct slot *s, struct dir_budget_ask *a, uint64_t need)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->key, s->key, sizeof(a->key));
	a->need = need;
	a->want = need > 0 ? want_of(s, need) : 0;
	memcpy(a->old, s->lease, sizeof(a->old));
	a->old_used = s->used;
	a->old_last_ms = s->last_ms;
}

enum limiter_result
budget_charge(struct budget *b, const char *user, int64_t now_ms, int files,
    uint64_t bytes, const char *patient, bool serve, struct limiter_hit *hit,
    char *why, size_t whylen)
{
	struct dir_budget_ask ask[LIMITER_MAX_LIMITS];
	uint64_t need[LIMITER_MAX_LIMITS];
	size_t who[LIMITER_MAX_LIMITS], i, na = 0;
	enum limiter_result res = LIMITER_OK;
	bool short_grant = false;
	int r;

	memset(hit, 0, sizeof(*hit));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (patient != NULL && patient[0] == '\0')
		patient = NULL;
	for (i = 0; i < b->n; i++) {
		struct slot *s = &b->s[i];

		need[i] = applies(s, serve)
		    ? need_of(s, now_ms, files, bytes, patient)
		    : 0;
		if (need[i] == 0)
			continue;
		if (live(s, now_ms) && s->units - s->used >= need[i])
			continue;
		ask_for(s, &ask[na], need[i]);
		who[na++] = i;
	}
	if (na > 0) {
		r = b->fn(b->arg, user, now_ms, ask, na, why, whylen);
		if (r != PG_OK)
			return LIMITER_ERROR;
		for (i = 0; i < na; i++) {
			struct slot *s = &b->s[who[i]];

			lease_drop(s); /* ended in the directory, trimmed */
			if (ask[i].granted == 0) {
				enum limiter_result lr =
				    s->lim.kind == POLICY_LIMIT_LOCKOUT
				    ? LIMITER_LOCKOUT
				    : LIMITER_REFUSE;

				if (res == LIMITER_OK ||
				    (res == LIMITER_REFUSE &&
				        lr == LIMITER_LOCKOUT)) {
					res = lr;
					hit->limit = s->lim;
					hit->value =
					    ask[i].in_use + need[who[i]];
				}
				continue;
			}
			memcpy(s->lease, ask[i].lease, sizeof(s->lease));
			s->expires_ms = ask[i].expires_ms;
			s->units = ask[i].granted;
			/* Kept to be ended later, but it cannot pay for this
			 * open: serving it would leave it uncounted. */
			if (ask[i].granted < need[who[i]] ||
			    ask[i].expires_ms <= now_ms)
				short_grant = true;
		}
	}
	if (res == LIMITER_LOCKOUT)
		return res;
	if (short_grant) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen,
			    "the directory granted a lease that does not "
			    "cover the open");
		return LIMITER_ERROR;
	}
	/* Spend: every threshold counts the attempt; the limits only an
	 * open that is served. */
	for (i = 0; i < b->n; i++) {
		struct slot *s = &b->s[i];

		if (need[i] == 0 &&
		    !(live(s, now_ms) && patient != NULL &&
		        s->lim.metric == POLICY_METRIC_PATIENTS &&
		        applies(s, serve)))
			continue;
		if (res == LIMITER_REFUSE &&
		    s->lim.kind != POLICY_LIMIT_LOCKOUT)
			continue;
		if (!live(s, now_ms) || s->units - s->used < need[i])
			continue; /* refused above */
		if (spend(s, now_ms, need[i], patient) != PG_OK)
			return LIMITER_ERROR;
	}
	return res;
}

int
budget_release(struct budget *b, const char *user, int64_t now_ms)
{
	struct dir_budget_ask ask[LIMITER_MAX_LIMITS];
	char why[256];
	size_t i, na = 0;
	int r;

	for (i = 0; i < b->n; i++)
		if (b->s[i].lease[0] != '\0')
			ask_for(&b->s[i], &ask[na++], 0);
	if (na == 0)
		return PG_OK;
	r = b->fn(b->arg, user, now_ms, ask, na, why, sizeof(why));
	if (r == PG_OK)
		budget_reset(b);
	return r;
}
