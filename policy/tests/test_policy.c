/*
 * test_policy.c - cmocka unit tests of the policy parser and evaluator:
 * bad arguments, caps, allocation failure at every step, the evaluator's
 * answers on a realistic policy, explain traces, and sharing a policy
 * between threads.  Linked with --wrap=malloc,calloc,realloc so a test can
 * make the N-th allocation fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static long fail_after = -1; /* -1: never fail */

static bool
should_fail(void)
{
	if (fail_after < 0)
		return false;
	return fail_after-- == 0;
}

void *
__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t m)
{
	return should_fail() ? NULL : __real_calloc(n, m);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

static const char clinic[] =
    "layout \"patients/{patient}/{series}/{file}\"\n"
    "role surgeon = group surgeons\n"
    "role nurse = group nurses, group agency-nurses\n"
    "role photographer = group photographers\n"
    "role oncall = group oncall\n"
    "allow surgeon list,read,write patients/{patient}/** if care-team and "
    "mfa\n"
    "allow nurse list,read patients/{patient}/** if care-team and hours "
    "06:00-22:00\n"
    "allow photographer write patients/{patient}/incoming/* if mfa\n"
    "allow oncall list,read patients/{patient}/** if breakglass\n"
    "deny all write patients/{patient}/archive/**\n"
    "limit surgeon files 60/minute 600/hour patients 20/hour\n"
    "limit nurse files 30/minute 900/hour\n"
    "limit photographer,oncall files 10/minute\n"
    "lockout surgeon files 1000/hour\n"
    "login surgeon,nurse on \"imaging-*\" service sshd\n"
    "breakglass oncall for 1h max 2/day reason required\n"
    "decoy P999001 P999002\n";

static struct policy *
parse_ok(const char *text)
{
	struct policy *p = NULL;
	struct policy_diags *d = NULL;
	int r = policy_parse("t.policy", text, strlen(text), &p, &d);

	if (r != 0) {
		char buf[300];
		for (size_t i = 0; i < policy_diags_count(d); i++) {
			policy_diag_format(
			    policy_diags_get(d, i), buf, sizeof(buf));
			print_message("%s\n", buf);
		}
	}
	assert_int_equal(r, 0);
	assert_non_null(p);
	policy_diags_free(d);
	return p;
}

static void
req_init(struct policy_request *q, const struct policy *p, const char *group)
{
	memset(q, 0, sizeof(*q));
	q->user = "alice";
	assert_int_equal(policy_roles_for_groups(p, &group, 1, &q->roles), 0);
	q->action = POLICY_READ;
	q->minute_of_day = 600;
	q->weekday = 2;
}

static void
test_bad_args(void **state)
{
	struct policy *p = (struct policy *)1;
	struct policy_diags *d = (struct policy_diags *)1;
	struct policy_roleset rs = { 5 };

	(void)state;
	assert_int_equal(policy_parse(NULL, "", 0, &p, &d), PG_ERR_INVAL);
	assert_null(p);
	assert_null(d);
	assert_int_equal(policy_parse("x", NULL, 3, &p, &d), PG_ERR_INVAL);
	assert_int_equal(policy_parse("x", "", 0, NULL, NULL), PG_ERR_INVAL);
	policy_free(NULL);
	policy_diags_free(NULL);
	assert_int_equal(policy_diags_count(NULL), 0);
	assert_null(policy_diags_get(NULL, 0));
	assert_int_equal(
	    policy_roles_for_groups(NULL, NULL, 0, &rs), PG_ERR_INVAL);
	assert_true(rs.bits == 0);
	assert_false(policy_is_decoy(NULL, "P1"));
	assert_int_equal(policy_limits(NULL, &rs, NULL, 0), 0);
	assert_int_equal(policy_decide(NULL, NULL, NULL), POLICY_ERROR);
}

static void
test_empty_policy_denies(void **state)
{
	struct policy *p = parse_ok("# nothing\n\n");
	struct policy_request q;
	struct policy_decision dec;

	(void)state;
	req_init(&q, p, "anyone");
	q.path = "a/b";
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_DENY);
	assert_int_equal(dec.rule_line, 0);
	assert_string_equal(dec.rule_file, "t.policy");
	assert_non_null(strstr(dec.reason, "default deny"));
	policy_free(p);
}

static void
test_too_big(void **state)
{
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n);
	struct policy *p = NULL;
	struct policy_diags *d = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, '\n', n);
	assert_int_equal(policy_parse("big", big, n, &p, &d), PG_ERR_TOOBIG);
	assert_null(p);
	assert_int_equal(policy_diags_count(d), 1);
	assert_int_equal(policy_diags_get(d, 0)->severity, POLICY_DIAG_ERROR);
	policy_diags_free(d);
	free(big);
}

static void
test_diag_format(void **state)
{
	struct policy *p = NULL;
	struct policy_diags *d = NULL;
	const char *t = "role x = group g\nallow y read **\n";
	char buf[16];
	int n;

	(void)state;
	assert_int_equal(
	    policy_parse("f.policy", t, strlen(t), &p, &d), PG_ERR_PARSE);
	assert_null(p);
	assert_int_equal(policy_diags_errors(d), 1);
	n = policy_diag_format(policy_diags_get(d, 1), buf, sizeof(buf));
	assert_true(n > (int)sizeof(buf)); /* truncated, NUL-terminated */
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "f.policy:2:7: e", 15);
	assert_null(policy_diags_get(d, 2));
	policy_diags_free(d);
}

/* Every allocation in turn fails: no crash, no leak, NOMEM or success. */
static void
test_alloc_failure(void **state)
{
	int r = PG_ERR_NOMEM;
	long i;

	(void)state;
	for (i = 0; i < 10000 && r == PG_ERR_NOMEM; i++) {
		struct policy *p = NULL;
		struct policy_diags *d = NULL;
		fail_after = i;
		r = policy_parse("t", clinic, strlen(clinic), &p, &d);
		fail_after = -1;
		if (r == PG_ERR_NOMEM) {
			assert_null(p);
			assert_null(d);
		}
		policy_free(p);
		policy_diags_free(d);
	}
	assert_int_equal(r, 0);
	assert_true(i > 5); /* several allocations were really failed */
}

static void
test_roles(void **state)
{
	struct policy *p = parse_ok(clinic);
	const char *g[] = { "agency-nurses", "nope", NULL, "oncall" };
	struct policy_roleset rs;
	char buf[64];

	(void)state;
	assert_int_equal(policy_roles_for_groups(p, g, 4, &rs), 0);
	policy_roleset_names(p, &rs, buf, sizeof(buf));
	assert_string_equal(buf, "nurse,oncall");
	assert_int_equal(policy_roleset_names(p, &rs, buf, 4), 12);
	assert_string_equal(buf, "nur");
	assert_int_equal(policy_nroles(p), 4);
	assert_string_equal(policy_role_name(p, 3), "oncall");
	assert_null(policy_role_name(p, 4));
	assert_int_equal(policy_roles_for_groups(p, g, 0, &rs), 0);
	assert_true(rs.bits == 0);
	assert_false(policy_roles_use_mfa(p, &rs));
	policy_free(p);
}

/* Only the roles' own rules (or rules for all) make MFA matter. */
static void
test_roles_use_mfa(void **state)
{
	struct policy *p = parse_ok(clinic), *all;
	const char *nurse = "agency-nurses", *surgeon = "surgeons";
	const char *both[] = { "oncall", "photographers" };
	struct policy_roleset rs;

	(void)state;
	assert_int_equal(policy_roles_for_groups(p, &nurse, 1, &rs), 0);
	assert_false(policy_roles_use_mfa(p, &rs));
	assert_int_equal(policy_roles_for_groups(p, &surgeon, 1, &rs), 0);
	assert_true(policy_roles_use_mfa(p, &rs));
	assert_int_equal(policy_roles_for_groups(p, both, 2, &rs), 0);
	assert_true(policy_roles_use_mfa(p, &rs));
	assert_false(policy_roles_use_mfa(NULL, &rs));
	assert_false(policy_roles_use_mfa(p, NULL));
	all = parse_ok("role a = group ga\nrole b = group gb\n"
	               "allow a,b read x/**\ndeny all read x/y if mfa\n"
	               "limit a,b none\n");
	assert_int_equal(policy_roles_for_groups(all, &nurse, 1, &rs), 0);
	assert_true(policy_roles_use_mfa(all, &rs));
	policy_free(all);
	policy_free(p);
}

static void
test_bad_requests(void **state)
{
	struct policy *p = parse_ok(clinic);
	struct policy_request q;
	struct policy_decision dec;
	char *longp = malloc(POLICY_PATH_MAX + 10);
	char deep[200];

	(void)state;
	req_init(&q, p, "surgeons");
	q.path = "patients/P1/s/a.jpg";
	q.weekday = 7;
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	q.weekday = -1;
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	q.weekday = 0;
	q.minute_of_day = 1440;
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	q.minute_of_day = 0;
	q.ncare = 3; /* and no list */
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	assert_non_null(strstr(dec.reason, "error"));
	q.ncare = 0;
	assert_non_null(longp);
	memset(longp, 'a', POLICY_PATH_MAX + 9);
	longp[POLICY_PATH_MAX + 9] = '\0';
	q.path = longp;
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	for (size_t i = 0; i < 65; i++)
		memcpy(deep + 2 * i, "a/", 2);
	deep[129] = '\0';
	q.path = deep;
	assert_int_equal(policy_decide(p, &q, &dec), POLICY_ERROR);
	assert_int_equal(policy_decide(p, &q, NULL), POLICY_ERROR);
	free(longp);
	policy_free(p);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A care list of 500 ids: only members are allowed. */
static void
test_care_bsearch(void **state)
{
	struct policy *p = parse_ok(clinic);
	static char ids[500][12];
	const char *care[500];
	char path[64];
	struct policy_request q;
	struct policy_decision dec;

	(void)state;
	for (int i = 0; i < 500; i++) {
		snprintf(ids[i], sizeof(ids[i]), "P%06d", i * 7);
		care[i] = ids[i];
	}
	qsort(care, 500, sizeof(*care), cmp);
	req_init(&q, p, "surgeons");
	q.mfa = true;
	q.care_patients = care;
	q.ncare = 500;
	for (int i = 0; i < 3500; i++) {
		snprintf(path, sizeof(path), "patients/P%06d/s/a.jpg", i);
		q.path = path;
		assert_int_equal(policy_decide(p, &q, &dec),
		    i % 7 == 0 ? POLICY_ALLOW : POLICY_DENY);
	}
	policy_free(p);
}

static void
test_explain_trace_cap(void **state)
{
	struct policy *p = parse_ok(clinic);
	struct policy_request q;
	struct policy_decision dec;
	struct policy_trace_entry tr[2];
	size_t n = 99;

	(void)state;
	req_init(&q, p, "surgeons");
	q.path = "patients/P1/archive/a.jpg";
	q.action = POLICY_WRITE;
	assert_int_equal(policy_explain(p, &q, &dec, tr, 2, &n), POLICY_DENY);
	assert_int_equal(n, 5); /* all five rules considered */
	assert_int_equal(tr[0].line, 6);
	assert_int_equal(tr[0].outcome, POLICY_TRACE_COND);
	assert_int_equal(tr[1].outcome, POLICY_TRACE_ROLE);
	assert_int_equal(dec.rule_line, 10);
	policy_free(p);
}

static void
test_patient_of_and_limits(void **state)
{
	struct policy *p = parse_ok(clinic);
	struct policy_roleset rs;
	struct policy_limit lim[2];
	struct policy_breakglass bg;
	struct policy_decision dec;
	const char *g = "surgeons";
	char buf[3];

	(void)state;
	assert_int_equal(policy_patient_of(p, "patients/P1/x", buf, 3), 0);
	assert_string_equal(buf, "P1");
	assert_int_equal(
	    policy_patient_of(p, "patients/P12/x", buf, 3), PG_ERR_TOOBIG);
	assert_string_equal(buf, "");
	assert_int_equal(
	    policy_patient_of(p, "patients", buf, 3), PG_ERR_NOTFOUND);
	assert_int_equal(policy_patient_of(p, "a//b", buf, 3), PG_ERR_INVAL);
	assert_true(policy_is_decoy(p, "P999002"));
	assert_false(policy_is_decoy(p, "P99900"));
	policy_roles_for_groups(p, &g, 1, &rs);
	assert_int_equal(policy_limits(p, &rs, lim, 2), 4);
	assert_int_equal(lim[0].window, 60);
	assert_int_equal(lim[1].window, 3600);
	assert_int_equal(policy_breakglass(p, &rs, &bg), POLICY_DENY);
	assert_false(bg.allowed);
	assert_int_equal(policy_breakglass(p, NULL, &bg), POLICY_ERROR);
	assert_int_equal(
	    policy_login(p, &rs, NULL, "sshd", &dec), POLICY_ERROR);
	assert_int_equal(
	    policy_login(p, &rs, "imaging-1", "sshd", &dec), POLICY_ALLOW);
	assert_int_equal(dec.rule_line, 15);
	policy_free(p);
}

struct thread_arg {
	const struct policy *p;
	int allowed;
};

static void *
worker(void *a)
{
	struct thread_arg *ta = a;
	struct policy_request q;
	struct policy_decision dec;
	const char *care[] = { "P000001", "P000003" };
	const char *g = "nurses";
	char path[64];

	memset(&q, 0, sizeof(q));
	policy_roles_for_groups(ta->p, &g, 1, &q.roles);
	q.action = POLICY_READ;
	q.minute_of_day = 700;
	q.care_patients = care;
	q.ncare = 2;
	for (int i = 0; i < 20000; i++) {
		snprintf(
		    path, sizeof(path), "patients/P%06d/s/%d.jpg", i % 5, i);
		q.path = path;
		if (policy_decide(ta->p, &q, &dec) == POLICY_ALLOW)
			ta->allowed++;
	}
	return NULL;
}

/* A parsed policy is shared read-only by threads: same answers. */
static void
test_threads(void **state)
{
	struct policy *p = parse_ok(clinic);
	pthread_t t[4];
	struct thread_arg a[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		a[i].p = p;
		a[i].allowed = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].allowed, 8000); /* P1 and P3 of 5 */
	}
	policy_free(p);
}

/* A plain recursive matcher, the obvious definition, to check against. */
static bool
naive(const char *const *pat, int np, const char *const *path, int n)
{
	if (np == 0)
		return n == 0;
	if (strcmp(pat[0], "**") == 0) {
		for (int k = 0; k <= n; k++)
			if (naive(pat + 1, np - 1, path + k, n - k))
				return true;
		return false;
	}
	if (n == 0)
		return false;
	if (strcmp(pat[0], "*") != 0 && strcmp(pat[0], path[0]) != 0 &&
	    !(strcmp(pat[0], "a*") == 0 && path[0][0] == 'a'))
		return false;
	return naive(pat + 1, np - 1, path + 1, n - 1);
}

/* Random patterns with several `**` against random paths. */
static void
test_match_differential(void **state)
{
	static const char *const pseg[] = { "a", "b", "*", "**", "a*" };
	static const char *const sseg[] = { "a", "b", "ab" };
	uint64_t rng = 12345;
	int checked = 0, allowed = 0;

	(void)state;
	for (int it = 0; it < 400; it++) {
		const char *pat[8], *path[10];
		char text[256], pbuf[64];
		int np, n, nstar = 0, off = 0, poff = 0;
		struct policy *p;
		struct policy_request q;
		struct policy_decision dec;
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		np = 1 + (int)(rng >> 33) % 7;
		for (int i = 0; i < np; i++) {
			rng = rng * 6364136223846793005ULL + 1;
			pat[i] = pseg[(rng >> 33) % 5];
			if (strcmp(pat[i], "**") == 0 && ++nstar > 4)
				pat[i] = "b";
		}
		off = snprintf(text, sizeof(text),
		    "role r = group g\nlimit r none\nallow r read ");
		for (int i = 0; i < np; i++)
			off += snprintf(text + off, sizeof(text) - (size_t)off,
			    "%s%s", i ? "/" : "", pat[i]);
		snprintf(text + off, sizeof(text) - (size_t)off, "\n");
		p = parse_ok(text);
		for (int j = 0; j < 20; j++) {
			rng = rng * 6364136223846793005ULL + 1;
			n = 1 + (int)(rng >> 33) % 9;
			poff = 0;
			for (int i = 0; i < n; i++) {
				rng = rng * 6364136223846793005ULL + 1;
				path[i] = sseg[(rng >> 33) % 3];
				poff += snprintf(pbuf + poff,
				    sizeof(pbuf) - (size_t)poff, "%s%s",
				    i ? "/" : "", path[i]);
			}
			req_init(&q, p, "g");
			q.path = pbuf;
			assert_int_equal(
			    policy_decide(p, &q, &dec) == POLICY_ALLOW,
			    naive(pat, np, path, n));
			allowed += dec.verdict == POLICY_ALLOW;
			checked++;
		}
		policy_free(p);
	}
	assert_int_equal(checked, 8000);
	assert_true(allowed > 500 && allowed < 7500); /* both outcomes seen */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_empty_policy_denies),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_roles_use_mfa),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_care_bsearch),
		cmocka_unit_test(test_explain_trace_cap),
		cmocka_unit_test(test_patient_of_and_limits),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_match_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
