/*
 * budget.c - this gateway's leases on users' clinic-wide budgets
 * (budget.h).  Per limit of files or bytes: the lease held, what was
 * spent of it and when last.  Per limit of patients: a lease for each
 * patient served lately, since the directory counts patients by name
 * (dir.h): while a patient's lease is live its files cost nothing more,
 * and renewing it costs nothing if the clinic counts the patient still.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "gateway/budget.h"

/* One patient's lease under a patients limit. */
struct pent {
	char *id;
	char lease[DIR_LEASE_MAX]; /* "" none */
	int64_t expires_ms, last_ms;
};

struct slot {
	struct policy_limit lim;
	char key[DIR_BUDGET_KEY_MAX];
	/* files, bytes */
	char lease[DIR_LEASE_MAX]; /* "" none */
	int64_t expires_ms;
	uint64_t units, used;
	int64_t last_ms;
	/* patients: sorted by id */
	struct pent *pe;
	size_t npe, pecap;
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

static bool
is_patients(const struct slot *s)
{
	return s->lim.metric == POLICY_METRIC_PATIENTS;
}

static void
pe_clear(struct slot *s)
{
	size_t i;

	for (i = 0; i < s->npe; i++)
		free(s->pe[i].id);
	s->npe = 0;
}

static void
slot_free(struct slot *s)
{
	pe_clear(s);
	free(s->pe);
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
	pe_clear(s);
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
		/* A limit kept keeps its leases (the first of equal keys). */
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
live(const char *lease, int64_t expires_ms, int64_t now)
{
	return lease[0] != '\0' && now < expires_ms;
}

/* Binary search in S's patients; index of ID or where it would go. */
static size_t
pe_find(const struct slot *s, const char *id, bool *found)
{
	size_t lo = 0, hi = s->npe;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->pe[mid].id, id);

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

/* S's entry for ID, or NULL. */
static struct pent *
pe_get(const struct slot *s, const char *id)
{
	bool found;
	size_t i = pe_find(s, id, &found);

	return found ? &s->pe[i] : NULL;
}

/*
 * Forgets the patients whose lease is over: in the directory they age
 * out, counted until their expiry and a window, which is closed.
 */
static void
pe_prune(struct slot *s, int64_t now)
{
	size_t i, o = 0;

	for (i = 0; i < s->npe; i++) {
		if (!live(s->pe[i].lease, s->pe[i].expires_ms, now)) {
			free(s->pe[i].id);
			continue;
		}
		s->pe[o++] = s->pe[i];
	}
	s->npe = o;
}

/* S's entry for ID, made if missing.  NULL: out of memory or room. */
static struct pent *
pe_put(struct slot *s, const char *id, int64_t now)
{
	bool found;
	size_t i = pe_find(s, id, &found);

	if (found)
		return &s->pe[i];
	if (s->npe == s->pecap) {
		size_t ncap = s->pecap ? s->pecap * 2 : 16;
		struct pent *np;

		pe_prune(s, now);
		i = pe_find(s, id, &found);
		if (s->npe == s->pecap) {
			if (s->pecap >= BUDGET_PATIENTS_MAX)
				return NULL;
			if ((np = realloc(s->pe, ncap * sizeof(*np))) == NULL)
				return NULL;
			s->pe = np;
			s->pecap = ncap;
		}
	}
	memmove(&s->pe[i + 1], &s->pe[i], (s->npe - i) * sizeof(s->pe[0]));
	memset(&s->pe[i], 0, sizeof(s->pe[i]));
	if ((s->pe[i].id = strdup(id)) == NULL) {
		memmove(
		    &s->pe[i], &s->pe[i + 1], (s->npe - i) * sizeof(s->pe[0]));
		return NULL;
	}
	s->npe++;
	return &s->pe[i];
}

/* Units of S the charge needs; 0: nothing to count. */
static uint64_t
need_of(const struct slot *s, int64_t now, int files, uint64_t bytes,
    const char *patient)
{
	const struct pent *p;

	switch (s->lim.metric) {
	case POLICY_METRIC_FILES:
		return (uint64_t)files;
	case POLICY_METRIC_BYTES:
		return bytes;
	case POLICY_METRIC_PATIENTS:
		if (patient == NULL || files == 0)
			return 0;
		p = pe_get(s, patient);
		return p != NULL && live(p->lease, p->expires_ms, now) ? 0 : 1;
	}
	return 0;
}

static bool
applies(const struct slot *s, bool serve)
{
	return s->lim.kind == POLICY_LIMIT_LOCKOUT || serve;
}

/* Is there room for NEED under S's lease now (patients: see need_of)? */
static bool
covered(const struct slot *s, int64_t now, uint64_t need)
{
	if (is_patients(s))
		return need == 0;
	return live(s->lease, s->expires_ms, now) && s->units - s->used >= need;
}

/* What to ask for: the need and a slice of the limit for later opens. */
static uint64_t
want_of(const struct slot *s, uint64_t need)
{
	/* An eighth, rounded up: a limit of 10 is not a round trip each. */
	uint64_t slice = s->lim.max / 8 + (s->lim.max % 8 != 0);

	if (slice < 1)
		slice = 1;
	return need > UINT64_MAX - slice ? need : need + slice - 1;
}

/* Fills A to end S's lease (or PATIENT's) and get NEED or more. */
static void
ask_for(const struct slot *s, struct dir_budget_ask *a, uint64_t need,
    const char *patient)
{
	const struct pent *p = patient != NULL ? pe_get(s, patient) : NULL;

	memset(a, 0, sizeof(*a));
	memcpy(a->key, s->key, sizeof(a->key));
	a->need = need;
	if (is_patients(s)) {
		a->want = need;
		if (patient != NULL)
			dir_budget_tag(patient, a->tag, sizeof(a->tag));
		if (p != NULL) {
			memcpy(a->old, p->lease, sizeof(a->old));
			a->old_used = 1;
			a->old_last_ms = p->last_ms;
		}
		return;
	}
	a->want = need > 0 ? want_of(s, need) : 0;
	memcpy(a->old, s->lease, sizeof(a->old));
	a->old_used = s->used;
	a->old_last_ms = s->last_ms;
}

/* Takes the answer A to S's ask (for PATIENT).  0 or PG_ERR_NOMEM. */
static int
take(struct slot *s, const struct dir_budget_ask *a, const char *patient,
    int64_t now)
{
	struct pent *p;

	if (!is_patients(s)) {
		lease_drop(s); /* ended in the directory, trimmed */
		if (a->granted == 0)
			return PG_OK;
		memcpy(s->lease, a->lease, sizeof(s->lease));
		s->expires_ms = a->expires_ms;
		s->units = a->granted;
		return PG_OK;
	}
	if ((p = pe_get(s, patient)) != NULL)
		p->lease[0] = '\0';
	if (a->granted == 0)
		return PG_OK;
	if ((p = pe_put(s, patient, now)) == NULL)
		return PG_ERR_NOMEM; /* the lease ages out in the directory */
	memcpy(p->lease, a->lease, sizeof(p->lease));
	p->expires_ms = a->expires_ms;
	p->last_ms = 0;
	return PG_OK;
}

static void
spend(struct slot *s, int64_t now, uint64_t need, const char *patient)
{
	struct pent *p;

	if (!is_patients(s)) {
		s->used += need;
		s->last_ms = now;
	} else if (patient != NULL && (p = pe_get(s, patient)) != NULL) {
		p->last_ms = now;
	}
}

enum limiter_result
budget_charge(struct budget *b, const char *user, int64_t now_ms, int files,
    uint64_t bytes, const char *patient, bool serve, struct limiter_hit *hit,
    char *why, size_t whylen)
{
	struct dir_budget_ask ask[LIMITER_MAX_LIMITS];
	uint64_t need[LIMITER_MAX_LIMITS];
	bool uses[LIMITER_MAX_LIMITS];
	size_t who[LIMITER_MAX_LIMITS], i, na = 0;
	enum limiter_result res = LIMITER_OK;
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
		/* A patient's file relies on the patient's lease even when
		 * it needs no unit: its last use moves. */
		uses[i] = need[i] > 0 ||
		    (is_patients(s) && patient != NULL && files > 0 &&
		        applies(s, serve));
		if (!uses[i] || covered(s, now_ms, need[i]))
			continue;
		ask_for(s, &ask[na], need[i], patient);
		who[na++] = i;
	}
	if (na > 0) {
		r = b->fn(b->arg, user, now_ms, ask, na, why, whylen);
		if (r != PG_OK)
			return LIMITER_ERROR;
		for (i = 0; i < na; i++) {
			struct slot *s = &b->s[who[i]];
			enum limiter_result lr;

			if (take(s, &ask[i], patient, now_ms) != PG_OK)
				res = LIMITER_ERROR;
			if (ask[i].granted != 0)
				continue;
			lr = s->lim.kind == POLICY_LIMIT_LOCKOUT
			    ? LIMITER_LOCKOUT
			    : LIMITER_REFUSE;
			if (res == LIMITER_OK ||
			    (res == LIMITER_REFUSE && lr == LIMITER_LOCKOUT)) {
				res = lr;
				hit->limit = s->lim;
				hit->value = ask[i].in_use + need[who[i]];
			}
		}
	}
	if (res == LIMITER_LOCKOUT || res == LIMITER_ERROR)
		return res;
	/* A grant short of the need, or expired already, is kept to be
	 * ended later but cannot pay for this open: serving it would leave
	 * the open uncounted. */
	for (i = 0; i < na; i++) {
		const struct slot *s = &b->s[who[i]];

		if (ask[i].granted != 0 &&
		    (is_patients(s)
		            ? need_of(s, now_ms, files, bytes, patient) != 0
		            : !covered(s, now_ms, need[who[i]]))) {
			if (why != NULL && whylen > 0)
				snprintf(why, whylen,
				    "the directory granted a lease that does "
				    "not cover the open");
			return LIMITER_ERROR;
		}
	}
	/* Spend: every threshold counts the attempt; the limits only an
	 * open that is served. */
	for (i = 0; i < b->n; i++) {
		struct slot *s = &b->s[i];

		if (!uses[i] ||
		    (res == LIMITER_REFUSE &&
		        s->lim.kind != POLICY_LIMIT_LOCKOUT))
			continue;
		if (is_patients(s)
		        ? need_of(s, now_ms, files, bytes, patient) != 0
		        : !covered(s, now_ms, need[i]))
			continue; /* refused above */
		spend(s, now_ms, need[i], patient);
	}
	return res;
}

int
budget_release(struct budget *b, const char *user, int64_t now_ms)
{
	struct dir_budget_ask ask[DIR_BUDGET_ASKS_MAX];
	char why[256];
	size_t i, k, na = 0;
	int r = PG_OK, r2;

	/* In batches of what one request may carry. */
	for (i = 0; i < b->n; i++) {
		struct slot *s = &b->s[i];
		size_t np = is_patients(s) ? s->npe : 1;

		for (k = 0; k < np; k++) {
			if (is_patients(s) ? s->pe[k].lease[0] == '\0'
			                   : s->lease[0] == '\0')
				continue;
			ask_for(s, &ask[na++], 0,
			    is_patients(s) ? s->pe[k].id : NULL);
			if (na == DIR_BUDGET_ASKS_MAX) {
				r2 = b->fn(b->arg, user, now_ms, ask, na, why,
				    sizeof(why));
				r = r != PG_OK ? r : r2;
				na = 0;
			}
		}
	}
	if (na > 0) {
		r2 = b->fn(b->arg, user, now_ms, ask, na, why, sizeof(why));
		r = r != PG_OK ? r : r2;
	}
	/* After a failure the leases are kept, to be ended later: an end
	 * that already happened is ignored by the directory then. */
	if (r == PG_OK)
		budget_reset(b);
	return r;
}
