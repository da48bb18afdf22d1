/*
 * limiter.c - exact sliding windows for one user: a ring of open events
 * and a running sum per limit, so a charge is O(limits) amortised and the
 * count is exact, never an estimate (docs/gateway.md, "Sliding windows").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gateway/limiter.h"

struct lev {
	int64_t t;
	uint64_t bytes;
	uint8_t files;  /* 1 for an open, 0 for bytes written later */
	uint8_t served; /* counted by `limit` windows too */
};

struct lwin {
	struct policy_limit lim;
	uint64_t tail; /* absolute index of the oldest event inside */
	uint64_t sum;  /* files or bytes over [tail, end) */
};

struct lpat {
	char *id;
	int64_t last_any;    /* latest attempt, 0: none */
	int64_t last_served; /* latest served open, 0: none */
};

struct limiter {
	struct lev *ev;
	size_t cap; /* power of two */
	uint64_t front, end;
	struct lwin win[LIMITER_MAX_LIMITS];
	size_t nwin;
	struct lpat *pat; /* sorted by id */
	size_t npat, patcap;
};

struct limiter *
limiter_new(void)
{
	return calloc(1, sizeof(struct limiter));
}

void
limiter_free(struct limiter *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->npat; i++)
		free(l->pat[i].id);
	free(l->pat);
	free(l->ev);
	free(l);
}

static struct lev *
at(const struct limiter *l, uint64_t i)
{
	return &l->ev[i & (l->cap - 1)];
}

static uint64_t
contrib(const struct lwin *w, const struct lev *e)
{
	if (w->lim.kind == POLICY_LIMIT_REFUSE && !e->served)
		return 0;
	if (w->lim.metric == POLICY_METRIC_FILES)
		return e->files;
	if (w->lim.metric == POLICY_METRIC_BYTES)
		return e->bytes;
	return 0; /* patients are counted from the patient table */
}

static int64_t
window_ms(const struct lwin *w)
{
	return (int64_t)w->lim.window * 1000;
}

static void
recount(struct limiter *l, struct lwin *w)
{
	uint64_t i;

	w->tail = l->front;
	w->sum = 0;
	for (i = l->front; i < l->end; i++)
		w->sum += contrib(w, at(l, i));
}

int
limiter_set_limits(struct limiter *l, const struct policy_limit *lim, size_t n)
{
	size_t i;

	if (n > LIMITER_MAX_LIMITS)
		return PG_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		l->win[i].lim = lim[i];
		recount(l, &l->win[i]);
	}
	l->nwin = n;
	return 0;
}

size_t
limiter_nlimits(const struct limiter *l)
{
	return l->nwin;
}

/* Moves every window to NOW and drops events no window still holds. */
static void
advance(struct limiter *l, int64_t now)
{
	uint64_t oldest = l->end;
	size_t i;

	for (i = 0; i < l->nwin; i++) {
		struct lwin *w = &l->win[i];

		while (w->tail < l->end &&
		    at(l, w->tail)->t <= now - window_ms(w)) {
			w->sum -= contrib(w, at(l, w->tail));
			w->tail++;
		}
		if (w->tail < oldest)
			oldest = w->tail;
	}
	l->front = oldest;
}

static int
grow_events(struct limiter *l)
{
	size_t ncap = l->cap ? l->cap * 2 : 64;
	struct lev *n;
	uint64_t i;

	if (l->end - l->front < l->cap)
		return 0;
	if (l->cap >= LIMITER_MAX_EVENTS)
		return PG_ERR_TOOBIG;
	if ((n = calloc(ncap, sizeof(*n))) == NULL)
		return PG_ERR_NOMEM;
	for (i = l->front; i < l->end; i++)
		n[i & (ncap - 1)] = *at(l, i);
	free(l->ev);
	l->ev = n;
	l->cap = ncap;
	return 0;
}

static void
push(struct limiter *l, int64_t now, uint64_t bytes, int files, int served)
{
	struct lev *e = at(l, l->end);
	size_t i;

	e->t = now;
	e->bytes = bytes;
	e->files = (uint8_t)files;
	e->served = (uint8_t)served;
	l->end++;
	for (i = 0; i < l->nwin; i++)
		l->win[i].sum += contrib(&l->win[i], e);
}

static int64_t
max_window_ms(const struct limiter *l)
{
	int64_t m = 0;
	size_t i;

	for (i = 0; i < l->nwin; i++)
		if (window_ms(&l->win[i]) > m)
			m = window_ms(&l->win[i]);
	return m;
}

/* Binary search: index of ID, or where it would go (*FOUND false). */
static size_t
pat_find(const struct limiter *l, const char *id, bool *found)
{
	size_t lo = 0, hi = l->npat;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->pat[mid].id, id);

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

/* Drops patients no window can count any more. */
static void
pat_prune(struct limiter *l, int64_t now)
{
	int64_t horizon = now - max_window_ms(l);
	size_t i, o = 0;

	for (i = 0; i < l->npat; i++) {
		if (l->pat[i].last_any <= horizon) {
			free(l->pat[i].id);
			continue;
		}
		l->pat[o++] = l->pat[i];
	}
	l->npat = o;
}

/* Makes room for one more patient.  Returns 0 or PG_ERR_*. */
static int
pat_room(struct limiter *l, int64_t now)
{
	struct lpat *n;
	size_t ncap;

	if (l->npat < l->patcap)
		return 0;
	pat_prune(l, now);
	if (l->npat < l->patcap)
		return 0;
	if (l->patcap >= LIMITER_MAX_PATIENTS)
		return PG_ERR_TOOBIG;
	ncap = l->patcap ? l->patcap * 2 : 16;
	if ((n = realloc(l->pat, ncap * sizeof(*n))) == NULL)
		return PG_ERR_NOMEM;
	l->pat = n;
	l->patcap = ncap;
	return 0;
}

/* Distinct patients W counts at NOW, with PATIENT (if any) touched now. */
static uint64_t
pat_count(const struct limiter *l, const struct lwin *w, int64_t now,
    const char *patient, int served)
{
	int64_t horizon = now - window_ms(w);
	bool refuse = w->lim.kind == POLICY_LIMIT_REFUSE;
	uint64_t n = 0;
	bool seen = false;
	size_t i;

	for (i = 0; i < l->npat; i++) {
		int64_t t = refuse ? l->pat[i].last_served : l->pat[i].last_any;

		if (t > horizon && t != 0) {
			n++;
			if (patient != NULL &&
			    strcmp(l->pat[i].id, patient) == 0)
				seen = true;
		}
	}
	if (patient != NULL && !seen && (served || !refuse))
		n++;
	return n;
}

/* Value W would have with one more open of BYTES (served or not). */
static uint64_t
value_with(const struct limiter *l, const struct lwin *w, int64_t now,
    uint64_t bytes, const char *patient, int served)
{
	struct lev e = { now, bytes, 1, (uint8_t)served };

	if (w->lim.metric == POLICY_METRIC_PATIENTS)
		return pat_count(l, w, now, patient, served);
	return w->sum + contrib(w, &e);
}

/* First window of KIND that one more open would exceed, or -1. */
static int
first_over(const struct limiter *l, enum policy_limit_kind kind, int64_t now,
    uint64_t bytes, const char *patient, int served, struct limiter_hit *hit)
{
	size_t i;

	for (i = 0; i < l->nwin; i++) {
		const struct lwin *w = &l->win[i];
		uint64_t v;

		if (w->lim.kind != kind)
			continue;
		v = value_with(l, w, now, bytes, patient, served);
		if (v > w->lim.max) {
			hit->limit = w->lim;
			hit->value = v;
			return (int)i;
		}
	}
	return -1;
}

static int
record(struct limiter *l, int64_t now, uint64_t bytes, const char *patient,
    int served)
{
	bool found;
	size_t i;

	push(l, now, bytes, 1, served);
	if (patient == NULL)
		return 0;
	i = pat_find(l, patient, &found);
	if (!found) {
		char *id = strdup(patient);

		if (id == NULL)
			return PG_ERR_NOMEM;
		memmove(&l->pat[i + 1], &l->pat[i],
		    (l->npat - i) * sizeof(l->pat[0]));
		l->pat[i].id = id;
		l->pat[i].last_any = 0;
		l->pat[i].last_served = 0;
		l->npat++;
	}
	l->pat[i].last_any = now;
	if (served)
		l->pat[i].last_served = now;
	return 0;
}

enum limiter_result
limiter_charge(struct limiter *l, int64_t now_ms, uint64_t bytes,
    const char *patient, bool serve, struct limiter_hit *hit)
{
	enum limiter_result res = LIMITER_OK;

	memset(hit, 0, sizeof(*hit));
	if (l->nwin == 0)
		return LIMITER_OK;
	if (now_ms < 1)
		now_ms = 1; /* 0 marks "never" in the patient table */
	if (patient != NULL && patient[0] == '\0')
		patient = NULL;
	advance(l, now_ms);
	if (grow_events(l) != 0 || pat_room(l, now_ms) != 0)
		return LIMITER_ERROR;
	if (first_over(
	        l, POLICY_LIMIT_LOCKOUT, now_ms, bytes, patient, 0, hit) >= 0)
		res = LIMITER_LOCKOUT;
	else if (serve &&
	    first_over(
	        l, POLICY_LIMIT_REFUSE, now_ms, bytes, patient, 1, hit) >= 0)
		res = LIMITER_REFUSE;
	if (record(l, now_ms, bytes, patient, res == LIMITER_OK && serve) != 0)
		return LIMITER_ERROR;
	return res;
}

enum limiter_result
limiter_add_bytes(
    struct limiter *l, int64_t now_ms, uint64_t bytes, struct limiter_hit *hit)
{
	size_t i;

	memset(hit, 0, sizeof(*hit));
	if (l->nwin == 0 || bytes == 0)
		return LIMITER_OK;
	advance(l, now_ms);
	if (grow_events(l) != 0)
		return LIMITER_ERROR;
	push(l, now_ms, bytes, 0, 1);
	for (i = 0; i < l->nwin; i++) {
		struct lwin *w = &l->win[i];

		if (w->lim.metric == POLICY_METRIC_BYTES &&
		    w->sum > w->lim.max) {
			hit->limit = w->lim;
			hit->value = w->sum;
			return w->lim.kind == POLICY_LIMIT_LOCKOUT
			    ? LIMITER_LOCKOUT
			    : LIMITER_REFUSE;
		}
	}
	return LIMITER_OK;
}

void
limiter_reset(struct limiter *l)
{
	size_t i;

	for (i = 0; i < l->npat; i++)
		free(l->pat[i].id);
	l->npat = 0;
	l->front = l->end;
	for (i = 0; i < l->nwin; i++)
		recount(l, &l->win[i]);
}

size_t
limiter_usage(
    struct limiter *l, int64_t now_ms, struct limiter_usage *out, size_t max)
{
	size_t i;

	advance(l, now_ms);
	for (i = 0; i < l->nwin && i < max; i++) {
		const struct lwin *w = &l->win[i];

		out[i].limit = w->lim;
		out[i].value = w->lim.metric == POLICY_METRIC_PATIENTS
		    ? pat_count(l, w, now_ms, NULL, 0)
		    : w->sum;
	}
	return l->nwin;
}

const char *
limiter_describe(const struct policy_limit *lim, char *buf, size_t len)
{
	static const char *const metric[] = { "files", "bytes", "patients" };

	snprintf(buf, len, "%s %s %llu/%lus",
	    lim->kind == POLICY_LIMIT_LOCKOUT ? "lockout" : "limit",
	    metric[lim->metric], (unsigned long long)lim->max,
	    (unsigned long)lim->window);
	return buf;
}
