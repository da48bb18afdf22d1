/*
 * policy_bench.c - cost of one policy decision in a realistic world: the
 * example clinic policy, 12,000 patients, 100 staff with care lists of a
 * few hundred patients, and a request mix of file reads (mostly on the
 * user's own patients), directory listings, traversals and uploads.
 * Prints decisions per second and the median and 99th percentile of the
 * time one policy_decide() takes.
 * Usage: policy_bench CLINIC.policy [REQUESTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define NPATIENTS 12000
#define NSTAFF    100
#define PATHLEN   64

struct staff {
	const char *name;
	struct policy_roleset roles;
	const char **care;
	size_t ncare;
};

struct req {
	int staff;
	enum policy_action action;
	bool is_dir, mfa;
	int minute, weekday;
	char path[PATHLEN];
};

static char ids[NPATIENTS][12];
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* 20 surgeons (5 also on call), 40 nurses, 10 photographers, 15 front
 * desk and billing, 5 compliance, 10 IT. */
static const char *
group_of(int i, const char **second)
{
	*second = NULL;
	if (i < 20) {
		if (i < 5)
			*second = "oncall-surgeons";
		return "surgeons";
	}
	if (i < 60)
		return "nurses";
	if (i < 70)
		return "clinical-photographers";
	if (i < 85)
		return i % 2 ? "front-desk" : "billing";
	if (i < 90)
		return "compliance";
	return "it-admins";
}

static void
make_staff(const struct policy *p, struct staff *s)
{
	for (int i = 0; i < NSTAFF; i++) {
		const char *g[2];
		size_t n = 0;
		g[n++] = group_of(i, &g[1]);
		if (g[1] != NULL)
			n++;
		policy_roles_for_groups(p, g, n, &s[i].roles);
		s[i].name = "staff";
		s[i].ncare = i < 60 ? 200 + rnd(300) : 0;
		s[i].care = calloc(s[i].ncare + 1, sizeof(*s[i].care));
		for (size_t k = 0; k < s[i].ncare; k++)
			s[i].care[k] = ids[rnd(NPATIENTS)];
		qsort(s[i].care, s[i].ncare, sizeof(*s[i].care), cmp_str);
	}
}

static void
make_request(const struct staff *s, struct req *r)
{
	uint32_t kind = rnd(100);
	const struct staff *u;
	const char *pat;

	r->staff = (int)rnd(NSTAFF);
	u = &s[r->staff];
	pat = u->ncare > 0 && rnd(10) < 8 ? u->care[rnd((uint32_t)u->ncare)]
	                                  : ids[rnd(NPATIENTS)];
	r->mfa = rnd(20) != 0;
	r->minute = (int)rnd(1440);
	r->weekday = (int)rnd(7);
	r->is_dir = false;
	if (kind < 65) {
		r->action = POLICY_READ;
		snprintf(r->path, PATHLEN, "patients/%s/2026-0%u-preop/%u.jpg",
		    pat, 1 + rnd(9), rnd(80));
	} else if (kind < 85) { /* a listing of patients/: one per entry */
		r->action = POLICY_LIST;
		r->is_dir = true;
		snprintf(r->path, PATHLEN, "patients/%s", pat);
	} else if (kind < 95) {
		r->action = POLICY_LIST;
		r->is_dir = true;
		snprintf(r->path, PATHLEN, "patients/%s/2026-0%u-postop", pat,
		    1 + rnd(9));
	} else {
		r->action = POLICY_WRITE;
		snprintf(r->path, PATHLEN, "patients/%s/incoming/%u.jpg", pat,
		    rnd(1000));
	}
}

static void
fill(const struct staff *s, const struct req *r, struct policy_request *q)
{
	const struct staff *u = &s[r->staff];

	memset(q, 0, sizeof(*q));
	q->user = u->name;
	q->roles = u->roles;
	q->action = r->action;
	q->path = r->path;
	q->is_dir = r->is_dir;
	q->mfa = r->mfa;
	q->minute_of_day = r->minute;
	q->weekday = r->weekday;
	q->care_patients = u->care;
	q->ncare = u->ncare;
}

int
main(int argc, char **argv)
{
	static struct staff staff[NSTAFF];
	struct policy *p = NULL;
	struct policy_decision dec;
	struct policy_request q;
	size_t len, nreq = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	struct req *reqs;
	uint64_t *lat, t0, t1, allowed = 0, overhead;
	char *text;

	if (argc < 2 || (text = slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "usage: policy_bench CLINIC.policy [N]\n");
		return 2;
	}
	if (policy_parse("clinic.policy", text, len, &p, NULL) != 0) {
		fprintf(stderr, "policy_bench: %s does not parse\n", argv[1]);
		return 1;
	}
	for (int i = 0; i < NPATIENTS; i++)
		snprintf(ids[i], sizeof(ids[i]), "P%06d", i);
	make_staff(p, staff);
	reqs = calloc(nreq, sizeof(*reqs));
	lat = calloc(nreq, sizeof(*lat));
	if (reqs == NULL || lat == NULL || nreq == 0)
		return 1;
	for (size_t i = 0; i < nreq; i++)
		make_request(staff, &reqs[i]);

	/* Throughput: one timed loop over the whole mix. */
	t0 = now_ns();
	for (size_t i = 0; i < nreq; i++) {
		fill(staff, &reqs[i], &q);
		allowed += policy_decide(p, &q, &dec) == POLICY_ALLOW;
	}
	t1 = now_ns();
	printf("policy_decide: %zu requests, %.1f%% allowed\n", nreq,
	    100.0 * (double)allowed / (double)nreq);
	printf("throughput: %.0f decisions/s (%.0f ns mean)\n",
	    (double)nreq * 1e9 / (double)(t1 - t0),
	    (double)(t1 - t0) / (double)nreq);

	/* Latency: each decision timed on its own, clock cost removed. */
	t0 = now_ns();
	for (int i = 0; i < 1000; i++)
		(void)now_ns();
	overhead = (now_ns() - t0) / 1000;
	for (size_t i = 0; i < nreq; i++) {
		fill(staff, &reqs[i], &q);
		t0 = now_ns();
		(void)policy_decide(p, &q, &dec);
		t1 = now_ns();
		lat[i] = t1 - t0 > overhead ? t1 - t0 - overhead : 0;
	}
	qsort(lat, nreq, sizeof(*lat), cmp_u64);
	printf("latency: median %llu ns, p99 %llu ns, max %llu ns "
	       "(clock overhead %llu ns removed)\n",
	    (unsigned long long)lat[nreq / 2],
	    (unsigned long long)lat[nreq * 99 / 100],
	    (unsigned long long)lat[nreq - 1], (unsigned long long)overhead);
	for (int i = 0; i < NSTAFF; i++)
		free(staff[i].care);
	free(reqs);
	free(lat);
	free(text);
	policy_free(p);
	return 0;
}
