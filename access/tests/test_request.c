/*
 * test_request.c - the request builder: the gateway's call (roles kept
 * per user, no trace) and explain's call (roles from the groups, with a
 * trace) decide alike over a matrix of requests; the local clock at its
 * boundaries; break-glass grants in any order; unknown groups; logins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "access/access.h"
#include "base/base.h"

static const char policy_text[] =
    "layout \"patients/{patient}/{series}/{file}\"\n"
    "role surgeon = group surgeons\n"
    "role nurse = group nurses\n"
    "role oncall = group oncall\n"
    "role photographer = group photographers\n"
    "allow surgeon list,read,write patients/{patient}/** if care-team and "
    "mfa\n"
    "allow nurse list,read patients/{patient}/** if care-team and hours "
    "06:00-22:00\n"
    "allow photographer write patients/{patient}/incoming/* if hours "
    "07:00-20:00 and days mon-sat\n"
    "allow oncall list,read patients/{patient}/** if breakglass\n"
    "deny all write patients/{patient}/archive/**\n"
    "login surgeon,nurse on \"imaging-*\" service sshd\n"
    "breakglass oncall for 1h max 2/day reason required\n"
    "decoy P999001\n"
    "limit surgeon,nurse,photographer,oncall none\n";

static struct policy *pol;

static char **
strv(const char *const *v)
{
	size_t n = 0, i;
	char **out;

	while (v != NULL && v[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	assert_non_null(out);
	for (i = 0; i < n; i++)
		assert_non_null(out[i] = strdup(v[i]));
	return out;
}

/* PATIENTS must be sorted, as the directory client keeps them. */
static struct dir_user *
user(const char *name, const char *const *groups, const char *const *patients)
{
	struct dir_user *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	assert_non_null(u->name = strdup(name));
	u->groups = strv(groups);
	u->patients = strv(patients);
	while (u->groups[u->ngroups] != NULL)
		u->ngroups++;
	while (u->patients[u->npatients] != NULL)
		u->npatients++;
	return u;
}

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return policy_parse("test.policy", policy_text, strlen(policy_text),
	           &pol, NULL) == PG_OK
	    ? 0
	    : -1;
}

static int
teardown(void **state)
{
	(void)state;
	policy_free(pol);
	return 0;
}

/* The gateway's way: roles mapped once and kept, no trace. */
static enum policy_verdict
gateway_style(const struct dir_user *u, const struct pg_access_facts *f,
    struct policy_decision *dec)
{
	struct policy_roleset roles;

	assert_int_equal(pg_access_roles(pol, u, &roles), PG_OK);
	return pg_access_decide(pol, u, &roles, f, dec, NULL);
}

/* explain's way: roles from the groups, every rule traced. */
static enum policy_verdict
explain_style(const struct dir_user *u, const struct pg_access_facts *f,
    struct policy_decision *dec, size_t *ntrace)
{
	struct policy_trace_entry tr[32];
	struct pg_access_trace t = { tr, 32, 0 };
	enum policy_verdict v;

	v = pg_access_decide(pol, u, NULL, f, dec, &t);
	*ntrace = t.n;
	return v;
}

/* Both ways; asserts they agree and returns the verdict. */
static enum policy_verdict
both(const struct dir_user *u, const struct pg_access_facts *f)
{
	struct policy_decision a, b;
	enum policy_verdict va, vb;
	size_t n = 0;

	va = gateway_style(u, f, &a);
	vb = explain_style(u, f, &b, &n);
	assert_int_equal(va, vb);
	assert_int_equal(va, a.verdict);
	assert_int_equal(a.verdict, b.verdict);
	assert_int_equal(a.rule_line, b.rule_line);
	assert_int_equal(a.traverse, b.traverse);
	assert_int_equal(a.decoy, b.decoy);
	assert_string_equal(a.patient, b.patient);
	assert_string_equal(a.reason, b.reason);
	if (va != POLICY_ERROR)
		assert_true(n > 0);
	return va;
}

static void
test_matrix_agrees(void **state)
{
	static const char *const care[] = { "P001", "P002", NULL };
	static const char *const paths[] = { "", "patients", "patients/P001",
		"patients/P001/s1/a.jpg", "patients/P001/incoming/a.jpg",
		"patients/P001/archive/a.jpg", "patients/P003/s1/a.jpg",
		"patients/P999001/s1/a.jpg", "patients/../etc", "other/x" };
	static const char *const g_surgeon[] = { "surgeons", NULL };
	static const char *const g_nurse[] = { "nurses", "misc", NULL };
	static const char *const g_oncall[] = { "oncall", NULL };
	static const char *const g_photo[] = { "photographers", NULL };
	static const char *const g_none[] = { "nobody", NULL };
	static const char *const g_all[] = { "nurses", "oncall",
		"photographers", "surgeons", NULL };
	static const char *const *groups[] = { g_surgeon, g_nurse, g_oncall,
		g_photo, g_none, g_all };
	static const int minutes[] = { 0, 359, 360, 420, 1199, 1200, 1319, 1320,
		1439 };
	const char *grants[] = { "P003" };
	struct pg_access_facts f;
	size_t gi, pi, a, m, w, bits, allowed = 0, total = 0;

	(void)state;
	for (gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
		struct dir_user *u = user("alice", groups[gi], care);

		for (pi = 0; pi < sizeof(paths) / sizeof(paths[0]); pi++)
			for (a = 0; a < 3; a++)
				for (m = 0; m < 9; m++)
					for (w = 0; w < 7; w += 3)
						for (bits = 0; bits < 8;
						     bits++) {
							memset(
							    &f, 0, sizeof(f));
							f.action =
							    (enum policy_action)
							        a;
							f.path = paths[pi];
							f.is_dir =
							    (bits & 1) != 0;
							f.mfa = (bits & 2) != 0;
							f.grants = grants;
							f.ngrants =
							    (bits & 4) ? 1 : 0;
							f.when.minute_of_day =
							    minutes[m];
							f.when.weekday = (int)w;
							if (both(u, &f) ==
							    POLICY_ALLOW)
								allowed++;
							total++;
						}
		dir_user_free(u);
	}
	/* The matrix exercises allows and denies alike. */
	assert_true(allowed > 0);
	assert_true(allowed < total);
}

static enum policy_verdict
at(const struct dir_user *u, enum policy_action a, const char *path,
    int weekday, int minute)
{
	struct pg_access_facts f;

	memset(&f, 0, sizeof(f));
	f.action = a;
	f.path = path;
	f.mfa = true;
	f.when.weekday = weekday;
	f.when.minute_of_day = minute;
	return both(u, &f);
}

static void
test_clock(void **state)
{
	struct pg_access_clock c;

	(void)state;
	/* 1970-01-01 was a Thursday. */
	assert_int_equal(pg_access_clock_at(0, &c), PG_OK);
	assert_int_equal(c.weekday, 4);
	assert_int_equal(c.minute_of_day, 0);
	assert_int_equal(pg_access_clock_at(86399, &c), PG_OK);
	assert_int_equal(c.weekday, 4);
	assert_int_equal(c.minute_of_day, 1439);
	assert_int_equal(pg_access_clock_at(86400, &c), PG_OK);
	assert_int_equal(c.weekday, 5);
	assert_int_equal(c.minute_of_day, 0);
	/* Local time, not UTC: two hours east, 22:00 UTC is midnight. */
	setenv("TZ", "XXX-2", 1);
	tzset();
	assert_int_equal(pg_access_clock_at(22 * 3600, &c), PG_OK);
	assert_int_equal(c.weekday, 5);
	assert_int_equal(c.minute_of_day, 0);
	setenv("TZ", "UTC", 1);
	tzset();
	/* A time the calendar cannot hold leaves the clock out of range. */
	assert_int_equal(
	    pg_access_clock_at((time_t)INT64_MAX, &c), PG_ERR_INVAL);
	assert_int_equal(c.weekday, -1);
	assert_int_equal(c.minute_of_day, -1);
}

static void
test_time_boundaries(void **state)
{
	static const char *const care[] = { "P001", NULL };
	static const char *const gn[] = { "nurses", NULL };
	static const char *const gp[] = { "photographers", NULL };
	struct dir_user *n = user("nina", gn, care);
	struct dir_user *p = user("pete", gp, NULL);
	const char *file = "patients/P001/s1/a.jpg";
	const char *in = "patients/P001/incoming/a.jpg";
	struct pg_access_facts f;
	struct pg_access_clock c;

	(void)state;
	/* hours 06:00-22:00: start included, end excluded. */
	assert_int_equal(at(n, POLICY_READ, file, 2, 359), POLICY_DENY);
	assert_int_equal(at(n, POLICY_READ, file, 2, 360), POLICY_ALLOW);
	assert_int_equal(at(n, POLICY_READ, file, 2, 1319), POLICY_ALLOW);
	assert_int_equal(at(n, POLICY_READ, file, 2, 1320), POLICY_DENY);
	/* days mon-sat, hours 07:00-20:00. */
	assert_int_equal(at(p, POLICY_WRITE, in, 6, 1199), POLICY_ALLOW);
	assert_int_equal(at(p, POLICY_WRITE, in, 6, 1200), POLICY_DENY);
	assert_int_equal(at(p, POLICY_WRITE, in, 0, 600), POLICY_DENY);
	assert_int_equal(at(p, POLICY_WRITE, in, 1, 420), POLICY_ALLOW);
	/* A clock out of range is an error on both ways, never an answer. */
	assert_int_equal(at(n, POLICY_READ, file, 2, -1), POLICY_ERROR);
	assert_int_equal(at(n, POLICY_READ, file, 2, 1440), POLICY_ERROR);
	assert_int_equal(at(n, POLICY_READ, file, 7, 600), POLICY_ERROR);
	/* The gateway's clock: from a time, through the same builder. */
	memset(&f, 0, sizeof(f));
	f.action = POLICY_READ;
	f.path = file;
	assert_int_equal(pg_access_clock_at(22 * 3600 - 60, &c), PG_OK);
	f.when = c;
	assert_int_equal(both(n, &f), POLICY_ALLOW);
	assert_int_equal(pg_access_clock_at(22 * 3600, &c), PG_OK);
	f.when = c;
	assert_int_equal(both(n, &f), POLICY_DENY);
	dir_user_free(n);
	dir_user_free(p);
}

static void
test_breakglass_sorted(void **state)
{
	static const char *const go[] = { "oncall", NULL };
	struct dir_user *u = user("oscar", go, NULL);
	const char *grants[] = { "P300", "P100", "P250", "P200", "P010" };
	const char *many[PG_ACCESS_BG_MAX + 1];
	struct pg_access_facts f;
	struct policy_decision dec;
	char path[64];
	size_t i;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.action = POLICY_READ;
	f.when.weekday = 3;
	f.when.minute_of_day = 600;
	f.grants = grants;
	f.ngrants = 5;
	/* Given in any order, every grant opens its patient (the evaluator
	 * searches a sorted list), and no other. */
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "patients/%s/s/a.jpg", grants[i]);
		f.path = path;
		assert_int_equal(both(u, &f), POLICY_ALLOW);
	}
	f.path = "patients/P150/s/a.jpg";
	assert_int_equal(both(u, &f), POLICY_DENY);
	/* The caller's array is left as it was. */
	assert_string_equal(grants[0], "P300");
	assert_string_equal(grants[4], "P010");
	/* More grants than a request carries: an error, not a guess. */
	for (i = 0; i <= PG_ACCESS_BG_MAX; i++)
		many[i] = "P100";
	f.grants = many;
	f.ngrants = PG_ACCESS_BG_MAX;
	f.path = "patients/P100/s/a.jpg";
	assert_int_equal(both(u, &f), POLICY_ALLOW);
	f.ngrants = PG_ACCESS_BG_MAX + 1;
	assert_int_equal(both(u, &f), POLICY_ERROR);
	assert_int_equal(
	    pg_access_decide(pol, u, NULL, &f, &dec, NULL), POLICY_ERROR);
	assert_int_equal(dec.verdict, POLICY_ERROR);
	assert_true(dec.reason[0] != '\0');
	dir_user_free(u);
}

static void
test_unknown_groups(void **state)
{
	static const char *const care[] = { "P001", NULL };
	static const char *const gu[] = { "Surgeons", "surgeons-x", "", NULL };
	static const char *const gm[] = { "nobody", "nurses", "zzz", NULL };
	struct dir_user *u = user("uma", gu, care);
	struct dir_user *m = user("mia", gm, care);
	struct policy_roleset r;
	struct policy_decision dec;
	char names[128];

	(void)state;
	assert_int_equal(pg_access_roles(pol, u, &r), PG_OK);
	assert_true(r.bits == 0);
	assert_int_equal(
	    at(u, POLICY_READ, "patients/P001/s/a.jpg", 2, 600), POLICY_DENY);
	assert_int_equal(
	    pg_access_login(pol, u, "imaging-1", "sshd", &r, &dec), PG_OK);
	assert_int_equal(dec.verdict, POLICY_DENY);
	/* Unknown groups beside a known one: only the known one counts. */
	assert_int_equal(pg_access_roles(pol, m, &r), PG_OK);
	policy_roleset_names(pol, &r, names, sizeof(names));
	assert_string_equal(names, "nurse");
	assert_int_equal(
	    at(m, POLICY_READ, "patients/P001/s/a.jpg", 2, 600), POLICY_ALLOW);
	assert_int_equal(pg_access_roles(pol, NULL, &r), PG_ERR_INVAL);
	assert_true(r.bits == 0);
	dir_user_free(u);
	dir_user_free(m);
}

static void
test_login(void **state)
{
	static const char *const gs[] = { "surgeons", NULL };
	static const char *const gp[] = { "photographers", NULL };
	struct dir_user *s = user("sam", gs, NULL);
	struct dir_user *p = user("pete", gp, NULL);
	struct policy_roleset r, want;
	struct policy_decision dec, ref;
	const char *const sg[] = { "surgeons" };

	(void)state;
	assert_int_equal(
	    pg_access_login(pol, s, "imaging-1", "sshd", &r, &dec), PG_OK);
	assert_int_equal(dec.verdict, POLICY_ALLOW);
	assert_int_equal(policy_roles_for_groups(pol, sg, 1, &want), PG_OK);
	assert_true(r.bits == want.bits);
	assert_int_equal(
	    policy_login(pol, &want, "imaging-1", "sshd", &ref), POLICY_ALLOW);
	assert_int_equal(dec.rule_line, ref.rule_line);
	assert_string_equal(dec.reason, ref.reason);
	assert_int_equal(
	    pg_access_login(pol, s, "imaging-1", "login", &r, &dec), PG_OK);
	assert_int_equal(dec.verdict, POLICY_DENY);
	assert_int_equal(
	    pg_access_login(pol, p, "imaging-1", "sshd", &r, &dec), PG_OK);
	assert_int_equal(dec.verdict, POLICY_DENY);
	assert_int_equal(
	    pg_access_login(pol, NULL, "imaging-1", "sshd", &r, &dec),
	    PG_ERR_INVAL);
	assert_int_equal(dec.verdict, POLICY_ERROR);
	dir_user_free(s);
	dir_user_free(p);
}

static void
test_bad_arguments(void **state)
{
	static const char *const gs[] = { "surgeons", NULL };
	struct dir_user *s = user("sam", gs, NULL);
	struct pg_access_facts f;
	struct policy_decision dec;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.path = "patients";
	f.when.minute_of_day = 600;
	assert_int_equal(
	    pg_access_decide(NULL, s, NULL, &f, &dec, NULL), POLICY_ERROR);
	assert_int_equal(dec.verdict, POLICY_ERROR);
	assert_int_equal(
	    pg_access_decide(pol, NULL, NULL, &f, &dec, NULL), POLICY_ERROR);
	assert_int_equal(
	    pg_access_decide(pol, s, NULL, NULL, &dec, NULL), POLICY_ERROR);
	assert_int_equal(
	    pg_access_decide(pol, s, NULL, &f, NULL, NULL), POLICY_ERROR);
	f.ngrants = 1; /* and no array */
	assert_int_equal(
	    pg_access_decide(pol, s, NULL, &f, &dec, NULL), POLICY_ERROR);
	dir_user_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_agrees),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_time_boundaries),
		cmocka_unit_test(test_breakglass_sorted),
		cmocka_unit_test(test_unknown_groups),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
